//! The only AWS SDK caller of the crate.
//!
//! - [`AwsIam`]: IAM inline role policies and managed-policy attachments,
//!   as [`Iam`] for [`crate::apply`],
//!   each call sent to the account of the role's ARN ([`route`]);
//! - [`route`]: how a role's account is reached (the caller's credentials,
//!   or a role assumed in each account) and the sessions of a run;
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
pub mod route;
use crate::err::{IamError, error_chain};
use crate::model::NamedPolicy;
use route::{RoleArn, Route, RouteError, Sessions};

/// IAM through the AWS SDK. Every call names its role by ARN and goes to
/// that ARN's account, reached by the [`Route`] given: the caller's own
/// credentials ([`AwsIam::new`]; a role of another account is refused) or a
/// role assumed in each account, once per account for the life of the
/// value (clones share the sessions).
#[derive(Debug, Clone)]
pub struct AwsIam {
    sessions: Sessions,
}

impl AwsIam {
    /// IAM with the caller's own credentials from `config`: roles of the
    /// caller's account only.
    pub fn new(config: &SdkConfig) -> Self {
        Self::with_route(config, Route::Caller)
    }

    /// IAM from the caller's configuration `config`, each role's account
    /// reached by `route`.
    pub fn with_route(config: &SdkConfig, route: Route) -> Self {
        AwsIam {
            sessions: Sessions::new(config, route),
        }
    }

    /// The sessions the calls use (e.g. to make other calls in a role's
    /// account with the same credentials).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The IAM client of `role_arn`'s account and the role's name (without
    /// its path), or why the account cannot be reached, as the error of
    /// `operation`.
    async fn reach<'a>(
        &self,
        operation: &'static str,
        role_arn: &'a str,
        policy: Option<&str>,
    ) -> Result<(aws_sdk_iam::Client, &'a str), IamError> {
        let refused = |e: RouteError| call_error(operation, role_arn, policy, &e);
        let role = RoleArn::parse(role_arn)
            .ok_or_else(|| refused(RouteError::NotRoleArn(role_arn.to_owned())))?;
        let session = self.sessions.session(&role).await.map_err(refused)?;
        Ok((session.iam, role.name))
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
    async fn inline_policies(&self, role_arn: &str) -> Result<Vec<NamedPolicy>, IamError> {
        let (client, role) = self.reach("ListRolePolicies", role_arn, None).await?;
        let mut pages = client
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("ListRolePolicies", role_arn, None, &e))?;
            names.extend(page.policy_names);
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let got = client
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| call_error("GetRolePolicy", role_arn, Some(&name), &e))?;
            // IAM answers URL-encoded documents, moto sometimes raw: `parse`
            // takes both.
            let document = Policy::parse(&got.policy_document)
                .map_err(|e| call_error("GetRolePolicy", role_arn, Some(&name), &e))?;
            out.push(NamedPolicy { name, document });
        }
        Ok(out)
    }

    async fn put_policy(
        &self,
        role_arn: &str,
        name: &str,
        document: &Policy,
    ) -> Result<(), IamError> {
        let (client, role) = self.reach("PutRolePolicy", role_arn, Some(name)).await?;
        client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document.to_json())
            .send()
            .await
            .map_err(|e| call_error("PutRolePolicy", role_arn, Some(name), &e))?;
        Ok(())
    }

    async fn delete_policy(&self, role_arn: &str, name: &str) -> Result<(), IamError> {
        let (client, role) = self.reach("DeleteRolePolicy", role_arn, Some(name)).await?;
        client
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| call_error("DeleteRolePolicy", role_arn, Some(name), &e))?;
        Ok(())
    }

    async fn attached_policies(&self, role_arn: &str) -> Result<Vec<String>, IamError> {
        const OP: &str = "ListAttachedRolePolicies";
        let (client, role) = self.reach(OP, role_arn, None).await?;
        let mut pages = client
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error(OP, role_arn, None, &e))?;
            out.extend(
                page.attached_policies
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.policy_arn),
            );
        }
        Ok(out)
    }

    async fn attach_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), IamError> {
        const OP: &str = "AttachRolePolicy";
        let (client, role) = self.reach(OP, role_arn, Some(policy_arn)).await?;
        client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| call_error(OP, role_arn, Some(policy_arn), &e))?;
        Ok(())
    }

    async fn detach_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), IamError> {
        const OP: &str = "DetachRolePolicy";
        let (client, role) = self.reach(OP, role_arn, Some(policy_arn)).await?;
        client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| call_error(OP, role_arn, Some(policy_arn), &e))?;
        Ok(())
    }
}
