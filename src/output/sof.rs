//! Summary of Findings table (GRADEpro's SoF; issue #17): one row per
//! outcome with k, studies, participants, the pooled effect with its CI, the
//! GRADE certainty and the reasons it was downgraded. Rendered as plain
//! text (CLI), Markdown (`summary.md`) and a serde value (`results.json`).

use crate::analysis::grade::{Certainty, Grade, GradeInput};
use serde::Serialize;
use std::fmt::Write as _;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SofRow {
    /// The outcome.
    pub outcome: String,
    /// Pooled effects.
    pub k: usize,
    /// Distinct studies.
    pub studies: usize,
    /// Participants over the effects whose n is known.
    pub participants: u64,
    /// Effects without a known n (then `participants` is a lower bound).
    pub participants_missing: usize,
    /// The effect measure, e.g. "SMD".
    pub measure: String,
    /// Pooled estimate (`beta` in JSON, as in every spotmeta document).
    #[serde(rename = "beta")]
    pub estimate: f64,
    /// Lower CI limit.
    pub ci_lb: f64,
    /// Upper CI limit.
    pub ci_ub: f64,
    /// CI level as a fraction, e.g. 0.95 (in percent in JSON, as in every
    /// spotmeta document).
    #[serde(serialize_with = "level_in_percent")]
    pub level: f64,
    /// The certainty.
    pub certainty: Certainty,
    /// ⊕⊕◯◯-style symbols.
    pub symbols: String,
    /// One entry per downgrade: "imprecision (−1): CI … includes 0 …".
    pub reasons: Vec<String>,
    /// The one-sentence explanation.
    pub sentence: String,
}

/// A level held as a fraction, written in percent (the schema's one unit).
fn level_in_percent<S: serde::Serializer>(level: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(level * 100.0)
}

/// A Summary of Findings row from a GRADE rating and its input.
pub fn sof_row(input: &GradeInput, grade: &Grade, measure: &str, level: f64) -> SofRow {
    let (participants, participants_missing) = input.participants();
    let mut reasons = Vec::new();
    if grade.start != Certainty::High {
        reasons.push(format!("starts at {}: {}", grade.start, grade.start_reason));
    }
    for s in grade.steps.iter().filter(|s| s.downgrade > 0) {
        reasons.push(format!(
            "{} (\u{2212}{}): {}",
            s.domain, s.downgrade, s.reason
        ));
    }
    SofRow {
        outcome: input.outcome.clone(),
        k: input.k(),
        studies: input.n_studies(),
        participants,
        participants_missing,
        measure: measure.to_string(),
        estimate: input.estimate,
        ci_lb: input.ci.0,
        ci_ub: input.ci.1,
        level,
        certainty: grade.certainty,
        symbols: grade.certainty.symbols().to_string(),
        reasons,
        sentence: grade.sentence(),
    }
}

fn num(x: f64) -> String {
    super::style::num(x, 2)
}

impl SofRow {
    /// "SMD −0.02 (95% CI −0.18 to 0.14)".
    pub fn effect_text(&self) -> String {
        format!(
            "{} {} ({}% CI {} to {})",
            self.measure,
            num(self.estimate),
            super::style::level_pct(self.level),
            num(self.ci_lb),
            num(self.ci_ub)
        )
    }

    /// "173" or "≥ 173 (2 effects without n)".
    pub fn participants_text(&self) -> String {
        match self.participants_missing {
            0 => self.participants.to_string(),
            m => format!(
                "≥ {} ({m} effect{} without n)",
                self.participants,
                if m == 1 { "" } else { "s" }
            ),
        }
    }

    /// "k = 2 effect sizes from 1 study".
    pub fn k_text(&self) -> String {
        crate::analysis::rules::k_clause(self.k, self.studies)
    }
}

/// Markdown: a GitHub table, then the reasons as numbered footnotes.
pub fn sof_markdown(rows: &[SofRow]) -> String {
    let mut s = String::from(
        "| outcome | studies | participants | effect | certainty (GRADE) | reasons |\n|---|---|---|---|---|---|\n",
    );
    let mut notes = Vec::new();
    for r in rows {
        let marks: Vec<String> = r
            .reasons
            .iter()
            .map(|why| {
                notes.push(why.clone());
                format!("[{}]", notes.len())
            })
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} {} | {} |",
            r.outcome,
            r.k_text(),
            r.participants_text(),
            r.effect_text(),
            r.symbols,
            r.certainty,
            if marks.is_empty() {
                "—".to_string()
            } else {
                marks.join(" ")
            }
        );
    }
    if !notes.is_empty() {
        s.push('\n');
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(s, "{}. {n}", i + 1);
        }
    }
    s.push_str(
        "\nGRADE: high = the true effect is similar to the estimate; moderate = probably close; low = might be markedly different; very low = probably markedly different.\n",
    );
    s
}

/// Plain text for the terminal: one block per outcome.
pub fn sof_text(rows: &[SofRow]) -> String {
    let mut s = String::from("Summary of findings\n");
    for r in rows {
        let _ = writeln!(s, "  outcome:      {}", r.outcome);
        let _ = writeln!(s, "  studies:      {}", r.k_text());
        let _ = writeln!(s, "  participants: {}", r.participants_text());
        let _ = writeln!(s, "  effect:       {}", r.effect_text());
        let _ = writeln!(s, "  certainty:    {} {}", r.symbols, r.certainty);
        for why in &r.reasons {
            let _ = writeln!(s, "    - {why}");
        }
    }
    s
}
