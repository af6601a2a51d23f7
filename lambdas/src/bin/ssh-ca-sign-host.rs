//! `ssh-ca-sign-host`: signs hosts' certificates.
#![forbid(unsafe_code)]

use lambdas::ssh_ca::{Kind, Signer};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| Signer::init(env, Kind::Host))
}
