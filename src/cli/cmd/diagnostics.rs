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
use spotmeta::analysis::regtest::RegtestModel;
use spotmeta::data::Table;
use spotmeta::output::diagnostics::{render_table_diagnostic, table_diagnostic_json};

/// Which diagnostic to run.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// metafor `leave1out()`.
    Leave1out,
    /// metafor `influence()`.
    Influence,
    /// metafor `cumul()`.
    Cumul,
    /// metafor `regtest()`.
    Regtest,
    /// metafor `trimfill()`.
    Trimfill,
}

/// metafor's `regtest(model = )`.
#[derive(Debug, Clone, Copy, ValueEnum)]
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

/// Run one diagnostic on the table's rows with an effect size.
pub fn run(which: Which, a: DiagArgs) -> anyhow::Result<()> {
    let diagnostic = match which {
        Which::Leave1out => Diagnostic::Leave1out,
        Which::Influence => Diagnostic::Influence,
        Which::Cumul => Diagnostic::Cumul {
            column: a.order.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "cumul needs --order COLUMN (the order is a choice, e.g. --order year)"
                )
            })?,
            decreasing: a.decreasing,
        },
        Which::Regtest => Diagnostic::Regtest(match a.model_kind {
            RegModel::Rma => RegtestModel::Rma,
            RegModel::Lm => RegtestModel::Lm,
        }),
        Which::Trimfill => Diagnostic::Trimfill,
    };
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
    super::emit(&a.output, &text, &[&path])
}
