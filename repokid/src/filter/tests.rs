use super::*;
use crate::model::Tag;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2024-05-01 0:00 UTC);

fn role(name: &str) -> RoleRecord {
    RoleRecord {
        arn: format!("arn:aws:iam::111122223333:role/{name}"),
        name: name.into(),
        id: "AROA1".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline: Vec::new(),
        attached: Vec::new(),
    }
}

fn fresh() -> RoleAccess {
    let mut a = RoleAccess::default();
    a.collected(NOW - Duration::days(1));
    a
}

#[test]
fn an_old_role_with_fresh_data_passes() {
    assert!(role_skips(&FilterConfig::default(), &role("a"), Some(&fresh()), NOW).is_empty());
}

#[test]
fn each_filter_names_its_reason() {
    let cfg = FilterConfig {
        blocklist: vec!["b".into()],
        ..FilterConfig::default()
    };
    let mut young = role("b");
    young.create_date = Some(NOW - Duration::days(10));
    young.path = "/aws-service-role/".into();
    young.tags.push(Tag {
        key: "Repokid-Opt-Out".into(),
        value: "2024-06-01 migration".into(),
    });
    let got = role_skips(&cfg, &young, None, NOW);
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(matches!(got[0], SkipReason::TooYoung { min_days: 90, .. }));
    assert_eq!(got[1], SkipReason::Blocklisted);
    assert_eq!(got[2], SkipReason::ServiceLinked);
    assert_eq!(
        got[3],
        SkipReason::OptedOut {
            until: "2024-06-01".into()
        }
    );
    assert_eq!(got[4], SkipReason::NoAccessData);
}

#[test]
fn expired_opt_out_no_longer_skips_and_bad_value_does() {
    let mut r = role("a");
    r.tags.push(Tag {
        key: "repokid-opt-out".into(),
        value: "2024-04-01".into(),
    });
    assert!(role_skips(&FilterConfig::default(), &r, Some(&fresh()), NOW).is_empty());
    r.tags[0].value = "forever".into();
    let got = role_skips(&FilterConfig::default(), &r, Some(&fresh()), NOW);
    assert!(matches!(&got[..], [SkipReason::OptOutUnreadable { .. }]));
    assert!(got[0].to_string().contains("YYYY-MM-DD"));
}

#[test]
fn allowlist_is_exclusive_and_matches_globs() {
    let cfg = FilterConfig {
        allowlist: vec!["app-*".into()],
        ..FilterConfig::default()
    };
    assert!(role_skips(&cfg, &role("app-web"), Some(&fresh()), NOW).is_empty());
    assert_eq!(
        role_skips(&cfg, &role("db"), Some(&fresh()), NOW),
        [SkipReason::NotAllowListed]
    );
}

#[test]
fn stale_access_data_and_unknown_age_are_refused() {
    let mut stale = RoleAccess::default();
    stale.collected(NOW - Duration::days(30));
    let mut r = role("a");
    r.create_date = None;
    let got = role_skips(&FilterConfig::default(), &r, Some(&stale), NOW);
    assert_eq!(got[0], SkipReason::UnknownAge);
    assert!(matches!(
        got[1],
        SkipReason::AccessDataTooOld { max_days: 7, .. }
    ));
}

#[test]
fn norepo_sids() {
    let p = policies::Policy::parse(
        r#"{"Statement": [{"Sid": "NoRepoKeep", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                          {"Sid": "NOREP", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                          {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#,
    )
    .unwrap();
    let got: Vec<bool> = p.statements.iter().map(is_norepo).collect();
    assert_eq!(got, [true, false, false]);
}

#[test]
fn invisible_actions_are_all_known() {
    let cat = Catalogue::builtin();
    for name in INVISIBLE_ACTIONS {
        assert!(expand(cat, [name]).unmatched.is_empty(), "{name}");
    }
    assert!(invisible_actions(cat).contains(cat.action_id("iam:PassRole").unwrap()));
}

#[test]
fn recently_added_uses_first_sight_as_baseline() {
    let cat = Catalogue::builtin();
    let doc = |actions: &str| {
        policies::Policy::parse(&format!(
            r#"{{"Statement": {{"Effect": "Allow", "Action": {actions}, "Resource": "*"}}}}"#
        ))
        .unwrap()
    };
    let version = |n, seen_at, d| PolicyVersionRecord {
        role_arn: "r".into(),
        policy: "p".into(),
        version: n,
        seen_at,
        document: d,
    };
    let history = vec![
        version(1, NOW - Duration::days(20), doc(r#""s3:GetObject""#)),
        version(
            2,
            NOW - Duration::days(5),
            doc(r#"["s3:GetObject", "sqs:SendMessage"]"#),
        ),
    ];
    let current = [history[1].document.clone()];
    let got = recently_added(cat, &history, current.iter(), 90, NOW);
    let names: Vec<String> = got
        .iter()
        .map(|id| cat.get(id).unwrap().to_string())
        .collect();
    assert_eq!(names, ["sqs:SendMessage"]);
    assert!(recently_added(cat, &[], current.iter(), 90, NOW).is_empty());
}

#[test]
fn an_account_blocklist_applies_to_its_account_only() {
    let mut cfg = FilterConfig::default();
    let account = role("a").arn.split(':').nth(4).unwrap().to_owned();
    cfg.account_blocklist.insert(account, vec!["a".into()]);
    cfg.account_blocklist
        .insert("999999999999".into(), vec!["b".into()]);
    assert_eq!(
        role_skips(&cfg, &role("a"), Some(&fresh()), NOW),
        [SkipReason::Blocklisted]
    );
    assert!(role_skips(&cfg, &role("b"), Some(&fresh()), NOW).is_empty());
}
