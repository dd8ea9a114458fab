//! `spotmeta batch` end to end (issue #7 target on the 2-core box: 100,000
//! groups × k = 20, a 2,000,000-row CSV, in ≤ 3 s and ≤ 2 GB): read with
//! polars, group, pool every group (REML, z, with Q-profile CIs) in parallel,
//! build and encode the result table. The input is generated deterministically
//! on first use into `$TMPDIR/spotmeta-bench/` (not committed); the same file
//! feeds `benches/peers/run.sh`. Run with `cargo bench --bench batch`.

use criterion::{Criterion, criterion_group, criterion_main};
use spotmeta::RmaOptions;
use spotmeta::batch::{
    BatchColumns, BatchOptions, TableFormat, Variance, encode, pool, read_groups, to_frame,
};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Groups and studies per group of the benchmark table.
const GROUPS: usize = 100_000;
const K: usize = 20;

/// splitmix64: a fixed, dependency-free pseudo-random sequence.
fn splitmix(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// The benchmark table (columns outcome, region, yi, vi; τ² = 0.05 within
/// every group, vi from 0.01 to 0.3), written once.
pub fn dataset() -> PathBuf {
    let dir = std::env::temp_dir().join("spotmeta-bench");
    let path = dir.join(format!("batch_{GROUPS}x{K}.csv"));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(".batch.csv.tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    writeln!(w, "outcome,region,yi,vi").unwrap();
    let mut s = 42u64;
    for g in 0..GROUPS {
        let mu = 0.5 * (splitmix(&mut s) - 0.5);
        for _ in 0..K {
            let vi = 0.01 + 0.29 * splitmix(&mut s);
            // Box–Muller normal deviate.
            let (u1, u2) = (splitmix(&mut s).max(1e-300), splitmix(&mut s));
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let yi = mu + (0.05 + vi).sqrt() * z;
            writeln!(w, "o{:04},{},{yi:.6},{vi:.6}", g / 100, g % 100).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn bench_batch(c: &mut Criterion) {
    let path = dataset();
    let cols = BatchColumns {
        groups: vec!["outcome".into(), "region".into()],
        yi: "yi".into(),
        variance: Variance::Vi("vi".into()),
    };
    let mut g = c.benchmark_group("batch");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    for (name, confint) in [
        ("100k_groups_k20_reml", true),
        ("100k_groups_k20_reml_no_confint", false),
    ] {
        let opts = BatchOptions {
            rma: RmaOptions::default().check().unwrap(),
            confint,
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let groups = read_groups(&path, &cols).unwrap();
                let fits = pool(&groups, &opts, &|_| {});
                let mut df = to_frame(&groups, &fits, &opts).unwrap();
                encode(&mut df, TableFormat::Csv).unwrap()
            })
        });
    }
    // The stages on their own.
    let groups = read_groups(&path, &cols).unwrap();
    g.bench_function("read_and_group_2M_rows", |b| {
        b.iter(|| read_groups(&path, &cols).unwrap())
    });
    let opts = BatchOptions {
        rma: RmaOptions::default().check().unwrap(),
        confint: true,
    };
    g.bench_function("pool_100k_groups", |b| {
        b.iter(|| pool(&groups, &opts, &|_| {}))
    });
    g.finish();
}

criterion_group!(benches, bench_batch);
criterion_main!(benches);
