//! `repokid-update` (the scheduled inventory and access-data collection)
//! and `repokid-repo-scheduled` (repo the roles whose schedule is due).
//!
//! Environment:
//! - `REPOKID_CONFIG`: the repokid configuration as TOML text; every key
//!   can also be set or overridden by `REPOKID__<TABLE>__<KEY>` variables,
//!   as for the `repokid` command.
//!
//! repokid keeps its state in SQLite only for now (`store.sqlite`); its
//! DynamoDB store is not built, so a `store.dynamodb_table` is refused at
//! start. Until then these functions are not in `template.yaml`: state in
//! a Lambda's `/tmp` does not outlive the instance.

use repokid::SqliteStore;
use repokid::config::{Config, ENV_PREFIX};
use repokid::lambda::{Deps, LambdaError, handle_repo_scheduled, handle_update};
use tokio::sync::Mutex;

use crate::boot::{Handler, Invocation};
use crate::env::Env;
use crate::err::{HandlerError, InitError};

/// The variable holding the configuration's TOML text.
pub const CONFIG_VAR: &str = "REPOKID_CONFIG";

/// Which repokid function this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `repokid-update`.
    Update,
    /// `repokid-repo-scheduled`.
    RepoScheduled,
}

/// A repokid function; the handlers take their dependencies mutably, and
/// events come one at a time, so the lock is never contended.
pub struct Repokid {
    deps: Mutex<Deps>,
    job: Job,
}

impl Repokid {
    /// Loads the configuration, opens the store and the SDK configuration.
    pub async fn init(env: Env, job: Job) -> Result<Self, InitError> {
        let text = env.optional(CONFIG_VAR).unwrap_or_default();
        let config =
            Config::load(text, env.with_prefix(ENV_PREFIX)).map_err(|e| InitError::Invalid {
                name: format!("{CONFIG_VAR} (or a {ENV_PREFIX}* override)"),
                reason: crate::err::chain(&e),
            })?;
        let store = match (&config.store.sqlite, &config.store.dynamodb_table) {
            (Some(path), _) => {
                SqliteStore::open(path).map_err(|e| InitError::setup("the repokid store", &e))?
            }
            (None, _) => {
                return Err(InitError::Invalid {
                    name: format!("{CONFIG_VAR} (store)"),
                    reason: "repokid has no DynamoDB store yet; set `store.sqlite`".into(),
                });
            }
        };
        let sdk = crate::aws::sdk_config().await;
        Ok(Self {
            deps: Mutex::new(Deps {
                store: Box::new(store),
                sdk,
                config,
            }),
            job,
        })
    }
}

fn handler_error(e: &LambdaError) -> HandlerError {
    HandlerError {
        error_type: e.error_type().to_owned(),
        message: crate::err::chain(e),
    }
}

impl Handler for Repokid {
    type Event = serde_json::Value;
    type Response = serde_json::Value;

    async fn handle(
        &self,
        event: serde_json::Value,
        invocation: &Invocation,
    ) -> Result<serde_json::Value, HandlerError> {
        let mut deps = self.deps.lock().await;
        // Boxed: the handlers' futures are deep enough to overflow the
        // compiler's query depth once nested in the runtime's.
        let answer = match self.job {
            Job::Update => Box::pin(handle_update(&mut deps, event, invocation.now)).await,
            Job::RepoScheduled => Box::pin(handle_repo_scheduled(&mut deps, invocation.now)).await,
        };
        answer.map_err(|e| handler_error(&e))
    }
}
