//! Subgroup analysis with a test for subgroup differences (Borenstein et al.
//! 2009, ch. 19; the "Q-between" of Cochrane reviews and R's `meta` with
//! `tau.common = FALSE`): each subgroup is pooled on its own (its own τ²), then
//! the subgroup estimates are compared with a common-effect Q test,
//! Q_between = Σ w_g (μ̂_g − μ̄)², w_g = 1/SE_g², df = G − 1.

use crate::dist;
use crate::error::Result;
use crate::model::{RmaFit, ValidRmaOptions, rma};
use serde::Serialize;

/// The distinct values of `labels` in order of first appearance (subgroup
/// and forest-plot block order).
pub fn levels_in_order(labels: &[String]) -> Vec<&String> {
    let mut names: Vec<&String> = Vec::new();
    for l in labels {
        if !names.contains(&l) {
            names.push(l);
        }
    }
    names
}

/// One subgroup's fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupFit {
    /// Subgroup name.
    pub name: String,
    /// Indices (into the input) of its studies.
    pub members: Vec<usize>,
    /// Its fit.
    pub fit: RmaFit,
}

/// Subgroup fits and the test for differences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subgroups {
    /// Non-empty subgroups, in order of first appearance.
    pub groups: Vec<SubgroupFit>,
    /// Q_between (None with fewer than two groups).
    pub q_between: Option<f64>,
    /// Its degrees of freedom.
    pub q_between_df: usize,
    /// Its p-value.
    pub q_between_pval: Option<f64>,
}

/// Pool within each level of `labels` and test the differences.
pub fn subgroups(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    opts: &ValidRmaOptions,
) -> Result<Subgroups> {
    let mut groups = Vec::new();
    for name in levels_in_order(labels) {
        let members: Vec<usize> = (0..yi.len()).filter(|&i| &labels[i] == name).collect();
        let ys: Vec<f64> = members.iter().map(|&i| yi[i]).collect();
        let vs: Vec<f64> = members.iter().map(|&i| vi[i]).collect();
        groups.push(SubgroupFit {
            name: name.clone(),
            members,
            fit: rma(&ys, &vs, opts)?,
        });
    }
    let (q, df, p) = if groups.len() >= 2 {
        let w: Vec<f64> = groups.iter().map(|g| 1.0 / (g.fit.se * g.fit.se)).collect();
        let sw: f64 = w.iter().sum();
        let mean = groups
            .iter()
            .zip(&w)
            .map(|(g, w)| w * g.fit.estimate)
            .sum::<f64>()
            / sw;
        let q: f64 = groups
            .iter()
            .zip(&w)
            .map(|(g, w)| w * (g.fit.estimate - mean).powi(2))
            .sum();
        let df = groups.len() - 1;
        (Some(q), df, Some(dist::pchisq_upper(q, df as f64)))
    } else {
        (None, 0, None)
    };
    Ok(Subgroups {
        groups,
        q_between: q,
        q_between_df: df,
        q_between_pval: p,
    })
}
