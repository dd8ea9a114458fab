//! `spotmeta bayes [FILE]`: Bayesian random-effects meta-analysis (issue
//! #16, after R bayesmeta): posterior medians and credible intervals of μ
//! and τ, the predictive interval, P(μ > 0), P(μ > a worthwhile effect), the
//! studies' shrinkage estimates and the same fit under other τ priors. On
//! the spot-reduction dataset (the default) it pools the primary-analysis
//! rows, as `spotmeta rma` does; otherwise a yi/vi (or --measure) table.

use crate::cli::args::{Format, InputArgs, OutputArgs};
use crate::cli::cmd::rma::source;
use anyhow::bail;
use clap::Args;
use spotmeta::analysis::primary::select_primary;
use spotmeta::data::{Table, is_spot_header, load_spot};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::escalc::table::effects;
use spotmeta::model::bayes::{BayesOptions, IntervalKind, MuPrior, TauPrior, bayes, sensitivity};
use spotmeta::output::bayes::{BayesSummary, render_bayes};

/// Arguments of `spotmeta bayes`.
#[derive(Debug, Args)]
pub struct BayesArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Prior for tau: half-normal:SCALE, half-cauchy:SCALE, rhodes (Rhodes et
    /// al. 2015 empirical prior for SMDs), log-t:LOCATION:SCALE, or uniform
    /// (improper, as bayesmeta's default).
    #[arg(long, default_value = "half-normal:0.5", value_parser = parse_tau_prior)]
    prior: TauPrior,
    /// Prior for mu: uniform (improper, bayesmeta's default) or normal:MEAN:SD.
    #[arg(long, default_value = "uniform", value_parser = parse_mu_prior)]
    mu_prior: MuPrior,
    /// Smallest worthwhile effect a, for P(mu > a).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    worthwhile: f64,
    /// Credible level in percent.
    #[arg(long, default_value_t = 95.0)]
    level: f64,
    /// Credible intervals: central (equal tails) or shortest (bayesmeta's default).
    #[arg(long, default_value = "central", value_parser = parse_interval)]
    interval: IntervalKind,
    /// Skip the sensitivity analysis over other priors for tau.
    #[arg(long)]
    no_sensitivity: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// Parse `--prior` for clap.
pub fn parse_tau_prior(s: &str) -> Result<TauPrior, String> {
    s.parse().map_err(|e: spotmeta::Error| e.to_string())
}

/// Parse `--mu-prior` for clap.
pub fn parse_mu_prior(s: &str) -> Result<MuPrior, String> {
    s.parse().map_err(|e: spotmeta::Error| e.to_string())
}

fn parse_interval(s: &str) -> Result<IntervalKind, String> {
    s.parse().map_err(|e: spotmeta::Error| e.to_string())
}

/// Run `spotmeta bayes`.
pub fn run(a: BayesArgs) -> anyhow::Result<()> {
    if a.output.format == Format::Csv {
        bail!("--format csv is not available for bayes; use text or json");
    }
    let opts = BayesOptions {
        tau_prior: a.prior,
        mu_prior: a.mu_prior,
        level: a.level,
        worthwhile: a.worthwhile,
        interval: a.interval,
    }
    .check()?;
    let path = a.input.path();
    let table = Table::read(&path)?;
    let (yi, vi, labels, header) = if is_spot_header(&table.headers) {
        let ds = load_spot(&path)?;
        let sel = select_primary(&ds, &SpotOptions::default());
        let labels: Vec<String> = sel.used.iter().map(|u| u.label.clone()).collect();
        // One metric in a pooled analysis (issue #16).
        sel.metric()?;
        let header = format!(
            "Primary analysis of {} ({}; one primary outcome per study and cohort, exercise interventions; {}, positive = more fat lost in the trained region)\n\n",
            path.display(),
            spotmeta::analysis::rules::k_clause(sel.used.len(), sel.studies()),
            spotmeta::escalc::spot::SPOT_METRIC_LABEL
        );
        (sel.yi(), sel.vi(), labels, header)
    } else {
        let rows = effects(&table, &source(&a.input), a.input.slab.as_deref())?;
        let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
        let omitted = rows.len() - used.len();
        let header = if omitted > 0 {
            format!("{omitted} row(s) omitted (missing values); see `spotmeta rma` for which\n\n")
        } else {
            String::new()
        };
        (
            used.iter().map(|r| r.yi.unwrap()).collect(),
            used.iter().map(|r| r.vi.unwrap()).collect(),
            used.iter().map(|r| r.label.clone()).collect(),
            header,
        )
    };
    let fit = bayes(&yi, &vi, &opts)?;
    let sens = if a.no_sensitivity {
        Vec::new()
    } else {
        sensitivity(&yi, &vi, &opts)?
    };
    let summary = BayesSummary::new(&fit, &labels, &sens);
    let text = match a.output.format {
        Format::Json => serde_json::to_string_pretty(&summary)? + "\n",
        _ => header + &render_bayes(&summary),
    };
    super::emit(&a.output, &text, &[&path])
}
