//! Effect sizes for rows of the spot-reduction dataset (`datasets/README.md`
//! documents every rule here).
//!
//! Sign: positive = more fat lost in the trained region (evidence *for* spot
//! reduction). The dataset stores changes as post − pre (negative = fat lost)
//! with `_t` = trained arm/limb and `_c` = comparison, so the comparison is
//! entered as metafor's group/condition 1 and the trained arm as 2.
//!
//! * **parallel** — Hedges' g of the change scores, `escalc("SMD", m1i =
//!   change_c, sd1i = sd_c, n1i = n_control, m2i = change_t, sd2i = sd_t, n2i =
//!   n_trained)`.
//! * **within_subject / crossover** — standardised mean change of the
//!   untrained-minus-trained difference, `escalc("SMCC", m1i = change_c, m2i =
//!   change_t, sd1i = sd_c, sd2i = sd_t, ni = n_trained, ri = r)` with r the
//!   between-limb correlation of the changes.
//!
//! Where the pieces are missing they are derived, and each step is recorded as
//! a [`Derivation`]: change = post − pre; SD = SE·√n when `disp_type = se`; the
//! SD of a change from pre/post SDs and `r_prepost`; correlations imputed at
//! [`SpotOptions::r_impute`] (0.5) when not reported. If no arm statistics
//! exist, a reported between-arm difference with its SE, 95% CI, t or exact p
//! (and n per arm) gives the effect through a t statistic (metafor `ti=`).

use super::convert::{sd_change, sd_from_se, se_from_ci, t_from_p};
use super::{Derivation, EffectSize, Measure, change, cmi, means};
use crate::data::{Design, Direction, DispType, SpotRow, ValueSource};

/// Options for computing effect sizes from dataset rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotOptions {
    /// Correlation imputed where a pre–post or between-limb correlation is
    /// needed but not reported (default 0.5; sensitivity analyses vary it).
    pub r_impute: f64,
}

impl Default for SpotOptions {
    fn default() -> Self {
        SpotOptions { r_impute: 0.5 }
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

/// Mean change and its SD for one arm, deriving what is missing.
fn arm(
    row: &SpotRow,
    which: &str,
    n: Option<u32>,
    cols: ArmColumns,
    opts: &SpotOptions,
    log: &mut Vec<Derivation>,
) -> Result<Arm, Missing> {
    let se = row.disp_type == Some(DispType::Se);
    let to_sd = |x: f64, what: &str, log: &mut Vec<Derivation>| -> Result<f64, Missing> {
        if se {
            let n = n.ok_or_else(|| format!("{which}: SEs need n to become SDs"))?;
            log.push(Derivation::SdFromSe {
                what: what.to_string(),
            });
            Ok(sd_from_se(x, n as f64))
        } else {
            Ok(x)
        }
    };
    let change = match (cols.change_mean, cols.pre_mean, cols.post_mean) {
        (Some(c), _, _) => c,
        (None, Some(a), Some(b)) => {
            log.push(Derivation::ChangeFromPrePost {
                what: which.to_string(),
            });
            b - a
        }
        _ => return Err(format!("{which}: no mean change and no pre/post means")),
    };
    let sd = match (cols.change_sd, cols.pre_sd, cols.post_sd) {
        (Some(s), _, _) => to_sd(s, &format!("{which} change SD"), log)?,
        (None, Some(a), Some(b)) => {
            let a = to_sd(a, &format!("{which} pre SD"), log)?;
            let b = to_sd(b, &format!("{which} post SD"), log)?;
            let (r, imputed) = match (row.r_prepost, row.r_prepost_source) {
                (Some(r), Some(ValueSource::Imputed)) => (r, true),
                (Some(r), _) => (r, false),
                (None, _) => (opts.r_impute, true),
            };
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
    let design = row.design.ok_or("design is not recorded")?;
    let within = matches!(design, Design::WithinSubject | Design::Crossover);
    let mut log = Vec::new();
    let nt = row.n_trained;
    let nc = if within { row.n_trained } else { row.n_control };
    let t_arm = arm(row, "trained", nt, ArmColumns::trained(row), opts, &mut log);
    let c_arm = arm(
        row,
        "comparison",
        nc,
        ArmColumns::comparison(row),
        opts,
        &mut log,
    );
    let n_missing = || {
        if within {
            "n (participants) is not reported".to_string()
        } else {
            "n per arm is not reported".to_string()
        }
    };
    match (t_arm, c_arm) {
        (Ok(t), Ok(c)) => {
            if within {
                let n = nt.ok_or_else(n_missing)? as f64;
                let r = match (row.r, row.r_source) {
                    (Some(r), Some(ValueSource::Imputed)) => {
                        log.push(Derivation::ImputedCorrelation {
                            what: "between-limb r".into(),
                            r,
                        });
                        r
                    }
                    (Some(r), _) => r,
                    (None, _) => {
                        log.push(Derivation::ImputedCorrelation {
                            what: "between-limb r".into(),
                            r: opts.r_impute,
                        });
                        opts.r_impute
                    }
                };
                let (yi, vi) = change::smcc(c.change, t.change, c.sd, t.sd, n, r)
                    .ok_or("n too small (n <= 2)")?;
                Ok(EffectSize {
                    yi,
                    vi,
                    measure: Measure::SMCC,
                    derivations: log,
                })
            } else {
                let (n_t, n_c) = (
                    nt.ok_or_else(n_missing)? as f64,
                    row.n_control.ok_or_else(n_missing)? as f64,
                );
                let (yi, vi) = means::smd(c.change, c.sd, n_c, t.change, t.sd, n_t)
                    .ok_or("n too small (n1 + n2 <= 3)")?;
                Ok(EffectSize {
                    yi,
                    vi,
                    measure: Measure::SMD,
                    derivations: log,
                })
            }
        }
        (t_arm, c_arm) => {
            // No full arm statistics: try a reported between-arm statistic.
            let mut log = Vec::new();
            let why = [t_arm.err(), c_arm.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            if within {
                let n = nt.ok_or_else(|| format!("{why}; {}", n_missing()))? as f64;
                let (t, what) = reported_t(row, n - 1.0)
                    .ok_or_else(|| format!("{why}; no between-limb SE, CI, t or exact p"))?;
                log.push(Derivation::FromReportedStatistic { what });
                // metafor SMCC with ti: d = t·√(1/n); sign flipped to favour the trained limb.
                let c = cmi(n - 1.0).ok_or("n too small")?;
                let yi = c * (-t) / n.sqrt();
                Ok(EffectSize {
                    yi,
                    vi: 1.0 / n + yi * yi / (2.0 * n),
                    measure: Measure::SMCC,
                    derivations: log,
                })
            } else {
                let (n_t, n_c) = match (nt, row.n_control) {
                    (Some(a), Some(b)) => (a as f64, b as f64),
                    _ => return Err(format!("{why}; {}", n_missing())),
                };
                let (t, what) = reported_t(row, n_t + n_c - 2.0)
                    .ok_or_else(|| format!("{why}; no between-arm SE, CI, t or exact p"))?;
                log.push(Derivation::FromReportedStatistic { what });
                let (yi, vi) = means::smd_from_t(-t, n_c, n_t).ok_or("n too small")?;
                Ok(EffectSize {
                    yi,
                    vi,
                    measure: Measure::SMD,
                    derivations: log,
                })
            }
        }
    }
}
