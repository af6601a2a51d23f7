//! The only AWS SDK caller of the crate: IAM inline role policies, as
//! [`Iam`] for [`crate::apply`].

use aws_config::SdkConfig;
use policies::Policy;

use crate::apply::Iam;
use crate::err::IamError;
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

/// An [`IamError`] carrying `e` and its chain of causes.
fn call_error(
    operation: &'static str,
    role: &str,
    policy: Option<&str>,
    e: &dyn std::error::Error,
) -> IamError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    IamError {
        operation,
        role: role.to_owned(),
        policy: policy.map(str::to_owned),
        message,
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
