//! The identity policies that apply to a user, group or role.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use super::{AccountDetails, AttachedPolicy, Group, InlinePolicy, Role, User};
use crate::Policy;

/// A user, group or role of an [`AccountDetails`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Identity<'a> {
    /// An IAM user.
    User(&'a User),
    /// An IAM group.
    Group(&'a Group),
    /// An IAM role.
    Role(&'a Role),
}

impl<'a> Identity<'a> {
    /// The name (`UserName`, `GroupName` or `RoleName`).
    pub fn name(&self) -> &'a str {
        match self {
            Identity::User(u) => &u.name,
            Identity::Group(g) => &g.name,
            Identity::Role(r) => &r.name,
        }
    }

    /// The ARN.
    pub fn arn(&self) -> &'a str {
        match self {
            Identity::User(u) => &u.arn,
            Identity::Group(g) => &g.arn,
            Identity::Role(r) => &r.arn,
        }
    }

    /// `user/NAME`, `group/NAME` or `role/NAME`, as used in policy labels.
    pub fn label(&self) -> String {
        let kind = match self {
            Identity::User(_) => "user",
            Identity::Group(_) => "group",
            Identity::Role(_) => "role",
        };
        format!("{kind}/{}", self.name())
    }

    /// The ARN of the permissions boundary, if any (groups have none).
    pub fn boundary(&self) -> Option<&'a str> {
        match self {
            Identity::User(u) => u.boundary.as_deref(),
            Identity::Group(_) => None,
            Identity::Role(r) => r.boundary.as_deref(),
        }
    }
}

/// Where a policy document comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PolicySource {
    /// An inline policy of a user, group or role.
    Inline {
        /// `role/NAME`, `user/NAME` or `group/NAME`.
        owner: String,
        /// The inline policy's name.
        name: String,
    },
    /// One version of a managed policy.
    Managed {
        /// The policy ARN.
        arn: String,
        /// The version id, e.g. `v3`.
        version: String,
    },
}

impl fmt::Display for PolicySource {
    /// `role/web inline s3` or `arn:aws:iam::aws:policy/ReadOnlyAccess v3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Inline { owner, name } => write!(f, "{owner} inline {name}"),
            PolicySource::Managed { arn, version } => write!(f, "{arn} {version}"),
        }
    }
}

/// A policy document with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledPolicy<'a> {
    /// Where the document comes from; its `Display` is the label.
    pub source: PolicySource,
    /// The document.
    pub document: &'a Policy,
}

/// Something an identity refers to that the export does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Missing {
    /// An attached or boundary managed policy absent from `Policies` (an
    /// export filtered with `--filter`, or a policy deleted meanwhile).
    ManagedPolicy {
        /// The policy ARN.
        arn: String,
    },
    /// A managed policy whose default version is not in its version list.
    DefaultVersion {
        /// The policy ARN.
        arn: String,
    },
    /// A group named in a user's `GroupList` but absent from `GroupDetailList`.
    Group {
        /// The group name.
        name: String,
    },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::ManagedPolicy { arn } => {
                write!(f, "managed policy `{arn}` is not in the export")
            }
            Missing::DefaultVersion { arn } => write!(
                f,
                "managed policy `{arn}` has no default version in the export"
            ),
            Missing::Group { name } => write!(f, "group `{name}` is not in the export"),
        }
    }
}

/// Every identity policy that applies to one user, group or role.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IdentityPolicies<'a> {
    /// Inline policies, then the default versions of attached managed
    /// policies; for a user, then the same for each of its groups in
    /// `GroupList` order. A managed policy reached twice is listed once.
    pub policies: Vec<LabelledPolicy<'a>>,
    /// The default version of the permissions boundary, if one is set and in
    /// the export. It grants nothing; it caps what `policies` grant.
    pub boundary: Option<LabelledPolicy<'a>>,
    /// What the identity refers to but the export does not hold: the answer
    /// is incomplete when this is not empty.
    pub missing: Vec<Missing>,
}

impl AccountDetails {
    /// Gathers the identity policies of `who`: inline, attached managed
    /// (default versions), and for a user those of its groups; plus the
    /// permissions boundary. Resource policies and SCPs are not part of an
    /// export and so not included.
    pub fn identity_policies<'a>(&'a self, who: Identity<'a>) -> IdentityPolicies<'a> {
        let mut gather = Gatherer {
            account: self,
            found: IdentityPolicies::default(),
            managed_seen: HashSet::new(),
        };
        let label = who.label();
        match who {
            Identity::Role(role) => {
                gather.inline(&label, &role.inline);
                gather.attached(&role.attached);
            }
            Identity::Group(group) => {
                gather.inline(&label, &group.inline);
                gather.attached(&group.attached);
            }
            Identity::User(user) => {
                gather.inline(&label, &user.inline);
                gather.attached(&user.attached);
                for name in &user.groups {
                    match self.group(name) {
                        Some(group) => {
                            gather.inline(&Identity::Group(group).label(), &group.inline);
                            gather.attached(&group.attached);
                        }
                        None => gather
                            .found
                            .missing
                            .push(Missing::Group { name: name.clone() }),
                    }
                }
            }
        }
        if let Some(arn) = who.boundary() {
            gather.found.boundary = gather.managed(arn);
        }
        gather.found
    }
}

struct Gatherer<'a> {
    account: &'a AccountDetails,
    found: IdentityPolicies<'a>,
    managed_seen: HashSet<&'a str>,
}

impl<'a> Gatherer<'a> {
    fn inline(&mut self, owner: &str, policies: &'a [InlinePolicy]) {
        self.found
            .policies
            .extend(policies.iter().map(|p| LabelledPolicy {
                source: PolicySource::Inline {
                    owner: owner.to_owned(),
                    name: p.name.clone(),
                },
                document: &p.document,
            }));
    }

    fn attached(&mut self, attached: &'a [AttachedPolicy]) {
        for a in attached {
            if self.managed_seen.insert(&a.arn)
                && let Some(found) = self.managed(&a.arn)
            {
                self.found.policies.push(found);
            }
        }
    }

    /// The default version of a managed policy, or a note that it is missing.
    fn managed(&mut self, arn: &str) -> Option<LabelledPolicy<'a>> {
        let Some(policy) = self.account.managed_policy(arn) else {
            self.found.missing.push(Missing::ManagedPolicy {
                arn: arn.to_owned(),
            });
            return None;
        };
        let Some(version) = policy.default_version() else {
            self.found.missing.push(Missing::DefaultVersion {
                arn: arn.to_owned(),
            });
            return None;
        };
        Some(LabelledPolicy {
            source: PolicySource::Managed {
                arn: policy.arn.clone(),
                version: version.id.clone(),
            },
            document: &version.document,
        })
    }
}
