//! `spotmeta report [FILE] [--out DIR]`: the one-page PNG report plus
//! `forest.png`, `forest.svg`, `funnel.png`, `albatross.png` (spot dataset),
//! `results.json` and `summary.md`
//! (default DIR `reports/`). Everything is computed before anything is
//! written; then the directory's report files are replaced all at once, under
//! a lock on the directory ([`spotmeta::output::report::Report::write`]).

use crate::cli::args::{
    DEFAULT_DATASET, InputArgs, ModelArgs, PrimaryRulesArgs, SmallStudyArgs, WaitArg, review_rules,
};
use crate::cli::cmd::forest::prepare;
use anyhow::Context;
use clap::Args;
use spotmeta::analysis::confounds::{ConfoundOptions, flag_dataset};
use spotmeta::analysis::diagnostics::{Diagnostics, diagnose};
use spotmeta::analysis::primary::LeftOut;
use spotmeta::analysis::vote::vote_count;
use spotmeta::data::io::refuse_dir_holding_input;
use spotmeta::model::bayes::{ValidBayesOptions, bayes, sensitivity as bayes_sensitivity};
use spotmeta::output::bayes::{BayesSummary, shrunken_forest_group};
use spotmeta::output::report::{Report, ReportInput, ReportRow, SPOT_SEARCH_DATE, build_report};
use std::path::PathBuf;

/// Arguments of `spotmeta report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    primary_rules: PrimaryRulesArgs,
    #[command(flatten)]
    small_study: SmallStudyArgs,
    /// Directory to write the report into (created if missing).
    #[arg(long, short, default_value = "reports")]
    out: PathBuf,
    #[command(flatten)]
    wait: WaitArg,
}

/// Run `spotmeta report`.
pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let out = a.out.clone();
    let report = generate(a)?;
    for (name, _) in &report.files {
        println!("{}", out.join(name).display());
    }
    Ok(())
}

/// Compute the report, publish it in `--out` and return it (its
/// [`Report::headline`] is what `add --rerun` prints).
pub fn generate(a: ReportArgs) -> anyhow::Result<Report> {
    let file = a
        .input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    // Refused before any work; checked again when the report is published.
    refuse_dir_holding_input("--out", &a.out, &[&file])?;
    let rules = review_rules(Some(&a.primary_rules), Some(&a.small_study))?;
    let p = prepare(&a.input, &a.model, &rules, None, None, true, false)?;
    let dataset = p.path.display().to_string();
    // The small-study rule (issue #16) on the diagnostics the report shows.
    let gate = |d: Option<&Diagnostics>, studies: usize| {
        d.cloned().map(|mut d| {
            d.apply_small_study_rule(studies, &rules);
            d
        })
    };
    let input = match (&p.primary, &p.spot) {
        (Some(pa), Some(ds)) => {
            let flags = flag_dataset(ds, &pa.selection, &ConfoundOptions::default());
            let vote = vote_count(ds, &pa.selection, &flags, Some(&pa.fit), p.opts.level());
            // The Bayesian model of the same rows (issue #16), with its
            // shrinkage block in the report's forest plot.
            let (yi, vi) = (pa.selection.yi(), pa.selection.vi());
            let bopts = ValidBayesOptions::default();
            let bfit = bayes(&yi, &vi, &bopts)?;
            let labels: Vec<String> = pa.selection.used.iter().map(|u| u.label.clone()).collect();
            let summary = BayesSummary::new(&bfit, &labels, &bayes_sensitivity(&yi, &vi, &bopts)?);
            let weights: Vec<f64> = vi.iter().map(|&v| pa.fit.weight_percent(v)).collect();
            let mut forest = p.forest.clone();
            if let [g] = forest.groups.as_mut_slice() {
                // Tell the observed effects apart from the shrinkage block.
                g.name.get_or_insert_with(|| "Observed effects".into());
            }
            forest
                .groups
                .push(shrunken_forest_group(&bfit, &summary.shrinkage, &weights));
            ReportInput {
                title: "Spot reduction: does training a region burn more fat there?".into(),
                dataset,
                n_rows: p.n_rows,
                n_studies_pooled: Some(pa.selection.studies()),
                search_date: Some(SPOT_SEARCH_DATE.into()),
                spot: true,
                effect_label: spotmeta::escalc::spot::SPOT_METRIC_LABEL.into(),
                measure_text: format!(
                    "Effect sizes: {}, all on one metric (the d_z metric of change-score SDs is a sensitivity row); positive values mean more fat lost in the trained region. {}; exercise interventions only; converted and imputed inputs are listed in summary.md.",
                    spotmeta::escalc::spot::SPOT_EFFECT_LABEL,
                    if p.all_outcomes.as_ref().is_some_and(|a| a.primary) {
                        "Every regional-fat outcome (each region and method) in the primary analysis, one pre-specified primary outcome per study and cohort in the sensitivity analysis"
                    } else {
                        "One pre-specified primary outcome per study and cohort"
                    }
                ),
                rows: pa.selection.used.iter().map(ReportRow::from_used).collect(),
                used_json: serde_json::to_value(&pa.selection.used)?,
                left_out: pa.selection.left_out.clone(),
                forest,
                bayes: Some(summary),
                fit: p.fit,
                tau2_ci: p.tau2_ci,
                diagnostics: gate(
                    p.sensitivity.as_ref().and_then(|s| s.diagnostics.as_ref()),
                    pa.selection.studies(),
                ),
                sensitivity: p.sensitivity.clone().map(|mut s| {
                    s.diagnostics = gate(s.diagnostics.as_ref(), pa.selection.studies());
                    s
                }),
                vote: Some(vote),
                all_outcomes: p.all_outcomes.clone(),
                rules,
            }
        }
        _ => {
            let rows: Vec<ReportRow> = p
                .forest
                .groups
                .iter()
                .flat_map(|g| &g.studies)
                .zip(&p.lines)
                .map(|(s, &line)| ReportRow {
                    line,
                    label: s.label.clone(),
                    n: s.n,
                    yi: s.yi,
                    vi: s.vi,
                    detail: String::new(),
                })
                .collect();
            let (yi, vi): (Vec<f64>, Vec<f64>) = rows.iter().map(|r| (r.yi, r.vi)).unzip();
            let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
            ReportInput {
                title: format!("Meta-analysis of {}", dataset),
                dataset,
                n_rows: p.n_rows,
                n_studies_pooled: None,
                search_date: None,
                spot: false,
                effect_label: p.forest.effect_label.clone(),
                measure_text:
                    "Effect sizes and sampling variances as given in (or computed from) the table."
                        .into(),
                used_json: serde_json::to_value(&rows)?,
                rows,
                left_out: p
                    .omitted
                    .iter()
                    .map(|(line, label, why)| LeftOut {
                        line: *line,
                        label: label.clone(),
                        outcome: String::new(),
                        reason: why.clone(),
                    })
                    .collect(),
                diagnostics: gate(
                    Some(&diagnose(&yi, &vi, &labels, None, &p.fit, &p.opts)?),
                    yi.len(),
                ),
                sensitivity: None,
                vote: None,
                all_outcomes: None,
                bayes: None,
                rules,
                forest: p.forest.clone(),
                fit: p.fit,
                tau2_ci: p.tau2_ci,
            }
        }
    };
    let report = build_report(&input)?;
    report
        .write(&a.out, &[&p.path], a.wait.duration())
        .with_context(|| format!("writing the report to {}", a.out.display()))?;
    Ok(report)
}
