//! Predicted pooled effect with confidence and prediction interval, as
//! metafor's `predict.rma()` computes them for an intercept-only model, with an
//! optional back-transformation (metafor's `transf`), e.g. `exp` for log ratios.

use super::RmaFit;
use serde::Serialize;

/// metafor's `predict()` output for the pooled effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// Predicted (pooled) value.
    pub pred: f64,
    /// Its standard error (before any transformation).
    pub se: f64,
    /// Confidence interval.
    pub ci_lb: f64,
    /// Confidence interval.
    pub ci_ub: f64,
    /// Prediction interval.
    pub pi_lb: f64,
    /// Prediction interval.
    pub pi_ub: f64,
}

/// The pooled prediction of `fit`, with every value passed through `transf`.
pub fn predict(fit: &RmaFit, transf: impl Fn(f64) -> f64) -> Prediction {
    Prediction {
        pred: transf(fit.estimate),
        se: fit.se,
        ci_lb: transf(fit.ci_lb),
        ci_ub: transf(fit.ci_ub),
        pi_lb: transf(fit.pi_lb),
        pi_ub: transf(fit.pi_ub),
    }
}
