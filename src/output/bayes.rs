//! Bayesian random-effects results out (issue #16): the JSON summary of
//! `spotmeta bayes`, its text (laid out like bayesmeta's `print()`), the one
//! line the report's result panel prints, the prior-sensitivity table, and
//! the forest rows of the pooled posterior and the shrunken study estimates.
//!
//! The statistics live in [`crate::model::bayes`]; this module only formats.

use super::layout::{ForestGroup, ForestStudy, Pooled};
use crate::model::bayes::{BayesFit, IntervalKind, Marginal};
use crate::review::{EffectRows, Findings};
use serde::Serialize;
use std::fmt::Write;

/// One study's shrinkage estimate, labelled, for tables and forest rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShrunkenRow {
    /// Study label.
    pub label: String,
    /// Observed effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// Posterior median of the study's true effect θᵢ.
    pub median: f64,
    /// Lower limit of θᵢ's credible interval.
    pub lower: f64,
    /// Upper limit of θᵢ's credible interval.
    pub upper: f64,
}

/// The shrunken estimates of `fit`'s studies (labels in input order; a
/// missing label becomes "Study i").
pub fn shrunken_rows(fit: &BayesFit, labels: &[String]) -> Vec<ShrunkenRow> {
    fit.shrinkage()
        .into_iter()
        .enumerate()
        .map(|(i, s)| ShrunkenRow {
            label: labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("Study {}", i + 1)),
            yi: s.yi,
            vi: s.vi,
            median: s.theta.median,
            lower: s.theta.lower,
            upper: s.theta.upper,
        })
        .collect()
}

/// One prior of the sensitivity analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityRow {
    /// The τ prior, as `--prior` accepts it.
    pub tau_prior: String,
    /// μ: median and credible interval.
    pub mu: Marginal,
    /// τ: median and credible interval.
    pub tau: Marginal,
    /// P(μ > 0).
    pub p_mu_positive: f64,
    /// P(μ > the smallest worthwhile effect).
    pub p_mu_worthwhile: f64,
}

/// Everything `spotmeta bayes --format json` prints: the fit's summaries
/// (priors as `{"family": …}` objects, `level` in percent), the
/// shrinkage estimates and the prior-sensitivity rows.
#[derive(Debug, Clone, Serialize)]
pub struct BayesSummary {
    /// What was fitted.
    pub model: String,
    /// The fit's summaries.
    #[serde(flatten)]
    pub fit: BayesFit,
    /// Shrinkage estimates of the studies.
    pub shrinkage: Vec<ShrunkenRow>,
    /// The same fit under other τ priors (empty when not asked for).
    pub sensitivity: Vec<SensitivityRow>,
}

impl BayesSummary {
    /// Summarise `fit` with its studies' `labels` and the fits of a
    /// sensitivity analysis (may be empty).
    pub fn new(fit: &BayesFit, labels: &[String], sensitivity: &[BayesFit]) -> BayesSummary {
        BayesSummary {
            model: "Bayesian random effects (numerical integration, bayesmeta-style)".into(),
            fit: fit.clone(),
            shrinkage: shrunken_rows(fit, labels),
            sensitivity: sensitivity
                .iter()
                .map(|f| SensitivityRow {
                    tau_prior: f.tau_prior.to_string(),
                    mu: f.mu,
                    tau: f.tau,
                    p_mu_positive: f.p_mu_positive,
                    p_mu_worthwhile: f.p_mu_worthwhile,
                })
                .collect(),
        }
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "undefined".into(), |v| format!("{v:.4}"))
}

/// "μ > 0.2" probability clause, e.g. `P(mu > 0) = 0.412`.
fn prob(a: f64, p: f64) -> String {
    format!("P(mu > {a}) = {p:.3}")
}

/// Text output of `spotmeta bayes`.
pub fn render_bayes(summary: &BayesSummary) -> String {
    let s = &summary.fit;
    let mut t = String::new();
    let kind = match s.interval {
        IntervalKind::Central => "central",
        IntervalKind::Shortest => "shortest",
    };
    let _ = writeln!(t, "Bayesian Random-Effects Model (k = {})", s.k);
    let _ = writeln!(t, "  tau prior: {}", s.tau_prior);
    let _ = writeln!(t, "  mu prior:  {}", s.mu_prior);
    let _ = writeln!(
        t,
        "\nMarginal posterior summary ({kind} {}% credible intervals):\n",
        100.0 * s.level
    );
    let _ = writeln!(
        t,
        "{:<12} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "", "median", "mean", "sd", "lower", "upper"
    );
    for (name, m) in [
        ("mu", &s.mu),
        ("tau", &s.tau),
        ("prediction", &s.prediction),
    ] {
        let _ = writeln!(
            t,
            "{:<12} {:>9.4} {:>9} {:>9} {:>10.4} {:>10.4}",
            name,
            m.median,
            opt(m.mean),
            opt(m.sd),
            m.lower,
            m.upper
        );
    }
    let _ = writeln!(
        t,
        "\n{}\n{}   (smallest worthwhile effect, --worthwhile)",
        prob(0.0, s.p_mu_positive),
        prob(s.worthwhile, s.p_mu_worthwhile)
    );
    if s.mu.mean.is_none() || s.tau.sd.is_none() {
        let _ = writeln!(
            t,
            "Note: a mean or SD is undefined: with k = {} the {} prior's tail leaves that posterior moment infinite (medians and intervals are unaffected).",
            s.k, s.tau_prior
        );
    }
    if !summary.shrinkage.is_empty() {
        let w = summary
            .shrinkage
            .iter()
            .map(|r| r.label.len())
            .max()
            .unwrap_or(5);
        let _ = writeln!(
            t,
            "\nShrinkage estimates (posterior of each study's true effect):\n"
        );
        let _ = writeln!(
            t,
            "{:<w$} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "", "yi", "se", "median", "lower", "upper"
        );
        for r in &summary.shrinkage {
            let _ = writeln!(
                t,
                "{:<w$} {:>9.4} {:>9.4} {:>9.4} {:>10.4} {:>10.4}",
                r.label,
                r.yi,
                r.vi.sqrt(),
                r.median,
                r.lower,
                r.upper
            );
        }
    }
    t.push_str(&render_sensitivity(&summary.sensitivity, s.worthwhile));
    t
}

/// The prior-sensitivity table (empty string for no rows).
pub fn render_sensitivity(rows: &[SensitivityRow], worthwhile: f64) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let w = rows.iter().map(|r| r.tau_prior.len()).max().unwrap_or(5);
    let mut t = "\nSensitivity to the prior for tau (same data, same mu prior):\n\n".to_string();
    let _ = writeln!(
        t,
        "{:<w$} {:>9} {:>22} {:>9} {:>9} {:>9}",
        "tau prior",
        "mu",
        "interval",
        "tau",
        "P(mu>0)",
        format!("P(mu>{worthwhile})")
    );
    for r in rows {
        let _ = writeln!(
            t,
            "{:<w$} {:>9.4} {:>22} {:>9.4} {:>9.3} {:>9.3}",
            r.tau_prior,
            r.mu.median,
            format!("[{:.4}, {:.4}]", r.mu.lower, r.mu.upper),
            r.tau.median,
            r.p_mu_positive,
            r.p_mu_worthwhile
        );
    }
    t
}

/// The one line the report's result panel prints for the Bayesian model, e.g.
/// `Bayesian RE (tau ~ half-normal:0.5): mu = -0.022 [95% CrI -0.355, 0.309], P(mu > 0) = 0.435, P(mu > 0.2) = 0.032; tau = 0.159 [0.006, 0.838]`.
pub fn report_line(fit: &BayesFit) -> String {
    let l = 100.0 * fit.level;
    format!(
        "Bayesian RE (tau ~ {}): mu = {:.3} [{l}% CrI {:.3}, {:.3}], {}, {}; tau = {:.3} [{:.3}, {:.3}]; prediction [{:.3}, {:.3}]",
        fit.tau_prior,
        fit.mu.median,
        fit.mu.lower,
        fit.mu.upper,
        prob(0.0, fit.p_mu_positive),
        prob(fit.worthwhile, fit.p_mu_worthwhile),
        fit.tau.median,
        fit.tau.lower,
        fit.tau.upper,
        fit.prediction.lower,
        fit.prediction.upper
    )
}

/// The Bayesian pooled row of a forest plot: a diamond at μ's posterior
/// median spanning its credible interval, with the posterior predictive
/// interval as the bar.
pub fn bayes_pooled(fit: &BayesFit) -> Pooled {
    Pooled {
        label: format!("Bayesian RE, tau ~ {} (k = {})", fit.tau_prior, fit.k),
        estimate: fit.mu.median,
        ci_lb: fit.mu.lower,
        ci_ub: fit.mu.upper,
        pi: Some((fit.prediction.lower, fit.prediction.upper)),
    }
}

/// The forest-plot block of the Bayesian fit: one row per study at its
/// shrunken estimate (posterior median, credible interval drawn as given,
/// not yi ± z·√vi), closed by the Bayesian diamond of [`bayes_pooled`]
/// (a group diamond: the layout draws prediction bars for the overall row
/// only).
/// `weights` (percent, per study) size the squares and fill the weight
/// column: pass the frequentist weights of the same plot so the squares
/// match the studies' own rows. Push it onto `ForestData::groups`.
pub fn shrunken_forest_group(fit: &BayesFit, rows: &[ShrunkenRow], weights: &[f64]) -> ForestGroup {
    ForestGroup {
        name: Some("Bayesian shrinkage estimates".into()),
        studies: rows
            .iter()
            .enumerate()
            .map(|(i, r)| ForestStudy {
                weight: weights.get(i).copied().unwrap_or(0.0),
                interval: Some((r.lower, r.upper)),
                ..ForestStudy::new(r.label.clone(), None, r.median, r.vi)
            })
            .collect(),
        pooled: Some(bayes_pooled(fit)),
    }
}

/// What `spotmeta bayes` prints above the fit: for the spot-reduction
/// dataset which rows were pooled, for a plain table how many rows had no
/// effect size.
pub fn render_header(f: &Findings) -> String {
    match &f.rows {
        EffectRows::Spot(sel) => format!(
            "Primary analysis of {} ({}; one primary outcome per study and cohort, exercise interventions; {}, positive = more fat lost in the trained region)\n\n",
            f.dataset.path().display(),
            crate::analysis::rules::k_clause(sel.used.len(), sel.studies()),
            crate::escalc::spot::SPOT_METRIC_LABEL
        ),
        EffectRows::Table(rows) => {
            let omitted = rows.iter().filter(|r| r.yi.is_none()).count();
            if omitted > 0 {
                format!(
                    "{omitted} row(s) omitted (missing values); see `spotmeta rma` for which\n\n"
                )
            } else {
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bayes::{ValidBayesOptions, bayes};

    #[test]
    fn text_json_and_report_line_carry_the_same_numbers() {
        let fit = bayes(&[0.3, 0.1], &[0.04, 0.05], &ValidBayesOptions::default()).unwrap();
        let s = BayesSummary::new(&fit, &["A".into(), "B".into()], &[]);
        let text = render_bayes(&s);
        assert!(text.contains(&format!("{:.4}", fit.mu.median)), "{text}");
        assert!(text.contains("P(mu > 0.2)"));
        let line = report_line(&fit);
        assert!(line.contains(&format!("{:.3}", fit.mu.median)), "{line}");
        let p = bayes_pooled(&fit);
        assert_eq!((p.ci_lb, p.ci_ub), (fit.mu.lower, fit.mu.upper));
        assert_eq!(s.shrinkage[1].label, "B");
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["mu"]["median"].as_f64(), Some(fit.mu.median));
        assert_eq!(j["tau_prior"]["family"], "half-normal");
        assert_eq!(j["level"].as_f64(), Some(95.0));
    }
}
