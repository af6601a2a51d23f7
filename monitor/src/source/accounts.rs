//! Many accounts at once: assume a role in each (STS), run the work for each
//! account with at most `limit` running together, and report every account's
//! outcome, a failure in one never stopping the others.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::SourceError;

/// The role assumed in each account: `arn:{partition}:iam::{account}:role/{role_name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// Role name (with its path, if any), the same in every account.
    pub role_name: String,
    /// `RoleSessionName`, shown in the accounts' CloudTrail.
    pub session_name: String,
    /// `ExternalId`, when the roles' trust policies require one.
    pub external_id: Option<String>,
    /// ARN partition: `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
}

impl AssumeRole {
    /// Assumes `role_name` in the `aws` partition with no external id.
    pub fn new(role_name: &str, session_name: &str) -> AssumeRole {
        AssumeRole {
            role_name: role_name.trim_matches('/').to_owned(),
            session_name: session_name.to_owned(),
            external_id: None,
            partition: "aws".to_owned(),
        }
    }

    /// The role's ARN in `account`.
    pub fn role_arn(&self, account: &str) -> String {
        format!(
            "arn:{}:iam::{account}:role/{}",
            self.partition, self.role_name
        )
    }

    /// An SDK configuration with the role's temporary credentials in
    /// `account` (valid for the role's session duration, one hour by default).
    pub async fn config_for(
        &self,
        base: &SdkConfig,
        account: &str,
    ) -> Result<SdkConfig, SourceError> {
        let role_arn = self.role_arn(account);
        let answer = aws_sdk_sts::Client::new(base)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.external_id.clone())
            .send()
            .await;
        let fail = |message: String| SourceError::AssumeRole {
            account: account.to_owned(),
            role_arn: role_arn.clone(),
            message,
        };
        let answer = answer.map_err(|e| match SourceError::aws("sts:AssumeRole", e) {
            SourceError::Aws { message, .. } => fail(message),
            other => fail(other.to_string()),
        })?;
        let credentials = answer
            .credentials()
            .ok_or_else(|| fail("the answer holds no credentials".to_owned()))?;
        let credentials = Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            SystemTime::try_from(*credentials.expiration()).ok(),
            "monitor-assume-role",
        );
        Ok(base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build())
    }
}

/// One account's outcome.
#[derive(Debug)]
pub struct AccountResult<T> {
    /// The account.
    pub account: String,
    /// What the work returned; errors name the account.
    pub result: Result<T, SourceError>,
}

/// Runs `work` for every account in `accounts`, each with an SDK
/// configuration holding `role`'s credentials in that account, at most
/// `limit` (at least 1) at a time. Returns one result per account, in the
/// order given (an account listed twice runs once); a failure (assuming the role, or in the work) is that
/// account's result only.
pub async fn for_each_account<T, F, Fut>(
    base: &SdkConfig,
    accounts: &[String],
    role: &AssumeRole,
    limit: usize,
    work: F,
) -> Vec<AccountResult<T>>
where
    T: Send + 'static,
    F: Fn(String, SdkConfig) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, SourceError>> + Send + 'static,
{
    let work = Arc::new(work);
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = JoinSet::new();
    let mut task_account = HashMap::new();
    let mut unique: Vec<&String> = Vec::with_capacity(accounts.len());
    for account in accounts {
        if !unique.contains(&account) {
            unique.push(account);
        }
    }
    for &account in &unique {
        let (work, permits, base, role) = (
            Arc::clone(&work),
            Arc::clone(&permits),
            base.clone(),
            role.clone(),
        );
        let id = account.clone();
        let span = tracing::info_span!("account", account = %id);
        let handle = tasks.spawn(
            async move {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .map_err(|e| SourceError::handler(e.to_string()))?;
                let config = role.config_for(&base, &id).await?;
                work(id.clone(), config).await.map_err(|e| match e {
                    already @ SourceError::InAccount { .. } => already,
                    other => SourceError::InAccount {
                        account: id,
                        source: Box::new(other),
                    },
                })
            }
            .instrument(span),
        );
        task_account.insert(handle.id(), account.clone());
    }
    let mut done: HashMap<String, Result<T, SourceError>> = HashMap::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        let (id, result) = match joined {
            Ok((id, result)) => (id, result),
            Err(error) => (
                error.id(),
                Err(SourceError::handler(format!(
                    "the account's task failed: {error}"
                ))),
            ),
        };
        if let Some(account) = task_account.remove(&id) {
            if let Err(error) = &result {
                tracing::warn!(account = %account, "{error}");
            }
            done.insert(account, result);
        }
    }
    unique
        .into_iter()
        .filter_map(|account| {
            done.remove(account).map(|result| AccountResult {
                account: account.clone(),
                result,
            })
        })
        .collect()
}
