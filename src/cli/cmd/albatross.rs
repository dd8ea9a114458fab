//! `spotmeta albatross [FILE] --out F [--format png|svg] [--width PX]`: the
//! albatross plot (Harrison et al. 2017) of every primary outcome with a
//! p-value, over the vote-count evidence of `spotmeta vote` (issue #9).

use crate::cli::args::{ModelArgs, dataset_path, parse};
use anyhow::Context;
use clap::Args;
use spotmeta::data::io::write_output;
use spotmeta::output::albatross::{albatross_data, albatross_layout, albatross_png, albatross_svg};
use spotmeta::output::forest::ImageFormat;
use spotmeta::review::{self, Dataset, Plan};
use std::path::PathBuf;

/// Arguments of `spotmeta albatross`.
#[derive(Debug, Args)]
pub struct AlbatrossArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Image width in pixels (the height follows).
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u32).range(500..=4000))]
    width: u32,
    /// Output format: png or svg (default: from the extension of --out).
    #[arg(long, value_parser = parse::<ImageFormat>)]
    format: Option<ImageFormat>,
    /// Output image file, .png or .svg (written atomically).
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
}

/// Run `spotmeta albatross`.
pub fn run(a: AlbatrossArgs) -> anyhow::Result<()> {
    let format = ImageFormat::of(&a.out, a.format)?;
    let settings = a.model.settings()?;
    let f = review::run(
        Dataset::spot(&dataset_path(a.file.as_ref()))?,
        &settings,
        &Plan::vote(),
    )?;
    let v = f.vote.as_ref().expect("planned");
    let height = (a.width * 2 / 3).max(400);
    let layout = albatross_layout(&albatross_data(&v.evidence), a.width, height);
    let bytes = match format {
        ImageFormat::Png => albatross_png(&layout)?,
        ImageFormat::Svg => albatross_svg(&layout)?.into_bytes(),
    };
    write_output("--out", &a.out, &bytes, &[f.dataset.path()])
        .with_context(|| format!("writing {}", a.out.display()))?;
    Ok(())
}
