//! The SVG surface: a plotters drawing backend that writes plain SVG shapes,
//! and text written as glyph outlines of the embedded DejaVu Sans.
//!
//! A viewer never needs a font: every glyph used is defined once in `<defs>`
//! as a `<path>` in font units (exactly the outline the PNG rasteriser
//! fills), and each piece of text is a `<g>` that places those glyphs with
//! `<use>` at the same pen positions (advances plus kerning) as the PNG. The
//! `<g>` carries the text in `aria-label`, so the SVG stays searchable and
//! screen readers read the words; there are no `<text>` elements at all, so
//! nothing depends on the viewer's fonts or whitespace handling.
//!
//! Shapes and text share one buffer and are written in drawing order, so the
//! SVG stacks exactly as the PNG does. Output is deterministic: glyph
//! definitions are sorted, numbers are formatted with fixed rules.

use super::style::{self, GlyphRun};
use plotters::style::RGBColor;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, DrawingBackend, DrawingErrorKind,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

/// The document being written: shapes and text in drawing order, plus the
/// glyph outlines they use.
#[derive(Debug, Default)]
pub struct SvgSink {
    body: String,
    /// (bold, glyph id) → path data in font units (y up).
    glyphs: BTreeMap<(bool, u16), String>,
}

/// The sink shared by the backend (shapes) and the canvas (text).
pub type SharedSink = Rc<RefCell<SvgSink>>;

fn hex(c: (u8, u8, u8)) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Escape text for an attribute value.
fn escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// A coordinate with at most `d` decimals and no trailing zeros.
fn num(v: f64, d: usize) -> String {
    let s = format!("{v:.d$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

fn glyph_id(bold: bool, id: u16) -> String {
    format!("{}{id}", if bold { 'b' } else { 'r' })
}

impl SvgSink {
    /// Text with its pen starting at (`x`, `baseline`), in colour `c`.
    pub fn text(&mut self, s: &str, x: f32, baseline: f32, size: f64, bold: bool, c: RGBColor) {
        let run = GlyphRun::new(s, size, bold);
        let mut uses = String::new();
        for g in &run.glyphs {
            let d = self
                .glyphs
                .entry((bold, g.id))
                .or_insert_with(|| style::glyph_path(g.id, bold));
            if d.is_empty() {
                continue; // a space: advance only
            }
            uses.push_str("<use xlink:href=\"#");
            uses.push_str(&glyph_id(bold, g.id));
            if g.pen != 0.0 {
                let _ = write!(uses, "\" x=\"{}", num(f64::from(g.pen), 1));
            }
            uses.push_str("\"/>");
        }
        if uses.is_empty() {
            return;
        }
        let body = &mut self.body;
        body.push_str("<g aria-label=\"");
        escape(s, body);
        let k = run.scale;
        let _ = write!(
            body,
            "\" fill=\"{}\" transform=\"translate({} {}) scale({} {})\">{uses}</g>",
            hex((c.0, c.1, c.2)),
            num(f64::from(x), 2),
            num(f64::from(baseline), 2),
            num(k, 7),
            num(-k, 7)
        );
        body.push('\n');
    }

    /// The finished document of `width` × `height` pixels.
    pub fn finish(&self, width: u32, height: u32) -> String {
        let mut out = String::with_capacity(self.body.len() + 64 * self.glyphs.len() + 256);
        let _ = writeln!(
            out,
            "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
             xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">"
        );
        if !self.glyphs.is_empty() {
            out.push_str("<defs>\n");
            for ((bold, id), d) in self.glyphs.iter().filter(|(_, d)| !d.is_empty()) {
                let _ = writeln!(out, "<path id=\"{}\" d=\"{d}\"/>", glyph_id(*bold, *id));
            }
            out.push_str("</defs>\n");
        }
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }

    fn shape(&mut self, s: std::fmt::Arguments<'_>) {
        let _ = self.body.write_fmt(s);
        self.body.push('\n');
    }
}

/// Never produced: writing to a `String` cannot fail.
#[derive(Debug)]
pub struct SvgError;

impl std::fmt::Display for SvgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SVG output failed")
    }
}

impl std::error::Error for SvgError {}

/// The plotters backend of the SVG surface.
pub struct SvgBackend {
    sink: SharedSink,
    size: (u32, u32),
}

impl SvgBackend {
    /// A backend of `size` pixels writing into `sink`.
    pub fn new(sink: SharedSink, size: (u32, u32)) -> Self {
        SvgBackend { sink, size }
    }
}

type R = Result<(), DrawingErrorKind<SvgError>>;

fn points(pts: impl IntoIterator<Item = BackendCoord>) -> String {
    let mut s = String::new();
    for (x, y) in pts {
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = write!(s, "{x},{y}");
    }
    s
}

fn paint(c: BackendColor) -> String {
    if c.alpha >= 1.0 {
        format!("\"{}\"", hex(c.rgb))
    } else {
        format!("\"{}\" fill-opacity=\"{}\"", hex(c.rgb), num(c.alpha, 3))
    }
}

impl DrawingBackend for SvgBackend {
    type ErrorType = SvgError;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> R {
        Ok(())
    }

    fn present(&mut self) -> R {
        Ok(())
    }

    fn draw_pixel(&mut self, (x, y): BackendCoord, c: BackendColor) -> R {
        if c.alpha > 0.0 {
            self.sink.borrow_mut().shape(format_args!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\" fill={}/>",
                paint(c)
            ));
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(&mut self, a: BackendCoord, b: BackendCoord, s: &S) -> R {
        self.draw_path([a, b], s)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        s: &S,
        fill: bool,
    ) -> R {
        let c = s.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let (w, h) = (br.0 - ul.0, br.1 - ul.1);
        let mut sink = self.sink.borrow_mut();
        if fill {
            sink.shape(format_args!(
                "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\" fill={}/>",
                ul.0,
                ul.1,
                paint(c)
            ));
        } else {
            sink.shape(format_args!(
                "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>",
                f64::from(ul.0) + 0.5,
                f64::from(ul.1) + 0.5,
                hex(c.rgb),
                s.stroke_width()
            ));
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> R {
        let c = s.color();
        if c.alpha > 0.0 {
            self.sink.borrow_mut().shape(format_args!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>",
                points(path),
                hex(c.rgb),
                s.stroke_width()
            ));
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        (x, y): BackendCoord,
        r: u32,
        s: &S,
        fill: bool,
    ) -> R {
        let c = s.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let mut sink = self.sink.borrow_mut();
        if fill {
            sink.shape(format_args!(
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" fill={}/>",
                paint(c)
            ));
        } else {
            sink.shape(format_args!(
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>",
                hex(c.rgb),
                s.stroke_width()
            ));
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> R {
        let c = s.color();
        if c.alpha > 0.0 {
            self.sink.borrow_mut().shape(format_args!(
                "<polygon points=\"{}\" fill={}/>",
                points(vert),
                paint(c)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_never_negative_zero() {
        assert_eq!(num(12.0, 2), "12");
        assert_eq!(num(12.5, 2), "12.5");
        assert_eq!(num(-0.0001, 2), "0");
        assert_eq!(num(0.0071234567, 7), "0.0071235");
    }

    #[test]
    fn text_becomes_glyph_uses_with_the_words_in_aria_label() {
        let mut sink = SvgSink::default();
        sink.text("A & A", 10.0, 20.0, 17.0, false, RGBColor(0, 0, 0));
        let svg = sink.finish(100, 50);
        assert!(svg.contains("aria-label=\"A &amp; A\""), "{svg}");
        // Three inked glyphs (spaces have no outline), two distinct ones.
        assert_eq!(svg.matches("<use ").count(), 3);
        assert_eq!(svg.matches("<path id=").count(), 2);
        assert!(!svg.contains("<text"));
    }
}
