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

use super::linalg::{Mat, chol_upper};
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
    /// The intercept-only design of k rows (a column of ones).
    pub fn intercept_only(k: usize) -> Design {
        Design {
            k,
            p: 1,
            x: vec![1.0; k],
            names: vec!["intrcpt".into()],
        }
    }

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

    /// Whether the first column is an intercept (all ones; named `intrcpt`
    /// by [`Design::with_intercept`] and the formula code). Without one, the
    /// omnibus test QM covers every coefficient and there is no pseudo-R²
    /// (metafor's `btt = 1:p`, `R2 = NULL`).
    pub fn has_intercept(&self) -> bool {
        self.p > 0 && (0..self.k).all(|i| self.at(i, 0) == 1.0)
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
    #[serde(rename = "I2")]
    pub i2: f64,
    /// Residual H².
    #[serde(rename = "H2")]
    pub h2: f64,
    /// Pseudo-R² (%) (None for FE).
    #[serde(rename = "R2")]
    pub r2: Option<f64>,
    /// Test for residual heterogeneity.
    #[serde(rename = "QE")]
    pub qe: f64,
    /// Its p-value.
    #[serde(rename = "QEp")]
    pub qe_pval: f64,
    /// Omnibus test of the moderators (F statistic under knha).
    #[serde(rename = "QM")]
    pub qm: f64,
    /// Its degrees of freedom (m, and k − p under knha).
    #[serde(rename = "QMdf")]
    pub qm_df: (usize, Option<usize>),
    /// Its p-value.
    #[serde(rename = "QMp")]
    pub qm_pval: f64,
    /// Knapp–Hartung factor (1 under z).
    pub s2w: f64,
    /// Confidence level (fraction).
    #[serde(serialize_with = "crate::model::serialize_level_percent")]
    pub level: f64,
    /// ML/REML: the maximised (restricted) log-likelihood with metafor's
    /// constants (`logLik()`); None for the other methods.
    pub loglik: Option<f64>,
    /// What the reader should know about the fit (e.g. several local maxima
    /// of the likelihood, with their values).
    pub notes: Vec<String>,
}

/// Inverse of a symmetric positive-definite p × p matrix (row-major).
fn spd_inverse(a: &[f64], p: usize) -> Option<Vec<f64>> {
    super::linalg::spd_inverse(&super::linalg::Mat::from_rows(p, p, a.to_vec())).map(|m| m.d)
}

/// Everything at one set of weights W: A = (XᵀWX)⁻¹, β, and the projection
/// P = W − W X A Xᵀ W, kept implicit. P is k × k; forming it cost O(k²)
/// time and memory (800 MB at k = 10,000, issue #19), while every quantity
/// the estimators need from it is a sum over the studies and p × p
/// products ([`Proj::diag`], [`Proj::trace`], [`Proj::p2`]): O(k p²).
struct Proj {
    a: Vec<f64>,
    beta: Vec<f64>,
    w: Vec<f64>,
    /// hᵢ = xᵢᵀ A xᵢ.
    h: Vec<f64>,
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
    let h = (0..k)
        .map(|i| {
            (0..p)
                .map(|c| (0..p).map(|m| x.at(i, m) * a[m * p + c]).sum::<f64>() * x.at(i, c))
                .sum()
        })
        .collect();
    Ok(Proj {
        a,
        beta,
        w: w.to_vec(),
        h,
    })
}

impl Proj {
    /// Pᵢᵢ = wᵢ − wᵢ² hᵢ.
    fn diag(&self, i: usize) -> f64 {
        let w = self.w[i];
        w - w * self.h[i] * w
    }

    /// tr(P).
    fn trace(&self) -> f64 {
        (0..self.w.len()).map(|i| self.diag(i)).sum()
    }

    /// Σᵢⱼ Pᵢⱼ² f(i) g(j). With Pᵢⱼ = wᵢδᵢⱼ − wᵢwⱼxᵢᵀAxⱼ:
    /// Σᵢ wᵢ² fᵢgᵢ − 2 Σᵢ wᵢ³ hᵢ fᵢgᵢ + tr(A M_g A M_f), where
    /// M_f = Σᵢ wᵢ² fᵢ xᵢxᵢᵀ (the last term is Σᵢⱼ wᵢ²fᵢ wⱼ²gⱼ (xᵢᵀAxⱼ)²).
    fn p2(&self, x: &Design, f: impl Fn(usize) -> f64, g: impl Fn(usize) -> f64) -> f64 {
        let (k, p) = (x.k, x.p);
        let mut diag = 0.0;
        let mut mf = vec![0.0; p * p];
        let mut mg = vec![0.0; p * p];
        for i in 0..k {
            let (w, fi, gi) = (self.w[i], f(i), g(i));
            let w2 = w * w;
            diag += w2 * fi * gi - 2.0 * w2 * w * self.h[i] * fi * gi;
            for r in 0..p {
                for c in 0..p {
                    let xx = x.at(i, r) * x.at(i, c) * w2;
                    mf[r * p + c] += xx * fi;
                    mg[r * p + c] += xx * gi;
                }
            }
        }
        // tr(A M_g A M_f) = Σ (A M_g)ᵣc (A M_f)cᵣ.
        let amg = matmul(&self.a, &mg, p);
        let amf = matmul(&self.a, &mf, p);
        let cross: f64 = (0..p)
            .flat_map(|r| (0..p).map(move |c| (r, c)))
            .map(|(r, c)| amg[r * p + c] * amf[c * p + r])
            .sum();
        diag + cross
    }
}

/// The product of two p × p row-major matrices.
fn matmul(a: &[f64], b: &[f64], p: usize) -> Vec<f64> {
    let mut out = vec![0.0; p * p];
    for r in 0..p {
        for m in 0..p {
            let arm = a[r * p + m];
            for c in 0..p {
                out[r * p + c] += arm * b[m * p + c];
            }
        }
    }
    out
}

fn quad(p: &[f64], k: usize, u: &[f64], v: &[f64]) -> f64 {
    (0..k)
        .map(|i| u[i] * (0..k).map(|j| p[i * k + j] * v[j]).sum::<f64>())
        .sum()
}

fn weights(vi: &[f64], tau2: f64) -> Vec<f64> {
    vi.iter().map(|v| 1.0 / (v + tau2)).collect()
}

/// yᵀPy = Σ wᵢ(yᵢ − xᵢβ̂)², from the residuals: the quadratic form in the
/// explicit P loses every digit to cancellation when the wᵢ span many orders
/// of magnitude.
fn resid_ss(yi: &[f64], x: &Design, beta: &[f64], w: &[f64]) -> f64 {
    (0..x.k)
        .map(|i| {
            let fit: f64 = (0..x.p).map(|j| x.at(i, j) * beta[j]).sum();
            w[i] * (yi[i] - fit).powi(2)
        })
        .sum()
}

/// yᵀP(τ²)y, the generalised Q statistic.
fn rss_at(yi: &[f64], vi: &[f64], x: &Design, tau2: f64) -> Result<f64> {
    let w = weights(vi, tau2);
    let pr = project(yi, x, &w)?;
    Ok(resid_ss(yi, x, &pr.beta, &w))
}

/// τ² with its SE and, for ML/REML, the record of the global search.
struct Tau2Estimate {
    tau2: f64,
    se: Option<f64>,
    search: Option<GlobalMax>,
}

/// Estimate τ² and its SE for the mixed-effects model (standardised scale).
fn estimate_tau2(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    opts: &ValidRmaOptions,
) -> Result<Tau2Estimate> {
    let (k, p) = (x.k, x.p);
    let (kf, df) = (k as f64, (k - p) as f64);
    let he = {
        let ones = vec![1.0; k];
        let pr = project(yi, x, &ones)?;
        let rss = resid_ss(yi, x, &pr.beta, &ones);
        let tr_pv: f64 = (0..k).map(|i| pr.diag(i) * vi[i]).sum();
        let tau2 = (rss - tr_pv) / df;
        let se = ((2.0 * pr.p2(x, |i| vi[i], |i| vi[i])
            + 4.0 * tau2.max(0.0) * tr_pv
            + 2.0 * tau2.max(0.0).powi(2) * df)
            / (df * df))
            .sqrt();
        (tau2, se)
    };
    let fe_w = weights(vi, 0.0);
    let est = match opts.method() {
        Method::FE => (0.0, None),
        Method::HE => (he.0.max(0.0), Some(he.1)),
        Method::DL | Method::HS => {
            let pr = project(yi, x, &fe_w)?;
            let rss = resid_ss(yi, x, &pr.beta, &fe_w);
            let tr_p = pr.trace();
            let sw: f64 = fe_w.iter().sum();
            let tr_pp = pr.p2(x, |_| 1.0, |_| 1.0);
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
            let w0 = weights(vi, tau0);
            let pr = project(yi, x, &w0)?;
            let t = (tau0 * resid_ss(yi, x, &pr.beta, &w0) / df).max(0.0);
            let pvpv = pr.p2(x, |i| vi[i], |i| vi[i]);
            let pvp = pr.p2(x, |_| 1.0, |i| vi[i]);
            let tr_pp = pr.p2(x, |_| 1.0, |_| 1.0);
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
        Method::ML | Method::REML => {
            let method = opts.method();
            let search = global_max(yi, vi, x, method == Method::REML)?;
            let tau2 = search.tau2;
            let w = weights(vi, tau2);
            let pr = project(yi, x, &w)?;
            let se = if method == Method::ML {
                (2.0 / w.iter().map(|v| v * v).sum::<f64>()).sqrt()
            } else {
                (2.0 / pr.p2(x, |_| 1.0, |_| 1.0)).sqrt()
            };
            return Ok(Tau2Estimate {
                tau2,
                se: Some(se),
                search: Some(search),
            });
        }
        Method::EB => {
            let mut tau2 = he.0.max(0.0);
            let mut converged = false;
            for _ in 0..opts.maxiter {
                let w = weights(vi, tau2);
                let pr = project(yi, x, &w)?;
                let sw: f64 = w.iter().sum();
                let mut adj = (resid_ss(yi, x, &pr.beta, &w) * kf / df - kf) / sw;
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
                tau2 = solve_q(yi, vi, x, df, opts)?;
            }
            let tau2 = tau2.max(0.0);
            let w = weights(vi, tau2);
            (
                tau2,
                Some((2.0 * kf * kf / df).sqrt() / w.iter().sum::<f64>()),
            )
        }
    };
    Ok(Tau2Estimate {
        tau2: est.0,
        se: est.1,
        search: None,
    })
}

/// The profile log-likelihood at one τ² (standardised scale, constants
/// dropped), in O(k·p²) without forming P:
/// ℓ_ML = −½[Σ ln(vᵢ + τ²) + RSS], ℓ_REML = ℓ_ML − ½ ln det(XᵀWX),
/// RSS = min_β Σ wᵢ(yᵢ − xᵢβ)², and the derivative of each in τ².
#[derive(Debug, Clone, Copy)]
struct Profile {
    tau2: f64,
    sum_ln: f64,
    rss: f64,
    yppy: f64,
    logdet: f64,
    ll: f64,
    score: f64,
}

fn profile(yi: &[f64], vi: &[f64], x: &Design, tau2: f64, reml: bool) -> Option<Profile> {
    let (k, p) = (x.k, x.p);
    let mut xtwx = Mat::zeros(p, p);
    let mut xtwy = vec![0.0; p];
    for i in 0..k {
        let row = &x.x[i * p..(i + 1) * p];
        let w = 1.0 / (vi[i] + tau2);
        for a in 0..p {
            xtwy[a] += row[a] * w * yi[i];
            for b in 0..=a {
                xtwx.d[a * p + b] += row[a] * w * row[b];
            }
        }
    }
    for a in 0..p {
        for b in a + 1..p {
            xtwx.d[a * p + b] = xtwx.d[b * p + a];
        }
    }
    let u = chol_upper(&xtwx)?;
    let logdet = 2.0 * (0..p).map(|j| u.at(j, j).ln()).sum::<f64>();
    let a = super::linalg::spd_inverse(&xtwx)?;
    let beta = a.mul_vec(&xtwy);
    let (mut rss, mut yppy, mut sw, mut hat) = (0.0, 0.0, 0.0, 0.0);
    let mut sum_ln = 0.0;
    for i in 0..k {
        let row = &x.x[i * p..(i + 1) * p];
        let w = 1.0 / (vi[i] + tau2);
        let r = yi[i] - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
        rss += w * r * r;
        yppy += w * w * r * r;
        sw += w;
        sum_ln += (vi[i] + tau2).ln();
        if reml {
            let mut xax = 0.0;
            for c in 0..p {
                xax += row[c] * (0..p).map(|d| a.d[c * p + d] * row[d]).sum::<f64>();
            }
            hat += w * w * xax;
        }
    }
    let (ll, score) = if reml {
        (-0.5 * (sum_ln + rss + logdet), 0.5 * (yppy - (sw - hat)))
    } else {
        (-0.5 * (sum_ln + rss), 0.5 * (yppy - sw))
    };
    (ll.is_finite() && score.is_finite()).then_some(Profile {
        tau2,
        sum_ln,
        rss,
        yppy,
        logdet,
        ll,
        score,
    })
}

/// An upper bound of the profile log-likelihood over τ² ∈ [a, b] from its
/// parts at the two ends. ℓ = A + B (+ C for REML) with
/// * A(τ²) = −½ Σ ln(vᵢ + τ²): convex, so below its chord;
/// * B(τ²) = −½ RSS(τ²): RSS = min_β Σ (yᵢ − xᵢβ)²/(vᵢ + τ²) is a partial
///   minimum of a jointly convex function (u²/s is), hence convex, so B is
///   concave and below both its tangents, whose slope is ½ Σ wᵢ² rᵢ²
///   (envelope theorem);
/// * for REML also C(τ²) = −½ ln det XᵀW(τ²)X. A + C is convex too:
///   det V · det XᵀV⁻¹X = det XᵀX · det(KᵀVK) for an orthonormal basis K of
///   the residual space, and ln det(KᵀVK) = ln det(KᵀDK + τ²I) is concave,
///   so the chord is taken of A + C.
///
/// The bound is the maximum of chord + min(tangents) (concave, piecewise
/// linear: attained at a, b or where the tangents cross), never above the
/// plain monotone bound −½[Σ ln(vᵢ + a) + RSS(b) (+ ln det XᵀW(b)X)]. It is
/// second-order tight, so few cells are needed near a maximum.
fn cell_bound(a: &Profile, b: &Profile, reml: bool) -> f64 {
    let (ta, tb) = (a.tau2, b.tau2);
    let width = tb - ta;
    let convex = |q: &Profile| -0.5 * (q.sum_ln + if reml { q.logdet } else { 0.0 });
    let chord = |t: f64| {
        let (aa, ab) = (convex(a), convex(b));
        if width > 0.0 {
            aa + (ab - aa) * (t - ta) / width
        } else {
            aa
        }
    };
    let (ba, bb) = (-0.5 * a.rss, -0.5 * b.rss);
    let (ga, gb) = (0.5 * a.yppy, 0.5 * b.yppy);
    let tangents = |t: f64| (ba + ga * (t - ta)).min(bb + gb * (t - tb));
    let mut candidates = vec![ta, tb];
    if ga > gb {
        let cross = (bb - ba + ga * ta - gb * tb) / (ga - gb);
        if cross > ta && cross < tb {
            candidates.push(cross);
        }
    }
    let best = candidates
        .into_iter()
        .map(|t| chord(t) + tangents(t))
        .fold(f64::NEG_INFINITY, f64::max);
    let monotone = -0.5 * (a.sum_ln + b.rss + if reml { b.logdet } else { 0.0 });
    best.min(monotone)
}

/// A local maximum of the profile likelihood (standardised scale).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LocalMax {
    tau2: f64,
    ll: f64,
}

/// The global maximiser of the (restricted) likelihood over τ² ≥ 0 and every
/// local maximum seen on the way.
#[derive(Debug, Clone, PartialEq)]
struct GlobalMax {
    tau2: f64,
    ll: f64,
    maxima: Vec<LocalMax>,
    /// Whether the branch-and-bound certificate finished within its budget.
    certified: bool,
}

/// Most cells the certificate may split before it gives up (and says so).
const MAX_SPLITS: usize = 5000;

/// Cells narrower than this (relative to their upper end) are not split: the
/// certificate's resolution in τ².
const RESOLUTION: f64 = 1e-9;

/// The certificate's margin, relative to the log-likelihood: no τ² has a
/// (restricted) log-likelihood more than DELTA·(1 + |ℓ̂|) above the maximum
/// returned. Every maximum whose basin shows on the refined grid (the score
/// changes sign) is solved to rounding.
const DELTA: f64 = 1e-9;

/// ML/REML by a certified global search on the standardised scale (typical
/// vᵢ ≈ 1): profile the likelihood on a geometric grid of τ², bound it on
/// every cell between grid points ([`cell_bound`]) and on the tail
/// [T, ∞) (−½Σ ln(vᵢ + T) for ML; −½Σ ln(vᵢ + T) + (p/2) ln(v_max + T) −
/// ½ ln det XᵀX for REML, which needs k > p), split every cell whose bound
/// could beat the best value seen by more than δ, then solve the score
/// equation in every bracket where the score turns from positive to negative.
/// τ² = 0 is a candidate whenever the score there is ≤ 0.
fn global_max(yi: &[f64], vi: &[f64], x: &Design, reml: bool) -> Result<GlobalMax> {
    let (k, p) = (x.k, x.p);
    let eval = |t: f64| profile(yi, vi, x, t, reml).ok_or_else(fail);
    let vmin = vi.iter().cloned().fold(f64::INFINITY, f64::min);
    let vmax = vi.iter().cloned().fold(0.0, f64::max);
    let mut pts: Vec<Profile> = vec![eval(0.0)?];
    // Quarter-decade steps: fine enough that the basin of a lower local
    // maximum shows as a sign change of the score (for the notes).
    for j in -16..=8 {
        pts.push(eval(10f64.powf(j as f64 / 4.0))?);
    }
    let best_of = |pts: &[Profile]| pts.iter().map(|q| q.ll).fold(f64::NEG_INFINITY, f64::max);
    // ln det XᵀX for the REML tail bound.
    let logdet_xtx = if reml {
        let ones = vec![1.0; k];
        let pr = profile(yi, &ones, x, 0.0, true).ok_or_else(fail)?;
        pr.logdet
    } else {
        0.0
    };
    let tail = |t: f64| -> f64 {
        let s: f64 = vi.iter().map(|v| (v + t).ln()).sum();
        if reml {
            -0.5 * s + 0.5 * p as f64 * (vmax + t).ln() - 0.5 * logdet_xtx
        } else {
            -0.5 * s
        }
    };
    let delta = |best: f64| DELTA * (1.0 + best.abs());
    // Extend the grid until the tail cannot beat the best value.
    let mut top = pts.last().map(|q| q.tau2).unwrap_or(1.0);
    let mut certified = true;
    while tail(top) > best_of(&pts) + delta(best_of(&pts)) {
        top *= 10.0;
        if !top.is_finite() || top > 1e300 {
            certified = false;
            break;
        }
        pts.push(eval(top)?);
    }
    // Branch and bound over the cells between grid points.
    let mut splits = 0;
    loop {
        let best = best_of(&pts);
        let mut new = Vec::new();
        for c in pts.windows(2) {
            let (a, b) = (&c[0], &c[1]);
            let negligible = b.tau2 <= vmin * 1e-12 || b.tau2 - a.tau2 <= RESOLUTION * b.tau2;
            if negligible || cell_bound(a, b, reml) <= best + delta(best) {
                continue;
            }
            let mid = if a.tau2 > 0.0 && b.tau2 > 4.0 * a.tau2 {
                (a.tau2 * b.tau2).sqrt()
            } else {
                0.5 * (a.tau2 + b.tau2)
            };
            new.push(mid);
        }
        if new.is_empty() {
            break;
        }
        splits += new.len();
        if splits > MAX_SPLITS {
            certified = false;
            break;
        }
        for t in new {
            pts.push(eval(t)?);
        }
        pts.sort_by(|a, b| a.tau2.total_cmp(&b.tau2));
    }
    // Every local maximum on the refined grid.
    let mut maxima = Vec::new();
    if pts[0].score <= 0.0 {
        maxima.push(LocalMax {
            tau2: 0.0,
            ll: pts[0].ll,
        });
    }
    for c in pts.windows(2) {
        let (a, b) = (&c[0], &c[1]);
        if a.score > 0.0 && b.score <= 0.0 {
            let score = |t: f64| profile(yi, vi, x, t, reml).map_or(f64::NAN, |q| q.score);
            let t = brent(score, a.tau2, b.tau2, 1e-15 * b.tau2, 200)
                .map(|r| r.0)
                .unwrap_or(if a.ll > b.ll { a.tau2 } else { b.tau2 });
            let q = eval(t)?;
            maxima.push(LocalMax { tau2: t, ll: q.ll });
        }
    }
    if maxima.is_empty() {
        // No sign change seen (only possible when the search stopped early):
        // the best grid point.
        let q = pts
            .iter()
            .max_by(|a, b| a.ll.total_cmp(&b.ll))
            .ok_or_else(fail)?;
        maxima.push(LocalMax {
            tau2: q.tau2,
            ll: q.ll,
        });
    }
    let best = *maxima
        .iter()
        .max_by(|a, b| a.ll.total_cmp(&b.ll))
        .ok_or_else(fail)?;
    Ok(GlobalMax {
        tau2: best.tau2,
        ll: best.ll,
        maxima,
        certified,
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
///
/// The fit runs on a standardised scale (vᵢ divided by a power of 4 near
/// their geometric mean, yᵢ centred on their median when the design has an
/// intercept and divided by the matching power of 2), so every output is
/// equivariant under yᵢ → c·yᵢ + a, vᵢ → c²·vᵢ for c from 1e-150 to 1e150.
/// ML and REML return the global maximiser of the (restricted) likelihood
/// over τ² ≥ 0; when it has more than one local maximum, `notes` lists them.
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
    if let Some(i) = (0..k).find(|&i| !(yi[i].is_finite() && vi[i].is_finite() && vi[i] > 0.0)) {
        return Err(Error::Unsupported(format!(
            "row {} of the meta-regression has yi = {} and vi = {}; every yi must be finite and every vi finite and > 0",
            i + 1,
            yi[i],
            vi[i]
        )));
    }
    if let Some(i) = (0..k * p).find(|&i| !x.x[i].is_finite()) {
        return Err(Error::Unsupported(format!(
            "moderator `{}` is not finite in row {}",
            x.names[i % p],
            i / p + 1
        )));
    }
    let st = Standardise::of(yi, vi, x);
    let ys: Vec<f64> = yi.iter().map(|y| (y - st.centre) / st.root).collect();
    let vs: Vec<f64> = vi.iter().map(|v| v / st.root / st.root).collect();
    let (mut fit, search) = fit_standardised(&ys, &vs, x, opts)?;
    st.restore(&mut fit, x);
    if let Some(g) = search {
        let reml = opts.method() == Method::REML;
        let ln_s = 2.0 * st.root.ln();
        let kp = if reml { (k - p) as f64 } else { k as f64 };
        let constant = -0.5 * kp * (2.0 * std::f64::consts::PI).ln()
            + if reml { 0.5 * logdet_xtx(x)? } else { 0.0 }
            - 0.5 * kp * ln_s;
        fit.loglik = Some(g.ll + constant);
        let s = st.root * st.root;
        let mut maxima = g.maxima.clone();
        maxima.sort_by(|a, b| a.tau2.total_cmp(&b.tau2));
        maxima.dedup_by(|a, b| (a.tau2 - b.tau2).abs() <= 1e-6 * (1.0 + b.tau2));
        if maxima.len() > 1 {
            let list: Vec<String> = maxima
                .iter()
                .map(|m| {
                    format!(
                        "tau^2 = {:.6} (logLik = {:.6})",
                        m.tau2 * s,
                        m.ll + constant
                    )
                })
                .collect();
            fit.notes.push(format!(
                "the {} likelihood has {} local maxima over tau^2 >= 0: {}; the global one (tau^2 = {:.6}) is reported",
                if reml { "restricted" } else { "" },
                maxima.len(),
                list.join(", "),
                fit.tau2
            ).replace("the  likelihood", "the likelihood"));
        }
        if !g.certified {
            fit.notes.push(format!(
                "the global search over tau^2 stopped after {MAX_SPLITS} cells without certifying the maximum; tau^2 = {:.6} is the best value found",
                fit.tau2
            ));
        }
    }
    Ok(fit)
}

/// ln det XᵀX (metafor's REML likelihood carries +½ of it).
fn logdet_xtx(x: &Design) -> Result<f64> {
    let ones = vec![1.0; x.k];
    let zeros = vec![0.0; x.k];
    Ok(profile(&zeros, &ones, x, 0.0, true)
        .ok_or_else(fail)?
        .logdet)
}

/// The scale the fit runs on: vᵢ/r², (yᵢ − centre)/r with r a power of 2
/// (so the scaling itself is exact) and r² within a factor 2 of the
/// geometric mean of the vᵢ; centre is the median of the yᵢ when the first
/// column of X is the intercept, else 0.
struct Standardise {
    centre: f64,
    root: f64,
}

impl Standardise {
    fn of(yi: &[f64], vi: &[f64], x: &Design) -> Standardise {
        let mean_ln = vi.iter().map(|v| v.ln()).sum::<f64>() / vi.len() as f64;
        let e = (mean_ln / 4f64.ln()).round().clamp(-500.0, 500.0) as i32;
        let root = 2f64.powi(e);
        let intercept = (0..x.k).all(|i| x.at(i, 0) == 1.0);
        let centre = if intercept {
            let mut s = yi.to_vec();
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        } else {
            0.0
        };
        Standardise { centre, root }
    }

    /// Back to the data's scale: coefficients and CIs × r (+ centre for the
    /// intercept), variances × r².
    fn restore(&self, fit: &mut RmaModsFit, x: &Design) {
        let (r, s) = (self.root, self.root * self.root);
        let intercept = (0..x.k).all(|i| x.at(i, 0) == 1.0);
        for v in [&mut fit.beta, &mut fit.ci_lb, &mut fit.ci_ub] {
            for (j, b) in v.iter_mut().enumerate() {
                *b = *b * r
                    + if j == 0 && intercept {
                        self.centre
                    } else {
                        0.0
                    };
            }
        }
        for se in &mut fit.se {
            *se *= r;
        }
        for v in &mut fit.vb {
            *v *= s;
        }
        fit.tau2 *= s;
        fit.se_tau2 = fit.se_tau2.map(|v| v * s);
        if intercept {
            // Centring moved the intercept: its test is redone on the data's scale.
            fit.zval[0] = fit.beta[0] / fit.se[0];
            fit.pval[0] = match fit.qm_df.1 {
                Some(df) => dist::pt_two_sided(fit.zval[0], df as f64),
                None => dist::pnorm_two_sided(fit.zval[0]),
            };
        }
    }
}

/// The fit on the standardised scale (see [`Standardise`]).
fn fit_standardised(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    opts: &ValidRmaOptions,
) -> Result<(RmaModsFit, Option<GlobalMax>)> {
    let (k, p) = (x.k, x.p);
    let Tau2Estimate {
        tau2,
        se: se_tau2,
        search,
    } = estimate_tau2(yi, vi, x, opts)?;
    let w = weights(vi, tau2);
    let pr = project(yi, x, &w)?;
    let df = k - p;
    let test = opts.test();
    let mut s2w = 1.0;
    if test.uses_t() {
        let rss = resid_ss(yi, x, &pr.beta, &w);
        s2w = if rss <= f64::EPSILON {
            0.0
        } else {
            rss / df as f64
        };
        if test == TestKind::Adhoc && s2w < 1.0 {
            s2w = 1.0;
        }
        if s2w == 0.0 {
            // Every yi is fitted exactly: the Knapp-Hartung SEs are 0 and the t
            // statistics 0/0 or ±inf. Refuse rather than print them.
            return Err(Error::Numerical {
                what: "Knapp-Hartung test".into(),
                message: "the model fits every yi exactly (residual sum of squares 0), so the \
                          t-based standard errors are 0; use --test z or --test adhoc"
                    .into(),
            });
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
    // Omnibus test of the moderators (all but the intercept, or every
    // coefficient in a model without one).
    let first = usize::from(x.has_intercept());
    let m = p - first;
    let (qm, qm_pval) = if m == 0 {
        (0.0, 1.0)
    } else {
        let sub: Vec<f64> = (first..p)
            .flat_map(|a| (first..p).map(move |b| (a, b)))
            .map(|(a, b)| vb[a * p + b])
            .collect();
        let inv = spd_inverse(&sub, m).ok_or_else(fail)?;
        let b: Vec<f64> = pr.beta[first..].to_vec();
        let q = quad(&inv, m, &b, &b);
        if test.uses_t() {
            let f = q / m as f64;
            (f, dist::pf_upper(f, m as f64, df as f64))
        } else {
            (q, dist::pchisq_upper(q, m as f64))
        }
    };
    // Residual heterogeneity with inverse-variance weights.
    let fe_w = weights(vi, 0.0);
    let fe = project(yi, x, &fe_w)?;
    let qe = resid_ss(yi, x, &fe.beta, &fe_w).max(0.0);
    let vt = df as f64 / fe.trace();
    let (i2, h2) = if opts.method() == Method::FE {
        ((100.0 * (qe - df as f64) / qe).max(0.0), qe / df as f64)
    } else {
        (100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0)
    };
    let r2 = if opts.method() == Method::FE || !x.has_intercept() {
        None
    } else {
        let re = crate::model::rma(yi, vi, opts)?;
        Some(if re.tau2 > 0.0 {
            (100.0 * (re.tau2 - tau2) / re.tau2).max(0.0)
        } else {
            0.0
        })
    };
    let loglik = search.as_ref().map(|g| g.ll);
    let fit = RmaModsFit {
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
        loglik,
        notes: Vec::new(),
    };
    Ok((fit, search))
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

/// The design row for metafor's `predict(fit, newmods = values)`: the
/// values of the moderator columns (every column but the intercept, in the
/// order of `names`), with the intercept's 1 put in front when the model has
/// one (`names[0] == "intrcpt"`).
pub fn newmods_row(names: &[String], values: &[f64]) -> Result<Vec<f64>> {
    let intercept = names.first().is_some_and(|n| n == "intrcpt");
    let mods = &names[usize::from(intercept)..];
    if values.len() != mods.len() {
        return Err(Error::option(
            "--newmods",
            format!(
                "{} value(s) given, but the model has {} moderator column(s): {}",
                values.len(),
                mods.len(),
                mods.join(", ")
            ),
        ));
    }
    Ok(intercept
        .then_some(1.0)
        .into_iter()
        .chain(values.iter().copied())
        .collect())
}

/// [`newmods_row`] with the values named by column (`factor(alloc)random`,
/// `ablat`, …; as metafor matches named `newmods`, but by exact name): every
/// moderator column needs a value.
pub fn newmods_row_named(names: &[String], values: &[(String, f64)]) -> Result<Vec<f64>> {
    let intercept = names.first().is_some_and(|n| n == "intrcpt");
    let mods = &names[usize::from(intercept)..];
    if let Some((n, _)) = values.iter().find(|(n, _)| !mods.contains(n)) {
        return Err(Error::option(
            "--newmods",
            format!(
                "`{n}` is not a moderator column; the columns are {}",
                mods.join(", ")
            ),
        ));
    }
    let row: Vec<f64> = mods
        .iter()
        .map(|m| {
            values
                .iter()
                .find(|(n, _)| n == m)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    Error::option(
                        "--newmods",
                        format!("no value for the moderator column `{m}`"),
                    )
                })
        })
        .collect::<Result<_>>()?;
    newmods_row(names, &row)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The implicit projection gives what forming P = W − W X A Xᵀ W
    /// element by element gives (the code before issue #19), for diag,
    /// trace and Σ Pᵢⱼ² f(i) g(j), on designs with 1–3 moderators and
    /// uneven weights. Tolerance: a few ulps of the sums' magnitude.
    #[test]
    fn implicit_projection_equals_the_formed_matrix() {
        const TOL: f64 = 1e-12;
        for (k, m) in [(5usize, 1usize), (9, 2), (14, 3)] {
            let col = |j: usize| -> Vec<f64> {
                (0..k)
                    .map(|i| ((i * (j + 3) + 7 * j) % 11) as f64 / 3.0 - 1.0)
                    .collect()
            };
            let cols: Vec<Vec<f64>> = (0..m).map(col).collect();
            let named: Vec<(&str, &[f64])> = cols.iter().map(|c| ("x", c.as_slice())).collect();
            let x = Design::with_intercept(&named).unwrap();
            let yi: Vec<f64> = (0..k).map(|i| (i as f64 * 0.7).sin()).collect();
            let w: Vec<f64> = (0..k).map(|i| 1.0 / (0.02 + 0.03 * i as f64)).collect();
            let pr = project(&yi, &x, &w).unwrap();
            let p = x.p;
            // P formed explicitly.
            let mut pm = vec![0.0; k * k];
            for i in 0..k {
                for j in 0..k {
                    let h: f64 = (0..p)
                        .flat_map(|r| (0..p).map(move |c| (r, c)))
                        .map(|(r, c)| x.at(i, r) * pr.a[r * p + c] * x.at(j, c))
                        .sum();
                    pm[i * k + j] = if i == j { w[i] } else { 0.0 } - w[i] * h * w[j];
                }
            }
            let close = |a: f64, b: f64| (a - b).abs() <= TOL * b.abs().max(1.0);
            for i in 0..k {
                assert!(close(pr.diag(i), pm[i * k + i]), "diag {i}");
            }
            let tr: f64 = (0..k).map(|i| pm[i * k + i]).sum();
            assert!(close(pr.trace(), tr), "trace {} vs {tr}", pr.trace());
            let f = |i: usize| 0.05 + 0.01 * i as f64;
            let g = |i: usize| 1.0 + (i % 3) as f64;
            let mut want = 0.0;
            for i in 0..k {
                for j in 0..k {
                    want += pm[i * k + j] * pm[i * k + j] * f(i) * g(j);
                }
            }
            let got = pr.p2(&x, f, g);
            assert!(close(got, want), "k {k}, p {p}: {got} vs {want}");
        }
    }
}
