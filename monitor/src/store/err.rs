//! What can go wrong in a store.

use time::OffsetDateTime;

use crate::model::IssueId;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite database failed.
    #[error("history database error: {0}; check the database path and that the file is writable")]
    Sqlite(#[from] rusqlite::Error),
    /// A DynamoDB call failed.
    #[error(
        "history table `{table}`: {operation} failed: {detail}; check that the table exists (created with the layout in the DynamoDB store's documentation) and that the credentials may use it"
    )]
    Dynamo {
        /// The table.
        table: String,
        /// The operation, e.g. `TransactWriteItems`.
        operation: &'static str,
        /// What the service said.
        detail: String,
    },
    /// Another run wrote the same resource or issue at the same time.
    #[error("`{0}` was written by another run at the same time; run the command again")]
    Conflict(String),
    /// A stored record does not read back.
    #[error("stored record `{what}` is corrupt: {detail}; restore the store from a backup")]
    Corrupt {
        /// Which record.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// `justify` was given an id no audit reported.
    #[error("no issue `{0}` is on record; run `monitor audit` and copy an id from its output")]
    UnknownIssue(IssueId),
    /// `justify` was given an expiry that is not in the future.
    #[error(
        "the justification of `{id}` would expire at {expires}, which is not after now; give a later expiry"
    )]
    ExpiryInPast {
        /// The issue.
        id: IssueId,
        /// The expiry given.
        expires: OffsetDateTime,
    },
}

impl StoreError {
    /// A corrupt-record error.
    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Times are stored as Unix nanoseconds, exactly.
pub(crate) fn to_nanos(t: OffsetDateTime) -> Result<i64, StoreError> {
    i64::try_from(t.unix_timestamp_nanos()).map_err(|_| {
        StoreError::corrupt(
            t.to_string(),
            "the time is out of the storable range (1678 to 2262)",
        )
    })
}

/// The time stored as Unix nanoseconds.
pub(crate) fn from_nanos(what: &str, nanos: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .map_err(|e| StoreError::corrupt(what, e))
}
