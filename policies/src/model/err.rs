use thiserror::Error;

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not JSON at all.
    #[error("policy is not valid JSON: {message} at line {line}, column {column}")]
    Json {
        /// serde_json's description of the problem.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The text looked URL-encoded but did not decode to UTF-8.
    #[error("policy looks URL-encoded but does not decode to UTF-8 text")]
    Encoding,
    /// The JSON does not follow the IAM policy grammar.
    #[error("policy is not valid at `{path}`: {message}")]
    Grammar {
        /// Where in the document, e.g. `Statement[1].Effect`.
        path: String,
        /// What was expected and what was found.
        message: String,
    },
}

impl ParseError {
    pub(super) fn at(path: &str, message: impl Into<String>) -> Self {
        ParseError::Grammar {
            path: if path.is_empty() {
                "(document)".to_owned()
            } else {
                path.to_owned()
            },
            message: message.into(),
        }
    }
}
