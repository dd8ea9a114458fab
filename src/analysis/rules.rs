//! Small-k rules of the review (issue #16): when the three-level + CR2 model
//! may be the primary analysis, when small-study methods run, and the one
//! definition of k and of "study" that every text uses.
//!
//! * **Primary model.** The all-outcomes three-level model with CR2
//!   cluster-robust inference is primary only when it is identified and
//!   stable: at least [`ReviewRules::min_clusters`] studies (clusters) and a
//!   CR2 Satterthwaite df of at least [`ReviewRules::min_cr2_df`]. CR2 tests
//!   with df below 4 do not hold their nominal level (Tipton 2015,
//!   *Psychological Methods* 20:375–393; Tipton & Pustejovsky 2015,
//!   *J Educ Behav Stat* 40:604–634). Otherwise the three-level fit is a
//!   sensitivity row, with the reason printed.
//! * **Small-study methods.** Egger's regression test, trim and fill and the
//!   significance contours of the funnel plot run only with at least
//!   [`ReviewRules::small_study_min_k`] studies: the Cochrane Handbook
//!   (§13.3.5.4) advises against tests for funnel-plot asymmetry with fewer
//!   than 10 studies, because they are too weak to tell chance from
//!   asymmetry. `force_small_study` (`--small-study`) runs them anyway,
//!   labelled underpowered.
//!
//! | name | default | meaning | range |
//! |---|---|---|---|
//! | `min_clusters` | 4 | studies needed for a primary three-level + CR2 model | ≥ 2 |
//! | `min_cr2_df` | 4.0 | CR2 Satterthwaite df needed for it | > 0, finite |
//! | `small_study_min_k` | 10 | studies needed for Egger / trim and fill / contours | ≥ 3 |
//! | `force_small_study` | false | run them below that, labelled underpowered | — |

use crate::error::{Error, Result};
use serde::Serialize;

/// The one definition of k and of "study", printed in the report's methods
/// and documented in README.md and datasets/README.md.
pub const K_DEFINITION: &str = "A study is one `study_id` (one report of one trial; cohorts such as men and women of the same trial are one study, and its outcomes are clustered); a cohort is one `study_id` × `cohort`, and the one-outcome-per-cohort analysis takes one primary outcome from each. k counts effect sizes; it is always printed with the number of studies they come from.";

/// "k = 2 effect sizes from 1 study": the one way every text states k.
pub fn k_clause(k: usize, studies: usize) -> String {
    format!(
        "k = {k} effect size{} from {studies} stud{}",
        if k == 1 { "" } else { "s" },
        if studies == 1 { "y" } else { "ies" }
    )
}

/// Review settings for small k (unchecked; see [`ReviewRules::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReviewRules {
    /// Studies (clusters) needed before the three-level + CR2 model may be
    /// primary.
    pub min_clusters: usize,
    /// CR2 Satterthwaite df needed before it may be primary.
    pub min_cr2_df: f64,
    /// Studies needed before small-study methods run.
    pub small_study_min_k: usize,
    /// Run small-study methods below `small_study_min_k`, labelled
    /// underpowered.
    pub force_small_study: bool,
    /// Largest k at which the report runs leave-one-out, influence and the
    /// cumulative analysis: each refits the model once per study, O(k²)
    /// in all (issue #19); above it they are listed as not run, with the
    /// reason, and remain available as their own commands.
    pub refit_max_k: usize,
}

impl Default for ReviewRules {
    fn default() -> Self {
        ReviewRules {
            min_clusters: 4,
            min_cr2_df: 4.0,
            small_study_min_k: 10,
            force_small_study: false,
            refit_max_k: 2_000,
        }
    }
}

impl ReviewRules {
    /// Check the settings.
    ///
    /// # Errors
    ///
    /// [`Error::Option`] naming the flag when a threshold is out of range.
    pub fn check(self) -> Result<Self> {
        if self.min_clusters < 2 {
            return Err(opt(
                "--min-clusters",
                format!(
                    "{}: a three-level model needs at least 2 studies; give 2 or more",
                    self.min_clusters
                ),
            ));
        }
        if !(self.min_cr2_df.is_finite() && self.min_cr2_df > 0.0) {
            return Err(opt(
                "--min-cr2-df",
                format!(
                    "{}: give a positive number of degrees of freedom",
                    self.min_cr2_df
                ),
            ));
        }
        if self.small_study_min_k < 3 {
            return Err(opt(
                "--small-study-min-k",
                format!(
                    "{}: Egger's test needs at least 3 studies; give 3 or more",
                    self.small_study_min_k
                ),
            ));
        }
        Ok(self)
    }

    /// Why a three-level + CR2 fit on `clusters` studies with Satterthwaite
    /// df `df` may not be primary, or `None` when it may.
    pub fn three_level_not_primary(&self, clusters: usize, df: f64) -> Option<String> {
        let why = if clusters < self.min_clusters {
            format!(
                "CR2 on {clusters} studies (clusters), fewer than {}",
                self.min_clusters
            )
        } else if df.is_nan() || df < self.min_cr2_df {
            format!(
                "CR2 Satterthwaite df = {df:.2}, below {}",
                fmt_threshold(self.min_cr2_df)
            )
        } else {
            return None;
        };
        Some(format!(
            "{why}; CR2 inference with df below 4 is unreliable (Tipton 2015), so it is a sensitivity analysis"
        ))
    }

    /// Whether small-study methods run on `studies` studies, and whether
    /// they are then underpowered: `Err(reason)` when they do not run,
    /// `Ok(true)` when they run on request below the threshold.
    pub fn small_study(&self, studies: usize) -> std::result::Result<bool, String> {
        if studies >= self.small_study_min_k {
            Ok(false)
        } else if self.force_small_study {
            Ok(true)
        } else {
            Err(format!(
                "only {studies} stud{} (fewer than {}); the Cochrane Handbook (§13.3.5.4) advises against small-study tests below 10 studies; `--small-study` runs them anyway, labelled underpowered",
                if studies == 1 { "y" } else { "ies" },
                self.small_study_min_k
            ))
        }
    }
}

fn opt(option: &str, message: String) -> Error {
    Error::Option {
        option: option.into(),
        message,
    }
}

fn fmt_threshold(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case: CR2 on 2 clusters with df = 1.00 is not primary.
    #[test]
    fn two_clusters_are_never_primary() {
        let r = ReviewRules::default();
        let why = r.three_level_not_primary(2, 1.0).unwrap();
        assert!(why.starts_with("CR2 on 2 studies (clusters), fewer than 4"));
        assert!(why.contains("Tipton 2015"));
    }

    #[test]
    fn thresholds_are_inclusive_at_four_clusters_and_df_four() {
        let r = ReviewRules::default();
        assert_eq!(r.three_level_not_primary(4, 4.0), None);
        assert!(r.three_level_not_primary(3, 40.0).is_some());
        let why = r.three_level_not_primary(5, 3.98).unwrap();
        assert!(why.starts_with("CR2 Satterthwaite df = 3.98, below 4"));
        assert!(r.three_level_not_primary(10, f64::NAN).is_some());
    }

    #[test]
    fn small_study_methods_need_ten_studies_unless_forced() {
        let r = ReviewRules::default();
        assert_eq!(r.small_study(10), Ok(false));
        let why = r.small_study(9).unwrap_err();
        assert!(why.contains("fewer than 10") && why.contains("§13.3.5.4"));
        let forced = ReviewRules {
            force_small_study: true,
            ..r
        };
        assert_eq!(forced.small_study(3), Ok(true));
        assert_eq!(forced.small_study(12), Ok(false));
    }

    #[test]
    fn out_of_range_settings_are_refused_with_the_flag() {
        let bad = |r: ReviewRules| r.check().unwrap_err().to_string();
        let d = ReviewRules::default();
        assert!(
            bad(ReviewRules {
                min_clusters: 1,
                ..d
            })
            .contains("--min-clusters")
        );
        assert!(
            bad(ReviewRules {
                min_cr2_df: 0.0,
                ..d
            })
            .contains("--min-cr2-df")
        );
        assert!(
            bad(ReviewRules {
                small_study_min_k: 2,
                ..d
            })
            .contains("--small-study-min-k")
        );
        assert!(d.check().is_ok());
    }

    #[test]
    fn k_clause_spells_effect_sizes_and_studies() {
        assert_eq!(k_clause(2, 1), "k = 2 effect sizes from 1 study");
        assert_eq!(k_clause(1, 1), "k = 1 effect size from 1 study");
        assert_eq!(k_clause(10, 5), "k = 10 effect sizes from 5 studies");
    }
}
