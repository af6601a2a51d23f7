//! Direct IAM collection, for accounts without AWS Config: every role, user,
//! group and customer managed policy from `GetAccountAuthorizationDetails`
//! (all pages), or from an export of it, as configuration items shaped the
//! way AWS Config records `AWS::IAM::Role`, `AWS::IAM::User`,
//! `AWS::IAM::Group` and `AWS::IAM::Policy`.
//!
//! As in Config, policy documents are URL-encoded JSON strings, resource ids
//! are IAM's unique ids (`AROA...`, `AIDA...`, `AGPA...`, `ANPA...`), the
//! region is `global`, and AWS managed policies are not recorded.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types as sdk;
use aws_sdk_iam::types::EntityType;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use policies::Policy;
use policies::account::{
    AccountDetails, AttachedPolicy, Group, InlinePolicy, InstanceProfile, LastUsed, ManagedPolicy,
    Page, PolicyVersion, Role, Tag, User,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SourceError;
use crate::model::{ConfigItem, ItemStatus, ResourceKey};

/// Items per `GetAccountAuthorizationDetails` call (the API's maximum).
const PAGE_SIZE: i32 = 1000;

/// What URL encoding leaves alone: RFC 3986's unreserved characters.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Collects the IAM configuration of the account `config`'s credentials
/// belong to; `now` becomes each item's capture time.
pub async fn collect(
    config: &SdkConfig,
    now: OffsetDateTime,
) -> Result<Vec<ConfigItem>, SourceError> {
    let details = details(&Client::new(config), PAGE_SIZE).await?;
    items(&details, now)
}

/// Reads `GetAccountAuthorizationDetails` to its last page (`page_size`
/// records a call), policy documents parsed. Only customer managed policies
/// are asked for, as Config records no others.
pub async fn details(client: &Client, page_size: i32) -> Result<AccountDetails, SourceError> {
    let mut pages = Vec::new();
    let mut marker = None;
    loop {
        let answer = client
            .get_account_authorization_details()
            .set_filter(Some(vec![
                EntityType::Role,
                EntityType::User,
                EntityType::Group,
                EntityType::LocalManagedPolicy,
            ]))
            .max_items(page_size)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| SourceError::aws("iam:GetAccountAuthorizationDetails", e))?;
        let page = Page {
            details: AccountDetails {
                users: answer
                    .user_detail_list()
                    .iter()
                    .map(user)
                    .collect::<Result<_, _>>()?,
                groups: answer
                    .group_detail_list()
                    .iter()
                    .map(group)
                    .collect::<Result<_, _>>()?,
                roles: answer
                    .role_detail_list()
                    .iter()
                    .map(role)
                    .collect::<Result<_, _>>()?,
                policies: answer
                    .policies()
                    .iter()
                    .map(managed)
                    .collect::<Result<_, _>>()?,
            },
            is_truncated: answer.is_truncated(),
            marker: answer.marker().map(str::to_owned),
        };
        marker = page.marker.clone().filter(|_| page.is_truncated);
        pages.push(page);
        if marker.is_none() {
            break;
        }
    }
    AccountDetails::from_pages(pages).map_err(|e| SourceError::Iam {
        arn: "GetAccountAuthorizationDetails".to_owned(),
        message: e.to_string(),
    })
}

/// Reads an export (`aws iam get-account-authorization-details` output,
/// e.g. `examples/account/authorization-details.json`) into items.
pub fn from_export(text: &str, now: OffsetDateTime) -> Result<Vec<ConfigItem>, SourceError> {
    let details = AccountDetails::parse(text).map_err(|e| SourceError::Iam {
        arn: "the authorization details export".to_owned(),
        message: e.to_string(),
    })?;
    items(&details, now)
}

/// Turns an account's IAM records into configuration items: roles, users,
/// groups, then customer managed policies.
pub fn items(
    details: &AccountDetails,
    now: OffsetDateTime,
) -> Result<Vec<ConfigItem>, SourceError> {
    let mut items = Vec::new();
    for role in &details.roles {
        let configuration = json!({
            "path": role.path,
            "roleName": role.name,
            "roleId": role.id,
            "arn": role.arn,
            "createDate": time_text(role.create_date),
            "assumeRolePolicyDocument": encoded(&role.trust_policy),
            "instanceProfileList": role.instance_profiles.iter().map(|p| json!({
                "path": p.path, "instanceProfileName": p.name,
                "instanceProfileId": p.id, "arn": p.arn,
            })).collect::<Vec<_>>(),
            "rolePolicyList": inline_list(&role.inline),
            "attachedManagedPolicies": attached_list(&role.attached),
            "permissionsBoundary": boundary(role.boundary.as_deref()),
            "tags": tag_list(&role.tags),
            "roleLastUsed": role.last_used.as_ref().map(|used| json!({
                "lastUsedDate": time_text(used.date), "region": used.region,
            })),
        });
        let key = (&role.arn, "AWS::IAM::Role", &role.id, &role.name);
        items.push(item(key, configuration, &role.tags, now)?);
    }
    for user in &details.users {
        let configuration = json!({
            "path": user.path,
            "userName": user.name,
            "userId": user.id,
            "arn": user.arn,
            "createDate": time_text(user.create_date),
            "userPolicyList": inline_list(&user.inline),
            "groupList": user.groups,
            "attachedManagedPolicies": attached_list(&user.attached),
            "permissionsBoundary": boundary(user.boundary.as_deref()),
            "tags": tag_list(&user.tags),
        });
        let key = (&user.arn, "AWS::IAM::User", &user.id, &user.name);
        items.push(item(key, configuration, &user.tags, now)?);
    }
    for group in &details.groups {
        let configuration = json!({
            "path": group.path,
            "groupName": group.name,
            "groupId": group.id,
            "arn": group.arn,
            "createDate": time_text(group.create_date),
            "groupPolicyList": inline_list(&group.inline),
            "attachedManagedPolicies": attached_list(&group.attached),
        });
        let key = (&group.arn, "AWS::IAM::Group", &group.id, &group.name);
        items.push(item(key, configuration, &[], now)?);
    }
    for policy in details.policies.iter().filter(|p| !p.is_aws_managed()) {
        let name = name_of(&policy.name, &policy.arn);
        let configuration = json!({
            "policyName": name,
            "policyId": policy.id,
            "arn": policy.arn,
            "path": policy.path,
            "defaultVersionId": policy.default_version_id,
            "attachmentCount": policy.attachment_count,
            "permissionsBoundaryUsageCount": policy.boundary_usage_count,
            "isAttachable": policy.is_attachable,
            "description": policy.description,
            "createDate": time_text(policy.create_date),
            "updateDate": time_text(policy.update_date),
            "policyVersionList": policy.versions.iter().map(|v| json!({
                "document": encoded(&v.document),
                "versionId": v.id,
                "isDefaultVersion": v.is_default,
                "createDate": time_text(v.create_date),
            })).collect::<Vec<_>>(),
        });
        let key = (&policy.arn, "AWS::IAM::Policy", &policy.id, &name);
        items.push(item(key, configuration, &[], now)?);
    }
    Ok(items)
}

/// A record's name, or the last part of its ARN when the source left the
/// name out (moto's managed policies have none).
fn name_of(name: &str, arn: &str) -> String {
    if name.is_empty() {
        arn.rsplit('/').next().unwrap_or_default().to_owned()
    } else {
        name.to_owned()
    }
}

/// One item; the account comes from the ARN, the id falls back to the name
/// for sources without ids.
fn item(
    (arn, resource_type, id, name): (&String, &str, &String, &String),
    configuration: Value,
    tags: &[Tag],
    now: OffsetDateTime,
) -> Result<ConfigItem, SourceError> {
    let account = arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| SourceError::Iam {
            arn: if arn.is_empty() {
                name.clone()
            } else {
                arn.clone()
            },
            message: "the ARN names no account".to_owned(),
        })?;
    Ok(ConfigItem {
        key: ResourceKey {
            account: account.to_owned(),
            region: "global".to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: if id.is_empty() {
                name.clone()
            } else {
                id.clone()
            },
        },
        arn: Some(arn.clone()),
        name: Some(name.clone()),
        status: ItemStatus::Ok,
        capture_time: Some(now),
        configuration,
        supplementary: BTreeMap::new(),
        tags: tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    })
}

fn encoded(policy: &Policy) -> String {
    utf8_percent_encode(&policy.to_json(), ENCODE).to_string()
}

fn time_text(time: Option<OffsetDateTime>) -> Option<String> {
    time.and_then(|t| t.format(&Rfc3339).ok())
}

fn inline_list(inline: &[InlinePolicy]) -> Vec<Value> {
    inline
        .iter()
        .map(|p| json!({"policyName": p.name, "policyDocument": encoded(&p.document)}))
        .collect()
}

fn attached_list(attached: &[AttachedPolicy]) -> Vec<Value> {
    attached
        .iter()
        .map(|p| json!({"policyName": p.name, "policyArn": p.arn}))
        .collect()
}

fn tag_list(tags: &[Tag]) -> Vec<Value> {
    tags.iter()
        .map(|t| json!({"key": t.key, "value": t.value}))
        .collect()
}

fn boundary(arn: Option<&str>) -> Value {
    arn.map_or(Value::Null, |arn| {
        json!({"permissionsBoundaryType": "PermissionsBoundaryPolicy", "permissionsBoundaryArn": arn})
    })
}

// SDK records into the `policies` account model.

fn document(owner: &str, text: Option<&str>) -> Result<Policy, SourceError> {
    let text = text.ok_or_else(|| SourceError::Iam {
        arn: owner.to_owned(),
        message: "a policy document is missing".to_owned(),
    })?;
    Policy::parse(text).map_err(|e| SourceError::Iam {
        arn: owner.to_owned(),
        message: e.to_string(),
    })
}

fn date(time: Option<&DateTime>) -> Option<OffsetDateTime> {
    time.and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

fn inline(owner: &str, list: &[sdk::PolicyDetail]) -> Result<Vec<InlinePolicy>, SourceError> {
    list.iter()
        .map(|p| {
            Ok(InlinePolicy {
                name: text(p.policy_name()),
                document: document(owner, p.policy_document())?,
            })
        })
        .collect()
}

fn attached(list: &[sdk::AttachedPolicy]) -> Vec<AttachedPolicy> {
    list.iter()
        .map(|p| AttachedPolicy {
            name: text(p.policy_name()),
            arn: text(p.policy_arn()),
        })
        .collect()
}

fn tags(list: &[sdk::Tag]) -> Vec<Tag> {
    list.iter()
        .map(|t| Tag {
            key: t.key().to_owned(),
            value: t.value().to_owned(),
        })
        .collect()
}

fn role(found: &sdk::RoleDetail) -> Result<Role, SourceError> {
    let arn = text(found.arn());
    Ok(Role {
        name: text(found.role_name()),
        id: text(found.role_id()),
        path: found.path().unwrap_or("/").to_owned(),
        create_date: date(found.create_date()),
        trust_policy: document(&arn, found.assume_role_policy_document())?,
        inline: inline(&arn, found.role_policy_list())?,
        attached: attached(found.attached_managed_policies()),
        tags: tags(found.tags()),
        boundary: found
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned),
        last_used: found.role_last_used().map(|used| LastUsed {
            date: date(used.last_used_date()),
            region: used.region().map(str::to_owned),
        }),
        instance_profiles: found
            .instance_profile_list()
            .iter()
            .map(|p| InstanceProfile {
                name: p.instance_profile_name().to_owned(),
                id: p.instance_profile_id().to_owned(),
                arn: p.arn().to_owned(),
                path: p.path().to_owned(),
            })
            .collect(),
        arn,
    })
}

fn user(found: &sdk::UserDetail) -> Result<User, SourceError> {
    let arn = text(found.arn());
    Ok(User {
        name: text(found.user_name()),
        id: text(found.user_id()),
        path: found.path().unwrap_or("/").to_owned(),
        create_date: date(found.create_date()),
        inline: inline(&arn, found.user_policy_list())?,
        attached: attached(found.attached_managed_policies()),
        groups: found.group_list().to_vec(),
        tags: tags(found.tags()),
        boundary: found
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned),
        arn,
    })
}

fn group(found: &sdk::GroupDetail) -> Result<Group, SourceError> {
    let arn = text(found.arn());
    Ok(Group {
        name: text(found.group_name()),
        id: text(found.group_id()),
        path: found.path().unwrap_or("/").to_owned(),
        create_date: date(found.create_date()),
        inline: inline(&arn, found.group_policy_list())?,
        attached: attached(found.attached_managed_policies()),
        arn,
    })
}

fn managed(found: &sdk::ManagedPolicyDetail) -> Result<ManagedPolicy, SourceError> {
    let arn = text(found.arn());
    let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
    Ok(ManagedPolicy {
        name: text(found.policy_name()),
        id: text(found.policy_id()),
        path: found.path().unwrap_or("/").to_owned(),
        default_version_id: found.default_version_id().map(str::to_owned),
        attachment_count: count(found.attachment_count()),
        boundary_usage_count: count(found.permissions_boundary_usage_count()),
        is_attachable: found.is_attachable(),
        description: found.description().map(str::to_owned),
        create_date: date(found.create_date()),
        update_date: date(found.update_date()),
        versions: found
            .policy_version_list()
            .iter()
            .map(|v| {
                Ok(PolicyVersion {
                    id: text(v.version_id()),
                    is_default: v.is_default_version(),
                    document: document(&arn, v.document())?,
                    create_date: date(v.create_date()),
                })
            })
            .collect::<Result<_, SourceError>>()?,
        arn,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const EXPORT: &str = include_str!("../../../examples/account/authorization-details.json");

    #[test]
    fn the_example_export_becomes_config_shaped_items() {
        let now = datetime!(2025-01-01 0:00 UTC);
        let items = from_export(EXPORT, now).unwrap();
        let count = |t: &str| items.iter().filter(|i| i.key.resource_type == t).count();
        assert_eq!(count("AWS::IAM::Role"), 10);
        assert_eq!(count("AWS::IAM::User"), 4);
        assert_eq!(count("AWS::IAM::Group"), 2);
        // AWS managed policies are not recorded, as in Config.
        assert_eq!(count("AWS::IAM::Policy"), 4);
        assert!(items.iter().all(|i| i.key.account == "111122223333"
            && i.key.region == "global"
            && i.capture_time == Some(now)));

        let details = AccountDetails::parse(EXPORT).unwrap();
        let role = items
            .iter()
            .find(|i| i.name.as_deref() == Some("lambda-orders"))
            .unwrap();
        assert_eq!(role.key.resource_id, "AROAEXAMPLEORDERS0001");
        assert_eq!(role.configuration["roleName"], "lambda-orders");
        assert_eq!(role.configuration["path"], "/service-role/");
        let trust = role.configuration["assumeRolePolicyDocument"]
            .as_str()
            .unwrap();
        assert!(trust.starts_with("%7B"), "{trust}");
        assert_eq!(
            Policy::parse(trust).unwrap(),
            details.role("lambda-orders").unwrap().trust_policy
        );
        for inline in role.configuration["rolePolicyList"].as_array().unwrap() {
            assert!(inline["policyName"].is_string());
            Policy::parse(inline["policyDocument"].as_str().unwrap()).unwrap();
        }

        let policy = items
            .iter()
            .find(|i| i.name.as_deref() == Some("developer-boundary"))
            .unwrap();
        let versions = policy.configuration["policyVersionList"]
            .as_array()
            .unwrap();
        assert!(versions.iter().any(|v| v["isDefaultVersion"] == true));
        Policy::parse(versions.first().unwrap()["document"].as_str().unwrap()).unwrap();

        let alice = items
            .iter()
            .find(|i| i.name.as_deref() == Some("alice"))
            .unwrap();
        assert_eq!(alice.tags["team"], "platform");
        assert_eq!(alice.configuration["groupList"][0], "admins");
        assert_eq!(alice.configuration["tags"][0]["key"], "team");
    }

    #[test]
    fn a_record_without_an_account_in_its_arn_is_an_error() {
        let export =
            r#"{"GroupDetailList": [{"GroupName": "g", "GroupId": "AGPA1", "Arn": "bad"}]}"#;
        let error = from_export(export, OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert!(error.to_string().contains("IAM `bad`"), "{error}");
        let error = from_export("{", OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert!(matches!(error, SourceError::Iam { .. }), "{error}");
    }
}
