//! `spotmeta flags` as text and CSV: every row of the spot-reduction dataset
//! with its confound flags and the reason for each, and the list of codes.

use crate::analysis::confounds::{CODES, ConfoundOptions, RowFlags};
use crate::error::Result;
use std::fmt::Write;
use std::path::Path;

/// The flags of `rows` (from `path`, under the thresholds `conf`) as text.
pub fn render(path: &Path, conf: &ConfoundOptions, rows: &[RowFlags]) -> String {
    let mut t = format!(
        "Confound flags for {} (thresholds: session ratio >= {}, >= {} min/session, >= {} min/week, n < {} per arm)\n",
        path.display(),
        conf.session_ratio,
        conf.session_diff_min,
        conf.weekly_diff_min,
        conf.small_n
    );
    for r in rows {
        let _ = writeln!(
            t,
            "\nline {:>3}  {} [{}] ({}{})",
            r.line,
            r.label,
            r.outcome,
            r.status,
            if r.pooled { ", pooled" } else { "" }
        );
        if r.flags.is_empty() {
            let _ = writeln!(t, "    (no flags)");
        }
        for f in &r.flags {
            let _ = writeln!(t, "    {:<24} {:<9} {}", f.code, f.severity, f.reason);
        }
    }
    let _ = writeln!(t, "\nCodes:");
    for (c, m) in CODES {
        let _ = writeln!(t, "  {c:<24} {m}");
    }
    t
}

/// The flags of `rows` as CSV, one record per flag.
pub fn csv(rows: &[RowFlags]) -> Result<String> {
    super::csv_table(
        &[
            "line", "study_id", "label", "outcome", "status", "pooled", "code", "severity",
            "reason",
        ],
        rows.iter().flat_map(|r| {
            r.flags.iter().map(move |f| {
                [
                    r.line.to_string(),
                    r.study_id.clone(),
                    r.label.clone(),
                    r.outcome.clone(),
                    r.status.clone(),
                    r.pooled.to_string(),
                    f.code.clone(),
                    f.severity.to_string(),
                    f.reason.clone(),
                ]
            })
        }),
    )
}
