//! GOSH — graphical display of study heterogeneity (Olkin, Dahabreh &
//! Trikalinos 2012, Res Synth Methods 3:214–223; metafor `gosh()`), exactly:
//! the model is fitted to **every** non-empty subset of the k studies,
//! 2^k − 1 fits, where metafor samples subsets once k grows.
//!
//! Subset `s` (1 ≤ s < 2^k) is the bitmask of the studies it holds (bit i =
//! study i + 1 in input order). Subsets are fitted in parallel (rayon) in
//! fixed chunks of consecutive masks; each fit copies its studies into a
//! stack buffer and calls [`rma`], so nothing is allocated per fit. As in
//! metafor, a one-study subset has I² = 0 and τ² = 0.
//!
//! Per study, [`Gosh::studies`] holds the mean estimate, I² and τ² over the
//! subsets that contain it and over those that do not (metafor's GOSH
//! diagnostics compare the two: a study that shifts the estimate or the
//! heterogeneity stands out). Partial sums are combined in chunk order, so
//! the means are the same on every run and thread count. The per-subset
//! results (estimate, I², τ² in single precision) are kept for the plot
//! ([`crate::output::gosh::gosh_png`]) and for `--write-subsets`
//! ([`Gosh::subsets_parquet`]).
//!
//! ```
//! use spotmeta::gosh::{gosh, GoshOptions};
//! let yi = [0.1, 0.3, 0.35, 0.65, 0.45];
//! let vi = [0.03, 0.03, 0.05, 0.01, 0.05];
//! let g = gosh(&yi, &vi, &GoshOptions::default())?;
//! assert_eq!(g.subsets.len(), 31);
//! assert_eq!(g.studies.len(), 5);
//! # Ok::<(), spotmeta::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::{ValidRmaOptions, rma};
use polars::prelude::{Column, DataFrame};
use rayon::prelude::*;
use serde::Serialize;

/// The largest k ever accepted: 2^30 − 1 subsets (about 13 GB of results).
pub const HARD_MAX_K: usize = 30;

/// Options of a GOSH run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoshOptions {
    /// The model fitted to every subset.
    pub rma: ValidRmaOptions,
    /// Refuse more studies than this (2^k − 1 fits; default 25).
    pub max_k: usize,
}

impl Default for GoshOptions {
    fn default() -> Self {
        GoshOptions {
            rma: ValidRmaOptions::default(),
            max_k: 25,
        }
    }
}

/// One subset's fit, in single precision: estimate, I² (%), τ².
/// NaN in all three when the fit failed.
pub type SubsetFit = [f32; 3];

/// Means over subsets with and without one study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyEffect {
    /// 1-based position of the study in the input.
    pub study: usize,
    /// Subsets (successfully fitted) that contain the study.
    pub n_with: u64,
    /// Subsets (successfully fitted, non-empty) that do not.
    pub n_without: u64,
    /// Mean pooled estimate over subsets containing the study.
    #[serde(rename = "beta_with")]
    pub estimate_with: f64,
    /// Mean pooled estimate over subsets without it.
    #[serde(rename = "beta_without")]
    pub estimate_without: f64,
    /// Mean I² (%) with the study.
    #[serde(rename = "I2_with")]
    pub i2_with: f64,
    /// Mean I² (%) without it.
    #[serde(rename = "I2_without")]
    pub i2_without: f64,
    /// Mean τ² with the study.
    pub tau2_with: f64,
    /// Mean τ² without it.
    pub tau2_without: f64,
}

/// The result of [`gosh`].
#[derive(Debug, Clone, PartialEq)]
pub struct Gosh {
    /// Number of studies.
    pub k: usize,
    /// Results per subset; index `s − 1` holds subset (bitmask) `s`.
    pub subsets: Vec<SubsetFit>,
    /// Subsets whose fit failed (e.g. τ² did not converge); left out of the means.
    pub failed: u64,
    /// Per-study means with vs without the study.
    pub studies: Vec<StudyEffect>,
    /// Mean estimate, I² and τ² over all fitted subsets.
    pub mean: [f64; 3],
    /// Smallest and largest estimate over all fitted subsets.
    pub estimate_range: (f64, f64),
}

impl Gosh {
    /// Every subset's result as a Parquet table: `subset` (the bitmask),
    /// `k` (its size), `estimate`, `I2`, `tau2` (`--write-subsets`).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the table cannot be built or encoded.
    pub fn subsets_parquet(&self) -> Result<Vec<u8>> {
        let n = self.subsets.len();
        let col = |name: &str, j: usize| {
            Column::new(
                name.into(),
                self.subsets.iter().map(|s| s[j]).collect::<Vec<f32>>(),
            )
        };
        let mut df = DataFrame::new(
            n,
            vec![
                Column::new("subset".into(), (1..=n as u32).collect::<Vec<u32>>()),
                Column::new(
                    "k".into(),
                    (1..=n as u32).map(u32::count_ones).collect::<Vec<u32>>(),
                ),
                col("estimate", 0),
                col("I2", 1),
                col("tau2", 2),
            ],
        )
        .map_err(|e| Error::Unsupported(format!("building the subsets table failed: {e}")))?;
        crate::batch::encode(&mut df, crate::batch::TableFormat::Parquet)
    }
}

/// Sums over one chunk of subsets (fixed-size: no allocation).
#[derive(Clone, Copy)]
struct Sums {
    n: u64,
    failed: u64,
    all: [f64; 3],
    n_with: [u64; HARD_MAX_K],
    with: [[f64; 3]; HARD_MAX_K],
    min: f64,
    max: f64,
}

impl Sums {
    fn new() -> Sums {
        Sums {
            n: 0,
            failed: 0,
            all: [0.0; 3],
            n_with: [0; HARD_MAX_K],
            with: [[0.0; 3]; HARD_MAX_K],
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn add(&mut self, o: &Sums, k: usize) {
        self.n += o.n;
        self.failed += o.failed;
        for j in 0..3 {
            self.all[j] += o.all[j];
        }
        for i in 0..k {
            self.n_with[i] += o.n_with[i];
            for j in 0..3 {
                self.with[i][j] += o.with[i][j];
            }
        }
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// Fit subset `mask` of (yi, vi) with stack buffers: (estimate, I², τ²).
///
/// This is exactly `rma` on the studies of the subset in input order (a
/// one-study subset reports I² = 0, as metafor's `gosh()` does).
pub fn fit_subset(yi: &[f64], vi: &[f64], mask: u64, opts: &ValidRmaOptions) -> Result<[f64; 3]> {
    let mut y = [0.0; HARD_MAX_K];
    let mut v = [0.0; HARD_MAX_K];
    let mut m = 0;
    let mut bits = mask;
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        y[m] = yi[i];
        v[m] = vi[i];
        m += 1;
        bits &= bits - 1;
    }
    let fit = rma(&y[..m], &v[..m], opts)?;
    Ok([fit.estimate, fit.i2.unwrap_or(0.0), fit.tau2])
}

/// Fit every non-empty subset of the k studies (metafor `gosh(res, subsets
/// = 2^k − 1)`, but exact for any k ≤ `opts.max_k`).
///
/// Errors when k < 2, when k > `max_k` (or [`HARD_MAX_K`]), or when an input
/// value is unusable (the message names the study).
pub fn gosh(yi: &[f64], vi: &[f64], opts: &GoshOptions) -> Result<Gosh> {
    let k = yi.len();
    if k != vi.len() {
        return Err(Error::Unsupported(format!(
            "yi has {k} values but vi has {}; give one sampling variance per effect size",
            vi.len()
        )));
    }
    if k < 2 {
        return Err(Error::Unsupported(format!(
            "GOSH needs at least 2 studies; the input has {k}"
        )));
    }
    let limit = opts.max_k.min(HARD_MAX_K);
    if k > limit {
        return Err(Error::option(
            "--max-k",
            format!(
                "k = {k} studies means 2^{k} − 1 = {} fits; the limit is {limit}{}",
                (1u64 << k) - 1,
                if limit < HARD_MAX_K {
                    format!(" (raise it with --max-k, at most {HARD_MAX_K})")
                } else {
                    " (a hard limit: results alone would need more than 10 GB)".into()
                }
            ),
        ));
    }
    // Validate every study once (the fits then cannot fail on inputs).
    rma(yi, vi, &opts.rma)?;
    let n = (1u64 << k) - 1;
    let mut subsets: Vec<SubsetFit> = vec![[0.0; 3]; n as usize];
    const CHUNK: usize = 4096;
    let partials: Vec<Sums> = subsets
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, out)| {
            let mut s = Sums::new();
            for (j, slot) in out.iter_mut().enumerate() {
                let mask = (c * CHUNK + j + 1) as u64;
                match fit_subset(yi, vi, mask, &opts.rma) {
                    Ok(r) => {
                        *slot = [r[0] as f32, r[1] as f32, r[2] as f32];
                        s.n += 1;
                        for (a, x) in s.all.iter_mut().zip(r) {
                            *a += x;
                        }
                        s.min = s.min.min(r[0]);
                        s.max = s.max.max(r[0]);
                        let mut bits = mask;
                        while bits != 0 {
                            let i = bits.trailing_zeros() as usize;
                            s.n_with[i] += 1;
                            for (a, x) in s.with[i].iter_mut().zip(r) {
                                *a += x;
                            }
                            bits &= bits - 1;
                        }
                    }
                    Err(_) => {
                        *slot = [f32::NAN; 3];
                        s.failed += 1;
                    }
                }
            }
            s
        })
        .collect();
    let mut total = Sums::new();
    for p in &partials {
        total.add(p, k);
    }
    let studies = (0..k)
        .map(|i| {
            let nw = total.n_with[i];
            let nwo = total.n - nw;
            let mean = |sum: f64, n: u64| if n == 0 { f64::NAN } else { sum / n as f64 };
            let w = total.with[i];
            StudyEffect {
                study: i + 1,
                n_with: nw,
                n_without: nwo,
                estimate_with: mean(w[0], nw),
                estimate_without: mean(total.all[0] - w[0], nwo),
                i2_with: mean(w[1], nw),
                i2_without: mean(total.all[1] - w[1], nwo),
                tau2_with: mean(w[2], nw),
                tau2_without: mean(total.all[2] - w[2], nwo),
            }
        })
        .collect();
    let nf = total.n.max(1) as f64;
    Ok(Gosh {
        k,
        subsets,
        failed: total.failed,
        studies,
        mean: [total.all[0] / nf, total.all[1] / nf, total.all[2] / nf],
        estimate_range: (total.min, total.max),
    })
}

/// GOSH of a dataset's studies under `settings` (`spotmeta gosh`): the
/// spot-reduction dataset's primary-analysis rows (pooled first, so they are
/// checked to share one metric), or a table's yi/vi rows; at most `max_k`
/// studies. Returns the review (its rows, labels and options) with the GOSH.
///
/// # Errors
///
/// As [`crate::review::run`] and [`gosh`].
pub fn gosh_of(
    dataset: crate::review::Dataset,
    settings: &crate::review::Settings,
    max_k: usize,
) -> Result<(crate::review::Findings, Gosh)> {
    settings.check()?;
    let plan = crate::review::Plan {
        pool: dataset.is_spot(),
        ..crate::review::Plan::default()
    };
    let f = crate::review::run(dataset, settings, &plan)?;
    let opts = GoshOptions { rma: f.opts, max_k };
    let g = gosh(&f.rows.yi(), &f.rows.vi(), &opts)?;
    Ok((f, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_studies_are_refused_with_the_flag_to_change() {
        let y = vec![0.1; 12];
        let v = vec![0.05; 12];
        let opts = GoshOptions {
            max_k: 10,
            ..Default::default()
        };
        let e = gosh(&y, &v, &opts).unwrap_err().to_string();
        assert!(e.contains("--max-k") && e.contains("4095"), "{e}");
    }

    #[test]
    fn singletons_have_zero_heterogeneity() {
        let r = fit_subset(&[0.3, 0.5], &[0.1, 0.2], 0b10, &Default::default()).unwrap();
        assert_eq!(r, [0.5, 0.0, 0.0]);
    }
}
