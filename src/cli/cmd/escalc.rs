//! `spotmeta escalc [FILE]`: compute yi and vi per row (metafor `escalc`) and
//! print or export them as a table (text, CSV or JSON).

use crate::cli::args::{DEFAULT_DATASET, Format, InputArgs, OutputArgs};
use clap::Args;
use spotmeta::data::Table;
use spotmeta::escalc::table::effects;
use std::path::PathBuf;

/// Arguments of `spotmeta escalc`.
#[derive(Debug, Args)]
pub struct EscalcArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v}")).unwrap_or_default()
}

/// Run `spotmeta escalc`.
pub fn run(a: EscalcArgs) -> anyhow::Result<()> {
    let path = a
        .input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let table = Table::read(&path)?;
    let rows = effects(
        &table,
        &super::rma::source(&a.input),
        a.input.slab.as_deref(),
    )?;
    let text = match a.output.format {
        Format::Json => serde_json::to_string_pretty(&rows)? + "\n",
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["line", "label", "yi", "vi", "omitted"])?;
            for r in &rows {
                w.write_record([
                    r.line.to_string(),
                    r.label.clone(),
                    num(r.yi),
                    num(r.vi),
                    r.omitted.clone().unwrap_or_default(),
                ])?;
            }
            String::from_utf8(w.into_inner()?)?
        }
        Format::Text => {
            let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(5).max(5);
            let mut t = format!("{:<width$}  {:>10}  {:>10}\n", "study", "yi", "vi");
            for r in &rows {
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
    };
    super::emit(&a.output, &text, &[&path])
}
