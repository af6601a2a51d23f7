//! `policies expand`: action patterns to the exact actions they grant.

use policies::catalogue::Catalogue;
use policies::expand::{expand, expand_not};
use serde_json::json;

use super::{Format, Outcome, print_json};

/// List the AWS actions that action patterns match.
///
/// Patterns match as IAM's `Action` element does: `*` and `?` wildcards,
/// any case. Exits 1 when a pattern matches no action (a typo or an unknown
/// service), after printing what the others match.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Action patterns, e.g. `s3:Get*` or `*`.
    #[arg(required = true)]
    patterns: Vec<String>,
    /// List the actions none of the patterns match, as `NotAction` grants.
    #[arg(long)]
    not: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let cat = Catalogue::builtin();
    let expansion = if args.not {
        expand_not(cat, &args.patterns)
    } else {
        expand(cat, &args.patterns)
    };
    let actions: Vec<_> = expansion
        .actions
        .iter()
        .filter_map(|id| cat.get(id))
        .collect();
    match args.format {
        Format::Json => print_json(&json!({
            "actions": actions.iter().map(|a| json!({
                "action": a.to_string(),
                "access_level": a.access_level().as_str(),
            })).collect::<Vec<_>>(),
            "unmatched": expansion.unmatched.iter().map(|u| json!({
                "pattern": u.pattern,
                "reason": u.reason.as_str(),
            })).collect::<Vec<_>>(),
        }))?,
        Format::Table => {
            let width = actions
                .iter()
                .map(|a| a.to_string().len())
                .max()
                .unwrap_or(0);
            for action in &actions {
                println!("{:<width$}  {}", action.to_string(), action.access_level());
            }
        }
    }
    for miss in &expansion.unmatched {
        eprintln!(
            "warning: `{}` matches no action: {}",
            miss.pattern,
            miss.reason.as_str()
        );
    }
    Ok(Outcome::found_if(!expansion.unmatched.is_empty()))
}
