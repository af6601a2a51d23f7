//! The operations the CLI and the Lambda handlers share: they combine the
//! pure core, the inventory and the AWS clients. Every issued certificate is
//! recorded before it is handed out.

use rand::RngCore;
use rcgen::KeyPair;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::aws::AwsError;
use crate::aws::acm::Acm;
use crate::aws::acmpca::Pca;
use crate::aws::kms::KmsSigner;
use crate::aws::sns::Notifier;
use crate::ca::{Authority, CaError, RemoteKey};
use crate::crl::{Crl, CrlError, build_crl};
use crate::csr::{Csr, CsrError};
use crate::expiry::{Notice, due_interval, rotation_due};
use crate::issue::{IssueError, Issued, KeySource, Prepared, Request, SecretPem, Urls, prepare};
use crate::model::{
    CertError, CertFacts, CertRecord, Destination, KeyType, Reason, Revocation, Source,
};
use crate::profile::{ProfileError, Profiles};
use crate::store::{Store, StoreError};

/// An operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused or failed issuance.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// A bad CSR.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// CA problem.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// CRL problem.
    #[error(transparent)]
    Crl(#[from] CrlError),
    /// Inventory problem.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Profile problem.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// AWS problem.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A certificate from AWS could not be read.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// KMS returned a signature that does not verify.
    #[error(
        "the KMS signature does not verify with the CA certificate's key; check that `kms_key_id` is the key the CA was made with"
    )]
    BadRemoteSignature,
    /// Rotation of a certificate not issued here.
    #[error(
        "certificate `{0}` was not issued by this CA under a profile, so it cannot be rotated here; reissue it with `certs issue`"
    )]
    NotRotatable(String),
    /// Rotation of a revoked or already replaced certificate.
    #[error("certificate `{serial}` is {state}; rotate its replacement instead")]
    AlreadyDone {
        /// The serial.
        serial: String,
        /// "revoked" or "already replaced by `..`".
        state: String,
    },
}

/// The issuing CA with its key: a file, or a KMS key.
pub enum Ca {
    /// A key held in memory (from a file).
    File(Authority<KeyPair>),
    /// A key in KMS; signing asks KMS.
    Kms {
        /// The CA.
        authority: Authority<RemoteKey>,
        /// The KMS key.
        kms: KmsSigner,
        /// Serializes the two-pass signing.
        lock: Mutex<()>,
    },
}

impl Ca {
    /// A KMS-backed CA from its certificate, root, and KMS key.
    pub async fn kms(cert_pem: &str, root_pem: &str, kms: KmsSigner) -> Result<Self, Error> {
        let spki = kms.public_key_der().await?;
        let key = RemoteKey::from_spki_der(&spki)?;
        Ok(Self::Kms {
            authority: Authority::from_pem(cert_pem, root_pem, key)?,
            kms,
            lock: Mutex::new(()),
        })
    }

    /// The chain to deploy with issued certificates.
    pub fn chain_pem(&self) -> &str {
        match self {
            Self::File(a) => a.chain_pem(),
            Self::Kms { authority, .. } => authority.chain_pem(),
        }
    }

    /// The CA's subject name (the issuer of what it signs).
    pub fn subject(&self) -> &str {
        match self {
            Self::File(a) => a.subject(),
            Self::Kms { authority, .. } => authority.subject(),
        }
    }

    /// Signs a prepared certificate.
    pub async fn sign(&self, prepared: &Prepared) -> Result<Issued, Error> {
        match self {
            Self::File(a) => Ok(prepared.sign(a)?),
            Self::Kms {
                authority,
                kms,
                lock,
            } => {
                let issued = two_pass(authority, kms, lock, |a| {
                    prepared.sign(a).map_err(Error::from)
                })
                .await?;
                verify_signed_by(&issued.der, authority.cert_der())?;
                Ok(issued)
            }
        }
    }

    /// Signs a CRL.
    pub async fn crl(
        &self,
        number: u64,
        entries: &[crate::crl::RevokedEntry],
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<Crl, Error> {
        match self {
            Self::File(a) => Ok(build_crl(a, number, entries, now, lifetime)?),
            Self::Kms {
                authority,
                kms,
                lock,
            } => {
                two_pass(authority, kms, lock, |a| {
                    build_crl(a, number, entries, now, lifetime).map_err(Error::from)
                })
                .await
            }
        }
    }
}

/// Signs with a remote key: a first pass records the bytes to sign, KMS signs
/// them, a second pass (identical bytes) embeds the signature.
async fn two_pass<T>(
    authority: &Authority<RemoteKey>,
    kms: &KmsSigner,
    lock: &Mutex<()>,
    build: impl Fn(&Authority<RemoteKey>) -> Result<T, Error>,
) -> Result<T, Error> {
    let _guard = lock.lock().await;
    let key = authority.key();
    key.record();
    let first = build(authority);
    let message = key.recorded();
    key.reset();
    first?;
    let message = message.ok_or(Error::BadRemoteSignature)?;
    let p384 = rcgen::PublicKeyData::algorithm(key) == &rcgen::PKCS_ECDSA_P384_SHA384;
    let signature = kms.sign(&message, p384).await?;
    key.answer(message, signature);
    let out = build(authority);
    key.reset();
    out
}

fn verify_signed_by(der: &[u8], ca_der: &[u8]) -> Result<(), Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| Error::BadRemoteSignature)?;
    let (_, ca) = X509Certificate::from_der(ca_der).map_err(|_| Error::BadRemoteSignature)?;
    cert.verify_signature(Some(ca.public_key()))
        .map_err(|_| Error::BadRemoteSignature)
}

/// What the issuing operations work with, built once by the caller (CLI or
/// Lambda): the inventory, the profiles, the URLs written into certificates,
/// the time, and the AWS clients used when present. The signing CA (or ACM
/// Private CA) and the randomness are arguments of the operations that use
/// them, so an operation that signs nothing needs no CA.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The inventory.
    pub store: &'a dyn Store,
    /// Issuance profiles.
    pub profiles: &'a Profiles,
    /// CRL and AIA URLs written into certificates the CA signs.
    pub urls: &'a Urls,
    /// The time the operation runs at.
    pub now: OffsetDateTime,
    /// ACM: when present, rotation reimports into the old certificate's ARNs.
    pub acm: Option<&'a Acm>,
    /// SNS: when present, the schedule publishes its notices (otherwise it
    /// only reports them).
    pub notifier: Option<&'a Notifier>,
}

impl<'a> Context<'a> {
    /// A context without AWS clients.
    pub fn new(
        store: &'a dyn Store,
        profiles: &'a Profiles,
        urls: &'a Urls,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            store,
            profiles,
            urls,
            now,
            acm: None,
            notifier: None,
        }
    }
}

/// Issues a certificate and records it; the certificate is returned only once recorded.
pub async fn issue(
    cx: &Context<'_>,
    ca: &Ca,
    profile: &str,
    request: Request,
    rng: &mut (impl RngCore + Send),
) -> Result<Issued, Error> {
    let profile = cx.profiles.get(profile)?;
    let prepared = prepare(profile, request, cx.urls, cx.now, rng)?;
    let issued = ca.sign(&prepared).await?;
    cx.store.insert(&issued.record).await?;
    tracing::info!(serial = %issued.record.serial, profile = %profile.name, "issued");
    Ok(issued)
}

/// Revokes a certificate.
pub async fn revoke(
    store: &dyn Store,
    serial: &str,
    reason: Reason,
    now: OffsetDateTime,
) -> Result<CertRecord, Error> {
    let record = store
        .revoke(serial, &Revocation { at: now, reason })
        .await?;
    tracing::info!(serial = %record.serial, %reason, "revoked");
    Ok(record)
}

/// Signs a CRL of the CA's revoked, unexpired certificates, with the next CRL number.
pub async fn make_crl(
    ca: &Ca,
    store: &dyn Store,
    now: OffsetDateTime,
    lifetime: Duration,
) -> Result<Crl, Error> {
    let entries = store.revoked(ca.subject(), now).await?;
    let number = store.next_crl_number(ca.subject()).await?;
    ca.crl(number, &entries, now, lifetime).await
}

/// The result of a rotation.
#[derive(Debug)]
pub struct Rotation {
    /// The old certificate's serial.
    pub old_serial: String,
    /// The new certificate (its record links to the old one).
    pub new: Issued,
    /// ACM ARNs the new certificate was reimported into.
    pub reimported: Vec<String>,
}

/// Replaces a certificate: a new key of the same type, the same names, the
/// same profile; links old and new; reimports into the old one's ACM ARNs
/// when the context has ACM.
pub async fn rotate(
    cx: &Context<'_>,
    ca: &Ca,
    serial: &str,
    rng: &mut (impl RngCore + Send),
) -> Result<Rotation, Error> {
    let (store, now) = (cx.store, cx.now);
    let old = store
        .get(serial)
        .await?
        .ok_or_else(|| StoreError::NotFound(serial.to_owned()))?;
    if old.status == crate::model::Status::Revoked {
        return Err(Error::AlreadyDone {
            serial: old.serial,
            state: "revoked".to_owned(),
        });
    }
    if let Some(by) = &old.replaced_by {
        return Err(Error::AlreadyDone {
            serial: old.serial.clone(),
            state: format!("already replaced by `{by}`"),
        });
    }
    let profile_name = match (&old.profile, old.source) {
        (Some(p), Source::Internal) => p.clone(),
        _ => return Err(Error::NotRotatable(old.serial)),
    };
    let profile = cx.profiles.get(&profile_name)?;
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    for san in &old.sans {
        match san.parse::<std::net::IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(san.clone()),
        }
    }
    let key_type = if crate::profile::generatable(old.key_type) {
        old.key_type
    } else {
        profile.default_key_type
    };
    let request = Request {
        dns,
        ips,
        key: KeySource::Generate(Some(key_type)),
        validity: None,
        owner: old.owner.clone(),
    };
    let prepared = prepare(profile, request, cx.urls, now, rng)?;
    let mut new = ca.sign(&prepared).await?;
    new.record.replaces = Some(old.serial.clone());
    store.insert(&new.record).await?;
    store.link(&old.serial, &new.record.serial).await?;
    let mut reimported = Vec::new();
    if let (Some(acm), Some(key)) = (cx.acm, &new.key_pem) {
        for arn in old.acm_arns() {
            acm.import(
                new.record.key_type,
                &new.record.pem,
                key.expose(),
                ca.chain_pem(),
                Some(arn),
            )
            .await?;
            let dest = Destination::Acm {
                arn: arn.to_owned(),
            };
            store.add_destination(&new.record.serial, &dest).await?;
            new.record.destinations.push(dest);
            reimported.push(arn.to_owned());
        }
    }
    tracing::info!(old = %old.serial, new = %new.record.serial, "rotated");
    Ok(Rotation {
        old_serial: old.serial,
        new,
        reimported,
    })
}

/// Imports an inventory certificate into ACM (or reimports into `arn`) with
/// its key and the CA chain, and records the destination.
pub async fn acm_import(
    store: &dyn Store,
    acm: &Acm,
    serial: &str,
    key_pem: &SecretPem,
    chain_pem: &str,
    arn: Option<&str>,
) -> Result<String, Error> {
    let record = store
        .get(serial)
        .await?
        .ok_or_else(|| StoreError::NotFound(serial.to_owned()))?;
    let arn = acm
        .import(
            record.key_type,
            &record.pem,
            key_pem.expose(),
            chain_pem,
            arn,
        )
        .await?;
    store
        .add_destination(&record.serial, &Destination::Acm { arn: arn.clone() })
        .await?;
    Ok(arn)
}

/// What `certs acm sync` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    /// Certificates added to the inventory.
    pub added: Vec<String>,
    /// Certificates already known, now linked to their ARN.
    pub linked: Vec<String>,
    /// ARNs without a certificate body yet (pending validation).
    pub pending: Vec<String>,
}

/// Discovers every certificate in ACM (every key type) into the inventory.
pub async fn acm_sync(store: &dyn Store, acm: &Acm) -> Result<SyncReport, Error> {
    let mut report = SyncReport::default();
    for arn in acm.list_arns().await? {
        let found = acm.fetch(&arn).await?;
        let Some(pem) = found.pem else {
            report.pending.push(arn);
            continue;
        };
        let der = crate::model::first_pem_cert(pem.as_bytes())?;
        let facts = CertFacts::from_der(&der)?;
        let dest = Destination::Acm { arn: arn.clone() };
        match store.get(&facts.fingerprint).await? {
            Some(known) => {
                if !known.destinations.contains(&dest) {
                    store.add_destination(&known.fingerprint, &dest).await?;
                    report.linked.push(known.serial);
                }
            }
            None => {
                let mut record =
                    facts.into_record(Source::Acm, crate::model::to_pem("CERTIFICATE", &der));
                record.destinations.push(dest);
                store.insert(&record).await?;
                report.added.push(record.serial);
            }
        }
    }
    Ok(report)
}

/// Issues through ACM Private CA: the CSR is checked against the profile
/// here (names, key, validity), then signed by the private CA, then recorded.
/// The private CA writes its own CRL and AIA URLs, so the context's are unused.
pub async fn issue_with_pca(
    cx: &Context<'_>,
    pca: &Pca,
    profile: &str,
    csr: &Csr,
    validity: Option<Duration>,
    owner: Option<String>,
    rng: &mut (impl RngCore + Send),
) -> Result<(CertRecord, String), Error> {
    let (store, now) = (cx.store, cx.now);
    let profile = cx.profiles.get(profile)?;
    let request = Request {
        dns: Vec::new(),
        ips: Vec::new(),
        key: KeySource::Csr(Box::new(csr.clone())),
        validity,
        owner: owner.clone(),
    };
    // The same checks as internal issuance; the private CA then signs.
    let prepared = prepare(profile, request, &Urls::default(), now, rng)?;
    let days = (prepared.not_after() - now).whole_days().max(1);
    let algorithm = match csr.key_type {
        KeyType::P384 => aws_sdk_acmpca::types::SigningAlgorithm::Sha384Withecdsa,
        _ => aws_sdk_acmpca::types::SigningAlgorithm::Sha256Withecdsa,
    };
    let csr_pem = crate::model::to_pem("CERTIFICATE REQUEST", &csr.der);
    let issued = pca.issue(&csr_pem, days, algorithm).await?;
    let der = crate::model::first_pem_cert(issued.pem.as_bytes())?;
    let mut record = CertFacts::from_der(&der)?.into_record(Source::AcmPca, issued.pem.clone());
    record.profile = Some(profile.name.clone());
    record.owner = owner;
    store.insert(&record).await?;
    Ok((record, issued.chain_pem))
}

/// Settings of the scheduled expiry and rotation job.
#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    /// Notice intervals in days (default 30, 15, 2).
    pub intervals: Vec<u32>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            intervals: crate::expiry::DEFAULT_INTERVALS.to_vec(),
        }
    }
}

/// What a scheduled run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ScheduleReport {
    /// Notices sent (or, without a notifier, that would have been sent).
    pub notices: Vec<Notice>,
    /// Rotations: old serial, new serial.
    pub rotated: Vec<(String, String)>,
    /// Failures, one line each; the run goes on past them.
    pub errors: Vec<String>,
}

/// The scheduled job: rotates what profiles ask to rotate, then sends each
/// due expiry notice once per certificate and interval (published when the
/// context has SNS).
pub async fn run_schedule(
    cx: &Context<'_>,
    ca: &Ca,
    config: &ScheduleConfig,
    rng: &mut (impl RngCore + Send),
) -> Result<ScheduleReport, Error> {
    let (store, profiles, notifier, now) = (cx.store, cx.profiles, cx.notifier, cx.now);
    let horizon = profiles
        .iter()
        .filter_map(|p| p.rotate_before_days)
        .chain(config.intervals.iter().copied())
        .max()
        .unwrap_or(0);
    let candidates = store
        .expiring(now, now + Duration::days(i64::from(horizon)))
        .await?;
    let mut report = ScheduleReport::default();
    for record in candidates {
        let rotate_before = record
            .profile
            .as_deref()
            .and_then(|p| profiles.get(p).ok())
            .and_then(|p| p.rotate_before_days);
        if rotation_due(&record, rotate_before, now) {
            match rotate(cx, ca, &record.serial, rng).await {
                Ok(rotation) => {
                    let notice = Notice::CertificateRotated {
                        old_serial: rotation.old_serial.clone(),
                        new_serial: rotation.new.record.serial.clone(),
                        sans: rotation.new.record.sans.clone(),
                        not_after: rotation.new.record.not_after,
                        acm_arns: rotation.reimported.clone(),
                        owner: rotation.new.record.owner.clone(),
                    };
                    send(notifier, &notice, &mut report).await;
                    report
                        .rotated
                        .push((rotation.old_serial, rotation.new.record.serial));
                }
                Err(e) => report
                    .errors
                    .push(format!("rotating `{}`: {e}", record.serial)),
            }
            continue;
        }
        let sent = store.notified(&record.serial).await?;
        if let Some(interval) = due_interval(record.not_after, now, &config.intervals, &sent) {
            let notice = Notice::expiring(&record, interval, now);
            if send(notifier, &notice, &mut report).await {
                store.mark_notified(&record.serial, interval, now).await?;
            }
        }
    }
    Ok(report)
}

/// Publishes a notice; records it in the report. Returns whether it went out
/// (always true without a notifier, where the report is the output).
async fn send(notifier: Option<&Notifier>, notice: &Notice, report: &mut ScheduleReport) -> bool {
    let delivered = match notifier {
        None => true,
        Some(n) => match serde_json::to_string(notice) {
            Ok(json) => match n.publish(&notice.subject(), &json).await {
                Ok(_) => true,
                Err(e) => {
                    report.errors.push(e.to_string());
                    false
                }
            },
            Err(e) => {
                report.errors.push(e.to_string());
                false
            }
        },
    };
    if delivered {
        report.notices.push(notice.clone());
    }
    delivered
}
