//! The report's "Energy-expenditure confounds and sensitivity" panel
//! (issue #5) as plain geometry: the plain sentence, a small sensitivity
//! forest (all studies / without EE-flagged / without any flag / imputed
//! r = 0.3, 0.5, 0.7 / leave-one-out range) on a shared axis with the line at
//! 0, the flags of the pooled rows and the flag counts over the included
//! rows, meta-regression bubble plots of the EE moderators (or why they were
//! not run) and the thresholds in small print.
//!
//! [`sensitivity_panel`] computes a [`PanelLayout`] from an
//! [`analysis::sensitivity::Sensitivity`](crate::analysis::sensitivity::Sensitivity);
//! [`draw_panel`] draws it. Coordinates are relative to the panel's top left.

use super::canvas::{Anchor, Canvas};
use super::layout::{TextItem, Tick, nice_ticks};
use super::style::{colour, ellipsize, num, p_clause, size, text_width, wrap};
use crate::analysis::confounds::{CODES, Severity};
use crate::analysis::diagnostics::Outcome;
use crate::analysis::sensitivity::{EeMetareg, Sensitivity};
use crate::error::Result;
use crate::model::RmaFit;
use plotters::prelude::DrawingBackend;
use serde::Serialize;

/// Colour role of a piece of panel text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Main text.
    Ink,
    /// Secondary text.
    Muted,
    /// Flag codes.
    Flagged,
}

/// A positioned piece of text with its colour role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelText {
    /// Position, size, face and anchor.
    pub item: TextItem,
    /// Colour role.
    pub tone: Tone,
}

/// What one sensitivity row draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SensMark {
    /// Estimate with CI whiskers.
    Point {
        /// Estimate x.
        x: i32,
        /// CI lower x.
        lo: i32,
        /// CI upper x.
        hi: i32,
    },
    /// A range of estimates (bar) inside a CI envelope (whiskers).
    Range {
        /// Lowest estimate x.
        lo: i32,
        /// Highest estimate x.
        hi: i32,
        /// Lowest CI bound x.
        ci_lo: i32,
        /// Highest CI bound x.
        ci_hi: i32,
    },
    /// Nothing to draw; the row says why (e.g. "nothing left to pool").
    Empty,
}

/// One row of the sensitivity forest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensRow {
    /// Centre y.
    pub y: i32,
    /// Scenario name, e.g. "without EE-flagged studies".
    pub name: String,
    /// Studies pooled ("1 each" for leave-one-out).
    pub k: String,
    /// "−0.02 [−0.18, 0.14]", or why there is no estimate.
    pub effect: String,
    /// The mark.
    pub mark: SensMark,
}

/// A meta-regression bubble plot (effect vs moderator, bubble area ∝ weight,
/// fitted line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BubbleLayout {
    /// Plot rectangle (left, top, right, bottom), panel coordinates.
    pub plot: (i32, i32, i32, i32),
    /// Bubbles: centre and radius.
    pub bubbles: Vec<(i32, i32, i32)>,
    /// Fitted line end points (clipped to the plot).
    pub line: [(i32, i32); 2],
    /// y of effect 0 (None when outside the range).
    pub zero_y: Option<i32>,
    /// x ticks.
    pub x_ticks: Vec<Tick>,
    /// y ticks (`x` holds the pixel y).
    pub y_ticks: Vec<Tick>,
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub xlab: String,
}

/// The whole panel in pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelLayout {
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
    /// All text.
    pub texts: Vec<PanelText>,
    /// Sensitivity-forest rows.
    pub rows: Vec<SensRow>,
    /// Plot column of the sensitivity forest (left, right).
    pub plot_x: (i32, i32),
    /// Vertical extent of the null line and the axis y.
    pub axis: (i32, i32),
    /// x of 0 on the sensitivity axis (None when outside).
    pub zero: Option<i32>,
    /// Sensitivity-axis ticks.
    pub ticks: Vec<Tick>,
    /// Bubble plots (empty when no meta-regression ran).
    pub bubbles: Vec<BubbleLayout>,
}

/// An extra first row of the sensitivity forest: the report's other main
/// analysis (all outcomes, three-level + CR2), fitted or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelExtra {
    /// Row name.
    pub name: String,
    /// (estimate, CI lower, CI upper, k), or None when it did not run.
    pub fit: Option<(f64, f64, f64, usize)>,
    /// Why it did not run (shown in place of the estimate).
    pub why: String,
    /// A sentence added to the small print under the forest (empty: none).
    pub note: String,
}

struct Builder {
    texts: Vec<PanelText>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: i32, y: i32, s: &str, sz: f64, bold: bool, a: Anchor, tone: Tone) {
        self.texts.push(PanelText {
            item: TextItem {
                x,
                y,
                text: s.to_string(),
                size: sz,
                bold,
                anchor: a,
            },
            tone,
        });
    }

    /// Wrapped paragraph; returns the baseline after the last line.
    #[allow(clippy::too_many_arguments)]
    fn para(&mut self, x: i32, y: i32, w: i32, s: &str, sz: f64, bold: bool, tone: Tone) -> i32 {
        let lh = (sz * 1.45).round() as i32;
        let mut y = y;
        for l in wrap(s, sz, bold, w as f64) {
            self.text(x, y, &l, sz, bold, Anchor::Left, tone);
            y += lh;
        }
        y
    }
}

enum Est {
    Fit(f64, f64, f64, usize),
    Range(f64, f64, f64, f64, usize),
    None(String),
}

fn est_of(fit: &Option<RmaFit>) -> Est {
    match fit {
        Some(f) => Est::Fit(f.estimate, f.ci_lb, f.ci_ub, f.k),
        None => Est::None("nothing left to pool".into()),
    }
}

const PAD: i32 = 20;

/// Lay out the panel for `s`, `width` pixels wide. `effect_label` names the
/// effect ("Hedges' g"); `primary_r` is the imputed correlation of the
/// primary analysis (its row is marked); `extra`, when given, is drawn as the
/// first row.
pub fn sensitivity_panel(
    s: &Sensitivity,
    effect_label: &str,
    primary_r: f64,
    width: i32,
    extra: Option<&PanelExtra>,
) -> PanelLayout {
    let mut b = Builder { texts: Vec::new() };
    let body = size::BODY;
    let small = size::SMALL;
    let inner = width - 2 * PAD;
    let mut y = 38;
    b.text(
        PAD,
        y,
        "Energy-expenditure confounds and sensitivity",
        size::HEADING,
        true,
        Anchor::Left,
        Tone::Ink,
    );
    y += 32;
    y = b.para(
        PAD,
        y,
        inner,
        &typographic_minus(&s.sentence),
        body + 1.0,
        true,
        Tone::Ink,
    );

    // --- sensitivity forest.
    y += 14;
    b.text(
        PAD,
        y,
        &format!("Pooled {effect_label} under each choice (95% CI)"),
        body,
        true,
        Anchor::Left,
        Tone::Ink,
    );
    y += 10;
    let mut entries: Vec<(String, Est)> = extra
        .map(|e| {
            let est = match e.fit {
                Some((x, lo, hi, k)) => Est::Fit(x, lo, hi, k),
                None => Est::None(e.why.clone()),
            };
            (e.name.clone(), est)
        })
        .into_iter()
        .chain(s.scenarios.iter().map(|sc| {
            let e = match est_of(&sc.fit) {
                Est::None(why) if !sc.excluded.is_empty() => Est::None(format!(
                    "{why}: every pooled row is set aside ({})",
                    sc.excluded.join("; ")
                )),
                e => e,
            };
            (sc.name.clone(), e)
        }))
        .collect();
    for (r, sc) in &s.correlation {
        let name = if (*r - primary_r).abs() < 1e-12 {
            format!("{} (primary)", sc.name)
        } else {
            sc.name.clone()
        };
        entries.push((name, est_of(&sc.fit)));
    }
    let loo = match s.diagnostics.as_ref().map(|d| &d.leave1out) {
        Some(Outcome::Done(l)) if !l.is_empty() => {
            let f =
                |g: fn(f64, f64) -> f64, it: &mut dyn Iterator<Item = f64>| it.fold(f64::NAN, g);
            Est::Range(
                f(f64::min, &mut l.iter().map(|x| x.estimate)),
                f(f64::max, &mut l.iter().map(|x| x.estimate)),
                f(f64::min, &mut l.iter().map(|x| x.ci_lb)),
                f(f64::max, &mut l.iter().map(|x| x.ci_ub)),
                s.scenarios
                    .first()
                    .and_then(|a| a.fit.as_ref())
                    .map(|f| f.k - 1)
                    .unwrap_or(0),
            )
        }
        Some(Outcome::NotRun { reason }) => Est::None(format!("not run: {reason}")),
        _ => Est::None("not run: nothing pooled".into()),
    };
    entries.push(("leave-one-out range".into(), loo));

    // x-range over every interval and 0.
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, e) in &entries {
        match e {
            Est::Fit(_, a, c, _) | Est::Range(_, _, a, c, _) => {
                lo = lo.min(*a);
                hi = hi.max(*c);
            }
            Est::None(_) => {}
        }
    }
    let tv = nice_ticks(lo, hi, 6);
    let (x_min, x_max) = (tv[0], *tv.last().unwrap());
    let name_w = entries
        .iter()
        .map(|(n, _)| text_width(n, body, false).ceil() as i32)
        .max()
        .unwrap_or(0)
        .max(200);
    let k_right = PAD + name_w + 24 + text_width("k = 99 each", body, false).ceil() as i32;
    let effect_w = text_width("−0.00 to −0.00 [−0.00, −0.00]", body, false).ceil() as i32;
    let effect_right = width - PAD;
    let plot_x = (k_right + 40, effect_right - effect_w - 40);
    let sx = |v: f64| -> i32 {
        let t = (v.clamp(x_min, x_max) - x_min) / (x_max - x_min);
        (plot_x.0 as f64 + t * (plot_x.1 - plot_x.0) as f64).round() as i32
    };
    let rh = (body * 1.6).round() as i32;
    y += rh / 2 + 6;
    let top = y - rh / 2;
    let base = |y: i32| y + (body * 0.31).round() as i32;
    let mut rows = Vec::new();
    for (name, e) in entries {
        let (k, effect, mark) = match e {
            Est::Fit(est, a, c, k) => (
                format!("k = {k}"),
                format!("{} [{}, {}]", num(est, 2), num(a, 2), num(c, 2)),
                SensMark::Point {
                    x: sx(est),
                    lo: sx(a),
                    hi: sx(c),
                },
            ),
            Est::Range(a, c, l, u, k) => (
                format!("k = {k} each"),
                format!(
                    "{} to {} [{}, {}]",
                    num(a, 2),
                    num(c, 2),
                    num(l, 2),
                    num(u, 2)
                ),
                SensMark::Range {
                    lo: sx(a),
                    hi: sx(c),
                    ci_lo: sx(l),
                    ci_hi: sx(u),
                },
            ),
            Est::None(why) => {
                let k = if why.starts_with("nothing") {
                    "k = 0"
                } else {
                    ""
                };
                (k.to_string(), why, SensMark::Empty)
            }
        };
        b.text(PAD, base(y), &name, body, false, Anchor::Left, Tone::Ink);
        b.text(k_right, base(y), &k, body, false, Anchor::Right, Tone::Ink);
        if mark == SensMark::Empty {
            let t = ellipsize(&effect, body, false, (effect_right - plot_x.0) as f64);
            b.text(
                plot_x.0,
                base(y),
                &t,
                body,
                false,
                Anchor::Left,
                Tone::Muted,
            );
        } else {
            b.text(
                effect_right,
                base(y),
                &effect,
                body,
                false,
                Anchor::Right,
                Tone::Ink,
            );
        }
        rows.push(SensRow {
            y,
            name,
            k,
            effect,
            mark,
        });
        y += rh;
    }
    let axis_y = y - rh / 2 + 4;
    let note = extra
        .filter(|e| !e.note.is_empty())
        .map(|e| format!(" {}", e.note))
        .unwrap_or_default();
    let dec = {
        let step = if tv.len() > 1 { tv[1] - tv[0] } else { 1.0 };
        (0..6)
            .find(|d| ((step * 10f64.powi(*d)).round() - step * 10f64.powi(*d)).abs() < 1e-9)
            .unwrap_or(6) as usize
    };
    let ticks: Vec<Tick> = tv
        .iter()
        .map(|&v| Tick {
            value: v,
            x: sx(v),
            label: num(v, dec),
        })
        .collect();
    let zero = (x_min <= 0.0 && 0.0 <= x_max).then(|| sx(0.0));
    y = axis_y + 8 + (small * 0.75).round() as i32;
    for t in &ticks {
        b.text(t.x, y, &t.label, small, false, Anchor::Center, Tone::Ink);
    }
    y += (small * 1.6).round() as i32;
    y = b.para(
        PAD,
        y,
        inner,
        &format!(
            "Points: pooled estimate with its 95% CI{}. Leave-one-out: the bar spans the estimates with one study left out, the whiskers their widest CI bounds. Dotted line: no effect.{}",
            if note.is_empty() {
                " (same model as the primary analysis)"
            } else {
                ""
            },
            note
        ),
        small,
        false,
        Tone::Muted,
    );

    // --- flags.
    y += 18;
    b.text(
        PAD,
        y,
        "Confound flags",
        body,
        true,
        Anchor::Left,
        Tone::Ink,
    );
    y += 26;
    let pooled: Vec<_> = s.flags.iter().filter(|r| r.pooled).collect();
    if pooled.is_empty() {
        b.text(
            PAD,
            y,
            "No pooled rows.",
            body,
            false,
            Anchor::Left,
            Tone::Muted,
        );
        y += 24;
    }
    for r in &pooled {
        let head = format!("{} (line {}): ", r.label, r.line);
        b.text(PAD, y, &head, body, false, Anchor::Left, Tone::Ink);
        let x = PAD + text_width(&head, body, false).ceil() as i32;
        let codes = if r.flags.is_empty() {
            "no flags".to_string()
        } else {
            r.codes().replace(',', ", ")
        };
        let tone = if r.flags.is_empty() {
            Tone::Muted
        } else {
            Tone::Flagged
        };
        let t = ellipsize(&codes, body, true, (width - PAD - x) as f64);
        b.text(x, y, &t, body, true, Anchor::Left, tone);
        y += 24;
    }
    let included: Vec<_> = s.flags.iter().filter(|r| r.status == "included").collect();
    let mut counts: Vec<(String, Severity, usize)> = Vec::new();
    for r in &included {
        for f in &r.flags {
            match counts.iter_mut().find(|(c, _, _)| *c == f.code) {
                Some(e) => e.2 += 1,
                None => counts.push((f.code.clone(), f.severity, 1)),
            }
        }
    }
    let order = |c: &str| {
        CODES
            .iter()
            .position(|(k, _)| *k == c)
            .unwrap_or(CODES.len())
    };
    counts.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then(order(&a.0).cmp(&order(&b.0)))
            .then(a.0.cmp(&b.0))
    });
    y += 6;
    b.text(
        PAD,
        y,
        &format!(
            "Flags over all {} included rows (pooled or not), rows per code:",
            included.len()
        ),
        body,
        false,
        Anchor::Left,
        Tone::Ink,
    );
    y += 24;
    let cols = 3;
    let col_w = inner / cols;
    let per_col = counts.len().div_ceil(cols as usize).max(1);
    let lh = (small * 1.5).round() as i32;
    for (i, (code, sev, n)) in counts.iter().enumerate() {
        let (c, r) = ((i / per_col) as i32, (i % per_col) as i32);
        let x = PAD + c * col_w;
        let yy = y + r * lh;
        b.text(
            x + 28,
            yy,
            &n.to_string(),
            small,
            true,
            Anchor::Right,
            Tone::Ink,
        );
        let label = if *sev == Severity::Manual {
            format!("{code} (manual)")
        } else {
            code.clone()
        };
        let t = ellipsize(&label, small, false, (col_w - 44) as f64);
        b.text(x + 36, yy, &t, small, false, Anchor::Left, Tone::Ink);
    }
    if counts.is_empty() {
        b.text(PAD, y, "none", small, false, Anchor::Left, Tone::Muted);
    }
    y += per_col as i32 * lh + 4;

    // --- meta-regression and subgroups.
    y += 18;
    b.text(
        PAD,
        y,
        "Meta-regression, subgroups and influence",
        body,
        true,
        Anchor::Left,
        Tone::Ink,
    );
    y += 26;
    let mut bubbles = Vec::new();
    let bw = (inner - 40) / 2;
    let mut bubble_row_h = 0;
    let mut bx = PAD;
    for m in &s.metareg {
        match &m.result {
            Outcome::Done((fit, perm)) => {
                let title = format!(
                    "{}: slope {} (SE {}), {}, permutation p = {}",
                    m.moderator,
                    num(fit.beta[1], 3),
                    num(fit.se[1], 3),
                    p_clause(Some(fit.pval[1])),
                    super::style::pval(Some(perm.pval[1]))
                );
                let l = bubble_layout(
                    m,
                    (fit.beta[0], fit.beta[1]),
                    fit.tau2,
                    (bx, y, bx + bw, y + 240),
                    &title,
                    effect_label,
                );
                bubble_row_h = 240 + 50;
                bubbles.push(l);
                bx += bw + 40;
            }
            Outcome::NotRun { reason } => {
                y = b.para(
                    PAD,
                    y,
                    inner,
                    &format!("{} ({}): not run: {reason}.", m.moderator, m.description),
                    small,
                    false,
                    Tone::Ink,
                );
            }
        }
    }
    y += bubble_row_h;
    let subgroup = match &s.flagged_vs_unflagged {
        Some(g) => {
            let parts: Vec<String> = g
                .groups
                .iter()
                .map(|x| {
                    format!(
                        "{} {} [{}, {}] (k = {})",
                        x.name,
                        num(x.fit.estimate, 2),
                        num(x.fit.ci_lb, 2),
                        num(x.fit.ci_ub, 2),
                        x.fit.k
                    )
                })
                .collect();
            let test = match (g.q_between, g.q_between_pval) {
                (Some(q), p) => format!(
                    "; test for subgroup differences Q({}) = {}, {}",
                    g.q_between_df,
                    num(q, 2),
                    p_clause(p)
                ),
                _ => String::new(),
            };
            format!("Flagged vs unflagged studies: {}{test}.", parts.join("; "))
        }
        None => "Flagged vs unflagged studies: not run (the pooled studies are all in one group)."
            .into(),
    };
    y = b.para(PAD, y, inner, &subgroup, small, false, Tone::Ink);
    if let Some(d) = &s.diagnostics {
        let infl = match &d.influence {
            Outcome::Done(inf) => {
                let names: Vec<&str> = inf
                    .iter()
                    .zip(&d.labels)
                    .filter(|(x, _)| x.is_infl)
                    .map(|(_, l)| l.as_str())
                    .collect();
                if names.is_empty() {
                    "Influence diagnostics (studentized residuals, Cook's distance, DFFITS, hat): no influential study.".to_string()
                } else {
                    format!(
                        "Influence diagnostics (studentized residuals, Cook's distance, DFFITS, hat): influential: {}.",
                        names.join(", ")
                    )
                }
            }
            Outcome::NotRun { reason } => format!("Influence diagnostics: not run: {reason}."),
        };
        y = b.para(PAD, y, inner, &infl, small, false, Tone::Ink);
    }

    // --- thresholds.
    y += 8;
    let t = &s.thresholds;
    y = b.para(
        PAD,
        y,
        inner,
        &format!(
            "Flag thresholds: session or weekly minutes differ by a ratio ≥ {} or by ≥ {} min per session / ≥ {} min per week; SMALL_N below {} per arm. Flags are computed from the dataset's design columns (spotmeta flags lists every row with its reasons).",
            t.session_ratio, t.session_diff_min, t.weekly_diff_min, t.small_n
        ),
        size::SMALL - 1.0,
        false,
        Tone::Muted,
    );
    let height = y - 4;
    PanelLayout {
        width,
        height,
        texts: b.texts,
        rows,
        plot_x,
        axis: (top, axis_y),
        zero,
        ticks,
        bubbles,
    }
}

/// Lay out one bubble plot inside `rect` (panel coordinates): the moderator
/// values of `m` against the effects, bubble area ∝ weight 1/(vᵢ + τ²), and
/// the fitted line `intercept + slope·x`.
pub fn bubble_layout(
    m: &EeMetareg,
    (intercept, slope): (f64, f64),
    tau2: f64,
    rect: (i32, i32, i32, i32),
    title: &str,
    effect_label: &str,
) -> BubbleLayout {
    let plot = (rect.0 + 60, rect.1 + 24, rect.2 - 10, rect.3 - 40);
    let xs = &m.x;
    let (mut xlo, mut xhi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !xlo.is_finite() {
        (xlo, xhi) = (0.0, 1.0);
    }
    let (mut ylo, mut yhi) = (0.0f64, 0.0f64);
    for &y in &m.yi {
        ylo = ylo.min(y);
        yhi = yhi.max(y);
    }
    for x in [xlo, xhi] {
        let f = intercept + slope * x;
        ylo = ylo.min(f);
        yhi = yhi.max(f);
    }
    let xt = nice_ticks(xlo, xhi, 4);
    let yt = nice_ticks(ylo, yhi, 4);
    let (x0, x1) = (xt[0], *xt.last().unwrap());
    let (y0, y1) = (yt[0], *yt.last().unwrap());
    let sx =
        |v: f64| (plot.0 as f64 + (v - x0) / (x1 - x0) * (plot.2 - plot.0) as f64).round() as i32;
    let sy =
        |v: f64| (plot.3 as f64 - (v - y0) / (y1 - y0) * (plot.3 - plot.1) as f64).round() as i32;
    let w: Vec<f64> = m.vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let wmax = w.iter().cloned().fold(0.0, f64::max);
    let bubbles = xs
        .iter()
        .zip(&m.yi)
        .zip(&w)
        .map(|((&x, &y), &wi)| {
            let r = if wmax > 0.0 {
                (16.0 * (wi / wmax).sqrt()).max(3.0)
            } else {
                4.0
            };
            (sx(x), sy(y), r.round() as i32)
        })
        .collect();
    let yc = |x: f64| sy((intercept + slope * x).clamp(y0, y1));
    let dec = |t: &[f64]| {
        let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
        (0..6)
            .find(|d| ((step * 10f64.powi(*d)).round() - step * 10f64.powi(*d)).abs() < 1e-9)
            .unwrap_or(6) as usize
    };
    let (dx, dy) = (dec(&xt), dec(&yt));
    BubbleLayout {
        plot,
        bubbles,
        line: [(sx(x0), yc(x0)), (sx(x1), yc(x1))],
        zero_y: (y0 <= 0.0 && 0.0 <= y1).then(|| sy(0.0)),
        x_ticks: xt
            .iter()
            .map(|&v| Tick {
                value: v,
                x: sx(v),
                label: num(v, dx),
            })
            .collect(),
        y_ticks: yt
            .iter()
            .map(|&v| Tick {
                value: v,
                x: sy(v),
                label: num(v, dy),
            })
            .collect(),
        title: title.to_string(),
        xlab: format!("{} → {effect_label}", m.description),
    }
}

/// "-0.02" → "−0.02" (a real minus before digits), as in the plots.
fn typographic_minus(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let before_digit = chars.get(i + 1).is_some_and(|d| d.is_ascii_digit());
        let after_word = i > 0 && chars[i - 1].is_alphanumeric();
        if c == '-' && before_digit && !after_word {
            out.push('\u{2212}');
        } else {
            out.push(c);
        }
    }
    out
}

fn tone_colour(t: Tone) -> plotters::style::RGBColor {
    match t {
        Tone::Ink => colour::INK,
        Tone::Muted => colour::MUTED,
        Tone::Flagged => colour::FLAGGED,
    }
}

/// Draw the panel (background included) with its top left at the canvas
/// origin.
pub fn draw_panel<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &PanelLayout) -> Result<()> {
    c.rect(0, 0, l.width, l.height, colour::PANEL)?;
    if let Some(z) = l.zero {
        c.dotted_vline(z, l.axis.0, l.axis.1, colour::MUTED)?;
    }
    c.rect(
        l.plot_x.0,
        l.axis.1,
        l.plot_x.1 + 1,
        l.axis.1 + 1,
        colour::INK,
    )?;
    for t in &l.ticks {
        c.rect(t.x, l.axis.1, t.x + 1, l.axis.1 + 6, colour::INK)?;
    }
    for r in &l.rows {
        let y = r.y;
        match r.mark {
            SensMark::Point { x, lo, hi } => {
                c.rect(lo, y, hi + 1, y + 2, colour::STUDY)?;
                c.rect(lo, y - 4, lo + 2, y + 6, colour::STUDY)?;
                c.rect(hi - 1, y - 4, hi + 1, y + 6, colour::STUDY)?;
                c.rect(x - 5, y - 4, x + 6, y + 7, colour::STUDY)?;
            }
            SensMark::Range {
                lo,
                hi,
                ci_lo,
                ci_hi,
            } => {
                c.rect(ci_lo, y, ci_hi + 1, y + 2, colour::PI)?;
                c.rect(ci_lo, y - 4, ci_lo + 2, y + 6, colour::PI)?;
                c.rect(ci_hi - 1, y - 4, ci_hi + 1, y + 6, colour::PI)?;
                c.rect(lo - 1, y - 4, hi + 2, y + 7, colour::POOLED)?;
            }
            // The row's text runs across the plot: break the null line there.
            SensMark::Empty => c.rect(l.plot_x.0, y - 10, l.plot_x.1 + 1, y + 11, colour::PANEL)?,
        }
    }
    for t in &l.texts {
        let i = &t.item;
        c.text(
            &i.text,
            i.x,
            i.y,
            i.size,
            i.bold,
            i.anchor,
            tone_colour(t.tone),
        )?;
    }
    for bl in &l.bubbles {
        draw_bubble(c, bl)?;
    }
    Ok(())
}

fn draw_bubble<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &BubbleLayout) -> Result<()> {
    let (x0, y0, x1, y1) = l.plot;
    let s = size::SMALL;
    c.rect(x0, y0, x1 + 1, y1 + 1, colour::WHITE)?;
    if let Some(z) = l.zero_y {
        c.rect(x0, z, x1 + 1, z + 1, colour::RULE)?;
    }
    c.line(&l.line, colour::INK, 2)?;
    for &(x, y, r) in &l.bubbles {
        c.circle(x, y, r + 1, colour::WHITE)?;
        c.circle(x, y, r, colour::STUDY)?;
    }
    c.frame(x0, y0, x1 + 1, y1 + 1, colour::INK)?;
    for t in &l.x_ticks {
        c.rect(t.x, y1, t.x + 1, y1 + 5, colour::INK)?;
        c.text(
            &t.label,
            t.x,
            y1 + 8 + (s * 0.75) as i32,
            s,
            false,
            Anchor::Center,
            colour::INK,
        )?;
    }
    for t in &l.y_ticks {
        c.rect(x0 - 5, t.x, x0, t.x + 1, colour::INK)?;
        c.text(
            &t.label,
            x0 - 8,
            t.x + (s * 0.31) as i32,
            s,
            false,
            Anchor::Right,
            colour::INK,
        )?;
    }
    c.text(
        &l.title,
        x0 - 60,
        y0 - 8,
        s,
        true,
        Anchor::Left,
        colour::INK,
    )?;
    c.text(
        &l.xlab,
        (x0 + x1) / 2,
        y1 + 8 + (s * 2.2) as i32,
        s,
        false,
        Anchor::Center,
        colour::MUTED,
    )?;
    Ok(())
}
