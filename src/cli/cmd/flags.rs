//! `spotmeta flags [FILE]`: every row of the spot-reduction dataset with its
//! confound flags and the reason for each (text, CSV or JSON).

use crate::cli::args::{Format, TableOutputArgs, ThresholdArgs, dataset_path};
use clap::Args;
use spotmeta::output::{json, text};
use spotmeta::review::{self, Dataset, Plan, Settings};
use std::path::PathBuf;

/// Arguments of `spotmeta flags`.
#[derive(Debug, Args)]
pub struct FlagsArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    #[command(flatten)]
    thresholds: ThresholdArgs,
    #[command(flatten)]
    output: TableOutputArgs,
}

/// Run `spotmeta flags`.
pub fn run(a: FlagsArgs) -> anyhow::Result<()> {
    let settings = Settings {
        confounds: a.thresholds.options()?,
        ..Settings::default()
    };
    let f = review::run(
        Dataset::spot(&dataset_path(a.file.as_ref()))?,
        &settings,
        &Plan::flags(),
    )?;
    let (conf, rows) = (&settings.confounds, f.flags.as_deref().expect("planned"));
    let text = match a.output.format {
        Format::Json => json::flags(conf, rows)?,
        Format::Csv => text::flags::csv(rows)?,
        Format::Text => text::flags::render(f.dataset.path(), conf, rows),
    };
    super::emit(a.output.out.as_deref(), &text, &[f.dataset.path()])
}
