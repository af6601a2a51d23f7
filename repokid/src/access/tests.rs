use super::*;
use time::macros::datetime;

#[test]
fn aardvark_export_reads_ms_and_never() {
    let text = r#"{
      "arn:aws:iam::111122223333:role/web": [
        {"serviceNamespace": "s3", "serviceName": "Amazon S3", "lastAuthenticated": 1714442412000,
         "lastAuthenticatedEntity": "arn:aws:iam::111122223333:role/web", "totalAuthenticatedEntities": 1},
        {"serviceNamespace": "EC2", "serviceName": "Amazon EC2", "lastAuthenticated": 0,
         "lastAuthenticatedEntity": null, "totalAuthenticatedEntities": 0}
      ],
      "count": 1, "page": 1, "total": 1
    }"#;
    let got = aardvark_records("x", text).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].service, "s3");
    assert_eq!(got[0].last_used, Some(datetime!(2024-04-30 02:00:12 UTC)));
    assert_eq!(got[1].service, "ec2");
    assert_eq!(got[1].last_used, None);
    assert!(
        got.iter()
            .all(|r| r.action.is_none() && r.source == AccessSource::Aardvark)
    );
}

#[test]
fn aardvark_export_errors_name_the_input() {
    let err = aardvark_records("exp.json", r#"{"web": []}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("exp.json") && err.contains("`web`"), "{err}");
    let err = aardvark_records(
        "exp.json",
        r#"{"arn:aws:iam::1:role/a": [{"lastAuthenticated": 1}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("serviceNamespace"), "{err}");
    assert!(aardvark_records("e", "[1]").is_err());
}

#[test]
fn access_advisor_response_gives_service_and_action_records() {
    let text = r#"{
      "JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
      "JobCreationDate": "2024-05-01T00:00:00Z", "JobCompletionDate": "2024-05-01T00:00:05Z",
      "ServicesLastAccessed": [
        {"ServiceName": "Amazon S3", "ServiceNamespace": "s3",
         "LastAuthenticated": "2024-04-30T06:00:12Z", "LastAuthenticatedRegion": "us-east-1",
         "LastAuthenticatedEntity": "arn:aws:iam::111122223333:role/web", "TotalAuthenticatedEntities": 1,
         "TrackedActionsLastAccessed": [
           {"ActionName": "ListAllMyBuckets"},
           {"ActionName": "CreateBucket", "LastAccessedTime": "2023-01-02T03:04:05Z",
            "LastAccessedRegion": "us-east-1", "LastAccessedEntity": "arn:aws:iam::111122223333:role/web"}
         ]},
        {"ServiceName": "AWS Lambda", "ServiceNamespace": "lambda", "TotalAuthenticatedEntities": 0}
      ],
      "IsTruncated": false
    }"#;
    let got = access_advisor_records("arn:aws:iam::111122223333:role/web", text).unwrap();
    let pairs: Vec<_> = got
        .iter()
        .map(|r| (r.service.as_str(), r.action.as_deref(), r.last_used))
        .collect();
    assert_eq!(
        pairs,
        [
            ("s3", None, Some(datetime!(2024-04-30 06:00:12 UTC))),
            ("s3", Some("ListAllMyBuckets"), None),
            (
                "s3",
                Some("CreateBucket"),
                Some(datetime!(2023-01-02 03:04:05 UTC))
            ),
            ("lambda", None, None),
        ]
    );
}

#[test]
fn access_advisor_job_in_progress_is_refused() {
    let err = access_advisor_records(
        "r",
        r#"{"JobStatus": "IN_PROGRESS", "ServicesLastAccessed": []}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("IN_PROGRESS"), "{err}");
}

fn event(
    kind: &str,
    source: &str,
    name: &str,
    time: &str,
    error: Option<&str>,
) -> serde_json::Value {
    let mut e = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": kind,
            "arn": "arn:aws:sts::111122223333:assumed-role/web/s1",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/app/web"}}
        },
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1"
    });
    if let Some(code) = error {
        e["errorCode"] = code.into();
    }
    e
}

#[test]
fn cloudtrail_counts_assumed_role_calls_only() {
    let log = serde_json::json!({"Records": [
        event("AssumedRole", "s3.amazonaws.com", "ListBuckets", "2024-04-30T01:00:00Z", None),
        event("IAMUser", "s3.amazonaws.com", "GetObject", "2024-04-30T01:00:00Z", None),
        event("AssumedRole", "dynamodb.amazonaws.com", "DeleteItem", "2024-04-30T01:00:00Z", Some("AccessDenied")),
        event("AssumedRole", "lambda.amazonaws.com", "GetFunction20150331v2", "2024-04-30T02:00:00Z", Some("ResourceNotFoundException")),
        event("AssumedRole", "monitoring.amazonaws.com", "PutMetricData", "2024-04-30T03:00:00Z", None),
    ]});
    let got = cloudtrail_records("f", log.to_string().as_bytes()).unwrap();
    let pairs: Vec<_> = got
        .iter()
        .map(|r| (r.service.as_str(), r.action.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("s3", None),
            ("s3", Some("ListAllMyBuckets")),
            ("lambda", None),
            ("lambda", Some("GetFunction")),
            ("cloudwatch", None),
            ("cloudwatch", Some("PutMetricData")),
        ]
    );
    assert!(
        got.iter()
            .all(|r| r.role_arn == "arn:aws:iam::111122223333:role/app/web")
    );
}

#[test]
fn cloudtrail_event_names_map_to_actions() {
    assert_eq!(cloudtrail_action("s3", "HeadObject"), "GetObject");
    assert_eq!(cloudtrail_action("s3", "ListObjectsV2"), "ListBucket");
    assert_eq!(cloudtrail_action("s3", "UploadPart"), "PutObject");
    assert_eq!(cloudtrail_action("lambda", "Invoke"), "InvokeFunction");
    assert_eq!(
        cloudtrail_action("lambda", "UpdateFunctionCode20150331v2"),
        "UpdateFunctionCode"
    );
    assert_eq!(
        cloudtrail_action("lambda", "CreateFunction20150331"),
        "CreateFunction"
    );
    assert_eq!(cloudtrail_action("ec2", "RunInstances"), "RunInstances");
    assert_eq!(cloudtrail_action("ec2", "Weird2"), "Weird2");
    assert_eq!(cloudtrail_service("monitoring.amazonaws.com"), "cloudwatch");
}

#[test]
fn cloudtrail_needs_records() {
    assert!(cloudtrail_records("f", b"{}").is_err());
    assert!(cloudtrail_records("f", b"not json").is_err());
}

#[test]
fn cloudtrail_dir_reads_gzip_recursively() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("AWSLogs/1/CloudTrail");
    std::fs::create_dir_all(&sub).unwrap();
    let log = serde_json::json!({"Records": [event("AssumedRole", "sqs.amazonaws.com", "SendMessage", "2024-04-30T01:00:00Z", None)]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(log.to_string().as_bytes()).unwrap();
    std::fs::write(sub.join("a.json.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(sub.join("ignored.txt"), "x").unwrap();
    let got = CloudTrailDir {
        dir: dir.path().to_owned(),
    }
    .records()
    .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].action.as_deref(), Some("SendMessage"));
}

#[test]
fn merge_keeps_the_latest_use() {
    let rec = |last: Option<OffsetDateTime>, source| AccessRecord {
        role_arn: "r".into(),
        service: "S3".into(),
        action: None,
        last_used: last,
        source,
    };
    let mut history = AccessHistory::default();
    history.merge(
        &[rec(
            Some(datetime!(2024-01-01 0:00 UTC)),
            AccessSource::CloudTrail,
        )],
        datetime!(2024-05-01 0:00 UTC),
    );
    history.merge(
        &[
            rec(None, AccessSource::Aardvark),
            rec(Some(datetime!(2023-01-01 0:00 UTC)), AccessSource::Aardvark),
        ],
        datetime!(2024-04-01 0:00 UTC),
    );
    let role = history.role("r").unwrap();
    assert_eq!(role.services["s3"], Some(datetime!(2024-01-01 0:00 UTC)));
    assert_eq!(role.collected_at, Some(datetime!(2024-05-01 0:00 UTC)));
}
