//! The one-command report (`spotmeta report`): a one-page `report.png`,
//! `forest.png`, `forest.svg`, `funnel.png`, `results.json` and `summary.md`.
//!
//! [`build_report`] computes every file in memory first; [`Report::write`]
//! then writes them atomically, so a failure leaves no partial report. The
//! output is deterministic: no timestamps, the embedded font, a fixed PNG
//! encoder, JSON keys in a fixed order.

use super::canvas::{Anchor, render_png};
use super::forest::{draw_forest, forest_png, forest_svg, heterogeneity_line, model_name};
use super::funnel::{draw_funnel, funnel_layout, funnel_png};
use super::json::RmaSummary;
use super::layout::{ForestData, ForestStyle, TextItem, forest_layout};
use super::style::{colour, num, p_clause, size, wrap};
use super::write_atomic;
use crate::analysis::Tau2Ci;
use crate::analysis::primary::LeftOut;
use crate::error::{Error, Result};
use crate::model::{Method, RmaFit};
use plotters::style::RGBColor;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Software name and version written into every report.
pub const SOFTWARE: &str = concat!("spotmeta ", env!("CARGO_PKG_VERSION"));

/// Last literature search of the bundled spot-reduction dataset (codebook,
/// `datasets/README.md`).
pub const SPOT_SEARCH_DATE: &str = "2026-11-23";

/// One pooled row, for the tables of `summary.md`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Line in the dataset file.
    pub line: u64,
    /// Study label.
    pub label: String,
    /// Participants.
    pub n: Option<u32>,
    /// Effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// How the effect size was obtained (empty: as given).
    pub detail: String,
}

/// Everything the report shows, computed by the caller.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// Page title.
    pub title: String,
    /// Dataset path as shown to the reader.
    pub dataset: String,
    /// Data rows in the file.
    pub n_rows: usize,
    /// Distinct studies among the pooled rows, when known.
    pub n_studies_pooled: Option<usize>,
    /// Date of the last literature search, when known.
    pub search_date: Option<String>,
    /// Whether this is the spot-reduction dataset (wording of the verdict).
    pub spot: bool,
    /// Name of the effect measure, e.g. "Hedges' g".
    pub effect_label: String,
    /// One or two sentences on how effect sizes were computed.
    pub measure_text: String,
    /// Forest-plot data (studies, pooled diamond, footer).
    pub forest: ForestData,
    /// The overall fit.
    pub fit: RmaFit,
    /// Q-profile CI for τ².
    pub tau2_ci: Option<Tau2Ci>,
    /// Pooled rows.
    pub rows: Vec<ReportRow>,
    /// The pooled rows in their native JSON form (for `results.json`).
    pub used_json: serde_json::Value,
    /// Rows not pooled, with the reason.
    pub left_out: Vec<LeftOut>,
}

/// The finished report: file names and their bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// (file name, contents), in writing order.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Report {
    /// Create `dir` if needed and write every file atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (name, bytes) in &self.files {
            write_atomic(&dir.join(name), bytes)?;
        }
        Ok(())
    }
}

/// "Pooled Hedges' g = −0.02 (95% CI −0.18 to 0.14; k = 2; p = 0.34): …" —
/// the verdict depends only on where the CI lies relative to zero.
pub fn pooled_sentence(
    effect_label: &str,
    fit: &RmaFit,
    n_studies: Option<usize>,
    spot: bool,
) -> String {
    let lvl = format!("{}", (fit.level * 100.0 * 1e6).round() / 1e6);
    let head = format!(
        "Pooled {effect_label} = {} ({lvl}% CI {} to {}; k = {}; {})",
        num(fit.estimate, 2),
        num(fit.ci_lb, 2),
        num(fit.ci_ub, 2),
        fit.k,
        p_clause(fit.pval())
    );
    let verdict = if fit.ci_lb <= 0.0 && fit.ci_ub >= 0.0 {
        if spot {
            "no evidence that training a region reduces fat there more than elsewhere; the interval includes zero and is compatible with small effects in either direction."
        } else {
            "the interval includes zero, so the data are compatible with no effect."
        }
    } else if fit.ci_lb > 0.0 {
        if spot {
            "the interval lies above zero, which favours spot reduction (more fat lost in the trained region)."
        } else {
            "the interval lies above zero."
        }
    } else if spot {
        "the interval lies below zero, which favours the comparison (less fat lost in the trained region)."
    } else {
        "the interval lies below zero."
    };
    let mut s = format!("{head}: {verdict}");
    let few = match n_studies {
        Some(n) if n < 3 => Some(format!(
            " With only k = {} effect size{} from {n} stud{}, this is far too little data for a firm conclusion.",
            fit.k,
            if fit.k == 1 { "" } else { "s" },
            if n == 1 { "y" } else { "ies" }
        )),
        None if fit.k < 3 => Some(format!(
            " With only k = {}, this is far too little data for a firm conclusion.",
            fit.k
        )),
        _ => None,
    };
    if let Some(f) = few {
        s += &f;
    }
    s
}

/// Why rows were not pooled, grouped: (reason, count), most frequent first.
pub fn left_out_summary(left_out: &[LeftOut]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for l in left_out {
        let r = l.reason.as_str();
        let cat = if r.starts_with("secondary outcome") {
            "secondary outcome (one primary outcome per study)".to_string()
        } else if r.starts_with("no effect size") {
            "no effect size: numbers missing in accessible sources".to_string()
        } else if r.starts_with("listed") {
            "listed only: report not located or eligibility unclear".to_string()
        } else if r.starts_with("excluded") {
            "excluded at screening".to_string()
        } else if r.starts_with("outcome type") {
            "not a regional-fat outcome".to_string()
        } else if r.contains(" intervention:") {
            "not an exercise intervention".to_string()
        } else {
            r.split(':').next().unwrap_or(r).trim().to_string()
        };
        match counts.iter_mut().find(|(c, _)| *c == cat) {
            Some(e) => e.1 += 1,
            None => counts.push((cat, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

fn methods_text(input: &ReportInput) -> String {
    let fit = &input.fit;
    let lvl = format!("{}", (fit.level * 100.0 * 1e6).round() / 1e6);
    let model = if fit.method == Method::FE {
        "a common-effect (inverse-variance) model".to_string()
    } else {
        format!(
            "a random-effects model with τ² estimated by {}",
            fit.method.as_str()
        )
    };
    let test = match fit.test {
        crate::model::TestKind::Z => "z-based test and CI".to_string(),
        crate::model::TestKind::Knha => "Knapp–Hartung t test and CI".to_string(),
        crate::model::TestKind::Adhoc => "truncated Knapp–Hartung t test and CI".to_string(),
    };
    format!(
        "{} Pooled with {model}, {test} ({lvl}%), prediction interval as metafor's predict(), \
         Q-profile CI for τ²; heterogeneity by Cochran's Q and I². Computed with {SOFTWARE}, \
         whose rma reproduces R metafor 3.8.1 to at least 6 significant digits.",
        input.measure_text
    )
}

fn heterogeneity_text(fit: &RmaFit, ci: Option<&Tau2Ci>) -> String {
    let mut s = format!("{}.", heterogeneity_line(fit));
    if let Some(c) = ci {
        s += &format!(
            " Q-profile 95% CI for τ²: {} to {}; for I²: {}% to {}%.",
            num(c.tau2_lb, 3),
            num(c.tau2_ub, 3),
            num(c.i2_lb, 1),
            num(c.i2_ub, 1)
        );
    }
    if fit.method != Method::FE && fit.k > 1 {
        s += &format!(
            " 95% prediction interval for a new study: {} to {}.",
            num(fit.pi_lb, 2),
            num(fit.pi_ub, 2)
        );
    }
    s
}

/// A positioned drawing instruction of the report page.
enum Op {
    Text(TextItem, RGBColor),
    Rect(i32, i32, i32, i32, RGBColor),
    Frame(i32, i32, i32, i32, RGBColor),
    Forest(i32, i32),
    Funnel(i32, i32),
}

const PAGE_W: i32 = 1400;
const M: i32 = 40;

struct Page {
    ops: Vec<Op>,
}

impl Page {
    fn text(&mut self, x: i32, y: i32, s: &str, sz: f64, bold: bool, c: RGBColor) {
        self.ops.push(Op::Text(
            TextItem {
                x,
                y,
                text: s.to_string(),
                size: sz,
                bold,
                anchor: Anchor::Left,
            },
            c,
        ));
    }

    /// Wrapped paragraph starting with its first baseline at `y`; returns the
    /// baseline after the last line.
    #[allow(clippy::too_many_arguments)]
    fn para(&mut self, x: i32, y: i32, w: i32, s: &str, sz: f64, bold: bool, c: RGBColor) -> i32 {
        let lh = (sz * 1.45).round() as i32;
        let mut y = y;
        for l in wrap(s, sz, bold, w as f64) {
            self.text(x, y, &l, sz, bold, c);
            y += lh;
        }
        y
    }
}

/// Compute every file of the report (nothing is written).
pub fn build_report(input: &ReportInput) -> Result<Report> {
    let fit = &input.fit;
    let forest_l = forest_layout(&input.forest, &ForestStyle { width: 1200 });
    let forest_png_bytes = forest_png(&forest_l)?;
    let forest_svg_text = forest_svg(&forest_l)?;
    let (yi, vi): (Vec<f64>, Vec<f64>) = input.rows.iter().map(|r| (r.yi, r.vi)).unzip();
    let funnel_l = funnel_layout(&yi, &vi, fit.estimate, &input.effect_label, 640, 480);
    let funnel_png_bytes = funnel_png(&funnel_l)?;

    // --- report.png.
    let sentence = pooled_sentence(&input.effect_label, fit, input.n_studies_pooled, input.spot);
    let mut p = Page { ops: Vec::new() };
    let cw = PAGE_W - 2 * M;
    // The page's forest plot spans the content width (its own 20 px margins
    // sit inside the page margins).
    let page_forest = forest_layout(
        &input.forest,
        &ForestStyle {
            width: (cw + 40) as u32,
        },
    );
    p.text(M, 62, &input.title, size::TITLE, true, colour::INK);
    let mut sub = format!("Dataset {} · {} rows", input.dataset, input.n_rows);
    if let Some(d) = &input.search_date {
        sub += &format!(" · search date {d}");
    }
    sub += &format!(" · {SOFTWARE}");
    p.text(M, 96, &sub, size::BODY, false, colour::MUTED);

    // Result panel.
    let top = 122;
    let mut y = top + 36;
    let inner = cw - 40;
    let mut q = Page { ops: Vec::new() };
    q.text(M + 20, y, "Pooled result", size::HEADING, true, colour::INK);
    y += 32;
    y = q.para(
        M + 20,
        y,
        inner,
        &sentence,
        size::BODY + 1.0,
        true,
        colour::INK,
    );
    y = q.para(
        M + 20,
        y + 4,
        inner,
        &format!(
            "{}. {}",
            model_name(fit),
            heterogeneity_text(fit, input.tau2_ci.as_ref())
        ),
        size::BODY,
        false,
        colour::INK,
    );
    let bottom = y - 8;
    p.ops.push(Op::Rect(M, top, M + cw, bottom, colour::PANEL));
    p.ops.extend(q.ops);

    // Forest plot.
    y = bottom + 40;
    p.text(M, y, "Forest plot", size::HEADING, true, colour::INK);
    y += 14;
    p.ops.push(Op::Forest(M - 20, y));
    y += page_forest.height + 24;

    // Two columns: confounds panel + methods | funnel plot.
    let col_w = cw - funnel_l.width - 40;
    let right_x = M + col_w + 40;
    let cols_top = y;
    let mut ly = cols_top + 8;
    let mut panel = Page { ops: Vec::new() };
    ly += 24;
    panel.text(
        M + 18,
        ly,
        "Energy-expenditure confounds and sensitivity",
        size::HEADING,
        true,
        colour::INK,
    );
    ly += 30;
    ly = panel.para(
        M + 18,
        ly,
        col_w - 36,
        "Placeholder: confound flags (energy expenditure not matched between arms, no diet control, …) and the sensitivity re-analyses are filled in by issue #5.",
        size::SMALL,
        false,
        colour::MUTED,
    );
    ly += 6;
    let n_used = input.rows.len();
    let studies = input
        .n_studies_pooled
        .map(|s| format!(" ({s} stud{})", if s == 1 { "y" } else { "ies" }))
        .unwrap_or_default();
    ly = panel.para(
        M + 18,
        ly,
        col_w - 36,
        &format!(
            "Rows pooled: {n_used} of {}{studies}. Not pooled: {}, because:",
            input.n_rows,
            input.left_out.len()
        ),
        size::BODY,
        false,
        colour::INK,
    );
    for (reason, count) in left_out_summary(&input.left_out) {
        panel.text(
            M + 30,
            ly,
            &format!("{count:>2}"),
            size::BODY,
            true,
            colour::INK,
        );
        ly = panel.para(
            M + 62,
            ly,
            col_w - 80,
            &reason,
            size::BODY,
            false,
            colour::INK,
        );
    }
    let panel_bottom = ly - 8;
    p.ops.push(Op::Rect(
        M,
        cols_top,
        M + col_w,
        panel_bottom,
        colour::PANEL,
    ));
    p.ops.extend(panel.ops);
    ly = panel_bottom + 40;
    p.text(M, ly, "Methods", size::HEADING, true, colour::INK);
    ly += 30;
    ly = p.para(
        M,
        ly,
        col_w,
        &methods_text(input),
        size::SMALL,
        false,
        colour::INK,
    );

    let mut ry = cols_top + 32;
    p.text(right_x, ry, "Funnel plot", size::HEADING, true, colour::INK);
    ry += 10;
    p.ops.push(Op::Frame(
        right_x - 1,
        ry - 1,
        right_x + funnel_l.width + 1,
        ry + funnel_l.height + 1,
        colour::RULE,
    ));
    p.ops.push(Op::Funnel(right_x, ry));
    ry += funnel_l.height;
    let height = ly.max(ry + 20) + 10;
    p.ops
        .push(Op::Rect(M, height, M + cw, height + 1, colour::RULE));
    p.text(
        M,
        height + 28,
        &format!(
            "Regenerate: spotmeta report (same input, byte-identical output) · {SOFTWARE} · numbers match R metafor"
        ),
        size::SMALL,
        false,
        colour::MUTED,
    );
    let page_h = height + 48;
    let report_png = render_png(PAGE_W as u32, page_h as u32, "report (PNG)", |c| {
        for op in &p.ops {
            match op {
                Op::Text(t, col) => c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, *col)?,
                Op::Rect(x0, y0, x1, y1, col) => c.rect(*x0, *y0, *x1, *y1, *col)?,
                Op::Frame(x0, y0, x1, y1, col) => c.frame(*x0, *y0, *x1, *y1, *col)?,
                Op::Forest(dx, dy) => draw_forest(&c.offset(*dx, *dy), &page_forest)?,
                Op::Funnel(dx, dy) => draw_funnel(&c.offset(*dx, *dy), &funnel_l)?,
            }
        }
        Ok(())
    })?;

    // --- results.json.
    let mut v = serde_json::json!({
        "title": input.title,
        "dataset": input.dataset,
        "rows": input.n_rows,
        "search_date": input.search_date,
        "software": SOFTWARE,
        "effect_measure": input.effect_label,
        "summary": sentence,
    });
    let json_err = |e: serde_json::Error| Error::Render {
        what: "results.json".into(),
        message: e.to_string(),
    };
    let summary =
        serde_json::to_value(RmaSummary::new(fit, input.tau2_ci.as_ref())).map_err(json_err)?;
    if let (Some(obj), serde_json::Value::Object(s)) = (v.as_object_mut(), summary) {
        obj.extend(s);
        obj.insert("used".into(), input.used_json.clone());
        obj.insert(
            "left_out".into(),
            serde_json::to_value(&input.left_out).map_err(json_err)?,
        );
    }
    let results_json = serde_json::to_string_pretty(&v).map_err(json_err)? + "\n";

    let summary_md = summary_markdown(input, &sentence);
    Ok(Report {
        files: vec![
            ("report.png".into(), report_png),
            ("forest.png".into(), forest_png_bytes),
            ("forest.svg".into(), forest_svg_text.into_bytes()),
            ("funnel.png".into(), funnel_png_bytes),
            ("results.json".into(), results_json.into_bytes()),
            ("summary.md".into(), summary_md.into_bytes()),
        ],
    })
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// `summary.md`: the report in words and tables.
fn summary_markdown(input: &ReportInput, sentence: &str) -> String {
    let fit = &input.fit;
    let mut t = String::new();
    let _ = writeln!(t, "# {}\n", input.title);
    let _ = write!(t, "Dataset `{}`, {} rows", input.dataset, input.n_rows);
    if let Some(d) = &input.search_date {
        let _ = write!(t, ", search date {d}");
    }
    let _ = writeln!(t, "; {SOFTWARE}.\n");
    let _ = writeln!(t, "## Pooled result\n\n{sentence}\n");
    let _ = writeln!(
        t,
        "{}. {}\n",
        model_name(fit),
        heterogeneity_text(fit, input.tau2_ci.as_ref())
    );
    let _ = writeln!(t, "| | value |\n|---|---|");
    let lvl = format!("{}", (fit.level * 100.0 * 1e6).round() / 1e6);
    let rows = [
        ("k", fit.k.to_string()),
        ("estimate", format!("{:.4}", fit.estimate)),
        ("SE", format!("{:.4}", fit.se)),
        (
            &*format!("{lvl}% CI"),
            format!("{:.4} to {:.4}", fit.ci_lb, fit.ci_ub),
        ),
        (
            "prediction interval",
            format!("{:.4} to {:.4}", fit.pi_lb, fit.pi_ub),
        ),
        ("test", super::forest::test_line(fit)),
        ("τ²", format!("{:.4}", fit.tau2)),
        (
            "I²",
            fit.i2
                .map(|i| format!("{i:.1}%"))
                .unwrap_or_else(|| "NA".into()),
        ),
        (
            "Q (df)",
            format!("{:.4} ({}), {}", fit.q, fit.q_df, p_clause(fit.q_pval())),
        ),
    ]
    .map(|(a, b)| (a.to_string(), b));
    for (k, v) in rows {
        let _ = writeln!(t, "| {k} | {v} |");
    }
    let _ = writeln!(t, "\n![Forest plot](forest.png)\n");
    let _ = writeln!(t, "## Rows pooled ({})\n", input.rows.len());
    let _ = writeln!(
        t,
        "| line | study | n | {} [95% CI] | weight | how obtained |\n|---:|---|---:|---|---:|---|",
        input.effect_label
    );
    for r in &input.rows {
        let h = 1.959_963_984_540_054 * r.vi.sqrt();
        let _ = writeln!(
            t,
            "| {} | {} | {} | {:.2} [{:.2}, {:.2}] | {:.1}% | {} |",
            r.line,
            md_escape(&r.label),
            r.n.map(|n| n.to_string()).unwrap_or_else(|| "–".into()),
            r.yi,
            r.yi - h,
            r.yi + h,
            fit.weight_percent(r.vi),
            if r.detail.is_empty() {
                "as reported".to_string()
            } else {
                md_escape(&r.detail)
            }
        );
    }
    let _ = writeln!(
        t,
        "\n## Energy-expenditure confounds and sensitivity\n\nPlaceholder: confound flags and the sensitivity re-analyses are filled in by issue #5. Rows not pooled, by reason:\n"
    );
    let _ = writeln!(t, "| reason | rows |\n|---|---:|");
    for (reason, count) in left_out_summary(&input.left_out) {
        let _ = writeln!(t, "| {} | {count} |", md_escape(&reason));
    }
    let _ = writeln!(t, "\n![Funnel plot](funnel.png)\n");
    let _ = writeln!(t, "## Rows not pooled ({})\n", input.left_out.len());
    let _ = writeln!(t, "| line | study | outcome | reason |\n|---:|---|---|---|");
    for l in &input.left_out {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} |",
            l.line,
            md_escape(&l.label),
            md_escape(&l.outcome),
            md_escape(&l.reason)
        );
    }
    let _ = writeln!(t, "\n## Methods\n\n{}", methods_text(input));
    t
}
