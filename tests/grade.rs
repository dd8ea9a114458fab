//! GRADE certainty (issue #17): each rule on small constructed cases, firing
//! at its threshold and not just below it; the optimal information size
//! against R; the bundled evidence rated end to end.

mod common;

use common::tol::{FORMULA_REL, close};
use spotmeta::analysis::grade::{
    Certainty, Domain, GradeInput, GradeOptions, GradeStudy, Randomisation, RobOverall, Verdict,
    grade, optimal_information_size,
};

/// A randomised, low-risk, direct study with weight `w`, effect 0.5 ± small.
fn study(id: &str, w: f64) -> GradeStudy {
    GradeStudy {
        label: id.into(),
        study_id: id.into(),
        randomisation: Randomisation::Randomised,
        rob: RobOverall::Low,
        weight: w,
        yi: 0.5,
        vi: 0.04,
        n: Some(1000),
        region_prone: false,
        girth: false,
        ee_confound: false,
    }
}

/// Two studies weighted `w` and `100 − w`, a precise pooled effect of 0.5
/// (CI clear of −0.2, 0 and 0.2), no heterogeneity: nothing fires.
fn clean(w: f64) -> GradeInput {
    GradeInput {
        outcome: "test outcome".into(),
        studies: vec![study("a", w), study("b", 100.0 - w)],
        estimate: 0.5,
        ci: (0.3, 0.7),
        pi: Some((0.3, 0.7)),
        i2: Some(0.0),
    }
}

fn verdict(input: &GradeInput, opts: &GradeOptions, d: Domain) -> Verdict {
    let g = grade(input, opts).unwrap();
    g.steps.iter().find(|s| s.domain == d).unwrap().verdict
}

#[test]
fn clean_randomised_evidence_is_high() {
    let g = grade(&clean(50.0), &GradeOptions::default()).unwrap();
    assert_eq!(g.start, Certainty::High);
    assert_eq!(g.certainty, Certainty::High);
    assert!(g.downgrades().is_empty());
    assert_eq!(g.steps.len(), 5);
}

#[test]
fn ois_matches_the_normal_approximation_in_r() {
    // R 4.x: 2*(qnorm(0.975)+qnorm(0.8))^2/0.2^2 = 392.44398671745421
    let o = optimal_information_size(0.2, 0.05, 0.8);
    assert!(close(
        o.per_group_exact,
        392.443_986_717_454_2,
        FORMULA_REL,
        0.0
    ));
    assert_eq!((o.per_group, o.total), (393, 786));
    // R: 2*(qnorm(0.975)+qnorm(0.9))^2/0.5^2 = 84.059384491524952
    let o = optimal_information_size(0.5, 0.05, 0.9);
    assert!(close(
        o.per_group_exact,
        84.059_384_491_524_95,
        FORMULA_REL,
        0.0
    ));
    assert_eq!(o.total, 170);
}

#[test]
fn start_is_low_unless_randomised_studies_carry_the_threshold_share() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    x.studies[1].randomisation = Randomisation::NotRandomised;
    assert_eq!(grade(&x, &opts).unwrap().start, Certainty::Low);
    x.studies[1].randomisation = Randomisation::NotRecorded;
    let g = grade(&x, &opts).unwrap();
    assert_eq!(g.start, Certainty::Low);
    assert!(
        g.start_reason.contains("not recorded"),
        "{}",
        g.start_reason
    );
    // At the threshold (50% randomised, rule 50%) it starts high.
    let half = GradeOptions {
        rct_share_for_high: 0.5,
        ..opts
    };
    assert_eq!(grade(&x, &half).unwrap().start, Certainty::High);
    let mut y = clean(49.0);
    y.studies[1].randomisation = Randomisation::NotRandomised;
    assert_eq!(grade(&y, &half).unwrap().start, Certainty::Low);
}

#[test]
fn risk_of_bias_fires_at_its_weight_shares() {
    let opts = GradeOptions::default();
    // Some concerns on exactly 50% of the weight: serious.
    let mut x = clean(50.0);
    x.studies[0].rob = RobOverall::SomeConcerns;
    assert_eq!(verdict(&x, &opts, Domain::RiskOfBias), Verdict::Serious);
    // On 49%: not serious.
    let mut y = clean(49.0);
    y.studies[0].rob = RobOverall::SomeConcerns;
    assert_eq!(verdict(&y, &opts, Domain::RiskOfBias), Verdict::NotSerious);
    // High risk on 50%: very serious; on 49% (the rest low): not serious.
    let mut z = clean(50.0);
    z.studies[0].rob = RobOverall::High;
    assert_eq!(verdict(&z, &opts, Domain::RiskOfBias), Verdict::VerySerious);
    let mut w = clean(49.0);
    w.studies[0].rob = RobOverall::High;
    assert_eq!(verdict(&w, &opts, Domain::RiskOfBias), Verdict::NotSerious);
    w.studies[1].rob = RobOverall::SomeConcerns;
    assert_eq!(verdict(&w, &opts, Domain::RiskOfBias), Verdict::Serious);
}

#[test]
fn no_information_counts_as_the_option_says() {
    let mut x = clean(50.0);
    x.studies[0].rob = RobOverall::NoInformation;
    let opts = GradeOptions::default();
    assert_eq!(verdict(&x, &opts, Domain::RiskOfBias), Verdict::Serious);
    let lenient = GradeOptions {
        no_information_as: RobOverall::Low,
        ..opts
    };
    assert_eq!(
        verdict(&x, &lenient, Domain::RiskOfBias),
        Verdict::NotSerious
    );
    let strict = GradeOptions {
        no_information_as: RobOverall::High,
        ..opts
    };
    assert_eq!(
        verdict(&x, &strict, Domain::RiskOfBias),
        Verdict::VerySerious
    );
}

#[test]
fn inconsistency_fires_on_i2_at_its_threshold() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    x.i2 = Some(50.0);
    assert_eq!(verdict(&x, &opts, Domain::Inconsistency), Verdict::Serious);
    x.i2 = Some(49.9);
    assert_eq!(
        verdict(&x, &opts, Domain::Inconsistency),
        Verdict::NotSerious
    );
    // I² ≥ 75% alone is still one level.
    x.i2 = Some(80.0);
    assert_eq!(verdict(&x, &opts, Domain::Inconsistency), Verdict::Serious);
}

#[test]
fn inconsistency_fires_when_the_pi_includes_zero_but_the_ci_does_not() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    x.pi = Some((-0.1, 1.1));
    assert_eq!(verdict(&x, &opts, Domain::Inconsistency), Verdict::Serious);
    x.pi = Some((0.01, 1.0));
    assert_eq!(
        verdict(&x, &opts, Domain::Inconsistency),
        Verdict::NotSerious
    );
    // With I² ≥ 75% it is two levels.
    x.pi = Some((-0.1, 1.1));
    x.i2 = Some(75.0);
    assert_eq!(
        verdict(&x, &opts, Domain::Inconsistency),
        Verdict::VerySerious
    );
}

#[test]
fn inconsistency_fires_on_conflicting_significant_studies_only() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    // Opposite point estimates with CIs that include 0: not a signal.
    x.studies[0].yi = 0.3; // CI 0.3 ± 0.39
    x.studies[1].yi = -0.3;
    assert_eq!(
        verdict(&x, &opts, Domain::Inconsistency),
        Verdict::NotSerious
    );
    // Both CIs exclude 0, in opposite directions: serious.
    x.studies[0].yi = 0.5; // 0.5 − 1.96·0.2 = 0.108 > 0
    x.studies[1].yi = -0.5;
    assert_eq!(verdict(&x, &opts, Domain::Inconsistency), Verdict::Serious);
}

#[test]
fn inconsistency_is_not_assessable_with_one_effect() {
    let mut x = clean(50.0);
    x.studies.truncate(1);
    assert_eq!(
        verdict(&x, &GradeOptions::default(), Domain::Inconsistency),
        Verdict::NotAssessable
    );
}

#[test]
fn indirectness_fires_at_its_weight_share() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    x.studies[0].girth = true;
    assert_eq!(verdict(&x, &opts, Domain::Indirectness), Verdict::Serious);
    let mut y = clean(49.0);
    y.studies[0].region_prone = true;
    assert_eq!(
        verdict(&y, &opts, Domain::Indirectness),
        Verdict::NotSerious
    );
    // Two kinds on 50%: very serious.
    x.studies[0].ee_confound = true;
    assert_eq!(
        verdict(&x, &opts, Domain::Indirectness),
        Verdict::VerySerious
    );
    // Two kinds on 49% plus one kind on 51%: serious.
    y.studies[0].ee_confound = true;
    y.studies[1].girth = true;
    assert_eq!(verdict(&y, &opts, Domain::Indirectness), Verdict::Serious);
}

#[test]
fn imprecision_fires_when_the_ci_includes_a_threshold() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    x.ci = (0.21, 0.7);
    assert_eq!(verdict(&x, &opts, Domain::Imprecision), Verdict::NotSerious);
    x.ci = (0.19, 0.7); // includes +0.2
    assert_eq!(verdict(&x, &opts, Domain::Imprecision), Verdict::Serious);
    x.ci = (-0.01, 0.19); // includes 0
    assert_eq!(verdict(&x, &opts, Domain::Imprecision), Verdict::Serious);
    x.ci = (-0.19, 0.21); // includes 0 and +0.2, not −0.2
    assert_eq!(verdict(&x, &opts, Domain::Imprecision), Verdict::Serious);
    x.ci = (-0.21, 0.21); // includes both −0.2 and +0.2
    assert_eq!(
        verdict(&x, &opts, Domain::Imprecision),
        Verdict::VerySerious
    );
}

#[test]
fn imprecision_fires_below_the_optimal_information_size() {
    let opts = GradeOptions::default();
    let mut x = clean(50.0);
    x.studies[0].n = Some(393);
    x.studies[1].n = Some(393); // 786 = OIS
    assert_eq!(verdict(&x, &opts, Domain::Imprecision), Verdict::NotSerious);
    x.studies[1].n = Some(392); // 785
    assert_eq!(verdict(&x, &opts, Domain::Imprecision), Verdict::Serious);
    // An unknown n counts as nothing: "at least 393".
    x.studies[1].n = None;
    let g = grade(&x, &opts).unwrap();
    let s = &g.steps[3];
    assert_eq!(s.verdict, Verdict::Serious);
    assert!(s.reason.contains("at least 393"), "{}", s.reason);
}

/// Ten studies with the given effects and variances.
fn ten(yi: [f64; 10]) -> GradeInput {
    let vi = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.15];
    let mut x = clean(50.0);
    x.studies = (0..10)
        .map(|i| GradeStudy {
            yi: yi[i],
            vi: vi[i],
            ..study(&format!("s{i}"), 10.0)
        })
        .collect();
    x
}

#[test]
fn publication_bias_is_assessed_only_from_ten_studies() {
    let opts = GradeOptions::default();
    // Asymmetric funnel: metafor 4.x regtest(yi, vi, model = "lm") p = 2.95e-06.
    let asym = [0.05, 0.12, 0.10, 0.25, 0.22, 0.35, 0.33, 0.45, 0.50, 0.62];
    let x = ten(asym);
    assert_eq!(
        verdict(&x, &opts, Domain::PublicationBias),
        Verdict::Serious
    );
    // The same nine: not assessable.
    let mut nine = x.clone();
    nine.studies.pop();
    assert_eq!(
        verdict(&nine, &opts, Domain::PublicationBias),
        Verdict::NotAssessable
    );
    // Symmetric funnel: regtest p = 0.774.
    let sym = [
        0.10, -0.05, 0.20, 0.02, 0.15, -0.10, 0.25, -0.12, 0.08, 0.05,
    ];
    assert_eq!(
        verdict(&ten(sym), &opts, Domain::PublicationBias),
        Verdict::NotSerious
    );
    // Cohorts of one study count once: 10 effects from 9 studies.
    let mut cohorts = x;
    cohorts.studies[9].study_id = "s8".into();
    assert_eq!(
        verdict(&cohorts, &opts, Domain::PublicationBias),
        Verdict::NotAssessable
    );
}

#[test]
fn downgrades_accumulate_and_floor_at_very_low() {
    let mut x = clean(50.0);
    for s in &mut x.studies {
        s.rob = RobOverall::High;
        s.girth = true;
        s.ee_confound = true;
    }
    x.ci = (-0.5, 0.5);
    let g = grade(&x, &GradeOptions::default()).unwrap();
    assert_eq!(g.certainty, Certainty::VeryLow);
    let after: Vec<Certainty> = g.steps.iter().map(|s| s.after).collect();
    assert_eq!(after[0], Certainty::Low);
    assert_eq!(after[2], Certainty::VeryLow);
    assert_eq!(g.downgrades().len(), 3);
}

#[test]
fn options_out_of_range_are_refused() {
    let x = clean(50.0);
    for bad in [
        GradeOptions {
            rob_serious_share: 0.0,
            ..Default::default()
        },
        GradeOptions {
            i2_very_serious: 40.0,
            ..Default::default()
        },
        GradeOptions {
            smallest_worthwhile: -0.2,
            ..Default::default()
        },
        GradeOptions {
            power: 1.0,
            ..Default::default()
        },
        GradeOptions {
            pub_bias_min_k: 2,
            ..Default::default()
        },
    ] {
        assert!(grade(&x, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn every_step_prints_its_rule_and_reason() {
    let g = grade(&clean(50.0), &GradeOptions::default()).unwrap();
    let text = g.to_string();
    for d in [
        "risk of bias",
        "inconsistency",
        "indirectness",
        "imprecision",
        "publication bias",
    ] {
        assert!(text.contains(d), "{text}");
    }
    assert_eq!(text.matches("    rule: ").count(), 6); // start + 5 domains
    assert_eq!(text.matches("    data: ").count(), 6);
    assert!(
        g.sentence()
            .starts_with("GRADE certainty for test outcome: high")
    );
}

#[test]
fn bundled_evidence_is_very_low_and_says_why() {
    use spotmeta::analysis::confounds::ConfoundOptions;
    use spotmeta::analysis::grade::spot_grade_input;
    use spotmeta::analysis::primary::primary_analysis;
    use spotmeta::escalc::spot::SpotOptions;
    use spotmeta::{Method, RmaOptions, TestKind};
    let ds = spotmeta::data::load_spot(&common::dataset("spot_reduction.csv")).unwrap();
    let opts = RmaOptions {
        method: Method::REML,
        test: TestKind::Knha,
        ..Default::default()
    }
    .check()
    .unwrap();
    let pa = primary_analysis(&ds, &SpotOptions::default(), &opts).unwrap();
    let input = spot_grade_input(&ds, &pa, &ConfoundOptions::default());
    // Walts 2008 is assessed with ROBINS-I (codebook §12): not randomised,
    // its overall judgement read from the rob_* columns, not a default.
    assert!(
        input
            .studies
            .iter()
            .all(|s| s.randomisation == spotmeta::analysis::grade::Randomisation::NotRandomised)
    );
    let g = grade(&input, &GradeOptions::default()).unwrap();
    assert_eq!(g.start, Certainty::Low);
    assert_eq!(g.certainty, Certainty::VeryLow);
    let s = g.sentence();
    assert!(s.contains("imprecision"), "{s}");
    assert!(s.contains("risk of bias"), "{s}");
}

#[test]
fn summary_of_findings_has_every_column_in_every_format() {
    use spotmeta::output::sof::{sof_markdown, sof_row, sof_text};
    let mut x = clean(50.0);
    x.studies[1].n = None;
    x.ci = (-0.05, 0.7);
    let g = grade(&x, &GradeOptions::default()).unwrap();
    let row = sof_row(&x, &g, "SMD", 0.95);
    assert_eq!(row.certainty, Certainty::Moderate);
    let md = sof_markdown(std::slice::from_ref(&row));
    assert!(md.starts_with(
        "| outcome | studies | participants | effect | certainty (GRADE) | reasons |"
    ));
    assert!(md.contains("| test outcome | k = 2 effect sizes from 2 studies | ≥ 1000 (1 effect without n) | SMD 0.50 (95% CI −0.05 to 0.70) | ⊕⊕⊕◯ moderate | [1] |"), "{md}");
    assert!(
        md.contains("1. imprecision (−1): CI [−0.05, 0.70] includes 0"),
        "{md}"
    );
    let text = sof_text(std::slice::from_ref(&row));
    assert!(text.contains("certainty:    ⊕⊕⊕◯ moderate"), "{text}");
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(json["certainty"], "moderate");
    assert_eq!(json["k"], 2);
    assert_eq!(json["reasons"].as_array().unwrap().len(), 1);
}

// ── the review's thresholds as data: the `[grade]` table of review.toml ──

use spotmeta::data::review::{GradeValue, ReviewRecord, check_record, grade_value_problem};
use std::path::Path;

/// The bundled review record's text.
fn bundled_record() -> String {
    std::fs::read_to_string(common::dataset("review.toml")).unwrap()
}

/// The bundled record with the `[grade]` line `key = …` replaced.
fn record_with(key: &str, value: &str) -> String {
    let text = bundled_record();
    let prefix = format!("{key} = ");
    assert_eq!(
        text.lines().filter(|l| l.starts_with(&prefix)).count(),
        1,
        "one line `{key} =`"
    );
    text.lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn line_of(text: &str, key: &str) -> u64 {
    text.lines()
        .position(|l| l.starts_with(&format!("{key} = ")))
        .unwrap() as u64
        + 1
}

/// The options a record text sets.
fn options_of(text: &str) -> spotmeta::Result<GradeOptions> {
    let rec = ReviewRecord::parse(Path::new("review.toml"), text)?;
    GradeOptions::default().with_table(&rec.grade, &rec.path)
}

#[test]
fn the_bundled_grade_table_gives_every_threshold_at_its_default() {
    let rec = ReviewRecord::parse(Path::new("review.toml"), &bundled_record()).unwrap();
    let keys: Vec<&str> = rec.grade.entries.iter().map(|e| e.key).collect();
    assert_eq!(keys, spotmeta::data::review::GRADE_KEYS);
    assert_eq!(
        options_of(&bundled_record()).unwrap(),
        GradeOptions::default()
    );
    // Every default is in the ranges the check applies.
    for (key, value) in GradeOptions::default().entries() {
        assert_eq!(grade_value_problem(key, &value), None, "{key}");
    }
}

#[test]
fn a_record_without_a_grade_table_keeps_the_defaults() {
    let text = bundled_record();
    let cut = text.find("\n[grade]").unwrap();
    let rec = ReviewRecord::parse(Path::new("review.toml"), &text[..cut]).unwrap();
    assert!(rec.grade.entries.is_empty());
    assert_eq!(options_of(&text[..cut]).unwrap(), GradeOptions::default());
}

#[test]
fn i2_cut_off_from_the_record_changes_the_inconsistency_rating() {
    // GRADE handbook (Schünemann et al. 2013) §5.2.3 "Inconsistency": I² is
    // one criterion, and where its cut-off lies is the reviewer's judgement
    // (Cochrane Handbook §10.10.2: 30–60% "may represent moderate", 50–90%
    // "substantial" heterogeneity). The same evidence with I² = 60% is
    // downgraded under the default cut-off (50%) and not under 70%.
    let mut x = clean(50.0);
    x.i2 = Some(60.0);
    let default = options_of(&bundled_record()).unwrap();
    let g = grade(&x, &default).unwrap();
    assert_eq!(
        verdict(&x, &default, Domain::Inconsistency),
        Verdict::Serious
    );
    assert_eq!(g.certainty, Certainty::Moderate);
    let lenient = options_of(&record_with("i2_serious", "70")).unwrap();
    assert_eq!(lenient.i2_serious, 70.0);
    assert_eq!(
        verdict(&x, &lenient, Domain::Inconsistency),
        Verdict::NotSerious
    );
    assert_eq!(grade(&x, &lenient).unwrap().certainty, Certainty::High);
}

#[test]
fn smallest_worthwhile_effect_from_the_record_changes_the_imprecision_rating() {
    // GRADE handbook §5.2.5 "Imprecision" and Guyatt et al. 2011 (GRADE
    // guidelines 6): rate down when the CI crosses the threshold the review
    // sets for a worthwhile effect. CI [0.25, 0.70] clears δ = 0.2 but
    // includes δ = 0.3; 2000 participants meet both optimal information
    // sizes (786 for δ = 0.2, 350 for δ = 0.3).
    let mut x = clean(50.0);
    x.ci = (0.25, 0.7);
    let default = options_of(&bundled_record()).unwrap();
    assert_eq!(
        verdict(&x, &default, Domain::Imprecision),
        Verdict::NotSerious
    );
    let wider = options_of(&record_with("smallest_worthwhile", "0.3")).unwrap();
    let g = grade(&x, &wider).unwrap();
    assert_eq!(verdict(&x, &wider, Domain::Imprecision), Verdict::Serious);
    assert_eq!(g.certainty, Certainty::Moderate);
    assert_eq!(g.ois.total, 350);
}

#[test]
fn no_information_as_from_the_record_changes_the_risk_of_bias_rating() {
    // GRADE handbook §5.2.1 "Study limitations (risk of bias)": rate down
    // when most of the weight comes from studies with serious limitations;
    // how unassessed studies count is the review's rule.
    let mut x = clean(50.0);
    for s in &mut x.studies {
        s.rob = RobOverall::NoInformation;
    }
    let default = options_of(&bundled_record()).unwrap();
    assert_eq!(verdict(&x, &default, Domain::RiskOfBias), Verdict::Serious);
    let high = options_of(&record_with("no_information_as", "\"high\"")).unwrap();
    assert_eq!(high.no_information_as, RobOverall::High);
    assert_eq!(verdict(&x, &high, Domain::RiskOfBias), Verdict::VerySerious);
}

#[test]
fn grade_values_out_of_range_are_check_errors_at_their_line_and_column() {
    let (_, ds) = {
        let csv = common::dataset("spot_reduction.csv");
        ((), spotmeta::data::load_spot(&csv).unwrap())
    };
    for (key, value, column, says) in [
        ("i2_serious", "150", 14, "give a percentage in [0, 100]"),
        (
            "rob_serious_share",
            "0",
            21,
            "give a weight share in (0, 1]",
        ),
        ("power", "1.0", 9, "give a probability in (0, 1)"),
        ("smallest_worthwhile", "-0.2", 23, "give a positive SMD"),
        ("pub_bias_min_k", "2", 18, "whole number of studies ≥ 3"),
        ("pub_bias_min_k", "10.5", 18, "whole number of studies ≥ 3"),
        (
            "no_information_as",
            "\"maybe\"",
            21,
            "give one of \"low\", \"some_concerns\", \"high\", \"no_information\"",
        ),
    ] {
        let text = record_with(key, value);
        let line = line_of(&text, key);
        let rec = ReviewRecord::parse(Path::new("review.toml"), &text).unwrap();
        let issues = check_record(&rec, Some(&ds));
        assert_eq!(issues.len(), 1, "{key} = {value}: {issues:#?}");
        let i = &issues[0];
        assert!(i.is_error());
        assert_eq!((i.line, i.column), (line, Some(column)), "{key}");
        assert_eq!(i.column_name.as_deref(), Some(&*format!("grade.{key}")));
        assert!(i.message.contains(says), "{}", i.message);
        // The report refuses the same value at the same place.
        let err = options_of(&text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("review.toml:{line}:{column}")),
            "{err}"
        );
    }
    // The rule between the two I² cut-offs, at the very-serious one.
    let text = record_with("i2_very_serious", "40");
    let rec = ReviewRecord::parse(Path::new("review.toml"), &text).unwrap();
    let issues = check_record(&rec, Some(&ds));
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].line, line_of(&text, "i2_very_serious"));
    assert!(issues[0].message.contains("below i2_serious = 50"));
    assert!(options_of(&text).is_err());
    // Only the very-serious cut-off given, below the default serious one
    // (50, analysis::grade::GradeOptions::default): `check` says so as the
    // report does, at that key.
    let text: String = record_with("i2_very_serious", "40")
        .lines()
        .filter(|l| !l.starts_with("i2_serious = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let rec = ReviewRecord::parse(Path::new("review.toml"), &text).unwrap();
    let issues = check_record(&rec, Some(&ds));
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].line, line_of(&text, "i2_very_serious"));
    assert!(issues[0].message.contains("below i2_serious = 50"));
    assert!(options_of(&text).is_err());
}

#[test]
fn an_unknown_or_mistyped_grade_key_is_a_parse_error_at_its_place() {
    let text = bundled_record().replace("i2_serious = 50", "i2_serius = 50");
    let line = line_of(&text, "i2_serius");
    let err = ReviewRecord::parse(Path::new("review.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("review.toml:{line}:1")), "{err}");
    assert!(err.contains("unknown field `i2_serius`"), "{err}");
    let text = record_with("alpha", "\"five percent\"");
    let line = line_of(&text, "alpha");
    let err = ReviewRecord::parse(Path::new("review.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("review.toml:{line}:9")), "{err}");
}

#[test]
fn a_level_where_a_number_belongs_is_named() {
    assert_eq!(
        grade_value_problem("alpha", &GradeValue::Level("x".into())).as_deref(),
        Some("\"x\": give a number")
    );
}

#[test]
fn report_takes_the_thresholds_from_the_record_beside_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::dataset("spot_reduction.csv"),
        dir.path().join("spot_reduction.csv"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("review.toml"),
        record_with("smallest_worthwhile", "0.5"),
    )
    .unwrap();
    let out = dir.path().join("out");
    common::spotmeta()
        .arg("report")
        .arg(dir.path().join("spot_reduction.csv"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(v["grade"]["options"]["smallest_worthwhile"], 0.5);
    // OIS for δ = 0.5 (R: ceiling(2*(qnorm(0.975)+qnorm(0.8))^2/0.5^2) = 63 per group).
    assert_eq!(v["grade"]["ois"]["total"], 126);
    // A value out of range fails the report at its place, and writes nothing.
    let text = record_with("alpha", "0");
    let line = line_of(&text, "alpha");
    std::fs::write(dir.path().join("review.toml"), &text).unwrap();
    let out2 = dir.path().join("out2");
    let a = common::spotmeta()
        .arg("report")
        .arg(dir.path().join("spot_reduction.csv"))
        .arg("-o")
        .arg(&out2)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains(&format!("review.toml:{line}:9")), "{err}");
    assert!(!out2.join("report.png").exists());
}
