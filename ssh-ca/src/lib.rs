//! Sign short-lived SSH certificates for engineers and hosts (not yet built: issue 3).
//!
//! This crate is an empty member of the workspace until its issue is done.
#![forbid(unsafe_code)]
