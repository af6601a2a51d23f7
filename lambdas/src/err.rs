//! The two ways a function fails: at start ([`InitError`], the process exits
//! before polling for events) and per event ([`HandlerError`], a Lambda error
//! response with a stable `errorType`).

use lambda_runtime::Diagnostic;

/// A function could not start: its configuration is missing or wrong, or a
/// dependency it builds once (a CA key, a client) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// A required environment variable is not set.
    #[error("environment variable `{name}` is not set; set it to {what}")]
    Missing {
        /// The variable.
        name: String,
        /// What it should hold.
        what: &'static str,
    },
    /// An environment variable holds something unusable.
    #[error("environment variable `{name}` is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// Why, and how to fix it.
        reason: String,
    },
    /// The tool refused its configuration or could not build what it needs.
    #[error("cannot set up {what}: {message}")]
    Setup {
        /// What was being set up (`ssh-ca`, `certs CA`).
        what: &'static str,
        /// The tool's error, with its fix.
        message: String,
    },
}

impl InitError {
    /// The stable error type reported to Lambda's init error endpoint.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Missing { .. } | Self::Invalid { .. } => "Runtime.InvalidConfiguration",
            Self::Setup { .. } => "Runtime.InitError",
        }
    }

    /// A setup failure of `what`, from the tool's error (its whole chain).
    pub fn setup(what: &'static str, e: &(dyn std::error::Error + 'static)) -> Self {
        Self::Setup {
            what,
            message: chain(e),
        }
    }
}

/// An event the handler could not serve, answered as a Lambda error response
/// (`{"errorType": .., "errorMessage": ..}`); the process goes on serving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct HandlerError {
    /// A stable category callers and retries can branch on: `InvalidEvent`
    /// for events of the wrong shape, otherwise the tool's own categories
    /// (`Refused`, `BadRequest`, `Retryable`, `Internal`).
    pub error_type: String,
    /// What went wrong and how to fix it.
    pub message: String,
}

impl HandlerError {
    /// An event that does not have the shape the function takes.
    pub fn invalid_event(message: impl Into<String>) -> Self {
        Self {
            error_type: "InvalidEvent".into(),
            message: message.into(),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.error_type,
            error_message: e.message,
        }
    }
}

/// `e` and its sources, joined by `: `.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}
