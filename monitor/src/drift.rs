//! What changed: a path-level diff between two JSON documents (two
//! revisions of a resource), and drift of current resources against a
//! declared baseline.
//!
//! # The diff
//!
//! [`diff`] answers a list of [`PathChange`]s whose paths are RFC 6901 JSON
//! Pointers. Applied in order with [`apply`] (the semantics of JSON Patch,
//! RFC 6902: `before` only = remove, `after` only = add, both = replace) they
//! turn the first document into the second, and the list is empty exactly
//! when the two are equal.
//!
//! - Objects: keys in sorted order; a key only before is removed, only after
//!   added, in both compared recursively.
//! - Scalars, or values of different kinds: one replacement.
//! - Arrays are aligned, not compared index by index. Elements equal on both
//!   sides are matched along a longest common subsequence; between two
//!   matched elements, the unmatched ones before and after are paired in
//!   order (and compared recursively), and what is left over is removed or
//!   added. So inserting one security group rule or policy statement into a
//!   list reports one added element, not every later element changed, and
//!   editing one rule reports the fields of that rule. Indices in the paths
//!   are those of the document as it is while the changes are applied in
//!   order: an addition's index is its index in the new array. Reordering
//!   elements is reported (as removals and additions), because the order of
//!   some lists matters.
//!
//! Ephemeral fields are not compared: [`diff_items`] diffs the durable
//! documents of two items (see [`crate::durable`]), from which they are
//! already removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::durable::{Ephemeral, canonical_json, escape, unescape};
use crate::model::{ConfigItem, PathChange, ResourceKey};

/// Above this many element pairs an array is aligned by its common prefix
/// and suffix only (then positionally), to bound time and memory.
const MAX_ALIGNMENT_CELLS: usize = 4_000_000;

/// The changes that turn `before` into `after` (see the module documentation).
pub fn diff(before: &Value, after: &Value) -> Vec<PathChange> {
    let mut out = Vec::new();
    diff_at(&mut String::new(), before, after, &mut out);
    out
}

/// The changes between the durable documents of two items: what changed in
/// configuration, supplementary configuration, tags and existence, leaving
/// out the ephemeral fields of the `after` item's type.
pub fn diff_items(
    ephemeral: &Ephemeral,
    before: &ConfigItem,
    after: &ConfigItem,
) -> Vec<PathChange> {
    diff(
        &ephemeral.durable_document(before),
        &ephemeral.durable_document(after),
    )
}

fn change(path: &str, before: Option<&Value>, after: Option<&Value>) -> PathChange {
    PathChange {
        path: path.to_owned(),
        before: before.cloned(),
        after: after.cloned(),
    }
}

fn diff_at(path: &mut String, before: &Value, after: &Value, out: &mut Vec<PathChange>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&escape(key));
                match (b.get(key), a.get(key)) {
                    (Some(bv), Some(av)) => diff_at(path, bv, av, out),
                    (bv, av) => out.push(change(path, bv, av)),
                }
                path.truncate(len);
            }
        }
        (Value::Array(b), Value::Array(a)) => diff_arrays(path, b, a, out),
        _ if before == after => {}
        _ => out.push(change(path, Some(before), Some(after))),
    }
}

/// Pairs of (before index, after index) of equal elements, increasing in both.
fn common_subsequence(before: &[Value], after: &[Value]) -> Vec<(usize, usize)> {
    let b: Vec<String> = before.iter().map(canonical_json).collect();
    let a: Vec<String> = after.iter().map(canonical_json).collect();
    let same = |i: usize, j: usize| b.get(i).is_some_and(|x| a.get(j) == Some(x));
    let mut prefix = 0;
    while prefix < b.len() && prefix < a.len() && same(prefix, prefix) {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < b.len() - prefix
        && suffix < a.len() - prefix
        && same(b.len() - 1 - suffix, a.len() - 1 - suffix)
    {
        suffix += 1;
    }
    let mut pairs: Vec<(usize, usize)> = (0..prefix).map(|i| (i, i)).collect();
    let (n, m) = (b.len() - prefix - suffix, a.len() - prefix - suffix);
    if n > 0 && m > 0 && n.saturating_mul(m) <= MAX_ALIGNMENT_CELLS {
        // Classic dynamic programme over the middle: lengths[i][j] is the
        // length of the longest common subsequence of b[i..] and a[j..].
        let width = m + 1;
        let mut lengths = vec![0u32; (n + 1) * width];
        let at = |i: usize, j: usize| i * width + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                let value = if same(prefix + i, prefix + j) {
                    lengths.get(at(i + 1, j + 1)).copied().unwrap_or(0) + 1
                } else {
                    let down = lengths.get(at(i + 1, j)).copied().unwrap_or(0);
                    let right = lengths.get(at(i, j + 1)).copied().unwrap_or(0);
                    down.max(right)
                };
                if let Some(cell) = lengths.get_mut(at(i, j)) {
                    *cell = value;
                }
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if same(prefix + i, prefix + j) {
                pairs.push((prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if lengths.get(at(i + 1, j)) >= lengths.get(at(i, j + 1)) {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    pairs.extend((0..suffix).map(|k| (b.len() - suffix + k, a.len() - suffix + k)));
    pairs
}

fn diff_arrays(path: &mut String, before: &[Value], after: &[Value], out: &mut Vec<PathChange>) {
    let anchors = common_subsequence(before, after);
    // `index` is the position in the array being transformed, which after
    // each step equals the number of `after` elements already in place.
    let mut index = 0usize;
    let (mut bi, mut ai) = (0usize, 0usize);
    let ends = anchors.into_iter().map(Some).chain(std::iter::once(None));
    for anchor in ends {
        let (b_end, a_end) = anchor.unwrap_or((before.len(), after.len()));
        let removed = before.get(bi..b_end).unwrap_or_default();
        let added = after.get(ai..a_end).unwrap_or_default();
        let paired = removed.len().min(added.len());
        let len = path.len();
        for (b, a) in removed.iter().zip(added) {
            path.push('/');
            path.push_str(&index.to_string());
            diff_at(path, b, a, out);
            path.truncate(len);
            index += 1;
        }
        for b in removed.iter().skip(paired) {
            out.push(change(&format!("{path}/{index}"), Some(b), None));
        }
        for a in added.iter().skip(paired) {
            out.push(change(&format!("{path}/{index}"), None, Some(a)));
            index += 1;
        }
        if anchor.is_some() {
            index += 1;
        }
        bi = b_end + 1;
        ai = a_end + 1;
    }
}

/// Why [`apply`] could not apply a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change at `{path}` does not apply: {reason}; the changes belong to another document")]
pub struct ApplyError {
    /// The change's path.
    pub path: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// Applies changes in order, with JSON Patch semantics (see the module
/// documentation), to `document`.
pub fn apply(document: &mut Value, changes: &[PathChange]) -> Result<(), ApplyError> {
    for c in changes {
        apply_one(document, c)?;
    }
    Ok(())
}

fn apply_one(document: &mut Value, c: &PathChange) -> Result<(), ApplyError> {
    let fail = |reason| ApplyError {
        path: c.path.clone(),
        reason,
    };
    if c.path.is_empty() {
        *document = c
            .after
            .clone()
            .ok_or_else(|| fail("the root cannot be removed"))?;
        return Ok(());
    }
    let rest = c
        .path
        .strip_prefix('/')
        .ok_or_else(|| fail("the path does not start with `/`"))?;
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        segments.push(unescape(raw).ok_or_else(|| fail("the path has a bad `~` escape"))?);
    }
    let Some((last, parents)) = segments.split_last() else {
        return Err(fail("the path is empty"));
    };
    let mut target = document;
    for segment in parents {
        target = match target {
            Value::Object(map) => map.get_mut(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| fail("a parent is missing"))?;
    }
    match target {
        Value::Object(map) => {
            match &c.after {
                Some(after) => {
                    map.insert(last.clone(), after.clone());
                }
                None => {
                    map.remove(last).ok_or_else(|| fail("the key is missing"))?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let i: usize = last
                .parse()
                .map_err(|_| fail("the index is not a number"))?;
            match (&c.before, &c.after) {
                (Some(_), Some(after)) => {
                    *items
                        .get_mut(i)
                        .ok_or_else(|| fail("the index is out of range"))? = after.clone();
                }
                (None, Some(after)) if i <= items.len() => items.insert(i, after.clone()),
                (Some(_), None) if i < items.len() => {
                    items.remove(i);
                }
                _ => return Err(fail("the index is out of range")),
            }
            Ok(())
        }
        _ => Err(fail("the parent is not an object or array")),
    }
}

/// How a resource differs from the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "drift", rename_all = "kebab-case")]
pub enum BaselineDrift {
    /// In the baseline, but absent (or deleted) now.
    Missing {
        /// Which resource.
        key: ResourceKey,
    },
    /// Present now, of a type the baseline covers in that account and
    /// region, but not in the baseline.
    Unexpected {
        /// Which resource.
        key: ResourceKey,
    },
    /// Present in both, with different durable configuration.
    Changed {
        /// Which resource.
        key: ResourceKey,
        /// What changed from the baseline to now.
        changes: Vec<PathChange>,
    },
}

impl BaselineDrift {
    /// The resource it is about.
    pub fn key(&self) -> &ResourceKey {
        match self {
            BaselineDrift::Missing { key }
            | BaselineDrift::Unexpected { key }
            | BaselineDrift::Changed { key, .. } => key,
        }
    }
}

fn live(items: &[ConfigItem]) -> BTreeMap<ResourceKey, &ConfigItem> {
    items
        .iter()
        .filter(|i| !i.status.is_deleted())
        .map(|i| (i.key.clone(), i))
        .collect()
}

/// Compares current items with a baseline (a list of items, e.g. read from
/// a Config snapshot, that says how things should be).
///
/// Resources are matched by key. Deleted items on either side count as
/// absent. With `report_unexpected`, a current resource not in the baseline
/// is reported when the baseline holds at least one resource of its type in
/// its account and region (a baseline of security groups says nothing about
/// buckets). The answer is sorted by resource key.
pub fn against_baseline(
    ephemeral: &Ephemeral,
    baseline: &[ConfigItem],
    current: &[ConfigItem],
    report_unexpected: bool,
) -> Vec<BaselineDrift> {
    let declared = live(baseline);
    let now = live(current);
    let covered: HashMap<(&str, &str, &str), ()> = declared
        .keys()
        .map(|k| {
            (
                (
                    k.account.as_str(),
                    k.region.as_str(),
                    k.resource_type.as_str(),
                ),
                (),
            )
        })
        .collect();
    let mut out = Vec::new();
    for (key, want) in &declared {
        match now.get(key) {
            None => out.push(BaselineDrift::Missing { key: key.clone() }),
            Some(have) => {
                let changes = diff_items(ephemeral, want, have);
                if !changes.is_empty() {
                    out.push(BaselineDrift::Changed {
                        key: key.clone(),
                        changes,
                    });
                }
            }
        }
    }
    if report_unexpected {
        for key in now.keys() {
            let scope = (
                key.account.as_str(),
                key.region.as_str(),
                key.resource_type.as_str(),
            );
            if !declared.contains_key(key) && covered.contains_key(&scope) {
                out.push(BaselineDrift::Unexpected { key: key.clone() });
            }
        }
    }
    out.sort_by(|a, b| a.key().cmp(b.key()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(before: Value, after: Value) -> Vec<PathChange> {
        let changes = diff(&before, &after);
        let mut applied = before.clone();
        apply(&mut applied, &changes).unwrap();
        assert_eq!(applied, after, "changes {changes:?}");
        changes
    }

    #[test]
    fn one_inserted_rule_is_one_addition() {
        let rule = |port: u16| json!({"fromPort": port, "toPort": port, "ipProtocol": "tcp"});
        let before = json!({"ipPermissions": [rule(22), rule(80), rule(443)]});
        let after = json!({"ipPermissions": [rule(22), rule(8080), rule(80), rule(443)]});
        let changes = round_trip(before, after);
        assert_eq!(
            changes,
            vec![PathChange {
                path: "/ipPermissions/1".into(),
                before: None,
                after: Some(rule(8080)),
            }]
        );
    }

    #[test]
    fn an_edited_element_reports_its_fields() {
        let before = json!({"s": [{"Effect": "Allow", "Action": "s3:Get*"}, {"Effect": "Deny"}]});
        let after = json!({"s": [{"Effect": "Allow", "Action": "s3:*"}, {"Effect": "Deny"}]});
        let changes = round_trip(before, after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "/s/0/Action");
        assert_eq!(changes[0].before, Some(json!("s3:Get*")));
    }

    #[test]
    fn removals_and_keys_with_slashes() {
        round_trip(json!([1, 2, 3, 4]), json!([1, 4]));
        round_trip(json!([1, 2, 3]), json!([3, 2, 1]));
        round_trip(json!({"a/b": 1, "c~": 2}), json!({"a/b": 2}));
        let changes = round_trip(json!({"a/b": 1}), json!({"a/b": 2}));
        assert_eq!(changes[0].path, "/a~1b");
        round_trip(json!({"a": [1]}), json!({"a": {"0": 1}}));
        round_trip(json!(1), json!("x"));
        assert!(diff(&json!({"a": [1, {"b": 2}]}), &json!({"a": [1, {"b": 2}]})).is_empty());
    }

    #[test]
    fn large_arrays_fall_back_to_positions() {
        let before: Vec<Value> = (0..3000).map(|i| json!(i)).collect();
        let mut after = before.clone();
        after.reverse();
        round_trip(Value::Array(before), Value::Array(after));
    }

    #[test]
    fn apply_refuses_foreign_changes() {
        let mut doc = json!({"a": [1]});
        let bad = PathChange {
            path: "/b/c".into(),
            before: None,
            after: Some(json!(1)),
        };
        assert!(apply(&mut doc, &[bad]).is_err());
    }
}
