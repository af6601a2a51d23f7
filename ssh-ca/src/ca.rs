//! CA keys: an OpenSSH private key (its passphrase KMS-encrypted) or an
//! asymmetric KMS key whose private half never leaves KMS. Several keys may be
//! configured for rotation: the first signs, all are published.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use base64::Engine;
use serde::{Deserialize, Serialize};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, Certificate, EcdsaCurve, PrivateKey, PublicKey};

use crate::aws::{Decrypted, Kms};
use crate::err::{ConfigError, Error, SignError};
use crate::sign::{CertPlan, fingerprint};

/// One CA key in the configuration (`[[ca.keys]]`): either `file` (with an
/// optional KMS-encrypted passphrase per region) or `kms_key_id`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaKeyConfig {
    /// An OpenSSH private key file (Ed25519 or ECDSA).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The key file's passphrase, KMS-encrypted and base64-encoded, per region.
    #[serde(default)]
    pub passphrase_ciphertext: BTreeMap<String, String>,
    /// An asymmetric KMS key (ECC_NIST_P256 or ECC_NIST_P384, SIGN_VERIFY).
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

impl CaKeyConfig {
    /// Checks that exactly one source is given; `index` names the entry.
    pub fn check(&self, index: usize) -> Result<(), ConfigError> {
        match (&self.file, &self.kms_key_id) {
            (Some(_), None) => Ok(()),
            (None, Some(_)) if self.passphrase_ciphertext.is_empty() => Ok(()),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: format!("ca.keys[{index}].passphrase_ciphertext"),
                reason: "a KMS key has no passphrase; remove it".into(),
            }),
            _ => Err(ConfigError::Invalid {
                key: format!("ca.keys[{index}]"),
                reason: "give exactly one of `file` or `kms_key_id`".into(),
            }),
        }
    }
}

/// A CA key ready to sign.
#[derive(Debug, Clone)]
pub enum CaKey {
    /// A decrypted OpenSSH private key.
    Local(Box<PrivateKey>),
    /// An asymmetric KMS key.
    Kms {
        /// The KMS key id, ARN or alias.
        key_id: String,
        /// Its public key.
        public: KeyData,
        /// Its curve.
        curve: EcdsaCurve,
    },
}

impl CaKey {
    /// Reads an OpenSSH private key, decrypting it with `passphrase` when it
    /// is encrypted. RSA CA keys are refused (ssh-key cannot sign with them).
    pub fn from_openssh(text: &str, passphrase: Option<&[u8]>) -> Result<Self, SignError> {
        let key = PrivateKey::from_openssh(text).map_err(|e| SignError::CaKey {
            fingerprint: "(unreadable)".into(),
            reason: format!("it is not an OpenSSH private key ({e})"),
        })?;
        let fp = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        let refuse = |reason: &str| SignError::CaKey {
            fingerprint: fp.clone(),
            reason: reason.to_owned(),
        };
        let key = if key.is_encrypted() {
            let passphrase = passphrase.ok_or_else(|| {
                refuse("it is encrypted and no passphrase was given; set `passphrase_ciphertext` for this region")
            })?;
            key.decrypt(passphrase).map_err(|_| {
                refuse(
                    "the passphrase does not decrypt it; re-encrypt the right passphrase with KMS",
                )
            })?
        } else {
            key
        };
        match key.algorithm() {
            Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => Ok(Self::Local(Box::new(key))),
            _ => Err(refuse(
                "only Ed25519 and ECDSA CA keys can sign; generate one with `ssh-keygen -t ed25519`",
            )),
        }
    }

    /// Loads a CA key as configured. `file_text` is the key file's content
    /// (the caller reads it); `kms` is needed for a KMS key or passphrase.
    pub async fn load(
        config: &CaKeyConfig,
        file_text: Option<&str>,
        kms: Option<&Kms>,
        region: &str,
    ) -> Result<Self, Error> {
        let no_kms = || SignError::CaKey {
            fingerprint: "(not loaded)".into(),
            reason: "it needs KMS and no AWS configuration was loaded".into(),
        };
        if let Some(key_id) = &config.kms_key_id {
            let kms = kms.ok_or_else(no_kms)?;
            let public = kms.public_key(key_id).await?;
            let curve = match &public {
                KeyData::Ecdsa(ec) => ec.curve(),
                _ => {
                    return Err(SignError::CaKey {
                        fingerprint: fingerprint(&public),
                        reason: "a KMS CA key must be ECDSA".into(),
                    }
                    .into());
                }
            };
            return Ok(Self::Kms {
                key_id: key_id.clone(),
                public,
                curve,
            });
        }
        let text = file_text.ok_or_else(|| SignError::CaKey {
            fingerprint: "(not loaded)".into(),
            reason: "its file was not read".into(),
        })?;
        let passphrase = match config.passphrase_ciphertext.get(region) {
            None => None,
            Some(b64) => {
                let kms = kms.ok_or_else(no_kms)?;
                let blob = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| SignError::CaKey {
                        fingerprint: "(not loaded)".into(),
                        reason: format!(
                            "`passphrase_ciphertext.{region}` is not base64 ({e}); paste the CiphertextBlob as KMS prints it"
                        ),
                    })?;
                match kms.decrypt(&blob, &HashMap::new()).await? {
                    Decrypted::Plaintext { plaintext, .. } => Some(plaintext),
                    Decrypted::Refused => {
                        return Err(SignError::CaKey {
                            fingerprint: "(not loaded)".into(),
                            reason: format!(
                                "KMS refused to decrypt `passphrase_ciphertext.{region}`; encrypt the passphrase again"
                            ),
                        }
                        .into());
                    }
                }
            }
        };
        Ok(Self::from_openssh(
            text,
            passphrase.as_deref().map(Vec::as_slice),
        )?)
    }

    /// The CA's public key.
    pub fn public_key(&self) -> &KeyData {
        match self {
            Self::Local(key) => key.public_key().key_data(),
            Self::Kms { public, .. } => public,
        }
    }

    /// Signs a planned certificate, through KMS for a KMS key.
    pub async fn sign(&self, plan: &CertPlan, kms: Option<&Kms>) -> Result<Certificate, Error> {
        match self {
            Self::Local(key) => Ok(plan.sign(key.as_ref())?),
            Self::Kms {
                key_id,
                public,
                curve,
            } => {
                let kms = kms.ok_or_else(|| SignError::CaKey {
                    fingerprint: fingerprint(public),
                    reason: "it is a KMS key and no KMS client was given".into(),
                })?;
                let message = plan.message(public)?;
                let signature = kms.sign_ecdsa(key_id, *curve, &message).await?;
                Ok(plan.assemble(public, signature)?)
            }
        }
    }
}

/// The configured CA keys; the first one signs.
#[derive(Debug, Clone)]
pub struct CaSet {
    keys: Vec<CaKey>,
}

impl CaSet {
    /// A set from loaded keys; empty is an error.
    pub fn new(keys: Vec<CaKey>) -> Result<Self, SignError> {
        if keys.is_empty() {
            return Err(SignError::NoSigningKey);
        }
        Ok(Self { keys })
    }

    /// The key that signs new certificates.
    pub fn signing(&self) -> Option<&CaKey> {
        self.keys.first()
    }

    /// Every key, signing one first.
    pub fn keys(&self) -> &[CaKey] {
        &self.keys
    }

    /// Lines for sshd's `TrustedUserCAKeys` file, one per key.
    pub fn trusted_user_ca_keys(&self, comment: &str) -> Vec<String> {
        self.keys
            .iter()
            .filter_map(|k| {
                PublicKey::new(k.public_key().clone(), comment)
                    .to_openssh()
                    .ok()
            })
            .collect()
    }

    /// `@cert-authority` lines for `known_hosts` trusting hosts matching
    /// `pattern` (e.g. `*.example.com`).
    pub fn known_hosts_lines(&self, pattern: &str) -> Vec<String> {
        self.trusted_user_ca_keys("ssh-ca")
            .into_iter()
            .map(|line| format!("@cert-authority {pattern} {line}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::rand_core::OsRng;

    #[test]
    fn encrypted_keys_need_the_passphrase() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let encrypted = key.encrypt(&mut OsRng, "correct horse").unwrap();
        let text = encrypted.to_openssh(ssh_key::LineEnding::LF).unwrap();
        assert!(CaKey::from_openssh(&text, None).is_err());
        let err = CaKey::from_openssh(&text, Some(b"wrong")).unwrap_err();
        assert!(err.to_string().contains("passphrase"), "{err}");
        let ca = CaKey::from_openssh(&text, Some(b"correct horse")).unwrap();
        assert_eq!(ca.public_key(), key.public_key().key_data());
    }

    #[test]
    fn config_needs_one_source() {
        assert!(CaKeyConfig::default().check(0).is_err());
        let both = CaKeyConfig {
            file: Some("k".into()),
            kms_key_id: Some("alias/x".into()),
            ..CaKeyConfig::default()
        };
        let err = both.check(2).unwrap_err().to_string();
        assert!(err.contains("ca.keys[2]"), "{err}");
    }

    #[test]
    fn published_lines() {
        let a = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let set = CaSet::new(vec![CaKey::Local(Box::new(a))]).unwrap();
        let lines = set.known_hosts_lines("*.example.com");
        assert!(lines[0].starts_with("@cert-authority *.example.com ssh-ed25519 AAAA"));
        assert!(CaSet::new(Vec::new()).is_err());
    }
}
