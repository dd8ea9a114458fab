//! Stage 2 — effect sizes: metafor's `escalc()` for the continuous-outcome
//! measures spot-reduction trials need.
//!
//! | measure | design | inputs (metafor names) | module |
//! |---|---|---|---|
//! | `MD` | two groups | m1i, sd1i, n1i, m2i, sd2i, n2i | [`means`] |
//! | `SMD` | two groups (Hedges' g) | same, or a t / p value with n1i, n2i | [`means`] |
//! | `SMCR` | one group pre–post, raw-score standardised | m1i (post), m2i (pre), sd1i (pre), ni, ri | [`change`] |
//! | `SMCC` | paired / within-subject, change-score standardised | m1i, m2i, sd1i, sd2i, ni, ri | [`change`] |
//! | `DPPC2` | pre–post–control, two groups, raw-score (pre-test SD) standardised (Morris 2008) | dataset rows only | [`change`] |
//! | `DWPC` | within-subject pre–post–control (trained vs untrained limb), raw-score standardised | dataset rows only | [`change`] |
//!
//! Every measure belongs to one [`Metric`]: raw-score standardised (SMD,
//! SMCR, DPPC2, DWPC), change-score standardised (SMCC, the d_z metric) or
//! unstandardised (MD). Effect sizes of different metrics are not on one
//! scale (Morris & DeShon 2002, *Psychological Methods* 7:105–125): with a
//! pre–post correlation of 0.9 a d_z is √5 ≈ 2.2 times the raw-score d.
//! [`one_metric`] refuses to pool a mixture.
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

pub use change::{dppc2, dwpc, smcc, smcr};
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
    /// Pre–post–control SMD standardised by the pooled pre-test SD
    /// (Morris 2008, d_ppc2).
    DPPC2,
    /// Within-subject pre–post–control SMD (trained vs untrained limb of the
    /// same people) standardised by the pooled pre-test SD of the two limbs.
    DWPC,
}

impl Measure {
    /// metafor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::MD => "MD",
            Measure::SMD => "SMD",
            Measure::SMCR => "SMCR",
            Measure::SMCC => "SMCC",
            Measure::DPPC2 => "DPPC2",
            Measure::DWPC => "DWPC",
        }
    }

    /// The scale this measure is on (metafor's meaning of each measure;
    /// an SMD computed from change scores is [`Metric::ChangeScore`] and is
    /// marked as such on its [`EffectSize`]).
    pub fn metric(self) -> Metric {
        match self {
            Measure::MD => Metric::Unstandardised,
            Measure::SMCC => Metric::ChangeScore,
            Measure::SMD | Measure::SMCR | Measure::DPPC2 | Measure::DWPC => Metric::RawScore,
        }
    }

    /// A label naming the estimator and its metric, for tables and plots.
    pub fn label(self) -> &'static str {
        match self {
            Measure::MD => "MD (raw units)",
            Measure::SMD => "SMD (Hedges' g)",
            Measure::SMCR => "SMCR (raw-score SMC)",
            Measure::SMCC => "SMCC (change-score SMC, d_z)",
            Measure::DPPC2 => "d_ppc2 (raw-score SMD)",
            Measure::DWPC => "d_wpc (raw-score SMD, within-subject)",
        }
    }
}

/// The scale on which an effect size is standardised. Effects of different
/// metrics must not be pooled together ([`one_metric`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Standardised by a raw-score (pre-test or between-person) SD.
    RawScore,
    /// Standardised by the SD of change scores (d_z; Morris & DeShon 2002).
    ChangeScore,
    /// Not standardised (raw units, e.g. MD).
    Unstandardised,
}

impl Metric {
    /// Short name used in messages and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::RawScore => "raw-score SMD",
            Metric::ChangeScore => "change-score SMD (d_z)",
            Metric::Unstandardised => "unstandardised (raw units)",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one metric shared by every item (label, metric), or an error naming
/// an item of each metric. `None` for an empty list.
///
/// # Examples
/// ```
/// use spotmeta::escalc::{Metric, one_metric};
/// let ok = one_metric([("a", Metric::RawScore), ("b", Metric::RawScore)]).unwrap();
/// assert_eq!(ok, Some(Metric::RawScore));
/// assert!(one_metric([("a", Metric::RawScore), ("b", Metric::ChangeScore)]).is_err());
/// ```
pub fn one_metric<L: fmt::Display>(
    items: impl IntoIterator<Item = (L, Metric)>,
) -> Result<Option<Metric>> {
    let mut first: Option<(String, Metric)> = None;
    for (label, m) in items {
        match &first {
            None => first = Some((label.to_string(), m)),
            Some((l0, m0)) if *m0 != m => {
                return Err(Error::MixedMetrics {
                    first: l0.clone(),
                    first_metric: m0.to_string(),
                    other: label.to_string(),
                    other_metric: m.to_string(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(first.map(|(_, m)| m))
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
            "DPPC2" => Ok(Measure::DPPC2),
            "DWPC" => Ok(Measure::DWPC),
            _ => Err(Error::option(
                "--measure",
                format!("unknown measure `{s}`; use SMD, MD, SMCR, SMCC, DPPC2 or DWPC"),
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
    /// A pre-test SD obtained from a change-score SD:
    /// SD_pre = SD_change / √(2(1 − r)), assuming equal pre and post SDs.
    SdPreFromChangeSd {
        /// Which arm or limb.
        what: String,
        /// The pre–post correlation used.
        r: f64,
        /// Whether r was imputed (not reported).
        imputed: bool,
    },
    /// A change-score standardised d (from a reported t, p, CI or SE)
    /// rescaled to the raw-score metric by the factor SD_change/SD_pre
    /// implied by the correlations (equal SDs assumed).
    ChangeToRawScale {
        /// The factor applied and the correlations behind it.
        what: String,
        /// Whether a correlation behind it was imputed.
        imputed: bool,
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
            Derivation::SdPreFromChangeSd { what, r, imputed } => write!(
                f,
                "{what}: pre-test SD = change SD / sqrt(2(1 - r)) with r = {r}{} (equal pre/post SDs assumed)",
                if *imputed { " (imputed)" } else { "" }
            ),
            Derivation::ChangeToRawScale { what, imputed } => write!(
                f,
                "change-score d rescaled to the raw-score metric: {what}{}",
                if *imputed { " (imputed r)" } else { "" }
            ),
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
    /// The scale it is standardised on (usually `measure.metric()`; an SMD
    /// of change scores is [`Metric::ChangeScore`]).
    pub metric: Metric,
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
                    | Derivation::SdPreFromChangeSd { imputed: true, .. }
                    | Derivation::ChangeToRawScale { imputed: true, .. }
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
