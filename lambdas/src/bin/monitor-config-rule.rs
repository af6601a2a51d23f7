//! `monitor-config-rule`: monitor's audit as an AWS Config custom rule.
#![forbid(unsafe_code)]

use lambdas::monitor::{ConfigRuleFunction, Job, deps};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| async move {
        deps(&env, Job::ConfigRule).await.map(ConfigRuleFunction)
    })
}
