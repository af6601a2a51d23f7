//! What can go wrong while reading AWS configuration.

use std::path::PathBuf;

/// An error from a [`crate::source`] reader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A configuration item lacks a field every item has, or a field holds a
    /// value of the wrong shape.
    #[error(
        "configuration item {index}: field `{field}` {problem}; give each item the fields AWS Config writes (accountId, awsRegion, resourceType, resourceId)"
    )]
    Item {
        /// Position of the item in its file, page or result list (from 0).
        index: usize,
        /// The field, as AWS spells it.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A document is not the JSON it should be.
    #[error("{what} is not valid: {message}; {fix}")]
    Json {
        /// What was being read (a file, an object, a notification).
        what: String,
        /// The parser's message, with its line and column.
        message: String,
        /// How to fix it.
        fix: &'static str,
    },
    /// A file or directory could not be read.
    #[error("cannot read `{path}`: {source}; check that it exists and is readable")]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Reading a file failed; the cause names the item or the JSON position.
    #[error("`{path}`: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What went wrong in it.
        source: Box<SourceError>,
    },
    /// A Config change notification or rule event is not one AWS sends.
    #[error("notification: {0}; pass the message AWS Config delivers (SNS message or rule event)")]
    Notification(String),
    /// An AWS call failed.
    #[error("{operation} failed: {message}; check the credentials, the region and the endpoint")]
    Aws {
        /// The API operation, e.g. `config:BatchGetResourceConfig`.
        operation: &'static str,
        /// The SDK's error with its causes.
        message: String,
    },
    /// AWS kept answering with unprocessed keys.
    #[error(
        "config:BatchGetResourceConfig left {count} resource keys unprocessed after {attempts} attempts, e.g. `{example}`; retry later or raise the Config API rate limit"
    )]
    Unprocessed {
        /// How many keys were never answered.
        count: usize,
        /// How many calls were made for them.
        attempts: u32,
        /// One of them, `TYPE/ID`.
        example: String,
    },
    /// An IAM record could not be turned into a configuration item.
    #[error("IAM `{arn}`: {message}; check the GetAccountAuthorizationDetails output")]
    Iam {
        /// The record's ARN (or name when it has none).
        arn: String,
        /// What is wrong.
        message: String,
    },
    /// Assuming the role of one account failed.
    #[error(
        "account `{account}`: cannot assume `{role_arn}`: {message}; check that the role exists and trusts the caller"
    )]
    AssumeRole {
        /// The account.
        account: String,
        /// The role ARN tried.
        role_arn: String,
        /// The SDK's error with its causes.
        message: String,
    },
    /// The work for one account failed.
    #[error("account `{account}`: {source}")]
    InAccount {
        /// The account.
        account: String,
        /// What went wrong in it.
        source: Box<SourceError>,
    },
    /// The caller's item handler asked to stop; its error is kept.
    #[error("stopped by the item handler: {0}")]
    Handler(Box<dyn std::error::Error + Send + Sync>),
}

impl SourceError {
    /// Wraps an error of the caller's item handler, so that a reader stops
    /// and returns it: `|item| store.put(&item).map_err(SourceError::handler)`.
    pub fn handler(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> SourceError {
        SourceError::Handler(error.into())
    }

    /// An AWS SDK error with all its causes.
    pub(crate) fn aws(operation: &'static str, error: impl std::error::Error) -> SourceError {
        let mut message = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            cause = inner.source();
        }
        SourceError::Aws { operation, message }
    }

    /// Names the file the error happened in.
    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> SourceError {
        match self {
            SourceError::Handler(_) | SourceError::Io { .. } | SourceError::InFile { .. } => self,
            other => SourceError::InFile {
                path: path.into(),
                source: Box::new(other),
            },
        }
    }
}
