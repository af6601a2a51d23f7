//! The scheduled audit's fan-out: one SQS message per (account, region),
//! which the per-account worker reads back as a [`WorkerTask`].
//!
//! The message body (version 1) is a JSON object:
//!
//! ```json
//! {"kind": "monitor-audit-task", "version": 1, "run": "2026-11-22T10:00:00Z",
//!  "account": "111122223333", "region": "us-east-1",
//!  "requested_at": "2026-11-22T10:00:00Z"}
//! ```
//!
//! `kind` and `version` identify the format; `run` ties the tasks of one
//! scheduled run together (the caller chooses it); `region` is an AWS region
//! or `global` (IAM). Unknown fields are ignored, so later versions may add
//! optional ones without breaking older workers.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The `kind` of every task message.
pub const TASK_KIND: &str = "monitor-audit-task";
/// The version of the task message this crate writes and reads.
pub const TASK_VERSION: u32 = 1;
/// SQS takes at most ten messages per `SendMessageBatch`.
pub const BATCH_SIZE: usize = 10;

/// Audit one account in one region, as part of run `run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerTask {
    /// The run this task belongs to.
    pub run: String,
    /// Twelve-digit account id.
    pub account: String,
    /// Region, or `global`.
    pub region: String,
    /// When the scheduled audit asked for it.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}

/// The message body on the wire.
#[derive(Serialize, Deserialize)]
struct Body {
    kind: String,
    version: u32,
    #[serde(flatten)]
    task: WorkerTask,
}

/// Why a message body is not a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// Not JSON, or a field is missing or of the wrong type.
    #[error(
        "SQS message is not a monitor audit task: {0}; only messages sent by `monitor`'s scheduled audit belong on this queue"
    )]
    Json(#[from] serde_json::Error),
    /// Another kind of message, or a version this build does not read.
    #[error(
        "SQS message has kind `{kind}` version {version}, this worker reads `{TASK_KIND}` version {TASK_VERSION}; deploy the same monitor version for the scheduler and the worker"
    )]
    Version {
        /// The message's `kind`.
        kind: String,
        /// The message's `version`.
        version: u32,
    },
    /// A field has a value no task can have.
    #[error("SQS task field `{field}` is `{value}`: {expected}")]
    Field {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

impl WorkerTask {
    /// The message body of this task.
    pub fn to_sqs_body(&self) -> String {
        let body = Body {
            kind: TASK_KIND.to_owned(),
            version: TASK_VERSION,
            task: self.clone(),
        };
        // Strings and a formatted date: serialization cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// The task in a message body written by [`WorkerTask::to_sqs_body`].
    ///
    /// # Errors
    ///
    /// [`TaskError`] when the body is not JSON of this kind and version, or
    /// when the account is not twelve digits or the region is not a region.
    pub fn from_sqs_body(body: &str) -> Result<WorkerTask, TaskError> {
        let body: Body = serde_json::from_str(body)?;
        if body.kind != TASK_KIND || body.version != TASK_VERSION {
            return Err(TaskError::Version {
                kind: body.kind,
                version: body.version,
            });
        }
        let task = body.task;
        if task.account.len() != 12 || !task.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TaskError::Field {
                field: "account",
                value: task.account,
                expected: "an account id is twelve digits",
            });
        }
        let region_ok = !task.region.is_empty()
            && task
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(TaskError::Field {
                field: "region",
                value: task.region,
                expected: "a region such as `us-east-1`, or `global`",
            });
        }
        Ok(task)
    }
}

impl WorkerTask {
    /// 64 hex digits of a SHA-256 over run, account and region: the
    /// deduplication id on a FIFO queue.
    fn dedup_id(&self) -> String {
        let mut hash = Sha256::new();
        for part in [&self.run, &self.account, &self.region] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hex::encode(hash.finalize())
    }
}

/// One task per (account, region), accounts outermost, each pair once.
pub fn tasks(
    accounts: &[String],
    regions: &[String],
    run: &str,
    now: OffsetDateTime,
) -> Vec<WorkerTask> {
    let mut seen = std::collections::BTreeSet::new();
    let mut tasks = Vec::new();
    for account in accounts {
        for region in regions {
            if seen.insert((account, region)) {
                tasks.push(WorkerTask {
                    run: run.to_owned(),
                    account: account.clone(),
                    region: region.clone(),
                    requested_at: now,
                });
            }
        }
    }
    tasks
}

/// A task SQS did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTask {
    /// The task.
    pub task: WorkerTask,
    /// SQS's error code, or `request` when the whole call failed.
    pub code: String,
    /// What SQS said.
    pub message: String,
    /// Whether SQS blamed the request (not retried) rather than itself.
    pub sender_fault: bool,
}

/// What a fan-out did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanoutReport {
    /// Tasks sent.
    pub sent: usize,
    /// `SendMessageBatch` calls made.
    pub calls: usize,
    /// Tasks not sent, after retries.
    pub failed: Vec<FailedTask>,
}

/// Sends tasks to one SQS queue.
#[derive(Debug, Clone)]
pub struct Fanout {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    attempts: u32,
    retry_delay: Duration,
}

impl Fanout {
    /// A fan-out to `queue_url` with the SDK configuration `config`.
    pub fn new(config: &SdkConfig, queue_url: &str) -> Fanout {
        Fanout::from_client(aws_sdk_sqs::Client::new(config), queue_url)
    }

    /// A fan-out to `queue_url` through `client`; entries SQS fails on its
    /// side are tried 3 times in all, 200 ms apart.
    pub fn from_client(client: aws_sdk_sqs::Client, queue_url: &str) -> Fanout {
        Fanout {
            client,
            queue_url: queue_url.to_owned(),
            attempts: 3,
            retry_delay: Duration::from_millis(200),
        }
    }

    /// The same fan-out trying failed entries `attempts` times in all,
    /// `delay` apart.
    pub fn with_retries(mut self, attempts: u32, delay: Duration) -> Fanout {
        self.attempts = attempts.max(1);
        self.retry_delay = delay;
        self
    }

    /// Sends one message per task, ten per `SendMessageBatch` (on a FIFO
    /// queue, `.fifo`, grouped by account and deduplicated by run, account
    /// and region). Entries that
    /// fail on SQS's side are retried; entries SQS blames on the sender, and
    /// every entry of a call that fails as a whole (after the SDK's own
    /// retries), are reported at once.
    pub async fn send(&self, tasks: &[WorkerTask]) -> FanoutReport {
        let mut report = FanoutReport::default();
        for chunk in tasks.chunks(BATCH_SIZE) {
            // (entry id, task); ids are the index within the chunk.
            let mut pending: Vec<(String, &WorkerTask)> = chunk
                .iter()
                .enumerate()
                .map(|(index, task)| (index.to_string(), task))
                .collect();
            for attempt in 1..=self.attempts {
                if attempt > 1 {
                    tokio::time::sleep(self.retry_delay).await;
                }
                pending = self.send_batch(pending, attempt, &mut report).await;
                if pending.is_empty() {
                    break;
                }
            }
        }
        report
    }

    /// One call for `pending`; answers the entries to try again.
    async fn send_batch<'t>(
        &self,
        pending: Vec<(String, &'t WorkerTask)>,
        attempt: u32,
        report: &mut FanoutReport,
    ) -> Vec<(String, &'t WorkerTask)> {
        let mut entries = Vec::with_capacity(pending.len());
        for (id, task) in &pending {
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(id)
                .message_body(task.to_sqs_body());
            if self.queue_url.ends_with(".fifo") {
                // One group per account; a resent task of the same run is a duplicate.
                entry = entry
                    .message_group_id(&task.account)
                    .message_deduplication_id(task.dedup_id());
            }
            let entry = entry.build();
            match entry {
                Ok(entry) => entries.push(entry),
                Err(error) => report.failed.push(FailedTask {
                    task: (*task).clone(),
                    code: "request".into(),
                    message: error.to_string(),
                    sender_fault: true,
                }),
            }
        }
        report.calls += 1;
        let answer = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error) => {
                let message = DisplayErrorContext(&error).to_string();
                report
                    .failed
                    .extend(pending.into_iter().map(|(_, task)| FailedTask {
                        task: task.clone(),
                        code: "request".into(),
                        message: message.clone(),
                        sender_fault: false,
                    }));
                return Vec::new();
            }
        };
        report.sent += output.successful().len();
        let mut retry = Vec::new();
        for failure in output.failed() {
            let Some((id, task)) = pending.iter().find(|(id, _)| id == failure.id()) else {
                continue;
            };
            if failure.sender_fault() || attempt >= self.attempts {
                report.failed.push(FailedTask {
                    task: (*task).clone(),
                    code: failure.code().to_owned(),
                    message: failure.message().unwrap_or_default().to_owned(),
                    sender_fault: failure.sender_fault(),
                });
            } else {
                retry.push((id.clone(), *task));
            }
        }
        retry
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use time::macros::datetime;

    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn one_task_per_account_and_region_round_trips() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let tasks = tasks(
            &strings(&["111122223333", "444455556666", "111122223333"]),
            &strings(&["us-east-1", "global"]),
            "run-1",
            now,
        );
        assert_eq!(tasks.len(), 4);
        assert_eq!(tasks[1].region, "global");
        assert_eq!(tasks[2].account, "444455556666");
        let body = tasks[0].to_sqs_body();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["kind"], "monitor-audit-task");
        assert_eq!(value["version"], 1);
        assert_eq!(value["requested_at"], "2026-11-22T10:00:00Z");
        assert_eq!(WorkerTask::from_sqs_body(&body).unwrap(), tasks[0]);
    }

    #[test]
    fn bodies_of_other_kinds_versions_or_values_are_refused() {
        let good = r#"{"kind":"monitor-audit-task","version":1,"run":"r","account":"111122223333","region":"us-east-1","requested_at":"2026-11-22T10:00:00Z","later":true}"#;
        assert!(WorkerTask::from_sqs_body(good).is_ok());
        let newer = good.replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            WorkerTask::from_sqs_body(&newer),
            Err(TaskError::Version { version: 2, .. })
        ));
        let account = good.replace("111122223333", "1111");
        assert!(matches!(
            WorkerTask::from_sqs_body(&account),
            Err(TaskError::Field {
                field: "account",
                ..
            })
        ));
        let region = good.replace("us-east-1", "US East");
        assert!(matches!(
            WorkerTask::from_sqs_body(&region),
            Err(TaskError::Field {
                field: "region",
                ..
            })
        ));
        let error = WorkerTask::from_sqs_body("{}").unwrap_err().to_string();
        assert!(error.contains("missing field"), "{error}");
    }

    #[tokio::test]
    async fn entries_failed_by_sqs_are_retried_and_sender_faults_reported() {
        // First call: entry 1 fails on SQS's side, entry 2 is the sender's fault.
        let first = mock!(aws_sdk_sqs::Client::send_message_batch)
            .match_requests(|req| req.entries().len() == 3)
            .then_output(|| {
                SendMessageBatchOutput::builder()
                    .successful(
                        SendMessageBatchResultEntry::builder()
                            .id("0")
                            .message_id("m0")
                            .md5_of_message_body("x")
                            .build()
                            .unwrap(),
                    )
                    .failed(
                        BatchResultErrorEntry::builder()
                            .id("1")
                            .sender_fault(false)
                            .code("InternalError")
                            .build()
                            .unwrap(),
                    )
                    .failed(
                        BatchResultErrorEntry::builder()
                            .id("2")
                            .sender_fault(true)
                            .code("InvalidMessageContents")
                            .message("bad body")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            });
        let second = mock!(aws_sdk_sqs::Client::send_message_batch)
            .match_requests(|req| req.entries().len() == 1 && req.entries()[0].id() == "1")
            .then_output(|| {
                SendMessageBatchOutput::builder()
                    .successful(
                        SendMessageBatchResultEntry::builder()
                            .id("1")
                            .message_id("m1")
                            .md5_of_message_body("x")
                            .build()
                            .unwrap(),
                    )
                    .set_failed(Some(Vec::new()))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sqs, RuleMode::Sequential, [&first, &second]);
        let fanout =
            Fanout::from_client(client, "https://sqs.example/q").with_retries(3, Duration::ZERO);
        let now = datetime!(2026-11-22 10:00 UTC);
        let tasks = tasks(
            &strings(&["111122223333"]),
            &strings(&["a-1", "b-1", "c-1"]),
            "r",
            now,
        );
        let report = fanout.send(&tasks).await;
        assert_eq!(report.sent, 2);
        assert_eq!(report.calls, 2);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].task.region, "c-1");
        assert_eq!(report.failed[0].code, "InvalidMessageContents");
        assert!(report.failed[0].sender_fault);
        assert_eq!(first.num_calls(), 1);
        assert_eq!(second.num_calls(), 1);
    }

    #[tokio::test]
    async fn fifo_queues_get_group_and_deduplication_ids() {
        let rule = mock!(aws_sdk_sqs::Client::send_message_batch)
            .match_requests(|req| {
                req.entries().iter().all(|entry| {
                    entry.message_group_id() == Some("111122223333")
                        && entry.message_deduplication_id().map(str::len) == Some(64)
                })
            })
            .then_compute_output(|req| {
                let successful = req
                    .entries()
                    .iter()
                    .map(|entry| {
                        SendMessageBatchResultEntry::builder()
                            .id(entry.id())
                            .message_id("m")
                            .md5_of_message_body("x")
                            .build()
                            .unwrap()
                    })
                    .collect();
                SendMessageBatchOutput::builder()
                    .set_successful(Some(successful))
                    .set_failed(Some(Vec::new()))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&rule]);
        let fanout = Fanout::from_client(client, "https://sqs.example/q.fifo");
        let now = datetime!(2026-11-22 10:00 UTC);
        let tasks = tasks(
            &strings(&["111122223333"]),
            &strings(&["a-1", "b-1"]),
            "r",
            now,
        );
        let report = fanout.send(&tasks).await;
        assert_eq!(report.sent, 2);
        assert!(report.failed.is_empty());
        assert_eq!(rule.num_calls(), 1);
        assert_ne!(tasks[0].dedup_id(), tasks[1].dedup_id());
    }
}
