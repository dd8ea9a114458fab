//! Stage 1 — studies in: reading CSV files and checking the curated
//! spot-reduction dataset.
//!
//! | need | entry point |
//! |---|---|
//! | any CSV with metafor-style columns (`yi`, `vi`, `m1i`…) | [`Table::read`], then [`Table::numeric`] |
//! | list every problem of `spot_reduction.csv` (`spotmeta check`) | [`check`] → [`CheckReport`] |
//! | typed rows of `spot_reduction.csv`, refusing a file with errors | [`load_spot`] → [`SpotDataset`] |
//! | every problem, then work on each typed row without keeping the rows (the risk-of-bias rules of `spotmeta check`) | [`check_each`] → [`CheckReport`], [`CheckedRows`] |
//! | the bundled dataset wherever the command runs, and `report`'s default folder | [`bundled::bundled_dataset`], [`bundled::default_report_dir`] |
//! | the review record beside it (`review.toml`: search date, PRISMA counts) | [`review::ReviewRecord::load`], [`review::check_review`], [`review::search_date`] |
//!
//! The dataset's columns, their order and their rules live in one table,
//! [`schema::COLUMNS`]; problems are collected as [`Issue`]s (errors and
//! warnings) with `file:line:column`, the study and a fix sentence.
//!
//! ```no_run
//! use spotmeta::data::{check, load_spot};
//! use std::path::Path;
//!
//! let path = Path::new("datasets/spot_reduction.csv");
//! let report = check(path)?;
//! print!("{report}");
//! if report.is_ok() {
//!     let data = load_spot(path)?;
//!     println!("{} rows", data.rows.len());
//! }
//! # Ok::<(), spotmeta::Error>(())
//! ```

pub mod append;
pub mod bundled;
pub mod fsguard;
pub mod io;
pub mod load;
pub mod review;
pub mod schema;
pub mod validate;

pub use load::{Cells, Table, TableRow};
pub use schema::{
    AssessmentMethod, COLUMNS, ColumnSpec, Comparison, Design, DietControlled, Direction, DispType,
    EeMeasured, InterventionType, Kind, OutcomeType, ReportedRange, RobJudgement, RobTool, Status,
    ValueSource,
};
pub use validate::{Issue, Severity};

use crate::error::{Error, Location, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// One row of `spot_reduction.csv`: one study × cohort × comparison ×
/// regional outcome. Field names are the column names (see
/// [`schema::COLUMNS`] for what each means); empty cells are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotRow {
    /// 1-based line of the row in the file (not a column).
    #[serde(skip)]
    pub line: u64,
    /// Study key: first author + year, e.g. `brobakken2023`.
    pub study_id: String,
    /// Sub-sample of the study (`all` when there is one).
    pub cohort: String,
    /// Label printed in tables and plots.
    pub label: String,
    /// Author list.
    pub authors: String,
    /// Publication year.
    pub year: u32,
    /// DOI.
    pub doi: Option<String>,
    /// PubMed ID.
    pub pmid: Option<String>,
    /// Web address of the report.
    pub source_url: Option<String>,
    /// Table, figure or page the numbers came from.
    pub source_location: Option<String>,
    /// How the numbers were extracted.
    pub extraction_notes: Option<String>,
    /// Study design.
    pub design: Option<Design>,
    /// Kind of intervention.
    pub intervention_type: InterventionType,
    /// Who took part.
    pub population: Option<String>,
    /// Sample size, trained arm.
    pub n_trained: Option<u32>,
    /// Sample size, control arm.
    pub n_control: Option<u32>,
    /// Intervention length in weeks.
    pub weeks: Option<f64>,
    /// Sessions per week (a single value or a reported range).
    pub sessions_per_week: Option<ReportedRange>,
    /// Minutes per session, trained arm (a single value or a reported range).
    pub session_min_trained: Option<ReportedRange>,
    /// Minutes per session, control arm (a single value or a reported range).
    pub session_min_control: Option<ReportedRange>,
    /// What the trained region is compared with.
    pub comparison: Option<Comparison>,
    /// Whether energy intake was controlled.
    pub diet_controlled: Option<DietControlled>,
    /// Whether session energy expenditure was known.
    pub ee_measured: Option<EeMeasured>,
    /// Body region measured.
    pub region: Option<String>,
    /// Fat assessment method.
    pub method: Option<AssessmentMethod>,
    /// Units of means and dispersions.
    pub units: Option<String>,
    /// What the outcome measures.
    pub outcome_type: OutcomeType,
    /// Whether this is the study's pooled outcome (`yes`/`no` in the CSV).
    #[serde(with = "yes_no")]
    pub primary: bool,
    /// Whether dispersions are SDs or SEs.
    pub disp_type: Option<DispType>,
    /// Baseline mean, trained.
    pub pre_mean_t: Option<f64>,
    /// Baseline dispersion, trained.
    pub pre_sd_t: Option<f64>,
    /// Final mean, trained.
    pub post_mean_t: Option<f64>,
    /// Final dispersion, trained.
    pub post_sd_t: Option<f64>,
    /// Baseline mean, control.
    pub pre_mean_c: Option<f64>,
    /// Baseline dispersion, control.
    pub pre_sd_c: Option<f64>,
    /// Final mean, control.
    pub post_mean_c: Option<f64>,
    /// Final dispersion, control.
    pub post_sd_c: Option<f64>,
    /// Mean change, trained.
    pub change_mean_t: Option<f64>,
    /// Dispersion of the change, trained.
    pub change_sd_t: Option<f64>,
    /// Mean change, control.
    pub change_mean_c: Option<f64>,
    /// Dispersion of the change, control.
    pub change_sd_c: Option<f64>,
    /// Reported between-arm difference.
    pub diff_mean: Option<f64>,
    /// Its lower confidence limit.
    pub diff_ci_lb: Option<f64>,
    /// Its upper confidence limit.
    pub diff_ci_ub: Option<f64>,
    /// Its standard error.
    pub diff_se: Option<f64>,
    /// Its t statistic.
    pub diff_t: Option<f64>,
    /// Its p value.
    pub diff_p: Option<f64>,
    /// Pre–post correlation.
    pub r_prepost: Option<f64>,
    /// Where `r_prepost` came from.
    pub r_prepost_source: Option<ValueSource>,
    /// Between-limb correlation.
    pub r: Option<f64>,
    /// Where `r` came from.
    pub r_source: Option<ValueSource>,
    /// Which way the authors' result points.
    #[serde(serialize_with = "crate::data::schema::Direction::serialize_json")]
    pub direction: Option<Direction>,
    /// p value as printed.
    pub p_text: Option<String>,
    /// Manual-review flag (`MANUAL_…`).
    pub manual_flag: Option<String>,
    /// Why the row is flagged.
    pub manual_flag_reason: Option<String>,
    /// Whether the row enters the analysis.
    pub status: Status,
    /// Why the row has its status.
    pub status_reason: String,
    /// Risk-of-bias tool (`rob2` or `robins_i`); None: not assessed.
    pub rob_tool: Option<RobTool>,
    /// Risk-of-bias judgement, domain 1 (see [`schema::COLUMNS`]).
    pub rob_d1: Option<RobJudgement>,
    /// Support for `rob_d1`: a quote or a citation.
    pub rob_d1_support: Option<String>,
    /// Risk-of-bias judgement, domain 2 (see [`schema::COLUMNS`]).
    pub rob_d2: Option<RobJudgement>,
    /// Support for `rob_d2`: a quote or a citation.
    pub rob_d2_support: Option<String>,
    /// Risk-of-bias judgement, domain 3 (see [`schema::COLUMNS`]).
    pub rob_d3: Option<RobJudgement>,
    /// Support for `rob_d3`: a quote or a citation.
    pub rob_d3_support: Option<String>,
    /// Risk-of-bias judgement, domain 4 (see [`schema::COLUMNS`]).
    pub rob_d4: Option<RobJudgement>,
    /// Support for `rob_d4`: a quote or a citation.
    pub rob_d4_support: Option<String>,
    /// Risk-of-bias judgement, domain 5 (see [`schema::COLUMNS`]).
    pub rob_d5: Option<RobJudgement>,
    /// Support for `rob_d5`: a quote or a citation.
    pub rob_d5_support: Option<String>,
    /// Risk-of-bias judgement, domain 6 (see [`schema::COLUMNS`]).
    pub rob_d6: Option<RobJudgement>,
    /// Support for `rob_d6`: a quote or a citation.
    pub rob_d6_support: Option<String>,
    /// Risk-of-bias judgement, domain 7 (see [`schema::COLUMNS`]).
    pub rob_d7: Option<RobJudgement>,
    /// Support for `rob_d7`: a quote or a citation.
    pub rob_d7_support: Option<String>,
    /// Overall risk of bias as entered (None: derived, the worst domain).
    pub rob_overall: Option<RobJudgement>,
    /// Why the entered overall differs from the worst domain.
    pub rob_overall_reason: Option<String>,
}

/// The row key, unique within a file: `(study_id, cohort, comparison,
/// region, method)`.
pub type SpotKey<'a> = (
    &'a str,
    &'a str,
    Option<Comparison>,
    Option<&'a str>,
    Option<AssessmentMethod>,
);

impl SpotRow {
    /// The key that must be unique within the file.
    pub fn key(&self) -> SpotKey<'_> {
        (
            &self.study_id,
            &self.cohort,
            self.comparison,
            self.region.as_deref(),
            self.method,
        )
    }

    /// The label for tables and plots: `label`, plus the cohort unless it is
    /// `all`.
    pub fn display_label(&self) -> String {
        if self.cohort == "all" {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, self.cohort)
        }
    }

    /// The entered risk-of-bias judgements and support texts of domains 1–7
    /// (`rob_d1`, `rob_d1_support`, …).
    pub fn rob_cells(&self) -> [(Option<RobJudgement>, Option<&str>); 7] {
        [
            (self.rob_d1, self.rob_d1_support.as_deref()),
            (self.rob_d2, self.rob_d2_support.as_deref()),
            (self.rob_d3, self.rob_d3_support.as_deref()),
            (self.rob_d4, self.rob_d4_support.as_deref()),
            (self.rob_d5, self.rob_d5_support.as_deref()),
            (self.rob_d6, self.rob_d6_support.as_deref()),
            (self.rob_d7, self.rob_d7_support.as_deref()),
        ]
    }

    /// The outcome as "region method" (`?` for what is not recorded).
    pub fn outcome_label(&self) -> String {
        format!(
            "{} {}",
            self.region.as_deref().unwrap_or("?"),
            self.method.map(|m| m.as_str()).unwrap_or("?")
        )
    }
}

/// `primary` is written `yes`/`no` in the CSV and held as a `bool`.
/// Items found by their file line: by binary search when they are in file
/// order (every row list read from a file is), through a hash map
/// otherwise. Built once per list in O(k); each lookup is O(log k), so a
/// pass over k rows that looks each one up stays O(k log k) (issue #19:
/// these lookups were linear scans, O(k²) over a table).
pub struct ByLine<'a, T> {
    items: &'a [T],
    line_of: fn(&T) -> u64,
    /// Positions by line when `items` are not in increasing line order.
    map: Option<std::collections::HashMap<u64, usize>>,
}

impl<'a, T> ByLine<'a, T> {
    /// Index `items` by `line_of`.
    pub fn new(items: &'a [T], line_of: fn(&T) -> u64) -> Self {
        let sorted = items.windows(2).all(|w| line_of(&w[0]) < line_of(&w[1]));
        let map = (!sorted).then(|| {
            let mut m = std::collections::HashMap::with_capacity(items.len());
            for (i, t) in items.iter().enumerate() {
                // The first item of a line wins, as a scan would find it.
                m.entry(line_of(t)).or_insert(i);
            }
            m
        });
        ByLine {
            items,
            line_of,
            map,
        }
    }

    /// The item at `line`, if any.
    pub fn get(&self, line: u64) -> Option<&'a T> {
        let i = match &self.map {
            Some(m) => *m.get(&line)?,
            None => self.items.binary_search_by_key(&line, self.line_of).ok()?,
        };
        self.items.get(i)
    }
}

mod yes_no {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *value { "yes" } else { "no" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match String::deserialize(d)?.as_str() {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(D::Error::custom(format!(
                "expected `yes` or `no`, found \"{other}\""
            ))),
        }
    }
}

/// A loaded spot-reduction dataset: typed rows plus the warnings found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpotDataset {
    /// The file read.
    pub path: PathBuf,
    /// Its header (the codebook order).
    pub headers: Vec<String>,
    /// One typed row per data line.
    pub rows: Vec<SpotRow>,
    /// Warnings (a loaded dataset has no errors).
    pub issues: Vec<Issue>,
}

/// Everything [`check`] found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The file checked.
    pub path: PathBuf,
    /// Data rows read (ragged or undecodable rows are not counted).
    pub rows: usize,
    /// Distinct `study_id`s.
    pub studies: usize,
    /// Every issue, by line and column.
    pub issues: Vec<Issue>,
}

impl CheckReport {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.issues.iter().filter(|i| i.is_error()).count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.issues.len() - self.errors()
    }

    /// Whether the file has no errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors() == 0
    }
}

impl fmt::Display for CheckReport {
    /// One line per issue, then `N rows, M studies: E error(s), W warning(s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for issue in &self.issues {
            writeln!(f, "{issue}")?;
        }
        writeln!(
            f,
            "{} rows, {} studies: {} error(s), {} warning(s)",
            self.rows,
            self.studies,
            self.errors(),
            self.warnings()
        )
    }
}

impl Serialize for CheckReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            path: &'a Path,
            rows: usize,
            studies: usize,
            errors: usize,
            warnings: usize,
            issues: &'a [Issue],
        }
        Json {
            path: &self.path,
            rows: self.rows,
            studies: self.studies,
            errors: self.errors(),
            warnings: self.warnings(),
            issues: &self.issues,
        }
        .serialize(s)
    }
}

/// Reads and validates `path`, returning the table and every issue.
fn analyse(path: &Path) -> Result<(Table, Vec<Issue>)> {
    fsguard::regular_file(path)?;
    // Read and parsed a piece at a time, in parallel, each piece's bytes
    // dropped once its cells are copied (100,000 rows are 206 MB).
    let (table, problems) = load::read_lenient_path(path)?;
    let issues = validate::validate(&table, problems);
    Ok((table, issues))
}

/// [`analyse`] on file contents already in memory (no copy).
pub(crate) fn analyse_bytes(path: &Path, bytes: &[u8]) -> Result<(Table, Vec<Issue>)> {
    let (table, problems) = load::read_lenient_bytes(path.to_path_buf(), bytes)?;
    let issues = validate::validate(&table, problems);
    Ok((table, issues))
}

/// Whether a header looks like the spot-reduction dataset (it names
/// `study_id`, `design` and `status`), so commands can switch to its
/// analysis; a header that is close but not exact is then reported by
/// [`check`] instead of being read as a generic table.
pub fn is_spot_header(headers: &[String]) -> bool {
    ["study_id", "design", "status"].iter().all(|c| {
        headers
            .iter()
            .any(|h| h.trim_start_matches('\u{feff}') == *c)
    })
}

/// Checks `spot_reduction.csv`-style data at `path` and lists every problem.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; [`Error::Csv`] if it is empty or
/// its header is not UTF-8. Everything else — ragged rows included — is an
/// [`Issue`] in the report.
pub fn check(path: &Path) -> Result<CheckReport> {
    let (table, issues) = analyse(path)?;
    Ok(report(path, &table, issues))
}

/// [`check`] on file contents held in memory (`path` names them in messages),
/// e.g. the file as it would be after `spotmeta add`.
pub fn check_bytes(path: &Path, bytes: &[u8]) -> Result<CheckReport> {
    let (table, issues) = analyse_bytes(path, bytes)?;
    Ok(report(path, &table, issues))
}

/// The [`CheckReport`] of `table` with its `issues`.
pub(crate) fn report(path: &Path, table: &Table, issues: Vec<Issue>) -> CheckReport {
    let studies = table
        .column("study_id")
        .map(|c| {
            let mut seen = validate::FnvSet::default();
            seen.reserve(table.rows.len());
            for row in &table.rows {
                let id = &row.fields[c];
                if !id.is_empty() {
                    seen.insert(id);
                }
            }
            seen.len()
        })
        .unwrap_or(0);
    CheckReport {
        path: path.to_path_buf(),
        rows: table.rows.len(),
        studies,
        issues,
    }
}

/// [`check`] and, when the file has no error, its typed rows, from one
/// read and one validation (a caller that checks more on the typed rows
/// need not read and validate the file again).
///
/// # Errors
///
/// As [`check`], and [`load_spot`]'s when a clean file cannot be typed.
pub fn check_and_load(path: &Path) -> Result<(CheckReport, Option<SpotDataset>)> {
    let (table, issues) = analyse(path)?;
    let report = report(path, &table, issues.clone());
    let ds = if report.is_ok() {
        Some(typed(path, (table, issues))?)
    } else {
        None
    };
    Ok((report, ds))
}

/// What [`check_each`] gives for a file without errors.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRows<T> {
    /// The dataset's studies by status (what the review record's
    /// cross-references need).
    pub studies: review::DatasetStudies,
    /// The per-row function's result for every row, in file order.
    pub each: Vec<T>,
}

/// [`check`] and, when the file has no error, `each` applied to every typed
/// row, from one read and one validation. The rows are typed in parallel and
/// each is dropped as soon as `each` has seen it, so the file is never held
/// as text and typed rows at once: a check that needs the typed rows only
/// row by row (`analysis::rob::check`) costs one row of memory for them.
///
/// # Errors
///
/// As [`check_and_load`].
pub fn check_each<T: Send>(
    path: &Path,
    each: impl Fn(&SpotRow) -> T + Sync,
) -> Result<(CheckReport, Option<CheckedRows<T>>)> {
    let (table, issues) = analyse(path)?;
    // The studies are grouped beside the count of the report (both hash
    // every `study_id`); they are used only when the file has no error.
    let (report, studies) = rayon::join(
        || report(path, &table, issues),
        || review::DatasetStudies::of_table(&table),
    );
    if !report.is_ok() {
        return Ok((report, None));
    }
    let Table { headers, rows, .. } = table;
    let each = in_file_order(
        rows.into_par_iter()
            .with_min_len(ROWS_PER_TYPING_TASK)
            .map(|row| type_row(path, &headers, row).map(|typed| each(&typed)))
            .collect(),
    )?;
    Ok((report, Some(CheckedRows { studies, each })))
}

/// The results of rows handled in parallel (in file order), or the first
/// row's error in file order, so the error reported does not depend on
/// which thread got there first.
fn in_file_order<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    results.into_iter().collect()
}

/// Loads `path` as typed rows, refusing a file with any error.
///
/// # Errors
///
/// As [`check`], plus [`Error::Invalid`] listing every error-severity issue
/// (warnings are kept in [`SpotDataset::issues`] instead).
pub fn load_spot(path: &Path) -> Result<SpotDataset> {
    typed(path, analyse(path)?)
}

/// [`load_spot`] on file contents held in memory (`path` names them in
/// messages).
pub fn load_spot_bytes(path: &Path, bytes: &[u8]) -> Result<SpotDataset> {
    typed(path, analyse_bytes(path, bytes)?)
}

pub(crate) fn typed(path: &Path, analysed: (Table, Vec<Issue>)) -> Result<SpotDataset> {
    typed_where(path, analysed, |_| true)
}

/// [`typed`] keeping only the rows `keep` selects (an edit types the rows it
/// added, not the 100,000 it left alone).
pub(crate) fn typed_where(
    path: &Path,
    (table, issues): (Table, Vec<Issue>),
    keep: impl Fn(&TableRow) -> bool + Sync,
) -> Result<SpotDataset> {
    let errors: Vec<String> = issues
        .iter()
        .filter(|i| i.is_error())
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        return Err(Error::Invalid {
            file: path.to_path_buf(),
            problems: errors,
        });
    }
    let Table { headers, rows, .. } = table;
    // Rows are typed in parallel and each row's cells are freed as soon as
    // it is typed, so the text table and the typed rows are not both held
    // whole (issue #15). Results keep file order; the first failure in file
    // order is the one reported.
    let rows = in_file_order(
        rows.into_par_iter()
            .with_min_len(ROWS_PER_TYPING_TASK)
            .filter(|row| keep(row))
            .map(|row| type_row(path, &headers, row))
            .collect(),
    )?;
    Ok(SpotDataset {
        path: path.to_path_buf(),
        headers,
        rows,
        issues,
    })
}

/// Rows per parallel task when typing (small enough to share out 100,000
/// rows, large enough that task hand-over costs nothing).
const ROWS_PER_TYPING_TASK: usize = 1024;

/// One validated row as a [`SpotRow`].
///
/// The header is the codebook's, in order (a file whose header differs has
/// an error and is never typed), and [`SpotRow`]'s fields follow the same
/// order, so the cells are read by position: no per-cell lookup of the
/// column name. `NA` means empty in numeric columns and serde only knows
/// empty, so in a row with such an `NA` those cells are emptied in the
/// record typed.
fn type_row(path: &Path, headers: &[String], row: TableRow) -> Result<SpotRow> {
    let has_na = COLUMNS
        .iter()
        .zip(row.fields.iter())
        .any(|(spec, cell)| cell == "NA" && schema::is_missing(spec.kind, cell));
    let mut record = csv::StringRecord::with_capacity(row.fields.text_len(), COLUMNS.len());
    for (spec, cell) in COLUMNS.iter().zip(row.fields.iter()) {
        record.push_field(if has_na && schema::is_missing(spec.kind, cell) {
            ""
        } else {
            cell
        });
    }
    let result = record.deserialize::<SpotRow>(None);
    let mut typed = result.map_err(|e| {
        let column = match e.kind() {
            csv::ErrorKind::Deserialize { err, .. } => err.field().map(|f| f as usize),
            _ => None,
        };
        Error::Value {
            location: Box::new(Location {
                file: path.to_path_buf(),
                line: row.line,
                column: column.map(|c| c + 1),
                column_name: column.map(|c| headers[c].clone()),
            }),
            message: format!("row passed validation but could not be typed: {e}"),
            fix: "this is a bug in spotmeta's codebook; please report it with the row".to_owned(),
        }
    })?;
    typed.line = row.line;
    Ok(typed)
}

#[cfg(test)]
mod tests {
    use super::ByLine;

    /// `ByLine` finds what a linear scan finds: in file order (binary
    /// search) and out of it (hash map, first of a repeated line), for
    /// every line present and for lines that are not.
    #[test]
    fn by_line_finds_what_a_scan_finds() {
        let sorted: Vec<(u64, &str)> = vec![(2, "a"), (3, "b"), (7, "c"), (9, "d")];
        let shuffled: Vec<(u64, &str)> = vec![(7, "c"), (2, "a"), (9, "d"), (7, "x"), (3, "b")];
        for items in [&sorted, &shuffled] {
            let index = ByLine::new(items, |t| t.0);
            for line in 0..12 {
                assert_eq!(
                    index.get(line),
                    items.iter().find(|t| t.0 == line),
                    "line {line} of {items:?}"
                );
            }
        }
        assert!(ByLine::<(u64, &str)>::new(&[], |t| t.0).get(1).is_none());
    }
}
