//! One effect per cluster (metafor `aggregate.escalc(struct = "CS", rho)`):
//! within a cluster the sampling errors are assumed to correlate with ρ
//! (Cov = ρ·√(vᵢvⱼ)), and the cluster's effect is the GLS mean
//! ȳ = 1ᵀV⁻¹y / 1ᵀV⁻¹1 with variance 1 / 1ᵀV⁻¹1. For users who want
//! independent effects for a univariate model.

use crate::error::{Error, Result};
use crate::model::linalg::{Mat, spd_inverse};
use crate::model::multilevel::Clusters;
use serde::Serialize;

/// An aggregated effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregated {
    /// Cluster label.
    pub cluster: String,
    /// Rows aggregated.
    pub n: usize,
    /// Aggregated effect.
    pub yi: f64,
    /// Its sampling variance.
    pub vi: f64,
}

/// Aggregate `yi`, `vi` within `cl` with correlation `rho` (−1 < ρ < 1).
pub fn aggregate(yi: &[f64], vi: &[f64], cl: &Clusters, rho: f64) -> Result<Vec<Aggregated>> {
    if !(rho > -1.0 && rho < 1.0) {
        return Err(Error::option(
            "--rho",
            format!("{rho} is not a correlation strictly between -1 and 1"),
        ));
    }
    cl.rows
        .iter()
        .zip(&cl.labels)
        .map(|(rows, label)| {
            let n = rows.len();
            let v = Mat::from_rows(
                n,
                n,
                (0..n * n)
                    .map(|e| {
                        let (a, b) = (rows[e / n], rows[e % n]);
                        if a == b { vi[a] } else { rho * (vi[a] * vi[b]).sqrt() }
                    })
                    .collect(),
            );
            let inv = spd_inverse(&v).ok_or_else(|| Error::Unsupported(format!("cluster `{label}`: the assumed covariance is not positive definite with rho = {rho}")))?;
            let ones = vec![1.0; n];
            let w = inv.mul_vec(&ones);
            let sw: f64 = w.iter().sum();
            let y: Vec<f64> = rows.iter().map(|&i| yi[i]).collect();
            Ok(Aggregated { cluster: label.clone(), n, yi: w.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>() / sw, vi: 1.0 / sw })
        })
        .collect()
}
