//! The same store test body run against SQLite (in memory) and DynamoDB
//! (on moto, through `scripts/test -p repokid store`): policy versions far
//! over DynamoDB's 400 KB item limit in total, access merged latest-use-wins,
//! plans and counts, inline versions, the schedule, leases and the stats
//! series.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use policies::Policy;
use repokid::model::{
    AccessRecord, AccessSource, AccountTotals, NamedPolicy, Outcome, RolePlan, RoleRecord,
    Scheduled, VersionReason,
};
use repokid::store::StoreStats;
use repokid::{DynamoStore, SqliteStore, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2024-01-01 0:00 UTC);

fn arn(name: &str) -> String {
    format!("arn:aws:iam::111122223333:role/{name}")
}

fn role(name: &str, policies: &[(&str, &str)]) -> RoleRecord {
    RoleRecord {
        arn: arn(name),
        name: name.into(),
        id: format!("AROA{name}"),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline: policies
            .iter()
            .map(|(policy, text)| NamedPolicy {
                name: (*policy).into(),
                document: Policy::parse(text).unwrap(),
            })
            .collect(),
        attached: Vec::new(),
    }
}

const V1: &str = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
const V2: &str = r#"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#;

/// A policy of about `resources` × 33 bytes, different for each `n`.
fn big_policy(n: usize, resources: usize) -> String {
    let list: Vec<String> = (0..resources)
        .map(|j| format!("\"arn:aws:s3:::bucket-{n:03}-{j:04}/*\""))
        .collect();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": [{}]}}]}}"#,
        list.join(", ")
    )
}

/// A new version only when a document changes; none is overwritten.
async fn policy_versions_are_kept(store: &dyn Store) {
    let web = arn("web");
    let t1 = T0 + Duration::days(1);
    let put = |doc| vec![role("web", &[("p", doc)])];
    assert_eq!(store.put_roles(&put(V1), T0).await.unwrap().new_versions, 1);
    assert_eq!(store.put_roles(&put(V1), t1).await.unwrap().new_versions, 0);
    assert_eq!(store.put_roles(&put(V2), t1).await.unwrap().new_versions, 1);
    let summary = store.put_roles(&put(V1), t1).await.unwrap();
    assert_eq!((summary.roles, summary.new_versions), (1, 1));
    let history = store.policy_history(&web).await.unwrap();
    let versions: Vec<(u32, OffsetDateTime)> =
        history.iter().map(|v| (v.version, v.seen_at)).collect();
    assert_eq!(versions, [(1, T0), (2, t1), (3, t1)]);
    assert_eq!(history[0].document, Policy::parse(V1).unwrap());
    assert_eq!(history[1].document, Policy::parse(V2).unwrap());
    assert!(history.iter().all(|v| v.role_arn == web && v.policy == "p"));
    // A role given twice in one call: both states are versions, the last
    // is the role.
    let twice = [
        role("twice", &[("p", V1)]),
        role("twice", &[("p", V2), ("q", V1)]),
    ];
    let summary = store.put_roles(&twice, T0).await.unwrap();
    assert_eq!((summary.roles, summary.new_versions), (2, 3));
    let stored = store.roles().await.unwrap();
    let twice_stored = stored.iter().find(|r| r.name == "twice").unwrap();
    assert_eq!(twice_stored, &twice[1]);
    let history = store.policy_history(&arn("twice")).await.unwrap();
    let got: Vec<(&str, u32)> = history
        .iter()
        .map(|v| (v.policy.as_str(), v.version))
        .collect();
    assert_eq!(got, [("p", 1), ("p", 2), ("q", 1)]);
    // Another role whose name starts like this one's is not mixed in.
    store
        .put_roles(&[role("web2", &[("p", V2)])], T0)
        .await
        .unwrap();
    assert_eq!(store.policy_history(&web).await.unwrap().len(), 3);
}

/// Sixty versions of about 20 KB: about 1.2 MB of one role's history, far
/// over a DynamoDB item (and over one `Query` page), all read back in order.
async fn a_long_history_reads_back_in_order(store: &dyn Store) {
    const VERSIONS: usize = 60;
    let texts: Vec<String> = (0..VERSIONS).map(|n| big_policy(n, 600)).collect();
    assert!(texts.iter().all(|t| t.len() > 19_000));
    for (n, text) in texts.iter().enumerate() {
        let at = T0 + Duration::hours(i64::try_from(n).unwrap());
        let big = role("history", &[("big", text), ("small", V1)]);
        let summary = store.put_roles(&[big], at).await.unwrap();
        assert_eq!(summary.new_versions, if n == 0 { 2 } else { 1 });
    }
    let history = store.policy_history(&arn("history")).await.unwrap();
    assert_eq!(history.len(), VERSIONS + 1);
    // Oldest first; at the first time, `big` sorts before `small`.
    assert_eq!(
        (history[0].policy.as_str(), history[1].policy.as_str()),
        ("big", "small")
    );
    let big: Vec<_> = history.iter().filter(|v| v.policy == "big").collect();
    for (n, (v, text)) in big.iter().zip(&texts).enumerate() {
        assert_eq!(v.version, u32::try_from(n + 1).unwrap());
        assert_eq!(v.seen_at, T0 + Duration::hours(i64::try_from(n).unwrap()));
        assert_eq!(v.document, Policy::parse(text).unwrap());
    }
    // The role keeps only its latest documents.
    let roles = store.roles().await.unwrap();
    let stored = roles.iter().find(|r| r.name == "history").unwrap();
    assert_eq!(
        stored.inline[0].document,
        Policy::parse(&texts[VERSIONS - 1]).unwrap()
    );

    // Inline versions likewise: thirty sets of two 20 KB policies.
    for n in 0..30 {
        let policies = [
            NamedPolicy {
                name: "a".into(),
                document: Policy::parse(&big_policy(n, 600)).unwrap(),
            },
            NamedPolicy {
                name: "b".into(),
                document: Policy::parse(&big_policy(n + 100, 600)).unwrap(),
            },
        ];
        let reason = if n % 2 == 0 {
            VersionReason::BeforeRepo
        } else {
            VersionReason::BeforeRollback
        };
        let attached = attached_of(n);
        let version = store
            .put_inline_version(&arn("history"), &policies, &attached, reason, T0)
            .await
            .unwrap();
        assert_eq!(version, u32::try_from(n + 1).unwrap());
    }
    let saved = store.inline_versions(&arn("history")).await.unwrap();
    assert_eq!(saved.len(), 30);
    for (n, v) in saved.iter().enumerate() {
        assert_eq!(v.version, u32::try_from(n + 1).unwrap());
        assert_eq!(v.policies.len(), 2);
        assert_eq!(v.attached, attached_of(n));
        assert_eq!(
            v.policies[1].document,
            Policy::parse(&big_policy(n + 100, 600)).unwrap()
        );
    }
    assert!(
        store
            .inline_versions(&arn("hist"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The managed policy ARNs saved with inline version `n + 1`: none for
/// even `n`, one or two for odd `n`.
fn attached_of(n: usize) -> Vec<String> {
    (0..n % 4)
        .filter(|_| n % 2 == 1)
        .map(|i| format!("arn:aws:iam::111122223333:policy/team/p{n}-{i}"))
        .collect()
}

/// Many roles in one call, more than one DynamoDB transaction holds.
async fn many_roles_in_one_call(store: &dyn Store) {
    let names: Vec<String> = (0..130).map(|i| format!("bulk-{i:03}")).collect();
    let roles: Vec<RoleRecord> = names.iter().map(|n| role(n, &[("p", V2)])).collect();
    let summary = store.put_roles(&roles, T0).await.unwrap();
    assert_eq!((summary.roles, summary.new_versions), (130, 130));
    let stored: Vec<String> = store
        .roles()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.name.starts_with("bulk-"))
        .map(|r| r.name)
        .collect();
    assert_eq!(stored, names, "by name");
    let again = store
        .put_roles(&roles, T0 + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(again.new_versions, 0);

    // One role with 120 new policy versions at once: more writes than one
    // DynamoDB transaction holds, for a single role.
    let names: Vec<String> = (0..120).map(|i| format!("p{i:03}")).collect();
    let policies: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), V2)).collect();
    let wide = role("many-policies", &policies);
    let summary = store
        .put_roles(std::slice::from_ref(&wide), T0)
        .await
        .unwrap();
    assert_eq!(summary.new_versions, 120);
    let history = store.policy_history(&arn("many-policies")).await.unwrap();
    let got: Vec<&str> = history.iter().map(|v| v.policy.as_str()).collect();
    assert_eq!(got, names);
    let again = store.put_roles(&[wide], T0).await.unwrap();
    assert_eq!(again.new_versions, 0);
}

fn record(
    role: &str,
    service: &str,
    action: Option<&str>,
    last: Option<OffsetDateTime>,
    source: AccessSource,
) -> AccessRecord {
    AccessRecord {
        role_arn: arn(role),
        service: service.into(),
        action: action.map(Into::into),
        last_used: last,
        source,
    }
}

/// Per role, service and action the latest use wins; per role the latest
/// collection.
async fn access_merges_latest_use(store: &dyn Store) {
    let jan = datetime!(2024-01-01 0:00 UTC);
    let feb = datetime!(2024-02-01 0:00 UTC);
    let mar = datetime!(2024-03-01 0:00 UTC);
    store
        .put_access(
            &[
                record("acc", "S3", None, Some(feb), AccessSource::CloudTrail),
                record(
                    "acc",
                    "s3",
                    Some("GetObject"),
                    None,
                    AccessSource::AccessAdvisor,
                ),
                record("acc", "ec2", None, None, AccessSource::AccessAdvisor),
            ],
            feb,
        )
        .await
        .unwrap();
    store
        .put_access(
            &[
                record("acc", "s3", None, Some(jan), AccessSource::Aardvark),
                record(
                    "acc",
                    "s3",
                    Some("getobject"),
                    Some(jan),
                    AccessSource::Aardvark,
                ),
                // Twice in one call: the later wins whatever the order.
                record("acc", "sqs", None, Some(mar), AccessSource::CloudTrail),
                record("acc", "sqs", None, Some(jan), AccessSource::Aardvark),
                record(
                    "other",
                    "kms",
                    Some("Decrypt"),
                    Some(mar),
                    AccessSource::CloudTrail,
                ),
            ],
            jan,
        )
        .await
        .unwrap();
    let history = store.access().await.unwrap();
    let acc = history.role(&arn("acc")).unwrap();
    assert_eq!(acc.services["s3"], Some(feb));
    assert_eq!(acc.services["ec2"], None);
    assert_eq!(acc.services["sqs"], Some(mar));
    assert_eq!(
        acc.actions[&("s3".to_owned(), "getobject".to_owned())],
        Some(jan)
    );
    assert_eq!(acc.collected_at, Some(feb), "the later collection stays");
    let other = history.role(&arn("other")).unwrap();
    assert!(other.services.is_empty());
    assert_eq!(
        other.actions[&("kms".to_owned(), "decrypt".to_owned())],
        Some(mar)
    );
    assert_eq!(other.collected_at, Some(jan));

    // A role with access data in more services than one DynamoDB
    // transaction holds.
    let wide: Vec<AccessRecord> = (0..150)
        .map(|i| {
            record(
                "wide",
                &format!("svc{i:03}"),
                None,
                Some(jan),
                AccessSource::CloudTrail,
            )
        })
        .collect();
    store.put_access(&wide, mar).await.unwrap();
    let history = store.access().await.unwrap();
    let wide = history.role(&arn("wide")).unwrap();
    assert_eq!(wide.services.len(), 150);
    assert_eq!(wide.collected_at, Some(mar));
}

fn plan(role: &str) -> RolePlan {
    RolePlan {
        role_arn: arn(role),
        role_name: role.into(),
        outcome: Outcome::Unchanged,
        removed: Vec::new(),
        removed_count: 0,
        removed_services: Vec::new(),
        policies: Vec::new(),
        kept: Vec::new(),
        no_data_services: Vec::new(),
        managed_unused: Vec::new(),
    }
}

/// Every plan is kept, also two of one role at one time; the counts.
async fn plans_and_counts(store: &dyn Store, before: StoreStats) {
    store.put_plan(&plan("web"), T0).await.unwrap();
    store.put_plan(&plan("web"), T0).await.unwrap();
    store
        .put_plan(&plan("web"), T0 + Duration::seconds(1))
        .await
        .unwrap();
    store.put_plan(&plan("acc"), T0).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(
        stats,
        StoreStats {
            plans: before.plans + 4,
            ..before
        }
    );
}

/// Soonest due first, scheduling again replaces, unscheduling answers
/// whether there was an entry.
async fn schedule_lists_soonest_first_and_cancels(store: &dyn Store) {
    let entry = |name: &str, due| Scheduled {
        role_arn: arn(name),
        role_name: name.into(),
        due_at: due,
        scheduled_at: datetime!(2024-04-01 0:00 UTC),
        notified: false,
    };
    let late = entry("late", datetime!(2024-04-20 0:00 UTC));
    let soon = entry("soon", datetime!(2024-04-08 0:00 UTC));
    let tie = entry("a-tie", datetime!(2024-04-20 0:00 UTC));
    store.schedule(&late).await.unwrap();
    store.schedule(&soon).await.unwrap();
    store.schedule(&tie).await.unwrap();
    assert_eq!(
        store.scheduled().await.unwrap(),
        [soon.clone(), tie.clone(), late.clone()]
    );
    let later = Scheduled {
        notified: true,
        ..entry("soon", datetime!(2024-05-01 0:00 UTC))
    };
    store.schedule(&later).await.unwrap();
    assert_eq!(
        store.scheduled().await.unwrap(),
        [tie.clone(), late.clone(), later]
    );
    assert!(store.unschedule(&soon.role_arn).await.unwrap());
    assert!(!store.unschedule(&soon.role_arn).await.unwrap());
    assert!(store.unschedule(&tie.role_arn).await.unwrap());
    assert_eq!(store.scheduled().await.unwrap(), [late]);
}

/// A lease excludes other owners until it expires; only its owner frees it.
async fn leases_contend_and_expire(store: &dyn Store) {
    let r = arn("leased");
    let t0 = datetime!(2024-04-01 0:00 UTC);
    let until = datetime!(2024-04-01 0:15 UTC);
    assert!(store.try_lock(&r, "a", t0, until).await.unwrap());
    assert!(!store.try_lock(&r, "b", t0, until).await.unwrap());
    assert!(
        !store
            .try_lock(&r, "b", datetime!(2024-04-01 0:14:59 UTC), until)
            .await
            .unwrap()
    );
    // Another role is free; the owner may extend.
    assert!(store.try_lock(&arn("free"), "b", t0, until).await.unwrap());
    let extended = datetime!(2024-04-01 0:20 UTC);
    assert!(store.try_lock(&r, "a", t0, extended).await.unwrap());
    assert!(
        !store.try_lock(&r, "b", until, until).await.unwrap(),
        "extended"
    );
    // Expired: anyone may take it.
    assert!(
        store
            .try_lock(&r, "b", extended, datetime!(2024-04-01 0:35 UTC))
            .await
            .unwrap()
    );
    // Unlocking someone else's lease does nothing; one's own frees it.
    store.unlock(&r, "a").await.unwrap();
    assert!(!store.try_lock(&r, "a", extended, until).await.unwrap());
    store.unlock(&r, "b").await.unwrap();
    assert!(store.try_lock(&r, "a", extended, until).await.unwrap());
    // Unlocking a role never locked is fine.
    store.unlock(&arn("never"), "a").await.unwrap();
}

/// The stats series: by time, then account; an entry of the same time and
/// account replaces the earlier one.
async fn totals_form_a_series(store: &dyn Store) {
    let t = |at, account: &str, roles| AccountTotals {
        taken_at: at,
        account: account.into(),
        roles,
        inline_policies: roles * 2,
        roles_with_access: roles,
        roles_repoable: 1,
        removable_permissions: 10,
    };
    let jan = datetime!(2024-01-01 0:00 UTC);
    let feb = datetime!(2024-02-01 0:00 UTC);
    let old = datetime!(1969-12-31 0:00 UTC);
    store
        .put_totals(&[t(feb, "2", 5), t(feb, "1", 4)])
        .await
        .unwrap();
    store
        .put_totals(&[t(jan, "1", 3), t(old, "1", 1), t(jan, "1", 9)])
        .await
        .unwrap();
    assert_eq!(
        store.totals().await.unwrap(),
        [
            t(old, "1", 1),
            t(jan, "1", 9),
            t(feb, "1", 4),
            t(feb, "2", 5)
        ]
    );
    // More than one `BatchWriteItem` holds.
    let many: Vec<AccountTotals> = (0..60)
        .map(|i| t(jan + Duration::minutes(i), "3", 1))
        .collect();
    store.put_totals(&many).await.unwrap();
    assert_eq!(store.totals().await.unwrap().len(), 64);
}

async fn exercise(store: &dyn Store) {
    assert_eq!(store.stats().await.unwrap(), StoreStats::default());
    policy_versions_are_kept(store).await;
    a_long_history_reads_back_in_order(store).await;
    many_roles_in_one_call(store).await;
    access_merges_latest_use(store).await;
    let before = store.stats().await.unwrap();
    assert_eq!(
        before,
        StoreStats {
            // web, twice, web2, history, 130 bulk roles, many-policies
            roles: 135,
            // web 3, twice 3, web2 1, history 61, bulk 130, many-policies 120
            policy_versions: 318,
            // acc, other, wide
            roles_with_access: 3,
            // acc: s3, s3:getobject, ec2, sqs; other: kms:decrypt; wide: 150
            access_records: 155,
            plans: 0,
        }
    );
    plans_and_counts(store, before).await;
    schedule_lists_soonest_first_and_cancels(store).await;
    leases_contend_and_expire(store).await;
    totals_form_a_series(store).await;
}

#[tokio::test]
async fn store_sqlite_keeps_every_record() {
    exercise(&SqliteStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn store_dynamodb_keeps_every_record() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        testkit::unique_name("repokid-store"),
    );
    store.create_table().await.unwrap();
    exercise(&store).await;
}

#[tokio::test]
async fn store_dynamodb_names_a_missing_table() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let table = testkit::unique_name("repokid-missing");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let err = store.roles().await.unwrap_err().to_string();
    assert!(err.contains(&table), "{err}");
    assert!(err.contains("repokid init-table"), "{err}");
}

#[tokio::test]
async fn store_dynamodb_lease_holds_across_handles() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let table = testkit::unique_name("repokid-lease");
    let client = aws_sdk_dynamodb::Client::new(&config);
    // Two handles on one table, as two Lambda instances would have.
    let a = DynamoStore::new(client.clone(), table.clone());
    a.create_table().await.unwrap();
    let b = DynamoStore::new(client, table);
    let until = T0 + Duration::minutes(15);
    assert!(a.try_lock(&arn("shared"), "a", T0, until).await.unwrap());
    assert!(!b.try_lock(&arn("shared"), "b", T0, until).await.unwrap());
    b.unlock(&arn("shared"), "b").await.unwrap();
    assert!(!b.try_lock(&arn("shared"), "b", T0, until).await.unwrap());
    a.unlock(&arn("shared"), "a").await.unwrap();
    assert!(b.try_lock(&arn("shared"), "b", T0, until).await.unwrap());
}
