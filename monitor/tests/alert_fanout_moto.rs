//! The scheduled audit's fan-out on moto's SQS: one message per (account,
//! region), read back by the worker.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeSet;

use monitor::fanout::{Fanout, WorkerTask, tasks};
use time::macros::datetime;

#[tokio::test]
async fn every_account_and_region_gets_one_message() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name(testkit::unique_name("audit-tasks"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let accounts: Vec<String> = (1..=5).map(|n| format!("{n:012}")).collect();
    let regions: Vec<String> = ["us-east-1", "eu-west-1", "global"]
        .map(str::to_owned)
        .to_vec();
    let now = datetime!(2026-11-22 10:00 UTC);
    let tasks = tasks(&accounts, &regions, "run-7", now);
    assert_eq!(tasks.len(), 15);

    let report = Fanout::new(&config, &queue_url).send(&tasks).await;
    assert_eq!(report.sent, 15);
    assert_eq!(report.calls, 2);
    assert!(report.failed.is_empty(), "{:?}", report.failed);

    let mut got = BTreeSet::new();
    for _ in 0..20 {
        let output = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            let task = WorkerTask::from_sqs_body(message.body().unwrap()).unwrap();
            assert_eq!(task.run, "run-7");
            assert_eq!(task.requested_at, now);
            assert!(
                got.insert((task.account, task.region)),
                "a task arrived twice"
            );
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if got.len() == 15 {
            break;
        }
    }
    let want: BTreeSet<(String, String)> =
        tasks.into_iter().map(|t| (t.account, t.region)).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_missing_queue_reports_every_task() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let queue_url = format!(
        "{}/123456789012/{}",
        testkit::endpoint().unwrap(),
        testkit::unique_name("missing")
    );
    let tasks = tasks(
        &["111122223333".to_owned()],
        &["us-east-1".to_owned()],
        "r",
        datetime!(2026-11-22 10:00 UTC),
    );
    let report = Fanout::new(&config, &queue_url).send(&tasks).await;
    assert_eq!(report.sent, 0);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].code, "request");
    assert!(!report.failed[0].message.is_empty());
}
