//! `monitor justify ISSUE --reason TEXT`: accept an issue as it is now.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use monitor::model::IssueId;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::Context;

/// `monitor justify` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The issue id (the `id` column of `monitor audit`).
    issue: String,
    /// Why the issue is acceptable.
    #[arg(long)]
    reason: String,
    /// The last day it stays justified (`YYYY-MM-DD`); without it, until the issue changes.
    #[arg(long)]
    expires: Option<String>,
    /// Who justifies it (default: `$USER`).
    #[arg(long, env = "USER", default_value = "unknown")]
    by: String,
}

/// Stores the justification; the issue alerts again only when it changes.
pub async fn run(context: &Context, args: Args, out: &mut String) -> Result<ExitCode> {
    if args.reason.trim().is_empty() {
        anyhow::bail!("`--reason` is empty; say why the issue is acceptable");
    }
    let expires = args.expires.as_deref().map(end_of_day).transpose()?;
    let store = context.store().await?;
    let justification = store
        .justify(
            &IssueId(args.issue.clone()),
            &args.reason,
            &args.by,
            expires,
            context.now,
        )
        .await?;
    writeln!(
        out,
        "justified {} by {}{}",
        justification.id,
        justification.by,
        match justification.expires {
            Some(at) => format!(" until {}", at.format(&Rfc3339)?),
            None => String::new(),
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The end (midnight after) of a `YYYY-MM-DD` day, UTC.
fn end_of_day(text: &str) -> Result<OffsetDateTime> {
    let day = Date::parse(text, format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("`--expires {text}` is not a date such as 2026-12-31"))?;
    let next = day
        .next_day()
        .context("`--expires` is too far in the future")?;
    Ok(next.midnight().assume_utc())
}
