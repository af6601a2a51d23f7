//! The errors of every step, each naming its input and how to fix it.

use crate::model::ErrorType;

/// The request could not be read as JSON of the expected shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not JSON at all.
    #[error("the request is not valid JSON ({0}); send one JSON object")]
    Json(String),
    /// JSON, but not an object.
    #[error("the request is not a JSON object; send an object with the documented fields")]
    NotAnObject,
    /// A field is missing, unknown or of the wrong type.
    #[error("request field `{path}`: {message}; see the request format in the README")]
    Field {
        /// Where in the request (`remote_usernames[2]`, `.` for the whole).
        path: String,
        /// What serde found.
        message: String,
    },
}

/// A request field breaks a validation rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A user name breaks the configured mode.
    #[error("`{field}` {value:?} is not a valid user name under the `{mode}` rule: {reason}")]
    Username {
        /// The field.
        field: String,
        /// The value given.
        value: String,
        /// The mode in force.
        mode: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A principal matches the blocklist.
    #[error("`{field}` {value:?} is on the blocklist of principals; ask for another user name")]
    Blocked {
        /// The field.
        field: String,
        /// The value given.
        value: String,
    },
    /// Not an IP address or CIDR block.
    #[error(
        "`{field}` {value:?} is not an IP address or CIDR block; write e.g. `10.0.0.1` or `10.0.0.0/8`"
    )]
    Address {
        /// The field.
        field: String,
        /// The value given.
        value: String,
    },
    /// A list is empty.
    #[error("`{field}` is empty; give at least one value")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A list is too long.
    #[error("`{field}` has more than {max} entries; ask for fewer")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// Not a DNS name.
    #[error("`{field}` {value:?} is not a DNS host name: {reason}")]
    Hostname {
        /// The field.
        field: String,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The public key is unreadable, too weak, or of a refused algorithm.
    #[error("`public_key_to_sign`: {reason}")]
    Key {
        /// What is wrong.
        reason: String,
    },
    /// The command is unusable.
    #[error("`command`: {reason}; send a single-line command")]
    Command {
        /// What is wrong.
        reason: &'static str,
    },
    /// The lifetime asked for is zero or beyond the policy's maximum.
    #[error("`validity_seconds` {asked} is outside 1..={max}; ask for a shorter lifetime", max = max.map_or_else(|| "the policy maximum".to_owned(), |m| m.to_string()))]
    Validity {
        /// The lifetime asked for.
        asked: u64,
        /// The policy's maximum, when known.
        max: Option<u64>,
    },
}

/// The requester may not have what it asks for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Only the requester's own name is allowed.
    #[error(
        "`{requester}` may only ask for its own user name, not `{principal}`; ask for `{requester}`"
    )]
    NotOwnName {
        /// The requester.
        requester: String,
        /// The principal asked for.
        principal: String,
    },
    /// The allow-list does not give this principal to this requester.
    #[error(
        "`{requester}` may not log in as `{principal}`; ask an administrator to add it to `policy.user.principals.allow`"
    )]
    NotAllowed {
        /// The requester.
        requester: String,
        /// The principal asked for.
        principal: String,
    },
    /// The requester is not in the IAM group that grants this principal.
    #[error(
        "`{requester}` is not a member of IAM group `{group}`, which grants `{principal}`; ask to be added to the group"
    )]
    NotInGroup {
        /// The requester.
        requester: String,
        /// The principal asked for.
        principal: String,
        /// The group required.
        group: String,
    },
    /// A host name outside the domains host certificates may name.
    #[error(
        "host name `{hostname}` is outside `policy.host.allowed_domains`; ask an administrator to allow its domain"
    )]
    HostNotAllowed {
        /// The host name.
        hostname: String,
    },
}

/// The configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key has an invalid value.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The TOML does not parse or has the wrong shape.
    #[error("configuration: {0}; compare with ca.example.toml")]
    Toml(String),
}

/// Building or signing a certificate failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// ssh-key refused the certificate fields or the signature.
    #[error("cannot build the certificate: {0}; check the CA key and the policy")]
    Certificate(#[from] ssh_key::Error),
    /// The CA key cannot sign certificates.
    #[error("CA key `{fingerprint}` cannot sign certificates: {reason}")]
    CaKey {
        /// The CA key's fingerprint.
        fingerprint: String,
        /// Why.
        reason: String,
    },
    /// No CA key is configured to sign.
    #[error("no CA key is configured to sign; add one under `[[ca.keys]]`")]
    NoSigningKey,
}

/// A call to AWS failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// The service answered with an error or could not be reached.
    #[error(
        "AWS {service} {operation} failed: {message}; check the credentials, region and permissions"
    )]
    Call {
        /// The service (`KMS`, `IAM`, ...).
        service: &'static str,
        /// The operation (`Sign`, ...).
        operation: &'static str,
        /// The SDK's message.
        message: String,
    },
    /// The answer was unusable.
    #[error("AWS {service} {operation} answered something unusable: {reason}")]
    Answer {
        /// The service.
        service: &'static str,
        /// The operation.
        operation: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// A kmsauth token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsAuthError {
    /// The request carries no token but the service requires one.
    #[error("`kmsauth_token` is missing; get a token with `ssh-ca request` and send it")]
    Missing,
    /// KMS refused to decrypt: wrong key, requester or service, or a tampered token.
    #[error(
        "`kmsauth_token` does not decrypt for requester `{requester}` and service `{service}`; get a fresh token for this user and service"
    )]
    Foreign {
        /// The requester named in the request.
        requester: String,
        /// This service's name.
        service: String,
    },
    /// Decrypted with another key than the configured auth key.
    #[error(
        "`kmsauth_token` was encrypted with key `{key}`, not the configured auth key; use the service's auth key"
    )]
    WrongKey {
        /// The key KMS reported.
        key: String,
    },
    /// The plaintext is not the expected JSON.
    #[error("`kmsauth_token` holds no valid `not_before`/`not_after` window; get a fresh token")]
    Malformed,
    /// Outside its validity window.
    #[error(
        "`kmsauth_token` is valid from {not_before} to {not_after}, not now ({now}); get a fresh token"
    )]
    Stale {
        /// Start of validity.
        not_before: String,
        /// End of validity.
        not_after: String,
        /// The time of the check.
        now: String,
    },
    /// Its window is longer than the service accepts.
    #[error(
        "`kmsauth_token` is valid for {seconds} s, more than the {max} s allowed; get a token with a shorter lifetime"
    )]
    TooLong {
        /// The token's lifetime.
        seconds: i64,
        /// The maximum.
        max: u64,
    },
    /// KMS could not be asked.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The issuance store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("store `{path}`: {message}; check the path and its permissions")]
    Sqlite {
        /// The database file.
        path: String,
        /// SQLite's message.
        message: String,
    },
    /// DynamoDB failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A stored record is unreadable.
    #[error("store record `{id}` is corrupt: {reason}; repair or delete it")]
    Corrupt {
        /// The record.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// Any failure of a signing request, as the handler reports it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`RequestError`].
    #[error(transparent)]
    Request(#[from] RequestError),
    /// See [`ValidationError`].
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// See [`PolicyError`].
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// See [`KmsAuthError`].
    #[error(transparent)]
    KmsAuth(#[from] KmsAuthError),
    /// See [`SignError`].
    #[error(transparent)]
    Sign(#[from] SignError),
    /// See [`AwsError`].
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
    /// See [`ConfigError`].
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    /// The stable category reported to the client.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::Request(_) | Self::Validation(_) => ErrorType::InputValidationError,
            Self::Policy(_) => ErrorType::AuthorizationError,
            Self::KmsAuth(KmsAuthError::Aws(_)) => ErrorType::ServiceError,
            Self::KmsAuth(_) => ErrorType::KmsAuthError,
            Self::Sign(_) | Self::Aws(_) | Self::Store(_) | Self::Config(_) => {
                ErrorType::ServiceError
            }
        }
    }
}
