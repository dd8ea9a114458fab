//! The standard battery run after a fit, each part with the reason when it
//! cannot run: leave-one-out, influence, cumulative by year, Egger's
//! regression test (k ≥ 3) and trim and fill (k ≥ 3). Used by `spotmeta
//! sensitivity` and the report, for the spot dataset and for any table.
//! [`Diagnostics::apply_small_study_rule`] then keeps Egger's test and trim
//! and fill only with enough studies ([`crate::analysis::rules`], issue #16).

use super::cumul::{CumulStep, cumul, order_by};
use super::influence::{Influence, influence};
use super::leave1out::{Leave1Out, leave1out};
use super::regtest::{Regtest, RegtestModel, regtest};
use super::rules::ReviewRules;
use super::trimfill::{TrimFill, trimfill};
use crate::error::{Error, Result};
use crate::model::{RmaFit, ValidRmaOptions};
use serde::Serialize;

/// A result, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome<T> {
    /// The analysis ran.
    Done(T),
    /// It could not run, and why.
    NotRun {
        /// Why.
        reason: String,
    },
}

impl<T> Outcome<T> {
    /// The result, if any.
    pub fn done(&self) -> Option<&T> {
        match self {
            Outcome::Done(t) => Some(t),
            Outcome::NotRun { .. } => None,
        }
    }

    fn from(r: Result<T>) -> Result<Outcome<T>> {
        match r {
            Ok(t) => Ok(Outcome::Done(t)),
            Err(Error::Unsupported(reason)) => Ok(Outcome::NotRun { reason }),
            Err(e) => Err(e),
        }
    }
}

/// The diagnostics of one fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Study labels, in input order.
    pub labels: Vec<String>,
    /// metafor `leave1out()`.
    pub leave1out: Outcome<Vec<Leave1Out>>,
    /// metafor `influence()`.
    pub influence: Outcome<Vec<Influence>>,
    /// metafor `cumul()` by year (input order for ties).
    pub cumul: Outcome<Vec<CumulStep>>,
    /// metafor `regtest()` (model "rma").
    pub regtest: Outcome<Regtest>,
    /// metafor `trimfill()` (L0).
    pub trimfill: Outcome<TrimFill>,
    /// Egger's test and trim and fill ran below the small-study threshold on
    /// request (`--small-study`): underpowered, descriptive only.
    pub small_study_underpowered: bool,
}

impl Diagnostics {
    /// The small-study rule: with fewer than `rules.small_study_min_k`
    /// studies Egger's test and trim and fill are replaced by the reason
    /// (Cochrane Handbook §13.3.5.4), unless `rules.force_small_study`, which
    /// keeps them and marks them underpowered.
    pub fn apply_small_study_rule(&mut self, studies: usize, rules: &ReviewRules) {
        match rules.small_study(studies) {
            Ok(underpowered) => self.small_study_underpowered = underpowered,
            Err(reason) => {
                self.regtest = Outcome::NotRun {
                    reason: reason.clone(),
                };
                self.trimfill = Outcome::NotRun { reason };
                self.small_study_underpowered = false;
            }
        }
    }
}

/// Run the battery for `fit` on `yi`, `vi` (`years` orders the cumulative
/// analysis; without years it is not run). Leave-one-out, influence and the
/// cumulative analysis refit the model once per study; above `refit_max_k`
/// studies they are not run, with the reason ([`ReviewRules::refit_max_k`]).
pub fn diagnose(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    years: Option<&[f64]>,
    fit: &RmaFit,
    opts: &ValidRmaOptions,
    refit_max_k: usize,
) -> Result<Diagnostics> {
    let k = yi.len();
    let opts = opts.with_method(fit.method).with_test(fit.test);
    let need2 =
        |what: &str| Error::Unsupported(format!("{what} needs at least 2 studies (k = {k})"));
    let capped = |what: &str, command: &str| {
        Error::Unsupported(format!(
            "{what} not run for k = {k}: it refits the model once per study (O(k²)), and the report runs it up to k = {refit_max_k}; `spotmeta {command} FILE` runs it"
        ))
    };
    Ok(Diagnostics {
        labels: labels.to_vec(),
        leave1out: Outcome::from(if k > refit_max_k {
            Err(capped("leave-one-out", "leave1out"))
        } else if k >= 2 {
            leave1out(yi, vi, &opts)
        } else {
            Err(need2("leave-one-out"))
        })?,
        influence: Outcome::from(if k > refit_max_k {
            Err(capped("influence diagnostics", "influence"))
        } else {
            influence(yi, vi, fit, &opts)
        })?,
        cumul: Outcome::from(match years {
            Some(_) if k > refit_max_k => Err(capped(
                "the cumulative meta-analysis",
                "cumul --order COLUMN",
            )),
            Some(y) if k >= 2 => cumul(yi, vi, &order_by(y), &opts),
            Some(_) => Err(need2("a cumulative meta-analysis")),
            None => Err(Error::Unsupported(
                "no publication years to order by".into(),
            )),
        })?,
        regtest: Outcome::from(regtest(yi, vi, RegtestModel::Rma, &opts))?,
        trimfill: Outcome::from(trimfill(yi, vi, &opts))?,
        small_study_underpowered: false,
    })
}

/// One of metafor's diagnostics asked for on its own, on any table
/// (`spotmeta leave1out | influence | cumul | regtest | trimfill`).
#[derive(Debug, Clone, PartialEq)]
pub enum Diagnostic {
    /// metafor `leave1out()`.
    Leave1out,
    /// metafor `influence()`.
    Influence,
    /// metafor `cumul(order = )`: studies added in the order of `column`
    /// (numerically when every value is a number, else as text; empty
    /// cells last).
    Cumul {
        /// The ordering column.
        column: String,
        /// Largest first.
        decreasing: bool,
    },
    /// metafor `regtest(model = )`.
    Regtest(RegtestModel),
    /// metafor `trimfill()`.
    Trimfill,
}

impl Diagnostic {
    /// The diagnostic of metafor's function `name` (`leave1out`,
    /// `influence`, `cumul`, `regtest`, `trimfill`): `cumul` is ordered by
    /// `order` (`decreasing` for largest first), `regtest` is Egger's
    /// weighted least squares with `lm`, else the mixed-effects model.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] for `cumul` without an order (the
    /// order is a choice) or an unknown name.
    pub fn named(
        name: &str,
        order: Option<String>,
        decreasing: bool,
        lm: bool,
    ) -> crate::error::Result<Diagnostic> {
        Ok(match name {
            "leave1out" => Diagnostic::Leave1out,
            "influence" => Diagnostic::Influence,
            "cumul" => Diagnostic::Cumul {
                column: order.ok_or_else(|| {
                    crate::error::Error::Unsupported(
                        "cumul needs --order COLUMN (the order is a choice, e.g. --order year)"
                            .into(),
                    )
                })?,
                decreasing,
            },
            "regtest" if lm => Diagnostic::Regtest(RegtestModel::Lm),
            "regtest" => Diagnostic::Regtest(RegtestModel::Rma),
            "trimfill" => Diagnostic::Trimfill,
            other => {
                return Err(crate::error::Error::Unsupported(format!(
                    "`{other}` is not one of leave1out, influence, cumul, regtest, trimfill"
                )));
            }
        })
    }

    /// metafor's name of the function (the subcommand, and the `command`
    /// of its JSON document).
    pub fn name(&self) -> &'static str {
        match self {
            Diagnostic::Leave1out => "leave1out",
            Diagnostic::Influence => "influence",
            Diagnostic::Cumul { .. } => "cumul",
            Diagnostic::Regtest(_) => "regtest",
            Diagnostic::Trimfill => "trimfill",
        }
    }
}

/// What a [`Diagnostic`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DiagnosticResult {
    /// One fit per omitted study.
    Leave1out(Vec<Leave1Out>),
    /// One row per study.
    Influence(Vec<Influence>),
    /// One fit per study added.
    Cumul(Vec<CumulStep>),
    /// The regression test.
    Regtest(Regtest),
    /// Trim and fill.
    Trimfill(TrimFill),
}

/// A [`Diagnostic`] run on a table: the result and the labels of the
/// studies it used (those with an effect size, in file order).
#[derive(Debug, Clone, PartialEq)]
pub struct TableDiagnostic {
    /// What was asked for.
    pub which: Diagnostic,
    /// Study labels, by position among the studies used.
    pub labels: Vec<String>,
    /// The result.
    pub result: DiagnosticResult,
}

/// Run `which` on the rows of `table` that have an effect size (read as
/// yi/vi or computed from raw columns, as `source` says; labels from
/// `slab`), with the model `opts`.
///
/// # Errors
///
/// [`Error::Unsupported`] for influence with fewer than 3 studies;
/// [`Error::NoSuchColumn`] for a cumul order column the table lacks;
/// otherwise the effect-size and model errors.
pub fn on_table(
    table: &crate::data::Table,
    source: &crate::escalc::table::Source,
    slab: Option<&str>,
    which: &Diagnostic,
    opts: &ValidRmaOptions,
) -> Result<TableDiagnostic> {
    let rows = crate::escalc::table::effects(table, source, slab)?;
    // A row without yi has no vi either (`effects` fills both or neither).
    let used: Vec<_> = rows.iter().filter(|r| r.yi.is_some()).collect();
    let yi: Vec<f64> = used.iter().map(|r| r.yi.unwrap_or(f64::NAN)).collect();
    let vi: Vec<f64> = used.iter().map(|r| r.vi.unwrap_or(f64::NAN)).collect();
    let labels: Vec<String> = used.iter().map(|r| r.label.clone()).collect();
    let result = match which {
        Diagnostic::Leave1out => DiagnosticResult::Leave1out(leave1out(&yi, &vi, opts)?),
        Diagnostic::Influence => {
            if let Some(e) = super::influence::too_few(yi.len()) {
                return Err(e);
            }
            let fit = crate::model::rma(&yi, &vi, opts)?;
            DiagnosticResult::Influence(influence(&yi, &vi, &fit, opts)?)
        }
        Diagnostic::Cumul { column, decreasing } => {
            let c = table.column(column).ok_or_else(|| Error::NoSuchColumn {
                file: table.path.clone(),
                column: column.clone(),
                purpose: "for --order".into(),
                headers: table.headers.clone(),
            })?;
            // The order column's cell of each study used, found by line.
            let by_line: std::collections::HashMap<u64, &str> = table
                .rows
                .iter()
                .map(|t| (t.line, t.fields[c].trim()))
                .collect();
            let values: Vec<Option<String>> = used
                .iter()
                .map(|r| {
                    by_line
                        .get(&r.line)
                        .filter(|v| !v.is_empty() && **v != "NA")
                        .map(|v| (*v).to_string())
                })
                .collect();
            let order = super::cumul::order_by_column(&values, *decreasing);
            DiagnosticResult::Cumul(cumul(&yi, &vi, &order, opts)?)
        }
        Diagnostic::Regtest(model) => DiagnosticResult::Regtest(regtest(&yi, &vi, *model, opts)?),
        Diagnostic::Trimfill => DiagnosticResult::Trimfill(trimfill(&yi, &vi, opts)?),
    };
    Ok(TableDiagnostic {
        which: which.clone(),
        labels,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Method, RmaOptions, TestKind, rma};

    /// `on_table` skips rows without an effect size, keeps their labels
    /// aligned with the studies used, orders `cumul` by the column's cell of
    /// each used row (empty last), and equals the diagnostic run on the
    /// slices directly.
    #[test]
    fn on_table_uses_the_rows_with_an_effect_size_in_the_column_order() {
        let csv = "slab,year,yi,vi\nA,2001,0.1,0.04\nB,1999,,\nC,,0.5,0.09\nD,1990,-0.2,0.05\n";
        let table = crate::data::Table::from_reader("t.csv", csv.as_bytes()).unwrap();
        let source = crate::escalc::table::Source::YiVi {
            yi: "yi".into(),
            vi: "vi".into(),
        };
        let opts = RmaOptions::default().check().unwrap();
        let cumul_by_year = Diagnostic::Cumul {
            column: "year".into(),
            decreasing: false,
        };
        let d = on_table(&table, &source, Some("slab"), &cumul_by_year, &opts).unwrap();
        assert_eq!(d.labels, ["A", "C", "D"]);
        let (yi, vi) = ([0.1, 0.5, -0.2], [0.04, 0.09, 0.05]);
        // D (1990), A (2001), then C (no year).
        let direct = cumul(&yi, &vi, &[2, 0, 1], &opts).unwrap();
        assert_eq!(d.result, DiagnosticResult::Cumul(direct));
        let l = on_table(&table, &source, Some("slab"), &Diagnostic::Leave1out, &opts).unwrap();
        assert_eq!(
            l.result,
            DiagnosticResult::Leave1out(leave1out(&yi, &vi, &opts).unwrap())
        );
        let missing = Diagnostic::Cumul {
            column: "yaer".into(),
            decreasing: false,
        };
        assert!(matches!(
            on_table(&table, &source, Some("slab"), &missing, &opts),
            Err(Error::NoSuchColumn { .. })
        ));
    }

    /// Above `refit_max_k` the three per-study refits are not run and say
    /// why; the single-fit diagnostics still run. At the cap they run.
    #[test]
    fn refits_above_the_cap_are_not_run_and_say_why() {
        let k = 12;
        let vi: Vec<f64> = (0..k).map(|i| 0.01 + 0.02 * i as f64).collect();
        let yi: Vec<f64> = vi.iter().map(|v| 0.1 + 2.0 * v).collect();
        let years: Vec<f64> = (0..k).map(|i| 2000.0 + i as f64).collect();
        let labels: Vec<String> = (0..k).map(|i| format!("S{i}")).collect();
        let opts = RmaOptions::default().check().unwrap();
        let fit = rma(&yi, &vi, &opts).unwrap();
        let capped = diagnose(&yi, &vi, &labels, Some(&years), &fit, &opts, k - 1).unwrap();
        for reason in [
            capped.leave1out.map_reason(),
            capped.influence.map_reason(),
            capped.cumul.map_reason(),
        ] {
            let reason = reason.expect("not run above the cap");
            assert!(
                reason.contains("k = 12") && reason.contains("up to k = 11"),
                "{reason}"
            );
        }
        assert!(capped.regtest.done().is_some() && capped.trimfill.done().is_some());
        let at_cap = diagnose(&yi, &vi, &labels, Some(&years), &fit, &opts, k).unwrap();
        assert!(at_cap.leave1out.done().is_some() && at_cap.influence.done().is_some());
        assert!(at_cap.cumul.done().is_some());
    }

    /// 12 synthetic studies with a small-study pattern (larger effects with
    /// larger variances), so Egger's test and trim and fill can run.
    fn battery(k: usize) -> Diagnostics {
        let vi: Vec<f64> = (0..k).map(|i| 0.01 + 0.02 * i as f64).collect();
        let yi: Vec<f64> = vi
            .iter()
            .enumerate()
            .map(|(i, v)| 0.1 + 2.0 * v + 0.03 * (i % 3) as f64)
            .collect();
        let labels: Vec<String> = (0..k).map(|i| format!("s{i}")).collect();
        let opts = RmaOptions {
            method: Method::REML,
            test: TestKind::Z,
            ..Default::default()
        }
        .check()
        .unwrap();
        let fit = rma(&yi, &vi, &opts).unwrap();
        diagnose(&yi, &vi, &labels, None, &fit, &opts, usize::MAX).unwrap()
    }

    #[test]
    fn small_study_methods_run_from_ten_studies() {
        let mut d = battery(10);
        d.apply_small_study_rule(10, &ReviewRules::default());
        assert!(d.regtest.done().is_some() && d.trimfill.done().is_some());
        assert!(!d.small_study_underpowered);
    }

    #[test]
    fn below_ten_studies_they_do_not_run_and_say_why() {
        let mut d = battery(6);
        assert!(d.regtest.done().is_some(), "k = 6 can be computed");
        d.apply_small_study_rule(6, &ReviewRules::default());
        for o in [
            &d.regtest.clone().map_reason(),
            &d.trimfill.clone().map_reason(),
        ] {
            let why = o.as_deref().expect("not run");
            assert!(why.starts_with("only 6 studies (fewer than 10)"));
            assert!(why.contains("§13.3.5.4") && why.contains("--small-study"));
        }
    }

    #[test]
    fn forced_below_ten_they_run_labelled_underpowered() {
        let mut d = battery(6);
        let rules = ReviewRules {
            force_small_study: true,
            ..ReviewRules::default()
        };
        d.apply_small_study_rule(6, &rules);
        assert!(d.regtest.done().is_some() && d.trimfill.done().is_some());
        assert!(d.small_study_underpowered);
        let notes = crate::output::funnel::small_study_notes(&d);
        assert!(
            notes.iter().all(|n| n.starts_with("Underpowered")),
            "{notes:?}"
        );
    }

    /// Cluster count, not effect-size count, decides: 12 effect sizes from
    /// 6 studies stay below the rule.
    #[test]
    fn the_rule_counts_studies_not_effect_sizes() {
        let mut d = battery(12);
        d.apply_small_study_rule(6, &ReviewRules::default());
        assert!(d.regtest.done().is_none() && d.trimfill.done().is_none());
    }

    trait Reason {
        fn map_reason(self) -> Option<String>;
    }
    impl<T> Reason for Outcome<T> {
        fn map_reason(self) -> Option<String> {
            match self {
                Outcome::NotRun { reason } => Some(reason),
                Outcome::Done(_) => None,
            }
        }
    }
}
