//! `spotmeta simulate --k N --tau2 X [--vi MIN,MAX] [--reps R]`: Monte-Carlo
//! coverage of the z, Knapp–Hartung and truncated Knapp–Hartung intervals and
//! of the prediction interval ([`spotmeta::simulate`]). `--write-data FILE`
//! also writes every simulated data set as CSV (rep, study, yi, vi,
//! theta_new) so another program (e.g. metafor) can be run on the same data.

use crate::cli::args::{Format, OutputArgs, parse_method};
use anyhow::{Context, bail};
use clap::Args;
use spotmeta::Method;
use spotmeta::simulate::{Coverage, SimSpec, Simulation, simulate, simulated_data_sets};
use std::fmt::Write;
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
    /// Range of the within-study variances, drawn uniformly: MIN,MAX.
    #[arg(long, default_value = "0.01,0.1", value_name = "MIN,MAX")]
    vi: String,
    /// Replications.
    #[arg(long, default_value_t = 10_000)]
    reps: usize,
    /// τ² estimator: REML, DL, HE, HS, SJ, ML, EB, PM (FE fixes τ² at 0).
    #[arg(long, default_value = "REML", value_parser = parse_method)]
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

fn spec(a: &SimulateArgs) -> anyhow::Result<SimSpec> {
    let Some((lo, hi)) = a.vi.split_once(',') else {
        bail!(
            "--vi {}: give the range as MIN,MAX, e.g. --vi 0.01,0.1",
            a.vi
        );
    };
    let num = |s: &str| -> anyhow::Result<f64> {
        s.trim()
            .parse()
            .with_context(|| format!("--vi {}: `{s}` is not a number", a.vi))
    };
    let level = if a.level > 1.0 {
        a.level / 100.0
    } else {
        a.level
    };
    if !(level > 0.0 && level < 1.0) {
        bail!("--level {}: give a percentage between 0 and 100", a.level);
    }
    let s = SimSpec {
        k: a.k,
        mu: a.mu,
        tau2: a.tau2,
        vi_min: num(lo)?,
        vi_max: num(hi)?,
        reps: a.reps,
        method: a.method,
        level,
        seed: a.seed,
    };
    s.check()?;
    Ok(s)
}

fn row(t: &mut String, name: &str, c: &Coverage) {
    let _ = writeln!(
        t,
        "  {name:<28} {:>8.4} {:>8.4} {:>11.4}",
        c.coverage, c.mc_se, c.mean_width
    );
}

fn render(s: &Simulation) -> String {
    let p = &s.spec;
    let lvl = spotmeta::output::style::level_pct(p.level);
    let mut t = format!(
        "Simulation: k = {}, mu = {}, tau^2 = {}, vi ~ Uniform({}, {}), tau^2 by {}, {} replications, seed {}\n\n",
        p.k,
        p.mu,
        p.tau2,
        p.vi_min,
        p.vi_max,
        p.method.as_str(),
        p.reps,
        p.seed
    );
    let _ = writeln!(
        t,
        "CI for mu (nominal {lvl}%)        coverage    MC SE  mean width"
    );
    for (c, name) in
        s.ci.iter()
            .zip(["z (Wald)", "Knapp-Hartung", "truncated KH (adhoc)"])
    {
        row(&mut t, name, c);
    }
    let _ = writeln!(t, "Prediction interval (new theta)");
    for (c, name) in s.pi.iter().zip(["z", "Knapp-Hartung (t, k - 1 df)"]) {
        row(&mut t, name, c);
    }
    let _ = writeln!(
        t,
        "\ntau^2: mean estimate {:.4} (true {}); {:.1}% of estimates at 0.",
        s.tau2_mean,
        p.tau2,
        100.0 * s.tau2_zero
    );
    if s.failures > 0 {
        let _ = writeln!(
            t,
            "{} replication(s) where the estimator failed are left out.",
            s.failures
        );
    }
    t
}

/// Every simulated data set as CSV.
fn data_csv(s: &SimSpec) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["rep", "study", "yi", "vi", "theta_new"])?;
    for (rep, d) in simulated_data_sets(s)?.enumerate() {
        for (i, (y, v)) in d.yi.iter().zip(&d.vi).enumerate() {
            w.write_record([
                (rep + 1).to_string(),
                (i + 1).to_string(),
                format!("{y:?}"),
                format!("{v:?}"),
                format!("{:?}", d.theta_new),
            ])?;
        }
    }
    Ok(w.into_inner()?)
}

/// Run `spotmeta simulate`.
pub fn run(a: SimulateArgs) -> anyhow::Result<()> {
    let s = spec(&a)?;
    let result = simulate(&s)?;
    let text = match a.output.format {
        Format::Json => serde_json::to_string_pretty(&result)? + "\n",
        Format::Text => render(&result),
        Format::Csv => bail!("--format csv is not available for simulate; use text or json"),
    };
    if let Some(path) = &a.write_data {
        let bytes = data_csv(&s)?;
        // --out must not land on (and then replace) the data just written.
        if let Some(out) = &a.output.out {
            spotmeta::data::io::refuse_input_as_output("--out", out, &[path])?;
        }
        spotmeta::data::io::write_atomic(path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    super::emit(&a.output, &text, &[])
}
