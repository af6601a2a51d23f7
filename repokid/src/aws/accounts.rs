//! Many accounts: a role assumed in each through STS, the work run for
//! several accounts at once (at most `limit`), and each account's result
//! kept apart so that one failing account does not stop the others.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::err::{AwsError, error_chain};

/// The session name repokid's assumed-role sessions carry (it shows in
/// CloudTrail).
pub const SESSION_NAME: &str = "repokid";

/// The partition of the accounts `update` lists (their ARNs are not known
/// before the role is assumed).
pub const PARTITION: &str = "aws";

/// The ARN of role `role_name` in `account` of `partition` (`aws`,
/// `aws-cn`, `aws-us-gov`).
pub fn role_arn(partition: &str, account: &str, role_name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// An SDK configuration signed in as role `role_name` of `account` (in
/// `partition`), from the caller's configuration `base` (STS `AssumeRole`,
/// one hour).
pub async fn assume(
    base: &SdkConfig,
    partition: &str,
    account: &str,
    role_name: &str,
) -> Result<SdkConfig, AwsError> {
    let arn = role_arn(partition, account, role_name);
    let fail = |message: String| AwsError::AssumeRole {
        account: account.to_owned(),
        role_arn: arn.clone(),
        message,
    };
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(&arn)
        .role_session_name(SESSION_NAME)
        .send()
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    let creds = out
        .credentials
        .ok_or_else(|| fail("the answer holds no credentials".to_owned()))?;
    let expiry = u64::try_from(creds.expiration.secs())
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    let credentials = Credentials::new(
        creds.access_key_id,
        creds.secret_access_key,
        Some(creds.session_token),
        expiry,
        "repokid-assume-role",
    );
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// Where each account's work is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    /// The account IDs. Empty: the caller's own account, with its own
    /// credentials (no role assumed).
    pub ids: Vec<String>,
    /// The role assumed in each account.
    pub role_name: String,
    /// At most this many accounts at once (at least 1).
    pub limit: usize,
}

/// One account's outcome.
#[derive(Debug)]
pub struct AccountResult<T> {
    /// The account ID (`self` for the caller's own account).
    pub account: String,
    /// What the work answered, or why it failed.
    pub result: Result<T, AwsError>,
}

/// Runs `work(account, config)` for every account of `accounts`, at most
/// `accounts.limit` at once, each with the configuration of the role
/// assumed there; answers one result per account, in `accounts.ids` order.
pub async fn for_each<T, F, Fut>(
    base: &SdkConfig,
    accounts: &Accounts,
    work: F,
) -> Vec<AccountResult<T>>
where
    T: Send + 'static,
    F: Fn(String, SdkConfig) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AwsError>> + Send + 'static,
{
    if accounts.ids.is_empty() {
        let result = work("self".to_owned(), base.clone()).await;
        return vec![AccountResult {
            account: "self".to_owned(),
            result,
        }];
    }
    let permits = Arc::new(Semaphore::new(accounts.limit.max(1)));
    let work = Arc::new(work);
    let mut tasks = JoinSet::new();
    for (index, account) in accounts.ids.iter().enumerate() {
        let permits = Arc::clone(&permits);
        let work = Arc::clone(&work);
        let base = base.clone();
        let account = account.clone();
        let role = accounts.role_name.clone();
        tasks.spawn(async move {
            let result = match permits.acquire_owned().await {
                Err(e) => Err(AwsError::call("AssumeRole", &account, &e)),
                Ok(_permit) => match assume(&base, PARTITION, &account, &role).await {
                    Ok(config) => work(account.clone(), config).await,
                    Err(e) => Err(e),
                },
            };
            (index, AccountResult { account, result })
        });
    }
    let mut out: Vec<(usize, AccountResult<T>)> = Vec::with_capacity(accounts.ids.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => out.push(done),
            // A task that panicked: nothing of it to report but the failure.
            Err(e) => out.push((
                usize::MAX,
                AccountResult {
                    account: "unknown".to_owned(),
                    result: Err(AwsError::call("account task", "unknown", &e)),
                },
            )),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}
