//! Reading a long table into [`Groups`] at memory speed (issue #19).
//!
//! The table is read as *runs*: maximal stretches of consecutive rows with
//! the same group key. A CSV body without double quotes is split at line
//! ends and parsed on every core (a quoted file is parsed in one piece, so a
//! quoted line break is never cut); a run starts where a row's key cells
//! differ from the row before, so only the first row of a run keeps its key
//! text. A Parquet table's key columns are compared with themselves shifted
//! by one row. Then only the runs are sorted by key (polars' stable
//! multi-column sort, nulls first, so runs of one group stay in file order),
//! and equal neighbours are merged into groups. A table already sorted by
//! its keys, the usual layout of an evidence map or a simulation, is never
//! moved: its effect sizes are fitted in place, straight from the columns.
//! Any other table is gathered run by run into group order.
//!
//! The CSV rules are those of every other command ([`crate::data::Table`]):
//! see [`read_groups`].

use super::{BatchColumns, Groups, RowWord, TableFormat, Variance};
use crate::error::{Error, Location, Result};
use polars::prelude::{
    ChunkCompareEq, Column, DataFrame, DataType, IdxCa, PlSmallStr, PolarsError, Series,
    SortMultipleOptions,
};
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use rayon::prelude::*;
use std::path::Path;

/// Column names of a Parquet schema.
pub(super) fn parquet_header(path: &Path) -> Result<Vec<String>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let schema = ParquetReader::new(f)
        .schema()
        .map_err(|e| polars_err(path, e))?;
    Ok(schema.iter_names().map(|n| n.to_string()).collect())
}

/// A polars error as a problem with the table at `path`.
pub(super) fn polars_err(path: &Path, e: PolarsError) -> Error {
    Error::Invalid {
        file: path.to_path_buf(),
        problems: vec![format!(
            "{e}\n  fix: check that the file is a well-formed table (CSV with a header line, or Parquet)"
        )],
    }
}

/// Every needed column is in the header, or a [`Error::MissingColumn`].
pub(super) fn check_columns(path: &Path, header: &[String], needed: &[String]) -> Result<()> {
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

/// The columns a run needs: the keys, then yi and the variance column
/// (each once), and the variance column's name.
pub(super) fn needed_columns(cols: &BatchColumns) -> Result<(Vec<String>, String)> {
    if cols.groups.is_empty() {
        return Err(Error::option("--group", "name at least one group column"));
    }
    let var = match &cols.variance {
        Variance::Vi(c) | Variance::Sei(c) => c.clone(),
    };
    let mut needed: Vec<String> = cols.groups.clone();
    for c in [&cols.yi, &var] {
        if !needed.contains(c) {
            needed.push(c.clone());
        }
    }
    Ok((needed, var))
}

/// A table read as runs of equal keys (see the module docs).
pub(super) struct Runs {
    /// One row per run: the key columns (typed).
    pub keys: DataFrame,
    /// Run boundaries into the rows (length = runs + 1).
    pub offsets: Vec<usize>,
    /// Effect sizes in file order (NaN where missing).
    pub yi: Vec<f64>,
    /// Variances (or SEs) in file order (NaN where missing).
    pub vi: Vec<f64>,
    /// Per row: bit 1 = yi missing, bit 2 = variance missing (empty: none).
    pub missing: Vec<u8>,
    /// Per row (CSV): the 1-based physical line of its record.
    pub lines: Vec<u64>,
}

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
    let (needed, var) = needed_columns(cols)?;
    let format = TableFormat::from_path(path)?;
    crate::data::fsguard::regular_input(path, "a CSV or Parquet file")?;
    let runs = match format {
        TableFormat::Csv => read_csv_runs(path, &cols.groups, &cols.yi, &var)?,
        TableFormat::Parquet => read_parquet_runs(path, cols, &needed, &var)?,
    };
    let from_sei = matches!(cols.variance, Variance::Sei(_));
    let row_word = match format {
        TableFormat::Csv => RowWord::Line,
        TableFormat::Parquet => RowWord::Row,
    };
    group_runs(runs, &cols.groups, row_word, from_sei).map_err(|e| polars_err(path, e))
}

/// Merge runs into groups sorted by key (see the module docs); squares the
/// SEs under `--sei`.
pub(super) fn group_runs(
    runs: Runs,
    keys: &[String],
    row_word: RowWord,
    from_sei: bool,
) -> std::result::Result<Groups, PolarsError> {
    const IDX: &str = "__spotmeta_run";
    let Runs {
        keys: run_keys,
        offsets: run_offsets,
        mut yi,
        mut vi,
        mut missing,
        lines,
    } = runs;
    let n_runs = run_keys.height();
    let mut indexed = run_keys;
    indexed.with_column(Column::new(
        IDX.into(),
        (0..n_runs as u32).collect::<Vec<u32>>(),
    ))?;
    let sorted = indexed.sort(
        keys.iter().map(String::as_str).collect::<Vec<_>>(),
        SortMultipleOptions::default().with_maintain_order(true),
    )?;
    let perm: Vec<u32> = sorted.column(IDX)?.u32()?.into_no_null_iter().collect();
    let sorted = sorted.drop(IDX)?;
    // A group starts where any key differs from the run before (in key order).
    let starts = key_changes(&sorted, keys)?;
    let group_keys = sorted.take(&IdxCa::from_vec(
        "".into(),
        starts.iter().map(|&s| s as _).collect(),
    ))?;
    let n = yi.len();
    let in_place = perm.iter().enumerate().all(|(i, &p)| p as usize == i);
    let (offsets, rows) = if in_place {
        let mut offsets: Vec<usize> = starts.iter().map(|&s| run_offsets[s]).collect();
        offsets.push(n);
        (offsets, (0..n as u32).collect::<Vec<u32>>())
    } else {
        // Gather the runs in key order into new columns.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut offsets = Vec::with_capacity(starts.len() + 1);
        let mut next_start = starts.iter().peekable();
        for (i, &p) in perm.iter().enumerate() {
            if next_start.peek() == Some(&&i) {
                next_start.next();
                offsets.push(order.len());
            }
            let (a, b) = (run_offsets[p as usize], run_offsets[p as usize + 1]);
            order.extend(a as u32..b as u32);
        }
        offsets.push(n);
        let gather = |v: &[f64]| order.iter().map(|&i| v[i as usize]).collect::<Vec<f64>>();
        yi = gather(&yi);
        vi = gather(&vi);
        if !missing.is_empty() {
            missing = order.iter().map(|&i| missing[i as usize]).collect();
        }
        (offsets, order)
    };
    if from_sei {
        vi.par_iter_mut().for_each(|s| {
            *s = if *s > 0.0 { *s * *s } else { f64::NAN };
        });
    }
    Ok(Groups {
        keys: group_keys,
        offsets,
        yi,
        vi,
        rows,
        lines,
        missing,
        row_word,
        from_sei,
    })
}

/// Positions (0 first) where any of `keys` differs from the row before;
/// nulls equal each other, as in a group-by.
pub(super) fn key_changes(
    df: &DataFrame,
    keys: &[String],
) -> std::result::Result<Vec<usize>, PolarsError> {
    let n = df.height();
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut change = vec![false; n];
    change[0] = true;
    for k in keys {
        mark_changes(df.column(k)?.as_materialized_series(), &mut change)?;
    }
    Ok((0..n).filter(|&i| change[i]).collect())
}

/// Sets `change[i]` where `s[i]` differs from `s[i - 1]` (nulls equal each
/// other). Text and integer columns are compared value by value over their
/// chunks (issue #19: shifting, re-chunking and comparing whole string
/// columns through polars took an eighth of `batch` on Parquet); other
/// types through polars' own comparison, whose float equality is kept.
fn mark_changes(s: &Series, change: &mut [bool]) -> std::result::Result<(), PolarsError> {
    fn mark<T: PartialEq>(mut values: impl Iterator<Item = Option<T>>, change: &mut [bool]) {
        let Some(mut prev) = values.next() else {
            return;
        };
        for (c, v) in change[1..].iter_mut().zip(values) {
            *c |= v != prev;
            prev = v;
        }
    }
    match s.dtype() {
        DataType::String => mark(s.str()?.iter(), change),
        DataType::Int64 => mark(s.i64()?.iter(), change),
        DataType::Int32 => mark(s.i32()?.iter(), change),
        DataType::UInt64 => mark(s.u64()?.iter(), change),
        DataType::UInt32 => mark(s.u32()?.iter(), change),
        DataType::Boolean => mark(s.bool()?.iter(), change),
        _ => {
            let s = s.rechunk();
            let ne = s.not_equal_missing(&s.shift(1))?;
            for (c, v) in change.iter_mut().zip(ne.iter()).skip(1) {
                *c |= v.unwrap_or(true);
            }
        }
    }
    Ok(())
}

/// A Parquet table as runs.
fn read_parquet_runs(
    path: &Path,
    cols: &BatchColumns,
    needed: &[String],
    var: &str,
) -> Result<Runs> {
    check_columns(path, &parquet_header(path)?, needed)?;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(f)
        .with_columns(Some(needed.to_vec()))
        .finish()
        .map_err(|e| polars_err(path, e))?;
    (|| {
        let starts = key_changes(&df, &cols.groups)?;
        let keys = df
            .select(cols.groups.iter().map(String::as_str))?
            .take(&IdxCa::from_vec(
                "".into(),
                starts.iter().map(|&s| s as _).collect(),
            ))?;
        let mut offsets = starts;
        offsets.push(df.height());
        let (yi, ym) = float_column(&df, &cols.yi)?;
        let (vi, vm) = float_column(&df, var)?;
        let missing = match (ym, vm) {
            (None, None) => Vec::new(),
            (a, b) => (0..yi.len())
                .map(|i| {
                    u8::from(a.as_ref().is_some_and(|m| m[i]))
                        | (u8::from(b.as_ref().is_some_and(|m| m[i])) << 1)
                })
                .collect(),
        };
        Ok(Runs {
            keys,
            offsets,
            yi,
            vi,
            missing,
            lines: Vec::new(),
        })
    })()
    .map_err(|e| polars_err(path, e))
}

/// A column as f64 values (NaN where null) and its null mask, if any.
fn float_column(
    df: &DataFrame,
    name: &str,
) -> std::result::Result<(Vec<f64>, Option<Vec<bool>>), PolarsError> {
    let s = df
        .column(name)?
        .as_materialized_series()
        .cast(&DataType::Float64)?;
    let ca = s.f64()?;
    if ca.null_count() == 0 {
        // One copy out of the chunks (no re-chunked copy first).
        let mut values = Vec::with_capacity(ca.len());
        for a in ca.downcast_iter() {
            values.extend_from_slice(a.values());
        }
        return Ok((values, None));
    }
    let mut mask = Vec::with_capacity(ca.len());
    let values = ca
        .iter()
        .map(|v| {
            mask.push(v.is_none());
            v.unwrap_or(f64::NAN)
        })
        .collect();
    Ok((values, Some(mask)))
}

/// The text cells of one key column, packed into one buffer (an empty
/// cell is null).
#[derive(Debug, Default, PartialEq)]
pub(super) struct KeyCells {
    text: String,
    /// End of each cell in `text` (a cell starts where the one before ends).
    ends: Vec<usize>,
}

impl KeyCells {
    pub(super) fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// Append `other`'s cells after these.
    pub(super) fn append(&mut self, other: KeyCells) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.into_iter().map(|e| e + base));
    }

    /// Cell `r` (None when empty).
    pub(super) fn cell(&self, r: usize) -> Option<&str> {
        let start = if r == 0 { 0 } else { self.ends[r - 1] };
        let end = self.ends[r];
        (end > start).then(|| &self.text[start..end])
    }

    fn cells(&self) -> impl Iterator<Item = Option<&str>> {
        (0..self.ends.len()).map(|r| self.cell(r))
    }

    /// The column, typed as polars' CSV reader would infer it (integer,
    /// float or boolean where every present cell parses, else text).
    pub(super) fn into_column(self, name: &str) -> Column {
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
pub(super) fn csv_location(
    path: &Path,
    line: u64,
    column: Option<usize>,
    name: Option<&str>,
) -> Location {
    Location {
        file: path.to_path_buf(),
        line,
        column,
        column_name: name.map(str::to_string),
    }
}

/// Number of line ends (`\n`, `\r\n`, lone `\r`) in `b`.
pub(super) fn line_ends(b: &[u8]) -> u64 {
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
pub(super) fn skip_line_ends(bytes: &[u8], from: u64) -> usize {
    let mut i = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    while i < bytes.len() && matches!(bytes[i], b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// The 1-based line of each record start (ascending byte offsets), counting
/// from line `first` at byte 0 of `bytes`.
fn lines_of(bytes: &[u8], starts: &[usize], first: u64) -> Vec<u64> {
    let mut out = Vec::with_capacity(starts.len());
    let (mut line, mut pos) = (first, 0usize);
    for &s in starts {
        line += line_ends(&bytes[pos..s]);
        pos = s;
        out.push(line);
    }
    out
}

/// One cell of the effect-size or variance column: `None` when empty or
/// `NA`, else a finite number or an error at its line and column.
pub(super) fn number_cell(cell: &str, at: impl Fn() -> Location) -> Result<Option<f64>> {
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

/// The header of a CSV file: its cells and the byte where the body starts.
pub(super) fn csv_header(path: &Path, bytes: &[u8]) -> Result<(Vec<String>, usize)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::Csv {
                location: Box::new(csv_location(path, 1, None, None)),
                message: "the file is empty; a header line is expected".into(),
                fix: "write the column names on the first line".into(),
            });
        }
        Err(e) => return Err(csv_read_err(path, e, 1)),
    }
    let header_line = 1 + line_ends(&bytes[..skip_line_ends(bytes, 0)]);
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
    Ok((header, rdr.position().byte() as usize))
}

/// A reader error on `line`.
fn csv_read_err(path: &Path, e: csv::Error, line: u64) -> Error {
    Error::Csv {
        location: Box::new(csv_location(path, line, None, None)),
        message: e.to_string(),
        fix: "check that the file is a comma-separated text file".into(),
    }
}

/// Which cells of a CSV record a batch needs.
#[derive(Debug, Clone)]
pub(super) struct CsvLayout {
    /// Header cells.
    pub header: Vec<String>,
    /// Index of each key column.
    pub keys: Vec<usize>,
    /// Index of the effect-size column.
    pub yi: usize,
    /// Index of the variance (or SE) column.
    pub var: usize,
}

impl CsvLayout {
    /// The layout for `keys`, `yi` and `var` under `header` (checked).
    pub(super) fn new(
        path: &Path,
        header: Vec<String>,
        keys: &[String],
        yi: &str,
        var: &str,
    ) -> Result<CsvLayout> {
        let mut needed: Vec<String> = keys.to_vec();
        needed.extend([yi.to_string(), var.to_string()]);
        check_columns(path, &header, &needed)?;
        let index = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
        Ok(CsvLayout {
            keys: keys.iter().map(|k| index(k)).collect(),
            yi: index(yi),
            var: index(var),
            header,
        })
    }
}

/// One record checked by the batch rules: the key cells, yi and the
/// variance (None when missing), or an error at its line and column.
/// `line` gives the record's line (only called on error).
pub(super) fn check_record(
    path: &Path,
    layout: &CsvLayout,
    rec: &csv::ByteRecord,
    line: impl Fn() -> u64,
) -> Result<(Option<f64>, Option<f64>)> {
    let width = layout.header.len();
    if rec.len() != width {
        let multi = rec.iter().any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
        return Err(Error::Csv {
            location: Box::new(csv_location(
                path,
                line(),
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
    // Cell by cell: bytes split by a comma may each be invalid UTF-8 while
    // their concatenation is valid.
    if let Some(bad) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
        return Err(Error::Csv {
            location: Box::new(csv_location(
                path,
                line(),
                Some(bad + 1),
                Some(&layout.header[bad]),
            )),
            message: format!("cell in column {} is not valid UTF-8", bad + 1),
            fix: "save the file as UTF-8 (e.g. \"CSV UTF-8\" in a spreadsheet)".into(),
        });
    }
    let cell = |i: usize| std::str::from_utf8(&rec[i]).unwrap_or_default();
    let at = |i: usize| csv_location(path, line(), Some(i + 1), Some(&layout.header[i]));
    let y = number_cell(cell(layout.yi), || at(layout.yi))?;
    let v = number_cell(cell(layout.var), || at(layout.var))?;
    Ok((y, v))
}

/// The runs of a stretch of whole CSV records.
#[derive(Debug, Default)]
pub(super) struct Block {
    /// Key cells, one per run.
    pub keys: Vec<KeyCells>,
    /// Row where each run starts (block-local; ascending).
    pub run_starts: Vec<usize>,
    /// Effect sizes (NaN where missing).
    pub yi: Vec<f64>,
    /// Variances or SEs as read (NaN where missing).
    pub vi: Vec<f64>,
    /// Per row: bit 1 = yi missing, bit 2 = variance missing.
    pub missing: Vec<u8>,
    /// Some row has a missing value.
    pub any_missing: bool,
    /// Line of every record.
    pub lines: Vec<u64>,
    /// Line ends in the stretch.
    line_ends: u64,
}

impl Block {
    /// One more row's effect size and variance (`None`: missing).
    fn push_values(&mut self, y: Option<f64>, v: Option<f64>) {
        let m = u8::from(y.is_none()) | (u8::from(v.is_none()) << 1);
        self.any_missing |= m != 0;
        self.missing.push(m);
        self.yi.push(y.unwrap_or(f64::NAN));
        self.vi.push(v.unwrap_or(f64::NAN));
    }

    /// Rows of run `r`.
    pub(super) fn run(&self, r: usize) -> std::ops::Range<usize> {
        let end = self.run_starts.get(r + 1).copied().unwrap_or(self.yi.len());
        self.run_starts[r]..end
    }
}

/// Parse `bytes[from..to]` (whole records) into runs. Lines count from 0
/// at byte `from`; error locations from `first_line` at byte 0.
fn parse_piece(
    path: &Path,
    bytes: &[u8],
    (from, to): (usize, usize),
    first_line: u64,
    layout: &CsvLayout,
) -> Result<Block> {
    let body = &bytes[from..to];
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(body);
    let mut rec = csv::ByteRecord::new();
    let mut p = Block {
        keys: layout.keys.iter().map(|_| KeyCells::default()).collect(),
        ..Block::default()
    };
    let mut prev: Vec<Vec<u8>> = vec![Vec::new(); layout.keys.len()];
    let mut starts: Vec<usize> = Vec::new();
    let mut next = 0u64;
    let line_at = |offset: usize| first_line + line_ends(&bytes[..offset.min(bytes.len())]);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let at = skip_line_ends(bytes, from as u64 + next);
                return Err(csv_read_err(path, e, line_at(at)));
            }
        }
        let at = from as u64 + rec.position().map_or(next, |q| q.byte());
        let start = skip_line_ends(bytes, at);
        next = rdr.position().byte();
        let (y, v) = check_record(path, layout, &rec, || line_at(start))?;
        let row = p.yi.len();
        let new_run = row == 0
            || layout
                .keys
                .iter()
                .zip(&prev)
                .any(|(&i, old)| rec[i] != old[..]);
        if new_run {
            p.run_starts.push(row);
            for ((k, &i), old) in p.keys.iter_mut().zip(&layout.keys).zip(&mut prev) {
                k.push(std::str::from_utf8(&rec[i]).unwrap_or_default());
                old.clear();
                old.extend_from_slice(&rec[i]);
            }
        }
        p.push_values(y, v);
        starts.push(start - from);
    }
    p.lines = lines_of(body, &starts, 0);
    p.line_ends = line_ends(body);
    Ok(p)
}

/// Whether `piece` holds plain records only: ASCII without a double quote
/// or `\r`, so every non-empty line is one record and its cells are the
/// bytes between commas ([`parse_plain`]).
fn is_plain(piece: &[u8]) -> bool {
    piece.is_ascii() && memchr::memchr2(b'"', b'\r', piece).is_none()
}

/// [`parse_piece`] for a piece of plain records ([`is_plain`]): lines found
/// with `memchr`, cells split at commas, no CSV reader, no per-record copy,
/// the previous run's key compared in place (issue #19: the reader, its
/// record copies and per-cell UTF-8 checks were half of `batch` on a CSV).
/// `None` at the first record that breaks a rule: the caller then parses
/// the piece with [`parse_piece`], so errors are the reader's, word for
/// word.
fn parse_plain(body: &[u8], layout: &CsvLayout) -> Option<Block> {
    let width = layout.header.len();
    let rows = body.len() / 16 + 1;
    let mut p = Block {
        keys: layout.keys.iter().map(|_| KeyCells::default()).collect(),
        yi: Vec::with_capacity(rows),
        vi: Vec::with_capacity(rows),
        missing: Vec::with_capacity(rows),
        lines: Vec::with_capacity(rows),
        ..Block::default()
    };
    let mut prev: Vec<&[u8]> = vec![&[]; layout.keys.len()];
    let mut cells: Vec<&[u8]> = Vec::with_capacity(width);
    let (mut line, mut pos) = (0u64, 0usize);
    // Where an error would be: never built, as an error ends the fast path.
    let nowhere = || Location {
        file: std::path::PathBuf::new(),
        line: 0,
        column: None,
        column_name: None,
    };
    while pos < body.len() {
        let end = memchr::memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i);
        let rec = &body[pos..end];
        if !rec.is_empty() {
            cells.clear();
            cells.extend(rec.split(|&b| b == b','));
            let number = |i: usize| {
                let cell = std::str::from_utf8(cells[i]).unwrap_or("?");
                number_cell(cell, nowhere)
            };
            let parsed =
                match (cells.len() == width).then(|| (number(layout.yi), number(layout.var))) {
                    Some((Ok(y), Ok(v))) => Some((y, v)),
                    _ => None,
                };
            let (y, v) = parsed?;
            let row = p.yi.len();
            if row == 0
                || layout
                    .keys
                    .iter()
                    .zip(&prev)
                    .any(|(&i, old)| cells[i] != *old)
            {
                p.run_starts.push(row);
                for ((k, &i), old) in p.keys.iter_mut().zip(&layout.keys).zip(&mut prev) {
                    k.push(std::str::from_utf8(cells[i]).unwrap_or_default());
                    *old = cells[i];
                }
            }
            p.push_values(y, v);
            p.lines.push(line);
        }
        if end < body.len() {
            line += 1;
        }
        pos = end + 1;
    }
    p.line_ends = line;
    Some(p)
}

/// Cut `bytes[from..]` into about `n` stretches of whole lines (each ends
/// just after a `\n`, or at the end).
fn cut_at_lines(bytes: &[u8], from: usize, n: usize) -> Vec<(usize, usize)> {
    let len = bytes.len() - from;
    let mut out = Vec::with_capacity(n);
    let mut a = from;
    for i in 1..n {
        let want = from + len * i / n;
        if want <= a {
            continue;
        }
        let b = match bytes[want..].iter().position(|&c| c == b'\n') {
            Some(p) => want + p + 1,
            None => bytes.len(),
        };
        if b > a {
            out.push((a, b));
            a = b;
        }
    }
    if a < bytes.len() || out.is_empty() {
        out.push((a, bytes.len()));
    }
    out
}

/// Smallest body worth cutting into stretches parsed in parallel.
const PARALLEL_BYTES: usize = 1 << 20;

/// The records of `bytes[from..]` (whole records; `first_line` is the line
/// of byte 0) as runs. A stretch without double quotes has no record
/// spanning a line end, so it is cut at `\n`s and the pieces are parsed on
/// every core (a lone `\r` ends lines too, but a cut at `\n` never splits a
/// `\r\n`); a quoted one is parsed in one piece.
pub(super) fn parse_block(
    path: &Path,
    bytes: &[u8],
    from: usize,
    first_line: u64,
    layout: &CsvLayout,
) -> Result<Block> {
    // The reader stops a header line ended by `\r\n` between the two; start
    // at the first byte that is not a line end, so no piece begins inside
    // a `\r\n` (which would count as two line ends).
    let from = skip_line_ends(bytes, from as u64);
    let pieces = if bytes.len() - from >= PARALLEL_BYTES && !bytes[from..].contains(&b'"') {
        cut_at_lines(bytes, from, 4 * rayon::current_num_threads())
    } else {
        vec![(from, bytes.len())]
    };
    let parsed: Vec<Result<Block>> = pieces
        .par_iter()
        .map(|&(a, b)| {
            let plain = is_plain(&bytes[a..b]).then(|| parse_plain(&bytes[a..b], layout));
            match plain.flatten() {
                Some(block) => Ok(block),
                None => parse_piece(path, bytes, (a, b), first_line, layout),
            }
        })
        .collect();
    let mut out = Block {
        keys: layout.keys.iter().map(|_| KeyCells::default()).collect(),
        ..Block::default()
    };
    let mut base_line = first_line + line_ends(&bytes[..from]);
    for p in parsed {
        let p = p?;
        let row0 = out.yi.len();
        out.run_starts.extend(p.run_starts.iter().map(|r| r + row0));
        for (o, k) in out.keys.iter_mut().zip(p.keys) {
            o.append(k);
        }
        if out.yi.is_empty() {
            (out.yi, out.vi, out.missing) = (p.yi, p.vi, p.missing);
        } else {
            out.yi.extend_from_slice(&p.yi);
            out.vi.extend_from_slice(&p.vi);
            out.missing.extend_from_slice(&p.missing);
        }
        out.any_missing |= p.any_missing;
        out.lines.extend(p.lines.iter().map(|l| l + base_line));
        base_line += p.line_ends;
    }
    out.line_ends = base_line - first_line;
    Ok(out)
}

/// A CSV file as runs (rules of [`read_groups`]).
fn read_csv_runs(path: &Path, keys: &[String], yi: &str, var: &str) -> Result<Runs> {
    // Read in parallel blocks (page faults and copies on every core).
    let bytes = crate::data::load::read_file(path).map_err(|e| Error::io(path, e))?;
    let (header, body) = csv_header(path, &bytes)?;
    let layout = CsvLayout::new(path, header, keys, yi, var)?;
    let b = parse_block(path, &bytes, body, 1, &layout)?;
    drop(bytes);
    let mut offsets = b.run_starts;
    offsets.push(b.yi.len());
    let columns: Vec<Column> = b
        .keys
        .into_iter()
        .zip(keys)
        .map(|(k, name)| k.into_column(name))
        .collect();
    let keys = DataFrame::new(offsets.len() - 1, columns).map_err(|e| polars_err(path, e))?;
    Ok(Runs {
        keys,
        offsets,
        yi: b.yi,
        vi: b.vi,
        missing: if b.any_missing { b.missing } else { Vec::new() },
        lines: b.lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random piece of plain records over `outcome,region,yi,vi`: runs of
    /// repeated keys, blank lines, empty and `NA` cells, sometimes no final
    /// line end, and now and then a record the rules refuse (a missing or
    /// extra cell, a word, an overflowing number, spaces around a value).
    fn piece(seed: u64) -> String {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = |n: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % n
        };
        let mut out = String::new();
        let rows = next(40);
        let mut key = (next(3), next(3));
        for _ in 0..rows {
            if next(4) == 0 {
                key = (next(3), next(3));
            }
            if next(10) == 0 {
                out.push('\n');
            }
            let cell = |r: u64| match r {
                0 => String::new(),
                1 => "NA".into(),
                _ => format!("{}.{}", r % 7, r),
            };
            let (y, v) = (cell(next(20)), cell(next(20)));
            let line = match next(if seed.is_multiple_of(3) { 60 } else { 1000 }) {
                0 => format!("o{},{},{y}", key.0, key.1),
                1 => format!("o{},{},{y},{v},x", key.0, key.1),
                2 => format!("o{},{},word,{v}", key.0, key.1),
                3 => format!("o{},{},1e999,{v}", key.0, key.1),
                4 => format!("o{},{}, 1.5,{v}", key.0, key.1),
                _ => format!("o{},{},{y},{v}", key.0, key.1),
            };
            out.push_str(&line);
            out.push('\n');
        }
        if next(3) == 0 {
            out.pop();
        }
        out
    }

    /// The plain-record fast path gives exactly what the CSV reader's path
    /// gives on 3,000 random pieces, and gives up (for the reader to name
    /// the error) exactly where the reader fails.
    #[test]
    fn plain_records_parse_as_the_csv_reader_parses_them() {
        let path = Path::new("t.csv");
        let header: Vec<String> = ["outcome", "region", "yi", "vi"].map(String::from).into();
        let keys = ["outcome".to_string(), "region".to_string()];
        let layout = CsvLayout::new(path, header, &keys, "yi", "vi").unwrap();
        let mut errors = 0;
        for seed in 0..3000 {
            let text = format!("outcome,region,yi,vi\n{}", piece(seed));
            let bytes = text.as_bytes();
            let from = 21;
            assert!(is_plain(&bytes[from..]));
            let reader = parse_piece(path, bytes, (from, bytes.len()), 1, &layout);
            let plain = parse_plain(&bytes[from..], &layout);
            match (&reader, &plain) {
                (Ok(a), Some(b)) => {
                    // NaN marks a missing value: compare the bits.
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        (&a.keys, &a.run_starts, bits(&a.yi), bits(&a.vi), &a.missing),
                        (&b.keys, &b.run_starts, bits(&b.yi), bits(&b.vi), &b.missing),
                        "{text:?}"
                    );
                    assert_eq!(
                        (a.any_missing, &a.lines, a.line_ends),
                        (b.any_missing, &b.lines, b.line_ends),
                        "{text:?}"
                    );
                }
                // The fast path gives up exactly where the reader fails.
                (Err(_), None) => errors += 1,
                _ => panic!("{text:?}: {reader:?} vs {plain:?}"),
            }
        }
        assert!(
            errors > 100,
            "the pieces exercise the error path ({errors})"
        );
    }
}
