//! `spotmeta report`: the committed `reports/` is exactly what the command
//! produces from the committed dataset (every file byte for byte, PNGs
//! included), runs are deterministic, and failures write nothing.
//!
//! After an intended change, regenerate with `cargo run --release -- report`.

mod common;

use common::spotmeta;
use std::fs;

const FILES: [&str; 6] = [
    "report.png",
    "forest.png",
    "forest.svg",
    "funnel.png",
    "results.json",
    "summary.md",
];

#[test]
fn committed_reports_match_a_fresh_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    spotmeta()
        .current_dir(common::root())
        .args(["report", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    for f in FILES {
        let fresh = fs::read(dir.path().join(f)).unwrap();
        let committed = fs::read(common::root().join("reports").join(f))
            .unwrap_or_else(|e| panic!("reports/{f}: {e}; run `cargo run --release -- report`"));
        assert!(
            fresh == committed,
            "reports/{f} is stale: run `cargo run --release -- report` and commit the result"
        );
    }
}

#[test]
fn report_json_has_the_rma_keys_and_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    spotmeta()
        .current_dir(common::root())
        .args(["report", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    for key in [
        "k", "estimate", "ci_lb", "ci_ub", "tau2", "I2", "Q", "Q_pval", "used", "left_out",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["rows"], 42);
    assert_eq!(v["search_date"], "2026-11-23");
    assert_eq!(
        v["used"].as_array().unwrap().len() + v["left_out"].as_array().unwrap().len(),
        42
    );
}

#[test]
fn report_on_a_generic_table_works() {
    let dir = tempfile::tempdir().unwrap();
    spotmeta()
        .arg("report")
        .arg(common::dataset("colditz1994_bcg.csv"))
        .arg("--out")
        .arg(dir.path())
        .assert()
        .success();
    for f in FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("k = 13"));
}

#[test]
fn report_fails_on_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    fs::write(&bad, "slab,yi,vi\na,0.1,-1\n").unwrap();
    let out = dir.path().join("out");
    spotmeta()
        .arg("report")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("must be positive"));
    assert!(!out.exists());
}
