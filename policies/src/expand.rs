//! Action patterns to the exact set of catalogue actions they grant.
//!
//! IAM matches an `Action` entry against `prefix:Name` with `*` and `?`
//! wildcards, ignoring ASCII case (see [`glob`](crate::glob)); `NotAction`
//! grants every action none of its entries match. [`expand`] and
//! [`expand_not`] compute those sets against a [`Catalogue`], and report the
//! entries that match no catalogue action (typos, retired or invented
//! actions, unknown services) so a linter can flag them.
//!
//! ```
//! use policies::catalogue::Catalogue;
//! use policies::expand::{expand, Reason};
//! let cat = Catalogue::builtin();
//! let got = expand(cat, ["s3:GetObject*", "s3:NoSuchThing", "nosvc:*"]);
//! assert!(got.actions.contains(cat.action_id("s3:GetObjectTagging").unwrap()));
//! assert_eq!(got.unmatched[0].reason, Reason::UnknownAction);
//! assert_eq!(got.unmatched[1].reason, Reason::UnknownService);
//! ```
//!
//! A pattern whose service part is literal (`s3:...`) only looks at that
//! service, one with a wildcard service part matches service prefixes first;
//! `*` and `svc:*` are filled as ranges of ids without matching.

use crate::catalogue::{ActionSet, Catalogue, Service};
use crate::glob::{Case, has_wildcard, matches};
use crate::model::Statement;

/// What a list of patterns grants, and which patterns matched nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expansion {
    /// The catalogue actions granted.
    pub actions: ActionSet,
    /// The patterns that matched no catalogue action, in input order.
    pub unmatched: Vec<Unmatched>,
}

/// A pattern that matched no catalogue action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The pattern as given.
    pub pattern: String,
    /// Why it matched nothing.
    pub reason: Reason,
}

/// Why a pattern matched no catalogue action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The part before `:` has no wildcard and names no known service
    /// (also a pattern with neither `:` nor wildcard, e.g. `GetObject`).
    UnknownService,
    /// The service is known but none of its actions matches.
    UnknownAction,
    /// The service part has a wildcard and nothing matched anywhere.
    NoMatch,
}

impl Reason {
    /// A short description for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnknownService => "unknown service",
            Reason::UnknownAction => "no such action in the service",
            Reason::NoMatch => "matches no known action",
        }
    }
}

/// The actions any of `patterns` match (an `Action` element).
pub fn expand<I, S>(cat: &Catalogue, patterns: I) -> Expansion
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = Expansion::default();
    for pattern in patterns {
        let pattern = pattern.as_ref();
        if let Err(reason) = expand_pattern(cat, pattern, &mut out.actions) {
            out.unmatched.push(Unmatched {
                pattern: pattern.to_owned(),
                reason,
            });
        }
    }
    out
}

/// The actions none of `patterns` match (a `NotAction` element); the
/// patterns that match nothing are reported as for [`expand`].
pub fn expand_not<I, S>(cat: &Catalogue, patterns: I) -> Expansion
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let excluded = expand(cat, patterns);
    let mut actions = ActionSet::all(cat.action_count());
    actions.subtract(&excluded.actions);
    Expansion {
        actions,
        unmatched: excluded.unmatched,
    }
}

/// The actions a statement's `Action` or `NotAction` grants.
pub fn statement_actions(cat: &Catalogue, statement: &Statement) -> Expansion {
    let patterns = statement.action.value.iter();
    if statement.action.negated {
        expand_not(cat, patterns)
    } else {
        expand(cat, patterns)
    }
}

/// Adds the actions `pattern` matches to `into`, or says why it matches none.
pub fn expand_pattern(cat: &Catalogue, pattern: &str, into: &mut ActionSet) -> Result<(), Reason> {
    if pattern.bytes().all(|b| b == b'*') && !pattern.is_empty() {
        if cat.action_count() == 0 {
            return Err(Reason::NoMatch);
        }
        into.insert_range(0..cat.action_count());
        return Ok(());
    }
    let Some((service_part, name_part)) = pattern.split_once(':') else {
        return if has_wildcard(pattern) {
            expand_spanning(cat, pattern, into)
        } else if cat.service(pattern).is_some() {
            Err(Reason::UnknownAction)
        } else {
            Err(Reason::UnknownService)
        };
    };
    if !has_wildcard(service_part) {
        let service = cat.service(service_part).ok_or(Reason::UnknownService)?;
        return if add_from_service(service, name_part, into) {
            Ok(())
        } else {
            Err(Reason::UnknownAction)
        };
    }
    // `prefix:Name` has exactly one `:` and neither part can hold one, so the
    // pattern's `:` must meet it: each part matches on its own, and a second
    // `:` in the pattern can never match.
    if name_part.contains(':') {
        return Err(Reason::NoMatch);
    }
    let mut found = false;
    for service in cat.services() {
        if matches(service_part, service.prefix(), Case::Insensitive) {
            found |= add_from_service(service, name_part, into);
        }
    }
    if found { Ok(()) } else { Err(Reason::NoMatch) }
}

/// A pattern without `:` but with a wildcard, which may stand for the
/// `:` itself (`s3*`, `*Object*`): matched against whole `prefix:Name`
/// strings of the services its literal start allows.
fn expand_spanning(cat: &Catalogue, pattern: &str, into: &mut ActionSet) -> Result<(), Reason> {
    let lead = pattern
        .find(['*', '?'])
        .and_then(|i| pattern.get(..i))
        .unwrap_or(pattern);
    let mut full = String::new();
    let mut found = false;
    for service in cat.services() {
        let prefix = service.prefix();
        if !lead_fits(lead, prefix) {
            continue;
        }
        for action in service.actions() {
            full.clear();
            full.push_str(prefix);
            full.push(':');
            full.push_str(action.name());
            if matches(pattern, &full, Case::Insensitive) {
                into.insert(action.id());
                found = true;
            }
        }
    }
    if found { Ok(()) } else { Err(Reason::NoMatch) }
}

/// Adds the actions of `service` whose name matches `name` (the pattern
/// after `prefix:`); true if any did.
fn add_from_service(service: Service<'_>, name: &str, into: &mut ActionSet) -> bool {
    if !has_wildcard(name) {
        return match service.action(name) {
            Some(action) => {
                into.insert(action.id());
                true
            }
            None => false,
        };
    }
    let range = service.action_range();
    if name.bytes().all(|b| b == b'*') {
        let any = !range.is_empty();
        into.insert_range(range);
        return any;
    }
    let mut found = false;
    for action in service.actions() {
        if matches(name, action.name(), Case::Insensitive) {
            into.insert(action.id());
            found = true;
        }
    }
    found
}

/// Whether some `prefix:...` string can start with `lead` (ignoring case).
fn lead_fits(lead: &str, prefix: &str) -> bool {
    let lead = lead.as_bytes();
    let full = prefix.bytes().chain(std::iter::once(b':'));
    lead.iter()
        .zip(full)
        .all(|(a, b)| a.eq_ignore_ascii_case(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> &'static Catalogue {
        Catalogue::try_builtin().unwrap()
    }

    fn names(set: &ActionSet) -> Vec<String> {
        set.iter()
            .map(|id| cat().get(id).unwrap().to_string())
            .collect()
    }

    #[test]
    fn star_and_service_star() {
        let all = expand(cat(), ["*"]);
        assert_eq!(all.actions.len(), cat().action_count());
        assert!(all.unmatched.is_empty());
        let s3 = expand(cat(), ["S3:*"]);
        assert_eq!(
            s3.actions.len(),
            cat().service("s3").unwrap().actions().len()
        );
        assert!(names(&s3.actions).iter().all(|n| n.starts_with("s3:")));
    }

    #[test]
    fn literal_and_wildcards() {
        let one = expand(cat(), ["s3:getobject"]);
        assert_eq!(names(&one.actions), ["s3:GetObject"]);
        let gets = expand(cat(), ["s3:Get*"]);
        assert!(gets.actions.len() > 20);
        assert!(names(&gets.actions).iter().all(|n| n.starts_with("s3:Get")));
        let objects = expand(cat(), ["s3:*Object*"]);
        assert!(names(&objects.actions).contains(&"s3:PutObjectAcl".to_owned()));
        assert!(!names(&objects.actions).contains(&"s3:ListBucket".to_owned()));
        let q = expand(cat(), ["iam:PassRol?"]);
        assert_eq!(names(&q.actions), ["iam:PassRole"]);
        // Wildcards in the service part.
        let across = expand(cat(), ["s3*:GetObject"]);
        assert!(names(&across.actions).contains(&"s3:GetObject".to_owned()));
        assert!(names(&across.actions).iter().all(|n| n.starts_with("s3")));
        let everywhere = expand(cat(), ["*:PassRole"]);
        assert!(names(&everywhere.actions).contains(&"iam:PassRole".to_owned()));
    }

    #[test]
    fn unmatched_reasons() {
        let got = expand(
            cat(),
            [
                "nosvc:Get*",
                "s3:NoSuch",
                "s3",
                "GetObject",
                "*:NoSuchAction*",
                "s3:GetObject",
            ],
        );
        let reasons: Vec<_> = got
            .unmatched
            .iter()
            .map(|u| (u.pattern.as_str(), u.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("nosvc:Get*", Reason::UnknownService),
                ("s3:NoSuch", Reason::UnknownAction),
                ("s3", Reason::UnknownAction),
                ("GetObject", Reason::UnknownService),
                ("*:NoSuchAction*", Reason::NoMatch),
            ]
        );
        assert_eq!(got.actions.len(), 1);
    }

    #[test]
    fn not_action_is_the_complement() {
        let not = expand_not(cat(), ["s3:*", "iam:*", "bogus:x"]);
        let s3 = cat().service("s3").unwrap().actions().len();
        let iam = cat().service("iam").unwrap().actions().len();
        assert_eq!(not.actions.len(), cat().action_count() - s3 - iam);
        assert!(
            !not.actions
                .contains(cat().action_id("iam:PassRole").unwrap())
        );
        assert!(
            not.actions
                .contains(cat().action_id("ec2:RunInstances").unwrap())
        );
        assert_eq!(not.unmatched.len(), 1);
    }

    #[test]
    fn from_statements() {
        let policy = crate::Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"},
                {"Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}"#,
        )
        .unwrap();
        let statements = policy.statements.as_slice();
        assert_eq!(statement_actions(cat(), &statements[0]).actions.len(), 2);
        let not = statement_actions(cat(), &statements[1]);
        assert!(
            !not.actions
                .contains(cat().action_id("s3:GetObject").unwrap())
        );
        assert!(
            not.actions
                .contains(cat().action_id("iam:PassRole").unwrap())
        );
    }
}
