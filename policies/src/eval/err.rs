//! Errors of evaluation and of building a request.

use thiserror::Error;

/// Why a statement could not be evaluated. The statement is skipped (it
/// neither allows nor denies) and the error is reported in the response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A condition value written in the policy is not of the operator's type,
    /// e.g. `"DateLessThan": {"aws:CurrentTime": "soon"}`.
    #[error(
        "condition `{operator}` on `{key}`: the policy value `{value}` is not {expected}; write {example}"
    )]
    PolicyValue {
        /// The operator as written, e.g. `DateLessThanIfExists`.
        operator: String,
        /// The condition key as written.
        key: String,
        /// The offending value.
        value: String,
        /// What it should be, e.g. "a date".
        expected: &'static str,
        /// A well-formed example.
        example: &'static str,
    },
    /// A value of the request is not of the type the operator compares, e.g.
    /// `aws:SourceIp=intranet` tested with `IpAddress`.
    #[error(
        "condition `{operator}` on `{key}`: the request value `{value}` is not {expected}; pass {example}"
    )]
    RequestValue {
        /// The operator as written.
        operator: String,
        /// The condition key as written in the policy.
        key: String,
        /// The request's value, as text.
        value: String,
        /// What it should be.
        expected: &'static str,
        /// A well-formed example.
        example: &'static str,
    },
}

/// Why a `KEY=VALUE` context entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ContextError {
    /// No `=` in the entry.
    #[error("context entry `{0}` has no `=`; write KEY=VALUE, e.g. aws:SourceIp=203.0.113.7")]
    MissingEquals(String),
    /// Nothing before the `=`.
    #[error("context entry `{0}` has no key before `=`; write KEY=VALUE, e.g. aws:username=alice")]
    EmptyKey(String),
}

/// Why a string does not name a caller.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`{0}` is not a principal; give an ARN (arn:aws:iam::123456789012:user/alice), a 12-digit account id, or a service or identity provider name (lambda.amazonaws.com, accounts.google.com)"
)]
pub struct CallerError(pub String);
