//! The report's sentences: the verdict, the methods paragraph, the
//! heterogeneity and model clauses, the all-outcomes and sign-test wording.
//! The page ([`super::page`]) and `summary.md` ([`super::markdown`]) print
//! the same sentences, so the two cannot say different things.

use super::{ReportInput, SOFTWARE};
use crate::analysis::Tau2Ci;
use crate::analysis::diagnostics::Outcome;
use crate::analysis::multilevel_primary::{AllOutcomes, ThreeLevel};
use crate::analysis::primary::LeftOut;
use crate::analysis::rules::{K_DEFINITION, k_clause};
use crate::analysis::vote::{SignTest, VoteCount};
use crate::model::{Method, RmaFit};
use crate::output::forest::{
    heterogeneity_line, model_name, three_level_heterogeneity_line, three_level_model_name,
};
use crate::output::style::{level_pct, num, p_clause};
use crate::review::Headline;

/// "Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2 effect sizes from 1
/// study; p = 0.34)": an estimate with its CI, k (with the studies, when
/// known) and p-value.
pub(super) fn estimate_clause(effect_label: &str, h: &Headline) -> String {
    let k = match h.studies {
        Some(s) => k_clause(h.k, s),
        None => format!("k = {}", h.k),
    };
    format!(
        "{effect_label} = {} ({}% CI {} to {}; {k}; {})",
        num(h.estimate, 2),
        level_pct(h.level),
        num(h.ci_lb, 2),
        num(h.ci_ub, 2),
        p_clause(h.pval)
    )
}

/// One console line: "Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2
/// effect sizes from 1 study; p = 0.34); one outcome per cohort" — the
/// report's own clause and analysis name (what `add --rerun` prints).
pub fn console_line(h: &Headline, effect_label: &str) -> String {
    format!("{}; {}", estimate_clause(effect_label, h), h.analysis)
}

/// "Pooled Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2; p = 0.34): …" —
/// the verdict depends only on where the CI lies relative to zero.
pub fn pooled_sentence(effect_label: &str, h: &Headline, spot: bool) -> String {
    let head = format!("Pooled {}", estimate_clause(effect_label, h));
    let n_studies = h.studies;
    let verdict = if h.ci_lb <= 0.0 && h.ci_ub >= 0.0 {
        if spot {
            "no evidence that training a region reduces fat there more than elsewhere; the interval includes zero and is compatible with small effects in either direction."
        } else {
            "the interval includes zero, so the data are compatible with no effect."
        }
    } else if h.ci_lb > 0.0 {
        if spot {
            "the interval lies above zero, which favours spot reduction (more fat lost in the trained region)."
        } else {
            "the interval lies above zero."
        }
    } else if spot {
        "the interval lies below zero, which favours the comparison (less fat lost in the trained region)."
    } else {
        "the interval lies below zero."
    };
    let mut s = format!("{head}: {verdict}");
    let few = match n_studies {
        Some(n) if n < 3 => Some(format!(
            " With only {}, this is far too little data for a firm conclusion.",
            k_clause(h.k, n)
        )),
        None if h.k < 3 => Some(format!(
            " With only k = {}, this is far too little data for a firm conclusion.",
            h.k
        )),
        _ => None,
    };
    if let Some(f) = few {
        s += &f;
    }
    s
}

/// Why rows were not pooled, grouped: (reason, count), most frequent first.
pub fn left_out_summary(left_out: &[LeftOut]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for l in left_out {
        let r = l.reason.as_str();
        let cat = if r.starts_with("secondary outcome") {
            "secondary outcome (one primary outcome per study)".to_string()
        } else if r.starts_with("no effect size") {
            "no effect size: numbers missing in accessible sources".to_string()
        } else if r.starts_with("listed") {
            "listed only: report not located or eligibility unclear".to_string()
        } else if r.starts_with("excluded") {
            "excluded at screening".to_string()
        } else if r.starts_with("outcome type") {
            "not a regional-fat outcome".to_string()
        } else if r.contains(" intervention:") {
            "not an exercise intervention".to_string()
        } else {
            r.split(':').next().unwrap_or(r).trim().to_string()
        };
        match counts.iter_mut().find(|(c, _)| *c == cat) {
            Some(e) => e.1 += 1,
            None => counts.push((cat, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

pub(super) fn methods_text(input: &ReportInput) -> String {
    let fit = &input.fit;
    let lvl = level_pct(fit.level);
    let model = if fit.method == Method::FE {
        "a common-effect (inverse-variance) model".to_string()
    } else {
        format!(
            "a random-effects model with τ² estimated by {}",
            fit.method.as_str()
        )
    };
    let test = match fit.test {
        crate::model::TestKind::Z => "z-based test and CI".to_string(),
        crate::model::TestKind::Knha => "Knapp–Hartung t test and CI".to_string(),
        crate::model::TestKind::Adhoc => "truncated Knapp–Hartung t test and CI".to_string(),
    };
    let confounds = if input.sensitivity.is_some() {
        " Confound flags are computed from each row's design columns (thresholds above); \
         the sensitivity analyses re-pool with the same model."
    } else {
        ""
    };
    let r = &input.rules;
    let rule = format!(
        "it is primary only when it runs (at least 2 studies and more outcomes than studies) with at least {} studies and CR2 df ≥ {} (Tipton 2015)",
        r.min_clusters, r.min_cr2_df
    );
    let primary = match &input.all_outcomes {
        Some(a) if a.primary => format!(
            " Primary analysis: all outcomes with a three-level model (REML; σ² between and within studies with profile CIs) and CR2 cluster-robust inference with Satterthwaite df (metafor rma.mv + robust, clubSandwich), prediction interval from the CR2 SE and both σ² (metafor predict on the robust fit); {rule}; the one-outcome-per-cohort analysis is a sensitivity analysis."
        ),
        Some(a) => format!(
            " Primary analysis: one outcome per cohort, REML + Knapp–Hartung, because the all-outcomes three-level model + CR2 {}; {rule}.",
            match (&a.result, &a.why_not_primary) {
                (Outcome::NotRun { reason }, _) => format!("cannot run ({reason})"),
                (Outcome::Done(_), why) => format!(
                    "is only a sensitivity analysis ({})",
                    why.as_deref().unwrap_or("")
                ),
            }
        ),
        None => String::new(),
    };
    let k_def = if input.spot {
        format!(" {K_DEFINITION}")
    } else {
        String::new()
    };
    let small_study = format!(
        " Small-study effects (Egger's regression test, trim and fill (L0), significance contours of the funnel plot): only with at least {} studies (Cochrane Handbook §13.3.5.4){}.",
        r.small_study_min_k,
        if r.force_small_study {
            "; run on request (--small-study) below that, labelled underpowered"
        } else {
            ""
        }
    );
    let vote = if input.vote.is_some() {
        " Synthesis without numbers (Cochrane SWiM): exact binomial sign test (Dixon & Mood 1946) on the favour/against directions of all primary outcomes (R binom.test, Clopper–Pearson CI), with the no-difference results (ties) shown and, as a sensitivity test, split half to each direction (an odd tie dropped), overall and by energy-expenditure flag; albatross plot (Harrison et al. 2017) with Hedges' g contours."
    } else {
        ""
    };
    let pooled_with = if matches!(&input.all_outcomes, Some(a) if a.primary) {
        "The one-outcome-per-cohort analysis is pooled with"
    } else {
        "Pooled with"
    };
    format!(
        "{}{k_def}{primary} {pooled_with} {model}, {test} ({lvl}%), prediction interval as metafor's predict(), \
         Q-profile CI for τ²; heterogeneity by Cochran's Q and I².{confounds}{vote}{small_study} Computed \
         with {SOFTWARE}, whose rma reproduces R metafor 3.8.1 to at least 6 significant digits.",
        input.measure_text
    )
}

pub(super) fn heterogeneity_text(fit: &RmaFit, ci: Option<&Tau2Ci>) -> String {
    let mut s = format!("{}.", heterogeneity_line(fit));
    if let Some(c) = ci {
        s += &format!(
            " Q-profile 95% CI for τ²: {} to {}; for I²: {}% to {}%.",
            num(c.tau2_lb, 3),
            num(c.tau2_ub, 3),
            num(c.i2_lb, 1),
            num(c.i2_ub, 1)
        );
    }
    if fit.method != Method::FE && fit.k > 1 {
        s += &format!(
            " 95% prediction interval for a new study: {} to {}.",
            num(fit.pi_lb, 2),
            num(fit.pi_ub, 2)
        );
    }
    s
}

/// The model, variance components (with profile CIs) and prediction
/// interval of the three-level primary analysis.
pub(super) fn three_level_text(t: &ThreeLevel) -> String {
    let lvl = level_pct(t.fit.level);
    format!(
        "{}. {}. Profile {lvl}% CIs: σ² between studies {}, within studies {}. Prediction interval {} to {}.",
        three_level_model_name(t),
        three_level_heterogeneity_line(t),
        profile_ci(t.fit.sigma2_ci[0]),
        profile_ci(t.fit.sigma2_ci[1]),
        num(t.pi.0, 2),
        num(t.pi.1, 2)
    )
}

/// "Sensitivity analysis, one outcome per cohort: g = … (95% CI …; k = 5);
/// model; heterogeneity."
pub(super) fn one_per_study_text(input: &ReportInput) -> String {
    let fit = &input.fit;
    format!(
        "Sensitivity analysis, one outcome per cohort: {}. {}. {}",
        estimate_clause(&input.effect_label, &Headline::one_per_study(fit, None)),
        model_name(fit),
        heterogeneity_text(fit, input.tau2_ci.as_ref())
    )
}

/// A profile-likelihood CI for a variance component, "0.022 to 0.207", or
/// "not found" where the search failed.
fn profile_ci(c: Option<(f64, f64)>) -> String {
    match c {
        Some((lo, hi)) => format!("{} to {}", num(lo, 3), num(hi, 3)),
        None => "not found".into(),
    }
}

/// "All outcomes, three-level model + CR2: …" — the fit or why it cannot run.
pub fn all_outcomes_sentence(a: &AllOutcomes) -> String {
    match &a.result {
        Outcome::Done(t) => {
            let f = &t.fit;
            let r = &t.robust;
            format!(
                "All outcomes, three-level model + CR2 ({}): {}; σ² between studies = {} (profile 95% CI {}), within studies = {} ({}); pooled estimate = {} (CR2 95% CI {} to {}; t({:.2}) = {}, {}).",
                match &a.why_not_primary {
                    _ if a.primary => "primary analysis".to_string(),
                    Some(why) => format!("sensitivity analysis, not primary: {why}"),
                    None => "sensitivity analysis".to_string(),
                },
                k_clause(f.k, f.clusters),
                num(f.sigma2[0], 3),
                profile_ci(f.sigma2_ci[0]),
                num(f.sigma2[1], 3),
                profile_ci(f.sigma2_ci[1]),
                num(r.beta[0], 2),
                num(r.ci_lb[0], 2),
                num(r.ci_ub[0], 2),
                r.df[0],
                num(r.tval[0], 2),
                p_clause(Some(r.pval[0]))
            )
        }
        Outcome::NotRun { reason } => format!(
            "All outcomes, three-level model + CR2: not run — {reason}. The one-outcome-per-cohort analysis above is therefore the primary analysis."
        ),
    }
}

pub(super) fn all_outcomes_row(a: &AllOutcomes) -> String {
    match &a.result {
        Outcome::Done(t) => format!(
            "{}: all outcomes, three-level + CR2: {}, estimate = {:.2} [{:.2}, {:.2}].{}",
            if a.primary {
                "Primary analysis"
            } else {
                "Sensitivity row"
            },
            k_clause(t.fit.k, t.fit.clusters),
            t.robust.beta[0],
            t.robust.ci_lb[0],
            t.robust.ci_ub[0],
            match &a.why_not_primary {
                _ if a.primary => " The scenarios above pool one outcome per cohort.".to_string(),
                Some(why) => format!(" Not primary: {why}."),
                None => String::new(),
            }
        ),
        Outcome::NotRun { reason } => {
            format!("Sensitivity row: all outcomes, three-level + CR2: not run ({reason}).")
        }
    }
}

pub(super) fn sign_cells(s: &SignTest) -> [String; 5] {
    let prop = match (s.proportion, s.ci_lb, s.ci_ub) {
        (Some(q), Some(lb), Some(ub)) => format!("{q:.2} [{lb:.2}, {ub:.2}]"),
        _ => "–".into(),
    };
    [
        s.favour.to_string(),
        s.against.to_string(),
        s.ties.to_string(),
        prop,
        s.pval
            .map(|p| crate::output::style::pval(Some(p)))
            .unwrap_or_else(|| "–".into()),
    ]
}

/// The ties-split sensitivity cells: "8 vs 5", proportion [CI], p.
pub(super) fn split_cells(s: &SignTest) -> [String; 3] {
    match &s.ties_split {
        Some(x) => [
            format!(
                "{} vs {}{}",
                x.favour,
                x.against,
                if x.dropped > 0 { " (1 dropped)" } else { "" }
            ),
            format!("{:.2} [{:.2}, {:.2}]", x.proportion, x.ci_lb, x.ci_ub),
            crate::output::style::pval(Some(x.pval)),
        ],
        None => ["–".into(), "–".into(), "–".into()],
    }
}

/// What the sign tests do, in one paragraph (report page and summary.md).
pub(super) const SIGN_TEST_TEXT: &str = "Each primary outcome counts once whatever it reports, as favours, against, no difference (a tie) or not reported. Directions come from the paper (or the sign of a pooled effect). The exact sign test (Dixon & Mood 1946; R binom.test, Clopper–Pearson CI) uses the directional results; because no-difference results are mostly the non-significant ones, a sensitivity test splits the ties, half to each direction with an odd tie dropped. Results not reported are not counted.";

/// "Ties split: all 8 vs 5, p = 0.58; …" for the report page.
pub(super) fn split_sentence(v: &VoteCount) -> String {
    let parts: Vec<String> = [
        ("all", &v.overall),
        ("with an EE flag", &v.ee_flagged),
        ("without", &v.ee_unflagged),
    ]
    .iter()
    .map(|(name, s)| {
        let [n, prop, p] = split_cells(s);
        format!("{name} {n}, proportion {prop}, p = {p}")
    })
    .collect();
    format!(
        "Sensitivity, ties split evenly (odd tie dropped): {}.",
        parts.join("; ")
    )
}

pub(super) fn counts_sentence(v: &VoteCount) -> String {
    format!(
        "Primary outcomes of included exercise trials: {} pooled with numbers, {} with only a p-value or direction, {} with nothing usable.",
        v.n_pooled, v.n_p_or_direction, v.n_nothing
    )
}
