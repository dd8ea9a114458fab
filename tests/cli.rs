//! Every subcommand from the outside: exit code, stdout, stderr (assert_cmd).

mod common;

use common::spotmeta;
use common::tol::close_metafor;
use predicates::prelude::*;
use std::fs;

fn bcg() -> std::path::PathBuf {
    common::dataset("colditz1994_bcg.csv")
}

#[test]
fn rma_json_on_the_bcg_demo_matches_metafor() {
    // metafor 3.8.1: rma(yi, vi, data = escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg))
    // estimate -0.7145323, tau2 0.3132433 (print(rma(...)) and confint at full precision
    // via fixtures/rma.json case "dat.bcg REML z").
    let out = spotmeta()
        .args(["rma"])
        .arg(bcg())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fx = common::read_json("rma.json");
    let case = fx
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["dataset"] == "dat.bcg" && c["method"] == "REML" && c["test"] == "z")
        .unwrap();
    // Our key (metafor's name, schema/spotmeta.schema.json) → the fixture's.
    for (key, fixture) in [
        ("k", "k"),
        ("beta", "estimate"),
        ("se", "se"),
        ("ci_lb", "ci_lb"),
        ("ci_ub", "ci_ub"),
        ("pi_lb", "pi_lb"),
        ("pi_ub", "pi_ub"),
        ("pval", "pval"),
        ("tau2", "tau2"),
        ("tau2_ci_lb", "tau2_ci_lb"),
        ("tau2_ci_ub", "tau2_ci_ub"),
        ("I2", "I2"),
        ("H2", "H2"),
        ("QE", "Q"),
        ("QEdf", "Q_df"),
        ("QEp", "Q_pval"),
    ] {
        let (g, w) = (
            v[key].as_f64().unwrap(),
            case["expected"][fixture].as_f64().unwrap(),
        );
        assert!(close_metafor(g, w), "{key}: {g} vs {w}");
    }
}

#[test]
fn rma_text_reads_like_print_rma() {
    spotmeta()
        .arg("rma")
        .arg(bcg())
        .args(["--method", "DL", "--test", "knha"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Random-Effects Model (k = 13; tau^2 estimator: DL)",
        ))
        .stdout(predicate::str::contains("Test for Heterogeneity:"))
        .stdout(predicate::str::contains("tval"))
        .stdout(predicate::str::contains("Prediction interval (95%)"));
}

#[test]
fn rma_with_sei_column_uses_its_square() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("se.csv");
    fs::write(&f, "study,yi,sei\nA,0.1,0.2\nB,0.5,0.1\nC,0.3,0.3\n").unwrap();
    let with_se = spotmeta()
        .arg("rma")
        .arg(&f)
        .args(["--sei", "sei", "--format", "json"])
        .output()
        .unwrap();
    fs::write(&f, "study,yi,vi\nA,0.1,0.04\nB,0.5,0.01\nC,0.3,0.09\n").unwrap();
    let with_vi = spotmeta()
        .arg("rma")
        .arg(&f)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(with_se.status.success() && with_vi.status.success());
    let a: serde_json::Value = serde_json::from_slice(&with_se.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&with_vi.stdout).unwrap();
    // 0.2² is 0.04 only up to rounding, so compare numbers, not bytes.
    for key in ["beta", "se", "tau2", "QE", "I2"] {
        assert!(
            close_metafor(a[key].as_f64().unwrap(), b[key].as_f64().unwrap()),
            "{key}"
        );
    }
}

#[test]
fn bad_cells_are_all_reported_with_line_and_column_and_exit_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    fs::write(
        &f,
        "study,yi,vi\nA,0.1,0.04\nB,abc,0.01\nC,0.3,-0.09\nD,0.2,x\n",
    )
    .unwrap();
    spotmeta()
        .arg("rma")
        .arg(&f)
        .assert()
        .failure()
        .stderr(predicate::str::contains("bad.csv:3:2"))
        .stderr(predicate::str::contains("bad.csv:5:3"));
    // A value that parses but is impossible names its line and column too.
    fs::write(&f, "study,yi,vi\nA,0.1,0.04\nC,0.3,-0.09\n").unwrap();
    spotmeta()
        .arg("rma")
        .arg(&f)
        .assert()
        .failure()
        .stderr(predicate::str::contains("bad.csv:3:3"))
        .stderr(predicate::str::contains("must be positive"));
}

#[test]
fn missing_columns_say_which_flag_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cols.csv");
    fs::write(&f, "study,g,var\nA,0.1,0.04\n").unwrap();
    spotmeta()
        .arg("rma")
        .arg(&f)
        .assert()
        .failure()
        .stderr(predicate::str::contains("missing column `yi`"))
        .stderr(predicate::str::contains("--yi"));
    spotmeta()
        .arg("rma")
        .arg(&f)
        .args(["--yi", "g", "--vi", "var"])
        .assert()
        .success();
}

#[test]
fn measure_smd_computes_effects_from_raw_columns() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("raw.csv");
    // dat.normand1999 rows 1-2 (metadat); escalc("SMD") in fixtures/escalc.json
    fs::write(&f, "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nEdinburgh,55,47,155,75,64,156\nOrpington-Mild,27,7,31,29,4,32\n").unwrap();
    let out = spotmeta()
        .arg("escalc")
        .arg(&f)
        .args(["--measure", "SMD", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fx = common::read_json("escalc.json");
    let want = fx
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["measure"] == "SMD" && c["source"].as_str().unwrap().contains("normand1999"))
        .unwrap();
    for i in 0..2 {
        assert!(close_metafor(
            v["rows"][i]["yi"].as_f64().unwrap(),
            want["expected"]["yi"][i].as_f64().unwrap()
        ));
        assert!(close_metafor(
            v["rows"][i]["vi"].as_f64().unwrap(),
            want["expected"]["vi"][i].as_f64().unwrap()
        ));
    }
}

#[test]
fn escalc_out_writes_a_csv_and_writes_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("es.csv");
    spotmeta()
        .arg("escalc")
        .arg(bcg())
        .args(["--format", "csv", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let text = fs::read_to_string(&out).unwrap();
    // metafor's escalc(data=): the input columns, yi and vi in place.
    assert!(
        text.starts_with("slab,year,tpos,tneg,cpos,cneg,ablat,yi,vi\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 14);
    // A failing run leaves the existing output untouched and no temp files.
    let bad = dir.path().join("bad.csv");
    fs::write(&bad, "study,yi,vi\nA,x,0.1\n").unwrap();
    spotmeta()
        .arg("escalc")
        .arg(&bad)
        .args(["--format", "csv", "--out"])
        .arg(&out)
        .assert()
        .failure();
    assert_eq!(fs::read_to_string(&out).unwrap(), text);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn rma_without_a_file_runs_the_spot_primary_analysis() {
    spotmeta()
        .current_dir(common::root())
        .arg("rma")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Primary analysis of datasets/spot_reduction.csv",
        ))
        .stdout(predicate::str::contains("Rows pooled"))
        .stdout(predicate::str::contains("tval"))
        .stdout(predicate::str::contains("Rows not pooled"));
}

#[test]
fn check_passes_on_the_bundled_dataset_and_fails_on_a_broken_one() {
    spotmeta()
        .current_dir(common::root())
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains("0 error(s)"));
    let broken = common::root().join("tests/fixtures/broken/bad_enum.csv");
    spotmeta()
        .arg("check")
        .arg(&broken)
        .assert()
        .failure()
        .stdout(predicate::str::contains("bad_enum.csv:"))
        .stderr(predicate::str::contains("error(s)"));
}

#[test]
fn check_validates_the_review_record_beside_the_dataset() {
    // datasets/README.md §13: check_review's rules, reported by `check`
    // at review.toml:line:column in the same report as the dataset's.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("spot_reduction.csv");
    fs::copy(common::dataset("spot_reduction.csv"), &csv).unwrap();
    let record = fs::read_to_string(common::dataset("review.toml")).unwrap();
    let toml = dir.path().join("review.toml");
    fs::write(&toml, &record).unwrap();
    spotmeta()
        .arg("check")
        .arg(&csv)
        .assert()
        .success()
        .stdout(predicate::str::contains("0 error(s)"));
    // An impossible search date: the record's error fails the check.
    let line = record
        .lines()
        .position(|l| l.starts_with("date = "))
        .unwrap()
        + 1;
    fs::write(
        &toml,
        record.replacen("date = \"2026-11-23\"", "date = \"2026-13-40\"", 1),
    )
    .unwrap();
    spotmeta()
        .arg("check")
        .arg(&csv)
        .assert()
        .failure()
        .stdout(predicate::str::contains(format!(
            "review.toml:{line}:8: error: search date \"2026-13-40\""
        )));
    // A record that does not parse is one error at the parser's place.
    fs::write(&toml, "[search]\ndate = \n").unwrap();
    spotmeta()
        .arg("check")
        .arg(&csv)
        .assert()
        .failure()
        .stdout(predicate::str::contains("review.toml:2:"));
    // Without a record there is nothing more to check.
    fs::remove_file(&toml).unwrap();
    spotmeta().arg("check").arg(&csv).assert().success();
}

#[test]
fn unknown_method_is_refused_with_the_allowed_values() {
    spotmeta()
        .arg("rma")
        .arg(bcg())
        .args(["--method", "XX"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("REML"));
}

#[test]
fn k_equals_one_gives_a_common_effect_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one.csv");
    fs::write(&f, "study,yi,vi\nA,0.4,0.04\n").unwrap();
    spotmeta()
        .arg("rma")
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("Common-Effect Model (k = 1)"))
        .stdout(predicate::str::contains(
            "k = 1: only a common-effect estimate",
        ));
}
