//! Effect sizes from a generic table (metafor-style column names), with every
//! problem located at file:line:column.
//!
//! Either the table already holds `yi` and `vi` (or `sei`), or raw summary
//! columns are turned into effect sizes with a [`Measure`]:
//! MD/SMD use `m1i, sd1i, n1i, m2i, sd2i, n2i`; SMCR uses `m1i, m2i, sd1i, ni,
//! ri`; SMCC uses `m1i, m2i, sd1i, sd2i, ni, ri`. Those are metafor's argument
//! names; [`RawColumns`] maps each to the table's own column (metafor's
//! `escalc("SMD", m1i = mean_ex, ..., data = d)`). Rows with a missing value are
//! left out and reported (as metafor omits NAs with a warning); values that
//! are present but impossible (vi ≤ 0, SD ≤ 0, n < 2, |r| ≥ 1) are errors.
//!
//! A yi/vi table may carry a `measure` column naming each row's measure
//! (MD, SMD, SMCR, SMCC, DPPC2, DWPC). Rows of different metrics (raw-score
//! vs change-score standardised vs raw units, [`super::Metric`]) are refused
//! (issue #16): they are not on one scale.

use super::{Measure, Metric, change, means, one_metric};
use crate::data::Table;
use crate::error::{Error, Location, Result};
use serde::Serialize;

/// Which columns hold the inputs.
#[derive(Debug, Clone)]
pub enum Source {
    /// Effect sizes and sampling variances given directly.
    YiVi {
        /// Effect-size column.
        yi: String,
        /// Sampling-variance column.
        vi: String,
    },
    /// Effect sizes and standard errors (vi = sei²).
    YiSei {
        /// Effect-size column.
        yi: String,
        /// Standard-error column.
        sei: String,
    },
    /// Raw summary statistics, converted with this measure.
    Raw {
        /// The measure.
        measure: Measure,
        /// Which column holds each of metafor's raw arguments.
        columns: RawColumns,
    },
}

impl Source {
    /// Raw columns under metafor's own names (`m1i`, `sd1i`, …).
    pub fn raw(measure: Measure) -> Source {
        Source::Raw {
            measure,
            columns: RawColumns::default(),
        }
    }
}

/// metafor's raw-data arguments of the supported measures (MD, SMD, SMCR,
/// SMCC).
pub const RAW_ARGS: [&str; 8] = ["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "ni", "ri"];

/// Which table column holds each of metafor's raw-data arguments
/// ([`RAW_ARGS`]); an argument not mapped is read from the column of its own
/// name, as `escalc(data=)` does when the columns carry metafor's names.
///
/// # Examples
///
/// ```
/// use spotmeta::escalc::table::RawColumns;
/// let mut c = RawColumns::default();
/// c.set("m1i", "mean_ex")?;
/// assert_eq!(c.get("m1i"), "mean_ex");
/// assert_eq!(c.get("sd1i"), "sd1i");
/// assert!(c.set("xi", "x").is_err());
/// # Ok::<(), spotmeta::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawColumns {
    mapped: Vec<(&'static str, String)>,
}

impl RawColumns {
    /// Read metafor argument `arg` from column `column`.
    ///
    /// # Errors
    ///
    /// [`Error::Option`] when `arg` is not one of [`RAW_ARGS`].
    pub fn set(&mut self, arg: &str, column: impl Into<String>) -> Result<()> {
        let Some(arg) = RAW_ARGS.iter().find(|a| **a == arg) else {
            return Err(Error::option(
                format!("--{arg}"),
                format!(
                    "not a raw-data argument of the supported measures ({})",
                    RAW_ARGS.join(", ")
                ),
            ));
        };
        self.mapped.retain(|(a, _)| a != arg);
        self.mapped.push((arg, column.into()));
        Ok(())
    }

    /// The column holding metafor argument `arg` (`arg` itself when unmapped).
    pub fn get<'a>(&'a self, arg: &'a str) -> &'a str {
        self.mapped
            .iter()
            .find(|(a, _)| *a == arg)
            .map_or(arg, |(_, c)| c.as_str())
    }

    /// The mapped arguments and their columns, in the order they were set.
    pub fn mapped(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.mapped.iter().map(|(a, c)| (*a, c.as_str()))
    }
}

/// One row's effect size, or the reason it has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableEffect {
    /// Line in the file (header = 1).
    pub line: u64,
    /// Study label.
    pub label: String,
    /// Effect size (None when an input is missing).
    pub yi: Option<f64>,
    /// Sampling variance.
    pub vi: Option<f64>,
    /// Why the row has no effect size.
    pub omitted: Option<String>,
    /// The metric named by the table's `measure` column (yi/vi tables only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
}

/// Columns that must exist for a raw measure (metafor names).
pub fn required_columns(measure: Measure) -> &'static [&'static str] {
    match measure {
        Measure::MD | Measure::SMD => &["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"],
        Measure::SMCR => &["m1i", "m2i", "sd1i", "ni", "ri"],
        Measure::SMCC => &["m1i", "m2i", "sd1i", "sd2i", "ni", "ri"],
        // Computed from spot-reduction dataset rows only; `effects` refuses them.
        Measure::DPPC2 | Measure::DWPC => &[],
    }
}

struct Problems<'a> {
    table: &'a Table,
    list: Vec<String>,
}

impl Problems<'_> {
    fn push(&mut self, row: usize, col: &str, message: String, fix: &str) {
        let loc = Location {
            file: self.table.path.clone(),
            line: self.table.rows[row].line,
            column: self.table.column(col).map(|c| c + 1),
            column_name: Some(col.to_string()),
        };
        self.list.push(format!("{loc}: {message} — fix: {fix}"));
    }

    /// A problem of a whole row (no single cell to blame).
    fn push_row(&mut self, row: usize, message: String, fix: &str) {
        let loc = Location {
            file: self.table.path.clone(),
            line: self.table.rows[row].line,
            column: None,
            column_name: None,
        };
        self.list.push(format!("{loc}: {message} — fix: {fix}"));
    }
}

fn labels(table: &Table, slab: Option<&str>) -> Result<Vec<String>> {
    let col = match slab {
        Some(c) => Some(table.column(c).ok_or_else(|| Error::MissingColumn {
            file: table.path.clone(),
            column: c.to_string(),
            fix: format!(
                "name an existing column with --slab; the header has: {}",
                table.headers.join(", ")
            ),
        })?),
        None => ["slab", "study", "label", "study_id"]
            .iter()
            .find_map(|c| table.column(c)),
    };
    Ok(table
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| match col {
            Some(c) if !r.fields[c].trim().is_empty() => r.fields[c].trim().to_string(),
            _ => format!("Study {}", i + 1),
        })
        .collect())
}

fn need<'a>(table: &Table, cols: impl IntoIterator<Item = &'a str>, hint: &str) -> Result<()> {
    let missing: Vec<&str> = cols
        .into_iter()
        .filter(|c| table.column(c).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::MissingColumn {
        file: table.path.clone(),
        column: missing.join("`, `"),
        fix: format!("{hint}; the header has: {}", table.headers.join(", ")),
    })
}

/// Parse several numeric columns, reporting the bad cells of all of them in
/// one error.
fn numeric_columns(table: &Table, cols: &[&str]) -> Result<Vec<Vec<Option<f64>>>> {
    let mut out = Vec::with_capacity(cols.len());
    let mut problems = Vec::new();
    for c in cols {
        match table.numeric(c) {
            Ok(v) => out.push(v),
            Err(Error::Invalid { problems: p, .. }) => problems.extend(p),
            Err(e) => return Err(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid {
            file: table.path.clone(),
            problems,
        })
    }
}

/// Compute (or read) yi and vi for every row of `table`.
pub fn effects(table: &Table, source: &Source, slab: Option<&str>) -> Result<Vec<TableEffect>> {
    let labels = labels(table, slab)?;
    let mut problems = Problems {
        table,
        list: Vec::new(),
    };
    let n = table.rows.len();
    let mut out: Vec<TableEffect> = (0..n)
        .map(|i| TableEffect {
            line: table.rows[i].line,
            label: labels[i].clone(),
            yi: None,
            vi: None,
            omitted: None,
            metric: None,
        })
        .collect();
    match source {
        Source::YiVi { yi, vi } | Source::YiSei { yi, sei: vi } => {
            let is_se = matches!(source, Source::YiSei { .. });
            need(
                table,
                [yi.as_str(), vi.as_str()],
                "name the effect-size and variance columns with --yi and --vi (or --sei), or compute them with --measure",
            )?;
            let cols = numeric_columns(table, &[yi.as_str(), vi.as_str()])?;
            let (y, v) = (&cols[0], &cols[1]);
            for i in 0..n {
                match (y[i], v[i]) {
                    (Some(a), Some(b)) => {
                        let var = if is_se { b * b } else { b };
                        if !(b > 0.0 && b.is_finite()) {
                            let what = if is_se {
                                "standard error"
                            } else {
                                "sampling variance"
                            };
                            problems.push(
                                i,
                                vi,
                                format!("{what} {b} must be positive and finite"),
                                "check the SD/SE and n it was computed from",
                            );
                        } else if !a.is_finite() {
                            problems.push(
                                i,
                                yi,
                                format!("effect size {a} is not finite"),
                                "give a finite number or leave the cell empty to omit the row",
                            );
                        } else {
                            out[i].yi = Some(a);
                            out[i].vi = Some(var);
                        }
                    }
                    _ => out[i].omitted = Some(format!("missing {} or {}", yi, vi)),
                }
            }
            if let Some(col) = table.column("measure") {
                for (i, e) in out.iter_mut().enumerate() {
                    if e.yi.is_none() {
                        continue;
                    }
                    let cell = table.rows[i].fields[col].trim();
                    match cell.parse::<Measure>() {
                        Ok(m) => e.metric = Some(m.metric()),
                        Err(_) => problems.push(
                            i,
                            "measure",
                            format!("unknown measure `{cell}`"),
                            "name the row's measure: MD, SMD, SMCR, SMCC, DPPC2 or DWPC (the `measure` column decides which rows may be pooled together)",
                        ),
                    }
                }
            }
        }
        Source::Raw {
            measure: measure @ (Measure::DPPC2 | Measure::DWPC),
            ..
        } => {
            return Err(Error::option(
                "--measure",
                format!(
                    "{measure} is computed from spot-reduction dataset rows (pre/post means and SDs of both arms), not from metafor-style columns; run `spotmeta rma` on a dataset file, or give yi and vi with a `measure` column"
                ),
            ));
        }
        Source::Raw { measure, columns } => {
            let args = required_columns(*measure);
            let cols: Vec<&str> = args.iter().map(|a| columns.get(a)).collect();
            let wanted: Vec<String> = args
                .iter()
                .zip(&cols)
                .map(|(a, c)| {
                    if a == c {
                        a.to_string()
                    } else {
                        format!("{a} = {c}")
                    }
                })
                .collect();
            let first_missing = args
                .iter()
                .zip(&cols)
                .find(|(_, c)| table.column(c).is_none())
                .map_or(args[0], |(a, _)| *a);
            need(
                table,
                cols.iter().copied(),
                &format!(
                    "--measure {measure} reads {}; name the column that holds {} with --{} COL",
                    wanted.join(", "),
                    first_missing,
                    first_missing
                ),
            )?;
            let data = numeric_columns(table, &cols)?;
            for i in 0..n {
                let vals: Option<Vec<f64>> = data.iter().map(|col| col[i]).collect();
                let Some(x) = vals else {
                    let missing: Vec<&str> = cols
                        .iter()
                        .copied()
                        .zip(&data)
                        .filter(|(_, d)| d[i].is_none())
                        .map(|(c, _)| c)
                        .collect();
                    out[i].omitted = Some(format!("missing {}", missing.join(", ")));
                    continue;
                };
                let bad_before = problems.list.len();
                for ((arg, c), val) in args.iter().zip(&cols).zip(&x) {
                    let ok = match *arg {
                        "sd1i" | "sd2i" => *val > 0.0,
                        "n1i" | "n2i" | "ni" => *val >= 2.0,
                        "ri" => val.abs() < 1.0,
                        _ => val.is_finite(),
                    };
                    if !ok {
                        let (msg, fix) = match *arg {
                            "sd1i" | "sd2i" => (
                                "standard deviation must be > 0",
                                "check the value; if it is an SE, convert it (SD = SE*sqrt(n))",
                            ),
                            "ri" => (
                                "correlation must lie strictly between -1 and 1",
                                "check the value",
                            ),
                            _ => ("sample size must be at least 2", "check the value"),
                        };
                        problems.push(i, c, format!("{val}: {msg}"), fix);
                    }
                }
                if problems.list.len() > bad_before {
                    continue;
                }
                let r = match measure {
                    Measure::MD => Some(means::md(x[0], x[1], x[2], x[3], x[4], x[5])),
                    Measure::SMD => means::smd(x[0], x[1], x[2], x[3], x[4], x[5]),
                    Measure::SMCR => change::smcr(x[0], x[1], x[2], x[3], x[4]),
                    Measure::SMCC => change::smcc(x[0], x[1], x[2], x[3], x[4], x[5]),
                    Measure::DPPC2 | Measure::DWPC => unreachable!("refused above"),
                };
                match r {
                    // Finite inputs can still overflow (issue #15: escalc
                    // printed `inf` and exited 0).
                    Some((y, v)) if !(y.is_finite() && v.is_finite()) => problems.push_row(
                        i,
                        format!("{measure} overflows: yi = {y}, vi = {v}"),
                        "check the magnitudes of this row's means and SDs (or rescale the units)",
                    ),
                    Some((y, v)) => {
                        out[i].yi = Some(y);
                        out[i].vi = Some(v);
                    }
                    None => {
                        out[i].omitted =
                            Some("sample size too small for the bias correction".into())
                    }
                }
            }
        }
    }
    if !problems.list.is_empty() {
        return Err(Error::Invalid {
            file: table.path.clone(),
            problems: problems.list,
        });
    }
    one_metric(out.iter().filter_map(|e| {
        let m = e.metric?;
        Some((
            format!("{} line {} ({})", table.path.display(), e.line, e.label),
            m,
        ))
    }))?;
    Ok(out)
}

/// One input cell of [`EscalcData`]: a number, text, or missing (an empty or
/// `NA` cell, R's `NA`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// A finite number.
    Number(f64),
    /// Any other text.
    Text(String),
    /// Empty or `NA`.
    Missing,
}

impl Cell {
    fn read(cell: &str) -> Cell {
        let t = cell.trim();
        if t.is_empty() || t == "NA" {
            return Cell::Missing;
        }
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Cell::Number(v),
            _ => Cell::Text(t.to_string()),
        }
    }
}

/// One row of [`EscalcData`]: its effect size and its input cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalcRow {
    /// The effect size (or why there is none).
    #[serde(flatten)]
    pub effect: TableEffect,
    /// The row's input cells, by column name in the file's order.
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// metafor's `escalc(data = d)` result: the input table with `yi` and `vi`
/// added, so moderators and every other column are kept. A column already
/// named `yi` or `vi` is replaced in place, other columns come first and
/// keep their order (as metafor 3.8-1 does).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalcData {
    /// Output column names: the input's, then `yi` and `vi` unless the input
    /// had them.
    pub columns: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<EscalcRow>,
    /// Index of `yi` in `columns`.
    #[serde(skip)]
    pub yi_at: usize,
    /// Index of `vi` in `columns`.
    #[serde(skip)]
    pub vi_at: usize,
    #[serde(skip)]
    cells: Vec<Vec<String>>,
}

impl EscalcData {
    /// Join `table` and the effect sizes `effects` computed from it (one per
    /// row, as [`effects`] returns them).
    ///
    /// # Examples
    ///
    /// ```
    /// use spotmeta::data::Table;
    /// use spotmeta::escalc::{Measure, table::{EscalcData, Source, effects}};
    /// let csv = "study,m1i,sd1i,n1i,m2i,sd2i,n2i,dose\nA,55,47,155,75,64,156,2\n";
    /// let t = Table::from_reader("d.csv", csv.as_bytes())?;
    /// let e = effects(&t, &Source::raw(Measure::SMD), None)?;
    /// let d = EscalcData::new(&t, e);
    /// assert_eq!(d.columns.last().map(String::as_str), Some("vi"));
    /// assert_eq!(d.row(0)[7], "2"); // the moderator is kept
    /// # Ok::<(), spotmeta::Error>(())
    /// ```
    pub fn new(table: &Table, effects: Vec<TableEffect>) -> EscalcData {
        let mut columns = table.headers.clone();
        let mut at = |name: &str| match columns.iter().position(|h| h == name) {
            Some(i) => i,
            None => {
                columns.push(name.to_string());
                columns.len() - 1
            }
        };
        let (yi_at, vi_at) = (at("yi"), at("vi"));
        let cells: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|r| r.fields.iter().map(|c| c.trim().to_string()).collect())
            .collect();
        let rows = effects
            .into_iter()
            .zip(&cells)
            .map(|(effect, cells)| EscalcRow {
                effect,
                data: table
                    .headers
                    .iter()
                    .zip(cells)
                    .map(|(h, c)| {
                        let v =
                            serde_json::to_value(Cell::read(c)).unwrap_or(serde_json::Value::Null);
                        (h.clone(), v)
                    })
                    .collect(),
            })
            .collect();
        EscalcData {
            columns,
            rows,
            yi_at,
            vi_at,
            cells,
        }
    }

    /// Row `i`'s input cells (trimmed), one per input column.
    pub fn row(&self, i: usize) -> &[String] {
        &self.cells[i]
    }

    /// Row `i` laid out under [`EscalcData::columns`], with `yi` and `vi`
    /// written by `fmt` (`None` when the row has no effect size).
    pub fn record(&self, i: usize, fmt: impl Fn(Option<f64>) -> String) -> Vec<String> {
        let mut out = self.cells[i].clone();
        out.resize(self.columns.len(), String::new());
        let e = &self.rows[i].effect;
        out[self.yi_at] = fmt(e.yi);
        out[self.vi_at] = fmt(e.vi);
        out
    }
}
