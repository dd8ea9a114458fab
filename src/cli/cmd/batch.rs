//! `spotmeta batch FILE --group COL[,COL] --out F`: pool every group of a long
//! table (CSV or Parquet) in parallel and write one row per group (the group
//! columns, the `rma --format json` keys, `status`). The work is
//! [`spotmeta::batch::run`]; this file parses the arguments, draws the
//! progress bar (on a terminal, once a run takes longer than a second) and
//! writes the table.

use crate::cli::args::ModelArgs;
use crate::cli::cmd::bayes::{parse_mu_prior, parse_tau_prior};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spotmeta::TestKind;
use spotmeta::batch::{
    BatchColumns, BatchJob, BatchOptions, BatchProgress, TableFormat, Variance, write_table,
};
use spotmeta::data::io::refuse_input_as_output;
use spotmeta::model::bayes::{BayesOptions, IntervalKind, MuPrior, TauPrior};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// Arguments of `spotmeta batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Long table, one effect size per row: CSV (header line) or Parquet, by extension.
    pub file: PathBuf,
    /// Column(s) that define a group, comma-separated (one meta-analysis per group).
    #[arg(long, value_delimiter = ',', required = true, value_name = "COL[,COL]")]
    pub group: Vec<String>,
    /// Column holding the effect sizes.
    #[arg(long, default_value = "yi")]
    pub yi: String,
    /// Column holding the sampling variances.
    #[arg(long, default_value = "vi", conflicts_with = "sei")]
    pub vi: String,
    /// Column holding standard errors instead of variances (vi = sei²).
    #[arg(long)]
    pub sei: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Skip the Q-profile CIs for τ², τ, I², H² (their columns are then empty).
    #[arg(long)]
    pub no_confint: bool,
    /// Also fit every group with the Bayesian random-effects model of
    /// `spotmeta bayes` and append its bayes_* columns.
    #[arg(long)]
    pub bayes: bool,
    /// With --bayes: prior for tau (as `spotmeta bayes --prior`).
    #[arg(long, requires = "bayes", default_value = "half-normal:0.5", value_parser = parse_tau_prior)]
    pub prior: TauPrior,
    /// With --bayes: prior for mu (as `spotmeta bayes --mu-prior`).
    #[arg(long, requires = "bayes", default_value = "uniform", value_parser = parse_mu_prior)]
    pub mu_prior: MuPrior,
    /// With --bayes: smallest worthwhile effect a, for P(mu > a).
    #[arg(
        long,
        requires = "bayes",
        default_value_t = 0.2,
        allow_negative_numbers = true
    )]
    pub worthwhile: f64,
    /// Read a CSV table larger than memory in blocks: closed-form methods
    /// (FE, DL, HE, HS, SJ) with --no-confint keep running sums per group
    /// (rows in any order); otherwise the rows of each group must be
    /// together (sorted by group).
    #[arg(long)]
    pub stream: bool,
    /// Output table file: .csv or .parquet (written atomically; nothing is written on error).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
}

/// A progress bar that stays hidden unless stderr is a terminal and the run
/// has lasted more than a second.
struct Progress {
    bar: ProgressBar,
    start: Instant,
    tty: bool,
    shown: AtomicBool,
}

impl Progress {
    fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        Progress {
            bar,
            start: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            shown: AtomicBool::new(false),
        }
    }

    /// Show the bar if the run is slow enough (idempotent).
    fn maybe_show(&self) {
        if self.tty
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
    }
}

impl BatchProgress for Progress {
    fn pooling(&self, groups: usize) {
        self.bar.set_length(groups as u64);
        self.bar.set_position(0);
        if let Ok(style) =
            ProgressStyle::with_template("pooling {bar:40} {pos}/{len} groups ({eta} left)")
        {
            self.bar.set_style(style);
        }
    }

    fn done(&self, n: usize) {
        self.bar.inc(n as u64);
    }
}

/// Run `spotmeta batch`.
pub fn run(a: BatchArgs) -> anyhow::Result<()> {
    // Check everything cheap before reading anything.
    let out_format = TableFormat::from_path(&a.out)?;
    refuse_input_as_output("--out", &a.out, &[&a.file])?;
    let opts = BatchOptions {
        rma: a.model.choice().options(TestKind::Z)?,
        confint: !a.no_confint,
    };
    let bayes = if a.bayes {
        Some(
            BayesOptions {
                tau_prior: a.prior,
                mu_prior: a.mu_prior,
                level: a.model.level,
                worthwhile: a.worthwhile,
                interval: IntervalKind::Central,
            }
            .check()?,
        )
    } else {
        None
    };
    let job = BatchJob {
        input: a.file.clone(),
        columns: BatchColumns {
            groups: a.group.clone(),
            yi: a.yi.clone(),
            variance: match &a.sei {
                Some(s) => Variance::Sei(s.clone()),
                None => Variance::Vi(a.vi.clone()),
            },
        },
        options: opts,
        bayes,
        stream: a.stream,
    };
    let progress = Progress::new();
    progress
        .bar
        .set_message(format!("reading {}", a.file.display()));
    // The watcher wakes every 50 ms to show the bar once a run is slow, and
    // at once when the work ends (the sender is dropped): a plain sleep
    // loop kept every run waiting up to 50 ms for its last nap (#19).
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let mut outcome = std::thread::scope(|s| {
        let progress = &progress;
        s.spawn(move || {
            while let Err(RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(50))
            {
                progress.maybe_show();
            }
        });
        let _stop = stop;
        spotmeta::batch::run(&job, progress)
    })?;
    progress.bar.finish_and_clear();
    write_table(&a.out, &mut outcome.table, &[&a.file])?;
    println!(
        "{}",
        spotmeta::output::text::batch::summary(&outcome, &a.out, out_format)
    );
    Ok(())
}
