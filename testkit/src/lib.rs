//! Support for the workspace's integration tests.
//!
//! The test command in README.md (`scripts/test`) starts real components before
//! the tests run: moto as a local AWS endpoint (exported as `AWS_ENDPOINT_URL`
//! with a region and dummy credentials), and Debian's OpenSSH and OpenSSL.
//! Tests ask this crate for them:
//!
//! - [`aws_config`] gives an `SdkConfig` aimed at moto with one attempt per
//!   call, so an operation moto does not implement fails at once instead of
//!   being retried.
//! - [`require`] decides what a test does when a component is missing: under
//!   CI (`CI=true`) the test fails loudly; on a developer machine it is skipped
//!   with the printed reason.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig};

/// Whether this run is under CI, where a missing component is a failure.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Reports a missing test component: fails the test under CI, otherwise prints
/// why the test is skipped. Returns `false` so callers can write
/// `if !require(found, ..) { return; }`.
#[expect(
    clippy::panic,
    reason = "a missing component under CI must fail the test"
)]
pub fn require(found: bool, what: &str) -> bool {
    if found {
        return true;
    }
    let message = format!("{what} is not available; run the tests through `scripts/test`");
    if under_ci() {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    false
}

/// The local AWS endpoint the test command started, if any.
pub fn endpoint() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"))
}

/// An `SdkConfig` for moto, or `None` (after [`require`]) when no local endpoint
/// is configured. The endpoint must be on the loopback address so that no test
/// can reach real AWS.
pub async fn aws_config() -> Option<SdkConfig> {
    let endpoint = endpoint();
    if !require(
        endpoint.is_some(),
        "a local AWS endpoint (moto) in AWS_ENDPOINT_URL on 127.0.0.1",
    ) {
        return None;
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    Some(config)
}

/// A name unique within this test process and across runs against the same
/// moto server, for resources a test creates.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos:x}-{n}", std::process::id())
}
