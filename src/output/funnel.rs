//! Funnel plots (metafor `funnel()`): effect sizes against their standard
//! errors, SE axis inverted (0 at the top), a vertical line at the pooled
//! estimate and the pseudo-confidence region estimate ± z·SE.
//!
//! [`funnel_layout`] is pure geometry (snapshot-testable); [`funnel_png`]
//! draws it.

use super::canvas::{Anchor, Canvas, render_png};
use super::layout::{Tick, nice_ticks};
use super::style::{colour, num, size};
use crate::error::Result;
use plotters::prelude::DrawingBackend;
use serde::Serialize;

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
    /// x of the pooled estimate.
    pub estimate_x: i32,
    /// Pseudo-CI region: apex (top) and the two bottom corners.
    pub region: [(i32, i32); 3],
    /// x ticks.
    pub x_ticks: Vec<Tick>,
    /// y ticks (SE values; `x` holds the pixel y).
    pub y_ticks: Vec<Tick>,
    /// x-axis label.
    pub xlab: String,
    /// y-axis label.
    pub ylab: String,
}

/// Lay out a funnel plot of `yi` with sampling variances `vi` around `estimate`.
pub fn funnel_layout(
    yi: &[f64],
    vi: &[f64],
    estimate: f64,
    xlab: &str,
    width: u32,
    height: u32,
) -> FunnelLayout {
    const Z: f64 = 1.959_963_984_540_054;
    let (w, h) = (width as i32, height as i32);
    let plot = (78, 44, w - 24, h - 62);
    let se: Vec<f64> = vi.iter().map(|v| v.sqrt()).collect();
    let se_max = se.iter().cloned().fold(0.0, f64::max).max(1e-3);
    let y_ticks_v = nice_ticks(0.0, se_max * 1.05, 4);
    let y_max = *y_ticks_v.last().unwrap();
    let mut lo = estimate - Z * y_max;
    let mut hi = estimate + Z * y_max;
    for &y in yi {
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
    FunnelLayout {
        width: w,
        height: h,
        plot,
        points: yi.iter().zip(&se).map(|(&y, &s)| (sx(y), sy(s))).collect(),
        estimate_x: sx(estimate),
        region: [
            (sx(estimate), sy(0.0)),
            (sx(estimate - Z * y_max), sy(y_max)),
            (sx(estimate + Z * y_max), sy(y_max)),
        ],
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
        xlab: xlab.to_string(),
        ylab: "Standard error".into(),
    }
}

/// Draw a funnel layout onto a canvas.
pub fn draw_funnel<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &FunnelLayout) -> Result<()> {
    let (x0, y0, x1, y1) = l.plot;
    c.polygon(&l.region, colour::FUNNEL)?;
    c.line(&[l.region[0], l.region[1]], colour::MUTED, 1)?;
    c.line(&[l.region[0], l.region[2]], colour::MUTED, 1)?;
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
    for &(x, y) in &l.points {
        c.circle(x, y, 6, colour::WHITE)?;
        c.circle(x, y, 5, colour::STUDY)?;
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
    Ok(())
}

/// The funnel plot as PNG bytes.
pub fn funnel_png(l: &FunnelLayout) -> Result<Vec<u8>> {
    render_png(l.width as u32, l.height as u32, "funnel plot (PNG)", |c| {
        draw_funnel(c, l)
    })
}
