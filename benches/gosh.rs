//! Exact GOSH (issue #7 target on the 2-core box: k = 20, i.e. 1,048,575 REML
//! fits, in ≤ 3 s). Run with `cargo bench --bench gosh`; figures go into
//! README.md.

use criterion::{Criterion, criterion_group, criterion_main};
use spotmeta::gosh::{GoshOptions, gosh};
use spotmeta::{Method, RmaOptions};
use std::hint::black_box;
use std::time::Duration;

/// The k-study data of `benches/rma.rs` (variances 0.01–0.5, τ² ≈ 0.1).
fn data(k: usize) -> (Vec<f64>, Vec<f64>) {
    let vi: Vec<f64> = (0..k)
        .map(|i| 0.01 + 0.49 * ((i as f64 * 0.618_034) % 1.0))
        .collect();
    let yi: Vec<f64> = (0..k)
        .map(|i| 0.3 + (0.1 + vi[i]).sqrt() * ((i as f64 * 2.399_963).sin() * 1.5))
        .collect();
    (yi, vi)
}

fn bench_gosh(c: &mut Criterion) {
    let mut g = c.benchmark_group("gosh");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (method, k) in [
        (Method::REML, 20usize),
        (Method::DL, 20),
        (Method::REML, 15),
    ] {
        let (yi, vi) = data(k);
        let opts = GoshOptions {
            rma: RmaOptions {
                method,
                ..Default::default()
            }
            .check()
            .unwrap(),
            max_k: 25,
        };
        g.bench_function(format!("{}_k{k}", method.as_str()), |b| {
            b.iter(|| gosh(black_box(&yi), black_box(&vi), &opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_gosh);
criterion_main!(benches);
