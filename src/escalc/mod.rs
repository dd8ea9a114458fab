//! Stage 2 — effect sizes: metafor's `escalc()` for the continuous-outcome
//! measures spot-reduction trials need.
//!
//! | measure | design | inputs (metafor names) | module |
//! |---|---|---|---|
//! | `MD` | two groups | m1i, sd1i, n1i, m2i, sd2i, n2i | [`means`] |
//! | `SMD` | two groups (Hedges' g) | same, or a t / p value with n1i, n2i | [`means`] |
//! | `SMCR` | one group pre–post, raw-score standardised | m1i (post), m2i (pre), sd1i (pre), ni, ri | [`change`] |
//! | `SMCC` | paired / within-subject, change-score standardised | m1i, m2i, sd1i, sd2i, ni, ri | [`change`] |
//!
//! Sign convention: group/condition 1 minus group/condition 2, exactly as
//! metafor. The spot-reduction dataset orders the arms so that a positive
//! value favours spot reduction (see `datasets/README.md`).
//!
//! Conversions of reported statistics (SD from SE, from a CI, t from p, the SD
//! of a change from pre/post SDs and r) are in [`convert`]; every converted or
//! imputed number is recorded as a [`Derivation`] on the [`EffectSize`].

pub mod change;
pub mod convert;
pub mod means;
pub mod pvalue;
pub mod spot;
pub mod table;

use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

pub use change::{smcc, smcr};
pub use means::{md, smd, smd_from_d, smd_from_p, smd_from_t};

/// Effect-size measure (metafor's `measure=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub enum Measure {
    /// Raw mean difference.
    MD,
    /// Standardised mean difference, bias-corrected (Hedges' g).
    SMD,
    /// Standardised mean change, raw-score standardisation.
    SMCR,
    /// Standardised mean change, change-score standardisation.
    SMCC,
}

impl Measure {
    /// metafor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::MD => "MD",
            Measure::SMD => "SMD",
            Measure::SMCR => "SMCR",
            Measure::SMCC => "SMCC",
        }
    }
}

impl From<Measure> for String {
    fn from(m: Measure) -> String {
        m.as_str().to_string()
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Measure {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MD" => Ok(Measure::MD),
            "SMD" => Ok(Measure::SMD),
            "SMCR" => Ok(Measure::SMCR),
            "SMCC" => Ok(Measure::SMCC),
            _ => Err(Error::option(
                "--measure",
                format!("unknown measure `{s}`; use SMD, MD, SMCR or SMCC"),
            )),
        }
    }
}

/// A number that was not taken as reported, and how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Derivation {
    /// SD = SE · √n.
    SdFromSe {
        /// Which value (column) was converted.
        what: String,
    },
    /// SD from a confidence interval of a mean.
    SdFromCi {
        /// Which value was converted.
        what: String,
    },
    /// A t statistic computed from an exact two-sided p-value.
    TFromP {
        /// The p-value used.
        p: f64,
    },
    /// The SD of a change score computed from pre and post SDs and r.
    SdChangeFromPrePost {
        /// Which arm.
        what: String,
        /// The correlation used.
        r: f64,
        /// Whether r was imputed (not reported).
        imputed: bool,
    },
    /// A correlation that was not reported and was imputed.
    ImputedCorrelation {
        /// Which correlation.
        what: String,
        /// The value used.
        r: f64,
    },
    /// The effect size came from a reported between-arm statistic (t, p, CI or SE).
    FromReportedStatistic {
        /// Description of the statistic.
        what: String,
    },
    /// A change mean computed as post − pre.
    ChangeFromPrePost {
        /// Which arm.
        what: String,
    },
}

impl fmt::Display for Derivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Derivation::SdFromSe { what } => write!(f, "{what}: SD = SE*sqrt(n)"),
            Derivation::SdFromCi { what } => write!(f, "{what}: SD from 95% CI"),
            Derivation::TFromP { p } => write!(f, "t from exact p = {p}"),
            Derivation::SdChangeFromPrePost { what, r, imputed } => write!(
                f,
                "{what}: SD of change from pre/post SDs with r = {r}{}",
                if *imputed { " (imputed)" } else { "" }
            ),
            Derivation::ImputedCorrelation { what, r } => write!(f, "{what}: r = {r} imputed"),
            Derivation::FromReportedStatistic { what } => write!(f, "from reported {what}"),
            Derivation::ChangeFromPrePost { what } => write!(f, "{what}: change = post - pre"),
        }
    }
}

/// One computed effect size with its sampling variance and provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectSize {
    /// Effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// Measure used.
    pub measure: Measure,
    /// Every conversion or imputation behind the numbers (empty: as reported).
    pub derivations: Vec<Derivation>,
}

impl EffectSize {
    /// Whether any input number was imputed (not merely converted).
    pub fn is_imputed(&self) -> bool {
        self.derivations.iter().any(|d| {
            matches!(
                d,
                Derivation::ImputedCorrelation { .. }
                    | Derivation::SdChangeFromPrePost { imputed: true, .. }
            )
        })
    }
}

/// Bias-correction factor c(m) of Hedges (1981), in metafor's log-gamma form:
/// c(m) = exp(lnΓ(m/2) − ln√(m/2) − lnΓ((m−1)/2)); `None` for m ≤ 1.
pub fn cmi(m: f64) -> Option<f64> {
    if m <= 1.0 {
        return None;
    }
    Some((dist::ln_gamma(m / 2.0) - (m / 2.0).sqrt().ln() - dist::ln_gamma((m - 1.0) / 2.0)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// c(m) against R: `exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))`
    /// for m = 4, 10, 38, 500 (R, digits = 17).
    #[test]
    fn correction_factor_matches_r() {
        const REL: f64 = 1e-13;
        let cases = [
            (4.0, 0.797_884_560_802_865_3),
            (10.0, 0.922_745_608_053_087),
            (38.0, 0.980_110_402_130_950_4),
            (500.0, 0.998_499_124_437_833_6),
        ];
        for (m, want) in cases {
            let got = cmi(m).unwrap();
            assert!(
                ((got - want) / want).abs() < REL,
                "m = {m}: {got} vs {want}"
            );
        }
        assert!(cmi(1.0).is_none());
    }
}
