//! Effect sizes from a generic table (metafor-style column names), with every
//! problem located at file:line:column.
//!
//! Either the table already holds `yi` and `vi` (or `sei`), or raw summary
//! columns are turned into effect sizes with a [`Measure`]:
//! MD/SMD use `m1i, sd1i, n1i, m2i, sd2i, n2i`; SMCR uses `m1i, m2i, sd1i, ni,
//! ri`; SMCC uses `m1i, m2i, sd1i, sd2i, ni, ri`. Rows with a missing value are
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
    Raw(Measure),
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
        Source::Raw(measure @ (Measure::DPPC2 | Measure::DWPC)) => {
            return Err(Error::option(
                "--measure",
                format!(
                    "{measure} is computed from spot-reduction dataset rows (pre/post means and SDs of both arms), not from metafor-style columns; run `spotmeta rma` on a dataset file, or give yi and vi with a `measure` column"
                ),
            ));
        }
        Source::Raw(measure) => {
            let cols = required_columns(*measure);
            need(
                table,
                cols.iter().copied(),
                &format!("--measure {measure} needs columns {}", cols.join(", ")),
            )?;
            let data = numeric_columns(table, cols)?;
            for i in 0..n {
                let vals: Option<Vec<f64>> = data.iter().map(|col| col[i]).collect();
                let Some(x) = vals else {
                    let missing: Vec<&str> = cols
                        .iter()
                        .zip(&data)
                        .filter(|(_, d)| d[i].is_none())
                        .map(|(c, _)| *c)
                        .collect();
                    out[i].omitted = Some(format!("missing {}", missing.join(", ")));
                    continue;
                };
                let bad_before = problems.list.len();
                for (c, val) in cols.iter().zip(&x) {
                    let ok = match *c {
                        "sd1i" | "sd2i" => *val > 0.0,
                        "n1i" | "n2i" | "ni" => *val >= 2.0,
                        "ri" => val.abs() < 1.0,
                        _ => val.is_finite(),
                    };
                    if !ok {
                        let (msg, fix) = match *c {
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
