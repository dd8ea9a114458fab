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
//!
//! Under the three-level model (`rma --multilevel CLUSTER --by COL`) the same
//! two tests are:
//!
//! * [`subgroup_qm_multilevel`]: the omnibus Wald test Q_M of the G − 1
//!   contrasts of `rma.mv(yi, vi, mods = ~ factor(group), random = ~ 1 |
//!   cluster/row)`, one (σ²₁, σ²₂) shared by every group (χ²(G − 1), or
//!   F(G − 1, k − G) under `test = "t"`);
//! * [`subgroups_multilevel`]: one three-level fit per subgroup (what the
//!   three-level forest plot draws for `--by`), then the Wald-type test of
//!   their estimates with their model-based SEs, metafor's
//!   `rma(est, sei = se, mods = ~ group, method = "FE")` (Q_between as
//!   above; it needs every subgroup fitted, i.e. at least two clusters and
//!   more rows than clusters in each).
//!
//! [`analyse`] runs the subgroup fits and both tests for either model, as
//! one [`SubgroupAnalysis`] (rendered by `output::subgroup`).

use crate::dist;
use crate::error::Result;
use crate::model::formula::Formula;
use crate::model::linalg::{Mat, spd_inverse};
use crate::model::moderators::ModColumn;
use crate::model::multilevel::{Clusters, MultilevelFit, rma_multilevel};
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

/// Each level of `labels` ([`levels_in_order`]) with the rows among the
/// first `k` that carry it.
fn level_members(labels: &[String], k: usize) -> Vec<(&String, Vec<usize>)> {
    levels_in_order(labels)
        .into_iter()
        .map(|name| {
            let members = (0..k).filter(|&i| &labels[i] == name).collect();
            (name, members)
        })
        .collect()
}

/// The values of `v` at the rows `members`.
fn pick(v: &[f64], members: &[usize]) -> Vec<f64> {
    members.iter().map(|&i| v[i]).collect()
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
    for (name, members) in level_members(labels, yi.len()) {
        let fit = rma(&pick(yi, &members), &pick(vi, &members), opts)?;
        groups.push(SubgroupFit {
            name: name.clone(),
            members,
            fit,
        });
    }
    let (q, df, p) = q_between(
        &groups
            .iter()
            .map(|g| (g.fit.estimate, g.fit.se))
            .collect::<Vec<_>>(),
    );
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
        return Err(too_few_groups());
    }
    let x = design_of(labels)?;
    let fit = rma_mods(yi, vi, &x, opts)?;
    Ok(SubgroupQm {
        qm: fit.qm,
        qm_df: fit.qm_df,
        qm_pval: fit.qm_pval,
        tau2: fit.tau2,
        groups,
    })
}

/// The common-effect Q test of independent estimates (estimate, SE):
/// Σ w_g (μ̂_g − μ̄)², w_g = 1/SE_g², on G − 1 df; `(None, 0, None)` for
/// fewer than two. It equals Q_M of metafor's `rma(est, sei = se, mods = ~
/// factor(group), method = "FE")`.
fn q_between(est: &[(f64, f64)]) -> (Option<f64>, usize, Option<f64>) {
    if est.len() < 2 {
        return (None, 0, None);
    }
    let w: Vec<f64> = est.iter().map(|(_, se)| 1.0 / (se * se)).collect();
    let sw: f64 = w.iter().sum();
    let mean = est.iter().zip(&w).map(|((e, _), w)| w * e).sum::<f64>() / sw;
    let q: f64 = est
        .iter()
        .zip(&w)
        .map(|((e, _), w)| w * (e - mean).powi(2))
        .sum();
    let df = est.len() - 1;
    (Some(q), df, Some(dist::pchisq_upper(q, df as f64)))
}

/// The three-level test for subgroup differences: Q_M of `rma.mv(yi, vi,
/// mods = ~ factor(group), random = ~ 1 | cluster/row)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultilevelSubgroupQm {
    /// Q_M (an F statistic under `test = "t"`).
    #[serde(rename = "QM")]
    pub qm: f64,
    /// Its degrees of freedom: G − 1, and k − G for the F test.
    #[serde(rename = "QMdf")]
    pub qm_df: (usize, Option<usize>),
    /// Its p-value.
    #[serde(rename = "QMp")]
    pub qm_pval: f64,
    /// The variance components shared by all groups: [between clusters,
    /// within clusters].
    pub sigma2: [f64; 2],
    /// Number of groups G.
    pub groups: usize,
}

fn design_of(labels: &[String]) -> Result<crate::model::Design> {
    let f = Formula::parse("~ factor(group)")?;
    let (x, _) = f.design(&[("group".into(), ModColumn::Categorical(labels.to_vec()))])?;
    Ok(x)
}

fn too_few_groups() -> crate::error::Error {
    crate::error::Error::Unsupported(
        "a test for subgroup differences needs at least two subgroups".into(),
    )
}

/// The three-level test for subgroup differences as metafor computes it
/// (see the module doc): the Wald test of the group contrasts of the
/// three-level meta-regression on `factor(labels)`, with `clusters` the
/// cluster of each row. REML or ML and z or t as `opts` (as
/// [`rma_multilevel`]).
///
/// # Errors
///
/// Fewer than two groups, or a three-level model that cannot be fitted
/// (fewer than two clusters, no more rows than coefficients).
///
/// # Examples
///
/// ```
/// use spotmeta::analysis::subgroup::subgroup_qm_multilevel;
/// use spotmeta::model::multilevel::Clusters;
/// use spotmeta::RmaOptions;
/// let yi = [0.1, 0.2, 0.15, 0.3, 0.8, 0.9, 0.7, 0.85];
/// let vi = [0.01; 8];
/// let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
/// let g = s(&["a", "a", "a", "a", "b", "b", "b", "b"]);
/// let cl = Clusters::from_labels(&s(&["1", "1", "2", "2", "3", "3", "4", "4"]));
/// let t = subgroup_qm_multilevel(&yi, &vi, &g, &cl, &RmaOptions::default().check()?)?;
/// assert_eq!(t.qm_df, (1, None));
/// assert!(t.qm_pval < 0.05);
/// # Ok::<(), spotmeta::Error>(())
/// ```
pub fn subgroup_qm_multilevel(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    clusters: &Clusters,
    opts: &ValidRmaOptions,
) -> Result<MultilevelSubgroupQm> {
    let groups = levels_in_order(labels).len();
    if groups < 2 {
        return Err(too_few_groups());
    }
    let x = design_of(labels)?;
    let fit = rma_multilevel(yi, vi, &x, clusters, opts)?;
    let (qm, qm_df, qm_pval) = wald_contrasts(&fit)?;
    Ok(MultilevelSubgroupQm {
        qm,
        qm_df,
        qm_pval,
        sigma2: fit.sigma2,
        groups,
    })
}

/// Omnibus Wald test of every coefficient but the intercept of a
/// three-level fit: Q_M = b′ V_b⁻¹ b on m df (χ²), or Q_M/m on (m, k − p)
/// df (F) when the fit used t tests (metafor `rma.mv(test = "t")`).
fn wald_contrasts(fit: &MultilevelFit) -> Result<(f64, (usize, Option<usize>), f64)> {
    let p = fit.beta.len();
    let m = p - 1;
    let mut sub = Mat::zeros(m, m);
    for a in 0..m {
        for b in 0..m {
            sub.set(a, b, fit.vb[(a + 1) * p + b + 1]);
        }
    }
    let inv = spd_inverse(&sub).ok_or_else(|| {
        crate::error::Error::Unsupported(
            "the subgroup contrasts' covariance matrix is singular; Q_M cannot be computed".into(),
        )
    })?;
    let b = &fit.beta[1..];
    let q: f64 = (0..m)
        .flat_map(|i| (0..m).map(move |j| (i, j)))
        .map(|(i, j)| b[i] * inv.at(i, j) * b[j])
        .sum();
    Ok(match fit.df {
        Some(df) => {
            let f = q / m as f64;
            (f, (m, Some(df)), dist::pf_upper(f, m as f64, df as f64))
        }
        None => (q, (m, None), dist::pchisq_upper(q, m as f64)),
    })
}

/// One subgroup's three-level fit, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultilevelSubgroup {
    /// Subgroup name.
    pub name: String,
    /// Indices (into the input) of its rows.
    pub members: Vec<usize>,
    /// Its clusters.
    pub clusters: usize,
    /// Its fit (None when it cannot be fitted).
    pub fit: Option<MultilevelFit>,
    /// Why it was not fitted.
    pub why_not: Option<String>,
}

/// Separate three-level fits per subgroup and the Wald-type test of their
/// estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultilevelSubgroups {
    /// Subgroups in order of first appearance.
    pub groups: Vec<MultilevelSubgroup>,
    /// Q_between of the fitted estimates (None unless every subgroup, and at
    /// least two, were fitted).
    pub q_between: Option<f64>,
    /// Its degrees of freedom.
    pub q_between_df: usize,
    /// Its p-value.
    pub q_between_pval: Option<f64>,
}

/// Fit the three-level model within each level of `labels` (`clusters[i]`
/// is row i's cluster) and test the differences of the estimates (see the
/// module doc). A subgroup with fewer than two clusters, or no more rows
/// than clusters, is listed unfitted with the reason, as the three-level
/// forest plot leaves it without a diamond.
///
/// # Errors
///
/// Options the three-level model refuses (a method other than REML/ML, the
/// ad hoc test).
pub fn subgroups_multilevel(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    clusters: &[String],
    opts: &ValidRmaOptions,
) -> Result<MultilevelSubgroups> {
    let mut groups = Vec::new();
    for (name, members) in level_members(labels, yi.len()) {
        let cl: Vec<String> = members.iter().map(|&i| clusters[i].clone()).collect();
        let cl = Clusters::from_labels(&cl);
        let (fit, why_not) = if cl.len() < 2 || members.len() <= cl.len() {
            (
                None,
                Some(format!(
                    "{} rows in {} cluster(s); a three-level fit needs at least 2 clusters and more rows than clusters",
                    members.len(),
                    cl.len()
                )),
            )
        } else {
            let x = crate::model::Design::intercept_only(members.len());
            (
                Some(rma_multilevel(
                    &pick(yi, &members),
                    &pick(vi, &members),
                    &x,
                    &cl,
                    opts,
                )?),
                None,
            )
        };
        groups.push(MultilevelSubgroup {
            name: name.clone(),
            clusters: cl.len(),
            members,
            fit,
            why_not,
        });
    }
    let fitted: Option<Vec<(f64, f64)>> = groups
        .iter()
        .map(|g| g.fit.as_ref().map(|f| (f.beta[0], f.se[0])))
        .collect();
    let (q, df, p) = q_between(fitted.as_deref().unwrap_or_default());
    Ok(MultilevelSubgroups {
        groups,
        q_between: q,
        q_between_df: df,
        q_between_pval: p,
    })
}

/// A subgroup analysis (`rma --by COL`, with or without `--multilevel`): the
/// subgroup fits and both tests for subgroup differences.
#[derive(Debug, Clone, PartialEq)]
pub enum SubgroupAnalysis {
    /// `rma` per subgroup; Q_M of `rma(mods = ~ factor(by))`.
    Univariate {
        /// The column that defines the subgroups.
        by: String,
        /// Each subgroup's fit and Q_between of their estimates.
        groups: Subgroups,
        /// metafor's Q_M, or why it cannot be computed.
        qm: std::result::Result<SubgroupQm, String>,
    },
    /// The three-level model per subgroup; Q_M of `rma.mv(mods = ~
    /// factor(by), random = ~ 1 | cluster/row)`.
    ThreeLevel {
        /// The column that defines the subgroups.
        by: String,
        /// The cluster column.
        cluster: String,
        /// Each subgroup's fit and the Wald-type test of their estimates.
        groups: MultilevelSubgroups,
        /// metafor's Q_M, or why it cannot be computed.
        qm: std::result::Result<MultilevelSubgroupQm, String>,
    },
}

/// Run a subgroup analysis of the rows (`yi`, `vi`) grouped by `labels`
/// (the values of the column `by`): univariate, or three-level when
/// `clusters` gives each row's cluster (column `cluster`). A Q_M that
/// cannot be computed is kept with its reason.
///
/// # Errors
///
/// A subgroup fit that fails (univariate), or options the three-level model
/// refuses.
pub fn analyse(
    yi: &[f64],
    vi: &[f64],
    by: &str,
    labels: &[String],
    clusters: Option<(&str, &[String])>,
    opts: &ValidRmaOptions,
) -> Result<SubgroupAnalysis> {
    Ok(match clusters {
        None => SubgroupAnalysis::Univariate {
            by: by.into(),
            groups: subgroups(yi, vi, labels, opts)?,
            qm: subgroup_qm(yi, vi, labels, opts).map_err(|e| e.to_string()),
        },
        Some((cluster, rows)) => SubgroupAnalysis::ThreeLevel {
            by: by.into(),
            cluster: cluster.into(),
            groups: subgroups_multilevel(yi, vi, labels, rows, opts)?,
            qm: subgroup_qm_multilevel(yi, vi, labels, &Clusters::from_labels(rows), opts)
                .map_err(|e| e.to_string()),
        },
    })
}
