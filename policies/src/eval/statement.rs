//! Statements compiled for evaluation: action, resource and principal
//! matchers, condition tests, and any error found while compiling.

use super::condition::Test;
use super::err::EvalError;
use super::request::{Caller, CallerKind, Request};
use crate::arn::{self, Arn};
use crate::glob::{self, Case};
use crate::model::{Effect, Principal, PrincipalKind, Statement, Version};
use crate::variables::Template;

/// How a resource-policy statement named the caller, weakest first: the
/// caller's account, the role behind the caller's session, or the caller
/// itself (its own ARN, its service or provider name, or `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Grant {
    /// `"AWS": "123456789012"` or `arn:aws:iam::123456789012:root`.
    Account,
    /// A role ARN, matching the sessions of that role.
    Role,
    /// The caller itself.
    Direct,
}

/// What a statement says about a request.
pub(super) enum Outcome {
    /// It does not apply.
    Skip,
    /// It applies; for a resource-policy statement, with how it named the caller.
    Applies(Grant),
    /// It would apply but cannot be evaluated.
    Error(EvalError),
}

/// Where a statement is evaluated.
pub(super) struct Scope {
    /// Resource policies: the statement must name the caller.
    pub(super) principal: bool,
    /// The caller has a permissions boundary.
    pub(super) has_boundary: bool,
}

#[derive(Debug, Clone)]
pub(super) struct CompiledStatement {
    pub(super) sid: Option<String>,
    pub(super) effect: Effect,
    actions: Vec<ActionPattern>,
    not_action: bool,
    resources: Option<(Vec<ResourcePattern>, bool)>,
    principals: Option<(Vec<PrincipalId>, bool)>,
    tests: Vec<Test>,
    error: Option<EvalError>,
}

#[derive(Debug, Clone)]
enum ActionPattern {
    Any,
    Exact(String),
    Wildcard(String),
}

#[derive(Debug, Clone)]
enum ResourcePattern {
    Any,
    Fixed(String),
    Variable(Template),
}

#[derive(Debug, Clone)]
enum PrincipalId {
    Everyone,
    Account(String),
    Role(String),
    Arn(String),
    Service(String),
    Federated(String),
    Nobody,
}

impl CompiledStatement {
    pub(super) fn compile(statement: &Statement, version: Option<Version>) -> CompiledStatement {
        let actions = statement
            .action_patterns()
            .iter()
            .map(|p| {
                if p == "*" {
                    ActionPattern::Any
                } else if glob::has_wildcard(p) {
                    ActionPattern::Wildcard(p.clone())
                } else {
                    ActionPattern::Exact(p.clone())
                }
            })
            .collect();
        let resources = statement.resource.as_ref().map(|r| {
            let patterns = r
                .value
                .iter()
                .map(|p| {
                    let template = Template::new(p, version);
                    if p == "*" {
                        ResourcePattern::Any
                    } else if template.has_variables() {
                        ResourcePattern::Variable(template)
                    } else {
                        ResourcePattern::Fixed(p.clone())
                    }
                })
                .collect();
            (patterns, r.negated)
        });
        let principals = statement
            .principal
            .as_ref()
            .map(|p| (principal_ids(&p.value), p.negated));
        let mut tests = Vec::new();
        let mut error = None;
        for (operator, key, values) in statement.conditions() {
            match Test::compile(*operator, key, values, version) {
                Ok(test) => tests.push(test),
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        CompiledStatement {
            sid: statement.sid.clone(),
            effect: statement.effect,
            actions,
            not_action: statement.action.negated,
            resources,
            principals,
            tests,
            error,
        }
    }

    /// Whether the statement applies to the request. `resource` is the
    /// request's resource, or `*` when it has none.
    pub(super) fn check(&self, request: &Request, resource: &str, scope: &Scope) -> Outcome {
        let action = request.action();
        if self.actions.iter().any(|p| p.matches(action)) == self.not_action {
            return Outcome::Skip;
        }
        if let Some((patterns, negated)) = &self.resources
            && patterns.iter().any(|p| p.matches(resource, request)) == *negated
        {
            return Outcome::Skip;
        }
        let grant = if scope.principal {
            match self.grant(request.caller(), scope.has_boundary) {
                Some(grant) => grant,
                None => return Outcome::Skip,
            }
        } else {
            Grant::Direct
        };
        if let Some(error) = &self.error {
            return Outcome::Error(error.clone());
        }
        for test in &self.tests {
            match test.holds(request) {
                Ok(true) => {}
                Ok(false) => return Outcome::Skip,
                Err(error) => return Outcome::Error(error),
            }
        }
        Outcome::Applies(grant)
    }

    /// How `Principal`/`NotPrincipal` names the caller; `None` when the
    /// statement does not apply to it.
    fn grant(&self, caller: Option<&Caller>, has_boundary: bool) -> Option<Grant> {
        let (ids, negated) = self.principals.as_ref()?;
        if !negated {
            return ids.iter().filter_map(|id| id.grant(caller)).max();
        }
        // AWS documents that a Deny with NotPrincipal always applies to IAM
        // principals that have a permissions boundary, whatever it lists.
        let bounded = has_boundary && caller.is_some_and(Caller::is_account_principal);
        let listed = ids.iter().any(|id| id.grant(caller).is_some());
        (!listed || (bounded && self.effect == Effect::Deny)).then_some(Grant::Direct)
    }
}

impl ActionPattern {
    fn matches(&self, action: &str) -> bool {
        match self {
            ActionPattern::Any => true,
            ActionPattern::Exact(p) => p.eq_ignore_ascii_case(action),
            ActionPattern::Wildcard(p) => glob::matches(p, action, Case::Insensitive),
        }
    }
}

impl ResourcePattern {
    fn matches(&self, resource: &str, request: &Request) -> bool {
        match self {
            ResourcePattern::Any => true,
            ResourcePattern::Fixed(p) => arn::matches(p, resource),
            ResourcePattern::Variable(t) => t
                .resolve_pattern(request)
                .is_some_and(|p| p.matches_arn(resource)),
        }
    }
}

fn principal_ids(principal: &Principal) -> Vec<PrincipalId> {
    principal
        .identifiers()
        .into_iter()
        .map(|(kind, id)| match kind {
            PrincipalKind::Aws => aws_principal(id),
            PrincipalKind::Service => PrincipalId::Service(id.to_owned()),
            PrincipalKind::Federated => PrincipalId::Federated(id.to_owned()),
            PrincipalKind::CanonicalUser => PrincipalId::Nobody,
        })
        .collect()
}

fn aws_principal(id: &str) -> PrincipalId {
    if id == "*" {
        return PrincipalId::Everyone;
    }
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        return PrincipalId::Account(id.to_owned());
    }
    match Arn::parse(id) {
        Ok(arn) if arn.service == "iam" && arn.resource == "root" => {
            PrincipalId::Account(arn.account)
        }
        Ok(arn) if arn.service == "iam" && arn.resource.starts_with("role/") => {
            PrincipalId::Role(id.to_owned())
        }
        // Users, sessions, and unique ids (left by deleted principals, which
        // match no caller).
        _ => PrincipalId::Arn(id.to_owned()),
    }
}

impl PrincipalId {
    fn grant(&self, caller: Option<&Caller>) -> Option<Grant> {
        match self {
            PrincipalId::Everyone => Some(Grant::Direct),
            PrincipalId::Nobody => None,
            PrincipalId::Account(account) => caller
                .filter(|c| c.is_account_principal() && c.account() == Some(account.as_str()))
                .map(|_| Grant::Account),
            PrincipalId::Role(arn) => caller
                .filter(|c| c.role_arn() == Some(arn.as_str()))
                .map(|_| Grant::Role),
            PrincipalId::Arn(arn) => caller
                .filter(|c| c.is_account_principal() && c.id() == arn)
                .map(|_| Grant::Direct),
            PrincipalId::Service(name) => caller
                .filter(|c| {
                    c.kind() == CallerKind::Service
                        && (name == "*" || c.id().eq_ignore_ascii_case(name))
                })
                .map(|_| Grant::Direct),
            PrincipalId::Federated(provider) => caller
                .filter(|c| {
                    c.kind() == CallerKind::Federated && (provider == "*" || c.id() == provider)
                })
                .map(|_| Grant::Direct),
        }
    }
}
