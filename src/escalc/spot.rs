//! Effect sizes for rows of the spot-reduction dataset (`datasets/README.md`
//! section 4 documents every rule here).
//!
//! Sign: positive = more fat lost in the trained region (evidence *for* spot
//! reduction). The dataset stores changes as post − pre (negative = fat lost)
//! with `_t` = trained arm/limb and `_c` = comparison, so every effect is
//! (change_c − change_t) / SD.
//!
//! **One metric (issue #16).** By default ([`Metric::RawScore`]) every effect
//! is standardised by a pre-test (raw-score) SD, so parallel and
//! within-subject trials are on one scale:
//! * **parallel** — Morris (2008) d_ppc2 ([`change::dppc2`]): the pooled
//!   pre-test SD of both arms, c_p = 1 − 3/(4(N−2) − 1), variance Morris eq. 25
//!   with ρ = `r_prepost`.
//! * **within_subject / crossover** — d_wpc ([`change::dwpc`]): the pooled
//!   pre-test SD of the two limbs, c(n−1), variance sd_D²/(n·SD_pre²) + y²/(2n)
//!   with sd_D the SD of the difference of the limb changes (between-limb r).
//!
//! A pre-test SD that is not reported but a change SD is becomes
//! SD_pre = SD_change/√(2(1 − r_prepost)) (equal pre/post SDs assumed;
//! [`Derivation::SdPreFromChangeSd`]). A reported between-arm t (or SE, CI,
//! exact p) gives a change-score d, rescaled to the raw-score metric with the
//! same assumption ([`Derivation::ChangeToRawScale`]): parallel
//! d_raw = d_Δ·√(2(1−ρ)); within-subject d_raw = d_z·2√((1−ρ)(1−r)).
//!
//! [`Metric::ChangeScore`] gives the former change-score effects (parallel:
//! Hedges' g of the change scores, `escalc("SMD")` on changes; within:
//! `escalc("SMCC")`), the d_z metric the sensitivity analysis reports.
//!
//! Missing pieces are derived and recorded as a [`Derivation`]: change =
//! post − pre; SD = SE·√n when `disp_type = se`; the SD of a change from
//! pre/post SDs and `r_prepost`; correlations imputed at
//! [`SpotOptions::r_impute`] (0.5) when not reported. Every conversion follows
//! `r_impute`, so the sensitivity analysis over r varies all of them.

use super::convert::{sd_change, sd_from_se, se_from_ci, t_from_p};
use super::{Derivation, EffectSize, Measure, Metric, change, cmi, means};
use crate::data::{Design, Direction, DispType, SpotRow, ValueSource};

/// What the pooled spot-reduction effects are, for output headings.
pub const SPOT_METRIC_LABEL: &str = "raw-score SMD";

/// One line naming the estimators behind [`SPOT_METRIC_LABEL`].
pub const SPOT_EFFECT_LABEL: &str = "Raw-score SMD (pre-test SD): d_ppc2 (Morris 2008) for parallel, d_wpc for within-subject designs";

/// Options for computing effect sizes from dataset rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotOptions {
    /// Correlation imputed where a pre–post or between-limb correlation is
    /// needed but not reported (default 0.5; sensitivity analyses vary it).
    pub r_impute: f64,
    /// The metric of the effects (default [`Metric::RawScore`]; the
    /// sensitivity analysis also reports [`Metric::ChangeScore`]).
    pub metric: Metric,
}

impl Default for SpotOptions {
    fn default() -> Self {
        SpotOptions {
            r_impute: 0.5,
            metric: Metric::RawScore,
        }
    }
}

/// Why a row has no effect size (shown to the user).
pub type Missing = String;

struct Arm {
    change: f64,
    sd: f64,
}

/// The reported numbers of one arm (or limb) of a row.
struct ArmColumns {
    pre_mean: Option<f64>,
    pre_sd: Option<f64>,
    post_mean: Option<f64>,
    post_sd: Option<f64>,
    change_mean: Option<f64>,
    change_sd: Option<f64>,
}

impl ArmColumns {
    fn trained(r: &SpotRow) -> Self {
        ArmColumns {
            pre_mean: r.pre_mean_t,
            pre_sd: r.pre_sd_t,
            post_mean: r.post_mean_t,
            post_sd: r.post_sd_t,
            change_mean: r.change_mean_t,
            change_sd: r.change_sd_t,
        }
    }

    fn comparison(r: &SpotRow) -> Self {
        ArmColumns {
            pre_mean: r.pre_mean_c,
            pre_sd: r.pre_sd_c,
            post_mean: r.post_mean_c,
            post_sd: r.post_sd_c,
            change_mean: r.change_mean_c,
            change_sd: r.change_sd_c,
        }
    }
}

/// A reported dispersion as an SD (SE·√n when `disp_type = se`).
fn as_sd(
    row: &SpotRow,
    which: &str,
    n: Option<u32>,
    x: f64,
    what: &str,
    log: &mut Vec<Derivation>,
) -> Result<f64, Missing> {
    if row.disp_type == Some(DispType::Se) {
        let n = n.ok_or_else(|| format!("{which}: SEs need n to become SDs"))?;
        log.push(Derivation::SdFromSe {
            what: what.to_string(),
        });
        Ok(sd_from_se(x, n as f64))
    } else {
        Ok(x)
    }
}

/// The pre–post correlation: reported, or imputed at `r_impute`
/// (the bool says whether it was imputed).
fn r_prepost(row: &SpotRow, opts: &SpotOptions) -> (f64, bool) {
    match (row.r_prepost, row.r_prepost_source) {
        (Some(r), Some(ValueSource::Imputed)) => (r, true),
        (Some(r), _) => (r, false),
        (None, _) => (opts.r_impute, true),
    }
}

/// The between-limb correlation of the changes, recording an imputation.
fn r_between(row: &SpotRow, opts: &SpotOptions, log: &mut Vec<Derivation>) -> (f64, bool) {
    let (r, imputed) = match (row.r, row.r_source) {
        (Some(r), Some(ValueSource::Imputed)) => (r, true),
        (Some(r), _) => (r, false),
        (None, _) => (opts.r_impute, true),
    };
    if imputed {
        log.push(Derivation::ImputedCorrelation {
            what: "between-limb r".into(),
            r,
        });
    }
    (r, imputed)
}

/// The mean change of one arm (post − pre when not reported).
fn change_mean(which: &str, cols: &ArmColumns, log: &mut Vec<Derivation>) -> Result<f64, Missing> {
    match (cols.change_mean, cols.pre_mean, cols.post_mean) {
        (Some(c), _, _) => Ok(c),
        (None, Some(a), Some(b)) => {
            log.push(Derivation::ChangeFromPrePost {
                what: which.to_string(),
            });
            Ok(b - a)
        }
        _ => Err(format!("{which}: no mean change and no pre/post means")),
    }
}

/// Mean change and its SD for one arm, deriving what is missing.
fn arm(
    row: &SpotRow,
    which: &str,
    n: Option<u32>,
    cols: &ArmColumns,
    opts: &SpotOptions,
    log: &mut Vec<Derivation>,
) -> Result<Arm, Missing> {
    let change = change_mean(which, cols, log)?;
    let sd = match (cols.change_sd, cols.pre_sd, cols.post_sd) {
        (Some(s), _, _) => as_sd(row, which, n, s, &format!("{which} change SD"), log)?,
        (None, Some(a), Some(b)) => {
            let a = as_sd(row, which, n, a, &format!("{which} pre SD"), log)?;
            let b = as_sd(row, which, n, b, &format!("{which} post SD"), log)?;
            let (r, imputed) = r_prepost(row, opts);
            log.push(Derivation::SdChangeFromPrePost {
                what: which.to_string(),
                r,
                imputed,
            });
            sd_change(a, b, r)
        }
        _ => return Err(format!("{which}: no SD of the change and no pre/post SDs")),
    };
    Ok(Arm { change, sd })
}

/// The pre-test SD of one arm (the raw-score standardiser): reported, or
/// SD_change/√(2(1 − r_prepost)) when only the change SD is reported.
fn pre_sd(
    row: &SpotRow,
    which: &str,
    n: Option<u32>,
    cols: &ArmColumns,
    opts: &SpotOptions,
    log: &mut Vec<Derivation>,
) -> Result<f64, Missing> {
    match (cols.pre_sd, cols.change_sd) {
        (Some(s), _) => as_sd(row, which, n, s, &format!("{which} pre SD"), log),
        (None, Some(s)) => {
            let s = as_sd(row, which, n, s, &format!("{which} change SD"), log)?;
            let (r, imputed) = r_prepost(row, opts);
            if r >= 1.0 {
                return Err(format!(
                    "{which}: a change SD cannot become a pre-test SD with r_prepost = {r}"
                ));
            }
            log.push(Derivation::SdPreFromChangeSd {
                what: which.to_string(),
                r,
                imputed,
            });
            Ok(s / (2.0 * (1.0 - r)).sqrt())
        }
        _ => Err(format!("{which}: no pre-test SD and no SD of the change")),
    }
}

/// t statistic for (change_t − change_c) from the reported difference, and a
/// description of where it came from.
fn reported_t(row: &SpotRow, df: f64) -> Option<(f64, String)> {
    if let Some(t) = row.diff_t {
        return Some((t, "t statistic".into()));
    }
    if let Some(d) = row.diff_mean {
        if let Some(se) = row.diff_se {
            return Some((d / se, "difference and its SE".into()));
        }
        if let (Some(lb), Some(ub)) = (row.diff_ci_lb, row.diff_ci_ub) {
            return Some((
                d / se_from_ci(lb, ub, df, 0.95),
                "difference and its 95% CI".into(),
            ));
        }
    }
    // An exact p: the sign comes from the difference, else from the reported
    // direction (diff = change_t − change_c, negative when the trained arm lost more).
    let p = row.diff_p?;
    let (sign, from) = match (row.diff_mean, row.direction) {
        (Some(d), _) => (d.signum(), "difference and"),
        (None, Some(Direction::FavoursSpotReduction)) => (-1.0, "direction and"),
        (None, Some(Direction::Against)) => (1.0, "direction and"),
        _ => return None,
    };
    Some((sign * t_from_p(p, df), format!("{from} exact p = {p}")))
}

/// Compute the effect size of one dataset row, or say what is missing.
pub fn spot_effect(row: &SpotRow, opts: &SpotOptions) -> Result<EffectSize, Missing> {
    match opts.metric {
        Metric::RawScore => raw_score_effect(row, opts),
        Metric::ChangeScore => change_score_effect(row, opts),
        Metric::Unstandardised => Err(
            "the spot analysis computes standardised effects only (raw-score or change-score)"
                .into(),
        ),
    }
}

/// Everything a design needs before its effect can be computed.
struct Rowed<'a> {
    row: &'a SpotRow,
    within: bool,
    nt: Option<u32>,
    nc: Option<u32>,
}

impl<'a> Rowed<'a> {
    fn new(row: &'a SpotRow) -> Result<Self, Missing> {
        let design = row.design.ok_or("design is not recorded")?;
        let within = matches!(design, Design::WithinSubject | Design::Crossover);
        let nt = row.n_trained;
        let nc = if within { row.n_trained } else { row.n_control };
        Ok(Rowed {
            row,
            within,
            nt,
            nc,
        })
    }

    fn n_missing(&self) -> String {
        if self.within {
            "n (participants) is not reported".to_string()
        } else {
            "n per arm is not reported".to_string()
        }
    }

    /// (n_t, n_c) as numbers; within-subject both are the participants.
    fn ns(&self) -> Result<(f64, f64), Missing> {
        match (self.nt, self.nc) {
            (Some(a), Some(b)) => Ok((a as f64, b as f64)),
            _ => Err(self.n_missing()),
        }
    }

    /// The reported between-arm t statistic (sign: trained − comparison)
    /// when arm statistics are incomplete; `why` says what the arms lacked.
    fn reported(&self, why: &str, log: &mut Vec<Derivation>) -> Result<(f64, f64, f64), Missing> {
        let (n_t, n_c) = self.ns().map_err(|e| format!("{why}; {e}"))?;
        let df = if self.within {
            n_t - 1.0
        } else {
            n_t + n_c - 2.0
        };
        let (t, what) = reported_t(self.row, df).ok_or_else(|| {
            format!(
                "{why}; no between-{} SE, CI, t or exact p",
                if self.within { "limb" } else { "arm" }
            )
        })?;
        log.push(Derivation::FromReportedStatistic { what });
        Ok((t, n_t, n_c))
    }
}

/// The derivations in first-seen order, each once (a pre-test SD converted
/// from an SE serves both the standardiser and the change SD).
fn dedup(log: Vec<Derivation>) -> Vec<Derivation> {
    let mut out: Vec<Derivation> = Vec::with_capacity(log.len());
    for d in log {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

fn joined(a: Option<Missing>, b: Option<Missing>) -> String {
    [a, b].into_iter().flatten().collect::<Vec<_>>().join("; ")
}

/// The raw-score (pre-test SD) effect: DPPC2 for parallel, DWPC for
/// within-subject rows.
fn raw_score_effect(row: &SpotRow, opts: &SpotOptions) -> Result<EffectSize, Missing> {
    let d = Rowed::new(row)?;
    let mut log = Vec::new();
    let (tc, cc) = (ArmColumns::trained(row), ArmColumns::comparison(row));
    let (rho, rho_imputed) = r_prepost(row, opts);
    let mark_rho = |log: &mut Vec<Derivation>| {
        if rho_imputed {
            log.push(Derivation::ImputedCorrelation {
                what: "pre-post r".into(),
                r: rho,
            });
        }
    };
    let done = |yi: f64, vi: f64, measure: Measure, derivations| {
        Ok(EffectSize {
            yi,
            vi,
            measure,
            metric: Metric::RawScore,
            derivations: dedup(derivations),
        })
    };
    if d.within {
        // Limb changes, their SDs (for sd_D) and pre-test SDs.
        let limb = |which: &str, cols: &ArmColumns, log: &mut Vec<Derivation>| {
            let a = arm(row, which, d.nt, cols, opts, log)?;
            let s = pre_sd(row, which, d.nt, cols, opts, log)?;
            Ok::<_, Missing>((a, s))
        };
        let t = limb("trained", &tc, &mut log);
        let c = limb("comparison", &cc, &mut log);
        match (t, c) {
            (Ok((t, pre_t)), Ok((c, pre_c))) => {
                let n = d.nt.ok_or_else(|| d.n_missing())? as f64;
                let (r, _) = r_between(row, opts, &mut log);
                let sd_d = sd_change(c.sd, t.sd, r);
                let (yi, vi) = change::dwpc(c.change, t.change, pre_c, pre_t, sd_d, n)
                    .ok_or("n too small (n <= 2)")?;
                done(yi, vi, Measure::DWPC, log)
            }
            (t, c) => {
                let mut log = Vec::new();
                let (t, n, _) = d.reported(&joined(t.err(), c.err()), &mut log)?;
                let (r, r_imp) = r_between(row, opts, &mut log);
                if rho >= 1.0 || r >= 1.0 {
                    return Err(
                        "a change-score d cannot be rescaled with a correlation of 1".into(),
                    );
                }
                // sd_D / SD_pre with equal SDs over limbs and time.
                let ratio = 2.0 * ((1.0 - rho) * (1.0 - r)).sqrt();
                log.push(Derivation::ChangeToRawScale {
                    what: format!(
                        "d_z x 2*sqrt((1 - r_prepost)(1 - r)) = {ratio:.4} with r_prepost = {rho}, r = {r}"
                    ),
                    imputed: rho_imputed || r_imp,
                });
                // Per unit pre-test SD: mean difference = d_z·ratio, sd_D = ratio.
                let (yi, vi) = change::dwpc(-t / n.sqrt() * ratio, 0.0, 1.0, 1.0, ratio, n)
                    .ok_or("n too small (n <= 2)")?;
                done(yi, vi, Measure::DWPC, log)
            }
        }
    } else {
        let limb = |which: &str, n, cols: &ArmColumns, log: &mut Vec<Derivation>| {
            let m = change_mean(which, cols, log)?;
            let s = pre_sd(row, which, n, cols, opts, log)?;
            Ok::<_, Missing>((m, s))
        };
        let t = limb("trained", d.nt, &tc, &mut log);
        let c = limb("comparison", d.nc, &cc, &mut log);
        match (t, c) {
            (Ok((m_t, pre_t)), Ok((m_c, pre_c))) => {
                let (n_t, n_c) = d.ns()?;
                mark_rho(&mut log);
                let (yi, vi) = change::dppc2(m_c, m_t, pre_c, pre_t, n_c, n_t, rho)
                    .ok_or("n too small (n_t + n_c <= 4)")?;
                done(yi, vi, Measure::DPPC2, log)
            }
            (t, c) => {
                let mut log = Vec::new();
                let (t, n_t, n_c) = d.reported(&joined(t.err(), c.err()), &mut log)?;
                if rho >= 1.0 {
                    return Err("a change-score d cannot be rescaled with r_prepost = 1".into());
                }
                let ratio = (2.0 * (1.0 - rho)).sqrt();
                log.push(Derivation::ChangeToRawScale {
                    what: format!("d x sqrt(2(1 - r_prepost)) = {ratio:.4} with r_prepost = {rho}"),
                    imputed: rho_imputed,
                });
                mark_rho(&mut log);
                // Per unit pooled pre-test SD: the mean difference is d_raw.
                let d_raw = -t * (1.0 / n_t + 1.0 / n_c).sqrt() * ratio;
                let (yi, vi) = change::dppc2(d_raw, 0.0, 1.0, 1.0, n_c, n_t, rho)
                    .ok_or("n too small (n_t + n_c <= 4)")?;
                done(yi, vi, Measure::DPPC2, log)
            }
        }
    }
}

/// The change-score (d_z) effect: Hedges' g of the change scores for
/// parallel rows, SMCC for within-subject rows (the metric before issue #16).
fn change_score_effect(row: &SpotRow, opts: &SpotOptions) -> Result<EffectSize, Missing> {
    let d = Rowed::new(row)?;
    let mut log = Vec::new();
    let t_arm = arm(
        row,
        "trained",
        d.nt,
        &ArmColumns::trained(row),
        opts,
        &mut log,
    );
    let c_arm = arm(
        row,
        "comparison",
        d.nc,
        &ArmColumns::comparison(row),
        opts,
        &mut log,
    );
    let done = |yi: f64, vi: f64, measure: Measure, derivations| {
        Ok(EffectSize {
            yi,
            vi,
            measure,
            metric: Metric::ChangeScore,
            derivations,
        })
    };
    match (t_arm, c_arm) {
        (Ok(t), Ok(c)) => {
            if d.within {
                let n = d.nt.ok_or_else(|| d.n_missing())? as f64;
                let (r, _) = r_between(row, opts, &mut log);
                let (yi, vi) = change::smcc(c.change, t.change, c.sd, t.sd, n, r)
                    .ok_or("n too small (n <= 2)")?;
                done(yi, vi, Measure::SMCC, log)
            } else {
                let (n_t, n_c) = d.ns()?;
                let (yi, vi) = means::smd(c.change, c.sd, n_c, t.change, t.sd, n_t)
                    .ok_or("n too small (n1 + n2 <= 3)")?;
                done(yi, vi, Measure::SMD, log)
            }
        }
        (t, c) => {
            // No full arm statistics: try a reported between-arm statistic.
            let mut log = Vec::new();
            let (t, n_t, n_c) = d.reported(&joined(t.err(), c.err()), &mut log)?;
            if d.within {
                // metafor SMCC with ti: d = t·√(1/n); sign flipped to favour the trained limb.
                let c = cmi(n_t - 1.0).ok_or("n too small")?;
                let yi = c * (-t) / n_t.sqrt();
                done(yi, 1.0 / n_t + yi * yi / (2.0 * n_t), Measure::SMCC, log)
            } else {
                let (yi, vi) = means::smd_from_t(-t, n_c, n_t).ok_or("n too small")?;
                done(yi, vi, Measure::SMD, log)
            }
        }
    }
}
