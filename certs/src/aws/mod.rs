//! The only place that calls AWS: ACM, ACM Private CA, KMS and SNS. Each
//! submodule wraps one client and turns SDK types into this crate's records.

pub mod acm;
pub mod acmpca;
pub mod kms;
pub mod sns;

use aws_sdk_acm::error::{DisplayErrorContext, ProvideErrorMetadata};

/// An AWS call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// The service answered with an error, or could not be reached.
    #[error(
        "{service} {operation} failed: {detail}; check the input, credentials, region and permissions (`{service}:{operation}`)"
    )]
    Call {
        /// Service name, as in IAM actions (`acm`).
        service: &'static str,
        /// Operation, as in IAM actions (`ImportCertificate`).
        operation: &'static str,
        /// The SDK's message.
        detail: String,
    },
    /// The service answered without a field it always sends.
    #[error(
        "{service} {operation} answered without `{field}`; retry, and report it if it persists"
    )]
    Missing {
        /// Service.
        service: &'static str,
        /// Operation.
        operation: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// ACM cannot hold certificates with this key type.
    #[error(
        "ACM cannot import a certificate with a `{0}` key (it takes RSA 1024-4096 and EC P-256/P-384/P-521); issue it with --key-type p256 to deploy it to ACM"
    )]
    AcmKeyType(crate::model::KeyType),
    /// ACM Private CA did not finish issuing in time.
    #[error("ACM Private CA has not issued `{0}` yet; run the command again later")]
    PcaPending(String),
}

/// Builds an [`AwsError::Call`] from an SDK error: the service's code and
/// message when it answered, the whole error chain otherwise.
pub(crate) fn call_error<E>(
    service: &'static str,
    operation: &'static str,
) -> impl FnOnce(E) -> AwsError
where
    E: std::error::Error + ProvideErrorMetadata,
{
    move |e| {
        let detail = match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => DisplayErrorContext(&e).to_string(),
        };
        AwsError::Call {
            service,
            operation,
            detail,
        }
    }
}
