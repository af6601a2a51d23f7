//! SQS workers with partial batch failures: each record is handled on its
//! own (a span per record), and only the failed records' ids go back to
//! Lambda, which returns just those to the queue (the event source mapping
//! must set `FunctionResponseTypes: [ReportBatchItemFailures]`).

use std::future::Future;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

use crate::err::HandlerError;

/// Handles every record of `event` with `handle`, in order, and answers the
/// ids of the records that failed. A failed record without a message id
/// cannot be named, so the whole batch fails and SQS retries all of it.
pub async fn partial_batch<F, Fut>(
    event: SqsEvent,
    handle: F,
) -> Result<SqsBatchResponse, HandlerError>
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone();
        let span = tracing::info_span!("record", message_id = id.as_deref().unwrap_or("-"));
        if let Err(e) = handle(record).instrument(span).await {
            tracing::warn!(
                message_id = id.as_deref().unwrap_or("-"),
                error_type = %e.error_type,
                message = %e.message,
                "record failed; SQS will deliver it again"
            );
            match id {
                Some(id) => response.add_failure(id),
                None => {
                    return Err(HandlerError {
                        error_type: e.error_type,
                        message: format!(
                            "a record without a message id failed, so the whole batch is retried: {}",
                            e.message
                        ),
                    });
                }
            }
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ids: &[Option<&str>]) -> SqsEvent {
        let records: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| serde_json::json!({"messageId": id, "body": id.unwrap_or("none"), "eventSource": "aws:sqs"}))
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    async fn fail_on_bad(record: SqsMessage) -> Result<(), HandlerError> {
        match record.body.as_deref() {
            Some(body) if body.starts_with("bad") => Err(HandlerError {
                error_type: "Retryable".into(),
                message: format!("record `{body}` failed"),
            }),
            _ => Ok(()),
        }
    }

    #[tokio::test]
    async fn only_failed_records_are_returned() {
        let answer = partial_batch(
            event(&[Some("ok-1"), Some("bad-2"), Some("ok-3"), Some("bad-4")]),
            fail_on_bad,
        )
        .await
        .unwrap();
        let failed: Vec<_> = answer
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["bad-2", "bad-4"]);
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "bad-2");
    }

    #[tokio::test]
    async fn a_nameless_failure_fails_the_batch() {
        let ok = partial_batch(event(&[None, Some("ok")]), fail_on_bad)
            .await
            .unwrap();
        assert!(ok.batch_item_failures.is_empty());
        let mut nameless = event(&[Some("ok")]);
        nameless.records[0].body = Some("bad".into());
        nameless.records[0].message_id = None;
        let err = partial_batch(nameless, fail_on_bad).await.unwrap_err();
        assert_eq!(err.error_type, "Retryable");
    }
}
