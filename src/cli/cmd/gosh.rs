//! `spotmeta gosh [FILE] [--out DIR]`: fit every non-empty subset of the
//! studies exactly (metafor `gosh()`, without sampling), print the per-study
//! with/without means, and write `gosh.png`, `gosh.json` and, with
//! `--write-subsets`, `gosh_subsets.parquet` into DIR. Input as for `rma`: the
//! spot-reduction dataset (its primary-analysis rows) or any yi/vi table.

use crate::cli::args::{DEFAULT_DATASET, InputArgs, ModelArgs};
use clap::Args;
use polars::prelude::{Column, DataFrame};
use spotmeta::analysis::primary::primary_analysis;
use spotmeta::data::io::write_output;
use spotmeta::data::{Table, is_spot_header, load_spot};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::escalc::table::effects;
use spotmeta::gosh::plot::{GoshPlotOptions, gosh_png};
use spotmeta::gosh::{Gosh, GoshOptions, HARD_MAX_K, gosh};
use spotmeta::{TestKind, ValidRmaOptions};
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
    #[arg(long, short, default_value = "gosh")]
    out: PathBuf,
    /// Refuse more studies than this (2^k − 1 fits; k = 25 is ~33.5 million).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(2..=HARD_MAX_K as i64))]
    max_k: u32,
    /// Also write every subset's (estimate, I², τ²) to gosh_subsets.parquet.
    #[arg(long)]
    write_subsets: bool,
}

/// Studies to analyse: labels, yi, vi, and the model options.
type Studies = (Vec<String>, Vec<f64>, Vec<f64>, ValidRmaOptions);

/// Read the studies from FILE (or the bundled dataset's primary analysis).
fn studies(a: &GoshArgs) -> anyhow::Result<Studies> {
    let path = a
        .input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let table = Table::read(&path)?;
    if is_spot_header(&table.headers) {
        let opts = a.model.options(TestKind::Knha)?;
        let ds = load_spot(&path)?;
        let pa = primary_analysis(&ds, &SpotOptions::default(), &opts)?;
        let used = &pa.selection.used;
        Ok((
            used.iter().map(|u| u.label.clone()).collect(),
            used.iter().map(|u| u.effect.yi).collect(),
            used.iter().map(|u| u.effect.vi).collect(),
            opts,
        ))
    } else {
        let opts = a.model.options(TestKind::Z)?;
        let rows = effects(
            &table,
            &super::rma::source(&a.input),
            a.input.slab.as_deref(),
        )?;
        let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
        Ok((
            used.iter().map(|r| r.label.clone()).collect(),
            used.iter().map(|r| r.yi.unwrap_or(f64::NAN)).collect(),
            used.iter().map(|r| r.vi.unwrap_or(f64::NAN)).collect(),
            opts,
        ))
    }
}

/// The per-subset results as a table (subset bitmask, size, estimate, I², τ²).
fn subsets_frame(g: &Gosh) -> anyhow::Result<DataFrame> {
    let n = g.subsets.len();
    let col = |name: &str, j: usize| {
        Column::new(
            name.into(),
            g.subsets.iter().map(|s| s[j]).collect::<Vec<f32>>(),
        )
    };
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("subset".into(), (1..=n as u32).collect::<Vec<u32>>()),
            Column::new(
                "k".into(),
                (1..=n as u32).map(u32::count_ones).collect::<Vec<u32>>(),
            ),
            col("estimate", 0),
            col("I2", 1),
            col("tau2", 2),
        ],
    )?)
}

/// Run `spotmeta gosh`.
pub fn run(a: GoshArgs) -> anyhow::Result<()> {
    let (labels, yi, vi, rma) = studies(&a)?;
    let opts = GoshOptions {
        rma,
        max_k: a.max_k as usize,
    };
    let g = gosh(&yi, &vi, &opts)?;
    // Everything is computed before anything is written.
    let method = rma.method().as_str();
    let png = gosh_png(
        &g,
        &GoshPlotOptions {
            method: method.into(),
            xlab: "Pooled estimate".into(),
        },
    )?;
    let json = serde_json::json!({
        "k": g.k,
        "method": method,
        "subsets": g.subsets.len(),
        "failed": g.failed,
        "all_studies": {
            "estimate": g.subsets.last().map(|s| s[0]),
            "I2": g.subsets.last().map(|s| s[1]),
            "tau2": g.subsets.last().map(|s| s[2]),
        },
        "mean": { "estimate": g.mean[0], "I2": g.mean[1], "tau2": g.mean[2] },
        "estimate_range": [g.estimate_range.0, g.estimate_range.1],
        "labels": labels,
        "studies": g.studies,
    });
    let json = serde_json::to_string_pretty(&json)? + "\n";
    let subsets = if a.write_subsets {
        let mut df = subsets_frame(&g)?;
        Some(spotmeta::batch::encode(
            &mut df,
            spotmeta::batch::TableFormat::Parquet,
        )?)
    } else {
        None
    };
    let input = a
        .input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
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
            write_output("--out", &path, bytes, &[&input])?;
            written.push(path.display().to_string());
        }
    }
    let mut text = spotmeta::output::text::gosh::render(&g, &labels, method);
    let _ = writeln!(text, "\nwrote {}", written.join(", "));
    print!("{text}");
    Ok(())
}
