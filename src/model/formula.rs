//! R model formulas for meta-regression (metafor's `mods = ~ …`), turned into
//! a design matrix the way R's `terms()` and `model.matrix()` do it
//! (Chambers & Hastie 1992, *Statistical Models in S*, ch. 2 and p. 38).
//!
//! Supported: `~ a + b`, `a*b` (= `a + b + a:b`), `a:b`, parentheses,
//! `factor(g)` (also `as.factor(g)`), `0 +` / `- 1` (no intercept), `+ 1`,
//! and `- term`. Text columns are factors; numeric columns enter as they are
//! unless wrapped in `factor()`.
//!
//! How the matrix is built, as R does:
//! * terms are expanded, duplicates dropped, then sorted stably by order (main
//!   effects, then two-way interactions, …); inside a term the variables are
//!   in order of first appearance in the formula, which also names the term
//!   (`~ b:a + a` has the terms `a` and `b:a`, as in R);
//! * factor levels are sorted (numbers numerically; text bytewise, i.e. R's
//!   `sort()` in the C locale, which agrees with every locale for text of one
//!   case) and coded with treatment contrasts, the first level the reference,
//!   unless the term with that factor removed is not contained in an earlier
//!   term, when all levels get an indicator column (R's `TermCode`); without
//!   an intercept the first factor of the first term that has one gets
//!   indicator coding;
//! * the columns of an interaction are the products of its variables'
//!   columns, the first variable varying fastest; names join the parts with
//!   `:` (`factor(g)B`, `gB`, `a:b`, `x:factor(g)B`);
//! * columns that are linear combinations of earlier ones are dropped, as
//!   metafor does ("Redundant predictors dropped from the model"; it fits
//!   `lm(yi ~ X - 1)` and drops the columns whose coefficient is `NA`, i.e.
//!   R's pivoting QR with tolerance 1e-7), and listed in
//!   [`ModelTerms::dropped`].

use super::moderators::ModColumn;
use super::mods::Design;
use crate::error::{Error, Result};
use serde::Serialize;

/// One variable of a formula: a column, possibly wrapped in `factor()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// The name as written and as R prints it (`ablat`, `factor(alloc)`).
    pub label: String,
    /// The data column it reads.
    pub column: String,
    /// Whether it is wrapped in `factor()` (numeric columns become factors).
    pub as_factor: bool,
}

/// A parsed formula: the intercept and the terms (each a sorted set of
/// variable indices), in R's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Formula {
    /// The text as given.
    pub text: String,
    /// Whether the model has an intercept.
    pub intercept: bool,
    /// Variables in order of first appearance.
    pub variables: Vec<Variable>,
    /// Terms, each a list of variable indices (ascending), sorted by order.
    pub terms: Vec<Vec<usize>>,
}

const HELP: &str =
    "supported: ~ a + b, a*b, a:b, factor(g), parentheses, 0 + … or - 1 for no intercept, - term";

fn syntax(text: &str, msg: impl std::fmt::Display) -> Error {
    Error::option(
        "--mods",
        format!("cannot read the formula `{text}`: {msg} ({HELP})"),
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Num(String),
    Op(char),
}

fn tokenize(text: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let cs: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if "~+-*:()".contains(c) {
            out.push(Tok::Op(c));
            i += 1;
        } else if c == '`' {
            let end = cs[i + 1..]
                .iter()
                .position(|&d| d == '`')
                .ok_or_else(|| syntax(text, "unclosed backtick"))?;
            out.push(Tok::Name(cs[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if c.is_ascii_digit() {
            let s: String = cs[i..]
                .iter()
                .take_while(|d| d.is_ascii_alphanumeric() || **d == '.' || **d == '_')
                .collect();
            i += s.chars().count();
            out.push(Tok::Num(s));
        } else if c.is_alphanumeric() || c == '.' || c == '_' {
            let s: String = cs[i..]
                .iter()
                .take_while(|d| d.is_alphanumeric() || **d == '.' || **d == '_')
                .collect();
            i += s.chars().count();
            out.push(Tok::Name(s));
        } else {
            return Err(syntax(text, format!("`{c}` is not supported")));
        }
    }
    Ok(out)
}

/// A term while parsing: variable indices (sorted); empty = the intercept.
type Term = Vec<usize>;

/// A parsed sub-expression: terms in order, and whether `0` appeared.
#[derive(Default)]
struct Terms {
    terms: Vec<Term>,
    zero: bool,
    removed: Vec<Term>,
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Tok>,
    pos: usize,
    vars: Vec<Variable>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Op(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn var(&mut self, label: String, column: String, as_factor: bool) -> usize {
        if let Some(i) = self.vars.iter().position(|v| v.label == label) {
            return i;
        }
        self.vars.push(Variable {
            label,
            column,
            as_factor,
        });
        self.vars.len() - 1
    }

    /// sum := ['-'] prod (('+' | '-') prod)*
    fn sum(&mut self) -> Result<Terms> {
        let mut out = Terms::default();
        let mut sign = if self.eat('-') { -1 } else { 1 };
        loop {
            let t = self.prod()?;
            if sign > 0 {
                out.zero |= t.zero;
                for term in t.terms {
                    out.removed.retain(|r| *r != term);
                    out.terms.push(term);
                }
                out.removed.extend(t.removed);
            } else {
                // `- 0` would add the intercept back: not worth supporting.
                if t.zero {
                    return Err(syntax(self.text, "`- 0` is not supported; write `+ 1`"));
                }
                for term in t.terms {
                    out.terms.retain(|x| *x != term);
                    out.removed.push(term);
                }
            }
            if self.eat('+') {
                sign = 1;
            } else if self.eat('-') {
                sign = -1;
            } else {
                return Ok(out);
            }
        }
    }

    /// prod := inter ('*' inter)*
    fn prod(&mut self) -> Result<Terms> {
        let mut acc = self.inter()?;
        while self.eat('*') {
            let b = self.inter()?;
            let cross = cross(&acc, &b);
            let mut terms = acc.terms;
            terms.extend(b.terms);
            terms.extend(cross.terms);
            acc = Terms {
                terms,
                zero: acc.zero || b.zero,
                removed: Vec::new(),
            };
        }
        Ok(acc)
    }

    /// inter := atom (':' atom)*
    fn inter(&mut self) -> Result<Terms> {
        let mut acc = self.atom()?;
        while self.eat(':') {
            let b = self.atom()?;
            acc = cross(&acc, &b);
        }
        Ok(acc)
    }

    fn atom(&mut self) -> Result<Terms> {
        let text = self.text;
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Op('(')) => {
                self.pos += 1;
                let t = self.sum()?;
                if !self.eat(')') {
                    return Err(syntax(text, "missing `)`"));
                }
                Ok(t)
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                match n.as_str() {
                    "1" => Ok(Terms {
                        terms: vec![vec![]],
                        ..Terms::default()
                    }),
                    "0" => Ok(Terms {
                        zero: true,
                        ..Terms::default()
                    }),
                    _ => Err(syntax(
                        text,
                        format!("a number ({n}) can only be 0 or 1 (the intercept)"),
                    )),
                }
            }
            Some(Tok::Name(name)) => {
                self.pos += 1;
                if self.eat('(') {
                    if name != "factor" && name != "as.factor" {
                        return Err(syntax(
                            text,
                            format!(
                                "the function `{name}()` is not supported; compute the column first"
                            ),
                        ));
                    }
                    let Some(Tok::Name(col)) = self.toks.get(self.pos).cloned() else {
                        return Err(syntax(
                            text,
                            format!("`{name}(` must be followed by a column name"),
                        ));
                    };
                    self.pos += 1;
                    if !self.eat(')') {
                        return Err(syntax(text, format!("`{name}({col}` needs a `)`")));
                    }
                    let v = self.var(format!("{name}({col})"), col, true);
                    Ok(Terms {
                        terms: vec![vec![v]],
                        ..Terms::default()
                    })
                } else {
                    let v = self.var(name.clone(), name, false);
                    Ok(Terms {
                        terms: vec![vec![v]],
                        ..Terms::default()
                    })
                }
            }
            Some(Tok::Op(c)) => Err(syntax(text, format!("unexpected `{c}`"))),
            None => Err(syntax(text, "it ends too early")),
        }
    }
}

/// `a:b`: every union of a term of `a` with a term of `b`.
fn cross(a: &Terms, b: &Terms) -> Terms {
    let mut terms = Vec::new();
    for x in &a.terms {
        for y in &b.terms {
            let mut t: Term = x.iter().chain(y).copied().collect();
            t.sort_unstable();
            t.dedup();
            terms.push(t);
        }
    }
    Terms {
        terms,
        zero: a.zero || b.zero,
        removed: Vec::new(),
    }
}

impl Formula {
    /// Parse an R formula (the leading `~` is optional). A plain
    /// comma-separated list of columns (`a,b`) is read as `~ a + b`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spotmeta::model::formula::Formula;
    /// let f = Formula::parse("~ ablat * factor(alloc) - 1")?;
    /// assert!(!f.intercept);
    /// assert_eq!(f.term_labels(), ["ablat", "factor(alloc)", "ablat:factor(alloc)"]);
    /// # Ok::<(), spotmeta::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Formula> {
        let trimmed = text.trim();
        let body = trimmed.strip_prefix('~').unwrap_or(trimmed);
        let body = if body.contains(',') && !body.contains('~') {
            body.replace(',', " + ")
        } else {
            body.to_string()
        };
        let toks = tokenize(&body)?;
        if toks.is_empty() {
            return Err(syntax(trimmed, "no terms"));
        }
        if toks.contains(&Tok::Op('~')) {
            return Err(syntax(trimmed, "only a right-hand side (`~ …`) is allowed"));
        }
        let mut p = Parser {
            text: trimmed,
            toks,
            pos: 0,
            vars: Vec::new(),
        };
        let t = p.sum()?;
        if p.pos != p.toks.len() {
            return Err(syntax(
                trimmed,
                format!("unexpected `{}`", tok_text(&p.toks[p.pos])),
            ));
        }
        let intercept = !t.zero && !t.removed.iter().any(|r| r.is_empty());
        let mut terms: Vec<Term> = Vec::new();
        for term in t.terms {
            if !term.is_empty() && !terms.contains(&term) {
                terms.push(term);
            }
        }
        terms.sort_by_key(|t| t.len()); // stable: R's order of appearance within an order
        Ok(Formula {
            text: trimmed.to_string(),
            intercept,
            variables: p.vars,
            terms,
        })
    }

    /// Term labels as R's `attr(terms(f), "term.labels")`.
    pub fn term_labels(&self) -> Vec<String> {
        self.terms
            .iter()
            .map(|t| {
                t.iter()
                    .map(|&v| self.variables[v].label.as_str())
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect()
    }

    /// The data columns the formula reads, in order of first appearance.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for v in &self.variables {
            if !out.contains(&v.column.as_str()) {
                out.push(&v.column);
            }
        }
        out
    }

    /// Whether the model has no moderators (`~ 1`).
    pub fn is_intercept_only(&self) -> bool {
        self.terms.is_empty()
    }

    /// The design matrix for `data` (column name → values; every column of
    /// [`Formula::columns`] must be there, with no missing values), and the
    /// terms needed to build rows for new data ([`ModelTerms::row`]).
    pub fn design(&self, data: &[(String, ModColumn)]) -> Result<(Design, ModelTerms)> {
        let col = |name: &str| {
            data.iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c)
                .ok_or_else(|| {
                    Error::option(
                        "--mods",
                        format!("the formula `{}` needs a column `{name}`", self.text),
                    )
                })
        };
        let mut k = None;
        let mut coded = Vec::with_capacity(self.variables.len());
        for v in &self.variables {
            let c = col(&v.column)?;
            let n = match c {
                ModColumn::Numeric(x) => x.len(),
                ModColumn::Categorical(x) => x.len(),
            };
            if *k.get_or_insert(n) != n {
                return Err(Error::Unsupported(format!(
                    "moderator `{}` has {n} values but the others have {}",
                    v.column,
                    k.unwrap_or(0)
                )));
            }
            coded.push(VarValues::of(v, c));
        }
        let k = match k {
            Some(k) => k,
            None => {
                return Err(Error::option(
                    "--mods",
                    format!(
                        "the formula `{}` has no moderators; fit the intercept-only model with rma instead",
                        self.text
                    ),
                ));
            }
        };
        let levels: Vec<Option<Vec<String>>> = coded.iter().map(|c| c.levels()).collect();
        let codings = self.codings(&levels);
        // Columns: names and values.
        let mut names = Vec::new();
        let mut cols: Vec<Vec<f64>> = Vec::new();
        if self.intercept {
            names.push("intrcpt".to_string());
            cols.push(vec![1.0; k]);
        }
        for (t, term) in self.terms.iter().enumerate() {
            for (name, parts) in self.term_columns(t, term, &levels, &codings)? {
                names.push(name);
                cols.push(
                    (0..k)
                        .map(|i| {
                            parts
                                .iter()
                                .map(|part| coded[part.var].value(i, part.level))
                                .product()
                        })
                        .collect(),
                );
            }
        }
        let keep = independent_columns(&cols);
        let dropped: Vec<String> = (0..names.len())
            .filter(|j| !keep.contains(j))
            .map(|j| names[j].clone())
            .collect();
        let terms = ModelTerms {
            formula: self.clone(),
            levels,
            codings,
            kept: keep.clone(),
            dropped,
        };
        let names: Vec<String> = keep.iter().map(|&j| names[j].clone()).collect();
        let p = names.len();
        let x: Vec<f64> = (0..k)
            .flat_map(|i| keep.iter().map(move |&j| (i, j)))
            .map(|(i, j)| cols[j][i])
            .collect();
        Ok((Design { k, p, x, names }, terms))
    }

    /// For each term and each of its variables: whether a factor is coded by
    /// contrasts (true) or indicators (false). R's `TermCode` heuristic plus
    /// the no-intercept rule of `model.matrix`.
    fn codings(&self, levels: &[Option<Vec<String>>]) -> Vec<Vec<bool>> {
        let mut out: Vec<Vec<bool>> = self
            .terms
            .iter()
            .enumerate()
            .map(|(t, term)| {
                term.iter()
                    .map(|&v| {
                        let rest: Vec<usize> = term.iter().copied().filter(|&u| u != v).collect();
                        rest.is_empty()
                            || self.terms[..t]
                                .iter()
                                .any(|prev| rest.iter().all(|u| prev.contains(u)))
                    })
                    .collect()
            })
            .collect();
        if !self.intercept {
            'outer: for (t, term) in self.terms.iter().enumerate() {
                // R scans the variables in their order, not the term's.
                for (j, &v) in term.iter().enumerate() {
                    if levels[v].is_some() {
                        out[t][j] = false;
                        break 'outer;
                    }
                }
            }
        }
        out
    }

    /// Column names and, per column, which level of which variable each part
    /// takes (None for a numeric variable).
    fn term_columns(
        &self,
        t: usize,
        term: &[usize],
        levels: &[Option<Vec<String>>],
        codings: &[Vec<bool>],
    ) -> Result<Vec<(String, Vec<Part>)>> {
        let mut out: Vec<(String, Vec<Part>)> = vec![(String::new(), Vec::new())];
        for (j, &v) in term.iter().enumerate() {
            let var = &self.variables[v];
            let choices: Vec<(String, Option<usize>)> = match &levels[v] {
                None => vec![(var.label.clone(), None)],
                Some(lv) => {
                    let contrasts = codings[t][j];
                    if contrasts && lv.len() < 2 {
                        return Err(Error::Unsupported(format!(
                            "moderator `{}` has a single level ({}); it cannot explain differences",
                            var.label,
                            lv.first().map(|s| s.as_str()).unwrap_or("")
                        )));
                    }
                    let from = usize::from(contrasts);
                    (from..lv.len())
                        .map(|l| (format!("{}{}", var.label, lv[l]), Some(l)))
                        .collect()
                }
            };
            // The first variable varies fastest.
            let mut next = Vec::with_capacity(out.len() * choices.len());
            for (cname, level) in &choices {
                for (name, parts) in &out {
                    let mut parts = parts.clone();
                    parts.push(Part {
                        var: v,
                        level: *level,
                    });
                    let name = if name.is_empty() {
                        cname.clone()
                    } else {
                        format!("{name}:{cname}")
                    };
                    next.push((name, parts));
                }
            }
            out = next;
        }
        Ok(out)
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Name(s) | Tok::Num(s) => s.clone(),
        Tok::Op(c) => c.to_string(),
    }
}

/// One factor of a design column: variable `var` at `level` (None: numeric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct Part {
    var: usize,
    level: Option<usize>,
}

/// A variable's values: numbers, or level codes with the sorted levels.
enum VarValues {
    Numeric(Vec<f64>),
    Factor {
        levels: Vec<String>,
        codes: Vec<usize>,
    },
}

/// R's `as.character()` of a number, for the level names of `factor(x)`
/// (15 significant digits, no trailing zeros).
pub fn r_number_label(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let s = format!("{:.14e}", x);
    let v: f64 = s.parse().unwrap_or(x);
    let plain = format!("{v}");
    if plain.len() <= 20 {
        plain
    } else {
        format!("{v:e}")
    }
}

impl VarValues {
    fn of(v: &Variable, c: &ModColumn) -> VarValues {
        match c {
            ModColumn::Numeric(x) if !v.as_factor => VarValues::Numeric(x.clone()),
            ModColumn::Numeric(x) => {
                let mut lv: Vec<f64> = x.clone();
                lv.sort_by(f64::total_cmp);
                lv.dedup();
                let codes = x
                    .iter()
                    .map(|a| lv.iter().position(|b| b == a).unwrap_or(0))
                    .collect();
                VarValues::Factor {
                    levels: lv.into_iter().map(r_number_label).collect(),
                    codes,
                }
            }
            ModColumn::Categorical(x) => {
                let mut lv: Vec<String> = x.clone();
                lv.sort();
                lv.dedup();
                let codes = x
                    .iter()
                    .map(|a| lv.iter().position(|b| b == a).unwrap_or(0))
                    .collect();
                VarValues::Factor { levels: lv, codes }
            }
        }
    }

    fn levels(&self) -> Option<Vec<String>> {
        match self {
            VarValues::Numeric(_) => None,
            VarValues::Factor { levels, .. } => Some(levels.clone()),
        }
    }

    fn value(&self, i: usize, level: Option<usize>) -> f64 {
        match (self, level) {
            (VarValues::Numeric(x), _) => x[i],
            (VarValues::Factor { codes, .. }, Some(l)) => f64::from(u8::from(codes[i] == l)),
            (VarValues::Factor { .. }, None) => f64::NAN,
        }
    }
}

/// Indices of the columns kept by R's pivoting QR (`lm`, tolerance 1e-7):
/// a column is dropped when its part orthogonal to the kept columns before
/// it has a norm below 1e-7 of its own norm.
fn independent_columns(cols: &[Vec<f64>]) -> Vec<usize> {
    const TOL: f64 = 1e-7;
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut keep = Vec::new();
    for (j, c) in cols.iter().enumerate() {
        let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut r = c.clone();
        for _ in 0..2 {
            // Two passes of modified Gram-Schmidt for stability.
            for q in &basis {
                let d: f64 = r.iter().zip(q).map(|(a, b)| a * b).sum();
                for (a, b) in r.iter_mut().zip(q) {
                    *a -= d * b;
                }
            }
        }
        let rn = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && rn > TOL * norm {
            basis.push(r.iter().map(|v| v / rn).collect());
            keep.push(j);
        }
    }
    keep
}

/// What a fitted design needs to code new data: the formula, each
/// variable's levels and coding, and which columns were kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTerms {
    /// The formula.
    pub formula: Formula,
    /// Levels per variable (None for numeric variables).
    pub levels: Vec<Option<Vec<String>>>,
    /// Per term and variable: contrasts (true) or indicators (false).
    pub codings: Vec<Vec<bool>>,
    /// Indices of the columns kept (into the full column list).
    kept: Vec<usize>,
    /// Names of columns dropped as linear combinations of earlier ones.
    pub dropped: Vec<String>,
}

/// A value of one variable for a new row.
#[derive(Debug, Clone, PartialEq)]
pub enum NewValue {
    /// A number.
    Number(f64),
    /// A factor level (or a number given as text for `factor(x)`).
    Level(String),
}

impl ModelTerms {
    /// The design row (with the intercept's 1 when the model has one) for
    /// moderator values given by column name, coded as the fit's data was:
    /// what metafor's `predict(fit, newmods = )` needs, from the variables
    /// instead of the coded columns.
    pub fn row(&self, values: &[(String, NewValue)]) -> Result<Vec<f64>> {
        let f = &self.formula;
        let mut per_var = Vec::with_capacity(f.variables.len());
        for (v, var) in f.variables.iter().enumerate() {
            let given = values
                .iter()
                .find(|(n, _)| *n == var.column)
                .map(|(_, x)| x)
                .ok_or_else(|| {
                    Error::option(
                        "--newmods",
                        format!("no value for the moderator `{}`", var.column),
                    )
                })?;
            per_var.push(match (&self.levels[v], given) {
                (None, NewValue::Number(x)) => VarValues::Numeric(vec![*x]),
                (None, NewValue::Level(s)) => {
                    VarValues::Numeric(vec![s.trim().parse().map_err(|_| {
                        Error::option(
                            "--newmods",
                            format!("`{}` is numeric; `{s}` is not a number", var.column),
                        )
                    })?])
                }
                (Some(lv), x) => {
                    let label = match x {
                        NewValue::Number(n) => r_number_label(*n),
                        NewValue::Level(s) => match s.trim().parse::<f64>() {
                            Ok(n) if var.as_factor && !lv.contains(s) => r_number_label(n),
                            _ => s.clone(),
                        },
                    };
                    let code = lv.iter().position(|l| *l == label).ok_or_else(|| {
                        Error::option(
                            "--newmods",
                            format!(
                                "`{label}` is not a level of `{}`; the levels are {}",
                                var.label,
                                lv.join(", ")
                            ),
                        )
                    })?;
                    VarValues::Factor {
                        levels: lv.clone(),
                        codes: vec![code],
                    }
                }
            });
        }
        let mut row = Vec::new();
        if f.intercept {
            row.push(1.0);
        }
        for (t, term) in f.terms.iter().enumerate() {
            for (_, parts) in f.term_columns(t, term, &self.levels, &self.codings)? {
                row.push(
                    parts
                        .iter()
                        .map(|p| per_var[p.var].value(0, p.level))
                        .product(),
                );
            }
        }
        Ok(self.kept.iter().map(|&j| row[j]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(f: &str) -> Vec<String> {
        Formula::parse(f).unwrap().term_labels()
    }

    /// R 4.2: attr(terms(~ …), "term.labels").
    #[test]
    fn terms_are_expanded_deduplicated_and_sorted_by_order_as_r() {
        assert_eq!(labels("~ a:b + a + b:c + b*a"), ["a", "b", "a:b", "b:c"]);
        assert_eq!(labels("~ ablat + year"), ["ablat", "year"]);
        assert_eq!(labels("a*b*c").len(), 7);
        assert_eq!(labels("~ (a + b):c"), ["a:c", "b:c"]);
        assert_eq!(labels("~ a*b - a:b"), ["a", "b"]);
        assert_eq!(labels("ablat, year"), ["ablat", "year"]);
    }

    #[test]
    fn zero_and_minus_one_remove_the_intercept() {
        assert!(!Formula::parse("~ 0 + x").unwrap().intercept);
        assert!(!Formula::parse("~ x - 1").unwrap().intercept);
        assert!(Formula::parse("~ x + 1").unwrap().intercept);
        assert!(Formula::parse("~ 1").unwrap().is_intercept_only());
    }

    #[test]
    fn unsupported_syntax_is_refused_with_what_is_supported() {
        for bad in ["~ log(x)", "~ x^2", "~ a +", "~ (a + b", "~ 2 + x", "y ~ x"] {
            let e = Formula::parse(bad).unwrap_err().to_string();
            assert!(e.contains("supported"), "{bad}: {e}");
        }
    }

    #[test]
    fn factor_of_a_number_has_numerically_sorted_levels() {
        let f = Formula::parse("~ factor(d)").unwrap();
        let (x, _) = f
            .design(&[("d".into(), ModColumn::Numeric(vec![10.0, 2.0, 5.0, 2.0]))])
            .unwrap();
        assert_eq!(x.names, ["intrcpt", "factor(d)5", "factor(d)10"]);
    }

    #[test]
    fn redundant_columns_are_dropped_as_metafor_does() {
        let f = Formula::parse("~ x + z").unwrap();
        let (x, t) = f
            .design(&[
                ("x".into(), ModColumn::Numeric(vec![1.0, 2.0, 3.0, 4.0])),
                ("z".into(), ModColumn::Numeric(vec![2.0, 4.0, 6.0, 8.0])),
            ])
            .unwrap();
        assert_eq!(x.names, ["intrcpt", "x"]);
        assert_eq!(t.dropped, ["z"]);
    }
}
