//! Conversions from reported statistics (Cochrane Handbook, ch. 6.5.2;
//! Borenstein et al. 2009, ch. 4).
//!
//! * SD from the SE of a mean: sd = se·√n.
//! * SD from a confidence interval of a mean: sd = √n·(ub − lb)/(2·t_{1−α/2, n−1})
//!   (t quantile for every n; for n ≥ 60 this is within 3% of the 3.92 rule).
//! * SE of a between-group difference from its CI: (ub − lb)/(2·t_{1−α/2, df}).
//! * t from an exact two-sided p-value: t = t_{1−p/2, df}.
//! * SD of a mean (e.g. a within-group change) from its one-sample t with n:
//!   sd = |m|·√n / |t|; from an exact two-sided p: t = t_{1−p/2, n−1} first.
//! * SD of a change score from pre/post SDs and their correlation r:
//!   sd_Δ = √(sd_pre² + sd_post² − 2r·sd_pre·sd_post).

use crate::dist;

/// SD = SE·√n.
pub fn sd_from_se(se: f64, n: f64) -> f64 {
    se * n.sqrt()
}

/// SD of a single mean from its `level` (e.g. 0.95) confidence interval.
pub fn sd_from_ci(lb: f64, ub: f64, n: f64, level: f64) -> f64 {
    n.sqrt() * (ub - lb) / (2.0 * dist::qt(1.0 - (1.0 - level) / 2.0, n - 1.0))
}

/// SE of a difference from its `level` CI, using t with `df` degrees of freedom.
pub fn se_from_ci(lb: f64, ub: f64, df: f64, level: f64) -> f64 {
    (ub - lb) / (2.0 * dist::qt(1.0 - (1.0 - level) / 2.0, df))
}

/// |t| from an exact two-sided p-value with `df` degrees of freedom.
pub fn t_from_p(p: f64, df: f64) -> f64 {
    dist::qt(1.0 - p / 2.0, df)
}

/// SD of a mean `m` from its one-sample (or paired) t statistic with n
/// observations: sd = |m|·√n / |t|.
pub fn sd_from_t(m: f64, t: f64, n: f64) -> f64 {
    m.abs() * n.sqrt() / t.abs()
}

/// SD of a mean `m` from the exact two-sided p-value of its one-sample t
/// test with n observations (df = n − 1).
pub fn sd_from_p(m: f64, p: f64, n: f64) -> f64 {
    sd_from_t(m, t_from_p(p, n - 1.0), n)
}

/// SD of a change (post − pre) from pre and post SDs and their correlation.
pub fn sd_change(sd_pre: f64, sd_post: f64, r: f64) -> f64 {
    (sd_pre * sd_pre + sd_post * sd_post - 2.0 * r * sd_pre * sd_post).sqrt()
}

#[cfg(test)]
mod tests {
    //! Reference: R `sqrt(25) * (7 - 3) / (2 * qt(0.975, 24))` = 4.8451993648912142
    //! (the Cochrane Handbook 6.5.2.2 recipe for n = 25, 95% CI 3.0 to 7.0),
    //! and closed-form identities.
    use super::*;

    /// Full-precision R computation: relative 1e-12.
    const R_FULL: f64 = 1e-12;
    const IDENTITY: f64 = 1e-12;

    #[test]
    fn sd_from_ci_matches_cochrane_example() {
        let want = 4.845_199_364_891_214;
        assert!(((sd_from_ci(3.0, 7.0, 25.0, 0.95) - want) / want).abs() < R_FULL);
    }

    #[test]
    fn sd_from_t_and_p_match_r() {
        // R: 2.5*sqrt(20)/2.1 and 2.5*sqrt(20)/qt(1-0.03/2, 19)
        let want_t = 5.323_971_374_999_499;
        let want_p = 4.766_419_390_605_277;
        assert!(((sd_from_t(-2.5, 2.1, 20.0) - want_t) / want_t).abs() < R_FULL);
        assert!(((sd_from_p(2.5, 0.03, 20.0) - want_p) / want_p).abs() < R_FULL);
    }

    #[test]
    fn sd_change_with_r_half_equals_pre_sd_when_sds_equal() {
        // r = 0.5 and equal SDs give sd_Δ = sd (closed form).
        assert!((sd_change(3.0, 3.0, 0.5) - 3.0).abs() < IDENTITY);
        assert!((sd_from_se(2.0, 16.0) - 8.0).abs() < IDENTITY);
    }
}
