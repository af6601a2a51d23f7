//! Right-size IAM roles from access history, with rollback (not yet built: issue 5).
//!
//! This crate is an empty member of the workspace until its issue is done.
#![forbid(unsafe_code)]
