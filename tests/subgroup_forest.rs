//! `forest --by`: the plot's footer carries metafor's test for subgroup
//! differences, Q_M of `rma(yi, vi, mods = ~ factor(alloc), method, test)` on
//! dat.bcg, against R metafor 3.8.1 (`tests/conformance/fixtures/formula.json`,
//! `subgroup`, made by `tests/conformance/make_formula_fixtures.R`). The
//! footer prints Q_M to 2 decimals, so the statistic is compared as printed;
//! the library value itself is checked at `METAFOR_REL` in `tests/formula.rs`.

mod common;

use common::spotmeta;
use serde_json::Value;
use spotmeta::output::forest::{ForestSpec, forest_data};
use spotmeta::output::layout::ForestStudy;
use spotmeta::output::style::p_clause;
use spotmeta::{Method, TestKind, rma};
use std::fmt::Write;

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The footer line metafor's numbers give.
fn expected_line(want: &Value) -> String {
    let (qm, p) = (want["QM"].as_f64().unwrap(), want["QMp"].as_f64().unwrap());
    let df = &want["QMdf"];
    match df[1].as_u64() {
        Some(df2) => format!(
            "Test for subgroup differences: F = {qm:.2}, df = ({}, {df2}), {}.",
            df[0],
            p_clause(Some(p))
        ),
        None => format!(
            "Test for subgroup differences: Q_M = {qm:.2}, df = {}, {}.",
            df[0],
            p_clause(Some(p))
        ),
    }
}

#[test]
fn forest_by_footer_prints_metafor_qm_for_each_estimator_and_test() {
    let f = common::read_json("formula.json");
    let (yi, vi) = (nums(&f["data"]["yi"]), nums(&f["data"]["vi"]));
    let alloc: Vec<String> = f["data"]["alloc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    for want in f["subgroup"].as_array().unwrap() {
        let method: Method = want["method"].as_str().unwrap().parse().unwrap();
        let test: TestKind = want["test"].as_str().unwrap().parse().unwrap();
        let opts = common::opts(method, test);
        let fit = rma(&yi, &vi, &opts).unwrap();
        let studies = (0..yi.len())
            .map(|i| ForestStudy::new(format!("T{}", i + 1), None, yi[i], vi[i]))
            .collect();
        let data = forest_data(studies, Some(&alloc), &fit, &opts, &ForestSpec::default()).unwrap();
        assert_eq!(
            data.footer.last().unwrap(),
            &expected_line(want),
            "{method} {test}"
        );
    }
}

#[test]
fn forest_without_by_has_no_subgroup_test() {
    let f = common::read_json("formula.json");
    let (yi, vi) = (nums(&f["data"]["yi"]), nums(&f["data"]["vi"]));
    let opts = common::opts(Method::REML, TestKind::Z);
    let fit = rma(&yi, &vi, &opts).unwrap();
    let studies = (0..yi.len())
        .map(|i| ForestStudy::new(format!("T{}", i + 1), None, yi[i], vi[i]))
        .collect();
    let data = forest_data(studies, None, &fit, &opts, &ForestSpec::default()).unwrap();
    assert!(data.footer.iter().all(|l| !l.contains("subgroup")));
}

#[test]
fn forest_by_cli_draws_the_subgroup_test_in_the_svg() {
    let f = common::read_json("formula.json");
    let mut csv = String::from("slab,yi,vi,alloc\n");
    for i in 0..13 {
        writeln!(
            csv,
            "T{},{},{},{}",
            i + 1,
            f["data"]["yi"][i],
            f["data"]["vi"][i],
            f["data"]["alloc"][i].as_str().unwrap()
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bcg.csv");
    std::fs::write(&data, csv).unwrap();
    let out = dir.path().join("forest.svg");
    spotmeta()
        .arg("forest")
        .arg(&data)
        .args(["--by", "alloc", "--out"])
        .arg(&out)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&out).unwrap();
    // REML, z (metafor's defaults for a plain table).
    let want = &f["subgroup"][0];
    assert_eq!(
        (want["method"].as_str(), want["test"].as_str()),
        (Some("REML"), Some("z"))
    );
    assert!(
        svg.contains(&expected_line(want)),
        "{}",
        expected_line(want)
    );
}
