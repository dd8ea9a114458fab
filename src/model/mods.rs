//! Mixed-effects meta-regression: metafor's `rma(yi, vi, mods = X)` with an
//! intercept and p − 1 moderators (Raudenbush 2009; Viechtbauer 2005).
//!
//! Unlike the intercept-only path ([`crate::rma`]) this forms the k × k matrix
//! P = W − W X (XᵀWX)⁻¹ XᵀW explicitly: moderator analyses are small (p ≪ k,
//! k in the tens) and not on any hot path, and the explicit form mirrors
//! metafor's equations one for one:
//!
//! * DL: τ² = (yᵀPy − (k − p)) / tr P with W = diag(1/vᵢ)
//! * HE: τ² = (yᵀPy − tr PV) / (k − p) with W = I
//! * HS: τ² = (yᵀPy − k) / Σwᵢ; SJ: τ² = τ₀² yᵀPy/(k − p) with W = 1/(vᵢ + τ₀²)
//! * PM: the root of yᵀP(τ²)y = k − p; EB: Fisher scoring on the same equation
//! * ML/REML: Fisher scoring (Newton where the likelihood is locally concave)
//!
//! The omnibus test QM covers every coefficient but the intercept (χ²(p − 1),
//! or F(p − 1, k − p) under Knapp–Hartung); QE tests residual heterogeneity;
//! R² = max(0, (τ²_RE − τ²)/τ²_RE) uses the intercept-only fit with the same
//! method (metafor's pseudo-R²).

use super::options::{Method, TestKind, ValidRmaOptions};
use super::roots::{bracket_above, brent};
use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;

/// Row-major k × p design matrix (first column should be the intercept).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    /// Rows.
    pub k: usize,
    /// Columns.
    pub p: usize,
    /// Values, row-major.
    pub x: Vec<f64>,
    /// Column names.
    pub names: Vec<String>,
}

impl Design {
    /// Intercept plus the given moderator columns.
    pub fn with_intercept(mods: &[(&str, &[f64])]) -> Result<Design> {
        let k = mods
            .first()
            .map(|m| m.1.len())
            .ok_or_else(|| Error::Unsupported("no moderators given".into()))?;
        let p = mods.len() + 1;
        let mut x = Vec::with_capacity(k * p);
        for i in 0..k {
            x.push(1.0);
            for (_, col) in mods {
                x.push(col[i]);
            }
        }
        let mut names = vec!["intrcpt".to_string()];
        names.extend(mods.iter().map(|m| m.0.to_string()));
        Ok(Design { k, p, x, names })
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        self.x[i * self.p + j]
    }

    /// The same design with its rows in `order` (for permutation tests).
    pub fn permuted_rows(&self, order: &[usize]) -> Design {
        let mut x = Vec::with_capacity(self.x.len());
        for &i in order {
            x.extend_from_slice(&self.x[i * self.p..(i + 1) * self.p]);
        }
        Design { x, ..self.clone() }
    }
}

/// A fitted meta-regression. Names follow metafor's `rma` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RmaModsFit {
    /// Studies.
    pub k: usize,
    /// Coefficients.
    pub p: usize,
    /// Method.
    pub method: Method,
    /// Test.
    pub test: TestKind,
    /// Coefficient names.
    pub names: Vec<String>,
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Their SEs.
    pub se: Vec<f64>,
    /// z (or t) statistics.
    pub zval: Vec<f64>,
    /// p-values.
    pub pval: Vec<f64>,
    /// CI lower bounds.
    pub ci_lb: Vec<f64>,
    /// CI upper bounds.
    pub ci_ub: Vec<f64>,
    /// Variance–covariance of the coefficients (row-major p × p).
    pub vb: Vec<f64>,
    /// Residual τ².
    pub tau2: f64,
    /// SE of τ² (None for FE).
    pub se_tau2: Option<f64>,
    /// Residual I² (%).
    pub i2: f64,
    /// Residual H².
    pub h2: f64,
    /// Pseudo-R² (%) (None for FE).
    pub r2: Option<f64>,
    /// Test for residual heterogeneity.
    pub qe: f64,
    /// Its p-value.
    pub qe_pval: f64,
    /// Omnibus test of the moderators (F statistic under knha).
    pub qm: f64,
    /// Its degrees of freedom (m, and k − p under knha).
    pub qm_df: (usize, Option<usize>),
    /// Its p-value.
    pub qm_pval: f64,
    /// Knapp–Hartung factor (1 under z).
    pub s2w: f64,
    /// Confidence level (fraction).
    pub level: f64,
}

type Mat = Vec<f64>;

/// Inverse of a symmetric positive-definite p × p matrix (row-major).
fn spd_inverse(a: &[f64], p: usize) -> Option<Mat> {
    super::linalg::spd_inverse(&super::linalg::Mat::from_rows(p, p, a.to_vec())).map(|m| m.d)
}

/// Everything at one set of weights: (XᵀWX)⁻¹, β, P (k × k).
struct Proj {
    a: Mat,
    beta: Vec<f64>,
    p: Mat,
}

fn project(yi: &[f64], x: &Design, w: &[f64]) -> Result<Proj> {
    let (k, p) = (x.k, x.p);
    let mut xtwx = vec![0.0; p * p];
    let mut xtwy = vec![0.0; p];
    for i in 0..k {
        for a in 0..p {
            xtwy[a] += x.at(i, a) * w[i] * yi[i];
            for b in 0..p {
                xtwx[a * p + b] += x.at(i, a) * w[i] * x.at(i, b);
            }
        }
    }
    let a = spd_inverse(&xtwx, p).ok_or_else(|| {
        Error::Unsupported("the moderators are collinear (or constant): X'WX cannot be inverted; drop or recode a moderator".into())
    })?;
    let beta: Vec<f64> = (0..p)
        .map(|r| (0..p).map(|c| a[r * p + c] * xtwy[c]).sum())
        .collect();
    // P = W − W X A Xᵀ W
    let mut xa = vec![0.0; k * p];
    for i in 0..k {
        for c in 0..p {
            xa[i * p + c] = (0..p).map(|m| x.at(i, m) * a[m * p + c]).sum();
        }
    }
    let mut pm = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let h: f64 = (0..p).map(|c| xa[i * p + c] * x.at(j, c)).sum();
            pm[i * k + j] = if i == j { w[i] } else { 0.0 } - w[i] * h * w[j];
        }
    }
    Ok(Proj { a, beta, p: pm })
}

fn quad(p: &[f64], k: usize, u: &[f64], v: &[f64]) -> f64 {
    (0..k)
        .map(|i| u[i] * (0..k).map(|j| p[i * k + j] * v[j]).sum::<f64>())
        .sum()
}

fn mat_vec(p: &[f64], k: usize, v: &[f64]) -> Vec<f64> {
    (0..k)
        .map(|i| (0..k).map(|j| p[i * k + j] * v[j]).sum())
        .collect()
}

fn trace(p: &[f64], k: usize) -> f64 {
    (0..k).map(|i| p[i * k + i]).sum()
}

/// Σ_ij P_ij² x_i y_j.
fn p2(p: &[f64], k: usize, x: impl Fn(usize) -> f64, y: impl Fn(usize) -> f64) -> f64 {
    let mut s = 0.0;
    for i in 0..k {
        for j in 0..k {
            s += p[i * k + j] * p[i * k + j] * x(i) * y(j);
        }
    }
    s
}

fn weights(vi: &[f64], tau2: f64) -> Vec<f64> {
    vi.iter().map(|v| 1.0 / (v + tau2)).collect()
}

/// yᵀP(τ²)y, the generalised Q statistic.
fn rss_at(yi: &[f64], vi: &[f64], x: &Design, tau2: f64) -> Result<f64> {
    let pr = project(yi, x, &weights(vi, tau2))?;
    Ok(quad(&pr.p, x.k, yi, yi))
}

/// Estimate τ² and its SE for the mixed-effects model.
fn estimate_tau2(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    opts: &ValidRmaOptions,
) -> Result<(f64, Option<f64>)> {
    let (k, p) = (x.k, x.p);
    let (kf, df) = (k as f64, (k - p) as f64);
    let he = {
        let ones = vec![1.0; k];
        let pr = project(yi, x, &ones)?;
        let rss = quad(&pr.p, k, yi, yi);
        let tr_pv: f64 = (0..k).map(|i| pr.p[i * k + i] * vi[i]).sum();
        let tau2 = (rss - tr_pv) / df;
        let se = ((2.0 * p2(&pr.p, k, |i| vi[i], |i| vi[i])
            + 4.0 * tau2.max(0.0) * tr_pv
            + 2.0 * tau2.max(0.0).powi(2) * df)
            / (df * df))
            .sqrt();
        (tau2, se)
    };
    let fe_w = weights(vi, 0.0);
    Ok(match opts.method() {
        Method::FE => (0.0, None),
        Method::HE => (he.0.max(0.0), Some(he.1)),
        Method::DL | Method::HS => {
            let pr = project(yi, x, &fe_w)?;
            let rss = quad(&pr.p, k, yi, yi);
            let tr_p = trace(&pr.p, k);
            let sw: f64 = fe_w.iter().sum();
            let tr_pp = p2(&pr.p, k, |_| 1.0, |_| 1.0);
            if opts.method() == Method::DL {
                let t = ((rss - df) / tr_p).max(0.0);
                (
                    t,
                    Some(
                        ((2.0 * df + 4.0 * t * tr_p + 2.0 * t * t * tr_pp) / (tr_p * tr_p)).sqrt(),
                    ),
                )
            } else {
                let t = ((rss - kf) / sw).max(0.0);
                (
                    t,
                    Some(((2.0 * df + 4.0 * t * tr_p + 2.0 * t * t * tr_pp) / (sw * sw)).sqrt()),
                )
            }
        }
        Method::SJ => {
            let ybar = yi.iter().sum::<f64>() / kf;
            let tau0 = yi.iter().map(|y| (y - ybar).powi(2)).sum::<f64>() / kf;
            let pr = project(yi, x, &weights(vi, tau0))?;
            let t = (tau0 * quad(&pr.p, k, yi, yi) / df).max(0.0);
            let pvpv = p2(&pr.p, k, |i| vi[i], |i| vi[i]);
            let pvp = p2(&pr.p, k, |_| 1.0, |i| vi[i]);
            let tr_pp = p2(&pr.p, k, |_| 1.0, |_| 1.0);
            (
                t,
                Some(
                    (tau0 * tau0 / (df * df) * (2.0 * pvpv + 4.0 * t * pvp + 2.0 * t * t * tr_pp))
                        .sqrt(),
                ),
            )
        }
        Method::PM => {
            let t = solve_q(yi, vi, x, df, opts)?;
            let sw: f64 = weights(vi, t).iter().sum();
            (t, Some((2.0 * kf * kf / df).sqrt() / sw))
        }
        Method::ML | Method::REML | Method::EB => {
            let method = opts.method();
            let mut tau2 = he.0.max(0.0);
            let mut converged = false;
            for _ in 0..opts.maxiter {
                let w = weights(vi, tau2);
                let pr = project(yi, x, &w)?;
                let py = mat_vec(&pr.p, k, yi);
                let yppy: f64 = py.iter().map(|v| v * v).sum();
                let sw: f64 = w.iter().sum();
                let mut adj = match method {
                    Method::ML => {
                        let sw2: f64 = w.iter().map(|v| v * v).sum();
                        let obs = 2.0 * quad(&pr.p, k, &py, &py) - sw2;
                        (yppy - sw) / if obs > 0.0 { obs } else { sw2 }
                    }
                    Method::REML => {
                        let tr_pp = p2(&pr.p, k, |_| 1.0, |_| 1.0);
                        let obs = 2.0 * quad(&pr.p, k, &py, &py) - tr_pp;
                        (yppy - trace(&pr.p, k)) / if obs > 0.0 { obs } else { tr_pp }
                    }
                    _ => (quad(&pr.p, k, yi, yi) * kf / df - kf) / sw,
                };
                if !adj.is_finite() {
                    break;
                }
                while tau2 + adj < 0.0 {
                    adj /= 2.0;
                }
                tau2 += adj;
                if adj.abs() <= opts.threshold * tau2.max(1.0) {
                    converged = true;
                    break;
                }
            }
            if !converged {
                // Bracketed fallback on the estimating equation.
                tau2 = match method {
                    Method::EB => solve_q(yi, vi, x, df, opts)?,
                    _ => {
                        let score = |t: f64| -> f64 {
                            let w = weights(vi, t);
                            let Ok(pr) = project(yi, x, &w) else {
                                return f64::NAN;
                            };
                            let py = mat_vec(&pr.p, k, yi);
                            let yppy: f64 = py.iter().map(|v| v * v).sum();
                            if method == Method::ML {
                                yppy - w.iter().sum::<f64>()
                            } else {
                                yppy - trace(&pr.p, k)
                            }
                        };
                        if score(0.0) <= 0.0 {
                            0.0
                        } else {
                            let hi = bracket_above(score, 1.0).ok_or_else(fail)?;
                            brent(score, 0.0, hi, opts.tol, opts.maxiter)
                                .ok_or_else(fail)?
                                .0
                        }
                    }
                };
            }
            let tau2 = tau2.max(0.0);
            let w = weights(vi, tau2);
            let pr = project(yi, x, &w)?;
            let se = match method {
                Method::ML => (2.0 / w.iter().map(|v| v * v).sum::<f64>()).sqrt(),
                Method::REML => (2.0 / p2(&pr.p, k, |_| 1.0, |_| 1.0)).sqrt(),
                _ => (2.0 * kf * kf / df).sqrt() / w.iter().sum::<f64>(),
            };
            (tau2, Some(se))
        }
    })
}

fn solve_q(yi: &[f64], vi: &[f64], x: &Design, target: f64, opts: &ValidRmaOptions) -> Result<f64> {
    let f = |t: f64| rss_at(yi, vi, x, t).map(|r| r - target).unwrap_or(f64::NAN);
    if f(0.0) <= 0.0 {
        return Ok(0.0);
    }
    let hi = bracket_above(f, 1.0).ok_or_else(fail)?;
    Ok(brent(f, 0.0, hi, opts.tol, opts.maxiter)
        .ok_or_else(fail)?
        .0)
}

fn fail() -> Error {
    Error::Numerical {
        what: "tau^2 estimation in the meta-regression".into(),
        message: "no root could be bracketed; check the moderators and sampling variances".into(),
    }
}

/// Fit a mixed-effects meta-regression (metafor `rma(yi, vi, mods = ~ …)`).
pub fn rma_mods(yi: &[f64], vi: &[f64], x: &Design, opts: &ValidRmaOptions) -> Result<RmaModsFit> {
    let (k, p) = (x.k, x.p);
    if yi.len() != k || vi.len() != k {
        return Err(Error::Unsupported(
            "yi, vi and the moderators must have the same number of rows".into(),
        ));
    }
    if k <= p {
        return Err(Error::Unsupported(format!(
            "{k} studies cannot support {p} coefficients; a meta-regression needs more studies than coefficients"
        )));
    }
    let (tau2, se_tau2) = estimate_tau2(yi, vi, x, opts)?;
    let w = weights(vi, tau2);
    let pr = project(yi, x, &w)?;
    let df = k - p;
    let test = opts.test();
    let mut s2w = 1.0;
    if test.uses_t() {
        let rss = quad(&pr.p, k, yi, yi);
        s2w = if rss <= f64::EPSILON {
            0.0
        } else {
            rss / df as f64
        };
        if test == TestKind::Adhoc && s2w < 1.0 {
            s2w = 1.0;
        }
    }
    let vb: Vec<f64> = pr.a.iter().map(|v| v * s2w).collect();
    let se: Vec<f64> = (0..p).map(|j| vb[j * p + j].sqrt()).collect();
    let zval: Vec<f64> = (0..p).map(|j| pr.beta[j] / se[j]).collect();
    let (crit, pval): (f64, Vec<f64>) = if test.uses_t() {
        (
            dist::qt_crit(opts.level(), df),
            zval.iter()
                .map(|z| dist::pt_two_sided(*z, df as f64))
                .collect(),
        )
    } else {
        (
            dist::qnorm(1.0 - (1.0 - opts.level()) / 2.0),
            zval.iter().map(|z| dist::pnorm_two_sided(*z)).collect(),
        )
    };
    // Omnibus test of the moderators (all but the intercept).
    let m = p - 1;
    let (qm, qm_pval) = if m == 0 {
        (0.0, 1.0)
    } else {
        let sub: Vec<f64> = (1..p)
            .flat_map(|a| (1..p).map(move |b| (a, b)))
            .map(|(a, b)| vb[a * p + b])
            .collect();
        let inv = spd_inverse(&sub, m).ok_or_else(fail)?;
        let b: Vec<f64> = pr.beta[1..].to_vec();
        let q = quad(&inv, m, &b, &b);
        if test.uses_t() {
            let f = q / m as f64;
            (f, dist::pf_upper(f, m as f64, df as f64))
        } else {
            (q, dist::pchisq_upper(q, m as f64))
        }
    };
    // Residual heterogeneity with inverse-variance weights.
    let fe = project(yi, x, &weights(vi, 0.0))?;
    let qe = quad(&fe.p, k, yi, yi).max(0.0);
    let vt = df as f64 / trace(&fe.p, k);
    let (i2, h2) = if opts.method() == Method::FE {
        ((100.0 * (qe - df as f64) / qe).max(0.0), qe / df as f64)
    } else {
        (100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0)
    };
    let r2 = if opts.method() == Method::FE {
        None
    } else {
        let re = crate::model::rma(yi, vi, opts)?;
        Some(if re.tau2 > 0.0 {
            (100.0 * (re.tau2 - tau2) / re.tau2).max(0.0)
        } else {
            0.0
        })
    };
    Ok(RmaModsFit {
        k,
        p,
        method: opts.method(),
        test,
        names: x.names.clone(),
        ci_lb: (0..p).map(|j| pr.beta[j] - crit * se[j]).collect(),
        ci_ub: (0..p).map(|j| pr.beta[j] + crit * se[j]).collect(),
        beta: pr.beta,
        se,
        zval,
        pval,
        vb,
        tau2,
        se_tau2,
        i2,
        h2,
        r2,
        qe,
        qe_pval: dist::pchisq_upper(qe, df as f64),
        qm,
        qm_df: (m, test.uses_t().then_some(df)),
        qm_pval,
        s2w,
        level: opts.level(),
    })
}

/// Prediction at moderator values `x0` (including the leading 1), with CI and
/// prediction interval (metafor `predict(fit, newmods=)`).
pub fn predict_mods(fit: &RmaModsFit, x0: &[f64]) -> super::Prediction {
    let p = fit.p;
    let pred: f64 = (0..p).map(|j| x0[j] * fit.beta[j]).sum();
    let var: f64 = (0..p)
        .flat_map(|a| (0..p).map(move |b| (a, b)))
        .map(|(a, b)| x0[a] * fit.vb[a * p + b] * x0[b])
        .sum();
    let crit = match fit.qm_df.1 {
        Some(df) => dist::qt_crit(fit.level, df),
        None => dist::qnorm(1.0 - (1.0 - fit.level) / 2.0),
    };
    let se = var.sqrt();
    let pi = (var + fit.tau2).sqrt();
    super::Prediction {
        pred,
        se,
        ci_lb: pred - crit * se,
        ci_ub: pred + crit * se,
        pi_lb: pred - crit * pi,
        pi_ub: pred + crit * pi,
    }
}
