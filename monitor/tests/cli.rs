//! The `monitor` command on the bundled example account: audit finds the
//! documented issues and alerts once, justify, history and drift work, and
//! bad input exits 2 with a message naming it.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::Path;
use std::process::{Command, Output};

fn monitor(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_monitor"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("MONITOR_CONFIG")
        .arg("--db")
        .arg(db)
        .args(["--now", "2026-11-22T00:00:00Z"])
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn audit_the_example_then_justify_history_and_drift() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    let from = [
        "audit",
        "--from",
        "examples/account/config",
        "--alert-stderr",
    ];

    let first = monitor(&db, &from);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let table = text(&first.stdout);
    assert!(table.contains("iam.role.trust-unknown-account"), "{table}");
    assert!(table.contains("sqs.queue.public-policy"), "{table}");
    assert!(
        !text(&first.stderr).contains(" 0 alerts"),
        "{}",
        text(&first.stderr)
    );

    let again = monitor(&db, &from);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("0 events, 0 alerts"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(text(&again.stdout), table, "same issues, same report");

    let json = monitor(&db, &["audit", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let id = report["issues"][0]["id"].as_str().unwrap().to_owned();
    let justified = monitor(
        &db,
        &["justify", &id, "--reason", "reviewed", "--by", "test"],
    );
    assert!(justified.status.success(), "{}", text(&justified.stderr));
    let unknown = monitor(&db, &["justify", "0000000000000000", "--reason", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("0000000000000000"));

    let resource = report["issues"][0]["resource"].clone();
    let key = format!(
        "{}/{}/{}/{}",
        resource["account"].as_str().unwrap(),
        resource["region"].as_str().unwrap(),
        resource["resource_type"].as_str().unwrap(),
        resource["resource_id"].as_str().unwrap()
    );
    let history = monitor(&db, &["history", &key]);
    assert!(
        text(&history.stdout).starts_with("revision 1"),
        "{}",
        text(&history.stdout)
    );

    let same = monitor(&db, &["drift", "--baseline", "examples/account/config"]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    let since = monitor(&db, &["drift", "--since", "1d"]);
    assert_eq!(
        since.status.code(),
        Some(1),
        "revisions were recorded today"
    );

    let suppressed = monitor(
        &db,
        &[
            "audit",
            "--suppressions",
            "monitor/suppressions.example.toml",
        ],
    );
    assert!(
        text(&suppressed.stderr).contains("(3 suppressed)"),
        "{}",
        text(&suppressed.stderr)
    );
    assert!(!text(&suppressed.stdout).contains("example-access-logs"));

    let sarif = monitor(
        &db,
        &["audit", "--format", "sarif", "--fail-on", "critical"],
    );
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    let missing = monitor(&db, &["audit", "--from", "examples/account/no-such-dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("no-such-dir"),
        "{}",
        text(&missing.stderr)
    );
    let key = monitor(&db, &["history", "not-a-key"]);
    assert_eq!(key.status.code(), Some(2));
    assert!(
        text(&key.stderr).contains("ACCOUNT/REGION/TYPE/ID"),
        "{}",
        text(&key.stderr)
    );
    let since = monitor(&db, &["drift", "--since", "yesterday"]);
    assert_eq!(since.status.code(), Some(2));
    let checks = monitor(&db, &["checks"]);
    assert!(text(&checks.stdout).contains("s3.bucket.public-policy"));
}
