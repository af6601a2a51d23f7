//! One `repokid update` from the AWS APIs: for every account (through
//! [`super::accounts`]), the roles from IAM and, per role, Access Advisor
//! (several roles' jobs at once, [`AdvisorOptions::concurrency`]);
//! CloudTrail logs from S3 once for all accounts. A role whose Access
//! Advisor job fails is reported and the others go on; an account that
//! fails is reported and the other accounts go on.

use std::sync::Arc;

use aws_config::SdkConfig;
use serde::Serialize;

use super::accounts::{self, Accounts};
use super::advisor::{self, AdvisorOptions};
use super::cloudtrail::{self, S3Location};
use super::inventory;
use crate::err::AwsError;
use crate::model::{AccessRecord, RoleRecord};

/// What to collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectOptions {
    /// The accounts and the role assumed in each.
    pub accounts: Accounts,
    /// Access Advisor settings; `None`: not asked.
    pub advisor: Option<AdvisorOptions>,
    /// CloudTrail log files to read, if any.
    pub cloudtrail: Option<S3Location>,
}

/// What one account gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountData {
    /// The roles.
    pub roles: Vec<RoleRecord>,
    /// Their Access Advisor records.
    pub access: Vec<AccessRecord>,
    /// Roles whose Access Advisor job failed, with the error.
    pub failed_roles: Vec<(String, AwsError)>,
}

/// The result of a whole collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// Roles of every account that answered.
    pub roles: Vec<RoleRecord>,
    /// Access records: Access Advisor's and CloudTrail's.
    pub access: Vec<AccessRecord>,
    /// Per account: (account, roles, access records), for those that answered.
    pub accounts: Vec<AccountSummary>,
    /// Everything that failed (an account, a role's job, CloudTrail), each
    /// with what it was about.
    pub failures: Vec<Failure>,
}

/// One account's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    /// The account ID (`self`: the caller's own).
    pub account: String,
    /// Roles inventoried.
    pub roles: usize,
    /// Access Advisor records.
    pub access_records: usize,
}

/// Something that could not be collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The account, role ARN or S3 location.
    pub target: String,
    /// The error, as a message.
    pub error: String,
}

/// The roles of one account and, if asked, their Access Advisor records.
pub async fn account(
    config: &SdkConfig,
    account: &str,
    advisor: Option<&AdvisorOptions>,
) -> Result<AccountData, AwsError> {
    let iam = aws_sdk_iam::Client::new(config);
    let roles = inventory::roles(&iam, account, None).await?;
    let mut data = AccountData::default();
    if let Some(options) = advisor {
        let arns: Vec<String> = roles.iter().map(|r| r.arn.clone()).collect();
        for role in advisor::roles_access(&iam, &arns, options).await {
            match role.result {
                Ok(records) => data.access.extend(records),
                Err(e) => data.failed_roles.push((role.role_arn, e)),
            }
        }
    }
    data.roles = roles;
    Ok(data)
}

/// Collects everything `options` asks for, from `base` (the caller's
/// configuration; each account's role is assumed from it).
pub async fn collect(base: &SdkConfig, options: &CollectOptions) -> Collected {
    let advisor = Arc::new(options.advisor);
    let results = accounts::for_each(base, &options.accounts, move |id, config| {
        let advisor = Arc::clone(&advisor);
        async move { account(&config, &id, advisor.as_ref().as_ref()).await }
    })
    .await;
    let mut out = Collected::default();
    for r in results {
        match r.result {
            Ok(data) => {
                out.accounts.push(AccountSummary {
                    account: r.account,
                    roles: data.roles.len(),
                    access_records: data.access.len(),
                });
                out.roles.extend(data.roles);
                out.access.extend(data.access);
                out.failures
                    .extend(data.failed_roles.into_iter().map(|(arn, e)| Failure {
                        target: arn,
                        error: e.to_string(),
                    }));
            }
            Err(e) => out.failures.push(Failure {
                target: r.account,
                error: e.to_string(),
            }),
        }
    }
    if let Some(at) = &options.cloudtrail {
        let s3 = super::s3_client(base);
        match cloudtrail::records(&s3, at, None).await {
            Ok(records) => out.access.extend(records),
            Err(e) => out.failures.push(Failure {
                target: at.to_string(),
                error: e.to_string(),
            }),
        }
    }
    out
}
