//! CloudTrail log files read from moto's S3, in CloudTrail's own record
//! format and key layout.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::io::Write;

use repokid::aws::cloudtrail::{S3Location, records};
use repokid::model::AccessSource;

const ACCOUNT: &str = "111122223333";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/service-role/orders";

/// A CloudTrail event by an assumed-role session of `orders`.
fn assumed(source: &str, name: &str, time: &str, error: Option<&str>) -> serde_json::Value {
    let mut event = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID:i-0abc",
            "arn": "arn:aws:sts::111122223333:assumed-role/orders/i-0abc",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": ROLE_ARN,
                    "accountId": ACCOUNT,
                    "userName": "orders"
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-04-20T09:00:00Z", "mfaAuthenticated": "false"}
            }
        },
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.0.1",
        "userAgent": "aws-sdk-rust/1.0",
        "requestParameters": null,
        "responseElements": null,
        "requestID": "EXAMPLE-REQUEST",
        "eventID": "EXAMPLE-EVENT",
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"
    });
    if let Some(code) = error {
        event["errorCode"] = code.into();
        event["errorMessage"] = "not authorized".into();
    }
    event
}

fn gzip(records: Vec<serde_json::Value>) -> Vec<u8> {
    let text = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn reads_log_files_under_a_prefix() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = testkit::unique_name("trail").to_ascii_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/04/20/");
    let user = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": ACCOUNT, "userName": "alice"},
        "eventTime": "2024-04-20T10:05:00Z", "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances", "awsRegion": "us-east-1"
    });
    let files = [
        (
            format!("{dir}{ACCOUNT}_CloudTrail_us-east-1_20240420T1000Z_a1.json.gz"),
            gzip(vec![
                assumed(
                    "s3.amazonaws.com",
                    "GetObject",
                    "2024-04-20T10:01:00Z",
                    None,
                ),
                assumed(
                    "s3.amazonaws.com",
                    "ListObjects",
                    "2024-04-20T10:02:00Z",
                    None,
                ),
                user,
            ]),
        ),
        (
            format!("{dir}{ACCOUNT}_CloudTrail_us-east-1_20240420T1005Z_b2.json.gz"),
            gzip(vec![
                assumed(
                    "lambda.amazonaws.com",
                    "GetFunction20150331v2",
                    "2024-04-20T10:06:00Z",
                    None,
                ),
                assumed(
                    "dynamodb.amazonaws.com",
                    "DeleteTable",
                    "2024-04-20T10:07:00Z",
                    Some("AccessDenied"),
                ),
            ]),
        ),
        // A digest file and an unrelated object: not read.
        (
            format!(
                "AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2024/04/20/{ACCOUNT}_CloudTrail-Digest_us-east-1_x.json.gz"
            ),
            gzip(Vec::new()).into_iter().take(4).collect(),
        ),
        (format!("{dir}README.txt"), b"not a log".to_vec()),
    ];
    for (key, body) in files {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    let at = S3Location::parse(&format!("s3://{bucket}/AWSLogs/{ACCOUNT}/")).unwrap();
    // One key a page: the listing is followed to its end.
    let got = records(&s3, &at, Some(1)).await.unwrap();
    let mut seen: Vec<(String, Option<String>, String)> = got
        .iter()
        .map(|r| {
            assert_eq!(r.role_arn, ROLE_ARN);
            assert_eq!(r.source, AccessSource::CloudTrail);
            (
                r.service.clone(),
                r.action.clone(),
                r.last_used.unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, Option<String>, String)> = [
        ("lambda", None, "2024-04-20 10:06:00.0 +00:00:00"),
        (
            "lambda",
            Some("GetFunction"),
            "2024-04-20 10:06:00.0 +00:00:00",
        ),
        ("s3", None, "2024-04-20 10:01:00.0 +00:00:00"),
        ("s3", None, "2024-04-20 10:02:00.0 +00:00:00"),
        ("s3", Some("GetObject"), "2024-04-20 10:01:00.0 +00:00:00"),
        ("s3", Some("ListBucket"), "2024-04-20 10:02:00.0 +00:00:00"),
    ]
    .iter()
    .map(|(s, a, t)| ((*s).to_owned(), a.map(str::to_owned), (*t).to_owned()))
    .collect();
    assert_eq!(seen, expected);

    assert_eq!(
        S3Location::parse("s3://b"),
        Some(S3Location {
            bucket: "b".into(),
            prefix: String::new()
        })
    );
    assert_eq!(S3Location::parse("https://b/x"), None);
}
