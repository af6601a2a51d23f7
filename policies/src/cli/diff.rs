//! `policies diff`: what a new version of a policy grants differently.

use policies::catalogue::Catalogue;
use policies::diff::diff;

use super::{FileArg, Format, Outcome, input, print_json};

/// Compare two policies by what they grant, not how they are written.
///
/// Lists the actions granted and revoked (as the fewest patterns), and the
/// resources or conditions that changed for actions both grant. Exits 0 when
/// they grant the same, 1 when they differ.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old policy, or `-`.
    old: FileArg,
    /// The new policy, or `-`.
    new: FileArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    if args.old.as_os_str() == "-" && args.new.as_os_str() == "-" {
        anyhow::bail!("only one of OLD and NEW can be `-` (standard input)");
    }
    let old = input::policy(&args.old)?;
    let new = input::policy(&args.new)?;
    let difference = diff(Catalogue::builtin(), &old, &new);
    match args.format {
        Format::Json => print_json(&difference)?,
        Format::Table if difference.is_empty() => println!("no difference in what they grant"),
        Format::Table => {
            if difference.granted_count > 0 {
                println!(
                    "granted ({} actions): {}",
                    difference.granted_count,
                    difference.granted.join(", ")
                );
            }
            if difference.revoked_count > 0 {
                println!(
                    "revoked ({} actions): {}",
                    difference.revoked_count,
                    difference.revoked.join(", ")
                );
            }
            for change in &difference.changed {
                println!("changed for {}:", change.actions.join(", "));
                for added in &change.added {
                    println!("  + {added}");
                }
                for removed in &change.removed {
                    println!("  - {removed}");
                }
            }
        }
    }
    Ok(Outcome::found_if(!difference.is_empty()))
}
