//! `spotmeta leave1out | influence | cumul | regtest | trimfill FILE`: metafor's
//! case-deletion and small-study diagnostics on any yi/vi table (or raw
//! columns with --measure), with the same model flags as `rma`. Text like
//! metafor's `print()`, or `--format json`. The library runs them
//! ([`spotmeta::analysis::diagnostics::on_table`]) and renders them
//! ([`spotmeta::output::diagnostics`]); this file parses and writes.

use crate::cli::args::{Format, InputArgs, ModelArgs, OutputArgs};
use clap::{Args, ValueEnum};
use spotmeta::TestKind;
use spotmeta::analysis::diagnostics::{Diagnostic, on_table};
use spotmeta::data::Table;
use spotmeta::output::diagnostics::{render_table_diagnostic, table_diagnostic_json};

/// metafor's `regtest(model = )`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegModel {
    /// Mixed-effects meta-regression with the model's method and test (default).
    Rma,
    /// Egger's weighted least squares with multiplicative dispersion.
    Lm,
}

/// Arguments shared by the diagnostics subcommands.
#[derive(Debug, Args)]
pub struct DiagArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// cumul: the column that orders the studies (metafor `cumul(order = )`),
    /// numerically when every value is a number, else as text; empty cells last.
    #[arg(long, value_name = "COLUMN")]
    order: Option<String>,
    /// cumul: in decreasing order.
    #[arg(long)]
    decreasing: bool,
    /// regtest: the regression model (metafor `regtest(model = )`).
    #[arg(long, value_enum, default_value_t = RegModel::Rma)]
    model_kind: RegModel,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run the diagnostic `name` (the subcommand: metafor's function) on the
/// table's rows with an effect size.
pub fn run(name: &str, a: DiagArgs) -> anyhow::Result<()> {
    let lm = a.model_kind == RegModel::Lm;
    let diagnostic = Diagnostic::named(name, a.order.clone(), a.decreasing, lm)?;
    let path = a.input.path();
    let table = Table::read(&path)?;
    let opts = a.model.choice().options(TestKind::Z)?;
    let source = a.input.input().source;
    let d = on_table(&table, &source, a.input.slab.as_deref(), &diagnostic, &opts)?;
    let text = if a.output.format == Format::Json {
        table_diagnostic_json(&d)?
    } else {
        render_table_diagnostic(&d)
    };
    super::emit(a.output.out.as_deref(), &text, &[&path])
}
