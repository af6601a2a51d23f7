//! `monitor history RESOURCE`: every recorded revision of one resource.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Result, bail};
use monitor::model::ResourceKey;
use time::format_description::well_known::Rfc3339;

use super::drift::print_changes;
use super::{Context, Format};

/// `monitor history` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The resource, as `ACCOUNT/REGION/TYPE/ID` (IAM resources use the region `global`).
    resource: ResourceKey,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Prints the revisions, oldest first.
pub async fn run(context: &Context, args: Args, out: &mut String) -> Result<ExitCode> {
    let store = context.store().await?;
    let revisions = store.history(&args.resource).await?;
    if revisions.is_empty() {
        bail!(
            "no revision of `{}` is recorded; run `monitor collect` first, or check the key (ACCOUNT/REGION/TYPE/ID)",
            args.resource
        );
    }
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&revisions)?)?,
        Format::Table => {
            for revision in &revisions {
                writeln!(
                    out,
                    "revision {}{}: first seen {}, last seen {}, hash {}",
                    revision.number,
                    if revision.is_deletion() {
                        " (deleted)"
                    } else {
                        ""
                    },
                    revision.first_seen.format(&Rfc3339)?,
                    revision.last_seen.format(&Rfc3339)?,
                    revision.hash.get(..16).unwrap_or(&revision.hash)
                )?;
                print_changes(out, &revision.changes)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
