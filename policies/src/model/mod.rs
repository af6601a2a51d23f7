//! The IAM JSON policy grammar as Rust types.
//!
//! A [`Policy`] keeps everything needed to write back equivalent JSON: the
//! string-or-list shape of every value ([`OneOrMany`]), statement order, the
//! order of condition operators and keys, and the JSON type of condition
//! values. [`Policy::parse`] reads a document (raw or URL-encoded, as IAM APIs
//! return them); [`Policy::to_value`] writes it back.

mod err;
mod parse;
mod write;

pub use err::ParseError;

use std::fmt;

/// A whole policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `Version`; absent means the 2008-10-17 rules (no policy variables).
    pub version: Option<Version>,
    /// `Id`.
    pub id: Option<String>,
    /// `Statement`, as an object or a list.
    pub statements: OneOrMany<Statement>,
}

/// The policy language versions IAM knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17`: the original language; `${...}` is literal text.
    V2008_10_17,
}

impl Version {
    /// The version string as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2012_10_17 => "2012-10-17",
            Version::V2008_10_17 => "2008-10-17",
        }
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal` (resource and trust policies only).
    pub principal: Option<Negatable<Principal>>,
    /// `Action` or `NotAction`.
    pub action: Negatable<OneOrMany<String>>,
    /// `Resource` or `NotResource` (absent in trust policies).
    pub resource: Option<Negatable<OneOrMany<String>>>,
    /// `Condition`.
    pub condition: Option<Condition>,
}

impl Statement {
    /// The action patterns, whether listed or negated.
    pub fn action_patterns(&self) -> &[String] {
        self.action.value.as_slice()
    }

    /// The resource patterns, or none when the statement has no `Resource`.
    pub fn resource_patterns(&self) -> &[String] {
        self.resource.as_ref().map_or(&[], |r| r.value.as_slice())
    }

    /// Conditions as a flat list of (operator, key, values).
    pub fn conditions(&self) -> impl Iterator<Item = (&Operator, &str, &[ConditionValue])> {
        self.condition.iter().flat_map(|c| c.entries())
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// An element that has a negated twin: `Action`/`NotAction`,
/// `Resource`/`NotResource`, `Principal`/`NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negatable<T> {
    /// True for the `Not...` form.
    pub negated: bool,
    /// The element's value.
    pub value: T,
}

impl<T> Negatable<T> {
    /// The plain (not negated) form.
    pub fn listed(value: T) -> Self {
        Negatable {
            negated: false,
            value,
        }
    }

    /// The `Not...` form.
    pub fn not(value: T) -> Self {
        Negatable {
            negated: true,
            value,
        }
    }
}

/// A single value or a list, remembered as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OneOrMany<T> {
    /// Written as a bare value.
    One(T),
    /// Written as a JSON array (possibly of one element).
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values as a slice, whatever the shape.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }

    /// The values as a mutable slice, whatever the shape.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            OneOrMany::One(v) => std::slice::from_mut(v),
            OneOrMany::Many(v) => v,
        }
    }

    /// Iterates over the values.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// True when written as an empty list.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// A list of the given values: one value stays bare, others become a list.
    pub fn from_vec(mut values: Vec<T>) -> Self {
        if values.len() == 1
            && let Some(v) = values.pop()
        {
            return OneOrMany::One(v);
        }
        OneOrMany::Many(values)
    }
}

impl<'a, T> IntoIterator for &'a OneOrMany<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The value of `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`: everyone, including anonymous callers.
    Any,
    /// A map from principal type to identifiers, in the order written.
    Map(Vec<(PrincipalKind, OneOrMany<String>)>),
}

impl Principal {
    /// Every (type, identifier) pair; `"*"` yields `(Aws, "*")`.
    pub fn identifiers(&self) -> Vec<(PrincipalKind, &str)> {
        match self {
            Principal::Any => vec![(PrincipalKind::Aws, "*")],
            Principal::Map(entries) => entries
                .iter()
                .flat_map(|(kind, ids)| ids.iter().map(move |id| (*kind, id.as_str())))
                .collect(),
        }
    }
}

/// The principal types a policy can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalKind {
    /// `AWS`: accounts, users, roles, assumed-role sessions, or `*`.
    Aws,
    /// `Service`: AWS service principals such as `lambda.amazonaws.com`.
    Service,
    /// `Federated`: SAML and OIDC providers.
    Federated,
    /// `CanonicalUser`: S3 canonical user ids.
    CanonicalUser,
}

impl PrincipalKind {
    /// The key as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

/// A `Condition` block: operators, each with keys and values, in written order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Each operator with its (key, values) pairs.
    pub operators: Vec<(Operator, ConditionKeys)>,
}

impl Condition {
    /// Flattened (operator, key, values) triples.
    pub fn entries(&self) -> impl Iterator<Item = (&Operator, &str, &[ConditionValue])> {
        self.operators.iter().flat_map(|(op, keys)| {
            keys.iter()
                .map(move |(key, values)| (op, key.as_str(), values.as_slice()))
        })
    }
}

/// The (key, values) pairs under one condition operator, in written order.
pub type ConditionKeys = Vec<(String, OneOrMany<ConditionValue>)>;

/// A condition value, keeping the JSON type it was written with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConditionValue {
    /// A JSON string.
    String(String),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON number, as written.
    Number(String),
}

impl ConditionValue {
    /// The value as IAM compares it: every type as its text.
    pub fn as_text(&self) -> &str {
        match self {
            ConditionValue::String(s) | ConditionValue::Number(s) => s,
            ConditionValue::Bool(true) => "true",
            ConditionValue::Bool(false) => "false",
        }
    }
}

/// A condition operator: the base test, an optional set qualifier, and `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    /// `ForAllValues:` or `ForAnyValue:`, if given.
    pub qualifier: Option<SetQualifier>,
    /// The base operator.
    pub kind: OperatorKind,
    /// The `IfExists` suffix.
    pub if_exists: bool,
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(q) = self.qualifier {
            f.write_str(q.as_str())?;
        }
        f.write_str(self.kind.as_str())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// The set qualifiers for multi-valued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// `ForAllValues:`: every value of the key must match (true when the key is absent).
    ForAllValues,
    /// `ForAnyValue:`: at least one value of the key must match.
    ForAnyValue,
}

impl SetQualifier {
    /// The prefix as written, colon included.
    pub fn as_str(self) -> &'static str {
        match self {
            SetQualifier::ForAllValues => "ForAllValues:",
            SetQualifier::ForAnyValue => "ForAnyValue:",
        }
    }
}

/// Which family of values an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Strings.
    String,
    /// Numbers.
    Numeric,
    /// Dates (ISO 8601 or epoch seconds).
    Date,
    /// `true`/`false`.
    Bool,
    /// Base64 binary.
    Binary,
    /// IP addresses and CIDR ranges.
    Ip,
    /// ARNs.
    Arn,
    /// `Null`: whether the key is absent.
    Null,
}

macro_rules! operator_kinds {
    ($($variant:ident => $ty:ident),* $(,)?) => {
        /// The base condition operators of the IAM policy language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OperatorKind {
            $(
                #[doc = concat!("`", stringify!($variant), "`.")]
                $variant,
            )*
        }

        impl OperatorKind {
            /// Every base operator.
            pub const ALL: &'static [OperatorKind] = &[$(OperatorKind::$variant),*];

            /// The operator's name as written.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(OperatorKind::$variant => stringify!($variant),)*
                }
            }

            /// The type of value the operator compares.
            pub fn value_type(self) -> ValueType {
                match self {
                    $(OperatorKind::$variant => ValueType::$ty,)*
                }
            }
        }
    };
}

operator_kinds! {
    StringEquals => String,
    StringNotEquals => String,
    StringEqualsIgnoreCase => String,
    StringNotEqualsIgnoreCase => String,
    StringLike => String,
    StringNotLike => String,
    NumericEquals => Numeric,
    NumericNotEquals => Numeric,
    NumericLessThan => Numeric,
    NumericLessThanEquals => Numeric,
    NumericGreaterThan => Numeric,
    NumericGreaterThanEquals => Numeric,
    DateEquals => Date,
    DateNotEquals => Date,
    DateLessThan => Date,
    DateLessThanEquals => Date,
    DateGreaterThan => Date,
    DateGreaterThanEquals => Date,
    Bool => Bool,
    BinaryEquals => Binary,
    IpAddress => Ip,
    NotIpAddress => Ip,
    ArnEquals => Arn,
    ArnLike => Arn,
    ArnNotEquals => Arn,
    ArnNotLike => Arn,
    Null => Null,
}

impl OperatorKind {
    /// True for the negated operators (`StringNotEquals`, `NotIpAddress`, ...),
    /// which match when the key's value is not among the policy's values.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            OperatorKind::StringNotEquals
                | OperatorKind::StringNotEqualsIgnoreCase
                | OperatorKind::StringNotLike
                | OperatorKind::NumericNotEquals
                | OperatorKind::DateNotEquals
                | OperatorKind::NotIpAddress
                | OperatorKind::ArnNotEquals
                | OperatorKind::ArnNotLike
        )
    }
}

impl std::str::FromStr for Operator {
    type Err = String;

    /// Reads `ForAnyValue:StringLikeIfExists` and the like; names are case-sensitive as in IAM.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (qualifier, rest) = if let Some(rest) = text.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else if let Some(rest) = text.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else {
            (None, text)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = OperatorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == base)
            .ok_or_else(|| format!("unknown condition operator `{text}`"))?;
        if kind == OperatorKind::Null && (if_exists || qualifier.is_some()) {
            return Err(format!(
                "`{text}`: `Null` takes neither `IfExists` nor a set qualifier"
            ));
        }
        Ok(Operator {
            qualifier,
            kind,
            if_exists,
        })
    }
}
