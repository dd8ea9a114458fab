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
//!
//! Raw-score (pre-test SD) standardised differences of changes, the metric
//! every pooled spot-reduction effect is on (issue #16):
//! * DPPC2 (Morris 2008, *Organizational Research Methods* 11:364–386, eq. 8
//!   and 25): two groups with pre and post, N = n_t + n_c,
//!   SD_pre = √[((n_t−1)sd_pre,t² + (n_c−1)sd_pre,c²)/(N−2)],
//!   c_p = 1 − 3/(4(N−2) − 1), y = c_p·(Δ_c − Δ_t)/SD_pre and, with h = N/(n_t·n_c),
//!   v = 2c_p²(1−ρ)·h·(N−2)/(N−4)·(1 + y²/(2(1−ρ)h)) − y² (δ replaced by y),
//!   ρ the pre–post correlation.
//! * DWPC (within-subject pre–post–control; trained vs untrained limb of the
//!   same n people): SD_pre = √((sd_pre,t² + sd_pre,c²)/2),
//!   y = c(n−1)·(Δ_c − Δ_t)/SD_pre, v = sd_D²/(n·SD_pre²) + y²/(2n) with sd_D
//!   the SD of the per-person difference of changes. This is Becker's (1988)
//!   SMCR variance with 2(1−ρ) = var(D)/σ² written out (Morris & DeShon 2002,
//!   eq. 12 large-sample form; metafor "SMCRH" (Bonett 2008) uses the same
//!   var(D)/σ² ratio with n−1): with equal pre SDs and sd_D = √(2(1−r))·SD it
//!   is exactly metafor `escalc("SMCR")`.

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

/// DPPC2 (Morris 2008): Δ_c, Δ_t the mean changes (post − pre) of the
/// comparison and trained arm, their pre-test SDs and n, and ρ the pre–post
/// correlation. Positive when the trained arm lost more. `None` when
/// n_t + n_c ≤ 4 (the variance needs N − 4 > 0).
pub fn dppc2(
    change_c: f64,
    change_t: f64,
    sd_pre_c: f64,
    sd_pre_t: f64,
    n_c: f64,
    n_t: f64,
    rho: f64,
) -> Option<(f64, f64)> {
    let n = n_t + n_c;
    if n <= 4.0 {
        return None;
    }
    let sd_pre = (((n_t - 1.0) * sd_pre_t * sd_pre_t + (n_c - 1.0) * sd_pre_c * sd_pre_c)
        / (n - 2.0))
        .sqrt();
    let cp = 1.0 - 3.0 / (4.0 * (n - 2.0) - 1.0);
    let yi = cp * (change_c - change_t) / sd_pre;
    let h = n / (n_t * n_c);
    // Eq. 25 multiplied out, so that ρ = 1 stays finite.
    let vi = cp * cp * (n - 2.0) / (n - 4.0) * (2.0 * (1.0 - rho) * h + yi * yi) - yi * yi;
    Some((yi, vi))
}

/// DWPC: the within-subject analogue of DPPC2 for n people measured on a
/// trained and an untrained limb. `sd_diff` is the SD of the per-person
/// difference of changes (untrained − trained). `None` when n ≤ 2.
pub fn dwpc(
    change_c: f64,
    change_t: f64,
    sd_pre_c: f64,
    sd_pre_t: f64,
    sd_diff: f64,
    n: f64,
) -> Option<(f64, f64)> {
    let c = cmi(n - 1.0)?;
    let var_pre = (sd_pre_t * sd_pre_t + sd_pre_c * sd_pre_c) / 2.0;
    let yi = c * (change_c - change_t) / var_pre.sqrt();
    Some((yi, sd_diff * sd_diff / (n * var_pre) + yi * yi / (2.0 * n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed-form identity (same arithmetic, different route).
    const IDENTITY: f64 = 1e-12;

    #[test]
    fn dwpc_with_equal_sds_is_smcr() {
        // sd_D = sqrt(2(1 - r))·SD and equal pre SDs: the SMCR special case.
        let (n, r, sd) = (25.0_f64, 0.6_f64, 3.0_f64);
        let (y1, v1) = dwpc(-0.4, -1.3, sd, sd, (2.0 * (1.0 - r)).sqrt() * sd, n).unwrap();
        let (y2, v2) = smcr(-0.4, -1.3, sd, n, r).unwrap();
        assert!((y1 - y2).abs() < IDENTITY && (v1 - v2).abs() < IDENTITY);
    }

    #[test]
    fn dppc2_variance_stays_finite_at_rho_one_and_needs_n_above_4() {
        let (_, v) = dppc2(0.0, -1.0, 2.0, 2.0, 10.0, 10.0, 1.0).unwrap();
        assert!(v.is_finite() && v > 0.0);
        assert!(dppc2(0.0, -1.0, 2.0, 2.0, 2.0, 2.0, 0.5).is_none());
    }
}
