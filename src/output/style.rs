//! Sizes, colours, number formatting and the embedded font for every plot.
//!
//! The font (DejaVu Sans, regular and bold; licence in
//! `assets/fonts/LICENSE-DejaVu.txt`) is compiled into the binary with
//! `include_bytes!` and registered with plotters' `ab_glyph` text backend on
//! first use, so drawing never looks for fontconfig or a system font. The same
//! bytes measure text for the layouts, so a column is exactly as wide as the
//! rendered labels in it.

use crate::error::{Error, Result};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::style::{FontStyle, RGBColor};
use std::sync::OnceLock;

/// Font family name used for drawing. It is also written verbatim into SVG
/// `font-family` attributes, so it is a CSS fallback list; the bitmap backend
/// looks the embedded font up under exactly this name.
pub const FONT_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Register the embedded fonts with plotters (idempotent, thread-safe).
pub fn register_fonts() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, REGULAR)
            .map_err(|_| "embedded DejaVu Sans is not a valid font".to_string())?;
        plotters::style::register_font(FONT_FAMILY, FontStyle::Bold, BOLD)
            .map_err(|_| "embedded DejaVu Sans Bold is not a valid font".to_string())
    })
    .clone()
    .map_err(|message| Error::Render {
        what: "font registration".into(),
        message,
    })
}

fn font(bold: bool) -> &'static FontRef<'static> {
    static FONTS: OnceLock<(FontRef<'static>, FontRef<'static>)> = OnceLock::new();
    let (r, b) = FONTS.get_or_init(|| {
        (
            FontRef::try_from_slice(REGULAR).expect("embedded regular font parses"),
            FontRef::try_from_slice(BOLD).expect("embedded bold font parses"),
        )
    });
    if bold { b } else { r }
}

/// Width in pixels of `text` drawn at `size` (plotters' size: the font's
/// ascent-to-descent height in pixels), measured exactly as plotters lays it
/// out (advances plus kerning).
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let f = font(bold).as_scaled(PxScale::from(size as f32));
    let mut w = 0f32;
    let mut prev = None;
    for c in text.chars() {
        let g = f.glyph_id(c);
        w += f.h_advance(g);
        if let Some(p) = prev {
            w += f.kern(p, g);
        }
        prev = Some(g);
    }
    f64::from(w)
}

/// Call `pixel(x, y, coverage)` for every pixel of `text` drawn with its
/// pen starting at (`x`, `baseline`).
pub fn for_each_glyph_pixel(
    text: &str,
    size: f64,
    bold: bool,
    x: f32,
    baseline: f32,
    mut pixel: impl FnMut(i32, i32, f32),
) {
    let f = font(bold).as_scaled(PxScale::from(size as f32));
    let mut pen = x;
    let mut prev = None;
    for ch in text.chars() {
        let id = f.glyph_id(ch);
        if let Some(p) = prev {
            pen += f.kern(p, id);
        }
        let glyph = id.with_scale_and_position(f.scale(), ab_glyph::point(pen, baseline));
        if let Some(outline) = f.outline_glyph(glyph) {
            let b = outline.px_bounds();
            let (bx, by) = (b.min.x as i32, b.min.y as i32);
            outline.draw(|gx, gy, cov| pixel(bx + gx as i32, by + gy as i32, cov));
        }
        pen += f.h_advance(id);
        prev = Some(id);
    }
}

/// `text` shortened with a trailing ellipsis so that it fits in `max_w`
/// pixels (unchanged when it already fits).
pub fn ellipsize(text: &str, size: f64, bold: bool, max_w: f64) -> String {
    if text_width(text, size, bold) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let cut = |end: usize| {
        chars[..end]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string()
            + "…"
    };
    // The width grows with the prefix, so the longest prefix that fits is
    // found by bisection: O(n log n) rather than the O(n²) of trying every
    // length from the longest down (a 16k-character label took 15 s, #15).
    let (mut fits, mut too_long) = (0, chars.len());
    while too_long - fits > 1 {
        let mid = fits + (too_long - fits) / 2;
        if text_width(&cut(mid), size, bold) <= max_w {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    // `cut(0)` is the bare ellipsis, returned even when it does not fit.
    cut(fits)
}

/// Break `text` into lines no wider than `max_w` pixels (at spaces; a single
/// over-long word gets a line of its own).
pub fn wrap(text: &str, size: f64, bold: bool, max_w: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
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

/// A confidence level (a fraction) as a percentage for labels: 0.95 → "95",
/// 0.975 → "97.5".
pub fn level_pct(level: f64) -> String {
    format!("{}", (level * 100.0 * 1e6).round() / 1e6)
}

/// A number with `digits` decimals and a typographic minus sign ("−0.04");
/// negative zero prints as "0.00".
pub fn num(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    let zero = s
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.');
    if zero {
        s.trim_start_matches('-').to_string()
    } else {
        s.replace('-', "\u{2212}")
    }
}

/// A p-value for plots and reports: "< 0.0001" or 2–4 significant decimals.
pub fn pval(p: Option<f64>) -> String {
    match p {
        None => "NA".into(),
        Some(p) if p < 1e-4 => "< 0.0001".into(),
        Some(p) if p < 0.001 => format!("{p:.4}"),
        Some(p) if p < 0.01 => format!("{p:.3}"),
        Some(p) => format!("{p:.2}"),
    }
}

/// "p = 0.34" or "p < 0.0001".
pub fn p_clause(p: Option<f64>) -> String {
    match p {
        Some(x) if x < 1e-4 => "p < 0.0001".into(),
        _ => format!("p = {}", pval(p)),
    }
}

/// Font sizes in pixels (plotters' size; the em is about size / 1.16).
pub mod size {
    /// Body text: study labels, numbers.
    pub const BODY: f64 = 17.0;
    /// Secondary text: footers, tick labels, legends.
    pub const SMALL: f64 = 15.0;
    /// Section headings in the report.
    pub const HEADING: f64 = 21.0;
    /// The report's title.
    pub const TITLE: f64 = 32.0;
}

/// The palette (colour-blind safe; ink is near-black for print).
pub mod colour {
    use super::RGBColor;
    /// Text and axes.
    pub const INK: RGBColor = RGBColor(33, 37, 41);
    /// Secondary text.
    pub const MUTED: RGBColor = RGBColor(95, 99, 104);
    /// Rules and grid lines.
    pub const RULE: RGBColor = RGBColor(206, 212, 218);
    /// Study squares and whiskers.
    pub const STUDY: RGBColor = RGBColor(0, 90, 160);
    /// Studies carrying confound flags.
    pub const FLAGGED: RGBColor = RGBColor(213, 94, 0);
    /// Pooled diamonds.
    pub const POOLED: RGBColor = RGBColor(33, 37, 41);
    /// Subgroup diamonds.
    pub const SUBTOTAL: RGBColor = RGBColor(110, 117, 125);
    /// Prediction-interval bar.
    pub const PI: RGBColor = RGBColor(120, 126, 133);
    /// Panel backgrounds in the report.
    pub const PANEL: RGBColor = RGBColor(243, 245, 247);
    /// Funnel-plot pseudo-confidence region.
    pub const FUNNEL: RGBColor = RGBColor(232, 238, 244);
    /// White.
    pub const WHITE: RGBColor = RGBColor(255, 255, 255);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_use_a_real_minus_and_no_negative_zero() {
        assert_eq!(num(-0.0412, 2), "\u{2212}0.04");
        assert_eq!(num(-0.001, 2), "0.00");
        assert_eq!(num(0.5, 1), "0.5");
    }

    #[test]
    fn ellipsis_keeps_text_within_the_width() {
        let long = "A very long study label that cannot possibly fit into the column";
        let s = ellipsize(long, 16.0, false, 150.0);
        assert!(s.ends_with('…'));
        assert!(text_width(&s, 16.0, false) <= 150.0);
        assert_eq!(ellipsize("Walts", 16.0, false, 150.0), "Walts");
    }

    #[test]
    fn wrapping_respects_the_width() {
        let lines = wrap("one two three four five six seven eight", 16.0, false, 90.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(l, 16.0, false) <= 90.0));
    }
}
