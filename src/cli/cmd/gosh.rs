//! `spotmeta gosh [FILE] [--out DIR]`: fit every non-empty subset of the
//! studies exactly (metafor `gosh()`, without sampling), print the per-study
//! with/without means, and write `gosh.png`, `gosh.json` and, with
//! `--write-subsets`, `gosh_subsets.parquet` into DIR. Input as for `rma`: the
//! spot-reduction dataset (its primary-analysis rows) or any yi/vi table.

use crate::cli::args::{InputArgs, ModelArgs};
use clap::Args;
use spotmeta::data::io::write_output;
use spotmeta::gosh::{GoshOptions, HARD_MAX_K, gosh};
use spotmeta::output::gosh::{GoshPlotOptions, gosh_png};
use spotmeta::output::{json, text};
use spotmeta::review::{self, Plan, Settings};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `spotmeta gosh`.
#[derive(Debug, Args)]
pub struct GoshArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Directory for gosh.png, gosh.json (and gosh_subsets.parquet); created if missing.
    #[arg(long, short, value_name = "DIR", default_value = "gosh")]
    out: PathBuf,
    /// Refuse more studies than this (2^k − 1 fits; k = 25 is ~33.5 million).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(2..=HARD_MAX_K as i64))]
    max_k: u32,
    /// Also write every subset's (estimate, I², τ²) to gosh_subsets.parquet.
    #[arg(long)]
    write_subsets: bool,
}

/// Run `spotmeta gosh`.
pub fn run(a: GoshArgs) -> anyhow::Result<()> {
    let settings = Settings {
        model: a.model.choice(),
        ..Settings::default()
    };
    settings.check()?;
    let dataset = a.input.load()?;
    // The spot dataset's studies are its primary analysis' rows (pooled, so
    // they are checked to share one metric); a table's are its yi/vi rows.
    let plan = Plan {
        pool: dataset.is_spot(),
        ..Plan::default()
    };
    let f = review::run(dataset, &settings, &plan)?;
    let (labels, yi, vi) = (f.rows.labels(), f.rows.yi(), f.rows.vi());
    let opts = GoshOptions {
        rma: f.opts,
        max_k: a.max_k as usize,
    };
    let g = gosh(&yi, &vi, &opts)?;
    // Everything is computed before anything is written.
    let method = f.opts.method().as_str();
    let png = gosh_png(
        &g,
        &GoshPlotOptions {
            method: method.into(),
            xlab: "Pooled estimate".into(),
        },
    )?;
    let json = json::gosh(&g, method, &labels)?;
    let subsets = if a.write_subsets {
        Some(g.subsets_parquet()?)
    } else {
        None
    };
    std::fs::create_dir_all(&a.out)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the directory: {e}", a.out.display()))?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("gosh.png", Some(png.as_slice())),
        ("gosh.json", Some(json.as_bytes())),
        ("gosh_subsets.parquet", subsets.as_deref()),
    ] {
        if let Some(bytes) = bytes {
            let path = a.out.join(name);
            write_output("--out", &path, bytes, &[f.dataset.path()])?;
            written.push(path.display().to_string());
        }
    }
    let mut text = text::gosh::render(&g, &labels, method);
    let _ = writeln!(text, "\nwrote {}", written.join(", "));
    print!("{text}");
    Ok(())
}
