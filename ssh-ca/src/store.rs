//! The issuance and revocation records, behind [`Store`]: SQLite by default
//! ([`SqliteStore`]), DynamoDB in Lambda ([`crate::dynamo::DynamoStore`]).

use std::future::Future;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ssh_key::PublicKey;

use aws_config::SdkConfig;

use crate::config::{DEFAULT_SQLITE, StoreBackend, StoreTable};
use crate::dynamo::DynamoStore;
use crate::err::StoreError;
use crate::krl::Krl;

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuance {
    /// The certificate serial.
    pub serial: u64,
    /// Its key id.
    pub key_id: String,
    /// `user` or `host`.
    pub cert_type: String,
    /// Its principals.
    pub principals: Vec<String>,
    /// Start of validity, Unix seconds.
    pub valid_after: u64,
    /// End of validity, Unix seconds.
    pub valid_before: u64,
    /// The requester (empty for host certificates).
    pub requester: String,
    /// The certified key's SHA-256 fingerprint.
    pub fingerprint: String,
    /// The certified key, one OpenSSH line.
    pub public_key: String,
    /// The signing CA's public key, one OpenSSH line.
    pub ca_key: String,
    /// When it was issued, Unix seconds.
    pub issued_at: u64,
}

/// What a revocation names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Revocation {
    /// One certificate of one CA.
    Serial {
        /// The serial.
        serial: u64,
        /// The CA's public key, one OpenSSH line.
        ca_key: String,
    },
    /// Certificates with this key id from one CA.
    KeyId {
        /// The key id.
        key_id: String,
        /// The CA's public key, one OpenSSH line.
        ca_key: String,
    },
    /// A public key and every certificate for it.
    Key {
        /// The key, one OpenSSH line.
        public_key: String,
    },
}

/// A revocation with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// What is revoked.
    pub revocation: Revocation,
    /// When, Unix seconds.
    pub revoked_at: u64,
}

/// Persistence of issuances and revocations.
pub trait Store: Send + Sync {
    /// Records an issued certificate.
    fn record(&self, issuance: &Issuance) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The issuance with `serial`, if recorded.
    fn by_serial(
        &self,
        serial: u64,
    ) -> impl Future<Output = Result<Option<Issuance>, StoreError>> + Send;
    /// The issuances with `key_id`.
    fn by_key_id(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Vec<Issuance>, StoreError>> + Send;
    /// Records a revocation (recording the same one twice keeps one).
    fn revoke(
        &self,
        record: &RevocationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every revocation, oldest first.
    fn revocations(&self)
    -> impl Future<Output = Result<Vec<RevocationRecord>, StoreError>> + Send;
}

/// Builds the KRL from revocation records; `version` is the number of records
/// (it grows with every revocation), `now` the generation time.
pub fn build_krl(records: &[RevocationRecord], now: u64) -> Result<Krl, StoreError> {
    let mut krl = Krl {
        version: u64::try_from(records.len()).unwrap_or(u64::MAX),
        generated_at: now,
        comment: "ssh-ca".into(),
        ..Krl::default()
    };
    for record in records {
        let parse = |line: &str| {
            PublicKey::from_openssh(line).map_err(|e| StoreError::Corrupt {
                id: format!("{:?}", record.revocation),
                reason: format!("its key does not parse ({e})"),
            })
        };
        let result = match &record.revocation {
            Revocation::Serial { serial, ca_key } => {
                krl.revoke_serial(parse(ca_key)?.key_data(), *serial)
            }
            Revocation::KeyId { key_id, ca_key } => {
                krl.revoke_key_id(parse(ca_key)?.key_data(), key_id)
            }
            Revocation::Key { public_key } => krl.revoke_key(parse(public_key)?.key_data()),
        };
        result.map_err(|e| StoreError::Corrupt {
            id: format!("{:?}", record.revocation),
            reason: e.to_string(),
        })?;
    }
    Ok(krl)
}

/// SQLite: one file, two tables.
#[derive(Debug)]
pub struct SqliteStore {
    path: String,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS issuances (
    serial TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issuances_key_id ON issuances (key_id);
CREATE TABLE IF NOT EXISTS revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    what TEXT NOT NULL UNIQUE,
    revoked_at INTEGER NOT NULL
);
";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| sqlite(&name, &e))?;
        Self::init(name, conn)
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| sqlite(":memory:", &e))?;
        Self::init(":memory:".into(), conn)
    }

    fn init(path: String, conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA).map_err(|e| sqlite(&path, &e))?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Sqlite {
            path: self.path.clone(),
            message: "a previous operation panicked".into(),
        })?;
        f(&conn).map_err(|e| sqlite(&self.path, &e))
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        json: &str,
    ) -> Result<T, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
            id: id.to_owned(),
            reason: e.to_string(),
        })
    }

    fn record_now(&self, issuance: &Issuance) -> Result<(), StoreError> {
        let json = encode(issuance)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO issuances (serial, key_id, record) VALUES (?1, ?2, ?3)",
                params![issuance.serial.to_string(), issuance.key_id, json],
            )
        })
        .map(drop)
    }

    fn by_serial_now(&self, serial: u64) -> Result<Option<Issuance>, StoreError> {
        let json: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT record FROM issuances WHERE serial = ?1",
                params![serial.to_string()],
                |row| row.get(0),
            )
            .optional()
        })?;
        json.map(|j| self.decode(&serial.to_string(), &j))
            .transpose()
    }

    fn by_key_id_now(&self, key_id: &str) -> Result<Vec<Issuance>, StoreError> {
        let rows: Vec<String> = self.with(|c| {
            let mut stmt = c.prepare("SELECT record FROM issuances WHERE key_id = ?1")?;
            let rows = stmt.query_map(params![key_id], |row| row.get(0))?;
            rows.collect()
        })?;
        rows.iter().map(|j| self.decode(key_id, j)).collect()
    }

    fn revoke_now(&self, record: &RevocationRecord) -> Result<(), StoreError> {
        let what = encode(&record.revocation)?;
        let at = i64::try_from(record.revoked_at).unwrap_or(i64::MAX);
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO revocations (what, revoked_at) VALUES (?1, ?2)",
                params![what, at],
            )
        })
        .map(drop)
    }

    fn revocations_now(&self) -> Result<Vec<RevocationRecord>, StoreError> {
        let rows: Vec<(String, i64)> = self.with(|c| {
            let mut stmt = c.prepare("SELECT what, revoked_at FROM revocations ORDER BY id")?;
            let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })?;
        rows.into_iter()
            .map(|(what, at)| {
                Ok(RevocationRecord {
                    revocation: self.decode(&what, &what)?,
                    revoked_at: u64::try_from(at).unwrap_or_default(),
                })
            })
            .collect()
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        id: "(new record)".into(),
        reason: e.to_string(),
    })
}

fn sqlite(path: &str, e: &rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

impl Store for SqliteStore {
    fn record(&self, issuance: &Issuance) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.record_now(issuance))
    }

    fn by_serial(
        &self,
        serial: u64,
    ) -> impl Future<Output = Result<Option<Issuance>, StoreError>> + Send {
        std::future::ready(self.by_serial_now(serial))
    }

    fn by_key_id(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Vec<Issuance>, StoreError>> + Send {
        std::future::ready(self.by_key_id_now(key_id))
    }

    fn revoke(
        &self,
        record: &RevocationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.revoke_now(record))
    }

    fn revocations(
        &self,
    ) -> impl Future<Output = Result<Vec<RevocationRecord>, StoreError>> + Send {
        std::future::ready(self.revocations_now())
    }
}

/// The store the configuration names.
#[derive(Debug)]
pub enum AnyStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// DynamoDB.
    Dynamo(DynamoStore),
}

impl AnyStore {
    /// Opens the configured store; DynamoDB needs `aws`.
    pub fn open(config: &StoreTable, aws: Option<&SdkConfig>) -> Result<Self, StoreError> {
        match (config.backend(DEFAULT_SQLITE), aws) {
            (StoreBackend::Sqlite(path), _) => Ok(Self::Sqlite(SqliteStore::open(&path)?)),
            (StoreBackend::DynamoDb(table), Some(aws)) => {
                Ok(Self::Dynamo(DynamoStore::new(aws, table)))
            }
            (StoreBackend::DynamoDb(table), None) => Err(StoreError::Sqlite {
                path: "(none)".into(),
                message: format!(
                    "the DynamoDB table `{table}` needs AWS credentials; set them, or `store.sqlite`"
                ),
            }),
        }
    }
}

impl Store for AnyStore {
    async fn record(&self, issuance: &Issuance) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.record(issuance).await,
            Self::Dynamo(s) => s.record(issuance).await,
        }
    }

    async fn by_serial(&self, serial: u64) -> Result<Option<Issuance>, StoreError> {
        match self {
            Self::Sqlite(s) => s.by_serial(serial).await,
            Self::Dynamo(s) => s.by_serial(serial).await,
        }
    }

    async fn by_key_id(&self, key_id: &str) -> Result<Vec<Issuance>, StoreError> {
        match self {
            Self::Sqlite(s) => s.by_key_id(key_id).await,
            Self::Dynamo(s) => s.by_key_id(key_id).await,
        }
    }

    async fn revoke(&self, record: &RevocationRecord) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.revoke(record).await,
            Self::Dynamo(s) => s.revoke(record).await,
        }
    }

    async fn revocations(&self) -> Result<Vec<RevocationRecord>, StoreError> {
        match self {
            Self::Sqlite(s) => s.revocations().await,
            Self::Dynamo(s) => s.revocations().await,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn issuance(serial: u64) -> Issuance {
        Issuance {
            serial,
            key_id: format!("request[{serial}]"),
            cert_type: "user".into(),
            principals: vec!["alice".into()],
            valid_after: 1,
            valid_before: 2,
            requester: "alice".into(),
            fingerprint: "SHA256:x".into(),
            public_key: include_str!("../testdata/user-ed25519.pub").trim().into(),
            ca_key: include_str!("../testdata/user-ecdsa256.pub").trim().into(),
            issued_at: 1,
        }
    }

    #[tokio::test]
    async fn sqlite_round_trip() {
        let store = SqliteStore::in_memory().unwrap();
        let big = u64::MAX - 1;
        store.record(&issuance(big)).await.unwrap();
        store.record(&issuance(7)).await.unwrap();
        assert!(
            store.record(&issuance(7)).await.is_err(),
            "serials are unique"
        );
        assert_eq!(store.by_serial(big).await.unwrap(), Some(issuance(big)));
        assert_eq!(store.by_serial(8).await.unwrap(), None);
        assert_eq!(store.by_key_id("request[7]").await.unwrap(), [issuance(7)]);

        let r = RevocationRecord {
            revocation: Revocation::Serial {
                serial: 7,
                ca_key: issuance(7).ca_key,
            },
            revoked_at: 10,
        };
        store.revoke(&r).await.unwrap();
        store.revoke(&r).await.unwrap();
        let key = RevocationRecord {
            revocation: Revocation::Key {
                public_key: issuance(7).public_key,
            },
            revoked_at: 11,
        };
        store.revoke(&key).await.unwrap();
        let all = store.revocations().await.unwrap();
        assert_eq!(all, [r, key]);
        let krl = build_krl(&all, 12).unwrap();
        assert_eq!(krl.version, 2);
        assert_eq!(krl.keys.len(), 1);
        assert_eq!(krl.certificates.values().next().unwrap().serials.len(), 1);
    }
}
