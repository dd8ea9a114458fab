//! Text renderers for the case-deletion and small-study diagnostics run on
//! any yi/vi table (`spotmeta leave1out | influence | cumul | regtest |
//! trimfill`), laid out like metafor's `print()` of the same objects.

use super::text::fmt_p;
use crate::analysis::cumul::CumulStep;
use crate::analysis::diagnostics::{Diagnostic, DiagnosticResult, TableDiagnostic};
use crate::analysis::influence::Influence;
use crate::analysis::leave1out::Leave1Out;
use crate::analysis::regtest::Regtest;
use crate::analysis::trimfill::{Side, TrimFill};
use std::fmt::Write;

fn label_width(labels: &[String]) -> usize {
    labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(5)
        .max(5)
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// metafor `print(leave1out(fit))`: one row per omitted study.
pub fn render_leave1out(rows: &[Leave1Out], labels: &[String]) -> String {
    let w = label_width(labels);
    let mut t = format!(
        "{:<w$}  {:>9}  {:>8}  {:>8}  {:>7}  {:>9}  {:>9}  {:>9}  {:>7}  {:>8}  {:>7}  {:>7}\n",
        "", "estimate", "se", "zval", "pval", "ci.lb", "ci.ub", "Q", "Qp", "tau2", "I2", "H2"
    );
    for r in rows {
        let _ = writeln!(
            t,
            "{:<w$}  {:>9.4}  {:>8.4}  {:>8.4}  {:>7}  {:>9.4}  {:>9.4}  {:>9.4}  {:>7}  {:>8.4}  {:>7}  {:>7}",
            labels[r.omitted],
            r.estimate,
            r.se,
            r.zval,
            fmt_p(r.pval),
            r.ci_lb,
            r.ci_ub,
            r.q,
            fmt_p(r.q_pval),
            r.tau2,
            opt(r.i2, 2),
            opt(r.h2, 4)
        );
    }
    t
}

/// metafor `print(influence(fit))`: the diagnostics, `*` marking
/// influential studies.
pub fn render_influence(rows: &[Influence], labels: &[String]) -> String {
    let w = label_width(labels);
    let mut t = format!(
        "{:<w$}  {:>8}  {:>8}  {:>7}  {:>7}  {:>8}  {:>8}  {:>6}  {:>7}  {:>7}  inf\n",
        "", "rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat", "weight", "dfbs"
    );
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            t,
            "{:<w$}  {:>8.4}  {:>8.4}  {:>7.4}  {:>7.4}  {:>8.4}  {:>8.4}  {:>6.4}  {:>7.4}  {:>7.4}  {}",
            labels[i],
            r.rstudent,
            r.dffits,
            r.cook_d,
            r.cov_r,
            r.tau2_del,
            r.q_del,
            r.hat,
            r.weight,
            r.dfbs,
            if r.is_infl { "*" } else { "" }
        );
    }
    t
}

/// metafor `print(cumul(fit, order = ))`: the fit after each study is added.
pub fn render_cumul(steps: &[CumulStep], labels: &[String], order_by: &str) -> String {
    let w = label_width(labels);
    let mut t = format!("Cumulative meta-analysis ordered by `{order_by}`:\n\n");
    let _ = writeln!(
        t,
        "{:<w$}  {:>3}  {:>9}  {:>8}  {:>7}  {:>9}  {:>9}  {:>8}  {:>7}  {:>9}",
        "", "k", "estimate", "se", "pval", "ci.lb", "ci.ub", "tau2", "I2", "Q"
    );
    for s in steps {
        let _ = writeln!(
            t,
            "{:<w$}  {:>3}  {:>9.4}  {:>8.4}  {:>7}  {:>9.4}  {:>9.4}  {:>8.4}  {:>7}  {:>9.4}",
            labels[s.added],
            s.k,
            s.estimate,
            s.se,
            fmt_p(s.pval),
            s.ci_lb,
            s.ci_ub,
            s.tau2,
            opt(s.i2, 2),
            s.q
        );
    }
    t
}

/// metafor `print(regtest(fit))`.
pub fn render_regtest(r: &Regtest) -> String {
    let what = match r.model {
        crate::analysis::regtest::RegtestModel::Rma => "mixed-effects meta-regression model",
        crate::analysis::regtest::RegtestModel::Lm => {
            "weighted regression with multiplicative dispersion"
        }
    };
    let stat = match r.dfs {
        Some(df) => format!("t = {:.4}, df = {df}", r.zval),
        None => format!("z = {:.4}", r.zval),
    };
    format!(
        "Regression Test for Funnel Plot Asymmetry\n\nModel:     {what}\nPredictor: standard error\n\nTest for Funnel Plot Asymmetry: {stat}, p = {}\nLimit Estimate (as sei -> 0):   b = {:.4} (CI: {:.4}, {:.4})\n",
        fmt_p(Some(r.pval)),
        r.est,
        r.ci_lb,
        r.ci_ub
    )
}

/// metafor `print(trimfill(fit))`: the filled-in count and the adjusted fit.
pub fn render_trimfill(tf: &TrimFill) -> String {
    let side = match tf.side {
        Side::Left => "left",
        Side::Right => "right",
    };
    let f = &tf.fit;
    format!(
        "Trim and fill (L0 estimator)\n\nEstimated number of missing studies on the {side} side: {} (SE = {:.4})\n\nModel with the filled-in studies (k = {}; tau^2 estimator: {}):\nestimate = {:.4}, se = {:.4}, pval = {}, {}% CI [{:.4}, {:.4}]; tau^2 = {:.4}, Q = {:.4}\n",
        tf.k0,
        tf.se_k0,
        f.k,
        f.method,
        f.estimate,
        f.se,
        fmt_p(f.pval()),
        100.0 * f.level,
        f.ci_lb,
        f.ci_ub,
        f.tau2,
        f.q
    )
}
/// A diagnostic run on a table as metafor's `print()` shows it.
pub fn render_table_diagnostic(d: &TableDiagnostic) -> String {
    match (&d.result, &d.which) {
        (DiagnosticResult::Leave1out(l), _) => render_leave1out(l, &d.labels),
        (DiagnosticResult::Influence(inf), _) => render_influence(inf, &d.labels),
        (DiagnosticResult::Cumul(steps), Diagnostic::Cumul { column, .. }) => {
            render_cumul(steps, &d.labels, column)
        }
        (DiagnosticResult::Cumul(steps), _) => render_cumul(steps, &d.labels, "order"),
        (DiagnosticResult::Regtest(r), _) => render_regtest(r),
        (DiagnosticResult::Trimfill(tf), _) => render_trimfill(tf),
    }
}

fn json_value<T: serde::Serialize>(x: &T) -> crate::error::Result<serde_json::Value> {
    serde_json::to_value(x).map_err(super::json::json_err)
}

/// A diagnostic run on a table as one JSON document; rows of leave1out,
/// influence and cumul carry their study's label as `slab`.
///
/// # Errors
///
/// If serialising fails.
pub fn table_diagnostic_json(d: &TableDiagnostic) -> crate::error::Result<String> {
    let name = d.which.name();
    let slabbed = |rows: Vec<(serde_json::Value, usize)>| -> crate::error::Result<String> {
        let out: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(mut v, i)| {
                v["slab"] = serde_json::json!(d.labels.get(i));
                v
            })
            .collect();
        super::json::document(name, &out)
    };
    match &d.result {
        DiagnosticResult::Leave1out(l) => slabbed(
            l.iter()
                .map(|r| Ok((json_value(r)?, r.omitted)))
                .collect::<crate::error::Result<_>>()?,
        ),
        DiagnosticResult::Influence(inf) => slabbed(
            inf.iter()
                .enumerate()
                .map(|(i, r)| Ok((json_value(r)?, i)))
                .collect::<crate::error::Result<_>>()?,
        ),
        DiagnosticResult::Cumul(steps) => slabbed(
            steps
                .iter()
                .map(|s| Ok((json_value(s)?, s.added)))
                .collect::<crate::error::Result<_>>()?,
        ),
        DiagnosticResult::Regtest(r) => super::json::document(name, r),
        DiagnosticResult::Trimfill(tf) => super::json::document(name, tf),
    }
}
