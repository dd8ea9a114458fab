//! `spotmeta simulate --k N --tau2 X [--vi-range MIN,MAX] [--reps R]`: Monte-Carlo
//! coverage of the z, Knapp–Hartung and truncated Knapp–Hartung intervals and
//! of the prediction interval ([`spotmeta::simulate`]). `--write-data FILE`
//! also writes every simulated data set as CSV (rep, study, yi, vi,
//! theta_new) so another program (e.g. metafor) can be run on the same data.

use crate::cli::args::{Format, OutputArgs, parse};
use anyhow::Context;
use clap::Args;
use spotmeta::Method;
use spotmeta::output::text::simulate as simulate_text;
use spotmeta::simulate::{SimSpec, simulate};
use std::path::PathBuf;

/// Arguments of `spotmeta simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Studies per simulated meta-analysis.
    #[arg(long)]
    k: usize,
    /// True between-study variance τ².
    #[arg(long)]
    tau2: f64,
    /// True pooled effect μ.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    mu: f64,
    /// Range of the within-study variances, drawn uniformly: MIN,MAX
    /// (`--vi` names a column everywhere else; it stays here as a
    /// deprecated alias).
    #[arg(
        long = "vi-range",
        alias = "vi",
        default_value = "0.01,0.1",
        value_name = "MIN,MAX"
    )]
    vi: String,
    /// Replications.
    #[arg(long, default_value_t = 10_000)]
    reps: usize,
    /// tau^2 estimator: REML, DL, HE, HS, SJ, ML, EB, PM, or FE (common effect; fixes tau^2 at 0).
    #[arg(long, default_value = "REML", value_parser = parse::<Method>)]
    method: Method,
    /// Confidence level in percent.
    #[arg(long, default_value_t = 95.0)]
    level: f64,
    /// Seed of the random number generator (same seed, same result).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write every simulated data set to this CSV file (atomically).
    #[arg(long, value_name = "FILE")]
    write_data: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `spotmeta simulate`.
pub fn run(a: SimulateArgs) -> anyhow::Result<()> {
    let (vi_min, vi_max) = SimSpec::parse_vi_range(&a.vi)?;
    let s = SimSpec {
        k: a.k,
        mu: a.mu,
        tau2: a.tau2,
        vi_min,
        vi_max,
        reps: a.reps,
        method: a.method,
        level: SimSpec::level_fraction(a.level)?,
        seed: a.seed,
    };
    s.check()?;
    let result = simulate(&s)?;
    let text = match a.output.format {
        Format::Json => spotmeta::output::json::document("simulate", &result)?,
        _ => simulate_text::render(&result),
    };
    if let Some(path) = &a.write_data {
        // --out must not land on (and then replace) the data just written.
        if let Some(out) = &a.output.out {
            spotmeta::data::io::refuse_input_as_output("--out", out, &[path])?;
        }
        spotmeta::data::io::write_atomic(path, &simulate_text::data_csv(&s)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    super::emit(a.output.out.as_deref(), &text, &[])
}
