//! AWS Certificate Manager: import (and reimport into the same ARN), and a
//! full listing of every key type for `certs acm sync`.

use aws_sdk_acm::Client;
use aws_sdk_acm::primitives::Blob;
use aws_sdk_acm::types::{Filters, KeyAlgorithm};

use super::{AwsError, call_error};
use crate::model::KeyType;

/// A certificate found in ACM.
#[derive(Clone, Debug)]
pub struct AcmCertificate {
    /// Its ARN.
    pub arn: String,
    /// The certificate, PEM (`None` while ACM has no certificate body, e.g. pending validation).
    pub pem: Option<String>,
    /// ACM's type: `IMPORTED`, `AMAZON_ISSUED` or `PRIVATE`.
    pub kind: Option<String>,
}

/// An ACM client.
#[derive(Clone, Debug)]
pub struct Acm {
    client: Client,
}

impl Acm {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Imports a certificate with its key and chain; with `arn`, reimports into
    /// that certificate (same ARN, so load balancers pick up the new one).
    /// Refuses key types ACM cannot hold before calling it.
    pub async fn import(
        &self,
        key_type: KeyType,
        cert_pem: &str,
        key_pem: &str,
        chain_pem: &str,
        arn: Option<&str>,
    ) -> Result<String, AwsError> {
        if key_type.acm_name().is_none() {
            return Err(AwsError::AcmKeyType(key_type));
        }
        let out = self
            .client
            .import_certificate()
            .set_certificate_arn(arn.map(str::to_owned))
            .certificate(Blob::new(cert_pem.as_bytes()))
            .private_key(Blob::new(key_pem.as_bytes()))
            .certificate_chain(Blob::new(chain_pem.as_bytes()))
            .send()
            .await
            .map_err(call_error("acm", "ImportCertificate"))?;
        out.certificate_arn.ok_or(AwsError::Missing {
            service: "acm",
            operation: "ImportCertificate",
            field: "CertificateArn",
        })
    }

    /// Every certificate ARN in the region, of every key type (ACM's default
    /// listing shows only RSA 2048), following every page.
    pub async fn list_arns(&self) -> Result<Vec<String>, AwsError> {
        let all_keys = Filters::builder()
            .set_key_types(Some(vec![
                KeyAlgorithm::Rsa1024,
                KeyAlgorithm::Rsa2048,
                KeyAlgorithm::Rsa3072,
                KeyAlgorithm::Rsa4096,
                KeyAlgorithm::EcPrime256v1,
                KeyAlgorithm::EcSecp384r1,
                KeyAlgorithm::EcSecp521r1,
            ]))
            .build();
        let mut pages = self
            .client
            .list_certificates()
            .includes(all_keys)
            .into_paginator()
            .send();
        let mut arns = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call_error("acm", "ListCertificates"))?;
            for summary in page.certificate_summary_list.unwrap_or_default() {
                arns.extend(summary.certificate_arn);
            }
        }
        Ok(arns)
    }

    /// One certificate: its type (DescribeCertificate) and body (GetCertificate).
    pub async fn fetch(&self, arn: &str) -> Result<AcmCertificate, AwsError> {
        let described = self
            .client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(call_error("acm", "DescribeCertificate"))?;
        let detail = described.certificate;
        let kind = detail
            .as_ref()
            .and_then(|d| d.r#type.as_ref())
            .map(|t| t.as_str().to_owned());
        let issued = detail
            .as_ref()
            .and_then(|d| d.status.as_ref())
            .is_some_and(|s| s.as_str() == "ISSUED");
        let pem = if issued {
            let got = self
                .client
                .get_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .map_err(call_error("acm", "GetCertificate"))?;
            got.certificate
        } else {
            None
        };
        Ok(AcmCertificate {
            arn: arn.to_owned(),
            pem,
            kind,
        })
    }
}
