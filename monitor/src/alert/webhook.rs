//! Alerts posted to a Slack-compatible incoming webhook.
//!
//! The payload is `{"text": ..., "blocks": [...]}`: `text` is the fallback
//! (and what plain webhooks show), `blocks` a header, the digest's counts and
//! one section per event. HTTPS goes through rustls with the aws-lc-rs
//! provider and the system's root certificates (or a given CA); plain HTTP
//! is only accepted to a loopback address (tests, local relays), since a
//! webhook URL is a secret.

use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::{Alert, AlertError, Kind, Sink};

/// Slack shows at most 50 blocks per message.
const MAX_BLOCKS: usize = 50;
/// Slack cuts section texts at 3000 characters.
const SECTION_LIMIT: usize = 3000;
/// Slack header texts hold at most 150 characters.
const HEADER_LIMIT: usize = 150;
/// How much of an error response is read and how much is quoted.
const BODY_READ_LIMIT: usize = 64 * 1024;
const BODY_QUOTE_LIMIT: usize = 200;

/// How the webhook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Attempts in all, for answers 429 and 5xx and for transport errors.
    pub attempts: u32,
    /// The wait before the second attempt, doubled for each later one,
    /// unless the answer's `Retry-After` (in seconds) says otherwise.
    pub base_delay: Duration,
    /// No wait is longer than this, whatever `Retry-After` asks.
    pub max_delay: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for WebhookOptions {
    /// Four attempts, 1 s then 2 s then 4 s apart, waits capped at 30 s,
    /// 10 s per attempt.
    fn default() -> Self {
        WebhookOptions {
            attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Posts alerts to a Slack-compatible webhook.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    uri: Uri,
    endpoint: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    options: WebhookOptions,
}

impl WebhookSink {
    /// A sink posting to `url`, trusting the system's root certificates.
    ///
    /// # Errors
    ///
    /// [`AlertError::WebhookUrl`] when the URL does not parse, is neither
    /// `https` nor `http` to a loopback address, or when no root certificate
    /// could be loaded for HTTPS.
    pub fn new(url: &str, options: WebhookOptions) -> Result<WebhookSink, AlertError> {
        WebhookSink::build(url, options, None)
    }

    /// A sink posting to `url`, trusting only the certificates in `ca_pem`
    /// (PEM), e.g. the private CA of an internal relay or a TLS-inspecting
    /// proxy.
    ///
    /// # Errors
    ///
    /// As [`WebhookSink::new`], and when `ca_pem` holds no certificate.
    pub fn with_ca(
        url: &str,
        options: WebhookOptions,
        ca_pem: &[u8],
    ) -> Result<WebhookSink, AlertError> {
        WebhookSink::build(url, options, Some(ca_pem))
    }

    fn build(
        url: &str,
        options: WebhookOptions,
        ca_pem: Option<&[u8]>,
    ) -> Result<WebhookSink, AlertError> {
        let uri: Uri = url.parse().map_err(|_| AlertError::WebhookUrl {
            url: redact(url),
            reason: "it is not a URL; write https://host/path".into(),
        })?;
        let host = uri.host().unwrap_or_default();
        let endpoint = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or_default(),
            host,
            uri.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let bad = |reason: String| AlertError::WebhookUrl {
            url: endpoint.clone(),
            reason,
        };
        if host.is_empty() {
            return Err(bad("it has no host; write https://host/path".into()));
        }
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if is_loopback(host) => false,
            Some("http") => {
                return Err(bad(
                    "plain http is only allowed to 127.0.0.1, ::1 or localhost; use https".into(),
                ));
            }
            _ => return Err(bad("its scheme must be https".into())),
        };
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = if https && ca_pem.is_none() {
            builder
                .with_provider_and_native_roots(provider)
                .map_err(|error| {
                    bad(format!(
                        "no root certificates could be loaded ({error}); install the system's CA certificates"
                    ))
                })?
        } else {
            // Plain HTTP to loopback configures TLS that is never used.
            let mut roots = rustls::RootCertStore::empty();
            if let Some(pem) = ca_pem {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|error| {
                        bad(format!(
                            "its CA file is not PEM ({error}); give PEM certificates"
                        ))
                    })?;
                    roots.add(cert).map_err(|error| {
                        bad(format!("a certificate of its CA file is refused: {error}"))
                    })?;
                }
                if roots.is_empty() {
                    return Err(bad(
                        "its CA file holds no certificate; give PEM `CERTIFICATE` blocks".into(),
                    ));
                }
            }
            let tls = rustls::ClientConfig::builder_with_provider(provider.into())
                .with_safe_default_protocol_versions()
                .map_err(|error| bad(format!("TLS could not be set up: {error}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            builder.with_tls_config(tls)
        };
        let builder = if https {
            builder.https_only()
        } else {
            builder.https_or_http()
        };
        Ok(WebhookSink {
            uri,
            endpoint,
            client: Client::builder(TokioExecutor::new()).build(builder.enable_http1().build()),
            options,
        })
    }

    /// Posts `body` as JSON, retrying 429, 5xx and transport errors.
    async fn post(&self, body: Bytes) -> Result<(), AlertError> {
        let mut attempt: u32 = 1;
        loop {
            let (error, retry_after) = match self.attempt(body.clone()).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            let retryable = match &error {
                AlertError::WebhookStatus { status, .. } => {
                    *status == StatusCode::TOO_MANY_REQUESTS.as_u16() || *status >= 500
                }
                _ => true,
            };
            if !retryable || attempt >= self.options.attempts {
                return Err(error);
            }
            let backoff = self
                .options
                .base_delay
                .saturating_mul(2u32.saturating_pow(attempt - 1));
            let wait = retry_after.unwrap_or(backoff).min(self.options.max_delay);
            tracing::debug!(endpoint = %self.endpoint, attempt, wait_ms = wait.as_millis(), error = %error, "webhook retry");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One POST; on failure the error and the answer's `Retry-After`.
    async fn attempt(&self, body: Bytes) -> Result<(), (AlertError, Option<Duration>)> {
        let transport = |reason: String| {
            (
                AlertError::WebhookTransport {
                    endpoint: self.endpoint.clone(),
                    reason,
                },
                None,
            )
        };
        let request = Request::post(self.uri.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(body))
            .map_err(|error| transport(error.to_string()))?;
        let response = tokio::time::timeout(self.options.timeout, self.client.request(request))
            .await
            .map_err(|_| {
                transport(format!(
                    "no answer within {} ms",
                    self.options.timeout.as_millis()
                ))
            })?
            .map_err(|error| transport(error_chain(&error)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read (a bounded amount of) the body either way, so the connection
        // can be reused.
        let answer = tokio::time::timeout(
            self.options.timeout,
            Limited::new(response.into_body(), BODY_READ_LIMIT).collect(),
        )
        .await;
        if status.is_success() {
            return Ok(());
        }
        let text = match answer {
            Ok(Ok(collected)) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            _ => String::new(),
        };
        Err((
            AlertError::WebhookStatus {
                endpoint: self.endpoint.clone(),
                status: status.as_u16(),
                body: text.chars().take(BODY_QUOTE_LIMIT).collect(),
            },
            retry_after,
        ))
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> String {
        format!("webhook {}", self.endpoint)
    }

    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let body = serde_json::to_vec(&payload(alert))?;
        self.post(Bytes::from(body)).await
    }
}

/// The Slack payload of an alert.
pub fn payload(alert: &Alert) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": cut(&alert.subject, HEADER_LIMIT) },
    })];
    if alert.kind == Kind::Digest {
        let mut counts: Vec<String> = alert
            .summary
            .by_event
            .iter()
            .map(|(kind, count)| format!("{kind}: *{count}*"))
            .collect();
        counts.extend(
            alert
                .summary
                .by_severity
                .iter()
                .rev()
                .map(|(severity, count)| format!("{}: *{count}*", super::text::name(*severity))),
        );
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": cut(&counts.join("  "), SECTION_LIMIT) },
        }));
    }
    // Room for the header, the counts and a closing note.
    let room = MAX_BLOCKS - blocks.len() - 1;
    for event in alert.events.iter().take(room) {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": cut(&escape(&event.text), SECTION_LIMIT) },
        }));
    }
    let left = alert.events.len().saturating_sub(room);
    if left > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": format!("and {left} more events (see the JSON alert or `monitor audit`)") }],
        }));
    }
    json!({ "text": alert.subject, "blocks": blocks })
}

/// Slack's three control characters in message text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The URL up to its host, for messages: a webhook's path is its secret.
fn redact(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(url.len(), |i| after_scheme + i);
    url.get(..end).unwrap_or_default().to_owned()
}

/// An error and its sources, joined with `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::alert::{Options, alerts, tests::events};
    use crate::model::{Event, Severity};

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        let options = WebhookOptions::default();
        assert!(WebhookSink::new("http://127.0.0.1:9/hook", options).is_ok());
        assert!(WebhookSink::new("http://localhost:9/hook", options).is_ok());
        assert!(WebhookSink::new("http://[::1]:9/hook", options).is_ok());
        let error = WebhookSink::new("http://hooks.example.com/services/SECRET", options)
            .unwrap_err()
            .to_string();
        assert!(error.contains("use https"), "{error}");
        assert!(!error.contains("SECRET"), "{error}");
        assert!(WebhookSink::new("ftp://example.com/x", options).is_err());
        assert!(WebhookSink::new("https://hooks.example.com/x", options).is_ok());
        let no_pem = WebhookSink::with_ca("https://hooks.example.com/x", options, b"nothing");
        assert!(
            no_pem
                .unwrap_err()
                .to_string()
                .contains("holds no certificate")
        );
        assert!(WebhookSink::new("not a url", options).is_err());
        assert_eq!(
            redact("https://hooks.example.com/services/T/B/X"),
            "https://hooks.example.com"
        );
    }

    #[test]
    fn payload_has_text_and_blocks() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let options = Options {
            digest: true,
            ..Options::default()
        };
        let alert = alerts(&events(), &options, "r", now).remove(0);
        let payload = payload(&alert);
        assert_eq!(payload["text"], alert.subject.as_str());
        let blocks = payload["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert!(
            blocks[1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("critical: *1*")
        );
        assert_eq!(blocks.len(), 2 + alert.events.len());
        assert!(
            blocks[2]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("new critical issue")
        );
    }

    #[test]
    fn a_large_digest_keeps_within_fifty_blocks() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let many: Vec<Event> = (0..120)
            .map(|i| Event::NewIssue {
                issue: crate::alert::tests::issue(9, &format!("p{i}")),
            })
            .collect();
        let options = Options {
            digest: true,
            min_severity: Severity::Info,
            ..Options::default()
        };
        let payload = payload(&alerts(&many, &options, "r", now)[0]);
        let blocks = payload["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(
            blocks[49]["elements"][0]["text"],
            "and 73 more events (see the JSON alert or `monitor audit`)"
        );
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
    }
}
