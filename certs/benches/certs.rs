//! Benchmarks: issuance from a CSR with a P-256 CA, a CRL of 100,000
//! entries, and finding certificates expiring within 30 days among 1,000,000.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmarks")]
#![allow(
    missing_docs,
    reason = "criterion_group! defines an undocumented function"
)]

use certs::ca::{Authority, CaOptions, init_ca, key_from_pem};
use certs::crl::{RevokedEntry, build_crl};
use certs::csr::parse_csr;
use certs::issue::{KeySource, Request, Urls, prepare};
use certs::model::Reason;
use certs::profile::Profiles;
use certs::store::{SqliteStore, Store, synthetic_record};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use time::{Duration, OffsetDateTime};

fn authority(now: OffsetDateTime) -> Authority<rcgen::KeyPair> {
    let files = init_ca(&CaOptions::new("Bench"), None, now, &mut rand::rngs::OsRng).unwrap();
    let key = key_from_pem(files.intermediate_key_pem.unwrap().expose()).unwrap();
    Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap()
}

fn issue_from_csr(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let ca = authority(now);
    let profiles = Profiles::from_toml(
        "[profiles.server]\nmax_validity = \"397d\"\ndefault_validity = \"90d\"\ndomains = [\"*.example.com\"]\n",
    )
    .unwrap();
    let profile = profiles.get("server").unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["www.example.com".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .der()
        .to_vec();
    let urls = Urls {
        crl: vec!["http://pki.example.com/issuing.crl".into()],
        ca_issuers: Some("http://pki.example.com/issuing.crt".into()),
        ocsp: None,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    c.bench_function("issue_from_csr_p256", |b| {
        b.iter(|| {
            let parsed = parse_csr(&csr).unwrap();
            let request = Request {
                dns: vec![],
                ips: vec![],
                key: KeySource::Csr(Box::new(parsed)),
                validity: None,
                owner: None,
            };
            prepare(profile, request, &urls, now, &mut rng)
                .unwrap()
                .sign(&ca)
                .unwrap()
        });
    });
}

fn crl_100k(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let ca = authority(now);
    let entries: Vec<RevokedEntry> = (0..100_000u64)
        .map(|n| RevokedEntry {
            serial: format!("{:032x}", u128::from(n) | (1u128 << 126)),
            at: now,
            reason: Reason::KeyCompromise,
        })
        .collect();
    let mut group = c.benchmark_group("crl");
    group.sample_size(10);
    group.bench_function("crl_100k_entries", |b| {
        b.iter(|| build_crl(&ca, 7, &entries, now, Duration::days(7)).unwrap());
    });
    group.finish();
}

fn expiring_1m(c: &mut Criterion) {
    let now = time::macros::datetime!(2030-01-01 00:00 UTC);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = SqliteStore::in_memory().unwrap();
    // Expiries spread evenly over 1,000 days: about 30,000 fall within 30 days.
    let batch: Vec<_> = (0..1_000_000u64)
        .map(|n| {
            let offset = i64::try_from(n * 864 / 10).unwrap_or(0);
            synthetic_record(n, now + Duration::seconds(offset))
        })
        .collect();
    runtime.block_on(store.insert_many(&batch)).unwrap();
    drop(batch);
    let mut group = c.benchmark_group("inventory");
    group.sample_size(10);
    group.bench_function("expiring_30d_of_1m", |b| {
        b.iter(|| {
            let found = runtime
                .block_on(store.expiring(now, now + Duration::days(30)))
                .unwrap();
            assert!(found.len() > 25_000 && found.len() < 35_000);
            found.len()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = issue_from_csr, crl_100k, expiring_1m
}
criterion_main!(benches);
