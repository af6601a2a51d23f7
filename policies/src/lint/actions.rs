//! Checks on what a statement's actions are and which resources they can take.

use super::checks::{Subject, finding};
use super::{Code, Finding, PolicyKind};
use crate::catalogue::{Action, Catalogue};
use crate::expand::{Expansion, Reason};
use crate::glob::{has_wildcard, overlap, placeholders_as_star};
use crate::model::{Effect, Statement};

/// How many action names a message lists before it says "and N more".
const LISTED: usize = 5;

/// `unknown-service` and `unknown-action`: patterns that match no catalogue action.
pub(super) fn unknown(
    cat: &Catalogue,
    expansion: &Expansion,
    at: (usize, &Statement),
    out: &mut Vec<Finding>,
) {
    for miss in &expansion.unmatched {
        let pattern = &miss.pattern;
        let (code, message) = match miss.reason {
            Reason::UnknownService => {
                let service = pattern.split_once(':').map_or(pattern.as_str(), |(s, _)| s);
                (
                    Code::UnknownService,
                    format!(
                        "`{pattern}`: there is no AWS service with prefix `{service}`; check the spelling (actions are written `service:Action`)"
                    ),
                )
            }
            Reason::UnknownAction => (
                Code::UnknownAction,
                format!(
                    "`{pattern}` matches no action of `{}`; check the spelling against the service's actions ({})",
                    pattern.split_once(':').map_or("", |(s, _)| s),
                    suggestion(cat, pattern)
                ),
            ),
            Reason::NoMatch => (
                Code::UnknownAction,
                format!("`{pattern}` matches no known AWS action; check the spelling"),
            ),
        };
        out.push(finding(code, Some(at), message));
    }
}

/// The service's action closest in name to a misspelt one, as a hint.
fn suggestion(cat: &Catalogue, pattern: &str) -> String {
    let Some((service, name)) = pattern.split_once(':') else {
        return "see `policies expand 'SERVICE:*'`".into();
    };
    let Some(service) = cat.service(service) else {
        return "see `policies expand 'SERVICE:*'`".into();
    };
    let lower = name.to_ascii_lowercase();
    service
        .actions()
        .map(|a| (edit_distance(&lower, &a.name().to_ascii_lowercase()), a))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 3)
        .map_or_else(
            || format!("`policies expand '{}:*'` lists them", service.prefix()),
            |(_, a)| format!("did you mean `{a}`?"),
        )
}

/// Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// `resource-mismatch` and `resource-star` for a statement with a `Resource`.
pub(super) fn resources(
    subject: &Subject<'_>,
    expansion: &Expansion,
    at: (usize, &Statement),
    out: &mut Vec<Finding>,
) {
    let statement = at.1;
    let Some(resource) = statement.resource.as_ref().filter(|r| !r.negated) else {
        return;
    };
    let patterns = resource.value.as_slice();
    let star = patterns.iter().any(|p| p == "*");
    let actions = || {
        expansion
            .actions
            .iter()
            .filter_map(|id| subject.cat.get(id))
    };
    if star {
        if subject.kind == PolicyKind::Identity
            && statement.effect == Effect::Allow
            && !statement.action.negated
            && !statement.action_patterns().iter().any(|p| p == "*")
        {
            let scopable: Vec<String> = actions()
                .filter(|a| a.resource_types().len() > 0)
                .map(|a| a.to_string())
                .collect();
            if !scopable.is_empty() {
                out.push(finding(
                    Code::ResourceStar,
                    Some(at),
                    format!(
                        "`Resource: \"*\"` with actions that can be scoped to named resources ({}); list the ARNs they need",
                        listing(&scopable)
                    ),
                ));
            }
        }
        return;
    }
    // A resource no action of the statement can act on.
    for pattern in patterns {
        let fits = actions().any(|a| action_takes(a, pattern));
        if !fits && !expansion.actions.is_empty() {
            out.push(finding(
                Code::ResourceMismatch,
                Some(at),
                format!(
                    "`{pattern}` matches no resource type of the statement's actions, so it grants nothing; check it against the ARN formats (`policies expand` shows the actions)"
                ),
            ));
        }
    }
    // Actions named literally that none of the resources fit.
    let literal: Vec<String> = statement
        .action_patterns()
        .iter()
        .filter(|p| !has_wildcard(p) && !statement.action.negated)
        .filter_map(|p| subject.cat.action(p))
        .filter(|a| !patterns.iter().any(|r| action_takes(*a, r)))
        .map(|a| {
            let formats: Vec<&str> = a
                .resource_types()
                .map(|r| r.resource_type().arn())
                .collect();
            if formats.is_empty() {
                format!("{a} (takes only `\"*\"`)")
            } else {
                format!("{a} (takes {})", formats.join(" or "))
            }
        })
        .collect();
    if !literal.is_empty() {
        out.push(finding(
            Code::ResourceMismatch,
            Some(at),
            format!(
                "no listed resource fits {}; add a resource of the right type or move the action to its own statement",
                listing(&literal)
            ),
        ));
    }
}

/// Whether an action can act on resources matching `pattern`: some ARN
/// format of its resource types overlaps it. Actions without resource types
/// take only `*`.
fn action_takes(action: Action<'_>, pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern = placeholders_as_star(pattern);
    action
        .resource_types()
        .any(|r| overlap(&placeholders_as_star(r.resource_type().arn()), &pattern))
}

/// A short list of names for a message.
pub(super) fn listing(names: &[String]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > LISTED {
        format!("{} and {} more", shown.join(", "), names.len() - LISTED)
    } else {
        shown.join(", ")
    }
}
