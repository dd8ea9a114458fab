//! `spotmeta rma [FILE]`: pool effect sizes (metafor `rma`) and print the
//! result as text (like `print.rma`) or JSON.

use crate::cli::args::{DEFAULT_DATASET, Format, InputArgs, ModelArgs, OutputArgs};
use clap::Args;
use spotmeta::analysis::confint;
use spotmeta::data::Table;
use spotmeta::escalc::table::{Source, effects};
use spotmeta::output::{json::RmaSummary, text::render_rma};
use spotmeta::{ValidRmaOptions, rma};
use std::path::PathBuf;

/// Arguments of `spotmeta rma`.
#[derive(Debug, Args)]
pub struct RmaArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Pick the input source from the flags.
pub fn source(input: &InputArgs) -> Source {
    match (&input.measure, &input.sei) {
        (Some(m), _) => Source::Raw(*m),
        (None, Some(sei)) => Source::YiSei {
            yi: input.yi.clone(),
            sei: sei.clone(),
        },
        (None, None) => Source::YiVi {
            yi: input.yi.clone(),
            vi: input.vi.clone(),
        },
    }
}

/// Run `spotmeta rma`.
pub fn run(a: RmaArgs) -> anyhow::Result<()> {
    let opts = ValidRmaOptions::try_from(&a.model)?;
    let path = a
        .input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let table = Table::read(&path)?;
    let rows = effects(&table, &source(&a.input), a.input.slab.as_deref())?;
    let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
    let yi: Vec<f64> = used.iter().map(|r| r.yi.unwrap()).collect();
    let vi: Vec<f64> = used.iter().map(|r| r.vi.unwrap()).collect();
    let fit = rma(&yi, &vi, &opts)?;
    let ci = confint(&yi, &vi, &fit, 1e-12)?;
    let omitted: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.omitted
                .as_ref()
                .map(|why| format!("line {} ({}): {why}", r.line, r.label))
        })
        .collect();
    let text = match a.output.format {
        Format::Json => {
            let mut v = serde_json::to_value(RmaSummary::new(&fit, ci.as_ref()))?;
            v["omitted"] = serde_json::json!(omitted);
            serde_json::to_string_pretty(&v)? + "\n"
        }
        Format::Text | Format::Csv => {
            let mut t = render_rma(&fit, ci.as_ref());
            if !omitted.is_empty() {
                t.push_str(&format!(
                    "\n{} row(s) omitted (missing values):\n",
                    omitted.len()
                ));
                for o in &omitted {
                    t.push_str(&format!("  {o}\n"));
                }
            }
            t
        }
    };
    super::emit(&a.output, &text)
}
