//! `spotmeta prisma [FILE] [--out prisma.png|svg]`: check the review record
//! beside the dataset (`review.toml`) and draw the PRISMA 2020 flow diagram
//! from it and the dataset's statuses ([`spotmeta::review::prisma`]);
//! without `--out`, print the flow's numbers and the record's issues.

use crate::cli::args::parse;
use anyhow::{Context, bail};
use clap::Args;
use spotmeta::data::bundled::DEFAULT_DATASET;
use spotmeta::data::review::review_path;
use spotmeta::output::forest::ImageFormat;
use spotmeta::output::prisma::prisma_image;
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
    /// Image format: png or svg (default: from the extension of --out).
    #[arg(long, value_parser = parse::<ImageFormat>)]
    format: Option<ImageFormat>,
    /// Output image (written atomically); without it the flow is printed.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Run `spotmeta prisma`.
pub fn run(a: PrismaArgs) -> anyhow::Result<()> {
    let data = a.file.unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let record = a.record.unwrap_or_else(|| review_path(&data));
    let (issues, flow) = spotmeta::review::prisma(&data, &record)?;
    for i in &issues {
        eprintln!("{i}");
    }
    let Some(flow) = flow else {
        bail!(
            "{} has {} error(s); fix them and run `spotmeta prisma` again",
            record.display(),
            issues.iter().filter(|i| i.is_error()).count()
        );
    };
    let Some(out) = a.out else {
        print!("{}", spotmeta::output::json::document("prisma", &flow)?);
        return Ok(());
    };
    let svg = ImageFormat::of(&out, a.format)? == ImageFormat::Svg;
    let bytes = prisma_image(&flow, a.width, svg)?;
    spotmeta::data::io::write_output("--out", &out, &bytes, &[&data, &record])
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
