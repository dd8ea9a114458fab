//! Stage 4 — analyses on a fitted model.
//!
//! | module | metafor | consumes | produces |
//! |---|---|---|---|
//! | [`heterogeneity`] | `confint(rma)` | yi, vi, a fit | Q-profile CIs for τ², τ, I², H² |
//!
//! Sensitivity analyses, subgroup tests, influence diagnostics and the
//! energy-expenditure confound rules arrive with later issues.

pub mod heterogeneity;

pub use heterogeneity::{Tau2Ci, confint};
