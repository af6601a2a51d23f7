//! `monitor-account`: the per-account worker of the scheduled audit (SQS,
//! partial batch failures).
#![forbid(unsafe_code)]

use lambdas::monitor::{AccountFunction, Job, deps};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| async move {
        deps(&env, Job::Account).await.map(AccountFunction)
    })
}
