use super::*;
use crate::model::Policy;

fn codes(json: &str, kind: PolicyKind) -> Vec<(Code, Option<usize>)> {
    lint_text(json, kind, Catalogue::builtin())
        .into_iter()
        .map(|f| (f.code, f.statement))
        .collect()
}

fn identity(statements: &str) -> Vec<(Code, Option<usize>)> {
    codes(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
        PolicyKind::Identity,
    )
}

#[test]
fn a_tight_policy_has_no_findings() {
    let found = identity(
        r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket/*",
            "Condition":{"StringEquals":{"s3:x-amz-server-side-encryption":"aws:kms"},
                         "IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}},
           {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket",
            "Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}}"#,
    );
    assert_eq!(found, vec![]);
}

#[test]
fn malformed_and_missing_version() {
    assert_eq!(
        codes("{", PolicyKind::Identity),
        vec![(Code::Malformed, None)]
    );
    let found = codes(
        r#"{"Statement":{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}}"#,
        PolicyKind::Identity,
    );
    assert_eq!(found, vec![(Code::MissingVersion, None)]);
}

#[test]
fn unknown_service_and_action_with_a_suggestion() {
    let findings = lint_text(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObjekt","s4:GetObject"],"Resource":"arn:aws:s3:::b/*"}}"#,
        PolicyKind::Identity,
        Catalogue::builtin(),
    );
    let unknown_action = findings
        .iter()
        .find(|f| f.code == Code::UnknownAction)
        .unwrap();
    assert!(
        unknown_action
            .message
            .contains("did you mean `s3:GetObject`"),
        "{}",
        unknown_action.message
    );
    assert!(
        findings
            .iter()
            .any(|f| f.code == Code::UnknownService && f.message.contains("`s4`"))
    );
}

#[test]
fn condition_keys_and_types() {
    let found = identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
            "Condition":{"StringEquals":{"s3:x-amz-acl":"private"}}}"#,
    );
    assert_eq!(found, vec![(Code::UnknownConditionKey, Some(0))]);
    let found = identity(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
            "Condition":{"NumericLessThan":{"s3:max-keys":"abc"}, "StringEquals":{"aws:SourceIpp":"1"},
                         "DateGreaterThan":{"aws:SourceIp":"2020-01-01T00:00:00Z"}}}"#,
    );
    assert_eq!(
        found,
        vec![
            (Code::UnknownConditionKey, Some(0)),
            (Code::ConditionTypeMismatch, Some(0)),
            (Code::ConditionTypeMismatch, Some(0)),
        ]
    );
}

#[test]
fn resource_mismatch_both_ways() {
    // The classic mistake: object actions on the bucket ARN.
    let findings = lint_text(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket"}}"#,
        PolicyKind::Identity,
        Catalogue::builtin(),
    );
    let codes: Vec<Code> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, vec![Code::ResourceMismatch, Code::ResourceMismatch]);
    assert!(
        findings[1].message.contains("s3:GetObject"),
        "{}",
        findings[1].message
    );
    // A resource of another service fits no action.
    let found = identity(
        r#"{"Effect":"Allow","Action":"s3:Get*","Resource":["arn:aws:s3:::b/*","arn:aws:sqs:us-east-1:111122223333:q"]}"#,
    );
    assert_eq!(found, vec![(Code::ResourceMismatch, Some(0))]);
}

#[test]
fn resource_star_only_where_scoping_is_possible() {
    let found = identity(r#"{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}"#);
    assert_eq!(found, vec![(Code::ResourceStar, Some(0))]);
    let found = identity(r#"{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}"#);
    assert_eq!(found, vec![]);
    // Resource policies name their own resource; "*" there is not this finding.
    let found = codes(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sqs:SendMessage","Resource":"*"}}"#,
        PolicyKind::Resource,
    );
    assert_eq!(found, vec![]);
}

#[test]
fn negated_allows_admin_and_escalation() {
    let found = identity(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    assert!(found.contains(&(Code::AdminWildcard, Some(0))));
    assert!(found.contains(&(Code::PrivilegeEscalation, None)));
    let found =
        identity(r#"{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::secret/*"}"#);
    assert!(found.contains(&(Code::AllowNotAction, Some(0))));
    assert!(found.contains(&(Code::AllowNotResource, Some(0))));
    let found = identity(
        r#"{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}"#,
    );
    assert!(
        found.contains(&(Code::PrivilegeEscalation, None)),
        "{found:?}"
    );
    // An unconditional deny closes the path.
    let found = identity(
        r#"{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"},
           {"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}"#,
    );
    assert!(
        !found.iter().any(|(c, _)| *c == Code::PrivilegeEscalation),
        "{found:?}"
    );
}

#[test]
fn duplicate_sids_and_redundant_statements() {
    let found = identity(
        r#"{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"},
           {"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/logs/*"},
           {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}"#,
    );
    assert_eq!(
        found,
        vec![
            (Code::DuplicateSid, Some(1)),
            (Code::RedundantStatement, Some(1))
        ]
    );
    // Two identical statements: only the second is redundant.
    let found = identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
           {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
    );
    assert_eq!(found, vec![(Code::RedundantStatement, Some(1))]);
    // A condition on the wider statement means it does not cover the narrow one.
    let found = identity(
        r#"{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
           {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
    );
    assert_eq!(found, vec![]);
}

#[test]
fn trust_policies_skip_resource_checks_and_accept_provider_keys() {
    let found = codes(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
            "Action":"sts:AssumeRoleWithWebIdentity",
            "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/app:*"}}},
           {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/okta"},
            "Action":"sts:AssumeRoleWithSAML",
            "Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}},
           {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole",
            "Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}]}"#,
        PolicyKind::Trust,
    );
    assert_eq!(found, vec![]);
}

#[test]
fn every_code_has_a_distinct_stable_name() {
    let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Code::ALL.len());
    assert!(
        names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
    );
    let policy = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    )
    .unwrap();
    let json =
        serde_json::to_value(lint(&policy, PolicyKind::Identity, Catalogue::builtin())).unwrap();
    // Policy-wide findings first, then by statement, worst first.
    assert_eq!(json[0]["code"], "privilege-escalation");
    assert_eq!(json[0]["statement"], serde_json::Value::Null);
    assert_eq!(json[1]["code"], "admin-wildcard");
    assert_eq!(json[1]["severity"], "critical");
    assert_eq!(json[1]["statement"], 0);
}
