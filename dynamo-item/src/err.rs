//! What can go wrong with an item or a call.
//!
//! Both errors are details: a store wraps them in its own error, which
//! names the table and the record and says how to fix it.

/// An item's attribute or body does not read (or a body does not encode).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// The attribute is absent.
    #[error("`{name}` is missing")]
    Missing {
        /// The attribute.
        name: String,
    },
    /// The attribute holds another type of value.
    #[error("`{name}` is not {expected}")]
    WrongType {
        /// The attribute.
        name: String,
        /// What it should be, e.g. `a number`.
        expected: &'static str,
    },
    /// A number attribute does not parse as the number expected (out of
    /// range, negative, fractional).
    #[error("`{name}` is `{value}`")]
    BadNumber {
        /// The attribute.
        name: String,
        /// Its text.
        value: String,
    },
    /// The item has no body attribute.
    #[error("it has neither `body` nor `body_gz`")]
    NoBody,
    /// The record does not serialize as JSON.
    #[error("its body does not encode as JSON: {0}")]
    Encode(serde_json::Error),
    /// The body is not the JSON of the record expected.
    #[error("its body is not the JSON expected: {0}")]
    Decode(serde_json::Error),
    /// Gzip failed: compressing a body, or decompressing `body_gz`
    /// (truncated, not gzip, not UTF-8).
    #[error("its body does not {doing}: {source}")]
    Gzip {
        /// `compress` or `decompress`.
        doing: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// A DynamoDB call failed.
///
/// Exhaustive on purpose: each store maps every variant into its own error.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service refused the call, could not be reached, or kept items
    /// unprocessed; or the request could not be built.
    #[error("`{operation}` failed: {detail}")]
    Failed {
        /// The API operation, e.g. `BatchGetItem`.
        operation: &'static str,
        /// What went wrong, led by the service's error code when it sent one.
        detail: String,
    },
    /// A transaction was cancelled because a condition did not hold or
    /// another transaction wrote the same items: another writer changed
    /// them since they were read. Nothing of that transaction was written.
    #[error("{what} changed by another writer at the same time")]
    Conflict {
        /// The names of the transaction's groups, joined by `, `.
        what: String,
    },
}

impl CallError {
    pub(crate) fn failed(operation: &'static str, detail: impl ToString) -> CallError {
        CallError::Failed {
            operation,
            detail: detail.to_string(),
        }
    }
}
