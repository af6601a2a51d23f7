//! Arguments, dispatch and the pieces every command shares.

mod diff;
mod eval;
mod expand;
mod exposure;
mod input;
mod lint;
mod minimize;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// The IAM policy language: expand, minimize, evaluate, lint, find exposure, diff.
///
/// Every FILE may be `-` for standard input. Policy files are IAM JSON
/// documents, raw or URL-encoded as IAM APIs return them; `lint` and
/// `exposure` also read a whole `aws iam get-account-authorization-details`
/// export.
#[derive(Debug, Parser)]
#[command(name = "policies", version, max_term_width = 100)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Expand(expand::Args),
    Minimize(minimize::Args),
    Eval(eval::Args),
    Lint(lint::Args),
    Exposure(exposure::Args),
    Diff(diff::Args),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// JSON for scripts.
    Json,
}

/// Whether the command found what it looks for (exit 1) or not (exit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing found, or allowed.
    Clean,
    /// Findings, a denial, or differences.
    Found,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Found => ExitCode::from(1),
        }
    }
}

impl Outcome {
    fn found_if(found: bool) -> Outcome {
        if found {
            Outcome::Found
        } else {
            Outcome::Clean
        }
    }
}

/// Runs one command.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        Command::Expand(args) => expand::run(&args),
        Command::Minimize(args) => minimize::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Exposure(args) => exposure::run(&args),
        Command::Diff(args) => diff::run(&args),
    }
}

/// Prints a value as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A file argument, `-` meaning standard input.
type FileArg = PathBuf;
