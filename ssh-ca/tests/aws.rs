//! KMS-backed CA keys, KMS-encrypted passphrases, kmsauth, the IAM group
//! rule and the DynamoDB store, against moto (run through `scripts/test`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use aws_config::SdkConfig;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use base64::Engine;
use common::*;
use serde_json::json;
use ssh_ca::aws::Kms;
use ssh_ca::ca::{CaKey, CaKeyConfig, CaSet};
use ssh_ca::dynamo::DynamoStore;
use ssh_ca::err::KmsAuthError;
use ssh_ca::handler::Service;
use ssh_ca::kmsauth::{self, KmsAuthConfig, Verifier};
use ssh_ca::krl::Krl;
use ssh_ca::model::{ErrorType, Response};
use ssh_ca::policy::{Policy, PrincipalRule};
use ssh_ca::store::{Revocation, RevocationRecord, SqliteStore, Store};
use ssh_ca::validate::{ValidationConfig, Validator};
use ssh_key::{Certificate, PublicKey};

async fn create_key(aws: &SdkConfig, spec: KeySpec, usage: KeyUsageType) -> String {
    let kms = aws_sdk_kms::Client::new(aws);
    let out = kms
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .description(testkit::unique_name("ssh-ca-test"))
        .send()
        .await
        .unwrap();
    out.key_metadata.unwrap().key_id
}

fn service_with(ca: CaKey, aws: &SdkConfig, policy: Policy) -> Service<SqliteStore> {
    Service {
        validator: Validator::new(ValidationConfig::default()).unwrap(),
        policy,
        cas: CaSet::new(vec![ca]).unwrap(),
        store: SqliteStore::in_memory().unwrap(),
        kms: Some(Kms::new(aws)),
        iam: Some(ssh_ca::aws::Iam::new(aws)),
        kmsauth: None,
    }
}

fn user_request(key_line: &str, principals: &[&str]) -> serde_json::Value {
    json!({
        "bastion_user": "alice",
        "bastion_user_ip": "127.0.0.1",
        "remote_usernames": principals,
        "public_key_to_sign": key_line,
    })
}

#[tokio::test]
async fn kms_p256_ca_signs_certificates_sshd_accepts() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let key_id = create_key(&aws, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let config = CaKeyConfig {
        kms_key_id: Some(key_id),
        ..CaKeyConfig::default()
    };
    let kms = Kms::new(&aws);
    let ca = CaKey::load(&config, None, Some(&kms), "us-east-1")
        .await
        .unwrap();
    assert!(matches!(ca, CaKey::Kms { .. }));
    let ca_line = PublicKey::from(ca.public_key().clone())
        .to_openssh()
        .unwrap();
    assert!(ca_line.starts_with("ecdsa-sha2-nistp256 "), "{ca_line}");
    let service = service_with(ca, &aws, Policy::default());

    let tmp = tempfile::tempdir().unwrap();
    let key = keygen(tmp.path(), "id_ed25519", "ed25519");
    let response = service
        .handle(user_request(&pub_line(&key), &["alice"]), "kms-1", now())
        .await;
    let cert_line = issued(response);
    let cert = Certificate::from_openssh(&cert_line).unwrap();
    cert.verify_signature().unwrap();
    assert_eq!(
        &PublicKey::from(cert.signature_key().clone())
            .to_openssh()
            .unwrap(),
        &ca_line
    );

    if !have_openssh() {
        return;
    }
    let cert_path = tmp.path().join("id_ed25519-cert.pub");
    std::fs::write(&cert_path, format!("{cert_line}\n")).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-L")
        .arg("-f")
        .arg(&cert_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Signing CA: ECDSA SHA256:"), "{text}");
    assert!(text.contains("(using ecdsa-sha2-nistp256)"), "{text}");

    std::fs::write(tmp.path().join("revoked.krl"), Krl::default().to_bytes()).unwrap();
    let sshd = Sshd::start(tmp.path(), &ca_line, &["alice"], None);
    let out = sshd.ssh(&key, &cert_path, None, "echo signed-by-kms");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
    assert_eq!(stdout(&out), "signed-by-kms");
}

#[tokio::test]
async fn kms_p384_ca_signs() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let key_id = create_key(&aws, KeySpec::EccNistP384, KeyUsageType::SignVerify).await;
    let kms = Kms::new(&aws);
    let config = CaKeyConfig {
        kms_key_id: Some(key_id),
        ..CaKeyConfig::default()
    };
    let ca = CaKey::load(&config, None, Some(&kms), "us-east-1")
        .await
        .unwrap();
    let service = service_with(ca, &aws, Policy::default());
    let line = include_str!("../testdata/user-ecdsa384.pub");
    let cert = issued(
        service
            .handle(user_request(line, &["alice"]), "kms-2", now())
            .await,
    );
    let cert = Certificate::from_openssh(&cert).unwrap();
    cert.verify_signature().unwrap();
}

#[tokio::test]
async fn rsa_kms_keys_are_refused_as_ca() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let key_id = create_key(&aws, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let config = CaKeyConfig {
        kms_key_id: Some(key_id),
        ..CaKeyConfig::default()
    };
    let err = CaKey::load(&config, None, Some(&Kms::new(&aws)), "us-east-1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ECC_NIST_P256"), "{err}");
}

#[tokio::test]
async fn passphrase_comes_from_kms() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    if !have_openssh() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ca");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-a", "4", "-N", "sesame open", "-f"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let key_text = std::fs::read_to_string(&path).unwrap();

    let key_id = create_key(
        &aws,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await;
    let kms = Kms::new(&aws);
    let blob = kms
        .encrypt(&key_id, b"sesame open", &Default::default())
        .await
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    let config = CaKeyConfig {
        file: Some(path.clone()),
        passphrase_ciphertext: BTreeMap::from([("us-east-1".to_owned(), b64.clone())]),
        kms_key_id: None,
    };
    let ca = CaKey::load(&config, Some(&key_text), Some(&kms), "us-east-1")
        .await
        .unwrap();
    assert_eq!(
        PublicKey::from(ca.public_key().clone())
            .to_openssh()
            .unwrap(),
        pub_line(&path).rsplit_once(' ').unwrap().0
    );

    // No ciphertext for this region: the encrypted key cannot be opened.
    let err = CaKey::load(&config, Some(&key_text), Some(&kms), "eu-west-1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");

    // A wrong passphrase, correctly encrypted, is reported as such.
    let wrong = kms
        .encrypt(&key_id, b"wrong", &Default::default())
        .await
        .unwrap();
    let config = CaKeyConfig {
        passphrase_ciphertext: BTreeMap::from([(
            "us-east-1".to_owned(),
            base64::engine::general_purpose::STANDARD.encode(wrong),
        )]),
        ..config
    };
    let err = CaKey::load(&config, Some(&key_text), Some(&kms), "us-east-1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not decrypt"), "{err}");
}

fn auth_config(key_id: &str) -> KmsAuthConfig {
    KmsAuthConfig {
        key_id: key_id.to_owned(),
        service_name: "ssh-ca".into(),
        max_lifetime_seconds: 3600,
    }
}

#[tokio::test]
async fn kmsauth_tokens_are_bound_to_requester_service_key_and_time() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let kms = Kms::new(&aws);
    let key_id = create_key(
        &aws,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await;
    let other_key = create_key(
        &aws,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await;
    let arn = kms.key_arn(&key_id).await.unwrap();
    let verifier = Verifier::new(auth_config(&key_id), arn);
    let now = i64::try_from(now()).unwrap();

    let token = kmsauth::generate(&kms, &key_id, "alice", "ssh-ca", now, 600)
        .await
        .unwrap();
    verifier
        .verify(&kms, Some(&token), "alice", now)
        .await
        .unwrap();

    let err = verifier
        .verify(&kms, Some(&token), "bob", now)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsAuthError::Foreign { .. }), "{err}");

    let foreign = kmsauth::generate(&kms, &key_id, "alice", "other-service", now, 600)
        .await
        .unwrap();
    let err = verifier
        .verify(&kms, Some(&foreign), "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsAuthError::Foreign { .. }), "{err}");

    let wrong_key = kmsauth::generate(&kms, &other_key, "alice", "ssh-ca", now, 600)
        .await
        .unwrap();
    let err = verifier
        .verify(&kms, Some(&wrong_key), "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsAuthError::WrongKey { .. }), "{err}");

    let stale = kmsauth::generate(&kms, &key_id, "alice", "ssh-ca", now - 7200, 600)
        .await
        .unwrap();
    let err = verifier
        .verify(&kms, Some(&stale), "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsAuthError::Stale { .. }), "{err}");

    let long = kmsauth::generate(&kms, &key_id, "alice", "ssh-ca", now, 86_400)
        .await
        .unwrap();
    let err = verifier
        .verify(&kms, Some(&long), "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsAuthError::TooLong { .. }), "{err}");

    let err = verifier.verify(&kms, None, "alice", now).await.unwrap_err();
    assert!(matches!(err, KmsAuthError::Missing), "{err}");
    let garbage = ssh_ca::model::Token::new("not base64!");
    let err = verifier
        .verify(&kms, Some(&garbage), "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsAuthError::Foreign { .. }), "{err}");
}

#[tokio::test]
async fn handler_requires_kmsauth_when_configured() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let kms = Kms::new(&aws);
    let key_id = create_key(
        &aws,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await;
    let (mut service, _ca) = service(ssh_key::Algorithm::Ed25519, Policy::default());
    service.kms = Some(kms.clone());
    service.kmsauth = Some(Verifier::new(
        auth_config(&key_id),
        kms.key_arn(&key_id).await.unwrap(),
    ));
    let line = include_str!("../testdata/user-ed25519.pub");
    let t = now();

    let response = service
        .handle(user_request(line, &["alice"]), "r1", t)
        .await;
    let Response::Failed {
        error_type,
        message,
    } = response
    else {
        panic!("a request without a token must be refused")
    };
    assert_eq!(error_type, ErrorType::KmsAuthError);
    assert!(message.contains("kmsauth_token"), "{message}");

    let token = kmsauth::generate(
        &kms,
        &key_id,
        "alice",
        "ssh-ca",
        i64::try_from(t).unwrap(),
        600,
    )
    .await
    .unwrap();
    let mut request = user_request(line, &["alice"]);
    request["kmsauth_token"] = json!(token.expose());
    issued(service.handle(request, "r2", t).await);
}

#[tokio::test]
async fn iam_group_membership_grants_principals() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let iam = aws_sdk_iam::Client::new(&aws);
    let user = testkit::unique_name("eng")
        .replace('-', "_")
        .to_ascii_lowercase();
    let prefix = testkit::unique_name("ssh");
    iam.create_user().user_name(&user).send().await.unwrap();
    let group = format!("{prefix}-web");
    iam.create_group().group_name(&group).send().await.unwrap();
    iam.add_user_to_group()
        .group_name(&group)
        .user_name(&user)
        .send()
        .await
        .unwrap();

    let mut policy = Policy::default();
    policy.user.principals = PrincipalRule::IamGroup {
        group_template: format!("{prefix}-{{principal}}"),
    };
    let (mut service, _ca) = service(ssh_key::Algorithm::Ed25519, policy);
    service.iam = Some(ssh_ca::aws::Iam::new(&aws));
    let line = include_str!("../testdata/user-ed25519.pub");
    let mut request = user_request(line, &["web"]);
    request["bastion_user"] = json!(user);
    issued(service.handle(request.clone(), "r1", now()).await);

    request["remote_usernames"] = json!(["web", "db"]);
    let Response::Failed {
        error_type,
        message,
    } = service.handle(request, "r2", now()).await
    else {
        panic!("db is not granted")
    };
    assert_eq!(error_type, ErrorType::AuthorizationError);
    assert!(message.contains(&format!("`{prefix}-db`")), "{message}");
}

#[tokio::test]
async fn dynamodb_store_round_trip() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let store = DynamoStore::new(&aws, testkit::unique_name("ssh-ca"));
    store.create_table().await.unwrap();
    let (service, ca) = service(ssh_key::Algorithm::Ed25519, Policy::default());
    let line = include_str!("../testdata/user-ed25519.pub");
    let cert = issued(
        service
            .handle(user_request(line, &["alice"]), "d1", now())
            .await,
    );
    let cert = Certificate::from_openssh(&cert).unwrap();
    // Move the issuance into DynamoDB through the same trait.
    let record = service
        .store
        .by_serial(cert.serial())
        .await
        .unwrap()
        .unwrap();
    store.record(&record).await.unwrap();
    assert!(store.record(&record).await.is_err(), "serials are unique");
    assert_eq!(
        store.by_serial(cert.serial()).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(store.by_serial(1).await.unwrap(), None);
    assert_eq!(
        store.by_key_id(cert.key_id()).await.unwrap(),
        std::slice::from_ref(&record)
    );

    let revocation = RevocationRecord {
        revocation: Revocation::Serial {
            serial: cert.serial(),
            ca_key: ca.public_key().to_openssh().unwrap(),
        },
        revoked_at: 5,
    };
    store.revoke(&revocation).await.unwrap();
    store.revoke(&revocation).await.unwrap();
    let key = RevocationRecord {
        revocation: Revocation::Key {
            public_key: record.public_key.clone(),
        },
        revoked_at: 6,
    };
    store.revoke(&key).await.unwrap();
    assert_eq!(store.revocations().await.unwrap(), [revocation, key]);

    // The handler records into DynamoDB too.
    let dynamo_service = Service {
        validator: service.validator.clone(),
        policy: service.policy.clone(),
        cas: service.cas.clone(),
        store,
        kms: None,
        iam: None,
        kmsauth: None,
    };
    let cert = issued(
        dynamo_service
            .handle(user_request(line, &["alice"]), "d2", now())
            .await,
    );
    let cert = Certificate::from_openssh(&cert).unwrap();
    let stored = dynamo_service
        .store
        .by_serial(cert.serial())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.key_id, cert.key_id());
}
