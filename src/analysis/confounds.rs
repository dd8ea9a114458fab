//! Energy-expenditure confound flags (issue #5), computed from a row's design
//! columns — never typed by hand (a row may add one manual flag of its own).
//!
//! The critical reading of this literature is that an apparent local fat loss
//! may only reflect more total energy expenditure in the trained group. That
//! threat exists where the trained region and its comparison belong to
//! **different people** (parallel groups): the groups can differ in session
//! length, weekly volume, diet and measured expenditure. Where the comparison
//! is the same person's other limb or region (within-subject), both share one
//! energy balance, so the `EE_*` and `DIET_*` flags do not apply; `REGION_PRONE`
//! still applies when the compared regions differ (fat is lost unevenly across
//! regions even without local training — Nindl et al. 2000).
//!
//! | code | severity | raised when |
//! |---|---|---|
//! | `EE_SESSION_LENGTH` | high | parallel; both arms exercise; minutes per session differ by ratio ≥ `session_ratio` or ≥ `session_diff_min` (at the conservative end of a reported range) |
//! | `EE_SESSION_UNREPORTED` | moderate | parallel; the comparison exercises; a session length is not reported |
//! | `EE_WEEKLY_VOLUME` | high | parallel; sessions/week × minutes differ by ratio ≥ `session_ratio` or ≥ `weekly_diff_min` (at the conservative end) |
//! | `EE_NO_EXERCISE_CONTROL` | high | parallel; comparison arm did no exercise |
//! | `EE_NOT_MEASURED` | moderate | parallel; energy expenditure `no`, `unclear` or not recorded |
//! | `DIET_UNCONTROLLED` | moderate | parallel; diet `no`, `unclear` or not recorded |
//! | `MEASURE_IMPRECISE` | moderate | skinfold, circumference or BIA rather than MRI / CT / DEXA |
//! | `REGION_PRONE` | moderate | central region (abdomen, trunk, android, waist, suprailiac) in men or an overweight/obese population, when the comparison is another person or another region |
//! | `IMPUTED` | low | an SD or correlation behind the effect size was imputed |
//! | `SMALL_N` | low | fewer than `small_n` participants per arm |
//! | `MANUAL_*` | manual | the row's `manual_flag` column, with its reason |
//!
//! **Reported ranges** (issue #16). `sessions_per_week` and the session-minute
//! columns may hold a range `LOW-HIGH` when the source allows two readings. A
//! flag built on a ratio or difference fires only if it holds at the end of
//! the ranges least favourable to it: the closest pair of trained and
//! comparison minutes ([`conservative_pair`]) and the fewest sessions per
//! week. Overlapping ranges never raise `EE_SESSION_LENGTH`.

use crate::data::{
    AssessmentMethod, Comparison, Design, DietControlled, EeMeasured, ReportedRange, SpotRow,
};
use crate::escalc::EffectSize;
use serde::Serialize;
use std::fmt;

/// How serious a flag is for the spot-reduction question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Directly confounds local with total energy expenditure.
    High,
    /// May bias the comparison or blur the outcome.
    Moderate,
    /// Worth knowing; rarely changes the answer alone.
    Low,
    /// Raised by a reviewer in the dataset's `manual_flag` column.
    Manual,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Severity::High => "high",
            Severity::Moderate => "moderate",
            Severity::Low => "low",
            Severity::Manual => "manual",
        })
    }
}

/// One flag on one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// Code, e.g. `EE_SESSION_LENGTH`.
    pub code: String,
    /// Severity.
    pub severity: Severity,
    /// One line with the numbers that triggered it.
    pub reason: String,
}

impl Flag {
    /// Whether this is an energy-expenditure flag (`EE_*`).
    pub fn is_ee(&self) -> bool {
        self.code.starts_with("EE_")
    }
}

/// Thresholds of the rules (shown in the report).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfoundOptions {
    /// Ratio of session (or weekly) minutes, longer/shorter, that raises a flag.
    pub session_ratio: f64,
    /// Difference in minutes per session that raises `EE_SESSION_LENGTH`.
    pub session_diff_min: f64,
    /// Difference in minutes per week that raises `EE_WEEKLY_VOLUME`.
    pub weekly_diff_min: f64,
    /// Participants per arm below which `SMALL_N` is raised.
    pub small_n: u32,
}

impl ConfoundOptions {
    /// Check the thresholds: a ratio above 1 and non-negative differences.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] naming the flag that sets the threshold.
    pub fn check(self) -> crate::error::Result<Self> {
        if self.session_ratio.is_nan() || self.session_ratio <= 1.0 {
            return Err(crate::error::Error::Unsupported(format!(
                "--session-ratio must be greater than 1 (got {})",
                self.session_ratio
            )));
        }
        if !(self.session_diff_min >= 0.0 && self.weekly_diff_min >= 0.0) {
            return Err(crate::error::Error::Unsupported(
                "--session-diff and --weekly-diff must be non-negative".into(),
            ));
        }
        Ok(self)
    }
}

impl Default for ConfoundOptions {
    fn default() -> Self {
        ConfoundOptions {
            session_ratio: 1.25,
            session_diff_min: 15.0,
            weekly_diff_min: 60.0,
            small_n: 10,
        }
    }
}

/// Every code with its one-line meaning, for legends.
pub const CODES: &[(&str, &str)] = &[
    (
        "EE_SESSION_LENGTH",
        "trained arm's sessions longer than the comparison's",
    ),
    (
        "EE_SESSION_UNREPORTED",
        "session length of an arm not reported",
    ),
    (
        "EE_WEEKLY_VOLUME",
        "weekly training minutes differ between arms",
    ),
    ("EE_NO_EXERCISE_CONTROL", "comparison group did no exercise"),
    (
        "EE_NOT_MEASURED",
        "energy expenditure neither measured nor estimated",
    ),
    ("DIET_UNCONTROLLED", "diet not controlled or not recorded"),
    (
        "MEASURE_IMPRECISE",
        "skinfold / circumference / BIA outcome",
    ),
    (
        "REGION_PRONE",
        "central fat depot in men or overweight people",
    ),
    ("IMPUTED", "an SD or correlation was imputed"),
    ("SMALL_N", "fewer than 10 per arm"),
    ("MANUAL_*", "reviewer's flag from the dataset"),
];

fn ratio(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo > 0.0 { hi / lo } else { f64::INFINITY }
}

fn mentions_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// The (trained, comparison) pair least favourable to a flag that says the
/// arms differ: the closest points of the two ranges. Overlapping ranges give
/// a common value (some reading has equal sessions, so no flag can hold at
/// every reading). For single values this is just `(t, c)`.
pub fn conservative_pair(t: ReportedRange, c: ReportedRange) -> (f64, f64) {
    if t.lo > c.hi {
        (t.lo, c.hi)
    } else if c.lo > t.hi {
        (t.hi, c.lo)
    } else {
        let common = t.lo.max(c.lo);
        (common, common)
    }
}

/// `EE_SESSION_LENGTH` and `EE_WEEKLY_VOLUME` for session minutes `t` and `c`
/// (each a value or a reported range) and sessions per week `s` (shared by
/// both arms). Each rule is tested at the conservative end: the closest pair
/// of minutes ([`conservative_pair`]) and the fewest sessions per week, so a
/// reported range raises a flag only if every reading of it would.
fn session_flags(
    t: ReportedRange,
    c: ReportedRange,
    s: Option<ReportedRange>,
    opts: &ConfoundOptions,
    add: &mut Raise<'_>,
) {
    let (ct, cc) = conservative_pair(t, c);
    let exact = t.is_point() && c.is_point();
    let r = ratio(ct, cc);
    if r >= opts.session_ratio || (ct - cc).abs() >= opts.session_diff_min {
        add("EE_SESSION_LENGTH", Severity::High, &|| {
            if exact {
                format!("{ct} vs {cc} min per session (ratio {r:.2})")
            } else {
                format!(
                    "{t} vs {c} min per session; at the conservative end {ct} vs {cc} (ratio {r:.2})"
                )
            }
        });
    }
    if let Some(s) = s {
        let (wt, wc) = (s.lo * ct, s.lo * cc);
        if ratio(wt, wc) >= opts.session_ratio || (wt - wc).abs() >= opts.weekly_diff_min {
            add("EE_WEEKLY_VOLUME", Severity::High, &|| {
                if exact && s.is_point() {
                    format!("{wt} vs {wc} min per week ({s} sessions/week)")
                } else {
                    format!(
                        "{wt} vs {wc} min per week at the conservative end ({} sessions/week × {ct} vs {cc} min; reported {s} sessions/week, {t} vs {c} min)",
                        s.lo
                    )
                }
            });
        }
    }
}

/// Where the rules of [`raise`] send each flag: its code, its severity and
/// its reason, built only if the receiver calls it.
pub type Raise<'a> = dyn FnMut(&str, Severity, &dyn Fn() -> String) + 'a;

const CENTRAL: &[&str] = &["abdomen", "trunk", "android", "waist", "suprailiac"];

/// Flags for one row (its effect size, when it has one, tells `IMPUTED`).
pub fn flags(row: &SpotRow, effect: Option<&EffectSize>, opts: &ConfoundOptions) -> Vec<Flag> {
    let mut out = Vec::new();
    raise(row, effect, opts, &mut |code, severity, reason| {
        out.push(Flag {
            code: code.to_string(),
            severity,
            reason: reason(),
        })
    });
    out
}

/// The rules behind [`flags`], in their order: each flag raised is handed
/// to `add` with its code and severity, and its reason as a function, so a
/// caller that needs only codes and severities (the risk-of-bias check of
/// every row) formats and allocates nothing.
pub fn raise(
    row: &SpotRow,
    effect: Option<&EffectSize>,
    opts: &ConfoundOptions,
    add: &mut Raise<'_>,
) {
    let between = row.design == Some(Design::Parallel);
    let no_ex = row.comparison == Some(Comparison::NoExercise);

    if between {
        let (mt, mc) = (row.session_min_trained, row.session_min_control);
        if no_ex {
            add("EE_NO_EXERCISE_CONTROL", Severity::High, &|| {
                "comparison group did no exercise, so total energy expenditure differed".into()
            });
        } else {
            match (mt, mc) {
                (Some(t), Some(c)) => session_flags(t, c, row.sessions_per_week, opts, add),
                _ => {
                    let missing = match (mt, mc) {
                        (None, None) => "either arm",
                        (None, _) => "the trained arm",
                        _ => "the comparison arm",
                    };
                    add("EE_SESSION_UNREPORTED", Severity::Moderate, &|| {
                        format!(
                            "session length of {missing} not reported; unequal expenditure cannot be ruled out"
                        )
                    });
                }
            }
        }
        match row.ee_measured {
            Some(EeMeasured::Measured) | Some(EeMeasured::Estimated) => {}
            other => add("EE_NOT_MEASURED", Severity::Moderate, &|| {
                format!(
                    "energy expenditure {}",
                    match other {
                        Some(EeMeasured::No) => "not measured",
                        Some(EeMeasured::Unclear) => "unclear from the report",
                        _ => "not recorded",
                    }
                )
            }),
        }
        match row.diet_controlled {
            Some(DietControlled::Yes) => {}
            other => add("DIET_UNCONTROLLED", Severity::Moderate, &|| {
                format!(
                    "diet {}",
                    match other {
                        Some(DietControlled::No) => "not controlled",
                        Some(DietControlled::Unclear) => "control unclear",
                        _ => "not recorded",
                    }
                )
            }),
        }
    }

    if let Some(m) = row.method
        && matches!(
            m,
            AssessmentMethod::Skinfold | AssessmentMethod::Circumference | AssessmentMethod::Bia
        )
    {
        add("MEASURE_IMPRECISE", Severity::Moderate, &|| {
            format!("outcome measured by {m}")
        });
    }

    let other_region = between || row.comparison == Some(Comparison::OtherExercise);
    if other_region
        && let Some(region) = &row.region
        && CENTRAL.contains(&region.as_str())
    {
        let pop = row.population.as_deref().unwrap_or("");
        let male = mentions_word(pop, "men") || mentions_word(pop, "male");
        let heavy = mentions_word(pop, "overweight") || mentions_word(pop, "obese");
        if male || heavy {
            let who = match (male, heavy) {
                (true, true) => "overweight/obese men",
                (true, false) => "men",
                _ => "an overweight/obese population",
            };
            add("REGION_PRONE", Severity::Moderate, &|| {
                format!("{region} fat in {who}: lost first under any energy deficit")
            });
        }
    }

    if let Some(es) = effect {
        let imputed: Vec<String> = es
            .derivations
            .iter()
            .filter(|d| {
                matches!(
                    d,
                    crate::escalc::Derivation::ImputedCorrelation { .. }
                        | crate::escalc::Derivation::SdChangeFromPrePost { imputed: true, .. }
                )
            })
            .map(|d| d.to_string())
            .collect();
        if !imputed.is_empty() {
            add("IMPUTED", Severity::Low, &|| imputed.join("; "));
        }
    }

    // (trained, control) sizes when small: the control's only for parallel groups.
    let n_small = match (row.design, row.n_trained, row.n_control) {
        (Some(Design::Parallel), Some(t), Some(c)) if t.min(c) < opts.small_n => Some((t, Some(c))),
        (Some(Design::Parallel), ..) => None,
        (_, Some(t), _) if t < opts.small_n => Some((t, None)),
        _ => None,
    };
    if let Some((t, c)) = n_small {
        add("SMALL_N", Severity::Low, &|| {
            let why = match c {
                Some(c) => format!("n = {t} vs {c}"),
                None => format!("n = {t} participants"),
            };
            format!("{why} (< {} per arm)", opts.small_n)
        });
    }

    if let Some(code) = &row.manual_flag {
        add(code, Severity::Manual, &|| {
            row.manual_flag_reason.clone().unwrap_or_default()
        });
    }
}

/// One row of the flag table (`spotmeta flags`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowFlags {
    /// Line in the dataset.
    pub line: u64,
    /// `study_id`.
    pub study_id: String,
    /// Display label.
    pub label: String,
    /// Region and method.
    pub outcome: String,
    /// The row's inclusion status.
    pub status: String,
    /// Whether the row is pooled in the primary analysis.
    pub pooled: bool,
    /// Its flags.
    pub flags: Vec<Flag>,
}

impl RowFlags {
    /// The codes, comma-separated.
    pub fn codes(&self) -> String {
        self.flags
            .iter()
            .map(|f| f.code.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Flags for every row of a dataset, with the primary selection's effect
/// sizes (so `IMPUTED` reflects what the analysis actually did).
pub fn flag_dataset(
    ds: &crate::data::SpotDataset,
    selection: &crate::analysis::primary::Selection,
    opts: &ConfoundOptions,
) -> Vec<RowFlags> {
    let used_by_line = crate::data::ByLine::new(&selection.used, |u| u.line);
    ds.rows
        .iter()
        .map(|row| {
            let used = used_by_line.get(row.line);
            RowFlags {
                line: row.line,
                study_id: row.study_id.clone(),
                label: row.display_label(),
                outcome: row.outcome_label(),
                status: row.status.to_string(),
                pooled: used.is_some(),
                flags: flags(row, used.map(|u| &u.effect), opts),
            }
        })
        .collect()
}
