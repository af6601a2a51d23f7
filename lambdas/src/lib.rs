//! Lambda bootstrap binaries and the SAM template (not yet built: issue 7).
//!
//! This crate is an empty member of the workspace until its issue is done.
#![forbid(unsafe_code)]
