//! `spotmeta escalc [FILE]`: compute yi and vi per row (metafor `escalc`) and
//! print or export the input table with them added (text, CSV or JSON), so
//! moderators are kept as `escalc(data=)` keeps them.

use crate::cli::args::{Format, InputArgs, TableOutputArgs};
use clap::Args;
use spotmeta::data::Table;
use spotmeta::escalc::table::{EscalcData, effects};
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
    let table = Table::read(&path)?;
    let rows = effects(&table, &input.source, input.slab.as_deref())?;
    let data = EscalcData::new(&table, rows);
    let text = match a.output.format {
        Format::Json => spotmeta::output::json::document("escalc", &data.rows)?,
        Format::Csv => escalc_text::csv(&data)?,
        Format::Text => escalc_text::render(&data),
    };
    super::emit(a.output.out.as_deref(), &text, &[&path])
}
