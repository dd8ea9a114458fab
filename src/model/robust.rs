//! Cluster-robust inference with the CR2 "bias-reduced linearization"
//! estimator and Satterthwaite degrees of freedom (Bell & McCaffrey 2002;
//! Pustejovsky & Tipton 2018, *Journal of Business & Economic Statistics*
//! 36:672–683), as R's clubSandwich computes it for metafor models
//! (`robust(fit, cluster, clubSandwich = TRUE)`), with the fitted marginal
//! covariance Φ as working model and inverse-variance weights W = Φ⁻¹:
//!
//! * M = (XᵀWX)⁻¹, H = XMXᵀW, residuals e = (I − H)y;
//! * per cluster j: Φⱼ = CⱼᵀCⱼ (Cholesky), Gⱼ = Cⱼ(Φⱼ − XⱼMXⱼᵀ)Cⱼᵀ,
//!   Aⱼ = Cⱼᵀ Gⱼ^(−½) Cⱼ (pseudo-inverse square root);
//! * V_CR2 = M [Σⱼ XⱼᵀWⱼAⱼeⱼeⱼᵀAⱼWⱼXⱼ] M;
//! * for coefficient c, gⱼ = (I − H)[j,·]ᵀ AⱼWⱼXⱼMc and the Satterthwaite df
//!   (Σⱼ gⱼᵀΦgⱼ)² / Σⱼₗ (gⱼᵀΦgₗ)².

use super::linalg::{Mat, chol_upper, spd_inverse, sym_power};
use super::mods::Design;
use super::multilevel::Clusters;
use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;

/// Cluster-robust (CR2) results for each coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RobustFit {
    /// Clusters.
    pub clusters: usize,
    /// Coefficients (the working model's weighted estimates).
    pub beta: Vec<f64>,
    /// CR2 standard errors.
    pub se: Vec<f64>,
    /// t statistics.
    #[serde(rename = "zval")]
    pub tval: Vec<f64>,
    /// Satterthwaite degrees of freedom.
    #[serde(rename = "ddf")]
    pub df: Vec<f64>,
    /// p-values from t(df).
    pub pval: Vec<f64>,
    /// CI lower bounds.
    pub ci_lb: Vec<f64>,
    /// CI upper bounds.
    pub ci_ub: Vec<f64>,
}

/// CR2 inference for `yi` with design `x`, working covariance `phi` (k × k,
/// block-diagonal by cluster) and clusters `cl`.
pub(crate) fn robust_cr2(
    yi: &[f64],
    x: &Design,
    phi: &Mat,
    cl: &Clusters,
    level: f64,
) -> Result<RobustFit> {
    let (k, p) = (x.k, x.p);
    if cl.len() < 2 || cl.len() <= p {
        // metafor's robust() refuses too: with no more clusters than
        // coefficients the CR2 covariance is rank-deficient.
        return Err(Error::Unsupported(format!(
            "cluster-robust inference needs more clusters than coefficients: {} cluster(s) for {p} coefficient(s); cluster by a column with more levels, or drop moderators",
            cl.len()
        )));
    }
    let singular = || {
        Error::Unsupported(
            "the working covariance or X'WX is singular; cluster-robust inference is not possible"
                .into(),
        )
    };
    // W = Φ⁻¹ block by block.
    let mut w = Mat::zeros(k, k);
    for rows in &cl.rows {
        let inv = spd_inverse(&phi.select(rows, rows)).ok_or_else(singular)?;
        for (a, &i) in rows.iter().enumerate() {
            for (b, &j) in rows.iter().enumerate() {
                w.set(i, j, inv.at(a, b));
            }
        }
    }
    let xm = Mat::from_rows(k, p, x.x.clone());
    let xtw = xm.t().mul(&w);
    let m = spd_inverse(&xtw.mul(&xm)).ok_or_else(singular)?;
    let beta = m.mul_vec(&xtw.mul_vec(yi));
    let ih = Mat::identity(k).sub(&xm.mul(&m).mul(&xtw));
    let e = ih.mul_vec(yi);
    let cols: Vec<usize> = (0..p).collect();
    // Per cluster: E_j = M X_jᵀ W_j A_j (p × n_j).
    let mut ej = Vec::with_capacity(cl.len());
    for rows in &cl.rows {
        let theta = phi.select(rows, rows);
        let c = chol_upper(&theta).ok_or_else(singular)?;
        let xj = xm.select(rows, &cols);
        let g = c.mul(&theta.sub(&xj.mul(&m).mul(&xj.t()))).mul(&c.t());
        let a = c.t().mul(&sym_power(&g, -0.5)).mul(&c);
        let wj = w.select(rows, rows);
        ej.push(m.mul(&xj.t()).mul(&wj).mul(&a));
    }
    let mut vcr = Mat::zeros(p, p);
    for (rows, e_j) in cl.rows.iter().zip(&ej) {
        let res: Vec<f64> = rows.iter().map(|&i| e[i]).collect();
        let u = e_j.mul_vec(&res);
        for a in 0..p {
            for b in 0..p {
                vcr.d[a * p + b] += u[a] * u[b];
            }
        }
    }
    let mut out = RobustFit {
        clusters: cl.len(),
        beta: beta.clone(),
        se: vec![],
        tval: vec![],
        df: vec![],
        pval: vec![],
        ci_lb: vec![],
        ci_ub: vec![],
    };
    for (coef, &b) in beta.iter().enumerate() {
        // g_j = IH[rows_j, ·]ᵀ (E_jᵀ c)
        let gs: Vec<Vec<f64>> = cl
            .rows
            .iter()
            .zip(&ej)
            .map(|(rows, e_j)| {
                let a: Vec<f64> = (0..rows.len()).map(|r| e_j.at(coef, r)).collect();
                (0..k)
                    .map(|col| rows.iter().zip(&a).map(|(&i, ai)| ih.at(i, col) * ai).sum())
                    .collect()
            })
            .collect();
        let phig: Vec<Vec<f64>> = gs.iter().map(|g| phi.mul_vec(g)).collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let num: f64 = gs.iter().zip(&phig).map(|(g, pg)| dot(g, pg)).sum();
        let mut den = 0.0;
        for g in &gs {
            for pg in &phig {
                den += dot(g, pg).powi(2);
            }
        }
        let df = num * num / den;
        let se = vcr.at(coef, coef).sqrt();
        let t = b / se;
        let crit = dist::qt(1.0 - (1.0 - level) / 2.0, df);
        out.se.push(se);
        out.tval.push(t);
        out.df.push(df);
        out.pval.push(dist::pt_two_sided(t, df));
        out.ci_lb.push(b - crit * se);
        out.ci_ub.push(b + crit * se);
    }
    Ok(out)
}

/// CR2 inference for a three-level fit (working model: its marginal covariance).
pub fn robust_multilevel(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    cl: &Clusters,
    fit: &super::multilevel::MultilevelFit,
) -> Result<RobustFit> {
    robust_cr2(
        yi,
        x,
        &super::multilevel::fitted_v(vi, cl, fit),
        cl,
        fit.level,
    )
}

/// CR2 inference for a univariate fit with τ² (working model: diag(vᵢ + τ²)),
/// clustered by `cl` (metafor `robust(rma(...), cluster, clubSandwich = TRUE)`).
pub fn robust_univariate(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    cl: &Clusters,
    tau2: f64,
    level: f64,
) -> Result<RobustFit> {
    let k = yi.len();
    let phi = Mat::from_rows(
        k,
        k,
        (0..k * k)
            .map(|i| {
                if i / k == i % k {
                    vi[i / k] + tau2
                } else {
                    0.0
                }
            })
            .collect(),
    );
    robust_cr2(yi, x, &phi, cl, level)
}
