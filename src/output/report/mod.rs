//! The one-command report (`spotmeta report`): a one-page `report.png`,
//! `forest.png`, `forest.svg`, `funnel.png`, `results.json` and `summary.md`.
//!
//! [`build_report`] computes every file in memory first; [`Report::write`]
//! then replaces the directory's report files all at once (see
//! [`crate::data::io::replace_dir_files`]), so a failure or a concurrent run
//! never leaves a mixed or partial report. The
//! output is deterministic: no timestamps, the embedded font, a fixed PNG
//! encoder, JSON keys in a fixed order.
//!
//! | module | makes |
//! |---|---|
//! | `page.rs` | `report.png`: the one-page layout and its drawing |
//! | `markdown.rs` | `summary.md` |
//! | `sentences.rs` | the sentences both print: verdict, methods, model and heterogeneity clauses |
//!
//! This module assembles them with the plots and `results.json`.

mod markdown;
mod page;
mod sentences;

pub use sentences::{all_outcomes_sentence, console_line, left_out_summary, pooled_sentence};

use super::albatross::{AlbatrossLayout, albatross_data, albatross_layout, albatross_png};
use super::bayes::{BayesSummary, shrunken_forest_group};
use super::figures::forest_of;
use super::forest::{forest_png, forest_svg};
use super::funnel::{FunnelData, funnel_layout, funnel_png, small_study_notes};
use super::json::RmaSummary;
use super::layout::{ForestData, ForestStyle, forest_layout};
use crate::analysis::Tau2Ci;
use crate::analysis::diagnostics::{Diagnostics, Outcome};
use crate::analysis::multilevel_primary::AllOutcomes;
use crate::analysis::primary::{LeftOut, UsedRow};
use crate::analysis::rules::{ReviewRules, k_clause};
use crate::analysis::sensitivity::Sensitivity;
use crate::analysis::vote::VoteCount;
use crate::error::{Error, Result};
use crate::escalc::spot::{SPOT_EFFECT_LABEL, SPOT_METRIC_LABEL};
use crate::model::RmaFit;
use crate::review::{EffectRows, Findings, Headline};
use serde::Serialize;
use std::path::Path;

/// Software name and version written into every report.
pub const SOFTWARE: &str = concat!("spotmeta ", env!("CARGO_PKG_VERSION"));

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

/// Everything the report shows: the parts of a review's [`Findings`] it
/// renders, with the report's own wording ([`ReportInput::new`]).
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
    pub bayes: Option<BayesSummary>,
    /// The small-k rules the analyses were run under (stated in the methods).
    pub rules: ReviewRules,
}

impl ReportInput {
    /// What the report of `f` shows: for the spot-reduction dataset the
    /// primary analysis (with the three-level model, the sensitivity
    /// analyses, the synthesis without numbers and the Bayesian model when
    /// `f` has them, the Bayesian shrinkage estimates as their own forest
    /// block), for a plain table its pooled rows and their diagnostics.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] when `f`'s rows were not pooled; as
    /// [`forest_of`] otherwise.
    pub fn new(f: &Findings) -> Result<ReportInput> {
        let pooled = f
            .pooled
            .as_ref()
            .ok_or_else(|| Error::Unsupported("a report needs the pooled fit".into()))?;
        let json_err = |e: serde_json::Error| Error::Render {
            what: "results.json".into(),
            message: e.to_string(),
        };
        let dataset = f.dataset.path().display().to_string();
        let rules = f.settings.rules;
        Ok(match &f.rows {
            EffectRows::Spot(sel) => {
                let mut forest = forest_of(f, None)?;
                // The Bayesian model of the same rows (issue #16), with its
                // shrinkage block in the report's forest plot.
                let bayes = f.bayes.as_ref().map(|b| {
                    let summary = BayesSummary::new(&b.fit, &b.labels, &b.prior_sensitivity);
                    let weights: Vec<f64> = sel
                        .vi()
                        .iter()
                        .map(|&v| pooled.fit.weight_percent(v))
                        .collect();
                    if let [g] = forest.groups.as_mut_slice() {
                        // Tell the observed effects apart from the shrinkage block.
                        g.name.get_or_insert_with(|| "Observed effects".into());
                    }
                    forest
                        .groups
                        .push(shrunken_forest_group(&b.fit, &summary.shrinkage, &weights));
                    summary
                });
                ReportInput {
                    title: "Spot reduction: does training a region burn more fat there?".into(),
                    dataset,
                    n_rows: f.dataset.n_rows(),
                    n_studies_pooled: Some(sel.studies()),
                    search_date: f.search_date(),
                    spot: true,
                    effect_label: SPOT_METRIC_LABEL.into(),
                    measure_text: format!(
                        "Effect sizes: {}, all on one metric (the d_z metric of change-score SDs is a sensitivity row); positive values mean more fat lost in the trained region. {}; exercise interventions only; converted and imputed inputs are listed in summary.md.",
                        SPOT_EFFECT_LABEL,
                        if f.all_outcomes.as_ref().is_some_and(|a| a.primary) {
                            "Every regional-fat outcome (each region and method) in the primary analysis, one pre-specified primary outcome per study and cohort in the sensitivity analysis"
                        } else {
                            "One pre-specified primary outcome per study and cohort"
                        }
                    ),
                    rows: sel.used.iter().map(ReportRow::from_used).collect(),
                    used_json: serde_json::to_value(&sel.used).map_err(json_err)?,
                    left_out: sel.left_out.clone(),
                    forest,
                    bayes,
                    fit: pooled.fit,
                    tau2_ci: pooled.tau2_ci,
                    diagnostics: f.diagnostics.clone(),
                    sensitivity: f.sensitivity.clone(),
                    vote: f.vote.clone(),
                    all_outcomes: f.all_outcomes.clone(),
                    rules,
                }
            }
            EffectRows::Table(effects) => {
                let forest = forest_of(f, None)?;
                let rows: Vec<ReportRow> = f
                    .rows
                    .pooled()
                    .into_iter()
                    .map(|(line, label, yi, vi)| ReportRow {
                        line,
                        label,
                        n: None,
                        yi,
                        vi,
                        detail: String::new(),
                    })
                    .collect();
                ReportInput {
                    title: format!("Meta-analysis of {}", dataset),
                    dataset,
                    n_rows: f.dataset.n_rows(),
                    n_studies_pooled: None,
                    search_date: None,
                    spot: false,
                    effect_label: forest.effect_label.clone(),
                    measure_text:
                        "Effect sizes and sampling variances as given in (or computed from) the table."
                            .into(),
                    used_json: serde_json::to_value(&rows).map_err(json_err)?,
                    rows,
                    left_out: effects
                        .iter()
                        .filter_map(|r| {
                            Some(LeftOut {
                                line: r.line,
                                label: r.label.clone(),
                                outcome: String::new(),
                                reason: r.omitted.clone()?,
                            })
                        })
                        .collect(),
                    diagnostics: f.diagnostics.clone(),
                    sensitivity: None,
                    vote: None,
                    all_outcomes: None,
                    bayes: None,
                    rules,
                    forest,
                    fit: pooled.fit,
                    tau2_ci: pooled.tau2_ci,
                }
            }
        })
    }
}

/// The report of a review: every file, computed in memory
/// ([`ReportInput::new`], then [`build_report`]); [`Report::write`]
/// publishes it.
///
/// # Errors
///
/// As [`ReportInput::new`] and [`build_report`].
pub fn render(f: &Findings) -> Result<Report> {
    build_report(&ReportInput::new(f)?)
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

    // The primary analysis: all outcomes, three-level + CR2 when it ran;
    // otherwise one outcome per cohort.
    let three = input
        .all_outcomes
        .as_ref()
        .filter(|a| a.primary)
        .and_then(|a| a.result.done());
    let headline = Headline::primary(fit, input.n_studies_pooled, input.all_outcomes.as_ref());
    let sentence = pooled_sentence(&input.effect_label, &headline, input.spot);
    // Rows of the primary analysis and those it leaves out.
    let (n_used, n_studies, left_out) = match (three, &input.all_outcomes) {
        (Some(_), Some(a)) => (a.rows.len(), Some(a.studies), primary_left_out(input, a)),
        _ => (
            input.rows.len(),
            input.n_studies_pooled,
            input.left_out.clone(),
        ),
    };
    let alb_l: Option<AlbatrossLayout> = input
        .vote
        .as_ref()
        .map(|v| albatross_layout(&albatross_data(&v.evidence), 720, 470));
    let page = page::layout(
        input,
        &page::Shown {
            sentence: &sentence,
            three,
            n_used,
            n_studies,
            left_out: &left_out,
            funnel: &funnel_l,
            no_contours: funnel_d.no_contours.is_some(),
            albatross: alb_l.as_ref(),
        },
    );
    // PNG encoding dominates the run time: encode the page on a second thread
    // while this one encodes the forest and funnel plots (same bytes either way).
    let (report_png, forest_png_bytes, funnel_png_bytes, alb_png) = std::thread::scope(|sc| {
        let page = sc.spawn(|| page.png());
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

    let summary_md = markdown::summary_markdown(input, &sentence, three, &left_out);
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
