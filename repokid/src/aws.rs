//! The only AWS SDK caller of the crate.
//!
//! - [`AwsIam`]: IAM inline role policies, as [`Iam`] for [`crate::apply`];
//! - [`inventory`]: roles from `GetAccountAuthorizationDetails`, fully
//!   paginated;
//! - [`accounts`]: many accounts through STS `AssumeRole`, concurrently
//!   with a bound, each account's failure reported apart;
//! - [`advisor`]: Access Advisor jobs (generate, poll, paginate);
//! - [`cloudtrail`]: CloudTrail log files from an S3 prefix;
//! - [`collect`]: a whole update: every account, Access Advisor, CloudTrail;
//! - [`notify`]: SNS notifications.

use aws_config::SdkConfig;
use policies::Policy;

use crate::apply::Iam;

pub mod accounts;
pub mod advisor;
pub mod cloudtrail;
pub mod collect;
pub mod inventory;
pub mod notify;
use crate::err::{IamError, error_chain};
use crate::model::NamedPolicy;

/// IAM through the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsIam {
    client: aws_sdk_iam::Client,
}

impl AwsIam {
    /// A client from a loaded SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        AwsIam {
            client: aws_sdk_iam::Client::new(config),
        }
    }
}

/// An S3 client; path-style addressing when an endpoint is configured
/// (local stand-ins such as moto or MinIO do not serve bucket host names).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// An SDK time as a `time` value (`None` when absent or out of range).
fn time_of(t: Option<&aws_sdk_iam::primitives::DateTime>) -> Option<time::OffsetDateTime> {
    t.and_then(|t| time::OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
}

/// An [`IamError`] carrying `e` and its chain of causes.
fn call_error(
    operation: &'static str,
    role: &str,
    policy: Option<&str>,
    e: &dyn std::error::Error,
) -> IamError {
    IamError {
        operation,
        role: role.to_owned(),
        policy: policy.map(str::to_owned),
        message: error_chain(e),
    }
}

impl Iam for AwsIam {
    async fn inline_policies(&self, role: &str) -> Result<Vec<NamedPolicy>, IamError> {
        let mut pages = self
            .client
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("ListRolePolicies", role, None, &e))?;
            names.extend(page.policy_names);
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let got = self
                .client
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| call_error("GetRolePolicy", role, Some(&name), &e))?;
            // IAM answers URL-encoded documents, moto sometimes raw: `parse`
            // takes both.
            let document = Policy::parse(&got.policy_document)
                .map_err(|e| call_error("GetRolePolicy", role, Some(&name), &e))?;
            out.push(NamedPolicy { name, document });
        }
        Ok(out)
    }

    async fn put_policy(&self, role: &str, name: &str, document: &Policy) -> Result<(), IamError> {
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document.to_json())
            .send()
            .await
            .map_err(|e| call_error("PutRolePolicy", role, Some(name), &e))?;
        Ok(())
    }

    async fn delete_policy(&self, role: &str, name: &str) -> Result<(), IamError> {
        self.client
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| call_error("DeleteRolePolicy", role, Some(name), &e))?;
        Ok(())
    }
}
