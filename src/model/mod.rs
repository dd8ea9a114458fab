//! Stage 3 — pooling: metafor's `rma()` for the intercept-only
//! (random-effects or common-effect) model.
//!
//! [`rma`] takes effect sizes `yi` and sampling variances `vi` as slices, so
//! batch work can call it in a loop without allocating. It estimates τ² (see
//! [`tau2`]), pools with weights 1/(vᵢ + τ²), applies the Knapp–Hartung
//! adjustment when asked, and computes the heterogeneity statistics Q, I², H²
//! exactly as metafor defines them (I² and H² through the "typical"
//! within-study variance s² = (k − 1)/tr P, so they depend on the estimator).
//! The prediction interval follows metafor's `predict()`: μ̂ ± c·√(SE² + τ²)
//! with c from N(0, 1) under `test = "z"` and from t(k − 1) otherwise.
//!
//! Q-profile confidence intervals for τ² (metafor's `confint()`) live in
//! [`crate::analysis::heterogeneity`].

pub(crate) mod linalg;
pub mod moderators;
pub mod mods;
pub mod multilevel;
mod options;
mod predict;
pub mod robust;
mod roots;
pub(crate) mod sums;
pub mod tau2;

pub use mods::{Design, RmaModsFit, predict_mods, rma_mods};
pub use options::{Method, RmaOptions, TestKind, ValidRmaOptions};
pub use predict::{Prediction, predict};
pub use tau2::ConvergencePath;

pub(crate) use roots::{bracket_above, brent};

use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;
use sums::Sums;

/// Something the user should know about a fit (printed under the results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// Only one study: a common-effect estimate is all that can be computed.
    SingleStudy,
    /// All effect sizes are identical: Q = 0 and τ² = 0.
    AllEqual,
    /// τ² was estimated at its lower bound 0.
    Tau2OnBoundary,
    /// Knapp–Hartung factor was below 1 (knha narrows the CI; adhoc would not).
    KnhaFactorBelowOne,
    /// Knapp–Hartung applied to a common-effect model (metafor warns too).
    KnhaWithCommonEffect,
}

impl Note {
    /// One sentence for printed output.
    pub fn message(self) -> &'static str {
        match self {
            Note::SingleStudy => {
                "k = 1: only a common-effect estimate is possible; heterogeneity is undefined."
            }
            Note::AllEqual => "All yi are equal: Q = 0 and tau^2 = 0.",
            Note::Tau2OnBoundary => "tau^2 was estimated on the boundary (0).",
            Note::KnhaFactorBelowOne => {
                "The Knapp-Hartung factor is below 1, so the CI is narrower than the z-based one; test = adhoc truncates it at 1."
            }
            Note::KnhaWithCommonEffect => {
                "The Knapp-Hartung method is not meant for common-effect models."
            }
        }
    }
}

/// A fitted intercept-only model. Field names follow metafor's `rma` object.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RmaFit {
    /// Number of studies.
    pub k: usize,
    /// τ² estimator used (FE for a common-effect model; forced to FE when k = 1).
    pub method: Method,
    /// Test used.
    pub test: TestKind,
    /// Confidence level as a fraction.
    pub level: f64,
    /// Pooled estimate μ̂ (metafor `b`).
    pub estimate: f64,
    /// Standard error of μ̂ (Knapp–Hartung scaled where applicable).
    pub se: f64,
    /// Test statistic μ̂/SE (z, or t under knha/adhoc; metafor `zval`).
    pub zval: f64,
    /// Lower confidence bound of μ̂.
    pub ci_lb: f64,
    /// Upper confidence bound of μ̂.
    pub ci_ub: f64,
    /// Lower prediction bound (`predict()`).
    pub pi_lb: f64,
    /// Upper prediction bound.
    pub pi_ub: f64,
    /// Degrees of freedom of the t distribution under knha/adhoc.
    pub ddf: Option<usize>,
    /// Between-study variance estimate τ².
    pub tau2: f64,
    /// Standard error of τ² (None for FE, k = 1).
    pub se_tau2: Option<f64>,
    /// Cochran's Q (always with weights 1/vᵢ; metafor `QE`).
    pub q: f64,
    /// Degrees of freedom of Q (k − 1).
    pub q_df: usize,
    /// I² in percent (None when k = 1).
    pub i2: Option<f64>,
    /// H² (None when k = 1).
    pub h2: Option<f64>,
    /// Typical within-study variance s² used in I² and H² (metafor `vt`).
    pub s2: Option<f64>,
    /// Knapp–Hartung scaling factor applied to the variance (1 under z).
    pub s2w: f64,
    /// Sum of the model weights Σ 1/(vᵢ + τ²).
    pub sum_weights: f64,
    /// Iterations / function evaluations used to estimate τ².
    pub iterations: u32,
    /// How τ² was obtained.
    pub convergence: ConvergencePath,
    /// Notes for the reader (at most a few; `None` slots are empty).
    pub notes: [Option<Note>; 4],
}

impl RmaFit {
    /// Two-sided p-value of the pooled effect (normal, or t(k − 1) under
    /// knha/adhoc). Computed on request: batch and GOSH work rarely needs it.
    pub fn pval(&self) -> Option<f64> {
        if !self.zval.is_finite() {
            return if self.zval.is_nan() { None } else { Some(0.0) };
        }
        match self.ddf {
            Some(0) => None,
            Some(df) => Some(dist::pt_two_sided(self.zval, df as f64)),
            None => Some(dist::pnorm_two_sided(self.zval)),
        }
    }

    /// p-value of the Q test for heterogeneity (None when k = 1).
    pub fn q_pval(&self) -> Option<f64> {
        (self.k > 1).then(|| dist::pchisq_upper(self.q, self.q_df as f64))
    }

    /// τ (square root of τ²).
    pub fn tau(&self) -> f64 {
        self.tau2.sqrt()
    }

    /// The notes that apply.
    pub fn notes(&self) -> impl Iterator<Item = Note> + '_ {
        self.notes.iter().flatten().copied()
    }

    /// Weight of study i in percent of the total (model weights 1/(vᵢ + τ²)).
    pub fn weight_percent(&self, vi: f64) -> f64 {
        100.0 / (vi + self.tau2) / self.sum_weights
    }
}

/// Check the inputs and return the unweighted mean of yi (the shift of the
/// first weighted pass).
fn check_inputs(yi: &[f64], vi: &[f64]) -> Result<f64> {
    sums::checked_mean(yi, vi).ok_or_else(|| input_error(yi, vi))
}

/// What is wrong with inputs the fast check rejected, naming the first bad
/// study (cold: only reached on bad input).
#[cold]
#[inline(never)]
fn input_error(yi: &[f64], vi: &[f64]) -> Error {
    if yi.len() != vi.len() {
        return Error::Unsupported(format!(
            "yi has {} values but vi has {}; give one sampling variance per effect size",
            yi.len(),
            vi.len()
        ));
    }
    if yi.is_empty() {
        return Error::Unsupported(
            "no studies to pool: every row was excluded or the input is empty".into(),
        );
    }
    for (i, (&y, &v)) in yi.iter().zip(vi).enumerate() {
        if !y.is_finite() {
            return Error::Study {
                index: i + 1,
                label: format!("row {}", i + 1),
                message: format!(
                    "effect size yi = {y} is not a finite number; fix or drop the row"
                ),
            };
        }
        if !(v.is_finite() && v > 0.0) {
            return Error::Study {
                index: i + 1,
                label: format!("row {}", i + 1),
                message: format!(
                    "sampling variance vi = {v} must be positive and finite; check the SD/SE and n used to compute it"
                ),
            };
        }
    }
    Error::Unsupported("an effect size or sampling variance is not a finite number".into())
}

/// Fit the intercept-only meta-analytic model (metafor `rma(yi, vi, method=, test=, level=)`).
///
/// Errors name the study (1-based position) when a `yi` is not finite or a
/// `vi` is not positive and finite. With k = 1 a common-effect fit is
/// returned with [`Note::SingleStudy`].
///
/// # Examples
///
/// ```
/// use spotmeta::{rma, Method, RmaOptions, TestKind};
/// let opts = RmaOptions { method: Method::REML, test: TestKind::Knha, ..Default::default() };
/// let fit = rma(&[0.2, 0.5, 0.1, 0.4], &[0.04, 0.02, 0.05, 0.03], &opts.check()?)?;
/// assert_eq!(fit.k, 4);
/// assert!(fit.ci_lb < fit.estimate && fit.estimate < fit.ci_ub);
/// # Ok::<(), spotmeta::Error>(())
/// ```
pub fn rma(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions) -> Result<RmaFit> {
    // The closed-form estimators need only the light sums at τ² = 0, computed
    // with the input check and no mean first; that path inlines `fit` so the
    // sums stay in registers. Everything else takes `rma_general`.
    if !matches!(opts.method, Method::ML | Method::REML | Method::EB)
        && let Some(fe) = Sums::light_checked(yi, vi)
    {
        return fit(yi, vi, opts, fe);
    }
    rma_general(yi, vi, opts)
}

/// [`rma`] for the likelihood estimators, for bad input (which it reports)
/// and for data whose first value is far from the rest: all sums at τ² = 0
/// around the unweighted mean.
#[inline(never)]
fn rma_general(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions) -> Result<RmaFit> {
    let ybar = check_inputs(yi, vi)?;
    fit(yi, vi, opts, Sums::near(yi, vi, 0.0, ybar))
}

/// [`rma`] after the sums at τ² = 0 (`fe`) are known.
#[inline(always)]
fn fit(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions, fe: Sums) -> Result<RmaFit> {
    let k = yi.len();
    let mut notes: [Option<Note>; 4] = [None; 4];
    let mut n_notes = 0;
    let mut note = |n: Note| {
        if n_notes < notes.len() {
            notes[n_notes] = Some(n);
            n_notes += 1;
        }
    };

    let (method, test) = if k == 1 {
        note(Note::SingleStudy);
        (Method::FE, TestKind::Z)
    } else {
        (opts.method, opts.test)
    };
    let est = if k == 1 {
        tau2::Tau2Estimate::closed_form(yi, vi, &fe, 0.0, None)
    } else {
        tau2::estimate(yi, vi, &fe, &opts.with_method(method))?
    };
    let tau2 = est.tau2;

    // Pooling with model weights.
    let s = est.pool;
    let mut vb = 1.0 / s.sw;
    let mut s2w = 1.0;
    if test.uses_t() {
        s2w = if s.rss <= f64::EPSILON {
            0.0
        } else {
            s.rss / (k as f64 - 1.0)
        };
        if test == TestKind::Adhoc && s2w < 1.0 {
            s2w = 1.0;
        }
        if test == TestKind::Knha && s2w < 1.0 {
            note(Note::KnhaFactorBelowOne);
        }
        if method == Method::FE {
            note(Note::KnhaWithCommonEffect);
        }
        vb *= s2w;
    }
    let se = vb.sqrt();
    let zval = s.mu / se;
    let (crit, ddf) = if test.uses_t() {
        (dist::qt_crit(opts.level, k - 1), Some(k - 1))
    } else {
        (opts.z_crit, None)
    };
    let pi_se = (vb + tau2).sqrt();

    // Heterogeneity: always with inverse-variance (FE) weights.
    let (q, i2, h2, s2) = if k > 1 {
        let q = fe.rss.max(0.0);
        let df = (k - 1) as f64;
        let s2 = df / fe.tr_p();
        let (i2, h2) = if method == Method::FE {
            ((100.0 * (q - df) / q).max(0.0), q / df)
        } else {
            (100.0 * tau2 / (s2 + tau2), tau2 / s2 + 1.0)
        };
        (
            q,
            Some(if i2.is_nan() { 0.0 } else { i2 }),
            Some(h2),
            Some(s2),
        )
    } else {
        (0.0, None, None, None)
    };
    if k > 1 && q == 0.0 {
        note(Note::AllEqual);
    } else if k > 1 && method != Method::FE && tau2 == 0.0 {
        note(Note::Tau2OnBoundary);
    }

    Ok(RmaFit {
        k,
        method,
        test,
        level: opts.level,
        estimate: s.mu,
        se,
        zval,
        ci_lb: s.mu - crit * se,
        ci_ub: s.mu + crit * se,
        pi_lb: s.mu - crit * pi_se,
        pi_ub: s.mu + crit * pi_se,
        ddf,
        tau2,
        se_tau2: est.se_tau2,
        q,
        q_df: k - 1,
        i2,
        h2,
        s2,
        s2w,
        sum_weights: s.sw,
        iterations: est.iterations,
        convergence: est.path,
        notes,
    })
}
