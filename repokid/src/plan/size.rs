//! The length of a policy's compact JSON, counted without building it.
//!
//! The count follows what [`Policy::to_json`] writes (the `policies`
//! crate's writer through `serde_json`): the same members in the same
//! shapes, strings escaped as `serde_json` escapes them (`"` and `\` and
//! control characters). The tests compare it with `to_json` on every
//! policy of the example account and on generated ones.

use policies::Policy;
use policies::model::{Condition, ConditionValue, Negatable, OneOrMany, Principal, Statement};

/// The number of characters of `policy.to_json()`.
pub fn json_size(policy: &Policy) -> usize {
    let mut members = Vec::with_capacity(3);
    if let Some(v) = policy.version {
        members.push(member("Version", string(v.as_str())));
    }
    if let Some(id) = &policy.id {
        members.push(member("Id", string(id)));
    }
    members.push(member(
        "Statement",
        one_or_many(&policy.statements, statement),
    ));
    object(members)
}

/// `{` members separated by commas `}`.
fn object(members: impl IntoIterator<Item = usize>) -> usize {
    let mut n: usize = 0;
    let mut len = 2;
    for m in members {
        len += m;
        n += 1;
    }
    len + n.saturating_sub(1)
}

/// `"key":value`.
fn member(key: &str, value: usize) -> usize {
    string(key) + 1 + value
}

/// A JSON string with its quotes, escaped as `serde_json` writes it.
fn string(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\u{08}' | '\u{0c}' | '\n' | '\r' | '\t' => 2,
            c if u32::from(c) < 0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

fn one_or_many<T>(values: &OneOrMany<T>, item: impl Fn(&T) -> usize) -> usize {
    match values {
        OneOrMany::One(v) => item(v),
        OneOrMany::Many(vs) => 2 + vs.iter().map(item).sum::<usize>() + vs.len().saturating_sub(1),
    }
}

fn strings(values: &OneOrMany<String>) -> usize {
    one_or_many(values, |s| string(s))
}

fn negatable<T>(names: (&str, &str), element: &Negatable<T>, value: impl Fn(&T) -> usize) -> usize {
    let name = if element.negated { names.1 } else { names.0 };
    member(name, value(&element.value))
}

fn statement(st: &Statement) -> usize {
    let mut members = Vec::with_capacity(6);
    if let Some(sid) = &st.sid {
        members.push(member("Sid", string(sid)));
    }
    members.push(member("Effect", string(&st.effect.to_string())));
    if let Some(p) = &st.principal {
        members.push(negatable(("Principal", "NotPrincipal"), p, principal));
    }
    members.push(negatable(("Action", "NotAction"), &st.action, strings));
    if let Some(r) = &st.resource {
        members.push(negatable(("Resource", "NotResource"), r, strings));
    }
    if let Some(c) = &st.condition {
        members.push(member("Condition", condition(c)));
    }
    object(members)
}

fn principal(p: &Principal) -> usize {
    match p {
        Principal::Any => string("*"),
        Principal::Map(entries) => object(
            entries
                .iter()
                .map(|(kind, ids)| member(kind.as_str(), strings(ids))),
        ),
    }
}

fn condition(c: &Condition) -> usize {
    object(c.operators.iter().map(|(op, keys)| {
        let keys = object(
            keys.iter()
                .map(|(key, values)| member(key, one_or_many(values, scalar))),
        );
        member(&op.to_string(), keys)
    }))
}

fn scalar(v: &ConditionValue) -> usize {
    match v {
        ConditionValue::String(s) => string(s),
        ConditionValue::Bool(true) => 4,
        ConditionValue::Bool(false) => 5,
        // Written as the number serde_json reads from the text (or as a
        // string if it reads none): rare enough to format.
        ConditionValue::Number(n) => n
            .parse::<serde_json::Number>()
            .map_or_else(|_| string(n), |num| num.to_string().chars().count()),
    }
}
