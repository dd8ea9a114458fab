//! The `spotmeta` binary: parse the command line, run it, map errors to a
//! message on stderr and a non-zero exit code. All work happens in the library
//! (`spotmeta`) and in `cli::cmd::*`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
