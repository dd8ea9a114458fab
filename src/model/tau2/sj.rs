//! Sidik & Jonkman (2005), *Journal of Biopharmaceutical Statistics*
//! 15:823–838: start from τ₀² = Σ(yᵢ − ȳ)²/k, then τ² = τ₀² · Q(τ₀²)/(k − 1)
//! where Q(τ₀²) uses weights 1/(vᵢ + τ₀²). Standard error as in metafor.

use super::Tau2Estimate;
use crate::model::sums::{Sums, p2_bilinear};

pub(super) fn sj(yi: &[f64], vi: &[f64], fe: &Sums) -> Tau2Estimate {
    let k = yi.len();
    let kf = k as f64;
    let ybar = yi.iter().sum::<f64>() / kf;
    let tau0 = yi.iter().map(|y| (y - ybar) * (y - ybar)).sum::<f64>() / kf;
    let s = Sums::near(yi, vi, tau0, fe.mu);
    let w = |i: usize| 1.0 / (vi[i] + tau0);
    let pvpv = p2_bilinear(k, w, |i| vi[i], |i| vi[i]);
    let pvp = p2_bilinear(k, w, |_| 1.0, |i| vi[i]);
    let (tau2, se) = sj_sums(kf, tau0, &s, pvpv, pvp);
    Tau2Estimate::closed_form(yi, vi, fe, tau2, Some(se))
}

/// τ² and its SE from the starting value τ₀², the sums at τ₀² and
/// Σ_ij P_ij² vᵢvⱼ, Σ_ij P_ij² vⱼ there.
pub(crate) fn sj_sums(k: f64, tau0: f64, s: &Sums, pvpv: f64, pvp: f64) -> (f64, f64) {
    let df = k - 1.0;
    let tau2 = (tau0 * s.rss / df).max(0.0);
    let se = (tau0 * tau0 / (df * df)
        * (2.0 * pvpv + 4.0 * tau2 * pvp + 2.0 * tau2 * tau2 * s.tr_pp()))
    .sqrt();
    (tau2, se)
}
