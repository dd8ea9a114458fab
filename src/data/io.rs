//! Output files, written safely (issue #15): an output never lands on an
//! input, a file is replaced atomically, and a directory's file set is
//! replaced all at once. Every layer that writes goes through here, so no
//! lower layer needs `output/` to write.
//!
//! - [`write_atomic`] writes a temporary file in the same directory, fsyncs
//!   it and renames it over the target.
//! - [`refuse_input_as_output`] compares files by device and inode (not by
//!   name), so `--out` given as the input under another spelling, through a
//!   symlink or as a hard link is refused before anything is written.
//! - [`write_output`] is that check followed by [`write_atomic`]: every
//!   `--out` file goes through it.
//! - [`write_pages`] writes an output of several pages (`forest-1.png`,
//!   `forest-2.png`, …) as one set: every page fsynced beside the target
//!   first, then renamed into place, and the stale pages of an earlier run
//!   (as its record `.spotmeta-NAME.pages` lists them, [`pages_record`])
//!   removed.
//! - [`replace_dir_files`] publishes a set of files as the content of a
//!   directory: it builds the new set in a sibling temporary directory, then
//!   swaps it in, under a lock on the directory, so a reader sees either the
//!   old set or the new one and a failure leaves the old set intact.
//!   `spotmeta report` uses it; so can any caller that holds another lock
//!   (e.g. the dataset lock of `add --rerun`).
//!
//! On Linux the swap is one atomic exchange of the two directories
//! (`renameat2` with `RENAME_EXCHANGE`), so the directory is never absent.
//! Where the exchange is unsupported it is two renames (old → aside, new →
//! in place), between which the directory is briefly absent; a run killed
//! exactly there is repaired by the next run, which puts the old set back
//! before starting.

use super::fsguard::{LockSite, Waiter, dir_of, persist_synced, record_holder, sync_dir};
use crate::error::{Error, Result};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Write `bytes` to `path` atomically: a temporary file in the same directory
/// is written, flushed and fsynced, then renamed over `path`, so a reader (or a
/// crash) never sees a half-written file and a failure leaves the old file as
/// it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = dir_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".spotmeta-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    // A new file gets the usual 0644; a replaced file keeps its mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    persist_synced(tmp, path, dir)
}

/// Identity of a file: device and inode on Unix, the canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev_ino: (u64, u64),
    #[cfg(not(unix))]
    canonical: PathBuf,
}

/// The identity of the file `path` names (following symlinks), or `None`
/// when there is no such file (yet).
fn file_id(path: &Path) -> Option<FileId> {
    let meta = fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = &meta;
        Some(FileId {
            dev_ino: (meta.dev(), meta.ino()),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Some(FileId {
            canonical: fs::canonicalize(path).ok()?,
        })
    }
}

/// Refuse `out` (the value of the option `option`) when it is the same file
/// as one of `inputs`: same device and inode, whatever the spelling,
/// symlinks or hard links. An `out` that does not exist yet is fine.
///
/// # Errors
///
/// [`Error::Option`] naming the option, both paths and what to do.
pub fn refuse_input_as_output(option: &str, out: &Path, inputs: &[&Path]) -> Result<()> {
    let Some(out_id) = file_id(out) else {
        return Ok(());
    };
    for input in inputs {
        if file_id(input).as_ref() == Some(&out_id) {
            return Err(Error::option(
                option,
                format!(
                    "{} is the input file {} (same file on disk); writing there would replace \
                     the input. Choose another output path.",
                    out.display(),
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuse a directory `dir` (the value of `option`) that is, or contains
/// at any depth, one of `inputs`, or that holds the current working
/// directory: replacing its content would lose them.
///
/// # Errors
///
/// [`Error::Option`] naming the option, both paths and what to do.
pub fn refuse_dir_holding_input(option: &str, dir: &Path, inputs: &[&Path]) -> Result<()> {
    let Some(dir_id) = file_id(dir) else {
        return Ok(());
    };
    let holds = |path: &Path| -> bool {
        let Ok(canonical) = fs::canonicalize(path) else {
            return false;
        };
        canonical
            .ancestors()
            .any(|a| file_id(a).as_ref() == Some(&dir_id))
    };
    for input in inputs {
        if holds(input) {
            return Err(Error::option(
                option,
                format!(
                    "the directory {} holds the input file {}; its content is replaced as a \
                     whole, which would lose the input. Write into a directory of its own \
                     (e.g. reports/).",
                    dir.display(),
                    input.display()
                ),
            ));
        }
    }
    if std::env::current_dir().is_ok_and(|cwd| holds(&cwd)) {
        return Err(Error::option(
            option,
            format!(
                "the directory {} is (or holds) the current directory; its content is replaced \
                 as a whole. Write into a subdirectory (e.g. reports/).",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Write `bytes` to the output `path` (the value of `option`) atomically,
/// after checking that `path` is none of `inputs`.
///
/// # Errors
///
/// [`Error::Option`] if `path` is an input (nothing is written);
/// [`Error::Io`] if writing fails (the old file, if any, is kept).
pub fn write_output(option: &str, path: &Path, bytes: &[u8], inputs: &[&Path]) -> Result<()> {
    refuse_input_as_output(option, path, inputs)?;
    write_atomic(path, bytes)
}

/// The file of page `i` (1-based) of the paged output `out`: `forest.png`
/// → `forest-3.png` beside it (the extension kept as given).
pub fn page_path(out: &Path, i: usize) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    let name = match out.extension() {
        Some(ext) => format!("{stem}-{i}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{i}"),
    };
    out.with_file_name(name)
}

/// Where [`write_pages`] records how many pages it wrote for `out`:
/// `.spotmeta-NAME.pages` beside it (`pages=N`), so the next run removes
/// exactly the pages this one wrote and no file of the user's.
pub fn pages_record(out: &Path) -> PathBuf {
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!(".spotmeta-{name}.pages"))
}

/// Write the output `out` (the value of `option`) as `n` pages, page `i`
/// (0-based) drawn by `page(i)`, and return the files written: `out` itself
/// when `n` is 1, else `page_path(out, 1)` … `page_path(out, n)`. Pages
/// are drawn in batches of one per rayon thread, so memory holds a batch
/// of pages, never the plot.
///
/// The set is replaced as a whole: every page
/// is drawn and written to a fsynced temporary file beside `out` first (a
/// failure there removes them and leaves the old files as they were); then
/// each is renamed into place, and the files of an earlier run that the new
/// set does not have are removed, so no stale page is left mixed in: its
/// extra pages, or the pages when the new set is `out`, and `out` itself
/// when the new set is pages. Which pages an earlier run wrote is read from
/// the record it left beside `out` (`.spotmeta-NAME.pages`, [`pages_record`]),
/// never guessed from file names, so a file of the user's that only looks
/// like a page (`forest-2023.png` beside `--out forest.png`) is never
/// removed. Each file is replaced atomically; only a run killed during the
/// renames (after every page was written) can leave old and new pages side
/// by side. Two runs writing the same `out` at once draw their pages side by
/// side and then put them in place one after the other, under a lock on
/// `out`, so the last to finish leaves its whole set.
///
/// # Errors
///
/// [`Error::Option`] if `out` or a page is one of `inputs` (nothing is
/// written); [`Error::Io`] if writing, renaming or removing fails; any
/// error of `page`.
pub fn write_pages(
    option: &str,
    out: &Path,
    n: usize,
    page: impl Fn(usize) -> Result<Vec<u8>> + Sync,
    inputs: &[&Path],
) -> Result<Vec<PathBuf>> {
    use rayon::prelude::*;
    let dir = dir_of(out);
    let targets: Vec<PathBuf> = if n <= 1 {
        vec![out.to_path_buf()]
    } else {
        (1..=n).map(|i| page_path(out, i)).collect()
    };
    for t in &targets {
        refuse_input_as_output(option, t, inputs)?;
    }
    let mut written = Vec::with_capacity(targets.len());
    // Pages are drawn a batch at a time, one per thread, and written in
    // order: memory holds one batch of pages, not the plot.
    let batch = rayon::current_num_threads().max(1);
    for first in (0..targets.len()).step_by(batch) {
        let end = (first + batch).min(targets.len());
        let drawn: Vec<Result<Vec<u8>>> = (first..end).into_par_iter().map(&page).collect();
        for bytes in drawn {
            let bytes = bytes?;
            let mut tmp = tempfile::Builder::new()
                .prefix(".spotmeta-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| Error::io(dir, e))?;
            tmp.write_all(&bytes)
                .map_err(|e| Error::io(tmp.path(), e))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(fs::Permissions::from_mode(0o644))
                    .map_err(|e| Error::io(tmp.path(), e))?;
            }
            tmp.as_file()
                .sync_all()
                .map_err(|e| Error::io(tmp.path(), e))?;
            written.push(tmp);
        }
    }
    // Every page is on disk: put them in place, then remove what is stale,
    // under a lock on `out` (`.spotmeta-NAME.lock`), so two runs writing
    // the same `out` at once leave one run's whole set and its record.
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let _lock = DirLock::take(
        &dir.join(format!(".spotmeta-{name}.lock")),
        dir,
        super::fsguard::DEFAULT_WAIT,
    )?;
    for (tmp, t) in written.into_iter().zip(&targets) {
        tmp.persist(t).map_err(|e| Error::io(t, e.error))?;
    }
    if n > 1 && out.is_file() {
        fs::remove_file(out).map_err(|e| Error::io(out, e))?;
    }
    // The pages the earlier run recorded, beyond those just written.
    let record = pages_record(out);
    let earlier = fs::read_to_string(&record)
        .ok()
        .and_then(|t| t.trim().strip_prefix("pages=")?.parse::<usize>().ok())
        .unwrap_or(0);
    let keep = if n > 1 { n } else { 0 };
    if earlier > 1 {
        for i in keep + 1..=earlier {
            let path = page_path(out, i);
            // An input named like a page is never removed.
            if path.is_file() && refuse_input_as_output(option, &path, inputs).is_ok() {
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    write_atomic(&record, format!("pages={}\n", n.max(1)).as_bytes())?;
    sync_dir(dir);
    Ok(targets)
}

/// Sibling paths used while replacing `dir`: its parent, and the names of
/// the lock file and of the temporary directories.
struct Siblings {
    parent: PathBuf,
    name: String,
}

impl Siblings {
    fn of(dir: &Path) -> Result<Siblings> {
        // Resolve `.`, `..` and a trailing slash so the directory has a name
        // and a parent; a missing directory's parent must exist or be created.
        let absolute = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
        let (parent, name) = match fs::canonicalize(&absolute) {
            Ok(c) => (
                c.parent().map(Path::to_path_buf),
                c.file_name().map(|n| n.to_string_lossy().into_owned()),
            ),
            Err(_) => (
                absolute.parent().map(Path::to_path_buf),
                absolute
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned()),
            ),
        };
        match (parent, name) {
            (Some(parent), Some(name)) if name != ".." => Ok(Siblings { parent, name }),
            _ => Err(Error::option(
                "--out",
                format!(
                    "{}: the output directory needs a name and a parent directory",
                    dir.display()
                ),
            )),
        }
    }

    fn lock(&self) -> PathBuf {
        self.parent.join(format!(".{}.spotmeta-lock", self.name))
    }

    fn prefix(&self, kind: &str) -> String {
        format!(".{}.spotmeta-{kind}.", self.name)
    }

    fn target(&self) -> PathBuf {
        self.parent.join(&self.name)
    }

    /// A fresh, empty sibling directory `.NAME.spotmeta-KIND.<unique>`.
    fn fresh(&self, kind: &str) -> Result<PathBuf> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for n in 0..1000u32 {
            let p = self.parent.join(format!(
                "{}{}-{stamp}-{n}",
                self.prefix(kind),
                std::process::id()
            ));
            match fs::create_dir(&p) {
                Ok(()) => return Ok(p),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
        Err(Error::io(
            &self.parent,
            std::io::Error::new(ErrorKind::AlreadyExists, "no free temporary name"),
        ))
    }

    /// Leftovers of earlier runs (`kind` = `new` or `old`), oldest name first.
    fn leftovers(&self, kind: &str) -> Result<Vec<PathBuf>> {
        let prefix = self.prefix(kind);
        let mut v: Vec<PathBuf> = fs::read_dir(&self.parent)
            .map_err(|e| Error::io(&self.parent, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect();
        v.sort();
        Ok(v)
    }

    /// Repair what a killed run left: an old set moved aside but never
    /// replaced goes back in place; temporary directories are removed.
    fn recover(&self) -> Result<()> {
        let target = self.target();
        let old = self.leftovers("old")?;
        if fs::symlink_metadata(&target).is_err()
            && let Some(last) = old.last()
        {
            fs::rename(last, &target).map_err(|e| Error::io(last, e))?;
        }
        for p in self
            .leftovers("old")?
            .into_iter()
            .chain(self.leftovers("new")?)
        {
            fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        Ok(())
    }
}

/// An exclusive lock on a directory's sibling lock file. The file is
/// removed on release, so no lock file stays behind; a waiter that wakes up
/// holding a removed file's lock sees that the path now names another file
/// (or none) and tries again, within the same time limit. Waiting, the
/// holder's pid and start time, and the failure after the limit are the
/// dataset lock's ([`crate::data::fsguard::DatasetLock`]).
struct DirLock {
    file: fs::File,
    path: PathBuf,
}

impl DirLock {
    fn take(path: &Path, dir: &Path, wait: Duration) -> Result<DirLock> {
        let site = LockSite {
            subject: dir,
            doing: "writing into this directory",
            unwritable: "the directory that holds the output directory is not writable, and the new files are built there. Choose an output directory in a writable place",
        };
        let mut waiter = Waiter::new(wait);
        loop {
            let mut file = waiter.lock(path, &site)?;
            let held = file.metadata().ok().and_then(|m| same_id(&m, path));
            if held == Some(true) {
                record_holder(&mut file);
                return Ok(DirLock {
                    file,
                    path: path.to_path_buf(),
                });
            }
        }
    }
}

/// Whether `path` still names the file whose metadata is `held`.
fn same_id(held: &fs::Metadata, path: &Path) -> Option<bool> {
    let now = fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(held.dev() == now.dev() && held.ino() == now.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (held, now);
        Some(true)
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Remove while still holding the lock, then release it.
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Replace the files of directory `dir` named in `owned` by `files` (name,
/// bytes) all at once; files of `dir` not named in `owned` (a README, a
/// user's notes, subdirectories) are kept. `inputs` are the files the
/// output was computed from: a `dir` that is or holds one of them, or holds
/// the current directory, is refused.
///
/// Steps, under an exclusive lock on `.DIR.spotmeta-lock` next to `dir`
/// (concurrent calls run one after the other; a call waits at most `wait`
/// for another, naming its pid, then fails): repair a killed earlier run;
/// write every file into a new sibling directory `.DIR.spotmeta-new.*`
/// (fsynced) and link the kept files into it; exchange it with `dir` (or,
/// where that is unsupported, rename `dir` aside and the new directory into
/// place), remove the old one. Any failure before the
/// swap removes the new directory and leaves `dir` as it was.
///
/// # Errors
///
/// [`Error::Option`] for a refused `dir`; [`Error::Io`] if the directory
/// cannot be created, written or renamed, or its lock cannot be opened or
/// is still held by another run after `wait`.
pub fn replace_dir_files(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    owned: &[&str],
    inputs: &[&Path],
    wait: Duration,
) -> Result<()> {
    refuse_dir_holding_input("--out", dir, inputs)?;
    if let Ok(m) = fs::metadata(dir)
        && !m.is_dir()
    {
        return Err(Error::option(
            "--out",
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    let s = Siblings::of(dir)?;
    fs::create_dir_all(&s.parent).map_err(|e| Error::io(&s.parent, e))?;
    let _lock = DirLock::take(&s.lock(), dir, wait)?;
    s.recover()?;
    let new = s.fresh("new")?;
    let built = fill(&s.target(), &new, files, owned);
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&new);
        return Err(e);
    }
    swap(&s, &new)
}

/// Write `files` into the empty directory `new` and link into it every
/// entry of `target` (if it exists) not named in `owned` or `files`.
fn fill(target: &Path, new: &Path, files: &[(String, Vec<u8>)], owned: &[&str]) -> Result<()> {
    // A directory under one of our names is someone's data: refuse rather
    // than replace it.
    for name in owned
        .iter()
        .copied()
        .chain(files.iter().map(|(n, _)| n.as_str()))
    {
        let p = target.join(name);
        if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            return Err(Error::option(
                "--out",
                format!(
                    "{} is a directory where a report file belongs; move it away and run again",
                    p.display()
                ),
            ));
        }
    }
    // Nobody sees `new` before the swap, so its files need no temporary
    // names: each is created, written and fsynced, all at once on their own
    // threads (one fsync after another cost a report about 15 ms).
    std::thread::scope(|sc| {
        let writers: Vec<_> = files
            .iter()
            .map(|(name, bytes)| sc.spawn(move || write_synced(&new.join(name), bytes)))
            .collect();
        writers.into_iter().try_for_each(|w| {
            w.join().unwrap_or_else(|_| {
                Err(Error::io(
                    new,
                    std::io::Error::other("a file-writing thread panicked"),
                ))
            })
        })
    })?;
    match fs::read_dir(target) {
        Ok(entries) => {
            // The new directory gets the old one's permissions.
            if let Ok(m) = fs::metadata(target) {
                fs::set_permissions(new, m.permissions()).map_err(|e| Error::io(new, e))?;
            }
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(target, e))?;
                let name = entry.file_name();
                let n = name.to_string_lossy();
                if owned.contains(&n.as_ref()) || files.iter().any(|(f, _)| *f == n) {
                    continue;
                }
                keep(&entry.path(), &new.join(&name))?;
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(target, e)),
    }
    sync_dir(new);
    Ok(())
}

/// Create the new file `path` (0644 on Unix, as [`write_atomic`] gives a
/// new file), write `bytes` and fsync it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(path, e))?;
    }
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// Carry `from` over to `to`: a hard link for a file (a copy where links
/// are not possible), the same target for a symlink, recursively for a
/// directory.
fn keep(from: &Path, to: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(from).map_err(|e| Error::io(from, e))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(from).map_err(|e| Error::io(from, e))?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, to).map_err(|e| Error::io(to, e))?;
        #[cfg(not(unix))]
        fs::copy(from, to)
            .map_err(|e| Error::io(to, e))
            .map(|_| ())?;
    } else if ft.is_dir() {
        fs::create_dir(to).map_err(|e| Error::io(to, e))?;
        fs::set_permissions(to, meta.permissions()).map_err(|e| Error::io(to, e))?;
        for entry in fs::read_dir(from).map_err(|e| Error::io(from, e))? {
            let entry = entry.map_err(|e| Error::io(from, e))?;
            keep(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).map_err(|e| Error::io(to, e))?;
    }
    Ok(())
}

/// Put the complete directory `new` in place of the target.
///
/// On Linux the two directories are exchanged in one step (`renameat2` with
/// `RENAME_EXCHANGE`, through rustix's safe `renameat_with`): the target
/// path names the old set or the new one at every instant, never nothing.
/// Where the exchange is not supported (another Unix or Windows; a Linux
/// before 3.15 or a file system without it, such as some network or FUSE
/// file systems, reported as `EINVAL`, `ENOSYS` or `EOPNOTSUPP`) the swap
/// falls back to two renames (old → aside, new → in place), between which
/// the directory is briefly absent; a run killed exactly there is repaired
/// by the next run ([`Siblings::recover`]).
fn swap(s: &Siblings, new: &Path) -> Result<()> {
    let target = s.target();
    let exists = fs::symlink_metadata(&target).is_ok();
    // Test hook (debug builds only): take the two-rename path and die
    // between its renames.
    #[cfg(debug_assertions)]
    let fault = std::env::var_os("SPOTMETA_FAULT_IN_SWAP").is_some();
    #[cfg(not(debug_assertions))]
    let fault = false;
    if exists && !fault {
        match exchange(new, &target) {
            Ok(true) => {
                // `new` now names the old set.
                sync_dir(&s.parent);
                return fs::remove_dir_all(new).map_err(|e| Error::io(new, e));
            }
            Ok(false) => {}
            Err(e) => {
                let _ = fs::remove_dir_all(new);
                return Err(Error::io(&target, e));
            }
        }
    }
    let aside = if exists {
        let aside = s.fresh("old")?;
        // `fresh` made an empty directory to reserve the name; a directory
        // renamed onto an empty directory replaces it.
        if let Err(e) = fs::rename(&target, &aside) {
            let _ = fs::remove_dir(&aside);
            let _ = fs::remove_dir_all(new);
            return Err(Error::io(&target, e));
        }
        Some(aside)
    } else {
        None
    };
    if fault {
        std::process::abort();
    }
    if let Err(e) = fs::rename(new, &target) {
        if let Some(aside) = &aside {
            let _ = fs::rename(aside, &target);
        }
        let _ = fs::remove_dir_all(new);
        return Err(Error::io(&target, e));
    }
    sync_dir(&s.parent);
    if let Some(aside) = aside {
        fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
    }
    Ok(())
}

/// Exchange the directories `a` and `b` atomically. `Ok(false)` when the
/// system or file system cannot (the caller falls back to two renames).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// No atomic exchange outside Linux: the caller uses two renames.
#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Write `files` (name, bytes) into `dir`, creating it if missing, each
/// atomically and never over one of `inputs` ([`write_output`] under
/// `option`); returns the paths written, in order.
///
/// # Errors
///
/// A directory that cannot be created, or a file as [`write_output`].
pub fn write_outputs(
    option: &str,
    dir: &Path,
    files: &[(&str, Vec<u8>)],
    inputs: &[&Path],
) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Unsupported(format!(
            "{}: cannot create the directory: {e}",
            dir.display()
        ))
    })?;
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        write_output(option, &path, bytes, inputs)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_output_is_not_an_input() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in.csv");
        fs::write(&input, "yi,vi\n").unwrap();
        refuse_input_as_output("--out", &d.path().join("new.txt"), &[&input]).unwrap();
    }

    #[test]
    fn the_same_file_under_another_spelling_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in.csv");
        fs::write(&input, "yi,vi\n").unwrap();
        let other = d.path().join(".").join("in.csv");
        let e = refuse_input_as_output("--out", &other, &[&input]).unwrap_err();
        assert!(e.to_string().contains("--out"), "{e}");
    }

    #[test]
    fn a_failed_fill_leaves_the_directory_as_it_was() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("r");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("a.txt"), "old").unwrap();
        // A file name with a directory part that does not exist fails.
        let files = vec![
            ("a.txt".to_string(), b"new".to_vec()),
            ("no/such.txt".to_string(), b"x".to_vec()),
        ];
        assert!(replace_dir_files(&out, &files, &["a.txt"], &[], Duration::ZERO).is_err());
        assert_eq!(fs::read_to_string(out.join("a.txt")).unwrap(), "old");
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("spotmeta-new") || n.contains("spotmeta-old"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }
}
