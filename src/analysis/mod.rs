//! Stage 4 — analyses on a fitted model.
//!
//! | module | metafor | consumes | produces |
//! |---|---|---|---|
//! | [`heterogeneity`] | `confint(rma)` | yi, vi, a fit | Q-profile CIs for τ², τ, I², H² |
//! | [`primary`] | — | the spot dataset | primary-analysis rows, fit, reasons for rows left out |
//!
//! Sensitivity analyses, subgroup tests, influence diagnostics and the
//! energy-expenditure confound rules arrive with later issues.

pub mod heterogeneity;
pub mod primary;

pub use heterogeneity::{Tau2Ci, confint};
