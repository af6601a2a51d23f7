//! The calls to AWS: KMS (decrypt, encrypt, public key, sign), IAM (group
//! membership) and Lambda (the engineer's client invoking the signer). The
//! only SDK caller besides the DynamoDB store; SDK types end here.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use p256::pkcs8::DecodePublicKey;
use sha2::Digest;
use ssh_key::public::{EcdsaPublicKey, KeyData};
use ssh_key::{EcdsaCurve, Signature};
use zeroize::Zeroizing;

use crate::err::AwsError;

fn call_error(
    service: &'static str,
    operation: &'static str,
    e: impl std::error::Error,
) -> AwsError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    AwsError::Call {
        service,
        operation,
        message,
    }
}

fn answer_error(service: &'static str, operation: &'static str, reason: &str) -> AwsError {
    AwsError::Answer {
        service,
        operation,
        reason: reason.to_owned(),
    }
}

/// KMS, for CA passphrases, CA keys held in KMS and kmsauth tokens.
#[derive(Debug, Clone)]
pub struct Kms {
    client: aws_sdk_kms::Client,
}

/// What a KMS Decrypt gave back.
#[derive(Debug)]
pub enum Decrypted {
    /// The plaintext, and the ARN of the key that decrypted it.
    Plaintext {
        /// The plaintext, wiped on drop.
        plaintext: Zeroizing<Vec<u8>>,
        /// The key's ARN, when KMS reports it.
        key_arn: Option<String>,
    },
    /// KMS refused the ciphertext: wrong key, wrong context, or tampered.
    Refused,
}

impl Kms {
    /// A client from a loaded SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_kms::Client::new(config),
        }
    }

    /// The ARN of a key given by id, ARN or alias.
    pub async fn key_arn(&self, key_id: &str) -> Result<String, AwsError> {
        let out = self
            .client
            .describe_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| call_error("KMS", "DescribeKey", e))?;
        out.key_metadata
            .and_then(|m| m.arn)
            .ok_or_else(|| answer_error("KMS", "DescribeKey", "no key ARN"))
    }

    /// Decrypts `ciphertext` under `context`.
    pub async fn decrypt(
        &self,
        ciphertext: &[u8],
        context: &HashMap<String, String>,
    ) -> Result<Decrypted, AwsError> {
        let result = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context((!context.is_empty()).then(|| context.clone()))
            .send()
            .await;
        match result {
            Ok(out) => {
                let plaintext = out
                    .plaintext
                    .ok_or_else(|| answer_error("KMS", "Decrypt", "no plaintext"))?;
                Ok(Decrypted::Plaintext {
                    plaintext: Zeroizing::new(plaintext.into_inner()),
                    key_arn: out.key_id,
                })
            }
            Err(e) => {
                let refused = e.as_service_error().is_some_and(|s| {
                    s.is_invalid_ciphertext_exception() || s.is_incorrect_key_exception()
                });
                if refused {
                    Ok(Decrypted::Refused)
                } else {
                    Err(call_error("KMS", "Decrypt", e))
                }
            }
        }
    }

    /// Encrypts `plaintext` with `key_id` under `context`.
    pub async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &HashMap<String, String>,
    ) -> Result<Vec<u8>, AwsError> {
        let out = self
            .client
            .encrypt()
            .key_id(key_id)
            .plaintext(Blob::new(plaintext))
            .set_encryption_context((!context.is_empty()).then(|| context.clone()))
            .send()
            .await
            .map_err(|e| call_error("KMS", "Encrypt", e))?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| answer_error("KMS", "Encrypt", "no ciphertext"))
    }

    /// The SSH public key of an asymmetric KMS key (ECC_NIST_P256 or P384).
    pub async fn public_key(&self, key_id: &str) -> Result<KeyData, AwsError> {
        let out = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| call_error("KMS", "GetPublicKey", e))?;
        // moto leaves out KeySpec, so the curve is read from the key itself.
        let spec = out
            .key_spec
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "(not reported)".to_owned());
        let der = out
            .public_key
            .ok_or_else(|| answer_error("KMS", "GetPublicKey", "no public key"))?;
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(der.as_ref())
            .map(EcdsaPublicKey::from)
            .or_else(|_| {
                p384::ecdsa::VerifyingKey::from_public_key_der(der.as_ref())
                    .map(EcdsaPublicKey::from)
            })
            .map_err(|_| {
                answer_error(
                    "KMS",
                    "GetPublicKey",
                    &format!(
                        "key `{key_id}` has spec `{spec}`; a CA key must be ECC_NIST_P256 or ECC_NIST_P384 with usage SIGN_VERIFY"
                    ),
                )
            })?;
        Ok(KeyData::Ecdsa(key))
    }

    /// Signs `message` with the ECDSA key `key_id` on `curve`, turning KMS's
    /// DER signature into the SSH encoding.
    pub async fn sign_ecdsa(
        &self,
        key_id: &str,
        curve: EcdsaCurve,
        message: &[u8],
    ) -> Result<Signature, AwsError> {
        let algorithm = match curve {
            EcdsaCurve::NistP256 => SigningAlgorithmSpec::EcdsaSha256,
            EcdsaCurve::NistP384 => SigningAlgorithmSpec::EcdsaSha384,
            EcdsaCurve::NistP521 => {
                return Err(answer_error(
                    "KMS",
                    "Sign",
                    "KMS has no P-521 signing; use an ECC_NIST_P256 or P384 key",
                ));
            }
        };
        // KMS signs at most 4096 bytes raw; longer messages go as a digest.
        let (message_type, input) = if message.len() <= 4096 {
            (MessageType::Raw, message.to_vec())
        } else if curve == EcdsaCurve::NistP256 {
            (MessageType::Digest, sha2::Sha256::digest(message).to_vec())
        } else {
            (MessageType::Digest, sha2::Sha384::digest(message).to_vec())
        };
        let out = self
            .client
            .sign()
            .key_id(key_id)
            .message(Blob::new(input))
            .message_type(message_type)
            .signing_algorithm(algorithm)
            .send()
            .await
            .map_err(|e| call_error("KMS", "Sign", e))?;
        let der = out
            .signature
            .ok_or_else(|| answer_error("KMS", "Sign", "no signature"))?;
        der_to_ssh(curve, der.as_ref()).map_err(|reason| answer_error("KMS", "Sign", &reason))
    }
}

/// Converts an ECDSA signature in DER (`SEQUENCE { r INTEGER, s INTEGER }`)
/// to the SSH form (`mpint r, mpint s`).
pub fn der_to_ssh(curve: EcdsaCurve, der: &[u8]) -> Result<Signature, String> {
    match curve {
        EcdsaCurve::NistP256 => p256::ecdsa::Signature::from_der(der)
            .map_err(|e| format!("not a DER P-256 signature ({e})"))
            .and_then(|s| Signature::try_from(s).map_err(|e| e.to_string())),
        EcdsaCurve::NistP384 => p384::ecdsa::Signature::from_der(der)
            .map_err(|e| format!("not a DER P-384 signature ({e})"))
            .and_then(|s| Signature::try_from(s).map_err(|e| e.to_string())),
        EcdsaCurve::NistP521 => Err("P-521 is not supported".to_owned()),
    }
}

/// IAM, for the group-membership principal rule.
#[derive(Debug, Clone)]
pub struct Iam {
    client: aws_sdk_iam::Client,
}

impl Iam {
    /// A client from a loaded SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_iam::Client::new(config),
        }
    }

    /// The names of the groups IAM user `user` belongs to (all pages).
    pub async fn groups_for_user(&self, user: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("IAM", "ListGroupsForUser", e))?;
            names.extend(page.groups.into_iter().map(|g| g.group_name));
        }
        Ok(names)
    }
}

/// Lambda, for the engineer's client.
#[derive(Debug, Clone)]
pub struct Lambda {
    client: aws_sdk_lambda::Client,
}

impl Lambda {
    /// A client from a loaded SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_lambda::Client::new(config),
        }
    }

    /// Invokes `function` synchronously with `payload` and returns its answer.
    pub async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, AwsError> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .map_err(|e| call_error("Lambda", "Invoke", e))?;
        if let Some(error) = out.function_error {
            return Err(answer_error(
                "Lambda",
                "Invoke",
                &format!("the function failed ({error}); see its logs"),
            ));
        }
        out.payload
            .map(aws_sdk_lambda::primitives::Blob::into_inner)
            .ok_or_else(|| answer_error("Lambda", "Invoke", "no payload"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_signatures_become_ssh_signatures() {
        use p256::ecdsa::signature::Signer;
        let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let sig: p256::ecdsa::Signature = key.sign(b"message");
        let ssh = der_to_ssh(EcdsaCurve::NistP256, sig.to_der().as_bytes()).unwrap();
        let public = EcdsaPublicKey::from(p256::ecdsa::VerifyingKey::from(&key));
        signature::Verifier::verify(&public, b"message", &ssh).unwrap();
        assert!(der_to_ssh(EcdsaCurve::NistP256, b"\x30\x02\x02\x00").is_err());
        assert!(der_to_ssh(EcdsaCurve::NistP521, sig.to_der().as_bytes()).is_err());
    }
}
