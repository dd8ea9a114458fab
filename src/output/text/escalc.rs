//! `spotmeta escalc` as text and CSV: the input table with each row's effect
//! size and sampling variance added (metafor `escalc(data=)`), and why a row
//! has none.

use crate::error::Result;
use crate::escalc::table::EscalcData;

fn full(x: Option<f64>) -> String {
    x.map(|v| format!("{v}")).unwrap_or_default()
}

fn four(x: Option<f64>) -> String {
    x.map_or_else(|| "NA".to_string(), |v| format!("{v:.4}"))
}

/// The table as metafor prints an `escalc` data frame: every column, yi and
/// vi to 4 decimals (`NA` when omitted), numbers right-aligned; then one
/// line per omitted row with the reason.
pub fn render(d: &EscalcData) -> String {
    let records: Vec<Vec<String>> = (0..d.rows.len()).map(|i| d.record(i, four)).collect();
    let widths: Vec<usize> = d
        .columns
        .iter()
        .enumerate()
        .map(|(j, h)| {
            records
                .iter()
                .map(|r| r[j].chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..d.columns.len())
        .map(|j| {
            records.iter().all(|r| {
                let c = r[j].as_str();
                c.is_empty() || c == "NA" || c.parse::<f64>().is_ok()
            })
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = cells
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let w = widths[j];
                if numeric[j] {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s + "\n"
    };
    let mut t = line(&d.columns);
    for r in &records {
        t += &line(r);
    }
    let omitted: Vec<String> = d
        .rows
        .iter()
        .filter_map(|r| {
            let e = &r.effect;
            let why = e.omitted.as_deref()?;
            Some(format!("  line {} ({}): {why}\n", e.line, e.label))
        })
        .collect();
    if !omitted.is_empty() {
        t += "\nRows without an effect size (yi, vi = NA):\n";
        t += &omitted.concat();
    }
    t
}

/// The table as CSV: the input columns in their order, then `yi` and `vi`
/// (full precision; empty when omitted), as `write.csv(escalc(data=))`.
pub fn csv(d: &EscalcData) -> Result<String> {
    let header: Vec<&str> = d.columns.iter().map(String::as_str).collect();
    super::csv_table(&header, (0..d.rows.len()).map(|i| d.record(i, full)))
}
