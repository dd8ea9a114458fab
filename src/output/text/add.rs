//! `spotmeta add` and `remove` as text: each row added with its effect size,
//! check issues and flags, the rows removed, and the check summary.

use crate::data::append::Change;
use crate::review::RowFindings;
use std::fmt::Write;
use std::path::Path;

/// What `change` did: `verb` ("added", "would add", …) and each added row's
/// findings (`rows`), the rows removed, and the last line of the check.
pub fn describe(change: &Change, rows: &[RowFindings], verb: &str) -> String {
    let mut t = String::new();
    for r in rows {
        let _ = writeln!(t, "{verb} line {}: {} [{}]", r.line, r.label, r.outcome);
        match &r.effect {
            Ok(e) => {
                let d: Vec<String> = e.derivations.iter().map(|d| d.to_string()).collect();
                let _ = writeln!(
                    t,
                    "  effect size: {} yi = {:.4}, vi = {:.4}{}",
                    e.measure,
                    e.yi,
                    e.vi,
                    if d.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", d.join("; "))
                    }
                );
            }
            Err(why) => {
                let _ = writeln!(t, "  no effect size: {why}");
            }
        }
        for issue in change.report.issues.iter().filter(|i| i.line == r.line) {
            let _ = writeln!(t, "  {issue}");
        }
        if r.flags.is_empty() {
            let _ = writeln!(t, "  flags: none");
        }
        for x in &r.flags {
            let _ = writeln!(t, "  flag {:<24} {:<9} {}", x.code, x.severity, x.reason);
        }
    }
    for old in &change.removed {
        let _ = writeln!(t, "removed: {old}");
    }
    let _ = writeln!(
        t,
        "{}",
        change.report.to_string().lines().last().unwrap_or("")
    );
    t
}

/// What `--rerun` prints: the pooled effect of the primary analysis before
/// and after the change (each a [`crate::output::report::console_line`], or
/// why there is none) and where the report was regenerated.
pub fn rerun(before: &str, after: &str, dir: &Path) -> String {
    format!(
        "pooled effect (primary analysis, as in the report):\n  before: {before}\n  after:  {after}\n(report regenerated in {})\n",
        dir.display()
    )
}

/// The "before" or "after" of [`rerun`]: the headline as the report's
/// console line, or why there is none ("not loadable (…)", "not poolable
/// (…)"), from [`crate::review::headline_of`].
pub fn headline_line(
    h: &crate::error::Result<crate::error::Result<crate::review::Headline>>,
) -> String {
    use crate::escalc::spot::SPOT_METRIC_LABEL;
    use crate::output::report::console_line;
    match h {
        Ok(Ok(h)) => console_line(h, SPOT_METRIC_LABEL),
        Ok(Err(e)) => format!("not poolable ({e})"),
        Err(e) => format!("not loadable ({e})"),
    }
}

/// The question `spotmeta add` asks on a terminal for a required column
/// without a value: its name, meaning and, for a list, the allowed values.
pub fn prompt(c: &crate::data::ColumnSpec) -> String {
    let allowed = match c.kind {
        crate::data::schema::Kind::Enum(names) => format!(" [{}]", names.join(" | ")),
        _ => String::new(),
    };
    format!("{} — {}{allowed}: ", c.name, c.description)
}

/// What `add`/`remove` print: [`describe`] under `verb`, and a note when
/// nothing was written.
pub fn change_text(change: &Change, rows: &[RowFindings], verb: &str, dry_run: bool) -> String {
    let mut t = describe(change, rows, verb);
    if dry_run {
        t.push_str("dry run: nothing written\n");
    }
    t
}
