//! Certifying that an ML or REML estimate is the *global* maximum of the
//! (restricted) log-likelihood over τ² ∈ [0, ∞) (issue #14).
//!
//! Fisher scoring finds a local maximum τ̂ with value ℓ*. This module proves
//! that no τ² does better than ℓ* + δ (δ = [`DELTA`]) by branch and bound over
//! cells [a, b] of a geometric grid, or finds the better maximum and returns
//! it. Write the objective (constants dropped) as ℓ = A + B + C with
//!
//! * A(τ²) = −½ Σ ln(vᵢ + τ²)   (decreasing),
//! * B(τ²) = −½ RSS(τ²), RSS(τ²) = min_μ Σ (yᵢ − μ)²/(vᵢ + τ²)   (increasing),
//! * C(τ²) = −½ ln Σ wᵢ(τ²), wᵢ = 1/(vᵢ + τ²), for REML only   (increasing).
//!
//! (yᵢ − μ)²/(vᵢ + τ²) is jointly convex in (μ, τ²) (quadratic over linear),
//! and minimising over μ keeps convexity, so **RSS is convex** in τ². With
//! S = Σw, S₂ = Σw², S₃ = Σw³ and R₂ = Σw²(y − μ̂)² = −RSS′ (decreasing,
//! because RSS is convex), a cell [a, b] is settled by one of three rules:
//!
//! 1. **Value bound.** Each piece is monotone, so on [a, b]
//!    ℓ ≤ A(a) + B(b) + C(b). Two sharper bounds use the exact ℓ(a), ℓ(b)
//!    and the score and curvature bounds of rules 2 and 3 (w = b − a,
//!    x⁺ = max(x, 0)): first order, ℓ ≤ min(ℓ(a) + (U/2)⁺ w, ℓ(b) + (−L/2)⁺ w)
//!    with U, L the bounds on 2ℓ′ of rule 2; second order (Taylor with
//!    Lagrange remainder from either end),
//!    ℓ ≤ min(ℓ(a) + ℓ′(a)⁺ w, ℓ(b) + (−ℓ′(b))⁺ w) + ½ H w², with H ≥ 0 the
//!    bound on ℓ″ of rule 3 (only reached when H ≥ 0). If the smallest bound
//!    is below ℓ* + δ, no point of the cell beats ℓ*. The second-order bound
//!    settles the cells next to a maximum (where ℓ′ ≈ 0) once ½ H w² < δ.
//! 2. **Monotone cell.** 2ℓ′ = R₂ − S [+ S₂/S for REML]. On [a, b],
//!    2ℓ′ ≤ R₂(a) − S(b) [+ S₂(a)/S(b)] and 2ℓ′ ≥ R₂(b) − S(a) [+ S₂(b)/S(a)].
//!    If the upper bound is < 0 (or the lower > 0) the maximum over the cell
//!    is an end point, which belongs to a neighbouring cell's analysis.
//! 3. **Concave cell.** ℓ″ = A″ + B″ + C″ with A″ = ½S₂ ≤ ½S₂(a);
//!    B″ = −yᵀP³y, and since x = Py = w∘(y − μ̂) sums to 0,
//!    yᵀP³y = xᵀPx = Σw(x − x̄_w)² ≥ w_min Σx² = w_min R₂, so
//!    B″ ≤ −w_min(b) R₂(b) with w_min(b) = 1/(v_max + b); and for REML
//!    C″ = ½[S₂² − 2S₃S]/S² ≤ −½ S₃/S (Cauchy–Schwarz: S₂² ≤ S₃S) ≤ −½S₃(b)/S(a).
//!    A tighter bound, used when smaller: with P the projection matrix,
//!    dP/dτ² = −P², so d(yᵀPⁿy)/dτ² = −n yᵀPⁿ⁺¹y ≤ 0 and
//!    d tr(P²)/dτ² = −2 tr(P³) ≤ 0: yᵀP³y and tr(P²) decrease. Hence
//!    B″ ≤ −yᵀP³y(b), and A″ + C″ = ½ tr(P²) ≤ ½ tr(P²)(a) for REML
//!    (A″ ≤ ½S₂(a) for ML); a margin of 16 k ε times the magnitude of the
//!    terms covers the cancellation in these differences. This bound tends
//!    to the exact ℓ″ as the cell shrinks, so cells near a maximum with
//!    ℓ″ < 0 are settled here.
//!    If the sum is < 0, ℓ is strictly concave on the cell, so it has at most
//!    one local maximum there: an end point, or (when the score changes sign)
//!    an interior point, found by Brent's method on the score and compared.
//!
//! Any cell whose score goes from + to − holds a local maximum; if none is
//! recorded there it is found by Brent's method on the score and recorded.
//! The cell around a recorded maximum can never be settled by a value bound
//! (it contains the maximum); rule 3 settles it once it is narrow enough,
//! since its curvature bound tends to the exact ℓ″ < 0 there. (An earlier
//! version accepted that cell on the exact curvature at its two ends, a
//! second-order argument rather than a bound; it is no longer needed.)
//! Unsettled cells are split
//! (geometric midpoint; arithmetic for [0, b]) down to [`MAX_DEPTH`] levels
//! and within a budget of [`MAX_EVALUATIONS`] passes; a cell still unsettled
//! then is accepted (the search is exhaustive only within that budget).
//! The tail [T, ∞) needs no cells: for ML ℓ ≤ −½ k ln(v_min + T), and for
//! REML, using Σw ≥ k/(v_max + τ²) and
//! Σ ln(vᵢ + τ²) ≥ (k − 1) ln(v_min + τ²) + ln(v_max + τ²),
//! ℓ ≤ −½ (k − 1) ln(v_min + T) − ½ ln k (k ≥ 2); T is chosen so the bound is
//! below ℓ* − δ. The boundary τ² = 0 is always compared.
//!
//! **Cost.** Certification needs one to two dozen O(k) passes on ordinary
//! data (REML, bench data, k = 3–12: 20–24 passes with Fisher scoring;
//! more where ℓ″ ≈ 0 at a maximum, up to the budget). That
//! is done for k ≤ [`CERTIFY_MAX_K`], where several maxima are common (issue
//! #14's examples have k = 3–6). Larger k take the *scan*: the score at
//! points from v_min/64 to T at most a factor 4 apart, every + to − sign
//! change not holding τ̂ refined by Brent and compared. The scan misses a
//! maximum only if two maxima share a factor-4 cell.
//!
//! **Proven-monotone jumps (scan).** The scan skips stretches where the
//! score provably keeps its sign, using only the sums at the point `a`
//! reached (T(τ²) = tr P for REML, S for ML, so 2ℓ′ = R₂ − T). For τ² ≥ a
//! every weight satisfies wᵢ(τ²) = wᵢ(a)(vᵢ + a)/(vᵢ + τ²) ≥ κ wᵢ(a) with
//! κ = (v_min + a)/(v_min + τ²), and wᵢ(τ²) ≤ wᵢ(a). Then
//!
//! * R₂(τ²) = Σwᵢ²(yᵢ − μ̂)² ≥ κ² min_μ Σwᵢ(a)²(yᵢ − μ)² = κ² R̃₂(a), with
//!   R̃₂ = Σw²(y − μ̂)² − (Σw²(y − μ̂))²/S₂, and T decreases (dT/dτ² = −tr P²
//!   for REML, −S₂ for ML), so 2ℓ′ ≥ κ² R̃₂(a) − T(a): the score stays
//!   positive while κ² > T(a)/R̃₂(a);
//! * T is homogeneous of degree 1 in the weights and increasing in each
//!   (∂ tr P/∂wⱼ = [(S − wⱼ)² + S₂ − wⱼ²]/S² > 0), so T(τ²) ≥ κ T(a), and
//!   R₂ decreases (R₂ = −RSS′, RSS convex), so 2ℓ′ ≤ R₂(a) − κ T(a): the
//!   score stays negative while κ > R₂(a)/T(a);
//! * for good: R₂ ≤ w_max RSS with w_max = 1/(v_min + τ²), RSS decreases,
//!   and T(τ²) ≥ n/(v_max + τ²) (n = k for ML; n = k − 1 for REML, as
//!   (v_max + τ²) tr P is increasing in each (v_max + τ²)wᵢ ≥ 1 and equals
//!   k − 1 when all are 1), so 2ℓ′ ≤ RSS(a)/(v_min + τ²) − n/(v_max + τ²) < 0
//!   for every τ² ≥ a once RSS(a) ≤ n and RSS(a)(v_max + a) < n(v_min + a).
//!
//! A margin of 16 k ε on each sum covers rounding. The first jump starts
//! from the sums at τ² = 0 that the fit has anyway; on data with clear
//! heterogeneity it covers the low half of the old grid, and the last
//! condition ends the scan well before T, so the scan is a proof on the
//! stretches it skips and samples only the rest.
//!
//! **Points already known (scan).** Fisher scoring has the sums at τ̂ and
//! at each of its iterates. When one of them lies in [t/4, t] beyond the
//! last grid point, the scan takes the largest such as its next point
//! instead of evaluating the sums at t: consecutive points stay at most a
//! factor 4 apart (or inside a proven jump), which is all the scan asks of
//! its grid. And since a cell is searched only when the score at its left
//! end is positive, the scan stops without a point beyond T once the score
//! at the last point is ≤ 0. Both keep the grid rule of the scan; on the
//! bench data (k = 20) the second saves the last of its 6 evaluations.
//!
//! The search runs on standardised data (v_min in [1, 4), see
//! [`crate::model`]), so the grid, the tolerance and T are scale-free.

use crate::model::roots::brent;
use crate::model::sums::Sums;

/// Tolerance on the log-likelihood: a point is "better" only if it beats ℓ*
/// by more than this (standardised scale, log-likelihood units).
pub(crate) const DELTA: f64 = 1e-10;
/// Cell splits allowed below an initial grid cell.
const MAX_DEPTH: u32 = 24;
/// Sums evaluations allowed per search (a cap on pathological inputs; the
/// BCG subsets need at most a few dozen).
const MAX_EVALUATIONS: u32 = 600;
/// First positive grid point, relative to v_min.
const FIRST: f64 = 1.0 / 64.0;
/// Ratio of the initial geometric grid (branch and bound).
const RATIO: f64 = 16.0;
/// Ratio of the grid in scan mode.
const SCAN_RATIO: f64 = 4.0;
/// Largest k certified by branch and bound; larger k use the scan.
pub(crate) const CERTIFY_MAX_K: usize = 12;

/// Σ ln(vᵢ + τ²) without one logarithm per study: the mantissas are
/// multiplied (renormalised every few terms) and the binary exponents added.
pub(crate) fn logdet(vi: &[f64], tau2: f64) -> f64 {
    let mut m = 1.0f64;
    let mut e: i64 = 0;
    for (i, v) in vi.iter().enumerate() {
        let (mi, ei) = frexp(v + tau2);
        m *= mi;
        e += ei;
        if i % 8 == 7 {
            let (mm, em) = frexp(m);
            m = mm;
            e += em;
        }
    }
    m.ln() + e as f64 * std::f64::consts::LN_2
}

/// x = m · 2^e with m in [1, 2), for positive finite normal x (subnormal
/// or non-finite x fall back on the logarithm itself).
#[inline(always)]
fn frexp(x: f64) -> (f64, i64) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    if exp == 0 || exp == 0x7ff {
        // Rare: keep the value, no exponent split (ln handles it).
        return (x, 0);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    (m, exp - 1023)
}

/// The objective from the log-determinant and the sums at τ².
#[inline]
pub(crate) fn loglik_of(logdet: f64, s: &Sums, reml: bool) -> f64 {
    let mut ll = -0.5 * logdet - 0.5 * s.rss;
    if reml {
        ll -= 0.5 * s.sw.ln();
    }
    ll
}

/// Twice the score dℓ/dτ² from the sums at τ².
#[inline]
pub(crate) fn score2(s: &Sums, reml: bool) -> f64 {
    let mut g = s.rss2 - s.sw;
    if reml {
        g += s.sw2 / s.sw;
    }
    g
}

/// A local maximum: τ², the objective there and the sums at it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Maximum {
    pub tau2: f64,
    pub ll: f64,
    pub sums: Sums,
}

/// What the search found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// The global maximum.
    pub best: Maximum,
    /// Distinct local maxima seen (τ², ℓ), the global one included.
    pub maxima: [Option<(f64, f64)>; 4],
    /// Sums evaluated by the search.
    pub evaluations: u32,
}

struct Search<'a> {
    yi: &'a [f64],
    vi: &'a [f64],
    reml: bool,
    vmax: f64,
    best: Maximum,
    maxima: [Option<(f64, f64)>; 4],
    evaluations: u32,
}

/// A τ² and the sums there.
#[derive(Clone, Copy)]
pub(crate) struct Point {
    pub t: f64,
    pub s: Sums,
}

impl Search<'_> {
    fn eval(&mut self, t: f64) -> Point {
        self.evaluations += 1;
        Point {
            t,
            s: Sums::near(self.yi, self.vi, t, self.best.sums.mu),
        }
    }

    fn ll(&self, p: &Point) -> f64 {
        loglik_of(logdet(self.vi, p.t), &p.s, self.reml)
    }

    /// Record a local maximum (merging one already seen at nearly the same τ²).
    fn record(&mut self, m: Maximum) {
        let near = |t: f64| (t - m.tau2).abs() <= 1e-6 * (t.max(m.tau2) + 1.0);
        if !self.maxima.iter().flatten().any(|&(t, _)| near(t))
            && let Some(slot) = self.maxima.iter_mut().find(|s| s.is_none())
        {
            *slot = Some((m.tau2, m.ll));
        }
        if m.ll > self.best.ll {
            self.best = m;
        }
    }

    /// Whether a recorded maximum lies in [lo, hi].
    fn known(&self, lo: f64, hi: f64) -> bool {
        self.maxima
            .iter()
            .flatten()
            .any(|&(t, _)| t >= lo && t <= hi)
    }

    /// Scan mode: a cell whose score goes from + to − holds a local
    /// maximum; if none is recorded there, find it.
    fn scan_cell(&mut self, a: &Point, b: &Point) {
        let (ga, gb) = (score2(&a.s, self.reml), score2(&b.s, self.reml));
        if ga > 0.0 && gb <= 0.0 && !self.known(a.t, b.t) {
            self.interior(a.t, b.t);
        }
    }

    /// T(τ²) of the module doc (tr P for REML, S for ML), the relative
    /// rounding margin of the sums and n (k − 1 for REML, k for ML).
    fn t_margin_n(&self, s: &Sums) -> (f64, f64, f64) {
        let k = self.yi.len() as f64;
        let m = 16.0 * k * f64::EPSILON;
        if self.reml {
            (s.tr_p(), m, k - 1.0)
        } else {
            (s.sw, m, k)
        }
    }

    /// Scan mode: the end of the stretch beyond `a` on which the score
    /// provably keeps the sign it has at `a` (`a.t` itself when it cannot
    /// tell); see "Proven-monotone jumps" in the module doc.
    fn same_sign_until(&self, a: &Point, vmin: f64) -> f64 {
        let s = &a.s;
        let (t, m, _) = self.t_margin_n(s);
        let g = score2(s, self.reml);
        // κ bound: κ > ratio keeps the sign for τ² < (v_min + a)/ratio − v_min.
        let ratio = if g > 0.0 {
            let r2min = s.rss2 - s.sw2e * s.sw2e / s.sw2 - m * s.rss2;
            (t * (1.0 + m) / r2min).sqrt()
        } else if g < 0.0 {
            s.rss2 * (1.0 + m) / (t * (1.0 - m))
        } else {
            return a.t;
        };
        if !(ratio > 0.0 && ratio < 1.0) {
            return a.t;
        }
        ((vmin + a.t) / ratio * (1.0 - m) - vmin).max(a.t)
    }

    /// Scan mode: whether the score is negative for every τ² ≥ `a` (the
    /// last rule of "Proven-monotone jumps" in the module doc).
    fn falls_for_good(&self, a: &Point, vmin: f64) -> bool {
        let s = &a.s;
        let (_, m, n) = self.t_margin_n(s);
        let rss = s.rss * (1.0 + m);
        rss <= n && rss * (self.vmax + a.t) < n * (vmin + a.t) * (1.0 - m)
    }

    /// Branch-and-bound mode (see the module doc for the rules).
    fn cell(&mut self, a: Point, b: Point, depth: u32) {
        let r = if self.reml { 1.0 } else { 0.0 };
        let (sa, sb) = (&a.s, &b.s);
        // Rule 2: monotone.
        let up = sa.rss2 - sb.sw + r * sa.sw2 / sb.sw;
        let lo = sb.rss2 - sa.sw + r * sb.sw2 / sa.sw;
        if up < 0.0 || lo > 0.0 {
            return;
        }
        // A local maximum inside (score + to −): make sure it is recorded.
        let (ga, gb) = (score2(sa, self.reml), score2(sb, self.reml));
        let holds_max = ga > 0.0 && gb <= 0.0;
        if holds_max && !self.known(a.t, b.t) {
            self.interior(a.t, b.t);
        }
        // Rule 3: concave, so that maximum is the only one.
        let wmin = 1.0 / (self.vmax + b.t);
        let loose = 0.5 * sa.sw2 - wmin * sb.rss2 - r * 0.5 * sb.sw3 / sa.sw;
        // Tighter: ½ tr(P²)(a) [REML] or ½ S₂(a) [ML], minus yᵀP³y(b), with
        // a margin for the cancellation in both differences.
        let (q, c3) = (sa.sw2 / sa.sw, sa.sw3 / sa.sw);
        let a2 = 0.5 * (sa.sw2 + r * (q * q - 2.0 * c3));
        let margin = 16.0
            * self.yi.len() as f64
            * f64::EPSILON
            * (0.5 * sa.sw2 + r * (0.5 * q * q + c3) + sb.rss3);
        let h = loose.min(a2 - sb.yp3y() + margin);
        if h < 0.0 {
            return;
        }
        // Rule 1: value bound, zeroth order (monotone pieces), then first
        // and second order (Taylor from each end with the score bounds `up`,
        // `lo` and the curvature bound `h`).
        let lda = logdet(self.vi, a.t);
        let ub = -0.5 * lda - 0.5 * sb.rss - r * 0.5 * sb.sw.ln();
        let target = self.best.ll + DELTA;
        if ub < target {
            return;
        }
        let w = b.t - a.t;
        let la = loglik_of(lda, sa, self.reml);
        let lb = self.ll(&b);
        let first = (la + (0.5 * up).max(0.0) * w).min(lb + (-0.5 * lo).max(0.0) * w);
        let second =
            (la + (0.5 * ga).max(0.0) * w).min(lb + (-0.5 * gb).max(0.0) * w) + 0.5 * h * w * w;
        if first.min(second) < target {
            return;
        }
        if depth >= MAX_DEPTH
            || self.evaluations >= MAX_EVALUATIONS
            || b.t - a.t <= 4.0 * f64::EPSILON * b.t
        {
            return;
        }
        let mid = if a.t == 0.0 || b.t < 2.0 * a.t {
            0.5 * (a.t + b.t)
        } else {
            (a.t * b.t).sqrt()
        };
        let m = self.eval(mid);
        self.cell(a, m, depth + 1);
        self.cell(m, b, depth + 1);
    }

    /// The maximum inside a concave cell whose score changes sign.
    fn interior(&mut self, lo: f64, hi: f64) {
        let (yi, vi, reml, mu) = (self.yi, self.vi, self.reml, self.best.sums.mu);
        let f = |t: f64| score2(&Sums::near(yi, vi, t, mu), reml);
        if let Some((t, evals)) = brent(f, lo, hi, 1e-15 * hi, 200) {
            self.evaluations += evals;
            let p = self.eval(t);
            let ll = self.ll(&p);
            self.record(Maximum {
                tau2: t,
                ll,
                sums: p.s,
            });
        }
    }
}

/// Search [0, ∞) for a maximum above `hat` (a local maximum from Fisher
/// scoring, or τ² = 0) and return the global one. `fe` holds the sums at
/// τ² = 0; `seen` holds points whose sums are known already (Fisher
/// scoring's iterates), which the scan takes as grid points instead of
/// evaluating new ones. Needs k ≥ 2 and standardised variances (v_min of
/// order 1).
pub(crate) fn global_maximum(
    yi: &[f64],
    vi: &[f64],
    fe: &Sums,
    hat: Maximum,
    seen: &[Point],
    reml: bool,
) -> Outcome {
    let (vmin, vmax) = crate::model::sums::min_max(vi);
    let mut s = Search {
        yi,
        vi,
        reml,
        vmax,
        best: hat,
        maxima: [Some((hat.tau2, hat.ll)), None, None, None],
        evaluations: 0,
    };
    let zero = Point { t: 0.0, s: *fe };
    if hat.tau2 > 0.0 && score2(fe, reml) <= 0.0 {
        // τ² = 0 is a local maximum too (the objective falls from it).
        let ll0 = s.ll(&zero);
        s.record(Maximum {
            tau2: 0.0,
            ll: ll0,
            sums: *fe,
        });
    }
    // Tail: beyond T the objective is below ℓ* − δ.
    let k = yi.len() as f64;
    let target = -2.0 * (s.best.ll - DELTA);
    let ln_t = if reml {
        (target - k.ln()) / (k - 1.0)
    } else {
        target / k
    };
    let tail = (ln_t.exp() - vmin).max(hat.tau2 * 2.0).max(vmin);
    let certify = yi.len() <= CERTIFY_MAX_K;
    let hat_point = Point {
        t: hat.tau2,
        s: hat.sums,
    };
    let mut prev = zero;
    let mut hat_done = hat.tau2 == 0.0;
    if certify {
        let mut t = FIRST * vmin;
        loop {
            let p = if !hat_done && hat.tau2 <= t {
                hat_done = true;
                hat_point
            } else {
                let p = s.eval(t);
                t *= RATIO;
                p
            };
            s.cell(prev, p, 0);
            prev = p;
            if prev.t >= tail || !t.is_finite() {
                break;
            }
        }
    } else {
        let mut t = (FIRST * vmin).max(s.same_sign_until(&zero, vmin));
        let last_known = seen.iter().fold(0.0f64, |m, q| m.max(q.t));
        loop {
            if s.falls_for_good(&prev, vmin) {
                break;
            }
            // Beyond the tail nothing beats ℓ*, and a cell whose score is not
            // positive at its left end is never searched (`scan_cell`), so
            // when the score at `prev` is ≤ 0 no point past the tail can
            // change the outcome: stop without evaluating one.
            if t >= tail && score2(&prev.s, reml) <= 0.0 {
                break;
            }
            // The next grid point: the largest point whose sums are known
            // (τ̂, Fisher scoring's iterates) in [t/4, t] ∩ (prev, t], else a
            // new one at t. Points at most a factor 4 apart, or within a
            // proven jump, is all the scan asks of its grid; taking a point
            // no lower than t/4 keeps the next t at least this one, so the
            // grid never falls back below where it was.
            let mut known: Option<&Point> = None;
            let candidates = if prev.t < last_known { seen } else { &[] };
            for q in candidates.iter().chain(std::iter::once(&hat_point)) {
                if q.t > prev.t
                    && q.t <= t
                    && q.t * SCAN_RATIO >= t
                    && known.is_none_or(|k| q.t > k.t)
                {
                    known = Some(q);
                }
            }
            let p = match known {
                Some(q) => *q,
                None => s.eval(t),
            };
            s.scan_cell(&prev, &p);
            prev = p;
            t = (p.t * SCAN_RATIO).max(s.same_sign_until(&p, vmin));
            if prev.t >= tail || !t.is_finite() {
                break;
            }
        }
    }
    Outcome {
        best: s.best,
        maxima: s.maxima,
        evaluations: s.evaluations,
    }
}
