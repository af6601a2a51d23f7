//! `ssh-ca-sign`: signs engineers' user certificates.
#![forbid(unsafe_code)]

use lambdas::ssh_ca::{Kind, Signer};

fn main() -> std::process::ExitCode {
    lambdas::main(std::env::vars(), |env| Signer::init(env, Kind::User))
}
