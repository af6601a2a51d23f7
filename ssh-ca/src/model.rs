//! Requests and responses, the same JSON for the Lambda payload and the CLI.
//!
//! A request with a `hostnames` field asks for a host certificate; any other
//! asks for a user certificate. Unknown fields are refused, so a misspelt
//! optional field is an error rather than silently ignored.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::err::RequestError;

/// A request for a user certificate (field names as in BLESS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    /// Who asks: the engineer's own user name, checked against the policy.
    pub bastion_user: String,
    /// The address the engineer asks from, recorded in the key id.
    pub bastion_user_ip: String,
    /// The remote user names (certificate principals) asked for.
    pub remote_usernames: Vec<String>,
    /// The public key to certify, one OpenSSH line (`ssh-ed25519 AAAA... comment`).
    pub public_key_to_sign: String,
    /// Addresses or CIDR blocks the certificate may be used from (`source-address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion_ips: Option<Vec<String>>,
    /// A command the certificate is bound to (`force-command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The kmsauth token proving the requester's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmsauth_token: Option<Token>,
    /// A shorter lifetime than the policy's default, in seconds from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_seconds: Option<u64>,
}

/// A request for a host certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRequest {
    /// The DNS names the host answers to (certificate principals).
    pub hostnames: Vec<String>,
    /// The host's public key, one OpenSSH line.
    pub public_key_to_sign: String,
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Request {
    /// A user certificate.
    User(UserRequest),
    /// A host certificate.
    Host(HostRequest),
}

impl Request {
    /// Parses a request from JSON text; errors name the offending field.
    pub fn from_json(text: &[u8]) -> Result<Self, RequestError> {
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| RequestError::Json(e.to_string()))?;
        Self::from_value(value)
    }

    /// Parses a request from a JSON value (the Lambda payload).
    pub fn from_value(value: serde_json::Value) -> Result<Self, RequestError> {
        let serde_json::Value::Object(map) = &value else {
            return Err(RequestError::NotAnObject);
        };
        if map.contains_key("hostnames") {
            serde_path_to_error::deserialize(value)
                .map(Request::Host)
                .map_err(field_error)
        } else {
            serde_path_to_error::deserialize(value)
                .map(Request::User)
                .map_err(field_error)
        }
    }
}

fn field_error(e: serde_path_to_error::Error<serde_json::Error>) -> RequestError {
    RequestError::Field {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    }
}

/// A bearer token: never printed, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token text, for the one place that must send it (KMS Decrypt).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The answer to a request: a certificate or an error, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    /// A signed certificate.
    Issued {
        /// The certificate, one OpenSSH line (`ssh-ed25519-cert-v01@openssh.com AAAA...`).
        certificate: String,
    },
    /// The request was refused or could not be served.
    Failed {
        /// A stable category a client can branch on.
        error_type: ErrorType,
        /// What went wrong and how to fix it.
        message: String,
    },
}

/// Stable error categories of a [`Response::Failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorType {
    /// The request is malformed or a field is invalid.
    InputValidationError,
    /// The requester may not have the asked-for principals.
    AuthorizationError,
    /// The kmsauth token is missing, stale or foreign.
    KmsAuthError,
    /// The service could not sign or record the certificate; retrying may help.
    ServiceError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_request_round_trips_and_refuses_unknown_fields() {
        let text = br#"{"bastion_user":"alice","bastion_user_ip":"10.0.0.1","remote_usernames":["alice"],"public_key_to_sign":"ssh-ed25519 AAAA","kmsauth_token":"secret"}"#;
        let Request::User(user) = Request::from_json(text).unwrap() else {
            panic!("expected a user request")
        };
        assert_eq!(user.remote_usernames, ["alice"]);
        assert!(!format!("{user:?}").contains("secret"));

        let bad = br#"{"bastion_user":"alice","bastion_user_ip":"10.0.0.1","remote_usernames":["alice"],"public_key_to_sign":"k","comand":"ls"}"#;
        let err = Request::from_json(bad).unwrap_err().to_string();
        assert!(err.contains("comand"), "{err}");
    }

    #[test]
    fn host_request_is_chosen_by_hostnames() {
        let text = br#"{"hostnames":["a.example.com"],"public_key_to_sign":"k"}"#;
        assert!(matches!(Request::from_json(text), Ok(Request::Host(_))));
        let missing = br#"{"hostnames":["a"]}"#;
        let err = Request::from_json(missing).unwrap_err().to_string();
        assert!(err.contains("public_key_to_sign"), "{err}");
        assert!(matches!(
            Request::from_json(b"[1]"),
            Err(RequestError::NotAnObject)
        ));
    }

    #[test]
    fn responses_serialize_as_documented() {
        let ok = Response::Issued {
            certificate: "c".into(),
        };
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"certificate":"c"}"#
        );
        let failed = Response::Failed {
            error_type: ErrorType::KmsAuthError,
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"error_type":"KmsAuthError","message":"m"}"#
        );
    }
}
