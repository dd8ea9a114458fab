//! Tests for subgroup differences under the three-level model (issue #18,
//! `rma --multilevel CLUSTER --by COL`) against metafor 3.8.1 on
//! dat.konstantopoulos2011 (`fixtures/subgroup_multilevel.json`, made by
//! `tests/conformance/make_subgroup_multilevel_fixtures.R`):
//!
//! * Q_M of `rma.mv(yi, vi, mods = ~ factor(by), random = ~ 1 |
//!   district/school)` (z: χ²; `test = "t"`: F with (G − 1, k − G) df);
//! * the separate three-level fits per subgroup (what the three-level forest
//!   draws for `--by`) and the Wald-type test of their estimates,
//!   `rma(est, sei = se, mods = ~ group, method = "FE")`.
//!
//! metafor fits rma.mv with nlminb (`rel.tol = 1e-10`), so σ² and what
//! depends on them are compared at `RMA_MV_REL` (tests/common/tol.rs).

mod common;

use common::tol::{RMA_MV_REL, close};
use serde_json::Value;
use spotmeta::analysis::subgroup::{subgroup_qm_multilevel, subgroups_multilevel};
use spotmeta::model::multilevel::Clusters;
use spotmeta::{RmaOptions, TestKind};

/// Absolute floor for p-values and σ² near 0 (σ²₂ of a subgroup can sit
/// on the boundary, where nlminb stops a little above it).
const RMA_MV_ABS: f64 = 1e-6;

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn check(what: &str, got: f64, want: f64) {
    assert!(
        close(got, want, RMA_MV_REL, RMA_MV_ABS),
        "{what}: got {got}, metafor {want}"
    );
}

#[test]
fn three_level_qm_matches_metafor_rma_mv_with_factor_moderator() {
    let fx = common::read_json("subgroup_multilevel.json");
    let (yi, vi) = (nums(&fx["yi"]), nums(&fx["vi"]));
    let cl = Clusters::from_labels(&strings(&fx["district"]));
    for case in fx["cases"].as_array().unwrap() {
        let by = case["by"].as_str().unwrap();
        let labels = strings(&case["labels"]);
        for (test, kind) in [("z", TestKind::Z), ("t", TestKind::Knha)] {
            let opts = RmaOptions {
                test: kind,
                ..RmaOptions::default()
            }
            .check()
            .unwrap();
            let got = subgroup_qm_multilevel(&yi, &vi, &labels, &cl, &opts).unwrap();
            let want = &case["joint"][test];
            check(
                &format!("{by} {test} QM"),
                got.qm,
                want["QM"].as_f64().unwrap(),
            );
            check(
                &format!("{by} {test} QMp"),
                got.qm_pval,
                want["QMp"].as_f64().unwrap(),
            );
            assert_eq!(got.qm_df.0 as f64, want["QMdf"][0].as_f64().unwrap());
            assert_eq!(got.qm_df.1.map(|d| d as f64), want["QMdf"][1].as_f64());
            for (s, w) in got.sigma2.iter().zip(nums(&want["sigma2"])) {
                check(&format!("{by} {test} sigma2"), *s, w);
            }
        }
    }
}

#[test]
fn separate_three_level_subgroups_and_their_wald_test_match_metafor() {
    let fx = common::read_json("subgroup_multilevel.json");
    let (yi, vi) = (nums(&fx["yi"]), nums(&fx["vi"]));
    let district = strings(&fx["district"]);
    let opts = RmaOptions::default().check().unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let by = case["by"].as_str().unwrap();
        let labels = strings(&case["labels"]);
        let got = subgroups_multilevel(&yi, &vi, &labels, &district, &opts).unwrap();
        let want = case["groups"].as_array().unwrap();
        assert_eq!(got.groups.len(), want.len(), "{by}: subgroups");
        for (g, w) in got.groups.iter().zip(want) {
            assert_eq!(g.name, w["name"].as_str().unwrap(), "{by}: order");
            assert_eq!(g.members.len() as u64, w["k"].as_u64().unwrap());
            assert_eq!(
                g.fit.is_some(),
                w["fitted"].as_bool().unwrap(),
                "{by} {}",
                g.name
            );
            if let Some(f) = &g.fit {
                check(
                    &format!("{by} {} beta", g.name),
                    f.beta[0],
                    w["beta"].as_f64().unwrap(),
                );
                check(
                    &format!("{by} {} se", g.name),
                    f.se[0],
                    w["se"].as_f64().unwrap(),
                );
                for (s, ws) in f.sigma2.iter().zip(nums(&w["sigma2"])) {
                    check(&format!("{by} {} sigma2", g.name), *s, ws);
                }
            }
        }
        match case["separate"].as_object() {
            Some(sep) => {
                check(
                    &format!("{by} Q_between"),
                    got.q_between.unwrap(),
                    sep["QM"].as_f64().unwrap(),
                );
                check(
                    &format!("{by} Q_between p"),
                    got.q_between_pval.unwrap(),
                    sep["QMp"].as_f64().unwrap(),
                );
                assert_eq!(got.q_between_df as f64, sep["QMdf"][0].as_f64().unwrap());
            }
            // metafor's Wald test needs every subgroup's estimate.
            None => assert!(got.q_between.is_none(), "{by}: not every subgroup fits"),
        }
    }
}

fn run_ok(args: &[&str]) -> String {
    let out = common::spotmeta().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rma_by_with_multilevel_prints_each_subgroup_and_metafor_qm() {
    let k = common::dataset("konstantopoulos2011.csv")
        .display()
        .to_string();
    let args = ["rma", &k, "--multilevel", "district/school", "--by", "year"];
    let text = run_ok(&args);
    // metafor: QM = 1.58216435973878, QMp = 0.903397744012713 (fixture,
    // `year` case, z), printed with 4 decimals.
    assert!(
        text.contains("QM(df = 5) = 1.5822, p-val = .9034"),
        "{text}"
    );
    assert!(text.contains("1989                4  not fitted"), "{text}");
    let json: Value =
        serde_json::from_str(&run_ok(&[&args[..], &["--format", "json"]].concat())).unwrap();
    let want = &common::read_json("subgroup_multilevel.json")["cases"][0]["joint"]["z"];
    assert_eq!(json["model"], "rma.mv");
    check(
        "CLI QM",
        json["test"]["QM"].as_f64().unwrap(),
        want["QM"].as_f64().unwrap(),
    );
    assert_eq!(json["groups"].as_array().unwrap().len(), 6);
    assert!(json["test_separate"]["not_computed"].is_string());
}

#[test]
fn rma_by_without_multilevel_matches_the_library_subgroup_tests() {
    use spotmeta::analysis::subgroup::{subgroup_qm, subgroups};
    let b = common::dataset("colditz1994_bcg.csv");
    let json: Value = serde_json::from_str(&run_ok(&[
        "rma",
        &b.display().to_string(),
        "--by",
        "year",
        "--format",
        "json",
    ]))
    .unwrap();
    let table = spotmeta::data::Table::read(&b).unwrap();
    let yi = table.numeric_required("yi").unwrap();
    let vi = table.numeric_required("vi").unwrap();
    let years: Vec<String> = table
        .text("year")
        .unwrap()
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    let opts = RmaOptions::default().check().unwrap();
    let qm = subgroup_qm(&yi, &vi, &years, &opts).unwrap();
    let sep = subgroups(&yi, &vi, &years, &opts).unwrap();
    assert_eq!(json["model"], "rma");
    assert_eq!(json["test"]["QM"].as_f64().unwrap(), qm.qm);
    assert_eq!(json["test_separate"]["QM"].as_f64(), sep.q_between);
    assert_eq!(json["groups"].as_array().unwrap().len(), sep.groups.len());
}

#[test]
fn rma_by_refuses_mods_and_names_the_moderator_alternative() {
    let b = common::dataset("colditz1994_bcg.csv").display().to_string();
    let out = common::spotmeta()
        .args(["rma", &b, "--by", "year", "--mods", "~ ablat"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--by fits the model within each subgroup"),
        "{stderr}"
    );
}

/// The three-level forest plot with `--by` gives the same Q_M in its footer
/// (REML, z, as its subgroup fits): tests/fixtures/three_level.csv, all
/// outcomes primary with `--min-cr2-df 3.9`, by design.
#[test]
fn three_level_forest_by_prints_the_three_level_qm_in_its_footer() {
    use spotmeta::analysis::multilevel_primary::all_outcomes;
    let path = common::root().join("tests/fixtures/three_level.csv");
    let ds = spotmeta::data::load_spot(&path).unwrap();
    let opts = RmaOptions::default().check().unwrap();
    let rules = spotmeta::analysis::rules::ReviewRules::default();
    let a = all_outcomes(&ds, &Default::default(), &opts, &rules).unwrap();
    let (yi, vi): (Vec<f64>, Vec<f64>) = a.rows.iter().map(|u| (u.effect.yi, u.effect.vi)).unzip();
    let clusters: Vec<String> = a.rows.iter().map(|u| u.study_id.clone()).collect();
    let design: Vec<String> = a
        .rows
        .iter()
        .map(|u| {
            let row = ds.rows.iter().find(|r| r.line == u.line).unwrap();
            row.design.unwrap().to_string()
        })
        .collect();
    let want = subgroup_qm_multilevel(&yi, &vi, &design, &Clusters::from_labels(&clusters), &opts)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("forest.svg");
    common::spotmeta()
        .arg("forest")
        .arg(&path)
        .args(["--min-cr2-df", "3.9", "--by", "design", "--out"])
        .arg(&out)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&out).unwrap();
    let line = format!(
        "Test for subgroup differences (three-level model, one shared \u{3c3}\u{b2}): Q_M = {:.2}, df = 1",
        want.qm
    );
    assert!(svg.contains(&line), "{line} not in the SVG");
}
