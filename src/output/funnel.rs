//! Contour-enhanced funnel plots (metafor `funnel(..., level = c(90, 95, 99),
//! refline = 0)`; Peters et al. 2008, J Clin Epidemiol 61:991–996): effect
//! sizes against their standard errors, SE axis inverted (0 at the top), with
//! the regions where a study would be significant at p < 0.10, 0.05 and 0.01
//! (two-sided, against 0) shaded, a vertical line at the pooled estimate, the
//! trim-and-fill studies as hollow markers, a legend and notes (Egger's test,
//! trim and fill) underneath.
//!
//! [`funnel_layout`] is pure geometry (snapshot-testable); [`funnel_png`]
//! draws it.

use super::canvas::{Anchor, Canvas, render_png};
use super::layout::{TextItem, Tick, nice_ticks};
use super::style::{colour, num, size, text_width, wrap};
use crate::error::Result;
use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;
use serde::Serialize;

/// What a funnel plot shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunnelData {
    /// Effect sizes.
    pub yi: Vec<f64>,
    /// Their sampling variances.
    pub vi: Vec<f64>,
    /// Pooled estimate (vertical line).
    pub estimate: f64,
    /// Studies filled in by trim and fill (drawn hollow).
    pub fill_yi: Vec<f64>,
    /// Their sampling variances.
    pub fill_vi: Vec<f64>,
    /// x-axis label.
    pub xlab: String,
    /// Lines printed under the plot (Egger's test, trim and fill).
    pub notes: Vec<String>,
    /// Why the significance contours are left out (the small-study rule of
    /// [`crate::analysis::rules`]: fewer than 10 studies), or None to draw
    /// them.
    pub no_contours: Option<String>,
}

/// One significance contour: the triangle inside which a study is *not*
/// significant at level `p` (|y| / SE < z).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contour {
    /// Two-sided p-value threshold (0.10, 0.05 or 0.01).
    pub p: f64,
    /// Its normal quantile.
    pub z: f64,
    /// Apex (y = 0, SE = 0) and the two bottom corners.
    pub triangle: [(i32, i32); 3],
}

/// A legend entry under the plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelKey {
    /// Swatch / marker x (left edge).
    pub x: i32,
    /// Baseline of the label.
    pub y: i32,
    /// What the marker is.
    pub kind: KeyKind,
    /// Label text (drawn 18 px right of `x`).
    pub label: String,
}

/// Kinds of legend marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A shaded significance region (index into [`FunnelLayout::contours`]
    /// order from widest to narrowest; `None`: not significant, white).
    Region(Option<usize>),
    /// A study (filled circle).
    Study,
    /// A trim-and-fill study (hollow circle).
    Filled,
    /// The pooled-estimate line.
    Estimate,
}

/// Funnel-plot geometry in pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelLayout {
    /// Image width.
    pub width: i32,
    /// Image height.
    pub height: i32,
    /// Plot rectangle (left, top, right, bottom).
    pub plot: (i32, i32, i32, i32),
    /// Study points.
    pub points: Vec<(i32, i32)>,
    /// Trim-and-fill points (hollow).
    pub filled: Vec<(i32, i32)>,
    /// x of the pooled estimate.
    pub estimate_x: i32,
    /// x of 0 (the contours' centre).
    pub zero_x: i32,
    /// Significance contours, widest (p = 0.01) first.
    pub contours: Vec<Contour>,
    /// x ticks.
    pub x_ticks: Vec<Tick>,
    /// y ticks (SE values; `x` holds the pixel y).
    pub y_ticks: Vec<Tick>,
    /// x-axis label.
    pub xlab: String,
    /// y-axis label.
    pub ylab: String,
    /// Legend entries.
    pub legend: Vec<FunnelKey>,
    /// The legend's title line, then the notes under the legend.
    pub notes: Vec<TextItem>,
}

/// Contour levels: two-sided p and its normal quantile, widest first.
const LEVELS: [(f64, f64); 3] = [
    (0.01, 2.575_829_303_548_901),
    (0.05, 1.959_963_984_540_054),
    (0.10, 1.644_853_626_951_472_7),
];

/// Region shades, from p < 0.01 (darkest) to 0.05 ≤ p < 0.10 (lightest);
/// p ≥ 0.10 is white.
const SHADES: [RGBColor; 3] = [
    RGBColor(178, 194, 211),
    RGBColor(208, 219, 230),
    RGBColor(233, 239, 245),
];

/// Lay out a funnel plot; the plot area takes `plot_height` pixels (axes
/// included) and the legend and notes add to the image height.
pub fn funnel_layout(d: &FunnelData, width: u32, plot_height: u32) -> FunnelLayout {
    let (w, h) = (width as i32, plot_height as i32);
    let plot = (78, 44, w - 24, h - 62);
    let se: Vec<f64> = d.vi.iter().map(|v| v.sqrt()).collect();
    let fse: Vec<f64> = d.fill_vi.iter().map(|v| v.sqrt()).collect();
    let se_max = se.iter().chain(&fse).cloned().fold(0.0, f64::max).max(1e-3);
    let y_ticks_v = nice_ticks(0.0, se_max * 1.05, 4);
    let y_max = *y_ticks_v.last().unwrap();
    let zmax = LEVELS[0].1;
    let mut lo = (-zmax * y_max).min(d.estimate);
    let mut hi = (zmax * y_max).max(d.estimate);
    for &y in d.yi.iter().chain(&d.fill_yi) {
        lo = lo.min(y);
        hi = hi.max(y);
    }
    let x_ticks_v = nice_ticks(lo, hi, 5);
    let (x_min, x_max) = (x_ticks_v[0], *x_ticks_v.last().unwrap());
    let sx = |v: f64| {
        (plot.0 as f64 + (v - x_min) / (x_max - x_min) * (plot.2 - plot.0) as f64).round() as i32
    };
    let sy = |s: f64| (plot.1 as f64 + s / y_max * (plot.3 - plot.1) as f64).round() as i32;
    let dec = |t: &[f64]| {
        let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
        (0..6)
            .find(|d| ((step * 10f64.powi(*d)).round() - step * 10f64.powi(*d)).abs() < 1e-9)
            .unwrap_or(6) as usize
    };
    let (dx, dy) = (dec(&x_ticks_v), dec(&y_ticks_v));
    let contours = LEVELS
        .iter()
        .filter(|_| d.no_contours.is_none())
        .map(|&(p, z)| Contour {
            p,
            z,
            triangle: [
                (sx(0.0), sy(0.0)),
                (sx(-z * y_max), sy(y_max)),
                (sx(z * y_max), sy(y_max)),
            ],
        })
        .collect();

    // Legend: two rows under the x label; notes under the legend.
    let s = size::SMALL;
    let lh = (s * 1.5).round() as i32;
    let mut y = plot.3 + 8 + (s * 2.3) as i32 + lh + 4;
    let mut legend = Vec::new();
    let mut x = 12;
    let mut legend_texts = Vec::new();
    if d.no_contours.is_none() {
        legend_texts.push(TextItem {
            x: 12,
            y,
            text: "Shaded: where a study would be significant (two-sided test of 0):".into(),
            size: s,
            bold: false,
            anchor: Anchor::Left,
        });
        y += lh;
    }
    let mut key = |x: &mut i32, y: i32, kind: KeyKind, label: &str| {
        legend.push(FunnelKey {
            x: *x,
            y,
            kind,
            label: label.to_string(),
        });
        *x += 18 + text_width(label, s, false).ceil() as i32 + 16;
    };
    if d.no_contours.is_none() {
        key(&mut x, y, KeyKind::Region(Some(0)), "p < 0.01");
        key(&mut x, y, KeyKind::Region(Some(1)), "0.01 ≤ p < 0.05");
        key(&mut x, y, KeyKind::Region(Some(2)), "0.05 ≤ p < 0.10");
        key(&mut x, y, KeyKind::Region(None), "p ≥ 0.10");
        y += lh;
        x = 12;
    }
    key(&mut x, y, KeyKind::Study, "study");
    if !d.fill_yi.is_empty() {
        key(&mut x, y, KeyKind::Filled, "filled by trim and fill");
    }
    key(&mut x, y, KeyKind::Estimate, "pooled estimate");
    y += lh + 4;
    let mut notes = std::mem::take(&mut legend_texts);
    let why_no_contours = d
        .no_contours
        .as_ref()
        .map(|why| format!("No significance contours: {why}."));
    for n in why_no_contours.iter().chain(&d.notes) {
        for l in wrap(n, s, false, (w - 24) as f64) {
            notes.push(TextItem {
                x: 12,
                y,
                text: l,
                size: s,
                bold: false,
                anchor: Anchor::Left,
            });
            y += lh;
        }
    }
    let height = y - lh + 14;
    FunnelLayout {
        width: w,
        height,
        plot,
        points: d
            .yi
            .iter()
            .zip(&se)
            .map(|(&y, &s)| (sx(y), sy(s)))
            .collect(),
        filled: d
            .fill_yi
            .iter()
            .zip(&fse)
            .map(|(&y, &s)| (sx(y), sy(s)))
            .collect(),
        estimate_x: sx(d.estimate),
        zero_x: sx(0.0),
        contours,
        x_ticks: x_ticks_v
            .iter()
            .map(|&v| Tick {
                value: v,
                x: sx(v),
                label: num(v, dx),
            })
            .collect(),
        y_ticks: y_ticks_v
            .iter()
            .map(|&v| Tick {
                value: v,
                x: sy(v),
                label: num(v, dy),
            })
            .collect(),
        xlab: d.xlab.clone(),
        ylab: "Standard error".into(),
        legend,
        notes,
    }
}

/// The small-study-effect lines printed under the funnel: Egger's regression
/// test and trim and fill (L0), each with its result or why it did not run.
pub fn small_study_notes(d: &crate::analysis::diagnostics::Diagnostics) -> Vec<String> {
    use super::style::p_clause;
    use crate::analysis::diagnostics::Outcome;
    use crate::analysis::trimfill::Side;
    let egger = match &d.regtest {
        Outcome::Done(r) => format!(
            "Egger's regression test for funnel asymmetry: {} = {}, {}; limit estimate {} [{}, {}].",
            match r.dfs {
                Some(df) => format!("t({df})"),
                None => "z".into(),
            },
            num(r.zval, 2),
            p_clause(Some(r.pval)),
            num(r.est, 2),
            num(r.ci_lb, 2),
            num(r.ci_ub, 2)
        ),
        Outcome::NotRun { reason } => format!("Egger's regression test not run: {reason}."),
    };
    let tf = match &d.trimfill {
        Outcome::Done(t) if t.k0 == 0 => format!(
            "Trim and fill (L0): no study estimated missing; estimate unchanged at {}.",
            num(t.fit.estimate, 2)
        ),
        Outcome::Done(t) => format!(
            "Trim and fill (L0): {} stud{} filled on the {} (hollow); adjusted estimate {} [{}, {}].",
            t.k0,
            if t.k0 == 1 { "y" } else { "ies" },
            match t.side {
                Side::Left => "left",
                Side::Right => "right",
            },
            num(t.fit.estimate, 2),
            num(t.fit.ci_lb, 2),
            num(t.fit.ci_ub, 2)
        ),
        Outcome::NotRun { reason } => format!("Trim and fill not run: {reason}."),
    };
    if d.small_study_underpowered {
        let label = "Underpowered (fewer studies than the small-study rule asks; run on request with --small-study; read as descriptive only): ";
        return vec![format!("{label}{egger}"), format!("{label}{tf}")];
    }
    vec![egger, tf]
}

fn study_marker<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    x: i32,
    y: i32,
    hollow: bool,
) -> Result<()> {
    c.circle(x, y, 6, colour::WHITE)?;
    c.circle(x, y, 5, colour::STUDY)?;
    if hollow {
        c.circle(x, y, 3, colour::WHITE)?;
    }
    Ok(())
}

/// Draw a funnel layout onto a canvas.
pub fn draw_funnel<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &FunnelLayout) -> Result<()> {
    let (x0, y0, x1, y1) = l.plot;
    // Shade from the outside in: p < 0.01 fills the plot, each narrower
    // triangle paints the next-lighter band, the innermost is white.
    // Without contours (small-study rule) the plot is plain white.
    let background = if l.contours.is_empty() {
        colour::WHITE
    } else {
        SHADES[0]
    };
    c.rect(x0, y0, x1 + 1, y1 + 1, background)?;
    for (i, ct) in l.contours.iter().enumerate() {
        let col = SHADES.get(i + 1).copied().unwrap_or(colour::WHITE);
        c.polygon(&ct.triangle, col)?;
    }
    c.dotted_vline(l.zero_x, y0, y1, colour::MUTED)?;
    c.rect(l.estimate_x, y0, l.estimate_x + 1, y1, colour::INK)?;
    c.frame(x0, y0, x1 + 1, y1 + 1, colour::INK)?;
    let s = size::SMALL;
    for t in &l.x_ticks {
        c.rect(t.x, y1, t.x + 1, y1 + 6, colour::INK)?;
        let b = y1 + 8 + (s * 0.75) as i32;
        c.text(&t.label, t.x, b, s, false, Anchor::Center, colour::INK)?;
    }
    for t in &l.y_ticks {
        c.rect(x0 - 6, t.x, x0, t.x + 1, colour::INK)?;
        let b = t.x + (s * 0.31) as i32;
        c.text(&t.label, x0 - 9, b, s, false, Anchor::Right, colour::INK)?;
    }
    for &(x, y) in &l.filled {
        study_marker(c, x, y, true)?;
    }
    for &(x, y) in &l.points {
        study_marker(c, x, y, false)?;
    }
    let b = y1 + 8 + (s * 2.3) as i32;
    c.text(
        &l.xlab,
        (x0 + x1) / 2,
        b,
        s,
        false,
        Anchor::Center,
        colour::MUTED,
    )?;
    // y label above the axis, left-aligned with the tick labels (horizontal
    // text stays readable at 100% zoom).
    c.text(
        &format!("{} (0 at top)", l.ylab),
        12,
        y0 - 16,
        s,
        false,
        Anchor::Left,
        colour::MUTED,
    )?;
    for k in &l.legend {
        let (x, y) = (k.x, k.y);
        match k.kind {
            KeyKind::Region(i) => {
                let col = i.map(|i| SHADES[i]).unwrap_or(colour::WHITE);
                c.rect(x, y - 11, x + 13, y + 2, col)?;
                c.frame(x, y - 11, x + 13, y + 2, colour::RULE)?;
            }
            KeyKind::Study => study_marker(c, x + 6, y - 4, false)?,
            KeyKind::Filled => study_marker(c, x + 6, y - 4, true)?,
            KeyKind::Estimate => c.rect(x + 6, y - 12, x + 7, y + 3, colour::INK)?,
        }
        c.text(&k.label, x + 18, y, s, false, Anchor::Left, colour::MUTED)?;
    }
    for (i, t) in l.notes.iter().enumerate() {
        let col = if i == 0 { colour::MUTED } else { colour::INK };
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, col)?;
    }
    Ok(())
}

/// The funnel plot as PNG bytes.
pub fn funnel_png(l: &FunnelLayout) -> Result<Vec<u8>> {
    render_png(l.width as u32, l.height as u32, "funnel plot (PNG)", |c| {
        draw_funnel(c, l)
    })
}
