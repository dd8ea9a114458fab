//! Drawing surfaces: a thin pixel-coordinate canvas over plotters' bitmap
//! backend (encoded to PNG with the `png` crate) and our SVG backend
//! ([`super::svg`]).
//!
//! Layouts give every coordinate in pixels, text positions as baselines;
//! [`Canvas`] turns them into drawing calls, so the PNG and the SVG of one
//! layout are drawn by the same code. Text never goes through plotters: the
//! PNG gets the embedded font's glyphs rasterised at quarter-pixel pen
//! positions (each glyph once per size, weight and phase, then copied), the
//! SVG gets the same glyphs as outlines at the exact pen positions (at most
//! 1/8 px apart). A PNG is drawn and encoded in horizontal bands
//! ([`render_png`]), so its memory is two bands, not the picture.
//! Rendering is deterministic: no timestamps, no system fonts, a fixed PNG
//! encoder configuration.

use super::style::{self, colour};
use super::svg::{SharedSink, SvgBackend, SvgSink};
use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters_backend::{BackendStyle, DrawingErrorKind};
use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;

/// Horizontal text anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// x is the left end.
    Left,
    /// x is the centre.
    Center,
    /// x is the right end.
    Right,
}

/// A drawing backend plus an origin offset, in pixels.
///
/// Shapes go straight to the backend, not through a plotters
/// `DrawingArea`: an area moves every point that lies outside it onto its
/// edge, which bends a line that leaves the area, while the backend's
/// rasterisers clip it pixel by pixel. Banded drawing ([`render_png`])
/// depends on that.
pub struct Canvas<'a, DB: DrawingBackend> {
    backend: &'a RefCell<DB>,
    /// The SVG document when drawing SVG (text goes straight into it, in
    /// order with the shapes); None for PNG.
    svg: Option<SharedSink>,
    dx: i32,
    dy: i32,
    what: &'static str,
}

fn err<E: std::error::Error + Send + Sync>(what: &str, e: DrawingErrorKind<E>) -> Error {
    Error::Render {
        what: what.to_string(),
        message: e.to_string(),
    }
}

impl<'a, DB: DrawingBackend> Canvas<'a, DB> {
    /// The same canvas with its origin moved by (dx, dy).
    pub fn offset(&self, dx: i32, dy: i32) -> Canvas<'a, DB> {
        Canvas {
            backend: self.backend,
            svg: self.svg.clone(),
            dx: self.dx + dx,
            dy: self.dy + dy,
            what: self.what,
        }
    }

    fn p(&self, x: i32, y: i32) -> (i32, i32) {
        (x + self.dx, y + self.dy)
    }

    /// Whether rows `y0..=y1` (canvas coordinates) miss the pixels of this
    /// PNG band entirely, so a primitive there can be skipped (see
    /// [`render_png`]). Never for SVG, whose document keeps every element.
    fn off_band(&self, y0: i32, y1: i32) -> bool {
        if self.svg.is_some() {
            return false;
        }
        let (_, h) = self.backend.borrow().get_size();
        y1 + self.dy < 0 || y0 + self.dy >= h as i32
    }

    /// Text with its baseline at `y`.
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &self,
        s: &str,
        x: i32,
        y: i32,
        size: f64,
        bold: bool,
        anchor: Anchor,
        c: RGBColor,
    ) -> Result<()> {
        if s.is_empty() {
            return Ok(());
        }
        let Some(svg) = &self.svg else {
            // Glyphs reach at most `size` above the baseline (accents
            // included) and less below it; twice that is a safe margin.
            let reach = (2.0 * size).ceil() as i32;
            if self.off_band(y - reach, y + reach) {
                return Ok(());
            }
            return self.raster_text(s, x, y, size, bold, anchor, c);
        };
        let (px, py) = self.p(x, y);
        let start = pen_start(s, px, size, bold, anchor);
        svg.borrow_mut().text(s, start, py as f32, size, bold, c);
        Ok(())
    }

    /// Rasterise text with the embedded font at quarter-pixel pen positions.
    ///
    /// plotters 0.3.7's ab_glyph path truncates every glyph's x and y offset
    /// to whole pixels and drops the left side bearing, which makes letters
    /// wobble ("m en", raised full stops); drawing the coverage ourselves
    /// keeps kerning and baselines exact.
    #[allow(clippy::too_many_arguments)]
    fn raster_text(
        &self,
        s: &str,
        x: i32,
        y: i32,
        size: f64,
        bold: bool,
        anchor: Anchor,
        c: RGBColor,
    ) -> Result<()> {
        let start = pen_start(s, x, size, bold, anchor);
        let mut backend = self.backend.borrow_mut();
        let mut result = Ok(());
        style::for_each_glyph_pixel(s, size, bold, start, y, |px, py, cov| {
            if result.is_ok() {
                let col = c.mix(f64::from(cov.min(1.0)));
                result = backend
                    .draw_pixel(self.p(px, py), col.to_backend_color())
                    .map_err(|e| err(self.what, e));
            }
        });
        result
    }

    /// [`Self::off_band`] for the rows of `pts` widened by `margin`.
    fn off_ys(&self, pts: &[(i32, i32)], margin: i32) -> bool {
        let lo = pts.iter().map(|p| p.1).min();
        let hi = pts.iter().map(|p| p.1).max();
        match (lo, hi) {
            (Some(lo), Some(hi)) => self.off_band(lo - margin, hi + margin),
            _ => false,
        }
    }

    /// A polyline.
    pub fn line(&self, pts: &[(i32, i32)], c: RGBColor, width: u32) -> Result<()> {
        if self.off_ys(pts, width as i32 + 1) {
            return Ok(());
        }
        if width != 1 {
            let pts = pts.iter().map(|&(x, y)| self.p(x, y));
            return self
                .backend
                .borrow_mut()
                .draw_path(pts, &Color::stroke_width(&c, width))
                .map_err(|e| err(self.what, e));
        }
        let mut backend = self.backend.borrow_mut();
        for seg in pts.windows(2) {
            let (a, b) = (self.p(seg[0].0, seg[0].1), self.p(seg[1].0, seg[1].1));
            if a.0 == b.0 || a.1 == b.1 {
                backend.draw_line(a, b, &c)
            } else {
                thin_line(&mut *backend, a, b, c)
            }
            .map_err(|e| err(self.what, e))?;
        }
        Ok(())
    }

    /// A dotted vertical line from y0 to y1.
    pub fn dotted_vline(&self, x: i32, y0: i32, y1: i32, c: RGBColor) -> Result<()> {
        if self.off_band(y0, y1) {
            return Ok(());
        }
        let mut y = y0;
        while y < y1 {
            self.rect(x, y, x + 1, (y + 2).min(y1), c)?;
            y += 5;
        }
        Ok(())
    }

    /// A filled rectangle (corners inclusive-exclusive).
    pub fn rect(&self, x0: i32, y0: i32, x1: i32, y1: i32, c: RGBColor) -> Result<()> {
        if self.off_band(y0.min(y1), y0.max(y1)) {
            return Ok(());
        }
        self.draw_rect(self.p(x0, y0), self.p(x1, y1), &c.filled(), true)
    }

    /// A rectangle outline.
    pub fn frame(&self, x0: i32, y0: i32, x1: i32, y1: i32, c: RGBColor) -> Result<()> {
        if self.off_band(y0.min(y1) - 1, y0.max(y1)) {
            return Ok(());
        }
        self.draw_rect(
            self.p(x0, y0),
            self.p(x1 - 1, y1 - 1),
            &Color::stroke_width(&c, 1),
            false,
        )
    }

    /// A filled polygon.
    pub fn polygon(&self, pts: &[(i32, i32)], c: RGBColor) -> Result<()> {
        if self.off_ys(pts, 1) {
            return Ok(());
        }
        let pts = pts.iter().map(|&(x, y)| self.p(x, y));
        self.backend
            .borrow_mut()
            .fill_polygon(pts, &c.to_backend_color())
            .map_err(|e| err(self.what, e))
    }

    /// A rectangle between two corners (both inclusive, as plotters draws
    /// its `Rectangle` element).
    fn draw_rect(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        style: &impl BackendStyle,
        fill: bool,
    ) -> Result<()> {
        let (lo, hi) = ((a.0.min(b.0), a.1.min(b.1)), (a.0.max(b.0), a.1.max(b.1)));
        self.backend
            .borrow_mut()
            .draw_rect(lo, hi, style, fill)
            .map_err(|e| err(self.what, e))
    }

    /// A filled circle.
    pub fn circle(&self, x: i32, y: i32, r: i32, c: RGBColor) -> Result<()> {
        if self.off_band(y - r - 1, y + r + 1) {
            return Ok(());
        }
        self.backend
            .borrow_mut()
            .draw_circle(self.p(x, y), r.max(0) as u32, &c.filled(), true)
            .map_err(|e| err(self.what, e))
    }
}

/// A slanted line one pixel wide, anti-aliased: the stepping of
/// plotters-backend's line rasteriser (two pixels per column, shaded by the
/// distance to the exact line) without its viewport shortcut, which moves
/// the start of a line that begins outside the picture and so shifts it by
/// a pixel. Every pixel goes through the backend's clipped `draw_pixel`.
fn thin_line<DB: DrawingBackend>(
    back: &mut DB,
    from: (i32, i32),
    to: (i32, i32),
    c: RGBColor,
) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
    let steep = (from.0 - to.0).abs() < (from.1 - to.1).abs();
    let flip = |p: (i32, i32)| if steep { (p.1, p.0) } else { p };
    let (a, b) = (flip(from), flip(to));
    let (a, b) = if a.0 > b.0 { (b, a) } else { (a, b) };
    let grad = f64::from(b.1 - a.1) / f64::from(b.0 - a.0);
    let colour = c.to_backend_color();
    let mut put = |x: i32, y: i32, cov: f64| back.draw_pixel(flip((x, y)), colour.mix(cov));
    // The last whole column plotters' stepping reaches before its tail.
    let steps = (f64::from(b.1 - a.1) / grad).floor() as i32;
    let last = b.0.min(a.0 + steps - 1);
    let mut y = f64::from(a.1);
    // `y.floor()`, not plotters' `y as i32`, which rounds towards zero and
    // so misplaces pixels above the picture's top (negative in a band).
    for x in a.0..=last {
        put(x, y.floor() as i32, 1.0 + y.floor() - y)?;
        put(x, y.floor() as i32 + 1, y - y.floor())?;
        y += grad;
    }
    if b.0 > last && y < f64::from(b.1) {
        let x = last + 1;
        if 1.0 + y.floor() - y > 1e-5 {
            put(x, y.floor() as i32, 1.0 + y.floor() - y)?;
        }
        if y - y.floor() > 1e-5 && y + 1.0 < f64::from(b.1) {
            put(x, y.floor() as i32 + 1, y - y.floor())?;
        }
    }
    Ok(())
}

/// Where the pen starts for `s` anchored at `x`.
fn pen_start(s: &str, x: i32, size: f64, bold: bool, anchor: Anchor) -> f32 {
    let width = style::text_width(s, size, bold);
    match anchor {
        Anchor::Left => x as f32,
        Anchor::Center => x as f32 - (width / 2.0) as f32,
        Anchor::Right => x as f32 - width as f32,
    }
}

/// Bytes of one band of a PNG drawing (see [`render_png`]): small enough to
/// stay in cache, and the page never needs its whole pixel buffer.
const BAND_BYTES: usize = 2 << 20;

/// Draw on a white `width` × `height` pixel canvas and encode it as PNG.
///
/// The picture is drawn in horizontal bands of about 2 MB: `draw`
/// runs once per band on a canvas shifted up by the band's top, whose
/// primitives skip what lies outside the band, and each finished band is
/// streamed to the encoder (on a second thread while the next band is
/// drawn). Memory stays at two bands, not the page (a whole 1400 × 5700 page
/// buffer cost more in page faults than its drawing). The pixels are those
/// of drawing the whole picture at once: every primitive has integer
/// coordinates and is clipped, not cut, at a band's edge.
pub fn render_png(
    width: u32,
    height: u32,
    what: &'static str,
    draw: impl Fn(&Canvas<'_, BitMapBackend<'_>>) -> Result<()>,
) -> Result<Vec<u8>> {
    let band_h = BAND_BYTES / (width as usize * 3).max(1);
    render_png_in_bands(width, height, band_h, what, draw)
}

/// [`render_png`] with bands of `band_h` rows.
fn render_png_in_bands(
    width: u32,
    height: u32,
    band_h: usize,
    what: &'static str,
    draw: impl Fn(&Canvas<'_, BitMapBackend<'_>>) -> Result<()>,
) -> Result<Vec<u8>> {
    let row = width as usize * 3;
    let band_h = band_h.clamp(1, height.max(1) as usize) as u32;
    let render_err = |message: String| Error::Render {
        what: what.to_string(),
        message,
    };
    // Draw band `top` into `buf` (white, `band_h` rows or fewer at the end).
    let draw_band = |buf: &mut Vec<u8>, top: u32| -> Result<()> {
        let h = band_h.min(height - top);
        buf.clear();
        buf.resize(row * h as usize, 255);
        let backend = RefCell::new(BitMapBackend::with_buffer(buf, (width, h)));
        let canvas = Canvas {
            backend: &backend,
            svg: None,
            dx: 0,
            dy: -(top as i32),
            what,
        };
        draw(&canvas)?;
        backend.borrow_mut().present().map_err(|e| err(what, e))
    };
    let tops: Vec<u32> = (0..height).step_by(band_h as usize).collect();
    let mut out = Vec::new();
    let enc = png_encoder(&mut out, width, height);
    let mut w = enc.write_header().map_err(|e| render_err(e.to_string()))?;
    let mut sw = w
        .stream_writer_with_size(1 << 18)
        .map_err(|e| render_err(e.to_string()))?;
    if tops.len() <= 1 {
        let mut buf = Vec::new();
        if let Some(&top) = tops.first() {
            draw_band(&mut buf, top)?;
        }
        sw.write_all(&buf).map_err(|e| render_err(e.to_string()))?;
    } else {
        use std::sync::mpsc::sync_channel;
        // Bands go to the encoder through `full` and come back through
        // `empty`; two buffers are in flight.
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(1);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(2);
        empty_tx.send(Vec::new()).expect("fresh channel has room");
        empty_tx.send(Vec::new()).expect("fresh channel has room");
        let encoded = std::thread::scope(|sc| {
            let encoder = sc.spawn(move || -> std::io::Result<()> {
                for band in full_rx {
                    sw.write_all(&band)?;
                    // The drawer may have stopped; then the buffer is dropped.
                    let _ = empty_tx.send(band);
                }
                sw.finish().map_err(std::io::Error::other)
            });
            let stopped = || render_err("the PNG encoder stopped".into());
            let drawn = tops.iter().try_for_each(|&top| {
                // The encoder returns every buffer unless it failed.
                let mut buf = empty_rx.recv().map_err(|_| stopped())?;
                draw_band(&mut buf, top)?;
                full_tx.send(buf).map_err(|_| stopped())
            });
            drop(full_tx);
            let encoded = encoder
                .join()
                .map_err(|_| render_err("the PNG encoder thread panicked".into()))
                .and_then(|r| r.map_err(|e| render_err(e.to_string())));
            // The encoder's own error, when it failed, says more than the
            // drawer's "stopped".
            encoded.and(drawn)
        });
        encoded?;
        drop(w);
        return Ok(out);
    }
    sw.finish().map_err(|e| render_err(e.to_string()))?;
    drop(w);
    Ok(out)
}

/// Draw on an SVG document of `width` × `height` pixels (text as glyph
/// outlines of the embedded font; see [`super::svg`]).
pub fn render_svg(
    width: u32,
    height: u32,
    what: &'static str,
    draw: impl FnOnce(&Canvas<'_, SvgBackend>) -> Result<()>,
) -> Result<String> {
    let sink: SharedSink = Rc::new(RefCell::new(SvgSink::default()));
    {
        let backend = RefCell::new(SvgBackend::new(sink.clone(), (width, height)));
        // The white background, as plotters' `DrawingArea::fill` draws it.
        backend
            .borrow_mut()
            .draw_rect(
                (0, 0),
                (width as i32, height as i32),
                &colour::WHITE.to_backend_color(),
                true,
            )
            .map_err(|e| err(what, e))?;
        let canvas = Canvas {
            backend: &backend,
            svg: Some(sink.clone()),
            dx: 0,
            dy: 0,
            what,
        };
        draw(&canvas)?;
        backend.borrow_mut().present().map_err(|e| err(what, e))?;
    }
    let doc = sink.borrow().finish(width, height);
    Ok(doc)
}

/// A PNG encoder for RGB8 rows with a fixed configuration (no time or text
/// chunks, so equal pixels give equal bytes).
///
/// The Paeth filter on every row, not adaptive filtering: on the report page
/// (1400 × 5746 px, release build) it encoded in about 25 ms against 35 ms
/// for adaptive, for a file 7% larger.
fn png_encoder(out: &mut Vec<u8>, width: u32, height: u32) -> png::Encoder<'static, &mut Vec<u8>> {
    let mut enc = png::Encoder::new(out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Paeth);
    enc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every primitive, placed so that many cross band edges: filled and
    /// outlined rectangles, thick and thin lines, polygons, circles, dotted
    /// lines and text, some partly or wholly off the picture.
    fn picture(c: &Canvas<'_, BitMapBackend<'_>>) -> Result<()> {
        let ink = colour::INK;
        for i in 0..12 {
            let y = i * 9 - 7;
            c.rect(3 + i, y, 40 + i, y + 5, RGBColor(200, 30 + i as u8, 90))?;
            c.frame(50, y - 2, 90 - i, y + 7 + i, ink)?;
            c.line(
                &[(5, y), (95, y + 13), (60, y - 20)],
                ink,
                1 + (i % 3) as u32,
            )?;
            c.line(&[(10 + i, y - 30), (10 + i, y + 30)], ink, 1)?;
            c.polygon(&[(70, y), (80, y - 6), (90, y + 8)], RGBColor(20, 120, 200))?;
            c.circle(20 + 5 * i, y + 3, 1 + i % 5, RGBColor(0, 150, 0))?;
            c.dotted_vline(97 - i, y - 10, y + 25, ink)?;
            c.text(
                "Ågb (x) 12",
                2 + 3 * i,
                y + 6,
                11.0 + i as f64,
                i % 2 == 0,
                Anchor::Left,
                ink,
            )?;
        }
        Ok(())
    }

    /// Drawing in bands of any height gives exactly the pixels (and so the
    /// bytes) of drawing the picture in one band: clipping at a band edge
    /// never adds or loses a pixel.
    #[test]
    fn bands_give_the_pixels_of_one_band() {
        let (w, h) = (100, 90);
        let whole = render_png_in_bands(w, h, h as usize, "test", picture).unwrap();
        for band_h in 1..h as usize {
            let banded = render_png_in_bands(w, h, band_h, "test", picture).unwrap();
            assert!(
                banded == whole,
                "bands of {band_h} rows differ from one band"
            );
        }
    }
}
