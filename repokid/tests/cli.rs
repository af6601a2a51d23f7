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

/// The store from the environment alone (as in Lambda): a DynamoDB table on
/// moto, created by `init-table`, then the same update, plan and stats.
#[tokio::test]
async fn a_dynamodb_store_named_by_the_environment() {
    if testkit::aws_config().await.is_none() {
        return;
    }
    let table = testkit::unique_name("repokid-cli");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_repokid"))
            .args(["--now", NOW])
            .args(args)
            .env("REPOKID__STORE__DYNAMODB_TABLE", &table)
            .env_remove("REPOKID_DB")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, _, err) = run(&["scheduled"]);
    assert!(
        !ok && err.contains(&table) && err.contains("init-table"),
        "{err}"
    );
    let (ok, out, err) = run(&["init-table"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("`{table}` is ready")), "{out}");
    // Again: it exists, nothing to do.
    let (ok, _, err) = run(&["init-table"]);
    assert!(ok, "{err}");

    let from = examples();
    let (ok, out, err) = run(&["update", "--from", from.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("10 roles, 12 new policy versions")
            && out.contains(&format!("stored in DynamoDB table `{table}`")),
        "{out}"
    );
    let (_, out, _) = run(&["update", "--from", from.to_str().unwrap()]);
    assert!(out.contains(" 0 new policy versions"), "{out}");
    let (ok, _, err) = run(&["plan", "--all"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["stats", "--format", "json"]);
    assert!(ok, "{err}");
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["store"]["roles"], 10);
    assert_eq!(stats["store"]["policy_versions"], 12);
    assert_eq!(stats["store"]["plans"], 10);
    assert_eq!(stats["outcomes"]["repo"], 5);
    assert_eq!(stats["series"].as_array().unwrap().len(), 1);
}

/// The example account is `111122223333`, not moto's caller account: with
/// no role to assume, `repo` refuses its roles, naming the account and the
/// fix; assuming `RepokidRole` there (by `--assume-role`, or by
/// `accounts.ids`) it changes the role in its own account, path included.
#[tokio::test]
async fn repo_and_rollback_reach_the_account_of_the_role() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    const ACCOUNT: &str = "111122223333";
    const ARN: &str = "arn:aws:iam::111122223333:role/service-role/lambda-orders";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let from = examples();
    let (ok, _, err) = repokid(&db, &["update", "--from", from.to_str().unwrap()]);
    assert!(ok, "{err}");

    let (ok, _, err) = repokid(&db, &["repo", "--role", "lambda-orders"]);
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!("account `{ACCOUNT}`")) && err.contains("--assume-role"),
        "{err}"
    );
    // `--all`: each role refused on its own; exit 1.
    let out = Command::new(env!("CARGO_BIN_EXE_repokid"))
        .arg("--db")
        .arg(&db)
        .args(["--now", NOW, "repo", "--all"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("5 of 5 roles failed"), "{err}");

    // The role in its account, as the export has it.
    let member = repokid::aws::accounts::assume(
        &config,
        repokid::aws::accounts::PARTITION,
        ACCOUNT,
        "RepokidRole",
    )
    .await
    .unwrap();
    let iam = aws_sdk_iam::Client::new(&member);
    let export: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(from.join("authorization-details.json")).unwrap(),
    )
    .unwrap();
    let role = export["RoleDetailList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Arn"] == ARN)
        .unwrap();
    // Already there when moto served an earlier run: put back as exported.
    let _ = iam
        .create_role()
        .role_name("lambda-orders")
        .path("/service-role/")
        .assume_role_policy_document(role["AssumeRolePolicyDocument"].to_string())
        .send()
        .await;
    for p in role["RolePolicyList"].as_array().unwrap() {
        iam.put_role_policy()
            .role_name("lambda-orders")
            .policy_name(p["PolicyName"].as_str().unwrap())
            .policy_document(p["PolicyDocument"].to_string())
            .send()
            .await
            .unwrap();
    }
    let table_actions = || async {
        let doc = iam
            .get_role_policy()
            .role_name("lambda-orders")
            .policy_name("orders-table")
            .send()
            .await
            .unwrap()
            .policy_document;
        let policy = policies::Policy::parse(&doc).unwrap();
        policy
            .statements
            .iter()
            .next()
            .unwrap()
            .action_patterns()
            .len()
    };
    assert_eq!(table_actions().await, 4);

    let (ok, out, err) = repokid(
        &db,
        &[
            "repo",
            "--role",
            "lambda-orders",
            "--assume-role",
            "RepokidRole",
            "--commit",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("PutRolePolicy orders-table"), "{out}");
    assert_eq!(table_actions().await, 3, "dynamodb:UpdateItem removed");

    // `accounts.ids` set: the configured role is assumed (the ARN names the role).
    let out = Command::new(env!("CARGO_BIN_EXE_repokid"))
        .arg("--db")
        .arg(&db)
        .args(["--now", NOW, "rollback", "--role", ARN, "--commit"])
        .env("REPOKID__ACCOUNTS__IDS", format!("[\"{ACCOUNT}\"]"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table_actions().await, 4);
}
