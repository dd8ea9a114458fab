//! `rma` against R metafor: every estimator × test on the metadat datasets and
//! synthetic edge cases of `tests/conformance/fixtures/rma.json` (made by
//! `tests/conformance/make_fixtures.R`; versions in `versions.json`). Every key
//! of the JSON output is compared at `METAFOR_REL` relative / `METAFOR_ABS`
//! absolute tolerance.

mod common;

use common::tol::close_metafor;
use serde_json::Value;
use spotmeta::analysis::confint;
use spotmeta::output::json::RmaSummary;
use spotmeta::{Method, RmaOptions, TestKind, rma};

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// (our key, fixture key)
const KEYS: &[(&str, &str)] = &[
    ("k", "k"),
    ("beta", "estimate"),
    ("se", "se"),
    ("zval", "zval"),
    ("pval", "pval"),
    ("ci_lb", "ci_lb"),
    ("ci_ub", "ci_ub"),
    ("pi_lb", "pi_lb"),
    ("pi_ub", "pi_ub"),
    ("tau2", "tau2"),
    ("se_tau2", "se_tau2"),
    ("tau", "tau"),
    ("tau2_ci_lb", "tau2_ci_lb"),
    ("tau2_ci_ub", "tau2_ci_ub"),
    ("tau_ci_lb", "tau_ci_lb"),
    ("tau_ci_ub", "tau_ci_ub"),
    ("I2", "I2"),
    ("I2_ci_lb", "I2_ci_lb"),
    ("I2_ci_ub", "I2_ci_ub"),
    ("H2", "H2"),
    ("H2_ci_lb", "H2_ci_lb"),
    ("H2_ci_ub", "H2_ci_ub"),
    ("QE", "Q"),
    ("QEdf", "Q_df"),
    ("QEp", "Q_pval"),
    ("s2", "s2"),
];

fn compare_case(case: &Value) -> Vec<String> {
    let yi = nums(&case["yi"]);
    let vi = nums(&case["vi"]);
    let method: Method = case["method"].as_str().unwrap().parse().unwrap();
    let test: TestKind = case["test"].as_str().unwrap().parse().unwrap();
    let opts = RmaOptions {
        method,
        test,
        level: case["level"].as_f64().unwrap(),
        ..Default::default()
    }
    .check()
    .unwrap();
    let name = format!("{} {} {}", case["dataset"].as_str().unwrap(), method, test);
    let fit = match rma(&yi, &vi, &opts) {
        Ok(f) => f,
        Err(e) => return vec![format!("{name}: rma failed: {e}")],
    };
    let ci = confint(&yi, &vi, &fit, 1e-12).unwrap();
    let ours = serde_json::to_value(RmaSummary::new(&fit, ci.as_ref())).unwrap();
    let want = &case["expected"];
    let mut bad = Vec::new();
    for (ok, fk) in KEYS {
        let (g, w) = (&ours[*ok], &want[*fk]);
        match (g.as_f64(), w.as_f64()) {
            (Some(g), Some(w)) if close_metafor(g, w) => {}
            // τ = √τ²: near τ² = 0 the square root magnifies metafor's own
            // convergence noise (its Fisher scoring stops at τ² ≈ 1e-13 where
            // the maximum is on the boundary 0), so τ is compared via τ².
            (Some(g), Some(w)) if ok.starts_with("tau_") || *ok == "tau" => {
                if !close_metafor(g * g, w * w) {
                    bad.push(format!("{name}: {ok} = {g} but metafor gives {w}"));
                }
            }
            (None, None) => {}
            // metafor's FE model reports no τ² CI; for k = 1 it reports
            // I² = 0, H² = 1, Q_pval = 1 where we report undefined (null).
            (None, Some(_)) if fit.k == 1 && matches!(*ok, "I2" | "H2" | "QEp" | "s2") => {}
            // metafor 3.8.1's predict() gives no PI for a common-effect model;
            // we report PI = CI there (τ² = 0), as later metafor versions do.
            (Some(_), None) if method == Method::FE && matches!(*ok, "pi_lb" | "pi_ub") => {}
            _ => bad.push(format!("{name}: {ok} = {g} but metafor gives {w}")),
        }
    }
    bad
}

#[test]
fn rma_matches_metafor_for_every_estimator_and_test() {
    let fixtures = common::read_json("rma.json");
    let cases = fixtures.as_array().expect("array of cases");
    assert!(
        cases.len() >= 8 * 9 * 2,
        "too few fixture cases: {}",
        cases.len()
    );
    let failures: Vec<String> = cases.iter().flat_map(compare_case).collect();
    assert!(
        failures.is_empty(),
        "{} mismatch(es) in {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `rma` rejects every non-finite yi and every vi that is not positive and
/// finite, at every position: the first study (the shift of DL's first
/// pass), the middle, and the last one, which with an odd k shares its lane
/// pair with padding.
#[test]
fn input_check_catches_every_bad_value_and_names_the_study() {
    // REML checks before its passes; DL checks inside its first pass.
    for method in [spotmeta::Method::REML, spotmeta::Method::DL] {
        check_rejects_bad_values(
            &RmaOptions {
                method,
                ..Default::default()
            }
            .check()
            .unwrap(),
        );
    }
}

fn check_rejects_bad_values(opts: &spotmeta::ValidRmaOptions) {
    let y = [0.1, 0.2, 0.3, 0.4, 0.5, 0.35];
    let v = [0.01, 0.02, 0.03, 0.04, 0.05, 0.025];
    for k in [5, 6] {
        let (y, v) = (&y[..k], &v[..k]);
        assert!(spotmeta::rma(y, v, opts).is_ok());
        for at in 0..k {
            let row = format!("row {}", at + 1);
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut yy = y.to_vec();
                yy[at] = bad;
                let e = spotmeta::rma(&yy, v, opts).unwrap_err().to_string();
                assert!(
                    e.contains(&row) && e.contains("not a finite number"),
                    "k = {k}, y = {bad} at {at}: {e}"
                );
            }
            for bad in [
                0.0,
                -0.0,
                -0.01,
                f64::NAN,
                f64::INFINITY,
                -f64::MIN_POSITIVE,
            ] {
                let mut vv = v.to_vec();
                vv[at] = bad;
                let e = spotmeta::rma(y, &vv, opts).unwrap_err().to_string();
                assert!(
                    e.contains(&row) && e.contains("must be positive and finite"),
                    "k = {k}, v = {bad} at {at}: {e}"
                );
            }
        }
    }
}
