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
    /// A DynamoDB call failed.
    #[error(
        "DynamoDB table `{table}`: `{operation}` failed: {detail}; check that the table exists (string keys `pk` and `sk`; `repokid init-table` creates it) and that the credentials may read and write it"
    )]
    Dynamo {
        /// The table.
        table: String,
        /// The API operation, e.g. `TransactWriteItems`.
        operation: &'static str,
        /// What the service said.
        detail: String,
    },
    /// Another run changed the same records at the same time; nothing of
    /// this call's batch was written.
    #[error(
        "DynamoDB table `{table}`: {what} changed by another repokid run at the same time; run the command again"
    )]
    Conflict {
        /// The table.
        table: String,
        /// The records, e.g. `role arn:aws:iam::111122223333:role/web`.
        what: String,
    },
    /// A record too large for one DynamoDB item even compressed.
    #[error(
        "DynamoDB table `{table}`: {what} takes {bytes} bytes compressed, over the 400 KB item limit; keep this account in a SQLite store (`store.sqlite`)"
    )]
    TooLarge {
        /// The table.
        table: String,
        /// Which record.
        what: String,
        /// Its compressed size.
        bytes: usize,
    },
    /// A stored record does not decode.
    #[error("store `{store}`: stored {what} does not decode: {detail}; run `repokid update` again")]
    Corrupt {
        /// The database path or DynamoDB table.
        store: String,
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
    /// The role: its ARN for calls through [`crate::aws::AwsIam`].
    pub role: String,
    /// The inline policy name, or the managed policy ARN, for calls about
    /// one policy.
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
    /// A name that roles of several accounts carry.
    #[error(
        "{} stored roles are named `{name}` ({}); name the one meant by its ARN",
        arns.len(),
        arns.join(", ")
    )]
    AmbiguousRole {
        /// The name given.
        name: String,
        /// The ARNs of the roles carrying it.
        arns: Vec<String>,
    },
    /// The permission to remove names no known action.
    #[error("`{0}` matches no known action; write it as `service:Action`, e.g. s3:PutObject")]
    UnknownPermission(String),
    /// The notice before a scheduled repo could not be sent; the role was
    /// left as it was.
    #[error("role `{role}` not repoed: the notice before it failed: {source}")]
    Notify {
        /// The role name.
        role: String,
        /// The cause.
        source: AwsError,
    },
    /// Another run holds the role's lease.
    #[error(
        "role `{0}` is being changed by another repokid run; wait for it to finish (a crashed run's lease expires after 15 minutes)"
    )]
    Locked(String),
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

/// An AWS call of inventory, access collection or notification that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// An API call failed.
    #[error(
        "`{operation}` on `{target}`: {message}; check the credentials, the region and their permissions"
    )]
    Call {
        /// The API operation (`GetAccountAuthorizationDetails`).
        operation: &'static str,
        /// What it was about (an account, role ARN, bucket or topic).
        target: String,
        /// What went wrong, with its causes.
        message: String,
    },
    /// Assuming the per-account role failed.
    #[error(
        "account `{account}`: cannot assume `{role_arn}`: {message}; check that the role exists in the account and trusts the caller"
    )]
    AssumeRole {
        /// The account ID.
        account: String,
        /// The role ARN.
        role_arn: String,
        /// What went wrong.
        message: String,
    },
    /// An answer could not be used.
    #[error("`{operation}` on `{target}` answered something unusable: {detail}; {fix}")]
    Answer {
        /// The API operation.
        operation: &'static str,
        /// What it was about.
        target: String,
        /// What was wrong.
        detail: String,
        /// How to fix it.
        fix: &'static str,
    },
    /// An Access Advisor job failed.
    #[error(
        "Access Advisor job `{job_id}` for `{role_arn}` failed: {code}: {message}; run `repokid update` again later"
    )]
    JobFailed {
        /// The role ARN.
        role_arn: String,
        /// The job ID.
        job_id: String,
        /// AWS's error code.
        code: String,
        /// AWS's error message.
        message: String,
    },
    /// An Access Advisor job did not complete in time.
    #[error(
        "Access Advisor job `{job_id}` for `{role_arn}` still in progress after {seconds} s; raise the timeout or run `repokid update` again"
    )]
    JobTimeout {
        /// The role ARN.
        role_arn: String,
        /// The job ID.
        job_id: String,
        /// The timeout, in seconds.
        seconds: u64,
    },
}

impl AwsError {
    /// An [`AwsError::Call`] carrying `e` and its chain of causes.
    pub fn call(operation: &'static str, target: &str, e: &dyn std::error::Error) -> AwsError {
        AwsError::Call {
            operation,
            target: target.to_owned(),
            message: error_chain(e),
        }
    }
}

/// `e` and its causes, joined by colons.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// A configuration that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key has an invalid value.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The dotted key (or the environment variable that set it).
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The TOML does not parse or has the wrong shape.
    #[error("configuration: {0}; compare with repokid.example.toml")]
    Toml(String),
}
