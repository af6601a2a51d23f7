//! The IAM policy language engine shared by every tool of the toolkit.
//!
//! # Overview
//! - [`Policy`] (module [`model`]): the whole JSON grammar, parsed with errors
//!   that name the JSON path, and written back in the shape it was read.
//! - [`arn`]: ARNs, parsed and formatted.
//! - [`glob`]: IAM's `*`/`?` wildcard matching.
#![forbid(unsafe_code)]

pub mod arn;
pub mod glob;
pub mod model;

pub use model::{Effect, OneOrMany, ParseError, Policy, Statement};
