//! `spotmeta report [FILE] [--out DIR]`: the one-page PNG report plus
//! `forest.png`, `forest.svg`, `funnel.png`, `albatross.png` (spot dataset),
//! `results.json` and `summary.md`
//! (default DIR: `reports/` for the bundled dataset, `FILE-stem-report/`
//! otherwise). It takes `forest`'s presentation options (`--by`, `--xlab`,
//! `--title`, `--width`, `--page-rows`: one shared struct; the report's
//! forest plot shows at most `--page-rows` rows). Everything is computed before
//! anything is written; then the directory's report files are replaced all at
//! once, under a lock on the directory: the library's
//! [`spotmeta::output::report::publish`].

use crate::cli::args::{
    InputArgs, ModelArgs, PrimaryRulesArgs, SmallStudyArgs, WaitArg, default_report_dir,
    review_rules,
};
use crate::cli::cmd::forest::PresentationArgs;
use anyhow::Context;
use clap::Args;
use spotmeta::output::report::{Look, publish};
use spotmeta::review::Settings;
use std::path::PathBuf;

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
    let published = publish(&path, input, &settings, &look, &out, wait)
        .with_context(|| format!("writing the report to {}", out.display()))?;
    if let Some(w) = &published.warning {
        eprintln!("warning: {w}");
    }
    for (name, _) in &published.report.files {
        println!("{}", out.join(name).display());
    }
    Ok(())
}
