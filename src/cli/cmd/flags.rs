//! `spotmeta flags [FILE]`: every row of the spot-reduction dataset with its
//! confound flags and the reason for each (text, CSV or JSON).

use crate::cli::args::{DEFAULT_DATASET, Format, OutputArgs};
use clap::Args;
use spotmeta::analysis::confounds::{ConfoundOptions, flag_dataset};
use spotmeta::analysis::primary::select_primary;
use spotmeta::data::load_spot;
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::output::text::flags as flags_text;
use std::path::PathBuf;

/// Thresholds of the confound rules.
#[derive(Debug, Clone, Args)]
pub struct ThresholdArgs {
    /// Session (or weekly) minutes ratio that raises an EE flag.
    #[arg(long, default_value_t = 1.25)]
    pub session_ratio: f64,
    /// Minutes per session apart that raise EE_SESSION_LENGTH.
    #[arg(long, default_value_t = 15.0)]
    pub session_diff: f64,
    /// Minutes per week apart that raise EE_WEEKLY_VOLUME.
    #[arg(long, default_value_t = 60.0)]
    pub weekly_diff: f64,
    /// Participants per arm below which SMALL_N is raised.
    #[arg(long, default_value_t = 10)]
    pub small_n: u32,
}

impl ThresholdArgs {
    /// The library options, checked.
    pub fn options(&self) -> anyhow::Result<ConfoundOptions> {
        if self.session_ratio.is_nan() || self.session_ratio <= 1.0 {
            anyhow::bail!(
                "--session-ratio must be greater than 1 (got {})",
                self.session_ratio
            );
        }
        if !(self.session_diff >= 0.0 && self.weekly_diff >= 0.0) {
            anyhow::bail!("--session-diff and --weekly-diff must be non-negative");
        }
        Ok(ConfoundOptions {
            session_ratio: self.session_ratio,
            session_diff_min: self.session_diff,
            weekly_diff_min: self.weekly_diff,
            small_n: self.small_n,
        })
    }
}

/// Arguments of `spotmeta flags`.
#[derive(Debug, Args)]
pub struct FlagsArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    #[command(flatten)]
    thresholds: ThresholdArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `spotmeta flags`.
pub fn run(a: FlagsArgs) -> anyhow::Result<()> {
    let conf = a.thresholds.options()?;
    let path = a
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let ds = load_spot(&path)?;
    let sel = select_primary(&ds, &SpotOptions::default());
    let rows = flag_dataset(&ds, &sel, &conf);
    let text = match a.output.format {
        Format::Json => {
            serde_json::to_string_pretty(&serde_json::json!({"thresholds": conf, "rows": rows}))?
                + "\n"
        }
        Format::Csv => flags_text::csv(&rows)?,
        Format::Text => flags_text::render(&path, &conf, &rows),
    };
    super::emit(&a.output, &text, &[&path])
}
