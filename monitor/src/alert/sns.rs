//! Alerts published to an SNS topic as JSON.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use sha2::{Digest, Sha256};

use super::{Alert, AlertError, SUBJECT_LIMIT, Sink, text};

/// SNS takes messages of at most 256 KB; the attributes count too, so the
/// JSON body keeps 1 KB free for them.
pub const MESSAGE_LIMIT: usize = 256 * 1024 - 1024;

/// Publishes each alert to one topic: the message is the alert's JSON
/// (split into parts below [`MESSAGE_LIMIT`]), the subject its subject (with
/// `(part i/n)` when split), and the attributes `kind` and `severity` (the
/// worst) let subscriptions filter. On a FIFO topic (`.fifo`) messages go in
/// the group `monitor`, deduplicated by a hash of their content.
#[derive(Debug, Clone)]
pub struct SnsSink {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsSink {
    /// A sink publishing to `topic_arn` with the SDK configuration `config`.
    pub fn new(config: &SdkConfig, topic_arn: &str) -> SnsSink {
        SnsSink::from_client(aws_sdk_sns::Client::new(config), topic_arn)
    }

    /// A sink publishing to `topic_arn` through `client`.
    pub fn from_client(client: aws_sdk_sns::Client, topic_arn: &str) -> SnsSink {
        SnsSink {
            client,
            topic_arn: topic_arn.to_owned(),
        }
    }
}

impl SnsSink {
    fn attribute(&self, value: &str) -> Result<MessageAttributeValue, AlertError> {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|error| AlertError::Sns {
                topic: self.topic_arn.clone(),
                reason: error.to_string(),
            })
    }
}

#[async_trait]
impl Sink for SnsSink {
    fn name(&self) -> String {
        format!("sns {}", self.topic_arn)
    }

    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let parts = alert.to_json_parts(MESSAGE_LIMIT)?;
        let count = parts.len();
        let kind = match alert.kind {
            super::Kind::Event => "event",
            super::Kind::Digest => "digest",
        };
        let severity = alert.summary.worst.map_or("none", text::name);
        for (index, message) in parts.into_iter().enumerate() {
            let subject = if count == 1 {
                alert.subject.clone()
            } else {
                let suffix = format!(" (part {}/{count})", index + 1);
                let head =
                    text::clean_subject(&alert.subject, SUBJECT_LIMIT.saturating_sub(suffix.len()));
                head + &suffix
            };
            let mut publish = self.client.publish().topic_arn(&self.topic_arn);
            if self.topic_arn.ends_with(".fifo") {
                // FIFO topics need a group; the same part of the same alert
                // is a duplicate whether or not content deduplication is on.
                let dedup = hex::encode(Sha256::digest(message.as_bytes()));
                publish = publish
                    .message_group_id("monitor")
                    .message_deduplication_id(dedup);
            }
            publish
                .subject(subject)
                .message(message)
                .message_attributes("kind", self.attribute(kind)?)
                .message_attributes("severity", self.attribute(severity)?)
                .send()
                .await
                .map_err(|error| AlertError::Sns {
                    topic: self.topic_arn.clone(),
                    reason: DisplayErrorContext(&error).to_string(),
                })?;
        }
        Ok(())
    }
}
