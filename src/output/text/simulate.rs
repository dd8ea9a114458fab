//! `spotmeta simulate` as text (coverage and width of each interval), and
//! the simulated data sets as CSV.

use crate::error::Result;
use crate::simulate::{Coverage, SimSpec, Simulation, simulated_data_sets};
use std::fmt::Write;

fn row(t: &mut String, name: &str, c: &Coverage) {
    let _ = writeln!(
        t,
        "  {name:<28} {:>8.4} {:>8.4} {:>11.4}",
        c.coverage, c.mc_se, c.mean_width
    );
}

/// The coverage table of a simulation.
pub fn render(s: &Simulation) -> String {
    let p = &s.spec;
    let lvl = crate::output::style::level_pct(p.level);
    let mut t = format!(
        "Simulation: k = {}, mu = {}, tau^2 = {}, vi ~ Uniform({}, {}), tau^2 by {}, {} replications, seed {}\n\n",
        p.k,
        p.mu,
        p.tau2,
        p.vi_min,
        p.vi_max,
        p.method.as_str(),
        p.reps,
        p.seed
    );
    let _ = writeln!(
        t,
        "CI for mu (nominal {lvl}%)        coverage    MC SE  mean width"
    );
    for (c, name) in
        s.ci.iter()
            .zip(["z (Wald)", "Knapp-Hartung", "truncated KH (adhoc)"])
    {
        row(&mut t, name, c);
    }
    let _ = writeln!(t, "Prediction interval (new theta)");
    for (c, name) in s.pi.iter().zip(["z", "Knapp-Hartung (t, k - 1 df)"]) {
        row(&mut t, name, c);
    }
    let _ = writeln!(
        t,
        "\ntau^2: mean estimate {:.4} (true {}); {:.1}% of estimates at 0.",
        s.tau2_mean,
        p.tau2,
        100.0 * s.tau2_zero
    );
    if s.failures > 0 {
        let _ = writeln!(
            t,
            "{} replication(s) where the estimator failed are left out.",
            s.failures
        );
    }
    t
}

/// Every simulated data set as CSV.
pub fn data_csv(s: &SimSpec) -> Result<Vec<u8>> {
    let records = simulated_data_sets(s)?.enumerate().flat_map(|(rep, d)| {
        (0..d.yi.len()).map(move |i| {
            [
                (rep + 1).to_string(),
                (i + 1).to_string(),
                format!("{:?}", d.yi[i]),
                format!("{:?}", d.vi[i]),
                format!("{:?}", d.theta_new),
            ]
        })
    });
    Ok(super::csv_table(&["rep", "study", "yi", "vi", "theta_new"], records)?.into_bytes())
}
