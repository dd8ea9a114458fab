//! PRISMA 2020 flow diagram (Page et al. 2021, *BMJ* 372:n71, Figure 1:
//! "new systematic reviews which included searches of databases and
//! registers only") from a [`Flow`]: the geometry as plain data
//! ([`prisma_layout`], snapshot-tested), drawn to PNG or SVG with the
//! embedded font through [`super::canvas`], like the forest plot.
//!
//! The main column carries identification → screening → retrieval →
//! eligibility → included; the side column what left at each step, with
//! reasons. Unknown counts print as "n = unknown" (not recorded in the
//! search log); the footer says so and gives the search date.

use super::canvas::{Anchor, Canvas, render_png, render_svg};
use super::layout::TextItem;
use super::style::{colour, size, text_width};
use crate::data::review::{Count, Flow};
use crate::error::Result;
use plotters::prelude::DrawingBackend;
use serde::Serialize;

/// Options of the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrismaStyle {
    /// Image width in pixels (the height follows from the text).
    pub width: i32,
}

impl Default for PrismaStyle {
    fn default() -> Self {
        PrismaStyle { width: 1200 }
    }
}

/// A box with its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowBox {
    /// Left edge.
    pub x0: i32,
    /// Top edge.
    pub y0: i32,
    /// Right edge.
    pub x1: i32,
    /// Bottom edge.
    pub y1: i32,
    /// Its lines.
    pub text: Vec<TextItem>,
}

/// A stage band across the diagram ("Identification", …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Top.
    pub y0: i32,
    /// Bottom.
    pub y1: i32,
    /// Its label.
    pub label: TextItem,
}

/// An arrow from a box edge to another (straight, with a head at `to`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arrow {
    /// Start.
    pub from: (i32, i32),
    /// End (the head).
    pub to: (i32, i32),
}

/// The diagram's geometry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrismaLayout {
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// Title.
    pub title: TextItem,
    /// Stage bands.
    pub bands: Vec<Band>,
    /// Boxes.
    pub boxes: Vec<FlowBox>,
    /// Arrows.
    pub arrows: Vec<Arrow>,
    /// Footer lines.
    pub footer: Vec<TextItem>,
}

const MARGIN: i32 = 24;
const PAD: i32 = 10;
const LINE: i32 = 22;
const GAP: i32 = 36;
const BAND_H: i32 = 30;

/// "(n = 5)", with no-break spaces so it never splits across lines.
fn n(c: Count) -> String {
    format!("(n\u{a0}=\u{a0}{c})")
}

/// Break `text` at ASCII spaces only (no-break spaces hold), into lines no
/// wider than `max_w`.
fn wrap_at_spaces(text: &str, size: f64, bold: bool, max_w: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if cur.is_empty() || text_width(&candidate, size, bold) <= max_w {
            cur = candidate;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// One paragraph of a box: its text and whether it is bold.
type Para = (String, bool);

/// Lay out a box of `paras` at (x0, y0), `w` wide.
fn flow_box(paras: &[Para], x0: i32, y0: i32, w: i32) -> FlowBox {
    let mut text = Vec::new();
    let mut y = y0 + PAD + 16;
    for (p, bold) in paras {
        let (indent, body) = match p.strip_prefix("• ") {
            Some(rest) => (14, rest),
            None => (0, p.as_str()),
        };
        let lines = wrap_at_spaces(body, size::SMALL, *bold, f64::from(w - 2 * PAD - indent));
        for (i, l) in lines.into_iter().enumerate() {
            let bullet = indent > 0 && i == 0;
            if bullet {
                text.push(TextItem {
                    x: x0 + PAD,
                    y,
                    text: "•".into(),
                    size: size::SMALL,
                    bold: false,
                    anchor: Anchor::Left,
                });
            }
            text.push(TextItem {
                x: x0 + PAD + indent,
                y,
                text: l,
                size: size::SMALL,
                bold: *bold,
                anchor: Anchor::Left,
            });
            y += LINE;
        }
    }
    FlowBox {
        x0,
        y0,
        x1: x0 + w,
        y1: y - 16 + PAD + 6,
        text,
    }
}

/// The diagram's geometry for `flow`.
pub fn prisma_layout(flow: &Flow, style: &PrismaStyle) -> PrismaLayout {
    let width = style.width.max(800);
    let inner = width - 2 * MARGIN;
    let main_w = inner * 52 / 100;
    let side_w = inner - main_w - GAP * 2;
    let main_x = MARGIN;
    let side_x = MARGIN + main_w + GAP * 2;
    let title = TextItem {
        x: MARGIN,
        y: MARGIN + 22,
        text: "PRISMA 2020 flow diagram".into(),
        size: size::HEADING,
        bold: true,
        anchor: Anchor::Left,
    };
    let mut y = MARGIN + 44;
    let mut bands = Vec::new();
    let mut boxes = Vec::new();
    let mut arrows = Vec::new();
    let band = |y: &mut i32, label: &str, bands: &mut Vec<Band>| {
        bands.push(Band {
            y0: *y,
            y1: *y + BAND_H,
            label: TextItem {
                x: MARGIN + PAD,
                y: *y + 21,
                text: label.into(),
                size: size::BODY,
                bold: true,
                anchor: Anchor::Left,
            },
        });
        *y += BAND_H + 14;
    };
    // One row: a main box, an optional side box beside it (top-aligned),
    // an arrow across from the main box's middle; returns the main box's
    // index.
    let row = |y: &mut i32,
               main: Vec<Para>,
               side: Option<Vec<Para>>,
               boxes: &mut Vec<FlowBox>,
               arrows: &mut Vec<Arrow>| {
        let m = flow_box(&main, main_x, *y, main_w);
        let s = side.map(|p| flow_box(&p, side_x, *y, side_w));
        if let Some(s) = s {
            let h = m.y1.max(s.y1);
            let mid = (m.y0 + m.y1.min(s.y1)) / 2;
            arrows.push(Arrow {
                from: (m.x1, mid),
                to: (s.x0, mid),
            });
            boxes.push(m);
            boxes.push(s);
            *y = h + GAP;
            boxes.len() - 2
        } else {
            *y = m.y1 + GAP;
            boxes.push(m);
            boxes.len() - 1
        }
    };

    band(&mut y, "Identification", &mut bands);
    let mut ident: Vec<Para> = vec![("Records identified from:".into(), true)];
    for (src, c) in &flow.identified {
        ident.push((format!("• {src} {}", n(*c)), false));
    }
    ident.push((format!("Total {}", n(flow.identified_total)), false));
    let removed = vec![
        ("Records removed before screening:".into(), true),
        (format!("• Duplicate records {}", n(flow.duplicates)), false),
        (
            format!(
                "• Records marked as ineligible by automation tools {}",
                n(flow.automation)
            ),
            false,
        ),
        (
            format!(
                "• Records removed for other reasons {}",
                n(flow.other_removed)
            ),
            false,
        ),
    ];
    let mut chain = vec![row(&mut y, ident, Some(removed), &mut boxes, &mut arrows)];

    y -= GAP - 10;
    band(&mut y, "Screening", &mut bands);
    chain.push(row(
        &mut y,
        vec![(format!("Records screened {}", n(flow.screened)), true)],
        Some(vec![(
            format!("Records excluded {}", n(flow.screen_excluded)),
            true,
        )]),
        &mut boxes,
        &mut arrows,
    ));
    chain.push(row(
        &mut y,
        vec![(
            format!("Reports sought for retrieval {}", n(flow.sought)),
            true,
        )],
        Some(vec![
            (
                format!("Reports not retrieved {}", n(flow.not_retrieved)),
                true,
            ),
            (
                "primary reports not located; known only from citations".into(),
                false,
            ),
        ]),
        &mut boxes,
        &mut arrows,
    ));
    let mut excluded: Vec<Para> = vec![("Reports excluded:".into(), true)];
    for (why, c) in &flow.excluded {
        excluded.push((format!("• {why} {}", n(*c)), false));
    }
    chain.push(row(
        &mut y,
        vec![
            (
                format!("Reports assessed for eligibility {}", n(flow.assessed)),
                true,
            ),
            (
                format!(
                    "{} of {} included studies assessed on the abstract or a secondary page only (full text not retrieved)",
                    flow.abstract_only, flow.included_studies
                ),
                false,
            ),
        ],
        Some(excluded),
        &mut boxes,
        &mut arrows,
    ));

    y -= GAP - 10;
    band(&mut y, "Included", &mut bands);
    let mut included: Vec<Para> = vec![
        (
            format!("Studies included in review (n = {})", flow.included_studies),
            true,
        ),
        (
            format!(
                "• {} data rows (outcomes × cohorts) of the included studies",
                flow.included_rows
            ),
            false,
        ),
        (
            format!(
                "• Shown but not pooled (listed: context, mechanistic, results not accessible): {} studies",
                flow.listed_studies
            ),
            false,
        ),
    ];
    if let Some((k, s)) = flow.synthesis {
        included.push((
            format!(
                "• In the primary meta-analysis: {}",
                crate::analysis::rules::k_clause(k, s)
            ),
            false,
        ));
    }
    chain.push(row(&mut y, included, None, &mut boxes, &mut arrows));
    // Vertical arrows down the main column.
    for w in chain.windows(2) {
        let (a, b) = (&boxes[w[0]], &boxes[w[1]]);
        let x = (a.x0 + a.x1) / 2;
        arrows.push(Arrow {
            from: (x, a.y1),
            to: (x, b.y0),
        });
    }
    let mut footer = Vec::new();
    let mut fy = y - GAP + 28;
    let search = if flow.search_date.is_empty() {
        String::new()
    } else {
        format!("Search: {}. ", flow.search_date)
    };
    for l in wrap_at_spaces(
        &format!(
            "{search}n = unknown: not recorded in the search log (datasets/review.toml); no count is guessed. Lower boxes: the dataset's statuses."
        ),
        size::SMALL,
        false,
        f64::from(inner),
    ) {
        footer.push(TextItem {
            x: MARGIN,
            y: fy,
            text: l,
            size: size::SMALL,
            bold: false,
            anchor: Anchor::Left,
        });
        fy += LINE;
    }
    PrismaLayout {
        width,
        height: fy - LINE + MARGIN,
        title,
        bands,
        boxes,
        arrows,
        footer,
    }
}

/// Draw the layout on a canvas.
pub fn draw_prisma<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &PrismaLayout) -> Result<()> {
    let t = &l.title;
    c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
    for b in &l.bands {
        c.rect(MARGIN, b.y0, l.width - MARGIN, b.y1, colour::BAND)?;
        let t = &b.label;
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::STUDY)?;
    }
    for b in &l.boxes {
        c.rect(b.x0, b.y0, b.x1, b.y1, colour::WHITE)?;
        c.frame(b.x0, b.y0, b.x1, b.y1, colour::INK)?;
        c.frame(b.x0 + 1, b.y0 + 1, b.x1 - 1, b.y1 - 1, colour::INK)?;
        for t in &b.text {
            c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
        }
    }
    for a in &l.arrows {
        let (fx, fy) = a.from;
        let (tx, ty) = a.to;
        if fy == ty {
            // Horizontal, pointing right.
            c.rect(fx, fy - 1, tx - 9, fy + 1, colour::INK)?;
            c.polygon(
                &[(tx, ty), (tx - 11, ty - 6), (tx - 11, ty + 6)],
                colour::INK,
            )?;
        } else {
            // Vertical, pointing down.
            c.rect(fx - 1, fy, fx + 1, ty - 9, colour::INK)?;
            c.polygon(
                &[(tx, ty), (tx - 6, ty - 11), (tx + 6, ty - 11)],
                colour::INK,
            )?;
        }
    }
    for t in &l.footer {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
    }
    Ok(())
}

/// The diagram as PNG bytes.
pub fn prisma_png(l: &PrismaLayout) -> Result<Vec<u8>> {
    render_png(
        l.width as u32,
        l.height as u32,
        "PRISMA flow diagram (PNG)",
        |c| draw_prisma(c, l),
    )
}

/// The diagram as an SVG document.
pub fn prisma_svg(l: &PrismaLayout) -> Result<String> {
    render_svg(
        l.width as u32,
        l.height as u32,
        "PRISMA flow diagram (SVG)",
        |c| draw_prisma(c, l),
    )
}

/// The flow diagram of `flow` at `width` pixels as PNG or (with `svg`) SVG
/// bytes ([`prisma_layout`], then [`prisma_png`] or [`prisma_svg`]).
///
/// # Errors
///
/// As [`prisma_png`] and [`prisma_svg`].
pub fn prisma_image(flow: &Flow, width: i32, svg: bool) -> Result<Vec<u8>> {
    let layout = prisma_layout(flow, &PrismaStyle { width });
    if svg {
        Ok(prisma_svg(&layout)?.into_bytes())
    } else {
        prisma_png(&layout)
    }
}
