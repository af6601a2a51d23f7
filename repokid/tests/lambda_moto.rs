//! The Lambda handlers called directly, against moto: a scheduled update
//! inventories the account into the store; the repo of due roles repoes a
//! scheduled role in IAM.
#![allow(clippy::unwrap_used, reason = "tests")]

use repokid::SqliteStore;
use repokid::config::Config;
use repokid::lambda::{Deps, LambdaError, handle_repo_scheduled, handle_update};
use repokid::model::{AccessRecord, AccessSource, Scheduled};
use time::{Duration, OffsetDateTime};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#;

#[tokio::test]
async fn update_then_repo_the_due_roles() {
    let Some(sdk) = testkit::aws_config().await else {
        return;
    };
    let iam = aws_sdk_iam::Client::new(&sdk);
    let name = testkit::unique_name("lambda");
    let arn = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    iam.put_role_policy()
        .role_name(&name)
        .policy_name("p")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    // moto serves no Access Advisor: collect only the inventory, and make
    // the new role old enough for the filters.
    let config = Config::load(
        "[access]\naccess_advisor = false\n[filter]\nmin_age_days = 0\n",
        Vec::new(),
    )
    .unwrap();
    let mut deps = Deps {
        store: Box::new(SqliteStore::in_memory().unwrap()),
        sdk,
        config,
    };
    let now = OffsetDateTime::now_utc();
    let out = handle_update(
        &mut deps,
        serde_json::json!({"detail-type": "Scheduled Event"}),
        now,
    )
    .await
    .unwrap();
    assert!(out["roles"].as_u64().unwrap() >= 1, "{out}");
    assert_eq!(out["failures"], serde_json::json!([]), "{out}");
    assert_eq!(out["accounts"][0]["account"], "self");
    let stored = deps.store.roles().unwrap();
    let role = stored.iter().find(|r| r.name == name).unwrap();
    assert_eq!(role.inline[0].name, "p");
    assert!(!deps.store.totals().unwrap().is_empty());

    let bad = handle_update(
        &mut deps,
        serde_json::json!({"detail": {"accounts": 5}}),
        now,
    )
    .await;
    assert!(matches!(&bad, Err(e @ LambdaError::BadEvent(_)) if e.error_type() == "BadEvent"));

    // Access data: S3 used, EC2 not for a year; the role is due.
    let record = |service: &str, days: i64| AccessRecord {
        role_arn: arn.clone(),
        service: service.into(),
        action: None,
        last_used: Some(now - Duration::days(days)),
        source: AccessSource::AccessAdvisor,
    };
    deps.store
        .put_access(&[record("s3", 1), record("ec2", 365)], now)
        .unwrap();
    deps.store
        .schedule(&Scheduled {
            role_arn: arn.clone(),
            role_name: name.clone(),
            due_at: now - Duration::hours(1),
            scheduled_at: now - Duration::days(7),
            notified: false,
        })
        .unwrap();
    let out = handle_repo_scheduled(&mut deps, now).await.unwrap();
    let results = out["results"].as_array().unwrap();
    let ours = results.iter().find(|r| r["role"] == name.as_str()).unwrap();
    assert_eq!(ours["ok"], true, "{out}");
    assert_eq!(ours["committed"], true);
    assert_eq!(ours["removed_count"], 1);
    let live = iam
        .get_role_policy()
        .role_name(&name)
        .policy_name("p")
        .send()
        .await
        .unwrap()
        .policy_document;
    let live = policies::Policy::parse(&live).unwrap();
    assert_eq!(
        live.statements.iter().next().unwrap().action_patterns(),
        ["s3:GetObject"]
    );
    assert!(
        deps.store
            .scheduled()
            .unwrap()
            .iter()
            .all(|s| s.role_arn != arn)
    );
}
