//! Machine-readable results. The result of `spotmeta rma` is one JSON object
//! whose keys follow metafor's names (`estimate`, `se`, `ci_lb`, …, `tau2`,
//! `I2`, `H2`, `Q`, `Q_df`, `Q_pval`); undefined values are `null`.
//! [`pretty`] writes any result value the way every command prints it.
//!
//! [`RmaSummary`], the flat numbers of a fit and its CIs, is defined in
//! [`crate::analysis::summary`] (batch pooling tabulates it without this
//! module) and re-exported here.

use crate::analysis::confounds::{ConfoundOptions, RowFlags};
use crate::data::append::Change;
use crate::error::{Error, Result};
use crate::gosh::Gosh;
use crate::review::{EffectRows, Findings, ModelFit, Univariate};
use serde::Serialize;
use serde_json::{Value, json};

pub use crate::analysis::summary::RmaSummary;

fn json_err(e: serde_json::Error) -> Error {
    Error::Render {
        what: "JSON".into(),
        message: e.to_string(),
    }
}

/// `value` as pretty-printed JSON with a final newline, as every command
/// prints it.
///
/// # Errors
///
/// [`Error::Render`] if the value cannot be serialised.
pub fn pretty<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value).map_err(json_err)? + "\n")
}

fn value<T: Serialize + ?Sized>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(json_err)
}

/// `spotmeta rma --format json`: the model `f` was asked for, else the
/// pooled fit ([`RmaSummary`]) with the spot dataset's rows used and left
/// out, or a table's omitted rows.
///
/// # Errors
///
/// [`Error::Unsupported`] when `f` holds neither a model nor a pooled fit.
pub fn rma(f: &Findings) -> Result<String> {
    if let Some(m) = &f.models {
        return pretty(&model(m)?);
    }
    let p = f
        .pooled
        .as_ref()
        .ok_or_else(|| Error::Unsupported("nothing was pooled".into()))?;
    let mut v = value(&RmaSummary::new(&p.fit, p.tau2_ci.as_ref()))?;
    match &f.rows {
        EffectRows::Spot(sel) => {
            v["used"] = value(&sel.used)?;
            v["left_out"] = value(&sel.left_out)?;
        }
        EffectRows::Table(_) => {
            v["omitted"] = json!(crate::output::text::rma::omitted(&f.rows));
        }
    }
    if let Some(why) = &p.tau2_ci_why {
        v["tau2_ci"] = json!(why);
    }
    pretty(&v)
}

/// A requested model (`--mods`, `--multilevel`, `--robust`) as JSON.
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn model(m: &ModelFit) -> Result<Value> {
    Ok(match m {
        ModelFit::Regression {
            fit,
            permutest,
            dropped,
            terms,
            predictions,
        } => {
            let mut v = value(fit)?;
            v["permutest"] = value(permutest)?;
            v["omitted_missing_moderator"] = json!(dropped);
            if let Some(t) = terms {
                v["formula"] = json!(t.formula.text);
                v["dropped_redundant"] = json!(t.dropped);
            }
            if !predictions.is_empty() {
                v["predict"] = json!(
                    predictions
                        .iter()
                        .map(|(row, p)| json!({"newmods": row, "pred": p.pred, "se": p.se, "ci_lb": p.ci_lb, "ci_ub": p.ci_ub, "pi_lb": p.pi_lb, "pi_ub": p.pi_ub}))
                        .collect::<Vec<_>>()
                );
            }
            v
        }
        ModelFit::InterceptPermutest {
            fit,
            tau2_ci,
            permutest,
        } => {
            let mut v = value(&RmaSummary::new(fit, tau2_ci.0.as_ref()))?;
            v["permutest"] = value(permutest)?;
            v
        }
        ModelFit::Multilevel { fit, robust, .. } => {
            let mut o = serde_json::Map::new();
            o.insert("multilevel".into(), value(fit)?);
            o.insert("sigma2".into(), json!(fit.sigma2));
            o.insert("sigma2_ci".into(), value(&fit.sigma2_ci)?);
            if let Some((_, rob)) = robust {
                o.insert("robust".into(), value(rob)?);
            }
            Value::Object(o)
        }
        ModelFit::Robust { model, robust, .. } => {
            let mut o = serde_json::Map::new();
            let m = match model {
                Univariate::Rma(fit) => value(&RmaSummary::new(fit, None))?,
                Univariate::Mods(fit) => value(fit)?,
            };
            o.insert("model".into(), m);
            o.insert("robust".into(), value(robust)?);
            Value::Object(o)
        }
    })
}

/// `spotmeta flags --format json`: the thresholds and every row's flags.
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn flags(thresholds: &ConfoundOptions, rows: &[RowFlags]) -> Result<String> {
    pretty(&json!({"thresholds": thresholds, "rows": rows}))
}

/// `gosh.json`: the subsets' summary, every study's with/without means and
/// the study labels (`method` names the τ² estimator).
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn gosh(g: &Gosh, method: &str, labels: &[String]) -> Result<String> {
    pretty(&json!({
        "k": g.k,
        "method": method,
        "subsets": g.subsets.len(),
        "failed": g.failed,
        "all_studies": {
            "estimate": g.subsets.last().map(|s| s[0]),
            "I2": g.subsets.last().map(|s| s[1]),
            "tau2": g.subsets.last().map(|s| s[2]),
        },
        "mean": { "estimate": g.mean[0], "I2": g.mean[1], "tau2": g.mean[2] },
        "estimate_range": [g.estimate_range.0, g.estimate_range.1],
        "labels": labels,
        "studies": g.studies,
    }))
}

/// `spotmeta add --format json`: whether the file was written, the lines
/// and rows added, and the rows removed.
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn change(change: &Change) -> Result<String> {
    let rows: Vec<_> = change
        .added_lines
        .iter()
        .filter_map(|l| change.after.rows.iter().find(|r| r.line == *l))
        .collect();
    pretty(&json!({
        "written": change.written, "added_lines": change.added_lines, "rows": rows, "removed": change.removed,
    }))
}
