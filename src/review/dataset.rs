//! Stage one of a review: the dataset, loaded. The spot-reduction dataset is
//! recognised by its header (the codebook's columns) and read into typed,
//! checked rows; any other table is a plain table of effect sizes whose
//! columns [`Input`] names, as metafor's `escalc`/`rma` arguments do.

use crate::data::{SpotDataset, Table, is_spot_header, load_spot, load_spot_bytes};
use crate::error::Result;
use crate::escalc::table::Source;
use std::path::Path;

/// Which columns of a plain table hold the effect sizes (unused for the
/// spot-reduction dataset).
#[derive(Debug, Clone)]
pub struct Input {
    /// yi and vi (or sei) columns, or raw columns with a measure.
    pub source: Source,
    /// Column with study labels (default: `slab`, `study` or `label`).
    pub slab: Option<String>,
}

impl Default for Input {
    /// Columns `yi` and `vi`, labels found by name.
    fn default() -> Self {
        Input {
            source: Source::YiVi {
                yi: "yi".into(),
                vi: "vi".into(),
            },
            slab: None,
        }
    }
}

/// A loaded dataset: the file's cells, and its typed rows when it is the
/// spot-reduction dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The file as a header and text cells (`--by`, moderator and cluster
    /// columns are read from it).
    pub table: Table,
    /// Typed, checked rows, when the header is the spot-reduction codebook's.
    pub spot: Option<SpotDataset>,
    /// How a plain table's effect sizes are read.
    pub input: Input,
}

impl Dataset {
    /// Read `path`: the spot-reduction dataset when its header is the
    /// codebook's (checked as `spotmeta check` does), else a plain table read
    /// with `input`.
    ///
    /// # Errors
    ///
    /// As [`Table::read`] and [`load_spot`].
    pub fn load(path: &Path, input: Input) -> Result<Dataset> {
        let table = Table::read(path)?;
        let spot = if is_spot_header(&table.headers) {
            Some(load_spot(path)?)
        } else {
            None
        };
        Ok(Dataset { table, spot, input })
    }

    /// Read `path` as the spot-reduction dataset; any other table is refused
    /// with every way it differs from the codebook.
    ///
    /// # Errors
    ///
    /// As [`load_spot`].
    pub fn spot(path: &Path) -> Result<Dataset> {
        let spot = load_spot(path)?;
        Ok(Dataset {
            table: Table::read(path)?,
            spot: Some(spot),
            input: Input::default(),
        })
    }

    /// [`Dataset::spot`] on file contents held in memory (`path` names them
    /// in messages), e.g. a dataset as it was before an edit.
    ///
    /// # Errors
    ///
    /// As [`load_spot_bytes`].
    pub fn spot_bytes(path: &Path, bytes: &[u8]) -> Result<Dataset> {
        let spot = load_spot_bytes(path, bytes)?;
        Ok(Dataset {
            table: Table::from_reader(&path.to_string_lossy(), bytes)?,
            spot: Some(spot),
            input: Input::default(),
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.table.path
    }

    /// Data rows in the file.
    pub fn n_rows(&self) -> usize {
        match &self.spot {
            Some(ds) => ds.rows.len(),
            None => self.table.rows.len(),
        }
    }

    /// Whether this is the spot-reduction dataset.
    pub fn is_spot(&self) -> bool {
        self.spot.is_some()
    }
}
