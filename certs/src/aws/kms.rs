//! A CA key that never leaves KMS: an asymmetric `SIGN_VERIFY` key
//! (`ECC_NIST_P256` or `ECC_NIST_P384`).

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use sha2::Digest;

use super::{AwsError, call_error};

/// KMS signs messages up to this size as they are; longer ones are hashed here first.
const RAW_LIMIT: usize = 4096;

/// A KMS signing key.
#[derive(Clone, Debug)]
pub struct KmsSigner {
    client: Client,
    key_id: String,
}

impl KmsSigner {
    /// Wraps a client and a key id, ARN or alias.
    pub fn new(client: Client, key_id: String) -> Self {
        Self { client, key_id }
    }

    /// The key id as configured.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key, as SubjectPublicKeyInfo DER.
    pub async fn public_key_der(&self) -> Result<Vec<u8>, AwsError> {
        let out = self
            .client
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(call_error("kms", "GetPublicKey"))?;
        out.public_key
            .map(Blob::into_inner)
            .ok_or(AwsError::Missing {
                service: "kms",
                operation: "GetPublicKey",
                field: "PublicKey",
            })
    }

    /// Signs `message` with ECDSA: SHA-256 for a P-256 key, SHA-384 for P-384
    /// (`p384` true). The signature is DER, as X.509 wants it.
    pub async fn sign(&self, message: &[u8], p384: bool) -> Result<Vec<u8>, AwsError> {
        let algorithm = if p384 {
            SigningAlgorithmSpec::EcdsaSha384
        } else {
            SigningAlgorithmSpec::EcdsaSha256
        };
        let (payload, kind) = if message.len() <= RAW_LIMIT {
            (message.to_vec(), MessageType::Raw)
        } else if p384 {
            (sha2::Sha384::digest(message).to_vec(), MessageType::Digest)
        } else {
            (sha2::Sha256::digest(message).to_vec(), MessageType::Digest)
        };
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(payload))
            .message_type(kind)
            .signing_algorithm(algorithm)
            .send()
            .await
            .map_err(call_error("kms", "Sign"))?;
        out.signature
            .map(Blob::into_inner)
            .ok_or(AwsError::Missing {
                service: "kms",
                operation: "Sign",
                field: "Signature",
            })
    }
}
