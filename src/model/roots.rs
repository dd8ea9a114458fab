//! Bracketed root finding (Brent 1973, the `zeroin` algorithm behind R's
//! `uniroot`), used by Paule–Mandel, the likelihood fallback and the Q-profile
//! confidence interval for τ². Runs to an absolute tolerance of 1e-12 by
//! default instead of `uniroot`'s 1.2e-4.

/// Find x in [a, b] with f(x) = 0, given f(a) and f(b) of opposite sign (or
/// zero). Returns the root and the number of function evaluations, or `None`
/// if the bracket is invalid or `maxiter` is exhausted.
pub(crate) fn brent(
    mut f: impl FnMut(f64) -> f64,
    a: f64,
    b: f64,
    tol: f64,
    maxiter: u32,
) -> Option<(f64, u32)> {
    let (mut a, mut b) = (a, b);
    let (mut fa, mut fb) = (f(a), f(b));
    if fa == 0.0 {
        return Some((a, 2));
    }
    if fb == 0.0 {
        return Some((b, 2));
    }
    if fa.signum() == fb.signum() || !fa.is_finite() || !fb.is_finite() {
        return None;
    }
    let mut c = a;
    let mut fc = fa;
    let mut d = b - a;
    let mut e = d;
    for iter in 0..maxiter {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * tol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol1 || fb == 0.0 {
            return Some((b, iter + 2));
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * xm * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * xm * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * xm * q - (tol1 * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b);
    }
    None
}

/// Find an upper bracket for a decreasing function: the smallest `hi = start·4ⁿ`
/// (n ≤ 60) with f(hi) < 0. Returns `None` if none is found.
pub(crate) fn bracket_above(mut f: impl FnMut(f64) -> f64, start: f64) -> Option<f64> {
    let mut hi = start.max(1e-8);
    for _ in 0..60 {
        if f(hi) < 0.0 {
            return Some(hi);
        }
        hi *= 4.0;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// √2 is the root of x² − 2 (closed form, tolerance 1e-12).
    #[test]
    fn finds_sqrt_two() {
        let (x, _) = brent(|x| x * x - 2.0, 0.0, 2.0, 1e-14, 200).unwrap();
        assert!((x - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_bracket() {
        assert!(brent(|x| x * x + 1.0, -1.0, 1.0, 1e-12, 100).is_none());
    }
}
