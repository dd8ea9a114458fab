//! Risk of bias per study and outcome (issue #17): the Cochrane RoB 2 tool
//! for randomised comparisons (Sterne et al. 2019, *BMJ* 366:l4898) and
//! ROBINS-I for non-randomised ones (Sterne et al. 2016, *BMJ* 355:i4919),
//! read from the dataset's `rob_*` columns and completed from the confound
//! flags.
//!
//! | step | rule |
//! |---|---|
//! | tool | `rob_tool`: `rob2` (five domains) or `robins_i` (seven); which design takes which is in datasets/README.md §12 |
//! | deviations domain | RoB 2 D2 / ROBINS-I D4 as entered; when empty, **derived** from the energy-expenditure and diet flags ([`derive_deviations`]); an entered judgement is never overwritten |
//! | overall | the domain of highest rank on the tool's scale ([`RobTool::rank`]), unless `rob_overall` is entered with a `rob_overall_reason` |
//! | check | [`check`]: `data::check` plus, on the typed rows, an entered overall that is not the worst domain without a reason (error) and an entered deviations judgement milder than the flags (warning) |
//!
//! The derivation reads the flags of [`super::confounds`] for the row:
//! a high `EE_*` flag makes the domain `high` (RoB 2) / `serious`
//! (ROBINS-I); otherwise a moderate `EE_*` or `DIET_*` flag makes it
//! `some_concerns` / `moderate`; with none it is `no_information` (no flag
//! is not evidence of low risk). `EE_NO_EXERCISE_CONTROL` counts only for
//! exercise interventions: against a cream, a device or a pressure garment
//! "no exercise" means a placebo, sham or untreated control, which spends no
//! less energy by design.

use super::confounds::{ConfoundOptions, Flag, Severity as FlagSeverity, flags, raise};
use super::primary::UsedRow;
use crate::data::review::DatasetStudies;
use crate::data::schema::position;
use crate::data::{
    CheckReport, InterventionType, Issue, RobJudgement, RobTool, Severity, SpotDataset, SpotRow,
};
use crate::error::Result;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// One domain's judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainJudgement {
    /// Domain number (1-based).
    pub domain: usize,
    /// Domain name, e.g. "randomisation process".
    pub name: &'static str,
    /// The judgement.
    pub judgement: RobJudgement,
    /// The support text as entered, or the derivation.
    pub support: String,
    /// Whether the judgement was derived from the confound flags.
    pub derived: bool,
}

/// A row's risk-of-bias assessment, completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RobAssessment {
    /// The tool.
    pub tool: RobTool,
    /// One judgement per domain of the tool, in order.
    pub domains: Vec<DomainJudgement>,
    /// The overall judgement: entered, or the worst domain.
    pub overall: RobJudgement,
    /// The worst domain (what `overall` must be without a reason).
    pub worst: RobJudgement,
    /// Why an entered overall differs from the worst domain.
    pub overall_reason: Option<String>,
}

impl RobAssessment {
    /// The judgement of domain `d` (1-based), if the tool has it.
    pub fn domain(&self, d: usize) -> Option<RobJudgement> {
        self.domains.get(d.wrapping_sub(1)).map(|j| j.judgement)
    }
}

/// Short name of a tool for tables and legends.
pub fn tool_name(tool: RobTool) -> &'static str {
    match tool {
        RobTool::Rob2 => "RoB 2",
        RobTool::RobinsI => "ROBINS-I",
    }
}

/// Whether a flag bears on deviations from the intended interventions of
/// `row`: every `EE_*` and `DIET_*` flag, except `EE_NO_EXERCISE_CONTROL`
/// for a non-exercise intervention (see the module doc).
fn bears_on_deviations(row: &SpotRow, code: &str) -> bool {
    if code == "EE_NO_EXERCISE_CONTROL" {
        return row.intervention_type == InterventionType::Exercise;
    }
    code.starts_with("EE_") || code.starts_with("DIET_")
}

/// The deviations judgement on `tool`'s scale given whether any flag bears
/// on deviations (`any`) and whether one of them is high (`high`).
fn deviations_judgement(tool: RobTool, any: bool, high: bool) -> RobJudgement {
    match (any, high, tool) {
        (false, ..) => RobJudgement::NoInformation,
        (true, true, RobTool::Rob2) => RobJudgement::High,
        (true, true, RobTool::RobinsI) => RobJudgement::Serious,
        (true, false, RobTool::Rob2) => RobJudgement::SomeConcerns,
        (true, false, RobTool::RobinsI) => RobJudgement::Moderate,
    }
}

/// The judgement of [`derive_deviations`] from the confound rules run on
/// `row` directly ([`raise`], without an effect size), with no support text:
/// nothing is formatted or allocated.
fn derived_judgement(row: &SpotRow, tool: RobTool, opts: &ConfoundOptions) -> RobJudgement {
    let (mut any, mut high) = (false, false);
    raise(row, None, opts, &mut |code, severity, _| {
        if bears_on_deviations(row, code) {
            any = true;
            high |= severity == FlagSeverity::High;
        }
    });
    deviations_judgement(tool, any, high)
}

/// The deviations domain (RoB 2 D2, ROBINS-I D4) derived from `flags` of
/// `row`: the judgement and a support text naming the flags and their
/// reasons.
pub fn derive_deviations(row: &SpotRow, tool: RobTool, flags: &[Flag]) -> (RobJudgement, String) {
    let relevant: Vec<&Flag> = flags
        .iter()
        .filter(|f| bears_on_deviations(row, &f.code))
        .collect();
    let high = relevant.iter().any(|f| f.severity == FlagSeverity::High);
    let judgement = deviations_judgement(tool, !relevant.is_empty(), high);
    let support = if relevant.is_empty() {
        "derived from the confound flags: no energy-expenditure or diet flag applies \
         (within-subject comparisons share one energy balance), and nothing else was entered"
            .to_string()
    } else {
        let list: Vec<String> = relevant
            .iter()
            .map(|f| format!("{} ({})", f.code, f.reason))
            .collect();
        format!("derived from the confound flags: {}", list.join("; "))
    };
    (judgement, support)
}

/// The worst of `judgements` on the scale of `tool` (judgements off the
/// scale are ignored; `no_information` when there are none).
pub fn worst(tool: RobTool, judgements: impl IntoIterator<Item = RobJudgement>) -> RobJudgement {
    judgements
        .into_iter()
        .filter_map(|j| tool.rank(j).map(|r| (r, j)))
        .max_by_key(|(r, _)| *r)
        .map_or(RobJudgement::NoInformation, |(_, j)| j)
}

/// The completed assessment of `row` (None when `rob_tool` is empty), its
/// deviations domain derived from `flags` when not entered.
pub fn assess(row: &SpotRow, flags: &[Flag]) -> Option<RobAssessment> {
    let tool = row.rob_tool?;
    let cells = row.rob_cells();
    let domains: Vec<DomainJudgement> = tool
        .domains()
        .iter()
        .enumerate()
        .map(|(k, &name)| {
            let (entered, support) = cells[k];
            let support = support.unwrap_or("").to_string();
            match entered {
                Some(judgement) => DomainJudgement {
                    domain: k + 1,
                    name,
                    judgement,
                    support,
                    derived: false,
                },
                None if k + 1 == tool.deviations_domain() => {
                    let (judgement, support) = derive_deviations(row, tool, flags);
                    DomainJudgement {
                        domain: k + 1,
                        name,
                        judgement,
                        support,
                        derived: true,
                    }
                }
                None => DomainJudgement {
                    domain: k + 1,
                    name,
                    judgement: RobJudgement::NoInformation,
                    support,
                    derived: false,
                },
            }
        })
        .collect();
    let worst = worst(tool, domains.iter().map(|d| d.judgement));
    Some(RobAssessment {
        tool,
        overall: row.rob_overall.unwrap_or(worst),
        worst,
        overall_reason: row.rob_overall_reason.clone(),
        domains,
    })
}

/// The assessment of every row of `ds` (None for rows not assessed), with
/// the flags of the default [`ConfoundOptions`] unless `opts` says otherwise.
pub fn assess_dataset(ds: &SpotDataset, opts: &ConfoundOptions) -> Vec<Option<RobAssessment>> {
    ds.rows
        .iter()
        .map(|row| assess(row, &flags(row, None, opts)))
        .collect()
}

/// The assessment of each drawn study, in drawing order: `drawn` holds the
/// (yi, vi) of every study row of a forest plot, top to bottom; `used` the
/// analysis rows it was drawn from (any order: a `--by` grouping reorders
/// them). A study is matched to the first unmatched row with the same yi and
/// vi (bit for bit), so subgroup blocks need no bookkeeping; a study
/// without a match, or whose row has no `rob_tool`, gets None.
pub fn for_drawn_studies(
    ds: &SpotDataset,
    used: &[UsedRow],
    drawn: &[(f64, f64)],
    opts: &ConfoundOptions,
) -> Vec<Option<RobAssessment>> {
    let mut taken = vec![false; used.len()];
    let rows_by_line = crate::data::ByLine::new(&ds.rows, |r| r.line);
    drawn
        .iter()
        .map(|&(yi, vi)| {
            let i = used.iter().enumerate().position(|(i, u)| {
                !taken[i]
                    && u.effect.yi.to_bits() == yi.to_bits()
                    && u.effect.vi.to_bits() == vi.to_bits()
            })?;
            taken[i] = true;
            let row = rows_by_line.get(used[i].line)?;
            assess(row, &flags(row, Some(&used[i].effect), opts))
        })
        .collect()
}

/// The issues only the typed rows can show: an entered overall judgement
/// that is not the worst domain without `rob_overall_reason` (error), and an
/// entered deviations judgement milder than the one the confound flags give
/// (warning; the entered one stands).
pub fn cross_check(ds: &SpotDataset, opts: &ConfoundOptions) -> Vec<Issue> {
    ds.rows
        .par_iter()
        .flat_map_iter(|row| cross_check_row(&ds.path, row, opts))
        .collect()
}

/// [`cross_check`] of one row of the dataset at `file`. The worst domain
/// and the derived deviations judgement are worked out without building
/// the assessment ([`assess`]) or the flags' texts; the flags are listed
/// only for the warning that quotes them.
pub fn cross_check_row(file: &Path, row: &SpotRow, opts: &ConfoundOptions) -> Vec<Issue> {
    let mut out = Vec::new();
    let Some(tool) = row.rob_tool else {
        return out;
    };
    let issue = |severity, column: &str, message: String, fix: String| Issue {
        file: file.to_path_buf(),
        severity,
        line: row.line,
        column: Some(position(column) + 1),
        column_name: Some(column.to_string()),
        study: Some(format!("{}/{}", row.study_id, row.cohort)),
        message,
        fix,
    };
    let cells = row.rob_cells();
    let d = tool.deviations_domain();
    let derived = derived_judgement(row, tool, opts);
    // The domains as `assess` completes them: entered, derived (the
    // deviations domain), or `no_information`.
    let worst = worst(
        tool,
        (0..tool.domains().len()).map(|k| match cells[k].0 {
            Some(j) => j,
            None if k + 1 == d => derived,
            None => RobJudgement::NoInformation,
        }),
    );
    let name = tool_name(tool);
    if let Some(entered) = row.rob_overall
        && entered != worst
        && row
            .rob_overall_reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        out.push(issue(
            Severity::Error,
            "rob_overall",
            format!("column `rob_overall` is `{entered}` but the worst {name} domain is `{worst}`"),
            format!(
                "write `{worst}` (or leave `rob_overall` empty to derive it), or say in `rob_overall_reason` why the overall judgement differs"
            ),
        ));
    }
    if let Some(entered) = cells[d - 1].0
        && let (Some(e), Some(g)) = (tool.rank(entered), tool.rank(derived))
        && e < g
    {
        let column = format!("rob_d{d}");
        let (_, why) = derive_deviations(row, tool, &flags(row, None, opts));
        out.push(issue(
            Severity::Warning,
            &column,
            format!(
                "column `{column}` is `{entered}` but the confound flags give `{derived}`: {why}"
            ),
            "keep the entered judgement only if the source rules the flagged imbalance out, and say so in the support text; otherwise clear the cell to derive it"
                .to_string(),
        ));
    }
    out
}

/// Everything `spotmeta check` reports: [`check`] of the dataset at `path`,
/// then the issues of the review record beside it (`review.toml`, when there
/// is one), checked against the dataset's studies when the dataset loads.
///
/// # Errors
///
/// As [`check`].
pub fn check_with_record(path: &Path) -> Result<CheckReport> {
    let (mut report, studies) = check(path)?;
    report
        .issues
        .extend(crate::data::review::check_beside(path, studies.as_ref()));
    Ok(report)
}

/// `spotmeta check` with the risk-of-bias rules that need typed rows: every
/// issue of [`crate::data::check`], plus [`cross_check`] when the file has
/// no errors (the rows can then be typed). Each row is typed, cross-checked
/// and dropped ([`crate::data::check_each`]): the typed rows are never all
/// held. The dataset's studies are returned for the review record's
/// cross-references ([`crate::data::review::check_record_against`]).
///
/// # Errors
///
/// As [`crate::data::check_and_load`].
pub fn check(path: &Path) -> Result<(CheckReport, Option<DatasetStudies>)> {
    let opts = ConfoundOptions::default();
    let (mut report, checked) =
        crate::data::check_each(path, |row| cross_check_row(path, row, &opts))?;
    let Some(checked) = checked else {
        return Ok((report, None));
    };
    report.issues.extend(checked.each.into_iter().flatten());
    report
        .issues
        .sort_by_key(|i| (i.line, i.column.unwrap_or(0)));
    Ok((report, Some(checked.studies)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RobJudgement::*;

    #[test]
    fn the_worst_domain_follows_each_tools_scale() {
        // RoB 2: no information rules out "low" but never outranks a concern.
        assert_eq!(worst(RobTool::Rob2, [Low, Low]), Low);
        assert_eq!(worst(RobTool::Rob2, [Low, NoInformation]), NoInformation);
        assert_eq!(
            worst(RobTool::Rob2, [NoInformation, SomeConcerns]),
            SomeConcerns
        );
        assert_eq!(worst(RobTool::Rob2, [SomeConcerns, High, Low]), High);
        // ROBINS-I (Sterne 2016, Table 2): "no information" above moderate,
        // below serious.
        assert_eq!(
            worst(RobTool::RobinsI, [Moderate, NoInformation]),
            NoInformation
        );
        assert_eq!(worst(RobTool::RobinsI, [NoInformation, Serious]), Serious);
        assert_eq!(worst(RobTool::RobinsI, [Serious, Critical]), Critical);
        assert_eq!(worst(RobTool::RobinsI, []), NoInformation);
    }
}
