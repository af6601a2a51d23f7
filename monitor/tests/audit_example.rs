//! Audits the example account's Config snapshot (read by `monitor::source`)
//! and checks the findings `examples/README.md` documents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeSet;
use std::path::Path;

use monitor::audit::{AuditSettings, Auditor, Index};
use monitor::model::Issue;
use monitor::suppress::Suppressions;
use policies::catalogue::Catalogue;
use time::macros::{date, datetime};

fn example_index() -> Index {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/account/config");
    let mut index = Index::new();
    let summary = monitor::source::read_dir(&dir, |item| {
        index.insert(item);
        Ok(())
    })
    .unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.items(), 55);
    index
}

fn settings() -> AuditSettings {
    AuditSettings::from_toml(include_str!("../monitor.example.toml")).unwrap()
}

fn audit() -> Vec<Issue> {
    let auditor = Auditor::new(&settings(), Catalogue::builtin());
    auditor.audit(&example_index(), datetime!(2024-05-01 00:00 UTC))
}

/// `name check detail` per issue: the name is the item's name, else its id.
fn found(issues: &[Issue], index: &Index) -> BTreeSet<String> {
    issues
        .iter()
        .map(|issue| {
            let item = index.get(&issue.resource).unwrap();
            let name = item.name.as_deref().unwrap_or(&issue.resource.resource_id);
            format!("{name} {} {}", issue.check, issue.detail)
                .trim_end()
                .to_owned()
        })
        .collect()
}

const EXPECTED: &[&str] = &[
    // IAM roles.
    "legacy-admin iam.role.admin-wildcard inline:everything",
    "legacy-admin iam.role.privilege-escalation",
    "public-assume iam.role.trust-internet statement:0",
    "vendor-monitoring iam.role.trust-third-party-account 999988887777",
    "vendor-monitoring iam.role.trust-no-external-id 999988887777",
    "partner-audit iam.role.trust-friendly-account 444455556666",
    "ci-deploy iam.role.privilege-escalation",
    "dev-sandbox iam.role.privilege-escalation",
    // IAM users, groups, customer managed policies.
    "alice iam.user.privilege-escalation",
    "bob iam.user.privilege-escalation",
    "ci-bot iam.user.privilege-escalation",
    "admins iam.group.admin-wildcard managed:arn:aws:iam::aws:policy/AdministratorAccess",
    "admins iam.group.privilege-escalation",
    "developers iam.group.privilege-escalation",
    "ci-deployer iam.policy.privilege-escalation",
    "developer-self-service iam.policy.privilege-escalation",
    // S3.
    "example-public-assets s3.bucket.public-policy statement:PublicRead",
    "example-public-assets s3.bucket.public-access-block-off",
    "example-legacy-uploads s3.bucket.public-acl AllUsers:Read",
    "example-legacy-uploads s3.bucket.public-access-block-off",
    "example-legacy-uploads s3.bucket.unencrypted",
    "example-legacy-uploads s3.bucket.logging-off",
    "example-access-logs s3.bucket.logging-off",
    "example-vendor-exports s3.bucket.third-party-account 999988887777",
    "example-scratch s3.bucket.unknown-account 777788889999",
    // EC2.
    "web ec2.security-group.open-ingress tcp:443:0.0.0.0/0",
    "web ec2.security-group.open-ingress tcp:443:::/0",
    "bastion ec2.security-group.open-sensitive-port tcp:22:0.0.0.0/0",
    "snap-0example00000001 ec2.snapshot.public all",
    "snap-0example00000001 ec2.snapshot.unencrypted",
    // KMS, SNS, SQS, Lambda.
    "0a1b2c3d-7777-8888-9999-000011112222 kms.key.rotation-off",
    "partner-notify sns.topic.friendly-account 444455556666",
    "legacy-jobs sqs.queue.public-policy statement:AnyoneSends",
    "legacy-jobs sqs.queue.unencrypted",
    "webhook lambda.function.public-policy statement:FunctionURLAllowPublicAccess",
    "webhook lambda.function.public-url url",
    // CloudTrail, RDS.
    "legacy-trail cloudtrail.trail.logging-off",
    "legacy-trail cloudtrail.trail.single-region",
    "legacy-trail cloudtrail.trail.no-log-validation",
    "reports-db rds.instance.public",
    "reports-db rds.instance.unencrypted",
    "reports-db-2024-03 rds.snapshot.public all",
    "reports-db-2024-03 rds.snapshot.unencrypted",
    "orders-db-2024-03 rds.snapshot.friendly-account 444455556666",
    // TLS.
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2 elb.listener.weak-tls port 443",
    "legacy-elb elb.listener.weak-tls port 443",
    "arn:aws:acm:us-east-1:111122223333:certificate/11111111-2222-3333-4444-555555555555 acm.certificate.expiring",
    "arn:aws:acm:us-east-1:111122223333:certificate/66666666-7777-8888-9999-000000000000 acm.certificate.expired",
];

#[test]
fn the_example_account_gives_the_documented_findings() {
    let index = example_index();
    let issues = audit();
    let found = found(&issues, &index);
    let expected: BTreeSet<String> = EXPECTED.iter().map(|s| (*s).to_owned()).collect();
    let missing: Vec<&String> = expected.difference(&found).collect();
    let extra: Vec<&String> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    let paths = |id: &str| {
        issues
            .iter()
            .find(|i| i.resource.resource_id == id && i.check.ends_with("privilege-escalation"))
            .map(|i| i.evidence["paths"].clone())
            .unwrap()
    };
    assert_eq!(
        paths("AROAEXAMPLECIDEPLOY01"),
        serde_json::json!(["PassRole to Lambda", "UpdateFunctionCode"])
    );
    assert_eq!(
        paths("AROAEXAMPLESANDBOX001"),
        serde_json::json!(["UpdateFunctionCode", "UpdateDevEndpoint"])
    );
}

#[test]
fn the_example_findings_are_stable_and_the_good_resources_stay_clean() {
    let first = audit();
    let second = audit();
    let ids = |issues: &[Issue]| issues.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&second));
    let fingerprints = |issues: &[Issue]| issues.iter().map(Issue::fingerprint).collect::<Vec<_>>();
    assert_eq!(fingerprints(&first), fingerprints(&second));
    let index = example_index();
    let named = found(&first, &index);
    for clean in [
        "lambda-orders",
        "ec2-reports",
        "carol",
        "example-org-shared",
        "example-internal-docs",
        "example-reports",
        "orders-events",
        "orders",
        "orders-db",
        "management-events",
        "0a1b2c3d-1111-2222-3333-444455556666",
        // Deleted: open to the world, but gone.
        "old-debug",
    ] {
        let prefix = format!("{clean} ");
        assert!(
            !named.iter().any(|f| f.starts_with(&prefix)),
            "{clean} should have no issues"
        );
    }
}

#[test]
fn a_suppression_file_moves_the_website_bucket_aside() {
    let index = example_index();
    let suppressions = Suppressions::from_toml(
        r#"
        [[suppress]]
        check = "s3.bucket.*"
        resource = '^arn:aws:s3:::example-public-assets$'
        tags = { purpose = "website" }
        expires = 2024-12-31
        reason = "static website, reviewed"
        "#,
    )
    .unwrap();
    let issues = audit();
    let total = issues.len();
    let outcome = suppressions.apply(issues, |key| index.tags(key), date!(2024 - 05 - 01));
    assert_eq!(outcome.suppressed.len(), 2);
    assert!(
        outcome
            .suppressed
            .iter()
            .all(|s| s.reason == "static website, reviewed")
    );
    assert_eq!(outcome.issues.len(), total - 2);
    let later = suppressions.apply(audit(), |key| index.tags(key), date!(2025 - 01 - 01));
    assert!(later.suppressed.is_empty());
    assert_eq!(later.expired.len(), 1);
    assert_eq!(later.expired[0].issues.len(), 2);
}
