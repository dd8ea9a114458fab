//! `spotmeta sensitivity` as text: the pooled effect with and without
//! flagged studies, flagged vs unflagged, the imputed correlations, the
//! meta-regressions on the energy-expenditure moderators and the
//! leave-one-out / influence / cumulative / Egger / trim-and-fill battery.

use super::fmt_p;
use crate::analysis::diagnostics::Outcome;
use crate::analysis::sensitivity::{Scenario, Sensitivity};
use std::fmt::Write;

fn scenario_line(s: &Scenario) -> String {
    match &s.fit {
        Some(f) => format!(
            "  {:<30} k = {:>2}  {:>7.4} [{:>7.4}, {:>7.4}]  tau^2 = {:.4}",
            s.name, f.k, f.estimate, f.ci_lb, f.ci_ub, f.tau2
        ),
        None => format!("  {:<30} k =  0  (nothing left to pool)", s.name),
    }
}

/// Render the sensitivity results as text.
pub fn render(s: &Sensitivity) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Sensitivity to energy-expenditure confounds\n\n{}\n",
        s.sentence
    );
    let _ = writeln!(
        t,
        "Pooled effect ({}; positive = more fat lost in the trained region):",
        crate::escalc::spot::SPOT_METRIC_LABEL
    );
    for sc in &s.scenarios {
        let _ = writeln!(t, "{}", scenario_line(sc));
        if !sc.excluded.is_empty() {
            let _ = writeln!(t, "      set aside: {}", sc.excluded.join("; "));
        }
    }
    for (_, sc) in &s.correlation {
        let _ = writeln!(t, "{}", scenario_line(sc));
    }
    match &s.flagged_vs_unflagged {
        Some(g) => {
            let _ = writeln!(t, "\nFlagged vs unflagged:");
            for grp in &g.groups {
                let _ = writeln!(
                    t,
                    "  {:<12} k = {:>2}  {:>7.4} [{:>7.4}, {:>7.4}]",
                    grp.name, grp.fit.k, grp.fit.estimate, grp.fit.ci_lb, grp.fit.ci_ub
                );
            }
            if let (Some(q), Some(p)) = (g.q_between, g.q_between_pval) {
                let _ = writeln!(
                    t,
                    "  Test for subgroup differences: Q(df = {}) = {q:.4}, p = {}",
                    g.q_between_df,
                    fmt_p(Some(p))
                );
            }
        }
        None => {
            let _ = writeln!(
                t,
                "\nFlagged vs unflagged: not run (the pooled studies are all in one group)"
            );
        }
    }
    let _ = writeln!(t, "\nMeta-regression on energy-expenditure moderators:");
    for m in &s.metareg {
        match &m.result {
            Outcome::Done((fit, perm)) => {
                let _ = writeln!(
                    t,
                    "  {:<18} k = {:>2}  slope {:.4} (SE {:.4}), p = {}, permutation p = {} ({} permutations); R^2 = {}",
                    m.moderator,
                    fit.k,
                    fit.beta[1],
                    fit.se[1],
                    fmt_p(Some(fit.pval[1])),
                    fmt_p(Some(perm.pval[1])),
                    perm.iter,
                    fit.r2.map(|r| format!("{r:.1}%")).unwrap_or("NA".into())
                );
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(t, "  {:<18} not run: {reason}", m.moderator);
            }
        }
    }
    if let Some(d) = &s.diagnostics {
        let _ = writeln!(t, "\nLeave-one-out:");
        match &d.leave1out {
            Outcome::Done(l) => {
                for (x, label) in l.iter().zip(&d.labels) {
                    let _ = writeln!(
                        t,
                        "  without {:<28} {:>7.4} [{:>7.4}, {:>7.4}]",
                        label, x.estimate, x.ci_lb, x.ci_ub
                    );
                }
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(t, "  not run: {reason}");
            }
        }
        let _ = writeln!(t, "\nInfluence (metafor influence()):");
        match &d.influence {
            Outcome::Done(inf) => {
                let _ = writeln!(
                    t,
                    "  {:<28} {:>8} {:>8} {:>8} {:>6} {:>7}",
                    "study", "rstudent", "dffits", "cook.d", "hat", "weight"
                );
                for (x, label) in inf.iter().zip(&d.labels) {
                    let _ = writeln!(
                        t,
                        "  {:<28} {:>8.4} {:>8.4} {:>8.4} {:>6.3} {:>6.1}%{}",
                        label,
                        x.rstudent,
                        x.dffits,
                        x.cook_d,
                        x.hat,
                        x.weight,
                        if x.is_infl { " *" } else { "" }
                    );
                }
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(t, "  not run: {reason}");
            }
        }
        let _ = writeln!(t, "\nCumulative by year:");
        match &d.cumul {
            Outcome::Done(c) => {
                for x in c {
                    let _ = writeln!(
                        t,
                        "  + {:<28} k = {:>2}  {:>7.4} [{:>7.4}, {:>7.4}]",
                        d.labels[x.added], x.k, x.estimate, x.ci_lb, x.ci_ub
                    );
                }
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(t, "  not run: {reason}");
            }
        }
        let _ = writeln!(
            t,
            "\nSmall-study effects{}:",
            if d.small_study_underpowered {
                " (UNDERPOWERED: fewer studies than the small-study rule asks; descriptive only)"
            } else {
                ""
            }
        );
        match &d.regtest {
            Outcome::Done(r) => {
                let _ = writeln!(
                    t,
                    "  Egger regression test: {} = {:.4}, p = {}; limit estimate {:.4} [{:.4}, {:.4}]",
                    if r.dfs.is_some() { "t" } else { "z" },
                    r.zval,
                    fmt_p(Some(r.pval)),
                    r.est,
                    r.ci_lb,
                    r.ci_ub
                );
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(t, "  Egger regression test not run: {reason}");
            }
        }
        match &d.trimfill {
            Outcome::Done(tf) => {
                let _ = writeln!(
                    t,
                    "  Trim and fill (L0): {} studies missing on the {:?} side; adjusted estimate {:.4} [{:.4}, {:.4}]",
                    tf.k0, tf.side, tf.fit.estimate, tf.fit.ci_lb, tf.fit.ci_ub
                );
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(t, "  Trim and fill not run: {reason}");
            }
        }
    }
    t
}
