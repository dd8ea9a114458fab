//! The one-command report (`spotmeta report`): a one-page `report.png`,
//! `forest.png`, `forest.svg`, `funnel.png`, `results.json` and `summary.md`.
//!
//! [`build_report`] computes every file in memory first; [`Report::write`]
//! then replaces the directory's report files all at once (see
//! [`crate::data::io::replace_dir_files`]), so a failure or a concurrent run
//! never leaves a mixed or partial report. The
//! output is deterministic: no timestamps, the embedded font, a fixed PNG
//! encoder, JSON keys in a fixed order.

use super::albatross::{
    AlbatrossLayout, albatross_data, albatross_layout, albatross_png, draw_albatross,
};
use super::canvas::{Anchor, render_png};
use super::forest::{
    draw_forest, forest_png, forest_svg, heterogeneity_line, model_name,
    three_level_heterogeneity_line, three_level_model_name,
};
use super::funnel::{FunnelData, draw_funnel, funnel_layout, funnel_png, small_study_notes};
use super::json::RmaSummary;
use super::layout::{ForestData, ForestStyle, TextItem, forest_layout};
use super::panel::{PanelExtra, draw_panel, sensitivity_panel};
use super::style::{colour, level_pct, num, p_clause, size, wrap};
use crate::analysis::Tau2Ci;
use crate::analysis::diagnostics::{Diagnostics, Outcome};
use crate::analysis::multilevel_primary::{AllOutcomes, ThreeLevel};
use crate::analysis::primary::{LeftOut, UsedRow};
use crate::analysis::rules::{K_DEFINITION, ReviewRules, k_clause};
use crate::analysis::sensitivity::{Scenario, Sensitivity};
use crate::analysis::vote::{SignTest, VoteCount};
use crate::data::Direction;
use crate::error::{Error, Result};
use crate::escalc::pvalue::{GFromP, PValue};
use crate::model::{Method, RmaFit};
use plotters::style::RGBColor;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Software name and version written into every report.
pub const SOFTWARE: &str = concat!("spotmeta ", env!("CARGO_PKG_VERSION"));

/// Last literature search of the bundled spot-reduction dataset (codebook,
/// `datasets/README.md`).
pub const SPOT_SEARCH_DATE: &str = "2026-11-23";

/// One pooled row, for the tables of `summary.md`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Line in the dataset file.
    pub line: u64,
    /// Study label.
    pub label: String,
    /// Participants.
    pub n: Option<u32>,
    /// Effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// How the effect size was obtained (empty: as given).
    pub detail: String,
}

impl ReportRow {
    /// A pooled spot-reduction row; `detail` lists how the effect size was
    /// derived.
    pub fn from_used(u: &UsedRow) -> Self {
        ReportRow {
            line: u.line,
            label: u.label.clone(),
            n: u.n,
            yi: u.effect.yi,
            vi: u.effect.vi,
            detail: u
                .effect
                .derivations
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// The headline numbers of the primary analysis, whichever model it is
/// (the `primary_analysis` key of `results.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Which analysis, e.g. "all outcomes, three-level model + CR2".
    pub analysis: String,
    /// Pooled estimate.
    pub estimate: f64,
    /// CI lower bound.
    pub ci_lb: f64,
    /// CI upper bound.
    pub ci_ub: f64,
    /// Prediction interval lower bound (None for a common-effect model).
    pub pi_lb: Option<f64>,
    /// Prediction interval upper bound.
    pub pi_ub: Option<f64>,
    /// Confidence level (fraction).
    pub level: f64,
    /// Effect sizes pooled (the one definition of k,
    /// [`crate::analysis::rules::K_DEFINITION`]).
    pub k: usize,
    /// Studies (distinct `study_id`) they come from, when known.
    pub studies: Option<usize>,
    /// Degrees of freedom of the t test (None for a z test).
    pub df: Option<f64>,
    /// p-value of the test of the pooled effect.
    pub pval: Option<f64>,
    /// Why the all-outcomes three-level + CR2 model is not the primary
    /// analysis (it did not run, or the small-k rules demote it); None when
    /// it is primary or does not apply (a generic table).
    pub why_not_three_level: Option<String>,
}

impl Headline {
    /// The one-outcome-per-cohort random-effects fit.
    pub fn one_per_study(fit: &RmaFit, studies: Option<usize>) -> Self {
        let re = fit.method != Method::FE && fit.k > 1;
        Headline {
            analysis: "one outcome per cohort".into(),
            estimate: fit.estimate,
            ci_lb: fit.ci_lb,
            ci_ub: fit.ci_ub,
            pi_lb: re.then_some(fit.pi_lb),
            pi_ub: re.then_some(fit.pi_ub),
            level: fit.level,
            k: fit.k,
            studies,
            df: fit.ddf.map(|d| d as f64),
            pval: fit.pval(),
            why_not_three_level: None,
        }
    }

    /// The all-outcomes three-level model with CR2 inference.
    pub fn three_level(t: &ThreeLevel) -> Self {
        let r = &t.robust;
        Headline {
            analysis: "all outcomes, three-level model + CR2".into(),
            estimate: r.beta[0],
            ci_lb: r.ci_lb[0],
            ci_ub: r.ci_ub[0],
            pi_lb: Some(t.pi.0),
            pi_ub: Some(t.pi.1),
            level: t.fit.level,
            k: t.fit.k,
            studies: Some(t.fit.clusters),
            df: Some(r.df[0]),
            pval: Some(r.pval[0]),
            why_not_three_level: None,
        }
    }

    /// The headline of the primary analysis: the all-outcomes three-level
    /// model when `all` says it is primary, else the one-outcome-per-cohort
    /// `fit` on `studies` studies. The report renders this value and
    /// `spotmeta add --rerun` prints it ([`Headline::console`]), so the two
    /// cannot disagree.
    pub fn primary(fit: &RmaFit, studies: Option<usize>, all: Option<&AllOutcomes>) -> Self {
        if let Some(t) = all.filter(|a| a.primary).and_then(|a| a.result.done()) {
            return Headline::three_level(t);
        }
        let mut h = Headline::one_per_study(fit, studies);
        h.why_not_three_level = all.map(|a| match (&a.result, &a.why_not_primary) {
            (Outcome::NotRun { reason }, _) => format!("not run: {reason}"),
            (Outcome::Done(_), Some(why)) => why.clone(),
            (Outcome::Done(_), None) => String::new(),
        });
        h
    }

    /// One console line: "Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2
    /// effect sizes from 1 study; p = 0.34); one outcome per cohort" — the
    /// report's own clause and analysis name.
    pub fn console(&self, effect_label: &str) -> String {
        format!("{}; {}", estimate_clause(effect_label, self), self.analysis)
    }
}

/// Everything the report shows, computed by the caller.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// Page title.
    pub title: String,
    /// Dataset path as shown to the reader.
    pub dataset: String,
    /// Data rows in the file.
    pub n_rows: usize,
    /// Distinct studies among the pooled rows, when known.
    pub n_studies_pooled: Option<usize>,
    /// Date of the last literature search, when known.
    pub search_date: Option<String>,
    /// Whether this is the spot-reduction dataset (wording of the verdict).
    pub spot: bool,
    /// Name of the effect measure, e.g. "Hedges' g".
    pub effect_label: String,
    /// One or two sentences on how effect sizes were computed.
    pub measure_text: String,
    /// Forest-plot data (studies, pooled diamond, footer).
    pub forest: ForestData,
    /// The overall fit.
    pub fit: RmaFit,
    /// Q-profile CI for τ².
    pub tau2_ci: Option<Tau2Ci>,
    /// Pooled rows.
    pub rows: Vec<ReportRow>,
    /// The pooled rows in their native JSON form (for `results.json`).
    pub used_json: serde_json::Value,
    /// Rows not pooled, with the reason.
    pub left_out: Vec<LeftOut>,
    /// Confound flags and sensitivity analyses (spot-reduction dataset only;
    /// drives the confounds panel and the `sensitivity` key of results.json).
    pub sensitivity: Option<Sensitivity>,
    /// Diagnostics of the overall fit (Egger's test and trim and fill under
    /// the funnel plot); for the spot dataset those of `sensitivity`.
    pub diagnostics: Option<Diagnostics>,
    /// Synthesis without numbers (spot dataset): evidence, sign tests,
    /// agreement; drives the "Synthesis without numbers" box, the albatross
    /// plot and the `vote` / `albatross` keys of results.json.
    pub vote: Option<VoteCount>,
    /// All outcomes, three-level model + CR2, or why it cannot run (spot
    /// dataset; issue #8).
    pub all_outcomes: Option<AllOutcomes>,
    /// The Bayesian random-effects model of the primary rows (spot dataset;
    /// issue #16): a line in the result panel, a section of `summary.md`
    /// and the `bayes` key of `results.json`. Its shrinkage rows go into
    /// `forest` as their own block (the caller adds them).
    pub bayes: Option<crate::output::bayes::BayesSummary>,
    /// The small-k rules the analyses were run under (stated in the methods).
    pub rules: ReviewRules,
}

/// The finished report: file names and their bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// (file name, contents), in writing order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The headline the report renders (`primary_analysis` in results.json).
    pub headline: Headline,
}

/// Every file name a report can contain: [`Report::write`] replaces these
/// (a name a new report lacks, such as `albatross.png` for a generic table,
/// is removed) and keeps any other file of the directory.
pub const REPORT_FILES: [&str; 7] = [
    "report.png",
    "forest.png",
    "forest.svg",
    "funnel.png",
    "albatross.png",
    "results.json",
    "summary.md",
];

impl Report {
    /// Publish the report in `dir` (created if missing): its report files
    /// ([`REPORT_FILES`]) are replaced all at once by this report's, other
    /// files of `dir` are kept. Runs under a lock on `dir`, so concurrent
    /// writers follow one another; on failure `dir` keeps its previous set.
    /// `inputs` are the files the report was computed from: a `dir` that
    /// holds one of them is refused.
    ///
    /// Safe to call while holding another lock (e.g. the dataset lock of
    /// `add --rerun`): it takes only the lock of `dir`, waiting at most
    /// `wait` for another run writing into `dir`.
    ///
    /// # Errors
    ///
    /// [`Error::Option`] for a refused `dir`; [`Error::Io`] if writing or
    /// renaming fails, or the lock of `dir` is still held after `wait`.
    pub fn write(&self, dir: &Path, inputs: &[&Path], wait: std::time::Duration) -> Result<()> {
        debug_assert!(
            self.files
                .iter()
                .all(|(n, _)| REPORT_FILES.contains(&n.as_str()))
        );
        crate::data::io::replace_dir_files(dir, &self.files, &REPORT_FILES, inputs, wait)
    }
}

/// "Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2 effect sizes from 1
/// study; p = 0.34)": an estimate with its CI, k (with the studies, when
/// known) and p-value.
fn estimate_clause(effect_label: &str, h: &Headline) -> String {
    let k = match h.studies {
        Some(s) => k_clause(h.k, s),
        None => format!("k = {}", h.k),
    };
    format!(
        "{effect_label} = {} ({}% CI {} to {}; {k}; {})",
        num(h.estimate, 2),
        level_pct(h.level),
        num(h.ci_lb, 2),
        num(h.ci_ub, 2),
        p_clause(h.pval)
    )
}

/// "Pooled Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2; p = 0.34): …" —
/// the verdict depends only on where the CI lies relative to zero.
pub fn pooled_sentence(effect_label: &str, h: &Headline, spot: bool) -> String {
    let head = format!("Pooled {}", estimate_clause(effect_label, h));
    let n_studies = h.studies;
    let verdict = if h.ci_lb <= 0.0 && h.ci_ub >= 0.0 {
        if spot {
            "no evidence that training a region reduces fat there more than elsewhere; the interval includes zero and is compatible with small effects in either direction."
        } else {
            "the interval includes zero, so the data are compatible with no effect."
        }
    } else if h.ci_lb > 0.0 {
        if spot {
            "the interval lies above zero, which favours spot reduction (more fat lost in the trained region)."
        } else {
            "the interval lies above zero."
        }
    } else if spot {
        "the interval lies below zero, which favours the comparison (less fat lost in the trained region)."
    } else {
        "the interval lies below zero."
    };
    let mut s = format!("{head}: {verdict}");
    let few = match n_studies {
        Some(n) if n < 3 => Some(format!(
            " With only {}, this is far too little data for a firm conclusion.",
            k_clause(h.k, n)
        )),
        None if h.k < 3 => Some(format!(
            " With only k = {}, this is far too little data for a firm conclusion.",
            h.k
        )),
        _ => None,
    };
    if let Some(f) = few {
        s += &f;
    }
    s
}

/// Why rows were not pooled, grouped: (reason, count), most frequent first.
pub fn left_out_summary(left_out: &[LeftOut]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for l in left_out {
        let r = l.reason.as_str();
        let cat = if r.starts_with("secondary outcome") {
            "secondary outcome (one primary outcome per study)".to_string()
        } else if r.starts_with("no effect size") {
            "no effect size: numbers missing in accessible sources".to_string()
        } else if r.starts_with("listed") {
            "listed only: report not located or eligibility unclear".to_string()
        } else if r.starts_with("excluded") {
            "excluded at screening".to_string()
        } else if r.starts_with("outcome type") {
            "not a regional-fat outcome".to_string()
        } else if r.contains(" intervention:") {
            "not an exercise intervention".to_string()
        } else {
            r.split(':').next().unwrap_or(r).trim().to_string()
        };
        match counts.iter_mut().find(|(c, _)| *c == cat) {
            Some(e) => e.1 += 1,
            None => counts.push((cat, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

fn methods_text(input: &ReportInput) -> String {
    let fit = &input.fit;
    let lvl = level_pct(fit.level);
    let model = if fit.method == Method::FE {
        "a common-effect (inverse-variance) model".to_string()
    } else {
        format!(
            "a random-effects model with τ² estimated by {}",
            fit.method.as_str()
        )
    };
    let test = match fit.test {
        crate::model::TestKind::Z => "z-based test and CI".to_string(),
        crate::model::TestKind::Knha => "Knapp–Hartung t test and CI".to_string(),
        crate::model::TestKind::Adhoc => "truncated Knapp–Hartung t test and CI".to_string(),
    };
    let confounds = if input.sensitivity.is_some() {
        " Confound flags are computed from each row's design columns (thresholds above); \
         the sensitivity analyses re-pool with the same model."
    } else {
        ""
    };
    let r = &input.rules;
    let rule = format!(
        "it is primary only when it runs (at least 2 studies and more outcomes than studies) with at least {} studies and CR2 df ≥ {} (Tipton 2015)",
        r.min_clusters, r.min_cr2_df
    );
    let primary = match &input.all_outcomes {
        Some(a) if a.primary => format!(
            " Primary analysis: all outcomes with a three-level model (REML; σ² between and within studies with profile CIs) and CR2 cluster-robust inference with Satterthwaite df (metafor rma.mv + robust, clubSandwich), prediction interval from the CR2 SE and both σ² (metafor predict on the robust fit); {rule}; the one-outcome-per-cohort analysis is a sensitivity analysis."
        ),
        Some(a) => format!(
            " Primary analysis: one outcome per cohort, REML + Knapp–Hartung, because the all-outcomes three-level model + CR2 {}; {rule}.",
            match (&a.result, &a.why_not_primary) {
                (Outcome::NotRun { reason }, _) => format!("cannot run ({reason})"),
                (Outcome::Done(_), why) => format!(
                    "is only a sensitivity analysis ({})",
                    why.as_deref().unwrap_or("")
                ),
            }
        ),
        None => String::new(),
    };
    let k_def = if input.spot {
        format!(" {K_DEFINITION}")
    } else {
        String::new()
    };
    let small_study = format!(
        " Small-study effects (Egger's regression test, trim and fill (L0), significance contours of the funnel plot): only with at least {} studies (Cochrane Handbook §13.3.5.4){}.",
        r.small_study_min_k,
        if r.force_small_study {
            "; run on request (--small-study) below that, labelled underpowered"
        } else {
            ""
        }
    );
    let vote = if input.vote.is_some() {
        " Synthesis without numbers (Cochrane SWiM): exact binomial sign test (Dixon & Mood 1946) on the favour/against directions of all primary outcomes (R binom.test, Clopper–Pearson CI), with the no-difference results (ties) shown and, as a sensitivity test, split half to each direction (an odd tie dropped), overall and by energy-expenditure flag; albatross plot (Harrison et al. 2017) with Hedges' g contours."
    } else {
        ""
    };
    let pooled_with = if matches!(&input.all_outcomes, Some(a) if a.primary) {
        "The one-outcome-per-cohort analysis is pooled with"
    } else {
        "Pooled with"
    };
    format!(
        "{}{k_def}{primary} {pooled_with} {model}, {test} ({lvl}%), prediction interval as metafor's predict(), \
         Q-profile CI for τ²; heterogeneity by Cochran's Q and I².{confounds}{vote}{small_study} Computed \
         with {SOFTWARE}, whose rma reproduces R metafor 3.8.1 to at least 6 significant digits.",
        input.measure_text
    )
}

fn heterogeneity_text(fit: &RmaFit, ci: Option<&Tau2Ci>) -> String {
    let mut s = format!("{}.", heterogeneity_line(fit));
    if let Some(c) = ci {
        s += &format!(
            " Q-profile 95% CI for τ²: {} to {}; for I²: {}% to {}%.",
            num(c.tau2_lb, 3),
            num(c.tau2_ub, 3),
            num(c.i2_lb, 1),
            num(c.i2_ub, 1)
        );
    }
    if fit.method != Method::FE && fit.k > 1 {
        s += &format!(
            " 95% prediction interval for a new study: {} to {}.",
            num(fit.pi_lb, 2),
            num(fit.pi_ub, 2)
        );
    }
    s
}

/// A positioned drawing instruction of the report page.
enum Op {
    Text(TextItem, RGBColor),
    Rect(i32, i32, i32, i32, RGBColor),
    Frame(i32, i32, i32, i32, RGBColor),
    Forest(i32, i32),
    Funnel(i32, i32),
    Panel(i32, i32),
    Albatross(i32, i32),
}

const PAGE_W: i32 = 1400;
const M: i32 = 40;

struct Page {
    ops: Vec<Op>,
}

impl Page {
    fn text(&mut self, x: i32, y: i32, s: &str, sz: f64, bold: bool, c: RGBColor) {
        self.ops.push(Op::Text(
            TextItem {
                x,
                y,
                text: s.to_string(),
                size: sz,
                bold,
                anchor: Anchor::Left,
            },
            c,
        ));
    }

    /// Wrapped paragraph starting with its first baseline at `y`; returns the
    /// baseline after the last line.
    #[allow(clippy::too_many_arguments)]
    fn para(&mut self, x: i32, y: i32, w: i32, s: &str, sz: f64, bold: bool, c: RGBColor) -> i32 {
        let lh = (sz * 1.45).round() as i32;
        let mut y = y;
        for l in wrap(s, sz, bold, w as f64) {
            self.text(x, y, &l, sz, bold, c);
            y += lh;
        }
        y
    }
}

/// Compute every file of the report (nothing is written).
pub fn build_report(input: &ReportInput) -> Result<Report> {
    let fit = &input.fit;
    let forest_l = forest_layout(&input.forest, &ForestStyle { width: 1200 });
    let forest_svg_text = forest_svg(&forest_l)?;
    let (yi, vi): (Vec<f64>, Vec<f64>) = input.rows.iter().map(|r| (r.yi, r.vi)).unzip();
    let mut funnel_d = FunnelData {
        yi,
        vi,
        estimate: fit.estimate,
        xlab: input.effect_label.clone(),
        no_contours: {
            let studies = input.n_studies_pooled.unwrap_or(input.rows.len());
            input.rules.small_study(studies).err().map(|_| {
                format!(
                    "fewer than {} studies ({}; Cochrane Handbook §13.3.5.4)",
                    input.rules.small_study_min_k,
                    match input.n_studies_pooled {
                        Some(s) => k_clause(input.rows.len(), s),
                        None => format!("k = {studies}"),
                    }
                )
            })
        },
        ..Default::default()
    };
    if let Some(d) = &input.diagnostics {
        if let Outcome::Done(tf) = &d.trimfill {
            funnel_d.fill_yi = tf.fill_yi.clone();
            funnel_d.fill_vi = tf.fill_vi.clone();
        }
        funnel_d.notes = small_study_notes(d);
    }
    let funnel_l = funnel_layout(&funnel_d, 640, 480);

    // --- report.png.
    // The primary analysis: all outcomes, three-level + CR2 when it ran;
    // otherwise one outcome per cohort.
    let three = input
        .all_outcomes
        .as_ref()
        .filter(|a| a.primary)
        .and_then(|a| a.result.done());
    let headline = Headline::primary(fit, input.n_studies_pooled, input.all_outcomes.as_ref());
    let sentence = pooled_sentence(&input.effect_label, &headline, input.spot);
    let mut p = Page { ops: Vec::new() };
    let cw = PAGE_W - 2 * M;
    // The page's forest plot spans the content width (its own 20 px margins
    // sit inside the page margins).
    let page_forest = forest_layout(
        &input.forest,
        &ForestStyle {
            width: (cw + 40) as u32,
        },
    );
    p.text(M, 62, &input.title, size::TITLE, true, colour::INK);
    let mut sub = format!("Dataset {} · {} rows", input.dataset, input.n_rows);
    if let Some(d) = &input.search_date {
        sub += &format!(" · search date {d}");
    }
    sub += &format!(" · {SOFTWARE}");
    p.text(M, 96, &sub, size::BODY, false, colour::MUTED);

    // Result panel.
    let top = 122;
    let mut y = top + 36;
    let inner = cw - 40;
    let mut q = Page { ops: Vec::new() };
    q.text(M + 20, y, "Pooled result", size::HEADING, true, colour::INK);
    y += 32;
    y = q.para(
        M + 20,
        y,
        inner,
        &sentence,
        size::BODY + 1.0,
        true,
        colour::INK,
    );
    let mut paras = Vec::new();
    match three {
        Some(t) => {
            paras.push(three_level_text(t));
            paras.push(one_per_study_text(input));
        }
        None => {
            paras.push(format!(
                "{}. {}",
                model_name(fit),
                heterogeneity_text(fit, input.tau2_ci.as_ref())
            ));
            if let Some(a) = &input.all_outcomes {
                paras.push(all_outcomes_sentence(a));
            }
        }
    }
    if let Some(b) = &input.bayes {
        paras.push(crate::output::bayes::report_line(&b.fit));
    }
    for text in &paras {
        y = q.para(M + 20, y + 4, inner, text, size::BODY, false, colour::INK);
    }
    let bottom = y - 8;
    p.ops.push(Op::Rect(M, top, M + cw, bottom, colour::PANEL));
    p.ops.extend(q.ops);

    // Forest plot.
    y = bottom + 40;
    p.text(M, y, "Forest plot", size::HEADING, true, colour::INK);
    y += 14;
    p.ops.push(Op::Forest(M - 20, y));
    y += page_forest.height + 24;

    // Confounds and sensitivity panel (spot dataset), full width.
    let panel_l = input.sensitivity.as_ref().map(|sens| {
        sensitivity_panel(
            sens,
            &input.effect_label,
            crate::escalc::spot::SpotOptions::default().r_impute,
            cw,
            input
                .all_outcomes
                .as_ref()
                .map(|a| panel_extra(a, fit))
                .as_ref(),
        )
    });
    if let Some(pl) = &panel_l {
        p.ops.push(Op::Panel(M, y));
        y += pl.height + 40;
    }

    // Synthesis without numbers: text | albatross plot.
    let alb_l: Option<AlbatrossLayout> = input
        .vote
        .as_ref()
        .map(|v| albatross_layout(&albatross_data(&v.evidence), 720, 470));
    if let (Some(v), Some(al)) = (&input.vote, &alb_l) {
        y = synthesis_box(&mut p, v, al, y);
    }

    // Two columns: rows pooled / not pooled + methods | funnel plot.
    let col_w = cw - funnel_l.width - 40;
    let right_x = M + col_w + 40;
    let cols_top = y;
    let mut ly = cols_top + 8;
    let mut panel = Page { ops: Vec::new() };
    ly += 24;
    panel.text(
        M + 18,
        ly,
        if input.sensitivity.is_some() {
            "Rows pooled and not pooled"
        } else {
            "Rows pooled and not pooled (no confound flags for this table)"
        },
        size::HEADING,
        true,
        colour::INK,
    );
    ly += 32;
    // Rows of the primary analysis and those it leaves out.
    let (n_used, n_studies, left_out) = match (three, &input.all_outcomes) {
        (Some(_), Some(a)) => (a.rows.len(), Some(a.studies), primary_left_out(input, a)),
        _ => (
            input.rows.len(),
            input.n_studies_pooled,
            input.left_out.clone(),
        ),
    };
    let studies = n_studies
        .map(|s| format!(" ({s} stud{})", if s == 1 { "y" } else { "ies" }))
        .unwrap_or_default();
    ly = panel.para(
        M + 18,
        ly,
        col_w - 36,
        &format!(
            "Rows pooled: {n_used} of {}{studies}. Not pooled: {}{}",
            input.n_rows,
            left_out.len(),
            if left_out.is_empty() {
                "."
            } else {
                ", because:"
            }
        ),
        size::BODY,
        false,
        colour::INK,
    );
    for (reason, count) in left_out_summary(&left_out) {
        panel.text(
            M + 30,
            ly,
            &format!("{count:>2}"),
            size::BODY,
            true,
            colour::INK,
        );
        ly = panel.para(
            M + 62,
            ly,
            col_w - 80,
            &reason,
            size::BODY,
            false,
            colour::INK,
        );
    }
    let panel_bottom = ly - 8;
    p.ops.push(Op::Rect(
        M,
        cols_top,
        M + col_w,
        panel_bottom,
        colour::PANEL,
    ));
    p.ops.extend(panel.ops);
    ly = panel_bottom + 40;
    p.text(M, ly, "Methods", size::HEADING, true, colour::INK);
    ly += 30;
    ly = p.para(
        M,
        ly,
        col_w,
        &methods_text(input),
        size::SMALL,
        false,
        colour::INK,
    );

    let mut ry = cols_top + 32;
    p.text(
        right_x,
        ry,
        match (three.is_some(), funnel_d.no_contours.is_some()) {
            (true, _) => "Funnel plot (one outcome per cohort)",
            (false, true) => "Funnel plot",
            (false, false) => "Funnel plot (contour-enhanced)",
        },
        size::HEADING,
        true,
        colour::INK,
    );
    ry += 10;
    p.ops.push(Op::Frame(
        right_x - 1,
        ry - 1,
        right_x + funnel_l.width + 1,
        ry + funnel_l.height + 1,
        colour::RULE,
    ));
    p.ops.push(Op::Funnel(right_x, ry));
    ry += funnel_l.height;
    let height = ly.max(ry + 20) + 10;
    p.ops
        .push(Op::Rect(M, height, M + cw, height + 1, colour::RULE));
    p.text(
        M,
        height + 28,
        &format!(
            "Regenerate: spotmeta report (same input, byte-identical output) · {SOFTWARE} · numbers match R metafor"
        ),
        size::SMALL,
        false,
        colour::MUTED,
    );
    let page_h = height + 48;
    // PNG encoding dominates the run time: encode the page on a second thread
    // while this one encodes the forest and funnel plots (same bytes either way).
    let draw_page = || {
        render_png(PAGE_W as u32, page_h as u32, "report (PNG)", |c| {
            for op in &p.ops {
                match op {
                    Op::Text(t, col) => {
                        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, *col)?
                    }
                    Op::Rect(x0, y0, x1, y1, col) => c.rect(*x0, *y0, *x1, *y1, *col)?,
                    Op::Frame(x0, y0, x1, y1, col) => c.frame(*x0, *y0, *x1, *y1, *col)?,
                    Op::Forest(dx, dy) => draw_forest(&c.offset(*dx, *dy), &page_forest)?,
                    Op::Funnel(dx, dy) => draw_funnel(&c.offset(*dx, *dy), &funnel_l)?,
                    Op::Albatross(dx, dy) => {
                        if let Some(al) = &alb_l {
                            draw_albatross(&c.offset(*dx, *dy), al)?;
                        }
                    }
                    Op::Panel(dx, dy) => {
                        if let Some(pl) = &panel_l {
                            draw_panel(&c.offset(*dx, *dy), pl)?;
                        }
                    }
                }
            }
            Ok(())
        })
    };
    let (report_png, forest_png_bytes, funnel_png_bytes, alb_png) = std::thread::scope(|sc| {
        let page = sc.spawn(draw_page);
        let alb = sc.spawn(|| alb_l.as_ref().map(albatross_png).transpose());
        let forest = forest_png(&forest_l);
        let funnel = funnel_png(&funnel_l);
        (page.join(), forest, funnel, alb.join())
    });
    let alb_png = alb_png.map_err(|_| Error::Render {
        what: "albatross plot (PNG)".into(),
        message: "the drawing thread panicked".into(),
    })??;
    let report_png = report_png.map_err(|_| Error::Render {
        what: "report (PNG)".into(),
        message: "the drawing thread panicked".into(),
    })??;
    let (forest_png_bytes, funnel_png_bytes) = (forest_png_bytes?, funnel_png_bytes?);

    // --- results.json.
    let mut v = serde_json::json!({
        "title": input.title,
        "dataset": input.dataset,
        "rows": input.n_rows,
        "search_date": input.search_date,
        "software": SOFTWARE,
        "effect_measure": input.effect_label,
        "summary": sentence,
        "primary_analysis": headline,
    });
    let json_err = |e: serde_json::Error| Error::Render {
        what: "results.json".into(),
        message: e.to_string(),
    };
    let summary =
        serde_json::to_value(RmaSummary::new(fit, input.tau2_ci.as_ref())).map_err(json_err)?;
    if let (Some(obj), serde_json::Value::Object(s)) = (v.as_object_mut(), summary) {
        obj.extend(s);
        obj.insert("used".into(), input.used_json.clone());
        obj.insert(
            "left_out".into(),
            serde_json::to_value(&input.left_out).map_err(json_err)?,
        );
        if let Some(sens) = &input.sensitivity {
            obj.insert(
                "sensitivity".into(),
                serde_json::to_value(sens).map_err(json_err)?,
            );
        }
        if let Some(a) = &input.all_outcomes {
            obj.insert(
                "all_outcomes".into(),
                serde_json::to_value(a).map_err(json_err)?,
            );
        }
        if let Some(b) = &input.bayes {
            obj.insert("bayes".into(), serde_json::to_value(b).map_err(json_err)?);
        }
        if let Some(vc) = &input.vote {
            obj.insert("vote".into(), serde_json::to_value(vc).map_err(json_err)?);
            let pts = crate::analysis::albatross::albatross_points(&vc.evidence);
            obj.insert(
                "albatross".into(),
                serde_json::to_value(pts).map_err(json_err)?,
            );
        }
    }
    let results_json = serde_json::to_string_pretty(&v).map_err(json_err)? + "\n";

    let summary_md = summary_markdown(input, &sentence, three, &left_out);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("report.png".into(), report_png),
        ("forest.png".into(), forest_png_bytes),
        ("forest.svg".into(), forest_svg_text.into_bytes()),
        ("funnel.png".into(), funnel_png_bytes),
    ];
    if let Some(b) = alb_png {
        files.push(("albatross.png".into(), b));
    }
    files.push(("results.json".into(), results_json.into_bytes()));
    files.push(("summary.md".into(), summary_md.into_bytes()));
    Ok(Report { files, headline })
}

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
        ("test", super::forest::test_line(fit)),
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
fn summary_markdown(
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
                    super::style::pval(Some(perm.pval[1])),
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

/// Rows left out of the all-outcomes analysis: those of the
/// one-outcome-per-cohort analysis minus the secondary outcomes it pools.
fn primary_left_out(input: &ReportInput, a: &AllOutcomes) -> Vec<LeftOut> {
    input
        .left_out
        .iter()
        .filter(|l| !a.rows.iter().any(|r| r.line == l.line))
        .cloned()
        .collect()
}

/// The model, variance components (with profile CIs) and prediction
/// interval of the three-level primary analysis.
fn three_level_text(t: &ThreeLevel) -> String {
    let lvl = level_pct(t.fit.level);
    format!(
        "{}. {}. Profile {lvl}% CIs: σ² between studies {}, within studies {}. Prediction interval {} to {}.",
        three_level_model_name(t),
        three_level_heterogeneity_line(t),
        profile_ci(t.fit.sigma2_ci[0]),
        profile_ci(t.fit.sigma2_ci[1]),
        num(t.pi.0, 2),
        num(t.pi.1, 2)
    )
}

/// "Sensitivity analysis, one outcome per cohort: g = … (95% CI …; k = 5);
/// model; heterogeneity."
fn one_per_study_text(input: &ReportInput) -> String {
    let fit = &input.fit;
    format!(
        "Sensitivity analysis, one outcome per cohort: {}. {}. {}",
        estimate_clause(&input.effect_label, &Headline::one_per_study(fit, None)),
        model_name(fit),
        heterogeneity_text(fit, input.tau2_ci.as_ref())
    )
}

/// The other main analysis as an extra row of the sensitivity forest: the
/// three-level fit when it is primary, or why it did not run.
fn panel_extra(a: &AllOutcomes, fit: &RmaFit) -> PanelExtra {
    match &a.result {
        Outcome::Done(t) if !a.primary => PanelExtra {
            name: "all outcomes, three-level + CR2 (sensitivity)".into(),
            fit: Some((
                t.robust.beta[0],
                t.robust.ci_lb[0],
                t.robust.ci_ub[0],
                t.fit.k,
            )),
            why: String::new(),
            note: format!(
                "Not primary: {}.",
                a.why_not_primary.as_deref().unwrap_or("small-k rules")
            ),
        },
        Outcome::Done(t) => PanelExtra {
            name: "all outcomes, three-level + CR2 (primary)".into(),
            fit: Some((
                t.robust.beta[0],
                t.robust.ci_lb[0],
                t.robust.ci_ub[0],
                t.fit.k,
            )),
            why: String::new(),
            note: format!(
                "The rows below it pool one outcome per cohort ({}).",
                model_name(fit)
            ),
        },
        Outcome::NotRun { reason } => PanelExtra {
            name: "all outcomes, three-level + CR2".into(),
            fit: None,
            why: format!("not run: {reason}"),
            note: String::new(),
        },
    }
}

/// A profile-likelihood CI for a variance component, "0.022 to 0.207", or
/// "not found" where the search failed.
fn profile_ci(c: Option<(f64, f64)>) -> String {
    match c {
        Some((lo, hi)) => format!("{} to {}", num(lo, 3), num(hi, 3)),
        None => "not found".into(),
    }
}

/// "All outcomes, three-level model + CR2: …" — the fit or why it cannot run.
pub fn all_outcomes_sentence(a: &AllOutcomes) -> String {
    match &a.result {
        Outcome::Done(t) => {
            let f = &t.fit;
            let r = &t.robust;
            format!(
                "All outcomes, three-level model + CR2 ({}): {}; σ² between studies = {} (profile 95% CI {}), within studies = {} ({}); pooled estimate = {} (CR2 95% CI {} to {}; t({:.2}) = {}, {}).",
                match &a.why_not_primary {
                    _ if a.primary => "primary analysis".to_string(),
                    Some(why) => format!("sensitivity analysis, not primary: {why}"),
                    None => "sensitivity analysis".to_string(),
                },
                k_clause(f.k, f.clusters),
                num(f.sigma2[0], 3),
                profile_ci(f.sigma2_ci[0]),
                num(f.sigma2[1], 3),
                profile_ci(f.sigma2_ci[1]),
                num(r.beta[0], 2),
                num(r.ci_lb[0], 2),
                num(r.ci_ub[0], 2),
                r.df[0],
                num(r.tval[0], 2),
                p_clause(Some(r.pval[0]))
            )
        }
        Outcome::NotRun { reason } => format!(
            "All outcomes, three-level model + CR2: not run — {reason}. The one-outcome-per-cohort analysis above is therefore the primary analysis."
        ),
    }
}

fn all_outcomes_row(a: &AllOutcomes) -> String {
    match &a.result {
        Outcome::Done(t) => format!(
            "{}: all outcomes, three-level + CR2: {}, estimate = {:.2} [{:.2}, {:.2}].{}",
            if a.primary {
                "Primary analysis"
            } else {
                "Sensitivity row"
            },
            k_clause(t.fit.k, t.fit.clusters),
            t.robust.beta[0],
            t.robust.ci_lb[0],
            t.robust.ci_ub[0],
            match &a.why_not_primary {
                _ if a.primary => " The scenarios above pool one outcome per cohort.".to_string(),
                Some(why) => format!(" Not primary: {why}."),
                None => String::new(),
            }
        ),
        Outcome::NotRun { reason } => {
            format!("Sensitivity row: all outcomes, three-level + CR2: not run ({reason}).")
        }
    }
}

fn sign_cells(s: &SignTest) -> [String; 5] {
    let prop = match (s.proportion, s.ci_lb, s.ci_ub) {
        (Some(q), Some(lb), Some(ub)) => format!("{q:.2} [{lb:.2}, {ub:.2}]"),
        _ => "–".into(),
    };
    [
        s.favour.to_string(),
        s.against.to_string(),
        s.ties.to_string(),
        prop,
        s.pval
            .map(|p| super::style::pval(Some(p)))
            .unwrap_or_else(|| "–".into()),
    ]
}

/// The ties-split sensitivity cells: "8 vs 5", proportion [CI], p.
fn split_cells(s: &SignTest) -> [String; 3] {
    match &s.ties_split {
        Some(x) => [
            format!(
                "{} vs {}{}",
                x.favour,
                x.against,
                if x.dropped > 0 { " (1 dropped)" } else { "" }
            ),
            format!("{:.2} [{:.2}, {:.2}]", x.proportion, x.ci_lb, x.ci_ub),
            super::style::pval(Some(x.pval)),
        ],
        None => ["–".into(), "–".into(), "–".into()],
    }
}

/// What the sign tests do, in one paragraph (report page and summary.md).
const SIGN_TEST_TEXT: &str = "Each primary outcome counts once whatever it reports, as favours, against, no difference (a tie) or not reported. Directions come from the paper (or the sign of a pooled effect). The exact sign test (Dixon & Mood 1946; R binom.test, Clopper–Pearson CI) uses the directional results; because no-difference results are mostly the non-significant ones, a sensitivity test splits the ties, half to each direction with an odd tie dropped. Results not reported are not counted.";

/// "Ties split: all 8 vs 5, p = 0.58; …" for the report page.
fn split_sentence(v: &VoteCount) -> String {
    let parts: Vec<String> = [
        ("all", &v.overall),
        ("with an EE flag", &v.ee_flagged),
        ("without", &v.ee_unflagged),
    ]
    .iter()
    .map(|(name, s)| {
        let [n, prop, p] = split_cells(s);
        format!("{name} {n}, proportion {prop}, p = {p}")
    })
    .collect();
    format!(
        "Sensitivity, ties split evenly (odd tie dropped): {}.",
        parts.join("; ")
    )
}

fn counts_sentence(v: &VoteCount) -> String {
    format!(
        "Primary outcomes of included exercise trials: {} pooled with numbers, {} with only a p-value or direction, {} with nothing usable.",
        v.n_pooled, v.n_p_or_direction, v.n_nothing
    )
}

/// Draw the "Synthesis without numbers" box at `y`; returns the y below it.
fn synthesis_box(p: &mut Page, v: &VoteCount, al: &AlbatrossLayout, top: i32) -> i32 {
    let cw = PAGE_W - 2 * M;
    let right_x = M + cw - 20 - al.width;
    let text_w = right_x - M - 20 - 30;
    let mut q = Page { ops: Vec::new() };
    let mut y = top + 38;
    q.text(
        M + 20,
        y,
        "Synthesis without numbers",
        size::HEADING,
        true,
        colour::INK,
    );
    y += 32;
    y = q.para(
        M + 20,
        y,
        text_w,
        &v.agreement,
        size::BODY,
        true,
        colour::INK,
    );
    y = q.para(
        M + 20,
        y + 6,
        text_w,
        &counts_sentence(v),
        size::BODY,
        false,
        colour::INK,
    );
    y += 10;
    q.text(
        M + 20,
        y,
        "Sign test (exact binomial, H₀: half favour spot reduction)",
        size::BODY,
        true,
        colour::INK,
    );
    y += 28;
    // The p column ends at the text column's right edge (the albatross plot
    // starts 30 px further right).
    let cols = [
        M + 20,
        M + 180,
        M + 238,
        M + 302,
        M + 362,
        M + 20 + text_w - 38,
    ];
    let heads = ["", "favour", "against", "no diff.", "prop. [95% CI]", "p"];
    for (x, h) in cols.iter().zip(heads) {
        q.text(*x, y, h, size::SMALL, true, colour::MUTED);
    }
    y += 6;
    q.ops
        .push(Op::Rect(M + 20, y, M + 20 + text_w, y + 1, colour::RULE));
    y += 22;
    for (name, s) in [
        ("all", &v.overall),
        ("with an EE flag", &v.ee_flagged),
        ("without an EE flag", &v.ee_unflagged),
    ] {
        q.text(cols[0], y, name, size::BODY, false, colour::INK);
        for (x, c) in cols[1..].iter().zip(sign_cells(s)) {
            q.text(*x, y, &c, size::BODY, false, colour::INK);
        }
        y += 26;
    }
    y = q.para(
        M + 20,
        y + 4,
        text_w,
        &split_sentence(v),
        size::BODY,
        false,
        colour::INK,
    );
    y = q.para(
        M + 20,
        y + 4,
        text_w,
        &format!(
            "{SIGN_TEST_TEXT} The plot places every outcome with a p-value and n by p and direction; summary.md lists the evidence table."
        ),
        size::SMALL,
        false,
        colour::MUTED,
    );
    let plot_top = top + 20;
    let bottom = (y - 8).max(plot_top + al.height + 20);
    p.ops.push(Op::Rect(M, top, M + cw, bottom, colour::PANEL));
    p.ops.extend(q.ops);
    p.ops.push(Op::Frame(
        right_x - 1,
        plot_top - 1,
        right_x + al.width + 1,
        plot_top + al.height + 1,
        colour::RULE,
    ));
    p.ops.push(Op::Albatross(right_x, plot_top));
    bottom + 40
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
