//! What only the SQLite store has: a file that outlives its handle, and
//! several connections to it (as several processes would have). The
//! behaviour both stores share is tested on both in `tests/store_backends.rs`.

use policies::Policy;
use time::macros::datetime;

use super::*;
use crate::model::Outcome;

fn role() -> RoleRecord {
    RoleRecord {
        arn: "arn:aws:iam::111122223333:role/web".into(),
        name: "web".into(),
        id: "AROA1".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline: vec![NamedPolicy {
            name: "p".into(),
            document: Policy::parse(
                r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#,
            )
            .unwrap(),
        }],
        attached: Vec::new(),
    }
}

#[test]
fn the_file_keeps_everything_for_the_next_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_roles(&[role()], datetime!(2024-01-01 0:00 UTC))
        .unwrap();
    let plan = RolePlan {
        role_arn: role().arn,
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
    assert_eq!(
        store.stats().unwrap(),
        StoreStats {
            roles: 1,
            policy_versions: 1,
            roles_with_access: 0,
            access_records: 0,
            plans: 1
        }
    );
    assert_eq!(store.roles().unwrap(), [role()]);
}

#[test]
fn a_lease_excludes_another_connection_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    // Two connections, as two processes would have.
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    let t0 = datetime!(2024-04-01 0:00 UTC);
    let until = datetime!(2024-04-01 0:15 UTC);
    assert!(a.try_lock("r", "a", t0, until).unwrap());
    assert!(!b.try_lock("r", "b", t0, until).unwrap());
    let t1 = datetime!(2024-04-01 0:20 UTC);
    assert!(
        b.try_lock("r", "b", t1, datetime!(2024-04-01 0:35 UTC))
            .unwrap()
    );
    a.unlock("r", "a").unwrap();
    assert!(!a.try_lock("r", "a", t1, until).unwrap());
    b.unlock("r", "b").unwrap();
    assert!(a.try_lock("r", "a", t1, until).unwrap());
}

#[test]
fn a_file_of_an_earlier_release_gains_the_attached_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The table as releases without managed-policy attachments made it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE inline_versions (
                role_arn TEXT NOT NULL, version INTEGER NOT NULL, taken_at INTEGER NOT NULL,
                reason TEXT NOT NULL, policies TEXT NOT NULL,
                PRIMARY KEY (role_arn, version));
             INSERT INTO inline_versions VALUES ('arn:aws:iam::111122223333:role/web', 1,
                1704067200, 'before-repo', '[]');",
        )
        .unwrap();
    }
    let arn = role().arn;
    let store = SqliteStore::open(&path).unwrap();
    let old = store.inline_versions(&arn).unwrap();
    assert_eq!(old.len(), 1);
    assert!(old[0].attached.is_empty(), "no attachment recorded");
    let attached = ["arn:aws:iam::111122223333:policy/shared".to_owned()];
    let v = store
        .put_inline_version(
            &arn,
            &role().inline,
            &attached,
            VersionReason::BeforeRepo,
            datetime!(2024-02-01 0:00 UTC),
        )
        .unwrap();
    assert_eq!(v, 2);
    drop(store);
    // Opening the migrated file again changes nothing.
    let again = SqliteStore::open(&path)
        .unwrap()
        .inline_versions(&arn)
        .unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].attached, attached);
    assert!(again[0].attached.is_empty());
}
