//! `spotmeta escalc` keeps the input table (metafor `escalc(data=)`) and maps
//! metafor's raw-data arguments to columns of any name (`--m1i COL` …):
//! compared with R metafor 3.8.1 in `tests/conformance/fixtures/escalc_data.json`
//! (made by `tests/conformance/make_escalc_data_fixtures.R`, which also writes
//! the two input files under `tests/fixtures/`). Compared at `METAFOR_REL`.

mod common;

use common::spotmeta;
use common::tol::close_metafor;
use predicates::prelude::*;

fn case(name: &str) -> serde_json::Value {
    common::read_json("escalc_data.json")
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

fn input(c: &serde_json::Value) -> std::path::PathBuf {
    common::root()
        .join("tests/fixtures")
        .join(c["file"].as_str().unwrap())
}

const SMD_MAP: [&str; 12] = [
    "--m1i", "mean_new", "--sd1i", "sd_new", "--n1i", "n_new", "--m2i", "mean_old", "--sd2i",
    "sd_old", "--n2i", "n_old",
];
const SMCR_MAP: [&str; 10] = [
    "--m1i", "post", "--m2i", "pre", "--sd1i", "sd_pre", "--ni", "n", "--ri", "r",
];

/// Check a CSV written by `escalc --format csv` against a fixture case.
fn assert_csv_matches(csv: &str, c: &serde_json::Value) {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let want: Vec<String> = c["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(header, want, "column order as metafor's escalc(data=)");
    let (yi_at, vi_at) = (
        header.iter().position(|h| h == "yi").unwrap(),
        header.iter().position(|h| h == "vi").unwrap(),
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), c["yi"].as_array().unwrap().len());
    for (i, row) in rows.iter().enumerate() {
        for (at, key) in [(yi_at, "yi"), (vi_at, "vi")] {
            match c[key][i].as_f64() {
                Some(want) => {
                    let got: f64 = row[at].parse().unwrap();
                    assert!(close_metafor(got, want), "row {i} {key}: {got} vs {want}");
                }
                None => assert_eq!(&row[at], "", "row {i} {key} is NA in metafor"),
            }
        }
    }
}

/// `spotmeta escalc CASE-INPUT ARGS MAP`, which must succeed; its stdout.
fn escalc_stdout(c: &serde_json::Value, args: &[&str], map: &[&str]) -> Vec<u8> {
    let out = spotmeta()
        .arg("escalc")
        .arg(input(c))
        .args(args)
        .args(map)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn escalc_smd_with_mapped_columns_appends_yi_vi_and_keeps_moderators() {
    let c = case("smd_renamed");
    let out = escalc_stdout(&c, &["--measure", "SMD", "--format", "csv"], &SMD_MAP);
    assert_csv_matches(&String::from_utf8(out).unwrap(), &c);
}

#[test]
fn escalc_smcr_replaces_an_existing_yi_column_in_place() {
    let c = case("smcr_renamed");
    let out = escalc_stdout(&c, &["--measure", "SMCR", "--format", "csv"], &SMCR_MAP);
    assert_csv_matches(&String::from_utf8(out).unwrap(), &c);
}

#[test]
fn escalc_json_rows_carry_the_input_cells() {
    let c = case("smd_renamed");
    let out = escalc_stdout(
        &c,
        &["--measure", "SMD", "--format", "json", "--slab", "source"],
        &SMD_MAP,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // The rows of the one JSON schema's envelope.
    let v = &doc["rows"];
    assert_eq!(v[0]["label"], "Edinburgh");
    assert_eq!(v[0]["data"]["source"], "Edinburgh");
    assert_eq!(v[0]["data"]["n_new"], 155.0);
    assert!(close_metafor(
        v[0]["yi"].as_f64().unwrap(),
        c["yi"][0].as_f64().unwrap()
    ));
    // metafor's NA row: no effect size, the reason given, the cells kept.
    assert!(v[4]["yi"].is_null());
    assert_eq!(v[4]["omitted"], "missing mean_new");
    assert!(v[4]["data"]["mean_new"].is_null());
}

#[test]
fn escalc_text_prints_every_column_and_the_omitted_rows() {
    let c = case("smd_renamed");
    spotmeta()
        .arg("escalc")
        .arg(input(&c))
        .args(["--measure", "SMD", "--slab", "source"])
        .args(SMD_MAP)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "study  source              n_new  mean_new  sd_new  n_old  mean_old  sd_old       yi      vi\n",
        ))
        .stdout(predicate::str::contains("-0.3552  0.0131\n"))
        .stdout(predicate::str::contains(
            "line 6 (Montreal-Home): missing mean_new",
        ));
}

#[test]
fn an_unknown_mapped_column_is_named_with_the_file_and_the_flag() {
    let c = case("smd_renamed");
    let mut args = SMD_MAP.to_vec();
    args[11] = "n_control";
    spotmeta()
        .arg("escalc")
        .arg(input(&c))
        .args(["--measure", "SMD"])
        .args(args)
        .assert()
        .failure()
        .stderr(predicate::str::contains("normand1999_renamed.csv"))
        .stderr(predicate::str::contains("missing column `n_control`"))
        .stderr(predicate::str::contains("--n2i COL"));
}

#[test]
fn mapping_flags_need_a_measure() {
    let c = case("smd_renamed");
    spotmeta()
        .arg("escalc")
        .arg(input(&c))
        .args(["--m1i", "mean_new"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--measure"));
}

#[test]
fn rma_and_forest_read_mapped_raw_columns_too() {
    let c = case("smcr_renamed");
    spotmeta()
        .arg("rma")
        .arg(input(&c))
        .args(["--measure", "SMCR", "--format", "json"])
        .args(SMCR_MAP)
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    spotmeta()
        .arg("forest")
        .arg(input(&c))
        .args(["--measure", "SMCR", "--out"])
        .arg(dir.path().join("f.svg"))
        .args(SMCR_MAP)
        .assert()
        .success();
}
