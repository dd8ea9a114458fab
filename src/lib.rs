#![doc = include_str!("../README.md")]
//!
//! ## Crate map
//!
//! The pipeline mirrors R's **metafor**: [`data`] (load and check studies;
//! safe writes) → [`escalc`] (effect sizes) → [`model`] ([`rma`]: common and
//! random-effects pooling) → [`analysis`] (Q-profile CIs, the primary
//! analysis, flags, sensitivity) → [`review`] ("analyse this dataset":
//! [`review::run`] → one [`review::Findings`] value) → [`output`]
//! (renderers only: text like `print.rma`, JSON, plots, the report). The
//! whole report in three calls is [`review`]'s example.
//!
//! ```
//! use spotmeta::{rma, Method, RmaOptions, TestKind};
//! // metafor: rma(yi, vi, method = "DL")
//! let yi = [0.1, 0.3, 0.35, 0.65, 0.45, 0.15];
//! let vi = [0.03, 0.03, 0.05, 0.01, 0.05, 0.02];
//! let opts = RmaOptions { method: Method::DL, test: TestKind::Z, ..Default::default() };
//! let fit = rma(&yi, &vi, &opts.check().unwrap()).unwrap();
//! assert!(fit.estimate > 0.0 && fit.tau2 >= 0.0);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod analysis;
pub mod data;
pub mod dist;
pub mod error;
pub mod escalc;
pub mod model;
pub mod output;
// One pipeline (issue #18): "analyse this dataset" as one call.
pub mod review;
// Scale (issue #7): many fits at once.
pub mod batch;
pub mod gosh;
pub mod simulate;

pub use error::{Error, Result};
pub use model::{Method, RmaFit, RmaOptions, TestKind, ValidRmaOptions, rma};
