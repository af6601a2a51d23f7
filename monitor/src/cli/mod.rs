//! The subcommands, and what they share: configuration, store, clock, AWS.

pub mod audit;
pub mod checks;
pub mod collect;
pub mod drift;
pub mod gather;
pub mod history;
pub mod justify;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use aws_config::{BehaviorVersion, SdkConfig};
use clap::ValueEnum;
use monitor::alert::{Delivery, Sink};
use monitor::alert::{SnsSink, WebhookOptions, WebhookSink, WriterSink};
use monitor::config::{Config, DEFAULT_SQLITE, StoreBackend};
use monitor::lifecycle::Scope;
use monitor::model::ConfigItem;
use monitor::source::snapshot;
use monitor::store::{DynamoStore, SqliteStore, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::OnceCell;

/// What every subcommand runs with.
pub struct Context {
    /// The validated configuration.
    pub config: Config,
    /// The time of this run.
    pub now: OffsetDateTime,
    db: Option<PathBuf>,
    sdk: OnceCell<SdkConfig>,
}

impl Context {
    /// Reads the configuration file (if any) and the environment.
    pub fn new(config: Option<&Path>, db: Option<PathBuf>, now: Option<&str>) -> Result<Context> {
        let text = match config {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the configuration `{}`", path.display()))?,
            None => String::new(),
        };
        let config = Config::load(&text, std::env::vars())?;
        let now = match now {
            Some(text) => OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
                format!("`--now {text}` is not an RFC 3339 time such as 2026-01-31T12:00:00Z")
            })?,
            None => OffsetDateTime::now_utc(),
        };
        Ok(Context {
            config,
            now,
            db,
            sdk: OnceCell::new(),
        })
    }

    /// The AWS configuration from the environment, loaded once when first needed.
    pub async fn sdk(&self) -> &SdkConfig {
        self.sdk
            .get_or_init(|| aws_config::defaults(BehaviorVersion::latest()).load())
            .await
    }

    /// The store: `--db`, else the configuration's.
    pub async fn store(&self) -> Result<Box<dyn Store>> {
        let ephemeral = self.config.history.clone();
        let backend = match &self.db {
            Some(path) => StoreBackend::Sqlite(path.clone()),
            None => self.config.store.backend(DEFAULT_SQLITE),
        };
        let table = match backend {
            StoreBackend::Sqlite(path) => {
                let store = SqliteStore::open(&path)
                    .with_context(|| format!("cannot open the store `{}`", path.display()))?;
                return Ok(Box::new(store.with_ephemeral(ephemeral)));
            }
            StoreBackend::DynamoDb(table) => table,
        };
        let client = aws_sdk_dynamodb::Client::new(self.sdk().await);
        Ok(Box::new(
            DynamoStore::new(client, table).with_ephemeral(ephemeral),
        ))
    }

    /// The alert sinks the configuration names, plus stdout when asked.
    pub async fn sinks(&self, stdout: bool) -> Result<Vec<Box<dyn Sink>>> {
        let alert = &self.config.alert;
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        if stdout || alert.stdout {
            sinks.push(Box::new(WriterSink::stdout()));
        }
        if let Some(topic) = &alert.sns_topic_arn {
            sinks.push(Box::new(SnsSink::new(self.sdk().await, topic)));
        }
        if let Some(url) = &alert.webhook_url {
            sinks.push(Box::new(WebhookSink::new(url, WebhookOptions::default())?));
        }
        Ok(sinks)
    }
}

/// Writes a command's output to stdout; a reader that went away (`| head`)
/// is not an error.
pub fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Names every alert a sink did not take, on stderr.
pub fn report_failures(delivery: &Delivery) {
    for failure in &delivery.failures {
        eprintln!(
            "monitor: alert `{}` not delivered to {}: {}",
            failure.subject, failure.sink, failure.error
        );
    }
}

/// How a subcommand prints what it found.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for a terminal.
    Table,
    /// One JSON document.
    Json,
}

/// Items read from snapshot or history files (`--from`), each file's
/// failure an error naming it.
pub fn read_files(path: &Path) -> Result<Vec<ConfigItem>> {
    let mut items = Vec::new();
    let summary = snapshot::read_dir(path, |item| {
        items.push(item);
        Ok(())
    })
    .with_context(|| format!("cannot read `{}`", path.display()))?;
    if let Some(first) = summary.failed.into_iter().next() {
        return Err(first.into());
    }
    if summary.files.is_empty() {
        anyhow::bail!(
            "`{}` holds no AWS Config snapshot or history file (JSON with `configurationItems`)",
            path.display()
        );
    }
    Ok(items)
}

/// The scope a set of collected items covers: their accounts and regions.
pub fn scope_of(items: &[ConfigItem]) -> Scope {
    let mut scope = Scope::all();
    for item in items {
        if !scope.accounts.contains(&item.key.account) {
            scope.accounts.push(item.key.account.clone());
        }
        if !scope.regions.contains(&item.key.region) {
            scope.regions.push(item.key.region.clone());
        }
    }
    scope
}
