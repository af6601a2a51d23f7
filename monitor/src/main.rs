//! `monitor`: record AWS configuration, detect drift, audit it and alert
//! only on what is new.
//!
//! Exit codes: 0 ok; 1 issues at or above `--fail-on` (`audit`) or drift
//! found (`drift`); 2 usage, input, AWS or store error, or an alert that
//! could not be delivered.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::{audit, checks, collect, drift, history, justify};

#[derive(Parser)]
#[command(
    name = "monitor",
    version,
    about = "Record AWS configuration, detect drift, audit it and alert only on what is new"
)]
struct Cli {
    /// The configuration file (see monitor/monitor.example.toml); without it,
    /// the defaults. Every key can be set by `MONITOR__TABLE__KEY`.
    #[arg(long, global = true, env = "MONITOR_CONFIG")]
    config: Option<PathBuf>,
    /// The SQLite store, instead of the configuration's `[store]`.
    #[arg(long, global = true, env = "MONITOR_DB")]
    db: Option<PathBuf>,
    /// The time to run at (RFC 3339), instead of the clock; for reproducible runs.
    #[arg(long, global = true, env = "MONITOR_NOW")]
    now: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record the current configuration: from files, AWS Config or IAM.
    Collect(collect::Args),
    /// Audit, alert on new, changed or no-longer-justified issues, and report.
    Audit(audit::Args),
    /// Show what changed since a time, or how things differ from a baseline.
    Drift(drift::Args),
    /// Show every recorded revision of one resource.
    History(history::Args),
    /// Accept an issue as it is, with a reason, until it changes.
    Justify(justify::Args),
    /// List every check: its stable name, category, default score and what it finds.
    Checks(checks::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber_init();
    let result =
        cli::Context::new(cli.config.as_deref(), cli.db, cli.now.as_deref()).and_then(|context| {
            let runtime = tokio::runtime::Runtime::new()?;
            let mut out = String::new();
            let code = runtime.block_on(async {
                match cli.command {
                    Command::Collect(args) => collect::run(&context, args, &mut out).await,
                    Command::Audit(args) => audit::run(&context, args, &mut out).await,
                    Command::Drift(args) => drift::run(&context, args, &mut out).await,
                    Command::History(args) => history::run(&context, args, &mut out).await,
                    Command::Justify(args) => justify::run(&context, args, &mut out).await,
                    Command::Checks(args) => checks::run(&args, &mut out),
                }
            });
            cli::emit(&out)?;
            code
        });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("monitor: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs (warnings and worse unless `RUST_LOG` says otherwise) go to stderr.
fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
