//! `monitor collect`: record the current configuration and report what changed.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use monitor::alert;
use monitor::model::Event;

use super::gather::Sources;
use super::{Context, Format, report_failures};

/// `monitor collect` arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sources: Sources,
    /// Also print alerts for changed resources on standard output.
    #[arg(long)]
    alert_stdout: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Records every collection, alerts on changed and deleted resources, and
/// prints the changes. Exit 2 when an account could not be collected.
pub async fn run(context: &Context, args: Args, out: &mut String) -> Result<ExitCode> {
    let store = context.store().await?;
    let (collections, failed) = args.sources.gather(context).await?;
    let mut events = Vec::new();
    let mut items = 0;
    for collection in &collections {
        items += collection.items.len();
        events.extend(
            store
                .record_complete(&collection.scope, &collection.items, context.now)
                .await?,
        );
    }
    let sinks = context.sinks(args.alert_stdout).await?;
    let alerts = alert::alerts(
        &events,
        &context.config.alert.options()?,
        &run_id(context),
        context.now,
    );
    let delivery = alert::deliver(&alerts, &sinks).await;
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&events)?)?,
        Format::Table => {
            for event in &events {
                writeln!(out, "{}", alert::line(event))?;
            }
            writeln!(
                out,
                "{items} items recorded: {} changed, {} deleted",
                count(&events, |e| matches!(e, Event::ResourceChanged { .. })),
                count(&events, |e| matches!(e, Event::ResourceDeleted { .. }))
            )?;
        }
    }
    for failure in &failed {
        eprintln!("monitor: account {}: {}", failure.account, failure.error);
    }
    report_failures(&delivery);
    let ok = failed.is_empty() && delivery.failures.is_empty();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn count(events: &[Event], kind: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| kind(e)).count()
}

/// The name of this run in alerts: the time it ran at.
pub fn run_id(context: &Context) -> String {
    format!("monitor-{}", context.now.unix_timestamp())
}
