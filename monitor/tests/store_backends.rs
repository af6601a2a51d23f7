//! The same store test body run against SQLite (in a temp dir) and
//! DynamoDB (on moto, through `scripts/test -p monitor store`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;

use monitor::model::{Category, ConfigItem, Event, Issue, IssueId, ItemStatus, ResourceKey};
use monitor::store::{DynamoStore, Filter, IssueStatus, Scope, SqliteStore, Store, StoreError};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);
const A: &str = "111111111111";
const B: &str = "222222222222";

fn key(account: &str, region: &str, resource_type: &str, id: &str) -> ResourceKey {
    ResourceKey {
        account: account.into(),
        region: region.into(),
        resource_type: resource_type.into(),
        resource_id: id.into(),
    }
}

fn item(key: ResourceKey, configuration: Value) -> ConfigItem {
    ConfigItem {
        key,
        arn: None,
        name: None,
        status: ItemStatus::Ok,
        capture_time: None,
        configuration,
        supplementary: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

fn rule(port: u16) -> Value {
    json!({"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": ["10.0.0.0/8"]})
}

fn group(rules: &[u16]) -> ConfigItem {
    item(
        key(A, "us-east-1", "AWS::EC2::SecurityGroup", "sg-1"),
        json!({"groupId": "sg-1", "ipPermissions": rules.iter().map(|p| rule(*p)).collect::<Vec<_>>()}),
    )
}

fn role(last_used: &str) -> ConfigItem {
    // Keys in a different order each time: must not matter.
    let configuration: Value = if last_used.ends_with('1') {
        serde_json::from_str(&format!(
            r#"{{"roleName": "web", "path": "/", "roleLastUsed": {{"lastUsedDate": "{last_used}"}}}}"#
        ))
        .unwrap()
    } else {
        serde_json::from_str(&format!(
            r#"{{"roleLastUsed": {{"lastUsedDate": "{last_used}"}}, "path": "/", "roleName": "web"}}"#
        ))
        .unwrap()
    };
    item(key(A, "global", "AWS::IAM::Role", "AROAWEB"), configuration)
}

/// A bucket whose configuration is bigger than a DynamoDB item holds as
/// plain JSON (it is stored gzipped there).
fn big_bucket(account: &str) -> ConfigItem {
    let filler: Vec<String> = (0..12_000).map(|i| format!("object-{i:08}")).collect();
    let mut bucket = item(
        key(account, "us-east-1", "AWS::S3::Bucket", "logs"),
        json!({"name": "logs", "filler": filler}),
    );
    bucket.supplementary.insert(
        "PublicAccessBlockConfiguration".into(),
        json!({"blockPublicAcls": true}),
    );
    bucket.tags.insert("team".into(), "web".into());
    bucket
}

fn changed(events: &[Event]) -> Vec<(String, u32, usize)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ResourceChanged {
                key,
                revision,
                changes,
            } => Some((key.resource_id.clone(), *revision, changes.len())),
            _ => None,
        })
        .collect()
}

fn deleted(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ResourceDeleted { key } => Some(key.resource_id.clone()),
            _ => None,
        })
        .collect()
}

async fn revisions_and_deletions(store: &dyn Store) {
    let t1 = T0 + Duration::hours(1);
    let t2 = T0 + Duration::hours(2);
    let t3 = T0 + Duration::hours(3);

    // First sight: every resource is news, revision 1, no changes.
    let events = store
        .record(&[group(&[22, 443]), role("2026-02-01"), big_bucket(A)], T0)
        .await
        .unwrap();
    let mut first = changed(&events);
    first.sort();
    assert_eq!(
        first,
        vec![
            ("AROAWEB".into(), 1, 0),
            ("logs".into(), 1, 0),
            ("sg-1".into(), 1, 0)
        ]
    );

    // Same state, keys reordered and an ephemeral field moved: nothing new.
    let events = store
        .record(&[group(&[22, 443]), role("2026-02-11"), big_bucket(A)], t1)
        .await
        .unwrap();
    assert_eq!(events, vec![]);

    // One rule inserted: one revision, one change at the inserted index.
    let events = store.record(&[group(&[22, 8080, 443])], t2).await.unwrap();
    match &events[..] {
        [
            Event::ResourceChanged {
                revision: 2,
                changes,
                ..
            },
        ] => {
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].path, "/configuration/ipPermissions/1");
            assert_eq!(changes[0].before, None);
            assert_eq!(changes[0].after, Some(rule(8080)));
        }
        other => panic!("expected one change, got {other:?}"),
    }

    // A stale item (captured before the newest revision) is ignored.
    let mut fresh = big_bucket(A);
    fresh.capture_time = Some(t2);
    fresh.tags.insert("env".into(), "prod".into());
    assert_eq!(
        changed(&store.record(&[fresh], t2).await.unwrap()),
        vec![("logs".into(), 2, 1)]
    );
    let mut stale = big_bucket(A);
    stale.capture_time = Some(t1);
    assert_eq!(store.record(&[stale], t2).await.unwrap(), vec![]);

    // A complete collection of account A without the group and the role:
    // both are deleted, once; the other account is not touched.
    store.record(&[big_bucket(B)], t2).await.unwrap();
    let mut bucket_now = big_bucket(A);
    bucket_now.capture_time = Some(t3);
    bucket_now.tags.insert("env".into(), "prod".into());
    let events = store
        .record_complete(&Scope::account(A), &[bucket_now.clone()], t3)
        .await
        .unwrap();
    let mut gone = deleted(&events);
    gone.sort();
    assert_eq!(gone, vec!["AROAWEB", "sg-1"]);
    assert_eq!(changed(&events), vec![]);
    let again = store
        .record_complete(&Scope::account(A), &[bucket_now], t3 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(again, vec![]);

    // latest: deleted resources only on request; scope filters.
    let live = store.latest(&Filter::default()).await.unwrap();
    let ids: Vec<(String, String)> = live
        .iter()
        .map(|i| (i.key.account.clone(), i.key.resource_id.clone()))
        .collect();
    assert_eq!(
        ids,
        vec![(A.into(), "logs".into()), (B.into(), "logs".into())]
    );
    assert_eq!(live[0].configuration, big_bucket(A).configuration);
    assert_eq!(live[0].tags.get("env").map(String::as_str), Some("prod"));
    let all_a = store
        .latest(&Filter {
            scope: Scope::account(A),
            include_deleted: true,
        })
        .await
        .unwrap();
    assert_eq!(all_a.len(), 3);
    assert!(all_a.iter().all(|i| i.key.account == A));

    // history: every revision with its seen times and changes.
    let sg = group(&[]).key;
    let history = store.history(&sg).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!((history[0].first_seen, history[0].last_seen), (T0, t1));
    assert_eq!((history[1].first_seen, history[1].last_seen), (t2, t2));
    assert!(history[2].is_deletion());
    assert_eq!(history[2].first_seen, t3);
    // A deleted resource is not seen again by later collections.
    assert_eq!(history[2].last_seen, t3);
    assert_eq!(history[1].changes.len(), 1);
    assert_ne!(history[0].hash, history[1].hash);
    let role_history = store.history(&role("x").key).await.unwrap();
    // The stored item keeps the ephemeral field as first collected.
    assert_eq!(
        role_history[0].item.configuration["roleLastUsed"]["lastUsedDate"],
        json!("2026-02-01")
    );
    assert!(
        store
            .history(&key(A, "us-east-1", "AWS::S3::Bucket", "nope"))
            .await
            .unwrap()
            .is_empty()
    );

    // revisions_since: by first-seen time, then key.
    let since = store.revisions_since(t2).await.unwrap();
    let listed: Vec<(String, u32)> = since
        .iter()
        .map(|r| (r.key.to_string(), r.number))
        .collect();
    assert_eq!(
        listed,
        vec![
            (format!("{A}/us-east-1/AWS::EC2::SecurityGroup/sg-1"), 2),
            (format!("{A}/us-east-1/AWS::S3::Bucket/logs"), 2),
            (format!("{B}/us-east-1/AWS::S3::Bucket/logs"), 1),
            (format!("{A}/global/AWS::IAM::Role/AROAWEB"), 2),
            (format!("{A}/us-east-1/AWS::EC2::SecurityGroup/sg-1"), 3),
        ]
    );
    assert_eq!(since[4].last_seen, t3);
    assert_eq!(since[1].last_seen, t3 + Duration::hours(1));
}

fn issue(account: &str, detail: &str, score: u8) -> Issue {
    Issue::new(
        key(account, "us-east-1", "AWS::S3::Bucket", "logs"),
        "s3.public-policy",
        Category::InternetAccessible,
        score,
        detail.into(),
        "bucket policy allows anyone".into(),
    )
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::NewIssue { .. } => "new",
            Event::ChangedIssue { .. } => "changed",
            Event::NoLongerJustified { .. } => "unjustified",
            Event::ResolvedIssue { .. } => "resolved",
            Event::ResourceChanged { .. } => "resource",
            Event::ResourceDeleted { .. } => "deleted",
        })
        .collect()
}

async fn issue_lifecycle(store: &dyn Store) {
    let (a, b) = (issue(A, "*", 9), issue(B, "*", 9));
    let scope_a = Scope::account(A);
    let scope_b = Scope::account(B);
    let at = |h: i64| T0 + Duration::hours(h);

    assert_eq!(
        kinds(
            &store
                .reconcile(&scope_a, std::slice::from_ref(&a), at(0))
                .await
                .unwrap()
        ),
        ["new"]
    );
    assert_eq!(
        kinds(
            &store
                .reconcile(&scope_b, std::slice::from_ref(&b), at(0))
                .await
                .unwrap()
        ),
        ["new"]
    );
    // Unchanged: never twice.
    assert!(
        store
            .reconcile(&scope_a, std::slice::from_ref(&a), at(1))
            .await
            .unwrap()
            .is_empty()
    );
    // An audit of B that finds nothing resolves B's issue only.
    assert_eq!(
        kinds(&store.reconcile(&scope_b, &[], at(2)).await.unwrap()),
        ["resolved"]
    );
    assert!(
        store
            .reconcile(&scope_b, &[], at(3))
            .await
            .unwrap()
            .is_empty()
    );
    let states = store.issues(&Scope::all()).await.unwrap();
    let status: Vec<(String, IssueStatus)> = states
        .iter()
        .map(|s| (s.issue.resource.account.clone(), s.status))
        .collect();
    let mut expected = vec![
        (A.to_owned(), IssueStatus::Open),
        (B.to_owned(), IssueStatus::Resolved),
    ];
    expected.sort_by(|x, y| {
        let id = |acc: &str| issue(acc, "*", 9).id;
        id(&x.0).cmp(&id(&y.0))
    });
    assert_eq!(status, expected);
    let a_state = &store.issues(&scope_a).await.unwrap()[0];
    assert_eq!((a_state.first_seen, a_state.last_seen), (at(0), at(1)));

    // Justify: unknown ids and past expiries are refused.
    let unknown = IssueId("0123456789abcdef".into());
    let err = store
        .justify(&unknown, "x", "alice", None, at(4))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownIssue(ref id) if *id == unknown),
        "{err}"
    );
    assert!(err.to_string().contains("`0123456789abcdef`"));
    assert!(matches!(
        store.justify(&a.id, "x", "alice", Some(at(3)), at(4)).await,
        Err(StoreError::ExpiryInPast { .. })
    ));
    let j = store
        .justify(&a.id, "public website", "alice", Some(at(100)), at(4))
        .await
        .unwrap();
    assert_eq!(j.fingerprint, a.fingerprint());
    assert_eq!(store.justifications().await.unwrap(), vec![j.clone()]);

    // Justified and unchanged: quiet. Changed: said once, then the issue
    // alerts as any other.
    assert!(
        store
            .reconcile(&scope_a, std::slice::from_ref(&a), at(5))
            .await
            .unwrap()
            .is_empty()
    );
    let a2 = issue(A, "*", 6);
    let events = store
        .reconcile(&scope_a, std::slice::from_ref(&a2), at(6))
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [Event::NoLongerJustified { reason, .. }] if reason == "public website")
    );
    assert!(
        store
            .reconcile(&scope_a, std::slice::from_ref(&a2), at(7))
            .await
            .unwrap()
            .is_empty()
    );
    let lapsed = store.justifications().await.unwrap();
    assert_eq!(lapsed[0].lapsed, Some(at(6)));
    let a3 = issue(A, "*", 3);
    assert_eq!(
        kinds(
            &store
                .reconcile(&scope_a, std::slice::from_ref(&a3), at(8))
                .await
                .unwrap()
        ),
        ["changed"]
    );

    // Expiry: a justification that runs out is said once.
    store
        .justify(&a.id, "accepted until the move", "bob", Some(at(10)), at(9))
        .await
        .unwrap();
    assert!(
        store
            .reconcile(&scope_a, std::slice::from_ref(&a3), at(9))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        kinds(
            &store
                .reconcile(&scope_a, std::slice::from_ref(&a3), at(11))
                .await
                .unwrap()
        ),
        ["unjustified"]
    );
    assert!(
        store
            .reconcile(&scope_a, &[a3], at(12))
            .await
            .unwrap()
            .is_empty()
    );

    // Resolved then found again: new again.
    assert_eq!(
        kinds(&store.reconcile(&Scope::all(), &[], at(13)).await.unwrap()),
        ["resolved"]
    );
    assert_eq!(
        kinds(&store.reconcile(&scope_b, &[b], at(14)).await.unwrap()),
        ["new"]
    );
}

/// An imported history: many states of one resource in one call.
async fn many_states_in_one_call(store: &dyn Store) {
    let states: Vec<ConfigItem> = (0..20u16)
        .map(|i| {
            let mut sg = group(&[1000 + i]);
            sg.key.resource_id = "sg-history".into();
            sg.capture_time = Some(T0 + Duration::minutes(i.into()));
            sg
        })
        .collect();
    let at = T0 + Duration::days(1);
    let events = store.record(&states, at).await.unwrap();
    let numbers: Vec<u32> = changed(&events).iter().map(|c| c.1).collect();
    assert_eq!(numbers, (1..=20).collect::<Vec<u32>>());
    let history = store.history(&states[0].key).await.unwrap();
    assert_eq!(history.len(), 20);
    for (revision, state) in history.iter().zip(&states) {
        assert_eq!(revision.item, *state);
    }
    assert!(history.windows(2).all(|w| w[1].changes.len() == 2));
}

async fn exercise(store: Box<dyn Store>) {
    revisions_and_deletions(store.as_ref()).await;
    issue_lifecycle(store.as_ref()).await;
    many_states_in_one_call(store.as_ref()).await;
}

#[tokio::test]
async fn store_sqlite_records_revisions_and_issue_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("monitor.db");
    exercise(Box::new(SqliteStore::open(&path).unwrap())).await;
    // Everything is in the file: a new handle sees it.
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.history(&group(&[]).key).await.unwrap().len(), 3);
    assert_eq!(reopened.issues(&Scope::all()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn store_dynamodb_records_revisions_and_issue_lifecycle() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        testkit::unique_name("monitor-history"),
    );
    store.create_table().await.unwrap();
    exercise(Box::new(store)).await;
}

#[tokio::test]
async fn store_dynamodb_refuses_a_forked_history() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = testkit::unique_name("monitor-history");
    let store = DynamoStore::new(client.clone(), table.clone());
    store.create_table().await.unwrap();
    store.record(&[group(&[22])], T0).await.unwrap();
    // Another writer moves the head on behind this store's back.
    client
        .update_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("res#{}", group(&[]).key)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("head".into()),
        )
        .update_expression("SET head_number = :n")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    let err = store
        .record(&[group(&[22, 80])], T0 + Duration::hours(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(store.history(&group(&[]).key).await.unwrap().len(), 1);
}

#[tokio::test]
async fn store_sqlite_rolls_back_a_failed_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("monitor.db");
    let store = SqliteStore::open(&path).unwrap();
    store.record(&[group(&[22])], T0).await.unwrap();
    // Make the second resource's write fail after the first one's succeeded.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON revisions WHEN NEW.key LIKE '%/logs'
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let result = store
        .record(&[group(&[22, 80]), big_bucket(A)], T0 + Duration::hours(1))
        .await;
    assert!(matches!(result, Err(StoreError::Sqlite(_))), "{result:?}");
    // Nothing of the failed call stayed: the group is still at revision 1.
    let history = store.history(&group(&[]).key).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].last_seen, T0);
    assert_eq!(store.latest(&Filter::default()).await.unwrap().len(), 1);
}
