//! The `spotmeta` binary: parse the command line, run it, map errors to a
//! message on stderr and a non-zero exit code. All work happens in the library
//! (`spotmeta`); `cli::cmd::*` turns arguments into library calls and writes
//! what they return.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lossy: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    cli::args::note_deprecated(&lossy);
    let args = cli::Cli::parse_from(argv);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause only once: library
/// errors already quote their source (`path: no such file …`), so a cause
/// whose text the line holds is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
    }
    line
}
