//! `spotmeta batch` (issue #7): every group's numbers equal `spotmeta rma` on
//! that group's rows; the whole of dat.bcg as one group reproduces metafor;
//! k = 1 and bad rows give a status, not a crash; CSV and Parquet round-trip;
//! nothing is written when the input is bad.

mod common;

use common::tol::{IDENTITY, close, close_metafor};
use common::{read_json, spotmeta};
use polars::prelude::{AnyValue, DataFrame};
use serde_json::Value;
use spotmeta::batch::{RESULT_COLUMNS, TableFormat, encode, read_table};
use std::path::Path;

/// dat.bcg (metadat; escalc RR) from the metafor fixture with REML/z expected values.
fn bcg() -> (Vec<f64>, Vec<f64>, Value) {
    let all = read_json("rma.json");
    let case = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["dataset"] == "dat.bcg" && c["method"] == "REML" && c["test"] == "z")
        .expect("dat.bcg REML/z fixture")
        .clone();
    let f = |k: &str| -> Vec<f64> {
        case[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    (f("yi"), f("vi"), case["expected"].clone())
}

/// Groups: dat.bcg split by position (first 5, next 4, last 4), the whole of
/// dat.bcg as group `all`, a one-study group and a group with a bad row.
fn write_input(dir: &Path) -> std::path::PathBuf {
    let (yi, vi, _) = bcg();
    let mut s = String::from("outcome,arm,yi,vi\n");
    for (i, (y, v)) in yi.iter().zip(&vi).enumerate() {
        let g = match i {
            0..=4 => "early",
            5..=8 => "middle",
            _ => "late",
        };
        s += &format!("{g},1,{y:?},{v:?}\n");
    }
    for (y, v) in yi.iter().zip(&vi) {
        s += &format!("all,2,{y:?},{v:?}\n");
    }
    s += "single,3,0.25,0.04\n";
    s += "broken,4,0.1,0.02\nbroken,4,0.3,0\nbroken,4,NA,0.03\n";
    let p = dir.join("long.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn rows_of(df: &DataFrame, key: &str) -> usize {
    let c = df.column("outcome").unwrap().str().unwrap().clone();
    c.iter()
        .position(|v| v == Some(key))
        .unwrap_or_else(|| panic!("group {key} missing"))
}

fn num(df: &DataFrame, col: &str, row: usize) -> Option<f64> {
    match df.column(col).unwrap().get(row).unwrap() {
        AnyValue::Null => None,
        v => v.extract::<f64>(),
    }
}

fn text(df: &DataFrame, col: &str, row: usize) -> String {
    match df.column(col).unwrap().get(row).unwrap() {
        AnyValue::String(s) => s.to_string(),
        AnyValue::Null => String::new(),
        v => v.to_string(),
    }
}

/// `spotmeta rma --format json` on the given rows.
fn rma_json(dir: &Path, name: &str, yi: &[f64], vi: &[f64]) -> Value {
    let mut s = String::from("yi,vi\n");
    for (y, v) in yi.iter().zip(vi) {
        s += &format!("{y:?},{v:?}\n");
    }
    let p = dir.join(format!("{name}.csv"));
    std::fs::write(&p, s).unwrap();
    let out = spotmeta()
        .args(["rma", p.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn run_batch(input: &Path, out: &Path) {
    spotmeta()
        .args([
            "batch",
            input.to_str().unwrap(),
            "--group",
            "outcome,arm",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
}

#[test]
fn every_group_equals_rma_on_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("pooled.csv");
    run_batch(&input, &out);
    let df = read_table(&out).unwrap();
    assert_eq!(df.height(), 6);
    // Sorted by the keys.
    let keys: Vec<String> = (0..6).map(|r| text(&df, "outcome", r)).collect();
    assert_eq!(keys, ["all", "broken", "early", "late", "middle", "single"]);
    let (yi, vi, _) = bcg();
    for (key, range) in [("early", 0..5), ("middle", 5..9), ("late", 9..13)] {
        let want = rma_json(dir.path(), key, &yi[range.clone()], &vi[range]);
        let r = rows_of(&df, key);
        for col in RESULT_COLUMNS {
            match &want[col] {
                Value::Number(n) => {
                    let got = num(&df, col, r).unwrap_or_else(|| panic!("{key}.{col} is null"));
                    let w = n.as_f64().unwrap();
                    assert!(
                        close(got, w, IDENTITY, 1e-12),
                        "{key}.{col}: {got} vs rma {w}"
                    );
                }
                Value::Null => assert_eq!(num(&df, col, r), None, "{key}.{col}"),
                Value::String(s) => assert_eq!(&text(&df, col, r), s, "{key}.{col}"),
                _ => {}
            }
        }
        assert_eq!(text(&df, "status", r), "ok");
    }
}

#[test]
fn the_whole_of_dat_bcg_as_one_group_reproduces_metafor() {
    // Expected values: metafor 3.8-1, rma(yi, vi, data = dat.bcg) (REML, z),
    // from tests/conformance/fixtures/rma.json.
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("pooled.csv");
    run_batch(&input, &out);
    let df = read_table(&out).unwrap();
    let r = rows_of(&df, "all");
    let (_, _, want) = bcg();
    // Our column (metafor's name, as `rma --format json`) → the fixture's key.
    for (col, fixture) in [
        ("beta", "estimate"),
        ("se", "se"),
        ("zval", "zval"),
        ("pval", "pval"),
        ("ci_lb", "ci_lb"),
        ("ci_ub", "ci_ub"),
        ("pi_lb", "pi_lb"),
        ("pi_ub", "pi_ub"),
        ("tau2", "tau2"),
        ("se_tau2", "se_tau2"),
        ("tau2_ci_lb", "tau2_ci_lb"),
        ("tau2_ci_ub", "tau2_ci_ub"),
        ("I2", "I2"),
        ("I2_ci_lb", "I2_ci_lb"),
        ("I2_ci_ub", "I2_ci_ub"),
        ("H2", "H2"),
        ("QE", "Q"),
        ("QEp", "Q_pval"),
    ] {
        let w = want[fixture].as_f64().unwrap();
        let got = num(&df, col, r).unwrap();
        assert!(close_metafor(got, w), "{col}: {got} vs metafor {w}");
    }
    assert_eq!(num(&df, "k", r), Some(13.0));
}

#[test]
fn one_study_and_bad_rows_get_a_status_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("pooled.csv");
    run_batch(&input, &out);
    let df = read_table(&out).unwrap();
    let r = rows_of(&df, "single");
    assert_eq!(text(&df, "status", r), "k=1: common effect only");
    assert_eq!(num(&df, "beta", r), Some(0.25));
    assert_eq!(text(&df, "method", r), "FE");
    let b = rows_of(&df, "broken");
    let status = text(&df, "status", b);
    assert!(
        status.contains("2 bad row(s)") && status.contains("line 30") && status.contains("vi = 0"),
        "{status}"
    );
    assert_eq!(num(&df, "beta", b), None);
    assert_eq!(num(&df, "k", b), Some(3.0));
}

#[test]
fn csv_and_parquet_round_trip_to_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let csv_out = dir.path().join("pooled.csv");
    run_batch(&input, &csv_out);
    // Parquet in (the same table converted), Parquet out.
    let mut table = read_table(&input).unwrap();
    let pq_in = dir.path().join("long.parquet");
    std::fs::write(&pq_in, encode(&mut table, TableFormat::Parquet).unwrap()).unwrap();
    let pq_out = dir.path().join("pooled.parquet");
    run_batch(&pq_in, &pq_out);
    let a = read_table(&csv_out).unwrap();
    let b = read_table(&pq_out).unwrap();
    assert_eq!(a.height(), b.height());
    assert_eq!(a.get_column_names(), b.get_column_names());
    for col in ["beta", "se", "tau2", "tau2_ci_ub", "I2", "QEp"] {
        for r in 0..a.height() {
            assert_eq!(num(&a, col, r), num(&b, col, r), "{col} row {r}");
        }
    }
    // Statuses name Parquet rows as `row N`.
    let r = rows_of(&b, "broken");
    assert!(text(&b, "status", r).contains("row 29"));
}

#[test]
fn nothing_is_written_when_the_input_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("pooled.csv");
    // A missing column: clear message naming it and the header.
    spotmeta()
        .args(["batch", input.to_str().unwrap(), "--group", "region"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicates::str::contains("missing column `region`"))
        .stderr(predicates::str::contains("outcome, arm, yi, vi"));
    assert!(!out.exists());
    // Not a table at all.
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, "this is not parquet").unwrap();
    spotmeta()
        .args(["batch", bad.to_str().unwrap(), "--group", "g"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure();
    assert!(!out.exists());
    // An existing output is left as it was.
    std::fs::write(&out, "old").unwrap();
    spotmeta()
        .args(["batch", input.to_str().unwrap(), "--group", "nope"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

/// `read_groups` on `bytes` written to a scratch `t.csv`, grouped by `g`.
fn read_bytes(bytes: &[u8]) -> (tempfile::TempDir, spotmeta::Result<spotmeta::batch::Groups>) {
    use spotmeta::batch::{BatchColumns, Variance, read_groups};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, bytes).unwrap();
    let cols = BatchColumns {
        groups: vec!["g".into()],
        yi: "yi".into(),
        variance: Variance::Vi("vi".into()),
    };
    let r = read_groups(&p, &cols);
    (dir, r)
}

/// The error of reading `bytes`, as displayed.
fn read_error(bytes: &[u8]) -> String {
    match read_bytes(bytes) {
        (_d, Err(e)) => e.to_string(),
        (_d, Ok(g)) => panic!("accepted with {} rows: {:?}", g.rows(), g.yi),
    }
}

/// Issue #15: batch read CSV differently from every other command and
/// dropped rows silently. Each case failed on the old (polars) reader: it
/// kept only the rows before an unclosed quote, merged rows split by a lone
/// CR, made a phantom empty-key group from blank lines, used the first of
/// two `yi` columns, and gave no location for bad UTF-8 or text values.
#[test]
fn a_malformed_csv_is_an_error_with_its_location() {
    let cases: [(&[u8], &[&str]); 6] = [
        // An unclosed quote swallows the rest of the file into one cell.
        (
            b"g,yi,vi\na,0.1,0.02\n\"a,0.2,0.03\na,0.3,0.04\n",
            &["t.csv:3:", "unclosed double quote"],
        ),
        (
            b"g,yi,vi,yi\na,0.1,0.02,0.5\n",
            &["t.csv:1:4", "duplicate column `yi`"],
        ),
        (
            b"g,yi,vi\na,0.1,0.02\nb\xff,0.2,0.03\n",
            &["t.csv:3:1", "not valid UTF-8"],
        ),
        (
            b"g,yi,vi\na,0.1,0.02\na,abc,0.03\n",
            &["t.csv:3:2 (column `yi`)", "\"abc\" is not a number"],
        ),
        (
            b"g,yi,vi\r\na,0.1,0.02\r\n\r\na,1e400,0.03\r\n",
            &["t.csv:4:2 (column `yi`)", "not a finite number"],
        ),
        (
            b"g,yi,vi\na,0.1,0.02,7\n",
            &["t.csv:2:4", "row has 4 field(s) but the header has 3"],
        ),
    ];
    for (bytes, want) in cases {
        let e = read_error(bytes);
        for w in want {
            assert!(
                e.contains(w),
                "{:?}: {e}\n  (wanted {w:?})",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

#[test]
fn lone_cr_crlf_and_blank_lines_read_every_row_and_count_lines_as_rma_does() {
    for text in [
        "g,yi,vi\ra,0.1,0.02\ra,0.2,0\r\rb,0.3,0.03",
        "g,yi,vi\r\na,0.1,0.02\r\na,0.2,0\r\n\r\nb,0.3,0.03\r\n",
        "\u{feff}g,yi,vi\na,0.1,0.02\na,0.2,0\n\nb,0.3,0.03\n\n",
    ] {
        let (_d, g) = read_bytes(text.as_bytes());
        let g = g.unwrap_or_else(|e| panic!("{text:?}: {e}"));
        // Two groups (no phantom empty-key group from blank lines), three rows.
        assert_eq!((g.len(), g.rows()), (2, 3), "{text:?}");
        assert_eq!(g.lines, [2, 3, 5], "{text:?}");
        let opts = spotmeta::batch::BatchOptions {
            rma: spotmeta::RmaOptions::default().check().unwrap(),
            confint: false,
        };
        let fits = spotmeta::batch::pool(&g, &opts, &|_| {});
        assert!(
            fits[0].status.as_str().contains("line 3: vi = 0"),
            "{}",
            fits[0].status
        );
    }
}

#[test]
fn a_directory_or_a_fifo_as_input_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let as_dir = dir.path().join("d.csv");
    std::fs::create_dir(&as_dir).unwrap();
    let fifo = dir.path().join("f.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let out = dir.path().join("out.csv");
    spotmeta()
        .args(["batch", as_dir.to_str().unwrap(), "--group", "g"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicates::str::contains("is a directory"));
    if made {
        spotmeta()
            .args(["batch", fifo.to_str().unwrap(), "--group", "g"])
            .args(["--out", out.to_str().unwrap()])
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .failure()
            .stderr(predicates::str::contains("not a regular file"));
    }
    assert!(!out.exists());
}

/// Issue #16: effects of different metrics are never pooled together. Batch
/// groups by its key columns only, so a table with a `measure` column is
/// refused unless `measure` is one of the groups (then no group mixes
/// measures: here SMD and SMCC rows of one outcome become two groups).
#[test]
fn a_measure_column_must_be_a_group_key() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.csv");
    std::fs::write(
        &input,
        "outcome,measure,yi,vi\nfat,SMD,0.2,0.04\nfat,SMCC,0.9,0.02\nfat,SMD,0.1,0.05\n",
    )
    .unwrap();
    let out = dir.path().join("pooled.csv");
    spotmeta()
        .args(["batch", input.to_str().unwrap(), "--group", "outcome"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicates::str::contains("`measure` column"))
        .stderr(predicates::str::contains("--group ...,measure"));
    assert!(!out.exists());
    spotmeta()
        .args([
            "batch",
            input.to_str().unwrap(),
            "--group",
            "outcome,measure",
        ])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success();
    let pooled = std::fs::read_to_string(&out).unwrap();
    assert_eq!(pooled.lines().count(), 3, "{pooled}");
    assert!(
        pooled.contains("fat,SMCC,") && pooled.contains("fat,SMD,"),
        "{pooled}"
    );
}

/// Float group keys group as a group-by does (documented in README's
/// "Batch and GOSH"): every NaN key is one group, and -0 and 0 are one
/// group, whatever the rows' order.
#[test]
fn nan_keys_form_one_group_and_signed_zeros_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("fk.csv");
    std::fs::write(
        &input,
        "g,yi,vi\nNaN,0.3,0.1\n1.5,0.1,0.1\n-0.0,0.2,0.1\nNaN,0.1,0.2\n1.5,0.2,0.1\n0.0,0.3,0.2\n",
    )
    .unwrap();
    let out = dir.path().join("out.csv");
    spotmeta()
        .args([
            "batch",
            "--group",
            "g",
            "--method",
            "DL",
            "--no-confint",
            "--out",
        ])
        .arg(&out)
        .arg(&input)
        .assert()
        .success();
    let df = read_table(&out).unwrap();
    assert_eq!(df.height(), 3);
    let ks: Vec<f64> = (0..3).map(|r| num(&df, "k", r).unwrap()).collect();
    assert_eq!(ks, [2.0, 2.0, 2.0]);
}
