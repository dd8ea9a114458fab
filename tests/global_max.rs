//! Issue #14, "Prove it": ML and REML return the **global** maximiser of the
//! (restricted) likelihood, intercept-only and with one moderator.
//!
//! The reference is `tests/conformance/fixtures/global_max.csv`, made by
//! `tests/conformance/make_global_max.R`: 2,201 small data sets (every 3- and
//! 4-study subset of BCG, `datasets/colditz1994_bcg.csv`, with `ablat` as the
//! moderator; 1,200 random k = 3–6 sets with an outlier, vi spread over up to
//! four orders of magnitude, some in tiny or huge units, with a drawn
//! moderator). For each set and each of REML/ML × intercept-only/one
//! moderator the script found the global maximum over τ² ≥ 0 of the
//! log-likelihood written out by hand, by a fine scale-free grid refined with
//! `optimize()` around every grid maximum and at τ² = 0; not with metafor.
//!
//! The test fits each set with spotmeta, evaluates the (restricted)
//! log-likelihood at spotmeta's τ̂² with [`loglik`] below (its own copy of the
//! formula, so the check does not trust the engine's likelihood code) and
//! requires it to reach the global maximum. Where that maximum is unique and
//! well separated from any other local maximum, τ̂² must also equal the
//! global maximiser.
//!
//! Regenerate the fixture with `Rscript tests/conformance/make_global_max.R`.

mod common;

use spotmeta::model::{Design, rma_mods};
use spotmeta::{Method, RmaOptions, ValidRmaOptions, rma};
use std::f64::consts::PI;

/// ll(spotmeta) may fall short of the reference maximum by this much,
/// relative to max(1, |ll|): both sides evaluate the same closed form in
/// double precision (about 1e-15 relative), and the reference maximiser is
/// located to about 1e-8 relative in τ², which costs nothing measurable in
/// ll at a maximum. A local maximum in these sets is lower by 1e-3 or more.
const LL_REL: f64 = 1e-9;

/// A global maximum is "unique and well separated" when the grid found no
/// other local maximum, or the second highest is lower by more than this
/// (relative to max(1, |ll|)).
const GAP_REL: f64 = 1e-4;

/// τ̂² must match the unique global maximiser within this, relative to
/// τ²_global + v̄ (v̄ the harmonic mean of the vi, so the bound is
/// scale-free and meaningful at τ² = 0). Both optimisers locate τ² to about
/// 1e-8 of that scale; a flat ML/REML surface can widen this, hence the slack.
const TAU2_REL: f64 = 1e-5;

/// The (restricted) log-likelihood of the random-effects model at `tau2`:
///
/// * ML: −½ [k log 2π + Σ log(vᵢ + τ²) + RSS]
/// * REML: −½ [(k − p) log 2π − log|XᵀX| + Σ log(vᵢ + τ²) + log|XᵀWX| + RSS]
///
/// with W = diag(1/(vᵢ + τ²)), X = 1 (p = 1) or [1, x] (p = 2) and RSS the
/// weighted residual sum of squares of the weighted least-squares fit. This is
/// metafor's `logLik()` for `rma.uni` (REMLf = TRUE). With one moderator the
/// determinants are Σw · Σw(x − x̄_w)² and k · Σ(x − x̄)², formed as logs of
/// centred sums so nothing over- or underflows at extreme scales.
fn loglik(tau2: f64, y: &[f64], v: &[f64], x: Option<&[f64]>, reml: bool) -> f64 {
    let k = y.len() as f64;
    let w: Vec<f64> = v.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw: f64 = w.iter().sum();
    let centred = |z: &[f64]| -> Vec<f64> {
        let m = z.iter().zip(&w).map(|(z, w)| w * z).sum::<f64>() / sw;
        z.iter().map(|z| z - m).collect()
    };
    let ry = centred(y);
    let mut rss: f64 = ry.iter().zip(&w).map(|(r, w)| w * r * r).sum();
    let (mut p, mut logdet_xwx, mut logdet_xx) = (1.0, sw.ln(), k.ln());
    if let Some(x) = x {
        let rx = centred(x);
        let sxx: f64 = rx.iter().zip(&w).map(|(r, w)| w * r * r).sum();
        let sxy: f64 = rx
            .iter()
            .zip(&ry)
            .zip(&w)
            .map(|((a, b), w)| w * a * b)
            .sum();
        rss -= sxy * sxy / sxx;
        let mean = x.iter().sum::<f64>() / k;
        let ss: f64 = x.iter().map(|x| (x - mean) * (x - mean)).sum();
        p = 2.0;
        logdet_xwx += sxx.ln();
        logdet_xx += ss.ln();
    }
    let rss = rss.max(0.0);
    let sum_log: f64 = v.iter().map(|v| (v + tau2).ln()).sum();
    let ln2pi = (2.0 * PI).ln();
    if reml {
        -0.5 * ((k - p) * ln2pi - logdet_xx + sum_log + logdet_xwx + rss)
    } else {
        -0.5 * (k * ln2pi + sum_log + rss)
    }
}

/// The reference for one (method, model) pair of one set.
#[derive(Debug, Clone, Copy)]
struct Reference {
    /// Global maximiser τ²_global.
    tau2: f64,
    /// The (restricted) log-likelihood there.
    ll: f64,
    /// Local maxima found on the grid (after refinement).
    n_max: usize,
    /// ll_global minus the second-highest local maximum (None when unique).
    gap: Option<f64>,
}

/// One data set of the suite.
#[derive(Debug, Clone)]
struct Set {
    id: usize,
    source: String,
    yi: Vec<f64>,
    vi: Vec<f64>,
    x: Vec<f64>,
    /// REML intercept-only, REML one moderator, ML intercept-only, ML one moderator.
    refs: [Reference; 4],
}

const FITS: [(&str, Method, bool); 4] = [
    ("REML_int", Method::REML, false),
    ("REML_mod", Method::REML, true),
    ("ML_int", Method::ML, false),
    ("ML_mod", Method::ML, true),
];

fn read_suite() -> Vec<Set> {
    let path = common::fixture("global_max.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate with Rscript tests/conformance/make_global_max.R)",
            path.display()
        )
    });
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header line").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("global_max.csv has no column {name}"))
    };
    let nums = |s: &str| -> Vec<f64> { s.split(' ').map(|t| t.parse().unwrap()).collect() };
    let opt = |s: &str| -> Option<f64> { (!s.is_empty()).then(|| s.parse().unwrap()) };
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let refs = FITS.map(|(key, _, _)| Reference {
                tau2: f[col(&format!("{key}_tau2"))].parse().unwrap(),
                ll: f[col(&format!("{key}_ll"))].parse().unwrap(),
                n_max: f[col(&format!("{key}_nmax"))].parse().unwrap(),
                gap: opt(f[col(&format!("{key}_gap"))]),
            });
            Set {
                id: f[col("set")].parse().unwrap(),
                source: f[col("source")].to_string(),
                yi: nums(f[col("yi")]),
                vi: nums(f[col("vi")]),
                x: nums(f[col("x")]),
                refs,
            }
        })
        .collect()
}

fn options(method: Method) -> ValidRmaOptions {
    RmaOptions {
        method,
        ..Default::default()
    }
    .check()
    .unwrap()
}

/// spotmeta's τ̂² for one set (intercept-only or with the set's moderator).
fn spotmeta_tau2(s: &Set, method: Method, with_mod: bool) -> spotmeta::Result<f64> {
    let opts = options(method);
    if with_mod {
        let x = Design::with_intercept(&[("x", &s.x)])?;
        Ok(rma_mods(&s.yi, &s.vi, &x, &opts)?.tau2)
    } else {
        Ok(rma(&s.yi, &s.vi, &opts)?.tau2)
    }
}

/// Fit every set for the two methods of one model; return a description of
/// every fit that misses the global maximum (empty when all reach it).
fn misses(with_mod: bool) -> (usize, Vec<String>) {
    let suite = read_suite();
    assert!(suite.len() >= 2000, "the suite has {} sets", suite.len());
    let mut total = 0;
    let mut out = Vec::new();
    let mut counts = Vec::new();
    for (j, &(key, method, m)) in FITS.iter().enumerate() {
        if m != with_mod {
            continue;
        }
        let (mut below, mut failed, mut off) = (0, 0, 0);
        for s in &suite {
            total += 1;
            let r = s.refs[j];
            let x = with_mod.then_some(&s.x[..]);
            let tau2 = match spotmeta_tau2(s, method, with_mod) {
                Ok(t) => t,
                Err(e) => {
                    failed += 1;
                    out.push(format!("{key} set {} ({}): error {e}", s.id, s.source));
                    continue;
                }
            };
            let ll = loglik(tau2, &s.yi, &s.vi, x, method == Method::REML);
            let slack = LL_REL * r.ll.abs().max(1.0);
            // a NaN ll counts as below
            if ll.is_nan() || ll < r.ll - slack {
                below += 1;
                out.push(format!(
                    "{key} set {} ({}): tau2 = {tau2:e}, ll = {ll} < global {} at tau2 = {:e} ({} local maxima)",
                    s.id, s.source, r.ll, r.tau2, r.n_max
                ));
                continue;
            }
            let separated = r.gap.is_none_or(|g| g > GAP_REL * r.ll.abs().max(1.0));
            let vbar = s.vi.len() as f64 / s.vi.iter().map(|v| 1.0 / v).sum::<f64>();
            if separated && (tau2 - r.tau2).abs() > TAU2_REL * (r.tau2 + vbar) {
                off += 1;
                out.push(format!(
                    "{key} set {} ({}): tau2 = {tau2:e} but the unique global maximiser is {:e}",
                    s.id, s.source, r.tau2
                ));
            }
        }
        counts.push(format!(
            "{key}: {below} of {} sets below the global maximum, {off} with another tau2, {failed} errors",
            suite.len()
        ));
    }
    out.insert(0, counts.join("; "));
    (total, out)
}

fn assert_no_misses(with_mod: bool) {
    let (total, out) = misses(with_mod);
    let n = out.len() - 1;
    assert!(
        n == 0,
        "{n} of {total} fits miss the global maximum ({})\nfirst ones:\n{}",
        out[0],
        out[1..]
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn intercept_only_reml_and_ml_reach_the_global_maximum_on_every_set() {
    assert_no_misses(false);
}

#[test]
fn one_moderator_reml_and_ml_reach_the_global_maximum_on_every_set() {
    assert_no_misses(true);
}

#[test]
fn the_written_out_likelihood_is_maximal_at_the_reference() {
    // Guards the test itself: at the fixture's τ²_global, `loglik` reproduces
    // the fixture's ll (the R script's formula), and no nearby τ² is higher.
    for s in read_suite() {
        for (j, &(key, method, with_mod)) in FITS.iter().enumerate() {
            let r = s.refs[j];
            let x = with_mod.then_some(&s.x[..]);
            let reml = method == Method::REML;
            let at = loglik(r.tau2, &s.yi, &s.vi, x, reml);
            let slack = LL_REL * r.ll.abs().max(1.0);
            assert!(
                (at - r.ll).abs() <= slack,
                "{key} set {}: loglik {at} vs fixture {}",
                s.id,
                r.ll
            );
            let vbar = s.vi.len() as f64 / s.vi.iter().map(|v| 1.0 / v).sum::<f64>();
            for step in [-1e-3, 1e-3] {
                let t = (r.tau2 + step * (r.tau2 + vbar)).max(0.0);
                assert!(
                    loglik(t, &s.yi, &s.vi, x, reml) <= r.ll + slack,
                    "{key} set {}: ll is higher at tau2 = {t:e} than at the reference",
                    s.id
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Downstream: analyses that refit BCG subsets with two REML maxima.
//
// `fixtures/global_max.json` (same script) holds metafor 3.8.1's values for
// fits that each go through a subset with a local REML maximum below the
// global one, with `control = list(threshold = 1e-12, tol = 1e-12,
// maxiter = 10000, stepadj = 0.5)`. The script checked every one of those
// metafor fits against the global search before writing it. The subset the
// issue names is BCG rows 4, 10, 12 (Hart & Sutherland 1977, Rosenthal et
// al 1961, Comstock & Webster 1969): REML τ² = 0.530, not the local
// maximum τ² = 0.
// ---------------------------------------------------------------------------

use common::tol::{METAFOR_ABS, METAFOR_REL, close, close_metafor};
use serde_json::Value;
use spotmeta::analysis::{cumul, influence, leave1out};

/// GOSH stores each subset's results in single precision: compare within a
/// few f32 ulps (relative) or this much absolutely near zero.
const F32_REL: f64 = 1e-6;
/// Absolute bound for the f32-stored GOSH values near zero (τ² ≈ 0, I² ≈ 0).
const F32_ABS: f64 = 1e-6;

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_all(name: &str, got: &[f64], want: &Value) {
    let want = nums(want);
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            close_metafor(*g, *w),
            "{name}[{i}]: spotmeta {g} vs metafor {w}"
        );
    }
}

fn downstream() -> Value {
    common::read_json("global_max.json")
}

fn reml() -> ValidRmaOptions {
    options(Method::REML)
}

#[test]
fn leave1out_and_influence_refit_the_bcg_trio_at_its_global_maximum() {
    let d = downstream();
    let quads = d["leave1out_influence"].as_array().unwrap();
    assert_eq!(quads.len(), 10, "every 4-row set holding rows 4, 10, 12");
    for q in quads {
        let (yi, vi) = (nums(&q["yi"]), nums(&q["vi"]));
        let name = format!("rows {}", q["rows"]);
        let l = leave1out::leave1out(&yi, &vi, &reml()).unwrap();
        let want = &q["leave1out"];
        let col = |f: fn(&leave1out::Leave1Out) -> f64| l.iter().map(f).collect::<Vec<_>>();
        assert_all(
            &format!("{name} leave1out tau2"),
            &col(|x| x.tau2),
            &want["tau2"],
        );
        assert_all(
            &format!("{name} leave1out estimate"),
            &col(|x| x.estimate),
            &want["estimate"],
        );
        assert_all(&format!("{name} leave1out se"), &col(|x| x.se), &want["se"]);
        assert_all(
            &format!("{name} leave1out ci_lb"),
            &col(|x| x.ci_lb),
            &want["ci_lb"],
        );
        assert_all(
            &format!("{name} leave1out ci_ub"),
            &col(|x| x.ci_ub),
            &want["ci_ub"],
        );
        assert_all(&format!("{name} leave1out Q"), &col(|x| x.q), &want["Q"]);
        let i2: Vec<f64> = l.iter().map(|x| x.i2.unwrap()).collect();
        assert_all(&format!("{name} leave1out I2"), &i2, &want["I2"]);

        let fit = rma(&yi, &vi, &reml()).unwrap();
        let inf = influence::influence(&yi, &vi, &fit, &reml()).unwrap();
        let want = &q["influence"];
        let col = |f: fn(&influence::Influence) -> f64| inf.iter().map(f).collect::<Vec<_>>();
        assert_all(
            &format!("{name} tau2.del"),
            &col(|x| x.tau2_del),
            &want["tau2_del"],
        );
        assert_all(
            &format!("{name} rstudent"),
            &col(|x| x.rstudent),
            &want["rstudent"],
        );
    }
}

#[test]
fn cumulative_fits_starting_with_the_bcg_trio_reach_the_global_maximum() {
    let d = downstream();
    let (yi, vi) = (nums(&d["bcg"]["yi"]), nums(&d["bcg"]["vi"]));
    let want = &d["cumul"];
    let order: Vec<usize> = nums(&want["order"])
        .iter()
        .map(|&i| i as usize - 1)
        .collect();
    let c = cumul::cumul(&yi, &vi, &order, &reml()).unwrap();
    let col = |f: fn(&cumul::CumulStep) -> f64| c.iter().map(f).collect::<Vec<_>>();
    assert_all("cumul tau2", &col(|x| x.tau2), &want["tau2"]);
    assert_all("cumul estimate", &col(|x| x.estimate), &want["estimate"]);
    assert_all("cumul se", &col(|x| x.se), &want["se"]);
    assert_all("cumul ci_lb", &col(|x| x.ci_lb), &want["ci_lb"]);
    assert_all("cumul ci_ub", &col(|x| x.ci_ub), &want["ci_ub"]);
    let i2: Vec<f64> = c.iter().map(|x| x.i2.unwrap_or(0.0)).collect();
    assert_all("cumul I2", &i2, &want["I2"]);
}

/// The BCG subsets (k ≥ 3) whose REML likelihood has two local maxima, as
/// (mask, row of reference values) with bit i of the mask = study i + 1.
fn two_maxima_subsets(d: &Value) -> Vec<(u64, [f64; 6])> {
    let g = &d["gosh"];
    let col = |k: &str| nums(&g[k]);
    let (est, se, lb, ub, tau2, i2) = (
        col("estimate"),
        col("se"),
        col("ci_lb"),
        col("ci_ub"),
        col("tau2"),
        col("I2"),
    );
    col("mask")
        .iter()
        .enumerate()
        .map(|(j, &m)| (m as u64, [est[j], se[j], lb[j], ub[j], tau2[j], i2[j]]))
        .collect()
}

#[test]
fn gosh_on_all_bcg_trials_fits_every_two_maxima_subset_at_its_global_maximum() {
    use spotmeta::gosh::{GoshOptions, gosh};
    let d = downstream();
    let (yi, vi) = (nums(&d["bcg"]["yi"]), nums(&d["bcg"]["vi"]));
    let g = gosh(&yi, &vi, &GoshOptions::default()).unwrap();
    assert_eq!(
        g.subsets.len() as u64,
        d["gosh"]["subsets"].as_u64().unwrap()
    );
    let subsets = two_maxima_subsets(&d);
    assert!(
        subsets.len() >= 10,
        "the fixture lists {} subsets",
        subsets.len()
    );
    let mut wrong = Vec::new();
    for (mask, want) in &subsets {
        let got = g.subsets[*mask as usize - 1];
        // stored order: estimate, I², τ²
        for (name, got, want) in [
            ("estimate", got[0], want[0]),
            ("I2", got[1], want[5]),
            ("tau2", got[2], want[4]),
        ] {
            if !close(f64::from(got), want, F32_REL, F32_ABS) {
                wrong.push(format!(
                    "subset {mask:013b} {name}: {got} vs metafor {want}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} two-maxima subsets differ:\n{}",
        wrong.len(),
        subsets.len(),
        wrong.join("\n")
    );
}

#[test]
fn batch_pools_bcg_groups_with_two_maxima_at_their_global_maximum() {
    use spotmeta::batch::{BatchOptions, Groups, pool};
    let d = downstream();
    let (yi, vi) = (nums(&d["bcg"]["yi"]), nums(&d["bcg"]["vi"]));
    let subsets = two_maxima_subsets(&d);
    let (mut gy, mut gv, mut offsets) = (Vec::new(), Vec::new(), vec![0]);
    for (mask, _) in &subsets {
        for i in (0..yi.len()).filter(|i| mask >> i & 1 == 1) {
            gy.push(yi[i]);
            gv.push(vi[i]);
        }
        offsets.push(gy.len());
    }
    let groups = Groups::from_slices(gy, gv, offsets);
    let opts = BatchOptions {
        rma: reml(),
        confint: false,
    };
    let fits = pool(&groups, &opts, &|_| {});
    assert_eq!(fits.len(), subsets.len());
    for ((mask, want), fit) in subsets.iter().zip(&fits) {
        let s = fit
            .summary()
            .unwrap_or_else(|| panic!("{}", fit.status.as_str()));
        let got = [s.estimate, s.se, s.ci_lb, s.ci_ub, s.tau2, s.I2.unwrap()];
        for (j, name) in ["estimate", "se", "ci_lb", "ci_ub", "tau2", "I2"]
            .iter()
            .enumerate()
        {
            assert!(
                close(got[j], want[j], METAFOR_REL, METAFOR_ABS),
                "batch group {mask:013b} {name}: spotmeta {} vs metafor {}",
                got[j],
                want[j]
            );
        }
    }
}
