//! `spotmeta rma` as text, laid out like metafor's `print.rma.uni()` (plus
//! the prediction interval, `predict()`, and the Q-profile CIs, `confint()`),
//! `print.rma.mv()` for the three-level model, the CR2 table of `robust()`,
//! and the spot-reduction dataset's primary analysis with its rows; [`render`]
//! picks the one a review's findings hold.

use crate::analysis::Tau2Ci;
use crate::analysis::primary::Selection;
use crate::error::{Error, Result};
use crate::model::multilevel::MultilevelFit;
use crate::model::robust::RobustFit;
use crate::model::{Method, Prediction, RmaFit, RmaModsFit};
use crate::review::{EffectRows, Findings, ModelFit, Pooled, Univariate};
use std::fmt::Write;
use std::path::Path;

/// Format a number with 4 decimals as metafor does (`digits = 4`).
fn f4(x: f64) -> String {
    format!("{x:.4}")
}

/// metafor-style p-value: "<.0001" below 1e-4, otherwise 4 decimals.
pub fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "NA".into(),
        Some(p) if p < 1e-4 => "<.0001".into(),
        Some(p) => {
            let s = format!("{p:.4}");
            s.strip_prefix('0').map(str::to_string).unwrap_or(s)
        }
    }
}

/// "p-val <.0001" or "p-val = .1234", as metafor prints a test's p-value.
pub fn p_clause(p: Option<f64>) -> String {
    let p = fmt_p(p);
    if p.starts_with('<') {
        format!("p-val {p}")
    } else {
        format!("p-val = {p}")
    }
}

fn stars(p: Option<f64>) -> &'static str {
    match p {
        Some(p) if p < 0.001 => "***",
        Some(p) if p < 0.01 => "**",
        Some(p) if p < 0.05 => "*",
        Some(p) if p < 0.1 => ".",
        _ => "",
    }
}

/// Render a fit (and its τ² CI, when there is one) as text.
pub fn render_rma(fit: &RmaFit, ci: Option<&Tau2Ci>) -> String {
    let mut o = String::new();
    let lvl = crate::output::style::level_pct(fit.level);
    if fit.method == Method::FE {
        let _ = writeln!(o, "Common-Effect Model (k = {})\n", fit.k);
    } else {
        let _ = writeln!(
            o,
            "Random-Effects Model (k = {}; tau^2 estimator: {})\n",
            fit.k, fit.method
        );
        let se = fit
            .se_tau2
            .map(|s| format!(" (SE = {})", f4(s)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "tau^2 (estimated amount of total heterogeneity): {}{se}",
            f4(fit.tau2)
        );
        let _ = writeln!(
            o,
            "tau (square root of estimated tau^2 value):      {}",
            f4(fit.tau())
        );
    }
    if let (Some(i2), Some(h2)) = (fit.i2, fit.h2) {
        let what = if fit.method == Method::FE {
            "residual heterogeneity / unaccounted variability"
        } else {
            "total heterogeneity / total variability"
        };
        let _ = writeln!(o, "I^2 ({what}):   {:.2}%", i2);
        let _ = writeln!(
            o,
            "H^2 (total variability / sampling variability):  {:.2}",
            h2
        );
    }
    if let Some(c) = ci {
        let _ = writeln!(
            o,
            "\n{lvl}% CI (Q-profile): tau^2 [{}, {}], tau [{}, {}], I^2 [{:.2}%, {:.2}%], H^2 [{:.2}, {:.2}]",
            f4(c.tau2_lb),
            f4(c.tau2_ub),
            f4(c.tau_lb),
            f4(c.tau_ub),
            c.i2_lb,
            c.i2_ub,
            c.h2_lb,
            c.h2_ub
        );
    }
    if fit.k > 1 {
        let _ = writeln!(o, "\nTest for Heterogeneity:");
        let p = p_clause(fit.q_pval());
        let _ = writeln!(o, "Q(df = {}) = {}, {p}", fit.q_df, f4(fit.q));
    }
    let _ = writeln!(o, "\nModel Results:\n");
    let stat = if fit.test.uses_t() { "tval" } else { "zval" };
    let df_col = if fit.ddf.is_some() { "  df" } else { "" };
    let head = [
        "estimate".to_string(),
        "se".into(),
        stat.into(),
        "pval".into(),
        "ci.lb".into(),
        "ci.ub".into(),
    ];
    let vals = [
        f4(fit.estimate),
        f4(fit.se),
        f4(fit.zval),
        fmt_p(fit.pval()),
        f4(fit.ci_lb),
        f4(fit.ci_ub),
    ];
    let widths: Vec<usize> = head
        .iter()
        .zip(&vals)
        .map(|(h, v)| h.len().max(v.len()))
        .collect();
    let mut line_h = String::new();
    let mut line_v = String::new();
    for (i, (h, v)) in head.iter().zip(&vals).enumerate() {
        if i == 3 && !df_col.is_empty() {
            let df = fit.ddf.unwrap_or(0).to_string();
            let _ = write!(line_h, "{:>w$}  ", "df", w = df.len().max(2));
            let _ = write!(line_v, "{:>w$}  ", df, w = 2usize.max(df.len()));
        }
        let _ = write!(line_h, "{:>w$}  ", h, w = widths[i]);
        let _ = write!(line_v, "{:>w$}  ", v, w = widths[i]);
    }
    let _ = writeln!(o, "{}", line_h.trim_end());
    let _ = writeln!(o, "{}{}", line_v, stars(fit.pval()));
    let _ = writeln!(
        o,
        "\nPrediction interval ({lvl}%): [{}, {}]",
        f4(fit.pi_lb),
        f4(fit.pi_ub)
    );
    let _ = writeln!(
        o,
        "\n---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
    );
    let _ = writeln!(
        o,
        "tau^2 obtained by {} ({} iteration(s)).",
        fit.convergence.describe(),
        fit.iterations
    );
    for n in fit.notes() {
        let _ = writeln!(o, "Note: {}", n.message());
    }
    o
}

/// Render a meta-regression like metafor's `print.rma.uni()` for a model with
/// moderators, optionally with permutation p-values.
pub fn render_rma_mods(
    fit: &crate::model::RmaModsFit,
    perm: Option<&crate::analysis::permutest::Permutest>,
) -> String {
    let mut o = String::new();
    if fit.method == Method::FE {
        let _ = writeln!(o, "Fixed-Effects with Moderators Model (k = {})\n", fit.k);
    } else {
        let _ = writeln!(
            o,
            "Mixed-Effects Model (k = {}; tau^2 estimator: {})\n",
            fit.k, fit.method
        );
        let se = fit
            .se_tau2
            .map(|s| format!(" (SE = {})", f4(s)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "tau^2 (estimated amount of residual heterogeneity):     {}{se}",
            f4(fit.tau2)
        );
        let _ = writeln!(
            o,
            "tau (square root of estimated tau^2 value):             {}",
            f4(fit.tau2.sqrt())
        );
    }
    let _ = writeln!(
        o,
        "I^2 (residual heterogeneity / unaccounted variability): {:.2}%",
        fit.i2
    );
    let _ = writeln!(
        o,
        "H^2 (unaccounted variability / sampling variability):   {:.2}",
        fit.h2
    );
    if let Some(r2) = fit.r2 {
        let _ = writeln!(
            o,
            "R^2 (amount of heterogeneity accounted for):            {:.2}%",
            r2
        );
    }
    let _ = writeln!(o, "\nTest for Residual Heterogeneity:");
    let _ = writeln!(
        o,
        "QE(df = {}) = {}, {}",
        fit.k - fit.p,
        f4(fit.qe),
        p_clause(Some(fit.qe_pval))
    );
    // Coefficients 2:p with an intercept, 1:p without (metafor's btt).
    let _ = writeln!(
        o,
        "\nTest of Moderators (coefficient(s) {}:{}):",
        fit.p - fit.qm_df.0 + 1,
        fit.p
    );
    let p = p_clause(Some(fit.qm_pval));
    match fit.qm_df.1 {
        Some(df2) => {
            let _ = writeln!(
                o,
                "F(df1 = {}, df2 = {df2}) = {}, {p}",
                fit.qm_df.0,
                f4(fit.qm)
            );
        }
        None => {
            let _ = writeln!(o, "QM(df = {}) = {}, {p}", fit.qm_df.0, f4(fit.qm));
        }
    }
    if let Some(pm) = perm {
        let _ = writeln!(
            o,
            "permutation p-val = {} ({} permutations, seed {})",
            fmt_p(Some(pm.qm_pval)),
            pm.iter,
            pm.seed
        );
    }
    let _ = writeln!(o, "\nModel Results:\n");
    let stat = if fit.test.uses_t() { "tval" } else { "zval" };
    let w = fit.names.iter().map(|n| n.len()).max().unwrap_or(7).max(7);
    let _ = writeln!(
        o,
        "{:<w$}  {:>9}  {:>8}  {:>8}  {:>7}{}  {:>9}  {:>9}",
        "",
        "estimate",
        "se",
        stat,
        "pval",
        if perm.is_some() { "  perm.p" } else { "" },
        "ci.lb",
        "ci.ub"
    );
    for j in 0..fit.p {
        let pp = perm
            .map(|pm| format!("  {:>6}", fmt_p(Some(pm.pval[j]))))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "{:<w$}  {:>9}  {:>8}  {:>8}  {:>7}{pp}  {:>9}  {:>9}  {}",
            fit.names[j],
            f4(fit.beta[j]),
            f4(fit.se[j]),
            f4(fit.zval[j]),
            fmt_p(Some(fit.pval[j])),
            f4(fit.ci_lb[j]),
            f4(fit.ci_ub[j]),
            stars(Some(fit.pval[j]))
        );
    }
    let _ = writeln!(
        o,
        "\n---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
    );
    o
}

/// Render CR2 results.
pub fn render_robust(names: &[String], r: &RobustFit, cluster: &str) -> String {
    let mut t = format!(
        "\nCluster-robust inference (CR2, Satterthwaite df; {} clusters of `{cluster}`):\n",
        r.clusters
    );
    let w = names.iter().map(|n| n.len()).max().unwrap_or(7).max(7);
    t.push_str(&format!(
        "{:<w$}  {:>9}  {:>8}  {:>8}  {:>6}  {:>7}  {:>9}  {:>9}\n",
        "", "estimate", "se", "tval", "df", "pval", "ci.lb", "ci.ub"
    ));
    for (j, name) in names.iter().enumerate() {
        t.push_str(&format!(
            "{:<w$}  {:>9.4}  {:>8.4}  {:>8.4}  {:>6.2}  {:>7}  {:>9.4}  {:>9.4}\n",
            name,
            r.beta[j],
            r.se[j],
            r.tval[j],
            r.df[j],
            fmt_p(Some(r.pval[j])),
            r.ci_lb[j],
            r.ci_ub[j]
        ));
    }
    t
}

/// Notes of a fit, one line each.
pub fn render_notes(notes: &[String]) -> String {
    notes.iter().map(|n| format!("\nNote: {n}\n")).collect()
}

/// Render a three-level fit like metafor's print.rma.mv.
pub fn render_multilevel(f: &MultilevelFit, cluster: &str) -> String {
    let mut t = format!(
        "Multilevel Model (k = {}; {} clusters of `{cluster}`; method: {})\n\nVariance Components:\n\n",
        f.k, f.clusters, f.method
    );
    t.push_str(&format!(
        "{:<10} {:>8} {:>8}  {:<24} {}\n",
        "",
        "estim",
        "sqrt",
        format!("profile {}% CI", 100.0 * f.level),
        "level"
    ));
    for (s, what) in [
        (0, format!("between `{cluster}`")),
        (1, format!("within `{cluster}`")),
    ] {
        let ci = f.sigma2_ci[s]
            .map(|(a, b)| format!("[{a:.4}, {b:.4}]"))
            .unwrap_or("not found".into());
        t.push_str(&format!(
            "sigma^2.{}  {:>8.4} {:>8.4}  {:<24} {what}\n",
            s + 1,
            f.sigma2[s],
            f.sigma2[s].sqrt(),
            ci
        ));
    }
    t.push_str(&format!(
        "\nI^2: total {:.2}%, between clusters {:.2}%, within clusters {:.2}%\n",
        f.i2[0], f.i2[1], f.i2[2]
    ));
    if f.k == f.clusters {
        t.push_str("Note: every cluster has one row, so only the sum of the two components is identified; the split between them is arbitrary.\n");
    }
    t.push_str(&format!(
        "\nTest for Heterogeneity:\nQ(df = {}) = {:.4}, {}\n\nModel Results:\n\n",
        f.k - f.beta.len(),
        f.qe,
        p_clause(Some(f.qe_pval))
    ));
    if let Some(df) = f.df {
        t.push_str(&format!(
            "Tests and CIs use the t distribution with k - p = {df} df (metafor rma.mv test = \"t\"; no Knapp-Hartung rescaling in a multilevel model).\n\n"
        ));
    }
    let w = f.names.iter().map(|n| n.len()).max().unwrap_or(7).max(7);
    t.push_str(&format!(
        "{:<w$}  {:>9}  {:>8}  {:>8}  {:>7}  {:>9}  {:>9}\n",
        "",
        "estimate",
        "se",
        if f.df.is_some() { "tval" } else { "zval" },
        "pval",
        "ci.lb",
        "ci.ub"
    ));
    for j in 0..f.beta.len() {
        t.push_str(&format!(
            "{:<w$}  {:>9.4}  {:>8.4}  {:>8.4}  {:>7}  {:>9.4}  {:>9.4}\n",
            f.names[j],
            f.beta[j],
            f.se[j],
            f.zval[j],
            fmt_p(Some(f.pval[j])),
            f.ci_lb[j],
            f.ci_ub[j]
        ));
    }
    t.push_str(&render_notes(&f.notes));
    t
}

/// The primary analysis as text: rows used, the model, rows left out.
pub fn render_primary(path: &Path, n_rows: usize, sel: &Selection, p: &Pooled) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "Primary analysis of {} ({n_rows} rows)", path.display());
    let _ = writeln!(
        t,
        "{}; positive = more fat lost in the trained region.\nOne primary outcome per study and cohort; exercise interventions only.\n",
        crate::escalc::spot::SPOT_EFFECT_LABEL
    );
    let _ = writeln!(t, "Rows pooled (k = {}):", sel.used.len());
    let w = sel
        .used
        .iter()
        .map(|u| u.label.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        t,
        "  {:>4}  {:<w$}  {:<7} {:>8} {:>8}  derivations",
        "line", "study", "measure", "yi", "vi"
    );
    for u in &sel.used {
        let d: Vec<String> = u.effect.derivations.iter().map(|d| d.to_string()).collect();
        let d = if d.is_empty() {
            "as reported".to_string()
        } else {
            d.join("; ")
        };
        let _ = writeln!(
            t,
            "  {:>4}  {:<w$}  {:<7} {:>8.4} {:>8.4}  {d}",
            u.line,
            u.label,
            u.effect.measure.as_str(),
            u.effect.yi,
            u.effect.vi
        );
    }
    let _ = writeln!(t);
    t.push_str(&render_rma(&p.fit, p.tau2_ci.as_ref()));
    if let Some(why) = &p.tau2_ci_why {
        let _ = writeln!(t, "Note: CI for tau^2 (Q-profile) {why}");
    }
    let _ = writeln!(t, "\nRows not pooled ({}):", sel.left_out.len());
    for l in &sel.left_out {
        let _ = writeln!(
            t,
            "  line {:>3}  {} [{}]: {}",
            l.line, l.label, l.outcome, l.reason
        );
    }
    t
}

/// `spotmeta rma` as text: the model `f` was asked for, else the spot
/// dataset's primary analysis, else a table's pooled fit with the rows
/// omitted.
///
/// # Errors
///
/// [`Error::Unsupported`] when `f` holds neither a model nor a pooled fit.
pub fn render(f: &Findings) -> Result<String> {
    if let Some(m) = &f.models {
        return Ok(render_model(m));
    }
    let p = f
        .pooled
        .as_ref()
        .ok_or_else(|| Error::Unsupported("nothing was pooled".into()))?;
    Ok(match &f.rows {
        EffectRows::Spot(sel) => render_primary(f.dataset.path(), f.dataset.n_rows(), sel, p),
        EffectRows::Table(_) => {
            let mut t = render_rma(&p.fit, p.tau2_ci.as_ref());
            if let Some(why) = &p.tau2_ci_why {
                let _ = writeln!(t, "Note: CI for tau^2 (Q-profile) {why}");
            }
            let omitted = omitted(&f.rows);
            if !omitted.is_empty() {
                let _ = writeln!(t, "\n{} row(s) omitted (missing values):", omitted.len());
                for o in &omitted {
                    let _ = writeln!(t, "  {o}");
                }
            }
            t
        }
    })
}

/// "line 5 (Smith 2001): missing `vi`" for each row of a table without an
/// effect size.
pub fn omitted(rows: &EffectRows) -> Vec<String> {
    match rows {
        EffectRows::Table(rows) => rows
            .iter()
            .filter_map(|r| {
                r.omitted
                    .as_ref()
                    .map(|why| format!("line {} ({}): {why}", r.line, r.label))
            })
            .collect(),
        EffectRows::Spot(_) => Vec::new(),
    }
}

/// A requested model (`--mods`, `--multilevel`, `--robust`, `--by`) as text.
pub fn render_model(m: &ModelFit) -> String {
    match m {
        ModelFit::Regression {
            fit,
            permutest,
            dropped,
            terms,
            predictions,
        } => {
            let mut t = render_rma_mods(fit, permutest.as_ref());
            t.push_str(&render_notes(&fit.notes));
            if let Some(terms) = terms.as_ref().filter(|t| !t.dropped.is_empty()) {
                let _ = writeln!(
                    t,
                    "\nRedundant predictors dropped from the model: {}",
                    terms.dropped.join(", ")
                );
            }
            if !predictions.is_empty() {
                t.push_str(&render_predictions(fit, predictions));
            }
            if !dropped.is_empty() {
                t.push_str(&format!(
                    "\n{} row(s) without a moderator value omitted: {}\n",
                    dropped.len(),
                    dropped.join(", ")
                ));
            }
            t
        }
        ModelFit::InterceptPermutest {
            fit,
            tau2_ci,
            permutest: pm,
        } => {
            let mut t = render_rma(fit, tau2_ci.0.as_ref());
            let _ = writeln!(
                t,
                "\nPermutation test (signs of yi flipped; metafor permutest): p-val = {} ({} {}permutations, seed {})",
                fmt_p(Some(pm.pval[0])),
                pm.iter,
                if pm.exact { "(all) " } else { "" },
                pm.seed
            );
            t
        }
        ModelFit::Multilevel {
            cluster,
            fit,
            robust,
        } => {
            let mut t = render_multilevel(fit, cluster);
            if let Some((rc, rob)) = robust {
                t.push_str(&render_robust(&fit.names, rob, rc));
            }
            t
        }
        ModelFit::Robust {
            cluster,
            model,
            names,
            robust,
        } => {
            let mut t = match model {
                Univariate::Rma(fit) => render_rma(fit, None),
                Univariate::Mods(fit) => render_rma_mods(fit, None) + &render_notes(&fit.notes),
            };
            t.push_str(&render_robust(names, robust, cluster));
            t
        }
        ModelFit::Subgroups(a) => crate::output::subgroup::text(a),
    }
}

/// `--newmods` predictions as metafor's `print(predict(...))` table.
pub fn render_predictions(fit: &RmaModsFit, preds: &[(Vec<f64>, Prediction)]) -> String {
    let mut t = String::from("\nPredicted values (metafor predict(newmods = )):\n\n");
    let _ = writeln!(
        t,
        "{:>9}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  at {}",
        "pred",
        "se",
        "ci.lb",
        "ci.ub",
        "pi.lb",
        "pi.ub",
        fit.names.join(", ")
    );
    for (row, p) in preds {
        let at: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        let _ = writeln!(
            t,
            "{:>9.4}  {:>8.4}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9.4}  ({})",
            p.pred,
            p.se,
            p.ci_lb,
            p.ci_ub,
            p.pi_lb,
            p.pi_ub,
            at.join(", ")
        );
    }
    t
}
