//! `spotmeta leave1out | influence | cumul | regtest | trimfill FILE`: metafor's
//! case-deletion and small-study diagnostics on any yi/vi table (or raw
//! columns with --measure), with the same model flags as `rma`. Text like
//! metafor's `print()`, or `--format json`.

use crate::cli::args::{Format, InputArgs, ModelArgs, OutputArgs};
use clap::{Args, ValueEnum};
use spotmeta::analysis::cumul::{cumul, order_by_column};
use spotmeta::analysis::influence::influence;
use spotmeta::analysis::leave1out::leave1out;
use spotmeta::analysis::regtest::{RegtestModel, regtest};
use spotmeta::analysis::trimfill::trimfill;
use spotmeta::data::Table;
use spotmeta::escalc::table::effects;
use spotmeta::output::diagnostics as render;
use spotmeta::{TestKind, rma};

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

impl Which {
    /// The subcommand's name (the `command` of its JSON document).
    pub fn name(self) -> &'static str {
        match self {
            Which::Leave1out => "leave1out",
            Which::Influence => "influence",
            Which::Cumul => "cumul",
            Which::Regtest => "regtest",
            Which::Trimfill => "trimfill",
        }
    }
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
    let path = a.input.path();
    let table = Table::read(&path)?;
    let opts = a.model.choice().options(TestKind::Z)?;
    let rows = effects(&table, &a.input.input().source, a.input.slab.as_deref())?;
    let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
    let yi: Vec<f64> = used.iter().map(|r| r.yi.unwrap_or(f64::NAN)).collect();
    let vi: Vec<f64> = used.iter().map(|r| r.vi.unwrap_or(f64::NAN)).collect();
    let labels: Vec<String> = used.iter().map(|r| r.label.clone()).collect();
    let json = a.output.format == Format::Json;
    let text = match which {
        Which::Leave1out => {
            let l = leave1out(&yi, &vi, &opts)?;
            if json {
                with_labels(which, &l, &labels, |r| r.omitted)?
            } else {
                render::render_leave1out(&l, &labels)
            }
        }
        Which::Influence => {
            if yi.len() < 3 {
                anyhow::bail!(
                    "influence diagnostics need at least 3 studies (k = {})",
                    yi.len()
                );
            }
            let fit = rma(&yi, &vi, &opts)?;
            let inf = influence(&yi, &vi, &fit, &opts)?;
            if json {
                let mut i = 0..;
                with_labels(which, &inf, &labels, |_| i.next().unwrap_or(0))?
            } else {
                render::render_influence(&inf, &labels)
            }
        }
        Which::Cumul => {
            let col = a.order.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "cumul needs --order COLUMN (the order is a choice, e.g. --order year)"
                )
            })?;
            let c = table.column(col).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: no column `{col}` for --order; the header has: {}",
                    path.display(),
                    table.headers.join(", ")
                )
            })?;
            let values: Vec<Option<String>> = used
                .iter()
                .map(|r| {
                    let row = table.rows.iter().find(|t| t.line == r.line);
                    row.map(|t| t.fields[c].trim().to_string())
                        .filter(|v| !v.is_empty() && v != "NA")
                })
                .collect();
            let order = order_by_column(&values, a.decreasing);
            let steps = cumul(&yi, &vi, &order, &opts)?;
            if json {
                with_labels(which, &steps, &labels, |s| s.added)?
            } else {
                render::render_cumul(&steps, &labels, col)
            }
        }
        Which::Regtest => {
            let model = match a.model_kind {
                RegModel::Rma => RegtestModel::Rma,
                RegModel::Lm => RegtestModel::Lm,
            };
            let r = regtest(&yi, &vi, model, &opts)?;
            if json {
                spotmeta::output::json::document(which.name(), &r)?
            } else {
                render::render_regtest(&r)
            }
        }
        Which::Trimfill => {
            let tf = trimfill(&yi, &vi, &opts)?;
            if json {
                spotmeta::output::json::document(which.name(), &tf)?
            } else {
                render::render_trimfill(&tf)
            }
        }
    };
    super::emit(&a.output, &text, &[&path])
}

/// Rows as JSON, each with its study label (`slab`).
fn with_labels<T: serde::Serialize>(
    which: Which,
    rows: &[T],
    labels: &[String],
    mut index: impl FnMut(&T) -> usize,
) -> anyhow::Result<String> {
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r)?;
            v["slab"] = serde_json::json!(labels[index(r)]);
            Ok(v)
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(spotmeta::output::json::document(which.name(), &out)?)
}
