//! `spotmeta report` on the bundled dataset, whole process (load, analyse,
//! draw report.png, forest.png/svg, funnel.png, write results.json and
//! summary.md): target ≤ 0.15 s wall on the 2-core CI box (issue #4).
//!
//! Run with `cargo bench --bench report` (builds the release binary first).

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use std::process::Command;

fn binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "spotmeta"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "release build failed");
    root.join("target/release/spotmeta")
}

fn report(c: &mut Criterion) {
    let bin = binary();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("report");
    g.sample_size(20);
    g.bench_function("spot_reduction.csv, whole process", |b| {
        b.iter(|| {
            let st = Command::new(&bin)
                .arg("report")
                .arg("--out")
                .arg(out.path())
                .current_dir(&root)
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
        })
    });
    g.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
