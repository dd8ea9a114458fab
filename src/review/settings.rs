//! Review settings as data: the model every fit uses, the small-k rules, the
//! confound thresholds, how the spot-reduction effect sizes are computed, the
//! Bayesian model (with the smallest worthwhile effect) and an override of
//! the date of the last literature search. The command line fills them from its flags; a
//! library user starts from [`Settings::default`], which are the review's
//! own settings (and `spotmeta report`'s defaults).
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `model` | REML; knha on the spot dataset, z otherwise; 95% | τ² estimator, test and level of every fit |
//! | `rules` | [`ReviewRules::default`] | when the three-level model is primary; when small-study methods run |
//! | `confounds` | [`ConfoundOptions::default`] | thresholds of the confound flags |
//! | `spot` | [`SpotOptions::default`] | effect sizes of the spot dataset (imputed pre–post r) |
//! | `bayes` | [`BayesOptions::default`] | priors, credible level, smallest worthwhile effect (0.2) |
//! | `search_date` | None | overrides the search date of the review record beside the dataset (`review.toml`, codebook §13), which is where the date lives |

use crate::analysis::confounds::ConfoundOptions;
use crate::analysis::rules::ReviewRules;
use crate::error::Result;
use crate::escalc::spot::SpotOptions;
use crate::model::bayes::BayesOptions;
use crate::model::{Method, RmaOptions, TestKind, ValidRmaOptions};

/// The model every fit of a review uses (metafor `rma(method=, test=,
/// level=)`), unchecked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelChoice {
    /// τ² estimator (FE: common effect).
    pub method: Method,
    /// Test and CI of the pooled effect; `None` takes the dataset's default:
    /// Knapp–Hartung for the spot-reduction dataset (its primary analysis),
    /// z otherwise (as metafor).
    pub test: Option<TestKind>,
    /// Confidence level in percent (or as a fraction).
    pub level: f64,
}

impl Default for ModelChoice {
    fn default() -> Self {
        ModelChoice {
            method: Method::REML,
            test: None,
            level: 95.0,
        }
    }
}

impl ModelChoice {
    /// Checked options, with `default_test` where no test was chosen.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Option`] for a level out of range.
    pub fn options(&self, default_test: TestKind) -> Result<ValidRmaOptions> {
        RmaOptions {
            method: self.method,
            test: self.test.unwrap_or(default_test),
            level: self.level,
            ..Default::default()
        }
        .check()
    }
}

/// Everything a review is run under (unchecked; [`super::run`] checks what
/// it uses). The default is the review's own settings, with no search-date
/// override.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The model of every fit.
    pub model: ModelChoice,
    /// Small-k rules: when the three-level model may be primary, when
    /// small-study methods run.
    pub rules: ReviewRules,
    /// Thresholds of the confound flags.
    pub confounds: ConfoundOptions,
    /// How the spot-reduction effect sizes are computed.
    pub spot: SpotOptions,
    /// The Bayesian random-effects model, with the smallest worthwhile
    /// effect.
    pub bayes: BayesOptions,
    /// Date of the last literature search, overriding the one of the
    /// review record beside the dataset ([`super::Findings::search_date`]).
    pub search_date: Option<String>,
}

impl Settings {
    /// Check every setting a run may use (the model, the small-k rules, the
    /// Bayesian model), so a caller can refuse bad options before reading
    /// any file; [`super::run`] checks them again.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Option`] naming the setting out of range.
    pub fn check(&self) -> Result<()> {
        self.model.options(TestKind::Z)?;
        self.rules.check()?;
        self.bayes.check()?;
        Ok(())
    }
}
