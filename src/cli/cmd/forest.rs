//! `spotmeta forest [FILE] --out F`: draw a forest plot (PNG or SVG). For the
//! spot-reduction dataset (the default) it draws the primary analysis; for any
//! other table the model chosen with the same options as `rma`. `--by COL`
//! adds subgroups with their own diamonds; `--rob` a risk-of-bias
//! traffic-light column (issue #17).

use crate::cli::args::{DEFAULT_DATASET, InputArgs, ModelArgs, PrimaryRulesArgs, review_rules};
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use spotmeta::analysis::confounds::ConfoundOptions;
use spotmeta::analysis::multilevel_primary::{AllOutcomes, all_outcomes};
use spotmeta::analysis::primary::{PrimaryAnalysis, Selection, primary_analysis};
use spotmeta::analysis::rules::ReviewRules;
use spotmeta::analysis::sensitivity::{Sensitivity, sensitivity};
use spotmeta::analysis::{Tau2Ci, confint_or_why};
use spotmeta::data::{SpotDataset, Table, is_spot_header, load_spot};
use spotmeta::escalc::spot::SpotOptions;
use spotmeta::escalc::table::effects;
use spotmeta::output::forest::{
    ForestSpec, GENERIC_XLAB, SPOT_XLAB, forest_data, forest_data_three_level, forest_png,
    forest_svg, spot_studies,
};
use spotmeta::output::layout::{ForestData, ForestStudy, ForestStyle, forest_layout};
use spotmeta::{RmaFit, TestKind, ValidRmaOptions, rma};
use std::path::{Path, PathBuf};

/// Image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    /// PNG bitmap.
    Png,
    /// SVG vector graphic.
    Svg,
}

/// Arguments of `spotmeta forest`.
#[derive(Debug, Args)]
pub struct ForestArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    rules: PrimaryRulesArgs,
    /// Column whose values define subgroups (each gets a heading and a diamond).
    #[arg(long, value_name = "COL")]
    by: Option<String>,
    /// Axis label; " · " splits it into left and right halves around zero.
    #[arg(long)]
    xlab: Option<String>,
    /// On the spot dataset, plot the one-outcome-per-cohort analysis even when
    /// the all-outcomes three-level model is the primary analysis (it is
    /// once it runs with enough studies and CR2 df; see --min-clusters).
    #[arg(long)]
    one_per_study: bool,
    /// Image width in pixels (the height grows with the number of rows).
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(600..=4000))]
    width: u32,
    /// Image format (default: from the extension of --out).
    #[arg(long, value_enum)]
    format: Option<ImageFormat>,
    /// Add a risk-of-bias traffic-light column (D1-D5, D1-D7 with ROBINS-I,
    /// and overall) from the dataset's rob_* columns (spot dataset only).
    #[arg(long)]
    rob: bool,
    /// Colours of the traffic lights (symbols are drawn in both).
    #[arg(long, value_enum, default_value_t = RobPalette::Cochrane, requires = "rob")]
    rob_palette: RobPalette,
    /// Output file (written atomically).
    #[arg(long, short)]
    out: PathBuf,
}

/// Colours of the risk-of-bias plots (robvis's two palettes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RobPalette {
    /// Cochrane: green, yellow, red, dark red, blue.
    Cochrane,
    /// Colour-blind safe: light to dark orange, white for no information.
    Colourblind,
}

impl From<RobPalette> for spotmeta::output::rob::Palette {
    fn from(p: RobPalette) -> Self {
        match p {
            RobPalette::Cochrane => Self::Cochrane,
            RobPalette::Colourblind => Self::Colourblind,
        }
    }
}

/// The risk-of-bias assessment of each study drawn in `p.forest` (drawing
/// order) and its weight in percent; an error when `p` is not the
/// spot-reduction dataset.
pub fn rob_of_drawn(
    p: &Prepared,
) -> anyhow::Result<Vec<(Option<spotmeta::analysis::rob::RobAssessment>, f64)>> {
    let (Some(ds), Some(pa)) = (&p.spot, &p.primary) else {
        bail!(
            "{}: risk of bias needs the spot-reduction dataset (its rob_* columns); this table has none",
            p.path.display()
        );
    };
    let mut used = pa.selection.used.clone();
    if let Some(all) = &p.all_outcomes {
        used.extend(all.rows.iter().cloned());
    }
    let drawn: Vec<&ForestStudy> = p.forest.groups.iter().flat_map(|g| &g.studies).collect();
    let yv: Vec<(f64, f64)> = drawn.iter().map(|s| (s.yi, s.vi)).collect();
    let rob =
        spotmeta::analysis::rob::for_drawn_studies(ds, &used, &yv, &ConfoundOptions::default());
    Ok(rob
        .into_iter()
        .zip(drawn.iter().map(|s| s.weight))
        .collect())
}

/// Everything the plots and the report need, computed from one input file.
pub struct Prepared {
    /// The input file.
    pub path: PathBuf,
    /// Data rows in the file.
    pub n_rows: usize,
    /// The overall fit.
    pub fit: RmaFit,
    /// Its Q-profile CI for τ².
    pub tau2_ci: Option<Tau2Ci>,
    /// What the forest plot shows.
    pub forest: ForestData,
    /// The spot-reduction one-outcome-per-cohort analysis, when the input is
    /// that dataset.
    pub primary: Option<PrimaryAnalysis>,
    /// The spot-reduction all-outcomes three-level analysis (or why it did
    /// not run); when it ran, it is the primary analysis and `forest` shows it.
    pub all_outcomes: Option<AllOutcomes>,
    /// The spot-reduction dataset as loaded (so callers need not read it again).
    pub spot: Option<SpotDataset>,
    /// Its confound flags and sensitivity analyses (spot dataset, report
    /// only).
    pub sensitivity: Option<Sensitivity>,
    /// The checked model options used for the fit.
    pub opts: ValidRmaOptions,
    /// Rows of a generic table left out (line, label, reason).
    pub omitted: Vec<(u64, String, String)>,
    /// File lines of the pooled rows, in drawing order.
    pub lines: Vec<u64>,
}

/// Load `input`, fit the model and collect the forest-plot data (and, for
/// the spot-reduction dataset with `with_sensitivity`, the sensitivity
/// analyses the report shows). `rules` decide whether the three-level model
/// is primary.
pub fn prepare(
    input: &InputArgs,
    model: &ModelArgs,
    rules: &ReviewRules,
    by: Option<&str>,
    xlab: Option<&str>,
    with_sensitivity: bool,
    one_per_study: bool,
) -> anyhow::Result<Prepared> {
    let path = input
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATASET));
    let table = Table::read(&path)?;
    let by_values = |lines: &[u64]| -> anyhow::Result<Option<Vec<String>>> {
        let Some(col) = by else { return Ok(None) };
        let Some(values) = table.text(col) else {
            bail!(
                "{}: no column `{col}` for --by; the header has: {}",
                path.display(),
                table.headers.join(", ")
            );
        };
        Ok(Some(
            lines
                .iter()
                .map(|l| {
                    table
                        .rows
                        .iter()
                        .position(|r| r.line == *l)
                        .map(|i| values[i].trim().to_string())
                        .unwrap_or_default()
                })
                .collect(),
        ))
    };
    if is_spot_header(&table.headers) {
        let opts = model.options(TestKind::Knha)?;
        let ds = load_spot(&path)?;
        let pa = primary_analysis(&ds, &SpotOptions::default(), &opts)?;
        let all = all_outcomes(&ds, &SpotOptions::default(), &opts, rules)?;
        let spec = |legend| ForestSpec {
            effect_label: spotmeta::escalc::spot::SPOT_METRIC_LABEL.into(),
            xlab: xlab.unwrap_or(SPOT_XLAB).into(),
            legend,
        };
        // The forest shows the primary analysis: all outcomes with the
        // three-level model + CR2 when it is primary, else one outcome per
        // study.
        let (lines, forest) = match all.result.done().filter(|_| all.primary && !one_per_study) {
            Some(t) => {
                let sel = Selection {
                    used: all.rows.clone(),
                    left_out: Vec::new(),
                };
                let (studies, legend) = spot_studies(&ds, &sel, &ConfoundOptions::default(), true);
                let lines: Vec<u64> = sel.used.iter().map(|u| u.line).collect();
                let clusters: Vec<String> = sel.used.iter().map(|u| u.study_id.clone()).collect();
                let headings: Vec<String> = sel.used.iter().map(|u| u.label.clone()).collect();
                let keys = by_values(&lines)?;
                let forest = forest_data_three_level(
                    studies,
                    &clusters,
                    &headings,
                    keys.as_deref(),
                    t,
                    &opts,
                    &spec(legend),
                )?;
                (lines, forest)
            }
            None => {
                let (studies, legend) =
                    spot_studies(&ds, &pa.selection, &ConfoundOptions::default(), false);
                let lines: Vec<u64> = pa.selection.used.iter().map(|u| u.line).collect();
                let keys = by_values(&lines)?;
                let forest = forest_data(studies, keys.as_deref(), &pa.fit, &opts, &spec(legend))?;
                (lines, forest)
            }
        };
        let sens = if with_sensitivity {
            Some(sensitivity(
                &ds,
                &SpotOptions::default(),
                &ConfoundOptions::default(),
                &opts,
            )?)
        } else {
            None
        };
        Ok(Prepared {
            sensitivity: sens,
            opts,
            lines,
            path,
            n_rows: ds.rows.len(),
            fit: pa.fit,
            tau2_ci: pa.tau2_ci,
            forest,
            primary: Some(pa),
            all_outcomes: Some(all),
            spot: Some(ds),
            omitted: Vec::new(),
        })
    } else {
        let opts: ValidRmaOptions = model.options(TestKind::Z)?;
        let rows = effects(&table, &super::rma::source(input), input.slab.as_deref())?;
        let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
        let yi: Vec<f64> = used.iter().map(|r| r.yi.unwrap()).collect();
        let vi: Vec<f64> = used.iter().map(|r| r.vi.unwrap()).collect();
        let fit = rma(&yi, &vi, &opts)?;
        let (tau2_ci, why) = confint_or_why(&yi, &vi, &fit, 1e-12);
        if let Some(why) = why {
            eprintln!("warning: CI for tau^2 (Q-profile) {why}; the plot omits it");
        }
        let studies = used
            .iter()
            .map(|r| ForestStudy::new(r.label.clone(), None, r.yi.unwrap(), r.vi.unwrap()))
            .collect();
        let lines: Vec<u64> = used.iter().map(|r| r.line).collect();
        let effect_label = match input.measure {
            Some(m) => m.as_str().to_string(),
            None => "Estimate".to_string(),
        };
        let spec = ForestSpec {
            effect_label,
            xlab: xlab.unwrap_or(GENERIC_XLAB).into(),
            legend: Vec::new(),
        };
        let keys = by_values(&lines)?;
        let forest = forest_data(studies, keys.as_deref(), &fit, &opts, &spec)?;
        let omitted = rows
            .iter()
            .filter_map(|r| {
                r.omitted
                    .as_ref()
                    .map(|why| (r.line, r.label.clone(), why.clone()))
            })
            .collect();
        Ok(Prepared {
            lines,
            path,
            n_rows: table.rows.len(),
            fit,
            tau2_ci,
            forest,
            primary: None,
            all_outcomes: None,
            spot: None,
            sensitivity: None,
            opts,
            omitted,
        })
    }
}

/// The image format: `given`, else from the extension of `out`.
pub fn format_of(out: &Path, given: Option<ImageFormat>) -> anyhow::Result<ImageFormat> {
    if let Some(f) = given {
        return Ok(f);
    }
    match out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => Ok(ImageFormat::Png),
        Some("svg") => Ok(ImageFormat::Svg),
        _ => bail!(
            "cannot tell the image format from `{}`; end the file name in .png or .svg, or pass --format png|svg",
            out.display()
        ),
    }
}

/// Run `spotmeta forest`.
pub fn run(a: ForestArgs) -> anyhow::Result<()> {
    let format = format_of(&a.out, a.format)?;
    let rules = review_rules(Some(&a.rules), None)?;
    let p = prepare(
        &a.input,
        &a.model,
        &rules,
        a.by.as_deref(),
        a.xlab.as_deref(),
        false,
        a.one_per_study,
    )?;
    let layout = forest_layout(&p.forest, &ForestStyle { width: a.width });
    let bytes = if a.rob {
        use spotmeta::output::rob::{forest_rob_png, forest_rob_svg, traffic_light};
        let rob: Vec<_> = rob_of_drawn(&p)?.into_iter().map(|(a, _)| a).collect();
        let l = traffic_light(&layout, &rob, a.rob_palette.into());
        match format {
            ImageFormat::Png => forest_rob_png(&l)?,
            ImageFormat::Svg => forest_rob_svg(&l)?.into_bytes(),
        }
    } else {
        match format {
            ImageFormat::Png => forest_png(&layout)?,
            ImageFormat::Svg => forest_svg(&layout)?.into_bytes(),
        }
    };
    spotmeta::output::guard::write_output("--out", &a.out, &bytes, &[&p.path])
        .with_context(|| format!("writing {}", a.out.display()))?;
    Ok(())
}
