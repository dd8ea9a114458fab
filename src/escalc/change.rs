//! Standardised mean change for paired designs (metafor `escalc` "SMCR",
//! "SMCC"), used for pre–post comparisons and for within-subject
//! (contralateral limb) trials: trained vs untrained limb with the correlation
//! r between the two measurements.
//!
//! With m = n − 1 and c(m) the exact correction ([`super::cmi`]):
//! * SMCR (Becker 1988): d = (m₁ − m₂)/sd₁ (sd₁ = pre-test SD),
//!   yᵢ = c(m)·d, vᵢ = 2(1 − r)/n + yᵢ²/(2n).
//! * SMCC (Gibbons et al. 1993): sd_d = √(sd₁² + sd₂² − 2r·sd₁sd₂),
//!   d = (m₁ − m₂)/sd_d, yᵢ = c(m)·d, vᵢ = 1/n + yᵢ²/(2n).

use super::cmi;

/// SMCR: m1 = post mean, m2 = pre mean, sd1 = pre SD; `None` when n ≤ 2.
pub fn smcr(m1: f64, m2: f64, sd1: f64, n: f64, r: f64) -> Option<(f64, f64)> {
    let c = cmi(n - 1.0)?;
    let yi = c * (m1 - m2) / sd1;
    Some((yi, 2.0 * (1.0 - r) / n + yi * yi / (2.0 * n)))
}

/// SMCC: difference of two paired means standardised by the SD of the
/// differences; `None` when n ≤ 2.
pub fn smcc(m1: f64, m2: f64, sd1: f64, sd2: f64, n: f64, r: f64) -> Option<(f64, f64)> {
    let c = cmi(n - 1.0)?;
    let sd_d = (sd1 * sd1 + sd2 * sd2 - 2.0 * r * sd1 * sd2).sqrt();
    let yi = c * (m1 - m2) / sd_d;
    Some((yi, 1.0 / n + yi * yi / (2.0 * n)))
}
