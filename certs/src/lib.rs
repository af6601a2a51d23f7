//! Issue, inventory, rotate and revoke TLS certificates with ACM (not yet built: issue 4).
//!
//! This crate is an empty member of the workspace until its issue is done.
#![forbid(unsafe_code)]
