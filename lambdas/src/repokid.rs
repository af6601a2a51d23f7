//! `repokid-update` (the scheduled inventory and access-data collection)
//! and `repokid-repo-scheduled` (repo the roles whose schedule is due).
//!
//! Environment:
//! - `REPOKID_CONFIG`: the repokid configuration as TOML text; every key
//!   can also be set or overridden by `REPOKID__<TABLE>__<KEY>` variables,
//!   as for the `repokid` command.
//!
//! In Lambda the configuration names `store.dynamodb_table` (as
//! `template.yaml` does): a SQLite file in `/tmp` would not outlive the
//! instance.

use repokid::config::{Config, ENV_PREFIX};
use repokid::lambda::{Deps, LambdaError, handle_repo_scheduled, handle_update};

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

/// A repokid function.
pub struct Repokid {
    deps: Deps,
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
        if config.store.sqlite.is_none() && config.store.dynamodb_table.is_none() {
            return Err(InitError::Invalid {
                name: format!("{CONFIG_VAR} (store)"),
                reason: "name the DynamoDB table in `store.dynamodb_table` \
                         (a SQLite file in Lambda would not outlive the instance)"
                    .into(),
            });
        }
        let sdk = crate::aws::sdk_config().await;
        let deps =
            Deps::open(config, sdk).map_err(|e| InitError::setup("the repokid store", &e))?;
        Ok(Self { deps, job })
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
        let deps = &self.deps;
        // Boxed: the handlers' futures are deep enough to overflow the
        // compiler's query depth once nested in the runtime's.
        let answer = match self.job {
            Job::Update => Box::pin(handle_update(deps, event, invocation.now)).await,
            Job::RepoScheduled => Box::pin(handle_repo_scheduled(deps, invocation.now)).await,
        };
        answer.map_err(|e| handler_error(&e))
    }
}
