//! Runs the real `policies` binary the way users do: arguments, files,
//! standard input, output formats and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example() -> String {
    root()
        .join("examples/account/authorization-details.json")
        .display()
        .to_string()
}

fn policies(args: &[&str]) -> Output {
    policies_with_stdin(args, "")
}

fn policies_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_policies"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

const HOME: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Home","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*",
   "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
  {"Sid":"NoSecrets","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::home/*/secret/*"}]}"#;

#[test]
fn eval_allows_denies_and_says_why() {
    let (_dir, file) = temp_file("home.json", HOME);
    let base = [
        "eval",
        "--policy",
        &file,
        "--action",
        "s3:GetObject",
        "--principal",
        "arn:aws:iam::111122223333:user/alice",
        "--context",
        "aws:SourceIp=10.1.2.3",
    ];
    let allowed = policies(&[&base[..], &["--resource", "arn:aws:s3:::home/alice/notes"]].concat());
    assert_eq!(code(&allowed), 0, "{}", stdout(&allowed));
    assert!(stdout(&allowed).starts_with("Allow\n  by identity policy 0, statement 0 (`Home`)"));

    let denied = policies(
        &[
            &base[..],
            &[
                "--resource",
                "arn:aws:s3:::home/alice/secret/k",
                "--format",
                "json",
            ],
        ]
        .concat(),
    );
    assert_eq!(code(&denied), 1);
    let answer = json(&denied);
    assert_eq!(answer["decision"], "ExplicitDeny");
    assert_eq!(answer["determining"][0]["sid"], "NoSecrets");

    let other_user =
        policies(&[&base[..], &["--resource", "arn:aws:s3:::home/bob/notes"]].concat());
    assert_eq!(code(&other_user), 1);
    assert!(stdout(&other_user).starts_with("ImplicitDeny"));
}

#[test]
fn eval_refuses_bad_input_with_exit_2() {
    let (_dir, file) = temp_file("home.json", HOME);
    let bad_context = policies(&[
        "eval",
        "--policy",
        &file,
        "--action",
        "s3:GetObject",
        "--context",
        "novalue",
    ]);
    assert_eq!(code(&bad_context), 2);
    assert!(String::from_utf8_lossy(&bad_context.stderr).contains("--context `novalue`"));

    let (_dir2, broken) = temp_file(
        "broken.json",
        r#"{"Statement":{"Effect":"allow","Action":"*"}}"#,
    );
    let out = policies(&["eval", "--policy", &broken, "--action", "s3:GetObject"]);
    assert_eq!(code(&out), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("Statement.Effect"),
        "{stderr}"
    );

    let missing = policies(&[
        "eval",
        "--policy",
        "/nonexistent/p.json",
        "--action",
        "s3:GetObject",
    ]);
    assert_eq!(code(&missing), 2);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read `/nonexistent/p.json`"));
}

#[test]
fn lint_the_example_account_finds_what_it_documents() {
    let out = policies(&["lint", &example(), "--format", "json"]);
    assert_eq!(code(&out), 1);
    let findings = json(&out);
    let has = |code: &str, policy: &str| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == code && f["policy"].as_str().unwrap().contains(policy))
    };
    assert!(has("admin-wildcard", "role/legacy-admin inline everything"));
    assert!(has("allow-not-action", "role/dev-sandbox"));
    assert!(has("unknown-action", "role/data-pipeline inline etl"));
    assert!(has(
        "unknown-condition-key",
        "role/data-pipeline inline etl"
    ));
    assert!(has(
        "condition-type-mismatch",
        "role/data-pipeline inline etl"
    ));
    assert!(has("resource-star", "role/data-pipeline inline etl"));
    assert!(has("missing-version", "role/billing-reports-legacy"));
    assert!(has("duplicate-sid", "role/billing-reports-legacy"));
    assert!(has("redundant-statement", "role/billing-reports-legacy"));
    assert!(has("privilege-escalation", "policy/ci-deployer"));
    assert!(has("privilege-escalation", "policy/developer-self-service"));
    // The good roles are clean.
    assert!(!findings.as_array().unwrap().iter().any(|f| {
        let p = f["policy"].as_str().unwrap();
        p.contains("lambda-orders") || p.contains("ec2-reports")
    }));
}

#[test]
fn lint_fail_on_and_sarif() {
    let only_critical = policies(&[
        "lint",
        &example(),
        "--fail-on",
        "critical",
        "--format",
        "sarif",
    ]);
    assert_eq!(code(&only_critical), 1, "the example has an admin wildcard");
    let log = json(&only_critical);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "policies");
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "admin-wildcard")
        .unwrap();
    assert_eq!(result["level"], "error");
    assert!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("authorization-details.json")
    );

    let clean = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
    let out = policies_with_stdin(&["lint", "-"], clean);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "0 findings in 1 policy\n");
    let out = policies_with_stdin(
        &["lint", "-", "--fail-on", "high"],
        r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
    );
    assert_eq!(code(&out), 0, "a low finding under --fail-on high");
    let out = policies_with_stdin(&["lint", "-"], "{not json");
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("malformed"));
}

#[test]
fn exposure_of_the_example_roles_and_a_public_bucket() {
    let out = policies(&[
        "exposure",
        &example(),
        "--account",
        "111122223333",
        "--friendly",
        "444455556666",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1);
    let all = json(&out);
    let of = |name: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|a| a["policy"] == format!("role/{name} trust policy"))
            .unwrap()["exposure"]
            .clone()
    };
    assert_eq!(of("public-assume")["internet_accessible"], true);
    assert!(
        of("vendor-monitoring")["reach"]
            .as_array()
            .unwrap()
            .contains(&"third_party".into())
    );
    assert!(
        of("partner-audit")["reach"]
            .as_array()
            .unwrap()
            .contains(&"friendly".into())
    );

    let bucket = root().join("examples/account/resource-policies/s3-example-public-assets.json");
    let out = policies(&[
        "exposure",
        bucket.to_str().unwrap(),
        "--account",
        "111122223333",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("INTERNET ACCESSIBLE"),
        "{}",
        stdout(&out)
    );

    let bad = policies(&["exposure", bucket.to_str().unwrap(), "--account", "1234"]);
    assert_eq!(code(&bad), 2);
}

#[test]
fn expand_minimize_and_diff() {
    let out = policies(&["expand", "s3:GetObjectT*", "--format", "json"]);
    assert_eq!(code(&out), 0);
    let expanded = json(&out);
    let names: Vec<&str> = expanded["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"s3:GetObjectTagging"), "{names:?}");
    let typo = policies(&["expand", "s3:GetObjekt"]);
    assert_eq!(code(&typo), 1);

    let listed = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObjectTagging","s3:GetObjectTorrent","s3:GetObjectVersionTagging","s3:GetObjectVersionTorrent"],"Resource":"*"}}"#;
    let out = policies_with_stdin(&["minimize", "-", "--format", "json"], listed);
    assert_eq!(code(&out), 0);
    let minimized = json(&out);
    let patterns = minimized["Statement"]["Action"].as_array().unwrap();
    assert!(patterns.len() < 4, "{patterns:?}");
    // The minimized policy grants exactly the same: diff says so.
    let (_d1, old) = temp_file("old.json", listed);
    let (_d2, new) = temp_file("new.json", &minimized.to_string());
    let same = policies(&["diff", &old, &new]);
    assert_eq!(code(&same), 0, "{}", stdout(&same));
    let (_d3, wider) = temp_file(
        "wider.json",
        &listed.replace("\"Resource\":\"*\"", "\"Resource\":\"arn:aws:s3:::b/*\""),
    );
    let changed = policies(&["diff", &old, &wider, "--format", "json"]);
    assert_eq!(code(&changed), 1);
    assert_eq!(json(&changed)["changed"][0]["removed"][0], "*");
}
