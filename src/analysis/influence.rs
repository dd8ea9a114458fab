//! Case-deletion influence diagnostics for the intercept-only model, as
//! metafor's `influence.rma.uni()` computes them (Viechtbauer & Cheung 2010,
//! *Research Synthesis Methods* 1:112–125). With μ̂, Var(μ̂) and weights
//! wᵢ = 1/(vᵢ + τ²) of the full fit, and μ̂₍₋ᵢ₎, τ²₍₋ᵢ₎, Var₍₋ᵢ₎, s²w₍₋ᵢ₎ (the
//! Knapp–Hartung factor, 1 under z) of the fit without study i:
//!
//! * studentized residual: (yᵢ − μ̂₍₋ᵢ₎) / √(vᵢ s²w₍₋ᵢ₎ + Var₍₋ᵢ₎ + τ²₍₋ᵢ₎ s²w₍₋ᵢ₎)
//! * hat hᵢ = wᵢ/Σw; weight = 100·hᵢ
//! * DFFITS: (μ̂ − μ̂₍₋ᵢ₎) / √(s²w₍₋ᵢ₎ hᵢ (τ²₍₋ᵢ₎ + vᵢ))
//! * Cook's distance: (μ̂ − μ̂₍₋ᵢ₎)² / Var(μ̂)
//! * COVRATIO: Var₍₋ᵢ₎ / Var(μ̂)
//! * DFBETAS: (μ̂ − μ̂₍₋ᵢ₎) / √(s²w₍₋ᵢ₎ / Σⱼ 1/(vⱼ + τ²₍₋ᵢ₎)) (sum over all k)
//! * influential (metafor's `*`): |DFFITS| > 3√(1/(k−1)), P(χ²₁ ≤ Cook) > 0.5,
//!   hᵢ > 3/k, or |DFBETAS| > 1.

use super::leave1out::for_each_deletion;
use crate::dist;
use crate::error::Result;
use crate::model::{RmaFit, ValidRmaOptions};
use serde::Serialize;

/// Diagnostics of one study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Influence {
    /// Studentized deleted residual.
    pub rstudent: f64,
    /// DFFITS.
    pub dffits: f64,
    /// Cook's distance.
    pub cook_d: f64,
    /// COVRATIO.
    pub cov_r: f64,
    /// τ² without the study.
    pub tau2_del: f64,
    /// Q without the study.
    #[serde(rename = "QE_del")]
    pub q_del: f64,
    /// Hat value (leverage).
    pub hat: f64,
    /// Weight in percent.
    pub weight: f64,
    /// DFBETAS of the intercept.
    pub dfbs: f64,
    /// Flagged as influential by metafor's rules.
    pub is_infl: bool,
}

/// Why influence diagnostics cannot run on `k` studies (they need 3), or
/// None: [`influence`] refuses through it, and a caller that must fit the
/// model first can ask before fitting.
pub fn too_few(k: usize) -> Option<crate::error::Error> {
    (k < 3).then(|| {
        crate::error::Error::Unsupported(format!(
            "influence diagnostics need at least 3 studies (k = {k})"
        ))
    })
}

/// Influence diagnostics for every study of `fit` (fitted on `yi`, `vi`
/// with `opts`); k ≥ 3, else the error of [`too_few`].
pub fn influence(
    yi: &[f64],
    vi: &[f64],
    fit: &RmaFit,
    opts: &ValidRmaOptions,
) -> Result<Vec<Influence>> {
    let k = yi.len();
    if let Some(e) = too_few(k) {
        return Err(e);
    }
    let opts = opts.with_method(fit.method).with_test(fit.test);
    let var_full = fit.se * fit.se;
    let sw: f64 = vi.iter().map(|v| 1.0 / (v + fit.tau2)).sum();
    for_each_deletion(yi, vi, &opts, |i, d| {
        let hat = 1.0 / (vi[i] + fit.tau2) / sw;
        let var_del = d.se * d.se;
        let resid = yi[i] - d.estimate;
        let resid = if resid.abs() < 100.0 * f64::EPSILON {
            0.0
        } else {
            resid
        };
        let rstudent = resid / (vi[i] * d.s2w + var_del + d.tau2 * d.s2w).sqrt();
        let dfb = fit.estimate - d.estimate;
        let dffits = dfb / (d.s2w * hat * (d.tau2 + vi[i])).sqrt();
        let sw_del: f64 = vi.iter().map(|v| 1.0 / (v + d.tau2)).sum();
        let dfbs = dfb / (d.s2w / sw_del).sqrt();
        let cook_d = dfb * dfb / var_full;
        let cov_r = var_del / var_full;
        let kf = k as f64;
        let is_infl = dffits.abs() > 3.0 * (1.0 / (kf - 1.0)).sqrt()
            || 1.0 - dist::pchisq_upper(cook_d, 1.0) > 0.5
            || hat > 3.0 / kf
            || dfbs.abs() > 1.0;
        Influence {
            rstudent,
            dffits,
            cook_d,
            cov_r,
            tau2_del: d.tau2,
            q_del: d.q,
            hat,
            weight: 100.0 * hat,
            dfbs,
            is_infl,
        }
    })
}
