//! How the cost grows with the work (issue #19): a timed script, not
//! criterion (one case runs for seconds to a minute and what matters is the
//! whole process's wall time and peak memory, which criterion's sampling
//! does not measure). Every case runs the release binary as a user would;
//! the best wall time of a few runs and the peak RSS (from `/usr/bin/time`,
//! when installed) are printed with the load average, one line a case:
//!
//! ```text
//! scale <case> <size> <wall s> <peak MB>
//! ```
//!
//! Cases: `report` on a plain yi/vi table of k = 1,000 and 10,000 studies;
//! `check` on the bundled dataset grown to 100,000 rows, and `add` of one
//! row to it; `batch` (DL, z, no τ² CI, the PyMARE comparison of
//! benches/peers/run.sh) on 100,000 groups × k = 20 from Parquet to Parquet
//! and from CSV to CSV, and with REML and the Q-profile CI; `batch --stream` on the same CSV. Inputs are generated
//! deterministically into `$TMPDIR/spotmeta-bench/` on first use.
//!
//! Run with `cargo bench --bench scale` (all) or `cargo bench --bench scale
//! -- batch` (cases whose name contains `batch`).

use spotmeta::batch::{TableFormat, encode, read_table};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// splitmix64 in [0, 1): a fixed, dependency-free sequence.
fn unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal deviate (Box–Muller).
fn normal(s: &mut u64) -> f64 {
    let (u1, u2) = (unit(s).max(1e-300), unit(s));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join("spotmeta-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write `path` once through `fill` (atomically: a half-written file from an
/// interrupted run is never reused).
fn once(path: PathBuf, fill: impl FnOnce(&mut dyn Write)) -> PathBuf {
    if !path.exists() {
        let tmp = path.with_extension("tmp");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
        fill(&mut w);
        w.flush().unwrap();
        drop(w);
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// A plain yi/vi table of k studies (τ² = 0.04 around 0.3).
fn studies(k: usize) -> PathBuf {
    once(dir().join(format!("studies_{k}.csv")), |w| {
        writeln!(w, "study,yi,vi").unwrap();
        let mut s = 11u64;
        for i in 0..k {
            let vi = 0.005 + 0.1 * unit(&mut s);
            let yi = 0.3 + (0.04 + vi).sqrt() * normal(&mut s);
            writeln!(w, "Study {i},{yi:.6},{vi:.6}").unwrap();
        }
    })
}

/// The bundled dataset grown to `rows` data rows (each copy a new study), as
/// benches/check.rs builds it.
fn grown(rows: usize) -> PathBuf {
    once(dir().join(format!("check_{rows}.csv")), |w| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/spot_reduction.csv");
        let mut rdr = csv::Reader::from_path(src).unwrap();
        let header = rdr.headers().unwrap().clone();
        let data: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header).unwrap();
        for i in 0..rows {
            let row = &data[i % data.len()];
            let id = format!("{}x{}", &row[0], i / data.len());
            out.write_record(std::iter::once(id.as_str()).chain(row.iter().skip(1)))
                .unwrap();
        }
    })
}

/// The batch table of benches/batch.rs: 100,000 groups (outcome × region)
/// × k = 20, τ² = 0.05 within every group; CSV and the same as Parquet.
fn batch_tables() -> (PathBuf, PathBuf) {
    const GROUPS: usize = 100_000;
    const K: usize = 20;
    let csv = once(dir().join(format!("batch_{GROUPS}x{K}.csv")), |w| {
        writeln!(w, "outcome,region,yi,vi").unwrap();
        let mut s = 42u64;
        for g in 0..GROUPS {
            let mu = 0.5 * (unit(&mut s) - 0.5);
            for _ in 0..K {
                let vi = 0.01 + 0.29 * unit(&mut s);
                let yi = mu + (0.05 + vi).sqrt() * normal(&mut s);
                writeln!(w, "o{:04},{},{yi:.6},{vi:.6}", g / 100, g % 100).unwrap();
            }
        }
    });
    let pq = dir().join(format!("batch_{GROUPS}x{K}.parquet"));
    if !pq.exists() {
        let mut df = read_table(&csv).unwrap();
        let bytes = encode(&mut df, TableFormat::Parquet).unwrap();
        std::fs::write(&pq, bytes).unwrap();
    }
    (csv, pq)
}

/// Best wall time of `runs` runs and the peak RSS (MB) of the last, if
/// `/usr/bin/time` is there to measure it.
fn measure(args: &[&str], runs: usize) -> (f64, Option<f64>) {
    let bin = env!("CARGO_BIN_EXE_spotmeta");
    let timer = Path::new("/usr/bin/time");
    let mut best = f64::INFINITY;
    let mut rss = None;
    for _ in 0..runs {
        let mut cmd = if timer.exists() {
            let mut c = Command::new(timer);
            c.args(["-f", "%M", bin]);
            c
        } else {
            Command::new(bin)
        };
        let t = Instant::now();
        let out = cmd
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "spotmeta {args:?}: {err}");
        rss = err
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0);
    }
    (best, rss)
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "# spotmeta scale: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("# case size wall_s peak_MB");
    let out = tempfile::tempdir().unwrap();
    let o = |name: &str| out.path().join(name).to_string_lossy().into_owned();
    let show = |case: &str, size: &str, (wall, rss): (f64, Option<f64>)| {
        let rss = rss.map_or("-".to_string(), |m| format!("{m:.0}"));
        println!("scale {case} {size} {wall:.3} {rss}");
    };
    for k in [1_000, 10_000] {
        let case = "report";
        if wanted(case) {
            let f = studies(k);
            let r = measure(&["report", f.to_str().unwrap(), "--out", &o("rep")], 1);
            show(case, &format!("k={k}"), r);
        }
    }
    if wanted("check") {
        let f = grown(100_000);
        show(
            "check",
            "rows=100000",
            measure(&["check", f.to_str().unwrap()], 3),
        );
    }
    if wanted("add") {
        // One new row appended to a fresh copy of the 100,000 rows each run
        // (the copy is not timed): the bundled dataset's last row, whose
        // study id the grown copies (`IDxN`) do not use.
        let f = grown(100_000);
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/spot_reduction.csv");
        let text = std::fs::read_to_string(src).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let row = out.path().join("row.csv");
        std::fs::write(&row, format!("{}\n{}\n", lines[0], lines[lines.len() - 1])).unwrap();
        let copy = out.path().join("add.csv");
        let (mut best, mut rss) = (f64::INFINITY, None);
        for _ in 0..3 {
            std::fs::copy(&f, &copy).unwrap();
            let (wall, mb) = measure(
                &[
                    "add",
                    copy.to_str().unwrap(),
                    "--from",
                    row.to_str().unwrap(),
                ],
                1,
            );
            best = best.min(wall);
            rss = mb;
        }
        show("add", "rows=100000", (best, rss));
    }
    if [
        "batch_dl_parquet",
        "batch_dl_csv",
        "batch_reml_ci_csv",
        "batch_stream_dl_csv",
    ]
    .iter()
    .any(|c| wanted(c))
    {
        let (csv, pq) = batch_tables();
        let size = "groups=100000,k=20";
        let dl = ["--method", "DL", "--no-confint"];
        let run = |case: &str, input: &Path, extra: &[&str], out: &str| {
            if wanted(case) {
                let input = input.to_str().unwrap();
                let mut args: Vec<&str> = vec!["batch", input, "--group", "outcome,region"];
                args.extend_from_slice(extra);
                let out = o(out);
                args.extend(["--out", out.as_str()]);
                show(case, size, measure(&args, 3));
            }
        };
        run("batch_dl_parquet", &pq, &dl, "r.parquet");
        run("batch_dl_csv", &csv, &dl, "r.csv");
        run("batch_reml_ci_csv", &csv, &[], "r.csv");
        run(
            "batch_stream_dl_csv",
            &csv,
            &["--method", "DL", "--no-confint", "--stream"],
            "r.csv",
        );
    }
}
