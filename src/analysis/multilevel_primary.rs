//! All outcomes, three-level model + CR2 (issue #8): every included exercise
//! regional-fat row with a computable effect size (primary or not), clustered
//! by `study_id`, pooled with the three-level model (metafor
//! `rma.mv(yi, vi, random = ~ 1 | study_id/outcome)`, REML, profile CIs for
//! σ²) and cluster-robust CR2 inference with Satterthwaite df (metafor
//! `robust(..., clubSandwich = TRUE)`).
//!
//! It is the report's primary analysis when it can run (at least 2 studies
//! and more rows than studies) and is identified and stable under the
//! review's small-k rules ([`crate::analysis::rules`], issue #16: at least 4
//! studies and CR2 df ≥ 4); otherwise the one-outcome-per-cohort REML +
//! Knapp–Hartung analysis ([`crate::analysis::primary`]) is primary and this
//! one states exactly why it did not run or why it is only a sensitivity
//! analysis.

use super::diagnostics::Outcome;
use super::primary::UsedRow;
use super::rules::ReviewRules;
use crate::data::{InterventionType, OutcomeType, SpotDataset, Status};
use crate::dist;
use crate::error::{Error, Result};
use crate::escalc::spot::{SpotOptions, spot_effect};
use crate::model::mods::Design;
use crate::model::multilevel::{Clusters, MultilevelFit, rma_multilevel, weights_percent};
use crate::model::robust::{RobustFit, robust_multilevel};
use crate::model::{Method, TestKind, ValidRmaOptions};
use serde::Serialize;

/// The three-level fit with its CR2 inference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreeLevel {
    /// REML three-level fit (σ² between and within studies, profile CIs).
    pub fit: MultilevelFit,
    /// CR2 cluster-robust inference on the pooled estimate.
    pub robust: RobustFit,
    /// Prediction interval (metafor `predict()` on the robust fit):
    /// β̂ ± t(df; 1 − α/2)·√(SE²_CR2 + σ²₁ + σ²₂), df the Satterthwaite df.
    pub pi: (f64, f64),
    /// Forest-plot weights of the rows in percent (metafor `weights()`).
    pub weights: Vec<f64>,
}

impl ThreeLevel {
    /// Fit the intercept-only three-level model and its CR2 inference. The
    /// model is always REML with z tests (metafor rma.mv's defaults, the
    /// analysis this report section documents); inference on the pooled
    /// effect comes from CR2 with Satterthwaite df, whatever the `--test` of
    /// the univariate analysis. Only the confidence level is taken from `opts`.
    pub fn fit(yi: &[f64], vi: &[f64], cl: &Clusters, opts: &ValidRmaOptions) -> Result<Self> {
        let opts = &opts.with_method(Method::REML).with_test(TestKind::Z);
        let x = Design::intercept_only(yi.len());
        let fit = rma_multilevel(yi, vi, &x, cl, opts)?;
        let robust = robust_multilevel(yi, vi, &x, cl, &fit)?;
        let (est, se, df) = (robust.beta[0], robust.se[0], robust.df[0]);
        let crit = dist::qt(1.0 - (1.0 - fit.level) / 2.0, df);
        let half = crit * (se * se + fit.sigma2[0] + fit.sigma2[1]).sqrt();
        let weights = weights_percent(vi, cl, fit.sigma2).ok_or_else(|| {
            Error::Unsupported("the fitted marginal covariance is not positive definite".into())
        })?;
        Ok(ThreeLevel {
            fit,
            robust,
            pi: (est - half, est + half),
            weights,
        })
    }
}

/// The all-outcomes analysis, or why it could not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllOutcomes {
    /// Rows with a computable effect size (all outcomes), in file order.
    pub rows: Vec<UsedRow>,
    /// Distinct studies among them.
    pub studies: usize,
    /// Whether this is the primary analysis (it ran and passed the small-k
    /// rules).
    pub primary: bool,
    /// Why a fit that ran is not primary (small-k rules), else None.
    pub why_not_primary: Option<String>,
    /// The fit, or the reason it was not run.
    pub result: Outcome<ThreeLevel>,
}

/// Every included exercise regional-fat row with a computable effect size
/// (primary or not), in file order.
pub fn select_all_outcomes(ds: &SpotDataset, spot: &SpotOptions) -> Vec<UsedRow> {
    ds.rows
        .iter()
        .filter(|r| {
            r.status == Status::Included
                && r.outcome_type == OutcomeType::RegionalFat
                && r.intervention_type == InterventionType::Exercise
        })
        .filter_map(|r| Some(UsedRow::new(r, spot_effect(r, spot).ok()?)))
        .collect()
}

/// Select every outcome ([`select_all_outcomes`]), fit the three-level
/// model + CR2 (intercept only) and decide with `rules` whether it is the
/// primary analysis.
pub fn all_outcomes(
    ds: &SpotDataset,
    spot: &SpotOptions,
    opts: &ValidRmaOptions,
    rules: &ReviewRules,
) -> Result<AllOutcomes> {
    let rows = select_all_outcomes(ds, spot);
    crate::escalc::one_metric(
        rows.iter()
            .map(|u| (format!("line {} ({})", u.line, u.label), u.effect.metric)),
    )?;
    let ids: Vec<String> = rows.iter().map(|r| r.study_id.clone()).collect();
    let cl = Clusters::from_labels(&ids);
    let (k, studies) = (rows.len(), cl.len());
    let reason = if studies < 2 {
        Some(format!(
            "needs at least 2 studies with computable outcomes; today {studies}"
        ))
    } else if k <= studies {
        Some(format!(
            "needs more outcomes than studies (some study with two or more outcomes) to separate the two variance components; today {}",
            super::rules::k_clause(k, studies)
        ))
    } else {
        None
    };
    let result = match reason {
        Some(reason) => Outcome::NotRun { reason },
        None => {
            let yi: Vec<f64> = rows.iter().map(|r| r.effect.yi).collect();
            let vi: Vec<f64> = rows.iter().map(|r| r.effect.vi).collect();
            match ThreeLevel::fit(&yi, &vi, &cl, opts) {
                Ok(t) => Outcome::Done(t),
                Err(Error::Unsupported(reason)) => Outcome::NotRun { reason },
                Err(e) => return Err(e),
            }
        }
    };
    let why_not_primary = result
        .done()
        .and_then(|t| rules.three_level_not_primary(t.robust.clusters, t.robust.df[0]));
    Ok(AllOutcomes {
        primary: result.done().is_some() && why_not_primary.is_none(),
        why_not_primary,
        rows,
        studies,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load_spot;
    use crate::model::{Method, RmaOptions, TestKind};
    use std::path::Path;

    fn opts() -> ValidRmaOptions {
        RmaOptions {
            method: Method::REML,
            test: TestKind::Knha,
            ..Default::default()
        }
        .check()
        .unwrap()
    }

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// Today's dataset: both computable outcomes come from Walts 2008, so the
    /// three-level model cannot run, and the reason says so.
    #[test]
    fn bundled_dataset_has_one_study_and_says_why() {
        let ds = load_spot(&root().join("datasets/spot_reduction.csv")).unwrap();
        let a = all_outcomes(
            &ds,
            &SpotOptions::default(),
            &opts(),
            &ReviewRules::default(),
        )
        .unwrap();
        assert!(!a.primary);
        assert_eq!((a.rows.len(), a.studies), (2, 1));
        match &a.result {
            Outcome::NotRun { reason } => assert_eq!(
                reason,
                "needs at least 2 studies with computable outcomes; today 1"
            ),
            Outcome::Done(_) => panic!("should not run"),
        }
    }

    /// tests/fixtures/three_level.csv: 10 outcomes from 5 studies, so the
    /// model runs (numbers against metafor in tests/report.rs); its CR2 df
    /// is 3.98 (metafor/clubSandwich, fixtures/three_level_report.json), so
    /// under the default rules it is a sensitivity analysis, and primary once
    /// the df threshold is lowered below 3.97.
    #[test]
    fn several_outcomes_per_study_give_a_three_level_fit_with_cr2() {
        let ds = load_spot(&root().join("tests/fixtures/three_level.csv")).unwrap();
        let a = all_outcomes(
            &ds,
            &SpotOptions::default(),
            &opts(),
            &ReviewRules::default(),
        )
        .unwrap();
        assert_eq!((a.rows.len(), a.studies), (10, 5));
        assert!(!a.primary);
        assert!(
            a.why_not_primary
                .as_deref()
                .unwrap()
                .starts_with("CR2 Satterthwaite df = 3.97, below 4")
        );
        let lowered = ReviewRules {
            min_cr2_df: 3.9,
            ..ReviewRules::default()
        };
        let b = all_outcomes(&ds, &SpotOptions::default(), &opts(), &lowered).unwrap();
        assert!(b.primary && b.why_not_primary.is_none());
        let t = a.result.done().expect("the model runs");
        assert_eq!((t.fit.k, t.fit.clusters, t.robust.clusters), (10, 5, 5));
        assert_eq!(t.weights.len(), 10);
        assert!((t.weights.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        let r = &t.robust;
        assert!(t.pi.0 < r.ci_lb[0] && r.ci_ub[0] < t.pi.1);
    }
}
