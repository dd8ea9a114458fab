//! `spotmeta rob [FILE] [--out rob_summary.png]`: the risk-of-bias
//! assessment of every assessed row (RoB 2 / ROBINS-I, the deviations domain
//! derived from the confound flags where not entered) and, with `--out`, the
//! robvis-style summary bar chart weighted by the pooled model's weights
//! (issue #17). The rows and bars come from
//! [`spotmeta::output::figures::rob_rows`] and
//! [`spotmeta::output::figures::rob_summary_items`].

use crate::cli::args::{Format, InputArgs, ModelArgs, PrimaryRulesArgs, parse, review_rules};
use anyhow::Context;
use clap::Args;
use spotmeta::output::figures::{rob_rows, rob_summary_items};
use spotmeta::output::forest::ImageFormat;
use spotmeta::output::rob::{Palette, rob_rows_text, summary_image};
use spotmeta::review::{self, Plan, Settings};
use std::path::PathBuf;

/// Arguments of `spotmeta rob`.
#[derive(Debug, Args)]
pub struct RobArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    rules: PrimaryRulesArgs,
    /// Count every assessed included primary outcome once instead of
    /// weighting the pooled studies by their model weight.
    #[arg(long)]
    unweighted: bool,
    /// Colours of the bars (symbols in the key are drawn in both): cochrane
    /// or colourblind.
    #[arg(long, default_value = "cochrane", value_parser = parse::<Palette>)]
    palette: Palette,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(600..=4000))]
    width: u32,
    /// Output format of the table printed (text or json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Image format: png or svg (default: from the extension of --out).
    #[arg(long = "image-format", value_parser = parse::<ImageFormat>)]
    image_format: Option<ImageFormat>,
    /// Write the summary bar chart here (PNG or SVG, atomically).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Run `spotmeta rob`.
pub fn run(a: RobArgs) -> anyhow::Result<()> {
    let settings = a.model.settings_with(Settings {
        rules: review_rules(Some(&a.rules), None)?,
        ..Settings::default()
    })?;
    let f = review::run(a.input.load()?, &settings, &Plan::forest())?;
    print!(
        "{}",
        rob_rows_text(&rob_rows(&f)?, a.format == Format::Json)?
    );
    let Some(out) = &a.out else { return Ok(()) };
    let svg = ImageFormat::of(out, a.image_format)? == ImageFormat::Svg;
    let (items, note) = rob_summary_items(&f, a.unweighted)?;
    let bytes = summary_image(&items, !a.unweighted, a.palette, a.width, &note, svg)?;
    spotmeta::data::io::write_output("--out", out, &bytes, &[f.dataset.path()])
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
