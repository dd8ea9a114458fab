//! Where the bundled dataset is found, and where `report` writes by default
//! (issue #18: "the bundled dataset is found wherever the command runs").
//!
//! [`bundled_dataset`] looks for `datasets/spot_reduction.csv` in the
//! current folder, then in the folders above it ([`project_dataset`]); when
//! there is none it falls back to the copy compiled into the crate
//! ([`EMBEDDED_DATASET`]), written once to the temporary folder. Either way,
//! when the file read is not the current folder's, a note on stderr says
//! which file it is. Edits ([`editable_dataset`]) never fall back: the
//! built-in copy is read-only. [`default_report_dir`] is `reports/` of the
//! project for the project's dataset and `FILE-stem-report/` otherwise, so a
//! report of another file never lands among the committed reports.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The bundled dataset, relative to the project root (and used when no FILE
/// is given).
pub const DEFAULT_DATASET: &str = "datasets/spot_reduction.csv";

/// The bundled dataset as compiled into the crate.
pub const EMBEDDED_DATASET: &[u8] = include_bytes!("../../datasets/spot_reduction.csv");

/// The project's `datasets/spot_reduction.csv`: in the current folder
/// (returned as the relative [`DEFAULT_DATASET`], so outputs name it the
/// same way wherever the project lives) or in the nearest folder above it.
pub fn project_dataset() -> Option<PathBuf> {
    if Path::new(DEFAULT_DATASET).is_file() {
        return Some(PathBuf::from(DEFAULT_DATASET));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .skip(1)
        .map(|dir| dir.join(DEFAULT_DATASET))
        .find(|p| p.is_file())
}

/// `file`, or the bundled dataset when none is given ([`bundled_dataset`]).
pub fn dataset_path(file: Option<&PathBuf>) -> PathBuf {
    match file {
        Some(f) => f.clone(),
        None => bundled_dataset(),
    }
}

/// The bundled dataset for reading: the project's copy
/// ([`project_dataset`]), else the copy compiled into the crate, written
/// once to the temporary folder. Either way not found in the current
/// folder, a note on stderr says which file is read.
pub fn bundled_dataset() -> PathBuf {
    if let Some(p) = project_dataset() {
        if p.is_absolute() {
            eprintln!("note: using the bundled dataset {}", p.display());
        }
        return p;
    }
    let dir = std::env::temp_dir().join(format!("spotmeta-{}", env!("CARGO_PKG_VERSION")));
    let path = dir.join("spot_reduction.csv");
    let current = std::fs::read(&path).is_ok_and(|b| b == EMBEDDED_DATASET);
    if !current {
        let written = std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(&dir, e))
            .and_then(|()| super::io::write_atomic(&path, EMBEDDED_DATASET));
        if let Err(e) = written {
            eprintln!("note: could not write the built-in dataset ({e}); give a FILE");
        }
    }
    eprintln!(
        "note: no {DEFAULT_DATASET} in this folder or above it; using the copy built into spotmeta {} ({})",
        env!("CARGO_PKG_VERSION"),
        path.display()
    );
    path
}

/// The bundled dataset for editing (`add`, `remove`): `file`, else the
/// project's copy only; the built-in copy is never edited.
///
/// # Errors
///
/// When no FILE is given and no `datasets/spot_reduction.csv` is found from
/// the current folder up.
pub fn editable_dataset(file: Option<&PathBuf>) -> Result<PathBuf> {
    match file {
        Some(f) => Ok(f.clone()),
        None => project_dataset().ok_or_else(|| {
            Error::Unsupported(format!(
                "no {DEFAULT_DATASET} in this folder or above it; give the FILE to edit (the copy built into spotmeta is read-only)"
            ))
        }),
    }
}

/// Default output folder of `report` (and `add --rerun`): `reports/` of the
/// project for the project's bundled dataset, else `FILE-stem-report/` in
/// the current folder (`spot_reduction-report/` for the built-in copy).
pub fn default_report_dir(input: &Path) -> PathBuf {
    if let Some(bundled) = project_dataset() {
        let same = match (input.canonicalize(), bundled.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            let root = bundled
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new(""));
            return root.join("reports");
        }
    }
    let stem = input
        .file_stem()
        .map_or_else(|| "spotmeta".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}-report"))
}
