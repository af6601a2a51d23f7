//! `repo` and `rollback` against IAM served by moto: the real SDK path of
//! `repokid::aws::AwsIam`, with each store (SQLite, and DynamoDB on moto),
//! on a role with a path, reached with the caller's credentials and through
//! a role assumed in the caller's own account (as the Lambda functions do);
//! and `repo --managed`, which replaces an attached customer-managed policy
//! by a right-sized inline copy, then `rollback`, which re-attaches it.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;

use policies::Policy;
use policies::catalogue::Catalogue;
use repokid::apply::{self, Iam, planned_policies};
use repokid::aws::AwsIam;
use repokid::aws::route::Route;
use repokid::model::{
    AccessRecord, AccessSource, AttachedRecord, ManagedDecision, NamedPolicy, Outcome,
};
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

/// S3 used, EC2 not: `repo --managed` keeps only `s3:GetObject` of it.
const SHARED: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Shared","Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#;

/// The managed policy ARNs attached to role `name`, as moto lists them.
async fn attached_in_moto(sdk: &aws_sdk_iam::Client, name: &str) -> Vec<String> {
    sdk.list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect()
}

#[tokio::test]
async fn managed_repo_detaches_for_a_copy_and_rollback_reattaches_against_moto() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let sdk = aws_sdk_iam::Client::new(&config);
    let iam = AwsIam::new(&config);
    let sqlite = SqliteStore::in_memory().unwrap();
    let store: &dyn Store = &sqlite;
    let name = testkit::unique_name("managed");
    let created = sdk
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let arn = created.role().unwrap().arn().to_owned();
    let (queue, queue_doc) = POLICIES[2];
    sdk.put_role_policy()
        .role_name(&name)
        .policy_name(queue)
        .policy_document(queue_doc)
        .send()
        .await
        .unwrap();
    let policy_name = testkit::unique_name("shared");
    let policy_arn = sdk
        .create_policy()
        .policy_name(&policy_name)
        .policy_document(SHARED)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    sdk.attach_role_policy()
        .role_name(&name)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    // The SDK path lists the attachment.
    assert_eq!(
        iam.attached_policies(&arn).await.unwrap(),
        [policy_arn.as_str()]
    );
    let originals = iam.inline_policies(&arn).await.unwrap();

    let now = OffsetDateTime::now_utc();
    let record = RoleRecord {
        arn: arn.clone(),
        name: name.clone(),
        id: created.role().unwrap().role_id().to_owned(),
        path: "/".into(),
        create_date: Some(now - Duration::days(400)),
        tags: Vec::new(),
        inline: originals.clone(),
        attached: vec![AttachedRecord {
            name: policy_name.clone(),
            arn: policy_arn.clone(),
            aws_managed: false,
            document: Some(Policy::parse(SHARED).unwrap()),
        }],
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

    let managed = PlanConfig {
        managed: true,
        ..PlanConfig::default()
    };
    let mut planner = Planner::new(Catalogue::builtin(), managed);
    let report = apply::repo(&iam, store, &mut planner, &name, true, now)
        .await
        .unwrap();
    assert!(report.committed);
    let plan = report.plan.as_ref().unwrap();
    assert_eq!(plan.outcome, Outcome::Repo);
    assert!(matches!(
        plan.managed_unused[0].decision,
        ManagedDecision::Replaced { .. }
    ));
    // In moto: the policy detached, its copy inline with only S3 left, the
    // other inline policy untouched.
    assert!(attached_in_moto(&sdk, &name).await.is_empty());
    let after = as_map(&iam.inline_policies(&arn).await.unwrap());
    let copy_name = format!("repokid-{policy_name}");
    let copy = &after[&copy_name];
    let statement = copy.statements.iter().next().unwrap();
    assert_eq!(statement.action_patterns(), ["s3:GetObject"]);
    assert_eq!(statement.sid.as_deref(), Some("Shared"));
    assert_eq!(after[queue], as_map(&originals)[queue]);
    assert_eq!(after.len(), 2);

    // Again: nothing to do.
    let again = apply::repo(&iam, store, &mut planner, &name, true, now)
        .await
        .unwrap();
    assert!(again.calls.is_empty(), "{:?}", again.calls);

    let back = apply::rollback(&iam, store, &name, None, true, now)
        .await
        .unwrap();
    assert!(back.committed);
    assert_eq!(attached_in_moto(&sdk, &name).await, [policy_arn.as_str()]);
    assert_eq!(
        as_map(&iam.inline_policies(&arn).await.unwrap()),
        as_map(&originals)
    );
    // The managed policy itself was never changed.
    let version = sdk
        .get_policy_version()
        .policy_arn(&policy_arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    let document = version.policy_version().unwrap().document().unwrap();
    assert_eq!(
        Policy::parse(document).unwrap(),
        Policy::parse(SHARED).unwrap()
    );
}
