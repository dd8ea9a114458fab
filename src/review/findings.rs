//! The result of a review run: one value holding everything a report, a
//! forest plot, `rma` on the spot dataset, `sensitivity`, `vote`, `flags`,
//! `bayes` and `gosh` show. Renderers in [`crate::output`] read parts of it;
//! none of them computes a statistic of its own.

use super::Plan;
use super::dataset::Dataset;
use super::models::ModelFit;
use super::settings::Settings;
use crate::analysis::Tau2Ci;
use crate::analysis::confounds::RowFlags;
use crate::analysis::diagnostics::{Diagnostics, Outcome};
use crate::analysis::grade::{Grade, GradeInput};
use crate::analysis::multilevel_primary::{AllOutcomes, ThreeLevel};
use crate::analysis::primary::Selection;
use crate::analysis::sensitivity::Sensitivity;
use crate::analysis::vote::VoteCount;
use crate::data::review::ReviewRecord;
use crate::escalc::table::TableEffect;
use crate::model::bayes::BayesFit;
use crate::model::{Method, RmaFit, ValidRmaOptions};
use serde::Serialize;

/// The rows a review pools, with their effect sizes.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectRows {
    /// Spot-reduction dataset: the primary analysis' rows (one outcome per
    /// cohort) and those left out, with the reason.
    Spot(Selection),
    /// Plain table: every row's effect size, or why it has none.
    Table(Vec<TableEffect>),
}

impl EffectRows {
    /// (line, label, yi, vi) of the pooled rows, in file order.
    pub fn pooled(&self) -> Vec<(u64, String, f64, f64)> {
        match self {
            EffectRows::Spot(sel) => sel
                .used
                .iter()
                .map(|u| (u.line, u.label.clone(), u.effect.yi, u.effect.vi))
                .collect(),
            EffectRows::Table(rows) => rows
                .iter()
                .filter_map(|r| Some((r.line, r.label.clone(), r.yi?, r.vi?)))
                .collect(),
        }
    }

    /// Effect sizes of the pooled rows.
    pub fn yi(&self) -> Vec<f64> {
        self.pooled().into_iter().map(|r| r.2).collect()
    }

    /// Sampling variances of the pooled rows.
    pub fn vi(&self) -> Vec<f64> {
        self.pooled().into_iter().map(|r| r.3).collect()
    }

    /// Labels of the pooled rows.
    pub fn labels(&self) -> Vec<String> {
        self.pooled().into_iter().map(|r| r.1).collect()
    }

    /// Distinct studies among the pooled rows, when the data say (spot
    /// dataset: distinct `study_id`).
    pub fn studies(&self) -> Option<usize> {
        match self {
            EffectRows::Spot(sel) => Some(sel.studies()),
            EffectRows::Table(_) => None,
        }
    }

    /// The spot dataset's selection.
    pub fn selection(&self) -> Option<&Selection> {
        match self {
            EffectRows::Spot(sel) => Some(sel),
            EffectRows::Table(_) => None,
        }
    }
}

/// A pooled fit with its Q-profile CI for τ².
#[derive(Debug, Clone, PartialEq)]
pub struct Pooled {
    /// The fit.
    pub fit: RmaFit,
    /// Q-profile CI for τ² (None for FE, k = 1, or when it failed).
    pub tau2_ci: Option<Tau2Ci>,
    /// "not computed: …" with the reason when the Q-profile CI failed (the
    /// fit stands).
    pub tau2_ci_why: Option<String>,
}

/// The Bayesian random-effects model of the pooled rows.
#[derive(Debug, Clone)]
pub struct BayesFindings {
    /// Labels of the studies, for the shrinkage estimates.
    pub labels: Vec<String>,
    /// The fit under the chosen priors.
    pub fit: BayesFit,
    /// The same fit under the other τ priors (empty when not planned).
    pub prior_sensitivity: Vec<BayesFit>,
}

/// The headline numbers of the primary analysis, whichever model it is
/// (the `primary_analysis` key of `results.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Which analysis, e.g. "all outcomes, three-level model + CR2".
    pub analysis: String,
    /// Pooled estimate.
    #[serde(rename = "beta")]
    pub estimate: f64,
    /// CI lower bound.
    pub ci_lb: f64,
    /// CI upper bound.
    pub ci_ub: f64,
    /// Prediction interval lower bound (None for a common-effect model).
    pub pi_lb: Option<f64>,
    /// Prediction interval upper bound.
    pub pi_ub: Option<f64>,
    /// Confidence level (fraction).
    #[serde(serialize_with = "crate::model::serialize_level_percent")]
    pub level: f64,
    /// Effect sizes pooled (the one definition of k,
    /// [`crate::analysis::rules::K_DEFINITION`]).
    pub k: usize,
    /// Studies (distinct `study_id`) they come from, when known.
    pub studies: Option<usize>,
    /// Degrees of freedom of the t test (None for a z test).
    #[serde(rename = "ddf")]
    pub df: Option<f64>,
    /// p-value of the test of the pooled effect.
    pub pval: Option<f64>,
    /// Why the all-outcomes three-level + CR2 model is not the primary
    /// analysis (it did not run, or the small-k rules demote it); None when
    /// it is primary or does not apply (a generic table).
    pub why_not_three_level: Option<String>,
}

impl Headline {
    /// The one-outcome-per-cohort random-effects fit.
    pub fn one_per_study(fit: &RmaFit, studies: Option<usize>) -> Self {
        let re = fit.method != Method::FE && fit.k > 1;
        Headline {
            analysis: "one outcome per cohort".into(),
            estimate: fit.estimate,
            ci_lb: fit.ci_lb,
            ci_ub: fit.ci_ub,
            pi_lb: re.then_some(fit.pi_lb),
            pi_ub: re.then_some(fit.pi_ub),
            level: fit.level,
            k: fit.k,
            studies,
            df: fit.ddf.map(|d| d as f64),
            pval: fit.pval(),
            why_not_three_level: None,
        }
    }

    /// The all-outcomes three-level model with CR2 inference.
    pub fn three_level(t: &ThreeLevel) -> Self {
        let r = &t.robust;
        Headline {
            analysis: "all outcomes, three-level model + CR2".into(),
            estimate: r.beta[0],
            ci_lb: r.ci_lb[0],
            ci_ub: r.ci_ub[0],
            pi_lb: Some(t.pi.0),
            pi_ub: Some(t.pi.1),
            level: t.fit.level,
            k: t.fit.k,
            studies: Some(t.fit.clusters),
            df: Some(r.df[0]),
            pval: Some(r.pval[0]),
            why_not_three_level: None,
        }
    }

    /// The headline of the primary analysis: the all-outcomes three-level
    /// model when `all` says it is primary, else the one-outcome-per-cohort
    /// `fit` on `studies` studies. The report renders this value and
    /// `spotmeta add --rerun` prints it, so the two cannot disagree.
    pub fn primary(fit: &RmaFit, studies: Option<usize>, all: Option<&AllOutcomes>) -> Self {
        if let Some(t) = all.filter(|a| a.primary).and_then(|a| a.result.done()) {
            return Headline::three_level(t);
        }
        let mut h = Headline::one_per_study(fit, studies);
        h.why_not_three_level = all.map(|a| match (&a.result, &a.why_not_primary) {
            (Outcome::NotRun { reason }, _) => format!("not run: {reason}"),
            (Outcome::Done(_), Some(why)) => why.clone(),
            (Outcome::Done(_), None) => String::new(),
        });
        h
    }
}

/// Everything a review run computed (the parts its [`Plan`] asked for).
#[derive(Debug, Clone)]
pub struct Findings {
    /// The dataset analysed.
    pub dataset: Dataset,
    /// The settings it ran under.
    pub settings: Settings,
    /// What was computed.
    pub plan: Plan,
    /// The checked model options of every fit.
    pub opts: ValidRmaOptions,
    /// The pooled rows and their effect sizes.
    pub rows: EffectRows,
    /// The pooled fit (`plan.pool`).
    pub pooled: Option<Pooled>,
    /// Spot dataset: all outcomes, three-level model + CR2, or why not
    /// (`plan.all_outcomes`).
    pub all_outcomes: Option<AllOutcomes>,
    /// Spot dataset: the confound flags of every row (`plan.flags`).
    pub flags: Option<Vec<RowFlags>>,
    /// Spot dataset: the sensitivity analyses, small-study rule applied
    /// (`plan.sensitivity`).
    pub sensitivity: Option<Sensitivity>,
    /// Spot dataset: the synthesis without numbers (`plan.vote`).
    pub vote: Option<VoteCount>,
    /// The Bayesian model (`plan.bayes`).
    pub bayes: Option<BayesFindings>,
    /// Why the Bayesian model could not be computed, when the plan allows
    /// that (`plan.bayes_may_fail`).
    pub bayes_not_run: Option<String>,
    /// Diagnostics of the pooled fit, small-study rule applied
    /// (`plan.diagnostics`).
    pub diagnostics: Option<Diagnostics>,
    /// The `plan.subgroups` column's value for each forest-plot row.
    pub subgroups: Option<Vec<String>>,
    /// The model `plan.models` asked for.
    pub models: Option<ModelFit>,
    /// Spot dataset: the review record beside the dataset, when there is
    /// one (`plan.appraisal`).
    pub review: Option<ReviewRecord>,
    /// Spot dataset: GRADE certainty of the primary outcome
    /// (`plan.appraisal`).
    pub grade: Option<GradeFindings>,
}

/// GRADE certainty of the primary outcome, with the input it was derived
/// from (the Summary of Findings table needs both).
#[derive(Debug, Clone, PartialEq)]
pub struct GradeFindings {
    /// Per-study signals and the pooled fit, as GRADE sees them.
    pub input: GradeInput,
    /// The rating, step by step.
    pub grade: Grade,
}

impl Findings {
    /// The three-level fit when the forest plot shows it: it ran, the
    /// small-k rules make it primary, and the plan did not ask for one
    /// outcome per cohort.
    pub fn forest_three_level(&self) -> Option<&ThreeLevel> {
        self.all_outcomes
            .as_ref()
            .filter(|a| a.primary && !self.plan.one_per_study)
            .and_then(|a| a.result.done())
    }

    /// Date of the last literature search: the settings' override, else
    /// the review record's (None for a table without one).
    pub fn search_date(&self) -> Option<String> {
        self.settings
            .search_date
            .clone()
            .or_else(|| self.review.as_ref().map(|r| r.search.date.value.clone()))
    }

    /// The headline of the primary analysis ([`Headline::primary`]), when
    /// the rows were pooled.
    pub fn headline(&self) -> Option<Headline> {
        self.pooled
            .as_ref()
            .map(|p| Headline::primary(&p.fit, self.rows.studies(), self.all_outcomes.as_ref()))
    }
}
