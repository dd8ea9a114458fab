//! Two-group measures for continuous outcomes (metafor `escalc` "MD", "SMD").
//!
//! * MD: yᵢ = m₁ − m₂, vᵢ = sd₁²/n₁ + sd₂²/n₂ (metafor's default `vtype = "LS"`,
//!   which for MD is the heteroscedastic unbiased estimate).
//! * SMD: Hedges' g. With the pooled SD s_p = √[((n₁−1)sd₁² + (n₂−1)sd₂²)/m],
//!   m = n₁ + n₂ − 2, d = (m₁ − m₂)/s_p and the exact correction c(m)
//!   ([`super::cmi`]), yᵢ = c(m)·d and vᵢ = 1/n₁ + 1/n₂ + yᵢ²/(2(n₁ + n₂))
//!   (Hedges 1982; Hedges & Olkin 1985 eq. 15; metafor `vtype = "LS"`).
//! * SMD from a t statistic: d = t·√(1/n₁ + 1/n₂); from an exact two-sided p:
//!   t = qt(p/2, n₁+n₂−2, upper) with the sign of the reported direction —
//!   metafor's `escalc(measure="SMD", ti=, pi=)`.

use super::cmi;
use crate::dist;

/// Raw mean difference and its variance (metafor `vtype = "LS"`).
pub fn md(m1: f64, sd1: f64, n1: f64, m2: f64, sd2: f64, n2: f64) -> (f64, f64) {
    (m1 - m2, sd1 * sd1 / n1 + sd2 * sd2 / n2)
}

/// Hedges' g and its variance (metafor `escalc("SMD")`, `vtype = "LS"`).
/// `None` when n₁ + n₂ ≤ 3 (no correction factor).
pub fn smd(m1: f64, sd1: f64, n1: f64, m2: f64, sd2: f64, n2: f64) -> Option<(f64, f64)> {
    let m = n1 + n2 - 2.0;
    let sdp = (((n1 - 1.0) * sd1 * sd1 + (n2 - 1.0) * sd2 * sd2) / m).sqrt();
    smd_from_d((m1 - m2) / sdp, n1, n2)
}

/// Hedges' g from an uncorrected standardised difference d (metafor `di=`).
pub fn smd_from_d(d: f64, n1: f64, n2: f64) -> Option<(f64, f64)> {
    let c = cmi(n1 + n2 - 2.0)?;
    let yi = c * d;
    Some((yi, 1.0 / n1 + 1.0 / n2 + yi * yi / (2.0 * (n1 + n2))))
}

/// Hedges' g from an independent-samples t statistic (metafor `ti=`).
pub fn smd_from_t(t: f64, n1: f64, n2: f64) -> Option<(f64, f64)> {
    smd_from_d(t * (1.0 / n1 + 1.0 / n2).sqrt(), n1, n2)
}

/// Hedges' g from an exact two-sided p-value (metafor `pi=`): the sign of `p`
/// carries the direction (negative p → negative effect), as in metafor.
pub fn smd_from_p(p: f64, n1: f64, n2: f64) -> Option<(f64, f64)> {
    let df = n1 + n2 - 2.0;
    if !(p.abs() > 0.0 && p.abs() <= 1.0) || df < 1.0 {
        return None;
    }
    let t = p.signum() * dist::qt(1.0 - p.abs() / 2.0, df);
    smd_from_t(t, n1, n2)
}
