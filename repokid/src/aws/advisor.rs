//! IAM Access Advisor through the API: `GenerateServiceLastAccessedDetails`
//! starts a job for one role; `GetServiceLastAccessedDetails` is polled
//! until the job is `COMPLETED` (or `FAILED`, or the timeout passes), then
//! read page by page (`Marker`/`IsTruncated`).
//!
//! An `ACTION_LEVEL` job answers the same service entries as a
//! `SERVICE_LEVEL` one, plus `TrackedActionsLastAccessed` for the services
//! AWS tracks actions of; each entry becomes an [`AccessRecord`] (a service
//! record, and an action record per tracked action).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::time_of;
use crate::err::AwsError;
use crate::model::{AccessRecord, AccessSource};

/// How a job is run and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvisorOptions {
    /// `ACTION_LEVEL` (true, the default) or `SERVICE_LEVEL`.
    pub action_level: bool,
    /// The wait between two polls of a job in progress (default 2 s).
    pub poll_interval: Duration,
    /// How long a job may stay in progress (default 120 s).
    pub timeout: Duration,
    /// `MaxItems` per page (AWS's default, 100, when `None`).
    pub page_size: Option<i32>,
    /// At most this many roles' jobs at once in [`roles_access`] (default 8).
    pub concurrency: usize,
}

impl Default for AdvisorOptions {
    fn default() -> Self {
        AdvisorOptions {
            action_level: true,
            poll_interval: Duration::from_secs(2),
            timeout: Duration::from_secs(120),
            page_size: None,
            concurrency: 8,
        }
    }
}

/// One role's Access Advisor records, or why there are none.
#[derive(Debug)]
pub struct RoleRecords {
    /// The role's ARN.
    pub role_arn: String,
    /// Its records, or the error of its job.
    pub result: Result<Vec<AccessRecord>, AwsError>,
}

/// [`role_access`] for each of `role_arns`, at most `options.concurrency`
/// jobs at once; one result per role, in the order given (a role whose job
/// fails does not stop the others).
pub async fn roles_access(
    client: &aws_sdk_iam::Client,
    role_arns: &[String],
    options: &AdvisorOptions,
) -> Vec<RoleRecords> {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, arn) in role_arns.iter().enumerate() {
        let permits = Arc::clone(&permits);
        let client = client.clone();
        let arn = arn.clone();
        let options = *options;
        tasks.spawn(async move {
            let result = match permits.acquire_owned().await {
                Ok(_permit) => role_access(&client, &arn, &options).await,
                Err(e) => Err(AwsError::call(
                    "GenerateServiceLastAccessedDetails",
                    &arn,
                    &e,
                )),
            };
            (
                index,
                RoleRecords {
                    role_arn: arn,
                    result,
                },
            )
        });
    }
    let mut slots: Vec<Option<RoleRecords>> = role_arns.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        // A task that panicked leaves its slot empty: reported below.
        if let Ok((index, done)) = joined
            && let Some(slot) = slots.get_mut(index)
        {
            *slot = Some(done);
        }
    }
    slots
        .into_iter()
        .zip(role_arns)
        .map(|(slot, arn)| {
            slot.unwrap_or_else(|| RoleRecords {
                role_arn: arn.clone(),
                result: Err(AwsError::Answer {
                    operation: "GetServiceLastAccessedDetails",
                    target: arn.clone(),
                    detail: "the task reading the job stopped unexpectedly".to_owned(),
                    fix: "run `repokid update` again",
                }),
            })
        })
        .collect()
}

/// The Access Advisor records of role `role_arn`: runs a job and reads
/// every page of its result.
pub async fn role_access(
    client: &aws_sdk_iam::Client,
    role_arn: &str,
    options: &AdvisorOptions,
) -> Result<Vec<AccessRecord>, AwsError> {
    let granularity = if options.action_level {
        AccessAdvisorUsageGranularityType::ActionLevel
    } else {
        AccessAdvisorUsageGranularityType::ServiceLevel
    };
    let started = client
        .generate_service_last_accessed_details()
        .arn(role_arn)
        .granularity(granularity)
        .send()
        .await
        .map_err(|e| AwsError::call("GenerateServiceLastAccessedDetails", role_arn, &e))?;
    let job_id = started.job_id.ok_or_else(|| AwsError::Answer {
        operation: "GenerateServiceLastAccessedDetails",
        target: role_arn.to_owned(),
        detail: "no `JobId`".to_owned(),
        fix: "run `repokid update` again",
    })?;
    let since = Instant::now();
    let mut marker: Option<String> = None;
    let mut out = Vec::new();
    loop {
        let page = client
            .get_service_last_accessed_details()
            .job_id(&job_id)
            .set_max_items(options.page_size)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::call("GetServiceLastAccessedDetails", role_arn, &e))?;
        match page.job_status {
            JobStatusType::Completed => {}
            JobStatusType::Failed => {
                let (code, message) = page
                    .error
                    .map(|e| (e.code, e.message))
                    .unwrap_or_else(|| ("unknown".to_owned(), "no error details".to_owned()));
                return Err(AwsError::JobFailed {
                    role_arn: role_arn.to_owned(),
                    job_id,
                    code,
                    message,
                });
            }
            // IN_PROGRESS, or a status newer than this SDK: wait.
            _ => {
                if since.elapsed() >= options.timeout {
                    return Err(AwsError::JobTimeout {
                        role_arn: role_arn.to_owned(),
                        job_id,
                        seconds: options.timeout.as_secs(),
                    });
                }
                tokio::time::sleep(options.poll_interval).await;
                continue;
            }
        }
        out.extend(records(role_arn, &page));
        if !page.is_truncated {
            return Ok(out);
        }
        match page.marker {
            Some(next) if marker.as_ref() != Some(&next) => marker = Some(next),
            _ => {
                return Err(AwsError::Answer {
                    operation: "GetServiceLastAccessedDetails",
                    target: role_arn.to_owned(),
                    detail: "`IsTruncated` without a new `Marker`".to_owned(),
                    fix: "run `repokid update` again",
                });
            }
        }
    }
}

/// The records of one page of a completed job.
pub fn records(role_arn: &str, page: &GetServiceLastAccessedDetailsOutput) -> Vec<AccessRecord> {
    let mut out = Vec::new();
    for entry in &page.services_last_accessed {
        let service = entry.service_namespace.to_ascii_lowercase();
        out.push(AccessRecord {
            role_arn: role_arn.to_owned(),
            service: service.clone(),
            action: None,
            last_used: time_of(entry.last_authenticated.as_ref()),
            source: AccessSource::AccessAdvisor,
        });
        for tracked in entry.tracked_actions_last_accessed.iter().flatten() {
            let Some(action) = &tracked.action_name else {
                continue;
            };
            out.push(AccessRecord {
                role_arn: role_arn.to_owned(),
                service: service.clone(),
                action: Some(action.clone()),
                last_used: time_of(tracked.last_accessed_time.as_ref()),
                source: AccessSource::AccessAdvisor,
            });
        }
    }
    out
}
