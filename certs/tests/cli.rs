//! The `certs` binary end to end in a temporary directory (no AWS).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::process::{Command, Output};

fn certs(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certs"))
        .args(args)
        .current_dir(dir)
        .env_remove("CERTS_CONFIG")
        .env_remove("CERTS_DB")
        .env_remove("CERTS_TABLE")
        .env_remove("CERTS_DIR")
        .env_remove("CERTS_KMS_KEY_ID")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn init_issue_list_show_expiring_revoke_crl() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles.example.toml"),
        dir.join("profiles.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("certs.toml"),
        "crl_urls = [\"http://pki.example.com/issuing.crl\"]\n",
    )
    .unwrap();

    let out = certs(
        dir,
        &["ca", "init", "--name", "Cli", "--permit", "example.com"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("pki/issuing.pem").exists() && dir.join("pki/root.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("pki/issuing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = certs(dir, &["ca", "init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    let out = certs(
        dir,
        &[
            "--format",
            "json",
            "issue",
            "--profile",
            "server",
            "--dns",
            "www.example.com",
            "--out-dir",
            "out",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let issued: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let serial = issued["record"]["serial"].as_str().unwrap().to_owned();
    assert!(dir.join(format!("out/{serial}.key")).exists());
    assert_eq!(issued["record"]["sans"][0], "www.example.com");

    // A refusal exits 1 and names the rule.
    let refused = certs(
        dir,
        &["issue", "--profile", "server", "--dns", "www.evil.org"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("rule `domains`"),
        "{}",
        stderr(&refused)
    );
    let refused = certs(
        dir,
        &[
            "issue",
            "--profile",
            "server",
            "--dns",
            "a.example.com",
            "--validity",
            "400d",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("rule `max_validity`"),
        "{}",
        stderr(&refused)
    );

    let list = certs(dir, &["list"]);
    assert!(list.status.success());
    assert!(stdout(&list).contains(&serial) && stdout(&list).contains("active"));

    let show = certs(dir, &["--format", "json", "show", &serial]);
    let record: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(record["profile"], "server");
    assert!(
        record["pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let soon = certs(dir, &["--format", "json", "expiring", "--within", "30d"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout(&soon)).unwrap(),
        serde_json::json!([])
    );
    let later = certs(dir, &["--format", "json", "expiring", "--within", "91d"]);
    let later: serde_json::Value = serde_json::from_str(&stdout(&later)).unwrap();
    assert_eq!(later[0]["serial"], serial.as_str());

    let bad_reason = certs(dir, &["revoke", &serial, "--reason", "stolen"]);
    assert_eq!(bad_reason.status.code(), Some(2));
    let revoked = certs(dir, &["revoke", &serial, "--reason", "keyCompromise"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));

    let crl = certs(dir, &["crl", "--out", "crl.pem"]);
    assert!(crl.status.success(), "{}", stderr(&crl));
    assert!(stdout(&crl).contains("CRL number 1"));
    let crl = certs(dir, &["crl", "--out", "crl.pem"]);
    assert!(stdout(&crl).contains("CRL number 2"));
    assert!(
        std::fs::read_to_string(dir.join("crl.pem"))
            .unwrap()
            .contains("BEGIN X509 CRL")
    );

    // Rotation writes a new certificate and links old to new.
    let out = certs(
        dir,
        &[
            "issue",
            "--profile",
            "server",
            "--dns",
            "api.example.com",
            "--out-dir",
            "out",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let serial2 = stdout(&out).split_whitespace().nth(1).unwrap().to_owned();
    let rotated = certs(
        dir,
        &["--format", "json", "rotate", &serial2, "--out-dir", "out"],
    );
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let rotated: serde_json::Value = serde_json::from_str(&stdout(&rotated)).unwrap();
    let new_serial = rotated["new_serial"].as_str().unwrap();
    let show = certs(dir, &["--format", "json", "show", &serial2]);
    let old: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(old["replaced_by"], new_serial);
}
