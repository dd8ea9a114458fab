//! Confidence intervals for the amount of heterogeneity by the Q-profile method
//! (Viechtbauer 2007, *Statistics in Medicine* 26:37–52), as metafor's
//! `confint.rma.uni()` computes them by default.
//!
//! The generalised Q statistic Q(τ²) = Σ wᵢ(τ²)(yᵢ − μ̂(τ²))² with
//! wᵢ = 1/(vᵢ + τ²) decreases in τ². The lower bound solves
//! Q(τ²) = χ²_{k−1; 1−α/2} and the upper bound Q(τ²) = χ²_{k−1; α/2}; a bound
//! whose equation has no root on [0, ∞) is 0. The CIs for τ, I² and H² are
//! transformations of the τ² bounds using the fit's typical within-study
//! variance s² (I² = 100 τ²/(τ² + s²), H² = τ²/s² + 1).
//!
//! Roots are found with Brent's method to 1e-12 (metafor's default tolerance
//! is 1.2e-4; its fixtures for our tests were made with `tol = 1e-12`). Unlike
//! metafor, the search is not capped at τ² = 100: the bracket is expanded until
//! it holds the root. The search runs on the standardised scale of
//! [`crate::model`], so the interval is equivariant under yᵢ → c·yᵢ + a,
//! vᵢ → c²·vᵢ.

use crate::dist;
use crate::error::{Error, Result};
use crate::model::scale::{Buffer, Scale};
use crate::model::sums::Sums;
use crate::model::{Method, RmaFit, bracket_above, brent};
use serde::Serialize;

/// Q-profile confidence intervals for τ², τ, I² (%) and H².
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tau2Ci {
    /// Lower bound for τ².
    pub tau2_lb: f64,
    /// Upper bound for τ².
    pub tau2_ub: f64,
    /// Lower bound for τ.
    pub tau_lb: f64,
    /// Upper bound for τ.
    pub tau_ub: f64,
    /// Lower bound for I² (%).
    pub i2_lb: f64,
    /// Upper bound for I² (%).
    pub i2_ub: f64,
    /// Lower bound for H².
    pub h2_lb: f64,
    /// Upper bound for H².
    pub h2_ub: f64,
    /// The interval is empty in metafor's sense (Q(0) below the lower critical
    /// value: both bounds are 0).
    pub null_set: bool,
}

/// Q-profile CI for τ² and derived quantities (metafor `confint(fit)`).
///
/// Returns `Ok(None)` where metafor has no interval: a common-effect model or
/// k = 1.
pub fn confint(yi: &[f64], vi: &[f64], fit: &RmaFit, tol: f64) -> Result<Option<Tau2Ci>> {
    if fit.method == Method::FE || fit.k < 2 {
        return Ok(None);
    }
    let df = (fit.k - 1) as f64;
    let alpha = 1.0 - fit.level;
    let crit_u = dist::qchisq(1.0 - alpha / 2.0, df);
    let crit_l = dist::qchisq(alpha / 2.0, df);
    // Solve on the standardised scale (see `crate::model`), so the bracket
    // start and the tolerance mean the same at every scale of the data.
    let sc = Scale::of(yi, vi);
    let mut buf = Buffer::new(yi.len());
    let (ys, vs) = buf.split();
    sc.standardise(yi, vi, ys, vs)?;
    let (ys, vs) = (&*ys, &*vs);
    let q = |t: f64| Sums::at(ys, vs, t).rss;
    let q0 = q(0.0);
    let vmax = vs.iter().cloned().fold(0.0, f64::max);
    let start = (vmax * 10.0).max(sc.var_in(fit.tau2) * 2.0).max(1e-4);
    let solve = |target: f64| -> Result<f64> {
        let f = |t: f64| q(t) - target;
        let hi = bracket_above(f, start).ok_or_else(fail)?;
        Ok(sc.var_out(brent(f, 0.0, hi, tol, 10_000).ok_or_else(fail)?.0))
    };
    let (tau2_lb, tau2_ub, null_set) = if q0 < crit_l {
        (0.0, 0.0, true)
    } else {
        let ub = solve(crit_l)?;
        let lb = if q0 < crit_u { 0.0 } else { solve(crit_u)? };
        (lb, ub, false)
    };
    let s2 = fit.s2.expect("k > 1 has s2");
    let i2 = |t: f64| 100.0 * t / (t + s2);
    let h2 = |t: f64| t / s2 + 1.0;
    Ok(Some(Tau2Ci {
        tau2_lb,
        tau2_ub,
        tau_lb: tau2_lb.sqrt(),
        tau_ub: tau2_ub.sqrt(),
        i2_lb: i2(tau2_lb),
        i2_ub: i2(tau2_ub),
        h2_lb: h2(tau2_lb),
        h2_ub: h2(tau2_ub),
        null_set,
    }))
}

/// [`confint`] for output that must still print the fit when the interval
/// fails: the interval, or "not computed: …" with the reason (issue #14).
pub fn confint_or_why(
    yi: &[f64],
    vi: &[f64],
    fit: &RmaFit,
    tol: f64,
) -> (Option<Tau2Ci>, Option<String>) {
    match confint(yi, vi, fit, tol) {
        Ok(ci) => (ci, None),
        Err(e) => (None, Some(format!("not computed: {e}"))),
    }
}

fn fail() -> Error {
    Error::Numerical {
        what: "Q-profile confidence interval for tau^2".into(),
        message: "the generalised Q equation could not be bracketed; check for extreme sampling variances".into(),
    }
}
