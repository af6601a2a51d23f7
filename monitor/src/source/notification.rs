//! AWS Config notifications, as they arrive through SNS (or SQS behind SNS)
//! and as the `invokingEvent` of a Config rule's Lambda event.
//!
//! [`Notification::parse`] reads a message (bare, or wrapped in an SNS
//! envelope); [`Notification::item`] gives the changed item, fetching it
//! through a [`FetchItem`] when the notification was too large to carry it.
//! [`RuleEvent::parse`] reads the event a Config custom rule's Lambda gets.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SourceError;
use super::item::RawItem;
use crate::model::ConfigItem;

/// One Config notification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notification {
    /// `ConfigurationItemChangeNotification`: the item is in the message.
    Change(Change),
    /// `OversizedConfigurationItemChangeNotification`: only a summary is in
    /// the message; fetch the item with [`Notification::item`].
    Oversized(Oversized),
    /// `ScheduledNotification` (periodic rules): no item; read everything.
    Scheduled {
        /// `awsAccountId`.
        account: String,
        /// `notificationCreationTime`.
        created: Option<OffsetDateTime>,
    },
    /// `ConfigurationSnapshotDeliveryCompleted` or
    /// `ConfigurationHistoryDeliveryCompleted`: a file is in S3, ready for
    /// [`crate::source::s3::SnapshotStream`].
    Delivered {
        /// `messageType`.
        message_type: String,
        /// The object, from `s3Bucket` and `s3ObjectKey`.
        location: S3Location,
    },
    /// Any other message type Config sends (delivery started or failed,
    /// compliance changes): nothing to read.
    Other {
        /// `messageType`.
        message_type: String,
    },
}

/// A change notification with its item.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `configurationItem`: the resource as it is now.
    pub item: ConfigItem,
    /// `configurationItemDiff.changeType`: `CREATE`, `UPDATE` or `DELETE`.
    pub change_type: Option<String>,
    /// `configurationItemDiff.changedProperties`: each changed property with
    /// its `previousValue`, `updatedValue` and `changeType` (null when the
    /// notification has no diff).
    pub changed_properties: Value,
    /// `notificationCreationTime`.
    pub created: Option<OffsetDateTime>,
}

/// An oversized change notification: a summary and where the item is.
#[derive(Debug, Clone, PartialEq)]
pub struct Oversized {
    /// `configurationItemSummary`: the item without its configuration.
    pub summary: ConfigItem,
    /// `configurationItemSummary.changeType`.
    pub change_type: Option<String>,
    /// `s3DeliverySummary.s3BucketLocation`; absent in rule events, where the
    /// item is read with `GetResourceConfigHistory` instead.
    pub location: Option<S3Location>,
    /// `notificationCreationTime`.
    pub created: Option<OffsetDateTime>,
}

/// An S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
}

impl S3Location {
    /// Splits `bucket/key/with/slashes` (the form of `s3BucketLocation`).
    pub fn parse(location: &str) -> Option<S3Location> {
        let location = location.strip_prefix("s3://").unwrap_or(location);
        let (bucket, key) = location.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| S3Location {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// Gets the full item an oversized notification leaves out: from S3
/// ([`crate::source::s3::S3Fetcher`]) or from Config's history
/// ([`crate::source::config_api::ConfigSource`]).
#[async_trait]
pub trait FetchItem: Send + Sync {
    /// The item the notification summarises.
    async fn fetch(&self, oversized: &Oversized) -> Result<ConfigItem, SourceError>;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    message_type: Option<String>,
    configuration_item: Option<RawItem>,
    configuration_item_diff: Option<Diff>,
    configuration_item_summary: Option<Summary>,
    s3_delivery_summary: Option<DeliverySummary>,
    aws_account_id: Option<String>,
    notification_creation_time: Option<String>,
    s3_bucket: Option<String>,
    s3_object_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Diff {
    change_type: Option<String>,
    #[serde(default)]
    changed_properties: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    change_type: Option<String>,
    #[serde(flatten)]
    item: RawItem,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliverySummary {
    s3_bucket_location: Option<String>,
}

impl Notification {
    /// Reads a notification from JSON text: the message Config publishes, or
    /// the SNS envelope around it (`{"Type": "Notification", "Message": ..}`).
    pub fn parse(text: &str) -> Result<Notification, SourceError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SourceError::Json {
            what: "the notification".to_owned(),
            message: e.to_string(),
            fix: "pass the message AWS Config published",
        })?;
        Notification::from_value(value)
    }

    /// Reads a notification from a JSON value; see [`Notification::parse`].
    pub fn from_value(value: Value) -> Result<Notification, SourceError> {
        if let Some(Value::String(inner)) = value.get("Message")
            && value.get("Type").is_some()
        {
            return Notification::parse(inner);
        }
        let message = Message::deserialize(value).map_err(|e| SourceError::Json {
            what: "the notification".to_owned(),
            message: e.to_string(),
            fix: "pass the message AWS Config published",
        })?;
        message.into_notification()
    }

    /// The item this notification is about: the one it carries, or the one
    /// `fetch` finds for an oversized notification. `None` for notifications
    /// without an item (scheduled, deliveries, others).
    pub async fn item(&self, fetch: &dyn FetchItem) -> Result<Option<ConfigItem>, SourceError> {
        match self {
            Notification::Change(change) => Ok(Some(change.item.clone())),
            Notification::Oversized(oversized) => fetch.fetch(oversized).await.map(Some),
            _ => Ok(None),
        }
    }
}

impl Message {
    fn into_notification(self) -> Result<Notification, SourceError> {
        let created = self
            .notification_creation_time
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        let message_type = self
            .message_type
            .ok_or_else(|| SourceError::Notification("`messageType` is missing".to_owned()))?;
        let missing =
            |field: &str| SourceError::Notification(format!("`{message_type}` without `{field}`"));
        Ok(match message_type.as_str() {
            "ConfigurationItemChangeNotification" => {
                let item = self
                    .configuration_item
                    .ok_or_else(|| missing("configurationItem"))?
                    .into_item(0)?;
                let (change_type, changed_properties) = self
                    .configuration_item_diff
                    .map(|d| (d.change_type, d.changed_properties))
                    .unwrap_or_default();
                Notification::Change(Change {
                    item,
                    change_type,
                    changed_properties,
                    created,
                })
            }
            "OversizedConfigurationItemChangeNotification" => {
                let summary = self
                    .configuration_item_summary
                    .ok_or_else(|| missing("configurationItemSummary"))?;
                let location = match self.s3_delivery_summary.and_then(|s| s.s3_bucket_location) {
                    None => None,
                    Some(text) => Some(S3Location::parse(&text).ok_or_else(|| {
                        SourceError::Notification(format!(
                            "`s3BucketLocation` is `{text}`, not BUCKET/KEY"
                        ))
                    })?),
                };
                Notification::Oversized(Oversized {
                    summary: summary.item.into_item(0)?,
                    change_type: summary.change_type,
                    location,
                    created,
                })
            }
            "ScheduledNotification" => Notification::Scheduled {
                account: self.aws_account_id.ok_or_else(|| missing("awsAccountId"))?,
                created,
            },
            "ConfigurationSnapshotDeliveryCompleted" | "ConfigurationHistoryDeliveryCompleted" => {
                let bucket = self.s3_bucket.ok_or_else(|| missing("s3Bucket"))?;
                let key = self.s3_object_key.ok_or_else(|| missing("s3ObjectKey"))?;
                Notification::Delivered {
                    message_type,
                    location: S3Location { bucket, key },
                }
            }
            _ => Notification::Other { message_type },
        })
    }
}

/// The event AWS Config passes to a custom rule's Lambda function.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvent {
    /// `invokingEvent`, parsed: a change, an oversized change or a scheduled
    /// notification.
    pub invoking: Notification,
    /// `ruleParameters`, parsed (empty when absent).
    pub rule_parameters: Map<String, Value>,
    /// `resultToken`: pass it back to `PutEvaluations`.
    pub result_token: String,
    /// `eventLeftScope`: the resource no longer falls under the rule, so it
    /// is evaluated `NOT_APPLICABLE`.
    pub event_left_scope: bool,
    /// `configRuleName`.
    pub config_rule_name: Option<String>,
    /// `configRuleArn`.
    pub config_rule_arn: Option<String>,
    /// `accountId`.
    pub account_id: Option<String>,
    /// `executionRoleArn`.
    pub execution_role_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRuleEvent {
    invoking_event: Option<String>,
    rule_parameters: Option<String>,
    result_token: Option<String>,
    #[serde(default)]
    event_left_scope: bool,
    config_rule_name: Option<String>,
    config_rule_arn: Option<String>,
    account_id: Option<String>,
    execution_role_arn: Option<String>,
}

impl RuleEvent {
    /// Reads a rule event from JSON text.
    pub fn parse(text: &str) -> Result<RuleEvent, SourceError> {
        let value = serde_json::from_str(text).map_err(|e| SourceError::Json {
            what: "the rule event".to_owned(),
            message: e.to_string(),
            fix: "pass the event AWS Config sent to the rule's Lambda function",
        })?;
        RuleEvent::from_value(value)
    }

    /// Reads a rule event from a JSON value.
    pub fn from_value(value: Value) -> Result<RuleEvent, SourceError> {
        let raw = RawRuleEvent::deserialize(value).map_err(|e| SourceError::Json {
            what: "the rule event".to_owned(),
            message: e.to_string(),
            fix: "pass the event AWS Config sent to the rule's Lambda function",
        })?;
        let missing =
            |field: &str| SourceError::Notification(format!("rule event without `{field}`"));
        let invoking = Notification::parse(
            raw.invoking_event
                .as_deref()
                .ok_or_else(|| missing("invokingEvent"))?,
        )?;
        let rule_parameters = match raw.rule_parameters.as_deref().map(str::trim) {
            None | Some("") => Map::new(),
            Some(text) => serde_json::from_str(text).map_err(|e| SourceError::Json {
                what: "the rule's `ruleParameters`".to_owned(),
                message: e.to_string(),
                fix: "give the rule's parameters as a JSON object",
            })?,
        };
        Ok(RuleEvent {
            invoking,
            rule_parameters,
            result_token: raw.result_token.ok_or_else(|| missing("resultToken"))?,
            event_left_scope: raw.event_left_scope,
            config_rule_name: raw.config_rule_name,
            config_rule_arn: raw.config_rule_arn,
            account_id: raw.account_id,
            execution_role_arn: raw.execution_role_arn,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::ItemStatus;

    fn change() -> Value {
        json!({
            "configurationItemDiff": {
                "changedProperties": {
                    "Configuration.IpPermissions.0": {
                        "previousValue": null,
                        "updatedValue": {"fromPort": 22, "ipProtocol": "tcp", "toPort": 22},
                        "changeType": "CREATE"
                    }
                },
                "changeType": "UPDATE"
            },
            "configurationItem": {
                "relatedEvents": [],
                "relationships": [],
                "configuration": {"groupId": "sg-0123", "ipPermissions": []},
                "supplementaryConfiguration": {},
                "tags": {"env": "prod"},
                "configurationItemVersion": "1.3",
                "configurationItemCaptureTime": "2024-03-01T12:00:00.000Z",
                "configurationStateId": 1_709_294_400_000_u64,
                "awsAccountId": "111122223333",
                "configurationItemStatus": "OK",
                "resourceType": "AWS::EC2::SecurityGroup",
                "resourceId": "sg-0123",
                "resourceName": "web",
                "ARN": "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123",
                "awsRegion": "us-east-1",
                "availabilityZone": "Not Applicable",
                "configurationStateMd5Hash": ""
            },
            "notificationCreationTime": "2024-03-01T12:00:05.000Z",
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"
        })
    }

    fn oversized(with_location: bool) -> Value {
        let mut value = json!({
            "configurationItemSummary": {
                "changeType": "UPDATE",
                "configurationItemVersion": "1.3",
                "configurationItemCaptureTime": "2024-03-01T12:00:00.000Z",
                "configurationStateId": 0,
                "awsAccountId": "111122223333",
                "configurationItemStatus": "OK",
                "resourceType": "AWS::IAM::Role",
                "resourceId": "AROAEXAMPLE",
                "resourceName": "big",
                "ARN": "arn:aws:iam::111122223333:role/big",
                "awsRegion": "global",
                "availabilityZone": "Not Applicable",
                "configurationStateMd5Hash": ""
            },
            "notificationCreationTime": "2024-03-01T12:00:05.000Z",
            "messageType": "OversizedConfigurationItemChangeNotification",
            "recordVersion": "1.0"
        });
        if with_location {
            value["s3DeliverySummary"] = json!({
                "s3BucketLocation": "config-bucket/AWSLogs/111122223333/Config/global/big.json.gz",
                "errorCode": null, "errorMessage": null
            });
        }
        value
    }

    struct Canned;

    #[async_trait]
    impl FetchItem for Canned {
        async fn fetch(&self, oversized: &Oversized) -> Result<ConfigItem, SourceError> {
            let mut item = oversized.summary.clone();
            item.configuration = json!({"fetched": true});
            Ok(item)
        }
    }

    #[tokio::test]
    async fn a_change_notification_carries_its_item_and_diff() {
        let notification = Notification::from_value(change()).unwrap();
        let Notification::Change(found) = &notification else {
            panic!("{notification:?}");
        };
        assert_eq!(found.item.key.resource_id, "sg-0123");
        assert_eq!(found.item.tags["env"], "prod");
        assert_eq!(found.change_type.as_deref(), Some("UPDATE"));
        assert_eq!(
            found.changed_properties["Configuration.IpPermissions.0"]["updatedValue"]["toPort"],
            22
        );
        assert!(found.created.is_some());
        let item = notification.item(&Canned).await.unwrap().unwrap();
        assert_eq!(item.configuration["groupId"], "sg-0123");
    }

    #[tokio::test]
    async fn an_oversized_notification_is_fetched() {
        let notification = Notification::from_value(oversized(true)).unwrap();
        let Notification::Oversized(found) = &notification else {
            panic!("{notification:?}");
        };
        let location = found.location.as_ref().unwrap();
        assert_eq!(location.bucket, "config-bucket");
        assert_eq!(
            location.key,
            "AWSLogs/111122223333/Config/global/big.json.gz"
        );
        assert_eq!(found.summary.key.region, "global");
        assert_eq!(found.summary.status, ItemStatus::Ok);
        let item = notification.item(&Canned).await.unwrap().unwrap();
        assert_eq!(item.configuration["fetched"], true);
    }

    #[tokio::test]
    async fn scheduled_and_delivery_notifications_have_no_item() {
        let scheduled = json!({"awsAccountId": "111122223333",
            "notificationCreationTime": "2024-03-01T12:00:05.000Z",
            "messageType": "ScheduledNotification", "recordVersion": "1.0"});
        let notification = Notification::from_value(scheduled).unwrap();
        assert!(
            matches!(&notification, Notification::Scheduled { account, .. } if account == "111122223333")
        );
        assert_eq!(notification.item(&Canned).await.unwrap(), None);

        let delivered = json!({"configSnapshotId": "abc", "s3ObjectKey": "AWSLogs/x/snap.json.gz",
            "s3Bucket": "config-bucket", "messageType": "ConfigurationSnapshotDeliveryCompleted"});
        let Notification::Delivered { location, .. } = Notification::from_value(delivered).unwrap()
        else {
            panic!("not a delivery");
        };
        assert_eq!(location.key, "AWSLogs/x/snap.json.gz");

        let other = json!({"messageType": "ConfigurationSnapshotDeliveryStarted"});
        assert!(matches!(
            Notification::from_value(other).unwrap(),
            Notification::Other { .. }
        ));
    }

    #[test]
    fn an_sns_envelope_is_unwrapped() {
        let envelope = json!({"Type": "Notification", "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:us-east-1:111122223333:config", "Message": change().to_string()});
        let notification = Notification::parse(&envelope.to_string()).unwrap();
        assert!(matches!(notification, Notification::Change(_)));
    }

    #[test]
    fn bad_notifications_say_what_is_missing() {
        let error = Notification::from_value(json!({"configurationItem": {}})).unwrap_err();
        assert!(
            error.to_string().contains("`messageType` is missing"),
            "{error}"
        );
        let error =
            Notification::from_value(json!({"messageType": "ConfigurationItemChangeNotification"}))
                .unwrap_err();
        assert!(error.to_string().contains("`configurationItem`"), "{error}");
        let mut bad = oversized(true);
        bad["s3DeliverySummary"]["s3BucketLocation"] = json!("no-slash");
        let error = Notification::from_value(bad).unwrap_err();
        assert!(error.to_string().contains("not BUCKET/KEY"), "{error}");
        let mut bad = change();
        bad["configurationItem"]["resourceId"] = Value::Null;
        let error = Notification::from_value(bad).unwrap_err();
        assert!(
            error.to_string().contains("`resourceId` is missing"),
            "{error}"
        );
    }

    #[test]
    fn a_rule_event_parses_its_embedded_json() {
        let event = json!({
            "invokingEvent": oversized(false).to_string(),
            "ruleParameters": "{\"maxAgeDays\": \"90\"}",
            "resultToken": "token-1",
            "eventLeftScope": true,
            "executionRoleArn": "arn:aws:iam::111122223333:role/config-role",
            "configRuleArn": "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-0123",
            "configRuleName": "monitor",
            "configRuleId": "config-rule-0123",
            "accountId": "111122223333",
            "version": "1.0"
        });
        let event = RuleEvent::parse(&event.to_string()).unwrap();
        assert_eq!(event.result_token, "token-1");
        assert!(event.event_left_scope);
        assert_eq!(event.rule_parameters["maxAgeDays"], "90");
        assert_eq!(event.config_rule_name.as_deref(), Some("monitor"));
        let Notification::Oversized(found) = &event.invoking else {
            panic!("{:?}", event.invoking);
        };
        assert_eq!(found.location, None);

        let scheduled = json!({"invokingEvent": "{\"awsAccountId\":\"1\",\"messageType\":\"ScheduledNotification\"}",
            "resultToken": "t"});
        let event = RuleEvent::from_value(scheduled).unwrap();
        assert!(event.rule_parameters.is_empty());
        assert!(!event.event_left_scope);

        let error = RuleEvent::from_value(json!({"resultToken": "t"})).unwrap_err();
        assert!(error.to_string().contains("`invokingEvent`"), "{error}");
        let error = RuleEvent::from_value(json!({"invokingEvent": "{\"messageType\":\"ScheduledNotification\",\"awsAccountId\":\"1\"}",
            "resultToken": "t", "ruleParameters": "not json"}))
        .unwrap_err();
        assert!(error.to_string().contains("ruleParameters"), "{error}");
    }
}
