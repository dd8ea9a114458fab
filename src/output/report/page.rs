//! The one-page `report.png`: title, the pooled result panel, the forest
//! plot (with its risk-of-bias traffic-light column on the spot dataset),
//! the risk-of-bias summary bars beside the GRADE steps, the confounds and
//! sensitivity panel, the synthesis without numbers with its albatross plot,
//! the PRISMA 2020 flow diagram, the rows pooled and not pooled, the methods
//! and the funnel plot, laid out as drawing instructions and then rendered.
//! Every figure is drawn by its own renderer (`output::forest`,
//! `output::rob`, `output::prisma`, …) into an offset sub-area of the page.

use super::sentences::{
    SIGN_TEST_TEXT, all_outcomes_sentence, counts_sentence, heterogeneity_text, left_out_summary,
    methods_text, one_per_study_text, sign_cells, split_sentence, three_level_text,
};
use super::{ReportInput, SOFTWARE};
use crate::analysis::diagnostics::Outcome;
use crate::analysis::multilevel_primary::{AllOutcomes, ThreeLevel};
use crate::analysis::primary::LeftOut;
use crate::analysis::vote::VoteCount;
use crate::error::Result;
use crate::model::RmaFit;
use crate::output::albatross::{AlbatrossLayout, draw_albatross};
use crate::output::canvas::{Anchor, render_png};
use crate::output::forest::{draw_forest, model_name};
use crate::output::funnel::{FunnelLayout, draw_funnel};
use crate::output::layout::{ForestLayout, ForestStyle, TextItem, forest_layout};
use crate::output::panel::{PanelExtra, PanelLayout, draw_panel, sensitivity_panel};
use crate::output::prisma::{PrismaLayout, PrismaStyle, draw_prisma, prisma_layout};
use crate::output::rob::{
    ForestRobLayout, Palette, SummaryLayout, draw_forest_rob, draw_summary, summary_layout,
    traffic_light_within,
};
use crate::output::style::{colour, size, wrap};
use plotters::style::RGBColor;

/// A positioned drawing instruction of the report page.
enum Op {
    Text(TextItem, RGBColor),
    Rect(i32, i32, i32, i32, RGBColor),
    Frame(i32, i32, i32, i32, RGBColor),
    Forest(i32, i32),
    Funnel(i32, i32),
    Panel(i32, i32),
    Albatross(i32, i32),
    RobSummary(i32, i32),
    Prisma(i32, i32),
}

const PAGE_W: i32 = 1400;
const M: i32 = 40;
/// The PRISMA diagram's own margin (`output::prisma`): the page draws it
/// that far left of the page margin so its title and bands align with the
/// page's headings.
const PRISMA_MARGIN: i32 = 24;
/// The risk-of-bias summary's own margin (`output::rob`).
const ROB_MARGIN: i32 = 20;
/// Width of the risk-of-bias summary column (its own margins included).
const ROB_W: i32 = 720;

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

/// What the page shows besides the [`ReportInput`]: computed once by
/// [`super::build_report`], which also writes `summary.md` from it.
pub(super) struct Shown<'a> {
    /// The verdict sentence.
    pub sentence: &'a str,
    /// The three-level primary analysis, when it is primary.
    pub three: Option<&'a ThreeLevel>,
    /// Rows pooled by the primary analysis.
    pub n_used: usize,
    /// Studies they come from, when known.
    pub n_studies: Option<usize>,
    /// Rows the primary analysis leaves out.
    pub left_out: &'a [LeftOut],
    /// The funnel plot.
    pub funnel: &'a FunnelLayout,
    /// Whether the funnel plot has no significance contours.
    pub no_contours: bool,
    /// The albatross plot (spot dataset).
    pub albatross: Option<&'a AlbatrossLayout>,
}

/// The page as drawing instructions, with the plots they place.
pub(super) struct PageLayout<'a> {
    ops: Vec<Op>,
    height: i32,
    forest: ForestLayout,
    forest_rob: Option<ForestRobLayout>,
    rob_summary: Option<SummaryLayout>,
    prisma: Option<PrismaLayout>,
    panel: Option<PanelLayout>,
    funnel: &'a FunnelLayout,
    albatross: Option<&'a AlbatrossLayout>,
}

/// Lay out the page (nothing is drawn yet).
pub(super) fn layout<'a>(input: &ReportInput, s: &Shown<'a>) -> PageLayout<'a> {
    let fit = &input.fit;
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
        s.sentence,
        size::BODY + 1.0,
        true,
        colour::INK,
    );
    let mut paras = Vec::new();
    match s.three {
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
    } else if let Some(why) = &input.bayes_not_run {
        paras.push(format!(
            "Bayesian random-effects model: not computed ({why})."
        ));
    }
    if let Some((g, _)) = &input.grade {
        paras.push(g.sentence());
    }
    for text in &paras {
        y = q.para(M + 20, y + 4, inner, text, size::BODY, false, colour::INK);
    }
    let bottom = y - 8;
    p.ops.push(Op::Rect(M, top, M + cw, bottom, colour::PANEL));
    p.ops.extend(q.ops);

    // Forest plot, with the traffic-light column at its right when the
    // studies have risk-of-bias assessments: the composite keeps the page's
    // width (the forest plot gives up the column's width).
    let forest_rob = input.rob.as_ref().map(|r| {
        traffic_light_within(&input.forest, (cw + 40) as u32, &r.drawn, Palette::Cochrane)
    });
    y = bottom + 40;
    p.text(
        M,
        y,
        if forest_rob.is_some() {
            "Forest plot and risk of bias"
        } else {
            "Forest plot"
        },
        size::HEADING,
        true,
        colour::INK,
    );
    y += 14;
    p.ops.push(Op::Forest(M - 20, y));
    y += forest_rob.as_ref().map_or(page_forest.height, |l| l.height) + 24;

    // Risk-of-bias summary bars | GRADE steps.
    let rob_summary = appraisal_row(&mut p, input, &mut y);

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
    if let (Some(v), Some(al)) = (&input.vote, s.albatross) {
        y = synthesis_box(&mut p, v, al, y);
    }

    // PRISMA 2020 flow diagram, full width (its title is the section's
    // heading; its bands and boxes span the page's content width).
    let prisma = input.prisma.as_ref().map(|fl| {
        let l = prisma_layout(
            fl,
            &PrismaStyle {
                width: cw + 2 * PRISMA_MARGIN,
            },
        );
        // Its title's baseline where the page's headings have theirs.
        let top = y - l.title.y;
        p.ops.push(Op::Prisma(M - PRISMA_MARGIN, top));
        y = top + l.height + 40;
        l
    });

    // Two columns: rows pooled / not pooled + methods | funnel plot.
    let col_w = cw - s.funnel.width - 40;
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
    let (n_used, left_out) = (s.n_used, s.left_out);
    let studies = s
        .n_studies
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
    for (reason, count) in left_out_summary(left_out) {
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
        match (s.three.is_some(), s.no_contours) {
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
        right_x + s.funnel.width + 1,
        ry + s.funnel.height + 1,
        colour::RULE,
    ));
    p.ops.push(Op::Funnel(right_x, ry));
    ry += s.funnel.height;
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
    PageLayout {
        ops: p.ops,
        height: height + 48,
        forest: page_forest,
        forest_rob,
        rob_summary,
        prisma,
        panel: panel_l,
        funnel: s.funnel,
        albatross: s.albatross,
    }
}

impl PageLayout<'_> {
    /// Draw the page to PNG.
    pub(super) fn png(&self) -> Result<Vec<u8>> {
        render_png(PAGE_W as u32, self.height as u32, "report (PNG)", |c| {
            for op in &self.ops {
                match op {
                    Op::Text(t, col) => {
                        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, *col)?
                    }
                    Op::Rect(x0, y0, x1, y1, col) => c.rect(*x0, *y0, *x1, *y1, *col)?,
                    Op::Frame(x0, y0, x1, y1, col) => c.frame(*x0, *y0, *x1, *y1, *col)?,
                    Op::Forest(dx, dy) => match &self.forest_rob {
                        Some(l) => draw_forest_rob(&c.offset(*dx, *dy), l)?,
                        None => draw_forest(&c.offset(*dx, *dy), &self.forest)?,
                    },
                    Op::RobSummary(dx, dy) => {
                        if let Some(l) = &self.rob_summary {
                            draw_summary(&c.offset(*dx, *dy), l)?;
                        }
                    }
                    Op::Prisma(dx, dy) => {
                        if let Some(l) = &self.prisma {
                            draw_prisma(&c.offset(*dx, *dy), l)?;
                        }
                    }
                    Op::Funnel(dx, dy) => draw_funnel(&c.offset(*dx, *dy), self.funnel)?,
                    Op::Albatross(dx, dy) => {
                        if let Some(al) = self.albatross {
                            draw_albatross(&c.offset(*dx, *dy), al)?;
                        }
                    }
                    Op::Panel(dx, dy) => {
                        if let Some(pl) = &self.panel {
                            draw_panel(&c.offset(*dx, *dy), pl)?;
                        }
                    }
                }
            }
            Ok(())
        })
    }
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

/// The appraisal row under the forest plot: the risk-of-bias summary bars
/// (robvis `rob_summary`, at the left) beside the GRADE steps (at the
/// right); either takes the full width when the other is missing. Advances
/// `y` below the row and returns the summary's layout.
fn appraisal_row(p: &mut Page, input: &ReportInput, y: &mut i32) -> Option<SummaryLayout> {
    let cw = PAGE_W - 2 * M;
    let summary = input.rob.as_ref().filter(|r| !r.items.is_empty()).map(|r| {
        let w = if input.grade.is_some() {
            ROB_W
        } else {
            cw + 2 * ROB_MARGIN
        };
        summary_layout(&r.items, r.weighted, Palette::Cochrane, w as u32, &r.note)
    });
    if summary.is_none() && input.grade.is_none() {
        return None;
    }
    let top = *y;
    let mut bottom = top;
    let head_y = top + 20;
    let mut right_x = M;
    if let Some(l) = &summary {
        p.text(
            M,
            head_y,
            "Risk of bias across studies",
            size::HEADING,
            true,
            colour::INK,
        );
        p.ops.push(Op::RobSummary(M - ROB_MARGIN, head_y + 6));
        bottom = bottom.max(head_y + 6 + l.height);
        right_x = M + l.width - 2 * ROB_MARGIN + 40;
    }
    if let Some((g, _)) = &input.grade {
        let w = M + cw - right_x;
        p.text(
            right_x,
            head_y,
            "Certainty of the evidence (GRADE)",
            size::HEADING,
            true,
            colour::INK,
        );
        let mut gy = head_y + 6 + ROB_MARGIN + (size::BODY * 0.9).round() as i32;
        let line = |p: &mut Page, gy: i32, head: &str, reason: &str| -> i32 {
            let gy = p.para(right_x, gy, w, head, size::BODY, true, colour::INK);
            p.para(right_x, gy, w, reason, size::SMALL, false, colour::MUTED) + 8
        };
        gy = line(
            p,
            gy,
            &format!("Start: {}", g.start),
            &format!("{}.", g.start_reason),
        );
        for s in &g.steps {
            let mut domain = s.domain.to_string();
            if let Some(c) = domain.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            let head = match s.downgrade {
                0 => format!("{domain}: {}", s.verdict),
                d => format!("{domain}: {} (\u{2212}{d})", s.verdict),
            };
            gy = line(p, gy, &head, &format!("{}.", s.reason));
        }
        gy = p.para(
            right_x,
            gy + 4,
            w,
            &format!("Certainty: {}", g.certainty),
            size::BODY + 1.0,
            true,
            colour::INK,
        );
        gy = p.para(
            right_x,
            gy + 2,
            w,
            "Each rule with its thresholds is in summary.md. The thresholds are the [grade] table of the review record beside the dataset, or the defaults without one (datasets/README.md, section 13).",
            size::SMALL,
            false,
            colour::MUTED,
        );
        bottom = bottom.max(gy - 10);
    }
    *y = bottom + 40;
    summary
}
