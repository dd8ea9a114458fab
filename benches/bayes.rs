//! One Bayesian fit (`spotmeta bayes` without the sensitivity analysis),
//! k = 2, 5, 20, under the default half-normal and the Rhodes et al. prior,
//! and the k = 20 shrinkage estimates (issue #16 target on the 2-core box:
//! `bayes` k = 20 ≤ 1 ms). Run with `cargo bench --bench bayes`; figures go
//! into README.md.

mod common;

use common::data;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use spotmeta::model::bayes::{TauPrior, ValidBayesOptions, bayes};
use std::hint::black_box;

fn bench_bayes(c: &mut Criterion) {
    let mut g = c.benchmark_group("bayes");
    for (name, prior) in [
        ("half-normal", TauPrior::DEFAULT),
        ("rhodes", TauPrior::RHODES_SMD),
    ] {
        let opts = ValidBayesOptions::default().with_tau_prior(prior).unwrap();
        for k in [2usize, 5, 20] {
            let (yi, vi) = data(k);
            g.bench_with_input(BenchmarkId::new(name, k), &k, |b, _| {
                b.iter(|| bayes(black_box(&yi), black_box(&vi), &opts).unwrap())
            });
        }
    }
    let (yi, vi) = data(20);
    let fit = bayes(&yi, &vi, &ValidBayesOptions::default()).unwrap();
    g.bench_function("shrinkage/20", |b| b.iter(|| black_box(&fit).shrinkage()));
    g.finish();
}

criterion_group!(benches, bench_bayes);
criterion_main!(benches);
