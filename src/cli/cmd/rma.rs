//! `spotmeta rma [FILE]`: pool effect sizes (metafor `rma`) and print the
//! result as text (like `print.rma`) or JSON. Given the spot-reduction dataset
//! (the default), runs its primary analysis and lists the rows it used and
//! why the others were left out.

use crate::cli::args::{DEFAULT_DATASET, Format, InputArgs, ModelArgs, OutputArgs};
use clap::Args;
use spotmeta::analysis::confint_or_why;
use spotmeta::analysis::multilevel_primary::select_all_outcomes;
use spotmeta::analysis::permutest::permutest;
use spotmeta::analysis::primary::primary_analysis;
use spotmeta::analysis::sensitivity::ee_moderators;
use spotmeta::data::{Table, is_spot_header, load_spot};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::escalc::table::{Source, effects};
use spotmeta::model::moderators::{ModColumn, design_matrix};
use spotmeta::model::multilevel::{Clusters, rma_multilevel};
use spotmeta::model::robust::{robust_multilevel, robust_univariate};
use spotmeta::model::{Design, rma_mods};
use spotmeta::output::text::rma::{
    render_multilevel, render_notes, render_primary, render_rma_mods, render_robust,
};
use spotmeta::output::{json::RmaSummary, text::render_rma};
use spotmeta::{TestKind, ValidRmaOptions, rma};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `spotmeta rma`.
#[derive(Debug, Args)]
pub struct RmaArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Moderators for a meta-regression (metafor `mods = ~ a + b`): column
    /// names, comma-separated; text columns are dummy-coded. For the spot
    /// dataset `log_session_ratio` and `weekly_min_diff` are also available.
    #[arg(long, value_delimiter = ',')]
    mods: Vec<String>,
    /// With --mods: permutation test with this many permutations (metafor `permutest`).
    #[arg(long, requires = "mods")]
    permutest: Option<usize>,
    /// Seed of the permutation test (default 1; only with --permutest).
    #[arg(long, requires = "permutest")]
    seed: Option<u64>,
    /// Three-level model (metafor `rma.mv(random = ~ 1 | CLUSTER/row)`):
    /// the column holding the cluster (e.g. study_id); `CLUSTER/INNER` is
    /// accepted when INNER identifies rows within each cluster. On the spot
    /// dataset, --multilevel and --robust pool every outcome (primary or
    /// not) of the included exercise trials.
    #[arg(long, value_name = "CLUSTER[/INNER]")]
    multilevel: Option<String>,
    /// Cluster-robust CR2 standard errors with Satterthwaite df, clustered by
    /// this column (metafor `robust(..., clubSandwich = TRUE)`).
    #[arg(long, value_name = "CLUSTER")]
    robust: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// A moderator value the dataset derives rather than stores: `Some(value)`
/// for a derived moderator name (the value itself may be missing), `None`
/// for a plain column.
type Derived<'a> = &'a dyn Fn(&str, u64) -> Option<Option<f64>>;

/// Moderator columns and which rows have every moderator.
type ModColumns = (Vec<(String, ModColumn)>, Vec<bool>);

/// Moderator columns for the rows `lines` of `table` (None for a row where a
/// moderator is missing), numeric where every present value parses.
fn moderator_columns(
    table: &Table,
    names: &[String],
    lines: &[u64],
    derived: Derived<'_>,
) -> anyhow::Result<ModColumns> {
    let mut keep = vec![true; lines.len()];
    let mut cols = Vec::new();
    for name in names {
        let mut raw: Vec<Option<String>> = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let v = match derived(name, *line) {
                Some(v) => v.map(|x| x.to_string()),
                None => {
                    let c = table.column(name).ok_or_else(|| {
                        anyhow::anyhow!(
                            "{}: no column `{name}` for --mods; the header has: {}",
                            table.path.display(),
                            table.headers.join(", ")
                        )
                    })?;
                    let row = table
                        .rows
                        .iter()
                        .find(|r| r.line == *line)
                        .expect("row exists");
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
fn column_labels(table: &Table, column: &str, lines: &[u64]) -> anyhow::Result<Vec<String>> {
    let c = table.column(column).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no column `{column}` to cluster by; the header has: {}",
            table.path.display(),
            table.headers.join(", ")
        )
    })?;
    lines
        .iter()
        .map(|line| {
            let row = table
                .rows
                .iter()
                .find(|r| r.line == *line)
                .expect("row exists");
            let v = row.fields[c].trim();
            if v.is_empty() {
                anyhow::bail!(
                    "{}:{line}:{}: empty `{column}`; every row needs a cluster",
                    table.path.display(),
                    c + 1
                )
            }
            Ok(v.to_string())
        })
        .collect()
}

/// The rows (line, yi, vi) that have every moderator, and their design
/// matrix (intercept only without `--mods`); rows without a value are listed.
struct Rows {
    x: Design,
    kept: Vec<(u64, f64, f64)>,
    dropped: Vec<String>,
}

fn model_rows(
    a: &RmaArgs,
    table: &Table,
    rows: &[(u64, f64, f64)],
    derived: Derived<'_>,
) -> anyhow::Result<Rows> {
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let (x, keep) = if a.mods.is_empty() {
        let k = rows.len();
        (
            Design {
                k,
                p: 1,
                x: vec![1.0; k],
                names: vec!["intrcpt".into()],
            },
            vec![true; k],
        )
    } else {
        let (cols, keep) = moderator_columns(table, &a.mods, &lines, derived)?;
        (design_matrix(&cols)?, keep)
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
    Ok(Rows { x, kept, dropped })
}

/// `--mods`, `--multilevel` and/or `--robust` on the rows (line, yi, vi).
fn extended_model(
    a: &RmaArgs,
    table: &Table,
    rows: &[(u64, f64, f64)],
    opts: &ValidRmaOptions,
    derived: Derived<'_>,
) -> anyhow::Result<String> {
    let r = model_rows(a, table, rows, derived)?;
    if a.multilevel.is_some() || a.robust.is_some() {
        dependent_model(a, table, &r, opts)
    } else {
        meta_regression(a, &r, opts)
    }
}

/// `--multilevel` and/or `--robust` (with or without `--mods`).
fn dependent_model(
    a: &RmaArgs,
    table: &Table,
    r: &Rows,
    opts: &ValidRmaOptions,
) -> anyhow::Result<String> {
    if a.permutest.is_some() {
        anyhow::bail!(
            "--permutest runs on a meta-regression fitted with --mods alone; it is not available with --multilevel or --robust (metafor's permutest() takes rma.uni fits only)"
        );
    }
    // rma.mv's default test is z: a dataset's default (knha for the spot
    // data) applies to the univariate fit, an explicit --test to both.
    let ml_opts = match a.model.test {
        Some(_) => *opts,
        None => opts.with_test(TestKind::Z),
    };
    let x = &r.x;
    let klines: Vec<u64> = r.kept.iter().map(|k| k.0).collect();
    let yi: Vec<f64> = r.kept.iter().map(|k| k.1).collect();
    let vi: Vec<f64> = r.kept.iter().map(|k| k.2).collect();
    let mut json = serde_json::Map::new();
    let mut text = String::new();
    let ml_cluster = a
        .multilevel
        .as_deref()
        .map(|m| m.split('/').next().unwrap_or(m).to_string());
    if let Some(spec) = &a.multilevel {
        let cluster = ml_cluster.clone().unwrap_or_default();
        if let Some((_, inner)) = spec.split_once('/') {
            let outer = column_labels(table, &cluster, &klines)?;
            let inner = column_labels(table, inner, &klines)?;
            let mut seen = std::collections::BTreeSet::new();
            for (o, i) in outer.iter().zip(&inner) {
                if !seen.insert((o, i)) {
                    anyhow::bail!(
                        "--multilevel {spec}: `{i}` repeats within cluster `{o}`; the inner level must identify rows"
                    );
                }
            }
        }
        let cl = Clusters::from_labels(&column_labels(table, &cluster, &klines)?);
        let fit = rma_multilevel(&yi, &vi, x, &cl, &ml_opts)?;
        text.push_str(&render_multilevel(&fit, &cluster));
        json.insert("multilevel".into(), serde_json::to_value(&fit)?);
        json.insert("sigma2".into(), serde_json::json!(fit.sigma2));
        json.insert("sigma2_ci".into(), serde_json::to_value(fit.sigma2_ci)?);
        if let Some(rc) = &a.robust {
            let rcl = Clusters::from_labels(&column_labels(table, rc, &klines)?);
            let rob = robust_multilevel(&yi, &vi, x, &rcl, &fit)?;
            text.push_str(&render_robust(&fit.names, &rob, rc));
            json.insert("robust".into(), serde_json::to_value(&rob)?);
        }
    } else if let Some(rc) = &a.robust {
        let rcl = Clusters::from_labels(&column_labels(table, rc, &klines)?);
        let tau2 = if x.p == 1 {
            let fit = rma(&yi, &vi, opts)?;
            text.push_str(&render_rma(&fit, None));
            json.insert(
                "model".into(),
                serde_json::to_value(RmaSummary::new(&fit, None))?,
            );
            fit.tau2
        } else {
            let fit = rma_mods(&yi, &vi, x, opts)?;
            text.push_str(&render_rma_mods(&fit, None));
            text.push_str(&render_notes(&fit.notes));
            json.insert("model".into(), serde_json::to_value(&fit)?);
            fit.tau2
        };
        let rob = robust_univariate(&yi, &vi, x, &rcl, tau2, opts.level())?;
        text.push_str(&render_robust(&x.names, &rob, rc));
        json.insert("robust".into(), serde_json::to_value(&rob)?);
    }
    Ok(match a.output.format {
        Format::Json => serde_json::to_string_pretty(&serde_json::Value::Object(json))? + "\n",
        _ => text,
    })
}

/// Fit and render a meta-regression (with `--permutest` when asked).
fn meta_regression(a: &RmaArgs, r: &Rows, opts: &ValidRmaOptions) -> anyhow::Result<String> {
    let x = &r.x;
    let yi: Vec<f64> = r.kept.iter().map(|k| k.1).collect();
    let vi: Vec<f64> = r.kept.iter().map(|k| k.2).collect();
    let dropped = &r.dropped;
    let fit = rma_mods(&yi, &vi, x, opts)?;
    let perm = match a.permutest {
        Some(n) => Some(permutest(&yi, &vi, x, &fit, opts, n, a.seed.unwrap_or(1))?),
        None => None,
    };
    Ok(match a.output.format {
        Format::Json => {
            let mut v = serde_json::to_value(&fit)?;
            v["permutest"] = serde_json::to_value(&perm)?;
            v["omitted_missing_moderator"] = serde_json::json!(dropped);
            serde_json::to_string_pretty(&v)? + "\n"
        }
        _ => {
            let mut t = render_rma_mods(&fit, perm.as_ref());
            t.push_str(&render_notes(&fit.notes));
            if !dropped.is_empty() {
                t.push_str(&format!(
                    "\n{} row(s) without a moderator value omitted: {}\n",
                    dropped.len(),
                    dropped.join(", ")
                ));
            }
            t
        }
    })
}

/// Pick the input source from the flags.
pub fn source(input: &InputArgs) -> Source {
    match (&input.measure, &input.sei) {
        (Some(m), _) => Source::Raw(*m),
        (None, Some(sei)) => Source::YiSei {
            yi: input.yi.clone(),
            sei: sei.clone(),
        },
        (None, None) => Source::YiVi {
            yi: input.yi.clone(),
            vi: input.vi.clone(),
        },
    }
}

/// Run `spotmeta rma`.
pub fn run(a: RmaArgs) -> anyhow::Result<()> {
    let path = a
        .input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let table = Table::read(&path)?;
    let text = if is_spot_header(&table.headers) {
        let opts = a.model.options(TestKind::Knha)?;
        let ds = load_spot(&path)?;
        let pa = primary_analysis(&ds, &SpotOptions::default(), &opts)?;
        if a.multilevel.is_some() || a.robust.is_some() || !a.mods.is_empty() {
            // Dependent-effects models pool every outcome; a plain
            // meta-regression stays on one outcome per cohort.
            let all;
            let used = if a.multilevel.is_some() || a.robust.is_some() {
                all = select_all_outcomes(&ds, &SpotOptions::default());
                &all
            } else {
                &pa.selection.used
            };
            let rows: Vec<(u64, f64, f64)> = used
                .iter()
                .map(|u| (u.line, u.effect.yi, u.effect.vi))
                .collect();
            let derived = |name: &str, line: u64| -> Option<Option<f64>> {
                let row = ds.rows.iter().find(|r| r.line == line)?;
                let (ratio, weekly) = ee_moderators(row);
                match name {
                    "log_session_ratio" => Some(ratio),
                    "weekly_min_diff" => Some(weekly),
                    _ => None,
                }
            };
            let text = extended_model(&a, &table, &rows, &opts, &derived)?;
            return super::emit(&a.output, &text, &[&path]);
        }
        match a.output.format {
            Format::Json => {
                let mut v = serde_json::to_value(RmaSummary::new(&pa.fit, pa.tau2_ci.as_ref()))?;
                v["used"] = serde_json::to_value(&pa.selection.used)?;
                v["left_out"] = serde_json::to_value(&pa.selection.left_out)?;
                if let Some(why) = &pa.tau2_ci_why {
                    v["tau2_ci"] = serde_json::json!(why);
                }
                serde_json::to_string_pretty(&v)? + "\n"
            }
            Format::Text | Format::Csv => render_primary(&path, ds.rows.len(), &pa),
        }
    } else {
        let opts = a.model.options(TestKind::Z)?;
        let rows = effects(&table, &source(&a.input), a.input.slab.as_deref())?;
        let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
        let yi: Vec<f64> = used.iter().map(|r| r.yi.unwrap()).collect();
        let vi: Vec<f64> = used.iter().map(|r| r.vi.unwrap()).collect();
        if a.multilevel.is_some() || a.robust.is_some() || !a.mods.is_empty() {
            let rows: Vec<(u64, f64, f64)> = used
                .iter()
                .map(|r| (r.line, r.yi.unwrap(), r.vi.unwrap()))
                .collect();
            let text = extended_model(&a, &table, &rows, &opts, &|_, _| None)?;
            return super::emit(&a.output, &text, &[&path]);
        }
        let fit = rma(&yi, &vi, &opts)?;
        let (ci, ci_why) = confint_or_why(&yi, &vi, &fit, 1e-12);
        let omitted: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                r.omitted
                    .as_ref()
                    .map(|why| format!("line {} ({}): {why}", r.line, r.label))
            })
            .collect();
        match a.output.format {
            Format::Json => {
                let mut v = serde_json::to_value(RmaSummary::new(&fit, ci.as_ref()))?;
                v["omitted"] = serde_json::json!(omitted);
                if let Some(why) = &ci_why {
                    v["tau2_ci"] = serde_json::json!(why);
                }
                serde_json::to_string_pretty(&v)? + "\n"
            }
            Format::Text | Format::Csv => {
                let mut t = render_rma(&fit, ci.as_ref());
                if let Some(why) = &ci_why {
                    let _ = writeln!(t, "Note: CI for tau^2 (Q-profile) {why}");
                }
                if !omitted.is_empty() {
                    let _ = writeln!(t, "\n{} row(s) omitted (missing values):", omitted.len());
                    for o in &omitted {
                        let _ = writeln!(t, "  {o}");
                    }
                }
                t
            }
        }
    };
    super::emit(&a.output, &text, &[&path])
}
