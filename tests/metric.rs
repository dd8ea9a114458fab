//! One metric (issue #16): every pooled spot-reduction effect is a raw-score
//! (pre-test SD) standardised difference of changes, and effects of different
//! metrics are never pooled together.
//!
//! Reference: `tests/conformance/make_dppc2.R` (fixture `dppc2.json`), which
//! computes Morris (2008) d_ppc2 and its within-subject analogue from the
//! published formulas (`tests/conformance/dppc2_formulas.R`), independently of
//! spotmeta's code, for every derivation path at r_impute = 0.3 / 0.5 / 0.7 and
//! for the bundled dataset's rows; and metafor 3.8.1 `escalc("SMCR")` for the
//! special case the within-subject effect must reproduce.

mod common;

use common::tol::{FORMULA_REL, METAFOR_ABS, close, close_metafor};
use spotmeta::analysis::confounds::ConfoundOptions;
use spotmeta::analysis::primary::select_primary;
use spotmeta::analysis::sensitivity::{DZ_SCENARIO, sensitivity};
use spotmeta::data::load_spot;
use spotmeta::escalc::spot::{SpotOptions, spot_effect};
use spotmeta::escalc::{Derivation, Metric, one_metric};
use spotmeta::{RmaOptions, TestKind};

fn at(r_impute: f64) -> SpotOptions {
    SpotOptions {
        r_impute,
        ..Default::default()
    }
}

#[test]
fn every_derivation_path_matches_the_independent_r_computation() {
    let fx = common::read_json("dppc2.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 50);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let r = c["r_impute"].as_f64().unwrap();
        let row = common::spot_row(&c["row"]);
        let es = spot_effect(&row, &at(r)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (yi, vi) = (c["yi"].as_f64().unwrap(), c["vi"].as_f64().unwrap());
        assert_eq!(es.metric, Metric::RawScore, "{name}");
        assert_eq!(
            es.measure.as_str(),
            c["measure"].as_str().unwrap(),
            "{name}"
        );
        assert!(
            close(es.yi, yi, FORMULA_REL, 0.0),
            "{name} r = {r}: yi {} vs R {yi}",
            es.yi
        );
        assert!(
            close(es.vi, vi, FORMULA_REL, 0.0),
            "{name} r = {r}: vi {} vs R {vi}",
            es.vi
        );
        // Every conversion is marked, and an imputed correlation makes the
        // effect imputed.
        let has = |f: fn(&Derivation) -> bool| es.derivations.iter().any(f);
        if name.contains("change SD only") {
            assert!(
                has(|d| matches!(d, Derivation::SdPreFromChangeSd { .. })),
                "{name}"
            );
        }
        if name.contains("reported t") || name.contains("difference and") {
            assert!(
                has(|d| matches!(d, Derivation::ChangeToRawScale { .. })),
                "{name}"
            );
            assert!(
                has(|d| matches!(d, Derivation::FromReportedStatistic { .. })),
                "{name}"
            );
        }
        let reported = |k: &str| c["row"].get(k).is_some();
        let all_reported = reported("r_prepost") && (name.starts_with("parallel") || reported("r"));
        assert_eq!(
            es.is_imputed(),
            !all_reported,
            "{name}: imputed r is marked"
        );
    }
}

#[test]
fn an_effect_from_change_sds_follows_the_imputed_correlation() {
    // Sensitivity over r_impute must move the conversion SD_pre = SD_change/√(2(1 − r)):
    // a larger r gives a larger pre-test SD and so a smaller effect.
    let fx = common::read_json("dppc2.json");
    let ys: Vec<f64> = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "parallel change SD only (pre SD from change SD)")
        .map(|c| c["yi"].as_f64().unwrap())
        .collect();
    assert_eq!(ys.len(), 3);
    assert!(ys[0] > ys[1] && ys[1] > ys[2], "{ys:?}");
}

#[test]
fn bundled_dataset_rows_match_the_independent_r_computation() {
    let fx = common::read_json("dppc2.json");
    let want = fx["dataset"].as_array().unwrap();
    let ds = load_spot(&common::dataset("spot_reduction.csv")).unwrap();
    let mut n = 0;
    for r in [0.3, 0.5, 0.7] {
        let sel = select_primary(&ds, &at(r));
        let rows: Vec<_> = want.iter().filter(|w| w["r_impute"] == r).collect();
        assert_eq!(
            sel.used.len(),
            rows.len(),
            "computable rows changed: regenerate with Rscript tests/conformance/make_dppc2.R"
        );
        for (u, w) in sel.used.iter().zip(rows) {
            assert_eq!(u.line, w["line"].as_u64().unwrap());
            assert_eq!(u.effect.measure.as_str(), w["measure"].as_str().unwrap());
            assert!(close(
                u.effect.yi,
                w["yi"].as_f64().unwrap(),
                FORMULA_REL,
                0.0
            ));
            assert!(close(
                u.effect.vi,
                w["vi"].as_f64().unwrap(),
                FORMULA_REL,
                0.0
            ));
            n += 1;
        }
    }
    assert!(n >= 6, "Walts 2008 men and women at three correlations");
}

#[test]
fn within_subject_effect_with_equal_sds_is_metafor_smcr() {
    // escalc("SMCR", m1i = -0.4, m2i = -1.3, sd1i = 3, ni = 22, ri = 0.6), metafor 3.8.1.
    let fx = common::read_json("dppc2.json");
    let s = &fx["smcr"];
    let es = spot_effect(&common::spot_row(&s["row"]), &SpotOptions::default()).unwrap();
    assert!(close_metafor(es.yi, s["yi"].as_f64().unwrap()), "{es:?}");
    assert!(close_metafor(es.vi, s["vi"].as_f64().unwrap()), "{es:?}");
    assert!(close(
        es.yi,
        s["yi"].as_f64().unwrap(),
        FORMULA_REL,
        METAFOR_ABS
    ));
}

#[test]
fn pooling_refuses_effects_of_different_metrics() {
    let err = one_metric([
        ("Walts 2008", Metric::RawScore),
        ("Doe 2020", Metric::ChangeScore),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("different metrics"), "{err}");
    assert!(
        err.contains("Walts 2008") && err.contains("Doe 2020"),
        "{err}"
    );
    assert_eq!(
        one_metric([("a", Metric::RawScore), ("b", Metric::RawScore)]).unwrap(),
        Some(Metric::RawScore)
    );
}

#[test]
fn rma_refuses_a_yi_vi_table_that_mixes_measures_of_different_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(
        &mixed,
        "study,yi,vi,measure\nA,0.2,0.04,SMD\nB,0.5,0.05,SMCC\nC,0.1,0.03,DPPC2\n",
    )
    .unwrap();
    common::spotmeta()
        .args(["rma"])
        .arg(&mixed)
        .assert()
        .failure()
        .stderr(predicates::str::contains("different metrics"))
        .stderr(predicates::str::contains("line 3 (B)"));
    let one = dir.path().join("one.csv");
    std::fs::write(
        &one,
        "study,yi,vi,measure\nA,0.2,0.04,SMD\nB,0.5,0.05,DWPC\nC,0.1,0.03,DPPC2\n",
    )
    .unwrap();
    common::spotmeta()
        .args(["rma"])
        .arg(&one)
        .assert()
        .success();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "study,yi,vi,measure\nA,0.2,0.04,SMD\nB,0.5,0.05,g\n").unwrap();
    common::spotmeta()
        .args(["rma"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicates::str::contains("unknown measure `g`"));
}

#[test]
fn dppc2_from_columns_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    std::fs::write(&f, "study,m1i,m2i\nA,1,2\n").unwrap();
    common::spotmeta()
        .args(["escalc", "--measure", "DPPC2"])
        .arg(&f)
        .assert()
        .failure()
        .stderr(predicates::str::contains("dataset rows"));
}

#[test]
fn sensitivity_shows_what_the_d_z_metric_would_give() {
    // The d_z row pools the change-score effects (metafor SMD of changes /
    // SMCC, checked in tests/dataset.rs) of the same rows.
    let ds = load_spot(&common::root().join("tests/fixtures/sensitivity.csv")).unwrap();
    let opts = RmaOptions {
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let s = sensitivity(
        &ds,
        &SpotOptions::default(),
        &ConfoundOptions::default(),
        &opts,
    )
    .unwrap();
    let dz = s.scenarios.iter().find(|x| x.name == DZ_SCENARIO).unwrap();
    let dz_sel = select_primary(
        &ds,
        &SpotOptions {
            metric: Metric::ChangeScore,
            ..Default::default()
        },
    );
    assert!(
        dz_sel
            .used
            .iter()
            .all(|u| u.effect.metric == Metric::ChangeScore)
    );
    let fit = spotmeta::rma(&dz_sel.yi(), &dz_sel.vi(), &opts).unwrap();
    assert_eq!(dz.fit.as_ref().unwrap().estimate, fit.estimate);
    // It differs from the raw-score pooled effect on this file.
    let all = s.scenarios[0].fit.as_ref().unwrap();
    assert!((all.estimate - fit.estimate).abs() > 1e-3);
}
