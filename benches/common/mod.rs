//! Shared bench input: deterministic heterogeneous data (variances 0.01–0.5,
//! effects with τ² ≈ 0.1; a fixed low-discrepancy sequence, no RNG).

/// k effect sizes and sampling variances.
pub fn data(k: usize) -> (Vec<f64>, Vec<f64>) {
    let vi: Vec<f64> = (0..k)
        .map(|i| 0.01 + 0.49 * ((i as f64 * 0.618_034) % 1.0))
        .collect();
    let yi: Vec<f64> = (0..k)
        .map(|i| 0.3 + (0.1 + vi[i]).sqrt() * ((i as f64 * 2.399_963).sin() * 1.5))
        .collect();
    (yi, vi)
}
