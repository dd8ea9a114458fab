//! `spotmeta simulate` (issue #7): the simulated data sets are reproducible
//! from the seed (byte for byte against the committed
//! `tests/fixtures/simulate_k5.csv`), and on those 200 data sets metafor 3.8.1
//! gives the same coverage counts, mean widths and mean τ̂²
//! (`tests/conformance/make_simulate_fixtures.R`: `rma(method = "REML"/"DL",
//! test = "z"/"knha"/"adhoc")` and `predict()` per data set).

mod common;

use common::tol::close_metafor;
use serde_json::Value;
use std::fs;

const ARGS: [&str; 11] = [
    "simulate", "--k", "5", "--tau2", "0.1", "--mu", "0.2", "--reps", "200", "--seed", "1",
];

fn run(method: &str, extra: &[&str]) -> Value {
    let out = common::spotmeta()
        .args(ARGS)
        .args(["--method", method, "--format", "json"])
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn simulated_data_are_reproducible_from_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    run("REML", &["--write-data", path.to_str().unwrap()]);
    let fresh = fs::read(&path).unwrap();
    let committed = fs::read(common::root().join("tests/fixtures/simulate_k5.csv")).unwrap();
    assert!(
        fresh == committed,
        "simulated data changed: the generator or its seeding is no longer the one the metafor fixture was made from"
    );
}

#[test]
fn coverage_matches_metafor_on_the_same_data_sets() {
    let want = common::read_json("simulate.json");
    for case in want["cases"].as_array().unwrap() {
        let method = case["method"].as_str().unwrap();
        let got = run(method, &[]);
        assert_eq!(got["failures"], 0);
        for kind in ["ci", "pi"] {
            for (i, c) in got[kind].as_array().unwrap().iter().enumerate() {
                assert_eq!(c["fits"], case["fits"], "{method} {kind} {}", c["test"]);
                assert_eq!(
                    c["covered"],
                    case[format!("{kind}_covered")][i],
                    "{method} {kind} {}",
                    c["test"]
                );
                let w = case[format!("{kind}_mean_width")][i].as_f64().unwrap();
                assert!(
                    close_metafor(c["mean_width"].as_f64().unwrap(), w),
                    "{method} {kind} width {i}"
                );
            }
        }
        assert!(close_metafor(
            got["tau2_mean"].as_f64().unwrap(),
            case["tau2_mean"].as_f64().unwrap()
        ));
        assert_eq!(got["tau2_zero"], case["tau2_zero"]);
    }
}

#[test]
fn bad_arguments_exit_non_zero_with_the_reason() {
    common::spotmeta()
        .args(["simulate", "--k", "1", "--tau2", "0.1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--k"));
    common::spotmeta()
        .args(["simulate", "--k", "5", "--tau2", "0.1", "--vi", "0.1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("MIN,MAX"));
}
