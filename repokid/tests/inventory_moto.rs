//! Inventory from moto's IAM: `GetAccountAuthorizationDetails` over many
//! small pages, and many accounts through STS.
#![allow(clippy::unwrap_used, reason = "tests")]

use policies::Policy;
use repokid::aws::accounts::{self, Accounts};
use repokid::aws::inventory;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;
const MANAGED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#;

#[tokio::test]
async fn inventory_reads_every_page() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let iam = aws_sdk_iam::Client::new(&config);
    let path = format!("/{}/", testkit::unique_name("inv"));
    let managed = iam
        .create_policy()
        .policy_name(testkit::unique_name("managed"))
        .policy_document(MANAGED)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    let mut names = Vec::new();
    for i in 0..3 {
        let name = testkit::unique_name(&format!("role{i}"));
        iam.create_role()
            .role_name(&name)
            .path(&path)
            .assume_role_policy_document(TRUST)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value("orders")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("reads")
            .policy_document(INLINE)
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(&managed)
            .send()
            .await
            .unwrap();
        names.push(name);
    }

    // One item a page: every role is on a page of its own.
    let roles = inventory::roles(&iam, "self", Some(1)).await.unwrap();
    let ours: Vec<_> = roles.iter().filter(|r| r.path == path).collect();
    assert_eq!(
        ours.len(),
        3,
        "{:?}",
        roles.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    for role in ours {
        assert!(names.contains(&role.name));
        assert!(role.arn.ends_with(&format!("role{path}{}", role.name)));
        assert!(role.create_date.is_some());
        assert_eq!(role.tag("team"), Some("orders"));
        assert_eq!(role.inline.len(), 1);
        assert_eq!(role.inline[0].name, "reads");
        assert_eq!(role.inline[0].document, Policy::parse(INLINE).unwrap());
        assert_eq!(role.attached.len(), 1);
        let attached = &role.attached[0];
        assert_eq!(attached.arn, managed);
        assert!(!attached.aws_managed);
        assert_eq!(
            attached.document.as_ref(),
            Some(&Policy::parse(MANAGED).unwrap())
        );
    }
    // The same with AWS's default page size.
    let all = inventory::roles(&iam, "self", None).await.unwrap();
    assert_eq!(all.len(), roles.len());
}

#[tokio::test]
async fn accounts_run_concurrently_through_sts() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    // moto keeps one IAM per account and hands assumed-role sessions the
    // role's account: a role created in account 2 is seen only there.
    let second = "222222222222";
    let seen = accounts::assume(&config, accounts::PARTITION, second, "RepokidRole")
        .await
        .unwrap();
    let name = testkit::unique_name("acct");
    aws_sdk_iam::Client::new(&seen)
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();

    let targets = Accounts {
        ids: vec!["123456789012".into(), second.into(), "333333333333".into()],
        role_name: "RepokidRole".into(),
        limit: 2,
    };
    let results = accounts::for_each(&config, &targets, |account, config| async move {
        let iam = aws_sdk_iam::Client::new(&config);
        let roles = inventory::roles(&iam, &account, Some(5)).await?;
        Ok(roles.into_iter().map(|r| r.arn).collect::<Vec<_>>())
    })
    .await;
    let accounts: Vec<&str> = results.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(accounts, targets.ids);
    for r in &results {
        let arns = r.result.as_ref().unwrap();
        let has = arns.iter().any(|a| a.ends_with(&format!("role/{name}")));
        assert_eq!(has, r.account == second, "{}: {arns:?}", r.account);
        assert!(arns.iter().all(|a| a.contains(&r.account)), "{arns:?}");
    }

    // A failing account is reported, the others still answer.
    let results = accounts::for_each(&config, &targets, |account, _config| async move {
        if account == "123456789012" {
            Err(repokid::AwsError::Call {
                operation: "test",
                target: account,
                message: "refused".into(),
            })
        } else {
            Ok(account.len())
        }
    })
    .await;
    assert!(results[0].result.is_err());
    assert_eq!(results[1].result.as_ref().unwrap(), &12);
    assert_eq!(results[2].result.as_ref().unwrap(), &12);
}
