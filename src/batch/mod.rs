//! Batch pooling (issue #7): one `rma` fit per group of a long table.
//!
//! Evidence maps and simulation studies pool thousands of meta-analyses at
//! once (one per outcome × region × subgroup). [`read_groups`] reads the
//! needed columns of a CSV table (by the same rules as every other command:
//! a malformed file is an error with file:line:column) or a Parquet table
//! as runs of equal keys and groups them, sorted by key (see `read`: a
//! table already sorted by its keys is fitted in place, issue #19); [`pool`]
//! fits every group in parallel (rayon) with the same engine as
//! [`rma`] (no allocation per fit) plus the Q-profile τ² CI of
//! [`confint`]; [`to_frame`] and [`write_table`] give one row per group: the
//! key columns under their own names, then every key of `rma --format json`
//! (see [`RESULT_COLUMNS`]) and a `status`. With `--bayes`, [`pool_bayes`]
//! fits every group with the Bayesian engine of `spotmeta bayes` too and
//! [`add_bayes_columns`] appends [`BAYES_COLUMNS`]. [`run`] is the whole
//! pipeline of `spotmeta batch`; [`stream`] pools a CSV table larger than
//! memory (`--stream`).
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
//! assert_eq!(fits[0].status.as_str(), "ok");
//! # Ok::<(), spotmeta::Error>(())
//! ```

mod read;
pub mod stream;

use read::polars_err;
pub use read::read_groups;

use crate::analysis::summary::RmaSummary;
use crate::analysis::{Tau2Ci, confint};
use crate::error::{Error, Result};
use crate::model::RmaFit;
use crate::{ValidRmaOptions, rma};
use polars::prelude::{Column, DataFrame, IntoColumn, StringChunkedBuilder};
use polars_io::csv::read::CsvReadOptions;
use polars_io::csv::write::CsvWriter;
use polars_io::parquet::read::ParquetReader;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};
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
        bad_value(self.yi[i], self.vi[i], miss, self.from_sei)
    }

    /// The 0-based input row of value `i`.
    pub fn row(&self, i: usize) -> usize {
        self.rows[i] as usize
    }
}

/// Why a row with effect size `y`, variance `var` (squared SE under
/// `from_sei`, NaN for a non-positive SE) and missing bits `miss` cannot be
/// pooled, if it cannot.
pub(crate) fn bad_value(y: f64, var: f64, miss: u8, from_sei: bool) -> Option<String> {
    let v = if from_sei { "sei" } else { "vi" };
    if miss & 1 != 0 {
        return Some("yi is missing".into());
    }
    if miss & 2 != 0 {
        return Some(format!("{v} is missing"));
    }
    if !y.is_finite() {
        return Some(format!("yi = {y} is not finite"));
    }
    if !(var.is_finite() && var > 0.0) {
        let shown = if from_sei { var.sqrt() } else { var };
        return Some(if var.is_finite() || from_sei && var.is_nan() {
            format!("{v} = {shown} must be positive")
        } else {
            format!("{v} = {shown} is not finite")
        });
    }
    None
}

/// Options of a batch run.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// The model fitted to every group.
    pub rma: ValidRmaOptions,
    /// Compute Q-profile CIs for τ², τ, I², H² (about 4 µs per group at k = 20).
    pub confint: bool,
}

/// How a group fared: the `status` column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Pooled normally ([`STATUS_OK`]).
    Ok,
    /// One study: pooled as a common effect ([`STATUS_K1`]).
    SingleStudy,
    /// Not pooled, or pooled without a τ² CI: the reason, in full.
    Other(String),
}

impl Status {
    /// The text of the `status` column.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Ok => STATUS_OK,
            Status::SingleStudy => STATUS_K1,
            Status::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one group. Plain numbers, no text unless something went
/// wrong: the result columns are built from these directly.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFit {
    /// Rows read for the group.
    pub rows: usize,
    /// The fit (None when not pooled).
    pub fit: Option<RmaFit>,
    /// Its Q-profile τ² CI, when asked for and defined.
    pub ci: Option<Tau2Ci>,
    /// `ok`, `k=1: common effect only`, or why the group was not pooled.
    pub status: Status,
}

impl GroupFit {
    /// The fit as `rma --format json` reports it (None when not pooled).
    pub fn summary(&self) -> Option<RmaSummary> {
        self.fit
            .as_ref()
            .map(|f| RmaSummary::new(f, self.ci.as_ref()))
    }
}

/// Fit one group from its values (`bad`: the first bad row and how many,
/// already found by the caller).
pub(crate) fn fit_values(yi: &[f64], vi: &[f64], opts: &BatchOptions) -> GroupFit {
    let rows = yi.len();
    match rma(yi, vi, &opts.rma) {
        Err(e) => GroupFit {
            rows,
            fit: None,
            ci: None,
            status: Status::Other(format!("not pooled: {e}")),
        },
        Ok(fit) => {
            let (ci, status) = if opts.confint && fit.k > 1 {
                match confint(yi, vi, &fit, 1e-12) {
                    Ok(ci) => (ci, Status::Ok),
                    Err(e) => (
                        None,
                        Status::Other(format!("ok; tau^2 CI not computed: {e}")),
                    ),
                }
            } else if fit.k == 1 {
                (None, Status::SingleStudy)
            } else {
                (None, Status::Ok)
            };
            GroupFit {
                rows,
                fit: Some(fit),
                ci,
                status,
            }
        }
    }
}

/// A group with bad rows: not pooled, the status naming the first.
pub(crate) fn not_pooled(rows: usize, bad: usize, first: &str, why: &str) -> GroupFit {
    GroupFit {
        rows,
        fit: None,
        ci: None,
        status: Status::Other(format!(
            "not pooled: {bad} bad row(s); first: {first}: {why}"
        )),
    }
}

/// Fit one group (its values as slices).
fn fit_group(g: &Groups, w: usize, opts: &BatchOptions) -> GroupFit {
    let (a, b) = (g.offsets[w], g.offsets[w + 1]);
    // The common case (no row missing, every value usable) is decided by
    // `rma`'s own input check; rows are named only when it fails.
    if g.missing.is_empty() || !g.missing[a..b].iter().any(|&m| m != 0) {
        let fit = fit_values(&g.yi[a..b], &g.vi[a..b], opts);
        if fit.fit.is_some() || (a..b).all(|i| g.bad_row(i).is_none()) {
            return fit;
        }
    }
    let mut bad = (a..b).filter(|&i| g.bad_row(i).is_some());
    let first = bad.next().expect("a bad row");
    let why = g.bad_row(first).unwrap_or_default();
    not_pooled(b - a, 1 + bad.count(), &g.row_name(first), &why)
}

/// Fit every group in parallel; `progress(n)` is called as batches of `n`
/// groups finish (from worker threads). Results are in group order.
pub fn pool(
    groups: &Groups,
    opts: &BatchOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<GroupFit> {
    const CHUNK: usize = 1024;
    let n = groups.len();
    let mut out = Vec::with_capacity(n);
    (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|w| {
            let f = fit_group(groups, w, opts);
            if w % CHUNK == CHUNK - 1 || w + 1 == n {
                progress(w % CHUNK + 1);
            }
            f
        })
        .collect_into_vec(&mut out);
    out
}

/// The result table: key columns, then [`RESULT_COLUMNS`].
pub fn to_frame(groups: &Groups, fits: &[GroupFit], opts: &BatchOptions) -> Result<DataFrame> {
    frame_with_keys(&groups.keys, fits, opts)
}

/// The result table from the group keys (one row per fit, in order), then
/// [`RESULT_COLUMNS`].
pub fn frame_with_keys(
    keys: &DataFrame,
    fits: &[GroupFit],
    opts: &BatchOptions,
) -> Result<DataFrame> {
    let cols = result_columns(fits, opts);
    let mut df = keys.clone();
    push_columns(&mut df, keys, cols)?;
    Ok(df)
}

/// [`RESULT_COLUMNS`] of `fits` (built in parallel, one column a task).
pub(crate) fn result_columns(fits: &[GroupFit], opts: &BatchOptions) -> Vec<Column> {
    type F = fn(&RmaFit, Option<&Tau2Ci>) -> Option<f64>;
    type U = fn(&RmaFit) -> Option<u32>;
    enum Kind {
        Num(F),
        Int(U),
        Text(fn(&GroupFit, &str, &str, &mut String) -> Option<()>),
        K,
        Level,
    }
    let method = opts.rma.method().as_str();
    let test = opts.rma.test().as_str();
    let spec: [(&str, Kind); 34] = [
        ("k", Kind::K),
        (
            "method",
            Kind::Text(|g, m, _, buf| {
                buf.push_str(g.fit.as_ref().map_or(m, |f| f.method.as_str()));
                Some(())
            }),
        ),
        (
            "test",
            Kind::Text(|g, _, t, buf| {
                buf.push_str(g.fit.as_ref().map_or(t, |f| f.test.as_str()));
                Some(())
            }),
        ),
        ("level", Kind::Level),
        ("beta", Kind::Num(|f, _| Some(f.estimate))),
        ("se", Kind::Num(|f, _| Some(f.se))),
        ("zval", Kind::Num(|f, _| Some(f.zval))),
        ("pval", Kind::Num(|f, _| f.pval())),
        ("ddf", Kind::Int(|f| f.ddf.map(|d| d as u32))),
        ("ci_lb", Kind::Num(|f, _| Some(f.ci_lb))),
        ("ci_ub", Kind::Num(|f, _| Some(f.ci_ub))),
        ("pi_lb", Kind::Num(|f, _| Some(f.pi_lb))),
        ("pi_ub", Kind::Num(|f, _| Some(f.pi_ub))),
        ("tau2", Kind::Num(|f, _| Some(f.tau2))),
        ("se_tau2", Kind::Num(|f, _| f.se_tau2)),
        ("tau2_ci_lb", Kind::Num(|_, c| c.map(|c| c.tau2_lb))),
        ("tau2_ci_ub", Kind::Num(|_, c| c.map(|c| c.tau2_ub))),
        ("tau", Kind::Num(|f, _| Some(f.tau()))),
        ("tau_ci_lb", Kind::Num(|_, c| c.map(|c| c.tau_lb))),
        ("tau_ci_ub", Kind::Num(|_, c| c.map(|c| c.tau_ub))),
        ("I2", Kind::Num(|f, _| f.i2)),
        ("I2_ci_lb", Kind::Num(|_, c| c.map(|c| c.i2_lb))),
        ("I2_ci_ub", Kind::Num(|_, c| c.map(|c| c.i2_ub))),
        ("H2", Kind::Num(|f, _| f.h2)),
        ("H2_ci_lb", Kind::Num(|_, c| c.map(|c| c.h2_lb))),
        ("H2_ci_ub", Kind::Num(|_, c| c.map(|c| c.h2_ub))),
        ("QE", Kind::Num(|f, _| Some(f.q))),
        ("QEdf", Kind::Int(|f| Some(f.q_df as u32))),
        ("QEp", Kind::Num(|f, _| f.q_pval())),
        ("s2", Kind::Num(|f, _| f.s2)),
        ("iterations", Kind::Int(|f| Some(f.iterations))),
        (
            "convergence",
            Kind::Text(|g, _, _, buf| {
                buf.push_str(g.fit.as_ref()?.convergence.as_str());
                Some(())
            }),
        ),
        (
            "notes",
            Kind::Text(|g, _, _, buf| {
                for (i, n) in g.fit.as_ref()?.notes().enumerate() {
                    if i > 0 {
                        buf.push(' ');
                    }
                    buf.push_str(&n.message());
                }
                Some(())
            }),
        ),
        (
            "status",
            Kind::Text(|g, _, _, buf| {
                buf.push_str(g.status.as_str());
                Some(())
            }),
        ),
    ];
    debug_assert!(
        spec.iter()
            .map(|(n, _)| *n)
            .eq(RESULT_COLUMNS.iter().copied())
    );
    spec.into_par_iter()
        .map(|(name, kind)| match kind {
            Kind::K => Column::new(
                name.into(),
                fits.iter()
                    .map(|g| g.fit.as_ref().map_or(g.rows, |f| f.k) as u32)
                    .collect::<Vec<u32>>(),
            ),
            Kind::Level => Column::new(name.into(), vec![opts.rma.level() * 100.0; fits.len()]),
            Kind::Num(f) => Column::new(
                name.into(),
                fits.par_iter()
                    .with_min_len(4096)
                    .map(|g| g.fit.as_ref().and_then(|fit| f(fit, g.ci.as_ref())))
                    .collect::<Vec<Option<f64>>>(),
            ),
            Kind::Int(f) => Column::new(
                name.into(),
                fits.par_iter()
                    .with_min_len(4096)
                    .map(|g| g.fit.as_ref().and_then(f))
                    .collect::<Vec<Option<u32>>>(),
            ),
            Kind::Text(f) => {
                let mut b = StringChunkedBuilder::new(name.into(), fits.len());
                let mut buf = String::new();
                for g in fits {
                    buf.clear();
                    match f(g, method, test, &mut buf) {
                        Some(()) => b.append_value(buf.as_str()),
                        None => b.append_null(),
                    }
                }
                b.finish().into_column()
            }
        })
        .collect()
}

/// Where `batch` reports progress (the CLI draws a bar; tests pass [`NoProgress`]).
pub trait BatchProgress: Sync {
    /// Pooling of `groups` groups starts (again for the Bayesian pass).
    fn pooling(&self, groups: usize);
    /// `n` more groups are done (called from worker threads).
    fn done(&self, n: usize);
}

/// Progress reported nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl BatchProgress for NoProgress {
    fn pooling(&self, _: usize) {}
    fn done(&self, _: usize) {}
}

/// One `spotmeta batch` run: what to read and how to pool it.
#[derive(Debug, Clone)]
pub struct BatchJob {
    /// The long table (CSV or Parquet).
    pub input: std::path::PathBuf,
    /// Group, effect-size and variance columns.
    pub columns: BatchColumns,
    /// The model and whether to compute the τ² CI.
    pub options: BatchOptions,
    /// Also fit the Bayesian model (`--bayes`).
    pub bayes: Option<crate::model::bayes::ValidBayesOptions>,
    /// Read the CSV in blocks (`--stream`, see [`stream`]).
    pub stream: bool,
}

/// What a run produced.
#[derive(Debug)]
pub struct BatchOutcome {
    /// The result table: keys, [`RESULT_COLUMNS`] (and [`BAYES_COLUMNS`]).
    pub table: DataFrame,
    /// Rows read.
    pub rows: usize,
    /// The fits, in key order.
    pub fits: Vec<GroupFit>,
    /// How `--stream` pooled, when it was used.
    pub stream: Option<stream::StreamMode>,
}

/// Read, pool and tabulate (nothing is written: see [`write_table`]).
///
/// # Errors
///
/// Those of [`read_groups`] or [`stream::stream`]; `--bayes` with
/// `--stream` is refused (the Bayesian fit needs every group in memory).
pub fn run(job: &BatchJob, progress: &dyn BatchProgress) -> Result<BatchOutcome> {
    if job.stream {
        if job.bayes.is_some() {
            return Err(Error::option(
                "--bayes",
                "--bayes needs every group in memory; drop --stream (or --bayes)",
            ));
        }
        let s = stream::stream(&job.input, &job.columns, &job.options, stream::BLOCK_BYTES)?;
        progress.pooling(s.fits.len());
        progress.done(s.fits.len());
        let table = frame_with_keys(&s.keys, &s.fits, &job.options)?;
        return Ok(BatchOutcome {
            table,
            rows: s.rows,
            fits: s.fits,
            stream: Some(s.mode),
        });
    }
    let groups = read_groups(&job.input, &job.columns)?;
    progress.pooling(groups.len());
    let fits = pool(&groups, &job.options, &|n| progress.done(n));
    let mut table = to_frame(&groups, &fits, &job.options)?;
    if let Some(b) = &job.bayes {
        progress.pooling(groups.len());
        let bayes = pool_bayes(&groups, b, &|n| progress.done(n));
        add_bayes_columns(&mut table, &groups, &bayes)?;
    }
    Ok(BatchOutcome {
        table,
        rows: groups.rows(),
        fits,
        stream: None,
    })
}

/// Append result columns to `df`. A key column that clashes with a result
/// name keeps its name; the result column gets a `rma_` prefix.
fn push_columns(df: &mut DataFrame, keys: &DataFrame, cols: Vec<Column>) -> Result<()> {
    for c in cols {
        let c = if keys.column(c.name().as_str()).is_ok() {
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
        // Snappy, the codec every Parquet reader knows (pyarrow's and
        // Spark's default): zstd, polars' default, was a tenth of `batch`
        // on Parquet (issue #19).
        TableFormat::Parquet => ParquetWriter::new(&mut buf)
            .with_compression(ParquetCompression::Snappy)
            .finish(df)
            .map(|_| ()),
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
    push_columns(df, &groups.keys, cols)
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
