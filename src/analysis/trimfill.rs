//! Trim and fill (Duval & Tweedie 2000, *Biometrics* 56:455–463), as
//! metafor's `trimfill()` with the default L0 estimator: the side of the
//! funnel with missing studies is taken from the sign of the slope in the
//! regression of yᵢ on √vᵢ; the k₀ most extreme studies on the other side are
//! trimmed iteratively (k₀ = round((4·Sᵣ − k(k+1))/(2k − 1)), Sᵣ the sum of the
//! positive signed ranks of |yᵢ − μ̂|, rounded half to even as R does), then
//! their mirror images about μ̂ are filled in and the model is refitted.

use crate::error::{Error, Result};
use crate::model::{Design, RmaFit, TestKind, ValidRmaOptions, rma, rma_mods};
use serde::Serialize;

/// Side of the funnel on which studies are estimated to be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Missing on the left (small effects).
    Left,
    /// Missing on the right (large effects).
    Right,
}

/// Result of trim and fill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrimFill {
    /// Estimated number of missing studies.
    pub k0: usize,
    /// Its standard error (L0).
    pub se_k0: f64,
    /// Side of the funnel with the missing studies.
    pub side: Side,
    /// Effect sizes of the filled-in studies.
    pub fill_yi: Vec<f64>,
    /// Their sampling variances.
    pub fill_vi: Vec<f64>,
    /// The model refitted with the filled-in studies (the original fit when k₀ = 0).
    pub fit: RmaFit,
}

/// Run trim and fill for an intercept-only model fitted with `opts` (k ≥ 3).
/// As metafor's: the trimming and the refit with filled-in studies use the
/// z test; with no missing studies (k₀ = 0) the original fit, with its own
/// test (e.g. Knapp–Hartung), is returned unchanged.
pub fn trimfill(yi: &[f64], vi: &[f64], opts: &ValidRmaOptions) -> Result<TrimFill> {
    let k = yi.len();
    if k < 3 {
        return Err(Error::Unsupported(format!(
            "trim and fill needs at least 3 studies (k = {k})"
        )));
    }
    let original = opts;
    let opts = opts.with_test(TestKind::Z);
    let sei: Vec<f64> = vi.iter().map(|v| v.sqrt()).collect();
    let slope = rma_mods(yi, vi, &Design::with_intercept(&[("sei", &sei)])?, &opts)?.beta[1];
    let side = if slope < 0.0 { Side::Right } else { Side::Left };
    let sign = if side == Side::Right { -1.0 } else { 1.0 };
    // Work on the side-adjusted scale, sorted ascending (stable, like R's sort).
    let mut idx: Vec<usize> = (0..k).collect();
    idx.sort_by(|&a, &b| {
        (sign * yi[a])
            .partial_cmp(&(sign * yi[b]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let ys: Vec<f64> = idx.iter().map(|&i| sign * yi[i]).collect();
    let vs: Vec<f64> = idx.iter().map(|&i| vi[i]).collect();
    let kf = k as f64;
    let (mut k0, mut k0_prev, mut se_k0, mut beta) = (0usize, usize::MAX, 0.0, 0.0);
    let mut iter = 0;
    while k0 != k0_prev {
        iter += 1;
        if iter > 100 {
            return Err(Error::Numerical {
                what: "trim and fill".into(),
                message: "the number of missing studies did not converge in 100 iterations".into(),
            });
        }
        k0_prev = k0;
        beta = rma(&ys[..k - k0], &vs[..k - k0], &opts)?.estimate;
        let centred: Vec<f64> = ys.iter().map(|y| y - beta).collect();
        // Ranks of |centred| with ties broken by position (R: ties.method = "first").
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            centred[a]
                .abs()
                .partial_cmp(&centred[b].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut rank = vec![0.0; k];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = (r + 1) as f64;
        }
        let sr: f64 = (0..k).filter(|&i| centred[i] > 0.0).map(|i| rank[i]).sum();
        let k0f = (4.0 * sr - kf * (kf + 1.0)) / (2.0 * kf - 1.0);
        let var_sr = (kf * (kf + 1.0) * (2.0 * kf + 1.0)
            + 10.0 * k0f.powi(3)
            + 27.0 * k0f.powi(2)
            + 17.0 * k0f
            - 18.0 * kf * k0f.powi(2)
            - 18.0 * kf * k0f
            + 6.0 * kf * kf * k0f)
            / 24.0;
        se_k0 = (4.0 * var_sr.sqrt() / (2.0 * kf - 1.0)).max(0.0);
        k0 = k0f.round_ties_even().max(0.0) as usize;
        k0 = k0.min(k - 1);
    }
    if k0 == 0 {
        let base = rma(yi, vi, original)?;
        return Ok(TrimFill {
            k0,
            se_k0,
            side,
            fill_yi: vec![],
            fill_vi: vec![],
            fit: base,
        });
    }
    // Mirror the k0 most extreme studies about beta, back on the original scale.
    let fill_yi: Vec<f64> = ys[k - k0..]
        .iter()
        .map(|y| sign * (2.0 * beta - y))
        .collect();
    let fill_vi: Vec<f64> = vs[k - k0..].to_vec();
    let all_y: Vec<f64> = yi.iter().chain(&fill_yi).copied().collect();
    let all_v: Vec<f64> = vi.iter().chain(&fill_vi).copied().collect();
    let fit = rma(&all_y, &all_v, &opts)?;
    Ok(TrimFill {
        k0,
        se_k0,
        side,
        fill_yi,
        fill_vi,
        fit,
    })
}
