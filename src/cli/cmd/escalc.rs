//! `spotmeta escalc [FILE]`: compute yi and vi per row (metafor `escalc`) and
//! print or export them as a table (text, CSV or JSON).

use crate::cli::args::{Format, InputArgs, TableOutputArgs};
use clap::Args;
use spotmeta::data::Table;
use spotmeta::escalc::table::effects;
use spotmeta::output::text::escalc as escalc_text;

/// Arguments of `spotmeta escalc`.
#[derive(Debug, Args)]
pub struct EscalcArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: TableOutputArgs,
}

/// Run `spotmeta escalc`.
pub fn run(a: EscalcArgs) -> anyhow::Result<()> {
    let path = a.input.path();
    let input = a.input.input();
    let rows = effects(&Table::read(&path)?, &input.source, input.slab.as_deref())?;
    let text = match a.output.format {
        Format::Json => spotmeta::output::json::document("escalc", &rows)?,
        Format::Csv => escalc_text::csv(&rows)?,
        Format::Text => escalc_text::render(&rows),
    };
    super::emit(&a.output.output(), &text, &[&path])
}
