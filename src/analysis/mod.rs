//! Stage 4 — analyses on a fitted model.
//!
//! | module | metafor | consumes | produces |
//! |---|---|---|---|
//! | [`heterogeneity`] | `confint(rma)` | yi, vi, a fit | Q-profile CIs for τ², τ, I², H² |
//! | [`confounds`] | — | a dataset row (+ its effect size) | energy-expenditure and other confound flags |
//! | [`leave1out`] | `leave1out()` | yi, vi, options | the fit without each study |
//! | [`cumul`] | `cumul()` | yi, vi, an order | fits on the first 1..k studies |
//! | [`influence`] | `influence()` | yi, vi, a fit | studentized residuals, DFFITS, Cook's D, hat, weight |
//! | [`regtest`] | `regtest()` | yi, vi, options | Egger-type test for funnel asymmetry |
//! | [`trimfill`] | `trimfill()` | yi, vi, options | estimated missing studies and the adjusted fit |
//! | [`permutest`] | `permutest()` | a meta-regression | permutation p-values |
//! | [`subgroup`] | `rma(subset=)` per level | yi, vi, labels | subgroup fits and Q-between |
//! | [`sensitivity`] | — | the spot dataset | pooled effect with/without flagged studies, by imputed r |
//! | [`diagnostics`] | — | yi, vi, a fit | the battery above, with reasons where k is too small |
//! | [`aggregate`] | `aggregate.escalc()` | yi, vi, clusters, ρ | one effect per cluster |
//! | [`albatross`] | — | the vote-count evidence | albatross-plot points and effect contours |
//! | [`vote`] | `binom.test` | the spot dataset | sign test, effects from p-values, agreement |
//! | [`multilevel_primary`] | `rma.mv` + `robust()` | the spot dataset | all outcomes, three-level model + CR2, or why not |
//! | [`rob`] | robvis / `meta::rob()` | the spot dataset's `rob_*` columns + confound flags | RoB 2 / ROBINS-I per row, deviations domain derived from the flags |
//! | [`summary`] | `print(rma)` | a fit and its τ² CI | the flat summary of every number (JSON, batch columns) |
//! | [`primary`] | — | the spot dataset | primary-analysis rows, fit, reasons for rows left out |
//! | [`grade`] | — (GRADEpro) | a fit + per-study design, RoB, indirectness signals | GRADE certainty, each step with its rule and reason |

pub mod aggregate;
pub mod albatross;
pub mod confounds;
pub mod cumul;
pub mod diagnostics;
pub mod grade;
pub mod heterogeneity;
pub mod influence;
pub mod leave1out;
pub mod multilevel_primary;
pub mod permutest;
pub mod primary;
pub mod regtest;
pub mod rob;
pub mod rules;
pub mod sensitivity;
pub mod subgroup;
pub mod summary;
pub mod trimfill;
pub mod vote;

pub use heterogeneity::{Tau2Ci, confint, confint_or_why};
