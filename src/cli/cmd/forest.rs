//! `spotmeta forest [FILE] --out F`: draw a forest plot (PNG or SVG). For the
//! spot-reduction dataset (the default) it draws the primary analysis; for any
//! other table the model chosen with the same options as `rma`. `--by COL`
//! adds subgroups with their own diamonds and the test for subgroup
//! differences; `--rob` a risk-of-bias traffic-light column. A plot of more
//! than `--page-rows` rows is written as pages `FILE-1.png`, … (the library's
//! `output::figures::write_forest`). Its presentation options
//! ([`PresentationArgs`]) are `report`'s too.

use crate::cli::args::{InputArgs, ModelArgs, PrimaryRulesArgs, parse, review_rules};
use anyhow::Context;
use clap::Args;
use spotmeta::output::figures::{Presentation, plot_warning, write_forest};
use spotmeta::output::forest::ImageFormat;
use spotmeta::output::layout::PAGE_ROWS;
use spotmeta::output::rob::Palette;
use spotmeta::review::{self, Findings, Plan, Settings};
use std::path::PathBuf;

/// Arguments of `spotmeta forest`.
#[derive(Debug, Args)]
pub struct ForestArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    rules: PrimaryRulesArgs,
    #[command(flatten)]
    look: PresentationArgs,
    /// On the spot dataset, plot the one-outcome-per-cohort analysis even when
    /// the all-outcomes three-level model is the primary analysis (it is
    /// once it runs with enough studies and CR2 df; see --min-clusters).
    #[arg(long)]
    one_per_study: bool,
    /// Output format: png or svg (default: from the extension of --out).
    #[arg(long, value_parser = parse::<ImageFormat>)]
    format: Option<ImageFormat>,
    /// Add a risk-of-bias traffic-light column (D1-D5, D1-D7 with ROBINS-I,
    /// and overall) from the dataset's rob_* columns (spot dataset only).
    #[arg(long)]
    rob: bool,
    /// Colours of the traffic lights (symbols are drawn in both): cochrane
    /// (green, yellow, red, dark red, blue) or colourblind (light to dark
    /// orange, white for no information).
    #[arg(long, default_value = "cochrane", value_parser = parse::<Palette>, requires = "rob")]
    rob_palette: Palette,
    /// Output image file, .png or .svg (written atomically). A plot with
    /// more rows than --page-rows is written as pages FILE-1.png,
    /// FILE-2.png, … instead (one file per page, also for SVG); the pages
    /// or FILE of an earlier run (as it recorded them in
    /// .spotmeta-FILE.pages) that this one does not write are removed.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
}

/// The presentation options `forest` and `report` share (one struct, so
/// their names and meanings cannot drift apart).
#[derive(Debug, Clone, Args)]
pub struct PresentationArgs {
    /// Column whose values define subgroups: each gets a heading and a
    /// diamond, and the footer gives the test for subgroup differences (Q_M).
    #[arg(long, value_name = "COL")]
    pub by: Option<String>,
    /// Axis label of the forest plot; " · " splits it into left and right
    /// halves around zero.
    #[arg(long, value_name = "TEXT")]
    pub xlab: Option<String>,
    /// Title: above the forest plot (`forest`), or of the report page and
    /// summary.md (`report`).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Width of the forest plot in pixels (the height grows with the rows).
    #[arg(long, value_name = "PX", default_value_t = Presentation::default().width, value_parser = clap::value_parser!(u32).range(600..=4000))]
    pub width: u32,
    /// Rows of a forest-plot page: `forest` writes a plot with more rows as
    /// pages of this many; `report` draws at most this many (the studies
    /// with the largest weights, and a "+N more studies" row).
    #[arg(long, value_name = "N", default_value_t = PAGE_ROWS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(20..=1000))]
    pub page_rows: usize,
}

impl PresentationArgs {
    /// The library's presentation options.
    pub fn presentation(&self) -> Presentation {
        Presentation {
            xlab: self.xlab.clone(),
            title: self.title.clone(),
            width: self.width,
            page_rows: self.page_rows,
        }
    }
}

/// Print the warning a plot of `f` comes with, if any.
pub fn warn(f: &Findings) {
    if let Some(w) = plot_warning(f) {
        eprintln!("warning: {w}");
    }
}

/// Run `spotmeta forest`.
pub fn run(a: ForestArgs) -> anyhow::Result<()> {
    let format = ImageFormat::of(&a.out, a.format)?;
    let settings = Settings {
        model: a.model.choice(),
        rules: review_rules(Some(&a.rules), None)?,
        ..Settings::default()
    };
    settings.check()?;
    let plan = Plan {
        one_per_study: a.one_per_study,
        subgroups: a.look.by.clone(),
        ..Plan::forest()
    };
    let f = review::run(a.input.load()?, &settings, &plan)?;
    warn(&f);
    let look = a.look.presentation();
    let rob = a.rob.then_some(a.rob_palette);
    let written = write_forest(&f, &look, rob, format, &a.out)
        .with_context(|| format!("writing {}", a.out.display()))?;
    if let [first, .., last] = written.files.as_slice() {
        eprintln!(
            "note: {} rows, {} per page: wrote {} pages, {} … {}",
            written.rows,
            look.page_rows,
            written.files.len(),
            first.display(),
            last.display()
        );
    }
    Ok(())
}
