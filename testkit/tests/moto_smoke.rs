//! Proves the path every AWS integration test takes: the real `aws-sdk-iam`
//! client, configured only through the environment the test command exports,
//! talks to moto on 127.0.0.1.
#![allow(clippy::unwrap_used, reason = "tests")]

use percent_encoding::percent_decode_str;
use serde_json::Value;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// moto returns documents sometimes URL-encoded and sometimes raw.
fn document(raw: &str) -> Value {
    let decoded = percent_decode_str(raw).decode_utf8().unwrap();
    serde_json::from_str(&decoded).unwrap()
}

#[tokio::test]
async fn creates_a_role_in_moto_and_reads_it_back() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let iam = aws_sdk_iam::Client::new(&config);
    let name = testkit::unique_name("smoke");

    let created = iam
        .create_role()
        .role_name(&name)
        .path("/smoke/")
        .assume_role_policy_document(TRUST)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("security")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let created = created.role().unwrap();
    assert_eq!(created.role_name(), name);

    let fetched = iam.get_role().role_name(&name).send().await.unwrap();
    let role = fetched.role().unwrap();
    assert_eq!(role.arn(), created.arn());
    assert_eq!(role.path(), "/smoke/");
    assert!(
        role.arn().ends_with(&format!(":role/smoke/{name}")),
        "{}",
        role.arn()
    );
    let trust = document(role.assume_role_policy_document().unwrap());
    assert_eq!(trust, serde_json::from_str::<Value>(TRUST).unwrap());
    assert_eq!(role.tags()[0].value(), "security");

    iam.delete_role().role_name(&name).send().await.unwrap();
    let gone = iam.get_role().role_name(&name).send().await;
    assert!(
        gone.unwrap_err()
            .into_service_error()
            .is_no_such_entity_exception()
    );
}
