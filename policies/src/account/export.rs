//! The export as AWS writes it, and its conversion into the domain records.
//!
//! These types follow the `GetAccountAuthorizationDetails` response field by
//! field; fields the toolkit does not use are ignored, so newer AWS fields do
//! not break reading.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{
    AccountDetails, AccountError, AttachedPolicy, Group, InlinePolicy, InstanceProfile, LastUsed,
    ManagedPolicy, Page, PolicyVersion, Role, Tag, User,
};
use crate::Policy;

/// Reads a list that may also be absent or `null` (SDK dumps write `null`).
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Option::<Vec<T>>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Export {
    user_detail_list: Option<Vec<UserDetail>>,
    group_detail_list: Option<Vec<GroupDetail>>,
    role_detail_list: Option<Vec<RoleDetail>>,
    policies: Option<Vec<ManagedPolicyDetail>>,
    #[serde(default)]
    is_truncated: Option<bool>,
    marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserDetail {
    path: Option<String>,
    user_name: String,
    user_id: Option<String>,
    arn: String,
    create_date: Option<Value>,
    #[serde(default, deserialize_with = "list")]
    user_policy_list: Vec<PolicyDetail>,
    #[serde(default, deserialize_with = "list")]
    group_list: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    attached_managed_policies: Vec<AttachedPolicyDetail>,
    permissions_boundary: Option<BoundaryDetail>,
    #[serde(default, deserialize_with = "list")]
    tags: Vec<TagDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupDetail {
    path: Option<String>,
    group_name: String,
    group_id: Option<String>,
    arn: String,
    create_date: Option<Value>,
    #[serde(default, deserialize_with = "list")]
    group_policy_list: Vec<PolicyDetail>,
    #[serde(default, deserialize_with = "list")]
    attached_managed_policies: Vec<AttachedPolicyDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleDetail {
    path: Option<String>,
    role_name: String,
    role_id: Option<String>,
    arn: String,
    create_date: Option<Value>,
    assume_role_policy_document: Option<Value>,
    #[serde(default, deserialize_with = "list")]
    instance_profile_list: Vec<InstanceProfileDetail>,
    #[serde(default, deserialize_with = "list")]
    role_policy_list: Vec<PolicyDetail>,
    #[serde(default, deserialize_with = "list")]
    attached_managed_policies: Vec<AttachedPolicyDetail>,
    permissions_boundary: Option<BoundaryDetail>,
    #[serde(default, deserialize_with = "list")]
    tags: Vec<TagDetail>,
    role_last_used: Option<LastUsedDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicyDetail {
    policy_name: String,
    policy_id: Option<String>,
    arn: String,
    path: Option<String>,
    default_version_id: Option<String>,
    attachment_count: Option<u32>,
    permissions_boundary_usage_count: Option<u32>,
    is_attachable: Option<bool>,
    description: Option<String>,
    create_date: Option<Value>,
    update_date: Option<Value>,
    #[serde(default, deserialize_with = "list")]
    policy_version_list: Vec<PolicyVersionDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersionDetail {
    document: Option<Value>,
    version_id: String,
    #[serde(default)]
    is_default_version: Option<bool>,
    create_date: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDetail {
    policy_name: String,
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttachedPolicyDetail {
    policy_name: Option<String>,
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BoundaryDetail {
    permissions_boundary_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagDetail {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LastUsedDetail {
    last_used_date: Option<Value>,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceProfileDetail {
    path: Option<String>,
    instance_profile_name: String,
    instance_profile_id: Option<String>,
    arn: String,
}

/// Reads the JSON value of one page into the raw export shape.
pub(super) fn read(value: &Value) -> Result<Export, AccountError> {
    let export: Export = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        AccountError::Shape {
            path: if path == "." {
                "(document)".to_owned()
            } else {
                path
            },
            message: e.into_inner().to_string(),
        }
    })?;
    if export.user_detail_list.is_none()
        && export.group_detail_list.is_none()
        && export.role_detail_list.is_none()
        && export.policies.is_none()
    {
        return Err(AccountError::Shape {
            path: "(document)".to_owned(),
            message:
                "none of `UserDetailList`, `GroupDetailList`, `RoleDetailList` and `Policies` \
                      is present"
                    .to_owned(),
        });
    }
    Ok(export)
}

impl Export {
    /// Converts the raw page into domain records.
    pub(super) fn into_page(self) -> Result<Page, AccountError> {
        let details = AccountDetails {
            users: convert_all(self.user_detail_list, UserDetail::convert)?,
            groups: convert_all(self.group_detail_list, GroupDetail::convert)?,
            roles: convert_all(self.role_detail_list, RoleDetail::convert)?,
            policies: convert_all(self.policies, ManagedPolicyDetail::convert)?,
        };
        Ok(Page {
            details,
            is_truncated: self.is_truncated.unwrap_or(false),
            marker: self.marker,
        })
    }
}

fn convert_all<R, T>(
    raw: Option<Vec<R>>,
    convert: fn(R) -> Result<T, AccountError>,
) -> Result<Vec<T>, AccountError> {
    raw.unwrap_or_default().into_iter().map(convert).collect()
}

/// Parses a date-time as the CLI (`2024-05-01T12:00:00+00:00`), the API
/// (`...Z`) or a Python dump (`2024-05-01 12:00:00+00:00`, epoch seconds) writes it.
fn date(
    value: Option<&Value>,
    element: impl Fn() -> String,
) -> Result<Option<OffsetDateTime>, AccountError> {
    let fail = |text: String| AccountError::Date {
        element: element(),
        text,
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let normalised = match (text.get(..10), text.get(10..11), text.get(11..)) {
                (Some(day), Some(" "), Some(clock)) => format!("{day}T{clock}"),
                _ => text.clone(),
            };
            OffsetDateTime::parse(&normalised, &Rfc3339)
                .map(Some)
                .map_err(|_| fail(text.clone()))
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .map(Some)
            .ok_or_else(|| fail(n.to_string())),
        Some(other) => Err(fail(other.to_string())),
    }
}

fn document(value: &Value, element: impl Fn() -> String) -> Result<Policy, AccountError> {
    Policy::from_value(value).map_err(|source| AccountError::Policy {
        element: element(),
        source,
    })
}

fn inline_policies(owner: &str, raw: Vec<PolicyDetail>) -> Result<Vec<InlinePolicy>, AccountError> {
    raw.into_iter()
        .map(|p| {
            let document = document(&p.policy_document, || {
                format!("{owner} inline policy `{}`", p.policy_name)
            })?;
            Ok(InlinePolicy {
                name: p.policy_name,
                document,
            })
        })
        .collect()
}

fn attached(raw: Vec<AttachedPolicyDetail>) -> Vec<AttachedPolicy> {
    raw.into_iter()
        .map(|a| AttachedPolicy {
            name: a
                .policy_name
                .unwrap_or_else(|| name_from_arn(&a.policy_arn)),
            arn: a.policy_arn,
        })
        .collect()
}

/// The last path segment of an ARN: the name of a policy, role or user.
fn name_from_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

fn tags(raw: Vec<TagDetail>) -> Vec<Tag> {
    raw.into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value.unwrap_or_default(),
        })
        .collect()
}

fn boundary(raw: Option<BoundaryDetail>) -> Option<String> {
    raw.and_then(|b| b.permissions_boundary_arn)
}

impl UserDetail {
    fn convert(self) -> Result<User, AccountError> {
        let owner = format!("user `{}`", self.user_name);
        Ok(User {
            create_date: date(self.create_date.as_ref(), || {
                format!("{owner} `CreateDate`")
            })?,
            inline: inline_policies(&owner, self.user_policy_list)?,
            attached: attached(self.attached_managed_policies),
            groups: self.group_list,
            tags: tags(self.tags),
            boundary: boundary(self.permissions_boundary),
            path: self.path.unwrap_or_else(|| "/".to_owned()),
            id: self.user_id.unwrap_or_default(),
            name: self.user_name,
            arn: self.arn,
        })
    }
}

impl GroupDetail {
    fn convert(self) -> Result<Group, AccountError> {
        let owner = format!("group `{}`", self.group_name);
        Ok(Group {
            create_date: date(self.create_date.as_ref(), || {
                format!("{owner} `CreateDate`")
            })?,
            inline: inline_policies(&owner, self.group_policy_list)?,
            attached: attached(self.attached_managed_policies),
            path: self.path.unwrap_or_else(|| "/".to_owned()),
            id: self.group_id.unwrap_or_default(),
            name: self.group_name,
            arn: self.arn,
        })
    }
}

impl RoleDetail {
    fn convert(self) -> Result<Role, AccountError> {
        let owner = format!("role `{}`", self.role_name);
        let trust =
            self.assume_role_policy_document
                .as_ref()
                .ok_or_else(|| AccountError::Missing {
                    element: owner.clone(),
                    field: "AssumeRolePolicyDocument",
                })?;
        let last_used = match self.role_last_used {
            Some(raw) => {
                let date = date(raw.last_used_date.as_ref(), || {
                    format!("{owner} `RoleLastUsed.LastUsedDate`")
                })?;
                (date.is_some() || raw.region.is_some()).then_some(LastUsed {
                    date,
                    region: raw.region,
                })
            }
            None => None,
        };
        Ok(Role {
            create_date: date(self.create_date.as_ref(), || {
                format!("{owner} `CreateDate`")
            })?,
            trust_policy: document(trust, || format!("{owner} trust policy"))?,
            inline: inline_policies(&owner, self.role_policy_list)?,
            attached: attached(self.attached_managed_policies),
            tags: tags(self.tags),
            boundary: boundary(self.permissions_boundary),
            last_used,
            instance_profiles: self
                .instance_profile_list
                .into_iter()
                .map(|p| InstanceProfile {
                    name: p.instance_profile_name,
                    id: p.instance_profile_id.unwrap_or_default(),
                    arn: p.arn,
                    path: p.path.unwrap_or_else(|| "/".to_owned()),
                })
                .collect(),
            path: self.path.unwrap_or_else(|| "/".to_owned()),
            id: self.role_id.unwrap_or_default(),
            name: self.role_name,
            arn: self.arn,
        })
    }
}

impl ManagedPolicyDetail {
    fn convert(self) -> Result<ManagedPolicy, AccountError> {
        let owner = format!("managed policy `{}`", self.arn);
        let versions = self
            .policy_version_list
            .into_iter()
            .map(|v| {
                let element = || format!("{owner} version `{}`", v.version_id);
                let raw = v.document.as_ref().ok_or_else(|| AccountError::Missing {
                    element: element(),
                    field: "Document",
                })?;
                Ok(PolicyVersion {
                    document: document(raw, element)?,
                    create_date: date(v.create_date.as_ref(), || {
                        format!("{} `CreateDate`", element())
                    })?,
                    is_default: v.is_default_version.unwrap_or(false),
                    id: v.version_id,
                })
            })
            .collect::<Result<Vec<_>, AccountError>>()?;
        Ok(ManagedPolicy {
            create_date: date(self.create_date.as_ref(), || {
                format!("{owner} `CreateDate`")
            })?,
            update_date: date(self.update_date.as_ref(), || {
                format!("{owner} `UpdateDate`")
            })?,
            versions,
            default_version_id: self.default_version_id,
            attachment_count: self.attachment_count,
            boundary_usage_count: self.permissions_boundary_usage_count,
            is_attachable: self.is_attachable.unwrap_or(true),
            description: self.description,
            path: self.path.unwrap_or_else(|| "/".to_owned()),
            id: self.policy_id.unwrap_or_default(),
            name: self.policy_name,
            arn: self.arn,
        })
    }
}
