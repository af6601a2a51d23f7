//! Unit tests of the auditors, on items built by hand in AWS Config's shapes.

use std::collections::BTreeMap;

use policies::catalogue::Catalogue;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::model::{Category, ItemStatus, ResourceKey};

const OWNER: &str = "111122223333";
const NOW: OffsetDateTime = datetime!(2024-05-01 00:00 UTC);

fn settings() -> AuditSettings {
    AuditSettings::from_toml(
        r#"
        [audit]
        own_accounts = ["111122223333", "555566667777"]
        organization_id = "o-exampleorg1"
        friendly_accounts = ["444455556666"]
        [audit.third_party_accounts]
        "999988887777" = "monitoring SaaS"
        "#,
    )
    .unwrap()
}

fn item(resource_type: &str, id: &str, configuration: Value, supplementary: Value) -> ConfigItem {
    let region = if resource_type.starts_with("AWS::IAM::") {
        "global"
    } else {
        "us-east-1"
    };
    let supplementary: BTreeMap<String, Value> = match supplementary {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    ConfigItem {
        key: ResourceKey {
            account: OWNER.into(),
            region: region.into(),
            resource_type: resource_type.into(),
            resource_id: id.into(),
        },
        arn: None,
        name: Some(id.into()),
        status: ItemStatus::Ok,
        capture_time: None,
        configuration,
        supplementary,
        tags: BTreeMap::new(),
    }
}

fn audit_with(settings: &AuditSettings, items: Vec<ConfigItem>) -> Vec<Issue> {
    let auditor = Auditor::new(settings, Catalogue::builtin());
    auditor.audit(&items.into_iter().collect(), NOW)
}

fn audit(items: Vec<ConfigItem>) -> Vec<Issue> {
    audit_with(&settings(), items)
}

/// `(resource id, check, detail)` of each issue, sorted, for compact assertions.
fn summary(issues: &[Issue]) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = issues
        .iter()
        .map(|i| {
            (
                i.resource.resource_id.clone(),
                i.check.clone(),
                i.detail.clone(),
            )
        })
        .collect();
    found.sort();
    found
}

fn triple(id: &str, check: &str, detail: &str) -> (String, String, String) {
    (id.into(), check.into(), detail.into())
}

fn encoded(policy: &Value) -> String {
    // IAM's URL encoding, as AWS Config delivers role documents.
    policy
        .to_string()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn trust(principal: Value, condition: Option<Value>) -> Value {
    let mut statement =
        json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"});
    if let Some(condition) = condition {
        statement["Condition"] = condition;
    }
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

fn role(name: &str, trust: &Value, inline: Value, attached: &[&str]) -> ConfigItem {
    let attached: Vec<Value> = attached
        .iter()
        .map(|arn| json!({"policyArn": arn, "policyName": arn.rsplit('/').next()}))
        .collect();
    item(
        "AWS::IAM::Role",
        name,
        json!({
            "roleName": name,
            "assumeRolePolicyDocument": encoded(trust),
            "rolePolicyList": inline,
            "attachedManagedPolicies": attached,
        }),
        Value::Null,
    )
}

fn managed(name: &str, document: &Value) -> ConfigItem {
    let arn = format!("arn:aws:iam::{OWNER}:policy/{name}");
    let mut policy = item(
        "AWS::IAM::Policy",
        name,
        json!({
            "policyName": name,
            "arn": arn,
            "defaultVersionId": "v2",
            "policyVersionList": [
                {"versionId": "v1", "isDefaultVersion": false,
                 "document": encoded(&json!({"Version": "2012-10-17", "Statement": [
                     {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))},
                {"versionId": "v2", "isDefaultVersion": true, "document": encoded(document)},
            ],
        }),
        Value::Null,
    );
    policy.arn = Some(arn);
    policy
}

#[test]
fn role_trust_is_classed_by_account_and_external_id() {
    let issues = audit(vec![
        role("public", &trust(json!({"AWS": "*"}), None), json!([]), &[]),
        role(
            "vendor",
            &trust(json!({"AWS": "arn:aws:iam::999988887777:root"}), None),
            json!([]),
            &[],
        ),
        role(
            "vendor-guarded",
            &trust(
                json!({"AWS": "999988887777"}),
                Some(json!({"StringEquals": {"sts:ExternalId": "x-123"}})),
            ),
            json!([]),
            &[],
        ),
        role(
            "partner",
            &trust(
                json!({"AWS": "arn:aws:iam::444455556666:role/security-audit"}),
                None,
            ),
            json!([]),
            &[],
        ),
        role(
            "stranger",
            &trust(json!({"AWS": "123456789012"}), None),
            json!([]),
            &[],
        ),
        role(
            "sibling",
            &trust(json!({"AWS": "555566667777"}), None),
            json!([]),
            &[],
        ),
        role(
            "lambda",
            &trust(json!({"Service": "lambda.amazonaws.com"}), None),
            json!([]),
            &[],
        ),
    ]);
    assert_eq!(
        summary(&issues),
        [
            triple("partner", "iam.role.trust-friendly-account", "444455556666"),
            triple("public", "iam.role.trust-internet", "statement:0"),
            triple("stranger", "iam.role.trust-unknown-account", "123456789012"),
            triple("vendor", "iam.role.trust-no-external-id", "999988887777"),
            triple(
                "vendor",
                "iam.role.trust-third-party-account",
                "999988887777"
            ),
            triple(
                "vendor-guarded",
                "iam.role.trust-third-party-account",
                "999988887777"
            ),
        ]
    );
    let vendor = issues
        .iter()
        .find(|i| i.check == "iam.role.trust-third-party-account")
        .unwrap();
    assert!(
        vendor.message.contains("monitoring SaaS"),
        "{}",
        vendor.message
    );
    assert_eq!(vendor.category, Category::ThirdPartyCrossAccount);
    assert_eq!(
        issues[0].score, 0,
        "friendly trust is recorded, not a problem"
    );
    assert_eq!(issues[1].score, 10);
}

#[test]
fn role_permissions_combine_inline_and_managed_policies_found_by_arn() {
    let pass_role = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]});
    let lambda = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Functions", "Effect": "Allow",
         "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}]});
    let lambda_trust = trust(json!({"Service": "lambda.amazonaws.com"}), None);
    let issues = audit(vec![
        managed("pass-role", &pass_role),
        role(
            "deployer",
            &lambda_trust,
            json!([{"policyName": "functions", "policyDocument": encoded(&lambda)}]),
            &["arn:aws:iam::111122223333:policy/pass-role"],
        ),
        // Neither half alone escalates.
        role(
            "half",
            &lambda_trust,
            json!([{"policyName": "functions", "policyDocument": lambda.to_string()}]),
            &[],
        ),
        role(
            "admin",
            &lambda_trust,
            json!([]),
            &[
                "arn:aws:iam::aws:policy/AdministratorAccess",
                "arn:aws:iam::111122223333:policy/gone",
            ],
        ),
    ]);
    let found = summary(&issues);
    assert!(
        found.contains(&triple("deployer", "iam.role.privilege-escalation", "")),
        "{found:?}"
    );
    assert!(!found.iter().any(|(id, _, _)| id == "half"), "{found:?}");
    assert!(found.contains(&triple(
        "admin",
        "iam.role.admin-wildcard",
        "managed:arn:aws:iam::aws:policy/AdministratorAccess"
    )));
    let escalation = issues
        .iter()
        .find(|i| i.resource.resource_id == "deployer")
        .unwrap();
    assert_eq!(escalation.category, Category::PrivilegeEscalation);
    assert!(
        escalation.evidence["paths"]
            .as_array()
            .unwrap()
            .contains(&json!("PassRole to Lambda"))
    );
    let admin_escalation = issues
        .iter()
        .find(|i| i.resource.resource_id == "admin" && i.check == "iam.role.privilege-escalation")
        .unwrap();
    assert_eq!(
        admin_escalation.evidence["unresolved_policies"],
        json!(["arn:aws:iam::111122223333:policy/gone"])
    );
    // The managed policy judged alone: only its default version counts.
    assert!(
        !found.iter().any(|(id, _, _)| id == "pass-role"),
        "{found:?}"
    );
}

#[test]
fn a_deny_in_one_policy_cancels_an_allow_in_another() {
    let allow = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}]});
    let deny = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]});
    let both = json!([
        {"policyName": "allow", "policyDocument": encoded(&allow)},
        {"policyName": "deny", "policyDocument": encoded(&deny)},
    ]);
    let t = trust(json!({"Service": "ec2.amazonaws.com"}), None);
    let issues = audit(vec![role("guarded", &t, both, &[])]);
    assert!(issues.is_empty(), "{:?}", summary(&issues));
}

#[test]
fn users_escalate_through_their_groups_and_groups_report_their_own_admin() {
    let self_service = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "TunePolicies", "Effect": "Allow",
         "Action": ["iam:CreatePolicyVersion", "iam:AttachRolePolicy"], "Resource": "*"}]});
    let admins = item(
        "AWS::IAM::Group",
        "admins",
        json!({"groupName": "admins", "groupPolicyList": [],
               "attachedManagedPolicies": [{"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]}),
        Value::Null,
    );
    let developers = item(
        "AWS::IAM::Group",
        "developers",
        json!({"groupName": "developers",
               "groupPolicyList": [{"policyName": "self-service", "policyDocument": encoded(&self_service)}],
               "attachedManagedPolicies": []}),
        Value::Null,
    );
    let bob = item(
        "AWS::IAM::User",
        "bob",
        json!({"userName": "bob", "groupList": ["developers", "missing"], "userPolicyList": [], "attachedManagedPolicies": []}),
        Value::Null,
    );
    let issues = audit(vec![admins, developers, bob]);
    let found = summary(&issues);
    assert!(
        found.contains(&triple("bob", "iam.user.privilege-escalation", "")),
        "{found:?}"
    );
    assert!(found.contains(&triple(
        "admins",
        "iam.group.admin-wildcard",
        "managed:arn:aws:iam::aws:policy/AdministratorAccess"
    )));
    assert!(found.contains(&triple("developers", "iam.group.privilege-escalation", "")));
    assert!(
        !found
            .iter()
            .any(|(id, check, _)| id == "bob" && check.contains("admin"))
    );
    let bob_issue = issues
        .iter()
        .find(|i| i.resource.resource_id == "bob")
        .unwrap();
    assert_eq!(
        bob_issue.evidence["unresolved_policies"],
        json!(["group:missing"])
    );
}

#[test]
fn customer_managed_policies_are_judged_alone_and_aws_managed_ones_not_at_all() {
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let mut aws = managed("AdministratorAccess", &admin);
    aws.arn = Some("arn:aws:iam::aws:policy/AdministratorAccess".into());
    let issues = audit(vec![managed("everything", &admin), aws]);
    assert_eq!(
        summary(&issues),
        [
            triple("everything", "iam.policy.admin-wildcard", "default-version"),
            triple("everything", "iam.policy.privilege-escalation", ""),
        ]
    );
}

fn bucket(name: &str, supplementary: Value) -> ConfigItem {
    let mut bucket = item(
        "AWS::S3::Bucket",
        name,
        json!({"name": name}),
        supplementary,
    );
    bucket.arn = Some(format!("arn:aws:s3:::{name}"));
    bucket
}

fn block(on: bool) -> Value {
    json!({"blockPublicAcls": on, "ignorePublicAcls": on, "blockPublicPolicy": on, "restrictPublicBuckets": on})
}

fn encryption() -> Value {
    json!({"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]})
}

#[test]
fn buckets_policy_acl_block_encryption_and_logging() {
    let public = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Site", "Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}]});
    let shared = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::444455556666:root"]},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]});
    let acl = json!({"grantList": [
        {"grantee": "AllUsers", "permission": "Read"},
        {"grantee": {"id": "abc", "displayName": "me"}, "permission": "FullControl"},
        {"grantee": {"uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}, "permission": "READ_ACP"}]});
    let issues = audit(vec![
        bucket(
            "site",
            json!({
                "BucketPolicy": {"policyText": public.to_string()},
                "AccessControlList": acl.to_string(),
                "PublicAccessBlockConfiguration": block(false),
                "BucketLoggingConfiguration": {"destinationBucketName": null},
            }),
        ),
        bucket(
            "restricted",
            json!({
                "BucketPolicy": {"policyText": public.to_string()},
                "AccessControlList": acl,
                "PublicAccessBlockConfiguration": block(true),
                "ServerSideEncryptionConfiguration": encryption(),
            }),
        ),
        bucket(
            "shared",
            json!({
                "BucketPolicy": {"policyText": shared.to_string()},
                "PublicAccessBlockConfiguration": block(true),
                "ServerSideEncryptionConfiguration": encryption(),
                "BucketLoggingConfiguration": {"destinationBucketName": "logs", "logFilePrefix": "shared/"},
            }),
        ),
        bucket("bare", json!({})),
    ]);
    assert_eq!(
        summary(&issues),
        [
            // No supplementary configuration at all: only Block Public Access can be judged.
            triple("bare", "s3.bucket.public-access-block-off", ""),
            triple("shared", "s3.bucket.friendly-account", "444455556666"),
            triple("shared", "s3.bucket.unknown-account", "123456789012"),
            triple("site", "s3.bucket.logging-off", ""),
            triple("site", "s3.bucket.public-access-block-off", ""),
            triple("site", "s3.bucket.public-acl", "AllUsers:Read"),
            triple(
                "site",
                "s3.bucket.public-acl",
                "AuthenticatedUsers:READ_ACP"
            ),
            triple("site", "s3.bucket.public-policy", "statement:Site"),
            triple("site", "s3.bucket.unencrypted", ""),
        ]
    );
    assert_eq!(
        issues
            .iter()
            .find(|i| i.check == "s3.bucket.public-policy")
            .unwrap()
            .arn
            .as_deref(),
        Some("arn:aws:s3:::site")
    );
}

#[test]
fn the_account_public_access_block_covers_its_buckets() {
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}]});
    let account_block = item(
        "AWS::S3::AccountPublicAccessBlock",
        OWNER,
        block(true),
        Value::Null,
    );
    let site = bucket(
        "site",
        json!({"BucketPolicy": {"policyText": public.to_string()}, "ServerSideEncryptionConfiguration": encryption()}),
    );
    assert!(audit(vec![site.clone(), account_block]).is_empty());
    assert_eq!(audit(vec![site]).len(), 2, "public policy and block off");
}

fn security_group(rules: Value) -> ConfigItem {
    item(
        "AWS::EC2::SecurityGroup",
        "sg-0123",
        json!({"groupId": "sg-0123", "groupName": "web", "ipPermissions": rules}),
        Value::Null,
    )
}

#[test]
fn security_groups_open_to_anywhere_score_sensitive_ports_higher() {
    let issues = audit(vec![security_group(json!([
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
         "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipRanges": ["0.0.0.0/0"], "ipv6Ranges": [{"cidrIpv6": "::/0"}]},
        {"ipProtocol": "tcp", "fromPort": 20, "toPort": 25, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]},
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}]},
        {"ipProtocol": "-1", "ipv6Ranges": [{"cidrIpv6": "::/0"}]},
        {"ipProtocol": "icmp", "fromPort": -1, "toPort": -1, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]},
    ]))]);
    assert_eq!(
        summary(&issues),
        [
            triple(
                "sg-0123",
                "ec2.security-group.open-ingress",
                "icmp:all:0.0.0.0/0"
            ),
            triple(
                "sg-0123",
                "ec2.security-group.open-ingress",
                "tcp:443:0.0.0.0/0"
            ),
            triple("sg-0123", "ec2.security-group.open-ingress", "tcp:443:::/0"),
            triple(
                "sg-0123",
                "ec2.security-group.open-sensitive-port",
                "all:0-65535:::/0"
            ),
            triple(
                "sg-0123",
                "ec2.security-group.open-sensitive-port",
                "tcp:20-25:0.0.0.0/0"
            ),
        ]
    );
    let ssh = issues
        .iter()
        .find(|i| i.detail == "tcp:20-25:0.0.0.0/0")
        .unwrap();
    assert_eq!(ssh.evidence["sensitivePorts"], json!([20, 21, 22, 23]));
    assert_eq!(ssh.score, 8);
}

#[test]
fn kms_keys_policy_and_rotation_of_symmetric_customer_keys() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "kms:Decrypt", "Resource": "*"}]});
    let key = |id: &str, spec: &str, rotation: bool| {
        item(
            "AWS::KMS::Key",
            id,
            json!({"keyId": id, "keyManager": "CUSTOMER", "keySpec": spec, "keyState": "Enabled", "origin": "AWS_KMS"}),
            json!({"Policy": policy.to_string(), "KeyRotationStatus": rotation}),
        )
    };
    let issues = audit(vec![
        key("k1", "SYMMETRIC_DEFAULT", false),
        key("k2", "ECC_NIST_P256", false),
        key("k3", "SYMMETRIC_DEFAULT", true),
    ]);
    let found = summary(&issues);
    assert!(found.contains(&triple("k1", "kms.key.rotation-off", "")));
    assert!(
        !found
            .iter()
            .any(|(id, c, _)| id != "k1" && c == "kms.key.rotation-off")
    );
    assert_eq!(
        found
            .iter()
            .filter(|(_, c, d)| c == "kms.key.third-party-account" && d == "999988887777")
            .count(),
        3
    );
}

#[test]
fn topics_queues_and_functions() {
    let open = |resource: &str| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "*", "Resource": resource}]})
        .to_string()
    };
    let topic = item(
        "AWS::SNS::Topic",
        "alerts",
        json!({"TopicArn": "arn:aws:sns:us-east-1:111122223333:alerts", "Policy": open("*")}),
        Value::Null,
    );
    let queue = item(
        "AWS::SQS::Queue",
        "jobs",
        json!({"QueueUrl": "https://sqs/jobs", "SqsManagedSseEnabled": "false"}),
        Value::Null,
    );
    let encrypted_queue = item(
        "AWS::SQS::Queue",
        "orders",
        json!({"QueueUrl": "https://sqs/orders", "KmsMasterKeyId": "alias/aws/sqs"}),
        Value::Null,
    );
    let function = item(
        "AWS::Lambda::Function",
        "hook",
        json!({"functionName": "hook"}),
        json!({"FunctionUrlConfig": {"AuthType": "NONE", "FunctionUrl": "https://x.lambda-url.us-east-1.on.aws/"},
               "Policy": open("arn:aws:lambda:us-east-1:111122223333:function:hook")}),
    );
    assert_eq!(
        summary(&audit(vec![topic, queue, encrypted_queue, function])),
        [
            triple("alerts", "sns.topic.public-policy", "statement:0"),
            triple("hook", "lambda.function.public-policy", "statement:0"),
            triple("hook", "lambda.function.public-url", "url"),
            triple("jobs", "sqs.queue.unencrypted", ""),
        ]
    );
}

#[test]
fn trails_databases_snapshots() {
    let trail = item(
        "AWS::CloudTrail::Trail",
        "main",
        json!({"name": "main", "isMultiRegionTrail": false, "logFileValidationEnabled": false}),
        json!({"IsLogging": false}),
    );
    let good_trail = item(
        "AWS::CloudTrail::Trail",
        "org",
        json!({"name": "org", "isMultiRegionTrail": true, "logFileValidationEnabled": true}),
        json!({"IsLogging": "true"}),
    );
    let db = item(
        "AWS::RDS::DBInstance",
        "db",
        json!({"publiclyAccessible": true, "storageEncrypted": false}),
        Value::Null,
    );
    let snapshot = item(
        "AWS::RDS::DBSnapshot",
        "snap",
        json!({"encrypted": true}),
        json!({"DBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": ["all", "999988887777", "111122223333"]}]}),
    );
    let ebs = item(
        "AWS::EC2::Snapshot",
        "snap-1",
        json!({"encrypted": false, "createVolumePermissions": [{"userId": "123456789012"}]}),
        Value::Null,
    );
    assert_eq!(
        summary(&audit(vec![trail, good_trail, db, snapshot, ebs])),
        [
            triple("db", "rds.instance.public", ""),
            triple("db", "rds.instance.unencrypted", ""),
            triple("main", "cloudtrail.trail.logging-off", ""),
            triple("main", "cloudtrail.trail.no-log-validation", ""),
            triple("main", "cloudtrail.trail.single-region", ""),
            triple("snap", "rds.snapshot.public", "all"),
            triple("snap", "rds.snapshot.third-party-account", "999988887777"),
            triple("snap-1", "ec2.snapshot.unencrypted", ""),
            triple("snap-1", "ec2.snapshot.unknown-account", "123456789012"),
        ]
    );
}

#[test]
fn tls_policies_and_certificates() {
    let listener = item(
        "AWS::ElasticLoadBalancingV2::Listener",
        "arn:listener/1",
        json!({"Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-2016-08"}),
        Value::Null,
    );
    let modern = item(
        "AWS::ElasticLoadBalancingV2::Listener",
        "arn:listener/2",
        json!({"Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}),
        Value::Null,
    );
    let classic = item(
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "legacy",
        json!({"listenerDescriptions": [
            {"listener": {"protocol": "HTTPS", "loadBalancerPort": 443}, "policyNames": ["ELBSecurityPolicy-2015-05"]},
            {"listener": {"protocol": "HTTP", "loadBalancerPort": 80}, "policyNames": []}]}),
        Value::Null,
    );
    let cert = |id: &str, not_after: Value| {
        item(
            "AWS::ACM::Certificate",
            id,
            json!({"domainName": "example.com", "status": "ISSUED", "notAfter": not_after}),
            Value::Null,
        )
    };
    let issues = audit(vec![
        listener,
        modern,
        classic,
        cert("old", json!("2024-04-30T00:00:00Z")),
        cert(
            "soon",
            json!(datetime!(2024-05-20 00:00 UTC).unix_timestamp()),
        ),
        cert("later", json!("2024-09-01T00:00:00Z")),
    ]);
    assert_eq!(
        summary(&issues),
        [
            triple("arn:listener/1", "elb.listener.weak-tls", "port 443"),
            triple("legacy", "elb.listener.weak-tls", "port 443"),
            triple("old", "acm.certificate.expired", ""),
            triple("soon", "acm.certificate.expiring", ""),
        ]
    );
    let soon = issues
        .iter()
        .find(|i| i.check == "acm.certificate.expiring")
        .unwrap();
    assert!(soon.message.contains("2024-05-20"), "{}", soon.message);
}

#[test]
fn deleted_items_give_no_issues_and_overrides_apply_per_account() {
    let mut deleted =
        security_group(json!([{"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]));
    deleted.status = ItemStatus::Deleted;
    assert!(audit(vec![deleted]).is_empty());

    let open = || {
        security_group(
            json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]),
        )
    };
    let tuned = AuditSettings::from_toml(
        "[[audit.override]]\naccounts = '1111*'\ncheck = 'ec2.*'\nscore = 2\n",
    )
    .unwrap();
    assert_eq!(audit_with(&tuned, vec![open()])[0].score, 2);
    let elsewhere = AuditSettings::from_toml(
        "[[audit.override]]\naccounts = '2222*'\ncheck = 'ec2.*'\ndisabled = true\n",
    )
    .unwrap();
    assert_eq!(audit_with(&elsewhere, vec![open()])[0].score, 8);
    let off = AuditSettings::from_toml(
        "[[audit.override]]\naccounts = '1111*'\ncheck = 'ec2.security-group.*'\ndisabled = true\n",
    )
    .unwrap();
    assert!(audit_with(&off, vec![open()]).is_empty());
}

#[test]
fn audit_item_follows_references_in_the_index() {
    let pass_role = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]});
    let t = trust(json!({"Service": "ec2.amazonaws.com"}), None);
    let deployer = role(
        "deployer",
        &t,
        json!([]),
        &["arn:aws:iam::111122223333:policy/runner"],
    );
    let index: Index = [managed("runner", &pass_role), deployer.clone()]
        .into_iter()
        .collect();
    let auditor = Auditor::new(&settings(), Catalogue::builtin());
    let issues = auditor.audit_item(&deployer, &index, NOW);
    assert_eq!(
        summary(&issues),
        [triple("deployer", "iam.role.privilege-escalation", "")]
    );
}
