//! The life of an issue from one audit to the next, as a pure function:
//! what the store remembers plus what this audit found gives the events to
//! tell people about and what to remember now. Both stores call
//! [`reconcile`], so they behave the same.
//!
//! Per issue id:
//!
//! | remembered | found now | justification | event |
//! | --- | --- | --- | --- |
//! | nothing, or resolved | yes | none | [`Event::NewIssue`] |
//! | open, same fingerprint | yes | none | none |
//! | open, other fingerprint | yes | none | [`Event::ChangedIssue`] |
//! | any | yes | active, same fingerprint, not expired | none |
//! | any | yes | active, other fingerprint or expired | [`Event::NoLongerJustified`], and the justification lapses (so it is said once) |
//! | open | no, and in scope | any | [`Event::ResolvedIssue`] |
//! | open | no, out of scope | any | none: another audit's business |
//!
//! A justification that lapsed stays on record (with when it lapsed) but no
//! longer covers the issue; the issue then alerts as any other would.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{Event, Issue, IssueId, ResourceKey};

/// Which resources an audit or a collection looked at. An empty list means
/// any. Global resources (IAM) have the region `global`: a scope of regions
/// covers them only if it lists `global`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Accounts (any when empty).
    pub accounts: Vec<String>,
    /// Regions (any when empty).
    pub regions: Vec<String>,
    /// Resource types (any when empty).
    pub resource_types: Vec<String>,
}

impl Scope {
    /// Everything.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// One account, every region and type.
    pub fn account(account: &str) -> Scope {
        Scope {
            accounts: vec![account.to_owned()],
            ..Scope::default()
        }
    }

    /// Whether a resource is in scope.
    pub fn covers(&self, key: &ResourceKey) -> bool {
        let within =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        within(&self.accounts, &key.account)
            && within(&self.regions, &key.region)
            && within(&self.resource_types, &key.resource_type)
    }
}

/// Whether an issue is currently found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueStatus {
    /// Found by the last audit that covered it.
    Open,
    /// No longer found.
    Resolved,
}

/// What the store remembers of one issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueState {
    /// The issue as last seen.
    pub issue: Issue,
    /// Open or resolved.
    pub status: IssueStatus,
    /// Its fingerprint when last seen.
    pub fingerprint: String,
    /// When it was first found (a resolved issue found again keeps it).
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    /// When it was last found.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// When it was found resolved (while resolved).
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

/// A person's word that an issue is acceptable as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Justification {
    /// The issue.
    pub id: IssueId,
    /// Why it is acceptable.
    pub reason: String,
    /// Who said so.
    pub by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Until when, if limited.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// The issue's fingerprint it covers: when the issue changes, the
    /// justification no longer covers it.
    pub fingerprint: String,
    /// When it stopped covering the issue (changed or expired), if it has.
    #[serde(with = "time::serde::rfc3339::option")]
    pub lapsed: Option<OffsetDateTime>,
}

impl Justification {
    /// Whether it has not lapsed and is not past its expiry at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.lapsed.is_none() && self.expires.is_none_or(|e| now < e)
    }
}

/// What [`reconcile`] decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reconciled {
    /// Events to tell people about, in order: by issue id.
    pub events: Vec<Event>,
    /// Issue states to write (every issue found now, and those resolved now).
    pub states: Vec<IssueState>,
    /// Justifications that lapsed now, to write back.
    pub lapsed: Vec<Justification>,
}

/// Compares what an audit of `scope` found (`current`) with what was
/// remembered (`previous`, any scope) and the justifications on record.
///
/// Only previous issues inside `scope` can be resolved. When `current`
/// holds the same id twice, the first is used.
pub fn reconcile(
    scope: &Scope,
    previous: &[IssueState],
    justifications: &[Justification],
    current: &[Issue],
    now: OffsetDateTime,
) -> Reconciled {
    let previous: HashMap<&IssueId, &IssueState> =
        previous.iter().map(|s| (&s.issue.id, s)).collect();
    let justified: HashMap<&IssueId, &Justification> = justifications
        .iter()
        .filter(|j| j.lapsed.is_none())
        .map(|j| (&j.id, j))
        .collect();
    let mut found: BTreeMap<&IssueId, &Issue> = BTreeMap::new();
    for issue in current {
        found.entry(&issue.id).or_insert(issue);
    }

    let mut out = Reconciled::default();
    for (id, issue) in &found {
        let fingerprint = issue.fingerprint();
        let before = previous.get(id).copied();
        let event = match justified.get(id) {
            Some(j) if j.fingerprint != fingerprint || !j.is_active(now) => {
                let mut lapsed = (*j).clone();
                lapsed.lapsed = Some(now);
                out.lapsed.push(lapsed);
                Some(Event::NoLongerJustified {
                    issue: (*issue).clone(),
                    reason: j.reason.clone(),
                })
            }
            Some(_) => None,
            None => match before {
                Some(s) if s.status == IssueStatus::Open => {
                    (s.fingerprint != fingerprint).then(|| Event::ChangedIssue {
                        issue: (*issue).clone(),
                        previous_fingerprint: s.fingerprint.clone(),
                    })
                }
                _ => Some(Event::NewIssue {
                    issue: (*issue).clone(),
                }),
            },
        };
        out.events.extend(event);
        out.states.push(IssueState {
            issue: (*issue).clone(),
            status: IssueStatus::Open,
            fingerprint,
            first_seen: before.map_or(now, |s| s.first_seen),
            last_seen: now,
            resolved_at: None,
        });
    }

    let found_ids: HashSet<&IssueId> = found.keys().copied().collect();
    let mut vanished: Vec<&IssueState> = previous
        .values()
        .filter(|s| {
            s.status == IssueStatus::Open
                && !found_ids.contains(&s.issue.id)
                && scope.covers(&s.issue.resource)
        })
        .copied()
        .collect();
    vanished.sort_by(|a, b| a.issue.id.cmp(&b.issue.id));
    for state in vanished {
        out.events.push(Event::ResolvedIssue {
            issue: state.issue.clone(),
        });
        let mut resolved = state.clone();
        resolved.status = IssueStatus::Resolved;
        resolved.resolved_at = Some(now);
        out.states.push(resolved);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn issue(account: &str, detail: &str, score: u8) -> Issue {
        let key: ResourceKey = format!("{account}/us-east-1/AWS::S3::Bucket/logs")
            .parse()
            .unwrap();
        Issue::new(
            key,
            "s3.public",
            Category::InternetAccessible,
            score,
            detail.into(),
            "bucket is public".into(),
        )
    }

    /// Runs reconcile and folds the result into the remembered state.
    fn step(
        scope: &Scope,
        states: &mut Vec<IssueState>,
        justs: &mut Vec<Justification>,
        current: Vec<Issue>,
        now: OffsetDateTime,
    ) -> Vec<Event> {
        let r = reconcile(scope, states, justs, &current, now);
        for s in r.states {
            states.retain(|x| x.issue.id != s.issue.id);
            states.push(s);
        }
        for j in r.lapsed {
            justs.retain(|x| x.id != j.id);
            justs.push(j);
        }
        r.events
    }

    fn names(events: &[Event]) -> Vec<&'static str> {
        events
            .iter()
            .map(|e| match e {
                Event::NewIssue { .. } => "new",
                Event::ChangedIssue { .. } => "changed",
                Event::NoLongerJustified { .. } => "unjustified",
                Event::ResolvedIssue { .. } => "resolved",
                Event::ResourceChanged { .. } => "resource",
                Event::ResourceDeleted { .. } => "deleted",
            })
            .collect()
    }

    #[test]
    fn new_unchanged_changed_resolved_reopened() {
        let (mut s, mut j) = (Vec::new(), Vec::new());
        let all = Scope::all();
        let a = issue("111111111111", "*", 9);
        assert_eq!(
            names(&step(&all, &mut s, &mut j, vec![a.clone()], T0)),
            ["new"]
        );
        assert!(
            step(
                &all,
                &mut s,
                &mut j,
                vec![a.clone()],
                T0 + Duration::hours(1)
            )
            .is_empty()
        );
        let a2 = issue("111111111111", "*", 7);
        assert_eq!(
            names(&step(
                &all,
                &mut s,
                &mut j,
                vec![a2.clone()],
                T0 + Duration::hours(2)
            )),
            ["changed"]
        );
        assert!(
            step(
                &all,
                &mut s,
                &mut j,
                vec![a2.clone()],
                T0 + Duration::hours(3)
            )
            .is_empty()
        );
        assert_eq!(
            names(&step(&all, &mut s, &mut j, vec![], T0 + Duration::hours(4))),
            ["resolved"]
        );
        assert!(step(&all, &mut s, &mut j, vec![], T0 + Duration::hours(5)).is_empty());
        assert_eq!(
            names(&step(
                &all,
                &mut s,
                &mut j,
                vec![a2],
                T0 + Duration::hours(6)
            )),
            ["new"]
        );
        assert_eq!(s[0].first_seen, T0);
        assert_eq!(s[0].last_seen, T0 + Duration::hours(6));
    }

    #[test]
    fn scope_protects_other_accounts() {
        let (mut s, mut j) = (Vec::new(), Vec::new());
        let a = issue("111111111111", "*", 9);
        let b = issue("222222222222", "*", 9);
        step(&Scope::all(), &mut s, &mut j, vec![a.clone(), b], T0);
        let events = step(
            &Scope::account("111111111111"),
            &mut s,
            &mut j,
            vec![a],
            T0 + Duration::hours(1),
        );
        assert!(events.is_empty());
        let events = step(
            &Scope::account("222222222222"),
            &mut s,
            &mut j,
            vec![],
            T0 + Duration::hours(2),
        );
        assert_eq!(names(&events), ["resolved"]);
    }

    #[test]
    fn justification_lapses_once_on_change_or_expiry() {
        let (mut s, mut j) = (Vec::new(), Vec::new());
        let all = Scope::all();
        let a = issue("111111111111", "*", 9);
        step(&all, &mut s, &mut j, vec![a.clone()], T0);
        j.push(Justification {
            id: a.id.clone(),
            reason: "public website".into(),
            by: "alice".into(),
            at: T0,
            expires: Some(T0 + Duration::days(30)),
            fingerprint: a.fingerprint(),
            lapsed: None,
        });
        assert!(
            step(
                &all,
                &mut s,
                &mut j,
                vec![a.clone()],
                T0 + Duration::days(1)
            )
            .is_empty()
        );
        // Resolved and back while justified: no new alert.
        assert_eq!(
            names(&step(&all, &mut s, &mut j, vec![], T0 + Duration::days(2))),
            ["resolved"]
        );
        assert!(
            step(
                &all,
                &mut s,
                &mut j,
                vec![a.clone()],
                T0 + Duration::days(3)
            )
            .is_empty()
        );
        // Expired: said once, then quiet.
        let later = T0 + Duration::days(31);
        let events = step(&all, &mut s, &mut j, vec![a.clone()], later);
        assert!(
            matches!(&events[..], [Event::NoLongerJustified { reason, .. }] if reason == "public website")
        );
        assert_eq!(j[0].lapsed, Some(later));
        assert!(
            step(
                &all,
                &mut s,
                &mut j,
                vec![a.clone()],
                later + Duration::days(1)
            )
            .is_empty()
        );

        // A change of fingerprint lapses it too.
        j[0] = Justification {
            lapsed: None,
            expires: None,
            ..j[0].clone()
        };
        let a2 = issue("111111111111", "*", 3);
        let events = step(
            &all,
            &mut s,
            &mut j,
            vec![a2.clone()],
            later + Duration::days(2),
        );
        assert_eq!(names(&events), ["unjustified"]);
        assert!(step(&all, &mut s, &mut j, vec![a2], later + Duration::days(3)).is_empty());
    }

    #[test]
    fn duplicate_ids_count_once() {
        let a = issue("111111111111", "*", 9);
        let r = reconcile(&Scope::all(), &[], &[], &[a.clone(), a], T0);
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.states.len(), 1);
    }
}
