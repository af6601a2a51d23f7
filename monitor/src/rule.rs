//! The core of an AWS Config custom rule: evaluate the items of a rule event
//! and answer Config with `PutEvaluations`.
//!
//! [`evaluate`] is pure: for each item it asks a callback for the item's
//! issues and answers `COMPLIANT` (none), `NON_COMPLIANT` (some, summarised in
//! the annotation) or `NOT_APPLICABLE` (the event left the rule's scope, or
//! the resource is deleted or not recorded). [`put_evaluations`] sends them in
//! batches of 100 with the event's result token and reports the evaluations
//! Config did not take.

use aws_sdk_config::error::DisplayErrorContext;
use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::ComplianceType;
use time::OffsetDateTime;

use crate::model::{ConfigItem, Issue, ItemStatus};
use crate::source::notification::{Notification, RuleEvent};

/// `PutEvaluations` takes at most this many evaluations per call.
pub const BATCH_SIZE: usize = 100;
/// Config keeps at most this many characters of an annotation.
pub const ANNOTATION_LIMIT: usize = 256;
/// The result token Config passes when the rule is being tested; evaluations
/// for it are sent with `TestMode` set, so Config checks but does not store them.
pub const TEST_MODE_TOKEN: &str = "TESTMODE";

/// Whether a resource complies with the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compliance {
    /// No issue found.
    Compliant,
    /// At least one issue found.
    NonCompliant,
    /// The rule does not apply (out of scope, deleted, not recorded).
    NotApplicable,
}

impl Compliance {
    fn to_sdk(self) -> ComplianceType {
        match self {
            Compliance::Compliant => ComplianceType::Compliant,
            Compliance::NonCompliant => ComplianceType::NonCompliant,
            Compliance::NotApplicable => ComplianceType::NotApplicable,
        }
    }
}

/// One evaluation of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The resource's Config type, e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// The resource's Config id.
    pub resource_id: String,
    /// The verdict.
    pub compliance: Compliance,
    /// Why, at most [`ANNOTATION_LIMIT`] characters.
    pub annotation: Option<String>,
    /// The time the evaluation is about: the item's capture time, else the
    /// notification's creation time, else the time of the run.
    pub ordering_timestamp: OffsetDateTime,
}

/// The items a rule event carries: the item of a change notification; none
/// for an oversized notification (fetch it through
/// [`Notification::item`]) or a scheduled one (read the account).
pub fn carried_items(event: &RuleEvent) -> Vec<ConfigItem> {
    match &event.invoking {
        Notification::Change(change) => vec![change.item.clone()],
        _ => Vec::new(),
    }
}

/// Evaluates `items` for `event`: `issues_of(item)` answers an item's issues
/// (already filtered to what the rule cares about). `now` is the time of the
/// run, used when neither the item nor the notification carries a time.
pub fn evaluate<'a>(
    event: &RuleEvent,
    items: impl IntoIterator<Item = &'a ConfigItem>,
    mut issues_of: impl FnMut(&ConfigItem) -> Vec<Issue>,
    now: OffsetDateTime,
) -> Vec<Evaluation> {
    let created = match &event.invoking {
        Notification::Change(change) => change.created,
        Notification::Oversized(oversized) => oversized.created,
        Notification::Scheduled { created, .. } => *created,
        _ => None,
    };
    items
        .into_iter()
        .map(|item| {
            let (compliance, annotation) = if event.event_left_scope {
                (
                    Compliance::NotApplicable,
                    Some("the resource left the rule's scope".to_owned()),
                )
            } else if !applicable(item.status) {
                (
                    Compliance::NotApplicable,
                    Some(format!("the resource is {}", status_words(item.status))),
                )
            } else {
                let issues = issues_of(item);
                if issues.is_empty() {
                    (Compliance::Compliant, None)
                } else {
                    (Compliance::NonCompliant, Some(annotation(issues)))
                }
            };
            Evaluation {
                resource_type: item.key.resource_type.clone(),
                resource_id: item.key.resource_id.clone(),
                compliance,
                annotation,
                ordering_timestamp: item.capture_time.or(created).unwrap_or(now),
            }
        })
        .collect()
}

fn applicable(status: ItemStatus) -> bool {
    matches!(status, ItemStatus::Ok | ItemStatus::Discovered)
}

fn status_words(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Ok | ItemStatus::Discovered => "recorded",
        ItemStatus::NotRecorded => "not recorded",
        ItemStatus::Deleted | ItemStatus::DeletedNotRecorded => "deleted",
    }
}

/// `3 issues: s3.public-policy (critical): bucket ...; ...`, worst first,
/// cut to [`ANNOTATION_LIMIT`] characters.
fn annotation(mut issues: Vec<Issue>) -> String {
    issues.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.check.cmp(&b.check)));
    let parts: Vec<String> = issues
        .iter()
        .map(|issue| {
            format!(
                "{} ({}): {}",
                issue.check,
                crate::alert::severity_name(issue.severity()),
                issue.message
            )
        })
        .collect();
    let count = issues.len();
    let text = format!(
        "{count} issue{}: {}",
        if count == 1 { "" } else { "s" },
        parts.join("; ")
    );
    if text.chars().count() <= ANNOTATION_LIMIT {
        return text;
    }
    let mut cut: String = text.chars().take(ANNOTATION_LIMIT - 3).collect();
    cut.push_str("...");
    cut
}

/// An evaluation Config did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvaluation {
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Why: the call's error, or that Config listed it in `FailedEvaluations`.
    pub reason: String,
}

/// What [`put_evaluations`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutReport {
    /// `PutEvaluations` calls made.
    pub calls: usize,
    /// Evaluations Config took.
    pub accepted: usize,
    /// Evaluations it did not take.
    pub failed: Vec<FailedEvaluation>,
}

/// Sends `evaluations` to Config with the rule event's `result_token`, in
/// batches of [`BATCH_SIZE`] (with `TestMode` when the token is
/// [`TEST_MODE_TOKEN`]). A batch whose call fails (after the SDK's retries)
/// is reported whole and the next batches are still sent.
pub async fn put_evaluations(
    client: &aws_sdk_config::Client,
    result_token: &str,
    evaluations: &[Evaluation],
) -> PutReport {
    let mut report = PutReport::default();
    for batch in evaluations.chunks(BATCH_SIZE) {
        let mut sdk = Vec::with_capacity(batch.len());
        let mut sent = Vec::with_capacity(batch.len());
        for evaluation in batch {
            match to_sdk(evaluation) {
                Ok(item) => {
                    sdk.push(item);
                    sent.push(evaluation);
                }
                Err(reason) => report.failed.push(FailedEvaluation {
                    evaluation: evaluation.clone(),
                    reason,
                }),
            }
        }
        if sdk.is_empty() {
            continue;
        }
        report.calls += 1;
        let answer = client
            .put_evaluations()
            .result_token(result_token)
            .set_evaluations(Some(sdk))
            .test_mode(result_token == TEST_MODE_TOKEN)
            .send()
            .await;
        match answer {
            Ok(output) => {
                let mut failed = 0;
                for rejected in output.failed_evaluations() {
                    let found = sent.iter().find(|e| {
                        e.resource_type == rejected.compliance_resource_type()
                            && e.resource_id == rejected.compliance_resource_id()
                    });
                    let evaluation = match found {
                        Some(evaluation) => (*evaluation).clone(),
                        None => from_sdk(rejected),
                    };
                    failed += 1;
                    report.failed.push(FailedEvaluation {
                        evaluation,
                        reason: "AWS Config listed it in `FailedEvaluations`; run the rule again"
                            .into(),
                    });
                }
                report.accepted += sent.len().saturating_sub(failed);
            }
            Err(error) => {
                let reason = format!(
                    "`PutEvaluations` failed: {}; check that the function's role may `config:PutEvaluations`",
                    DisplayErrorContext(&error)
                );
                report
                    .failed
                    .extend(sent.into_iter().map(|evaluation| FailedEvaluation {
                        evaluation: evaluation.clone(),
                        reason: reason.clone(),
                    }));
            }
        }
    }
    report
}

fn to_sdk(evaluation: &Evaluation) -> Result<aws_sdk_config::types::Evaluation, String> {
    let at = evaluation.ordering_timestamp;
    aws_sdk_config::types::Evaluation::builder()
        .compliance_resource_type(&evaluation.resource_type)
        .compliance_resource_id(&evaluation.resource_id)
        .compliance_type(evaluation.compliance.to_sdk())
        .set_annotation(evaluation.annotation.clone())
        .ordering_timestamp(DateTime::from_secs_and_nanos(
            at.unix_timestamp(),
            at.nanosecond(),
        ))
        .build()
        .map_err(|error| format!("the evaluation could not be built: {error}"))
}

fn from_sdk(evaluation: &aws_sdk_config::types::Evaluation) -> Evaluation {
    let compliance = match evaluation.compliance_type() {
        ComplianceType::Compliant => Compliance::Compliant,
        ComplianceType::NonCompliant => Compliance::NonCompliant,
        _ => Compliance::NotApplicable,
    };
    let at = evaluation.ordering_timestamp();
    Evaluation {
        resource_type: evaluation.compliance_resource_type().to_owned(),
        resource_id: evaluation.compliance_resource_id().to_owned(),
        compliance,
        annotation: evaluation.annotation().map(str::to_owned),
        ordering_timestamp: OffsetDateTime::from_unix_timestamp(at.secs())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::model::Category;

    fn event(status: &str, left_scope: bool) -> RuleEvent {
        let invoking = json!({
            "configurationItem": {
                "configurationItemCaptureTime": "2026-11-20T08:00:00.000Z",
                "awsAccountId": "111122223333",
                "configurationItemStatus": status,
                "resourceId": "logs",
                "resourceName": "logs",
                "ARN": "arn:aws:s3:::logs",
                "awsRegion": "eu-west-1",
                "resourceType": "AWS::S3::Bucket",
                "tags": {},
                "configuration": {"name": "logs"},
                "supplementaryConfiguration": {}
            },
            "notificationCreationTime": "2026-11-20T08:01:00.000Z",
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"
        });
        RuleEvent::from_value(json!({
            "invokingEvent": invoking.to_string(),
            "ruleParameters": "{}",
            "resultToken": "token",
            "eventLeftScope": left_scope,
            "configRuleName": "monitor",
            "accountId": "111122223333"
        }))
        .unwrap()
    }

    fn public(item: &ConfigItem) -> Vec<Issue> {
        vec![
            Issue::new(
                item.key.clone(),
                "s3.unencrypted",
                Category::Unencrypted,
                4,
                String::new(),
                "no default encryption".into(),
            ),
            Issue::new(
                item.key.clone(),
                "s3.public-policy",
                Category::InternetAccessible,
                9,
                "*".into(),
                "anyone can read it".into(),
            ),
        ]
    }

    #[test]
    fn issues_make_the_item_non_compliant() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let event = event("OK", false);
        let items = carried_items(&event);
        let evaluations = evaluate(&event, &items, public, now);
        assert_eq!(evaluations.len(), 1);
        let evaluation = &evaluations[0];
        assert_eq!(evaluation.compliance, Compliance::NonCompliant);
        assert_eq!(evaluation.resource_type, "AWS::S3::Bucket");
        assert_eq!(evaluation.resource_id, "logs");
        assert_eq!(
            evaluation.annotation.as_deref(),
            Some(
                "2 issues: s3.public-policy (critical): anyone can read it; s3.unencrypted (medium): no default encryption"
            )
        );
        assert_eq!(
            evaluation.ordering_timestamp,
            datetime!(2026-11-20 08:00 UTC)
        );
        let clean = evaluate(&event, &items, |_| Vec::new(), now);
        assert_eq!(clean[0].compliance, Compliance::Compliant);
        assert_eq!(clean[0].annotation, None);
    }

    #[test]
    fn out_of_scope_or_deleted_items_are_not_applicable_without_asking() {
        let now = datetime!(2026-11-22 10:00 UTC);
        for (status, left) in [
            ("OK", true),
            ("ResourceDeleted", false),
            ("ResourceDeletedNotRecorded", false),
            ("ResourceNotRecorded", false),
        ] {
            let event = event(status, left);
            let evaluations = evaluate(
                &event,
                &carried_items(&event),
                |_| unreachable!("not asked"),
                now,
            );
            assert_eq!(
                evaluations[0].compliance,
                Compliance::NotApplicable,
                "{status} {left}"
            );
        }
    }

    #[test]
    fn annotations_are_cut_to_the_limit() {
        let key: crate::model::ResourceKey =
            "111122223333/global/AWS::IAM::Role/AROA1".parse().unwrap();
        let issues: Vec<Issue> = (0..20)
            .map(|i| {
                Issue::new(
                    key.clone(),
                    &format!("check-{i:02}"),
                    Category::AdminWildcard,
                    7,
                    String::new(),
                    "é".repeat(30),
                )
            })
            .collect();
        let text = annotation(issues);
        assert_eq!(text.chars().count(), ANNOTATION_LIMIT);
        assert!(text.starts_with("20 issues: check-00 (high): "));
        assert!(text.ends_with("..."));
    }
}
