//! Policy evaluation: is this request allowed by these policies?
//!
//! Build an [`Evaluator`] once from a [`PolicySet`] (identity policies, and
//! optionally a resource policy, a permissions boundary, SCPs and a session
//! policy), then [`Evaluator::evaluate`] each [`Request`]. The [`Response`]
//! holds the [`Decision`], the statements that decided it, the layers that
//! lacked an `Allow`, and per-statement errors: a statement that cannot be
//! evaluated (a condition value that is not a date, ...) is skipped and
//! reported, as Cedar's authorizer does. Evaluation is pure: no I/O, no clock
//! (pass `aws:CurrentTime`/`aws:EpochTime` in the context). It does not use
//! the action catalogue: action patterns are matched against the request's
//! action with wildcards, case-insensitively.
//!
//! ```
//! use policies::Policy;
//! use policies::eval::{Caller, Context, Decision, Evaluator, PolicySet, Request};
//!
//! let policy = Policy::parse(r#"{"Version": "2012-10-17", "Statement": {
//!     "Sid": "Home", "Effect": "Allow", "Action": "s3:GetObject",
//!     "Resource": "arn:aws:s3:::home/${aws:username}/*",
//!     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}"#).unwrap();
//! let evaluator = Evaluator::new(&PolicySet { identity: vec![policy], ..PolicySet::default() });
//! let request = Request::new("s3:GetObject")
//!     .with_caller(Caller::parse("arn:aws:iam::111122223333:user/alice").unwrap())
//!     .with_resource("arn:aws:s3:::home/alice/notes.txt")
//!     .with_context(Context::from_entries(["aws:SourceIp=10.1.2.3"]).unwrap());
//! let response = evaluator.evaluate(&request);
//! assert_eq!(response.decision, Decision::Allow);
//! assert_eq!(response.determining[0].sid, Some("Home"));
//! ```
//!
//! # Rules
//!
//! A statement applies when its `Action`/`NotAction` matches the action
//! (wildcards, any case), its `Resource`/`NotResource` matches the resource
//! (see [`crate::arn::matches`]; a request without a resource is IAM's `*`,
//! matched only by `"*"`; no `Resource` element matches all), in a resource
//! policy its `Principal`/`NotPrincipal` names the caller, and every condition
//! holds (see [Conditions](#conditions)). Statements of the layers combine as
//! AWS's policy evaluation logic documents:
//!
//! 1. An applicable `Deny` in any layer: [`Decision::ExplicitDeny`].
//! 2. SCPs: every level of SCPs (root, OUs, account) must have an applicable
//!    `Allow` in one of its SCPs. SCPs apply to principals of an account, so
//!    not to service principals or federated identity providers calling.
//! 3. The identity side allows when an identity policy allows and the
//!    permissions boundary (if any) and the session policy (if any) allow too.
//!    An account's root user needs no identity policy and has no boundary.
//! 4. Cross-account (the caller's account and the resource's account are both
//!    known and differ): the identity side must allow **and** the resource
//!    policy must have an `Allow` naming the caller in any way.
//! 5. Same account (or either account unknown): the identity side allowing is
//!    enough, and so is a resource-policy `Allow`, depending on how its
//!    `Principal` names the caller:
//!    - the caller itself (an IAM user ARN, a role-session ARN, a federated
//!      user, a service, an identity provider) or `*`: allowed even where the
//!      identity policies, the boundary or the session policy have no `Allow`;
//!    - the role behind a role session (a role ARN): the boundary and the
//!      session policy must still allow (the identity policies need not);
//!    - the account (`123456789012`, `arn:aws:iam::123456789012:root`): this
//!      delegates to the account's identity policies, so the identity side
//!      must allow.
//! 6. For `kms:*` and `sts:AssumeRole*` actions, when a resource policy (key
//!    policy, trust policy) is given it must allow even in the same account;
//!    without one, the identity side is evaluated alone.
//!
//! Principals in a resource policy: `*` (`"*"` or `{"AWS": "*"}`) names every
//! caller, also anonymous ones; an account id or `arn:...:root` names every
//! principal of that account; a role ARN names the role's sessions; other
//! ARNs (users, sessions, federated users) match exactly; `Service` and
//! `Federated` names match a service or provider caller (case-insensitively for
//! services); `CanonicalUser` matches no caller. A resource-policy statement
//! with neither `Principal` nor `NotPrincipal` names no caller. `NotPrincipal`
//! applies to every caller it does not name, and, as AWS documents, a `Deny`
//! with `NotPrincipal` applies to every IAM principal that has a permissions
//! boundary, whatever it lists.
//!
//! # Conditions
//!
//! From the IAM User Guide's pages on condition operators and on multi-valued
//! keys:
//! - several operators, and several keys under one operator: all must hold
//!   (AND); several values for one key: any may match (OR); for a negated
//!   operator (`StringNotEquals`, `NotIpAddress`, ...) the request value must
//!   match none of them (NOR).
//! - a key absent from the request (or given an empty set of values): a plain
//!   operator is false, a negated one is true; `...IfExists` is true;
//!   `ForAllValues:` is true; `ForAnyValue:` is false; `Null` tests exactly
//!   this absence (`"true"` = absent).
//! - `ForAnyValue:` holds when at least one request value passes the test,
//!   `ForAllValues:` when every one does; the test of a negated operator is
//!   "matches none of the policy values". Without a qualifier a multi-valued
//!   key is read like `ForAnyValue:` for plain operators and as its exact
//!   negation ("no request value matches any policy value") for negated ones.
//! - key names are case-insensitive; `String*` values are case-sensitive
//!   except the `IgnoreCase` operators; ARNs are case-sensitive.
//! - policy variables are substituted in the values of `String*` and `Arn*`
//!   operators (see [`crate::variables`]); an unresolved value matches nothing.
//!
//! Not modelled: resource control policies (RCPs), VPC endpoint policies,
//! ACLs, the SCP exemptions of service-linked roles and management accounts,
//! AWS's requirement that a `NotPrincipal` list also name the session's
//! account and role to exclude a session, and service-specific quirks (S3
//! object ownership, KMS grants).

mod condition;
mod err;
mod request;
mod statement;
#[cfg(test)]
mod tests;
pub(crate) mod value;

pub use err::{CallerError, ContextError, EvalError};
pub use request::{Caller, CallerKind, Context, Request, Value};

use std::fmt;

use statement::{CompiledStatement, Grant, Outcome, Scope};

use crate::model::{Effect, Policy};

/// The policies that apply to a request, by layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    /// Identity-based policies: inline and managed, of the user or role and
    /// of the user's groups.
    pub identity: Vec<Policy>,
    /// The resource-based policy (bucket policy, key policy, trust policy...).
    pub resource: Option<Policy>,
    /// The permissions boundary of the user or role.
    pub permissions_boundary: Option<Policy>,
    /// Service control policies, by level of the organization: one list per
    /// level (the root, each OU down the path, the account), holding the SCPs
    /// attached there. Every level must allow; within a level, any SCP may.
    pub scps: Vec<Vec<Policy>>,
    /// The session policy of a role or federated-user session.
    pub session: Option<Policy>,
}

/// The kinds of policy, as layers of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Identity-based policies.
    Identity,
    /// The resource-based policy.
    Resource,
    /// The permissions boundary.
    PermissionsBoundary,
    /// A service control policy.
    Scp,
    /// The session policy.
    Session,
}

impl Layer {
    /// A short name, e.g. `identity` or `SCP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Identity => "identity",
            Layer::Resource => "resource",
            Layer::PermissionsBoundary => "permissions boundary",
            Layer::Scp => "SCP",
            Layer::Session => "session",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Denied by an applicable `Deny` statement.
    ExplicitDeny,
    /// Denied because the layers that must allow did not.
    ImplicitDeny,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        })
    }
}

/// One statement of the policy set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef<'e> {
    /// Its layer.
    pub layer: Layer,
    /// The policy's position in its layer: in the list of identity policies,
    /// or in the list of all SCPs taken level by level; 0 for the
    /// single-policy layers.
    pub policy: usize,
    /// The statement's position in its policy.
    pub statement: usize,
    /// Its `Sid`, if it has one.
    pub sid: Option<&'e str>,
}

impl fmt::Display for StatementRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layer {
            Layer::Identity | Layer::Scp => write!(f, "{} policy {}", self.layer, self.policy)?,
            _ => write!(f, "{} policy", self.layer)?,
        }
        write!(f, ", statement {}", self.statement)?;
        if let Some(sid) = self.sid {
            write!(f, " (`{sid}`)")?;
        }
        Ok(())
    }
}

/// A layer, or one level of SCPs, that had no applicable `Allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyRef {
    /// The layer.
    pub layer: Layer,
    /// For SCPs, the level (the position in [`PolicySet::scps`]); `None` for
    /// the other layers.
    pub level: Option<usize>,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.layer, self.level) {
            (Layer::Identity, _) => f.write_str("identity policies"),
            (layer, Some(i)) => write!(f, "{layer} level {i}"),
            (layer, None) => write!(f, "{layer} policy"),
        }
    }
}

/// A statement skipped because it could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError<'e> {
    /// The statement.
    pub statement: StatementRef<'e>,
    /// What went wrong.
    pub error: EvalError,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'e> {
    /// Allowed or not.
    pub decision: Decision,
    /// For `ExplicitDeny`, the applicable `Deny` statements; for `Allow`, the
    /// `Allow` statements of the layers that granted; empty for `ImplicitDeny`.
    pub determining: Vec<StatementRef<'e>>,
    /// For `ImplicitDeny`, the layers (and SCPs) that had no applicable `Allow`.
    pub missing: Vec<PolicyRef>,
    /// Statements skipped because they could not be evaluated.
    pub errors: Vec<StatementError<'e>>,
}

#[derive(Debug, Clone)]
struct CompiledPolicy {
    layer: Layer,
    index: usize,
    statements: Vec<CompiledStatement>,
}

/// A policy set compiled for fast evaluation of many requests.
#[derive(Debug, Clone)]
pub struct Evaluator {
    policies: Vec<CompiledPolicy>,
    has_resource: bool,
    has_boundary: bool,
    has_session: bool,
    scp_levels: usize,
    /// The level of each SCP, by its position in the flattened list.
    scp_level_of: Vec<usize>,
}

impl Evaluator {
    /// Compiles the policies. Never fails: a statement that cannot be
    /// compiled is reported each time it would apply.
    pub fn new(set: &PolicySet) -> Evaluator {
        let mut policies = Vec::new();
        let mut add = |layer, index, policy: &Policy| {
            policies.push(CompiledPolicy {
                layer,
                index,
                statements: policy
                    .statements
                    .iter()
                    .map(|s| CompiledStatement::compile(s, policy.version))
                    .collect(),
            });
        };
        for (i, policy) in set.identity.iter().enumerate() {
            add(Layer::Identity, i, policy);
        }
        for (layer, policy) in [
            (Layer::Resource, &set.resource),
            (Layer::PermissionsBoundary, &set.permissions_boundary),
            (Layer::Session, &set.session),
        ] {
            if let Some(policy) = policy {
                add(layer, 0, policy);
            }
        }
        let scps = set
            .scps
            .iter()
            .enumerate()
            .flat_map(|(level, policies)| policies.iter().map(move |p| (level, p)));
        let mut scp_level_of = Vec::new();
        for (i, (level, policy)) in scps.enumerate() {
            add(Layer::Scp, i, policy);
            scp_level_of.push(level);
        }
        Evaluator {
            policies,
            has_resource: set.resource.is_some(),
            has_boundary: set.permissions_boundary.is_some(),
            has_session: set.session.is_some(),
            scp_levels: set.scps.len(),
            scp_level_of,
        }
    }

    /// Evaluates one request.
    pub fn evaluate(&self, request: &Request) -> Response<'_> {
        let scps_apply = request.caller().is_none_or(Caller::is_account_principal);
        let resource = request.resource().unwrap_or("*");
        let mut denies = Vec::new();
        let mut allows = Vec::new();
        let mut grant = None;
        let mut errors = Vec::new();
        for policy in &self.policies {
            if policy.layer == Layer::Scp && !scps_apply {
                continue;
            }
            let scope = Scope {
                principal: policy.layer == Layer::Resource,
                has_boundary: self.has_boundary,
            };
            for (i, statement) in policy.statements.iter().enumerate() {
                let at = || StatementRef {
                    layer: policy.layer,
                    policy: policy.index,
                    statement: i,
                    sid: statement.sid.as_deref(),
                };
                match statement.check(request, resource, &scope) {
                    Outcome::Skip => {}
                    Outcome::Applies(_) if statement.effect == Effect::Deny => denies.push(at()),
                    Outcome::Applies(how) => {
                        if policy.layer == Layer::Resource {
                            grant = grant.max(Some(how));
                        }
                        allows.push(at());
                    }
                    Outcome::Error(error) => errors.push(StatementError {
                        statement: at(),
                        error,
                    }),
                }
            }
        }
        if !denies.is_empty() {
            return Response {
                decision: Decision::ExplicitDeny,
                determining: denies,
                missing: Vec::new(),
                errors,
            };
        }
        self.combine(request, scps_apply, allows, grant, errors)
    }

    /// Steps 2 to 6 of the rules, once no `Deny` applies.
    fn combine<'e>(
        &self,
        request: &Request,
        scps_apply: bool,
        mut allows: Vec<StatementRef<'e>>,
        grant: Option<Grant>,
        errors: Vec<StatementError<'e>>,
    ) -> Response<'e> {
        let has = |layer: Layer| allows.iter().any(|at| at.layer == layer);
        let caller = request.caller();
        let root = caller.is_some_and(|c| c.kind() == CallerKind::Root);
        let identity = root || has(Layer::Identity);
        let boundary = root || !self.has_boundary || has(Layer::PermissionsBoundary);
        let session = root || !self.has_session || has(Layer::Session);
        let identity_side = identity && boundary && session;
        let missing_scps: Vec<usize> = (0..self.scp_levels)
            .filter(|&level| {
                scps_apply
                    && !allows.iter().any(|at| {
                        at.layer == Layer::Scp && self.scp_level_of.get(at.policy) == Some(&level)
                    })
            })
            .collect();
        let cross_account = matches!(
            (caller.and_then(Caller::account), request.resource_owner()),
            (Some(a), Some(b)) if a != b
        );

        // Which layers' Allow statements grant the request.
        let (use_identity, use_limits, use_resource) = if cross_account {
            let granted = identity_side && grant.is_some();
            (granted, granted, granted)
        } else {
            let via_resource = match grant {
                Some(Grant::Direct) => true,
                Some(Grant::Role) => boundary && session,
                Some(Grant::Account) => identity_side,
                None => false,
            };
            let resource_required = self.has_resource && resource_policy_required(request.action());
            let via_identity = identity_side && !resource_required;
            (
                via_identity || (via_resource && grant == Some(Grant::Account)),
                via_identity || (via_resource && grant != Some(Grant::Direct)),
                via_resource,
            )
        };
        let granted = (use_identity || use_resource) && missing_scps.is_empty();
        if granted {
            let used = |layer| match layer {
                Layer::Identity => use_identity,
                Layer::PermissionsBoundary | Layer::Session => use_limits,
                Layer::Resource => use_resource,
                Layer::Scp => true,
            };
            allows.retain(|at| used(at.layer));
            return Response {
                decision: Decision::Allow,
                determining: allows,
                missing: Vec::new(),
                errors,
            };
        }
        let mut missing = Vec::new();
        let whole = |layer| PolicyRef { layer, level: None };
        if !identity {
            missing.push(whole(Layer::Identity));
        }
        if (self.has_resource || cross_account) && grant.is_none() {
            missing.push(whole(Layer::Resource));
        }
        if !boundary {
            missing.push(whole(Layer::PermissionsBoundary));
        }
        missing.extend(missing_scps.into_iter().map(|level| PolicyRef {
            layer: Layer::Scp,
            level: Some(level),
        }));
        if !session {
            missing.push(whole(Layer::Session));
        }
        Response {
            decision: Decision::ImplicitDeny,
            determining: Vec::new(),
            missing,
            errors,
        }
    }
}

/// Actions whose resource policy must allow even in the same account: KMS
/// key policies and role trust policies.
fn resource_policy_required(action: &str) -> bool {
    let starts = |prefix: &str| {
        action
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    starts("kms:") || starts("sts:AssumeRole")
}
