//! The records repokid keeps: roles as inventoried, access history, policy
//! versions and plans. All serialize with serde (plans only one way: they
//! embed a [`PolicyDiff`], which is an output).

use policies::Policy;
use policies::account::AccountDetails;
use policies::diff::PolicyDiff;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::filter::SkipReason;

/// A role as the inventory saw it, with every policy document it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// The role's ARN, path included (`arn:aws:iam::111122223333:role/service-role/x`).
    pub arn: String,
    /// `RoleName`.
    pub name: String,
    /// `RoleId`.
    pub id: String,
    /// `Path` (`/` by default; service-linked roles live under `/aws-service-role/`).
    pub path: String,
    /// `CreateDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub create_date: Option<OffsetDateTime>,
    /// The role's tags.
    pub tags: Vec<Tag>,
    /// The inline policies, in export order.
    pub inline: Vec<NamedPolicy>,
    /// The attached managed policies.
    pub attached: Vec<AttachedRecord>,
}

/// A tag on a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The tag key.
    pub key: String,
    /// The tag value.
    pub value: String,
}

/// An inline policy: its name and document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedPolicy {
    /// `PolicyName`.
    pub name: String,
    /// The policy document.
    #[serde(with = "policy_json")]
    pub document: Policy,
}

/// A managed policy attached to a role, with its default version when the
/// export holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedRecord {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyArn`.
    pub arn: String,
    /// True for policies AWS owns (`arn:aws:iam::aws:policy/...`).
    pub aws_managed: bool,
    /// The default version's document, if the export listed the policy.
    #[serde(with = "policy_json::option", default)]
    pub document: Option<Policy>,
}

impl RoleRecord {
    /// Every role of an account export, with the default version of each
    /// attached managed policy looked up in the same export.
    pub fn from_account(details: &AccountDetails) -> Vec<RoleRecord> {
        details
            .roles
            .iter()
            .map(|role| RoleRecord {
                arn: role.arn.clone(),
                name: role.name.clone(),
                id: role.id.clone(),
                path: role.path.clone(),
                create_date: role.create_date,
                tags: role
                    .tags
                    .iter()
                    .map(|t| Tag {
                        key: t.key.clone(),
                        value: t.value.clone(),
                    })
                    .collect(),
                inline: role
                    .inline
                    .iter()
                    .map(|p| NamedPolicy {
                        name: p.name.clone(),
                        document: p.document.clone(),
                    })
                    .collect(),
                attached: role
                    .attached
                    .iter()
                    .map(|a| {
                        let managed = details.managed_policy(&a.arn);
                        AttachedRecord {
                            name: a.name.clone(),
                            arn: a.arn.clone(),
                            aws_managed: managed.map_or_else(
                                || a.arn.starts_with("arn:aws:iam::aws:"),
                                |m| m.is_aws_managed(),
                            ),
                            document: managed.and_then(|m| m.default_document()).cloned(),
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// The value of tag `key` (tag keys compare ignoring case, as IAM does).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key.eq_ignore_ascii_case(key))
            .map(|t| t.value.as_str())
    }
}

/// Where an access record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessSource {
    /// IAM Access Advisor (`GetServiceLastAccessedDetails`).
    AccessAdvisor,
    /// An Aardvark export.
    Aardvark,
    /// CloudTrail log files.
    CloudTrail,
}

impl AccessSource {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessSource::AccessAdvisor => "access-advisor",
            AccessSource::Aardvark => "aardvark",
            AccessSource::CloudTrail => "cloudtrail",
        }
    }

    /// The source named by [`as_str`](Self::as_str).
    pub fn from_name(name: &str) -> Option<AccessSource> {
        [
            AccessSource::AccessAdvisor,
            AccessSource::Aardvark,
            AccessSource::CloudTrail,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One fact of access history: a role's last use of a service (`action`
/// absent) or of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// The role's ARN, path included.
    pub role_arn: String,
    /// The service prefix (`s3`), lowercase.
    pub service: String,
    /// The action name without prefix (`GetObject`), for action-level records.
    pub action: Option<String>,
    /// The last use; absent when the source says the role never used it
    /// within its tracking period.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    /// Where the record came from.
    pub source: AccessSource,
}

/// One stored version of one of a role's policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    /// The role's ARN.
    pub role_arn: String,
    /// The inline policy name, or the managed policy ARN.
    pub policy: String,
    /// 1 for the first version seen, counting up.
    pub version: u32,
    /// When `repokid update` first saw this version.
    #[serde(with = "time::serde::rfc3339")]
    pub seen_at: OffsetDateTime,
    /// The document.
    #[serde(with = "policy_json")]
    pub document: Policy,
}

/// What the planner decided for one role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolePlan {
    /// The role's ARN.
    pub role_arn: String,
    /// The role's name.
    pub role_name: String,
    /// The decision.
    pub outcome: Outcome,
    /// The permissions taken away, as the fewest patterns: from the inline
    /// policies, and from the managed policies the plan detaches.
    pub removed: Vec<String>,
    /// How many catalogue actions `removed` stands for.
    pub removed_count: usize,
    /// Services none of whose permissions stay (in the inline policies and
    /// the detached managed policies' copies).
    pub removed_services: Vec<String>,
    /// Each inline policy the plan rewrites or deletes.
    pub policies: Vec<PolicyChange>,
    /// Permissions kept although unused, by reason.
    pub kept: Vec<Kept>,
    /// Services the role is granted but no access data mentions; their
    /// permissions are kept.
    pub no_data_services: Vec<String>,
    /// Attached customer-managed policies granting unused permissions, and
    /// what the plan does with each: by default only reported (other
    /// identities may share them); with
    /// [`PlanConfig::managed`](crate::plan::PlanConfig::managed), detached and
    /// replaced by a right-sized inline copy (see [`ManagedDecision`]; the
    /// copies are not in `policies`, which holds the existing inline
    /// policies the plan changes).
    pub managed_unused: Vec<ManagedUnused>,
}

impl RolePlan {
    /// The ARNs of the managed policies the plan detaches (none unless the
    /// outcome is [`Outcome::Repo`]). A detached policy's copy, if any
    /// ([`ManagedDecision::Replaced`]), must be put before it is detached.
    pub fn detached(&self) -> Vec<&str> {
        if self.outcome != Outcome::Repo {
            return Vec::new();
        }
        self.managed_unused
            .iter()
            .filter(|m| m.decision.detaches())
            .map(|m| m.arn.as_str())
            .collect()
    }

    /// The inline policies the role has once the plan is applied to
    /// `current` (its inline policies now): each rewritten one replaced,
    /// each dropped one gone, the others as they are, then the copies of
    /// the managed policies it replaces. `current` unchanged unless the
    /// outcome is [`Outcome::Repo`].
    pub fn inline_after(&self, current: &[NamedPolicy]) -> Vec<NamedPolicy> {
        if self.outcome != Outcome::Repo {
            return current.to_vec();
        }
        let changed =
            current
                .iter()
                .filter_map(|p| match self.policies.iter().find(|c| c.name == p.name) {
                    None => Some(p.clone()),
                    Some(change) => change.new.as_ref().map(|doc| NamedPolicy {
                        name: p.name.clone(),
                        document: doc.clone(),
                    }),
                });
        let created = self
            .managed_unused
            .iter()
            .filter_map(|m| match &m.decision {
                ManagedDecision::Replaced { copy, .. } => Some(NamedPolicy::clone(copy)),
                _ => None,
            });
        changed.chain(created).collect()
    }
}

/// The planner's decision for a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// Rewrite the inline policies as shown.
    Repo,
    /// Every inline permission is used or kept: nothing to do.
    Unchanged,
    /// A filter excludes the role.
    Skipped {
        /// Every filter that matched.
        reasons: Vec<SkipReason>,
    },
    /// A plan was computed but cannot be applied.
    Refused {
        /// Why, and how to fix it.
        reason: String,
    },
}

impl Outcome {
    /// A one-word label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Repo => "repo",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Refused { .. } => "refused",
        }
    }
}

/// An inline policy the plan changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyChange {
    /// The inline policy name.
    pub name: String,
    /// The document now.
    #[serde(serialize_with = "policy_json::serialize")]
    pub old: Policy,
    /// The document after the plan; absent when the policy is deleted.
    #[serde(serialize_with = "policy_json::option::serialize")]
    pub new: Option<Policy>,
    /// How many catalogue actions this policy no longer grants (the diff
    /// lists them).
    pub removed_count: usize,
    /// The [`policies::diff`] of old and new (its `granted` is always
    /// empty); absent when the planner was told not to compute diffs.
    pub diff: Option<PolicyDiff>,
}

/// Unused permissions kept, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// Why they are kept.
    pub reason: KeepReason,
    /// The permissions, as the fewest patterns.
    pub permissions: Vec<String>,
}

/// Why an unused permission stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeepReason {
    /// The statement's `Sid` starts with `NOREPO`.
    NoRepoStatement {
        /// The inline policy.
        policy: String,
        /// The statement's `Sid`.
        sid: String,
    },
    /// Access history cannot see the use of this permission (see
    /// [`filter::INVISIBLE_ACTIONS`](crate::filter::INVISIBLE_ACTIONS)).
    Invisible,
    /// Added to the role too recently for access data to judge.
    RecentlyAdded,
}

/// Unused permissions of one attached customer-managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedUnused {
    /// The policy ARN.
    pub arn: String,
    /// The unused permissions, as the fewest patterns (statements whose
    /// `Sid` starts with `NOREPO` not counted).
    pub unused: Vec<String>,
    /// How many catalogue actions `unused` stands for.
    pub unused_count: usize,
    /// What the plan does with the policy.
    pub decision: ManagedDecision,
}

/// What a plan does with an attached customer-managed policy that grants
/// unused permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ManagedDecision {
    /// Left attached, its unused permissions reported (the planner's
    /// `managed` option is off).
    Reported,
    /// Detached, and replaced by its right-sized inline copy: rewritten as
    /// the plan rewrites inline policies, named `repokid-<PolicyName>`
    /// (unique among the role's inline policies).
    Replaced {
        /// The new inline policy.
        copy: Box<NamedPolicy>,
        /// The [`policies::diff`] of the managed policy and its copy (its
        /// `granted` is always empty); absent when the planner was told not
        /// to compute diffs.
        diff: Option<Box<PolicyDiff>>,
    },
    /// Detached without a copy: it has no Deny or `NOREPO` statement and
    /// nothing it allows is used.
    Detached,
    /// Left attached: its copy would not fit in IAM's inline limit.
    Refused {
        /// Why, and how to fix it.
        reason: String,
    },
}

impl ManagedDecision {
    /// Whether the plan detaches the policy.
    pub fn detaches(&self) -> bool {
        matches!(
            self,
            ManagedDecision::Replaced { .. } | ManagedDecision::Detached
        )
    }
}

/// Serde for [`Policy`] as its JSON document.
pub(crate) mod policy_json {
    use policies::Policy;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(policy: &Policy, s: S) -> Result<S::Ok, S::Error> {
        policy.to_value().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Policy, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Policy::from_value(&value).map_err(serde::de::Error::custom)
    }

    pub(crate) mod option {
        use policies::Policy;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            policy: &Option<Policy>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            policy.as_ref().map(Policy::to_value).serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Policy>, D::Error> {
            let value = Option::<serde_json::Value>::deserialize(d)?;
            value
                .map(|v| Policy::from_value(&v).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// Why a role's inline policies were saved as a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionReason {
    /// Read from IAM just before `repokid repo` changed them.
    BeforeRepo,
    /// Read from IAM just before `repokid rollback` changed them.
    BeforeRollback,
    /// Read from IAM just before `repokid remove` changed them.
    BeforeRemove,
}

impl VersionReason {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionReason::BeforeRepo => "before-repo",
            VersionReason::BeforeRollback => "before-rollback",
            VersionReason::BeforeRemove => "before-remove",
        }
    }

    /// The reason named by [`as_str`](Self::as_str).
    pub fn from_name(name: &str) -> Option<VersionReason> {
        [
            VersionReason::BeforeRepo,
            VersionReason::BeforeRollback,
            VersionReason::BeforeRemove,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
}

/// All of a role's inline policies, and the ARNs of its attached managed
/// policies, as IAM held them at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineVersion {
    /// The role's ARN.
    pub role_arn: String,
    /// 1 for the first saved, counting up per role.
    pub version: u32,
    /// When they were read.
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// Why they were saved.
    pub reason: VersionReason,
    /// Every inline policy the role had (none: it had none).
    pub policies: Vec<NamedPolicy>,
    /// The ARNs of the managed policies attached to the role at the same
    /// time. Versions saved before repokid recorded attachments read as
    /// none: rolling back to one re-attaches nothing (and a rollback never
    /// detaches anything).
    #[serde(default)]
    pub attached: Vec<String>,
}

/// A role scheduled to be repoed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    /// The role's ARN.
    pub role_arn: String,
    /// The role's name.
    pub role_name: String,
    /// When it is due: `repo --scheduled` repos it from then on.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// When it was scheduled.
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
    /// True once the notification before the repo was sent.
    pub notified: bool,
}

/// One account's totals at one `update`, for the stats series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTotals {
    /// When the update ran.
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// The account ID (from the role ARNs).
    pub account: String,
    /// Roles.
    pub roles: usize,
    /// Inline policies over all roles.
    pub inline_policies: usize,
    /// Roles with access data.
    pub roles_with_access: usize,
    /// Roles whose plan removes something.
    pub roles_repoable: usize,
    /// Catalogue actions the plans would remove, over all roles.
    pub removable_permissions: usize,
}
