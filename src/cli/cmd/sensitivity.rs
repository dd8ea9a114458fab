//! `spotmeta sensitivity [FILE]`: for the spot-reduction dataset, the pooled
//! effect with and without energy-expenditure-confounded and flagged studies,
//! flagged vs unflagged subgroups, the imputed correlation at 0.3/0.5/0.7,
//! meta-regressions on the EE moderators with permutation p-values, and the
//! leave-one-out / influence / cumulative / Egger / trim-and-fill battery.

use crate::cli::args::{
    Format, ModelArgs, OutputArgs, SmallStudyArgs, ThresholdArgs, dataset_path, review_rules,
};
use clap::Args;
use spotmeta::output::{json, text};
use spotmeta::review::{self, Dataset, Plan, Settings};
use std::path::PathBuf;

/// Arguments of `spotmeta sensitivity`.
#[derive(Debug, Args)]
pub struct SensitivityArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    thresholds: ThresholdArgs,
    #[command(flatten)]
    small_study: SmallStudyArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `spotmeta sensitivity`.
pub fn run(a: SensitivityArgs) -> anyhow::Result<()> {
    let settings = a.model.settings_with(Settings {
        confounds: a.thresholds.options()?,
        rules: review_rules(None, Some(&a.small_study))?,
        ..Settings::default()
    })?;
    let f = review::run(
        Dataset::spot(&dataset_path(a.file.as_ref()))?,
        &settings,
        &Plan::sensitivity(),
    )?;
    let s = f.sensitivity.as_ref().expect("planned");
    let text = match a.output.format {
        Format::Json => json::document("sensitivity", s)?,
        _ => text::sensitivity::render(s),
    };
    super::emit(a.output.out.as_deref(), &text, &[f.dataset.path()])
}
