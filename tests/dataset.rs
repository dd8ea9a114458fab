//! The spot-reduction dataset and its effect sizes (issue #3).
//!
//! * The bundled `datasets/spot_reduction.csv` passes `check` and loads.
//! * Every effect size computed from its real rows equals `metafor::escalc` on
//!   the same inputs (`fixtures/spot_escalc.json`, made by
//!   `tests/conformance/make_spot_fixtures.R`, which re-derives the inputs in R).
//! * Each derivation path of `spot_effect` on the change-score (d_z) metric
//!   against metafor 3.8.1 on synthetic rows (the R call is quoted above each
//!   expected value). The raw-score metric pooled by default (issue #16) is
//!   checked in `tests/metric.rs`.

mod common;

use common::tol::close_metafor;
use serde_json::{Value, json};
use spotmeta::analysis::primary::select_primary;
use spotmeta::data::{SpotRow, check, load_spot};
use spotmeta::escalc::spot::{SpotOptions, spot_effect};
use spotmeta::escalc::{Derivation, Measure, Metric};

/// The change-score (d_z) metric: metafor's SMD of changes and SMCC.
fn dz() -> SpotOptions {
    SpotOptions {
        metric: Metric::ChangeScore,
        ..Default::default()
    }
}

fn bundled() -> std::path::PathBuf {
    common::dataset("spot_reduction.csv")
}

#[test]
fn bundled_dataset_passes_check_without_errors() {
    let report = check(&bundled()).unwrap();
    assert_eq!(report.errors(), 0, "{report}");
    assert!(report.rows >= 40 && report.studies >= 20, "{report}");
}

#[test]
fn every_computable_real_row_matches_metafor_escalc() {
    let ds = load_spot(&bundled()).unwrap();
    let sel = select_primary(&ds, &dz());
    let fixture = common::read_json("spot_escalc.json");
    let fixture = fixture.as_array().unwrap();
    assert_eq!(
        sel.used.len(),
        fixture.len(),
        "computable rows changed: regenerate with Rscript tests/conformance/make_spot_fixtures.R"
    );
    for (u, f) in sel.used.iter().zip(fixture) {
        assert_eq!(u.line, f["line"].as_u64().unwrap());
        assert_eq!(u.effect.measure.as_str(), f["measure"].as_str().unwrap());
        let (yi, vi) = (f["yi"].as_f64().unwrap(), f["vi"].as_f64().unwrap());
        assert!(
            close_metafor(u.effect.yi, yi),
            "line {}: yi {} vs {yi}",
            u.line,
            u.effect.yi
        );
        assert!(
            close_metafor(u.effect.vi, vi),
            "line {}: vi {} vs {vi}",
            u.line,
            u.effect.vi
        );
    }
}

#[test]
fn primary_analysis_says_why_each_other_row_is_left_out() {
    let ds = load_spot(&bundled()).unwrap();
    let sel = select_primary(&ds, &SpotOptions::default());
    assert_eq!(sel.used.len() + sel.left_out.len(), ds.rows.len());
    assert!(sel.left_out.iter().all(|l| !l.reason.trim().is_empty()));
    let mech = sel
        .left_out
        .iter()
        .find(|l| l.label.starts_with("Stallknecht"))
        .unwrap();
    assert!(mech.reason.starts_with("listed"), "{}", mech.reason);
}

/// A synthetic row: a valid base with `extra` fields merged in.
fn row(extra: Value) -> SpotRow {
    let mut base = json!({
        "study_id": "doe2020", "cohort": "all", "label": "Doe 2020", "authors": "Doe J",
        "year": 2020, "doi": "10.5555/x", "design": "parallel", "intervention_type": "exercise",
        "comparison": "no_exercise", "region": "abdomen", "method": "DEXA",
        "outcome_type": "regional_fat", "primary": "yes", "status": "included",
        "status_reason": "test"
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn assert_es(row: &SpotRow, yi: f64, vi: f64) -> Vec<Derivation> {
    let es = spot_effect(row, &dz()).unwrap();
    assert_eq!(es.metric, Metric::ChangeScore);
    assert!(close_metafor(es.yi, yi), "yi {} vs {yi}", es.yi);
    assert!(close_metafor(es.vi, vi), "vi {} vs {vi}", es.vi);
    es.derivations
}

#[test]
fn parallel_change_scores_give_hedges_g_favouring_the_trained_arm() {
    // escalc("SMD", m1i=0.3, sd1i=1.8, n1i=10, m2i=-1.2, sd2i=2.0, n2i=14)
    let r = row(json!({"n_trained": 14, "n_control": 10, "disp_type": "sd",
        "change_mean_t": -1.2, "change_sd_t": 2.0, "change_mean_c": 0.3, "change_sd_c": 1.8}));
    let d = assert_es(&r, 0.753_983_190_176_055_5, 0.183_272_126_659_156_04);
    assert!(d.is_empty(), "nothing derived: {d:?}");
}

#[test]
fn standard_errors_become_sds_and_are_marked() {
    // escalc("SMD", m1i=-0.2, sd1i=0.6*sqrt(12), n1i=12, m2i=-1.0, sd2i=0.5*sqrt(16), n2i=16)
    let r = row(json!({"n_trained": 16, "n_control": 12, "disp_type": "se",
        "change_mean_t": -1.0, "change_sd_t": 0.5, "change_mean_c": -0.2, "change_sd_c": 0.6}));
    let d = assert_es(&r, 0.381_921_031_450_978_8, 0.148_438_041_802_343_66);
    assert_eq!(
        d.iter()
            .filter(|x| matches!(x, Derivation::SdFromSe { .. }))
            .count(),
        2
    );
}

#[test]
fn a_reported_difference_with_exact_p_gives_g_through_t() {
    // t <- qt(0.03/2, 14, lower.tail=FALSE); escalc("SMD", ti=t, n1i=8, n2i=8)
    let r = row(json!({"n_trained": 8, "n_control": 8, "diff_mean": -697.0, "diff_p": 0.03}));
    let d = assert_es(&r, 1.141_386_594_688_282, 0.290_711_354_954_191_04);
    assert!(matches!(d[0], Derivation::FromReportedStatistic { .. }));
}

#[test]
fn a_reported_difference_with_ci_gives_g_through_t() {
    // se <- 3/(2*qt(0.975, 38)); escalc("SMD", ti=2/se, n1i=20, n2i=20)
    let r = row(json!({"n_trained": 20, "n_control": 20, "diff_mean": -2.0,
        "diff_ci_lb": -3.5, "diff_ci_ub": -0.5}));
    assert_es(&r, 0.836_582_569_605_926_4, 0.108_748_379_947_105_69);
}

#[test]
fn within_subject_t_gives_smcc_as_metafor_ti() {
    // metafor SMCC with ti: d = ti/sqrt(n); yi = c(n-1) d, vi = 1/n + yi^2/(2n);
    // R: cm <- exp(lgamma(11/2) - log(sqrt(11/2)) - lgamma(10/2)); cm*2.5/sqrt(12)
    let r = row(
        json!({"design": "within_subject", "comparison": "untrained_limb",
        "n_trained": 12, "n_control": 12, "diff_t": -2.5}),
    );
    let es = spot_effect(&r, &dz()).unwrap();
    assert_eq!(es.measure, Measure::SMCC);
    assert!(close_metafor(es.yi, 0.671_140_683_281_311_3));
    assert!(close_metafor(es.vi, 0.102_101_242_364_804_39));
}

#[test]
fn missing_numbers_give_a_reason_not_an_effect() {
    let r = row(json!({"change_mean_t": -1.0, "change_mean_c": 0.0}));
    let why = spot_effect(&r, &dz()).unwrap_err();
    assert!(why.contains("no SD of the change"), "{why}");
    let why = spot_effect(&r, &SpotOptions::default()).unwrap_err();
    assert!(
        why.contains("no pre-test SD and no SD of the change"),
        "{why}"
    );
}
