//! The standard battery run after a fit, each part with the reason when it
//! cannot run: leave-one-out, influence, cumulative by year, Egger's
//! regression test (k ≥ 3) and trim and fill (k ≥ 3). Used by `spotmeta
//! sensitivity` and the report, for the spot dataset and for any table.

use super::cumul::{CumulStep, cumul, order_by};
use super::influence::{Influence, influence};
use super::leave1out::{Leave1Out, leave1out};
use super::regtest::{Regtest, RegtestModel, regtest};
use super::trimfill::{TrimFill, trimfill};
use crate::error::{Error, Result};
use crate::model::{RmaFit, ValidRmaOptions};
use serde::Serialize;

/// A result, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome<T> {
    /// The analysis ran.
    Done(T),
    /// It could not run, and why.
    NotRun {
        /// Why.
        reason: String,
    },
}

impl<T> Outcome<T> {
    /// The result, if any.
    pub fn done(&self) -> Option<&T> {
        match self {
            Outcome::Done(t) => Some(t),
            Outcome::NotRun { .. } => None,
        }
    }

    fn from(r: Result<T>) -> Result<Outcome<T>> {
        match r {
            Ok(t) => Ok(Outcome::Done(t)),
            Err(Error::Unsupported(reason)) => Ok(Outcome::NotRun { reason }),
            Err(e) => Err(e),
        }
    }
}

/// The diagnostics of one fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Study labels, in input order.
    pub labels: Vec<String>,
    /// metafor `leave1out()`.
    pub leave1out: Outcome<Vec<Leave1Out>>,
    /// metafor `influence()`.
    pub influence: Outcome<Vec<Influence>>,
    /// metafor `cumul()` by year (input order for ties).
    pub cumul: Outcome<Vec<CumulStep>>,
    /// metafor `regtest()` (model "rma").
    pub regtest: Outcome<Regtest>,
    /// metafor `trimfill()` (L0).
    pub trimfill: Outcome<TrimFill>,
}

/// Run the battery for `fit` on `yi`, `vi` (`years` orders the cumulative
/// analysis; without years it is not run).
pub fn diagnose(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    years: Option<&[f64]>,
    fit: &RmaFit,
    opts: &ValidRmaOptions,
) -> Result<Diagnostics> {
    let k = yi.len();
    let opts = opts.with_method(fit.method).with_test(fit.test);
    let need2 =
        |what: &str| Error::Unsupported(format!("{what} needs at least 2 studies (k = {k})"));
    Ok(Diagnostics {
        labels: labels.to_vec(),
        leave1out: Outcome::from(if k >= 2 {
            leave1out(yi, vi, &opts)
        } else {
            Err(need2("leave-one-out"))
        })?,
        influence: Outcome::from(if k >= 3 {
            influence(yi, vi, fit, &opts)
        } else {
            Err(Error::Unsupported(format!(
                "influence diagnostics need at least 3 studies (k = {k})"
            )))
        })?,
        cumul: Outcome::from(match years {
            Some(y) if k >= 2 => cumul(yi, vi, &order_by(y), &opts),
            Some(_) => Err(need2("a cumulative meta-analysis")),
            None => Err(Error::Unsupported(
                "no publication years to order by".into(),
            )),
        })?,
        regtest: Outcome::from(regtest(yi, vi, RegtestModel::Rma, &opts))?,
        trimfill: Outcome::from(trimfill(yi, vi, &opts))?,
    })
}
