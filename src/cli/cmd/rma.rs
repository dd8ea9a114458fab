//! `spotmeta rma [FILE]`: pool effect sizes (metafor `rma`) and print the
//! result as text (like `print.rma`) or JSON. Given the spot-reduction dataset
//! (the default), runs its primary analysis and lists the rows it used and
//! why the others were left out.

use crate::cli::args::{DEFAULT_DATASET, Format, InputArgs, ModelArgs, OutputArgs};
use clap::Args;
use spotmeta::analysis::confint;
use spotmeta::analysis::primary::{PrimaryAnalysis, primary_analysis};
use spotmeta::data::{Table, is_spot_header, load_spot};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::escalc::table::{Source, effects};
use spotmeta::output::{json::RmaSummary, text::render_rma};
use spotmeta::{TestKind, rma};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `spotmeta rma`.
#[derive(Debug, Args)]
pub struct RmaArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    output: OutputArgs,
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
        match a.output.format {
            Format::Json => {
                let mut v = serde_json::to_value(RmaSummary::new(&pa.fit, pa.tau2_ci.as_ref()))?;
                v["used"] = serde_json::to_value(&pa.selection.used)?;
                v["left_out"] = serde_json::to_value(&pa.selection.left_out)?;
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
        let fit = rma(&yi, &vi, &opts)?;
        let ci = confint(&yi, &vi, &fit, 1e-12)?;
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
                serde_json::to_string_pretty(&v)? + "\n"
            }
            Format::Text | Format::Csv => {
                let mut t = render_rma(&fit, ci.as_ref());
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
    super::emit(&a.output, &text)
}

/// The primary analysis as text: rows used, the model, rows left out.
fn render_primary(path: &std::path::Path, n_rows: usize, pa: &PrimaryAnalysis) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "Primary analysis of {} ({n_rows} rows)", path.display());
    let _ = writeln!(
        t,
        "Hedges' g (SMD for parallel, SMCC for within-subject designs); positive = more fat lost in the trained region.\nOne primary outcome per study and cohort; exercise interventions only.\n"
    );
    let _ = writeln!(t, "Rows pooled (k = {}):", pa.selection.used.len());
    let w = pa
        .selection
        .used
        .iter()
        .map(|u| u.label.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        t,
        "  {:>4}  {:<w$}  {:<7} {:>8} {:>8}  derivations",
        "line", "study", "measure", "yi", "vi"
    );
    for u in &pa.selection.used {
        let d: Vec<String> = u.effect.derivations.iter().map(|d| d.to_string()).collect();
        let d = if d.is_empty() {
            "as reported".to_string()
        } else {
            d.join("; ")
        };
        let _ = writeln!(
            t,
            "  {:>4}  {:<w$}  {:<7} {:>8.4} {:>8.4}  {d}",
            u.line,
            u.label,
            u.effect.measure.as_str(),
            u.effect.yi,
            u.effect.vi
        );
    }
    let _ = writeln!(t);
    t.push_str(&render_rma(&pa.fit, pa.tau2_ci.as_ref()));
    let _ = writeln!(t, "\nRows not pooled ({}):", pa.selection.left_out.len());
    for l in &pa.selection.left_out {
        let _ = writeln!(
            t,
            "  line {:>3}  {} [{}]: {}",
            l.line, l.label, l.outcome, l.reason
        );
    }
    t
}
