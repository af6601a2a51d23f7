//! The inventory: every certificate issued or found, behind a small trait,
//! with SQLite as the default backend and DynamoDB ([`dynamo`]) for Lambda.
//!
//! Nothing is ever deleted: revocation and replacement change a record's
//! status and links, and the trait has no removal.

pub mod dynamo;

pub use dynamo::DynamoStore;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Row, params};
use time::OffsetDateTime;

use crate::crl::RevokedEntry;
use crate::model::{CertRecord, Destination, KeyType, Reason, Revocation, Source, Status};

/// An inventory operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("inventory database error: {0}; check the path in `db` and that the file is writable")]
    Db(#[from] rusqlite::Error),
    /// The DynamoDB inventory failed.
    #[error("inventory table `{table}`: {error}")]
    Dynamo {
        /// The table.
        table: String,
        /// The call that failed (its message ends with the fix).
        error: crate::aws::AwsError,
    },
    /// A stored row does not read back (edited by hand?).
    #[error("inventory row `{serial}` is corrupt: {detail}; restore it from a backup")]
    Corrupt {
        /// The row's serial.
        serial: String,
        /// What is wrong.
        detail: String,
    },
    /// No such certificate.
    #[error("no certificate with serial `{0}` in the inventory; see `certs list`")]
    NotFound(String),
    /// Several certificates (from different issuers) share a serial.
    #[error(
        "serial `{0}` belongs to several certificates from different issuers; pass the fingerprint instead"
    )]
    Ambiguous(String),
    /// Already in the inventory.
    #[error("certificate `{0}` is already in the inventory")]
    Duplicate(String),
    /// Revoking twice.
    #[error("certificate `{0}` is already revoked")]
    AlreadyRevoked(String),
}

/// Persistence of the inventory: SQLite ([`SqliteStore`]) by default,
/// DynamoDB ([`DynamoStore`]) in Lambda.
///
/// The methods are async so that a network store fits; the SQLite store
/// answers at once (a local file, microseconds per call).
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Adds a certificate; refuses one already present.
    async fn insert(&self, record: &CertRecord) -> Result<(), StoreError>;
    /// Adds many certificates (in one transaction where the backend has them).
    async fn insert_many(&self, records: &[CertRecord]) -> Result<(), StoreError>;
    /// A certificate by serial (hex) or SHA-256 fingerprint.
    async fn get(&self, serial_or_fingerprint: &str) -> Result<Option<CertRecord>, StoreError>;
    /// Every certificate, oldest expiry first.
    async fn list(&self) -> Result<Vec<CertRecord>, StoreError>;
    /// Active, not replaced certificates expiring in `(now, until]`, soonest first.
    async fn expiring(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<CertRecord>, StoreError>;
    /// Marks a certificate revoked.
    async fn revoke(&self, serial: &str, revocation: &Revocation)
    -> Result<CertRecord, StoreError>;
    /// Revoked certificates of an issuer that have not yet expired at `now`.
    async fn revoked(
        &self,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<RevokedEntry>, StoreError>;
    /// Links `old` to its replacement `new` (both directions).
    async fn link(&self, old: &str, new: &str) -> Result<(), StoreError>;
    /// Records a deployment.
    async fn add_destination(
        &self,
        serial: &str,
        destination: &Destination,
    ) -> Result<(), StoreError>;
    /// The certificate deployed to an ACM ARN, if known.
    async fn find_by_arn(&self, arn: &str) -> Result<Option<CertRecord>, StoreError>;
    /// The next CRL number for an issuer (strictly increasing, starting at 1).
    async fn next_crl_number(&self, issuer: &str) -> Result<u64, StoreError>;
    /// Records that the `interval_days` notice went out; `false` when it already had.
    async fn mark_notified(
        &self,
        serial: &str,
        interval_days: u32,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// The intervals already notified for a certificate.
    async fn notified(&self, serial: &str) -> Result<Vec<u32>, StoreError>;
}

/// The SQLite inventory.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS certificates (
    fingerprint TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    sans TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    key_type TEXT NOT NULL,
    owner TEXT,
    profile TEXT,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    revoked_at INTEGER,
    reason TEXT,
    destinations TEXT NOT NULL,
    replaces TEXT,
    replaced_by TEXT,
    pem TEXT NOT NULL,
    UNIQUE (issuer, serial)
);
CREATE INDEX IF NOT EXISTS certificates_serial ON certificates (serial);
CREATE INDEX IF NOT EXISTS certificates_expiry ON certificates (status, not_after);
CREATE TABLE IF NOT EXISTS crl_numbers (issuer TEXT PRIMARY KEY, number INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (
    fingerprint TEXT NOT NULL,
    interval_days INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, interval_days)
);
";

const COLUMNS: &str = "fingerprint, serial, issuer, subject, sans, not_before, not_after, key_type, owner, profile, source, status, revoked_at, reason, destinations, replaces, replaced_by, pem";

impl SqliteStore {
    /// Opens (creating if needed) an inventory file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::setup(Connection::open(path)?)
    }

    /// A fresh in-memory inventory (tests, benchmarks).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (it
        // has its own transactions), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn one(&self, sql: &str, arg: &str) -> Result<Vec<CertRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([arg], read_row)?;
        rows.map(|r| r.map_err(StoreError::from).and_then(|r| r))
            .collect()
    }

    /// A certificate by fingerprint, else by serial.
    fn lookup(&self, key: &str) -> Result<Option<CertRecord>, StoreError> {
        let key = key.to_ascii_lowercase().replace(':', "");
        if key.len() == 64 {
            let by_fp = self.one(
                &format!("SELECT {COLUMNS} FROM certificates WHERE fingerprint = ?1"),
                &key,
            )?;
            if let Some(r) = by_fp.into_iter().next() {
                return Ok(Some(r));
            }
        }
        let serial = crate::model::normalize_serial(&key);
        let mut found = self.one(
            &format!("SELECT {COLUMNS} FROM certificates WHERE serial = ?1"),
            &serial,
        )?;
        if found.len() > 1 {
            return Err(StoreError::Ambiguous(serial));
        }
        Ok(found.pop())
    }

    fn get_exactly(&self, serial: &str) -> Result<CertRecord, StoreError> {
        self.lookup(serial)?
            .ok_or_else(|| StoreError::NotFound(serial.to_owned()))
    }
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(serial: &str, t: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|e| StoreError::Corrupt {
        serial: serial.to_owned(),
        detail: e.to_string(),
    })
}

fn insert_row(conn: &Connection, r: &CertRecord) -> Result<(), StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt {
        serial: r.serial.clone(),
        detail: e.to_string(),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO certificates ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    ))?;
    let result = stmt.execute(params![
        r.fingerprint,
        r.serial,
        r.issuer,
        r.subject,
        serde_json::to_string(&r.sans).map_err(corrupt)?,
        ts(r.not_before),
        ts(r.not_after),
        r.key_type.to_string(),
        r.owner,
        r.profile,
        r.source.as_str(),
        match r.status {
            Status::Active => "active",
            Status::Revoked => "revoked",
        },
        r.revocation.as_ref().map(|v| ts(v.at)),
        r.revocation.as_ref().map(|v| v.reason.name()),
        serde_json::to_string(&r.destinations).map_err(corrupt)?,
        r.replaces,
        r.replaced_by,
        r.pem,
    ]);
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Duplicate(r.serial.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<CertRecord, StoreError>> {
    let serial: String = row.get(1)?;
    let sans: String = row.get(4)?;
    let not_before: i64 = row.get(5)?;
    let not_after: i64 = row.get(6)?;
    let key_type: String = row.get(7)?;
    let source: String = row.get(10)?;
    let status: String = row.get(11)?;
    let revoked_at: Option<i64> = row.get(12)?;
    let reason: Option<String> = row.get(13)?;
    let destinations: String = row.get(14)?;
    let fingerprint: String = row.get(0)?;
    let issuer: String = row.get(2)?;
    let subject: String = row.get(3)?;
    let owner: Option<String> = row.get(8)?;
    let profile: Option<String> = row.get(9)?;
    let replaces: Option<String> = row.get(15)?;
    let replaced_by: Option<String> = row.get(16)?;
    let pem: String = row.get(17)?;
    Ok((|| {
        let corrupt = |detail: String| StoreError::Corrupt {
            serial: serial.clone(),
            detail,
        };
        let revocation = match (revoked_at, reason) {
            (Some(at), Some(reason)) => Some(Revocation {
                at: from_ts(&serial, at)?,
                reason: reason
                    .parse()
                    .map_err(|e: crate::model::UnknownReason| corrupt(e.to_string()))?,
            }),
            _ => None,
        };
        Ok(CertRecord {
            sans: serde_json::from_str(&sans).map_err(|e| corrupt(e.to_string()))?,
            not_before: from_ts(&serial, not_before)?,
            not_after: from_ts(&serial, not_after)?,
            key_type: key_type
                .parse::<KeyType>()
                .map_err(|e| corrupt(e.to_string()))?,
            source: Source::parse(&source).ok_or_else(|| corrupt(format!("source `{source}`")))?,
            status: match status.as_str() {
                "active" => Status::Active,
                "revoked" => Status::Revoked,
                other => return Err(corrupt(format!("status `{other}`"))),
            },
            revocation,
            destinations: serde_json::from_str(&destinations)
                .map_err(|e| corrupt(e.to_string()))?,
            serial: serial.clone(),
            fingerprint,
            issuer,
            subject,
            owner,
            profile,
            replaces,
            replaced_by,
            pem,
        })
    })())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn insert(&self, record: &CertRecord) -> Result<(), StoreError> {
        insert_row(&self.conn(), record)
    }

    async fn insert_many(&self, records: &[CertRecord]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for r in records {
            insert_row(&tx, r)?;
        }
        tx.commit()?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<CertRecord>, StoreError> {
        self.lookup(key)
    }

    async fn list(&self) -> Result<Vec<CertRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM certificates ORDER BY not_after, serial"
        ))?;
        let rows = stmt.query_map([], read_row)?;
        rows.map(|r| r.map_err(StoreError::from).and_then(|r| r))
            .collect()
    }

    async fn expiring(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<CertRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM certificates WHERE status = 'active' AND not_after > ?1 AND not_after <= ?2 AND replaced_by IS NULL ORDER BY not_after, serial"
        ))?;
        let rows = stmt.query_map(params![ts(now), ts(until)], read_row)?;
        rows.map(|r| r.map_err(StoreError::from).and_then(|r| r))
            .collect()
    }

    async fn revoke(
        &self,
        serial: &str,
        revocation: &Revocation,
    ) -> Result<CertRecord, StoreError> {
        let record = self.get_exactly(serial)?;
        if record.status == Status::Revoked {
            return Err(StoreError::AlreadyRevoked(record.serial));
        }
        self.conn().execute(
            "UPDATE certificates SET status = 'revoked', revoked_at = ?2, reason = ?3 WHERE fingerprint = ?1",
            params![record.fingerprint, ts(revocation.at), revocation.reason.name()],
        )?;
        self.get_exactly(&record.fingerprint)
    }

    async fn revoked(
        &self,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<RevokedEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT serial, revoked_at, reason FROM certificates WHERE status = 'revoked' AND issuer = ?1 AND not_after > ?2 ORDER BY revoked_at, serial",
        )?;
        let rows = stmt.query_map(params![issuer, ts(now)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (serial, at, reason) = row?;
            let at = from_ts(&serial, at.unwrap_or_default())?;
            let reason = reason
                .as_deref()
                .unwrap_or("unspecified")
                .parse::<Reason>()
                .unwrap_or(Reason::Unspecified);
            out.push(RevokedEntry { serial, at, reason });
        }
        Ok(out)
    }

    async fn link(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let old = self.get_exactly(old)?;
        let new = self.get_exactly(new)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE certificates SET replaced_by = ?2 WHERE fingerprint = ?1",
            params![old.fingerprint, new.serial],
        )?;
        tx.execute(
            "UPDATE certificates SET replaces = ?2 WHERE fingerprint = ?1",
            params![new.fingerprint, old.serial],
        )?;
        tx.commit()?;
        Ok(())
    }

    async fn add_destination(
        &self,
        serial: &str,
        destination: &Destination,
    ) -> Result<(), StoreError> {
        let mut record = self.get_exactly(serial)?;
        if record.destinations.contains(destination) {
            return Ok(());
        }
        record.destinations.push(destination.clone());
        let json =
            serde_json::to_string(&record.destinations).map_err(|e| StoreError::Corrupt {
                serial: record.serial.clone(),
                detail: e.to_string(),
            })?;
        self.conn().execute(
            "UPDATE certificates SET destinations = ?2 WHERE fingerprint = ?1",
            params![record.fingerprint, json],
        )?;
        Ok(())
    }

    async fn find_by_arn(&self, arn: &str) -> Result<Option<CertRecord>, StoreError> {
        // Destinations are a JSON list; match the quoted ARN, then confirm.
        let pattern = format!("%\"{}\"%", arn.replace('%', "").replace('_', "\\_"));
        let found = self.one(
            &format!(
                "SELECT {COLUMNS} FROM certificates WHERE destinations LIKE ?1 ESCAPE '\\' ORDER BY not_after DESC"
            ),
            &pattern,
        )?;
        Ok(found.into_iter().find(|r| r.acm_arns().any(|a| a == arn)))
    }

    async fn next_crl_number(&self, issuer: &str) -> Result<u64, StoreError> {
        let conn = self.conn();
        let number: i64 = conn.query_row(
            "INSERT INTO crl_numbers (issuer, number) VALUES (?1, 1)
             ON CONFLICT (issuer) DO UPDATE SET number = number + 1
             RETURNING number",
            [issuer],
            |row| row.get(0),
        )?;
        u64::try_from(number).map_err(|e| StoreError::Corrupt {
            serial: issuer.to_owned(),
            detail: e.to_string(),
        })
    }

    async fn mark_notified(
        &self,
        serial: &str,
        interval_days: u32,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let record = self.get_exactly(serial)?;
        let changed = self.conn().execute(
            "INSERT OR IGNORE INTO notifications (fingerprint, interval_days, sent_at) VALUES (?1, ?2, ?3)",
            params![record.fingerprint, interval_days, ts(at)],
        )?;
        Ok(changed == 1)
    }

    async fn notified(&self, serial: &str) -> Result<Vec<u32>, StoreError> {
        let record = self.get_exactly(serial)?;
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT interval_days FROM notifications WHERE fingerprint = ?1 ORDER BY interval_days",
        )?;
        let rows = stmt.query_map([record.fingerprint], |row| row.get::<_, u32>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Test and benchmark support: a synthetic record.
#[doc(hidden)]
pub fn synthetic_record(n: u64, not_after: OffsetDateTime) -> CertRecord {
    CertRecord {
        serial: format!("{:032x}", u128::from(n) | (1u128 << 126)),
        subject: format!("CN=host{n}.example.com"),
        sans: vec![format!("host{n}.example.com")],
        issuer: "CN=Synthetic Issuing CA".to_owned(),
        not_before: not_after - time::Duration::days(90),
        not_after,
        key_type: KeyType::P256,
        fingerprint: format!("{n:064x}"),
        owner: None,
        profile: Some("server".to_owned()),
        source: Source::Internal,
        status: Status::Active,
        revocation: None,
        destinations: Vec::new(),
        replaces: None,
        replaced_by: None,
        pem: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

    #[tokio::test]
    async fn insert_get_list_and_no_duplicates() {
        let s = SqliteStore::in_memory().unwrap();
        let r = synthetic_record(1, NOW + Duration::days(10));
        s.insert(&r).await.unwrap();
        assert!(matches!(s.insert(&r).await, Err(StoreError::Duplicate(_))));
        assert_eq!(s.get(&r.serial).await.unwrap().unwrap(), r);
        assert_eq!(s.get(&r.fingerprint).await.unwrap().unwrap(), r);
        assert_eq!(s.get("00:").await.unwrap(), None);
        assert_eq!(s.list().await.unwrap(), vec![r]);
    }

    #[tokio::test]
    async fn expiring_window_skips_revoked_replaced_and_expired() {
        let s = SqliteStore::in_memory().unwrap();
        let records: Vec<_> = [-1, 5, 10, 29, 31, 60]
            .iter()
            .enumerate()
            .map(|(i, d)| synthetic_record(i as u64, NOW + Duration::days(*d)))
            .collect();
        s.insert_many(&records).await.unwrap();
        let found: Vec<u64> = s
            .expiring(NOW, NOW + Duration::days(30))
            .await
            .unwrap()
            .iter()
            .map(|r| u64::from_str_radix(&r.fingerprint, 16).unwrap())
            .collect();
        assert_eq!(found, vec![1, 2, 3]);
        s.revoke(
            &records[1].serial,
            &Revocation {
                at: NOW,
                reason: Reason::KeyCompromise,
            },
        )
        .await
        .unwrap();
        s.link(&records[2].serial, &records[5].serial)
            .await
            .unwrap();
        let found = s.expiring(NOW, NOW + Duration::days(30)).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].serial, records[3].serial);
        assert_eq!(
            s.get(&records[5].serial).await.unwrap().unwrap().replaces,
            Some(records[2].serial.clone())
        );
    }

    #[tokio::test]
    async fn revocation_crl_numbers_notifications_destinations() {
        let s = SqliteStore::in_memory().unwrap();
        let r = synthetic_record(7, NOW + Duration::days(10));
        s.insert(&r).await.unwrap();
        let rev = Revocation {
            at: NOW,
            reason: Reason::Superseded,
        };
        assert_eq!(
            s.revoke(&r.serial, &rev).await.unwrap().revocation,
            Some(rev.clone())
        );
        assert!(matches!(
            s.revoke(&r.serial, &rev).await,
            Err(StoreError::AlreadyRevoked(_))
        ));
        assert!(matches!(
            s.revoke("abcd", &rev).await,
            Err(StoreError::NotFound(_))
        ));
        let listed = s.revoked(&r.issuer, NOW).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].reason, Reason::Superseded);
        assert!(
            s.revoked(&r.issuer, NOW + Duration::days(11))
                .await
                .unwrap()
                .is_empty()
        );

        assert_eq!(s.next_crl_number("A").await.unwrap(), 1);
        assert_eq!(s.next_crl_number("A").await.unwrap(), 2);
        assert_eq!(s.next_crl_number("B").await.unwrap(), 1);

        assert!(s.mark_notified(&r.serial, 30, NOW).await.unwrap());
        assert!(!s.mark_notified(&r.serial, 30, NOW).await.unwrap());
        assert_eq!(s.notified(&r.serial).await.unwrap(), vec![30]);

        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/x_y".to_owned();
        s.add_destination(&r.serial, &Destination::Acm { arn: arn.clone() })
            .await
            .unwrap();
        s.add_destination(&r.serial, &Destination::Acm { arn: arn.clone() })
            .await
            .unwrap();
        let found = s.find_by_arn(&arn).await.unwrap().unwrap();
        assert_eq!(found.destinations.len(), 1);
        assert!(s.find_by_arn("arn:other").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn survives_reopening_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.db");
        let r = synthetic_record(3, NOW);
        SqliteStore::open(&path).unwrap().insert(&r).await.unwrap();
        assert_eq!(
            SqliteStore::open(&path)
                .unwrap()
                .get(&r.serial)
                .await
                .unwrap(),
            Some(r)
        );
    }
}
