//! `spotmeta check` on 100,000 rows (issues #15 and #19, target: ≤ 1 s on
//! the 2-core box; it was quadratic, 58 s). The table is the bundled
//! dataset's rows repeated with fresh `study_id`s. Two benchmarks:
//!
//! * `check/100000_rows`: [`spotmeta::data::check_bytes`] on the table in
//!   memory: reading, locating every record and validating it.
//! * `check/whole_100000_rows`: what `spotmeta check FILE` runs, on the table
//!   written to a file with the bundled review record beside it: reading the
//!   file, validation, typing every row, the risk-of-bias cross-check with
//!   the confound flags ([`spotmeta::analysis::rob::check`]) and the review
//!   record's checks against the dataset
//!   ([`spotmeta::data::review::check_beside`]).
//!
//! Run with `cargo bench --bench check`.

use criterion::{Criterion, criterion_group, criterion_main};
use spotmeta::data::review::check_beside;
use std::path::Path;
use std::time::Duration;

/// Rows of the benchmark table.
const ROWS: usize = 100_000;

/// The bundled dataset grown to `ROWS` data rows (each copy a new study).
fn table() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/spot_reduction.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let header = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for i in 0..ROWS {
        let row = &rows[i % rows.len()];
        let id = format!("{}x{}", &row[0], i / rows.len());
        w.write_record(std::iter::once(id.as_str()).chain(row.iter().skip(1)))
            .unwrap();
    }
    w.into_inner().unwrap()
}

/// `spotmeta check FILE` as the command runs it: the report, dataset and
/// review-record issues together.
fn whole_check(path: &Path) -> spotmeta::data::CheckReport {
    let (mut report, studies) = spotmeta::analysis::rob::check(path).unwrap();
    report.issues.extend(check_beside(path, studies.as_ref()));
    report
}

fn check(c: &mut Criterion) {
    let bytes = table();
    let name = Path::new("bench.csv");
    let report = spotmeta::data::check_bytes(name, &bytes).unwrap();
    assert_eq!(report.rows, ROWS);
    let mut g = c.benchmark_group("check");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("100000_rows", |b| {
        b.iter(|| spotmeta::data::check_bytes(name, &bytes).unwrap())
    });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spot_reduction.csv");
    std::fs::write(&path, &bytes).unwrap();
    let review = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/review.toml");
    std::fs::copy(review, dir.path().join("review.toml")).unwrap();
    // The dataset part is clean, so every row is typed and cross-checked;
    // the review record's counts describe the real dataset, not this one,
    // so its cross-references find errors (which is work the bench covers).
    let (report, studies) = spotmeta::analysis::rob::check(&path).unwrap();
    assert_eq!((report.rows, report.errors()), (ROWS, 0));
    assert!(studies.is_some());
    g.bench_function("whole_100000_rows", |b| b.iter(|| whole_check(&path)));
    g.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
