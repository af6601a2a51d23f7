use super::*;
use crate::model::{AccessSource, NamedPolicy, Outcome};
use crate::model::{AccountTotals, Scheduled};
use time::macros::datetime;

fn role(doc: &str) -> RoleRecord {
    RoleRecord {
        arn: "arn:aws:iam::111122223333:role/web".into(),
        name: "web".into(),
        id: "AROA1".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline: vec![NamedPolicy {
            name: "p".into(),
            document: Policy::parse(doc).unwrap(),
        }],
        attached: Vec::new(),
    }
}

const V1: &str = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
const V2: &str = r#"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#;

#[test]
fn every_policy_version_is_kept() {
    let mut store = SqliteStore::in_memory().unwrap();
    let t1 = datetime!(2024-01-01 0:00 UTC);
    let t2 = datetime!(2024-02-01 0:00 UTC);
    assert_eq!(store.put_roles(&[role(V1)], t1).unwrap().new_versions, 1);
    assert_eq!(store.put_roles(&[role(V1)], t2).unwrap().new_versions, 0);
    assert_eq!(store.put_roles(&[role(V2)], t2).unwrap().new_versions, 1);
    assert_eq!(store.put_roles(&[role(V1)], t2).unwrap().new_versions, 1);
    let history = store
        .policy_history("arn:aws:iam::111122223333:role/web")
        .unwrap();
    let versions: Vec<(u32, OffsetDateTime)> =
        history.iter().map(|v| (v.version, v.seen_at)).collect();
    assert_eq!(versions, [(1, t1), (2, t2), (3, t2)]);
    assert_eq!(history[0].document, Policy::parse(V1).unwrap());
    assert_eq!(history[1].document, Policy::parse(V2).unwrap());
    assert_eq!(store.roles().unwrap(), [role(V1)]);
}

#[test]
fn access_merges_latest_use() {
    let mut store = SqliteStore::in_memory().unwrap();
    let rec = |action: Option<&str>, last, source| AccessRecord {
        role_arn: "r".into(),
        service: "s3".into(),
        action: action.map(Into::into),
        last_used: last,
        source,
    };
    let jan = datetime!(2024-01-01 0:00 UTC);
    let feb = datetime!(2024-02-01 0:00 UTC);
    store
        .put_access(
            &[
                rec(None, Some(feb), AccessSource::CloudTrail),
                rec(Some("GetObject"), None, AccessSource::AccessAdvisor),
            ],
            feb,
        )
        .unwrap();
    store
        .put_access(
            &[
                rec(None, Some(jan), AccessSource::Aardvark),
                rec(Some("GetObject"), Some(jan), AccessSource::Aardvark),
            ],
            jan,
        )
        .unwrap();
    let history = store.access().unwrap();
    let role = history.role("r").unwrap();
    assert_eq!(role.services["s3"], Some(feb));
    assert_eq!(
        role.actions[&("s3".to_owned(), "getobject".to_owned())],
        Some(jan)
    );
    assert_eq!(role.collected_at, Some(feb));
}

#[test]
fn plans_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .put_roles(&[role(V1)], datetime!(2024-01-01 0:00 UTC))
        .unwrap();
    let plan = RolePlan {
        role_arn: "arn:aws:iam::111122223333:role/web".into(),
        role_name: "web".into(),
        outcome: Outcome::Unchanged,
        removed: Vec::new(),
        removed_count: 0,
        removed_services: Vec::new(),
        policies: Vec::new(),
        kept: Vec::new(),
        no_data_services: Vec::new(),
        managed_unused: Vec::new(),
    };
    store
        .put_plan(&plan, datetime!(2024-01-02 0:00 UTC))
        .unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(
        stats,
        StoreStats {
            roles: 1,
            policy_versions: 1,
            roles_with_access: 0,
            access_records: 0,
            plans: 1
        }
    );
}

#[test]
fn schedule_lists_soonest_first_and_cancels() {
    let mut store = SqliteStore::in_memory().unwrap();
    let entry = |name: &str, due| Scheduled {
        role_arn: format!("arn:aws:iam::111122223333:role/{name}"),
        role_name: name.into(),
        due_at: due,
        scheduled_at: datetime!(2024-04-01 0:00 UTC),
        notified: false,
    };
    let late = entry("late", datetime!(2024-04-20 0:00 UTC));
    let soon = entry("soon", datetime!(2024-04-08 0:00 UTC));
    store.schedule(&late).unwrap();
    store.schedule(&soon).unwrap();
    assert_eq!(store.scheduled().unwrap(), [soon.clone(), late.clone()]);
    // Scheduling again replaces.
    let later = Scheduled {
        notified: true,
        ..entry("soon", datetime!(2024-05-01 0:00 UTC))
    };
    store.schedule(&later).unwrap();
    assert_eq!(store.scheduled().unwrap(), [late.clone(), later]);
    assert!(store.unschedule(&soon.role_arn).unwrap());
    assert!(!store.unschedule(&soon.role_arn).unwrap());
    assert_eq!(store.scheduled().unwrap(), [late]);
}

#[test]
fn a_lease_excludes_other_owners_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    // Two connections, as two processes would have.
    let mut a = SqliteStore::open(&path).unwrap();
    let mut b = SqliteStore::open(&path).unwrap();
    let t0 = datetime!(2024-04-01 0:00 UTC);
    let until = datetime!(2024-04-01 0:15 UTC);
    assert!(a.try_lock("r", "a", t0, until).unwrap());
    assert!(!b.try_lock("r", "b", t0, until).unwrap());
    // Another role is free; the owner may extend.
    assert!(b.try_lock("other", "b", t0, until).unwrap());
    assert!(
        a.try_lock("r", "a", t0, datetime!(2024-04-01 0:20 UTC))
            .unwrap()
    );
    // Expired: anyone may take it.
    let t1 = datetime!(2024-04-01 0:20 UTC);
    assert!(
        b.try_lock("r", "b", t1, datetime!(2024-04-01 0:35 UTC))
            .unwrap()
    );
    // Unlocking someone else's lease does nothing; one's own frees it.
    a.unlock("r", "a").unwrap();
    assert!(!a.try_lock("r", "a", t1, until).unwrap());
    b.unlock("r", "b").unwrap();
    assert!(a.try_lock("r", "a", t1, until).unwrap());
}

#[test]
fn totals_form_a_series() {
    let mut store = SqliteStore::in_memory().unwrap();
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
    store.put_totals(&[t(feb, "2", 5), t(feb, "1", 4)]).unwrap();
    store.put_totals(&[t(jan, "1", 3)]).unwrap();
    assert_eq!(
        store.totals().unwrap(),
        [t(jan, "1", 3), t(feb, "1", 4), t(feb, "2", 5)]
    );
}
