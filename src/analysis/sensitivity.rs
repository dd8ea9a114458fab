//! Sensitivity of the primary analysis to the confound flags (issue #5):
//! the pooled effect (a) with all studies, (b) without studies carrying any
//! `EE_*` flag, (c) without any flagged study; flagged vs unflagged subgroups
//! with the test for differences; the imputed correlation at 0.3 / 0.5 / 0.7;
//! the same rows on the d_z metric (change-score SDs, issue #16);
//! and one plain sentence on how far the estimate moves without the
//! energy-expenditure-confounded studies. Reads the data and refits; the rules
//! themselves live in [`super::confounds`].

use super::confounds::{ConfoundOptions, RowFlags, flag_dataset};
use super::diagnostics::{Diagnostics, Outcome, diagnose};
use super::permutest::{Permutest, permutest};
use super::primary::{Selection, select_primary};
use super::subgroup::{Subgroups, subgroups};
use crate::data::{Design as StudyDesign, ReportedRange, SpotDataset, SpotRow};
use crate::error::Result;
use crate::escalc::Metric;
use crate::escalc::spot::SpotOptions;

/// Name of the scenario that pools the change-score (d_z) effects
/// (issue #16): not on the primary analysis' scale, shown for comparison.
pub const DZ_SCENARIO: &str = "d_z metric (change-score SD)";
use crate::model::{Design, RmaFit, RmaModsFit, ValidRmaOptions, rma, rma_mods};
use serde::Serialize;

/// One re-pooling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// What was pooled, e.g. "without EE-flagged studies".
    pub name: String,
    /// Labels of the pooled rows.
    pub included: Vec<String>,
    /// Labels of the rows set aside (relative to all pooled rows).
    pub excluded: Vec<String>,
    /// The fit (None when no study is left).
    pub fit: Option<RmaFit>,
}

/// All sensitivity results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    /// Thresholds used by the flag rules.
    pub thresholds: ConfoundOptions,
    /// Flags of every row of the dataset.
    pub flags: Vec<RowFlags>,
    /// (a) all, (b) without EE-flagged, (c) without any flag, (d) all rows
    /// on the d_z metric (change-score SD; [`DZ_SCENARIO`]).
    pub scenarios: Vec<Scenario>,
    /// Flagged vs unflagged (None when the pooled rows are all in one group).
    pub flagged_vs_unflagged: Option<Subgroups>,
    /// The primary analysis with the imputed correlation at 0.3, 0.5, 0.7.
    pub correlation: Vec<(f64, Scenario)>,
    /// Meta-regressions on the energy-expenditure moderators.
    pub metareg: Vec<EeMetareg>,
    /// Leave-one-out, influence, cumulative, Egger, trim and fill.
    pub diagnostics: Option<Diagnostics>,
    /// The plain-language summary of (a) vs (b).
    pub sentence: String,
}

/// A meta-regression of the effect on one energy-expenditure moderator
/// (mixed-effects, the primary analysis' method and test), with the
/// permutation p-value (metafor `permutest`, 1000 permutations, seed 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EeMetareg {
    /// Moderator name.
    pub moderator: String,
    /// What it measures.
    pub description: String,
    /// Rows with a value (of the pooled rows).
    pub k: usize,
    /// The moderator values of those rows (for a bubble plot).
    pub x: Vec<f64>,
    /// Their effect sizes.
    pub yi: Vec<f64>,
    /// Their variances.
    pub vi: Vec<f64>,
    /// The fit and permutation test, or why there is none.
    pub result: Outcome<(RmaModsFit, Permutest)>,
}

/// The two energy-expenditure moderators of a row: ln(trained/comparison
/// minutes per session) and the weekly-minute difference. Rows comparing limbs
/// or regions within the same people get 0 for both (the compared units share
/// one energy balance); parallel rows without both session lengths get none,
/// and so do rows where a session length or `sessions_per_week` is a reported
/// range (`57-84`): a regression needs one value, and picking an end of the
/// range would be a guess (the flag rules, which can use the conservative end,
/// still see the range).
pub fn ee_moderators(row: &SpotRow) -> (Option<f64>, Option<f64>) {
    let single = |r: Option<ReportedRange>| r.filter(|r| r.is_point()).map(|r| r.lo);
    match row.design {
        Some(StudyDesign::WithinSubject) | Some(StudyDesign::Crossover) => (Some(0.0), Some(0.0)),
        _ => match (
            single(row.session_min_trained),
            single(row.session_min_control),
        ) {
            (Some(t), Some(c)) => {
                let ratio = if t > 0.0 && c > 0.0 {
                    Some((t / c).ln())
                } else {
                    None
                };
                let weekly = single(row.sessions_per_week).map(|s| s * (t - c));
                (ratio, weekly)
            }
            _ => (None, None),
        },
    }
}

fn scenario(
    name: &str,
    sel: &Selection,
    keep: impl Fn(usize) -> bool,
    opts: &ValidRmaOptions,
) -> Result<Scenario> {
    sel.metric()?;
    let (mut ys, mut vs, mut included, mut excluded) = (vec![], vec![], vec![], vec![]);
    for (i, u) in sel.used.iter().enumerate() {
        if keep(i) {
            ys.push(u.effect.yi);
            vs.push(u.effect.vi);
            included.push(u.label.clone());
        } else {
            excluded.push(u.label.clone());
        }
    }
    let fit = if ys.is_empty() {
        None
    } else {
        Some(rma(&ys, &vs, opts)?)
    };
    Ok(Scenario {
        name: name.to_string(),
        included,
        excluded,
        fit,
    })
}

/// Run the sensitivity analyses on a loaded dataset.
pub fn sensitivity(
    ds: &SpotDataset,
    spot: &SpotOptions,
    conf: &ConfoundOptions,
    opts: &ValidRmaOptions,
) -> Result<Sensitivity> {
    let sel = select_primary(ds, spot);
    let flags = flag_dataset(ds, &sel, conf);
    let flags_by_line = crate::data::ByLine::new(&flags, |f| f.line);
    let row_flags = |i: usize| {
        &flags_by_line
            .get(sel.used[i].line)
            .expect("every row flagged")
            .flags
    };
    let all = scenario("all studies", &sel, |_| true, opts)?;
    let no_ee = scenario(
        "without EE-flagged studies",
        &sel,
        |i| !row_flags(i).iter().any(|f| f.is_ee()),
        opts,
    )?;
    let no_flags = scenario(
        "without any flagged study",
        &sel,
        |i| row_flags(i).is_empty(),
        opts,
    )?;

    let labels: Vec<String> = (0..sel.used.len())
        .map(|i| {
            if row_flags(i).is_empty() {
                "unflagged".into()
            } else {
                "flagged".into()
            }
        })
        .collect();
    let groups = if labels.iter().any(|l| l == "flagged") && labels.iter().any(|l| l == "unflagged")
    {
        Some(subgroups(&sel.yi(), &sel.vi(), &labels, opts)?)
    } else {
        None
    };

    let mut correlation = Vec::new();
    for r in [0.3, 0.5, 0.7] {
        let s = select_primary(
            ds,
            &SpotOptions {
                r_impute: r,
                ..*spot
            },
        );
        correlation.push((
            r,
            scenario(&format!("imputed r = {r}"), &s, |_| true, opts)?,
        ));
    }
    // What the d_z metric (change-score SDs, the metric before issue #16)
    // would give: the same rows, each effect standardised by its change SD.
    let dz_sel = select_primary(
        ds,
        &SpotOptions {
            metric: Metric::ChangeScore,
            ..*spot
        },
    );
    let dz = scenario(DZ_SCENARIO, &dz_sel, |_| true, opts)?;
    let sentence = sentence(&all, &no_ee, &sel);

    let rows_by_line = crate::data::ByLine::new(&ds.rows, |r| r.line);
    let rows: Vec<&SpotRow> = sel
        .used
        .iter()
        .map(|u| rows_by_line.get(u.line).expect("used row exists"))
        .collect();
    let mut metareg = Vec::new();
    for (name, description, pick) in [
        (
            "log_session_ratio",
            "ln(trained / comparison minutes per session)",
            0usize,
        ),
        (
            "weekly_min_diff",
            "trained − comparison training minutes per week",
            1,
        ),
    ] {
        let (mut x, mut ys, mut vs) = (vec![], vec![], vec![]);
        for (u, r) in sel.used.iter().zip(&rows) {
            let m = ee_moderators(r);
            if let Some(v) = if pick == 0 { m.0 } else { m.1 } {
                x.push(v);
                ys.push(u.effect.yi);
                vs.push(u.effect.vi);
            }
        }
        let k = x.len();
        let result = if k < 3 {
            Outcome::NotRun {
                reason: format!(
                    "{k} pooled studies have this moderator; a meta-regression needs at least 3"
                ),
            }
        } else if x.iter().all(|v| *v == x[0]) {
            Outcome::NotRun {
                reason: format!(
                    "the moderator is {} for all {k} studies, so it cannot explain differences",
                    x[0]
                ),
            }
        } else {
            let d = Design::with_intercept(&[(name, &x)])?;
            match rma_mods(&ys, &vs, &d, opts) {
                Ok(fit) => {
                    let perm = permutest(&ys, &vs, &d, &fit, opts, 1000, 1)?;
                    Outcome::Done((fit, perm))
                }
                Err(crate::error::Error::Unsupported(reason)) => Outcome::NotRun { reason },
                Err(e) => return Err(e),
            }
        };
        metareg.push(EeMetareg {
            moderator: name.into(),
            description: description.into(),
            k,
            x,
            yi: ys,
            vi: vs,
            result,
        });
    }

    let diagnostics = match &all.fit {
        Some(fit) => {
            let years: Vec<f64> = sel.used.iter().map(|u| u.year as f64).collect();
            let labels: Vec<String> = sel.used.iter().map(|u| u.label.clone()).collect();
            // The spot dataset's primary rows: k is that of a review, far
            // below any refit cap.
            Some(diagnose(
                &sel.yi(),
                &sel.vi(),
                &labels,
                Some(&years),
                fit,
                opts,
                usize::MAX,
            )?)
        }
        None => None,
    };
    Ok(Sensitivity {
        thresholds: *conf,
        flags,
        scenarios: vec![all, no_ee, no_flags, dz],
        flagged_vs_unflagged: groups,
        correlation,
        metareg,
        diagnostics,
        sentence,
    })
}

/// Two decimals, without a minus sign on a value that rounds to zero.
fn f2(x: f64) -> String {
    let s = format!("{x:.2}");
    if s == "-0.00" { "0.00".into() } else { s }
}

fn fmt_est(f: &RmaFit) -> String {
    format!(
        "{} (95% CI {} to {}; k = {})",
        f2(f.estimate),
        f2(f.ci_lb),
        f2(f.ci_ub),
        f.k
    )
}

fn sentence(all: &Scenario, no_ee: &Scenario, sel: &Selection) -> String {
    match (&all.fit, &no_ee.fit) {
        (None, _) => "No study has enough numbers to pool, so the effect of removing energy-expenditure-confounded studies cannot be assessed.".into(),
        (Some(a), _) if no_ee.excluded.is_empty() => {
            let within = sel.used.iter().all(|u| matches!(u.effect.measure, crate::escalc::Measure::SMCC | crate::escalc::Measure::DWPC));
            format!(
                "None of the {} pooled {} carries an energy-expenditure flag{}, so removing EE-confounded studies leaves the pooled effect unchanged at {}.",
                a.k,
                if a.k == 1 { "study" } else { "studies" },
                if within { " (all compare limbs within the same people, who share one energy balance)" } else { "" },
                fmt_est(a)
            )
        }
        (Some(a), None) => format!(
            "All {} pooled studies carry an energy-expenditure flag; without them nothing is left to pool (all studies: {}).",
            a.k,
            fmt_est(a)
        ),
        (Some(a), Some(b)) => format!(
            "Removing the {} EE-confounded {} moves the pooled effect from {} to {} (a change of {}).",
            no_ee.excluded.len(),
            if no_ee.excluded.len() == 1 { "study" } else { "studies" },
            fmt_est(a),
            fmt_est(b),
            {
                let d = f2(b.estimate - a.estimate);
                if d.starts_with('-') { d } else { format!("+{d}") }
            }
        ),
    }
}
