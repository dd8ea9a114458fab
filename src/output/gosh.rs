//! The GOSH plot: I² against the pooled estimate for every subset, drawn as a
//! 2-D histogram (heat map, log-scaled counts) with marginal histograms, the
//! all-studies fit marked by dashed lines, on the project's canvas with the
//! embedded font ([`super::canvas`], [`super::style`]).

use super::canvas::{Anchor, Canvas, render_png};
use super::layout::nice_ticks;
use super::style::{colour, num, size};
use crate::error::Result;
use crate::gosh::Gosh;
use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;

/// What the plot says around the data.
#[derive(Debug, Clone, PartialEq)]
pub struct GoshPlotOptions {
    /// τ² estimator name for the title (e.g. "REML").
    pub method: String,
    /// x-axis label.
    pub xlab: String,
}

impl Default for GoshPlotOptions {
    fn default() -> Self {
        GoshPlotOptions {
            method: "REML".into(),
            xlab: "Pooled estimate".into(),
        }
    }
}

const W: u32 = 980;
const H: u32 = 780;
const X0: i32 = 112;
const X1: i32 = 732;
const Y0: i32 = 196;
const Y1: i32 = 646;
const CELL: i32 = 4;
const TOP_H: i32 = 80;
const RIGHT_W: i32 = 84;

/// Sequential blue ramp, light to dark (ColorBrewer "Blues"-like).
const RAMP: [(f64, RGBColor); 5] = [
    (0.0, RGBColor(198, 219, 239)),
    (0.3, RGBColor(107, 174, 214)),
    (0.55, RGBColor(33, 113, 181)),
    (0.8, RGBColor(8, 69, 148)),
    (1.0, RGBColor(8, 29, 70)),
];

fn ramp(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    for w in RAMP.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if t <= b {
            let u = (t - a) / (b - a);
            let mix =
                |x: u8, y: u8| (f64::from(x) + u * (f64::from(y) - f64::from(x))).round() as u8;
            return RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2));
        }
    }
    RAMP[RAMP.len() - 1].1
}

/// Fewest decimals that print every tick distinctly.
fn tick_digits(ticks: &[f64]) -> usize {
    (0..6)
        .find(|&d| {
            ticks
                .iter()
                .all(|t| (format!("{t:.d$}").parse::<f64>().unwrap_or(f64::NAN) - t).abs() < 1e-9)
        })
        .unwrap_or(6)
}

/// "1,048,575" (also the forest plot's page titles).
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The binned plot: counts per cell and the axis ranges.
struct Binned {
    nx: usize,
    ny: usize,
    counts: Vec<u64>,
    x_lo: f64,
    x_hi: f64,
    y_hi: f64,
    x_ticks: Vec<f64>,
    y_ticks: Vec<f64>,
}

fn bin(g: &Gosh) -> Binned {
    let (lo, hi) = g.estimate_range;
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let pad = 0.03 * (hi - lo);
    let x_ticks = nice_ticks(lo - pad, hi + pad, 6);
    let x_lo = x_ticks[0].min(lo - pad);
    let x_hi = x_ticks[x_ticks.len() - 1].max(hi + pad);
    let x_ticks: Vec<f64> = x_ticks
        .into_iter()
        .filter(|t| *t >= x_lo - 1e-12 && *t <= x_hi + 1e-12)
        .collect();
    let i2_max = g
        .subsets
        .iter()
        .map(|s| f64::from(s[1]))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y_hi = [10.0, 20.0, 25.0, 40.0, 50.0, 60.0, 75.0, 80.0, 100.0]
        .into_iter()
        .find(|&c| i2_max <= c)
        .unwrap_or(100.0);
    let y_ticks = nice_ticks(0.0, y_hi, 5)
        .into_iter()
        .filter(|t| *t >= 0.0 && *t <= y_hi + 1e-9)
        .collect();
    let nx = ((X1 - X0) / CELL) as usize;
    let ny = ((Y1 - Y0) / CELL) as usize;
    let mut counts = vec![0u64; nx * ny];
    for s in &g.subsets {
        let (x, y) = (f64::from(s[0]), f64::from(s[1]));
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let ix = (((x - x_lo) / (x_hi - x_lo)) * nx as f64) as usize;
        let iy = ((y / y_hi) * ny as f64) as usize;
        counts[iy.min(ny - 1) * nx + ix.min(nx - 1)] += 1;
    }
    Binned {
        nx,
        ny,
        counts,
        x_lo,
        x_hi,
        y_hi,
        x_ticks,
        y_ticks,
    }
}

/// Draw the GOSH plot of `g` as PNG bytes.
pub fn gosh_png(g: &Gosh, opts: &GoshPlotOptions) -> Result<Vec<u8>> {
    let b = bin(g);
    render_png(W, H, "GOSH plot", |c| draw(c, g, &b, opts))
}

fn draw<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    g: &Gosh,
    b: &Binned,
    opts: &GoshPlotOptions,
) -> Result<()> {
    let n_fit = g.subsets.len() as u64 - g.failed;
    let title = format!(
        "GOSH plot: all {} subsets of k = {} studies ({})",
        thousands(g.subsets.len() as u64),
        g.k,
        opts.method
    );
    c.text(
        &title,
        X0,
        34,
        size::HEADING,
        true,
        Anchor::Left,
        colour::INK,
    )?;
    let sub = format!(
        "Each cell counts the subsets with that pooled estimate and I² (darker = more; log scale).{}",
        if g.failed > 0 {
            format!(" {} fits failed and are not shown.", thousands(g.failed))
        } else {
            String::new()
        }
    );
    c.text(
        &sub,
        X0,
        60,
        size::SMALL,
        false,
        Anchor::Left,
        colour::MUTED,
    )?;
    c.text(
        "Dashed lines: the fit to all k studies. Bars: subsets per column (top) and per row (right).",
        X0,
        80,
        size::SMALL,
        false,
        Anchor::Left,
        colour::MUTED,
    )?;

    let px = |x: f64| X0 + ((x - b.x_lo) / (b.x_hi - b.x_lo) * f64::from(X1 - X0)).round() as i32;
    let py = |y: f64| Y1 - (y / b.y_hi * f64::from(Y1 - Y0)).round() as i32;
    let max = b.counts.iter().copied().max().unwrap_or(0).max(1);
    let lmax = (max as f64).ln().max(1e-9);
    let shade = |n: u64| {
        if max == 1 {
            ramp(0.6)
        } else {
            ramp((n as f64).ln() / lmax)
        }
    };

    // Grid, then cells.
    for &t in &b.x_ticks {
        c.rect(px(t), Y0, px(t) + 1, Y1, colour::PANEL)?;
    }
    for &t in &b.y_ticks {
        c.rect(X0, py(t), X1, py(t) + 1, colour::PANEL)?;
    }
    for iy in 0..b.ny {
        for ix in 0..b.nx {
            let n = b.counts[iy * b.nx + ix];
            if n > 0 {
                let x = X0 + ix as i32 * CELL;
                let y = Y1 - (iy as i32 + 1) * CELL;
                c.rect(x, y, x + CELL, y + CELL, shade(n))?;
            }
        }
    }
    c.frame(X0, Y0, X1 + 1, Y1 + 1, colour::MUTED)?;

    // Marginal histograms.
    let col_sum: Vec<u64> = (0..b.nx)
        .map(|ix| (0..b.ny).map(|iy| b.counts[iy * b.nx + ix]).sum())
        .collect();
    let row_sum: Vec<u64> = (0..b.ny)
        .map(|iy| b.counts[iy * b.nx..(iy + 1) * b.nx].iter().sum())
        .collect();
    let cmax = col_sum.iter().copied().max().unwrap_or(1).max(1) as f64;
    // One-study and homogeneous subsets pile up at I² = 0; scale the right
    // bars to the other rows and clip that one (its count is printed).
    let rmax = row_sum[1..].iter().copied().max().unwrap_or(0).max(1) as f64;
    let top_base = Y0 - 8;
    for (ix, &n) in col_sum.iter().enumerate() {
        if n > 0 {
            let h = ((n as f64 / cmax) * f64::from(TOP_H)).round().max(1.0) as i32;
            let x = X0 + ix as i32 * CELL;
            c.rect(x, top_base - h, x + CELL, top_base, colour::STUDY)?;
        }
    }
    c.rect(X0, top_base, X1 + 1, top_base + 1, colour::RULE)?;
    let right_base = X1 + 8;
    for (iy, &n) in row_sum.iter().enumerate() {
        if n > 0 {
            let w = ((n as f64 / rmax).min(1.0) * f64::from(RIGHT_W))
                .round()
                .max(1.0) as i32;
            let y = Y1 - (iy as i32 + 1) * CELL;
            c.rect(right_base, y, right_base + w, y + CELL, colour::STUDY)?;
        }
    }
    c.rect(right_base - 1, Y0, right_base, Y1 + 1, colour::RULE)?;
    if row_sum[0] as f64 > rmax {
        c.text(
            &format!("I² = 0: {} (bar clipped)", thousands(row_sum[0])),
            right_base,
            Y1 + 46,
            size::SMALL,
            false,
            Anchor::Left,
            colour::MUTED,
        )?;
    }

    // The all-studies fit.
    if let Some(all) = g.subsets.last().filter(|s| s[0].is_finite()) {
        let (x, y) = (px(f64::from(all[0])), py(f64::from(all[1])));
        c.dotted_vline(x, top_base - TOP_H, Y1, colour::FLAGGED)?;
        let mut xx = X0;
        while xx < right_base + RIGHT_W {
            c.rect(
                xx,
                y,
                (xx + 2).min(right_base + RIGHT_W),
                y + 1,
                colour::FLAGGED,
            )?;
            xx += 5;
        }
        c.circle(x, y, 4, colour::FLAGGED)?;
    }

    // Axes.
    let xd = tick_digits(&b.x_ticks);
    for &t in &b.x_ticks {
        let x = px(t);
        c.rect(x, Y1, x + 1, Y1 + 6, colour::INK)?;
        c.text(
            &num(t, xd),
            x,
            Y1 + 24,
            size::SMALL,
            false,
            Anchor::Center,
            colour::INK,
        )?;
    }
    for &t in &b.y_ticks {
        let y = py(t);
        c.rect(X0 - 6, y, X0, y + 1, colour::INK)?;
        c.text(
            &num(t, 0),
            X0 - 10,
            y + 5,
            size::SMALL,
            false,
            Anchor::Right,
            colour::INK,
        )?;
    }
    c.text(
        &opts.xlab,
        (X0 + X1) / 2,
        Y1 + 52,
        size::BODY,
        false,
        Anchor::Center,
        colour::INK,
    )?;
    c.text(
        "I² (%)",
        14,
        (Y0 + Y1) / 2 + 6,
        size::BODY,
        false,
        Anchor::Left,
        colour::INK,
    )?;

    // Colour key.
    let kx = right_base + RIGHT_W + 30;
    let (ky0, ky1) = (Y0 + 24, Y0 + 224);
    c.text(
        "subsets",
        kx,
        Y0 - 4,
        size::SMALL,
        false,
        Anchor::Left,
        colour::INK,
    )?;
    c.text(
        "per cell",
        kx,
        Y0 + 14,
        size::SMALL,
        false,
        Anchor::Left,
        colour::INK,
    )?;
    for y in ky0..ky1 {
        let t = f64::from(ky1 - 1 - y) / f64::from(ky1 - ky0 - 1);
        c.rect(kx, y, kx + 16, y + 1, ramp(t))?;
    }
    c.frame(kx, ky0, kx + 17, ky1 + 1, colour::MUTED)?;
    let mut p = 1u64;
    let mut labels = Vec::new();
    while p <= max {
        labels.push(p);
        p = p.saturating_mul(10);
        if p == u64::MAX {
            break;
        }
    }
    if labels.last() != Some(&max) {
        labels.push(max);
    }
    let mut last_y = i32::MAX;
    for n in labels.into_iter().rev() {
        let t = if max == 1 {
            0.0
        } else {
            (n as f64).ln() / lmax
        };
        let y = ky1 - 1 - (t * f64::from(ky1 - ky0 - 1)).round() as i32;
        if (last_y - y).abs() < 16 && last_y != i32::MAX {
            continue;
        }
        c.rect(kx + 17, y, kx + 21, y + 1, colour::INK)?;
        c.text(
            &thousands(n),
            kx + 24,
            y + 5,
            size::SMALL,
            false,
            Anchor::Left,
            colour::INK,
        )?;
        last_y = y;
    }

    // Footer: the numbers behind the picture.
    let all = g.subsets.last().copied().unwrap_or([f32::NAN; 3]);
    let foot = format!(
        "All studies: estimate {}, I² {}%. Over the {} fitted subsets: estimate {} to {} (mean {}), mean I² {}%.",
        num(f64::from(all[0]), 3),
        num(f64::from(all[1]), 1),
        thousands(n_fit),
        num(g.estimate_range.0, 3),
        num(g.estimate_range.1, 3),
        num(g.mean[0], 3),
        num(g.mean[1], 1),
    );
    let fy = Y1 + 86;
    c.text(
        &foot,
        X0,
        fy,
        size::SMALL,
        false,
        Anchor::Left,
        colour::MUTED,
    )?;
    Ok(())
}

/// The files `spotmeta gosh` writes for `g` (the τ² estimator `method`, the
/// studies' `labels`): `gosh.png`, `gosh.json` and, with `subsets`,
/// `gosh_subsets.parquet` (every subset's estimate, I² and τ²).
///
/// # Errors
///
/// A plot, JSON document or Parquet file that cannot be made.
pub fn gosh_files(
    g: &Gosh,
    method: &str,
    labels: &[String],
    subsets: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let png = gosh_png(
        g,
        &GoshPlotOptions {
            method: method.into(),
            xlab: "Pooled estimate".into(),
        },
    )?;
    let mut files = vec![
        ("gosh.png", png),
        (
            "gosh.json",
            crate::output::json::gosh(g, method, labels)?.into_bytes(),
        ),
    ];
    if subsets {
        files.push(("gosh_subsets.parquet", g.subsets_parquet()?));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_light_to_dark() {
        let l = |c: RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        assert!(l(ramp(0.0)) > l(ramp(0.5)) && l(ramp(0.5)) > l(ramp(1.0)));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_048_575), "1,048,575");
        assert_eq!(thousands(31), "31");
    }
}
