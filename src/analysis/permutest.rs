//! Permutation test for a meta-regression (metafor `permutest()`; Higgins &
//! Thompson 2004, *Statistics in Medicine* 23:1663–1682): the rows of the
//! design matrix are shuffled against (yᵢ, vᵢ), the model is refitted, and
//! the p-value is the share of permutations — the observed order counted as
//! the first — whose |z| (per coefficient) or QM (omnibus) is at least the
//! observed one (within √ε, as metafor). An intercept-only model flips the
//! signs of the yᵢ instead. As metafor counts them, there are k!/∏ nᵍ!
//! distinct orderings (nᵍ rows of X identical to each other; e.g. C(7, 3) = 35
//! for a binary moderator with 3 ones among 7 rows), or 2ᵏ sign patterns;
//! when that is no more than `iter` every one is fitted once — the exact test
//! metafor also switches to; otherwise the draws come from a seeded RNG, so a
//! run is reproducible and metafor's own p-values differ only by Monte-Carlo
//! error.

use crate::error::{Error, Result};
use crate::model::{Design, RmaModsFit, ValidRmaOptions, rma_mods};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
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
    #[serde(rename = "QMp")]
    pub qm_pval: f64,
    /// Per-coefficient permutation p-values (intercept first).
    pub pval: Vec<f64>,
}

/// Run `iter` permutations (≥ 2) of the rows of `x` for `fit`.
///
/// As metafor's `permutest()`: with moderators the rows of X are permuted,
/// and the test is exact (every distinct arrangement fitted once) when the
/// number of distinct arrangements, k!/∏ nᵍ! over groups of identical rows,
/// is at most `iter`; an intercept-only model flips the signs of the yᵢ
/// instead, exact when 2ᵏ ≤ `iter`.
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
    let k = x.k;
    let int_only = x.p == 1 && x.x.iter().all(|v| *v == 1.0);
    // Each candidate: rows of X in a new order, or signs of yi.
    enum Draw {
        Rows(Vec<usize>),
        Signs(Vec<f64>),
    }
    let (exact, draws): (bool, Box<dyn Iterator<Item = Draw>>) = if int_only {
        let exact = k < usize::BITS as usize && (1usize << k) <= iter;
        if exact {
            (
                true,
                Box::new((0..1usize << k).map(move |m| {
                    Draw::Signs(
                        (0..k)
                            .map(|i| if m >> i & 1 == 1 { -1.0 } else { 1.0 })
                            .collect(),
                    )
                })),
            )
        } else {
            let mut rng = StdRng::seed_from_u64(seed);
            (
                false,
                Box::new((0..iter).map(move |i| {
                    Draw::Signs(
                        (0..k)
                            .map(|_| {
                                if i > 0 && rng.random::<bool>() {
                                    -1.0
                                } else {
                                    1.0
                                }
                            })
                            .collect(),
                    )
                })),
            )
        }
    } else {
        let groups = row_groups(x);
        let exact = distinct_arrangements(&groups).is_some_and(|n| n <= iter as u128);
        if exact {
            (
                true,
                Box::new(distinct_orders(&groups).into_iter().map(Draw::Rows)),
            )
        } else {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut order: Vec<usize> = (0..k).collect();
            (
                false,
                Box::new((0..iter).map(move |i| {
                    if i > 0 {
                        order.shuffle(&mut rng);
                    }
                    Draw::Rows(order.clone())
                })),
            )
        }
    };
    let identity: Vec<usize> = (0..k).collect();
    let stat = |f: &RmaModsFit| {
        if int_only {
            f.zval[0] * f.zval[0]
        } else {
            f.qm
        }
    };
    let mut hits = vec![0usize; x.p];
    let (mut qm_hits, mut done) = (0usize, 0usize);
    for draw in draws {
        let refit = match &draw {
            Draw::Rows(order) if *order == identity => Ok(fit.clone()),
            Draw::Signs(signs) if signs.iter().all(|s| *s > 0.0) => Ok(fit.clone()),
            Draw::Rows(order) => rma_mods(yi, vi, &x.permuted_rows(order), opts),
            Draw::Signs(signs) => {
                let flipped: Vec<f64> = yi.iter().zip(signs).map(|(y, s)| y * s).collect();
                rma_mods(&flipped, vi, x, opts)
            }
        };
        let Ok(perm) = refit else {
            continue; // metafor skips failed refits (na.rm = TRUE)
        };
        done += 1;
        for ((h, z), z_obs) in hits.iter_mut().zip(&perm.zval).zip(&fit.zval) {
            if z.abs() >= z_obs.abs() - tol {
                *h += 1;
            }
        }
        if stat(&perm) >= stat(fit) - tol {
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

/// For each row of X, the index of the first row identical to it.
fn row_groups(x: &Design) -> Vec<usize> {
    let row = |i: usize| &x.x[i * x.p..(i + 1) * x.p];
    (0..x.k)
        .map(|i| (0..=i).find(|&j| row(j) == row(i)).unwrap_or(i))
        .collect()
}

/// k!/∏ nᵍ!, the number of distinct arrangements of the rows (None on overflow).
fn distinct_arrangements(groups: &[usize]) -> Option<u128> {
    let mut counts = std::collections::BTreeMap::new();
    for g in groups {
        *counts.entry(*g).or_insert(0u128) += 1;
    }
    // ∏ C(placed + n, n), one group at a time.
    let (mut total, mut placed) = (1u128, 0u128);
    for n in counts.into_values() {
        for i in 1..=n {
            total = total.checked_mul(placed + i)? / i;
        }
        placed += n;
    }
    Some(total)
}

/// Every distinct arrangement of the rows (rows with the same group are
/// interchangeable), as row orders: the lexicographic successors of the
/// sorted group sequence (Knuth's Algorithm L), each mapped to rows by taking
/// the members of each group in turn. The observed order is among them.
fn distinct_orders(groups: &[usize]) -> Vec<Vec<usize>> {
    let mut seq = groups.to_vec();
    seq.sort_unstable();
    let mut out = Vec::new();
    loop {
        let mut next_member: std::collections::BTreeMap<usize, usize> = Default::default();
        let order = seq
            .iter()
            .map(|g| {
                let start = next_member.entry(*g).or_insert(0);
                let row = (0..groups.len())
                    .filter(|&i| groups[i] == *g)
                    .nth(*start)
                    .expect("group member");
                *start += 1;
                row
            })
            .collect();
        out.push(order);
        // Next permutation of seq.
        let Some(i) = (1..seq.len()).rev().find(|&i| seq[i - 1] < seq[i]) else {
            break;
        };
        let j = (i..seq.len())
            .rev()
            .find(|&j| seq[j] > seq[i - 1])
            .expect("successor");
        seq.swap(i - 1, j);
        seq[i..].reverse();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_orders_of_a_binary_moderator_number_k_choose_n1() {
        // 3 ones and 4 zeros in the moderator: C(7, 3) = 35 arrangements.
        let groups = [0, 1, 1, 0, 1, 0, 0];
        assert_eq!(distinct_arrangements(&groups), Some(35));
        let o = distinct_orders(&groups);
        assert_eq!(o.len(), 35);
        let mut patterns: Vec<Vec<usize>> = o
            .iter()
            .map(|ord| ord.iter().map(|&r| groups[r]).collect())
            .collect();
        patterns.sort();
        patterns.dedup();
        assert_eq!(patterns.len(), 35);
        assert!(o.contains(&(0..7).collect::<Vec<_>>()));
    }
}
