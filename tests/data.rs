//! Stage 1 — loading and checking data: every kind of problem in the
//! spot-reduction codebook is caught with its exact line and column, a message
//! naming the column and a fix; a file's problems are all reported in one run;
//! and a valid file loads as typed rows.
//!
//! Fixtures: `tests/fixtures/good_minimal.csv` is a valid 3-row, 2-study file
//! with invented studies (`doe2020`, parallel with change scores; `roe2021`,
//! within-subject with pre/post values; DOI prefix `10.5555` is reserved for
//! examples). Each `tests/fixtures/broken/<kind>.csv` is that file with one
//! deliberate defect (or three, for `three_errors.csv`). Column numbers below
//! are 1-based positions in the codebook header (`study_id` = 1 …
//! `status_reason` = 56, `rob_overall_reason` = 73).

use spotmeta::Error;
use spotmeta::data::{
    AssessmentMethod, COLUMNS, CheckReport, Comparison, Design, DispType, Issue, Severity, Status,
    Table, ValueSource, check, load_spot,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn broken(name: &str) -> CheckReport {
    check(&fixture(&format!("broken/{name}.csv"))).expect("the file can be read")
}

/// 1-based codebook column of `name`.
fn col(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| c.name == name)
        .expect("codebook column")
        + 1
}

/// Asserts that `report` holds exactly one error, at `line`/`column`, about
/// `column_name`, whose message names the column and which carries a fix.
#[track_caller]
fn assert_single_error(
    report: &CheckReport,
    line: u64,
    column: Option<usize>,
    column_name: &str,
) -> Issue {
    let errors: Vec<&Issue> = report.issues.iter().filter(|i| i.is_error()).collect();
    assert_eq!(errors.len(), 1, "expected one error, got:\n{report}");
    let e = errors[0].clone();
    assert_eq!(e.line, line, "{e}");
    assert_eq!(e.column, column, "{e}");
    assert_eq!(e.column_name.as_deref(), Some(column_name), "{e}");
    assert!(
        e.message.contains(&format!("`{column_name}`")),
        "message should name `{column_name}`: {e}"
    );
    assert!(!e.fix.is_empty(), "{e}");
    assert!(e.to_string().contains(" — fix: "), "{e}");
    e
}

// ── header ────────────────────────────────────────────────────────────────

#[test]
fn missing_column_is_named_on_line_1() {
    let r = broken("missing_column");
    let e = assert_single_error(&r, 1, None, "weeks");
    assert!(e.message.contains("missing column"), "{e}");
    assert!(e.fix.contains("position 16"), "{e}");
}

#[test]
fn unknown_extra_column_is_an_error() {
    let r = broken("extra_column");
    let e = assert_single_error(&r, 1, Some(57), "notes");
    assert!(e.message.contains("unknown column"), "{e}");
}

#[test]
fn columns_out_of_codebook_order_are_an_error_not_a_silent_reorder() {
    let r = broken("wrong_order");
    let e = assert_single_error(&r, 1, Some(col("n_trained")), "n_control");
    assert!(
        e.message
            .contains("columns must be in the codebook order; expected `n_trained` at column 14"),
        "{e}"
    );
    assert!(matches!(
        load_spot(&fixture("broken/wrong_order.csv")),
        Err(Error::Invalid { .. })
    ));
}

// ── cells ─────────────────────────────────────────────────────────────────

#[test]
fn text_in_a_number_column_is_reported_with_the_cell() {
    let r = broken("bad_number");
    let e = assert_single_error(&r, 3, Some(col("weeks")), "weeks");
    assert!(
        e.message.contains("\"twelve\" is not a finite number"),
        "{e}"
    );
    assert_eq!(e.study.as_deref(), Some("doe2020/all"));
}

#[test]
fn enum_value_outside_the_codebook_lists_allowed_values() {
    let r = broken("bad_enum");
    let e = assert_single_error(&r, 4, Some(col("method")), "method");
    assert!(e.message.contains("\"mri\""), "{e}");
    assert!(e.fix.contains("DEXA, MRI, CT, ultrasound"), "{e}");
}

#[test]
fn sample_size_below_two_is_an_error() {
    let r = broken("n_too_small");
    let e = assert_single_error(&r, 2, Some(col("n_control")), "n_control");
    assert!(e.message.contains("at least 2"), "{e}");
}

#[test]
fn zero_standard_deviation_is_an_error() {
    let r = broken("sd_not_positive");
    let e = assert_single_error(&r, 2, Some(col("change_sd_c")), "change_sd_c");
    assert!(e.message.contains("> 0"), "{e}");
}

#[test]
fn correlation_of_one_or_more_is_an_error() {
    let r = broken("r_out_of_range");
    let e = assert_single_error(&r, 4, Some(col("r_prepost")), "r_prepost");
    assert!(e.message.contains("between -1 and 1"), "{e}");
}

#[test]
fn year_outside_1900_to_2027_is_an_error() {
    let r = broken("year_out_of_range");
    let e = assert_single_error(&r, 4, Some(col("year")), "year");
    assert!(e.message.contains("between 1900 and 2027"), "{e}");
}

// ── rules across cells and rows ───────────────────────────────────────────

#[test]
fn row_without_doi_pmid_or_url_lacks_provenance() {
    let r = broken("missing_provenance");
    let e = assert_single_error(&r, 4, Some(col("doi")), "doi");
    assert!(e.message.contains("missing provenance"), "{e}");
    assert_eq!(e.study.as_deref(), Some("roe2021/all"));
}

#[test]
fn duplicate_key_is_reported_on_the_later_line_naming_the_earlier() {
    let r = broken("duplicate_key");
    let e = assert_single_error(&r, 3, Some(col("study_id")), "study_id");
    assert!(e.message.contains("already on line 2"), "{e}");
}

#[test]
fn two_primary_outcomes_for_one_study_is_an_error() {
    let r = broken("two_primary");
    let e = assert_single_error(&r, 3, Some(col("primary")), "primary");
    assert!(e.message.contains("line 2 is already primary"), "{e}");
}

#[test]
fn dispersions_without_disp_type_are_an_error() {
    let r = broken("disp_type_missing");
    let e = assert_single_error(&r, 4, Some(col("disp_type")), "disp_type");
    assert!(e.message.contains("`pre_sd_t`"), "{e}");
}

#[test]
fn within_subject_arms_must_have_equal_n() {
    let r = broken("within_n_mismatch");
    let e = assert_single_error(&r, 4, Some(col("n_control")), "n_control");
    assert!(e.message.contains("must equal `n_trained` (10)"), "{e}");
}

#[test]
fn manual_flag_must_match_its_pattern() {
    let r = broken("bad_manual_flag");
    let e = assert_single_error(&r, 2, Some(col("manual_flag")), "manual_flag");
    assert!(e.message.contains("^MANUAL_[A-Z0-9_]+$"), "{e}");
}

#[test]
fn manual_flag_needs_a_reason() {
    let r = broken("manual_flag_no_reason");
    assert_single_error(&r, 2, Some(col("manual_flag_reason")), "manual_flag_reason");
}

// ── malformed CSV ─────────────────────────────────────────────────────────

#[test]
fn ragged_row_is_an_issue_and_other_rows_are_still_checked() {
    let r = broken("ragged_row");
    let errors: Vec<&Issue> = r.issues.iter().filter(|i| i.is_error()).collect();
    assert_eq!(errors.len(), 1, "{r}");
    let e = errors[0];
    // Line 3 has 72 fields; the missing one is column 73.
    assert_eq!((e.line, e.column), (3, Some(73)), "{e}");
    assert!(
        e.message.contains("72 field(s) but the header has 73"),
        "{e}"
    );
    assert!(e.fix.contains("comma"), "{e}");
    assert_eq!(r.rows, 2);
    // Table::read refuses the same file with Error::Csv at the same place.
    match Table::read(fixture("broken/ragged_row.csv")) {
        Err(Error::Csv { location, .. }) => {
            assert_eq!((location.line, location.column), (3, Some(73)));
        }
        other => panic!("expected Error::Csv, got {other:?}"),
    }
}

#[test]
fn unbalanced_quote_is_reported_where_the_record_starts() {
    let r = broken("unbalanced_quote");
    let errors: Vec<&Issue> = r.issues.iter().filter(|i| i.is_error()).collect();
    assert_eq!(errors.len(), 1, "{r}");
    let e = errors[0];
    // The open quote in `source_location` (column 9) swallows the rest of
    // the file into that cell, so the record has 9 fields.
    assert_eq!((e.line, e.column), (3, Some(10)), "{e}");
    assert!(e.message.contains("unclosed double quote"), "{e}");
}

#[test]
fn missing_file_is_an_io_error() {
    let path = fixture("does_not_exist.csv");
    assert!(matches!(check(&path), Err(Error::Io { .. })));
    assert!(matches!(load_spot(&path), Err(Error::Io { .. })));
    assert!(matches!(Table::read(&path), Err(Error::Io { .. })));
}

// ── whole-file behaviour ──────────────────────────────────────────────────

#[test]
fn all_problems_of_a_file_are_reported_in_one_run() {
    let r = broken("three_errors");
    let found: Vec<(u64, Option<usize>, Option<&str>)> = r
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(|i| (i.line, i.column, i.column_name.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![
            (2, Some(col("weeks")), Some("weeks")),
            (3, Some(col("design")), Some("design")),
            (4, Some(col("r")), Some("r")),
        ]
    );
    let text = r.to_string();
    assert!(
        text.ends_with("3 rows, 2 studies: 3 error(s), 0 warning(s)\n"),
        "{text}"
    );
    match load_spot(&fixture("broken/three_errors.csv")) {
        Err(Error::Invalid { problems, .. }) => assert_eq!(problems.len(), 3, "{problems:?}"),
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn warnings_do_not_block_loading() {
    let path = fixture("broken/warnings_only.csv");
    let r = check(&path).unwrap();
    assert!(r.is_ok(), "{r}");
    let warnings: Vec<(u64, Option<&str>)> = r
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Warning)
        .map(|i| (i.line, i.column_name.as_deref()))
        .collect();
    // doe2020 has no primary outcome left (reported on its first row);
    // roe2021 lost its source_location and has a negative r.
    assert_eq!(
        warnings,
        vec![
            (2, Some("primary")),
            (4, Some("source_location")),
            (4, Some("r"))
        ]
    );
    let data = load_spot(&path).unwrap();
    assert_eq!(data.issues.len(), 3);
}

#[test]
fn check_report_serialises_counts_and_issues_as_json() {
    let r = broken("three_errors");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["errors"], 3);
    assert_eq!(json["warnings"], 0);
    assert_eq!(json["issues"][0]["severity"], "error");
    assert_eq!(json["issues"][0]["line"], 2);
    assert_eq!(json["issues"][0]["column_name"], "weeks");
}

#[test]
fn crlf_bom_and_quoted_commas_load() {
    let text = std::fs::read_to_string(fixture("good_minimal.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf_bom.csv");
    std::fs::write(&path, format!("\u{feff}{}", text.replace('\n', "\r\n"))).unwrap();

    let report = check(&path).unwrap();
    assert!(report.issues.is_empty(), "{report}");
    let data = load_spot(&path).unwrap();
    assert_eq!(data.headers[0], "study_id");
    assert_eq!(data.rows[0].authors, "Doe J, Poe K");
    assert_eq!(
        data.rows[0].source_location.as_deref(),
        Some("Table 2, p. 5")
    );
    assert_eq!(data.rows[2].status_reason, "meets inclusion criteria");
    let lines: Vec<u64> = data.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
}

#[test]
fn good_minimal_loads_as_typed_rows() {
    let path = fixture("good_minimal.csv");
    let report = check(&path).unwrap();
    assert!(report.issues.is_empty(), "{report}");
    assert_eq!((report.rows, report.studies), (3, 2));
    assert_eq!(
        report.to_string(),
        "3 rows, 2 studies: 0 error(s), 0 warning(s)\n"
    );

    let data = load_spot(&path).unwrap();
    assert_eq!(data.rows.len(), 3);
    assert!(data.issues.is_empty());

    // Values are parsed from the decimal text of good_minimal.csv, so they are
    // bit-identical to the same literals; no tolerance is involved.
    let doe = &data.rows[0];
    assert_eq!(doe.line, 2);
    assert_eq!(
        doe.key(),
        (
            "doe2020",
            "all",
            Some(Comparison::NoExercise),
            Some("abdomen"),
            Some(AssessmentMethod::Dexa)
        )
    );
    assert_eq!(doe.display_label(), "Doe 2020");
    assert_eq!(doe.year, 2020);
    assert_eq!(doe.design, Some(Design::Parallel));
    assert_eq!((doe.n_trained, doe.n_control), (Some(20), Some(18)));
    assert!(doe.primary);
    assert_eq!(doe.disp_type, Some(DispType::Sd));
    assert_eq!(doe.change_mean_t, Some(-0.5));
    assert_eq!(doe.change_sd_t, Some(0.8));
    assert_eq!(doe.change_mean_c, Some(-0.1));
    assert_eq!(doe.change_sd_c, Some(0.7));
    assert_eq!(doe.pre_mean_t, None);
    assert_eq!(doe.pmid, None);
    assert_eq!(doe.status, Status::Included);
    assert!(!data.rows[1].primary);

    let roe = &data.rows[2];
    assert_eq!(roe.line, 4);
    assert_eq!(roe.design, Some(Design::WithinSubject));
    assert_eq!(roe.comparison, Some(Comparison::UntrainedLimb));
    assert_eq!(roe.method, Some(AssessmentMethod::Mri));
    assert_eq!(roe.doi, None);
    assert_eq!(roe.pmid.as_deref(), Some("12345678"));
    assert_eq!(
        (roe.pre_mean_t, roe.pre_sd_t, roe.post_mean_t, roe.post_sd_t),
        (Some(250.5), Some(40.2), Some(240.1), Some(39.8))
    );
    assert_eq!(
        (roe.pre_mean_c, roe.pre_sd_c, roe.post_mean_c, roe.post_sd_c),
        (Some(248.0), Some(41.0), Some(246.5), Some(40.5))
    );
    assert_eq!(roe.r_prepost, Some(0.9));
    assert_eq!(roe.r_prepost_source, Some(ValueSource::Imputed));
    assert_eq!(roe.r, Some(0.6));

    // Serialising uses the CSV spellings.
    let json = serde_json::to_value(roe).unwrap();
    assert_eq!(json["design"], "within_subject");
    assert_eq!(json["method"], "MRI");
    assert_eq!(json["primary"], "yes");
}

#[test]
fn cohort_other_than_all_is_shown_in_the_label() {
    let mut row = load_spot(&fixture("good_minimal.csv"))
        .unwrap()
        .rows
        .remove(0);
    row.cohort = "women".to_owned();
    assert_eq!(row.display_label(), "Doe 2020 (women)");
}

// ── generic table ─────────────────────────────────────────────────────────

#[test]
fn table_numeric_reports_every_bad_cell_of_a_column() {
    let t = Table::from_reader(
        "in.csv",
        "slab,yi\na,0.5\nb,abc\nc,NA\nd,\ne,1e-3x\n".as_bytes(),
    )
    .unwrap();
    assert_eq!(t.column("yi"), Some(1));
    assert_eq!(t.text("slab").unwrap(), vec!["a", "b", "c", "d", "e"]);
    match t.numeric("yi") {
        Err(Error::Invalid { file, problems }) => {
            assert_eq!(file, Path::new("in.csv"));
            assert_eq!(problems.len(), 2, "{problems:?}");
            assert!(
                problems[0]
                    .starts_with("in.csv:3:2 (column `yi`): \"abc\" is not a number — fix: "),
                "{}",
                problems[0]
            );
            assert!(
                problems[1].starts_with("in.csv:6:2 (column `yi`): \"1e-3x\""),
                "{}",
                problems[1]
            );
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn table_numeric_reads_empty_and_na_as_missing() {
    let t = Table::from_reader("in.csv", "yi,vi\n0.5,0.1\nNA,0.2\n,0.3\n".as_bytes()).unwrap();
    assert_eq!(t.numeric("yi").unwrap(), vec![Some(0.5), None, None]);
    assert_eq!(t.numeric_required("vi").unwrap(), vec![0.1, 0.2, 0.3]);
    match t.numeric_required("yi") {
        Err(Error::Invalid { problems, .. }) => {
            assert_eq!(problems.len(), 2);
            assert!(problems[0].starts_with("in.csv:3:1 (column `yi`): value is missing"));
            assert!(problems[1].starts_with("in.csv:4:1 (column `yi`): value is missing"));
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
    assert!(
        matches!(t.numeric("sei"), Err(Error::MissingColumn { column, .. }) if column == "sei")
    );
    assert_eq!(t.text("sei"), None);
}

#[test]
fn table_rejects_invalid_utf8_with_its_column() {
    let bytes: &[u8] = b"a,b\n1,2\n3,\xff\n";
    match Table::from_reader("in.csv", bytes) {
        Err(Error::Csv { location, .. }) => {
            assert_eq!((location.line, location.column), (3, Some(2)));
        }
        other => panic!("expected Error::Csv, got {other:?}"),
    }
}

// ── issue #15: limits and overflow ────────────────────────────────────────

/// `good_minimal.csv` with cell (`row`, `column`) replaced, as a scratch file.
fn edited(row: usize, column: &str, value: &str) -> (tempfile::TempDir, PathBuf) {
    let mut rdr = csv::Reader::from_path(fixture("good_minimal.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let mut rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let mut cells: Vec<String> = rows[row].iter().map(str::to_owned).collect();
    cells[col(column) - 1] = value.to_owned();
    rows[row] = cells.into_iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&headers).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    (dir, path)
}

#[test]
fn a_label_over_the_documented_length_is_an_error() {
    use spotmeta::data::schema::MAX_LABEL_CHARS;
    let (_d, ok) = edited(0, "label", &"é".repeat(MAX_LABEL_CHARS));
    assert!(check(&ok).unwrap().is_ok(), "{}", check(&ok).unwrap());
    let (_d, long) = edited(0, "label", &"L".repeat(16_000));
    let e = assert_single_error(&check(&long).unwrap(), 2, Some(col("label")), "label");
    assert!(e.message.contains("16000 characters"), "{e}");
}

#[test]
fn a_value_that_overflows_is_an_error_at_its_cell() {
    let (_d, path) = edited(0, "n_trained", "1e400");
    assert_single_error(
        &check(&path).unwrap(),
        2,
        Some(col("n_trained")),
        "n_trained",
    );
    let (_d, path) = edited(1, "change_mean_t", "-1e400");
    let e = assert_single_error(
        &check(&path).unwrap(),
        3,
        Some(col("change_mean_t")),
        "change_mean_t",
    );
    assert!(e.to_string().contains("edited.csv:3:"), "{e}");
}

#[test]
fn a_table_naming_a_column_twice_is_an_error_not_the_first_copy() {
    let text = "yi,vi,yi\n0.1,0.01,0.5\n0.2,0.02,0.6\n";
    match Table::from_reader("dup.csv", text.as_bytes()) {
        Err(Error::Csv {
            location, message, ..
        }) => {
            assert_eq!((location.line, location.column), (1, Some(3)));
            assert!(
                message.contains("duplicate column `yi` (also column 1)"),
                "{message}"
            );
        }
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

// ── issue #16: reported ranges ────────────────────────────────────────────

#[test]
fn a_session_range_loads_typed_with_both_ends() {
    use spotmeta::data::ReportedRange;
    for cell in ["57-84", "57–84"] {
        let (_d, path) = edited(0, "session_min_trained", cell);
        let data = load_spot(&path).unwrap();
        assert_eq!(
            data.rows[0].session_min_trained,
            Some(ReportedRange { lo: 57.0, hi: 84.0 }),
            "{cell}"
        );
    }
    let (_d, path) = edited(0, "sessions_per_week", "3");
    assert_eq!(
        load_spot(&path).unwrap().rows[0].sessions_per_week,
        Some(ReportedRange::point(3.0))
    );
}

#[test]
fn a_malformed_or_descending_range_is_an_error_at_its_cell_saying_what_to_write() {
    for (cell, says) in [
        (
            "57 to 84",
            "write one number (e.g. `45`) or a reported range as LOW-HIGH",
        ),
        ("57 - 84", "without spaces"),
        ("57-84-90", "LOW-HIGH"),
        ("84-57", "write the smaller value first: `57-84`"),
        ("-5-84", "LOW-HIGH"),
    ] {
        let (_d, path) = edited(1, "session_min_control", cell);
        let e = assert_single_error(
            &check(&path).unwrap(),
            3,
            Some(col("session_min_control")),
            "session_min_control",
        );
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "{}:3:{}:",
                path.display(),
                col("session_min_control")
            )),
            "{text}"
        );
        assert!(e.fix.contains(says), "{cell}: {e}");
    }
    let (_d, path) = edited(0, "sessions_per_week", "0-3");
    let e = assert_single_error(
        &check(&path).unwrap(),
        2,
        Some(col("sessions_per_week")),
        "sessions_per_week",
    );
    assert!(e.message.contains("out of range"), "{e}");
}
