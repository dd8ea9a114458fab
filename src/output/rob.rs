//! Risk-of-bias plots (issue #17), after R's robvis (McGuinness & Higgins
//! 2021, *Research Synthesis Methods* 12:55–61):
//!
//! - [`traffic_light`]: a traffic-light column (one circle per domain and the
//!   overall judgement) beside a forest plot, aligned with its study rows, as
//!   robvis `rob_forest` appends to metafor's `forest()`;
//! - [`summary_layout`]: the weighted summary bar chart of robvis
//!   `rob_summary(weighted = TRUE)`: per domain, the share of the model weight
//!   at each judgement, one panel per tool.
//!
//! Each judgement is told by colour **and** symbol, as in the Cochrane RoB 2
//! tool's figures: `+` low, `!` some concerns / moderate, `−` high / serious,
//! `×` critical, `?` no information; so the plot survives greyscale printing
//! and colour-blind readers. Two palettes ([`Palette`]): robvis's `cochrane`
//! colours and its `colourblind` ones.
//!
//! Geometry is plain data (snapshot-tested); [`forest_rob_png`],
//! [`forest_rob_svg`], [`summary_png`] and [`summary_svg`] only draw it.

use super::canvas::{Anchor, Canvas, render_png, render_svg};
use super::forest::draw_forest;
use super::layout::{ForestData, ForestLayout, ForestStyle, Mark, TextItem, forest_layout};
use super::style::{colour, size, text_width, wrap_hard};
use crate::analysis::rob::{RobAssessment, tool_name};
use crate::data::{RobJudgement, RobTool};
use crate::error::Result;
use plotters::prelude::{DrawingBackend, RGBColor};
use serde::Serialize;

/// Colours of the judgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Palette {
    /// robvis `colour = "cochrane"`: green, yellow, red, dark red, blue.
    #[default]
    Cochrane,
    /// robvis `colour = "colourblind"`: light to dark orange, white for no
    /// information.
    Colourblind,
}

impl std::str::FromStr for Palette {
    type Err = crate::Error;
    /// `cochrane` or `colourblind` (`colorblind` too), in any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cochrane" => Ok(Palette::Cochrane),
            "colourblind" | "colorblind" => Ok(Palette::Colourblind),
            _ => Err(crate::Error::option(
                "palette",
                format!("unknown palette `{s}`; use cochrane or colourblind"),
            )),
        }
    }
}

/// The five levels a judgement is drawn at (both tools' scales map onto
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Low.
    Low,
    /// Some concerns (RoB 2) / moderate (ROBINS-I).
    Concerns,
    /// High (RoB 2) / serious (ROBINS-I).
    High,
    /// Critical (ROBINS-I).
    Critical,
    /// No information.
    NoInformation,
}

impl Level {
    /// All levels, in the order of the summary bars (left to right).
    pub const ALL: [Level; 5] = [
        Level::Low,
        Level::Concerns,
        Level::High,
        Level::Critical,
        Level::NoInformation,
    ];

    /// The level of a judgement.
    pub fn of(j: RobJudgement) -> Level {
        match j {
            RobJudgement::Low => Level::Low,
            RobJudgement::SomeConcerns | RobJudgement::Moderate => Level::Concerns,
            RobJudgement::High | RobJudgement::Serious => Level::High,
            RobJudgement::Critical => Level::Critical,
            RobJudgement::NoInformation => Level::NoInformation,
        }
    }

    /// The symbol drawn in the circle.
    pub fn symbol(self) -> &'static str {
        match self {
            Level::Low => "+",
            Level::Concerns => "!",
            Level::High => "−",
            Level::Critical => "×",
            Level::NoInformation => "?",
        }
    }

    /// The legend's words for the level.
    pub fn words(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Concerns => "some concerns (RoB 2) / moderate (ROBINS-I)",
            Level::High => "high (RoB 2) / serious (ROBINS-I)",
            Level::Critical => "critical (ROBINS-I)",
            Level::NoInformation => "no information",
        }
    }

    /// Fill colour in `palette` (robvis's hex values).
    pub fn fill(self, palette: Palette) -> RGBColor {
        match (palette, self) {
            (Palette::Cochrane, Level::Low) => RGBColor(0x02, 0xC1, 0x00),
            (Palette::Cochrane, Level::Concerns) => RGBColor(0xE2, 0xDF, 0x07),
            (Palette::Cochrane, Level::High) => RGBColor(0xBF, 0x00, 0x00),
            (Palette::Cochrane, Level::Critical) => RGBColor(0x82, 0x00, 0x00),
            (Palette::Cochrane, Level::NoInformation) => RGBColor(0x4E, 0xA1, 0xF7),
            (Palette::Colourblind, Level::Low) => RGBColor(0xFE, 0xD9, 0x8E),
            (Palette::Colourblind, Level::Concerns) => RGBColor(0xFE, 0x99, 0x29),
            (Palette::Colourblind, Level::High) => RGBColor(0xD9, 0x5F, 0x0E),
            (Palette::Colourblind, Level::Critical) => RGBColor(0x99, 0x34, 0x04),
            (Palette::Colourblind, Level::NoInformation) => RGBColor(0xFF, 0xFF, 0xFF),
        }
    }

    /// Ink of the symbol on [`Level::fill`]: black on light fills, white on
    /// dark ones (relative luminance below 0.4).
    pub fn ink(self, palette: Palette) -> RGBColor {
        let RGBColor(r, g, b) = self.fill(palette);
        let lum = (0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b)) / 255.0;
        if lum < 0.4 {
            colour::WHITE
        } else {
            RGBColor(0, 0, 0)
        }
    }
}

/// One circle of the traffic-light column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Light {
    /// Centre x (in the composite image).
    pub x: i32,
    /// Centre y.
    pub y: i32,
    /// Radius.
    pub r: i32,
    /// Domain number, or 0 for the overall judgement.
    pub domain: usize,
    /// The judgement as entered or derived.
    pub judgement: RobJudgement,
    /// Its drawing level.
    pub level: Level,
    /// Derived from the confound flags (drawn with a double ring, explained
    /// in the legend).
    pub derived: bool,
}

/// A forest plot with a traffic-light column at its right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestRobLayout {
    /// The forest plot, drawn at the origin.
    pub forest: ForestLayout,
    /// Composite width.
    pub width: i32,
    /// Composite height.
    pub height: i32,
    /// Left edge of the traffic-light column.
    pub x0: i32,
    /// Column headings (`D1` … and `Overall`, and `Tool` when tools mix).
    pub header: Vec<TextItem>,
    /// Tool names per study row, when tools mix.
    pub tools: Vec<TextItem>,
    /// The circles.
    pub lights: Vec<Light>,
    /// Studies without an assessment: (x, y) of a "not assessed" dash.
    pub unassessed: Vec<(i32, i32)>,
    /// Legend lines under the forest plot.
    pub legend: Vec<TextItem>,
    /// Legend key: (x, baseline y, level) of each sample circle; its words
    /// are in `legend`.
    pub key: Vec<(i32, i32, Level)>,
    /// Palette.
    pub palette: Palette,
}

const GAP: i32 = 24;
const MARGIN: i32 = 20;

fn item(
    x: i32,
    y: i32,
    text: impl Into<String>,
    size: f64,
    bold: bool,
    anchor: Anchor,
) -> TextItem {
    TextItem {
        x,
        y,
        text: text.into(),
        size,
        bold,
        anchor,
    }
}

fn domain_list(tool: RobTool) -> String {
    tool.domains()
        .iter()
        .enumerate()
        .map(|(i, d)| format!("D{} {d}", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lay a traffic-light column beside `forest`: `assessments[i]` belongs to
/// the forest's `i`-th study row (its rows with a study square, top to
/// bottom); None draws a dash ("not assessed"). The column shows D1 … D5
/// (D1 … D7 when a ROBINS-I assessment is present) and the overall
/// judgement; the legend names each tool's domains and the key.
///
/// # Panics
///
/// If `assessments` does not have one entry per study row of `forest`.
pub fn traffic_light(
    forest: &ForestLayout,
    assessments: &[Option<RobAssessment>],
    palette: Palette,
) -> ForestRobLayout {
    let study_rows: Vec<&super::layout::Row> = forest
        .rows
        .iter()
        .filter(|r| matches!(r.mark, Mark::Study { .. }))
        .collect();
    assert_eq!(
        study_rows.len(),
        assessments.len(),
        "one assessment (or None) per study row"
    );
    let fs = forest.font_size;
    let small = size::SMALL;
    let tools: Vec<RobTool> = {
        let mut t: Vec<RobTool> = assessments.iter().flatten().map(|a| a.tool).collect();
        t.sort_by_key(|t| t.domains().len());
        t.dedup();
        t
    };
    let mixed = tools.len() > 1;
    let n_domains = tools.iter().map(|t| t.domains().len()).max().unwrap_or(5);
    let row_h = study_rows
        .iter()
        .map(|r| r.bottom - r.top)
        .min()
        .unwrap_or(30);
    let r = ((row_h as f64) * 0.36).round().clamp(7.0, 12.0) as i32;
    let step = 2 * r + 8;
    let head_y = forest.header.first().map_or(MARGIN + 20, |h| h.y);
    let x0 = forest.width;
    let mut x = x0;
    let mut header = Vec::new();
    let tool_w = if mixed {
        tools
            .iter()
            .map(|t| text_width(tool_name(*t), small, false).ceil() as i32)
            .max()
            .unwrap_or(0)
            .max(text_width("Tool", fs, true).ceil() as i32)
    } else {
        0
    };
    let tool_x = x;
    if mixed {
        header.push(item(tool_x, head_y, "Tool", fs, true, Anchor::Left));
        x += tool_w + GAP / 2;
    }
    let mut col_x = Vec::new();
    for d in 1..=n_domains {
        let cx = x + step / 2;
        header.push(item(cx, head_y, format!("D{d}"), fs, true, Anchor::Center));
        col_x.push(cx);
        x += step;
    }
    let overall_w = (text_width("Overall", fs, true).ceil() as i32).max(step);
    let overall_x = x + GAP / 2 + overall_w / 2;
    header.push(item(overall_x, head_y, "Overall", fs, true, Anchor::Center));
    x = overall_x + overall_w / 2 + MARGIN;
    let width = x;

    let mut lights = Vec::new();
    let mut unassessed = Vec::new();
    let mut tool_items = Vec::new();
    for (row, a) in study_rows.iter().zip(assessments) {
        let Some(a) = a else {
            unassessed.push((overall_x, row.y));
            continue;
        };
        if mixed {
            tool_items.push(item(
                tool_x,
                row.baseline,
                tool_name(a.tool),
                small,
                false,
                Anchor::Left,
            ));
        }
        for d in &a.domains {
            lights.push(Light {
                x: col_x[d.domain - 1],
                y: row.y,
                r,
                domain: d.domain,
                judgement: d.judgement,
                level: Level::of(d.judgement),
                derived: d.derived,
            });
        }
        lights.push(Light {
            x: overall_x,
            y: row.y,
            r,
            domain: 0,
            judgement: a.overall,
            level: Level::of(a.overall),
            derived: false,
        });
    }

    // Legend under the forest plot, across the whole width.
    let line_h = (small * 1.45).round() as i32;
    let avail = (width - 2 * MARGIN) as f64;
    let mut y = forest.height;
    let mut legend = Vec::new();
    let push_wrapped = |text: &str, bold: bool, y: &mut i32, legend: &mut Vec<TextItem>| {
        for part in wrap_hard(text, small, bold, avail) {
            legend.push(item(MARGIN, *y, part, small, bold, Anchor::Left));
            *y += line_h;
        }
    };
    push_wrapped("Risk of bias", true, &mut y, &mut legend);
    for t in &tools {
        push_wrapped(
            &format!("{}: {}.", tool_name(*t), domain_list(*t)),
            false,
            &mut y,
            &mut legend,
        );
    }
    let dev: Vec<String> = tools
        .iter()
        .map(|t| format!("{} D{}", tool_name(*t), t.deviations_domain()))
        .collect();
    push_wrapped(
        &format!(
            "A double ring: {} derived from the energy-expenditure and diet flags (never over an entered judgement). Overall: the worst domain unless a reason is recorded.{}",
            dev.join(" / "),
            if unassessed.is_empty() {
                ""
            } else {
                " A dash: not assessed."
            }
        ),
        false,
        &mut y,
        &mut legend,
    );
    // Key: sample circles with their words, in as many columns as fit.
    y += line_h / 2;
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| *l != Level::Critical || tools.contains(&RobTool::RobinsI))
        .collect();
    let entry_w = |l: Level| 2 * r + 8 + text_width(l.words(), small, false).ceil() as i32 + GAP;
    let mut key = Vec::new();
    let mut kx = MARGIN;
    for l in levels {
        if kx > MARGIN && kx + entry_w(l) > width - MARGIN {
            kx = MARGIN;
            y += 2 * r + 8;
        }
        key.push((kx + r, y, l));
        legend.push(item(
            kx + 2 * r + 8,
            y + (small * 0.31).round() as i32,
            l.words(),
            small,
            false,
            Anchor::Left,
        ));
        kx += entry_w(l);
    }
    let height = y + r + MARGIN;
    ForestRobLayout {
        forest: forest.clone(),
        width,
        height,
        x0,
        header,
        tools: tool_items,
        lights,
        unassessed,
        legend,
        key,
        palette,
    }
}

/// [`traffic_light`] fitted into `width` pixels: the forest plot of `data`
/// is laid out narrower by the column's width, so the composite (forest
/// plot plus traffic lights) is at most `width` wide. The report page uses
/// it to keep its forest plot within the page; `forest --rob` instead widens
/// the image by the column.
pub fn traffic_light_within(
    data: &ForestData,
    width: u32,
    assessments: &[Option<RobAssessment>],
    palette: Palette,
) -> ForestRobLayout {
    let mut forest_w = width;
    let mut l = traffic_light(
        &forest_layout(data, &ForestStyle { width: forest_w }),
        assessments,
        palette,
    );
    // The column's width does not depend on the forest plot's (its circles
    // follow the row height, which is fixed), so one correction fits;
    // the loop only guards against a layout that rounds differently.
    for _ in 0..3 {
        let over = l.width - width as i32;
        if over <= 0 {
            break;
        }
        forest_w = forest_w.saturating_sub(over as u32);
        l = traffic_light(
            &forest_layout(data, &ForestStyle { width: forest_w }),
            assessments,
            palette,
        );
    }
    l
}

/// Draw one judgement circle: fill, outline, symbol.
fn draw_light<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    x: i32,
    y: i32,
    r: i32,
    level: Level,
    palette: Palette,
) -> Result<()> {
    c.circle(x, y, r + 1, colour::INK)?;
    c.circle(x, y, r, level.fill(palette))?;
    let ink = level.ink(palette);
    let arm = (r as f64 * 0.55).round() as i32;
    let t = (r / 5).max(2);
    match level {
        Level::Low => {
            c.rect(x - arm, y - t / 2, x + arm + 1, y - t / 2 + t, ink)?;
            c.rect(x - t / 2, y - arm, x - t / 2 + t, y + arm + 1, ink)?;
        }
        Level::High => c.rect(x - arm, y - t / 2, x + arm + 1, y - t / 2 + t, ink)?,
        Level::Critical => {
            let a = (arm as f64 * 0.85).round() as i32;
            c.line(&[(x - a, y - a), (x + a, y + a)], ink, t as u32)?;
            c.line(&[(x - a, y + a), (x + a, y - a)], ink, t as u32)?;
        }
        Level::Concerns => {
            c.rect(x - t / 2, y - arm, x - t / 2 + t, y + arm / 3, ink)?;
            c.rect(x - t / 2, y + arm - t, x - t / 2 + t, y + arm + 1, ink)?;
        }
        Level::NoInformation => {
            let s = (r as f64 * 1.5).max(11.0);
            c.text(
                "?",
                x,
                y + (s * 0.36).round() as i32,
                s,
                true,
                Anchor::Center,
                ink,
            )?;
        }
    }
    Ok(())
}

/// Draw a [`ForestRobLayout`] (the forest plot, then the column).
pub fn draw_forest_rob<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &ForestRobLayout) -> Result<()> {
    draw_forest(c, &l.forest)?;
    let rule = l.forest.header_rule;
    c.rect(l.x0, rule, l.width - MARGIN, rule + 1, colour::RULE)?;
    for t in l.header.iter().chain(&l.tools) {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
    }
    for g in &l.lights {
        if g.derived {
            c.circle(g.x, g.y, g.r + 3, colour::INK)?;
            c.circle(g.x, g.y, g.r + 2, colour::WHITE)?;
        }
        draw_light(c, g.x, g.y, g.r, g.level, l.palette)?;
    }
    for &(x, y) in &l.unassessed {
        c.rect(x - 6, y, x + 7, y + 2, colour::MUTED)?;
    }
    for t in &l.legend {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
    }
    let r = l.lights.first().map_or(10, |g| g.r);
    for &(x, y, level) in &l.key {
        draw_light(c, x, y, r, level, l.palette)?;
    }
    Ok(())
}

/// The forest plot with its traffic-light column as PNG bytes.
pub fn forest_rob_png(l: &ForestRobLayout) -> Result<Vec<u8>> {
    render_png(
        l.width as u32,
        l.height as u32,
        "forest plot with risk of bias (PNG)",
        |c| draw_forest_rob(c, l),
    )
}

/// The forest plot with its traffic-light column as SVG.
pub fn forest_rob_svg(l: &ForestRobLayout) -> Result<String> {
    render_svg(
        l.width as u32,
        l.height as u32,
        "forest plot with risk of bias (SVG)",
        |c| draw_forest_rob(c, l),
    )
}

/// One stacked segment of a summary bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Level.
    pub level: Level,
    /// Share of the weight, 0–1.
    pub share: f64,
    /// Left and right pixel edges.
    pub x0: i32,
    /// Right edge.
    pub x1: i32,
    /// Percentage label drawn inside (empty when the segment is too narrow).
    pub label: String,
}

/// One bar of the summary: a domain (or the overall judgement) of one tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// "D1 randomisation process" … or "Overall".
    pub label: TextItem,
    /// Top of the bar.
    pub top: i32,
    /// Bottom of the bar.
    pub bottom: i32,
    /// Segments, left to right in [`Level::ALL`] order.
    pub segments: Vec<Segment>,
}

/// One tool's panel of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryPanel {
    /// Heading, e.g. "RoB 2: 9 assessments, weighted by model weight".
    pub title: TextItem,
    /// Bars, top to bottom.
    pub bars: Vec<Bar>,
}

/// A robvis-style weighted summary bar chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryLayout {
    /// Image width.
    pub width: i32,
    /// Image height.
    pub height: i32,
    /// Left edge of the bars.
    pub bar_left: i32,
    /// Right edge of the bars.
    pub bar_right: i32,
    /// One panel per tool present.
    pub panels: Vec<SummaryPanel>,
    /// Axis ticks under each panel: (x, label) at 0, 25, 50, 75, 100%.
    pub ticks: Vec<(i32, String)>,
    /// Baselines of the tick labels (one per panel).
    pub tick_baselines: Vec<i32>,
    /// Legend key: (x, centre y, level) and words.
    pub key: Vec<(i32, i32, Level)>,
    /// Legend words and notes.
    pub notes: Vec<TextItem>,
    /// Palette.
    pub palette: Palette,
}

/// Lay out the summary of `items` (an assessment and its weight, e.g. the
/// study's weight in the pooled model; with `weighted` false every
/// assessment counts once), at `width` pixels. `note` is printed under the
/// key (e.g. which model's weights were used).
pub fn summary_layout(
    items: &[(RobAssessment, f64)],
    weighted: bool,
    palette: Palette,
    width: u32,
    note: &str,
) -> SummaryLayout {
    let width = width.max(600) as i32;
    let fs = size::BODY;
    let small = size::SMALL;
    let bar_h = (fs * 1.6).round() as i32;
    let mut tools: Vec<RobTool> = items.iter().map(|(a, _)| a.tool).collect();
    tools.sort_by_key(|t| t.domains().len());
    tools.dedup();
    let label_w = tools
        .iter()
        .flat_map(|t| t.domains().iter().enumerate())
        .map(|(i, d)| text_width(&format!("D{} {d}", i + 1), fs, false).ceil() as i32)
        .chain([text_width("Overall", fs, true).ceil() as i32])
        .max()
        .unwrap_or(100);
    let bar_left = MARGIN + label_w + GAP / 2;
    let bar_right = width - MARGIN;
    let span = (bar_right - bar_left) as f64;
    let mut y = MARGIN;
    let mut panels = Vec::new();
    let mut tick_baselines = Vec::new();
    for &tool in &tools {
        let mine: Vec<(&RobAssessment, f64)> = items
            .iter()
            .filter(|(a, _)| a.tool == tool)
            .map(|(a, w)| (a, if weighted { w.max(0.0) } else { 1.0 }))
            .collect();
        let total: f64 = mine.iter().map(|(_, w)| w).sum();
        let title = item(
            MARGIN,
            y + (fs * 0.9).round() as i32,
            format!(
                "{}: {} assessment{}, {}",
                tool_name(tool),
                mine.len(),
                if mine.len() == 1 { "" } else { "s" },
                if weighted {
                    "share of their model weight"
                } else {
                    "share of assessments (unweighted)"
                }
            ),
            fs,
            true,
            Anchor::Left,
        );
        y += (fs * 1.8).round() as i32;
        let mut bars = Vec::new();
        let names: Vec<(usize, String, bool)> = tool
            .domains()
            .iter()
            .enumerate()
            .map(|(i, d)| (i + 1, format!("D{} {d}", i + 1), false))
            .chain([(0, "Overall".to_string(), true)])
            .collect();
        for (d, name, bold) in names {
            let top = y;
            let mut segments = Vec::new();
            let mut acc = 0.0;
            for level in Level::ALL {
                let w: f64 = mine
                    .iter()
                    .filter(|(a, _)| {
                        let j = if d == 0 { Some(a.overall) } else { a.domain(d) };
                        j.map(Level::of) == Some(level)
                    })
                    .map(|(_, w)| w)
                    .sum();
                if w <= 0.0 || total <= 0.0 {
                    continue;
                }
                let share = w / total;
                let x0 = bar_left + (acc * span).round() as i32;
                acc += share;
                let x1 = bar_left + (acc * span).round() as i32;
                let pct = format!("{:.0}%", share * 100.0);
                let label = if (x1 - x0) as f64 >= text_width(&pct, small, true) + 8.0 {
                    pct
                } else {
                    String::new()
                };
                segments.push(Segment {
                    level,
                    share,
                    x0,
                    x1,
                    label,
                });
            }
            bars.push(Bar {
                label: item(
                    MARGIN,
                    top + bar_h / 2 + (fs * 0.31).round() as i32,
                    name,
                    fs,
                    bold,
                    Anchor::Left,
                ),
                top,
                bottom: top + bar_h,
                segments,
            });
            y += bar_h + 6;
        }
        y += 8;
        tick_baselines.push(y + (small * 0.8).round() as i32);
        y += (small * 2.2).round() as i32;
        panels.push(SummaryPanel { title, bars });
    }
    let ticks = (0..=4)
        .map(|i| {
            (
                bar_left + (span * f64::from(i) / 4.0).round() as i32,
                format!("{}%", i * 25),
            )
        })
        .collect();
    // Key.
    let r = 9;
    let mut key = Vec::new();
    let mut notes = Vec::new();
    let mut kx = MARGIN;
    y += 4;
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| *l != Level::Critical || tools.contains(&RobTool::RobinsI))
        .collect();
    for l in levels {
        let w = 2 * r + 8 + text_width(l.words(), small, false).ceil() as i32 + GAP;
        if kx > MARGIN && kx + w > width - MARGIN {
            kx = MARGIN;
            y += 2 * r + 8;
        }
        key.push((kx + r, y, l));
        notes.push(item(
            kx + 2 * r + 8,
            y + (small * 0.31).round() as i32,
            l.words(),
            small,
            false,
            Anchor::Left,
        ));
        kx += w;
    }
    y += r + (small * 1.6).round() as i32;
    let line_h = (small * 1.45).round() as i32;
    for part in wrap_hard(note, small, false, (width - 2 * MARGIN) as f64) {
        notes.push(item(MARGIN, y, part, small, false, Anchor::Left));
        y += line_h;
    }
    SummaryLayout {
        width,
        height: y - line_h + MARGIN + 6,
        bar_left,
        bar_right,
        panels,
        ticks,
        tick_baselines,
        key,
        notes,
        palette,
    }
}

/// Draw a [`SummaryLayout`].
pub fn draw_summary<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &SummaryLayout) -> Result<()> {
    for (p, &tb) in l.panels.iter().zip(&l.tick_baselines) {
        let t = &p.title;
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
        for b in &p.bars {
            let t = &b.label;
            c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
            c.rect(l.bar_left, b.top, l.bar_right, b.bottom, colour::PANEL)?;
            for s in &b.segments {
                c.rect(s.x0, b.top, s.x1, b.bottom, s.level.fill(l.palette))?;
                let mid = (b.top + b.bottom) / 2 + (size::SMALL * 0.36).round() as i32;
                c.text(
                    &s.label,
                    (s.x0 + s.x1) / 2,
                    mid,
                    size::SMALL,
                    true,
                    Anchor::Center,
                    s.level.ink(l.palette),
                )?;
            }
            c.frame(l.bar_left, b.top, l.bar_right, b.bottom, colour::INK)?;
        }
        let axis = p.bars.last().map_or(tb, |b| b.bottom + 4);
        for (x, label) in &l.ticks {
            c.rect(*x, axis, x + 1, axis + 5, colour::INK)?;
            c.text(
                label,
                *x,
                tb,
                size::SMALL,
                false,
                Anchor::Center,
                colour::MUTED,
            )?;
        }
    }
    for &(x, y, level) in &l.key {
        draw_light(c, x, y, 9, level, l.palette)?;
    }
    for t in &l.notes {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
    }
    Ok(())
}

/// The summary as PNG bytes.
pub fn summary_png(l: &SummaryLayout) -> Result<Vec<u8>> {
    render_png(
        l.width as u32,
        l.height as u32,
        "risk-of-bias summary (PNG)",
        |c| draw_summary(c, l),
    )
}

/// The summary as SVG.
pub fn summary_svg(l: &SummaryLayout) -> Result<String> {
    render_svg(
        l.width as u32,
        l.height as u32,
        "risk-of-bias summary (SVG)",
        |c| draw_summary(c, l),
    )
}

/// The short code of a judgement for text tables: `L` low, `SC` some
/// concerns, `H` high, `M` moderate, `S` serious, `C` critical, `NI` no
/// information.
pub fn short(j: RobJudgement) -> &'static str {
    match j {
        RobJudgement::Low => "L",
        RobJudgement::SomeConcerns => "SC",
        RobJudgement::High => "H",
        RobJudgement::Moderate => "M",
        RobJudgement::Serious => "S",
        RobJudgement::Critical => "C",
        RobJudgement::NoInformation => "NI",
    }
}

/// One line of the risk-of-bias table: (file line, study label, outcome,
/// assessment).
pub type RobTableRow<'a> = (u64, String, String, &'a RobAssessment);

/// The `spotmeta rob` table: one row per assessment with the tool, each
/// domain's short code ([`short`]; `*` marks a judgement derived from the
/// confound flags) and the overall judgement, then a key.
pub fn rob_table(rows: &[RobTableRow<'_>]) -> String {
    let mut cells: Vec<Vec<String>> = vec![
        [
            "line", "study", "outcome", "tool", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "overall",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (line, label, outcome, a) in rows {
        let mut r = vec![
            line.to_string(),
            label.clone(),
            outcome.clone(),
            tool_name(a.tool).to_string(),
        ];
        for d in 1..=7 {
            r.push(match a.domains.get(d - 1) {
                Some(j) => format!("{}{}", short(j.judgement), if j.derived { "*" } else { "" }),
                None => String::new(),
            });
        }
        let overall = if a.overall != a.worst {
            format!("{} (entered; worst {})", short(a.overall), short(a.worst))
        } else {
            short(a.overall).to_string()
        };
        r.push(overall);
        cells.push(r);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &cells {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(
        "\nL low, SC some concerns, H high (RoB 2); M moderate, S serious, C critical (ROBINS-I); \
         NI no information; * derived from the energy-expenditure and diet flags \
         (RoB 2 D2, ROBINS-I D4).\n",
    );
    out
}

/// The `spotmeta rob` table as text ([`rob_table`]) or as the JSON
/// document of the one schema (`command: "rob"`, one object per row with
/// `line`, `study`, `outcome` and `assessment`).
///
/// # Errors
///
/// [`crate::Error::Render`] if a value cannot be serialised.
pub fn rob_rows_text(rows: &[(u64, String, String, RobAssessment)], json: bool) -> Result<String> {
    if json {
        let json: Vec<_> = rows
            .iter()
            .map(|(line, label, outcome, a)| {
                serde_json::json!({"line": line, "study": label, "outcome": outcome, "assessment": a})
            })
            .collect();
        return crate::output::json::document("rob", &json);
    }
    let rows: Vec<RobTableRow<'_>> = rows
        .iter()
        .map(|(l, s, o, a)| (*l, s.clone(), o.clone(), a))
        .collect();
    Ok(rob_table(&rows))
}

/// The summary bar chart of `items` ([`summary_layout`]) as PNG or (with
/// `svg`) SVG bytes.
///
/// # Errors
///
/// As [`summary_png`] and [`summary_svg`].
pub fn summary_image(
    items: &[(RobAssessment, f64)],
    weighted: bool,
    palette: Palette,
    width: u32,
    note: &str,
    svg: bool,
) -> Result<Vec<u8>> {
    let l = summary_layout(items, weighted, palette, width, note);
    if svg {
        Ok(summary_svg(&l)?.into_bytes())
    } else {
        summary_png(&l)
    }
}
