//! ACM Private CA as an issuer: the request is checked against a profile
//! here, then signed by the private CA.

use std::time::Duration as StdDuration;

use aws_sdk_acmpca::Client;
use aws_sdk_acmpca::primitives::Blob;
use aws_sdk_acmpca::types::{SigningAlgorithm, Validity, ValidityPeriodType};

use super::{AwsError, call_error};

/// A certificate issued by ACM Private CA.
#[derive(Clone, Debug)]
pub struct PcaCertificate {
    /// The certificate's ARN in the private CA.
    pub arn: String,
    /// The certificate, PEM.
    pub pem: String,
    /// Its chain, PEM (empty for a root).
    pub chain_pem: String,
}

/// An ACM Private CA client bound to one certificate authority.
#[derive(Clone, Debug)]
pub struct Pca {
    client: Client,
    ca_arn: String,
}

impl Pca {
    /// Wraps a client and a CA ARN.
    pub fn new(client: Client, ca_arn: String) -> Self {
        Self { client, ca_arn }
    }

    /// Issues a certificate for a PEM CSR, valid for `days`, and waits (a
    /// bounded number of polls) until it can be fetched.
    pub async fn issue(
        &self,
        csr_pem: &str,
        days: i64,
        algorithm: SigningAlgorithm,
    ) -> Result<PcaCertificate, AwsError> {
        let validity = Validity::builder()
            .r#type(ValidityPeriodType::Days)
            .value(days)
            .build()
            .map_err(|e| AwsError::Call {
                service: "acm-pca",
                operation: "IssueCertificate",
                detail: e.to_string(),
            })?;
        let out = self
            .client
            .issue_certificate()
            .certificate_authority_arn(&self.ca_arn)
            .csr(Blob::new(csr_pem.as_bytes()))
            .signing_algorithm(algorithm)
            .validity(validity)
            .send()
            .await
            .map_err(call_error("acm-pca", "IssueCertificate"))?;
        let arn = out.certificate_arn.ok_or(AwsError::Missing {
            service: "acm-pca",
            operation: "IssueCertificate",
            field: "CertificateArn",
        })?;
        for attempt in 0..10u32 {
            match self
                .client
                .get_certificate()
                .certificate_authority_arn(&self.ca_arn)
                .certificate_arn(&arn)
                .send()
                .await
            {
                Ok(got) => {
                    let pem = got.certificate.ok_or(AwsError::Missing {
                        service: "acm-pca",
                        operation: "GetCertificate",
                        field: "Certificate",
                    })?;
                    return Ok(PcaCertificate {
                        arn,
                        pem,
                        chain_pem: got.certificate_chain.unwrap_or_default(),
                    });
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_request_in_progress_exception()) =>
                {
                    tokio::time::sleep(StdDuration::from_millis(200 * u64::from(attempt + 1)))
                        .await;
                }
                Err(e) => return Err(call_error("acm-pca", "GetCertificate")(e)),
            }
        }
        Err(AwsError::PcaPending(arn))
    }
}
