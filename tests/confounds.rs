//! Energy-expenditure confound flags and the sensitivity analyses they drive
//! (issue #5). The flag rules are checked on synthetic rows against the rule
//! table in `src/analysis/confounds.rs` (and `datasets/README.md`); the
//! re-pooled numbers on `tests/fixtures/sensitivity.csv` against metafor 3.8.1:
//!
//! ```r
//! a <- escalc("SMD", m1i=-500, sd1i=900, n1i=12, m2i=-1170, sd2i=1093, n2i=12)
//! b <- escalc("SMD", m1i=-0.4, sd1i=2.8, n1i=18, m2i=-2.1, sd2i=3.0, n2i=20)
//! g <- escalc("SMCC", m1i=-4.0, m2i=-5.0, sd1i=11, sd2i=12, ni=30, ri=0.6)
//! d <- escalc("SMCC", m1i=-1.9, m2i=-1.5, sd1i=4.2, sd2i=4.0, ni=25, ri=0.7)
//! CT <- list(threshold=1e-12, tol=1e-12, maxiter=10000)
//! all  <- rma(yi, vi, test="knha", control=CT)            # 0.17747158701544824 [-0.36697934129832205, 0.72192251532921858]
//! noee <- rma(yi[3:4], vi[3:4], test="knha", control=CT)  # -0.0037384050444449965, ci.lb -1.3706839769133361
//! f1 <- rma(yi[1:2], vi[1:2], test="knha", control=CT); f2 <- rma(yi[3:4], vi[3:4], test="knha", control=CT)
//! rma(c(f1$beta, f2$beta), sei=c(f1$se, f2$se), method="FE")$QE  # 28.425743826096010
//! ```

mod common;

use common::tol::close_metafor;
use serde_json::{Value, json};
use spotmeta::analysis::confounds::{ConfoundOptions, Severity, flags};
use spotmeta::analysis::sensitivity::sensitivity;
use spotmeta::data::{SpotRow, load_spot};
use spotmeta::escalc::Metric;
use spotmeta::escalc::spot::{SpotOptions, spot_effect};
use spotmeta::{RmaOptions, TestKind};

fn row(extra: Value) -> SpotRow {
    let mut base = json!({
        "study_id": "doe2020", "cohort": "all", "label": "Doe 2020", "authors": "Doe J",
        "year": 2020, "doi": "10.5555/x", "design": "parallel", "intervention_type": "exercise",
        "comparison": "other_exercise", "region": "trunk", "method": "DEXA",
        "outcome_type": "regional_fat", "primary": "yes", "status": "included",
        "status_reason": "test", "diet_controlled": "yes", "ee_measured": "measured",
        "n_trained": 12, "n_control": 12
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn codes(r: &SpotRow) -> Vec<String> {
    let es = spot_effect(r, &SpotOptions::default()).ok();
    flags(r, es.as_ref(), &ConfoundOptions::default())
        .into_iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn brobakken_like_sessions_raise_session_and_weekly_flags_with_the_numbers() {
    // Brobakken 2023 as the issue describes it: ~84 vs 45 min, 4 sessions/week,
    // overweight men, trunk fat.
    let r = row(
        json!({"session_min_trained": 84.0, "session_min_control": 45.0, "sessions_per_week": 4.0,
        "population": "men; 43 y; overweight", "diet_controlled": "unclear"}),
    );
    let f = flags(&r, None, &ConfoundOptions::default());
    let get = |c: &str| {
        f.iter()
            .find(|x| x.code == c)
            .unwrap_or_else(|| panic!("{c} missing: {f:?}"))
    };
    assert_eq!(
        get("EE_SESSION_LENGTH").reason,
        "84 vs 45 min per session (ratio 1.87)"
    );
    assert_eq!(get("EE_SESSION_LENGTH").severity, Severity::High);
    assert_eq!(
        get("EE_WEEKLY_VOLUME").reason,
        "336 vs 180 min per week (4 sessions/week)"
    );
    assert!(get("REGION_PRONE").reason.contains("overweight/obese men"));
    assert!(get("DIET_UNCONTROLLED").reason.contains("unclear"));
    assert!(
        f.iter().all(|x| x.code != "EE_NOT_MEASURED"),
        "expenditure was measured"
    );
}

/// The session flags of a parallel row with these session cells (a number or
/// a reported range, as written in the CSV).
fn session_codes(trained: &str, control: &str, per_week: &str) -> Vec<String> {
    let mut extra = json!({"session_min_trained": trained, "session_min_control": control});
    if !per_week.is_empty() {
        extra["sessions_per_week"] = json!(per_week);
    }
    codes(&row(extra))
        .into_iter()
        .filter(|c| c.starts_with("EE_SESSION") || c == "EE_WEEKLY_VOLUME")
        .collect()
}

#[test]
fn a_reported_range_raises_a_flag_only_at_its_conservative_end() {
    // Issue #16. Defaults: ratio ≥ 1.25 or ≥ 15 min/session; ≥ 60 min/week.
    // Trained range wholly above: test trained minimum vs comparison maximum.
    // 57/45 = 1.267 ≥ 1.25 → fires at both ends.
    assert_eq!(session_codes("57-84", "45", ""), vec!["EE_SESSION_LENGTH"]);
    // 55/45 = 1.22 and 10 min apart at the conservative end → no flag, although
    // the upper reading (84 vs 45) alone would raise it.
    assert!(session_codes("55-84", "45", "").is_empty());
    assert_eq!(session_codes("84", "45", ""), vec!["EE_SESSION_LENGTH"]);
    // The comparison range counts at its maximum: 57 vs 40-45 fires, 57 vs
    // 40-46 (ratio 1.24, 11 min) does not.
    assert_eq!(session_codes("57", "40-45", ""), vec!["EE_SESSION_LENGTH"]);
    assert!(session_codes("57", "40-46", "").is_empty());
    // Ranges that straddle (overlap) contain a reading with equal sessions.
    assert!(session_codes("40-90", "45-60", "").is_empty());
    assert!(session_codes("30-50", "45", "").is_empty());
    // Comparison longer than trained: the same rule, mirrored (trained maximum
    // vs comparison minimum): 45 vs 60 fires, 45-50 vs 60 (ratio 1.2, 10 min)
    // does not.
    assert_eq!(session_codes("45", "60-70", ""), vec!["EE_SESSION_LENGTH"]);
    assert!(session_codes("45-50", "60", "").is_empty());
    // Weekly volume: fewest sessions per week × closest minutes.
    // 3 × (57 − 45) = 36 min/week and ratio 1.267 → fires on the ratio.
    assert_eq!(
        session_codes("57-84", "45", "3-5"),
        vec!["EE_SESSION_LENGTH", "EE_WEEKLY_VOLUME"]
    );
    // 55 vs 45 at 5-7 sessions: 5 × 10 = 50 < 60 min/week, ratio 1.22 → no
    // weekly flag, although 7 × 10 = 70 would raise it.
    assert!(session_codes("55", "45", "5-7").is_empty());
    assert_eq!(session_codes("55", "45", "6-7"), vec!["EE_WEEKLY_VOLUME"]);
}

#[test]
fn a_range_flag_names_the_range_and_the_end_it_was_tested_at() {
    let r = row(
        json!({"session_min_trained": "57-84", "session_min_control": 45.0,
        "sessions_per_week": 4.0}),
    );
    let f = flags(&r, None, &ConfoundOptions::default());
    let reason = |c: &str| f.iter().find(|x| x.code == c).unwrap().reason.clone();
    assert_eq!(
        reason("EE_SESSION_LENGTH"),
        "57-84 vs 45 min per session; at the conservative end 57 vs 45 (ratio 1.27)"
    );
    assert_eq!(
        reason("EE_WEEKLY_VOLUME"),
        "228 vs 180 min per week at the conservative end (4 sessions/week × 57 vs 45 min; reported 4 sessions/week, 57-84 vs 45 min)"
    );
}

#[test]
fn thresholds_are_options() {
    let r = row(json!({"session_min_trained": 50.0, "session_min_control": 45.0}));
    assert!(
        !codes(&r).contains(&"EE_SESSION_LENGTH".to_string()),
        "ratio 1.11, 5 min apart"
    );
    let strict = ConfoundOptions {
        session_ratio: 1.1,
        ..Default::default()
    };
    assert!(
        flags(&r, None, &strict)
            .iter()
            .any(|f| f.code == "EE_SESSION_LENGTH")
    );
}

#[test]
fn a_no_exercise_control_is_its_own_flag_and_missing_minutes_are_flagged() {
    let r = row(json!({"comparison": "no_exercise", "ee_measured": "no", "method": "skinfold"}));
    let c = codes(&r);
    for code in [
        "EE_NO_EXERCISE_CONTROL",
        "EE_NOT_MEASURED",
        "MEASURE_IMPRECISE",
    ] {
        assert!(c.contains(&code.to_string()), "{code} in {c:?}");
    }
    assert!(!c.contains(&"EE_SESSION_LENGTH".to_string()));
    let unreported = row(json!({"session_min_control": 45.0}));
    assert!(codes(&unreported).contains(&"EE_SESSION_UNREPORTED".to_string()));
}

#[test]
fn within_subject_limb_comparisons_carry_no_energy_or_diet_flags() {
    let r = row(
        json!({"design": "within_subject", "comparison": "untrained_limb", "region": "abdomen",
        "population": "overweight men", "diet_controlled": "no", "ee_measured": "no",
        "session_min_trained": 90.0, "session_min_control": 0.0, "n_trained": 8, "n_control": 8,
        "change_mean_t": -1.0, "change_sd_t": 2.0, "change_mean_c": -0.5, "change_sd_c": 2.0, "disp_type": "sd"}),
    );
    let c = codes(&r);
    assert!(
        c.iter()
            .all(|x| !x.starts_with("EE_") && x != "DIET_UNCONTROLLED" && x != "REGION_PRONE"),
        "{c:?}"
    );
    // n = 8 and an imputed between-limb r are still flagged.
    assert!(
        c.contains(&"SMALL_N".to_string()) && c.contains(&"IMPUTED".to_string()),
        "{c:?}"
    );
}

#[test]
fn manual_flags_are_shown_as_manual() {
    let r = row(
        json!({"manual_flag": "MANUAL_SAMPLE_OVERLAP", "manual_flag_reason": "same cohort as X"}),
    );
    let f = flags(&r, None, &ConfoundOptions::default());
    let m = f
        .iter()
        .find(|x| x.code == "MANUAL_SAMPLE_OVERLAP")
        .unwrap();
    assert_eq!(
        (m.severity, m.reason.as_str()),
        (Severity::Manual, "same cohort as X")
    );
}

#[test]
fn sensitivity_repools_without_ee_flagged_studies_as_metafor() {
    // The metafor values below were computed on the change-score (d_z)
    // effects (escalc "SMD" of changes / "SMCC"), so the analysis runs on that
    // metric; the raw-score metric is checked in tests/metric.rs.
    let ds = load_spot(&common::root().join("tests/fixtures/sensitivity.csv")).unwrap();
    let opts = RmaOptions {
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let s = sensitivity(
        &ds,
        &SpotOptions {
            metric: Metric::ChangeScore,
            ..Default::default()
        },
        &ConfoundOptions::default(),
        &opts,
    )
    .unwrap();
    let k: Vec<usize> = s
        .scenarios
        .iter()
        .map(|x| x.fit.as_ref().map_or(0, |f| f.k))
        .collect();
    // The fourth scenario is the d_z metric itself: here the same four rows.
    assert_eq!(k, vec![4, 2, 2, 4]);
    let all = s.scenarios[0].fit.as_ref().unwrap();
    assert!(
        close_metafor(all.estimate, 0.177_471_587_015_448_24),
        "{all:?}"
    );
    assert!(close_metafor(all.ci_lb, -0.366_979_341_298_322_05));
    assert!(close_metafor(all.ci_ub, 0.721_922_515_329_218_6));
    let no_ee = s.scenarios[1].fit.as_ref().unwrap();
    assert!(close_metafor(no_ee.estimate, -0.003_738_405_044_444_996_5));
    assert!(close_metafor(no_ee.ci_lb, -1.370_683_976_913_336));
    assert_eq!(s.scenarios[1].excluded, vec!["Alpha 2001", "Beta 2005"]);
    let g = s.flagged_vs_unflagged.as_ref().unwrap();
    assert!(close_metafor(g.q_between.unwrap(), 28.425_743_826_096_01));
    assert!(
        s.sentence
            .starts_with("Removing the 2 EE-confounded studies moves the pooled effect from 0.18"),
        "{}",
        s.sentence
    );
}

#[test]
fn on_the_bundled_dataset_the_sentence_explains_why_nothing_moves() {
    let ds = load_spot(&common::dataset("spot_reduction.csv")).unwrap();
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
    assert!(
        s.sentence.contains("share one energy balance"),
        "{}",
        s.sentence
    );
    // Walts 2008 relies on imputed correlations, so r = 0.3 / 0.5 / 0.7 differ.
    let est: Vec<f64> = s
        .correlation
        .iter()
        .map(|(_, sc)| sc.fit.as_ref().unwrap().estimate)
        .collect();
    assert!(est[0] != est[1] && est[1] != est[2], "{est:?}");
    // Brobakken 2023 (parallel; trained session 57-84 min as reported, control
    // 45 min): issue #16 — EE_SESSION_LENGTH (high) at the conservative end
    // 57 vs 45, no longer EE_SESSION_UNREPORTED.
    let b = s
        .flags
        .iter()
        .find(|f| f.study_id == "brobakken2023" && f.outcome.starts_with("trunk"))
        .unwrap();
    let session = b
        .flags
        .iter()
        .find(|f| f.code == "EE_SESSION_LENGTH")
        .unwrap_or_else(|| panic!("{:?}", b.flags));
    assert_eq!(session.severity, Severity::High);
    assert!(
        session.reason.starts_with("57-84 vs 45 min"),
        "{}",
        session.reason
    );
    assert!(
        b.flags.iter().all(|f| f.code != "EE_SESSION_UNREPORTED"),
        "{:?}",
        b.flags
    );
    assert!(
        b.flags.iter().any(|f| f.code == "REGION_PRONE"),
        "{:?}",
        b.flags
    );
}
