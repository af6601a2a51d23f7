//! `monitor audit`: find issues, alert on what is new, report them all.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use monitor::audit::{Auditor, checks};
use monitor::lifecycle::Scope;
use monitor::model::Severity;
use monitor::pipeline::Pipeline;
use monitor::report::{self, asff};
use monitor::suppress::Suppressions;
use policies::catalogue::Catalogue;

use super::collect::run_id;
use super::gather::Sources;
use super::{Context, report_failures};

/// `monitor audit` arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sources: Sources,
    /// Read AWS (see `--accounts`, `--regions`, `--source`) before auditing;
    /// without a source, the store's newest recorded state is audited.
    #[arg(long)]
    collect: bool,
    /// Audit only these accounts of the store (comma-separated).
    #[arg(long, value_delimiter = ',')]
    account: Vec<String>,
    /// A suppression file (default: the configuration's `suppressions`).
    #[arg(long)]
    suppressions: Option<std::path::PathBuf>,
    /// Also print alerts on standard error.
    #[arg(long)]
    alert_stderr: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Exit 1 when an issue is at or above this severity.
    #[arg(long, default_value = "high")]
    fail_on: Severity,
}

/// How issues are written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// Lines for a terminal.
    Table,
    /// JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// AWS Security Finding Format, for Security Hub's BatchImportFindings.
    Asff,
}

/// Runs the pipeline over the chosen scope and prints the open issues.
pub async fn run(context: &Context, args: Args, out: &mut String) -> Result<ExitCode> {
    let store = context.store().await?;
    let catalogue = Catalogue::builtin();
    let auditor = Auditor::new(&context.config.audit, catalogue);
    let suppressions = match args
        .suppressions
        .as_ref()
        .or(context.config.suppressions.as_ref())
    {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the suppression file `{}`", path.display())
            })?;
            Suppressions::from_toml(&text).with_context(|| format!("`{}`", path.display()))?
        }
        None => Suppressions::default(),
    };
    let mut sinks = context.sinks(false).await?;
    if args.alert_stderr {
        sinks.push(Box::new(monitor::alert::WriterSink::new(
            "stderr",
            std::io::stderr(),
        )));
    }
    let pipeline = Pipeline {
        store: store.as_ref(),
        auditor: &auditor,
        suppressions: &suppressions,
        alerts: context.config.alert.options()?,
        sinks: &sinks,
    };
    let run = run_id(context);
    let mut reports = Vec::new();
    let mut failed_accounts = 0;
    if args.collect || args.sources.given() {
        let (collections, failed) = args.sources.gather(context).await?;
        for failure in &failed {
            eprintln!("monitor: account {}: {}", failure.account, failure.error);
        }
        failed_accounts = failed.len();
        for collection in &collections {
            reports.push(
                pipeline
                    .run(
                        &collection.scope,
                        Some(&collection.items),
                        &run,
                        context.now,
                    )
                    .await?,
            );
        }
    } else {
        let scope = Scope {
            accounts: args.account.clone(),
            ..Scope::all()
        };
        reports.push(pipeline.run(&scope, None, &run, context.now).await?);
    }

    let mut issues: Vec<_> = reports
        .iter()
        .flat_map(|r| r.issues.iter().cloned())
        .collect();
    issues.sort_by(|a, b| {
        (&a.resource, &a.check, &a.detail).cmp(&(&b.resource, &b.check, &b.detail))
    });
    issues.dedup_by(|a, b| a.id == b.id);
    match args.format {
        ReportFormat::Table => write!(out, "{}", report::table(&issues))?,
        ReportFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report::json(&issues))?
        )?,
        ReportFormat::Sarif => {
            let describe = |name: &str| checks::find(name).map(|c| c.summary.to_owned());
            let log = report::sarif(&issues, env!("CARGO_PKG_VERSION"), describe);
            writeln!(out, "{}", serde_json::to_string_pretty(&log)?)?;
        }
        ReportFormat::Asff => {
            let sdk = context.sdk().await;
            let region = sdk
                .region()
                .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
            let account = issues
                .first()
                .map(|i| i.resource.account.clone())
                .unwrap_or_default();
            let target = asff::Target {
                region,
                account,
                now: context.now,
            };
            let findings = asff::findings(&issues, &target, asff::State::Active);
            writeln!(out, "{}", serde_json::to_string_pretty(&findings)?)?;
        }
    }

    let suppressed: usize = reports.iter().map(|r| r.suppressed.len()).sum();
    let events: usize = reports.iter().map(|r| r.events.len()).sum();
    let alerts: usize = reports.iter().map(|r| r.alerts).sum();
    eprintln!(
        "{} open issues ({suppressed} suppressed); {events} events, {alerts} alerts",
        issues.len()
    );
    for report in &reports {
        for expired in &report.expired {
            eprintln!(
                "monitor: suppression #{} (`{}`) expired on {} and no longer hides {} issue(s)",
                expired.entry + 1,
                expired.reason,
                expired.expired,
                expired.issues.len()
            );
        }
        report_failures(&report.delivery);
    }
    let uncommitted = reports.iter().any(|r| !r.committed);
    if uncommitted {
        eprintln!("monitor: issue states were not saved, so the next run alerts again");
    }
    if failed_accounts > 0 || uncommitted {
        return Ok(ExitCode::from(2));
    }
    Ok(if report::fails(&issues, args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
