//! AWS Config's API: what the recorder discovered, advanced queries (one
//! account or an aggregator's many), and a resource's history.
//!
//! Every listing is followed to its last `NextToken`. Results are
//! [`ConfigItem`]s; an item Config returns without a required field is an
//! error naming the field and its position in the results.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_config::Client;
use aws_sdk_config::primitives::DateTimeFormat;
use aws_sdk_config::types::{
    BaseConfigurationItem, ConfigurationItem, ResourceKey as SdkKey, ResourceType,
};
use serde_json::{Map, Value};

use super::SourceError;
use super::item::{self, RawItem};
use super::notification::{FetchItem, Oversized};
use crate::model::{ConfigItem, ResourceKey};

/// `BatchGetResourceConfig` takes at most this many keys per call.
const BATCH: usize = 100;
/// Calls made for keys AWS leaves unprocessed before giving up.
const BATCH_ATTEMPTS: u32 = 5;

/// Reads configuration items from AWS Config in one account and region (or,
/// through an aggregator, many).
#[derive(Debug, Clone)]
pub struct ConfigSource {
    client: Client,
}

/// The `SelectResourceConfig` expression that reads every field a
/// [`ConfigItem`] holds, for the given resource types (all types when empty).
///
/// ```
/// let query = monitor::source::config_api::select_expression(&["AWS::S3::Bucket"]);
/// assert!(query.ends_with("WHERE resourceType IN ('AWS::S3::Bucket')"));
/// ```
pub fn select_expression(types: &[&str]) -> String {
    let fields = "SELECT accountId, awsRegion, resourceType, resourceId, resourceName, arn, \
        configurationItemStatus, configurationItemCaptureTime, configuration, \
        supplementaryConfiguration, tags";
    if types.is_empty() {
        return fields.to_owned();
    }
    let quoted: Vec<String> = types
        .iter()
        .map(|t| format!("'{}'", t.replace('\'', "")))
        .collect();
    format!("{fields} WHERE resourceType IN ({})", quoted.join(", "))
}

impl ConfigSource {
    /// A source using the credentials, region and endpoint of `config`.
    pub fn new(config: &SdkConfig) -> ConfigSource {
        ConfigSource::from_client(Client::new(config))
    }

    /// A source over an existing client.
    pub fn from_client(client: Client) -> ConfigSource {
        ConfigSource { client }
    }

    /// Every resource of the given types the recorder knows
    /// (`ListDiscoveredResources`, fully paginated, per type), with its
    /// current configuration (`BatchGetResourceConfig`, 100 keys a call,
    /// unprocessed keys retried with backoff). Tags are not part of what
    /// `BatchGetResourceConfig` returns; use [`ConfigSource::select`] when
    /// they matter.
    pub async fn discovered(&self, types: &[&str]) -> Result<Vec<ConfigItem>, SourceError> {
        let mut keys = Vec::new();
        for resource_type in types {
            self.list_keys(resource_type, &mut keys).await?;
        }
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            self.batch_get(chunk.to_vec(), &mut items).await?;
        }
        Ok(items)
    }

    async fn list_keys(
        &self,
        resource_type: &str,
        keys: &mut Vec<SdkKey>,
    ) -> Result<(), SourceError> {
        let operation = "config:ListDiscoveredResources";
        let mut token = None;
        loop {
            let page = self
                .client
                .list_discovered_resources()
                .resource_type(ResourceType::from(resource_type))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| SourceError::aws(operation, e))?;
            for found in page.resource_identifiers() {
                let (Some(found_type), Some(id)) = (found.resource_type(), found.resource_id())
                else {
                    continue;
                };
                let key = SdkKey::builder()
                    .resource_type(found_type.clone())
                    .resource_id(id)
                    .build()
                    .map_err(|e| SourceError::aws(operation, e))?;
                keys.push(key);
            }
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(());
            }
        }
    }

    async fn batch_get(
        &self,
        mut pending: Vec<SdkKey>,
        items: &mut Vec<ConfigItem>,
    ) -> Result<(), SourceError> {
        let operation = "config:BatchGetResourceConfig";
        for attempt in 0..BATCH_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let answer = self
                .client
                .batch_get_resource_config()
                .set_resource_keys(Some(pending))
                .send()
                .await
                .map_err(|e| SourceError::aws(operation, e))?;
            for base in answer.base_configuration_items() {
                let index = items.len();
                items.push(base_item(base).into_item(index)?);
            }
            pending = answer.unprocessed_resource_keys.unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
        }
        Err(SourceError::Unprocessed {
            count: pending.len(),
            attempts: BATCH_ATTEMPTS,
            example: pending
                .first()
                .map(|k| format!("{}/{}", k.resource_type().as_str(), k.resource_id()))
                .unwrap_or_default(),
        })
    }

    /// The rows of an advanced query (`SelectResourceConfig`, fully
    /// paginated) as items. The query must select at least `accountId`,
    /// `awsRegion`, `resourceType` and `resourceId`; [`select_expression`]
    /// selects everything.
    pub async fn select(&self, expression: &str) -> Result<Vec<ConfigItem>, SourceError> {
        let mut items = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .select_resource_config()
                .expression(expression)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| SourceError::aws("config:SelectResourceConfig", e))?;
            rows(page.results(), &mut items)?;
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    /// The rows of an advanced query over a configuration aggregator
    /// (`SelectAggregateResourceConfig`, fully paginated): many accounts and
    /// regions in one listing.
    pub async fn select_aggregate(
        &self,
        aggregator: &str,
        expression: &str,
    ) -> Result<Vec<ConfigItem>, SourceError> {
        let mut items = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .select_aggregate_resource_config()
                .configuration_aggregator_name(aggregator)
                .expression(expression)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| SourceError::aws("config:SelectAggregateResourceConfig", e))?;
            rows(page.results(), &mut items)?;
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    /// Every recorded state of one resource, newest first
    /// (`GetResourceConfigHistory`, fully paginated).
    pub async fn history(&self, key: &ResourceKey) -> Result<Vec<ConfigItem>, SourceError> {
        let mut items = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .history_call(key)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| SourceError::aws("config:GetResourceConfigHistory", e))?;
            for found in page.configuration_items() {
                let index = items.len();
                items.push(full_item(found).into_item(index)?);
            }
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    /// The newest recorded state of one resource, if Config has one.
    pub async fn latest(&self, key: &ResourceKey) -> Result<Option<ConfigItem>, SourceError> {
        let page = self
            .history_call(key)
            .limit(1)
            .send()
            .await
            .map_err(|e| SourceError::aws("config:GetResourceConfigHistory", e))?;
        page.configuration_items()
            .first()
            .map(|found| full_item(found).into_item(0))
            .transpose()
    }

    fn history_call(
        &self,
        key: &ResourceKey,
    ) -> aws_sdk_config::operation::get_resource_config_history::builders::GetResourceConfigHistoryFluentBuilder
    {
        self.client
            .get_resource_config_history()
            .resource_type(ResourceType::from(key.resource_type.as_str()))
            .resource_id(&key.resource_id)
    }
}

/// A Config rule's oversized item, read from Config's history.
#[async_trait]
impl FetchItem for ConfigSource {
    async fn fetch(&self, oversized: &Oversized) -> Result<ConfigItem, SourceError> {
        self.latest(&oversized.summary.key).await?.ok_or_else(|| {
            SourceError::Notification(format!(
                "Config has no history for `{}`",
                oversized.summary.key
            ))
        })
    }
}

fn rows(results: &[String], items: &mut Vec<ConfigItem>) -> Result<(), SourceError> {
    for row in results {
        let index = items.len();
        items.push(item::parse(row, index)?);
    }
    Ok(())
}

/// The fields both SDK item types share, as the raw item the parser checks.
macro_rules! raw_item {
    ($item:expr, $tags:expr) => {
        RawItem {
            account_id: $item.account_id().map(str::to_owned),
            aws_region: $item.aws_region().map(str::to_owned),
            resource_type: $item.resource_type().map(|t| t.as_str().to_owned()),
            resource_id: $item.resource_id().map(str::to_owned),
            resource_name: $item.resource_name().map(str::to_owned),
            arn: $item.arn().map(str::to_owned),
            configuration_item_status: $item
                .configuration_item_status()
                .map(|s| s.as_str().to_owned()),
            configuration_item_capture_time: $item
                .configuration_item_capture_time()
                .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                .map(Value::String),
            configuration: $item.configuration().map(|c| Value::String(c.to_owned())),
            supplementary_configuration: $item.supplementary_configuration().map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<Map<String, Value>>()
            }),
            tags: $tags,
            ..RawItem::default()
        }
    };
}

fn base_item(found: &BaseConfigurationItem) -> RawItem {
    raw_item!(found, None)
}

fn full_item(found: &ConfigurationItem) -> RawItem {
    let tags = found.tags().map(|tags| {
        Value::Object(
            tags.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    });
    raw_item!(found, tags)
}
