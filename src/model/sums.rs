//! Weighted sums for the intercept-only model, computed in O(k) without
//! allocating.
//!
//! metafor works with the k × k matrix P = W − W X (XᵀWX)⁻¹ XᵀW. With only an
//! intercept, P_ij = w_i δ_ij − w_i w_j / S (S = Σw), and every quantity the
//! estimators need reduces to a handful of sums:
//!
//! * tr(P) = S − Σw²/S
//! * Σ_ij P_ij² x_i y_j = Σ x_i y_i (w_i² − 2 w_i³/S) + (Σ w_i² x_i)(Σ w_j² y_j)/S²
//!   (with x = y = 1 this is tr(PP); x = y = v gives tr(PVPV); x = 1, y = v
//!   gives metafor's `sum(PV*P)`)
//! * yᵀPy = Σ w (y − μ̂)², yᵀPPy = Σ w² (y − μ̂)², with μ̂ = Σwy/S, and
//!   yᵀPPPy = Σ w³ (y − μ̂)² − (Σ w² (y − μ̂))²/S (since Py = w∘(y − μ̂)).
//!
//! Every pass walks the studies two at a time in the lanes of a
//! [`wide::f64x2`] (SSE2 on every x86-64 CPU): one packed division gives two
//! weights, and each sum is kept as two partial sums (even and odd studies)
//! added at the end. The loops are bound by the division unit and by the
//! latency of the additions, so this halves their time; the sums differ
//! from one-at-a-time summation only by rounding (a few ulp).

use wide::f64x2;

/// What pooling needs at the final τ²: Σw, μ̂ and Σw(y − μ̂)².
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pool {
    /// S = Σw.
    pub sw: f64,
    /// μ̂ = Σwy / Σw.
    pub mu: f64,
    /// Σw(y − μ̂)².
    pub rss: f64,
}

impl Pool {
    /// The three pooling sums for τ², one pass with deviations from `shift`
    /// (two passes when the correction would cancel, as [`Sums::near`]).
    #[inline]
    pub fn near(yi: &[f64], vi: &[f64], tau2: f64, shift: f64) -> Pool {
        let sh = f64x2::splat(shift);
        let (mut sw, mut a1, mut a2) = (f64x2::ZERO, f64x2::ZERO, f64x2::ZERO);
        for_each_weight(yi, vi, tau2, |w, y| {
            let e = y - sh;
            let we = w * e;
            sw += w;
            a1 += we;
            a2 += we * e;
        });
        let (sw, a1, a2) = (sw.reduce_add(), a1.reduce_add(), a2.reduce_add());
        let d = a1 / sw;
        let rss = a2 - d * a1;
        if rss.is_finite() && rss >= 0.5 * a2 {
            Pool {
                sw,
                mu: shift + d,
                rss,
            }
        } else {
            Sums::exact(yi, vi, tau2).pool()
        }
    }
}

/// The unweighted mean of `yi` if the input can be pooled: as many `vi` as
/// `yi`, at least one study, every yᵢ finite and every vᵢ positive and
/// finite ([`usable`]). One pass in two lanes, like the weighted ones.
#[inline]
pub(crate) fn checked_mean(yi: &[f64], vi: &[f64]) -> Option<f64> {
    if yi.is_empty() || yi.len() != vi.len() {
        return None;
    }
    let mut ok = usable(f64x2::ZERO, f64x2::ONE);
    let mut sum = f64x2::ZERO;
    for_each_pair(yi, vi, |y, v, _| {
        ok &= usable(y, v);
        sum += y;
    });
    ok.all().then(|| sum.reduce_add() / yi.len() as f64)
}

/// All ones in the lanes where y is finite and v is positive and finite,
/// zero elsewhere (0·y is 0 only for a finite y).
#[inline(always)]
fn usable(y: f64x2, v: f64x2) -> f64x2 {
    (y * f64x2::ZERO).simd_eq(f64x2::ZERO) & positive_finite(v)
}

/// All ones in the lanes where v is positive and finite (comparisons are
/// false for NaN).
#[inline(always)]
fn positive_finite(v: f64x2) -> f64x2 {
    v.simd_gt(f64x2::ZERO) & v.simd_lt(f64x2::splat(f64::INFINITY))
}

/// The smallest and the largest of `vi` (positive and finite, k ≥ 1), in
/// two lanes like the weighted passes.
#[inline]
pub(crate) fn min_max(vi: &[f64]) -> (f64, f64) {
    let (pairs, rest) = vi.as_chunks::<2>();
    let (mut lo, mut hi) = (f64x2::splat(f64::INFINITY), f64x2::ZERO);
    for &v in pairs {
        let v = f64x2::new(v);
        lo = lo.fast_min(v);
        hi = hi.fast_max(v);
    }
    let [l0, l1] = lo.to_array();
    let [h0, h1] = hi.to_array();
    rest.iter().fold((l0.min(l1), h0.max(h1)), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    })
}

/// The unweighted mean of `yi`, summed in two lanes like the weighted passes.
#[inline]
pub(crate) fn mean(yi: &[f64]) -> f64 {
    let (pairs, rest) = yi.as_chunks::<2>();
    let mut sum = f64x2::ZERO;
    for &y in pairs {
        sum += f64x2::new(y);
    }
    (sum.reduce_add() + rest.iter().sum::<f64>()) / yi.len() as f64
}

/// Call `f(y, v, padded)` for the studies two at a time (up to the shorter
/// of `yi` and `vi`), in order. A last odd study is paired with a padding
/// lane of y = 0 and v = 1 (a valid study that adds 0 to any sum of y) and
/// `padded` set.
#[inline(always)]
fn for_each_pair(yi: &[f64], vi: &[f64], mut f: impl FnMut(f64x2, f64x2, bool)) {
    let n = yi.len().min(vi.len());
    let (yp, yr) = yi[..n].as_chunks::<2>();
    let (vp, vr) = vi[..n].as_chunks::<2>();
    for (&y, &v) in yp.iter().zip(vp) {
        f(f64x2::new(y), f64x2::new(v), false);
    }
    if let (Some(&y), Some(&v)) = (yr.first(), vr.first()) {
        f(f64x2::new([y, 0.0]), f64x2::new([v, 1.0]), true);
    }
}

/// Call `f(w, y)` for the studies two at a time ([`for_each_pair`]), with
/// the weights w = 1/(v + τ²) of both lanes from one packed division; the
/// padding lane's weight is exactly 0, so it adds nothing (±0) to any
/// weighted sum. Callers keep each sum in its own `f64x2` local.
#[inline(always)]
fn for_each_weight(yi: &[f64], vi: &[f64], tau2: f64, mut f: impl FnMut(f64x2, f64x2)) {
    for_each_study(yi, vi, tau2, |w, y, _| f(w, y));
}

/// [`for_each_weight`], also passing the variances of the two lanes.
#[inline(always)]
fn for_each_study(yi: &[f64], vi: &[f64], tau2: f64, mut f: impl FnMut(f64x2, f64x2, f64x2)) {
    let t = f64x2::splat(tau2);
    for_each_pair(yi, vi, |y, v, padded| {
        let w = f64x2::ONE / (v + t);
        let w = if padded {
            w * f64x2::new([1.0, 0.0])
        } else {
            w
        };
        f(w, y, v);
    });
}

/// Sums over studies for weights w_i = 1/(v_i + τ²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sums {
    /// Number of studies.
    pub k: f64,
    /// S = Σw.
    pub sw: f64,
    /// Σw².
    pub sw2: f64,
    /// Σw³.
    pub sw3: f64,
    /// μ̂ = Σwy / Σw.
    pub mu: f64,
    /// yᵀPy = Σ w (y − μ̂)² (the generalised Q statistic).
    pub rss: f64,
    /// yᵀPPy = Σ w² (y − μ̂)².
    pub rss2: f64,
    /// Σ w³ (y − μ̂)².
    pub rss3: f64,
    /// Σ w² (y − μ̂).
    pub sw2e: f64,
    /// Σ w (y − shift)² before the mean correction (cancellation check).
    raw_rss: f64,
    /// tr(P) (see [`traces`]).
    trp: f64,
    /// tr(PP).
    trpp: f64,
    /// (Q − (k − 1)) / tr P when [`Sums::light_checked`] worked it out from
    /// the raw sums (one division after the pass instead of a chain of
    /// three); NaN from the other constructors ([`Sums::dl_untruncated`]).
    dl_excess: f64,
}

impl Sums {
    /// Compute the sums for τ² (weights 1/(v + τ²)): one weighted pass with
    /// deviations from the unweighted mean, which [`Sums::near`] checks for
    /// cancellation (falling back to [`Sums::exact`]).
    #[inline]
    pub fn at(yi: &[f64], vi: &[f64], tau2: f64) -> Sums {
        Sums::near(yi, vi, tau2, mean(yi))
    }

    /// The sums the closed-form estimators and the heterogeneity statistics
    /// need at τ² = 0 (Σw, Σw², Σw³, μ̂, Σw(y − μ̂)²), without the higher
    /// moments that only the likelihood estimators use: `rss2`, `rss3` and
    /// `sw2e` are NaN, so any use of them shows. About half the work of
    /// [`Sums::at`], and no mean is needed first: deviations are taken from
    /// y₁ and corrected as in [`Sums::near`], allowing up to 6 bits of
    /// cancellation (relative error ≤ 64 ε ≈ 1.4e-14).
    ///
    /// `None` when a yᵢ is not finite or a vᵢ is not positive and finite
    /// (checked in the same loop), or when the correction would cancel
    /// more (or a weight overflows): the caller then checks the input and
    /// pools around the unweighted mean. Returning no sums on those rare
    /// paths keeps the common one free of a join, so its sums stay in
    /// registers.
    #[inline]
    pub fn light_checked(yi: &[f64], vi: &[f64]) -> Option<Sums> {
        if yi.is_empty() || yi.len() != vi.len() {
            return None;
        }
        let shift = yi[0];
        let (z, sh) = (f64x2::ZERO, f64x2::splat(shift));
        let (mut sw, mut sw2, mut sw3, mut a1, mut a2) = (z, z, z, z, z);
        // Every v is checked here; a yᵢ that is not finite (or a weight that
        // overflows) then makes Σw(y − y₁)² infinite or NaN, which the
        // finiteness check on the corrected sum below catches, so the hot
        // loop skips the check on y that [`usable`] would add.
        let mut v_ok = positive_finite(f64x2::ONE);
        for_each_study(yi, vi, 0.0, |w, y, v| {
            v_ok &= positive_finite(v);
            let w2 = w * w;
            let e = y - sh;
            let we = w * e;
            sw += w;
            sw2 += w2;
            sw3 += w2 * w;
            a1 += we;
            a2 += we * e;
        });
        if !v_ok.all() {
            return None;
        }
        let [sw, sw2, sw3, a1, a2] = [sw, sw2, sw3, a1, a2].map(f64x2::reduce_add);
        let inv = 1.0 / sw;
        let d = a1 * inv;
        let rss = a2 - d * a1;
        let (trp, trpp) = traces(vi, 0.0, sw, sw2, sw3);
        // (Q − (k − 1)) / tr P with both sides multiplied by S, so that a
        // single division follows the pass: S·Q = S·Σwe² − (Σwe)² and
        // S·tr P = S² − Σw². The same cancellation limits as for Q (the
        // check below) and tr P (`traces`) apply; where tr P took the
        // stable form, the plain quotient is used.
        let k = yi.len() as f64;
        let den = sw * sw - sw2;
        let dl_excess = if den >= 0.01 * (sw * sw) {
            (a2 * sw - a1 * a1 - (k - 1.0) * sw) / den
        } else {
            (rss - (k - 1.0)) / trp
        };
        (rss.is_finite() && rss >= a2 / 64.0).then_some(Sums {
            k: yi.len() as f64,
            sw,
            sw2,
            sw3,
            mu: shift + d,
            rss,
            rss2: f64::NAN,
            rss3: f64::NAN,
            sw2e: f64::NAN,
            raw_rss: a2,
            trp,
            trpp,
            dl_excess,
        })
    }

    /// Two weighted passes: deviations from the exact weighted mean.
    #[inline]
    pub fn exact(yi: &[f64], vi: &[f64], tau2: f64) -> Sums {
        let (mut sw, mut swy) = (f64x2::ZERO, f64x2::ZERO);
        for_each_weight(yi, vi, tau2, |w, y| {
            sw += w;
            swy += w * y;
        });
        let (sw, swy) = (sw.reduce_add(), swy.reduce_add());
        Sums::one_pass(yi, vi, tau2, swy / sw)
    }

    /// The same sums in one pass, taking deviations from `shift` (ideally a
    /// weighted mean from a nearby τ², as in an iteration) and correcting
    /// exactly: with e' = y − shift and d = μ̂ − shift,
    /// Σw(y − μ̂)² = Σwe'² − S d², and likewise for the higher moments. If the
    /// correction would cancel more than half of the raw sum (shift far from
    /// μ̂), the two-pass [`Sums::exact`] is used instead.
    #[inline]
    pub fn near(yi: &[f64], vi: &[f64], tau2: f64, shift: f64) -> Sums {
        let s = Sums::one_pass(yi, vi, tau2, shift);
        if s.rss.is_finite() && s.rss >= 0.5 * s.raw_rss {
            s
        } else {
            Sums::exact(yi, vi, tau2)
        }
    }

    #[inline]
    fn one_pass(yi: &[f64], vi: &[f64], tau2: f64, shift: f64) -> Sums {
        let z = f64x2::ZERO;
        let sh = f64x2::splat(shift);
        let (mut sw, mut sw2, mut sw3) = (z, z, z);
        let (mut a1, mut a2, mut b1, mut b2, mut c1, mut c2) = (z, z, z, z, z, z);
        for_each_weight(yi, vi, tau2, |w, y| {
            let w2 = w * w;
            let w3 = w2 * w;
            let e = y - sh;
            let (we, w2e, w3e) = (w * e, w2 * e, w3 * e);
            sw += w;
            sw2 += w2;
            sw3 += w3;
            a1 += we;
            a2 += we * e;
            b1 += w2e;
            b2 += w2e * e;
            c1 += w3e;
            c2 += w3e * e;
        });
        let [sw, sw2, sw3, a1, a2, b1, b2, c1, c2] =
            [sw, sw2, sw3, a1, a2, b1, b2, c1, c2].map(f64x2::reduce_add);
        let d = a1 / sw;
        // Σw^j (e − d)² = Σw^j e² − 2d Σw^j e + d² Σw^j, j = 1, 2, 3.
        let rss = a2 - d * a1;
        let rss2 = b2 - 2.0 * d * b1 + d * d * sw2;
        let rss3 = c2 - 2.0 * d * c1 + d * d * sw3;
        let (trp, trpp) = traces(vi, tau2, sw, sw2, sw3);
        Sums {
            k: yi.len() as f64,
            sw,
            sw2,
            sw3,
            mu: shift + d,
            rss,
            rss2,
            rss3,
            sw2e: b1 - d * sw2,
            raw_rss: a2,
            trp,
            trpp,
            dl_excess: f64::NAN,
        }
    }

    /// The sums of [`Sums::light_checked`] from running totals over k
    /// studies at weights w = 1/(v + τ²): Σw, Σw², Σw³, Σw·e and Σw·e² with
    /// e = y − `shift`. tr P and tr PP come from the power sums (the studies
    /// are not at hand to recompute them when one weight dominates).
    pub fn from_totals(k: f64, sw: f64, sw2: f64, sw3: f64, shift: f64, a1: f64, a2: f64) -> Sums {
        let d = a1 / sw;
        let q = sw2 / sw;
        Sums {
            k,
            sw,
            sw2,
            sw3,
            mu: shift + d,
            rss: a2 - d * a1,
            rss2: f64::NAN,
            rss3: f64::NAN,
            sw2e: f64::NAN,
            raw_rss: a2,
            trp: sw - q,
            trpp: sw2 - 2.0 * sw3 / sw + q * q,
            dl_excess: f64::NAN,
        }
    }

    /// The pooling sums.
    #[inline]
    pub fn pool(&self) -> Pool {
        Pool {
            sw: self.sw,
            mu: self.mu,
            rss: self.rss,
        }
    }

    /// DerSimonian–Laird's moment estimate before truncation at 0,
    /// (Q − (k − 1)) / tr P, for sums at τ² = 0.
    #[inline]
    pub fn dl_untruncated(&self) -> f64 {
        if self.dl_excess.is_nan() {
            (self.rss - (self.k - 1.0)) / self.trp
        } else {
            self.dl_excess
        }
    }

    /// tr(P).
    #[inline]
    pub fn tr_p(&self) -> f64 {
        self.trp
    }

    /// tr(PP) = Σ_ij P_ij².
    #[inline]
    pub fn tr_pp(&self) -> f64 {
        self.trpp
    }

    /// yᵀPPPy = Σ w³ (y − μ̂)² − (Σ w² (y − μ̂))² / S (for observed information).
    #[inline]
    pub fn yp3y(&self) -> f64 {
        self.rss3 - self.sw2e * self.sw2e / self.sw
    }
}

/// tr(P) = S − S₂/S and tr(PP) = S₂ − 2S₃/S + S₂²/S² from the power sums.
/// Both cancel when one weight dominates (vᵢ spanning many orders of
/// magnitude: with a weight ratio r, tr(PP) loses about 2·log10 r digits and
/// can come out negative); then [`stable_traces`] recomputes them.
#[inline(always)]
fn traces(vi: &[f64], tau2: f64, sw: f64, sw2: f64, sw3: f64) -> (f64, f64) {
    let inv = 1.0 / sw;
    let q = sw2 * inv;
    let trp = sw - q;
    let trpp = sw2 - 2.0 * sw3 * inv + q * q;
    if trp >= 0.01 * sw && trpp >= 0.01 * sw2 {
        (trp, trpp)
    } else {
        stable_traces(vi, tau2)
    }
}

/// tr(P) and tr(PP) without the cancellation: with m the largest weight and
/// R₁, R₂, R₃ the power sums of the others,
/// S²·tr(P) = S(2mR₁ + R₁² − R₂) and
/// S²·tr(PP) = m²(R₁² + 3R₂) + 2m(R₁R₂ − R₃) + (R₂R₁² − 2R₁R₃ + R₂²),
/// where every bracket is a sum of non-negative terms (the last is S²·tr(PP)
/// of the other studies alone), so m never cancels against itself.
#[cold]
#[inline(never)]
fn stable_traces(vi: &[f64], tau2: f64) -> (f64, f64) {
    let (mut m, mut r1, mut r2, mut r3) = (0.0f64, 0.0, 0.0, 0.0);
    for v in vi {
        let w = 1.0 / (v + tau2);
        let lo = w.min(m);
        m = m.max(w);
        r1 += lo;
        r2 += lo * lo;
        r3 += lo * lo * lo;
    }
    let s = m + r1;
    let trp = (2.0 * m * r1 + (r1 * r1 - r2)) / s;
    let n = m * m * (r1 * r1 + 3.0 * r2)
        + 2.0 * m * (r1 * r2 - r3)
        + (r2 * r1 * r1 - 2.0 * r1 * r3 + r2 * r2);
    (trp, n / (s * s))
}

/// Σ_ij P_ij² x_i y_j for P built from weights `w(i)` (see module docs).
pub(crate) fn p2_bilinear(
    k: usize,
    w: impl Fn(usize) -> f64,
    x: impl Fn(usize) -> f64,
    y: impl Fn(usize) -> f64,
) -> f64 {
    let sw: f64 = (0..k).map(&w).sum();
    let (mut diag, mut ax, mut ay) = (0.0, 0.0, 0.0);
    for i in 0..k {
        let wi = w(i);
        let w2 = wi * wi;
        diag += x(i) * y(i) * (w2 - 2.0 * w2 * wi / sw);
        ax += w2 * x(i);
        ay += w2 * y(i);
    }
    diag + ax * ay / (sw * sw)
}

#[cfg(test)]
mod tests {
    //! The O(k) identities are checked against the explicit matrix products
    //! they replace (closed-form identities: tolerance 1e-12 relative).
    use super::*;

    const IDENTITY: f64 = 1e-12;

    fn explicit_p(w: &[f64]) -> Vec<Vec<f64>> {
        let s: f64 = w.iter().sum();
        (0..w.len())
            .map(|i| {
                (0..w.len())
                    .map(|j| if i == j { w[i] } else { 0.0 } - w[i] * w[j] / s)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn sums_equal_matrix_forms() {
        let y = [0.2, -0.1, 0.5, 0.9, 0.3];
        let v = [0.01, 0.04, 0.02, 0.09, 0.05];
        let tau2 = 0.03;
        let w: Vec<f64> = v.iter().map(|v| 1.0 / (v + tau2)).collect();
        let p = explicit_p(&w);
        let s = Sums::at(&y, &v, tau2);
        let tr: f64 = (0..5).map(|i| p[i][i]).sum();
        let trpp: f64 = p.iter().flatten().map(|x| x * x).sum();
        let py: Vec<f64> = (0..5)
            .map(|i| (0..5).map(|j| p[i][j] * y[j]).sum())
            .collect();
        let ypy: f64 = (0..5).map(|i| y[i] * py[i]).sum();
        let yppy: f64 = py.iter().map(|x| x * x).sum();
        let ppy: Vec<f64> = (0..5)
            .map(|i| (0..5).map(|j| p[i][j] * py[j]).sum())
            .collect();
        let ypppy: f64 = (0..5).map(|i| py[i] * ppy[i]).sum();
        let pvpv: f64 = (0..5)
            .flat_map(|i| (0..5).map(move |j| (i, j)))
            .map(|(i, j)| p[i][j] * v[j] * p[j][i] * v[i])
            .sum();
        let pvp: f64 = (0..5)
            .flat_map(|i| (0..5).map(move |j| (i, j)))
            .map(|(i, j)| p[i][j] * v[j] * p[i][j])
            .sum();
        let rel = |a: f64, b: f64| ((a - b) / b).abs() < IDENTITY;
        assert!(rel(s.tr_p(), tr));
        assert!(rel(s.tr_pp(), trpp));
        assert!(rel(s.rss, ypy));
        assert!(rel(s.rss2, yppy));
        assert!(rel(s.yp3y(), ypppy));
        let x = Sums::exact(&y, &v, tau2);
        assert!(rel(x.rss, s.rss) && rel(x.rss2, s.rss2) && rel(x.mu, s.mu));
        for shift in [0.0, 0.3, 5.0] {
            let n = Sums::near(&y, &v, tau2, shift);
            assert!(
                rel(n.rss, s.rss)
                    && rel(n.rss2, s.rss2)
                    && rel(n.yp3y(), s.yp3y())
                    && rel(n.mu, s.mu)
            );
        }
        assert!(rel(p2_bilinear(5, |i| w[i], |i| v[i], |i| v[i]), pvpv));
        assert!(rel(p2_bilinear(5, |i| w[i], |_| 1.0, |i| v[i]), pvp));
        assert!(rel(p2_bilinear(5, |i| w[i], |_| 1.0, |_| 1.0), trpp));
    }

    /// One dominant weight: k = 2 has the closed forms tr P = 2w₁w₂/S and
    /// tr PP = (tr P)² (P has rank 1); the power-sum formulas cancel there.
    #[test]
    fn traces_survive_one_dominant_weight() {
        let v = [1e-6, 1e6];
        let (w1, w2) = (1e6, 1e-6);
        let tp = 2.0 * w1 * w2 / (w1 + w2);
        let s = Sums::at(&[0.3, -0.2], &v, 0.0);
        assert!(((s.tr_p() - tp) / tp).abs() < IDENTITY);
        assert!(((s.tr_pp() - tp * tp) / (tp * tp)).abs() < IDENTITY);
        // k = 3, equal weights: tr PP = 2w² exactly as the matrix form.
        let (a, b) = stable_traces(&[0.5, 0.5, 0.5], 0.0);
        assert!((a - 4.0).abs() < IDENTITY && (b - 8.0).abs() < IDENTITY);
    }

    #[test]
    fn fused_first_pass_flags_bad_values_and_a_far_first_value() {
        let rel = |a: f64, b: f64| ((a - b) / b).abs() < IDENTITY;
        let v = [0.01, 0.04, 0.02, 0.09, 0.05, 0.03];
        let y = [0.2, -0.1, 0.5, 0.9, 0.3, 0.4];
        // Even and odd k (the odd study shares its lane pair with padding).
        for k in [6, 5] {
            let (y, v) = (&y[..k], &v[..k]);
            let l = Sums::light_checked(y, v).expect("good input, y₁ near the mean");
            let f = Sums::at(y, v, 0.0);
            assert_eq!((l.k, l.sw, l.sw2, l.sw3), (f.k, f.sw, f.sw2, f.sw3));
            assert!(rel(l.mu, f.mu) && rel(l.rss, f.rss) && rel(l.tr_pp(), f.tr_pp()));
            assert!(l.rss2.is_nan() && l.rss3.is_nan() && l.sw2e.is_nan());
        }
        // y₁ far from the rest and barely weighted: the shift correction
        // would cancel, so the fast pass declines and the caller takes
        // Sums::at.
        let far = [1e4, -0.1, 0.5, 0.9, 0.3, 0.4];
        let mut vfar = v;
        vfar[0] = 1e3;
        assert!(Sums::light_checked(&far, &vfar).is_none());
        // A far y₁ with a large weight does not cancel and stays exact.
        let l = Sums::light_checked(&far, &v).expect("no cancellation");
        let f = Sums::at(&far, &v, 0.0);
        assert!(rel(l.mu, f.mu) && rel(l.rss, f.rss));
        let mut vb = v;
        vb[4] = -0.0;
        assert!(Sums::light_checked(&y, &vb).is_none());
        let mut yb = y;
        yb[5] = f64::NAN;
        assert!(Sums::light_checked(&yb, &v).is_none());
        assert!(Sums::light_checked(&y, &v[..5]).is_none());
    }

    #[test]
    fn pooling_sums_equal_the_full_ones_for_even_and_odd_k() {
        let y = [0.2, -0.1, 0.5, 0.9, 0.3, 0.4];
        let v = [0.01, 0.04, 0.02, 0.09, 0.05, 0.03];
        let rel = |a: f64, b: f64| ((a - b) / b).abs() < IDENTITY;
        for k in [6, 5, 1] {
            let (y, v) = (&y[..k], &v[..k]);
            for tau2 in [0.0, 0.03] {
                let f = Sums::at(y, v, tau2);
                let p = Pool::near(y, v, tau2, 0.0);
                assert!(rel(p.sw, f.sw) && rel(p.mu, f.mu));
                assert!(p.rss.abs() < IDENTITY || rel(p.rss, f.rss));
            }
        }
    }

    #[test]
    fn min_max_covers_every_study_for_even_and_odd_k() {
        let v = [0.04, 0.01, 0.09, 0.02, 0.05, 0.03];
        // By hand: the extremes of the first k values (odd k leaves the last
        // study outside the pairs).
        for (k, lo, hi) in [
            (6, 0.01, 0.09),
            (5, 0.01, 0.09),
            (2, 0.01, 0.04),
            (1, 0.04, 0.04),
        ] {
            assert_eq!(min_max(&v[..k]), (lo, hi), "k = {k}");
        }
        assert_eq!(min_max(&[0.5, 0.2, 0.1]), (0.1, 0.5));
    }

    #[test]
    fn mean_and_input_check_cover_every_study() {
        let y = [0.2, -0.1, 0.5, 0.9, 0.3, 0.4];
        let v = [0.01, 0.04, 0.02, 0.09, 0.05, 0.03];
        // Means by hand: the first k values of y summed and divided by k
        // (odd k leaves a study for the padding lane).
        for (k, m) in [(5, 0.36), (4, 0.375), (6, 2.2 / 6.0), (1, 0.2)] {
            assert!(((mean(&y[..k]) - m) / m).abs() < IDENTITY);
            let c = checked_mean(&y[..k], &v[..k]).expect("good input");
            assert!(((c - m) / m).abs() < IDENTITY);
        }
        assert_eq!(checked_mean(&[], &[]), None);
        assert_eq!(checked_mean(&y, &v[..5]), None);
        for k in [5, 6] {
            for i in 0..k {
                for bad in [0.0, -0.0, -1.0, f64::INFINITY, f64::NAN, -f64::MIN_POSITIVE] {
                    let mut vb = v;
                    vb[i] = bad;
                    assert_eq!(checked_mean(&y[..k], &vb[..k]), None, "v[{i}] = {bad}");
                }
                for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
                    let mut yb = y;
                    yb[i] = bad;
                    assert_eq!(checked_mean(&yb[..k], &v[..k]), None, "y[{i}] = {bad}");
                }
            }
        }
        // A positive subnormal variance is a valid (if absurd) input.
        let mut vs = v;
        vs[2] = f64::from_bits(1);
        assert!(checked_mean(&y, &vs).is_some());
    }
}
