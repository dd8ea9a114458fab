//! All outcomes, three-level model + CR2 (issue #8): every included exercise
//! regional-fat row with a computable effect size (primary or not), clustered
//! by `study_id`, pooled with the three-level model (metafor
//! `rma.mv(yi, vi, random = ~ 1 | study_id/outcome)`, REML, profile CIs for
//! σ²) and cluster-robust CR2 inference with Satterthwaite df (metafor
//! `robust(..., clubSandwich = TRUE)`).
//!
//! It is the report's primary analysis when it can run (at least 2 studies
//! and more rows than studies); otherwise the one-outcome-per-study REML +
//! Knapp–Hartung analysis ([`crate::analysis::primary`]) is primary and this
//! one states exactly why it did not run.

use super::diagnostics::Outcome;
use super::primary::{UsedRow, participants};
use crate::data::{InterventionType, OutcomeType, SpotDataset, Status};
use crate::error::{Error, Result};
use crate::escalc::spot::{SpotOptions, spot_effect};
use crate::model::ValidRmaOptions;
use crate::model::mods::Design;
use crate::model::multilevel::{Clusters, MultilevelFit, rma_multilevel};
use crate::model::robust::{RobustFit, robust_multilevel};
use serde::Serialize;

/// The three-level fit with its CR2 inference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreeLevel {
    /// REML three-level fit (σ² between and within studies, profile CIs).
    pub fit: MultilevelFit,
    /// CR2 cluster-robust inference on the pooled estimate.
    pub robust: RobustFit,
}

/// The all-outcomes analysis, or why it could not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllOutcomes {
    /// Rows with a computable effect size (all outcomes), in file order.
    pub rows: Vec<UsedRow>,
    /// Distinct studies among them.
    pub studies: usize,
    /// Whether this is the primary analysis (it ran).
    pub primary: bool,
    /// The fit, or the reason it was not run.
    pub result: Outcome<ThreeLevel>,
}

/// Select every included exercise regional-fat row with a computable effect
/// size and fit the three-level model + CR2 (intercept only).
pub fn all_outcomes(
    ds: &SpotDataset,
    spot: &SpotOptions,
    opts: &ValidRmaOptions,
) -> Result<AllOutcomes> {
    let rows: Vec<UsedRow> = ds
        .rows
        .iter()
        .filter(|r| {
            r.status == Status::Included
                && r.outcome_type == OutcomeType::RegionalFat
                && r.intervention_type == InterventionType::Exercise
        })
        .filter_map(|r| {
            let effect = spot_effect(r, spot).ok()?;
            Some(UsedRow {
                line: r.line,
                study_id: r.study_id.clone(),
                label: r.display_label(),
                year: r.year,
                n: participants(r),
                effect,
            })
        })
        .collect();
    let ids: Vec<String> = rows.iter().map(|r| r.study_id.clone()).collect();
    let cl = Clusters::from_labels(&ids);
    let (k, studies) = (rows.len(), cl.len());
    let reason = if studies < 2 {
        Some(format!(
            "needs at least 2 studies with computable outcomes; today {studies}"
        ))
    } else if k <= studies {
        Some(format!(
            "needs more outcomes than studies (some study with two or more outcomes) to separate the two variance components; today {k} outcomes from {studies} studies"
        ))
    } else {
        None
    };
    let result = match reason {
        Some(reason) => Outcome::NotRun { reason },
        None => {
            let yi: Vec<f64> = rows.iter().map(|r| r.effect.yi).collect();
            let vi: Vec<f64> = rows.iter().map(|r| r.effect.vi).collect();
            let x = Design {
                k,
                p: 1,
                x: vec![1.0; k],
                names: vec!["intrcpt".into()],
            };
            let fitted = rma_multilevel(&yi, &vi, &x, &cl, opts)
                .and_then(|fit| Ok((robust_multilevel(&yi, &vi, &x, &cl, &fit)?, fit)));
            match fitted {
                Ok((robust, fit)) => Outcome::Done(ThreeLevel { fit, robust }),
                Err(Error::Unsupported(reason)) => Outcome::NotRun { reason },
                Err(e) => return Err(e),
            }
        }
    };
    Ok(AllOutcomes {
        primary: matches!(result, Outcome::Done(_)),
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
        let a = all_outcomes(&ds, &SpotOptions::default(), &opts()).unwrap();
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

    /// The sensitivity fixture with a second (secondary, other region)
    /// outcome per study: 8 rows in 4 clusters, so the model runs.
    #[test]
    fn second_outcome_per_study_gives_a_three_level_fit_with_cr2() {
        let text = std::fs::read_to_string(root().join("tests/fixtures/sensitivity.csv")).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let cols: Vec<&str> = header.split(',').collect();
        let at = |name: &str| cols.iter().position(|c| *c == name).unwrap();
        let (primary, region, change) = (at("primary"), at("region"), at("change_mean_t"));
        let mut out = format!("{header}\n");
        let rows: Vec<&str> = lines.collect();
        for l in &rows {
            out += &format!("{l}\n");
        }
        for (i, l) in rows.iter().enumerate() {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            f[primary] = "no".into();
            f[region] = "leg".into();
            // A somewhat different change in the trained group.
            let v: f64 = f[change].parse().unwrap();
            f[change] = format!("{}", v * (0.6 + 0.25 * i as f64));
            out += &(f.join(",") + "\n");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two_outcomes.csv");
        std::fs::write(&path, out).unwrap();
        let ds = load_spot(&path).unwrap();
        let a = all_outcomes(&ds, &SpotOptions::default(), &opts()).unwrap();
        assert_eq!((a.rows.len(), a.studies), (8, 4));
        assert!(a.primary);
        let t = a.result.done().expect("the model runs");
        assert_eq!((t.fit.k, t.fit.clusters, t.robust.clusters), (8, 4, 4));
        assert!(t.fit.sigma2.iter().all(|s| *s >= 0.0));
        let r = &t.robust;
        assert!(r.se[0] > 0.0 && r.df[0] > 0.0);
        assert!(r.ci_lb[0] < t.fit.beta[0] && t.fit.beta[0] < r.ci_ub[0]);
    }
}
