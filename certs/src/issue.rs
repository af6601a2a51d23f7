//! Issuance: from a request and a profile to a signed certificate.
//!
//! [`prepare`] checks a [`Request`] against a [`Profile`] and builds the
//! certificate's fields from the profile alone (the request contributes its
//! public key and names, nothing more). [`Prepared::sign`] signs it with an
//! [`Authority`]; signing is deterministic, so a remote
//! key (KMS) can be asked for the signature between two signings.
//! Pure: time and randomness come in as arguments.

use std::fmt;
use std::net::IpAddr;

use rand::RngCore;
use rcgen::{
    CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber, SigningKey,
};
use time::{Duration, OffsetDateTime};

use crate::ca::Authority;
use crate::csr::Csr;
use crate::model::{CertFacts, CertRecord, KeyType, Source, Usage, to_pem};
use crate::profile::{Profile, Refusal, generatable};

/// How far notBefore is set before the issuing time, for clocks that lag.
pub const BACKDATE: Duration = Duration::minutes(5);

/// Issuance failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The profile refused the request.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The certificate would outlive its CA.
    #[error(
        "the certificate would end on {wanted} but the CA ends on {ca}; ask for a shorter validity or renew the CA with `certs ca init`"
    )]
    OutlivesCa {
        /// Requested end.
        wanted: OffsetDateTime,
        /// The CA's end.
        ca: OffsetDateTime,
    },
    /// A key type that cannot be generated here.
    #[error(
        "cannot generate a `{0}` key; use p256, p384, p521, ed25519, rsa2048, rsa3072 or rsa4096"
    )]
    Generate(KeyType),
    /// The signer failed.
    #[error("signing failed: {0}; check the CA key (for KMS: the key's state and permissions)")]
    Sign(String),
    /// The result could not be read back (a bug if it happens).
    #[error("the issued certificate could not be read back: {0}; report this")]
    Readback(String),
}

/// URLs written into certificates (and CRLs) when configured.
#[derive(Clone, Debug, Default)]
pub struct Urls {
    /// CRL distribution point URLs.
    pub crl: Vec<String>,
    /// Where the issuing CA certificate is published (AIA caIssuers).
    pub ca_issuers: Option<String>,
    /// OCSP responder (AIA ocsp).
    pub ocsp: Option<String>,
}

/// Where the subject's key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A verified signing request.
    Csr(Box<Csr>),
    /// Generate a key of this type (the profile's default when `None`).
    Generate(Option<KeyType>),
}

/// What a caller asks for.
#[derive(Clone, Debug)]
pub struct Request {
    /// DNS names. When empty (with `ips`) and a CSR is given, the CSR's
    /// subjectAltName names are used, or its common name when it has none.
    pub dns: Vec<String>,
    /// IP address SANs. When empty (with `dns`) and a CSR is given, the CSR's are used.
    pub ips: Vec<IpAddr>,
    /// The subject key.
    pub key: KeySource,
    /// Requested validity (the profile's default when `None`).
    pub validity: Option<Duration>,
    /// Owner recorded in the inventory.
    pub owner: Option<String>,
}

/// A private key in PEM, kept out of `Debug` output and logs.
#[derive(Clone)]
pub struct SecretPem(String);

impl SecretPem {
    /// Wraps a PEM private key.
    pub fn new(pem: String) -> Self {
        Self(pem)
    }

    /// The PEM text, for writing to its destination (a 0600 file, ACM).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretPem(..)")
    }
}

enum SubjectKey {
    Generated(KeyPair),
    Public(rcgen::SubjectPublicKeyInfo),
}

/// A checked request, ready to be signed (possibly more than once, with identical results).
pub struct Prepared {
    params: CertificateParams,
    key: SubjectKey,
    key_type: KeyType,
    profile: String,
    owner: Option<String>,
}

/// A signed certificate and its inventory record.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The inventory record (status active, no destinations yet).
    pub record: CertRecord,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The generated private key, when the key was generated here.
    pub key_pem: Option<SecretPem>,
}

/// A random positive serial of 16 bytes (126 bits of entropy). The top byte
/// is in `0x40..=0x7f`, so the DER integer never needs a leading zero and
/// never loses a byte.
pub fn random_serial(rng: &mut impl RngCore) -> SerialNumber {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// Generates a key of the given type.
pub fn generate_key(key_type: KeyType) -> Result<KeyPair, IssueError> {
    let generated = match key_type {
        KeyType::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::P521 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512),
        KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        KeyType::Rsa(bits) => {
            let size = match bits {
                2048 => rcgen::RsaKeySize::_2048,
                3072 => rcgen::RsaKeySize::_3072,
                4096 => rcgen::RsaKeySize::_4096,
                _ => return Err(IssueError::Generate(key_type)),
            };
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
        }
    };
    generated.map_err(|e| IssueError::Sign(e.to_string()))
}

/// Checks a request against a profile and builds the certificate's fields.
pub fn prepare(
    profile: &Profile,
    request: Request,
    urls: &Urls,
    now: OffsetDateTime,
    rng: &mut impl RngCore,
) -> Result<Prepared, IssueError> {
    let validity = profile.check_validity(request.validity)?;
    let (mut dns, mut ips) = (request.dns, request.ips);
    let (key, key_type) = match request.key {
        KeySource::Csr(csr) => {
            profile.check_key(csr.key_type)?;
            if dns.is_empty() && ips.is_empty() {
                dns.clone_from(&csr.dns_names);
                ips.clone_from(&csr.ip_addresses);
                // The common name counts only when the request has no SANs
                // (it is often free text beside them).
                if let (true, Some(cn)) = (dns.is_empty() && ips.is_empty(), &csr.common_name) {
                    match cn.parse::<IpAddr>() {
                        Ok(ip) => ips.push(ip),
                        Err(_) => dns.push(cn.clone()),
                    }
                }
            }
            (SubjectKey::Public(csr.public_key), csr.key_type)
        }
        KeySource::Generate(asked) => {
            let key_type = asked.unwrap_or(profile.default_key_type);
            profile.check_key(key_type)?;
            if !generatable(key_type) {
                return Err(IssueError::Generate(key_type));
            }
            (SubjectKey::Generated(generate_key(key_type)?), key_type)
        }
    };

    let mut names: Vec<String> = Vec::with_capacity(dns.len());
    for d in &dns {
        let n = profile.check_dns(d)?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let mut addrs: Vec<IpAddr> = Vec::with_capacity(ips.len());
    for ip in ips {
        profile.check_ip(ip)?;
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }
    let common_name = match (names.first(), addrs.first()) {
        (Some(n), _) => n.clone(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => {
            return Err(Refusal {
                profile: profile.name.clone(),
                rule: "domains",
                what: "a request without names".to_owned(),
                why: "needs at least one DNS name or IP address; pass --dns or a CSR with a subjectAltName".to_owned(),
            }
            .into());
        }
    };

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.subject_alt_names = Vec::with_capacity(names.len() + addrs.len());
    for n in names {
        let ia5 = n
            .try_into()
            .map_err(|e: rcgen::Error| IssueError::Sign(e.to_string()))?;
        params.subject_alt_names.push(SanType::DnsName(ia5));
    }
    params
        .subject_alt_names
        .extend(addrs.into_iter().map(SanType::IpAddress));
    params.not_before = now - BACKDATE;
    params.not_after = now - BACKDATE + validity;
    params.serial_number = Some(random_serial(rng));
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if matches!(key_type, KeyType::Rsa(_)) && profile.usage != Usage::Client {
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = match profile.usage {
        Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        Usage::Both => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    };
    apply_urls(&mut params, urls);

    Ok(Prepared {
        params,
        key,
        key_type,
        profile: profile.name.clone(),
        owner: request.owner,
    })
}

/// Writes CRL distribution points and authority information access.
pub(crate) fn apply_urls(params: &mut CertificateParams, urls: &Urls) {
    if !urls.crl.is_empty() {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: urls.crl.clone(),
        }];
    }
    if let Some(aia) = authority_info_access(urls) {
        params.custom_extensions.push(aia);
    }
}

impl Prepared {
    /// The subject key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.params.not_after
    }

    /// Signs with the authority. Signing the same `Prepared` twice with the
    /// same key material gives the same to-be-signed bytes.
    pub fn sign<S: SigningKey>(&self, ca: &Authority<S>) -> Result<Issued, IssueError> {
        if self.params.not_after > ca.not_after() {
            return Err(IssueError::OutlivesCa {
                wanted: self.params.not_after,
                ca: ca.not_after(),
            });
        }
        let signed = match &self.key {
            SubjectKey::Generated(k) => self.params.signed_by(k, ca.issuer()),
            SubjectKey::Public(p) => self.params.signed_by(p, ca.issuer()),
        }
        .map_err(|e| IssueError::Sign(e.to_string()))?;
        let der = signed.der().to_vec();
        let facts = CertFacts::from_der(&der).map_err(|e| IssueError::Readback(e.to_string()))?;
        let mut record = facts.into_record(Source::Internal, to_pem("CERTIFICATE", &der));
        record.profile = Some(self.profile.clone());
        record.owner.clone_from(&self.owner);
        let key_pem = match &self.key {
            SubjectKey::Generated(k) => Some(SecretPem::new(k.serialize_pem())),
            SubjectKey::Public(_) => None,
        };
        Ok(Issued {
            record,
            der,
            key_pem,
        })
    }
}

/// The authorityInfoAccess extension (RFC 5280 4.2.2.1), when any URL is set.
fn authority_info_access(urls: &Urls) -> Option<CustomExtension> {
    const OCSP: [u8; 10] = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    const CA_ISSUERS: [u8; 10] = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let mut descriptions = Vec::new();
    for (method, url) in [(&OCSP, &urls.ocsp), (&CA_ISSUERS, &urls.ca_issuers)] {
        if let Some(url) = url {
            let mut body = method.to_vec();
            // accessLocation: GeneralName uniformResourceIdentifier, [6] IMPLICIT IA5String.
            body.extend(der_tlv(0x86, url.as_bytes()));
            descriptions.extend(der_tlv(0x30, &body));
        }
    }
    if descriptions.is_empty() {
        return None;
    }
    Some(CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        der_tlv(0x30, &descriptions),
    ))
}

/// One DER tag-length-value.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.extend(u8::try_from(len).ok());
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.extend(u8::try_from(significant.len()).ok().map(|n| 0x80 | n));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{CaOptions, init_ca};
    use crate::profile::Profiles;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    fn profiles() -> Profiles {
        Profiles::from_toml(
            r#"
            [profiles.server]
            max_validity = "397d"
            default_validity = "90d"
            domains = ["*.example.com"]
            key_types = ["p256", "ed25519", "rsa"]
            "#,
        )
        .unwrap()
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2030-01-01 00:00 UTC)
    }

    fn authority() -> Authority<KeyPair> {
        let files = init_ca(&CaOptions::new("Test"), None, now(), &mut rng()).unwrap();
        Authority::from_pem(
            &files.intermediate_cert_pem,
            &files.root_cert_pem,
            KeyPair::from_pem(files.intermediate_key_pem.unwrap().expose()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn serials_are_positive_and_long() {
        let mut r = rng();
        for _ in 0..100 {
            let s = random_serial(&mut r).to_bytes();
            assert_eq!(s.len(), 16);
            assert!(s[0] & 0x80 == 0 && s[0] >= 0x40);
        }
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der_tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der_tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn issues_with_profile_fields_and_backdating() {
        let ca = authority();
        let p = profiles();
        let req = Request {
            dns: vec!["WWW.example.com".into(), "www.example.com".into()],
            ips: vec![],
            key: KeySource::Generate(None),
            validity: None,
            owner: Some("web".into()),
        };
        let prepared = prepare(
            p.get("server").unwrap(),
            req,
            &Urls::default(),
            now(),
            &mut rng(),
        )
        .unwrap();
        let issued = prepared.sign(&ca).unwrap();
        let r = &issued.record;
        assert_eq!(r.sans, vec!["www.example.com"]);
        assert_eq!(r.not_before, now() - BACKDATE);
        assert_eq!(r.not_after, now() - BACKDATE + Duration::days(90));
        assert_eq!(r.key_type, KeyType::P256);
        assert_eq!(r.profile.as_deref(), Some("server"));
        assert_eq!(r.owner.as_deref(), Some("web"));
        assert!(issued.key_pem.is_some());
        assert_eq!(r.serial.len(), 32);
    }

    #[test]
    fn signing_twice_gives_the_same_certificate() {
        let ca = authority();
        let p = profiles();
        let req = Request {
            dns: vec!["a.example.com".into()],
            ips: vec![],
            key: KeySource::Generate(Some(KeyType::Ed25519)),
            validity: None,
            owner: None,
        };
        let prepared = prepare(
            p.get("server").unwrap(),
            req,
            &Urls::default(),
            now(),
            &mut rng(),
        )
        .unwrap();
        // Ed25519 CA signatures would be deterministic; P-256 is not, so compare the TBS part.
        let a = prepared.sign(&ca).unwrap();
        let b = prepared.sign(&ca).unwrap();
        assert_eq!(a.record.serial, b.record.serial);
        assert_eq!(a.record.not_after, b.record.not_after);
    }

    #[test]
    fn a_request_without_names_is_refused() {
        let p = profiles();
        let req = Request {
            dns: vec![],
            ips: vec![],
            key: KeySource::Generate(None),
            validity: None,
            owner: None,
        };
        let err = prepare(
            p.get("server").unwrap(),
            req,
            &Urls::default(),
            now(),
            &mut rng(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("rule `domains`"), "{err}");
    }

    #[test]
    fn refuses_to_outlive_the_ca() {
        let ca = authority();
        let p = Profiles::from_toml(
            "[profiles.long]\nmax_validity = \"9000d\"\ndomains = [\"x.example\"]\n",
        )
        .unwrap();
        let req = Request {
            dns: vec!["x.example".into()],
            ips: vec![],
            key: KeySource::Generate(None),
            validity: None,
            owner: None,
        };
        let prepared = prepare(
            p.get("long").unwrap(),
            req,
            &Urls::default(),
            now(),
            &mut rng(),
        )
        .unwrap();
        assert!(matches!(
            prepared.sign(&ca),
            Err(IssueError::OutlivesCa { .. })
        ));
    }
}
