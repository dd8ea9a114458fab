//! What the review makes of single rows of the spot-reduction dataset: the
//! effect size (or what is missing for one) and the confound flags.
//! `spotmeta add` shows it for every row it adds.

use super::Settings;
use crate::analysis::confounds::{Flag, flags};
use crate::data::SpotDataset;
use crate::escalc::EffectSize;
use crate::escalc::spot::spot_effect;

/// One row's effect size and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFindings {
    /// Line in the file.
    pub line: u64,
    /// The row's study label.
    pub label: String,
    /// Its outcome (region and method).
    pub outcome: String,
    /// The effect size, or what is missing for one.
    pub effect: Result<EffectSize, String>,
    /// Its confound flags.
    pub flags: Vec<Flag>,
}

/// The findings of the rows of `ds` at `lines` (lines without a row are
/// skipped), under `settings`' effect-size options and flag thresholds.
pub fn row_findings(ds: &SpotDataset, lines: &[u64], settings: &Settings) -> Vec<RowFindings> {
    let by_line = crate::data::ByLine::new(&ds.rows, |r| r.line);
    lines
        .iter()
        .filter_map(|line| by_line.get(*line))
        .map(|row| {
            let effect = spot_effect(row, &settings.spot);
            let flags = flags(row, effect.as_ref().ok(), &settings.confounds);
            RowFindings {
                line: row.line,
                label: row.display_label(),
                outcome: row.outcome_label(),
                effect,
                flags,
            }
        })
        .collect()
}

/// The headline of the primary analysis of the dataset `bytes` (read from
/// `path`, e.g. as it was before an edit) under the report's default
/// settings: what `spotmeta add --rerun` prints as "before".
///
/// # Errors
///
/// The outer error when the bytes do not load as the dataset; the inner one
/// when they load but do not pool.
pub fn headline_of(
    path: &std::path::Path,
    bytes: &[u8],
) -> crate::error::Result<crate::error::Result<super::Headline>> {
    let dataset = super::Dataset::spot_bytes(path, bytes)?;
    Ok(
        super::run(dataset, &Settings::default(), &super::Plan::forest())
            .map(|f| f.headline().expect("pooled")),
    )
}
