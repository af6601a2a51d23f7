//! Certificate planning and signing: pure, time and randomness come in as
//! arguments.
//!
//! [`plan_user`] and [`plan_host`] turn a validated request and the policy
//! into a [`CertPlan`] holding every field of the certificate. A plan is then
//! signed either in one step with a local key ([`CertPlan::sign`]) or in two
//! steps around a remote signer such as KMS: [`CertPlan::message`] gives the
//! bytes to sign, and [`CertPlan::assemble`] puts the returned signature in
//! place and verifies it.

use std::cell::RefCell;

use ssh_key::certificate::{Builder, CertType};
use ssh_key::public::KeyData;
use ssh_key::{Certificate, HashAlg, Signature, SigningKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::err::{SignError, ValidationError};
use crate::policy::{HostPolicy, UserPolicy};
use crate::validate::{ValidHostRequest, ValidUserRequest};

/// The per-issuance inputs the caller draws: time and randomness.
#[derive(Debug, Clone, Copy)]
pub struct Issue<'a> {
    /// The request id (the Lambda request id, or one the CLI makes up).
    pub request_id: &'a str,
    /// Now, in Unix seconds.
    pub now: u64,
    /// A random serial; 0 is not allowed (a KRL cannot revoke it).
    pub serial: u64,
    /// A random nonce.
    pub nonce: [u8; 16],
}

/// Every field of a certificate to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPlan {
    /// User or host.
    pub cert_type: CertType,
    /// The certified key.
    pub public_key: KeyData,
    /// The serial.
    pub serial: u64,
    /// The nonce.
    pub nonce: [u8; 16],
    /// The key id (an audit record of the request).
    pub key_id: String,
    /// The principals.
    pub principals: Vec<String>,
    /// Start of validity, Unix seconds.
    pub valid_after: u64,
    /// End of validity, Unix seconds.
    pub valid_before: u64,
    /// Critical options, name and value (`force-command`, `source-address`).
    pub critical_options: Vec<(String, String)>,
    /// Extensions (`permit-pty`, ...).
    pub extensions: Vec<String>,
}

/// The SHA-256 fingerprint of a key, `SHA256:...` as OpenSSH prints it.
pub fn fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Unix seconds as RFC 3339 UTC text (the number itself when out of range).
pub fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Plans a user certificate.
pub fn plan_user(
    request: &ValidUserRequest,
    policy: &UserPolicy,
    ca: &KeyData,
    issue: &Issue<'_>,
) -> Result<CertPlan, ValidationError> {
    let (valid_after, valid_before) = policy.window(issue.now, request.validity_seconds)?;
    let mut critical_options = Vec::new();
    if let Some(command) = &request.command {
        critical_options.push(("force-command".to_owned(), command.clone()));
    }
    if !request.source_addresses.is_empty() {
        let list: Vec<String> = request
            .source_addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        critical_options.push(("source-address".to_owned(), list.join(",")));
    }
    let key_id = format!(
        "request[{}] for[{}] from[{}] command[{}] ssh_key[{}] ca[{}] valid_to[{}]",
        issue.request_id,
        request.requester,
        request.requester_ip,
        request.command.as_deref().unwrap_or_default(),
        fingerprint(&request.public_key),
        fingerprint(ca),
        rfc3339(valid_before),
    );
    Ok(CertPlan {
        cert_type: CertType::User,
        public_key: request.public_key.clone(),
        serial: issue.serial,
        nonce: issue.nonce,
        key_id,
        principals: request.principals.clone(),
        valid_after,
        valid_before,
        critical_options,
        extensions: policy.extensions.clone(),
    })
}

/// Plans a host certificate.
pub fn plan_host(
    request: &ValidHostRequest,
    policy: &HostPolicy,
    ca: &KeyData,
    issue: &Issue<'_>,
) -> CertPlan {
    let (valid_after, valid_before) = policy.window(issue.now);
    let key_id = format!(
        "request[{}] host[{}] ssh_key[{}] ca[{}] valid_to[{}]",
        issue.request_id,
        request.hostnames.join(","),
        fingerprint(&request.public_key),
        fingerprint(ca),
        rfc3339(valid_before),
    );
    CertPlan {
        cert_type: CertType::Host,
        public_key: request.public_key.clone(),
        serial: issue.serial,
        nonce: issue.nonce,
        key_id,
        principals: request.hostnames.clone(),
        valid_after,
        valid_before,
        critical_options: Vec::new(),
        extensions: Vec::new(),
    }
}

impl CertPlan {
    fn builder(&self) -> Result<Builder, SignError> {
        let mut b = Builder::new(
            self.nonce.to_vec(),
            self.public_key.clone(),
            self.valid_after,
            self.valid_before,
        )?;
        b.serial(self.serial)?
            .cert_type(self.cert_type)?
            .key_id(self.key_id.clone())?;
        for p in &self.principals {
            b.valid_principal(p.clone())?;
        }
        for (name, value) in &self.critical_options {
            b.critical_option(name.clone(), value.clone())?;
        }
        for name in &self.extensions {
            b.extension(name.clone(), String::new())?;
        }
        Ok(b)
    }

    /// Signs with a local key (an OpenSSH private key, Ed25519 or ECDSA).
    pub fn sign(&self, ca: &impl SigningKey) -> Result<Certificate, SignError> {
        Ok(self.builder()?.sign(ca)?)
    }

    /// The bytes the CA signs (the certificate without its signature), for a
    /// remote signer.
    pub fn message(&self, ca: &KeyData) -> Result<Vec<u8>, SignError> {
        let capture = Capture {
            ca: ca.clone(),
            message: RefCell::new(None),
        };
        // The capturing signer refuses to sign, so this always fails after
        // handing over the message; only a failure before that is reported.
        let result = self.builder()?.sign(&capture);
        match (capture.message.into_inner(), result) {
            (Some(message), _) => Ok(message),
            (None, Err(e)) => Err(e.into()),
            (None, Ok(_)) => Err(SignError::CaKey {
                fingerprint: fingerprint(ca),
                reason: "the certificate builder did not ask for a signature".into(),
            }),
        }
    }

    /// Builds the certificate with a `signature` made by `ca` over
    /// [`Self::message`], and verifies it.
    pub fn assemble(&self, ca: &KeyData, signature: Signature) -> Result<Certificate, SignError> {
        let message = self.message(ca)?;
        let signer = Presigned {
            ca: ca.clone(),
            message,
            signature,
        };
        let cert = self.builder()?.sign(&signer)?;
        cert.verify_signature().map_err(|e| SignError::CaKey {
            fingerprint: fingerprint(ca),
            reason: format!("its signature does not verify ({e})"),
        })?;
        Ok(cert)
    }
}

/// A signer that records the message and refuses to sign.
struct Capture {
    ca: KeyData,
    message: RefCell<Option<Vec<u8>>>,
}

impl signature::Signer<Signature> for Capture {
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        *self.message.borrow_mut() = Some(msg.to_vec());
        Err(signature::Error::new())
    }
}

impl From<&Capture> for KeyData {
    fn from(c: &Capture) -> Self {
        c.ca.clone()
    }
}

/// A signer that hands out a signature made elsewhere, for its message only.
struct Presigned {
    ca: KeyData,
    message: Vec<u8>,
    signature: Signature,
}

impl signature::Signer<Signature> for Presigned {
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        if msg == self.message.as_slice() {
            Ok(self.signature.clone())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl From<&Presigned> for KeyData {
    fn from(p: &Presigned) -> Self {
        p.ca.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{ValidationConfig, Validator};
    use ssh_key::{Algorithm, EcdsaCurve, PrivateKey, rand_core::OsRng};

    pub(crate) fn request(command: Option<&str>) -> ValidUserRequest {
        let v = Validator::new(ValidationConfig::default()).unwrap();
        v.user(&crate::model::UserRequest {
            bastion_user: "alice".into(),
            bastion_user_ip: "192.0.2.7".into(),
            remote_usernames: vec!["alice".into()],
            public_key_to_sign: include_str!("../testdata/user-ed25519.pub").into(),
            bastion_ips: Some(vec!["10.0.0.0/8".into(), "::1".into()]),
            command: command.map(str::to_owned),
            kmsauth_token: None,
            validity_seconds: None,
        })
        .unwrap()
    }

    const ISSUE: Issue<'static> = Issue {
        request_id: "req-1",
        now: 1_700_000_000,
        serial: 42,
        nonce: [9; 16],
    };

    #[test]
    fn user_plan_carries_every_field() {
        let ca = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let ca_pub = ca.public_key().key_data();
        let plan = plan_user(
            &request(Some("uptime")),
            &UserPolicy::default(),
            ca_pub,
            &ISSUE,
        )
        .unwrap();
        let cert = plan.sign(&ca).unwrap();
        assert_eq!(cert.serial(), 42);
        assert_eq!(cert.valid_after(), 1_700_000_000 - 120);
        assert_eq!(cert.valid_before(), 1_700_000_000 + 120);
        assert_eq!(cert.valid_principals(), ["alice"]);
        assert_eq!(cert.cert_type(), CertType::User);
        assert_eq!(
            cert.critical_options().get("force-command").unwrap(),
            "uptime"
        );
        assert_eq!(
            cert.critical_options().get("source-address").unwrap(),
            "10.0.0.0/8,::1/128"
        );
        assert_eq!(cert.extensions().len(), 5);
        let id = cert.key_id();
        for part in [
            "request[req-1]",
            "for[alice]",
            "from[192.0.2.7]",
            "command[uptime]",
            "valid_to[2023-11-14T22:15:20Z]",
        ] {
            assert!(id.contains(part), "{id} lacks {part}");
        }
        assert!(id.contains(&format!("ca[{}]", fingerprint(ca_pub))));
        cert.validate_at(
            1_700_000_000,
            [&ca.public_key().fingerprint(HashAlg::Sha256)],
        )
        .unwrap();
    }

    #[test]
    fn two_step_signing_matches_the_ca() {
        let ca = PrivateKey::random(
            &mut OsRng,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        )
        .unwrap();
        let ca_pub = ca.public_key().key_data().clone();
        let plan = plan_user(&request(None), &UserPolicy::default(), &ca_pub, &ISSUE).unwrap();
        let message = plan.message(&ca_pub).unwrap();
        let signature = signature::Signer::<Signature>::try_sign(&ca, &message).unwrap();
        let cert = plan.assemble(&ca_pub, signature).unwrap();
        assert_eq!(cert.signature_key(), &ca_pub);

        // A signature over other bytes is refused.
        let other = signature::Signer::<Signature>::try_sign(&ca, b"other").unwrap();
        assert!(plan.assemble(&ca_pub, other).is_err());
    }

    #[test]
    fn host_plan_has_no_extensions() {
        let ca = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let req = ValidHostRequest {
            hostnames: vec!["web1.example.com".into()],
            public_key: request(None).public_key,
        };
        let plan = plan_host(
            &req,
            &HostPolicy::default(),
            ca.public_key().key_data(),
            &ISSUE,
        );
        let cert = plan.sign(&ca).unwrap();
        assert_eq!(cert.cert_type(), CertType::Host);
        assert!(cert.extensions().is_empty());
        assert!(cert.key_id().contains("host[web1.example.com]"));
        assert_eq!(cert.valid_before(), 1_700_000_000 + 7 * 24 * 3600);
    }
}
