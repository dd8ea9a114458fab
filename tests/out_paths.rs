//! Issue #15, outputs: no command writes its output over one of its inputs
//! (same file on disk, whatever the spelling: the same path, `dir/./file`, a
//! symlink, a hard link), and `spotmeta report` replaces its directory's
//! report files all at once (a failure leaves the old set; concurrent runs
//! do not mix; a run killed mid-swap is repaired by the next one; other
//! files of the directory are kept).

mod common;

use common::{dataset, root, spotmeta};
use predicates::str::contains;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A scratch directory holding a copy of the bundled dataset.
fn scratch_dataset() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spot.csv");
    fs::copy(dataset("spot_reduction.csv"), &data).unwrap();
    (dir, data)
}

/// A long yi/vi table with two groups, for `batch`.
fn scratch_long_table() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("long.csv");
    fs::write(
        &data,
        "outcome,yi,vi\na,0.1,0.02\na,0.3,0.03\na,0.2,0.04\nb,0.5,0.05\nb,0.4,0.02\n",
    )
    .unwrap();
    (dir, data)
}

/// The ways to name `file` as an output: itself, another spelling, a
/// symlink and a hard link (the last two created next to it).
fn aliases(file: &Path) -> Vec<(&'static str, PathBuf)> {
    let dir = file.parent().unwrap();
    let name = file.file_name().unwrap();
    let ext = file.extension().unwrap().to_str().unwrap();
    let sym = dir.join(format!("via_symlink.{ext}"));
    let hard = dir.join(format!("via_hardlink.{ext}"));
    if !sym.exists() {
        std::os::unix::fs::symlink(file, &sym).unwrap();
        fs::hard_link(file, &hard).unwrap();
    }
    vec![
        ("same path", file.to_path_buf()),
        ("other spelling", dir.join(".").join(name)),
        ("symlink", sym),
        ("hard link", hard),
    ]
}

/// Run `args` with `--out` set to every alias of `input`: each run fails
/// naming `--out`, and the input keeps every byte.
fn refuses_every_alias(input: &Path, args: &[&str]) {
    let before = fs::read(input).unwrap();
    for (how, out) in aliases(input) {
        spotmeta()
            .args(args)
            .arg(input)
            .arg("--out")
            .arg(&out)
            .assert()
            .failure()
            .stderr(contains("--out"))
            .stderr(contains("same file"));
        assert_eq!(
            fs::read(input).unwrap(),
            before,
            "{args:?} with --out = input ({how}) changed the input"
        );
    }
}

#[test]
fn rma_refuses_an_out_that_is_its_input() {
    let (_d, data) = scratch_dataset();
    refuses_every_alias(&data, &["rma"]);
}

#[test]
fn escalc_refuses_an_out_that_is_its_input() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("means.csv");
    fs::write(
        &data,
        "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,1,1,10,0.5,1,10\nB,2,1,12,1,1.5,11\n",
    )
    .unwrap();
    refuses_every_alias(&data, &["escalc", "--measure", "SMD"]);
}

#[test]
fn forest_svg_refuses_an_out_that_is_its_input() {
    let (_d, data) = scratch_dataset();
    // --format svg, so the .csv output names are accepted as SVG files.
    refuses_every_alias(&data, &["forest", "--format", "svg"]);
}

#[test]
fn batch_refuses_an_out_that_is_its_input() {
    let (_d, data) = scratch_long_table();
    refuses_every_alias(&data, &["batch", "--group", "outcome"]);
}

#[test]
fn flags_vote_and_sensitivity_refuse_an_out_that_is_their_input() {
    let (_d, data) = scratch_dataset();
    for cmd in ["flags", "vote", "sensitivity"] {
        let before = fs::read(&data).unwrap();
        spotmeta()
            .arg(cmd)
            .arg(&data)
            .arg("--out")
            .arg(&data)
            .assert()
            .failure()
            .stderr(contains("same file"));
        assert_eq!(fs::read(&data).unwrap(), before, "{cmd} changed its input");
    }
}

#[test]
fn simulate_refuses_an_out_equal_to_its_write_data_file() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("sim.csv");
    fs::write(&data, "keep me\n").unwrap();
    fs::hard_link(&data, d.path().join("alias.csv")).unwrap();
    spotmeta()
        .args(["simulate", "--k", "3", "--tau2", "0.1", "--reps", "5"])
        .arg("--write-data")
        .arg(&data)
        .arg("--out")
        .arg(d.path().join("alias.csv"))
        .assert()
        .failure()
        .stderr(contains("same file"));
    assert_eq!(fs::read_to_string(&data).unwrap(), "keep me\n");
}

#[test]
fn an_out_that_is_a_new_file_next_to_the_input_is_written() {
    let (d, data) = scratch_dataset();
    let out = d.path().join("rma.txt");
    spotmeta()
        .arg("rma")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(fs::read_to_string(&out).unwrap().contains("estimate"));
}

#[test]
fn report_refuses_a_directory_holding_its_input() {
    let (d, data) = scratch_dataset();
    let before = fs::read(&data).unwrap();
    for out in [d.path().to_path_buf(), d.path().join(".")] {
        spotmeta()
            .arg("report")
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .assert()
            .failure()
            .stderr(contains("holds the input"));
    }
    assert_eq!(fs::read(&data).unwrap(), before);
    // Nothing was written next to it.
    let names: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("spot.csv")]);
}

/// The files of `dir` (name → bytes), lock and temporary siblings excluded.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// `spotmeta report FILE --out DIR [extra]` from the repository root.
fn report(file: &Path, dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    spotmeta()
        .current_dir(root())
        .arg("report")
        .arg(file)
        .arg("--out")
        .arg(dir)
        .args(extra)
        .assert()
}

/// A small generic yi/vi table (fast to report on).
fn small_table(dir: &Path, name: &str, shift: f64) -> PathBuf {
    let p = dir.join(name);
    let mut s = String::from("slab,yi,vi\n");
    for (i, (y, v)) in [(0.1, 0.02), (0.3, 0.03), (0.25, 0.04), (-0.1, 0.05)]
        .iter()
        .enumerate()
    {
        s += &format!("Study {},{},{v}\n", i + 1, y + shift);
    }
    fs::write(&p, s).unwrap();
    p
}

#[test]
fn a_report_that_fails_midway_leaves_the_previous_set_intact() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reports");
    let first = small_table(d.path(), "first.csv", 0.0);
    report(&first, &out, &[]).success();
    // One of the report's names is taken by a directory: the old code
    // replaced report.png, forest.png, ... and then failed on summary.md,
    // leaving a mix of the two runs.
    fs::remove_file(out.join("summary.md")).unwrap();
    fs::create_dir(out.join("summary.md")).unwrap();
    fs::write(out.join("summary.md/notes.txt"), "mine").unwrap();
    let old = files(&out);
    let second = small_table(d.path(), "second.csv", 1.0);
    report(&second, &out, &[])
        .failure()
        .stderr(contains("summary.md"));
    assert_eq!(files(&out), old, "the failed run changed the old set");
    assert_eq!(
        fs::read_to_string(out.join("summary.md/notes.txt")).unwrap(),
        "mine"
    );
    let leftovers: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".spotmeta-new") || n.contains(".spotmeta-old"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary directories left: {leftovers:?}"
    );
}

#[test]
fn a_report_keeps_other_files_and_drops_report_files_it_no_longer_makes() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reports");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("README.md"), "how to regenerate").unwrap();
    fs::create_dir(out.join("extra")).unwrap();
    fs::write(out.join("extra/n.txt"), "x").unwrap();
    // A stale albatross.png (only the spot dataset's report has one).
    fs::write(out.join("albatross.png"), "stale").unwrap();
    let table = small_table(d.path(), "t.csv", 0.0);
    report(&table, &out, &[]).success();
    let got = files(&out);
    assert_eq!(got["README.md"], b"how to regenerate");
    assert_eq!(fs::read_to_string(out.join("extra/n.txt")).unwrap(), "x");
    assert!(!got.contains_key("albatross.png"), "{:?}", got.keys());
    assert!(got.contains_key("summary.md") && got.contains_key("report.png"));
}

#[test]
fn a_report_killed_between_the_renames_is_repaired_by_the_next_run() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reports");
    let first = small_table(d.path(), "first.csv", 0.0);
    report(&first, &out, &[]).success();
    let old = files(&out);
    // Debug-build hook: abort after moving the old set aside.
    let second = small_table(d.path(), "second.csv", 1.0);
    spotmeta()
        .current_dir(root())
        .env("SPOTMETA_FAULT_IN_SWAP", "1")
        .arg("report")
        .arg(&second)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure();
    assert!(!out.exists(), "the hook should stop between the renames");
    // The next run puts the old set back, then replaces it as usual.
    report(&first, &out, &[]).success();
    assert_eq!(files(&out), old);
    let leftovers: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".spotmeta-new") || n.contains(".spotmeta-old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn concurrent_reports_into_one_directory_leave_one_complete_set() {
    let d = tempfile::tempdir().unwrap();
    let tables: Vec<PathBuf> = (0..2)
        .map(|i| small_table(d.path(), &format!("t{i}.csv"), i as f64))
        .collect();
    // The set each input gives on its own.
    let sets: Vec<BTreeMap<String, Vec<u8>>> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let o = d.path().join(format!("serial{i}"));
            report(t, &o, &[]).success();
            files(&o)
        })
        .collect();
    assert_ne!(sets[0], sets[1]);
    let out = d.path().join("shared");
    let bin = assert_cmd::cargo::cargo_bin("spotmeta");
    let children: Vec<_> = (0..8)
        .map(|i| {
            std::process::Command::new(&bin)
                .current_dir(root())
                .arg("report")
                .arg(&tables[i % 2])
                .arg("--out")
                .arg(&out)
                // Eight debug runs queue for the lock; 5 s may not do under load.
                .args(["--wait", "600"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let got = files(&out);
    assert!(
        got == sets[0] || got == sets[1],
        "the directory mixes two runs: {:?}",
        got.keys()
    );
    // No lock file or temporary directory is left behind.
    let mut names: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["serial0", "serial1", "shared", "t0.csv", "t1.csv"]);
}

/// Issue #15: on Linux the new set is exchanged with the old one in one
/// step, so a reader polling the directory while it is replaced 50 times
/// never finds it missing, and every file it reads through one open handle
/// of the directory belongs to the same set. (The reader opens the directory
/// once per look and reads the files through `/proc/self/fd`, so a swap
/// between two reads cannot mix sets by itself.)
#[cfg(target_os = "linux")]
#[test]
fn a_reader_polling_during_50_swaps_never_sees_the_directory_missing_or_mixed() {
    use spotmeta::data::io::replace_dir_files;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reports");
    let names = ["a.txt", "b.txt", "c.txt"];
    let set = |n: usize| -> Vec<(String, Vec<u8>)> {
        names
            .iter()
            .map(|f| (f.to_string(), format!("set {n}").into_bytes()))
            .collect()
    };
    replace_dir_files(&out, &set(0), &names, &[], Duration::ZERO).unwrap();
    let done = AtomicBool::new(false);
    let looks = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut looks = 0u32;
            while !done.load(Ordering::Relaxed) {
                let dir = fs::File::open(&out).expect("the directory is never missing");
                let via = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
                let got: Result<Vec<String>, _> = names
                    .iter()
                    .map(|f| fs::read_to_string(via.join(f)))
                    .collect();
                match got {
                    Ok(got) => {
                        assert!(got.iter().all(|g| *g == got[0]), "mixed sets: {got:?}");
                        looks += 1;
                    }
                    // A file gone from the handle's directory: only the old
                    // set, swapped out and being removed, loses files.
                    Err(_) => {
                        use std::os::unix::fs::MetadataExt;
                        let (held, now) = (dir.metadata().unwrap(), fs::metadata(&out).unwrap());
                        assert_ne!(
                            (held.dev(), held.ino()),
                            (now.dev(), now.ino()),
                            "a file is missing from the current set"
                        );
                    }
                }
            }
            looks
        });
        for n in 1..=50 {
            replace_dir_files(&out, &set(n), &names, &[], Duration::from_secs(60)).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(looks > 0);
    assert_eq!(fs::read_to_string(out.join("c.txt")).unwrap(), "set 50");
}

/// The lock file of the output directory `out` (next to it, in its
/// canonical parent), held by this process with its pid recorded, as a
/// running `spotmeta report` holds it.
fn hold_dir_lock(out: &Path) -> (PathBuf, fs::File) {
    let parent = fs::canonicalize(out.parent().unwrap()).unwrap();
    let name = out.file_name().unwrap().to_string_lossy();
    let path = parent.join(format!(".{name}.spotmeta-lock"));
    let file = fs::File::create(&path).unwrap();
    file.try_lock().unwrap();
    fs::write(&path, format!("pid={}\nsince=0\n", std::process::id())).unwrap();
    (path, file)
}

/// Issue #15: the report directory lock honours `--wait` like the dataset
/// lock: the waiter names the holder, gives up after the limit with what to
/// do, and changes nothing; once the holder is gone the run goes through.
#[test]
fn a_report_waits_for_the_directory_lock_up_to_wait_and_names_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reports");
    let first = small_table(d.path(), "first.csv", 0.0);
    report(&first, &out, &[]).success();
    let old = files(&out);
    let (lock, held) = hold_dir_lock(&out);
    let second = small_table(d.path(), "second.csv", 1.0);
    report(&second, &out, &["--wait", "0.5"])
        .failure()
        .stderr(contains("waiting up to 0.5 s"))
        .stderr(contains(format!("pid {}", std::process::id())))
        .stderr(contains("writing into this directory"))
        .stderr(contains("gave up after 0.5 s"))
        .stderr(contains("--wait SECONDS"));
    assert_eq!(files(&out), old, "nothing written while the lock was held");
    held.unlock().unwrap();
    drop(held);
    report(&second, &out, &["--wait", "0"]).success();
    assert_ne!(files(&out), old);
    assert!(!lock.exists(), "the lock file is removed on release");
}

/// Issue #15: a lock path that cannot be opened (another user's lock file;
/// as root, simulated by a directory in its place) is an error that says
/// what to do, and the report directory is left as it was.
#[test]
fn a_report_lock_that_cannot_be_opened_says_what_to_do() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reports");
    let first = small_table(d.path(), "first.csv", 0.0);
    report(&first, &out, &[]).success();
    let old = files(&out);
    let parent = fs::canonicalize(d.path()).unwrap();
    fs::create_dir(parent.join(".reports.spotmeta-lock")).unwrap();
    let second = small_table(d.path(), "second.csv", 1.0);
    report(&second, &out, &["--wait", "0"])
        .failure()
        .stderr(contains("cannot open the lock file"))
        .stderr(contains("rm -r"));
    assert_eq!(files(&out), old);
}

/// Issue #15: finite inputs whose effect size overflows printed `inf` with
/// exit 0 (checked on the old code); now an error naming file:line.
#[test]
fn escalc_refuses_an_effect_size_that_overflows() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("big.csv");
    fs::write(
        &data,
        "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,1,1,10,0.5,1,10\nB,1e308,1,10,-1e308,1,10\n",
    )
    .unwrap();
    spotmeta()
        .arg("escalc")
        .arg(&data)
        .args(["--measure", "MD"])
        .assert()
        .failure()
        .stderr(contains("big.csv:3: MD overflows"))
        .stdout("");
}

/// A plain yi/vi table of `k` rows in `dir`.
fn yv_table(dir: &Path, name: &str, k: usize) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from("yi,vi\n");
    for i in 0..k {
        text += &format!(
            "{:.3},{:.3}\n",
            (i % 7) as f64 * 0.1 - 0.2,
            0.05 + (i % 5) as f64 * 0.02
        );
    }
    fs::write(&path, text).unwrap();
    path
}

/// The names of the files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn forest_pages_replace_the_earlier_set_and_leave_no_stale_page() {
    // Issue #19: `--out f.png` owns f.png and the pages it recorded; a run
    // writes one or the other and removes what an earlier run recorded that
    // it does not write; other files (f-01.png, and f-7.png / f-2023.png,
    // which only look like pages) are kept.
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("f.png");
    for (name, bytes) in [
        ("f.png", "old"),
        ("notes.txt", "mine"),
        ("f-01.png", "mine"),
        ("f-7.png", "mine"),
        ("f-2023.png", "mine"),
    ] {
        fs::write(out_dir.join(name), bytes).unwrap();
    }
    let forest = |table: &Path, page_rows: Option<&str>| {
        let mut c = spotmeta();
        c.arg("forest").arg(table).arg("--out").arg(&out);
        if let Some(n) = page_rows {
            c.args(["--page-rows", n]);
        }
        c.assert().success()
    };
    let t45 = yv_table(d.path(), "t45.csv", 45);
    forest(&t45, Some("20")).stderr(contains("wrote 3 pages"));
    let mine = ["f-01.png", "f-2023.png", "f-7.png", "notes.txt"];
    let with = |pages: &[&str]| {
        let mut v: Vec<String> = mine.iter().chain(pages).map(|s| s.to_string()).collect();
        v.push(".spotmeta-f.png.pages".into());
        v.sort();
        v
    };
    assert_eq!(names(&out_dir), with(&["f-1.png", "f-2.png", "f-3.png"]));
    assert_eq!(
        fs::read_to_string(out_dir.join(".spotmeta-f.png.pages")).unwrap(),
        "pages=3\n"
    );
    for i in 1..=3 {
        let png = fs::read(out_dir.join(format!("f-{i}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG", "page {i}");
    }
    let t25 = yv_table(d.path(), "t25.csv", 25);
    forest(&t25, Some("20")).stderr(contains("wrote 2 pages"));
    assert_eq!(names(&out_dir), with(&["f-1.png", "f-2.png"]));
    forest(&t25, None);
    assert_eq!(names(&out_dir), with(&["f.png"]));
    for name in mine {
        assert_eq!(fs::read(out_dir.join(name)).unwrap(), b"mine", "{name}");
    }
}

#[test]
fn a_page_that_fails_leaves_the_earlier_pages_and_no_temporary_file() {
    use spotmeta::data::io::{page_path, write_pages};
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("f.svg");
    let first = write_pages(
        "--out",
        &out,
        3,
        |i| Ok(format!("v1 {i}").into_bytes()),
        &[],
    )
    .unwrap();
    assert_eq!(
        first,
        (1..=3).map(|i| page_path(&out, i)).collect::<Vec<_>>()
    );
    let failed = write_pages(
        "--out",
        &out,
        2,
        |i| match i {
            0 => Ok(b"v2".to_vec()),
            _ => Err(spotmeta::Error::Unsupported(
                "page 2 cannot be drawn".into(),
            )),
        },
        &[],
    );
    assert!(failed.is_err());
    assert_eq!(
        names(d.path()),
        [".spotmeta-f.svg.pages", "f-1.svg", "f-2.svg", "f-3.svg"]
    );
    assert_eq!(fs::read(page_path(&out, 1)).unwrap(), b"v1 0");
}

#[test]
fn report_on_a_table_larger_than_a_page_draws_its_largest_weights_and_says_how_many_more() {
    let d = tempfile::tempdir().unwrap();
    let t45 = yv_table(d.path(), "t45.csv", 45);
    let dir = d.path().join("rep");
    spotmeta()
        .arg("report")
        .arg(&t45)
        .arg("--out")
        .arg(&dir)
        .args(["--page-rows", "20"])
        .assert()
        .success();
    // 19 studies and the "+N more" row make the page's 20 rows.
    let svg = fs::read_to_string(dir.join("forest.svg")).unwrap();
    assert!(
        svg.contains("+26 more studies, smaller weights"),
        "no '+26 more' row"
    );
    assert!(svg.contains("Random-effects model (k = 45)"));
    assert!(names(&dir).iter().all(|n| !n.starts_with("forest-")));
}

/// Attack: eight `forest` runs write the same `--out` at once, with 3, 2
/// and 1 pages. Afterwards the folder holds exactly one run's whole set,
/// its record says how many pages that set has, and no temporary or lock
/// file is left.
#[test]
fn concurrent_forest_runs_to_one_out_leave_one_whole_set() {
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("f.png");
    let t45 = yv_table(d.path(), "t45.csv", 45);
    let t25 = yv_table(d.path(), "t25.csv", 25);
    let bin = assert_cmd::cargo::cargo_bin("spotmeta");
    let children: Vec<std::process::Child> = (0..8)
        .map(|i| {
            let mut c = std::process::Command::new(&bin);
            c.arg("forest")
                .arg(if i % 3 == 0 { &t45 } else { &t25 })
                .arg("--out")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if i % 3 != 2 {
                c.args(["--page-rows", "20"]);
            }
            c.spawn().unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let got = names(&out_dir);
    let record = fs::read_to_string(out_dir.join(".spotmeta-f.png.pages")).unwrap();
    let want: Vec<&str> = match record.as_str() {
        "pages=1\n" => vec![".spotmeta-f.png.pages", "f.png"],
        "pages=2\n" => vec![".spotmeta-f.png.pages", "f-1.png", "f-2.png"],
        "pages=3\n" => vec![".spotmeta-f.png.pages", "f-1.png", "f-2.png", "f-3.png"],
        other => panic!("record {other:?}"),
    };
    assert_eq!(got, want);
}
