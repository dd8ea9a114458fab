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
//! binom.test(8, 13)  # p 0.58105468749999967, CI 0.31577760291406304 0.86142066110983939
//! binom.test(3, 4)   # p 0.62500000000000011, CI 0.19412044968324341 0.99369053679029018
//! binom.test(4, 7)   # p 1, CI 0.18405156764008304 0.9010117215574921
//! binom.test(5, 9)   # p 1, CI 0.21200850677886807 0.86300433773483343
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

/// Issue #16: the "no difference" results are shown as ties, left out of the
/// exact test and split in the sensitivity test (half to each direction, an
/// odd tie dropped). Bundled dataset: 5 favour, 2 against, 6 ties overall
/// (8 vs 5 split); EE-flagged 2/0/3 (3 vs 1, one dropped); unflagged 3/2/3
/// (4 vs 3, one dropped). R references in the module header.
#[test]
fn ties_are_shown_and_split_in_the_sensitivity_sign_test() {
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
    for (s, counts, split, dropped, (p, lb, ub)) in [
        (
            &v.overall,
            (5, 2, 7, 0),
            (8, 5),
            1,
            (
                0.581_054_687_499_999_7,
                0.315_777_602_914_063,
                0.861_420_661_109_839_4,
            ),
        ),
        (
            &v.ee_flagged,
            (2, 0, 3, 0),
            (3, 1),
            1,
            (
                0.625_000_000_000_000_1,
                0.194_120_449_683_243_4,
                0.993_690_536_790_290_2,
            ),
        ),
        (
            &v.ee_unflagged,
            (3, 2, 4, 0),
            (5, 4),
            0,
            // R: binom.test(5, 9)
            (1.0, 0.212_008_506_778_868_07, 0.863_004_337_734_833_4),
        ),
    ] {
        assert_eq!((s.favour, s.against, s.ties, s.not_reported), counts);
        let x = s.ties_split.expect("something to test");
        assert_eq!(((x.favour, x.against), x.dropped), (split, dropped));
        assert!((x.pval - p).abs() < P_ABS, "p {} vs R {p}", x.pval);
        assert!(close(x.ci_lb, lb, METAFOR_REL, 1e-12));
        assert!(close_metafor(x.ci_ub, ub));
    }
    assert!(
        v.agreement.contains("7 reported no difference (ties"),
        "{}",
        v.agreement
    );
}
