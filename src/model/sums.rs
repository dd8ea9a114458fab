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
        let (mut sw, mut a1, mut a2) = (0.0, 0.0, 0.0);
        for_each_weight(yi, vi, tau2, |w, y| {
            let we = w * (y - shift);
            sw += w;
            a1 += we;
            a2 += we * (y - shift);
        });
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

/// Whether yᵢ is not finite or vᵢ is not positive and finite, decided on the
/// bit patterns without branches (a non-finite double has its exponent bits
/// all ones; a positive finite one has bits in (0, +∞)), so input checks can
/// run inside the summation loops.
#[inline(always)]
pub(crate) fn bad_input(y: f64, v: f64) -> bool {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    (y.to_bits() & EXP == EXP) | (v.to_bits().wrapping_sub(1) >= EXP - 1)
}

/// Call `f(wᵢ, yᵢ)` for every study, wᵢ = 1/(vᵢ + τ²), in order. Callers
/// keep their sums in named locals: arrays of accumulators invite the SLP
/// vectoriser into shuffles that are slower than scalar code.
#[inline(always)]
fn for_each_weight(yi: &[f64], vi: &[f64], tau2: f64, mut f: impl FnMut(f64, f64)) {
    for (&y, &v) in yi.iter().zip(vi) {
        f(1.0 / (v + tau2), y);
    }
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
}

impl Sums {
    /// Compute the sums for τ² (weights 1/(v + τ²)): one weighted pass with
    /// deviations from the unweighted mean, which [`Sums::near`] checks for
    /// cancellation (falling back to [`Sums::exact`]).
    #[inline]
    pub fn at(yi: &[f64], vi: &[f64], tau2: f64) -> Sums {
        let ybar = yi.iter().sum::<f64>() / yi.len() as f64;
        Sums::near(yi, vi, tau2, ybar)
    }

    /// The sums the closed-form estimators and the heterogeneity statistics
    /// need (Σw, Σw², Σw³, μ̂, Σw(y − μ̂)²) without the higher moments that
    /// only the likelihood estimators use: `rss2`, `rss3` and `sw2e` are
    /// NaN, so any use of them shows. About half the work of [`Sums::at`].
    /// Deviations are taken from `shift` (ideally the unweighted mean) and
    /// corrected as in [`Sums::near`].
    #[inline]
    pub fn light(yi: &[f64], vi: &[f64], tau2: f64, shift: f64) -> Sums {
        let (mut sw, mut sw2, mut sw3, mut a1, mut a2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for_each_weight(yi, vi, tau2, |w, y| {
            let w2 = w * w;
            let we = w * (y - shift);
            sw += w;
            sw2 += w2;
            sw3 += w2 * w;
            a1 += we;
            a2 += we * (y - shift);
        });
        let d = a1 / sw;
        let rss = a2 - d * a1;
        if !(rss.is_finite() && rss >= 0.5 * a2) {
            return Sums::exact(yi, vi, tau2);
        }
        Sums {
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
        }
    }

    /// [`Sums::light`] at τ² = 0 fused with the input check, in one loop:
    /// deviations from y₁ (no mean is known yet) and a flag set when a yᵢ
    /// is not finite or a vᵢ is not positive and finite (then the sums mean
    /// nothing). The shift correction may cancel up to 6 bits here (relative
    /// error ≤ 64 ε ≈ 1.4e-14) before falling back to [`Sums::light`] around
    /// the unweighted mean.
    #[inline]
    pub fn light_checked(yi: &[f64], vi: &[f64]) -> (Sums, bool) {
        let shift = yi[0];
        let mut bad = 0u64;
        let (mut sw, mut sw2, mut sw3, mut a1, mut a2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&y, &v) in yi.iter().zip(vi) {
            bad |= u64::from(bad_input(y, v));
            let w = 1.0 / v;
            let w2 = w * w;
            let we = w * (y - shift);
            sw += w;
            sw2 += w2;
            sw3 += w2 * w;
            a1 += we;
            a2 += we * (y - shift);
        }
        if bad != 0 {
            return (Sums::light(yi, vi, 0.0, shift), true);
        }
        let d = a1 / sw;
        let rss = a2 - d * a1;
        if !(rss.is_finite() && rss >= a2 / 64.0) {
            let ybar = yi.iter().sum::<f64>() / yi.len() as f64;
            return (Sums::light(yi, vi, 0.0, ybar), false);
        }
        let s = Sums {
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
        };
        (s, false)
    }

    /// Two weighted passes: deviations from the exact weighted mean.
    #[inline]
    pub fn exact(yi: &[f64], vi: &[f64], tau2: f64) -> Sums {
        let (mut sw, mut swy) = (0.0, 0.0);
        for (&y, &v) in yi.iter().zip(vi) {
            let w = 1.0 / (v + tau2);
            sw += w;
            swy += w * y;
        }
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
        let (mut sw, mut sw2, mut sw3) = (0.0, 0.0, 0.0);
        let (mut a1, mut a2, mut b1, mut b2, mut c1, mut c2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for_each_weight(yi, vi, tau2, |w, y| {
            let w2 = w * w;
            let w3 = w2 * w;
            let e = y - shift;
            sw += w;
            sw2 += w2;
            sw3 += w3;
            a1 += w * e;
            a2 += w * e * e;
            b1 += w2 * e;
            b2 += w2 * e * e;
            c1 += w3 * e;
            c2 += w3 * e * e;
        });
        let d = a1 / sw;
        // Σw^j (e − d)² = Σw^j e² − 2d Σw^j e + d² Σw^j, j = 1, 2, 3.
        let rss = a2 - d * a1;
        let rss2 = b2 - 2.0 * d * b1 + d * d * sw2;
        let rss3 = c2 - 2.0 * d * c1 + d * d * sw3;
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

    /// tr(P).
    #[inline]
    pub fn tr_p(&self) -> f64 {
        self.sw - self.sw2 / self.sw
    }

    /// tr(PP) = Σ_ij P_ij².
    #[inline]
    pub fn tr_pp(&self) -> f64 {
        self.sw2 - 2.0 * self.sw3 / self.sw + self.sw2 * self.sw2 / (self.sw * self.sw)
    }

    /// yᵀPPPy = Σ w³ (y − μ̂)² − (Σ w² (y − μ̂))² / S (for observed information).
    #[inline]
    pub fn yp3y(&self) -> f64 {
        self.rss3 - self.sw2e * self.sw2e / self.sw
    }
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

    #[test]
    fn fused_first_pass_flags_bad_values_and_survives_a_far_first_value() {
        let v = [0.01, 0.04, 0.02, 0.09, 0.05, 0.03];
        // y₁ far from the rest: the shift correction would cancel, so the
        // pass falls back to the unweighted mean and still matches.
        for y in [
            [0.2, -0.1, 0.5, 0.9, 0.3, 0.4],
            [1e4, -0.1, 0.5, 0.9, 0.3, 0.4],
        ] {
            let (l, bad) = Sums::light_checked(&y, &v);
            let f = Sums::at(&y, &v, 0.0);
            let rel = |a: f64, b: f64| ((a - b) / b).abs() < IDENTITY;
            assert!(!bad && rel(l.mu, f.mu) && rel(l.rss, f.rss) && rel(l.sw, f.sw));
        }
        let y = [0.2, -0.1, 0.5, 0.9, 0.3, 0.4];
        let mut vb = v;
        vb[4] = -0.0;
        assert!(Sums::light_checked(&y, &vb).1);
        let mut yb = y;
        yb[5] = f64::NAN;
        assert!(Sums::light_checked(&yb, &v).1);
    }

    #[test]
    fn light_sums_equal_the_full_ones_and_leave_the_rest_nan() {
        let y = [0.2, -0.1, 0.5, 0.9, 0.3, 0.4];
        let v = [0.01, 0.04, 0.02, 0.09, 0.05, 0.03];
        for tau2 in [0.0, 0.03] {
            let (f, l) = (Sums::at(&y, &v, tau2), Sums::light(&y, &v, tau2, 0.3));
            assert_eq!((l.k, l.sw, l.sw2, l.sw3), (f.k, f.sw, f.sw2, f.sw3));
            let rel = |a: f64, b: f64| ((a - b) / b).abs() < IDENTITY;
            assert!(rel(l.mu, f.mu) && rel(l.rss, f.rss) && rel(l.tr_pp(), f.tr_pp()));
            assert!(l.rss2.is_nan() && l.rss3.is_nan() && l.sw2e.is_nan());
            let p = Pool::near(&y, &v, tau2, 0.0);
            assert!(rel(p.sw, f.sw) && rel(p.mu, f.mu) && rel(p.rss, f.rss));
        }
    }
}
