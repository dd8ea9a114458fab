//! Estimators of the between-study variance τ² (metafor's `rma(method=)`).
//!
//! One file per family, each citing its paper. All take the effect sizes and
//! sampling variances as slices and allocate nothing. Each returns τ² (already
//! truncated at 0, as metafor does), its standard error as metafor computes it
//! for that estimator, and how the answer was reached.

mod dl;
mod global;
mod he;
mod hs;
mod likelihood;
mod pm;
mod sj;

pub(crate) use dl::dl_sums;
pub(crate) use he::he_sums;
pub(crate) use hs::hs_sums;
pub(crate) use sj::sj_sums;

use super::options::{Method, ValidRmaOptions};
use super::sums::{Pool, Sums};
use crate::error::Result;
use serde::Serialize;

/// How an estimate was reached (reported so users can see what happened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvergencePath {
    /// No iteration needed (closed-form estimator, or τ² fixed at 0).
    ClosedForm,
    /// Fisher scoring (Newton steps where the objective is locally concave)
    /// converged with full steps.
    FisherScoring,
    /// Fisher/Newton scoring converged after at least one halved step.
    FisherScoringStepHalving,
    /// Fisher scoring failed; a bracketed 1-D search on the score equation converged.
    Bracketed,
    /// A bracketed root search (Brent) converged.
    RootFinding,
    /// The estimate is on the boundary τ² = 0 (objective decreasing from 0).
    Boundary,
    /// Fisher scoring found a local maximum; the global search over
    /// [0, ∞) found a higher one, which is reported.
    GlobalSearch,
}

impl ConvergencePath {
    /// The name JSON and the batch `convergence` column use (snake case).
    pub fn as_str(self) -> &'static str {
        match self {
            ConvergencePath::ClosedForm => "closed_form",
            ConvergencePath::FisherScoring => "fisher_scoring",
            ConvergencePath::FisherScoringStepHalving => "fisher_scoring_step_halving",
            ConvergencePath::Bracketed => "bracketed",
            ConvergencePath::RootFinding => "root_finding",
            ConvergencePath::Boundary => "boundary",
            ConvergencePath::GlobalSearch => "global_search",
        }
    }

    /// A short phrase for printed output.
    pub fn describe(self) -> &'static str {
        match self {
            ConvergencePath::ClosedForm => "closed form",
            ConvergencePath::FisherScoring => "Fisher/Newton scoring",
            ConvergencePath::FisherScoringStepHalving => "Fisher/Newton scoring with step halving",
            ConvergencePath::Bracketed => "bracketed search (Fisher scoring fallback)",
            ConvergencePath::RootFinding => "root finding (Brent)",
            ConvergencePath::Boundary => "boundary (tau^2 = 0)",
            ConvergencePath::GlobalSearch => {
                "global search (Fisher scoring stopped at a lower local maximum)"
            }
        }
    }
}

/// Result of a τ² estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tau2Estimate {
    pub tau2: f64,
    pub se_tau2: Option<f64>,
    pub iterations: u32,
    pub path: ConvergencePath,
    /// The pooling sums at the final τ².
    pub pool: Pool,
    /// When the likelihood has more than one local maximum: the best other
    /// one and the global one, as (τ², ℓ, τ̂², ℓ̂) on the working scale.
    pub other_maximum: Option<(f64, f64, f64, f64)>,
}

impl Tau2Estimate {
    /// A closed-form estimate: sums at τ² computed from the inverse-variance
    /// sums `fe` (reused when τ² = 0).
    #[inline]
    pub(crate) fn closed_form(
        yi: &[f64],
        vi: &[f64],
        fe: &Sums,
        tau2: f64,
        se_tau2: Option<f64>,
    ) -> Self {
        Tau2Estimate {
            tau2,
            se_tau2,
            iterations: 0,
            path: ConvergencePath::ClosedForm,
            pool: if tau2 == 0.0 {
                fe.pool()
            } else {
                Pool::near(yi, vi, tau2, fe.mu)
            },
            other_maximum: None,
        }
    }
}

/// Estimate τ² with the method in `opts` (k ≥ 2, all vi > 0 and finite);
/// `fe` holds the sums at τ² = 0 (inverse-variance weights).
#[inline(always)]
pub(crate) fn estimate(
    yi: &[f64],
    vi: &[f64],
    fe: &Sums,
    opts: &ValidRmaOptions,
) -> Result<Tau2Estimate> {
    match opts.method {
        Method::FE => Ok(Tau2Estimate::closed_form(yi, vi, fe, 0.0, None)),
        Method::DL => Ok(dl::dl(yi, vi, fe)),
        Method::HE => Ok(he::he(yi, vi, fe)),
        Method::HS => Ok(hs::hs(yi, vi, fe)),
        Method::SJ => Ok(sj::sj(yi, vi, fe)),
        Method::PM => pm::pm(yi, vi, fe, opts),
        Method::ML | Method::REML | Method::EB => likelihood::fit(yi, vi, fe, opts),
    }
}

/// Hedges' unweighted moment estimate (not truncated): the starting value of
/// Fisher scoring, as in metafor.
pub(crate) fn he_raw(yi: &[f64], vi: &[f64]) -> f64 {
    he::he_untruncated(yi, vi)
}

#[cfg(test)]
mod tests {
    use super::ConvergencePath;

    #[test]
    fn convergence_names_are_the_json_ones() {
        use ConvergencePath::*;
        for c in [
            ClosedForm,
            FisherScoring,
            FisherScoringStepHalving,
            Bracketed,
            RootFinding,
            Boundary,
            GlobalSearch,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
