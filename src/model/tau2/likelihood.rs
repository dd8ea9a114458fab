//! Likelihood-based estimators: ML and REML (Viechtbauer 2005, *Journal of
//! Educational and Behavioral Statistics* 30:261–293) and empirical Bayes
//! (Morris 1983; Berkey et al. 1995), fitted by Fisher scoring as in metafor:
//!
//! * ML:   τ² ← τ² + (yᵀPPy − Σw) / Σw²
//! * REML: τ² ← τ² + (yᵀPPy − tr P) / tr PP
//! * EB:   τ² ← τ² + (yᵀPy · k/(k−1) − k) / Σw
//!
//! starting from the DerSimonian–Laird estimate (ML, REML) or Hedges' (EB,
//! as metafor), halving a step that would leave [0, ∞).
//! Unlike metafor, where the objective is locally concave the step uses the
//! observed instead of the expected information (a Newton step: 2·yᵀPPPy − tr PP
//! for REML, 2·yᵀPPPy − Σw² for ML; for EB Newton on Q(τ²) = k − 1), which
//! converges quadratically instead of linearly (5–8 iterations to 1e-12
//! instead of 50–200). A step that does not shrink is also checked against the
//! likelihood and halved until the likelihood does not decrease, and if Fisher
//! scoring still fails to converge within `maxiter`, the score equation is
//! solved by a bracketed search (Brent) so that an answer is found whenever the
//! likelihood has a maximum on [0, ∞). The ML/REML answer is then certified as
//! the global maximum over [0, ∞), τ² = 0 included, or replaced by the better
//! maximum ([`super::global`]); metafor only compares with τ² = 0.

use super::global::{Maximum, Point, global_maximum, logdet, loglik_of};
use super::pm::{se_eb_pm, solve_q};
use super::{ConvergencePath, Tau2Estimate, he_raw};
use crate::error::{Error, Result};
use crate::model::options::{Method, ValidRmaOptions};
use crate::model::roots::{bracket_above, brent};
use crate::model::sums::Sums;

/// Log-likelihood (up to a constant) for ML or restricted likelihood for
/// REML, from the sums `s` at τ².
fn loglik(vi: &[f64], tau2: f64, s: &Sums, reml: bool) -> f64 {
    loglik_of(logdet(vi, tau2), s, reml)
}

/// Step from `s` (the sums at the current τ²): Newton with the observed
/// information where it is positive (the objective is locally concave),
/// otherwise the Fisher-scoring step with the expected information.
#[inline]
fn step(method: Method, s: &Sums) -> f64 {
    let (score, expected, observed) = match method {
        // 2·score, 2·expected information, 2·observed information
        Method::ML => (s.rss2 - s.sw, s.sw2, 2.0 * s.yp3y() - s.sw2),
        Method::REML => {
            let tr_pp = s.tr_pp();
            (s.rss2 - s.tr_p(), tr_pp, 2.0 * s.yp3y() - tr_pp)
        }
        // EB: Newton on its estimating equation Q(τ²) = k − 1 (dQ/dτ² = −yᵀPPy);
        // metafor's scoring step (Q·k/(k−1) − k)/Σw is the fallback.
        _ => {
            let fisher = (s.rss * s.k / (s.k - 1.0) - s.k) / s.sw;
            let newton = (s.rss - (s.k - 1.0)) / s.rss2;
            return if newton.is_finite() { newton } else { fisher };
        }
    };
    if observed > 0.0 && observed.is_finite() {
        score / observed
    } else {
        score / expected
    }
}

/// Score (up to a positive factor) from the sums at τ²: positive where the
/// objective increases.
fn score(method: Method, s: &Sums) -> f64 {
    match method {
        Method::ML => s.rss2 - s.sw,
        Method::REML => s.rss2 - s.tr_p(),
        _ => s.rss - (s.k - 1.0),
    }
}

fn se(method: Method, s: &Sums) -> f64 {
    match method {
        Method::ML => (2.0 / s.sw2).sqrt(),
        Method::REML => (2.0 / s.tr_pp()).sqrt(),
        _ => se_eb_pm(s),
    }
}

#[inline(never)]
pub(super) fn fit(
    yi: &[f64],
    vi: &[f64],
    fe: &Sums,
    opts: &ValidRmaOptions,
) -> Result<Tau2Estimate> {
    let method = opts.method;
    let likelihood = matches!(method, Method::ML | Method::REML);
    let reml = method == Method::REML;
    // Start: for ML and REML the DerSimonian–Laird estimate, free from the
    // sums at τ² = 0 (metafor starts from Hedges'; the start only sets the
    // path, the global search certifies the answer, and DL is usually much
    // closer: 4 Newton steps instead of 7 on the bench data); for EB
    // Hedges', as in metafor.
    let mut tau2 = if likelihood {
        ((fe.rss - (fe.k - 1.0)) / fe.tr_p()).max(0.0)
    } else {
        he_raw(yi, vi).max(0.0)
    };
    let mut s = if tau2 == 0.0 {
        *fe
    } else {
        Sums::near(yi, vi, tau2, fe.mu)
    };
    // Points Fisher scoring visits, kept for the global search's scan: the
    // first few that are more than 1% apart (later iterates crowd around τ̂
    // and would only lengthen the scan's look-up).
    let mut seen = [Point { t: 0.0, s: *fe }; 4];
    let mut n_seen = 0;
    let mut keep = |t: f64, s: &Sums| {
        if t > 0.0
            && n_seen < seen.len()
            && (n_seen == 0 || (t - seen[n_seen - 1].t).abs() > 0.01 * t)
        {
            seen[n_seen] = Point { t, s: *s };
            n_seen += 1;
        }
    };
    keep(tau2, &s);
    let mut prev_step = f64::INFINITY;
    let mut halved = false;
    let mut converged = false;
    let mut iterations = 0;
    while iterations < opts.maxiter {
        iterations += 1;
        let mut adj = step(method, &s);
        if !adj.is_finite() {
            break;
        }
        if tau2 + adj < 0.0 {
            // Heading for the boundary: if the objective decreases from τ² = 0
            // the maximum is there; stop instead of halving towards it.
            if method != Method::EB && score(method, fe) <= 0.0 {
                tau2 = 0.0;
                s = *fe;
                converged = true;
                break;
            }
            while tau2 + adj < 0.0 {
                adj /= 2.0;
                halved = true;
            }
        }
        let mut next = Sums::near(yi, vi, tau2 + adj, s.mu);
        // A step that does not shrink may be overshooting: make sure the
        // (restricted) likelihood does not go down.
        if likelihood && adj.abs() >= prev_step.abs() {
            let ll_old = loglik(vi, tau2, &s, reml);
            let mut tries = 0;
            while loglik(vi, tau2 + adj, &next, reml) < ll_old && tries < 60 {
                adj /= 2.0;
                tries += 1;
                halved = true;
                next = Sums::near(yi, vi, tau2 + adj, s.mu);
            }
        }
        prev_step = adj;
        tau2 += adj;
        s = next;
        keep(tau2, &s);
        if adj.abs() <= opts.threshold * tau2.max(1.0) {
            converged = true;
            break;
        }
    }
    let mut path = if halved {
        ConvergencePath::FisherScoringStepHalving
    } else {
        ConvergencePath::FisherScoring
    };

    if !converged {
        // Fallback: bracketed search for the root of the score equation.
        let (root, evals) = if method == Method::EB {
            let k = yi.len() as f64;
            let (r, e, _) =
                solve_q(yi, vi, fe, k - 1.0, opts.tol, opts.maxiter).ok_or_else(|| fail(method))?;
            (r, e)
        } else if score(method, fe) <= 0.0 {
            (0.0, 1)
        } else {
            let vmax = vi.iter().cloned().fold(0.0, f64::max);
            let f = |t: f64| score(method, &Sums::near(yi, vi, t, fe.mu));
            let hi = bracket_above(f, vmax.max(1e-4) * 10.0).ok_or_else(|| fail(method))?;
            brent(f, 0.0, hi, opts.tol, opts.maxiter).ok_or_else(|| fail(method))?
        };
        tau2 = root;
        s = if tau2 == 0.0 {
            *fe
        } else {
            Sums::near(yi, vi, tau2, fe.mu)
        };
        iterations += evals;
        path = ConvergencePath::Bracketed;
    }

    if tau2 <= 0.0 {
        tau2 = 0.0;
        s = *fe;
        path = ConvergencePath::Boundary;
    }
    // Certify the local answer as the global maximum over [0, inf), or
    // replace it by the better one (this also covers metafor's ll0check).
    let mut other_maximum = None;
    if likelihood {
        let hat = Maximum {
            tau2,
            ll: loglik(vi, tau2, &s, reml),
            sums: s,
        };
        let out = global_maximum(yi, vi, fe, hat, &seen[..n_seen], reml);
        iterations += out.evaluations;
        if out.best.tau2 != tau2 {
            tau2 = out.best.tau2;
            s = out.best.sums;
            path = if tau2 == 0.0 {
                ConvergencePath::Boundary
            } else {
                ConvergencePath::GlobalSearch
            };
        }
        other_maximum = out
            .maxima
            .iter()
            .flatten()
            .filter(|&&(t, _)| t != tau2)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|&(t, ll)| (t, ll, tau2, out.best.ll));
    }
    Ok(Tau2Estimate {
        tau2,
        se_tau2: Some(se(method, &s)),
        iterations,
        path,
        pool: s.pool(),
        other_maximum,
    })
}

fn fail(method: Method) -> Error {
    Error::Numerical {
        what: format!("{method} estimation"),
        message: "neither Fisher scoring nor the bracketed fallback converged; the likelihood may have no maximum on [0, inf). Try --method DL or PM".into(),
    }
}
