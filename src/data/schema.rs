//! The codebook of `datasets/spot_reduction.csv`: one documented table,
//! [`COLUMNS`], that names every column in its required order, says what kind
//! of value it holds and whether it must be filled in.
//!
//! Validation ([`super::validate`]) is driven by this table, and the typed
//! row ([`super::SpotRow`]) uses the same column names as field names, so the
//! codebook, the checks and the Rust types cannot drift apart. The enums below
//! are the controlled vocabularies; each exposes `NAMES`, the exact spellings
//! the CSV accepts, which [`Kind::Enum`] reuses.
//!
//! An empty cell means "unknown or not applicable" unless the column is
//! required. In numeric columns `NA` is read as empty too.

use std::fmt;

/// Declares a controlled vocabulary: a `Copy` enum whose serde spellings, its
/// `NAMES` list and its `Display` all come from one list of literals.
macro_rules! codebook_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every accepted spelling, in codebook order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The spelling used in the CSV.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text ),+
                }
            }

            /// The value spelled `name` in the CSV (exact spelling and
            /// case, as serde reads it), or `None`.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codebook_enum! {
    /// How the trained and control fat depots are compared (`design`).
    Design {
        /// Separate people in the trained and control groups.
        Parallel = "parallel",
        /// One person's trained limb against their untrained limb.
        WithinSubject = "within_subject",
        /// Each person receives both conditions in sequence.
        Crossover = "crossover",
    }
}

codebook_enum! {
    /// What was applied to the target region (`intervention_type`).
    InterventionType {
        /// Local resistance or endurance exercise.
        Exercise = "exercise",
        /// A cream, gel or other topical agent.
        Topical = "topical",
        /// A device (vibration, electrical stimulation, heating…).
        Device = "device",
        /// Compression or pressure garments.
        Pressure = "pressure",
    }
}

codebook_enum! {
    /// What the trained region is compared against (`comparison`).
    Comparison {
        /// The same person's untrained limb or region.
        UntrainedLimb = "untrained_limb",
        /// A group that did no exercise.
        NoExercise = "no_exercise",
        /// A group that did a different (e.g. whole-body) exercise.
        OtherExercise = "other_exercise",
    }
}

codebook_enum! {
    /// Whether energy intake was controlled (`diet_controlled`).
    DietControlled {
        /// Diet was prescribed or controlled.
        Yes = "yes",
        /// Diet was free.
        No = "no",
        /// The report does not say clearly.
        Unclear = "unclear",
    }
}

codebook_enum! {
    /// Whether the energy expenditure of the sessions was known (`ee_measured`).
    EeMeasured {
        /// Measured (e.g. indirect calorimetry).
        Measured = "measured",
        /// Estimated from tables or heart rate.
        Estimated = "estimated",
        /// Not measured or estimated.
        No = "no",
        /// The report does not say clearly.
        Unclear = "unclear",
    }
}

codebook_enum! {
    /// How regional fat was assessed (`method`).
    AssessmentMethod {
        /// Dual-energy X-ray absorptiometry.
        Dexa = "DEXA",
        /// Magnetic resonance imaging.
        Mri = "MRI",
        /// Computed tomography.
        Ct = "CT",
        /// Ultrasound thickness.
        Ultrasound = "ultrasound",
        /// Skinfold callipers.
        Skinfold = "skinfold",
        /// Girth / circumference tape.
        Circumference = "circumference",
        /// Adipocyte size from biopsy.
        FatCellSize = "fat_cell_size",
        /// Local lipolysis (microdialysis, blood flow).
        Lipolysis = "lipolysis",
        /// Bioelectrical impedance.
        Bia = "BIA",
    }
}

codebook_enum! {
    /// What the outcome measures (`outcome_type`).
    OutcomeType {
        /// Fat of the trained region: the outcome that is pooled.
        RegionalFat = "regional_fat",
        /// Whole-body fat.
        GlobalFat = "global_fat",
        /// A mechanism (lipolysis, blood flow…), not fat mass itself.
        Mechanistic = "mechanistic",
    }
}

codebook_enum! {
    /// Whether dispersion cells hold standard deviations or errors (`disp_type`).
    DispType {
        /// Standard deviations.
        Sd = "sd",
        /// Standard errors of the mean.
        Se = "se",
    }
}

codebook_enum! {
    /// Where a correlation came from (`r_prepost_source`, `r_source`).
    ValueSource {
        /// Printed in the report.
        Reported = "reported",
        /// Assumed (imputed) by the extractor; sensitivity analyses vary it.
        Imputed = "imputed",
        /// Computed from other reported statistics.
        Derived = "derived",
    }
}

codebook_enum! {
    /// Which way the authors' result points (`direction`).
    Direction {
        /// The trained region lost more fat.
        FavoursSpotReduction = "favours_spot_reduction",
        /// The trained region lost less fat.
        Against = "against",
        /// No difference.
        Null = "null",
    }
}

impl Direction {
    /// The JSON name of a direction (schema `$defs/direction`): one enum
    /// that never reads as JSON null, `not_reported` when the row has none.
    /// The CSV keeps the codebook spelling (`favours_spot_reduction`,
    /// `against`, `null`).
    pub fn json_name(d: Option<Direction>) -> &'static str {
        match d {
            Some(Direction::FavoursSpotReduction) => "favours_spot_reduction",
            Some(Direction::Against) => "favours_control",
            Some(Direction::Null) => "no_difference",
            None => "not_reported",
        }
    }

    /// `serialize_with` for an `Option<Direction>` field written as JSON:
    /// [`Direction::json_name`].
    ///
    /// # Errors
    ///
    /// The serializer's.
    pub fn serialize_json<S: serde::Serializer>(
        d: &Option<Direction>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(Direction::json_name(*d))
    }
}

codebook_enum! {
    /// Whether the row enters the analysis (`status`).
    Status {
        /// Pooled (when it is the primary regional-fat outcome).
        Included = "included",
        /// Screened and excluded; `status_reason` says why.
        Excluded = "excluded",
        /// Listed for completeness, not yet assessed.
        Listed = "listed",
    }
}

codebook_enum! {
    /// Which risk-of-bias tool a row is appraised with (`rob_tool`): the
    /// Cochrane RoB 2 tool for randomised comparisons (Sterne et al. 2019,
    /// *BMJ* 366:l4898), ROBINS-I for non-randomised ones (Sterne et al. 2016,
    /// *BMJ* 355:i4919). The codebook (datasets/README.md §12) says which
    /// design takes which.
    RobTool {
        /// RoB 2: five domains, `low | some_concerns | high | no_information`.
        Rob2 = "rob2",
        /// ROBINS-I: seven domains, `low | moderate | serious | critical | no_information`.
        RobinsI = "robins_i",
    }
}

codebook_enum! {
    /// A risk-of-bias judgement (`rob_d1` … `rob_d7`, `rob_overall`): the
    /// union of the RoB 2 and the ROBINS-I scales; `spotmeta check` accepts
    /// only the scale of the row's `rob_tool`.
    RobJudgement {
        /// Low risk of bias (both tools).
        Low = "low",
        /// Some concerns (RoB 2).
        SomeConcerns = "some_concerns",
        /// High risk of bias (RoB 2).
        High = "high",
        /// Moderate risk of bias (ROBINS-I).
        Moderate = "moderate",
        /// Serious risk of bias (ROBINS-I).
        Serious = "serious",
        /// Critical risk of bias (ROBINS-I).
        Critical = "critical",
        /// The source does not say enough to judge (both tools).
        NoInformation = "no_information",
    }
}

impl RobTool {
    /// The tool's domains, in order (`rob_d1` is the first).
    pub fn domains(self) -> &'static [&'static str] {
        match self {
            RobTool::Rob2 => &[
                "randomisation process",
                "deviations from intended interventions",
                "missing outcome data",
                "measurement of the outcome",
                "selection of the reported result",
            ],
            RobTool::RobinsI => &[
                "confounding",
                "selection of participants",
                "classification of interventions",
                "deviations from intended interventions",
                "missing data",
                "measurement of outcomes",
                "selection of the reported result",
            ],
        }
    }

    /// The 1-based domain that covers deviations from the intended
    /// interventions (co-interventions such as unequal energy expenditure or
    /// diet): RoB 2 D2, ROBINS-I D4. An empty cell there is filled from the
    /// confound flags (`analysis::rob`).
    pub fn deviations_domain(self) -> usize {
        match self {
            RobTool::Rob2 => 2,
            RobTool::RobinsI => 4,
        }
    }

    /// The tool's judgement scale, from least to most severe as the overall
    /// judgement ranks it (see [`RobTool::rank`]).
    pub fn scale(self) -> &'static [RobJudgement] {
        use RobJudgement::*;
        match self {
            RobTool::Rob2 => &[Low, NoInformation, SomeConcerns, High],
            RobTool::RobinsI => &[Low, Moderate, NoInformation, Serious, Critical],
        }
    }

    /// The rank of `j` on the tool's scale (0 = low), or None when `j`
    /// belongs to the other tool. The overall judgement is the domain of
    /// highest rank. ROBINS-I places `no_information` above `moderate` and
    /// below `serious`, as its guidance defines the overall "no information"
    /// judgement (Sterne et al. 2016, Table 2); RoB 2 has no such category,
    /// so `no_information` sits between `low` and `some_concerns`: missing
    /// information rules out an overall `low` but never outranks a concern.
    pub fn rank(self, j: RobJudgement) -> Option<usize> {
        self.scale().iter().position(|&s| s == j)
    }

    /// The spellings of the tool's scale, for messages.
    pub fn scale_names(self) -> String {
        let mut names: Vec<&str> = self.scale().iter().map(|j| j.as_str()).collect();
        names.sort_by_key(|n| RobJudgement::NAMES.iter().position(|m| m == n));
        names.join(" | ")
    }
}

/// One end of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// No limit on this side.
    Unbounded,
    /// The value may equal the limit.
    Inclusive(f64),
    /// The value must be strictly beyond the limit.
    Exclusive(f64),
}

/// A value reported either as one number or as a range `LOW-HIGH` (e.g. a
/// session length the source gives two readings of: `57-84`). Columns of
/// [`Kind::Range`] hold it; a single number is the range `lo = hi`.
///
/// Rules built on a difference between two such values use the end least
/// favourable to them (see `analysis::confounds`), so a range never makes a
/// flag fire that one of its readings would not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportedRange {
    /// Smallest reported value.
    pub lo: f64,
    /// Largest reported value (`lo ≤ hi`).
    pub hi: f64,
}

/// Why a cell is not a [`ReportedRange`].
#[derive(Debug, Clone, PartialEq)]
pub enum RangeError {
    /// Neither a number nor `LOW-HIGH`.
    NotARange,
    /// `LOW-HIGH` with `LOW > HIGH`.
    Descending(f64, f64),
}

impl ReportedRange {
    /// The range holding the single value `v`.
    pub fn point(v: f64) -> Self {
        ReportedRange { lo: v, hi: v }
    }

    /// Whether the range is a single value.
    pub fn is_point(self) -> bool {
        self.lo == self.hi
    }

    /// Parses a cell: one finite number (`45`, `4.5`), or two non-negative
    /// numbers joined by `-` or an en dash `–` without spaces (`57-84`,
    /// `57–84`), the smaller first.
    pub fn parse(cell: &str) -> std::result::Result<Self, RangeError> {
        if let Some(v) = parse_number(cell) {
            return Ok(Self::point(v));
        }
        let unsigned = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_digit() || b == b'.')
                && !s.contains(['-', '–', '+'])
        };
        let (lo, hi) = ['–', '-']
            .iter()
            .find_map(|&sep| cell.split_once(sep))
            .filter(|(a, b)| unsigned(a) && unsigned(b))
            .and_then(|(a, b)| Some((parse_number(a)?, parse_number(b)?)))
            .ok_or(RangeError::NotARange)?;
        if lo > hi {
            return Err(RangeError::Descending(lo, hi));
        }
        Ok(ReportedRange { lo, hi })
    }
}

impl fmt::Display for ReportedRange {
    /// `45` for a single value, `57-84` for a range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_point() {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl serde::Serialize for ReportedRange {
    /// A number for a single value, the text `LOW-HIGH` for a range.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.is_point() {
            s.serialize_f64(self.lo)
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> serde::Deserialize<'de> for ReportedRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ReportedRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a range `LOW-HIGH`")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
                Ok(ReportedRange::point(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(ReportedRange::point(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(ReportedRange::point(v as f64))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<Self::Value, E> {
                ReportedRange::parse(v).map_err(|_| {
                    E::custom(format!(
                        "expected a number or a range `LOW-HIGH`, found \"{v}\""
                    ))
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A textual pattern an identifier must match (the crate has no regex engine;
/// each pattern is a small hand-written matcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `^[a-z][a-z0-9]*$`: first author + year, e.g. `brobakken2023`.
    StudyId,
    /// `^[a-z0-9_]+$`: a lower-case slug such as `all`, `women` or `abdomen`.
    Slug,
    /// `^MANUAL_[A-Z0-9_]+$`: a manual-review flag, e.g. `MANUAL_CHECK_SD`.
    ManualFlag,
}

impl Pattern {
    /// Whether `s` matches the pattern.
    pub fn matches(self, s: &str) -> bool {
        match self {
            Pattern::StudyId => {
                let mut chars = s.chars();
                chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            }
            Pattern::Slug => {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }
            Pattern::ManualFlag => s.strip_prefix("MANUAL_").is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            }),
        }
    }

    /// The pattern as a regular expression, for messages.
    pub fn regex(self) -> &'static str {
        match self {
            Pattern::StudyId => "^[a-z][a-z0-9]*$",
            Pattern::Slug => "^[a-z0-9_]+$",
            Pattern::ManualFlag => "^MANUAL_[A-Z0-9_]+$",
        }
    }

    /// What a matching value looks like, for fix sentences.
    pub fn example(self) -> &'static str {
        match self {
            Pattern::StudyId => {
                "lower-case first-author surname then year, letters and digits only (e.g. `brobakken2023`)"
            }
            Pattern::Slug => "lower-case letters, digits and `_` only (e.g. `all`, `abdomen`)",
            Pattern::ManualFlag => {
                "`MANUAL_` then upper-case letters, digits or `_` (e.g. `MANUAL_CHECK_SD`)"
            }
        }
    }
}

/// The kind of value a column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text.
    Text,
    /// An identifier matching a [`Pattern`].
    Id(Pattern),
    /// A whole number in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A finite decimal number between two bounds.
    Float {
        /// Lower bound.
        lower: Bound,
        /// Upper bound.
        upper: Bound,
    },
    /// A [`ReportedRange`]: one number, or `LOW-HIGH` with `LOW ≤ HIGH`; both
    /// ends must lie between the bounds.
    Range {
        /// Lower bound of each end.
        lower: Bound,
        /// Upper bound of each end.
        upper: Bound,
    },
    /// A correlation: |r| ≥ 1 is an error, r ≤ 0 a warning (negative
    /// between-limb correlations are possible but unusual).
    Correlation,
    /// One of a fixed list of spellings.
    Enum(&'static [&'static str]),
    /// A DOI, which starts with `10.`.
    Doi,
    /// A PubMed ID: digits only.
    Pmid,
    /// A web address starting with `http://` or `https://`.
    Url,
}

impl Kind {
    /// Whether the column holds numbers (where `NA` also means empty).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Kind::Int { .. } | Kind::Float { .. } | Kind::Range { .. } | Kind::Correlation
        )
    }
}

/// One column of the codebook.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnSpec {
    /// Header name, exactly as in the CSV.
    pub name: &'static str,
    /// The kind of value.
    pub kind: Kind,
    /// Whether an empty cell is an error.
    pub required: bool,
    /// What the column means, for messages and documentation.
    pub description: &'static str,
}

const fn col(
    name: &'static str,
    kind: Kind,
    required: bool,
    description: &'static str,
) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required,
        description,
    }
}

const ANY: Kind = Kind::Float {
    lower: Bound::Unbounded,
    upper: Bound::Unbounded,
};
const POSITIVE: Kind = Kind::Float {
    lower: Bound::Exclusive(0.0),
    upper: Bound::Unbounded,
};
const POSITIVE_RANGE: Kind = Kind::Range {
    lower: Bound::Exclusive(0.0),
    upper: Bound::Unbounded,
};
const NON_NEGATIVE_RANGE: Kind = Kind::Range {
    lower: Bound::Inclusive(0.0),
    upper: Bound::Unbounded,
};
const SAMPLE_SIZE: Kind = Kind::Int {
    min: 2,
    max: u32::MAX as i64,
};
const YES_NO: &[&str] = &["yes", "no"];

/// The longest `label` accepted, in characters: plots and tables shorten
/// labels to fit, and a longer one is almost certainly a pasting mistake.
pub const MAX_LABEL_CHARS: usize = 500;

/// Columns that may be empty for `listed` and `excluded` rows (studies known
/// only from citations, or cross-sectional work) but are required for every
/// `included` row, since the analysis needs them.
pub const REQUIRED_WHEN_INCLUDED: &[&str] = &["design", "comparison", "region", "method"];

/// The codebook: every column of `spot_reduction.csv`, in the required order.
///
/// | column group | columns |
/// |---|---|
/// | identity | `study_id`, `cohort`, `label`, `authors`, `year` |
/// | provenance | `doi`, `pmid`, `source_url` (at least one), `source_location`, `extraction_notes` |
/// | design | `design` … `ee_measured` |
/// | outcome | `region`, `method`, `units`, `outcome_type`, `primary`, `disp_type` |
/// | arm statistics | `pre_mean_t` … `change_sd_c` (`_t` trained, `_c` control) |
/// | between-arm statistics | `diff_mean` … `diff_p` |
/// | correlations | `r_prepost`, `r`, and where each came from |
/// | review | `direction`, `p_text`, `manual_flag`, `manual_flag_reason`, `status`, `status_reason` |
/// | risk of bias | `rob_tool`, `rob_d1` … `rob_d7` each with `rob_dN_support`, `rob_overall`, `rob_overall_reason` |
pub const COLUMNS: &[ColumnSpec] = &[
    col(
        "study_id",
        Kind::Id(Pattern::StudyId),
        true,
        "study key: first author + year",
    ),
    col(
        "cohort",
        Kind::Id(Pattern::Slug),
        true,
        "sub-sample of the study (`all` when there is one)",
    ),
    col(
        "label",
        Kind::Text,
        true,
        "study label printed in tables and forest plots",
    ),
    col("authors", Kind::Text, true, "author list"),
    col(
        "year",
        Kind::Int {
            min: 1900,
            max: 2027,
        },
        true,
        "publication year",
    ),
    col("doi", Kind::Doi, false, "DOI of the report"),
    col("pmid", Kind::Pmid, false, "PubMed ID"),
    col("source_url", Kind::Url, false, "web address of the report"),
    col(
        "source_location",
        Kind::Text,
        false,
        "table, figure or page the numbers came from",
    ),
    col(
        "extraction_notes",
        Kind::Text,
        false,
        "how the numbers were extracted or converted",
    ),
    col(
        "design",
        Kind::Enum(Design::NAMES),
        false,
        "study design (required when status = included)",
    ),
    col(
        "intervention_type",
        Kind::Enum(InterventionType::NAMES),
        true,
        "kind of intervention",
    ),
    col("population", Kind::Text, false, "who took part"),
    col(
        "n_trained",
        SAMPLE_SIZE,
        false,
        "participants (or limbs) in the trained arm",
    ),
    col(
        "n_control",
        SAMPLE_SIZE,
        false,
        "participants (or limbs) in the control arm",
    ),
    col("weeks", POSITIVE, false, "intervention length in weeks"),
    col(
        "sessions_per_week",
        POSITIVE_RANGE,
        false,
        "training sessions per week (a number, or a reported range `LOW-HIGH`)",
    ),
    col(
        "session_min_trained",
        NON_NEGATIVE_RANGE,
        false,
        "minutes per session, trained arm (a number, or a reported range `LOW-HIGH`)",
    ),
    col(
        "session_min_control",
        NON_NEGATIVE_RANGE,
        false,
        "minutes per session, control arm (a number, or a reported range `LOW-HIGH`)",
    ),
    col(
        "comparison",
        Kind::Enum(Comparison::NAMES),
        false,
        "what the trained region is compared with (required when status = included)",
    ),
    col(
        "diet_controlled",
        Kind::Enum(DietControlled::NAMES),
        false,
        "whether energy intake was controlled",
    ),
    col(
        "ee_measured",
        Kind::Enum(EeMeasured::NAMES),
        false,
        "whether session energy expenditure was known",
    ),
    col(
        "region",
        Kind::Id(Pattern::Slug),
        false,
        "body region measured (required when status = included)",
    ),
    col(
        "method",
        Kind::Enum(AssessmentMethod::NAMES),
        false,
        "fat assessment method (required when status = included)",
    ),
    col(
        "units",
        Kind::Text,
        false,
        "units of the means and dispersions",
    ),
    col(
        "outcome_type",
        Kind::Enum(OutcomeType::NAMES),
        true,
        "what the outcome measures",
    ),
    col(
        "primary",
        Kind::Enum(YES_NO),
        true,
        "whether this is the study's pooled outcome",
    ),
    col(
        "disp_type",
        Kind::Enum(DispType::NAMES),
        false,
        "whether dispersions are SDs or SEs",
    ),
    col("pre_mean_t", ANY, false, "baseline mean, trained"),
    col("pre_sd_t", POSITIVE, false, "baseline dispersion, trained"),
    col("post_mean_t", ANY, false, "final mean, trained"),
    col("post_sd_t", POSITIVE, false, "final dispersion, trained"),
    col("pre_mean_c", ANY, false, "baseline mean, control"),
    col("pre_sd_c", POSITIVE, false, "baseline dispersion, control"),
    col("post_mean_c", ANY, false, "final mean, control"),
    col("post_sd_c", POSITIVE, false, "final dispersion, control"),
    col("change_mean_t", ANY, false, "mean change, trained"),
    col(
        "change_sd_t",
        POSITIVE,
        false,
        "dispersion of the change, trained",
    ),
    col("change_mean_c", ANY, false, "mean change, control"),
    col(
        "change_sd_c",
        POSITIVE,
        false,
        "dispersion of the change, control",
    ),
    col("diff_mean", ANY, false, "reported between-arm difference"),
    col(
        "diff_ci_lb",
        ANY,
        false,
        "lower confidence limit of the difference",
    ),
    col(
        "diff_ci_ub",
        ANY,
        false,
        "upper confidence limit of the difference",
    ),
    col(
        "diff_se",
        POSITIVE,
        false,
        "standard error of the difference",
    ),
    col("diff_t", ANY, false, "t statistic of the difference"),
    col(
        "diff_p",
        Kind::Float {
            lower: Bound::Exclusive(0.0),
            upper: Bound::Inclusive(1.0),
        },
        false,
        "p value of the difference",
    ),
    col(
        "r_prepost",
        Kind::Correlation,
        false,
        "pre–post correlation",
    ),
    col(
        "r_prepost_source",
        Kind::Enum(ValueSource::NAMES),
        false,
        "where `r_prepost` came from",
    ),
    col(
        "r",
        Kind::Correlation,
        false,
        "between-limb (within-subject) correlation",
    ),
    col(
        "r_source",
        Kind::Enum(ValueSource::NAMES),
        false,
        "where `r` came from",
    ),
    col(
        "direction",
        Kind::Enum(Direction::NAMES),
        false,
        "which way the authors' result points",
    ),
    col("p_text", Kind::Text, false, "p value as printed"),
    col(
        "manual_flag",
        Kind::Id(Pattern::ManualFlag),
        false,
        "flag for manual review",
    ),
    col(
        "manual_flag_reason",
        Kind::Text,
        false,
        "why the row is flagged",
    ),
    col(
        "status",
        Kind::Enum(Status::NAMES),
        true,
        "whether the row enters the analysis",
    ),
    col(
        "status_reason",
        Kind::Text,
        true,
        "why the row has its status",
    ),
    col(
        "rob_tool",
        Kind::Enum(RobTool::NAMES),
        false,
        "risk-of-bias tool: `rob2` (randomised) or `robins_i` (non-randomised)",
    ),
    col(
        "rob_d1",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 1: randomisation (RoB 2) / confounding (ROBINS-I)",
    ),
    col(
        "rob_d1_support",
        Kind::Text,
        false,
        "support for `rob_d1`: a quote or a citation of the source",
    ),
    col(
        "rob_d2",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 2: deviations from intended interventions (RoB 2) / selection of participants (ROBINS-I)",
    ),
    col(
        "rob_d2_support",
        Kind::Text,
        false,
        "support for `rob_d2`: a quote or a citation of the source",
    ),
    col(
        "rob_d3",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 3: missing outcome data (RoB 2) / classification of interventions (ROBINS-I)",
    ),
    col(
        "rob_d3_support",
        Kind::Text,
        false,
        "support for `rob_d3`: a quote or a citation of the source",
    ),
    col(
        "rob_d4",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 4: measurement of the outcome (RoB 2) / deviations from intended interventions (ROBINS-I)",
    ),
    col(
        "rob_d4_support",
        Kind::Text,
        false,
        "support for `rob_d4`: a quote or a citation of the source",
    ),
    col(
        "rob_d5",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 5: selection of the reported result (RoB 2) / missing data (ROBINS-I)",
    ),
    col(
        "rob_d5_support",
        Kind::Text,
        false,
        "support for `rob_d5`: a quote or a citation of the source",
    ),
    col(
        "rob_d6",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 6: measurement of outcomes (ROBINS-I only)",
    ),
    col(
        "rob_d6_support",
        Kind::Text,
        false,
        "support for `rob_d6`: a quote or a citation of the source",
    ),
    col(
        "rob_d7",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "risk-of-bias domain 7: selection of the reported result (ROBINS-I only)",
    ),
    col(
        "rob_d7_support",
        Kind::Text,
        false,
        "support for `rob_d7`: a quote or a citation of the source",
    ),
    col(
        "rob_overall",
        Kind::Enum(RobJudgement::NAMES),
        false,
        "overall risk of bias: the worst domain (empty: derived)",
    ),
    col(
        "rob_overall_reason",
        Kind::Text,
        false,
        "why `rob_overall` differs from the worst domain",
    ),
];

/// The 0-based codebook position of `name`, resolved at compile time where
/// `name` is a literal (`const { position("status") }`): a misspelt column
/// name is then a build error, and the per-row checks index an array instead
/// of hashing names (issue #15: `check` on 100,000 rows).
///
/// # Panics
///
/// If `name` is not a codebook column (at compile time in a `const` block).
pub const fn position(name: &str) -> usize {
    let name = name.as_bytes();
    let mut i = 0;
    while i < COLUMNS.len() {
        let c = COLUMNS[i].name.as_bytes();
        if c.len() == name.len() {
            let mut j = 0;
            while j < c.len() && c[j] == name[j] {
                j += 1;
            }
            if j == c.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a codebook column")
}

/// The codebook entry for `name`, with its 0-based position.
pub fn spec(name: &str) -> Option<(usize, &'static ColumnSpec)> {
    COLUMNS.iter().enumerate().find(|(_, c)| c.name == name)
}

/// What a single cell check found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The value is acceptable.
    Ok,
    /// Acceptable but suspicious: `(message, fix)`.
    Warning(String, String),
    /// Not acceptable: `(message, fix)`.
    Error(String, String),
}

/// Whether `cell` counts as empty in a column of kind `kind`.
pub(crate) fn is_missing(kind: Kind, cell: &str) -> bool {
    cell.is_empty() || (kind.is_numeric() && cell == "NA")
}

/// Parses a finite number, as every numeric column requires.
pub(crate) fn parse_number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn not_a_number(name: &str, cell: &str, what: &str) -> Verdict {
    let fix = if cell.trim() != cell {
        "remove the spaces around the value".to_owned()
    } else {
        format!("write {what} with `.` as the decimal point, or leave the cell empty if unknown")
    };
    Verdict::Error(format!("column `{name}`: \"{cell}\" is not {what}"), fix)
}

fn range_text(lower: Bound, upper: Bound) -> String {
    match (lower, upper) {
        (Bound::Unbounded, Bound::Unbounded) => "finite".to_owned(),
        (l, Bound::Unbounded) => match l {
            Bound::Inclusive(v) => format!("≥ {v}"),
            Bound::Exclusive(v) => format!("> {v}"),
            Bound::Unbounded => unreachable!(),
        },
        (l, u) => {
            let left = match l {
                Bound::Inclusive(v) => format!("{v} ≤ "),
                Bound::Exclusive(v) => format!("{v} < "),
                Bound::Unbounded => String::new(),
            };
            let right = match u {
                Bound::Inclusive(v) => format!(" ≤ {v}"),
                Bound::Exclusive(v) => format!(" < {v}"),
                Bound::Unbounded => String::new(),
            };
            format!("{left}value{right}")
        }
    }
}

fn within(v: f64, lower: Bound, upper: Bound) -> bool {
    let lo = match lower {
        Bound::Unbounded => true,
        Bound::Inclusive(b) => v >= b,
        Bound::Exclusive(b) => v > b,
    };
    let hi = match upper {
        Bound::Unbounded => true,
        Bound::Inclusive(b) => v <= b,
        Bound::Exclusive(b) => v < b,
    };
    lo && hi
}

impl ColumnSpec {
    /// Checks one non-empty cell against the column's kind.
    pub(crate) fn check(&self, cell: &str) -> Verdict {
        let name = self.name;
        match self.kind {
            Kind::Text => Verdict::Ok,
            Kind::Id(p) if p.matches(cell) => Verdict::Ok,
            Kind::Id(p) => Verdict::Error(
                format!("column `{name}`: \"{cell}\" does not match {}", p.regex()),
                format!("write {}", p.example()),
            ),
            Kind::Int { min, max } => match cell.parse::<i64>() {
                Err(_) => not_a_number(name, cell, "a whole number"),
                Ok(v) if v < min || v > max => {
                    let range = if max == u32::MAX as i64 {
                        format!("at least {min}")
                    } else {
                        format!("between {min} and {max}")
                    };
                    Verdict::Error(
                        format!("column `{name}`: {v} is out of range; it must be {range}"),
                        format!("check the report's {} and correct the value", self.description),
                    )
                }
                Ok(_) => Verdict::Ok,
            },
            Kind::Float { lower, upper } => match parse_number(cell) {
                None => not_a_number(name, cell, "a finite number"),
                Some(v) if !within(v, lower, upper) => Verdict::Error(
                    format!(
                        "column `{name}`: {cell} is out of range; it must be {}",
                        range_text(lower, upper)
                    ),
                    format!(
                        "check the report's {}; leave the cell empty if it was not reported",
                        self.description
                    ),
                ),
                Some(_) => Verdict::Ok,
            },
            Kind::Range { lower, upper } => match ReportedRange::parse(cell) {
                Err(RangeError::NotARange) => Verdict::Error(
                    format!("column `{name}`: \"{cell}\" is not a number or a range"),
                    "write one number (e.g. `45`) or a reported range as LOW-HIGH (e.g. `57-84`; \
                     `57–84` with an en dash also works), without spaces or units; leave the cell \
                     empty if it was not reported"
                        .to_owned(),
                ),
                Err(RangeError::Descending(lo, hi)) => Verdict::Error(
                    format!("column `{name}`: range \"{cell}\" runs downwards ({lo} > {hi})"),
                    format!("write the smaller value first: `{hi}-{lo}`"),
                ),
                Ok(r) => match [r.lo, r.hi].into_iter().find(|v| !within(*v, lower, upper)) {
                    Some(v) => Verdict::Error(
                        format!(
                            "column `{name}`: {v} is out of range; it must be {}",
                            range_text(lower, upper)
                        ),
                        format!(
                            "check the report's {}; leave the cell empty if it was not reported",
                            self.description
                        ),
                    ),
                    None => Verdict::Ok,
                },
            },
            Kind::Correlation => match parse_number(cell) {
                None => not_a_number(name, cell, "a finite number"),
                Some(v) if v.abs() >= 1.0 => Verdict::Error(
                    format!("column `{name}`: correlation {cell} is out of range; it must be strictly between -1 and 1"),
                    "a correlation of ±1 or beyond makes the variance degenerate: check the value, or impute a plausible one and mark its source `imputed`".to_owned(),
                ),
                Some(v) if v <= 0.0 => Verdict::Warning(
                    format!("column `{name}`: correlation {cell} is not positive"),
                    "a non-positive correlation is possible between limbs but unusual; confirm it against the report".to_owned(),
                ),
                Some(_) => Verdict::Ok,
            },
            Kind::Enum(allowed) if allowed.contains(&cell) => Verdict::Ok,
            Kind::Enum(allowed) => Verdict::Error(
                format!("column `{name}`: \"{cell}\" is not an accepted value"),
                format!("use one of: {} (spelling and case must match)", allowed.join(", ")),
            ),
            Kind::Doi if cell.starts_with("10.") => Verdict::Ok,
            Kind::Doi => Verdict::Error(
                format!("column `{name}`: \"{cell}\" is not a DOI; a DOI starts with `10.`"),
                "write the bare DOI, e.g. `10.1234/abc`, without `https://doi.org/` (put full links in `source_url`)".to_owned(),
            ),
            Kind::Pmid if cell.bytes().all(|b| b.is_ascii_digit()) => Verdict::Ok,
            Kind::Pmid => Verdict::Error(
                format!("column `{name}`: \"{cell}\" is not a PubMed ID; it must be digits only"),
                "write the number only, e.g. `12345678`".to_owned(),
            ),
            Kind::Url if cell.starts_with("http://") || cell.starts_with("https://") => Verdict::Ok,
            Kind::Url => Verdict::Error(
                format!("column `{name}`: \"{cell}\" is not a web address"),
                "write a full address starting with `https://` or `http://`".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebook_has_73_unique_columns() {
        assert_eq!(COLUMNS.len(), 73);
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 73);
    }

    #[test]
    fn patterns_match_their_regexes() {
        assert!(Pattern::StudyId.matches("brobakken2023"));
        assert!(!Pattern::StudyId.matches("2023brobakken"));
        assert!(!Pattern::StudyId.matches("Brobakken2023"));
        assert!(!Pattern::StudyId.matches(""));
        assert!(Pattern::Slug.matches("all_women"));
        assert!(!Pattern::Slug.matches(""));
        assert!(Pattern::ManualFlag.matches("MANUAL_CHECK_SD"));
        assert!(!Pattern::ManualFlag.matches("MANUAL_"));
        assert!(!Pattern::ManualFlag.matches("manual_check"));
    }

    #[test]
    fn a_reported_range_is_one_number_or_low_dash_high() {
        // Issue #16: Brobakken 2023's trained-arm session is 57 or 84 min.
        let r = |lo, hi| Ok(ReportedRange { lo, hi });
        assert_eq!(ReportedRange::parse("45"), r(45.0, 45.0));
        assert_eq!(ReportedRange::parse("4.5"), r(4.5, 4.5));
        assert_eq!(ReportedRange::parse("57-84"), r(57.0, 84.0));
        assert_eq!(ReportedRange::parse("57–84"), r(57.0, 84.0));
        assert_eq!(ReportedRange::parse("2.5-3"), r(2.5, 3.0));
        assert_eq!(ReportedRange::parse("45-45"), r(45.0, 45.0));
        assert_eq!(
            ReportedRange::parse("84-57"),
            Err(RangeError::Descending(84.0, 57.0))
        );
        for bad in [
            "57 - 84",
            "57 to 84",
            "57-",
            "-84-",
            "57--84",
            "57-84-90",
            "57—84",
            "57–-84",
            "ca. 60",
            "57-84 min",
            "+57-84",
            "NaN-5",
            "57-inf",
        ] {
            assert_eq!(
                ReportedRange::parse(bad),
                Err(RangeError::NotARange),
                "{bad}"
            );
        }
        // A negative single number parses; the column's bounds refuse it.
        assert_eq!(ReportedRange::parse("-5"), r(-5.0, -5.0));
    }

    #[test]
    fn range_columns_check_both_ends_and_the_order() {
        let (_, minutes) = spec("session_min_trained").unwrap();
        assert_eq!(minutes.check("57-84"), Verdict::Ok);
        assert_eq!(minutes.check("0"), Verdict::Ok);
        let msg = |v: Verdict| match v {
            Verdict::Error(m, f) => format!("{m} | {f}"),
            other => panic!("expected an error, got {other:?}"),
        };
        let m = msg(minutes.check("84-57"));
        assert!(m.contains("runs downwards") && m.contains("`57-84`"), "{m}");
        let m = msg(minutes.check("57 to 84"));
        assert!(
            m.contains("not a number or a range") && m.contains("`57-84`"),
            "{m}"
        );
        assert!(msg(minutes.check("-5")).contains("out of range"));
        let (_, spw) = spec("sessions_per_week").unwrap();
        assert_eq!(spw.check("3-5"), Verdict::Ok);
        assert!(msg(spw.check("0-5")).contains("out of range"));
        assert_eq!(ReportedRange::point(45.0).to_string(), "45");
        assert_eq!(ReportedRange { lo: 57.0, hi: 84.0 }.to_string(), "57-84");
    }

    #[test]
    fn enum_names_round_trip() {
        assert_eq!(AssessmentMethod::Dexa.as_str(), "DEXA");
        assert_eq!(AssessmentMethod::NAMES.len(), 9);
        assert_eq!(Design::WithinSubject.to_string(), "within_subject");
        for &name in Status::NAMES {
            assert_eq!(Status::from_name(name).map(Status::as_str), Some(name));
        }
        assert_eq!(Status::from_name("Included"), None);
    }
}
