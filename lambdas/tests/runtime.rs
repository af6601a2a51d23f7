//! Each bootstrap binary as a real process behind a local Lambda Runtime API
//! (`support`), on moto where the function needs AWS: real-format events in,
//! the answers Lambda would get out; a bad event gets an error response and
//! the process goes on serving; a bad configuration is reported to the init
//! error endpoint and the process exits before polling.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::time::Duration;

use repokid::Store as _;
use repokid::model::{AccessRecord, AccessSource, Scheduled};
use serde_json::{Value, json};
use ssh_key::rand_core::OsRng;
use support::{RuntimeApi, certs_env, exit, spawn, ssh_ca_setup};

const SSH_CA_SIGN: &str = env!("CARGO_BIN_EXE_ssh-ca-sign");
const SSH_CA_SIGN_HOST: &str = env!("CARGO_BIN_EXE_ssh-ca-sign-host");
const CERTS_ISSUE: &str = env!("CARGO_BIN_EXE_certs-issue");
const CERTS_EXPIRY: &str = env!("CARGO_BIN_EXE_certs-expiry");
const REPOKID_UPDATE: &str = env!("CARGO_BIN_EXE_repokid-update");
const REPOKID_REPO_SCHEDULED: &str = env!("CARGO_BIN_EXE_repokid-repo-scheduled");
const MONITOR_AUDIT: &str = env!("CARGO_BIN_EXE_monitor-audit");
const MONITOR_ACCOUNT: &str = env!("CARGO_BIN_EXE_monitor-account");
const MONITOR_CONFIG_RULE: &str = env!("CARGO_BIN_EXE_monitor-config-rule");

fn public_key() -> String {
    ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519)
        .unwrap()
        .public_key()
        .to_openssh()
        .unwrap()
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn ssh_ca_sign_serves_user_requests_and_survives_bad_events() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let (config, auth, table) = ssh_ca_setup(&aws).await;
    let api = RuntimeApi::start().await;
    let child = spawn(SSH_CA_SIGN, &api, &[("SSH_CA_CONFIG", config)]);

    let kms = ssh_ca::aws::Kms::new(&aws);
    let token = ssh_ca::kmsauth::generate(&kms, &auth, "alice", "ssh-ca", unix_now(), 600)
        .await
        .unwrap();
    let request = json!({
        "bastion_user": "alice",
        "bastion_user_ip": "10.0.0.1",
        "remote_usernames": ["alice"],
        "public_key_to_sign": public_key(),
        "command": "uptime",
        "kmsauth_token": token.expose(),
    });
    let answer = api.call(&request).await.response();
    let line = answer["certificate"].as_str().expect("a certificate");
    let cert = ssh_key::Certificate::from_openssh(line).unwrap();
    assert_eq!(cert.cert_type(), ssh_key::certificate::CertType::User);
    assert_eq!(cert.valid_principals(), ["alice"]);
    // The issuance is recorded in DynamoDB.
    use ssh_ca::store::Store;
    let store = ssh_ca::dynamo::DynamoStore::new(&aws, &table);
    let recorded = store.by_serial(cert.serial()).await.unwrap().unwrap();
    assert_eq!(recorded.requester, "alice");

    // Not an object, not JSON at all, and a host request: Lambda errors.
    let err = api.call(&json!([1, 2])).await.error();
    assert_eq!(err["errorType"], "InvalidEvent");
    let id = api.push_raw(b"not json".to_vec());
    let outcome = api.outcome(&id, Duration::from_secs(30)).await.unwrap();
    assert!(
        matches!(outcome, support::Outcome::Error { .. }),
        "{outcome:?}"
    );
    let host = json!({"hostnames": ["web1.example.com"], "public_key_to_sign": public_key()});
    let err = api.call(&host).await.error();
    assert_eq!(err["errorType"], "InvalidEvent");
    assert!(err["errorMessage"].as_str().unwrap().contains("hostnames"));

    // A refusal is ssh-ca's own answer, which `ssh-ca request` reads.
    let mut no_token = request.clone();
    no_token.as_object_mut().unwrap().remove("kmsauth_token");
    let refused = api.call(&no_token).await.response();
    assert_eq!(refused["error_type"], "KmsAuthError", "{refused}");

    // Still serving.
    let again = api.call(&request).await.response();
    assert!(again["certificate"].as_str().is_some(), "{again}");
    drop(child);
}

#[tokio::test]
async fn ssh_ca_sign_host_signs_only_host_certificates() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let (config, _, _) = ssh_ca_setup(&aws).await;
    let api = RuntimeApi::start().await;
    let child = spawn(SSH_CA_SIGN_HOST, &api, &[("SSH_CA_CONFIG", config)]);
    let host = json!({"hostnames": ["web1.example.com"], "public_key_to_sign": public_key()});
    let answer = api.call(&host).await.response();
    let cert = ssh_key::Certificate::from_openssh(answer["certificate"].as_str().unwrap()).unwrap();
    assert_eq!(cert.cert_type(), ssh_key::certificate::CertType::Host);
    assert_eq!(cert.valid_principals(), ["web1.example.com"]);
    let outside = json!({"hostnames": ["web1.evil.org"], "public_key_to_sign": public_key()});
    let refused = api.call(&outside).await.response();
    assert_eq!(refused["error_type"], "AuthorizationError", "{refused}");
    let user = json!({"bastion_user": "alice", "bastion_user_ip": "10.0.0.1",
        "remote_usernames": ["alice"], "public_key_to_sign": public_key()});
    assert_eq!(api.call(&user).await.error()["errorType"], "InvalidEvent");
    drop(child);
}

#[tokio::test]
async fn certs_issue_and_expiry_run_on_moto() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let env = certs_env(&aws).await;
    let api = RuntimeApi::start().await;
    let issue = spawn(CERTS_ISSUE, &api, &env);

    let answer = api
        .call(&json!({"profile": "server", "dns": ["api.example.com"], "key_type": "p256", "validity": "7d", "owner": "team-web"}))
        .await
        .response();
    let serial = answer["serial"].as_str().unwrap().to_owned();
    assert!(
        answer["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        answer["private_key"]
            .as_str()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    assert!(
        answer["chain"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let refused = api
        .call(&json!({"profile": "server", "dns": ["api.evil.org"]}))
        .await
        .error();
    assert_eq!(refused["errorType"], "Refused", "{refused}");
    let unknown = api
        .call(&json!({"profile": "server", "dns": ["a.example.com"], "extra": 1}))
        .await
        .error();
    assert_eq!(unknown["errorType"], "InvalidEvent", "{unknown}");
    assert!(unknown["errorMessage"].as_str().unwrap().contains("extra"));
    let again = api
        .call(&json!({"profile": "server", "dns": ["b.example.com"]}))
        .await
        .response();
    assert_ne!(again["serial"], serial.as_str());
    drop(issue);

    // The schedule: the 7-day certificate gets its 15-day notice, once.
    let api = RuntimeApi::start().await;
    let expiry = spawn(CERTS_EXPIRY, &api, &env);
    let event: Value = serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = api.call(&event).await.response();
    let notices = report["notices"].as_array().unwrap();
    let mine: Vec<&Value> = notices
        .iter()
        .filter(|n| n["serial"] == serial.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{report}");
    assert_eq!(mine[0]["interval_days"], 15, "{report}");
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let report = api.call(&event).await.response();
    assert!(
        report["notices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["serial"] != serial.as_str()),
        "{report}"
    );
    let err = api
        .call(&json!({"not": "an EventBridge event"}))
        .await
        .error();
    assert_eq!(err["errorType"], "InvalidEvent");
    drop(expiry);
}

#[tokio::test]
async fn a_bad_configuration_is_an_init_error_naming_the_variable() {
    for (bootstrap, env, variable) in [
        (SSH_CA_SIGN, vec![], "SSH_CA_CONFIG"),
        (
            SSH_CA_SIGN_HOST,
            vec![(
                "SSH_CA_CONFIG",
                "[[ca.keys]]\nfile = \"/nonexistent/ca\"\n".to_owned(),
            )],
            "ca.keys[0].file",
        ),
        (CERTS_ISSUE, vec![], "CERTS_TABLE"),
        (
            CERTS_EXPIRY,
            vec![
                ("CERTS_TABLE", "t".to_owned()),
                ("CERTS_KMS_KEY_ID", "k".to_owned()),
                ("CERTS_ISSUING_CERT", "x".to_owned()),
                ("CERTS_ROOT_CERT", "x".to_owned()),
                (
                    "CERTS_PROFILES",
                    "[profiles.server]\nbogus = 1\n".to_owned(),
                ),
            ],
            "CERTS_PROFILES",
        ),
        (
            REPOKID_UPDATE,
            vec![(
                "REPOKID_CONFIG",
                "[store]\nsqlite = \"/tmp/x.db\"\n[filter]\nunused_days = -1\n".to_owned(),
            )],
            "filter.unused_days",
        ),
        (
            MONITOR_AUDIT,
            vec![(
                "MONITOR_CONFIG",
                "[store]\ndynamodb_table = \"t\"\n[collect]\nregions = [\"us-east-1\"]\n"
                    .to_owned(),
            )],
            "collect.accounts",
        ),
        (
            MONITOR_ACCOUNT,
            vec![
                (
                    "MONITOR_CONFIG",
                    "[store]\ndynamodb_table = \"t\"\n".to_owned(),
                ),
                ("MONITOR__ALERT__MIN_SEVERITY", "dire".to_owned()),
            ],
            "alert.min_severity",
        ),
        (
            MONITOR_CONFIG_RULE,
            vec![
                (
                    "MONITOR_CONFIG",
                    "[store]\ndynamodb_table = \"t\"\n".to_owned(),
                ),
                (
                    "MONITOR_SUPPRESSIONS",
                    "[[suppress]]\ncheck = \"x\"\n".to_owned(),
                ),
            ],
            "MONITOR_SUPPRESSIONS",
        ),
        (REPOKID_REPO_SCHEDULED, vec![], "store.dynamodb_table"),
    ] {
        let api = RuntimeApi::start().await;
        let mut child = spawn(bootstrap, &api, &env);
        let (header, body) = api
            .init_error(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("{bootstrap}: no init error"));
        assert_eq!(header.as_deref(), Some("Runtime.InvalidConfiguration"));
        assert_eq!(body["errorType"], "Runtime.InvalidConfiguration");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains(variable), "{bootstrap}: {message}");
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(1), "{bootstrap}");
        // It never asked for an event.
        assert!(
            api.first_poll(Duration::ZERO).await.is_none(),
            "{bootstrap}"
        );
    }
}

#[tokio::test]
async fn outside_lambda_the_bootstrap_exits_2_naming_the_runtime_api() {
    let child = tokio::process::Command::new(CERTS_ISSUE)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (code, output) = exit(child).await;
    assert_eq!(code, Some(2));
    assert!(output.contains("AWS_LAMBDA_RUNTIME_API"), "{output}");
}

/// The repokid functions as `template.yaml` configures them: a DynamoDB
/// store, and `RepokidRole` assumed in the account (moto serves no Access
/// Advisor, so access data is put in the store as an update would).
#[tokio::test]
async fn repokid_functions_update_then_repo_a_due_role() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let iam = aws_sdk_iam::Client::new(&aws);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let assumed = testkit::unique_name("RepokidRole");
    iam.create_role()
        .role_name(&assumed)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let name = testkit::unique_name("app");
    let arn = iam
        .create_role()
        .role_name(&name)
        .path("/service/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    let account = arn.split(':').nth(4).unwrap().to_owned();
    let granted = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#;
    iam.put_role_policy()
        .role_name(&name)
        .policy_name("app")
        .policy_document(granted)
        .send()
        .await
        .unwrap();
    let table = testkit::unique_name("repokid");
    let store = repokid::DynamoStore::from_sdk(&aws, &table);
    store.create_table().await.unwrap();
    let config = format!(
        "[accounts]\nids = [\"{account}\"]\nassume_role = \"{assumed}\"\n\
         [store]\ndynamodb_table = \"{table}\"\n\
         [access]\naccess_advisor = false\n[filter]\nmin_age_days = 0\n"
    );

    let api = RuntimeApi::start().await;
    let update = spawn(REPOKID_UPDATE, &api, &[("REPOKID_CONFIG", config.clone())]);
    let event: Value = serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = api.call(&event).await.response();
    assert_eq!(report["failures"], json!([]), "{report}");
    assert_eq!(
        report["accounts"][0]["account"],
        account.as_str(),
        "{report}"
    );
    assert!(report["roles"].as_u64().unwrap() >= 2, "{report}");
    let mut narrowed = event.clone();
    narrowed["detail"] = json!({"accounts": 5});
    let err = api.call(&narrowed).await.error();
    assert_eq!(err["errorType"], "BadEvent", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("detail.accounts")
    );
    drop(update);

    // S3 used yesterday, EC2 not for a year; the role is due.
    let now = time::OffsetDateTime::now_utc();
    let used = |service: &str, days: i64| AccessRecord {
        role_arn: arn.clone(),
        service: service.into(),
        action: None,
        last_used: Some(now - time::Duration::days(days)),
        source: AccessSource::AccessAdvisor,
    };
    store
        .put_access(&[used("s3", 1), used("ec2", 365)], now)
        .await
        .unwrap();
    store
        .schedule(&Scheduled {
            role_arn: arn.clone(),
            role_name: name.clone(),
            due_at: now - time::Duration::hours(1),
            scheduled_at: now - time::Duration::days(7),
            notified: false,
        })
        .await
        .unwrap();

    let api = RuntimeApi::start().await;
    let repo = spawn(REPOKID_REPO_SCHEDULED, &api, &[("REPOKID_CONFIG", config)]);
    let answer = api.call(&event).await.response();
    assert_eq!(
        answer["results"],
        json!([{"role": name, "ok": true, "calls": 1, "committed": true,
                "saved_version": 1, "removed_count": 1}]),
        "{answer}"
    );
    let live = iam
        .get_role_policy()
        .role_name(&name)
        .policy_name("app")
        .send()
        .await
        .unwrap()
        .policy_document;
    let live = policies::Policy::parse(&live).unwrap();
    assert_eq!(
        live.statements.iter().next().unwrap().action_patterns(),
        ["s3:GetObject"]
    );
    // Taken off the schedule: the next run has nothing to do.
    assert_eq!(api.call(&event).await.response(), json!({"results": []}));
    drop(repo);
}

#[tokio::test]
async fn a_failing_dependency_is_an_init_error() {
    let Some(_aws) = testkit::aws_config().await else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let config = format!(
        "[[ca.keys]]\nkms_key_id = \"alias/does-not-exist\"\n[store]\nsqlite = \"{}\"\n",
        state.path().join("ssh-ca.db").display()
    );
    let api = RuntimeApi::start().await;
    let child = spawn(SSH_CA_SIGN, &api, &[("SSH_CA_CONFIG", config)]);
    let (header, body) = api.init_error(Duration::from_secs(30)).await.unwrap();
    assert_eq!(header.as_deref(), Some("Runtime.InitError"));
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("cannot set up the ssh-ca signer"),
        "{message}"
    );
    assert!(message.contains("does-not-exist"), "{message}");
    let (code, _) = exit(child).await;
    assert_eq!(code, Some(1));
}

/// An SQS event as Lambda delivers it, one record per (message id, body).
fn sqs_event(records: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1763800000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1763800000001"
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:monitor",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn monitor_audit_fans_out_and_the_worker_audits_a_task() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = sqs
        .create_queue()
        .queue_name(testkit::unique_name("monitor"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let table = testkit::unique_name("monitor");
    monitor::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table.clone())
        .create_table()
        .await
        .unwrap();
    let account = "123456789012";

    // The scheduled run: 2 accounts x (2 regions + global) tasks.
    let config = format!(
        "[store]\ndynamodb_table = \"{table}\"\n[collect]\naccounts = [\"{account}\", \"111122223333\"]\nregions = [\"us-east-1\", \"eu-west-1\"]\n"
    );
    let api = RuntimeApi::start().await;
    let audit = spawn(
        MONITOR_AUDIT,
        &api,
        &[
            ("MONITOR_CONFIG", config),
            ("MONITOR_QUEUE_URL", queue.clone()),
        ],
    );
    let event: Value = serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let answer = api.call(&event).await.response();
    assert_eq!(answer["sent"], 6, "{answer}");
    let err = api
        .call(&json!({"not": "an EventBridge event"}))
        .await
        .error();
    assert_eq!(err["errorType"], "InvalidEvent", "{err}");
    drop(audit);

    let mut bodies = Vec::new();
    for _ in 0..10 {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        bodies.extend(messages.into_iter().map(|m| m.body.unwrap()));
    }
    let mut tasks: Vec<(String, String)> = bodies
        .iter()
        .map(|b| {
            let task = monitor::fanout::WorkerTask::from_sqs_body(b).unwrap();
            (task.account, task.region)
        })
        .collect();
    tasks.sort();
    let expected: Vec<(String, String)> = [
        ("111122223333", "eu-west-1"),
        ("111122223333", "global"),
        ("111122223333", "us-east-1"),
        (account, "eu-west-1"),
        (account, "global"),
        (account, "us-east-1"),
    ]
    .iter()
    .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(tasks, expected);
    let global = bodies
        .iter()
        .find(|b| {
            let task = monitor::fanout::WorkerTask::from_sqs_body(b).unwrap();
            task.account == account && task.region == "global"
        })
        .unwrap()
        .clone();

    // An administrator user for the worker to find, in moto's IAM.
    let iam = aws_sdk_iam::Client::new(&aws);
    let user = testkit::unique_name("admin");
    iam.create_user().user_name(&user).send().await.unwrap();
    iam.put_user_policy()
        .user_name(&user)
        .policy_name("everything")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();

    // The worker, with its own credentials (no role to assume).
    let topic = aws_sdk_sns::Client::new(&aws)
        .create_topic()
        .name(testkit::unique_name("monitor"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let config =
        format!("[store]\ndynamodb_table = \"{table}\"\n[alert]\nsns_topic_arn = \"{topic}\"\n");
    let api = RuntimeApi::start().await;
    let worker = spawn(MONITOR_ACCOUNT, &api, &[("MONITOR_CONFIG", config)]);
    let answer = api
        .call(&sqs_event(&[("m-1", global.as_str())]))
        .await
        .response();
    assert_eq!(answer, json!({"batchItemFailures": []}));

    use monitor::store::Store;
    let store =
        monitor::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table.clone());
    let scope = monitor::lifecycle::Scope::account(account);
    let recorded = store
        .latest(&monitor::store::Filter {
            scope: scope.clone(),
            include_deleted: false,
        })
        .await
        .unwrap();
    let mine = recorded.iter().find(|i| {
        i.key.resource_type == "AWS::IAM::User" && i.name.as_deref() == Some(user.as_str())
    });
    assert!(mine.is_some(), "{user} not recorded: {recorded:?}");
    let issues = store.issues(&scope).await.unwrap();
    assert!(
        issues.iter().any(|s| s
            .issue
            .arn
            .as_deref()
            .is_some_and(|a| a.ends_with(&format!("user/{user}")))),
        "no issue for {user}: {issues:?}"
    );

    // A bad body fails alone; the good record in the same batch succeeds.
    let answer = api
        .call(&sqs_event(&[
            ("m-2", global.as_str()),
            ("m-3", "not a task"),
        ]))
        .await
        .response();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-3"}]})
    );
    let err = api.call(&json!({"Records": 5})).await.error();
    assert_eq!(err["errorType"], "InvalidEvent", "{err}");
    drop(worker);
}

#[tokio::test]
async fn monitor_config_rule_answers_bad_events_with_errors() {
    let api = RuntimeApi::start().await;
    let rule = spawn(
        MONITOR_CONFIG_RULE,
        &api,
        &[(
            "MONITOR_CONFIG",
            "[store]\ndynamodb_table = \"monitor\"\n".to_owned(),
        )],
    );
    let err = api.call(&json!({"not": "a rule event"})).await.error();
    assert_eq!(err["errorType"], "InvalidEvent", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("invokingEvent"),
        "{err}"
    );
    let err = api
        .call(&json!({"invokingEvent": "not JSON", "resultToken": "t"}))
        .await
        .error();
    assert_eq!(err["errorType"], "InvalidEvent", "{err}");
    // Still serving.
    let err = api.call(&json!([1])).await.error();
    assert_eq!(err["errorType"], "InvalidEvent", "{err}");
    drop(rule);
}
