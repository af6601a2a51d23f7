//! ACM import/reimport/sync, ACM Private CA issuance, the KMS-backed CA, and
//! the scheduled expiry/rotation job with SNS, against moto (`scripts/test`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::Command;

use aws_config::SdkConfig;
use certs::aws::AwsError;
use certs::aws::acm::Acm;
use certs::aws::acmpca::Pca;
use certs::aws::kms::KmsSigner;
use certs::aws::sns::Notifier;
use certs::ca::{Authority, CaOptions, init_ca, key_from_pem};
use certs::csr::parse_csr;
use certs::expiry::Notice;
use certs::issue::{Issued, KeySource, Request, Urls};
use certs::model::{KeyType, Reason, Source};
use certs::ops::{self, Ca, Context, ScheduleConfig};
use certs::profile::Profiles;
use certs::store::{SqliteStore, Store};
use time::{Duration, OffsetDateTime};

const PROFILES: &str = r#"
[profiles.server]
key_types = ["p256", "p384", "ed25519", "rsa"]
max_validity = "397d"
default_validity = "90d"
domains = ["*.example.com"]

[profiles.rotating]
max_validity = "90d"
domains = ["*.example.com"]
rotate_before_days = 20
"#;

fn request(dns: &str, key: KeySource) -> Request {
    Request {
        dns: vec![dns.to_owned()],
        ips: vec![],
        key,
        validity: None,
        owner: Some("team-web".into()),
    }
}

fn file_ca(now: OffsetDateTime) -> (Ca, String) {
    let files = init_ca(&CaOptions::new("Moto"), None, now, &mut rand::rngs::OsRng).unwrap();
    let key = key_from_pem(files.intermediate_key_pem.as_ref().unwrap().expose()).unwrap();
    let a = Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap();
    (Ca::File(a), files.root_cert_pem)
}

async fn issue(
    ca: &Ca,
    store: &dyn Store,
    profile: &str,
    dns: &str,
    key: KeySource,
    now: OffsetDateTime,
) -> Issued {
    let profiles = Profiles::from_toml(PROFILES).unwrap();
    let urls = Urls::default();
    ops::issue(
        &Context::new(store, &profiles, &urls, now),
        ca,
        profile,
        request(dns, key),
        &mut rand::rngs::OsRng,
    )
    .await
    .unwrap()
}

async fn config() -> Option<SdkConfig> {
    testkit::aws_config().await
}

#[tokio::test]
async fn acm_import_reimport_sync_and_refusals() {
    let Some(cfg) = config().await else { return };
    let acm = Acm::new(aws_sdk_acm::Client::new(&cfg));
    let raw = aws_sdk_acm::Client::new(&cfg);
    let now = OffsetDateTime::now_utc();
    let (ca, _) = file_ca(now);
    let store = SqliteStore::in_memory().unwrap();

    // Import a P-256 certificate (ACM's default listing would hide it).
    let name = format!("{}.example.com", testkit::unique_name("acm"));
    let issued = issue(
        &ca,
        &store,
        "server",
        &name,
        KeySource::Generate(Some(KeyType::P256)),
        now,
    )
    .await;
    let arn = ops::acm_import(
        &store,
        &acm,
        &issued.record.serial,
        issued.key_pem.as_ref().unwrap(),
        ca.chain_pem(),
        None,
    )
    .await
    .unwrap();
    assert!(arn.starts_with("arn:aws:acm:"), "{arn}");
    assert_eq!(
        store.find_by_arn(&arn).await.unwrap().unwrap().serial,
        issued.record.serial
    );

    let described = raw
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let detail = described.certificate.unwrap();
    assert_eq!(detail.domain_name.as_deref(), Some(name.as_str()));
    assert_eq!(
        detail
            .key_algorithm
            .map(|k| k.as_str().to_owned())
            .as_deref(),
        Some("EC_prime256v1")
    );
    assert!(acm.list_arns().await.unwrap().contains(&arn));

    // Reimport a replacement into the same ARN.
    let next = issue(
        &ca,
        &store,
        "server",
        &name,
        KeySource::Generate(Some(KeyType::P256)),
        now,
    )
    .await;
    let same = acm
        .import(
            next.record.key_type,
            &next.record.pem,
            next.key_pem.as_ref().unwrap().expose(),
            ca.chain_pem(),
            Some(&arn),
        )
        .await
        .unwrap();
    assert_eq!(same, arn);
    let body = raw
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(body.certificate.unwrap().trim(), next.record.pem.trim());

    // Ed25519 is refused before ACM is called, with a clear error.
    let ed = issue(
        &ca,
        &store,
        "server",
        &name,
        KeySource::Generate(Some(KeyType::Ed25519)),
        now,
    )
    .await;
    let err = ops::acm_import(
        &store,
        &acm,
        &ed.record.serial,
        ed.key_pem.as_ref().unwrap(),
        ca.chain_pem(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ops::Error::Aws(AwsError::AcmKeyType(KeyType::Ed25519))),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("ACM cannot import a certificate with a `ed25519` key"),
        "{err}"
    );

    // A certificate put into ACM by someone else is discovered by sync; the
    // one we imported is known already (its current body is `next`).
    let foreign_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let foreign = rcgen::CertificateParams::new(vec![format!("foreign-{name}")])
        .unwrap()
        .self_signed(&foreign_key)
        .unwrap();
    let foreign_arn = acm
        .import(
            KeyType::P384,
            &foreign.pem(),
            &foreign_key.serialize_pem(),
            "",
            None,
        )
        .await;
    // moto may refuse an empty chain; retry without one through the raw client.
    let foreign_arn = match foreign_arn {
        Ok(a) => a,
        Err(_) => raw
            .import_certificate()
            .certificate(aws_sdk_acm::primitives::Blob::new(
                foreign.pem().into_bytes(),
            ))
            .private_key(aws_sdk_acm::primitives::Blob::new(
                foreign_key.serialize_pem().into_bytes(),
            ))
            .send()
            .await
            .unwrap()
            .certificate_arn
            .unwrap(),
    };
    let report = ops::acm_sync(&store, &acm).await.unwrap();
    let synced = store
        .find_by_arn(&foreign_arn)
        .await
        .unwrap()
        .expect("foreign certificate synced");
    assert_eq!(synced.source, Source::Acm);
    assert_eq!(synced.key_type, KeyType::P384);
    assert!(report.added.contains(&synced.serial));
    assert!(report.linked.contains(&next.record.serial), "{report:?}");
    // A second sync changes nothing.
    let again = ops::acm_sync(&store, &acm).await.unwrap();
    assert!(!again.added.contains(&synced.serial));
    assert!(again.linked.is_empty(), "{again:?}");
}

#[tokio::test]
async fn acm_private_ca_issues_after_profile_checks() {
    let Some(cfg) = config().await else { return };
    let raw = aws_sdk_acmpca::Client::new(&cfg);
    use aws_sdk_acmpca::types::{
        Asn1Subject, CertificateAuthorityConfiguration, CertificateAuthorityType, KeyAlgorithm,
        SigningAlgorithm,
    };
    let created = raw
        .create_certificate_authority()
        .certificate_authority_type(CertificateAuthorityType::Root)
        .certificate_authority_configuration(
            CertificateAuthorityConfiguration::builder()
                .key_algorithm(KeyAlgorithm::EcPrime256v1)
                .signing_algorithm(SigningAlgorithm::Sha256Withecdsa)
                .subject(
                    Asn1Subject::builder()
                        .common_name("Moto Private CA")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let ca_arn = created.certificate_authority_arn.unwrap();
    let pca = Pca::new(raw.clone(), ca_arn);
    let store = SqliteStore::in_memory().unwrap();
    let profiles = Profiles::from_toml(PROFILES).unwrap();
    let now = OffsetDateTime::now_utc();

    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["pca.example.com".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let csr = parse_csr(csr.der()).unwrap();
    let urls = Urls::default();
    let cx = Context::new(&store, &profiles, &urls, now);
    let (record, _chain) = ops::issue_with_pca(
        &cx,
        &pca,
        "server",
        &csr,
        None,
        None,
        &mut rand::rngs::OsRng,
    )
    .await
    .unwrap();
    assert_eq!(record.source, Source::AcmPca);
    assert!(
        record.issuer.contains("Moto Private CA"),
        "{}",
        record.issuer
    );
    assert_eq!(record.key_type, KeyType::P256);
    assert_eq!(
        store
            .get(&record.serial)
            .await
            .unwrap()
            .unwrap()
            .profile
            .as_deref(),
        Some("server")
    );

    // The profile still decides: a name outside it never reaches the private CA.
    let bad = rcgen::CertificateParams::new(vec!["pca.evil.org".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let err = ops::issue_with_pca(
        &cx,
        &pca,
        "server",
        &parse_csr(bad.der()).unwrap(),
        None,
        None,
        &mut rand::rngs::OsRng,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("rule `domains`"), "{err}");
}

#[tokio::test]
async fn kms_backed_ca_signs_certificates_and_crls_openssl_accepts() {
    let Some(cfg) = config().await else { return };
    let kms_client = aws_sdk_kms::Client::new(&cfg);
    let key = kms_client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata.unwrap().key_id;
    let signer = KmsSigner::new(kms_client, key_id);
    let now = OffsetDateTime::now_utc();
    let spki = signer.public_key_der().await.unwrap();
    let files = init_ca(
        &CaOptions::new("KMS"),
        Some(&spki),
        now,
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    assert!(files.intermediate_key_pem.is_none());
    let ca = Ca::kms(&files.intermediate_cert_pem, &files.root_cert_pem, signer)
        .await
        .unwrap();
    let store = SqliteStore::in_memory().unwrap();

    let issued = issue(
        &ca,
        &store,
        "server",
        "kms.example.com",
        KeySource::Generate(None),
        now,
    )
    .await;
    ops::revoke(&store, &issued.record.serial, Reason::Superseded, now)
        .await
        .unwrap();
    let crl = ops::make_crl(&ca, &store, now, Duration::days(1))
        .await
        .unwrap();

    if !testkit::require(
        Command::new("openssl").arg("version").output().is_ok(),
        "openssl",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(p("root.pem"), &files.root_cert_pem).unwrap();
    std::fs::write(p("inter.pem"), &files.intermediate_cert_pem).unwrap();
    std::fs::write(p("chain.pem"), ca.chain_pem()).unwrap();
    std::fs::write(p("leaf.pem"), &issued.record.pem).unwrap();
    std::fs::write(p("crl.pem"), crl.pem()).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = run(&[
        "verify",
        "-CAfile",
        &p("root.pem"),
        "-untrusted",
        &p("inter.pem"),
        &p("leaf.pem"),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = run(&[
        "crl",
        "-in",
        &p("crl.pem"),
        "-CAfile",
        &p("chain.pem"),
        "-verify",
        "-noout",
    ]);
    assert!(ok && out.contains("verify OK"), "{out}");
    let (ok, out) = run(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        &p("crl.pem"),
        "-CAfile",
        &p("root.pem"),
        "-untrusted",
        &p("inter.pem"),
        &p("leaf.pem"),
    ]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
}

#[tokio::test]
async fn schedule_notifies_once_per_interval_and_rotates_into_acm() {
    let Some(cfg) = config().await else { return };
    let sns = aws_sdk_sns::Client::new(&cfg);
    let topic = sns
        .create_topic()
        .name(testkit::unique_name("certs"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    // An SQS queue subscribed to the topic shows what was published.
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let queue_url = sqs
        .create_queue()
        .queue_name(testkit::unique_name("certs-q"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();
    let notifier = Notifier::new(sns, topic);
    let acm = Acm::new(aws_sdk_acm::Client::new(&cfg));

    // Certificates issued 80 days ago (ACM refuses certificates not yet valid).
    let now = OffsetDateTime::now_utc();
    let start = now - Duration::days(80);
    let (ca, _) = file_ca(start);
    let store = SqliteStore::in_memory().unwrap();
    let profiles = Profiles::from_toml(PROFILES).unwrap();
    let plain = issue(
        &ca,
        &store,
        "server",
        "plain.example.com",
        KeySource::Generate(None),
        start,
    )
    .await;
    let rotating = issue(
        &ca,
        &store,
        "rotating",
        "rot.example.com",
        KeySource::Generate(None),
        start,
    )
    .await;
    let arn = ops::acm_import(
        &store,
        &acm,
        &rotating.record.serial,
        rotating.key_pem.as_ref().unwrap(),
        ca.chain_pem(),
        None,
    )
    .await
    .unwrap();

    // Now `plain` has 10 days left (the 15-day notice) and `rotating` is due.
    let later = now;
    let config = ScheduleConfig::default();
    let urls = Urls::default();
    let cx = Context {
        acm: Some(&acm),
        notifier: Some(&notifier),
        ..Context::new(&store, &profiles, &urls, later)
    };
    let report = ops::run_schedule(&cx, &ca, &config, &mut rand::rngs::OsRng)
        .await
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.rotated.len(), 1);
    let (old, new) = &report.rotated[0];
    assert_eq!(old, &rotating.record.serial);
    let new_record = store.get(new).await.unwrap().unwrap();
    assert_eq!(new_record.replaces.as_deref(), Some(old.as_str()));
    assert_eq!(new_record.sans, vec!["rot.example.com"]);
    assert_eq!(
        store
            .get(old)
            .await
            .unwrap()
            .unwrap()
            .replaced_by
            .as_deref(),
        Some(new.as_str())
    );
    assert_eq!(
        new_record.acm_arns().collect::<Vec<_>>(),
        vec![arn.as_str()]
    );
    let body = aws_sdk_acm::Client::new(&cfg)
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(body.certificate.unwrap().trim(), new_record.pem.trim());

    let expiring: Vec<_> = report
        .notices
        .iter()
        .filter_map(|n| match n {
            Notice::CertificateExpiring {
                serial,
                interval_days,
                ..
            } => Some((serial.clone(), *interval_days)),
            Notice::CertificateRotated { .. } => None,
        })
        .collect();
    assert_eq!(expiring, vec![(plain.record.serial.clone(), 15)]);

    // The messages arrived as JSON on the topic.
    let bodies = sqs_receive(&sqs, &queue_url).await;
    let types: Vec<String> = bodies
        .iter()
        .map(|b| {
            let envelope: serde_json::Value = serde_json::from_str(b).unwrap();
            let message: serde_json::Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            message["type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(
        types.contains(&"certificate-expiring".to_owned()),
        "{types:?}"
    );
    assert!(
        types.contains(&"certificate-rotated".to_owned()),
        "{types:?}"
    );

    // Run again the same day: nothing new. Eight days later: the 2-day notice.
    let again = ops::run_schedule(&cx, &ca, &config, &mut rand::rngs::OsRng)
        .await
        .unwrap();
    assert!(
        again.notices.is_empty() && again.rotated.is_empty(),
        "{again:?}"
    );
    let last = ops::run_schedule(
        &Context {
            now: now + Duration::days(8),
            ..cx
        },
        &ca,
        &config,
        &mut rand::rngs::OsRng,
    )
    .await
    .unwrap();
    assert!(last.notices.iter().any(|n| matches!(n, Notice::CertificateExpiring { interval_days: 2, serial, .. } if *serial == plain.record.serial)), "{last:?}");
}

/// Every message waiting in an SQS queue (moto delivers SNS fan-out at once).
async fn sqs_receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        bodies.extend(batch.into_iter().filter_map(|m| m.body));
    }
    bodies
}
