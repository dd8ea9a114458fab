//! Invariants of `rma` that must hold for any data (proptest):
//! permutation invariance, location equivariance, scale equivariance, and
//! convergence of the iterative estimators on random k = 20 sets.
//! Tolerance: `IDENTITY` (these are exact algebraic invariants up to rounding
//! and the 1e-12 convergence threshold).

mod common;

use common::tol::{IDENTITY, close};
use proptest::prelude::*;
use spotmeta::model::ConvergencePath;
use spotmeta::{Method, RmaFit, RmaOptions, TestKind, rma};

fn fit(yi: &[f64], vi: &[f64], method: Method, test: TestKind) -> RmaFit {
    let opts = RmaOptions {
        method,
        test,
        ..Default::default()
    }
    .check()
    .unwrap();
    rma(yi, vi, &opts).unwrap_or_else(|e| panic!("{method}: {e}\nyi = {yi:?}\nvi = {vi:?}"))
}

fn same(a: f64, b: f64) -> bool {
    close(a, b, IDENTITY, IDENTITY)
}

/// k studies with effect sizes in [-3, 3] and variances spanning four orders
/// of magnitude.
fn studies(k: std::ops::Range<usize>) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    k.prop_flat_map(|k| {
        (
            prop::collection::vec(-3.0..3.0f64, k),
            prop::collection::vec(-4.0..0.5f64, k),
        )
    })
    .prop_map(|(y, lv)| (y, lv.into_iter().map(|l| 10f64.powf(l)).collect()))
}

const METHODS: [Method; 9] = Method::ALL;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn permuting_studies_changes_nothing((yi, vi) in studies(2..30), seed in any::<u64>()) {
        let mut idx: Vec<usize> = (0..yi.len()).collect();
        // Deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..idx.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            idx.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let yp: Vec<f64> = idx.iter().map(|&i| yi[i]).collect();
        let vp: Vec<f64> = idx.iter().map(|&i| vi[i]).collect();
        for m in METHODS {
            let (a, b) = (fit(&yi, &vi, m, TestKind::Knha), fit(&yp, &vp, m, TestKind::Knha));
            prop_assert!(same(a.tau2, b.tau2), "{m}: tau2 {} vs {}", a.tau2, b.tau2);
            prop_assert!(same(a.estimate, b.estimate), "{m}: estimate");
            prop_assert!(same(a.ci_ub, b.ci_ub), "{m}: ci_ub");
            prop_assert!(same(a.q, b.q), "{m}: Q");
        }
    }

    #[test]
    fn shifting_yi_shifts_estimate_and_intervals_but_not_tau2((yi, vi) in studies(2..30), shift in -10.0..10.0f64) {
        let ys: Vec<f64> = yi.iter().map(|y| y + shift).collect();
        for m in METHODS {
            let (a, b) = (fit(&yi, &vi, m, TestKind::Z), fit(&ys, &vi, m, TestKind::Z));
            prop_assert!(same(a.tau2, b.tau2), "{m}: tau2 {} vs {}", a.tau2, b.tau2);
            prop_assert!(same(a.estimate + shift, b.estimate), "{m}: estimate");
            prop_assert!(same(a.ci_lb + shift, b.ci_lb), "{m}: ci_lb");
            prop_assert!(same(a.pi_ub + shift, b.pi_ub), "{m}: pi_ub");
            prop_assert!(same(a.se, b.se), "{m}: se");
        }
    }

    #[test]
    fn scaling_yi_by_c_and_vi_by_c2_scales_tau2_by_c2((yi, vi) in studies(2..30), c in 0.1..10.0f64) {
        let ys: Vec<f64> = yi.iter().map(|y| y * c).collect();
        let vs: Vec<f64> = vi.iter().map(|v| v * c * c).collect();
        for m in METHODS {
            let (a, b) = (fit(&yi, &vi, m, TestKind::Z), fit(&ys, &vs, m, TestKind::Z));
            prop_assert!(close(a.tau2 * c * c, b.tau2, 1e-8, 1e-10), "{m}: tau2 {} vs {}", a.tau2 * c * c, b.tau2);
            prop_assert!(close(a.estimate * c, b.estimate, 1e-8, 1e-10), "{m}: estimate");
            prop_assert!(same(a.zval, b.zval) || close(a.zval, b.zval, 1e-8, 1e-8), "{m}: zval");
        }
    }
}

/// REML score (up to a factor ½): yᵀPPy − tr P at τ².
fn reml_score(yi: &[f64], vi: &[f64], tau2: f64) -> f64 {
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw: f64 = w.iter().sum();
    let mu: f64 = w.iter().zip(yi).map(|(w, y)| w * y).sum::<f64>() / sw;
    let sw2: f64 = w.iter().map(|w| w * w).sum();
    let rss2: f64 = w
        .iter()
        .zip(yi)
        .map(|(w, y)| w * w * (y - mu) * (y - mu))
        .sum();
    rss2 - (sw - sw2 / sw)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// 2000 random k = 20 sets: REML, ML and EB always converge, and the REML
    /// answer is a stationary point (score ≈ 0) or the boundary with a
    /// non-positive score.
    #[test]
    fn iterative_estimators_always_converge_on_k20((yi, vi) in studies(20..21), tau in 0.0..2.0f64, seed in any::<u32>()) {
        // Add heterogeneity of size tau deterministically from the seed.
        let yi: Vec<f64> = yi.iter().enumerate().map(|(i, y)| y * tau + ((seed as f64 + i as f64).sin())).collect();
        for m in [Method::REML, Method::ML, Method::EB] {
            let f = fit(&yi, &vi, m, TestKind::Z);
            prop_assert!(f.tau2.is_finite() && f.tau2 >= 0.0);
            if m == Method::REML {
                let s = reml_score(&yi, &vi, f.tau2);
                if f.tau2 > 0.0 {
                    let scale = vi.iter().map(|v| 1.0 / (v + f.tau2).powi(2)).sum::<f64>();
                    prop_assert!(s.abs() <= 1e-6 * scale, "score {s} at tau2 {}", f.tau2);
                } else {
                    prop_assert!(s <= 1e-9, "boundary with positive score {s}");
                    prop_assert_eq!(f.convergence, ConvergencePath::Boundary);
                }
            }
        }
    }
}
