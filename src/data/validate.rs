//! One pass over a spot-reduction table that collects every problem as an
//! [`Issue`]: header against the codebook, each cell against its
//! [`ColumnSpec`](super::schema::ColumnSpec), rules that tie cells of a row
//! together (provenance, dispersion type, within-subject sample sizes,
//! correlation sources, manual flags) and rules across rows (duplicate keys,
//! one primary outcome per study and cohort).
//!
//! Nothing here stops at the first problem: `spotmeta check` prints the whole
//! list so a curator can fix a file in one sitting.

use super::load::{CsvProblem, Table, TableRow};
use super::schema::{self, COLUMNS, MAX_LABEL_CHARS, Verdict, is_missing, parse_number};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::path::PathBuf;

/// How serious an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be loaded until this is fixed.
    Error,
    /// Worth a look; the file still loads.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// The file concerned.
    pub file: PathBuf,
    /// Error or warning.
    pub severity: Severity,
    /// 1-based physical line (the header is line 1).
    pub line: u64,
    /// 1-based column, when the problem belongs to one cell.
    pub column: Option<usize>,
    /// Name of that column.
    pub column_name: Option<String>,
    /// The study concerned, as `study_id/cohort`.
    pub study: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Issue {
    /// Whether this issue blocks loading.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Issue {
    /// `path:line:col: error: message (study x) — fix: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, ": {}: {}", self.severity, self.message)?;
        if let Some(s) = &self.study {
            write!(f, " (study {s})")?;
        }
        write!(f, " — fix: {}", self.fix)
    }
}

/// FNV-1a for the maps keyed by column names and row keys: a name is a few
/// bytes and is looked up several times per row, where SipHash's setup cost
/// dominated `check` on large files (issue #15). A file crafted to collide
/// can only slow its own check down.
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The codebook position of a literal column name, resolved at compile time
/// ([`schema::position`]): a misspelt name does not build.
macro_rules! col {
    ($name:literal) => {
        const { schema::position($name) }
    };
}

/// A hash map with [`Fnv`].
type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// A hash set with [`Fnv`] (the distinct `study_id`s of a report).
pub(crate) type FnvSet<K> = std::collections::HashSet<K, BuildHasherDefault<Fnv>>;

/// Collects issues for one file.
struct Collector<'t> {
    table: &'t Table,
    /// Header name → its first 0-based position.
    index: FnvMap<&'t str, usize>,
    /// Codebook position → the table's column holding it (see
    /// [`schema::position`]).
    at: Vec<Option<usize>>,
    /// The codebook columns the header has, with their positions, in
    /// codebook order (the per-cell checks of every row).
    cells: Vec<(&'static schema::ColumnSpec, usize)>,
    issues: Vec<Issue>,
}

/// Rows per parallel task of the per-row checks.
const ROWS_PER_TASK: usize = 4096;

impl<'t> Collector<'t> {
    /// A collector for the same table with an empty issue list.
    fn fork(&self) -> Self {
        Collector {
            table: self.table,
            index: self.index.clone(),
            at: self.at.clone(),
            cells: self.cells.clone(),
            issues: Vec::new(),
        }
    }

    fn push(
        &mut self,
        severity: Severity,
        line: u64,
        column: Option<&str>,
        study: Option<String>,
        message: String,
        fix: String,
    ) {
        self.issues.push(Issue {
            file: self.table.path.clone(),
            severity,
            line,
            column: column.and_then(|c| self.index.get(c)).map(|i| i + 1),
            column_name: column.map(str::to_owned),
            study,
            message,
            fix,
        });
    }

    /// The cell of `row` in the codebook column at position `col` (see
    /// [`col!`]), or `""` if the table lacks the column.
    fn cell<'r>(&self, row: &'r TableRow, col: usize) -> &'r str {
        self.at[col].map_or("", |i| &row.fields[i])
    }

    /// Whether the table has the codebook column at position `col`.
    fn has(&self, col: usize) -> bool {
        self.at[col].is_some()
    }

    /// Whether `row` has a value in the codebook column at position `col`.
    fn present(&self, row: &TableRow, col: usize) -> bool {
        !is_missing(COLUMNS[col].kind, self.cell(row, col))
    }
}

/// Checks `table` (already read leniently, with `csv_problems` set aside)
/// against the codebook and returns every issue, sorted by line and column.
pub(crate) fn validate(table: &Table, csv_problems: Vec<CsvProblem>) -> Vec<Issue> {
    let mut index = FnvMap::default();
    for (i, h) in table.headers.iter().enumerate() {
        index.entry(h.as_str()).or_insert(i);
    }
    let at = COLUMNS.iter().map(|s| index.get(s.name).copied()).collect();
    let cells = COLUMNS
        .iter()
        .filter_map(|s| index.get(s.name).map(|&i| (s, i)))
        .collect();
    let mut c = Collector {
        table,
        index,
        at,
        cells,
        issues: Vec::new(),
    };
    for p in csv_problems {
        c.issues.push(Issue {
            file: table.path.clone(),
            severity: Severity::Error,
            line: p.line,
            column: p.column,
            column_name: None,
            study: None,
            message: p.message,
            fix: p.fix,
        });
    }
    check_header(&mut c);
    // Each row's checks are independent: chunks of rows are checked in
    // parallel, each into its own list, joined in file order, so the result is
    // the same as one pass (issue #15: `check` on 100,000 rows).
    // The rules across rows (duplicate keys, one primary outcome) run beside
    // them; their issues are joined after the per-row ones, as in one pass.
    let mut across = c.fork();
    let (found, ()) = rayon::join(
        || {
            table
                .rows
                .par_chunks(ROWS_PER_TASK)
                .map(|rows| {
                    let mut local = c.fork();
                    for row in rows {
                        check_row(&mut local, row);
                    }
                    local.issues
                })
                .collect::<Vec<Vec<Issue>>>()
        },
        || {
            check_duplicates(&mut across);
            check_primary(&mut across);
        },
    );
    c.issues.extend(found.into_iter().flatten());
    c.issues.append(&mut across.issues);
    let mut issues = c.issues;
    issues.sort_by_key(|i| (i.line, i.column.unwrap_or(0)));
    issues
}

fn check_header(c: &mut Collector<'_>) {
    let headers = &c.table.headers;
    let mut problems = false;
    let mut seen = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(first) = seen.insert(h.as_str(), i) {
            problems = true;
            c.issues.push(Issue {
                file: c.table.path.clone(),
                severity: Severity::Error,
                line: 1,
                column: Some(i + 1),
                column_name: Some(h.clone()),
                study: None,
                message: format!("duplicate column `{h}` (also column {})", first + 1),
                fix: "remove the second copy of the column".to_owned(),
            });
        }
    }
    for (i, h) in headers.iter().enumerate() {
        if schema::spec(h).is_none() {
            problems = true;
            c.issues.push(Issue {
                file: c.table.path.clone(),
                severity: Severity::Error,
                line: 1,
                column: Some(i + 1),
                column_name: Some(h.clone()),
                study: None,
                message: format!("unknown column `{h}`: it is not in the codebook"),
                fix: "remove the column, fix its spelling, or add it to the codebook \
                      (src/data/schema.rs) first"
                    .to_owned(),
            });
        }
    }
    for (i, spec) in COLUMNS.iter().enumerate() {
        if !c.index.contains_key(spec.name) {
            problems = true;
            c.issues.push(Issue {
                file: c.table.path.clone(),
                severity: Severity::Error,
                line: 1,
                column: None,
                column_name: Some(spec.name.to_owned()),
                study: None,
                message: format!("missing column `{}` ({})", spec.name, spec.description),
                fix: format!(
                    "add the column `{}` at position {} (codebook order); leave its cells empty if unknown",
                    spec.name,
                    i + 1
                ),
            });
        }
    }
    if problems {
        return;
    }
    if let Some((i, spec)) = COLUMNS
        .iter()
        .enumerate()
        .find(|(i, spec)| headers[*i] != spec.name)
    {
        c.issues.push(Issue {
            file: c.table.path.clone(),
            severity: Severity::Error,
            line: 1,
            column: Some(i + 1),
            column_name: Some(headers[i].clone()),
            study: None,
            message: format!(
                "columns must be in the codebook order; expected `{}` at column {}, found `{}`",
                spec.name,
                i + 1,
                headers[i]
            ),
            fix: format!(
                "move `{}` to column {}; the full order is the codebook's (`spotmeta::data::COLUMNS`, src/data/schema.rs)",
                spec.name,
                i + 1
            ),
        });
    }
}

/// The study of `row` for an issue, as `study_id/cohort`: built only when
/// an issue is pushed, not for every row.
fn study_of(c: &Collector<'_>, row: &TableRow) -> Option<String> {
    let id = c.cell(row, col!("study_id"));
    let cohort = c.cell(row, col!("cohort"));
    match (id.is_empty(), cohort.is_empty()) {
        (true, _) => None,
        (false, true) => Some(id.to_owned()),
        (false, false) => Some(format!("{id}/{cohort}")),
    }
}

fn check_row(c: &mut Collector<'_>, row: &TableRow) {
    let line = row.line;

    for k in 0..c.cells.len() {
        let (spec, i) = c.cells[k];
        let cell = &row.fields[i];
        if is_missing(spec.kind, cell) {
            if spec.required {
                c.push(
                    Severity::Error,
                    line,
                    Some(spec.name),
                    study_of(c, row),
                    format!("column `{}` is required but empty", spec.name),
                    format!(
                        "fill in `{}` ({}); it may not be empty",
                        spec.name, spec.description
                    ),
                );
            }
            continue;
        }
        match spec.check(cell) {
            Verdict::Ok => {}
            Verdict::Warning(m, f) => c.push(
                Severity::Warning,
                line,
                Some(spec.name),
                study_of(c, row),
                m,
                f,
            ),
            Verdict::Error(m, f) => c.push(
                Severity::Error,
                line,
                Some(spec.name),
                study_of(c, row),
                m,
                f,
            ),
        }
    }

    let label = c.cell(row, col!("label"));
    if label.len() > MAX_LABEL_CHARS && label.chars().count() > MAX_LABEL_CHARS {
        c.push(
            Severity::Error,
            line,
            Some("label"),
            study_of(c, row),
            format!(
                "column `label` has {} characters; at most {MAX_LABEL_CHARS} are allowed",
                label.chars().count()
            ),
            "shorten the label to the author and year (e.g. `Brobakken 2023`); put details in `extraction_notes`"
                .to_owned(),
        );
    }

    let present = |c: &Collector<'_>, col: usize| c.present(row, col);

    // Design columns an analysis needs are required for included rows.
    if c.cell(row, col!("status")) == "included" {
        for &name in schema::REQUIRED_WHEN_INCLUDED {
            let at = schema::position(name);
            if c.has(at) && !present(c, at) {
                c.push(
                    Severity::Error,
                    line,
                    Some(name),
                    study_of(c, row),
                    format!("column `{name}` is required for an included row but empty"),
                    format!(
                        "fill in `{name}`, or set `status` to `listed`/`excluded` with a reason"
                    ),
                );
            }
        }
    }
    let number = |c: &Collector<'_>, col: usize| parse_number(c.cell(row, col));

    // Provenance: a reader must be able to find the source.
    if ![col!("doi"), col!("pmid"), col!("source_url")]
        .into_iter()
        .any(|n| present(c, n))
    {
        c.push(
            Severity::Error,
            line,
            Some("doi"),
            study_of(c, row),
            "missing provenance: none of `doi`, `pmid`, `source_url` is filled in".to_owned(),
            "add the DOI (e.g. `10.1234/abc`), the PubMed ID or a source URL so the numbers can be traced"
                .to_owned(),
        );
    }
    if c.has(col!("source_location")) && !present(c, col!("source_location")) {
        c.push(
            Severity::Warning,
            line,
            Some("source_location"),
            study_of(c, row),
            "column `source_location` is empty: where the numbers came from is not recorded"
                .to_owned(),
            "name the table, figure or page, e.g. `Table 2, p. 5`".to_owned(),
        );
    }

    // Dispersions need to say whether they are SDs or SEs.
    const DISPERSIONS: [&str; 6] = [
        "pre_sd_t",
        "post_sd_t",
        "pre_sd_c",
        "post_sd_c",
        "change_sd_t",
        "change_sd_c",
    ];
    if c.has(col!("disp_type"))
        && !present(c, col!("disp_type"))
        && let Some(first) = DISPERSIONS
            .iter()
            .find(|&&n| present(c, schema::position(n)))
    {
        c.push(
            Severity::Error,
            line,
            Some("disp_type"),
            study_of(c, row),
            format!("column `disp_type` is empty but `{first}` holds a dispersion"),
            "write `sd` or `se` to say whether the dispersion columns are standard deviations or standard errors"
                .to_owned(),
        );
    }

    // Every correlation says where it came from.
    for (r, source) in [("r_prepost", "r_prepost_source"), ("r", "r_source")] {
        let (at_r, at_source) = (schema::position(r), schema::position(source));
        if present(c, at_r) && c.has(at_source) && !present(c, at_source) {
            c.push(
                Severity::Error,
                line,
                Some(source),
                study_of(c, row),
                format!("column `{source}` is empty but `{r}` holds a correlation"),
                "write `reported`, `imputed` or `derived`".to_owned(),
            );
        }
    }

    if let (Some(lb), Some(ub)) = (number(c, col!("diff_ci_lb")), number(c, col!("diff_ci_ub")))
        && lb >= ub
    {
        c.push(
            Severity::Error,
            line,
            Some("diff_ci_lb"),
            study_of(c, row),
            format!("column `diff_ci_lb` ({lb}) must be below `diff_ci_ub` ({ub})"),
            "check the interval against the report; swap the limits if they were entered the wrong way round"
                .to_owned(),
        );
    }

    // Within-subject: both "arms" are the same people.
    if c.cell(row, col!("design")) == "within_subject"
        && let Some(nt) = number(c, col!("n_trained"))
        && c.has(col!("n_control"))
        && number(c, col!("n_control")) != Some(nt)
    {
        let nc = c.cell(row, col!("n_control"));
        let nc = if nc.is_empty() { "empty" } else { nc };
        c.push(
            Severity::Error,
            line,
            Some("n_control"),
            study_of(c, row),
            format!(
                "within-subject design: column `n_control` ({nc}) must equal `n_trained` ({nt})"
            ),
            "in a within-subject study both limbs belong to the same people: set `n_control` to `n_trained`, \
             or change `design` if the arms are separate groups"
                .to_owned(),
        );
    }

    if present(c, col!("manual_flag"))
        && c.has(col!("manual_flag_reason"))
        && !present(c, col!("manual_flag_reason"))
    {
        c.push(
            Severity::Error,
            line,
            Some("manual_flag_reason"),
            study_of(c, row),
            "column `manual_flag_reason` is empty but `manual_flag` is set".to_owned(),
            "say why the row needs manual review, or clear `manual_flag`".to_owned(),
        );
    }

    check_rob(c, row);
}

/// The risk-of-bias judgement columns, `rob_d1` … `rob_d7`, and their
/// support-text columns.
const ROB_DOMAINS: [(&str, &str); 7] = [
    ("rob_d1", "rob_d1_support"),
    ("rob_d2", "rob_d2_support"),
    ("rob_d3", "rob_d3_support"),
    ("rob_d4", "rob_d4_support"),
    ("rob_d5", "rob_d5_support"),
    ("rob_d6", "rob_d6_support"),
    ("rob_d7", "rob_d7_support"),
];

/// Risk of bias (issue #17): a tool is named when any judgement is entered;
/// every judgement is on that tool's scale and within its domains; every
/// domain but the deviations domain (filled from the confound flags when
/// empty) is entered, `no_information` when the source is silent; a
/// judgement other than `no_information` quotes or cites its support; an
/// included row without an assessment is a warning. Whether the overall
/// judgement is the worst domain needs the derived deviations domain, so
/// `analysis::rob::check` checks it on the typed rows.
fn check_rob(c: &mut Collector<'_>, row: &TableRow) {
    if !c.has(col!("rob_tool")) {
        return;
    }
    let line = row.line;
    let tool_cell = c.cell(row, col!("rob_tool"));
    let judged: Vec<&str> = ROB_DOMAINS
        .iter()
        .map(|(d, _)| *d)
        .chain(["rob_overall"])
        .filter(|d| c.has(schema::position(d)) && !c.cell(row, schema::position(d)).is_empty())
        .collect();
    let tool = match tool_cell {
        "rob2" => schema::RobTool::Rob2,
        "robins_i" => schema::RobTool::RobinsI,
        "" => {
            if let Some(first) = judged.first() {
                c.push(
                    Severity::Error,
                    line,
                    Some("rob_tool"),
                    study_of(c, row),
                    format!("column `rob_tool` is empty but `{first}` holds a risk-of-bias judgement"),
                    "write `rob2` for a randomised comparison or `robins_i` for a non-randomised one \
                     (datasets/README.md §12)"
                        .to_owned(),
                );
            } else if c.cell(row, col!("status")) == "included" {
                c.push(
                    Severity::Warning,
                    line,
                    Some("rob_tool"),
                    study_of(c, row),
                    "included row without a risk-of-bias assessment (`rob_tool` is empty)"
                        .to_owned(),
                    "name the tool (`rob2` or `robins_i`) and judge each domain from the source; \
                     write `no_information` where the source is silent"
                        .to_owned(),
                );
            }
            return;
        }
        // Not a tool name: the cell check has already reported it.
        _ => return,
    };
    let domains = tool.domains();
    let tool_name = match tool {
        schema::RobTool::Rob2 => "RoB 2",
        schema::RobTool::RobinsI => "ROBINS-I",
    };
    let in_scale = |cell: &str| tool.scale().iter().find(|j| j.as_str() == cell).copied();
    let known = |cell: &str| schema::RobJudgement::NAMES.contains(&cell);
    for (k, (name, support)) in ROB_DOMAINS.iter().enumerate() {
        let (at, at_support) = (schema::position(name), schema::position(support));
        let (cell, text) = (c.cell(row, at), c.cell(row, at_support));
        if k >= domains.len() {
            for (col, value) in [(*name, cell), (*support, text)] {
                if !value.is_empty() {
                    c.push(
                        Severity::Error,
                        line,
                        Some(col),
                        study_of(c, row),
                        format!(
                            "column `{col}` is filled in but {tool_name} has only {} domains",
                            domains.len()
                        ),
                        format!("clear `{col}`, or set `rob_tool` to the tool this row was appraised with"),
                    );
                }
            }
            continue;
        }
        let domain = domains[k];
        if cell.is_empty() {
            if k + 1 != tool.deviations_domain() {
                c.push(
                    Severity::Error,
                    line,
                    Some(name),
                    study_of(c, row),
                    format!("column `{name}` ({tool_name}: {domain}) is empty"),
                    "judge the domain from the source, or write `no_information` where the source is silent (never a guess)"
                        .to_owned(),
                );
            }
            continue;
        }
        if !known(cell) {
            continue; // reported by the cell check
        }
        let Some(j) = in_scale(cell) else {
            c.push(
                Severity::Error,
                line,
                Some(name),
                study_of(c, row),
                format!("column `{name}`: \"{cell}\" is not on the {tool_name} scale"),
                format!("use one of: {} (or change `rob_tool`)", tool.scale_names()),
            );
            continue;
        };
        if j != schema::RobJudgement::NoInformation && text.trim().is_empty() {
            c.push(
                Severity::Error,
                line,
                Some(support),
                study_of(c, row),
                format!("column `{support}` is empty but `{name}` is `{cell}`"),
                "quote or cite the sentence of the source that supports the judgement (e.g. \
                 `Abstract: 'randomly assigned'`), or write `no_information` in the domain"
                    .to_owned(),
            );
        }
    }
    let overall = c.cell(row, col!("rob_overall"));
    if !overall.is_empty() && known(overall) && in_scale(overall).is_none() {
        c.push(
            Severity::Error,
            line,
            Some("rob_overall"),
            study_of(c, row),
            format!("column `rob_overall`: \"{overall}\" is not on the {tool_name} scale"),
            format!(
                "use one of: {} (or leave it empty: the worst domain)",
                tool.scale_names()
            ),
        );
    }
    if overall.is_empty() && !c.cell(row, col!("rob_overall_reason")).is_empty() {
        c.push(
            Severity::Warning,
            line,
            Some("rob_overall_reason"),
            study_of(c, row),
            "column `rob_overall_reason` is filled in but `rob_overall` is empty".to_owned(),
            "enter the overall judgement the reason argues for, or clear the reason".to_owned(),
        );
    }
}

/// The columns that identify a row (codebook positions).
const KEY: [usize; 5] = [
    col!("study_id"),
    col!("cohort"),
    col!("comparison"),
    col!("region"),
    col!("method"),
];

fn check_duplicates(c: &mut Collector<'_>) {
    let mut seen: FnvMap<[&str; 5], u64> = FnvMap::default();
    seen.reserve(c.table.rows.len());
    let mut found = Vec::new();
    for row in &c.table.rows {
        let key = KEY.map(|k| c.cell(row, k));
        if key.iter().any(|k| k.is_empty()) {
            continue;
        }
        if let Some(&first) = seen.get(&key) {
            found.push((row.line, study_of(c, row), first, key.join(", ")));
        } else {
            seen.insert(key, row.line);
        }
    }
    for (line, study, first, key) in found {
        c.push(
            Severity::Error,
            line,
            Some("study_id"),
            study,
            format!(
                "duplicate row: the key (`study_id`, `cohort`, `comparison`, `region`, `method`) = ({key}) is already on line {first}"
            ),
            format!(
                "merge this row into line {first}, or make the rows differ in `cohort`, `comparison`, `region` or `method`"
            ),
        );
    }
}

fn check_primary(c: &mut Collector<'_>) {
    // (study_id, cohort) → (first candidate line, primary lines), in order of
    // first appearance; `at` finds a group in O(1) (a linear search made
    // `check` quadratic: 58 s for 100,000 rows, issue #15).
    let mut groups: Vec<((&str, &str), u64, Vec<u64>)> = Vec::new();
    let mut at: FnvMap<(&str, &str), usize> = FnvMap::default();
    for row in &c.table.rows {
        if c.cell(row, col!("outcome_type")) != "regional_fat"
            || c.cell(row, col!("status")) != "included"
        {
            continue;
        }
        let key = (c.cell(row, col!("study_id")), c.cell(row, col!("cohort")));
        if key.0.is_empty() {
            continue;
        }
        let i = *at.entry(key).or_insert_with(|| {
            groups.push((key, row.line, Vec::new()));
            groups.len() - 1
        });
        let group = &mut groups[i];
        if c.cell(row, col!("primary")) == "yes" {
            group.2.push(row.line);
        }
    }
    let mut found = Vec::new();
    for ((id, cohort), first, primaries) in groups {
        let study = || format!("{id}/{cohort}");
        match primaries.as_slice() {
            [] => found.push((
                Severity::Warning,
                first,
                study(),
                "no primary outcome; the study is not pooled".to_owned(),
                "mark one included regional-fat outcome of this study and cohort `primary` = `yes`"
                    .to_owned(),
            )),
            [_] => {}
            [head, rest @ ..] => {
                for &line in rest {
                    found.push((
                        Severity::Error,
                        line,
                        study(),
                        format!(
                            "column `primary`: a second primary outcome for this study and cohort (line {head} is already primary)"
                        ),
                        "keep `primary` = `yes` on exactly one included regional-fat row per study and cohort; set the others to `no`"
                            .to_owned(),
                    ));
                }
            }
        }
    }
    for (severity, line, study, message, fix) in found {
        c.push(severity, line, Some("primary"), Some(study), message, fix);
    }
}
