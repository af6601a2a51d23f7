//! `monitor-audit`: the scheduled audit's fan-out, one SQS task per account
//! and region (EventBridge).
#![forbid(unsafe_code)]

use lambdas::monitor::{AuditFunction, Job, deps};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| async move {
        deps(&env, Job::Audit).await.map(AuditFunction)
    })
}
