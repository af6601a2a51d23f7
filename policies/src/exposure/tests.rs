use serde_json::json;

use super::*;
use crate::account::AccountDetails;

const OWNER: &str = "111122223333";
const FRIEND: &str = "444455556666";
const VENDOR: &str = "999988887777";

fn context() -> AccountContext {
    AccountContext::new(OWNER)
        .with_friendly([FRIEND])
        .with_organization("o-exampleorg1")
}

fn run(policy: serde_json::Value) -> Exposure {
    analyze(&Policy::from_value(&policy).unwrap(), &context())
}

fn example(name: &str) -> Exposure {
    let path = format!(
        "{}/../examples/account/resource-policies/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    analyze(&Policy::parse(&text).unwrap(), &context())
}

/// A one-statement Allow of `s3:GetObject` on a bucket, with the given principal and condition.
fn allow(principal: serde_json::Value, condition: Option<serde_json::Value>) -> Exposure {
    let mut statement = json!({"Effect": "Allow", "Principal": principal,
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"});
    if let Some(condition) = condition {
        statement["Condition"] = condition;
    }
    run(json!({"Version": "2012-10-17", "Statement": [statement]}))
}

fn only(exposure: &Exposure) -> &StatementExposure {
    assert_eq!(exposure.statements.len(), 1, "{exposure:#?}");
    &exposure.statements[0]
}

#[test]
fn example_public_bucket_is_internet_accessible() {
    let exposure = example("s3-example-public-assets.json");
    assert!(exposure.internet_accessible);
    assert_eq!(
        exposure.internet_actions,
        [Actions::Listed(vec!["s3:GetObject".to_owned()])]
    );
    assert_eq!(exposure.reach, [Class::Any]);
    assert!(exposure.accounts.is_empty());
    assert_eq!(only(&exposure).sid.as_deref(), Some("PublicRead"));
}

#[test]
fn example_org_bucket_reaches_the_organization() {
    let exposure = example("s3-example-org-shared.json");
    assert!(!exposure.internet_accessible);
    assert!(exposure.internet_actions.is_empty());
    assert_eq!(exposure.reach, [Class::Organization]);
    let statement = only(&exposure);
    assert_eq!(
        statement.narrowing.org_ids.iter().collect::<Vec<_>>(),
        ["o-exampleorg1"]
    );
    // The Deny only bites on insecure transport: neither removal nor narrowing.
    assert_eq!(statement.denied_by, None);
    assert!(statement.narrowed_by.is_empty());

    let text = std::fs::read_to_string(format!(
        "{}/../examples/account/resource-policies/s3-example-org-shared.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let policy = Policy::parse(&text).unwrap();
    let unknown_org = analyze(&policy, &AccountContext::new(OWNER));
    assert_eq!(unknown_org.reach, [Class::Unknown]);
    let other_org = analyze(
        &policy,
        &AccountContext::new(OWNER).with_organization("o-other"),
    );
    assert_eq!(other_org.reach, [Class::ThirdParty]);
}

#[test]
fn example_kms_key_stays_in_the_account() {
    let exposure = example("kms-orders-key.json");
    assert!(!exposure.internet_accessible);
    assert_eq!(exposure.reach, [Class::SameAccount]);
    assert_eq!(
        exposure.accounts,
        [AccountClass {
            account: OWNER.to_owned(),
            class: Class::SameAccount
        }]
    );
    assert_eq!(exposure.statements.len(), 2);
    let decrypt = &exposure.statements[1];
    assert_eq!(
        decrypt.grantees[0].id,
        "arn:aws:iam::111122223333:role/service-role/lambda-orders"
    );
    assert!(
        decrypt.narrowing.accounts.contains(OWNER),
        "kms:CallerAccount narrows"
    );
}

#[test]
fn example_queue_admits_sns_for_one_topic() {
    let exposure = example("sqs-orders-queue.json");
    assert!(!exposure.internet_accessible);
    assert_eq!(exposure.reach, [Class::SameAccount, Class::Service]);
    let statement = only(&exposure);
    assert_eq!(statement.grantees[0].class, Class::Service);
    assert_eq!(statement.grantees[0].kind, PrincipalKind::Service);
    assert_eq!(
        statement.narrowing.source_arns.iter().collect::<Vec<_>>(),
        ["arn:aws:sns:us-east-1:111122223333:orders-events"]
    );
}

#[test]
fn example_vpc_endpoint_bucket_is_narrowed_to_the_endpoint() {
    let exposure = example("s3-example-vpc-only.json");
    assert!(!exposure.internet_accessible);
    assert_eq!(exposure.reach, [Class::Unknown]);
    assert_eq!(
        only(&exposure)
            .narrowing
            .vpc_endpoints
            .iter()
            .collect::<Vec<_>>(),
        ["vpce-0a1b2c3d4e5f67890"]
    );
}

#[test]
fn example_trust_policies_are_classed() {
    let text = std::fs::read_to_string(format!(
        "{}/../examples/account/authorization-details.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let account = AccountDetails::parse(&text).unwrap();
    let trust = |name: &str| analyze(&account.role(name).unwrap().trust_policy, &context());

    let public = trust("public-assume");
    assert!(public.internet_accessible);
    assert_eq!(
        public.internet_actions,
        [Actions::Listed(vec!["sts:AssumeRole".to_owned()])]
    );

    let vendor = trust("vendor-monitoring");
    assert!(!vendor.internet_accessible);
    assert_eq!(vendor.reach, [Class::ThirdParty]);
    assert!(only(&vendor).external_ids.is_empty());
    assert_eq!(
        vendor.accounts,
        [AccountClass {
            account: VENDOR.to_owned(),
            class: Class::ThirdParty
        }]
    );

    assert_eq!(trust("partner-audit").reach, [Class::Friendly]);
    assert_eq!(trust("legacy-admin").reach, [Class::SameAccount]);
    assert_eq!(trust("lambda-orders").reach, [Class::Service]);
    let ci = trust("ci-deploy");
    assert_eq!(ci.reach, [Class::Federated]);
    assert_eq!(only(&ci).grantees[0].account.as_deref(), Some(OWNER));
    assert_eq!(trust("dev-sandbox").reach, [Class::SameAccount]);
}

#[test]
fn principals_are_classed() {
    let exposure = allow(
        json!({"AWS": [OWNER, "arn:aws:iam::444455556666:role/x", "arn:aws:iam::999988887777:root",
                       "AROAEXAMPLEDELETED001", "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1"],
               "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}),
        None,
    );
    let classes: Vec<_> = only(&exposure).grantees.iter().map(|g| g.class).collect();
    assert_eq!(
        classes,
        [
            Class::SameAccount,
            Class::Friendly,
            Class::ThirdParty,
            Class::Unknown,
            Class::Service,
            Class::Unknown
        ]
    );
    assert!(!exposure.internet_accessible);
    assert_eq!(
        exposure.reach,
        [
            Class::SameAccount,
            Class::Service,
            Class::Friendly,
            Class::ThirdParty,
            Class::Unknown
        ]
    );
    assert_eq!(exposure.accounts.len(), 3);
}

#[test]
fn positive_conditions_narrow() {
    let cases = [
        (
            json!({"StringEquals": {"aws:SourceAccount": OWNER}}),
            vec![Class::SameAccount],
        ),
        (
            json!({"StringEquals": {"AWS:PRINCIPALACCOUNT": VENDOR}}),
            vec![Class::ThirdParty],
        ),
        (
            json!({"StringLike": {"aws:SourceOwner": [OWNER, FRIEND]}}),
            vec![Class::SameAccount, Class::Friendly],
        ),
        (
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:444455556666:*"}}),
            vec![Class::Friendly],
        ),
        (
            json!({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::999988887777:role/r"}}),
            vec![Class::ThirdParty],
        ),
        (
            json!({"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::one-bucket"}}),
            vec![Class::Unknown],
        ),
        (
            json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7"]}}),
            vec![Class::Unknown],
        ),
        (
            json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}}),
            vec![Class::Unknown],
        ),
        (
            json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-exampleorg1/r-ab12/ou-*"}}),
            vec![Class::Organization],
        ),
        (
            json!({"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"}}),
            vec![Class::Organization],
        ),
        (
            json!({"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}),
            vec![Class::SameAccount],
        ),
    ];
    for (condition, reach) in cases {
        let exposure = allow(json!("*"), Some(condition.clone()));
        assert!(!exposure.internet_accessible, "{condition}");
        assert_eq!(exposure.reach, reach, "{condition}");
        assert!(
            only(&exposure).notes.is_empty(),
            "{condition}: {:?}",
            only(&exposure).notes
        );
    }
    let exposure = allow(
        json!("*"),
        Some(json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7"]}})),
    );
    let cidrs: Vec<String> = only(&exposure)
        .narrowing
        .cidrs
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(cidrs, ["10.0.0.0/8", "192.0.2.7/32"]);
}

#[test]
fn conditions_that_do_not_narrow_say_why() {
    let cases = [
        (
            json!({"StringEqualsIfExists": {"aws:SourceAccount": OWNER}}),
            "`IfExists`",
        ),
        (
            json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": "o-exampleorg1/r-1/"}}),
            "`ForAllValues`",
        ),
        (
            json!({"StringNotEquals": {"aws:SourceAccount": OWNER}}),
            "excludes",
        ),
        (
            json!({"StringLike": {"aws:SourceAccount": "*"}}),
            "`*` does not pin down an account",
        ),
        (
            json!({"StringLike": {"aws:SourceVpce": "vpce-*"}}),
            "a VPC endpoint",
        ),
        (
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            "whole internet",
        ),
        (
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::example-*"}}),
            "single resource",
        ),
        (
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}),
            "an account",
        ),
        (
            json!({"NumericEquals": {"aws:SourceAccount": 1}}),
            "does not require",
        ),
        (
            json!({"StringEquals": {"aws:PrincipalOrgID": "${aws:PrincipalTag/org}"}}),
            "organization",
        ),
    ];
    for (condition, why) in cases {
        let exposure = allow(json!({"AWS": "*"}), Some(condition.clone()));
        assert!(exposure.internet_accessible, "{condition}");
        let notes = &only(&exposure).notes;
        assert_eq!(notes.len(), 1, "{condition}: {notes:?}");
        assert!(notes[0].contains(why), "{condition}: {}", notes[0]);
    }
    // Unrelated conditions neither narrow nor raise notes.
    let exposure = allow(
        json!("*"),
        Some(json!({"Bool": {"aws:SecureTransport": "true"}})),
    );
    assert!(exposure.internet_accessible);
    assert!(only(&exposure).notes.is_empty());
}

#[test]
fn variables_are_literal_text_without_the_current_version() {
    let policy = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}}});
    let exposure = run(policy);
    assert!(exposure.internet_accessible);
}

#[test]
fn external_id_is_noted_but_does_not_narrow() {
    let exposure = allow(
        json!({"AWS": "*"}),
        Some(json!({"StringEquals": {"sts:ExternalId": "s3cr3t"}})),
    );
    assert!(exposure.internet_accessible);
    assert_eq!(only(&exposure).external_ids, ["s3cr3t"]);
    let vendor = allow(
        json!({"AWS": VENDOR}),
        Some(json!({"StringEquals": {"sts:ExternalId": ["a", "b"]}})),
    );
    assert_eq!(only(&vendor).external_ids, ["a", "b"]);
    assert_eq!(vendor.reach, [Class::ThirdParty]);
}

#[test]
fn not_principal_allow_is_everyone_but() {
    let exposure = run(json!({"Statement": {"Effect": "Allow",
        "NotPrincipal": {"AWS": "arn:aws:iam::999988887777:root"}, "NotAction": "s3:Delete*", "Resource": "*"}}));
    assert!(exposure.internet_accessible);
    let grantee = &only(&exposure).grantees[0];
    assert_eq!(grantee.class, Class::Any);
    assert_eq!(grantee.except, ["arn:aws:iam::999988887777:root"]);
    assert_eq!(
        exposure.internet_actions,
        [Actions::AllBut(vec!["s3:Delete*".to_owned()])]
    );
}

#[test]
fn an_unconditional_covering_deny_removes_the_statement() {
    let exposure = run(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:GetObjectTagging"], "Resource": "arn:aws:s3:::b/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}
    ]}));
    assert!(!exposure.internet_accessible);
    assert_eq!(exposure.statements[0].denied_by, Some(2));
    assert!(exposure.statements[0].reach.is_empty());
    assert_eq!(exposure.statements[1].denied_by, None);
    assert_eq!(exposure.reach, [Class::ThirdParty]);
}

#[test]
fn a_deny_that_covers_only_part_is_ignored() {
    let partial = [
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}),
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/private/*"}),
        json!({"Effect": "Deny", "Principal": {"AWS": VENDOR}, "Action": "*", "Resource": "*"}),
        json!({"Effect": "Deny", "NotPrincipal": {"AWS": VENDOR}, "Action": "*", "Resource": "*"}),
        json!({"Effect": "Deny", "Principal": "*", "NotAction": "s3:PutObject", "Resource": "*"}),
        json!({"Effect": "Deny", "Principal": "*", "Action": "*", "NotResource": "arn:aws:s3:::c/*"}),
    ];
    for deny in partial {
        let exposure = run(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
            deny.clone()
        ]}));
        assert!(exposure.internet_accessible, "{deny}");
        assert_eq!(only(&exposure).denied_by, None, "{deny}");
    }
    // A Deny naming exactly the allowed principals covers them.
    let exposure = run(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [VENDOR, FRIEND]}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": [FRIEND, VENDOR, OWNER]}, "Action": "sts:*"}
    ]}));
    assert_eq!(only(&exposure).denied_by, Some(1));
    assert!(exposure.reach.is_empty());
}

#[test]
fn a_deny_unless_condition_narrows() {
    let exposure = run(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Sid": "OnlyViaEndpoint", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}
    ]}));
    assert!(!exposure.internet_accessible);
    let statement = only(&exposure);
    assert_eq!(statement.narrowed_by, [1]);
    assert!(statement.narrowing.vpc_endpoints.contains("vpce-1a2b3c4d"));

    let org = run(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-exampleorg1"}}}
    ]}));
    assert_eq!(org.reach, [Class::Organization]);

    let not_narrowing = [
        json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}}),
        json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1", "aws:SourceIp": "10.0.0.0/8"}}),
    ];
    for condition in not_narrowing {
        let exposure = run(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", "Condition": condition}
        ]}));
        assert!(exposure.internet_accessible, "{condition}");
        assert!(
            only(&exposure).notes[0].starts_with("Deny statement 1"),
            "{condition}"
        );
    }
}

#[test]
fn statements_without_principal_grant_nothing() {
    let exposure = run(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}));
    assert!(!exposure.internet_accessible);
    assert!(exposure.reach.is_empty());
    assert!(only(&exposure).notes[0].contains("no `Principal`"));
}

#[test]
fn internet_actions_merge_listed_patterns() {
    let exposure = run(json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": OWNER}, "Action": "s3:*", "Resource": "*"}
    ]}));
    assert_eq!(
        exposure.internet_actions,
        [Actions::Listed(vec![
            "s3:GetObject".to_owned(),
            "s3:ListBucket".to_owned()
        ])]
    );
    assert_eq!(exposure.reach, [Class::SameAccount, Class::Any]);
}

#[test]
fn serializes_as_plain_json() {
    let exposure = example("sqs-orders-queue.json");
    let value = serde_json::to_value(&exposure).unwrap();
    assert_eq!(value["internet_accessible"], false);
    assert_eq!(value["reach"], json!(["same_account", "service"]));
    assert_eq!(
        value["accounts"],
        json!([{"account": OWNER, "class": "same_account"}])
    );
    let statement = &value["statements"][0];
    assert_eq!(statement["actions"], json!({"listed": ["sqs:SendMessage"]}));
    assert_eq!(
        statement["grantees"],
        json!([{"kind": "Service", "id": "sns.amazonaws.com", "class": "service"}])
    );
    assert_eq!(statement["narrowing"]["accounts"], json!([OWNER]));
    assert!(statement.get("denied_by").is_none());

    let internet = serde_json::to_value(allow(
        json!("*"),
        Some(json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
    ))
    .unwrap();
    assert_eq!(
        internet["statements"][0]["narrowing"]["cidrs"],
        json!(["203.0.113.0/24"])
    );
}

#[test]
fn a_deny_to_any_aws_principal_leaves_services_alone() {
    let policy = |deny_principal: serde_json::Value| {
        run(json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "sqs:SendMessage", "Resource": "*"},
            {"Effect": "Deny", "Principal": deny_principal, "Action": "sqs:*", "Resource": "*"}
        ]}))
    };
    let aws_only = policy(json!({"AWS": "*"}));
    assert_eq!(aws_only.statements[0].denied_by, None);
    assert_eq!(aws_only.statements[1].denied_by, Some(2));
    assert_eq!(aws_only.reach, [Class::Service]);
    let everyone = policy(json!("*"));
    assert!(everyone.statements.iter().all(|s| s.denied_by == Some(2)));
    assert!(everyone.reach.is_empty());
}
