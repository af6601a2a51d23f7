//! The configuration file `monitor.toml` (see `monitor.example.toml`), every
//! key overridable by an environment variable `MONITOR__<TABLE>__<KEY>`, e.g.
//! `MONITOR__ALERT__MIN_SEVERITY=high`. The caller hands in the file's text
//! and the environment; this module reads neither.

use std::path::PathBuf;

use serde::Deserialize;
pub use tomlenv::{StoreBackend, StoreTable};

use crate::alert::Options;
use crate::audit::{AUDITED_TYPES, AuditSettings, SettingsError};
use crate::durable::{Ephemeral, EphemeralConfig, GlobError};
use crate::model::Severity;

/// The prefix of overriding environment variables.
pub const ENV_PREFIX: &str = "MONITOR__";

/// Why a configuration was refused; each names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has a bad value.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The dotted key or the variable's name.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The TOML does not parse or has the wrong shape.
    #[error("configuration: {0}; compare with monitor/monitor.example.toml")]
    Toml(String),
    /// The `[audit]` table.
    #[error(transparent)]
    Audit(#[from] SettingsError),
    /// The `[history]` table.
    #[error("configuration key `history.ephemeral`: {0}")]
    History(#[from] GlobError),
}

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where revisions, issues and justifications are kept.
    pub store: StoreTable,
    /// What `collect` reads.
    pub collect: CollectConfig,
    /// Where alerts go and which events make one.
    pub alert: AlertConfig,
    /// How issues are found and scored.
    pub audit: AuditSettings,
    /// Which fields are ephemeral (ignored by revisions and drift).
    pub history: Ephemeral,
    /// A suppression file, if any.
    pub suppressions: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: StoreTable,
    #[serde(default)]
    collect: CollectConfig,
    #[serde(default)]
    alert: AlertConfig,
    #[serde(default)]
    audit: Option<toml::Value>,
    #[serde(default)]
    history: EphemeralConfig,
    #[serde(default)]
    suppressions: Option<PathBuf>,
}

/// The SQLite file used when `[store]` names none.
pub const DEFAULT_SQLITE: &str = "monitor.db";

/// Where `collect` reads configuration from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// AWS Config (ListDiscoveredResources + BatchGetResourceConfig).
    #[default]
    Config,
    /// IAM only, through GetAccountAuthorizationDetails (accounts without Config).
    Iam,
}

/// The `[collect]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectConfig {
    /// Accounts to collect (empty: the account of the credentials).
    pub accounts: Vec<String>,
    /// Regions to collect (empty: the region of the SDK configuration).
    pub regions: Vec<String>,
    /// The role assumed in each account (needed when `accounts` is not empty).
    pub assume_role: Option<String>,
    /// Read every account through this Config aggregator instead.
    pub aggregator: Option<String>,
    /// `config` or `iam`.
    pub source: SourceKind,
    /// Accounts collected at once.
    pub concurrency: usize,
    /// Resource types read from Config (default: every audited type).
    pub resource_types: Vec<String>,
}

impl Default for CollectConfig {
    fn default() -> Self {
        CollectConfig {
            accounts: Vec::new(),
            regions: Vec::new(),
            assume_role: None,
            aggregator: None,
            source: SourceKind::Config,
            concurrency: 8,
            resource_types: AUDITED_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        }
    }
}

/// The `[alert]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// Publish alerts to this SNS topic.
    pub sns_topic_arn: Option<String>,
    /// Post alerts to this Slack-compatible webhook.
    pub webhook_url: Option<String>,
    /// Print alerts on standard output.
    pub stdout: bool,
    /// One digest per run instead of one alert per event.
    pub digest: bool,
    /// Issue events below this severity make no alert.
    pub min_severity: String,
    /// Whether resolved issues alert.
    pub resolved: bool,
    /// Whether changed and deleted resources alert.
    pub resources: bool,
}

impl Default for AlertConfig {
    fn default() -> Self {
        let options = Options::default();
        AlertConfig {
            sns_topic_arn: None,
            webhook_url: None,
            stdout: false,
            digest: options.digest,
            min_severity: "medium".to_owned(),
            resolved: options.resolved,
            resources: options.resources,
        }
    }
}

impl AlertConfig {
    /// The alert options these settings give.
    pub fn options(&self) -> Result<Options, ConfigError> {
        let min_severity: Severity =
            self.min_severity
                .parse()
                .map_err(|e| ConfigError::Invalid {
                    key: "alert.min_severity".into(),
                    reason: format!("{e}"),
                })?;
        Ok(Options {
            min_severity,
            digest: self.digest,
            resolved: self.resolved,
            resources: self.resources,
        })
    }
}

impl Config {
    /// Parses `text`, applies `MONITOR__...` overrides from `env`, and
    /// checks every table.
    pub fn load(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = tomlenv::load(text, ENV_PREFIX, env).map_err(|e| match e {
            tomlenv::Error::Variable { variable, reason } => ConfigError::Invalid {
                key: variable,
                reason,
            },
            tomlenv::Error::Toml(message) => ConfigError::Toml(message),
        })?;
        let store = raw.store;
        if let Some(problem) = store.problem() {
            return Err(ConfigError::Invalid {
                key: "store".into(),
                reason: problem.into(),
            });
        }
        let collect = raw.collect;
        for (i, account) in collect.accounts.iter().enumerate() {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid {
                    key: format!("collect.accounts[{i}]"),
                    reason: format!("`{account}` is not a 12-digit account id"),
                });
            }
        }
        if collect.concurrency == 0 {
            return Err(ConfigError::Invalid {
                key: "collect.concurrency".into(),
                reason: "must be at least 1".into(),
            });
        }
        raw.alert.options()?;
        let audit = match raw.audit {
            Some(table) => AuditSettings::from_table(table)?,
            None => AuditSettings::default(),
        };
        Ok(Config {
            store,
            collect,
            alert: raw.alert,
            audit,
            history: Ephemeral::from_config(&raw.history)?,
            suppressions: raw.suppressions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = Config::load("", env(&[])).unwrap();
        assert_eq!(
            config.store.backend(DEFAULT_SQLITE),
            StoreBackend::Sqlite(DEFAULT_SQLITE.into())
        );
        let env = env(&[("MONITOR__STORE__DYNAMODB_TABLE", "t")]);
        let config = Config::load("", env).unwrap();
        assert_eq!(
            config.store.backend(DEFAULT_SQLITE),
            StoreBackend::DynamoDb("t".into())
        );
        assert_eq!(config.alert.options().unwrap(), Options::default());
        assert_eq!(config.collect.concurrency, 8);
        assert!(!config.collect.resource_types.is_empty());
    }

    #[test]
    fn the_example_file_loads() {
        let config = Config::load(include_str!("../monitor.example.toml"), env(&[])).unwrap();
        assert!(config.audit.friendly_accounts.contains("444455556666"));
        assert_eq!(config.collect.regions, ["us-east-1"]);
    }

    #[test]
    fn variables_override_keys() {
        let config = Config::load(
            "[alert]\nmin_severity = \"low\"\n",
            env(&[
                ("MONITOR__ALERT__MIN_SEVERITY", "high"),
                ("MONITOR__ALERT__DIGEST", "true"),
                ("MONITOR__COLLECT__ACCOUNTS", "[\"111122223333\"]"),
            ]),
        )
        .unwrap();
        let options = config.alert.options().unwrap();
        assert_eq!(options.min_severity, Severity::High);
        assert!(options.digest);
        assert_eq!(config.collect.accounts, ["111122223333"]);
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = |text: &str| Config::load(text, env(&[])).unwrap_err().to_string();
        assert!(err("[alert]\nmin_severity = \"urgent\"\n").contains("alert.min_severity"));
        assert!(err("[collect]\naccounts = [\"12\"]\n").contains("collect.accounts[0]"));
        assert!(err("[store]\nsqlite = \"a.db\"\ndynamodb_table = \"t\"\n").contains("not both"));
        assert!(err("[colect]\n").contains("colect"));
        assert!(err("[audit]\nfriendly_accounts = [\"x\"]\n").contains("friendly_accounts"));
    }
}
