//! `batch --stream`: pool a CSV table larger than memory (issue #19).
//!
//! The file is read in blocks of whole records (cut at a line end outside
//! double quotes), each parsed like the in-memory reader
//! ([`super::read_groups`]: same rules, same line numbers, on every core),
//! and dropped before the next. Memory is one block plus O(groups). Two
//! ways of pooling, chosen by [`StreamMode::for_options`]:
//!
//! * [`StreamMode::Sorted`] (any method, with or without the τ² CI): the
//!   input must be sorted by group (each group's rows contiguous, in any
//!   group order). A group is fitted by [`crate::rma`] as soon as it is
//!   complete, from the same values in the same order as the in-memory
//!   batch, so the numbers are the same. A group that reappears after
//!   another is an error naming file:line.
//! * [`StreamMode::RunningSums`] (closed-form estimators FE, DL, HE, HS, SJ
//!   without the τ² CI): rows may come in any order. Each group keeps
//!   running sums: a first pass over the file sums at τ² = 0 (weights
//!   1/vᵢ, deviations from the group's first effect size, unweighted sums
//!   for HE and SJ's start), SJ takes a second pass at its starting value
//!   τ₀², and a last pass sums at the estimate τ̂² for pooling. Rounding
//!   differs from the in-memory fit (sums in another order): results agree
//!   to about 1e-12 relative. tr P and tr PP come from power sums, so a
//!   group whose weights span many orders of magnitude loses digits there.
//!
//! The Q-profile CI needs every study of a group at once (it profiles Q
//! over τ²), so with unsorted input it needs the sorted mode's order;
//! `--bayes` is refused.

use super::read::{Block, CsvLayout, KeyCells, csv_header, line_ends, parse_block, polars_err};
use super::{
    BatchColumns, BatchOptions, GroupFit, Groups, RowWord, Status, TableFormat, Variance,
    bad_value, not_pooled, pool,
};
use crate::error::{Error, Result};
use crate::model::sums::{Pool, Sums};
use crate::model::tau2::{self, ConvergencePath, Tau2Estimate};
use crate::model::{Method, finish};
use polars::prelude::{Column, DataFrame, SortMultipleOptions};
use rayon::prelude::*;
use std::collections::HashMap;
use std::fmt::Write;
use std::io::Read;
use std::path::Path;

/// How `--stream` pools (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// Input sorted by group; each group fitted when complete.
    Sorted,
    /// Per-group running sums over two or three passes (closed-form
    /// estimators without the τ² CI).
    RunningSums,
}

impl StreamMode {
    /// Running sums where they suffice, otherwise the sorted mode.
    pub fn for_options(opts: &BatchOptions) -> StreamMode {
        let closed = matches!(
            opts.rma.method(),
            Method::FE | Method::DL | Method::HE | Method::HS | Method::SJ
        );
        if closed && !opts.confint {
            StreamMode::RunningSums
        } else {
            StreamMode::Sorted
        }
    }
}

/// The result of a streamed batch.
#[derive(Debug)]
pub struct Streamed {
    /// One row per group: the key columns, sorted.
    pub keys: DataFrame,
    /// The fits, in key order.
    pub fits: Vec<GroupFit>,
    /// Rows read.
    pub rows: usize,
    /// How the groups were pooled.
    pub mode: StreamMode,
}

/// Default block size: 64 MiB of CSV text (about 2.5 million short rows).
pub const BLOCK_BYTES: usize = 64 << 20;

/// Pool every group of the CSV table at `path` reading `block_bytes` at a
/// time (see the module docs).
///
/// # Errors
///
/// As [`super::read_groups`] for a malformed file; [`Error::Unsupported`]
/// for a Parquet file; [`Error::Csv`] naming file:line for a group that
/// reappears in [`StreamMode::Sorted`].
pub fn stream(
    path: &Path,
    cols: &BatchColumns,
    opts: &BatchOptions,
    block_bytes: usize,
) -> Result<Streamed> {
    let (_, var) = super::read::needed_columns(cols)?;
    if TableFormat::from_path(path)? != TableFormat::Csv {
        return Err(Error::option(
            "--stream",
            format!(
                "{} is Parquet; --stream reads CSV in blocks. Drop --stream (Parquet is read \
                 column by column, compressed) or convert the table to CSV",
                path.display()
            ),
        ));
    }
    crate::data::fsguard::regular_input(path, "a CSV file")?;
    let from_sei = matches!(cols.variance, Variance::Sei(_));
    let mode = StreamMode::for_options(opts);
    let mut keys = GroupKeys::new(cols.groups.len());
    let (fits, rows) = match mode {
        StreamMode::Sorted => sorted(path, cols, &var, opts, from_sei, block_bytes, &mut keys)?,
        StreamMode::RunningSums => {
            running_sums(path, cols, &var, opts, from_sei, block_bytes, &mut keys)?
        }
    };
    let (keys, fits) = keys.into_sorted(path, &cols.groups, fits)?;
    Ok(Streamed {
        keys,
        fits,
        rows,
        mode,
    })
}

/// The file in blocks of whole records.
struct Blocks<'a> {
    path: &'a Path,
    file: std::fs::File,
    size: usize,
    carry: Vec<u8>,
    /// Line of the first byte of the next block.
    line: u64,
    done: bool,
}

impl<'a> Blocks<'a> {
    fn open(path: &'a Path, size: usize) -> Result<Blocks<'a>> {
        Ok(Blocks {
            path,
            file: std::fs::File::open(path).map_err(|e| Error::io(path, e))?,
            size: size.max(1),
            carry: Vec::new(),
            line: 1,
            done: false,
        })
    }

    /// The next block and the line of its first byte.
    fn next_block(&mut self) -> Result<Option<(Vec<u8>, u64)>> {
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        let mut want = self.size;
        loop {
            let have = buf.len();
            let n = (&mut self.file)
                .take((want.saturating_sub(have)).max(1 << 16) as u64)
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(self.path, e))?;
            if n == 0 {
                self.done = true;
                break;
            }
            if buf.len() < want {
                continue;
            }
            if let Some(cut) = last_record_end(&buf) {
                self.carry = buf[cut..].to_vec();
                buf.truncate(cut);
                break;
            }
            // One record longer than the block: read on.
            want *= 2;
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let line = self.line;
        self.line += line_ends(&buf);
        Ok(Some((buf, line)))
    }
}

/// Just past the last `\n` outside double quotes (a block starts outside
/// quotes; a doubled quote inside a quoted cell flips the parity twice).
fn last_record_end(buf: &[u8]) -> Option<usize> {
    if !buf.contains(&b'"') {
        return buf.iter().rposition(|&c| c == b'\n').map(|p| p + 1);
    }
    let mut quoted = false;
    let mut last = None;
    for (i, &c) in buf.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => last = Some(i + 1),
            _ => {}
        }
    }
    last
}

/// The key cells of every group, in the order groups were first seen, and
/// an index from their text.
struct GroupKeys {
    cells: Vec<KeyCells>,
    index: HashMap<String, u32>,
    /// Last line of each group (for the reappearance error).
    last_line: Vec<u64>,
    buf: String,
}

impl GroupKeys {
    fn new(n: usize) -> GroupKeys {
        GroupKeys {
            cells: (0..n).map(|_| KeyCells::default()).collect(),
            index: HashMap::new(),
            last_line: Vec::new(),
            buf: String::new(),
        }
    }

    fn len(&self) -> usize {
        self.last_line.len()
    }

    /// The group of run `r` of `b`, and whether it is new.
    fn lookup(&mut self, b: &Block, r: usize) -> (u32, bool) {
        self.buf.clear();
        for k in &b.keys {
            // Length-prefixed, so no cell text can imitate a boundary.
            match k.cell(r) {
                Some(s) => {
                    let _ = write!(self.buf, "{}:{s}", s.len());
                }
                None => self.buf.push('-'),
            }
        }
        if let Some(&g) = self.index.get(self.buf.as_str()) {
            return (g, false);
        }
        let g = self.last_line.len() as u32;
        self.index.insert(self.buf.clone(), g);
        for (c, k) in self.cells.iter_mut().zip(&b.keys) {
            c.push(k.cell(r).unwrap_or(""));
        }
        self.last_line.push(0);
        (g, true)
    }

    /// The keys as typed columns and the fits (indexed by group) in key
    /// order. Two spellings of one key ("1" and "1.0" in a numeric column)
    /// are refused: the in-memory batch would pool them together.
    fn into_sorted(
        self,
        path: &Path,
        names: &[String],
        fits: Vec<GroupFit>,
    ) -> Result<(DataFrame, Vec<GroupFit>)> {
        const IDX: &str = "__spotmeta_group";
        let n = self.len();
        let mut columns: Vec<Column> = self
            .cells
            .into_iter()
            .zip(names)
            .map(|(k, name)| k.into_column(name))
            .collect();
        columns.push(Column::new(IDX.into(), (0..n as u32).collect::<Vec<u32>>()));
        let df = DataFrame::new(n, columns).map_err(|e| polars_err(path, e))?;
        let sorted = df
            .sort(
                names.iter().map(String::as_str).collect::<Vec<_>>(),
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .map_err(|e| polars_err(path, e))?;
        let perm: Vec<u32> = sorted
            .column(IDX)
            .and_then(|c| c.u32().map(|c| c.into_no_null_iter().collect()))
            .map_err(|e| polars_err(path, e))?;
        let sorted = sorted.drop(IDX).map_err(|e| polars_err(path, e))?;
        let distinct = super::read::key_changes(&sorted, names)
            .map_err(|e| polars_err(path, e))?
            .len();
        if distinct != n {
            return Err(Error::option(
                "--stream",
                format!(
                    "{}: a group key is written in two ways (e.g. `1` and `1.0`); the in-memory \
                     batch pools them as one group. Write each key one way, or drop --stream",
                    path.display()
                ),
            ));
        }
        let mut slots: Vec<Option<GroupFit>> = fits.into_iter().map(Some).collect();
        let fits = perm
            .iter()
            .map(|&p| slots[p as usize].take().expect("each group once"))
            .collect();
        Ok((sorted, fits))
    }
}

/// The CSV layout from the first block's header; the body's first byte.
fn layout_of(
    path: &Path,
    block: &[u8],
    cols: &BatchColumns,
    var: &str,
) -> Result<(CsvLayout, usize)> {
    let (header, body) = csv_header(path, block)?;
    Ok((
        CsvLayout::new(path, header, &cols.groups, &cols.yi, var)?,
        body,
    ))
}

/// Every block of the file parsed into runs, in order.
fn for_each_block(
    path: &Path,
    cols: &BatchColumns,
    var: &str,
    block_bytes: usize,
    mut f: impl FnMut(Block) -> Result<()>,
) -> Result<()> {
    let mut blocks = Blocks::open(path, block_bytes)?;
    let mut layout: Option<CsvLayout> = None;
    while let Some((bytes, line)) = blocks.next_block()? {
        let from = match &layout {
            Some(_) => 0,
            None => {
                let (l, body) = layout_of(path, &bytes, cols, var)?;
                layout = Some(l);
                body
            }
        };
        let l = layout.as_ref().expect("set above");
        f(parse_block(path, &bytes, from, line, l)?)?;
    }
    if layout.is_none() {
        // An empty file: the header error of the in-memory reader.
        csv_header(path, &[])?;
    }
    Ok(())
}

/// Rows of finished groups waiting to be fitted.
#[derive(Default)]
struct Pending {
    offsets: Vec<usize>,
    yi: Vec<f64>,
    vi: Vec<f64>,
    missing: Vec<u8>,
    lines: Vec<u64>,
    group: Vec<u32>,
}

impl Pending {
    fn push_rows(&mut self, b: &Block, rows: std::ops::Range<usize>) {
        self.yi.extend_from_slice(&b.yi[rows.clone()]);
        self.vi.extend_from_slice(&b.vi[rows.clone()]);
        self.missing.extend_from_slice(&b.missing[rows.clone()]);
        self.lines.extend_from_slice(&b.lines[rows]);
    }

    /// Fit the finished groups (all but an open last one) in parallel.
    fn fit_finished(
        &mut self,
        open: bool,
        opts: &BatchOptions,
        from_sei: bool,
        fits: &mut [Option<GroupFit>],
    ) {
        let done = self.group.len().saturating_sub(usize::from(open));
        if done == 0 {
            return;
        }
        let end = self.offsets[done];
        let mut vi = self.vi[..end].to_vec();
        if from_sei {
            vi.iter_mut()
                .for_each(|s| *s = if *s > 0.0 { *s * *s } else { f64::NAN });
        }
        let missing = &self.missing[..end];
        let mut offsets = self.offsets[..=done].to_vec();
        if offsets.last() != Some(&end) {
            offsets.push(end);
        }
        let g = Groups {
            keys: DataFrame::empty(),
            offsets,
            yi: self.yi[..end].to_vec(),
            vi,
            rows: (0..end as u32).collect(),
            lines: self.lines[..end].to_vec(),
            missing: if missing.iter().any(|&m| m != 0) {
                missing.to_vec()
            } else {
                Vec::new()
            },
            row_word: RowWord::Line,
            from_sei,
        };
        for (gid, fit) in self.group[..done].iter().zip(pool(&g, opts, &|_| {})) {
            fits[*gid as usize] = Some(fit);
        }
        // Keep the open group's rows.
        self.yi.drain(..end);
        self.vi.drain(..end);
        self.missing.drain(..end);
        self.lines.drain(..end);
        self.group.drain(..done);
        self.offsets = self.offsets[done..].iter().map(|o| o - end).collect();
    }
}

/// [`StreamMode::Sorted`]: each group fitted when its last row is read.
fn sorted(
    path: &Path,
    cols: &BatchColumns,
    var: &str,
    opts: &BatchOptions,
    from_sei: bool,
    block_bytes: usize,
    keys: &mut GroupKeys,
) -> Result<(Vec<GroupFit>, usize)> {
    let mut fits: Vec<Option<GroupFit>> = Vec::new();
    let mut p = Pending::default();
    let mut rows = 0usize;
    let mut open: Option<u32> = None;
    for_each_block(path, cols, var, block_bytes, |b| {
        rows += b.yi.len();
        for r in 0..b.run_starts.len() {
            let range = b.run(r);
            let (g, new) = keys.lookup(&b, r);
            if open != Some(g) {
                if !new {
                    return Err(reappears(path, &b, range.start, keys.last_line[g as usize]));
                }
                p.offsets.push(p.yi.len());
                p.group.push(g);
                fits.push(None);
                open = Some(g);
            }
            keys.last_line[g as usize] = b.lines[range.end - 1];
            p.push_rows(&b, range);
        }
        p.fit_finished(true, opts, from_sei, &mut fits);
        Ok(())
    })?;
    p.offsets.push(p.yi.len());
    p.fit_finished(false, opts, from_sei, &mut fits);
    Ok((
        fits.into_iter()
            .map(|f| f.expect("every group fitted"))
            .collect(),
        rows,
    ))
}

/// A group's rows after another group's, in [`StreamMode::Sorted`].
fn reappears(path: &Path, b: &Block, row: usize, last: u64) -> Error {
    Error::Csv {
        location: Box::new(super::read::csv_location(path, b.lines[row], None, None)),
        message: format!(
            "this row's group already ended at line {last}; --stream with the τ² CI or an \
             iterative method (REML, ML, EB, PM) fits each group when its rows end, so it \
             needs each group's rows together"
        ),
        fix: "sort the table by the group columns, or add --no-confint with a closed-form \
              method (FE, DL, HE, HS, SJ), or drop --stream"
            .into(),
    }
}

/// Running sums of one group at weights w = 1/(v + t).
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    k: u32,
    /// Deviations are taken from the group's first effect size.
    shift: f64,
    sw: f64,
    sw2: f64,
    sw3: f64,
    swe: f64,
    swe2: f64,
    /// Unweighted Σe, Σe², Σv, Σv² (pass 1, for HE and SJ).
    se: f64,
    se2: f64,
    sv: f64,
    sv2: f64,
    /// Σvw², Σv²w², Σvw³, Σv²w³ (SJ's pass at τ₀²).
    vw2: f64,
    v2w2: f64,
    vw3: f64,
    v2w3: f64,
}

impl Acc {
    #[inline]
    fn add(&mut self, y: f64, v: f64, t: f64, extra: bool) {
        let w = 1.0 / (v + t);
        let w2 = w * w;
        let e = y - self.shift;
        self.k += 1;
        self.sw += w;
        self.sw2 += w2;
        self.sw3 += w2 * w;
        self.swe += w * e;
        self.swe2 += w * e * e;
        if extra {
            self.se += e;
            self.se2 += e * e;
            self.sv += v;
            self.sv2 += v * v;
            self.vw2 += v * w2;
            self.v2w2 += v * v * w2;
            self.vw3 += v * w2 * w;
            self.v2w3 += v * v * w2 * w;
        }
    }

    fn sums(&self) -> Sums {
        Sums::from_totals(
            f64::from(self.k),
            self.sw,
            self.sw2,
            self.sw3,
            self.shift,
            self.swe,
            self.swe2,
        )
    }

    /// Σ_ij P_ij² vᵢvⱼ and Σ_ij P_ij² vⱼ at these weights (see
    /// [`crate::model::sums`]).
    fn pvpv_pvp(&self) -> (f64, f64) {
        let s = self.sw;
        (
            self.v2w2 - 2.0 * self.v2w3 / s + self.vw2 * self.vw2 / (s * s),
            self.vw2 - 2.0 * self.vw3 / s + self.sw2 * self.vw2 / (s * s),
        )
    }
}

/// Per group in [`StreamMode::RunningSums`].
#[derive(Debug, Clone, Default)]
struct SumGroup {
    rows: usize,
    /// Bad rows and the first one's line and reason.
    bad: usize,
    first_bad: Option<(u64, String)>,
    shift_set: bool,
    fe: Acc,
    /// SJ's sums at τ₀².
    start: Acc,
    /// Sums at τ̂².
    pool: Acc,
    /// τ² used in the current pass (τ₀² or τ̂²) and the estimate.
    t: f64,
    tau2: f64,
    se_tau2: Option<f64>,
}

/// [`StreamMode::RunningSums`]: two passes (three for SJ).
fn running_sums(
    path: &Path,
    cols: &BatchColumns,
    var: &str,
    opts: &BatchOptions,
    from_sei: bool,
    block_bytes: usize,
    keys: &mut GroupKeys,
) -> Result<(Vec<GroupFit>, usize)> {
    let method = opts.rma.method();
    let sj = method == Method::SJ;
    let value = |b: &Block, i: usize| -> (f64, f64) {
        let s = b.vi[i];
        let v = if from_sei {
            if s > 0.0 { s * s } else { f64::NAN }
        } else {
            s
        };
        (b.yi[i], v)
    };
    // Pass 1: sums at τ² = 0, bad rows, the groups.
    let mut groups: Vec<SumGroup> = Vec::new();
    let mut rows = 0usize;
    for_each_block(path, cols, var, block_bytes, |b| {
        rows += b.yi.len();
        for r in 0..b.run_starts.len() {
            let (g, new) = keys.lookup(&b, r);
            if new {
                groups.push(SumGroup::default());
            }
            let sg = &mut groups[g as usize];
            for i in b.run(r) {
                sg.rows += 1;
                let (y, v) = value(&b, i);
                if let Some(why) = bad_value(y, v, b.missing[i], from_sei) {
                    sg.bad += 1;
                    if sg.first_bad.is_none() {
                        sg.first_bad = Some((b.lines[i], why));
                    }
                    continue;
                }
                if !sg.shift_set {
                    sg.fe.shift = y;
                    sg.shift_set = true;
                }
                sg.fe.add(y, v, 0.0, true);
            }
        }
        Ok(())
    })?;
    // Estimates (SJ: its start τ₀² first, then a pass there).
    let usable = |g: &SumGroup| g.bad == 0 && g.fe.k > 1;
    for g in groups.iter_mut().filter(|g| usable(g)) {
        let k = f64::from(g.fe.k);
        let fe = g.fe.sums();
        // Unweighted: Σ(y − ȳ)² from deviations e = y − shift.
        let rss_u = g.fe.se2 - g.fe.se * g.fe.se / k;
        let (tau2, se) = match method {
            Method::FE => (0.0, None),
            Method::DL => {
                let (t, s) = tau2::dl_sums(&fe);
                (t, Some(s))
            }
            Method::HS => {
                let (t, s) = tau2::hs_sums(&fe);
                (t, Some(s))
            }
            Method::HE => {
                let untruncated = (rss_u - g.fe.sv * (1.0 - 1.0 / k)) / (k - 1.0);
                let pvpv = g.fe.sv2 * (1.0 - 2.0 / k) + g.fe.sv * g.fe.sv / (k * k);
                let (t, s) = tau2::he_sums(k, untruncated, g.fe.sv, pvpv);
                (t, Some(s))
            }
            _ => {
                g.t = rss_u / k;
                (f64::NAN, None)
            }
        };
        g.tau2 = tau2;
        g.se_tau2 = se;
    }
    let pass = |groups: &mut Vec<SumGroup>, start: bool, keys: &mut GroupKeys| {
        for_each_block(path, cols, var, block_bytes, |b| {
            for r in 0..b.run_starts.len() {
                let (g, _) = keys.lookup(&b, r);
                let sg = &mut groups[g as usize];
                if !usable(sg) || (!start && sg.tau2 == 0.0) {
                    continue;
                }
                let acc = if start { &mut sg.start } else { &mut sg.pool };
                acc.shift = sg.fe.shift;
                for i in b.run(r) {
                    let (y, v) = value(&b, i);
                    acc.add(y, v, sg.t, start);
                }
            }
            Ok(())
        })
    };
    if sj {
        pass(&mut groups, true, keys)?;
        for g in groups.iter_mut().filter(|g| usable(g)) {
            let (pvpv, pvp) = g.start.pvpv_pvp();
            let (t, s) = tau2::sj_sums(f64::from(g.fe.k), g.t, &g.start.sums(), pvpv, pvp);
            g.tau2 = t;
            g.se_tau2 = Some(s);
        }
    }
    for g in groups.iter_mut() {
        g.t = g.tau2;
    }
    if groups.iter().any(|g| usable(g) && g.tau2 != 0.0) {
        pass(&mut groups, false, keys)?;
    }
    let fits = groups.par_iter().map(|g| finish_group(g, opts)).collect();
    Ok((fits, rows))
}

/// The fit of a group from its sums (as [`crate::rma`] finishes one).
fn finish_group(g: &SumGroup, opts: &BatchOptions) -> GroupFit {
    if let Some((line, why)) = &g.first_bad {
        return not_pooled(g.rows, g.bad, &format!("line {line}"), why);
    }
    let fe = g.fe.sums();
    let k = g.fe.k as usize;
    let (tau2, se_tau2, pool) = if k == 1 {
        (0.0, None, fe.pool())
    } else if g.tau2 == 0.0 {
        (0.0, g.se_tau2, fe.pool())
    } else {
        let s = g.pool.sums();
        (
            g.tau2,
            g.se_tau2,
            Pool {
                sw: s.sw,
                mu: s.mu,
                rss: s.rss,
            },
        )
    };
    let est = Tau2Estimate {
        tau2,
        se_tau2,
        iterations: 0,
        path: ConvergencePath::ClosedForm,
        pool,
        other_maximum: None,
    };
    let fit = finish(k, &opts.rma, &fe, est);
    if !fit.is_finite() {
        return GroupFit {
            rows: g.rows,
            fit: None,
            ci: None,
            status: Status::Other(
                "not pooled: the running sums of --stream overflow or cancel for this group \
                 (extreme yi or vi); pool it without --stream"
                    .into(),
            ),
        };
    }
    let status = if k == 1 {
        Status::SingleStudy
    } else {
        Status::Ok
    };
    GroupFit {
        rows: g.rows,
        fit: Some(fit),
        ci: None,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::last_record_end;

    #[test]
    fn blocks_end_after_a_line_end_outside_quotes() {
        assert_eq!(last_record_end(b"a,b\n1,2\n3,"), Some(8));
        assert_eq!(last_record_end(b"a,b\n\"x\ny\",2\n3"), Some(12));
        assert_eq!(last_record_end(b"a,\"b\nc"), None);
        assert_eq!(last_record_end(b"a,\"b\"\"\n\",c\n"), Some(11));
    }
}
