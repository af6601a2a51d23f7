//! The records every part of `monitor` shares: a resource's key, one recorded
//! configuration item, and an issue an auditor found in it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Names one resource: account, region, AWS Config resource type and id.
///
/// Written `ACCOUNT/REGION/TYPE/ID` (the form `monitor history` takes); the id
/// is last because it may itself hold slashes. Global resources (IAM) use the
/// region `global`, as AWS Config does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    /// Twelve-digit account id.
    pub account: String,
    /// Region, or `global`.
    pub region: String,
    /// AWS Config resource type, e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// AWS Config resource id (a bucket name, `sg-...`, a role's `AROA...` id).
    pub resource_id: String,
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.account, self.region, self.resource_type, self.resource_id
        )
    }
}

/// Why a text is not a [`ResourceKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a resource key; write ACCOUNT/REGION/TYPE/ID, e.g. `111122223333/us-east-1/AWS::S3::Bucket/logs`"
)]
pub struct KeyError(pub String);

impl FromStr for ResourceKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.splitn(4, '/');
        let mut next = || {
            parts
                .next()
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| KeyError(text.to_owned()))
        };
        Ok(ResourceKey {
            account: next()?,
            region: next()?,
            resource_type: next()?,
            resource_id: next()?,
        })
    }
}

/// AWS Config's `configurationItemStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemStatus {
    /// `OK`: the resource exists and was recorded.
    #[serde(rename = "OK")]
    Ok,
    /// `ResourceDiscovered`: first seen.
    #[serde(rename = "ResourceDiscovered")]
    Discovered,
    /// `ResourceNotRecorded`: exists, but its type is not recorded.
    #[serde(rename = "ResourceNotRecorded")]
    NotRecorded,
    /// `ResourceDeleted`: the resource is gone.
    #[serde(rename = "ResourceDeleted")]
    Deleted,
    /// `ResourceDeletedNotRecorded`: gone, and its type was not recorded.
    #[serde(rename = "ResourceDeletedNotRecorded")]
    DeletedNotRecorded,
}

impl ItemStatus {
    /// Whether the resource no longer exists.
    pub fn is_deleted(self) -> bool {
        matches!(self, ItemStatus::Deleted | ItemStatus::DeletedNotRecorded)
    }
}

/// One recorded state of one resource, whatever source it came from.
///
/// `configuration` and the values of `supplementary` are always parsed JSON,
/// even where AWS delivered them as JSON strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigItem {
    /// Which resource.
    pub key: ResourceKey,
    /// Its ARN, when the source gives one.
    pub arn: Option<String>,
    /// Its name, when the source gives one.
    pub name: Option<String>,
    /// Whether it exists.
    pub status: ItemStatus,
    /// When the source captured this state.
    #[serde(with = "time::serde::rfc3339::option")]
    pub capture_time: Option<OffsetDateTime>,
    /// The resource's configuration as AWS Config describes it.
    pub configuration: Value,
    /// Supplementary configuration (bucket policy, ACL, public access block...).
    pub supplementary: BTreeMap<String, Value>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// What an issue is about, the categories alerts and scores are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Reachable or usable by anyone on the internet.
    InternetAccessible,
    /// Trusts or is shared with an account that is neither ours, friendly nor a known third party.
    UnknownCrossAccount,
    /// Trusts or is shared with an account configured as friendly.
    FriendlyCrossAccount,
    /// Trusts or is shared with an account configured as a known third party.
    ThirdPartyCrossAccount,
    /// Lets its holder grant itself more permissions.
    PrivilegeEscalation,
    /// Grants `*` on `*` or a whole service.
    AdminWildcard,
    /// Accepts an outdated TLS version or cipher.
    WeakTls,
    /// Stores data without encryption at rest.
    Unencrypted,
    /// Audit logging is off or incomplete.
    LoggingOff,
    /// Automatic key rotation is off.
    KeyRotationOff,
    /// A certificate expires soon or has expired.
    ExpiringCertificate,
}

impl Category {
    /// The kebab-case name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::InternetAccessible => "internet-accessible",
            Category::UnknownCrossAccount => "unknown-cross-account",
            Category::FriendlyCrossAccount => "friendly-cross-account",
            Category::ThirdPartyCrossAccount => "third-party-cross-account",
            Category::PrivilegeEscalation => "privilege-escalation",
            Category::AdminWildcard => "admin-wildcard",
            Category::WeakTls => "weak-tls",
            Category::Unencrypted => "unencrypted",
            Category::LoggingOff => "logging-off",
            Category::KeyRotationOff => "key-rotation-off",
            Category::ExpiringCertificate => "expiring-certificate",
        }
    }
}

/// How bad an issue is, derived from its score (0 to 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Score 0: recorded, not a problem on its own.
    Info,
    /// Score 1 to 3.
    Low,
    /// Score 4 to 6.
    Medium,
    /// Score 7 or 8.
    High,
    /// Score 9 or 10.
    Critical,
}

impl Severity {
    /// The severity of a score; scores above 10 count as 10.
    pub fn of_score(score: u8) -> Severity {
        match score {
            0 => Severity::Info,
            1..=3 => Severity::Low,
            4..=6 => Severity::Medium,
            7..=8 => Severity::High,
            _ => Severity::Critical,
        }
    }
}

/// Why a text is not a [`Severity`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a severity; use info, low, medium, high or critical")]
pub struct SeverityError(pub String);

impl FromStr for Severity {
    type Err = SeverityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(SeverityError(text.to_owned())),
        }
    }
}

/// A stable issue id: the same resource, check and detail always give the
/// same id, so a justification stays attached across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IssueId(pub String);

impl fmt::Display for IssueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl IssueId {
    /// The id of `check` finding `detail` on `resource`: 16 hex digits of a
    /// SHA-256 over the three, each length-prefixed so no two inputs collide
    /// by concatenation.
    pub fn new(resource: &ResourceKey, check: &str, detail: &str) -> IssueId {
        let mut hash = Sha256::new();
        for part in [
            resource.account.as_str(),
            resource.region.as_str(),
            resource.resource_type.as_str(),
            resource.resource_id.as_str(),
            check,
            detail,
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        IssueId(hex::encode(digest.get(..8).unwrap_or_default()))
    }
}

/// One problem an auditor found on one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// Stable id from (resource, check, detail).
    pub id: IssueId,
    /// The resource it is on.
    pub resource: ResourceKey,
    /// The resource's ARN, when known.
    pub arn: Option<String>,
    /// The check that found it, e.g. `s3.public-policy`.
    pub check: String,
    /// Its category.
    pub category: Category,
    /// 0 to 10, after any score override.
    pub score: u8,
    /// What distinguishes this issue from others of the same check on the
    /// same resource (a principal, a port range, a statement): part of the id.
    pub detail: String,
    /// One sentence for a person.
    pub message: String,
    /// The facts behind it (statement, rule, setting), not part of the id but
    /// part of the [`Issue::fingerprint`].
    pub evidence: Value,
}

impl Issue {
    /// A new issue; its id is derived from `resource`, `check` and `detail`.
    pub fn new(
        resource: ResourceKey,
        check: &str,
        category: Category,
        score: u8,
        detail: String,
        message: String,
    ) -> Issue {
        Issue {
            id: IssueId::new(&resource, check, &detail),
            resource,
            arn: None,
            check: check.to_owned(),
            category,
            score: score.min(10),
            detail,
            message,
            evidence: Value::Null,
        }
    }

    /// The severity of its score.
    pub fn severity(&self) -> Severity {
        Severity::of_score(self.score)
    }

    /// A hash of what the issue says (score, message, evidence): when it
    /// changes, the issue has changed and a justification no longer covers it.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update([self.score]);
        hash.update((self.message.len() as u64).to_be_bytes());
        hash.update(self.message.as_bytes());
        hash.update(self.evidence.to_string().as_bytes());
        hex::encode(hash.finalize().get(..8).unwrap_or_default())
    }
}

/// One difference between two JSON documents, at a path such as
/// `/configuration/ipPermissions/0/toPort` (RFC 6901 JSON Pointer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathChange {
    /// Where, as a JSON Pointer.
    pub path: String,
    /// The value before; `None` when the path was added.
    pub before: Option<Value>,
    /// The value after; `None` when the path was removed.
    pub after: Option<Value>,
}

/// Something worth telling people about, found by comparing this run with
/// what the store remembers. Alerts are made from these only, so an unchanged
/// issue never alerts twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// An issue not seen before (or seen again after it was resolved).
    NewIssue {
        /// The issue.
        issue: Issue,
    },
    /// A known issue whose fingerprint (score, message, evidence) changed.
    ChangedIssue {
        /// The issue as it is now.
        issue: Issue,
        /// Its fingerprint before.
        previous_fingerprint: String,
    },
    /// A justified issue that changed or whose justification expired.
    NoLongerJustified {
        /// The issue as it is now.
        issue: Issue,
        /// The reason the justification gave.
        reason: String,
    },
    /// A known issue that is no longer found.
    ResolvedIssue {
        /// The issue as it was last seen.
        issue: Issue,
    },
    /// A resource whose durable configuration changed (or that appeared).
    ResourceChanged {
        /// Which resource.
        key: ResourceKey,
        /// Its new revision number (1 for a new resource).
        revision: u32,
        /// What changed since the previous revision (empty for a new resource).
        changes: Vec<PathChange>,
    },
    /// A resource that was deleted.
    ResourceDeleted {
        /// Which resource.
        key: ResourceKey,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ResourceKey {
        "111122223333/us-east-1/AWS::S3::Bucket/logs/with/slash"
            .parse()
            .unwrap()
    }

    #[test]
    fn resource_key_round_trips_with_slashes_in_the_id() {
        let key = key();
        assert_eq!(key.resource_id, "logs/with/slash");
        assert_eq!(key.to_string().parse::<ResourceKey>().unwrap(), key);
        assert!(
            "111122223333/us-east-1/AWS::S3::Bucket"
                .parse::<ResourceKey>()
                .is_err()
        );
        assert!("a//b/c".parse::<ResourceKey>().is_err());
    }

    #[test]
    fn issue_id_depends_on_resource_check_and_detail_only() {
        let a = Issue::new(
            key(),
            "s3.public",
            Category::InternetAccessible,
            9,
            "*".into(),
            "x".into(),
        );
        let mut b = Issue::new(
            key(),
            "s3.public",
            Category::InternetAccessible,
            5,
            "*".into(),
            "y".into(),
        );
        assert_eq!(a.id, b.id);
        assert_ne!(a.fingerprint(), b.fingerprint());
        b.detail = "other".into();
        assert_ne!(IssueId::new(&b.resource, &b.check, &b.detail), a.id);
        // Length prefixes keep ("ab", "c") apart from ("a", "bc").
        assert_ne!(
            IssueId::new(&key(), "ab", "c"),
            IssueId::new(&key(), "a", "bc")
        );
    }

    #[test]
    fn severity_follows_score() {
        assert_eq!(Severity::of_score(0), Severity::Info);
        assert_eq!(Severity::of_score(3), Severity::Low);
        assert_eq!(Severity::of_score(6), Severity::Medium);
        assert_eq!(Severity::of_score(8), Severity::High);
        assert_eq!(Severity::of_score(200), Severity::Critical);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
    }
}
