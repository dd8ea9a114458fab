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

pub mod bayes;
pub mod formula;
pub(crate) mod linalg;
pub mod moderators;
pub mod mods;
pub mod multilevel;
mod options;
mod predict;
pub mod robust;
mod roots;
pub(crate) mod scale;
pub(crate) mod sums;
pub mod tau2;

pub use mods::{Design, RmaModsFit, newmods_row, newmods_row_named, predict_mods, rma_mods};
pub use options::{Method, RmaOptions, TestKind, ValidRmaOptions};
pub use predict::{Prediction, predict};
pub use tau2::ConvergencePath;

pub(crate) use roots::{bracket_above, brent};

use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;
use sums::Sums;

/// `serialize_with` for a confidence level stored as a fraction (0.95): JSON
/// carries every level in percent (95), as metafor's `level =` argument and
/// the schema (`schema/spotmeta.schema.json`, `$defs/level`) have it.
///
/// # Errors
///
/// The serializer's.
pub fn serialize_level_percent<S: serde::Serializer>(
    level: &f64,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((level * 100.0 * 1e9).round() / 1e9)
}

/// Something the user should know about a fit (printed under the results).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
    /// The (restricted) likelihood has more than one local maximum; the
    /// global one is reported. Log-likelihoods are on metafor's `logLik()` scale.
    MultipleMaxima {
        /// τ² at the global maximum (the estimate).
        tau2: f64,
        /// Log-likelihood there.
        loglik: f64,
        /// τ² at the best other local maximum.
        other_tau2: f64,
        /// Log-likelihood there.
        other_loglik: f64,
    },
}

impl Note {
    /// One sentence for printed output.
    pub fn message(self) -> String {
        match self {
            Note::SingleStudy => {
                "k = 1: only a common-effect estimate is possible; heterogeneity is undefined."
                    .into()
            }
            Note::AllEqual => "All yi are equal: Q = 0 and tau^2 = 0.".into(),
            Note::Tau2OnBoundary => "tau^2 was estimated on the boundary (0).".into(),
            Note::KnhaFactorBelowOne => {
                "The Knapp-Hartung factor is below 1, so the CI is narrower than the z-based one; test = adhoc truncates it at 1.".into()
            }
            Note::KnhaWithCommonEffect => {
                "The Knapp-Hartung method is not meant for common-effect models.".into()
            }
            Note::MultipleMaxima {
                tau2,
                loglik,
                other_tau2,
                other_loglik,
            } => format!(
                "The likelihood has more than one local maximum: tau^2 = {tau2:.6} (logLik = {loglik:.4}, reported) and tau^2 = {other_tau2:.6} (logLik = {other_loglik:.4})."
            ),
        }
    }
}

/// The notes of a fit, at most four, in the order they were raised.
///
/// Stored compactly (a byte per note, and the four values of a
/// [`Note::MultipleMaxima`] once): an array of four [`Note`]s would be 160
/// bytes, copied with every fit, which cost a DL k = 20 fit about a fifth of
/// its time. It serialises exactly as that array would: four entries, `null`
/// for an empty slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Notes {
    kinds: [Option<NoteKind>; 4],
    /// τ², ℓ, other τ², other ℓ of the [`Note::MultipleMaxima`] note (zero
    /// when there is none, so that equal fits compare equal).
    maxima: [f64; 4],
}

/// Which [`Note`] a slot of [`Notes`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoteKind {
    SingleStudy,
    AllEqual,
    Tau2OnBoundary,
    KnhaFactorBelowOne,
    KnhaWithCommonEffect,
    MultipleMaxima,
}

impl Notes {
    /// No notes.
    pub const NONE: Notes = Notes {
        kinds: [None; 4],
        maxima: [0.0; 4],
    };

    /// Add a note (ignored when all four slots are taken).
    pub(crate) fn push(&mut self, n: Note) {
        let Some(slot) = self.kinds.iter_mut().find(|k| k.is_none()) else {
            return;
        };
        *slot = Some(match n {
            Note::SingleStudy => NoteKind::SingleStudy,
            Note::AllEqual => NoteKind::AllEqual,
            Note::Tau2OnBoundary => NoteKind::Tau2OnBoundary,
            Note::KnhaFactorBelowOne => NoteKind::KnhaFactorBelowOne,
            Note::KnhaWithCommonEffect => NoteKind::KnhaWithCommonEffect,
            Note::MultipleMaxima {
                tau2,
                loglik,
                other_tau2,
                other_loglik,
            } => {
                self.maxima = [tau2, loglik, other_tau2, other_loglik];
                NoteKind::MultipleMaxima
            }
        });
    }

    /// The note in slot `i` (0–3), if any.
    pub fn get(&self, i: usize) -> Option<Note> {
        let [tau2, loglik, other_tau2, other_loglik] = self.maxima;
        Some(match (*self.kinds.get(i)?)? {
            NoteKind::SingleStudy => Note::SingleStudy,
            NoteKind::AllEqual => Note::AllEqual,
            NoteKind::Tau2OnBoundary => Note::Tau2OnBoundary,
            NoteKind::KnhaFactorBelowOne => Note::KnhaFactorBelowOne,
            NoteKind::KnhaWithCommonEffect => Note::KnhaWithCommonEffect,
            NoteKind::MultipleMaxima => Note::MultipleMaxima {
                tau2,
                loglik,
                other_tau2,
                other_loglik,
            },
        })
    }

    /// The notes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Note> + '_ {
        (0..self.kinds.len()).filter_map(|i| self.get(i))
    }

    /// The same notes with the τ² and log-likelihood values of a
    /// [`Note::MultipleMaxima`] mapped by `tau2` and `loglik`.
    pub(crate) fn map_maxima(
        mut self,
        tau2: impl Fn(f64) -> f64,
        loglik: impl Fn(f64) -> f64,
    ) -> Notes {
        if self.kinds.contains(&Some(NoteKind::MultipleMaxima)) {
            let [t, l, ot, ol] = self.maxima;
            self.maxima = [tau2(t), loglik(l), tau2(ot), loglik(ol)];
        }
        self
    }
}

impl Serialize for Notes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let notes: [Option<Note>; 4] = std::array::from_fn(|i| self.get(i));
        notes.serialize(s)
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
    #[serde(serialize_with = "crate::model::serialize_level_percent")]
    pub level: f64,
    /// Pooled estimate μ̂ (metafor `b`).
    #[serde(rename = "beta")]
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
    #[serde(rename = "QE")]
    pub q: f64,
    /// Degrees of freedom of Q (k − 1).
    #[serde(rename = "QEdf")]
    pub q_df: usize,
    /// I² in percent (0 when k = 1, as metafor).
    #[serde(rename = "I2")]
    pub i2: Option<f64>,
    /// H² (1 when k = 1, as metafor).
    #[serde(rename = "H2")]
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
    /// Notes for the reader (at most four).
    pub notes: Notes,
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

    /// p-value of the Q test for heterogeneity (1 when k = 1, as metafor).
    pub fn q_pval(&self) -> Option<f64> {
        Some(if self.k > 1 {
            dist::pchisq_upper(self.q, self.q_df as f64)
        } else {
            1.0
        })
    }

    /// Whether every reported number is finite (the test statistic aside,
    /// which is infinite when the SE is exactly 0).
    pub fn is_finite(&self) -> bool {
        let opt = |x: Option<f64>| x.unwrap_or(0.0);
        // Independent checks (no chain of additions on the fast path).
        [
            self.estimate,
            self.se,
            self.ci_lb,
            self.ci_ub,
            self.pi_lb,
            self.pi_ub,
            self.tau2,
            opt(self.se_tau2),
            self.q,
            opt(self.i2),
            opt(self.h2),
            opt(self.s2),
            self.sum_weights,
        ]
        .iter()
        .all(|x| x.is_finite())
    }

    /// τ (square root of τ²).
    pub fn tau(&self) -> f64 {
        self.tau2.sqrt()
    }

    /// The notes that apply.
    pub fn notes(&self) -> impl Iterator<Item = Note> + '_ {
        self.notes.iter()
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
    // sums stay in registers. It is taken only when the weights are far from
    // overflow and underflow and every result is finite, so it agrees with
    // the standardised path up to rounding. Everything else (the iterative
    // estimators, bad input, extreme scales) takes `rma_general`.
    //
    // One result variable, returned at the end: the fit is built in the
    // caller's return slot instead of being copied there (a memmove of the
    // whole `RmaFit` was 13% of a DL k = 20 fit).
    let fe = if matches!(
        opts.method,
        Method::FE | Method::DL | Method::HE | Method::HS | Method::SJ
    ) && let Some(fe) = Sums::light_checked(yi, vi)
        && fe.sw3 > 1e-200
        && fe.sw3 < 1e200
    {
        fe
    } else {
        return rma_general(yi, vi, opts);
    };
    let mut out = fit(yi, vi, opts, fe);
    if !matches!(&out, Ok(f) if f.is_finite()) {
        out = rma_general(yi, vi, opts);
    }
    out
}

/// [`rma`] on the standardised scale ([`scale`]): the input is checked
/// (naming the first bad study), centred and scaled by a power of two, fitted,
/// and the results are put back on the data scale.
#[inline(never)]
fn rma_general(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions) -> Result<RmaFit> {
    check_inputs(yi, vi)?;
    let sc = scale::Scale::of(yi, vi);
    let mut buf = scale::Buffer::new(yi.len());
    let (ys, vs) = buf.split();
    sc.standardise(yi, vi, ys, vs)?;
    let f = fit(ys, vs, opts, Sums::near(ys, vs, 0.0, sums::mean(ys)))?;
    let out = unscale(f, &sc);
    if out.is_finite() {
        Ok(out)
    } else {
        Err(not_computable(yi, vi, ys, vs, &f, &out))
    }
}

/// A fit on the working scale put back on the data scale.
fn unscale(f: RmaFit, sc: &scale::Scale) -> RmaFit {
    let c = sc.c();
    let estimate = sc.loc_out(f.estimate);
    let se = f.se * c;
    let k = f.k as f64;
    // metafor's logLik: ML −½[k ln 2π + Σln(vᵢ+τ²) + RSS]; REML adds
    // −½ ln Σwᵢ + ½ ln k and has k − 1 in place of k before ln 2π. On the
    // data scale Σln(vᵢ+τ²) grows by k ln c² and ln Σw falls by ln c².
    let reml = f.method == Method::REML;
    let n = if reml { k - 1.0 } else { k };
    let ln_c2 = 2.0 * sc.half as f64 * std::f64::consts::LN_2;
    let ll_out = |ll: f64| {
        ll - 0.5 * n * ln_c2 - 0.5 * n * (2.0 * std::f64::consts::PI).ln()
            + if reml { 0.5 * k.ln() } else { 0.0 }
    };
    let notes = f.notes.map_maxima(|t| sc.var_out(t), ll_out);
    RmaFit {
        estimate,
        se,
        zval: estimate / se,
        ci_lb: sc.loc_out(f.ci_lb),
        ci_ub: sc.loc_out(f.ci_ub),
        pi_lb: sc.loc_out(f.pi_lb),
        pi_ub: sc.loc_out(f.pi_ub),
        tau2: sc.var_out(f.tau2),
        se_tau2: f.se_tau2.map(|s| sc.var_out(s)),
        s2: f.s2.map(|s| sc.var_out(s)),
        sum_weights: sc.var_in(f.sum_weights),
        notes,
        ..f
    }
}

/// Why a fit has a value that is not a finite number, naming the study
/// that drives it (cold: only reached for extreme input).
#[cold]
#[inline(never)]
fn not_computable(
    yi: &[f64],
    vi: &[f64],
    ys: &[f64],
    vs: &[f64],
    working: &RmaFit,
    out: &RmaFit,
) -> Error {
    if !out.sum_weights.is_finite() {
        let i = (0..vi.len())
            .min_by(|&i, &j| vi[i].total_cmp(&vi[j]))
            .unwrap_or(0);
        return scale::study(
            i,
            format!(
                "sampling variance vi = {:e} is so small that the sum of weights 1/(vi + tau^2) overflows double precision; rescale the effect sizes (e.g. change units) or drop the study",
                vi[i]
            ),
        );
    }
    // The study farthest from the pooled estimate (or from the most precise
    // study) in its own standard errors, on the working scale.
    let centre = if working.estimate.is_finite() {
        working.estimate
    } else {
        0.0
    };
    let far = (0..ys.len())
        .max_by(|&i, &j| {
            let d = |i: usize| (ys[i] - centre).abs() / vs[i].sqrt();
            d(i).total_cmp(&d(j))
        })
        .unwrap_or(0);
    scale::study(
        far,
        format!(
            "the pooled results overflow double precision with yi = {:e} and vi = {:e}; rescale the effect sizes (e.g. change units) or drop the study",
            yi[far], vi[far]
        ),
    )
}

/// [`rma`] after the sums at τ² = 0 (`fe`) are known.
#[inline(always)]
fn fit(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions, fe: Sums) -> Result<RmaFit> {
    let k = yi.len();
    let est = if k == 1 {
        tau2::Tau2Estimate::closed_form(yi, vi, &fe, 0.0, None)
    } else {
        tau2::estimate(yi, vi, &fe, opts)?
    };
    Ok(finish(k, opts, &fe, est))
}

/// The fit of `k` studies from the sums at τ² = 0 (`fe`) and the τ²
/// estimate with its pooling sums (`est`): pooling, tests, intervals and
/// heterogeneity, as [`rma`] reports them. `est` must come from the method
/// of `opts` (or be the common-effect estimate when k = 1). Shared with
/// batch's streaming mode, which gets the sums from running totals.
#[inline(always)]
pub(crate) fn finish(
    k: usize,
    opts: &ValidRmaOptions,
    fe: &Sums,
    est: tau2::Tau2Estimate,
) -> RmaFit {
    let mut notes = Notes::NONE;
    let mut note = |n: Note| notes.push(n);

    let (method, test) = if k == 1 {
        note(Note::SingleStudy);
        (Method::FE, TestKind::Z)
    } else {
        (opts.method, opts.test)
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
    // With the z test se = 1/√S, so z = μ̂·√S: a square root beside the
    // division instead of a division after it.
    let zval = if test.uses_t() {
        s.mu / se
    } else {
        s.mu * s.sw.sqrt()
    };
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
        // metafor reports I² = 0, H² = 1 and Q = 0 (p = 1) for a single study.
        (0.0, Some(0.0), Some(1.0), None)
    };
    if k > 1 && q == 0.0 {
        note(Note::AllEqual);
    } else if k > 1 && method != Method::FE && tau2 == 0.0 {
        note(Note::Tau2OnBoundary);
    }
    if let Some((other_tau2, other_ll, tau2, ll)) = est.other_maximum {
        // Working-scale values; `rma_general` puts them on the data scale.
        note(Note::MultipleMaxima {
            tau2,
            loglik: ll,
            other_tau2,
            other_loglik: other_ll,
        });
    }

    RmaFit {
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
    }
}

#[cfg(test)]
mod tests {
    //! The compact [`Notes`] against the array of notes it replaces (exact:
    //! the same values and the same JSON).
    use super::*;

    #[test]
    fn notes_keep_order_values_and_json_of_an_array_of_four() {
        let maxima = Note::MultipleMaxima {
            tau2: 0.53,
            loglik: -2.785,
            other_tau2: 0.0,
            other_loglik: -3.025,
        };
        let raised = [
            Note::KnhaFactorBelowOne,
            maxima,
            Note::Tau2OnBoundary,
            Note::AllEqual,
            Note::SingleStudy,
        ];
        let mut notes = Notes::NONE;
        let mut array: [Option<Note>; 4] = [None; 4];
        for (i, &n) in raised.iter().enumerate() {
            notes.push(n);
            if i < 4 {
                array[i] = Some(n);
            }
            assert_eq!(
                serde_json::to_value(notes).unwrap(),
                serde_json::to_value(array).unwrap()
            );
        }
        // A fifth note is dropped, as with the array.
        assert!(notes.iter().eq(array.iter().flatten().copied()));
        let scaled = notes.map_maxima(|t| 4.0 * t, |l| l - 1.0);
        assert_eq!(
            scaled.get(1),
            Some(Note::MultipleMaxima {
                tau2: 4.0 * 0.53,
                loglik: -2.785 - 1.0,
                other_tau2: 0.0,
                other_loglik: -3.025 - 1.0,
            })
        );
        assert_eq!(scaled.get(0), Some(Note::KnhaFactorBelowOne));
        assert_eq!(Notes::NONE.iter().count(), 0);
        assert_eq!(
            serde_json::to_string(&Notes::NONE).unwrap(),
            "[null,null,null,null]"
        );
    }
}
