//! `policies minimize`: rewrite a policy's actions as the fewest patterns.

use policies::catalogue::Catalogue;
use policies::expand::expand;
use policies::minimize::{Options, minimize_set};
use policies::model::{Effect, OneOrMany};

use super::{FileArg, Format, Outcome, input};

/// Rewrite each Allow statement's `Action` list as the fewest wildcard
/// patterns that grant exactly the same catalogue actions.
///
/// Deny statements, `NotAction`, resources and conditions are left as they
/// are. Patterns that match no known action are kept verbatim. The policy is
/// printed as JSON; a summary per statement goes to stderr. A wildcard grants
/// actions AWS adds later too: use `--min-length` to keep patterns specific.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy file, or `-`.
    file: FileArg,
    /// Never write a pattern that keeps fewer than N characters of the action
    /// name before its `*` (exact names are always allowed).
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_length: usize,
    /// Write a service whose every action is granted as `service:*`.
    #[arg(long)]
    collapse_services: bool,
    /// `table` pretty-prints the policy, `json` prints it on one line.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let cat = Catalogue::builtin();
    let mut policy = input::policy(&args.file)?;
    let options = Options {
        min_prefix_len: args.min_length,
        collapse_services: args.collapse_services,
    };
    for (index, statement) in policy.statements.as_mut_slice().iter_mut().enumerate() {
        if statement.effect != Effect::Allow || statement.action.negated {
            continue;
        }
        let before = statement.action.value.len();
        let expansion = expand(cat, statement.action.value.iter());
        let mut patterns = minimize_set(cat, &expansion.actions, &options);
        patterns.extend(expansion.unmatched.into_iter().map(|u| u.pattern));
        eprintln!(
            "Statement[{index}]: {} actions, {before} patterns -> {}",
            expansion.actions.len(),
            patterns.len()
        );
        statement.action.value = match statement.action.value {
            OneOrMany::One(_) if patterns.len() == 1 => OneOrMany::from_vec(patterns),
            _ => OneOrMany::Many(patterns),
        };
    }
    let value = policy.to_value();
    match args.format {
        Format::Table => println!("{}", serde_json::to_string_pretty(&value)?),
        Format::Json => println!("{value}"),
    }
    Ok(Outcome::Clean)
}
