//! Bayesian random-effects meta-analysis for few studies (issue #16), after
//! R `bayesmeta` (Röver C, 2020, "Bayesian random-effects meta-analysis
//! using the bayesmeta R package", J Stat Softw 93(6), doi:10.18637/jss.v093.i06):
//! the joint posterior of the mean effect μ and the heterogeneity τ by
//! numerical integration, without MCMC.
//!
//! Model: yᵢ | θᵢ ~ N(θᵢ, vᵢ), θᵢ | μ, τ ~ N(μ, τ²), priors p(μ)·p(τ).
//! With μ's prior uniform (bayesmeta's default) or normal, μ integrates out
//! in closed form: given τ, μ | τ, y ~ N(μ̂(τ), V(τ)) with
//! V = 1/(Σ wᵢ [+ 1/s₀²]), μ̂ = V·(Σ wᵢyᵢ [+ m₀/s₀²]), wᵢ = 1/(vᵢ + τ²), and
//! the marginal likelihood of τ is
//! p(y | τ) ∝ Πᵢ(vᵢ + τ²)^(−½) · V^(½) · exp(−½ [Σ wᵢ(yᵢ − μ̂)² + (m₀ − μ̂)²/s₀²])
//! (Röver 2020, Sec. 2.3–2.4). Everything else is a one-dimensional integral
//! over τ:
//!
//! * **τ**: the marginal posterior p(τ | y) ∝ p(τ)·p(y | τ) is integrated in
//!   u = ln τ (which turns the log-Student-t prior's integrable pole at τ = 0
//!   into a smooth density), mapped onto (−1, 1) by u = u₀ + s·x/(1 − x²)
//!   (QUADPACK's infinite-range idea), by adaptive Gauss–Kronrod (7–15)
//!   bisection to a relative error of 1e-12.
//! * **μ** and the **prediction** θₖ₊₁ are normal mixtures over τ: the
//!   Kronrod nodes of the τ integral, with their normalised weights, are the
//!   mixture (bayesmeta discretises τ the same way, by its "DIRECT" grid of
//!   Röver & Friede 2017, with a divergence bound instead of a quadrature
//!   error). The CDF is Σⱼ Wⱼ Φ((x − μ̂ⱼ)/σⱼ); quantiles solve it by safeguarded
//!   Newton steps. P(μ > 0) and P(μ > a) are 1 − F(0) and 1 − F(a).
//! * **Shrinkage** estimates θᵢ | y: given τ, θᵢ | τ, y ~ N((1 − bᵢ)yᵢ + bᵢμ̂,
//!   vᵢτ²/(vᵢ + τ²) + bᵢ²V) with bᵢ = vᵢ/(vᵢ + τ²); mixed over τ the same way.
//!
//! Accuracy: `tests/bayes.rs` holds medians, interval limits, means and
//! probabilities to 1e-6 of an independent R script that calls
//! `integrate()` (tests/conformance/make_bayes.R) and reproduces the
//! bayesmeta vignette's eight-schools example to 3 significant digits.
//!
//! Priors for τ ([`TauPrior`]): half-normal (default scale 0.5, sized for
//! standardised mean differences), half-Cauchy, the empirical log-Student-t
//! prior of Rhodes, Turner & Higgins (2015, J Clin Epidemiol 68(1):52–60;
//! log τ² ~ t₅(−3.44, 2.59), the marginal setting as bayesmeta's
//! `RhodesEtAlPrior()` stores it), and bayesmeta's improper uniform.

use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Prior for the heterogeneity τ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum TauPrior {
    /// Half-normal with this scale (the SD of the underlying normal).
    HalfNormal {
        /// Scale (> 0).
        scale: f64,
    },
    /// Half-Cauchy with this scale.
    HalfCauchy {
        /// Scale (> 0).
        scale: f64,
    },
    /// log τ² ~ Student t with 5 df, this location and scale (Rhodes et al. 2015).
    LogT {
        /// Location of log τ².
        location: f64,
        /// Scale of log τ² (> 0).
        scale: f64,
    },
    /// Improper uniform on [0, ∞) (bayesmeta's default; needs k ≥ 3 with a
    /// uniform μ prior, k ≥ 2 with a normal one).
    Uniform,
}

impl TauPrior {
    /// The default: half-normal with scale 0.5 (standardised mean differences).
    pub const DEFAULT: TauPrior = TauPrior::HalfNormal { scale: 0.5 };

    /// Rhodes, Turner & Higgins (2015) empirical prior for SMD meta-analyses,
    /// general (marginal) setting: log τ² ~ t₅(location −3.44, scale 2.59),
    /// as tabulated in bayesmeta's `RhodesEtAlPrior()` (outcome = NA).
    pub const RHODES_SMD: TauPrior = TauPrior::LogT {
        location: -3.44,
        scale: 2.59,
    };

    /// The priors of the sensitivity analysis: the default, a wider
    /// half-normal, a heavier-tailed half-Cauchy and the Rhodes et al. prior.
    pub const SENSITIVITY: [TauPrior; 4] = [
        TauPrior::DEFAULT,
        TauPrior::HalfNormal { scale: 1.0 },
        TauPrior::HalfCauchy { scale: 0.5 },
        TauPrior::RHODES_SMD,
    ];

    /// ln of the prior density of u = ln τ, up to a constant
    /// (ln p_τ(eᵘ) + u).
    fn ln_density_u(self, u: f64) -> f64 {
        match self {
            TauPrior::HalfNormal { scale } => {
                let t = (u - scale.ln()).exp();
                u - 0.5 * t * t
            }
            TauPrior::HalfCauchy { scale } => {
                // −ln(1 + τ²/s²) as a stable softplus of z = 2(u − ln s).
                let z = 2.0 * (u - scale.ln());
                u - (z.max(0.0) + (-z.abs()).exp().ln_1p())
            }
            TauPrior::LogT { location, scale } => {
                // 2u = ln τ² ~ t₅(location, scale): density of u ∝ (1 + r²/5)^(−3).
                let r = (2.0 * u - location) / scale;
                -3.0 * (r * r / 5.0).ln_1p()
            }
            TauPrior::Uniform => u,
        }
    }

    /// Whether the prior integrates to one.
    pub fn is_proper(self) -> bool {
        !matches!(self, TauPrior::Uniform)
    }

    /// A typical τ of the prior (its scale), to place the integration grid.
    fn typical(self) -> Option<f64> {
        match self {
            TauPrior::HalfNormal { scale } | TauPrior::HalfCauchy { scale } => Some(scale),
            TauPrior::LogT { location, .. } => Some((0.5 * location).exp()),
            TauPrior::Uniform => None,
        }
    }

    fn check(self) -> Result<TauPrior> {
        let ok = |s: f64| s.is_finite() && s > 0.0;
        let good = match self {
            TauPrior::HalfNormal { scale } | TauPrior::HalfCauchy { scale } => ok(scale),
            TauPrior::LogT { location, scale } => location.is_finite() && ok(scale),
            TauPrior::Uniform => true,
        };
        if good {
            Ok(self)
        } else {
            Err(Error::option(
                "--prior",
                match self {
                    TauPrior::LogT { .. } => {
                        format!("{self} needs a finite location and a positive, finite scale")
                    }
                    _ => format!("{self} needs a positive, finite scale, e.g. half-normal:0.5"),
                },
            ))
        }
    }
}

impl fmt::Display for TauPrior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TauPrior::HalfNormal { scale } => write!(f, "half-normal:{scale}"),
            TauPrior::HalfCauchy { scale } => write!(f, "half-Cauchy:{scale}"),
            TauPrior::LogT { location, scale } if (location, scale) == (-3.44, 2.59) => {
                write!(f, "rhodes (log-t:{location}:{scale})")
            }
            TauPrior::LogT { location, scale } => write!(f, "log-t:{location}:{scale}"),
            TauPrior::Uniform => write!(f, "uniform (improper)"),
        }
    }
}

const PRIOR_HELP: &str = "accepted: half-normal:SCALE, half-cauchy:SCALE, rhodes (the Rhodes et al. 2015 SMD prior), log-t:LOCATION:SCALE (log tau^2 ~ t5), uniform; e.g. half-normal:0.5";

impl FromStr for TauPrior {
    type Err = Error;

    /// `half-normal:0.5`, `half-cauchy:1`, `rhodes`, `log-t:-3.44:2.59`, `uniform`.
    fn from_str(s: &str) -> Result<TauPrior> {
        let bad = |why: String| Error::option("--prior", format!("{why}; {PRIOR_HELP}"));
        let num = |v: &str, what: &str| -> Result<f64> {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("`{v}` is not a number ({what} of `{s}`)")))
        };
        let lower = s.trim().to_ascii_lowercase();
        let mut parts = lower.split(':');
        let family = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let prior = match (family, args.as_slice()) {
            ("half-normal" | "halfnormal", [scale]) => TauPrior::HalfNormal {
                scale: num(scale, "scale")?,
            },
            ("half-cauchy" | "halfcauchy", [scale]) => TauPrior::HalfCauchy {
                scale: num(scale, "scale")?,
            },
            ("rhodes", []) => TauPrior::RHODES_SMD,
            ("log-t" | "logt", [location, scale]) => TauPrior::LogT {
                location: num(location, "location")?,
                scale: num(scale, "scale")?,
            },
            ("uniform", []) => TauPrior::Uniform,
            _ => return Err(bad(format!("`{s}` is not a prior for tau"))),
        };
        prior.check()
    }
}

/// Prior for the mean effect μ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum MuPrior {
    /// Improper uniform on the real line (bayesmeta's default).
    Uniform,
    /// Normal with this mean and SD.
    Normal {
        /// Prior mean.
        mean: f64,
        /// Prior SD (> 0).
        sd: f64,
    },
}

impl fmt::Display for MuPrior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MuPrior::Uniform => write!(f, "uniform (improper)"),
            MuPrior::Normal { mean, sd } => write!(f, "normal:{mean}:{sd}"),
        }
    }
}

impl FromStr for MuPrior {
    type Err = Error;

    /// `uniform` or `normal:MEAN:SD`.
    fn from_str(s: &str) -> Result<MuPrior> {
        let bad = || {
            Error::option(
                "--mu-prior",
                format!(
                    "`{s}` is not a prior for mu; accepted: uniform, normal:MEAN:SD (SD > 0), e.g. normal:0:4"
                ),
            )
        };
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        match parts.as_slice() {
            ["uniform"] => Ok(MuPrior::Uniform),
            ["normal", m, sd] => {
                let m: f64 = m.trim().parse().map_err(|_| bad())?;
                let sd: f64 = sd.trim().parse().map_err(|_| bad())?;
                if m.is_finite() && sd.is_finite() && sd > 0.0 {
                    Ok(MuPrior::Normal { mean: m, sd })
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        }
    }
}

/// How credible intervals are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    /// Equal tails: the (1 − level)/2 and (1 + level)/2 quantiles (default).
    Central,
    /// The shortest interval with the given mass (bayesmeta's default).
    Shortest,
}

impl FromStr for IntervalKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<IntervalKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "central" => Ok(IntervalKind::Central),
            "shortest" => Ok(IntervalKind::Shortest),
            _ => Err(Error::option(
                "--interval",
                format!("`{s}` is not an interval kind; accepted: central, shortest"),
            )),
        }
    }
}

/// Options of [`bayes`] (unchecked).
///
/// | name | default | meaning | range |
/// |---|---|---|---|
/// | `tau_prior` | half-normal:0.5 | prior for τ | scale > 0 |
/// | `mu_prior` | uniform | prior for μ | normal SD > 0 |
/// | `level` | 95 | credible level, percent (or a fraction < 1) | (0, 100) |
/// | `worthwhile` | 0.2 | smallest worthwhile effect a for P(μ > a) | finite |
/// | `interval` | central | central or shortest intervals | |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BayesOptions {
    /// Prior for τ.
    pub tau_prior: TauPrior,
    /// Prior for μ.
    pub mu_prior: MuPrior,
    /// Credible level in percent (95) or as a fraction (0.95).
    pub level: f64,
    /// Smallest worthwhile effect a, for P(μ > a).
    pub worthwhile: f64,
    /// Central or shortest credible intervals.
    pub interval: IntervalKind,
}

impl Default for BayesOptions {
    fn default() -> Self {
        BayesOptions {
            tau_prior: TauPrior::DEFAULT,
            mu_prior: MuPrior::Uniform,
            level: 95.0,
            worthwhile: 0.2,
            interval: IntervalKind::Central,
        }
    }
}

/// Checked options; `level` is a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ValidBayesOptions {
    /// Prior for τ.
    pub tau_prior: TauPrior,
    /// Prior for μ.
    pub mu_prior: MuPrior,
    /// Credible level as a fraction.
    pub level: f64,
    /// Smallest worthwhile effect.
    pub worthwhile: f64,
    /// Interval kind.
    pub interval: IntervalKind,
}

impl ValidBayesOptions {
    /// The same options with another τ prior (checked).
    pub fn with_tau_prior(self, tau_prior: TauPrior) -> Result<Self> {
        Ok(ValidBayesOptions {
            tau_prior: tau_prior.check()?,
            ..self
        })
    }
}

impl Default for ValidBayesOptions {
    fn default() -> Self {
        BayesOptions::default().check().expect("defaults are valid")
    }
}

impl BayesOptions {
    /// Validate the options.
    pub fn check(&self) -> Result<ValidBayesOptions> {
        let level = super::options::level_fraction(self.level, "credible")?;
        if !self.worthwhile.is_finite() {
            return Err(Error::option(
                "--worthwhile",
                format!(
                    "{} is not a finite effect size; give the smallest worthwhile effect, e.g. 0.2",
                    self.worthwhile
                ),
            ));
        }
        if let MuPrior::Normal { mean, sd } = self.mu_prior
            && !(mean.is_finite() && sd.is_finite() && sd > 0.0)
        {
            return Err(Error::option(
                "--mu-prior",
                "a normal prior needs a finite mean and a positive, finite SD",
            ));
        }
        Ok(ValidBayesOptions {
            tau_prior: self.tau_prior.check()?,
            mu_prior: self.mu_prior,
            level,
            worthwhile: self.worthwhile,
            interval: self.interval,
        })
    }
}

/// Summary of one marginal posterior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Marginal {
    /// Posterior median.
    pub median: f64,
    /// Posterior mean (None where it does not exist: a heavy-tailed prior
    /// with few studies).
    pub mean: Option<f64>,
    /// Posterior SD (None where it does not exist).
    pub sd: Option<f64>,
    /// Lower limit of the credible interval.
    pub lower: f64,
    /// Upper limit of the credible interval.
    pub upper: f64,
}

// Gauss–Kronrod 7–15 rule on [−1, 1] (QUADPACK qk15): Kronrod abscissae
// (the odd-indexed ones are the Gauss points) and weights.
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_8,
];
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// Relative error target of the τ integral.
const QUAD_REL: f64 = 1e-12;
/// Most panels of the adaptive τ integral.
const MAX_PANELS: usize = 4000;

/// The 15 Kronrod nodes of [a, b] and their weights (scaled to the panel).
fn gk_nodes(a: f64, b: f64) -> impl Iterator<Item = (f64, f64, Option<f64>)> {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    (0..15).map(move |j| {
        // j = 0..7 left of centre, 7 centre, 8..15 right.
        let (i, sign) = if j < 7 { (j, -1.0) } else { (14 - j, 1.0) };
        let x = c + sign * h * XGK[i];
        let wg = if i % 2 == 1 {
            Some(h * WG[i / 2])
        } else {
            None
        };
        (x, h * WGK[i], wg)
    })
}

/// One panel of the adaptive rule.
#[derive(Debug, Clone, Copy)]
struct Panel {
    a: f64,
    b: f64,
    mass: f64,
    err: f64,
}

/// A mixture component: weight, τ, μ̂(τ), V(τ).
#[derive(Debug, Clone, Copy)]
struct Node {
    w: f64,
    tau: f64,
    mu: f64,
    var: f64,
}

/// μ | τ, y: (μ̂, V, ln p(y | τ) up to a constant).
fn conditional(yi: &[f64], vi: &[f64], tau2: f64, mu_prior: MuPrior) -> (f64, f64, f64) {
    let (mut sw, mut swy, mut sln) = (0.0, 0.0, 0.0);
    for (&y, &v) in yi.iter().zip(vi) {
        let d = v + tau2;
        sw += 1.0 / d;
        swy += y / d;
        sln += d.ln();
    }
    let (p0, m0) = match mu_prior {
        MuPrior::Uniform => (0.0, 0.0),
        MuPrior::Normal { mean, sd } => (1.0 / (sd * sd), mean),
    };
    let s = sw + p0;
    let mu = (swy + p0 * m0) / s;
    let mut q = p0 * (m0 - mu) * (m0 - mu);
    for (&y, &v) in yi.iter().zip(vi) {
        q += (y - mu) * (y - mu) / (v + tau2);
    }
    (mu, 1.0 / s, -0.5 * (sln + s.ln() + q))
}

/// A finite normal mixture Σ wⱼ N(mⱼ, sⱼ²) with Σ wⱼ = 1.
#[derive(Debug, Clone)]
pub struct Mixture {
    comps: Vec<(f64, f64, f64)>,
}

impl Mixture {
    fn new(comps: Vec<(f64, f64, f64)>) -> Mixture {
        let total: f64 = comps.iter().map(|c| c.0).sum();
        Mixture {
            comps: comps
                .into_iter()
                .filter(|c| c.0 > 0.0)
                .map(|(w, m, s)| (w / total, m, s))
                .collect(),
        }
    }

    /// P(X ≤ x).
    pub fn cdf(&self, x: f64) -> f64 {
        self.comps
            .iter()
            .map(|&(w, m, s)| w * dist::phi((x - m) / s))
            .sum()
    }

    /// Density at x.
    pub fn pdf(&self, x: f64) -> f64 {
        self.comps
            .iter()
            .map(|&(w, m, s)| w * dist::dnorm((x - m) / s) / s)
            .sum()
    }

    /// CDF and density at x in one pass.
    fn cdf_pdf(&self, x: f64) -> (f64, f64) {
        self.comps.iter().fold((0.0, 0.0), |(f, d), &(w, m, s)| {
            let z = (x - m) / s;
            (f + w * dist::phi(z), d + w * dist::dnorm(z) / s)
        })
    }

    /// Mean.
    pub fn mean(&self) -> f64 {
        self.comps.iter().map(|&(w, m, _)| w * m).sum()
    }

    /// SD.
    pub fn sd(&self) -> f64 {
        let mean = self.mean();
        self.comps
            .iter()
            .map(|&(w, m, s)| w * (s * s + (m - mean) * (m - mean)))
            .sum::<f64>()
            .sqrt()
    }

    /// The x with P(X ≤ x) = p, 0 < p < 1 (safeguarded Newton). The
    /// bracket grows from the heaviest component, so components of vast
    /// variance and negligible weight (a heavy-tailed τ posterior) cannot
    /// overflow it.
    pub fn quantile(&self, p: f64) -> f64 {
        let &(_, m, s) = self
            .comps
            .iter()
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .expect("a mixture has components");
        let (mut lo, mut hi) = (m - s, m + s);
        let mut step = s;
        while self.cdf(lo) > p && lo.is_finite() {
            step *= 2.0;
            lo -= step;
        }
        step = s;
        while self.cdf(hi) < p && hi.is_finite() {
            step *= 2.0;
            hi += step;
        }
        let mut x = (m + s * dist::qnorm(p)).clamp(lo, hi);
        for _ in 0..200 {
            let (f, d) = self.cdf_pdf(x);
            let f = f - p;
            if f == 0.0 {
                return x;
            }
            if f < 0.0 {
                lo = x;
            } else {
                hi = x;
            }
            let mut next = x - f / d;
            if !(next > lo && next < hi && next.is_finite()) {
                next = 0.5 * (lo + hi);
            }
            if (next - x).abs() <= 1e-14 * (1.0 + x.abs()) || hi - lo <= 1e-14 * (1.0 + x.abs()) {
                return next;
            }
            x = next;
        }
        x
    }

    /// Median, mean and SD (where `moments` says they exist) and the
    /// credible interval.
    pub fn summary(&self, level: f64, kind: IntervalKind, moments: [bool; 2]) -> Marginal {
        let (lower, upper) = interval(|p| self.quantile(p), level, kind, false);
        Marginal {
            median: self.quantile(0.5),
            mean: moments[0].then(|| self.mean()),
            sd: moments[1].then(|| self.sd()),
            lower,
            upper,
        }
    }
}

/// Credible interval from a quantile function: central, or the shortest
/// (golden-section search over the lower tail mass, which is unimodal for a
/// unimodal density). `zero_floor`: the support starts at 0 (τ), so q(0) = 0.
fn interval(
    q: impl Fn(f64) -> f64,
    level: f64,
    kind: IntervalKind,
    zero_floor: bool,
) -> (f64, f64) {
    let alpha = 1.0 - level;
    match kind {
        IntervalKind::Central => (q(alpha / 2.0), q(1.0 - alpha / 2.0)),
        IntervalKind::Shortest => {
            let lo_q = |p: f64| if zero_floor && p <= 0.0 { 0.0 } else { q(p) };
            let width = |p: f64| q((p + level).min(1.0 - 1e-15)) - lo_q(p);
            let g = 0.5 * (5f64.sqrt() - 1.0);
            // Tail masses below 1e-12 are not resolved; search [ε, α − ε].
            let (mut a, mut b) = (1e-12, alpha - 1e-12);
            let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
            let (mut fc, mut fd) = (width(c), width(d));
            while b - a > 1e-10 {
                if fc < fd {
                    b = d;
                    d = c;
                    fd = fc;
                    c = b - g * (b - a);
                    fc = width(c);
                } else {
                    a = c;
                    c = d;
                    fc = fd;
                    d = a + g * (b - a);
                    fd = width(d);
                }
            }
            let p = 0.5 * (a + b);
            // A support starting at 0 with its density highest there.
            if zero_floor && width(0.0) <= width(p) {
                return (0.0, q(level));
            }
            (lo_q(p), q(p + level))
        }
    }
}

/// The joint posterior of (μ, τ) on the τ quadrature: everything downstream
/// is computed from it.
#[derive(Debug, Clone)]
pub struct Posterior {
    yi: Vec<f64>,
    vi: Vec<f64>,
    opts: ValidBayesOptions,
    /// u = u0 + s·x/(1 − x²), u = ln τ.
    u0: f64,
    s: f64,
    /// ln of the integrand's scale (subtracted before exponentiating).
    lmax: f64,
    panels: Vec<Panel>,
    total: f64,
    nodes: Vec<Node>,
}

impl Posterior {
    fn map(&self, x: f64) -> (f64, f64) {
        let d = 1.0 - x * x;
        (self.u0 + self.s * x / d, self.s * (1.0 + x * x) / (d * d))
    }

    fn unmap(&self, u: f64) -> f64 {
        let r = (u - self.u0) / self.s;
        if r == 0.0 {
            0.0
        } else {
            (-1.0 + (1.0 + 4.0 * r * r).sqrt()) / (2.0 * r)
        }
    }

    /// ln p(τ = eᵘ) + ln p(y | τ) (in u), −∞ where τ² over- or underflows.
    fn ln_post_u(&self, u: f64) -> f64 {
        self.eval_u(u).0
    }

    /// (ln p(τ = eᵘ) + ln p(y | τ), μ̂(τ), V(τ)).
    fn eval_u(&self, u: f64) -> (f64, f64, f64) {
        let tau2 = (2.0 * u).exp();
        if !tau2.is_finite() {
            return (f64::NEG_INFINITY, f64::NAN, f64::NAN);
        }
        let (mu, var, ll) = conditional(&self.yi, &self.vi, tau2, self.opts.mu_prior);
        let l = ll + self.opts.tau_prior.ln_density_u(u);
        (if l.is_nan() { f64::NEG_INFINITY } else { l }, mu, var)
    }

    /// The integrand in x, scaled by e^(−lmax).
    fn integrand(&self, x: f64) -> f64 {
        let (u, du) = self.map(x);
        (self.ln_post_u(u) - self.lmax).exp() * du
    }

    fn gk(&self, a: f64, b: f64) -> (f64, f64) {
        let (mut k, mut g) = (0.0, 0.0);
        for (x, wk, wg) in gk_nodes(a, b) {
            let f = self.integrand(x);
            k += wk * f;
            if let Some(wg) = wg {
                g += wg * f;
            }
        }
        (k, (k - g).abs())
    }

    /// Integrate and discretise the posterior of τ.
    fn new(yi: &[f64], vi: &[f64], opts: &ValidBayesOptions) -> Result<Posterior> {
        super::check_inputs(yi, vi)?;
        let k = yi.len();
        if let TauPrior::Uniform = opts.tau_prior {
            let need = match opts.mu_prior {
                MuPrior::Uniform => 3,
                MuPrior::Normal { .. } => 2,
            };
            if k < need {
                return Err(Error::Unsupported(format!(
                    "the uniform prior for tau gives an improper posterior with k = {k} (it needs k >= {need} with a {} prior for mu); use a proper prior such as --prior half-normal:0.5",
                    opts.mu_prior
                )));
            }
        }
        // Place the grid: τ on the scale of the studies and of the prior.
        let v_mean = vi.iter().sum::<f64>() / k as f64;
        let reference = opts.tau_prior.typical().unwrap_or(v_mean.sqrt());
        let mut post = Posterior {
            yi: yi.to_vec(),
            vi: vi.to_vec(),
            opts: *opts,
            u0: reference.ln(),
            s: 2.0,
            lmax: 0.0,
            panels: Vec::new(),
            total: 0.0,
            nodes: Vec::new(),
        };
        // Coarse scan in u for the peak of the integrand.
        let centre = 0.5 * (reference.ln() + 0.5 * v_mean.ln());
        let (mut best_u, mut best) = (centre, f64::NEG_INFINITY);
        for i in -40..=20 {
            let u = centre + 0.5 * i as f64;
            let l = post.ln_post_u(u);
            if l > best {
                (best_u, best) = (u, l);
            }
        }
        if !best.is_finite() {
            return Err(Error::Numerical {
                what: "Bayesian posterior of tau".into(),
                message: "the posterior density is zero or not finite everywhere on the grid; check the effect sizes and variances (rescale very large values)".into(),
            });
        }
        post.u0 = best_u;
        post.lmax = best;
        post.integrate()?;
        Ok(post)
    }

    fn integrate(&mut self) -> Result<()> {
        const START: usize = 16;
        let mut panels: Vec<Panel> = (0..START)
            .map(|i| {
                let a = -1.0 + 2.0 * i as f64 / START as f64;
                let b = -1.0 + 2.0 * (i + 1) as f64 / START as f64;
                let (mass, err) = self.gk(a, b);
                Panel { a, b, mass, err }
            })
            .collect();
        loop {
            let total: f64 = panels.iter().map(|p| p.mass).sum();
            let err: f64 = panels.iter().map(|p| p.err).sum();
            if !(total.is_finite() && total > 0.0) {
                return Err(Error::Numerical {
                    what: "Bayesian posterior of tau".into(),
                    message: format!(
                        "the normalising integral is {total}; check the data and the prior"
                    ),
                });
            }
            if err <= QUAD_REL * total {
                break;
            }
            if panels.len() >= MAX_PANELS {
                return Err(Error::Numerical {
                    what: "Bayesian posterior of tau".into(),
                    message: format!(
                        "the integral did not reach a relative error of {QUAD_REL:e} in {MAX_PANELS} panels (estimated {:.1e}); the posterior may be improper or extremely peaked",
                        err / total
                    ),
                });
            }
            let (i, _) = panels
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.err.total_cmp(&b.1.err))
                .expect("panels exist");
            let p = panels[i];
            let m = 0.5 * (p.a + p.b);
            let (m1, e1) = self.gk(p.a, m);
            let (m2, e2) = self.gk(m, p.b);
            panels[i] = Panel {
                a: p.a,
                b: m,
                mass: m1,
                err: e1,
            };
            panels.insert(
                i + 1,
                Panel {
                    a: m,
                    b: p.b,
                    mass: m2,
                    err: e2,
                },
            );
        }
        self.total = panels.iter().map(|p| p.mass).sum();
        let mut nodes = Vec::with_capacity(15 * panels.len());
        for p in &panels {
            for (x, wk, _) in gk_nodes(p.a, p.b) {
                let (u, du) = self.map(x);
                let (l, mu, var) = self.eval_u(u);
                let w = wk * (l - self.lmax).exp() * du / self.total;
                // Keep every node: under a heavy-tailed prior the far tail
                // (weights ~1e-20 at τ ~ 1e8) still moves E[τ] by ~1e-6.
                if w > 0.0 {
                    nodes.push(Node {
                        w,
                        tau: u.exp(),
                        mu,
                        var,
                    });
                }
            }
        }
        self.panels = panels;
        self.nodes = nodes;
        Ok(())
    }

    /// Number of studies.
    pub fn k(&self) -> usize {
        self.yi.len()
    }

    /// Number of τ nodes in the mixture (for diagnostics).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The options used.
    pub fn options(&self) -> &ValidBayesOptions {
        &self.opts
    }

    /// Posterior P(τ ≤ t).
    pub fn tau_cdf(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        if !t.is_finite() {
            return 1.0;
        }
        let x = self.unmap(t.ln());
        let mut acc = 0.0;
        for p in &self.panels {
            if p.b <= x {
                acc += p.mass;
            } else {
                if p.a < x {
                    acc += self.gk(p.a, x).0;
                }
                break;
            }
        }
        (acc / self.total).clamp(0.0, 1.0)
    }

    /// Posterior density of τ at t > 0.
    pub fn tau_pdf(&self, t: f64) -> f64 {
        if t <= 0.0 || !t.is_finite() {
            return 0.0;
        }
        // p(τ) = p(u)/τ; p(u) = exp(ln_post_u − lmax)/total.
        (self.ln_post_u(t.ln()) - self.lmax).exp() / self.total / t
    }

    /// Posterior τ quantile (0 < p < 1).
    pub fn tau_quantile(&self, p: f64) -> f64 {
        let target = p * self.total;
        let mut acc = 0.0;
        let mut found = self.panels.last().copied().expect("panels exist");
        for q in &self.panels {
            if acc + q.mass >= target {
                found = *q;
                break;
            }
            acc += q.mass;
        }
        // Newton on the partial panel integral (its derivative is the
        // integrand), kept inside the panel by bisection.
        let rest = target - acc;
        let (mut lo, mut hi) = (found.a, found.b);
        let mut x = found.a + (found.b - found.a) * (rest / found.mass).clamp(0.0, 1.0);
        for _ in 0..100 {
            let f = self.gk(found.a, x).0 - rest;
            if f == 0.0 {
                break;
            }
            if f < 0.0 {
                lo = x;
            } else {
                hi = x;
            }
            let mut next = x - f / self.integrand(x);
            if !(next > lo && next < hi) {
                next = 0.5 * (lo + hi);
            }
            let done = (next - x).abs() <= 1e-15 || hi - lo <= 1e-15;
            x = next;
            if done {
                break;
            }
        }
        self.map(x).0.exp()
    }

    /// Posterior mean of τ.
    pub fn tau_mean(&self) -> f64 {
        self.nodes.iter().map(|n| n.w * n.tau).sum()
    }

    /// Posterior SD of τ.
    pub fn tau_sd(&self) -> f64 {
        let m = self.tau_mean();
        self.nodes
            .iter()
            .map(|n| n.w * (n.tau - m) * (n.tau - m))
            .sum::<f64>()
            .sqrt()
    }

    /// Marginal posterior of μ (a normal mixture over τ).
    pub fn mu(&self) -> Mixture {
        Mixture::new(
            self.nodes
                .iter()
                .map(|n| (n.w, n.mu, n.var.sqrt()))
                .collect(),
        )
    }

    /// Posterior predictive distribution of a new study's true effect θₖ₊₁.
    pub fn predictive(&self) -> Mixture {
        Mixture::new(
            self.nodes
                .iter()
                .map(|n| (n.w, n.mu, (n.var + n.tau * n.tau).sqrt()))
                .collect(),
        )
    }

    /// Posterior of study i's true effect θᵢ (0-based), the shrinkage estimate.
    pub fn theta(&self, i: usize) -> Mixture {
        let (y, v) = (self.yi[i], self.vi[i]);
        Mixture::new(
            self.nodes
                .iter()
                .map(|n| {
                    let t2 = n.tau * n.tau;
                    let b = v / (v + t2);
                    let m = (1.0 - b) * y + b * n.mu;
                    let var = v * t2 / (v + t2) + b * b * n.var;
                    (n.w, m, var.sqrt())
                })
                .collect(),
        )
    }

    /// Summary of τ's marginal posterior.
    pub fn tau_summary(&self) -> Marginal {
        let (lower, upper) = interval(
            |p| self.tau_quantile(p),
            self.opts.level,
            self.opts.interval,
            true,
        );
        Marginal {
            median: self.tau_quantile(0.5),
            mean: self.moment_exists(1).then(|| self.tau_mean()),
            sd: self.moment_exists(2).then(|| self.tau_sd()),
            lower,
            upper,
        }
    }

    /// Whether E[τᵐ | y] is finite. The posterior's tail is p(τ)·τ^(−c)
    /// (the likelihood falls as τ^(−(k − 1)), or τ^(−k) under a normal μ
    /// prior); with a prior tail τ^(−d) the moment exists iff m < c + d − 1,
    /// and for the log-t prior also at m = c (its extra (ln τ)^(−6) factor).
    /// The means and SDs of τ, μ and the prediction need m = 1 and m = 2.
    pub fn moment_exists(&self, m: u32) -> bool {
        let c = self.k() as i64
            - match self.opts.mu_prior {
                MuPrior::Uniform => 1,
                MuPrior::Normal { .. } => 0,
            };
        let m = i64::from(m);
        match self.opts.tau_prior {
            TauPrior::HalfNormal { .. } => true,
            TauPrior::HalfCauchy { .. } => m < c + 1,
            TauPrior::LogT { .. } => m <= c,
            TauPrior::Uniform => m < c - 1,
        }
    }

    fn moments(&self) -> [bool; 2] {
        [self.moment_exists(1), self.moment_exists(2)]
    }
}

/// A Bayesian random-effects fit: the posterior summaries the report prints.
#[derive(Debug, Clone, Serialize)]
pub struct BayesFit {
    /// Number of studies.
    pub k: usize,
    /// Prior for τ.
    pub tau_prior: TauPrior,
    /// Prior for μ.
    pub mu_prior: MuPrior,
    /// Credible level (fraction; written to JSON in percent, as `rma`'s).
    #[serde(serialize_with = "percent")]
    pub level: f64,
    /// Interval kind.
    pub interval: IntervalKind,
    /// Mean effect μ.
    pub mu: Marginal,
    /// Heterogeneity τ.
    pub tau: Marginal,
    /// Prediction for a new study's true effect θₖ₊₁.
    pub prediction: Marginal,
    /// P(μ > 0 | y).
    pub p_mu_positive: f64,
    /// The smallest worthwhile effect a.
    pub worthwhile: f64,
    /// P(μ > a | y).
    pub p_mu_worthwhile: f64,
    /// The posterior behind the summaries (for further queries).
    #[serde(skip)]
    pub posterior: Posterior,
}

fn percent<S: serde::Serializer>(level: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(100.0 * level)
}

/// One study's shrinkage estimate: its observed yᵢ and the posterior of θᵢ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shrunken {
    /// Observed effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// Posterior summary of the study's true effect θᵢ.
    pub theta: Marginal,
}

/// Bayesian random-effects meta-analysis (bayesmeta's `bayesmeta(y, sigma,
/// tau.prior, mu.prior)` summaries).
///
/// # Examples
///
/// ```
/// use spotmeta::model::bayes::{bayes, ValidBayesOptions};
/// let fit = bayes(&[0.3, 0.1], &[0.04, 0.05], &ValidBayesOptions::default()).unwrap();
/// assert!(fit.mu.lower < fit.mu.median && fit.mu.median < fit.mu.upper);
/// assert!(fit.p_mu_positive > fit.p_mu_worthwhile);
/// ```
pub fn bayes(yi: &[f64], vi: &[f64], opts: &ValidBayesOptions) -> Result<BayesFit> {
    let post = Posterior::new(yi, vi, opts)?;
    let mu = post.mu();
    let pred = post.predictive();
    Ok(BayesFit {
        k: yi.len(),
        tau_prior: opts.tau_prior,
        mu_prior: opts.mu_prior,
        level: opts.level,
        interval: opts.interval,
        mu: mu.summary(opts.level, opts.interval, post.moments()),
        tau: post.tau_summary(),
        prediction: pred.summary(opts.level, opts.interval, post.moments()),
        p_mu_positive: 1.0 - mu.cdf(0.0),
        worthwhile: opts.worthwhile,
        p_mu_worthwhile: 1.0 - mu.cdf(opts.worthwhile),
        posterior: post,
    })
}

impl BayesFit {
    /// The headline numbers in one row: μ median, lower, upper; τ median,
    /// lower, upper; prediction lower, upper; P(μ > 0); P(μ > a) (the order
    /// of `batch --bayes`' columns).
    pub fn row(&self) -> [f64; 10] {
        [
            self.mu.median,
            self.mu.lower,
            self.mu.upper,
            self.tau.median,
            self.tau.lower,
            self.tau.upper,
            self.prediction.lower,
            self.prediction.upper,
            self.p_mu_positive,
            self.p_mu_worthwhile,
        ]
    }

    /// The shrinkage estimates θᵢ | y of every study, in input order.
    pub fn shrinkage(&self) -> Vec<Shrunken> {
        let p = &self.posterior;
        (0..p.k())
            .map(|i| Shrunken {
                yi: p.yi[i],
                vi: p.vi[i],
                // θᵢ's conditional mean and variance stay bounded in τ.
                theta: p.theta(i).summary(self.level, self.interval, [true, true]),
            })
            .collect()
    }
}

/// The same fit under each prior of [`TauPrior::SENSITIVITY`] (the first is
/// `opts`' own prior when it is not among them).
pub fn sensitivity(yi: &[f64], vi: &[f64], opts: &ValidBayesOptions) -> Result<Vec<BayesFit>> {
    let mut priors = vec![opts.tau_prior];
    priors.extend(
        TauPrior::SENSITIVITY
            .iter()
            .filter(|p| **p != opts.tau_prior),
    );
    priors
        .into_iter()
        .map(|p| bayes(yi, vi, &opts.with_tau_prior(p)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed-form identity tolerance.
    const IDENTITY: f64 = 1e-10;

    #[test]
    fn priors_parse_and_refuse() {
        assert_eq!(
            "half-normal:0.5".parse::<TauPrior>().unwrap(),
            TauPrior::HalfNormal { scale: 0.5 }
        );
        assert_eq!("rhodes".parse::<TauPrior>().unwrap(), TauPrior::RHODES_SMD);
        for bad in [
            "half-normal:0",
            "half-normal:-1",
            "half-cauchy",
            "gamma:1",
            "log-t:1",
        ] {
            let e = bad.parse::<TauPrior>().unwrap_err().to_string();
            assert!(e.contains("--prior"), "{bad}: {e}");
        }
        assert!("normal:0".parse::<MuPrior>().is_err());
        assert!("normal:0:0".parse::<MuPrior>().is_err());
    }

    #[test]
    fn tau_density_integrates_to_one_and_cdf_inverts() {
        let post = Posterior::new(
            &[0.3, 0.1, 0.5, -0.1],
            &[0.04, 0.05, 0.1, 0.02],
            &ValidBayesOptions::default(),
        )
        .unwrap();
        for p in [0.025, 0.5, 0.975] {
            let t = post.tau_quantile(p);
            assert!(
                (post.tau_cdf(t) - p).abs() < IDENTITY,
                "p = {p}: {} x {}",
                post.tau_cdf(t),
                post.unmap(t.ln())
            );
        }
        let w: f64 = post.nodes.iter().map(|n| n.w).sum();
        assert!((w - 1.0).abs() < IDENTITY);
    }
}
