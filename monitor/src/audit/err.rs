//! Why audit settings are refused.

/// A problem in the `[audit]` settings; each names the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The text is not TOML, or a key has the wrong type or is unknown.
    #[error("audit settings: {0}; see monitor/monitor.example.toml for the keys and their types")]
    Toml(String),
    /// A value that must be a 12-digit account id is not one.
    #[error("`{key}` = `{value}` is not a 12-digit AWS account id; write the id without dashes")]
    AccountId {
        /// The key, e.g. `audit.friendly_accounts[1]`.
        key: String,
        /// The value given.
        value: String,
    },
    /// A score above 10.
    #[error("`{key}` = {value} is out of range; scores go from 0 to 10")]
    Score {
        /// The key, e.g. `audit.override[0].score`.
        key: String,
        /// The value given.
        value: i64,
    },
    /// An override that neither sets a score nor disables anything.
    #[error("`{key}` does nothing; give it `score = N` or `disabled = true`")]
    NoEffect {
        /// The override's key, e.g. `audit.override[2]`.
        key: String,
    },
    /// An override's check pattern matches no check.
    #[error(
        "`{key}` = `{pattern}` matches no check; use a check name such as `s3.bucket.public-policy` or a pattern such as `s3.*` (`monitor checks` lists them)"
    )]
    UnknownCheck {
        /// The key, e.g. `audit.override[1].check`.
        key: String,
        /// The pattern given.
        pattern: String,
    },
    /// An empty pattern.
    #[error("`{key}` is empty; write `*` to match everything")]
    EmptyPattern {
        /// The key.
        key: String,
    },
}
