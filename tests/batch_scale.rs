//! `spotmeta batch` at scale (issue #19): the in-memory reader's fast paths
//! (CSV parsed in pieces on every core, sorted tables fitted in place,
//! unsorted ones gathered run by run) give the same table as before, and
//! `--stream` gives the in-memory numbers: exactly in its sorted mode (the
//! same `rma` on the same values), to [`STREAM_REL`] with running sums.

mod common;

use common::spotmeta;
use common::tol::{FORMULA_REL, close};
use polars::prelude::{AnyValue, DataFrame};
use spotmeta::batch::stream::{StreamMode, stream};
use spotmeta::batch::{
    BatchColumns, BatchOptions, RESULT_COLUMNS, TableFormat, Variance, encode, frame_with_keys,
    pool, read_groups, to_frame,
};
use spotmeta::{Method, RmaOptions};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Running sums add the studies in another order and around another shift
/// than the in-memory fit: the results are the same closed formulas up to
/// rounding, as R's re-derivations of a formula are ([`FORMULA_REL`]).
const STREAM_REL: f64 = FORMULA_REL;

/// splitmix64 in [0, 1): a fixed sequence without a dependency.
fn unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A long table `g,arm,yi,vi` with `groups` groups of 1 to 12 rows (some
/// heterogeneous, some not), one group with a missing value: rows in group
/// order, or interleaved (first rows of every group, then second rows, …;
/// each group's own rows stay in order).
fn table(groups: usize, sorted: bool) -> String {
    let mut s = 7u64;
    let mut rows: Vec<(usize, usize, String)> = Vec::new();
    for g in 0..groups {
        let k = 1 + (unit(&mut s) * 12.0) as usize;
        let tau = if g % 3 == 0 { 0.0 } else { 0.3 };
        let mu = unit(&mut s) - 0.5;
        for i in 0..k {
            let vi = 0.01 + 0.2 * unit(&mut s);
            let yi = mu + (tau + vi).sqrt() * (unit(&mut s) - 0.5) * 3.0;
            let y = if g == 5 && i == 1 {
                "NA".to_string()
            } else {
                format!("{yi:.6}")
            };
            rows.push((i, g, format!("grp{g:03},{},{y},{vi:.6}\n", g % 2)));
        }
    }
    if !sorted {
        rows.sort_by_key(|&(i, g, _)| (i, g));
    }
    let mut out = String::from("g,arm,yi,vi\n");
    for (_, _, r) in rows {
        out.push_str(&r);
    }
    out
}

fn cols() -> BatchColumns {
    BatchColumns {
        groups: vec!["g".into(), "arm".into()],
        yi: "yi".into(),
        variance: Variance::Vi("vi".into()),
    }
}

fn opts(method: Method, confint: bool) -> BatchOptions {
    BatchOptions {
        rma: RmaOptions {
            method,
            ..Default::default()
        }
        .check()
        .unwrap(),
        confint,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The in-memory batch table as CSV bytes.
fn in_memory(path: &Path, o: &BatchOptions) -> (DataFrame, Vec<u8>) {
    let g = read_groups(path, &cols()).unwrap();
    let fits = pool(&g, o, &|_| {});
    let mut df = to_frame(&g, &fits, o).unwrap();
    let bytes = encode(&mut df, TableFormat::Csv).unwrap();
    (df, bytes)
}

fn value(df: &DataFrame, col: &str, row: usize) -> Option<f64> {
    match df.column(col).unwrap().get(row).unwrap() {
        AnyValue::Null => None,
        v => v.extract::<f64>(),
    }
}

#[test]
fn sorted_and_interleaved_rows_give_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "sorted.csv", &table(60, true));
    let b = write(dir.path(), "mixed.csv", &table(60, false));
    for m in [Method::REML, Method::DL] {
        let o = opts(m, true);
        let (_, x) = in_memory(&a, &o);
        let (_, y) = in_memory(&b, &o);
        // Only the line of the one missing value differs.
        let (x, y) = (String::from_utf8(x).unwrap(), String::from_utf8(y).unwrap());
        let diff: Vec<_> = x.lines().zip(y.lines()).filter(|(p, q)| p != q).collect();
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert!(diff[0].0.contains("yi is missing"), "{diff:?}");
    }
}

#[test]
fn a_large_csv_read_in_pieces_keeps_every_line_number() {
    let dir = tempfile::tempdir().unwrap();
    // Over a megabyte, no quotes: parsed in pieces on every core.
    let mut text = String::from("g,arm,yi,vi\r\n");
    let n = 60_000;
    for i in 0..n {
        write!(
            text,
            "g{},{},{:.4},0.05\r\n",
            i / 20,
            i % 2,
            (i % 7) as f64 / 10.0
        )
        .unwrap();
        if i % 1000 == 999 {
            text.push_str("\r\n"); // blank lines count
        }
    }
    let p = write(dir.path(), "big.csv", &text);
    let g = read_groups(&p, &cols()).unwrap();
    assert_eq!(g.rows(), n);
    // Row i sits on line 2 + i + (blank lines before it).
    for i in [0, 999, 1000, 31_415, n - 1] {
        let at = (0..g.rows()).find(|&j| g.row(j) == i).unwrap();
        assert_eq!(
            g.lines[g.row(at)],
            2 + i as u64 + (i / 1000) as u64,
            "row {i}"
        );
    }
    // An error deep in the file names its line.
    let i = 40_000;
    let row = format!(
        "g{},{},{:.4},0.05\r\n",
        i / 20,
        i % 2,
        (i % 7) as f64 / 10.0
    );
    let bad = text.replacen(&row, &format!("g{},{},abc,0.05\r\n", i / 20, i % 2), 1);
    assert_ne!(bad, text);
    let p = write(dir.path(), "bad.csv", &bad);
    let e = read_groups(&p, &cols()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}:{}:3", p.display(), 2 + i + i / 1000)),
        "{e}"
    );
}

#[test]
fn stream_in_sorted_mode_gives_the_in_memory_table_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "sorted.csv", &table(80, true));
    for (m, ci) in [
        (Method::REML, true),
        (Method::PM, false),
        (Method::DL, true),
    ] {
        let o = opts(m, ci);
        assert_eq!(StreamMode::for_options(&o), StreamMode::Sorted);
        let (_, want) = in_memory(&p, &o);
        // Tiny blocks: groups cross block boundaries.
        for block in [64, 1000, 1 << 20] {
            let s = stream(&p, &cols(), &o, block).unwrap();
            let mut df = frame_with_keys(&s.keys, &s.fits, &o).unwrap();
            let got = encode(&mut df, TableFormat::Csv).unwrap();
            assert!(got == want, "{m:?}, block {block}");
        }
    }
}

#[test]
fn stream_with_running_sums_matches_the_in_memory_fit_in_any_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let sorted = write(dir.path(), "sorted.csv", &table(80, true));
    let mixed = write(dir.path(), "mixed.csv", &table(80, false));
    for m in [Method::FE, Method::DL, Method::HE, Method::HS, Method::SJ] {
        let o = opts(m, false);
        assert_eq!(StreamMode::for_options(&o), StreamMode::RunningSums);
        let (want, _) = in_memory(&sorted, &o);
        for (path, block) in [(&sorted, 1 << 20), (&mixed, 97)] {
            let s = stream(path, &cols(), &o, block).unwrap();
            let got = frame_with_keys(&s.keys, &s.fits, &o).unwrap();
            assert_eq!(got.height(), want.height());
            assert_eq!(
                got.select(["g", "arm"]).unwrap(),
                want.select(["g", "arm"]).unwrap()
            );
            for c in RESULT_COLUMNS {
                for r in 0..want.height() {
                    let (a, b) = (value(&got, c, r), value(&want, c, r));
                    let same = match (a, b) {
                        (Some(a), Some(b)) => close(a, b, STREAM_REL, 1e-14),
                        (a, b) => a == b,
                    };
                    assert!(same, "{m:?} {c} row {r}: stream {a:?}, in memory {b:?}");
                }
            }
            let status = |df: &DataFrame| df.column("status").unwrap().clone();
            // Bad rows are named by the line of the file that was read.
            if path == &sorted {
                assert_eq!(status(&got), status(&want), "{m:?}");
            }
        }
    }
}

#[test]
fn stream_refuses_a_group_that_comes_back_in_sorted_mode() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.csv",
        "g,arm,yi,vi\na,1,0.1,0.01\na,1,0.2,0.02\nb,1,0.3,0.01\na,1,0.4,0.02\n",
    );
    let e = stream(&p, &cols(), &opts(Method::REML, true), 1 << 20)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{}:5", p.display())) && e.contains("already ended at line 3"),
        "{e}"
    );
    // Running sums take any order.
    assert!(stream(&p, &cols(), &opts(Method::DL, false), 1 << 20).is_ok());
}

#[test]
fn stream_is_refused_for_parquet_and_with_bayes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.csv",
        "g,arm,yi,vi\na,1,0.1,0.01\na,1,0.2,0.02\n",
    );
    let pq = dir.path().join("t.parquet");
    let out = dir.path().join("o.csv");
    spotmeta()
        .args(["batch", p.to_str().unwrap(), "--group", "g,arm"])
        .args(["--out", pq.to_str().unwrap()])
        .assert()
        .success();
    spotmeta()
        .args([
            "batch",
            pq.to_str().unwrap(),
            "--group",
            "g,arm",
            "--stream",
        ])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--stream reads CSV"));
    spotmeta()
        .args([
            "batch",
            p.to_str().unwrap(),
            "--group",
            "g,arm",
            "--stream",
            "--bayes",
        ])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "--bayes needs every group in memory",
        ));
    assert!(!out.exists());
    // The CLI's --stream writes what the in-memory batch writes.
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    for (o, extra) in [(&a, None), (&b, Some("--stream"))] {
        spotmeta()
            .args(["batch", p.to_str().unwrap(), "--group", "g,arm"])
            .args(extra)
            .args(["--out", o.to_str().unwrap()])
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}
