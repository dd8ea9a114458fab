//! Cumulative meta-analysis (metafor `cumul()`): the model refitted on the
//! first 1, 2, …, k studies in a given order (e.g. by publication year). The
//! order is the caller's choice, never a default: [`order_by`] for typed
//! keys, [`order_by_column`] for a table column as read (metafor's
//! `cumul(fit, order = column)`, which sorts with R's `order()`).

use crate::error::Result;
use crate::model::{ValidRmaOptions, rma};
use serde::Serialize;

/// The fit after adding study `added`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CumulStep {
    /// Index (0-based, in the input) of the study added at this step.
    pub added: usize,
    /// Studies in the fit.
    pub k: usize,
    /// Pooled estimate.
    #[serde(rename = "beta")]
    pub estimate: f64,
    /// Its SE.
    pub se: f64,
    /// p-value.
    pub pval: Option<f64>,
    /// CI lower bound.
    pub ci_lb: f64,
    /// CI upper bound.
    pub ci_ub: f64,
    /// τ².
    pub tau2: f64,
    /// I² (%).
    #[serde(rename = "I2")]
    pub i2: Option<f64>,
    /// H².
    #[serde(rename = "H2")]
    pub h2: Option<f64>,
    /// Cochran's Q.
    #[serde(rename = "QE")]
    pub q: f64,
}

/// Cumulative fits in `order` (a permutation of 0..k).
pub fn cumul(
    yi: &[f64],
    vi: &[f64],
    order: &[usize],
    opts: &ValidRmaOptions,
) -> Result<Vec<CumulStep>> {
    let mut ys = Vec::with_capacity(order.len());
    let mut vs = Vec::with_capacity(order.len());
    let mut out = Vec::with_capacity(order.len());
    for &i in order {
        ys.push(yi[i]);
        vs.push(vi[i]);
        let f = rma(&ys, &vs, opts)?;
        out.push(CumulStep {
            added: i,
            k: ys.len(),
            estimate: f.estimate,
            se: f.se,
            pval: f.pval(),
            ci_lb: f.ci_lb,
            ci_ub: f.ci_ub,
            tau2: f.tau2,
            i2: f.i2,
            h2: f.h2,
            q: f.q,
        });
    }
    Ok(out)
}

/// The order that sorts studies by `key` (stable: ties keep input order).
pub fn order_by<K: PartialOrd>(keys: &[K]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    idx.sort_by(|&a, &b| {
        keys[a]
            .partial_cmp(&keys[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    idx
}

/// The order that sorts a table column as R's `order()` does
/// (`cumul(fit, order = column)`): numerically when every present value is
/// a number, else as text (bytewise, R's C locale; the same as any locale for
/// text of one case); ties keep input order; missing values (`None`) go last
/// also when `decreasing`.
///
/// # Examples
///
/// ```
/// use spotmeta::analysis::cumul::order_by_column;
/// let col = [Some("10".into()), None, Some("9".into()), Some("10".into())];
/// assert_eq!(order_by_column(&col, false), [2, 0, 3, 1]);
/// assert_eq!(order_by_column(&col, true), [0, 3, 2, 1]);
/// ```
pub fn order_by_column(values: &[Option<String>], decreasing: bool) -> Vec<usize> {
    use std::cmp::Ordering;
    let numbers: Option<Vec<Option<f64>>> = values
        .iter()
        .map(|v| match v {
            None => Some(None),
            Some(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| !x.is_nan())
                .map(Some),
        })
        .collect();
    let mut idx: Vec<usize> = (0..values.len()).collect();
    let dir = |o: Ordering| if decreasing { o.reverse() } else { o };
    match numbers {
        Some(x) => idx.sort_by(|&a, &b| match (x[a], x[b]) {
            (Some(p), Some(q)) => dir(p.total_cmp(&q)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }),
        None => idx.sort_by(|&a, &b| match (&values[a], &values[b]) {
            (Some(p), Some(q)) => dir(p.as_bytes().cmp(q.as_bytes())),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }),
    }
    idx
}
