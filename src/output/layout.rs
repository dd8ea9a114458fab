//! Forest-plot geometry as plain data: what goes where, in pixels.
//!
//! [`forest_layout`] turns a [`ForestData`] (studies, subgroups, pooled
//! results, labels) into a [`ForestLayout`]: one entry per row with its y, its
//! text columns and its mark (square + whiskers, diamond or interval), the
//! x-range and ticks, the column positions and the footer. The renderer in
//! [`super::forest`] only draws what is here, so snapshot tests of the layout
//! cover everything but rasterisation. Text is measured with the embedded
//! font, so columns fit their contents, and a label too long for its column
//! is fitted ([`super::style::fit_label`]): shrunk, then wrapped onto more
//! lines (the row grows); a study label is shortened with "…" only when two
//! lines at the smallest size cannot hold it, and a pooled row's label, a
//! heading or a footer line never is.
//!
//! A plot with many rows is cut into pages ([`ForestPages`], issue #19):
//! [`forest_frame`] computes the columns, x-range and square scale from all
//! rows in one pass, [`page_plan`] splits the rows, and each page is laid
//! out on its own, so memory is bounded by the page, not by k.
//!
//! Rows that share a cluster (`ForestStudy::cluster`: the outcomes of one
//! study in the three-level model) are grouped visibly: every other cluster
//! is shaded and a cluster with several rows gets a bracket in the left
//! margin ([`ClusterBand`]).

use super::canvas::Anchor;
use super::style::{Fit, Fitted, fit_label, num, size, text_width, wrap_hard};
use serde::Serialize;

/// One study (effect size) to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestStudy {
    /// Label shown in the first column.
    pub label: String,
    /// Participants, when known.
    pub n: Option<u32>,
    /// Effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// Weight in percent of the overall model.
    pub weight: f64,
    /// Confound-flag codes (issue #5); empty when none apply.
    pub flags: Vec<String>,
    /// Explicit interval limits (e.g. a Bayesian shrinkage estimate's
    /// credible interval) instead of yi ± z·√vi; None for a study's own CI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
    /// Cluster (study) of this row in a multilevel model; consecutive rows
    /// of one cluster are shaded and bracketed together. None: no grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

impl ForestStudy {
    /// The interval drawn: `interval` when given, else yi ± z·√vi at
    /// `level` percent.
    pub fn ci(&self, level: f64) -> (f64, f64) {
        self.interval.unwrap_or_else(|| {
            let h = 1.959_963_984_540_054 * self.vi.sqrt() * ci_scale(level);
            (self.yi - h, self.yi + h)
        })
    }
}

/// A pooled estimate drawn as a diamond.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    /// Row label, e.g. "Random-effects model (k = 13)".
    pub label: String,
    /// Pooled estimate.
    pub estimate: f64,
    /// CI lower bound.
    pub ci_lb: f64,
    /// CI upper bound.
    pub ci_ub: f64,
    /// Prediction interval, drawn as a bar under the diamond (overall only).
    pub pi: Option<(f64, f64)>,
}

/// A block of studies, optionally headed and closed by a subgroup diamond.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestGroup {
    /// Subgroup heading (None: no heading).
    pub name: Option<String>,
    /// Studies in drawing order.
    pub studies: Vec<ForestStudy>,
    /// Subgroup pooled estimate.
    pub pooled: Option<Pooled>,
}

/// Everything a forest plot shows, before geometry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestData {
    /// Column heading of the effect, e.g. "Hedges' g".
    pub effect_label: String,
    /// Confidence level in percent (for headings).
    pub level: f64,
    /// Study blocks.
    pub groups: Vec<ForestGroup>,
    /// The overall pooled estimate.
    pub overall: Pooled,
    /// Axis label; a " · " splits it into a left and a right half placed on
    /// either side of zero.
    pub xlab: String,
    /// Footer lines (model, heterogeneity, test).
    pub footer: Vec<String>,
    /// Explanations of flag codes: (code, meaning).
    pub legend: Vec<(String, String)>,
    /// Title above the plot (none by default; `--title`).
    pub title: Option<String>,
    /// A row after the studies saying what is not drawn (the report's
    /// forest plot of a table too large for one page: "+N more studies
    /// …"; see [`super::forest::largest_weights`]). None: every study is
    /// drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<String>,
}

/// One row of a forest plot above the overall diamond, before geometry:
/// what pages are cut from ([`page_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    /// The heading of group `g`.
    Heading(usize),
    /// Study `i` of group `g`.
    Study(usize, usize),
    /// The subtotal diamond of group `g`.
    Subtotal(usize),
    /// The "+N more studies" row ([`ForestData::more`]).
    More,
}

impl ForestData {
    /// Every study, in drawing order.
    pub fn studies(&self) -> impl Iterator<Item = &ForestStudy> {
        self.groups.iter().flat_map(|g| &g.studies)
    }

    /// The rows above the overall diamond, in drawing order: each group's
    /// heading, studies and subtotal, then the "+N more" row.
    pub fn row_refs(&self) -> impl Iterator<Item = RowRef> + '_ {
        self.groups
            .iter()
            .enumerate()
            .flat_map(|(g, grp)| {
                grp.name
                    .as_ref()
                    .map(|_| RowRef::Heading(g))
                    .into_iter()
                    .chain((0..grp.studies.len()).map(move |i| RowRef::Study(g, i)))
                    .chain(grp.pooled.as_ref().map(|_| RowRef::Subtotal(g)))
            })
            .chain(self.more.as_ref().map(|_| RowRef::More))
    }
}

/// A positioned piece of text (y is the baseline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextItem {
    /// Anchor x.
    pub x: i32,
    /// Baseline y.
    pub y: i32,
    /// The text.
    pub text: String,
    /// Font size.
    pub size: f64,
    /// Bold face.
    pub bold: bool,
    /// Horizontal anchor.
    pub anchor: Anchor,
}

/// What a row draws in the plot column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mark {
    /// Nothing (headings).
    None,
    /// A study: square of half-side `half` at `x`, whiskers from `lo` to `hi`.
    Study {
        /// Centre x of the square (clamped into the plot).
        x: i32,
        /// Half the side of the square (area ∝ weight).
        half: i32,
        /// Left whisker end.
        lo: i32,
        /// Right whisker end.
        hi: i32,
        /// The CI extends past the left edge (draw an arrow).
        clipped_lo: bool,
        /// The CI extends past the right edge.
        clipped_hi: bool,
        /// Estimate itself lies outside the x-range.
        off_scale: bool,
        /// The study carries flags (drawn in the flag colour).
        flagged: bool,
    },
    /// A pooled diamond.
    Diamond {
        /// Left tip (CI lower bound).
        lo: i32,
        /// Centre (estimate).
        x: i32,
        /// Right tip (CI upper bound).
        hi: i32,
        /// Half height.
        half: i32,
        /// Overall (true) or subgroup (false).
        overall: bool,
    },
    /// A prediction interval bar.
    Interval {
        /// Left end.
        lo: i32,
        /// Right end.
        hi: i32,
        /// Extends past the left edge.
        clipped_lo: bool,
        /// Extends past the right edge.
        clipped_hi: bool,
    },
}

/// One row of the plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Centre y of the row.
    pub y: i32,
    /// Top of the row (rows with wrapped labels are taller).
    pub top: i32,
    /// Bottom of the row.
    pub bottom: i32,
    /// Text baseline of the other columns.
    pub baseline: i32,
    /// The label's lines, fitted to the label column (a study label is
    /// shortened with "…" only as a last resort; other labels never are).
    pub label: Vec<TextItem>,
    /// Bold label (headings, pooled rows).
    pub bold: bool,
    /// Flag codes, separated by ", ".
    pub flags: String,
    /// n column.
    pub n: String,
    /// "g [lo, hi]" column.
    pub effect: String,
    /// Weight column.
    pub weight: String,
    /// The mark.
    pub mark: Mark,
}

impl Row {
    /// The label's text, lines joined with spaces.
    pub fn label_text(&self) -> String {
        self.label
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Consecutive rows of one cluster (a study's outcomes in a three-level
/// forest plot, metafor `forest()` with the rows of a study kept together).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterBand {
    /// Cluster id.
    pub cluster: String,
    /// Top of the first row (its heading, when the block has one).
    pub top: i32,
    /// Bottom of the last row.
    pub bottom: i32,
    /// Indices into [`ForestLayout::rows`] of the band's rows.
    pub rows: Vec<usize>,
    /// Study rows in the band.
    pub studies: usize,
    /// Shaded (every other band).
    pub shaded: bool,
    /// x of the bracket in the left margin (clusters with two or more rows).
    pub bracket: Option<i32>,
}

/// Column x positions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Columns {
    /// Left edge of the label column.
    pub label: i32,
    /// Right edge of the study labels (headings and pooled rows may run on
    /// over the flags and n columns, up to the plot).
    pub label_right: i32,
    /// Left edge of the flags column (None when no row has flags).
    pub flags: Option<i32>,
    /// Right edge of the n column.
    pub n: i32,
    /// Left edge of the plot.
    pub plot_left: i32,
    /// Right edge of the plot.
    pub plot_right: i32,
    /// Right edge of the effect column.
    pub effect: i32,
    /// Right edge of the weight column.
    pub weight: i32,
}

/// An axis tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    /// Data value.
    pub value: f64,
    /// Pixel x.
    pub x: i32,
    /// Label.
    pub label: String,
}

/// The whole forest plot, in pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestLayout {
    /// Image width.
    pub width: i32,
    /// Image height (grows with the rows).
    pub height: i32,
    /// Body font size.
    pub font_size: f64,
    /// Column positions.
    pub columns: Columns,
    /// Column headings.
    pub header: Vec<TextItem>,
    /// y of the rule under the headings.
    pub header_rule: i32,
    /// y of the rule above the pooled rows.
    pub pooled_rule: i32,
    /// Rows, top to bottom.
    pub rows: Vec<Row>,
    /// Cluster bands behind the rows (empty unless studies carry clusters).
    pub clusters: Vec<ClusterBand>,
    /// Left and right x of the cluster shading.
    pub band_x: (i32, i32),
    /// Data value at the plot's left edge.
    pub x_min: f64,
    /// Data value at the plot's right edge.
    pub x_max: f64,
    /// x of the null line (None when 0 is outside the range).
    pub zero: Option<i32>,
    /// Vertical extent of the null line.
    pub zero_span: (i32, i32),
    /// y of the axis line.
    pub axis_y: i32,
    /// Ticks.
    pub ticks: Vec<Tick>,
    /// Baseline of the tick labels.
    pub tick_baseline: i32,
    /// Axis label(s).
    pub xlab: Vec<TextItem>,
    /// Footer lines (model, heterogeneity) and the flag legend.
    pub footer: Vec<TextItem>,
    /// Legend marker: (x, baseline) of a flagged square sample, when flags exist.
    pub legend_marker: Option<(i32, i32)>,
    /// Flag legend: one entry per code shown in the flags column.
    pub legend: Vec<LegendEntry>,
}

/// One entry of the flag legend: the short code (bold, flag colour) and what
/// it stands for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegendEntry {
    /// x of the short code.
    pub x: i32,
    /// x of the explanation.
    pub text_x: i32,
    /// Baseline.
    pub y: i32,
    /// Short code as shown in the flags column.
    pub code: String,
    /// "FULL_CODE: meaning", wrapped to the legend column (one item per
    /// line).
    pub text: Vec<TextItem>,
    /// Font size.
    pub size: f64,
}

/// Sizing options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForestStyle {
    /// Image width in pixels (the height follows from the rows).
    pub width: u32,
}

impl Default for ForestStyle {
    fn default() -> Self {
        ForestStyle { width: 1200 }
    }
}

/// Rows of one page of a paged forest plot, by default
/// ([`crate::output::figures::Presentation::page_rows`], `--page-rows`).
///
/// A row is 30 px high (a wrapped label: up to 44 px), so a page of 500
/// rows is about 15,000 px high and at most about 22,000 px: inside 32,767
/// px, the largest image side that browsers' canvases and many viewers
/// accept, and at the default width a PNG of a few MB that is drawn in well
/// under a second. Memory is bounded by the page: the layout of one page,
/// two bands of its pixels and its encoded bytes.
pub const PAGE_ROWS: usize = 500;

/// The geometry every page of one forest plot shares ([`forest_frame`]):
/// the columns, the x-range and ticks, and the largest weight (square
/// sizes), so rows line up from page to page.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestFrame {
    width: i32,
    rh: i32,
    label_w: i32,
    side_w: i32,
    any_n: bool,
    columns: Columns,
    x_min: f64,
    x_max: f64,
    ticks: Vec<f64>,
    dec: usize,
    w_max: f64,
    effect_head: String,
}

/// One page of a paged forest plot: its rows (indices into
/// [`ForestData::row_refs`]) and the studies among them (indices into
/// [`ForestData::studies`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRows {
    /// Rows of the page, half-open.
    pub rows: std::ops::Range<usize>,
    /// Studies of the page, half-open.
    pub studies: std::ops::Range<usize>,
}

/// Cut the rows of `data` into pages of at most `page_rows` rows (at least
/// one), in order: every row on exactly one page. A heading that would end
/// a page moves to the next one, with its block. One page when the rows
/// fit. Memory: one entry per page, none per row.
pub fn page_plan(data: &ForestData, page_rows: usize) -> Vec<PageRows> {
    let page_rows = page_rows.max(1);
    let mut pages = Vec::new();
    let (mut start, mut study0) = (0, 0);
    let (mut studies, mut prev_heading) = (0, false);
    let mut n = 0;
    for (i, r) in data.row_refs().enumerate() {
        if i - start == page_rows {
            // Keep a heading with its block (unless it is the page's only row).
            let end = if prev_heading && i - 1 > start {
                i - 1
            } else {
                i
            };
            pages.push(PageRows {
                rows: start..end,
                studies: study0..studies,
            });
            (start, study0) = (end, studies);
        }
        prev_heading = matches!(r, RowRef::Heading(_));
        if matches!(r, RowRef::Study(..)) {
            studies += 1;
        }
        n = i + 1;
    }
    pages.push(PageRows {
        rows: start..n,
        studies: study0..studies,
    });
    pages
}

/// A forest plot cut into pages ([`page_plan`]) that share one frame
/// ([`forest_frame`]); each page is laid out on its own
/// ([`ForestPages::layout`]), so memory is bounded by the page, not by k.
#[derive(Debug, Clone)]
pub struct ForestPages<'a> {
    data: &'a ForestData,
    frame: ForestFrame,
    pages: Vec<PageRows>,
}

impl<'a> ForestPages<'a> {
    /// Plan the pages of `data` at `page_rows` rows each and compute their
    /// shared frame.
    pub fn new(data: &'a ForestData, style: &ForestStyle, page_rows: usize) -> Self {
        let pages = page_plan(data, page_rows);
        ForestPages {
            data,
            frame: frame_of(data, style, pages.len() > 1),
            pages,
        }
    }

    /// Number of pages (at least one).
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Always false: a plot has at least one page.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The rows and studies of each page.
    pub fn plan(&self) -> &[PageRows] {
        &self.pages
    }

    /// The layout of page `i` (0-based): the header, the page's rows, the
    /// overall diamond with its prediction interval, the axis and the
    /// footer. With more than one page the title line says "Page i of n"
    /// and which studies the page holds; a page that opens inside a named
    /// block repeats its heading ("… (continued)"). A single page is
    /// exactly [`forest_layout`].
    ///
    /// # Panics
    ///
    /// When `i` is not below [`ForestPages::len`].
    pub fn layout(&self, i: usize) -> ForestLayout {
        let p = &self.pages[i];
        let title = if self.pages.len() == 1 {
            self.data.title.clone()
        } else {
            let k = self.pages.last().map_or(0, |l| l.studies.end);
            let what = if p.studies.is_empty() {
                String::new()
            } else if p.studies.len() == 1 {
                format!(" (study {} of {})", thousands(p.studies.end), thousands(k))
            } else {
                format!(
                    " (studies {}–{} of {})",
                    thousands(p.studies.start + 1),
                    thousands(p.studies.end),
                    thousands(k)
                )
            };
            let page = format!("page {} of {}{what}", i + 1, self.pages.len());
            Some(match &self.data.title {
                Some(t) => format!("{t} · {page}"),
                None => format!("Forest plot, {page}"),
            })
        };
        let refs = self.data.row_refs().skip(p.rows.start).take(p.rows.len());
        layout_rows(self.data, &self.frame, refs, title)
    }
}

/// 12345 → "12,345".
fn thousands(n: usize) -> String {
    super::gosh::thousands(n as u64)
}

/// "Nice" tick values (steps 1, 2, 2.5, 5 × 10ᵏ) covering [lo, hi] with
/// about `target` intervals; the first and last ticks enclose the range.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag);
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    let n = (last - first) as i64;
    let d = decimals(step);
    (0..=n)
        .map(|i| {
            let v = (first + i as f64) * step;
            // Snap to the step's decimal grid so −0.30000000000000004 is −0.3.
            format!("{v:.d$}").parse::<f64>().unwrap_or(v)
        })
        .map(|v| if v == 0.0 { 0.0 } else { v })
        .collect()
}

fn decimals(step: f64) -> usize {
    let mut d = 0;
    while d < 6
        && ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-9
    {
        d += 1;
    }
    d
}

const MARGIN: i32 = 20;
const GAP: i32 = 24;
/// Room left of the labels for the cluster brackets (when rows carry
/// clusters).
const GUTTER: i32 = 14;
/// Most lines a study label may take before it is shortened.
const STUDY_LINES: usize = 2;

/// Line height of wrapped labels at `size`.
fn line_h(size: f64) -> i32 {
    (size * 1.2).round() as i32
}

/// The cluster every study of `studies` belongs to, if they share one.
fn common_cluster(studies: &[ForestStudy]) -> Option<&str> {
    let first = studies.first()?.cluster.as_deref()?;
    studies
        .iter()
        .all(|s| s.cluster.as_deref() == Some(first))
        .then_some(first)
}

/// Lay out a forest plot on one page (every row; no page number).
pub fn forest_layout(data: &ForestData, style: &ForestStyle) -> ForestLayout {
    let frame = forest_frame(data, style);
    layout_rows(data, &frame, data.row_refs(), data.title.clone())
}

/// The geometry every page of one forest plot shares, from all its rows:
/// one pass over the studies (text widths measured one at a time), so its
/// memory does not grow with k.
pub fn forest_frame(data: &ForestData, style: &ForestStyle) -> ForestFrame {
    frame_of(data, style, false)
}

/// The heading a page repeats when it opens inside block `name`.
fn continued(name: &str) -> String {
    format!("{name} (continued)")
}

/// [`forest_frame`]; `paged`: the label column also fits the headings
/// pages repeat ([`continued`]).
fn frame_of(data: &ForestData, style: &ForestStyle, paged: bool) -> ForestFrame {
    let width = style.width.max(600) as i32;
    let fs = size::BODY;
    let rh = (fs * 1.75).round() as i32;
    let w = |s: &str, bold: bool| text_width(s, fs, bold).ceil() as i32;
    let studies = || data.studies();
    let any_flags = studies().any(|s| !s.flags.is_empty());
    let any_n = studies().any(|s| s.n.is_some());
    let any_cluster = studies().any(|s| s.cluster.is_some());
    let gutter = if any_cluster { GUTTER } else { 0 };
    let lvl = format!("{}", (data.level * 1e6).round() / 1e6);

    // --- x-range: all estimates, the pooled CI and PI, and 0; CIs may extend
    // it by at most the core's width on each side (beyond that: arrows).
    let mut core_lo: f64 = 0.0;
    let mut core_hi: f64 = 0.0;
    let mut ci_lo = f64::INFINITY;
    let mut ci_hi = f64::NEG_INFINITY;
    let mut pooled: Vec<&Pooled> = vec![&data.overall];
    pooled.extend(data.groups.iter().filter_map(|g| g.pooled.as_ref()));
    for s in studies() {
        let (a, b) = s.ci(data.level);
        core_lo = core_lo.min(s.yi);
        core_hi = core_hi.max(s.yi);
        ci_lo = ci_lo.min(a);
        ci_hi = ci_hi.max(b);
    }
    for p in &pooled {
        core_lo = core_lo.min(p.ci_lb);
        core_hi = core_hi.max(p.ci_ub);
        if let Some((a, b)) = p.pi {
            ci_lo = ci_lo.min(a);
            ci_hi = ci_hi.max(b);
        }
    }
    let span = (core_hi - core_lo).max(0.5);
    let lo = ci_lo.max(core_lo - span).min(core_lo);
    let hi = ci_hi.min(core_hi + span).max(core_hi);

    // --- text columns.
    let effect_text =
        |y: f64, a: f64, b: f64| format!("{} [{}, {}]", num(y, 2), num(a, 2), num(b, 2));
    let effect_head = format!("{} [{lvl}% CI]", data.effect_label);
    let mut effect_w = w(&effect_head, true);
    for s in studies() {
        let (a, b) = s.ci(data.level);
        effect_w = effect_w.max(w(&effect_text(s.yi, a, b), false));
    }
    for p in &pooled {
        effect_w = effect_w.max(w(&effect_text(p.estimate, p.ci_lb, p.ci_ub), true));
        if let Some((a, b)) = p.pi {
            effect_w = effect_w.max(w(&format!("[{}, {}]", num(a, 2), num(b, 2)), false));
        }
    }
    let weight_w = w("Weight", true).max(w("100.0%", false));
    let weight_right = width - MARGIN;
    let effect_right = weight_right - weight_w - GAP;
    let n_w = if any_n {
        w("n", true).max(w("9999", false))
    } else {
        0
    };
    let flags_w = if any_flags {
        studies()
            .map(|s| w(&s.flags.join(", "), true))
            .max()
            .unwrap_or(0)
            .max(w("Flags", true))
    } else {
        0
    };
    // Labels get what is left after a plot of 40% of the width; when they
    // need more, the plot gives up room down to 30% of the width.
    let fixed = MARGIN
        + gutter
        + if any_flags { flags_w + GAP } else { 0 }
        + if any_n { n_w + GAP } else { 0 }
        + GAP
        + GAP
        + effect_w
        + GAP
        + weight_w
        + MARGIN;
    let label_room =
        |plot_share: f64| (width - fixed - (width as f64 * plot_share) as i32).max(120);
    // Headings and pooled rows have no flags or n, so their labels may run
    // on over those columns.
    let side_w = if any_flags { flags_w + GAP } else { 0 } + if any_n { n_w + GAP } else { 0 };
    let mut label_w = w("Study", true);
    for s in studies() {
        label_w = label_w.max(w(&s.label, false));
    }
    for g in &data.groups {
        if let Some(n) = &g.name {
            label_w = label_w.max(w(n, true) - side_w);
            if paged {
                label_w = label_w.max(w(&continued(n), true) - side_w);
            }
        }
    }
    for p in &pooled {
        label_w = label_w.max(w(&p.label, true) - side_w);
    }
    let label_max = label_room(0.4).max(label_w.min(label_room(0.3)));
    label_w = label_w.min(label_max);
    let label_x = MARGIN + gutter;
    let mut x = label_x + label_w + GAP;
    let flags_x = any_flags.then(|| {
        let fx = x;
        x += flags_w + GAP;
        fx
    });
    let n_right = if any_n {
        x += n_w;
        let r = x;
        x += GAP;
        r
    } else {
        x - GAP
    };
    let plot_left = x + GAP / 2;
    let plot_right = effect_right - effect_w - GAP;
    let columns = Columns {
        label: label_x,
        label_right: label_x + label_w,
        flags: flags_x,
        n: n_right,
        plot_left,
        plot_right,
        effect: effect_right,
        weight: weight_right,
    };
    // Ticks: about one per 80 px of plot, at most 6, so that their labels
    // never collide in a narrow plot.
    let target = ((plot_right - plot_left) / 80).clamp(2, 6) as usize;
    let ticks_v = nice_ticks(lo, hi, target);
    let x_min = ticks_v[0];
    let x_max = *ticks_v.last().unwrap();
    let step = if ticks_v.len() > 1 {
        ticks_v[1] - ticks_v[0]
    } else {
        1.0
    };
    let dec = decimals(step);
    ForestFrame {
        width,
        rh,
        label_w,
        side_w,
        any_n,
        columns,
        x_min,
        x_max,
        ticks: ticks_v,
        dec,
        w_max: studies().map(|s| s.weight).fold(0.0, f64::max),
        effect_head,
    }
}

/// Lay out the rows `refs` of `data` (a page, or all of them) in `frame`,
/// with `title_text` above the headings.
fn layout_rows(
    data: &ForestData,
    frame: &ForestFrame,
    refs: impl Iterator<Item = RowRef>,
    title_text: Option<String>,
) -> ForestLayout {
    let ForestFrame {
        width,
        rh,
        label_w,
        side_w,
        any_n,
        x_min,
        x_max,
        dec,
        w_max,
        ..
    } = *frame;
    let columns = frame.columns.clone();
    let ticks_v = &frame.ticks;
    let effect_head = &frame.effect_head;
    let fs = size::BODY;
    let small = size::SMALL;
    let (label_x, flags_x, n_right) = (columns.label, columns.flags, columns.n);
    let (plot_left, plot_right) = (columns.plot_left, columns.plot_right);
    let (effect_right, weight_right) = (columns.effect, columns.weight);
    let any_flags = flags_x.is_some();
    let effect_text =
        |y: f64, a: f64, b: f64| format!("{} [{}, {}]", num(y, 2), num(a, 2), num(b, 2));
    let study_fit = |s: &str| {
        fit_label(
            s,
            fs,
            false,
            label_w as f64,
            size::MIN_LABEL,
            Fit::Study {
                max_lines: STUDY_LINES,
            },
        )
    };
    let wide_fit = |s: &str, bold: bool| {
        fit_label(
            s,
            fs,
            bold,
            (label_w + side_w) as f64,
            size::MIN_LABEL,
            Fit::Summary,
        )
    };
    let sx = |v: f64| -> i32 {
        let t = (v - x_min) / (x_max - x_min);
        (plot_left as f64 + t * (plot_right - plot_left) as f64).round() as i32
    };
    let clamp = |v: f64| v.clamp(x_min, x_max);
    let base = |y: i32| y + (fs * 0.31).round() as i32;

    // --- title (optional) and header.
    let mut title = None;
    let title_h = match title_text {
        Some(t) => {
            let size = size::HEADING;
            title = Some(TextItem {
                x: MARGIN,
                y: MARGIN + size.round() as i32,
                text: t,
                size,
                bold: true,
                anchor: Anchor::Left,
            });
            (size * 1.9).round() as i32
        }
        None => 0,
    };
    let y = MARGIN + title_h + rh / 2;
    let hb = base(y);
    let head = |x: i32, text: &str, anchor: Anchor| TextItem {
        x,
        y: hb,
        text: text.into(),
        size: fs,
        bold: true,
        anchor,
    };
    let mut header: Vec<TextItem> = title.into_iter().collect();
    header.push(head(label_x, "Study", Anchor::Left));
    if let Some(fx) = flags_x {
        header.push(head(fx, "Flags", Anchor::Left));
    }
    if any_n {
        header.push(head(n_right, "n", Anchor::Right));
    }
    header.push(head(effect_right, effect_head, Anchor::Right));
    header.push(head(weight_right, "Weight", Anchor::Right));
    let header_rule = y + rh / 2 + 2;
    let mut top = header_rule + 6;
    let first_row_y = top;

    // --- rows. A row is `rh` high, or taller when its label wraps; its
    // marks and other columns sit on its centre line.
    let max_half = (rh as f64 * 0.36).round();
    let mut rows = Vec::new();
    let mut row_cluster: Vec<Option<String>> = Vec::new();
    let blank = |top: i32, label: Fitted, bold: bool, mark: Mark| {
        let n = label.lines.len();
        let lh = line_h(label.size);
        let h = rh.max(n as i32 * lh + rh - line_h(fs));
        let y = top + h / 2;
        let items = label
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, text)| TextItem {
                x: label_x,
                y: (y as f64 + label.size * 0.31 + (i as f64 - (n - 1) as f64 / 2.0) * lh as f64)
                    .round() as i32,
                text,
                size: label.size,
                bold,
                anchor: Anchor::Left,
            })
            .collect();
        Row {
            y,
            top,
            bottom: top + h,
            baseline: base(y),
            label: items,
            bold,
            flags: String::new(),
            n: String::new(),
            effect: String::new(),
            weight: String::new(),
            mark,
        }
    };
    let diamond_row = |top: i32, p: &Pooled, overall: bool| {
        let mut r = blank(
            top,
            wide_fit(&p.label, true),
            true,
            Mark::Diamond {
                lo: sx(clamp(p.ci_lb)),
                x: sx(clamp(p.estimate)),
                hi: sx(clamp(p.ci_ub)),
                half: (rh as f64 * if overall { 0.34 } else { 0.28 }).round() as i32,
                overall,
            },
        );
        r.effect = effect_text(p.estimate, p.ci_lb, p.ci_ub);
        r.weight = if overall {
            "100.0%".into()
        } else {
            String::new()
        };
        r
    };
    let mut refs = refs.peekable();
    // A page that opens inside a named block repeats its heading.
    let open_block = match refs.peek() {
        Some(RowRef::Study(g, _) | RowRef::Subtotal(g)) => Some(*g),
        _ => None,
    };
    let heading = |top: i32, g: &ForestGroup, name: &str| {
        let r = blank(top, wide_fit(name, true), true, Mark::None);
        (r, common_cluster(&g.studies).map(str::to_string))
    };
    if let Some(g) = open_block.map(|g| &data.groups[g])
        && let Some(name) = &g.name
    {
        let (r, c) = heading(top, g, &continued(name));
        top = r.bottom;
        rows.push(r);
        row_cluster.push(c);
    }
    for row in refs {
        let first = rows.is_empty();
        match row {
            RowRef::Heading(gi) => {
                let g = &data.groups[gi];
                if gi > 0 && !first {
                    top += rh / 2;
                }
                let (r, c) = heading(top, g, g.name.as_deref().unwrap_or_default());
                top = r.bottom;
                rows.push(r);
                row_cluster.push(c);
            }
            RowRef::Study(gi, si) => {
                let s = &data.groups[gi].studies[si];
                let (a, b) = s.ci(data.level);
                let half = if w_max > 0.0 {
                    (max_half * (s.weight / w_max).sqrt()).round().max(3.0) as i32
                } else {
                    4
                };
                let mut r = blank(
                    top,
                    study_fit(&s.label),
                    false,
                    Mark::Study {
                        x: 0,
                        half,
                        lo: sx(clamp(a)),
                        hi: sx(clamp(b)),
                        clipped_lo: a < x_min,
                        clipped_hi: b > x_max,
                        off_scale: s.yi < x_min || s.yi > x_max,
                        flagged: !s.flags.is_empty(),
                    },
                );
                if let Mark::Study { x, .. } = &mut r.mark {
                    *x = sx(clamp(s.yi));
                }
                r.flags = s.flags.join(", ");
                r.n = s.n.map(|n| n.to_string()).unwrap_or_else(|| {
                    if any_n {
                        "–".to_string()
                    } else {
                        String::new()
                    }
                });
                r.effect = effect_text(s.yi, a, b);
                r.weight = format!("{:.1}%", s.weight);
                top = r.bottom;
                rows.push(r);
                row_cluster.push(s.cluster.clone());
            }
            RowRef::Subtotal(gi) => {
                if let Some(p) = &data.groups[gi].pooled {
                    let r = diamond_row(top, p, false);
                    top = r.bottom;
                    rows.push(r);
                    row_cluster.push(None);
                }
            }
            RowRef::More => {
                if let Some(more) = &data.more {
                    let r = blank(top, wide_fit(more, false), false, Mark::None);
                    top = r.bottom;
                    rows.push(r);
                    row_cluster.push(None);
                }
            }
        }
    }
    let pooled_rule = top + 4;
    top = pooled_rule + 6;
    let r = diamond_row(top, &data.overall, true);
    top = r.bottom;
    rows.push(r);
    if let Some((a, b)) = data.overall.pi {
        let mut r = blank(
            top,
            wide_fit("Prediction interval", false),
            false,
            Mark::Interval {
                lo: sx(clamp(a)),
                hi: sx(clamp(b)),
                clipped_lo: a < x_min,
                clipped_hi: b > x_max,
            },
        );
        r.effect = format!("[{}, {}]", num(a, 2), num(b, 2));
        top = r.bottom;
        rows.push(r);
    }

    // --- cluster bands: maximal runs of rows of one cluster.
    let mut clusters: Vec<ClusterBand> = Vec::new();
    let mut i = 0;
    while i < row_cluster.len() {
        let Some(c) = &row_cluster[i] else {
            i += 1;
            continue;
        };
        let mut j = i;
        while j + 1 < row_cluster.len() && row_cluster[j + 1].as_ref() == Some(c) {
            j += 1;
        }
        let idx: Vec<usize> = (i..=j).collect();
        let n_studies = idx
            .iter()
            .filter(|&&k| matches!(rows[k].mark, Mark::Study { .. }))
            .count();
        clusters.push(ClusterBand {
            cluster: c.clone(),
            top: rows[i].top,
            bottom: rows[j].bottom,
            rows: idx,
            studies: n_studies,
            shaded: clusters.len().is_multiple_of(2),
            bracket: (n_studies >= 2).then_some(MARGIN + 2),
        });
        i = j + 1;
    }

    // --- axis.
    let axis_y = top + 6;
    let ticks: Vec<Tick> = ticks_v
        .iter()
        .map(|&v| Tick {
            value: v,
            x: sx(v),
            label: num(v, dec),
        })
        .collect();
    let zero = (x_min <= 0.0 && 0.0 <= x_max).then(|| sx(0.0));
    let tick_base = axis_y + 8 + (small * 0.75).round() as i32;
    let mut xlab = Vec::new();
    let lab_base = tick_base + (small * 1.6).round() as i32;
    let halves = data.xlab.split_once(" · ");
    match (halves, zero) {
        (Some((l, r)), Some(z))
            if z - plot_left >= text_width(l, small, false) as i32 + 8
                && plot_right - z >= text_width(r, small, false) as i32 + 8 =>
        {
            xlab.push(TextItem {
                x: z - 8,
                y: lab_base,
                text: l.to_string(),
                size: small,
                bold: false,
                anchor: Anchor::Right,
            });
            xlab.push(TextItem {
                x: z + 8,
                y: lab_base,
                text: r.to_string(),
                size: small,
                bold: false,
                anchor: Anchor::Left,
            });
        }
        _ => xlab.push(TextItem {
            x: (plot_left + plot_right) / 2,
            y: lab_base,
            text: data.xlab.clone(),
            size: small,
            bold: false,
            anchor: Anchor::Center,
        }),
    }

    // --- footer and legend: wrapped, never shortened.
    let line_h = (small * 1.45).round() as i32;
    let mut fy = lab_base + (small * 2.0).round() as i32;
    let mut footer = Vec::new();
    for l in &data.footer {
        for part in wrap_hard(l, small, false, (width - 2 * MARGIN) as f64) {
            footer.push(TextItem {
                x: MARGIN,
                y: fy,
                text: part,
                size: small,
                bold: false,
                anchor: Anchor::Left,
            });
            fy += line_h;
        }
    }
    let mut legend_marker = None;
    let mut legend = Vec::new();
    if any_flags && !data.legend.is_empty() {
        fy += line_h / 2;
        legend_marker = Some((MARGIN + 6, fy));
        footer.push(TextItem {
            x: MARGIN + 20,
            y: fy,
            text: "Flagged studies (orange); flag codes (details: spotmeta flags):".into(),
            size: small,
            bold: false,
            anchor: Anchor::Left,
        });
        fy += line_h;
        // One entry per line, in two columns when every entry fits in half
        // the width; otherwise one column with long entries wrapped.
        let avail = width - 2 * MARGIN - 20;
        let short_w = data
            .legend
            .iter()
            .map(|(c, _)| text_width(c, small, true).ceil() as i32)
            .max()
            .unwrap_or(0)
            + 10;
        let entry_w = |m: &str| short_w + text_width(m, small, false).ceil() as i32;
        let two = data.legend.len() > 2
            && data
                .legend
                .iter()
                .all(|(_, m)| entry_w(m) <= avail / 2 - GAP);
        let (cols, col_w) = if two { (2, avail / 2) } else { (1, avail) };
        let per_col = data.legend.len().div_ceil(cols);
        let mut col_y = vec![fy; cols];
        for (i, (code, meaning)) in data.legend.iter().enumerate() {
            let c = i / per_col;
            let x = MARGIN + 20 + c as i32 * col_w;
            let mut y = col_y[c];
            let text = wrap_hard(meaning, small, false, (col_w - short_w - GAP) as f64)
                .into_iter()
                .map(|t| {
                    let item = TextItem {
                        x: x + short_w,
                        y,
                        text: t,
                        size: small,
                        bold: false,
                        anchor: Anchor::Left,
                    };
                    y += line_h;
                    item
                })
                .collect();
            legend.push(LegendEntry {
                x,
                text_x: x + short_w,
                y: col_y[c],
                code: code.clone(),
                text,
                size: small,
            });
            col_y[c] = y;
        }
        fy = col_y.into_iter().max().unwrap_or(fy);
    }
    let height = fy - line_h + (small * 0.4).round() as i32 + MARGIN;
    ForestLayout {
        width,
        height,
        font_size: fs,
        columns,
        header,
        header_rule,
        pooled_rule,
        rows,
        clusters,
        band_x: (MARGIN - 8, weight_right + 8),
        x_min,
        x_max,
        zero,
        zero_span: (first_row_y, axis_y),
        axis_y,
        ticks,
        tick_baseline: tick_base,
        xlab,
        footer,
        legend_marker,
        legend,
    }
}

/// Ratio of the level's normal quantile to 1.96 (1 at 95%).
fn ci_scale(level: f64) -> f64 {
    if (level - 95.0).abs() < 1e-9 {
        1.0
    } else {
        crate::dist::qnorm(1.0 - (1.0 - level / 100.0) / 2.0) / 1.959_963_984_540_054
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks A (3 studies) and B (2), each with a heading and a subtotal.
    fn two_blocks() -> ForestData {
        let study = |i: usize| ForestStudy {
            label: format!("S{i}"),
            n: None,
            yi: 0.1 * i as f64,
            vi: 0.04,
            weight: 20.0,
            flags: Vec::new(),
            interval: None,
            cluster: None,
        };
        let pooled = |label: &str| Pooled {
            label: label.into(),
            estimate: 0.2,
            ci_lb: 0.0,
            ci_ub: 0.4,
            pi: None,
        };
        let group = |name: &str, ids: std::ops::Range<usize>| ForestGroup {
            name: Some(name.into()),
            studies: ids.map(study).collect(),
            pooled: Some(pooled("Subtotal")),
        };
        ForestData {
            effect_label: "Estimate".into(),
            level: 95.0,
            groups: vec![group("A", 0..3), group("B", 3..5)],
            overall: pooled("Overall"),
            xlab: "x".into(),
            footer: Vec::new(),
            legend: Vec::new(),
            title: None,
            more: None,
        }
    }

    /// Rows H(A) S S S Sub(A) H(B) S S Sub(B): every row on one page, a
    /// heading never ends a page, and a page opening inside a block repeats
    /// its heading.
    #[test]
    fn pages_cover_every_row_once_and_keep_headings_with_their_blocks() {
        let d = two_blocks();
        let plan = |n| {
            page_plan(&d, n)
                .into_iter()
                .map(|p| (p.rows, p.studies))
                .collect::<Vec<_>>()
        };
        assert_eq!(plan(9), [(0..9, 0..5)]);
        assert_eq!(plan(6), [(0..5, 0..3), (5..9, 3..5)]);
        assert_eq!(
            plan(3),
            [(0..3, 0..2), (3..5, 2..3), (5..8, 3..5), (8..9, 5..5)]
        );
        let pages = ForestPages::new(&d, &ForestStyle::default(), 3);
        assert_eq!(pages.layout(0).rows[0].label_text(), "A");
        assert_eq!(pages.layout(1).rows[0].label_text(), "A (continued)");
        assert_eq!(pages.layout(3).rows[0].label_text(), "B (continued)");
        assert_eq!(
            pages.layout(1).header[0].text,
            "Forest plot, page 2 of 4 (study 3 of 5)"
        );
        // One page is the plot as it always was.
        let one = ForestPages::new(&d, &ForestStyle::default(), PAGE_ROWS);
        assert_eq!(one.layout(0), forest_layout(&d, &ForestStyle::default()));
    }

    #[test]
    fn ticks_cover_the_range_with_round_steps() {
        assert_eq!(
            nice_ticks(-0.26, 0.19, 6),
            vec![-0.3, -0.2, -0.1, 0.0, 0.1, 0.2]
        );
        let t = nice_ticks(-1.9, 0.45, 6);
        assert!(t[0] <= -1.9 && *t.last().unwrap() >= 0.45);
        assert_eq!(decimals(0.25), 2);
        assert_eq!(decimals(1.0), 0);
    }
}
