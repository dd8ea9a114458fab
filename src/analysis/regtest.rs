//! Regression test for funnel-plot asymmetry (Egger et al. 1997, *BMJ*
//! 315:629–634), as metafor's `regtest()`: the meta-regression
//! yᵢ = β₀ + β₁·√vᵢ, testing β₁ = 0. `model = "rma"` fits it with the analysis'
//! method and test; `model = "lm"` is Egger's weighted least squares with a
//! multiplicative dispersion, which equals the common-effect fit with the
//! Knapp–Hartung factor (t with k − 2 df). β₀ is the "limit estimate" for a
//! study with SE → 0.

use crate::error::{Error, Result};
use crate::model::{Design, Method, RmaModsFit, TestKind, ValidRmaOptions, rma_mods};
use serde::Serialize;

/// Which regression model (metafor's `model=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegtestModel {
    /// Mixed-effects meta-regression with the analysis' method and test.
    Rma,
    /// Weighted least squares (classic Egger test).
    Lm,
}

/// Result of the regression test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regtest {
    /// Model used.
    pub model: RegtestModel,
    /// Test statistic of the SE coefficient (z, or t).
    pub zval: f64,
    /// Its two-sided p-value.
    pub pval: f64,
    /// Degrees of freedom when the statistic is t.
    pub dfs: Option<usize>,
    /// Limit estimate (intercept).
    pub est: f64,
    /// Its CI.
    pub ci_lb: f64,
    /// Its CI.
    pub ci_ub: f64,
    /// The underlying fit.
    pub fit: RmaModsFit,
}

/// Run the test on `yi`, `vi` (k ≥ 3).
pub fn regtest(
    yi: &[f64],
    vi: &[f64],
    model: RegtestModel,
    opts: &ValidRmaOptions,
) -> Result<Regtest> {
    if yi.len() < 3 {
        return Err(Error::Unsupported(format!(
            "the regression test needs at least 3 studies (k = {})",
            yi.len()
        )));
    }
    let sei: Vec<f64> = vi.iter().map(|v| v.sqrt()).collect();
    let x = Design::with_intercept(&[("sei", &sei)])?;
    let o = match model {
        RegtestModel::Rma => *opts,
        RegtestModel::Lm => opts.with_method(Method::FE).with_test(TestKind::Knha),
    };
    let fit = rma_mods(yi, vi, &x, &o)?;
    Ok(Regtest {
        model,
        zval: fit.zval[1],
        pval: fit.pval[1],
        dfs: fit.qm_df.1,
        est: fit.beta[0],
        ci_lb: fit.ci_lb[0],
        ci_ub: fit.ci_ub[0],
        fit,
    })
}
