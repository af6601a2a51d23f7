//! Suppressions: a TOML file of issues people have decided to live with, each
//! with a reason and optionally an expiry date.
//!
//! ```toml
//! [[suppress]]
//! accounts = "1111*"                     # account id pattern (`*`, `?`); default `*`
//! region = "us-east-1"                   # region pattern; default `*`
//! check = "s3.bucket.public-*"           # check name pattern; default `*`
//! resource = '^arn:aws:s3:::example-public-'  # regex over the ARN or ACCOUNT/REGION/TYPE/ID
//! tags = { purpose = "website" }         # every tag must be present (value pattern)
//! expires = 2025-06-30                   # last day it applies (TOML date or "YYYY-MM-DD")
//! reason = "static website; reviewed by security in #1234"   # required
//! ```
//!
//! [`Suppressions::apply`] splits issues into those that stand and those
//! suppressed (with the reason: nothing is silently dropped), and lists the
//! entries that have expired together with the issues they would have
//! matched: an expired suppression no longer applies.

use std::collections::BTreeMap;

use policies::glob::{Case, matches};
use regex::Regex;
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::model::{Issue, IssueId, ResourceKey};

/// Why a suppression file is refused; each names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuppressError {
    /// Not TOML, or a key has the wrong type or is unknown.
    #[error("suppression file: {0}; see the `suppress` module documentation for the keys")]
    Toml(String),
    /// An entry without a reason.
    #[error("`suppress[{entry}]` has no `reason`; say why the issue is acceptable")]
    MissingReason {
        /// The entry's position, from 0.
        entry: usize,
    },
    /// A `resource` that is not a regular expression.
    #[error(
        "`suppress[{entry}].resource` = `{pattern}` is not a regular expression: {message}; fix or quote it"
    )]
    BadRegex {
        /// The entry's position, from 0.
        entry: usize,
        /// The pattern given.
        pattern: String,
        /// What the regex parser said.
        message: String,
    },
    /// An `expires` that is not a date.
    #[error("`suppress[{entry}].expires` = `{value}` is not a date; write YYYY-MM-DD")]
    BadDate {
        /// The entry's position, from 0.
        entry: usize,
        /// The value given.
        value: String,
    },
    /// An empty pattern.
    #[error("`suppress[{entry}].{key}` is empty; leave it out or write `*` to match everything")]
    EmptyPattern {
        /// The entry's position, from 0.
        entry: usize,
        /// The key.
        key: &'static str,
    },
}

/// One suppression, validated.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// Its position in the file, from 0.
    pub entry: usize,
    /// Account id pattern.
    pub accounts: String,
    /// Region pattern.
    pub region: String,
    /// Check name pattern.
    pub check: String,
    /// Regex over the ARN or the resource key text.
    pub resource: Option<Regex>,
    /// Tags the resource must have (value patterns).
    pub tags: BTreeMap<String, String>,
    /// The last day it applies.
    pub expires: Option<Date>,
    /// Why the issue is acceptable.
    pub reason: String,
}

/// A suppressed issue and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    /// The issue.
    pub issue: Issue,
    /// The suppression's reason.
    pub reason: String,
    /// The suppression's position in the file, from 0.
    pub entry: usize,
    /// Its expiry date, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A suppression past its expiry date, and the issues it would have matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expired {
    /// The suppression's position in the file, from 0.
    pub entry: usize,
    /// Its reason.
    pub reason: String,
    /// The day it expired, `YYYY-MM-DD`.
    pub expired: String,
    /// Issues it would have suppressed, now standing again.
    pub issues: Vec<IssueId>,
}

/// What [`Suppressions::apply`] makes of a list of issues.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// Issues no live suppression matches.
    pub issues: Vec<Issue>,
    /// Issues a live suppression matches, with its reason.
    pub suppressed: Vec<Suppressed>,
    /// Expired suppressions.
    pub expired: Vec<Expired>,
}

/// A validated suppression file.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    entries: Vec<Suppression>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppress: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default = "everything")]
    accounts: String,
    #[serde(default = "everything")]
    region: String,
    #[serde(default = "everything")]
    check: String,
    resource: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    expires: Option<toml::Value>,
    reason: Option<String>,
}

fn everything() -> String {
    "*".to_owned()
}

impl Suppressions {
    /// Reads and validates a suppression file.
    pub fn from_toml(text: &str) -> Result<Suppressions, SuppressError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map_or(String::new(), |s| format!(" (at byte {})", s.start));
            SuppressError::Toml(format!("{}{at}", e.message().trim()))
        })?;
        let entries = raw
            .suppress
            .into_iter()
            .enumerate()
            .map(|(entry, raw)| raw.validate(entry))
            .collect::<Result<_, _>>()?;
        Ok(Suppressions { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Suppression] {
        &self.entries
    }

    /// Splits `issues` by the suppressions live on `today` (the first
    /// matching entry wins). `tags` gives a resource's tags (e.g.
    /// [`crate::audit::Index::tags`]); entries with `tags` never match a
    /// resource whose tags are unknown.
    pub fn apply<'t>(
        &self,
        issues: Vec<Issue>,
        tags: impl Fn(&ResourceKey) -> Option<&'t BTreeMap<String, String>>,
        today: Date,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let mut expired: BTreeMap<usize, Vec<IssueId>> = self
            .entries
            .iter()
            .filter(|e| e.is_expired(today))
            .map(|e| (e.entry, Vec::new()))
            .collect();
        for issue in issues {
            let resource_tags = tags(&issue.resource);
            let mut live = None;
            for entry in self
                .entries
                .iter()
                .filter(|e| e.matches(&issue, resource_tags))
            {
                if entry.is_expired(today) {
                    if let Some(ids) = expired.get_mut(&entry.entry) {
                        ids.push(issue.id.clone());
                    }
                } else if live.is_none() {
                    live = Some(entry);
                }
            }
            match live {
                Some(entry) => outcome.suppressed.push(Suppressed {
                    issue,
                    reason: entry.reason.clone(),
                    entry: entry.entry,
                    expires: entry.expires.map(day),
                }),
                None => outcome.issues.push(issue),
            }
        }
        outcome.expired = self
            .entries
            .iter()
            .filter_map(|e| {
                let issues = expired.remove(&e.entry)?;
                Some(Expired {
                    entry: e.entry,
                    reason: e.reason.clone(),
                    expired: e.expires.map(day).unwrap_or_default(),
                    issues,
                })
            })
            .collect();
        outcome
    }
}

fn day(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

impl Suppression {
    /// Whether it no longer applies on `today` (it applies through its expiry day).
    pub fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|last| today > last)
    }

    /// Whether it covers `issue`, whose resource has `tags` (if known).
    pub fn matches(&self, issue: &Issue, tags: Option<&BTreeMap<String, String>>) -> bool {
        let key = &issue.resource;
        matches(&self.accounts, &key.account, Case::Sensitive)
            && matches(&self.region, &key.region, Case::Sensitive)
            && matches(&self.check, &issue.check, Case::Sensitive)
            && self.resource.as_ref().is_none_or(|re| {
                issue.arn.as_deref().is_some_and(|arn| re.is_match(arn))
                    || re.is_match(&key.to_string())
            })
            && (self.tags.is_empty()
                || tags.is_some_and(|have| {
                    self.tags.iter().all(|(name, pattern)| {
                        have.get(name)
                            .is_some_and(|value| matches(pattern, value, Case::Sensitive))
                    })
                }))
    }
}

impl RawEntry {
    fn validate(self, entry: usize) -> Result<Suppression, SuppressError> {
        let reason = self
            .reason
            .filter(|r| !r.trim().is_empty())
            .ok_or(SuppressError::MissingReason { entry })?;
        for (key, pattern) in [
            ("accounts", &self.accounts),
            ("region", &self.region),
            ("check", &self.check),
        ] {
            if pattern.is_empty() {
                return Err(SuppressError::EmptyPattern { entry, key });
            }
        }
        let resource = self
            .resource
            .map(|pattern| {
                Regex::new(&pattern).map_err(|e| SuppressError::BadRegex {
                    entry,
                    message: e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                    pattern,
                })
            })
            .transpose()?;
        let expires = self
            .expires
            .map(|value| {
                parse_date(&value).ok_or_else(|| SuppressError::BadDate {
                    entry,
                    value: match &value {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                })
            })
            .transpose()?;
        Ok(Suppression {
            entry,
            accounts: self.accounts,
            region: self.region,
            check: self.check,
            resource,
            tags: self.tags,
            expires,
            reason,
        })
    }
}

/// A TOML local date (`2025-06-30`) or the same as a string.
fn parse_date(value: &toml::Value) -> Option<Date> {
    let text = match value {
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
        toml::Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    Date::parse(&text, format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;
    use time::macros::date;

    fn issue(key: &str, check: &str, arn: Option<&str>) -> Issue {
        let mut issue = Issue::new(
            key.parse().unwrap(),
            check,
            Category::InternetAccessible,
            9,
            String::new(),
            "m".into(),
        );
        issue.arn = arn.map(str::to_owned);
        issue
    }

    const FILE: &str = r#"
        [[suppress]]
        check = "s3.bucket.public-*"
        resource = '^arn:aws:s3:::example-public-'
        tags = { purpose = "web*" }
        expires = 2024-06-30
        reason = "static website"

        [[suppress]]
        accounts = "1111*"
        region = "us-east-1"
        check = "ec2.security-group.*"
        expires = "2024-01-31"
        reason = "bastion, until the VPN is ready"

        [[suppress]]
        resource = '/AWS::SQS::Queue/'
        reason = "queues are someone else's problem"
    "#;

    #[test]
    fn live_entries_suppress_with_their_reason_and_expired_ones_are_listed() {
        let suppressions = Suppressions::from_toml(FILE).unwrap();
        let bucket = issue(
            "111122223333/us-east-1/AWS::S3::Bucket/example-public-assets",
            "s3.bucket.public-policy",
            Some("arn:aws:s3:::example-public-assets"),
        );
        let other_bucket = issue(
            "111122223333/us-east-1/AWS::S3::Bucket/data",
            "s3.bucket.public-policy",
            Some("arn:aws:s3:::data"),
        );
        let group = issue(
            "111122223333/us-east-1/AWS::EC2::SecurityGroup/sg-1",
            "ec2.security-group.open-sensitive-port",
            None,
        );
        let queue = issue(
            "111122223333/eu-west-1/AWS::SQS::Queue/q",
            "sqs.queue.public-policy",
            None,
        );
        let web: BTreeMap<String, String> = [("purpose".to_owned(), "website".to_owned())].into();
        let tags = |key: &ResourceKey| (key.resource_id == "example-public-assets").then_some(&web);

        let outcome = suppressions.apply(
            vec![
                bucket.clone(),
                other_bucket.clone(),
                group.clone(),
                queue.clone(),
            ],
            tags,
            date!(2024 - 05 - 01),
        );
        assert_eq!(outcome.issues, vec![other_bucket.clone(), group.clone()]);
        let reasons: Vec<(&str, usize)> = outcome
            .suppressed
            .iter()
            .map(|s| (s.reason.as_str(), s.entry))
            .collect();
        assert_eq!(
            reasons,
            [
                ("static website", 0),
                ("queues are someone else's problem", 2)
            ]
        );
        assert_eq!(outcome.expired.len(), 1);
        assert_eq!(outcome.expired[0].entry, 1);
        assert_eq!(outcome.expired[0].expired, "2024-01-31");
        assert_eq!(outcome.expired[0].issues, vec![group.id.clone()]);

        // The last day still applies; the day after does not.
        let on_the_day = suppressions.apply(vec![bucket.clone()], tags, date!(2024 - 06 - 30));
        assert_eq!(on_the_day.suppressed.len(), 1);
        let after = suppressions.apply(vec![bucket.clone()], tags, date!(2024 - 07 - 01));
        assert_eq!(after.issues, vec![bucket.clone()]);

        // Without the tag, the first entry does not match.
        let untagged = suppressions.apply(vec![bucket.clone()], |_| None, date!(2024 - 05 - 01));
        assert_eq!(untagged.issues, vec![bucket]);
    }

    #[test]
    fn errors_name_the_entry() {
        let error = |text: &str| Suppressions::from_toml(text).unwrap_err().to_string();
        assert!(error("[[suppress]]\ncheck = 'x'").contains("`suppress[0]` has no `reason`"));
        assert!(
            error("[[suppress]]\nreason = 'a'\n[[suppress]]\nreason = 'b'\nresource = '('")
                .contains("`suppress[1].resource` = `(`")
        );
        assert!(
            error("[[suppress]]\nreason = 'a'\nexpires = 'next year'")
                .contains("`suppress[0].expires` = `next year`")
        );
        assert!(
            error("[[suppress]]\nreason = 'a'\nregion = ''")
                .contains("`suppress[0].region` is empty")
        );
        assert!(error("[[suppress]]\nreason = 'a'\nwhy = 'b'").contains("unknown field `why`"));
        assert!(Suppressions::from_toml("").unwrap().entries().is_empty());
    }
}
