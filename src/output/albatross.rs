//! Albatross plot (Harrison et al. 2017, *Research Synthesis Methods*
//! 8:281–286; issue #9): every study with a p-value placed by its two-sided p
//! and direction (x) and its total sample size (y, log scale), over contours
//! of constant Hedges' g (0.1, 0.25, 0.5) for parallel-group (solid) and
//! within-subject (dashed) designs.
//!
//! The x axis is split at p = 1 (the centre): the left half favours the
//! control, the right half spot reduction, each on a −log10 p scale, so
//! smaller p lies further out. Exact p-values are filled circles; a bound
//! "p < x" is drawn at x with an arrow pointing outward (the true p is
//! smaller), "p > x" / NS at x with an arrow pointing inward; a study without
//! a direction sits on the centre line with a bar across the positions it
//! could take. Energy-expenditure-flagged studies are orange, as in the
//! forest plot. Labels are placed where they fit; the rest are numbered and
//! listed under the plot.
//!
//! [`albatross_layout`] is pure geometry (snapshot-tested);
//! [`albatross_png`] and [`albatross_svg`] draw it through the shared canvas.

use super::canvas::{Anchor, Canvas, render_png, render_svg};
use super::layout::{TextItem, Tick};
use super::style::{colour, size, text_width};
use crate::analysis::albatross::{AlbatrossPoint, albatross_points, contours};
use crate::analysis::vote::Evidence;
use crate::data::Design;
use crate::error::Result;
use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;
use serde::Serialize;

/// What the albatross plot shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlbatrossData {
    /// Studies with a p-value and n.
    pub points: Vec<AlbatrossPoint>,
    /// Evidence rows that cannot be placed: (label, why).
    pub not_plotted: Vec<(String, String)>,
}

/// The plot's data from the vote-count evidence.
pub fn albatross_data(evidence: &[Evidence]) -> AlbatrossData {
    let points = albatross_points(evidence);
    let not_plotted = evidence
        .iter()
        .filter(|e| !points.iter().any(|p| p.label == e.label))
        .map(|e| {
            let why = if e.p.is_none() {
                "no p-value"
            } else if e.design.is_none() {
                "no design"
            } else {
                "n not reported"
            };
            (e.label.clone(), why.to_string())
        })
        .collect();
    AlbatrossData {
        points,
        not_plotted,
    }
}

/// One mirrored half of an effect contour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContourLine {
    /// Hedges' g.
    pub g: f64,
    /// Design (parallel: solid; within-subject: dashed).
    pub design: Design,
    /// −1 left half (favours control), +1 right half.
    pub side: i8,
    /// Polyline in pixels, clipped to the plot.
    pub points: Vec<(i32, i32)>,
    /// Its label ("g = 0.5"), at the end where it leaves the plot.
    pub label: Option<TextItem>,
}

/// One study's mark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyMark {
    /// Study label.
    pub label: String,
    /// Marker centre.
    pub x: i32,
    /// Marker centre.
    pub y: i32,
    /// "exact", "below" (p < bound) or "above" (p > bound).
    pub kind: String,
    /// +1 favours spot reduction, −1 favours control, 0 no direction.
    pub side: i8,
    /// Energy-expenditure flag (drawn orange).
    pub flagged: bool,
    /// Arrow tip x (the arrow runs horizontally from the marker).
    pub arrow: Option<i32>,
    /// Horizontal bars (x0, x1) across the positions a study without a
    /// direction could take.
    pub bars: Vec<(i32, i32)>,
    /// Number shown instead of the label when the label does not fit.
    pub number: Option<usize>,
}

/// Legend marker kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlbatrossKeyKind {
    /// Filled circle: exact p.
    Exact,
    /// Hollow circles with arrows pointing away from the centre line, one on
    /// each side: p below a bound.
    Below,
    /// Hollow circles with arrows pointing toward the centre line, one on
    /// each side: p above a bound / NS.
    Above,
    /// Hollow circle on a bar: no direction.
    NoDirection,
    /// Orange circle: EE-flagged.
    Flagged,
    /// Solid line: parallel-group contour.
    Parallel,
    /// Dashed line: within-subject contour.
    Within,
}

/// One marker of a legend glyph: a circle, and an arrow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyMark {
    /// Circle centre x.
    pub x: i32,
    /// Arrow tip x (the arrow runs horizontally from the circle).
    pub arrow: Option<i32>,
    /// Hollow circle (a bound or no direction) rather than filled (exact p).
    pub hollow: bool,
}

/// A legend entry: its glyph, drawn exactly as the plot draws such studies,
/// and its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlbatrossKey {
    /// Left edge of the glyph.
    pub x: i32,
    /// Baseline of the label (the glyph is centred 5 px above it).
    pub y: i32,
    /// Marker.
    pub kind: AlbatrossKeyKind,
    /// x of a short centre line (p = 1) in the glyph, for the arrow kinds:
    /// the glyph shows the left and the right half of the plot.
    pub centre: Option<i32>,
    /// Circles (and arrows) of the glyph.
    pub marks: Vec<KeyMark>,
    /// x of the label.
    pub label_x: i32,
    /// Label.
    pub label: String,
}

/// Albatross-plot geometry in pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlbatrossLayout {
    /// Image width.
    pub width: i32,
    /// Image height.
    pub height: i32,
    /// Plot rectangle (left, top, right, bottom).
    pub plot: (i32, i32, i32, i32),
    /// x of p = 1.
    pub centre_x: i32,
    /// x of p = 0.05 on each side (dotted guides).
    pub p05_x: (i32, i32),
    /// p ticks on both halves.
    pub x_ticks: Vec<Tick>,
    /// Sample-size ticks (`x` holds the pixel y).
    pub y_ticks: Vec<Tick>,
    /// Effect contours.
    pub contours: Vec<ContourLine>,
    /// Studies.
    pub marks: Vec<StudyMark>,
    /// Study labels that fit next to their marks.
    pub labels: Vec<TextItem>,
    /// Axis captions, legend title and notes.
    pub texts: Vec<TextItem>,
    /// Legend entries.
    pub legend: Vec<AlbatrossKey>,
}

/// p-value ticks on each half.
const P_TICKS: [f64; 5] = [0.5, 0.1, 0.05, 0.01, 0.001];
/// Width of a one-marker legend glyph plus its gap.
const KEY_W: i32 = 30;
/// Width of a two-sided (arrow) legend glyph plus its gap.
const KEY_W2: i32 = 84;
/// Length of a study's arrow in the plot.
const ARROW: i32 = 26;
const LABEL_SIZE: f64 = 14.0;

/// Nice log ticks (1, 2, 5 × 10ᵏ) for a sample-size axis.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut mag = 10f64.powf(lo.log10().floor() - 1.0);
    while mag <= hi * 10.0 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * mag;
            if v >= lo * 0.999 && v <= hi * 1.001 {
                out.push(v);
            }
        }
        mag *= 10.0;
    }
    out
}

/// Largest 1-2-5 value ≤ v, and smallest ≥ v.
fn nice_floor(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * mag)
        .find(|x| *x <= v)
        .unwrap_or(mag)
}

fn nice_ceil(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|x| *x >= v * 0.999)
        .unwrap_or(10.0 * mag)
}

type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn label_rect(x: i32, y: i32, w: i32, anchor: Anchor) -> Rect {
    let x0 = match anchor {
        Anchor::Left => x,
        Anchor::Center => x - w / 2,
        Anchor::Right => x - w,
    };
    (x0 - 2, y - 12, x0 + w + 2, y + 4)
}

/// Lay out the albatross plot: `width` pixels wide, the plot area (axes
/// included) `plot_height` high; legend and notes add to the height.
pub fn albatross_layout(d: &AlbatrossData, width: u32, plot_height: u32) -> AlbatrossLayout {
    let (w, h) = (width as i32, plot_height as i32);
    let plot = (64, 40, w - 20, h - 66);
    let (x0, y0, x1, y1) = plot;
    let cx = (x0 + x1) / 2;
    let half = (x1 - x0) as f64 / 2.0;
    // −log10 p range on each side: at least to p = 0.0005.
    let lmax = d
        .points
        .iter()
        .map(|p| -p.p.max(1e-12).log10() + 0.3)
        .fold(3.3f64, f64::max);
    let xp = |p: f64, side: i8| -> i32 {
        let t = (-p.max(1e-300).log10()).clamp(0.0, lmax) / lmax;
        (cx as f64 + side as f64 * t * half).round() as i32
    };
    let (n_min, n_max) = d
        .points
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), p| (a.min(p.n), b.max(p.n)));
    let (n_min, n_max) = if d.points.is_empty() {
        (10.0, 100.0)
    } else {
        (n_min, n_max)
    };
    let lo = nice_floor((n_min / 1.5).max(2.0));
    let hi = nice_ceil((n_max * 1.5).max(lo * 5.0));
    let yn = |n: f64| -> i32 {
        let t = (n.ln() - lo.ln()) / (hi.ln() - lo.ln());
        (y1 as f64 - t * (y1 - y0) as f64).round() as i32
    };

    // Contours, mirrored and clipped at the outer edges.
    let mut lines = Vec::new();
    for c in contours(lo, hi) {
        for side in [-1i8, 1] {
            let mut pts = Vec::new();
            let mut prev: Option<(f64, f64)> = None;
            for &(n, p) in &c.points {
                let lp = -p.max(1e-300).log10();
                if lp > lmax {
                    if let Some((pn, plp)) = prev {
                        // Interpolate the crossing of the edge in (log n, −log p).
                        let f = (lmax - plp) / (lp - plp);
                        let ln = pn.ln() + f * (n.ln() - pn.ln());
                        pts.push((xp(10f64.powf(-lmax), side), yn(ln.exp())));
                    }
                    break;
                }
                pts.push((xp(p, side), yn(n)));
                prev = Some((n, lp));
            }
            lines.push(ContourLine {
                g: c.g,
                design: c.design,
                side,
                points: pts,
                label: None,
            });
        }
    }

    // Study marks.
    let mut marks: Vec<StudyMark> = d
        .points
        .iter()
        .map(|p| {
            let y = yn(p.n);
            let (x, bars, arrow) = if p.side == 0 {
                let (l, r) = (xp(p.p, -1), xp(p.p, 1));
                let bars = if p.kind == "below" {
                    vec![(x0, l), (r, x1)]
                } else {
                    vec![(l, r)]
                };
                (cx, bars, None)
            } else {
                let x = xp(p.p, p.side);
                let s = p.side as i32;
                let arrow = match p.kind {
                    "below" => Some((x + s * ARROW).clamp(x0 + 2, x1 - 2)),
                    "above" => {
                        let tip = x - s * ARROW;
                        Some(if s > 0 {
                            tip.max(cx + 2)
                        } else {
                            tip.min(cx - 2)
                        })
                    }
                    _ => None,
                };
                (x, Vec::new(), arrow)
            };
            StudyMark {
                label: p.label.clone(),
                x,
                y,
                kind: p.kind.to_string(),
                side: p.side,
                flagged: p.ee_flagged,
                arrow,
                bars,
                number: None,
            }
        })
        .collect();

    // Labels: first free candidate position; obstacles are the marks, bars,
    // arrows and labels placed so far.
    let mut obstacles: Vec<Rect> = Vec::new();
    for m in &marks {
        obstacles.push((m.x - 7, m.y - 7, m.x + 7, m.y + 7));
        for &(a, b) in &m.bars {
            obstacles.push((a.min(b), m.y - 3, a.max(b), m.y + 3));
        }
        if let Some(t) = m.arrow {
            obstacles.push((m.x.min(t), m.y - 6, m.x.max(t), m.y + 6));
        }
    }
    let mut labels = Vec::new();
    let mut numbered = Vec::new();
    for m in marks.iter_mut() {
        let tw = text_width(&m.label, LABEL_SIZE, false).ceil() as i32;
        let right_end = m
            .bars
            .iter()
            .map(|b| b.1)
            .chain(m.arrow)
            .fold(m.x + 8, i32::max);
        let left_end = m
            .bars
            .iter()
            .map(|b| b.0)
            .chain(m.arrow)
            .fold(m.x - 8, i32::min);
        let mut cands = vec![
            (right_end + 4, m.y + 5, Anchor::Left),
            (left_end - 4, m.y + 5, Anchor::Right),
            (m.x, m.y - 11, Anchor::Center),
            (m.x, m.y + 22, Anchor::Center),
            (m.x + 6, m.y - 9, Anchor::Left),
            (m.x - 6, m.y - 9, Anchor::Right),
            (m.x + 6, m.y + 20, Anchor::Left),
            (m.x - 6, m.y + 20, Anchor::Right),
        ];
        if m.side == 0 {
            // Beside the bar first would push the label far out; above the
            // marker reads better.
            cands.rotate_left(2);
        }
        let inside = |r: Rect| r.0 >= x0 + 2 && r.2 <= x1 - 2 && r.1 >= y0 + 2 && r.3 <= y1 - 2;
        let spot = cands.into_iter().find(|&(x, y, a)| {
            let r = label_rect(x, y, tw, a);
            inside(r) && !obstacles.iter().any(|o| overlaps(*o, r))
        });
        match spot {
            Some((x, y, anchor)) => {
                obstacles.push(label_rect(x, y, tw, anchor));
                labels.push(TextItem {
                    x,
                    y,
                    text: m.label.clone(),
                    size: LABEL_SIZE,
                    bold: false,
                    anchor,
                });
            }
            None => {
                numbered.push(m.label.clone());
                m.number = Some(numbered.len());
            }
        }
    }
    for m in &marks {
        if let Some(k) = m.number {
            let t = k.to_string();
            let tw = text_width(&t, LABEL_SIZE, true).ceil() as i32;
            let r = label_rect(m.x + 8, m.y - 6, tw, Anchor::Left);
            obstacles.push(r);
            labels.push(TextItem {
                x: m.x + 8,
                y: m.y - 6,
                text: t,
                size: LABEL_SIZE,
                bold: true,
                anchor: Anchor::Left,
            });
        }
    }

    // Contour labels: beside their own line, on its outer side, at the
    // highest point where the label fits clear of everything placed so far.
    for ct in lines.iter_mut() {
        let text = format!("g = {}", ct.g);
        let sz = size::SMALL - 2.0;
        let tw = text_width(&text, sz, false).ceil() as i32;
        let anchor = if ct.side > 0 {
            Anchor::Left
        } else {
            Anchor::Right
        };
        let inside = |r: Rect| r.0 >= x0 + 2 && r.2 <= x1 - 2 && r.1 >= y0 + 2 && r.3 <= y1 - 2;
        let spot = ct.points.iter().rev().find_map(|&(x, y)| {
            let lx = x + ct.side as i32 * 5;
            let r = label_rect(lx, y + 4, tw, anchor);
            (inside(r) && !obstacles.iter().any(|o| overlaps(*o, r))).then_some((lx, y + 4, r))
        });
        if let Some((lx, ly, r)) = spot {
            obstacles.push(r);
            ct.label = Some(TextItem {
                x: lx,
                y: ly,
                text,
                size: sz,
                bold: false,
                anchor,
            });
        }
    }

    // Axes.
    let mut x_ticks = vec![Tick {
        value: 1.0,
        x: cx,
        label: "1".into(),
    }];
    for side in [-1i8, 1] {
        for p in P_TICKS {
            x_ticks.push(Tick {
                value: p * side as f64,
                x: xp(p, side),
                label: format!("{p}"),
            });
        }
    }
    x_ticks.sort_by_key(|t| t.x);
    let y_ticks = log_ticks(lo, hi)
        .into_iter()
        .map(|n| Tick {
            value: n,
            x: yn(n),
            label: format!("{n}"),
        })
        .collect();

    let s = size::SMALL;
    let lh = (s * 1.5).round() as i32;
    let mut texts = Vec::new();
    let mut text = |x: i32, y: i32, t: &str, anchor: Anchor, bold: bool| {
        texts.push(TextItem {
            x,
            y,
            text: t.to_string(),
            size: s,
            bold,
            anchor,
        });
    };
    let cap = y1 + 8 + (s * 2.3) as i32;
    text(x0, cap, "← favours control", Anchor::Left, false);
    text(
        cx,
        cap,
        "two-sided p (1 at the centre)",
        Anchor::Center,
        false,
    );
    text(x1, cap, "favours spot reduction →", Anchor::Right, false);
    text(
        12,
        y0 - 16,
        "Total sample size (log scale)",
        Anchor::Left,
        false,
    );

    // Legend rows, wrapped to the width. The arrow kinds show both halves
    // of the plot around a short centre line, because an arrow's direction
    // on screen flips with the side: what matters is whether it points away
    // from p = 1 (p below a bound) or toward it (p above a bound, NS).
    let mut legend = Vec::new();
    let mut y = cap + lh + 6;
    let mut x = 12;
    let mut key = |kind: AlbatrossKeyKind, label: &str, x: &mut i32, y: &mut i32| {
        use AlbatrossKeyKind as K;
        let glyph_w = match kind {
            K::Below | K::Above => KEY_W2,
            K::NoDirection => KEY_W + 6,
            _ => KEY_W,
        };
        let wdt = glyph_w + text_width(label, s, false).ceil() as i32 + 18;
        if *x > 12 && *x + wdt > w - 12 {
            *x = 12;
            *y += lh;
        }
        let x0 = *x;
        let one = |hollow| {
            vec![KeyMark {
                x: x0 + 8,
                arrow: None,
                hollow,
            }]
        };
        let (centre, marks) = match kind {
            K::Exact => (None, one(false)),
            K::Flagged => (None, one(false)),
            K::NoDirection => (
                None,
                vec![KeyMark {
                    x: x0 + 14,
                    arrow: None,
                    hollow: true,
                }],
            ),
            K::Parallel | K::Within => (None, Vec::new()),
            // ←○ | ○→
            K::Below => (
                Some(x0 + 36),
                vec![
                    KeyMark {
                        x: x0 + 24,
                        arrow: Some(x0),
                        hollow: true,
                    },
                    KeyMark {
                        x: x0 + 48,
                        arrow: Some(x0 + 72),
                        hollow: true,
                    },
                ],
            ),
            // ○→ | ←○
            K::Above => (
                Some(x0 + 36),
                vec![
                    KeyMark {
                        x: x0 + 6,
                        arrow: Some(x0 + 32),
                        hollow: true,
                    },
                    KeyMark {
                        x: x0 + 66,
                        arrow: Some(x0 + 40),
                        hollow: true,
                    },
                ],
            ),
        };
        legend.push(AlbatrossKey {
            x: x0,
            y: *y,
            kind,
            centre,
            marks,
            label_x: x0 + glyph_w,
            label: label.to_string(),
        });
        *x += wdt;
    };
    use AlbatrossKeyKind as K;
    key(K::Exact, "exact p", &mut x, &mut y);
    key(
        K::Below,
        "p < bound: arrow away from p = 1 (true p smaller)",
        &mut x,
        &mut y,
    );
    key(
        K::Above,
        "p > bound or NS: arrow toward p = 1",
        &mut x,
        &mut y,
    );
    key(
        K::NoDirection,
        "no direction: bar = possible positions",
        &mut x,
        &mut y,
    );
    if d.points.iter().any(|p| p.ee_flagged) {
        key(K::Flagged, "energy-expenditure flag", &mut x, &mut y);
    }
    x = 12;
    y += lh;
    key(K::Parallel, "parallel groups", &mut x, &mut y);
    key(K::Within, "within-subject", &mut x, &mut y);
    let contour_note = "contours of Hedges' g (equal arms)";
    texts.push(TextItem {
        x,
        y,
        text: contour_note.into(),
        size: s,
        bold: false,
        anchor: Anchor::Left,
    });
    y += lh;
    let mut note = |t: String, y: &mut i32| {
        for l in super::style::wrap(&t, s, false, (w - 24) as f64) {
            texts.push(TextItem {
                x: 12,
                y: *y,
                text: l,
                size: s,
                bold: false,
                anchor: Anchor::Left,
            });
            *y += lh;
        }
    };
    if !numbered.is_empty() {
        let list: Vec<String> = numbered
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{} = {l}", i + 1))
            .collect();
        note(format!("Numbered: {}.", list.join("; ")), &mut y);
    }
    if !d.not_plotted.is_empty() {
        let mut whys: Vec<&str> = d.not_plotted.iter().map(|(_, w)| w.as_str()).collect();
        whys.dedup();
        let parts: Vec<String> = whys
            .iter()
            .map(|w| {
                let names: Vec<&str> = d
                    .not_plotted
                    .iter()
                    .filter(|(_, x)| x == w)
                    .map(|(l, _)| l.as_str())
                    .collect();
                format!("{} ({w})", names.join(", "))
            })
            .collect();
        note(format!("Not plotted: {}.", parts.join("; ")), &mut y);
    }
    let height = y - lh + 14;
    AlbatrossLayout {
        width: w,
        height,
        plot,
        centre_x: cx,
        p05_x: (xp(0.05, -1), xp(0.05, 1)),
        x_ticks,
        y_ticks,
        contours: lines,
        marks,
        labels,
        texts,
        legend,
    }
}

/// Contour colour.
const CONTOUR: RGBColor = RGBColor(120, 126, 133);

/// A dashed polyline (`on` px drawn, `off` px skipped).
fn dashed<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    pts: &[(i32, i32)],
    col: RGBColor,
    on: f64,
    off: f64,
) -> Result<()> {
    // Walk the polyline; `left` is what remains of the current dash or gap.
    let (mut drawing, mut left) = (true, on);
    for wnd in pts.windows(2) {
        let (a, b) = (wnd[0], wnd[1]);
        let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
        let len = dx.hypot(dy);
        let p = |u: f64| {
            (
                (a.0 as f64 + dx * u / len).round() as i32,
                (a.1 as f64 + dy * u / len).round() as i32,
            )
        };
        let mut t = 0.0;
        while len - t > 1e-6 {
            let t1 = (t + left).min(len);
            if drawing {
                c.line(&[p(t), p(t1)], col, 2)?;
            }
            left -= t1 - t;
            t = t1;
            if left <= 1e-6 {
                drawing = !drawing;
                left = if drawing { on } else { off };
            }
        }
    }
    Ok(())
}

fn arrow<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    x: i32,
    tip: i32,
    y: i32,
    col: RGBColor,
) -> Result<()> {
    let s = (tip - x).signum();
    c.line(&[(x + s * 6, y), (tip - s * 6, y)], col, 2)?;
    c.polygon(&[(tip, y), (tip - s * 8, y - 5), (tip - s * 8, y + 5)], col)
}

fn marker<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    x: i32,
    y: i32,
    hollow: bool,
    col: RGBColor,
) -> Result<()> {
    c.circle(x, y, 7, colour::WHITE)?;
    c.circle(x, y, 6, col)?;
    if hollow {
        c.circle(x, y, 3, colour::WHITE)?;
    }
    Ok(())
}

/// Draw an albatross layout onto a canvas.
pub fn draw_albatross<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &AlbatrossLayout) -> Result<()> {
    let (x0, y0, x1, y1) = l.plot;
    let s = size::SMALL;
    for t in &l.y_ticks {
        c.rect(x0, t.x, x1, t.x + 1, RGBColor(236, 239, 242))?;
    }
    c.dotted_vline(l.p05_x.0, y0, y1, colour::RULE)?;
    c.dotted_vline(l.p05_x.1, y0, y1, colour::RULE)?;
    c.rect(l.centre_x, y0, l.centre_x + 1, y1, colour::MUTED)?;
    for ct in &l.contours {
        if ct.design == Design::Parallel {
            c.line(&ct.points, CONTOUR, 2)?;
        } else {
            dashed(c, &ct.points, CONTOUR, 7.0, 5.0)?;
        }
    }
    c.frame(x0, y0, x1 + 1, y1 + 1, colour::INK)?;
    for t in &l.x_ticks {
        c.rect(t.x, y1, t.x + 1, y1 + 6, colour::INK)?;
        let b = y1 + 8 + (s * 0.75) as i32;
        c.text(
            &t.label,
            t.x,
            b,
            s - 1.0,
            false,
            Anchor::Center,
            colour::INK,
        )?;
    }
    for t in &l.y_ticks {
        c.rect(x0 - 6, t.x, x0, t.x + 1, colour::INK)?;
        let b = t.x + (s * 0.31) as i32;
        c.text(&t.label, x0 - 9, b, s, false, Anchor::Right, colour::INK)?;
    }
    for ct in &l.contours {
        if let Some(t) = &ct.label {
            let w = text_width(&t.text, t.size, t.bold).ceil() as i32;
            let r = label_rect(t.x, t.y, w, t.anchor);
            c.rect(r.0, r.1 + 2, r.2, r.3 - 1, colour::WHITE)?;
            c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
        }
    }
    for m in &l.marks {
        let col = if m.flagged {
            colour::FLAGGED
        } else {
            colour::STUDY
        };
        for &(a, b) in &m.bars {
            c.rect(a, m.y - 1, b, m.y + 2, col)?;
            c.rect(a, m.y - 5, a + 2, m.y + 6, col)?;
            c.rect(b - 1, m.y - 5, b + 1, m.y + 6, col)?;
        }
        if let Some(tip) = m.arrow {
            arrow(c, m.x, tip, m.y, col)?;
        }
        marker(c, m.x, m.y, m.kind != "exact" || m.side == 0, col)?;
    }
    for t in &l.labels {
        let w = text_width(&t.text, t.size, t.bold).ceil() as i32;
        let r = label_rect(t.x, t.y, w, t.anchor);
        c.rect(r.0, r.1 + 1, r.2, r.3 - 1, colour::WHITE)?;
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
    }
    for t in &l.texts {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
    }
    for k in &l.legend {
        let (x, y) = (k.x, k.y - 5);
        use AlbatrossKeyKind as K;
        let col = if k.kind == K::Flagged {
            colour::FLAGGED
        } else {
            colour::STUDY
        };
        if let Some(cx) = k.centre {
            c.rect(cx, y - 9, cx + 1, y + 10, colour::MUTED)?;
        }
        if k.kind == K::NoDirection {
            c.rect(x, y - 1, x + 28, y + 2, col)?;
            c.rect(x, y - 5, x + 2, y + 6, col)?;
            c.rect(x + 27, y - 5, x + 29, y + 6, col)?;
        }
        for m in &k.marks {
            if let Some(tip) = m.arrow {
                arrow(c, m.x, tip, y, col)?;
            }
            marker(c, m.x, y, m.hollow, col)?;
        }
        match k.kind {
            K::Parallel => c.line(&[(x, y), (x + 24, y)], CONTOUR, 2)?,
            K::Within => dashed(c, &[(x, y), (x + 26, y)], CONTOUR, 7.0, 5.0)?,
            _ => {}
        }
        c.text(
            &k.label,
            k.label_x,
            k.y,
            s,
            false,
            Anchor::Left,
            colour::INK,
        )?;
    }
    Ok(())
}

/// The albatross plot as PNG bytes.
pub fn albatross_png(l: &AlbatrossLayout) -> Result<Vec<u8>> {
    render_png(
        l.width as u32,
        l.height as u32,
        "albatross plot (PNG)",
        |c| draw_albatross(c, l),
    )
}

/// The albatross plot as an SVG document.
pub fn albatross_svg(l: &AlbatrossLayout) -> Result<String> {
    render_svg(
        l.width as u32,
        l.height as u32,
        "albatross plot (SVG)",
        |c| draw_albatross(c, l),
    )
}
