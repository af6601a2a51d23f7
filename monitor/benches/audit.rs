//! Audits 100,000 configuration items: a generated mix of the audited types
//! (IAM about 20%), shaped as AWS Config records them, with per-item names,
//! ARNs and policies so that nothing is cached across items that would not
//! be in a real account. Target: under 2 s on one core.
//!
//! `cargo bench -p monitor --bench audit -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "bench; criterion_group! makes an undocumented fn"
)]

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use monitor::audit::{AuditSettings, Auditor, Index};
use monitor::model::{ConfigItem, ItemStatus, ResourceKey};
use policies::catalogue::Catalogue;
use serde_json::{Value, json};
use time::macros::datetime;

const ITEMS: usize = 100_000;
const ACCOUNTS: [&str; 4] = [
    "111122223333",
    "222233334444",
    "333344445555",
    "444455556666",
];

fn item(
    i: usize,
    resource_type: &str,
    id: String,
    arn: Option<String>,
    configuration: Value,
    supplementary: Value,
) -> ConfigItem {
    let account = ACCOUNTS[i % ACCOUNTS.len()];
    let region = if resource_type.starts_with("AWS::IAM::") {
        "global"
    } else {
        ["us-east-1", "eu-west-1"][i % 2]
    };
    ConfigItem {
        key: ResourceKey {
            account: account.into(),
            region: region.into(),
            resource_type: resource_type.into(),
            resource_id: id.clone(),
        },
        arn,
        name: Some(id),
        status: ItemStatus::Ok,
        capture_time: None,
        configuration,
        supplementary: match supplementary {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        },
        tags: [("team".to_owned(), format!("team-{}", i % 17))].into(),
    }
}

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn identity_doc(i: usize) -> String {
    match i % 5 {
        0 => doc(
            json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [format!("arn:aws:s3:::data-{i}"), format!("arn:aws:s3:::data-{i}/*")]}]),
        ),
        1 => doc(
            json!([{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Resource": format!("arn:aws:dynamodb:us-east-1:111122223333:table/t{i}")},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f{i}:*")}]),
        ),
        2 => doc(
            json!([{"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
            "Resource": format!("arn:aws:sqs:us-east-1:111122223333:q{i}")}]),
        ),
        3 => doc(json!([{"Sid": format!("Deploy{i}"), "Effect": "Allow",
            "Action": ["lambda:UpdateFunctionCode", "iam:PassRole", "ec2:Describe*"], "Resource": "*"}])),
        _ => doc(
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": format!("arn:aws:s3:::bucket-{i}/*")},
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]),
        ),
    }
}

fn managed_arn(account: &str, n: usize) -> String {
    format!("arn:aws:iam::{account}:policy/managed-{n}")
}

fn generate() -> Vec<ConfigItem> {
    let mut items = Vec::with_capacity(ITEMS);
    for i in 0..ITEMS {
        let account = ACCOUNTS[i % ACCOUNTS.len()];
        let slot = i % 100;
        let next = match slot {
            // IAM: 20%.
            0..=11 => {
                let principal = match i % 7 {
                    0 => json!({"AWS": "arn:aws:iam::999988887777:root"}),
                    1 => json!({"AWS": format!("arn:aws:iam::{account}:root")}),
                    _ => json!({"Service": "lambda.amazonaws.com"}),
                };
                let trust = doc(
                    json!([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]),
                );
                item(
                    i,
                    "AWS::IAM::Role",
                    format!("AROA{i:016}"),
                    Some(format!("arn:aws:iam::{account}:role/r{i}")),
                    json!({"roleName": format!("r{i}"), "assumeRolePolicyDocument": trust,
                        "rolePolicyList": [{"policyName": "inline", "policyDocument": identity_doc(i)}],
                        "attachedManagedPolicies": [{"policyArn": managed_arn(account, i % 300)},
                            {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]}),
                    Value::Null,
                )
            }
            12..=15 => item(
                i,
                "AWS::IAM::User",
                format!("AIDA{i:016}"),
                Some(format!("arn:aws:iam::{account}:user/u{i}")),
                json!({"userName": format!("u{i}"), "groupList": [format!("g{}", i % 50)],
                    "userPolicyList": [{"policyName": "own", "policyDocument": identity_doc(i + 1)}],
                    "attachedManagedPolicies": [{"policyArn": managed_arn(account, (i + 7) % 300)}]}),
                Value::Null,
            ),
            16 => item(
                i,
                "AWS::IAM::Group",
                format!("AGPA{i:016}"),
                Some(format!("arn:aws:iam::{account}:group/g{}", i % 50)),
                json!({"groupName": format!("g{}", i % 50),
                    "groupPolicyList": [{"policyName": "g", "policyDocument": identity_doc(i + 2)}],
                    "attachedManagedPolicies": [{"policyArn": managed_arn(account, i % 300)}]}),
                Value::Null,
            ),
            17..=19 => {
                let n = (i / 100) % 300;
                let arn = managed_arn(account, n);
                item(
                    i,
                    "AWS::IAM::Policy",
                    format!("ANPA{i:016}"),
                    Some(arn.clone()),
                    json!({"policyName": format!("managed-{n}"), "arn": arn, "defaultVersionId": "v1", "attachmentCount": 3,
                        "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": identity_doc(n)}]}),
                    Value::Null,
                )
            }
            // S3: 15%.
            20..=34 => {
                let name = format!("bucket-{i}");
                let policy = if i % 4 == 0 {
                    doc(
                        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{name}/*")}]),
                    )
                } else {
                    doc(
                        json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", ACCOUNTS[(i + 1) % 4])},
                        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{name}/*")}]),
                    )
                };
                let on = i % 3 == 0;
                item(
                    i,
                    "AWS::S3::Bucket",
                    name.clone(),
                    Some(format!("arn:aws:s3:::{name}")),
                    json!({"name": name}),
                    json!({"BucketPolicy": {"policyText": policy},
                        "AccessControlList": json!({"grantList": [{"grantee": if i % 50 == 0 {"AllUsers"} else {"Owner"}, "permission": "Read"}]}),
                        "PublicAccessBlockConfiguration": {"blockPublicAcls": on, "ignorePublicAcls": on, "blockPublicPolicy": on, "restrictPublicBuckets": on},
                        "ServerSideEncryptionConfiguration": {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
                        "BucketLoggingConfiguration": {"destinationBucketName": if i % 2 == 0 {Value::from("logs")} else {Value::Null}}}),
                )
            }
            // Security groups: 20%.
            35..=54 => {
                let port = [22, 80, 443, 5432, 8080][i % 5];
                let cidr = if i % 3 == 0 {
                    "0.0.0.0/0"
                } else {
                    "10.0.0.0/8"
                };
                item(
                    i,
                    "AWS::EC2::SecurityGroup",
                    format!("sg-{i:017x}"),
                    None,
                    json!({"groupId": format!("sg-{i:017x}"), "ipPermissions": [
                        {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipv4Ranges": [{"cidrIp": cidr}], "ipRanges": [cidr], "ipv6Ranges": []},
                        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipv4Ranges": [{"cidrIp": "10.1.0.0/16"}], "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]}),
                    Value::Null,
                )
            }
            // KMS, SNS, SQS: 5% each.
            55..=59 => item(
                i,
                "AWS::KMS::Key",
                format!("key-{i}"),
                None,
                json!({"keyManager": "CUSTOMER", "keySpec": "SYMMETRIC_DEFAULT", "keyState": "Enabled", "origin": "AWS_KMS"}),
                json!({"Policy": doc(json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"}])),
                    "KeyRotationStatus": i % 2 == 0}),
            ),
            60..=64 => item(
                i,
                "AWS::SNS::Topic",
                format!("arn:aws:sns:us-east-1:{account}:t{i}"),
                None,
                json!({"Policy": doc(json!([{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sns:Publish",
                    "Resource": format!("arn:aws:sns:us-east-1:{account}:t{i}"), "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]))}),
                Value::Null,
            ),
            65..=69 => item(
                i,
                "AWS::SQS::Queue",
                format!("https://sqs/{account}/q{i}"),
                None,
                json!({"QueueArn": format!("arn:aws:sqs:us-east-1:{account}:q{i}"), "SqsManagedSseEnabled": i % 4 != 0,
                    "Policy": doc(json!([{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                        "Resource": format!("arn:aws:sqs:us-east-1:{account}:q{i}"),
                        "Condition": {"ArnEquals": {"aws:SourceArn": format!("arn:aws:sns:us-east-1:{account}:t{i}")}}}]))}),
                Value::Null,
            ),
            // Lambda: 10%.
            70..=79 => item(
                i,
                "AWS::Lambda::Function",
                format!("f{i}"),
                Some(format!("arn:aws:lambda:us-east-1:{account}:function:f{i}")),
                json!({"functionName": format!("f{i}"), "runtime": "provided.al2023"}),
                json!({"Policy": doc(json!([{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
                    "Resource": format!("arn:aws:lambda:us-east-1:{account}:function:f{i}"),
                    "Condition": {"ArnLike": {"AWS:SourceArn": format!("arn:aws:events:us-east-1:{account}:rule/r{i}")}}}]))}),
            ),
            80 => item(
                i,
                "AWS::CloudTrail::Trail",
                format!("trail-{i}"),
                None,
                json!({"isMultiRegionTrail": i % 2 == 0, "logFileValidationEnabled": true}),
                json!({"IsLogging": true}),
            ),
            // RDS 5%, DB snapshots 3%, EBS snapshots 5%.
            81..=85 => item(
                i,
                "AWS::RDS::DBInstance",
                format!("db-{i}"),
                None,
                json!({"publiclyAccessible": i % 10 == 0, "storageEncrypted": i % 3 != 0}),
                Value::Null,
            ),
            86..=88 => item(
                i,
                "AWS::RDS::DBSnapshot",
                format!("dbsnap-{i}"),
                None,
                json!({"encrypted": true}),
                json!({"DBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": if i % 20 == 0 { json!(["all"]) } else { json!([]) }}]}),
            ),
            89..=93 => item(
                i,
                "AWS::EC2::Snapshot",
                format!("snap-{i:017x}"),
                None,
                json!({"encrypted": i % 2 == 0, "createVolumePermissions": []}),
                Value::Null,
            ),
            // Listeners and certificates: 3% each.
            94..=96 => item(
                i,
                "AWS::ElasticLoadBalancingV2::Listener",
                format!("listener-{i}"),
                None,
                json!({"Port": 443, "SslPolicy": if i % 2 == 0 { "ELBSecurityPolicy-2016-08" } else { "ELBSecurityPolicy-TLS13-1-2-2021-06" }}),
                Value::Null,
            ),
            _ => item(
                i,
                "AWS::ACM::Certificate",
                format!("cert-{i}"),
                None,
                json!({"status": "ISSUED", "notAfter": 1_714_521_600 + (i as i64 % 90) * 86_400}),
                Value::Null,
            ),
        };
        items.push(next);
    }
    items
}

fn bench(c: &mut Criterion) {
    let catalogue = Catalogue::builtin();
    let settings = AuditSettings::from_toml(
        "[audit]\nown_accounts = ['111122223333', '222233334444', '333344445555']\nfriendly_accounts = ['444455556666']\n[audit.third_party_accounts]\n'999988887777' = 'vendor'\n",
    )
    .unwrap();
    let auditor = Auditor::new(&settings, catalogue);
    let items = generate();
    let index: Index = items.iter().cloned().collect();
    let now = datetime!(2024-05-01 00:00 UTC);
    let issues = auditor.audit(&index, now);
    eprintln!("{} items, {} issues", index.len(), issues.len());

    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.bench_function("100k items", |b| b.iter(|| auditor.audit(&index, now)));
    group.bench_function("index 100k items", |b| {
        b.iter_batched(
            || items.clone(),
            |items| items.into_iter().collect::<Index>(),
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
