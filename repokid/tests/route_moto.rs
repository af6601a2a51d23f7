//! Each IAM write goes to the account of the role's ARN (issue #5: roles
//! of other accounts were looked up in the caller's). moto keeps one IAM
//! per account and gives an assumed-role session the account of the role
//! assumed, so two accounts are told apart here: the caller's own and
//! `OTHER`, reached by assuming `RepokidRole` there.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use aws_config::SdkConfig;
use aws_sdk_sts::config::ProvideCredentials;
use policies::Policy;
use policies::catalogue::Catalogue;
use repokid::apply::{self, Iam};
use repokid::aws::AwsIam;
use repokid::aws::accounts::{self, PARTITION};
use repokid::aws::route::{RoleArn, Route};
use repokid::model::{AccessRecord, AccessSource, NamedPolicy};
use repokid::{ApplyError, PlanConfig, Planner, RoleRecord, SqliteStore};
use time::{Duration, OffsetDateTime};

/// The second account (no other test uses it).
const OTHER: &str = "555555555555";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#;

async fn identity(config: &SdkConfig) -> (String, String) {
    let me = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    (me.account.unwrap(), me.arn.unwrap())
}

async fn access_key(config: &SdkConfig) -> String {
    config
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap()
        .access_key_id()
        .to_owned()
}

#[tokio::test]
async fn an_assumed_role_per_account_once_per_run() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let (own, _) = identity(&config).await;
    let iam = AwsIam::with_route(&config, Route::Assume("RepokidRole".into()));
    let sessions = iam.sessions();
    let first = format!("arn:aws:iam::{OTHER}:role/service/app-role");
    let session = sessions
        .session(&RoleArn::parse(&first).unwrap())
        .await
        .unwrap();
    // Signed in as `RepokidRole` of the role's account.
    assert_eq!(
        identity(&session.config).await,
        (
            OTHER.to_owned(),
            format!("arn:aws:sts::{OTHER}:assumed-role/RepokidRole/repokid")
        )
    );
    // A second role of that account reuses the session (moto hands every
    // AssumeRole new keys); another account gets its own.
    let second = format!("arn:aws:iam::{OTHER}:role/web");
    let again = sessions
        .session(&RoleArn::parse(&second).unwrap())
        .await
        .unwrap();
    assert_eq!(
        access_key(&again.config).await,
        access_key(&session.config).await
    );
    let mine = format!("arn:aws:iam::{own}:role/web");
    let home = sessions
        .session(&RoleArn::parse(&mine).unwrap())
        .await
        .unwrap();
    assert_ne!(
        access_key(&home.config).await,
        access_key(&session.config).await
    );
    assert_eq!(
        identity(&home.config).await,
        (
            own.clone(),
            format!("arn:aws:sts::{own}:assumed-role/RepokidRole/repokid")
        )
    );
}

#[tokio::test]
async fn without_a_role_to_assume_another_accounts_role_is_refused() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let (own, _) = identity(&config).await;
    let iam = AwsIam::new(&config);
    let foreign = format!("arn:aws:iam::{OTHER}:role/service/app-role");
    let err = iam.inline_policies(&foreign).await.unwrap_err();
    assert_eq!(err.operation, "ListRolePolicies");
    assert_eq!(err.role, foreign);
    let text = err.to_string();
    for part in [
        format!("account `{OTHER}`"),
        format!("account `{own}`"),
        "accounts.ids".to_owned(),
        "--assume-role".to_owned(),
    ] {
        assert!(text.contains(&part), "{part}: {text}");
    }
    let err = iam
        .put_policy(&foreign, "p", &Policy::parse(POLICY).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        (err.operation, err.policy.as_deref()),
        ("PutRolePolicy", Some("p"))
    );
    let err = iam.inline_policies("app-role").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`app-role` is not an IAM role ARN"),
        "{err}"
    );
}

/// Role `name` with path `/service/` and inline policy `p` in the account
/// of `config`; answers its ARN.
async fn create_role(config: &SdkConfig, name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    let arn = iam
        .create_role()
        .role_name(name)
        .path("/service/")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    iam.put_role_policy()
        .role_name(name)
        .policy_name("p")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    arn
}

/// The actions of policy `p` of role `name` in the account of `config`.
async fn live_actions(config: &SdkConfig, name: &str) -> Vec<String> {
    let doc = aws_sdk_iam::Client::new(config)
        .get_role_policy()
        .role_name(name)
        .policy_name("p")
        .send()
        .await
        .unwrap()
        .policy_document;
    let policy = Policy::parse(&doc).unwrap();
    policy
        .statements
        .iter()
        .flat_map(|s| s.action_patterns().iter().cloned())
        .collect()
}

/// `arn` in the store as role `name`, created long ago, S3 used and EC2
/// unused for a year.
fn store_role(store: &SqliteStore, arn: &str, name: &str, now: OffsetDateTime) {
    store
        .put_roles(
            &[RoleRecord {
                arn: arn.into(),
                name: name.into(),
                id: "AROA".into(),
                path: "/service/".into(),
                create_date: Some(now - Duration::days(400)),
                tags: Vec::new(),
                inline: vec![NamedPolicy {
                    name: "p".into(),
                    document: Policy::parse(POLICY).unwrap(),
                }],
                attached: Vec::new(),
            }],
            now - Duration::days(200),
        )
        .unwrap();
    let used = |service: &str, days: i64| AccessRecord {
        role_arn: arn.into(),
        service: service.into(),
        action: None,
        last_used: Some(now - Duration::days(days)),
        source: AccessSource::AccessAdvisor,
    };
    store
        .put_access(&[used("s3", 1), used("ec2", 365)], now)
        .unwrap();
}

#[tokio::test]
async fn repo_reaches_each_role_in_its_own_account() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let other = accounts::assume(&config, PARTITION, OTHER, "RepokidRole")
        .await
        .unwrap();
    // One name, a role in each account.
    let name = testkit::unique_name("web");
    let own_arn = create_role(&config, &name).await;
    let other_arn = create_role(&other, &name).await;
    assert!(other_arn.starts_with(&format!("arn:aws:iam::{OTHER}:role/service/")));
    let now = OffsetDateTime::now_utc();
    let store = SqliteStore::in_memory().unwrap();
    store_role(&store, &own_arn, &name, now);
    store_role(&store, &other_arn, &name, now);
    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    let both = [own_arn.clone(), other_arn.clone()];

    // The caller's credentials: its own role is planned, the other
    // account's is refused alone, naming the account.
    let caller = AwsIam::new(&config);
    let dry = apply::repo_many(&caller, &store, &mut planner, &both, false, now).await;
    assert_eq!(dry[0].result.as_ref().unwrap().calls.len(), 1);
    let err = dry[1].result.as_ref().unwrap_err();
    assert!(
        matches!(err, ApplyError::Iam(e) if e.role == other_arn),
        "{err}"
    );
    assert!(err.to_string().contains(OTHER), "{err}");

    // A name two accounts share is refused before any call.
    let ambiguous = apply::repo(&caller, &store, &mut planner, &name, true, now).await;
    assert!(
        matches!(&ambiguous, Err(ApplyError::AmbiguousRole { arns, .. }) if arns.len() == 2),
        "{ambiguous:?}"
    );

    // Assuming `RepokidRole` in each account: `repo --all` changes each
    // role in its own account.
    let assumed = AwsIam::with_route(&config, Route::Assume("RepokidRole".into()));
    let mut due = apply::repoable(&store, &mut planner, now).await.unwrap();
    due.sort();
    let mut expected = both.to_vec();
    expected.sort();
    assert_eq!(due, expected);
    let done = apply::repo_many(&assumed, &store, &mut planner, &due, true, now).await;
    for r in &done {
        assert!(r.result.as_ref().unwrap().committed, "{r:?}");
    }
    assert_eq!(live_actions(&config, &name).await, ["s3:GetObject"]);
    assert_eq!(live_actions(&other, &name).await, ["s3:GetObject"]);

    // Rolling back the other account's role leaves the caller's alone.
    let back = apply::rollback(&assumed, &store, &other_arn, None, true, now)
        .await
        .unwrap();
    assert!(back.committed);
    assert_eq!(
        live_actions(&other, &name).await,
        ["s3:GetObject", "ec2:DescribeInstances"]
    );
    assert_eq!(live_actions(&config, &name).await, ["s3:GetObject"]);
}
