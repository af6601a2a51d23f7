//! Alerts through SNS to an SQS subscription on moto: the message received is
//! the documented JSON (monitor/ALERTS.md).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use monitor::alert::{Alert, Options, Sink, SnsSink, alerts, deliver};
use monitor::model::{Category, Event, Issue, PathChange, Severity};
use serde_json::{Value, json};
use time::macros::datetime;

struct Wiring {
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    topic_arn: String,
    queue_url: String,
}

/// A new topic with a new queue subscribed to it (both FIFO when `fifo`).
async fn wire(config: &aws_config::SdkConfig, fifo: bool) -> Wiring {
    let sns = aws_sdk_sns::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let suffix = if fifo { ".fifo" } else { "" };
    let topic_arn = sns
        .create_topic()
        .name(testkit::unique_name("alerts") + suffix)
        .set_attributes(fifo.then(|| [("FifoTopic".to_owned(), "true".to_owned())].into()))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let queue_url = sqs
        .create_queue()
        .queue_name(testkit::unique_name("alerts") + suffix)
        .set_attributes(fifo.then(|| {
            [(
                aws_sdk_sqs::types::QueueAttributeName::FifoQueue,
                "true".to_owned(),
            )]
            .into()
        }))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap()
        .clone();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    Wiring {
        sns,
        sqs,
        topic_arn,
        queue_url,
    }
}

/// Every SNS envelope waiting in the queue.
async fn received(wiring: &Wiring, expected: usize) -> Vec<Value> {
    let mut envelopes = Vec::new();
    for _ in 0..10 {
        let output = wiring
            .sqs
            .receive_message()
            .queue_url(&wiring.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            envelopes.push(serde_json::from_str(message.body().unwrap()).unwrap());
        }
        if envelopes.len() >= expected {
            break;
        }
    }
    envelopes
}

fn events() -> Vec<Event> {
    let bucket = "111122223333/eu-west-1/AWS::S3::Bucket/logs"
        .parse()
        .unwrap();
    let role = "111122223333/global/AWS::IAM::Role/AROAEXAMPLE"
        .parse()
        .unwrap();
    let mut public = Issue::new(
        bucket,
        "s3.public-policy",
        Category::InternetAccessible,
        9,
        "*".into(),
        "bucket `logs` is readable by anyone".into(),
    );
    public.evidence = json!({"Principal": "*", "Action": "s3:GetObject"});
    let escalation = Issue::new(
        role,
        "iam.privilege-escalation",
        Category::PrivilegeEscalation,
        7,
        "iam:PassRole".into(),
        "role `deploy` can pass any role".into(),
    );
    vec![
        Event::NewIssue { issue: public },
        Event::NoLongerJustified {
            issue: escalation,
            reason: "deploy pipeline".into(),
        },
        Event::ResourceChanged {
            key: "111122223333/eu-west-1/AWS::EC2::SecurityGroup/sg-1"
                .parse()
                .unwrap(),
            revision: 4,
            changes: vec![PathChange {
                path: "/configuration/ipPermissions/0/toPort".into(),
                before: Some(json!(443)),
                after: Some(json!(22)),
            }],
        },
    ]
}

#[tokio::test]
async fn a_digest_arrives_as_the_documented_json() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let wiring = wire(&config, false).await;
    let options = Options {
        digest: true,
        ..Options::default()
    };
    let now = datetime!(2026-11-22 10:00 UTC);
    let alerts = alerts(&events(), &options, "run-42", now);
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(SnsSink::new(&config, &wiring.topic_arn))];
    let delivery = deliver(&alerts, &sinks).await;
    assert!(delivery.failures.is_empty(), "{:?}", delivery.failures);
    assert_eq!(delivery.sent, 1);

    let envelopes = received(&wiring, 1).await;
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], wiring.topic_arn.as_str());
    assert_eq!(envelope["Subject"], alerts[0].subject.as_str());
    assert!(envelope["Subject"].as_str().unwrap().len() <= 100);
    assert_eq!(envelope["MessageAttributes"]["kind"]["Value"], "digest");
    assert_eq!(
        envelope["MessageAttributes"]["severity"]["Value"],
        "critical"
    );

    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["schema"], "monitor-alert");
    assert_eq!(message["version"], 1);
    assert_eq!(message["kind"], "digest");
    assert_eq!(message["run"], "run-42");
    assert_eq!(message["generated_at"], "2026-11-22T10:00:00Z");
    assert_eq!(message["part"], json!({"index": 1, "count": 1}));
    assert_eq!(message["summary"]["events"], 3);
    assert_eq!(message["summary"]["by_event"]["no-longer-justified"], 1);
    assert_eq!(
        message["summary"]["by_severity"],
        json!({"high": 1, "critical": 1})
    );
    assert_eq!(message["summary"]["worst"], "critical");
    let first = &message["events"][0];
    assert_eq!(first["event"], "new-issue");
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["issue"]["evidence"]["Action"], "s3:GetObject");
    assert_eq!(message["events"][1]["reason"], "deploy pipeline");
    assert_eq!(message["events"][2]["changes"][0]["after"], 22);
    let alert: Alert = serde_json::from_value(message).unwrap();
    assert_eq!(alert, alerts[0]);
}

#[tokio::test]
async fn one_message_per_event_above_the_minimum_severity() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let wiring = wire(&config, false).await;
    let options = Options {
        min_severity: Severity::Critical,
        resources: false,
        ..Options::default()
    };
    let alerts = alerts(
        &events(),
        &options,
        "run-43",
        datetime!(2026-11-22 10:00 UTC),
    );
    assert_eq!(alerts.len(), 1);
    let sink = SnsSink::from_client(wiring.sns.clone(), &wiring.topic_arn);
    sink.send(&alerts[0]).await.unwrap();
    let envelopes = received(&wiring, 1).await;
    assert_eq!(envelopes.len(), 1);
    let message: Value = serde_json::from_str(envelopes[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["kind"], "event");
    assert_eq!(message["events"].as_array().unwrap().len(), 1);
    assert_eq!(message["events"][0]["issue"]["check"], "s3.public-policy");
}

#[tokio::test]
async fn a_missing_topic_is_a_reported_failure() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic-for-monitor";
    let alerts = alerts(
        &events(),
        &Options::default(),
        "run-44",
        datetime!(2026-11-22 10:00 UTC),
    );
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(SnsSink::new(&config, topic))];
    let delivery = deliver(&alerts, &sinks).await;
    assert_eq!(delivery.sent, 0);
    assert_eq!(delivery.failures.len(), alerts.len());
    let error = delivery.failures[0].error.to_string();
    assert!(error.contains("no-such-topic-for-monitor"), "{error}");
    assert!(error.contains("sns:Publish"), "{error}");
}

#[tokio::test]
async fn fifo_topics_take_alerts_too() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let wiring = wire(&config, true).await;
    let alerts = alerts(
        &events(),
        &Options::default(),
        "run-45",
        datetime!(2026-11-22 10:00 UTC),
    );
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(SnsSink::new(&config, &wiring.topic_arn))];
    let delivery = deliver(&alerts, &sinks).await;
    assert!(delivery.failures.is_empty(), "{:?}", delivery.failures);
    let envelopes = received(&wiring, alerts.len()).await;
    assert_eq!(envelopes.len(), alerts.len());
    let first: Value = serde_json::from_str(envelopes[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(first["run"], "run-45");
}
