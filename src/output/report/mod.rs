//! The one-command report (`spotmeta report`): a one-page `report.png`,
//! `forest.png`, `forest.svg`, `funnel.png`, `results.json` and `summary.md`;
//! for the spot-reduction dataset also `albatross.png`, `rob_summary.png`
//! (risk of bias, weighted by the pooled model from
//! [`ROB_WEIGHTED_MIN_STUDIES`] studies up), `prisma.png` (with the review
//! record beside the dataset) and the traffic-light column beside the forest
//! plot (of `forest.png` and of the page, where the risk-of-bias bars, the
//! GRADE steps and the PRISMA flow are panels too).
//!
//! The forest plot shows at most one page of rows
//! ([`Presentation::page_rows`]): on a larger table the studies with the
//! largest weights and a "+N more studies" row
//! ([`super::forest::largest_weights`]), so the page and every file stay
//! bounded; `spotmeta forest` draws every study, as pages.
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
use super::figures::{Presentation, forest_of, rob_of_drawn};
use super::forest::{forest_png, forest_svg, largest_weights};
use super::funnel::{FunnelData, funnel_layout, funnel_png, small_study_notes};
use super::json::RmaSummary;
use super::layout::{ForestData, ForestStyle, forest_layout};
use super::prisma::{PrismaStyle, prisma_layout, prisma_png};
use super::rob::{
    Palette, forest_rob_png, forest_rob_svg, summary_layout, summary_png, traffic_light,
};
use super::sof::{SofRow, sof_row};
use crate::analysis::Tau2Ci;
use crate::analysis::diagnostics::{Diagnostics, Outcome};
use crate::analysis::grade::Grade;
use crate::analysis::multilevel_primary::AllOutcomes;
use crate::analysis::primary::{LeftOut, UsedRow};
use crate::analysis::rob::{RobAssessment, assess_dataset};
use crate::analysis::rules::{ReviewRules, k_clause};
use crate::analysis::sensitivity::Sensitivity;
use crate::analysis::subgroup::subgroup_qm;
use crate::analysis::vote::VoteCount;
use crate::data::Status;
use crate::data::review::{Flow, check_record, prisma_flow};
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
    /// The pooled rows as `results.json` lists them (`used`), serialized
    /// straight from the rows when the file is written (a JSON value tree
    /// of 100,000 rows held 70 MB, and copying it into the document as
    /// much again).
    pub used_json: UsedRows,
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
    /// Why the Bayesian model could not be computed (said in its place on
    /// the page, in `summary.md` and as `bayes_not_run` in results.json).
    pub bayes_not_run: Option<String>,
    /// The small-k rules the analyses were run under (stated in the methods).
    pub rules: ReviewRules,
    /// Width of `forest.png` / `forest.svg` in pixels (the page's forest
    /// spans the page).
    pub forest_width: u32,
    /// metafor's test for subgroup differences when the forest plot is
    /// grouped (`--by`; the `subgroup_test` key of results.json).
    pub subgroup_test: Option<SubgroupTest>,
    /// GRADE certainty of the primary outcome with its Summary of Findings
    /// row (spot dataset; issue #17): a sentence in the result panel, a
    /// section of `summary.md` and the `sof` / `grade` keys of
    /// `results.json`.
    pub grade: Option<(Grade, SofRow)>,
    /// Risk of bias (spot dataset): the traffic-light column of `forest.png`
    /// and the summary bars of `rob_summary.png`.
    pub rob: Option<RobFigures>,
    /// The PRISMA 2020 flow (spot dataset with its review record):
    /// `prisma.png`.
    pub prisma: Option<Flow>,
}

/// The pooled rows of a report in their native JSON form (`used` in
/// `results.json`).
#[derive(Debug, Clone, PartialEq)]
pub enum UsedRows {
    /// Spot-reduction rows, with their derivations.
    Spot(Vec<UsedRow>),
    /// A plain table's rows: those of [`ReportInput::rows`].
    Rows,
}

/// The `used` value of `results.json`, borrowed from the report's rows.
enum UsedRef<'a> {
    Spot(&'a [UsedRow]),
    Rows(&'a [ReportRow]),
}

impl Serialize for UsedRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            UsedRef::Spot(r) => r.serialize(s),
            UsedRef::Rows(r) => r.serialize(s),
        }
    }
}

/// `results.json` as written: the keys of `head`, then `used` (serialized
/// from the rows, not copied into a value tree), then the keys of `tail`.
/// Serialized as one map, so its bytes are those of the whole document as
/// one `serde_json::Value`.
struct ResultsDoc<'a> {
    head: serde_json::Map<String, serde_json::Value>,
    used: UsedRef<'a>,
    tail: serde_json::Map<String, serde_json::Value>,
}

impl Serialize for ResultsDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.head.len() + 1 + self.tail.len()))?;
        for (k, v) in &self.head {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("used", &self.used)?;
        for (k, v) in &self.tail {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The test for subgroup differences of a grouped report, as
/// `results.json` gives it: Q_M of `rma(yi, vi, mods = ~ factor(by))`
/// ([`subgroup_qm`]) with the report's estimator and test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupTest {
    /// The grouping column.
    pub by: String,
    /// Number of subgroups.
    pub groups: usize,
    /// Q_M (an F statistic under Knapp–Hartung).
    #[serde(rename = "QM")]
    pub qm: f64,
    /// Its degrees of freedom: [G − 1, k − G] under Knapp–Hartung, else
    /// [G − 1, null].
    #[serde(rename = "QM_df")]
    pub qm_df: (usize, Option<usize>),
    /// Its p-value.
    #[serde(rename = "QM_pval")]
    pub qm_pval: f64,
    /// The residual τ², shared by the subgroups.
    pub tau2: f64,
}

impl SubgroupTest {
    /// The test for the pooled rows of `f` grouped by its plan's subgroup
    /// column; `None` when ungrouped, when the forest plot is the
    /// three-level model's (Q_M would need `rma.mv` with moderators), or
    /// when it cannot be computed (one subgroup, k ≤ G).
    pub fn of(f: &Findings) -> Option<SubgroupTest> {
        let by = f.plan.subgroups.clone()?;
        let keys = f.subgroups.as_ref()?;
        let (yi, vi) = (f.rows.yi(), f.rows.vi());
        if f.forest_three_level().is_some() || keys.len() != yi.len() {
            return None;
        }
        let t = subgroup_qm(&yi, &vi, keys, &f.opts).ok()?;
        Some(SubgroupTest {
            by,
            groups: t.groups,
            qm: t.qm,
            qm_df: t.qm_df,
            qm_pval: t.qm_pval,
            tau2: t.tau2,
        })
    }
}

/// The risk-of-bias figures of a report.
#[derive(Debug, Clone)]
pub struct RobFigures {
    /// The assessment of each study row of the report's forest plot, in
    /// drawing order (None: not assessed, e.g. a shrinkage estimate).
    pub drawn: Vec<Option<RobAssessment>>,
    /// The assessments the summary bars count, with their weights.
    pub items: Vec<(RobAssessment, f64)>,
    /// Whether `items` carry the pooled model's weights (else each counts
    /// once).
    pub weighted: bool,
    /// The note under the bars: which weights, and why.
    pub note: String,
}

/// Fewer pooled studies than this and the risk-of-bias summary counts every
/// assessed included primary outcome once instead of weighting: with one or
/// two studies the weighted bars show a study, not a body of evidence.
pub const ROB_WEIGHTED_MIN_STUDIES: usize = 3;

/// The risk-of-bias figures of the spot-reduction review `f`, whose report
/// draws `forest` (shrinkage block included); `observed` is the forest plot
/// of the pooled rows alone, whose weights the summary bars take.
fn rob_figures(f: &Findings, forest: &ForestData, observed: &ForestData) -> Result<RobFigures> {
    let drawn = rob_of_drawn(f, forest)?
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    let studies = f.rows.studies().unwrap_or(0);
    let Some(ds) = &f.dataset.spot else {
        return Err(Error::Unsupported(
            "risk of bias needs the spot dataset".into(),
        ));
    };
    if studies >= ROB_WEIGHTED_MIN_STUDIES {
        let pooled = rob_of_drawn(f, observed)?;
        let k = pooled.len();
        let items: Vec<_> = pooled
            .into_iter()
            .filter_map(|(a, w)| a.map(|a| (a, w)))
            .collect();
        let note = format!(
            "Weighted by the weights of the pooled model ({} of {k} pooled effects assessed); studies that are not pooled carry no weight.",
            items.len()
        );
        return Ok(RobFigures {
            drawn,
            items,
            weighted: true,
            note,
        });
    }
    let items: Vec<_> = assess_dataset(ds, &f.settings.confounds)
        .into_iter()
        .zip(&ds.rows)
        .filter(|(_, r)| r.status == Status::Included && r.primary)
        .filter_map(|(a, _)| a.map(|a| (a, 1.0)))
        .collect();
    let note = format!(
        "Unweighted: the primary analysis pools {} (fewer than {ROB_WEIGHTED_MIN_STUDIES} studies), so every assessed included primary outcome counts once ({} outcomes).",
        k_clause(f.rows.yi().len(), studies),
        items.len()
    );
    Ok(RobFigures {
        drawn,
        items,
        weighted: false,
        note,
    })
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
        ReportInput::presented(f, &Presentation::default())
    }

    /// [`ReportInput::new`] with the presentation options of `spotmeta
    /// forest`: the forest plot's axis label and width, and the report's
    /// title (page and `summary.md`).
    ///
    /// # Errors
    ///
    /// As [`ReportInput::new`].
    pub fn presented(f: &Findings, p: &Presentation) -> Result<ReportInput> {
        let mut input = ReportInput::build(f, p)?;
        if let Some(t) = &p.title {
            input.title = t.clone();
        }
        input.forest_width = p.width;
        input.subgroup_test = SubgroupTest::of(f);
        Ok(input)
    }

    fn build(f: &Findings, p: &Presentation) -> Result<ReportInput> {
        let pooled = f
            .pooled
            .as_ref()
            .ok_or_else(|| Error::Unsupported("a report needs the pooled fit".into()))?;
        let dataset = f.dataset.path().display().to_string();
        let rules = f.settings.rules;
        Ok(match &f.rows {
            EffectRows::Spot(sel) => {
                let mut forest = forest_of(f, p.xlab.as_deref())?;
                let observed = forest.clone();
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
                // A table too large for one page: its largest weights.
                let forest = largest_weights(forest, p.page_rows);
                let grade = f.grade.as_ref().map(|g| {
                    let sof = sof_row(&g.input, &g.grade, SPOT_METRIC_LABEL, pooled.fit.level);
                    (g.grade.clone(), sof)
                });
                let rob = match &f.dataset.spot {
                    Some(_) if f.plan.appraisal => Some(rob_figures(f, &forest, &observed)?),
                    _ => None,
                };
                let prisma = match (&f.review, &f.dataset.spot) {
                    (Some(rec), Some(ds)) => {
                        let issues = check_record(rec, Some(ds));
                        if let Some(e) = issues.iter().find(|i| i.is_error()) {
                            return Err(Error::Unsupported(format!(
                                "the review record has errors (run `spotmeta check`): {e}"
                            )));
                        }
                        Some(prisma_flow(rec, ds, Some((sel.used.len(), sel.studies()))))
                    }
                    _ => None,
                };
                ReportInput {
                    grade,
                    rob,
                    prisma,
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
                    used_json: UsedRows::Spot(sel.used.clone()),
                    left_out: sel.left_out.clone(),
                    forest,
                    bayes,
                    bayes_not_run: f.bayes_not_run.clone(),
                    fit: pooled.fit,
                    tau2_ci: pooled.tau2_ci,
                    diagnostics: f.diagnostics.clone(),
                    sensitivity: f.sensitivity.clone(),
                    vote: f.vote.clone(),
                    all_outcomes: f.all_outcomes.clone(),
                    rules,
                    forest_width: p.width,
                    subgroup_test: None,
                }
            }
            EffectRows::Table(effects) => {
                let forest = largest_weights(forest_of(f, p.xlab.as_deref())?, p.page_rows);
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
                    grade: None,
                    rob: None,
                    prisma: None,
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
                    used_json: UsedRows::Rows,
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
                    bayes_not_run: None,
                    rules,
                    forest_width: p.width,
                    subgroup_test: None,
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

/// [`render`] with the presentation options of `spotmeta forest`
/// ([`ReportInput::presented`]).
///
/// # Errors
///
/// As [`render`].
pub fn render_presented(f: &Findings, p: &Presentation) -> Result<Report> {
    build_report(&ReportInput::presented(f, p)?)
}

/// What a report is made of besides the data: the subgroup column
/// (`--by`) and the presentation options `report` shares with `forest`.
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// Column whose values define the forest plot's subgroups.
    pub subgroups: Option<String>,
    /// Axis label, title, width and rows of a forest-plot page.
    pub presentation: Presentation,
}

/// A published report and the warning its forest plot comes with, if any.
#[derive(Debug, Clone)]
pub struct Published {
    /// The report written.
    pub report: Report,
    /// What a reader of the plot should know (e.g. too few studies), for the
    /// caller to show.
    pub warning: Option<String>,
}

/// The whole pipeline of `spotmeta report` (and `add --rerun`): load the
/// table at `path`, run the analyses a report plans for it, render every
/// file and write them into `dir` at once, under its lock (waiting at most
/// `wait` for another run writing there). A `dir` that holds `path` is
/// refused before any work.
///
/// # Errors
///
/// [`Error::Option`] for a refused `dir` or settings that do not check;
/// then those of [`crate::review::Dataset::load`], [`crate::review::run`],
/// [`render_presented`] and [`Report::write`].
pub fn publish(
    path: &Path,
    input: crate::review::Input,
    settings: &crate::review::Settings,
    look: &Look,
    dir: &Path,
    wait: std::time::Duration,
) -> Result<Published> {
    // Refused before any work; checked again when the report is written.
    crate::data::io::refuse_dir_holding_input("--out", dir, &[path])?;
    settings.check()?;
    let dataset = crate::review::Dataset::load(path, input)?;
    let plan = crate::review::Plan {
        subgroups: look.subgroups.clone(),
        ..crate::review::Plan::report_of(&dataset)
    };
    let f = crate::review::run(dataset, settings, &plan)?;
    let warning = super::figures::plot_warning(&f);
    let report = render_presented(&f, &look.presentation)?;
    report.write(dir, &[path], wait)?;
    Ok(Published { report, warning })
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
pub const REPORT_FILES: [&str; 9] = [
    "report.png",
    "forest.png",
    "forest.svg",
    "funnel.png",
    "albatross.png",
    "rob_summary.png",
    "prisma.png",
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
    let forest_l = forest_layout(
        &input.forest,
        &ForestStyle {
            width: input.forest_width,
        },
    );
    // With risk of bias, forest.png/svg carry the traffic-light column
    // (the layout of `forest --rob`).
    let forest_rob = input
        .rob
        .as_ref()
        .map(|r| traffic_light(&forest_l, &r.drawn, Palette::Cochrane));
    let forest_svg_text = match &forest_rob {
        Some(l) => forest_rob_svg(l)?,
        None => forest_svg(&forest_l)?,
    };
    // The risk-of-bias bars and the PRISMA flow, encoded on the albatross
    // thread below.
    let rob_summary_png = || {
        input
            .rob
            .as_ref()
            .filter(|r| !r.items.is_empty())
            .map(|r| {
                summary_png(&summary_layout(
                    &r.items,
                    r.weighted,
                    Palette::Cochrane,
                    1000,
                    &r.note,
                ))
            })
            .transpose()
    };
    let prisma_png_bytes = || {
        input
            .prisma
            .as_ref()
            .map(|fl| prisma_png(&prisma_layout(fl, &PrismaStyle::default())))
            .transpose()
    };
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
    // and the albatross, risk-of-bias and PRISMA figures on a third while
    // this one encodes the forest and funnel plots (same bytes either way).
    let (report_png, forest_png_bytes, funnel_png_bytes, small_pngs) = std::thread::scope(|sc| {
        let page = sc.spawn(|| page.png());
        let alb = sc.spawn(|| {
            (
                alb_l.as_ref().map(albatross_png).transpose(),
                rob_summary_png(),
                prisma_png_bytes(),
            )
        });
        let forest = match &forest_rob {
            Some(l) => forest_rob_png(l),
            None => forest_png(&forest_l),
        };
        let funnel = funnel_png(&funnel_l);
        (page.join(), forest, funnel, alb.join())
    });
    let (alb_png, rob_summary_png, prisma_png_bytes) = small_pngs.map_err(|_| Error::Render {
        what: "albatross, risk-of-bias and PRISMA plots (PNG)".into(),
        message: "the drawing thread panicked".into(),
    })?;
    let (alb_png, rob_summary_png, prisma_png_bytes) =
        (alb_png?, rob_summary_png?, prisma_png_bytes?);
    let report_png = report_png.map_err(|_| Error::Render {
        what: "report (PNG)".into(),
        message: "the drawing thread panicked".into(),
    })??;
    let (forest_png_bytes, funnel_png_bytes) = (forest_png_bytes?, funnel_png_bytes?);

    // --- results.json.
    let v = serde_json::json!({
        "schema": super::json::SCHEMA_VERSION,
        "command": "report",
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
    let mut head = match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let serde_json::Value::Object(s) = summary {
        head.extend(s);
    }
    if let Some(t) = &input.subgroup_test {
        head.insert(
            "subgroup_test".into(),
            serde_json::to_value(t).map_err(json_err)?,
        );
    }
    let mut tail = serde_json::Map::new();
    tail.insert(
        "left_out".into(),
        serde_json::to_value(&input.left_out).map_err(json_err)?,
    );
    if let Some(sens) = &input.sensitivity {
        tail.insert(
            "sensitivity".into(),
            serde_json::to_value(sens).map_err(json_err)?,
        );
    }
    if let Some(a) = &input.all_outcomes {
        tail.insert(
            "all_outcomes".into(),
            serde_json::to_value(a).map_err(json_err)?,
        );
    }
    if let Some(b) = &input.bayes {
        tail.insert("bayes".into(), serde_json::to_value(b).map_err(json_err)?);
    }
    if let Some(why) = &input.bayes_not_run {
        tail.insert("bayes_not_run".into(), why.as_str().into());
    }
    if let Some((g, sof)) = &input.grade {
        tail.insert("sof".into(), serde_json::to_value([sof]).map_err(json_err)?);
        tail.insert("grade".into(), serde_json::to_value(g).map_err(json_err)?);
    }
    if let Some(fl) = &input.prisma {
        tail.insert("prisma".into(), serde_json::to_value(fl).map_err(json_err)?);
    }
    if let Some(vc) = &input.vote {
        tail.insert("vote".into(), serde_json::to_value(vc).map_err(json_err)?);
        let pts = crate::analysis::albatross::albatross_points(&vc.evidence);
        tail.insert(
            "albatross".into(),
            serde_json::to_value(pts).map_err(json_err)?,
        );
    }
    let used = match &input.used_json {
        UsedRows::Spot(rows) => UsedRef::Spot(rows),
        UsedRows::Rows => UsedRef::Rows(&input.rows),
    };
    let doc = ResultsDoc { head, used, tail };
    let results_json = serde_json::to_string_pretty(&doc).map_err(json_err)? + "\n";

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
    if let Some(b) = rob_summary_png {
        files.push(("rob_summary.png".into(), b));
    }
    if let Some(b) = prisma_png_bytes {
        files.push(("prisma.png".into(), b));
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
