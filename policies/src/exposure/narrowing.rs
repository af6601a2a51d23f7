//! Condition entries that narrow who a statement lets in.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{AccountContext, Narrowing};
use crate::arn::Arn;
use crate::glob::has_wildcard;
use crate::model::{ConditionValue, Operator, OperatorKind, SetQualifier};

/// The condition keys this module understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `aws:SourceAccount`, `aws:SourceOwner`, `aws:PrincipalAccount`, `kms:CallerAccount`.
    Account,
    /// `aws:SourceArn`.
    SourceArn,
    /// `aws:PrincipalArn`.
    PrincipalArn,
    /// `aws:PrincipalOrgID`.
    OrgId,
    /// `aws:PrincipalOrgPaths`.
    OrgPath,
    /// `aws:SourceIp`.
    Ip,
    /// `aws:SourceVpc`.
    Vpc,
    /// `aws:SourceVpce`.
    Vpce,
    /// `sts:ExternalId`: noted, never narrowing (it is a shared value, not an identity).
    ExternalId,
}

fn key(name: &str) -> Option<Key> {
    const KEYS: &[(&str, Key)] = &[
        ("aws:SourceAccount", Key::Account),
        ("aws:SourceOwner", Key::Account),
        ("aws:PrincipalAccount", Key::Account),
        ("kms:CallerAccount", Key::Account),
        ("aws:SourceArn", Key::SourceArn),
        ("aws:PrincipalArn", Key::PrincipalArn),
        ("aws:PrincipalOrgID", Key::OrgId),
        ("aws:PrincipalOrgPaths", Key::OrgPath),
        ("aws:SourceIp", Key::Ip),
        ("aws:SourceVpc", Key::Vpc),
        ("aws:SourceVpce", Key::Vpce),
        ("sts:ExternalId", Key::ExternalId),
    ];
    KEYS.iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, k)| *k)
}

/// One value that pins down who can send the request.
enum Value {
    Account(String),
    SourceArn {
        arn: String,
        account: Option<String>,
    },
    PrincipalArn {
        arn: String,
        account: String,
    },
    Org(String),
    OrgPath {
        path: String,
        org: String,
    },
    Net(IpNet),
    Vpc(String),
    Vpce(String),
}

/// What reading one condition entry found.
pub(super) enum Found {
    /// Not a key this module knows: says nothing about who.
    Unrelated,
    /// `sts:ExternalId` values, to be noted.
    ExternalIds(Vec<String>),
    /// The entry narrows; the values were added.
    Narrowed,
    /// The entry names a narrowing key but does not narrow; why.
    NotNarrowing(String),
}

/// Where a condition entry sits: it narrows in an Allow with a positive
/// operator, or in a Deny with a negated one ("deny unless ...").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Allow,
    Deny,
}

/// Reads one (operator, key, values) entry and adds what narrows to `into`.
pub(super) fn read(
    side: Side,
    operator: &Operator,
    name: &str,
    values: &[ConditionValue],
    context: &Variables<'_>,
    into: &mut Narrowing,
) -> Found {
    let Some(key) = key(name) else {
        return Found::Unrelated;
    };
    if key == Key::ExternalId {
        return if side == Side::Allow && !operator.kind.is_negated() {
            Found::ExternalIds(values.iter().map(|v| v.as_text().to_owned()).collect())
        } else {
            Found::Unrelated
        };
    }
    if let Err(why) = operator_narrows(side, operator, key) {
        return Found::NotNarrowing(format!("`{operator}` on `{name}` does not narrow: {why}"));
    }
    let mut parsed = Vec::with_capacity(values.len());
    for value in values {
        match parse(key, value.as_text(), context) {
            Some(v) => parsed.push(v),
            None => {
                return Found::NotNarrowing(format!(
                    "`{operator}` on `{name}` does not narrow: `{}` does not pin down {}",
                    value.as_text(),
                    what(key)
                ));
            }
        }
    }
    if parsed.is_empty() {
        return Found::NotNarrowing(format!("`{operator}` on `{name}` has no values"));
    }
    for value in parsed {
        add(into, value);
    }
    Found::Narrowed
}

fn operator_narrows(side: Side, operator: &Operator, key: Key) -> Result<(), &'static str> {
    use OperatorKind as K;
    if operator.qualifier == Some(SetQualifier::ForAllValues) {
        return Err("`ForAllValues` holds when the key is absent");
    }
    match side {
        Side::Allow => {
            if operator.kind.is_negated() {
                return Err("it excludes values instead of requiring them");
            }
            if operator.if_exists {
                return Err("`IfExists` lets requests without the key through");
            }
            let fits = match key {
                Key::Ip => operator.kind == K::IpAddress,
                _ => matches!(
                    operator.kind,
                    K::StringEquals
                        | K::StringEqualsIgnoreCase
                        | K::StringLike
                        | K::ArnEquals
                        | K::ArnLike
                ),
            };
            if fits {
                Ok(())
            } else {
                Err("the operator does not require the key to equal a value")
            }
        }
        Side::Deny => {
            // A negated operator is true when the key is absent, with or
            // without `IfExists`, so the deny also catches requests without it.
            if operator.qualifier.is_some() {
                return Err("a set qualifier in a Deny is not read as narrowing");
            }
            let fits = match key {
                Key::Ip => operator.kind == K::NotIpAddress,
                _ => matches!(
                    operator.kind,
                    K::StringNotEquals
                        | K::StringNotEqualsIgnoreCase
                        | K::StringNotLike
                        | K::ArnNotEquals
                        | K::ArnNotLike
                ),
            };
            if fits {
                Ok(())
            } else {
                Err("only a negated operator in a Deny narrows")
            }
        }
    }
}

fn what(key: Key) -> &'static str {
    match key {
        Key::Account => "an account",
        Key::SourceArn => "an account or a single resource",
        Key::PrincipalArn => "an account",
        Key::OrgId | Key::OrgPath => "an organization",
        Key::Ip => "a network smaller than the whole internet",
        Key::Vpc => "a VPC",
        Key::Vpce => "a VPC endpoint",
        Key::ExternalId => "anything",
    }
}

/// What policy variables resolve to for narrowing, when the policy has them.
pub(super) struct Variables<'a> {
    /// False for a policy without `Version: 2012-10-17`: `${...}` is literal text.
    pub enabled: bool,
    /// The account that owns the resource.
    pub context: &'a AccountContext,
}

impl Variables<'_> {
    /// The value of `${aws:ResourceAccount}` / `${aws:ResourceOrgID}`, or the
    /// text itself when it holds no variable; `None` for other variables.
    fn resolve<'t>(&'t self, text: &'t str) -> Option<&'t str> {
        if !self.enabled || !text.contains("${") {
            return Some(text);
        }
        if text.eq_ignore_ascii_case("${aws:ResourceAccount}") {
            return Some(&self.context.account_id);
        }
        if text.eq_ignore_ascii_case("${aws:ResourceOrgID}") {
            return self.context.organization_id.as_deref();
        }
        None
    }
}

pub(super) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse(key: Key, text: &str, variables: &Variables<'_>) -> Option<Value> {
    let text = variables.resolve(text)?;
    let literal = !text.is_empty() && !has_wildcard(text);
    match key {
        Key::Account => is_account_id(text).then(|| Value::Account(text.to_owned())),
        Key::SourceArn => {
            let arn = Arn::parse(text).ok()?;
            if is_account_id(&arn.account) {
                Some(Value::SourceArn {
                    arn: text.to_owned(),
                    account: Some(arn.account),
                })
            } else if arn.account.is_empty() && literal {
                // A resource without an account in its ARN (an S3 bucket):
                // pinned to that one resource, whoever owns it.
                Some(Value::SourceArn {
                    arn: text.to_owned(),
                    account: None,
                })
            } else {
                None
            }
        }
        Key::PrincipalArn => {
            let arn = Arn::parse(text).ok()?;
            is_account_id(&arn.account).then(|| Value::PrincipalArn {
                arn: text.to_owned(),
                account: arn.account,
            })
        }
        Key::OrgId => (literal && text.starts_with("o-")).then(|| Value::Org(text.to_owned())),
        Key::OrgPath => {
            let org = text.split('/').next()?;
            (org.starts_with("o-") && !has_wildcard(org) && text.len() > org.len()).then(|| {
                Value::OrgPath {
                    path: text.to_owned(),
                    org: org.to_owned(),
                }
            })
        }
        Key::Ip => {
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .ok()?;
            (net.prefix_len() > 0).then_some(Value::Net(net))
        }
        Key::Vpc => literal.then(|| Value::Vpc(text.to_owned())),
        Key::Vpce => literal.then(|| Value::Vpce(text.to_owned())),
        Key::ExternalId => None,
    }
}

fn add(into: &mut Narrowing, value: Value) {
    match value {
        Value::Account(account) => {
            into.accounts.insert(account);
        }
        Value::SourceArn { arn, account } => {
            into.source_arns.insert(arn);
            if let Some(account) = account {
                into.accounts.insert(account);
            }
        }
        Value::PrincipalArn { arn, account } => {
            into.principal_arns.insert(arn);
            into.accounts.insert(account);
        }
        Value::Org(org) => {
            into.org_ids.insert(org);
        }
        Value::OrgPath { path, org } => {
            into.org_paths.insert(path);
            into.org_ids.insert(org);
        }
        Value::Net(net) => {
            into.cidrs.insert(net);
        }
        Value::Vpc(vpc) => {
            into.vpcs.insert(vpc);
        }
        Value::Vpce(vpce) => {
            into.vpc_endpoints.insert(vpce);
        }
    }
}
