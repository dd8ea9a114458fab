//! Paule & Mandel (1982), *Journal of Research of the NBS* 87:377–385: τ² solves
//! Q(τ²) = Σ wᵢ(τ²)(yᵢ − μ̂(τ²))² = k − 1 with wᵢ = 1/(vᵢ + τ²); τ² = 0 when
//! Q(0) < k − 1. Q(τ²) decreases in τ², so a bracket is found by expanding the
//! upper end (metafor stops at `tau2.max` = 100 instead) and Brent's method
//! runs to the tolerance in the options (1e-12 by default).
//!
//! The empirical Bayes estimator solves the same equation (its Fisher-scoring
//! fixed point), so [`super::likelihood`] falls back on this solver for EB.

use super::{ConvergencePath, Tau2Estimate};
use crate::error::{Error, Result};
use crate::model::options::ValidRmaOptions;
use crate::model::roots::{bracket_above, brent};
use crate::model::sums::Sums;

/// Root of Q(τ²) = target on [0, ∞); `None` if the bracket or search failed.
pub(crate) fn solve_q(
    yi: &[f64],
    vi: &[f64],
    fe: &Sums,
    target: f64,
    tol: f64,
    maxiter: u32,
) -> Option<(f64, u32, bool)> {
    let f = |t: f64| Sums::near(yi, vi, t, fe.mu).rss - target;
    if fe.rss - target <= 0.0 {
        return Some((0.0, 1, true));
    }
    let vmax = vi.iter().cloned().fold(0.0, f64::max);
    let hi = bracket_above(f, vmax.max(1e-4) * 10.0)?;
    let (root, evals) = brent(f, 0.0, hi, tol, maxiter)?;
    Some((root, evals, false))
}

#[inline(never)]
pub(super) fn pm(
    yi: &[f64],
    vi: &[f64],
    fe: &Sums,
    opts: &ValidRmaOptions,
) -> Result<Tau2Estimate> {
    let k = yi.len() as f64;
    let (tau2, iterations, boundary) = solve_q(yi, vi, fe, k - 1.0, opts.tol, opts.maxiter).ok_or_else(|| Error::Numerical {
        what: "Paule-Mandel estimation".into(),
        message: "no root of the generalised Q equation could be bracketed; check for extreme sampling variances".into(),
    })?;
    let sums = if tau2 == 0.0 {
        *fe
    } else {
        Sums::near(yi, vi, tau2, fe.mu)
    };
    Ok(Tau2Estimate {
        tau2,
        se_tau2: Some(se_eb_pm(&sums)),
        iterations,
        path: if boundary {
            ConvergencePath::Boundary
        } else {
            ConvergencePath::RootFinding
        },
        pool: sums.pool(),
        other_maximum: None,
    })
}

/// metafor's SE for EB and PM: √(2k²/(k−1)) / Σwᵢ with wᵢ = 1/(vᵢ + τ²).
pub(crate) fn se_eb_pm(s: &Sums) -> f64 {
    (2.0 * s.k * s.k / (s.k - 1.0)).sqrt() / s.sw
}
