//! Permutation test for a meta-regression (metafor `permutest()`; Higgins &
//! Thompson 2004, *Statistics in Medicine* 23:1663–1682): the rows of the
//! design matrix are shuffled against (yᵢ, vᵢ), the model is refitted, and
//! the p-value is the share of permutations — the observed order counted as
//! the first — whose |z| (per coefficient) or QM (omnibus) is at least the
//! observed one (within √ε, as metafor). The shuffles come from a seeded
//! ChaCha RNG, so a run is reproducible; metafor's own p-values differ only by
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
    /// Seed of the RNG.
    pub seed: u64,
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
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..x.k).collect();
    let mut hits = vec![0usize; x.p];
    let (mut qm_hits, mut done) = (0usize, 0usize);
    for i in 0..iter {
        let perm = if i == 0 {
            fit.clone()
        } else {
            order.shuffle(&mut rng);
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
        qm_pval: qm_hits as f64 / n,
        pval: hits.iter().map(|h| *h as f64 / n).collect(),
    })
}
