//! Effect sizes from what abstracts report: a p-value (exact, or only a bound
//! such as "<0.05" or "NS"), a direction, and n (issue #9; SWiM guidance,
//! Campbell et al. 2020; Harrison et al. 2017 for the albatross plot).
//!
//! An exact two-sided p with its direction gives an exact effect through t
//! (metafor `escalc(pi=)` for SMD; `SMCC` likewise with df = n − 1):
//! parallel g = c(m)·t·√(1/n₁ + 1/n₂), within-subject g = c(n−1)·t/√n. A bound
//! gives only a bound on the effect: "p < x" in a known direction means |g| >
//! g(x); "p > x" (or "NS", read as p > 0.05) means |g| < g(x). Bounds are
//! reported as bounds and never pooled as if exact.

use super::{cmi, convert::t_from_p};
use crate::data::{Design, Direction};
use serde::Serialize;

/// A p-value as reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "p", rename_all = "snake_case")]
pub enum PValue {
    /// An exact value.
    Exact(f64),
    /// Only "p < x" (or ≤) is known.
    Below(f64),
    /// Only "p > x" (or ≥, or "NS" = p > 0.05) is known.
    Above(f64),
}

impl PValue {
    /// Parse "0.02", "<0.05", "< .05", "p<0.01", ">0.05", "NS", "n.s.".
    pub fn parse(text: &str) -> Option<PValue> {
        let t = text
            .trim()
            .trim_start_matches(['p', 'P'])
            .trim()
            .trim_start_matches('=')
            .trim();
        let lower = t.to_ascii_lowercase();
        if matches!(lower.as_str(), "ns" | "n.s." | "n.s" | "not significant") {
            return Some(PValue::Above(0.05));
        }
        let num = |s: &str| -> Option<f64> {
            let s = s.trim().trim_start_matches('=').trim();
            let s = if s.starts_with('.') {
                format!("0{s}")
            } else {
                s.to_string()
            };
            s.parse::<f64>().ok().filter(|p| *p > 0.0 && *p <= 1.0)
        };
        if let Some(rest) = t.strip_prefix('<') {
            return num(rest).map(PValue::Below);
        }
        if let Some(rest) = t.strip_prefix('>') {
            return num(rest).map(PValue::Above);
        }
        num(t).map(PValue::Exact)
    }

    /// The number (the bound for bounds).
    pub fn value(self) -> f64 {
        match self {
            PValue::Exact(p) | PValue::Below(p) | PValue::Above(p) => p,
        }
    }
}

/// What a p-value says about Hedges' g (positive = favours spot reduction).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GFromP {
    /// Exact g and its variance (derived from an exact p and n).
    Exact {
        /// Hedges' g.
        yi: f64,
        /// Its sampling variance.
        vi: f64,
    },
    /// g lies in (lo, hi); a bound, never pooled.
    Bounded {
        /// Lower end (−∞ when unbounded).
        lo: f64,
        /// Upper end (+∞ when unbounded).
        hi: f64,
    },
}

/// Degrees of freedom and the t → g factor for a design with n per arm.
fn design_factor(design: Design, n_trained: f64, n_control: f64) -> Option<(f64, f64, f64)> {
    match design {
        Design::Parallel => {
            let df = n_trained + n_control - 2.0;
            Some((df, (1.0 / n_trained + 1.0 / n_control).sqrt(), cmi(df)?))
        }
        Design::WithinSubject | Design::Crossover => {
            let df = n_trained - 1.0;
            Some((df, 1.0 / n_trained.sqrt(), cmi(df)?))
        }
    }
}

/// |g| implied by a two-sided p for the design (the contour of the albatross plot).
pub fn g_at_p(p: f64, design: Design, n_trained: f64, n_control: f64) -> Option<f64> {
    let (df, factor, c) = design_factor(design, n_trained, n_control)?;
    Some(c * t_from_p(p, df) * factor)
}

/// Two-sided p implied by Hedges' g for the design (inverse of [`g_at_p`]).
pub fn p_at_g(g: f64, design: Design, n_trained: f64, n_control: f64) -> Option<f64> {
    let (df, factor, c) = design_factor(design, n_trained, n_control)?;
    Some(crate::dist::pt_two_sided(g / (c * factor), df))
}

/// Hedges' g (or bounds on it) from a reported p, direction and n.
/// `None` when n or the direction needed is missing.
pub fn g_from_p(
    p: PValue,
    direction: Option<Direction>,
    design: Design,
    n_trained: f64,
    n_control: f64,
) -> Option<GFromP> {
    let sign = match direction {
        Some(Direction::FavoursSpotReduction) => Some(1.0),
        Some(Direction::Against) => Some(-1.0),
        _ => None,
    };
    let g = g_at_p(p.value(), design, n_trained, n_control)?;
    match (p, sign) {
        (PValue::Exact(_), Some(s)) => {
            let yi = s * g;
            let vi = match design {
                Design::Parallel => {
                    1.0 / n_trained + 1.0 / n_control + yi * yi / (2.0 * (n_trained + n_control))
                }
                _ => 1.0 / n_trained + yi * yi / (2.0 * n_trained),
            };
            Some(GFromP::Exact { yi, vi })
        }
        (PValue::Below(_), Some(s)) if s > 0.0 => Some(GFromP::Bounded {
            lo: g,
            hi: f64::INFINITY,
        }),
        (PValue::Below(_), Some(_)) => Some(GFromP::Bounded {
            lo: f64::NEG_INFINITY,
            hi: -g,
        }),
        (PValue::Above(_), Some(s)) if s > 0.0 => Some(GFromP::Bounded { lo: 0.0, hi: g }),
        (PValue::Above(_), Some(_)) => Some(GFromP::Bounded { lo: -g, hi: 0.0 }),
        (PValue::Above(_), None) | (PValue::Exact(_), None) => {
            Some(GFromP::Bounded { lo: -g, hi: g })
        }
        (PValue::Below(_), None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_abstracts_print() {
        assert_eq!(PValue::parse("0.02"), Some(PValue::Exact(0.02)));
        assert_eq!(PValue::parse("<0.05"), Some(PValue::Below(0.05)));
        assert_eq!(PValue::parse("p < .01"), Some(PValue::Below(0.01)));
        assert_eq!(PValue::parse(">0.05"), Some(PValue::Above(0.05)));
        assert_eq!(PValue::parse("NS"), Some(PValue::Above(0.05)));
        assert_eq!(PValue::parse("1.5"), None);
        assert_eq!(PValue::parse("soon"), None);
    }

    #[test]
    fn p_at_g_inverts_g_at_p() {
        for (d, n1, n2) in [
            (Design::Parallel, 12.0, 9.0),
            (Design::WithinSubject, 20.0, 20.0),
        ] {
            let g = g_at_p(0.037, d, n1, n2).unwrap();
            assert!((p_at_g(g, d, n1, n2).unwrap() - 0.037).abs() < 1e-12);
        }
    }
}
