//! Lambda handlers, as plain async functions over JSON, so that the
//! `lambdas` crate only wraps them in `lambda_runtime` (clients and the
//! store built once, in [`Deps`], e.g. by [`Deps::open`]) and tests call
//! them directly. In Lambda the store is DynamoDB (`store.dynamodb_table`,
//! e.g. `REPOKID__STORE__DYNAMODB_TABLE`): a function's `/tmp` does not
//! outlive its instance.
//!
//! # `handle_update` (scheduled, e.g. daily by EventBridge)
//! Input: any event; an EventBridge event may narrow the accounts with
//! `{"detail": {"accounts": ["111122223333"]}}` (default: the
//! configuration's `accounts.ids`). It inventories the accounts, collects
//! Access Advisor and CloudTrail data as configured, stores all of it and
//! appends the per-account totals to the stats series. Output:
//! ```json
//! {"roles": 12, "new_versions": 3, "access_records": 240,
//!  "accounts": [{"account": "111122223333", "roles": 12, "access_records": 200}],
//!  "failures": [{"target": "arn:aws:iam::111122223333:role/x", "error": "..."}]}
//! ```
//! A failing account or role is listed in `failures`; the rest is stored.
//!
//! # `handle_repo_scheduled` (scheduled, e.g. hourly)
//! Repos every role whose schedule is due (a notice to the configured SNS
//! topic first), with the safe apply path of [`crate::apply`], and takes
//! each repoed role off the schedule. Each role is changed in its own
//! account (the account of its ARN): with `accounts.ids` set, as deployed,
//! through `accounts.assume_role` assumed there (the function's own account
//! included; once per account and invocation); without, with the function's
//! own credentials, which reach only its own account's roles (another
//! account's role fails, naming the fix, and the others go on). Output:
//! ```json
//! {"results": [{"role": "orders", "ok": true, "calls": 2, "committed": true,
//!               "saved_version": 4, "removed_count": 17},
//!              {"role": "web", "ok": false, "error": "..."}]}
//! ```
//!
//! Errors (the whole invocation failed) carry a stable
//! [`LambdaError::error_type`].

use aws_config::SdkConfig;
use policies::catalogue::Catalogue;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::aws::AwsIam;
use crate::aws::collect;
use crate::aws::notify::SnsNotifier;
use crate::aws::route::Route;
use crate::config::{Config, DEFAULT_SQLITE, StoreBackend};
use crate::err::StoreError;
use crate::plan::{PlanConfig, Planner};
use crate::schedule;
use crate::stats;
use crate::store::{DynamoStore, SqliteStore, Store};

/// What the handlers work with, built once per Lambda instance and shared
/// by the invocations (every field is read only; the store is `Sync`).
pub struct Deps {
    /// Where state is kept.
    pub store: Box<dyn Store>,
    /// The SDK configuration of the function's role.
    pub sdk: SdkConfig,
    /// The configuration.
    pub config: Config,
}

impl Deps {
    /// The dependencies with the store `config.store` selects: the
    /// DynamoDB table through `sdk`, or the SQLite file (opened, and
    /// created if missing).
    pub fn open(config: Config, sdk: SdkConfig) -> Result<Deps, StoreError> {
        let store: Box<dyn Store> = match config.store.backend(DEFAULT_SQLITE) {
            StoreBackend::DynamoDb(table) => Box::new(DynamoStore::from_sdk(&sdk, table)),
            StoreBackend::Sqlite(path) => Box::new(SqliteStore::open(&path)?),
        };
        Ok(Deps { store, sdk, config })
    }
}

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LambdaError {
    /// The event is not of the documented shape.
    #[error("the event is not usable: {0}; see the `repokid::lambda` documentation for its shape")]
    BadEvent(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The action catalogue did not load.
    #[error("the action catalogue did not load: {0}; rebuild the function")]
    Catalogue(String),
}

impl LambdaError {
    /// A stable name for the error, for Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            LambdaError::BadEvent(_) => "BadEvent",
            LambdaError::Store(_) => "StoreError",
            LambdaError::Catalogue(_) => "CatalogueError",
        }
    }
}

fn catalogue() -> Result<&'static Catalogue, LambdaError> {
    Catalogue::try_builtin().map_err(|e| LambdaError::Catalogue(e.to_string()))
}

/// The scheduled update (see the module documentation).
pub async fn handle_update(
    deps: &Deps,
    event: Value,
    now: OffsetDateTime,
) -> Result<Value, LambdaError> {
    let mut options = deps.config.collect_options();
    if let Some(accounts) = event.pointer("/detail/accounts") {
        options.accounts.ids = serde_json::from_value(accounts.clone())
            .map_err(|e| LambdaError::BadEvent(format!("`detail.accounts`: {e}")))?;
    }
    let collected = collect::collect(&deps.sdk, &options).await;
    let summary = deps.store.put_roles(&collected.roles, now).await?;
    deps.store.put_access(&collected.access, now).await?;
    let mut planner = Planner::new(
        catalogue()?,
        PlanConfig {
            diffs: false,
            ..deps.config.plan_config()
        },
    );
    let totals = stats::account_totals(deps.store.as_ref(), &mut planner, now).await?;
    deps.store.put_totals(&totals).await?;
    Ok(json!({
        "roles": summary.roles,
        "new_versions": summary.new_versions,
        "access_records": collected.access.len(),
        "accounts": collected.accounts,
        "failures": collected.failures,
    }))
}

/// The repo of due roles (see the module documentation).
pub async fn handle_repo_scheduled(deps: &Deps, now: OffsetDateTime) -> Result<Value, LambdaError> {
    let route = Route::of(&deps.config.collect_options().accounts);
    let iam = AwsIam::with_route(&deps.sdk, route);
    let notifier = deps
        .config
        .notify
        .sns_topic
        .clone()
        .map(|topic| SnsNotifier {
            client: aws_sdk_sns::Client::new(&deps.sdk),
            topic_arn: topic,
        });
    let mut planner = Planner::new(
        catalogue()?,
        PlanConfig {
            diffs: false,
            ..deps.config.plan_config()
        },
    );
    let results = schedule::repo_due(
        &iam,
        notifier.as_ref(),
        deps.store.as_ref(),
        &mut planner,
        true,
        now,
    )
    .await?;
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| match r.result {
            Ok(report) => json!({
                "role": r.role_name,
                "ok": true,
                "calls": report.calls.len(),
                "committed": report.committed,
                "saved_version": report.saved_version,
                "removed_count": report.plan.as_ref().map_or(0, |p| p.removed_count),
            }),
            Err(e) => json!({"role": r.role_name, "ok": false, "error": e.to_string()}),
        })
        .collect();
    Ok(json!({ "results": results }))
}
