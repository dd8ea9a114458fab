//! Batch pooling (issue #7): one `rma` fit per group of a long table.
//!
//! Evidence maps and simulation studies pool thousands of meta-analyses at
//! once (one per outcome × region × subgroup). [`read_groups`] reads the
//! needed columns of a CSV table (by the same rules as every other command:
//! a malformed file is an error with file:line:column) or a Parquet table,
//! groups it by one or more key columns (polars' lazy group-by and sort) and
//! lays every group's
//! effect sizes out contiguously; [`pool`]
//! fits every group in parallel (rayon) with the same engine as
//! [`rma`] (no allocation per fit) plus the Q-profile τ² CI of
//! [`confint`]; [`to_frame`] and [`write_table`] give one row per group: the
//! key columns under their own names, then every key of `rma --format json`
//! (see [`RESULT_COLUMNS`]) and a `status`. With `--bayes`, [`pool_bayes`]
//! fits every group with the Bayesian engine of `spotmeta bayes` too and
//! [`add_bayes_columns`] appends [`BAYES_COLUMNS`].
//!
//! A group never stops the batch. A group with one study is pooled as `rma`
//! pools it (common effect; status `k=1: common effect only`). A group with a
//! missing (empty or `NA`) or impossible value (vi ≤ 0, sei ≤ 0) is not pooled: its
//! numbers are null and its status names the first bad row (`line N` of a CSV
//! file, `row N` of a Parquet file) and the reason. Output rows are sorted by
//! the group keys (nulls first), so the same input gives the same file.
//!
//! ```
//! use spotmeta::batch::{pool, BatchOptions, Groups};
//! use spotmeta::RmaOptions;
//! // Two groups laid out back to back: rows 0..3 and 3..5.
//! let groups = Groups::from_slices(
//!     vec![0.1, 0.3, 0.2, 0.5, 0.4],
//!     vec![0.02, 0.03, 0.04, 0.05, 0.02],
//!     vec![0, 3, 5],
//! );
//! let opts = BatchOptions { rma: RmaOptions::default().check()?, confint: true };
//! let fits = pool(&groups, &opts, &|_| {});
//! assert_eq!(fits.len(), 2);
//! assert_eq!(fits[0].status, "ok");
//! # Ok::<(), spotmeta::Error>(())
//! ```

use crate::analysis::confint;
use crate::analysis::summary::RmaSummary;
use crate::error::{Error, Location, Result};
use crate::{ValidRmaOptions, rma};
use polars::prelude::{
    Column, DataFrame, DataType, IntoLazy, PlSmallStr, PolarsError, SortMultipleOptions, col,
};
use polars_io::csv::read::CsvReadOptions;
use polars_io::csv::write::CsvWriter;
use polars_io::parquet::read::ParquetReader;
use polars_io::parquet::write::ParquetWriter;
use polars_io::{SerReader, SerWriter};
use rayon::prelude::*;
use std::path::Path;

/// Columns of the result after the group keys: the keys of `rma --format
/// json` (the [`RmaSummary`] fields, in order) and `status`.
pub const RESULT_COLUMNS: [&str; 34] = [
    "k",
    "method",
    "test",
    "level",
    "beta",
    "se",
    "zval",
    "pval",
    "ddf",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "tau2",
    "se_tau2",
    "tau2_ci_lb",
    "tau2_ci_ub",
    "tau",
    "tau_ci_lb",
    "tau_ci_ub",
    "I2",
    "I2_ci_lb",
    "I2_ci_ub",
    "H2",
    "H2_ci_lb",
    "H2_ci_ub",
    "QE",
    "QEdf",
    "QEp",
    "s2",
    "iterations",
    "convergence",
    "notes",
    "status",
];

/// Status of a group that pooled normally.
pub const STATUS_OK: &str = "ok";
/// Status of a group with a single study (pooled as a common effect, as `rma` does).
pub const STATUS_K1: &str = "k=1: common effect only";

/// File format of a table, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
}

impl TableFormat {
    /// The format named by `path`'s extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<TableFormat> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(TableFormat::Csv),
            Some("parquet" | "pq") => Ok(TableFormat::Parquet),
            _ => Err(Error::Unsupported(format!(
                "{}: unknown table format; name the file *.csv or *.parquet",
                path.display()
            ))),
        }
    }
}

/// Where the sampling variances come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variance {
    /// A column of sampling variances.
    Vi(String),
    /// A column of standard errors (vi = sei²).
    Sei(String),
}

/// Which columns hold the group keys and the effect sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchColumns {
    /// Group key columns (at least one).
    pub groups: Vec<String>,
    /// Effect-size column.
    pub yi: String,
    /// Variance (or SE) column.
    pub variance: Variance,
}

/// A table split into groups: keys plus each group's values laid out
/// contiguously (group g owns rows `offsets[g]..offsets[g + 1]`).
#[derive(Debug, Clone)]
pub struct Groups {
    /// One row per group: the key columns, sorted.
    pub keys: DataFrame,
    /// Group boundaries into `yi`/`vi` (length = groups + 1).
    pub offsets: Vec<usize>,
    /// Effect sizes (NaN where missing).
    pub yi: Vec<f64>,
    /// Sampling variances (NaN where missing; squared SEs under `--sei`).
    pub vi: Vec<f64>,
    /// Per value: the 0-based row of the input file it came from.
    pub rows: Vec<u32>,
    /// Per input row (CSV): the 1-based physical line where its record
    /// starts, as every other command counts lines (`\n`, `\r\n` or a lone
    /// `\r` ends a line; blank lines count). Empty for Parquet.
    pub lines: Vec<u64>,
    /// Per value: bit 1 = yi missing, bit 2 = variance missing (empty: none missing).
    pub missing: Vec<u8>,
    /// How rows are named in messages (`line` for CSV, `row` for Parquet).
    pub row_word: RowWord,
    /// The variance column was standard errors.
    pub from_sei: bool,
}

/// How status messages name an input row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowWord {
    /// `line N` of a CSV file (header = line 1).
    Line,
    /// `row N` (1-based) of a Parquet file or an in-memory table.
    Row,
}

impl Groups {
    /// Groups built from slices (keys: a single `group` column 1, 2, …).
    pub fn from_slices(yi: Vec<f64>, vi: Vec<f64>, offsets: Vec<usize>) -> Groups {
        let n = offsets.len().saturating_sub(1);
        let key = Column::new("group".into(), (1..=n as u32).collect::<Vec<u32>>());
        Groups {
            keys: DataFrame::new(n, vec![key]).expect("one column"),
            rows: (0..yi.len() as u32).collect(),
            lines: Vec::new(),
            offsets,
            yi,
            vi,
            missing: Vec::new(),
            row_word: RowWord::Row,
            from_sei: false,
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// No groups at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of rows.
    pub fn rows(&self) -> usize {
        self.yi.len()
    }

    fn row_name(&self, i: usize) -> String {
        match self.row_word {
            RowWord::Line => format!(
                "line {}",
                self.lines
                    .get(self.rows[i] as usize)
                    .copied()
                    .unwrap_or(self.rows[i] as u64 + 2)
            ),
            RowWord::Row => format!("row {}", self.rows[i] as u64 + 1),
        }
    }

    /// Why row `i` cannot be pooled, if it cannot.
    fn bad_row(&self, i: usize) -> Option<String> {
        let miss = self.missing.get(i).copied().unwrap_or(0);
        let v = if self.from_sei { "sei" } else { "vi" };
        if miss & 1 != 0 {
            return Some("yi is missing".into());
        }
        if miss & 2 != 0 {
            return Some(format!("{v} is missing"));
        }
        let y = self.yi[i];
        if !y.is_finite() {
            return Some(format!("yi = {y} is not finite"));
        }
        let var = self.vi[i];
        if !(var.is_finite() && var > 0.0) {
            let shown = if self.from_sei { var.sqrt() } else { var };
            return Some(if var.is_finite() || self.from_sei && var.is_nan() {
                format!("{v} = {shown} must be positive")
            } else {
                format!("{v} = {shown} is not finite")
            });
        }
        None
    }
}

/// Column names of a Parquet schema.
fn parquet_header(path: &Path) -> Result<Vec<String>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let schema = ParquetReader::new(f)
        .schema()
        .map_err(|e| polars_err(path, e))?;
    Ok(schema.iter_names().map(|n| n.to_string()).collect())
}

fn polars_err(path: &Path, e: PolarsError) -> Error {
    Error::Invalid {
        file: path.to_path_buf(),
        problems: vec![format!(
            "{e}\n  fix: check that the file is a well-formed table (CSV with a header line, or Parquet)"
        )],
    }
}

/// Every needed column is in the header, or a [`Error::MissingColumn`].
fn check_columns(path: &Path, header: &[String], needed: &[String]) -> Result<()> {
    for c in needed {
        if !header.iter().any(|h| h == c) {
            return Err(Error::MissingColumn {
                file: path.to_path_buf(),
                column: c.clone(),
                fix: format!(
                    "name an existing column (--group/--yi/--vi/--sei); the header has: {}",
                    header.join(", ")
                ),
            });
        }
    }
    // Effects of different metrics are never pooled together (issue #16).
    // Batch does not read a `measure` column cell by cell; grouping by it
    // keeps each group to one measure, so anything else is refused.
    if header.iter().any(|h| h == "measure") && !needed.iter().any(|c| c == "measure") {
        return Err(Error::option(
            "--group",
            format!(
                "{} has a `measure` column, and a group mixing measures (e.g. SMD and SMCC) would pool effects of different metrics; add it to the groups (--group ...,measure) or remove the column",
                path.display()
            ),
        ));
    }
    Ok(())
}

const YI: &str = "__spotmeta_yi";
const VI: &str = "__spotmeta_vi";
const ROW: &str = "__spotmeta_row";

/// Read `path` (CSV or Parquet, by extension) and split it into groups by
/// `cols.groups`, sorted by the keys.
///
/// A CSV file is read by the rules of every other command (see
/// [`crate::data::Table`]): a byte-order mark is dropped, `\n`, `\r\n` and a
/// lone `\r` end lines, blank lines are skipped, cells are not trimmed.
/// A malformed file is an error naming file:line:column, never a silent
/// drop: a row with too few or too many cells (an unclosed quote shows as
/// one), invalid UTF-8, a column named twice, an effect size or variance
/// that is not a finite number (`abc`, `1e400`). An empty or `NA` effect
/// size or variance is missing: its group is not pooled and its status
/// names the row.
///
/// # Errors
///
/// [`Error::Io`] for a missing file or one that is not a regular file (a
/// directory or FIFO); [`Error::Csv`], [`Error::Value`] or
/// [`Error::MissingColumn`] for a malformed table.
pub fn read_groups(path: &Path, cols: &BatchColumns) -> Result<Groups> {
    if cols.groups.is_empty() {
        return Err(Error::option("--group", "name at least one group column"));
    }
    let format = TableFormat::from_path(path)?;
    crate::data::fsguard::regular_input(path, "a CSV or Parquet file")?;
    let var = match &cols.variance {
        Variance::Vi(c) | Variance::Sei(c) => c.clone(),
    };
    let mut needed: Vec<String> = cols.groups.clone();
    for c in [&cols.yi, &var] {
        if !needed.contains(c) {
            needed.push(c.clone());
        }
    }
    let (df, lines, yi_col, var_col) = match format {
        TableFormat::Csv => {
            let (df, lines) = read_csv(path, &cols.groups, &cols.yi, &var)?;
            (df, lines, YI, VI)
        }
        TableFormat::Parquet => {
            check_columns(path, &parquet_header(path)?, &needed)?;
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let df = ParquetReader::new(f)
                .with_columns(Some(needed.clone()))
                .finish()
                .map_err(|e| polars_err(path, e))?;
            (df, Vec::new(), cols.yi.as_str(), var.as_str())
        }
    };
    let keys: Vec<_> = cols.groups.iter().map(|g| col(g.as_str())).collect();
    let mut select = keys.clone();
    select.extend([
        col(yi_col).cast(DataType::Float64).alias(YI),
        col(var_col).cast(DataType::Float64).alias(VI),
        col(ROW),
    ]);
    let key_names: Vec<&str> = cols.groups.iter().map(String::as_str).collect();
    let df = df
        .lazy()
        .with_row_index(ROW, None)
        .select(select)
        .group_by(keys)
        .agg([col(YI), col(VI), col(ROW)])
        .sort(
            key_names.clone(),
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
        .map_err(|e| polars_err(path, e))?;
    let key_df = df.select(key_names).map_err(|e| polars_err(path, e))?;
    let (offsets, yi, yi_null) = flatten_f64(&df, YI).map_err(|e| polars_err(path, e))?;
    let (_, mut vi, vi_null) = flatten_f64(&df, VI).map_err(|e| polars_err(path, e))?;
    let rows = flatten_rows(&df).map_err(|e| polars_err(path, e))?;
    let from_sei = matches!(cols.variance, Variance::Sei(_));
    if from_sei {
        vi.iter_mut().for_each(|s| {
            *s = if *s > 0.0 { *s * *s } else { f64::NAN };
        });
    }
    let missing = match (yi_null, vi_null) {
        (None, None) => Vec::new(),
        (a, b) => (0..yi.len())
            .map(|i| {
                u8::from(a.as_ref().is_some_and(|m| m[i]))
                    | (u8::from(b.as_ref().is_some_and(|m| m[i])) << 1)
            })
            .collect(),
    };
    let mut groups = Groups {
        keys: key_df,
        offsets,
        yi,
        vi,
        rows,
        lines,
        missing,
        row_word: match format {
            TableFormat::Csv => RowWord::Line,
            TableFormat::Parquet => RowWord::Row,
        },
        from_sei,
    };
    restore_row_order(&mut groups);
    Ok(groups)
}

/// The text cells of one key column, packed into one buffer.
#[derive(Default)]
struct KeyCells {
    text: String,
    /// End of each cell in `text`; `None` for an empty cell (null).
    ends: Vec<Option<usize>>,
}

impl KeyCells {
    fn push(&mut self, cell: &str) {
        if cell.is_empty() {
            self.ends.push(None);
        } else {
            self.text.push_str(cell);
            self.ends.push(Some(self.text.len()));
        }
    }

    fn cells(&self) -> impl Iterator<Item = Option<&str>> {
        let mut start = 0;
        self.ends.iter().map(move |e| {
            e.map(|end| {
                let s = &self.text[start..end];
                start = end;
                s
            })
        })
    }

    /// The column, typed as polars' CSV reader would infer it (integer,
    /// float or boolean where every present cell parses, else text).
    fn into_column(self, name: &str) -> Column {
        fn all<T>(k: &KeyCells, f: impl Fn(&str) -> Option<T>) -> Option<Vec<Option<T>>> {
            k.cells()
                .map(|c| match c {
                    None => Some(None),
                    Some(s) => f(s).map(Some),
                })
                .collect()
        }
        let name: PlSmallStr = name.into();
        if let Some(v) = all(&self, |s| s.parse::<i64>().ok()) {
            Column::new(name, v)
        } else if let Some(v) = all(&self, |s| s.parse::<f64>().ok()) {
            Column::new(name, v)
        } else if let Some(v) = all(&self, |s| match s.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }) {
            Column::new(name, v)
        } else {
            Column::new(name, self.cells().collect::<Vec<Option<&str>>>())
        }
    }
}

/// Where a CSV problem sits.
fn csv_location(path: &Path, line: u64, column: Option<usize>, name: Option<&str>) -> Location {
    Location {
        file: path.to_path_buf(),
        line,
        column,
        column_name: name.map(str::to_string),
    }
}

/// Number of line ends (`\n`, `\r\n`, lone `\r`) in `b`.
fn line_ends(b: &[u8]) -> u64 {
    let lf = b.iter().filter(|&&c| c == b'\n').count();
    let cr = b.iter().filter(|&&c| c == b'\r').count();
    if cr == 0 {
        return lf as u64;
    }
    let crlf = b.windows(2).filter(|w| w == b"\r\n").count();
    (lf + cr - crlf) as u64
}

/// First byte at or after `from` that is not a line end (a record's start:
/// the reader's position comes before the blank lines it skips).
fn skip_line_ends(bytes: &[u8], from: u64) -> usize {
    let mut i = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    while i < bytes.len() && matches!(bytes[i], b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// The 1-based line of each record start (ascending byte offsets).
fn lines_of(bytes: &[u8], starts: &[usize]) -> Vec<u64> {
    let mut out = Vec::with_capacity(starts.len());
    let (mut line, mut pos) = (1u64, 0usize);
    for &s in starts {
        line += line_ends(&bytes[pos..s]);
        pos = s;
        out.push(line);
    }
    out
}

/// One cell of the effect-size or variance column: `None` when empty or
/// `NA`, else a finite number or an error at its line and column.
fn number_cell(cell: &str, at: impl Fn() -> Location) -> Result<Option<f64>> {
    if cell.is_empty() || cell == "NA" {
        return Ok(None);
    }
    match crate::data::schema::parse_number(cell) {
        Some(v) => Ok(Some(v)),
        None => {
            let (message, fix) = if cell.parse::<f64>().is_ok() {
                (
                    format!("\"{cell}\" is not a finite number (it overflows or is inf/NaN)"),
                    "write a finite number, or leave the cell empty (or `NA`) if unknown",
                )
            } else if cell.trim() != cell {
                (
                    format!("\"{cell}\" is not a number"),
                    "remove the spaces around the value",
                )
            } else {
                (
                    format!("\"{cell}\" is not a number"),
                    "write a finite number with `.` as the decimal point, or leave the cell empty (or `NA`) if unknown",
                )
            };
            Err(Error::Value {
                location: Box::new(at()),
                message,
                fix: fix.to_string(),
            })
        }
    }
}

/// Read the key, effect-size and variance columns of a CSV file straight
/// into columns (the rules are those of [`read_groups`]). Returns the frame
/// (key columns under their names, then `YI` and `VI` as numbers with nulls)
/// and the physical line of every row.
fn read_csv(path: &Path, keys: &[String], yi: &str, var: &str) -> Result<(DataFrame, Vec<u64>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes.as_slice());
    let mut rec = csv::ByteRecord::new();
    let line_at = |offset: usize| 1 + line_ends(&bytes[..offset.min(bytes.len())]);
    let read_err = |e: csv::Error, offset: usize| Error::Csv {
        location: Box::new(csv_location(path, line_at(offset), None, None)),
        message: e.to_string(),
        fix: "check that the file is a comma-separated text file".into(),
    };
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::Csv {
                location: Box::new(csv_location(path, 1, None, None)),
                message: "the file is empty; a header line is expected".into(),
                fix: "write the column names on the first line".into(),
            });
        }
        Err(e) => return Err(read_err(e, 0)),
    }
    let header_line = line_at(skip_line_ends(&bytes, 0));
    let mut header = Vec::with_capacity(rec.len());
    for (i, f) in rec.iter().enumerate() {
        let h = std::str::from_utf8(f).map_err(|_| Error::Csv {
            location: Box::new(csv_location(path, header_line, Some(i + 1), None)),
            message: "the header is not valid UTF-8".into(),
            fix: "save the file as UTF-8".into(),
        })?;
        header.push(
            if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            }
            .to_string(),
        );
    }
    for (i, h) in header.iter().enumerate() {
        if let Some(first) = header[..i].iter().position(|x| x == h) {
            return Err(Error::Csv {
                location: Box::new(csv_location(path, header_line, Some(i + 1), Some(h))),
                message: format!(
                    "duplicate column `{h}` (also column {}); spotmeta will not guess which copy is meant",
                    first + 1
                ),
                fix: "rename or remove one of the two columns".into(),
            });
        }
    }
    let mut needed: Vec<String> = keys.to_vec();
    needed.extend([yi.to_string(), var.to_string()]);
    check_columns(path, &header, &needed)?;
    let index = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
    let key_idx: Vec<usize> = keys.iter().map(|k| index(k)).collect();
    let (yi_idx, var_idx) = (index(yi), index(var));
    let width = header.len();
    let mut key_cells: Vec<KeyCells> = keys.iter().map(|_| KeyCells::default()).collect();
    let (mut yis, mut vis) = (Vec::new(), Vec::new());
    let mut starts: Vec<usize> = Vec::new();
    // Without a CR only `\n` ends lines, and the reader's own line count
    // (taken before any blank lines it skips) needs only those skipped `\n`s
    // added; otherwise every line end is counted in one pass at the end.
    let lf_only = !bytes.contains(&b'\r');
    let mut lines: Vec<u64> = Vec::new();
    let mut next = rdr.position().byte();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_err(e, skip_line_ends(&bytes, next))),
        }
        let at = rec.position().map_or(next, |p| p.byte());
        let start = skip_line_ends(&bytes, at);
        if lf_only {
            let skipped = (start - at as usize) as u64;
            lines.push(rec.position().map_or(0, |p| p.line()) + skipped);
        }
        next = rdr.position().byte();
        if rec.len() != width {
            let multi = rec.iter().any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
            return Err(Error::Csv {
                location: Box::new(csv_location(
                    path,
                    line_at(start),
                    Some(rec.len().min(width) + 1),
                    None,
                )),
                message: format!(
                    "row has {} field(s) but the header has {width}{}",
                    rec.len(),
                    if multi {
                        " (a cell spans several lines: probably an unclosed double quote)"
                    } else {
                        ""
                    }
                ),
                fix: "every row needs one value per header column: look for a missing or extra \
                      comma, or an unclosed double quote; put cells that contain commas in \
                      double quotes"
                    .into(),
            });
        }
        // Cell by cell: bytes split by a comma may each be invalid UTF-8
        // while their concatenation is valid.
        if let Some(bad) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
            return Err(Error::Csv {
                location: Box::new(csv_location(
                    path,
                    line_at(start),
                    Some(bad + 1),
                    Some(&header[bad]),
                )),
                message: format!("cell in column {} is not valid UTF-8", bad + 1),
                fix: "save the file as UTF-8 (e.g. \"CSV UTF-8\" in a spreadsheet)".into(),
            });
        }
        // Every cell is valid UTF-8 now.
        let cell = |i: usize| std::str::from_utf8(&rec[i]).unwrap_or_default();
        for (k, &i) in key_cells.iter_mut().zip(&key_idx) {
            k.push(cell(i));
        }
        let at = |i: usize, name: &str| csv_location(path, line_at(start), Some(i + 1), Some(name));
        yis.push(number_cell(cell(yi_idx), || at(yi_idx, yi))?);
        vis.push(number_cell(cell(var_idx), || at(var_idx, var))?);
        starts.push(start);
    }
    if !lf_only {
        lines = lines_of(&bytes, &starts);
    }
    let n = starts.len();
    let mut columns: Vec<Column> = key_cells
        .into_iter()
        .zip(keys)
        .map(|(k, name)| k.into_column(name))
        .collect();
    columns.push(Column::new(YI.into(), yis));
    columns.push(Column::new(VI.into(), vis));
    let df = DataFrame::new(n, columns).map_err(|e| polars_err(path, e))?;
    Ok((df, lines))
}

/// Within every group, put the values back in file order (the fits then see
/// exactly the rows `rma` would see for that group).
fn restore_row_order(g: &mut Groups) {
    for w in 0..g.len() {
        let (a, b) = (g.offsets[w], g.offsets[w + 1]);
        if g.rows[a..b].is_sorted() {
            continue;
        }
        let mut idx: Vec<usize> = (a..b).collect();
        idx.sort_by_key(|&i| g.rows[i]);
        let yi: Vec<f64> = idx.iter().map(|&i| g.yi[i]).collect();
        let vi: Vec<f64> = idx.iter().map(|&i| g.vi[i]).collect();
        let rows: Vec<u32> = idx.iter().map(|&i| g.rows[i]).collect();
        let miss: Vec<u8> = if g.missing.is_empty() {
            Vec::new()
        } else {
            idx.iter().map(|&i| g.missing[i]).collect()
        };
        g.yi[a..b].copy_from_slice(&yi);
        g.vi[a..b].copy_from_slice(&vi);
        g.rows[a..b].copy_from_slice(&rows);
        if !miss.is_empty() {
            g.missing[a..b].copy_from_slice(&miss);
        }
    }
}

type Flat = (Vec<usize>, Vec<f64>, Option<Vec<bool>>);

/// A list-of-f64 column as (offsets, values with NaN for null, null mask).
fn flatten_f64(df: &DataFrame, name: &str) -> std::result::Result<Flat, PolarsError> {
    let list = df.column(name)?.list()?.rechunk();
    let arr = list.downcast_as_array();
    let off = arr.offsets().as_slice();
    let base = off[0] as usize;
    let offsets: Vec<usize> = off.iter().map(|&o| o as usize - base).collect();
    let end = *off.last().unwrap_or(&0) as usize;
    let inner = list.get_inner().slice(base as i64, end - base);
    let ca = inner.f64()?.rechunk();
    if ca.null_count() == 0 {
        Ok((offsets, ca.cont_slice()?.to_vec(), None))
    } else {
        let mut mask = Vec::with_capacity(ca.len());
        let values = ca
            .iter()
            .map(|v| {
                mask.push(v.is_none());
                v.unwrap_or(f64::NAN)
            })
            .collect();
        Ok((offsets, values, Some(mask)))
    }
}

fn flatten_rows(df: &DataFrame) -> std::result::Result<Vec<u32>, PolarsError> {
    let list = df.column(ROW)?.list()?.rechunk();
    let arr = list.downcast_as_array();
    let off = arr.offsets().as_slice();
    let base = off[0] as usize;
    let end = *off.last().unwrap_or(&0) as usize;
    let inner = list
        .get_inner()
        .slice(base as i64, end - base)
        .cast(&DataType::UInt32)?;
    Ok(inner.u32()?.into_no_null_iter().collect())
}

/// Options of a batch run.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// The model fitted to every group.
    pub rma: ValidRmaOptions,
    /// Compute Q-profile CIs for τ², τ, I², H² (about 4 µs per group at k = 20).
    pub confint: bool,
}

/// The result of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFit {
    /// Rows read for the group.
    pub rows: usize,
    /// The fit, as `rma --format json` reports it (None when not pooled).
    pub summary: Option<RmaSummary>,
    /// `ok`, `k=1: common effect only`, or why the group was not pooled.
    pub status: String,
}

/// Fit one group (its values as slices).
fn fit_group(g: &Groups, w: usize, opts: &BatchOptions) -> GroupFit {
    let (a, b) = (g.offsets[w], g.offsets[w + 1]);
    let rows = b - a;
    let bad: Vec<usize> = (a..b).filter(|&i| g.bad_row(i).is_some()).collect();
    if let Some(&first) = bad.first() {
        let why = g.bad_row(first).unwrap_or_default();
        return GroupFit {
            rows,
            summary: None,
            status: format!(
                "not pooled: {} bad row(s); first: {}: {why}",
                bad.len(),
                g.row_name(first)
            ),
        };
    }
    let (yi, vi) = (&g.yi[a..b], &g.vi[a..b]);
    match rma(yi, vi, &opts.rma) {
        Err(e) => GroupFit {
            rows,
            summary: None,
            status: format!("not pooled: {e}"),
        },
        Ok(fit) => {
            let (ci, status) = if opts.confint && fit.k > 1 {
                match confint(yi, vi, &fit, 1e-12) {
                    Ok(ci) => (ci, STATUS_OK.to_string()),
                    Err(e) => (None, format!("ok; tau^2 CI not computed: {e}")),
                }
            } else if fit.k == 1 {
                (None, STATUS_K1.to_string())
            } else {
                (None, STATUS_OK.to_string())
            };
            GroupFit {
                rows,
                summary: Some(RmaSummary::new(&fit, ci.as_ref())),
                status,
            }
        }
    }
}

/// Fit every group in parallel; `progress(n)` is called as batches of `n`
/// groups finish (from worker threads). Results are in group order.
pub fn pool(
    groups: &Groups,
    opts: &BatchOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<GroupFit> {
    const CHUNK: usize = 256;
    let n = groups.len();
    let chunks: Vec<Vec<GroupFit>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let out: Vec<GroupFit> = (c * CHUNK..((c + 1) * CHUNK).min(n))
                .map(|w| fit_group(groups, w, opts))
                .collect();
            progress(out.len());
            out
        })
        .collect();
    chunks.into_iter().flatten().collect()
}

/// The result table: key columns, then [`RESULT_COLUMNS`].
pub fn to_frame(groups: &Groups, fits: &[GroupFit], opts: &BatchOptions) -> Result<DataFrame> {
    macro_rules! num {
        ($name:expr, $f:expr) => {
            Column::new(
                $name.into(),
                fits.iter()
                    .map(|g| g.summary.as_ref().and_then($f))
                    .collect::<Vec<Option<f64>>>(),
            )
        };
    }
    macro_rules! int {
        ($name:expr, $f:expr) => {
            Column::new(
                $name.into(),
                fits.iter()
                    .map(|g| g.summary.as_ref().and_then($f))
                    .collect::<Vec<Option<u32>>>(),
            )
        };
    }
    macro_rules! text {
        ($name:expr, $f:expr) => {
            Column::new(
                $name.into(),
                fits.iter().map($f).collect::<Vec<Option<String>>>(),
            )
        };
    }
    let method = opts.rma.method().as_str();
    let test = opts.rma.test().as_str();
    let cols = vec![
        Column::new(
            "k".into(),
            fits.iter()
                .map(|g| g.summary.as_ref().map_or(g.rows, |s| s.k) as u32)
                .collect::<Vec<u32>>(),
        ),
        text!("method", |g| Some(
            g.summary
                .as_ref()
                .map_or(method.to_string(), |s| s.method.clone())
        )),
        text!("test", |g| Some(
            g.summary
                .as_ref()
                .map_or(test.to_string(), |s| s.test.clone())
        )),
        Column::new("level".into(), vec![opts.rma.level() * 100.0; fits.len()]),
        num!("beta", |s| Some(s.estimate)),
        num!("se", |s| Some(s.se)),
        num!("zval", |s| Some(s.zval)),
        num!("pval", |s| s.pval),
        int!("ddf", |s| s.ddf.map(|d| d as u32)),
        num!("ci_lb", |s| Some(s.ci_lb)),
        num!("ci_ub", |s| Some(s.ci_ub)),
        num!("pi_lb", |s| Some(s.pi_lb)),
        num!("pi_ub", |s| Some(s.pi_ub)),
        num!("tau2", |s| Some(s.tau2)),
        num!("se_tau2", |s| s.se_tau2),
        num!("tau2_ci_lb", |s| s.tau2_ci_lb),
        num!("tau2_ci_ub", |s| s.tau2_ci_ub),
        num!("tau", |s| Some(s.tau)),
        num!("tau_ci_lb", |s| s.tau_ci_lb),
        num!("tau_ci_ub", |s| s.tau_ci_ub),
        num!("I2", |s| s.I2),
        num!("I2_ci_lb", |s| s.I2_ci_lb),
        num!("I2_ci_ub", |s| s.I2_ci_ub),
        num!("H2", |s| s.H2),
        num!("H2_ci_lb", |s| s.H2_ci_lb),
        num!("H2_ci_ub", |s| s.H2_ci_ub),
        num!("QE", |s| Some(s.Q)),
        int!("QEdf", |s| Some(s.Q_df as u32)),
        num!("QEp", |s| s.Q_pval),
        num!("s2", |s| s.s2),
        int!("iterations", |s| Some(s.iterations)),
        text!("convergence", |g| g
            .summary
            .as_ref()
            .and_then(|s| serde_json::to_value(s.convergence).ok())
            .and_then(|v| v.as_str().map(str::to_string))),
        text!("notes", |g| g.summary.as_ref().map(|s| s.notes.join(" "))),
        text!("status", |g| Some(g.status.clone())),
    ];
    debug_assert!(
        cols.iter()
            .map(|c| c.name().as_str())
            .eq(RESULT_COLUMNS.iter().copied())
    );
    let mut df = groups.keys.clone();
    push_columns(&mut df, groups, cols)?;
    Ok(df)
}

/// Append result columns to `df`. A key column that clashes with a result
/// name keeps its name; the result column gets a `rma_` prefix.
fn push_columns(df: &mut DataFrame, groups: &Groups, cols: Vec<Column>) -> Result<()> {
    for c in cols {
        let c = if groups.keys.column(c.name().as_str()).is_ok() {
            let name = format!("rma_{}", c.name());
            c.with_name(name.into())
        } else {
            c
        };
        df.with_column(c)
            .map_err(|e| Error::Unsupported(e.to_string()))?;
    }
    Ok(())
}

/// Encode `df` as CSV or Parquet bytes (nulls are empty CSV fields).
pub fn encode(df: &mut DataFrame, format: TableFormat) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let r = match format {
        TableFormat::Csv => CsvWriter::new(&mut buf).finish(df),
        TableFormat::Parquet => ParquetWriter::new(&mut buf).finish(df).map(|_| ()),
    };
    r.map_err(|e| Error::Unsupported(format!("encoding the result table failed: {e}")))?;
    Ok(buf)
}

/// Write `df` to `path` atomically, as CSV or Parquet by extension; `path`
/// must not be one of `inputs` (compared as files on disk, not by name).
pub fn write_table(path: &Path, df: &mut DataFrame, inputs: &[&Path]) -> Result<()> {
    let format = TableFormat::from_path(path)?;
    let bytes = encode(df, format)?;
    crate::data::io::write_output("--out", path, &bytes, inputs)
}

/// Read a whole CSV or Parquet table (e.g. a batch result, for checking).
pub fn read_table(path: &Path) -> Result<DataFrame> {
    match TableFormat::from_path(path)? {
        TableFormat::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish()),
        TableFormat::Parquet => {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            ParquetReader::new(f).finish()
        }
    }
    .map_err(|e| polars_err(path, e))
}

/// Columns `--bayes` appends after `status` (issue #16): the Bayesian fit of
/// [`crate::model::bayes::bayes`] per group; `bayes_status` is `ok` or why
/// the group has no Bayesian fit.
pub const BAYES_COLUMNS: [&str; 11] = [
    "bayes_mu",
    "bayes_mu_lb",
    "bayes_mu_ub",
    "bayes_tau",
    "bayes_tau_lb",
    "bayes_tau_ub",
    "bayes_pi_lb",
    "bayes_pi_ub",
    "bayes_p_mu_positive",
    "bayes_p_mu_worthwhile",
    "bayes_status",
];

/// The Bayesian fit of one group: [`BAYES_COLUMNS`] but the status, or why not.
pub type BayesGroup = std::result::Result<[f64; 10], String>;

/// Fit every group with the Bayesian engine, in parallel (the same code as
/// `spotmeta bayes`); results are in group order.
pub fn pool_bayes(
    groups: &Groups,
    opts: &crate::model::bayes::ValidBayesOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<BayesGroup> {
    (0..groups.len())
        .into_par_iter()
        .map(|w| {
            let (a, b) = (groups.offsets[w], groups.offsets[w + 1]);
            let out = match (a..b).find_map(|i| groups.bad_row(i).map(|why| (i, why))) {
                Some((i, why)) => Err(format!("not fitted: {}: {why}", groups.row_name(i))),
                None => crate::model::bayes::bayes(&groups.yi[a..b], &groups.vi[a..b], opts)
                    .map(|f| f.row())
                    .map_err(|e| format!("not fitted: {e}")),
            };
            progress(1);
            out
        })
        .collect()
}

/// Append [`BAYES_COLUMNS`] to a result table made by [`to_frame`] from the
/// same groups (a clashing key column keeps its name; the result gets a
/// `rma_` prefix, as in [`to_frame`]).
pub fn add_bayes_columns(df: &mut DataFrame, groups: &Groups, fits: &[BayesGroup]) -> Result<()> {
    let mut cols: Vec<Column> = (0..10)
        .map(|j| {
            Column::new(
                BAYES_COLUMNS[j].into(),
                fits.iter()
                    .map(|f| f.as_ref().ok().map(|v| v[j]))
                    .collect::<Vec<Option<f64>>>(),
            )
        })
        .collect();
    cols.push(Column::new(
        BAYES_COLUMNS[10].into(),
        fits.iter()
            .map(|f| match f {
                Ok(_) => STATUS_OK.to_string(),
                Err(e) => e.clone(),
            })
            .collect::<Vec<String>>(),
    ));
    push_columns(df, groups, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_columns_are_the_rma_json_keys_then_status() {
        let opts = crate::RmaOptions::default().check().unwrap();
        let fit = rma(&[0.1, 0.3], &[0.01, 0.02], &opts).unwrap();
        let v = serde_json::to_value(RmaSummary::new(&fit, None)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(&RESULT_COLUMNS[..keys.len()], &keys[..]);
        assert_eq!(RESULT_COLUMNS[keys.len()], "status");
    }
}
