//! `spotmeta report [FILE] [--out DIR]`: the one-page PNG report plus
//! `forest.png`, `forest.svg`, `funnel.png`, `albatross.png` (spot dataset),
//! `results.json` and `summary.md`
//! (default DIR: `reports/` for the bundled dataset, `FILE-stem-report/`
//! otherwise). It takes `forest`'s presentation options (`--by`, `--xlab`,
//! `--title`, `--width`, `--page-rows`: one shared struct; the report's
//! forest plot shows at most `--page-rows` rows). Everything is computed before
//! anything is written; then the directory's report files are replaced all at
//! once, under a lock on the directory
//! ([`spotmeta::output::report::Report::write`]).

use crate::cli::args::{
    InputArgs, ModelArgs, PrimaryRulesArgs, SmallStudyArgs, WaitArg, default_report_dir,
    review_rules,
};
use crate::cli::cmd::forest::{PresentationArgs, warn};
use anyhow::Context;
use clap::Args;
use spotmeta::data::io::refuse_dir_holding_input;
use spotmeta::output::figures::Presentation;
use spotmeta::output::report::{Report, render_presented};
use spotmeta::review::{self, Input, Plan, Settings};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `spotmeta report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    primary_rules: PrimaryRulesArgs,
    #[command(flatten)]
    small_study: SmallStudyArgs,
    #[command(flatten)]
    look: PresentationArgs,
    /// Directory to write the report into (created if missing). Default:
    /// `reports/` of the project for the bundled dataset, else
    /// `FILE-stem-report/` in the current folder.
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    wait: WaitArg,
}

/// Run `spotmeta report`.
pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let (path, input, wait) = (a.input.path(), a.input.input(), a.wait.duration());
    let settings = Settings {
        model: a.model.choice(),
        rules: review_rules(Some(&a.primary_rules), Some(&a.small_study))?,
        ..Settings::default()
    };
    let look = Look {
        subgroups: a.look.by.clone(),
        presentation: a.look.presentation(),
    };
    let out = a.out.unwrap_or_else(|| default_report_dir(&path));
    let report = publish(&path, input, &settings, &look, &out, wait)?;
    for (name, _) in &report.files {
        println!("{}", out.join(name).display());
    }
    Ok(())
}

/// How the report is presented: `forest`'s options ([`PresentationArgs`]).
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// `--by COL`: subgroups in the forest plot.
    pub subgroups: Option<String>,
    /// `--xlab`, `--title`, `--width`, `--page-rows`.
    pub presentation: Presentation,
}

/// Compute the report of the dataset at `path` under `settings`, presented
/// as `look`, publish it in `dir` (waiting at most `wait` for its lock) and
/// return it (its headline is what `add --rerun` prints).
pub fn publish(
    path: &Path,
    input: Input,
    settings: &Settings,
    look: &Look,
    dir: &Path,
    wait: Duration,
) -> anyhow::Result<Report> {
    // Refused before any work; checked again when the report is published.
    refuse_dir_holding_input("--out", dir, &[path])?;
    settings.check()?;
    let dataset = review::Dataset::load(path, input)?;
    let plan = Plan {
        subgroups: look.subgroups.clone(),
        ..Plan::report_of(&dataset)
    };
    let f = review::run(dataset, settings, &plan)?;
    warn(&f);
    let report = render_presented(&f, &look.presentation)?;
    report
        .write(dir, &[path], wait)
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    Ok(report)
}
