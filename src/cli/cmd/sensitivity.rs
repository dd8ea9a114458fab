//! `spotmeta sensitivity [FILE]`: for the spot-reduction dataset, the pooled
//! effect with and without energy-expenditure-confounded and flagged studies,
//! flagged vs unflagged subgroups, the imputed correlation at 0.3/0.5/0.7,
//! meta-regressions on the EE moderators with permutation p-values, and the
//! leave-one-out / influence / cumulative / Egger / trim-and-fill battery.

use super::flags::ThresholdArgs;
use crate::cli::args::{
    DEFAULT_DATASET, Format, ModelArgs, OutputArgs, SmallStudyArgs, review_rules,
};
use clap::Args;
use spotmeta::TestKind;
use spotmeta::analysis::primary::select_primary;
use spotmeta::analysis::sensitivity::sensitivity;
use spotmeta::data::load_spot;
use spotmeta::escalc::spot::SpotOptions;
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
    let opts = a.model.options(TestKind::Knha)?;
    let conf = a.thresholds.options()?;
    let rules = review_rules(None, Some(&a.small_study))?;
    let path = a
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let ds = load_spot(&path)?;
    let mut s = sensitivity(&ds, &SpotOptions::default(), &conf, &opts)?;
    let studies = select_primary(&ds, &SpotOptions::default()).studies();
    if let Some(d) = s.diagnostics.as_mut() {
        d.apply_small_study_rule(studies, &rules);
    }
    let text = match a.output.format {
        Format::Json => serde_json::to_string_pretty(&s)? + "\n",
        _ => spotmeta::output::text::sensitivity::render(&s),
    };
    super::emit(&a.output, &text, &[&path])
}
