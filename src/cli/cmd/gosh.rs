//! `spotmeta gosh [FILE] [--out DIR]`: fit every non-empty subset of the
//! studies exactly (metafor `gosh()`, without sampling), print the per-study
//! with/without means, and write `gosh.png`, `gosh.json` and, with
//! `--write-subsets`, `gosh_subsets.parquet` into DIR. Input as for `rma`: the
//! spot-reduction dataset (its primary-analysis rows) or any yi/vi table
//! ([`spotmeta::gosh::gosh_of`]).

use crate::cli::args::{InputArgs, ModelArgs};
use clap::Args;
use spotmeta::data::io::write_outputs;
use spotmeta::gosh::{HARD_MAX_K, gosh_of};
use spotmeta::output::gosh::gosh_files;
use spotmeta::output::text;
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
    let settings = a.model.settings()?;
    let (f, g) = gosh_of(a.input.load()?, &settings, a.max_k as usize)?;
    let (labels, method) = (f.rows.labels(), f.opts.method().as_str());
    // Everything is computed before anything is written.
    let files = gosh_files(&g, method, &labels, a.write_subsets)?;
    let written = write_outputs("--out", &a.out, &files, &[f.dataset.path()])?;
    print!(
        "{}",
        text::gosh::render_written(&g, &labels, method, &written)
    );
    Ok(())
}
