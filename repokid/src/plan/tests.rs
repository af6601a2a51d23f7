use super::*;
use crate::model::{AttachedRecord, ManagedDecision, NamedPolicy};
use policies::expand::statement_actions;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2024-05-01 0:00 UTC);
const RECENT: OffsetDateTime = datetime!(2024-04-20 0:00 UTC);
const OLD: OffsetDateTime = datetime!(2023-01-01 0:00 UTC);

fn role(policies: &[(&str, &str)]) -> RoleRecord {
    RoleRecord {
        arn: "arn:aws:iam::111122223333:role/web".into(),
        name: "web".into(),
        id: "AROA1".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline: policies
            .iter()
            .map(|(name, text)| NamedPolicy {
                name: (*name).into(),
                document: Policy::parse(text).unwrap(),
            })
            .collect(),
        attached: Vec::new(),
    }
}

fn access(
    services: &[(&str, Option<OffsetDateTime>)],
    actions: &[(&str, &str, Option<OffsetDateTime>)],
) -> RoleAccess {
    let mut a = RoleAccess::default();
    for (s, t) in services {
        a.services.insert((*s).into(), *t);
    }
    for (s, n, t) in actions {
        a.actions.insert(((*s).into(), n.to_ascii_lowercase()), *t);
    }
    a.collected(NOW - Duration::days(1));
    a
}

fn plan(role: &RoleRecord, access: &RoleAccess) -> RolePlan {
    plan_with(role, access, &[], PlanConfig::default())
}

fn plan_with(
    role: &RoleRecord,
    access: &RoleAccess,
    history: &[PolicyVersionRecord],
    config: PlanConfig,
) -> RolePlan {
    let mut planner = Planner::new(Catalogue::builtin(), config);
    planner.plan_role(
        RoleInput {
            role,
            access: Some(access),
            history,
        },
        NOW,
    )
}

fn new_doc(plan: &RolePlan, i: usize) -> serde_json::Value {
    plan.policies[i]
        .new
        .as_ref()
        .map(Policy::to_value)
        .unwrap_or_default()
}

#[test]
fn unused_service_is_removed_and_the_rest_untouched() {
    let r = role(&[(
        "p",
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "dynamodb:GetItem"],
             "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}"#,
    )]);
    let got = plan(
        &r,
        &access(&[("s3", Some(RECENT)), ("dynamodb", Some(OLD))], &[]),
    );
    assert_eq!(got.outcome, Outcome::Repo);
    assert_eq!(got.removed, ["dynamodb:GetItem"]);
    assert_eq!(got.removed_services, ["dynamodb"]);
    assert_eq!(
        new_doc(&got, 0),
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]})
    );
    let diff = got.policies[0].diff.as_ref().unwrap();
    assert_eq!(diff.revoked, ["dynamodb:GetItem"]);
    assert!(diff.granted.is_empty());
    assert_eq!(got.policies[0].removed_count, 1);
    let config = PlanConfig {
        diffs: false,
        ..PlanConfig::default()
    };
    let quick = plan_with(
        &r,
        &access(&[("s3", Some(RECENT)), ("dynamodb", Some(OLD))], &[]),
        &[],
        config,
    );
    assert!(quick.policies[0].diff.is_none());
    assert_eq!(quick.policies[0].removed_count, 1);
}

#[test]
fn fully_used_role_is_unchanged() {
    let r = role(&[(
        "p",
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}"#,
    )]);
    let got = plan(&r, &access(&[("s3", Some(RECENT))], &[]));
    assert_eq!(got.outcome, Outcome::Unchanged);
    assert!(got.policies.is_empty() && got.removed.is_empty());
}

#[test]
fn action_level_data_overrides_service_level() {
    let r = role(&[(
        "p",
        r#"{"Statement": {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject", "s3:PutObject"], "Resource": "*"}}"#,
    )]);
    let a = access(
        &[("s3", Some(RECENT))],
        &[
            ("s3", "PutObject", Some(OLD)),
            ("s3", "ListBucket", None),
            ("s3", "GetObject", Some(RECENT)),
        ],
    );
    let got = plan(&r, &a);
    assert_eq!(got.removed, ["s3:ListBucket", "s3:PutObject"]);
    assert!(got.removed_services.is_empty());
    assert_eq!(new_doc(&got, 0)["Statement"]["Action"], "s3:GetObject");
}

#[test]
fn verbatim_patterns_stay_and_the_rest_is_minimized() {
    let r = role(&[(
        "p",
        r#"{"Statement": {"Effect": "Allow", "Action": ["s3:GetObject*", "sqs:*"], "Resource": "*"}}"#,
    )]);
    let a = access(
        &[("s3", Some(RECENT)), ("sqs", Some(RECENT))],
        &[("sqs", "DeleteQueue", Some(OLD))],
    );
    let got = plan(&r, &a);
    let actions = &new_doc(&got, 0)["Statement"]["Action"];
    let list: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(list[0], "s3:GetObject*", "{list:?}");
    assert!(!list.contains(&"sqs:*") && !list.iter().any(|p| p.contains("DeleteQueue")));
    // The rewritten statement grants exactly the old grant less DeleteQueue.
    let cat = Catalogue::builtin();
    let old = statement_actions(cat, &r.inline[0].document.statements.as_slice()[0]).actions;
    let new_policy = got.policies[0].new.as_ref().unwrap();
    let new = statement_actions(cat, &new_policy.statements.as_slice()[0]).actions;
    let mut expected = old.clone();
    expected.remove(cat.action_id("sqs:DeleteQueue").unwrap());
    assert_eq!(
        new.iter().collect::<Vec<_>>(),
        expected.iter().collect::<Vec<_>>()
    );
}

#[test]
fn not_action_becomes_an_explicit_list() {
    let r = role(&[(
        "p",
        r#"{"Statement": {"Sid": "All", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}"#,
    )]);
    let mut services: Vec<(String, Option<OffsetDateTime>)> = Catalogue::builtin()
        .services()
        .map(|s| (s.prefix().to_owned(), None))
        .collect();
    for (s, t) in &mut services {
        if s == "ec2" || s == "s3" {
            *t = Some(RECENT);
        }
    }
    let refs: Vec<(&str, Option<OffsetDateTime>)> =
        services.iter().map(|(s, t)| (s.as_str(), *t)).collect();
    let got = plan(&r, &access(&refs, &[]));
    let st = &new_doc(&got, 0)["Statement"];
    assert!(st.get("NotAction").is_none());
    let list: Vec<&str> = st["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        list.contains(&"ec2:*") && list.contains(&"s3:*"),
        "{list:?}"
    );
    // Invisible actions (kms:Decrypt...) are kept and reported.
    assert!(list.contains(&"kms:Decrypt"), "{list:?}");
    assert!(got.kept.iter().any(|k| k.reason == KeepReason::Invisible));
    assert!(!got.removed_services.contains(&"kms".to_owned()));
}

#[test]
fn norepo_statements_and_unknown_patterns_are_kept() {
    let r = role(&[(
        "p",
        r#"{"Statement": [
            {"Sid": "NOREPOKeep", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:NoSuchAction"], "Resource": "*"}]}"#,
    )]);
    let got = plan(&r, &access(&[("sqs", Some(OLD))], &[]));
    let doc = new_doc(&got, 0);
    assert_eq!(doc["Statement"][0]["Action"], "sqs:*");
    assert_eq!(doc["Statement"][1]["Action"], "sqs:NoSuchAction");
    assert!(
        matches!(&got.kept[0].reason, KeepReason::NoRepoStatement { sid, .. } if sid == "NOREPOKeep")
    );
}

#[test]
fn empty_policies_are_deleted_and_services_without_data_kept() {
    let r = role(&[
        (
            "gone",
            r#"{"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}}"#,
        ),
        (
            "kept",
            r#"{"Statement": {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}}"#,
        ),
    ]);
    let got = plan(&r, &access(&[("sqs", None)], &[]));
    assert_eq!(got.policies.len(), 1);
    assert_eq!(got.policies[0].name, "gone");
    assert!(got.policies[0].new.is_none());
    assert_eq!(got.no_data_services, ["sns"]);
}

#[test]
fn recently_added_permissions_are_kept() {
    let r = role(&[(
        "p",
        r#"{"Statement": {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:DeleteQueue"], "Resource": "*"}}"#,
    )]);
    let old = Policy::parse(
        r#"{"Statement": {"Effect": "Allow", "Action": "sqs:DeleteQueue", "Resource": "*"}}"#,
    )
    .unwrap();
    let history = [
        PolicyVersionRecord {
            role_arn: r.arn.clone(),
            policy: "p".into(),
            version: 1,
            seen_at: NOW - Duration::days(200),
            document: old,
        },
        PolicyVersionRecord {
            role_arn: r.arn.clone(),
            policy: "p".into(),
            version: 2,
            seen_at: NOW - Duration::days(3),
            document: r.inline[0].document.clone(),
        },
    ];
    let got = plan_with(
        &r,
        &access(&[("sqs", Some(OLD))], &[]),
        &history,
        PlanConfig::default(),
    );
    assert_eq!(got.removed, ["sqs:DeleteQueue"]);
    assert_eq!(got.kept[0].reason, KeepReason::RecentlyAdded);
    assert_eq!(got.kept[0].permissions, ["sqs:SendMessage"]);
}

#[test]
fn plan_over_the_inline_limit_is_refused() {
    let r = role(&[(
        "p",
        r#"{"Statement": {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}}"#,
    )]);
    // ec2 used, everything else has no data: the explicit list is long.
    let a = access(&[("ec2", Some(RECENT)), ("sqs", Some(OLD))], &[]);
    let got = plan(&r, &a);
    assert_eq!(got.outcome, Outcome::Repo);
    let size = json_size(got.policies[0].new.as_ref().unwrap());
    assert!(size > 1000 && size < INLINE_LIMIT, "{size}");
    let config = PlanConfig {
        inline_limit: size - 1,
        ..PlanConfig::default()
    };
    match &plan_with(&r, &a, &[], config).outcome {
        Outcome::Refused { reason } => assert!(reason.contains(&size.to_string()), "{reason}"),
        other => panic!("expected refused, got {other:?}"),
    }
}

#[test]
fn skipped_roles_carry_their_reasons() {
    let mut r = role(&[]);
    r.path = "/aws-service-role/".into();
    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    let got = planner.plan_role(
        RoleInput {
            role: &r,
            access: None,
            history: &[],
        },
        NOW,
    );
    assert_eq!(
        got.outcome,
        Outcome::Skipped {
            reasons: vec![
                crate::filter::SkipReason::ServiceLinked,
                crate::filter::SkipReason::NoAccessData
            ]
        }
    );
}

#[test]
fn managed_customer_policies_are_reported_not_rewritten() {
    let mut r = role(&[]);
    r.attached.push(AttachedRecord {
        name: "m".into(),
        arn: "arn:aws:iam::111122223333:policy/m".into(),
        aws_managed: false,
        document: Some(Policy::parse(r#"{"Statement": {"Effect": "Allow", "Action": ["sqs:SendMessage", "s3:GetObject"], "Resource": "*"}}"#).unwrap()),
    });
    r.attached.push(AttachedRecord {
        name: "aws".into(),
        arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        aws_managed: true,
        document: Some(
            Policy::parse(
                r#"{"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}}"#,
            )
            .unwrap(),
        ),
    });
    let got = plan(
        &r,
        &access(&[("sqs", Some(OLD)), ("s3", Some(RECENT))], &[]),
    );
    assert_eq!(got.outcome, Outcome::Unchanged);
    assert_eq!(got.managed_unused.len(), 1);
    assert_eq!(got.managed_unused[0].unused, ["sqs:SendMessage"]);
    assert_eq!(got.managed_unused[0].decision, ManagedDecision::Reported);
    assert!(got.detached().is_empty());
}

const MANAGED_ARN: &str = "arn:aws:iam::111122223333:policy/app";

fn with_managed(mut r: RoleRecord, name: &str, document: &str) -> RoleRecord {
    r.attached.push(AttachedRecord {
        name: name.into(),
        arn: MANAGED_ARN.into(),
        aws_managed: false,
        document: Some(Policy::parse(document).unwrap()),
    });
    r
}

fn managed_config() -> PlanConfig {
    PlanConfig {
        managed: true,
        ..PlanConfig::default()
    }
}

#[test]
fn managed_policy_is_replaced_by_a_right_sized_inline_copy() {
    // `repokid-app` is taken (in another case): the copy is `repokid-app-2`.
    let r = with_managed(
        role(&[(
            "Repokid-App",
            r#"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#,
        )]),
        "app",
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Use", "Effect": "Allow", "Action": ["sqs:SendMessage", "s3:PutObject"],
             "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Sid": "Gone", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Sid": "NOREPOkeep", "Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"},
            {"Sid": "Never", "Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}]}"#,
    );
    let a = access(&[("s3", Some(RECENT)), ("sqs", Some(OLD))], &[]);
    let got = plan_with(&r, &a, &[], managed_config());
    assert_eq!(got.outcome, Outcome::Repo);
    assert_eq!(got.detached(), [MANAGED_ARN]);
    let unused = &got.managed_unused[0];
    assert_eq!(unused.unused, ["sqs:*"]);
    assert_eq!(got.removed, ["sqs:*"]);
    assert_eq!(got.removed_services, ["sqs"]);
    // The inline policy is used: no change to it.
    assert!(got.policies.is_empty());

    let ManagedDecision::Replaced { copy, diff } = &unused.decision else {
        panic!("expected a copy, got {:?}", unused.decision);
    };
    assert_eq!(copy.name, "repokid-app-2");
    assert_eq!(
        copy.document.to_value(),
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Use", "Effect": "Allow", "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Sid": "NOREPOkeep", "Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"},
            {"Sid": "Never", "Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}]})
    );
    // The diff is the managed policy's against its copy.
    let diff = diff.as_ref().unwrap();
    assert!(diff.granted.is_empty());
    let revoked = policies::expand::expand(Catalogue::builtin(), &diff.revoked).actions;
    let id = |name| Catalogue::builtin().action_id(name).unwrap();
    assert!(
        revoked.contains(id("sqs:SendMessage")),
        "{:?}",
        diff.revoked
    );
    assert!(
        !revoked.contains(id("sqs:ListQueues")),
        "{:?}",
        diff.revoked
    );

    // After the plan: the inline policy as it was, then the copy.
    let after = got.inline_after(&r.inline);
    let names: Vec<&str> = after.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Repokid-App", "repokid-app-2"]);

    // Off by default: reported only, nothing detached.
    let default = plan(&r, &a);
    assert_eq!(default.outcome, Outcome::Unchanged);
    assert_eq!(
        default.managed_unused[0].decision,
        ManagedDecision::Reported
    );
    assert!(default.policies.is_empty() && default.detached().is_empty());
}

#[test]
fn managed_policy_with_nothing_used_is_detached_without_a_copy() {
    let r = with_managed(
        role(&[(
            "p",
            r#"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#,
        )]),
        "app",
        r#"{"Statement": [{"Effect": "Allow", "Action": "sqs:Send*", "Resource": "*"},
                          {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}"#,
    );
    let got = plan_with(
        &r,
        &access(&[("s3", Some(RECENT)), ("sqs", Some(OLD))], &[]),
        &[],
        managed_config(),
    );
    assert_eq!(got.outcome, Outcome::Repo);
    assert_eq!(got.managed_unused[0].decision, ManagedDecision::Detached);
    assert_eq!(got.detached(), [MANAGED_ARN]);
    assert!(got.policies.is_empty());
    assert_eq!(got.removed_services, ["sqs"]);
    assert_eq!(got.inline_after(&r.inline), r.inline);

    // With a Deny in it, detaching would lift the Deny: a copy keeps it.
    let r = with_managed(
        role(&[]),
        "app",
        r#"{"Statement": [{"Effect": "Allow", "Action": "sqs:Send*", "Resource": "*"},
                          {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}"#,
    );
    let got = plan_with(
        &r,
        &access(&[("s3", Some(RECENT)), ("sqs", Some(OLD))], &[]),
        &[],
        managed_config(),
    );
    let ManagedDecision::Replaced { copy, .. } = &got.managed_unused[0].decision else {
        panic!("expected a copy, got {:?}", got.managed_unused[0].decision);
    };
    assert_eq!(copy.name, "repokid-app");
    assert_eq!(
        copy.document.to_value(),
        serde_json::json!({"Statement": [
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]})
    );
}

#[test]
fn managed_copy_that_does_not_fit_stays_attached() {
    let inline = r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                                   {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}"#;
    let managed = r#"{"Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "sqs:ReceiveMessage"], "Resource": "*"}]}"#;
    let r = with_managed(role(&[("p", inline)]), "app", managed);
    let a = access(&[("s3", Some(RECENT)), ("sqs", Some(OLD))], &[]);
    let fits = plan_with(&r, &a, &[], managed_config());
    assert_eq!(fits.outcome, Outcome::Repo);
    let inline_after = json_size(fits.policies[0].new.as_ref().unwrap());
    let copy = match &fits.managed_unused[0].decision {
        ManagedDecision::Replaced { copy, .. } => json_size(&copy.document),
        other => panic!("expected a copy, got {other:?}"),
    };

    // Room for the rewritten inline policy, not for the copy as well.
    let config = PlanConfig {
        inline_limit: inline_after + copy - 1,
        ..managed_config()
    };
    let got = plan_with(&r, &a, &[], config);
    assert_eq!(got.outcome, Outcome::Repo);
    match &got.managed_unused[0].decision {
        ManagedDecision::Refused { reason } => {
            let total = (inline_after + copy).to_string();
            assert!(reason.contains(&total), "{reason}");
        }
        other => panic!("expected refused, got {other:?}"),
    }
    assert!(got.detached().is_empty());
    assert_eq!(got.inline_after(&r.inline).len(), 1, "no copy");
    // What stays attached is not removed.
    assert_eq!(got.removed, ["sqs:SendMessage"]);
}

#[test]
fn copy_names_fit_iam_and_avoid_taken_names() {
    assert_eq!(copy_name("app", &[]), "repokid-app");
    assert_eq!(
        copy_name("app", &["REPOKID-APP", "repokid-app-2"]),
        "repokid-app-3"
    );
    let long = "x".repeat(200);
    let name = copy_name(&long, &[]);
    assert_eq!(name.len(), POLICY_NAME_MAX);
    assert!(name.starts_with("repokid-xxx"));
    let taken = [name.as_str()];
    let second = copy_name(&long, &taken);
    assert_eq!(second.len(), POLICY_NAME_MAX);
    assert!(second.ends_with("x-2"), "{second}");
}

#[test]
fn json_size_counts_characters_of_the_compact_json() {
    let doc = Policy::parse(
        r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Ünïcode", "Effect": "Allow",
            "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/\"quoted\"\\é/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "café\n"}}}]}"#,
    )
    .unwrap();
    assert_eq!(json_size(&doc), doc.to_json().chars().count());
    assert!(
        json_size(&doc) < doc.to_json().len(),
        "multi-byte characters count once"
    );
}

#[test]
fn json_size_matches_the_writer() {
    let mut docs = vec![
        Policy::parse(
            r#"{"Id": "x\ty", "Statement": [
                {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::1:root", "*"], "Service": "s3.amazonaws.com"},
                 "NotAction": "s3:*", "NotResource": ["a", "b\u0001"],
                 "Condition": {"NumericLessThan": {"s3:max-keys": "10", "n": 1.50, "m": [1e3, -2]},
                               "Bool": {"aws:SecureTransport": false, "t": true},
                               "ForAnyValue:StringLikeIfExists": {"k": ["v\\w", "ü"]}}},
                {"Sid": "", "Effect": "Allow", "Principal": "*", "Action": ["a:B"], "Resource": "*"}]}"#,
        )
        .unwrap(),
    ];
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/account/authorization-details.json"
    ))
    .unwrap();
    let account = policies::account::AccountDetails::parse(&text).unwrap();
    for role in &account.roles {
        docs.push(role.trust_policy.clone());
        docs.extend(role.inline.iter().map(|p| p.document.clone()));
    }
    for policy in &account.policies {
        docs.extend(policy.versions.iter().map(|v| v.document.clone()));
    }
    assert!(docs.len() > 20, "{}", docs.len());
    for doc in &docs {
        assert_eq!(
            json_size(doc),
            doc.to_json().chars().count(),
            "{}",
            doc.to_json()
        );
    }
}
