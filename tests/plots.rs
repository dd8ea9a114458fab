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
use spotmeta::output::layout::{ForestData, ForestStudy, ForestStyle, forest_layout};
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
        .filter(|r| r.label == "random" || r.label == "alternate" || r.label == "systematic")
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
            .any(|e| e.code == "EE" && e.text.contains("energy expenditure"))
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
    let long = &big.rows[1].label;
    assert!(long.ends_with('…'), "{long}");
    let w = spotmeta::output::style::text_width(long, big.font_size, false);
    assert!((big.columns.label as f64 + w) < big.columns.plot_left as f64);
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
        .filter(|r| r.label.starts_with("Walts 2008"))
        .collect();
    assert_eq!(walts.len(), 2);
    for r in &walts {
        assert_eq!(r.flags, "Imp, M1", "{}", r.label);
        assert!(matches!(
            r.mark,
            spotmeta::output::layout::Mark::Study { flagged: true, .. }
        ));
    }
    assert!(l.legend_marker.is_some());
    let legend: Vec<(&str, &str)> = l
        .legend
        .iter()
        .map(|e| (e.code.as_str(), e.text.as_str()))
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
            .any(|r| r.label == "Random-effects model (k = 2)")
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
