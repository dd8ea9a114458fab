//! Drawing surfaces: a thin pixel-coordinate canvas over plotters' bitmap
//! backend (encoded to PNG with the `png` crate) and our SVG backend
//! ([`super::svg`]).
//!
//! Layouts give every coordinate in pixels, text positions as baselines;
//! [`Canvas`] turns them into drawing calls, so the PNG and the SVG of one
//! layout are drawn by the same code. Text never goes through plotters: the
//! PNG gets the embedded font's glyphs rasterised at sub-pixel pen
//! positions, the SVG gets the same glyphs as outlines at the same positions.
//! Rendering is deterministic: no timestamps, no system fonts, a fixed PNG
//! encoder configuration.

use super::style::{self, colour};
use super::svg::{SharedSink, SvgBackend, SvgSink};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::cell::RefCell;
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

/// A drawing area plus an origin offset, in pixels.
pub struct Canvas<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    /// The SVG document when drawing SVG (text goes straight into it, in
    /// order with the shapes); None for PNG.
    svg: Option<SharedSink>,
    dx: i32,
    dy: i32,
    what: &'static str,
}

fn err<E: std::error::Error + Send + Sync>(what: &str, e: DrawingAreaErrorKind<E>) -> Error {
    Error::Render {
        what: what.to_string(),
        message: e.to_string(),
    }
}

impl<'a, DB: DrawingBackend> Canvas<'a, DB> {
    /// The same canvas with its origin moved by (dx, dy).
    pub fn offset(&self, dx: i32, dy: i32) -> Canvas<'a, DB> {
        Canvas {
            area: self.area,
            svg: self.svg.clone(),
            dx: self.dx + dx,
            dy: self.dy + dy,
            what: self.what,
        }
    }

    fn p(&self, x: i32, y: i32) -> (i32, i32) {
        (x + self.dx, y + self.dy)
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
            return self.raster_text(s, x, y, size, bold, anchor, c);
        };
        let (px, py) = self.p(x, y);
        let start = pen_start(s, px, size, bold, anchor);
        svg.borrow_mut().text(s, start, py as f32, size, bold, c);
        Ok(())
    }

    /// Rasterise text with the embedded font at sub-pixel pen positions.
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
        let mut result = Ok(());
        style::for_each_glyph_pixel(s, size, bold, start, y as f32, |px, py, cov| {
            if result.is_ok() && cov > 0.0 {
                let col = c.mix(f64::from(cov.min(1.0)));
                result = self
                    .area
                    .draw_pixel(self.p(px, py), &col)
                    .map_err(|e| err(self.what, e));
            }
        });
        result
    }

    /// A polyline.
    pub fn line(&self, pts: &[(i32, i32)], c: RGBColor, width: u32) -> Result<()> {
        let pts: Vec<_> = pts.iter().map(|&(x, y)| self.p(x, y)).collect();
        self.area
            .draw(&PathElement::new(pts, c.stroke_width(width)))
            .map_err(|e| err(self.what, e))
    }

    /// A dotted vertical line from y0 to y1.
    pub fn dotted_vline(&self, x: i32, y0: i32, y1: i32, c: RGBColor) -> Result<()> {
        let mut y = y0;
        while y < y1 {
            self.rect(x, y, x + 1, (y + 2).min(y1), c)?;
            y += 5;
        }
        Ok(())
    }

    /// A filled rectangle (corners inclusive-exclusive).
    pub fn rect(&self, x0: i32, y0: i32, x1: i32, y1: i32, c: RGBColor) -> Result<()> {
        self.area
            .draw(&Rectangle::new(
                [self.p(x0, y0), self.p(x1, y1)],
                c.filled(),
            ))
            .map_err(|e| err(self.what, e))
    }

    /// A rectangle outline.
    pub fn frame(&self, x0: i32, y0: i32, x1: i32, y1: i32, c: RGBColor) -> Result<()> {
        self.area
            .draw(&Rectangle::new(
                [self.p(x0, y0), self.p(x1 - 1, y1 - 1)],
                c.stroke_width(1),
            ))
            .map_err(|e| err(self.what, e))
    }

    /// A filled polygon.
    pub fn polygon(&self, pts: &[(i32, i32)], c: RGBColor) -> Result<()> {
        let pts: Vec<_> = pts.iter().map(|&(x, y)| self.p(x, y)).collect();
        self.area
            .draw(&Polygon::new(pts, c.filled()))
            .map_err(|e| err(self.what, e))
    }

    /// A filled circle.
    pub fn circle(&self, x: i32, y: i32, r: i32, c: RGBColor) -> Result<()> {
        self.area
            .draw(&Circle::new(self.p(x, y), r, c.filled()))
            .map_err(|e| err(self.what, e))
    }
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

/// Draw on a white `width` × `height` pixel buffer and encode it as PNG.
pub fn render_png(
    width: u32,
    height: u32,
    what: &'static str,
    draw: impl FnOnce(&Canvas<'_, BitMapBackend<'_>>) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&colour::WHITE).map_err(|e| err(what, e))?;
        let canvas = Canvas {
            area: &root,
            svg: None,
            dx: 0,
            dy: 0,
            what,
        };
        draw(&canvas)?;
        root.present().map_err(|e| err(what, e))?;
    }
    encode_png(&buf, width, height).map_err(|message| Error::Render {
        what: what.to_string(),
        message,
    })
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
        let root = SvgBackend::new(sink.clone(), (width, height)).into_drawing_area();
        root.fill(&colour::WHITE).map_err(|e| err(what, e))?;
        let canvas = Canvas {
            area: &root,
            svg: Some(sink.clone()),
            dx: 0,
            dy: 0,
            what,
        };
        draw(&canvas)?;
        root.present().map_err(|e| err(what, e))?;
    }
    let doc = sink.borrow().finish(width, height);
    Ok(doc)
}

/// RGB8 buffer → PNG bytes with a fixed encoder configuration (no time or
/// text chunks, so equal pixels give equal bytes).
///
/// The Paeth filter on every row, not adaptive filtering: on the report page
/// (1400 × 5746 px, release build) it encodes in about 25 ms against 35 ms
/// for adaptive, for a file 7% larger; `report` encodes six PNGs within its
/// 0.15 s budget.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::Filter::Paeth);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rgb).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
