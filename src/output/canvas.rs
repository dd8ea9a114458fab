//! Drawing surfaces: a thin pixel-coordinate canvas over plotters' bitmap
//! (encoded to PNG with the `png` crate) and SVG backends.
//!
//! Layouts give every coordinate in pixels, text positions as baselines;
//! [`Canvas`] turns them into plotters calls, so the PNG and the SVG of one
//! layout are drawn by the same code. Rendering is deterministic: no
//! timestamps, no system fonts, a fixed PNG encoder configuration.

use super::style::{self, FONT_FAMILY, colour};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Which backend a canvas draws on (text metrics differ slightly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Pixel buffer (PNG).
    Png,
    /// SVG text.
    Svg,
}

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
    surface: Surface,
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
            surface: self.surface,
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
        if self.surface == Surface::Png {
            return self.raster_text(s, x, y, size, bold, anchor, c);
        }
        let h = match anchor {
            Anchor::Left => HPos::Left,
            Anchor::Center => HPos::Center,
            Anchor::Right => HPos::Right,
        };
        let fs = if bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        };
        // plotters' SVG backend writes font-size = size / 1.24 and dy = 0.76em
        // for a top anchor; map both so the baseline lands on `y` and the em
        // matches DejaVu's (ascent − descent = 1.164 em) in the PNG.
        let em = size / 1.164;
        let top = y - (0.76 * em).round() as i32;
        let font = FontDesc::new(FontFamily::Name(FONT_FAMILY), em * 1.24, fs);
        let ts = TextStyle::from(font).color(&c).pos(Pos::new(h, VPos::Top));
        self.area
            .draw(&Text::new(s.to_string(), self.p(x, top), ts))
            .map_err(|e| err(self.what, e))
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
        let width = style::text_width(s, size, bold);
        let start = match anchor {
            Anchor::Left => x as f32,
            Anchor::Center => x as f32 - (width / 2.0) as f32,
            Anchor::Right => x as f32 - width as f32,
        };
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

/// Draw on a white `width` × `height` pixel buffer and encode it as PNG.
pub fn render_png(
    width: u32,
    height: u32,
    what: &'static str,
    draw: impl FnOnce(&Canvas<'_, BitMapBackend<'_>>) -> Result<()>,
) -> Result<Vec<u8>> {
    style::register_fonts()?;
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&colour::WHITE).map_err(|e| err(what, e))?;
        let canvas = Canvas {
            area: &root,
            surface: Surface::Png,
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

/// Draw on an SVG document of `width` × `height` pixels.
pub fn render_svg(
    width: u32,
    height: u32,
    what: &'static str,
    draw: impl FnOnce(&Canvas<'_, SVGBackend<'_>>) -> Result<()>,
) -> Result<String> {
    style::register_fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&colour::WHITE).map_err(|e| err(what, e))?;
        let canvas = Canvas {
            area: &root,
            surface: Surface::Svg,
            dx: 0,
            dy: 0,
            what,
        };
        draw(&canvas)?;
        root.present().map_err(|e| err(what, e))?;
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// RGB8 buffer → PNG bytes with a fixed encoder configuration (no time or
/// text chunks, so equal pixels give equal bytes).
fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::Filter::Adaptive);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rgb).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
