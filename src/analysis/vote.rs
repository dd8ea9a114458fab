//! Synthesis when numbers are missing (issue #9; Cochrane SWiM guidance,
//! Campbell et al. 2020, *BMJ* 368:l6890): every primary outcome of an
//! included exercise trial counts, whether it gave numbers, an exact or
//! bounded p-value, or only a direction.
//!
//! * **Sign test** on the direction of effect (Dixon & Mood 1946, *JASA*
//!   41:557–566). Every result is counted as favours spot reduction,
//!   against, no difference (a tie) or not reported. The primary test is the
//!   exact binomial test of 50 % on the directional results (favour vs
//!   against; ties set aside, the classical sign test), with the
//!   Clopper–Pearson CI for the proportion favouring spot reduction, exactly
//!   as R's `binom.test(x, n)`. Because "no difference" results are mostly
//!   the non-significant ones, dropping them can bias the direction count
//!   (issue #16), so a sensitivity test splits the ties: half of them to
//!   each direction, an odd tie dropped (the even-split rule for ties in the
//!   sign test; Dixon & Mood 1946; compared with other tie rules by Coakley
//!   & Heise 1996, *Biometrics* 52:1242–1251). Both run overall and within
//!   studies with and without an energy-expenditure flag.
//! * **Effect sizes from p-values** ([`crate::escalc::pvalue`]): exact where
//!   an exact p, the direction and n are known; bounds otherwise.
//! * **Agreement**: whether the pooled estimate and the sign test point the
//!   same way.

use super::confounds::RowFlags;
use super::primary::Selection;
use crate::data::{Design, Direction, InterventionType, OutcomeType, SpotDataset, Status};
use crate::dist;
use crate::escalc::pvalue::{GFromP, PValue, g_from_p};
use crate::model::RmaFit;
use serde::Serialize;

/// How a primary outcome enters the synthesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contribution {
    /// Its effect size is in the pooled estimate.
    Pooled,
    /// Only a p-value and/or a direction.
    PValueOrDirection,
    /// Nothing usable was reported.
    Nothing,
}

/// One primary outcome and what it reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Line in the dataset.
    pub line: u64,
    /// `study_id`.
    pub study_id: String,
    /// Display label.
    pub label: String,
    /// Design.
    pub design: Option<Design>,
    /// Participants in the trained arm (within-subject: participants).
    pub n_trained: Option<u32>,
    /// Participants in the comparison arm.
    pub n_control: Option<u32>,
    /// Direction as reported (or, when not reported, the sign of a pooled effect).
    #[serde(serialize_with = "crate::data::schema::Direction::serialize_json")]
    pub direction: Option<Direction>,
    /// The p-value as reported (exact `diff_p`, else `p_text`).
    pub p: Option<PValue>,
    /// Hedges' g or bounds on it implied by the p-value.
    pub g_from_p: Option<GFromP>,
    /// The pooled effect size, when the row has one.
    pub yi: Option<f64>,
    /// How it enters the synthesis.
    pub contribution: Contribution,
    /// Whether the row carries an `EE_*` flag.
    pub ee_flagged: bool,
}

/// The sign test with the ties split: half of the "no difference" results
/// to each direction, an odd one dropped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TiesSplit {
    /// Favouring spot reduction, with half the ties.
    pub favour: u64,
    /// Against, with half the ties.
    pub against: u64,
    /// Ties dropped (0 or 1: the odd one).
    pub dropped: u64,
    /// Proportion favouring spot reduction.
    pub proportion: f64,
    /// Clopper–Pearson CI lower bound.
    pub ci_lb: f64,
    /// Clopper–Pearson CI upper bound.
    pub ci_ub: f64,
    /// Two-sided exact p-value.
    pub pval: f64,
}

/// Exact binomial (sign) test of H₀: proportion = ½ (R `binom.test`) on the
/// directional results, with the ties shown and split in a sensitivity test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignTest {
    /// Results favouring spot reduction.
    pub favour: u64,
    /// Results against.
    pub against: u64,
    /// Results reported as no difference (ties; not in the primary test).
    pub ties: u64,
    /// Results reported without any direction (not counted anywhere).
    pub not_reported: u64,
    /// Proportion favouring spot reduction (None when no result has a direction).
    pub proportion: Option<f64>,
    /// Clopper–Pearson CI lower bound.
    pub ci_lb: Option<f64>,
    /// Clopper–Pearson CI upper bound.
    pub ci_ub: Option<f64>,
    /// Two-sided exact p-value.
    pub pval: Option<f64>,
    /// Sensitivity: the ties split evenly (None when nothing is left).
    pub ties_split: Option<TiesSplit>,
}

/// R's `binom.test(x, n, p = 0.5)`: two-sided p (sum of the probabilities no
/// larger than that of x, with R's relative tolerance 1e-7) and the
/// Clopper–Pearson interval at `level`.
pub fn binom_test(x: u64, n: u64, level: f64) -> (f64, f64, f64) {
    let p0 = 0.5;
    let d = dist::dbinom(x, n, p0);
    let m = n as f64 * p0;
    let rel = 1.0 + 1e-7;
    let pmf = |i: u64| dist::dbinom(i, n, p0);
    let pval = if (x as f64 - m).abs() < f64::EPSILON {
        1.0
    } else {
        (0..=n)
            .map(pmf)
            .filter(|&q| q <= d * rel)
            .sum::<f64>()
            .min(1.0)
    };
    let alpha = 1.0 - level;
    let lb = if x == 0 {
        0.0
    } else {
        dist::qbeta(alpha / 2.0, x as f64, (n - x + 1) as f64)
    };
    let ub = if x == n {
        1.0
    } else {
        dist::qbeta(1.0 - alpha / 2.0, (x + 1) as f64, (n - x) as f64)
    };
    (pval, lb, ub)
}

/// The sign test over `evidence`: exact test on the directional results,
/// and the ties-split sensitivity test.
pub fn sign_test<'a>(evidence: impl IntoIterator<Item = &'a Evidence>, level: f64) -> SignTest {
    let (mut favour, mut against, mut ties, mut none) = (0, 0, 0, 0);
    for e in evidence {
        match e.direction {
            Some(Direction::FavoursSpotReduction) => favour += 1,
            Some(Direction::Against) => against += 1,
            Some(Direction::Null) => ties += 1,
            None => none += 1,
        }
    }
    let half = ties / 2;
    let (sf, sa) = (favour + half, against + half);
    let ties_split = (sf + sa > 0).then(|| {
        let (pval, ci_lb, ci_ub) = binom_test(sf, sf + sa, level);
        TiesSplit {
            favour: sf,
            against: sa,
            dropped: ties % 2,
            proportion: sf as f64 / (sf + sa) as f64,
            ci_lb,
            ci_ub,
            pval,
        }
    });
    let n = favour + against;
    let (pval, lb, ub) = if n > 0 {
        binom_test(favour, n, level)
    } else {
        (f64::NAN, f64::NAN, f64::NAN)
    };
    let some = |v: f64| (n > 0).then_some(v);
    SignTest {
        favour,
        against,
        ties,
        not_reported: none,
        proportion: some(favour as f64 / n.max(1) as f64),
        ci_lb: some(lb),
        ci_ub: some(ub),
        pval: some(pval),
        ties_split,
    }
}

/// The direction-based synthesis of the primary outcomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoteCount {
    /// Every primary outcome of an included exercise trial.
    pub evidence: Vec<Evidence>,
    /// Sign test over all of them.
    pub overall: SignTest,
    /// Sign test within rows with an `EE_*` flag.
    pub ee_flagged: SignTest,
    /// Sign test within rows without one.
    pub ee_unflagged: SignTest,
    /// Rows in the pooled estimate.
    pub n_pooled: usize,
    /// Rows with only a p-value or direction.
    pub n_p_or_direction: usize,
    /// Rows with nothing usable.
    pub n_nothing: usize,
    /// Plain-language statement of how the two views compare.
    pub agreement: String,
}

/// Build the evidence table and the sign tests.
pub fn vote_count(
    ds: &SpotDataset,
    selection: &Selection,
    flags: &[RowFlags],
    fit: Option<&RmaFit>,
    level: f64,
) -> VoteCount {
    let mut evidence = Vec::new();
    let used_by_line = crate::data::ByLine::new(&selection.used, |u| u.line);
    let flags_by_line = crate::data::ByLine::new(flags, |f| f.line);
    for row in &ds.rows {
        if row.status != Status::Included
            || row.outcome_type != OutcomeType::RegionalFat
            || !row.primary
            || row.intervention_type != InterventionType::Exercise
        {
            continue;
        }
        let yi = used_by_line.get(row.line).map(|u| u.effect.yi);
        let p = row
            .diff_p
            .map(PValue::Exact)
            .or_else(|| row.p_text.as_deref().and_then(PValue::parse));
        let direction = match (row.direction, yi) {
            (Some(d), _) => Some(d),
            (None, Some(y)) if y > 0.0 => Some(Direction::FavoursSpotReduction),
            (None, Some(y)) if y < 0.0 => Some(Direction::Against),
            _ => None,
        };
        let g = match (p, row.design, row.n_trained) {
            (Some(p), Some(d), Some(nt)) => {
                let nc = if d == Design::Parallel {
                    row.n_control
                } else {
                    Some(nt)
                };
                nc.and_then(|nc| g_from_p(p, direction, d, nt as f64, nc as f64))
            }
            _ => None,
        };
        let contribution = if yi.is_some() {
            Contribution::Pooled
        } else if p.is_some() || direction.is_some() {
            // "No difference" is a result too: a tie in the sign test.
            Contribution::PValueOrDirection
        } else {
            Contribution::Nothing
        };
        let ee_flagged = flags_by_line
            .get(row.line)
            .is_some_and(|f| f.flags.iter().any(|x| x.is_ee()));
        evidence.push(Evidence {
            line: row.line,
            study_id: row.study_id.clone(),
            label: row.display_label(),
            design: row.design,
            n_trained: row.n_trained,
            n_control: row.n_control,
            direction,
            p,
            g_from_p: g,
            yi,
            contribution,
            ee_flagged,
        });
    }
    let overall = sign_test(&evidence, level);
    let ee_flagged = sign_test(evidence.iter().filter(|e| e.ee_flagged), level);
    let ee_unflagged = sign_test(evidence.iter().filter(|e| !e.ee_flagged), level);
    let count = |c: Contribution| evidence.iter().filter(|e| e.contribution == c).count();
    let (n_pooled, n_p, n_nothing) = (
        count(Contribution::Pooled),
        count(Contribution::PValueOrDirection),
        count(Contribution::Nothing),
    );
    let agreement = agreement(fit, &overall, n_pooled, n_p);
    VoteCount {
        evidence,
        overall,
        ee_flagged,
        ee_unflagged,
        n_pooled,
        n_p_or_direction: n_p,
        n_nothing,
        agreement,
    }
}

#[derive(PartialEq)]
enum View {
    For,
    Against,
    Unclear,
}

fn agreement(fit: Option<&RmaFit>, s: &SignTest, n_pooled: usize, n_p: usize) -> String {
    let pooled = fit.map(|f| {
        if f.ci_lb > 0.0 {
            View::For
        } else if f.ci_ub < 0.0 {
            View::Against
        } else {
            View::Unclear
        }
    });
    let signs = match (s.pval, s.proportion) {
        (Some(p), Some(q)) if p < 0.05 && q > 0.5 => View::For,
        (Some(p), Some(q)) if p < 0.05 && q < 0.5 => View::Against,
        _ => View::Unclear,
    };
    let say = |v: &View| match v {
        View::For => "favours spot reduction",
        View::Against => "favours the comparison",
        View::Unclear => "is inconclusive",
    };
    let sign_text = match (s.pval, s.ci_lb, s.ci_ub) {
        (Some(p), Some(lb), Some(ub)) => format!(
            "{} of {} results with a direction favour spot reduction (sign test p = {:.2}; 95% CI for the proportion {:.2} to {:.2})",
            s.favour,
            s.favour + s.against,
            p,
            lb,
            ub
        ),
        _ => "no result reports a direction".to_string(),
    };
    let ties_text = match (s.ties, &s.ties_split) {
        (0, _) => String::new(),
        (t, Some(x)) => format!(
            "; {t} reported no difference (ties, left out of that test); with the ties split evenly{}, {} of {} favour spot reduction (p = {:.2})",
            if x.dropped > 0 {
                " and the odd one dropped"
            } else {
                ""
            },
            x.favour,
            x.favour + x.against,
            x.pval
        ),
        (t, None) => format!("; {t} reported no difference (ties)"),
    };
    let head = format!(
        "{n_pooled} primary outcome(s) contributed numbers to the pooled estimate and {n_p} more reported only a p-value or a direction; {sign_text}{ties_text}."
    );
    match pooled {
        None => format!(
            "{head} Nothing could be pooled, so only the sign test speaks ({}).",
            say(&signs)
        ),
        Some(v) if v == signs => format!(
            "{head} The pooled estimate and the sign test agree: {}.",
            match v {
                View::For => "both favour spot reduction",
                View::Against => "both favour the comparison",
                View::Unclear => "neither shows that training a region reduces its fat",
            }
        ),
        Some(v) => format!(
            "{head} The two views differ: the pooled estimate {}, the sign test {}.",
            say(&v),
            say(&signs)
        ),
    }
}
