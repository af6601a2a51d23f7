//! One configuration item, from any of the shapes AWS writes it in.
//!
//! - The Config API (`BatchGetResourceConfig`, `GetResourceConfigHistory`):
//!   `accountId`, `arn`, `configuration` as a JSON string, supplementary
//!   values as JSON strings, `tags` as a map.
//! - Snapshot and history files and change notifications: `awsAccountId`,
//!   `ARN`, `configuration` as an object, supplementary values as objects.
//! - `SelectResourceConfig` rows: a JSON string holding the selected fields,
//!   `tags` as a list of `{key, value}`.
//!
//! `configuration` and each supplementary value may be a JSON string or
//! JSON itself; both are accepted. Resource types this crate does not audit
//! are kept. IAM types are global: their region is always `global`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SourceError;
use crate::model::{ConfigItem, ItemStatus, ResourceKey};

/// Reads one item from JSON text (e.g. a `SelectResourceConfig` row);
/// `index` is its position, named in errors.
pub fn parse(text: &str, index: usize) -> Result<ConfigItem, SourceError> {
    let raw: RawItem = serde_json::from_str(text).map_err(|e| SourceError::Json {
        what: format!("configuration item {index}"),
        message: e.to_string(),
        fix: "pass one JSON object per item",
    })?;
    raw.into_item(index)
}

/// Reads one item from a JSON value; `index` is its position, named in errors.
pub fn from_value(value: Value, index: usize) -> Result<ConfigItem, SourceError> {
    let raw = RawItem::deserialize(value).map_err(|e| SourceError::Json {
        what: format!("configuration item {index}"),
        message: e.to_string(),
        fix: "pass one JSON object per item",
    })?;
    raw.into_item(index)
}

/// An item as written, every field optional so that the missing one can be
/// named. Both spellings of the account and ARN fields are kept apart so that
/// an item carrying both is not a duplicate-field error.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawItem {
    pub(crate) account_id: Option<String>,
    pub(crate) aws_account_id: Option<String>,
    pub(crate) aws_region: Option<String>,
    pub(crate) resource_type: Option<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) resource_name: Option<String>,
    pub(crate) arn: Option<String>,
    #[serde(rename = "ARN")]
    pub(crate) arn_upper: Option<String>,
    pub(crate) configuration_item_status: Option<String>,
    pub(crate) configuration_item_capture_time: Option<Value>,
    pub(crate) configuration: Option<Value>,
    pub(crate) supplementary_configuration: Option<Map<String, Value>>,
    pub(crate) tags: Option<Value>,
}

impl RawItem {
    /// The record, or an error naming the first bad field.
    pub(crate) fn into_item(self, index: usize) -> Result<ConfigItem, SourceError> {
        let bad = |field: &'static str, problem: String| SourceError::Item {
            index,
            field,
            problem,
        };
        let missing = |field: &'static str| bad(field, "is missing".to_owned());
        let account = self
            .account_id
            .or(self.aws_account_id)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| missing("accountId"))?;
        let resource_type = self
            .resource_type
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing("resourceType"))?;
        let resource_id = self
            .resource_id
            .filter(|i| !i.is_empty())
            .ok_or_else(|| missing("resourceId"))?;
        let region = if resource_type.starts_with("AWS::IAM::") {
            "global".to_owned()
        } else {
            self.aws_region
                .filter(|r| !r.is_empty())
                .ok_or_else(|| missing("awsRegion"))?
        };
        let status = match self.configuration_item_status.as_deref() {
            None => ItemStatus::Ok,
            Some(text) => status(text).ok_or_else(|| {
                bad(
                    "configurationItemStatus",
                    format!("is `{text}`, not one of OK, ResourceDiscovered, ResourceNotRecorded, ResourceDeleted, ResourceDeletedNotRecorded"),
                )
            })?,
        };
        let capture_time = match self.configuration_item_capture_time {
            None | Some(Value::Null) => None,
            Some(value) => Some(capture_time(&value).ok_or_else(|| {
                bad(
                    "configurationItemCaptureTime",
                    format!("is `{value}`, not an RFC 3339 time or epoch seconds"),
                )
            })?),
        };
        let configuration = match self.configuration {
            None => Value::Null,
            Some(Value::String(text)) => embedded_json(&text).map_err(|e| {
                bad(
                    "configuration",
                    format!("holds a string that is not JSON ({e})"),
                )
            })?,
            Some(value) => value,
        };
        let supplementary = self
            .supplementary_configuration
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, supplementary_value(value)))
            .collect();
        let tags = match self.tags {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(value) => tags(value).map_err(|problem| bad("tags", problem))?,
        };
        Ok(ConfigItem {
            key: ResourceKey {
                account,
                region,
                resource_type,
                resource_id,
            },
            arn: self.arn.or(self.arn_upper).filter(|a| !a.is_empty()),
            name: self.resource_name.filter(|n| !n.is_empty()),
            status,
            capture_time,
            configuration,
            supplementary,
            tags,
        })
    }
}

/// The status named by AWS's text.
pub(crate) fn status(text: &str) -> Option<ItemStatus> {
    Some(match text {
        "OK" => ItemStatus::Ok,
        "ResourceDiscovered" => ItemStatus::Discovered,
        "ResourceNotRecorded" => ItemStatus::NotRecorded,
        "ResourceDeleted" => ItemStatus::Deleted,
        "ResourceDeletedNotRecorded" => ItemStatus::DeletedNotRecorded,
        _ => return None,
    })
}

/// An RFC 3339 string (what files and notifications carry) or epoch seconds
/// (what the AWS CLI v1 printed).
fn capture_time(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::String(text) => OffsetDateTime::parse(text, &Rfc3339).ok(),
        Value::Number(number) => {
            let seconds = number.as_f64()?;
            let nanos = (seconds * 1e9).round();
            if !nanos.is_finite() || nanos.abs() > 1e20 {
                return None;
            }
            #[expect(
                clippy::cast_possible_truncation,
                reason = "bounded to 1e20 just above, inside i128"
            )]
            OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).ok()
        }
        _ => None,
    }
}

/// JSON carried in a string; an empty string is no value.
fn embedded_json(text: &str) -> Result<Value, serde_json::Error> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text)
}

/// A supplementary value: JSON in a string is parsed; a string that is not
/// JSON is kept as the string it is.
fn supplementary_value(value: Value) -> Value {
    match value {
        Value::String(text) => embedded_json(&text).unwrap_or(Value::String(text)),
        other => other,
    }
}

/// Tags as a map (Config API, files) or a list of `{key, value}` (Select
/// rows, IAM), either capitalisation.
fn tags(value: Value) -> Result<BTreeMap<String, String>, String> {
    let text = |value: Value| match value {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, text(v))).collect()),
        Value::Array(list) => list
            .into_iter()
            .map(|entry| {
                let Value::Object(mut entry) = entry else {
                    return Err("holds a list entry that is not an object".to_owned());
                };
                let key = entry
                    .remove("key")
                    .or_else(|| entry.remove("Key"))
                    .map(text)
                    .ok_or_else(|| "holds a list entry without `key`".to_owned())?;
                let value = entry
                    .remove("value")
                    .or_else(|| entry.remove("Value"))
                    .map(text)
                    .unwrap_or_default();
                Ok((key, value))
            })
            .collect(),
        other => Err(format!(
            "is `{other}`, not a map or a list of key/value pairs"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_config_api_shape_with_json_strings() {
        let item = json!({
            "version": "1.3",
            "accountId": "111122223333",
            "configurationItemCaptureTime": 1_700_000_000.5,
            "configurationItemStatus": "OK",
            "arn": "arn:aws:s3:::logs",
            "resourceType": "AWS::S3::Bucket",
            "resourceId": "logs",
            "resourceName": "logs",
            "awsRegion": "eu-west-1",
            "configuration": "{\"name\":\"logs\",\"owner\":{\"id\":\"abc\"}}",
            "supplementaryConfiguration": {
                "BucketPolicy": "{\"policyText\":null}",
                "Note": "plain text"
            },
            "tags": {"team": "security"}
        });
        let item = from_value(item, 0).unwrap();
        assert_eq!(
            item.key.to_string(),
            "111122223333/eu-west-1/AWS::S3::Bucket/logs"
        );
        assert_eq!(item.arn.as_deref(), Some("arn:aws:s3:::logs"));
        assert_eq!(item.configuration["owner"]["id"], "abc");
        assert_eq!(
            item.supplementary["BucketPolicy"],
            json!({"policyText": null})
        );
        assert_eq!(item.supplementary["Note"], "plain text");
        assert_eq!(item.tags["team"], "security");
        assert_eq!(
            item.capture_time.unwrap().unix_timestamp_nanos(),
            1_700_000_000_500_000_000
        );
    }

    #[test]
    fn reads_the_snapshot_shape_with_objects() {
        let item = json!({
            "awsAccountId": "111122223333",
            "ARN": "arn:aws:iam::111122223333:role/web",
            "awsRegion": "us-east-1",
            "resourceType": "AWS::IAM::Role",
            "resourceId": "AROAEXAMPLE",
            "resourceName": "web",
            "configurationItemStatus": "ResourceDiscovered",
            "configurationItemCaptureTime": "2024-05-01T10:00:00.123Z",
            "configuration": {"roleName": "web"},
            "supplementaryConfiguration": {"x": {"y": 1}},
            "tags": {},
            "relationships": [{"resourceType": "AWS::IAM::Policy"}]
        });
        let item = from_value(item, 3).unwrap();
        // IAM is global whatever the item says.
        assert_eq!(item.key.region, "global");
        assert_eq!(item.status, ItemStatus::Discovered);
        assert_eq!(
            item.arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/web")
        );
        assert_eq!(item.configuration["roleName"], "web");
        assert_eq!(item.supplementary["x"]["y"], 1);
        assert!(item.tags.is_empty());
    }

    #[test]
    fn reads_a_select_row_with_tag_lists_and_keeps_unknown_types() {
        let row = r#"{"accountId":"111122223333","awsRegion":"us-east-1",
            "resourceType":"AWS::Made::Up","resourceId":"thing-1",
            "configuration":{"a":[1,2]},"tags":[{"key":"env","value":"prod"},{"Key":"Owner","Value":"ops"}]}"#;
        let item = parse(row, 7).unwrap();
        assert_eq!(item.key.resource_type, "AWS::Made::Up");
        assert_eq!(item.status, ItemStatus::Ok);
        assert_eq!(item.capture_time, None);
        assert_eq!(item.tags["env"], "prod");
        assert_eq!(item.tags["Owner"], "ops");
        assert_eq!(item.configuration["a"][1], 2);
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z%{}\"\\ ]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// `configuration` and supplementary values read the same whether
        /// AWS sent them as JSON or as JSON in a string.
        #[test]
        fn json_strings_and_json_read_the_same(inner in json_value(), extra in json_value()) {
            // AWS's configuration is always an object.
            let configuration = json!({"c": inner});
            let supplementary = json!({"extra": {"wrapped": extra}});
            let base = json!({"accountId": "1", "awsRegion": "r", "resourceType": "t", "resourceId": "i"});
            let mut as_json = base.clone();
            as_json["configuration"] = configuration.clone();
            as_json["supplementaryConfiguration"] = supplementary.clone();
            let mut as_text = base;
            as_text["configuration"] = Value::String(configuration.to_string());
            as_text["supplementaryConfiguration"] =
                json!({"extra": supplementary["extra"].to_string()});
            let from_json = from_value(as_json, 0).unwrap();
            let from_text = from_value(as_text, 0).unwrap();
            proptest::prop_assert_eq!(&from_json.configuration, &configuration);
            proptest::prop_assert_eq!(from_json, from_text);
        }
    }

    #[test]
    fn deleted_items_have_no_configuration() {
        let item = json!({"accountId": "1", "awsRegion": "r", "resourceType": "AWS::SQS::Queue",
            "resourceId": "q", "configurationItemStatus": "ResourceDeleted", "configuration": null});
        let item = from_value(item, 0).unwrap();
        assert!(item.status.is_deleted());
        assert_eq!(item.configuration, Value::Null);
    }

    #[test]
    fn errors_name_the_field_and_the_index() {
        let cases = [
            (
                json!({"awsRegion": "r", "resourceType": "t", "resourceId": "i"}),
                "accountId",
            ),
            (
                json!({"accountId": "1", "resourceType": "t", "resourceId": "i"}),
                "awsRegion",
            ),
            (
                json!({"accountId": "1", "awsRegion": "r", "resourceId": "i"}),
                "resourceType",
            ),
            (
                json!({"accountId": "1", "awsRegion": "r", "resourceType": "t"}),
                "resourceId",
            ),
            (
                json!({"accountId": "1", "awsRegion": "r", "resourceType": "t", "resourceId": "i",
                    "configurationItemStatus": "Gone"}),
                "configurationItemStatus",
            ),
            (
                json!({"accountId": "1", "awsRegion": "r", "resourceType": "t", "resourceId": "i",
                    "configuration": "{not json"}),
                "configuration",
            ),
            (
                json!({"accountId": "1", "awsRegion": "r", "resourceType": "t", "resourceId": "i",
                    "configurationItemCaptureTime": "yesterday"}),
                "configurationItemCaptureTime",
            ),
            (
                json!({"accountId": "1", "awsRegion": "r", "resourceType": "t", "resourceId": "i",
                    "tags": [{"value": "no key"}]}),
                "tags",
            ),
        ];
        for (value, field) in cases {
            let error = from_value(value, 42).unwrap_err();
            let SourceError::Item {
                index,
                field: named,
                ..
            } = &error
            else {
                panic!("{error}");
            };
            assert_eq!((*index, *named), (42, field));
            assert!(error.to_string().contains(&format!("`{field}`")), "{error}");
        }
        let error = parse("[1]", 5).unwrap_err();
        assert!(
            error.to_string().contains("configuration item 5"),
            "{error}"
        );
    }
}
