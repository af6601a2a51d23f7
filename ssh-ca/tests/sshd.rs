//! Certificates proven against a real sshd on 127.0.0.1 and read back by
//! `ssh-keygen -L` and `ssh-keygen -Q`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::json;
use ssh_ca::handler::Service;
use ssh_ca::krl::Krl;
use ssh_ca::policy::{Policy, PrincipalRule};
use ssh_ca::store::{Revocation, RevocationRecord, SqliteStore, Store, build_krl};
use ssh_key::{Algorithm, EcdsaCurve, PrivateKey, PublicKey};

/// Everything one login test needs.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    service: Service<SqliteStore>,
    ca: PrivateKey,
    key: PathBuf,
    requests: std::cell::Cell<u32>,
}

fn setup(alg: Algorithm, policy: Policy) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let (service, ca) = service(alg, policy);
    let key = keygen(&dir, "id_ed25519", "ed25519");
    std::fs::write(dir.join("revoked.krl"), Krl::default().to_bytes()).unwrap();
    Setup {
        _tmp: tmp,
        dir,
        service,
        ca,
        key,
        requests: std::cell::Cell::new(0),
    }
}

impl Setup {
    fn ca_pub(&self) -> String {
        self.ca.public_key().to_openssh().unwrap()
    }

    fn sshd(&self, principals: &[&str]) -> Sshd {
        Sshd::start(&self.dir, &self.ca_pub(), principals, None)
    }

    /// Signs a user request with `extra` fields merged in, at `now`, and
    /// writes the certificate beside the key.
    async fn sign(&self, extra: serde_json::Value, now: u64) -> PathBuf {
        let mut request = json!({
            "bastion_user": "alice",
            "bastion_user_ip": "127.0.0.1",
            "remote_usernames": ["alice"],
            "public_key_to_sign": pub_line(&self.key),
        });
        for (k, v) in extra.as_object().unwrap() {
            request[k] = v.clone();
        }
        let n = self.requests.get() + 1;
        self.requests.set(n);
        let id = format!("test-request-{n}");
        let cert = issued(self.service.handle(request, &id, now).await);
        let path = self.dir.join("id_ed25519-cert.pub");
        std::fs::write(&path, format!("{cert}\n")).unwrap();
        path
    }

    async fn write_krl(&self) {
        let records = self.service.store.revocations().await.unwrap();
        let krl = build_krl(&records, now()).unwrap();
        std::fs::write(self.dir.join("revoked.krl"), krl.to_bytes()).unwrap();
    }
}

fn assert_login(sshd: &Sshd, out: &std::process::Output, expected: &str) {
    assert!(
        out.status.success(),
        "login failed: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
    assert_eq!(stdout(out), expected);
}

fn assert_refused(sshd: &Sshd, out: &std::process::Output) {
    assert!(
        !out.status.success(),
        "login should have been refused; sshd log:\n{}",
        sshd.log()
    );
    assert_eq!(
        out.status.code(),
        Some(255),
        "ssh's own failure, not the command's"
    );
}

#[tokio::test]
async fn fresh_certificate_logs_in_and_runs_a_command() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let sshd = s.sshd(&["alice"]);
    let cert = s.sign(json!({}), now()).await;
    let out = sshd.ssh(&s.key, &cert, None, "echo logged-in-as-$(id -un)");
    assert_login(&sshd, &out, &format!("logged-in-as-{}", current_user()));
}

#[tokio::test]
async fn p256_ca_certificate_logs_in() {
    if !have_openssh() {
        return;
    }
    let s = setup(
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        },
        Policy::default(),
    );
    let sshd = s.sshd(&["alice"]);
    let cert = s.sign(json!({}), now()).await;
    assert_login(&sshd, &sshd.ssh(&s.key, &cert, None, "echo ok"), "ok");
}

#[tokio::test]
async fn expired_certificate_is_refused() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let sshd = s.sshd(&["alice"]);
    // Issued an hour ago with the default 120 s lifetime.
    let cert = s.sign(json!({}), now() - 3600).await;
    assert_refused(&sshd, &sshd.ssh(&s.key, &cert, None, "true"));
    assert!(sshd.log().contains("expired"), "{}", sshd.log());
}

#[tokio::test]
async fn wrong_principal_is_refused() {
    if !have_openssh() {
        return;
    }
    let mut policy = Policy::default();
    policy.user.principals = PrincipalRule::AllowList {
        allow: [("alice".to_owned(), vec!["bob".to_owned()])].into(),
    };
    let s = setup(Algorithm::Ed25519, policy);
    let sshd = s.sshd(&["alice"]);
    let cert = s.sign(json!({"remote_usernames": ["bob"]}), now()).await;
    assert_refused(&sshd, &sshd.ssh(&s.key, &cert, None, "true"));
}

#[tokio::test]
async fn source_address_is_enforced() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let sshd = s.sshd(&["alice"]);
    let cert = s
        .sign(
            json!({"bastion_ips": ["10.9.9.0/24", "2001:db8::/32"]}),
            now(),
        )
        .await;
    assert_refused(&sshd, &sshd.ssh(&s.key, &cert, None, "true"));
    assert!(
        sshd.log().contains("not from a permitted source address"),
        "{}",
        sshd.log()
    );

    let cert = s.sign(json!({"bastion_ips": ["127.0.0.0/8"]}), now()).await;
    assert_login(
        &sshd,
        &sshd.ssh(&s.key, &cert, None, "echo inside"),
        "inside",
    );
}

#[tokio::test]
async fn force_command_is_enforced() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let sshd = s.sshd(&["alice"]);
    let cert = s.sign(json!({"command": "echo forced"}), now()).await;
    let out = sshd.ssh(&s.key, &cert, None, "echo asked");
    assert_login(&sshd, &out, "forced");
}

fn keygen_query(krl: &Path, file: &Path) -> (bool, String) {
    let out = Command::new("ssh-keygen")
        .arg("-Q")
        .arg("-f")
        .arg(krl)
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn revoked_certificate_is_refused() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let sshd = s.sshd(&["alice"]);
    let cert_path = s.sign(json!({}), now()).await;
    assert_login(
        &sshd,
        &sshd.ssh(&s.key, &cert_path, None, "echo before"),
        "before",
    );
    let krl = s.dir.join("revoked.krl");
    assert!(keygen_query(&krl, &cert_path).0, "not revoked yet");

    let cert = ssh_key::Certificate::read_file(&cert_path).unwrap();
    let issued = s
        .service
        .store
        .by_serial(cert.serial())
        .await
        .unwrap()
        .unwrap();
    s.service
        .store
        .revoke(&RevocationRecord {
            revocation: Revocation::Serial {
                serial: cert.serial(),
                ca_key: issued.ca_key,
            },
            revoked_at: now(),
        })
        .await
        .unwrap();
    s.write_krl().await;

    let (ok, text) = keygen_query(&krl, &cert_path);
    assert!(!ok && text.contains("REVOKED"), "{text}");
    assert_refused(&sshd, &sshd.ssh(&s.key, &cert_path, None, "true"));
    assert!(sshd.log().contains("revoked"), "{}", sshd.log());

    // A new certificate for the same key, another serial, still logs in.
    let fresh = s.sign(json!({}), now()).await;
    assert_login(
        &sshd,
        &sshd.ssh(&s.key, &fresh, None, "echo after"),
        "after",
    );
}

#[tokio::test]
async fn krl_by_key_id_and_by_key_is_read_by_ssh_keygen() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let first = s.sign(json!({}), now()).await;
    let first_copy = s.dir.join("first-cert.pub");
    std::fs::copy(&first, &first_copy).unwrap();
    let cert = ssh_key::Certificate::read_file(&first_copy).unwrap();
    let second = s.sign(json!({}), now()).await;
    let krl = s.dir.join("revoked.krl");

    // By key id: only the first certificate.
    s.service
        .store
        .revoke(&RevocationRecord {
            revocation: Revocation::KeyId {
                key_id: cert.key_id().to_owned(),
                ca_key: s.ca_pub(),
            },
            revoked_at: now(),
        })
        .await
        .unwrap();
    s.write_krl().await;
    assert!(!keygen_query(&krl, &first_copy).0);
    assert!(keygen_query(&krl, &second).0);

    // By key: the key itself and every certificate for it.
    let other = keygen(&s.dir, "other", "ed25519");
    let key = PublicKey::from_openssh(&pub_line(&s.key)).unwrap();
    s.service
        .store
        .revoke(&RevocationRecord {
            revocation: Revocation::Key {
                public_key: key.to_openssh().unwrap(),
            },
            revoked_at: now(),
        })
        .await
        .unwrap();
    s.write_krl().await;
    assert!(!keygen_query(&krl, &second).0);
    assert!(!keygen_query(&krl, &s.key.with_extension("pub")).0);
    assert!(keygen_query(&krl, &other.with_extension("pub")).0);
}

#[tokio::test]
async fn host_certificate_is_accepted_through_cert_authority() {
    if !have_openssh() {
        return;
    }
    let mut policy = Policy::default();
    policy.host.allowed_domains = vec!["example.com".into()];
    let s = setup(Algorithm::Ed25519, policy);
    let host_key = keygen(&s.dir, "host_ed25519", "ed25519");
    let request = json!({
        "hostnames": ["other.example.org"],
        "public_key_to_sign": pub_line(&host_key),
    });
    let refused = s.service.handle(request, "host-request", now()).await;
    assert!(
        matches!(refused, ssh_ca::model::Response::Failed { .. }),
        "{refused:?}"
    );
    let request = json!({
        "hostnames": ["testhost.example.com"],
        "public_key_to_sign": pub_line(&host_key),
    });
    let host_cert = issued(s.service.handle(request, "host-request", now()).await);
    let sshd = Sshd::start(&s.dir, &s.ca_pub(), &["alice"], Some(&host_cert));
    let user_cert = s.sign(json!({}), now()).await;

    let known_hosts = s.dir.join("known_hosts");
    let lines = s.service.cas.known_hosts_lines("*.example.com");
    std::fs::write(&known_hosts, lines.join("\n") + "\n").unwrap();
    let out = sshd.ssh(
        &s.key,
        &user_cert,
        Some((&known_hosts, "testhost.example.com")),
        "echo trusted-host",
    );
    assert_login(&sshd, &out, "trusted-host");

    // Another CA in known_hosts: the host is not trusted.
    let (other, _) = service(Algorithm::Ed25519, Policy::default());
    std::fs::write(
        &known_hosts,
        other.cas.known_hosts_lines("*.example.com").join("\n") + "\n",
    )
    .unwrap();
    let out = sshd.ssh(
        &s.key,
        &user_cert,
        Some((&known_hosts, "testhost.example.com")),
        "true",
    );
    assert_refused(&sshd, &out);
}

#[tokio::test]
async fn ssh_keygen_shows_exactly_the_requested_fields() {
    if !have_openssh() {
        return;
    }
    let s = setup(Algorithm::Ed25519, Policy::default());
    let now = 1_900_000_000;
    let cert_path = s
        .sign(
            json!({"command": "uptime", "bastion_ips": ["10.0.0.0/8", "192.0.2.7"]}),
            now,
        )
        .await;
    let cert = ssh_key::Certificate::read_file(&cert_path).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-L")
        .arg("-f")
        .arg(&cert_path)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).map(str::trim).collect();
    let fp = |k: &PublicKey| k.fingerprint(ssh_key::HashAlg::Sha256).to_string();
    let user_key = PublicKey::from_openssh(&pub_line(&s.key)).unwrap();
    let expected = vec![
        "Type: ssh-ed25519-cert-v01@openssh.com user certificate".to_owned(),
        format!("Public key: ED25519-CERT {}", fp(&user_key)),
        format!(
            "Signing CA: ED25519 {} (using ssh-ed25519)",
            fp(s.ca.public_key())
        ),
        format!("Key ID: \"{}\"", cert.key_id()),
        format!("Serial: {}", cert.serial()),
        "Valid: from 2030-03-17T17:44:40 to 2030-03-17T17:48:40".to_owned(),
        "Principals:".to_owned(),
        "alice".to_owned(),
        "Critical Options:".to_owned(),
        "force-command uptime".to_owned(),
        "source-address 10.0.0.0/8,192.0.2.7/32".to_owned(),
        "Extensions:".to_owned(),
        "permit-X11-forwarding".to_owned(),
        "permit-agent-forwarding".to_owned(),
        "permit-port-forwarding".to_owned(),
        "permit-pty".to_owned(),
        "permit-user-rc".to_owned(),
    ];
    assert_eq!(lines, expected, "{text}");
    let id = cert.key_id();
    assert!(
        id.starts_with(
            "request[test-request-1] for[alice] from[127.0.0.1] command[uptime] ssh_key[SHA256:"
        ),
        "{id}"
    );
    assert!(id.ends_with("valid_to[2030-03-17T17:48:40Z]"), "{id}");
}
