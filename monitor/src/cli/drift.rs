//! `monitor drift`: what changed since a time, or how the recorded state
//! differs from a baseline.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use monitor::drift::{BaselineDrift, against_baseline};
use monitor::model::PathChange;
use monitor::store::{Filter, Scope};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Context, Format, read_files};

/// `monitor drift` arguments.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct Args {
    /// Revisions recorded at or after this time (RFC 3339, or a number of
    /// days back such as `7d`).
    #[arg(long)]
    since: Option<String>,
    /// A baseline: a Config snapshot file (or directory) saying how things
    /// should be; resources missing, unexpected or different are reported.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Prints the drift; exit 1 when there is any.
pub async fn run(context: &Context, args: Args, out: &mut String) -> Result<ExitCode> {
    let store = context.store().await?;
    let found = if let Some(since) = &args.since {
        let since = parse_since(since, context.now)?;
        let revisions = store.revisions_since(since).await?;
        match args.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&revisions)?)?,
            Format::Table => {
                for revision in &revisions {
                    let what = if revision.is_deletion() {
                        "deleted".to_owned()
                    } else if revision.number == 1 {
                        "new".to_owned()
                    } else {
                        format!("revision {}", revision.number)
                    };
                    writeln!(
                        out,
                        "{} {what} at {}",
                        revision.key,
                        revision.first_seen.format(&Rfc3339)?
                    )?;
                    print_changes(out, &revision.changes)?;
                }
            }
        }
        !revisions.is_empty()
    } else {
        let path = args
            .baseline
            .as_ref()
            .context("give `--since` or `--baseline`")?;
        let baseline = read_files(path)?;
        let current = store
            .latest(&Filter {
                scope: Scope::all(),
                include_deleted: false,
            })
            .await?;
        let drift = against_baseline(&context.config.history, &baseline, &current, true);
        match args.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&drift)?)?,
            Format::Table => {
                for entry in &drift {
                    match entry {
                        BaselineDrift::Missing { key } => writeln!(out, "{key} missing")?,
                        BaselineDrift::Unexpected { key } => {
                            writeln!(out, "{key} not in the baseline")?
                        }
                        BaselineDrift::Changed { key, changes } => {
                            writeln!(out, "{key} differs from the baseline")?;
                            print_changes(out, changes)?;
                        }
                    }
                }
            }
        }
        !drift.is_empty()
    };
    Ok(if found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `2026-01-01T00:00:00Z`, or `7d` for seven days before `now`.
fn parse_since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime> {
    if let Some(days) = text.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
        return Ok(now - time::Duration::days(i64::from(days)));
    }
    OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
        format!("`--since {text}` is neither an RFC 3339 time (2026-01-31T00:00:00Z) nor a number of days (7d)")
    })
}

/// One indented line per change: `path: before -> after`.
pub fn print_changes(out: &mut String, changes: &[PathChange]) -> std::fmt::Result {
    let show = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map_or_else(|| "(absent)".to_owned(), ToString::to_string)
    };
    for change in changes {
        writeln!(
            out,
            "    {}: {} -> {}",
            change.path,
            show(&change.before),
            show(&change.after)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn since_takes_days_or_a_time() {
        let now = datetime!(2026-01-10 00:00 UTC);
        assert_eq!(
            parse_since("7d", now).unwrap(),
            datetime!(2026-01-03 00:00 UTC)
        );
        assert_eq!(
            parse_since("2026-01-01T00:00:00Z", now).unwrap(),
            datetime!(2026-01-01 00:00 UTC)
        );
        assert!(
            parse_since("last week", now)
                .unwrap_err()
                .to_string()
                .contains("7d")
        );
    }
}
