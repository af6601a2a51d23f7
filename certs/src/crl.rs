//! Certificate revocation lists, signed by the issuing CA. Pure: the CRL
//! number and the times come in as arguments.

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams,
    SerialNumber, SigningKey,
};
use time::{Duration, OffsetDateTime};

use crate::ca::Authority;
use crate::model::{Reason, to_pem};

/// A CRL could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// A stored serial is not hexadecimal.
    #[error("serial `{0}` in the inventory is not hexadecimal; correct the record")]
    Serial(String),
    /// rcgen refused (e.g. next update not after this update).
    #[error("signing the CRL failed: {0}; check the validity period and the CA key")]
    Sign(String),
}

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial, lowercase hex.
    pub serial: String,
    /// When it was revoked.
    pub at: OffsetDateTime,
    /// Why.
    pub reason: Reason,
}

/// A signed CRL.
#[derive(Clone, Debug)]
pub struct Crl {
    /// Its number.
    pub number: u64,
    /// DER.
    pub der: Vec<u8>,
}

impl Crl {
    /// PEM (`X509 CRL`).
    pub fn pem(&self) -> String {
        to_pem("X509 CRL", &self.der)
    }
}

fn rcgen_reason(reason: Reason) -> Option<RevocationReason> {
    // RFC 5280 5.3.1: omit the reason code rather than use `unspecified`.
    match reason {
        Reason::Unspecified => None,
        Reason::KeyCompromise => Some(RevocationReason::KeyCompromise),
        Reason::CaCompromise => Some(RevocationReason::CaCompromise),
        Reason::AffiliationChanged => Some(RevocationReason::AffiliationChanged),
        Reason::Superseded => Some(RevocationReason::Superseded),
        Reason::CessationOfOperation => Some(RevocationReason::CessationOfOperation),
        Reason::CertificateHold => Some(RevocationReason::CertificateHold),
        Reason::PrivilegeWithdrawn => Some(RevocationReason::PrivilegeWithdrawn),
        Reason::AaCompromise => Some(RevocationReason::AaCompromise),
    }
}

/// Builds and signs a CRL valid from `now` for `lifetime`.
pub fn build_crl<S: SigningKey>(
    ca: &Authority<S>,
    number: u64,
    entries: &[RevokedEntry],
    now: OffsetDateTime,
    lifetime: Duration,
) -> Result<Crl, CrlError> {
    let mut revoked_certs = Vec::with_capacity(entries.len());
    for e in entries {
        let bytes = hex::decode(&e.serial).map_err(|_| CrlError::Serial(e.serial.clone()))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&bytes),
            revocation_time: e.at,
            reason_code: rcgen_reason(e.reason),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + lifetime,
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(ca.key_id().to_vec()),
    };
    let crl = params
        .signed_by(ca.issuer())
        .map_err(|e| CrlError::Sign(e.to_string()))?;
    Ok(Crl {
        number,
        der: crl.der().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{CaOptions, init_ca, key_from_pem};
    use rand::SeedableRng;
    use x509_parser::prelude::FromDer;
    use x509_parser::revocation_list::CertificateRevocationList;

    #[test]
    fn lists_the_entries_with_number_and_reason() {
        let now = time::macros::datetime!(2030-01-01 00:00 UTC);
        let files = init_ca(
            &CaOptions::new("T"),
            None,
            now,
            &mut rand::rngs::StdRng::seed_from_u64(9),
        )
        .unwrap();
        let key = key_from_pem(files.intermediate_key_pem.unwrap().expose()).unwrap();
        let ca =
            Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap();
        let entries = vec![
            RevokedEntry {
                serial: "4a0b".into(),
                at: now,
                reason: Reason::KeyCompromise,
            },
            RevokedEntry {
                serial: "7f".into(),
                at: now,
                reason: Reason::Unspecified,
            },
        ];
        let crl = build_crl(&ca, 42, &entries, now, Duration::days(7)).unwrap();
        let (_, parsed) = CertificateRevocationList::from_der(&crl.der).unwrap();
        assert_eq!(
            parsed.crl_number().map(|n| n.to_string()),
            Some("42".to_owned())
        );
        let serials: Vec<String> = parsed
            .iter_revoked_certificates()
            .map(|r| r.raw_serial_as_string())
            .collect();
        assert_eq!(serials, vec!["4a:0b", "7f"]);
        assert!(build_crl(&ca, 1, &entries, now, Duration::ZERO).is_err());
        let bad = vec![RevokedEntry {
            serial: "zz".into(),
            at: now,
            reason: Reason::Superseded,
        }];
        assert!(matches!(
            build_crl(&ca, 1, &bad, now, Duration::days(1)),
            Err(CrlError::Serial(_))
        ));
    }
}
