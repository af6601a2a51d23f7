//! `monitor checks`: every check the auditor runs.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use monitor::audit::checks::ALL;
use serde_json::json;

use super::Format;

/// `monitor checks` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Lists each check's stable name, category, default score and what it finds.
pub fn run(args: &Args, out: &mut String) -> Result<ExitCode> {
    match args.format {
        Format::Table => {
            for check in ALL {
                writeln!(
                    out,
                    "{:<44} {:<26} {:>2}  {}",
                    check.name,
                    check.category.as_str(),
                    check.score,
                    check.summary
                )?;
            }
        }
        Format::Json => {
            let list: Vec<_> = ALL
                .iter()
                .map(|c| json!({"name": c.name, "category": c.category, "score": c.score, "summary": c.summary}))
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
