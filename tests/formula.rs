//! metafor habits (issue #18) against R metafor 3.8.1
//! (`tests/conformance/fixtures/formula.json`, made by
//! `tests/conformance/make_formula_fixtures.R`, on dat.bcg with two derived
//! moderators): R formula syntax for `mods` (terms, dummy coding, column
//! names, redundant columns dropped), the fits and `predict(newmods=)` under
//! z and Knapp–Hartung, the subgroup tests Q_M and Q_between, and `cumul()`
//! ordered by a text and a numeric column. Tolerance `METAFOR_REL` (full
//! precision references) unless a comment says otherwise.

mod common;

use common::tol::{METAFOR_ABS, RMA_MV_REL, close, close_metafor};
use serde_json::Value;
use spotmeta::analysis::cumul::{cumul, order_by_column};
use spotmeta::analysis::subgroup::{subgroup_qm, subgroups};
use spotmeta::model::formula::{Formula, NewValue};
use spotmeta::model::moderators::ModColumn;
use spotmeta::model::{newmods_row, newmods_row_named, predict_mods, rma_mods};
use spotmeta::{Method, TestKind};

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(nums).collect()
}

fn fixture() -> Value {
    common::read_json("formula.json")
}

/// The moderators of the fixture's data (or its new rows) as columns.
fn columns(d: &Value) -> Vec<(String, ModColumn)> {
    ["ablat", "year", "dose"]
        .iter()
        .map(|n| (n.to_string(), ModColumn::Numeric(nums(&d[n]))))
        .chain(
            ["alloc", "era"]
                .iter()
                .map(|n| (n.to_string(), ModColumn::Categorical(strs(&d[n])))),
        )
        .collect()
}

fn assert_close(name: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close_metafor(*g, *w), "{name}[{i}]: {g} vs metafor {w}");
    }
}

#[test]
fn formulas_give_metafors_terms_columns_and_design_matrix() {
    let f = fixture();
    let data = columns(&f["data"]);
    for case in f["formulas"].as_array().unwrap() {
        let text = case["formula"].as_str().unwrap();
        let formula = Formula::parse(text).unwrap();
        assert_eq!(
            formula.term_labels(),
            strs(&case["term_labels"]),
            "{text}: terms"
        );
        assert_eq!(formula.intercept, case["intercept"] == true, "{text}");
        let (x, terms) = formula.design(&data).unwrap();
        assert_eq!(x.names, strs(&case["colnames"]), "{text}: columns");
        let want = rows(&case["X"]);
        for (i, row) in want.iter().enumerate() {
            assert_eq!(&x.x[i * x.p..(i + 1) * x.p], &row[..], "{text}: row {i}");
        }
        // Dropped columns are those of model.matrix() metafor did not keep.
        let full = strs(&case["model_matrix_colnames"]);
        assert_eq!(terms.dropped.len(), full.len() - x.p, "{text}: dropped");
    }
}

#[test]
fn formula_fits_match_metafor_under_z_and_knha() {
    let f = fixture();
    let (yi, vi) = (nums(&f["data"]["yi"]), nums(&f["data"]["vi"]));
    let data = columns(&f["data"]);
    let mut n = 0;
    for case in f["formulas"].as_array().unwrap() {
        let text = case["formula"].as_str().unwrap();
        let (x, _) = Formula::parse(text).unwrap().design(&data).unwrap();
        if case["spans_intercept"] == false {
            // rma.uni() centres yi before estimating tau^2 and QE, which
            // changes both when the columns do not span the constant; the
            // reference is rma.mv() (see make_formula_fixtures.R).
            let want = &case["rma_mv_REML"];
            let fit = rma_mods(&yi, &vi, &x, &common::opts(Method::REML, TestKind::Z)).unwrap();
            let mv = |got: f64, w: &Value| {
                let w = w.as_f64().unwrap();
                assert!(
                    close(got, w, RMA_MV_REL, METAFOR_ABS),
                    "{text} vs rma.mv: {got} vs {w}"
                );
            };
            mv(fit.tau2, &want["tau2"]);
            mv(fit.beta[0], &want["beta"][0]);
            mv(fit.se[0], &want["se"][0]);
            mv(fit.qe, &want["QE"]);
            mv(fit.qm, &want["QM"]);
            n += 4;
            continue;
        }
        for want in case["fits"].as_array().unwrap() {
            let method: Method = want["method"].as_str().unwrap().parse().unwrap();
            let test: TestKind = want["test"].as_str().unwrap().parse().unwrap();
            let fit = rma_mods(&yi, &vi, &x, &common::opts(method, test)).unwrap();
            let name = format!("{text} {method} {test}");
            for (key, got) in [
                ("beta", &fit.beta),
                ("se", &fit.se),
                ("zval", &fit.zval),
                ("ci.lb", &fit.ci_lb),
                ("ci.ub", &fit.ci_ub),
            ] {
                assert_close(&format!("{name} {key}"), got, &nums(&want[key]));
            }
            // p-values absolutely (statrs' convention; see STYLE.md).
            for (j, (g, w)) in fit.pval.iter().zip(nums(&want["pval"])).enumerate() {
                assert!((g - w).abs() < 1e-8, "{name} pval[{j}]: {g} vs {w}");
            }
            for (key, got) in [
                ("tau2", fit.tau2),
                ("QM", fit.qm),
                ("QE", fit.qe),
                ("I2", fit.i2),
                ("H2", fit.h2),
            ] {
                let w = want[key].as_f64().unwrap();
                assert!(close_metafor(got, w), "{name} {key}: {got} vs metafor {w}");
            }
            assert!((fit.qm_pval - want["QMp"].as_f64().unwrap()).abs() < 1e-8);
            let df = nums(&want["QMdf"]);
            assert_eq!(fit.qm_df.0 as f64, df[0], "{name} QMdf");
            assert_eq!(
                fit.qm_df.1.map(|d| d as f64),
                df[1].is_finite().then_some(df[1])
            );
            match want["R2"].as_f64() {
                Some(w) => assert!(close_metafor(fit.r2.unwrap(), w), "{name} R2"),
                None => assert_eq!(fit.r2, None, "{name}: metafor has no R2"),
            }
            n += 1;
        }
    }
    assert_eq!(n, 60);
}

/// `predict(fit, newmods = X_new)`, with X_new coded by R's model.matrix on
/// the data plus the new rows, and here built three ways: from the raw
/// moderator values through the formula, positionally, and by column name.
#[test]
fn predictions_at_new_moderator_values_match_metafor() {
    let f = fixture();
    let (yi, vi) = (nums(&f["data"]["yi"]), nums(&f["data"]["vi"]));
    let data = columns(&f["data"]);
    let new = columns(&f["new"]);
    for case in f["formulas"].as_array().unwrap() {
        let text = case["formula"].as_str().unwrap();
        let (x, terms) = Formula::parse(text).unwrap().design(&data).unwrap();
        let x_new = rows(&case["X_new"]);
        for (r, want_row) in x_new.iter().enumerate() {
            let values: Vec<(String, NewValue)> = new
                .iter()
                .map(|(n, c)| {
                    let v = match c {
                        ModColumn::Numeric(v) => NewValue::Number(v[r]),
                        ModColumn::Categorical(v) => NewValue::Level(v[r].clone()),
                    };
                    (n.clone(), v)
                })
                .collect();
            assert_eq!(
                &terms.row(&values).unwrap(),
                want_row,
                "{text}: new row {r}"
            );
        }
        if case["spans_intercept"] == false {
            // The rma.mv() reference (see the fits test above).
            let want = &case["rma_mv_REML"];
            let fit = rma_mods(&yi, &vi, &x, &common::opts(Method::REML, TestKind::Z)).unwrap();
            for (r, row) in rows(&want["newmods"]).iter().enumerate() {
                let p = predict_mods(&fit, row);
                for (key, got) in [
                    ("pred", p.pred),
                    ("se", p.se),
                    ("ci.lb", p.ci_lb),
                    ("pi.ub", p.pi_ub),
                ] {
                    let w = want["predict"][key][r].as_f64().unwrap();
                    assert!(
                        close(got, w, RMA_MV_REL, METAFOR_ABS),
                        "{text} {key}: {got} vs rma.mv {w}"
                    );
                }
            }
            continue;
        }
        for want in case["fits"].as_array().unwrap() {
            let method: Method = want["method"].as_str().unwrap().parse().unwrap();
            let test: TestKind = want["test"].as_str().unwrap().parse().unwrap();
            let fit = rma_mods(&yi, &vi, &x, &common::opts(method, test)).unwrap();
            let newmods = rows(&want["newmods"]);
            let preds: Vec<_> = newmods
                .iter()
                .map(|m| {
                    let row = newmods_row(&fit.names, m).unwrap();
                    // Named, in reverse column order.
                    let mut named: Vec<(String, f64)> = fit
                        .names
                        .iter()
                        .filter(|n| *n != "intrcpt")
                        .cloned()
                        .zip(m.iter().copied())
                        .collect();
                    named.reverse();
                    assert_eq!(newmods_row_named(&fit.names, &named).unwrap(), row);
                    predict_mods(&fit, &row)
                })
                .collect();
            let p = &want["predict"];
            let name = format!("{text} {method} {test} predict");
            assert_close(
                &name,
                &preds.iter().map(|p| p.pred).collect::<Vec<_>>(),
                &nums(&p["pred"]),
            );
            assert_close(
                &name,
                &preds.iter().map(|p| p.se).collect::<Vec<_>>(),
                &nums(&p["se"]),
            );
            assert_close(
                &name,
                &preds.iter().map(|p| p.ci_lb).collect::<Vec<_>>(),
                &nums(&p["ci.lb"]),
            );
            assert_close(
                &name,
                &preds.iter().map(|p| p.ci_ub).collect::<Vec<_>>(),
                &nums(&p["ci.ub"]),
            );
            assert_close(
                &name,
                &preds.iter().map(|p| p.pi_lb).collect::<Vec<_>>(),
                &nums(&p["pi.lb"]),
            );
            assert_close(
                &name,
                &preds.iter().map(|p| p.pi_ub).collect::<Vec<_>>(),
                &nums(&p["pi.ub"]),
            );
        }
    }
}

#[test]
fn new_moderator_values_are_checked_against_the_model() {
    let f = fixture();
    let (x, terms) = Formula::parse("~ ablat + factor(alloc)")
        .unwrap()
        .design(&columns(&f["data"]))
        .unwrap();
    let e = newmods_row(&x.names, &[1.0]).unwrap_err().to_string();
    assert!(e.contains("3 moderator column(s)"), "{e}");
    let e = terms
        .row(&[
            ("ablat".into(), NewValue::Number(20.0)),
            ("alloc".into(), NewValue::Level("cluster".into())),
        ])
        .unwrap_err()
        .to_string();
    assert!(e.contains("alternate, random, systematic"), "{e}");
}

#[test]
fn subgroup_tests_match_metafor_qm_and_the_q_between_of_separate_fits() {
    let f = fixture();
    let (yi, vi) = (nums(&f["data"]["yi"]), nums(&f["data"]["vi"]));
    let alloc = strs(&f["data"]["alloc"]);
    for want in f["subgroup"].as_array().unwrap() {
        let method: Method = want["method"].as_str().unwrap().parse().unwrap();
        let test: TestKind = want["test"].as_str().unwrap().parse().unwrap();
        let o = common::opts(method, test);
        let name = format!("{method} {test}");
        let qm = subgroup_qm(&yi, &vi, &alloc, &o).unwrap();
        assert!(
            close_metafor(qm.qm, want["QM"].as_f64().unwrap()),
            "{name} QM"
        );
        assert!((qm.qm_pval - want["QMp"].as_f64().unwrap()).abs() < 1e-8);
        assert!(
            close_metafor(qm.tau2, want["tau2"].as_f64().unwrap()),
            "{name}"
        );
        let df = nums(&want["QMdf"]);
        assert_eq!(qm.qm_df.0 as f64, df[0]);
        assert_eq!(
            qm.qm_df.1.map(|d| d as f64),
            df[1].is_finite().then_some(df[1])
        );
        let sg = subgroups(&yi, &vi, &alloc, &o).unwrap();
        let names: Vec<String> = sg.groups.iter().map(|g| g.name.clone()).collect();
        assert_eq!(names, strs(&want["groups"]));
        assert_close(
            &format!("{name} group estimates"),
            &sg.groups.iter().map(|g| g.fit.estimate).collect::<Vec<_>>(),
            &nums(&want["group_estimate"]),
        );
        let qb = sg.q_between.unwrap();
        assert!(
            close_metafor(qb, want["Qbetween"].as_f64().unwrap()),
            "{name}: {qb}"
        );
        assert!((sg.q_between_pval.unwrap() - want["Qbetween_p"].as_f64().unwrap()).abs() < 1e-8);
    }
}

#[test]
fn cumul_by_a_text_or_numeric_column_matches_metafor() {
    let f = fixture();
    let (yi, vi) = (nums(&f["data"]["yi"]), nums(&f["data"]["vi"]));
    for want in f["cumul"].as_array().unwrap() {
        let by = want["order_by"].as_str().unwrap();
        let col: Vec<Option<String>> = f["data"][by]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Some(v.as_str().map_or_else(|| v.to_string(), String::from)))
            .collect();
        let order = order_by_column(&col, false);
        let r_order: Vec<usize> = nums(&want["order"])
            .iter()
            .map(|o| *o as usize - 1)
            .collect();
        assert_eq!(order, r_order, "order by {by}");
        let steps = cumul(&yi, &vi, &order, &common::opts(Method::REML, TestKind::Z)).unwrap();
        for (key, got) in [
            (
                "estimate",
                steps.iter().map(|s| s.estimate).collect::<Vec<_>>(),
            ),
            ("se", steps.iter().map(|s| s.se).collect()),
            ("ci.ub", steps.iter().map(|s| s.ci_ub).collect()),
            ("tau2", steps.iter().map(|s| s.tau2).collect()),
            ("Q", steps.iter().map(|s| s.q).collect()),
        ] {
            assert_close(&format!("cumul by {by} {key}"), &got, &nums(&want[key]));
        }
    }
}

/// The fixture's data as a CSV table (yi, vi and every moderator).
fn fixture_csv(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let f = fixture();
    let d = &f["data"];
    let keys = ["yi", "vi", "ablat", "year", "alloc", "era", "dose"];
    let mut text = keys.join(",") + "\n";
    for i in 0..d["yi"].as_array().unwrap().len() {
        let cells: Vec<String> = keys
            .iter()
            .map(|k| match &d[k][i] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    let path = dir.path().join("bcg_mods.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn cli_json(args: &[&str]) -> Value {
    let out = common::spotmeta().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rma_mods_takes_an_r_formula_and_predicts_at_named_new_values() {
    let dir = tempfile::tempdir().unwrap();
    let csv = fixture_csv(&dir);
    let f = fixture();
    let case = f["formulas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["formula"] == "~ ablat * factor(alloc)")
        .unwrap();
    let want = case["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["method"] == "REML" && w["test"] == "knha")
        .unwrap();
    let v = cli_json(&[
        "rma",
        csv.to_str().unwrap(),
        "--mods",
        "~ ablat * factor(alloc)",
        "--test",
        "knha",
        "--newmods",
        "ablat=20,alloc=random",
        "--newmods",
        "ablat=50,alloc=systematic",
        "--format",
        "json",
    ]);
    assert_eq!(strs(&v["names"]), strs(&case["colnames"]));
    assert_close("cli beta", &nums(&v["beta"]), &nums(&want["beta"]));
    assert!(close_metafor(
        v["QM"].as_f64().unwrap(),
        want["QM"].as_f64().unwrap()
    ));
    let preds = v["predict"].as_array().unwrap();
    for (key, ours) in [("pred", "pred"), ("ci.lb", "ci_lb"), ("pi.ub", "pi_ub")] {
        let got: Vec<f64> = preds.iter().map(|p| p[ours].as_f64().unwrap()).collect();
        assert_close(
            &format!("cli predict {key}"),
            &got,
            &nums(&want["predict"][key]),
        );
    }
}

#[test]
fn rma_says_which_redundant_columns_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = fixture_csv(&dir);
    common::spotmeta()
        .args(["rma", csv.to_str().unwrap(), "--mods", "~ alloc:era"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "Redundant predictors dropped from the model: allocsystematic:eraearly, allocsystematic:eralate",
        ));
}

/// metafor 3.8-1: `permutest(rma(yi, vi, data = dat.bcg), iter = 10000)`
/// is exact (2^13 = 8192 sign patterns) and gives p = 12/8192 = 0.001464844.
#[test]
fn rma_permutest_without_mods_flips_signs_exactly_as_metafor() {
    let dir = tempfile::tempdir().unwrap();
    let csv = fixture_csv(&dir);
    let v = cli_json(&[
        "rma",
        csv.to_str().unwrap(),
        "--permutest",
        "10000",
        "--format",
        "json",
    ]);
    let p = &v["permutest"];
    assert_eq!(p["exact"], true);
    assert_eq!(p["iter"], 8192);
    assert!((p["pval"][0].as_f64().unwrap() - 12.0 / 8192.0).abs() < 1e-15);
}

#[test]
fn a_formula_rma_cannot_read_is_refused_with_what_it_supports() {
    let dir = tempfile::tempdir().unwrap();
    let csv = fixture_csv(&dir);
    common::spotmeta()
        .args(["rma", csv.to_str().unwrap(), "--mods", "~ log(ablat)"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("`log()` is not supported"))
        .stderr(predicates::str::contains("factor(g)"));
}
