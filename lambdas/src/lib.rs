//! Lambda bootstrap binaries for the toolkit's functions, and the shared code
//! they run on.
//!
//! # Overview
//!
//! Each binary in `src/bin/` is one function and a few lines long: it calls
//! [`boot::main`] with the process's environment and an `init` that builds
//! the function's [`boot::Handler`] once. `boot::main` then
//!
//! 1. logs JSON lines (`tracing`), keeping the runtime's event-logging
//!    `trace` level off so that tokens never reach a log;
//! 2. checks the Lambda environment and runs `init`, whose configuration
//!    comes from environment variables read through [`env::Env`]; a missing
//!    or invalid variable is named in the error, reported to Lambda's init
//!    error endpoint, and the process exits 1 before polling for events;
//! 3. serves events with `lambda_runtime`: [`boot::invoke`] parses each
//!    event into the handler's type (a wrong shape is an `InvalidEvent`
//!    error response naming the field) and calls the handler, whose failures
//!    are [`err::HandlerError`]s with a stable `errorType`. The process keeps
//!    serving after a failed event.
//!
//! The handlers wrap the tool crates' own: [`ssh_ca`] (`ssh-ca-sign`,
//! `ssh-ca-sign-host`), [`certs`] (`certs-issue`, `certs-expiry`),
//! [`monitor`] (`monitor-audit`, `monitor-account`, `monitor-config-rule`)
//! and [`repokid`] (`repokid-update`, `repokid-repo-scheduled`).
//! `template.yaml` beside this crate deploys them. SQS workers answer
//! partial batch failures through [`sqs::partial_batch`].
#![forbid(unsafe_code)]

pub mod aws;
pub mod boot;
pub mod certs;
pub mod env;
pub mod err;
pub mod monitor;
pub mod repokid;
pub mod sqs;
pub mod ssh_ca;

pub use boot::{Handler, Invocation, invoke, main};
pub use env::Env;
pub use err::{HandlerError, InitError};
