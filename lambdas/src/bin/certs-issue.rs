//! `certs-issue`: issues a certificate on request.
#![forbid(unsafe_code)]

use lambdas::certs::{IssueFunction, Job, deps};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| async move {
        deps(&env, Job::Issue).await.map(IssueFunction)
    })
}
