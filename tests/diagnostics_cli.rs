//! `spotmeta leave1out | influence | cumul | regtest | trimfill` on a plain
//! yi/vi table (datasets/colditz1994_bcg.csv) against R metafor 3.8.1
//! (`tests/conformance/fixtures/analysis.json`, dat.bcg entry, made by
//! `tests/conformance/make_analysis_fixtures.R`; issue #18). Tolerance
//! `METAFOR_REL`; p-values absolutely.

mod common;

use common::tol::close_metafor;
use serde_json::Value;

fn bcg_fixture() -> Value {
    common::read_json("analysis.json")["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == "dat.bcg")
        .unwrap()
        .clone()
}

fn run(args: &[&str]) -> Value {
    let bcg = common::dataset("colditz1994_bcg.csv");
    let out = common::spotmeta()
        .args(&args[..1])
        .arg(&bcg)
        .args(&args[1..])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Tables come as `{"schema", "command", "rows": [...]}`.
    match doc.get("rows") {
        Some(rows) => rows.clone(),
        None => doc,
    }
}

fn column(v: &Value, key: &str) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_f64().unwrap())
        .collect()
}

fn assert_all(name: &str, got: &[f64], want: &Value) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{name}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(close_metafor(*g, *w), "{name}[{i}]: {g} vs metafor {w}");
    }
}

#[test]
fn leave1out_on_a_plain_table_matches_metafor() {
    let want = &bcg_fixture()["leave1out"]["z"];
    let v = run(&["leave1out"]);
    assert_all("estimate", &column(&v, "beta"), &want["estimate"]);
    assert_all("tau2", &column(&v, "tau2"), &want["tau2"]);
    assert_eq!(v[0]["slab"], "Aronson 1948");
}

#[test]
fn influence_on_a_plain_table_matches_metafor() {
    let want = &bcg_fixture()["influence"];
    let v = run(&["influence"]);
    assert_all("rstudent", &column(&v, "rstudent"), &want["rstudent"]);
    assert_all("cook.d", &column(&v, "cook_d"), &want["cook.d"]);
    assert_all("dfbs", &column(&v, "dfbs"), &want["dfbs"]);
}

#[test]
fn cumul_orders_by_the_column_given() {
    let want = &bcg_fixture()["cumul"];
    assert_eq!(want["order_by"], "year");
    let v = run(&["cumul", "--order", "year"]);
    assert_all("estimate", &column(&v, "beta"), &want["estimate"]);
    assert_all("QE", &column(&v, "QE"), &want["QE"]);
}

#[test]
fn cumul_without_an_order_says_how_to_give_one() {
    common::spotmeta()
        .args([
            "cumul",
            common::dataset("colditz1994_bcg.csv").to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--order COLUMN"));
}

#[test]
fn regtest_on_a_plain_table_matches_metafor_rma_and_lm() {
    let f = bcg_fixture();
    for (args, key) in [
        (vec!["regtest"], "rma_REML"),
        (vec!["regtest", "--model-kind", "lm"], "lm"),
    ] {
        let want = &f["regtest"][key];
        let v = run(&args);
        assert!(
            close_metafor(v["zval"].as_f64().unwrap(), want["zval"].as_f64().unwrap()),
            "{key}"
        );
        assert!((v["pval"].as_f64().unwrap() - want["pval"].as_f64().unwrap()).abs() < 1e-8);
        assert!(close_metafor(
            v["est"].as_f64().unwrap(),
            want["est"].as_f64().unwrap()
        ));
    }
}

#[test]
fn trimfill_on_a_plain_table_matches_metafor() {
    // The `tight` block: metafor's trimfill() runs its internal fits at its
    // default threshold, so the reference is its L0 algorithm replayed in R
    // at full precision (make_analysis_fixtures.R; see tests/analysis.rs).
    let want = &bcg_fixture()["trimfill"]["REML"]["tight"];
    let v = run(&["trimfill"]);
    assert_eq!(v["k0"].as_f64(), want["k0"].as_f64());
    assert!(close_metafor(
        v["fit"]["beta"].as_f64().unwrap(),
        want["estimate"].as_f64().unwrap()
    ));
    assert!(close_metafor(
        v["fit"]["tau2"].as_f64().unwrap(),
        want["tau2"].as_f64().unwrap()
    ));
}
