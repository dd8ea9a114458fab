//! Data for the albatross plot (Harrison et al. 2017, *Research Synthesis
//! Methods* 8:281–286): every study placed by its two-sided p-value and
//! direction (x) and its sample size (y), over contours of constant
//! standardised effect (Hedges' g = 0.1, 0.25, 0.5) for each design — the
//! relation between n and p at a fixed effect ([`crate::escalc::pvalue::p_at_g`]).
//!
//! Studies that report only a bound (p < 0.05, NS) are kept and marked as
//! bounds; studies without a direction sit on the centre line.

use super::vote::Evidence;
use crate::data::{Design, Direction};
use crate::escalc::pvalue::{PValue, p_at_g};
use serde::Serialize;

/// One study on the plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlbatrossPoint {
    /// Study label.
    pub label: String,
    /// Total participants (parallel: both arms; within-subject: participants).
    pub n: f64,
    /// The p-value (or its bound).
    pub p: f64,
    /// Exact, or "p < bound" / "p > bound".
    pub kind: &'static str,
    /// +1 favours spot reduction, −1 favours the comparison, 0 no direction.
    pub side: i8,
    /// Design (decides which contours apply).
    pub design: Design,
    /// Whether the study carries an energy-expenditure flag.
    pub ee_flagged: bool,
}

/// A contour of constant effect for one design: (n, p) pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contour {
    /// Hedges' g.
    pub g: f64,
    /// Design.
    pub design: Design,
    /// Points (total n, two-sided p).
    pub points: Vec<(f64, f64)>,
}

/// Points for every evidence row with a p-value and n.
pub fn albatross_points(evidence: &[Evidence]) -> Vec<AlbatrossPoint> {
    evidence
        .iter()
        .filter_map(|e| {
            let p = e.p?;
            let design = e.design?;
            let nt = e.n_trained? as f64;
            let n = match design {
                Design::Parallel => nt + e.n_control? as f64,
                _ => nt,
            };
            let (p, kind) = match p {
                PValue::Exact(p) => (p, "exact"),
                PValue::Below(p) => (p, "below"),
                PValue::Above(p) => (p, "above"),
            };
            let side = match e.direction {
                Some(Direction::FavoursSpotReduction) => 1,
                Some(Direction::Against) => -1,
                _ => 0,
            };
            Some(AlbatrossPoint {
                label: e.label.clone(),
                n,
                p,
                kind,
                side,
                design,
                ee_flagged: e.ee_flagged,
            })
        })
        .collect()
}

/// Contours for g = 0.1, 0.25, 0.5 for both designs over n in [n_min, n_max]
/// (log-spaced; parallel trials assume equal arms).
pub fn contours(n_min: f64, n_max: f64) -> Vec<Contour> {
    let steps = 60;
    let mut out = Vec::new();
    for design in [Design::Parallel, Design::WithinSubject] {
        for g in [0.1, 0.25, 0.5] {
            let points = (0..=steps)
                .filter_map(|i| {
                    let n = n_min * (n_max / n_min).powf(i as f64 / steps as f64);
                    let p = match design {
                        Design::Parallel => p_at_g(g, design, n / 2.0, n / 2.0),
                        _ => p_at_g(g, design, n, n),
                    }?;
                    Some((n, p))
                })
                .collect();
            out.push(Contour { g, design, points });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Larger studies reach smaller p at the same effect (contours fall).
    #[test]
    fn contours_fall_with_n_and_rise_with_g() {
        let c = contours(6.0, 400.0);
        for k in &c {
            assert!(k.points.windows(2).all(|w| w[1].1 <= w[0].1), "g = {}", k.g);
        }
        let at = |g: f64| {
            c.iter()
                .find(|k| k.g == g && k.design == Design::Parallel)
                .unwrap()
                .points[30]
                .1
        };
        assert!(at(0.5) < at(0.25) && at(0.25) < at(0.1));
    }
}
