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

/// An IAM call that failed or answered something unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "IAM `{operation}` on role `{role}`{}: {message}; check the role name, the credentials and their IAM permissions",
    policy.as_ref().map(|p| format!(" policy `{p}`")).unwrap_or_default()
)]
pub struct IamError {
    /// The API operation (`PutRolePolicy`).
    pub operation: &'static str,
    /// The role name.
    pub role: String,
    /// The inline policy name, for calls about one policy.
    pub policy: Option<String>,
    /// What went wrong, with its causes.
    pub message: String,
}

/// A `repo` or `rollback` that could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The role is not in the store.
    #[error("no role named `{0}` in the store; run `repokid update --from DIR` first")]
    UnknownRole(String),
    /// No stored version to roll back to.
    #[error(
        "role `{role}` has no stored inline-policy version {}; pass one listed by `repokid rollback --role {role}` as `--version N` (versions are saved by `repo --commit` and `rollback --commit`)",
        version.map_or_else(|| "taken before a repo".to_owned(), |v| v.to_string())
    )]
    NoVersion {
        /// The role name.
        role: String,
        /// The version asked for (none: the default, before the last repo).
        version: Option<u32>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An IAM call failed before anything was changed.
    #[error(transparent)]
    Iam(#[from] IamError),
    /// A change failed half-way; what was changed has been put back (or
    /// not, as `restore_failures` tells).
    #[error(
        "{failure}; changes stopped after {applied} of {total} calls; {}",
        restore_summary(role, *version, restore_failures)
    )]
    PartlyApplied {
        /// The role name.
        role: String,
        /// The stored version holding the documents as they were before.
        version: u32,
        /// The call that failed.
        failure: Box<IamError>,
        /// How many calls had succeeded before it.
        applied: usize,
        /// How many calls were planned.
        total: usize,
        /// The restoring calls that failed too (empty: fully restored).
        restore_failures: Vec<IamError>,
    },
}

fn restore_summary(role: &str, version: u32, failures: &[IamError]) -> String {
    if failures.is_empty() {
        return format!("restored the inline policies stored as version {version}");
    }
    let list = failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "restoring failed too ({list}); run `repokid rollback --role {role} --version {version} --commit`"
    )
}
