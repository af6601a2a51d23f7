//! The Lambda handlers on moto: the scheduled audit queues one task per
//! account and region, the worker runs a queued IAM task, and a second run of
//! the same task records and alerts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use monitor::config::Config;
use monitor::lambda::{Deps, HandlerError, handle_scheduled, handle_task};
use monitor::store::SqliteStore;
use monitor::suppress::Suppressions;
use time::macros::datetime;

async fn deps(
    sdk: aws_config::SdkConfig,
    queue_url: Option<String>,
    dir: &std::path::Path,
) -> Deps {
    let config = Config::load(
        "[collect]\naccounts = [\"123456789012\"]\nregions = [\"us-east-1\", \"eu-west-1\"]\n",
        Vec::new(),
    )
    .unwrap();
    Deps {
        sdk,
        config,
        store: Box::new(SqliteStore::open(&dir.join("monitor.db")).unwrap()),
        sinks: Vec::new(),
        suppressions: Suppressions::default(),
        queue_url,
    }
}

#[tokio::test]
async fn scheduled_audit_fans_out_and_the_worker_runs_a_task_once() {
    let Some(sdk) = testkit::aws_config().await else {
        return;
    };
    aws_sdk_iam::Client::new(&sdk)
        .create_role()
        .role_name(testkit::unique_name("worker"))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(testkit::unique_name("tasks"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(sdk, Some(queue_url.clone()), dir.path()).await;
    let now = datetime!(2026-11-02 00:00 UTC);

    let report = handle_scheduled(&deps, now).await.unwrap();
    assert_eq!(report.sent, 3, "two regions and IAM for one account");
    let mut bodies = Vec::new();
    while bodies.len() < 3 {
        let batch = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        assert!(!batch.messages().is_empty(), "tasks missing: {bodies:?}");
        bodies.extend(
            batch
                .messages()
                .iter()
                .map(|m| m.body().unwrap().to_owned()),
        );
    }
    let global = bodies.iter().find(|b| b.contains("\"global\"")).unwrap();

    let first = handle_task(&deps, global, now).await.unwrap();
    assert!(
        !first.events.is_empty(),
        "the first run records the account's IAM"
    );
    assert!(
        first
            .issues
            .iter()
            .any(|i| i.check == "iam.role.trust-unknown-account"),
        "{:?}",
        first.issues
    );
    assert!(first.committed);
    let again = handle_task(&deps, global, now + time::Duration::hours(1))
        .await
        .unwrap();
    assert!(
        again
            .events
            .iter()
            .all(|e| !matches!(e, monitor::model::Event::NewIssue { .. })),
        "{:?}",
        again.events
    );

    let bad = handle_task(&deps, "{\"kind\": \"something-else\"}", now).await;
    assert!(matches!(bad, Err(HandlerError::Task(_))), "{bad:?}");
}

#[tokio::test]
async fn scheduled_audit_without_accounts_names_the_setting() {
    let Some(sdk) = testkit::aws_config().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut deps = deps(sdk, None, dir.path()).await;
    deps.config.collect.accounts.clear();
    let err = handle_scheduled(&deps, datetime!(2026-11-02 00:00 UTC))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("MONITOR__COLLECT__ACCOUNTS"),
        "{err}"
    );
}
