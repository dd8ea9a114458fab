//! Exact GOSH (issue #7 target on the 2-core box: k = 20, i.e. 1,048,575 REML
//! fits, in ≤ 3 s). Run with `cargo bench --bench gosh`; figures go into
//! README.md.

mod common;

use common::data;
use criterion::{Criterion, criterion_group, criterion_main};
use spotmeta::gosh::{GoshOptions, gosh};
use spotmeta::{Method, RmaOptions};
use std::hint::black_box;
use std::time::Duration;

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
