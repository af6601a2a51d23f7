//! `monitor-audit` (the scheduled fan-out: one SQS task per account and
//! region, plus `global` for IAM), `monitor-account` (the SQS worker that
//! collects, records, audits and alerts for one task) and
//! `monitor-config-rule` (an AWS Config custom rule).
//!
//! Environment (all three):
//! - `MONITOR_CONFIG`: the monitor configuration as TOML text (see
//!   `monitor/monitor.example.toml`); every key can also be set or overridden
//!   by `MONITOR__<TABLE>__<KEY>` variables, as for the `monitor` command.
//!   In Lambda the store is `store.dynamodb_table`.
//! - `MONITOR_SUPPRESSIONS`: the suppression file's TOML text (optional;
//!   without it, a `suppressions` file named in the configuration is read).
//!
//! `monitor-audit` also reads `MONITOR_QUEUE_URL`, the worker queue, and
//! needs `collect.accounts` and `collect.regions`.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use monitor::alert::{Sink, SnsSink, WebhookOptions, WebhookSink, WriterSink};
use monitor::config::{Config, ENV_PREFIX};
use monitor::lambda::{Deps, handle_config_rule, handle_scheduled, handle_task, summary};
use monitor::source::notification::RuleEvent;
use monitor::store::{DynamoStore, SqliteStore, Store};
use monitor::suppress::Suppressions;
use serde_json::{Value, json};

use crate::boot::{Handler, Invocation};
use crate::env::Env;
use crate::err::{HandlerError, InitError};

/// The variable holding the configuration's TOML text.
pub const CONFIG_VAR: &str = "MONITOR_CONFIG";
/// The variable holding the suppression file's TOML text.
pub const SUPPRESSIONS_VAR: &str = "MONITOR_SUPPRESSIONS";
/// The variable holding the worker queue's URL (`monitor-audit`).
pub const QUEUE_VAR: &str = "MONITOR_QUEUE_URL";

/// Which monitor function this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `monitor-audit`.
    Audit,
    /// `monitor-account`.
    Account,
    /// `monitor-config-rule`.
    ConfigRule,
}

/// A configuration error of `key`, named with the variables that set it.
fn invalid(key: &str, reason: String) -> InitError {
    InitError::Invalid {
        name: format!("{CONFIG_VAR} ({key}, or a {ENV_PREFIX}* override)"),
        reason,
    }
}

/// The configuration from `MONITOR_CONFIG` and `MONITOR__` overrides.
pub fn config(env: &Env) -> Result<Config, InitError> {
    let text = env.optional(CONFIG_VAR).unwrap_or_default();
    Config::load(text, env.with_prefix(ENV_PREFIX)).map_err(|e| InitError::Invalid {
        name: format!("{CONFIG_VAR} (or a {ENV_PREFIX}* override)"),
        reason: crate::err::chain(&e),
    })
}

/// The suppressions: `MONITOR_SUPPRESSIONS`, else the configuration's file,
/// else none.
fn suppressions(env: &Env, config: &Config) -> Result<Suppressions, InitError> {
    if let Some(text) = env.optional(SUPPRESSIONS_VAR) {
        return Suppressions::from_toml(text).map_err(|e| InitError::Invalid {
            name: SUPPRESSIONS_VAR.into(),
            reason: crate::err::chain(&e),
        });
    }
    let Some(path) = &config.suppressions else {
        return Ok(Suppressions::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            "suppressions",
            format!(
                "cannot read `{}`: {e}; put the file's text in {SUPPRESSIONS_VAR} instead",
                path.display()
            ),
        )
    })?;
    Suppressions::from_toml(&text).map_err(|e| {
        invalid(
            "suppressions",
            format!("`{}`: {}", path.display(), crate::err::chain(&e)),
        )
    })
}

/// The alert sinks the configuration names.
fn sinks(config: &Config, sdk: &aws_config::SdkConfig) -> Result<Vec<Box<dyn Sink>>, InitError> {
    let alert = &config.alert;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if alert.stdout {
        sinks.push(Box::new(WriterSink::stdout()));
    }
    if let Some(topic) = &alert.sns_topic_arn {
        sinks.push(Box::new(SnsSink::new(sdk, topic)));
    }
    if let Some(url) = &alert.webhook_url {
        let sink = WebhookSink::new(url, WebhookOptions::default())
            .map_err(|e| invalid("alert.webhook_url", crate::err::chain(&e)))?;
        sinks.push(Box::new(sink));
    }
    Ok(sinks)
}

/// Builds the handlers' dependencies from the environment.
pub async fn deps(env: &Env, job: Job) -> Result<Deps, InitError> {
    let config = config(env)?;
    let queue_url = match job {
        Job::Audit => {
            let collect = &config.collect;
            if collect.accounts.is_empty() {
                return Err(invalid(
                    "collect.accounts",
                    "the scheduled audit needs the accounts to audit; set `[collect] accounts` or MONITOR__COLLECT__ACCOUNTS".into(),
                ));
            }
            if collect.regions.is_empty() {
                return Err(invalid(
                    "collect.regions",
                    "the scheduled audit needs the regions to audit; set `[collect] regions` or MONITOR__COLLECT__REGIONS".into(),
                ));
            }
            Some(
                env.required(QUEUE_VAR, "the URL of the monitor worker queue (SQS)")?
                    .to_owned(),
            )
        }
        Job::Account | Job::ConfigRule => None,
    };
    let suppressions = suppressions(env, &config)?;
    let sdk = crate::aws::sdk_config().await;
    let ephemeral = config.history.clone();
    let store: Box<dyn Store> = match (&config.store.dynamodb_table, &config.store.sqlite) {
        (Some(table), _) => Box::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone())
                .with_ephemeral(ephemeral),
        ),
        (None, Some(path)) => Box::new(
            SqliteStore::open(path)
                .map_err(|e| InitError::setup("the monitor store (store.sqlite)", &e))?
                .with_ephemeral(ephemeral),
        ),
        (None, None) => return Err(invalid("store", "set `store.dynamodb_table`".into())),
    };
    let sinks = sinks(&config, &sdk)?;
    Ok(Deps {
        sdk,
        config,
        store,
        sinks,
        suppressions,
        queue_url,
    })
}

/// monitor's error as a Lambda error: events and task messages of the wrong
/// shape are `InvalidEvent`; the rest keep monitor's category.
fn handler_error(e: &monitor::lambda::HandlerError) -> HandlerError {
    use monitor::lambda::HandlerError as E;
    let error_type = match e {
        E::Event(_) | E::Task(_) => "InvalidEvent",
        E::Config(_) => "Configuration",
        E::Source(_) => "Source",
        E::Store(_) => "Store",
        E::Delivery(_) => "Delivery",
    };
    HandlerError {
        error_type: error_type.into(),
        message: crate::err::chain(e),
    }
}

/// `monitor-audit`: an EventBridge (scheduled) event in, `{"run", "sent",
/// "calls"}` out; a task SQS did not take fails the invocation (`Delivery`).
pub struct AuditFunction(pub Deps);

impl Handler for AuditFunction {
    type Event = EventBridgeEvent<Value>;
    type Response = Value;

    async fn handle(
        &self,
        event: EventBridgeEvent<Value>,
        invocation: &Invocation,
    ) -> Result<Value, HandlerError> {
        tracing::info!(source = %event.source, detail_type = %event.detail_type, "scheduled audit");
        let report = handle_scheduled(&self.0, invocation.now)
            .await
            .map_err(|e| handler_error(&e))?;
        Ok(json!({"sent": report.sent, "calls": report.calls}))
    }
}

/// `monitor-account`: an SQS event of task messages in, the failed
/// records' ids out (`batchItemFailures`), so SQS delivers only those again.
pub struct AccountFunction(pub Deps);

impl Handler for AccountFunction {
    type Event = SqsEvent;
    type Response = SqsBatchResponse;

    async fn handle(
        &self,
        event: SqsEvent,
        invocation: &Invocation,
    ) -> Result<SqsBatchResponse, HandlerError> {
        crate::sqs::partial_batch(event, |record| async move {
            let body = record.body.unwrap_or_default();
            // Boxed: the worker's future is deep enough to overflow the
            // compiler's query depth once nested in the runtime's.
            let report = Box::pin(handle_task(&self.0, &body, invocation.now))
                .await
                .map_err(|e| handler_error(&e))?;
            tracing::info!(summary = %summary(&report), "task done");
            Ok(())
        })
        .await
    }
}

/// `monitor-config-rule`: the event AWS Config sends a custom rule in,
/// `{"calls", "accepted"}` (of `PutEvaluations`) out.
pub struct ConfigRuleFunction(pub Deps);

impl Handler for ConfigRuleFunction {
    type Event = Value;
    type Response = Value;

    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Value, HandlerError> {
        // Checked here first, so that an event of another kind is
        // `InvalidEvent` and not a failure to read AWS.
        let parsed = RuleEvent::from_value(event.clone()).map_err(|e| {
            HandlerError::invalid_event(format!(
                "{}; this function takes the events AWS Config sends a custom rule",
                crate::err::chain(&e)
            ))
        })?;
        tracing::info!(
            rule = parsed.config_rule_name.as_deref().unwrap_or("-"),
            "rule evaluation"
        );
        let report = Box::pin(handle_config_rule(&self.0, event, invocation.now))
            .await
            .map_err(|e| handler_error(&e))?;
        Ok(json!({"calls": report.calls, "accepted": report.accepted}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn configuration_errors_name_the_key_and_variable() {
        let err = config(&env(&[(CONFIG_VAR, "[store]\nbogus = 1\n")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(CONFIG_VAR) && err.contains("bogus"), "{err}");
        let err = config(&env(&[(
            CONFIG_VAR,
            "[store]\ndynamodb_table = \"t\"\nsqlite = \"x\"\n",
        )]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("`store`"), "{err}");
    }

    #[test]
    fn suppressions_come_from_the_variable() {
        let config = config(&env(&[(CONFIG_VAR, "[store]\ndynamodb_table = \"t\"\n")])).unwrap();
        let none = suppressions(&env(&[]), &config).unwrap();
        assert!(none.entries().is_empty());
        let one = suppressions(
            &env(&[(
                SUPPRESSIONS_VAR,
                "[[suppress]]\ncheck = \"iam-*\"\nreason = \"known\"\n",
            )]),
            &config,
        )
        .unwrap();
        assert_eq!(one.entries().len(), 1);
        let err = suppressions(
            &env(&[(SUPPRESSIONS_VAR, "[[suppress]]\nwhat = 1\n")]),
            &config,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(SUPPRESSIONS_VAR), "{err}");
    }

    #[test]
    fn monitor_errors_keep_their_category() {
        let task = monitor::fanout::WorkerTask::from_sqs_body("nope").unwrap_err();
        let e = handler_error(&monitor::lambda::HandlerError::Task(task));
        assert_eq!(e.error_type, "InvalidEvent");
        assert!(
            e.message.contains("not a monitor audit task"),
            "{}",
            e.message
        );
        let e = handler_error(&monitor::lambda::HandlerError::Delivery("x".into()));
        assert_eq!(e.error_type, "Delivery");
    }
}
