//! The durable form of a configuration item: what is left once fields that
//! change on their own (last-used times, transient states) are taken out,
//! and a hash of it that decides whether a collection is a new revision.
//!
//! The durable document of an item is the JSON object
//! `{"configuration": .., "supplementary": {..}, "tags": {..}, "status": ..}`
//! where `status` is `present` or `deleted` (Config's `ResourceDiscovered`
//! turning into `OK` is not a change). Ephemeral fields are named per
//! resource type by [`PathGlob`]s, JSON Pointers (RFC 6901) into that
//! document in which a segment `*` stands for any one key or array index and
//! `**` for any number of segments (including none). The hash is SHA-256 of
//! [`canonical_json`] of the document with those fields removed, so object
//! key order never matters.
//!
//! Embedded documents are read as JSON: a string value in the configuration
//! or supplementary configuration that holds a JSON
//! object, as raw text or URL-encoded (AWS Config gives IAM policy documents
//! and bucket policies so), is replaced by that object in the durable
//! document. Two encodings of one policy are then the same state, and a
//! drift names the statement that changed rather than the whole text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::ConfigItem;

/// Why an ephemeral path is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ephemeral path `{glob}` for `{resource_type}` {reason}; write a JSON Pointer such as `/configuration/roleLastUsed`, with `*` for any one key and `**` for any depth"
)]
pub struct GlobError {
    /// The resource type it was given for (`*` for every type).
    pub resource_type: String,
    /// The path as written.
    pub glob: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// One segment of a [`PathGlob`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Exactly this key (or array index written in decimal).
    Literal(String),
    /// Any one key or index.
    Any,
    /// Any number of segments, including none.
    AnyDepth,
}

/// A JSON Pointer in which a segment `*` matches any one key or index and
/// `**` any number of segments. `~0` and `~1` escape `~` and `/` as in
/// RFC 6901; a literal key `*` cannot be named (no AWS shape has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathGlob {
    text: String,
    segments: Vec<Segment>,
}

impl PathGlob {
    /// Parses a glob written for `resource_type` (named in the error only).
    pub fn parse(resource_type: &str, text: &str) -> Result<PathGlob, GlobError> {
        let fail = |reason| GlobError {
            resource_type: resource_type.to_owned(),
            glob: text.to_owned(),
            reason,
        };
        let Some(rest) = text.strip_prefix('/') else {
            return Err(fail("does not start with `/`"));
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            segments.push(match raw {
                "*" => Segment::Any,
                "**" => Segment::AnyDepth,
                _ => Segment::Literal(
                    unescape(raw).ok_or_else(|| fail("has a `~` not followed by `0` or `1`"))?,
                ),
            });
        }
        Ok(PathGlob {
            text: text.to_owned(),
            segments,
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pointer made of `path` (unescaped segments) matches.
    pub fn matches<S: AsRef<str>>(&self, path: &[S]) -> bool {
        matches_from(&self.segments, path)
    }
}

fn matches_from<S: AsRef<str>>(glob: &[Segment], path: &[S]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((Segment::AnyDepth, rest)) => {
            (0..=path.len()).any(|skip| path.get(skip..).is_some_and(|p| matches_from(rest, p)))
        }
        Some((segment, rest)) => match path.split_first() {
            None => false,
            Some((first, tail)) => {
                let here = match segment {
                    Segment::Literal(key) => key == first.as_ref(),
                    Segment::Any | Segment::AnyDepth => true,
                };
                here && matches_from(rest, tail)
            }
        },
    }
}

/// Undoes RFC 6901 escaping of one segment; `None` for a stray `~`.
pub(crate) fn unescape(segment: &str) -> Option<String> {
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Escapes one segment for a JSON Pointer (RFC 6901).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The `[history]` section of `monitor.toml` that this module reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EphemeralConfig {
    /// Whether the built-in ephemeral paths ([`Ephemeral::defaults`]) apply
    /// (`use_default_ephemeral`, default true); the configured ones are added.
    #[serde(rename = "use_default_ephemeral")]
    pub use_defaults: bool,
    /// Extra ephemeral paths per resource type (`*` for every type).
    pub ephemeral: BTreeMap<String, Vec<String>>,
}

impl Default for EphemeralConfig {
    fn default() -> Self {
        EphemeralConfig {
            use_defaults: true,
            ephemeral: BTreeMap::new(),
        }
    }
}

/// Fields that change without anyone changing the resource, per type.
///
/// Defaults (from AWS Config's item shapes):
///
/// | type | paths |
/// | --- | --- |
/// | `AWS::IAM::Role` | `/configuration/roleLastUsed` |
/// | `AWS::IAM::User` | `/configuration/passwordLastUsed` |
/// | `AWS::Lambda::Function` | `/configuration/lastModified`, `/configuration/state`, `/configuration/stateReason`, `/configuration/stateReasonCode`, `/configuration/lastUpdateStatus`, `/configuration/lastUpdateStatusReason`, `/configuration/lastUpdateStatusReasonCode` |
/// | `AWS::EC2::Instance` | `/configuration/state`, `/configuration/stateReason`, `/configuration/stateTransitionReason` |
/// | `AWS::RDS::DBInstance` | `/configuration/latestRestorableTime`, `/configuration/dBInstanceStatus` |
/// | `AWS::RDS::DBSnapshot` | `/configuration/percentProgress`, `/configuration/status` |
/// | `AWS::EC2::Snapshot` | `/configuration/progress`, `/configuration/state` |
/// | `AWS::ACM::Certificate` | `/configuration/renewalSummary/updatedAt` |
/// | `AWS::CloudTrail::Trail` | `/supplementary/*/latestDeliveryTime`, `/supplementary/*/latestDeliveryAttemptTime`, `/supplementary/*/latestNotificationTime`, `/supplementary/*/latestNotificationAttemptTime`, `/supplementary/*/latestDigestDeliveryTime`, `/supplementary/*/timeLoggingStarted`, `/supplementary/*/timeLoggingStopped` |
///
/// Lambda's `lastModified` is ephemeral because a redeploy of the same code
/// moves it; a real change also changes `codeSha256` or a setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ephemeral {
    by_type: BTreeMap<String, Vec<PathGlob>>,
    every_type: Vec<PathGlob>,
}

const DEFAULTS: &[(&str, &[&str])] = &[
    ("AWS::IAM::Role", &["/configuration/roleLastUsed"]),
    ("AWS::IAM::User", &["/configuration/passwordLastUsed"]),
    (
        "AWS::Lambda::Function",
        &[
            "/configuration/lastModified",
            "/configuration/state",
            "/configuration/stateReason",
            "/configuration/stateReasonCode",
            "/configuration/lastUpdateStatus",
            "/configuration/lastUpdateStatusReason",
            "/configuration/lastUpdateStatusReasonCode",
        ],
    ),
    (
        "AWS::EC2::Instance",
        &[
            "/configuration/state",
            "/configuration/stateReason",
            "/configuration/stateTransitionReason",
        ],
    ),
    (
        "AWS::RDS::DBInstance",
        &[
            "/configuration/latestRestorableTime",
            "/configuration/dBInstanceStatus",
        ],
    ),
    (
        "AWS::RDS::DBSnapshot",
        &["/configuration/percentProgress", "/configuration/status"],
    ),
    (
        "AWS::EC2::Snapshot",
        &["/configuration/progress", "/configuration/state"],
    ),
    (
        "AWS::ACM::Certificate",
        &["/configuration/renewalSummary/updatedAt"],
    ),
    (
        "AWS::CloudTrail::Trail",
        &[
            "/supplementary/*/latestDeliveryTime",
            "/supplementary/*/latestDeliveryAttemptTime",
            "/supplementary/*/latestNotificationTime",
            "/supplementary/*/latestNotificationAttemptTime",
            "/supplementary/*/latestDigestDeliveryTime",
            "/supplementary/*/timeLoggingStarted",
            "/supplementary/*/timeLoggingStopped",
        ],
    ),
];

impl Ephemeral {
    /// No ephemeral fields: every difference counts.
    pub fn none() -> Ephemeral {
        Ephemeral::default()
    }

    /// The built-in paths listed on [`Ephemeral`].
    pub fn defaults() -> Ephemeral {
        let mut out = Ephemeral::none();
        for (resource_type, globs) in DEFAULTS {
            for glob in *globs {
                // The built-in table is written in valid syntax (tested).
                if let Ok(glob) = PathGlob::parse(resource_type, glob) {
                    out.push(resource_type, glob);
                }
            }
        }
        out
    }

    /// The paths a `[history]` section asks for.
    pub fn from_config(config: &EphemeralConfig) -> Result<Ephemeral, GlobError> {
        let mut out = if config.use_defaults {
            Ephemeral::defaults()
        } else {
            Ephemeral::none()
        };
        for (resource_type, globs) in &config.ephemeral {
            for glob in globs {
                out.add(resource_type, glob)?;
            }
        }
        Ok(out)
    }

    /// Adds one path for `resource_type` (`*` for every type).
    pub fn add(&mut self, resource_type: &str, glob: &str) -> Result<(), GlobError> {
        let glob = PathGlob::parse(resource_type, glob)?;
        self.push(resource_type, glob);
        Ok(())
    }

    fn push(&mut self, resource_type: &str, glob: PathGlob) {
        let list = if resource_type == "*" {
            &mut self.every_type
        } else {
            self.by_type.entry(resource_type.to_owned()).or_default()
        };
        if !list.contains(&glob) {
            list.push(glob);
        }
    }

    /// The paths that apply to `resource_type`.
    pub fn globs_for<'a>(&'a self, resource_type: &str) -> impl Iterator<Item = &'a PathGlob> {
        self.every_type
            .iter()
            .chain(self.by_type.get(resource_type).into_iter().flatten())
    }

    /// Whether a pointer (unescaped segments) into the durable document of a
    /// `resource_type` item is ephemeral.
    pub fn is_ephemeral<S: AsRef<str>>(&self, resource_type: &str, path: &[S]) -> bool {
        self.globs_for(resource_type).any(|g| g.matches(path))
    }

    /// `document` with every ephemeral path of `resource_type` removed.
    pub fn strip(&self, resource_type: &str, document: &mut Value) {
        let globs: Vec<&PathGlob> = self.globs_for(resource_type).collect();
        if globs.is_empty() {
            return;
        }
        let mut path = Vec::new();
        strip_at(&globs, document, &mut path);
    }

    /// The durable document of an item (see the module documentation), with
    /// its ephemeral fields removed.
    pub fn durable_document(&self, item: &ConfigItem) -> Value {
        let mut document = raw_document(item);
        self.strip(&item.key.resource_type, &mut document);
        document
    }

    /// The durable hash of an item: hex SHA-256 of the canonical JSON of its
    /// durable document.
    pub fn durable_hash(&self, item: &ConfigItem) -> String {
        hash_document(&self.durable_document(item))
    }
}

/// The durable document before ephemeral fields are removed.
fn raw_document(item: &ConfigItem) -> Value {
    let mut document = Map::new();
    document.insert("configuration".to_owned(), item.configuration.clone());
    document.insert(
        "supplementary".to_owned(),
        Value::Object(
            item.supplementary
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    );
    document.insert(
        "tags".to_owned(),
        Value::Object(
            item.tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
    );
    for part in ["configuration", "supplementary"] {
        if let Some(value) = document.get_mut(part) {
            expand_embedded(value);
        }
    }
    let status = if item.status.is_deleted() {
        "deleted"
    } else {
        "present"
    };
    document.insert("status".to_owned(), Value::String(status.to_owned()));
    Value::Object(document)
}

/// Replaces, at any depth, strings that hold a JSON object (raw or
/// URL-encoded) by the object.
fn expand_embedded(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Some(object) = embedded_object(text) {
                *value = object;
                expand_embedded(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(expand_embedded),
        Value::Object(map) => map.values_mut().for_each(expand_embedded),
        _ => {}
    }
}

/// The JSON object a string holds, if it holds one.
fn embedded_object(text: &str) -> Option<Value> {
    let text = text.trim();
    let decoded;
    let json = if text.starts_with('{') {
        text
    } else if text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%7B")) {
        decoded = percent_decode(text)?;
        decoded.as_str()
    } else {
        return None;
    };
    serde_json::from_str::<Value>(json)
        .ok()
        .filter(Value::is_object)
}

/// Undoes URL encoding (`%XX`); `None` when the result is not UTF-8 or an
/// escape is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Removes the children of `value` (at `path`) that a glob matches, and
/// walks into the rest.
fn strip_at(globs: &[&PathGlob], value: &mut Value, path: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| {
                path.push(key.clone());
                let keep = !globs.iter().any(|g| g.matches(path));
                path.pop();
                keep
            });
            for (key, child) in map.iter_mut() {
                path.push(key.clone());
                strip_at(globs, child, path);
                path.pop();
            }
        }
        Value::Array(items) => {
            let mut index = 0usize;
            items.retain(|_| {
                path.push(index.to_string());
                let keep = !globs.iter().any(|g| g.matches(path));
                path.pop();
                index += 1;
                keep
            });
            for (index, child) in items.iter_mut().enumerate() {
                path.push(index.to_string());
                strip_at(globs, child, path);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Hex SHA-256 of [`canonical_json`] of a document.
pub fn hash_document(document: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(document).as_bytes()))
}

/// JSON with object keys sorted (by their UTF-8 bytes) and no whitespace:
/// two documents that differ only in key order give the same text.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemStatus, ResourceKey};
    use serde_json::json;

    fn role(configuration: Value) -> ConfigItem {
        ConfigItem {
            key: ResourceKey {
                account: "111122223333".into(),
                region: "global".into(),
                resource_type: "AWS::IAM::Role".into(),
                resource_id: "AROAEXAMPLE".into(),
            },
            arn: None,
            name: Some("web".into()),
            status: ItemStatus::Ok,
            capture_time: None,
            configuration,
            supplementary: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn defaults_parse() {
        let defaults = Ephemeral::defaults();
        let count: usize = DEFAULTS.iter().map(|(_, g)| g.len()).sum();
        let parsed: usize = defaults.by_type.values().map(Vec::len).sum();
        assert_eq!(count, parsed);
    }

    #[test]
    fn ephemeral_fields_do_not_change_the_hash() {
        let e = Ephemeral::defaults();
        let a = role(json!({"roleName": "web", "roleLastUsed": {"lastUsedDate": "2026-01-01"}}));
        let b = role(json!({"roleLastUsed": {"lastUsedDate": "2026-02-01"}, "roleName": "web"}));
        assert_eq!(e.durable_hash(&a), e.durable_hash(&b));
        assert_ne!(
            Ephemeral::none().durable_hash(&a),
            Ephemeral::none().durable_hash(&b)
        );
        let c = role(json!({"roleName": "api"}));
        assert_ne!(e.durable_hash(&a), e.durable_hash(&c));
    }

    #[test]
    fn discovered_and_ok_are_the_same_state_but_deleted_is_not() {
        let e = Ephemeral::defaults();
        let a = role(json!({"roleName": "web"}));
        let mut b = a.clone();
        b.status = ItemStatus::Discovered;
        assert_eq!(e.durable_hash(&a), e.durable_hash(&b));
        b.status = ItemStatus::Deleted;
        assert_ne!(e.durable_hash(&a), e.durable_hash(&b));
    }

    #[test]
    fn globs_match_any_key_and_any_depth() {
        let g = PathGlob::parse("*", "/configuration/*/updatedAt").unwrap();
        assert!(g.matches(&["configuration", "x", "updatedAt"]));
        assert!(!g.matches(&["configuration", "updatedAt"]));
        let g = PathGlob::parse("*", "/**/updatedAt").unwrap();
        assert!(g.matches(&["updatedAt"]));
        assert!(g.matches(&["configuration", "a", "0", "updatedAt"]));
        assert!(!g.matches(&["configuration", "updatedAtX"]));
        let g = PathGlob::parse("*", "/tags/a~1b~0c").unwrap();
        assert!(g.matches(&["tags", "a/b~c"]));
        assert!(PathGlob::parse("T", "configuration").is_err());
        let err = PathGlob::parse("T", "/a~2").unwrap_err();
        assert!(err.to_string().contains("`/a~2`"));
    }

    #[test]
    fn strip_walks_into_arrays() {
        let mut e = Ephemeral::none();
        e.add("AWS::IAM::Role", "/configuration/items/*/seen")
            .unwrap();
        let a = role(json!({"items": [{"id": 1, "seen": 5}, {"id": 2, "seen": 6}]}));
        assert_eq!(
            e.durable_document(&a)["configuration"],
            json!({"items": [{"id": 1}, {"id": 2}]})
        );
    }

    #[test]
    fn config_adds_to_or_replaces_defaults() {
        let config: EphemeralConfig = toml::from_str(
            "use_default_ephemeral = false\n[ephemeral]\n\"*\" = [\"/configuration/version\"]\n",
        )
        .unwrap();
        let e = Ephemeral::from_config(&config).unwrap();
        assert!(e.is_ephemeral("AWS::S3::Bucket", &["configuration", "version"]));
        assert!(!e.is_ephemeral("AWS::IAM::Role", &["configuration", "roleLastUsed"]));
        let e = Ephemeral::from_config(&EphemeralConfig::default()).unwrap();
        assert!(e.is_ephemeral("AWS::IAM::Role", &["configuration", "roleLastUsed"]));
        let bad: EphemeralConfig = toml::from_str("[ephemeral]\nX = [\"nope\"]\n").unwrap();
        assert!(Ephemeral::from_config(&bad).is_err());
    }

    #[test]
    fn embedded_policies_are_read_as_json_whatever_their_encoding() {
        let e = Ephemeral::none();
        let raw = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let a = role(json!({"rolePolicyList": [{"policyName": "p", "policyDocument": raw}]}));
        let b = role(json!({"rolePolicyList": [{"policyName": "p", "policyDocument": encoded}]}));
        assert_eq!(e.durable_hash(&a), e.durable_hash(&b));
        assert_eq!(
            e.durable_document(&a)["configuration"]["rolePolicyList"][0]["policyDocument"]["Statement"]
                [0]["Action"],
            json!("s3:GetObject")
        );
        // Text that only looks like JSON stays text.
        let c = role(json!({"note": "{not json", "pct": "%7Bzz%ZZ"}));
        assert_eq!(
            e.durable_document(&c)["configuration"]["note"],
            json!("{not json")
        );
        assert_eq!(
            e.durable_document(&c)["configuration"]["pct"],
            json!("%7Bzz%ZZ")
        );
    }

    #[test]
    fn canonical_json_sorts_keys_and_escapes() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, {"d": null, "c": true}], "a": "x\"\u0001"}"#)
                .unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"x\"\u0001","b":[1,{"c":true,"d":null}]}"#
        );
        let back: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(back, v);
    }
}
