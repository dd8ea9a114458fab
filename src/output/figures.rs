//! What each plot shows, read from a review's [`Findings`]: the forest plot
//! of the primary analysis (the all-outcomes three-level model when it is
//! primary, else one outcome per cohort; a plain table's pooled rows),
//! grouped by the plan's subgroup column. The plots themselves are drawn by
//! [`super::forest`], [`super::funnel`] and [`super::albatross`]. The
//! risk-of-bias table and summary bars of `spotmeta rob` read the same
//! findings ([`rob_rows`], [`rob_summary_items`]).

use super::forest::{
    ForestSpec, GENERIC_XLAB, SPOT_XLAB, forest_data, forest_data_three_level, spot_studies,
};
use super::layout::{ForestData, ForestStudy, ForestStyle, PAGE_ROWS};
use crate::analysis::primary::Selection;
use crate::analysis::rob::RobAssessment;
use crate::error::{Error, Result};
use crate::escalc::spot::SPOT_METRIC_LABEL;
use crate::escalc::table::Source;
use crate::review::{EffectRows, Findings};

/// The name of a plain table's effect measure: the `--measure` it was
/// computed with, else "Estimate".
pub fn table_effect_label(source: &Source) -> String {
    match source {
        Source::Raw { measure, .. } => measure.as_str().to_string(),
        _ => "Estimate".to_string(),
    }
}

/// What a plot of `f` leaves out and why: a plain table's Q-profile CI for
/// τ² when it could not be computed.
pub fn plot_warning(f: &Findings) -> Option<String> {
    match (&f.rows, &f.pooled) {
        (EffectRows::Table(_), Some(p)) => p
            .tau2_ci_why
            .as_ref()
            .map(|why| format!("CI for tau^2 (Q-profile) {why}; the plot omits it")),
        _ => None,
    }
}

/// How a forest plot, and the report that holds one, is presented: the
/// options `spotmeta forest` and `spotmeta report` share. Subgroups (`--by`)
/// are part of the analysis ([`crate::review::Plan::subgroups`]), not of this.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// Axis label (the dataset's default when `None`; " · " splits it
    /// around zero).
    pub xlab: Option<String>,
    /// Title: above the forest plot, or of the report page and `summary.md`
    /// (the report's default when `None`; a forest plot has none).
    pub title: Option<String>,
    /// Width of the forest plot in pixels (the height grows with the rows).
    pub width: u32,
    /// Rows of a forest-plot page (default [`PAGE_ROWS`]): `spotmeta
    /// forest` writes a plot with more rows as pages of this many
    /// ([`super::layout::ForestPages`]), and the report draws at most this
    /// many, the studies with the largest weights
    /// ([`super::forest::largest_weights`]).
    pub page_rows: usize,
}

impl Default for Presentation {
    fn default() -> Self {
        Presentation {
            xlab: None,
            title: None,
            width: ForestStyle::default().width,
            page_rows: PAGE_ROWS,
        }
    }
}

impl Presentation {
    /// The forest plot of `f` as presented: [`forest_of`] with this axis
    /// label and title.
    ///
    /// # Errors
    ///
    /// As [`forest_of`].
    pub fn forest(&self, f: &Findings) -> Result<ForestData> {
        let mut d = forest_of(f, self.xlab.as_deref())?;
        d.title = self.title.clone();
        Ok(d)
    }

    /// The layout style of the forest plot.
    pub fn style(&self) -> ForestStyle {
        ForestStyle { width: self.width }
    }
}

/// The forest plot of `f` (which must be pooled), with axis label `xlab`
/// (the dataset's default when `None`).
///
/// # Errors
///
/// [`Error::Unsupported`] when the rows were not pooled; as
/// [`forest_data`] otherwise.
pub fn forest_of(f: &Findings, xlab: Option<&str>) -> Result<ForestData> {
    let pooled = f
        .pooled
        .as_ref()
        .ok_or_else(|| Error::Unsupported("a forest plot needs the pooled fit".into()))?;
    let keys = f.subgroups.as_deref();
    match (&f.dataset.spot, &f.rows) {
        (Some(ds), EffectRows::Spot(primary)) => {
            let spec = |legend| ForestSpec {
                effect_label: SPOT_METRIC_LABEL.into(),
                xlab: xlab.unwrap_or(SPOT_XLAB).into(),
                legend,
            };
            let conf = &f.settings.confounds;
            match (f.forest_three_level(), &f.all_outcomes) {
                (Some(t), Some(all)) => {
                    let sel = Selection {
                        used: all.rows.clone(),
                        left_out: Vec::new(),
                    };
                    let (studies, legend) = spot_studies(ds, &sel, conf, true);
                    let clusters: Vec<String> =
                        sel.used.iter().map(|u| u.study_id.clone()).collect();
                    let headings: Vec<String> = sel.used.iter().map(|u| u.label.clone()).collect();
                    forest_data_three_level(
                        studies,
                        &clusters,
                        &headings,
                        keys,
                        t,
                        &f.opts,
                        &spec(legend),
                    )
                }
                _ => {
                    let (studies, legend) = spot_studies(ds, primary, conf, false);
                    forest_data(studies, keys, &pooled.fit, &f.opts, &spec(legend))
                }
            }
        }
        _ => {
            let studies = f
                .rows
                .pooled()
                .into_iter()
                .map(|(_, label, yi, vi)| ForestStudy::new(label, None, yi, vi))
                .collect();
            let spec = ForestSpec {
                effect_label: table_effect_label(&f.dataset.input.source),
                xlab: xlab.unwrap_or(GENERIC_XLAB).into(),
                legend: Vec::new(),
            };
            forest_data(studies, keys, &pooled.fit, &f.opts, &spec)
        }
    }
}

/// The risk-of-bias assessment of each study drawn in `forest` (drawing
/// order) with its weight in percent, for the traffic-light column and the
/// weighted summary bars (issue #17).
///
/// # Errors
///
/// [`Error::Unsupported`] when `f` is not a review of the spot-reduction
/// dataset (only it has `rob_*` columns).
pub fn rob_of_drawn(
    f: &Findings,
    forest: &ForestData,
) -> Result<Vec<(Option<crate::analysis::rob::RobAssessment>, f64)>> {
    let (Some(ds), EffectRows::Spot(primary)) = (&f.dataset.spot, &f.rows) else {
        return Err(Error::Unsupported(format!(
            "{}: risk of bias needs the spot-reduction dataset (its rob_* columns); this table has none",
            f.dataset.path().display()
        )));
    };
    let mut used = primary.used.clone();
    if let Some(all) = &f.all_outcomes {
        used.extend(all.rows.iter().cloned());
    }
    let drawn: Vec<&ForestStudy> = forest.groups.iter().flat_map(|g| &g.studies).collect();
    let yv: Vec<(f64, f64)> = drawn.iter().map(|s| (s.yi, s.vi)).collect();
    let rob = crate::analysis::rob::for_drawn_studies(ds, &used, &yv, &f.settings.confounds);
    Ok(rob
        .into_iter()
        .zip(drawn.iter().map(|s| s.weight))
        .collect())
}

/// What `spotmeta rob` shows of a review of the spot-reduction dataset: every
/// assessed row as a table row (file line, study label, outcome,
/// assessment; the deviations domain derived from the confound flags where
/// not entered).
///
/// # Errors
///
/// [`Error::Unsupported`] when `f` is not a review of the spot-reduction
/// dataset.
pub fn rob_rows(f: &Findings) -> Result<Vec<(u64, String, String, RobAssessment)>> {
    let ds = spot_of(f)?;
    let all = crate::analysis::rob::assess_dataset(ds, &f.settings.confounds);
    Ok(ds
        .rows
        .iter()
        .zip(all)
        .filter_map(|(r, a)| a.map(|a| (r.line, r.display_label(), r.outcome_label(), a)))
        .collect())
}

fn spot_of(f: &Findings) -> Result<&crate::data::SpotDataset> {
    f.dataset.spot.as_ref().ok_or_else(|| {
        Error::Unsupported(format!(
            "{}: risk of bias needs the spot-reduction dataset (its rob_* columns); this table has none",
            f.dataset.path().display()
        ))
    })
}

/// The assessments of the risk-of-bias summary bars of `f` with their
/// weights, and the note printed under the key: weighted by the pooled
/// model's weights of the studies drawn in the forest plot, or (with
/// `unweighted`) every assessed included primary outcome once.
///
/// # Errors
///
/// [`Error::Unsupported`] when `f` is not a pooled review of the
/// spot-reduction dataset, or no study is assessed.
pub fn rob_summary_items(
    f: &Findings,
    unweighted: bool,
) -> Result<(Vec<(RobAssessment, f64)>, String)> {
    let ds = spot_of(f)?;
    let (items, note) = if unweighted {
        let all = crate::analysis::rob::assess_dataset(ds, &f.settings.confounds);
        let items: Vec<_> = ds
            .rows
            .iter()
            .zip(all)
            .filter(|(r, _)| r.status == crate::data::Status::Included && r.primary)
            .filter_map(|(_, a)| a.map(|a| (a, 1.0)))
            .collect();
        let note = format!(
            "Unweighted: every assessed included primary outcome of {} counts once ({} outcomes).",
            f.dataset.path().display(),
            items.len()
        );
        (items, note)
    } else {
        let drawn = rob_of_drawn(f, &forest_of(f, None)?)?;
        let k = drawn.len();
        let items: Vec<_> = drawn
            .into_iter()
            .filter_map(|(a, w)| a.map(|a| (a, w)))
            .collect();
        let pooled = f
            .pooled
            .as_ref()
            .ok_or_else(|| Error::Unsupported("no pooled fit".into()))?;
        let note = format!(
            "Weighted by the weights of the pooled model ({}; {} of {k} pooled studies assessed). Studies that are not pooled carry no weight: see --unweighted.",
            crate::output::forest::model_name(&pooled.fit),
            items.len()
        );
        (items, note)
    };
    if items.is_empty() {
        return Err(Error::Unsupported(
            "no assessed study to summarise; fill the rob_* columns (datasets/README.md §12)"
                .into(),
        ));
    }
    Ok((items, note))
}

/// What [`write_forest`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForestWritten {
    /// The files: `out` itself, or its pages `out-1.ext` … in order.
    pub files: Vec<std::path::PathBuf>,
    /// Rows of the plot (studies and summaries) over all pages.
    pub rows: usize,
}

/// `spotmeta forest`'s drawing and writing: the forest plot of `f`
/// presented as `look`, with a risk-of-bias traffic-light column in
/// `rob`'s palette if asked, as `format`, written to `out` as one file or as
/// pages of `look.page_rows` rows ([`crate::data::io::write_pages`]: every
/// page fsynced first, the set replaced at once).
///
/// # Errors
///
/// Those of [`Presentation::forest`], [`rob_of_drawn`] (a risk-of-bias
/// column on a table without `rob_*` columns), drawing, and
/// [`crate::data::io::write_pages`] (an `out` that is the input included).
pub fn write_forest(
    f: &Findings,
    look: &Presentation,
    rob: Option<super::rob::Palette>,
    format: super::forest::ImageFormat,
    out: &std::path::Path,
) -> Result<ForestWritten> {
    let forest = look.forest(f)?;
    let pages = super::layout::ForestPages::new(&forest, &look.style(), look.page_rows);
    let drawn: Option<Vec<_>> = rob
        .map(|_| rob_of_drawn(f, &forest))
        .transpose()?
        .map(|drawn| drawn.into_iter().map(|(a, _)| a).collect());
    let rob = drawn.as_deref().zip(rob);
    let draw = |i| super::forest::forest_page(&pages, i, format, rob);
    let files = crate::data::io::write_pages("--out", out, pages.len(), draw, &[f.dataset.path()])?;
    Ok(ForestWritten {
        files,
        rows: forest.row_refs().count(),
    })
}
