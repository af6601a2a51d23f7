//! Runs the `repokid` binary on the example account.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::PathBuf;
use std::process::Command;

const NOW: &str = "2024-05-01T00:00:00Z";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/account")
}

fn repokid(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_repokid"))
        .arg("--db")
        .arg(db)
        .args(["--now", NOW])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn update_then_plan_find_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let from = examples();
    let (ok, out, err) = repokid(&db, &["update", "--from", from.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("10 roles, 12 new policy versions"), "{out}");
    // A second update adds no version.
    let (_, out, _) = repokid(&db, &["update", "--from", from.to_str().unwrap()]);
    assert!(out.contains(" 0 new policy versions"), "{out}");

    let (ok, out, err) = repokid(&db, &["plan", "--all", "--format", "json"]);
    assert!(ok, "{err}");
    let plans: serde_json::Value = serde_json::from_str(&out).unwrap();
    let by_name = |name: &str| {
        plans
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["role_name"] == name)
            .unwrap()
            .clone()
    };
    // Action-level CloudTrail data: UpdateItem last used in January.
    let orders = by_name("lambda-orders");
    assert_eq!(orders["outcome"]["kind"], "repo");
    assert_eq!(
        orders["removed"],
        serde_json::json!(["dynamodb:UpdateItem"])
    );
    // Unused for over a year: the only inline policy goes.
    let billing = by_name("billing-reports-legacy");
    assert_eq!(billing["policies"][0]["new"], serde_json::Value::Null);
    // NotAction became an explicit list of what was used.
    let sandbox = by_name("dev-sandbox");
    let actions = &sandbox["policies"][0]["new"]["Statement"][0]["Action"];
    assert!(
        actions.as_array().unwrap().contains(&"ec2:*".into()),
        "{actions}"
    );
    // dynamodb unused since September: the AnyTable statement goes, the rest stays.
    let pipeline = by_name("data-pipeline");
    assert_eq!(
        pipeline["removed_services"],
        serde_json::json!(["dynamodb"])
    );
    assert_eq!(by_name("ec2-reports")["outcome"]["kind"], "unchanged");
    assert_eq!(by_name("public-assume")["outcome"]["kind"], "skipped");

    let (ok, out, _) = repokid(&db, &["plan", "--role", "lambda-orders"]);
    assert!(ok);
    assert!(out.contains("revoked: dynamodb:UpdateItem"), "{out}");

    let (ok, out, _) = repokid(&db, &["find", "--permission", "s3:GetObject"]);
    assert!(ok);
    for role in [
        "ec2-reports",
        "legacy-admin",
        "dev-sandbox",
        "data-pipeline",
        "billing-reports-legacy",
        "public-assume",
    ] {
        assert!(
            out.contains(&format!("{role}\t")),
            "{role} missing from\n{out}"
        );
    }
    assert!(!out.contains("lambda-orders\t"), "{out}");

    let (ok, out, _) = repokid(&db, &["stats", "--format", "json"]);
    assert!(ok);
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["store"]["roles"], 10);
    assert_eq!(stats["outcomes"]["repo"], 5);
}

#[test]
fn plan_from_a_directory_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let from = examples();
    let (ok, out, _) = repokid(&db, &["plan", "--all", "--from", from.to_str().unwrap()]);
    assert!(ok);
    assert!(out.lines().next().unwrap().starts_with("ROLE"), "{out}");
    let (ok, _, err) = repokid(&db, &["plan", "--role", "nobody"]);
    assert!(!ok && err.contains("no role named `nobody`"), "{err}");
    let (ok, _, err) = repokid(&db, &["find", "--permission", "s3:NoSuch"]);
    assert!(!ok && err.contains("matches no known action"), "{err}");
    let (ok, _, err) = repokid(&db, &["update", "--from", dir.path().to_str().unwrap()]);
    assert!(!ok && err.contains("authorization-details.json"), "{err}");
}

#[test]
fn schedule_list_cancel_and_the_stats_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let from = examples();
    let (ok, _, err) = repokid(&db, &["update", "--from", from.to_str().unwrap()]);
    assert!(ok, "{err}");

    let (ok, out, err) = repokid(&db, &["schedule", "--role", "lambda-orders", "--days", "3"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("lambda-orders: due 2024-05-04T00:00:00Z"),
        "{out}"
    );
    // A role with nothing to repo is refused, with exit 1.
    let (ok, _, err) = repokid(&db, &["schedule", "--role", "ec2-reports"]);
    assert!(!ok && err.contains("nothing to repo (unchanged)"), "{err}");
    let (ok, out, _) = repokid(&db, &["scheduled", "--format", "json"]);
    assert!(ok);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["role_name"], "lambda-orders");
    assert_eq!(listed[0]["notified"], false);
    // Not due at NOW: `repo --scheduled` has nothing to do (and needs no AWS).
    let (ok, out, err) = repokid(&db, &["repo", "--scheduled"]);
    assert!(ok, "{err}");
    assert!(out.contains("no role to repo"), "{out}");
    let (ok, out, _) = repokid(&db, &["unschedule", "--role", "lambda-orders"]);
    assert!(ok && out.contains("taken off the schedule"), "{out}");
    let (ok, _, err) = repokid(&db, &["unschedule", "--role", "lambda-orders"]);
    assert!(!ok && err.contains("is not scheduled"), "{err}");

    // Each update appended the account's totals.
    let (ok, out, _) = repokid(&db, &["stats", "--format", "csv"]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("taken_at,account,roles,"), "{out}");
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].starts_with("2024-05-01T00:00:00Z,111122223333,10,"),
        "{out}"
    );
    // The same series in the JSON summary.
    let (_, out, _) = repokid(&db, &["stats", "--format", "json"]);
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["series"][0]["roles_repoable"], 5);
}

#[test]
fn configuration_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let config = dir.path().join("repokid.toml");
    std::fs::write(&config, "[filter]\nmin_age_days = -3\n").unwrap();
    let (ok, _, err) = repokid(&db, &["--config", config.to_str().unwrap(), "scheduled"]);
    assert!(!ok && err.contains("`filter.min_age_days`"), "{err}");
    // The environment overrides the file.
    let out = Command::new(env!("CARGO_BIN_EXE_repokid"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .arg("scheduled")
        .env("REPOKID__FILTER__MIN_AGE_DAYS", "30")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
