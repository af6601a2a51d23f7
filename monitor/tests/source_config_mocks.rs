//! The AWS Config API readers against `aws-smithy-mocks` (moto cannot serve
//! Config), with responses shaped as AWS documents them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use aws_sdk_config::Client;
use aws_sdk_config::operation::batch_get_resource_config::BatchGetResourceConfigOutput;
use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::operation::list_discovered_resources::ListDiscoveredResourcesOutput;
use aws_sdk_config::operation::select_aggregate_resource_config::SelectAggregateResourceConfigOutput;
use aws_sdk_config::operation::select_resource_config::{
    SelectResourceConfigError, SelectResourceConfigOutput,
};
use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::error::InvalidExpressionException;
use aws_sdk_config::types::{
    BaseConfigurationItem, ConfigurationItem, ConfigurationItemStatus, ResourceIdentifier,
    ResourceKey as SdkKey, ResourceType,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use monitor::model::{ItemStatus, ResourceKey};
use monitor::source::SourceError;
use monitor::source::config_api::{ConfigSource, select_expression};
use monitor::source::notification::{FetchItem, Notification, RuleEvent};

const ACCOUNT: &str = "111122223333";

fn bucket_id(n: usize) -> String {
    format!("bucket-{n:03}")
}

/// A `BaseConfigurationItem` as `BatchGetResourceConfig` returns it:
/// `configuration` and supplementary values are JSON strings.
fn base_item(key: &SdkKey) -> BaseConfigurationItem {
    let id = key.resource_id();
    BaseConfigurationItem::builder()
        .version("1.3")
        .account_id(ACCOUNT)
        .configuration_item_capture_time(DateTime::from_secs(1_700_000_000))
        .configuration_item_status(ConfigurationItemStatus::Ok)
        .configuration_state_id("1700000000000")
        .arn(format!("arn:aws:s3:::{id}"))
        .resource_type(key.resource_type().clone())
        .resource_id(id)
        .resource_name(id)
        .aws_region("us-east-1")
        .availability_zone("Regional")
        .configuration(format!(
            r#"{{"name":"{id}","owner":{{"displayName":null,"id":"abc"}},"creationDate":"2023-01-01T00:00:00.000Z"}}"#
        ))
        .supplementary_configuration(
            "PublicAccessBlockConfiguration",
            r#"{"blockPublicAcls":true,"ignorePublicAcls":true,"blockPublicPolicy":true,"restrictPublicBuckets":true}"#,
        )
        .supplementary_configuration("BucketPolicy", r#"{"policyText":null}"#)
        .build()
}

fn identifier(resource_type: ResourceType, id: &str) -> ResourceIdentifier {
    ResourceIdentifier::builder()
        .resource_type(resource_type)
        .resource_id(id)
        .resource_name(id)
        .build()
}

#[tokio::test]
async fn source_discovered_pages_listings_batches_by_100_and_retries_unprocessed_keys() {
    // 150 buckets over two pages; one role.
    let first_page = mock!(Client::list_discovered_resources)
        .match_requests(|r| {
            r.resource_type() == Some(&ResourceType::Bucket) && r.next_token().is_none()
        })
        .then_output(|| {
            ListDiscoveredResourcesOutput::builder()
                .set_resource_identifiers(Some(
                    (0..100)
                        .map(|n| identifier(ResourceType::Bucket, &bucket_id(n)))
                        .collect(),
                ))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(Client::list_discovered_resources)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListDiscoveredResourcesOutput::builder()
                .set_resource_identifiers(Some(
                    (100..150)
                        .map(|n| identifier(ResourceType::Bucket, &bucket_id(n)))
                        .collect(),
                ))
                .build()
        });
    let roles = mock!(Client::list_discovered_resources)
        .match_requests(|r| r.resource_type() == Some(&ResourceType::Role))
        .then_output(|| {
            ListDiscoveredResourcesOutput::builder()
                .resource_identifiers(identifier(ResourceType::Role, "AROAEXAMPLE"))
                .build()
        });
    // A full batch leaves its last key unprocessed once.
    let batch = mock!(Client::batch_get_resource_config).then_compute_output(|request| {
        let keys = request.resource_keys();
        assert!(keys.len() <= 100, "{} keys in one call", keys.len());
        let (answered, unprocessed) = if keys.len() == 100 {
            keys.split_at(99)
        } else {
            (keys, &[][..])
        };
        BatchGetResourceConfigOutput::builder()
            .set_base_configuration_items(Some(answered.iter().map(base_item).collect()))
            .set_unprocessed_resource_keys(Some(unprocessed.to_vec()))
            .build()
    });
    let client = mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&first_page, &second_page, &roles, &batch]
    );
    let source = ConfigSource::from_client(client);
    let items = source
        .discovered(&["AWS::S3::Bucket", "AWS::IAM::Role"])
        .await
        .unwrap();

    assert_eq!(items.len(), 151);
    // 100 keys (99 answered), the unprocessed one again, then the last 51.
    assert_eq!(batch.num_calls(), 3);
    assert_eq!(
        (
            first_page.num_calls(),
            second_page.num_calls(),
            roles.num_calls()
        ),
        (1, 1, 1)
    );
    let mut ids: Vec<&str> = items.iter().map(|i| i.key.resource_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 151);

    let bucket = items
        .iter()
        .find(|i| i.key.resource_id == "bucket-042")
        .unwrap();
    assert_eq!(
        bucket.key.to_string(),
        "111122223333/us-east-1/AWS::S3::Bucket/bucket-042"
    );
    assert_eq!(bucket.configuration["owner"]["id"], "abc");
    assert_eq!(
        bucket.supplementary["PublicAccessBlockConfiguration"]["blockPublicPolicy"],
        true
    );
    assert_eq!(bucket.capture_time.unwrap().unix_timestamp(), 1_700_000_000);
    assert_eq!(bucket.status, ItemStatus::Ok);
    let role = items
        .iter()
        .find(|i| i.key.resource_id == "AROAEXAMPLE")
        .unwrap();
    assert_eq!(role.key.region, "global");
}

#[tokio::test]
async fn source_keys_left_unprocessed_on_every_attempt_are_an_error() {
    let list = mock!(Client::list_discovered_resources).then_output(|| {
        ListDiscoveredResourcesOutput::builder()
            .resource_identifiers(identifier(
                ResourceType::Topic,
                "arn:aws:sns:us-east-1:111122223333:t",
            ))
            .build()
    });
    let batch = mock!(Client::batch_get_resource_config).then_compute_output(|request| {
        BatchGetResourceConfigOutput::builder()
            .set_unprocessed_resource_keys(request.resource_keys.clone())
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&list, &batch]);
    let error = ConfigSource::from_client(client)
        .discovered(&["AWS::SNS::Topic"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SourceError::Unprocessed {
                count: 1,
                attempts: 5,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(batch.num_calls(), 5);
    assert!(
        error.to_string().contains("AWS::SNS::Topic/arn:aws:sns"),
        "{error}"
    );
}

/// Rows as `SelectResourceConfig` returns them: one JSON string each, holding
/// the selected fields, `configuration` as an object and `tags` as a list.
fn select_row(account: &str, region: &str, id: &str) -> String {
    serde_json::json!({
        "accountId": account,
        "awsRegion": region,
        "resourceType": "AWS::EC2::SecurityGroup",
        "resourceId": id,
        "resourceName": "web",
        "arn": format!("arn:aws:ec2:{region}:{account}:security-group/{id}"),
        "configurationItemStatus": "OK",
        "configurationItemCaptureTime": "2024-02-01T10:00:00.000Z",
        "configuration": {
            "groupId": id,
            "ipPermissions": [{"fromPort": 22, "toPort": 22, "ipProtocol": "tcp",
                "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]
        },
        "supplementaryConfiguration": {},
        "tags": [{"key": "team", "value": "web"}]
    })
    .to_string()
}

#[tokio::test]
async fn source_select_follows_next_token_and_reads_rows() {
    let expression = select_expression(&["AWS::EC2::SecurityGroup"]);
    let wanted = expression.clone();
    let pages = mock!(Client::select_resource_config)
        .match_requests(move |r| r.expression() == Some(wanted.as_str()))
        .then_compute_output(|r| match r.next_token() {
            None => SelectResourceConfigOutput::builder()
                .results(select_row(ACCOUNT, "us-east-1", "sg-1"))
                .results(select_row(ACCOUNT, "us-east-1", "sg-2"))
                .next_token("more")
                .build(),
            Some(_) => SelectResourceConfigOutput::builder()
                .results(select_row(ACCOUNT, "eu-west-1", "sg-3"))
                .build(),
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&pages]);
    let items = ConfigSource::from_client(client)
        .select(&expression)
        .await
        .unwrap();
    assert_eq!(pages.num_calls(), 2);
    let ids: Vec<&str> = items.iter().map(|i| i.key.resource_id.as_str()).collect();
    assert_eq!(ids, ["sg-1", "sg-2", "sg-3"]);
    let last = items.last().unwrap();
    assert_eq!(last.key.region, "eu-west-1");
    assert_eq!(last.tags["team"], "web");
    assert_eq!(
        last.configuration["ipPermissions"][0]["ipv4Ranges"][0]["cidrIp"],
        "0.0.0.0/0"
    );
}

#[tokio::test]
async fn source_select_errors_name_the_operation_and_bad_rows_their_index() {
    let invalid = mock!(Client::select_resource_config)
        .match_requests(|r| r.expression() == Some("SELECT nonsense"))
        .then_error(|| {
            SelectResourceConfigError::InvalidExpressionException(
                InvalidExpressionException::builder()
                    .message("the expression is not valid")
                    .build(),
            )
        });
    let partial = mock!(Client::select_resource_config)
        .match_requests(|r| r.expression() == Some("SELECT resourceId"))
        .then_output(|| {
            SelectResourceConfigOutput::builder()
                .results(select_row(ACCOUNT, "us-east-1", "sg-1"))
                .results(r#"{"resourceId": "sg-2"}"#)
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&invalid, &partial]);
    let source = ConfigSource::from_client(client);
    let error = source.select("SELECT nonsense").await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("config:SelectResourceConfig failed"),
        "{error}"
    );
    let error = source.select("SELECT resourceId").await.unwrap_err();
    assert!(
        matches!(
            error,
            SourceError::Item {
                index: 1,
                field: "accountId",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn source_select_aggregate_reads_many_accounts_through_the_aggregator() {
    let pages = mock!(Client::select_aggregate_resource_config)
        .match_requests(|r| r.configuration_aggregator_name() == Some("org"))
        .then_compute_output(|r| match r.next_token() {
            None => SelectAggregateResourceConfigOutput::builder()
                .results(select_row("111122223333", "us-east-1", "sg-a"))
                .next_token("t2")
                .build(),
            Some(_) => SelectAggregateResourceConfigOutput::builder()
                .results(select_row("444455556666", "us-west-2", "sg-b"))
                .build(),
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&pages]);
    let items = ConfigSource::from_client(client)
        .select_aggregate("org", &select_expression(&[]))
        .await
        .unwrap();
    let accounts: Vec<&str> = items.iter().map(|i| i.key.account.as_str()).collect();
    assert_eq!(accounts, ["111122223333", "444455556666"]);
    assert_eq!(pages.num_calls(), 2);
}

/// A `ConfigurationItem` as `GetResourceConfigHistory` returns it.
fn history_item(version: u32, status: ConfigurationItemStatus) -> ConfigurationItem {
    ConfigurationItem::builder()
        .version("1.3")
        .account_id(ACCOUNT)
        .configuration_item_capture_time(DateTime::from_secs(1_700_000_000 - i64::from(version)))
        .configuration_item_status(status)
        .configuration_state_id(version.to_string())
        .arn("arn:aws:iam::111122223333:role/big")
        .resource_type(ResourceType::Role)
        .resource_id("AROAEXAMPLE")
        .resource_name("big")
        .aws_region("global")
        .availability_zone("Not Applicable")
        .tags("owner", "security")
        .configuration(format!(r#"{{"roleName":"big","version":{version}}}"#))
        .build()
}

#[tokio::test]
async fn source_history_pages_newest_first_and_feeds_oversized_rule_events() {
    let pages = mock!(Client::get_resource_config_history)
        .match_requests(|r| {
            r.resource_type() == Some(&ResourceType::Role) && r.resource_id() == Some("AROAEXAMPLE")
        })
        .then_compute_output(|r| {
            if r.limit() == Some(1) {
                return GetResourceConfigHistoryOutput::builder()
                    .configuration_items(history_item(3, ConfigurationItemStatus::Ok))
                    .next_token("older")
                    .build();
            }
            match r.next_token() {
                None => GetResourceConfigHistoryOutput::builder()
                    .configuration_items(history_item(3, ConfigurationItemStatus::Ok))
                    .configuration_items(history_item(2, ConfigurationItemStatus::Ok))
                    .next_token("older")
                    .build(),
                Some(_) => GetResourceConfigHistoryOutput::builder()
                    .configuration_items(history_item(
                        1,
                        ConfigurationItemStatus::ResourceDiscovered,
                    ))
                    .build(),
            }
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&pages]);
    let source = ConfigSource::from_client(client);
    let key: ResourceKey = "111122223333/global/AWS::IAM::Role/AROAEXAMPLE"
        .parse()
        .unwrap();
    let history = source.history(&key).await.unwrap();
    let versions: Vec<i64> = history
        .iter()
        .map(|i| i.configuration["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    assert_eq!(history.last().unwrap().status, ItemStatus::Discovered);
    assert_eq!(history.first().unwrap().tags["owner"], "security");

    // An oversized rule event carries only a summary: the rule reads the
    // newest item from the history.
    let invoking = serde_json::json!({
        "configurationItemSummary": {
            "changeType": "UPDATE", "configurationItemVersion": "1.3",
            "configurationItemCaptureTime": "2024-03-01T12:00:00.000Z",
            "awsAccountId": ACCOUNT, "configurationItemStatus": "OK",
            "resourceType": "AWS::IAM::Role", "resourceId": "AROAEXAMPLE",
            "resourceName": "big", "ARN": "arn:aws:iam::111122223333:role/big",
            "awsRegion": "global"
        },
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": "2024-03-01T12:00:05.000Z",
        "recordVersion": "1.0"
    });
    let event = RuleEvent::from_value(serde_json::json!({
        "invokingEvent": invoking.to_string(), "resultToken": "tok", "eventLeftScope": false
    }))
    .unwrap();
    let Notification::Oversized(oversized) = &event.invoking else {
        panic!("{:?}", event.invoking);
    };
    let item = source.fetch(oversized).await.unwrap();
    assert_eq!(item.configuration["version"], 3);
    let item = event.invoking.item(&source).await.unwrap().unwrap();
    assert_eq!(item.key, key);
}
