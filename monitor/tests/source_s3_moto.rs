//! Config's files in moto's S3: a snapshot streamed from an object, and an
//! oversized change notification's item fetched from its delivery location.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::Write;

use aws_sdk_s3::primitives::ByteStream;
use flate2::Compression;
use flate2::write::GzEncoder;
use monitor::source::SourceError;
use monitor::source::notification::{Notification, S3Location};
use monitor::source::s3::{S3Fetcher, SnapshotStream, client};
use serde_json::{Value, json};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn item(n: usize) -> Value {
    json!({
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2024-04-01T00:00:00.000Z",
        "configurationStateId": 1,
        "awsAccountId": "111122223333",
        "configurationItemStatus": "OK",
        "resourceType": "AWS::SQS::Queue",
        "resourceId": format!("https://sqs.us-east-1.amazonaws.com/111122223333/q{n}"),
        "resourceName": format!("q{n}"),
        "ARN": format!("arn:aws:sqs:us-east-1:111122223333:q{n}"),
        "awsRegion": "us-east-1",
        "configuration": {"QueueName": format!("q{n}"), "Policy": "{\"Statement\":[]}",
            "padding": "x".repeat(200)},
        "supplementaryConfiguration": {},
        "tags": {},
        "relationships": []
    })
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_a_snapshot_object_is_streamed_item_by_item() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let s3 = client(&config);
    let bucket = testkit::unique_name("config").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let snapshot = json!({
        "fileVersion": "1.0",
        "configSnapshotId": "0a1b2c",
        "configurationItems": (0..2000).map(item).collect::<Vec<_>>(),
    });
    let key = "AWSLogs/111122223333/Config/us-east-1/2024/4/1/ConfigSnapshot/snap.json.gz";
    put(&s3, &bucket, key, gzip(snapshot.to_string().as_bytes())).await;

    let location = S3Location {
        bucket: bucket.clone(),
        key: key.to_owned(),
    };
    let mut stream = SnapshotStream::open(&s3, &location).await.unwrap();
    let mut names = Vec::new();
    while let Some(found) = stream.next().await {
        names.push(found.name.unwrap());
    }
    let summary = stream.finish().await.unwrap();
    assert_eq!(summary.items, Some(2000));
    assert_eq!(summary.snapshot_id.as_deref(), Some("0a1b2c"));
    assert_eq!(names.len(), 2000);
    assert_eq!(names.last().map(String::as_str), Some("q1999"));

    // Leaving early ends the read with an error, without hanging.
    let mut stream = SnapshotStream::open(&s3, &location).await.unwrap();
    assert!(stream.next().await.is_some());
    let error = stream.finish().await.unwrap_err();
    assert!(
        error.to_string().contains("dropped before its end"),
        "{error}"
    );

    // A plain object that is not JSON names the object.
    put(
        &s3,
        &bucket,
        "broken.json",
        b"{\"configurationItems\": [".to_vec(),
    )
    .await;
    let broken = S3Location {
        bucket: bucket.clone(),
        key: "broken.json".to_owned(),
    };
    let mut stream = SnapshotStream::open(&s3, &broken).await.unwrap();
    assert!(stream.next().await.is_none());
    let error = stream.finish().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("s3://{bucket}/broken.json")),
        "{error}"
    );

    let missing = S3Location {
        bucket,
        key: "missing.json".to_owned(),
    };
    let error = SnapshotStream::open(&s3, &missing).await.unwrap_err();
    assert!(
        matches!(
            error,
            SourceError::Aws {
                operation: "s3:GetObject",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn source_an_oversized_notification_is_completed_from_s3() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let s3 = client(&config);
    let bucket = testkit::unique_name("config").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let full = item(7);
    let key = "AWSLogs/111122223333/Config/us-east-1/2024/4/1/OversizedChangeNotification/AWS::SQS::Queue/q7.json.gz";
    let delivered = json!({
        "configurationItemDiff": null,
        "configurationItem": full,
        "notificationCreationTime": "2024-04-01T00:00:05.000Z",
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3"
    });
    put(&s3, &bucket, key, gzip(delivered.to_string().as_bytes())).await;

    let mut summary = full.clone();
    for field in [
        "configuration",
        "supplementaryConfiguration",
        "tags",
        "relationships",
    ] {
        summary.as_object_mut().unwrap().remove(field);
    }
    summary["changeType"] = json!("UPDATE");
    let message = json!({
        "configurationItemSummary": summary,
        "s3DeliverySummary": {"s3BucketLocation": format!("{bucket}/{key}"), "errorCode": null, "errorMessage": null},
        "notificationCreationTime": "2024-04-01T00:00:05.000Z",
        "messageType": "OversizedConfigurationItemChangeNotification",
        "recordVersion": "1.0"
    });
    let notification = Notification::from_value(message.clone()).unwrap();
    let fetcher = S3Fetcher::new(&config);
    let found = notification.item(&fetcher).await.unwrap().unwrap();
    assert_eq!(found.name.as_deref(), Some("q7"));
    assert_eq!(found.configuration["QueueName"], "q7");

    // The object must hold the summarised resource.
    let mut other = message;
    other["configurationItemSummary"]["resourceId"] = json!("someone-else");
    let error = Notification::from_value(other)
        .unwrap()
        .item(&fetcher)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("holds no item for"), "{error}");
}
