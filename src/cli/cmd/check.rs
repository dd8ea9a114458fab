//! `spotmeta check [FILE]`: validate the spot-reduction dataset against its
//! codebook and print every problem with line:column; exit ≠ 0 on errors
//! (warnings alone pass). The risk-of-bias rules that need typed rows run
//! through `analysis::rob::check`. When the review record
//! (`review.toml`, codebook §13) sits beside the dataset, it is checked too
//! (against the dataset when the dataset loads) and its issues follow the
//! dataset's in the same report.

use crate::cli::args::{Format, dataset_path};
use clap::Args;
use spotmeta::data::review::{check_review, review_path};
use spotmeta::data::validate::{Issue, Severity};
use spotmeta::data::{CheckReport, SpotDataset};
use std::path::{Path, PathBuf};

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
    let (mut report, ds) = spotmeta::analysis::rob::check(&path)?;
    add_review_issues(&path, ds.as_ref(), &mut report);
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

/// Append the issues of the review record beside `dataset`, if there is
/// one. Its cross-references need the typed dataset `ds`, which exists only
/// when the dataset has no errors. A record that cannot be read or parsed is
/// one error at the place the parser names.
fn add_review_issues(dataset: &Path, ds: Option<&SpotDataset>, report: &mut CheckReport) {
    let rec = review_path(dataset);
    if !rec.is_file() {
        return;
    }
    match check_review(&rec, ds) {
        Ok(issues) => report.issues.extend(issues),
        Err(e) => report.issues.push(unreadable(&rec, &e)),
    }
}

/// The issue for a review record that cannot be read or parsed.
fn unreadable(rec: &Path, e: &spotmeta::Error) -> Issue {
    let (line, column, message, fix) = match e {
        spotmeta::Error::Value {
            location,
            message,
            fix,
        } => (location.line, location.column, message.clone(), fix.clone()),
        other => (
            1,
            None,
            other.to_string(),
            "make the review record readable TOML (codebook §13)".to_string(),
        ),
    };
    Issue {
        file: rec.to_path_buf(),
        severity: Severity::Error,
        line,
        column,
        column_name: None,
        study: None,
        message,
        fix,
    }
}
