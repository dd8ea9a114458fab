//! Leave-one-out diagnostics (metafor `leave1out()`): the model refitted
//! without each study in turn, with the same method, test and level.

use crate::error::Result;
use crate::model::{RmaFit, ValidRmaOptions, rma};
use serde::Serialize;

/// The fit without study `omitted` (0-based index into the input).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leave1Out {
    /// Index of the omitted study (0-based).
    pub omitted: usize,
    /// Pooled estimate without it.
    #[serde(rename = "beta")]
    pub estimate: f64,
    /// Its SE.
    pub se: f64,
    /// Test statistic.
    pub zval: f64,
    /// p-value.
    pub pval: Option<f64>,
    /// CI lower bound.
    pub ci_lb: f64,
    /// CI upper bound.
    pub ci_ub: f64,
    /// Cochran's Q without it.
    #[serde(rename = "QE")]
    pub q: f64,
    /// p-value of Q.
    #[serde(rename = "QEp")]
    pub q_pval: Option<f64>,
    /// τ² without it.
    pub tau2: f64,
    /// I² (%) without it.
    #[serde(rename = "I2")]
    pub i2: Option<f64>,
    /// H² without it.
    #[serde(rename = "H2")]
    pub h2: Option<f64>,
}

impl Leave1Out {
    fn new(omitted: usize, f: &RmaFit) -> Self {
        Leave1Out {
            omitted,
            estimate: f.estimate,
            se: f.se,
            zval: f.zval,
            pval: f.pval(),
            ci_lb: f.ci_lb,
            ci_ub: f.ci_ub,
            q: f.q,
            q_pval: f.q_pval(),
            tau2: f.tau2,
            i2: f.i2,
            h2: f.h2,
        }
    }
}

/// Call `f(i, fit without study i)` for every study i, reusing two buffers.
pub(crate) fn for_each_deletion<T>(
    yi: &[f64],
    vi: &[f64],
    opts: &ValidRmaOptions,
    mut f: impl FnMut(usize, &RmaFit) -> T,
) -> Result<Vec<T>> {
    let k = yi.len();
    let (mut ys, mut vs) = (Vec::with_capacity(k), Vec::with_capacity(k));
    let mut out = Vec::with_capacity(k);
    for i in 0..k {
        ys.clear();
        vs.clear();
        for j in (0..k).filter(|&j| j != i) {
            ys.push(yi[j]);
            vs.push(vi[j]);
        }
        out.push(f(i, &rma(&ys, &vs, opts)?));
    }
    Ok(out)
}

/// Refit without each study (k ≥ 2). With k = 2 each refit has k = 1 and is
/// a common-effect estimate (see [`crate::model::Note::SingleStudy`]).
pub fn leave1out(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions) -> Result<Vec<Leave1Out>> {
    for_each_deletion(yi, vi, opts, Leave1Out::new)
}
