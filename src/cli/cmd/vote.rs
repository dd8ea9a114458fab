//! `spotmeta vote [FILE]`: every primary outcome with what it reports (numbers,
//! an exact or bounded p-value, a direction), effect sizes implied by
//! p-values, the sign test overall and by energy-expenditure flag, and whether
//! the pooled estimate and the directions agree.

use crate::cli::args::{DEFAULT_DATASET, Format, ModelArgs, OutputArgs};
use clap::Args;
use spotmeta::TestKind;
use spotmeta::analysis::confounds::{ConfoundOptions, flag_dataset};
use spotmeta::analysis::primary::primary_analysis;
use spotmeta::analysis::vote::vote_count;
use spotmeta::data::load_spot;
use spotmeta::escalc::spot::SpotOptions;
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
    let opts = a.model.options(TestKind::Knha)?;
    let path = a
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let ds = load_spot(&path)?;
    let pa = primary_analysis(&ds, &SpotOptions::default(), &opts)?;
    let flags = flag_dataset(&ds, &pa.selection, &ConfoundOptions::default());
    let v = vote_count(&ds, &pa.selection, &flags, Some(&pa.fit), opts.level());
    let text = match a.output.format {
        Format::Json => serde_json::to_string_pretty(&v)? + "\n",
        _ => spotmeta::output::text::vote::render(&v),
    };
    super::emit(&a.output, &text, &[&path])
}
