//! `forest` and `report` share one set of presentation options (`--by`,
//! `--xlab`, `--title`, `--width`; issue #18): same names, same help, and
//! `report` applies them to its forest plot, page and summary.

mod common;

use common::spotmeta;
use common::tol::{METAFOR_ABS, close_metafor};
use std::fs;

const SHARED: [&str; 4] = ["--by", "--xlab", "--title", "--width"];

/// The help text of `flag` in `spotmeta CMD --help`, whitespace collapsed
/// (clap lays it out beside or under the flag depending on the command's
/// other flags).
fn help_of(cmd: &str, flag: &str) -> String {
    let out = spotmeta().args([cmd, "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(flag))
        .unwrap_or_else(|| panic!("{cmd} --help lacks {flag}"));
    let first = lines[start].trim_start();
    let first = first.split_once('>').map_or(first, |(_, rest)| rest);
    std::iter::once(first)
        .chain(
            lines[start + 1..]
                .iter()
                .take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with('-'))
                .copied(),
        )
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn forest_and_report_document_the_presentation_flags_identically() {
    // clap prints a default beside the text or as its own paragraph.
    let strip = |h: String| h.replace(" [default: 1200]", "");
    for flag in SHARED {
        assert_eq!(
            strip(help_of("forest", flag)),
            strip(help_of("report", flag)),
            "{flag}"
        );
    }
    for cmd in ["forest", "report"] {
        let out = spotmeta().args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("[default: 1200]"), "{cmd} --width default");
    }
}

#[test]
fn report_applies_by_xlab_title_and_width_to_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rep");
    // dat.bcg with its allocation (metadat), as in tests/subgroup_forest.rs.
    let f = common::read_json("formula.json");
    let mut csv = String::from("slab,yi,vi,alloc\n");
    for i in 0..13 {
        csv += &format!(
            "T{},{},{},{}\n",
            i + 1,
            f["data"]["yi"][i],
            f["data"]["vi"][i],
            f["data"]["alloc"][i].as_str().unwrap()
        );
    }
    let data = dir.path().join("bcg.csv");
    fs::write(&data, csv).unwrap();
    spotmeta()
        .arg("report")
        .arg(&data)
        .args([
            "--by",
            "alloc",
            "--xlab",
            "log risk ratio",
            "--title",
            "BCG by allocation",
            "--width",
            "900",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let summary = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.starts_with("# BCG by allocation\n"), "{summary}");
    let results: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["title"], "BCG by allocation");
    // metafor 3.8.1: rma(yi, vi, mods = ~ factor(alloc), data = dat.bcg)
    // (formula.json, subgroup, REML z).
    let want = &f["subgroup"][0];
    let t = &results["subgroup_test"];
    assert_eq!(t["by"], "alloc");
    assert!(close_metafor(
        t["QM"].as_f64().unwrap(),
        want["QM"].as_f64().unwrap()
    ));
    assert!((t["QM_pval"].as_f64().unwrap() - want["QMp"].as_f64().unwrap()).abs() < METAFOR_ABS);
    assert_eq!(t["QM_df"], serde_json::json!([2, null]));
    let png = fs::read(out.join("forest.png")).unwrap();
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 900);
    let svg = fs::read_to_string(out.join("forest.svg")).unwrap();
    assert!(svg.contains("log risk ratio"));
    // The subgroups and their test (REML, z: metafor 3.8.1 Q_M = 1.7675, p = 0.4132).
    assert!(svg.contains("Subtotal (k = 7"));
    assert!(svg.contains("Test for subgroup differences: Q_M = 1.77, df = 2, p = 0.41."));
}

#[test]
fn forest_title_is_drawn_above_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.svg");
    spotmeta()
        .arg("forest")
        .arg(common::dataset("colditz1994_bcg.csv"))
        .args(["--title", "BCG vaccine trials", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert!(
        fs::read_to_string(&out)
            .unwrap()
            .contains("BCG vaccine trials")
    );
}
