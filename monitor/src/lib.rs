//! Record AWS configuration, detect drift, audit it and alert on new issues (not yet built: issue 6).
//!
//! This crate is an empty member of the workspace until its issue is done.
#![forbid(unsafe_code)]
