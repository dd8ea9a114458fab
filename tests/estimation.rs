//! Estimation (issue #14): the ML/REML answer is the global maximum of the
//! (restricted) likelihood, the analyses built on refits inherit it, a
//! single study reports metafor's k = 1 values, and extreme scales either
//! work or fail naming the study.
//!
//! Reference values: `tests/conformance/fixtures/estimation.json`, made by
//! `Rscript tests/conformance/make_estimation_fixtures.R` (R metafor 3.8.1,
//! `threshold = tol = 1e-12`), with an independent global maximum (fine grid
//! plus `optimize()` on the log-likelihood written out) next to metafor's fit.
//! Data: BCG trials, `datasets/colditz1994_bcg.csv` (rows numbered 1–13).

mod common;

use common::tol::{IDENTITY, close, close_metafor};
use serde_json::Value;
use spotmeta::analysis::confint;
use spotmeta::analysis::cumul::cumul;
use spotmeta::analysis::influence::influence;
use spotmeta::analysis::leave1out::leave1out;
use spotmeta::model::Note;
use spotmeta::{Method, TestKind, rma};

/// (yi, vi) of the BCG rows (1-based, file order).
fn bcg(rows: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(common::dataset("colditz1994_bcg.csv")).unwrap();
    let all: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.rsplitn(3, ',').collect();
            let num = |s: &str| s.trim_matches('"').parse::<f64>().unwrap();
            (num(f[1]), num(f[0]))
        })
        .collect();
    rows.iter().map(|&r| all[r - 1]).unzip()
}

fn case(name: &str) -> Value {
    common::read_json("estimation.json")["cases"][name].clone()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("fixture key {key}"))
}

fn nums(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rows(v: &Value, key: &str) -> Vec<usize> {
    nums(v, key).into_iter().map(|x| x as usize).collect()
}

use common::opts;

fn assert_metafor(got: f64, want: f64, what: &str) {
    assert!(
        close_metafor(got, want),
        "{what}: got {got}, metafor {want}"
    );
}

/// Issue #14: BCG rows 4, 10, 12 under REML. Fisher scoring from Hedges'
/// start heads for τ² = 0 (a local maximum, restricted loglik −3.025); the
/// global maximum is τ² ≈ 0.53 (−2.785), which metafor also returns.
#[test]
fn reml_on_the_bcg_three_study_subset_finds_the_global_maximum() {
    for name in ["bcg3_reml", "bcg3_reml_knha"] {
        let c = case(name);
        let test: TestKind = c["test"].as_str().unwrap().parse().unwrap();
        let (yi, vi) = bcg(&rows(&c, "rows"));
        let fit = rma(&yi, &vi, &opts(Method::REML, test)).unwrap();
        // metafor and the independent grid + optimize() maximum agree to ~1e-8.
        assert_metafor(fit.tau2, num(&c, "tau2"), "tau2");
        assert!(close(fit.tau2, num(&c, "global_tau2"), 1e-6, 1e-8));
        for (got, key) in [
            (fit.estimate, "estimate"),
            (fit.se, "se"),
            (fit.ci_lb, "ci_lb"),
            (fit.ci_ub, "ci_ub"),
            (fit.i2.unwrap(), "i2"),
            (fit.h2.unwrap(), "h2"),
        ] {
            assert_metafor(got, num(&c, key), key);
        }
        assert!((fit.pval().unwrap() - num(&c, "pval")).abs() < common::tol::METAFOR_ABS);
        // The other local maximum (τ² = 0) is reported with both values.
        let note = fit
            .notes()
            .find_map(|n| match n {
                Note::MultipleMaxima {
                    tau2,
                    loglik,
                    other_tau2,
                    other_loglik,
                } => Some((tau2, loglik, other_tau2, other_loglik)),
                _ => None,
            })
            .expect("a note on the two maxima");
        assert_metafor(note.0, num(&c, "tau2"), "note tau2");
        assert_metafor(note.1, num(&c, "loglik"), "note loglik");
        assert_eq!(note.2, 0.0);
        assert_metafor(note.3, num(&c, "loglik_at_zero"), "note loglik at 0");
    }
}

/// An ML k = 5 BCG subset (rows 1, 2, 3, 8, 12) with a second local maximum
/// at τ² = 0: the estimate is the global one and lies inside its own
/// Q-profile CI.
#[test]
fn ml_estimate_is_global_and_inside_its_q_profile_ci() {
    let c = case("bcg5_ml");
    let (yi, vi) = bcg(&rows(&c, "rows"));
    let fit = rma(&yi, &vi, &opts(Method::ML, TestKind::Z)).unwrap();
    assert_metafor(fit.tau2, num(&c, "tau2"), "tau2");
    assert!(close(fit.tau2, num(&c, "global_tau2"), 1e-6, 1e-8));
    assert_metafor(fit.estimate, num(&c, "estimate"), "estimate");
    let ci = confint(&yi, &vi, &fit, 1e-12).unwrap().unwrap();
    assert_metafor(ci.tau2_lb, num(&c, "tau2_ci_lb"), "tau2_ci_lb");
    assert_metafor(ci.tau2_ub, num(&c, "tau2_ci_ub"), "tau2_ci_ub");
    assert!(ci.tau2_lb <= fit.tau2 && fit.tau2 <= ci.tau2_ub);
}

/// metafor prints I² = 0, H² = 1, Q = 0 and p(Q) = 1 for one study.
#[test]
fn single_study_reports_metafor_heterogeneity_values() {
    let c = case("bcg1");
    let (yi, vi) = bcg(&[num(&c, "rows") as usize]);
    let fit = rma(&yi, &vi, &opts(Method::REML, TestKind::Z)).unwrap();
    assert_eq!(fit.i2, Some(num(&c, "i2")));
    assert_eq!(fit.h2, Some(num(&c, "h2")));
    assert_eq!(fit.q, num(&c, "q"));
    assert_eq!(fit.q_pval(), Some(num(&c, "q_pval")));
    assert_metafor(fit.se, num(&c, "se"), "se");
}

/// Leave-one-out, influence and cumulative refits on BCG rows 1, 4, 10, 12:
/// one deletion (row 1) and one prefix (4, 10, 12) are the two-maxima set.
/// Before the fix the deletion landed on τ² = 0 and rstudent of row 12 was
/// far too large.
#[test]
fn refitting_analyses_use_the_global_maximum() {
    let c = case("downstream");
    let o = opts(Method::REML, TestKind::Z);
    let (yi, vi) = bcg(&rows(&c, "rows"));
    let l1 = leave1out(&yi, &vi, &o).unwrap();
    for (i, (want_est, want_tau2)) in nums(&c, "leave1out_estimate")
        .into_iter()
        .zip(nums(&c, "leave1out_tau2"))
        .enumerate()
    {
        assert_metafor(l1[i].estimate, want_est, "leave1out estimate");
        assert_metafor(l1[i].tau2, want_tau2, "leave1out tau2");
    }
    let fit = rma(&yi, &vi, &o).unwrap();
    let inf = influence(&yi, &vi, &fit, &o).unwrap();
    for (i, want) in nums(&c, "rstudent").into_iter().enumerate() {
        assert_metafor(inf[i].rstudent, want, "rstudent");
    }
    let (yc, vc) = bcg(&rows(&c, "cumul_rows"));
    let order: Vec<usize> = (0..yc.len()).collect();
    let steps = cumul(&yc, &vc, &order, &o).unwrap();
    for (i, (want_est, want_tau2)) in nums(&c, "cumul_estimate")
        .into_iter()
        .zip(nums(&c, "cumul_tau2"))
        .enumerate()
    {
        assert_metafor(steps[i].estimate, want_est, "cumul estimate");
        assert_metafor(steps[i].tau2, want_tau2, "cumul tau2");
    }
}

/// (Restricted) log-likelihood written out, for the property below.
fn loglik(yi: &[f64], vi: &[f64], t: f64, reml: bool) -> f64 {
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + t)).collect();
    let sw: f64 = w.iter().sum();
    let mu = w.iter().zip(yi).map(|(w, y)| w * y).sum::<f64>() / sw;
    let rss: f64 = w.iter().zip(yi).map(|(w, y)| w * (y - mu).powi(2)).sum();
    let ld: f64 = vi.iter().map(|v| (v + t).ln()).sum();
    -0.5 * ld - 0.5 * rss - if reml { 0.5 * sw.ln() } else { 0.0 }
}

/// GOSH refits every subset: for each of the 8,191 subsets of the 13 BCG
/// trials (2,^13 − 1) the REML and ML τ̂² are at least as good as every point of
/// a log grid over [1e-6, 1e3] and τ² = 0 (before the fix 13 REML subsets
/// were not). Tolerance 1e-9 on the log-likelihood (rounding).
#[test]
fn every_bcg_subset_reaches_the_global_maximum() {
    let (yi, vi) = bcg(&(1..=13).collect::<Vec<_>>());
    let grid: Vec<f64> = std::iter::once(0.0)
        .chain((0..=90).map(|i| 10f64.powf(-6.0 + i as f64 / 10.0)))
        .collect();
    for method in [Method::REML, Method::ML] {
        let o = opts(method, TestKind::Z);
        let reml = method == Method::REML;
        for mask in 1u64..(1 << 13) {
            if mask.count_ones() < 2 {
                continue;
            }
            let [_, _, tau2] = spotmeta::gosh::fit_subset(&yi, &vi, mask, &o).unwrap();
            let (ys, vs): (Vec<f64>, Vec<f64>) = (0..13)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| (yi[i], vi[i]))
                .unzip();
            let at = loglik(&ys, &vs, tau2, reml);
            for &t in &grid {
                assert!(
                    at >= loglik(&ys, &vs, t, reml) - IDENTITY,
                    "{method} subset {mask:#b}: tau2 {tau2} below grid point {t}"
                );
            }
        }
    }
}

/// Extreme scales: a change of units leaves every output equivariant, and
/// what cannot be held in a double is an error naming the study.
#[test]
fn extreme_scales_work_or_name_the_study() {
    let (yi, vi) = bcg(&(1..=13).collect::<Vec<_>>());
    for method in Method::ALL {
        let o = opts(method, TestKind::Z);
        let base = rma(&yi, &vi, &o).unwrap();
        for c in [1e-150, 1e-6, 1e6, 1e150] {
            let ys: Vec<f64> = yi.iter().map(|y| y * c).collect();
            let vs: Vec<f64> = vi.iter().map(|v| v * c * c).collect();
            let f = rma(&ys, &vs, &o).unwrap();
            assert!(
                close(f.tau2, base.tau2 * c * c, 1e-9, 1e-12 * c * c),
                "{method} c={c}: tau2 {} vs {}",
                f.tau2,
                base.tau2 * c * c
            );
            assert!(
                close(f.estimate, base.estimate * c, 1e-9, 0.0),
                "{method} c={c}"
            );
            assert!(close(f.q, base.q, 1e-9, 0.0), "{method} c={c}");
        }
    }
    // Variances of 1e-300 with the common-effect model: weights 1/vᵢ fit,
    // their squares do not; exact on the working scale, no NaN, no false
    // "all equal" note.
    let (y, v) = ([0.0, 4e-150], [1e-300, 1e-300]);
    let fit = rma(&y, &v, &opts(Method::FE, TestKind::Z)).unwrap();
    assert!(close(fit.estimate, 2e-150, IDENTITY, 0.0));
    // Q = Σ (yᵢ − ȳ)²/vᵢ = 2·(2e-150)²/1e-300 = 8.
    assert!(close(fit.q, 8.0, IDENTITY, 0.0), "Q {}", fit.q);
    assert!(fit.is_finite() && fit.notes().next().is_none());
    // Subnormal variances: the sum of weights 1/vᵢ itself overflows, which
    // is an error naming the study.
    let err = rma(
        &[0.0, 1e-162],
        &[f64::from_bits(3); 2],
        &opts(Method::FE, TestKind::Z),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("study 1 (row 1)"), "{err}");
    // Effects 1e300 apart with unit variances: Q overflows; the error names
    // a study.
    let err = rma(
        &[1e300, -1e300, 0.0],
        &[1.0, 1.0, 1.0],
        &opts(Method::FE, TestKind::Z),
    )
    .unwrap_err();
    assert!(err.to_string().contains("study "), "{err}");
}

/// Through the command, a study that cannot be pooled is named at its
/// `file:line` with the fix on its own line (issue #14: "an error that names
/// file:line of the study concerned"), and the exit code is not 0.
#[test]
fn a_study_that_cannot_be_pooled_is_named_at_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // A blank line and a comment-free header: the overflowing study is on
    // line 4.
    let path = dir.path().join("big.csv");
    std::fs::write(&path, "study,yi,vi\nA,0.2,0.1\n\nB,1e300,0.1\nC,0.3,0.2\n").unwrap();
    let out = common::spotmeta()
        .args(["rma", "--method", "FE"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:4: study 2 (B): ", path.display())),
        "{err}"
    );
    assert!(err.contains("\n  fix: "), "{err}");
}
