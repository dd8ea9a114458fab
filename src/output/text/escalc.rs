//! `spotmeta escalc` as text and CSV: each row's effect size and sampling
//! variance, or why it has none.

use crate::error::Result;
use crate::escalc::table::TableEffect;

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v}")).unwrap_or_default()
}

/// The effect sizes as an aligned table (4 decimals; NA with the reason).
pub fn render(rows: &[TableEffect]) -> String {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(5).max(5);
    let mut t = format!("{:<width$}  {:>10}  {:>10}\n", "study", "yi", "vi");
    for r in rows {
        match (r.yi, r.vi) {
            (Some(y), Some(v)) => {
                t.push_str(&format!("{:<width$}  {:>10.4}  {:>10.4}\n", r.label, y, v))
            }
            _ => t.push_str(&format!(
                "{:<width$}  {:>10}  {:>10}  ({})\n",
                r.label,
                "NA",
                "NA",
                r.omitted.as_deref().unwrap_or("")
            )),
        }
    }
    t
}

/// The effect sizes as CSV (full precision).
pub fn csv(rows: &[TableEffect]) -> Result<String> {
    super::csv_table(
        &["line", "label", "yi", "vi", "omitted"],
        rows.iter().map(|r| {
            [
                r.line.to_string(),
                r.label.clone(),
                num(r.yi),
                num(r.vi),
                r.omitted.clone().unwrap_or_default(),
            ]
        }),
    )
}
