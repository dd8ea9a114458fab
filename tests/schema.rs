//! Every JSON document spotmeta writes validates against the one schema,
//! `schema/spotmeta.schema.json` (issue #18): `--format json` of every
//! command, `gosh.json`, and `results.json` of `report` (including the
//! committed `reports/results.json`). The schema itself rejects the old
//! spellings (`estimate`, `Q`, `i2`, …), a level given as a fraction and a
//! direction written as `"null"`.

mod common;

use common::{dataset, root, schema::validate, spotmeta};
use serde_json::Value;
use spotmeta::output::json::{SCHEMA, SCHEMA_VERSION};

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("the schema file is JSON")
}

fn assert_valid(what: &str, command: &str, doc: &Value) {
    assert_eq!(doc["schema"], SCHEMA_VERSION, "{what}: schema version");
    assert_eq!(doc["command"], command, "{what}: command");
    let errors = validate(&schema(), doc);
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

fn json_of(args: &[&str]) -> Value {
    let out = spotmeta()
        .args(args)
        .arg("--format")
        .arg("json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn bcg() -> String {
    dataset("colditz1994_bcg.csv").display().to_string()
}

fn konstantopoulos() -> String {
    dataset("konstantopoulos2011.csv").display().to_string()
}

#[test]
fn the_schema_file_names_the_version_the_binary_writes() {
    assert_eq!(schema()["properties"]["schema"]["const"], SCHEMA_VERSION);
    let on_disk = std::fs::read_to_string(root().join("schema/spotmeta.schema.json")).unwrap();
    assert_eq!(on_disk, SCHEMA);
}

#[test]
fn every_rma_variant_emits_the_schema() {
    let (b, k) = (bcg(), konstantopoulos());
    let cases: [&[&str]; 11] = [
        &["rma"],
        &["rma", &b],
        &["rma", &b, "--mods", "~ ablat"],
        &["rma", &b, "--mods", "~ ablat", "--newmods", "30"],
        &["rma", &b, "--permutest", "100", "--seed", "1"],
        &["rma", &k, "--multilevel", "district/school"],
        &[
            "rma",
            &k,
            "--multilevel",
            "district/school",
            "--robust",
            "district",
        ],
        &["rma", &k, "--robust", "district"],
        &["rma", &b, "--by", "year"],
        &["rma", &k, "--multilevel", "district/school", "--by", "year"],
        &[
            "rma",
            &k,
            "--multilevel",
            "district",
            "--by",
            "year",
            "--test",
            "knha",
        ],
    ];
    for args in cases {
        let doc = json_of(args);
        assert_valid(&format!("{args:?}"), "rma", &doc);
    }
}

#[test]
fn the_same_quantity_has_the_same_key_in_every_rma_variant() {
    let (b, k) = (bcg(), konstantopoulos());
    for args in [
        vec!["rma", b.as_str()],
        vec!["rma", b.as_str(), "--mods", "~ ablat"],
        vec!["rma", k.as_str(), "--multilevel", "district/school"],
        vec!["rma", k.as_str(), "--robust", "district"],
    ] {
        let doc = json_of(&args);
        for key in [
            "k", "method", "test", "level", "beta", "se", "zval", "pval", "ci_lb", "ci_ub", "QE",
            "QEp",
        ] {
            assert!(doc.get(key).is_some(), "{args:?} lacks `{key}`");
        }
        assert_eq!(doc["level"], 95.0, "{args:?}: level in percent");
    }
}

#[test]
fn every_analysis_command_emits_the_schema() {
    let b = bcg();
    let cases: [(&str, &[&str]); 15] = [
        ("rob", &["rob"]),
        ("bayes", &["bayes"]),
        ("check", &["check"]),
        ("flags", &["flags"]),
        ("sensitivity", &["sensitivity"]),
        ("vote", &["vote"]),
        ("escalc", &["escalc", &b]),
        ("leave1out", &["leave1out", &b]),
        ("influence", &["influence", &b]),
        ("cumul", &["cumul", &b, "--order", "year"]),
        ("regtest", &["regtest", &b]),
        ("trimfill", &["trimfill", &b]),
        (
            "simulate",
            &["simulate", "--k", "5", "--tau2", "0.1", "--reps", "20"],
        ),
        ("rma", &["rma", &b, "--method", "DL"]),
        ("bayes", &["bayes", &b]),
    ];
    for (command, args) in cases {
        let doc = json_of(args);
        assert_valid(&format!("{args:?}"), command, &doc);
    }
}

#[test]
fn gosh_json_and_report_results_json_emit_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let b = bcg();
    let g = dir.path().join("gosh");
    spotmeta()
        .args(["gosh", &b, "--out"])
        .arg(&g)
        .assert()
        .success();
    let doc: Value = serde_json::from_slice(&std::fs::read(g.join("gosh.json")).unwrap()).unwrap();
    assert_valid("gosh.json", "gosh", &doc);
    let r = dir.path().join("report");
    spotmeta()
        .args(["report", &b, "--out"])
        .arg(&r)
        .assert()
        .success();
    let doc: Value =
        serde_json::from_slice(&std::fs::read(r.join("results.json")).unwrap()).unwrap();
    assert_valid("results.json (bcg)", "report", &doc);
}

#[test]
fn the_committed_results_json_follows_the_schema() {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(root().join("reports/results.json")).unwrap())
            .unwrap();
    assert_valid("reports/results.json", "report", &doc);
}

#[test]
fn add_emits_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spot.csv");
    std::fs::copy(dataset("spot_reduction.csv"), &path).unwrap();
    let out = spotmeta()
        .arg("add")
        .arg(&path)
        .args([
            "--study-id",
            "smith2024",
            "--cohort",
            "all",
            "--label",
            "Smith 2024",
            "--authors",
            "Smith A",
            "--year",
            "2024",
            "--doi",
            "10.5555/smith",
            "--source-location",
            "Table 2",
            "--design",
            "parallel",
            "--intervention-type",
            "exercise",
            "--comparison",
            "other_exercise",
            "--region",
            "abdomen",
            "--assessment-method",
            "DEXA",
            "--outcome-type",
            "regional_fat",
            "--primary",
            "yes",
            "--status",
            "included",
            "--status-reason",
            "synthetic test row",
            "--n-trained",
            "12",
            "--n-control",
            "12",
            "--disp-type",
            "sd",
            "--change-mean-t",
            "-300",
            "--change-sd-t",
            "400",
            "--change-mean-c",
            "-100",
            "--change-sd-c",
            "380",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("add", "add", &doc);
}

#[test]
fn the_schema_rejects_old_spellings_fraction_levels_and_null_directions() {
    let s = schema();
    let mut rma = json_of(&["rma", &bcg()]);
    assert!(validate(&s, &rma).is_empty());
    rma["estimate"] = rma["beta"].clone();
    assert!(
        !validate(&s, &rma).is_empty(),
        "`estimate` must be rejected"
    );
    let mut mods = json_of(&["rma", &bcg(), "--mods", "~ ablat"]);
    mods["level"] = 0.95.into();
    assert!(
        !validate(&s, &mods).is_empty(),
        "level 0.95 must be rejected"
    );
    let mut vote = json_of(&["vote"]);
    vote["evidence"][0]["direction"] = "null".into();
    assert!(
        !validate(&s, &vote).is_empty(),
        "direction \"null\" must be rejected"
    );
}

#[test]
fn prisma_prints_its_flow_in_the_schema() {
    // `prisma` without --out prints the flow as JSON (its --format is the
    // image format, as in `forest`).
    let out = spotmeta().arg("prisma").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("prisma", "prisma", &doc);
}
