//! An account's IAM configuration, read from a `GetAccountAuthorizationDetails`
//! export.
//!
//! [`AccountDetails::parse`] reads what `aws iam get-account-authorization-details
//! --output json` prints (policy documents as JSON objects) as well as what the
//! API and the SDKs return (documents as URL-encoded strings): every document
//! goes through [`Policy::from_value`]. The API paginates; [`Page`] reads one
//! page and [`AccountDetails::from_pages`] joins them.
//!
//! The records ([`Role`], [`User`], [`Group`], [`ManagedPolicy`]) have public
//! fields so that code holding SDK types can build them directly.
//! [`AccountDetails::identity_policies`] gathers every identity policy that
//! applies to a user, group or role, each labelled with where it came from.
//!
//! ```
//! use policies::account::{AccountDetails, Identity};
//!
//! let export = r#"{"RoleDetailList": [{
//!     "RoleName": "web", "Arn": "arn:aws:iam::111122223333:role/web",
//!     "AssumeRolePolicyDocument": "%7B%22Statement%22%3A%5B%5D%7D",
//!     "RolePolicyList": [{"PolicyName": "s3", "PolicyDocument":
//!         {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}}]
//! }]}"#;
//! let account = AccountDetails::parse(export).unwrap();
//! let web = account.role("web").unwrap();
//! let found = account.identity_policies(Identity::Role(web));
//! assert_eq!(found.policies[0].source.to_string(), "role/web inline s3");
//! ```

mod err;
mod export;
mod identity;

pub use err::AccountError;
pub use identity::{Identity, IdentityPolicies, LabelledPolicy, Missing, PolicySource};

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::Policy;

/// Every user, group, role and managed policy of one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountDetails {
    /// `UserDetailList`.
    pub users: Vec<User>,
    /// `GroupDetailList`.
    pub groups: Vec<Group>,
    /// `RoleDetailList`.
    pub roles: Vec<Role>,
    /// `Policies`: the managed policies (customer and AWS) in use or listed.
    pub policies: Vec<ManagedPolicy>,
}

/// One page of a paginated export, as the API returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records on this page.
    pub details: AccountDetails,
    /// `IsTruncated`: more pages follow.
    pub is_truncated: bool,
    /// `Marker`: where the next page starts.
    pub marker: Option<String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    /// `RoleName`.
    pub name: String,
    /// `RoleId` (`AROA...`); empty when the export lacks it.
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `Path`, `/` by default.
    pub path: String,
    /// `CreateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub create_date: Option<OffsetDateTime>,
    /// `AssumeRolePolicyDocument`: who may assume the role.
    pub trust_policy: Policy,
    /// `RolePolicyList`: inline policies.
    pub inline: Vec<InlinePolicy>,
    /// `AttachedManagedPolicies`.
    pub attached: Vec<AttachedPolicy>,
    /// `Tags`.
    pub tags: Vec<Tag>,
    /// `PermissionsBoundary`: the ARN of the boundary policy.
    pub boundary: Option<String>,
    /// `RoleLastUsed`; `None` when the role was never used (or not in the
    /// tracking period).
    pub last_used: Option<LastUsed>,
    /// `InstanceProfileList`.
    pub instance_profiles: Vec<InstanceProfile>,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// `UserName`.
    pub name: String,
    /// `UserId` (`AIDA...`); empty when the export lacks it.
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `Path`, `/` by default.
    pub path: String,
    /// `CreateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub create_date: Option<OffsetDateTime>,
    /// `UserPolicyList`: inline policies.
    pub inline: Vec<InlinePolicy>,
    /// `AttachedManagedPolicies`.
    pub attached: Vec<AttachedPolicy>,
    /// `GroupList`: names of the groups the user is in.
    pub groups: Vec<String>,
    /// `Tags`.
    pub tags: Vec<Tag>,
    /// `PermissionsBoundary`: the ARN of the boundary policy.
    pub boundary: Option<String>,
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// `GroupName`.
    pub name: String,
    /// `GroupId` (`AGPA...`); empty when the export lacks it.
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `Path`, `/` by default.
    pub path: String,
    /// `CreateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub create_date: Option<OffsetDateTime>,
    /// `GroupPolicyList`: inline policies.
    pub inline: Vec<InlinePolicy>,
    /// `AttachedManagedPolicies`.
    pub attached: Vec<AttachedPolicy>,
}

/// A managed policy with all its versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagedPolicy {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyId` (`ANPA...`); empty when the export lacks it.
    pub id: String,
    /// `Arn`; `arn:aws:iam::aws:policy/...` for AWS-managed policies.
    pub arn: String,
    /// `Path`, `/` by default.
    pub path: String,
    /// `DefaultVersionId`: the version in force.
    pub default_version_id: Option<String>,
    /// `AttachmentCount`: users, groups and roles it is attached to.
    pub attachment_count: Option<u32>,
    /// `PermissionsBoundaryUsageCount`: users and roles it bounds.
    pub boundary_usage_count: Option<u32>,
    /// `IsAttachable`, true when absent.
    pub is_attachable: bool,
    /// `Description`.
    pub description: Option<String>,
    /// `CreateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub create_date: Option<OffsetDateTime>,
    /// `UpdateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub update_date: Option<OffsetDateTime>,
    /// `PolicyVersionList`, in export order.
    pub versions: Vec<PolicyVersion>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyVersion {
    /// `VersionId`, e.g. `v3`.
    pub id: String,
    /// `IsDefaultVersion`.
    pub is_default: bool,
    /// `Document`.
    pub document: Policy,
    /// `CreateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub create_date: Option<OffsetDateTime>,
}

/// A policy embedded in a user, group or role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InlinePolicy {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyDocument`.
    pub document: Policy,
}

/// A managed policy attached to a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachedPolicy {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyArn`.
    pub arn: String,
}

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// `Key`.
    pub key: String,
    /// `Value` (empty when absent).
    pub value: String,
}

/// When and where a role was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastUsed {
    /// `LastUsedDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub date: Option<OffsetDateTime>,
    /// `Region`.
    pub region: Option<String>,
}

/// An instance profile holding a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceProfile {
    /// `InstanceProfileName`.
    pub name: String,
    /// `InstanceProfileId` (`AIPA...`).
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `Path`.
    pub path: String,
}

impl Page {
    /// Reads one page from JSON text.
    pub fn parse(text: &str) -> Result<Page, AccountError> {
        Page::from_value(&json(text)?)
    }

    /// Reads one page from a JSON value.
    pub fn from_value(value: &Value) -> Result<Page, AccountError> {
        export::read(value)?.into_page()
    }
}

impl AccountDetails {
    /// Reads a whole export from JSON text, e.g. the output of
    /// `aws iam get-account-authorization-details --output json` (the CLI
    /// fetches every page itself). A page that says more follow is an error:
    /// use [`AccountDetails::from_pages`] for those.
    pub fn parse(text: &str) -> Result<AccountDetails, AccountError> {
        AccountDetails::from_value(&json(text)?)
    }

    /// Reads a whole export from a JSON value; see [`AccountDetails::parse`].
    pub fn from_value(value: &Value) -> Result<AccountDetails, AccountError> {
        AccountDetails::from_pages([Page::from_value(value)?])
    }

    /// Joins the pages of a paginated export, in order, with
    /// [`AccountDetails::merge`]. At least one page must end the listing
    /// (`IsTruncated` false or absent); otherwise the export is incomplete.
    pub fn from_pages(
        pages: impl IntoIterator<Item = Page>,
    ) -> Result<AccountDetails, AccountError> {
        let mut details = AccountDetails::default();
        let mut complete = false;
        let mut marker = String::new();
        for page in pages {
            complete |= !page.is_truncated;
            marker = page.marker.unwrap_or_default();
            details.merge(page.details);
        }
        if complete {
            Ok(details)
        } else {
            Err(AccountError::Truncated { marker })
        }
    }

    /// Adds the records of `other`. A record whose ARN is already present
    /// replaces the earlier one in place (the later export wins); new records
    /// are appended in their order.
    pub fn merge(&mut self, other: AccountDetails) {
        merge_by_arn(&mut self.users, other.users, |u| &u.arn);
        merge_by_arn(&mut self.groups, other.groups, |g| &g.arn);
        merge_by_arn(&mut self.roles, other.roles, |r| &r.arn);
        merge_by_arn(&mut self.policies, other.policies, |p| &p.arn);
    }

    /// The role with this name.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The user with this name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The group with this name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The managed policy with this ARN.
    pub fn managed_policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.policies.iter().find(|p| p.arn == arn)
    }

    /// The user, group or role with this ARN.
    pub fn identity(&self, arn: &str) -> Option<Identity<'_>> {
        self.roles
            .iter()
            .find(|r| r.arn == arn)
            .map(Identity::Role)
            .or_else(|| self.users.iter().find(|u| u.arn == arn).map(Identity::User))
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| g.arn == arn)
                    .map(Identity::Group)
            })
    }
}

impl ManagedPolicy {
    /// The version in force: the one named by `DefaultVersionId`, else the one
    /// flagged `IsDefaultVersion`.
    pub fn default_version(&self) -> Option<&PolicyVersion> {
        self.default_version_id
            .as_deref()
            .and_then(|id| self.versions.iter().find(|v| v.id == id))
            .or_else(|| self.versions.iter().find(|v| v.is_default))
    }

    /// The document of the version in force.
    pub fn default_document(&self) -> Option<&Policy> {
        self.default_version().map(|v| &v.document)
    }

    /// True for policies that AWS owns (`arn:<partition>:iam::aws:policy/...`).
    pub fn is_aws_managed(&self) -> bool {
        self.arn.split(':').nth(4) == Some("aws")
    }
}

fn json(text: &str) -> Result<Value, AccountError> {
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        let message = e.to_string();
        AccountError::Json {
            message: message
                .rfind(" at line ")
                .and_then(|i| message.get(..i))
                .unwrap_or(&message)
                .to_owned(),
            line: e.line(),
            column: e.column(),
        }
    })
}

fn merge_by_arn<T>(into: &mut Vec<T>, from: Vec<T>, arn: fn(&T) -> &String) {
    let mut index: HashMap<String, usize> = into
        .iter()
        .enumerate()
        .map(|(i, item)| (arn(item).clone(), i))
        .collect();
    for item in from {
        match index.get(arn(&item)) {
            Some(&i) => {
                if let Some(slot) = into.get_mut(i) {
                    *slot = item;
                }
            }
            None => {
                index.insert(arn(&item).clone(), into.len());
                into.push(item);
            }
        }
    }
}

#[cfg(test)]
mod tests;
