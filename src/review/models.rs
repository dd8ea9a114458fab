//! The models `rma` fits on request, on the rows a dataset pools:
//! meta-regression (`--mods`, metafor `rma(mods = ~ …)`, with `permutest`),
//! the three-level model (`--multilevel`, `rma.mv(random = ~ 1 | CLUSTER/row)`),
//! cluster-robust CR2 inference (`--robust`, `robust(…, clubSandwich =
//! TRUE)`) and subgroup analyses (`--by`, alone or with `--multilevel`). Moderator and cluster columns are read from the table; on the
//! spot-reduction dataset `log_session_ratio` and `weekly_min_diff` are
//! derived from each row, and the dependent-effects models pool every
//! outcome of the included exercise trials.

use super::dataset::Dataset;
use crate::analysis::multilevel_primary::select_all_outcomes;
use crate::analysis::permutest::{Permutest, permutest};
use crate::analysis::sensitivity::ee_moderators;
use crate::analysis::subgroup::{SubgroupAnalysis, analyse};
use crate::analysis::{Tau2Ci, confint_or_why};
use crate::data::Table;
use crate::error::{Error, Result};
use crate::escalc::spot::SpotOptions;
use crate::model::formula::{Formula, ModelTerms, NewValue};
use crate::model::moderators::ModColumn;
use crate::model::multilevel::{Clusters, MultilevelFit, rma_multilevel};
use crate::model::robust::{RobustFit, robust_multilevel, robust_univariate};
use crate::model::{
    Design, Prediction, RmaFit, RmaModsFit, TestKind, ValidRmaOptions, newmods_row, predict_mods,
    rma, rma_mods,
};

/// A model asked for besides the plain pooled fit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSpec {
    /// Moderators as an R formula (`~ a + b`, `~ a*b`, `~ factor(g)`, `~ 0 +
    /// x`) or a comma-separated list of columns; text columns are
    /// dummy-coded.
    pub mods: Option<String>,
    /// Permutation test with this many permutations: of a meta-regression
    /// (rows of X permuted) or, without moderators, of the intercept-only
    /// model (signs of yi flipped), as metafor's `permutest`.
    pub permutest: Option<usize>,
    /// `predict(newmods = )` rows: `COLUMN=VALUE` pairs or the coefficient
    /// columns' values in order, comma-separated.
    pub newmods: Vec<String>,
    /// Seed of the permutation test (default 1).
    pub seed: Option<u64>,
    /// `CLUSTER` or `CLUSTER/INNER` of a three-level model.
    pub multilevel: Option<String>,
    /// Cluster column of CR2 inference.
    pub robust: Option<String>,
    /// A column whose values define subgroups (`--by`): the model (`rma`,
    /// or the three-level model with `multilevel`) is fitted within each,
    /// and the differences are tested ([`crate::analysis::subgroup`]).
    pub by: Option<String>,
}

impl ModelSpec {
    /// Whether nothing beyond the plain pooled fit is asked for.
    pub fn is_plain(&self) -> bool {
        self.mods.is_none()
            && self.permutest.is_none()
            && self.multilevel.is_none()
            && self.robust.is_none()
            && self.by.is_none()
    }

    fn dependent(&self) -> bool {
        self.multilevel.is_some() || self.robust.is_some()
    }
}

/// The univariate fit under CR2 inference: intercept only, or with
/// moderators.
#[derive(Debug, Clone, PartialEq)]
pub enum Univariate {
    /// `rma` without moderators.
    Rma(RmaFit),
    /// A meta-regression.
    Mods(RmaModsFit),
}

/// A fitted [`ModelSpec`].
#[derive(Debug, Clone, PartialEq)]
pub enum ModelFit {
    /// `--mods` alone: a meta-regression, with permutation p-values when
    /// asked.
    Regression {
        /// The fit.
        fit: RmaModsFit,
        /// The permutation test.
        permutest: Option<Permutest>,
        /// Rows without a moderator value ("line N"), left out.
        dropped: Vec<String>,
        /// The formula's terms (coefficient names, redundant columns dropped).
        terms: Option<ModelTerms>,
        /// `--newmods`: each design row and its prediction.
        predictions: Vec<(Vec<f64>, Prediction)>,
    },
    /// `--permutest` without moderators: the intercept-only model with its
    /// sign-flip permutation test.
    InterceptPermutest {
        /// The fit.
        fit: RmaFit,
        /// Q-profile CI of τ², or why there is none.
        tau2_ci: (Option<Tau2Ci>, Option<String>),
        /// The permutation test.
        permutest: Permutest,
    },
    /// `--multilevel` (with or without `--mods`), with CR2 when asked.
    Multilevel {
        /// The cluster column.
        cluster: String,
        /// The three-level fit.
        fit: MultilevelFit,
        /// CR2 inference: its cluster column and results.
        robust: Option<(String, RobustFit)>,
    },
    /// `--robust` without `--multilevel`.
    Robust {
        /// The cluster column.
        cluster: String,
        /// The univariate fit.
        model: Univariate,
        /// Coefficient names.
        names: Vec<String>,
        /// CR2 results.
        robust: RobustFit,
    },
    /// `--by` (with or without `--multilevel`): a fit per subgroup and the
    /// tests for subgroup differences.
    Subgroups(SubgroupAnalysis),
}

/// A moderator value the dataset derives rather than stores: `Some(value)`
/// for a derived moderator name (the value itself may be missing), `None`
/// for a plain column.
type Derived<'a> = &'a dyn Fn(&str, u64) -> Option<Option<f64>>;

/// Moderator columns and which rows have every moderator.
type ModColumns = (Vec<(String, ModColumn)>, Vec<bool>);

fn no_column(table: &Table, column: &str, purpose: &str) -> Error {
    Error::NoSuchColumn {
        file: table.path.clone(),
        column: column.into(),
        purpose: purpose.into(),
        headers: table.headers.clone(),
    }
}

/// Moderator columns for the rows `lines` of `table` (None for a row where a
/// moderator is missing), numeric where every present value parses.
fn moderator_columns(
    table: &Table,
    names: &[String],
    lines: &[u64],
    derived: Derived<'_>,
) -> Result<ModColumns> {
    let mut keep = vec![true; lines.len()];
    let mut cols = Vec::new();
    let by_line = crate::data::ByLine::new(&table.rows, |r| r.line);
    for name in names {
        let mut raw: Vec<Option<String>> = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let v = match derived(name, *line) {
                Some(v) => v.map(|x| x.to_string()),
                None => {
                    let c = table
                        .column(name)
                        .ok_or_else(|| no_column(table, name, "for --mods"))?;
                    let row = by_line.get(*line).expect("row exists");
                    let cell = row.fields[c].trim();
                    (!cell.is_empty() && cell != "NA").then(|| cell.to_string())
                }
            };
            if v.is_none() {
                keep[i] = false;
            }
            raw.push(v);
        }
        let numeric = raw
            .iter()
            .flatten()
            .all(|v| v.parse::<f64>().is_ok_and(f64::is_finite));
        cols.push((name.clone(), raw, numeric));
    }
    let out = cols
        .into_iter()
        .map(|(name, raw, numeric)| {
            let kept = raw
                .into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.unwrap_or_default());
            let col = if numeric {
                ModColumn::Numeric(kept.map(|v| v.parse().unwrap()).collect())
            } else {
                ModColumn::Categorical(kept.collect())
            };
            (name, col)
        })
        .collect();
    Ok((out, keep))
}

/// Labels of `column` for the rows `lines` (empty cells are an error).
fn column_labels(table: &Table, column: &str, lines: &[u64]) -> Result<Vec<String>> {
    labels_of(table, column, lines, "to cluster by", "cluster")
}

/// Labels of `column` for the rows `lines`, read `purpose` ("to cluster
/// by"); an empty cell is an error saying every row needs a `what`.
fn labels_of(
    table: &Table,
    column: &str,
    lines: &[u64],
    purpose: &str,
    what: &str,
) -> Result<Vec<String>> {
    let c = table
        .column(column)
        .ok_or_else(|| no_column(table, column, purpose))?;
    let by_line = crate::data::ByLine::new(&table.rows, |r| r.line);
    lines
        .iter()
        .map(|line| {
            let row = by_line.get(*line).expect("row exists");
            let v = row.fields[c].trim();
            if v.is_empty() {
                return Err(Error::Unsupported(format!(
                    "{}:{line}:{}: empty `{column}`; every row needs a {what}",
                    table.path.display(),
                    c + 1
                )));
            }
            Ok(v.to_string())
        })
        .collect()
}

/// The rows (line, yi, vi) that have every moderator, and their design
/// matrix (intercept only without moderators); rows without a value are
/// listed.
struct Rows {
    x: Design,
    terms: Option<ModelTerms>,
    kept: Vec<(u64, f64, f64)>,
    dropped: Vec<String>,
}

impl Rows {
    fn yi(&self) -> Vec<f64> {
        self.kept.iter().map(|k| k.1).collect()
    }
    fn vi(&self) -> Vec<f64> {
        self.kept.iter().map(|k| k.2).collect()
    }
}

fn model_rows(
    spec: &ModelSpec,
    table: &Table,
    rows: &[(u64, f64, f64)],
    derived: Derived<'_>,
) -> Result<Rows> {
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let formula = spec.mods.as_deref().map(Formula::parse).transpose()?;
    let (x, terms, keep) = match formula.filter(|f| !f.is_intercept_only()) {
        None => {
            let k = rows.len();
            (Design::intercept_only(k), None, vec![true; k])
        }
        Some(f) => {
            let names: Vec<String> = f.columns().iter().map(|c| c.to_string()).collect();
            let (cols, keep) = moderator_columns(table, &names, &lines, derived)?;
            let (x, terms) = f.design(&cols)?;
            (x, Some(terms), keep)
        }
    };
    let kept = rows
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(r, _)| *r)
        .collect();
    let dropped = rows
        .iter()
        .zip(&keep)
        .filter(|(_, k)| !**k)
        .map(|(r, _)| format!("line {}", r.0))
        .collect();
    Ok(Rows {
        x,
        terms,
        kept,
        dropped,
    })
}

/// Fit `spec` on `pooled` (line, yi, vi), the rows the dataset's analysis
/// pools; on the spot dataset `--multilevel` / `--robust` take every
/// outcome instead. `explicit_test` says whether the test was chosen (rather
/// than the dataset's default): rma.mv's default test is z, so a default
/// applies to the univariate fit only.
///
/// # Errors
///
/// A moderator or cluster column that is missing or empty, a model that
/// cannot be fitted, or `permutest` with a dependent-effects model.
pub fn fit_models(
    dataset: &Dataset,
    pooled: &[(u64, f64, f64)],
    spot: &SpotOptions,
    spec: &ModelSpec,
    opts: &ValidRmaOptions,
    explicit_test: bool,
) -> Result<ModelFit> {
    let table = &dataset.table;
    let r = match &dataset.spot {
        Some(ds) => {
            // Dependent-effects models pool every outcome; a plain
            // meta-regression stays on one outcome per cohort.
            let all: Vec<(u64, f64, f64)>;
            let rows = if spec.dependent() {
                all = select_all_outcomes(ds, spot)
                    .iter()
                    .map(|u| (u.line, u.effect.yi, u.effect.vi))
                    .collect();
                &all
            } else {
                pooled
            };
            let rows_by_line = crate::data::ByLine::new(&ds.rows, |r| r.line);
            let derived = |name: &str, line: u64| -> Option<Option<f64>> {
                let row = rows_by_line.get(line)?;
                let (ratio, weekly) = ee_moderators(row);
                match name {
                    "log_session_ratio" => Some(ratio),
                    "weekly_min_diff" => Some(weekly),
                    _ => None,
                }
            };
            model_rows(spec, table, rows, &derived)?
        }
        None => model_rows(spec, table, pooled, &|_, _| None)?,
    };
    if let Some(by) = &spec.by {
        subgroup_model(spec, by, table, &r, opts, explicit_test)
    } else if spec.dependent() {
        dependent_model(spec, table, &r, opts, explicit_test)
    } else {
        meta_regression(spec, &r, opts)
    }
}

/// The cluster column of `--multilevel CLUSTER[/INNER]` and each row's
/// cluster (INNER, when given, must identify the rows within a cluster).
fn multilevel_clusters(ml: &str, table: &Table, lines: &[u64]) -> Result<(String, Vec<String>)> {
    let cluster = ml.split('/').next().unwrap_or(ml).to_string();
    let outer = column_labels(table, &cluster, lines)?;
    if let Some((_, inner)) = ml.split_once('/') {
        let inner = column_labels(table, inner, lines)?;
        let mut seen = std::collections::BTreeSet::new();
        for (o, i) in outer.iter().zip(&inner) {
            if !seen.insert((o, i)) {
                return Err(Error::Unsupported(format!(
                    "--multilevel {ml}: `{i}` repeats within cluster `{o}`; the inner level must identify rows"
                )));
            }
        }
    }
    Ok((cluster, outer))
}

/// rma.mv's default test is z: a dataset's default (knha for the spot
/// data) applies to the univariate fit, an explicit test to both.
fn multilevel_options(opts: &ValidRmaOptions, explicit_test: bool) -> ValidRmaOptions {
    if explicit_test {
        *opts
    } else {
        opts.with_test(TestKind::Z)
    }
}

/// `--by` (with or without `--multilevel`): the model within each subgroup
/// and the tests for subgroup differences.
fn subgroup_model(
    spec: &ModelSpec,
    by: &str,
    table: &Table,
    r: &Rows,
    opts: &ValidRmaOptions,
    explicit_test: bool,
) -> Result<ModelFit> {
    if spec.mods.is_some() || spec.permutest.is_some() || spec.robust.is_some() {
        return Err(Error::Unsupported(
            "--by fits the model within each subgroup and tests their differences; it cannot be combined with --mods, --permutest or --robust (for a moderator model use --mods \"~ factor(COLUMN)\")".into(),
        ));
    }
    let lines: Vec<u64> = r.kept.iter().map(|k| k.0).collect();
    let labels = labels_of(table, by, &lines, "for --by", "subgroup")?;
    let (yi, vi) = (r.yi(), r.vi());
    let analysis = match &spec.multilevel {
        None => analyse(&yi, &vi, by, &labels, None, opts)?,
        Some(ml) => {
            let (cluster, rows) = multilevel_clusters(ml, table, &lines)?;
            let ml_opts = multilevel_options(opts, explicit_test);
            analyse(&yi, &vi, by, &labels, Some((&cluster, &rows)), &ml_opts)?
        }
    };
    Ok(ModelFit::Subgroups(analysis))
}

/// `--multilevel` and/or `--robust` (with or without `--mods`).
fn dependent_model(
    spec: &ModelSpec,
    table: &Table,
    r: &Rows,
    opts: &ValidRmaOptions,
    explicit_test: bool,
) -> Result<ModelFit> {
    if spec.permutest.is_some() {
        return Err(Error::Unsupported(
            "--permutest runs on a meta-regression fitted with --mods alone; it is not available with --multilevel or --robust (metafor's permutest() takes rma.uni fits only)".into(),
        ));
    }
    let ml_opts = multilevel_options(opts, explicit_test);
    let x = &r.x;
    let klines: Vec<u64> = r.kept.iter().map(|k| k.0).collect();
    let (yi, vi) = (r.yi(), r.vi());
    if let Some(ml) = &spec.multilevel {
        let (cluster, labels) = multilevel_clusters(ml, table, &klines)?;
        let cl = Clusters::from_labels(&labels);
        let fit = rma_multilevel(&yi, &vi, x, &cl, &ml_opts)?;
        let robust = match &spec.robust {
            Some(rc) => {
                let rcl = Clusters::from_labels(&column_labels(table, rc, &klines)?);
                let rob = robust_multilevel(&yi, &vi, x, &rcl, &fit)?;
                Some((rc.clone(), rob))
            }
            None => None,
        };
        return Ok(ModelFit::Multilevel {
            cluster,
            fit,
            robust,
        });
    }
    let rc = spec.robust.clone().expect("a dependent model");
    let rcl = Clusters::from_labels(&column_labels(table, &rc, &klines)?);
    let (model, tau2) = if x.p == 1 {
        let fit = rma(&yi, &vi, opts)?;
        let tau2 = fit.tau2;
        (Univariate::Rma(fit), tau2)
    } else {
        let fit = rma_mods(&yi, &vi, x, opts)?;
        let tau2 = fit.tau2;
        (Univariate::Mods(fit), tau2)
    };
    let robust = robust_univariate(&yi, &vi, x, &rcl, tau2, opts.level())?;
    Ok(ModelFit::Robust {
        cluster: rc,
        model,
        names: x.names.clone(),
        robust,
    })
}

/// Fit a meta-regression (with the permutation test and predictions when
/// asked), or the intercept-only model with its sign-flip permutation test
/// (`--permutest` without `--mods`).
fn meta_regression(spec: &ModelSpec, r: &Rows, opts: &ValidRmaOptions) -> Result<ModelFit> {
    let (yi, vi) = (r.yi(), r.vi());
    if r.terms.is_none() && !spec.newmods.is_empty() {
        return Err(Error::Unsupported(
            "--newmods predicts from a meta-regression: give --mods as well".into(),
        ));
    }
    let fit = rma_mods(&yi, &vi, &r.x, opts)?;
    let permutest = match spec.permutest {
        Some(n) => Some(permutest(
            &yi,
            &vi,
            &r.x,
            &fit,
            opts,
            n,
            spec.seed.unwrap_or(1),
        )?),
        None => None,
    };
    if r.terms.is_none()
        && let Some(permutest) = permutest
    {
        let fit = rma(&yi, &vi, opts)?;
        let tau2_ci = confint_or_why(&yi, &vi, &fit, 1e-12);
        return Ok(ModelFit::InterceptPermutest {
            fit,
            tau2_ci,
            permutest,
        });
    }
    let predictions = predictions(spec, r.terms.as_ref(), &fit)?;
    Ok(ModelFit::Regression {
        fit,
        permutest,
        dropped: r.dropped.clone(),
        terms: r.terms.clone(),
        predictions,
    })
}

/// `--newmods`: each value list as a design row (named variables through the
/// formula, or the coefficient columns in order) and its prediction.
fn predictions(
    spec: &ModelSpec,
    terms: Option<&ModelTerms>,
    fit: &RmaModsFit,
) -> Result<Vec<(Vec<f64>, Prediction)>> {
    let mut out = Vec::new();
    for given in &spec.newmods {
        let parts: Vec<&str> = given.split(',').map(str::trim).collect();
        let row = if parts.iter().all(|p| p.contains('=')) {
            let terms = terms.ok_or_else(|| Error::Unsupported("--newmods needs --mods".into()))?;
            let values: Vec<(String, NewValue)> = parts
                .iter()
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    let v = v.trim();
                    let value = match v.parse::<f64>() {
                        Ok(n) => NewValue::Number(n),
                        Err(_) => NewValue::Level(v.to_string()),
                    };
                    (k.trim().to_string(), value)
                })
                .collect();
            terms.row(&values)?
        } else {
            let values = parts
                .iter()
                .map(|p| {
                    p.parse::<f64>().map_err(|_| {
                        Error::Unsupported(format!(
                            "--newmods {given}: `{p}` is not a number; give numbers for the coefficient columns in order, or COLUMN=VALUE pairs"
                        ))
                    })
                })
                .collect::<Result<Vec<f64>>>()?;
            newmods_row(&fit.names, &values)?
        };
        let p = predict_mods(fit, &row);
        out.push((row, p));
    }
    Ok(out)
}
