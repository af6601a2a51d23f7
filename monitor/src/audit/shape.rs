//! Reading AWS Config's JSON shapes tolerantly.
//!
//! Config names fields in camelCase for older resource types
//! (`ipPermissions`), PascalCase for types recorded through the CloudFormation
//! registry (`SslPolicy`), and direct collection (GetAccountAuthorizationDetails)
//! uses PascalCase too; booleans sometimes arrive as `"true"`; policies arrive
//! as objects, JSON text or URL-encoded JSON text. Every lookup here accepts
//! both spellings of the first letter and both forms of a value, and answers
//! `None` rather than failing on anything unexpected.

use std::borrow::Cow;

use policies::Policy;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::ConfigItem;

/// `value[name]`, trying `name` as written and with its first letter's case flipped.
pub fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(name) {
        return Some(found);
    }
    let mut chars = name.chars();
    let first = chars.next()?;
    let flipped = flip(first).to_string() + chars.as_str();
    object.get(&flipped)
}

/// The first of `names` present (and not null) in `value`.
pub fn any<'a>(value: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|name| field(value, name).filter(|v| !v.is_null()))
}

/// Follows a path of field names.
pub fn path<'a>(value: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().try_fold(value, |v, name| field(v, name))
}

/// A supplementary configuration entry of an item (by either spelling of
/// its first letter), parsed when it arrived as JSON text.
pub fn supplementary<'a>(item: &'a ConfigItem, name: &str) -> Option<Cow<'a, Value>> {
    let mut chars = name.chars();
    let first = chars.next()?;
    let found = item.supplementary.get(name).or_else(|| {
        let flipped = flip(first).to_string() + chars.as_str();
        item.supplementary.get(&flipped)
    })?;
    (!found.is_null()).then(|| unwrap_json(found))
}

fn flip(c: char) -> char {
    if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c.to_ascii_uppercase()
    }
}

/// A boolean, also written as `"true"`/`"false"`.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A whole number, also written as a string.
pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-empty string.
pub fn text(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

/// The elements of an array (none for anything else).
pub fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A value that may hold JSON as a string: parsed when it is one.
pub fn unwrap_json(value: &Value) -> Cow<'_, Value> {
    match value {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(s).map_or(Cow::Borrowed(value), Cow::Owned)
        }
        _ => Cow::Borrowed(value),
    }
}

/// A policy document: an object, JSON text or URL-encoded JSON text.
/// `None` when there is no document (null, empty, `{}`); `Some(Err)` with
/// the parser's message when there is one that does not parse.
pub fn policy(value: &Value) -> Option<Result<Policy, String>> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() || s.trim() == "{}" => None,
        Value::String(s) => Some(Policy::parse(s).map_err(|e| e.to_string())),
        Value::Object(o) if o.is_empty() => None,
        Value::Object(_) => Some(Policy::from_value(value).map_err(|e| e.to_string())),
        _ => Some(Err("a policy must be a JSON object or text".to_owned())),
    }
}

/// A point in time: RFC 3339 text, or seconds (or milliseconds, for values
/// past the year 5138) since the Unix epoch.
pub fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::String(s) => OffsetDateTime::parse(s.trim(), &Rfc3339)
            .ok()
            .or_else(|| s.trim().parse::<f64>().ok().and_then(epoch)),
        Value::Number(n) => n.as_f64().and_then(epoch),
        _ => None,
    }
}

fn epoch(value: f64) -> Option<OffsetDateTime> {
    let seconds = if value.abs() > 1e11 {
        value / 1000.0
    } else {
        value
    };
    if !seconds.is_finite() {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(seconds as i64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_accept_either_first_letter_case() {
        let v = json!({"SslPolicy": "x", "ipPermissions": [1], "n": null, "m": 2});
        assert_eq!(field(&v, "sslPolicy"), Some(&json!("x")));
        assert_eq!(field(&v, "IpPermissions"), Some(&json!([1])));
        assert_eq!(any(&v, &["n", "m"]), Some(&json!(2)));
        assert!(field(&json!([1]), "a").is_none());
        assert_eq!(path(&json!({"A": {"b": 1}}), &["a", "B"]), Some(&json!(1)));
    }

    #[test]
    fn values_in_their_several_forms() {
        assert_eq!(boolean(&json!("TRUE")), Some(true));
        assert_eq!(boolean(&json!(1)), None);
        assert_eq!(integer(&json!("22")), Some(22));
        assert_eq!(
            unwrap_json(&json!("{\"a\":1}")).into_owned(),
            json!({"a": 1})
        );
        assert_eq!(
            unwrap_json(&json!("{broken")).into_owned(),
            json!("{broken")
        );
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert!(policy(&json!(encoded)).unwrap().is_ok());
        assert!(policy(&json!("")).is_none());
        assert!(policy(&json!("{\"Statement\": 3}")).unwrap().is_err());
        let t = timestamp(&json!("2024-05-01T00:00:00Z")).unwrap();
        assert_eq!(timestamp(&json!(t.unix_timestamp())), Some(t));
        assert_eq!(timestamp(&json!(t.unix_timestamp() * 1000)), Some(t));
        assert_eq!(timestamp(&json!("next week")), None);
    }
}
