//! The flat summary of a fit and its Q-profile CIs: every number `rma`
//! reports under metafor's names (`estimate`, `se`, `ci_lb`, …, `tau2`,
//! `I2`, `H2`, `Q`, `Q_df`, `Q_pval`; undefined values are `null`). It is
//! the `rma --format json` object ([`crate::output::json`]) and the result
//! columns of batch pooling ([`crate::batch::RESULT_COLUMNS`]).

use super::Tau2Ci;
use crate::model::{ConvergencePath, RmaFit};
use serde::Serialize;

/// Flat summary of a fit and its Q-profile CIs (the `rma --format json` object).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct RmaSummary {
    /// Number of studies.
    pub k: usize,
    /// τ² estimator (metafor name).
    pub method: String,
    /// Test (z, knha, adhoc).
    pub test: String,
    /// Confidence level in percent.
    pub level: f64,
    /// Pooled estimate.
    #[serde(rename = "beta")]
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Test statistic (z or t).
    pub zval: f64,
    /// Two-sided p-value.
    pub pval: Option<f64>,
    /// Degrees of freedom under knha/adhoc.
    pub ddf: Option<usize>,
    /// CI lower bound.
    pub ci_lb: f64,
    /// CI upper bound.
    pub ci_ub: f64,
    /// Prediction interval lower bound.
    pub pi_lb: f64,
    /// Prediction interval upper bound.
    pub pi_ub: f64,
    /// τ².
    pub tau2: f64,
    /// SE of τ².
    pub se_tau2: Option<f64>,
    /// Q-profile CI for τ².
    pub tau2_ci_lb: Option<f64>,
    /// Q-profile CI for τ².
    pub tau2_ci_ub: Option<f64>,
    /// τ.
    pub tau: f64,
    /// CI for τ.
    pub tau_ci_lb: Option<f64>,
    /// CI for τ.
    pub tau_ci_ub: Option<f64>,
    /// I² (%).
    pub I2: Option<f64>,
    /// CI for I².
    pub I2_ci_lb: Option<f64>,
    /// CI for I².
    pub I2_ci_ub: Option<f64>,
    /// H².
    pub H2: Option<f64>,
    /// CI for H².
    pub H2_ci_lb: Option<f64>,
    /// CI for H².
    pub H2_ci_ub: Option<f64>,
    /// Cochran's Q.
    #[serde(rename = "QE")]
    pub Q: f64,
    /// df of Q.
    #[serde(rename = "QEdf")]
    pub Q_df: usize,
    /// p-value of Q.
    #[serde(rename = "QEp")]
    pub Q_pval: Option<f64>,
    /// Typical within-study variance s².
    pub s2: Option<f64>,
    /// Iterations used for τ².
    pub iterations: u32,
    /// How τ² was obtained.
    pub convergence: ConvergencePath,
    /// Notes for the reader.
    pub notes: Vec<String>,
}

impl RmaSummary {
    /// Build the summary from a fit and its (optional) τ² CI.
    pub fn new(fit: &RmaFit, ci: Option<&Tau2Ci>) -> Self {
        RmaSummary {
            k: fit.k,
            method: fit.method.as_str().into(),
            test: fit.test.as_str().into(),
            level: fit.level * 100.0,
            estimate: fit.estimate,
            se: fit.se,
            zval: fit.zval,
            pval: fit.pval(),
            ddf: fit.ddf,
            ci_lb: fit.ci_lb,
            ci_ub: fit.ci_ub,
            pi_lb: fit.pi_lb,
            pi_ub: fit.pi_ub,
            tau2: fit.tau2,
            se_tau2: fit.se_tau2,
            tau2_ci_lb: ci.map(|c| c.tau2_lb),
            tau2_ci_ub: ci.map(|c| c.tau2_ub),
            tau: fit.tau(),
            tau_ci_lb: ci.map(|c| c.tau_lb),
            tau_ci_ub: ci.map(|c| c.tau_ub),
            I2: fit.i2,
            I2_ci_lb: ci.map(|c| c.i2_lb),
            I2_ci_ub: ci.map(|c| c.i2_ub),
            H2: fit.h2,
            H2_ci_lb: ci.map(|c| c.h2_lb),
            H2_ci_ub: ci.map(|c| c.h2_ub),
            Q: fit.q,
            Q_df: fit.q_df,
            Q_pval: fit.q_pval(),
            s2: fit.s2,
            iterations: fit.iterations,
            convergence: fit.convergence,
            notes: fit.notes().map(|n| n.message().to_string()).collect(),
        }
    }
}
