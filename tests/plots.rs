//! Forest and funnel plots: layout snapshots (insta, JSON) for the spot
//! primary analysis and the BCG demo with subgroups, and PNG smoke tests
//! (decodes, expected size, not blank, text present), plus the albatross
//! plot (issue #9). CLI behaviour of `spotmeta forest` and `spotmeta
//! albatross` is tested here too.

mod common;

use common::spotmeta;
use spotmeta::analysis::albatross::AlbatrossPoint;
use spotmeta::analysis::confounds::ConfoundOptions;
use spotmeta::analysis::primary::primary_analysis;
use spotmeta::data::Design;
use spotmeta::data::{Table, load_spot};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::escalc::table::{Source, effects};
use spotmeta::output::albatross::{AlbatrossData, albatross_layout, albatross_png, albatross_svg};
use spotmeta::output::forest::{
    ForestSpec, SPOT_XLAB, flag_column, forest_data, forest_png, forest_svg, spot_studies,
};
use spotmeta::output::funnel::{FunnelData, KeyKind, funnel_layout, funnel_png};
use spotmeta::output::layout::{
    ForestData, ForestLayout, ForestStudy, ForestStyle, Mark, forest_layout,
};
use spotmeta::output::style::{size, text_width};
use spotmeta::{Method, RmaOptions, TestKind, rma};

fn spot_forest() -> ForestData {
    let opts = RmaOptions {
        method: Method::REML,
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let ds = load_spot(&common::dataset("spot_reduction.csv")).unwrap();
    let pa = primary_analysis(&ds, &SpotOptions::default(), &opts).unwrap();
    let (studies, legend) = spot_studies(&ds, &pa.selection, &ConfoundOptions::default(), false);
    let spec = ForestSpec {
        effect_label: "Hedges' g".into(),
        xlab: SPOT_XLAB.into(),
        legend,
    };
    forest_data(studies, None, &pa.fit, &opts, &spec).unwrap()
}

/// The BCG demo (metadat dat.bcg, yi/vi as in metafor's escalc RR) with a
/// made-up allocation column for subgroups.
fn bcg_by_alloc(flags: bool) -> ForestData {
    let table = Table::read(common::dataset("colditz1994_bcg.csv")).unwrap();
    let rows = effects(
        &table,
        &Source::YiVi {
            yi: "yi".into(),
            vi: "vi".into(),
        },
        None,
    )
    .unwrap();
    let alloc = [
        "random",
        "random",
        "random",
        "alternate",
        "random",
        "alternate",
        "random",
        "random",
        "systematic",
        "systematic",
        "random",
        "systematic",
        "systematic",
    ];
    let opts = RmaOptions::default().check().unwrap();
    let yi: Vec<f64> = rows.iter().map(|r| r.yi.unwrap()).collect();
    let vi: Vec<f64> = rows.iter().map(|r| r.vi.unwrap()).collect();
    let fit = rma(&yi, &vi, &opts).unwrap();
    let studies = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut s = ForestStudy::new(r.label.clone(), None, yi[i], vi[i]);
            if flags && i % 4 == 1 {
                s.flags = vec!["EE".into()];
            }
            s
        })
        .collect();
    let keys: Vec<String> = alloc.iter().map(|s| s.to_string()).collect();
    let spec = ForestSpec {
        effect_label: "log RR".into(),
        legend: vec![(
            "EE".into(),
            "energy expenditure not matched between arms".into(),
        )],
        ..Default::default()
    };
    forest_data(studies, Some(&keys), &fit, &opts, &spec).unwrap()
}

fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().expect("valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("valid PNG data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Non-white pixels in the rectangle [x0, x1) × [y0, y1).
fn ink(px: &[u8], w: u32, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * w + x) * 3) as usize;
            if px[i..i + 3] != [255, 255, 255] {
                n += 1;
            }
        }
    }
    n
}

fn distinct_colours(px: &[u8]) -> usize {
    let mut set: Vec<[u8; 3]> = px.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    set.sort_unstable();
    set.dedup();
    set.len()
}

#[test]
fn spot_primary_forest_layout_snapshot() {
    let l = forest_layout(&spot_forest(), &ForestStyle::default());
    insta::assert_json_snapshot!("spot_primary_forest_layout", l);
}

#[test]
fn bcg_subgroup_forest_layout_snapshot() {
    let l = forest_layout(&bcg_by_alloc(false), &ForestStyle::default());
    // Three subgroup headings, three subtotal diamonds, one overall diamond.
    let headings = l
        .rows
        .iter()
        .filter(|r| {
            let t = r.label_text();
            t == "random" || t == "alternate" || t == "systematic"
        })
        .count();
    assert_eq!(headings, 3);
    insta::assert_json_snapshot!("bcg_by_alloc_forest_layout", l);
}

#[test]
fn flagged_studies_get_a_flags_column_and_a_legend() {
    let l = forest_layout(&bcg_by_alloc(true), &ForestStyle::default());
    assert!(l.columns.flags.is_some());
    assert!(l.legend_marker.is_some());
    assert!(
        l.legend
            .iter()
            .any(|e| e.code == "EE" && e.text[0].text.contains("energy expenditure"))
    );
    let no_flags = forest_layout(&bcg_by_alloc(false), &ForestStyle::default());
    assert!(no_flags.columns.flags.is_none() && no_flags.legend_marker.is_none());
}

#[test]
fn height_grows_with_rows_and_labels_stay_in_their_column() {
    let mut d = bcg_by_alloc(false);
    let small = forest_layout(&d, &ForestStyle::default());
    d.groups[0].studies[0].label = "An extremely long study label ".repeat(6);
    let more = d.groups[1].studies.clone();
    d.groups[0].studies.extend(more);
    let big = forest_layout(&d, &ForestStyle::default());
    assert!(big.height > small.height);
    // Far too long for two lines: shrunk, wrapped onto two lines, and only
    // then shortened; every line stays in the label column.
    let long = &big.rows[1].label;
    assert_eq!(long.len(), 2);
    assert!(long[1].text.ends_with('…'), "{long:?}");
    for t in long {
        assert_eq!(t.size, size::MIN_LABEL);
        let w = text_width(&t.text, t.size, false);
        assert!((big.columns.label as f64 + w) < big.columns.plot_left as f64);
    }
    // The row grew to hold both lines, and the next row starts below it.
    assert!(big.rows[1].bottom - big.rows[1].top > big.rows[2].bottom - big.rows[2].top);
    assert!(big.rows[2].top >= big.rows[1].bottom);
}

#[test]
fn forest_png_decodes_with_the_layout_size_and_has_text() {
    let l = forest_layout(&bcg_by_alloc(true), &ForestStyle { width: 1000 });
    let (w, h, px) = decode(&forest_png(&l).unwrap());
    assert_eq!((w, h), (1000, l.height as u32));
    assert!(distinct_colours(&px) > 50, "image looks blank");
    // Label column: antialiased text of the study names.
    let label_region = (
        l.columns.label as u32,
        60,
        (l.columns.plot_left - 10) as u32,
        h - 150,
    );
    assert!(ink(&px, w, label_region) > 2000);
    // Effect column text too.
    let eff = ((l.columns.plot_right + 10) as u32, 60, w - 10, h - 150);
    assert!(ink(&px, w, eff) > 2000);
}

#[test]
fn forest_svg_has_text_and_shapes() {
    let svg = forest_svg(&forest_layout(&spot_forest(), &ForestStyle::default())).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("Walts 2008 (men)"));
    assert!(svg.contains("favours spot reduction"));
    assert!(svg.contains("<polygon"));
}

#[test]
fn funnel_png_decodes_and_is_not_blank() {
    let d = FunnelData {
        yi: vec![0.1, -0.3, 0.4],
        vi: vec![0.04, 0.01, 0.09],
        estimate: 0.05,
        xlab: "g".into(),
        ..Default::default()
    };
    let l = funnel_layout(&d, 640, 480);
    assert_eq!(l.points.len(), 3);
    // SE axis inverted: the most precise study is highest.
    assert!(l.points[1].1 < l.points[0].1 && l.points[0].1 < l.points[2].1);
    let (w, h, px) = decode(&funnel_png(&l).unwrap());
    assert_eq!((w, h), (640, l.height as u32));
    assert!(distinct_colours(&px) > 20);
}

#[test]
fn forest_cli_writes_png_and_svg_inferred_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("f.png");
    spotmeta()
        .args(["forest", "--out"])
        .arg(&png_path)
        .args(["--width", "900"])
        .assert()
        .success();
    let (w, _, _) = decode(&std::fs::read(&png_path).unwrap());
    assert_eq!(w, 900);
    let svg_path = dir.path().join("f.svg");
    spotmeta()
        .arg("forest")
        .arg(common::dataset("colditz1994_bcg.csv"))
        .args(["--method", "DL", "--out"])
        .arg(&svg_path)
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&svg_path)
            .unwrap()
            .contains("Random-effects model (k = 13)")
    );
}

#[test]
fn forest_cli_by_column_draws_subgroups() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bcg.csv");
    let table = std::fs::read_to_string(common::dataset("colditz1994_bcg.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in table.lines().enumerate() {
        let extra = if i == 0 {
            "alloc"
        } else if i % 2 == 0 {
            "random"
        } else {
            "other"
        };
        out += &format!("{line},{extra}\n");
    }
    std::fs::write(&csv, out).unwrap();
    let svg = dir.path().join("by.svg");
    spotmeta()
        .arg("forest")
        .arg(&csv)
        .args(["--by", "alloc", "--out"])
        .arg(&svg)
        .assert()
        .success();
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.contains("Subtotal (k = 6") && s.contains("Subtotal (k = 7"));
}

#[test]
fn forest_cli_fails_without_writing_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.png");
    // Unknown --by column.
    spotmeta()
        .args(["forest", "--by", "nope", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("no column `nope`"));
    // Unknown extension.
    spotmeta()
        .args(["forest", "--out"])
        .arg(dir.path().join("f.bmp"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("--format png|svg"));
    // Missing file.
    spotmeta()
        .args(["forest", "does-not-exist.csv", "--out"])
        .arg(&out)
        .assert()
        .failure();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn spot_forest_shows_the_flag_codes_of_both_pooled_rows_with_a_legend() {
    // Issue #5: Walts 2008 (men) and (women) carry IMPUTED and the manual
    // MANUAL_SAMPLE_OVERLAP flag; the column shows short codes, the legend
    // spells them out.
    let l = forest_layout(&spot_forest(), &ForestStyle::default());
    assert!(l.columns.flags.is_some());
    let walts: Vec<_> = l
        .rows
        .iter()
        .filter(|r| r.label_text().starts_with("Walts 2008"))
        .collect();
    assert_eq!(walts.len(), 2);
    for r in &walts {
        assert_eq!(r.flags, "Imp, M1", "{}", r.label_text());
        assert!(matches!(
            r.mark,
            spotmeta::output::layout::Mark::Study { flagged: true, .. }
        ));
    }
    assert!(l.legend_marker.is_some());
    let legend: Vec<(&str, &str)> = l
        .legend
        .iter()
        .map(|e| (e.code.as_str(), e.text[0].text.as_str()))
        .collect();
    assert_eq!(legend.len(), 2);
    assert_eq!(legend[0].0, "Imp");
    assert!(legend[0].1.starts_with("IMPUTED: "));
    assert_eq!(legend[1].0, "M1");
    assert!(legend[1].1.starts_with("MANUAL_SAMPLE_OVERLAP: manual"));
    // The pooled label is not shortened by the extra column.
    assert!(
        l.rows
            .iter()
            .any(|r| r.label_text() == "Random-effects model (k = 2)")
    );
}

#[test]
fn flag_column_abbreviates_known_codes_and_numbers_manual_ones() {
    let c = flag_column(&[
        vec!["EE_NO_EXERCISE_CONTROL".into(), "MANUAL_B".into()],
        vec!["MANUAL_A".into(), "SMALL_N".into(), "MANUAL_B".into()],
        vec![],
    ]);
    assert_eq!(c.per_study[0], ["EE-N", "M1"]);
    assert_eq!(c.per_study[1], ["M2", "SmN", "M1"]);
    assert!(c.per_study[2].is_empty());
    let codes: Vec<&str> = c.legend.iter().map(|(s, _)| s.as_str()).collect();
    // Codebook order, manual codes last in order of appearance.
    assert_eq!(codes, ["EE-N", "SmN", "M1", "M2"]);
    assert!(c.legend[2].1.starts_with("MANUAL_B: "));
}

#[test]
fn contour_funnel_has_the_three_significance_regions_and_hollow_filled_points() {
    let d = FunnelData {
        yi: vec![0.1, -0.3, 0.4, 0.2],
        vi: vec![0.04, 0.01, 0.09, 0.02],
        estimate: 0.05,
        fill_yi: vec![-0.5],
        fill_vi: vec![0.09],
        xlab: "g".into(),
        notes: vec!["Egger's regression test not run: too few studies.".into()],
        no_contours: None,
    };
    let l = funnel_layout(&d, 640, 480);
    let ps: Vec<f64> = l.contours.iter().map(|c| c.p).collect();
    assert_eq!(ps, [0.01, 0.05, 0.10]);
    // Nested triangles centred on 0 with a common apex at SE = 0.
    for c in &l.contours {
        assert_eq!(c.triangle[0], (l.zero_x, l.plot.1));
        assert!(c.triangle[1].0 < l.zero_x && c.triangle[2].0 > l.zero_x);
    }
    assert!(l.contours[0].triangle[1].0 < l.contours[1].triangle[1].0);
    assert!(l.contours[1].triangle[1].0 < l.contours[2].triangle[1].0);
    assert_eq!(l.filled.len(), 1);
    assert!(l.legend.iter().any(|k| k.kind == KeyKind::Filled));
    assert_eq!(
        l.legend
            .iter()
            .filter(|k| matches!(k.kind, KeyKind::Region(Some(_))))
            .count(),
        3
    );
    assert!(l.notes.iter().any(|t| t.text.starts_with("Egger's")));
    let (w, h, _) = decode(&funnel_png(&l).unwrap());
    assert_eq!((w, h), (640, l.height as u32));
    insta::assert_json_snapshot!("contour_funnel_layout", l);
}

/// Synthetic albatross data covering every mark kind: exact p on both sides,
/// "p < x" and "p > x" bounds, no direction (NS and p < x), an EE flag.
fn albatross_demo() -> AlbatrossData {
    let pt = |label: &str, n: f64, p: f64, kind: &'static str, side: i8, ee: bool| AlbatrossPoint {
        label: label.into(),
        n,
        p,
        kind,
        side,
        design: Design::Parallel,
        ee_flagged: ee,
    };
    AlbatrossData {
        points: vec![
            pt("Exact right", 40.0, 0.02, "exact", 1, false),
            pt("Exact left", 60.0, 0.3, "exact", -1, false),
            pt("Below right", 25.0, 0.05, "below", 1, true),
            pt("Above left", 80.0, 0.05, "above", -1, false),
            pt("No direction NS", 30.0, 0.05, "above", 0, true),
            pt("No direction p<0.01", 120.0, 0.01, "below", 0, false),
        ],
        not_plotted: vec![("Only a direction".into(), "no p-value".into())],
    }
}

#[test]
fn albatross_layout_snapshot() {
    let l = albatross_layout(&albatross_demo(), 900, 600);
    insta::assert_json_snapshot!("albatross_demo_layout", l);
}

#[test]
fn albatross_places_marks_by_p_direction_and_n() {
    let l = albatross_layout(&albatross_demo(), 900, 600);
    let m = |name: &str| l.marks.iter().find(|m| m.label == name).unwrap();
    let cx = l.centre_x;
    assert!(m("Exact right").x > cx && m("Exact left").x < cx);
    // Smaller p lies further out; larger n higher up.
    assert!(m("Exact right").x - cx > cx - m("Exact left").x);
    assert!(m("Above left").y < m("Exact left").y);
    // Bounds: p < x points outward, p > x inward.
    assert!(m("Below right").arrow.unwrap() > m("Below right").x);
    assert!(m("Above left").arrow.unwrap() > m("Above left").x);
    // No direction: on the centre line with bars across the possible range.
    assert_eq!(m("No direction NS").x, cx);
    assert_eq!(m("No direction NS").bars, vec![l.p05_x]);
    assert_eq!(m("No direction p<0.01").bars.len(), 2);
    // 12 mirrored contours (3 g × 2 designs × 2 sides), each labelled.
    assert_eq!(l.contours.len(), 12);
    assert!(l.contours.iter().all(|c| c.label.is_some()));
    // Every study is labelled or numbered and listed.
    for mk in &l.marks {
        assert!(
            mk.number.is_some() || l.labels.iter().any(|t| t.text == mk.label),
            "{}",
            mk.label
        );
    }
    assert!(
        l.texts
            .iter()
            .any(|t| t.text.contains("Only a direction (no p-value)"))
    );
}

#[test]
fn albatross_png_and_svg_render_deterministically() {
    let l = albatross_layout(&albatross_demo(), 900, 600);
    let a = albatross_png(&l).unwrap();
    assert_eq!(a, albatross_png(&l).unwrap());
    let (w, h, px) = decode(&a);
    assert_eq!((w, h), (900, l.height as u32));
    assert!(distinct_colours(&px) > 20);
    let svg = albatross_svg(&l).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("favours spot reduction"));
}

#[test]
fn albatross_cli_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("a.png");
    spotmeta()
        .args(["albatross", "--width", "800", "--out"])
        .arg(&png_path)
        .assert()
        .success();
    let (w, _, _) = decode(&std::fs::read(&png_path).unwrap());
    assert_eq!(w, 800);
    let svg_path = dir.path().join("a.svg");
    spotmeta()
        .args(["albatross", "--out"])
        .arg(&svg_path)
        .assert()
        .success();
    let s = std::fs::read_to_string(&svg_path).unwrap();
    assert!(s.contains("Walts 2008 (men)") && s.contains("g = 0.25"));
    spotmeta()
        .args(["albatross", "--out"])
        .arg(dir.path().join("a.bmp"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("--format png|svg"));
}

/// Issue #16: below the small-study threshold the funnel has no contours,
/// no region legend, and says why as its first note.
#[test]
fn funnel_without_contours_says_why() {
    let d = FunnelData {
        yi: vec![0.1, -0.3],
        vi: vec![0.04, 0.01],
        estimate: 0.0,
        xlab: "g".into(),
        no_contours: Some("fewer than 10 studies".into()),
        ..Default::default()
    };
    let l = funnel_layout(&d, 640, 480);
    assert!(l.contours.is_empty());
    assert!(
        l.legend
            .iter()
            .all(|k| !matches!(k.kind, spotmeta::output::funnel::KeyKind::Region(_)))
    );
    assert_eq!(
        l.notes[0].text,
        "No significance contours: fewer than 10 studies."
    );
}

// ---- Issue 18, plots: albatross legend, fitted labels, cluster grouping,
// ---- SVG without a font dependency.

/// Issue 18: the albatross legend showed one arrow glyph per bound kind, the
/// right-side one, so a non-significant study on the left (its arrow points
/// right, toward p = 1) read as "p < bound". Every arrow drawn in the plot
/// must now have a legend glyph on the same side of a centre line, pointing
/// the same way, under the same kind.
#[test]
fn issue18_albatross_legend_has_the_glyph_of_every_arrow_on_both_sides() {
    use spotmeta::output::albatross::AlbatrossKeyKind as K;
    let pt = |label: &str, n: f64, p: f64, kind: &'static str, side: i8| AlbatrossPoint {
        label: label.into(),
        n,
        p,
        kind,
        side,
        design: Design::Parallel,
        ee_flagged: false,
    };
    let d = AlbatrossData {
        points: vec![
            pt("Below right", 25.0, 0.05, "below", 1),
            pt("Below left", 35.0, 0.01, "below", -1),
            pt("Above right", 50.0, 0.05, "above", 1),
            pt("Above left (NS, like Walts 2008)", 80.0, 0.05, "above", -1),
        ],
        not_plotted: Vec::new(),
    };
    let l = albatross_layout(&d, 720, 560);
    let sign = |v: i32| v.signum();
    let mut checked = 0;
    for m in &l.marks {
        let tip = m.arrow.expect("bounds are drawn with an arrow");
        let (side, dir) = (sign(m.x - l.centre_x), sign(tip - m.x));
        let kind = if m.kind == "below" {
            K::Below
        } else {
            K::Above
        };
        // The plot's rule: below points away from p = 1, above toward it.
        assert_eq!(dir == side, kind == K::Below, "{}", m.label);
        let key = l.legend.iter().find(|k| k.kind == kind).unwrap();
        let c = key.centre.expect("arrow glyphs show both halves");
        assert!(
            key.marks.iter().any(|g| g.hollow
                && sign(g.x - c) == side
                && g.arrow.map(|t| sign(t - g.x)) == Some(dir)),
            "no legend glyph for {} (side {side}, arrow {dir})",
            m.label
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
    // Each arrow glyph has exactly one circle per side, and its label says
    // which way the arrow points relative to p = 1.
    for (kind, words) in [(K::Below, "away from p = 1"), (K::Above, "toward p = 1")] {
        let key = l.legend.iter().find(|k| k.kind == kind).unwrap();
        let c = key.centre.unwrap();
        let sides: Vec<i32> = key.marks.iter().map(|g| sign(g.x - c)).collect();
        assert_eq!(sides, [-1, 1]);
        assert!(key.label.contains(words), "{}", key.label);
    }
}

/// The pooled rows, headings and labels of a layout: (text, is a study row).
fn labels(l: &ForestLayout) -> Vec<(&spotmeta::output::layout::Row, bool)> {
    l.rows
        .iter()
        .map(|r| (r, matches!(r.mark, Mark::Study { .. })))
        .collect()
}

/// Every label line lies inside its column: study rows end before the
/// flags/n columns (or the plot), the others before the plot.
fn assert_labels_inside(l: &ForestLayout) {
    for (r, study) in labels(l) {
        let right = if study {
            l.columns.label_right
        } else {
            l.columns.plot_left
        };
        for t in &r.label {
            let end = t.x as f64 + text_width(&t.text, t.size, t.bold);
            assert!(end <= right as f64, "{:?} ends at {end} > {right}", t.text);
            assert!(
                t.y > r.top && t.y < r.bottom + 4,
                "{:?} outside its row",
                t.text
            );
        }
    }
}

/// Issue 18: the README's own `forest … --width 1000` printed
/// "Random-effects model (k = 1…" for the 13 BCG trials. Summary labels are
/// now fitted (shrunk or wrapped), never shortened, at any width.
#[test]
fn issue18_summary_labels_are_fitted_never_truncated() {
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let readme_case = bcg_by_alloc(false);
    let mut plain = readme_case.clone();
    let all: Vec<ForestStudy> = plain.groups.drain(..).flat_map(|g| g.studies).collect();
    plain.groups = vec![spotmeta::output::layout::ForestGroup {
        name: None,
        studies: all,
        pooled: None,
    }];
    let mut long = readme_case.clone();
    long.groups[0].name =
        Some("Randomised, concealed allocation with blinded outcome assessors".into());
    long.overall.label = "Random-effects model, Hartung-Knapp-Sidik-Jonkman (k = 13)".into();
    for width in [600, 700, 800, 1000, 1200, 1400] {
        for d in [&readme_case, &plain, &long] {
            let l = forest_layout(d, &ForestStyle { width });
            assert_labels_inside(&l);
            let wanted: Vec<&str> = d
                .groups
                .iter()
                .filter_map(|g| g.name.as_deref())
                .chain(
                    d.groups
                        .iter()
                        .filter_map(|g| g.pooled.as_ref().map(|p| p.label.as_str())),
                )
                .chain([d.overall.label.as_str()])
                .collect();
            for want in wanted {
                let row = l
                    .rows
                    .iter()
                    .find(|r| strip(&r.label_text()) == strip(want))
                    .unwrap_or_else(|| panic!("width {width}: {want:?} not shown whole"));
                assert!(!row.label_text().contains('…'));
            }
        }
    }
    // At the README's width the overall label still takes one line.
    let l = forest_layout(&plain, &ForestStyle { width: 1000 });
    let overall = l
        .rows
        .iter()
        .find(|r| matches!(r.mark, Mark::Diamond { overall: true, .. }))
        .unwrap();
    assert_eq!(overall.label.len(), 1);
    assert_eq!(overall.label[0].text, "Random-effects model (k = 13)");
}

/// Issue 18, through the CLI as the README runs it: the SVG carries the
/// whole summary label.
#[test]
fn issue18_forest_cli_at_width_1000_shows_the_whole_summary_label() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("f.svg");
    spotmeta()
        .arg("forest")
        .arg(common::dataset("colditz1994_bcg.csv"))
        .args(["--method", "DL", "--width", "1000", "--out"])
        .arg(&svg)
        .assert()
        .success();
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.contains("aria-label=\"Random-effects model (k = 13)\""));
    assert!(!s.contains('…'), "nothing is shortened in this plot");
}

/// Study labels: shrink, then wrap (at most two lines), and an ellipsis only
/// when two lines at the smallest size cannot hold the label.
#[test]
fn issue18_study_labels_shrink_then_wrap_then_shorten() {
    let mut d = bcg_by_alloc(false);
    let g = &mut d.groups[0].studies;
    g[2].label = "Rosenthal ".repeat(30); // cannot fit: two lines then "…"
    // With these the label column is as wide as it gets; make the first
    // label a little too long for it, so that it only needs shrinking.
    let col = {
        let l = forest_layout(&d, &ForestStyle { width: 700 });
        (l.columns.label_right - l.columns.label) as f64
    };
    let mut first = String::from("Aronson");
    while text_width(&first, size::BODY, false) <= col {
        first += " and colleagues";
    }
    assert!(text_width(&first, size::MIN_LABEL, false) < col);
    d.groups[0].studies[0].label = first.clone();
    // The second one too long to shrink onto one line, short enough for two.
    let mut second = String::from("Ferguson");
    while text_width(&second, size::MIN_LABEL, false) <= col {
        second += " and Simes";
    }
    d.groups[0].studies[1].label = second.clone();
    let l = forest_layout(&d, &ForestStyle { width: 700 });
    assert_labels_inside(&l);
    let row = |prefix: &str| {
        l.rows
            .iter()
            .find(|r| r.label_text().starts_with(prefix))
            .unwrap()
    };
    let a = row("Aronson");
    assert_eq!(a.label.len(), 1);
    assert!(a.label[0].size < size::BODY && a.label[0].size >= size::MIN_LABEL);
    assert_eq!(a.label_text(), first);
    let f = row("Ferguson");
    assert_eq!(f.label.len(), 2);
    assert_eq!(f.label_text(), second);
    let r = row("Rosenthal Rosenthal");
    assert_eq!(r.label.len(), 2);
    assert!(r.label[1].text.ends_with('…'));
    assert!(r.label.iter().all(|t| t.size == size::MIN_LABEL));
    // Only that one label lost text.
    let shortened = l
        .rows
        .iter()
        .filter(|r| r.label_text().contains('…'))
        .count();
    assert_eq!(shortened, 1);
}

/// The all-outcomes analysis of tests/fixtures/three_level.csv (5 studies,
/// 10 outcomes) with Alpha 2001's three outcomes split into two cohorts
/// that alternate, as a forest layout with or without `by` design.
fn three_level_forest(by_design: bool) -> ForestLayout {
    use spotmeta::analysis::multilevel_primary::all_outcomes;
    use spotmeta::output::forest::forest_data_three_level;
    let ds = load_spot(&common::root().join("tests/fixtures/three_level.csv")).unwrap();
    let opts = RmaOptions {
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let a = all_outcomes(
        &ds,
        &SpotOptions::default(),
        &opts,
        &spotmeta::analysis::rules::ReviewRules::default(),
    )
    .unwrap();
    let t = a.result.done().unwrap();
    let studies: Vec<ForestStudy> = a
        .rows
        .iter()
        .map(|u| ForestStudy::new(u.outcome.clone(), u.n, u.effect.yi, u.effect.vi))
        .collect();
    let clusters: Vec<String> = a.rows.iter().map(|u| u.study_id.clone()).collect();
    let mut k = 0;
    let headings: Vec<String> = a
        .rows
        .iter()
        .map(|u| {
            if u.study_id == "alpha2001" {
                k += 1;
                format!("{} ({})", u.label, if k % 2 == 1 { "men" } else { "women" })
            } else {
                u.label.clone()
            }
        })
        .collect();
    let design: Vec<String> = a
        .rows
        .iter()
        .map(|u| {
            let row = ds.rows.iter().find(|r| r.line == u.line).unwrap();
            row.design.unwrap().to_string()
        })
        .collect();
    let data = forest_data_three_level(
        studies,
        &clusters,
        &headings,
        by_design.then_some(design.as_slice()),
        t,
        &opts,
        &ForestSpec::default(),
    )
    .unwrap();
    forest_layout(&data, &ForestStyle::default())
}

/// Issue 18: the three-level forest did not show which rows share a cluster.
/// Now a cluster's rows are adjacent and inside one band (shaded every other
/// cluster, bracketed when it has several rows), also when a cluster spans
/// two cohort headings or a `by` block.
#[test]
fn issue18_three_level_forest_groups_the_rows_of_each_cluster() {
    for by in [false, true] {
        let l = three_level_forest(by);
        assert!(!l.clusters.is_empty());
        // Each band: one cluster, rows contiguous, study rows inside.
        let mut seen_in_block: Vec<(usize, String)> = Vec::new();
        for (bi, b) in l.clusters.iter().enumerate() {
            let rows = &b.rows;
            assert!(rows.windows(2).all(|w| w[1] == w[0] + 1), "contiguous");
            assert_eq!(b.top, l.rows[rows[0]].top);
            assert_eq!(b.bottom, l.rows[*rows.last().unwrap()].bottom);
            assert_eq!(b.bracket.is_some(), b.studies >= 2, "{}", b.cluster);
            assert_eq!(b.shaded, bi % 2 == 0, "bands alternate");
            // Without `by` a cluster appears once; with `by` once per block.
            let block = l.rows[..rows[0]]
                .iter()
                .filter(|r| matches!(r.mark, Mark::Diamond { .. }))
                .count();
            assert!(
                !seen_in_block.contains(&(block, b.cluster.clone())),
                "{} split in two bands",
                b.cluster
            );
            seen_in_block.push((block, b.cluster.clone()));
        }
        let studies = l
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.mark, Mark::Study { .. }))
            .count();
        let banded: usize = l.clusters.iter().map(|b| b.studies).sum();
        assert_eq!(banded, studies, "every outcome row is in a band");
        let alpha: Vec<_> = l
            .clusters
            .iter()
            .filter(|b| b.cluster == "alpha2001")
            .collect();
        if !by {
            // Alpha 2001's two cohort headings and three outcomes: one band.
            assert_eq!(alpha.len(), 1);
            let heads: Vec<String> = alpha[0]
                .rows
                .iter()
                .filter(|&&i| matches!(l.rows[i].mark, Mark::None))
                .map(|&i| l.rows[i].label_text())
                .collect();
            assert_eq!(heads, ["Alpha 2001 (men)", "Alpha 2001 (women)"]);
            assert_eq!(alpha[0].studies, 3);
        }
        assert!(
            l.footer
                .iter()
                .any(|t| t.text.starts_with("Shaded bands and brackets"))
        );
    }
    // Visible in the image: band colour behind the first band's label.
    let l = three_level_forest(false);
    let (w, _, px) = decode(&forest_png(&l).unwrap());
    let b = &l.clusters[0];
    let band = spotmeta::output::style::colour::BAND;
    let at = |x: i32, y: i32| {
        let i = ((y as u32 * w + x as u32) * 3) as usize;
        [px[i], px[i + 1], px[i + 2]]
    };
    assert_eq!(at(l.band_x.0 + 1, b.top + 1), [band.0, band.1, band.2]);
    let bracket = spotmeta::output::style::colour::BRACKET;
    let x = b.bracket.unwrap();
    assert_eq!(
        at(x, (b.top + b.bottom) / 2),
        [bracket.0, bracket.1, bracket.2]
    );
}

/// Issue 18: the SVG relied on the viewer's fonts and its `<text>` bodies
/// carried newlines. Text is now glyph outlines of the embedded font: no
/// `<text>` (so no newline in one), no font-family, every glyph used is
/// defined in `<defs>`, and each piece of text keeps its words in
/// `aria-label` with one glyph per visible character.
#[test]
fn issue18_svg_text_is_embedded_glyph_outlines() {
    let forest = forest_svg(&forest_layout(&spot_forest(), &ForestStyle::default())).unwrap();
    let three = forest_svg(&three_level_forest(false)).unwrap();
    let albatross = albatross_svg(&albatross_layout(&albatross_demo(), 900, 600)).unwrap();
    for (name, svg, must) in [
        ("forest", &forest, "Walts 2008 (men)"),
        ("three-level forest", &three, "Alpha 2001 (men)"),
        (
            "albatross",
            &albatross,
            "p > bound or NS: arrow toward p = 1",
        ),
    ] {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut glyphs = std::collections::HashSet::new();
        for n in doc.descendants().filter(|n| n.is_element()) {
            let tag = n.tag_name().name();
            if tag == "text" {
                let body: String = n.descendants().filter_map(|t| t.text()).collect();
                assert!(!body.contains('\n'), "{name}: newline in <text>");
            }
            assert_ne!(tag, "text", "{name}: text must not depend on a font");
            assert_ne!(tag, "style", "{name}: no stylesheet, no @font-face");
            for a in n.attributes() {
                assert!(
                    !a.name().starts_with("font"),
                    "{name}: {} attribute",
                    a.name()
                );
            }
            if tag == "path" && n.parent_element().is_some_and(|p| p.has_tag_name("defs")) {
                assert!(!n.attribute("d").unwrap().is_empty());
                glyphs.insert(n.attribute("id").unwrap().to_string());
            }
        }
        assert!(glyphs.len() > 20, "{name}: glyph outlines in <defs>");
        let mut found = false;
        for g in doc.descendants().filter(|n| n.has_attribute("aria-label")) {
            let label = g.attribute("aria-label").unwrap();
            found |= label == must;
            let uses: Vec<_> = g.children().filter(|c| c.has_tag_name("use")).collect();
            assert_eq!(
                uses.len(),
                label.chars().filter(|c| !c.is_whitespace()).count(),
                "{name}: one glyph per character of {label:?}"
            );
            for u in uses {
                let href = u
                    .attribute(("http://www.w3.org/1999/xlink", "href"))
                    .unwrap();
                assert!(glyphs.contains(&href[1..]), "{name}: {href} undefined");
            }
        }
        assert!(found, "{name}: no text {must:?}");
    }
}
