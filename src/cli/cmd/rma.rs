//! `spotmeta rma [FILE]`: pool effect sizes (metafor `rma`) and print the
//! result as text (like `print.rma`) or JSON. Given the spot-reduction dataset
//! (the default), runs its primary analysis and lists the rows it used and
//! why the others were left out. `--mods`, `--multilevel`, `--robust` and
//! `--by` fit those models instead ([`spotmeta::review::models`]; a subgroup
//! analysis is rendered by [`spotmeta::output::subgroup`]).

use crate::cli::args::{Format, InputArgs, ModelArgs, OutputArgs};
use clap::Args;
use spotmeta::output::{json, text};
use spotmeta::review::{self, ModelSpec, Plan};

/// Arguments of `spotmeta rma`.
#[derive(Debug, Args)]
pub struct RmaArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Moderators for a meta-regression, as an R formula (metafor `mods =`):
    /// "~ ablat + year", "~ a*b", "~ a:b", "~ factor(g)", "~ 0 + x" or
    /// "~ x - 1"; a comma-separated list of columns also works. Text
    /// columns are dummy-coded (treatment contrasts, first sorted level as
    /// reference). For the spot dataset `log_session_ratio` and
    /// `weekly_min_diff` are also available.
    #[arg(long, value_name = "FORMULA")]
    mods: Option<String>,
    /// Permutation test with this many permutations (metafor `permutest`):
    /// rows of X are permuted with --mods, the signs of yi are flipped
    /// without; exact (every distinct permutation once) when there are no
    /// more than this many.
    #[arg(long)]
    permutest: Option<usize>,
    /// Predicted values at new moderator values (metafor `predict(fit,
    /// newmods = )`), with --mods: `COLUMN=VALUE` pairs naming the formula's
    /// variables (e.g. `ablat=30,alloc=random`), or the values of the
    /// model's coefficient columns in order (e.g. `30,1`). Repeat for
    /// several rows.
    #[arg(long, value_name = "VALUES", requires = "mods")]
    newmods: Vec<String>,
    /// Seed of the random number generator (of the permutation test; default 1; only with --permutest).
    #[arg(long, requires = "permutest")]
    seed: Option<u64>,
    /// Three-level model (metafor `rma.mv(random = ~ 1 | CLUSTER/row)`):
    /// the column holding the cluster (e.g. study_id); `CLUSTER/INNER` is
    /// accepted when INNER identifies rows within each cluster. On the spot
    /// dataset, --multilevel and --robust pool every outcome (primary or
    /// not) of the included exercise trials.
    #[arg(long, value_name = "CLUSTER[/INNER]")]
    multilevel: Option<String>,
    /// Cluster-robust CR2 standard errors with Satterthwaite df, clustered by
    /// this column (metafor `robust(..., clubSandwich = TRUE)`).
    #[arg(long, value_name = "CLUSTER")]
    robust: Option<String>,
    /// Column whose values define subgroups: each gets its own fit
    /// (three-level with --multilevel), then the tests for subgroup
    /// differences: Q_M of metafor's `rma(mods = ~ factor(COL))` (or
    /// `rma.mv`) and Q_between of the separate fits.
    #[arg(long, value_name = "COL")]
    by: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `spotmeta rma`.
pub fn run(a: RmaArgs) -> anyhow::Result<()> {
    let settings = a.model.settings()?;
    let dataset = a.input.load()?;
    let spec = ModelSpec {
        mods: a.mods,
        permutest: a.permutest,
        newmods: a.newmods,
        seed: a.seed,
        multilevel: a.multilevel,
        robust: a.robust,
        by: a.by,
    };
    let plan = Plan::rma(spec, dataset.is_spot());
    let f = review::run(dataset, &settings, &plan)?;
    let text = match a.output.format {
        Format::Json => json::rma(&f)?,
        Format::Text | Format::Csv => text::rma::render(&f)?,
    };
    super::emit(a.output.out.as_deref(), &text, &[f.dataset.path()])
}
