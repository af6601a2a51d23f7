//! The internal certificate authority: creating a root and an intermediate,
//! and loading the intermediate (the issuing CA) with its signing key.
//!
//! The issuing key is either a key file ([`rcgen::KeyPair`]) or a key that
//! never leaves a remote service ([`RemoteKey`], used with KMS).

use std::sync::Mutex;

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, GeneralSubtree, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, NameConstraints, PublicKeyData, SignatureAlgorithm, SigningKey,
};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::issue::{BACKDATE, SecretPem, generate_key, random_serial};
use crate::model::{KeyType, first_pem_cert, to_pem};
use crate::profile::is_dns_name;

/// The CA could not be created or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// A CA key type that is not offered.
    #[error("a CA key must be p256 or p384, not `{0}`; pass --key-type p256 or p384")]
    KeyType(KeyType),
    /// A name constraint that is not a DNS name.
    #[error("name constraint `{0}` is not a DNS name; write it like `example.com`")]
    Constraint(String),
    /// The CA certificate could not be read.
    #[error(
        "the CA certificate `{what}` cannot be read: {detail}; point the configuration at the PEM written by `certs ca init`"
    )]
    Cert {
        /// Which certificate.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The key does not belong to the certificate.
    #[error(
        "the CA key does not match the CA certificate's public key; pass the key made with this certificate"
    )]
    KeyMismatch,
    /// rcgen refused.
    #[error("creating the CA failed: {0}")]
    Build(String),
}

/// Options of `certs ca init`.
#[derive(Clone, Debug)]
pub struct CaOptions {
    /// A name for the CA; the root is "NAME Root CA", the intermediate "NAME Issuing CA".
    pub name: String,
    /// Key type of both CA keys (P-256 or P-384).
    pub key_type: KeyType,
    /// Root validity.
    pub root_validity: Duration,
    /// Intermediate validity (cut to the root's).
    pub intermediate_validity: Duration,
    /// DNS subtrees the intermediate may issue for (empty: no constraint).
    pub permitted_dns: Vec<String>,
    /// DNS subtrees the intermediate may never issue for.
    pub excluded_dns: Vec<String>,
}

impl CaOptions {
    /// Defaults: P-256, a 10-year root, a 5-year intermediate, no name constraints.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            key_type: KeyType::P256,
            root_validity: Duration::days(3652),
            intermediate_validity: Duration::days(1826),
            permitted_dns: Vec::new(),
            excluded_dns: Vec::new(),
        }
    }
}

/// What `certs ca init` writes.
#[derive(Debug)]
pub struct CaFiles {
    /// Root certificate, PEM.
    pub root_cert_pem: String,
    /// Root key, PEM (keep it offline).
    pub root_key_pem: SecretPem,
    /// Intermediate certificate, PEM.
    pub intermediate_cert_pem: String,
    /// Intermediate key, PEM; `None` when the key is remote (KMS).
    pub intermediate_key_pem: Option<SecretPem>,
}

/// Creates a root and an intermediate. With `remote_intermediate` (the public
/// key of a KMS key, as SubjectPublicKeyInfo DER) the intermediate certifies
/// that key and no intermediate key file is made.
pub fn init_ca(
    opts: &CaOptions,
    remote_intermediate: Option<&[u8]>,
    now: OffsetDateTime,
    rng: &mut impl RngCore,
) -> Result<CaFiles, CaError> {
    if !matches!(opts.key_type, KeyType::P256 | KeyType::P384) {
        return Err(CaError::KeyType(opts.key_type));
    }
    let build = |e: rcgen::Error| CaError::Build(e.to_string());
    let root_key = generate_key(opts.key_type).map_err(|e| CaError::Build(e.to_string()))?;
    let mut root = ca_params(
        &format!("{} Root CA", opts.name),
        1,
        now,
        opts.root_validity,
        rng,
    );
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root.self_signed(&root_key).map_err(build)?;
    let root_issuer = Issuer::new(root.clone(), &root_key);

    let mut inter = ca_params(
        &format!("{} Issuing CA", opts.name),
        0,
        now,
        opts.intermediate_validity,
        rng,
    );
    inter.not_after = inter.not_after.min(root.not_after);
    inter.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    inter.use_authority_key_identifier_extension = true;
    if !opts.permitted_dns.is_empty() || !opts.excluded_dns.is_empty() {
        let subtrees = |names: &[String]| -> Result<Vec<GeneralSubtree>, CaError> {
            names
                .iter()
                .map(|n| {
                    let n = n.to_ascii_lowercase();
                    if is_dns_name(&n) {
                        Ok(GeneralSubtree::DnsName(n))
                    } else {
                        Err(CaError::Constraint(n))
                    }
                })
                .collect()
        };
        inter.name_constraints = Some(NameConstraints {
            permitted_subtrees: subtrees(&opts.permitted_dns)?,
            excluded_subtrees: subtrees(&opts.excluded_dns)?,
        });
    }
    let (inter_cert, inter_key_pem) = match remote_intermediate {
        Some(spki) => {
            let public = rcgen::SubjectPublicKeyInfo::from_der(spki).map_err(build)?;
            (inter.signed_by(&public, &root_issuer).map_err(build)?, None)
        }
        None => {
            let key = generate_key(opts.key_type).map_err(|e| CaError::Build(e.to_string()))?;
            let cert = inter.signed_by(&key, &root_issuer).map_err(build)?;
            (cert, Some(SecretPem::new(key.serialize_pem())))
        }
    };
    Ok(CaFiles {
        root_cert_pem: root_cert.pem(),
        root_key_pem: SecretPem::new(root_key.serialize_pem()),
        intermediate_cert_pem: inter_cert.pem(),
        intermediate_key_pem: inter_key_pem,
    })
}

fn ca_params(
    common_name: &str,
    path_len: u8,
    now: OffsetDateTime,
    validity: Duration,
    rng: &mut impl RngCore,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.not_before = now - BACKDATE;
    params.not_after = now - BACKDATE + validity;
    params.serial_number = Some(random_serial(rng));
    params
}

/// The issuing CA: its certificate, its chain, and a signing key.
pub struct Authority<S> {
    issuer: Issuer<'static, S>,
    cert_der: Vec<u8>,
    cert_pem: String,
    chain_pem: String,
    subject: String,
    not_after: OffsetDateTime,
    key_id: Vec<u8>,
}

impl<S: SigningKey> Authority<S> {
    /// Loads the issuing CA from its certificate, the root, and its key. The
    /// key must match the certificate.
    pub fn from_pem(cert_pem: &str, root_pem: &str, key: S) -> Result<Self, CaError> {
        let cert_der = first_pem_cert(cert_pem.as_bytes()).map_err(|e| CaError::Cert {
            what: "intermediate",
            detail: e.to_string(),
        })?;
        let root_der = first_pem_cert(root_pem.as_bytes()).map_err(|e| CaError::Cert {
            what: "root",
            detail: e.to_string(),
        })?;
        let (subject, not_after, key_id) = {
            let (_, cert) = X509Certificate::from_der(&cert_der).map_err(|e| CaError::Cert {
                what: "intermediate",
                detail: e.to_string(),
            })?;
            if cert.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
                return Err(CaError::KeyMismatch);
            }
            let key_id = cert
                .extensions()
                .iter()
                .find_map(|ext| match ext.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                    _ => None,
                })
                .ok_or(CaError::Cert {
                    what: "intermediate",
                    detail: "it has no subject key identifier".to_owned(),
                })?;
            (
                cert.subject().to_string(),
                cert.validity().not_after.to_datetime(),
                key_id,
            )
        };
        let issuer =
            Issuer::from_ca_cert_der(&cert_der.clone().into(), key).map_err(|e| CaError::Cert {
                what: "intermediate",
                detail: e.to_string(),
            })?;
        let cert_pem = to_pem("CERTIFICATE", &cert_der);
        let chain_pem = format!("{cert_pem}{}", to_pem("CERTIFICATE", &root_der));
        Ok(Self {
            issuer,
            cert_der,
            cert_pem,
            chain_pem,
            subject,
            not_after,
            key_id,
        })
    }

    /// The rcgen issuer, for signing.
    pub(crate) fn issuer(&self) -> &Issuer<'static, S> {
        &self.issuer
    }

    /// The signing key.
    pub fn key(&self) -> &S {
        self.issuer.key()
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The chain to append to issued certificates: the CA, then the root.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The CA's subject name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The CA's subject key identifier.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// End of the CA's validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// A signing key held by a remote service (KMS), used in two passes: the
/// first signing records the bytes to be signed, the caller has the remote
/// service sign them, and the second signing returns that signature. This
/// works because certificate and CRL encoding is deterministic.
pub struct RemoteKey {
    public: rcgen::SubjectPublicKeyInfo,
    state: Mutex<RemoteState>,
}

enum RemoteState {
    Idle,
    Recording(Option<Vec<u8>>),
    Answering {
        message: Vec<u8>,
        signature: Vec<u8>,
    },
}

impl RemoteKey {
    /// A remote key from its SubjectPublicKeyInfo DER.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, CaError> {
        let public = rcgen::SubjectPublicKeyInfo::from_der(spki)
            .map_err(|e| CaError::Build(e.to_string()))?;
        Ok(Self {
            public,
            state: Mutex::new(RemoteState::Idle),
        })
    }

    fn set(&self, state: RemoteState) {
        if let Ok(mut s) = self.state.lock() {
            *s = state;
        }
    }

    /// Starts the first pass: the next signing records its message.
    pub fn record(&self) {
        self.set(RemoteState::Recording(None));
    }

    /// The message recorded by the first pass.
    pub fn recorded(&self) -> Option<Vec<u8>> {
        match &*self.state.lock().ok()? {
            RemoteState::Recording(m) => m.clone(),
            _ => None,
        }
    }

    /// Starts the second pass: signing `message` returns `signature`.
    pub fn answer(&self, message: Vec<u8>, signature: Vec<u8>) {
        self.set(RemoteState::Answering { message, signature });
    }

    /// Back to idle, where every signing fails.
    pub fn reset(&self) {
        self.set(RemoteState::Idle);
    }
}

impl PublicKeyData for RemoteKey {
    fn der_bytes(&self) -> &[u8] {
        self.public.der_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.public.algorithm()
    }
}

impl SigningKey for RemoteKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        match &mut *state {
            RemoteState::Recording(slot) => {
                *slot = Some(msg.to_vec());
                // A placeholder; this pass's output is thrown away.
                Ok(vec![0; 8])
            }
            RemoteState::Answering { message, signature } if message.as_slice() == msg => {
                Ok(signature.clone())
            }
            RemoteState::Answering { .. } | RemoteState::Idle => Err(rcgen::Error::RemoteKeyError),
        }
    }
}

/// Loads a file CA key.
pub fn key_from_pem(pem: &str) -> Result<KeyPair, CaError> {
    KeyPair::from_pem(pem).map_err(|e| CaError::Cert {
        what: "key",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2030-01-01 00:00 UTC)
    }

    #[test]
    fn init_makes_a_constrained_chain() {
        let mut opts = CaOptions::new("Acme");
        opts.permitted_dns = vec!["example.com".into()];
        let files = init_ca(
            &opts,
            None,
            now(),
            &mut rand::rngs::StdRng::seed_from_u64(1),
        )
        .unwrap();
        let der = first_pem_cert(files.intermediate_cert_pem.as_bytes()).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(cert.subject().to_string(), "CN=Acme Issuing CA");
        assert_eq!(cert.issuer().to_string(), "CN=Acme Root CA");
        let bc = cert.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        assert!(cert.name_constraints().unwrap().is_some());
        let key = key_from_pem(files.intermediate_key_pem.unwrap().expose()).unwrap();
        let ca =
            Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap();
        assert_eq!(ca.not_after(), now() - BACKDATE + Duration::days(1826));
    }

    #[test]
    fn a_foreign_key_is_refused() {
        let files = init_ca(
            &CaOptions::new("A"),
            None,
            now(),
            &mut rand::rngs::StdRng::seed_from_u64(2),
        )
        .unwrap();
        let other = KeyPair::generate().unwrap();
        assert!(matches!(
            Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, other),
            Err(CaError::KeyMismatch)
        ));
    }

    #[test]
    fn bad_options_are_refused() {
        let mut opts = CaOptions::new("A");
        opts.key_type = KeyType::Ed25519;
        assert!(matches!(
            init_ca(
                &opts,
                None,
                now(),
                &mut rand::rngs::StdRng::seed_from_u64(3)
            ),
            Err(CaError::KeyType(_))
        ));
        let mut opts = CaOptions::new("A");
        opts.permitted_dns = vec!["not a name".into()];
        assert!(matches!(
            init_ca(
                &opts,
                None,
                now(),
                &mut rand::rngs::StdRng::seed_from_u64(3)
            ),
            Err(CaError::Constraint(_))
        ));
    }
}
