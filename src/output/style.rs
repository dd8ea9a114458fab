//! Sizes, colours, number formatting, the embedded font, and fitting text
//! into a width.
//!
//! The font (DejaVu Sans, regular and bold; licence in
//! `assets/fonts/LICENSE-DejaVu.txt`) is compiled into the binary with
//! `include_bytes!`. The same bytes measure text for the layouts, rasterise it
//! for PNG ([`for_each_glyph_pixel`]) and give the glyph outlines of the SVG
//! ([`GlyphRun`], [`glyph_path`]), so a column is exactly as wide as the
//! rendered labels in it and no drawing ever looks for fontconfig, a system
//! font or the viewer's fonts.
//!
//! [`fit_label`] fits a label into a column by measuring it: shrink, then
//! wrap, and (for study labels only, as a last resort) an ellipsis.

use ab_glyph::{Font, FontRef, OutlineCurve, PxScale, ScaleFont};
use plotters::style::RGBColor;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::OnceLock;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

fn font(bold: bool) -> &'static FontRef<'static> {
    &face(bold).font
}

/// The embedded font with the metrics layouts ask for again and again
/// memoised: glyph ids and advances of the ASCII characters (filled when
/// the font is first used) and the kerning of ASCII pairs (filled on first
/// use, from any thread). A report measures and draws tens of thousands of
/// characters; looking each up in the font's tables was about 8% of it.
/// Values are the font's own, so widths and positions are unchanged.
struct Face {
    font: FontRef<'static>,
    ids: [ab_glyph::GlyphId; 128],
    /// Unscaled advance per ASCII character.
    advances: [f32; 128],
    /// Unscaled kerning of ASCII pair (a, b) at `a * 128 + b`, as f32
    /// bits; [`UNKNOWN`] until first asked for.
    kerns: Box<[std::sync::atomic::AtomicU32]>,
}

/// A kerning not looked up yet (a NaN the font never gives).
const UNKNOWN: u32 = u32::MAX;

impl Face {
    fn new(bytes: &'static [u8]) -> Face {
        let font = FontRef::try_from_slice(bytes).expect("embedded font parses");
        let ids: [ab_glyph::GlyphId; 128] =
            std::array::from_fn(|c| font.glyph_id(char::from(c as u8)));
        let advances = ids.map(|id| font.h_advance_unscaled(id));
        let kerns = (0..128 * 128)
            .map(|_| std::sync::atomic::AtomicU32::new(UNKNOWN))
            .collect();
        Face {
            font,
            ids,
            advances,
            kerns,
        }
    }

    /// Glyph id and unscaled advance of `c`.
    #[inline]
    fn glyph(&self, c: char) -> (ab_glyph::GlyphId, f32) {
        match usize::try_from(u32::from(c)) {
            Ok(i) if i < 128 => (self.ids[i], self.advances[i]),
            _ => {
                let id = self.font.glyph_id(c);
                (id, self.font.h_advance_unscaled(id))
            }
        }
    }

    /// Unscaled kerning between `a` then `b` (characters and their glyphs).
    #[inline]
    fn kern(&self, a: (char, ab_glyph::GlyphId), b: (char, ab_glyph::GlyphId)) -> f32 {
        use std::sync::atomic::Ordering::Relaxed;
        let (ca, cb) = (u32::from(a.0) as usize, u32::from(b.0) as usize);
        if ca >= 128 || cb >= 128 {
            return self.font.kern_unscaled(a.1, b.1);
        }
        let slot = &self.kerns[ca * 128 + cb];
        match slot.load(Relaxed) {
            UNKNOWN => {
                let k = self.font.kern_unscaled(a.1, b.1);
                slot.store(k.to_bits(), Relaxed);
                k
            }
            bits => f32::from_bits(bits),
        }
    }
}

/// Each character of `text` as (byte index, glyph, unscaled kerning with the
/// character before it (None for the first), unscaled advance): the one
/// walk along a line that measuring ([`text_width`], `fitting_prefix`),
/// rasterising ([`for_each_glyph_pixel`]) and the SVG layout
/// ([`GlyphRun`]) share, so all four place every glyph alike.
fn glyphs<'a>(
    face: &'a Face,
    text: &'a str,
) -> impl Iterator<Item = (usize, ab_glyph::GlyphId, Option<f32>, f32)> + 'a {
    let mut prev = None;
    text.char_indices().map(move |(i, c)| {
        let (g, adv) = face.glyph(c);
        let kern = prev.map(|p| face.kern(p, (c, g)));
        prev = Some((c, g));
        (i, g, kern, adv)
    })
}

fn face(bold: bool) -> &'static Face {
    static FACES: OnceLock<(Face, Face)> = OnceLock::new();
    let (r, b) = FACES.get_or_init(|| (Face::new(REGULAR), Face::new(BOLD)));
    if bold { b } else { r }
}

/// The face and its pixels per font unit at `size`, computed as ab_glyph's
/// `h_scale_factor` (so `sf * advance` is its `h_advance` to the bit).
fn scaled(size: f64, bold: bool) -> (&'static Face, f32) {
    let face = face(bold);
    let sf = face
        .font
        .as_scaled(PxScale::from(size as f32))
        .h_scale_factor();
    (face, sf)
}

/// Width in pixels of `text` drawn at `size` (plotters' size: the font's
/// ascent-to-descent height in pixels), measured exactly as plotters lays it
/// out (advances plus kerning).
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let (face, sf) = scaled(size, bold);
    let mut w = 0f32;
    for (_, _, kern, adv) in glyphs(face, text) {
        w += sf * adv;
        if let Some(k) = kern {
            w += sf * k;
        }
    }
    f64::from(w)
}

/// Pen positions are rounded to this fraction of a pixel before a glyph is
/// rasterised, so each glyph is rasterised once per size, weight and
/// quarter-pixel phase and then copied (FreeType-style sub-pixel
/// positioning). The shift is at most 1/8 px.
const SUBPIXEL_STEPS: f32 = 4.0;

/// One glyph's coverage, rasterised once: `cov` is `w` × `h`, row-major, its
/// top-left pixel at (`dx`, `dy`) from the whole-pixel pen position on the
/// baseline.
struct GlyphBitmap {
    dx: i32,
    dy: i32,
    w: usize,
    cov: Vec<f32>,
}

/// Key of a rasterised glyph: id, size (f32 bits), bold, sub-pixel phase.
type GlyphKey = (u16, u32, bool, u8);

thread_local! {
    /// Glyph coverage per thread (the report draws its figures on two
    /// threads); a few hundred entries for a whole report.
    static GLYPHS: std::cell::RefCell<std::collections::HashMap<GlyphKey, Option<std::rc::Rc<GlyphBitmap>>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The coverage of glyph `id` at `size` with its pen `phase` / 4 px right of
/// a whole pixel, rasterised on first use.
fn glyph_bitmap(
    f: &ab_glyph::PxScaleFont<&FontRef<'static>>,
    id: ab_glyph::GlyphId,
    bold: bool,
    phase: u8,
) -> Option<std::rc::Rc<GlyphBitmap>> {
    let key = (id.0, f.scale().x.to_bits(), bold, phase);
    GLYPHS.with(|cache| {
        if let Some(hit) = cache.borrow().get(&key) {
            return hit.clone();
        }
        let pen = f32::from(phase) / SUBPIXEL_STEPS;
        let glyph = id.with_scale_and_position(f.scale(), ab_glyph::point(pen, 0.0));
        let bitmap = f.outline_glyph(glyph).map(|outline| {
            let b = outline.px_bounds();
            let w = b.width() as usize;
            let mut cov = vec![0f32; w * b.height() as usize];
            outline.draw(|gx, gy, c| cov[gy as usize * w + gx as usize] = c);
            std::rc::Rc::new(GlyphBitmap {
                dx: b.min.x as i32,
                dy: b.min.y as i32,
                w,
                cov,
            })
        });
        cache.borrow_mut().insert(key, bitmap.clone());
        bitmap
    })
}

/// Call `pixel(x, y, coverage)` for every pixel of `text` drawn with its
/// pen starting at (`x`, `baseline`); pixels of zero coverage are skipped.
pub fn for_each_glyph_pixel(
    text: &str,
    size: f64,
    bold: bool,
    x: f32,
    baseline: i32,
    mut pixel: impl FnMut(i32, i32, f32),
) {
    let f = font(bold).as_scaled(PxScale::from(size as f32));
    let (face, sf) = scaled(size, bold);
    let mut pen = x;
    for (_, id, kern, adv) in glyphs(face, text) {
        if let Some(k) = kern {
            pen += sf * k;
        }
        let steps = (pen * SUBPIXEL_STEPS).round();
        let whole = (steps / SUBPIXEL_STEPS).floor();
        let phase = (steps - whole * SUBPIXEL_STEPS) as u8;
        if let Some(g) = glyph_bitmap(&f, id, bold, phase).filter(|g| g.w > 0) {
            let (x0, y0) = (whole as i32 + g.dx, baseline + g.dy);
            for (row, line) in g.cov.chunks_exact(g.w).enumerate() {
                for (col, &c) in line.iter().enumerate() {
                    if c > 0.0 {
                        pixel(x0 + col as i32, y0 + row as i32, c);
                    }
                }
            }
        }
        pen += sf * adv;
    }
}

/// One glyph of a [`GlyphRun`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlacedGlyph {
    /// Glyph id in the embedded font.
    pub id: u16,
    /// Pen x in font units from the start of the run (advances plus kerning).
    pub pen: f32,
}

/// Text laid out with the embedded font in font units: the glyphs and their
/// pen positions, and the pixels per font unit at the drawn size. The SVG
/// places glyph outlines with it; the positions equal the PNG's.
#[derive(Debug, Clone, PartialEq)]
pub struct GlyphRun {
    /// Pixels per font unit at the drawn size.
    pub scale: f64,
    /// Glyphs in order (spaces included; they have no outline).
    pub glyphs: Vec<PlacedGlyph>,
}

impl GlyphRun {
    /// Lay out `text` at `size` (plotters' size: ascent-to-descent height in
    /// pixels).
    pub fn new(text: &str, size: f64, bold: bool) -> Self {
        let (face, sf) = scaled(size, bold);
        let mut pen = 0f32;
        let mut placed = Vec::with_capacity(text.len());
        for (_, id, kern, adv) in glyphs(face, text) {
            if let Some(k) = kern {
                pen += k;
            }
            placed.push(PlacedGlyph { id: id.0, pen });
            pen += adv;
        }
        GlyphRun {
            scale: f64::from(sf),
            glyphs: placed,
        }
    }
}

/// The outline of glyph `id` as SVG path data in font units (y up, as in the
/// font); empty for a glyph without an outline (a space).
pub fn glyph_path(id: u16, bold: bool) -> String {
    let Some(outline) = font(bold).outline(ab_glyph::GlyphId(id)) else {
        return String::new();
    };
    let mut d = String::new();
    let mut pen: Option<ab_glyph::Point> = None;
    let n = |v: f32| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    for c in &outline.curves {
        let (p0, end) = match c {
            OutlineCurve::Line(a, b)
            | OutlineCurve::Quad(a, _, b)
            | OutlineCurve::Cubic(a, _, _, b) => (*a, *b),
        };
        if pen != Some(p0) {
            if pen.is_some() {
                d.push('Z');
            }
            let _ = write!(d, "M{} {}", n(p0.x), n(p0.y));
        }
        match c {
            OutlineCurve::Line(_, b) => {
                if *b != p0 {
                    let _ = write!(d, "L{} {}", n(b.x), n(b.y));
                }
            }
            OutlineCurve::Quad(_, q, b) => {
                let _ = write!(d, "Q{} {} {} {}", n(q.x), n(q.y), n(b.x), n(b.y));
            }
            OutlineCurve::Cubic(_, q, r, b) => {
                let _ = write!(
                    d,
                    "C{} {} {} {} {} {}",
                    n(q.x),
                    n(q.y),
                    n(r.x),
                    n(r.y),
                    n(b.x),
                    n(b.y)
                );
            }
        }
        pen = Some(end);
    }
    if pen.is_some() {
        d.push('Z');
    }
    d
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

/// Byte length of the longest prefix of `text` no wider than `max_w` (at
/// least one character when `text` is not empty), measured in one pass that
/// stops at the first character that overflows. Widths are summed exactly as
/// [`text_width`] sums them.
fn fitting_prefix(text: &str, size: f64, bold: bool, max_w: f64) -> usize {
    let (face, sf) = scaled(size, bold);
    let mut w = 0f32;
    for (i, _, kern, adv) in glyphs(face, text) {
        let mut next = w + sf * adv;
        if let Some(k) = kern {
            next += sf * k;
        }
        if i > 0 && f64::from(next) > max_w {
            return i;
        }
        w = next;
    }
    text.len()
}

/// Where a line may end after `start`, in order: before a space that ends a
/// word, after a hyphen between two letters ("Random-|effects"), and at the
/// end of the text (lazily: a caller that stops early pays only for what it
/// read).
fn line_ends(text: &str, start: usize) -> impl Iterator<Item = usize> + '_ {
    let mut it = text[start..].char_indices().peekable();
    let mut prev: Option<char> = None;
    let mut done = false;
    std::iter::from_fn(move || {
        while let Some((i, c)) = it.next() {
            let p = prev.replace(c);
            let next = it.peek().map(|x| x.1);
            if c == ' ' && p.is_some_and(|p| p != ' ') {
                return Some(start + i);
            }
            if c == '-'
                && p.is_some_and(char::is_alphabetic)
                && next.is_some_and(char::is_alphabetic)
            {
                return Some(start + i + 1);
            }
        }
        if done || prev.is_none_or(|p| p == ' ') {
            return None;
        }
        done = true;
        Some(text.len())
    })
}

/// Break `text` into lines no wider than `max_w` at spaces and after
/// hyphens inside words; a piece with no such break that is still too wide
/// is broken between characters when `hard`, else left on a line of its own.
/// Stops after `limit` lines (the last one then holds the rest). Returns byte
/// ranges into `text`. Each line costs one pass over about its own length.
fn break_lines(
    text: &str,
    size: f64,
    bold: bool,
    max_w: f64,
    hard: bool,
    limit: usize,
) -> Vec<(usize, usize)> {
    let skip = |i: usize| i + text[i..].len() - text[i..].trim_start_matches(' ').len();
    let mut out = Vec::new();
    let mut start = skip(0);
    while start < text.len() {
        if out.len() + 1 == limit {
            out.push((start, text.trim_end_matches(' ').len()));
            break;
        }
        // Everything up to `cap` fits; no end beyond it does.
        let cap = start + fitting_prefix(&text[start..], size, bold, max_w);
        let mut best = None;
        let mut first = None;
        for e in line_ends(text, start) {
            first.get_or_insert(e);
            if e > cap {
                break;
            }
            best = Some(e);
        }
        let end = match (best, first) {
            (Some(e), _) => e,
            (None, Some(e)) if !hard => e,
            (None, _) => cap,
        };
        out.push((start, end));
        start = skip(end);
    }
    out
}

/// Like [`wrap`], but lines may also end after a hyphen inside a word, and a
/// piece still wider than `max_w` is broken between characters, so that every
/// line fits (no text is lost, none overflows).
pub fn wrap_hard(text: &str, size: f64, bold: bool, max_w: f64) -> Vec<String> {
    break_lines(text, size, bold, max_w, true, usize::MAX)
        .into_iter()
        .map(|(a, b)| text[a..b].trim_end().to_string())
        .collect()
}

/// Which fitting rules a label follows ([`fit_label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// A study label: shrink, then wrap onto at most `max_lines` lines, then
    /// (last resort) an ellipsis on the last line.
    Study {
        /// Most lines the label may take.
        max_lines: usize,
    },
    /// A summary label (pooled rows, subgroup and study headings, footers):
    /// shrink, then wrap onto as many lines as it needs; never shortened.
    Summary,
}

/// A label fitted into a width: its lines and the size they are drawn at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitted {
    /// Lines, top to bottom (one unless wrapped).
    pub lines: Vec<String>,
    /// Font size of every line.
    pub size: f64,
    /// The last line ends in an ellipsis (only ever for study labels).
    pub shortened: bool,
}

/// Fit `text` (drawn at `size`) into `max_w` pixels by measuring it with the
/// embedded font, taking the first of these that fits:
///
/// 1. the text as it is;
/// 2. shrunk, down to `min_size` at most;
/// 3. wrapped at spaces and after hyphens inside words, at `size`, then at
///    `min_size` (a study label onto at most its `max_lines`);
/// 4. a summary label: wrapped at `min_size` with over-long words broken
///    between characters; a study label: its `max_lines` at `min_size`, the
///    last ending in "…" (the only case that loses text).
pub fn fit_label(text: &str, size: f64, bold: bool, max_w: f64, min_size: f64, fit: Fit) -> Fitted {
    let text = text.trim();
    let done = |lines: Vec<String>, s: f64, shortened: bool| Fitted {
        lines,
        size: s,
        shortened,
    };
    let w = text_width(text, size, bold);
    if w <= max_w {
        return done(vec![text.to_string()], size, false);
    }
    // Width is proportional to size; step down in 0.05 px so the result is
    // reproducible and fits.
    let mut s = (size * max_w / w * 20.0).floor() / 20.0;
    while s >= min_size && text_width(text, s, bold) > max_w {
        s -= 0.05;
    }
    if s >= min_size {
        return done(vec![text.to_string()], s, false);
    }
    let max_lines = match fit {
        Fit::Summary => usize::MAX,
        Fit::Study { max_lines } => max_lines.max(1),
    };
    let lines_at = |s: f64, hard: bool, limit: usize| -> Vec<String> {
        break_lines(text, s, bold, max_w, hard, limit)
            .into_iter()
            .map(|(a, b)| text[a..b].trim_end().to_string())
            .collect()
    };
    for s in [size, min_size] {
        // One line more than allowed tells "does not fit" without wrapping
        // the whole of a very long label.
        let lines = lines_at(s, false, max_lines.saturating_add(1));
        if lines.len() <= max_lines && lines.iter().all(|l| text_width(l, s, bold) <= max_w) {
            return done(lines, s, false);
        }
    }
    match fit {
        Fit::Summary => done(lines_at(min_size, true, usize::MAX), min_size, false),
        Fit::Study { .. } => {
            let mut lines = lines_at(min_size, true, max_lines);
            let last = lines.pop().unwrap_or_default();
            // Only the part that fits can survive the ellipsis: cut there
            // (plus one character) before ellipsize's bisection.
            let cap = fitting_prefix(&last, min_size, bold, max_w);
            let shortened = cap < last.len();
            if shortened {
                let next = last[cap..].chars().next().map_or(0, char::len_utf8);
                lines.push(ellipsize(&last[..cap + next], min_size, bold, max_w));
            } else {
                lines.push(last);
            }
            done(lines, min_size, shortened)
        }
    }
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
    /// The smallest size a plot label is shrunk to before it is wrapped
    /// (82% of [`BODY`]).
    pub const MIN_LABEL: f64 = 14.0;
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
    /// Shading of every other cluster (study) in a three-level forest plot.
    pub const BAND: RGBColor = RGBColor(236, 240, 244);
    /// Cluster brackets in a three-level forest plot.
    pub const BRACKET: RGBColor = RGBColor(134, 142, 150);
    /// White.
    pub const WHITE: RGBColor = RGBColor(255, 255, 255);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached glyph coverage equals rasterising each glyph afresh with
    /// ab_glyph at the pen position rounded to a quarter pixel, for both
    /// weights, several sizes and pen phases, and repeated calls (cache
    /// hits) draw the same pixels as the first.
    #[test]
    fn cached_glyphs_equal_fresh_rasterisation() {
        let text = "Walts (women) −0.04 [0.26; Åg]";
        for bold in [false, true] {
            for size in [11.0, 13.5, 20.0] {
                for x in [10.0f32, 10.13, 10.3, 10.49, 10.5, 10.88, 10.99] {
                    let mut ours = Vec::new();
                    for_each_glyph_pixel(text, size, bold, x, 40, |px, py, c| {
                        ours.push((px, py, c.to_bits()))
                    });
                    let mut again = Vec::new();
                    for_each_glyph_pixel(text, size, bold, x, 40, |px, py, c| {
                        again.push((px, py, c.to_bits()))
                    });
                    assert_eq!(ours, again, "a cache hit draws other pixels");
                    let f = font(bold).as_scaled(PxScale::from(size as f32));
                    let mut fresh = Vec::new();
                    let (mut pen, mut prev) = (x, None);
                    for ch in text.chars() {
                        let id = f.glyph_id(ch);
                        if let Some(p) = prev {
                            pen += f.kern(p, id);
                        }
                        let at = (pen * SUBPIXEL_STEPS).round() / SUBPIXEL_STEPS;
                        assert!((at - pen).abs() <= 0.125 + 1e-6);
                        let g = id.with_scale_and_position(f.scale(), ab_glyph::point(at, 40.0));
                        if let Some(o) = f.outline_glyph(g) {
                            let b = o.px_bounds();
                            o.draw(|gx, gy, c| {
                                if c > 0.0 {
                                    fresh.push((
                                        b.min.x as i32 + gx as i32,
                                        b.min.y as i32 + gy as i32,
                                        c.to_bits(),
                                    ))
                                }
                            });
                        }
                        pen += f.h_advance(id);
                        prev = Some(id);
                    }
                    assert_eq!(ours, fresh, "size {size}, bold {bold}, x {x}");
                }
            }
        }
    }

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

    fn no_spaces(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn fitting_shrinks_then_wraps_then_shortens_a_study_label() {
        let study = Fit::Study { max_lines: 2 };
        let fit = |t: &str, w: f64| fit_label(t, 17.0, false, w, 14.0, study);
        // Fits: unchanged.
        let f = fit("Walts 2008", 200.0);
        assert_eq!((f.lines.len(), f.size, f.shortened), (1, 17.0, false));
        // 10% too wide: shrunk onto one line.
        let t = "Frimodt-Moller et al 1973";
        let w = text_width(t, 17.0, false) / 1.1;
        let f = fit(t, w);
        assert_eq!(f.lines, [t]);
        assert!(f.size < 17.0 && f.size >= 14.0 && text_width(t, f.size, false) <= w);
        // Needs two lines: wrapped at full size, nothing lost.
        let f = fit(t, 130.0);
        assert_eq!((f.lines.len(), f.size, f.shortened), (2, 17.0, false));
        assert_eq!(no_spaces(&f.lines.concat()), no_spaces(t));
        // Needs more than two lines even at 14 px: two lines, then "…".
        let long = "Frimodt-Moller and the Madras tuberculosis prevention team 1973";
        let f = fit(long, 90.0);
        assert_eq!((f.lines.len(), f.size, f.shortened), (2, 14.0, true));
        assert!(f.lines[1].ends_with('…'));
        assert!(f.lines.iter().all(|l| text_width(l, 14.0, false) <= 90.0));
    }

    #[test]
    fn a_summary_label_is_never_shortened() {
        let t = "Random-effects model (k = 13)";
        for w in [60.0, 90.0, 120.0, 200.0, 260.0, 400.0] {
            let f = fit_label(t, 17.0, true, w, 14.0, Fit::Summary);
            assert!(!f.shortened);
            assert_eq!(no_spaces(&f.lines.concat()), no_spaces(t), "{w}: {f:?}");
            assert!(f.lines.iter().all(|l| text_width(l, f.size, true) <= w));
        }
        // Lines end after hyphens inside words before words are cut.
        let f = fit_label(t, 17.0, true, 120.0, 14.0, Fit::Summary);
        assert_eq!(f.lines[0], "Random-");
        // One 16,000-character word (issue #15's size): broken between
        // characters, every line fits, in one pass per line.
        let word = "L".repeat(16_000);
        let f = fit_label(&word, 17.0, true, 300.0, 14.0, Fit::Summary);
        assert_eq!(f.lines.concat(), word);
        assert!(f.lines.iter().all(|l| text_width(l, 14.0, true) <= 300.0));
        let f = fit_label(&word, 17.0, false, 300.0, 14.0, Fit::Study { max_lines: 2 });
        assert!(f.shortened && f.lines.len() == 2);
    }

    #[test]
    fn glyph_runs_match_the_measured_width() {
        let t = "Walts 2008 (women) AV";
        let run = GlyphRun::new(t, 17.0, false);
        let last = run.glyphs.last().unwrap();
        let f = font(false);
        let end = f64::from(last.pen + f.h_advance_unscaled(ab_glyph::GlyphId(last.id)));
        assert!((end * run.scale - text_width(t, 17.0, false)).abs() < 1e-3);
        assert!(glyph_path(f.glyph_id(' ').0, false).is_empty());
        let o = glyph_path(f.glyph_id('o').0, false);
        assert_eq!(o.matches('M').count(), 2, "outer and inner contour: {o}");
    }

    #[test]
    fn wrapping_respects_the_width() {
        let lines = wrap("one two three four five six seven eight", 16.0, false, 90.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(l, 16.0, false) <= 90.0));
    }
}
