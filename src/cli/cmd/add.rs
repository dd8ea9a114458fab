//! `spotmeta add [FILE]` and `spotmeta remove [FILE]`: change the dataset
//! safely. The new row comes from `--<column>` flags (one per codebook
//! column), from `--from ROW.csv|ROW.toml|-`, or — on a terminal, for required
//! fields still missing — from prompts that show the allowed values. The row
//! must pass `spotmeta check`; its effect size and confound flags are shown;
//! `--dry-run` stops there; `--rerun` regenerates the report and prints the
//! pooled effect before and after.

use crate::cli::args::{Format, WaitArg, default_report_dir, editable_dataset};
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use spotmeta::data::append::{Change, EditOptions, RowValues, add_row, remove_rows};
use spotmeta::data::schema::{COLUMNS, Kind, REQUIRED_WHEN_INCLUDED};
use spotmeta::escalc::spot::SPOT_METRIC_LABEL;
use spotmeta::output::report::console_line;
use spotmeta::output::{json, text};
use spotmeta::review::{self, Dataset, Input, Plan, Settings, row_findings};
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

/// Arguments of `spotmeta add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Dataset to add to (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    /// Read the row from a CSV (header + one row, any subset of columns), a
    /// TOML table (column = value), or `-` for CSV on standard input.
    #[arg(long, value_name = "ROW.csv|ROW.toml|-")]
    from: Option<PathBuf>,
    /// Check the row and show its effect size and flags; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Overwrite the row with the same key (the old row is printed).
    #[arg(long)]
    replace: bool,
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
    /// Output format: text (like metafor's print methods) or json (one
    /// object, schema/spotmeta.schema.json).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = crate::cli::args::parse_text_json)]
    format: Format,
    #[command(flatten)]
    wait: WaitArg,
    #[command(flatten)]
    columns: ColumnValues,
}

/// Where `--rerun` writes: `--out`, else `report`'s default for `path`.
fn report_dir(out: Option<&PathBuf>, path: &Path) -> PathBuf {
    out.cloned().unwrap_or_else(|| default_report_dir(path))
}

/// The edit options of `--wait` and `--dry-run`.
fn edit_options(wait: &WaitArg, dry_run: bool) -> EditOptions {
    EditOptions {
        dry_run,
        wait: wait.duration(),
    }
}

/// Arguments of `spotmeta remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Dataset (default: the bundled datasets/spot_reduction.csv).
    file: Option<PathBuf>,
    /// Study whose rows are removed.
    #[arg(long)]
    study_id: String,
    /// Remove only this cohort of the study.
    #[arg(long)]
    cohort: Option<String>,
    /// Show what would be removed; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    wait: WaitArg,
    /// After writing, regenerate the report and print the pooled effect before and after.
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
}

fn read_row_file(from: &Path) -> anyhow::Result<RowValues> {
    let text = if from == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(from).map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?
    };
    let mut out = RowValues::new();
    if from.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
        for (k, v) in table {
            let s = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => {
                    if b {
                        "yes".into()
                    } else {
                        "no".into()
                    }
                }
                other => anyhow::bail!(
                    "{}: `{k}` must be a string or a number, not {}",
                    from.display(),
                    other.type_str()
                ),
            };
            out.insert(k, s);
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let headers = rdr.headers()?.clone();
        let mut records = rdr.records();
        let rec = records.next().ok_or_else(|| {
            anyhow::anyhow!("{}: a header and one row are needed", from.display())
        })??;
        if records.next().is_some() {
            anyhow::bail!(
                "{}: give exactly one row (add rows one at a time)",
                from.display()
            );
        }
        for (h, v) in headers.iter().zip(rec.iter()) {
            if !v.is_empty() {
                out.insert(h.trim_start_matches('\u{feff}').to_string(), v.to_string());
            }
        }
    }
    Ok(out)
}

/// Ask for required columns that are still empty (terminal only).
fn prompt_missing(values: &mut RowValues) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let included = values.get("status").is_none_or(|s| s == "included");
    for c in COLUMNS {
        let needed = c.required || (included && REQUIRED_WHEN_INCLUDED.contains(&c.name));
        if !needed || values.get(c.name).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let allowed = match c.kind {
            Kind::Enum(names) => format!(" [{}]", names.join(" | ")),
            _ => String::new(),
        };
        eprint!("{} — {}{allowed}: ", c.name, c.description);
        std::io::stderr().flush()?;
        match lines.next() {
            Some(line) => {
                let line = line?;
                if !line.trim().is_empty() {
                    values.insert(c.name.to_string(), line.trim().to_string());
                }
            }
            None => break,
        }
    }
    Ok(())
}

/// The headline of the primary analysis of the dataset `bytes` (read from
/// `path`) with `spotmeta report`'s defaults: what the report prints.
fn pooled_line(path: &Path, bytes: &[u8]) -> String {
    let dataset = match Dataset::spot_bytes(path, bytes) {
        Ok(ds) => ds,
        Err(e) => return format!("not loadable ({e})"),
    };
    match review::run(dataset, &Settings::default(), &Plan::forest()) {
        Ok(f) => console_line(&f.headline().expect("pooled"), SPOT_METRIC_LABEL),
        Err(e) => format!("not poolable ({e})"),
    }
}

/// What `change` did, with the findings of every row it added.
fn describe(change: &Change, verb: &str) -> String {
    let rows = row_findings(&change.after, &change.added_lines, &Settings::default());
    text::add::describe(change, &rows, verb)
}

/// `--rerun`: regenerate the report while `change` still holds the dataset
/// lock, so the report describes exactly the file just written.
fn rerun(path: &Path, change: &Change, dir: &Path, wait: &WaitArg) -> anyhow::Result<String> {
    debug_assert!(change.lock().is_some(), "--rerun needs the lock held");
    let before = pooled_line(path, &change.before);
    // Exactly `spotmeta report FILE --out DIR --wait SECONDS` (the same limit
    // for the directory lock as for the dataset lock); "after" is the headline
    // that report rendered.
    let report = super::report::publish(
        path,
        Input::default(),
        &Settings::default(),
        &super::report::Look::default(),
        dir,
        wait.duration(),
    )?;
    let after = console_line(&report.headline, SPOT_METRIC_LABEL);
    Ok(text::add::rerun(&before, &after, dir))
}

/// Run `spotmeta add`.
pub fn run_add(a: AddArgs) -> anyhow::Result<()> {
    let path = editable_dataset(a.file.as_ref())?;
    let mut values = match &a.from {
        Some(f) => read_row_file(f)?,
        None => RowValues::new(),
    };
    values.extend(a.columns.0.clone());
    if std::io::stdin().is_terminal() && a.from.as_deref() != Some(Path::new("-")) {
        prompt_missing(&mut values)?;
    }
    let change = add_row(&path, &values, a.replace, &edit_options(&a.wait, a.dry_run))?;
    let mut text = describe(
        &change,
        if a.dry_run {
            "would add"
        } else if change.removed.is_empty() {
            "added"
        } else {
            "replaced"
        },
    );
    if a.dry_run {
        text.push_str("dry run: nothing written\n");
    }
    if a.format == Format::Json {
        text = json::change(&change)?;
    }
    print!("{text}");
    if a.rerun {
        print!(
            "{}",
            rerun(&path, &change, &report_dir(a.out.as_ref(), &path), &a.wait)?
        );
    }
    Ok(())
}

/// Run `spotmeta remove`.
pub fn run_remove(a: RemoveArgs) -> anyhow::Result<()> {
    let path = editable_dataset(a.file.as_ref())?;
    let change = remove_rows(
        &path,
        &a.study_id,
        a.cohort.as_deref(),
        &edit_options(&a.wait, a.dry_run),
    )?;
    let mut text = describe(&change, "");
    if a.dry_run {
        text.push_str("dry run: nothing written\n");
    }
    print!("{text}");
    if a.rerun {
        print!(
            "{}",
            rerun(&path, &change, &report_dir(a.out.as_ref(), &path), &a.wait)?
        );
    }
    Ok(())
}
