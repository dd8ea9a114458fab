//! Hunter & Schmidt (2004), *Methods of Meta-Analysis* (2nd ed.):
//! τ² = max(0, (Q − k) / Σwᵢ) with wᵢ = 1/vᵢ (note k, not k − 1, as in
//! metafor). Standard error as in metafor.

use super::Tau2Estimate;
use crate::model::sums::Sums;

pub(super) fn hs(yi: &[f64], vi: &[f64], s: &Sums) -> Tau2Estimate {
    let (tau2, se) = hs_sums(s);
    Tau2Estimate::closed_form(yi, vi, s, tau2, Some(se))
}

/// τ² and its SE from the sums at τ² = 0.
pub(crate) fn hs_sums(s: &Sums) -> (f64, f64) {
    let tau2 = ((s.rss - s.k) / s.sw).max(0.0);
    let df = s.k - 1.0;
    let se =
        ((2.0 * df + 4.0 * tau2 * s.tr_p() + 2.0 * tau2 * tau2 * s.tr_pp()) / (s.sw * s.sw)).sqrt();
    (tau2, se)
}
