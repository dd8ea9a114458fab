//! Options for [`crate::rma`], checked before any number is computed.
//!
//! `RmaOptions` (what a caller or the CLI supplies) → [`RmaOptions::check`] →
//! [`ValidRmaOptions`] (what the model code trusts). Defaults:
//!
//! | name | default | meaning | range |
//! |---|---|---|---|
//! | `method` | `REML` | τ² estimator (or `FE` for a common-effect model) | see [`Method`] |
//! | `test` | `z` | inference for the pooled effect | `z`, `knha`, `adhoc` |
//! | `level` | `95` | confidence level, percent (or a fraction < 1) | (0, 100) |
//! | `threshold` | `1e-12` | convergence of iterative τ² estimators (change in τ²) | > 0 |
//! | `tol` | `1e-12` | root-finding tolerance (PM, EB fallback, Q-profile) | > 0 |
//! | `maxiter` | `1000` | iteration limit for Fisher scoring / root finding | ≥ 1 |

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Estimator of the between-study variance τ², named as in metafor's `rma(method=)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(into = "String")]
pub enum Method {
    /// Common (fixed) effect model: τ² = 0.
    FE,
    /// DerSimonian–Laird (1986) method-of-moments estimator.
    DL,
    /// Hedges (1983) unweighted method-of-moments estimator.
    HE,
    /// Hunter–Schmidt (2004) estimator.
    HS,
    /// Sidik–Jonkman (2005) estimator.
    SJ,
    /// Maximum likelihood.
    ML,
    /// Restricted maximum likelihood (default, as in metafor).
    #[default]
    REML,
    /// Empirical Bayes (Morris 1983; Berkey et al. 1995).
    EB,
    /// Paule–Mandel (1982) generalised Q estimator.
    PM,
}

impl Method {
    /// Every method, in metafor's documentation order.
    pub const ALL: [Method; 9] = [
        Method::FE,
        Method::DL,
        Method::HE,
        Method::HS,
        Method::SJ,
        Method::ML,
        Method::REML,
        Method::EB,
        Method::PM,
    ];

    /// metafor's name for the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::FE => "FE",
            Method::DL => "DL",
            Method::HE => "HE",
            Method::HS => "HS",
            Method::SJ => "SJ",
            Method::ML => "ML",
            Method::REML => "REML",
            Method::EB => "EB",
            Method::PM => "PM",
        }
    }

    /// A phrase for printed output, e.g. "REML estimator".
    pub fn description(self) -> &'static str {
        match self {
            Method::FE => "common-effect (fixed-effect) model",
            Method::DL => "DerSimonian-Laird estimator",
            Method::HE => "Hedges estimator",
            Method::HS => "Hunter-Schmidt estimator",
            Method::SJ => "Sidik-Jonkman estimator",
            Method::ML => "maximum-likelihood estimator",
            Method::REML => "restricted maximum-likelihood estimator",
            Method::EB => "empirical Bayes estimator",
            Method::PM => "Paule-Mandel estimator",
        }
    }
}

impl From<Method> for String {
    fn from(m: Method) -> String {
        m.as_str().to_string()
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let up = s.trim().to_ascii_uppercase();
        let m = match up.as_str() {
            "FE" | "EE" | "CE" => Method::FE,
            "DL" => Method::DL,
            "HE" => Method::HE,
            "HS" => Method::HS,
            "SJ" => Method::SJ,
            "ML" => Method::ML,
            "REML" => Method::REML,
            "EB" => Method::EB,
            "PM" => Method::PM,
            _ => {
                return Err(Error::option(
                    "--method",
                    format!(
                        "unknown method `{s}`; use one of FE, DL, HE, HS, SJ, ML, REML, EB, PM"
                    ),
                ));
            }
        };
        Ok(m)
    }
}

/// How the pooled effect is tested and its CI built (metafor's `test=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(into = "String")]
pub enum TestKind {
    /// Wald-type z test and normal-quantile intervals.
    #[default]
    Z,
    /// Knapp–Hartung (2003): variance scaled by the weighted residual mean square, t(k−1).
    Knha,
    /// Knapp–Hartung with the scaling factor truncated below at 1 (metafor's `adhoc`).
    Adhoc,
}

impl TestKind {
    /// metafor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TestKind::Z => "z",
            TestKind::Knha => "knha",
            TestKind::Adhoc => "adhoc",
        }
    }

    /// Whether inference uses the t distribution with k − 1 df.
    pub fn uses_t(self) -> bool {
        !matches!(self, TestKind::Z)
    }
}

impl From<TestKind> for String {
    fn from(t: TestKind) -> String {
        t.as_str().to_string()
    }
}

impl fmt::Display for TestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TestKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "z" => Ok(TestKind::Z),
            "knha" | "hksj" => Ok(TestKind::Knha),
            "adhoc" => Ok(TestKind::Adhoc),
            _ => Err(Error::option(
                "--test",
                format!("unknown test `{s}`; use z, knha or adhoc"),
            )),
        }
    }
}

/// Unchecked model options (see the module table for defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmaOptions {
    /// τ² estimator.
    pub method: Method,
    /// Test / CI method for the pooled effect.
    pub test: TestKind,
    /// Confidence level in percent (95) or as a fraction (0.95).
    pub level: f64,
    /// Convergence threshold on the change in τ² between iterations.
    pub threshold: f64,
    /// Absolute tolerance of root finding.
    pub tol: f64,
    /// Iteration limit.
    pub maxiter: u32,
}

impl Default for RmaOptions {
    fn default() -> Self {
        RmaOptions {
            method: Method::REML,
            test: TestKind::Z,
            level: 95.0,
            threshold: 1e-12,
            tol: 1e-12,
            maxiter: 1000,
        }
    }
}

/// Checked options: `level` is stored as the fraction `1 − α`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidRmaOptions {
    pub(crate) method: Method,
    pub(crate) test: TestKind,
    pub(crate) level: f64,
    pub(crate) threshold: f64,
    pub(crate) tol: f64,
    pub(crate) maxiter: u32,
    /// z_{1−α/2}, computed once here rather than in every fit.
    pub(crate) z_crit: f64,
}

impl ValidRmaOptions {
    /// τ² estimator.
    pub fn method(&self) -> Method {
        self.method
    }
    /// Test kind.
    pub fn test(&self) -> TestKind {
        self.test
    }
    /// Confidence level as a fraction (e.g. 0.95).
    pub fn level(&self) -> f64 {
        self.level
    }
    /// The same options with another method (already valid).
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }
    /// The same options with another test (already valid).
    pub fn with_test(mut self, test: TestKind) -> Self {
        self.test = test;
        self
    }
}

/// A level given in percent (95) or as a fraction (0.95), as a fraction;
/// `kind` ("confidence", "credible") names it in the error.
pub(crate) fn level_fraction(level: f64, kind: &str) -> Result<f64> {
    if level > 0.0 && level < 1.0 {
        Ok(level)
    } else if (1.0..100.0).contains(&level) {
        Ok(level / 100.0)
    } else {
        Err(Error::option(
            "--level",
            format!("{level} is not a {kind} level; give a percentage in (0, 100), e.g. 95"),
        ))
    }
}

impl RmaOptions {
    /// Validate the options.
    pub fn check(&self) -> Result<ValidRmaOptions> {
        let level = level_fraction(self.level, "confidence")?;
        if !(self.threshold > 0.0 && self.threshold.is_finite()) {
            return Err(Error::option("threshold", "must be a positive number"));
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(Error::option("tol", "must be a positive number"));
        }
        if self.maxiter == 0 {
            return Err(Error::option("maxiter", "must be at least 1"));
        }
        Ok(ValidRmaOptions {
            method: self.method,
            test: self.test,
            level,
            threshold: self.threshold,
            tol: self.tol,
            maxiter: self.maxiter,
            z_crit: crate::dist::qnorm(1.0 - (1.0 - level) / 2.0),
        })
    }
}

impl Default for ValidRmaOptions {
    fn default() -> Self {
        RmaOptions::default().check().expect("defaults are valid")
    }
}
