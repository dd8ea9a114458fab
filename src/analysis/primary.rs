//! The primary analysis of the spot-reduction dataset (issue #3): raw-score
//! standardised mean differences (d_ppc2 / d_wpc, one metric, issue #16),
//! one pre-specified primary outcome per study (and cohort), exercise
//! interventions, pooled with REML and Knapp–Hartung, with a prediction
//! interval. Every row that is not pooled is listed with the reason.

use crate::analysis::{Tau2Ci, confint_or_why};
use crate::data::{InterventionType, OutcomeType, SpotDataset, SpotRow, Status};
use crate::error::Result;
use crate::escalc::EffectSize;
use crate::escalc::spot::{SpotOptions, spot_effect};
use crate::model::{RmaFit, ValidRmaOptions, rma};
use serde::Serialize;

/// A row that enters the pooled estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsedRow {
    /// Line in the dataset file.
    pub line: u64,
    /// `study_id`.
    pub study_id: String,
    /// Display label (label + cohort).
    pub label: String,
    /// Region and method, e.g. "trunk DEXA".
    pub outcome: String,
    /// Publication year.
    pub year: u32,
    /// Participants (trained + comparison arm; within-subject: participants).
    pub n: Option<u32>,
    /// The effect size and how it was obtained.
    pub effect: EffectSize,
}

impl UsedRow {
    /// A dataset row with its computed effect size.
    pub(crate) fn new(row: &SpotRow, effect: EffectSize) -> Self {
        UsedRow {
            line: row.line,
            study_id: row.study_id.clone(),
            label: row.display_label(),
            outcome: row.outcome_label(),
            year: row.year,
            n: participants(row),
            effect,
        }
    }
}

/// A row that does not enter the pooled estimate, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftOut {
    /// Line in the dataset file.
    pub line: u64,
    /// Display label.
    pub label: String,
    /// Region and method, for telling a study's rows apart.
    pub outcome: String,
    /// Why it is not pooled.
    pub reason: String,
}

/// Which rows are pooled and which are not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// Rows pooled, in file order.
    pub used: Vec<UsedRow>,
    /// Rows left out, in file order.
    pub left_out: Vec<LeftOut>,
}

impl Selection {
    /// Effect sizes of the used rows.
    pub fn yi(&self) -> Vec<f64> {
        self.used.iter().map(|u| u.effect.yi).collect()
    }
    /// Sampling variances of the used rows.
    pub fn vi(&self) -> Vec<f64> {
        self.used.iter().map(|u| u.effect.vi).collect()
    }
    /// Distinct studies (`study_id`) among the used rows: the "studies" of
    /// [`crate::analysis::rules::k_clause`].
    pub fn studies(&self) -> usize {
        let mut ids: Vec<&str> = self.used.iter().map(|u| u.study_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
    /// The one metric of the used rows, or [`crate::Error::MixedMetrics`]
    /// (issue #16: effects of different metrics are never pooled together).
    pub fn metric(&self) -> Result<Option<crate::escalc::Metric>> {
        crate::escalc::one_metric(self.used.iter().map(|u| {
            (
                format!("line {} ({}, {})", u.line, u.label, u.effect.measure),
                u.effect.metric,
            )
        }))
    }
}

/// Participants in a row (parallel: both arms; otherwise the trained arm).
fn participants(row: &SpotRow) -> Option<u32> {
    match row.design {
        Some(crate::data::Design::Parallel) => Some(row.n_trained? + row.n_control?),
        _ => row.n_trained,
    }
}

/// Select the primary-analysis rows and compute their effect sizes.
pub fn select_primary(ds: &SpotDataset, opts: &SpotOptions) -> Selection {
    let mut used = Vec::new();
    let mut left_out = Vec::new();
    for row in &ds.rows {
        let skip = |reason: String| LeftOut {
            line: row.line,
            label: row.display_label(),
            outcome: row.outcome_label(),
            reason,
        };
        let reason = if row.status != Status::Included {
            Some(format!("{}: {}", row.status, row.status_reason))
        } else if row.outcome_type != OutcomeType::RegionalFat {
            Some(format!("outcome type {} is not pooled", row.outcome_type))
        } else if !row.primary {
            Some("secondary outcome (not the study's primary outcome)".to_string())
        } else if row.intervention_type != InterventionType::Exercise {
            Some(format!(
                "{} intervention: not part of the exercise analysis",
                row.intervention_type
            ))
        } else {
            None
        };
        if let Some(r) = reason {
            left_out.push(skip(r));
            continue;
        }
        match spot_effect(row, opts) {
            Ok(effect) => used.push(UsedRow::new(row, effect)),
            Err(why) => left_out.push(skip(format!("no effect size: {why}"))),
        }
    }
    Selection { used, left_out }
}

/// The primary analysis: selection, fit and Q-profile CI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrimaryAnalysis {
    /// Rows used and left out.
    pub selection: Selection,
    /// The fitted model.
    pub fit: RmaFit,
    /// Q-profile CI for τ² (None for FE, k = 1, or when it failed).
    pub tau2_ci: Option<Tau2Ci>,
    /// "not computed: …" with the reason when the Q-profile CI failed (the fit stands).
    pub tau2_ci_why: Option<String>,
}

/// Run the primary analysis on a loaded dataset.
pub fn primary_analysis(
    ds: &SpotDataset,
    spot: &SpotOptions,
    opts: &ValidRmaOptions,
) -> Result<PrimaryAnalysis> {
    let selection = select_primary(ds, spot);
    selection.metric()?;
    let (yi, vi) = (selection.yi(), selection.vi());
    let fit = rma(&yi, &vi, opts)?;
    let (tau2_ci, tau2_ci_why) = confint_or_why(&yi, &vi, &fit, 1e-12);
    Ok(PrimaryAnalysis {
        selection,
        fit,
        tau2_ci,
        tau2_ci_why,
    })
}
