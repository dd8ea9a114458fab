//! Issue #15, "nothing lost": every write path of `spotmeta add` / `remove`
//! under hostile file styles and file-system conditions.
//!
//! The differential test edits every row of the bundled dataset in nine file
//! styles through the library and compares the result with an independent
//! model of the edit: the file split into records by a small tokenizer written
//! here (quotes, `\n`, `\r\n`, lone `\r`), with the edit applied to that list.

mod common;

use predicates::prelude::*;
use spotmeta::data::append::{EditOptions, RowValues, add_row, remove_rows};
use spotmeta::data::fsguard::DatasetLock;
use spotmeta::data::schema::COLUMNS;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One physical record of a file: its bytes (empty for a blank line) and its
/// own line ending (empty at the end of a file without a final newline).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    content: Vec<u8>,
    eol: Vec<u8>,
}

/// Split `bytes` into records, independently of the library's reader: a
/// record ends at the first `\r\n`, `\r` or `\n` outside double quotes.
fn tokens(bytes: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let mut quoted = false;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => quoted = !quoted,
                b'\r' | b'\n' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        let content = bytes[start..i].to_vec();
        let eol_len = match &bytes[i..] {
            [b'\r', b'\n', ..] => 2,
            [b'\r' | b'\n', ..] => 1,
            _ => 0,
        };
        out.push(Token {
            content,
            eol: bytes[i..i + eol_len].to_vec(),
        });
        i += eol_len;
    }
    out
}

fn join(tokens: &[Token]) -> Vec<u8> {
    tokens
        .iter()
        .flat_map(|t| t.content.iter().chain(&t.eol).copied())
        .collect()
}

/// The cells of one record.
fn fields(content: &[u8]) -> Vec<String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(content);
    let rec = rdr
        .records()
        .next()
        .expect("one record")
        .expect("valid record");
    rec.iter().map(str::to_owned).collect()
}

/// The bundled dataset as header + records of cells.
fn bundled() -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_path(common::dataset("spot_reduction.csv")).unwrap();
    let header = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn csv_line(cells: &[String], quote_all: bool) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(if quote_all {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(cells).unwrap();
    let mut v = w.into_inner().unwrap();
    v.pop();
    v
}

/// The file styles of issue #15 (plus a fully quoted one).
const STYLES: [&str; 9] = [
    "lf",
    "crlf",
    "lone-cr",
    "mixed",
    "bom",
    "no-final-newline",
    "blank-lines",
    "multiline-fields",
    "quote-all",
];

/// The bundled dataset rendered in `style`.
fn render(style: &str) -> Vec<u8> {
    let (header, mut rows) = bundled();
    if style == "multiline-fields" {
        let notes = header.iter().position(|h| h == "extraction_notes").unwrap();
        for (i, row) in rows.iter_mut().enumerate() {
            let eol = ["\n", "\r\n", "\r"][i % 3];
            row[notes] = format!("{}{eol}second line, \"quoted\"", row[notes]);
        }
    }
    let quote_all = style == "quote-all";
    let mut out = Vec::new();
    if style == "bom" {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    for (i, cells) in std::iter::once(&header).chain(&rows).enumerate() {
        out.extend(csv_line(cells, quote_all));
        let eol: &[u8] = match style {
            "crlf" => b"\r\n",
            "lone-cr" => b"\r",
            "mixed" => [&b"\n"[..], b"\r\n", b"\r"][i % 3],
            "blank-lines" if i % 4 == 1 => b"\n\n",
            "blank-lines" if i % 4 == 3 => b"\n\r\n\n",
            _ => b"\n",
        };
        out.extend_from_slice(eol);
    }
    if style == "no-final-newline" {
        out.pop();
    }
    out
}

fn values(header: &[String], cells: &[String]) -> RowValues {
    header.iter().cloned().zip(cells.iter().cloned()).collect()
}

/// The header of a tokenized file, BOM removed.
fn header_of(toks: &[Token]) -> Vec<String> {
    let mut h = fields(&toks[0].content);
    h[0] = h[0].trim_start_matches('\u{feff}').to_owned();
    h
}

/// Asserts `got` is `expected` with the record at token `at` replaced by one
/// whose cells are `cells`.
fn assert_spliced(got: &[u8], expected: &[Token], at: usize, cells: &[String], what: &str) {
    let got_toks = tokens(got);
    assert_eq!(got_toks.len(), expected.len(), "{what}: record count");
    for (i, (g, e)) in got_toks.iter().zip(expected).enumerate() {
        if i == at {
            assert_eq!(g.eol, e.eol, "{what}: line ending of the edited record");
            assert_eq!(
                fields(&g.content),
                cells,
                "{what}: cells of the edited record"
            );
        } else {
            assert_eq!(g, e, "{what}: record {i} must be untouched");
        }
    }
}

/// A scratch directory, in memory where the system has one: the differential
/// test makes about a thousand edits, each fsynced twice.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

#[test]
fn add_replace_and_remove_every_row_in_every_file_style_match_an_independent_model() {
    let dir = scratch();
    let path = dir.path().join("data.csv");
    let (_, rows) = bundled();
    for style in STYLES {
        let original = render(style);
        let toks = tokens(&original);
        let header = header_of(&toks);
        assert_eq!(header.len(), COLUMNS.len(), "{style}: header");
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        // Token index of every data record (blank lines skipped).
        let records: Vec<usize> = (1..toks.len())
            .filter(|&i| !toks[i].content.is_empty())
            .collect();
        assert_eq!(records.len(), rows.len(), "{style}: records");
        for (n, &at) in records.iter().enumerate() {
            let cells = fields(&toks[at].content);
            let what = format!("{style}, row {}", n + 1);

            // Replace: the same key with changed notes, in place.
            std::fs::write(&path, &original).unwrap();
            let mut edited = cells.clone();
            edited[col("extraction_notes")].push_str(" (checked)");
            add_row(
                &path,
                &values(&header, &edited),
                true,
                &EditOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{what}: replace: {e}"));
            assert_spliced(&std::fs::read(&path).unwrap(), &toks, at, &edited, &what);

            // Remove: every record of the study and cohort goes, with its
            // own line ending; blank lines and every other byte stay.
            std::fs::write(&path, &original).unwrap();
            let (study, cohort) = (&cells[col("study_id")], &cells[col("cohort")]);
            remove_rows(&path, study, Some(cohort), &EditOptions::default())
                .unwrap_or_else(|e| panic!("{what}: remove: {e}"));
            let kept: Vec<Token> = toks
                .iter()
                .enumerate()
                .filter(|(i, t)| {
                    *i == 0 || t.content.is_empty() || {
                        let f = fields(&t.content);
                        (&f[col("study_id")], &f[col("cohort")]) != (study, cohort)
                    }
                })
                .map(|(_, t)| t.clone())
                .collect();
            assert_eq!(std::fs::read(&path).unwrap(), join(&kept), "{what}: remove");

            // Add: the row, taken out by the model, comes back at the end in
            // the header's line ending.
            let mut without: Vec<Token> = toks.clone();
            without.remove(at);
            if let Some(last) = without.last_mut()
                && last.eol.is_empty()
            {
                last.eol = toks[0].eol.clone();
            }
            let base = join(&without);
            std::fs::write(&path, &base).unwrap();
            add_row(
                &path,
                &values(&header, &cells),
                false,
                &EditOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{what}: add: {e}"));
            let mut expected = without.clone();
            expected.push(Token {
                content: vec![],
                eol: toks[0].eol.clone(),
            });
            let at_end = expected.len() - 1;
            assert_spliced(
                &std::fs::read(&path).unwrap(),
                &expected,
                at_end,
                &cells,
                &format!("{what}: add"),
            );
        }
    }
}

/// Issue #15's first example, through the binary.
#[test]
fn remove_on_a_crlf_file_deletes_the_named_rows_and_no_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.csv");
    let lf = std::fs::read(common::dataset("spot_reduction.csv")).unwrap();
    let crlf: Vec<u8> = lf
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    std::fs::write(&path, &crlf).unwrap();
    common::spotmeta()
        .args(["remove", path.to_str().unwrap()])
        .args(["--study-id", "walts2008", "--cohort", "women"])
        .assert()
        .success();
    let after = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    assert!(
        !after.contains("\r\nwalts2008,women,"),
        "Walts (women) removed"
    );
    let before = String::from_utf8(crlf).unwrap();
    let expected_gone: Vec<&str> = before
        .split("\r\n")
        .filter(|l| l.starts_with("walts2008,women,"))
        .collect();
    assert!(!expected_gone.is_empty());
    let kept: Vec<&str> = before
        .split("\r\n")
        .filter(|l| !l.starts_with("walts2008,women,"))
        .collect();
    assert_eq!(after, kept.join("\r\n"), "every other line intact");
}

// ---- file-system conditions (issue #15, data loss 2 and 4, locks) ----

/// A copy of the bundled dataset without its last row, plus that row as a
/// one-row CSV for `spotmeta add --from`.
struct Scratch {
    dir: tempfile::TempDir,
    data: PathBuf,
    row: PathBuf,
}

fn scratch_dataset() -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::dataset("spot_reduction.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (last, rest) = lines.split_last().unwrap();
    let data = dir.path().join("data.csv");
    std::fs::write(&data, rest.join("\n") + "\n").unwrap();
    let row = dir.path().join("row.csv");
    std::fs::write(&row, format!("{}\n{last}\n", lines[0])).unwrap();
    Scratch { dir, data, row }
}

fn add_cmd(data: &Path, row: &Path) -> assert_cmd::Command {
    let mut c = common::spotmeta();
    c.arg("add")
        .arg(data)
        .arg("--from")
        .arg(row)
        .write_stdin("")
        .timeout(Duration::from_secs(60));
    c
}

fn row_count(path: &Path) -> usize {
    spotmeta::data::check(path).unwrap().rows
}

#[cfg(unix)]
#[test]
fn add_through_a_symlink_writes_the_real_file_and_keeps_the_link() {
    let s = scratch_dataset();
    let links = s.dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    let link = links.join("data.csv");
    std::os::unix::fs::symlink(&s.data, &link).unwrap();
    let rows = row_count(&s.data);
    add_cmd(&link, &s.row).assert().success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    assert_eq!(row_count(&s.data), rows + 1, "the real file got the row");
    assert!(
        !links.join("data.csv.lock").exists(),
        "no lock beside the link"
    );
    assert!(
        s.dir.path().join("data.csv.lock").exists(),
        "lock beside the real file"
    );
}

#[cfg(unix)]
#[test]
fn two_paths_to_one_file_share_one_lock_and_the_waiter_names_the_holder() {
    let s = scratch_dataset();
    let link = s.dir.path().join("alias.csv");
    std::os::unix::fs::symlink(&s.data, &link).unwrap();
    let real = std::fs::canonicalize(&s.data).unwrap();
    let held = DatasetLock::acquire(&real, Duration::ZERO).unwrap();
    let before = std::fs::read(&s.data).unwrap();
    add_cmd(&link, &s.row)
        .args(["--wait", "0.5"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("waiting up to 0.5 s"))
        .stderr(predicate::str::contains(format!(
            "pid {}",
            std::process::id()
        )))
        .stderr(predicate::str::contains("--wait SECONDS"));
    assert_eq!(std::fs::read(&s.data).unwrap(), before, "nothing written");
    drop(held);
    add_cmd(&link, &s.row)
        .args(["--wait", "0"])
        .assert()
        .success();
}

#[cfg(unix)]
#[test]
fn a_stopped_lock_holder_is_named_as_stopped_with_how_to_resume_it() {
    let s = scratch_dataset();
    let real = std::fs::canonicalize(&s.data).unwrap();
    let mut sleeper = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    let stop = std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let held = DatasetLock::acquire(&real, Duration::ZERO).unwrap();
    // Pretend the stopped process is the holder.
    std::fs::write(held.path(), format!("pid={pid}\nsince=0\n")).unwrap();
    let out = add_cmd(&s.data, &s.row)
        .args(["--wait", "0.2"])
        .assert()
        .failure();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    out.stderr(predicate::str::contains(format!("pid {pid}")))
        .stderr(predicate::str::contains("STOPPED"))
        .stderr(predicate::str::contains(format!("kill -CONT {pid}")));
}

#[test]
fn a_stale_lock_file_of_a_dead_process_is_taken_over() {
    let s = scratch_dataset();
    let lock = s.dir.path().join("data.csv.lock");
    std::fs::write(&lock, "pid=4194303\nsince=1\n").unwrap();
    add_cmd(&s.data, &s.row)
        .args(["--wait", "0"])
        .assert()
        .success();
    let holder = std::fs::read_to_string(&lock).unwrap();
    assert!(!holder.contains("4194303"), "holder rewritten: {holder}");
}

#[test]
fn a_lock_path_that_cannot_be_opened_says_what_to_do() {
    let s = scratch_dataset();
    std::fs::create_dir(s.dir.path().join("data.csv.lock")).unwrap();
    add_cmd(&s.data, &s.row)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot open the lock file"))
        .stderr(predicate::str::contains("rm -r"));
}

#[cfg(unix)]
#[test]
fn a_hard_linked_dataset_is_refused_and_both_names_keep_their_bytes() {
    let s = scratch_dataset();
    let other = s.dir.path().join("other.csv");
    std::fs::hard_link(&s.data, &other).unwrap();
    let before = std::fs::read(&s.data).unwrap();
    add_cmd(&s.data, &s.row)
        .assert()
        .failure()
        .stderr(predicate::str::contains("2 hard links"));
    assert_eq!(std::fs::read(&s.data).unwrap(), before);
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn a_write_protected_dataset_is_refused_not_replaced() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let s = scratch_dataset();
    std::fs::set_permissions(&s.data, std::fs::Permissions::from_mode(0o444)).unwrap();
    let (before, ino) = (
        std::fs::read(&s.data).unwrap(),
        std::fs::metadata(&s.data).unwrap().ino(),
    );
    add_cmd(&s.data, &s.row)
        .assert()
        .failure()
        .stderr(predicate::str::contains("write-protected (mode 444)"))
        .stderr(predicate::str::contains("chmod u+w"));
    common::spotmeta()
        .args([
            "remove",
            s.data.to_str().unwrap(),
            "--study-id",
            "walts2008",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("write-protected"));
    let meta = std::fs::metadata(&s.data).unwrap();
    assert_eq!(std::fs::read(&s.data).unwrap(), before);
    assert_eq!(
        (meta.ino(), meta.mode() & 0o777),
        (ino, 0o444),
        "same file, same mode"
    );
}

#[cfg(unix)]
#[test]
fn an_edit_keeps_the_files_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let s = scratch_dataset();
    std::fs::set_permissions(&s.data, std::fs::Permissions::from_mode(0o640)).unwrap();
    // As root (CI containers), also give the file to another user and group.
    let owner = if std::fs::metadata("/proc/self").unwrap().uid() == 0 {
        std::os::unix::fs::chown(&s.data, Some(65534), Some(65534)).unwrap();
        (65534, 65534)
    } else {
        let m = std::fs::metadata(&s.data).unwrap();
        (m.uid(), m.gid())
    };
    add_cmd(&s.data, &s.row).assert().success();
    let meta = std::fs::metadata(&s.data).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!((meta.uid(), meta.gid()), owner);
}

#[test]
fn temp_files_left_by_a_killed_writer_are_removed_by_the_next_writer() {
    let s = scratch_dataset();
    let temps = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".spotmeta-") && n.ends_with(".tmp"))
            .collect()
    };
    let before = std::fs::read(&s.data).unwrap();
    // `remove` rewrites the file through a temporary file (`add` appends).
    common::spotmeta()
        .arg("remove")
        .arg(&s.data)
        .args(["--study-id", "caruso2007"])
        .env("SPOTMETA_FAULT_BEFORE_RENAME", "1")
        .assert()
        .failure();
    assert_eq!(std::fs::read(&s.data).unwrap(), before);
    assert_eq!(
        temps(s.dir.path()).len(),
        1,
        "the killed writer's temp file"
    );
    add_cmd(&s.data, &s.row).assert().success();
    assert!(temps(s.dir.path()).is_empty(), "{:?}", temps(s.dir.path()));
}

/// The journal of `data` (`.spotmeta-NAME.append`), as the codebook's
/// "Editing" section documents it.
fn journal(data: &Path) -> PathBuf {
    let name = data.file_name().unwrap().to_string_lossy();
    data.with_file_name(format!(".spotmeta-{name}.append"))
}

/// A writer killed in the middle of appending its row (the debug build's
/// fault hook writes half the row, fsyncs and aborts) leaves the half row
/// and the journal. Readers read only the committed bytes; the next writer
/// cuts the half row off, says so, and appends its own.
#[test]
fn a_writer_killed_mid_append_is_invisible_to_readers_and_rolled_back_by_the_next_writer() {
    let s = scratch_dataset();
    let before = std::fs::read(&s.data).unwrap();
    let rows = row_count(&s.data);
    add_cmd(&s.data, &s.row)
        .env("SPOTMETA_FAULT_MID_APPEND", "1")
        .assert()
        .failure();
    let torn = std::fs::read(&s.data).unwrap();
    assert!(torn.len() > before.len(), "half a row was appended");
    assert_eq!(&torn[..before.len()], &before[..]);
    assert!(journal(&s.data).exists(), "the journal stays");
    // A reader sees the file as it was: the same rows, no ragged half row.
    assert_eq!(row_count(&s.data), rows);
    common::spotmeta()
        .arg("check")
        .arg(&s.data)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{rows} rows")));
    assert_eq!(
        std::fs::read(&s.data).unwrap(),
        torn,
        "readers write nothing"
    );
    // The next writer rolls back, then appends the row whole.
    add_cmd(&s.data, &s.row)
        .assert()
        .success()
        .stderr(predicate::str::contains("was interrupted while appending"));
    assert!(!journal(&s.data).exists());
    let after = std::fs::read(&s.data).unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    let mut model = before.clone();
    let row_text = std::fs::read_to_string(&s.row).unwrap();
    model.extend_from_slice(row_text.lines().nth(1).unwrap().as_bytes());
    model.push(b'\n');
    assert_eq!(after, model, "exactly the file before plus one whole row");
    assert_eq!(row_count(&s.data), rows + 1);
}

/// A journal that does not describe the file (cut short before its writer
/// appended anything, or left by an append to a file that has since been
/// replaced) is removed and the file left exactly as it is.
#[test]
fn a_journal_cut_short_or_about_another_file_never_cuts_the_dataset() {
    for journal_text in [
        "spotmeta append journal 1\ndev=1\nino=2\nbef".to_owned(),
        "spotmeta append journal 1\ndev=1\nino=2\nbefore=10\nafter=99999999\nend\n".to_owned(),
        String::new(),
    ] {
        let s = scratch_dataset();
        std::fs::write(journal(&s.data), &journal_text).unwrap();
        let before = std::fs::read(&s.data).unwrap();
        let rows = row_count(&s.data);
        assert_eq!(std::fs::read(&s.data).unwrap(), before);
        add_cmd(&s.data, &s.row).assert().success();
        assert!(!journal(&s.data).exists(), "{journal_text:?}");
        let after = std::fs::read(&s.data).unwrap();
        assert_eq!(&after[..before.len()], &before[..], "{journal_text:?}");
        assert_eq!(row_count(&s.data), rows + 1, "{journal_text:?}");
    }
}

/// A FIFO (or a directory) under the journal's name is no journal: readers
/// neither block on it nor cut the file, and a writer refuses with the path.
#[cfg(unix)]
#[test]
fn a_fifo_under_the_journals_name_never_blocks_a_reader() {
    let s = scratch_dataset();
    let fifo = journal(&s.data);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|st| st.success()) {
        return; // no mkfifo here
    }
    let rows = row_count(&s.data);
    common::spotmeta()
        .arg("check")
        .arg(&s.data)
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{rows} rows")));
    // The writer removes what sits under the journal's name, then appends.
    add_cmd(&s.data, &s.row).assert().success();
    assert!(!fifo.exists());
    assert_eq!(row_count(&s.data), rows + 1);
}

#[test]
fn a_mistyped_path_is_an_error_and_creates_no_lock_file() {
    let s = scratch_dataset();
    let typo = s.dir.path().join("dta.csv");
    add_cmd(&typo, &s.row)
        .assert()
        .failure()
        .stderr(predicate::str::contains("no such file"));
    common::spotmeta()
        .args(["remove", typo.to_str().unwrap(), "--study-id", "x"])
        .assert()
        .failure();
    assert!(!s.dir.path().join("dta.csv.lock").exists());
    assert!(!typo.exists());
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_directory_as_input_is_a_clear_error_not_a_hang() {
    let s = scratch_dataset();
    let fifo = s.dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for cmd in ["check", "rma"] {
        common::spotmeta()
            .arg(cmd)
            .arg(&fifo)
            .timeout(Duration::from_secs(20))
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "is a FIFO (named pipe), not a regular file",
            ));
    }
    add_cmd(&fifo, &s.row)
        .assert()
        .failure()
        .stderr(predicate::str::contains("FIFO"));
    common::spotmeta()
        .arg("check")
        .arg(s.dir.path())
        .timeout(Duration::from_secs(20))
        .assert()
        .failure()
        .stderr(predicate::str::contains("is a directory"));
}

// ---- concurrency ----

/// 32 writers each add a different row while every other one is killed with
/// SIGKILL at a varying moment. Afterwards the file must be one of the serial
/// histories: the original bytes untouched, then whole new rows, each at most
/// once, including every writer that reported success; no torn record.
#[test]
fn thirty_two_writers_with_kill_9_leave_a_file_equal_to_a_serial_history() {
    const WRITERS: usize = 32;
    let s = scratch_dataset();
    let original = std::fs::read(&s.data).unwrap();
    let template = std::fs::read_to_string(&s.row).unwrap();
    let (header_line, row_line) = template.trim_end().split_once('\n').unwrap();
    let base = fields(row_line.as_bytes());
    let rows: Vec<Vec<String>> = (0..WRITERS)
        .map(|i| {
            let mut r = base.clone();
            r[0] = format!("writer{i}x");
            r
        })
        .collect();
    let bin = assert_cmd::cargo::cargo_bin("spotmeta");
    let mut children: Vec<(usize, std::process::Child)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let from = s.dir.path().join(format!("row{i}.csv"));
            let mut text = format!("{header_line}\n").into_bytes();
            text.extend(csv_line(r, false));
            text.push(b'\n');
            std::fs::write(&from, text).unwrap();
            let child = std::process::Command::new(&bin)
                .arg("add")
                .arg(&s.data)
                .arg("--from")
                .arg(&from)
                .args(["--wait", "120"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (i, child)
        })
        .collect();
    // A reader checks the file over and over meanwhile: it must never see
    // a torn row (an unfinished append is invisible) nor lose a row.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (data, done) = (s.data.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut reads, mut last) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let report = spotmeta::data::check(&data).unwrap();
                assert!(report.is_ok(), "a reader saw a torn file: {report}");
                assert!(report.rows >= last, "rows went {last} → {}", report.rows);
                last = report.rows;
                reads += 1;
            }
            reads
        })
    };
    // Kill every other writer, at moments spread over the run.
    let started = std::time::Instant::now();
    let mut succeeded = Vec::new();
    let mut killed = 0;
    while !children.is_empty() {
        let mut still = Vec::new();
        for (i, mut c) in children {
            if let Some(status) = c.try_wait().unwrap() {
                if status.success() {
                    succeeded.push(i);
                }
                continue;
            }
            let due = Duration::from_millis(40 * (i as u64 / 2));
            if i % 2 == 1 && started.elapsed() >= due {
                c.kill().unwrap();
                c.wait().unwrap();
                killed += 1;
                continue;
            }
            still.push((i, c));
        }
        children = still;
        assert!(started.elapsed() < Duration::from_secs(120), "writers hung");
        std::thread::sleep(Duration::from_millis(5));
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    // A writer killed mid-append left its journal: taking the lock, as the
    // next writer would, rolls its half row back.
    drop(DatasetLock::acquire(&s.data, Duration::from_secs(5)).unwrap());
    let after = std::fs::read(&s.data).unwrap();
    assert!(
        after.starts_with(&original),
        "the original bytes are untouched"
    );
    let added: Vec<Vec<String>> = tokens(&after[original.len()..])
        .into_iter()
        .map(|t| {
            assert_eq!(t.eol, b"\n", "every new record is whole");
            fields(&t.content)
        })
        .collect();
    let mut landed: Vec<usize> = added
        .iter()
        .map(|f| {
            rows.iter()
                .position(|r| r == f)
                .unwrap_or_else(|| panic!("a torn or foreign record: {f:?}"))
        })
        .collect();
    landed.sort_unstable();
    let n = landed.len();
    landed.dedup();
    assert_eq!(landed.len(), n, "no row twice");
    for i in &succeeded {
        assert!(
            landed.contains(i),
            "writer {i} succeeded but its row is missing"
        );
    }
    for i in (0..WRITERS).step_by(2) {
        assert!(
            succeeded.contains(&i),
            "writer {i} was never killed but failed ({killed} killed)"
        );
    }
    assert!(spotmeta::data::check(&s.data).unwrap().is_ok());
}

/// `add --rerun` writes the report while it still holds the dataset lock, so
/// the report describes the file just written (here: one row more).
#[test]
fn add_rerun_regenerates_a_report_of_the_file_just_written() {
    let s = scratch_dataset();
    let out = s.dir.path().join("reports");
    let rows = row_count(&s.data);
    add_cmd(&s.data, &s.row)
        .arg("--rerun")
        .arg("--report-dir")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("  before: raw-score SMD = "));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["rows"], rows + 1);
    assert_eq!(row_count(&s.data), rows + 1);
}
