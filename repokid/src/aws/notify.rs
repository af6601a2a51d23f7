//! SNS notifications: one JSON message per event, published to a topic.

use serde::Serialize;

use crate::err::AwsError;
use crate::schedule::{Notice, NoticeEvent, Notifier};

/// Publishes `message` (serialized as JSON) to `topic_arn` with `subject`;
/// answers the message ID.
pub async fn publish<M: Serialize>(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    subject: &str,
    message: &M,
) -> Result<String, AwsError> {
    let body = serde_json::to_string(message).map_err(|e| AwsError::Answer {
        operation: "Publish",
        target: topic_arn.to_owned(),
        detail: e.to_string(),
        fix: "report this",
    })?;
    let out = client
        .publish()
        .topic_arn(topic_arn)
        .subject(subject)
        .message(body)
        .send()
        .await
        .map_err(|e| AwsError::call("Publish", topic_arn, &e))?;
    Ok(out.message_id.unwrap_or_default())
}

/// Notices to an SNS topic, one JSON message each (subject
/// `repokid: <event> <role>`).
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    /// The client.
    pub client: aws_sdk_sns::Client,
    /// The topic ARN.
    pub topic_arn: String,
}

impl Notifier for SnsNotifier {
    async fn notify(&self, notice: &Notice) -> Result<(), AwsError> {
        let event = match notice.event {
            NoticeEvent::Scheduled => "scheduled",
            NoticeEvent::Repo => "repo",
        };
        let subject = format!("repokid: {event} {}", notice.role_name);
        // SNS subjects are at most 100 characters.
        let subject: String = subject.chars().take(100).collect();
        publish(&self.client, &self.topic_arn, &subject, notice).await?;
        Ok(())
    }
}
