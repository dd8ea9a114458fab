//! Three-level meta-analysis (metafor `rma.mv(yi, vi, random = ~ 1 |
//! cluster/id)`; Konstantopoulos 2011, *Research Synthesis Methods* 2:61–76):
//! yᵢⱼ = xᵢⱼᵀβ + uᵢ + wᵢⱼ + eᵢⱼ with Var(uᵢ) = σ²₁ (between clusters, e.g.
//! studies), Var(wᵢⱼ) = σ²₂ (between outcomes within a cluster) and
//! Var(eᵢⱼ) = vᵢⱼ. The marginal covariance V is block-diagonal by cluster.
//!
//! (σ²₁, σ²₂) maximise the restricted likelihood
//! −½[log|V| + log|XᵀV⁻¹X| + rᵀV⁻¹r], by Fisher scoring (score
//! ½[yᵀPZₛPy − tr(PZₛ)], information ½ tr(PZₛPZₜ), Z₁ = block J, Z₂ = I) with an
//! active set at the boundary 0 and step halving whenever the likelihood would
//! drop. Profile-likelihood CIs solve 2(ℓ̂ − ℓₚ(σ²ₛ)) = χ²₁;₁₋α for each
//! component by Brent's method, maximising over the other at every step.
//! I² is split by level as in metafor's FAQ: 100·σ²ₗ/(σ²₁ + σ²₂ + s²) with the
//! typical within-study variance s² = (k − p)/tr P (inverse-variance weights).

use super::linalg::{Mat, spd_inverse};
use super::mods::Design;
use super::options::ValidRmaOptions;
use super::roots::brent;
use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;

/// Cluster membership of each row (clusters numbered in order of first appearance).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clusters {
    /// Cluster labels, in order of first appearance.
    pub labels: Vec<String>,
    /// Rows of each cluster.
    pub rows: Vec<Vec<usize>>,
}

impl Clusters {
    /// Group rows by their label.
    pub fn from_labels(labels: &[String]) -> Clusters {
        let mut names: Vec<String> = Vec::new();
        let mut rows: Vec<Vec<usize>> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            match names.iter().position(|n| n == l) {
                Some(c) => rows[c].push(i),
                None => {
                    names.push(l.clone());
                    rows.push(vec![i]);
                }
            }
        }
        Clusters {
            labels: names,
            rows,
        }
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no clusters.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A fitted three-level model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultilevelFit {
    /// Rows (effect sizes).
    pub k: usize,
    /// Clusters.
    pub clusters: usize,
    /// Coefficient names.
    pub names: Vec<String>,
    /// [between clusters, within clusters].
    pub sigma2: [f64; 2],
    /// Profile-likelihood CIs for the two components (None where the search failed).
    pub sigma2_ci: [Option<(f64, f64)>; 2],
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Model-based SEs.
    pub se: Vec<f64>,
    /// z statistics.
    pub zval: Vec<f64>,
    /// p-values.
    pub pval: Vec<f64>,
    /// CI lower bounds.
    pub ci_lb: Vec<f64>,
    /// CI upper bounds.
    pub ci_ub: Vec<f64>,
    /// Q test for heterogeneity (inverse-variance weights).
    pub qe: f64,
    /// Its p-value.
    pub qe_pval: f64,
    /// Restricted log-likelihood (with metafor's constant).
    pub loglik: f64,
    /// I² (%): [total, between clusters, within clusters].
    pub i2: [f64; 3],
    /// Fisher-scoring iterations.
    pub iterations: u32,
    /// Confidence level.
    pub level: f64,
    /// Variance–covariance of β (row-major p × p).
    pub vb: Vec<f64>,
}

struct Eval {
    ll: f64,
    p: Mat,
    beta: Vec<f64>,
    a: Mat,
}

/// V for (σ²₁, σ²₂).
fn marginal_v(vi: &[f64], cl: &Clusters, s: [f64; 2]) -> Mat {
    let k = vi.len();
    let mut v = Mat::zeros(k, k);
    for rows in &cl.rows {
        for &i in rows {
            for &j in rows {
                v.set(i, j, s[0] + if i == j { s[1] + vi[i] } else { 0.0 });
            }
        }
    }
    v
}

/// V⁻¹ block by block.
fn inverse_v(vi: &[f64], cl: &Clusters, s: [f64; 2]) -> Option<(Mat, f64)> {
    let k = vi.len();
    let mut inv = Mat::zeros(k, k);
    let mut logdet = 0.0;
    for rows in &cl.rows {
        let n = rows.len();
        let mut b = Mat::zeros(n, n);
        for a in 0..n {
            for c in 0..n {
                b.set(a, c, s[0] + if a == c { s[1] + vi[rows[a]] } else { 0.0 });
            }
        }
        let u = super::linalg::chol_upper(&b)?;
        logdet += 2.0 * (0..n).map(|i| u.at(i, i).ln()).sum::<f64>();
        let bi = spd_inverse(&b)?;
        for a in 0..n {
            for c in 0..n {
                inv.set(rows[a], rows[c], bi.at(a, c));
            }
        }
    }
    Some((inv, logdet))
}

/// Forest-plot weights in percent (metafor `weights()` for `rma.mv`, type
/// "diagonal"): the diagonal of V⁻¹ at the fitted (σ²₁, σ²₂), normalised to
/// sum to 100. `None` when V is not positive definite.
pub fn weights_percent(vi: &[f64], cl: &Clusters, sigma2: [f64; 2]) -> Option<Vec<f64>> {
    let (vinv, _) = inverse_v(vi, cl, sigma2)?;
    let w: Vec<f64> = (0..vi.len()).map(|i| vinv.at(i, i)).collect();
    let total: f64 = w.iter().sum();
    Some(w.iter().map(|x| 100.0 * x / total).collect())
}

fn design_mat(x: &Design) -> Mat {
    Mat::from_rows(x.k, x.p, x.x.clone())
}

fn evaluate(yi: &[f64], vi: &[f64], x: &Mat, cl: &Clusters, s: [f64; 2]) -> Option<Eval> {
    let (vinv, logdet) = inverse_v(vi, cl, s)?;
    let xt = x.t();
    let xtv = xt.mul(&vinv);
    let xtvx = xtv.mul(x);
    let a = spd_inverse(&xtvx)?;
    let u = super::linalg::chol_upper(&xtvx)?;
    let logdet_x = 2.0 * (0..x.c).map(|i| u.at(i, i).ln()).sum::<f64>();
    let beta = a.mul_vec(&xtv.mul_vec(yi));
    let p = vinv.sub(&xtv.t().mul(&a).mul(&xtv));
    let py = p.mul_vec(yi);
    let rss: f64 = yi.iter().zip(&py).map(|(y, q)| y * q).sum();
    let n = (x.r - x.c) as f64;
    // metafor's full REML likelihood also carries +½ log|XᵀX| (REMLf = TRUE).
    let xtx_u = super::linalg::chol_upper(&xt.mul(x))?;
    let logdet_xtx = 2.0 * (0..x.c).map(|i| xtx_u.at(i, i).ln()).sum::<f64>();
    let ll = -0.5 * n * (2.0 * std::f64::consts::PI).ln() + 0.5 * logdet_xtx
        - 0.5 * (logdet + logdet_x + rss);
    Some(Eval { ll, p, beta, a })
}

/// Score and Fisher information for the two components.
fn score_info(yi: &[f64], cl: &Clusters, p: &Mat) -> ([f64; 2], [[f64; 2]; 2]) {
    let k = p.r;
    // Z₁ = block J: (P Z₁)_{ij} = Σ_{l in cluster(j)} P_{il}.
    let mut pz1 = Mat::zeros(k, k);
    for rows in &cl.rows {
        for i in 0..k {
            let s: f64 = rows.iter().map(|&l| p.at(i, l)).sum();
            for &j in rows {
                pz1.set(i, j, s);
            }
        }
    }
    let py = p.mul_vec(yi);
    let z1py: Vec<f64> = {
        let mut v = vec![0.0; k];
        for rows in &cl.rows {
            let s: f64 = rows.iter().map(|&l| py[l]).sum();
            for &j in rows {
                v[j] = s;
            }
        }
        v
    };
    let s1 = 0.5 * (py.iter().zip(&z1py).map(|(a, b)| a * b).sum::<f64>() - pz1.trace());
    let s2 = 0.5 * (py.iter().map(|a| a * a).sum::<f64>() - p.trace());
    let tr = |a: &Mat, b: &Mat| -> f64 {
        (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| a.at(i, j) * b.at(j, i))
            .sum()
    };
    let i11 = 0.5 * tr(&pz1, &pz1);
    let i12 = 0.5 * tr(&pz1, p);
    let i22 = 0.5 * tr(p, p);
    ([s1, s2], [[i11, i12], [i12, i22]])
}

/// Maximise the restricted likelihood; `fixed[s]` pins a component.
fn maximise(
    yi: &[f64],
    vi: &[f64],
    x: &Mat,
    cl: &Clusters,
    start: [f64; 2],
    fixed: [Option<f64>; 2],
    opts: &ValidRmaOptions,
) -> Result<([f64; 2], Eval, u32)> {
    let fail = || Error::Numerical {
        what: "REML estimation of the three-level model".into(),
        message: "the marginal covariance became singular; check for zero sampling variances"
            .into(),
    };
    let mut s = [fixed[0].unwrap_or(start[0]), fixed[1].unwrap_or(start[1])];
    let mut e = evaluate(yi, vi, x, cl, s).ok_or_else(fail)?;
    let mut it = 0;
    while it < opts.maxiter {
        it += 1;
        let (g, info) = score_info(yi, cl, &e.p);
        // Active set: fixed components and those at 0 with a non-positive score.
        let free: Vec<usize> = (0..2)
            .filter(|&c| fixed[c].is_none() && !(s[c] <= 0.0 && g[c] <= 0.0))
            .collect();
        if free.is_empty() {
            break;
        }
        let mut step = [0.0; 2];
        if free.len() == 2 {
            let det = info[0][0] * info[1][1] - info[0][1] * info[1][0];
            if det.abs() > 0.0 && det.is_finite() {
                step[0] = (info[1][1] * g[0] - info[0][1] * g[1]) / det;
                step[1] = (info[0][0] * g[1] - info[1][0] * g[0]) / det;
            }
        } else {
            let c = free[0];
            step[c] = g[c] / info[c][c];
        }
        let mut factor = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            let cand = [
                (s[0] + factor * step[0]).max(0.0),
                (s[1] + factor * step[1]).max(0.0),
            ];
            if let Some(ne) = evaluate(yi, vi, x, cl, cand)
                && ne.ll >= e.ll - 1e-12 * e.ll.abs()
            {
                let change = (cand[0] - s[0]).abs().max((cand[1] - s[1]).abs());
                s = cand;
                e = ne;
                accepted = true;
                if change <= opts.threshold * s[0].max(s[1]).max(1.0) {
                    return Ok((s, e, it));
                }
                break;
            }
            factor /= 2.0;
        }
        if !accepted {
            break;
        }
    }
    Ok((s, e, it))
}

/// Fit the three-level model (REML) with moderators `x` (intercept first).
pub fn rma_multilevel(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    cl: &Clusters,
    opts: &ValidRmaOptions,
) -> Result<MultilevelFit> {
    let k = yi.len();
    if k <= x.p || cl.len() < 2 {
        return Err(Error::Unsupported(format!(
            "a three-level model needs at least 2 clusters and more rows than coefficients (k = {k}, {} clusters)",
            cl.len()
        )));
    }
    let xm = design_mat(x);
    // Start from the univariate τ² split evenly.
    let tau2 = super::rma(
        yi,
        vi,
        &opts
            .with_method(super::Method::REML)
            .with_test(super::TestKind::Z),
    )?
    .tau2
    .max(0.01);
    let (s, e, iterations) = maximise(
        yi,
        vi,
        &xm,
        cl,
        [tau2 / 2.0, tau2 / 2.0],
        [None, None],
        opts,
    )?;
    let p = x.p;
    let se: Vec<f64> = (0..p).map(|j| e.a.at(j, j).sqrt()).collect();
    let zval: Vec<f64> = (0..p).map(|j| e.beta[j] / se[j]).collect();
    let crit = dist::qnorm(1.0 - (1.0 - opts.level()) / 2.0);
    // Heterogeneity with inverse-variance weights.
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
    let wm = Mat::from_rows(
        k,
        k,
        (0..k * k)
            .map(|i| if i / k == i % k { w[i / k] } else { 0.0 })
            .collect(),
    );
    let xtw = xm.t().mul(&wm);
    let a = spd_inverse(&xtw.mul(&xm))
        .ok_or_else(|| Error::Unsupported("moderators are collinear".into()))?;
    let pfe = wm.sub(&xtw.t().mul(&a).mul(&xtw));
    let qe = pfe
        .mul_vec(yi)
        .iter()
        .zip(yi)
        .map(|(a, b)| a * b)
        .sum::<f64>()
        .max(0.0);
    let s2 = (k - p) as f64 / pfe.trace();
    let tot = s[0] + s[1];
    let i2 = [
        100.0 * tot / (tot + s2),
        100.0 * s[0] / (tot + s2),
        100.0 * s[1] / (tot + s2),
    ];
    let ci = [
        profile_ci(yi, vi, &xm, cl, 0, s, e.ll, opts),
        profile_ci(yi, vi, &xm, cl, 1, s, e.ll, opts),
    ];
    Ok(MultilevelFit {
        k,
        clusters: cl.len(),
        names: x.names.clone(),
        sigma2: s,
        sigma2_ci: ci,
        ci_lb: (0..p).map(|j| e.beta[j] - crit * se[j]).collect(),
        ci_ub: (0..p).map(|j| e.beta[j] + crit * se[j]).collect(),
        pval: zval.iter().map(|z| dist::pnorm_two_sided(*z)).collect(),
        beta: e.beta.clone(),
        se,
        zval,
        qe,
        qe_pval: dist::pchisq_upper(qe, (k - p) as f64),
        loglik: e.ll,
        i2,
        iterations,
        level: opts.level(),
        vb: e.a.d.clone(),
    })
}

#[allow(clippy::too_many_arguments)]
fn profile_ci(
    yi: &[f64],
    vi: &[f64],
    x: &Mat,
    cl: &Clusters,
    comp: usize,
    s: [f64; 2],
    ll_max: f64,
    opts: &ValidRmaOptions,
) -> Option<(f64, f64)> {
    let crit = dist::qchisq(opts.level(), 1.0);
    let dev = |t: f64| -> f64 {
        let mut fixed = [None, None];
        fixed[comp] = Some(t);
        match maximise(yi, vi, x, cl, s, fixed, opts) {
            Ok((_, e, _)) => 2.0 * (ll_max - e.ll) - crit,
            Err(_) => f64::NAN,
        }
    };
    let tol = 1e-10;
    let lb = if s[comp] <= 0.0 || dev(0.0) <= 0.0 {
        0.0
    } else {
        brent(dev, 0.0, s[comp], tol, 500)?.0
    };
    let mut hi = s[comp].max(1e-3) * 2.0;
    let mut tries = 0;
    while dev(hi) < 0.0 {
        hi *= 2.0;
        tries += 1;
        if tries > 60 {
            return None;
        }
    }
    let ub = brent(dev, s[comp], hi, tol, 500)?.0;
    Some((lb, ub))
}

/// The marginal covariance of the fit (for cluster-robust inference).
pub(crate) fn fitted_v(vi: &[f64], cl: &Clusters, fit: &MultilevelFit) -> Mat {
    marginal_v(vi, cl, fit.sigma2)
}
