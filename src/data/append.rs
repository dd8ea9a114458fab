//! Adding and removing rows of the dataset without ever losing data
//! (`spotmeta add`, `spotmeta remove`).
//!
//! * The file's existing bytes are copied verbatim; a new row is appended as
//!   one CSV record in the file's own line ending (LF or CRLF) and quoting
//!   (minimal, or every field when the header is fully quoted), and removal
//!   cuts out exactly the bytes of the removed records.
//! * The would-be file is checked in memory with the row and column rules of
//!   `spotmeta check` ([`super::validate`]); any error refuses the change and
//!   nothing is written. Two parts of `check` are not applied here: the
//!   risk-of-bias cross-check against the confound flags (warnings, in
//!   `analysis::rob`, a layer above this one) and the review record's
//!   cross-references; run `spotmeta check` after an edit for those.
//! * Records are located by the loader's own record locator
//!   ([`super::load::Span`]), so LF, CRLF, lone-CR, mixed line endings, blank
//!   lines, a byte-order mark and multi-line quoted fields are all edited at
//!   exactly the right bytes.
//! * The edit goes to the real file behind any symlink; a write-protected or
//!   hard-linked file is refused ([`fsguard::edit_target`]). A new row is
//!   appended to the file in place under a roll-back journal
//!   ([`fsguard::append_in_place`]): the file's bytes are never rewritten,
//!   and a writer killed mid-append is rolled back by the next one (readers
//!   never see the unfinished row). Replacing or removing rows writes the
//!   whole file to a temporary file next to it with its mode and owner,
//!   which is fsynced and renamed over it, then the directory is fsynced
//!   ([`fsguard::replace_file`]).
//! * An exclusive lock on `REAL.lock` ([`fsguard::DatasetLock`]) serialises
//!   concurrent writers, waiting at most [`EditOptions::wait`] and naming the
//!   holder; the operating system releases it if a process dies, so a crash
//!   never leaves a stale lock. The file is re-read after the lock is taken,
//!   so no writer overwrites another's row.
//! * A header that differs from the codebook's column order is an error, never
//!   a silent reorder.

use super::fsguard;
use super::load::{CsvProblem, Span};
use super::schema::COLUMNS;
use super::{CheckReport, SpotDataset, Table, TableRow};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Line ending and quoting of an existing CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvStyle {
    /// The header's line ending (`\n`, `\r\n` or `\r`), used for new rows.
    pub line_ending: &'static [u8],
    /// Every header field is quoted.
    pub quote_all: bool,
    /// The file ends with a line ending.
    pub trailing_newline: bool,
}

/// The style of `bytes`, read into `table`, from its header record.
pub fn style_of(table: &Table, bytes: &[u8]) -> CsvStyle {
    style_at(table.header_span, bytes)
}

/// The style of `bytes` whose header record sits at `h`.
fn style_at(h: Span, bytes: &[u8]) -> CsvStyle {
    let header = String::from_utf8_lossy(&bytes[h.start..h.end]);
    let quote_all = !header.is_empty()
        && header
            .trim_start_matches('\u{feff}')
            .split(',')
            .all(|f| f.len() >= 2 && f.starts_with('"') && f.ends_with('"'));
    CsvStyle {
        line_ending: match &bytes[h.end..h.next] {
            b"\r\n" => b"\r\n",
            b"\r" => b"\r",
            _ => b"\n",
        },
        quote_all,
        trailing_newline: bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')),
    }
}

/// Serialise one record in `style`, without a line ending.
fn record_bytes(fields: &[String], style: CsvStyle) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(if style.quote_all {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .from_writer(Vec::new());
    w.write_record(fields)
        .map_err(|e| Error::Unsupported(format!("cannot write the row as CSV: {e}")))?;
    let mut out = w
        .into_inner()
        .map_err(|e| Error::Unsupported(format!("cannot write the row as CSV: {e}")))?;
    out.pop();
    Ok(out)
}

/// Check that the header is the codebook's, column for column.
fn check_header(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let headers = rdr.headers().map_err(|e| {
        Error::Unsupported(format!("{}: cannot read the header: {e}", path.display()))
    })?;
    let got: Vec<&str> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .collect();
    let want: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    if got != want {
        let at = got
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        return Err(Error::Csv {
            location: Box::new(crate::error::Location {
                file: path.to_path_buf(),
                line: 1,
                column: Some(at + 1),
                column_name: got.get(at).map(|s| s.to_string()),
            }),
            message: format!(
                "the header does not match the codebook: expected `{}` at column {}, found `{}`",
                want.get(at).unwrap_or(&"(end of header)"),
                at + 1,
                got.get(at).unwrap_or(&"(end of header)")
            ),
            fix: "restore the header of datasets/README.md (spotmeta never reorders columns); `spotmeta check` lists every difference".into(),
        });
    }
    Ok(())
}

pub use super::fsguard::DatasetLock;

/// What a change did (or, with `dry_run`, would do).
#[derive(Debug)]
pub struct Change {
    /// The rows added or written in place of others, typed (the rows the
    /// change left alone are checked but not typed).
    pub added: SpotDataset,
    /// The check report of the file after the change.
    pub report: CheckReport,
    /// Lines (in the new file) of rows added.
    pub added_lines: Vec<u64>,
    /// Rows removed or replaced, as the CSV text they had (nothing is lost).
    pub removed: Vec<String>,
    /// Whether the file was written.
    pub written: bool,
    /// The file before the change.
    before: Before,
    /// The real file changed (symlinks resolved).
    pub real: PathBuf,
    /// The dataset lock, held until this `Change` is dropped, so follow-up
    /// work (`--rerun`'s report) sees exactly the file written.
    lock: Option<DatasetLock>,
}

/// The file before a change: its bytes, or (after an append) its length,
/// the prefix of the file as it is now.
#[derive(Debug)]
enum Before {
    Bytes(Vec<u8>),
    Prefix(u64),
}

impl Change {
    /// The lock held for this change (`None` for a dry run).
    pub fn lock(&self) -> Option<&DatasetLock> {
        self.lock.as_ref()
    }

    /// The file's bytes before the change (an append's are read back from
    /// the file: its first bytes, unchanged under the lock this change
    /// holds).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read.
    pub fn before(&self) -> Result<Cow<'_, [u8]>> {
        match &self.before {
            Before::Bytes(b) => Ok(Cow::Borrowed(b)),
            Before::Prefix(len) => std::fs::File::open(&self.real)
                .and_then(|f| super::load::read_prefix(&f, *len))
                .map(Cow::Owned)
                .map_err(|e| Error::io(&self.real, e)),
        }
    }
}

/// How an edit is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditOptions {
    /// Check and describe the change; write nothing (and take no lock).
    pub dry_run: bool,
    /// How long to wait for another writer's lock.
    pub wait: Duration,
}

impl Default for EditOptions {
    fn default() -> Self {
        EditOptions {
            dry_run: false,
            wait: super::fsguard::DEFAULT_WAIT,
        }
    }
}

/// Values for a new row, by column name (unknown names are refused).
pub type RowValues = BTreeMap<String, String>;

fn check_names(values: &RowValues) -> Result<()> {
    let unknown: Vec<&String> = values
        .keys()
        .filter(|k| !COLUMNS.iter().any(|c| c.name == k.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::option(
        unknown
            .iter()
            .map(|k| format!("--{}", k.replace('_', "-")))
            .collect::<Vec<_>>()
            .join(", "),
        "not a column of the dataset; see `spotmeta add --help` or datasets/README.md for the columns",
    ))
}

fn key_of(values: &RowValues) -> [String; 5] {
    let get = |k: &str| {
        values
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    [
        get("study_id"),
        get("cohort"),
        get("comparison"),
        get("region"),
        get("method"),
    ]
}

/// Refuse the change when the would-be file has errors, listing them.
fn refuse_if_invalid(path: &Path, report: &CheckReport, new_lines: &[u64]) -> Result<()> {
    let errors: Vec<String> = report
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(|i| {
            let new = if new_lines.contains(&i.line) {
                " [the new row]"
            } else {
                ""
            };
            format!("{i}{new}")
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid {
        file: path.to_path_buf(),
        problems: errors,
    })
}

/// What an edit makes of the file's bytes.
struct Edit {
    /// The would-be file.
    bytes: Vec<u8>,
    /// Byte offset where an added or replaced record starts (`usize::MAX`
    /// for none).
    added_at: usize,
    /// The text of the records dropped.
    removed: Vec<String>,
}

/// The real file an edit of `path` changes and, unless `dry_run`, the lock
/// taken on it (which also rolls back an append a killed writer left).
fn open_for_edit(path: &Path, opts: &EditOptions) -> Result<(PathBuf, Option<DatasetLock>)> {
    if opts.dry_run {
        fsguard::regular_file(path)?;
        Ok((path.to_path_buf(), None))
    } else {
        let real = fsguard::edit_target(path)?;
        let lock = DatasetLock::acquire(&real, opts.wait)?;
        Ok((real, Some(lock)))
    }
}

/// Checks the would-be file `read` (the change puts a row at byte
/// `added_at`), refusing it with every error, and types the added rows.
fn check_would_be(
    path: &Path,
    (table, problems): (Table, Vec<CsvProblem>),
    added_at: usize,
) -> Result<(SpotDataset, CheckReport, Vec<u64>)> {
    let issues = super::validate::validate(&table, problems);
    let added_lines: Vec<u64> = table
        .rows
        .iter()
        .filter(|r| r.span.start == added_at)
        .map(|r| r.line)
        .collect();
    let report = super::report(path, &table, issues.clone());
    refuse_if_invalid(path, &report, &added_lines)?;
    let added = super::typed_where(path, (table, issues), |r| r.span.start == added_at)?;
    Ok((added, report, added_lines))
}

/// Runs `change` on the file's bytes under the lock; `change` returns the
/// [`Edit`], which replaces the file.
fn apply(
    path: &Path,
    opts: &EditOptions,
    change: impl FnOnce(&[u8]) -> Result<Edit>,
) -> Result<Change> {
    let (real, lock) = open_for_edit(path, opts)?;
    let before = super::load::read_file(&real).map_err(|e| Error::io(path, e))?;
    check_header(path, &before)?;
    rewrite(path, opts, real, lock, before, change)
}

/// [`apply`] once the file is open and its `before` bytes read.
fn rewrite(
    path: &Path,
    opts: &EditOptions,
    real: PathBuf,
    lock: Option<DatasetLock>,
    before: Vec<u8>,
    change: impl FnOnce(&[u8]) -> Result<Edit>,
) -> Result<Change> {
    let Edit {
        bytes: after_bytes,
        added_at,
        removed,
    } = change(&before)?;
    // One read and one validation of the would-be file serve the check, the
    // new row's line and the typed rows.
    let read = super::load::read_lenient_bytes(path.to_path_buf(), &after_bytes)?;
    let (added, report, added_lines) = check_would_be(path, read, added_at)?;
    if !opts.dry_run {
        fsguard::replace_file(&real, &after_bytes)?;
    }
    Ok(Change {
        added,
        report,
        added_lines,
        removed,
        written: !opts.dry_run,
        before: Before::Bytes(before),
        real,
        lock,
    })
}

/// Reads `before` for an edit; the header was checked already.
fn table_of(path: &Path, before: &[u8]) -> Result<Table> {
    Table::from_reader(&path.display().to_string(), before)
}

/// The first bytes of `file` (of committed length `len`) up to and
/// including the header record's line ending: enough for the header's
/// names, line ending and quoting.
fn read_head(path: &Path, file: &std::fs::File, len: u64) -> Result<Vec<u8>> {
    let mut want: u64 = 64 << 10;
    loop {
        let head =
            super::load::read_range(file, 0, want.min(len)).map_err(|e| Error::io(path, e))?;
        let whole = head.len() as u64 >= len;
        match super::load::header_span(&head) {
            Some(h) if whole || h.next < head.len() => return Ok(head),
            None if whole => return Ok(head),
            _ => want *= 4,
        }
    }
}

/// Whether the file's committed bytes end with a line ending.
fn ends_with_line_ending(path: &Path, file: &std::fs::File, len: u64) -> Result<bool> {
    let last = super::load::read_range(file, len.saturating_sub(1), len)
        .map_err(|e| Error::io(path, e))?;
    Ok(matches!(last.last(), Some(b'\n' | b'\r')))
}

/// Add one row (`replace`: overwrite the row with the same key in place).
///
/// The would-be file (the file's committed bytes followed by the new row's
/// bytes, never copied) is read and checked once; that read also finds a row
/// with the same key. A new row is then appended in place
/// ([`fsguard::append_in_place`]; issue #19: rewriting 206 MB to add one row
/// took most of a second). Only `--replace` of an existing row builds and
/// reads a second would-be file, which replaces the file.
pub fn add_row(
    path: &Path,
    values: &RowValues,
    replace: bool,
    opts: &EditOptions,
) -> Result<Change> {
    check_names(values)?;
    let (real, lock) = open_for_edit(path, opts)?;
    let file = std::fs::File::open(&real).map_err(|e| Error::io(path, e))?;
    // Under the lock the committed length is the file's (the lock rolled
    // back any unfinished append); a dry run reads what a reader would.
    let (len, _) = fsguard::committed_len(&file, &real).map_err(|e| Error::io(path, e))?;
    let head = read_head(path, &file, len)?;
    check_header(path, &head)?;
    let header = super::load::header_span(&head)
        .ok_or_else(|| Error::Unsupported(format!("{}: cannot read the header", path.display())))?;
    let style = CsvStyle {
        trailing_newline: ends_with_line_ending(path, &file, len)?,
        ..style_at(header, &head)
    };
    let fields: Vec<String> = COLUMNS
        .iter()
        .map(|c| values.get(c.name).cloned().unwrap_or_default())
        .collect();
    let record = record_bytes(&fields, style)?;
    let mut tail = Vec::with_capacity(record.len() + 4);
    if !style.trailing_newline {
        tail.extend_from_slice(style.line_ending);
    }
    let at = len as usize + tail.len();
    tail.extend_from_slice(&record);
    tail.extend_from_slice(style.line_ending);
    let (table, problems) = super::load::read_lenient_file(path, &file, len, &tail)?;
    if !problems.is_empty() {
        // A file that does not read cleanly as it is is refused with the
        // strict reader's first problem, as before the change is made.
        Table::read(path)?;
    }
    let key = key_of(values);
    let cols: Vec<usize> = ["study_id", "cohort", "comparison", "region", "method"]
        .iter()
        .map(|c| table.column(c).expect("header checked"))
        .collect();
    // The rows before the appended one sit at the same bytes and lines as
    // in the file.
    let existing = table
        .rows
        .iter()
        .find(|r| {
            r.span.start != at && cols.iter().zip(&key).all(|(c, k)| r.fields[*c].trim() == k)
        })
        .map(|r| (r.span, r.line));
    match existing {
        None => {
            let (added, report, added_lines) = check_would_be(path, (table, problems), at)?;
            if !opts.dry_run {
                fsguard::append_in_place(&real, len, &tail)?;
            }
            Ok(Change {
                added,
                report,
                added_lines,
                removed: vec![],
                written: !opts.dry_run,
                before: Before::Prefix(len),
                real,
                lock,
            })
        }
        Some((_, line)) if !replace => Err(Error::Unsupported(format!(
            "{}:{line}: a row with the same key (study_id, cohort, comparison, region, method) = ({}) already exists; use --replace to overwrite it (the old row is then printed, so nothing is lost)",
            path.display(),
            key.join(", ")
        ))),
        Some((span, _)) => {
            drop(table);
            let before = super::load::read_file(&real).map_err(|e| Error::io(path, e))?;
            rewrite(path, opts, real, lock, before, |before| {
                // The record's own bytes are swapped; its line ending and
                // everything around it stay as they were.
                let old = String::from_utf8_lossy(&before[span.start..span.end]).into_owned();
                let mut out = before[..span.start].to_vec();
                out.extend_from_slice(&record);
                out.extend_from_slice(&before[span.end..]);
                Ok(Edit {
                    bytes: out,
                    added_at: span.start,
                    removed: vec![old],
                })
            })
        }
    }
}

/// Remove every row of `study_id` (optionally only `cohort`).
pub fn remove_rows(
    path: &Path,
    study_id: &str,
    cohort: Option<&str>,
    opts: &EditOptions,
) -> Result<Change> {
    apply(path, opts, |before| {
        let table = table_of(path, before)?;
        let (sc, cc) = (
            table.column("study_id").expect("header checked"),
            table.column("cohort").expect("header checked"),
        );
        let gone: Vec<&TableRow> = table
            .rows
            .iter()
            .filter(|r| {
                r.fields[sc].trim() == study_id && cohort.is_none_or(|c| r.fields[cc].trim() == c)
            })
            .collect();
        if gone.is_empty() {
            return Err(Error::Unsupported(format!(
                "{}: no row with study_id `{study_id}`{}; `spotmeta flags` lists the studies",
                path.display(),
                cohort
                    .map(|c| format!(" and cohort `{c}`"))
                    .unwrap_or_default()
            )));
        }
        let (mut out, mut removed, mut at) = (Vec::with_capacity(before.len()), Vec::new(), 0);
        for row in gone {
            // The record and its own line ending go; blank lines stay.
            out.extend_from_slice(&before[at..row.span.start]);
            removed.push(format!(
                "line {}: {}",
                row.line,
                String::from_utf8_lossy(&before[row.span.start..row.span.end])
            ));
            at = row.span.next;
        }
        out.extend_from_slice(&before[at..]);
        Ok(Edit {
            bytes: out,
            added_at: usize::MAX,
            removed,
        })
    })
}

/// A row to add, read from the text of a row file: a TOML table (`column =
/// value`; `source` ends in `.toml`) or a CSV with a header and exactly one
/// row (any subset of columns; empty cells are left out). TOML booleans are
/// the codebook's `yes`/`no`. `source` names the file in errors (`-` for
/// standard input).
///
/// # Errors
///
/// [`Error::Unsupported`] naming `source` for text that does not parse, a
/// TOML value that is neither a string nor a number, or a CSV without
/// exactly one row.
///
/// # Examples
///
/// ```
/// use spotmeta::data::append::parse_row;
/// use std::path::Path;
/// let row = parse_row("study_id,year\nsmith2001,2001\n", Path::new("row.csv"))?;
/// assert_eq!(row["year"], "2001");
/// let row = parse_row("study_id = \"smith2001\"\ndiet_controlled = true\n", Path::new("row.toml"))?;
/// assert_eq!(row["diet_controlled"], "yes");
/// # Ok::<(), spotmeta::Error>(())
/// ```
pub fn parse_row(text: &str, source: &Path) -> Result<RowValues> {
    let fail = |m: String| Error::Unsupported(format!("{}: {m}", source.display()));
    let mut out = RowValues::new();
    if source.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
        for (k, v) in table {
            let s = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => if b { "yes" } else { "no" }.into(),
                other => {
                    return Err(fail(format!(
                        "`{k}` must be a string or a number, not {}",
                        other.type_str()
                    )));
                }
            };
            out.insert(k, s);
        }
        return Ok(out);
    }
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| fail(e.to_string()))?.clone();
    let mut records = rdr.records();
    let rec = records
        .next()
        .ok_or_else(|| fail("a header and one row are needed".into()))?
        .map_err(|e| fail(e.to_string()))?;
    if records.next().is_some() {
        return Err(fail("give exactly one row (add rows one at a time)".into()));
    }
    for (h, v) in headers.iter().zip(rec.iter()) {
        if !v.is_empty() {
            out.insert(h.trim_start_matches('\u{feff}').to_string(), v.to_string());
        }
    }
    Ok(out)
}

/// The codebook columns a row still needs (required, or required of an
/// included study while `status` is empty or `included`) and has no value
/// for: what `spotmeta add` asks for on a terminal.
pub fn missing_required(values: &RowValues) -> Vec<&'static super::schema::ColumnSpec> {
    let included = values.get("status").is_none_or(|s| s == "included");
    COLUMNS
        .iter()
        .filter(|c| {
            let needed =
                c.required || (included && super::schema::REQUIRED_WHEN_INCLUDED.contains(&c.name));
            needed && values.get(c.name).is_none_or(|v| v.trim().is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(text: &[u8]) -> CsvStyle {
        style_of(&Table::from_reader("t.csv", text).unwrap(), text)
    }

    #[test]
    fn style_detects_line_ending_quoting_and_trailing_newline() {
        let s = style(b"\"a\",\"b\"\r\n\"1\",\"2\"\r\n");
        assert!(s.line_ending == b"\r\n" && s.quote_all && s.trailing_newline);
        let s = style(b"a,b\n1,2");
        assert!(s.line_ending == b"\n" && !s.quote_all && !s.trailing_newline);
        let s = style(b"a,b\r1,2\r");
        assert!(s.line_ending == b"\r" && !s.quote_all && s.trailing_newline);
    }
}
