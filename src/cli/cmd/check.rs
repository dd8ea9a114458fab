//! `spotmeta check [FILE]`: validate the spot-reduction dataset against its
//! codebook and print every problem with line:column; exit ≠ 0 on errors
//! (warnings alone pass). The risk-of-bias rules that need typed rows run
//! through `analysis::rob::check`.

use crate::cli::args::{Format, dataset_path};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `spotmeta check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Dataset to check (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    /// Output format (text or json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Run `spotmeta check`.
pub fn run(a: CheckArgs) -> anyhow::Result<()> {
    let path = dataset_path(a.file.as_ref());
    let report = spotmeta::analysis::rob::check(&path)?;
    let text = match a.format {
        Format::Json => spotmeta::output::json::pretty(&report)?,
        _ => report.to_string(),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    if report.errors() > 0 {
        anyhow::bail!(
            "{} has {} error(s); fix them and run `spotmeta check` again",
            path.display(),
            report.errors()
        );
    }
    Ok(())
}
