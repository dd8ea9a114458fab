//! Stage 7 — the command line (declared only by `main.rs`; the library never
//! sees clap). One file per command under `cmd/`; shared argument groups in
//! [`args`]. A command turns its arguments into library settings, calls the
//! library (`review::run` for every command that analyses the dataset),
//! hands the result to an `output` renderer and writes it; it computes and
//! formats nothing itself.

pub mod args;
pub mod cmd;

use clap::{Parser, Subcommand};

/// spotmeta: a living meta-analysis of spot-reduction trials, with numbers
/// that match R metafor.
#[derive(Debug, Parser)]
#[command(name = "spotmeta", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pool effect sizes with a common- or random-effects model (metafor `rma`).
    Rma(cmd::rma::RmaArgs),
    /// Bayesian random effects for few studies (bayesmeta): posterior of mu and
    /// tau, P(mu > 0), P(mu > a worthwhile effect), shrinkage, prior sensitivity.
    Bayes(cmd::bayes::BayesArgs),
    /// Compute effect sizes and sampling variances per row (metafor `escalc`).
    Escalc(cmd::escalc::EscalcArgs),
    /// Validate the spot-reduction dataset against its codebook.
    Check(cmd::check::CheckArgs),
    /// Draw a forest plot (PNG or SVG; metafor `forest`).
    Forest(cmd::forest::ForestArgs),
    /// Write the one-page PNG report, plots, results.json and summary.md.
    Report(cmd::report::ReportArgs),
    /// Add a study row to the dataset safely (checked, atomic, locked).
    Add(Box<cmd::add::AddArgs>),
    /// Remove a study's rows from the dataset safely.
    Remove(cmd::add::RemoveArgs),
    /// Sign test and effects from p-values: synthesis without numbers.
    Vote(cmd::vote::VoteArgs),
    /// Albatross plot: every study by p-value, direction and n, over effect contours.
    Albatross(cmd::albatross::AlbatrossArgs),
    /// Risk of bias (RoB 2 / ROBINS-I) of every assessed row; --out draws the
    /// weighted summary bar chart (robvis rob_summary).
    Rob(cmd::rob::RobArgs),
    /// List the energy-expenditure confound flags of every dataset row.
    Flags(cmd::flags::FlagsArgs),
    /// Sensitivity of the pooled effect to confounds, plus leave-one-out,
    /// influence, cumulative, Egger and trim-and-fill diagnostics.
    Sensitivity(cmd::sensitivity::SensitivityArgs),
    /// Leave-one-out refits on any yi/vi table (metafor `leave1out`).
    Leave1out(cmd::diagnostics::DiagArgs),
    /// Influence diagnostics on any yi/vi table (metafor `influence`).
    Influence(cmd::diagnostics::DiagArgs),
    /// Cumulative meta-analysis ordered by a column (metafor `cumul(order = )`).
    Cumul(cmd::diagnostics::DiagArgs),
    /// Regression test for funnel-plot asymmetry (metafor `regtest`).
    Regtest(cmd::diagnostics::DiagArgs),
    /// Trim and fill (metafor `trimfill`, L0).
    Trimfill(cmd::diagnostics::DiagArgs),
    /// Pool every group of a long table (CSV or Parquet) in parallel; one row per group.
    Batch(cmd::batch::BatchArgs),
    /// Fit every subset of the studies (exact GOSH); plot I² against the estimate.
    Gosh(cmd::gosh::GoshArgs),
    /// PRISMA 2020 flow diagram from the review record beside the dataset and its statuses.
    Prisma(cmd::prisma::PrismaArgs),
    /// Monte-Carlo coverage of the z, Knapp-Hartung and truncated intervals and the prediction interval.
    Simulate(cmd::simulate::SimulateArgs),
}

/// Run the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Rma(a) => cmd::rma::run(a),
        Command::Bayes(a) => cmd::bayes::run(a),
        Command::Escalc(a) => cmd::escalc::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Forest(a) => cmd::forest::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Add(a) => cmd::add::run_add(*a),
        Command::Remove(a) => cmd::add::run_remove(a),
        Command::Vote(a) => cmd::vote::run(a),
        Command::Albatross(a) => cmd::albatross::run(a),
        Command::Rob(a) => cmd::rob::run(a),
        Command::Flags(a) => cmd::flags::run(a),
        Command::Sensitivity(a) => cmd::sensitivity::run(a),
        Command::Leave1out(a) => cmd::diagnostics::run("leave1out", a),
        Command::Influence(a) => cmd::diagnostics::run("influence", a),
        Command::Cumul(a) => cmd::diagnostics::run("cumul", a),
        Command::Regtest(a) => cmd::diagnostics::run("regtest", a),
        Command::Trimfill(a) => cmd::diagnostics::run("trimfill", a),
        Command::Batch(a) => cmd::batch::run(a),
        Command::Gosh(a) => cmd::gosh::run(a),
        Command::Prisma(a) => cmd::prisma::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
    }
}
