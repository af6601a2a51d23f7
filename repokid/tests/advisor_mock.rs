//! Access Advisor through the SDK, against `aws-smithy-mocks` (moto does
//! not serve it), with the response shapes AWS documents for
//! `GenerateServiceLastAccessedDetails` and `GetServiceLastAccessedDetails`.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::generate_service_last_accessed_details::GenerateServiceLastAccessedDetailsOutput;
use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{
    AccessAdvisorUsageGranularityType, ErrorDetails, JobStatusType, ServiceLastAccessed,
    TrackedActionLastAccessed,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use repokid::AwsError;
use repokid::aws::advisor::{AdvisorOptions, role_access, roles_access};
use repokid::model::AccessSource;

const ROLE: &str = "arn:aws:iam::111122223333:role/orders";
const JOB: &str = "examplef-1305-c245-eba4-71fe298bcda7";
/// 2024-04-20T10:00:00Z
const APRIL_20: i64 = 1_713_607_200;

fn fast() -> AdvisorOptions {
    AdvisorOptions {
        action_level: true,
        poll_interval: Duration::from_millis(5),
        timeout: Duration::from_secs(5),
        page_size: Some(2),
        concurrency: 1,
    }
}

fn page(
    status: JobStatusType,
    services: Vec<ServiceLastAccessed>,
    marker: Option<&str>,
) -> GetServiceLastAccessedDetailsOutput {
    GetServiceLastAccessedDetailsOutput::builder()
        .job_status(status)
        .job_type(AccessAdvisorUsageGranularityType::ActionLevel)
        .job_creation_date(DateTime::from_secs(APRIL_20))
        .job_completion_date(DateTime::from_secs(APRIL_20 + 60))
        .set_services_last_accessed(Some(services))
        .is_truncated(marker.is_some())
        .set_marker(marker.map(str::to_owned))
        .build()
        .unwrap()
}

fn service(namespace: &str, name: &str, last: Option<i64>) -> ServiceLastAccessed {
    ServiceLastAccessed::builder()
        .service_namespace(namespace)
        .service_name(name)
        .set_last_authenticated(last.map(DateTime::from_secs))
        .set_last_authenticated_entity(last.map(|_| ROLE.to_owned()))
        .total_authenticated_entities(i32::from(last.is_some()))
        .build()
        .unwrap()
}

fn generate_rule() -> aws_smithy_mocks::Rule {
    mock!(Client::generate_service_last_accessed_details)
        .match_requests(|r| {
            r.arn() == Some(ROLE)
                && r.granularity() == Some(&AccessAdvisorUsageGranularityType::ActionLevel)
        })
        .then_output(|| {
            GenerateServiceLastAccessedDetailsOutput::builder()
                .job_id(JOB)
                .build()
        })
}

#[tokio::test]
async fn polls_until_completed_and_reads_every_page() {
    let generate = generate_rule();
    let get = mock!(Client::get_service_last_accessed_details)
        .match_requests(|r| r.job_id() == Some(JOB) && r.max_items() == Some(2))
        .sequence()
        .output(|| page(JobStatusType::InProgress, Vec::new(), None))
        .times(2)
        .output(|| {
            let mut s3 = service("s3", "Amazon S3", Some(APRIL_20 - 86_400));
            s3.tracked_actions_last_accessed = Some(vec![
                TrackedActionLastAccessed::builder()
                    .action_name("GetObject")
                    .last_accessed_time(DateTime::from_secs(APRIL_20 - 86_400))
                    .last_accessed_region("us-east-1")
                    .build(),
                TrackedActionLastAccessed::builder()
                    .action_name("PutObject")
                    .build(),
            ]);
            page(
                JobStatusType::Completed,
                vec![s3, service("ec2", "Amazon EC2", None)],
                Some("page-2"),
            )
        })
        .output(|| {
            page(
                JobStatusType::Completed,
                vec![service("sqs", "Amazon SQS", Some(APRIL_20))],
                None,
            )
        })
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let records = role_access(&client, ROLE, &fast()).await.unwrap();
    assert_eq!(generate.num_calls(), 1);
    assert_eq!(get.num_calls(), 4, "two polls in progress, then two pages");
    let got: Vec<(String, Option<String>, Option<i64>)> = records
        .iter()
        .map(|r| {
            assert_eq!(r.role_arn, ROLE);
            assert_eq!(r.source, AccessSource::AccessAdvisor);
            (
                r.service.clone(),
                r.action.clone(),
                r.last_used.map(|t| t.unix_timestamp()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("s3".into(), None, Some(APRIL_20 - 86_400)),
            (
                "s3".into(),
                Some("GetObject".into()),
                Some(APRIL_20 - 86_400)
            ),
            ("s3".into(), Some("PutObject".into()), None),
            ("ec2".into(), None, None),
            ("sqs".into(), None, Some(APRIL_20)),
        ]
    );
}

#[tokio::test]
async fn the_second_page_is_asked_with_the_marker() {
    let generate = generate_rule();
    let first = mock!(Client::get_service_last_accessed_details)
        .match_requests(|r| r.marker().is_none())
        .then_output(|| {
            page(
                JobStatusType::Completed,
                vec![service("s3", "Amazon S3", Some(APRIL_20))],
                Some("next-page"),
            )
        });
    let second = mock!(Client::get_service_last_accessed_details)
        .match_requests(|r| r.marker() == Some("next-page"))
        .then_output(|| {
            page(
                JobStatusType::Completed,
                vec![service("kms", "AWS KMS", None)],
                None,
            )
        });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&generate, &first, &second]
    );
    let records = role_access(&client, ROLE, &fast()).await.unwrap();
    let services: Vec<&str> = records.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(services, ["s3", "kms"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_failed_job_reports_aws_error() {
    let generate = generate_rule();
    let get = mock!(Client::get_service_last_accessed_details).then_output(|| {
        GetServiceLastAccessedDetailsOutput::builder()
            .job_status(JobStatusType::Failed)
            .job_creation_date(DateTime::from_secs(APRIL_20))
            .job_completion_date(DateTime::from_secs(APRIL_20 + 5))
            .set_services_last_accessed(Some(Vec::new()))
            .error(
                ErrorDetails::builder()
                    .code("ServiceFailure")
                    .message("the report could not be generated")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let err = role_access(&client, ROLE, &fast()).await.unwrap_err();
    match &err {
        AwsError::JobFailed {
            job_id,
            code,
            message,
            ..
        } => {
            assert_eq!(job_id, JOB);
            assert_eq!(code, "ServiceFailure");
            assert_eq!(message, "the report could not be generated");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains(ROLE), "{err}");
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test]
async fn a_job_in_progress_too_long_times_out() {
    let generate = generate_rule();
    let get = mock!(Client::get_service_last_accessed_details)
        .then_output(|| page(JobStatusType::InProgress, Vec::new(), None));
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let options = AdvisorOptions {
        timeout: Duration::from_millis(60),
        poll_interval: Duration::from_millis(10),
        ..fast()
    };
    let err = role_access(&client, ROLE, &options).await.unwrap_err();
    assert!(
        matches!(&err, AwsError::JobTimeout { job_id, .. } if job_id == JOB),
        "{err:?}"
    );
    let polls = get.num_calls();
    assert!((3..=10).contains(&polls), "{polls} polls");
}

/// The Access Advisor jobs of a fake IAM, as AWS runs them: each is
/// generated, polled while in progress, then read. A job is answered
/// `COMPLETED` only once as many jobs are in progress as `bound` (or as
/// remain), so a run that waited for each role before starting the next
/// would time out; the fake records how many were in progress at once.
#[derive(Default)]
struct Jobs {
    /// Job id → role ARN, for the jobs generated and not yet read.
    running: HashMap<String, String>,
    done: usize,
    most_at_once: usize,
    polls: usize,
}

fn several_roles(roles: usize, bound: usize) -> (Client, Arc<Mutex<Jobs>>, Vec<String>) {
    let jobs = Arc::new(Mutex::new(Jobs::default()));
    let generate = {
        let jobs = Arc::clone(&jobs);
        mock!(Client::generate_service_last_accessed_details).then_compute_output(move |r| {
            let mut jobs = jobs.lock().unwrap();
            let arn = r.arn().unwrap().to_owned();
            let id = format!("job-{}", arn.rsplit('/').next().unwrap());
            jobs.running.insert(id.clone(), arn);
            jobs.most_at_once = jobs.most_at_once.max(jobs.running.len());
            GenerateServiceLastAccessedDetailsOutput::builder()
                .job_id(id)
                .build()
        })
    };
    let get = {
        let jobs = Arc::clone(&jobs);
        mock!(Client::get_service_last_accessed_details).then_compute_output(move |r| {
            let mut jobs = jobs.lock().unwrap();
            jobs.polls += 1;
            let remaining = roles - jobs.done;
            if jobs.running.len() < bound.min(remaining) {
                return page(JobStatusType::InProgress, Vec::new(), None);
            }
            let arn = jobs.running.remove(r.job_id().unwrap()).unwrap();
            jobs.done += 1;
            // A service per role, named after it, used a day earlier per role.
            let n = arn.rsplit('/').next().unwrap().trim_start_matches('r');
            let used = APRIL_20 - n.parse::<i64>().unwrap() * 86_400;
            page(
                JobStatusType::Completed,
                vec![service(&format!("svc{n}"), "Service", Some(used))],
                None,
            )
        })
    };
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let arns = (0..roles)
        .map(|i| format!("arn:aws:iam::111122223333:role/r{i}"))
        .collect();
    (client, jobs, arns)
}

#[tokio::test]
async fn the_jobs_of_several_roles_run_at_once_within_the_bound() {
    const ROLES: usize = 7;
    const BOUND: usize = 3;
    let (client, jobs, arns) = several_roles(ROLES, BOUND);
    let options = AdvisorOptions {
        concurrency: BOUND,
        ..fast()
    };
    let results = roles_access(&client, &arns, &options).await;
    // One result per role, in the order given, each with its own records.
    assert_eq!(results.len(), ROLES);
    for (i, (result, arn)) in results.iter().zip(&arns).enumerate() {
        assert_eq!(&result.role_arn, arn);
        let records = result.result.as_ref().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0].role_arn, arn);
        assert_eq!(records[0].service, format!("svc{i}"));
        let days = i64::try_from(i).unwrap();
        assert_eq!(
            records[0].last_used.map(|t| t.unix_timestamp()),
            Some(APRIL_20 - days * 86_400)
        );
    }
    let jobs = jobs.lock().unwrap();
    assert_eq!(
        jobs.most_at_once, BOUND,
        "as many at once as the bound, no more"
    );
    assert_eq!(jobs.done, ROLES);
    assert!(jobs.polls > ROLES, "some polls found a job in progress");
}
