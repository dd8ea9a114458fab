//! `escalc` measures against R metafor 3.8.1 (`tests/conformance/fixtures/escalc.json`,
//! made by `tests/conformance/make_fixtures.R`; each case records the exact
//! `escalc()` call in its `source`). Compared at `METAFOR_REL`.

mod common;

use common::tol::close_metafor;
use serde_json::Value;
use spotmeta::escalc::{md, smcc, smcr, smd, smd_from_t};

fn col(case: &Value, name: &str) -> Vec<f64> {
    case["inputs"][name]
        .as_array()
        .unwrap_or_else(|| panic!("input {name}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn expected(case: &Value, key: &str) -> Vec<f64> {
    case["expected"][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Run every fixture case whose measure/vtype/inputs match, returning how
/// many rows were compared.
fn check(measure: &str, inputs: &[&str], f: impl Fn(&[f64]) -> (f64, f64)) -> usize {
    let fixtures = common::read_json("escalc.json");
    let mut rows = 0;
    for case in fixtures.as_array().unwrap() {
        let keys: Vec<&str> = case["inputs"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        if case["measure"] != measure
            || case["vtype"] != "LS"
            || !inputs.iter().all(|i| keys.contains(i))
            || keys.len() != inputs.len()
        {
            continue;
        }
        let cols: Vec<Vec<f64>> = inputs.iter().map(|i| col(case, i)).collect();
        let (yi, vi) = (expected(case, "yi"), expected(case, "vi"));
        for r in 0..yi.len() {
            let args: Vec<f64> = cols.iter().map(|c| c[r]).collect();
            let (y, v) = f(&args);
            assert!(
                close_metafor(y, yi[r]),
                "{}: row {r}: yi {y} vs {}",
                case["source"],
                yi[r]
            );
            assert!(
                close_metafor(v, vi[r]),
                "{}: row {r}: vi {v} vs {}",
                case["source"],
                vi[r]
            );
            rows += 1;
        }
    }
    rows
}

#[test]
fn smd_is_hedges_g_with_exact_correction_as_metafor() {
    let n = check("SMD", &["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"], |x| {
        smd(x[0], x[1], x[2], x[3], x[4], x[5]).unwrap()
    });
    assert_eq!(n, 9 + 6, "dat.normand1999 (9) and the synthetic set (6)");
}

#[test]
fn md_matches_metafor_default_vtype() {
    let n = check("MD", &["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"], |x| {
        md(x[0], x[1], x[2], x[3], x[4], x[5])
    });
    assert_eq!(n, 9);
}

#[test]
fn smcr_matches_metafor() {
    let n = check("SMCR", &["m1i", "m2i", "sd1i", "ni", "ri"], |x| {
        smcr(x[0], x[1], x[2], x[3], x[4]).unwrap()
    });
    assert_eq!(n, 6);
}

#[test]
fn smcc_matches_metafor() {
    let n = check("SMCC", &["m1i", "m2i", "sd1i", "sd2i", "ni", "ri"], |x| {
        smcc(x[0], x[1], x[2], x[3], x[4], x[5]).unwrap()
    });
    assert_eq!(n, 6);
}

#[test]
fn smd_from_t_matches_metafor() {
    let n = check("SMD", &["ti", "n1i", "n2i"], |x| {
        smd_from_t(x[0], x[1], x[2]).unwrap()
    });
    assert_eq!(n, 4);
}

#[test]
fn sei_input_gives_vi_as_its_square() {
    let n = check("GEN", &["yi", "sei"], |x| (x[0], x[1] * x[1]));
    assert_eq!(n, 4);
}
