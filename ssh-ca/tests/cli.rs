//! The `ssh-ca` binary end to end: sign, ca-keys, request, revoke, krl.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{have_openssh, keygen, pub_line};
use ssh_key::Certificate;

fn ssh_ca(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssh-ca"))
        .args(args)
        .current_dir(dir)
        .env_remove("SSH_CA_CONFIG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A directory with a CA key, a user key and a configuration.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    keygen(dir, "ca", "ed25519");
    keygen(dir, "id_ed25519", "ed25519");
    std::fs::write(
        dir.join("ca.toml"),
        r#"
[[ca.keys]]
file = "ca"

[store]
sqlite = "ssh-ca.db"

[policy.user.principals]
mode = "allow_list"
allow = { alice = ["alice", "deploy"] }
"#,
    )
    .unwrap();
    tmp
}

#[test]
fn ca_keys_prints_trusted_and_known_hosts_lines() {
    if !have_openssh() {
        return;
    }
    let tmp = setup();
    let dir = tmp.path();
    let ca = pub_line(&dir.join("ca"));
    let ca = ca.rsplit_once(' ').unwrap().0;
    let out = ssh_ca(&["ca-keys", "--config", "ca.toml"], dir);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{ca} ssh-ca\n")
    );
    let out = ssh_ca(
        &[
            "ca-keys",
            "--config",
            "ca.toml",
            "--known-hosts",
            "*.example.com",
        ],
        dir,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("@cert-authority *.example.com {ca} ssh-ca\n")
    );
}

#[test]
fn sign_request_revoke_and_krl() {
    if !have_openssh() {
        return;
    }
    let tmp = setup();
    let dir = tmp.path();
    let request = serde_json::json!({
        "bastion_user": "alice",
        "bastion_user_ip": "127.0.0.1",
        "remote_usernames": ["deploy"],
        "public_key_to_sign": pub_line(&dir.join("id_ed25519")),
    });
    std::fs::write(dir.join("req.json"), request.to_string()).unwrap();
    let out = ssh_ca(
        &["sign", "--config", "ca.toml", "--request", "req.json"],
        dir,
    );
    assert!(out.status.success(), "{}", text(&out));
    let signed = Certificate::from_openssh(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(signed.valid_principals(), ["deploy"]);

    // Refused requests exit 1 with the JSON error.
    let bad = serde_json::json!({
        "bastion_user": "alice",
        "bastion_user_ip": "127.0.0.1",
        "remote_usernames": ["root"],
        "public_key_to_sign": pub_line(&dir.join("id_ed25519")),
    });
    std::fs::write(dir.join("bad.json"), bad.to_string()).unwrap();
    let out = ssh_ca(
        &[
            "sign",
            "--config",
            "ca.toml",
            "--request",
            "bad.json",
            "--format",
            "json",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["error_type"], "AuthorizationError");

    // The engineer's client, signing locally.
    let out = ssh_ca(
        &[
            "request",
            "--key",
            "id_ed25519.pub",
            "--principal",
            "alice",
            "--config",
            "ca.toml",
            "--user",
            "alice",
            "--ip",
            "127.0.0.1",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("principals:  alice"), "{printed}");
    assert!(printed.contains("expires:"), "{printed}");
    let cert_path = dir.join("id_ed25519-cert.pub");
    let cert = Certificate::read_file(&cert_path).unwrap();
    assert_eq!(cert.valid_principals(), ["alice"]);

    // Revoke it by its certificate file and write the KRL.
    let out = ssh_ca(&["krl", "--config", "ca.toml", "--out", "empty.krl"], dir);
    assert!(out.status.success(), "{}", text(&out));
    let query = |krl: &str, file: &Path| {
        Command::new("ssh-keygen")
            .args(["-Q", "-f", krl])
            .arg(file)
            .current_dir(dir)
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(query("empty.krl", &cert_path));
    let out = ssh_ca(
        &[
            "revoke",
            "--config",
            "ca.toml",
            "--key",
            "id_ed25519-cert.pub",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = ssh_ca(&["krl", "--config", "ca.toml", "--out", "revoked.krl"], dir);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!query("revoked.krl", &cert_path));

    // By serial: the signed certificate too.
    let signed_path = dir.join("signed-cert.pub");
    signed.write_file(&signed_path).unwrap();
    assert!(query("revoked.krl", &signed_path));
    let serial = signed.serial().to_string();
    let out = ssh_ca(&["revoke", "--config", "ca.toml", "--serial", &serial], dir);
    assert!(out.status.success(), "{}", text(&out));
    ssh_ca(&["krl", "--config", "ca.toml", "--out", "revoked.krl"], dir);
    assert!(!query("revoked.krl", &signed_path));

    // By key id: a third certificate.
    let out = ssh_ca(
        &["sign", "--config", "ca.toml", "--request", "req.json"],
        dir,
    );
    let third = Certificate::from_openssh(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let third_path = dir.join("third-cert.pub");
    third.write_file(&third_path).unwrap();
    assert!(query("revoked.krl", &third_path));
    let out = ssh_ca(
        &["revoke", "--config", "ca.toml", "--key-id", third.key_id()],
        dir,
    );
    assert!(out.status.success(), "{}", text(&out));
    ssh_ca(&["krl", "--config", "ca.toml", "--out", "revoked.krl"], dir);
    assert!(!query("revoked.krl", &third_path));

    // An unknown serial is an input error.
    let out = ssh_ca(&["revoke", "--config", "ca.toml", "--serial", "12345"], dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("12345"));
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ssh_ca(&["revoke", "--config", "x.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let out = ssh_ca(
        &["sign", "--config", "missing.toml", "--request", "r.json"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("missing.toml"), "{}", text(&out));
}
