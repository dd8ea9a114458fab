//! `spotmeta gosh` as text: the subsets' summary and every study's mean
//! estimate and I² over the subsets with and without it.

use crate::gosh::Gosh;
use std::fmt::Write;

/// The summary and the per-study with/without table of a GOSH run.
pub fn render(g: &Gosh, labels: &[String], method: &str) -> String {
    let mut t = String::new();
    let all = g.subsets.last().copied().unwrap_or([f32::NAN; 3]);
    let _ = writeln!(
        t,
        "GOSH: all {} subsets of k = {} studies (method: {method}){}",
        g.subsets.len(),
        g.k,
        if g.failed > 0 {
            format!("; {} fits failed", g.failed)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        t,
        "All studies: estimate {:.4}, I^2 {:.2}%, tau^2 {:.4}",
        all[0], all[1], all[2]
    );
    let _ = writeln!(
        t,
        "Mean over subsets: estimate {:.4} (range {:.4} to {:.4}), I^2 {:.2}%, tau^2 {:.4}\n",
        g.mean[0], g.estimate_range.0, g.estimate_range.1, g.mean[1], g.mean[2]
    );
    let _ = writeln!(t, "Mean over subsets with vs without each study:");
    let w = labels
        .iter()
        .map(|l| l.len())
        .max()
        .unwrap_or(5)
        .clamp(5, 32);
    let _ = writeln!(
        t,
        "  {:>5}  {:<w$}  {:>9} {:>9} {:>8}  {:>8} {:>8} {:>7}",
        "study", "label", "est.with", "est.w/o", "diff", "I2.with", "I2.w/o", "diff"
    );
    for s in &g.studies {
        let mut label = labels.get(s.study - 1).cloned().unwrap_or_default();
        if label.chars().count() > w {
            label = label.chars().take(w - 1).collect::<String>() + "…";
        }
        let _ = writeln!(
            t,
            "  {:>5}  {:<w$}  {:>9.4} {:>9.4} {:>8.4}  {:>8.2} {:>8.2} {:>7.2}",
            s.study,
            label,
            s.estimate_with,
            s.estimate_without,
            s.estimate_with - s.estimate_without,
            s.i2_with,
            s.i2_without,
            s.i2_with - s.i2_without
        );
    }
    t
}

/// [`render`] and the files written (`spotmeta gosh`'s output).
pub fn render_written(
    g: &Gosh,
    labels: &[String],
    method: &str,
    written: &[std::path::PathBuf],
) -> String {
    let mut t = render(g, labels, method);
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    let _ = writeln!(t, "\nwrote {}", names.join(", "));
    t
}
