//! The standardised scale the estimators work on (issue #14: every output is
//! equivariant under yᵢ → c·yᵢ + a, vᵢ → c²·vᵢ).
//!
//! Effect sizes are centred at the effect of the most precise study and both
//! yᵢ and vᵢ are divided by a power of two: c² = 2^m with m the largest even
//! integer such that 2^m ≤ v_min. On the working scale v_min lies in [1, 4),
//! every weight 1/(vᵢ + τ²) is at most 1, and the iteration thresholds,
//! bracket starts and tolerances (all written for data of order 1) mean the
//! same thing at every scale. Multiplying by a power of two is exact, so data
//! that differ by such a factor give bit-identical fits, and any other factor
//! changes results only by rounding. Subnormal variances are exact on the
//! working scale too.
//!
//! What the working scale cannot hold (an effect size or variance that
//! overflows after the shift, or variances spanning more than the double
//! range) is an error naming the study.

use crate::error::{Error, Result};

/// A shift and a power-of-two scale: working value = (x − shift) / 2^half.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    /// The effect size of the most precise study.
    pub shift: f64,
    /// c = 2^half; variances are divided by c² = 2^(2·half).
    pub half: i32,
}

/// 2^e for e in the normal exponent range.
#[inline]
fn pow2(e: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

impl Scale {
    /// The scale of checked input (k ≥ 1, yᵢ finite, vᵢ positive and finite).
    pub fn of(yi: &[f64], vi: &[f64]) -> Scale {
        let (mut imin, mut vmin) = (0, f64::INFINITY);
        for (i, &v) in vi.iter().enumerate() {
            if v < vmin {
                (imin, vmin) = (i, v);
            }
        }
        let half = (vmin.log2() / 2.0).floor() as i32;
        // log2 may round up across a power of two; keep 2^(2·half) ≤ vmin.
        let half = if vmin < pow2(half) * pow2(half) {
            half - 1
        } else {
            half
        };
        Scale {
            shift: yi[imin],
            half,
        }
    }

    /// c = 2^half.
    pub fn c(&self) -> f64 {
        pow2(self.half)
    }

    /// A variance-like quantity back on the data scale (× c²).
    pub fn var_out(&self, x: f64) -> f64 {
        x * pow2(self.half) * pow2(self.half)
    }

    /// A variance-like quantity on the working scale (÷ c²).
    pub fn var_in(&self, x: f64) -> f64 {
        x * pow2(-self.half) * pow2(-self.half)
    }

    /// A location back on the data scale.
    pub fn loc_out(&self, x: f64) -> f64 {
        self.shift + x * pow2(self.half)
    }

    /// Fill `ys`, `vs` with the working-scale data; an error names the first
    /// study the working scale cannot hold.
    pub fn standardise(
        &self,
        yi: &[f64],
        vi: &[f64],
        ys: &mut [f64],
        vs: &mut [f64],
    ) -> Result<()> {
        let inv = pow2(-self.half);
        // No branch per study: the values are written and their finiteness
        // is gathered (0·x is 0 exactly when x is finite); only when a value
        // is not finite does the cold path look for the first such study.
        let mut finite = 0.0f64;
        for (((&y, &v), yo), vo) in yi.iter().zip(vi).zip(ys.iter_mut()).zip(vs.iter_mut()) {
            *yo = (y - self.shift) * inv;
            *vo = v * inv * inv;
            finite += *yo * 0.0 + *vo * 0.0;
        }
        if finite == 0.0 {
            Ok(())
        } else {
            Err(self.not_representable(yi, vi, ys, vs))
        }
    }

    /// The error for the first study whose working-scale value is not
    /// finite (cold: only reached for extreme input).
    #[cold]
    #[inline(never)]
    fn not_representable(&self, yi: &[f64], vi: &[f64], ys: &[f64], vs: &[f64]) -> Error {
        for (i, (&y, &v)) in yi.iter().zip(vi).enumerate() {
            if !ys[i].is_finite() {
                return study(
                    i,
                    format!(
                        "effect size yi = {y} differs from that of the most precise study ({}) by more than a double can hold; check the units",
                        self.shift
                    ),
                );
            }
            if !vs[i].is_finite() {
                return study(
                    i,
                    format!(
                        "sampling variance vi = {v} is more than 1e300 times the smallest one; the studies cannot be pooled in double precision, check the units"
                    ),
                );
            }
        }
        Error::Unsupported("a working-scale value is not a finite number".into())
    }
}

/// An error about the study at 0-based position `i`.
pub(crate) fn study(i: usize, message: String) -> Error {
    Error::Study {
        index: i + 1,
        label: format!("row {}", i + 1),
        message,
    }
}

/// Working storage for the standardised data: on the stack for small k.
pub(crate) struct Buffer {
    stack: [f64; 64],
    heap: Vec<f64>,
    k: usize,
}

impl Buffer {
    /// Room for k studies.
    pub fn new(k: usize) -> Buffer {
        Buffer {
            stack: [0.0; 64],
            heap: if 2 * k > 64 {
                vec![0.0; 2 * k]
            } else {
                Vec::new()
            },
            k,
        }
    }

    /// The two halves (yi, vi).
    pub fn split(&mut self) -> (&mut [f64], &mut [f64]) {
        let k = self.k;
        let buf: &mut [f64] = if 2 * k > 64 {
            &mut self.heap
        } else {
            &mut self.stack[..2 * k]
        };
        buf.split_at_mut(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_variance_lands_in_one_to_four() {
        for v in [1e-300, 3e-7, 0.02, 1.0, 4.0, 7.9, 1e300, f64::from_bits(1)] {
            let s = Scale::of(&[0.0, 1.0], &[v, f64::MAX]);
            let w = s.var_in(v);
            assert!((1.0..4.0).contains(&w), "{v} -> {w}");
            assert_eq!(s.var_out(w), v);
        }
    }
}
