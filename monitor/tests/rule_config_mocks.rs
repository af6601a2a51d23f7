//! The Config rule's `PutEvaluations` through aws-sdk-config against
//! aws-smithy-mocks (moto does not serve Config rules): batches of 100, the
//! result token, and evaluations Config refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::{Arc, Mutex};

use aws_sdk_config::operation::put_evaluations::{PutEvaluationsError, PutEvaluationsOutput};
use aws_sdk_config::types::{ComplianceType, Evaluation as SdkEvaluation};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use monitor::model::{Category, ConfigItem, Issue, ItemStatus, ResourceKey};
use monitor::rule::{Compliance, evaluate, put_evaluations};
use monitor::source::notification::RuleEvent;
use serde_json::json;
use time::macros::datetime;

/// A scheduled rule event, as Config sends it to a periodic rule.
fn scheduled_event(token: &str) -> RuleEvent {
    let invoking = json!({
        "awsAccountId": "111122223333",
        "notificationCreationTime": "2026-11-22T09:00:00.000Z",
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0"
    });
    RuleEvent::from_value(json!({
        "version": "1.0",
        "invokingEvent": invoking.to_string(),
        "ruleParameters": "{\"minSeverity\":\"medium\"}",
        "resultToken": token,
        "eventLeftScope": false,
        "executionRoleArn": "arn:aws:iam::111122223333:role/config-role",
        "configRuleArn": "arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-abc123",
        "configRuleName": "monitor-audit",
        "configRuleId": "config-rule-abc123",
        "accountId": "111122223333"
    }))
    .unwrap()
}

/// `count` buckets; every third is deleted, every other one public.
fn buckets(count: usize) -> Vec<ConfigItem> {
    (0..count)
        .map(|n| ConfigItem {
            key: ResourceKey {
                account: "111122223333".into(),
                region: "eu-west-1".into(),
                resource_type: "AWS::S3::Bucket".into(),
                resource_id: format!("bucket-{n:03}"),
            },
            arn: Some(format!("arn:aws:s3:::bucket-{n:03}")),
            name: Some(format!("bucket-{n:03}")),
            status: if n % 3 == 2 {
                ItemStatus::Deleted
            } else {
                ItemStatus::Ok
            },
            capture_time: None,
            configuration: json!({"public": n % 2 == 0}),
            supplementary: Default::default(),
            tags: Default::default(),
        })
        .collect()
}

fn issues_of(item: &ConfigItem) -> Vec<Issue> {
    if item.configuration["public"] == true {
        vec![Issue::new(
            item.key.clone(),
            "s3.public-policy",
            Category::InternetAccessible,
            9,
            "*".into(),
            "anyone can read it".into(),
        )]
    } else {
        Vec::new()
    }
}

#[tokio::test]
async fn two_hundred_fifty_evaluations_make_three_calls_and_refusals_are_reported() {
    let event = scheduled_event("token-1");
    let items = buckets(250);
    let now = datetime!(2026-11-22 10:00 UTC);
    let evaluations = evaluate(&event, &items, issues_of, now);
    assert_eq!(evaluations.len(), 250);
    // No capture time on the items: the notification's time orders them.
    assert_eq!(
        evaluations[0].ordering_timestamp,
        datetime!(2026-11-22 09:00 UTC)
    );
    assert_eq!(evaluations[0].compliance, Compliance::NonCompliant);
    assert_eq!(evaluations[1].compliance, Compliance::Compliant);
    assert_eq!(evaluations[2].compliance, Compliance::NotApplicable);

    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    // Config refuses the first evaluation of the second batch.
    let rule = mock!(aws_sdk_config::Client::put_evaluations)
        .match_requests(|req| {
            req.result_token() == Some("token-1") && req.test_mode() != Some(true)
        })
        .then_compute_output(move |req| {
            let evaluations = req.evaluations();
            let mut sizes = seen.lock().unwrap();
            sizes.push(evaluations.len());
            let mut output = PutEvaluationsOutput::builder();
            if sizes.len() == 2 {
                output = output.failed_evaluations(evaluations[0].clone());
            }
            output.build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);
    let report = put_evaluations(&client, &event.result_token, &evaluations).await;
    assert_eq!(*sizes.lock().unwrap(), [100, 100, 50]);
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(report.calls, 3);
    assert_eq!(report.accepted, 249);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].evaluation, evaluations[100]);
    assert!(report.failed[0].reason.contains("FailedEvaluations"));
}

#[tokio::test]
async fn evaluations_carry_compliance_annotation_and_time() {
    let event = scheduled_event("token-2");
    let items = buckets(3);
    let evaluations = evaluate(&event, &items, issues_of, datetime!(2026-11-22 10:00 UTC));
    let sent = Arc::new(Mutex::new(Vec::<SdkEvaluation>::new()));
    let seen = sent.clone();
    let rule = mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(move |req| {
        seen.lock()
            .unwrap()
            .extend(req.evaluations().iter().cloned());
        PutEvaluationsOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);
    let report = put_evaluations(&client, "token-2", &evaluations).await;
    assert_eq!(report.accepted, 3);
    let sent = sent.lock().unwrap();
    assert_eq!(sent[0].compliance_resource_type(), "AWS::S3::Bucket");
    assert_eq!(sent[0].compliance_resource_id(), "bucket-000");
    assert_eq!(sent[0].compliance_type(), &ComplianceType::NonCompliant);
    assert_eq!(
        sent[0].annotation(),
        Some("1 issue: s3.public-policy (critical): anyone can read it")
    );
    assert_eq!(
        sent[0].ordering_timestamp().secs(),
        datetime!(2026-11-22 09:00 UTC).unix_timestamp()
    );
    assert_eq!(sent[1].compliance_type(), &ComplianceType::Compliant);
    assert_eq!(sent[1].annotation(), None);
    assert_eq!(sent[2].compliance_type(), &ComplianceType::NotApplicable);
    assert_eq!(sent[2].annotation(), Some("the resource is deleted"));
}

#[tokio::test]
async fn a_failed_call_reports_its_batch_and_the_next_batches_still_go() {
    let event = scheduled_event("TESTMODE");
    let evaluations = evaluate(
        &event,
        &buckets(150),
        issues_of,
        datetime!(2026-11-22 10:00 UTC),
    );
    let rule = mock!(aws_sdk_config::Client::put_evaluations)
        .match_requests(|req| req.test_mode() == Some(true))
        .sequence()
        .error(|| {
            PutEvaluationsError::InvalidResultTokenException(
                aws_sdk_config::types::error::InvalidResultTokenException::builder()
                    .message("the result token is invalid")
                    .build(),
            )
        })
        .output(|| PutEvaluationsOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&rule]);
    let report = put_evaluations(&client, &event.result_token, &evaluations).await;
    assert_eq!(report.calls, 2);
    assert_eq!(report.accepted, 50);
    assert_eq!(report.failed.len(), 100);
    assert!(
        report.failed[0]
            .reason
            .contains("the result token is invalid"),
        "{}",
        report.failed[0].reason
    );
    assert!(report.failed[0].reason.contains("config:PutEvaluations"));
}
