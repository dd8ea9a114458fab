//! Argument groups shared by several commands, and their conversion into the
//! library's checked option types.

use clap::{Args, ValueEnum};
use spotmeta::analysis::confounds::ConfoundOptions;
use spotmeta::analysis::rules::ReviewRules;
use spotmeta::data::fsguard::DEFAULT_WAIT;
use spotmeta::escalc::table::{RawColumns, Source};
use spotmeta::review::{Dataset, Input, ModelChoice, Settings};
use spotmeta::{Method, TestKind};
use std::path::PathBuf;
use std::time::Duration;

pub use spotmeta::data::bundled::{dataset_path, default_report_dir, editable_dataset};

/// Renamed flags: (subcommand, old spelling, new spelling). The old one is
/// still accepted (a clap alias) and [`note_deprecated`] says so on stderr.
pub const DEPRECATED: [(&str, &str, &str); 4] = [
    ("add", "--method", "--assessment-method"),
    ("add", "--report-dir", "--out"),
    ("remove", "--report-dir", "--out"),
    ("simulate", "--vi", "--vi-range"),
];

/// A note on stderr for every deprecated flag spelling in `args` (the
/// process arguments, program name first).
pub fn note_deprecated(args: &[String]) {
    let Some(command) = args.iter().skip(1).find(|a| !a.starts_with('-')) else {
        return;
    };
    for (cmd, old, new) in DEPRECATED {
        let used = args
            .iter()
            .any(|a| a == old || a.starts_with(&format!("{old}=")));
        if cmd == command && used {
            eprintln!("note: `spotmeta {cmd} {old}` is deprecated; use {new} (same meaning)");
        }
    }
}

/// `--wait SECONDS`, shared by `add`, `remove` (the dataset lock) and
/// `report` (the output directory lock).
#[derive(Debug, Clone, Args)]
pub struct WaitArg {
    /// How long to wait for another spotmeta that holds the same lock (on
    /// the dataset, or on the output directory; its pid is shown while
    /// waiting) before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_WAIT.as_secs_f64(), value_parser = parse_wait)]
    wait: f64,
}

fn parse_wait(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err("give a number of seconds from 0 to 86400".into()),
    }
}

impl WaitArg {
    /// The limit.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.wait)
    }
}

/// Where the effect sizes come from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// CSV file (default: the bundled datasets/spot_reduction.csv).
    pub file: Option<PathBuf>,
    /// Column holding the effect sizes.
    #[arg(long, default_value = "yi")]
    pub yi: String,
    /// Column holding the sampling variances.
    #[arg(long, default_value = "vi", conflicts_with = "sei")]
    pub vi: String,
    /// Column holding standard errors instead of variances (vi = sei²).
    #[arg(long)]
    pub sei: Option<String>,
    /// Compute effect sizes from raw columns (metafor names: m1i, sd1i, n1i,
    /// m2i, sd2i, n2i for MD/SMD; m1i, m2i, sd1i, [sd2i,] ni, ri for SMCR/SMCC).
    #[arg(long, value_parser = parse::<spotmeta::escalc::Measure>)]
    pub measure: Option<spotmeta::escalc::Measure>,
    /// Column with study labels (default: `slab`, `study` or `label` if present).
    #[arg(long)]
    pub slab: Option<String>,
    #[command(flatten)]
    pub raw: RawColumnArgs,
}

/// metafor's raw-data arguments as column-mapping flags (`escalc("SMD",
/// m1i = mean_ex, ..., data = d)` is `--measure SMD --m1i mean_ex …`). An
/// unmapped argument is read from the column of its own name.
#[derive(Debug, Clone, Default, Args)]
pub struct RawColumnArgs {
    /// Column with the group-1 (or post-test) means [metafor: m1i].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub m1i: Option<String>,
    /// Column with the group-1 (or post-test) SDs [metafor: sd1i].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub sd1i: Option<String>,
    /// Column with the group-1 sample sizes [metafor: n1i].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub n1i: Option<String>,
    /// Column with the group-2 (or pre-test) means [metafor: m2i].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub m2i: Option<String>,
    /// Column with the group-2 (or pre-test) SDs [metafor: sd2i].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub sd2i: Option<String>,
    /// Column with the group-2 sample sizes [metafor: n2i].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub n2i: Option<String>,
    /// Column with the sample sizes of a one-group design [metafor: ni].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub ni: Option<String>,
    /// Column with the pre–post correlations [metafor: ri].
    #[arg(long, value_name = "COL", requires = "measure")]
    pub ri: Option<String>,
}

impl RawColumnArgs {
    /// The library's column map.
    pub fn columns(&self) -> RawColumns {
        let mut c = RawColumns::default();
        let given = [
            ("m1i", &self.m1i),
            ("sd1i", &self.sd1i),
            ("n1i", &self.n1i),
            ("m2i", &self.m2i),
            ("sd2i", &self.sd2i),
            ("n2i", &self.n2i),
            ("ni", &self.ni),
            ("ri", &self.ri),
        ];
        for (arg, col) in given {
            if let Some(col) = col {
                c.set(arg, col.clone())
                    .expect("every flag is one of RAW_ARGS");
            }
        }
        c
    }
}

impl InputArgs {
    /// The input file: FILE, or the bundled dataset when none is given.
    pub fn path(&self) -> PathBuf {
        dataset_path(self.file.as_ref())
    }

    /// Which columns hold the effect sizes.
    pub fn input(&self) -> Input {
        let source = match (&self.measure, &self.sei) {
            (Some(m), _) => Source::Raw {
                measure: *m,
                columns: self.raw.columns(),
            },
            (None, Some(sei)) => Source::YiSei {
                yi: self.yi.clone(),
                sei: sei.clone(),
            },
            (None, None) => Source::YiVi {
                yi: self.yi.clone(),
                vi: self.vi.clone(),
            },
        };
        Input {
            source,
            slab: self.slab.clone(),
        }
    }

    /// Load the file: the spot-reduction dataset or a plain table.
    pub fn load(&self) -> Result<Dataset, spotmeta::Error> {
        Dataset::load(&self.path(), self.input())
    }
}

/// Parse a flag's value with the library's `FromStr` (its error is clap's
/// message): `value_parser = parse::<Method>`.
pub fn parse<T: std::str::FromStr<Err = spotmeta::Error>>(s: &str) -> Result<T, String> {
    // clap names the flag and the value already; an option error adds only
    // what is wrong and what to give.
    s.parse().map_err(|e: spotmeta::Error| match e {
        spotmeta::Error::Option { message, .. } => message,
        e => e.to_string(),
    })
}

/// Model choice (metafor `rma(method=, test=, level=)`).
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// tau^2 estimator: REML, DL, HE, HS, SJ, ML, EB, PM, or FE (common effect).
    #[arg(long, default_value = "REML", value_parser = parse::<Method>)]
    pub method: Method,
    /// Test and CI for the pooled effect: z, knha (Knapp-Hartung) or adhoc
    /// (truncated KH). Default: knha for the spot-reduction dataset (its
    /// primary analysis), z otherwise (as metafor).
    #[arg(long, value_parser = parse::<TestKind>)]
    pub test: Option<TestKind>,
    /// Confidence level in percent.
    #[arg(long, default_value_t = ModelChoice::default().level)]
    pub level: f64,
}

impl ModelArgs {
    /// The model choice (the test defaults by dataset).
    pub fn choice(&self) -> ModelChoice {
        ModelChoice {
            method: self.method,
            test: self.test,
            level: self.level,
        }
    }

    /// `base` with this model choice, checked before any file is read.
    pub fn settings_with(&self, base: Settings) -> Result<Settings, spotmeta::Error> {
        let s = Settings {
            model: self.choice(),
            ..base
        };
        s.check()?;
        Ok(s)
    }

    /// The default settings with this model choice, checked.
    pub fn settings(&self) -> Result<Settings, spotmeta::Error> {
        self.settings_with(Settings::default())
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text (like metafor's print methods).
    Text,
    /// One JSON object.
    Json,
    /// CSV (tables only).
    Csv,
}

/// Where and how to write results (text or JSON; commands that also write
/// CSV take [`TableOutputArgs`]).
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format: text (like metafor's print methods) or json (one
    /// object, schema/spotmeta.schema.json).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = parse_text_json)]
    pub format: Format,
    /// Write to this file instead of standard output (written atomically).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--format` of commands that write text or JSON only.
pub fn parse_text_json(s: &str) -> Result<Format, String> {
    match s {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        _ => Err(format!("`{s}`: this command writes text or json")),
    }
}

/// [`OutputArgs`] for commands that write a table and so also CSV.
#[derive(Debug, Clone, Args)]
pub struct TableOutputArgs {
    /// Output format: text, json (schema/spotmeta.schema.json) or csv.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    pub format: Format,
    /// Write to this file instead of standard output (written atomically).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// When the all-outcomes three-level + CR2 model may be primary (issue #16;
/// library [`spotmeta::analysis::rules::ReviewRules`], defaults documented
/// there).
#[derive(Debug, Clone, Args)]
pub struct PrimaryRulesArgs {
    /// Studies (clusters) needed before the all-outcomes three-level + CR2
    /// model may be the primary analysis.
    #[arg(long, value_name = "N", default_value_t = ReviewRules::default().min_clusters)]
    pub min_clusters: usize,
    /// CR2 Satterthwaite df needed before the three-level + CR2 model may be
    /// the primary analysis (Tipton 2015: below 4 it is unreliable).
    #[arg(long, value_name = "DF", default_value_t = ReviewRules::default().min_cr2_df)]
    pub min_cr2_df: f64,
}

/// When the small-study methods run (issue #16).
#[derive(Debug, Clone, Args)]
pub struct SmallStudyArgs {
    /// Studies needed before Egger's test, trim and fill and the funnel
    /// plot's significance contours run (Cochrane Handbook §13.3.5.4: 10).
    #[arg(long, value_name = "K", default_value_t = ReviewRules::default().small_study_min_k)]
    pub small_study_min_k: usize,
    /// Run the small-study methods with fewer studies than that anyway,
    /// labelled underpowered.
    #[arg(long)]
    pub small_study: bool,
}

/// Checked rules from the groups a command has (the others keep their
/// defaults, which that command does not use).
pub fn review_rules(
    primary: Option<&PrimaryRulesArgs>,
    small: Option<&SmallStudyArgs>,
) -> Result<ReviewRules, spotmeta::Error> {
    let mut r = ReviewRules::default();
    if let Some(p) = primary {
        r.min_clusters = p.min_clusters;
        r.min_cr2_df = p.min_cr2_df;
    }
    if let Some(s) = small {
        r.small_study_min_k = s.small_study_min_k;
        r.force_small_study = s.small_study;
    }
    r.check()
}

/// Thresholds of the confound rules (defaults: the library's
/// [`ConfoundOptions::default`], one source).
#[derive(Debug, Clone, Args)]
pub struct ThresholdArgs {
    /// Session (or weekly) minutes ratio that raises an EE flag.
    #[arg(long, default_value_t = ConfoundOptions::default().session_ratio)]
    pub session_ratio: f64,
    /// Minutes per session apart that raise EE_SESSION_LENGTH.
    #[arg(long, default_value_t = ConfoundOptions::default().session_diff_min)]
    pub session_diff: f64,
    /// Minutes per week apart that raise EE_WEEKLY_VOLUME.
    #[arg(long, default_value_t = ConfoundOptions::default().weekly_diff_min)]
    pub weekly_diff: f64,
    /// Participants per arm below which SMALL_N is raised.
    #[arg(long, default_value_t = ConfoundOptions::default().small_n)]
    pub small_n: u32,
}

impl ThresholdArgs {
    /// The library options, checked.
    pub fn options(&self) -> Result<ConfoundOptions, spotmeta::Error> {
        ConfoundOptions {
            session_ratio: self.session_ratio,
            session_diff_min: self.session_diff,
            weekly_diff_min: self.weekly_diff,
            small_n: self.small_n,
        }
        .check()
    }
}
