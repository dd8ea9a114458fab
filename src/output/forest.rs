//! Forest plots (metafor `forest()`): study squares with area ∝ weight, CI
//! whiskers with arrows where clipped, the pooled random-effects diamond with
//! its prediction interval, optional subgroup diamonds, a flags column and a
//! model/heterogeneity footer.
//!
//! Building a plot is three steps: [`forest_data`] collects what to show from
//! studies and a fit, [`super::layout::forest_layout`] computes the geometry,
//! and [`forest_png`] / [`forest_svg`] draw that geometry.
//!
//! # Examples
//!
//! ```
//! use spotmeta::output::forest::{ForestSpec, forest_data, forest_png};
//! use spotmeta::output::layout::{ForestStudy, ForestStyle, forest_layout};
//! use spotmeta::{RmaOptions, rma};
//! let opts = RmaOptions::default().check()?;
//! let (yi, vi) = ([0.2, 0.5, 0.1], [0.04, 0.02, 0.05]);
//! let fit = rma(&yi, &vi, &opts)?;
//! let studies = (0..3)
//!     .map(|i| ForestStudy::new(format!("Study {}", i + 1), Some(40), yi[i], vi[i]))
//!     .collect();
//! let data = forest_data(studies, None, &fit, &opts, &ForestSpec::default())?;
//! let png = forest_png(&forest_layout(&data, &ForestStyle::default()))?;
//! assert_eq!(&png[1..4], b"PNG");
//! # Ok::<(), spotmeta::Error>(())
//! ```

use super::canvas::{Anchor, Canvas, render_png, render_svg};
use super::layout::{
    ForestData, ForestGroup, ForestLayout, ForestPages, ForestStudy, Mark, Pooled,
};
use super::rob::{Palette, forest_rob_png, forest_rob_svg, traffic_light};
use super::style::{colour, num, p_clause, size};
use crate::analysis::multilevel_primary::ThreeLevel;
use crate::analysis::rob::RobAssessment;
use crate::analysis::subgroup::{levels_in_order, subgroup_qm, subgroup_qm_multilevel};
use crate::error::Result;
use crate::model::multilevel::Clusters;
use crate::model::{Method, RmaFit, TestKind, ValidRmaOptions, rma};
use plotters::prelude::DrawingBackend;

/// Axis label for the spot-reduction dataset (positive g favours the trained
/// region).
pub const SPOT_XLAB: &str = "← favours control · favours spot reduction →";

/// Footer line of a three-level forest plot explaining the cluster bands.
pub const CLUSTER_NOTE: &str = "Shaded bands and brackets at the left join the rows of one study: one cluster of the three-level model and of the CR2 standard errors.";

/// Neutral axis label for generic tables.
pub const GENERIC_XLAB: &str = "← lower in group 1 · higher in group 1 →";

/// Labels and legend of a forest plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestSpec {
    /// Effect column heading, e.g. "Hedges' g".
    pub effect_label: String,
    /// Axis label (" · " splits it around zero).
    pub xlab: String,
    /// Flag codes and their meanings, shown when a study has flags.
    pub legend: Vec<(String, String)>,
}

impl Default for ForestSpec {
    fn default() -> Self {
        ForestSpec {
            effect_label: "Estimate".into(),
            xlab: GENERIC_XLAB.into(),
            legend: Vec::new(),
        }
    }
}

impl ForestStudy {
    /// A study without flags; its weight is filled in by [`forest_data`].
    pub fn new(label: impl Into<String>, n: Option<u32>, yi: f64, vi: f64) -> Self {
        ForestStudy {
            label: label.into(),
            n,
            yi,
            vi,
            weight: 0.0,
            flags: Vec::new(),
            interval: None,
            cluster: None,
        }
    }
}

/// Short forms of the confound-flag codes for the forest plot's narrow flags
/// column (`MANUAL_*` codes are numbered `M1`, `M2`, … by [`flag_column`]).
pub const FLAG_SHORT: &[(&str, &str)] = &[
    ("EE_SESSION_LENGTH", "EE-S"),
    ("EE_SESSION_UNREPORTED", "EE-U"),
    ("EE_WEEKLY_VOLUME", "EE-W"),
    ("EE_NO_EXERCISE_CONTROL", "EE-N"),
    ("EE_NOT_MEASURED", "EE-M"),
    ("DIET_UNCONTROLLED", "Diet"),
    ("MEASURE_IMPRECISE", "Meas"),
    ("REGION_PRONE", "Reg"),
    ("IMPUTED", "Imp"),
    ("SMALL_N", "SmN"),
];

/// The flags column of a forest plot: short codes per study and the legend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagColumn {
    /// Short codes of each study, in the order given.
    pub per_study: Vec<Vec<String>>,
    /// (short code, "FULL_CODE: meaning") for the codes present, in the
    /// order of [`crate::analysis::confounds::CODES`], manual codes last.
    pub legend: Vec<(String, String)>,
}

/// Abbreviate the flag codes of each study (one list per study) so the
/// column stays narrow, and build the legend of the codes present: known codes
/// get their short form from [`FLAG_SHORT`] and their meaning from
/// [`crate::analysis::confounds::CODES`]; `MANUAL_*` codes are numbered in
/// order of first appearance (`M1 = MANUAL_SAMPLE_OVERLAP: manual flag …`);
/// unknown codes are shown as they are.
pub fn flag_column(codes: &[Vec<String>]) -> FlagColumn {
    use crate::analysis::confounds::CODES;
    let mut manual: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut per_study = Vec::new();
    for list in codes {
        let mut row = Vec::new();
        for code in list {
            if !seen.contains(code) {
                seen.push(code.clone());
            }
            let short = if let Some((_, s)) = FLAG_SHORT.iter().find(|(c, _)| c == code) {
                s.to_string()
            } else if code.starts_with("MANUAL_") {
                let i = match manual.iter().position(|m| m == code) {
                    Some(i) => i,
                    None => {
                        manual.push(code.clone());
                        manual.len() - 1
                    }
                };
                format!("M{}", i + 1)
            } else {
                code.clone()
            };
            if !row.contains(&short) {
                row.push(short);
            }
        }
        per_study.push(row);
    }
    let mut legend = Vec::new();
    for (code, meaning) in CODES {
        if let Some((_, short)) = FLAG_SHORT.iter().find(|(c, _)| c == code)
            && seen.iter().any(|s| s == code)
        {
            legend.push((short.to_string(), format!("{code}: {meaning}")));
        }
    }
    for code in &seen {
        let known = FLAG_SHORT.iter().any(|(c, _)| c == code);
        if !known && !code.starts_with("MANUAL_") {
            legend.push((code.clone(), code.clone()));
        }
    }
    for (i, code) in manual.iter().enumerate() {
        legend.push((
            format!("M{}", i + 1),
            format!("{code}: manual flag from the dataset's manual_flag column"),
        ));
    }
    FlagColumn { per_study, legend }
}

/// The forest-plot studies of the spot-reduction primary analysis (`sel`),
/// each with its confound flags (from
/// [`crate::analysis::confounds::flag_dataset`], matched by line) as short
/// codes, and the legend of the codes present. `with_outcome` labels each
/// row by its region and method instead (for plots with several outcomes per
/// study, under a heading per study).
pub fn spot_studies(
    ds: &crate::data::SpotDataset,
    sel: &crate::analysis::primary::Selection,
    conf: &crate::analysis::confounds::ConfoundOptions,
    with_outcome: bool,
) -> (Vec<ForestStudy>, Vec<(String, String)>) {
    let flags = crate::analysis::confounds::flag_dataset(ds, sel, conf);
    let flags_by_line = crate::data::ByLine::new(&flags, |f| f.line);
    let codes: Vec<Vec<String>> = sel
        .used
        .iter()
        .map(|u| {
            flags_by_line
                .get(u.line)
                .map(|f| f.flags.iter().map(|x| x.code.clone()).collect())
                .unwrap_or_default()
        })
        .collect();
    let col = flag_column(&codes);
    let studies = sel
        .used
        .iter()
        .zip(col.per_study)
        .map(|(u, short)| {
            let label = if with_outcome {
                u.outcome.clone()
            } else {
                u.label.clone()
            };
            let mut s = ForestStudy::new(label, u.n, u.effect.yi, u.effect.vi);
            s.flags = short;
            s
        })
        .collect();
    (studies, col.legend)
}

/// "Random-effects model (REML τ², Knapp–Hartung t(1))".
pub fn model_name(fit: &RmaFit) -> String {
    let test = match (fit.test, fit.ddf) {
        (TestKind::Z, _) => "z test".to_string(),
        (TestKind::Knha, Some(df)) => format!("Knapp–Hartung t({df}) test"),
        (TestKind::Adhoc, Some(df)) => format!("truncated Knapp–Hartung t({df}) test"),
        (t, _) => format!("{} test", t.as_str()),
    };
    if fit.method == Method::FE {
        format!("Common-effect model, {test}")
    } else {
        format!(
            "Random-effects model, τ² by {}, {test}",
            fit.method.as_str()
        )
    }
}

/// "Heterogeneity: τ² = 0.000 (τ = 0.000), I² = 0.0%, Q(1) = 0.97, p = 0.33".
pub fn heterogeneity_line(fit: &RmaFit) -> String {
    let mut s = String::from("Heterogeneity: ");
    if fit.method != Method::FE {
        s += &format!("τ² = {} (τ = {}), ", num(fit.tau2, 3), num(fit.tau(), 3));
    }
    if let Some(i2) = fit.i2 {
        s += &format!("I² = {}%, ", num(i2, 1));
    }
    s += &format!(
        "Q({}) = {}, {}",
        fit.q_df,
        num(fit.q, 2),
        p_clause(fit.q_pval())
    );
    s
}

/// "Test of the pooled effect: t(1) = −1.71, p = 0.34".
pub fn test_line(fit: &RmaFit) -> String {
    let stat = match fit.ddf {
        Some(df) => format!("t({df})"),
        None => "z".into(),
    };
    format!(
        "Test of the pooled effect: {stat} = {}, {}",
        num(fit.zval, 2),
        p_clause(fit.pval())
    )
}

fn pooled(label: String, fit: &RmaFit, with_pi: bool) -> Pooled {
    Pooled {
        label,
        estimate: fit.estimate,
        ci_lb: fit.ci_lb,
        ci_ub: fit.ci_ub,
        pi: (with_pi && fit.method != Method::FE && fit.k > 1).then_some((fit.pi_lb, fit.pi_ub)),
    }
}

fn model_label(fit: &RmaFit) -> String {
    if fit.method == Method::FE {
        format!("Common-effect model (k = {})", fit.k)
    } else {
        format!("Random-effects model (k = {})", fit.k)
    }
}

/// Collect what a forest plot shows: the studies (weights taken from `fit`,
/// the overall model), optional subgroups `by` (one value per study; blocks in
/// order of first appearance, each pooled with `opts`), the overall diamond
/// and prediction interval, and the footer lines.
pub fn forest_data(
    mut studies: Vec<ForestStudy>,
    by: Option<&[String]>,
    fit: &RmaFit,
    opts: &ValidRmaOptions,
    spec: &ForestSpec,
) -> Result<ForestData> {
    for s in &mut studies {
        s.weight = fit.weight_percent(s.vi);
    }
    let subgroup_test = by.map(|keys| {
        let yi: Vec<f64> = studies.iter().map(|s| s.yi).collect();
        let vi: Vec<f64> = studies.iter().map(|s| s.vi).collect();
        subgroup_test_line(&yi, &vi, keys, opts)
    });
    let groups = match by {
        None => vec![ForestGroup {
            name: None,
            studies,
            pooled: None,
        }],
        Some(keys) => {
            let mut groups = Vec::new();
            for key in levels_in_order(keys) {
                let members: Vec<ForestStudy> = studies
                    .iter()
                    .zip(keys)
                    .filter(|(_, k)| *k == key)
                    .map(|(s, _)| s.clone())
                    .collect();
                let yi: Vec<f64> = members.iter().map(|s| s.yi).collect();
                let vi: Vec<f64> = members.iter().map(|s| s.vi).collect();
                let sub = rma(&yi, &vi, opts)?;
                let mut label = format!("Subtotal (k = {}", sub.k);
                if let (Some(i2), true) = (sub.i2, sub.k > 1) {
                    label += &format!("; I² = {}%", num(i2, 0));
                }
                label.push(')');
                groups.push(ForestGroup {
                    name: Some(block_name(key)),
                    studies: members,
                    pooled: Some(pooled(label, &sub, false)),
                });
            }
            groups
        }
    };
    Ok(ForestData {
        effect_label: spec.effect_label.clone(),
        level: fit.level * 100.0,
        groups,
        overall: pooled(model_label(fit), fit, true),
        xlab: spec.xlab.clone(),
        footer: [
            format!("{}.", model_name(fit)),
            format!("{}.", heterogeneity_line(fit)),
            format!("{}.", test_line(fit)),
        ]
        .into_iter()
        .chain(subgroup_test.map(|l| format!("{l}.")))
        .collect(),
        legend: spec.legend.clone(),
        title: None,
        more: None,
    })
}

/// The test for subgroup differences as metafor's forest-with-subgroups
/// examples print it: Q_M of `rma(yi, vi, mods = ~ factor(group))` with the
/// same estimator and test ([`subgroup_qm`]): "Test for subgroup
/// differences: Q_M = 3.41, df = 2, p = 0.18", or under Knapp–Hartung
/// "Test for subgroup differences: F = 1.20, df = (2, 10), p = 0.33". When
/// it cannot be computed (one subgroup, or no more studies than subgroups)
/// the line says why.
pub fn subgroup_test_line(
    yi: &[f64],
    vi: &[f64],
    keys: &[String],
    opts: &ValidRmaOptions,
) -> String {
    let head = "Test for subgroup differences";
    match subgroup_qm(yi, vi, keys, opts) {
        Ok(t) => match t.qm_df {
            (df1, Some(df2)) => format!(
                "{head}: F = {}, df = ({df1}, {df2}), {}",
                num(t.qm, 2),
                p_clause(Some(t.qm_pval))
            ),
            (df, None) => format!(
                "{head}: Q_M = {}, df = {df}, {}",
                num(t.qm, 2),
                p_clause(Some(t.qm_pval))
            ),
        },
        Err(_) if levels_in_order(keys).len() < 2 => format!("{head}: none (one subgroup)"),
        Err(_) => format!(
            "{head}: not computed (k = {} studies in {} subgroups; Q_M needs more studies than subgroups)",
            yi.len(),
            levels_in_order(keys).len()
        ),
    }
}

/// The test for subgroup differences of the three-level forest plot with
/// `by`: Q_M of `rma.mv(yi, vi, mods = ~ factor(by), random = ~ 1 |
/// cluster/row)` (REML, z, as the plot's three-level fits;
/// [`subgroup_qm_multilevel`]): "Test for subgroup differences
/// (three-level model, one shared σ²): Q_M = 1.58, df = 5, p = 0.90", or
/// why it cannot be computed.
pub fn subgroup_test_line_three_level(
    yi: &[f64],
    vi: &[f64],
    keys: &[String],
    clusters: &[String],
    opts: &ValidRmaOptions,
) -> String {
    let head = "Test for subgroup differences";
    let opts = opts.with_method(Method::REML).with_test(TestKind::Z);
    let cl = Clusters::from_labels(clusters);
    match subgroup_qm_multilevel(yi, vi, keys, &cl, &opts) {
        Ok(t) => format!(
            "{head} (three-level model, one shared \u{3c3}\u{b2}): Q_M = {}, df = {}, {}",
            num(t.qm, 2),
            t.qm_df.0,
            p_clause(Some(t.qm_pval))
        ),
        Err(_) if levels_in_order(keys).len() < 2 => format!("{head}: none (one subgroup)"),
        Err(e) => format!("{head}: not computed ({e})"),
    }
}

/// Collect what the forest plot of the three-level model + CR2 shows (issue
/// #8; metafor `forest()` on `robust(rma.mv(...), clubSandwich = TRUE)`):
/// one row per outcome (`studies`, labelled by the outcome; `clusters[i]` is
/// the cluster of row i and `headings[i]` its study's display name) weighted
/// as metafor `weights()` of the `rma.mv` fit, the diamond at the CR2 CI, the
/// bar at the prediction interval, and a model footer with both variance
/// components and I² by level. Rows are shown under a heading per study
/// (per cohort when a study has several); with `by`, blocks follow `by`
/// instead (rows labelled "study · outcome"), each with its own three-level
/// diamond when it can be fitted (at least 2 studies and more outcomes than
/// studies) and none otherwise, and the footer adds the test for subgroup
/// differences ([`subgroup_test_line_three_level`]).
///
/// Either way the rows of one cluster are kept together (clusters in order of
/// first appearance) and carry their cluster, so the layout shades every
/// other cluster and brackets the rows that share one: the grouping the model
/// uses is visible, also where a cluster spans two cohort headings or a `by`
/// block holds outcomes of several studies.
pub fn forest_data_three_level(
    mut studies: Vec<ForestStudy>,
    clusters: &[String],
    headings: &[String],
    by: Option<&[String]>,
    t: &ThreeLevel,
    opts: &ValidRmaOptions,
    spec: &ForestSpec,
) -> Result<ForestData> {
    for ((s, w), c) in studies.iter_mut().zip(&t.weights).zip(clusters) {
        s.weight = *w;
        s.cluster = Some(c.clone());
    }
    let subgroup_test = by.map(|keys| {
        let yi: Vec<f64> = studies.iter().map(|s| s.yi).collect();
        let vi: Vec<f64> = studies.iter().map(|s| s.vi).collect();
        subgroup_test_line_three_level(&yi, &vi, keys, clusters, opts)
    });
    // Row order: clusters in order of first appearance, within a cluster
    // its headings (cohorts) in order of first appearance, then the rows as
    // given (a stable sort).
    let cluster_order = levels_in_order(clusters);
    let heading_order = levels_in_order(headings);
    let rank = |i: usize| {
        (
            cluster_order.iter().position(|c| **c == clusters[i]),
            heading_order.iter().position(|h| **h == headings[i]),
        )
    };
    let mut order_idx: Vec<usize> = (0..studies.len()).collect();
    order_idx.sort_by_key(|&i| rank(i));
    let groups = match by {
        None => {
            let mut groups: Vec<ForestGroup> = Vec::new();
            for i in order_idx {
                let (s, h) = (studies[i].clone(), &headings[i]);
                match groups.last_mut() {
                    Some(g) if g.name.as_deref() == Some(h.as_str()) => g.studies.push(s),
                    _ => groups.push(ForestGroup {
                        name: Some(h.clone()),
                        studies: vec![s],
                        pooled: None,
                    }),
                }
            }
            groups
        }
        Some(keys) => {
            for (s, h) in studies.iter_mut().zip(headings) {
                s.label = format!("{h} · {}", s.label);
            }
            let mut groups = Vec::new();
            for key in levels_in_order(keys) {
                let idx: Vec<usize> = order_idx
                    .iter()
                    .copied()
                    .filter(|&i| keys[i] == *key)
                    .collect();
                let members: Vec<ForestStudy> = idx.iter().map(|&i| studies[i].clone()).collect();
                let yi: Vec<f64> = members.iter().map(|s| s.yi).collect();
                let vi: Vec<f64> = members.iter().map(|s| s.vi).collect();
                let labels: Vec<String> = idx.iter().map(|&i| clusters[i].clone()).collect();
                let cl = Clusters::from_labels(&labels);
                let pooled = if cl.len() >= 2 && yi.len() > cl.len() {
                    ThreeLevel::fit(&yi, &vi, &cl, opts).ok().map(|sub| {
                        three_level_pooled(
                            format!("Subtotal (k = {}; {} studies)", sub.fit.k, sub.fit.clusters),
                            &sub,
                            false,
                        )
                    })
                } else {
                    None
                };
                groups.push(ForestGroup {
                    name: Some(block_name(key)),
                    studies: members,
                    pooled,
                });
            }
            groups
        }
    };
    let f = &t.fit;
    Ok(ForestData {
        effect_label: spec.effect_label.clone(),
        level: f.level * 100.0,
        groups,
        overall: three_level_pooled(
            format!(
                "Three-level model + CR2 (k = {}; {} studies)",
                f.k, f.clusters
            ),
            t,
            true,
        ),
        xlab: spec.xlab.clone(),
        footer: vec![
            format!("{}.", three_level_model_name(t)),
            format!("{}.", three_level_heterogeneity_line(t)),
            format!(
                "Test of the pooled effect: t({}) = {}, {}.",
                num(t.robust.df[0], 2),
                num(t.robust.tval[0], 2),
                p_clause(Some(t.robust.pval[0]))
            ),
        ]
        .into_iter()
        .chain(subgroup_test.map(|l| format!("{l}.")))
        .chain([CLUSTER_NOTE.to_string()])
        .collect(),
        legend: spec.legend.clone(),
        title: None,
        more: None,
    })
}

fn three_level_pooled(label: String, t: &ThreeLevel, with_pi: bool) -> Pooled {
    Pooled {
        label,
        estimate: t.robust.beta[0],
        ci_lb: t.robust.ci_lb[0],
        ci_ub: t.robust.ci_ub[0],
        pi: with_pi.then_some(t.pi),
    }
}

/// "Three-level model (REML; outcomes within studies), CR2 cluster-robust
/// t(3.98) test".
pub fn three_level_model_name(t: &ThreeLevel) -> String {
    format!(
        "Three-level model (REML; outcomes within studies), CR2 cluster-robust t({}) test with Satterthwaite df",
        num(t.robust.df[0], 2)
    )
}

/// "Heterogeneity: σ² between studies = 0.180, within = 0.040; I² = 74.9%
/// (between 61.2%, within 13.6%); Q(9) = 29.15, p = 0.0006".
pub fn three_level_heterogeneity_line(t: &ThreeLevel) -> String {
    let f = &t.fit;
    format!(
        "Heterogeneity: σ² between studies = {}, within studies = {}; I² = {}% (between {}%, within {}%); Q({}) = {}, {}",
        num(f.sigma2[0], 3),
        num(f.sigma2[1], 3),
        num(f.i2[0], 1),
        num(f.i2[1], 1),
        num(f.i2[2], 1),
        f.k - f.beta.len(),
        num(f.qe, 2),
        p_clause(Some(f.qe_pval))
    )
}

/// Heading of a `--by` block: the value, or "(missing)" for an empty one.
fn block_name(key: &str) -> String {
    if key.is_empty() {
        "(missing)".to_string()
    } else {
        key.to_string()
    }
}

/// Draw a forest layout onto a canvas (origin at the layout's top left).
pub fn draw_forest<DB: DrawingBackend>(c: &Canvas<'_, DB>, l: &ForestLayout) -> Result<()> {
    let cols = &l.columns;
    // Cluster bands first, so everything else draws over the shading.
    for b in &l.clusters {
        if b.shaded {
            c.rect(l.band_x.0, b.top, l.band_x.1, b.bottom, colour::BAND)?;
        }
        if let Some(x) = b.bracket {
            let (t, u) = (b.top + 5, b.bottom - 5);
            c.rect(x, t, x + 2, u, colour::BRACKET)?;
            c.rect(x, t, x + 7, t + 2, colour::BRACKET)?;
            c.rect(x, u - 2, x + 7, u, colour::BRACKET)?;
        }
    }
    for t in &l.header {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::INK)?;
    }
    c.rect(
        cols.label,
        l.header_rule,
        cols.weight,
        l.header_rule + 1,
        colour::RULE,
    )?;
    c.rect(
        cols.label,
        l.pooled_rule,
        cols.weight,
        l.pooled_rule + 1,
        colour::RULE,
    )?;
    if let Some(z) = l.zero {
        c.dotted_vline(z, l.zero_span.0, l.zero_span.1, colour::MUTED)?;
    }
    let fs = l.font_size;
    for r in &l.rows {
        let ink = colour::INK;
        for t in &r.label {
            c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, ink)?;
        }
        if let Some(fx) = cols.flags {
            c.text(
                &r.flags,
                fx,
                r.baseline,
                fs,
                true,
                Anchor::Left,
                colour::FLAGGED,
            )?;
        }
        c.text(&r.n, cols.n, r.baseline, fs, false, Anchor::Right, ink)?;
        c.text(
            &r.effect,
            cols.effect,
            r.baseline,
            fs,
            r.bold,
            Anchor::Right,
            ink,
        )?;
        c.text(
            &r.weight,
            cols.weight,
            r.baseline,
            fs,
            r.bold,
            Anchor::Right,
            ink,
        )?;
        let y = r.y;
        match r.mark {
            Mark::None => {}
            Mark::Study {
                x,
                half,
                lo,
                hi,
                clipped_lo,
                clipped_hi,
                off_scale: _,
                flagged,
            } => {
                let col = if flagged {
                    colour::FLAGGED
                } else {
                    colour::STUDY
                };
                c.rect(lo, y, hi + 1, y + 2, col)?;
                if clipped_lo {
                    c.polygon(&[(lo - 2, y + 1), (lo + 8, y - 4), (lo + 8, y + 6)], col)?;
                }
                if clipped_hi {
                    c.polygon(&[(hi + 3, y + 1), (hi - 7, y - 4), (hi - 7, y + 6)], col)?;
                }
                if !clipped_lo {
                    c.rect(lo, y - 4, lo + 2, y + 6, col)?;
                }
                if !clipped_hi {
                    c.rect(hi - 1, y - 4, hi + 1, y + 6, col)?;
                }
                c.rect(x - half, y + 1 - half, x + half + 1, y + 2 + half, col)?;
            }
            Mark::Diamond {
                lo,
                x,
                hi,
                half,
                overall,
            } => {
                let col = if overall {
                    colour::POOLED
                } else {
                    colour::SUBTOTAL
                };
                c.polygon(
                    &[
                        (lo, y + 1),
                        (x, y + 1 - half),
                        (hi, y + 1),
                        (x, y + 1 + half),
                    ],
                    col,
                )?;
            }
            Mark::Interval {
                lo,
                hi,
                clipped_lo,
                clipped_hi,
            } => {
                let col = colour::PI;
                c.rect(lo, y - 1, hi + 1, y + 3, col)?;
                if clipped_lo {
                    c.polygon(&[(lo - 2, y + 1), (lo + 8, y - 4), (lo + 8, y + 6)], col)?;
                } else {
                    c.rect(lo, y - 5, lo + 2, y + 7, col)?;
                }
                if clipped_hi {
                    c.polygon(&[(hi + 3, y + 1), (hi - 7, y - 4), (hi - 7, y + 6)], col)?;
                } else {
                    c.rect(hi - 1, y - 5, hi + 1, y + 7, col)?;
                }
            }
        }
    }
    // Axis.
    c.rect(
        cols.plot_left,
        l.axis_y,
        cols.plot_right + 1,
        l.axis_y + 1,
        colour::INK,
    )?;
    for t in &l.ticks {
        c.rect(t.x, l.axis_y, t.x + 1, l.axis_y + 6, colour::INK)?;
        c.text(
            &t.label,
            t.x,
            l.tick_baseline,
            size::SMALL,
            false,
            Anchor::Center,
            colour::INK,
        )?;
    }
    for t in &l.xlab {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
    }
    for t in &l.footer {
        c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
    }
    if let Some((x, y)) = l.legend_marker {
        c.rect(x - 6, y - 11, x + 6, y + 1, colour::FLAGGED)?;
    }
    for e in &l.legend {
        c.text(
            &e.code,
            e.x,
            e.y,
            e.size,
            true,
            Anchor::Left,
            colour::FLAGGED,
        )?;
        for t in &e.text {
            c.text(&t.text, t.x, t.y, t.size, t.bold, t.anchor, colour::MUTED)?;
        }
    }
    Ok(())
}

/// The forest plot as PNG bytes.
pub fn forest_png(l: &ForestLayout) -> Result<Vec<u8>> {
    render_png(l.width as u32, l.height as u32, "forest plot (PNG)", |c| {
        draw_forest(c, l)
    })
}

/// The forest plot as an SVG document.
pub fn forest_svg(l: &ForestLayout) -> Result<String> {
    render_svg(l.width as u32, l.height as u32, "forest plot (SVG)", |c| {
        draw_forest(c, l)
    })
}

/// Image format of a plot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG bitmap.
    Png,
    /// SVG vector graphic (text as glyph outlines).
    Svg,
}

impl std::str::FromStr for ImageFormat {
    type Err = crate::Error;
    /// `png` or `svg`, in any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "png" => Ok(ImageFormat::Png),
            "svg" => Ok(ImageFormat::Svg),
            _ => Err(crate::Error::option(
                "image format",
                format!("unknown image format `{s}`; use png or svg"),
            )),
        }
    }
}

impl ImageFormat {
    /// `given`, else the format the extension of `out` names (`.png`,
    /// `.svg`, in any case).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Option`] naming `out` when there is no `given` format
    /// and its extension is neither.
    ///
    /// # Examples
    ///
    /// ```
    /// use spotmeta::output::forest::ImageFormat;
    /// use std::path::Path;
    /// assert_eq!(ImageFormat::of(Path::new("f.SVG"), None)?, ImageFormat::Svg);
    /// assert_eq!(ImageFormat::of(Path::new("f.out"), Some(ImageFormat::Png))?, ImageFormat::Png);
    /// assert!(ImageFormat::of(Path::new("f.out"), None).is_err());
    /// # Ok::<(), spotmeta::Error>(())
    /// ```
    pub fn of(out: &std::path::Path, given: Option<ImageFormat>) -> Result<ImageFormat> {
        if let Some(f) = given {
            return Ok(f);
        }
        out.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse().ok())
            .ok_or_else(|| {
                crate::Error::option(
                    "--out",
                    format!(
                        "cannot tell the image format from `{}`; end the file name in .png or .svg, or pass --format png|svg",
                        out.display()
                    ),
                )
            })
    }
}

/// Page `i` (0-based) of a paged forest plot as image bytes; with `rob`
/// (each drawn study's assessment, in drawing order, and the palette) the
/// page carries the risk-of-bias traffic-light column of its own studies.
///
/// # Errors
///
/// As [`forest_png`] / [`forest_svg`].
///
/// # Panics
///
/// When `i` is not a page of `pages`, or `rob` does not hold one entry per
/// study.
pub fn forest_page(
    pages: &ForestPages<'_>,
    i: usize,
    format: ImageFormat,
    rob: Option<(&[Option<RobAssessment>], Palette)>,
) -> Result<Vec<u8>> {
    let l = pages.layout(i);
    match (rob, format) {
        (Some((all, palette)), _) => {
            let t = traffic_light(&l, &all[pages.plan()[i].studies.clone()], palette);
            match format {
                ImageFormat::Png => forest_rob_png(&t),
                ImageFormat::Svg => forest_rob_svg(&t).map(String::into_bytes),
            }
        }
        (None, ImageFormat::Png) => forest_png(&l),
        (None, ImageFormat::Svg) => forest_svg(&l).map(String::into_bytes),
    }
}

/// The forest plot of `data` cut to at most `max_rows` rows above the
/// overall diamond, for the report page (issue #19): when `data` has more
/// rows, the studies with the largest weights that fit (ties: the earlier
/// first) are kept in their order and blocks, blocks left without a study
/// are dropped, and a last row says how many studies are not shown and
/// that `spotmeta forest` draws them all (as pages). The pooled diamonds,
/// weights and footer are those of every study. `data` as it is when its
/// rows fit.
///
/// Time O(k log max_rows); besides `data`, memory O(max_rows): the
/// candidates are kept in a heap of at most `max_rows` studies.
pub fn largest_weights(data: ForestData, max_rows: usize) -> ForestData {
    use std::cmp::{Ordering, Reverse};
    use std::collections::BinaryHeap;
    if data.row_refs().count() <= max_rows {
        return data;
    }
    /// A study by weight; among equal weights the earlier ranks higher.
    #[derive(Debug, Clone, Copy)]
    struct Cand {
        w: f64,
        g: usize,
        i: usize,
    }
    impl Ord for Cand {
        fn cmp(&self, o: &Self) -> Ordering {
            self.w
                .total_cmp(&o.w)
                .then_with(|| (o.g, o.i).cmp(&(self.g, self.i)))
        }
    }
    impl PartialOrd for Cand {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl PartialEq for Cand {
        fn eq(&self, o: &Self) -> bool {
            self.cmp(o) == Ordering::Equal
        }
    }
    impl Eq for Cand {}
    // No more than `max_rows` studies can be drawn: keep that many.
    let mut heap = BinaryHeap::with_capacity(max_rows + 1);
    for (g, grp) in data.groups.iter().enumerate() {
        for (i, s) in grp.studies.iter().enumerate() {
            heap.push(Reverse(Cand { w: s.weight, g, i }));
            if heap.len() > max_rows {
                heap.pop();
            }
        }
    }
    let mut cands: Vec<Cand> = heap.into_iter().map(|Reverse(c)| c).collect();
    cands.sort_by(|a, b| b.cmp(a));
    // Fill the page, the "+N more" row aside: a study opening a block also
    // brings its heading and subtotal.
    let budget = max_rows.saturating_sub(1);
    let (mut used, mut open, mut kept) = (0, Vec::<usize>::new(), Vec::new());
    for c in cands {
        let grp = &data.groups[c.g];
        let extra = if open.contains(&c.g) {
            0
        } else {
            usize::from(grp.name.is_some()) + usize::from(grp.pooled.is_some())
        };
        if used + 1 + extra > budget {
            continue;
        }
        used += 1 + extra;
        if !open.contains(&c.g) {
            open.push(c.g);
        }
        kept.push((c.g, c.i));
    }
    kept.sort_unstable();
    let total = data.studies().count();
    let blocks = data.groups.len();
    let mut groups: Vec<ForestGroup> = Vec::new();
    let mut last_g = None;
    for (g, i) in kept.iter().copied() {
        let src = &data.groups[g];
        if last_g != Some(g) {
            groups.push(ForestGroup {
                name: src.name.clone(),
                studies: Vec::new(),
                pooled: src.pooled.clone(),
            });
            last_g = Some(g);
        }
        if let Some(dst) = groups.last_mut() {
            dst.studies.push(src.studies[i].clone());
        }
    }
    let dropped = blocks - groups.len();
    let mut more = format!(
        "+{} more studies, smaller weights (all: spotmeta forest)",
        total - kept.len()
    );
    if dropped > 0 && blocks > 1 {
        more +=
            &format!("; {dropped} subgroups have none of the largest weights and are not shown");
    }
    ForestData {
        groups,
        more: Some(more),
        ..data
    }
}
