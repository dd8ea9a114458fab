//! Invariants of `rma` that must hold for any data (proptest), issue #14 included:
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

/// Every reported number of a fit (and its Q-profile CI) on the data scale.
fn outputs(yi: &[f64], vi: &[f64], f: &RmaFit) -> Vec<(&'static str, f64, u8)> {
    // (name, value, kind): kind 0 = location (× c + a), 1 = scale (× c),
    // 2 = variance (× c²), 3 = invariant.
    let mut o = vec![
        ("estimate", f.estimate, 0),
        ("ci_lb", f.ci_lb, 0),
        ("ci_ub", f.ci_ub, 0),
        ("pi_lb", f.pi_lb, 0),
        ("pi_ub", f.pi_ub, 0),
        ("se", f.se, 1),
        ("tau2", f.tau2, 2),
        ("se_tau2", f.se_tau2.unwrap_or(0.0), 2),
        ("q", f.q, 3),
        ("i2", f.i2.unwrap_or(0.0), 3),
        ("h2", f.h2.unwrap_or(1.0), 3),
    ];
    if let Some(ci) = spotmeta::analysis::confint(yi, vi, f, 1e-12).unwrap() {
        o.push(("tau2_lb", ci.tau2_lb, 2));
        o.push(("tau2_ub", ci.tau2_ub, 2));
        o.push(("i2_ub", ci.i2_ub, 3));
    }
    o
}

/// Scale and shift check of `b` (fitted on c·y + a, c²·v) against `a`.
/// Relative 1e-7: the iterative estimators stop at a relative change of
/// 1e-12 in τ², and outputs derived from τ² (through t quantiles, square
/// roots and Q-profile roots) amplify that by at most a few orders.
fn equivariant(
    a: &[(&str, f64, u8)],
    b: &[(&str, f64, u8)],
    c: f64,
    shift: f64,
) -> Result<(), String> {
    const EQUIVARIANCE: f64 = 1e-7;
    if a.len() != b.len() {
        return Err(format!("{} outputs vs {}", a.len(), b.len()));
    }
    for (&(name, x, kind), &(_, y, _)) in a.iter().zip(b) {
        if !y.is_finite() {
            return Err(format!("{name} = {y}"));
        }
        // Absolute floors: rounding of the shift and of values near 0.
        let (want, abs) = match kind {
            0 => (
                x * c + shift,
                EQUIVARIANCE * (c * (a[5].1 + x.abs()) + shift.abs()),
            ),
            1 => (x * c, 0.0),
            2 => (x * c * c, 1e-12 * c * c),
            _ => (x, 1e-9),
        };
        if !close(y, want, EQUIVARIANCE, abs) {
            return Err(format!("{name}: {y} vs {want}"));
        }
    }
    Ok(())
}

const SCALES: [f64; 5] = [1e-150, 1e-6, 1.0, 1e6, 1e150];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Issue #14: every estimator, z and knha, every output (Q-profile CI
    /// included) is equivariant under yᵢ → c·yᵢ + a, vᵢ → c²·vᵢ for c from
    /// 1e-150 to 1e150.
    #[test]
    fn every_output_is_equivariant_under_a_change_of_units((yi, vi) in studies(2..12), shift in -5.0..5.0f64) {
        for m in METHODS {
            for test in [TestKind::Z, TestKind::Knha] {
                let base = outputs(&yi, &vi, &fit(&yi, &vi, m, test));
                for c in SCALES {
                    let a = shift * c;
                    let ys: Vec<f64> = yi.iter().map(|y| y * c + a).collect();
                    let vs: Vec<f64> = vi.iter().map(|v| v * c * c).collect();
                    let f = fit(&ys, &vs, m, test);
                    let r = equivariant(&base, &outputs(&ys, &vs, &f), c, a);
                    prop_assert!(r.is_ok(), "{m} {test} c = {c}: {}", r.unwrap_err());
                }
            }
        }
    }

    /// Variances spanning 20 orders of magnitude: every fit is finite, its
    /// estimate inside its CI, and a permutation changes nothing.
    #[test]
    fn tiny_and_huge_variances_mix((yi, lv) in (2usize..10).prop_flat_map(|k| (prop::collection::vec(-3.0..3.0f64, k), prop::collection::vec(-10.0..10.0f64, k)))) {
        let vi: Vec<f64> = lv.iter().map(|l| 10f64.powf(*l)).collect();
        let (yr, vr): (Vec<f64>, Vec<f64>) = yi.iter().rev().zip(vi.iter().rev()).map(|(y, v)| (*y, *v)).unzip();
        for m in METHODS {
            for test in [TestKind::Z, TestKind::Knha] {
                let (a, b) = (fit(&yi, &vi, m, test), fit(&yr, &vr, m, test));
                prop_assert!(a.is_finite(), "{m} {test}: {a:?}");
                prop_assert!(a.ci_lb <= a.estimate && a.estimate <= a.ci_ub);
                prop_assert!(close(a.tau2, b.tau2, 1e-7, 1e-12 * vi.iter().cloned().fold(0.0, f64::max)), "{m}: tau2 {} vs {}", a.tau2, b.tau2);
                prop_assert!(close(a.estimate, b.estimate, 1e-7, 1e-7 * a.se), "{m}: estimate");
            }
        }
    }

    /// Subnormal variances (the data times 2⁻⁵³⁰, an exact scaling): the fit
    /// equals the one on the same numbers scaled back, or is an error that
    /// names a study (the weights 1/vᵢ overflow).
    #[test]
    fn subnormal_inputs_work_or_name_the_study((yi, vi) in studies(2..8)) {
        let c = 2f64.powi(-530);
        let ys: Vec<f64> = yi.iter().map(|y| y * c).collect();
        let vs: Vec<f64> = vi.iter().map(|v| v * c * c).collect();
        prop_assert!(vs.iter().all(|v| v.is_subnormal()));
        // The variances as rounded to subnormals, back on a normal scale.
        let vb: Vec<f64> = vs.iter().map(|v| v / c / c).collect();
        for m in METHODS {
            let opts = RmaOptions { method: m, ..Default::default() }.check().unwrap();
            match rma(&ys, &vs, &opts) {
                Ok(f) => {
                    let base = fit(&yi, &vb, m, TestKind::Z);
                    prop_assert!(f.is_finite());
                    prop_assert!(close(f.tau2, base.tau2 * c * c, 1e-7, 1e-12 * c * c), "{m}: tau2");
                    prop_assert!(close(f.estimate, base.estimate * c, 1e-7, 1e-9 * c), "{m}: estimate");
                }
                Err(e) => prop_assert!(e.to_string().starts_with("study "), "{m}: {e}"),
            }
        }
    }

    /// Invariants by construction: the pooled estimate lies inside its CI
    /// (every estimator, z/knha/adhoc), and the PM and EB τ̂² (roots of
    /// Q(τ²) = k − 1, between the two χ² quantiles) inside their Q-profile CI.
    #[test]
    fn estimates_lie_inside_their_own_intervals((yi, vi) in studies(2..15)) {
        for m in METHODS {
            for test in [TestKind::Z, TestKind::Knha, TestKind::Adhoc] {
                let f = fit(&yi, &vi, m, test);
                prop_assert!(f.ci_lb <= f.estimate && f.estimate <= f.ci_ub, "{m} {test}");
                prop_assert!(f.pi_lb <= f.estimate && f.estimate <= f.pi_ub, "{m} {test}");
                if matches!(m, Method::PM | Method::EB) {
                    let ci = spotmeta::analysis::confint(&yi, &vi, &f, 1e-12).unwrap().unwrap();
                    let slack = 1e-9 * (1.0 + f.tau2);
                    prop_assert!(ci.tau2_lb - slack <= f.tau2 && f.tau2 <= ci.tau2_ub + slack, "{m}: {} not in [{}, {}]", f.tau2, ci.tau2_lb, ci.tau2_ub);
                }
            }
        }
    }
}
