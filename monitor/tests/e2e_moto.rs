//! End to end on moto: collect IAM, change a role, see the drift, get exactly
//! one alert through SNS to SQS, run again unchanged and get none.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use monitor::alert::{Options, Sink, SnsSink};
use monitor::audit::{AuditSettings, Auditor};
use monitor::lifecycle::Scope;
use monitor::model::{ConfigItem, Event, Severity};
use monitor::pipeline::Pipeline;
use monitor::source::iam;
use monitor::store::{SqliteStore, Store};
use monitor::suppress::Suppressions;
use policies::catalogue::Catalogue;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

const TRUST_OWN: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TRUST_FOREIGN: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#;

struct Queue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    /// Every message waiting, parsed from the SNS envelope's `Message`.
    async fn drain(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if batch.messages().is_empty() {
                return out;
            }
            for message in batch.messages() {
                let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                out.push(serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// A topic with a queue subscribed to it.
async fn topic_and_queue(config: &aws_config::SdkConfig) -> (String, Queue) {
    let sns = aws_sdk_sns::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let topic = sns
        .create_topic()
        .name(testkit::unique_name("e2e"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let url = sqs
        .create_queue()
        .queue_name(testkit::unique_name("e2e"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        url.rsplit('/').next().unwrap()
    );
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    (topic, Queue { sqs, url })
}

/// This test's roles only: moto is shared with tests running beside it.
async fn collect(
    config: &aws_config::SdkConfig,
    prefix: &str,
    now: OffsetDateTime,
) -> Vec<ConfigItem> {
    iam::collect(config, now)
        .await
        .unwrap()
        .into_iter()
        .filter(|item| item.key.resource_type == "AWS::IAM::Role")
        .filter(|item| item.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
        .collect()
}

#[tokio::test]
async fn collect_change_drift_one_alert_then_none() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let iam_client = aws_sdk_iam::Client::new(&config);
    let prefix = testkit::unique_name("e2e");
    let role = format!("{prefix}-worker");
    iam_client
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(TRUST_OWN)
        .send()
        .await
        .unwrap();
    let (topic, queue) = topic_and_queue(&config).await;

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("monitor.db")).unwrap();
    let catalogue = Catalogue::builtin();
    let auditor = Auditor::new(&AuditSettings::default(), catalogue);
    let suppressions = Suppressions::default();
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(SnsSink::new(&config, &topic))];
    let pipeline = Pipeline {
        store: &store,
        auditor: &auditor,
        suppressions: &suppressions,
        alerts: Options {
            min_severity: Severity::Medium,
            resources: false,
            ..Options::default()
        },
        sinks: &sinks,
    };
    let scope = Scope {
        accounts: vec!["123456789012".into()],
        regions: vec!["global".into()],
        resource_types: vec!["AWS::IAM::Role".into()],
    };

    // First run: the role is recorded, nothing is wrong with it.
    let t0 = datetime!(2026-11-01 00:00 UTC);
    let first = pipeline
        .run(
            &scope,
            Some(&collect(&config, &prefix, t0).await),
            "run-1",
            t0,
        )
        .await
        .unwrap();
    assert!(first.issues.is_empty(), "{:?}", first.issues);
    assert_eq!(queue.drain().await.len(), 0);

    // Someone lets a foreign account assume it.
    iam_client
        .update_assume_role_policy()
        .role_name(&role)
        .policy_document(TRUST_FOREIGN)
        .send()
        .await
        .unwrap();
    let t1 = datetime!(2026-11-01 01:00 UTC);
    let second = pipeline
        .run(
            &scope,
            Some(&collect(&config, &prefix, t1).await),
            "run-2",
            t1,
        )
        .await
        .unwrap();
    let changed: Vec<_> = second
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ResourceChanged {
                revision, changes, ..
            } => Some((revision, changes)),
            _ => None,
        })
        .collect();
    assert_eq!(changed.len(), 1, "{:?}", second.events);
    assert_eq!(*changed[0].0, 2);
    assert!(
        changed[0]
            .1
            .iter()
            .any(|c| c.path.contains("assumeRolePolicyDocument")),
        "{:?}",
        changed[0].1
    );
    let key = &second.issues[0].resource;
    let history = store.history(key).await.unwrap();
    assert_eq!(history.len(), 2, "two revisions of the role");
    assert_eq!(second.issues.len(), 1, "{:?}", second.issues);
    assert_eq!(second.issues[0].check, "iam.role.trust-unknown-account");

    let messages = queue.drain().await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let event = &messages[0]["events"][0];
    assert_eq!(event["event"], "new-issue", "{event:#}");
    assert!(messages[0].to_string().contains("999988887777"));

    // Nothing changed: no event, no alert.
    let t2 = datetime!(2026-11-01 02:00 UTC);
    let third = pipeline
        .run(
            &scope,
            Some(&collect(&config, &prefix, t2).await),
            "run-3",
            t2,
        )
        .await
        .unwrap();
    assert!(third.events.is_empty(), "{:?}", third.events);
    assert_eq!(third.issues.len(), 1);
    assert!(third.committed);
    assert_eq!(queue.drain().await.len(), 0);
}
