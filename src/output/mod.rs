//! Stage 5 — results out: text that reads like metafor's `print.rma`, JSON
//! with stable keys, forest and funnel plots (PNG, and SVG with text as glyph outlines)
//! and the one-page report.
//!
//! | module | what |
//! |---|---|
//! | [`albatross`] | albatross plot (p-value, direction, n; effect contours) |
//! | [`bayes`] | Bayesian random-effects summary, text, report line, forest rows |
//! | [`layout`] | forest-plot geometry as plain data (snapshot-tested) |
//! | [`forest`] | forest plot data, drawing to PNG and SVG |
//! | [`funnel`] | contour-enhanced funnel plot layout and drawing |
//! | [`panel`] | the report's confounds and sensitivity panel |
//! | [`sof`] | GRADE Summary of Findings table: text, Markdown, JSON value |
//! | [`prisma`] | PRISMA 2020 flow diagram: layout (snapshot-tested), PNG and SVG |
//! | [`report`] | `spotmeta report`: report.png, plots, results.json, summary.md |
//! | [`guard`] | output safety: never over an input; a directory's files replaced at once |
//! | [`canvas`], [`style`], [`svg`] | drawing surfaces, font, label fitting, colours, sizes; SVG with text as glyph outlines |

pub mod albatross;
pub mod bayes;
pub mod canvas;
pub mod forest;
pub mod funnel;
pub mod guard;
pub mod json;
pub mod layout;
pub mod panel;
pub mod prisma;
pub mod report;
pub mod sof;
pub mod style;
pub mod svg;
pub mod text;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: a temporary file in the same directory
/// is written, flushed and fsynced, then renamed over `path`, so a reader (or a
/// crash) never sees a half-written file and a failure leaves the old file as
/// it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".spotmeta-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    // A new file gets the usual 0644; a replaced file keeps its mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    crate::data::fsguard::persist_synced(tmp, path, dir)
}
