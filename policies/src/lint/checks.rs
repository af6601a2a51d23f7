//! The checks behind [`super::lint`]: each family in its own module, all
//! working from one expansion of every statement's actions.

use std::collections::HashMap;

use super::{Code, Finding, PolicyKind, actions, conditions, escalation, redundant};
use crate::catalogue::Catalogue;
use crate::expand::{Expansion, statement_actions};
use crate::model::{Effect, Policy, Statement};

/// What every check may look at.
pub(super) struct Subject<'a> {
    pub policy: &'a Policy,
    pub kind: PolicyKind,
    pub cat: &'a Catalogue,
    /// The actions each statement grants or denies, by statement index.
    pub expansions: Vec<Expansion>,
}

impl Subject<'_> {
    /// Statements with their index and expansion.
    pub fn statements(&self) -> impl Iterator<Item = (usize, &Statement, &Expansion)> {
        self.policy
            .statements
            .iter()
            .zip(&self.expansions)
            .enumerate()
            .map(|(i, (s, e))| (i, s, e))
    }
}

/// Runs every check that applies to the policy kind.
pub(super) fn run(policy: &Policy, kind: PolicyKind, cat: &Catalogue, out: &mut Vec<Finding>) {
    let subject = Subject {
        policy,
        kind,
        cat,
        expansions: policy
            .statements
            .iter()
            .map(|s| statement_actions(cat, s))
            .collect(),
    };
    if policy.version.is_none() {
        out.push(finding(
            Code::MissingVersion,
            None,
            "the policy has no `Version`; add \"Version\": \"2012-10-17\" so policy variables work"
                .into(),
        ));
    }
    duplicate_sids(policy, out);
    for (index, statement, expansion) in subject.statements() {
        let at = (index, statement);
        negated_allows(statement, kind, at, out);
        admin_wildcard(statement, at, out);
        actions::unknown(cat, expansion, at, out);
        if kind != PolicyKind::Trust {
            actions::resources(&subject, expansion, at, out);
        }
        conditions::check(cat, expansion, at, out);
    }
    if kind == PolicyKind::Identity {
        escalation::check(&subject, out);
    }
    redundant::check(&subject, out);
}

/// A finding about a statement (`at`) or the whole policy (`None`).
pub(super) fn finding(code: Code, at: Option<(usize, &Statement)>, message: String) -> Finding {
    Finding {
        code,
        severity: code.severity(),
        message,
        statement: at.map(|(i, _)| i),
        sid: at.and_then(|(_, s)| s.sid.clone()),
    }
}

fn duplicate_sids(policy: &Policy, out: &mut Vec<Finding>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (index, statement) in policy.statements.iter().enumerate() {
        let Some(sid) = statement.sid.as_deref() else {
            continue;
        };
        if let Some(earlier) = first.get(sid) {
            out.push(finding(
                Code::DuplicateSid,
                Some((index, statement)),
                format!(
                    "`Sid` `{sid}` is already used by statement {earlier}; give each statement its own Sid"
                ),
            ));
        } else {
            first.insert(sid, index);
        }
    }
}

fn negated_allows(
    statement: &Statement,
    kind: PolicyKind,
    at: (usize, &Statement),
    out: &mut Vec<Finding>,
) {
    if statement.effect != Effect::Allow {
        return;
    }
    if statement.action.negated {
        out.push(finding(
            Code::AllowNotAction,
            Some(at),
            "Allow with `NotAction` grants every other action, also ones AWS adds later; list the actions to allow instead".into(),
        ));
    }
    if kind != PolicyKind::Trust && statement.resource.as_ref().is_some_and(|r| r.negated) {
        out.push(finding(
            Code::AllowNotResource,
            Some(at),
            "Allow with `NotResource` grants every other resource; list the resources to allow instead".into(),
        ));
    }
}

fn admin_wildcard(statement: &Statement, at: (usize, &Statement), out: &mut Vec<Finding>) {
    let all_actions =
        !statement.action.negated && statement.action_patterns().iter().any(|a| a == "*");
    let all_resources = statement
        .resource
        .as_ref()
        .is_some_and(|r| !r.negated && r.value.iter().any(|p| p == "*"));
    if statement.effect == Effect::Allow
        && all_actions
        && all_resources
        && statement.condition.is_none()
    {
        out.push(finding(
            Code::AdminWildcard,
            Some(at),
            "allows every action on every resource; grant only the actions and resources the principal needs".into(),
        ));
    }
}
