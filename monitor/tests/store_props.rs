//! Properties of the path diff and the durable hash, and baseline drift.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeMap;

use monitor::drift::{BaselineDrift, against_baseline, apply, diff, diff_items};
use monitor::durable::{Ephemeral, canonical_json};
use monitor::model::{ConfigItem, ItemStatus, ResourceKey};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// JSON documents small enough to shrink well, with keys that need
/// escaping in a JSON Pointer (`/`, `~`) and arrays of repeated elements.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(|n| json!(n)),
        "[ab/~]{0,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[ab/~]{0,2}", inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `after` as a small edit of `before`, so that diffs are mostly partial.
fn edited(before: Value) -> impl Strategy<Value = (Value, Value)> {
    (
        Just(before.clone()),
        json_value(),
        any::<prop::sample::Index>(),
        0..4u8,
    )
        .prop_map(|(before, other, index, how)| {
            let mut after = before.clone();
            edit(&mut after, &other, index, how);
            (before, after)
        })
}

/// Replaces, inserts or removes one element somewhere in `value`.
fn edit(value: &mut Value, other: &Value, index: prop::sample::Index, how: u8) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            let i = index.index(items.len());
            match how {
                0 => items.insert(i, other.clone()),
                1 => {
                    items.remove(i);
                }
                2 => edit(&mut items[i], other, index, how),
                _ => items[i] = other.clone(),
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(index.index(map.len())).cloned().unwrap();
            match how {
                0 => {
                    map.insert(format!("{key}+"), other.clone());
                }
                1 => {
                    map.remove(&key);
                }
                2 => edit(map.get_mut(&key).unwrap(), other, index, how),
                _ => {
                    map.insert(key, other.clone());
                }
            }
        }
        _ => *value = other.clone(),
    }
}

/// The same document with every object's keys in reverse insertion order.
fn reordered(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> =
                map.iter().map(|(k, v)| (k.clone(), reordered(v))).collect();
            entries.reverse();
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(reordered).collect()),
        other => other.clone(),
    }
}

fn item(resource_type: &str, id: &str, configuration: Value) -> ConfigItem {
    ConfigItem {
        key: ResourceKey {
            account: "111111111111".into(),
            region: "us-east-1".into(),
            resource_type: resource_type.into(),
            resource_id: id.into(),
        },
        arn: None,
        name: None,
        status: ItemStatus::Ok,
        capture_time: None,
        configuration,
        supplementary: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

/// Named so that `scripts/test -p monitor store` selects them.
mod store_drift {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn applying_the_diff_gives_the_after_document(before in json_value(), after in json_value()) {
            let changes = diff(&before, &after);
            let mut applied = before.clone();
            apply(&mut applied, &changes).unwrap();
            prop_assert_eq!(&applied, &after);
            prop_assert_eq!(changes.is_empty(), before == after);
        }

        #[test]
        fn applying_the_diff_of_an_edit_gives_the_edit((before, after) in json_value().prop_flat_map(edited)) {
            let changes = diff(&before, &after);
            let mut applied = before.clone();
            apply(&mut applied, &changes).unwrap();
            prop_assert_eq!(&applied, &after);
            prop_assert_eq!(changes.is_empty(), before == after);
        }

        #[test]
        fn key_order_never_matters(value in json_value()) {
            let other = reordered(&value);
            prop_assert_eq!(canonical_json(&value), canonical_json(&other));
            let e = Ephemeral::defaults();
            let a = item("AWS::S3::Bucket", "b", value.clone());
            let b = item("AWS::S3::Bucket", "b", other);
            prop_assert_eq!(e.durable_hash(&a), e.durable_hash(&b));
            prop_assert!(diff_items(&e, &a, &b).is_empty());
        }

        #[test]
        fn the_hash_changes_iff_the_durable_document_does(x in json_value(), y in json_value()) {
            let e = Ephemeral::defaults();
            let a = item("AWS::S3::Bucket", "b", x.clone());
            let b = item("AWS::S3::Bucket", "b", y.clone());
            prop_assert_eq!(e.durable_hash(&a) == e.durable_hash(&b), x == y);
        }

        #[test]
        fn ephemeral_paths_never_show_in_diffs_or_hashes(x in json_value(), y in json_value(), z in json_value()) {
            let e = Ephemeral::defaults();
            let role = |last_used: &Value| {
                item("AWS::IAM::Role", "r", json!({"roleName": z.clone(), "roleLastUsed": last_used}))
            };
            let (a, b) = (role(&x), role(&y));
            prop_assert_eq!(e.durable_hash(&a), e.durable_hash(&b));
            prop_assert!(diff_items(&e, &a, &b).is_empty());
        }
    }

    #[test]
    fn baseline_drift_reports_missing_unexpected_and_changed() {
        let e = Ephemeral::defaults();
        let sg = |id: &str, port: u16| {
            item(
                "AWS::EC2::SecurityGroup",
                id,
                json!({"groupId": id, "ipPermissions": [{"fromPort": port, "toPort": port}]}),
            )
        };
        let bucket = item("AWS::S3::Bucket", "logs", json!({"name": "logs"}));
        let baseline = vec![sg("sg-1", 22), sg("sg-2", 443), sg("sg-3", 80)];
        let mut gone = sg("sg-3", 80);
        gone.status = ItemStatus::Deleted;
        let current = vec![
            sg("sg-1", 22),
            sg("sg-2", 8443),
            sg("sg-4", 80),
            gone,
            bucket,
        ];

        let drift = against_baseline(&e, &baseline, &current, true);
        let summary: Vec<(String, &str)> = drift
            .iter()
            .map(|d| {
                let kind = match d {
                    BaselineDrift::Missing { .. } => "missing",
                    BaselineDrift::Unexpected { .. } => "unexpected",
                    BaselineDrift::Changed { .. } => "changed",
                };
                (d.key().resource_id.clone(), kind)
            })
            .collect();
        // The bucket is not reported: the baseline says nothing about buckets.
        assert_eq!(
            summary,
            vec![
                ("sg-2".to_owned(), "changed"),
                ("sg-3".to_owned(), "missing"),
                ("sg-4".to_owned(), "unexpected"),
            ]
        );
        let BaselineDrift::Changed { changes, .. } = &drift[0] else {
            unreachable!("sorted by key")
        };
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/configuration/ipPermissions/0/fromPort",
                "/configuration/ipPermissions/0/toPort"
            ]
        );
        assert_eq!(against_baseline(&e, &baseline, &current, false).len(), 2);
        assert!(against_baseline(&e, &baseline, &baseline, true).is_empty());
    }

    #[test]
    fn an_added_policy_statement_is_one_change_whatever_the_encoding() {
        let e = Ephemeral::defaults();
        let statement =
            |action: &str| json!({"Effect": "Allow", "Action": action, "Resource": "*"});
        let encode = |policy: &Value| {
            // URL-encoding as IAM does it: everything but unreserved characters.
            policy
                .to_string()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        let role = |document: String| {
            item(
                "AWS::IAM::Role",
                "AROAWEB",
                json!({"roleName": "web", "rolePolicyList": [{"policyName": "inline", "policyDocument": document}]}),
            )
        };
        let before = json!({"Version": "2012-10-17", "Statement": [statement("s3:GetObject"), statement("sqs:SendMessage")]});
        let after = json!({"Version": "2012-10-17", "Statement": [statement("s3:GetObject"), statement("iam:PassRole"), statement("sqs:SendMessage")]});
        // The old revision was collected raw, the new one URL-encoded.
        let changes = diff_items(&e, &role(before.to_string()), &role(encode(&after)));
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            changes[0].path,
            "/configuration/rolePolicyList/0/policyDocument/Statement/1"
        );
        assert_eq!(changes[0].after, Some(statement("iam:PassRole")));
        assert!(diff_items(&e, &role(before.to_string()), &role(encode(&before))).is_empty());
    }
}
