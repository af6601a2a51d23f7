//! Who a resource policy or a role trust policy lets in.
//!
//! [`analyze`] reads the `Allow` statements of a policy attached to a resource
//! (bucket, key, queue, topic...) or a role's trust policy, and answers per
//! statement and overall: which principals are named, how each one relates to
//! the owning account ([`Class`]), which conditions narrow them, and whether
//! anyone on the internet gets in.
//!
//! # Rules
//! - **Principals.** `"*"` and `{"AWS": "*"}` are anyone ([`Class::Any`]). A
//!   12-digit id or an ARN names an account, classed as the owner's own, a
//!   friendly account, or a third party. `Service` principals are
//!   [`Class::Service`], `Federated` providers [`Class::Federated`],
//!   `CanonicalUser` ids and anything unreadable [`Class::Unknown`].
//!   `NotPrincipal` with `Allow` is anyone except those listed.
//! - **Narrowing conditions.** An Allow condition narrows when it requires one
//!   of `aws:SourceAccount`, `aws:SourceOwner`, `aws:PrincipalAccount`,
//!   `kms:CallerAccount`, `aws:SourceArn`, `aws:PrincipalArn`,
//!   `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:SourceIp`,
//!   `aws:SourceVpc` or `aws:SourceVpce` to match values that pin something
//!   down (no bare wildcards, no `0.0.0.0/0`), with `StringEquals`,
//!   `StringEqualsIgnoreCase`, `StringLike`, `ArnEquals`, `ArnLike` or
//!   `IpAddress`, optionally `ForAnyValue:`. `...IfExists`, `ForAllValues:`
//!   and negated operators do not narrow: requests without the key pass.
//!   `sts:ExternalId` is noted, never counted as narrowing.
//! - **Deny statements.** A Deny takes an Allow statement away only when it
//!   clearly covers it: its principal is `"*"` or lists every principal of the
//!   Allow (`{"AWS": "*"}` is read as covering every principal but services), its `Action` patterns match every action pattern of the Allow
//!   (a `NotAction` Allow needs `*`), and likewise its `Resource` patterns.
//!   Such a Deny without a condition removes the statement (`denied_by`).
//!   Such a Deny whose only condition is one negated test of a narrowing key
//!   ("deny unless `aws:SourceVpce` is ...") narrows the statement by those
//!   values (`narrowed_by`): negated operators hold when the key is absent, so
//!   callers without the key are denied too. Any other Deny is ignored, which
//!   can only overstate exposure, never hide it.
//! - **Reach.** After narrowing, an `Any` principal reaches the classes of
//!   the narrowing accounts, else the organization ([`Class::Organization`]
//!   when it is the owner's), else [`Class::Unknown`] when only networks or
//!   single resources narrow it, else [`Class::Any`]. A service principal
//!   also reaches the accounts its source conditions name.
//!   `internet_accessible` is an `Any` principal with no narrowing at all.

mod narrowing;

use std::collections::BTreeSet;

use ipnet::IpNet;
use serde::{Serialize, Serializer};

use crate::arn::Arn;
use crate::glob::{self, Case};
use crate::model::{Negatable, Principal, PrincipalKind, Version};
use crate::{Effect, Policy, Statement};

use narrowing::{Found, Side, Variables, is_account_id};

/// The owning account and the accounts it trusts, against which principals
/// are classed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountContext {
    /// The 12-digit id of the account that owns the resource or role.
    pub account_id: String,
    /// Accounts the owner trusts (its own other accounts, partners).
    pub friendly_accounts: BTreeSet<String>,
    /// The owner's AWS Organizations id (`o-...`), if known.
    pub organization_id: Option<String>,
}

impl AccountContext {
    /// A context for `account_id` with no friendly accounts and no organization.
    pub fn new(account_id: impl Into<String>) -> Self {
        AccountContext {
            account_id: account_id.into(),
            ..AccountContext::default()
        }
    }

    /// Adds friendly accounts.
    pub fn with_friendly<S: Into<String>>(mut self, accounts: impl IntoIterator<Item = S>) -> Self {
        self.friendly_accounts
            .extend(accounts.into_iter().map(Into::into));
        self
    }

    /// Sets the owner's organization id.
    pub fn with_organization(mut self, id: impl Into<String>) -> Self {
        self.organization_id = Some(id.into());
        self
    }

    /// Classes an account id: the owner's, friendly, a third party (any other
    /// 12-digit id), or unknown (not an account id).
    pub fn classify_account(&self, account: &str) -> Class {
        if account == self.account_id {
            Class::SameAccount
        } else if self.friendly_accounts.contains(account) {
            Class::Friendly
        } else if is_account_id(account) {
            Class::ThirdParty
        } else {
            Class::Unknown
        }
    }
}

/// How a principal relates to the owning account, from least to most exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The owning account itself, or one of its users or roles.
    SameAccount,
    /// An AWS service principal such as `sns.amazonaws.com`.
    Service,
    /// Any account of the owner's organization.
    Organization,
    /// An account listed as friendly.
    Friendly,
    /// Identities of a SAML or OIDC provider.
    Federated,
    /// A 12-digit account that is neither the owner's nor friendly, or
    /// another organization.
    ThirdParty,
    /// Something that cannot be placed: a canonical user, a unique id left by
    /// a deleted role, a `*` principal limited only by network.
    Unknown,
    /// Anyone, including anonymous callers.
    Any,
}

/// The actions a statement grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actions {
    /// `Action`: these patterns.
    Listed(Vec<String>),
    /// `NotAction`: every action except these patterns.
    AllBut(Vec<String>),
}

/// One principal of a statement, classed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grantee {
    /// `AWS`, `Service`, `Federated` or `CanonicalUser`.
    #[serde(serialize_with = "kind_name")]
    pub kind: PrincipalKind,
    /// The identifier as written (`*`, an account id, an ARN, a service name).
    pub id: String,
    /// The account the identifier belongs to, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// How it relates to the owning account.
    pub class: Class,
    /// For `NotPrincipal`: everyone except these identifiers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

fn kind_name<S: Serializer>(kind: &PrincipalKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.as_str())
}

/// The values of conditions that narrow who can use a statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Narrowing {
    /// Accounts required by `aws:SourceAccount`, `aws:SourceOwner`,
    /// `aws:PrincipalAccount`, `kms:CallerAccount`, or taken from the ARNs of
    /// `aws:SourceArn` and `aws:PrincipalArn`.
    pub accounts: BTreeSet<String>,
    /// `aws:SourceArn` values.
    pub source_arns: BTreeSet<String>,
    /// `aws:PrincipalArn` values.
    pub principal_arns: BTreeSet<String>,
    /// `aws:PrincipalOrgID` values, and the organizations of `org_paths`.
    pub org_ids: BTreeSet<String>,
    /// `aws:PrincipalOrgPaths` values.
    pub org_paths: BTreeSet<String>,
    /// `aws:SourceIp` ranges.
    pub cidrs: BTreeSet<IpNet>,
    /// `aws:SourceVpc` values.
    pub vpcs: BTreeSet<String>,
    /// `aws:SourceVpce` values.
    pub vpc_endpoints: BTreeSet<String>,
}

impl Narrowing {
    /// True when nothing narrows.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.source_arns.is_empty()
            && self.principal_arns.is_empty()
            && self.org_ids.is_empty()
            && self.cidrs.is_empty()
            && self.vpcs.is_empty()
            && self.vpc_endpoints.is_empty()
    }
}

/// What one `Allow` statement lets in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementExposure {
    /// The statement's position in the policy, from 0.
    pub index: usize,
    /// `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// What the statement grants.
    pub actions: Actions,
    /// The principals named, classed.
    pub grantees: Vec<Grantee>,
    /// Conditions (of this statement and of narrowing Deny statements) that
    /// narrow who gets in.
    pub narrowing: Narrowing,
    /// `sts:ExternalId` values required (noted; they do not narrow).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<String>,
    /// The classes that can use the statement after narrowing, least exposed
    /// first; empty when denied.
    pub reach: Vec<Class>,
    /// True when anyone on the internet can use the statement.
    pub internet_accessible: bool,
    /// The index of an unconditional Deny statement that takes it all away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<usize>,
    /// Indexes of Deny statements that narrow it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub narrowed_by: Vec<usize>,
    /// Why conditions that looked narrowing were not counted, and similar.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// An account named by the policy, with its class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccountClass {
    /// The 12-digit account id.
    pub account: String,
    /// How it relates to the owning account.
    pub class: Class,
}

/// Who a policy lets in, overall and per `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// True when some statement lets anyone on the internet in.
    pub internet_accessible: bool,
    /// What internet callers may do: all listed patterns merged, then each
    /// `NotAction` grant.
    pub internet_actions: Vec<Actions>,
    /// Every class reached by a statement that is not denied, least exposed first.
    pub reach: Vec<Class>,
    /// Every account named by principals or narrowing conditions of
    /// statements that are not denied.
    pub accounts: Vec<AccountClass>,
    /// One entry per `Allow` statement, in policy order.
    pub statements: Vec<StatementExposure>,
}

/// Works out who `policy` lets in, for a resource or role owned by
/// `context.account_id`. See the module documentation for the rules.
///
/// ```
/// use policies::exposure::{analyze, AccountContext, Class};
///
/// let policy = policies::Policy::parse(r#"{"Version": "2012-10-17", "Statement": {
///     "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
///     "Resource": "arn:aws:s3:::site/*"}}"#).unwrap();
/// let exposure = analyze(&policy, &AccountContext::new("111122223333"));
/// assert!(exposure.internet_accessible);
/// assert_eq!(exposure.reach, [Class::Any]);
/// ```
pub fn analyze(policy: &Policy, context: &AccountContext) -> Exposure {
    let variables = Variables {
        enabled: policy.version == Some(Version::V2012_10_17),
        context,
    };
    let statements = policy.statements.as_slice();
    let mut found: Vec<(StatementExposure, &Statement)> = statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow)
        .map(|(i, s)| (allow_statement(i, s, &variables), s))
        .collect();
    for (deny_index, deny) in statements.iter().enumerate() {
        if deny.effect != Effect::Deny {
            continue;
        }
        for (exposure, allow) in &mut found {
            if exposure.denied_by.is_none() && covers(deny, allow) {
                apply_deny(deny_index, deny, exposure, &variables);
            }
        }
    }
    let statements: Vec<StatementExposure> = found
        .into_iter()
        .map(|(mut exposure, _)| {
            finish(&mut exposure, context);
            exposure
        })
        .collect();
    overall(statements, context)
}

fn allow_statement(
    index: usize,
    statement: &Statement,
    variables: &Variables<'_>,
) -> StatementExposure {
    let mut notes = Vec::new();
    let grantees = match &statement.principal {
        None => {
            notes.push(
                "no `Principal`: in a resource or trust policy the statement grants nothing"
                    .to_owned(),
            );
            Vec::new()
        }
        Some(Negatable {
            negated: true,
            value,
        }) => vec![Grantee {
            kind: PrincipalKind::Aws,
            id: "*".to_owned(),
            account: None,
            class: Class::Any,
            except: value
                .identifiers()
                .into_iter()
                .map(|(_, id)| id.to_owned())
                .collect(),
        }],
        Some(Negatable {
            negated: false,
            value,
        }) => value
            .identifiers()
            .into_iter()
            .map(|(kind, id)| grantee(kind, id, variables.context))
            .collect(),
    };
    let mut narrowing = Narrowing::default();
    let mut external_ids = Vec::new();
    for (operator, key, values) in statement.conditions() {
        match narrowing::read(
            Side::Allow,
            operator,
            key,
            values,
            variables,
            &mut narrowing,
        ) {
            Found::ExternalIds(ids) => external_ids.extend(ids),
            Found::NotNarrowing(why) => notes.push(why),
            Found::Unrelated | Found::Narrowed => {}
        }
    }
    let patterns = statement.action_patterns().to_vec();
    StatementExposure {
        index,
        sid: statement.sid.clone(),
        actions: if statement.action.negated {
            Actions::AllBut(patterns)
        } else {
            Actions::Listed(patterns)
        },
        grantees,
        narrowing,
        external_ids,
        reach: Vec::new(),
        internet_accessible: false,
        denied_by: None,
        narrowed_by: Vec::new(),
        notes,
    }
}

fn grantee(kind: PrincipalKind, id: &str, context: &AccountContext) -> Grantee {
    let account_of = |id: &str| -> Option<String> {
        if is_account_id(id) {
            Some(id.to_owned())
        } else {
            Arn::parse(id).ok().map(|arn| arn.account)
        }
    };
    let (account, class) = match kind {
        PrincipalKind::Aws if id == "*" => (None, Class::Any),
        PrincipalKind::Aws => match account_of(id) {
            Some(account) if is_account_id(&account) => {
                let class = context.classify_account(&account);
                (Some(account), class)
            }
            // CloudFront origin access identities live in a pseudo account.
            Some(account) if account == "cloudfront" => (None, Class::Service),
            _ => (None, Class::Unknown),
        },
        PrincipalKind::Service => (None, Class::Service),
        PrincipalKind::Federated => (
            account_of(id).filter(|a| is_account_id(a)),
            Class::Federated,
        ),
        PrincipalKind::CanonicalUser => (None, Class::Unknown),
    };
    Grantee {
        kind,
        id: id.to_owned(),
        account,
        class,
        except: Vec::new(),
    }
}

/// True when `deny` clearly applies to every request `allow` grants (ignoring
/// conditions).
fn covers(deny: &Statement, allow: &Statement) -> bool {
    covers_principals(deny.principal.as_ref(), allow.principal.as_ref())
        && covers_patterns(
            Some(&deny.action).map(|a| (a.negated, a.value.as_slice())),
            Some(&allow.action).map(|a| (a.negated, a.value.as_slice())),
            Case::Insensitive,
        )
        && covers_patterns(
            deny.resource
                .as_ref()
                .map(|r| (r.negated, r.value.as_slice())),
            allow
                .resource
                .as_ref()
                .map(|r| (r.negated, r.value.as_slice())),
            Case::Sensitive,
        )
}

fn covers_principals(
    deny: Option<&Negatable<Principal>>,
    allow: Option<&Negatable<Principal>>,
) -> bool {
    let Some(deny) = deny.filter(|d| !d.negated) else {
        return false;
    };
    if deny.value == Principal::Any {
        return true;
    }
    let Some(allow) = allow.filter(|a| !a.negated) else {
        return false;
    };
    let denied = deny.value.identifiers();
    let any_aws = denied
        .iter()
        .any(|(kind, id)| *kind == PrincipalKind::Aws && *id == "*");
    allow
        .value
        .identifiers()
        .iter()
        .all(|granted| denied.contains(granted) || (any_aws && granted.0 != PrincipalKind::Service))
}

/// Whether the deny's patterns match every pattern of the allow. A missing
/// element (a trust policy has no `Resource`) is covered by a missing one.
fn covers_patterns(
    deny: Option<(bool, &[String])>,
    allow: Option<(bool, &[String])>,
    case: Case,
) -> bool {
    match (deny, allow) {
        (None, None) => true,
        (Some((false, denied)), Some((false, granted))) => granted
            .iter()
            .all(|g| denied.iter().any(|d| glob::matches(d, g, case))),
        (Some((false, denied)), _) => denied.iter().any(|d| d == "*"),
        _ => false,
    }
}

fn apply_deny(
    index: usize,
    deny: &Statement,
    exposure: &mut StatementExposure,
    variables: &Variables<'_>,
) {
    let entries: Vec<_> = deny.conditions().collect();
    match entries.as_slice() {
        [] => exposure.denied_by = Some(index),
        [(operator, key, values)] => {
            match narrowing::read(
                Side::Deny,
                operator,
                key,
                values,
                variables,
                &mut exposure.narrowing,
            ) {
                Found::Narrowed => exposure.narrowed_by.push(index),
                Found::NotNarrowing(why) => exposure
                    .notes
                    .push(format!("Deny statement {index}: {why}")),
                Found::Unrelated | Found::ExternalIds(_) => {}
            }
        }
        _ => exposure.notes.push(format!(
            "Deny statement {index} has several conditions: not read as narrowing"
        )),
    }
}

fn finish(exposure: &mut StatementExposure, context: &AccountContext) {
    if exposure.denied_by.is_some() {
        return;
    }
    let narrowing = &exposure.narrowing;
    let accounts: BTreeSet<Class> = narrowing
        .accounts
        .iter()
        .map(|a| context.classify_account(a))
        .collect();
    let mut reach = BTreeSet::new();
    for grantee in &exposure.grantees {
        match grantee.class {
            Class::Any if !accounts.is_empty() => reach.extend(accounts.iter().copied()),
            Class::Any if !narrowing.org_ids.is_empty() => {
                let ours = context.organization_id.as_ref();
                let class = match ours {
                    Some(ours) if narrowing.org_ids.iter().all(|o| o == ours) => {
                        Class::Organization
                    }
                    Some(_) => Class::ThirdParty,
                    None => Class::Unknown,
                };
                reach.insert(class);
            }
            Class::Any if !narrowing.is_empty() => {
                reach.insert(Class::Unknown);
            }
            Class::Any => {
                reach.insert(Class::Any);
                exposure.internet_accessible = true;
            }
            Class::Service => {
                reach.insert(Class::Service);
                reach.extend(accounts.iter().copied());
            }
            other => {
                reach.insert(other);
            }
        }
    }
    exposure.reach = reach.into_iter().collect();
}

fn overall(statements: Vec<StatementExposure>, context: &AccountContext) -> Exposure {
    let live = || statements.iter().filter(|s| s.denied_by.is_none());
    let reach: BTreeSet<Class> = live().flat_map(|s| s.reach.iter().copied()).collect();
    let accounts: BTreeSet<AccountClass> = live()
        .flat_map(|s| {
            s.grantees
                .iter()
                .filter_map(|g| g.account.clone())
                .chain(s.narrowing.accounts.iter().cloned())
        })
        .map(|account| AccountClass {
            class: context.classify_account(&account),
            account,
        })
        .collect();
    let mut listed = BTreeSet::new();
    let mut all_but = Vec::new();
    for statement in statements.iter().filter(|s| s.internet_accessible) {
        match &statement.actions {
            Actions::Listed(patterns) => listed.extend(patterns.iter().cloned()),
            negated @ Actions::AllBut(_) => all_but.push(negated.clone()),
        }
    }
    let mut internet_actions = Vec::new();
    if !listed.is_empty() {
        internet_actions.push(Actions::Listed(listed.into_iter().collect()));
    }
    internet_actions.extend(all_but);
    Exposure {
        internet_accessible: statements.iter().any(|s| s.internet_accessible),
        internet_actions,
        reach: reach.into_iter().collect(),
        accounts: accounts.into_iter().collect(),
        statements,
    }
}

#[cfg(test)]
mod tests;
