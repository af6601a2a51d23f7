//! Why an alert was not delivered.

/// An alert that could not be built or delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// SNS refused or could not take the message (permissions, wrong ARN, network).
    #[error(
        "publishing to SNS topic `{topic}` failed: {reason}; check the topic ARN and that the caller may `sns:Publish` to it"
    )]
    Sns {
        /// The topic ARN.
        topic: String,
        /// What the SDK said.
        reason: String,
    },
    /// The webhook answered with a status other than 2xx (after retries for
    /// 429 and 5xx).
    #[error(
        "webhook `{endpoint}` answered {status}: `{body}`; check the webhook URL and that it accepts Slack-style JSON"
    )]
    WebhookStatus {
        /// Scheme, host and port of the webhook (its path may hold a secret).
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The webhook could not be reached or did not answer in time.
    #[error(
        "webhook `{endpoint}` could not be reached: {reason}; check the URL, DNS and the network path to it"
    )]
    WebhookTransport {
        /// Scheme, host and port of the webhook.
        endpoint: String,
        /// What failed.
        reason: String,
    },
    /// The webhook URL is not one this sink can post to.
    #[error("webhook URL `{url}` is not usable: {reason}")]
    WebhookUrl {
        /// The URL, cut after its host.
        url: String,
        /// Why, and what to write instead.
        reason: String,
    },
    /// An alert could not be written as JSON.
    #[error("an alert could not be written as JSON: {0}; report this as a bug")]
    Json(#[from] serde_json::Error),
    /// Writing human lines failed.
    #[error("writing alerts failed: {0}; check that the output is writable")]
    Write(#[from] std::io::Error),
    /// One event is too large for the message limit even without its details.
    #[error(
        "the alert for `{event}` takes {size} bytes, more than the limit of {limit}, even without its evidence and changes; shorten the issue's message"
    )]
    TooLarge {
        /// The event's one-line text (cut).
        event: String,
        /// Its size as JSON.
        size: usize,
        /// The limit.
        limit: usize,
    },
}
