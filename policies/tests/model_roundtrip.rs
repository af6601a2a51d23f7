//! Writing a policy and reading it back gives the same policy, for random
//! policies of every shape and for every document of the bundled example.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use policies::model::{
    Condition, ConditionKeys, ConditionValue, Negatable, Operator, OperatorKind, Principal,
    PrincipalKind, SetQualifier, Version,
};
use policies::{Effect, OneOrMany, Policy, Statement};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::Value;

fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => "[a-zA-Z0-9:*?/._${}-]{0,16}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn one_or_many<T: Clone + std::fmt::Debug>(
    item: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = OneOrMany<T>> {
    prop_oneof![
        item.clone().prop_map(OneOrMany::One),
        vec(item, 1..4).prop_map(OneOrMany::Many),
    ]
}

fn negatable<T: Clone + std::fmt::Debug>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Negatable<T>> {
    (any::<bool>(), value).prop_map(|(negated, value)| Negatable { negated, value })
}

fn principal() -> impl Strategy<Value = Principal> {
    let kinds = vec![
        PrincipalKind::Aws,
        PrincipalKind::Service,
        PrincipalKind::Federated,
        PrincipalKind::CanonicalUser,
    ];
    let map = subsequence(kinds, 0..=4)
        .prop_shuffle()
        .prop_flat_map(|kinds| {
            kinds
                .into_iter()
                .map(|kind| one_or_many(text()).prop_map(move |ids| (kind, ids)))
                .collect::<Vec<_>>()
        })
        .prop_map(Principal::Map);
    prop_oneof![1 => Just(Principal::Any), 3 => map]
}

fn operator() -> impl Strategy<Value = Operator> {
    (
        select(OperatorKind::ALL),
        prop_oneof![
            Just(None),
            Just(Some(SetQualifier::ForAllValues)),
            Just(Some(SetQualifier::ForAnyValue)),
        ],
        any::<bool>(),
    )
        .prop_map(|(kind, qualifier, if_exists)| {
            let plain = kind == OperatorKind::Null;
            Operator {
                qualifier: if plain { None } else { qualifier },
                kind,
                if_exists: if_exists && !plain,
            }
        })
}

fn condition_value() -> impl Strategy<Value = ConditionValue> + Clone {
    prop_oneof![
        text().prop_map(ConditionValue::String),
        any::<bool>().prop_map(ConditionValue::Bool),
        any::<i64>().prop_map(|n| ConditionValue::Number(n.to_string())),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(|n| ConditionValue::Number(n.to_string()))
        }),
    ]
}

/// Keeps the first of entries whose names collide, as a JSON object would.
fn distinct<T>(entries: Vec<(String, T)>) -> Vec<(String, T)> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|(name, _)| seen.insert(name.clone()))
        .collect()
}

fn condition() -> impl Strategy<Value = Condition> {
    let keys = vec((text(), one_or_many(condition_value())), 0..3).prop_map(distinct);
    vec((operator(), keys), 0..3).prop_map(|operators| {
        let named: Vec<(String, (Operator, ConditionKeys))> = operators
            .into_iter()
            .map(|(op, keys)| (op.to_string(), (op, keys)))
            .collect();
        Condition {
            operators: distinct(named)
                .into_iter()
                .map(|(_, entry)| entry)
                .collect(),
        }
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        proptest::option::of(text()),
        prop_oneof![Just(Effect::Allow), Just(Effect::Deny)],
        proptest::option::of(negatable(principal())),
        negatable(one_or_many(text())),
        proptest::option::of(negatable(one_or_many(text()))),
        proptest::option::of(condition()),
    )
        .prop_map(
            |(sid, effect, principal, action, resource, condition)| Statement {
                sid,
                effect,
                principal,
                action,
                resource,
                condition,
            },
        )
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop_oneof![
            Just(None),
            Just(Some(Version::V2012_10_17)),
            Just(Some(Version::V2008_10_17)),
        ],
        proptest::option::of(text()),
        prop_oneof![
            statement().prop_map(OneOrMany::One),
            vec(statement(), 0..4).prop_map(OneOrMany::Many),
        ],
    )
        .prop_map(|(version, id, statements)| Policy {
            version,
            id,
            statements,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn value_round_trip(policy in policy()) {
        let value = policy.to_value();
        prop_assert_eq!(Policy::from_value(&value).unwrap(), policy.clone());
        prop_assert_eq!(serde_json::to_value(&policy).unwrap(), value);
    }

    #[test]
    fn text_round_trip(policy in policy()) {
        let compact = policy.to_json();
        prop_assert_eq!(Policy::parse(&compact).unwrap(), policy.clone());
        let reread: Value = serde_json::from_str(&compact).unwrap();
        prop_assert_eq!(reread, policy.to_value());

        let pretty = serde_json::to_string_pretty(&policy.to_value()).unwrap();
        prop_assert_eq!(Policy::parse(&pretty).unwrap(), policy.clone());

        let encoded = utf8_percent_encode(&compact, NON_ALPHANUMERIC).to_string();
        prop_assert_eq!(Policy::parse(&encoded).unwrap(), policy);
    }
}

/// The example files that hold policies: the account export and the
/// resource policies (other example data, such as access history, holds none).
fn example_policy_files() -> Vec<PathBuf> {
    let account = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/account");
    let mut files = vec![account.join("authorization-details.json")];
    json_files(&account.join("resource-policies"), &mut files);
    files
}

fn json_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "json") {
            into.push(path);
        }
    }
}

/// The policy documents inside an export: the values of the fields AWS
/// uses for them, wherever they sit.
fn embedded_documents<'a>(value: &'a Value, into: &mut Vec<(String, &'a Value)>, at: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}.{key}");
                if matches!(
                    key.as_str(),
                    "AssumeRolePolicyDocument" | "PolicyDocument" | "Document"
                ) {
                    into.push((here, child));
                } else {
                    embedded_documents(child, into, &here);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                embedded_documents(child, into, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_example_document_round_trips() {
    let mut files = example_policy_files();
    files.sort();
    let mut checked = 0;
    for file in &files {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut documents = Vec::new();
        if value.get("Statement").is_some() {
            documents.push((String::new(), &value));
        } else {
            embedded_documents(&value, &mut documents, "");
        }
        assert!(!documents.is_empty(), "{} holds no policy", file.display());
        for (at, document) in documents {
            let policy = Policy::from_value(document)
                .unwrap_or_else(|e| panic!("{}{at}: {e}", file.display()));
            assert_eq!(&policy.to_value(), document, "{}{at}", file.display());
            assert_eq!(Policy::parse(&policy.to_json()).unwrap(), policy);
            checked += 1;
        }
    }
    // 27 documents in the authorization details, 5 resource policies.
    assert_eq!(checked, 32, "documents found in {files:?}");
}
