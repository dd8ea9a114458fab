//! A subgroup analysis ([`crate::analysis::subgroup::SubgroupAnalysis`]:
//! `spotmeta rma --by COL`, with or without `--multilevel`) as text and as
//! the JSON value of the one schema (`$defs/subgroups` of
//! `schema/spotmeta.schema.json`). One file for the result family, as
//! [`crate::output::bayes`]: the forest plot's `--by` JSON can reuse [`json()`].
//!
//! The text prints one line per subgroup fit (k, estimate, SE, CI, τ² or
//! σ², I²) and then both tests for subgroup differences: metafor's Q_M of
//! the moderator model with one shared heterogeneity (`rma(mods = ~
//! factor(by))` or `rma.mv(mods = ~ factor(by), random = ~ 1 |
//! cluster/row)`), and Q_between of the separate subgroup fits.

use crate::analysis::subgroup::{MultilevelSubgroups, SubgroupAnalysis, Subgroups};
use crate::error::Result;
use crate::output::json::RmaSummary;
use crate::output::text::rma::{fmt_p, p_clause};
use serde_json::{Value, json};
use std::fmt::Write;

/// The test statistic as metafor prints it: "QM(df = 2) = 1.2345" (χ²) or
/// "F(df1 = 2, df2 = 10) = 1.2345".
fn qm_text(qm: f64, df: (usize, Option<usize>)) -> String {
    match df {
        (m, Some(d)) => format!("F(df1 = {m}, df2 = {d}) = {qm:.4}"),
        (m, None) => format!("QM(df = {m}) = {qm:.4}"),
    }
}

/// A test's statistic, degrees of freedom and p-value.
type Test = (f64, (usize, Option<usize>), f64);

/// The joint test's line, or why it was not computed.
fn joint_line(formula: &str, qm: std::result::Result<Test, &str>) -> String {
    match qm {
        Ok((q, df, p)) => format!(
            "Test for subgroup differences ({formula}; one shared heterogeneity):\n{}, {}\n",
            qm_text(q, df),
            p_clause(Some(p))
        ),
        Err(why) => format!("Test for subgroup differences ({formula}): not computed ({why})\n"),
    }
}

/// The separate fits' Q_between line, or why it was not computed.
fn between_line(q: Option<f64>, df: usize, p: Option<f64>, what: &str) -> String {
    match q {
        Some(q) => format!(
            "Test for subgroup differences (separate fits, {what}; Q_between of their estimates):\nQ(df = {df}) = {q:.4}, {}\n",
            p_clause(p)
        ),
        None => "Test for subgroup differences (separate fits): not computed (it needs every subgroup fitted, and at least two)\n".to_string(),
    }
}

fn table_head(o: &mut String, het: &str) {
    let _ = writeln!(
        o,
        "{:<16} {:>4}  {:>9}  {:>8}  {:>7}  {:>9}  {:>9}  {:>15}  {:>7}",
        "subgroup", "k", "estimate", "se", "pval", "ci.lb", "ci.ub", het, "I^2"
    );
}

fn univariate_text(by: &str, g: &Subgroups, o: &mut String) {
    let k: usize = g.groups.iter().map(|s| s.members.len()).sum();
    // A one-study subgroup reports a common-effect fit; name the estimator
    // of the others.
    let method = g
        .groups
        .iter()
        .find(|s| s.fit.k > 1)
        .or(g.groups.first())
        .map_or("", |s| s.fit.method.as_str());
    let _ = writeln!(
        o,
        "Subgroup analysis by `{by}` (k = {k}; {} subgroups; tau^2 estimator: {method}, one per subgroup)\n",
        g.groups.len()
    );
    table_head(o, "tau^2");
    for s in &g.groups {
        let f = &s.fit;
        let _ = writeln!(
            o,
            "{:<16} {:>4}  {:>9.4}  {:>8.4}  {:>7}  {:>9.4}  {:>9.4}  {:>15.4}  {:>7}",
            s.name,
            f.k,
            f.estimate,
            f.se,
            fmt_p(f.pval()),
            f.ci_lb,
            f.ci_ub,
            f.tau2,
            f.i2.map_or("NA".into(), |i| format!("{i:.2}%"))
        );
    }
}

fn three_level_text(by: &str, cluster: &str, g: &MultilevelSubgroups, o: &mut String) {
    let k: usize = g.groups.iter().map(|s| s.members.len()).sum();
    let _ = writeln!(
        o,
        "Subgroup analysis by `{by}` (k = {k}; {} subgroups; a three-level model per subgroup, clusters of `{cluster}`)\n",
        g.groups.len()
    );
    table_head(o, "sigma^2 (1, 2)");
    for s in &g.groups {
        match &s.fit {
            Some(f) => {
                let _ = writeln!(
                    o,
                    "{:<16} {:>4}  {:>9.4}  {:>8.4}  {:>7}  {:>9.4}  {:>9.4}  {:>15}  {:>7}",
                    s.name,
                    f.k,
                    f.beta[0],
                    f.se[0],
                    fmt_p(Some(f.pval[0])),
                    f.ci_lb[0],
                    f.ci_ub[0],
                    format!("{:.4}, {:.4}", f.sigma2[0], f.sigma2[1]),
                    format!("{:.2}%", f.i2[0])
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "{:<16} {:>4}  not fitted: {}",
                    s.name,
                    s.members.len(),
                    s.why_not.as_deref().unwrap_or("")
                );
            }
        }
    }
}

/// A subgroup analysis as text (see the module doc).
pub fn text(a: &SubgroupAnalysis) -> String {
    let mut o = String::new();
    match a {
        SubgroupAnalysis::Univariate { by, groups, qm } => {
            univariate_text(by, groups, &mut o);
            o.push('\n');
            let joint = qm
                .as_ref()
                .map(|t| (t.qm, t.qm_df, t.qm_pval))
                .map_err(String::as_str);
            o.push_str(&joint_line(
                &format!("metafor rma(yi, vi, mods = ~ factor({by}))"),
                joint,
            ));
            if let Ok(t) = qm {
                let _ = writeln!(o, "Residual tau^2 (shared by the subgroups): {:.4}", t.tau2);
            }
            o.push('\n');
            o.push_str(&between_line(
                groups.q_between,
                groups.q_between_df,
                groups.q_between_pval,
                "each its own tau^2",
            ));
        }
        SubgroupAnalysis::ThreeLevel {
            by,
            cluster,
            groups,
            qm,
        } => {
            three_level_text(by, cluster, groups, &mut o);
            o.push('\n');
            let joint = qm
                .as_ref()
                .map(|t| (t.qm, t.qm_df, t.qm_pval))
                .map_err(String::as_str);
            o.push_str(&joint_line(
                &format!(
                    "metafor rma.mv(yi, vi, mods = ~ factor({by}), random = ~ 1 | {cluster}/row)"
                ),
                joint,
            ));
            if let Ok(t) = qm {
                let _ = writeln!(
                    o,
                    "Variance components (shared by the subgroups): sigma^2.1 = {:.4}, sigma^2.2 = {:.4}",
                    t.sigma2[0], t.sigma2[1]
                );
            }
            o.push('\n');
            o.push_str(&between_line(
                groups.q_between,
                groups.q_between_df,
                groups.q_between_pval,
                "each its own sigma^2",
            ));
        }
    }
    o
}

/// The joint test as JSON: `{QM, QMdf, QMp, …}` or `{"not_computed": why}`.
fn joint_json<T: serde::Serialize>(qm: &std::result::Result<T, String>) -> Result<Value> {
    Ok(match qm {
        Ok(t) => serde_json::to_value(t).map_err(crate::output::json::json_err)?,
        Err(why) => json!({ "not_computed": why }),
    })
}

/// The separate fits' test as JSON (metafor's keys: the FE meta-regression
/// of the estimates has `QM`, `QMdf`, `QMp`).
fn between_json(q: Option<f64>, df: usize, p: Option<f64>) -> Value {
    match q {
        Some(q) => json!({ "QM": q, "QMdf": [df, null], "QMp": p }),
        None => json!({
            "not_computed": "it needs every subgroup fitted, and at least two"
        }),
    }
}

/// A subgroup analysis as the schema's `subgroups` value: `by`, `model`
/// (`rma` or `rma.mv`), `cluster` (or null), `groups` (each `name`, `k`,
/// `fit` — a fit summary, or null with `why_not`), `test` (metafor's Q_M of
/// the moderator model) and `test_separate` (Q_between of the separate
/// fits). Wrap it with [`crate::output::json::document`] to write it.
///
/// # Errors
///
/// [`crate::Error::Render`] if a value cannot be serialised.
pub fn json(a: &SubgroupAnalysis) -> Result<Value> {
    Ok(match a {
        SubgroupAnalysis::Univariate { by, groups, qm } => {
            let rows = groups
                .groups
                .iter()
                .map(|s| {
                    Ok(json!({
                        "name": s.name,
                        "k": s.members.len(),
                        "fit": serde_json::to_value(RmaSummary::new(&s.fit, None))
                            .map_err(crate::output::json::json_err)?,
                    }))
                })
                .collect::<Result<Vec<_>>>()?;
            json!({
                "by": by, "model": "rma", "cluster": null, "groups": rows,
                "test": joint_json(qm)?,
                "test_separate": between_json(groups.q_between, groups.q_between_df, groups.q_between_pval),
            })
        }
        SubgroupAnalysis::ThreeLevel {
            by,
            cluster,
            groups,
            qm,
        } => {
            let rows = groups
                .groups
                .iter()
                .map(|s| {
                    Ok(json!({
                        "name": s.name,
                        "k": s.members.len(),
                        "clusters": s.clusters,
                        "fit": serde_json::to_value(&s.fit).map_err(crate::output::json::json_err)?,
                        "why_not": s.why_not,
                    }))
                })
                .collect::<Result<Vec<_>>>()?;
            json!({
                "by": by, "model": "rma.mv", "cluster": cluster, "groups": rows,
                "test": joint_json(qm)?,
                "test_separate": between_json(groups.q_between, groups.q_between_df, groups.q_between_pval),
            })
        }
    })
}
