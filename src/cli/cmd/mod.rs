//! One module per subcommand.

pub mod add;
pub mod albatross;
pub mod batch;
pub mod bayes;
pub mod check;
pub mod diagnostics;
pub mod escalc;
pub mod flags;
pub mod forest;
pub mod gosh;
pub mod prisma;
pub mod report;
pub mod rma;
pub mod rob;
pub mod sensitivity;
pub mod simulate;
pub mod vote;

use crate::cli::args::OutputArgs;
use std::io::Write;
use std::path::Path;

/// Send finished output to `--out` (atomically, and never over one of
/// `inputs`) or to standard output.
pub fn emit(out: &OutputArgs, text: &str, inputs: &[&Path]) -> anyhow::Result<()> {
    match &out.out {
        Some(path) => spotmeta::data::io::write_output("--out", path, text.as_bytes(), inputs)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}
