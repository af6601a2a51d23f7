//! The configuration file (`ca.toml`, see `ca.example.toml`), with every key
//! overridable by an environment variable `SSH_CA__<TABLE>__<KEY>`: for
//! example `SSH_CA__POLICY__USER__VALIDITY_AFTER_SECONDS=300` or
//! `SSH_CA__CA__KEYS__0__FILE=/etc/ssh-ca/ca`. The caller hands the file's
//! text and the environment in; this module reads neither.

use serde::{Deserialize, Serialize};
pub use tomlenv::{StoreBackend, StoreTable};

use crate::ca::CaKeyConfig;
use crate::err::ConfigError;
use crate::kmsauth::KmsAuthConfig;
use crate::policy::Policy;
use crate::validate::{ValidationConfig, Validator};

/// The prefix of overriding environment variables.
pub const ENV_PREFIX: &str = "SSH_CA__";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// CA keys.
    pub ca: CaConfig,
    /// kmsauth; absent means requests need no token.
    #[serde(default)]
    pub kmsauth: Option<KmsAuthConfig>,
    /// Where issuances and revocations are kept.
    #[serde(default)]
    pub store: StoreTable,
    /// Request validation.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// The signing policy.
    #[serde(default)]
    pub policy: Policy,
}

/// The `[ca]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// The CA keys; the first signs, all are published.
    pub keys: Vec<CaKeyConfig>,
}

/// The SQLite file used when `[store]` names none.
pub const DEFAULT_SQLITE: &str = "ssh-ca.db";

impl Config {
    /// Parses `text`, applies `SSH_CA__...` overrides from `env`, and checks
    /// the result. Errors name the key.
    pub fn load(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let config: Self = tomlenv::load(text, ENV_PREFIX, env).map_err(|e| match e {
            tomlenv::Error::Variable { variable, reason } => ConfigError::Invalid {
                key: variable,
                reason,
            },
            tomlenv::Error::Toml(message) => ConfigError::Toml(message),
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.ca.keys.is_empty() {
            return Err(ConfigError::Invalid {
                key: "ca.keys".into(),
                reason: "no CA key is configured; add a `[[ca.keys]]` table".into(),
            });
        }
        for (i, key) in self.ca.keys.iter().enumerate() {
            key.check(i)?;
        }
        if let Some(problem) = self.store.problem() {
            return Err(ConfigError::Invalid {
                key: "store".into(),
                reason: problem.into(),
            });
        }
        Validator::new(self.validation.clone())?;
        self.policy.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [[ca.keys]]
        file = "ca"
        [policy.user]
        validity_after_seconds = 120
    "#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn example_config_loads() {
        let text = include_str!("../ca.example.toml");
        let config = Config::load(text, Vec::new()).unwrap();
        assert_eq!(config.ca.keys.len(), 2);
    }

    #[test]
    fn environment_overrides_keys() {
        let config = Config::load(
            BASE,
            env(&[
                ("SSH_CA__POLICY__USER__VALIDITY_AFTER_SECONDS", "300"),
                ("SSH_CA__CA__KEYS__0__FILE", "/etc/ssh-ca/ca"),
                ("SSH_CA__VALIDATION__PRINCIPAL_BLOCKLIST", "^root$"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(config.policy.user.validity_after_seconds, 300);
        assert_eq!(
            config.ca.keys[0].file.as_deref(),
            Some("/etc/ssh-ca/ca".as_ref())
        );
        assert_eq!(
            config.validation.principal_blocklist.as_deref(),
            Some("^root$")
        );
    }

    #[test]
    fn the_store_is_the_default_file_or_the_one_named() {
        let config = Config::load(BASE, Vec::new()).unwrap();
        assert_eq!(
            config.store.backend(DEFAULT_SQLITE),
            StoreBackend::Sqlite(DEFAULT_SQLITE.into())
        );
        let env = env(&[("SSH_CA__STORE__DYNAMODB_TABLE", "issuances")]);
        let config = Config::load(BASE, env).unwrap();
        assert_eq!(
            config.store.backend(DEFAULT_SQLITE),
            StoreBackend::DynamoDb("issuances".into())
        );
        let both = format!("{BASE}\n[store]\nsqlite = \"a.db\"\ndynamodb_table = \"t\"\n");
        let err = Config::load(&both, Vec::new()).unwrap_err().to_string();
        assert!(err.contains("store") && err.contains("not both"), "{err}");
    }

    #[test]
    fn errors_name_the_key() {
        let err = Config::load(
            BASE,
            env(&[("SSH_CA__POLICY__USER__VALIDITY_AFTER_SECONDS", "99999")]),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("policy.user.validity_after_seconds"),
            "{err}"
        );
        let err = Config::load("[ca]\nkeys = []", Vec::new()).unwrap_err();
        assert!(err.to_string().contains("ca.keys"), "{err}");
        let err = Config::load(&format!("{BASE}\n[extra]\na = 1"), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
        let err = Config::load(BASE, env(&[("SSH_CA__CA__KEYS__5__FILE", "x")])).unwrap_err();
        assert!(
            err.to_string().contains("SSH_CA__CA__KEYS__5__FILE"),
            "{err}"
        );
    }
}
