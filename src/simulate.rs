//! Monte-Carlo coverage of the confidence-interval methods (issue #7,
//! `spotmeta simulate`): how often the z (Wald), Knapp–Hartung and truncated
//! Knapp–Hartung ("adhoc") intervals for the pooled effect, and the prediction
//! interval for a new study's true effect, contain the truth — for a given
//! number of studies k, between-study variance τ² and spread of within-study
//! variances.
//!
//! Each replication draws vᵢ ~ Uniform(v_min, v_max), θᵢ ~ N(μ, τ²) and
//! yᵢ ~ N(θᵢ, vᵢ) for i = 1..k, plus a new θ ~ N(μ, τ²), fits [`rma`] with the
//! chosen τ² estimator under each test and records whether each interval
//! covers μ (or the new θ), its width and τ̂². This is the design of IntHout,
//! Ioannidis & Borm (2014), *BMC Medical Research Methodology* 14:25, and
//! Sánchez-Meca & Marín-Martínez (2008), *Psychological Methods* 13:31–48.
//!
//! Replication r uses its own generator seeded from (seed, r), so results
//! depend only on the seed — not on the number of threads — and
//! [`simulated_data`] returns the exact data set of any replication (what the
//! conformance test feeds to metafor).

use crate::error::{Error, Result};
use crate::model::{Method, RmaOptions, TestKind, ValidRmaOptions, rma};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal, Uniform};
use rayon::prelude::*;
use serde::Serialize;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimSpec {
    /// Studies per meta-analysis (≥ 2).
    pub k: usize,
    /// True pooled effect μ.
    pub mu: f64,
    /// True between-study variance τ² (≥ 0).
    pub tau2: f64,
    /// Smallest within-study variance.
    pub vi_min: f64,
    /// Largest within-study variance.
    pub vi_max: f64,
    /// Replications.
    pub reps: usize,
    /// τ² estimator.
    pub method: Method,
    /// Confidence level (fraction, e.g. 0.95).
    #[serde(serialize_with = "crate::model::serialize_level_percent")]
    pub level: f64,
    /// Seed of the random number generator.
    pub seed: u64,
}

impl SimSpec {
    /// The within-study variance range from its flag's text `MIN,MAX`
    /// (`--vi-range 0.01,0.1`).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] naming `--vi-range` when the text is not two
    /// numbers separated by a comma.
    pub fn parse_vi_range(s: &str) -> Result<(f64, f64)> {
        let Some((lo, hi)) = s.split_once(',') else {
            return Err(Error::Unsupported(format!(
                "--vi-range {s}: give the range as MIN,MAX, e.g. --vi-range 0.01,0.1"
            )));
        };
        let num = |x: &str| -> Result<f64> {
            x.trim().parse().map_err(|e| {
                Error::Unsupported(format!("--vi-range {s}: `{x}` is not a number: {e}"))
            })
        };
        Ok((num(lo)?, num(hi)?))
    }

    /// A confidence level given in percent (95) or as a fraction (0.95), as
    /// a fraction.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] naming `--level` when it is not in (0, 100).
    pub fn level_fraction(level: f64) -> Result<f64> {
        let f = if level > 1.0 { level / 100.0 } else { level };
        if !(f > 0.0 && f < 1.0) {
            return Err(Error::Unsupported(format!(
                "--level {level}: give a percentage between 0 and 100"
            )));
        }
        Ok(f)
    }

    /// Check the specification; errors say which value is wrong and why.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str, why: String| Err(Error::option(what, why));
        if self.k < 2 {
            return bad("--k", format!("needs at least 2 studies, got {}", self.k));
        }
        if !(self.tau2.is_finite() && self.tau2 >= 0.0) {
            return bad(
                "--tau2",
                format!("must be ≥ 0 and finite, got {}", self.tau2),
            );
        }
        if !self.mu.is_finite() {
            return bad("--mu", format!("must be finite, got {}", self.mu));
        }
        if !(self.vi_min > 0.0 && self.vi_min <= self.vi_max && self.vi_max.is_finite()) {
            return bad(
                "--vi",
                format!(
                    "needs 0 < MIN ≤ MAX < ∞, got {},{}",
                    self.vi_min, self.vi_max
                ),
            );
        }
        if self.reps == 0 {
            return bad("--reps", "must be at least 1".into());
        }
        Ok(())
    }

    fn opts(&self, test: TestKind) -> Result<ValidRmaOptions> {
        RmaOptions {
            method: self.method,
            test,
            level: self.level,
            ..Default::default()
        }
        .check()
    }
}

/// One simulated meta-analysis: effect sizes, sampling variances, and the
/// true effect of a new study (for the prediction interval).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimData {
    /// Effect sizes.
    pub yi: Vec<f64>,
    /// Sampling variances.
    pub vi: Vec<f64>,
    /// True effect of a new study, θ ~ N(μ, τ²).
    pub theta_new: f64,
}

/// The generator of replication `rep` (SplitMix64 of seed and replication, so
/// neighbouring seeds do not give overlapping streams).
fn rng_for(seed: u64, rep: usize) -> StdRng {
    let mut z = seed ^ (rep as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// The distributions of a checked specification, built once per run.
struct Sampler<'a> {
    spec: &'a SimSpec,
    vi: Uniform<f64>,
    z: Normal<f64>,
}

impl<'a> Sampler<'a> {
    fn new(spec: &'a SimSpec) -> Result<Self> {
        spec.check()?;
        Ok(Sampler {
            spec,
            vi: Uniform::new_inclusive(spec.vi_min, spec.vi_max)
                .map_err(|e| Error::option("--vi", e.to_string()))?,
            z: Normal::new(0.0, 1.0).expect("valid standard normal"),
        })
    }

    fn draw(&self, rep: usize) -> SimData {
        let s = self.spec;
        let mut rng = rng_for(s.seed, rep);
        let tau = s.tau2.sqrt();
        let mut yi = Vec::with_capacity(s.k);
        let mut vi = Vec::with_capacity(s.k);
        for _ in 0..s.k {
            let v: f64 = self.vi.sample(&mut rng);
            let theta = s.mu + tau * self.z.sample(&mut rng);
            yi.push(theta + v.sqrt() * self.z.sample(&mut rng));
            vi.push(v);
        }
        let theta_new = s.mu + tau * self.z.sample(&mut rng);
        SimData { yi, vi, theta_new }
    }
}

/// The data set of replication `rep` (0-based).
pub fn simulated_data(spec: &SimSpec, rep: usize) -> Result<SimData> {
    Ok(Sampler::new(spec)?.draw(rep))
}

/// Every replication's data set, in order (the specification is checked and
/// the distributions built once).
pub fn simulated_data_sets(spec: &SimSpec) -> Result<impl Iterator<Item = SimData> + '_> {
    let sampler = Sampler::new(spec)?;
    Ok((0..spec.reps).map(move |rep| sampler.draw(rep)))
}

/// Coverage of one kind of interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// "z", "knha" or "adhoc".
    pub test: String,
    /// Replications where the interval contained the truth.
    pub covered: usize,
    /// Replications with an interval (a fit that failed has none).
    pub fits: usize,
    /// covered / fits.
    pub coverage: f64,
    /// Monte-Carlo standard error of the coverage, √(p(1 − p)/fits).
    pub mc_se: f64,
    /// Mean interval width.
    pub mean_width: f64,
}

/// The result of a simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    /// What was simulated.
    pub spec: SimSpec,
    /// Confidence intervals for μ: z, knha, adhoc.
    pub ci: Vec<Coverage>,
    /// Prediction intervals for a new θ: z (normal quantile) and knha (t with
    /// k − 1 df, as metafor's `predict`).
    pub pi: Vec<Coverage>,
    /// Mean of τ̂² over the fits.
    pub tau2_mean: f64,
    /// Share of fits with τ̂² on the boundary (below [`TAU2_ZERO`]).
    pub tau2_zero: f64,
    /// Replications where the estimator failed (no interval).
    pub failures: usize,
}

/// τ̂² below this counts as on the boundary 0 (metafor's Fisher scoring
/// stops near 1e-13 where the optimum is 0).
pub const TAU2_ZERO: f64 = 1e-10;

const TESTS: [TestKind; 3] = [TestKind::Z, TestKind::Knha, TestKind::Adhoc];

/// Per-chunk tallies (integers for counts; widths and τ̂² summed in a fixed
/// order so the result does not depend on the thread count).
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    ci_cov: [usize; 3],
    ci_width: [f64; 3],
    pi_cov: [usize; 2],
    pi_width: [f64; 2],
    fits: usize,
    tau2_sum: f64,
    tau2_zero: usize,
    failures: usize,
}

impl Tally {
    fn add(mut self, o: Tally) -> Tally {
        for t in 0..3 {
            self.ci_cov[t] += o.ci_cov[t];
            self.ci_width[t] += o.ci_width[t];
        }
        for t in 0..2 {
            self.pi_cov[t] += o.pi_cov[t];
            self.pi_width[t] += o.pi_width[t];
        }
        self.fits += o.fits;
        self.tau2_sum += o.tau2_sum;
        self.tau2_zero += o.tau2_zero;
        self.failures += o.failures;
        self
    }
}

/// One replication: the fits under the three tests (each test estimates the
/// same τ̂²; it is taken from the z fit).
fn one_rep(sampler: &Sampler, opts: &[ValidRmaOptions; 3], rep: usize) -> Result<Tally> {
    let (spec, d) = (sampler.spec, sampler.draw(rep));
    let mut t = Tally {
        fits: 1,
        ..Tally::default()
    };
    for (i, o) in opts.iter().enumerate() {
        let f = match rma(&d.yi, &d.vi, o) {
            Ok(f) => f,
            Err(Error::Numerical { .. }) => {
                return Ok(Tally {
                    failures: 1,
                    ..Tally::default()
                });
            }
            Err(e) => return Err(e),
        };
        t.ci_cov[i] = usize::from(f.ci_lb <= spec.mu && spec.mu <= f.ci_ub);
        t.ci_width[i] = f.ci_ub - f.ci_lb;
        if i < 2 {
            t.pi_cov[i] = usize::from(f.pi_lb <= d.theta_new && d.theta_new <= f.pi_ub);
            t.pi_width[i] = f.pi_ub - f.pi_lb;
        }
        if i == 0 {
            t.tau2_sum = f.tau2;
            t.tau2_zero = usize::from(f.tau2 < TAU2_ZERO);
        }
    }
    Ok(t)
}

/// Replications per parallel chunk.
const CHUNK: usize = 256;

/// Run the simulation (in parallel; the result depends only on `spec`).
pub fn simulate(spec: &SimSpec) -> Result<Simulation> {
    let sampler = Sampler::new(spec)?;
    let opts = [
        spec.opts(TESTS[0])?,
        spec.opts(TESTS[1])?,
        spec.opts(TESTS[2])?,
    ];
    let chunks = spec.reps.div_ceil(CHUNK);
    let parts: Vec<Tally> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut acc = Tally::default();
            for rep in c * CHUNK..((c + 1) * CHUNK).min(spec.reps) {
                acc = acc.add(one_rep(&sampler, &opts, rep)?);
            }
            Ok(acc)
        })
        .collect::<Result<_>>()?;
    let total = parts.into_iter().fold(Tally::default(), Tally::add);
    let n = total.fits;
    let cov = |name: &str, covered: usize, width: f64| {
        let p = covered as f64 / n as f64;
        Coverage {
            test: name.into(),
            covered,
            fits: n,
            coverage: p,
            mc_se: (p * (1.0 - p) / n as f64).sqrt(),
            mean_width: width / n as f64,
        }
    };
    Ok(Simulation {
        spec: spec.clone(),
        ci: (0..3)
            .map(|t| cov(TESTS[t].as_str(), total.ci_cov[t], total.ci_width[t]))
            .collect(),
        pi: (0..2)
            .map(|t| cov(TESTS[t].as_str(), total.pi_cov[t], total.pi_width[t]))
            .collect(),
        tau2_mean: total.tau2_sum / n as f64,
        tau2_zero: total.tau2_zero as f64 / n as f64,
        failures: total.failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(reps: usize) -> SimSpec {
        SimSpec {
            k: 5,
            mu: 0.2,
            tau2: 0.05,
            vi_min: 0.01,
            vi_max: 0.1,
            reps,
            method: Method::REML,
            level: 0.95,
            seed: 7,
        }
    }

    #[test]
    fn data_depend_only_on_seed_and_replication() {
        let s = spec(10);
        let a = simulated_data(&s, 3).unwrap();
        assert_eq!(a, simulated_data(&s, 3).unwrap());
        assert_ne!(a, simulated_data(&s, 4).unwrap());
        assert_ne!(
            a,
            simulated_data(
                &SimSpec {
                    seed: 8,
                    ..s.clone()
                },
                3
            )
            .unwrap()
        );
        assert!(a.vi.iter().all(|v| (0.01..=0.1).contains(v)));
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let s = spec(600);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| simulate(&s).unwrap());
        assert_eq!(one, simulate(&s).unwrap());
    }

    #[test]
    fn bad_specifications_say_which_value() {
        for (s, what) in [
            (SimSpec { k: 1, ..spec(1) }, "--k"),
            (
                SimSpec {
                    tau2: -1.0,
                    ..spec(1)
                },
                "--tau2",
            ),
            (
                SimSpec {
                    vi_min: 0.2,
                    ..spec(1)
                },
                "--vi",
            ),
            (SimSpec { reps: 0, ..spec(1) }, "--reps"),
        ] {
            let e = simulate(&s).unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        }
    }
}
