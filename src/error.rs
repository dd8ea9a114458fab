//! The library's one error type.
//!
//! Every variant carries the context a user needs to fix the problem: the file,
//! the 1-based line and column of a bad cell, the study (row) concerned, and a
//! sentence saying what to do. Non-fatal data findings are not errors; they are
//! [`crate::data::Issue`]s with a severity, so `spotmeta check` can list every
//! problem of a file in one run.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input file a problem sits (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// File the value was read from.
    pub file: PathBuf,
    /// 1-based physical line number (the header is line 1).
    pub line: u64,
    /// 1-based column number, when the problem belongs to one cell.
    pub column: Option<usize>,
    /// Column name, when known.
    pub column_name: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        if let Some(name) = &self.column_name {
            write!(f, " (column `{name}`)")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in spotmeta.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The CSV itself is malformed (unbalanced quotes, ragged rows, bad UTF-8).
    #[error("{location}: {message}\n  fix: {fix}")]
    Csv {
        /// Where the reader stopped.
        location: Box<Location>,
        /// What the reader saw.
        message: String,
        /// What to do about it.
        fix: String,
    },

    /// A cell holds a value of the wrong type or outside its range.
    #[error("{location}: {message}\n  fix: {fix}")]
    Value {
        /// The cell.
        location: Box<Location>,
        /// What is wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },

    /// A required column is absent from the header.
    #[error("{}: line 1: missing column `{column}`\n  fix: {fix}", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// Column expected.
        column: String,
        /// What to do about it.
        fix: String,
    },

    /// Several problems found in one pass over a file; all are listed.
    #[error("{} problem(s) in {}:\n{}", problems.len(), file.display(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Each problem, already formatted with line:column and fix.
        problems: Vec<String>,
    },

    /// A study's effect size or sampling variance is unusable for pooling.
    #[error("study {index} ({label}): {message}")]
    Study {
        /// 1-based position of the study in the input.
        index: usize,
        /// The study label (or row number when no label exists).
        label: String,
        /// What is wrong, including what to do.
        message: String,
    },

    /// A column named by an option (`--by`, `--mods`, a cluster) is not in
    /// the table.
    #[error("{}: no column `{column}` {purpose}; the header has: {}", file.display(), headers.join(", "))]
    NoSuchColumn {
        /// The table's file.
        file: PathBuf,
        /// The column asked for.
        column: String,
        /// What it was asked for, e.g. "for --by".
        purpose: String,
        /// The columns the table has.
        headers: Vec<String>,
    },

    /// An option is out of range or options contradict each other.
    #[error("invalid option `{option}`: {message}")]
    Option {
        /// The option, as the user names it (e.g. `--level`).
        option: String,
        /// What is wrong and which values are accepted.
        message: String,
    },

    /// A numerical routine could not produce an answer.
    #[error("{what} failed: {message}")]
    Numerical {
        /// The routine (e.g. `REML estimation`).
        what: String,
        /// Why, and what the user can try.
        message: String,
    },

    /// Effect sizes on different metrics (e.g. raw-score and change-score
    /// standardised) were about to be pooled together.
    #[error(
        "refusing to pool effect sizes of different metrics: {first} is {first_metric}, {other} is {other_metric}\n  fix: they are not on one scale (Morris & DeShon 2002); convert them to one metric (datasets/README.md, section 4) or pool each metric separately"
    )]
    MixedMetrics {
        /// A study of the first metric met.
        first: String,
        /// Its metric.
        first_metric: String,
        /// A study of another metric.
        other: String,
        /// That metric.
        other_metric: String,
    },

    /// Input is valid but too small or degenerate for the requested analysis.
    #[error("{0}")]
    Unsupported(String),

    /// A plot or report could not be drawn or encoded.
    #[error("drawing {what} failed: {message}")]
    Render {
        /// What was being drawn (e.g. `forest plot (PNG)`).
        what: String,
        /// The backend's message.
        message: String,
    },
}

impl Error {
    /// An [`Error::Study`] placed at the `file:line` its study was read
    /// from, with the row's label (`row_of` maps the 1-based study position
    /// to both), as an [`Error::Value`]: what is wrong, then the fix after
    /// its `; `. Other errors, and a study `row_of` cannot place, are
    /// returned as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// use spotmeta::Error;
    /// let e = Error::Study {
    ///     index: 2,
    ///     label: "row 2".into(),
    ///     message: "yi overflows; rescale the effect sizes".into(),
    /// };
    /// let e = e.at_row("t.csv".as_ref(), |i| Some((i as u64 + 1, "Smith 2001".into())));
    /// assert_eq!(e.to_string(), "t.csv:3: study 2 (Smith 2001): yi overflows\n  fix: rescale the effect sizes");
    /// ```
    pub fn at_row(
        self,
        file: &std::path::Path,
        row_of: impl Fn(usize) -> Option<(u64, String)>,
    ) -> Self {
        let Error::Study {
            index,
            label,
            message,
        } = self
        else {
            return self;
        };
        let Some((line, label)) = row_of(index) else {
            return Error::Study {
                index,
                label,
                message,
            };
        };
        let (what, fix) = match message.split_once("; ") {
            Some((what, fix)) => (what.to_owned(), fix.to_owned()),
            None => (
                message,
                "correct this row's effect size and variance, or leave the row out".into(),
            ),
        };
        Error::Value {
            location: Box::new(Location {
                file: file.to_path_buf(),
                line,
                column: None,
                column_name: None,
            }),
            message: format!("study {index} ({label}): {what}"),
            fix,
        }
    }

    /// Convenience constructor for I/O errors on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Convenience constructor for option errors.
    pub fn option(option: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Option {
            option: option.into(),
            message: message.into(),
        }
    }
}
