//! `certs-expiry`: the scheduled expiry notices and rotation (EventBridge).
#![forbid(unsafe_code)]

use lambdas::certs::{ExpiryFunction, Job, deps};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| async move {
        deps(&env, Job::Expiry).await.map(ExpiryFunction)
    })
}
