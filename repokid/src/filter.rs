//! Which roles and permissions a plan must leave alone.
//!
//! Role-level filters ([`role_skips`]) answer with every reason that
//! excludes a role: too young, blocklisted, outside an exclusive
//! allow-list, service-linked, opted out by tag, or without fresh access
//! data. Permission-level rules keep unused permissions inside a plan:
//! statements whose `Sid` starts with `NOREPO` ([`is_norepo`]), actions
//! access history cannot see ([`INVISIBLE_ACTIONS`]), and actions added too
//! recently for the data to judge ([`recently_added`]).

use std::collections::BTreeMap;
use std::fmt;

use policies::catalogue::{ActionSet, Catalogue};
use policies::expand::{expand, statement_actions};
use policies::glob::{Case, matches};
use policies::model::{Effect, Statement};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

use crate::access::RoleAccess;
use crate::model::{PolicyVersionRecord, RoleRecord};

/// Actions whose use Access Advisor and CloudTrail do not attribute to the
/// role that holds them, so "unused" would be wrong:
/// - `iam:PassRole`: checked when another service is handed the role, and
///   logged (if at all) as part of that service's call, not as an IAM call;
/// - `sts:AssumeRole`, `sts:TagSession`, `sts:SetSourceIdentity`: role
///   chaining is checked against the target's trust policy and logged in the
///   target account or session;
/// - `kms:Decrypt`, `kms:GenerateDataKey` (and `*WithoutPlaintext`),
///   `kms:Encrypt`, `kms:ReEncrypt*`: used on the role's behalf by S3, EBS,
///   SQS and others through grants and `kms:ViaService`, attributed to the
///   calling service;
/// - `iam:GetRole`, `iam:ListRoles` as checked by the console and services
///   when the role is passed;
/// - `s3:GetObject`/`s3:PutObject` are NOT here: Access Advisor sees them at
///   service level, and CloudTrail data events at action level.
pub const INVISIBLE_ACTIONS: &[&str] = &[
    "iam:PassRole",
    "iam:GetRole",
    "iam:ListRoles",
    "sts:AssumeRole",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncrypt*",
];

/// The role-level filters' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterConfig {
    /// Roles created fewer days ago are skipped (default 90).
    pub min_age_days: i64,
    /// Role names or ARNs never touched.
    pub blocklist: Vec<String>,
    /// Per account ID, role names or ARNs never touched in that account.
    pub account_blocklist: BTreeMap<String, Vec<String>>,
    /// When not empty, only roles whose name or ARN matches one of these
    /// globs (`*`, `?`) are considered.
    pub allowlist: Vec<String>,
    /// The opt-out tag key (default `repokid-opt-out`); its value is the
    /// expiry date `YYYY-MM-DD`, optionally followed by a space and a note.
    pub opt_out_tag: String,
    /// Access data collected longer ago than this many days is refused
    /// (default 7).
    pub max_data_age_days: i64,
    /// Permissions added within this many days are kept (default 90).
    pub recent_days: i64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            min_age_days: 90,
            blocklist: Vec::new(),
            account_blocklist: BTreeMap::new(),
            allowlist: Vec::new(),
            opt_out_tag: "repokid-opt-out".to_owned(),
            max_data_age_days: 7,
            recent_days: 90,
        }
    }
}

/// Why a role is left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SkipReason {
    /// Created fewer than `min_days` ago.
    TooYoung {
        /// `CreateDate`.
        #[serde(with = "time::serde::rfc3339")]
        created: OffsetDateTime,
        /// The minimum age.
        min_days: i64,
    },
    /// The export has no `CreateDate`.
    UnknownAge,
    /// Named in the blocklist.
    Blocklisted,
    /// An allow-list is set and the role is not in it.
    NotAllowListed,
    /// A service-linked role (path `/aws-service-role/`): AWS owns it.
    ServiceLinked,
    /// Opted out by tag until the date.
    OptedOut {
        /// The expiry date (`YYYY-MM-DD`).
        until: String,
    },
    /// The opt-out tag's value is not a date: kept opted out.
    OptOutUnreadable {
        /// The tag value.
        value: String,
    },
    /// No access data for the role.
    NoAccessData,
    /// The access data is older than allowed.
    AccessDataTooOld {
        /// When it was collected.
        #[serde(with = "time::serde::rfc3339")]
        collected_at: OffsetDateTime,
        /// The maximum age.
        max_days: i64,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooYoung { created, min_days } => {
                write!(
                    f,
                    "created {} (younger than {min_days} days)",
                    created.date()
                )
            }
            SkipReason::UnknownAge => f.write_str("no creation date in the export"),
            SkipReason::Blocklisted => f.write_str("in the blocklist"),
            SkipReason::NotAllowListed => f.write_str("not in the allow-list"),
            SkipReason::ServiceLinked => f.write_str("service-linked role"),
            SkipReason::OptedOut { until } => write!(f, "opted out by tag until {until}"),
            SkipReason::OptOutUnreadable { value } => write!(
                f,
                "opt-out tag value `{value}` is not a date YYYY-MM-DD; kept opted out"
            ),
            SkipReason::NoAccessData => {
                f.write_str("no access data; run `repokid update` with access data first")
            }
            SkipReason::AccessDataTooOld {
                collected_at,
                max_days,
            } => write!(
                f,
                "access data collected {} is older than {max_days} days; run `repokid update`",
                collected_at.date()
            ),
        }
    }
}

/// Every role-level filter that excludes `role` at `now` (empty: plan it).
pub fn role_skips(
    config: &FilterConfig,
    role: &RoleRecord,
    access: Option<&RoleAccess>,
    now: OffsetDateTime,
) -> Vec<SkipReason> {
    let mut out = Vec::new();
    match role.create_date {
        Some(created) if now - created < Duration::days(config.min_age_days) => {
            out.push(SkipReason::TooYoung {
                created,
                min_days: config.min_age_days,
            });
        }
        Some(_) => {}
        None => out.push(SkipReason::UnknownAge),
    }
    let account = role.arn.split(':').nth(4).unwrap_or("");
    if config
        .blocklist
        .iter()
        .chain(config.account_blocklist.get(account).into_iter().flatten())
        .any(|b| b == &role.name || b == &role.arn)
    {
        out.push(SkipReason::Blocklisted);
    }
    if !config.allowlist.is_empty()
        && !config.allowlist.iter().any(|g| {
            matches(g, &role.name, Case::Sensitive) || matches(g, &role.arn, Case::Sensitive)
        })
    {
        out.push(SkipReason::NotAllowListed);
    }
    if role.path.starts_with("/aws-service-role/") {
        out.push(SkipReason::ServiceLinked);
    }
    if let Some(value) = role.tag(&config.opt_out_tag) {
        let date = value.split_whitespace().next().unwrap_or("");
        match parse_date(date) {
            Some(until) if until >= now.date() => out.push(SkipReason::OptedOut {
                until: date.to_owned(),
            }),
            Some(_) => {}
            None => out.push(SkipReason::OptOutUnreadable {
                value: value.to_owned(),
            }),
        }
    }
    match access.and_then(|a| a.collected_at) {
        None => out.push(SkipReason::NoAccessData),
        Some(at) if now - at > Duration::days(config.max_data_age_days) => {
            out.push(SkipReason::AccessDataTooOld {
                collected_at: at,
                max_days: config.max_data_age_days,
            });
        }
        Some(_) => {}
    }
    out
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

/// True for a statement whose `Sid` starts with `NOREPO` (any case).
pub fn is_norepo(statement: &Statement) -> bool {
    statement
        .sid
        .as_deref()
        .and_then(|s| s.get(..6))
        .is_some_and(|p| p.eq_ignore_ascii_case("NOREPO"))
}

/// The catalogue actions of [`INVISIBLE_ACTIONS`].
pub fn invisible_actions(cat: &Catalogue) -> ActionSet {
    expand(cat, INVISIBLE_ACTIONS).actions
}

/// The actions the Allow statements of `documents` grant.
fn granted<'a>(
    cat: &Catalogue,
    documents: impl Iterator<Item = &'a policies::Policy>,
) -> ActionSet {
    let mut set = ActionSet::new();
    for doc in documents {
        for st in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
            set.union_with(&statement_actions(cat, st).actions);
        }
    }
    set
}

/// The actions the role's current policies grant that it did not have
/// `recent_days` before `now`, from its stored policy history.
///
/// The baseline is every version seen at or before the cut-off, plus the
/// versions of the first update that saw the role (what was there when
/// repokid started watching is not "new"). `current` holds the current
/// documents. With no history at all nothing counts as recent.
pub fn recently_added<'a>(
    cat: &Catalogue,
    history: &[PolicyVersionRecord],
    current: impl Iterator<Item = &'a policies::Policy>,
    recent_days: i64,
    now: OffsetDateTime,
) -> ActionSet {
    let Some(first) = history.iter().map(|v| v.seen_at).min() else {
        return ActionSet::new();
    };
    let cutoff = now - Duration::days(recent_days);
    let baseline = granted(
        cat,
        history
            .iter()
            .filter(|v| v.seen_at <= cutoff || v.seen_at == first)
            .map(|v| &v.document),
    );
    let mut now_granted = granted(cat, current);
    now_granted.subtract(&baseline);
    now_granted
}

#[cfg(test)]
mod tests;
