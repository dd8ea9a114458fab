//! Synthesis when numbers are missing (issue #9): effect sizes from p-values
//! against metafor 3.8.1 and R, the sign test against R's `binom.test`, and
//! the evidence table of the bundled dataset.
//!
//! R references (R 4.2.2, metafor 3.8.1; `cm(m)` is metafor's c(m)):
//! ```r
//! binom.test(5, 7)   # p 0.45312500000000022, CI 0.29042086373734272 0.96330743382391448
//! binom.test(0, 4)   # p 0.125, CI 0 0.60236463561647458
//! binom.test(9, 10)  # p 0.021484375000000014, CI 0.554983882971804565 0.997471421455538243
//! binom.test(3, 12)  # p 0.145996093750000083, CI 0.054860644527992761 0.571858461878189117
//! escalc("SMD", ti = qt(0.02/2, 18, lower.tail=FALSE), n1i=10, n2i=10)  # 1.0931140098813865, 0.2298724559649741
//! cm(44)*qt(0.975,44)/sqrt(45)              # 0.29527804653405992
//! cm(22)*qt(0.975,22)*sqrt(1/14+1/10)       # 0.82899871615687104
//! y <- cm(11)*qt(0.03/2,11,lower.tail=FALSE)/sqrt(12); c(y, 1/12 + y^2/24)  # 0.66863435760976231 0.10196132934067581
//! ```

mod common;

use common::tol::{METAFOR_REL, close, close_metafor};
use serde_json::json;
use spotmeta::analysis::confounds::{ConfoundOptions, flag_dataset};
use spotmeta::analysis::primary::primary_analysis;
use spotmeta::analysis::vote::{Contribution, binom_test, vote_count};
use spotmeta::data::{Design, Direction, SpotRow, load_spot};
use spotmeta::escalc::pvalue::{GFromP, PValue, g_from_p};
use spotmeta::escalc::spot::{SpotOptions, spot_effect};
use spotmeta::{RmaOptions, TestKind};

/// p-values are compared absolutely (statrs-style policy).
const P_ABS: f64 = 1e-12;

#[test]
fn sign_test_matches_r_binom_test() {
    for (x, n, p, lb, ub) in [
        (
            5,
            7,
            0.453_125_000_000_000_2,
            0.290_420_863_737_342_7,
            0.963_307_433_823_914_5,
        ),
        (0, 4, 0.125, 0.0, 0.602_364_635_616_474_6),
        (
            9,
            10,
            0.021_484_375_000_000_014,
            0.554_983_882_971_804_6,
            0.997_471_421_455_538_2,
        ),
        (
            3,
            12,
            0.145_996_093_750_000_08,
            0.054_860_644_527_992_76,
            0.571_858_461_878_189_1,
        ),
    ] {
        let (gp, glb, gub) = binom_test(x, n, 0.95);
        assert!((gp - p).abs() < P_ABS, "{x}/{n}: p {gp} vs {p}");
        assert!(
            close(glb, lb, METAFOR_REL, 1e-12),
            "{x}/{n}: lb {glb} vs {lb}"
        );
        assert!(close_metafor(gub, ub), "{x}/{n}: ub {gub} vs {ub}");
    }
}

#[test]
fn exact_p_with_direction_gives_metafor_g() {
    let g = g_from_p(
        PValue::Exact(0.02),
        Some(Direction::FavoursSpotReduction),
        Design::Parallel,
        10.0,
        10.0,
    )
    .unwrap();
    let GFromP::Exact { yi, vi } = g else {
        panic!("{g:?}")
    };
    assert!(
        close_metafor(yi, 1.093_114_009_881_386_5) && close_metafor(vi, 0.229_872_455_964_974_1)
    );
    let against = g_from_p(
        PValue::Exact(0.02),
        Some(Direction::Against),
        Design::Parallel,
        10.0,
        10.0,
    )
    .unwrap();
    assert_eq!(against, GFromP::Exact { yi: -yi, vi });
}

#[test]
fn bounds_stay_bounds() {
    // Kostek 2007 men: within-subject, n = 45, p > 0.05, no direction.
    let g = g_from_p(
        PValue::Above(0.05),
        Some(Direction::Null),
        Design::WithinSubject,
        45.0,
        45.0,
    )
    .unwrap();
    let GFromP::Bounded { lo, hi } = g else {
        panic!("{g:?}")
    };
    assert!(close_metafor(hi, 0.295_278_046_534_059_9) && close_metafor(lo, -hi));
    // p < 0.05 favouring spot reduction, parallel 14 vs 10: g > bound.
    let g = g_from_p(
        PValue::Below(0.05),
        Some(Direction::FavoursSpotReduction),
        Design::Parallel,
        14.0,
        10.0,
    )
    .unwrap();
    let GFromP::Bounded { lo, hi } = g else {
        panic!("{g:?}")
    };
    assert!(close_metafor(lo, 0.828_998_716_156_871) && hi.is_infinite());
    // A "<0.05" without a direction says nothing about g.
    assert_eq!(
        g_from_p(PValue::Below(0.05), None, Design::Parallel, 14.0, 10.0),
        None
    );
}

#[test]
fn an_exact_p_and_direction_without_a_difference_enter_the_pooling_marked_derived() {
    let row: SpotRow = serde_json::from_value(json!({
        "study_id": "doe2020", "cohort": "all", "label": "Doe 2020", "authors": "Doe J", "year": 2020,
        "doi": "10.5555/x", "design": "within_subject", "intervention_type": "exercise",
        "comparison": "untrained_limb", "region": "thigh", "method": "MRI", "outcome_type": "regional_fat",
        "primary": "yes", "status": "included", "status_reason": "t", "n_trained": 12, "n_control": 12,
        "diff_p": 0.03, "direction": "favours_spot_reduction"
    }))
    .unwrap();
    let es = spot_effect(&row, &SpotOptions::default()).unwrap();
    assert!(
        close_metafor(es.yi, 0.668_634_357_609_762_3)
            && close_metafor(es.vi, 0.101_961_329_340_675_81)
    );
    assert!(
        es.derivations
            .iter()
            .any(|d| d.to_string().contains("direction and exact p = 0.03"))
    );
}

#[test]
fn the_bundled_dataset_counts_every_primary_outcome_once() {
    let ds = load_spot(&common::dataset("spot_reduction.csv")).unwrap();
    let opts = RmaOptions {
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let pa = primary_analysis(&ds, &SpotOptions::default(), &opts).unwrap();
    let flags = flag_dataset(&ds, &pa.selection, &ConfoundOptions::default());
    let v = vote_count(&ds, &pa.selection, &flags, Some(&pa.fit), 0.95);
    // Directions as coded in the dataset: Krotkiewski 1979, Scotto di Palumbo 2017 (2 groups),
    // Paoli 2021, Brobakken 2023 favour; Walts 2008 (men, women) against.
    assert_eq!((v.overall.favour, v.overall.against), (5, 2));
    assert!((v.overall.pval.unwrap() - 0.453_125_000_000_000_2).abs() < P_ABS);
    assert_eq!(v.n_pooled, 2);
    assert_eq!(
        v.evidence
            .iter()
            .filter(|e| e.contribution == Contribution::Pooled)
            .count(),
        2
    );
    assert!(v.agreement.contains("agree"), "{}", v.agreement);
    let kostek = v
        .evidence
        .iter()
        .find(|e| e.label == "Kostek 2007 (men)")
        .unwrap();
    assert!(
        matches!(kostek.g_from_p, Some(GFromP::Bounded { .. })),
        "{kostek:?}"
    );
}
