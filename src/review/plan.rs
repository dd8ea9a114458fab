//! What a review run computes. Each analysis costs time, so a command asks
//! for what it shows: [`Plan::report`] for everything the report shows, the
//! other constructors for one command each.

use super::models::ModelSpec;

/// The analyses of one run; the effect sizes of the pooled rows are always
/// computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Pool the rows: the spot dataset's primary analysis (one outcome per
    /// cohort), or `rma` on a table's rows; with the Q-profile CI for τ².
    pub pool: bool,
    /// Spot dataset: every outcome with the three-level model + CR2, and
    /// whether the small-k rules make it the primary analysis.
    pub all_outcomes: bool,
    /// Spot dataset: the confound flags of every row.
    pub flags: bool,
    /// Spot dataset: the sensitivity analyses, with the leave-one-out,
    /// influence, cumulative, Egger and trim-and-fill battery under the
    /// small-study rule.
    pub sensitivity: bool,
    /// Spot dataset: the synthesis without numbers (sign tests; needs
    /// `pool` and computes the flags).
    pub vote: bool,
    /// The Bayesian random-effects model of the pooled rows.
    pub bayes: bool,
    /// With `bayes`: the same fit under the other τ priors.
    pub bayes_prior_sensitivity: bool,
    /// With `bayes`: a Bayesian fit that cannot be computed is recorded
    /// with its reason ([`super::Findings::bayes_not_run`]) instead of
    /// failing the run: the report is more than its Bayesian line.
    pub bayes_may_fail: bool,
    /// The diagnostics battery of the pooled fit, under the small-study
    /// rule (for the spot dataset, that of the sensitivity analyses).
    pub diagnostics: bool,
    /// Show the one-outcome-per-cohort analysis in the forest plot even when
    /// the three-level model is primary.
    pub one_per_study: bool,
    /// A column whose values group the forest plot's rows (`--by`).
    pub subgroups: Option<String>,
    /// A model fitted on request (`rma --mods`, `--multilevel`, `--robust`).
    pub models: Option<ModelSpec>,
    /// Spot dataset: the appraisal of the evidence, i.e. the review record
    /// beside the dataset (search date, PRISMA counts; read when it exists)
    /// and the GRADE certainty of the primary outcome (needs `pool`).
    pub appraisal: bool,
}

impl Plan {
    /// The pooled fit alone (`rma`, `gosh`).
    pub fn pool() -> Plan {
        Plan {
            pool: true,
            ..Plan::default()
        }
    }

    /// What the forest plot shows: the primary analysis, which is the
    /// all-outcomes three-level model when the small-k rules allow it.
    pub fn forest() -> Plan {
        Plan {
            pool: true,
            all_outcomes: true,
            ..Plan::default()
        }
    }

    /// Everything `spotmeta report` shows.
    pub fn report() -> Plan {
        Plan {
            pool: true,
            all_outcomes: true,
            flags: true,
            sensitivity: true,
            vote: true,
            bayes: true,
            bayes_prior_sensitivity: true,
            bayes_may_fail: true,
            diagnostics: true,
            appraisal: true,
            ..Plan::default()
        }
    }

    /// What the report of `dataset` shows: [`Plan::report`], with the
    /// Bayesian model for the spot dataset only (a plain table's page does
    /// not show it, and at k = 10,000 it alone took 10 s).
    pub fn report_of(dataset: &super::Dataset) -> Plan {
        Plan {
            bayes: dataset.is_spot(),
            ..Plan::report()
        }
    }

    /// The synthesis without numbers (`vote`, `albatross`).
    pub fn vote() -> Plan {
        Plan {
            pool: true,
            flags: true,
            vote: true,
            ..Plan::default()
        }
    }

    /// The confound flags of every row (`flags`).
    pub fn flags() -> Plan {
        Plan {
            flags: true,
            ..Plan::default()
        }
    }

    /// The sensitivity analyses with the diagnostics battery
    /// (`sensitivity`).
    pub fn sensitivity() -> Plan {
        Plan {
            sensitivity: true,
            ..Plan::default()
        }
    }

    /// The Bayesian model, with the other τ priors when
    /// `prior_sensitivity` (`bayes`).
    pub fn bayes(prior_sensitivity: bool) -> Plan {
        Plan {
            bayes: true,
            bayes_prior_sensitivity: prior_sensitivity,
            ..Plan::default()
        }
    }

    /// `rma` with `spec`: a requested model, or (for a plain `spec`) the
    /// pooled fit. On the spot dataset the primary analysis runs either way
    /// (a meta-regression pools its rows).
    pub fn rma(spec: ModelSpec, spot: bool) -> Plan {
        if spec.is_plain() {
            return Plan::pool();
        }
        Plan {
            pool: spot,
            models: Some(spec),
            ..Plan::default()
        }
    }
}
