//! `spotmeta report`: the committed `reports/` is exactly what the command
//! produces from the committed dataset (every file byte for byte, PNGs
//! included), runs are deterministic, and failures write nothing.
//!
//! After an intended change, regenerate with `cargo run --release -- report`.

mod common;

use common::spotmeta;
use std::fs;

const FILES: [&str; 6] = [
    "report.png",
    "forest.png",
    "forest.svg",
    "funnel.png",
    "results.json",
    "summary.md",
];

/// Written for the spot-reduction dataset only (the risk-of-bias summary
/// and, with the review record beside it, the PRISMA flow: issue #17).
const SPOT_FILES: [&str; 3] = ["albatross.png", "rob_summary.png", "prisma.png"];

/// Run `spotmeta report [FILE]` from the repository root into a fresh
/// directory; the directory and its parsed results.json.
fn run_report(file: Option<&str>) -> (tempfile::TempDir, serde_json::Value) {
    run_report_with(file, &[])
}

/// [`run_report`] with extra options.
fn run_report_with(file: Option<&str>, extra: &[&str]) -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    spotmeta()
        .current_dir(common::root())
        .arg("report")
        .args(file)
        .args(extra)
        .arg("--out")
        .arg(dir.path())
        .assert()
        .success();
    let v = serde_json::from_slice(&fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    (dir, v)
}

#[test]
fn committed_reports_match_a_fresh_run_byte_for_byte() {
    let (dir, _) = run_report(None);
    for f in FILES.iter().chain(&SPOT_FILES) {
        let fresh = fs::read(dir.path().join(f)).unwrap();
        let committed = fs::read(common::root().join("reports").join(f))
            .unwrap_or_else(|e| panic!("reports/{f}: {e}; run `cargo run --release -- report`"));
        assert!(
            fresh == committed,
            "reports/{f} is stale: run `cargo run --release -- report` and commit the result"
        );
    }
}

#[test]
fn report_json_has_the_rma_keys_and_the_rows() {
    let (_dir, v) = run_report(None);
    for key in [
        "k", "beta", "ci_lb", "ci_ub", "tau2", "I2", "QE", "QEp", "used", "left_out",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    // 47 rows since the device trials Yang 2008 and Choi 2018 were added (issue #16).
    assert_eq!(v["rows"], 47);
    // From datasets/review.toml, not from code (#17).
    assert_eq!(v["search_date"], "2026-11-23");
    // GRADE (#17): very low. Walts 2008 is assessed with ROBINS-I (starts at
    // low) with no information overall, and the CI [−0.18, 0.14] includes 0
    // (the rules: tests/grade.rs).
    let sof = &v["sof"][0];
    assert_eq!(sof["certainty"], "very_low");
    assert!(
        sof["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("risk of bias")),
        "{sof}"
    );
    assert!(v["prisma"]["included_studies"] == 17);
    assert_eq!(
        v["used"].as_array().unwrap().len() + v["left_out"].as_array().unwrap().len(),
        47
    );
}

#[test]
fn report_on_a_generic_table_works() {
    let dir = tempfile::tempdir().unwrap();
    spotmeta()
        .arg("report")
        .arg(common::dataset("colditz1994_bcg.csv"))
        .arg("--out")
        .arg(dir.path())
        .assert()
        .success();
    for f in FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("k = 13"));
}

#[test]
fn report_fails_on_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    fs::write(&bad, "slab,yi,vi\na,0.1,-1\n").unwrap();
    let out = dir.path().join("out");
    spotmeta()
        .arg("report")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("must be positive"));
    assert!(!out.exists());
}

#[test]
fn report_panel_and_json_carry_the_sensitivity_sentence_and_scenarios() {
    use spotmeta::analysis::confounds::ConfoundOptions;
    use spotmeta::analysis::sensitivity::sensitivity;
    use spotmeta::escalc::spot::SpotOptions;
    use spotmeta::output::panel::{SensMark, sensitivity_panel};
    use spotmeta::{Method, RmaOptions, TestKind};

    // Library: the panel layout of the bundled dataset (issue #5).
    let opts = RmaOptions {
        method: Method::REML,
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let ds = spotmeta::data::load_spot(&common::dataset("spot_reduction.csv")).unwrap();
    let s = sensitivity(
        &ds,
        &SpotOptions::default(),
        &ConfoundOptions::default(),
        &opts,
    )
    .unwrap();
    let l = sensitivity_panel(&s, "Hedges' g", 0.5, 1320, None);
    let names: Vec<&str> = l.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "all studies",
            "without EE-flagged studies",
            "without any flagged study",
            "d_z metric (change-score SD)",
            "imputed r = 0.3",
            "imputed r = 0.5 (primary)",
            "imputed r = 0.7",
            "leave-one-out range"
        ]
    );
    // Both pooled rows are flagged, so "without any flagged study" is empty.
    assert_eq!(l.rows[2].mark, SensMark::Empty);
    assert!(l.rows[2].effect.starts_with("nothing left to pool"));
    assert!(matches!(l.rows[0].mark, SensMark::Point { .. }));
    assert!(matches!(l.rows[7].mark, SensMark::Range { .. }));
    assert!(l.zero.is_some());
    let text: String = l
        .texts
        .iter()
        .map(|t| t.item.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("None of the 2 pooled studies carries an energy-expenditure flag"));
    assert!(text.contains("IMPUTED, MANUAL_SAMPLE_OVERLAP"));
    assert!(text.contains("EE_NO_EXERCISE_CONTROL"));
    assert!(text.contains("not run: 2 pooled studies have this moderator"));
    assert!(text.contains("Flag thresholds"));

    // CLI: results.json and summary.md.
    let (dir, v) = run_report(None);
    let sens = &v["sensitivity"];
    assert_eq!(
        sens["sentence"],
        serde_json::Value::String(s.sentence.clone())
    );
    let sc: Vec<&str> = sens["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        sc,
        [
            "all studies",
            "without EE-flagged studies",
            "without any flagged study",
            "d_z metric (change-score SD)"
        ]
    );
    assert_eq!(sens["correlation"].as_array().unwrap().len(), 3);
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("## Confounds and sensitivity"));
    assert!(md.contains(&s.sentence));
    assert!(md.contains("| without any flagged study | 0 | nothing left to pool |"));
    assert!(md.contains("`MANUAL_SAMPLE_OVERLAP`"));
    assert!(md.contains("Egger's regression test not run"));
}

#[test]
fn report_has_the_vote_count_albatross_points_and_the_three_level_reason() {
    // Issues #8 and #9: the synthesis without numbers and the all-outcomes
    // three-level analysis (which cannot run on today's single study).
    let (dir, v) = run_report(None);
    assert_eq!(v["vote"]["overall"]["favour"], 5);
    assert_eq!(v["vote"]["overall"]["against"], 2);
    assert!(!v["albatross"].as_array().unwrap().is_empty());
    assert_eq!(v["all_outcomes"]["primary"], false);
    assert_eq!(
        v["all_outcomes"]["result"]["reason"],
        "needs at least 2 studies with computable outcomes; today 1"
    );
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("## Synthesis without numbers"));
    assert!(md.contains("| with an EE flag | 2 | 0 | 3 |"));
    assert!(md.contains("## All outcomes, three-level model + CR2"));
    assert!(md.contains("Primary analysis: one outcome per cohort, REML + Knapp–Hartung"));
}

/// Issue #16: tests/fixtures/three_level.csv gives CR2 on 5 studies with
/// Satterthwaite df = 3.97 (metafor 3.8.1 + clubSandwich 0.5.8,
/// fixtures/three_level_report.json), below the default 4, so the
/// three-level model stays a sensitivity row, the reason is printed and the
/// headline is the one-outcome-per-cohort fit.
#[test]
fn three_level_model_with_cr2_df_below_four_is_only_a_sensitivity_row() {
    let (dir, v) = run_report(Some("tests/fixtures/three_level.csv"));
    let p = &v["primary_analysis"];
    assert_eq!(p["analysis"], "one outcome per cohort");
    assert_eq!(v["all_outcomes"]["primary"], false);
    let why = "CR2 Satterthwaite df = 3.97, below 4; CR2 inference with df below 4 is unreliable (Tipton 2015), so it is a sensitivity analysis";
    assert_eq!(p["why_not_three_level"], why);
    assert_eq!(v["all_outcomes"]["why_not_primary"], why);
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains(&format!(
        "All outcomes, three-level model + CR2 (sensitivity analysis, not primary: {why})"
    )));
    assert!(
        md.contains("k = 5 effect sizes from 5 studies"),
        "headline k"
    );
    assert!(md.contains(&format!("Sensitivity row: all outcomes, three-level + CR2: k = 10 effect sizes from 5 studies, estimate = 0.29 [-0.29, 0.87]. Not primary: {why}.")));
    // The forest plot shows the primary (one outcome per cohort) analysis.
    let svg = fs::read_to_string(dir.path().join("forest.svg")).unwrap();
    assert!(svg.contains("Random-effects model (k = 5)"));
    assert!(!svg.contains("leg DEXA"));
}

/// Issue #16, the issue's own case: the bundled dataset plus one more study
/// with several outcomes (Alpha 2001 from tests/fixtures/three_level.csv)
/// lets the three-level model run on 2 clusters; it must not become primary.
#[test]
fn three_level_model_on_two_studies_is_not_primary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spot.csv");
    let mut text = fs::read_to_string(common::dataset("spot_reduction.csv")).unwrap();
    let extra = fs::read_to_string(common::root().join("tests/fixtures/three_level.csv")).unwrap();
    for l in extra.lines().filter(|l| l.starts_with("alpha2001,")) {
        text.push_str(l);
        text.push('\n');
    }
    fs::write(&data, text).unwrap();
    let (_out, v) = run_report(Some(data.to_str().unwrap()));
    assert_eq!(v["all_outcomes"]["result"]["robust"]["clusters"], 2);
    assert_eq!(v["all_outcomes"]["primary"], false);
    assert_eq!(v["primary_analysis"]["analysis"], "one outcome per cohort");
    assert!(
        v["primary_analysis"]["why_not_three_level"]
            .as_str()
            .unwrap()
            .starts_with("CR2 on 2 studies (clusters), fewer than 4")
    );
}

/// Out-of-range rule settings are refused with the flag named, and nothing
/// is written.
#[test]
fn report_refuses_rule_settings_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--min-clusters", "1"),
        ("--min-cr2-df", "0"),
        ("--small-study-min-k", "2"),
    ] {
        spotmeta()
            .current_dir(common::root())
            .args(["report", "--out"])
            .arg(dir.path())
            .args([flag, value])
            .assert()
            .failure()
            .stderr(predicates::str::contains(flag));
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Issue #16: Egger's test and trim and fill are not run on the bundled
/// dataset (1 study), the funnel has no contours and says why; with
/// `--small-study` they are attempted and labelled underpowered.
#[test]
fn small_study_methods_need_ten_studies_or_the_explicit_option() {
    let (dir, _) = run_report(None);
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("- Egger's regression test not run: only 1 study (fewer than 10); the Cochrane Handbook (§13.3.5.4)"));
    let (dir, v) = run_report_with(Some("tests/fixtures/three_level.csv"), &["--small-study"]);
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("- Underpowered (fewer studies than the small-study rule asks; run on request with --small-study; read as descriptive only): Egger's regression test"), "{md}");
    assert_eq!(
        v["sensitivity"]["diagnostics"]["small_study_underpowered"],
        true
    );
}

/// Issue #8 with the rule relaxed: once the all-outcomes three-level model
/// runs and passes the small-k rules (here `--min-cr2-df 3.9`, so that the
/// fixture's df = 3.97 passes), it is the report's primary analysis —
/// headline, forest plot, `primary_analysis` in results.json — and the
/// one-outcome-per-cohort fit becomes a sensitivity row. Reference:
/// tests/conformance/make_three_level_report_fixtures.R (metafor 3.8.1
/// `rma.mv` + `robust(clubSandwich = TRUE)` + `predict` + `weights`,
/// clubSandwich 0.5.8) on tests/fixtures/three_level.csv.
#[test]
fn three_level_model_becomes_the_primary_analysis_when_it_can_run() {
    use common::tol::close;
    let want = common::read_json("three_level_report.json");
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let (dir, v) = run_report_with(
        Some("tests/fixtures/three_level.csv"),
        &["--min-cr2-df", "3.9"],
    );
    // REML optimum and profile searches: OPTIMISER_REL as in tests/multilevel.rs.
    const OPTIMISER_REL: f64 = 1e-5;
    let p = &v["primary_analysis"];
    assert_eq!(p["analysis"], "all outcomes, three-level model + CR2");
    assert_eq!(
        (p["k"].as_u64(), p["studies"].as_u64()),
        (Some(10), Some(5))
    );
    for (got, want) in [
        (&p["beta"], &want["beta"]),
        (&p["ci_lb"], &want["robust"]["ci.lb"]),
        (&p["ci_ub"], &want["robust"]["ci.ub"]),
        (&p["ddf"], &want["robust"]["df"]),
        (&p["pval"], &want["robust"]["pval"]),
        (&p["pi_lb"], &want["pi"][0]),
        (&p["pi_ub"], &want["pi"][1]),
    ] {
        assert!(
            close(f(got), f(want), OPTIMISER_REL, 1e-8),
            "{got} vs metafor {want}"
        );
    }
    let t = &v["all_outcomes"]["result"];
    for s in 0..2 {
        assert!(close(
            f(&t["fit"]["sigma2"][s]),
            f(&want["sigma2"][s]),
            OPTIMISER_REL,
            1e-8
        ));
        for b in 0..2 {
            assert!(close(
                f(&t["fit"]["sigma2_ci"][s][b]),
                f(&want["sigma2_ci"][s][b]),
                1e-4,
                1e-6
            ));
        }
    }
    for (got, w) in t["weights"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["weights"].as_array().unwrap())
    {
        assert!(
            close(f(got), f(w), OPTIMISER_REL, 1e-8),
            "weight {got} vs {w}"
        );
    }
    // The one-outcome-per-cohort fit stays in the top-level rma keys.
    let one = &want["one_per_study"];
    assert_eq!(v["k"], one["k"]);
    assert!(common::tol::close_metafor(
        f(&v["beta"]),
        f(&one["estimate"])
    ));
    assert!(common::tol::close_metafor(f(&v["ci_lb"]), f(&one["ci.lb"])));

    // Headline and tables.
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains(
        "Pooled raw-score SMD = 0.29 (95% CI −0.29 to 0.87; k = 10 effect sizes from 5 studies; p = 0.23)"
    ));
    assert!(md.contains("## Rows pooled (10)"));
    assert!(md.contains("| 3 | Alpha 2001 | arm DEXA | 24 | 1.37 [0.46, 2.29] | 5.2% | – |"));
    assert!(md.contains("## One outcome per cohort (sensitivity analysis)"));
    assert!(md.contains(
        "Primary analysis: all outcomes, three-level + CR2: k = 10 effect sizes from 5 studies, estimate = 0.29 [-0.29, 0.87]."
    ));

    // The forest plot shows every outcome under its study, weighted as
    // metafor's weights(), with the CR2 diamond and prediction interval.
    let svg = fs::read_to_string(dir.path().join("forest.svg")).unwrap();
    for text in [
        "Three-level model + CR2 (k = 10; 5 studies)",
        "Alpha 2001",
        "leg DEXA",
        // Rounded from three_level_report.json: weights[1], weights[5], pi, robust.
        "5.2%",
        "19.0%",
        "[−1.04, 1.62]",
        "t(3.97) = 1.40, p = 0.23.",
    ] {
        assert!(svg.contains(text), "forest.svg lacks {text:?}");
    }
}

/// `spotmeta forest --one-per-study` keeps the one-outcome-per-cohort plot.
#[test]
fn forest_one_per_study_flag_keeps_the_univariate_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.svg");
    spotmeta()
        .current_dir(common::root())
        .args([
            "forest",
            "tests/fixtures/three_level.csv",
            "--one-per-study",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let svg = fs::read_to_string(&out).unwrap();
    assert!(svg.contains("Random-effects model (k = 5)"));
    assert!(!svg.contains("leg DEXA"));
}

/// `forest --by COL` with the three-level primary analysis: each block gets
/// its own three-level + CR2 diamond. Reference: `by_design` in
/// tests/conformance/fixtures/three_level_report.json (metafor 3.8.1
/// rma.mv + robust(clubSandwich = TRUE) per design).
#[test]
fn three_level_forest_subgroups_match_metafor_per_block() {
    use common::tol::close;
    use spotmeta::analysis::multilevel_primary::all_outcomes;
    use spotmeta::data::load_spot;
    use spotmeta::escalc::spot::SpotOptions;
    use spotmeta::output::forest::{ForestSpec, forest_data_three_level};
    use spotmeta::output::layout::ForestStudy;
    use spotmeta::{RmaOptions, TestKind};
    const OPTIMISER_REL: f64 = 1e-5;
    let want = common::read_json("three_level_report.json");
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
    let headings: Vec<String> = a.rows.iter().map(|u| u.label.clone()).collect();
    let design: Vec<String> = a
        .rows
        .iter()
        .map(|u| {
            let row = ds.rows.iter().find(|r| r.line == u.line).unwrap();
            row.design.unwrap().to_string()
        })
        .collect();
    let f = forest_data_three_level(
        studies,
        &clusters,
        &headings,
        Some(&design),
        t,
        &opts,
        &ForestSpec::default(),
    )
    .unwrap();
    assert_eq!(f.groups.len(), 2);
    for g in &f.groups {
        let name = g.name.as_deref().unwrap();
        let w = &want["by_design"][name];
        let p = g
            .pooled
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no diamond"));
        for (got, key) in [
            (p.estimate, "estimate"),
            (p.ci_lb, "ci.lb"),
            (p.ci_ub, "ci.ub"),
        ] {
            let w = w[key].as_f64().unwrap();
            assert!(
                close(got, w, OPTIMISER_REL, 1e-8),
                "{name} {key}: {got} vs {w}"
            );
        }
        assert!(
            g.studies[0].label.contains(" · "),
            "rows say study · outcome"
        );
    }
}

/// A Bayesian fit that cannot be computed does not fail a run whose plan
/// allows that (the report's): the reason is kept for the page, and the
/// pooled fit is there. The data: 1,000 studies with vi = 1e-6, whose τ
/// posterior under one of the other τ priors of the prior sensitivity is
/// too peaked for the integrator's 1e-12 relative error (`spotmeta bayes`
/// on the same table fails with that message).
#[test]
fn a_bayesian_fit_that_fails_is_recorded_when_the_plan_allows() {
    use spotmeta::review::{self, Dataset, Input, Plan, Settings};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peaked.csv");
    let mut csv = String::from("slab,yi,vi\n");
    for i in 0..1000 {
        let yi = -0.3 + 0.4 * (f64::from(i) * 1.7).sin();
        csv.push_str(&format!("S{i},{yi:.6},0.000001\n"));
    }
    fs::write(&path, csv).unwrap();
    let plan = Plan {
        pool: true,
        bayes: true,
        bayes_prior_sensitivity: true,
        bayes_may_fail: true,
        ..Plan::default()
    };
    let dataset = Dataset::load(&path, Input::default()).unwrap();
    let f = review::run(dataset, &Settings::default(), &plan).unwrap();
    assert!(f.bayes.is_none());
    let why = f.bayes_not_run.as_deref().unwrap_or_default();
    assert!(why.contains("posterior of tau"), "{why}");
    assert_eq!(f.pooled.as_ref().map(|p| p.fit.k), Some(1000));
}
