//! `repokid-update`: the scheduled inventory and access-data collection.
#![forbid(unsafe_code)]

use lambdas::repokid::{Job, Repokid};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| Repokid::init(env, Job::Update))
}
