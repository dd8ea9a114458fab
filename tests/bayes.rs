//! Bayesian random-effects meta-analysis (issue #16, src/model/bayes.rs).
//!
//! Reference values:
//! * `tests/conformance/fixtures/bayes.json`, made by
//!   `Rscript tests/conformance/make_bayes.R`: the same model integrated
//!   independently with base R's `integrate()` and `uniroot()`
//!   (R 4.2.2; no bayesmeta package), held to [`tol::BAYES_REL`].
//! * The bayesmeta vignette (bayesmeta 3.4, `inst/doc/bayesmeta.html`,
//!   "A simple example", Röver 2020 J Stat Softw 93(6)): the eight-schools
//!   data (Rubin 1981, `Rubin1981`) printed to 7 significant digits, held to
//!   3 significant digits ([`tol::PUBLISHED_3SD`]).
//!
//! Properties: shift equivariance, permutation invariance, the median inside
//! its interval, and the prior scale breaking scale invariance.

mod common;

use common::tol::{self, close};
use serde_json::Value;
use spotmeta::model::bayes::{
    BayesFit, BayesOptions, IntervalKind, Marginal, MuPrior, TauPrior, ValidBayesOptions, bayes,
};

fn tau_prior(v: &Value) -> TauPrior {
    let f = |k: &str| v[k].as_f64().unwrap();
    match v["family"].as_str().unwrap() {
        "half-normal" => TauPrior::HalfNormal { scale: f("scale") },
        "half-cauchy" => TauPrior::HalfCauchy { scale: f("scale") },
        "log-t" => TauPrior::LogT {
            location: f("location"),
            scale: f("scale"),
        },
        "uniform" => TauPrior::Uniform,
        other => panic!("unknown prior {other}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Compare a marginal summary with its fixture; returns the failures.
fn check_marginal(case: &str, what: &str, got: &Marginal, want: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let mut cmp = |key: &str, g: Option<f64>| {
        let w = want[key].as_f64();
        let ok = match (g, w) {
            (Some(g), Some(w)) => close(g, w, tol::BAYES_REL, tol::BAYES_ABS),
            (None, None) => true,
            _ => false,
        };
        if !ok {
            bad.push(format!("{case}: {what}.{key}: got {g:?}, want {w:?}"));
        }
    };
    cmp("median", Some(got.median));
    cmp("lower", Some(got.lower));
    cmp("upper", Some(got.upper));
    cmp("mean", got.mean);
    cmp("sd", got.sd);
    bad
}

#[test]
fn matches_the_independent_r_integration_to_1e_6() {
    let fx = common::read_json("bayes.json");
    let mut bad = Vec::new();
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "fixture has every case");
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mu_prior = match &c["mu_prior"] {
            Value::Null => MuPrior::Uniform,
            m => MuPrior::Normal {
                mean: m["mean"].as_f64().unwrap(),
                sd: m["sd"].as_f64().unwrap(),
            },
        };
        let opts = BayesOptions {
            tau_prior: tau_prior(&c["tau_prior"]),
            mu_prior,
            worthwhile: c["worthwhile"].as_f64().unwrap(),
            ..Default::default()
        }
        .check()
        .unwrap();
        let (yi, vi) = (floats(&c["yi"]), floats(&c["vi"]));
        let fit = bayes(&yi, &vi, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        bad.extend(check_marginal(name, "tau", &fit.tau, &c["tau"]));
        bad.extend(check_marginal(name, "mu", &fit.mu, &c["mu"]));
        bad.extend(check_marginal(
            name,
            "prediction",
            &fit.prediction,
            &c["prediction"],
        ));
        let i = c["theta_index"].as_u64().unwrap() as usize;
        bad.extend(check_marginal(
            name,
            "theta",
            &fit.shrinkage()[i].theta,
            &c["theta"],
        ));
        for (key, got) in [
            ("p_mu_positive", fit.p_mu_positive),
            ("p_mu_worthwhile", fit.p_mu_worthwhile),
        ] {
            // probabilities: absolute
            let want = c[key].as_f64().unwrap();
            if (got - want).abs() > tol::BAYES_ABS_P {
                bad.push(format!("{name}: {key}: got {got}, want {want}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The eight-schools data (Gelman et al. 1997 p. 143; bayesmeta `Rubin1981`).
fn schools() -> (Vec<f64>, Vec<f64>) {
    let y = vec![28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16];
    let se: [f64; 8] = [14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6];
    (y, se.iter().map(|s| s * s).collect())
}

fn sd3(got: f64, want: f64) -> bool {
    close(got, want, tol::PUBLISHED_3SD, 0.0)
}

fn assert_marginal_3sd(what: &str, got: &Marginal, want: [f64; 5]) {
    let [median, mean, sd, lower, upper] = want;
    let pairs = [
        ("median", got.median, median),
        ("mean", got.mean.unwrap(), mean),
        ("sd", got.sd.unwrap(), sd),
        ("lower", got.lower, lower),
        ("upper", got.upper, upper),
    ];
    for (key, g, w) in pairs {
        // A published 0 (the shortest interval of tau starting at 0) is exact.
        let ok = if w == 0.0 { g == 0.0 } else { sd3(g, w) };
        assert!(ok, "{what}.{key}: got {g}, bayesmeta {w}");
    }
}

/// Fit the eight schools with bayesmeta's shortest intervals and check the
/// `$summary` columns tau, mu and theta (rows median, mean, sd, 95% lower, upper).
fn schools_fit(tau_prior: TauPrior, mu_prior: MuPrior, want: [[f64; 5]; 3]) -> BayesFit {
    let (y, v) = schools();
    let opts = BayesOptions {
        tau_prior,
        mu_prior,
        interval: IntervalKind::Shortest,
        ..Default::default()
    }
    .check()
    .unwrap();
    let fit = bayes(&y, &v, &opts).unwrap();
    assert_marginal_3sd("tau", &fit.tau, want[0]);
    assert_marginal_3sd("mu", &fit.mu, want[1]);
    assert_marginal_3sd("theta (prediction)", &fit.prediction, want[2]);
    fit
}

#[test]
fn roever2020_eight_schools_half_cauchy_normal_mu_prior() {
    // bayesmeta vignette, "A simple example": bayesmeta(y, sigma,
    // mu.prior.mean = 0, mu.prior.sd = 50, tau.prior = dhalfcauchy(t, scale = 25));
    // print(schools.example.1$summary): rows median, mean, sd, 95% lower/upper
    // (shortest intervals, bayesmeta's default).
    let fit = schools_fit(
        TauPrior::HalfCauchy { scale: 25.0 },
        MuPrior::Normal {
            mean: 0.0,
            sd: 50.0,
        },
        [
            [4.758539, 5.884511, 4.869904, 0.0, 15.165894],
            [7.962961, 7.985729, 4.995762, -1.823353, 17.824562],
            [7.926819, 7.985729, 9.126767, -10.623526, 26.827377],
        ],
    );
    // 1 - schools.example.1$pposterior(mu = 0)
    assert!(sd3(fit.p_mu_positive, 0.9487521));
    // schools.example.1$qposterior(mu.p = 0.95), qposterior(tau.p = c(0.025, 0.975))
    let post = &fit.posterior;
    assert!(sd3(post.mu().quantile(0.95), 16.11009));
    assert!(sd3(post.tau_quantile(0.95), 15.16589));
    assert!(sd3(post.tau_quantile(0.025), 0.2199559));
    assert!(sd3(post.tau_quantile(0.975), 18.0531718));
    // schools.example.1$theta[, c("A", "G", "H")]: shrinkage estimates
    let theta = fit.shrinkage();
    for (i, want) in [
        (0, [10.093581, 11.095255, 7.901084, -3.209562, 28.169723]),
        (6, [9.786985, 10.336032, 6.631039, -2.138807, 24.230908]),
        (7, [8.266594, 8.474644, 7.456906, -6.528854, 24.110315]),
    ] {
        assert_marginal_3sd(&format!("theta[{i}]"), &theta[i].theta, want);
    }
}

#[test]
fn roever2020_eight_schools_uniform_priors() {
    // bayesmeta vignette: bayesmeta(y, sigma) with its default (improper)
    // uniform priors; print(schools.example.2$summary).
    schools_fit(
        TauPrior::Uniform,
        MuPrior::Uniform,
        [
            [5.227732, 6.585992, 5.685974, 0.0, 17.265797],
            [8.055861, 8.092138, 5.246683, -2.176157, 18.406330],
            [8.008111, 8.092138, 10.148132, -12.511817, 29.014749],
        ],
    );
}

fn five() -> (Vec<f64>, Vec<f64>) {
    (
        vec![0.42, 0.10, 0.65, -0.05, 0.31],
        vec![0.040, 0.055, 0.090, 0.030, 0.070],
    )
}

fn summary_values(f: &BayesFit) -> Vec<f64> {
    let mut v = f.row().to_vec();
    v.push(f.prediction.median);
    v
}

#[test]
fn study_order_does_not_change_the_posterior() {
    let (y, v) = five();
    let opts = ValidBayesOptions::default();
    let a = bayes(&y, &v, &opts).unwrap();
    let order = [3, 0, 4, 2, 1];
    let yp: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let vp: Vec<f64> = order.iter().map(|&i| v[i]).collect();
    let b = bayes(&yp, &vp, &opts).unwrap();
    for (g, w) in summary_values(&b).into_iter().zip(summary_values(&a)) {
        assert!(close(g, w, tol::BAYES_REL, tol::BAYES_ABS), "{g} vs {w}");
    }
}

#[test]
fn shifting_every_effect_shifts_mu_and_leaves_tau_alone() {
    // Under the uniform mu prior the posterior is shift-equivariant: mu and the
    // prediction move by c, tau does not change, P(mu > a + c) = P(mu > a) before.
    let (y, v) = five();
    let c = 1.7;
    let opts = ValidBayesOptions::default();
    let a = bayes(&y, &v, &opts).unwrap();
    let shifted_opts = BayesOptions {
        worthwhile: 0.2 + c,
        ..Default::default()
    }
    .check()
    .unwrap();
    let ys: Vec<f64> = y.iter().map(|x| x + c).collect();
    let b = bayes(&ys, &v, &shifted_opts).unwrap();
    for (g, w) in [
        (b.mu.median, a.mu.median + c),
        (b.mu.lower, a.mu.lower + c),
        (b.mu.upper, a.mu.upper + c),
        (b.prediction.median, a.prediction.median + c),
        (b.tau.median, a.tau.median),
        (b.tau.upper, a.tau.upper),
        (b.p_mu_worthwhile, a.p_mu_worthwhile),
    ] {
        assert!(close(g, w, tol::BAYES_REL, tol::BAYES_ABS), "{g} vs {w}");
    }
}

#[test]
fn rescaling_the_data_with_the_prior_scale_is_equivariant_but_the_prior_alone_is_not() {
    // y -> s·y, v -> s²·v with the half-normal scale also × s: every
    // location and tau summary scales by s. Rescaling the data without the
    // prior changes the answer (the prior scale is in effect-size units).
    let (y, v) = five();
    let s = 3.0;
    let ys: Vec<f64> = y.iter().map(|x| x * s).collect();
    let vs: Vec<f64> = v.iter().map(|x| x * s * s).collect();
    let a = bayes(&y, &v, &ValidBayesOptions::default()).unwrap();
    let scaled = BayesOptions {
        tau_prior: TauPrior::HalfNormal { scale: 0.5 * s },
        worthwhile: 0.2 * s,
        ..Default::default()
    }
    .check()
    .unwrap();
    let b = bayes(&ys, &vs, &scaled).unwrap();
    for (g, w) in [
        (b.mu.median, s * a.mu.median),
        (b.mu.upper, s * a.mu.upper),
        (b.tau.median, s * a.tau.median),
        (b.tau.lower, s * a.tau.lower),
        (b.prediction.lower, s * a.prediction.lower),
        (b.p_mu_worthwhile, a.p_mu_worthwhile),
    ] {
        assert!(close(g, w, tol::BAYES_REL, tol::BAYES_ABS), "{g} vs {w}");
    }
    let unscaled_prior = bayes(&ys, &vs, &ValidBayesOptions::default()).unwrap();
    assert!(
        (unscaled_prior.tau.median - b.tau.median).abs() > 1e-3,
        "the prior scale matters"
    );
}

#[test]
fn medians_lie_inside_their_intervals_under_every_prior() {
    let (y, v) = five();
    for prior in TauPrior::SENSITIVITY {
        let opts = ValidBayesOptions::default().with_tau_prior(prior).unwrap();
        let f = bayes(&y, &v, &opts).unwrap();
        for m in [&f.mu, &f.tau, &f.prediction] {
            assert!(m.lower < m.median && m.median < m.upper, "{prior}: {m:?}");
        }
        assert!(f.prediction.upper - f.prediction.lower > f.mu.upper - f.mu.lower);
        assert!(f.p_mu_positive > f.p_mu_worthwhile);
    }
}

#[test]
fn improper_uniform_tau_prior_is_refused_with_two_studies() {
    let opts = BayesOptions {
        tau_prior: TauPrior::Uniform,
        ..Default::default()
    }
    .check()
    .unwrap();
    let e = bayes(&[0.1, 0.3], &[0.02, 0.03], &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("improper") && e.contains("--prior"), "{e}");
}

#[test]
fn bad_options_are_refused_clearly() {
    for (opts, flag) in [
        (
            BayesOptions {
                level: 100.0,
                ..Default::default()
            },
            "--level",
        ),
        (
            BayesOptions {
                worthwhile: f64::NAN,
                ..Default::default()
            },
            "--worthwhile",
        ),
        (
            BayesOptions {
                tau_prior: TauPrior::HalfNormal { scale: 0.0 },
                ..Default::default()
            },
            "--prior",
        ),
    ] {
        let e = opts.check().unwrap_err().to_string();
        assert!(e.contains(flag), "{e}");
    }
}

#[test]
fn bayes_on_the_bundled_dataset_prints_the_posterior_and_the_probabilities() {
    common::spotmeta()
        .current_dir(common::root())
        .arg("bayes")
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "Bayesian Random-Effects Model (k = 2)",
        ))
        .stdout(predicates::str::contains("P(mu > 0.2)"))
        .stdout(predicates::str::contains("Walts 2008 (men)"))
        .stdout(predicates::str::contains("rhodes (log-t:-3.44:2.59)"));
}

#[test]
fn bayes_json_matches_the_library_fit_on_a_yi_vi_table() {
    // The library fit of the same rows is the reference (same code path).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("five.csv");
    let (y, v) = five();
    let mut text = String::from("slab,yi,vi\n");
    for (i, (a, b)) in y.iter().zip(&v).enumerate() {
        text.push_str(&format!("S{i},{a},{b}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let out = common::spotmeta()
        .args(["bayes", "--format", "json", "--worthwhile", "0.3"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let opts = BayesOptions {
        worthwhile: 0.3,
        ..Default::default()
    }
    .check()
    .unwrap();
    let fit = bayes(&y, &v, &opts).unwrap();
    // serde_json's default float parser is not always correctly rounded: 1 ulp.
    for (got, want) in [
        (j["mu"]["median"].as_f64().unwrap(), fit.mu.median),
        (j["p_mu_worthwhile"].as_f64().unwrap(), fit.p_mu_worthwhile),
    ] {
        assert!(close(got, want, tol::IDENTITY, 0.0), "{got} vs {want}");
    }
    assert_eq!(j["shrinkage"][4]["label"], "S4");
    assert_eq!(j["sensitivity"].as_array().unwrap().len(), 4);
}

#[test]
fn bayes_refuses_bad_priors_and_csv_output_with_a_clear_message() {
    for (args, msg) in [
        (vec!["--prior", "half-normal:-1"], "positive, finite scale"),
        (vec!["--prior", "gamma:1"], "not a prior for tau"),
        (vec!["--mu-prior", "normal:0"], "not a prior for mu"),
        (vec!["--format", "csv"], "this command writes text or json"),
        (vec!["--prior", "uniform"], "improper posterior"),
    ] {
        common::spotmeta()
            .current_dir(common::root())
            .arg("bayes")
            .args(&args)
            .assert()
            .failure()
            .stderr(predicates::str::contains(msg));
    }
}

#[test]
fn batch_bayes_appends_the_same_fit_as_spotmeta_bayes_per_group() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, out) = (dir.path().join("long.csv"), dir.path().join("out.csv"));
    let (y, v) = five();
    let mut text = String::from("g,yi,vi\n");
    for (a, b) in y.iter().zip(&v) {
        text.push_str(&format!("five,{a},{b}\n"));
    }
    text.push_str("two,0.1,0.02\ntwo,0.3,0.03\nbad,0.2,\n");
    std::fs::write(&csv, text).unwrap();
    common::spotmeta()
        .args([
            "batch", "--group", "g", "--bayes", "--prior", "rhodes", "--out",
        ])
        .arg(&out)
        .arg(&csv)
        .assert()
        .success();
    let df = spotmeta::batch::read_table(&out).unwrap();
    use polars::prelude::AnyValue;
    let col = |name: &str| -> Vec<Option<f64>> {
        (0..df.height())
            .map(|r| match df.column(name).unwrap().get(r).unwrap() {
                AnyValue::Null => None,
                v => v.extract::<f64>(),
            })
            .collect()
    };
    let opts = ValidBayesOptions::default()
        .with_tau_prior(TauPrior::RHODES_SMD)
        .unwrap();
    // Groups are sorted by key: bad, five, two.
    let five_fit = bayes(&y, &v, &opts).unwrap();
    let two_fit = bayes(&[0.1, 0.3], &[0.02, 0.03], &opts).unwrap();
    let mu = col("bayes_mu");
    assert_eq!(mu[0], None);
    for (got, want) in [
        (mu[1], five_fit.mu.median),
        (mu[2], two_fit.mu.median),
        (col("bayes_tau_ub")[1], five_fit.tau.upper),
        (col("bayes_p_mu_worthwhile")[2], two_fit.p_mu_worthwhile),
    ] {
        // CSV round trip of a double: shortest representation, exact.
        assert!(
            close(got.unwrap(), want, tol::IDENTITY, 0.0),
            "{got:?} vs {want}"
        );
    }
    let status = df
        .column("bayes_status")
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    assert!(status.contains("not fitted"), "{status}");
}

#[test]
fn shrinkage_forest_rows_draw_the_credible_interval_as_given() {
    use spotmeta::output::bayes::{shrunken_forest_group, shrunken_rows};
    use spotmeta::output::forest::{ForestSpec, forest_data, forest_png};
    use spotmeta::output::layout::{ForestStudy, ForestStyle, Mark, forest_layout};
    use spotmeta::{RmaOptions, rma};
    let (y, v) = five();
    let labels: Vec<String> = (1..=5).map(|i| format!("Study {i}")).collect();
    let ropts = RmaOptions::default().check().unwrap();
    let rfit = rma(&y, &v, &ropts).unwrap();
    let studies = (0..5)
        .map(|i| ForestStudy::new(labels[i].clone(), None, y[i], v[i]))
        .collect();
    let mut data = forest_data(studies, None, &rfit, &ropts, &ForestSpec::default()).unwrap();
    let fit = bayes(&y, &v, &ValidBayesOptions::default()).unwrap();
    let rows = shrunken_rows(&fit, &labels);
    let weights: Vec<f64> = v.iter().map(|&vi| rfit.weight_percent(vi)).collect();
    data.groups
        .push(shrunken_forest_group(&fit, &rows, &weights));
    let layout = forest_layout(&data, &ForestStyle::default());
    // The shrunken row of study 3 shows its posterior median and interval.
    let want = format!(
        "{:.2} [{:.2}, {:.2}]",
        rows[2].median, rows[2].lower, rows[2].upper
    );
    let found = layout
        .rows
        .iter()
        .filter(|r| r.label_text() == "Study 3")
        .map(|r| (r.effect.clone(), r.mark.clone()))
        .collect::<Vec<_>>();
    assert_eq!(found.len(), 2, "own row and shrunken row");
    assert_eq!(found[1].0, want);
    assert!(matches!(found[1].1, Mark::Study { .. }));
    // The Bayesian diamond closes the block.
    assert!(layout.rows.iter().any(
        |r| r.label_text().starts_with("Bayesian RE") && matches!(r.mark, Mark::Diamond { .. })
    ));
    let png = forest_png(&layout).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn bayes_refuses_an_out_that_is_its_input_and_leaves_it_intact() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("two.csv");
    let text = "yi,vi\n0.1,0.02\n0.3,0.03\n";
    std::fs::write(&csv, text).unwrap();
    common::spotmeta()
        .arg("bayes")
        .arg(&csv)
        .arg("--out")
        .arg(&csv)
        .assert()
        .failure();
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), text);
}
