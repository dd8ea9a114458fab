//! `spotmeta rob [FILE] [--out rob_summary.png]`: the risk-of-bias
//! assessment of every assessed row (RoB 2 / ROBINS-I, the deviations domain
//! derived from the confound flags where not entered) and, with `--out`, the
//! robvis-style summary bar chart weighted by the pooled model's weights
//! (issue #17).

use super::forest::{ImageFormat, RobPalette, format_of};
use crate::cli::args::{Format, InputArgs, ModelArgs, PrimaryRulesArgs, review_rules};
use anyhow::{Context, bail};
use clap::Args;
use spotmeta::analysis::rob::assess_dataset;
use spotmeta::data::Status;
use spotmeta::output::figures::{forest_of, rob_of_drawn};
use spotmeta::output::rob::{rob_table, summary_layout, summary_png, summary_svg};
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
    /// Colours of the bars (symbols in the key are drawn in both).
    #[arg(long, value_enum, default_value_t = RobPalette::Cochrane)]
    palette: RobPalette,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(600..=4000))]
    width: u32,
    /// Output format of the table printed (text or json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Image format (default: from the extension of --out).
    #[arg(long = "image-format", value_enum)]
    image_format: Option<ImageFormat>,
    /// Write the summary bar chart here (PNG or SVG, atomically).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Run `spotmeta rob`.
pub fn run(a: RobArgs) -> anyhow::Result<()> {
    let settings = Settings {
        model: a.model.choice(),
        rules: review_rules(Some(&a.rules), None)?,
        ..Settings::default()
    };
    settings.check()?;
    let f = review::run(a.input.load()?, &settings, &Plan::forest())?;
    let path = f.dataset.path().to_path_buf();
    let Some(ds) = &f.dataset.spot else {
        bail!(
            "{}: risk of bias needs the spot-reduction dataset (its rob_* columns); this table has none",
            path.display()
        );
    };
    let all = assess_dataset(ds, &settings.confounds);
    let rows: Vec<_> = ds
        .rows
        .iter()
        .zip(&all)
        .filter_map(|(r, a)| {
            a.as_ref()
                .map(|a| (r.line, r.display_label(), r.outcome_label(), a))
        })
        .collect();
    let text = match a.format {
        Format::Json => {
            let json: Vec<_> = rows
                .iter()
                .map(|(line, label, outcome, a)| {
                    serde_json::json!({"line": line, "study": label, "outcome": outcome, "assessment": a})
                })
                .collect();
            serde_json::to_string_pretty(&json)? + "\n"
        }
        _ => rob_table(&rows),
    };
    print!("{text}");
    let Some(out) = &a.out else { return Ok(()) };
    let format = format_of(out, a.image_format)?;
    let (items, note) = if a.unweighted {
        let items: Vec<_> = ds
            .rows
            .iter()
            .zip(&all)
            .filter(|(r, _)| r.status == Status::Included && r.primary)
            .filter_map(|(_, a)| a.clone().map(|a| (a, 1.0)))
            .collect();
        let note = format!(
            "Unweighted: every assessed included primary outcome of {} counts once ({} outcomes).",
            path.display(),
            items.len()
        );
        (items, note)
    } else {
        let drawn = rob_of_drawn(&f, &forest_of(&f, None)?)?;
        let k = drawn.len();
        let items: Vec<_> = drawn
            .into_iter()
            .filter_map(|(a, w)| a.map(|a| (a, w)))
            .collect();
        let note = format!(
            "Weighted by the weights of the pooled model ({}; {} of {k} pooled studies assessed). Studies that are not pooled carry no weight: see --unweighted.",
            spotmeta::output::forest::model_name(&f.pooled.as_ref().context("no pooled fit")?.fit),
            items.len()
        );
        (items, note)
    };
    if items.is_empty() {
        bail!("no assessed study to summarise; fill the rob_* columns (datasets/README.md §12)");
    }
    let l = summary_layout(&items, !a.unweighted, a.palette.into(), a.width, &note);
    let bytes = match format {
        ImageFormat::Png => summary_png(&l)?,
        ImageFormat::Svg => summary_svg(&l)?.into_bytes(),
    };
    spotmeta::data::io::write_output("--out", out, &bytes, &[&path])
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
