//! `repo` and `rollback` against IAM served by moto: the real SDK path of
//! `repokid::aws::AwsIam`, with each store (SQLite, and DynamoDB on moto),
//! on a role with a path, reached with the caller's credentials and through
//! a role assumed in the caller's own account (as the Lambda functions do).
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;

use policies::Policy;
use policies::catalogue::Catalogue;
use repokid::apply::{self, Iam, planned_policies};
use repokid::aws::AwsIam;
use repokid::aws::route::Route;
use repokid::model::{AccessRecord, AccessSource, NamedPolicy, Outcome};
use repokid::{DynamoStore, PlanConfig, Planner, RoleRecord, SqliteStore, Store};
use time::{Duration, OffsetDateTime};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// `reads` keeps S3 and drops EC2; `compute` is only EC2 and goes; `queue`
/// is fully used and stays as it is.
const POLICIES: [(&str, &str); 3] = [
    (
        "reads",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","ec2:DescribeInstances"],"Resource":"*"}]}"#,
    ),
    (
        "compute",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#,
    ),
    (
        "queue",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:orders"}]}"#,
    ),
];

fn as_map(policies: &[NamedPolicy]) -> BTreeMap<String, Policy> {
    policies
        .iter()
        .map(|p| (p.name.clone(), p.document.clone()))
        .collect()
}

#[tokio::test]
async fn repo_then_rollback_against_moto_on_sqlite() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let iam = AwsIam::new(&config);
    repo_then_rollback(&config, &iam, &SqliteStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn repo_then_rollback_through_an_assumed_role_in_the_own_account() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let iam = AwsIam::with_route(&config, Route::Assume("RepokidRole".into()));
    repo_then_rollback(&config, &iam, &SqliteStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn repo_then_rollback_against_moto_on_dynamodb() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let store = DynamoStore::from_sdk(&config, testkit::unique_name("repokid-apply"));
    store.create_table().await.unwrap();
    repo_then_rollback(&config, &AwsIam::new(&config), &store).await;
}

async fn repo_then_rollback(config: &aws_config::SdkConfig, iam: &AwsIam, store: &dyn Store) {
    let sdk = aws_sdk_iam::Client::new(config);
    let name = testkit::unique_name("repo");
    let created = sdk
        .create_role()
        .role_name(&name)
        .path("/service/")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let arn = created.role().unwrap().arn().to_owned();
    assert!(arn.ends_with(&format!(":role/service/{name}")), "{arn}");
    for (policy, doc) in POLICIES {
        sdk.put_role_policy()
            .role_name(&name)
            .policy_name(policy)
            .policy_document(doc)
            .send()
            .await
            .unwrap();
    }
    let originals: Vec<NamedPolicy> = POLICIES
        .iter()
        .map(|(n, d)| NamedPolicy {
            name: (*n).into(),
            document: Policy::parse(d).unwrap(),
        })
        .collect();
    // The SDK path reads back what was put.
    assert_eq!(
        as_map(&iam.inline_policies(&arn).await.unwrap()),
        as_map(&originals)
    );

    // The store: the role (created long ago as far as the filters go) and
    // access data in which EC2 was last used a year ago.
    let now = OffsetDateTime::now_utc();
    let record = RoleRecord {
        arn: arn.clone(),
        name: name.clone(),
        id: created.role().unwrap().role_id().to_owned(),
        path: "/service/".into(),
        create_date: Some(now - Duration::days(400)),
        tags: Vec::new(),
        inline: originals.clone(),
        attached: Vec::new(),
    };
    store
        .put_roles(&[record], now - Duration::days(200))
        .await
        .unwrap();
    let access = |service: &str, days_ago: i64| AccessRecord {
        role_arn: arn.clone(),
        service: service.into(),
        action: None,
        last_used: Some(now - Duration::days(days_ago)),
        source: AccessSource::Aardvark,
    };
    store
        .put_access(
            &[access("s3", 2), access("sqs", 1), access("ec2", 365)],
            now - Duration::days(1),
        )
        .await
        .unwrap();

    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    // A dry run changes nothing in IAM.
    let dry = apply::repo(iam, store, &mut planner, &name, false, now)
        .await
        .unwrap();
    assert_eq!(dry.calls.len(), 2);
    assert_eq!(
        as_map(&iam.inline_policies(&arn).await.unwrap()),
        as_map(&originals)
    );

    let report = apply::repo(iam, store, &mut planner, &name, true, now)
        .await
        .unwrap();
    let plan = report.plan.as_ref().unwrap();
    assert_eq!(plan.outcome, Outcome::Repo);
    assert!(report.committed);
    let planned = planned_policies(&originals, plan);
    let after = iam.inline_policies(&arn).await.unwrap();
    assert_eq!(as_map(&after), as_map(&planned));
    let names: Vec<&str> = after.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"compute"));
    let reads = &as_map(&after)["reads"];
    assert_eq!(
        reads.statements.iter().next().unwrap().action_patterns(),
        ["s3:GetObject", "s3:ListBucket"]
    );

    // Again: nothing to do, no call.
    let again = apply::repo(iam, store, &mut planner, &name, true, now)
        .await
        .unwrap();
    assert!(again.calls.is_empty(), "{:?}", again.calls);
    assert!(!again.committed);
    assert_eq!(
        as_map(&iam.inline_policies(&arn).await.unwrap()),
        as_map(&planned)
    );

    // Roll back to the version saved by the repo: the originals come back.
    // Named by ARN this time.
    let back = apply::rollback(iam, store, &arn, None, true, now)
        .await
        .unwrap();
    assert!(back.committed);
    assert_eq!(back.target.as_ref().unwrap().version, 1);
    assert_eq!(
        as_map(&iam.inline_policies(&arn).await.unwrap()),
        as_map(&originals)
    );
    let versions = store.inline_versions(&arn).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(as_map(&versions[1].policies), as_map(&planned));
    // Each `repo` saved its plan (the dry run's too): `stats` counts them.
    assert_eq!(store.stats().await.unwrap().plans, 3);
    // The stored role follows IAM: its policies as restored.
    let stored = store.roles().await.unwrap();
    assert_eq!(as_map(&stored[0].inline), as_map(&originals));
}
