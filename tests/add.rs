//! `spotmeta add` / `spotmeta remove` (issue #6): nothing is ever lost.
//! Every failing change leaves the file byte-identical; a successful one keeps
//! the existing bytes verbatim (line endings, quoting, column order).

mod common;

use common::spotmeta;
use predicates::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A scratch copy of the bundled dataset.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spot.csv");
    fs::copy(common::dataset("spot_reduction.csv"), &path).unwrap();
    (dir, path)
}

/// Flags for a valid new parallel trial (`study` varies the key).
fn row_args(study: &str) -> Vec<String> {
    [
        ("study-id", study),
        ("cohort", "all"),
        ("label", "Smith 2024"),
        ("authors", "Smith A"),
        ("year", "2024"),
        ("doi", "10.5555/smith"),
        ("source-location", "Table 2"),
        ("design", "parallel"),
        ("intervention-type", "exercise"),
        ("comparison", "other_exercise"),
        ("region", "abdomen"),
        ("assessment-method", "DEXA"),
        ("outcome-type", "regional_fat"),
        ("primary", "yes"),
        ("status", "included"),
        ("status-reason", "synthetic test row"),
        ("n-trained", "12"),
        ("n-control", "12"),
        ("disp-type", "sd"),
        ("change-mean-t", "-300"),
        ("change-sd-t", "400"),
        ("change-mean-c", "-100"),
        ("change-sd-c", "380"),
    ]
    .iter()
    .flat_map(|(k, v)| [format!("--{k}"), v.to_string()])
    .collect()
}

fn with(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    let i = args.iter().position(|a| a == flag).unwrap();
    args[i + 1] = value.to_string();
    args
}

fn add(path: &Path, args: &[String]) -> assert_cmd::assert::Assert {
    spotmeta()
        .arg("add")
        .arg(path)
        .args(args)
        .write_stdin("")
        .assert()
}

#[test]
fn a_valid_row_is_appended_after_the_untouched_original_bytes() {
    let (_d, path) = scratch();
    let before = fs::read(&path).unwrap();
    add(&path, &row_args("smith2024"))
        .success()
        .stdout(predicate::str::contains("added line 49: Smith 2024"))
        // Raw-score metric (#16), tests/conformance/dppc2_formulas.R:
        // dppc2(-100, -300, 380, 400, 12, 12, 0.5) = 0.4949744 (pre SDs from
        // the change SDs with r_prepost = 0.5 imputed)
        .stdout(predicate::str::contains("DPPC2 yi = 0.4950"))
        .stdout(predicate::str::contains("EE_SESSION_UNREPORTED"));
    let after = fs::read(&path).unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    assert!(
        String::from_utf8(after[before.len()..].to_vec())
            .unwrap()
            .starts_with("smith2024,all,Smith 2024,")
    );
    spotmeta().arg("check").arg(&path).assert().success();
}

#[test]
fn a_reported_session_range_is_written_verbatim_and_flagged_at_its_conservative_end() {
    // Issue #16: the cell keeps its bytes (en dash included); the flag rule
    // uses the trained minimum against the comparison maximum (57 vs 45).
    let (_d, path) = scratch();
    let before = fs::read(&path).unwrap();
    let args = [
        row_args("smith2024"),
        [
            "--session-min-trained",
            "57–84",
            "--session-min-control",
            "45",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    ]
    .concat();
    add(&path, &args)
        .success()
        .stdout(predicate::str::contains("EE_SESSION_LENGTH"))
        .stdout(predicate::str::contains("EE_SESSION_UNREPORTED").not());
    let after = String::from_utf8(fs::read(&path).unwrap()).unwrap();
    assert_eq!(&after.as_bytes()[..before.len()], &before[..]);
    assert!(
        after[before.len()..].contains(",,57–84,45,"),
        "{}",
        &after[before.len()..]
    );
    spotmeta().arg("check").arg(&path).assert().success();

    // A range written the wrong way round is refused and nothing changes.
    let (_d, path) = scratch();
    let before = fs::read(&path).unwrap();
    let args = [
        row_args("smith2024"),
        vec!["--session-min-trained".into(), "84-57".into()],
    ]
    .concat();
    add(&path, &args).failure().stderr(predicate::str::contains(
        "write the smaller value first: `57-84`",
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn every_kind_of_bad_row_leaves_the_file_byte_identical_and_says_what_to_fix() {
    let (_d, path) = scratch();
    let before = fs::read(&path).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            with(row_args("smith2024"), "--design", "parallel-ish"),
            "use one of: parallel, within_subject, crossover",
        ),
        (with(row_args("smith2024"), "--year", "twenty"), "year"),
        (with(row_args("smith2024"), "--n-trained", "1"), "n_trained"),
        (
            with(row_args("smith2024"), "--change-sd-t", "-4"),
            "change_sd_t",
        ),
        (with(row_args("smith2024"), "--doi", "not-a-doi"), "doi"),
        (with(row_args("smith2024"), "--status", ""), "status"),
        (
            with(row_args("walts2008"), "--cohort", "men")
                .into_iter()
                .collect(),
            "a second primary outcome",
        ),
        (
            [
                row_args("smith2024"),
                vec!["--no-such-column".into(), "x".into()],
            ]
            .concat(),
            "unexpected argument",
        ),
    ];
    for (args, needle) in cases {
        let out = spotmeta()
            .arg("add")
            .arg(&path)
            .args(&args)
            .write_stdin("")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{needle}: should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{needle} not in: {err}"
        );
        assert_eq!(fs::read(&path).unwrap(), before, "{needle}: file changed");
    }
}

#[test]
fn a_duplicate_key_is_refused_unless_replace_which_prints_the_old_row() {
    let (_d, path) = scratch();
    add(&path, &row_args("smith2024")).success();
    let once = fs::read(&path).unwrap();
    add(&path, &row_args("smith2024"))
        .failure()
        .stderr(predicate::str::contains("--replace"));
    assert_eq!(fs::read(&path).unwrap(), once);
    add(
        &path,
        &[row_args("smith2024"), vec!["--replace".into()]].concat(),
    )
    .success()
    .stdout(predicate::str::contains(
        "removed: smith2024,all,Smith 2024",
    ));
    spotmeta()
        .arg("check")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("48 rows"));
}

#[test]
fn dry_run_writes_nothing() {
    let (_d, path) = scratch();
    let before = fs::read(&path).unwrap();
    add(
        &path,
        &[row_args("smith2024"), vec!["--dry-run".into()]].concat(),
    )
    .success()
    .stdout(predicate::str::contains("would add line 49"))
    .stdout(predicate::str::contains("dry run: nothing written"));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn sixteen_concurrent_writers_all_land_and_the_file_stays_valid() {
    let (_d, path) = scratch();
    let bin = assert_cmd::cargo::cargo_bin("spotmeta");
    let children: Vec<_> = (0..16)
        .map(|i| {
            std::process::Command::new(&bin)
                .arg("add")
                .arg(&path)
                .args(row_args(&format!("writer{i}x")))
                // Writers queue for the lock; under CI load the default 5 s may not do.
                .args(["--wait", "120"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let text = fs::read_to_string(&path).unwrap();
    for i in 0..16 {
        assert!(
            text.contains(&format!("\nwriter{i}x,all,")),
            "writer {i} lost"
        );
    }
    spotmeta()
        .arg("check")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("63 rows"));
}

#[test]
fn a_writer_killed_between_temp_write_and_rename_leaves_the_original_intact() {
    let (_d, path) = scratch();
    let before = fs::read(&path).unwrap();
    // `remove` rewrites the file (temp file + rename); `add` appends.
    let out = spotmeta()
        .arg("remove")
        .arg(&path)
        .args(["--study-id", "caruso2007"])
        .env("SPOTMETA_FAULT_BEFORE_RENAME", "1")
        .write_stdin("")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the fault hook aborts the process");
    assert_eq!(fs::read(&path).unwrap(), before);
    // The lock died with the process: the next writer gets through.
    add(&path, &row_args("smith2024")).success();
}

#[test]
fn crlf_and_fully_quoted_files_round_trip() {
    let (_d, path) = scratch();
    // Rewrite the dataset with CRLF endings and every field quoted.
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    w.write_record(rdr.headers().unwrap()).unwrap();
    for r in rdr.records() {
        w.write_record(&r.unwrap()).unwrap();
    }
    let crlf = w.into_inner().unwrap();
    fs::write(&path, &crlf).unwrap();
    add(&path, &row_args("smith2024")).success();
    let after = fs::read(&path).unwrap();
    assert_eq!(&after[..crlf.len()], &crlf[..]);
    let new = String::from_utf8(after[crlf.len()..].to_vec()).unwrap();
    assert!(
        new.starts_with("\"smith2024\",\"all\",\"Smith 2024\""),
        "{new}"
    );
    assert!(new.ends_with("\r\n") && !new.trim_end_matches("\r\n").contains('\n'));
    spotmeta().arg("check").arg(&path).assert().success();
}

#[test]
fn a_header_that_differs_from_the_codebook_is_an_error_not_a_reorder() {
    let (_d, path) = scratch();
    let text = fs::read_to_string(&path)
        .unwrap()
        .replacen("study_id,cohort", "cohort,study_id", 1);
    fs::write(&path, &text).unwrap();
    add(&path, &row_args("smith2024"))
        .failure()
        .stderr(predicate::str::contains(":1:1"))
        .stderr(predicate::str::contains("expected `study_id` at column 1"));
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn rows_can_come_from_csv_toml_or_stdin() {
    let (d, path) = scratch();
    let args = row_args("smith2024");
    let pairs: Vec<(String, String)> = args
        .chunks(2)
        .map(|c| {
            // The flag of the `method` column is --assessment-method.
            let flag = c[0].trim_start_matches("--").replace('-', "_");
            let column = if flag == "assessment_method" {
                "method".to_string()
            } else {
                flag
            };
            (column, c[1].clone())
        })
        .collect();
    let csv_row = format!(
        "{}\n{}\n",
        pairs
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(","),
        pairs
            .iter()
            .map(|p| p.1.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let f = d.path().join("row.csv");
    fs::write(&f, &csv_row).unwrap();
    spotmeta()
        .arg("add")
        .arg(&path)
        .arg("--from")
        .arg(&f)
        .arg("--dry-run")
        .write_stdin("")
        .assert()
        .success()
        .stdout(predicate::str::contains("DPPC2 yi = 0.4950"));
    spotmeta()
        .arg("add")
        .arg(&path)
        .args(["--from", "-", "--dry-run"])
        .write_stdin(csv_row.clone())
        .assert()
        .success()
        .stdout(predicate::str::contains("DPPC2 yi = 0.4950"));
    let toml_row: String = pairs
        .iter()
        .map(|(k, v)| {
            if v.parse::<f64>().is_ok() && k != "doi" {
                format!("{k} = {v}\n")
            } else {
                format!("{k} = \"{v}\"\n")
            }
        })
        .collect();
    let t = d.path().join("row.toml");
    fs::write(&t, toml_row).unwrap();
    spotmeta()
        .arg("add")
        .arg(&path)
        .arg("--from")
        .arg(&t)
        .write_stdin("")
        .assert()
        .success()
        .stdout(predicate::str::contains("added line 49"));
}

#[test]
fn remove_cuts_exactly_the_study_rows_and_dry_run_keeps_them() {
    let (_d, path) = scratch();
    let before = fs::read_to_string(&path).unwrap();
    spotmeta()
        .arg("remove")
        .arg(&path)
        .args(["--study-id", "kordi2015", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed: line 38"));
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    spotmeta()
        .arg("remove")
        .arg(&path)
        .args(["--study-id", "kordi2015"])
        .assert()
        .success();
    let after = fs::read_to_string(&path).unwrap();
    let kept: String = before
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("kordi2015,"))
        .collect();
    assert_eq!(after, kept);
    spotmeta()
        .arg("remove")
        .arg(&path)
        .args(["--study-id", "nobody2000"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no row with study_id"));
}

/// Issue #16: adding a second study with two outcomes lets the three-level
/// model run on 2 clusters, which the small-k rules keep out of the primary
/// analysis; `add --rerun` prints exactly the headline the regenerated
/// report renders (its `summary` sentence and `primary_analysis`).
#[test]
fn add_rerun_prints_the_headline_of_the_regenerated_report() {
    let (dir, path) = scratch();
    let first = row_args("smith2024");
    add(&path, &first).success();
    let second = with(with(first, "--region", "trunk"), "--primary", "no");
    let out = dir.path().join("reports");
    let stdout = spotmeta()
        .arg("add")
        .arg(&path)
        .args(&second)
        .arg("--rerun")
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(stdout).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("results.json")).unwrap()).unwrap();
    let head = &json["primary_analysis"];
    assert_eq!(head["analysis"], "one outcome per cohort");
    assert_eq!(json["all_outcomes"]["primary"], false);
    let why = head["why_not_three_level"].as_str().unwrap();
    assert!(
        why.starts_with("CR2 on 2 studies (clusters), fewer than 4"),
        "{why}"
    );
    let after = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  after:  "))
        .unwrap_or_else(|| panic!("no after line in {stdout}"));
    let clause = after
        .strip_suffix("; one outcome per cohort")
        .unwrap_or_else(|| panic!("{after}"));
    let summary = json["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("Pooled {clause}: ")),
        "console {clause:?} vs report {summary:?}"
    );
    assert!(
        clause.contains("k = 3 effect sizes from 2 studies"),
        "{clause}"
    );
}
