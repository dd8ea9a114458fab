//! PRISMA 2020 (issue #17): the review record beside the dataset parses,
//! its counts add up (and `check_review` fails at the right line:column when
//! they do not), the flow combines it with the dataset's statuses, and the
//! diagram's layout is snapshot-tested.

mod common;

use spotmeta::data::load_spot;
use spotmeta::data::review::{
    Count, ReviewRecord, check_record, check_review, prisma_flow, review_path, search_date,
};
use std::path::Path;

fn bundled() -> (ReviewRecord, spotmeta::data::SpotDataset) {
    let csv = common::dataset("spot_reduction.csv");
    let rec = ReviewRecord::load(&review_path(&csv)).unwrap();
    (rec, load_spot(&csv).unwrap())
}

#[test]
fn the_bundled_record_passes_check_with_the_dataset() {
    let (rec, ds) = bundled();
    let issues = check_record(&rec, Some(&ds));
    assert!(issues.is_empty(), "{issues:#?}");
}

#[test]
fn the_search_date_comes_from_the_record() {
    let csv = common::dataset("spot_reduction.csv");
    assert_eq!(search_date(&review_path(&csv)).unwrap(), "2026-11-23");
}

#[test]
fn the_bundled_flow_takes_its_lower_boxes_from_the_dataset() {
    let (rec, ds) = bundled();
    let f = prisma_flow(&rec, &ds, Some((2, 1)));
    // datasets/README.md section 5: 17 included study ids, 5 listed (2 of
    // them known only as citations, i.e. not retrieved), 1 excluded.
    assert_eq!(f.included_studies, 17);
    assert_eq!(f.listed_studies, 3);
    assert_eq!(f.not_retrieved, Count::Known(7));
    assert_eq!(f.identified_total, Count::Unknown);
    // One exclusion count is unknown, so assessed and sought are unknown.
    assert_eq!(f.assessed, Count::Unknown);
    assert_eq!(f.sought, Count::Unknown);
    // Gwinup 1971 (dataset, excluded) joins the record's reasons.
    assert!(
        f.excluded
            .iter()
            .any(|(r, c)| r.starts_with("Cross-sectional") && *c == Count::Known(1))
    );
    assert_eq!(f.abstract_only, 16);
}

/// A record whose every count is known and adds up against the bundled
/// dataset (21 retrieved studies: 17 included, 3 listed, 1 excluded).
const FULL: &str = r#"[search]
date = "2026-11-23"
how = "test"

[[identification]]
source = "database A"
records = 120

[[identification]]
source = "database B"
records = 30

[removed_before_screening]
duplicates = 23
automation = 0
other = 0

[screening]
screened = 127
excluded = 100

[retrieval]
sought = 27
not_retrieved = 2

[[retrieval.reports]]
report = "Olson & Edelstein 1968"
study_id = "olsonedelstein1968"
why = "not located"

[[retrieval.reports]]
report = "Noland & Kearney 1978"
study_id = "nolandkearney1978"
why = "not located"

[eligibility]
assessed = 25
full_text_read = ["walts2008"]

[[eligibility.excluded]]
reason = "no comparison"
count = 4
reports = ["a", "b"]
"#;

fn issues_of(text: &str) -> Vec<spotmeta::data::Issue> {
    let (_, ds) = bundled();
    let rec = ReviewRecord::parse(Path::new("review.toml"), text).unwrap();
    check_record(&rec, Some(&ds))
}

/// Replace the one line starting with `key =` in FULL.
fn with(key: &str, value: &str) -> String {
    let mut done = false;
    let out: Vec<String> = FULL
        .lines()
        .map(|l| {
            if !done && l.starts_with(&format!("{key} =")) {
                done = true;
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line `{key} =`");
    out.join("\n") + "\n"
}

fn line_of(text: &str, key: &str) -> u64 {
    text.lines()
        .position(|l| l.starts_with(&format!("{key} =")))
        .unwrap() as u64
        + 1
}

#[test]
fn counts_that_add_up_pass_and_give_the_flow() {
    assert!(issues_of(FULL).is_empty(), "{:#?}", issues_of(FULL));
    let (_, ds) = bundled();
    let rec = ReviewRecord::parse(Path::new("review.toml"), FULL).unwrap();
    let f = prisma_flow(&rec, &ds, None);
    assert_eq!(f.identified_total, Count::Known(150));
    assert_eq!(f.assessed, Count::Known(25));
    // 4 (record) + 1 (Gwinup 1971 from the dataset) excluded; 3 + 17 remain.
    let excluded = Count::sum(f.excluded.iter().map(|(_, c)| *c));
    assert_eq!(excluded, Count::Known(5));
    assert_eq!(25 - 5, f.included_studies as u64 + f.listed_studies as u64);
}

#[test]
fn each_sum_that_does_not_add_up_is_an_error_at_its_line_and_column() {
    for (key, value, rule) in [
        (
            "screened",
            "126",
            "identified − duplicates − automation − other",
        ),
        ("sought", "26", "screened − excluded at screening"),
        ("not_retrieved", "3", "the number of [[retrieval.reports]]"),
        (
            "assessed",
            "24",
            "excluded with reasons + the dataset's retrieved studies",
        ),
    ] {
        let text = with(key, value);
        let issues = issues_of(&text);
        let hit = issues
            .iter()
            .find(|i| i.message.contains(rule))
            .unwrap_or_else(|| panic!("{key} = {value}: {issues:#?}"));
        assert!(hit.is_error());
        assert_eq!(hit.line, line_of(&text, key), "{hit}");
        assert_eq!(hit.column, Some(key.chars().count() + 4), "{hit}");
        assert!(
            hit.to_string()
                .starts_with(&format!("review.toml:{}:", hit.line))
        );
    }
}

#[test]
fn unknown_counts_suspend_only_the_sums_they_enter() {
    // Screening unknown: the screening and sought-from-screening sums are
    // not checked, the others still are.
    let text = with("screened", "\"unknown\"");
    assert!(issues_of(&text).is_empty());
    let text = with("screened", "\"unknown\"").replace("assessed = 25", "assessed = 20");
    assert_eq!(issues_of(&text).len(), 2, "{:#?}", issues_of(&text));
}

#[test]
fn more_named_reports_than_the_count_is_an_error() {
    let text = FULL.replace("count = 4", "count = 1");
    let issues = issues_of(&text);
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("2 reports are named")),
        "{issues:#?}"
    );
}

#[test]
fn a_study_id_not_in_the_dataset_is_an_error_and_a_wrong_status_a_warning() {
    let text = FULL.replace("\"olsonedelstein1968\"", "\"nosuch1999\"");
    let issues = issues_of(&text);
    assert!(
        issues
            .iter()
            .any(|i| i.is_error() && i.message.contains("`nosuch1999` is not in")),
        "{issues:#?}"
    );
    let text = FULL.replace("\"olsonedelstein1968\"", "\"walts2008\"");
    let issues = issues_of(&text);
    assert!(
        issues
            .iter()
            .any(|i| !i.is_error() && i.message.contains("status is `included`")),
        "{issues:#?}"
    );
}

#[test]
fn a_count_that_is_not_a_number_or_unknown_fails_at_its_line_and_column() {
    let text = with("duplicates", "\"about 20\"");
    let err = ReviewRecord::parse(Path::new("review.toml"), &text)
        .unwrap_err()
        .to_string();
    let line = line_of(&text, "duplicates");
    assert!(err.starts_with(&format!("review.toml:{line}:14")), "{err}");
    assert!(err.contains("whole number or \"unknown\""), "{err}");
    let text = with("duplicates", "-1");
    let err = ReviewRecord::parse(Path::new("review.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("negative"), "{err}");
    // A misspelt key is refused, not ignored.
    let text = FULL.replace("[screening]\nscreened", "[screening]\nscrened");
    assert!(ReviewRecord::parse(Path::new("review.toml"), &text).is_err());
}

#[test]
fn check_review_reads_the_file_beside_the_dataset() {
    let csv = common::dataset("spot_reduction.csv");
    let (_, ds) = bundled();
    assert!(
        check_review(&review_path(&csv), Some(&ds))
            .unwrap()
            .is_empty()
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("review.toml");
    std::fs::write(&bad, with("duplicates", "22")).unwrap();
    assert_eq!(check_review(&bad, Some(&ds)).unwrap().len(), 1);
}

#[test]
fn bundled_prisma_layout_snapshot() {
    use spotmeta::output::prisma::{PrismaStyle, prisma_layout};
    let (rec, ds) = bundled();
    let l = prisma_layout(
        &prisma_flow(&rec, &ds, Some((2, 1))),
        &PrismaStyle::default(),
    );
    // Boxes never overlap the next row and every arrow ends on a box edge.
    for a in &l.arrows {
        assert!(
            l.boxes.iter().any(|b| a.to.0 == b.x0 || a.to.1 == b.y0),
            "{a:?}"
        );
    }
    insta::assert_json_snapshot!("bundled_prisma_layout", l);
}

#[test]
fn prisma_command_writes_a_png_and_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["prisma.png", "prisma.svg"] {
        let out = dir.path().join(name);
        common::spotmeta()
            .arg("prisma")
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let bytes = std::fs::read(&out).unwrap();
        if name.ends_with("png") {
            assert_eq!(&bytes[1..4], b"PNG");
        } else {
            assert!(bytes.starts_with(b"<svg"));
        }
    }
}

#[test]
fn prisma_command_fails_when_the_counts_do_not_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("review.toml");
    std::fs::write(&rec, with("duplicates", "22")).unwrap();
    common::spotmeta()
        .arg("prisma")
        .arg("--record")
        .arg(&rec)
        .assert()
        .failure()
        .stderr(predicates::str::contains("PRISMA counts do not add up"))
        .stderr(predicates::str::contains(format!(
            "review.toml:{}:",
            line_of(FULL, "screened")
        )));
}

#[test]
fn prisma_refuses_an_out_that_is_its_record_or_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("spot_reduction.csv");
    std::fs::copy(common::dataset("spot_reduction.csv"), &csv).unwrap();
    let rec = dir.path().join("review.toml");
    std::fs::copy(common::dataset("review.toml"), &rec).unwrap();
    for target in [&csv, &rec] {
        let before = std::fs::read(target).unwrap();
        common::spotmeta()
            .arg("prisma")
            .arg(&csv)
            .args(["--format", "png", "--out"])
            .arg(target)
            .assert()
            .failure();
        assert_eq!(std::fs::read(target).unwrap(), before);
    }
}
