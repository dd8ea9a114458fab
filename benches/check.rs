//! `spotmeta check` on 100,000 rows (issue #15 target: ≤ 1 s on the 2-core
//! box; it was quadratic, 58 s). The table is the bundled dataset's 42 rows
//! repeated with fresh `study_id`s, built in memory; the benchmark measures
//! [`spotmeta::data::check_bytes`]: reading, locating every record and
//! validating it. Run with `cargo bench --bench check`.

use criterion::{Criterion, criterion_group, criterion_main};
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
    g.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
