//! `spotmeta escalc [FILE]`: compute yi and vi per row (metafor `escalc`) and
//! print or export them as a table (text, CSV or JSON).

use crate::cli::args::{DEFAULT_DATASET, Format, InputArgs, OutputArgs};
use clap::Args;
use spotmeta::data::Table;
use spotmeta::escalc::table::effects;
use spotmeta::output::text::escalc as escalc_text;
use std::path::PathBuf;

/// Arguments of `spotmeta escalc`.
#[derive(Debug, Args)]
pub struct EscalcArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
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
        Format::Csv => escalc_text::csv(&rows)?,
        Format::Text => escalc_text::render(&rows),
    };
    super::emit(&a.output, &text, &[&path])
}
