//! `spotmeta prisma [FILE] [--out prisma.png|svg]`: check the review record
//! beside the dataset (`review.toml`) and draw the PRISMA 2020 flow diagram
//! from it and the dataset's statuses; without `--out`, print the flow's
//! numbers and the record's issues.

use crate::cli::args::DEFAULT_DATASET;
use crate::cli::cmd::forest::ImageFormat;
use anyhow::{Context, bail};
use clap::Args;
use spotmeta::analysis::primary::select_primary;
use spotmeta::data::load_spot;
use spotmeta::data::review::{ReviewRecord, check_record, prisma_flow, review_path};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::output::prisma::{PrismaStyle, prisma_layout, prisma_png, prisma_svg};
use std::path::PathBuf;

/// Arguments of `spotmeta prisma`.
#[derive(Debug, Args)]
pub struct PrismaArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv); the
    /// review record is `review.toml` beside it.
    file: Option<PathBuf>,
    /// Review record to use instead of the one beside the dataset.
    #[arg(long, value_name = "TOML")]
    record: Option<PathBuf>,
    /// Image width in pixels (the height follows from the text).
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(i32).range(800..=4000))]
    width: i32,
    /// Image format (default: from the extension of --out).
    #[arg(long, value_enum)]
    format: Option<ImageFormat>,
    /// Output image (written atomically); without it the flow is printed.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Run `spotmeta prisma`.
pub fn run(a: PrismaArgs) -> anyhow::Result<()> {
    let data = a.file.unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let record_path = a.record.unwrap_or_else(|| review_path(&data));
    let ds = load_spot(&data)?;
    let rec = ReviewRecord::load(&record_path)?;
    let issues = check_record(&rec, Some(&ds));
    for i in &issues {
        eprintln!("{i}");
    }
    if issues.iter().any(|i| i.is_error()) {
        bail!(
            "{} has {} error(s); fix them and run `spotmeta prisma` again",
            record_path.display(),
            issues.iter().filter(|i| i.is_error()).count()
        );
    }
    let sel = select_primary(&ds, &SpotOptions::default());
    let flow = prisma_flow(&rec, &ds, Some((sel.used.len(), sel.studies())));
    let Some(out) = a.out else {
        print!("{}", serde_json::to_string_pretty(&flow)? + "\n");
        return Ok(());
    };
    let format = match a.format {
        Some(f) => f,
        None => match out.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("svg") => ImageFormat::Svg,
            Some(e) if e.eq_ignore_ascii_case("png") => ImageFormat::Png,
            _ => bail!(
                "{}: cannot tell the image format from the extension; use .png or .svg, or --format",
                out.display()
            ),
        },
    };
    let layout = prisma_layout(&flow, &PrismaStyle { width: a.width });
    let bytes = match format {
        ImageFormat::Png => prisma_png(&layout)?,
        ImageFormat::Svg => prisma_svg(&layout)?.into_bytes(),
    };
    spotmeta::data::io::write_output("--out", &out, &bytes, &[&data, &record_path])
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
