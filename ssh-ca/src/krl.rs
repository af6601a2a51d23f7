//! A writer of OpenSSH key revocation lists (the format of OpenSSH's
//! PROTOCOL.krl), read by sshd's `RevokedKeys` and `ssh-keygen -Q`.
//!
//! A KRL holds, per CA key, revoked certificate serials and key ids, and
//! plain public keys revoked outright (with every certificate made for them).

use std::collections::{BTreeMap, BTreeSet};

use ssh_key::public::KeyData;

/// `SSHKRL\n\0`.
const MAGIC: u64 = 0x5353_484b_524c_0a00;
const FORMAT_VERSION: u32 = 1;
const SECTION_CERTIFICATES: u8 = 1;
const SECTION_EXPLICIT_KEY: u8 = 2;
const CERT_SERIAL_LIST: u8 = 0x20;
const CERT_KEY_ID: u8 = 0x23;

/// What one CA's certificates have revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaRevocations {
    /// Revoked serials (never 0).
    pub serials: BTreeSet<u64>,
    /// Revoked key ids.
    pub key_ids: BTreeSet<String>,
}

/// A revocation list, built up then encoded with [`Krl::to_bytes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Krl {
    /// A number that grows with each new list.
    pub version: u64,
    /// When the list was made, Unix seconds.
    pub generated_at: u64,
    /// A free-form comment.
    pub comment: String,
    /// Certificate revocations by CA key blob.
    pub certificates: BTreeMap<Vec<u8>, CaRevocations>,
    /// Revoked public key blobs.
    pub keys: BTreeSet<Vec<u8>>,
}

/// The SSH wire encoding of a public key (its blob).
pub fn key_blob(key: &KeyData) -> Result<Vec<u8>, ssh_key::Error> {
    ssh_key::PublicKey::from(key.clone()).to_bytes()
}

impl Krl {
    /// Revokes the certificate with `serial` issued by `ca`. A serial of 0 is
    /// ignored (OpenSSH cannot revoke it; this CA never issues it).
    pub fn revoke_serial(&mut self, ca: &KeyData, serial: u64) -> Result<(), ssh_key::Error> {
        if serial != 0 {
            self.ca_entry(ca)?.serials.insert(serial);
        }
        Ok(())
    }

    /// Revokes the certificates with `key_id` issued by `ca`.
    pub fn revoke_key_id(&mut self, ca: &KeyData, key_id: &str) -> Result<(), ssh_key::Error> {
        self.ca_entry(ca)?.key_ids.insert(key_id.to_owned());
        Ok(())
    }

    /// Revokes a public key and every certificate for it.
    pub fn revoke_key(&mut self, key: &KeyData) -> Result<(), ssh_key::Error> {
        self.keys.insert(key_blob(key)?);
        Ok(())
    }

    fn ca_entry(&mut self, ca: &KeyData) -> Result<&mut CaRevocations, ssh_key::Error> {
        Ok(self.certificates.entry(key_blob(ca)?).or_default())
    }

    /// The KRL in OpenSSH's binary format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.generated_at.to_be_bytes());
        out.extend_from_slice(&0u64.to_be_bytes()); // flags
        put_string(&mut out, b""); // reserved
        put_string(&mut out, self.comment.as_bytes());

        for (ca, revoked) in &self.certificates {
            let mut section = Vec::new();
            put_string(&mut section, ca);
            put_string(&mut section, b""); // reserved
            if !revoked.serials.is_empty() {
                let mut list = Vec::with_capacity(revoked.serials.len() * 8);
                for serial in &revoked.serials {
                    list.extend_from_slice(&serial.to_be_bytes());
                }
                section.push(CERT_SERIAL_LIST);
                put_string(&mut section, &list);
            }
            if !revoked.key_ids.is_empty() {
                let mut list = Vec::new();
                for id in &revoked.key_ids {
                    put_string(&mut list, id.as_bytes());
                }
                section.push(CERT_KEY_ID);
                put_string(&mut section, &list);
            }
            out.push(SECTION_CERTIFICATES);
            put_string(&mut out, &section);
        }
        if !self.keys.is_empty() {
            let mut section = Vec::new();
            for key in &self.keys {
                put_string(&mut section, key);
            }
            out.push(SECTION_EXPLICIT_KEY);
            put_string(&mut out, &section);
        }
        out
    }
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every string here is far below 4 GiB (keys, key ids, lists built from
    // them); a longer one would be cut to its length's low 32 bits, which
    // OpenSSH then refuses rather than misreads.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::public::Ed25519PublicKey;

    #[test]
    fn empty_list_header() {
        let krl = Krl {
            version: 7,
            generated_at: 1_700_000_000,
            comment: "c".into(),
            ..Krl::default()
        };
        let bytes = krl.to_bytes();
        assert_eq!(&bytes[..8], b"SSHKRL\n\0");
        assert_eq!(&bytes[8..12], &[0, 0, 0, 1]);
        assert_eq!(&bytes[12..20], &7u64.to_be_bytes());
        assert_eq!(&bytes[20..28], &1_700_000_000u64.to_be_bytes());
        assert_eq!(&bytes[28..36], &[0; 8]);
        assert_eq!(&bytes[36..], &[0, 0, 0, 0, 0, 0, 0, 1, b'c']);
    }

    #[test]
    fn certificate_section_layout() {
        let ca = KeyData::Ed25519(Ed25519PublicKey([1; 32]));
        let mut krl = Krl::default();
        krl.revoke_serial(&ca, 5).unwrap();
        krl.revoke_serial(&ca, 3).unwrap();
        krl.revoke_serial(&ca, 0).unwrap();
        krl.revoke_key_id(&ca, "id").unwrap();
        let bytes = krl.to_bytes();
        let blob = key_blob(&ca).unwrap();
        assert_eq!(blob.len(), 4 + 11 + 4 + 32);
        let body = &bytes[44..];
        assert_eq!(body[0], SECTION_CERTIFICATES);
        let section_len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let section = &body[5..];
        assert_eq!(section.len(), section_len);
        let after_ca = &section[4 + blob.len() + 4..];
        assert_eq!(after_ca[0], CERT_SERIAL_LIST);
        assert_eq!(&after_ca[1..5], &16u32.to_be_bytes());
        assert_eq!(&after_ca[5..13], &3u64.to_be_bytes());
        assert_eq!(&after_ca[13..21], &5u64.to_be_bytes());
        assert_eq!(after_ca[21], CERT_KEY_ID);
        assert_eq!(&after_ca[22..], &[0, 0, 0, 6, 0, 0, 0, 2, b'i', b'd']);
    }
}
