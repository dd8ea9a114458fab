//! `summary.md`: the report in words and tables (pooled result, rows pooled
//! and not pooled, confounds and sensitivity, the Bayesian model, the
//! synthesis without numbers, small-study effects, methods).

use super::sentences::{
    SIGN_TEST_TEXT, all_outcomes_row, all_outcomes_sentence, counts_sentence, heterogeneity_text,
    left_out_summary, methods_text, sign_cells, split_cells, three_level_text,
};
use super::{ReportInput, ReportRow, SOFTWARE};
use crate::analysis::diagnostics::Outcome;
use crate::analysis::multilevel_primary::ThreeLevel;
use crate::analysis::primary::LeftOut;
use crate::analysis::sensitivity::{Scenario, Sensitivity};
use crate::analysis::vote::VoteCount;
use crate::data::Direction;
use crate::escalc::pvalue::{GFromP, PValue};
use crate::model::RmaFit;
use crate::output::forest::model_name;
use crate::output::funnel::small_study_notes;
use crate::output::sof::sof_markdown;
use crate::output::style::{level_pct, p_clause};
use std::fmt::Write as _;
fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A participant count for a table cell ("–" when not reported).
fn n_cell(n: Option<u32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "–".into())
}

/// "0.65 [−0.17, 1.47]": the estimate with its 95% Wald CI.
fn ci_cell(yi: f64, vi: f64) -> String {
    let h = 1.959_963_984_540_054 * vi.sqrt();
    format!("{:.2} [{:.2}, {:.2}]", yi, yi - h, yi + h)
}

fn detail_cell(detail: &str) -> String {
    if detail.is_empty() {
        "as reported".to_string()
    } else {
        md_escape(detail)
    }
}

/// A two-column markdown table of (name, value).
fn value_table(t: &mut String, rows: &[(String, String)]) {
    let _ = writeln!(t, "| | value |\n|---|---|");
    for (k, v) in rows {
        let _ = writeln!(t, "| {k} | {v} |");
    }
}

fn one_per_study_values(fit: &RmaFit) -> Vec<(String, String)> {
    let lvl = level_pct(fit.level);
    [
        ("k", fit.k.to_string()),
        ("estimate", format!("{:.4}", fit.estimate)),
        ("SE", format!("{:.4}", fit.se)),
        (
            &*format!("{lvl}% CI"),
            format!("{:.4} to {:.4}", fit.ci_lb, fit.ci_ub),
        ),
        (
            "prediction interval",
            format!("{:.4} to {:.4}", fit.pi_lb, fit.pi_ub),
        ),
        ("test", crate::output::forest::test_line(fit)),
        ("τ²", format!("{:.4}", fit.tau2)),
        (
            "I²",
            fit.i2
                .map(|i| format!("{i:.1}%"))
                .unwrap_or_else(|| "NA".into()),
        ),
        (
            "Q (df)",
            format!("{:.4} ({}), {}", fit.q, fit.q_df, p_clause(fit.q_pval())),
        ),
    ]
    .map(|(a, b)| (a.to_string(), b))
    .to_vec()
}

fn three_level_values(tl: &ThreeLevel) -> Vec<(String, String)> {
    let (f, r) = (&tl.fit, &tl.robust);
    let lvl = level_pct(f.level);
    let ci = |c: Option<(f64, f64)>| match c {
        Some((lo, hi)) => format!("{lo:.4} to {hi:.4}"),
        None => "not found".into(),
    };
    [
        ("k (outcomes)", f.k.to_string()),
        ("studies", f.clusters.to_string()),
        ("estimate", format!("{:.4}", r.beta[0])),
        ("SE (CR2)", format!("{:.4}", r.se[0])),
        (
            &*format!("{lvl}% CI (CR2)"),
            format!("{:.4} to {:.4}", r.ci_lb[0], r.ci_ub[0]),
        ),
        (
            "prediction interval",
            format!("{:.4} to {:.4}", tl.pi.0, tl.pi.1),
        ),
        (
            "test",
            format!(
                "t({:.2}) = {:.4}, {}",
                r.df[0],
                r.tval[0],
                p_clause(Some(r.pval[0]))
            ),
        ),
        (
            "σ² between studies (profile CI)",
            format!("{:.4} ({})", f.sigma2[0], ci(f.sigma2_ci[0])),
        ),
        (
            "σ² within studies (profile CI)",
            format!("{:.4} ({})", f.sigma2[1], ci(f.sigma2_ci[1])),
        ),
        (
            "I² total / between / within",
            format!("{:.1}% / {:.1}% / {:.1}%", f.i2[0], f.i2[1], f.i2[2]),
        ),
        (
            "Q (df)",
            format!(
                "{:.4} ({}), {}",
                f.qe,
                f.k - f.beta.len(),
                p_clause(Some(f.qe_pval))
            ),
        ),
    ]
    .map(|(a, b)| (a.to_string(), b))
    .to_vec()
}

/// `summary.md`: the report in words and tables.
pub(super) fn summary_markdown(
    input: &ReportInput,
    sentence: &str,
    three: Option<&ThreeLevel>,
    left_out: &[LeftOut],
) -> String {
    let fit = &input.fit;
    let mut t = String::new();
    let _ = writeln!(t, "# {}\n", input.title);
    let _ = write!(t, "Dataset `{}`, {} rows", input.dataset, input.n_rows);
    if let Some(d) = &input.search_date {
        let _ = write!(t, ", search date {d}");
    }
    let _ = writeln!(t, "; {SOFTWARE}.\n");
    let _ = writeln!(t, "## Pooled result\n\n{sentence}\n");
    let one_per_study_lines = |t: &mut String| {
        let _ = writeln!(
            t,
            "{}. {}\n",
            model_name(fit),
            heterogeneity_text(fit, input.tau2_ci.as_ref())
        );
        value_table(t, &one_per_study_values(fit));
    };
    match (three, &input.all_outcomes) {
        (Some(tl), Some(a)) => {
            let _ = writeln!(t, "{}\n", three_level_text(tl));
            value_table(&mut t, &three_level_values(tl));
            let _ = writeln!(t, "\n![Forest plot](forest.png)\n");
            let _ = writeln!(t, "## Rows pooled ({})\n", a.rows.len());
            let _ = writeln!(
                t,
                "| line | study | outcome | n | {} [95% CI] | weight | weight, one per study | how obtained |\n|---:|---|---|---:|---|---:|---:|---|",
                input.effect_label
            );
            for (u, w) in a.rows.iter().zip(&tl.weights) {
                let r = ReportRow::from_used(u);
                let one = if input.rows.iter().any(|x| x.line == r.line) {
                    format!("{:.1}%", fit.weight_percent(r.vi))
                } else {
                    "–".into()
                };
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} | {} | {w:.1}% | {one} | {} |",
                    r.line,
                    md_escape(&r.label),
                    md_escape(&u.outcome),
                    n_cell(r.n),
                    ci_cell(r.yi, r.vi),
                    detail_cell(&r.detail)
                );
            }
            let _ = writeln!(t, "\n## One outcome per cohort (sensitivity analysis)\n");
            one_per_study_lines(&mut t);
        }
        _ => {
            one_per_study_lines(&mut t);
            let _ = writeln!(t, "\n![Forest plot](forest.png)\n");
            let _ = writeln!(t, "## Rows pooled ({})\n", input.rows.len());
            let _ = writeln!(
                t,
                "| line | study | n | {} [95% CI] | weight | how obtained |\n|---:|---|---:|---|---:|---|",
                input.effect_label
            );
            for r in &input.rows {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} | {:.1}% | {} |",
                    r.line,
                    md_escape(&r.label),
                    n_cell(r.n),
                    ci_cell(r.yi, r.vi),
                    fit.weight_percent(r.vi),
                    detail_cell(&r.detail)
                );
            }
            if let Some(a) = &input.all_outcomes {
                let _ = writeln!(
                    t,
                    "\n## All outcomes, three-level model + CR2\n\n{}",
                    all_outcomes_sentence(a)
                );
            }
        }
    }
    if let Some(sens) = &input.sensitivity {
        confounds_markdown(&mut t, sens, &input.effect_label);
        if let Some(a) = &input.all_outcomes {
            let _ = writeln!(t, "\n{}", all_outcomes_row(a));
        }
    }
    appraisal_markdown(&mut t, input);
    if let Some(b) = &input.bayes {
        let _ = writeln!(
            t,
            "\n## Bayesian random-effects model\n\nThe joint posterior of mu and tau by numerical integration (no MCMC), after R bayesmeta (Röver 2020); `spotmeta bayes` prints the same numbers. The block \"Bayesian shrinkage estimates\" of the forest plot shows each study's posterior estimate.\n\n{}\n",
            crate::output::bayes::report_line(&b.fit)
        );
        let sens = crate::output::bayes::render_sensitivity(&b.sensitivity, b.fit.worthwhile);
        if !sens.is_empty() {
            let _ = writeln!(t, "```text{sens}```");
        }
    }
    if let (None, Some(why)) = (&input.bayes, &input.bayes_not_run) {
        let _ = writeln!(
            t,
            "\n## Bayesian random-effects model\n\nNot computed: {why}. The other analyses of this report do not depend on it.\n"
        );
    }
    if let Some(v) = &input.vote {
        vote_markdown(&mut t, v);
    }
    let _ = writeln!(t, "\n## Rows not pooled, by reason\n");
    let _ = writeln!(t, "| reason | rows |\n|---|---:|");
    for (reason, count) in left_out_summary(left_out) {
        let _ = writeln!(t, "| {} | {count} |", md_escape(&reason));
    }
    let _ = writeln!(t, "\n## Small-study effects\n");
    if three.is_some() {
        let _ = writeln!(
            t,
            "On the one-outcome-per-cohort analysis (funnel plot, Egger's test and trim and fill assume independent effect sizes).\n"
        );
    }
    let _ = writeln!(t, "![Funnel plot](funnel.png)\n");
    match &input.diagnostics {
        Some(d) => {
            for l in small_study_notes(d) {
                let _ = writeln!(t, "- {l}");
            }
        }
        None => {
            let _ = writeln!(t, "- Not computed.");
        }
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "## Rows not pooled ({})\n", input.left_out.len());
    let _ = writeln!(t, "| line | study | outcome | reason |\n|---:|---|---|---|");
    for l in &input.left_out {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} |",
            l.line,
            md_escape(&l.label),
            md_escape(&l.outcome),
            md_escape(&l.reason)
        );
    }
    let _ = writeln!(t, "\n## Methods\n\n{}", methods_text(input));
    t
}

/// The certainty (Summary of Findings, GRADE step by step), risk-of-bias
/// and PRISMA sections of `summary.md` (spot dataset; issue #17).
fn appraisal_markdown(t: &mut String, input: &ReportInput) {
    if let Some((g, sof)) = &input.grade {
        let _ = writeln!(
            t,
            "\n## Certainty of the evidence (GRADE)\n\n{}\n\n### Summary of findings\n\n{}\n### How the certainty was derived\n\nEach step with its rule and the data it was applied to (thresholds: the `[grade]` table of the review record, `datasets/review.toml`, over the defaults of `analysis::grade::GradeOptions`; codebook section 13).\n\n```text\n{g}```",
            sof.sentence,
            sof_markdown(std::slice::from_ref(sof))
        );
    }
    if let Some(r) = &input.rob {
        let _ = writeln!(
            t,
            "\n## Risk of bias\n\nThe traffic-light column beside the forest plot (forest.png) shows each pooled study's judgements (RoB 2 or ROBINS-I, codebook §12). {}\n\n![Risk-of-bias summary](rob_summary.png)",
            r.note
        );
    }
    if input.prisma.is_some() {
        let _ = writeln!(
            t,
            "\n## Flow of studies (PRISMA 2020)\n\nFrom the review record `review.toml` beside the dataset and the dataset's statuses; `spotmeta prisma` prints the counts.\n\n![PRISMA 2020 flow diagram](prisma.png)"
        );
    }
}

fn scenario_cells(sc: &Scenario) -> String {
    match &sc.fit {
        Some(f) => format!(
            "{} | {:.2} [{:.2}, {:.2}] | {:.3}",
            f.k, f.estimate, f.ci_lb, f.ci_ub, f.tau2
        ),
        None => "0 | nothing left to pool | –".into(),
    }
}

/// The "Confounds and sensitivity" section of `summary.md`.
fn confounds_markdown(t: &mut String, s: &Sensitivity, effect_label: &str) {
    let _ = writeln!(t, "\n## Confounds and sensitivity\n\n{}\n", s.sentence);
    let _ = writeln!(
        t,
        "| analysis | k | {effect_label} [95% CI] | τ² | set aside |\n|---|---:|---|---:|---|"
    );
    let primary_r = crate::escalc::spot::SpotOptions::default().r_impute;
    for sc in &s.scenarios {
        let _ = writeln!(
            t,
            "| {} | {} | {} |",
            md_escape(&sc.name),
            scenario_cells(sc),
            md_escape(&sc.excluded.join("; "))
        );
    }
    for (r, sc) in &s.correlation {
        let mark = if (*r - primary_r).abs() < 1e-12 {
            " (primary)"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "| {}{mark} | {} | |",
            md_escape(&sc.name),
            scenario_cells(sc)
        );
    }
    match s.diagnostics.as_ref().map(|d| (&d.leave1out, &d.labels)) {
        Some((Outcome::Done(l), labels)) => {
            for (x, label) in l.iter().zip(labels) {
                let _ = writeln!(
                    t,
                    "| leave-one-out: without {} | {} | {:.2} [{:.2}, {:.2}] | {:.3} | {} |",
                    md_escape(label),
                    labels.len() - 1,
                    x.estimate,
                    x.ci_lb,
                    x.ci_ub,
                    x.tau2,
                    md_escape(label)
                );
            }
        }
        Some((Outcome::NotRun { reason }, _)) => {
            let _ = writeln!(
                t,
                "| leave-one-out | | not run: {} | | |",
                md_escape(reason)
            );
        }
        None => {}
    }
    let _ = writeln!(t, "\n### Flags of the pooled rows\n");
    let _ = writeln!(
        t,
        "| line | study | flag | severity | reason |\n|---:|---|---|---|---|"
    );
    for r in s.flags.iter().filter(|r| r.pooled) {
        if r.flags.is_empty() {
            let _ = writeln!(t, "| {} | {} | (none) | | |", r.line, md_escape(&r.label));
        }
        for f in &r.flags {
            let _ = writeln!(
                t,
                "| {} | {} | `{}` | {} | {} |",
                r.line,
                md_escape(&r.label),
                f.code,
                f.severity,
                md_escape(&f.reason)
            );
        }
    }
    let included: Vec<_> = s.flags.iter().filter(|r| r.status == "included").collect();
    let mut counts: Vec<(String, String, usize)> = Vec::new();
    for r in &included {
        for f in &r.flags {
            match counts.iter_mut().find(|(c, _, _)| *c == f.code) {
                Some(e) => e.2 += 1,
                None => counts.push((f.code.clone(), f.severity.to_string(), 1)),
            }
        }
    }
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let _ = writeln!(
        t,
        "\nFlags over all {} included rows (pooled or not); `spotmeta flags` lists every row with its reasons:\n",
        included.len()
    );
    let _ = writeln!(t, "| flag | severity | rows |\n|---|---|---:|");
    for (code, sev, n) in &counts {
        let _ = writeln!(t, "| `{code}` | {sev} | {n} |");
    }
    let _ = writeln!(t, "\n### Meta-regression and subgroups\n");
    for m in &s.metareg {
        match &m.result {
            Outcome::Done((fit, perm)) => {
                let _ = writeln!(
                    t,
                    "- `{}` ({}): k = {}, slope {:.3} (SE {:.3}), {}, permutation p = {} ({} permutations), R² = {}.",
                    m.moderator,
                    m.description,
                    fit.k,
                    fit.beta[1],
                    fit.se[1],
                    p_clause(Some(fit.pval[1])),
                    crate::output::style::pval(Some(perm.pval[1])),
                    perm.iter,
                    fit.r2
                        .map(|r| format!("{r:.1}%"))
                        .unwrap_or_else(|| "NA".into())
                );
            }
            Outcome::NotRun { reason } => {
                let _ = writeln!(
                    t,
                    "- `{}` ({}): not run: {}.",
                    m.moderator, m.description, reason
                );
            }
        }
    }
    match &s.flagged_vs_unflagged {
        Some(g) => {
            let _ = writeln!(
                t,
                "- Flagged vs unflagged: Q-between({}) = {}, {}.",
                g.q_between_df,
                g.q_between
                    .map(|q| format!("{q:.3}"))
                    .unwrap_or_else(|| "NA".into()),
                p_clause(g.q_between_pval)
            );
        }
        None => {
            let _ = writeln!(
                t,
                "- Flagged vs unflagged: not run (the pooled studies are all in one group)."
            );
        }
    }
    if let Some(d) = &s.diagnostics {
        let lines = [
            status("Leave-one-out", &d.leave1out),
            status("Influence diagnostics", &d.influence),
            status("Cumulative meta-analysis by year", &d.cumul),
        ];
        for l in lines {
            let _ = writeln!(t, "{l}");
        }
        for l in small_study_notes(d) {
            let _ = writeln!(t, "- {l}");
        }
    }
    let th = &s.thresholds;
    let _ = writeln!(
        t,
        "\nFlag thresholds: session or weekly minutes differ by a ratio ≥ {} or by ≥ {} min per session / ≥ {} min per week; `SMALL_N` below {} per arm.",
        th.session_ratio, th.session_diff_min, th.weekly_diff_min, th.small_n
    );
}

fn status<T>(name: &str, o: &Outcome<T>) -> String {
    match o {
        Outcome::Done(_) => format!("- {name}: done (`spotmeta sensitivity` prints it)."),
        Outcome::NotRun { reason } => format!("- {name}: not run: {reason}."),
    }
}

/// The "Synthesis without numbers" section of `summary.md`.
fn vote_markdown(t: &mut String, v: &VoteCount) {
    let _ = writeln!(
        t,
        "\n## Synthesis without numbers\n\n{}\n\n{}\n",
        v.agreement,
        counts_sentence(v)
    );
    let _ = writeln!(t, "{SIGN_TEST_TEXT}\n");
    let _ = writeln!(
        t,
        "| sign test | favour | against | no difference | not reported | directional: proportion [95% CI] | p | ties split: favour vs against | proportion [95% CI] | p |\n|---|---:|---:|---:|---:|---|---:|---|---|---:|"
    );
    for (name, s) in [
        ("all", &v.overall),
        ("with an EE flag", &v.ee_flagged),
        ("without an EE flag", &v.ee_unflagged),
    ] {
        let c = sign_cells(s);
        let x = split_cells(s);
        let _ = writeln!(
            t,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c[0], c[1], c[2], s.not_reported, c[3], c[4], x[0], x[1], x[2]
        );
    }
    let _ = writeln!(t, "\n![Albatross plot](albatross.png)\n");
    let _ = writeln!(
        t,
        "| line | study | direction | p | pooled g | g implied by p | EE flag |\n|---:|---|---|---|---:|---|---|"
    );
    for e in &v.evidence {
        let dir = match e.direction {
            Some(Direction::FavoursSpotReduction) => "favours spot reduction",
            Some(Direction::Against) => "against",
            Some(Direction::Null) => "no difference",
            None => "not reported",
        };
        let p = match e.p {
            Some(PValue::Exact(p)) => format!("{p}"),
            Some(PValue::Below(p)) => format!("< {p}"),
            Some(PValue::Above(p)) => format!("> {p}"),
            None => "–".into(),
        };
        let g = match e.g_from_p {
            Some(GFromP::Exact { yi, .. }) => format!("{yi:.3} (exact)"),
            Some(GFromP::Bounded { lo, hi }) => format!("{lo:.2} to {hi:.2} (bound)"),
            None => "–".into(),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {dir} | {p} | {} | {g} | {} |",
            e.line,
            md_escape(&e.label),
            e.yi.map(|y| format!("{y:.3}"))
                .unwrap_or_else(|| "–".into()),
            if e.ee_flagged { "yes" } else { "" }
        );
    }
}
