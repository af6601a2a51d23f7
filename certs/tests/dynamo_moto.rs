//! The DynamoDB inventory against moto (`scripts/test`): every store
//! operation on a fresh table, and the Lambda handlers running on it.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use certs::ca::{Authority, CaOptions, init_ca, key_from_pem};
use certs::issue::Urls;
use certs::lambda::{Deps, IssueEvent, handle_issue, handle_schedule};
use certs::model::{Destination, Reason, Revocation, Status};
use certs::ops::{self, Ca, ScheduleConfig};
use certs::profile::Profiles;
use certs::store::{DynamoStore, Store, StoreError, synthetic_record};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2030-01-20 00:00 UTC);

async fn table() -> Option<DynamoStore> {
    let cfg = testkit::aws_config().await?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&cfg),
        testkit::unique_name("certs-inventory"),
    );
    store.create_table().await.unwrap();
    Some(store)
}

#[tokio::test]
async fn dynamo_inventory_puts_gets_lists_and_never_overwrites() {
    let Some(s) = table().await else { return };
    let r = synthetic_record(1, NOW + Duration::days(10));
    s.insert(&r).await.unwrap();
    assert_eq!(s.get(&r.serial).await.unwrap().unwrap(), r);
    assert_eq!(s.get(&r.fingerprint).await.unwrap().unwrap(), r);
    assert_eq!(s.get("00:").await.unwrap(), None);

    // An issued record is never overwritten, even by a changed copy.
    let mut changed = r.clone();
    changed.owner = Some("someone-else".to_owned());
    assert!(matches!(
        s.insert(&changed).await,
        Err(StoreError::Duplicate(serial)) if serial == r.serial
    ));
    assert_eq!(s.get(&r.serial).await.unwrap().unwrap().owner, None);

    // The same serial from another issuer is a different certificate.
    let mut other = synthetic_record(2, NOW + Duration::days(5));
    other.serial = r.serial.clone();
    other.issuer = "CN=Other Issuing CA".to_owned();
    s.insert(&other).await.unwrap();
    assert!(matches!(
        s.get(&r.serial).await,
        Err(StoreError::Ambiguous(_))
    ));
    assert_eq!(s.get(&other.fingerprint).await.unwrap().unwrap(), other);

    // Listing: soonest expiry first; the CRL counter is not a certificate.
    s.next_crl_number(&r.issuer).await.unwrap();
    let listed = s.list().await.unwrap();
    assert_eq!(listed, vec![other, r]);
}

#[tokio::test]
async fn dynamo_inventory_expiring_revoke_link_crl_numbers_and_notices() {
    let Some(s) = table().await else { return };
    // Expiries from yesterday to two months out, across a month boundary.
    let records: Vec<_> = [-1, 5, 10, 29, 31, 60]
        .iter()
        .enumerate()
        .map(|(i, d)| synthetic_record(100 + i as u64, NOW + Duration::days(*d)))
        .collect();
    s.insert_many(&records).await.unwrap();
    let serials = |found: Vec<certs::model::CertRecord>| -> Vec<String> {
        found.into_iter().map(|r| r.serial).collect()
    };
    let within_30 = serials(s.expiring(NOW, NOW + Duration::days(30)).await.unwrap());
    assert_eq!(
        within_30,
        vec![
            records[1].serial.clone(),
            records[2].serial.clone(),
            records[3].serial.clone()
        ]
    );
    let within_45 = s.expiring(NOW, NOW + Duration::days(45)).await.unwrap();
    assert_eq!(within_45.len(), 4, "{within_45:?}");
    assert!(s.expiring(NOW, NOW).await.unwrap().is_empty());

    // Revoke: once; it leaves the expiring list and enters the CRL list.
    let revocation = Revocation {
        at: NOW,
        reason: Reason::KeyCompromise,
    };
    let revoked = s.revoke(&records[1].serial, &revocation).await.unwrap();
    assert_eq!(revoked.status, Status::Revoked);
    assert_eq!(revoked.revocation, Some(revocation.clone()));
    assert!(matches!(
        s.revoke(&records[1].serial, &revocation).await,
        Err(StoreError::AlreadyRevoked(_))
    ));
    assert!(matches!(
        s.revoke("abcd", &revocation).await,
        Err(StoreError::NotFound(_))
    ));
    let crl = s.revoked(&records[1].issuer, NOW).await.unwrap();
    assert_eq!(crl.len(), 1);
    assert_eq!(crl[0].serial, records[1].serial);
    assert_eq!(crl[0].reason, Reason::KeyCompromise);
    assert!(
        s.revoked(&records[1].issuer, NOW + Duration::days(6))
            .await
            .unwrap()
            .is_empty()
    );

    // Replacement: linked both ways, the old one no longer expiring.
    s.link(&records[2].serial, &records[5].serial)
        .await
        .unwrap();
    assert_eq!(
        s.get(&records[5].serial).await.unwrap().unwrap().replaces,
        Some(records[2].serial.clone())
    );
    assert_eq!(
        serials(s.expiring(NOW, NOW + Duration::days(30)).await.unwrap()),
        vec![records[3].serial.clone()]
    );

    // CRL numbers: strictly increasing per issuer, from 1.
    assert_eq!(s.next_crl_number("CN=A").await.unwrap(), 1);
    assert_eq!(s.next_crl_number("CN=A").await.unwrap(), 2);
    assert_eq!(s.next_crl_number("CN=A").await.unwrap(), 3);
    assert_eq!(s.next_crl_number("CN=B").await.unwrap(), 1);

    // Notices: each interval once.
    let r = &records[3];
    assert!(s.mark_notified(&r.serial, 30, NOW).await.unwrap());
    assert!(!s.mark_notified(&r.serial, 30, NOW).await.unwrap());
    assert!(s.mark_notified(&r.serial, 15, NOW).await.unwrap());
    assert_eq!(s.notified(&r.serial).await.unwrap(), vec![15, 30]);
    assert!(s.notified(&records[4].serial).await.unwrap().is_empty());

    // Destinations: recorded once; the ARN finds the newest certificate.
    let arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc".to_owned();
    let dest = Destination::Acm { arn: arn.clone() };
    s.add_destination(&r.serial, &dest).await.unwrap();
    s.add_destination(&r.serial, &dest).await.unwrap();
    assert_eq!(
        s.get(&r.serial).await.unwrap().unwrap().destinations,
        vec![dest.clone()]
    );
    assert_eq!(s.find_by_arn(&arn).await.unwrap().unwrap().serial, r.serial);
    s.add_destination(&records[5].serial, &dest).await.unwrap();
    assert_eq!(
        s.find_by_arn(&arn).await.unwrap().unwrap().serial,
        records[5].serial
    );
    // An older certificate deployed later does not take the ARN over.
    s.add_destination(&records[0].serial, &dest).await.unwrap();
    assert_eq!(
        s.find_by_arn(&arn).await.unwrap().unwrap().serial,
        records[5].serial
    );
    assert!(s.find_by_arn("arn:other").await.unwrap().is_none());
}

#[tokio::test]
async fn lambda_handlers_run_on_dynamodb() {
    let Some(store) = table().await else { return };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let files = init_ca(&CaOptions::new("Dynamo"), None, now, &mut rand::rngs::OsRng).unwrap();
    let key = key_from_pem(files.intermediate_key_pem.unwrap().expose()).unwrap();
    let authority =
        Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap();
    let deps = Deps {
        ca: Ca::File(authority),
        store: Box::new(store),
        profiles: Profiles::from_toml(
            "[profiles.server]\nmax_validity = \"30d\"\ndomains = [\"*.example.com\"]\n",
        )
        .unwrap(),
        urls: Urls::default(),
        acm: None,
        notifier: None,
        schedule: ScheduleConfig::default(),
    };
    let event: IssueEvent = serde_json::from_str(
        r#"{"profile": "server", "dns": ["db.example.com"], "validity": "7d"}"#,
    )
    .unwrap();
    let answer = handle_issue(&deps, event, now).await.unwrap();
    let stored = deps.store.get(&answer.serial).await.unwrap().unwrap();
    assert_eq!(stored.pem, answer.certificate);
    assert_eq!(stored.sans, vec!["db.example.com"]);

    let report = handle_schedule(&deps, now + Duration::days(6))
        .await
        .unwrap();
    assert_eq!(report.notices.len(), 1, "{report:?}");
    let again = handle_schedule(&deps, now + Duration::days(6))
        .await
        .unwrap();
    assert!(again.notices.is_empty(), "{again:?}");

    ops::revoke(deps.store.as_ref(), &answer.serial, Reason::Superseded, now)
        .await
        .unwrap();
    let first = ops::make_crl(&deps.ca, deps.store.as_ref(), now, Duration::days(1))
        .await
        .unwrap();
    let second = ops::make_crl(&deps.ca, deps.store.as_ref(), now, Duration::days(1))
        .await
        .unwrap();
    assert_eq!((first.number, second.number), (1, 2));
    assert!(
        deps.store
            .revoked(deps.ca.subject(), now)
            .await
            .unwrap()
            .iter()
            .any(|e| e.serial == answer.serial)
    );
}

#[tokio::test]
async fn the_cli_keeps_its_inventory_in_dynamodb_when_table_is_set() {
    let Some(store) = table().await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles.example.toml"),
        dir.join("profiles.toml"),
    )
    .unwrap();
    let certs = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certs"))
            .args(args)
            .current_dir(dir)
            .env("CERTS_TABLE", store.table())
            .env_remove("CERTS_DB")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    certs(&["ca", "init", "--name", "Table"]);
    let issued: serde_json::Value = serde_json::from_str(&certs(&[
        "--format",
        "json",
        "issue",
        "--profile",
        "server",
        "--dns",
        "cli.example.com",
        "--out-dir",
        "out",
    ]))
    .unwrap();
    let serial = issued["record"]["serial"].as_str().unwrap().to_owned();
    // Nothing went to SQLite; the table has the certificate.
    assert!(!dir.join("pki/inventory.db").exists());
    assert_eq!(
        store.get(&serial).await.unwrap().unwrap().sans,
        vec!["cli.example.com"]
    );
    let listed: serde_json::Value =
        serde_json::from_str(&certs(&["--format", "json", "list"])).unwrap();
    assert_eq!(listed[0]["serial"].as_str(), Some(serial.as_str()));
    certs(&["revoke", &serial, "--reason", "keyCompromise"]);
    assert_eq!(
        store.get(&serial).await.unwrap().unwrap().status,
        Status::Revoked
    );
    let crl: serde_json::Value =
        serde_json::from_str(&certs(&["--format", "json", "crl", "--out", "crl.pem"])).unwrap();
    assert_eq!(crl["number"], 1);
}
