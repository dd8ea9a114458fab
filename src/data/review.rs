//! The review record beside the dataset (`datasets/review.toml`): the search
//! date and the PRISMA 2020 counts the dataset cannot hold (records
//! identified per source, duplicates removed, screened, reports sought, not
//! retrieved, assessed, excluded with reasons), validated with
//! `file:line:column` issues, and combined with the dataset's statuses into
//! the numbers of the flow diagram ([`prisma_flow`]; Page et al. 2021,
//! "The PRISMA 2020 statement", *BMJ* 372:n71, Figure 1).
//!
//! A count is a whole number or `"unknown"`: the search log did not record
//! it, and a documented unknown is better than a guess. The rules
//! ([`check_review`]) hold wherever every term is known:
//!
//! | rule | equation |
//! |---|---|
//! | screening | screened = Σ identified − duplicates − automation − other |
//! | retrieval | sought = screened − excluded at screening |
//! | retrieval | sought = not retrieved + assessed |
//! | eligibility | assessed = Σ excluded with reasons + the dataset's retrieved studies (included, listed and excluded rows' `study_id`s, less those not retrieved) |
//! | lists | not retrieved = the number of `[[retrieval.reports]]`; each reason's count ≥ its named reports |
//! | dataset | every `study_id` named exists in the dataset (a not-retrieved one should be `listed`) |
//!
//! The search date lives here, not in code: [`search_date`]. So do the
//! review's GRADE thresholds: the optional `[grade]` table ([`GradeTable`])
//! sets any of `analysis::grade::GradeOptions`' fields (absent keys keep
//! their defaults); a misspelt key is a parse error and a value out of
//! range a check error, both at the key's `file:line:column`
//! ([`grade_value_problem`] holds the ranges for both the check and
//! `GradeOptions::check`).

use super::schema::RobJudgement;
use super::validate::{Issue, Severity};
use super::{SpotDataset, Status, Table};
use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// File name of the review record, beside the dataset.
pub const REVIEW_FILE: &str = "review.toml";

/// The review record that belongs to `dataset` (same directory).
pub fn review_path(dataset: &Path) -> PathBuf {
    dataset
        .parent()
        .map_or_else(|| PathBuf::from(REVIEW_FILE), |d| d.join(REVIEW_FILE))
}

/// A PRISMA count: a whole number, or unknown (not recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// Recorded.
    Known(u64),
    /// Not recorded in the search log.
    Unknown,
}

impl Count {
    /// The number, when known.
    pub fn known(self) -> Option<u64> {
        match self {
            Count::Known(n) => Some(n),
            Count::Unknown => None,
        }
    }

    /// Sum of counts: known only when every term is.
    pub fn sum(counts: impl IntoIterator<Item = Count>) -> Count {
        counts
            .into_iter()
            .try_fold(0u64, |acc, c| c.known().map(|n| acc + n))
            .map_or(Count::Unknown, Count::Known)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Known(n) => write!(f, "{n}"),
            Count::Unknown => f.pad("unknown"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Count::Known(n) => s.serialize_u64(*n),
            Count::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number or \"unknown\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Count, E> {
                u64::try_from(v).map(Count::Known).map_err(|_| {
                    E::custom(format!(
                        "{v} is negative: give a whole number ≥ 0 or \"unknown\""
                    ))
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Count, E> {
                Ok(Count::Known(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Count, E> {
                if v == "unknown" {
                    Ok(Count::Unknown)
                } else {
                    Err(E::custom(format!(
                        "\"{v}\": a count is a whole number or \"unknown\""
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A value with the 1-based line and column it was read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// 1-based line.
    #[serde(skip)]
    pub line: u64,
    /// 1-based column.
    #[serde(skip)]
    pub column: usize,
}

/// The search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Search {
    /// Search (and extraction) date, `YYYY-MM-DD`.
    pub date: At<String>,
    /// Dates of later passes.
    pub updates: Vec<String>,
    /// Where and how it was searched.
    pub how: String,
    /// How much searching was done.
    pub effort: Option<String>,
}

/// Records identified from one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// The source (database, register, corpus, citation searching).
    pub source: String,
    /// Records it returned.
    pub records: At<Count>,
}

/// A report sought but not retrieved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotRetrieved {
    /// The report, e.g. "Mohr 1965".
    pub report: String,
    /// Its dataset `study_id`, when the dataset lists it.
    pub study_id: Option<At<String>>,
    /// Why it was not retrieved.
    pub why: String,
}

/// Reports excluded for one reason after assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    /// The reason.
    pub reason: String,
    /// How many reports.
    pub count: At<Count>,
    /// The reports named in the notes (no more than `count`).
    pub reports: Vec<String>,
    /// A remark (e.g. why the count is unknown).
    pub note: Option<String>,
}

/// The review record: search date and the PRISMA counts outside the dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewRecord {
    /// The file read.
    pub path: PathBuf,
    /// The search.
    pub search: Search,
    /// Records identified, per source.
    pub identification: Vec<Source>,
    /// Duplicate records removed before screening.
    pub duplicates: At<Count>,
    /// Records marked ineligible by automation tools.
    pub automation: At<Count>,
    /// Records removed for other reasons.
    pub other_removed: At<Count>,
    /// Records screened.
    pub screened: At<Count>,
    /// Records excluded at screening.
    pub screen_excluded: At<Count>,
    /// Reports sought for retrieval.
    pub sought: At<Count>,
    /// Reports not retrieved (the count).
    pub not_retrieved: At<Count>,
    /// Reports not retrieved (the list).
    pub not_retrieved_reports: Vec<NotRetrieved>,
    /// Reports assessed for eligibility.
    pub assessed: At<Count>,
    /// `study_id`s whose full text was read (the rest: abstract or a
    /// secondary page).
    pub full_text_read: Vec<String>,
    /// Reports excluded after assessment, by reason.
    pub excluded: Vec<Excluded>,
    /// The review's GRADE thresholds (`[grade]`; empty when absent).
    pub grade: GradeTable,
}

/// A value of the `[grade]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GradeValue {
    /// A number (share, percentage, probability, SMD or count).
    Number(f64),
    /// A risk-of-bias level (`no_information_as`).
    Level(String),
}

impl fmt::Display for GradeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradeValue::Number(x) => write!(f, "{x}"),
            GradeValue::Level(s) => write!(f, "\"{s}\""),
        }
    }
}

/// The rule between the two I² cut-offs of GRADE's inconsistency step,
/// stated once for `check` (on the review record) and `report`
/// (`GradeOptions::check`): the very-serious cut-off is at least the
/// serious one. `None` when they obey it, else what is wrong.
pub fn i2_cutoffs_problem(serious: f64, very_serious: f64) -> Option<String> {
    (very_serious < serious)
        .then(|| format!("i2_very_serious = {very_serious} is below i2_serious = {serious}"))
}

/// Default I² (%) at which GRADE inconsistency is serious (`GradeOptions`).
pub const DEFAULT_I2_SERIOUS: f64 = 50.0;
/// Default I² (%) at which inconsistency can be very serious.
pub const DEFAULT_I2_VERY_SERIOUS: f64 = 75.0;

/// One key of the `[grade]` table with where it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeEntry {
    /// The key: a field name of `analysis::grade::GradeOptions`.
    pub key: &'static str,
    /// Its value, with its 1-based line and column.
    pub value: At<GradeValue>,
}

/// The `[grade]` table of the review record: the GRADE thresholds this
/// review sets, in the order of [`GRADE_KEYS`] (keys not given are absent
/// and keep `GradeOptions`' defaults).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GradeTable {
    /// The keys given.
    pub entries: Vec<GradeEntry>,
}

impl GradeTable {
    /// The entry for `key`, when given.
    pub fn get(&self, key: &str) -> Option<&GradeEntry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// The keys of the `[grade]` table (the fields of
/// `analysis::grade::GradeOptions`), in the codebook's order.
pub const GRADE_KEYS: [&str; 12] = [
    "rct_share_for_high",
    "rob_serious_share",
    "rob_very_serious_share",
    "no_information_as",
    "i2_serious",
    "i2_very_serious",
    "indirect_serious_share",
    "smallest_worthwhile",
    "alpha",
    "power",
    "pub_bias_min_k",
    "pub_bias_alpha",
];

/// The risk-of-bias levels `no_information_as` accepts: the RoB 2 scale of
/// the codebook's judgements ([`RobJudgement`], whose names they take).
pub const GRADE_ROB_LEVELS: [RobJudgement; 4] = [
    RobJudgement::Low,
    RobJudgement::SomeConcerns,
    RobJudgement::High,
    RobJudgement::NoInformation,
];

/// What is wrong with `value` for the `[grade]` key `key`, or None when it
/// is in range. The one place the ranges are written: `check_record`
/// reports through it, and `GradeOptions::check` refuses through it. The
/// rule between two keys (`i2_very_serious` ≥ `i2_serious`) is checked
/// where both are known.
pub fn grade_value_problem(key: &str, value: &GradeValue) -> Option<String> {
    let v = match (key, value) {
        ("no_information_as", GradeValue::Level(s)) => {
            let known = RobJudgement::from_name(s).is_some_and(|j| GRADE_ROB_LEVELS.contains(&j));
            return (!known).then(|| {
                format!(
                    "\"{s}\": give one of {}",
                    GRADE_ROB_LEVELS
                        .iter()
                        .map(|l| format!("\"{}\"", l.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        }
        ("no_information_as", GradeValue::Number(x)) => {
            return Some(format!(
                "{x}: give a risk-of-bias level such as \"some_concerns\""
            ));
        }
        (_, GradeValue::Level(s)) => return Some(format!("\"{s}\": give a number")),
        (_, GradeValue::Number(x)) => *x,
    };
    match key {
        "rct_share_for_high"
        | "rob_serious_share"
        | "rob_very_serious_share"
        | "indirect_serious_share" => {
            (!(v > 0.0 && v <= 1.0)).then(|| format!("{v}: give a weight share in (0, 1]"))
        }
        "i2_serious" | "i2_very_serious" => {
            (!(0.0..=100.0).contains(&v)).then(|| format!("{v}: give a percentage in [0, 100]"))
        }
        "smallest_worthwhile" => {
            (!(v.is_finite() && v > 0.0)).then(|| format!("{v}: give a positive SMD"))
        }
        "alpha" | "power" | "pub_bias_alpha" => {
            (!(v > 0.0 && v < 1.0)).then(|| format!("{v}: give a probability in (0, 1)"))
        }
        "pub_bias_min_k" => (!(v.fract() == 0.0 && v >= 3.0)).then(|| {
            format!("{v}: give a whole number of studies ≥ 3 (Egger's test needs at least 3)")
        }),
        other => Some(format!(
            "unknown key `{other}`: the keys are {}",
            GRADE_KEYS.join(", ")
        )),
    }
}

// ── the file's shape (serde) ──

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    search: RawSearch,
    identification: Vec<RawSource>,
    removed_before_screening: RawRemoved,
    screening: RawScreening,
    retrieval: RawRetrieval,
    eligibility: RawEligibility,
    #[serde(default)]
    grade: RawGrade,
}

/// `[grade]` as written: every key optional, no other key allowed.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    rct_share_for_high: Option<Spanned<f64>>,
    rob_serious_share: Option<Spanned<f64>>,
    rob_very_serious_share: Option<Spanned<f64>>,
    no_information_as: Option<Spanned<String>>,
    i2_serious: Option<Spanned<f64>>,
    i2_very_serious: Option<Spanned<f64>>,
    indirect_serious_share: Option<Spanned<f64>>,
    smallest_worthwhile: Option<Spanned<f64>>,
    alpha: Option<Spanned<f64>>,
    power: Option<Spanned<f64>>,
    pub_bias_min_k: Option<Spanned<f64>>,
    pub_bias_alpha: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    date: Spanned<String>,
    #[serde(default)]
    updates: Vec<String>,
    how: String,
    effort: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    source: String,
    records: Spanned<Count>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemoved {
    duplicates: Spanned<Count>,
    automation: Spanned<Count>,
    other: Spanned<Count>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScreening {
    screened: Spanned<Count>,
    excluded: Spanned<Count>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetrieval {
    sought: Spanned<Count>,
    not_retrieved: Spanned<Count>,
    #[serde(default)]
    reports: Vec<RawNotRetrieved>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotRetrieved {
    report: String,
    study_id: Option<Spanned<String>>,
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEligibility {
    assessed: Spanned<Count>,
    #[serde(default)]
    full_text_read: Vec<String>,
    #[serde(default)]
    excluded: Vec<RawExcluded>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExcluded {
    reason: String,
    count: Spanned<Count>,
    #[serde(default)]
    reports: Vec<String>,
    note: Option<String>,
}

/// The `[grade]` entries in [`GRADE_KEYS`] order, with their places.
fn grade_table(text: &str, g: RawGrade) -> GradeTable {
    let num = |key: &'static str, v: Option<Spanned<f64>>| {
        v.map(|s| {
            let (line, column) = line_col(text, s.span().start);
            GradeEntry {
                key,
                value: At {
                    value: GradeValue::Number(s.into_inner()),
                    line,
                    column,
                },
            }
        })
    };
    let level = g.no_information_as.map(|s| {
        let (line, column) = line_col(text, s.span().start);
        GradeEntry {
            key: "no_information_as",
            value: At {
                value: GradeValue::Level(s.into_inner()),
                line,
                column,
            },
        }
    });
    let entries = [
        num("rct_share_for_high", g.rct_share_for_high),
        num("rob_serious_share", g.rob_serious_share),
        num("rob_very_serious_share", g.rob_very_serious_share),
        level,
        num("i2_serious", g.i2_serious),
        num("i2_very_serious", g.i2_very_serious),
        num("indirect_serious_share", g.indirect_serious_share),
        num("smallest_worthwhile", g.smallest_worthwhile),
        num("alpha", g.alpha),
        num("power", g.power),
        num("pub_bias_min_k", g.pub_bias_min_k),
        num("pub_bias_alpha", g.pub_bias_alpha),
    ];
    GradeTable {
        entries: entries.into_iter().flatten().collect(),
    }
}

/// 1-based (line, column) of byte `offset` in `text` (columns count
/// characters).
fn line_col(text: &str, offset: usize) -> (u64, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let col_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[col_start..].chars().count() + 1)
}

impl ReviewRecord {
    /// Read and parse the record at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read; [`Error::Value`] at the
    /// `line:column` of a TOML or shape error (a missing key, a misspelt
    /// key, a count that is neither a whole number nor `"unknown"`).
    pub fn load(path: &Path) -> Result<ReviewRecord> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parse record text read from `path`.
    ///
    /// # Errors
    ///
    /// As [`ReviewRecord::load`], without the I/O.
    pub fn parse(path: &Path, text: &str) -> Result<ReviewRecord> {
        let raw: RawRecord = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            Error::Value {
                location: Box::new(Location {
                    file: path.to_path_buf(),
                    line,
                    column: Some(column),
                    column_name: None,
                }),
                message: e.message().trim().to_string(),
                fix: "see the comments at the top of the file and datasets/README.md, section 13"
                    .into(),
            }
        })?;
        let at = |s: Spanned<Count>| {
            let (line, column) = line_col(text, s.span().start);
            At {
                value: s.into_inner(),
                line,
                column,
            }
        };
        let at_s = |s: Spanned<String>| {
            let (line, column) = line_col(text, s.span().start);
            At {
                value: s.into_inner(),
                line,
                column,
            }
        };
        Ok(ReviewRecord {
            path: path.to_path_buf(),
            search: Search {
                date: at_s(raw.search.date),
                updates: raw.search.updates,
                how: raw.search.how,
                effort: raw.search.effort,
            },
            identification: raw
                .identification
                .into_iter()
                .map(|s| Source {
                    source: s.source,
                    records: at(s.records),
                })
                .collect(),
            duplicates: at(raw.removed_before_screening.duplicates),
            automation: at(raw.removed_before_screening.automation),
            other_removed: at(raw.removed_before_screening.other),
            screened: at(raw.screening.screened),
            screen_excluded: at(raw.screening.excluded),
            sought: at(raw.retrieval.sought),
            not_retrieved: at(raw.retrieval.not_retrieved),
            not_retrieved_reports: raw
                .retrieval
                .reports
                .into_iter()
                .map(|r| NotRetrieved {
                    report: r.report,
                    study_id: r.study_id.map(at_s),
                    why: r.why,
                })
                .collect(),
            assessed: at(raw.eligibility.assessed),
            full_text_read: raw.eligibility.full_text_read,
            excluded: raw
                .eligibility
                .excluded
                .into_iter()
                .map(|x| Excluded {
                    reason: x.reason,
                    count: at(x.count),
                    reports: x.reports,
                    note: x.note,
                })
                .collect(),
            grade: grade_table(text, raw.grade),
        })
    }

    /// Σ records identified.
    pub fn identified(&self) -> Count {
        Count::sum(self.identification.iter().map(|s| s.records.value))
    }

    /// Σ reports excluded with reasons in the record (not the dataset's).
    pub fn excluded_total(&self) -> Count {
        Count::sum(self.excluded.iter().map(|x| x.count.value))
    }

    /// `study_id`s the record lists as not retrieved.
    fn not_retrieved_ids(&self) -> BTreeSet<&str> {
        self.not_retrieved_reports
            .iter()
            .filter_map(|r| r.study_id.as_ref().map(|s| s.value.as_str()))
            .collect()
    }
}

/// The search date of the review whose record is at `path` (`YYYY-MM-DD`).
///
/// # Errors
///
/// As [`ReviewRecord::load`].
pub fn search_date(path: &Path) -> Result<String> {
    Ok(ReviewRecord::load(path)?.search.date.value)
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.split('-').all(|p| p.bytes().all(|c| c.is_ascii_digit()))
        && matches!(s[5..7].parse::<u32>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u32>(), Ok(1..=31))
}

/// The dataset's studies by status: one entry per `study_id`, with the
/// status of its rows (the first row's, when they differ) and its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetStudies {
    /// `study_id`s with status `included`.
    pub included: Vec<String>,
    /// Data rows of the included studies.
    pub included_rows: usize,
    /// `study_id`s with status `listed`, and the reason.
    pub listed: Vec<(String, String)>,
    /// `study_id`s with status `excluded`, and the reason.
    pub excluded: Vec<(String, String)>,
}

impl DatasetStudies {
    /// Group a dataset's rows by `study_id` and status.
    pub fn of(ds: &SpotDataset) -> DatasetStudies {
        Self::group(
            ds.rows
                .iter()
                .map(|r| (r.study_id.as_str(), r.status, r.status_reason.as_str())),
        )
    }

    /// [`DatasetStudies::of`] from the text cells of a dataset that passed
    /// `spotmeta check` (its header is the codebook's and every `status` is
    /// a codebook spelling, so the cells are what typing would give), for a
    /// check that does not keep the typed rows.
    ///
    /// A table without those columns (a file with errors) has no studies.
    pub fn of_table(table: &Table) -> DatasetStudies {
        let columns = ["study_id", "status", "status_reason"].map(|c| table.column(c));
        let [Some(id), Some(status), Some(reason)] = columns else {
            return Self::group(std::iter::empty());
        };
        Self::group(table.rows.iter().filter_map(|r| {
            let s = Status::from_name(&r.fields[status])?;
            Some((&r.fields[id], s, &r.fields[reason]))
        }))
    }

    /// `(study_id, status, status_reason)` of each row, in file order,
    /// grouped: a study's first row gives its status and reason.
    fn group<'a>(rows: impl Iterator<Item = (&'a str, Status, &'a str)>) -> DatasetStudies {
        let mut seen = super::validate::FnvSet::default();
        let mut out = DatasetStudies {
            included: Vec::new(),
            included_rows: 0,
            listed: Vec::new(),
            excluded: Vec::new(),
        };
        for (id, status, reason) in rows {
            if status == Status::Included {
                out.included_rows += 1;
            }
            if !seen.insert(id) {
                continue;
            }
            let id = id.to_owned();
            match status {
                Status::Included => out.included.push(id),
                Status::Listed => out.listed.push((id, reason.to_owned())),
                Status::Excluded => out.excluded.push((id, reason.to_owned())),
            }
        }
        out
    }

    fn contains(&self, id: &str) -> Option<Status> {
        if self.included.iter().any(|s| s == id) {
            Some(Status::Included)
        } else if self.listed.iter().any(|(s, _)| s == id) {
            Some(Status::Listed)
        } else if self.excluded.iter().any(|(s, _)| s == id) {
            Some(Status::Excluded)
        } else {
            None
        }
    }
}

/// Everything the PRISMA 2020 flow diagram shows, with counts derived where
/// the record leaves them unknown but their terms are known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Search date.
    pub search_date: String,
    /// Records identified, per source.
    pub identified: Vec<(String, Count)>,
    /// Σ identified.
    pub identified_total: Count,
    /// Duplicates removed.
    pub duplicates: Count,
    /// Marked ineligible by automation.
    pub automation: Count,
    /// Removed for other reasons.
    pub other_removed: Count,
    /// Records screened.
    pub screened: Count,
    /// Records excluded at screening.
    pub screen_excluded: Count,
    /// Reports sought for retrieval.
    pub sought: Count,
    /// Reports not retrieved.
    pub not_retrieved: Count,
    /// Reports assessed for eligibility.
    pub assessed: Count,
    /// Reports excluded, by reason: the record's reasons, then the
    /// dataset's excluded studies by their `status_reason`.
    pub excluded: Vec<(String, Count)>,
    /// Studies included in the review (status `included`).
    pub included_studies: usize,
    /// Their data rows.
    pub included_rows: usize,
    /// Studies shown but not pooled (status `listed`, retrieved).
    pub listed_studies: usize,
    /// Included studies assessed on the abstract or a secondary page only.
    pub abstract_only: usize,
    /// Effects and studies in the primary synthesis, when given.
    pub synthesis: Option<(usize, usize)>,
}

/// Combine the record and the dataset into the flow diagram's numbers.
/// `synthesis` is (k, studies) of the primary analysis, when known.
pub fn prisma_flow(
    rec: &ReviewRecord,
    ds: &SpotDataset,
    synthesis: Option<(usize, usize)>,
) -> Flow {
    let studies = DatasetStudies::of(ds);
    let not_ret = rec.not_retrieved_ids();
    let listed_retrieved = studies
        .listed
        .iter()
        .filter(|(id, _)| !not_ret.contains(id.as_str()))
        .count();
    let excluded_retrieved: Vec<&(String, String)> = studies
        .excluded
        .iter()
        .filter(|(id, _)| !not_ret.contains(id.as_str()))
        .collect();
    let dataset_assessed =
        (studies.included.len() + listed_retrieved + excluded_retrieved.len()) as u64;
    let assessed = match rec.assessed.value {
        Count::Unknown => Count::sum([rec.excluded_total(), Count::Known(dataset_assessed)]),
        c => c,
    };
    let not_retrieved = rec.not_retrieved.value;
    let sought = match rec.sought.value {
        Count::Unknown => Count::sum([not_retrieved, assessed]),
        c => c,
    };
    let mut excluded: Vec<(String, Count)> = rec
        .excluded
        .iter()
        .map(|x| (x.reason.clone(), x.count.value))
        .collect();
    for (_, why) in &excluded_retrieved {
        match excluded.iter_mut().find(|(r, _)| r == why) {
            Some((_, c)) => *c = Count::sum([*c, Count::Known(1)]),
            None => excluded.push((why.clone(), Count::Known(1))),
        }
    }
    let abstract_only = studies
        .included
        .iter()
        .filter(|id| !rec.full_text_read.contains(id))
        .count();
    Flow {
        search_date: rec.search.date.value.clone(),
        identified: rec
            .identification
            .iter()
            .map(|s| (s.source.clone(), s.records.value))
            .collect(),
        identified_total: rec.identified(),
        duplicates: rec.duplicates.value,
        automation: rec.automation.value,
        other_removed: rec.other_removed.value,
        screened: rec.screened.value,
        screen_excluded: rec.screen_excluded.value,
        sought,
        not_retrieved,
        assessed,
        excluded,
        included_studies: studies.included.len(),
        included_rows: studies.included_rows,
        listed_studies: listed_retrieved,
        abstract_only,
        synthesis,
    }
}

/// Validate the record (and, given the dataset, its cross-references and
/// the eligibility sum) and list every problem as an [`Issue`] with the
/// record's `file:line:column`.
///
/// # Errors
///
/// As [`ReviewRecord::load`]: a file that cannot be read or parsed is an
/// error, not a list of issues.
pub fn check_review(path: &Path, ds: Option<&SpotDataset>) -> Result<Vec<Issue>> {
    let rec = ReviewRecord::load(path)?;
    Ok(check_record(&rec, ds))
}

/// The issues of the review record beside `dataset` ([`review_path`]), as
/// `spotmeta check` lists them after the dataset's: none when there is no
/// record; its cross-references checked against the dataset's `studies`
/// when the dataset passed (None: it has errors, or was not read); a record
/// that cannot be read or parsed is one error at the place the parser
/// names.
pub fn check_beside(dataset: &Path, studies: Option<&DatasetStudies>) -> Vec<Issue> {
    let rec = review_path(dataset);
    if !rec.is_file() {
        return Vec::new();
    }
    match ReviewRecord::load(&rec) {
        Ok(record) => check_record_against(&record, studies.map(|s| (dataset, s))),
        Err(e) => vec![unreadable(&rec, &e)],
    }
}

/// The issue for a review record that cannot be read or parsed.
fn unreadable(rec: &Path, e: &Error) -> Issue {
    let (line, column, message, fix) = match e {
        Error::Value {
            location,
            message,
            fix,
        } => (location.line, location.column, message.clone(), fix.clone()),
        other => (
            1,
            None,
            other.to_string(),
            "make the review record readable TOML (codebook §13)".to_string(),
        ),
    };
    Issue {
        file: rec.to_path_buf(),
        severity: Severity::Error,
        line,
        column,
        column_name: None,
        study: None,
        message,
        fix,
    }
}

/// [`check_review`] on a record already parsed.
pub fn check_record(rec: &ReviewRecord, ds: Option<&SpotDataset>) -> Vec<Issue> {
    let studies = ds.map(DatasetStudies::of);
    check_record_against(rec, ds.map(|d| d.path.as_path()).zip(studies.as_ref()))
}

/// [`check_record`] against a dataset given by its path and its studies
/// ([`DatasetStudies`]), all the cross-references need: `spotmeta check`
/// uses it without keeping the typed rows.
pub fn check_record_against(
    rec: &ReviewRecord,
    dataset: Option<(&Path, &DatasetStudies)>,
) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut push = |sev: Severity, line: u64, column: usize, key: &str, msg: String, fix: &str| {
        issues.push(Issue {
            file: rec.path.clone(),
            severity: sev,
            line,
            column: Some(column),
            column_name: Some(key.to_string()),
            study: None,
            message: msg,
            fix: fix.to_string(),
        });
    };
    let d = &rec.search.date;
    if !valid_date(&d.value) {
        push(
            Severity::Error,
            d.line,
            d.column,
            "search.date",
            format!("search date \"{}\" is not YYYY-MM-DD", d.value),
            "write the date as e.g. \"2026-11-23\"",
        );
    }
    for u in &rec.search.updates {
        if !valid_date(u) || u.as_str() < d.value.as_str() {
            push(
                Severity::Error,
                d.line,
                d.column,
                "search.updates",
                format!("update \"{u}\" is not a YYYY-MM-DD date on or after the search date"),
                "list later passes as dates on or after search.date",
            );
        }
    }
    let eq = |lhs: &At<Count>, rhs: Count, what: &str, key: &str, rule: &str| match (
        lhs.value.known(),
        rhs.known(),
    ) {
        (Some(a), Some(b)) if a != b => Some((
            lhs.line,
            lhs.column,
            key.to_string(),
            format!("{what} = {a}, but {rule} = {b}"),
        )),
        _ => None,
    };
    let screened_rule = match (
        rec.identified().known(),
        Count::sum([
            rec.duplicates.value,
            rec.automation.value,
            rec.other_removed.value,
        ])
        .known(),
    ) {
        (Some(i), Some(r)) if r > i => {
            push(
                Severity::Error,
                rec.duplicates.line,
                rec.duplicates.column,
                "removed_before_screening",
                format!("{r} records removed before screening, but only {i} identified"),
                "records removed cannot exceed records identified",
            );
            Count::Unknown
        }
        (Some(i), Some(r)) => Count::Known(i - r),
        _ => Count::Unknown,
    };
    let sought_from_screening = match (
        rec.screened.value.known(),
        rec.screen_excluded.value.known(),
    ) {
        (Some(s), Some(x)) if x > s => {
            push(
                Severity::Error,
                rec.screen_excluded.line,
                rec.screen_excluded.column,
                "screening.excluded",
                format!("{x} records excluded at screening, but only {s} screened"),
                "records excluded cannot exceed records screened",
            );
            Count::Unknown
        }
        (Some(s), Some(x)) => Count::Known(s - x),
        _ => Count::Unknown,
    };
    let listed = Count::Known(rec.not_retrieved_reports.len() as u64);
    let mut found = vec![
        eq(
            &rec.screened,
            screened_rule,
            "screened",
            "screening.screened",
            "identified − duplicates − automation − other",
        ),
        eq(
            &rec.sought,
            sought_from_screening,
            "sought",
            "retrieval.sought",
            "screened − excluded at screening",
        ),
        eq(
            &rec.sought,
            Count::sum([rec.not_retrieved.value, rec.assessed.value]),
            "sought",
            "retrieval.sought",
            "not retrieved + assessed",
        ),
        eq(
            &rec.not_retrieved,
            listed,
            "not_retrieved",
            "retrieval.not_retrieved",
            "the number of [[retrieval.reports]]",
        ),
    ];
    for x in &rec.excluded {
        if let Some(n) = x.count.value.known()
            && (x.reports.len() as u64) > n
        {
            found.push(Some((
                x.count.line,
                x.count.column,
                "eligibility.excluded.count".into(),
                format!(
                    "\"{}\": count = {n}, but {} reports are named",
                    x.reason,
                    x.reports.len()
                ),
            )));
        }
    }
    if let Some((ds_path, studies)) = dataset {
        let not_ret = rec.not_retrieved_ids();
        let retrieved = studies.included.len()
            + studies
                .listed
                .iter()
                .chain(&studies.excluded)
                .filter(|(id, _)| !not_ret.contains(id.as_str()))
                .count();
        found.push(eq(
            &rec.assessed,
            Count::sum([rec.excluded_total(), Count::Known(retrieved as u64)]),
            "assessed",
            "eligibility.assessed",
            "excluded with reasons + the dataset's retrieved studies",
        ));
        for r in &rec.not_retrieved_reports {
            let Some(id) = &r.study_id else { continue };
            match studies.contains(&id.value) {
                None => push(
                    Severity::Error,
                    id.line,
                    id.column,
                    "retrieval.reports.study_id",
                    format!("study_id `{}` is not in {}", id.value, ds_path.display()),
                    "name a study_id of the dataset, or drop study_id",
                ),
                Some(Status::Listed) => {}
                Some(s) => push(
                    Severity::Warning,
                    id.line,
                    id.column,
                    "retrieval.reports.study_id",
                    format!(
                        "study_id `{}` is not retrieved, but its dataset status is `{s}`",
                        id.value
                    ),
                    "a study whose report was not retrieved is `listed` in the dataset",
                ),
            }
        }
        for id in &rec.full_text_read {
            if studies.contains(id).is_none() {
                push(
                    Severity::Error,
                    rec.assessed.line,
                    rec.assessed.column,
                    "eligibility.full_text_read",
                    format!("study_id `{id}` is not in {}", ds_path.display()),
                    "name study_ids of the dataset",
                );
            }
        }
    }
    for e in &rec.grade.entries {
        if let Some(msg) = grade_value_problem(e.key, &e.value.value) {
            push(
                Severity::Error,
                e.value.line,
                e.value.column,
                &format!("grade.{}", e.key),
                format!("[grade] {}: {msg}", e.key),
                "see datasets/README.md, section 13, for each GRADE threshold's range",
            );
        }
    }
    // The cross-key rule on the values in effect: a key the table leaves
    // out takes its default, so setting only one of the two is checked too.
    let (lo, hi) = (
        rec.grade.get("i2_serious"),
        rec.grade.get("i2_very_serious"),
    );
    let value = |e: Option<&GradeEntry>, key: &str, default: f64| match e {
        None => Some(default),
        Some(e) => match &e.value.value {
            GradeValue::Number(x) if grade_value_problem(key, &e.value.value).is_none() => Some(*x),
            _ => None,
        },
    };
    if let (Some(a), Some(b)) = (
        value(lo, "i2_serious", DEFAULT_I2_SERIOUS),
        value(hi, "i2_very_serious", DEFAULT_I2_VERY_SERIOUS),
    ) && let Some(problem) = i2_cutoffs_problem(a, b)
        && let Some(at) = hi.or(lo)
    {
        push(
            Severity::Error,
            at.value.line,
            at.value.column,
            &format!("grade.{}", at.key),
            format!("[grade] {problem} (a key left out takes its default)"),
            "the very-serious I² cut-off is at least the serious one",
        );
    }
    for (line, column, key, msg) in found.into_iter().flatten() {
        push(
            Severity::Error,
            line,
            column,
            &key,
            format!("PRISMA counts do not add up: {msg}"),
            "correct the count, or write \"unknown\" where the log did not record it",
        );
    }
    issues.sort_by_key(|i| (i.line, i.column));
    issues
}
