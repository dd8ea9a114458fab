//! Subgroup analysis with two tests for subgroup differences.
//!
//! * [`subgroups`]: each subgroup pooled on its own (its own τ²), then the
//!   subgroup estimates compared with a common-effect Q test (Borenstein et
//!   al. 2009, ch. 19; the "Q-between" of Cochrane reviews and R's
//!   `meta::subgroup` with `tau.common = FALSE`):
//!   Q_between = Σ w_g (μ̂_g − μ̄)², w_g = 1/SE_g², df = G − 1.
//! * [`subgroup_qm`]: metafor's way, the meta-regression
//!   `rma(yi, vi, mods = ~ factor(group))` with one τ² shared by every group,
//!   and its omnibus test Q_M of the G − 1 group contrasts (χ²(G − 1), or
//!   F(G − 1, k − G) under Knapp–Hartung).
//!
//! The two agree when τ² is 0 in every group and differ otherwise; a report
//! says which one it prints.

use crate::dist;
use crate::error::Result;
use crate::model::formula::Formula;
use crate::model::moderators::ModColumn;
use crate::model::{RmaFit, ValidRmaOptions, rma, rma_mods};
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

/// metafor's test for subgroup differences: Q_M of
/// `rma(yi, vi, mods = ~ factor(group))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupQm {
    /// Q_M (an F statistic under Knapp–Hartung).
    #[serde(rename = "QM")]
    pub qm: f64,
    /// Its degrees of freedom: G − 1, and k − G for the F test.
    #[serde(rename = "QMdf")]
    pub qm_df: (usize, Option<usize>),
    /// Its p-value.
    #[serde(rename = "QMp")]
    pub qm_pval: f64,
    /// The residual τ², shared by all groups.
    pub tau2: f64,
    /// Number of groups G.
    pub groups: usize,
}

/// The test for subgroup differences as metafor computes it (see the module
/// doc): the groups are the distinct `labels`; k must exceed G.
///
/// # Examples
///
/// ```
/// use spotmeta::analysis::subgroup::subgroup_qm;
/// use spotmeta::RmaOptions;
/// let yi = [0.1, 0.3, 0.2, 0.8, 0.9, 0.7];
/// let vi = [0.02; 6];
/// let g: Vec<String> = ["a", "a", "a", "b", "b", "b"].map(String::from).to_vec();
/// let t = subgroup_qm(&yi, &vi, &g, &RmaOptions::default().check()?)?;
/// assert_eq!(t.qm_df, (1, None));
/// assert!(t.qm_pval < 0.001);
/// # Ok::<(), spotmeta::Error>(())
/// ```
pub fn subgroup_qm(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    opts: &ValidRmaOptions,
) -> Result<SubgroupQm> {
    let groups = levels_in_order(labels).len();
    if groups < 2 {
        return Err(crate::error::Error::Unsupported(
            "a test for subgroup differences needs at least two subgroups".into(),
        ));
    }
    let f = Formula::parse("~ factor(group)")?;
    let (x, _) = f.design(&[("group".into(), ModColumn::Categorical(labels.to_vec()))])?;
    let fit = rma_mods(yi, vi, &x, opts)?;
    Ok(SubgroupQm {
        qm: fit.qm,
        qm_df: fit.qm_df,
        qm_pval: fit.qm_pval,
        tau2: fit.tau2,
        groups,
    })
}
