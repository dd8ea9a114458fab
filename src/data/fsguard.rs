//! File-system guards for reading and editing a dataset (issue #15, "nothing
//! lost"):
//!
//! * [`regular_file`]: an input must be an existing regular file; a
//!   directory, FIFO, socket or device is refused *before* it is opened, so a
//!   FIFO never blocks a command forever.
//! * [`edit_target`]: the file an edit really changes. Symlinks are followed
//!   to the real file (its directory gets the temporary file, its name gets
//!   the lock); a write-protected file (no write bit, mode 444) and a file
//!   with several hard links are refused with what to do, never replaced.
//! * [`DatasetLock`]: an exclusive lock on `REAL.lock` next to the real file,
//!   so two paths to one file exclude each other. The holder writes its pid
//!   and start time into the lock file; a waiter prints who holds it, waits
//!   up to a limit (`--wait`), says when the holder is stopped (Ctrl-Z), and
//!   then fails clearly. The operating system releases the lock of a dead
//!   process, so a stale lock file (dead pid) is simply taken over.
//! * [`replace_file`]: the new bytes go to `.spotmeta-NAME.RANDOM.tmp` in the
//!   real file's directory with the file's mode and owner, are fsynced and
//!   renamed over it; temporary files left by a killed writer are removed by
//!   the next writer ([`DatasetLock::acquire`]).
//! * [`append_in_place`]: a new row is appended to the file itself (issue
//!   #19: rewriting 206 MB to add 300 bytes took 0.8 s) under a roll-back
//!   journal `.spotmeta-NAME.append` that records the committed length. The
//!   journal is written and fsynced before the first byte is appended and
//!   removed after the appended bytes are fsynced, so a writer killed in
//!   between leaves the journal: the next writer cuts the file back to the
//!   committed length ([`DatasetLock::acquire`]), and until then every reader
//!   reads only the committed bytes (`committed_len`).

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long an edit waits for another writer's lock by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

fn refuse(path: &Path, kind: ErrorKind, message: String) -> Error {
    Error::io(path, std::io::Error::new(kind, message))
}

/// Checks that `path` exists and is a regular file (symlinks followed)
/// without opening it.
///
/// # Errors
///
/// [`Error::Io`] saying what `path` is instead (missing, a directory, a FIFO,
/// a socket or a device) and what to give.
pub fn regular_file(path: &Path) -> Result<()> {
    regular_input(path, "a CSV file")
}

/// [`regular_file`] for a reader that takes `give` (e.g. "a CSV or Parquet
/// file"), named in the message.
///
/// # Errors
///
/// As [`regular_file`].
pub fn regular_input(path: &Path, give: &str) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(refuse(
                path,
                ErrorKind::NotFound,
                "no such file; check the path (nothing was created or changed)".into(),
            ));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let what = if meta.is_file() {
        return Ok(());
    } else if meta.is_dir() {
        "a directory"
    } else {
        special_kind(&meta)
    };
    Err(refuse(
        path,
        ErrorKind::InvalidInput,
        format!(
            "is {what}, not a regular file; give {give} (to read a stream, save it to a file first)"
        ),
    ))
}

#[cfg(unix)]
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::Metadata) -> &'static str {
    "not a regular file"
}

/// The real file an edit of `path` changes: symlinks resolved, checked to be
/// a regular, writable file with one link.
///
/// # Errors
///
/// As [`regular_file`]; [`Error::Io`] when the file is write-protected (no
/// write permission bit, even for root), has several hard links (replacing it
/// would detach the other names), or cannot be opened for writing.
pub fn edit_target(path: &Path) -> Result<PathBuf> {
    regular_file(path)?;
    let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    let meta = std::fs::metadata(&real).map_err(|e| Error::io(&real, e))?;
    if meta.permissions().readonly() {
        return Err(refuse(
            path,
            ErrorKind::PermissionDenied,
            format!(
                "the dataset is write-protected{}; spotmeta will not replace it. If you mean to edit it, run `chmod u+w {}` first",
                mode_text(&meta),
                real.display()
            ),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return Err(refuse(
                path,
                ErrorKind::Unsupported,
                format!(
                    "the dataset has {n} hard links; replacing it would leave the other names with the old rows. Make this name a file of its own first (`cp {f} {f}.new && mv {f}.new {f}`), or use a symlink instead of a hard link",
                    n = meta.nlink(),
                    f = real.display()
                ),
            ));
        }
    }
    // Can this user write it at all? (Opening for writing changes nothing.)
    OpenOptions::new().write(true).open(&real).map_err(|e| {
        if e.kind() == ErrorKind::PermissionDenied {
            refuse(
                path,
                ErrorKind::PermissionDenied,
                format!(
                    "permission denied: you cannot write {}; ask its owner, or edit a copy",
                    real.display()
                ),
            )
        } else {
            Error::io(&real, e)
        }
    })?;
    Ok(real)
}

fn mode_text(meta: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        format!(" (mode {:o})", meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        String::new()
    }
}

/// `real` with `suffix` appended to its file name.
fn sibling(real: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(prefix);
    name.push(real.file_name().unwrap_or_default());
    name.push(suffix);
    real.with_file_name(name)
}

/// Who holds a lock, as written in the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// When it took the lock (seconds since the Unix epoch).
    pub since: u64,
}

impl Holder {
    fn parse(text: &str) -> Option<Holder> {
        let mut pid = None;
        let mut since = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", v)) => pid = v.trim().parse().ok(),
                Some(("since", v)) => since = v.trim().parse().ok(),
                _ => {}
            }
        }
        Some(Holder {
            pid: pid?,
            since: since?,
        })
    }

    fn describe(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut s = format!(
            "pid {} (holding it for {} s)",
            self.pid,
            now.saturating_sub(self.since)
        );
        if process_state(self.pid) == Some('T') {
            s.push_str(&format!(
                "; that process is STOPPED (Ctrl-Z): resume it with `fg` in its terminal or `kill -CONT {}`, or end it",
                self.pid
            ));
        }
        s
    }
}

/// The state letter of a process (`R`, `S`, `T` stopped…), where `/proc` exists.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A held lock on the dataset (`REAL.lock` next to the real file); released
/// on drop, or by the operating system if the process dies.
#[derive(Debug)]
pub struct DatasetLock {
    _file: File,
    path: PathBuf,
}

impl DatasetLock {
    /// Takes the exclusive lock of the real file `real` (see [`edit_target`]),
    /// waiting up to `wait` for another writer, with a message on standard
    /// error while waiting. Then removes temporary files a killed writer of
    /// this dataset left behind.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the lock file cannot be opened (with what to do) or
    /// the lock is still held after `wait` (naming the holder).
    pub fn acquire(real: &Path, wait: Duration) -> Result<DatasetLock> {
        let path = sibling(real, "", ".lock");
        let site = LockSite {
            subject: real,
            doing: "changing this dataset",
            unwritable: "the dataset's directory is not writable, and an edit writes its new version there too. Edit a copy in a writable directory",
        };
        let mut file = Waiter::new(wait).lock(&path, &site)?;
        record_holder(&mut file);
        roll_back_interrupted_append(real)?;
        remove_stale_temp_files(real);
        Ok(DatasetLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a lock file protects, for the messages of [`Waiter::lock`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockSite<'a> {
    /// The file or directory the lock protects (named in a time-out error).
    pub subject: &'a Path,
    /// What the holder is doing, e.g. "changing this dataset".
    pub doing: &'a str,
    /// Why the lock file cannot be created in an unwritable directory, and
    /// what to do.
    pub unwritable: &'a str,
}

/// Takes lock files within one time limit (`--wait`), telling the user once
/// who holds the lock while waiting. The dataset lock and the output
/// directory lock ([`super::io`]) both wait through it, so both
/// name the holder (pid and since when), say when it is stopped, and fail
/// the same way after the limit.
#[derive(Debug)]
pub(crate) struct Waiter {
    started: Instant,
    wait: Duration,
    told: bool,
}

impl Waiter {
    /// A waiter whose limit `wait` starts now.
    pub fn new(wait: Duration) -> Waiter {
        Waiter {
            started: Instant::now(),
            wait,
            told: false,
        }
    }

    /// Opens (creating if needed) the lock file `path` and takes its
    /// exclusive lock, polling until the limit has passed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the lock file cannot be opened (with what to do,
    /// [`LockSite::unwritable`] for a directory that is not writable) or the
    /// lock is still held when the limit has passed (naming the holder).
    pub fn lock(&mut self, path: &Path, site: &LockSite<'_>) -> Result<File> {
        let file = open_lock_file(path, site)?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
            let holder = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| Holder::parse(&t))
                .map_or_else(|| "another process".to_owned(), |h| h.describe());
            if self.started.elapsed() >= self.wait {
                return Err(refuse(
                    site.subject,
                    ErrorKind::WouldBlock,
                    format!(
                        "another spotmeta is {}: the lock {} is held by {holder}; gave up after {} s. Try again when it has finished, or wait longer with --wait SECONDS",
                        site.doing,
                        path.display(),
                        self.wait.as_secs_f64()
                    ),
                ));
            }
            if !self.told {
                eprintln!(
                    "spotmeta: waiting up to {} s for the lock {} (held by {holder})",
                    self.wait.as_secs_f64(),
                    path.display()
                );
                self.told = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Record who holds a just-taken lock (best effort: a read-only lock file
/// still locks).
pub(crate) fn record_holder(file: &mut File) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if file.set_len(0).is_ok() {
        let _ = write!(file, "pid={}\nsince={since}\n", std::process::id());
    }
}

/// Opens (creating if needed) the lock file; read-only is enough to lock.
fn open_lock_file(path: &Path, site: &LockSite<'_>) -> Result<File> {
    let rw = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path);
    match rw {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == ErrorKind::PermissionDenied && !path.exists() => Err(refuse(
            path,
            e.kind(),
            format!("cannot create the lock file ({e}): {}", site.unwritable),
        )),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            File::open(path).map_err(|e| {
                refuse(
                    path,
                    e.kind(),
                    format!(
                        "cannot open the lock file ({e}); it probably belongs to another user. If no spotmeta is running here, remove it (`rm {}`) or ask its owner to",
                        path.display()
                    ),
                )
            })
        }
        Err(e) => Err(refuse(
            path,
            e.kind(),
            format!(
                "cannot open the lock file ({e}); if it is not a regular file, remove it (`rm -r {}`)",
                path.display()
            ),
        )),
    }
}

/// Prefix of this dataset's temporary files (`.spotmeta-NAME.`).
fn temp_prefix(real: &Path) -> String {
    format!(
        ".spotmeta-{}.",
        real.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// Removes `.spotmeta-NAME.*.tmp` next to `real`: only a writer holding the
/// lock makes them, so any found by the lock holder are left by a killed one.
fn remove_stale_temp_files(real: &Path) {
    let (Some(dir), prefix) = (real.parent(), temp_prefix(real)) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The roll-back journal of an append to `real` (`.spotmeta-NAME.append`).
fn journal_path(real: &Path) -> PathBuf {
    sibling(real, ".spotmeta-", ".append")
}

/// What the journal of an unfinished append records: the file (device and
/// inode) and its length before and after the append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Journal {
    dev: u64,
    ino: u64,
    before: u64,
    after: u64,
}

/// First line of a journal file.
const JOURNAL_MAGIC: &str = "spotmeta append journal 1";

impl Journal {
    fn text(&self) -> String {
        format!(
            "{JOURNAL_MAGIC}\ndev={}\nino={}\nbefore={}\nafter={}\nend\n",
            self.dev, self.ino, self.before, self.after
        )
    }

    /// The journal in `text`; `None` for a journal cut short (its writer
    /// died before the journal was complete, so before any byte was
    /// appended) or not written by spotmeta.
    fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        if lines.next()? != JOURNAL_MAGIC {
            return None;
        }
        let mut field = |name: &str| -> Option<u64> {
            lines
                .next()?
                .strip_prefix(name)?
                .strip_prefix('=')?
                .parse()
                .ok()
        };
        let j = Journal {
            dev: field("dev")?,
            ino: field("ino")?,
            before: field("before")?,
            after: field("after")?,
        };
        (lines.next()? == "end" && j.before <= j.after).then_some(j)
    }

    /// Whether the journal is about `meta`'s file as the append left it:
    /// the same file, no shorter than before and no longer than after.
    fn covers(&self, meta: &std::fs::Metadata) -> bool {
        let (dev, ino) = identity(meta);
        dev == self.dev && ino == self.ino && (self.before..=self.after).contains(&meta.len())
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The journal next to `real`: `None` when there is none, `Some(Err(()))`
/// when something else sits under its name (not a regular file, or not a
/// journal). Only a regular file is opened and at most 4 KB of it read, so
/// a FIFO or a huge file under that name never blocks or floods a reader.
fn read_journal(real: &Path) -> Option<std::result::Result<Journal, ()>> {
    use std::io::Read as _;
    let path = journal_path(real);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return None,
        Ok(m) if m.is_file() => {}
        _ => return Some(Err(())),
    }
    let mut text = String::new();
    let read = File::open(&path).and_then(|f| f.take(4096).read_to_string(&mut text));
    Some(read.ok().and_then(|_| Journal::parse(&text)).ok_or(()))
}

/// Fsyncs the directory `dir`, so a rename or removal in it is durable
/// (best effort: not every system can open a directory).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The directory holding the file `path` (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Finishes an append a killed writer left unfinished (call with the lock
/// held): the file is cut back to its committed length and the journal
/// removed. A journal cut short (nothing was appended yet) or about another
/// file (the dataset was replaced since) is removed and the file left as it
/// is.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be cut back or the journal removed.
fn roll_back_interrupted_append(real: &Path) -> Result<()> {
    let Some(journal) = read_journal(real) else {
        return Ok(());
    };
    let jpath = journal_path(real);
    if let Ok(j) = journal
        && let Ok(file) = OpenOptions::new().write(true).open(real)
        && let Ok(meta) = file.metadata()
        && j.covers(&meta)
        && meta.len() != j.before
    {
        file.set_len(j.before).map_err(|e| Error::io(real, e))?;
        file.sync_all().map_err(|e| Error::io(real, e))?;
        eprintln!(
            "spotmeta: {}: an earlier `spotmeta add` was interrupted while appending its row; the {} byte(s) it had appended were removed (the file is as it was before that add)",
            real.display(),
            meta.len() - j.before
        );
    }
    std::fs::remove_file(&jpath).map_err(|e| Error::io(&jpath, e))?;
    sync_dir(dir_of(real));
    Ok(())
}

/// What a reader of `file` (opened from `path`) may read: the committed
/// length (the length before an unfinished append, else the file's length)
/// and a token that changes whenever an append starts, ends or is rolled
/// back, or the file is replaced. A reader reads the committed length and
/// then compares the token; a changed token means "read again".
///
/// # Errors
///
/// As [`std::fs::File::metadata`].
pub(crate) fn committed_len(file: &File, path: &Path) -> std::io::Result<(u64, ReadToken)> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let journal = read_journal(&real);
    let meta = file.metadata()?;
    let committed = match journal {
        Some(Ok(j)) if j.covers(&meta) => j.before,
        _ => meta.len(),
    };
    Ok((
        committed,
        ReadToken {
            journal: journal.map(|j| j.ok()),
            identity: identity(&meta),
            len: meta.len(),
        },
    ))
}

/// See [`committed_len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadToken {
    journal: Option<Option<Journal>>,
    identity: (u64, u64),
    len: u64,
}

/// Appends `tail` to the real file `real`, whose length must be `before`,
/// under a roll-back journal (see the module documentation). Call with the
/// [`DatasetLock`] held.
///
/// # Errors
///
/// [`Error::Io`] if the file changed length since it was read (another
/// program wrote it without the lock), or the journal or the bytes cannot
/// be written; the file is then as it was (a failed write is rolled back at
/// once, or by the next writer if even that fails).
pub fn append_in_place(real: &Path, before: u64, tail: &[u8]) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(real)
        .map_err(|e| Error::io(real, e))?;
    let meta = file.metadata().map_err(|e| Error::io(real, e))?;
    if meta.len() != before {
        return Err(refuse(
            real,
            ErrorKind::Other,
            format!(
                "the file changed while the row was checked ({before} bytes then, {} now): another program wrote it without spotmeta's lock. Nothing was written; run the command again",
                meta.len()
            ),
        ));
    }
    let (dev, ino) = identity(&meta);
    let journal = Journal {
        dev,
        ino,
        before,
        after: before + tail.len() as u64,
    };
    let jpath = journal_path(real);
    let mut j = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&jpath)
        .map_err(|e| Error::io(&jpath, e))?;
    j.write_all(journal.text().as_bytes())
        .and_then(|()| j.sync_all())
        .map_err(|e| Error::io(&jpath, e))?;
    sync_dir(dir_of(real));
    // Test hook (debug builds only): die after appending half the row, as a
    // writer killed mid-append would.
    #[cfg(debug_assertions)]
    if std::env::var_os("SPOTMETA_FAULT_MID_APPEND").is_some() {
        let _ = write_at(&file, &tail[..tail.len() / 2], before);
        let _ = file.sync_all();
        std::process::abort();
    }
    if let Err(e) = write_at(&file, tail, before).and_then(|()| file.sync_data()) {
        // Cut back now; if even that fails, the journal stays for the next
        // writer and readers keep reading the committed bytes.
        if file.set_len(before).and_then(|()| file.sync_all()).is_ok() {
            let _ = std::fs::remove_file(&jpath);
        }
        return Err(Error::io(real, e));
    }
    std::fs::remove_file(&jpath).map_err(|e| Error::io(&jpath, e))?;
    sync_dir(dir_of(real));
    Ok(())
}

/// Writes `bytes` at `offset` of `file`.
fn write_at(mut file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::Seek as _;
    file.seek(std::io::SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// Replaces the real file `real` with `bytes` atomically, keeping its mode
/// and owner. Call with the [`DatasetLock`] held.
///
/// # Errors
///
/// [`Error::Io`] if the temporary file cannot be written, or the owner
/// cannot be kept (the file is then left unchanged).
pub fn replace_file(real: &Path, bytes: &[u8]) -> Result<()> {
    let dir = dir_of(real);
    let meta = std::fs::metadata(real).map_err(|e| Error::io(real, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(real))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(|e| Error::io(tmp.path(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mine = tmp
            .as_file()
            .metadata()
            .map_err(|e| Error::io(tmp.path(), e))?;
        if (mine.uid(), mine.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid())).map_err(
                |e| {
                    refuse(
                        real,
                        e.kind(),
                        format!(
                            "cannot keep the file's owner {}:{} ({e}); spotmeta will not change who owns the dataset. Edit it as its owner, or edit a copy",
                            meta.uid(),
                            meta.gid()
                        ),
                    )
                },
            )?;
            // fchown may clear set-id bits; restore the mode.
            tmp.as_file()
                .set_permissions(meta.permissions())
                .map_err(|e| Error::io(tmp.path(), e))?;
        }
    }
    persist_synced(tmp, real, dir)
}

/// The last step of every atomic write: fsync the finished temporary file,
/// rename it over `target` and fsync the directory `dir` holding both.
pub(crate) fn persist_synced(
    tmp: tempfile::NamedTempFile,
    target: &Path,
    dir: &Path,
) -> Result<()> {
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    // Test hook (debug builds only): die between writing the temporary file
    // and renaming it, as a killed writer would.
    #[cfg(debug_assertions)]
    if std::env::var_os("SPOTMETA_FAULT_BEFORE_RENAME").is_some() {
        std::process::abort();
    }
    tmp.persist(target)
        .map_err(|e| Error::io(target, e.error))?;
    sync_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal reads back as written; every cut-short prefix of it (its
    /// writer died while writing it, before anything was appended) is no
    /// journal, so it never cuts the file.
    #[test]
    fn a_journal_round_trips_and_no_prefix_of_it_parses() {
        let j = Journal {
            dev: 2049,
            ino: 123_456,
            before: 206_135_342,
            after: 206_138_827,
        };
        let text = j.text();
        assert_eq!(Journal::parse(&text), Some(j));
        for cut in 0..text.len() - 1 {
            assert_eq!(Journal::parse(&text[..cut]), None, "{:?}", &text[..cut]);
        }
    }

    #[test]
    fn holder_round_trips_through_the_lock_file_text() {
        assert_eq!(
            Holder::parse("pid=42\nsince=1700000000\n"),
            Some(Holder {
                pid: 42,
                since: 1_700_000_000
            })
        );
        assert_eq!(Holder::parse(""), None);
    }

    #[test]
    fn this_process_is_running_not_stopped() {
        assert_ne!(process_state(std::process::id()), Some('T'));
    }
}
