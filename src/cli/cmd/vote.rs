//! `spotmeta vote [FILE]`: every primary outcome with what it reports (numbers,
//! an exact or bounded p-value, a direction), effect sizes implied by
//! p-values, the sign test overall and by energy-expenditure flag, and whether
//! the pooled estimate and the directions agree.

use crate::cli::args::{Format, ModelArgs, OutputArgs, dataset_path};
use clap::Args;
use spotmeta::output::{json, text};
use spotmeta::review::{self, Dataset, Plan};
use std::path::PathBuf;

/// Arguments of `spotmeta vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `spotmeta vote`.
pub fn run(a: VoteArgs) -> anyhow::Result<()> {
    let settings = a.model.settings()?;
    let f = review::run(
        Dataset::spot(&dataset_path(a.file.as_ref()))?,
        &settings,
        &Plan::vote(),
    )?;
    let v = f.vote.as_ref().expect("planned");
    let text = match a.output.format {
        Format::Json => json::document("vote", v)?,
        _ => text::vote::render(v),
    };
    super::emit(a.output.out.as_deref(), &text, &[f.dataset.path()])
}
