//! Three-level meta-analysis (metafor `rma.mv(yi, vi, random = ~ 1 |
//! cluster/id)`; Konstantopoulos 2011, *Research Synthesis Methods* 2:61–76):
//! yᵢⱼ = xᵢⱼᵀβ + uᵢ + wᵢⱼ + eᵢⱼ with Var(uᵢ) = σ²₁ (between clusters, e.g.
//! studies), Var(wᵢⱼ) = σ²₂ (between outcomes within a cluster) and
//! Var(eᵢⱼ) = vᵢⱼ. The marginal covariance V is block-diagonal by cluster.
//!
//! (σ²₁, σ²₂) maximise the restricted likelihood
//! −½[log|V| + log|XᵀV⁻¹X| + rᵀV⁻¹r] (or, with `--method ML`, the likelihood
//! −½[log|V| + rᵀV⁻¹r]), by Fisher scoring (score ½[yᵀPZₛPy − tr(MZₛ)],
//! information ½ tr(MZₛMZₜ) with M = P for REML and V⁻¹ for ML, Z₁ = block J,
//! Z₂ = I) with an active set at the boundary 0 and step halving whenever the
//! likelihood would drop, started from a grid of points (the best end point
//! wins; distinct local maxima are noted). Profile-likelihood CIs solve 2(ℓ̂ − ℓₚ(σ²ₛ)) = χ²₁;₁₋α for each
//! component by Brent's method, maximising over the other at every step.
//! I² is split by level as in metafor's FAQ: 100·σ²ₗ/(σ²₁ + σ²₂ + s²) with the
//! typical within-study variance s² = (k − p)/tr P (inverse-variance weights).

use super::linalg::{Mat, spd_inverse};
use super::mods::Design;
use super::options::{Method, TestKind, ValidRmaOptions};
use super::roots::brent;
use crate::dist;
use crate::error::{Error, Result};
use serde::Serialize;

/// Cluster membership of each row (clusters numbered in order of first appearance).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clusters {
    /// Cluster labels, in order of first appearance.
    pub labels: Vec<String>,
    /// Rows of each cluster.
    pub rows: Vec<Vec<usize>>,
}

impl Clusters {
    /// Group rows by their label.
    pub fn from_labels(labels: &[String]) -> Clusters {
        let mut names: Vec<String> = Vec::new();
        let mut rows: Vec<Vec<usize>> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            match names.iter().position(|n| n == l) {
                Some(c) => rows[c].push(i),
                None => {
                    names.push(l.clone());
                    rows.push(vec![i]);
                }
            }
        }
        Clusters {
            labels: names,
            rows,
        }
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no clusters.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A fitted three-level model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultilevelFit {
    /// Rows (effect sizes).
    pub k: usize,
    /// Clusters.
    pub clusters: usize,
    /// Coefficient names.
    pub names: Vec<String>,
    /// REML or ML.
    pub method: Method,
    /// z, or `knha` for metafor's rma.mv `test = "t"` (t with k − p df).
    pub test: TestKind,
    /// Degrees of freedom of the t tests (None for z).
    #[serde(rename = "ddf")]
    pub df: Option<usize>,
    /// [between clusters, within clusters].
    pub sigma2: [f64; 2],
    /// Profile-likelihood CIs for the two components (None where the search failed).
    pub sigma2_ci: [Option<(f64, f64)>; 2],
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Model-based SEs.
    pub se: Vec<f64>,
    /// z (or t) statistics.
    pub zval: Vec<f64>,
    /// p-values.
    pub pval: Vec<f64>,
    /// CI lower bounds.
    pub ci_lb: Vec<f64>,
    /// CI upper bounds.
    pub ci_ub: Vec<f64>,
    /// Q test for heterogeneity (inverse-variance weights).
    #[serde(rename = "QE")]
    pub qe: f64,
    /// Its p-value.
    #[serde(rename = "QEp")]
    pub qe_pval: f64,
    /// (Restricted) log-likelihood (with metafor's constants).
    pub loglik: f64,
    /// I² (%): [total, between clusters, within clusters].
    #[serde(rename = "I2")]
    pub i2: [f64; 3],
    /// Fisher-scoring iterations (of the ascent that reached the maximum).
    pub iterations: u32,
    /// Confidence level.
    #[serde(serialize_with = "crate::model::serialize_level_percent")]
    pub level: f64,
    /// Variance–covariance of β (row-major p × p).
    pub vb: Vec<f64>,
    /// What the reader should know (e.g. several local maxima, with values).
    pub notes: Vec<String>,
}

struct Eval {
    ll: f64,
    p: Mat,
    vinv: Mat,
    beta: Vec<f64>,
    a: Mat,
}

/// V for (σ²₁, σ²₂).
fn marginal_v(vi: &[f64], cl: &Clusters, s: [f64; 2]) -> Mat {
    let k = vi.len();
    let mut v = Mat::zeros(k, k);
    for rows in &cl.rows {
        for &i in rows {
            for &j in rows {
                v.set(i, j, s[0] + if i == j { s[1] + vi[i] } else { 0.0 });
            }
        }
    }
    v
}

/// V⁻¹ block by block.
fn inverse_v(vi: &[f64], cl: &Clusters, s: [f64; 2]) -> Option<(Mat, f64)> {
    let k = vi.len();
    let mut inv = Mat::zeros(k, k);
    let mut logdet = 0.0;
    for rows in &cl.rows {
        let n = rows.len();
        let mut b = Mat::zeros(n, n);
        for a in 0..n {
            for c in 0..n {
                b.set(a, c, s[0] + if a == c { s[1] + vi[rows[a]] } else { 0.0 });
            }
        }
        let u = super::linalg::chol_upper(&b)?;
        logdet += 2.0 * (0..n).map(|i| u.at(i, i).ln()).sum::<f64>();
        let bi = spd_inverse(&b)?;
        for a in 0..n {
            for c in 0..n {
                inv.set(rows[a], rows[c], bi.at(a, c));
            }
        }
    }
    Some((inv, logdet))
}

/// Forest-plot weights in percent (metafor `weights()` for `rma.mv`, type
/// "diagonal"): the diagonal of V⁻¹ at the fitted (σ²₁, σ²₂), normalised to
/// sum to 100. `None` when V is not positive definite.
pub fn weights_percent(vi: &[f64], cl: &Clusters, sigma2: [f64; 2]) -> Option<Vec<f64>> {
    let (vinv, _) = inverse_v(vi, cl, sigma2)?;
    let w: Vec<f64> = (0..vi.len()).map(|i| vinv.at(i, i)).collect();
    let total: f64 = w.iter().sum();
    Some(w.iter().map(|x| 100.0 * x / total).collect())
}

fn design_mat(x: &Design) -> Mat {
    Mat::from_rows(x.k, x.p, x.x.clone())
}

/// The (restricted) log-likelihood and what the scoring step needs at
/// (σ²₁, σ²₂); `reml` picks REML over ML.
fn evaluate(
    yi: &[f64],
    vi: &[f64],
    x: &Mat,
    cl: &Clusters,
    s: [f64; 2],
    reml: bool,
) -> Option<Eval> {
    let (vinv, logdet) = inverse_v(vi, cl, s)?;
    let xt = x.t();
    let xtv = xt.mul(&vinv);
    let xtvx = xtv.mul(x);
    let a = spd_inverse(&xtvx)?;
    let u = super::linalg::chol_upper(&xtvx)?;
    let logdet_x = 2.0 * (0..x.c).map(|i| u.at(i, i).ln()).sum::<f64>();
    let beta = a.mul_vec(&xtv.mul_vec(yi));
    let p = vinv.sub(&xtv.t().mul(&a).mul(&xtv));
    let py = p.mul_vec(yi);
    let rss: f64 = yi.iter().zip(&py).map(|(y, q)| y * q).sum();
    let ll = if reml {
        let n = (x.r - x.c) as f64;
        // metafor's full REML likelihood also carries +½ log|XᵀX| (REMLf = TRUE).
        let xtx_u = super::linalg::chol_upper(&xt.mul(x))?;
        let logdet_xtx = 2.0 * (0..x.c).map(|i| xtx_u.at(i, i).ln()).sum::<f64>();
        -0.5 * n * (2.0 * std::f64::consts::PI).ln() + 0.5 * logdet_xtx
            - 0.5 * (logdet + logdet_x + rss)
    } else {
        -0.5 * x.r as f64 * (2.0 * std::f64::consts::PI).ln() - 0.5 * (logdet + rss)
    };
    ll.is_finite().then_some(Eval {
        ll,
        p,
        vinv,
        beta,
        a,
    })
}

/// Score and Fisher information for the two components: `py` = P y and
/// `p` = P for REML, V⁻¹ for ML (the traces differ, P y does not).
fn score_info(py: &[f64], cl: &Clusters, p: &Mat) -> ([f64; 2], [[f64; 2]; 2]) {
    let k = p.r;
    // Z₁ = block J: (P Z₁)_{ij} = Σ_{l in cluster(j)} P_{il}.
    let mut pz1 = Mat::zeros(k, k);
    for rows in &cl.rows {
        for i in 0..k {
            let s: f64 = rows.iter().map(|&l| p.at(i, l)).sum();
            for &j in rows {
                pz1.set(i, j, s);
            }
        }
    }
    let z1py: Vec<f64> = {
        let mut v = vec![0.0; k];
        for rows in &cl.rows {
            let s: f64 = rows.iter().map(|&l| py[l]).sum();
            for &j in rows {
                v[j] = s;
            }
        }
        v
    };
    let s1 = 0.5 * (py.iter().zip(&z1py).map(|(a, b)| a * b).sum::<f64>() - pz1.trace());
    let s2 = 0.5 * (py.iter().map(|a| a * a).sum::<f64>() - p.trace());
    let tr = |a: &Mat, b: &Mat| -> f64 {
        (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| a.at(i, j) * b.at(j, i))
            .sum()
    };
    let i11 = 0.5 * tr(&pz1, &pz1);
    let i12 = 0.5 * tr(&pz1, p);
    let i22 = 0.5 * tr(p, p);
    ([s1, s2], [[i11, i12], [i12, i22]])
}

/// One local ascent of the (restricted) likelihood from `start`: the
/// components, the evaluation there, the iterations and whether the step
/// criterion was met.
struct Ascent {
    s: [f64; 2],
    e: Eval,
    iterations: u32,
    converged: bool,
}

/// Maximise the (restricted) likelihood from `start`; `fixed[s]` pins a component.
#[allow(clippy::too_many_arguments)]
fn maximise(
    yi: &[f64],
    vi: &[f64],
    x: &Mat,
    cl: &Clusters,
    start: [f64; 2],
    fixed: [Option<f64>; 2],
    reml: bool,
    opts: &ValidRmaOptions,
) -> Result<Ascent> {
    let fail = || Error::Numerical {
        what: "estimation of the three-level model".into(),
        message: "the marginal covariance became singular; check for zero sampling variances"
            .into(),
    };
    let mut s = [fixed[0].unwrap_or(start[0]), fixed[1].unwrap_or(start[1])];
    let mut e = evaluate(yi, vi, x, cl, s, reml).ok_or_else(fail)?;
    let mut it = 0;
    while it < opts.maxiter {
        it += 1;
        let py = e.p.mul_vec(yi);
        let (g, info) = score_info(&py, cl, if reml { &e.p } else { &e.vinv });
        // Active set: fixed components and those at 0 with a non-positive score.
        let free: Vec<usize> = (0..2)
            .filter(|&c| fixed[c].is_none() && !(s[c] <= 0.0 && g[c] <= 0.0))
            .collect();
        if free.is_empty() {
            return Ok(Ascent {
                s,
                e,
                iterations: it,
                converged: true,
            });
        }
        let mut step = [0.0; 2];
        if free.len() == 2 {
            let det = info[0][0] * info[1][1] - info[0][1] * info[1][0];
            if det.abs() > 0.0 && det.is_finite() {
                step[0] = (info[1][1] * g[0] - info[0][1] * g[1]) / det;
                step[1] = (info[0][0] * g[1] - info[1][0] * g[0]) / det;
            }
        } else {
            let c = free[0];
            step[c] = g[c] / info[c][c];
        }
        let mut factor = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            let cand = [
                (s[0] + factor * step[0]).max(0.0),
                (s[1] + factor * step[1]).max(0.0),
            ];
            if let Some(ne) = evaluate(yi, vi, x, cl, cand, reml)
                && ne.ll >= e.ll - 1e-12 * e.ll.abs()
            {
                let change = (cand[0] - s[0]).abs().max((cand[1] - s[1]).abs());
                s = cand;
                e = ne;
                accepted = true;
                if change <= opts.threshold * s[0].max(s[1]).max(1.0) {
                    return Ok(Ascent {
                        s,
                        e,
                        iterations: it,
                        converged: true,
                    });
                }
                break;
            }
            factor /= 2.0;
        }
        if !accepted {
            break;
        }
    }
    Ok(Ascent {
        s,
        e,
        iterations: it,
        converged: false,
    })
}

/// Fit the three-level model with moderators `x` (intercept first):
/// REML (default) or ML as `--method`, z tests or, for `--test knha`,
/// metafor's `rma.mv(test = "t")` (t with k − p df, no rescaling). Other
/// methods and `adhoc` are refused: rma.mv has no equivalent.
///
/// The fit runs on a standardised scale (vᵢ divided by a power of 4 near
/// their geometric mean, yᵢ centred on their median when the design has an
/// intercept), so σ², β and their CIs are equivariant under yᵢ → c·yᵢ + a,
/// vᵢ → c²·vᵢ. The likelihood is climbed from every point of the grid
/// {0, 0.1, 1, 10}² (in units of the typical vᵢ, so both boundaries are
/// included) and from the univariate τ² split evenly; the best end point is
/// the estimate, and distinct local maxima are listed in `notes`.
pub fn rma_multilevel(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    cl: &Clusters,
    opts: &ValidRmaOptions,
) -> Result<MultilevelFit> {
    let k = yi.len();
    if k <= x.p || cl.len() < 2 {
        return Err(Error::Unsupported(format!(
            "a three-level model needs at least 2 clusters and more rows than coefficients (k = {k}, {} clusters)",
            cl.len()
        )));
    }
    let reml = match opts.method() {
        Method::REML => true,
        Method::ML => false,
        m => {
            return Err(Error::option(
                "--method",
                format!(
                    "the three-level model (--multilevel) is fitted by REML or ML only, as metafor's rma.mv; got {m}: use --method REML (the default) or --method ML"
                ),
            ));
        }
    };
    let t_test = match opts.test() {
        TestKind::Z => false,
        TestKind::Knha => true,
        TestKind::Adhoc => {
            return Err(Error::option(
                "--test",
                "the three-level model (--multilevel) has no ad hoc Knapp-Hartung test (metafor's rma.mv offers z or t); use --test z or --test knha (t tests with k - p df)",
            ));
        }
    };
    if let Some(i) = (0..k).find(|&i| !(yi[i].is_finite() && vi[i].is_finite() && vi[i] > 0.0)) {
        return Err(Error::Unsupported(format!(
            "row {} of the three-level model has yi = {} and vi = {}; every yi must be finite and every vi finite and > 0",
            i + 1,
            yi[i],
            vi[i]
        )));
    }
    // Standardise: v/r², (y − centre)/r with r a power of 2.
    let mean_ln = vi.iter().map(|v| v.ln()).sum::<f64>() / k as f64;
    let root = 2f64.powi((mean_ln / 4f64.ln()).round().clamp(-500.0, 500.0) as i32);
    let scale = root * root;
    let intercept = (0..k).all(|i| x.x[i * x.p] == 1.0);
    let centre = if intercept {
        let mut sorted = yi.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[k / 2]
    } else {
        0.0
    };
    let ys: Vec<f64> = yi.iter().map(|y| (y - centre) / root).collect();
    let vs: Vec<f64> = vi.iter().map(|v| v / scale).collect();
    let (yi, vi) = (&ys[..], &vs[..]);
    let xm = design_mat(x);
    // Starts: the univariate τ² split evenly, then a grid including both boundaries.
    let tau2 = super::rma(
        yi,
        vi,
        &opts.with_method(Method::REML).with_test(TestKind::Z),
    )
    .map(|f| f.tau2)
    .unwrap_or(0.0)
    .max(0.01);
    let grid = [0.0, 0.1, 1.0, 10.0];
    let starts = std::iter::once([tau2 / 2.0, tau2 / 2.0])
        .chain(grid.iter().flat_map(|&a| grid.iter().map(move |&b| [a, b])));
    let mut ends: Vec<Ascent> = Vec::new();
    let mut first_err = None;
    for start in starts {
        match maximise(yi, vi, &xm, cl, start, [None, None], reml, opts) {
            Ok(a) => ends.push(a),
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    let best_at = (0..ends.len())
        .max_by(|&a, &b| ends[a].e.ll.total_cmp(&ends[b].e.ll))
        .ok_or_else(|| first_err.unwrap_or_else(|| Error::Unsupported("no start".into())))?;
    let best = ends.swap_remove(best_at);
    let mut notes = Vec::new();
    // Distinct converged local maxima (a ridge of equal likelihood is one).
    let mut maxima: Vec<([f64; 2], f64)> = vec![(best.s, best.e.ll)];
    for a in ends.iter().filter(|a| a.converged) {
        let far = maxima.iter().all(|(s, ll)| {
            (ll - a.e.ll).abs() > 1e-7 * (1.0 + ll.abs())
                && ((s[0] - a.s[0]).abs() > 1e-4 * (1.0 + s[0])
                    || (s[1] - a.s[1]).abs() > 1e-4 * (1.0 + s[1]))
        });
        if far {
            maxima.push((a.s, a.e.ll));
        }
    }
    let n_ll = if reml { (k - x.p) as f64 } else { k as f64 };
    let ll_shift = -0.5 * n_ll * scale.ln();
    if maxima.len() > 1 {
        let list: Vec<String> = maxima
            .iter()
            .map(|(s, ll)| {
                format!(
                    "sigma^2 = ({:.6}, {:.6}) (logLik = {:.6})",
                    s[0] * scale,
                    s[1] * scale,
                    ll + ll_shift
                )
            })
            .collect();
        notes.push(format!(
            "the {} has {} local maxima: {}; the global one (the first) is reported",
            if reml {
                "restricted likelihood"
            } else {
                "likelihood"
            },
            maxima.len(),
            list.join(", ")
        ));
    }
    let Ascent {
        s,
        e,
        iterations,
        converged: _,
    } = best;
    let p = x.p;
    let df = k - p;
    let se: Vec<f64> = (0..p).map(|j| e.a.at(j, j).sqrt()).collect();
    let crit = if t_test {
        dist::qt_crit(opts.level(), df)
    } else {
        dist::qnorm(1.0 - (1.0 - opts.level()) / 2.0)
    };
    // Heterogeneity with inverse-variance weights.
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
    let wm = Mat::from_rows(
        k,
        k,
        (0..k * k)
            .map(|i| if i / k == i % k { w[i / k] } else { 0.0 })
            .collect(),
    );
    let xtw = xm.t().mul(&wm);
    let a = spd_inverse(&xtw.mul(&xm))
        .ok_or_else(|| Error::Unsupported("moderators are collinear".into()))?;
    let pfe = wm.sub(&xtw.t().mul(&a).mul(&xtw));
    let qe = pfe
        .mul_vec(yi)
        .iter()
        .zip(yi)
        .map(|(a, b)| a * b)
        .sum::<f64>()
        .max(0.0);
    let s2 = df as f64 / pfe.trace();
    let tot = s[0] + s[1];
    let i2 = [
        100.0 * tot / (tot + s2),
        100.0 * s[0] / (tot + s2),
        100.0 * s[1] / (tot + s2),
    ];
    let ci = [
        profile_ci(yi, vi, &xm, cl, 0, s, e.ll, reml, opts),
        profile_ci(yi, vi, &xm, cl, 1, s, e.ll, reml, opts),
    ];
    let back = |j: usize, b: f64| b * root + if j == 0 && intercept { centre } else { 0.0 };
    let beta: Vec<f64> = (0..p).map(|j| back(j, e.beta[j])).collect();
    let se: Vec<f64> = se.iter().map(|v| v * root).collect();
    // Centring moved the intercept: every test is done on the data's scale.
    let zval: Vec<f64> = (0..p).map(|j| beta[j] / se[j]).collect();
    let pval: Vec<f64> = zval
        .iter()
        .map(|z| {
            if t_test {
                dist::pt_two_sided(*z, df as f64)
            } else {
                dist::pnorm_two_sided(*z)
            }
        })
        .collect();
    Ok(MultilevelFit {
        k,
        clusters: cl.len(),
        names: x.names.clone(),
        method: opts.method(),
        test: if t_test { TestKind::Knha } else { TestKind::Z },
        df: t_test.then_some(df),
        sigma2: [s[0] * scale, s[1] * scale],
        sigma2_ci: ci.map(|c| c.map(|(a, b)| (a * scale, b * scale))),
        ci_lb: (0..p).map(|j| beta[j] - crit * se[j]).collect(),
        ci_ub: (0..p).map(|j| beta[j] + crit * se[j]).collect(),
        pval,
        beta,
        se,
        zval,
        qe,
        qe_pval: dist::pchisq_upper(qe, df as f64),
        loglik: e.ll + ll_shift,
        i2,
        iterations,
        level: opts.level(),
        vb: e.a.d.iter().map(|v| v * scale).collect(),
        notes,
    })
}

#[allow(clippy::too_many_arguments)]
fn profile_ci(
    yi: &[f64],
    vi: &[f64],
    x: &Mat,
    cl: &Clusters,
    comp: usize,
    s: [f64; 2],
    ll_max: f64,
    reml: bool,
    opts: &ValidRmaOptions,
) -> Option<(f64, f64)> {
    let crit = dist::qchisq(opts.level(), 1.0);
    let dev = |t: f64| -> f64 {
        let mut fixed = [None, None];
        fixed[comp] = Some(t);
        match maximise(yi, vi, x, cl, s, fixed, reml, opts) {
            Ok(a) => 2.0 * (ll_max - a.e.ll) - crit,
            Err(_) => f64::NAN,
        }
    };
    let tol = 1e-10;
    let lb = if s[comp] <= 0.0 || dev(0.0) <= 0.0 {
        0.0
    } else {
        brent(dev, 0.0, s[comp], tol, 500)?.0
    };
    let mut hi = s[comp].max(1e-3) * 2.0;
    let mut tries = 0;
    while dev(hi) < 0.0 {
        hi *= 2.0;
        tries += 1;
        if tries > 60 {
            return None;
        }
    }
    let ub = brent(dev, s[comp], hi, tol, 500)?.0;
    Some((lb, ub))
}

/// The marginal covariance of the fit (for cluster-robust inference).
pub(crate) fn fitted_v(vi: &[f64], cl: &Clusters, fit: &MultilevelFit) -> Mat {
    marginal_v(vi, cl, fit.sigma2)
}
