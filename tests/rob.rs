//! Risk of bias (issue #17): the `rob_*` columns are checked with
//! file:line:column errors; the deviations domain (RoB 2 D2, ROBINS-I D4) is
//! derived from the confound flags only when it is empty, and a milder
//! entered judgement is a warning; the overall judgement is the worst domain
//! unless a reason is given; the traffic-light column lines up with the
//! forest plot's study rows (layout snapshot) and the summary bars add up.
//!
//! Fixtures: `tests/fixtures/good_minimal.csv` (two invented studies, see
//! tests/data.rs) is edited cell by cell into a scratch file for each
//! defect. `tests/fixtures/rob20.csv` holds 20 invented parallel trials
//! (DOI prefix 10.5555, reserved for examples) with computable effects: 15
//! RoB 2 and 4 ROBINS-I assessments cycling through every judgement, a third
//! with a no-exercise control (so the derived deviations domain is high /
//! serious), one entered D2 that the flags contradict (a warning), one
//! overall judgement entered with a reason, and one row not assessed.

mod common;

use common::{spot_row, spotmeta};
use serde_json::json;
use spotmeta::analysis::confounds::{ConfoundOptions, flags};
use spotmeta::analysis::rob::{assess, check, derive_deviations, for_drawn_studies};
use spotmeta::data::{COLUMNS, RobJudgement, RobTool, load_spot};
use spotmeta::output::rob::{
    Level, Palette, forest_rob_png, rob_table, summary_layout, summary_png, traffic_light,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// 1-based codebook column of `name`.
fn col(name: &str) -> usize {
    COLUMNS.iter().position(|c| c.name == name).unwrap() + 1
}

/// `good_minimal.csv` with `edits` ((data line, column, value); line 2 is
/// the first data row) written to a scratch file.
fn edited(dir: &Path, edits: &[(usize, &str, &str)]) -> PathBuf {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(fixture("good_minimal.csv"))
        .unwrap();
    let mut rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    for &(line, name, value) in edits {
        rows[line - 1][col(name) - 1] = value.to_string();
    }
    let path = dir.join("edited.csv");
    let mut w = csv::WriterBuilder::new().from_path(&path).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    path
}

/// The single error of checking `edits`, as (line, column, message).
#[track_caller]
fn single_error(edits: &[(usize, &str, &str)]) -> (u64, Option<usize>, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = check(&edited(dir.path(), edits)).unwrap().0;
    let errors: Vec<_> = report.issues.iter().filter(|i| i.is_error()).collect();
    assert_eq!(errors.len(), 1, "{report}");
    let e = errors[0];
    assert!(!e.fix.is_empty());
    (e.line, e.column, format!("{e}"))
}

#[test]
fn the_minimal_fixture_with_its_assessments_checks_clean() {
    let r = check(&fixture("good_minimal.csv")).unwrap().0;
    assert_eq!((r.errors(), r.warnings()), (0, 0), "{r}");
}

#[test]
fn a_judgement_off_the_tools_scale_is_an_error_at_its_cell() {
    // RoB 2 has no "moderate" (a ROBINS-I level).
    let (line, column, m) = single_error(&[(2, "rob_d1", "moderate")]);
    assert_eq!((line, column), (2, Some(col("rob_d1"))), "{m}");
    assert!(
        m.contains("not on the RoB 2 scale") && m.contains("some_concerns"),
        "{m}"
    );
    // ROBINS-I has no "some_concerns".
    let (line, column, m) = single_error(&[(4, "rob_d6", "some_concerns")]);
    assert_eq!((line, column), (4, Some(col("rob_d6"))), "{m}");
    assert!(m.contains("ROBINS-I"), "{m}");
}

#[test]
fn a_judgement_without_support_text_is_an_error_at_the_support_column() {
    let (line, column, m) = single_error(&[(2, "rob_d3", "low")]);
    assert_eq!((line, column), (2, Some(col("rob_d3_support"))), "{m}");
    assert!(m.contains("`rob_d3_support` is empty"), "{m}");
    // With a quote it passes.
    let dir = tempfile::tempdir().unwrap();
    let ok = edited(
        dir.path(),
        &[
            (2, "rob_d3", "low"),
            (2, "rob_d3_support", "Table 2: 20/20 analysed"),
        ],
    );
    assert!(check(&ok).unwrap().0.is_ok());
}

#[test]
fn an_empty_domain_other_than_deviations_is_an_error_saying_write_no_information() {
    let (line, column, m) = single_error(&[(2, "rob_d4", "")]);
    assert_eq!((line, column), (2, Some(col("rob_d4"))), "{m}");
    assert!(m.contains("no_information"), "{m}");
}

#[test]
fn rob2_has_five_domains_and_a_tool_must_be_named() {
    let (line, column, m) = single_error(&[(2, "rob_d6", "no_information")]);
    assert_eq!((line, column), (2, Some(col("rob_d6"))), "{m}");
    assert!(m.contains("only 5 domains"), "{m}");
    let (line, column, m) = single_error(&[
        (4, "rob_tool", ""),
        (4, "rob_d1", ""),
        (4, "rob_d2", ""),
        (4, "rob_d3", ""),
        (4, "rob_d5", ""),
        (4, "rob_d6", ""),
        (4, "rob_d7", "low"),
        (4, "rob_d7_support", "x"),
    ]);
    assert_eq!((line, column), (4, Some(col("rob_tool"))), "{m}");
    assert!(m.contains("`rob_tool` is empty but `rob_d7`"), "{m}");
}

#[test]
fn an_overall_judgement_other_than_the_worst_domain_needs_a_reason() {
    // doe2020 (line 2): D2 derived high from EE_NO_EXERCISE_CONTROL, so the
    // worst domain is high.
    let (line, column, m) = single_error(&[(2, "rob_overall", "some_concerns")]);
    assert_eq!((line, column), (2, Some(col("rob_overall"))), "{m}");
    assert!(m.contains("worst RoB 2 domain is `high`"), "{m}");
    let dir = tempfile::tempdir().unwrap();
    let ok = edited(
        dir.path(),
        &[
            (2, "rob_overall", "some_concerns"),
            (
                2,
                "rob_overall_reason",
                "the control arm's activity was logged",
            ),
        ],
    );
    assert!(check(&ok).unwrap().0.is_ok());
}

#[test]
fn an_entered_deviations_judgement_is_kept_and_a_milder_one_than_the_flags_warns() {
    let dir = tempfile::tempdir().unwrap();
    let path = edited(
        dir.path(),
        &[
            (2, "rob_d2", "low"),
            (2, "rob_d2_support", "Methods: matched"),
        ],
    );
    let report = check(&path).unwrap().0;
    assert_eq!(report.errors(), 0, "{report}");
    let w: Vec<_> = report.issues.iter().filter(|i| !i.is_error()).collect();
    assert_eq!(w.len(), 1, "{report}");
    assert_eq!((w[0].line, w[0].column), (2, Some(col("rob_d2"))));
    assert!(w[0].message.contains("EE_NO_EXERCISE_CONTROL"), "{}", w[0]);
    // The entered judgement stands.
    let ds = load_spot(&path).unwrap();
    let row = &ds.rows[0];
    let a = assess(row, &flags(row, None, &ConfoundOptions::default())).unwrap();
    assert_eq!(a.domain(2), Some(RobJudgement::Low));
    assert!(!a.domains[1].derived);
}

#[test]
fn the_deviations_domain_follows_the_energy_expenditure_and_diet_flags() {
    let opts = ConfoundOptions::default();
    let derive = |extra: serde_json::Value, tool| {
        let r = spot_row(&extra);
        derive_deviations(&r, tool, &flags(&r, None, &opts))
    };
    // Exercise against a no-exercise control: high (RoB 2) / serious.
    let (j, why) = derive(json!({}), RobTool::Rob2);
    assert_eq!(j, RobJudgement::High);
    assert!(why.contains("EE_NO_EXERCISE_CONTROL"), "{why}");
    assert_eq!(derive(json!({}), RobTool::RobinsI).0, RobJudgement::Serious);
    // Matched active control, EE measured, diet controlled: nothing to say.
    let matched = json!({"comparison": "other_exercise", "session_min_trained": 40,
        "session_min_control": 40, "diet_controlled": "yes", "ee_measured": "measured"});
    assert_eq!(
        derive(matched, RobTool::Rob2).0,
        RobJudgement::NoInformation
    );
    // Only moderate flags (diet unclear): some concerns / moderate.
    let diet = json!({"comparison": "other_exercise", "session_min_trained": 40,
        "session_min_control": 40, "diet_controlled": "unclear", "ee_measured": "measured"});
    assert_eq!(
        derive(diet.clone(), RobTool::Rob2).0,
        RobJudgement::SomeConcerns
    );
    assert_eq!(derive(diet, RobTool::RobinsI).0, RobJudgement::Moderate);
    // A placebo cream: "no exercise" is not an energy-expenditure imbalance.
    let cream = json!({"intervention_type": "topical", "diet_controlled": "yes",
        "ee_measured": "no"});
    let (j, why) = derive(cream, RobTool::Rob2);
    assert_eq!(j, RobJudgement::SomeConcerns);
    assert!(
        !why.contains("EE_NO_EXERCISE_CONTROL") && why.contains("EE_NOT_MEASURED"),
        "{why}"
    );
    // Within-subject: one energy balance, no flag.
    let within = json!({"design": "within_subject", "comparison": "untrained_limb"});
    assert_eq!(
        derive(within, RobTool::RobinsI).0,
        RobJudgement::NoInformation
    );
}

#[test]
fn every_included_row_of_the_bundled_dataset_is_assessed_and_checks_clean() {
    let path = common::dataset("spot_reduction.csv");
    let report = check(&path).unwrap().0;
    assert_eq!((report.errors(), report.warnings()), (0, 0), "{report}");
    let ds = load_spot(&path).unwrap();
    for row in ds
        .rows
        .iter()
        .filter(|r| r.status == spotmeta::data::Status::Included)
    {
        assert!(row.rob_tool.is_some(), "line {} not assessed", row.line);
    }
}

/// The 20-study fixture's forest plot (primary analysis) and the
/// assessment of each drawn study.
fn rob20() -> (
    spotmeta::output::layout::ForestLayout,
    Vec<Option<spotmeta::analysis::rob::RobAssessment>>,
    Vec<f64>,
) {
    use spotmeta::output::layout::{ForestStyle, forest_layout};
    let (data, rob, weights) = rob20_data();
    (forest_layout(&data, &ForestStyle::default()), rob, weights)
}

/// [`rob20`] before layout: the forest plot's data.
fn rob20_data() -> (
    spotmeta::output::layout::ForestData,
    Vec<Option<spotmeta::analysis::rob::RobAssessment>>,
    Vec<f64>,
) {
    use spotmeta::analysis::primary::primary_analysis;
    use spotmeta::escalc::spot::SpotOptions;
    use spotmeta::output::forest::{ForestSpec, SPOT_XLAB, forest_data, spot_studies};
    let opts = common::opts(spotmeta::Method::REML, spotmeta::TestKind::Knha);
    let ds = load_spot(&fixture("rob20.csv")).unwrap();
    let pa = primary_analysis(&ds, &SpotOptions::default(), &opts).unwrap();
    let conf = ConfoundOptions::default();
    let (studies, legend) = spot_studies(&ds, &pa.selection, &conf, false);
    let spec = ForestSpec {
        effect_label: "raw-score SMD".into(),
        xlab: SPOT_XLAB.into(),
        legend,
    };
    let data = forest_data(studies, None, &pa.fit, &opts, &spec).unwrap();
    let drawn: Vec<(f64, f64)> = data.groups[0]
        .studies
        .iter()
        .map(|s| (s.yi, s.vi))
        .collect();
    let weights = data.groups[0].studies.iter().map(|s| s.weight).collect();
    let rob = for_drawn_studies(&ds, &pa.selection.used, &drawn, &conf);
    (data, rob, weights)
}

#[test]
fn traffic_light_layout_snapshot_for_20_studies() {
    let (forest, rob, _) = rob20();
    assert_eq!(rob.len(), 20);
    let l = traffic_light(&forest, &rob, Palette::Cochrane);
    // Snapshot the column only (the forest layout has its own snapshots).
    insta::assert_json_snapshot!(
        "rob20_traffic_light_layout",
        json!({"x0": l.x0, "width": l.width, "height": l.height, "header": l.header,
               "tools": l.tools, "lights": l.lights, "unassessed": l.unassessed,
               "legend": l.legend, "key": l.key})
    );
}

#[test]
fn traffic_lights_sit_on_their_study_rows_inside_the_column() {
    let (forest, rob, _) = rob20();
    let l = traffic_light(&forest, &rob, Palette::Colourblind);
    let ys: Vec<i32> = forest
        .rows
        .iter()
        .filter(|r| matches!(r.mark, spotmeta::output::layout::Mark::Study { .. }))
        .map(|r| r.y)
        .collect();
    for g in &l.lights {
        assert!(ys.contains(&g.y), "{g:?}");
        assert!(g.x - g.r > l.x0 && g.x + g.r < l.width, "{g:?}");
    }
    // 15 RoB 2 (5 + overall) and 4 ROBINS-I (7 + overall) studies; one dash.
    assert_eq!(l.lights.len(), 15 * 6 + 4 * 8);
    assert_eq!(l.unassessed.len(), 1);
    // Circles of neighbouring rows and columns never touch.
    let r = l.lights[0].r;
    assert!(ys.windows(2).all(|w| w[1] - w[0] > 2 * r + 4));
    // The derived deviations domain is marked, an entered one is not.
    assert!(l.lights.iter().any(|g| g.derived && g.domain == 2));
    assert!(l.lights.iter().any(|g| g.derived && g.domain == 4));
    assert!(
        l.lights
            .iter()
            .all(|g| !g.derived || g.domain == 2 || g.domain == 4)
    );
    // Every level has its own symbol.
    let mut symbols: Vec<&str> = Level::ALL.iter().map(|l| l.symbol()).collect();
    symbols.dedup();
    assert_eq!(symbols.len(), 5);
    let png = forest_rob_png(&l).unwrap();
    let dec = png::Decoder::new(std::io::Cursor::new(&png));
    let info = dec.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (l.width as u32, l.height as u32));
}

#[test]
fn the_report_pages_traffic_lights_fit_the_page_at_the_same_size() {
    use spotmeta::output::layout::{ForestStyle, Mark, forest_layout};
    use spotmeta::output::rob::traffic_light_within;
    let (data, rob, _) = rob20_data();
    // The report page's forest plot is 1360 px wide (1400 less its margins,
    // plus the forest plot's own 20 px margins).
    let page = traffic_light_within(&data, 1360, &rob, Palette::Cochrane);
    assert!(page.width <= 1360, "{}", page.width);
    assert!(
        page.width >= 1360 - 2,
        "the composite fills the page: {}",
        page.width
    );
    // The column starts where the narrowed forest plot ends, and the forest
    // plot's own columns end before it.
    assert_eq!(page.x0, page.forest.width);
    assert!(page.forest.columns.weight < page.x0);
    // The circles are as large as beside the standalone forest plot (the
    // 20-study plot a reviewer reads), one per domain and overall.
    let standalone = traffic_light(
        &forest_layout(&data, &ForestStyle::default()),
        &rob,
        Palette::Cochrane,
    );
    assert_eq!(page.lights[0].r, standalone.lights[0].r);
    assert!(page.lights[0].r >= 10, "r = {}", page.lights[0].r);
    assert_eq!(page.lights.len(), standalone.lights.len());
    let ys: Vec<i32> = page
        .forest
        .rows
        .iter()
        .filter(|r| matches!(r.mark, Mark::Study { .. }))
        .map(|r| r.y)
        .collect();
    for g in &page.lights {
        assert!(ys.contains(&g.y), "{g:?}");
        assert!(g.x - g.r > page.x0 && g.x + g.r < page.width, "{g:?}");
    }
}

#[test]
fn summary_bars_add_up_to_one_per_domain() {
    let (_, rob, weights) = rob20();
    let items: Vec<_> = rob
        .into_iter()
        .zip(weights)
        .filter_map(|(a, w)| a.map(|a| (a, w)))
        .collect();
    for weighted in [true, false] {
        let l = summary_layout(&items, weighted, Palette::Cochrane, 1000, "note");
        assert_eq!(l.panels.len(), 2);
        for p in &l.panels {
            for b in &p.bars {
                let total: f64 = b.segments.iter().map(|s| s.share).sum();
                // Closed-form identity: shares of one total sum to 1.
                assert!((total - 1.0).abs() < 1e-12, "{}", b.label.text);
                assert_eq!(b.segments.last().unwrap().x1, l.bar_right);
            }
        }
        assert!(summary_png(&l).unwrap().starts_with(b"\x89PNG"));
    }
    let text = rob_table(&[]);
    assert!(text.starts_with("line  study"));
}

#[test]
fn forest_rob_and_rob_cli_write_their_images() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.png");
    spotmeta()
        .arg("forest")
        .arg(fixture("rob20.csv"))
        .args(["--rob", "--rob-palette", "colourblind", "--out"])
        .arg(&f)
        .assert()
        .success();
    assert!(std::fs::read(&f).unwrap().starts_with(b"\x89PNG"));
    let s = dir.path().join("s.svg");
    spotmeta()
        .arg("rob")
        .arg(fixture("rob20.csv"))
        .arg("--out")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicates::str::contains("ROBINS-I"));
    assert!(std::fs::read_to_string(&s).unwrap().starts_with("<svg"));
}

#[test]
fn forest_rob_on_a_table_without_rob_columns_fails_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.png");
    spotmeta()
        .arg("forest")
        .arg(common::dataset("colditz1994_bcg.csv"))
        .args(["--rob", "--out"])
        .arg(&f)
        .assert()
        .failure()
        .stderr(predicates::str::contains("rob_* columns"));
    assert!(!f.exists());
}
