//! The store in one SQLite file (the default).
//!
//! Every call that writes runs in one `IMMEDIATE` transaction: it takes the
//! write lock before reading what it compares against, so two processes on
//! one file cannot both record the same revision, and a failure half-way
//! leaves nothing written.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

use super::err::{from_nanos, to_nanos};
use super::{
    Filter, Head, IssueState, Justification, Revision, Scope, Store, StoreError, new_justification,
    plan_record, relevant,
};
use crate::durable::Ephemeral;
use crate::lifecycle::reconcile;
use crate::model::{ConfigItem, Event, Issue, IssueId, ResourceKey};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    head INTEGER NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_scope ON resources (account, region, resource_type);
CREATE TABLE IF NOT EXISTS revisions (
    key TEXT NOT NULL,
    number INTEGER NOT NULL,
    hash TEXT NOT NULL,
    item TEXT NOT NULL,
    changes TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (key, number)
);
CREATE INDEX IF NOT EXISTS revisions_time ON revisions (first_seen);
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_account ON issues (account);
CREATE TABLE IF NOT EXISTS justifications (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
";

const REVISION_COLUMNS: &str = "number, hash, item, changes, first_seen, last_seen";

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    ephemeral: Ephemeral,
}

impl SqliteStore {
    /// Opens (creating if needed) a store file, with the default ephemeral
    /// paths.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open(path)?)
    }

    /// A fresh in-memory store (tests, benchmarks).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    /// The same store, judging revisions with these ephemeral paths.
    pub fn with_ephemeral(self, ephemeral: Ephemeral) -> SqliteStore {
        SqliteStore { ephemeral, ..self }
    }

    fn setup(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            ephemeral: Ephemeral::defaults(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // SQLite's own transactions keep the file consistent even if a
        // holder of the lock panicked, so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(what, e))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// The raw columns of a revision row, read inside rusqlite's callback.
struct RevisionRow {
    key: String,
    number: u32,
    hash: String,
    item: String,
    changes: String,
    first_seen: i64,
    last_seen: i64,
}

impl RevisionRow {
    fn read(key: String, row: &Row<'_>) -> rusqlite::Result<RevisionRow> {
        Ok(RevisionRow {
            key,
            number: row.get(0)?,
            hash: row.get(1)?,
            item: row.get(2)?,
            changes: row.get(3)?,
            first_seen: row.get(4)?,
            last_seen: row.get(5)?,
        })
    }

    fn revision(self) -> Result<Revision, StoreError> {
        let what = format!("{} revision {}", self.key, self.number);
        let item: ConfigItem = parse(&what, &self.item)?;
        Ok(Revision {
            key: item.key.clone(),
            number: self.number,
            hash: self.hash,
            changes: parse(&what, &self.changes)?,
            first_seen: from_nanos(&what, self.first_seen)?,
            last_seen: from_nanos(&what, self.last_seen)?,
            item,
        })
    }
}

/// The head revision of a resource.
fn head(tx: &Transaction<'_>, key: &str) -> Result<Option<Head>, StoreError> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT {REVISION_COLUMNS} FROM revisions JOIN resources USING (key)
             WHERE key = ?1 AND number = head"
        ))?
        .query_row([key], |row| RevisionRow::read(key.to_owned(), row))
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let revision = row.revision()?;
    Ok(Some(Head {
        number: revision.number,
        hash: revision.hash,
        item: revision.item,
        first_seen: revision.first_seen,
        last_seen: revision.last_seen,
    }))
}

fn issue_states(tx: &Connection, scope: &Scope) -> Result<Vec<IssueState>, StoreError> {
    let mut out = Vec::new();
    let mut read = |sql: &str, arg: Option<&str>| -> Result<(), StoreError> {
        let mut stmt = tx.prepare_cached(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(arg), |r| r.get::<_, String>(0))?;
        for body in rows {
            let body: String = body?;
            let state: IssueState = parse("issue state", &body)?;
            out.push(state);
        }
        Ok(())
    };
    if scope.accounts.is_empty() {
        read("SELECT state FROM issues ORDER BY id", None)?;
    } else {
        for account in &scope.accounts {
            read(
                "SELECT state FROM issues WHERE account = ?1 ORDER BY id",
                Some(account),
            )?;
        }
    }
    Ok(out)
}

fn issue_state(tx: &Connection, id: &IssueId) -> Result<Option<IssueState>, StoreError> {
    let body: Option<String> = tx
        .prepare_cached("SELECT state FROM issues WHERE id = ?1")?
        .query_row([&id.0], |r| r.get(0))
        .optional()?;
    body.map(|b| parse(&format!("issue {id}"), &b)).transpose()
}

fn justifications(tx: &Connection) -> Result<Vec<Justification>, StoreError> {
    let mut stmt = tx.prepare_cached("SELECT body FROM justifications ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|body| parse("justification", &body?)).collect()
}

fn put_justification(tx: &Connection, j: &Justification) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR REPLACE INTO justifications (id, body) VALUES (?1, ?2)")?
        .execute(params![j.id.0, json("justification", j)?])?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn record(
        &self,
        items: &[ConfigItem],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut heads = HashMap::new();
        for item in items {
            if !heads.contains_key(&item.key)
                && let Some(h) = head(&tx, &item.key.to_string())?
            {
                heads.insert(item.key.clone(), h);
            }
        }
        let (plans, events) = plan_record(&self.ephemeral, &heads, items, seen_at);
        for plan in plans {
            let key = plan.key.to_string();
            if let Some((number, last_seen)) = plan.superseded {
                tx.prepare_cached(
                    "UPDATE revisions SET last_seen = ?3 WHERE key = ?1 AND number = ?2",
                )?
                .execute(params![key, number, to_nanos(last_seen)?])?;
            }
            for r in &plan.revisions {
                let what = format!("{key} revision {}", r.number);
                tx.prepare_cached(&format!(
                    "INSERT INTO revisions (key, {REVISION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))?
                .execute(params![
                    key,
                    r.number,
                    r.hash,
                    json(&what, &r.item)?,
                    json(&what, &r.changes)?,
                    to_nanos(r.first_seen)?,
                    to_nanos(r.last_seen)?,
                ])?;
            }
            if plan.is_touch() {
                tx.prepare_cached(
                    "UPDATE revisions SET last_seen = ?3 WHERE key = ?1 AND number = ?2",
                )?
                .execute(params![
                    key,
                    plan.head.number,
                    to_nanos(plan.head.last_seen)?
                ])?;
            } else {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO resources (key, account, region, resource_type, head, deleted)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    key,
                    plan.key.account,
                    plan.key.region,
                    plan.key.resource_type,
                    plan.head.number,
                    plan.head.item.status.is_deleted(),
                ])?;
            }
        }
        tx.commit()?;
        Ok(events)
    }

    async fn latest(&self, filter: &Filter) -> Result<Vec<ConfigItem>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT resources.key, revisions.item, resources.deleted, resources.account, resources.region, resources.resource_type
             FROM resources JOIN revisions ON revisions.key = resources.key AND revisions.number = resources.head
             ORDER BY resources.account, resources.region, resources.resource_type, resources.key",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, bool>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, item, deleted) = row?;
            if deleted && !filter.include_deleted {
                continue;
            }
            let item: ConfigItem = parse(&key, &item)?;
            if filter.scope.covers(&item.key) {
                out.push(item);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn history(&self, key: &ResourceKey) -> Result<Vec<Revision>, StoreError> {
        let conn = self.conn();
        let key = key.to_string();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {REVISION_COLUMNS} FROM revisions WHERE key = ?1 ORDER BY number"
        ))?;
        let rows = stmt.query_map([&key], |row| RevisionRow::read(key.clone(), row))?;
        rows.map(|r| r?.revision()).collect()
    }

    async fn revisions_since(&self, since: OffsetDateTime) -> Result<Vec<Revision>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT key, {REVISION_COLUMNS} FROM revisions WHERE first_seen >= ?1 ORDER BY first_seen, key, number"
        ))?;
        let rows = stmt.query_map([to_nanos(since)?], |row| {
            let key: String = row.get(0)?;
            Ok(RevisionRow {
                key,
                number: row.get(1)?,
                hash: row.get(2)?,
                item: row.get(3)?,
                changes: row.get(4)?,
                first_seen: row.get(5)?,
                last_seen: row.get(6)?,
            })
        })?;
        rows.map(|r| r?.revision()).collect()
    }

    async fn reconcile(
        &self,
        scope: &Scope,
        issues: &[Issue],
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: HashSet<&IssueId> = issues.iter().map(|i| &i.id).collect();
        let mut previous: Vec<IssueState> = issue_states(&tx, scope)?
            .into_iter()
            .filter(|s| relevant(scope, &found, s))
            .collect();
        let known: HashSet<IssueId> = previous.iter().map(|s| s.issue.id.clone()).collect();
        for id in &found {
            if !known.contains(*id) {
                previous.extend(issue_state(&tx, id)?);
            }
        }
        let result = reconcile(scope, &previous, &justifications(&tx)?, issues, now);
        for state in &result.states {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO issues (id, account, state) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                state.issue.id.0,
                state.issue.resource.account,
                json("issue state", state)?,
            ])?;
        }
        for j in &result.lapsed {
            put_justification(&tx, j)?;
        }
        tx.commit()?;
        Ok(result.events)
    }

    async fn issues(&self, scope: &Scope) -> Result<Vec<IssueState>, StoreError> {
        let conn = self.conn();
        let mut out: Vec<IssueState> = issue_states(&conn, scope)?
            .into_iter()
            .filter(|s| scope.covers(&s.issue.resource))
            .collect();
        out.sort_by(|a, b| a.issue.id.cmp(&b.issue.id));
        Ok(out)
    }

    async fn justify(
        &self,
        id: &IssueId,
        reason: &str,
        by: &str,
        expires: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Justification, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let j = new_justification(issue_state(&tx, id)?, id, reason, by, expires, now)?;
        put_justification(&tx, &j)?;
        tx.commit()?;
        Ok(j)
    }

    async fn justifications(&self) -> Result<Vec<Justification>, StoreError> {
        justifications(&self.conn())
    }
}
