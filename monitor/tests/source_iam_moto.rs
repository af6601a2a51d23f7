//! Direct IAM collection against moto's IAM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use aws_sdk_iam::types::Tag;
use monitor::model::ConfigItem;
use monitor::source::iam;
use policies::Policy;
use serde_json::Value;
use time::macros::datetime;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#;
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn find<'a>(items: &'a [ConfigItem], resource_type: &str, name: &str) -> &'a ConfigItem {
    items
        .iter()
        .find(|i| i.key.resource_type == resource_type && i.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no {resource_type} {name}"))
}

fn document(value: &Value) -> Policy {
    Policy::parse(value.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn source_collects_roles_users_groups_and_policies_from_iam() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let client = aws_sdk_iam::Client::new(&config);
    let role = testkit::unique_name("orders");
    let user = testkit::unique_name("dana");
    let group = testkit::unique_name("ops");
    let policy = testkit::unique_name("admin");

    let created_role = client
        .create_role()
        .role_name(&role)
        .path("/service-role/")
        .assume_role_policy_document(TRUST)
        .tags(Tag::builder().key("team").value("orders").build().unwrap())
        .send()
        .await
        .unwrap();
    let role_id = created_role.role().unwrap().role_id().to_owned();
    client
        .put_role_policy()
        .role_name(&role)
        .policy_name("read-reports")
        .policy_document(READ)
        .send()
        .await
        .unwrap();
    let policy_arn = client
        .create_policy()
        .policy_name(&policy)
        .policy_document(ADMIN)
        .description("everything")
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    client
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    client
        .create_user()
        .user_name(&user)
        .tags(
            Tag::builder()
                .key("owner")
                .value("security")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_user_policy()
        .user_name(&user)
        .policy_name("read")
        .policy_document(READ)
        .send()
        .await
        .unwrap();
    client
        .create_group()
        .group_name(&group)
        .send()
        .await
        .unwrap();
    client
        .add_user_to_group()
        .group_name(&group)
        .user_name(&user)
        .send()
        .await
        .unwrap();
    client
        .attach_group_policy()
        .group_name(&group)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();

    // Small pages, so that the listing is followed through its markers.
    let details = iam::details(&client, 2).await.unwrap();
    let now = datetime!(2025-06-01 12:00 UTC);
    let items = iam::items(&details, now).unwrap();

    let role_item = find(&items, "AWS::IAM::Role", &role);
    assert_eq!(role_item.key.resource_id, role_id);
    assert_eq!(role_item.key.region, "global");
    assert_eq!(role_item.capture_time, Some(now));
    assert_eq!(role_item.tags["team"], "orders");
    let conf = &role_item.configuration;
    assert_eq!(conf["roleName"], role.as_str());
    assert_eq!(conf["path"], "/service-role/");
    assert_eq!(
        document(&conf["assumeRolePolicyDocument"]),
        Policy::parse(TRUST).unwrap()
    );
    let inline = conf["rolePolicyList"].as_array().unwrap();
    assert_eq!(inline.len(), 1);
    assert_eq!(inline[0]["policyName"], "read-reports");
    assert_eq!(
        document(&inline[0]["policyDocument"]),
        Policy::parse(READ).unwrap()
    );
    assert_eq!(
        conf["attachedManagedPolicies"][0]["policyArn"],
        policy_arn.as_str()
    );
    assert_eq!(conf["tags"][0]["key"], "team");

    let policy_item = find(&items, "AWS::IAM::Policy", &policy);
    assert_eq!(policy_item.arn.as_deref(), Some(policy_arn.as_str()));
    let versions = policy_item.configuration["policyVersionList"]
        .as_array()
        .unwrap();
    let default = versions
        .iter()
        .find(|v| v["isDefaultVersion"] == true)
        .unwrap();
    assert_eq!(
        document(&default["document"]),
        Policy::parse(ADMIN).unwrap()
    );
    assert_eq!(policy_item.configuration["attachmentCount"], 2);

    let user_item = find(&items, "AWS::IAM::User", &user);
    assert_eq!(user_item.tags["owner"], "security");
    assert_eq!(user_item.configuration["groupList"][0], group.as_str());
    assert_eq!(
        user_item.configuration["userPolicyList"][0]["policyName"],
        "read"
    );

    let group_item = find(&items, "AWS::IAM::Group", &group);
    assert_eq!(
        group_item.configuration["attachedManagedPolicies"][0]["policyArn"],
        policy_arn.as_str()
    );
    // moto loads AWS managed policies; Config records none of them.
    assert!(items.iter().all(|i| {
        !i.arn
            .as_deref()
            .unwrap_or_default()
            .contains(":iam::aws:policy/")
    }));

    // The one-call form reads the same account.
    let all = iam::collect(&config, now).await.unwrap();
    assert!(all.iter().any(|i| i.key == role_item.key));
}
