//! Roles from IAM's `GetAccountAuthorizationDetails`, every page.
//!
//! Only roles and customer-managed policies are asked for (`Filter` `Role`
//! and `LocalManagedPolicy`): users and groups are not repokid's business,
//! and AWS-managed policies are never rewritten (an attachment to one is
//! recognised by its ARN). Each SDK page becomes a
//! [`policies::account::Page`]; [`AccountDetails::from_pages`] joins them,
//! so a listing whose last page still says `IsTruncated` is an error rather
//! than a silently short inventory.

use super::time_of;
use crate::err::AwsError;
use crate::model::RoleRecord;
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, RoleDetail};
use policies::Policy;
use policies::account::{
    AccountDetails, AttachedPolicy, InlinePolicy, InstanceProfile, LastUsed, ManagedPolicy, Page,
    PolicyVersion, Role, Tag,
};

const OPERATION: &str = "GetAccountAuthorizationDetails";

/// Every role of the account `client` is signed in to, with its inline
/// policies and the default version of each attached customer-managed
/// policy. `page_size` sets `MaxItems` (AWS's default, 100, when `None`);
/// `account` names the account in errors.
pub async fn roles(
    client: &aws_sdk_iam::Client,
    account: &str,
    page_size: Option<i32>,
) -> Result<Vec<RoleRecord>, AwsError> {
    let mut stream = client
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .set_max_items(page_size)
        .into_paginator()
        .send();
    let mut pages = Vec::new();
    while let Some(page) = stream.next().await {
        let page = page.map_err(|e| AwsError::call(OPERATION, account, &e))?;
        let mut details = AccountDetails::default();
        for role in page.role_detail_list.unwrap_or_default() {
            details.roles.push(role_of(role, account)?);
        }
        for policy in page.policies.unwrap_or_default() {
            details.policies.push(managed_of(policy, account)?);
        }
        pages.push(Page {
            details,
            is_truncated: page.is_truncated,
            marker: page.marker,
        });
    }
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let details = AccountDetails::from_pages(pages).map_err(|e| AwsError::Answer {
        operation: OPERATION,
        target: account.to_owned(),
        detail: e.to_string(),
        fix: "run `repokid update` again",
    })?;
    Ok(RoleRecord::from_account(&details))
}

/// A policy document from the API (URL-encoded JSON), errors naming where.
fn document(text: Option<&str>, account: &str, what: &str) -> Result<Policy, AwsError> {
    let bad = |detail: String| AwsError::Answer {
        operation: OPERATION,
        target: account.to_owned(),
        detail,
        fix: "fix the policy in IAM or report it",
    };
    let text = text.ok_or_else(|| bad(format!("{what} has no document")))?;
    Policy::parse(text).map_err(|e| bad(format!("{what}: {e}")))
}

fn role_of(r: RoleDetail, account: &str) -> Result<Role, AwsError> {
    let name = r.role_name.unwrap_or_default();
    let trust_policy = document(
        r.assume_role_policy_document.as_deref(),
        account,
        &format!("the trust policy of role `{name}`"),
    )?;
    let inline = r
        .role_policy_list
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let policy = p.policy_name.unwrap_or_default();
            Ok(InlinePolicy {
                document: document(
                    p.policy_document.as_deref(),
                    account,
                    &format!("inline policy `{policy}` of role `{name}`"),
                )?,
                name: policy,
            })
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    Ok(Role {
        id: r.role_id.unwrap_or_default(),
        arn: r.arn.unwrap_or_default(),
        path: r.path.unwrap_or_else(|| "/".to_owned()),
        create_date: time_of(r.create_date.as_ref()),
        trust_policy,
        inline,
        attached: r
            .attached_managed_policies
            .unwrap_or_default()
            .into_iter()
            .map(|a| AttachedPolicy {
                name: a.policy_name.unwrap_or_default(),
                arn: a.policy_arn.unwrap_or_default(),
            })
            .collect(),
        tags: r
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| Tag {
                key: t.key,
                value: t.value,
            })
            .collect(),
        boundary: r
            .permissions_boundary
            .and_then(|b| b.permissions_boundary_arn),
        last_used: r.role_last_used.map(|u| LastUsed {
            date: time_of(u.last_used_date.as_ref()),
            region: u.region,
        }),
        instance_profiles: r
            .instance_profile_list
            .unwrap_or_default()
            .into_iter()
            .map(|p| InstanceProfile {
                name: p.instance_profile_name,
                id: p.instance_profile_id,
                arn: p.arn,
                path: p.path,
            })
            .collect(),
        name,
    })
}

fn managed_of(p: ManagedPolicyDetail, account: &str) -> Result<ManagedPolicy, AwsError> {
    let arn = p.arn.unwrap_or_default();
    let versions = p
        .policy_version_list
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let id = v.version_id.unwrap_or_default();
            Ok(PolicyVersion {
                document: document(
                    v.document.as_deref(),
                    account,
                    &format!("version `{id}` of managed policy `{arn}`"),
                )?,
                id,
                is_default: v.is_default_version,
                create_date: time_of(v.create_date.as_ref()),
            })
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    Ok(ManagedPolicy {
        name: p.policy_name.unwrap_or_default(),
        id: p.policy_id.unwrap_or_default(),
        path: p.path.unwrap_or_else(|| "/".to_owned()),
        default_version_id: p.default_version_id,
        attachment_count: p.attachment_count.and_then(|n| u32::try_from(n).ok()),
        boundary_usage_count: p
            .permissions_boundary_usage_count
            .and_then(|n| u32::try_from(n).ok()),
        is_attachable: p.is_attachable,
        description: p.description,
        create_date: time_of(p.create_date.as_ref()),
        update_date: time_of(p.update_date.as_ref()),
        versions,
        arn,
    })
}
