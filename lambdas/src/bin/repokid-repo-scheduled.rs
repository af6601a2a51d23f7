//! `repokid-repo-scheduled`: repos the roles whose schedule is due.
#![forbid(unsafe_code)]

use lambdas::repokid::{Job, Repokid};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| {
        Repokid::init(env, Job::RepoScheduled)
    })
}
