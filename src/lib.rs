#![doc = include_str!("../README.md")]
//!
//! ## Crate map
//!
//! The pipeline mirrors R's **metafor**: [`data`] (load and check studies) →
//! [`escalc`] (effect sizes) → [`model`] ([`rma`]: common and random-effects
//! pooling) → [`analysis`] (Q-profile CIs, the primary analysis) → [`output`]
//! (text like `print.rma`, JSON).
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
pub mod review;
// Scale (issue #7): many fits at once.
pub mod batch;
pub mod gosh;
pub mod simulate;

pub use error::{Error, Result};
pub use model::{Method, RmaFit, RmaOptions, TestKind, ValidRmaOptions, rma};
