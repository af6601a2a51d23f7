//! Checks on a statement's conditions: is each key defined for the
//! statement's actions, does the operator fit the key's type, and does each
//! value parse as the operator's type.

use super::checks::finding;
use super::{Code, Finding};
use crate::arn::Arn;
use crate::catalogue::{Catalogue, ConditionKey, ConditionKeyType};
use crate::eval::value;
use crate::expand::Expansion;
use crate::model::{ConditionValue, Operator, Statement, ValueType};

/// Checks every (operator, key, values) of one statement.
pub(super) fn check(
    cat: &Catalogue,
    expansion: &Expansion,
    at: (usize, &Statement),
    out: &mut Vec<Finding>,
) {
    for (operator, key, values) in at.1.conditions() {
        match definition(cat, expansion, key) {
            Known::Defined(def) => {
                if !fits(operator.kind.value_type(), def.key_type()) {
                    out.push(finding(
                        Code::ConditionTypeMismatch,
                        Some(at),
                        format!(
                            "`{operator}` compares {} but `{key}` is of type {}; use {} operators",
                            noun(operator.kind.value_type()),
                            def.key_type(),
                            operators_for(def.key_type())
                        ),
                    ));
                }
            }
            Known::Unchecked => {}
            Known::Unknown(why) => out.push(finding(
                Code::UnknownConditionKey,
                Some(at),
                format!("condition key `{key}` {why}"),
            )),
        }
        for value in values {
            if let Some(problem) = bad_value(operator, value) {
                out.push(finding(
                    Code::ConditionTypeMismatch,
                    Some(at),
                    format!("`{operator}` on `{key}`: {problem}"),
                ));
            }
        }
    }
}

/// What the catalogue says of a key in the context of some actions.
enum Known<'c> {
    /// A global key, or one some action of the statement supports.
    Defined(ConditionKey<'c>),
    /// A key the catalogue cannot judge (an identity provider's `host:aud`).
    Unchecked,
    /// Not usable here, with the reason and fix.
    Unknown(String),
}

fn definition<'c>(cat: &'c Catalogue, expansion: &Expansion, key: &str) -> Known<'c> {
    let Some((prefix, _)) = key.split_once(':') else {
        return Known::Unknown(
            "has no `service:` prefix; keys are written like `aws:SourceIp` or `s3:prefix`".into(),
        );
    };
    if prefix.eq_ignore_ascii_case("aws") {
        return cat.global_condition_key(key).map_or_else(
            || Known::Unknown("is not a global `aws:` key; check the spelling".into()),
            Known::Defined,
        );
    }
    let Some(service) = cat.service(prefix) else {
        // Identity-provider keys in trust policies: SAML's `saml:aud`, and OIDC
        // keys prefixed with the provider, e.g. `token.actions.githubusercontent.com:sub`.
        let provider = prefix.eq_ignore_ascii_case("saml") || prefix.contains('.');
        return if provider || cat.condition_key(key).is_some() {
            Known::Unchecked
        } else {
            Known::Unknown(format!(
                "names no AWS service `{prefix}`; check the spelling"
            ))
        };
    };
    let mut service_has_actions = false;
    for id in expansion.actions.iter() {
        let Some(action) = cat.get(id) else { continue };
        if action.service().prefix() != service.prefix() {
            continue;
        }
        service_has_actions = true;
        if let Some(def) = action.condition_key(key) {
            return Known::Defined(def);
        }
    }
    if service.condition_key(key).is_none() {
        Known::Unknown(format!(
            "is not defined by `{}`; check the spelling against the service's condition keys",
            service.prefix()
        ))
    } else if service_has_actions {
        Known::Unknown(format!(
            "is not supported by any of the statement's `{}` actions, so the condition never sees a value; move it to a statement with actions that support it",
            service.prefix()
        ))
    } else {
        Known::Unknown(format!(
            "belongs to `{}` but the statement has no `{}` action; remove it or add the action it was meant for",
            service.prefix(),
            service.prefix()
        ))
    }
}

/// Whether an operator's value type suits a key's type.
fn fits(operator: ValueType, key: ConditionKeyType) -> bool {
    use ConditionKeyType as K;
    match operator {
        ValueType::Null => true,
        // String operators also work on ARN keys (AWS documents StringLike on aws:SourceArn).
        ValueType::String => matches!(key, K::String | K::ArrayOfString | K::Arn | K::ArrayOfArn),
        ValueType::Arn => matches!(key, K::Arn | K::ArrayOfArn),
        ValueType::Numeric => matches!(key, K::Numeric | K::ArrayOfNumeric),
        ValueType::Date => matches!(key, K::Date | K::ArrayOfDate),
        ValueType::Bool => matches!(key, K::Bool | K::ArrayOfBool),
        ValueType::Binary => matches!(key, K::Binary | K::ArrayOfBinary),
        ValueType::Ip => matches!(key, K::IpAddress | K::ArrayOfIpAddress),
    }
}

fn noun(ty: ValueType) -> &'static str {
    match ty {
        ValueType::String => "strings",
        ValueType::Numeric => "numbers",
        ValueType::Date => "dates",
        ValueType::Bool => "booleans",
        ValueType::Binary => "binary values",
        ValueType::Ip => "IP addresses",
        ValueType::Arn => "ARNs",
        ValueType::Null => "presence",
    }
}

fn operators_for(key: ConditionKeyType) -> &'static str {
    use ConditionKeyType as K;
    match key {
        K::String | K::ArrayOfString => "String*",
        K::Arn | K::ArrayOfArn => "Arn* (or String*)",
        K::Numeric | K::ArrayOfNumeric => "Numeric*",
        K::Date | K::ArrayOfDate => "Date*",
        K::Bool | K::ArrayOfBool => "Bool",
        K::Binary | K::ArrayOfBinary => "BinaryEquals",
        K::IpAddress | K::ArrayOfIpAddress => "IpAddress/NotIpAddress",
    }
}

/// Why a value cannot be compared by the operator, if it cannot.
fn bad_value(operator: &Operator, value: &ConditionValue) -> Option<String> {
    let text = value.as_text();
    if text.contains("${") {
        return None;
    }
    let expected = match operator.kind.value_type() {
        ValueType::String => return None,
        ValueType::Numeric => value::number(text).map(drop).ok_or(value::Expected::Number),
        ValueType::Date => value::date(text).map(drop).ok_or(value::Expected::Date),
        ValueType::Bool | ValueType::Null => {
            value::boolean(text).map(drop).ok_or(value::Expected::Bool)
        }
        ValueType::Binary => value::binary(text).map(drop).ok_or(value::Expected::Binary),
        ValueType::Ip => value::ip_range(text).map(drop).ok_or(value::Expected::Ip),
        ValueType::Arn => {
            return (text != "*" && Arn::parse(text).is_err()).then(|| {
                format!("`{text}` is not an ARN; write arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (wildcards allowed)")
            });
        }
    };
    expected.err().map(|e| {
        format!(
            "`{text}` is not {}, so the condition never matches; use {}",
            e.noun(),
            e.example()
        )
    })
}
