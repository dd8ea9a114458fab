//! GRADE certainty of the evidence for one outcome, derived from the data and
//! explained step by step (issue #17).
//!
//! GRADE (Guyatt et al. 2008, *BMJ* 336:924–926; the GRADE handbook,
//! Schünemann et al. 2013) rates a body of evidence **high**, **moderate**,
//! **low** or **very low**. A body of randomised trials starts at high, one
//! of non-randomised studies at low; five domains can each take one or two
//! levels off. Review tools leave the judgement to the reviewer; here every
//! domain is a written rule over the pooled fit and per-study signals, with
//! thresholds in [`GradeOptions`] (data, not constants), and every step
//! returns its rule and its reason, so a reader can disagree with a
//! threshold rather than with a hidden judgement. Upgrading (large effect,
//! dose–response) is not derived.
//!
//! **Start.** High when randomised studies carry at least
//! `rct_share_for_high` of the weight (default: all of it), else low. A
//! study whose randomisation is not recorded counts as non-randomised.
//!
//! | domain | serious (−1) when | very serious (−2) when |
//! |---|---|---|
//! | risk of bias | studies at high risk or some concerns carry ≥ `rob_serious_share` of the weight (`no_information` counts as `no_information_as`, default some concerns) | studies at high risk carry ≥ `rob_very_serious_share` |
//! | inconsistency | any of: I² ≥ `i2_serious`; the prediction interval includes 0 while the CI does not; study CIs exclude 0 in opposite directions | I² ≥ `i2_very_serious` and one of the other two signals |
//! | indirectness | studies with any indirectness signal (region-prone population, girth instead of fat, a high-severity energy-expenditure confound, counted only for a study without a risk-of-bias assessment because RoB D2 already carries it) carry ≥ `indirect_serious_share` | studies with two or more kinds carry ≥ `indirect_serious_share` |
//! | imprecision | the CI includes one of −δ, 0, +δ (δ = `smallest_worthwhile`), or the participants fall short of the optimal information size | the CI includes both −δ and +δ |
//! | publication bias | k ≥ `pub_bias_min_k` studies and Egger's regression test gives p < `pub_bias_alpha` | — |
//!
//! Inconsistency needs 2 effects; with fewer it is "not assessable" (no
//! change). Publication bias below `pub_bias_min_k` studies is "not
//! assessable" (no change): the Cochrane Handbook (§13.3.5.4) advises
//! against asymmetry tests with fewer than 10 studies. Point estimates on
//! both sides of zero alone do not count as inconsistency: they are expected
//! when the true effect is near zero.
//!
//! **Optimal information size (OIS).** The total sample size a single
//! adequately powered two-group trial would need (Guyatt et al. 2011,
//! "GRADE guidelines 6. Rating the quality of evidence — imprecision",
//! *J Clin Epidemiol* 64:1283–1293, §4): for a standardised mean difference
//! δ with two-sided α and power 1 − β, the normal-approximation
//! n per group = 2·(z₁₋α/₂ + z₁₋β)² / δ² (e.g. Machin et al. 2009, *Sample
//! Size Tables for Clinical Studies*, 3rd ed., eq. 5.2), rounded up; OIS =
//! 2 × that. With δ = 0.2, α = 0.05 and power 0.8: 392.44 → 393 per group,
//! OIS = 786 participants. The participants counted are the dataset's n
//! (within-subject designs: the people, each their own control, so the rule
//! is conservative for them).

use crate::analysis::confounds::{self, ConfoundOptions, Severity};
use crate::analysis::primary::PrimaryAnalysis;
use crate::analysis::regtest::{RegtestModel, regtest};
use crate::data::review::{GradeTable, GradeValue, grade_value_problem};
use crate::data::{AssessmentMethod, RobJudgement, RobTool, SpotDataset};
use crate::error::{Error, Location, Result};
use crate::model::RmaOptions;
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// A GRADE certainty level, lowest first (so `Ord` ranks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// Very low: the true effect is probably markedly different.
    VeryLow,
    /// Low: the true effect might be markedly different.
    Low,
    /// Moderate: the true effect is probably close to the estimate.
    Moderate,
    /// High: the true effect is similar to the estimate.
    High,
}

impl Certainty {
    fn level(self) -> i32 {
        self as i32
    }

    fn from_level(level: i32) -> Certainty {
        match level {
            i32::MIN..=0 => Certainty::VeryLow,
            1 => Certainty::Low,
            2 => Certainty::Moderate,
            _ => Certainty::High,
        }
    }

    /// GRADE's plain-language symbol: ⊕⊕⊕⊕ for high … ⊕◯◯◯ for very low.
    pub fn symbols(self) -> &'static str {
        match self {
            Certainty::High => "⊕⊕⊕⊕",
            Certainty::Moderate => "⊕⊕⊕◯",
            Certainty::Low => "⊕⊕◯◯",
            Certainty::VeryLow => "⊕◯◯◯",
        }
    }
}

impl fmt::Display for Certainty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Certainty::High => "high",
            Certainty::Moderate => "moderate",
            Certainty::Low => "low",
            Certainty::VeryLow => "very low",
        })
    }
}

/// Whether a study was randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Randomisation {
    /// Randomised (including randomised allocation of limbs).
    Randomised,
    /// Not randomised.
    NotRandomised,
    /// Not recorded in the data (counts as not randomised).
    NotRecorded,
}

/// Overall risk-of-bias judgement of a study for the outcome (RoB 2 scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RobOverall {
    /// Low risk of bias.
    Low,
    /// Some concerns.
    SomeConcerns,
    /// High risk of bias.
    High,
    /// No information to judge.
    NoInformation,
}

impl RobOverall {
    /// The codebook's judgement of the same name (RoB 2 scale).
    pub fn judgement(self) -> RobJudgement {
        match self {
            RobOverall::Low => RobJudgement::Low,
            RobOverall::SomeConcerns => RobJudgement::SomeConcerns,
            RobOverall::High => RobJudgement::High,
            RobOverall::NoInformation => RobJudgement::NoInformation,
        }
    }

    /// The overall judgement named `name` by the codebook (`low`,
    /// `some_concerns`, `high`, `no_information`), if it is one.
    pub fn from_name(name: &str) -> Option<RobOverall> {
        let j = RobJudgement::from_name(name)?;
        [
            RobOverall::Low,
            RobOverall::SomeConcerns,
            RobOverall::High,
            RobOverall::NoInformation,
        ]
        .into_iter()
        .find(|o| o.judgement() == j)
    }
}

impl fmt::Display for RobOverall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            RobOverall::Low => "low",
            RobOverall::SomeConcerns => "some concerns",
            RobOverall::High => "high",
            RobOverall::NoInformation => "no information",
        })
    }
}

/// One pooled effect (a study, or a cohort of one) as GRADE sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeStudy {
    /// Display label.
    pub label: String,
    /// Study key (cohorts of one study share it; studies are counted by it).
    pub study_id: String,
    /// Whether it was randomised.
    pub randomisation: Randomisation,
    /// Overall risk of bias for the outcome.
    pub rob: RobOverall,
    /// Its weight in the pooled estimate (any scale; shares are taken).
    pub weight: f64,
    /// Effect size.
    pub yi: f64,
    /// Sampling variance.
    pub vi: f64,
    /// Participants, when known.
    pub n: Option<u32>,
    /// A central region in a population prone to lose fat there first
    /// (`REGION_PRONE`).
    pub region_prone: bool,
    /// The outcome is girth (circumference), not fat tissue.
    pub girth: bool,
    /// A high-severity energy-expenditure confound flag (`EE_*`).
    pub ee_confound: bool,
}

impl GradeStudy {
    fn indirectness_kinds(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.region_prone {
            v.push("region-prone population");
        }
        if self.girth {
            v.push("girth instead of fat");
        }
        if self.ee_confound {
            v.push("energy-expenditure confound");
        }
        v
    }
}

/// Everything GRADE needs about one outcome's synthesis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeInput {
    /// The outcome, e.g. "regional fat (primary outcome)".
    pub outcome: String,
    /// The pooled effects.
    pub studies: Vec<GradeStudy>,
    /// Pooled estimate.
    pub estimate: f64,
    /// Its confidence interval.
    pub ci: (f64, f64),
    /// Prediction interval, when computed.
    pub pi: Option<(f64, f64)>,
    /// I² in percent, when computed.
    pub i2: Option<f64>,
}

impl GradeInput {
    /// Number of pooled effects.
    pub fn k(&self) -> usize {
        self.studies.len()
    }

    /// Distinct studies (`study_id`).
    pub fn n_studies(&self) -> usize {
        let mut ids: Vec<&str> = self.studies.iter().map(|s| s.study_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Participants over the effects whose n is known, and how many effects
    /// lack it.
    pub fn participants(&self) -> (u64, usize) {
        let known: u64 = self.studies.iter().filter_map(|s| s.n).map(u64::from).sum();
        let missing = self.studies.iter().filter(|s| s.n.is_none()).count();
        (known, missing)
    }

    fn total_weight(&self) -> f64 {
        self.studies.iter().map(|s| s.weight).sum()
    }

    /// Weight share of the effects satisfying `pred`.
    fn share(&self, pred: impl Fn(&GradeStudy) -> bool) -> f64 {
        let total = self.total_weight();
        if total <= 0.0 {
            return 0.0;
        }
        self.studies
            .iter()
            .filter(|s| pred(s))
            .map(|s| s.weight)
            .sum::<f64>()
            / total
    }
}

/// The rules' thresholds (unchecked; see [`GradeOptions::check`]).
///
/// | name | default | meaning | range |
/// |---|---|---|---|
/// | `rct_share_for_high` | 1.0 | weight share of randomised studies needed to start at high | (0, 1] |
/// | `rob_serious_share` | 0.5 | weight share at high risk or some concerns for −1 | (0, 1] |
/// | `rob_very_serious_share` | 0.5 | weight share at high risk for −2 | (0, 1] |
/// | `no_information_as` | some concerns | how `no_information` counts | a [`RobOverall`] |
/// | `i2_serious` | 50 | I² (%) that is a sign of inconsistency | [0, 100] |
/// | `i2_very_serious` | 75 | I² (%) for −2 (with another signal) | ≥ `i2_serious`, ≤ 100 |
/// | `indirect_serious_share` | 0.5 | weight share with indirectness signals for −1 (two kinds: −2) | (0, 1] |
/// | `smallest_worthwhile` | 0.2 | δ: the smallest worthwhile SMD (imprecision, OIS) | > 0 |
/// | `alpha` | 0.05 | two-sided α of the OIS | (0, 1) |
/// | `power` | 0.8 | power of the OIS | (0, 1) |
/// | `pub_bias_min_k` | 10 | studies needed to assess publication bias | ≥ 3 |
/// | `pub_bias_alpha` | 0.10 | Egger's test p below which asymmetry is suspected | (0, 1) |
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GradeOptions {
    /// Weight share of randomised studies needed to start at high.
    pub rct_share_for_high: f64,
    /// Weight share at high risk or some concerns that is serious.
    pub rob_serious_share: f64,
    /// Weight share at high risk that is very serious.
    pub rob_very_serious_share: f64,
    /// How a `no_information` judgement counts.
    pub no_information_as: RobOverall,
    /// I² (percent) that signals inconsistency.
    pub i2_serious: f64,
    /// I² (percent) that, with another signal, is very serious.
    pub i2_very_serious: f64,
    /// Weight share with indirectness signals that is serious.
    pub indirect_serious_share: f64,
    /// The smallest worthwhile effect δ (SMD).
    pub smallest_worthwhile: f64,
    /// Two-sided α of the optimal information size.
    pub alpha: f64,
    /// Power of the optimal information size.
    pub power: f64,
    /// Studies needed before publication bias is assessed.
    pub pub_bias_min_k: usize,
    /// Egger p-value below which funnel asymmetry is suspected.
    pub pub_bias_alpha: f64,
}

impl Default for GradeOptions {
    fn default() -> Self {
        GradeOptions {
            rct_share_for_high: 1.0,
            rob_serious_share: 0.5,
            rob_very_serious_share: 0.5,
            no_information_as: RobOverall::SomeConcerns,
            i2_serious: crate::data::review::DEFAULT_I2_SERIOUS,
            i2_very_serious: crate::data::review::DEFAULT_I2_VERY_SERIOUS,
            indirect_serious_share: 0.5,
            smallest_worthwhile: 0.2,
            alpha: 0.05,
            power: 0.8,
            pub_bias_min_k: 10,
            pub_bias_alpha: 0.10,
        }
    }
}

fn opt(option: &str, message: String) -> Error {
    Error::Option {
        option: option.to_string(),
        message,
    }
}

impl GradeOptions {
    /// Check the thresholds.
    ///
    /// # Errors
    ///
    /// [`Error::Option`] naming the field when a value is out of range.
    pub fn check(self) -> Result<Self> {
        for (key, value) in self.entries() {
            if let Some(message) = grade_value_problem(key, &value) {
                return Err(opt(key, message));
            }
        }
        if let Some(problem) =
            crate::data::review::i2_cutoffs_problem(self.i2_serious, self.i2_very_serious)
        {
            return Err(opt(
                "i2_very_serious",
                format!("{problem}; give a percentage between i2_serious and 100"),
            ));
        }
        Ok(self)
    }
}

impl GradeOptions {
    /// Every threshold as the `[grade]` table of the review record names it
    /// ([`crate::data::review::GRADE_KEYS`] order).
    pub fn entries(&self) -> [(&'static str, GradeValue); 12] {
        let n = GradeValue::Number;
        [
            ("rct_share_for_high", n(self.rct_share_for_high)),
            ("rob_serious_share", n(self.rob_serious_share)),
            ("rob_very_serious_share", n(self.rob_very_serious_share)),
            (
                "no_information_as",
                GradeValue::Level(self.no_information_as.judgement().as_str().into()),
            ),
            ("i2_serious", n(self.i2_serious)),
            ("i2_very_serious", n(self.i2_very_serious)),
            ("indirect_serious_share", n(self.indirect_serious_share)),
            ("smallest_worthwhile", n(self.smallest_worthwhile)),
            ("alpha", n(self.alpha)),
            ("power", n(self.power)),
            ("pub_bias_min_k", n(self.pub_bias_min_k as f64)),
            ("pub_bias_alpha", n(self.pub_bias_alpha)),
        ]
    }

    /// These options with the review record's `[grade]` table applied (keys
    /// it gives replace these values), then checked.
    ///
    /// # Errors
    ///
    /// [`Error::Value`] at the `file:line:column` of the key whose value is
    /// out of range (for the rule between `i2_serious` and
    /// `i2_very_serious`, at whichever of the two the table gives).
    pub fn with_table(self, table: &GradeTable, path: &Path) -> Result<GradeOptions> {
        let mut o = self;
        let place = |key: &str, message: String| {
            let (line, column) = table
                .get(key)
                .or_else(|| table.get("i2_serious").filter(|_| key == "i2_very_serious"))
                .map_or((1, None), |e| (e.value.line, Some(e.value.column)));
            Error::Value {
                location: Box::new(Location {
                    file: path.to_path_buf(),
                    line,
                    column,
                    column_name: Some(format!("grade.{key}")),
                }),
                message: format!("[grade] {key}: {message}"),
                fix: "see datasets/README.md, section 13, for each GRADE threshold's range".into(),
            }
        };
        for e in &table.entries {
            if let Some(m) = grade_value_problem(e.key, &e.value.value) {
                return Err(place(e.key, m));
            }
            match (e.key, &e.value.value) {
                ("no_information_as", GradeValue::Level(l)) => {
                    if let Some(level) = RobOverall::from_name(l) {
                        o.no_information_as = level;
                    }
                }
                (key, GradeValue::Number(v)) => {
                    let v = *v;
                    match key {
                        "rct_share_for_high" => o.rct_share_for_high = v,
                        "rob_serious_share" => o.rob_serious_share = v,
                        "rob_very_serious_share" => o.rob_very_serious_share = v,
                        "i2_serious" => o.i2_serious = v,
                        "i2_very_serious" => o.i2_very_serious = v,
                        "indirect_serious_share" => o.indirect_serious_share = v,
                        "smallest_worthwhile" => o.smallest_worthwhile = v,
                        "alpha" => o.alpha = v,
                        "power" => o.power = v,
                        "pub_bias_min_k" => o.pub_bias_min_k = v as usize,
                        _ => o.pub_bias_alpha = v,
                    }
                }
                // grade_value_problem refuses a level for a numeric key.
                (_, GradeValue::Level(_)) => {}
            }
        }
        o.check().map_err(|e| match e {
            Error::Option { option, message } => place(&option, message),
            other => other,
        })
    }
}

/// The optimal information size and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ois {
    /// 2·(z₁₋α/₂ + z₁₋β)²/δ², before rounding up.
    pub per_group_exact: f64,
    /// Participants per group (rounded up).
    pub per_group: u64,
    /// Total participants (two groups).
    pub total: u64,
    /// The formula in words, with its inputs.
    pub formula: String,
}

/// The optimal information size for a standardised mean difference δ with
/// two-sided `alpha` and `power` (module docs; Guyatt et al. 2011).
///
/// # Examples
///
/// ```
/// use spotmeta::analysis::grade::optimal_information_size;
/// let ois = optimal_information_size(0.2, 0.05, 0.8);
/// assert_eq!((ois.per_group, ois.total), (393, 786));
/// ```
pub fn optimal_information_size(delta: f64, alpha: f64, power: f64) -> Ois {
    let z = crate::dist::qnorm(1.0 - alpha / 2.0) + crate::dist::qnorm(power);
    let per_group_exact = 2.0 * z * z / (delta * delta);
    let per_group = per_group_exact.ceil() as u64;
    Ois {
        per_group_exact,
        per_group,
        total: 2 * per_group,
        formula: format!(
            "n per group = 2(z[1-α/2] + z[1-β])²/δ² with δ = {delta}, α = {alpha}, power = {power}: {per_group} per group, {} in total (Guyatt 2011, GRADE guidelines 6)",
            2 * per_group
        ),
    }
}

/// A GRADE domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Risk of bias.
    RiskOfBias,
    /// Inconsistency.
    Inconsistency,
    /// Indirectness.
    Indirectness,
    /// Imprecision.
    Imprecision,
    /// Publication bias.
    PublicationBias,
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Domain::RiskOfBias => "risk of bias",
            Domain::Inconsistency => "inconsistency",
            Domain::Indirectness => "indirectness",
            Domain::Imprecision => "imprecision",
            Domain::PublicationBias => "publication bias",
        })
    }
}

/// The verdict on one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No downgrade.
    NotSerious,
    /// One level down.
    Serious,
    /// Two levels down.
    VerySerious,
    /// Too little data to judge; no downgrade.
    NotAssessable,
}

impl Verdict {
    /// Levels taken off.
    pub fn downgrade(self) -> i32 {
        match self {
            Verdict::Serious => 1,
            Verdict::VerySerious => 2,
            Verdict::NotSerious | Verdict::NotAssessable => 0,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Verdict::NotSerious => "not serious",
            Verdict::Serious => "serious",
            Verdict::VerySerious => "very serious",
            Verdict::NotAssessable => "not assessable",
        })
    }
}

/// One step of the rating: a domain, its rule, what the data show and the
/// verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The domain.
    pub domain: Domain,
    /// The rule applied, with its thresholds.
    pub rule: String,
    /// What the data show.
    pub reason: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Levels taken off (0, 1 or 2).
    pub downgrade: i32,
    /// Certainty after this step.
    pub after: Certainty,
}

/// The GRADE rating of one outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grade {
    /// The outcome.
    pub outcome: String,
    /// Where the rating started.
    pub start: Certainty,
    /// The starting rule.
    pub start_rule: String,
    /// Why it started there (the data).
    pub start_reason: String,
    /// The five domains, in GRADE's order.
    pub steps: Vec<Step>,
    /// The result.
    pub certainty: Certainty,
    /// The optimal information size used by the imprecision rule.
    pub ois: Ois,
    /// The options used.
    pub options: GradeOptions,
}

impl Grade {
    /// The domains that took certainty down, e.g. "risk of bias (−1)".
    pub fn downgrades(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.downgrade > 0)
            .map(|s| format!("{} (\u{2212}{})", s.domain, s.downgrade))
            .collect()
    }

    /// One sentence: the certainty and why.
    pub fn sentence(&self) -> String {
        let mut why = vec![format!(
            "it starts at {} ({})",
            self.start, self.start_reason
        )];
        for s in self.steps.iter().filter(|s| s.downgrade > 0) {
            why.push(format!(
                "{} is {} (\u{2212}{}: {})",
                s.domain, s.verdict, s.downgrade, s.reason
            ));
        }
        let why = match why.len() {
            1 => why.remove(0),
            _ => {
                let last = why.pop().unwrap_or_default();
                format!("{}, and {}", why.join(", "), last)
            }
        };
        format!(
            "GRADE certainty for {}: {}, because {}.",
            self.outcome, self.certainty, why
        )
    }
}

impl fmt::Display for Grade {
    /// The step-by-step table printed by the CLI and the report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "GRADE certainty: {}", self.outcome)?;
        writeln!(f, "  start: {}", self.start)?;
        writeln!(f, "    rule: {}", self.start_rule)?;
        writeln!(f, "    data: {}", self.start_reason)?;
        for s in &self.steps {
            match s.downgrade {
                0 => writeln!(f, "  {}: {} → {}", s.domain, s.verdict, s.after)?,
                d => writeln!(
                    f,
                    "  {}: {} (\u{2212}{d}) → {}",
                    s.domain, s.verdict, s.after
                )?,
            }
            writeln!(f, "    rule: {}", s.rule)?;
            writeln!(f, "    data: {}", s.reason)?;
        }
        writeln!(
            f,
            "  result: {} {}",
            self.certainty.symbols(),
            self.certainty
        )
    }
}

fn pct(share: f64) -> String {
    // `+ 0.0` turns the −0.0 of an empty float sum into 0.
    format!("{:.0}%", 100.0 * share + 0.0)
}

/// A threshold for text: "0", "0.2", "−0.2".
fn thr(x: f64) -> String {
    format!("{}", x + 0.0).replace('-', "\u{2212}")
}

/// Two decimals with a typographic minus; negative zero prints as "0.00".
fn n2(x: f64) -> String {
    let s = format!("{x:.2}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s.replace('-', "\u{2212}")
    }
}

/// Rate the certainty of `input` under `opts`.
///
/// # Errors
///
/// [`Error::Option`] when `opts` fail [`GradeOptions::check`];
/// [`Error::Unsupported`] when there are no studies.
pub fn grade(input: &GradeInput, opts: &GradeOptions) -> Result<Grade> {
    let o = opts.check()?;
    if input.studies.is_empty() {
        return Err(Error::Unsupported(
            "GRADE needs at least one pooled study".into(),
        ));
    }
    let (start, start_rule, start_reason) = start(input, &o);
    let ois = optimal_information_size(o.smallest_worthwhile, o.alpha, o.power);
    let mut level = start.level();
    let mut steps = Vec::new();
    for (domain, (rule, reason, verdict)) in [
        (Domain::RiskOfBias, risk_of_bias(input, &o)),
        (Domain::Inconsistency, inconsistency(input, &o)),
        (Domain::Indirectness, indirectness(input, &o)),
        (Domain::Imprecision, imprecision(input, &o, &ois)),
        (Domain::PublicationBias, publication_bias(input, &o)),
    ] {
        level -= verdict.downgrade();
        steps.push(Step {
            domain,
            rule,
            reason,
            verdict,
            downgrade: verdict.downgrade(),
            after: Certainty::from_level(level),
        });
    }
    Ok(Grade {
        outcome: input.outcome.clone(),
        start,
        start_rule,
        start_reason,
        steps,
        certainty: Certainty::from_level(level),
        ois,
        options: o,
    })
}

fn start(input: &GradeInput, o: &GradeOptions) -> (Certainty, String, String) {
    let share = input.share(|s| s.randomisation == Randomisation::Randomised);
    let not_recorded = input
        .studies
        .iter()
        .filter(|s| s.randomisation == Randomisation::NotRecorded)
        .count();
    let rule = format!(
        "high when randomised studies carry ≥ {} of the weight, else low (randomisation not recorded counts as non-randomised)",
        pct(o.rct_share_for_high)
    );
    let mut reason = format!("randomised studies carry {} of the weight", pct(share));
    if not_recorded > 0 {
        reason.push_str(&format!(
            "; randomisation not recorded for {not_recorded} of {} effects",
            input.k()
        ));
    }
    let c = if share >= o.rct_share_for_high - 1e-12 {
        Certainty::High
    } else {
        Certainty::Low
    };
    (c, rule, reason)
}

type Judged = (String, String, Verdict);

fn risk_of_bias(input: &GradeInput, o: &GradeOptions) -> Judged {
    let as_judged = |r: RobOverall| {
        if r == RobOverall::NoInformation {
            o.no_information_as
        } else {
            r
        }
    };
    let high = input.share(|s| as_judged(s.rob) == RobOverall::High);
    let concerns = input.share(|s| {
        matches!(
            as_judged(s.rob),
            RobOverall::High | RobOverall::SomeConcerns | RobOverall::NoInformation
        )
    });
    let no_info = input.share(|s| s.rob == RobOverall::NoInformation);
    let rule = format!(
        "−1 when studies at high risk or some concerns carry ≥ {} of the weight, −2 when studies at high risk carry ≥ {} (no information counts as {})",
        pct(o.rob_serious_share),
        pct(o.rob_very_serious_share),
        o.no_information_as
    );
    let mut reason = format!(
        "studies at high risk carry {} of the weight, at high risk or some concerns {}",
        pct(high),
        pct(concerns)
    );
    if no_info > 0.0 {
        reason.push_str(&format!(
            " ({} has no risk-of-bias information, counted as {})",
            pct(no_info),
            o.no_information_as
        ));
    }
    let verdict = if high >= o.rob_very_serious_share - 1e-12 {
        Verdict::VerySerious
    } else if concerns >= o.rob_serious_share - 1e-12 {
        Verdict::Serious
    } else {
        Verdict::NotSerious
    };
    (rule, reason, verdict)
}

fn inconsistency(input: &GradeInput, o: &GradeOptions) -> Judged {
    let rule = format!(
        "−1 for any of: I² ≥ {}%; the prediction interval includes 0 while the CI does not; study CIs exclude 0 in opposite directions. −2 when I² ≥ {}% with one of the other two",
        o.i2_serious, o.i2_very_serious
    );
    if input.k() < 2 {
        return (
            rule,
            "one effect: consistency cannot be judged".into(),
            Verdict::NotAssessable,
        );
    }
    let z = crate::dist::qnorm(0.975);
    let above = input
        .studies
        .iter()
        .filter(|s| s.yi - z * s.vi.sqrt() > 0.0)
        .count();
    let below = input
        .studies
        .iter()
        .filter(|s| s.yi + z * s.vi.sqrt() < 0.0)
        .count();
    let conflict = above > 0 && below > 0;
    let ci_excludes_0 = input.ci.0 > 0.0 || input.ci.1 < 0.0;
    let pi_signal = match input.pi {
        Some((lo, hi)) => ci_excludes_0 && lo <= 0.0 && hi >= 0.0,
        None => false,
    };
    let i2 = input.i2.unwrap_or(0.0);
    let i2_signal = i2 >= o.i2_serious;
    let mut data = vec![match input.i2 {
        Some(v) => format!("I² = {v:.0}%"),
        None => "I² not computed".into(),
    }];
    data.push(match input.pi {
        Some((lo, hi)) => format!(
            "PI [{}, {}] {} 0, CI {} 0",
            n2(lo),
            n2(hi),
            if lo <= 0.0 && hi >= 0.0 {
                "includes"
            } else {
                "excludes"
            },
            if ci_excludes_0 {
                "excludes"
            } else {
                "includes"
            }
        ),
        None => "no prediction interval".into(),
    });
    data.push(format!(
        "{above} study CI(s) above 0, {below} below 0 (95%)"
    ));
    let verdict = if i2 >= o.i2_very_serious && (pi_signal || conflict) {
        Verdict::VerySerious
    } else if i2_signal || pi_signal || conflict {
        Verdict::Serious
    } else {
        Verdict::NotSerious
    };
    (rule, data.join("; "), verdict)
}

fn indirectness(input: &GradeInput, o: &GradeOptions) -> Judged {
    let rule = format!(
        "signals: region-prone population, girth instead of fat, a high-severity energy-expenditure confound; −1 when studies with any signal carry ≥ {} of the weight, −2 when studies with two or more kinds do",
        pct(o.indirect_serious_share)
    );
    let any = input.share(|s| !s.indirectness_kinds().is_empty());
    let two = input.share(|s| s.indirectness_kinds().len() >= 2);
    let mut kinds: Vec<&str> = input
        .studies
        .iter()
        .flat_map(|s| s.indirectness_kinds())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let reason = if kinds.is_empty() {
        "no study has an indirectness signal".to_string()
    } else {
        format!(
            "studies with a signal carry {} of the weight, with two or more {} ({})",
            pct(any),
            pct(two),
            kinds.join(", ")
        )
    };
    let t = o.indirect_serious_share - 1e-12;
    let verdict = if two >= t {
        Verdict::VerySerious
    } else if any >= t {
        Verdict::Serious
    } else {
        Verdict::NotSerious
    };
    (rule, reason, verdict)
}

fn imprecision(input: &GradeInput, o: &GradeOptions, ois: &Ois) -> Judged {
    let d = o.smallest_worthwhile;
    let rule = format!(
        "−1 when the CI includes −{d}, 0 or +{d} (δ = smallest worthwhile SMD) or the participants fall short of the optimal information size ({} participants: {}); −2 when the CI includes both −{d} and +{d}",
        ois.total, ois.formula
    );
    let (lo, hi) = input.ci;
    let inside = |t: f64| lo < t && t < hi;
    let crossed: Vec<String> = [-d, 0.0, d]
        .into_iter()
        .filter(|&t| inside(t))
        .map(thr)
        .collect();
    let (n, missing) = input.participants();
    let ois_met = n >= ois.total;
    let ci_verdict = if inside(-d) && inside(d) {
        Verdict::VerySerious
    } else if !crossed.is_empty() {
        Verdict::Serious
    } else {
        Verdict::NotSerious
    };
    let mut reason = format!(
        "CI [{}, {}] {}",
        n2(lo),
        n2(hi),
        if crossed.is_empty() {
            "includes none of the thresholds".to_string()
        } else {
            format!("includes {}", crossed.join(" and "))
        }
    );
    reason.push_str(&format!(
        "; {}{n} participants, {} the OIS of {}",
        if missing > 0 { "at least " } else { "" },
        if ois_met { "reaching" } else { "short of" },
        ois.total
    ));
    if missing > 0 {
        reason.push_str(&format!(" ({missing} effect(s) without n)"));
    }
    let verdict = match ci_verdict {
        Verdict::NotSerious if !ois_met => Verdict::Serious,
        v => v,
    };
    (rule, reason, verdict)
}

fn publication_bias(input: &GradeInput, o: &GradeOptions) -> Judged {
    let rule = format!(
        "assessed from {} studies up (Cochrane Handbook §13.3.5.4); −1 when Egger's regression test gives p < {}",
        o.pub_bias_min_k, o.pub_bias_alpha
    );
    let studies = input.n_studies();
    if studies < o.pub_bias_min_k {
        return (
            rule,
            format!(
                "{studies} stud{}: not assessable",
                if studies == 1 { "y" } else { "ies" }
            ),
            Verdict::NotAssessable,
        );
    }
    let yi: Vec<f64> = input.studies.iter().map(|s| s.yi).collect();
    let vi: Vec<f64> = input.studies.iter().map(|s| s.vi).collect();
    let test = RmaOptions::default()
        .check()
        .and_then(|opts| regtest(&yi, &vi, RegtestModel::Lm, &opts));
    match test {
        Ok(t) if t.pval < o.pub_bias_alpha => (
            rule,
            format!("Egger p = {:.3}: funnel asymmetry suspected", t.pval),
            Verdict::Serious,
        ),
        Ok(t) => (
            rule,
            format!("Egger p = {:.3}: no funnel asymmetry detected", t.pval),
            Verdict::NotSerious,
        ),
        Err(e) => (
            rule,
            format!("Egger's test failed ({e}): not assessable"),
            Verdict::NotAssessable,
        ),
    }
}

/// GRADE's risk-of-bias scale from a RoB 2 or ROBINS-I judgement:
/// ROBINS-I's moderate counts as some concerns, serious and critical as
/// high (Schünemann et al. 2019, *J Clin Epidemiol* 111:105–114: ROBINS-I
/// judgements map onto GRADE's risk-of-bias levels).
pub fn rob_overall(j: RobJudgement) -> RobOverall {
    match j {
        RobJudgement::Low => RobOverall::Low,
        RobJudgement::SomeConcerns | RobJudgement::Moderate => RobOverall::SomeConcerns,
        RobJudgement::High | RobJudgement::Serious | RobJudgement::Critical => RobOverall::High,
        RobJudgement::NoInformation => RobOverall::NoInformation,
    }
}

/// The GRADE input of the spot dataset's primary analysis: one
/// [`GradeStudy`] per pooled row, weighted as in the fit.
///
/// - Randomisation and risk of bias come from the row's risk-of-bias
///   columns ([`crate::analysis::rob::assess`]): `rob_tool = rob2` is
///   randomised, `robins_i` is not; the overall judgement maps through
///   [`rob_overall`]. A row without `rob_tool` is "not recorded" (counted as
///   non-randomised) with no information.
/// - Indirectness signals come from the confound flags (`REGION_PRONE`,
///   high-severity `EE_*`) and the method (circumference = girth). An
///   energy-expenditure flag already feeds the RoB deviations domain (D2) of
///   an assessed row, so it counts as indirectness only for a row without a
///   risk-of-bias assessment: the same flag never takes two levels off.
pub fn spot_grade_input(
    ds: &SpotDataset,
    pa: &PrimaryAnalysis,
    flag_opts: &ConfoundOptions,
) -> GradeInput {
    let fit = &pa.fit;
    let rows_by_line = crate::data::ByLine::new(&ds.rows, |r| r.line);
    let studies = pa
        .selection
        .used
        .iter()
        .filter_map(|u| {
            let row = rows_by_line.get(u.line)?;
            let flags = confounds::flags(row, Some(&u.effect), flag_opts);
            let assessment = crate::analysis::rob::assess(row, &flags);
            let (randomisation, rob) = match &assessment {
                Some(a) if a.tool == RobTool::Rob2 => {
                    (Randomisation::Randomised, rob_overall(a.overall))
                }
                Some(a) => (Randomisation::NotRandomised, rob_overall(a.overall)),
                None => (Randomisation::NotRecorded, RobOverall::NoInformation),
            };
            Some(GradeStudy {
                label: u.label.clone(),
                study_id: u.study_id.clone(),
                randomisation,
                rob,
                weight: fit.weight_percent(u.effect.vi),
                yi: u.effect.yi,
                vi: u.effect.vi,
                n: u.n,
                region_prone: flags.iter().any(|f| f.code == "REGION_PRONE"),
                girth: row.method == Some(AssessmentMethod::Circumference),
                ee_confound: assessment.is_none()
                    && flags
                        .iter()
                        .any(|f| f.is_ee() && f.severity == Severity::High),
            })
        })
        .collect();
    GradeInput {
        outcome: "regional fat, primary outcome (exercise trials)".into(),
        studies,
        estimate: fit.estimate,
        ci: (fit.ci_lb, fit.ci_ub),
        pi: (fit.k >= 2).then_some((fit.pi_lb, fit.pi_ub)),
        i2: fit.i2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each overall judgement round-trips through the codebook's name, and
    /// a ROBINS-I level (not on the RoB 2 overall scale) is not one.
    #[test]
    fn overall_judgements_take_the_codebook_names() {
        for o in [
            RobOverall::Low,
            RobOverall::SomeConcerns,
            RobOverall::High,
            RobOverall::NoInformation,
        ] {
            assert_eq!(RobOverall::from_name(o.judgement().as_str()), Some(o));
        }
        assert_eq!(
            RobOverall::from_name("some_concerns"),
            Some(RobOverall::SomeConcerns)
        );
        assert_eq!(RobOverall::from_name("moderate"), None);
        assert_eq!(RobOverall::from_name("Low"), None);
    }
}
