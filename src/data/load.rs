//! Reading CSV files into a [`Table`] of strings that remembers where every
//! cell came from.
//!
//! A [`Table`] is the metafor-style input: a header and rows of text cells,
//! each row carrying its 1-based physical line (the header is line 1), so
//! every later error can say `file:line:column`. Columns are pulled out by
//! name with [`Table::numeric`], [`Table::numeric_required`] and
//! [`Table::text`]; the numeric accessors report *all* bad cells of a column
//! in one error rather than stopping at the first.
//!
//! The reader accepts a UTF-8 byte-order mark and CRLF line ends, trims
//! nothing, and rejects ragged rows and invalid UTF-8 with the line and
//! column of the problem.

use crate::error::{Error, Location, Result};
use rayon::prelude::*;
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where one CSV record sits in the file's bytes: the record locator shared by
/// the loader (line numbers in messages) and the editor (`spotmeta add` /
/// `remove` cut and splice exactly these bytes).
///
/// Line endings may be `\n`, `\r\n` or a lone `\r`, mixed within a file;
/// blank lines, a byte-order mark, a missing final line ending and quoted
/// fields spanning several lines are all located exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based physical line where the record starts; a line ends at `\n`,
    /// `\r\n` or a lone `\r`.
    pub line: u64,
    /// First byte of the record (after any blank lines before it).
    pub start: usize,
    /// One past the record's last byte, its line ending excluded.
    pub end: usize,
    /// One past the record's own line ending (`end` when the file ends
    /// without one); blank lines after it are not part of the record.
    pub next: usize,
}

/// One data row of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// 1-based physical line where the record starts (the header is line 1).
    pub line: u64,
    /// The cells, exactly as written (unquoted, untrimmed): slices of one
    /// text buffer shared by the rows read together, not one `String` per
    /// cell (a third of `check`'s time on 100,000 rows was allocating and
    /// freeing cells) nor a buffer per row (growing the allocator's heap a
    /// page at a time was a tenth of it).
    pub fields: Cells,
    /// Where the record sits in the bytes read.
    pub span: Span,
}

/// The text of the rows read together: their cells one after another, and
/// where each cell ends.
#[derive(Debug, Default)]
struct Block {
    text: String,
    ends: Vec<usize>,
}

/// The cells of one row of a [`Table`]: index them (`&row.fields[i]`) or
/// iterate over them like a `csv::StringRecord`.
#[derive(Clone)]
pub struct Cells {
    block: Arc<Block>,
    /// Where the row's text starts in the block.
    start: usize,
    /// Index in `block.ends` of the row's first cell.
    first: usize,
    /// Number of cells.
    len: usize,
}

impl Cells {
    /// Number of cells.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the row has no cells.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Cell `i`, if there is one. Inlined: the checks read every cell of
    /// every row several times.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        let ends = self.block.ends.get(self.first..self.first + self.len)?;
        let to = *ends.get(i)?;
        let from = match i {
            0 => self.start,
            _ => ends[i - 1],
        };
        self.block.text.get(from..to)
    }

    /// The cells in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let ends = &self.block.ends[self.first..self.first + self.len];
        let text = self.block.text.as_str();
        let mut from = self.start;
        ends.iter().map(move |&to| {
            let cell = &text[from..to];
            from = to;
            cell
        })
    }

    /// Total length of the cells' text in bytes.
    pub fn text_len(&self) -> usize {
        match self.len {
            0 => 0,
            n => self.block.ends[self.first + n - 1] - self.start,
        }
    }
}

impl std::ops::Index<usize> for Cells {
    type Output = str;

    /// Cell `i`.
    ///
    /// # Panics
    ///
    /// If the row has no cell `i`.
    #[inline]
    fn index(&self, i: usize) -> &str {
        match self.get(i) {
            Some(cell) => cell,
            None => panic!("cell {i} of a row of {} cells", self.len),
        }
    }
}

impl PartialEq for Cells {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Cells {}

impl std::fmt::Debug for Cells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A CSV file as a header and rows of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Where the table was read from (`-` or a label for readers).
    pub path: PathBuf,
    /// Header names, byte-order mark removed.
    pub headers: Vec<String>,
    /// Data rows, in file order.
    pub rows: Vec<TableRow>,
    /// Where the header record sits in the bytes read.
    pub header_span: Span,
}

/// A record the lenient reader could not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvProblem {
    /// Line where the record starts.
    pub line: u64,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

const RAGGED_FIX: &str = "every row needs one value per header column: look for a missing or extra comma, \
     or an unclosed double quote; put cells that contain commas in double quotes";

impl Table {
    /// Reads the CSV file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file is missing, not a regular file (a directory
    /// or FIFO) or cannot be opened; [`Error::Csv`] if it is empty, names a
    /// column twice, has a ragged row, unbalanced quotes or invalid UTF-8.
    pub fn read(path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref();
        // A FIFO or directory is refused before opening, never waited on.
        super::fsguard::regular_file(path)?;
        Self::from_lenient(read_lenient_path(path)?)
    }

    /// Reads CSV from any reader (stdin, a byte slice in tests); `name` is
    /// used as the file name in messages.
    ///
    /// # Errors
    ///
    /// As [`Table::read`].
    pub fn from_reader<R: Read>(name: &str, reader: R) -> Result<Table> {
        Self::from_named_reader(PathBuf::from(name), reader)
    }

    fn from_named_reader<R: Read>(path: PathBuf, reader: R) -> Result<Table> {
        Self::from_lenient(read_lenient(path, reader)?)
    }

    /// The table read leniently, or the first problem with it.
    fn from_lenient((table, problems): (Table, Vec<CsvProblem>)) -> Result<Table> {
        if let Some((first, second)) = duplicate_column(&table.headers) {
            return Err(Error::Csv {
                location: Box::new(Location {
                    file: table.path,
                    line: table.header_span.line,
                    column: Some(second + 1),
                    column_name: Some(table.headers[second].clone()),
                }),
                message: format!(
                    "duplicate column `{}` (also column {}); spotmeta will not guess which copy is meant",
                    table.headers[second],
                    first + 1
                ),
                fix: "rename or remove one of the two columns".to_owned(),
            });
        }
        match problems.into_iter().next() {
            None => Ok(table),
            Some(p) => Err(Error::Csv {
                location: Box::new(Location {
                    file: table.path,
                    line: p.line,
                    column: p.column,
                    column_name: None,
                }),
                message: p.message,
                fix: p.fix,
            }),
        }
    }

    /// The 0-based index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The cells of column `name`, or `None` if there is no such column.
    pub fn text(&self, name: &str) -> Option<Vec<&str>> {
        let c = self.column(name)?;
        Some(self.rows.iter().map(|r| &r.fields[c]).collect())
    }

    /// Column `name` as numbers; empty cells and `NA` become `None`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`] if there is no such column;
    /// [`Error::Invalid`] listing every cell that is not a finite number.
    pub fn numeric(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let (values, problems) = self.parse_column(name, false)?;
        self.finish(values, problems)
    }

    /// Column `name` as numbers where every row must have a value.
    ///
    /// # Errors
    ///
    /// As [`Table::numeric`], and every empty or `NA` cell is reported too.
    pub fn numeric_required(&self, name: &str) -> Result<Vec<f64>> {
        let (values, problems) = self.parse_column(name, true)?;
        // Every value is present once no problem was found.
        self.finish(values, problems)
            .map(|v| v.into_iter().flatten().collect())
    }

    fn finish<T>(&self, values: T, problems: Vec<String>) -> Result<T> {
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(Error::Invalid {
                file: self.path.clone(),
                problems,
            })
        }
    }

    fn parse_column(&self, name: &str, required: bool) -> Result<(Vec<Option<f64>>, Vec<String>)> {
        let c = self.column(name).ok_or_else(|| Error::MissingColumn {
            file: self.path.clone(),
            column: name.to_owned(),
            fix: format!(
                "add a column named `{name}` to the header (found: {})",
                self.headers.join(", ")
            ),
        })?;
        let mut values = Vec::with_capacity(self.rows.len());
        let mut problems = Vec::new();
        for row in &self.rows {
            let cell = &row.fields[c];
            let location = Location {
                file: self.path.clone(),
                line: row.line,
                column: Some(c + 1),
                column_name: Some(name.to_owned()),
            };
            if cell.is_empty() || cell == "NA" {
                if required {
                    problems.push(format!(
                        "{location}: value is missing — fix: fill in `{name}` for this row \
                         (it is needed for every study) or remove the row"
                    ));
                }
                values.push(None);
                continue;
            }
            match super::schema::parse_number(cell) {
                Some(v) => values.push(Some(v)),
                None => {
                    let fix = if cell.trim() != cell {
                        "remove the spaces around the value"
                    } else {
                        "write a finite number with `.` as the decimal point, or leave the cell empty (or `NA`) if unknown"
                    };
                    problems.push(format!(
                        "{location}: \"{cell}\" is not a number — fix: {fix}"
                    ));
                    values.push(None);
                }
            }
        }
        Ok((values, problems))
    }
}

/// The first header name that appears twice: (first index, second index).
fn duplicate_column(headers: &[String]) -> Option<(usize, usize)> {
    let mut seen = std::collections::HashMap::new();
    headers
        .iter()
        .enumerate()
        .find_map(|(i, h)| seen.insert(h.as_str(), i).map(|first| (first, i)))
}

/// Reads every record, setting aside (rather than failing on) ragged rows and
/// rows with invalid UTF-8, so a checker can report all of them in one run.
///
/// Errors only when the header itself is unusable or the reader fails.
pub(crate) fn read_lenient<R: Read>(
    path: PathBuf,
    mut reader: R,
) -> Result<(Table, Vec<CsvProblem>)> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&path, e))?;
    read_lenient_bytes(path, &bytes)
}

/// Bytes per block when a file is read in parallel ([`read_file`]).
const READ_BLOCK: usize = 8 << 20;

/// The committed bytes of the file at `path` (see
/// [`super::fsguard::committed_len`]: an unfinished `spotmeta add` is never
/// seen), read in parallel blocks where the system can read at an offset
/// (issue #15: reading 206 MB on one thread, copying from the page cache and
/// faulting in the buffer, was a sixth of `check` on 100,000 rows and all of
/// it on the critical path).
///
/// # Errors
///
/// As [`std::fs::read`]; [`read_consistent`]'s when the file keeps changing.
pub(crate) fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    read_consistent(&file, path, |len| read_prefix(&file, len))?
}

/// The first `len` bytes of `file` (blocks read in parallel where the system
/// reads at offsets), shorter if the file is.
pub(crate) fn read_prefix(file: &std::fs::File, len: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("the file is too large"))?;
    #[cfg(unix)]
    if len > READ_BLOCK {
        use std::os::unix::fs::FileExt;
        // Zeroed by the allocator (fresh pages), not by a pass here.
        let mut bytes = vec![0u8; len];
        bytes
            .par_chunks_mut(READ_BLOCK)
            .enumerate()
            .try_for_each(|(i, block)| file.read_exact_at(block, (i * READ_BLOCK) as u64))?;
        return Ok(bytes);
    }
    read_range(file, 0, len as u64)
}

/// Bytes `start..end` of `file` (shorter if the file is), on one thread.
pub(crate) fn read_range(file: &std::fs::File, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Seek as _;
    let mut bytes = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    let mut f = file;
    f.seek(std::io::SeekFrom::Start(start))?;
    f.take(end - start).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// How often a reader reads a file again that changed while it was read.
const READ_ATTEMPTS: usize = 20;

/// `read(committed length)` of `file` (opened from `path`), read again while
/// the file changes under it (an append starts or ends, the file is replaced
/// or grows), so what is read is one committed state of the file.
///
/// # Errors
///
/// As the file's metadata; [`std::io::ErrorKind::Interrupted`]-free
/// "kept changing" error after [`READ_ATTEMPTS`] reads.
fn read_consistent<T>(
    file: &std::fs::File,
    path: &Path,
    read: impl Fn(u64) -> T,
) -> std::io::Result<T> {
    for attempt in 0..READ_ATTEMPTS {
        let (len, token) = super::fsguard::committed_len(file, path)?;
        let out = read(len);
        if super::fsguard::committed_len(file, path)?.1 == token {
            return Ok(out);
        }
        std::thread::sleep(std::time::Duration::from_millis(5 << attempt.min(4)));
    }
    Err(std::io::Error::other(format!(
        "the file kept changing while it was read ({READ_ATTEMPTS} attempts); read it when no other program is writing it"
    )))
}

/// Where the header record of `bytes` sits (None: no record), for an
/// editor that needs only the header's line ending and quoting.
pub(crate) fn header_span(bytes: &[u8]) -> Option<Span> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut record) {
        Ok(true) => Some(Locator::new(bytes).locate(&record, rdr.position())),
        _ => None,
    }
}

/// [`read_lenient`] on bytes already in memory (no copy: `check_bytes` on
/// 100,000 rows spent a tenth of its time copying the file and faulting in
/// the copy).
pub(crate) fn read_lenient_bytes(path: PathBuf, bytes: &[u8]) -> Result<(Table, Vec<CsvProblem>)> {
    read_in_pieces(path, bytes, BYTES_PER_PIECE)
}

/// Where the bytes of a CSV file come from: memory, or the file itself, a
/// piece at a time.
trait Source: Sync {
    /// Length in bytes.
    fn len(&self) -> usize;
    /// Bytes `start..end`.
    fn bytes(&self, start: usize, end: usize) -> std::io::Result<Cow<'_, [u8]>>;
}

impl Source for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn bytes(&self, start: usize, end: usize) -> std::io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(&self[start..end]))
    }
}

/// A regular file read at offsets: each piece is read when it is parsed
/// and dropped when its cells are copied, so `check` on a 206 MB file
/// never holds the file's bytes beside its cells (issue #15: faulting in
/// both cost a third of a second). `tail` follows the file's first `len`
/// bytes: the row `spotmeta add` would append, read as part of the file
/// without copying the file.
#[cfg(unix)]
pub(crate) struct FileSource<'a> {
    file: &'a std::fs::File,
    len: usize,
    tail: &'a [u8],
}

#[cfg(unix)]
impl Source for FileSource<'_> {
    fn len(&self) -> usize {
        self.len + self.tail.len()
    }

    fn bytes(&self, start: usize, end: usize) -> std::io::Result<Cow<'_, [u8]>> {
        use std::os::unix::fs::FileExt;
        if start >= self.len {
            return Ok(Cow::Borrowed(&self.tail[start - self.len..end - self.len]));
        }
        let mut buf = vec![0u8; end - start];
        let in_file = end.min(self.len) - start;
        self.file.read_exact_at(&mut buf[..in_file], start as u64)?;
        if end > self.len {
            buf[in_file..].copy_from_slice(&self.tail[..end - self.len]);
        }
        Ok(Cow::Owned(buf))
    }
}

/// [`read_lenient`] on the file at `path` (its committed bytes, see
/// [`read_file`]), read a piece at a time where the system can read at an
/// offset ([`FileSource`]).
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; otherwise as
/// [`read_lenient_bytes`].
pub(crate) fn read_lenient_path(path: &Path) -> Result<(Table, Vec<CsvProblem>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_consistent(&file, path, |len| read_lenient_file(path, &file, len, &[]))
        .map_err(|e| Error::io(path, e))?
}

/// [`read_lenient`] on the first `len` bytes of `file` followed by `tail`.
pub(crate) fn read_lenient_file(
    path: &Path,
    file: &std::fs::File,
    len: u64,
    tail: &[u8],
) -> Result<(Table, Vec<CsvProblem>)> {
    #[cfg(unix)]
    if let Ok(len) = usize::try_from(len)
        && len > 2 * BYTES_PER_PIECE
    {
        let src = FileSource { file, len, tail };
        return read_in_pieces(path.to_path_buf(), &src, BYTES_PER_PIECE);
    }
    let mut bytes = read_prefix(file, len).map_err(|e| Error::io(path, e))?;
    bytes.extend_from_slice(tail);
    read_lenient_bytes(path.to_path_buf(), &bytes)
}

/// [`read_lenient_bytes`] with the file cut into pieces of about `piece`
/// bytes, read and parsed in parallel (tests cut small files into many
/// pieces).
fn read_in_pieces<S: Source + ?Sized>(
    path: PathBuf,
    src: &S,
    piece: usize,
) -> Result<(Table, Vec<CsvProblem>)> {
    let io_error = |e: std::io::Error| Error::io(&path, e);
    let cuts = cut_points(src, piece).map_err(io_error)?;
    let first = src.bytes(0, cuts[1]).map_err(io_error)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(&first[..]);
    let mut locator = Locator::new(&first);
    let csv_error = |path: &Path, line: u64, e: csv::Error| Error::Csv {
        location: Box::new(Location {
            file: path.to_path_buf(),
            line,
            column: None,
            column_name: None,
        }),
        message: e.to_string(),
        fix: "check that the file is a comma-separated text file".to_owned(),
    };

    let mut record = csv::ByteRecord::new();
    let has_header = rdr
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(&path, 1, e))?;
    if !has_header {
        return Err(Error::Csv {
            location: Box::new(Location {
                file: path,
                line: 1,
                column: None,
                column_name: None,
            }),
            message: "the file is empty; a header line is expected".to_owned(),
            fix: "write the column names on the first line".to_owned(),
        });
    }
    let header_span = locator.locate(&record, rdr.position());
    // A header cut inside a quoted name (one over several lines) ends, read
    // on its own, with a line ending in its last cell: read the file in one
    // piece then.
    let header_cut = record
        .iter()
        .next_back()
        .is_some_and(|f| f.last().is_some_and(|&b| is_eol(b)));
    if cuts.len() > 2 && header_span.next >= cuts[1] && header_cut {
        drop(first);
        return read_in_pieces(path, src, usize::MAX);
    }
    let headers: Vec<String> = match decode(&record) {
        Ok(mut h) => {
            if let Some(first) = h.first_mut()
                && let Some(rest) = first.strip_prefix('\u{feff}')
            {
                *first = rest.to_owned();
            }
            h
        }
        Err(field) => {
            return Err(Error::Csv {
                location: Box::new(Location {
                    file: path,
                    line: header_span.line,
                    column: Some(field + 1),
                    column_name: None,
                }),
                message: "the header is not valid UTF-8".to_owned(),
                fix: "save the file as UTF-8".to_owned(),
            });
        }
    };

    // The file is cut into pieces at line ends and the pieces are read and
    // parsed in parallel (issue #15: reading is a third of `check` on
    // 100,000 rows). A cut inside a quoted cell is seen afterwards (the
    // piece before it ends inside quotes) and the file is then read in one
    // piece, so the result is always exactly that of one sequential pass.
    let width = headers.len();
    let pieces: Vec<Piece> = (0..cuts.len() - 1)
        .into_par_iter()
        .map(|i| {
            if i == 0 {
                // The first piece continues the header's line count; the
                // others count from 0 and are shifted once all are read.
                read_piece(&first, header_span.next, first.len(), width, locator, 0)
            } else {
                let bytes = src.bytes(cuts[i], cuts[i + 1]).map_err(io_error)?;
                let locator = Locator::at(&bytes, 0, 0);
                read_piece(&bytes, 0, bytes.len(), width, locator, cuts[i])
            }
            .map_err(|(line, e)| csv_error(&path, line, e))
        })
        .collect::<Result<_>>()?;
    drop(first);
    if pieces[..pieces.len() - 1].iter().any(|p| p.ends_in_quotes) {
        return read_in_pieces(path, src, usize::MAX);
    }
    let mut rows = Vec::with_capacity(pieces.iter().map(|p| p.rows.len()).sum());
    let mut problems = Vec::new();
    let mut base = 0;
    for (i, piece) in pieces.into_iter().enumerate() {
        let shift = if i == 0 { 0 } else { base };
        rows.extend(piece.rows.into_iter().map(|mut r| {
            r.line += shift;
            r.span.line += shift;
            r
        }));
        problems.extend(piece.problems.into_iter().map(|mut p| {
            p.line += shift;
            p
        }));
        base = piece.line + shift;
    }
    Ok((
        Table {
            path,
            headers,
            rows,
            header_span,
        },
        problems,
    ))
}

/// Bytes per piece when a file is read in parallel (a piece costs a
/// reader; 100,000 rows of the dataset are about 25 pieces).
const BYTES_PER_PIECE: usize = 8 << 20;

/// Where the pieces of `src` begin and end: 0, then just after the first
/// `\n` at least `piece` bytes past the last cut, then the end.
fn cut_points<S: Source + ?Sized>(src: &S, piece: usize) -> std::io::Result<Vec<usize>> {
    /// Bytes looked at a time for the next `\n`.
    const WINDOW: usize = 64 << 10;
    let len = src.len();
    let mut cuts = vec![0];
    let mut at = piece;
    'cuts: while at < len {
        let mut from = at;
        while from < len {
            let to = from.saturating_add(WINDOW).min(len);
            let window = src.bytes(from, to)?;
            if let Some(p) = window.iter().position(|&b| b == b'\n') {
                let cut = from + p + 1;
                if cut >= len {
                    break 'cuts;
                }
                cuts.push(cut);
                at = cut.saturating_add(piece);
                continue 'cuts;
            }
            from = to;
        }
        break;
    }
    cuts.push(len);
    Ok(cuts)
}

/// The rows of one piece of the body, `bytes[start..end]`.
struct Piece {
    rows: Vec<TableRow>,
    problems: Vec<CsvProblem>,
    /// The locator's line count at `end`.
    line: u64,
    /// Whether the last record's last cell ends with a line ending: read on
    /// its own, a piece that stops inside a quoted cell ends that way (a
    /// cell that really ends so, quoted, only costs a sequential re-read).
    ends_in_quotes: bool,
}

/// Reads `bytes[start..end]` (it starts at a record) as [`read_lenient_bytes`]
/// reads a body, with `locator` counting lines; a reader error carries the
/// locator's line. `bytes` sits at `base` in the file.
fn read_piece(
    bytes: &[u8],
    start: usize,
    end: usize,
    width: usize,
    mut locator: Locator<'_>,
    base: usize,
) -> std::result::Result<Piece, (u64, csv::Error)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(&bytes[start..end]);
    locator.offset = start;
    let mut record = csv::ByteRecord::new();
    // Accepted rows as (line, span, text start, first end), their cells
    // copied into one block; the rows share the block once it is complete.
    let mut accepted = Vec::new();
    let mut text = Vec::with_capacity(end - start);
    let mut ends = Vec::new();
    let mut problems = Vec::new();
    let mut ends_in_quotes = false;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err((locator.line, e)),
        }
        ends_in_quotes = record
            .iter()
            .next_back()
            .is_some_and(|f| f.last().is_some_and(|&b| is_eol(b)));
        let mut span = locator.locate(&record, rdr.position());
        // Spans are offsets in the whole file; `bytes` starts at `base`.
        span.start += base;
        span.end += base;
        span.next += base;
        let line = span.line;
        if record.len() != width {
            let spans_lines = record
                .iter()
                .any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
            let quote_hint = if spans_lines {
                " (a cell spans several lines: probably an unclosed double quote)"
            } else {
                ""
            };
            problems.push(CsvProblem {
                line,
                column: Some(record.len().min(width) + 1),
                message: format!(
                    "row has {} field(s) but the header has {width}{quote_hint}",
                    record.len(),
                ),
                fix: RAGGED_FIX.to_owned(),
            });
            continue;
        }
        // Each cell must be UTF-8 on its own, as `csv::StringRecord` checks.
        let bad = if record.as_slice().is_ascii() {
            None
        } else {
            record.iter().position(|f| std::str::from_utf8(f).is_err())
        };
        if let Some(field) = bad {
            problems.push(CsvProblem {
                line,
                column: Some(field + 1),
                message: format!("cell in column {} is not valid UTF-8", field + 1),
                fix: "save the file as UTF-8 (e.g. \"CSV UTF-8\" in a spreadsheet)".to_owned(),
            });
            continue;
        }
        accepted.push((line, span, text.len(), ends.len()));
        for f in &record {
            text.extend_from_slice(f);
            ends.push(text.len());
        }
    }
    locator.count_to(end);
    // Every cell copied is UTF-8, so their concatenation is.
    let text = String::from_utf8(text).expect("each cell was checked to be UTF-8");
    let block = Arc::new(Block { text, ends });
    let rows = accepted
        .into_iter()
        .map(|(line, span, start, first)| TableRow {
            line,
            fields: Cells {
                block: Arc::clone(&block),
                start,
                first,
                len: width,
            },
            span,
        })
        .collect();
    Ok(Piece {
        rows,
        problems,
        line: locator.line,
        ends_in_quotes,
    })
}

/// Finds each record's exact bytes and physical line, in one forward pass.
///
/// The csv reader's own positions cannot be used directly: a record's
/// position is taken *before* the blank lines that precede it, and its line
/// count ignores a lone `\r`. The locator starts from the reader's byte
/// offsets and settles both with the bytes themselves.
#[derive(Clone, Copy)]
struct Locator<'a> {
    bytes: &'a [u8],
    /// Where the reader's input starts in `bytes` (its positions are
    /// relative to it).
    offset: usize,
    /// Bytes before `counted` have had their line endings counted.
    counted: usize,
    /// Line number at `counted`.
    line: u64,
}

const fn is_eol(b: u8) -> bool {
    matches!(b, b'\r' | b'\n')
}

impl<'a> Locator<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self::at(bytes, 0, 1)
    }

    /// A locator whose count stands at `line` at byte `counted`.
    fn at(bytes: &'a [u8], counted: usize, line: u64) -> Self {
        Locator {
            bytes,
            offset: 0,
            counted,
            line,
        }
    }

    /// The span of `record`, just read; `after` is the reader's position
    /// after it.
    fn locate(&mut self, record: &csv::ByteRecord, after: &csv::Position) -> Span {
        let len = self.bytes.len();
        let clamp = |p: u64| {
            usize::try_from(p)
                .unwrap_or(usize::MAX)
                .saturating_add(self.offset)
                .min(len)
        };
        let from = record.position().map_or(self.counted, |p| clamp(p.byte()));
        let mut start = from.max(self.counted);
        while start < len && is_eol(self.bytes[start]) {
            start += 1;
        }
        let mut end = clamp(after.byte()).max(start);
        while end > start && is_eol(self.bytes[end - 1]) {
            end -= 1;
        }
        let next = match self.bytes.get(end..).unwrap_or(&[]) {
            [b'\r', b'\n', ..] => end + 2,
            [b'\r' | b'\n', ..] => end + 1,
            _ => end,
        };
        self.count_to(start);
        Span {
            line: self.line,
            start,
            end,
            next,
        }
    }

    /// Advance the line count to byte `to`. Without a `\r` in the stretch
    /// the count is of `\n` alone, in a loop the compiler vectorises (this
    /// pass touches every byte of the file: issue #15's `check` on 100,000
    /// rows); with one, each `\r` not followed by `\n` counts too.
    fn count_to(&mut self, to: usize) {
        let bytes = &self.bytes[self.counted..to];
        let (newlines, any_cr) = count_newlines(bytes);
        self.line += newlines;
        if any_cr {
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\r' && self.bytes.get(self.counted + i + 1) != Some(&b'\n') {
                    self.line += 1;
                }
            }
        }
        self.counted = to;
    }
}

/// The number of `\n` in `bytes`, and whether it holds a `\r`, in one pass
/// over byte-wide lanes (a `usize` count per byte widens every lane: that
/// ran at about 5 instructions per byte, this at well under one).
fn count_newlines(bytes: &[u8]) -> (u64, bool) {
    let (mut newlines, mut any_cr) = (0u64, false);
    for chunk in bytes.chunks(255) {
        let (n, cr) = chunk.iter().fold((0u8, 0u8), |(n, cr), &b| {
            (
                n.wrapping_add(u8::from(b == b'\n')),
                cr | u8::from(b == b'\r'),
            )
        });
        newlines += u64::from(n);
        any_cr |= cr != 0;
    }
    (newlines, any_cr)
}

/// Decodes a record as UTF-8; on failure returns the 0-based bad field.
fn decode(record: &csv::ByteRecord) -> std::result::Result<Vec<String>, usize> {
    record
        .iter()
        .enumerate()
        .map(|(i, f)| String::from_utf8(f.to_vec()).map_err(|_| i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_the_header_and_skip_blank_lines() {
        for text in [
            "a,b\n1,2\n\n3,\"x\ny\"\n5,6\n",
            "a,b\r\n1,2\r\n\r\n3,\"x\r\ny\"\r\n5,6\r\n",
            "a,b\r1,2\r\r3,\"x\ry\"\r5,6\r",
            "a,b\r\n1,2\n\r3,\"x\r\ny\"\r5,6",
        ] {
            let t = Table::from_reader("t.csv", text.as_bytes()).unwrap();
            let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![2, 4, 6], "{text:?}");
        }
    }

    #[test]
    fn reading_in_pieces_gives_what_one_pass_gives() {
        // Issue #15: the body is read in parallel pieces cut at `\n`; every
        // cut, including ones inside quoted cells, blank lines and CRLF or
        // lone-CR endings, must give the one-pass table and problems.
        let texts: [&[u8]; 9] = [
            b"a,b\n1,2\n\n3,\"x\ny\"\n5,6\n",
            b"a,b\r\n1,2\r\n\r\n3,\"x\r\ny\"\r\n5,6\r\n",
            b"a,b\r1,2\r\r3,\"x\ry\"\r5,6\r",
            b"a,b\r\n1,2\n\r3,\"x\r\ny\"\r5,6",
            b"\xef\xbb\xbfa,b\r\n\r\n1,\"x\ny\"\r2,z\n\n3,w",
            b"a,b\n1,\"p\nq\nr\n\"\n2\n3,4,5\n\xff,6\n7,\"u\n\nv\"\n8,9",
            b"a,b\n1,\"open\n2,3\n4,5\n",
            b"a,\"b\nc\"\r\n1,\"x\ny\"\n2,3",
            b"a,\"b\nc\"\n1,2\n3,4",
        ];
        let dir = tempfile::tempdir().unwrap();
        for (n, text) in texts.into_iter().enumerate() {
            let one = read_in_pieces("t.csv".into(), text, usize::MAX).unwrap();
            // The same bytes read from a file, a piece at a time.
            let path = dir.path().join(format!("{n}.csv"));
            std::fs::write(&path, text).unwrap();
            #[cfg(unix)]
            let opened = std::fs::File::open(&path).unwrap();
            for piece in 0..=text.len() {
                let cut = read_in_pieces("t.csv".into(), text, piece).unwrap();
                assert_eq!(
                    cut,
                    one,
                    "{:?} in pieces of {piece}",
                    String::from_utf8_lossy(text)
                );
                // From the file, and from its first `split` bytes followed
                // by the rest as an in-memory tail (the row `add` appends).
                #[cfg(unix)]
                for split in [text.len(), 0, 1, text.len() / 2, text.len() - 1] {
                    let file = FileSource {
                        file: &opened,
                        len: split,
                        tail: &text[split..],
                    };
                    assert_eq!(
                        read_in_pieces("t.csv".into(), &file, piece).unwrap(),
                        one,
                        "{:?} from a file cut at {split} in pieces of {piece}",
                        String::from_utf8_lossy(text)
                    );
                }
            }
        }
    }

    #[test]
    fn numeric_reads_na_and_empty_as_missing() {
        let t = Table::from_reader("t.csv", "yi\n1.5\nNA\n\n-2e-1\n".as_bytes()).unwrap();
        // The blank line is skipped by the reader, not read as a missing value.
        assert_eq!(t.numeric("yi").unwrap(), vec![Some(1.5), None, Some(-0.2)]);
    }

    #[test]
    fn spans_cover_exactly_the_record_and_its_own_line_ending() {
        let text = b"\xef\xbb\xbfa,b\r\n\r\n1,\"x\ny\"\r2,z\n\n3,w";
        let t = Table::from_reader("t.csv", &text[..]).unwrap();
        let cut = |s: Span| (&text[s.start..s.end], &text[s.end..s.next]);
        assert_eq!(cut(t.header_span), (&b"\xef\xbb\xbfa,b"[..], &b"\r\n"[..]));
        assert_eq!(cut(t.rows[0].span), (&b"1,\"x\ny\""[..], &b"\r"[..]));
        assert_eq!(cut(t.rows[1].span), (&b"2,z"[..], &b"\n"[..]));
        assert_eq!(cut(t.rows[2].span), (&b"3,w"[..], &b""[..]));
        let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 5, 7]);
    }
}
