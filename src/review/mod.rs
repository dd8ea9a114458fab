//! Stage 5 — the review: "analyse this dataset" as one library call. A run goes
//! load → effect sizes → the planned analyses → one result value,
//! [`Findings`]; `spotmeta report`, `forest`, `rma`, `sensitivity`, `vote`,
//! `flags`, `albatross`, `bayes` and `gosh` each render a part of it
//! ([`crate::output`]), and the command line only parses arguments, calls
//! [`run`] and writes.
//!
//! | step | what | where |
//! |---|---|---|
//! | load | the spot-reduction dataset (typed, checked) or a plain table | [`Dataset`] |
//! | settings | model, small-k rules, confound thresholds, Bayesian priors, a search-date override | [`Settings`] |
//! | plan | which analyses this run computes | [`Plan`] |
//! | run | effect sizes, pooled fit, three-level model, flags, sensitivity, vote, Bayes, diagnostics, the review record and GRADE | [`run`] → [`Findings`] |
//!
//! The whole report in three calls (plus the write; all of it in one call,
//! as `spotmeta report` does, is [`crate::output::report::publish`]):
//!
//! ```
//! use spotmeta::review::{self, Dataset, Input, Plan, Settings};
//! use std::path::Path;
//!
//! let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/spot_reduction.csv"));
//! let dataset = Dataset::load(path, Input::default())?;
//! let findings = review::run(dataset, &Settings::default(), &Plan::report())?;
//! let report = spotmeta::output::report::render(&findings)?;
//!
//! // The headline is the one the report prints, and every file is there.
//! let headline = findings.headline().expect("pooled");
//! assert_eq!(report.headline, headline);
//! assert!(report.files.iter().any(|(name, _)| name == "summary.md"));
//!
//! let dir = tempfile::tempdir()?;
//! report.write(dir.path(), &[path], std::time::Duration::from_secs(5))?;
//! assert!(dir.path().join("report.png").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dataset;
mod findings;
pub mod models;
mod plan;
mod rows;
mod settings;

pub use dataset::{Dataset, Input};
pub use findings::{BayesFindings, EffectRows, Findings, GradeFindings, Headline, Pooled};
pub use models::{ModelFit, ModelSpec, Univariate};
pub use plan::Plan;
pub use rows::{RowFindings, headline_of, row_findings};
pub use settings::{ModelChoice, Settings};

use crate::analysis::confint_or_why;
use crate::analysis::confounds::flag_dataset;
use crate::analysis::diagnostics::diagnose;
use crate::analysis::grade::{GradeOptions, grade, spot_grade_input};
use crate::analysis::multilevel_primary::all_outcomes;
use crate::analysis::primary::{PrimaryAnalysis, select_primary};
use crate::analysis::sensitivity::sensitivity;
use crate::analysis::vote::vote_count;
use crate::data::Table;
use crate::data::review::{ReviewRecord, review_path};
use crate::error::{Error, Result};
use crate::escalc::table::effects;
use crate::model::bayes::{bayes, sensitivity as bayes_sensitivity};
use crate::model::{TestKind, ValidRmaOptions, rma};

/// Run `plan` on `dataset` under `settings`.
///
/// # Errors
///
/// Settings out of range, effect sizes that cannot be computed or are on
/// different metrics, a fit that fails, or a `plan.subgroups` column the
/// table lacks.
pub fn run(dataset: Dataset, settings: &Settings, plan: &Plan) -> Result<Findings> {
    let rules = settings.rules.check()?;
    let default_test = if dataset.is_spot() {
        TestKind::Knha
    } else {
        TestKind::Z
    };
    let opts = settings.model.options(default_test)?;
    let rows = match &dataset.spot {
        Some(ds) => EffectRows::Spot(select_primary(ds, &settings.spot)),
        None => EffectRows::Table(effects(
            &dataset.table,
            &dataset.input.source,
            dataset.input.slab.as_deref(),
        )?),
    };
    let pooled = if plan.pool {
        Some(pool(&rows, &opts, dataset.path())?)
    } else {
        None
    };
    let all_outcomes = match (&dataset.spot, plan.all_outcomes) {
        (Some(ds), true) => Some(all_outcomes(ds, &settings.spot, &opts, &rules)?),
        _ => None,
    };
    let mut findings = Findings {
        dataset,
        settings: settings.clone(),
        plan: plan.clone(),
        opts,
        rows,
        pooled,
        all_outcomes,
        flags: None,
        sensitivity: None,
        vote: None,
        bayes: None,
        bayes_not_run: None,
        diagnostics: None,
        subgroups: None,
        models: None,
        review: None,
        grade: None,
    };
    let f = &mut findings;
    if let Some(col) = &plan.subgroups {
        f.subgroups = Some(subgroup_keys(&f.dataset.table, col, &forest_lines(f))?);
    }
    if let (Some(ds), EffectRows::Spot(sel)) = (&f.dataset.spot, &f.rows) {
        if plan.sensitivity {
            let mut s = sensitivity(ds, &settings.spot, &settings.confounds, &opts)?;
            if let Some(d) = s.diagnostics.as_mut() {
                d.apply_small_study_rule(sel.studies(), &rules);
            }
            f.sensitivity = Some(s);
        }
        if plan.flags || plan.vote {
            f.flags = Some(flag_dataset(ds, sel, &settings.confounds));
        }
        if plan.vote {
            let flags = f.flags.as_deref().unwrap_or_default();
            let fit = f.pooled.as_ref().map(|p| &p.fit);
            f.vote = Some(vote_count(ds, sel, flags, fit, opts.level()));
        }
    }
    if plan.bayes {
        if let EffectRows::Spot(sel) = &f.rows {
            // One metric in a pooled analysis (issue #16).
            sel.metric()?;
        }
        let (yi, vi) = (f.rows.yi(), f.rows.vi());
        let bopts = settings.bayes.check()?;
        let fitted = bayes(&yi, &vi, &bopts).and_then(|fit| {
            let prior_sensitivity = if plan.bayes_prior_sensitivity {
                bayes_sensitivity(&yi, &vi, &bopts)?
            } else {
                Vec::new()
            };
            Ok((fit, prior_sensitivity))
        });
        match fitted {
            Ok((fit, prior_sensitivity)) => {
                f.bayes = Some(BayesFindings {
                    labels: f.rows.labels(),
                    fit,
                    prior_sensitivity,
                })
            }
            Err(e) if plan.bayes_may_fail => f.bayes_not_run = Some(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if plan.diagnostics {
        f.diagnostics = match (&f.rows, &f.pooled) {
            (EffectRows::Spot(_), _) => f.sensitivity.as_ref().and_then(|s| s.diagnostics.clone()),
            (EffectRows::Table(_), Some(p)) => {
                let (yi, vi) = (f.rows.yi(), f.rows.vi());
                let mut d = diagnose(
                    &yi,
                    &vi,
                    &f.rows.labels(),
                    None,
                    &p.fit,
                    &opts,
                    rules.refit_max_k,
                )?;
                d.apply_small_study_rule(yi.len(), &rules);
                Some(d)
            }
            (EffectRows::Table(_), None) => None,
        };
    }
    if let Some(spec) = &plan.models {
        let pooled: Vec<(u64, f64, f64)> = f
            .rows
            .pooled()
            .into_iter()
            .map(|(line, _, yi, vi)| (line, yi, vi))
            .collect();
        f.models = Some(models::fit_models(
            &f.dataset,
            &pooled,
            &settings.spot,
            spec,
            &opts,
            settings.model.test.is_some(),
        )?);
    }
    if plan.appraisal
        && let Some(ds) = &f.dataset.spot
    {
        let rec = review_path(f.dataset.path());
        if rec.is_file() {
            f.review = Some(ReviewRecord::load(&rec)?);
        }
        if let (EffectRows::Spot(sel), Some(p)) = (&f.rows, &f.pooled) {
            let pa = PrimaryAnalysis {
                selection: sel.clone(),
                fit: p.fit,
                tau2_ci: p.tau2_ci,
                tau2_ci_why: p.tau2_ci_why.clone(),
            };
            let input = spot_grade_input(ds, &pa, &settings.confounds);
            // The review's thresholds: the record's [grade] table over the
            // defaults (no record: the defaults).
            let opts = match &f.review {
                Some(rec) => GradeOptions::default().with_table(&rec.grade, &rec.path)?,
                None => GradeOptions::default(),
            };
            let grade = grade(&input, &opts)?;
            f.grade = Some(GradeFindings { input, grade });
        }
    }
    Ok(findings)
}

/// Pool the rows: `rma` and the Q-profile CI for τ² (spot rows must share
/// one metric).
fn pool(rows: &EffectRows, opts: &ValidRmaOptions, file: &std::path::Path) -> Result<Pooled> {
    if let EffectRows::Spot(sel) = rows {
        sel.metric()?;
    }
    let (yi, vi) = (rows.yi(), rows.vi());
    // A study that cannot be pooled is named at its file:line (#14).
    let fit = rma(&yi, &vi, opts).map_err(|e| {
        let pooled = rows.pooled();
        e.at_row(file, |i| {
            pooled.get(i.checked_sub(1)?).map(|r| (r.0, r.1.clone()))
        })
    })?;
    let (tau2_ci, tau2_ci_why) = confint_or_why(&yi, &vi, &fit, 1e-12);
    Ok(Pooled {
        fit,
        tau2_ci,
        tau2_ci_why,
    })
}

/// File lines of the forest plot's rows, in drawing order.
fn forest_lines(f: &Findings) -> Vec<u64> {
    match (f.forest_three_level(), &f.all_outcomes) {
        (Some(_), Some(a)) => a.rows.iter().map(|u| u.line).collect(),
        _ => f.rows.pooled().iter().map(|r| r.0).collect(),
    }
}

/// The value of `column` for each of the rows `lines` (trimmed; empty for a
/// line the table lacks).
fn subgroup_keys(table: &Table, column: &str, lines: &[u64]) -> Result<Vec<String>> {
    let Some(values) = table.text(column) else {
        return Err(Error::NoSuchColumn {
            file: table.path.clone(),
            column: column.into(),
            purpose: "for --by".into(),
            headers: table.headers.clone(),
        });
    };
    Ok(lines
        .iter()
        .map(|l| {
            table
                .rows
                .iter()
                .position(|r| r.line == *l)
                .map(|i| values[i].trim().to_string())
                .unwrap_or_default()
        })
        .collect())
}

/// The PRISMA 2020 flow of the spot-reduction dataset at `data` and the
/// review record at `record` (`spotmeta prisma`): the record's issues
/// (checked against the dataset), and the flow (its synthesis box counting
/// the primary analysis' outcomes and studies) unless an issue is an error.
///
/// # Errors
///
/// When the dataset or the record cannot be read.
pub fn prisma(
    data: &std::path::Path,
    record: &std::path::Path,
) -> Result<(Vec<crate::data::Issue>, Option<crate::data::review::Flow>)> {
    use crate::data::review::{check_record, prisma_flow};
    let ds = crate::data::load_spot(data)?;
    let rec = ReviewRecord::load(record)?;
    let issues = check_record(&rec, Some(&ds));
    if issues.iter().any(|i| i.is_error()) {
        return Ok((issues, None));
    }
    let sel = select_primary(&ds, &crate::escalc::spot::SpotOptions::default());
    let flow = prisma_flow(&rec, &ds, Some((sel.used.len(), sel.studies())));
    Ok((issues, Some(flow)))
}
