//! The domain records: key types, usages, inventory entries, revocation reasons.
//!
//! Everything here is plain data, serde-serializable, and free of I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// A key algorithm and size, for a certificate's subject key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyType {
    /// ECDSA on NIST P-256 (the default).
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// ECDSA on NIST P-521 (accepted from a CSR; ACM takes it too).
    P521,
    /// Ed25519.
    Ed25519,
    /// RSA with a modulus of this many bits.
    Rsa(u32),
}

impl KeyType {
    /// The family the key belongs to, which profiles allow or refuse.
    pub fn family(self) -> KeyFamily {
        match self {
            Self::P256 => KeyFamily::P256,
            Self::P384 => KeyFamily::P384,
            Self::P521 => KeyFamily::P521,
            Self::Ed25519 => KeyFamily::Ed25519,
            Self::Rsa(_) => KeyFamily::Rsa,
        }
    }

    /// The name ACM gives this key type (`EC_prime256v1`, `RSA_2048`), or
    /// `None` when ACM cannot import a certificate with such a key.
    pub fn acm_name(self) -> Option<String> {
        match self {
            Self::P256 => Some("EC_prime256v1".to_owned()),
            Self::P384 => Some("EC_secp384r1".to_owned()),
            Self::P521 => Some("EC_secp521r1".to_owned()),
            Self::Rsa(bits @ (1024 | 2048 | 3072 | 4096)) => Some(format!("RSA_{bits}")),
            Self::Rsa(_) | Self::Ed25519 => None,
        }
    }

    /// Reads ACM's name of a key type (`EC_prime256v1`, `RSA_2048`).
    pub fn from_acm_name(name: &str) -> Option<Self> {
        match name {
            "EC_prime256v1" => Some(Self::P256),
            "EC_secp384r1" => Some(Self::P384),
            "EC_secp521r1" => Some(Self::P521),
            other => other
                .strip_prefix("RSA_")
                .and_then(|bits| bits.parse().ok())
                .map(Self::Rsa),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::P256 => f.write_str("p256"),
            Self::P384 => f.write_str("p384"),
            Self::P521 => f.write_str("p521"),
            Self::Ed25519 => f.write_str("ed25519"),
            Self::Rsa(bits) => write!(f, "rsa{bits}"),
        }
    }
}

/// An unknown key type name.
#[derive(Debug, thiserror::Error)]
#[error("unknown key type `{0}`; use one of p256, p384, p521, ed25519, rsa2048, rsa3072, rsa4096")]
pub struct UnknownKeyType(String);

impl FromStr for KeyType {
    type Err = UnknownKeyType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ec256" => Ok(Self::P256),
            "p384" | "p-384" | "ec384" => Ok(Self::P384),
            "p521" | "p-521" | "ec521" => Ok(Self::P521),
            "ed25519" => Ok(Self::Ed25519),
            other => other
                .strip_prefix("rsa")
                .and_then(|bits| bits.trim_start_matches('-').parse().ok())
                .map(Self::Rsa)
                .ok_or_else(|| UnknownKeyType(s.to_owned())),
        }
    }
}

impl TryFrom<String> for KeyType {
    type Error = UnknownKeyType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<KeyType> for String {
    fn from(k: KeyType) -> Self {
        k.to_string()
    }
}

/// A key algorithm without its size, as profiles list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyFamily {
    /// ECDSA P-256.
    P256,
    /// ECDSA P-384.
    P384,
    /// ECDSA P-521.
    P521,
    /// Ed25519.
    Ed25519,
    /// RSA of any size at or above the profile's minimum.
    Rsa,
}

/// What a certificate may be used for (its extended key usage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Usage {
    /// TLS server authentication.
    #[default]
    Server,
    /// TLS client authentication.
    Client,
    /// Both server and client authentication.
    Both,
}

/// Where a certificate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Issued by this tool's internal CA.
    Internal,
    /// Issued through ACM Private CA.
    AcmPca,
    /// Found in ACM by `certs acm sync`.
    Acm,
}

impl Source {
    /// The stable name stored in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::AcmPca => "acm-pca",
            Self::Acm => "acm",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "internal" => Some(Self::Internal),
            "acm-pca" => Some(Self::AcmPca),
            "acm" => Some(Self::Acm),
            _ => None,
        }
    }
}

/// Whether a certificate still stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not revoked (it may still have expired or been replaced).
    Active,
    /// Revoked; it appears on the CRL.
    Revoked,
}

/// A revocation reason, as RFC 5280 section 5.3.1 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// `unspecified`
    #[serde(rename = "unspecified")]
    Unspecified,
    /// `keyCompromise`
    #[serde(rename = "keyCompromise")]
    KeyCompromise,
    /// `cACompromise`
    #[serde(rename = "cACompromise")]
    CaCompromise,
    /// `affiliationChanged`
    #[serde(rename = "affiliationChanged")]
    AffiliationChanged,
    /// `superseded`
    #[serde(rename = "superseded")]
    Superseded,
    /// `cessationOfOperation`
    #[serde(rename = "cessationOfOperation")]
    CessationOfOperation,
    /// `certificateHold`
    #[serde(rename = "certificateHold")]
    CertificateHold,
    /// `privilegeWithdrawn`
    #[serde(rename = "privilegeWithdrawn")]
    PrivilegeWithdrawn,
    /// `aACompromise`
    #[serde(rename = "aACompromise")]
    AaCompromise,
}

impl Reason {
    const ALL: [(Self, &'static str); 9] = [
        (Self::Unspecified, "unspecified"),
        (Self::KeyCompromise, "keyCompromise"),
        (Self::CaCompromise, "cACompromise"),
        (Self::AffiliationChanged, "affiliationChanged"),
        (Self::Superseded, "superseded"),
        (Self::CessationOfOperation, "cessationOfOperation"),
        (Self::CertificateHold, "certificateHold"),
        (Self::PrivilegeWithdrawn, "privilegeWithdrawn"),
        (Self::AaCompromise, "aACompromise"),
    ];

    /// The RFC 5280 name (`keyCompromise`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("unspecified", |(_, n)| n)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown revocation reason.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown revocation reason `{0}`; use one of unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise"
)]
pub struct UnknownReason(String);

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|(_, n)| n.to_ascii_lowercase() == wanted)
            .map(|(r, _)| *r)
            .ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

/// Where a certificate has been deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Destination {
    /// An ACM certificate, by ARN.
    Acm {
        /// The certificate's ARN in ACM.
        arn: String,
    },
}

/// A revocation: when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When the CA processed the revocation.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why.
    pub reason: Reason,
}

/// One certificate in the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRecord {
    /// Serial number, lowercase hexadecimal without separators or leading `00`.
    pub serial: String,
    /// Subject distinguished name as text.
    pub subject: String,
    /// Subject alternative names (DNS names and IP addresses) as text.
    pub sans: Vec<String>,
    /// Issuer distinguished name as text.
    pub issuer: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The subject key's type.
    pub key_type: KeyType,
    /// SHA-256 of the DER certificate, lowercase hexadecimal.
    pub fingerprint: String,
    /// Who asked for it (free text: a team, a person, a service).
    pub owner: Option<String>,
    /// The profile it was issued under, if issued here.
    pub profile: Option<String>,
    /// Where it came from.
    pub source: Source,
    /// Revoked or not.
    pub status: Status,
    /// The revocation, when revoked.
    pub revocation: Option<Revocation>,
    /// Where it is deployed.
    pub destinations: Vec<Destination>,
    /// The serial of the certificate this one replaced.
    pub replaces: Option<String>,
    /// The serial of the certificate that replaced this one.
    pub replaced_by: Option<String>,
    /// The certificate itself, PEM.
    pub pem: String,
}

impl CertRecord {
    /// Whole days from `now` until expiry (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// The ACM ARNs this certificate is deployed to.
    pub fn acm_arns(&self) -> impl Iterator<Item = &str> {
        self.destinations.iter().map(|d| match d {
            Destination::Acm { arn } => arn.as_str(),
        })
    }
}

/// A certificate that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Not PEM with a CERTIFICATE block.
    #[error("no `CERTIFICATE` PEM block found; pass a PEM certificate")]
    NoPem,
    /// Not a DER X.509 certificate.
    #[error("the certificate is not valid DER X.509: {0}; pass a certificate as PEM or DER")]
    Der(String),
    /// A key the inventory does not know.
    #[error(
        "the certificate's public key is of an unsupported type ({0}); only EC P-256/384/521, Ed25519 and RSA keys are tracked"
    )]
    Key(String),
}

/// Lowercase hex of a serial's bytes, without leading zero bytes.
pub fn serial_hex(bytes: &[u8]) -> String {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => bytes.get(i..).unwrap_or(bytes),
        None => &[0],
    };
    hex::encode(trimmed)
}

/// Normalizes a serial the user typed: hex, any case, `:` separators and
/// leading zeros allowed.
pub fn normalize_serial(input: &str) -> String {
    let clean: String = input
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let trimmed = clean.trim_start_matches('0');
    let even = if trimmed.len() % 2 == 1 {
        format!("0{trimmed}")
    } else {
        trimmed.to_owned()
    };
    // Keep one leading zero byte's worth only when needed for an even length.
    if even.is_empty() {
        "00".to_owned()
    } else {
        even
    }
}

/// The first certificate of a PEM bundle, as DER.
pub fn first_pem_cert(pem: &[u8]) -> Result<Vec<u8>, CertError> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .find(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .ok_or(CertError::NoPem)
}

/// Encodes DER as a PEM block with the given label (64-column base64).
pub fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let flat = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in flat.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The facts an inventory keeps about a certificate, read from its DER.
pub struct CertFacts {
    /// Serial, lowercase hex.
    pub serial: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// DNS and IP SANs.
    pub sans: Vec<String>,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Validity end.
    pub not_after: OffsetDateTime,
    /// Subject key type.
    pub key_type: KeyType,
    /// SHA-256 fingerprint, hex.
    pub fingerprint: String,
}

impl CertFacts {
    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(d) => sans.push((*d).to_owned()),
                    GeneralName::IPAddress(ip) => {
                        if let Some(ip) = ip_from_bytes(ip) {
                            sans.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        let key_type = crate::csr::key_type_of(&cert.tbs_certificate.subject_pki)
            .map_err(|e| CertError::Key(e.to_string()))?;
        Ok(Self {
            serial: serial_hex(cert.raw_serial()),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            key_type,
            fingerprint: hex::encode(Sha256::digest(der)),
        })
    }

    /// A fresh inventory record for these facts.
    pub fn into_record(self, source: Source, pem: String) -> CertRecord {
        CertRecord {
            serial: self.serial,
            subject: self.subject,
            sans: self.sans,
            issuer: self.issuer,
            not_before: self.not_before,
            not_after: self.not_after,
            key_type: self.key_type,
            fingerprint: self.fingerprint,
            owner: None,
            profile: None,
            source,
            status: Status::Active,
            revocation: None,
            destinations: Vec::new(),
            replaces: None,
            replaced_by: None,
            pem,
        }
    }
}

/// An IP address from its 4 or 16 SAN bytes.
pub(crate) fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_names_round_trip() {
        for k in [
            KeyType::P256,
            KeyType::P384,
            KeyType::P521,
            KeyType::Ed25519,
            KeyType::Rsa(3072),
        ] {
            assert_eq!(k.to_string().parse::<KeyType>().unwrap(), k);
        }
        assert!("dsa".parse::<KeyType>().is_err());
        assert_eq!(KeyType::Ed25519.acm_name(), None);
        assert_eq!(KeyType::from_acm_name("RSA_2048"), Some(KeyType::Rsa(2048)));
    }

    #[test]
    fn reasons_parse_loosely() {
        assert_eq!(
            "keyCompromise".parse::<Reason>().unwrap(),
            Reason::KeyCompromise
        );
        assert_eq!(
            "key-compromise".parse::<Reason>().unwrap(),
            Reason::KeyCompromise
        );
        assert_eq!("superseded".parse::<Reason>().unwrap(), Reason::Superseded);
        assert!("stolen".parse::<Reason>().is_err());
    }

    #[test]
    fn serials_normalize() {
        assert_eq!(normalize_serial("00:AB:cd"), "abcd");
        assert_eq!(normalize_serial("abc"), "0abc");
        assert_eq!(serial_hex(&[0, 0, 1, 2]), "0102");
    }

    #[test]
    fn pem_encoding_matches_known_base64() {
        let pem = to_pem(
            "TEST",
            b"hello world, this is a line of text long enough to wrap over",
        );
        assert!(pem.starts_with(
            "-----BEGIN TEST-----\naGVsbG8gd29ybGQsIHRoaXMgaXMgYSBsaW5lIG9mIHRleHQgbG9uZyBlbm91Z2gg\n"
        ));
        assert!(pem.ends_with("dmVy\n-----END TEST-----\n"));
    }
}
