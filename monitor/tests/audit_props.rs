//! Properties of the auditor on arbitrary configuration: it never panics,
//! whatever JSON AWS (or anyone) puts in an item, and the issues (ids and
//! all) do not depend on the order the items came in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;

use monitor::audit::{AUDITED_TYPES, AuditSettings, Auditor, Index, checks};
use monitor::model::{ConfigItem, IssueId, ItemStatus, ResourceKey};
use policies::catalogue::Catalogue;
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::datetime;

/// Field names the auditors look for, so generated objects reach them.
const KEYS: &[&str] = &[
    "assumeRolePolicyDocument",
    "rolePolicyList",
    "userPolicyList",
    "groupPolicyList",
    "policyName",
    "policyDocument",
    "attachedManagedPolicies",
    "policyArn",
    "groupList",
    "policyVersionList",
    "document",
    "isDefaultVersion",
    "versionId",
    "defaultVersionId",
    "attachmentCount",
    "permissionsBoundaryUsageCount",
    "arn",
    "policyText",
    "grantList",
    "grantee",
    "permission",
    "uri",
    "rules",
    "destinationBucketName",
    "blockPublicAcls",
    "ignorePublicAcls",
    "blockPublicPolicy",
    "restrictPublicBuckets",
    "ipPermissions",
    "ipProtocol",
    "fromPort",
    "toPort",
    "ipv4Ranges",
    "ipv6Ranges",
    "ipRanges",
    "cidrIp",
    "cidrIpv6",
    "createVolumePermissions",
    "group",
    "userId",
    "encrypted",
    "keyManager",
    "keySpec",
    "keyState",
    "origin",
    "keyRotationEnabled",
    "Policy",
    "Attributes",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "FunctionUrlConfig",
    "AuthType",
    "Qualifier",
    "isLogging",
    "isMultiRegionTrail",
    "logFileValidationEnabled",
    "status",
    "publiclyAccessible",
    "storageEncrypted",
    "DBSnapshotAttributes",
    "attributeName",
    "attributeValues",
    "listeners",
    "sslPolicy",
    "port",
    "listenerDescriptions",
    "listener",
    "loadBalancerPort",
    "policyNames",
    "notAfter",
    "domainName",
    "Statement",
    "Effect",
    "Principal",
    "AWS",
    "Action",
    "Resource",
    "Condition",
    "Version",
    "Sid",
    "NotAction",
];

/// Supplementary configuration names.
const SUPPLEMENTARY: &[&str] = &[
    "BucketPolicy",
    "AccessControlList",
    "PublicAccessBlockConfiguration",
    "ServerSideEncryptionConfiguration",
    "BucketLoggingConfiguration",
    "Policy",
    "KeyRotationStatus",
    "IsLogging",
    "DBSnapshotAttributes",
    "FunctionUrlConfig",
    "CreateVolumePermissions",
];

fn words() -> Vec<Value> {
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "*", "Resource": "*"}]});
    let cross = json!({"Version": "2012-10-17", "Statement": [{"Sid": "X", "Effect": "Allow",
        "Principal": {"AWS": ["999988887777", "arn:aws:iam::123456789012:root"]},
        "Action": ["iam:PassRole", "lambda:*", "sts:AssumeRole"], "Resource": "*"}]});
    vec![
        json!("0.0.0.0/0"),
        json!("::/0"),
        json!("tcp"),
        json!("-1"),
        json!("icmp"),
        json!("NONE"),
        json!("all"),
        json!("restore"),
        json!("true"),
        json!("false"),
        json!("AllUsers"),
        json!("SYMMETRIC_DEFAULT"),
        json!("CUSTOMER"),
        json!("Enabled"),
        json!("AWS_KMS"),
        json!("ELBSecurityPolicy-2016-08"),
        json!("2024-05-10T00:00:00Z"),
        json!("999988887777"),
        json!("123456789012"),
        json!("111122223333"),
        json!("developers"),
        json!("arn:aws:iam::111122223333:policy/p"),
        json!("arn:aws:iam::aws:policy/AdministratorAccess"),
        json!("*"),
        json!("Allow"),
        json!("Deny"),
        json!("s3:GetObject"),
        json!("%7B%22"),
        Value::String(public.to_string()),
        Value::String(cross.to_string()),
        public,
        cross,
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e13f64..1e13).prop_map(Value::from),
        prop::sample::select(words()),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn item() -> impl Strategy<Value = ConfigItem> {
    let mut types: Vec<&'static str> = AUDITED_TYPES.to_vec();
    types.extend(["AWS::S3::AccountPublicAccessBlock", "AWS::EC2::Instance"]);
    (
        prop::sample::select(types),
        prop::sample::select(vec!["a", "b", "c"]),
        prop::option::of(prop::sample::select(vec!["developers", "p", "x"])),
        prop::option::of(prop::sample::select(vec![
            "arn:aws:iam::111122223333:policy/p",
            "arn:aws:s3:::a",
        ])),
        prop::bool::weighted(0.1),
        json_value(),
        prop::collection::btree_map(prop::sample::select(SUPPLEMENTARY), json_value(), 0..4),
    )
        .prop_map(
            |(resource_type, id, name, arn, deleted, configuration, supplementary)| ConfigItem {
                key: ResourceKey {
                    account: "111122223333".into(),
                    region: if resource_type.starts_with("AWS::IAM::") {
                        "global"
                    } else {
                        "us-east-1"
                    }
                    .into(),
                    resource_type: resource_type.into(),
                    resource_id: id.into(),
                },
                arn: arn.map(str::to_owned),
                name: name.map(str::to_owned),
                status: if deleted {
                    ItemStatus::Deleted
                } else {
                    ItemStatus::Ok
                },
                capture_time: None,
                configuration,
                supplementary: supplementary
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<BTreeMap<_, _>>(),
                tags: BTreeMap::new(),
            },
        )
}

fn settings() -> AuditSettings {
    AuditSettings::from_toml(
        "[audit]\nfriendly_accounts = ['444455556666']\n[audit.third_party_accounts]\n'999988887777' = 'vendor'\n",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn auditing_never_panics_and_ids_do_not_depend_on_order(
        (items, shuffled) in prop::collection::vec(item(), 0..12)
            .prop_flat_map(|items| (Just(items.clone()), Just(items).prop_shuffle()))
    ) {
        let auditor = Auditor::new(&settings(), Catalogue::builtin());
        let now = datetime!(2024-05-01 00:00 UTC);
        let first = auditor.audit(&items.into_iter().collect::<Index>(), now);
        let second = auditor.audit(&shuffled.into_iter().collect::<Index>(), now);
        prop_assert_eq!(&first, &second);
        for issue in &first {
            prop_assert_eq!(&issue.id, &IssueId::new(&issue.resource, &issue.check, &issue.detail));
            prop_assert!(issue.score <= 10);
            prop_assert!(checks::find(&issue.check).is_some(), "unknown check {}", issue.check);
        }
    }
}
