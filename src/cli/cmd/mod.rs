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

use std::io::Write;
use std::path::Path;

/// Send finished output to `--out` (atomically, and never over one of
/// `inputs`) or to standard output.
pub fn emit(out: Option<&Path>, text: &str, inputs: &[&Path]) -> anyhow::Result<()> {
    match out {
        Some(path) => spotmeta::data::io::write_output("--out", path, text.as_bytes(), inputs)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}
