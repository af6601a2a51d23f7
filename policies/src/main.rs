//! `policies`: the IAM policy language from the command line.
//!
//! Exit codes: 0 when all is well (for `eval`, Allow); 1 when the command
//! found what it looks for (`eval` denied, `lint` findings at or above
//! `--fail-on`, `exposure` open to the internet or to unknown accounts,
//! `diff` differences, `expand` patterns that match nothing); 2 when the input
//! or the arguments are wrong, with the reason on stderr.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
