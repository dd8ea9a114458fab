//! `spotmeta add [FILE]` and `spotmeta remove [FILE]`: change the dataset
//! safely. The new row comes from `--<column>` flags (one per codebook
//! column), from `--from ROW.csv|ROW.toml|-`, or — on a terminal, for required
//! fields still missing — from prompts that show the allowed values. The row
//! must pass `spotmeta check`; its effect size and confound flags are shown;
//! `--dry-run` stops there; `--rerun` regenerates the report and prints the
//! pooled effect before and after.

use crate::cli::args::{Format, WaitArg, default_report_dir, editable_dataset};
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use spotmeta::data::append::{
    Change, EditOptions, RowValues, add_row, missing_required, parse_row, remove_rows,
};
use spotmeta::data::schema::COLUMNS;
use spotmeta::output::report::{Look, publish};
use spotmeta::output::{json, text};
use spotmeta::review::{Input, Settings, headline_of, row_findings};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// One optional `--<column>` flag per codebook column.
#[derive(Debug, Clone, Default)]
pub struct ColumnValues(pub RowValues);

/// The flag of a codebook column: its name with dashes, except `method`,
/// whose flag is `--assessment-method` (`--method` is the τ² estimator in
/// every other command; the old spelling stays as a deprecated alias).
fn flag(name: &str) -> String {
    match name {
        "method" => "assessment-method".into(),
        _ => name.replace('_', "-"),
    }
}

impl FromArgMatches for ColumnValues {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut v = RowValues::new();
        for c in COLUMNS {
            if let Some(x) = m.get_one::<String>(c.name) {
                v.insert(c.name.to_string(), x.clone());
            }
        }
        Ok(ColumnValues(v))
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for ColumnValues {
    fn augment_args(cmd: Command) -> Command {
        COLUMNS.iter().fold(cmd, |cmd, c| {
            let arg = Arg::new(c.name)
                .long(flag(c.name))
                .value_name("VALUE")
                .allow_negative_numbers(true)
                .help(c.description)
                .help_heading("Columns (see datasets/README.md)");
            let arg = if flag(c.name) == c.name.replace('_', "-") {
                arg
            } else {
                arg.alias(c.name.replace('_', "-"))
            };
            cmd.arg(arg)
        })
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The flags `add` and `remove` share: the dataset, `--dry-run`, the lock
/// wait and `--rerun` with its report directory.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Dataset to edit (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    /// Check the change and show what it does (for `add`, the row's effect
    /// size and flags); write nothing.
    #[arg(long)]
    dry_run: bool,
    /// After writing, regenerate the report (like `spotmeta report`) and print
    /// the pooled effect before and after.
    #[arg(long, conflicts_with = "dry_run")]
    rerun: bool,
    /// Directory where --rerun writes the report (default: as `spotmeta report`).
    #[arg(
        long,
        short,
        alias = "report-dir",
        value_name = "DIR",
        requires = "rerun"
    )]
    out: Option<PathBuf>,
    #[command(flatten)]
    wait: WaitArg,
}

/// Arguments of `spotmeta add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    edit: EditArgs,
    /// Read the row from a CSV (header + one row, any subset of columns), a
    /// TOML table (column = value), or `-` for CSV on standard input.
    #[arg(long, value_name = "ROW.csv|ROW.toml|-")]
    from: Option<PathBuf>,
    /// Overwrite the row with the same key (the old row is printed).
    #[arg(long)]
    replace: bool,
    /// Output format: text (like metafor's print methods) or json (one
    /// object, schema/spotmeta.schema.json).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = crate::cli::args::parse_text_json)]
    format: Format,
    #[command(flatten)]
    columns: ColumnValues,
}

/// Arguments of `spotmeta remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    edit: EditArgs,
    /// Study whose rows are removed.
    #[arg(long)]
    study_id: String,
    /// Remove only this cohort of the study.
    #[arg(long)]
    cohort: Option<String>,
}

impl EditArgs {
    /// The dataset to edit ([`editable_dataset`]).
    fn path(&self) -> anyhow::Result<PathBuf> {
        Ok(editable_dataset(self.file.as_ref())?)
    }

    /// The library's edit options.
    fn options(&self) -> EditOptions {
        EditOptions {
            dry_run: self.dry_run,
            wait: self.wait.duration(),
        }
    }

    /// `--rerun`: regenerate the report while `change` still holds the
    /// dataset lock, so the report describes exactly the file just written;
    /// exactly `spotmeta report FILE --out DIR --wait SECONDS`, and "after"
    /// is the headline that report rendered.
    fn rerun(&self, path: &Path, change: &Change) -> anyhow::Result<()> {
        if !self.rerun {
            return Ok(());
        }
        debug_assert!(change.lock().is_some(), "--rerun needs the lock held");
        let dir = self.out.clone().unwrap_or_else(|| default_report_dir(path));
        let before = text::add::headline_line(&headline_of(path, &change.before()?));
        let published = publish(
            path,
            Input::default(),
            &Settings::default(),
            &Look::default(),
            &dir,
            self.wait.duration(),
        )?;
        if let Some(w) = &published.warning {
            eprintln!("warning: {w}");
        }
        let after = text::add::headline_line(&Ok(Ok(published.report.headline)));
        print!("{}", text::add::rerun(&before, &after, &dir));
        Ok(())
    }
}

/// The row file's text: the file, or standard input for `-`.
fn read_row_file(from: &Path) -> anyhow::Result<RowValues> {
    let text = if from == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(from).map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?
    };
    Ok(parse_row(&text, from)?)
}

/// Ask for required columns that are still empty (terminal only).
fn prompt_missing(values: &mut RowValues) -> anyhow::Result<()> {
    let mut lines = std::io::stdin().lock().lines();
    for c in missing_required(values) {
        eprint!("{}", text::add::prompt(c));
        std::io::stderr().flush()?;
        let Some(line) = lines.next() else { break };
        let line = line?;
        if !line.trim().is_empty() {
            values.insert(c.name.to_string(), line.trim().to_string());
        }
    }
    Ok(())
}

/// What `change` did (`verb`), with the findings of every row it added.
fn describe(change: &Change, verb: &str, dry_run: bool) -> String {
    let rows = row_findings(&change.added, &change.added_lines, &Settings::default());
    text::add::change_text(change, &rows, verb, dry_run)
}

/// Run `spotmeta add`.
pub fn run_add(a: AddArgs) -> anyhow::Result<()> {
    let path = a.edit.path()?;
    let mut values = match &a.from {
        Some(f) => read_row_file(f)?,
        None => RowValues::new(),
    };
    values.extend(a.columns.0.clone());
    if std::io::stdin().is_terminal() && a.from.as_deref() != Some(Path::new("-")) {
        prompt_missing(&mut values)?;
    }
    let change = add_row(&path, &values, a.replace, &a.edit.options())?;
    let verb = match (a.edit.dry_run, change.removed.is_empty()) {
        (true, _) => "would add",
        (false, true) => "added",
        (false, false) => "replaced",
    };
    match a.format {
        Format::Json => print!("{}", json::change(&change)?),
        _ => print!("{}", describe(&change, verb, a.edit.dry_run)),
    }
    a.edit.rerun(&path, &change)
}

/// Run `spotmeta remove`.
pub fn run_remove(a: RemoveArgs) -> anyhow::Result<()> {
    let path = a.edit.path()?;
    let (study, cohort) = (&a.study_id, a.cohort.as_deref());
    let change = remove_rows(&path, study, cohort, &a.edit.options())?;
    print!("{}", describe(&change, "", a.edit.dry_run));
    a.edit.rerun(&path, &change)
}
