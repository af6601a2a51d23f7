use thiserror::Error;

use crate::ParseError;

/// Why an authorization-details export could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The text is not JSON at all (a truncated file, an HTML error page...).
    #[error(
        "authorization details are not valid JSON: {message} at line {line}, column {column}; \
         export them with `aws iam get-account-authorization-details --output json`"
    )]
    Json {
        /// serde_json's description of the problem.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The JSON is not shaped like a `GetAccountAuthorizationDetails` answer.
    #[error(
        "authorization details do not have the expected shape at `{path}`: {message}; \
         expected the output of `aws iam get-account-authorization-details --output json`"
    )]
    Shape {
        /// Where in the document, e.g. `RoleDetailList[2].RoleName`.
        path: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A policy document inside the export does not follow the policy grammar.
    #[error("{element}: {source}")]
    Policy {
        /// The element holding the document, e.g. ``role `web` inline policy `s3` ``.
        element: String,
        /// What is wrong with the document.
        source: ParseError,
    },
    /// A date is neither an ISO 8601 date-time nor epoch seconds.
    #[error(
        "{element}: `{text}` is not an ISO 8601 date-time; write it like `2024-05-01T12:00:00Z`"
    )]
    Date {
        /// The element holding the date, e.g. ``role `web` `CreateDate` ``.
        element: String,
        /// The value as found.
        text: String,
    },
    /// A field that the element cannot do without is absent.
    #[error("{element} has no `{field}`; export it again without filtering that field out")]
    Missing {
        /// The element, e.g. ``role `web` ``.
        element: String,
        /// The absent field, e.g. `AssumeRolePolicyDocument`.
        field: &'static str,
    },
    /// Every page given says that more pages follow.
    #[error(
        "the export is incomplete: every page given has `IsTruncated` true (next marker `{marker}`); \
         pass every page up to the last one, or let the CLI paginate"
    )]
    Truncated {
        /// The `Marker` of the last page given, or empty.
        marker: String,
    },
}
