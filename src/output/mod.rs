//! Stage 6 — results out: text that reads like metafor's `print.rma`, JSON
//! with stable keys, forest and funnel plots (PNG, and SVG with text as glyph outlines)
//! and the one-page report. Files are written through [`crate::data::io`].
//!
//! | module | what |
//! |---|---|
//! | [`albatross`] | albatross plot (p-value, direction, n; effect contours) |
//! | [`bayes`] | Bayesian random-effects summary, text, report line, forest rows |
//! | [`layout`] | forest-plot geometry as plain data (snapshot-tested) |
//! | [`diagnostics`] | leave1out, influence, cumul, regtest, trimfill on any table: text |
//! | [`figures`] | what each plot of a review's findings shows |
//! | [`forest`] | forest plot data, drawing to PNG and SVG |
//! | [`funnel`] | contour-enhanced funnel plot layout and drawing |
//! | [`gosh`] | GOSH plot: I² against the estimate of every subset |
//! | [`panel`] | the report's confounds and sensitivity panel |
//! | [`rob`] | risk of bias: traffic-light column beside a forest plot, weighted summary bars (robvis) |
//! | [`sof`] | GRADE Summary of Findings table: text, Markdown, JSON value |
//! | [`subgroup`] | a subgroup analysis (`rma --by`): text and JSON value |
//! | [`prisma`] | PRISMA 2020 flow diagram: layout (snapshot-tested), PNG and SVG |
//! | [`report`] | `spotmeta report`: report.png, plots, results.json, summary.md |
//! | [`canvas`], [`style`], [`svg`] | drawing surfaces, font, label fitting, colours, sizes; SVG with text as glyph outlines |

pub mod albatross;
pub mod bayes;
pub mod canvas;
pub mod diagnostics;
pub mod figures;
pub mod forest;
pub mod funnel;
pub mod gosh;
pub mod json;
pub mod layout;
pub mod panel;
pub mod prisma;
pub mod report;
pub mod rob;
pub mod sof;
pub mod style;
pub mod subgroup;
pub mod svg;
pub mod text;
