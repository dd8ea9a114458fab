//! `spotmeta batch` as text: the one line it prints after writing the
//! table (groups and rows pooled, where, and how many groups fared how).

use crate::batch::{BatchOutcome, Status, TableFormat};
use std::path::Path;

/// "12 groups (240 rows) pooled into out.csv (CSV): 10 ok, 1 with k = 1,
/// 1 not pooled".
pub fn summary(outcome: &BatchOutcome, out: &Path, format: TableFormat) -> String {
    let fits = &outcome.fits;
    let ok = fits.iter().filter(|f| f.status == Status::Ok).count();
    let k1 = fits
        .iter()
        .filter(|f| f.status == Status::SingleStudy)
        .count();
    let not = fits.iter().filter(|f| f.fit.is_none()).count();
    format!(
        "{} groups ({} rows) pooled into {} ({}): {ok} ok, {k1} with k = 1, {not} not pooled{}",
        fits.len(),
        outcome.rows,
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
