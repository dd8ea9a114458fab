//! Permutation test for a meta-regression (metafor `permutest()`; Higgins &
//! Thompson 2004, *Statistics in Medicine* 23:1663–1682): the rows of the
//! design matrix are shuffled against (yᵢ, vᵢ), the model is refitted, and
//! the p-value is the share of permutations — the observed order counted as
//! the first — whose |z| (per coefficient) or QM (omnibus) is at least the
//! observed one (within √ε, as metafor). When there are no more than `iter`
//! orderings (k! ≤ iter) every one is fitted once — the exact test metafor
//! also switches to; otherwise the shuffles come from a seeded ChaCha RNG, so
//! a run is reproducible and metafor's own p-values differ only by
//! Monte-Carlo error.

use crate::error::{Error, Result};
use crate::model::{Design, RmaModsFit, ValidRmaOptions, rma_mods};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

/// Permutation p-values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permutest {
    /// Permutations used (including the observed order).
    pub iter: usize,
    /// Seed of the RNG (unused by an exact test).
    pub seed: u64,
    /// Whether every ordering was fitted (exact test).
    pub exact: bool,
    /// Omnibus (QM) permutation p-value.
    pub qm_pval: f64,
    /// Per-coefficient permutation p-values (intercept first).
    pub pval: Vec<f64>,
}

/// Run `iter` permutations (≥ 2) of the rows of `x` for `fit`.
pub fn permutest(
    yi: &[f64],
    vi: &[f64],
    x: &Design,
    fit: &RmaModsFit,
    opts: &ValidRmaOptions,
    iter: usize,
    seed: u64,
) -> Result<Permutest> {
    if iter < 2 {
        return Err(Error::option(
            "--iter",
            "a permutation test needs at least 2 iterations",
        ));
    }
    let tol = f64::EPSILON.sqrt();
    let exact = (1..=x.k)
        .try_fold(1usize, |acc, i| acc.checked_mul(i))
        .is_some_and(|f| f <= iter);
    let orders: Box<dyn Iterator<Item = Vec<usize>>> = if exact {
        Box::new(all_orders(x.k).into_iter())
    } else {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..x.k).collect();
        Box::new((0..iter).map(move |i| {
            if i > 0 {
                order.shuffle(&mut rng);
            }
            order.clone()
        }))
    };
    let identity: Vec<usize> = (0..x.k).collect();
    let mut hits = vec![0usize; x.p];
    let (mut qm_hits, mut done) = (0usize, 0usize);
    for order in orders {
        let perm = if order == identity {
            fit.clone()
        } else {
            match rma_mods(yi, vi, &x.permuted_rows(&order), opts) {
                Ok(f) => f,
                Err(_) => continue, // metafor skips failed refits (na.rm = TRUE)
            }
        };
        done += 1;
        for ((h, z), z_obs) in hits.iter_mut().zip(&perm.zval).zip(&fit.zval) {
            if z.abs() >= z_obs.abs() - tol {
                *h += 1;
            }
        }
        if perm.qm >= fit.qm - tol {
            qm_hits += 1;
        }
    }
    let n = done as f64;
    Ok(Permutest {
        iter: done,
        seed,
        exact,
        qm_pval: qm_hits as f64 / n,
        pval: hits.iter().map(|h| *h as f64 / n).collect(),
    })
}

/// Every ordering of 0..k (Heap's algorithm), the identity first.
fn all_orders(k: usize) -> Vec<Vec<usize>> {
    let mut a: Vec<usize> = (0..k).collect();
    let mut c = vec![0usize; k];
    let mut out = vec![a.clone()];
    let mut i = 0;
    while i < k {
        if c[i] < i {
            if i % 2 == 0 {
                a.swap(0, i);
            } else {
                a.swap(c[i], i);
            }
            out.push(a.clone());
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_orders_are_distinct_and_complete() {
        let o = all_orders(4);
        assert_eq!(o.len(), 24);
        let mut s = o.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 24);
        assert_eq!(o[0], vec![0, 1, 2, 3]);
    }
}
