//! `spotmeta vote [FILE]`: every primary outcome with what it reports (numbers,
//! an exact or bounded p-value, a direction), effect sizes implied by
//! p-values, the sign test overall and by energy-expenditure flag, and whether
//! the pooled estimate and the directions agree.

use crate::cli::args::{DEFAULT_DATASET, Format, ModelArgs, OutputArgs};
use clap::Args;
use spotmeta::TestKind;
use spotmeta::analysis::confounds::{ConfoundOptions, flag_dataset};
use spotmeta::analysis::primary::primary_analysis;
use spotmeta::analysis::vote::{SignTest, VoteCount, vote_count};
use spotmeta::data::{Direction, load_spot};
use spotmeta::escalc::pvalue::{GFromP, PValue};
use spotmeta::escalc::spot::SpotOptions;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `spotmeta vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn sign_line(name: &str, s: &SignTest) -> String {
    let counts = format!(
        "{} favour, {} against, {} no difference, {} not reported",
        s.favour, s.against, s.ties, s.not_reported
    );
    let exact = match (s.proportion, s.ci_lb, s.ci_ub, s.pval) {
        (Some(q), Some(lb), Some(ub), Some(p)) => {
            format!("directional only: proportion {q:.2} [{lb:.2}, {ub:.2}], p = {p:.4}")
        }
        _ => "directional only: no result with a direction".into(),
    };
    let split = match &s.ties_split {
        Some(x) => format!(
            "ties split ({} vs {}{}): proportion {:.2} [{:.2}, {:.2}], p = {:.4}",
            x.favour,
            x.against,
            if x.dropped > 0 {
                ", odd tie dropped"
            } else {
                ""
            },
            x.proportion,
            x.ci_lb,
            x.ci_ub,
            x.pval
        ),
        None => "ties split: nothing to test".into(),
    };
    format!(
        "  {name:<26} {counts}\n  {:<26} {exact}\n  {:<26} {split}",
        "", ""
    )
}

/// Render the synthesis as text.
pub fn render(v: &VoteCount) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Synthesis without numbers (sign test; Cochrane SWiM)\n\n{}\n",
        v.agreement
    );
    let _ = writeln!(t, "Primary outcomes of included exercise trials:");
    let w = v
        .evidence
        .iter()
        .map(|e| e.label.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        t,
        "  {:<w$}  {:<14} {:<9} {:>9}  g implied by p",
        "study", "direction", "p", "pooled g"
    );
    for e in &v.evidence {
        let dir = match e.direction {
            Some(Direction::FavoursSpotReduction) => "favours",
            Some(Direction::Against) => "against",
            Some(Direction::Null) => "no difference",
            None => "not reported",
        };
        let p = match e.p {
            Some(PValue::Exact(p)) => format!("{p}"),
            Some(PValue::Below(p)) => format!("<{p}"),
            Some(PValue::Above(p)) => format!(">{p}"),
            None => "-".into(),
        };
        let yi = e.yi.map(|y| format!("{y:.3}")).unwrap_or("-".into());
        let g = match e.g_from_p {
            Some(GFromP::Exact { yi, .. }) => format!("{yi:.3} (exact)"),
            Some(GFromP::Bounded { lo, hi }) => format!("between {lo:.2} and {hi:.2} (bound)"),
            None => "-".into(),
        };
        let _ = writeln!(
            t,
            "  {:<w$}  {:<14} {:<9} {:>9}  {}{}",
            e.label,
            dir,
            p,
            yi,
            g,
            if e.ee_flagged { "  [EE-flagged]" } else { "" }
        );
    }
    let _ = writeln!(
        t,
        "\nSign test (H0: half of the results favour spot reduction; exact binomial, Clopper-Pearson 95% CI):"
    );
    let _ = writeln!(t, "{}", sign_line("all", &v.overall));
    let _ = writeln!(t, "{}", sign_line("with an EE flag", &v.ee_flagged));
    let _ = writeln!(t, "{}", sign_line("without an EE flag", &v.ee_unflagged));
    let _ = writeln!(
        t,
        "\n{} outcome(s) pooled, {} with only a p-value or direction, {} with nothing usable.",
        v.n_pooled, v.n_p_or_direction, v.n_nothing
    );
    t
}

/// Run `spotmeta vote`.
pub fn run(a: VoteArgs) -> anyhow::Result<()> {
    let opts = a.model.options(TestKind::Knha)?;
    let path = a
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let ds = load_spot(&path)?;
    let pa = primary_analysis(&ds, &SpotOptions::default(), &opts)?;
    let flags = flag_dataset(&ds, &pa.selection, &ConfoundOptions::default());
    let v = vote_count(&ds, &pa.selection, &flags, Some(&pa.fit), opts.level());
    let text = match a.output.format {
        Format::Json => serde_json::to_string_pretty(&v)? + "\n",
        _ => render(&v),
    };
    super::emit(&a.output, &text, &[&path])
}
