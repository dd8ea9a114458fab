//! Hedges (1983), *Psychological Bulletin* 93:388–395 (also "variance
//! component" estimator): τ² = max(0, [Σ(yᵢ − ȳ)² − (1 − 1/k) Σvᵢ] / (k − 1))
//! with the unweighted mean ȳ. Standard error as metafor computes it with
//! P = I − J/k.

use super::Tau2Estimate;
use crate::model::sums::{Sums, p2_bilinear};

pub(super) fn he_untruncated(yi: &[f64], vi: &[f64]) -> f64 {
    let k = yi.len() as f64;
    // Σy and Σv in one loop, each still summed in study order from −0, so
    // the values are those of two separate `sum()`s; each sum is a chain of
    // dependent additions, and here the two chains run side by side.
    let (sy, sv) = yi
        .iter()
        .zip(vi)
        .fold((-0.0, -0.0), |(sy, sv), (y, v)| (sy + y, sv + v));
    let ybar = sy / k;
    let rss: f64 = yi.iter().map(|y| (y - ybar) * (y - ybar)).sum();
    let tr_pv = sv * (1.0 - 1.0 / k);
    (rss - tr_pv) / (k - 1.0)
}

pub(super) fn he(yi: &[f64], vi: &[f64], fe: &Sums) -> Tau2Estimate {
    let k = yi.len();
    let pvpv = p2_bilinear(k, |_| 1.0, |i| vi[i], |i| vi[i]);
    let (tau2, se) = he_sums(
        k as f64,
        he_untruncated(yi, vi),
        vi.iter().sum::<f64>(),
        pvpv,
    );
    Tau2Estimate::closed_form(yi, vi, fe, tau2, Some(se))
}

/// τ² and its SE from k, the untruncated estimate, Σvᵢ and Σ_ij P_ij² vᵢvⱼ
/// with P = I − J/k.
pub(crate) fn he_sums(k: f64, untruncated: f64, sv: f64, pvpv: f64) -> (f64, f64) {
    let tau2 = untruncated.max(0.0);
    let tr_pv = sv * (1.0 - 1.0 / k);
    let df = k - 1.0;
    let se = ((2.0 * pvpv + 4.0 * tau2 * tr_pv + 2.0 * tau2 * tau2 * df) / (df * df)).sqrt();
    (tau2, se)
}
