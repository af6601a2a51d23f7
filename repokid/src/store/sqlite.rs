//! The store in one SQLite file (the default).
//!
//! Every call that writes several rows runs in one transaction, so a
//! failure half-way leaves nothing written; a lease is one upsert
//! statement, atomic across processes sharing the file.
//!
//! SQLite answers without waiting on the network, so the operations are
//! also inherent synchronous methods of [`SqliteStore`] (what the [`Store`]
//! implementation calls); the connection sits behind a mutex, which makes
//! the store `Send + Sync`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use policies::Policy;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Store, StoreStats, UpdateSummary};
use crate::access::{AccessHistory, RoleAccess};
use crate::err::StoreError;
use crate::model::{
    AccessRecord, AccountTotals, InlineVersion, NamedPolicy, PolicyVersionRecord, RolePlan,
    RoleRecord, Scheduled, VersionReason,
};

/// A [`Store`] in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS roles (
    arn TEXT PRIMARY KEY, name TEXT NOT NULL, record TEXT NOT NULL, seen_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS policy_versions (
    role_arn TEXT NOT NULL, policy TEXT NOT NULL, version INTEGER NOT NULL,
    document TEXT NOT NULL, seen_at INTEGER NOT NULL,
    PRIMARY KEY (role_arn, policy, version));
CREATE TABLE IF NOT EXISTS access (
    role_arn TEXT NOT NULL, service TEXT NOT NULL, action TEXT NOT NULL,
    last_used INTEGER, source TEXT NOT NULL,
    PRIMARY KEY (role_arn, service, action));
CREATE TABLE IF NOT EXISTS access_collected (
    role_arn TEXT PRIMARY KEY, collected_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT, role_arn TEXT NOT NULL,
    created_at INTEGER NOT NULL, plan TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inline_versions (
    role_arn TEXT NOT NULL, version INTEGER NOT NULL, taken_at INTEGER NOT NULL,
    reason TEXT NOT NULL, policies TEXT NOT NULL, attached TEXT,
    PRIMARY KEY (role_arn, version));
CREATE TABLE IF NOT EXISTS schedule (
    role_arn TEXT PRIMARY KEY, entry TEXT NOT NULL, due_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    role_arn TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS totals (
    taken_at INTEGER NOT NULL, account TEXT NOT NULL, entry TEXT NOT NULL,
    PRIMARY KEY (taken_at, account));
";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: name.clone(),
            source,
        })?;
        SqliteStore::init(conn, name)
    }

    /// A store in memory, gone when dropped.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        SqliteStore::init(conn, ":memory:".into())
    }

    fn init(conn: Connection, path: String) -> Result<SqliteStore, StoreError> {
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path,
        };
        {
            let conn = store.conn();
            // Another process writing the file: wait for it rather than fail.
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(|e| store.sql(e))?;
            conn.execute_batch(SCHEMA).map_err(|e| store.sql(e))?;
            store.migrate(&conn)?;
        }
        Ok(store)
    }

    /// Brings a file made by an earlier release up to [`SCHEMA`]: the
    /// `attached` column of `inline_versions` (NULL in older rows: no
    /// attachment recorded).
    fn migrate(&self, conn: &Connection) -> Result<(), StoreError> {
        let has_attached = conn
            .prepare("SELECT 1 FROM pragma_table_info('inline_versions') WHERE name = 'attached'")
            .and_then(|mut st| st.exists([]))
            .map_err(|e| self.sql(e))?;
        if !has_attached {
            conn.execute_batch("ALTER TABLE inline_versions ADD COLUMN attached TEXT")
                .map_err(|e| self.sql(e))?;
        }
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // SQLite's transactions keep the file consistent even if a holder of
        // the lock panicked, so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: &str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            store: self.path.clone(),
            what: what.to_owned(),
            detail: detail.to_string(),
        }
    }

    fn time(&self, secs: i64) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::from_unix_timestamp(secs).map_err(|e| self.corrupt("time", e))
    }

    fn json<T: serde::Serialize>(&self, what: &str, value: &T) -> Result<String, StoreError> {
        serde_json::to_string(value).map_err(|e| self.corrupt(what, e))
    }

    /// Runs a query and collects its rows, errors naming the store.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(|e| self.sql(e))?;
        stmt.query_map(params, row)
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))
    }

    /// [`Store::put_roles`].
    pub fn put_roles(
        &self,
        roles: &[RoleRecord],
        seen_at: OffsetDateTime,
    ) -> Result<UpdateSummary, StoreError> {
        let sql = |e| self.sql(e);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        let mut summary = UpdateSummary::default();
        let at = seen_at.unix_timestamp();
        for role in roles {
            let record = self.json(&format!("role `{}`", role.name), role)?;
            tx.execute(
                "INSERT INTO roles (arn, name, record, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (arn) DO UPDATE SET name = ?2, record = ?3, seen_at = ?4",
                params![role.arn, role.name, record, at],
            )
            .map_err(sql)?;
            summary.roles += 1;
            for (policy, document) in documents(role) {
                let text = document.to_json();
                let latest: Option<(u32, String)> = tx
                    .query_row(
                        "SELECT version, document FROM policy_versions
                         WHERE role_arn = ?1 AND policy = ?2 ORDER BY version DESC LIMIT 1",
                        params![role.arn, policy],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                if latest.as_ref().is_some_and(|(_, doc)| *doc == text) {
                    continue;
                }
                let version = latest.map_or(1, |(v, _)| v + 1);
                tx.execute(
                    "INSERT INTO policy_versions (role_arn, policy, version, document, seen_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![role.arn, policy, version, text, at],
                )
                .map_err(sql)?;
                summary.new_versions += 1;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(summary)
    }

    /// [`Store::roles`].
    pub fn roles(&self) -> Result<Vec<RoleRecord>, StoreError> {
        let texts = self.rows("SELECT record FROM roles ORDER BY name, arn", [], |row| {
            row.get::<_, String>(0)
        })?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| self.corrupt("role", e)))
            .collect()
    }

    /// [`Store::policy_history`].
    pub fn policy_history(&self, role_arn: &str) -> Result<Vec<PolicyVersionRecord>, StoreError> {
        let rows = self.rows(
            "SELECT policy, version, document, seen_at FROM policy_versions
                 WHERE role_arn = ?1 ORDER BY seen_at, policy, version",
            [role_arn],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(policy, version, document, seen_at)| {
                Ok(PolicyVersionRecord {
                    role_arn: role_arn.to_owned(),
                    document: Policy::parse(&document)
                        .map_err(|e| self.corrupt(&format!("policy `{policy}`"), e))?,
                    policy,
                    version,
                    seen_at: self.time(seen_at)?,
                })
            })
            .collect()
    }

    /// [`Store::put_access`].
    pub fn put_access(
        &self,
        records: &[AccessRecord],
        collected_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = |e| self.sql(e);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        {
            let mut put = tx
                .prepare(
                    "INSERT INTO access (role_arn, service, action, last_used, source)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (role_arn, service, action) DO UPDATE SET
                       source = CASE WHEN excluded.last_used > coalesce(access.last_used, -1e18)
                                THEN excluded.source ELSE access.source END,
                       last_used = CASE WHEN excluded.last_used > coalesce(access.last_used, -1e18)
                                THEN excluded.last_used ELSE access.last_used END",
                )
                .map_err(sql)?;
            let mut collected = tx
                .prepare(
                    "INSERT INTO access_collected (role_arn, collected_at) VALUES (?1, ?2)
                     ON CONFLICT (role_arn) DO UPDATE SET
                       collected_at = max(collected_at, excluded.collected_at)",
                )
                .map_err(sql)?;
            for r in records {
                put.execute(params![
                    r.role_arn,
                    r.service.to_ascii_lowercase(),
                    r.action.as_deref().unwrap_or("").to_ascii_lowercase(),
                    r.last_used.map(OffsetDateTime::unix_timestamp),
                    r.source.as_str(),
                ])
                .map_err(sql)?;
                collected
                    .execute(params![r.role_arn, collected_at.unix_timestamp()])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// [`Store::access`].
    pub fn access(&self) -> Result<AccessHistory, StoreError> {
        let mut history = AccessHistory::default();
        let rows = self.rows(
            "SELECT role_arn, service, action, last_used FROM access",
            [],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<i64>>(3)?,
                ))
            },
        )?;
        for (arn, service, action, last) in rows {
            let last = last.map(|s| self.time(s)).transpose()?;
            let role: &mut RoleAccess = history.roles.entry(arn).or_default();
            if action.is_empty() {
                role.services.insert(service, last);
            } else {
                role.actions.insert((service, action), last);
            }
        }
        let rows = self.rows(
            "SELECT role_arn, collected_at FROM access_collected",
            [],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
        )?;
        for (arn, at) in rows {
            let at = self.time(at)?;
            history.roles.entry(arn).or_default().collected(at);
        }
        Ok(history)
    }

    /// [`Store::put_plan`].
    pub fn put_plan(&self, plan: &RolePlan, created_at: OffsetDateTime) -> Result<(), StoreError> {
        let text = self.json("plan", plan)?;
        self.conn()
            .execute(
                "INSERT INTO plans (role_arn, created_at, plan) VALUES (?1, ?2, ?3)",
                params![plan.role_arn, created_at.unix_timestamp(), text],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// [`Store::stats`].
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let count = |sql: &str| -> Result<usize, StoreError> {
            self.conn()
                .query_row(sql, [], |row| row.get::<_, i64>(0))
                .map(|n| usize::try_from(n).unwrap_or(0))
                .map_err(|e| self.sql(e))
        };
        Ok(StoreStats {
            roles: count("SELECT count(*) FROM roles")?,
            policy_versions: count("SELECT count(*) FROM policy_versions")?,
            roles_with_access: count("SELECT count(*) FROM access_collected")?,
            access_records: count("SELECT count(*) FROM access")?,
            plans: count("SELECT count(*) FROM plans")?,
        })
    }

    /// [`Store::put_inline_version`].
    pub fn put_inline_version(
        &self,
        role_arn: &str,
        policies: &[NamedPolicy],
        attached: &[String],
        reason: VersionReason,
        taken_at: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let text = self.json("policies", &policies)?;
        let attached = self.json("attached policies", &attached)?;
        let sql = |e| self.sql(e);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        let version: u32 = tx
            .query_row(
                "SELECT coalesce(max(version), 0) + 1 FROM inline_versions WHERE role_arn = ?1",
                [role_arn],
                |row| row.get(0),
            )
            .map_err(sql)?;
        tx.execute(
            "INSERT INTO inline_versions (role_arn, version, taken_at, reason, policies, attached)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                role_arn,
                version,
                taken_at.unix_timestamp(),
                reason.as_str(),
                text,
                attached
            ],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(version)
    }

    /// [`Store::inline_versions`].
    pub fn inline_versions(&self, role_arn: &str) -> Result<Vec<InlineVersion>, StoreError> {
        let rows = self.rows(
            "SELECT version, taken_at, reason, policies, attached FROM inline_versions
                 WHERE role_arn = ?1 ORDER BY version",
            [role_arn],
            |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(version, taken_at, reason, policies, attached)| {
                let corrupt = |e| self.corrupt(&format!("inline version {version}"), e);
                Ok(InlineVersion {
                    role_arn: role_arn.to_owned(),
                    version,
                    taken_at: self.time(taken_at)?,
                    reason: VersionReason::from_name(&reason)
                        .ok_or_else(|| self.corrupt("version reason", &reason))?,
                    policies: serde_json::from_str(&policies).map_err(corrupt)?,
                    attached: attached
                        .map(|text| serde_json::from_str(&text).map_err(corrupt))
                        .transpose()?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// [`Store::schedule`].
    pub fn schedule(&self, entry: &Scheduled) -> Result<(), StoreError> {
        let text = self.json("schedule", entry)?;
        self.conn()
            .execute(
                "INSERT INTO schedule (role_arn, entry, due_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (role_arn) DO UPDATE SET entry = ?2, due_at = ?3",
                params![entry.role_arn, text, entry.due_at.unix_timestamp()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// [`Store::unschedule`].
    pub fn unschedule(&self, role_arn: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM schedule WHERE role_arn = ?1", [role_arn])
            .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }

    /// [`Store::scheduled`].
    pub fn scheduled(&self) -> Result<Vec<Scheduled>, StoreError> {
        self.rows(
            "SELECT entry FROM schedule ORDER BY due_at, role_arn",
            [],
            |row| row.get::<_, String>(0),
        )?
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| self.corrupt("schedule", e)))
        .collect()
    }

    /// [`Store::try_lock`].
    pub fn try_lock(
        &self,
        role_arn: &str,
        owner: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // One statement: SQLite runs it atomically, also across processes.
        let n = self
            .conn()
            .execute(
                "INSERT INTO locks (role_arn, owner, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (role_arn) DO UPDATE SET owner = ?2, expires_at = ?3
                 WHERE locks.expires_at <= ?4 OR locks.owner = ?2",
                params![
                    role_arn,
                    owner,
                    expires_at.unix_timestamp(),
                    now.unix_timestamp()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }

    /// [`Store::unlock`].
    pub fn unlock(&self, role_arn: &str, owner: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM locks WHERE role_arn = ?1 AND owner = ?2",
                [role_arn, owner],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// [`Store::put_totals`].
    pub fn put_totals(&self, totals: &[AccountTotals]) -> Result<(), StoreError> {
        let sql = |e| self.sql(e);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        for t in totals {
            let text = self.json("totals", t)?;
            tx.execute(
                "INSERT INTO totals (taken_at, account, entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (taken_at, account) DO UPDATE SET entry = ?3",
                params![t.taken_at.unix_timestamp(), t.account, text],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// [`Store::totals`].
    pub fn totals(&self) -> Result<Vec<AccountTotals>, StoreError> {
        self.rows(
            "SELECT entry FROM totals ORDER BY taken_at, account",
            [],
            |row| row.get::<_, String>(0),
        )?
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| self.corrupt("totals", e)))
        .collect()
    }
}

/// Every document of a role a policy version is kept for: its inline
/// policies by name, then its attached managed policies (with a known
/// document) by ARN.
pub(super) fn documents(role: &RoleRecord) -> impl Iterator<Item = (&str, &Policy)> {
    role.inline
        .iter()
        .map(|p| (p.name.as_str(), &p.document))
        .chain(
            role.attached
                .iter()
                .filter_map(|a| a.document.as_ref().map(|d| (a.arn.as_str(), d))),
        )
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn put_roles(
        &self,
        roles: &[RoleRecord],
        seen_at: OffsetDateTime,
    ) -> Result<UpdateSummary, StoreError> {
        SqliteStore::put_roles(self, roles, seen_at)
    }

    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError> {
        SqliteStore::roles(self)
    }

    async fn policy_history(&self, role_arn: &str) -> Result<Vec<PolicyVersionRecord>, StoreError> {
        SqliteStore::policy_history(self, role_arn)
    }

    async fn put_access(
        &self,
        records: &[AccessRecord],
        collected_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        SqliteStore::put_access(self, records, collected_at)
    }

    async fn access(&self) -> Result<AccessHistory, StoreError> {
        SqliteStore::access(self)
    }

    async fn put_plan(
        &self,
        plan: &RolePlan,
        created_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        SqliteStore::put_plan(self, plan, created_at)
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        SqliteStore::stats(self)
    }

    async fn put_inline_version(
        &self,
        role_arn: &str,
        policies: &[NamedPolicy],
        attached: &[String],
        reason: VersionReason,
        taken_at: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        SqliteStore::put_inline_version(self, role_arn, policies, attached, reason, taken_at)
    }

    async fn inline_versions(&self, role_arn: &str) -> Result<Vec<InlineVersion>, StoreError> {
        SqliteStore::inline_versions(self, role_arn)
    }

    async fn schedule(&self, entry: &Scheduled) -> Result<(), StoreError> {
        SqliteStore::schedule(self, entry)
    }

    async fn unschedule(&self, role_arn: &str) -> Result<bool, StoreError> {
        SqliteStore::unschedule(self, role_arn)
    }

    async fn scheduled(&self) -> Result<Vec<Scheduled>, StoreError> {
        SqliteStore::scheduled(self)
    }

    async fn try_lock(
        &self,
        role_arn: &str,
        owner: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        SqliteStore::try_lock(self, role_arn, owner, now, expires_at)
    }

    async fn unlock(&self, role_arn: &str, owner: &str) -> Result<(), StoreError> {
        SqliteStore::unlock(self, role_arn, owner)
    }

    async fn put_totals(&self, totals: &[AccountTotals]) -> Result<(), StoreError> {
        SqliteStore::put_totals(self, totals)
    }

    async fn totals(&self) -> Result<Vec<AccountTotals>, StoreError> {
        SqliteStore::totals(self)
    }
}
