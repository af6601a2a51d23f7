//! The length of a policy's compact JSON, counted without building it.
//!
//! The count follows what [`Policy::to_json`] writes (the `policies`
//! crate's writer through `serde_json`): the same members in the same
//! shapes, strings escaped as `serde_json` escapes them (`"` and `\` and
//! control characters). The tests compare it with `to_json` on every
//! policy of the example account and on generated ones.

use policies::Policy;
use policies::model::{
    Condition, ConditionValue, Effect, Negatable, OneOrMany, Principal, Statement,
};

/// The number of characters of `policy.to_json()`.
pub fn json_size(policy: &Policy) -> usize {
    object(
        [
            policy
                .version
                .map(|v| member("Version", string(v.as_str()))),
            policy.id.as_ref().map(|id| member("Id", string(id))),
            Some(member(
                "Statement",
                one_or_many(&policy.statements, statement),
            )),
        ]
        .into_iter()
        .flatten(),
    )
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
    // Counted over bytes, without branches so that it vectorizes: a
    // character is a byte that is not a UTF-8 continuation byte
    // (`0b10xx_xxxx`, counted 0); `"` and `\\` take 2; control characters
    // take 2 (`\b \t \n \f \r`) or 6 (`\u00XX`).
    let body: u32 = s
        .bytes()
        .map(|b| {
            let quoted = u32::from(b == b'"' || b == b'\\');
            let control = u32::from(b < 0x20);
            let short = u32::from(matches!(b, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d));
            let continuation = u32::from(b & 0xc0 == 0x80);
            (1 + quoted + 5 * control).wrapping_sub(4 * short + continuation)
        })
        .fold(0, u32::wrapping_add);
    2 + usize::try_from(body).unwrap_or(usize::MAX)
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
    let effect = match st.effect {
        Effect::Allow => "Allow",
        Effect::Deny => "Deny",
    };
    object(
        [
            st.sid.as_ref().map(|sid| member("Sid", string(sid))),
            Some(member("Effect", string(effect))),
            st.principal
                .as_ref()
                .map(|p| negatable(("Principal", "NotPrincipal"), p, principal)),
            Some(negatable(("Action", "NotAction"), &st.action, strings)),
            st.resource
                .as_ref()
                .map(|r| negatable(("Resource", "NotResource"), r, strings)),
            st.condition
                .as_ref()
                .map(|c| member("Condition", condition(c))),
        ]
        .into_iter()
        .flatten(),
    )
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
        // `Operator`'s text, which needs no escaping: qualifier, kind, `IfExists`.
        let name = op.qualifier.map_or(0, |q| q.as_str().len())
            + op.kind.as_str().len()
            + if op.if_exists { "IfExists".len() } else { 0 };
        2 + name + 1 + keys
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
