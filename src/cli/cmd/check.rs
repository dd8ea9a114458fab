//! `spotmeta check [FILE]`: validate the spot-reduction dataset against its
//! codebook and print every problem with line:column; exit ≠ 0 on errors
//! (warnings alone pass). The risk-of-bias rules that need typed rows run
//! through `analysis::rob::check` ([`spotmeta::analysis::rob::check_with_record`]). When the review record
//! (`review.toml`, codebook §13) sits beside the dataset, it is checked too
//! (against the dataset when the dataset loads) and its issues follow the
//! dataset's in the same report.

use crate::cli::args::{Format, dataset_path};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `spotmeta check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Dataset to check (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    /// Output format: text (like metafor's print methods) or json (one
    /// object, schema/spotmeta.schema.json).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = crate::cli::args::parse_text_json)]
    format: Format,
}

/// Run `spotmeta check`.
pub fn run(a: CheckArgs) -> anyhow::Result<()> {
    let path = dataset_path(a.file.as_ref());
    let report = spotmeta::analysis::rob::check_with_record(&path)?;
    let text = match a.format {
        Format::Json => spotmeta::output::json::document("check", &report)?,
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
