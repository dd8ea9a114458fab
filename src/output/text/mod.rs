//! Text out: every table and summary a command prints, laid out like
//! metafor's print methods where metafor has one. Each function returns the
//! text; the command line writes it.
//!
//! | module | prints |
//! |---|---|
//! | [`rma`] | `rma`: `print.rma.uni`, meta-regression, three-level, CR2, the primary analysis |
//! | [`add`] | `add`, `remove`: rows added (effect size, issues, flags) and removed |
//! | [`batch`] | `batch`: the line it prints after writing the table |
//! | [`escalc`] | `escalc`: yi and vi per row (text, CSV) |
//! | [`flags`] | `flags`: the confound flags of every row (text, CSV) |
//! | [`sensitivity`] | `sensitivity`: scenarios, subgroups, meta-regressions, diagnostics |
//! | [`vote`] | `vote`: evidence per outcome and the sign tests |
//! | [`gosh`] | `gosh`: with/without means per study |
//! | [`simulate`] | `simulate`: coverage per interval; the simulated data sets as CSV |
//!
//! The Bayesian model's text is with its other renderers in
//! [`crate::output::bayes`].

pub mod add;
pub mod batch;
pub mod escalc;
pub mod flags;
pub mod gosh;
pub mod rma;
pub mod sensitivity;
pub mod simulate;
pub mod vote;

pub use rma::{fmt_p, p_clause, render_rma, render_rma_mods};

use crate::error::{Error, Result};

/// A CSV table: `header`, then one record per item of `records`.
pub(crate) fn csv_table<R, F>(header: &[&str], records: R) -> Result<String>
where
    R: IntoIterator<Item = F>,
    F: IntoIterator<Item = String>,
{
    let err = |e: &dyn std::fmt::Display| Error::Render {
        what: "CSV".into(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| err(&e))?;
    for r in records {
        w.write_record(r).map_err(|e| err(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| err(&e))?;
    String::from_utf8(bytes).map_err(|e| err(&e))
}
