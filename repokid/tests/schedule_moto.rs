//! Scheduling against moto: a role scheduled (with an SNS notice, read
//! back from an SQS queue subscribed to the topic), not repoed before it
//! is due, repoed when due (notice first), and taken off the schedule.
#![allow(clippy::unwrap_used, reason = "tests")]

use policies::catalogue::Catalogue;
use repokid::aws::AwsIam;
use repokid::aws::notify::SnsNotifier;
use repokid::model::{AccessRecord, AccessSource, NamedPolicy};
use repokid::schedule::{self, Notifier};
use repokid::{PlanConfig, Planner, RoleRecord, SqliteStore};
use time::{Duration, OffsetDateTime};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#;

/// The `Message` of every SNS notification waiting in the queue, parsed.
async fn notices(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            let envelope: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(envelope["Type"], "Notification");
            let subject = envelope["Subject"].as_str().unwrap().to_owned();
            let mut message: serde_json::Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            message["subject"] = subject.into();
            out.push(message);
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn scheduled_roles_are_notified_then_repoed_when_due() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    // The queue subscribed to the topic.
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name(testkit::unique_name("notices"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let topic = sns
        .create_topic()
        .name(testkit::unique_name("repokid"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();
    let notifier = SnsNotifier {
        client: sns.clone(),
        topic_arn: topic.clone(),
    };

    // The role in IAM and in the store; EC2 unused for a year.
    let iam_sdk = aws_sdk_iam::Client::new(&config);
    let name = testkit::unique_name("sched");
    let arn = iam_sdk
        .create_role()
        .role_name(&name)
        .path("/service/")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    iam_sdk
        .put_role_policy()
        .role_name(&name)
        .policy_name("p")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let store = SqliteStore::in_memory().unwrap();
    store
        .put_roles(
            &[RoleRecord {
                arn: arn.clone(),
                name: name.clone(),
                id: "AROA".into(),
                path: "/service/".into(),
                create_date: Some(now - Duration::days(400)),
                tags: Vec::new(),
                inline: vec![NamedPolicy {
                    name: "p".into(),
                    document: policies::Policy::parse(POLICY).unwrap(),
                }],
                attached: Vec::new(),
            }],
            now - Duration::days(200),
        )
        .unwrap();
    let record = |service: &str, days: i64| AccessRecord {
        role_arn: arn.clone(),
        service: service.into(),
        action: None,
        last_used: Some(now - Duration::days(days)),
        source: AccessSource::AccessAdvisor,
    };
    store
        .put_access(&[record("s3", 1), record("ec2", 365)], now)
        .unwrap();

    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    let results = schedule::schedule(
        &store,
        &mut planner,
        Some(&notifier),
        &[name.clone(), "nobody".to_owned()],
        7,
        now,
    )
    .await;
    let entry = results[0].result.as_ref().unwrap();
    assert_eq!(entry.due_at, now + Duration::days(7));
    assert!(entry.notified);
    assert!(results[1].result.is_err());
    assert_eq!(store.scheduled().unwrap().len(), 1);
    let got = notices(&sqs, &queue_url).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["event"], "scheduled");
    assert_eq!(got[0]["role_name"], name.as_str());
    assert_eq!(got[0]["role_arn"], arn.as_str());
    assert_eq!(
        got[0]["removed"],
        serde_json::json!(["ec2:DescribeInstances"])
    );
    assert_eq!(got[0]["removed_count"], 1);
    assert_eq!(got[0]["subject"], format!("repokid: scheduled {name}"));

    let iam = AwsIam::new(&config);
    // Not due yet: nothing happens.
    let early = schedule::repo_due(&iam, Some(&notifier), &store, &mut planner, true, now)
        .await
        .unwrap();
    assert!(early.is_empty());
    assert!(notices(&sqs, &queue_url).await.is_empty());

    // Due: a notice, then the repo; the role leaves the schedule.
    let later = now + Duration::days(8);
    store
        .put_access(&[record("s3", -7)], later - Duration::days(1))
        .unwrap();
    let done = schedule::repo_due(&iam, Some(&notifier), &store, &mut planner, true, later)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    let report = done[0].result.as_ref().unwrap();
    assert!(report.committed);
    let live = repokid::apply::Iam::inline_policies(&iam, &arn)
        .await
        .unwrap();
    assert_eq!(
        live[0]
            .document
            .statements
            .iter()
            .next()
            .unwrap()
            .action_patterns(),
        ["s3:GetObject"]
    );
    let got = notices(&sqs, &queue_url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["event"], "repo");
    assert!(store.scheduled().unwrap().is_empty());

    // A notifier that fails keeps the role as it was.
    struct Broken;
    impl Notifier for Broken {
        async fn notify(&self, _: &schedule::Notice) -> Result<(), repokid::AwsError> {
            Err(repokid::AwsError::Call {
                operation: "Publish",
                target: "topic".into(),
                message: "down".into(),
            })
        }
    }
    iam_sdk
        .put_role_policy()
        .role_name(&name)
        .policy_name("p")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    store
        .schedule(&repokid::model::Scheduled {
            role_arn: arn.clone(),
            role_name: name.clone(),
            due_at: later,
            scheduled_at: now,
            notified: true,
        })
        .unwrap();
    let failed = schedule::repo_due(&iam, Some(&Broken), &store, &mut planner, true, later)
        .await
        .unwrap();
    assert!(failed[0].result.is_err());
    assert_eq!(store.scheduled().unwrap().len(), 1);
    let live = repokid::apply::Iam::inline_policies(&iam, &arn)
        .await
        .unwrap();
    assert_eq!(live[0].document, policies::Policy::parse(POLICY).unwrap());
}
