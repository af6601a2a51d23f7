//! What changed between two versions of a policy, in effective terms: the
//! actions granted or taken away, and for actions granted by both, the
//! resources (and conditions) that changed.
//!
//! Each policy is reduced to its grants: for every catalogue action, the
//! resource patterns Allow statements give it (a conditional grant carries
//! its condition), less the actions an unconditional `Deny` on every
//! resource removes; narrower denies are kept as `Deny` entries of the
//! action. Two policies written differently but granting the same thing
//! have no difference.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalogue::{ActionId, ActionSet, Catalogue};
use crate::expand::statement_actions;
use crate::minimize::{Options, minimize_set};
use crate::model::{Effect, Policy, Statement};

/// The difference between an old and a new policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PolicyDiff {
    /// Actions the new policy grants and the old one did not, as the fewest patterns.
    pub granted: Vec<String>,
    /// How many actions `granted` stands for.
    pub granted_count: usize,
    /// Actions the old policy granted and the new one does not, as the fewest patterns.
    pub revoked: Vec<String>,
    /// How many actions `revoked` stands for.
    pub revoked_count: usize,
    /// Actions granted by both whose resources or conditions changed.
    pub changed: Vec<ResourceChange>,
}

impl PolicyDiff {
    /// True when both policies grant exactly the same.
    pub fn is_empty(&self) -> bool {
        self.granted.is_empty() && self.revoked.is_empty() && self.changed.is_empty()
    }
}

/// A change of resources shared by a group of actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    /// The actions, as the fewest patterns.
    pub actions: Vec<String>,
    /// Resource entries the new policy adds for them.
    pub added: Vec<String>,
    /// Resource entries the new policy no longer has for them.
    pub removed: Vec<String>,
}

/// For each action, what it is granted on (`arn`, `arn when {condition}`,
/// `not arn`, or `Deny arn`).
type Grants = BTreeMap<ActionId, BTreeSet<String>>;

/// Compares two policies.
pub fn diff(cat: &Catalogue, old: &Policy, new: &Policy) -> PolicyDiff {
    let (old, new) = (grants(cat, old), grants(cat, new));
    let allowed = |g: &Grants, id: &ActionId| {
        g.get(id)
            .is_some_and(|entries| entries.iter().any(|e| !e.starts_with("Deny ")))
    };
    let mut granted = ActionSet::new();
    let mut revoked = ActionSet::new();
    let mut changes: BTreeMap<(Vec<String>, Vec<String>), ActionSet> = BTreeMap::new();
    for id in old.keys().chain(new.keys()).collect::<BTreeSet<_>>() {
        match (allowed(&old, id), allowed(&new, id)) {
            (false, true) => {
                granted.insert(*id);
            }
            (true, false) => {
                revoked.insert(*id);
            }
            (true, true) => {
                let (Some(before), Some(after)) = (old.get(id), new.get(id)) else {
                    continue;
                };
                if before != after {
                    let added = after.difference(before).cloned().collect();
                    let removed = before.difference(after).cloned().collect();
                    changes.entry((added, removed)).or_default().insert(*id);
                }
            }
            (false, false) => {}
        }
    }
    let patterns = |set: &ActionSet| minimize_set(cat, set, &Options::default());
    PolicyDiff {
        granted: patterns(&granted),
        granted_count: granted.len(),
        revoked: patterns(&revoked),
        revoked_count: revoked.len(),
        changed: changes
            .into_iter()
            .map(|((added, removed), actions)| ResourceChange {
                actions: patterns(&actions),
                added,
                removed,
            })
            .collect(),
    }
}

fn grants(cat: &Catalogue, policy: &Policy) -> Grants {
    let mut grants = Grants::new();
    let mut denied_everywhere = ActionSet::new();
    for statement in policy.statements.iter() {
        let actions = statement_actions(cat, statement).actions;
        if statement.effect == Effect::Deny && denies_everything(statement) {
            denied_everywhere.union_with(&actions);
            continue;
        }
        let entries = entries(statement);
        for id in actions.iter() {
            grants
                .entry(id)
                .or_default()
                .extend(entries.iter().cloned());
        }
    }
    grants.retain(|id, _| !denied_everywhere.contains(*id));
    grants
}

fn denies_everything(statement: &Statement) -> bool {
    statement.condition.is_none()
        && statement
            .resource
            .as_ref()
            .is_none_or(|r| !r.negated && r.value.iter().any(|p| p == "*"))
}

/// The statement's resource entries, each marked with its effect and condition.
fn entries(statement: &Statement) -> Vec<String> {
    let prefix = match statement.effect {
        Effect::Allow => "",
        Effect::Deny => "Deny ",
    };
    let condition = statement
        .condition
        .as_ref()
        .map(|c| {
            let mut shown = serde_json::Map::new();
            for (operator, keys) in &c.operators {
                let values: serde_json::Map<String, serde_json::Value> = keys
                    .iter()
                    .map(|(k, v)| {
                        let list = v.iter().map(|x| x.as_text().into()).collect();
                        (k.clone(), serde_json::Value::Array(list))
                    })
                    .collect();
                shown.insert(operator.to_string(), values.into());
            }
            format!(" when {}", serde_json::Value::Object(shown))
        })
        .unwrap_or_default();
    let resources: Vec<String> = match &statement.resource {
        None => vec!["*".to_owned()],
        Some(r) if r.negated => r.value.iter().map(|p| format!("not {p}")).collect(),
        Some(r) => r.value.iter().cloned().collect(),
    };
    resources
        .into_iter()
        .map(|r| format!("{prefix}{r}{condition}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
        ))
        .unwrap()
    }

    fn run(old: &str, new: &str) -> PolicyDiff {
        diff(Catalogue::builtin(), &policy(old), &policy(new))
    }

    #[test]
    fn same_grant_written_differently_has_no_difference() {
        let d = run(
            r#"{"Effect":"Allow","Action":"s3:GetObject*","Resource":"arn:aws:s3:::b/*"}"#,
            r#"{"Effect":"Allow","Action":["s3:getobject*","s3:GetObjectAcl"],"Resource":["arn:aws:s3:::b/*"]}"#,
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn granted_revoked_and_changed_resources() {
        let d = run(
            r#"{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::b/*"}"#,
            r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/public/*"}"#,
        );
        assert_eq!(d.granted, vec!["s3:PutObject"]);
        assert_eq!(d.revoked, vec!["s3:DeleteObject"]);
        assert_eq!(
            d.changed,
            vec![ResourceChange {
                actions: vec!["s3:GetObject".into()],
                added: vec!["arn:aws:s3:::b/public/*".into()],
                removed: vec!["arn:aws:s3:::b/*".into()],
            }]
        );
    }

    #[test]
    fn a_deny_everywhere_revokes_and_a_condition_is_a_change() {
        let d = run(
            r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"},{"Effect":"Deny","Action":"sqs:Delete*","Resource":"*"}"#,
        );
        // Only the Delete actions of SQS start with D.
        assert_eq!(d.revoked, vec!["sqs:D*"]);
        assert!(d.granted.is_empty() && d.changed.is_empty());
        let d = run(
            r#"{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true}}}"#,
        );
        assert_eq!(d.changed.len(), 1);
        assert_eq!(
            d.changed[0].added,
            vec![r#"* when {"Bool":{"aws:SecureTransport":["true"]}}"#]
        );
    }
}
