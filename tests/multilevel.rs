//! Three-level model and CR2 cluster-robust inference (issue #8) against
//! metafor 3.8.1 `rma.mv(yi, vi, random = ~ 1 | cluster/id)` with `confint()`
//! profile CIs, and `robust(..., clubSandwich = TRUE)` (clubSandwich 0.5.8),
//! on dat.konstantopoulos2011 (with and without the moderator `year`) and
//! dat.bcg clustered by allocation (`fixtures/multilevel.json`, made by
//! `tests/conformance/make_multilevel_fixtures.R`).
//!
//! metafor fits rma.mv with nlminb (`rel.tol = 1e-10`), so its σ² carry that
//! optimiser's error; σ² and everything depending on them are compared at
//! `OPTIMISER_REL` = 1e-5 (our REML maximum is reached to 1e-12).

mod common;

use common::tol::{close, close_metafor};
use serde_json::Value;
use spotmeta::model::multilevel::{Clusters, rma_multilevel};
use spotmeta::model::robust::{robust_multilevel, robust_univariate};
use spotmeta::model::{Design, Method, RmaOptions, rma_mods};

/// metafor's nlminb stops at a relative tolerance of 1e-10 on the objective,
/// which leaves the variance components accurate to about 1e-6..1e-5.
const OPTIMISER_REL: f64 = 1e-5;

/// An array of numbers (jsonlite writes a length-1 vector as a scalar).
fn nums(v: &Value) -> Vec<f64> {
    match v.as_array() {
        Some(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        None => vec![v.as_f64().unwrap()],
    }
}

fn cases() -> Vec<Value> {
    common::read_json("multilevel.json")["cases"]
        .as_array()
        .unwrap()
        .clone()
}

fn setup(c: &Value) -> (Vec<f64>, Vec<f64>, Design, Clusters) {
    let (yi, vi) = (nums(&c["yi"]), nums(&c["vi"]));
    let rows = c["X"].as_array().unwrap();
    let p = rows[0].as_array().unwrap().len();
    let names = (0..p).map(|j| format!("x{j}")).collect();
    let x = Design {
        k: rows.len(),
        p,
        x: rows.iter().flat_map(nums).collect(),
        names,
    };
    let labels: Vec<String> = c["cluster"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (yi, vi, x, Clusters::from_labels(&labels))
}

fn all_close(name: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{name}");
    for (g, w) in got.iter().zip(want) {
        assert!(close(*g, *w, rel, 1e-8), "{name}: {g} vs metafor {w}");
    }
}

#[test]
fn three_level_reml_matches_rma_mv() {
    for c in cases() {
        let (yi, vi, x, cl) = setup(&c);
        let fit =
            rma_multilevel(&yi, &vi, &x, &cl, &RmaOptions::default().check().unwrap()).unwrap();
        let m = &c["multilevel"];
        let name = c["name"].as_str().unwrap();
        all_close(
            &format!("{name} sigma2"),
            &fit.sigma2,
            &nums(&m["sigma2"]),
            OPTIMISER_REL,
        );
        all_close(
            &format!("{name} beta"),
            &fit.beta,
            &nums(&m["beta"]),
            OPTIMISER_REL,
        );
        all_close(
            &format!("{name} se"),
            &fit.se,
            &nums(&m["se"]),
            OPTIMISER_REL,
        );
        all_close(
            &format!("{name} ci.lb"),
            &fit.ci_lb,
            &nums(&m["ci.lb"]),
            OPTIMISER_REL,
        );
        assert!(
            close_metafor(fit.qe, m["QE"].as_f64().unwrap()),
            "{name} QE"
        );
        assert!(
            close(fit.loglik, m["logLik"].as_f64().unwrap(), 1e-9, 1e-9),
            "{name} logLik {} vs {}",
            fit.loglik,
            m["logLik"]
        );
        for (s, want) in m["sigma2_ci"].as_array().unwrap().iter().enumerate() {
            if want.is_null() {
                continue;
            }
            let (lb, ub) =
                fit.sigma2_ci[s].unwrap_or_else(|| panic!("{name}: no CI for sigma2[{s}]"));
            let w = nums(want);
            assert!(
                close(lb, w[0], 1e-4, 1e-6) && close(ub, w[1], 1e-4, 1e-6),
                "{name} sigma2[{s}] CI ({lb}, {ub}) vs {w:?}"
            );
        }
    }
}

#[test]
fn cr2_matches_clubsandwich_for_multilevel_and_univariate_fits() {
    for c in cases() {
        let (yi, vi, x, cl) = setup(&c);
        let name = c["name"].as_str().unwrap();
        let opts = RmaOptions::default().check().unwrap();
        let fit = rma_multilevel(&yi, &vi, &x, &cl, &opts).unwrap();
        let r = robust_multilevel(&yi, &vi, &x, &cl, &fit).unwrap();
        let w = &c["robust_multilevel"];
        all_close(
            &format!("{name} CR2 se"),
            &r.se,
            &nums(&w["se"]),
            OPTIMISER_REL,
        );
        all_close(
            &format!("{name} CR2 df"),
            &r.df,
            &nums(&w["df"]),
            OPTIMISER_REL,
        );
        all_close(
            &format!("{name} CR2 pval"),
            &r.pval,
            &nums(&w["pval"]),
            OPTIMISER_REL,
        );
        all_close(
            &format!("{name} CR2 ci.ub"),
            &r.ci_ub,
            &nums(&w["ci.ub"]),
            OPTIMISER_REL,
        );

        // Univariate REML fit (metafor rma(), threshold 1e-12) + CR2.
        let uni = rma_mods(&yi, &vi, &x, &opts.with_method(Method::REML));
        let tau2 = match uni {
            Ok(f) => f.tau2,
            Err(_) => spotmeta::rma(&yi, &vi, &opts).unwrap().tau2,
        };
        let tau2 = if x.p == 1 {
            spotmeta::rma(&yi, &vi, &opts).unwrap().tau2
        } else {
            tau2
        };
        assert!(
            close_metafor(tau2, c["univariate"]["tau2"].as_f64().unwrap()),
            "{name} tau2"
        );
        let r = robust_univariate(&yi, &vi, &x, &cl, tau2, 0.95).unwrap();
        let w = &c["robust_univariate"];
        all_close(&format!("{name} uni CR2 se"), &r.se, &nums(&w["se"]), 1e-6);
        all_close(&format!("{name} uni CR2 df"), &r.df, &nums(&w["df"]), 1e-6);
        all_close(
            &format!("{name} uni CR2 ci.lb"),
            &r.ci_lb,
            &nums(&w["ci.lb"]),
            1e-6,
        );
    }
}

/// I² by level, metafor FAQ ("I² for multilevel models"): with W = diag(1/vᵢ),
/// P = W − WX(XᵀWX)⁻¹XᵀW and s² = (k − p)/tr P, I² = 100·Σσ²/(Σσ² + s²).
/// R on the rma.mv fit of dat.konstantopoulos2011 prints 95.1873137225131
/// (total), 63.3248378205840 and 31.8624759019292 (by level); the σ² carry
/// metafor's optimiser error, hence `OPTIMISER_REL`.
#[test]
fn i2_is_split_by_level_as_metafor_faq() {
    let c = &cases()[0];
    let (yi, vi, x, cl) = setup(c);
    let fit = rma_multilevel(&yi, &vi, &x, &cl, &RmaOptions::default().check().unwrap()).unwrap();
    all_close(
        "I2",
        &fit.i2,
        &[
            95.187_313_722_513_1,
            63.324_837_820_584,
            31.862_475_901_929_2,
        ],
        OPTIMISER_REL,
    );
}

#[test]
fn cli_multilevel_with_robust_prints_clubsandwich_numbers() {
    use predicates::prelude::*;
    common::spotmeta()
        .arg("rma")
        .arg(common::dataset("konstantopoulos2011.csv"))
        .args(["--multilevel", "district/school", "--robust", "district"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sigma^2.1    0.0651"))
        .stdout(predicate::str::contains(
            "0.0845    2.1870    9.86    .0540    -0.0038     0.3733",
        ));
    common::spotmeta()
        .arg("rma")
        .arg(common::dataset("konstantopoulos2011.csv"))
        .args(["--multilevel", "district/year"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("repeats within cluster"));
}

/// metafor: `aggregate(escalc(yi=yi, vi=vi, data=dat.konstantopoulos2011),
/// cluster = district, rho = 0.6)` — first three districts (11, 12, 18):
/// yi −0.14977022079328037, −0.0077433451401838172, 0.31020783772204386;
/// vi 0.08947200797286553, 0.010456272490823537, 0.011444697040249486.
/// With rho = 0 the first two: −0.12568702290076336 (0.03242748091603053),
/// 0.06654028436018955 (0.0039810426540284353).
#[test]
fn aggregate_matches_metafor_compound_symmetry() {
    use spotmeta::analysis::aggregate::aggregate;
    let c = &cases()[0];
    let (yi, vi, _, cl) = setup(c);
    let a = aggregate(&yi, &vi, &cl, 0.6).unwrap();
    // metafor sorts clusters by label; ours keep first appearance, which here is the same order.
    let want = [
        (-0.149_770_220_793_280_37, 0.089_472_007_972_865_53),
        (-0.007_743_345_140_183_817, 0.010_456_272_490_823_537),
        (0.310_207_837_722_043_86, 0.011_444_697_040_249_486),
    ];
    for (g, (y, v)) in a.iter().zip(want) {
        assert!(
            close_metafor(g.yi, y) && close_metafor(g.vi, v),
            "{}: {} {}",
            g.cluster,
            g.yi,
            g.vi
        );
    }
    let a0 = aggregate(&yi, &vi, &cl, 0.0).unwrap();
    assert!(
        close_metafor(a0[0].yi, -0.125_687_022_900_763_36)
            && close_metafor(a0[1].vi, 0.003_981_042_654_028_435)
    );
    assert!(aggregate(&yi, &vi, &cl, 1.0).is_err());
}

/// On the spot dataset, `--multilevel` / `--robust` pool every outcome
/// (primary or not): tests/fixtures/three_level.csv has 10 outcomes from 5
/// studies. Reference: tests/conformance/make_three_level_report_fixtures.R
/// (metafor 3.8.1 rma.mv + robust(clubSandwich = TRUE), clubSandwich 0.5.8).
#[test]
fn cli_multilevel_on_the_spot_schema_pools_every_outcome() {
    let want = common::read_json("three_level_report.json");
    let out = common::spotmeta()
        .current_dir(common::root())
        .args([
            "rma",
            "tests/fixtures/three_level.csv",
            "--multilevel",
            "study_id",
            "--robust",
            "study_id",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["k"], 10);
    assert_eq!(v["clusters"], 5);
    all_close(
        "sigma2",
        &nums(&v["sigma2"]),
        &nums(&want["sigma2"]),
        OPTIMISER_REL,
    );
    all_close(
        "CR2 se",
        &nums(&v["robust"]["se"]),
        &nums(&want["robust"]["se"]),
        OPTIMISER_REL,
    );
    all_close(
        "CR2 df",
        &nums(&v["robust"]["ddf"]),
        &nums(&want["robust"]["df"]),
        OPTIMISER_REL,
    );
}
