//! Analyses on fitted models against R metafor 3.8.1
//! (`tests/conformance/fixtures/analysis.json`, made by
//! `tests/conformance/make_analysis_fixtures.R`): `leave1out`, `influence`,
//! `cumul`, `rma(mods=)` with `predict(newmods=)`, `regtest`, `trimfill` and
//! `permutest`. Tolerance `METAFOR_REL` unless a comment says otherwise.

mod common;

use common::tol::close_metafor;
use serde_json::Value;
use spotmeta::analysis::{cumul, influence, leave1out};
use spotmeta::model::{Design, predict_mods, rma_mods};
use spotmeta::{Method, TestKind, rma};

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn datasets() -> Vec<Value> {
    common::read_json("analysis.json")["datasets"]
        .as_array()
        .unwrap()
        .clone()
}

use common::opts;

fn assert_all(name: &str, got: &[f64], want: &Value) {
    let want = nums(want);
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(close_metafor(*g, *w), "{name}[{i}]: {g} vs metafor {w}");
    }
}

#[test]
fn leave1out_matches_metafor_for_z_and_knha() {
    let mut n = 0;
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        for test in [TestKind::Z, TestKind::Knha] {
            let want = &d["leave1out"][test.as_str()];
            let l = leave1out::leave1out(&yi, &vi, &opts(Method::REML, test)).unwrap();
            let name = format!("{} {test}", d["dataset"]);
            assert_all(
                &format!("{name} estimate"),
                &l.iter().map(|x| x.estimate).collect::<Vec<_>>(),
                &want["estimate"],
            );
            assert_all(
                &format!("{name} se"),
                &l.iter().map(|x| x.se).collect::<Vec<_>>(),
                &want["se"],
            );
            assert_all(
                &format!("{name} ci.ub"),
                &l.iter().map(|x| x.ci_ub).collect::<Vec<_>>(),
                &want["ci.ub"],
            );
            assert_all(
                &format!("{name} pval"),
                &l.iter().map(|x| x.pval.unwrap()).collect::<Vec<_>>(),
                &want["pval"],
            );
            assert_all(
                &format!("{name} Q"),
                &l.iter().map(|x| x.q).collect::<Vec<_>>(),
                &want["Q"],
            );
            assert_all(
                &format!("{name} tau2"),
                &l.iter().map(|x| x.tau2).collect::<Vec<_>>(),
                &want["tau2"],
            );
            assert_all(
                &format!("{name} I2"),
                &l.iter().map(|x| x.i2.unwrap()).collect::<Vec<_>>(),
                &want["I2"],
            );
            n += l.len();
        }
    }
    assert!(n > 100, "compared {n} refits");
}

#[test]
fn influence_diagnostics_match_metafor() {
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        let o = opts(Method::REML, TestKind::Z);
        let fit = rma(&yi, &vi, &o).unwrap();
        let inf = influence::influence(&yi, &vi, &fit, &o).unwrap();
        let want = &d["influence"];
        let name = d["dataset"].as_str().unwrap();
        let col = |f: fn(&influence::Influence) -> f64| inf.iter().map(f).collect::<Vec<_>>();
        assert_all(
            &format!("{name} rstudent"),
            &col(|x| x.rstudent),
            &want["rstudent"],
        );
        assert_all(
            &format!("{name} dffits"),
            &col(|x| x.dffits),
            &want["dffits"],
        );
        assert_all(
            &format!("{name} cook.d"),
            &col(|x| x.cook_d),
            &want["cook.d"],
        );
        assert_all(&format!("{name} cov.r"), &col(|x| x.cov_r), &want["cov.r"]);
        assert_all(
            &format!("{name} tau2.del"),
            &col(|x| x.tau2_del),
            &want["tau2.del"],
        );
        assert_all(
            &format!("{name} QE.del"),
            &col(|x| x.q_del),
            &want["QE.del"],
        );
        assert_all(&format!("{name} hat"), &col(|x| x.hat), &want["hat"]);
        assert_all(
            &format!("{name} weight"),
            &col(|x| x.weight),
            &want["weight"],
        );
        assert_all(&format!("{name} dfbs"), &col(|x| x.dfbs), &want["dfbs"]);
        let infl: Vec<bool> = want["is.infl"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect();
        assert_eq!(
            inf.iter().map(|x| x.is_infl).collect::<Vec<_>>(),
            infl,
            "{name} is.infl"
        );
    }
}

#[test]
fn cumulative_fits_match_metafor_in_its_order() {
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        let want = &d["cumul"];
        // metafor's order (1-based); ties in year keep dataset order, as order_by does.
        let order: Vec<usize> = want["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize - 1)
            .collect();
        if d["year"].is_array() {
            let years = nums(&d["year"]);
            assert_eq!(cumul::order_by(&years), order, "{} order", d["dataset"]);
        }
        let c = cumul::cumul(&yi, &vi, &order, &opts(Method::REML, TestKind::Z)).unwrap();
        let name = d["dataset"].as_str().unwrap();
        assert_all(
            &format!("{name} estimate"),
            &c.iter().map(|x| x.estimate).collect::<Vec<_>>(),
            &want["estimate"],
        );
        assert_all(
            &format!("{name} ci.lb"),
            &c.iter().map(|x| x.ci_lb).collect::<Vec<_>>(),
            &want["ci.lb"],
        );
        assert_all(
            &format!("{name} tau2"),
            &c.iter().map(|x| x.tau2).collect::<Vec<_>>(),
            &want["tau2"],
        );
        assert_all(
            &format!("{name} QE"),
            &c.iter().map(|x| x.q).collect::<Vec<_>>(),
            &want["QE"],
        );
    }
}

fn design_of(case: &Value) -> Design {
    let rows = case["X"].as_array().unwrap();
    let names: Vec<String> = case["colnames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let x: Vec<f64> = rows.iter().flat_map(nums).collect();
    Design {
        k: rows.len(),
        p: names.len(),
        x,
        names,
    }
}

#[test]
fn meta_regression_matches_metafor() {
    let mut n = 0;
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        for case in d["metareg"].as_array().unwrap() {
            let method: Method = case["method"].as_str().unwrap().parse().unwrap();
            let test: TestKind = case["test"].as_str().unwrap().parse().unwrap();
            let x = design_of(case);
            let fit = rma_mods(&yi, &vi, &x, &opts(method, test)).unwrap();
            let e = &case["expected"];
            let name = format!("{} {} {method} {test}", d["dataset"], case["formula"]);
            assert_all(&format!("{name} beta"), &fit.beta, &e["beta"]);
            assert_all(&format!("{name} se"), &fit.se, &e["se"]);
            assert_all(&format!("{name} zval"), &fit.zval, &e["zval"]);
            assert_all(&format!("{name} pval"), &fit.pval, &e["pval"]);
            assert_all(&format!("{name} ci.lb"), &fit.ci_lb, &e["ci.lb"]);
            let scalar = |k: &str| e[k].as_f64().unwrap();
            for (key, got) in [
                ("tau2", fit.tau2),
                ("I2", fit.i2),
                ("H2", fit.h2),
                ("QE", fit.qe),
                ("QEp", fit.qe_pval),
                ("QM", fit.qm),
                ("QMp", fit.qm_pval),
            ] {
                assert!(
                    close_metafor(got, scalar(key)),
                    "{name} {key}: {got} vs {}",
                    scalar(key)
                );
            }
            if let Some(w) = e["se.tau2"].as_f64() {
                assert!(close_metafor(fit.se_tau2.unwrap(), w), "{name} se.tau2");
            }
            if let Some(w) = e["R2"].as_f64() {
                assert!(
                    close_metafor(fit.r2.unwrap(), w),
                    "{name} R2: {:?} vs {w}",
                    fit.r2
                );
            }
            let pr = &e["predict"];
            let p = predict_mods(
                &fit,
                &nums(&pr["newmods"])
                    .into_iter()
                    .fold(vec![1.0], |mut v, x| {
                        v.push(x);
                        v
                    }),
            );
            for (key, got) in [
                ("pred", p.pred),
                ("se", p.se),
                ("ci.lb", p.ci_lb),
                ("pi.ub", p.pi_ub),
            ] {
                assert!(
                    close_metafor(got, pr[key].as_f64().unwrap()),
                    "{name} predict {key}"
                );
            }
            n += 1;
        }
    }
    assert_eq!(n, 30, "fixture has 30 meta-regressions");
}

#[test]
fn regtest_matches_metafor_rma_and_lm() {
    use spotmeta::analysis::regtest::{RegtestModel, regtest};
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        for (key, model, method) in [
            ("rma_REML", RegtestModel::Rma, Method::REML),
            ("rma_FE", RegtestModel::Rma, Method::FE),
            ("lm", RegtestModel::Lm, Method::REML),
        ] {
            let want = &d["regtest"][key];
            let r = regtest(&yi, &vi, model, &opts(method, TestKind::Z)).unwrap();
            let name = format!("{} {key}", d["dataset"]);
            for (k, got) in [
                ("zval", r.zval),
                ("pval", r.pval),
                ("est", r.est),
                ("ci.lb", r.ci_lb),
                ("ci.ub", r.ci_ub),
            ] {
                let w = want[k].as_f64().unwrap();
                assert!(close_metafor(got, w), "{name} {k}: {got} vs {w}");
            }
            assert_eq!(r.dfs.map(|d| d as u64), want["dfs"].as_u64(), "{name} dfs");
        }
    }
}

#[test]
fn trimfill_matches_metafor_l0() {
    use spotmeta::analysis::trimfill::{Side, trimfill};
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        for (key, method) in [("REML", Method::REML), ("FE", Method::FE)] {
            let want = &d["trimfill"][key];
            let t = trimfill(&yi, &vi, &opts(method, TestKind::Z)).unwrap();
            let name = format!("{} {key}", d["dataset"]);
            assert_eq!(t.k0 as u64, want["k0"].as_u64().unwrap(), "{name} k0");
            let side = if want["side"] == "right" {
                Side::Right
            } else {
                Side::Left
            };
            assert_eq!(t.side, side, "{name} side");
            assert!(
                close_metafor(t.se_k0, want["se.k0"].as_f64().unwrap()),
                "{name} se.k0"
            );
            // metafor's trimfill() runs its internal fits at its default
            // threshold (1e-5) whatever the fit's control list, so the filled
            // values and the refit are compared with the same L0 algorithm
            // replayed in R at full precision (`tight`, make_analysis_fixtures.R).
            let tight = &want["tight"];
            assert_eq!(
                t.k0 as u64,
                tight["k0"].as_u64().unwrap(),
                "{name} k0 (tight)"
            );
            for (k, got) in [
                ("estimate", t.fit.estimate),
                ("se", t.fit.se),
                ("ci.lb", t.fit.ci_lb),
                ("ci.ub", t.fit.ci_ub),
                ("tau2", t.fit.tau2),
                ("QE", t.fit.q),
            ] {
                let w = tight[k].as_f64().unwrap();
                assert!(close_metafor(got, w), "{name} {k}: {got} vs {w}");
            }
            assert_all(&format!("{name} fill_yi"), &t.fill_yi, &tight["fill_yi"]);
            assert_all(&format!("{name} fill_vi"), &t.fill_vi, &want["fill_vi"]);
        }
    }
}

/// metafor's `permutest(fit, iter = 1000)` p-values are Monte-Carlo
/// estimates, as are ours (10 000 permutations, seed 1): the difference of
/// two binomial proportions is compared against 4 standard errors.
#[test]
fn permutest_agrees_with_metafor_within_monte_carlo_error() {
    use spotmeta::analysis::permutest::permutest;
    let mut n = 0;
    for d in datasets() {
        let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
        for case in d["permutest"].as_array().unwrap() {
            let method: Method = case["method"].as_str().unwrap().parse().unwrap();
            let test: TestKind = case["test"].as_str().unwrap().parse().unwrap();
            let mr = d["metareg"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["formula"] == case["formula"])
                .unwrap();
            let x = design_of(mr);
            let o = opts(method, test);
            let fit = rma_mods(&yi, &vi, &x, &o).unwrap();
            let ours = permutest(&yi, &vi, &x, &fit, &o, 10_000, 1).unwrap();
            let r_iter = case["iter"].as_f64().unwrap();
            let within = |p_ours: f64, p_r: f64| {
                let p = (p_ours + p_r) / 2.0;
                let se = (p * (1.0 - p) * (1.0 / r_iter + 1.0 / 10_000.0)).sqrt();
                (p_ours - p_r).abs() <= 4.0 * se + 1.0 / r_iter
            };
            let qmp = case["QMp"].as_f64().unwrap();
            assert!(
                within(ours.qm_pval, qmp),
                "QMp {} vs metafor {qmp}",
                ours.qm_pval
            );
            for (j, w) in nums(&case["pval"]).iter().enumerate() {
                assert!(
                    within(ours.pval[j], *w),
                    "pval[{j}] {} vs metafor {w}",
                    ours.pval[j]
                );
            }
            n += 1;
        }
    }
    assert_eq!(n, 2);
}

/// With k! ≤ iter metafor runs the exact permutation test, and so do we:
/// `permutest(rma(yi, vi, mods = ~ ablat, data = dat.bcg[1:5, ]), iter = 1000)`
/// (metafor 3.8.1; 120 orderings) gives QMp = 0.016666666666666666 and
/// pval = 0.73333333333333328, 0.016666666666666666 — exact proportions, so
/// they must agree to rounding.
#[test]
fn small_permutation_tests_are_exact_as_metafor() {
    use spotmeta::analysis::permutest::permutest;
    let d = &datasets()[0];
    let (yi, vi) = (nums(&d["yi"]), nums(&d["vi"]));
    let ablat = nums(&d["moderators"]["ablat"]);
    let (yi, vi, ablat) = (&yi[..5], &vi[..5], &ablat[..5]);
    let x = Design::with_intercept(&[("ablat", ablat)]).unwrap();
    let o = opts(Method::REML, TestKind::Z);
    let fit = rma_mods(yi, vi, &x, &o).unwrap();
    let p = permutest(yi, vi, &x, &fit, &o, 1000, 1).unwrap();
    assert!(p.exact && p.iter == 120);
    assert!((p.qm_pval - 0.016_666_666_666_666_666).abs() < 1e-12);
    assert!(
        (p.pval[0] - 0.733_333_333_333_333_3).abs() < 1e-12
            && (p.pval[1] - 0.016_666_666_666_666_666).abs() < 1e-12
    );
}
