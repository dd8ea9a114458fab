//! `spotmeta vote` as text: every primary outcome with what it reports, the
//! sign tests overall and by energy-expenditure flag, and the agreement
//! sentence.

use crate::analysis::vote::{SignTest, VoteCount};
use crate::data::Direction;
use crate::escalc::pvalue::{GFromP, PValue};
use std::fmt::Write;

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
