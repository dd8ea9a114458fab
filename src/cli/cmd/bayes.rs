//! `spotmeta bayes [FILE]`: Bayesian random-effects meta-analysis (issue
//! #16, after R bayesmeta): posterior medians and credible intervals of μ
//! and τ, the predictive interval, P(μ > 0), P(μ > a worthwhile effect), the
//! studies' shrinkage estimates and the same fit under other τ priors. On
//! the spot-reduction dataset (the default) it pools the primary-analysis
//! rows, as `spotmeta rma` does; otherwise a yi/vi (or --measure) table.

use crate::cli::args::{Format, InputArgs, OutputArgs, parse};
use clap::Args;
use spotmeta::model::bayes::{BayesOptions, IntervalKind, MuPrior, TauPrior};
use spotmeta::output::bayes::{BayesSummary, render_bayes, render_header};
use spotmeta::output::json;
use spotmeta::review::{self, Plan, Settings};

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
    /// Confidence level in percent (here: of the credible intervals).
    #[arg(long, default_value_t = 95.0)]
    level: f64,
    /// Credible intervals: central (equal tails) or shortest (bayesmeta's default).
    #[arg(long, default_value = "central", value_parser = parse::<IntervalKind>)]
    interval: IntervalKind,
    /// Skip the sensitivity analysis over other priors for tau.
    #[arg(long)]
    no_sensitivity: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// Parse `--prior` for clap (also `batch`'s).
pub fn parse_tau_prior(s: &str) -> Result<TauPrior, String> {
    parse(s)
}

/// Parse `--mu-prior` for clap (also `batch`'s).
pub fn parse_mu_prior(s: &str) -> Result<MuPrior, String> {
    parse(s)
}

/// Run `spotmeta bayes`.
pub fn run(a: BayesArgs) -> anyhow::Result<()> {
    let settings = Settings {
        bayes: BayesOptions {
            tau_prior: a.prior,
            mu_prior: a.mu_prior,
            level: a.level,
            worthwhile: a.worthwhile,
            interval: a.interval,
        },
        ..Settings::default()
    };
    settings.check()?;
    let f = review::run(a.input.load()?, &settings, &Plan::bayes(!a.no_sensitivity))?;
    let b = f.bayes.as_ref().expect("planned");
    let summary = BayesSummary::new(&b.fit, &b.labels, &b.prior_sensitivity);
    let text = match a.output.format {
        Format::Json => json::document("bayes", &summary)?,
        _ => render_header(&f) + &render_bayes(&summary),
    };
    super::emit(a.output.out.as_deref(), &text, &[f.dataset.path()])
}
