//! DerSimonian & Laird (1986), *Controlled Clinical Trials* 7:177–188:
//! τ² = max(0, (Q − (k − 1)) / tr(P)) with inverse-variance weights 1/vᵢ.
//! Standard error as in metafor (Viechtbauer's notes): √[(2(k−1) + 4τ² tr P +
//! 2τ⁴ tr PP) / (tr P)²].

use super::Tau2Estimate;
use crate::model::sums::Sums;

#[inline(always)]
pub(super) fn dl(yi: &[f64], vi: &[f64], s: &Sums) -> Tau2Estimate {
    let (tau2, se) = dl_sums(s);
    Tau2Estimate::closed_form(yi, vi, s, tau2, Some(se))
}

/// τ² and its SE from the sums at τ² = 0.
#[inline(always)]
pub(crate) fn dl_sums(s: &Sums) -> (f64, f64) {
    let df = s.k - 1.0;
    let tr_p = s.tr_p();
    let tau2 = s.dl_untruncated().max(0.0);
    let se =
        ((2.0 * df + 4.0 * tau2 * tr_p + 2.0 * tau2 * tau2 * s.tr_pp()) / (tr_p * tr_p)).sqrt();
    (tau2, se)
}
