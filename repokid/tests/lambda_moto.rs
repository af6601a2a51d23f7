//! The Lambda handlers called directly, against moto, on both stores (SQLite
//! in memory, and a DynamoDB table as in Lambda): a scheduled update
//! inventories the account into the store; the repo of due roles repoes a
//! scheduled role in IAM.
#![allow(clippy::unwrap_used, reason = "tests")]

use repokid::config::{Config, DEFAULT_SQLITE, StoreBackend};
use repokid::lambda::{Deps, LambdaError, handle_repo_scheduled, handle_update};
use repokid::model::{AccessRecord, AccessSource, Scheduled, VersionReason};
use repokid::{DynamoStore, SqliteStore};
use time::{Duration, OffsetDateTime};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
/// moto serves no Access Advisor: collect only the inventory, and take
/// new roles as old enough for the filters.
const SETTINGS: &str = "[access]\naccess_advisor = false\n[filter]\nmin_age_days = 0\n";
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#;

#[tokio::test]
async fn update_then_repo_the_due_roles_on_sqlite() {
    let Some(sdk) = testkit::aws_config().await else {
        return;
    };
    let deps = Deps {
        store: Box::new(SqliteStore::in_memory().unwrap()),
        sdk,
        config: Config::load(SETTINGS, Vec::new()).unwrap(),
    };
    update_then_repo_the_due_roles(&deps).await;
}

#[tokio::test]
async fn update_then_repo_the_due_roles_on_dynamodb() {
    let Some(sdk) = testkit::aws_config().await else {
        return;
    };
    let table = testkit::unique_name("repokid-lambda");
    DynamoStore::from_sdk(&sdk, &table)
        .create_table()
        .await
        .unwrap();
    // As the function is configured: the table from the environment only.
    let config = Config::load(
        SETTINGS,
        vec![("REPOKID__STORE__DYNAMODB_TABLE".to_owned(), table.clone())],
    )
    .unwrap();
    assert_eq!(
        config.store.backend(DEFAULT_SQLITE),
        StoreBackend::DynamoDb(table)
    );
    let deps = Deps::open(config, sdk).unwrap();
    update_then_repo_the_due_roles(&deps).await;
}

async fn update_then_repo_the_due_roles(deps: &Deps) {
    let iam = aws_sdk_iam::Client::new(&deps.sdk);
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
    let now = OffsetDateTime::now_utc();
    let out = handle_update(
        deps,
        serde_json::json!({"detail-type": "Scheduled Event"}),
        now,
    )
    .await
    .unwrap();
    assert!(out["roles"].as_u64().unwrap() >= 1, "{out}");
    assert_eq!(out["failures"], serde_json::json!([]), "{out}");
    assert_eq!(out["accounts"][0]["account"], "self");
    let stored = deps.store.roles().await.unwrap();
    let role = stored.iter().find(|r| r.name == name).unwrap();
    assert_eq!(role.inline[0].name, "p");
    assert!(!deps.store.totals().await.unwrap().is_empty());

    let bad = handle_update(deps, serde_json::json!({"detail": {"accounts": 5}}), now).await;
    assert!(matches!(&bad, Err(e @ LambdaError::BadEvent(_)) if e.error_type() == "BadEvent"));

    make_due(deps, &arn, &name, now).await;
    let out = handle_repo_scheduled(deps, now).await.unwrap();
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
            .await
            .unwrap()
            .iter()
            .all(|s| s.role_arn != arn)
    );
    // The live policies were saved before the change, and the plan applied
    // is in the store.
    let saved = deps.store.inline_versions(&arn).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].reason, VersionReason::BeforeRepo);
    assert_eq!(deps.store.stats().await.unwrap().plans, 1);
}

/// As deployed: `accounts.ids` set, so the scheduled repo assumes
/// `accounts.assume_role` in the account of each due role; a role of the
/// same name in the function's own account is left alone.
#[tokio::test]
async fn the_due_role_is_repoed_in_its_own_account() {
    let Some(sdk) = testkit::aws_config().await else {
        return;
    };
    const OTHER: &str = "666666666666";
    let other = repokid::aws::accounts::assume(
        &sdk,
        repokid::aws::accounts::PARTITION,
        OTHER,
        "RepokidRole",
    )
    .await
    .unwrap();
    let name = testkit::unique_name("member");
    let mut arns = Vec::new();
    for config in [&sdk, &other] {
        let iam = aws_sdk_iam::Client::new(config);
        arns.push(
            iam.create_role()
                .role_name(&name)
                .path("/service/")
                .assume_role_policy_document(TRUST)
                .send()
                .await
                .unwrap()
                .role
                .unwrap()
                .arn,
        );
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("p")
            .policy_document(POLICY)
            .send()
            .await
            .unwrap();
    }
    let settings =
        format!("{SETTINGS}[accounts]\nids = [\"{OTHER}\"]\nassume_role = \"RepokidRole\"\n");
    let deps = Deps {
        store: Box::new(SqliteStore::in_memory().unwrap()),
        sdk: sdk.clone(),
        config: Config::load(&settings, Vec::new()).unwrap(),
    };
    // The inventory of the member account, as `repokid-update` stores it.
    let now = OffsetDateTime::now_utc();
    let out = handle_update(&deps, serde_json::json!({}), now)
        .await
        .unwrap();
    assert_eq!(out["accounts"][0]["account"], OTHER, "{out}");
    let member = &arns[1];
    assert!(
        deps.store
            .roles()
            .await
            .unwrap()
            .iter()
            .any(|r| &r.arn == member),
        "{out}"
    );
    make_due(&deps, member, &name, now).await;
    let out = handle_repo_scheduled(&deps, now).await.unwrap();
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{out}");
    assert_eq!(results[0]["ok"], true, "{out}");
    assert_eq!(results[0]["committed"], true, "{out}");
    let live = |config: aws_config::SdkConfig| {
        let name = name.clone();
        async move {
            let doc = aws_sdk_iam::Client::new(&config)
                .get_role_policy()
                .role_name(&name)
                .policy_name("p")
                .send()
                .await
                .unwrap()
                .policy_document;
            policies::Policy::parse(&doc).unwrap()
        }
    };
    assert_eq!(
        live(other)
            .await
            .statements
            .iter()
            .next()
            .unwrap()
            .action_patterns(),
        ["s3:GetObject"]
    );
    assert_eq!(
        live(sdk).await,
        policies::Policy::parse(POLICY).unwrap(),
        "the caller's role of that name is untouched"
    );
}

/// Access data for role `arn` (S3 used yesterday, EC2 not for a year) and a
/// schedule that fell due an hour ago.
async fn make_due(deps: &Deps, arn: &str, name: &str, now: OffsetDateTime) {
    let record = |service: &str, days: i64| AccessRecord {
        role_arn: arn.to_owned(),
        service: service.into(),
        action: None,
        last_used: Some(now - Duration::days(days)),
        source: AccessSource::AccessAdvisor,
    };
    deps.store
        .put_access(&[record("s3", 1), record("ec2", 365)], now)
        .await
        .unwrap();
    deps.store
        .schedule(&Scheduled {
            role_arn: arn.to_owned(),
            role_name: name.to_owned(),
            due_at: now - Duration::hours(1),
            scheduled_at: now - Duration::days(7),
            notified: false,
        })
        .await
        .unwrap();
}
