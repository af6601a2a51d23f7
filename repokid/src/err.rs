//! The errors of the library's modules.

use std::path::PathBuf;

/// Access history that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The text is not JSON of the expected shape.
    #[error("`{what}` is not a valid {format}: {detail}; check that the file is {format} output")]
    Format {
        /// The file or input named.
        what: String,
        /// The format expected.
        format: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read `{}`: {source}; check the path and its permissions", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("store `{path}`: {source}; check that the file is a repokid database and not in use")]
    Sqlite {
        /// The database path (`:memory:` for an in-memory store).
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// A stored record does not decode.
    #[error("store `{path}`: stored {what} does not decode: {detail}; run `repokid update` again")]
    Corrupt {
        /// The database path.
        path: String,
        /// Which record.
        what: String,
        /// What was wrong.
        detail: String,
    },
}
