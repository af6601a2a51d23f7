//! Reading a policy document from JSON text or an already parsed value.

use serde_json::{Map, Value};

use super::{
    Condition, ConditionValue, Effect, Negatable, OneOrMany, Operator, ParseError, Policy,
    Principal, PrincipalKind, Statement, Version,
};

impl Policy {
    /// Parses a policy document, raw or URL-encoded (as `GetRolePolicy` and
    /// friends return them).
    ///
    /// ```
    /// let policy = policies::Policy::parse(
    ///     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
    /// ).unwrap();
    /// assert_eq!(policy.statements.len(), 1);
    /// ```
    pub fn parse(text: &str) -> Result<Policy, ParseError> {
        let decoded;
        let mut text = text.trim_start_matches('\u{feff}').trim();
        if text.starts_with('%') {
            decoded = percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map_err(|_| ParseError::Encoding)?;
            text = decoded.trim();
        }
        let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Json {
            message: json_message(&e),
            line: e.line(),
            column: e.column(),
        })?;
        Policy::from_value(&value)
    }

    /// Reads a policy from a JSON value, e.g. one embedded in an
    /// authorization-details export. A string value is parsed as a document.
    pub fn from_value(value: &Value) -> Result<Policy, ParseError> {
        if let Value::String(text) = value {
            return Policy::parse(text);
        }
        let object = expect_object(value, "")?;
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        for (key, value) in object {
            match key.as_str() {
                "Version" => version = Some(parse_version(value)?),
                "Id" => id = Some(expect_string(value, "Id")?.to_owned()),
                "Statement" => statements = Some(parse_statements(value)?),
                other => {
                    return Err(ParseError::at(
                        other,
                        "unknown element; a policy has only `Version`, `Id` and `Statement`",
                    ));
                }
            }
        }
        let statements = statements.ok_or_else(|| {
            ParseError::at("", "missing `Statement`; add a statement or a list of them")
        })?;
        Ok(Policy {
            version,
            id,
            statements,
        })
    }
}

impl std::str::FromStr for Policy {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Policy::parse(text)
    }
}

/// serde_json's message without its own " at line x column y" tail.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string `{s}`"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn expect_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ParseError> {
    value.as_object().ok_or_else(|| {
        ParseError::at(
            path,
            format!("expected an object, found {}", describe(value)),
        )
    })
}

fn expect_string<'a>(value: &'a Value, path: &str) -> Result<&'a str, ParseError> {
    value.as_str().ok_or_else(|| {
        ParseError::at(
            path,
            format!("expected a string, found {}", describe(value)),
        )
    })
}

fn parse_version(value: &Value) -> Result<Version, ParseError> {
    match expect_string(value, "Version")? {
        "2012-10-17" => Ok(Version::V2012_10_17),
        "2008-10-17" => Ok(Version::V2008_10_17),
        other => Err(ParseError::at(
            "Version",
            format!("unknown version `{other}`; use `2012-10-17`"),
        )),
    }
}

/// A string or a non-empty list of strings.
fn strings(value: &Value, path: &str) -> Result<OneOrMany<String>, ParseError> {
    one_or_many(value, path, |item, path| {
        expect_string(item, path).map(str::to_owned)
    })
}

fn one_or_many<T>(
    value: &Value,
    path: &str,
    item: impl Fn(&Value, &str) -> Result<T, ParseError>,
) -> Result<OneOrMany<T>, ParseError> {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ParseError::at(
                    path,
                    "expected at least one value, found an empty list",
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| item(v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(OneOrMany::Many)
        }
        other => item(other, path).map(OneOrMany::One),
    }
}

fn parse_statements(value: &Value) -> Result<OneOrMany<Statement>, ParseError> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_statement(v, &format!("Statement[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(OneOrMany::Many),
        other => parse_statement(other, "Statement").map(OneOrMany::One),
    }
}

/// Keeps the one of an element and its `Not` twin that is present; both is an error.
fn pick<T>(
    path: &str,
    names: (&str, &str),
    listed: Option<T>,
    negated: Option<T>,
) -> Result<Option<Negatable<T>>, ParseError> {
    match (listed, negated) {
        (Some(_), Some(_)) => Err(ParseError::at(
            path,
            format!("has both `{}` and `{}`; keep one", names.0, names.1),
        )),
        (Some(v), None) => Ok(Some(Negatable::listed(v))),
        (None, Some(v)) => Ok(Some(Negatable::not(v))),
        (None, None) => Ok(None),
    }
}

fn parse_statement(value: &Value, path: &str) -> Result<Statement, ParseError> {
    let object = expect_object(value, path)?;
    let mut sid = None;
    let mut effect = None;
    let (mut principal, mut not_principal) = (None, None);
    let (mut action, mut not_action) = (None, None);
    let (mut resource, mut not_resource) = (None, None);
    let mut condition = None;
    for (key, value) in object {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "Sid" => sid = Some(expect_string(value, &here)?.to_owned()),
            "Effect" => effect = Some(parse_effect(value, &here)?),
            "Principal" => principal = Some(parse_principal(value, &here)?),
            "NotPrincipal" => not_principal = Some(parse_principal(value, &here)?),
            "Action" => action = Some(strings(value, &here)?),
            "NotAction" => not_action = Some(strings(value, &here)?),
            "Resource" => resource = Some(strings(value, &here)?),
            "NotResource" => not_resource = Some(strings(value, &here)?),
            "Condition" => condition = Some(parse_condition(value, &here)?),
            _ => {
                return Err(ParseError::at(
                    &here,
                    "unknown element; a statement has `Sid`, `Effect`, `Principal`, `NotPrincipal`, \
                     `Action`, `NotAction`, `Resource`, `NotResource` and `Condition`",
                ));
            }
        }
    }
    let effect = effect
        .ok_or_else(|| ParseError::at(path, "missing `Effect`; add \"Allow\" or \"Deny\""))?;
    let action = pick(path, ("Action", "NotAction"), action, not_action)?
        .ok_or_else(|| ParseError::at(path, "missing `Action` or `NotAction`"))?;
    Ok(Statement {
        sid,
        effect,
        principal: pick(
            path,
            ("Principal", "NotPrincipal"),
            principal,
            not_principal,
        )?,
        action,
        resource: pick(path, ("Resource", "NotResource"), resource, not_resource)?,
        condition,
    })
}

fn parse_effect(value: &Value, path: &str) -> Result<Effect, ParseError> {
    match expect_string(value, path)? {
        "Allow" => Ok(Effect::Allow),
        "Deny" => Ok(Effect::Deny),
        other => Err(ParseError::at(
            path,
            format!("expected \"Allow\" or \"Deny\", found `{other}`"),
        )),
    }
}

fn parse_principal(value: &Value, path: &str) -> Result<Principal, ParseError> {
    match value {
        Value::String(s) if s == "*" => Ok(Principal::Any),
        Value::Object(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (key, ids) in map {
                let here = format!("{path}.{key}");
                let kind = match key.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    _ => {
                        return Err(ParseError::at(
                            &here,
                            "unknown principal type; use `AWS`, `Service`, `Federated` or `CanonicalUser`",
                        ));
                    }
                };
                entries.push((kind, strings(ids, &here)?));
            }
            Ok(Principal::Map(entries))
        }
        other => Err(ParseError::at(
            path,
            format!(
                "expected \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::123456789012:root\"}}, found {}",
                describe(other)
            ),
        )),
    }
}

fn parse_condition(value: &Value, path: &str) -> Result<Condition, ParseError> {
    let object = expect_object(value, path)?;
    let mut operators = Vec::with_capacity(object.len());
    for (name, keys) in object {
        let here = format!("{path}.{name}");
        let operator: Operator = name.parse().map_err(|m: String| ParseError::at(&here, m))?;
        let keys = expect_object(keys, &here)?;
        let mut entries = Vec::with_capacity(keys.len());
        for (key, values) in keys {
            let at = format!("{here}.{key}");
            entries.push((key.clone(), one_or_many(values, &at, condition_value)?));
        }
        operators.push((operator, entries));
    }
    Ok(Condition { operators })
}

fn condition_value(value: &Value, path: &str) -> Result<ConditionValue, ParseError> {
    match value {
        Value::String(s) => Ok(ConditionValue::String(s.clone())),
        Value::Bool(b) => Ok(ConditionValue::Bool(*b)),
        Value::Number(n) => Ok(ConditionValue::Number(n.to_string())),
        other => Err(ParseError::at(
            path,
            format!(
                "expected a string, number or boolean, found {}",
                describe(other)
            ),
        )),
    }
}
