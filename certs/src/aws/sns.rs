//! Notifications to an SNS topic, one JSON message per event.

use aws_sdk_sns::Client;

use super::{AwsError, call_error};

/// Publishes to one topic.
#[derive(Clone, Debug)]
pub struct Notifier {
    client: Client,
    topic_arn: String,
}

impl Notifier {
    /// Wraps a client and a topic ARN.
    pub fn new(client: Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }

    /// Publishes a JSON message with a subject line; returns the message id.
    pub async fn publish(&self, subject: &str, message: &str) -> Result<String, AwsError> {
        // SNS subjects are at most 100 characters.
        let subject: String = subject.chars().take(100).collect();
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(call_error("sns", "Publish"))?;
        Ok(out.message_id.unwrap_or_default())
    }
}
