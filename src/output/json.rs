//! Machine-readable results: one JSON schema for every command.
//!
//! Every JSON document spotmeta writes (`--format json` on any command,
//! `gosh.json`, `reports/results.json`) is an object that opens with
//! `"schema": "spotmeta/1"` ([`SCHEMA_VERSION`]) and `"command"`, and is
//! described by `schema/spotmeta.schema.json` ([`SCHEMA`], JSON Schema draft
//! 2020-12). Keys follow metafor's names (`beta`, `se`, `zval`, `pval`,
//! `ci_lb`, `ci_ub`, `tau2`, `se_tau2`, `I2`, `H2`, `QE`, `QEp`, `QM`,
//! `QMp`, `k`, `level`); `level` is in percent (95, as metafor's `level=`
//! argument); undefined values are `null`.
//!
//! A new command adopts the schema with one call: [`document`]`(command,
//! &body)` (or [`envelope`] for the value), plus a `$defs` entry and an
//! `allOf` branch for `command` in the schema file.
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

pub(crate) fn json_err(e: serde_json::Error) -> Error {
    Error::Render {
        what: "JSON".into(),
        message: e.to_string(),
    }
}

/// Version of the JSON schema every document carries in its `schema` key.
/// Bump it when a key is renamed or removed (adding keys keeps it).
pub const SCHEMA_VERSION: &str = "spotmeta/1";

/// The JSON schema (draft 2020-12) of every document spotmeta writes, as
/// shipped in `schema/spotmeta.schema.json`.
pub const SCHEMA: &str = include_str!("../../schema/spotmeta.schema.json");

/// `body` wrapped for output: an object gets `schema` and `command` keys in
/// front of its own; an array becomes `{"schema", "command", "rows": [...]}`.
///
/// # Errors
///
/// [`Error::Render`] if the body cannot be serialised, or is neither an
/// object nor an array.
pub fn envelope<T: Serialize + ?Sized>(command: &str, body: &T) -> Result<Value> {
    let mut o = serde_json::Map::new();
    o.insert("schema".into(), json!(SCHEMA_VERSION));
    o.insert("command".into(), json!(command));
    match value(body)? {
        Value::Object(m) => {
            for (k, v) in m {
                if k != "schema" && k != "command" {
                    o.insert(k, v);
                }
            }
        }
        rows @ Value::Array(_) => {
            o.insert("rows".into(), rows);
        }
        other => {
            return Err(Error::Render {
                what: "JSON".into(),
                message: format!(
                    "{command}: a document body must be an object or an array, not {other}"
                ),
            });
        }
    }
    Ok(Value::Object(o))
}

/// `body` as the pretty-printed JSON document of `command`
/// ([`envelope`] + [`pretty`]).
///
/// # Errors
///
/// As [`envelope`].
pub fn document<T: Serialize + ?Sized>(command: &str, body: &T) -> Result<String> {
    pretty(&envelope(command, body)?)
}

/// `value` as pretty-printed JSON with a final newline.
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
        return document("rma", &model(m)?);
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
    document("rma", &v)
}

/// A requested model (`--mods`, `--multilevel`, `--robust`) as JSON: the
/// fit's own keys at the top level (a three-level fit adds `clusters`,
/// `sigma2`, `sigma2_ci`), and the CR2 results under `robust`; a subgroup
/// analysis (`--by`) as [`crate::output::subgroup::json`].
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
            let mut v = value(fit)?;
            if let Some((_, rob)) = robust {
                v["robust"] = value(rob)?;
            }
            v
        }
        ModelFit::Robust { model, robust, .. } => {
            let mut v = match model {
                Univariate::Rma(fit) => value(&RmaSummary::new(fit, None))?,
                Univariate::Mods(fit) => value(fit)?,
            };
            v["robust"] = value(robust)?;
            v
        }
        ModelFit::Subgroups(a) => crate::output::subgroup::json(a)?,
    })
}

/// `spotmeta flags --format json`: the thresholds and every row's flags.
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn flags(thresholds: &ConfoundOptions, rows: &[RowFlags]) -> Result<String> {
    document("flags", &json!({"thresholds": thresholds, "rows": rows}))
}

/// `gosh.json`: the subsets' summary, every study's with/without means and
/// the study labels (`method` names the τ² estimator).
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn gosh(g: &Gosh, method: &str, labels: &[String]) -> Result<String> {
    document(
        "gosh",
        &json!({
            "k": g.k,
            "method": method,
            "subsets": g.subsets.len(),
            "failed": g.failed,
            "all_studies": {
                "beta": g.subsets.last().map(|s| s[0]),
                "I2": g.subsets.last().map(|s| s[1]),
                "tau2": g.subsets.last().map(|s| s[2]),
            },
            "mean": { "beta": g.mean[0], "I2": g.mean[1], "tau2": g.mean[2] },
            "beta_range": [g.estimate_range.0, g.estimate_range.1],
            "labels": labels,
            "studies": g.studies,
        }),
    )
}

/// `spotmeta add --format json`: whether the file was written, the lines
/// and rows added, and the rows removed.
///
/// # Errors
///
/// [`Error::Render`] if a value cannot be serialised.
pub fn change(change: &Change) -> Result<String> {
    let by_line = crate::data::ByLine::new(&change.added.rows, |r| r.line);
    let rows: Vec<_> = change
        .added_lines
        .iter()
        .filter_map(|l| by_line.get(*l))
        .collect();
    document(
        "add",
        &json!({
            "written": change.written, "added_lines": change.added_lines, "rows": rows, "removed": change.removed,
        }),
    )
}
