//! The Lambda handlers, as plain async functions the `lambdas` crate wraps
//! in the runtime:
//!
//! - [`handle_scheduled`]: the scheduled audit. Sends one SQS task per
//!   configured account and region, plus one per account for IAM (region
//!   `global`), and answers the fan-out report.
//! - [`handle_task`]: the per-account worker, one SQS message body at a time:
//!   collects the task's account and region (IAM directly for `global`, AWS
//!   Config otherwise, in the account through the configured role), records
//!   it, audits, alerts on what is new.
//! - [`handle_config_rule`]: an AWS Config custom rule: evaluates the item of
//!   the change (or, for a scheduled rule, every recorded item of the
//!   account) and answers with `PutEvaluations` in batches of 100.

use aws_config::SdkConfig;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::alert::Sink;
use crate::audit::{Auditor, Index};
use crate::collect::{IAM_TYPES, collect};
use crate::config::{Config, SourceKind};
use crate::fanout::{Fanout, FanoutReport, TaskError, WorkerTask, tasks};
use crate::lifecycle::Scope;
use crate::pipeline::{Pipeline, RunReport};
use crate::rule::{self, PutReport};
use crate::source::SourceError;
use crate::source::accounts::AssumeRole;
use crate::source::config_api::ConfigSource;
use crate::source::notification::{Notification, RuleEvent};
use crate::store::{Filter, Store, StoreError};
use crate::suppress::Suppressions;

/// Why a handler failed; the runtime reports it as the invocation's error.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event or a task message is not what the handler takes.
    #[error("bad event: {0}")]
    Event(String),
    /// The configuration lacks what the handler needs.
    #[error("configuration: {0}")]
    Config(String),
    /// Reading AWS failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A task message did not parse.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// Some alerts, tasks or evaluations were not delivered.
    #[error("{0}")]
    Delivery(String),
}

/// What the handlers share; built once per Lambda container.
pub struct Deps {
    /// The function's own AWS configuration.
    pub sdk: SdkConfig,
    /// The validated configuration.
    pub config: Config,
    /// Where revisions and issue states are kept.
    pub store: Box<dyn Store>,
    /// Where alerts go.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Issues set aside.
    pub suppressions: Suppressions,
    /// The worker queue (for [`handle_scheduled`]).
    pub queue_url: Option<String>,
}

/// Sends one task per account and region (and one `global` per account).
pub async fn handle_scheduled(
    deps: &Deps,
    now: OffsetDateTime,
) -> Result<FanoutReport, HandlerError> {
    let collect = &deps.config.collect;
    if collect.accounts.is_empty() || collect.regions.is_empty() {
        return Err(HandlerError::Config(
            "the scheduled audit needs `[collect] accounts` and `[collect] regions` (MONITOR__COLLECT__ACCOUNTS, MONITOR__COLLECT__REGIONS)".into(),
        ));
    }
    let queue = deps.queue_url.as_deref().ok_or_else(|| {
        HandlerError::Config("the scheduled audit needs the worker queue's URL".into())
    })?;
    let mut regions = collect.regions.clone();
    regions.push("global".to_owned());
    let run = format!("scheduled-{}", now.unix_timestamp());
    let report = Fanout::new(&deps.sdk, queue)
        .send(&tasks(&collect.accounts, &regions, &run, now))
        .await;
    if report.failed.is_empty() {
        Ok(report)
    } else {
        let accounts: Vec<String> = report
            .failed
            .iter()
            .map(|f| {
                format!(
                    "{}/{} ({}: {})",
                    f.task.account, f.task.region, f.code, f.message
                )
            })
            .collect();
        Err(HandlerError::Delivery(format!(
            "{} of {} tasks were not queued: {}",
            report.failed.len(),
            report.failed.len() + report.sent,
            accounts.join("; ")
        )))
    }
}

/// Works one task message body: collect, record, audit, alert.
pub async fn handle_task(
    deps: &Deps,
    body: &str,
    now: OffsetDateTime,
) -> Result<RunReport, HandlerError> {
    let task = WorkerTask::from_sqs_body(body)?;
    let sdk = account_sdk(deps, &task.account).await?;
    let (kind, types) = if task.region == "global" {
        (SourceKind::Iam, Vec::new())
    } else {
        let types = deps
            .config
            .collect
            .resource_types
            .iter()
            .filter(|t| !IAM_TYPES.contains(&t.as_str()))
            .cloned()
            .collect();
        (SourceKind::Config, types)
    };
    let collection = collect(&sdk, &task.account, &task.region, kind, &types, now).await?;
    let catalogue = policies::catalogue::Catalogue::builtin();
    let auditor = Auditor::new(&deps.config.audit, catalogue);
    let pipeline = Pipeline {
        store: deps.store.as_ref(),
        auditor: &auditor,
        suppressions: &deps.suppressions,
        alerts: deps
            .config
            .alert
            .options()
            .map_err(|e| HandlerError::Config(e.to_string()))?,
        sinks: &deps.sinks,
    };
    let report = pipeline
        .run(&collection.scope, Some(&collection.items), &task.run, now)
        .await?;
    if report.committed {
        Ok(report)
    } else {
        let failures: Vec<String> = report
            .delivery
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.sink, f.error))
            .collect();
        Err(HandlerError::Delivery(format!(
            "alerts not delivered, the task will be retried: {}",
            failures.join("; ")
        )))
    }
}

/// Evaluates a Config rule event and answers `PutEvaluations`.
pub async fn handle_config_rule(
    deps: &Deps,
    event: Value,
    now: OffsetDateTime,
) -> Result<PutReport, HandlerError> {
    let event = RuleEvent::from_value(event)?;
    let config = ConfigSource::new(&deps.sdk);
    let items = match &event.invoking {
        Notification::Scheduled { .. } => {
            let types: Vec<&str> = deps
                .config
                .collect
                .resource_types
                .iter()
                .map(String::as_str)
                .collect();
            config.discovered(&types).await?
        }
        other => other.item(&config).await?.into_iter().collect(),
    };
    // Policies a role references are judged from what the store recorded of
    // the account, plus the items at hand.
    let mut index = Index::new();
    if let Some(account) = items.first().map(|i| i.key.account.clone()) {
        let filter = Filter {
            scope: Scope::account(&account),
            include_deleted: false,
        };
        for item in deps.store.latest(&filter).await? {
            index.insert(item);
        }
    }
    for item in &items {
        index.insert(item.clone());
    }
    let catalogue = policies::catalogue::Catalogue::builtin();
    let auditor = Auditor::new(&deps.config.audit, catalogue);
    let evaluations = rule::evaluate(
        &event,
        &items,
        |item| auditor.audit_item(item, &index, now),
        now,
    );
    let client = aws_sdk_config::Client::new(&deps.sdk);
    let report = rule::put_evaluations(&client, &event.result_token, &evaluations).await;
    if report.failed.is_empty() {
        Ok(report)
    } else {
        Err(HandlerError::Delivery(format!(
            "{} evaluations were not accepted by AWS Config: {}",
            report.failed.len(),
            report
                .failed
                .first()
                .map(|f| f.reason.as_str())
                .unwrap_or_default()
        )))
    }
}

/// The SDK configuration for `account`: the configured role assumed in it,
/// or the function's own credentials when no role is configured.
async fn account_sdk(deps: &Deps, account: &str) -> Result<SdkConfig, HandlerError> {
    match &deps.config.collect.assume_role {
        Some(role) => Ok(AssumeRole::new(role, "monitor-worker")
            .config_for(&deps.sdk, account)
            .await?),
        None => Ok(deps.sdk.clone()),
    }
}

/// A short JSON summary of a worker run, for the function's log and answer.
pub fn summary(report: &RunReport) -> Value {
    json!({
        "issues": report.issues.len(),
        "suppressed": report.suppressed.len(),
        "events": report.events.len(),
        "alerts": report.alerts,
        "delivered": report.delivery.sent,
    })
}
