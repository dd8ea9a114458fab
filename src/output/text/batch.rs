//! `spotmeta batch` as text: the one line it prints after writing the
//! table (groups and rows pooled, where, and how many groups fared how).

use crate::batch::{GroupFit, Groups, STATUS_K1, STATUS_OK, TableFormat};
use std::path::Path;

/// "12 groups (240 rows) pooled into out.csv (CSV): 10 ok, 1 with k = 1,
/// 1 not pooled".
pub fn summary(groups: &Groups, fits: &[GroupFit], out: &Path, format: TableFormat) -> String {
    let ok = fits.iter().filter(|f| f.status == STATUS_OK).count();
    let k1 = fits.iter().filter(|f| f.status == STATUS_K1).count();
    let not = fits.iter().filter(|f| f.summary.is_none()).count();
    format!(
        "{} groups ({} rows) pooled into {} ({}): {ok} ok, {k1} with k = 1, {not} not pooled{}",
        groups.len(),
        groups.rows(),
        out.display(),
        match format {
            TableFormat::Csv => "CSV",
            TableFormat::Parquet => "Parquet",
        },
        match fits.len() - ok - k1 - not {
            0 => String::new(),
            n => format!(", {n} without a tau^2 CI"),
        }
    )
}
