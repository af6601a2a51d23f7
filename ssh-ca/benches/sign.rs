//! Signing speed: validate and sign a user certificate (Ed25519 and P-256
//! CA), the whole handler in-process without KMS, and a cold `ssh-ca sign`
//! process from start to its answer.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmarks")]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented fn")]

use std::hint::black_box;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use ssh_ca::ca::{CaKey, CaSet};
use ssh_ca::handler::Service;
use ssh_ca::model::{Request, Response};
use ssh_ca::policy::Policy;
use ssh_ca::sign::{Issue, plan_user};
use ssh_ca::store::SqliteStore;
use ssh_ca::validate::{ValidationConfig, Validator};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, EcdsaCurve, LineEnding, PrivateKey};

const KEY: &str = include_str!("../testdata/user-ed25519.pub");

fn payload() -> serde_json::Value {
    json!({
        "bastion_user": "alice",
        "bastion_user_ip": "10.0.0.1",
        "remote_usernames": ["alice"],
        "public_key_to_sign": KEY,
        "bastion_ips": ["10.0.0.0/8"],
        "command": "uptime",
    })
}

fn validate_and_sign(c: &mut Criterion) {
    let validator = Validator::new(ValidationConfig::default()).unwrap();
    let policy = Policy::default();
    let Request::User(request) = Request::from_value(payload()).unwrap() else {
        unreachable!("a user request")
    };
    let cas = [
        ("ed25519", Algorithm::Ed25519),
        (
            "p256",
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        ),
    ];
    for (name, alg) in cas {
        let ca = PrivateKey::random(&mut OsRng, alg).unwrap();
        c.bench_function(&format!("validate_and_sign_user/{name}"), |b| {
            b.iter(|| {
                let valid = validator.user(black_box(&request)).unwrap();
                let issue = Issue {
                    request_id: "bench",
                    now: 1_700_000_000,
                    serial: 7,
                    nonce: [1; 16],
                };
                let plan =
                    plan_user(&valid, &policy.user, ca.public_key().key_data(), &issue).unwrap();
                plan.sign(&ca).unwrap()
            });
        });
    }
}

fn handler(c: &mut Criterion) {
    let ca = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
    let service = Service {
        validator: Validator::new(ValidationConfig::default()).unwrap(),
        policy: Policy::default(),
        cas: CaSet::new(vec![CaKey::Local(Box::new(ca))]).unwrap(),
        store: SqliteStore::in_memory().unwrap(),
        kms: None,
        iam: None,
        kmsauth: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("handler_user_ed25519_sqlite", |b| {
        b.iter(|| {
            let response = runtime.block_on(service.handle(payload(), "bench", 1_700_000_000));
            assert!(matches!(response, Response::Issued { .. }));
        });
    });
}

fn cold_process(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ca = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
    std::fs::write(
        dir.path().join("ca"),
        ca.to_openssh(LineEnding::LF).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ca.toml"),
        "[[ca.keys]]\nfile = \"ca\"\n[store]\nsqlite = \"ssh-ca.db\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("req.json"), payload().to_string()).unwrap();
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(20);
    group.bench_function("ssh_ca_sign_process", |b| {
        b.iter(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_ssh-ca"))
                .args(["sign", "--config", "ca.toml", "--request", "req.json"])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success());
        });
    });
    group.finish();
}

criterion_group!(benches, validate_and_sign, handler, cold_process);
criterion_main!(benches);
