use serde_json::json;
use time::macros::datetime;

use super::*;

const EXAMPLE: &str = include_str!("../../../examples/account/authorization-details.json");

fn example() -> AccountDetails {
    AccountDetails::parse(EXAMPLE).unwrap()
}

fn labels(found: &IdentityPolicies<'_>) -> Vec<String> {
    found
        .policies
        .iter()
        .map(|p| p.source.to_string())
        .collect()
}

#[test]
fn reads_the_example_account() {
    let account = example();
    assert_eq!(account.roles.len(), 10);
    assert_eq!(account.users.len(), 4);
    assert_eq!(account.groups.len(), 2);
    assert_eq!(account.policies.len(), 6);

    let lambda = account.role("lambda-orders").unwrap();
    assert_eq!(lambda.id, "AROAEXAMPLEORDERS0001");
    assert_eq!(lambda.path, "/service-role/");
    assert_eq!(
        lambda.arn,
        "arn:aws:iam::111122223333:role/service-role/lambda-orders"
    );
    assert_eq!(lambda.create_date, Some(datetime!(2022-02-14 10:03:21 UTC)));
    assert_eq!(
        lambda
            .inline
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["write-own-logs", "orders-table"]
    );
    assert_eq!(
        lambda.last_used,
        Some(LastUsed {
            date: Some(datetime!(2024-04-29 22:15:09 UTC)),
            region: Some("us-east-1".to_owned()),
        })
    );
    assert_eq!(lambda.tags[0].key, "team");
    assert_eq!(lambda.tags[0].value, "orders");
    let trust = lambda.trust_policy.statements.as_slice();
    assert_eq!(trust[0].action_patterns(), ["sts:AssumeRole"]);

    let public = account.role("public-assume").unwrap();
    assert_eq!(
        public.last_used, None,
        "`RoleLastUsed: {{}}` means never used"
    );
    let sandbox = account.role("dev-sandbox").unwrap();
    assert_eq!(
        sandbox.boundary.as_deref(),
        Some("arn:aws:iam::111122223333:policy/developer-boundary")
    );
    let reports = account.role("ec2-reports").unwrap();
    assert_eq!(reports.instance_profiles[0].name, "ec2-reports");
    assert_eq!(reports.instance_profiles[0].id, "AIPAEXAMPLEREPORTS001");

    let billing = account.role("billing-reports-legacy").unwrap();
    assert_eq!(billing.inline[0].document.version, None);

    let bob = account.user("bob").unwrap();
    assert_eq!(bob.groups, ["developers"]);
    assert!(account.group("admins").is_some());
    assert!(account.role("nobody").is_none());
}

#[test]
fn managed_policies_know_their_default_version() {
    let account = example();
    let app = account
        .managed_policy("arn:aws:iam::111122223333:policy/app-data-access")
        .unwrap();
    assert_eq!(app.versions.len(), 2);
    assert_eq!(app.default_version().unwrap().id, "v2");
    let default = app.default_document().unwrap();
    assert_eq!(default.statements.len(), 2);
    assert!(!app.is_aws_managed());
    assert_eq!(app.attachment_count, Some(2));

    let read_only = account
        .managed_policy("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .unwrap();
    assert!(read_only.is_aws_managed());
    assert_eq!(read_only.default_version().unwrap().id, "v3");

    let mut flagged_only = app.clone();
    flagged_only.default_version_id = None;
    assert_eq!(flagged_only.default_version().unwrap().id, "v2");
    flagged_only.versions.retain(|v| !v.is_default);
    assert_eq!(flagged_only.default_version(), None);
}

#[test]
fn reads_the_api_shape_with_url_encoded_documents() {
    let trust = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    let page = json!({
        "RoleDetailList": [{
            "Path": "/", "RoleName": "fn", "RoleId": "AROAEXAMPLE0000000001",
            "Arn": "arn:aws:iam::111122223333:role/fn",
            "CreateDate": "2024-01-02T03:04:05Z",
            "AssumeRolePolicyDocument": trust,
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%7D"}],
            "AttachedManagedPolicies": null,
            "Tags": null,
            "RoleLastUsed": {"LastUsedDate": 1704164645}
        }],
        "Policies": [{
            "PolicyName": "x", "Arn": "arn:aws:iam::111122223333:policy/x",
            "DefaultVersionId": "v1",
            "CreateDate": "2024-01-02 03:04:05+00:00",
            "PolicyVersionList": [{"Document": "%7B%22Statement%22%3A%5B%5D%7D", "VersionId": "v1", "IsDefaultVersion": true}]
        }],
        "IsTruncated": false
    });
    let account = AccountDetails::from_value(&page).unwrap();
    let role = account.role("fn").unwrap();
    assert_eq!(role.create_date, Some(datetime!(2024-01-02 03:04:05 UTC)));
    assert_eq!(
        role.trust_policy.to_value(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    );
    assert_eq!(
        role.inline[0].document.statements.as_slice()[0].effect,
        crate::Effect::Deny
    );
    assert!(role.attached.is_empty() && role.tags.is_empty());
    assert_eq!(
        role.last_used.as_ref().unwrap().date,
        Some(datetime!(2024-01-02 03:04:05 UTC))
    );
    let policy = &account.policies[0];
    assert_eq!(policy.create_date, Some(datetime!(2024-01-02 03:04:05 UTC)));
    assert!(policy.is_attachable);
    assert_eq!(policy.default_document().unwrap().statements.len(), 0);
}

#[test]
fn errors_name_the_element() {
    let bad_effect = json!({"RoleDetailList": [{
        "RoleName": "web", "Arn": "arn:aws:iam::111122223333:role/web",
        "AssumeRolePolicyDocument": {"Statement": []},
        "RolePolicyList": [{"PolicyName": "s3", "PolicyDocument":
            {"Statement": [{"Effect": "Allowed", "Action": "s3:*", "Resource": "*"}]}}]
    }]});
    let err = AccountDetails::from_value(&bad_effect).unwrap_err();
    assert_eq!(
        err.to_string(),
        "role `web` inline policy `s3`: policy is not valid at `Statement[0].Effect`: \
         expected \"Allow\" or \"Deny\", found `Allowed`"
    );

    let bad_trust = json!({"RoleDetailList": [{
        "RoleName": "web", "Arn": "arn:aws:iam::111122223333:role/web",
        "AssumeRolePolicyDocument": {"Statement": {"Effect": "Allow"}}
    }]});
    let err = AccountDetails::from_value(&bad_trust)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("role `web` trust policy: "), "{err}");
    assert!(err.contains("missing `Action` or `NotAction`"), "{err}");

    let no_trust = json!({"RoleDetailList": [{"RoleName": "web", "Arn": "arn:aws:iam::111122223333:role/web"}]});
    assert_eq!(
        AccountDetails::from_value(&no_trust).unwrap_err(),
        AccountError::Missing {
            element: "role `web`".to_owned(),
            field: "AssumeRolePolicyDocument"
        }
    );

    let bad_version = json!({"Policies": [{
        "PolicyName": "x", "Arn": "arn:aws:iam::111122223333:policy/x",
        "PolicyVersionList": [{"VersionId": "v4", "Document": {"Version": "2020-01-01", "Statement": []}}]
    }]});
    let err = AccountDetails::from_value(&bad_version)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "managed policy `arn:aws:iam::111122223333:policy/x` version `v4`: policy is not valid at `Version`"
        ),
        "{err}"
    );

    let bad_group = json!({"GroupDetailList": [{
        "GroupName": "ops", "Arn": "arn:aws:iam::111122223333:group/ops",
        "GroupPolicyList": [{"PolicyName": "g", "PolicyDocument": "not json"}]
    }]});
    let err = AccountDetails::from_value(&bad_group)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("group `ops` inline policy `g`: policy is not valid JSON"),
        "{err}"
    );

    let bad_date = json!({"UserDetailList": [{
        "UserName": "bob", "Arn": "arn:aws:iam::111122223333:user/bob", "CreateDate": "yesterday"
    }]});
    assert_eq!(
        AccountDetails::from_value(&bad_date)
            .unwrap_err()
            .to_string(),
        "user `bob` `CreateDate`: `yesterday` is not an ISO 8601 date-time; write it like `2024-05-01T12:00:00Z`"
    );
}

#[test]
fn shape_errors_give_the_path() {
    let wrong_type = json!({"RoleDetailList": [{"RoleName": 7, "Arn": "arn:aws:iam::1:role/x"}]});
    match AccountDetails::from_value(&wrong_type).unwrap_err() {
        AccountError::Shape { path, message } => {
            assert_eq!(path, "RoleDetailList[0].RoleName");
            assert!(message.contains("expected a string"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }

    let a_policy = json!({"Version": "2012-10-17", "Statement": []});
    let err = AccountDetails::from_value(&a_policy)
        .unwrap_err()
        .to_string();
    assert!(err.contains("none of `UserDetailList`"), "{err}");
    assert!(
        err.ends_with("get-account-authorization-details --output json`"),
        "{err}"
    );

    match AccountDetails::parse("{\"RoleDetailList\": [\n  {,}]}").unwrap_err() {
        AccountError::Json { line, column, .. } => assert_eq!((line, column), (2, 4)),
        other => panic!("unexpected {other:?}"),
    }
}

fn page(roles: &[(&str, &str)], truncated: bool, marker: Option<&str>) -> Page {
    let roles: Vec<_> = roles
        .iter()
        .map(|(name, service)| {
            json!({
                "RoleName": name, "Arn": format!("arn:aws:iam::111122223333:role/{name}"),
                "AssumeRolePolicyDocument": {"Statement": {"Effect": "Allow",
                    "Principal": {"Service": service}, "Action": "sts:AssumeRole"}}
            })
        })
        .collect();
    Page::from_value(&json!({"RoleDetailList": roles, "IsTruncated": truncated, "Marker": marker}))
        .unwrap()
}

#[test]
fn pages_are_joined_and_later_records_win() {
    let first = page(
        &[("a", "ec2.amazonaws.com"), ("b", "ec2.amazonaws.com")],
        true,
        Some("m1"),
    );
    assert!(first.is_truncated);
    assert_eq!(first.marker.as_deref(), Some("m1"));
    let last = page(
        &[("c", "ec2.amazonaws.com"), ("a", "lambda.amazonaws.com")],
        false,
        None,
    );
    let account = AccountDetails::from_pages([first.clone(), last]).unwrap();
    let names: Vec<_> = account.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let a = account.role("a").unwrap().trust_policy.to_value();
    assert_eq!(
        a["Statement"]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );

    let err = AccountDetails::from_pages([first.clone()]).unwrap_err();
    assert_eq!(
        err,
        AccountError::Truncated {
            marker: "m1".to_owned()
        }
    );
    assert!(err.to_string().contains("pass every page"), "{err}");
    let single =
        serde_json::to_string(&json!({"RoleDetailList": [], "IsTruncated": true, "Marker": "m"}))
            .unwrap();
    assert!(matches!(
        AccountDetails::parse(&single),
        Err(AccountError::Truncated { .. })
    ));
    assert_eq!(
        AccountDetails::from_pages(Vec::new()).unwrap_err(),
        AccountError::Truncated {
            marker: String::new()
        }
    );
}

#[test]
fn a_role_gathers_inline_and_attached_default_versions() {
    let account = example();
    let pipeline = account.role("data-pipeline").unwrap();
    let found = account.identity_policies(Identity::Role(pipeline));
    assert_eq!(
        labels(&found),
        [
            "role/data-pipeline inline etl",
            "arn:aws:iam::111122223333:policy/app-data-access v2",
        ]
    );
    assert!(found.missing.is_empty());
    assert!(found.boundary.is_none());
    let v2 = found.policies[1].document;
    assert_eq!(
        v2.statements.as_slice()[0].sid.as_deref(),
        Some("ListAppData")
    );
}

#[test]
fn a_user_gathers_its_groups_and_boundary() {
    let account = example();
    let bob = account.user("bob").unwrap();
    let found = account.identity_policies(Identity::User(bob));
    assert_eq!(
        labels(&found),
        [
            "user/bob inline own-scratch-bucket",
            "group/developers inline ssm-sessions",
            "arn:aws:iam::111122223333:policy/developer-self-service v1",
            "arn:aws:iam::111122223333:policy/app-data-access v2",
        ]
    );
    assert_eq!(
        found.boundary.as_ref().unwrap().source.to_string(),
        "arn:aws:iam::111122223333:policy/developer-boundary v1"
    );

    let carol = account.user("carol").unwrap();
    let found = account.identity_policies(Identity::User(carol));
    assert_eq!(
        labels(&found),
        ["arn:aws:iam::aws:policy/ReadOnlyAccess v3"]
    );

    let developers = account.group("developers").unwrap();
    let found = account.identity_policies(Identity::Group(developers));
    assert_eq!(found.policies.len(), 3);
}

#[test]
fn missing_references_are_reported_and_managed_policies_listed_once() {
    let mut account = example();
    let mut bob = account.user("bob").unwrap().clone();
    bob.groups.push("ghosts".to_owned());
    bob.attached.push(AttachedPolicy {
        name: "app-data-access".to_owned(),
        arn: "arn:aws:iam::111122223333:policy/app-data-access".to_owned(),
    });
    bob.attached.push(AttachedPolicy {
        name: "gone".to_owned(),
        arn: "arn:aws:iam::111122223333:policy/gone".to_owned(),
    });
    bob.boundary = Some("arn:aws:iam::111122223333:policy/also-gone".to_owned());
    account.users.push(bob.clone());
    let found = account.identity_policies(Identity::User(&bob));
    let app_data = labels(&found)
        .iter()
        .filter(|l| l.contains("app-data-access"))
        .count();
    assert_eq!(app_data, 1);
    assert_eq!(
        found
            .missing
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "managed policy `arn:aws:iam::111122223333:policy/gone` is not in the export",
            "group `ghosts` is not in the export",
            "managed policy `arn:aws:iam::111122223333:policy/also-gone` is not in the export",
        ]
    );
    assert!(found.boundary.is_none());
}

#[test]
fn identities_are_found_by_arn() {
    let account = example();
    let who = account
        .identity("arn:aws:iam::111122223333:role/audit/partner-audit")
        .unwrap();
    assert_eq!(who.label(), "role/partner-audit");
    assert_eq!(
        account
            .identity("arn:aws:iam::111122223333:user/carol")
            .map(|i| i.name()),
        Some("carol")
    );
    assert_eq!(
        account
            .identity("arn:aws:iam::111122223333:group/admins")
            .map(|i| i.arn()),
        Some("arn:aws:iam::111122223333:group/admins")
    );
    assert!(
        account
            .identity("arn:aws:iam::111122223333:role/none")
            .is_none()
    );
}

#[test]
fn records_serialize_with_rfc3339_dates() {
    let account = example();
    let value = serde_json::to_value(account.role("lambda-orders").unwrap()).unwrap();
    assert_eq!(value["create_date"], "2022-02-14T10:03:21Z");
    assert_eq!(
        value["trust_policy"]["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    let source = serde_json::to_value(PolicySource::Managed {
        arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned(),
        version: "v3".to_owned(),
    })
    .unwrap();
    assert_eq!(
        source,
        json!({"type": "managed", "arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "version": "v3"})
    );
}
