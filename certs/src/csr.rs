//! Reading certificate signing requests (PKCS#10), PEM or DER, with their
//! signature verified.
//!
//! Only the public key and the names are taken from a request; everything
//! else it asks for (CA:TRUE, key usages, extra extensions) is read only to be
//! reported, never copied into a certificate.

use std::net::IpAddr;

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::der_parser::oid;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::model::{KeyType, ip_from_bytes};

/// Why a signing request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// The input is PEM but holds no certificate request block.
    #[error("the PEM input holds no `CERTIFICATE REQUEST` block; pass a PKCS#10 request")]
    NoRequestBlock,
    /// Not a DER PKCS#10 request.
    #[error(
        "the request is not valid PKCS#10 DER: {0}; pass a CSR made by `openssl req -new` or similar"
    )]
    Der(String),
    /// Bytes follow the request.
    #[error("{0} bytes follow the request; pass exactly one CSR")]
    Trailing(usize),
    /// The request's signature does not verify with its own key.
    #[error(
        "the request's signature does not verify with its public key ({0}); the CSR is corrupt or forged, make a new one"
    )]
    Signature(String),
    /// A key this CA cannot certify.
    #[error(
        "the request's public key is not supported ({0}); use an EC P-256/P-384/P-521, Ed25519 or RSA key"
    )]
    Key(String),
}

/// A verified certificate signing request: its key and the names it asks for.
#[derive(Clone, Debug)]
pub struct Csr {
    /// The request's DER.
    pub der: Vec<u8>,
    /// The subject's public key (what the certificate will certify).
    pub public_key: rcgen::SubjectPublicKeyInfo,
    /// The subject key's type and size.
    pub key_type: KeyType,
    /// The subject's common name, if any.
    pub common_name: Option<String>,
    /// DNS names from the subjectAltName extension request.
    pub dns_names: Vec<String>,
    /// IP addresses from the subjectAltName extension request.
    pub ip_addresses: Vec<IpAddr>,
    /// Whether the request asked for CA:TRUE (ignored, only reported).
    pub asks_for_ca: bool,
}

/// Parses and verifies a signing request given as PEM or DER.
pub fn parse_csr(input: &[u8]) -> Result<Csr, CsrError> {
    let trimmed = input.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let block = x509_parser::pem::Pem::iter_from_buffer(trimmed)
            .filter_map(Result::ok)
            .find(|p| p.label == "CERTIFICATE REQUEST" || p.label == "NEW CERTIFICATE REQUEST")
            .ok_or(CsrError::NoRequestBlock)?;
        parse_der(&block.contents)
    } else {
        parse_der(input)
    }
}

fn parse_der(der: &[u8]) -> Result<Csr, CsrError> {
    let (rest, req) =
        X509CertificationRequest::from_der(der).map_err(|e| CsrError::Der(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CsrError::Trailing(rest.len()));
    }
    req.verify_signature()
        .map_err(|e| CsrError::Signature(e.to_string()))?;
    let info = &req.certification_request_info;
    let key_type = key_type_of(&info.subject_pki)?;
    let public_key = rcgen::SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
        .map_err(|e| CsrError::Key(e.to_string()))?;
    let common_name = info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let mut asks_for_ca = false;
    for ext in req.requested_extensions().into_iter().flatten() {
        match ext {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                        GeneralName::IPAddress(b) => ip_addresses.extend(ip_from_bytes(b)),
                        _ => {}
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => asks_for_ca |= bc.ca,
            _ => {}
        }
    }
    Ok(Csr {
        der: der.to_vec(),
        public_key,
        key_type,
        common_name,
        dns_names,
        ip_addresses,
        asks_for_ca,
    })
}

/// The key type of a SubjectPublicKeyInfo.
pub(crate) fn key_type_of(spki: &SubjectPublicKeyInfo<'_>) -> Result<KeyType, CsrError> {
    let alg = &spki.algorithm.algorithm;
    if *alg == oid!(1.3.101.112) {
        return Ok(KeyType::Ed25519);
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = u32::try_from(rsa.key_size()).map_err(|e| CsrError::Key(e.to_string()))?;
            Ok(KeyType::Rsa(bits))
        }
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or_else(|| CsrError::Key("EC key without a named curve".to_owned()))?;
            if curve == oid!(1.2.840.10045.3.1.7) {
                Ok(KeyType::P256)
            } else if curve == oid!(1.3.132.0.34) {
                Ok(KeyType::P384)
            } else if curve == oid!(1.3.132.0.35) {
                Ok(KeyType::P521)
            } else {
                Err(CsrError::Key(format!("EC curve {curve}")))
            }
        }
        Ok(_) => Err(CsrError::Key(format!("algorithm {alg}"))),
        Err(e) => Err(CsrError::Key(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, PKCS_ED25519, SanType};

    fn request(key: &KeyPair, names: &[&str]) -> rcgen::CertificateSigningRequest {
        let params =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.serialize_request(key).unwrap()
    }

    #[test]
    fn reads_pem_and_der_with_names() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["www.example.com".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("10.1.2.3".parse().unwrap()));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let csr = params.serialize_request(&key).unwrap();
        let from_pem = parse_csr(csr.pem().unwrap().as_bytes()).unwrap();
        let from_der = parse_csr(csr.der()).unwrap();
        assert_eq!(from_pem.dns_names, vec!["www.example.com"]);
        assert_eq!(
            from_pem.ip_addresses,
            vec!["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(from_pem.key_type, KeyType::P256);
        assert!(from_pem.asks_for_ca);
        assert_eq!(from_der.der, from_pem.der);
    }

    #[test]
    fn knows_key_types() {
        let ed = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        assert_eq!(
            parse_csr(request(&ed, &["a.example"]).der())
                .unwrap()
                .key_type,
            KeyType::Ed25519
        );
        let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        assert_eq!(
            parse_csr(request(&p384, &["a.example"]).der())
                .unwrap()
                .key_type,
            KeyType::P384
        );
    }

    #[test]
    fn refuses_a_tampered_signature() {
        let key = KeyPair::generate().unwrap();
        let mut der = request(&key, &["www.example.com"]).der().to_vec();
        // Flip a byte inside the DNS name: the structure stays valid, the signature does not.
        let at = der.windows(3).position(|w| w == b"www").unwrap();
        der[at] = b'x';
        assert!(matches!(parse_csr(&der), Err(CsrError::Signature(_))));
    }

    #[test]
    fn refuses_garbage_and_empty_pem() {
        assert!(matches!(
            parse_csr(b"\x30\x03\x02\x01"),
            Err(CsrError::Der(_))
        ));
        assert!(matches!(
            parse_csr(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(CsrError::NoRequestBlock)
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_csr(&bytes);
        }
    }
}
