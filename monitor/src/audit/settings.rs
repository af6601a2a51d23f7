//! The `[audit]` settings: which accounts are ours, friendly or known third
//! parties, per-account score overrides and disabled checks, the certificate
//! expiry window, weak TLS policies and sensitive ports.
//!
//! Documented with an example in `monitor/monitor.example.toml`.

use std::collections::{BTreeMap, BTreeSet};

use policies::glob::{Case, matches};
use serde::Deserialize;

use super::checks::{self, Check};
use super::err::SettingsError;
use crate::model::Category;

/// Load balancer TLS policies that accept TLS 1.0 or 1.1 (patterns with `*`
/// and `?`), used when `weak_tls_policies` is not set.
pub const DEFAULT_WEAK_TLS_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-201?-*",
    "ELBSecurityPolicy-TLS-1-0-*",
    "ELBSecurityPolicy-TLS-1-1-*",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-*",
    "ELBSecurityPolicy-TLS13-1-0-*",
    "ELBSecurityPolicy-TLS13-1-1-*",
    "Protocol-SSLv3",
    "Protocol-TLSv1",
    "Protocol-TLSv1.1",
];

/// Ports whose exposure to the internet scores higher, used when
/// `sensitive_ports` is not set: remote shells and desktops, databases,
/// caches, search engines, container and file-sharing daemons.
pub const DEFAULT_SENSITIVE_PORTS: &[u16] = &[
    20, 21, 22, 23, 135, 139, 445, 1433, 1521, 2375, 2376, 3306, 3389, 5432, 5601, 5900, 5984,
    6379, 9200, 9300, 11211, 27017,
];

/// Days before expiry from which a certificate is reported, by default.
pub const DEFAULT_CERTIFICATE_EXPIRY_DAYS: u32 = 30;

/// Validated audit settings. Build with [`AuditSettings::from_toml`] or
/// [`AuditSettings::default`] (no accounts known: every other account is
/// unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// Our own accounts: grants between them are not issues.
    pub own_accounts: BTreeSet<String>,
    /// Our AWS Organizations id (`o-...`): grants to the organization are not issues.
    pub organization_id: Option<String>,
    /// Accounts we trust (partners, the security team's audit account).
    pub friendly_accounts: BTreeSet<String>,
    /// Known third parties (vendors), id to name.
    pub third_party_accounts: BTreeMap<String, String>,
    /// Days before `notAfter` from which a certificate is reported as expiring.
    pub certificate_expiry_days: u32,
    /// Load balancer TLS policy names (or `*`/`?` patterns) that are weak.
    pub weak_tls_policies: Vec<String>,
    /// Ports that make an open security group rule score higher.
    pub sensitive_ports: BTreeSet<u16>,
    /// Score overrides and disabled checks, in file order: later entries win.
    pub overrides: Vec<Override>,
}

/// One `[[audit.override]]`: for accounts matching `accounts`, checks
/// matching `check` get `score` or are turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Account id pattern (`*` and `?`), e.g. `1111*`.
    pub accounts: String,
    /// Check name pattern, e.g. `s3.*`.
    pub check: String,
    /// The score to give, if any.
    pub score: Option<u8>,
    /// Whether the matching checks are turned off.
    pub disabled: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            own_accounts: BTreeSet::new(),
            organization_id: None,
            friendly_accounts: BTreeSet::new(),
            third_party_accounts: BTreeMap::new(),
            certificate_expiry_days: DEFAULT_CERTIFICATE_EXPIRY_DAYS,
            weak_tls_policies: DEFAULT_WEAK_TLS_POLICIES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            sensitive_ports: DEFAULT_SENSITIVE_PORTS.iter().copied().collect(),
            overrides: Vec::new(),
        }
    }
}

/// The file as written, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    #[serde(default)]
    own_accounts: Vec<String>,
    organization_id: Option<String>,
    #[serde(default)]
    friendly_accounts: Vec<String>,
    #[serde(default)]
    third_party_accounts: BTreeMap<String, String>,
    certificate_expiry_days: Option<u32>,
    weak_tls_policies: Option<Vec<String>>,
    sensitive_ports: Option<Vec<u16>>,
    #[serde(default, rename = "override")]
    overrides: Vec<RawOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    #[serde(default = "everything")]
    accounts: String,
    #[serde(default = "everything")]
    check: String,
    score: Option<i64>,
    #[serde(default)]
    disabled: bool,
}

fn everything() -> String {
    "*".to_owned()
}

/// The whole monitor configuration file; only `[audit]` is read here.
#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    audit: Option<toml::Value>,
}

impl AuditSettings {
    /// Reads the `[audit]` table of a monitor configuration file (other
    /// tables are left to their owners). A file without `[audit]` gives the
    /// defaults.
    pub fn from_toml(text: &str) -> Result<AuditSettings, SettingsError> {
        let file: RawFile = toml::from_str(text).map_err(|e| SettingsError::Toml(one_line(&e)))?;
        match file.audit {
            None => Ok(AuditSettings::default()),
            Some(table) => AuditSettings::from_table(table),
        }
    }

    /// Reads the contents of an `[audit]` table.
    pub fn from_table(table: toml::Value) -> Result<AuditSettings, SettingsError> {
        let raw: RawAudit = table.try_into().map_err(|e: toml::de::Error| {
            SettingsError::Toml(format!("[audit]: {}", one_line(&e)))
        })?;
        raw.validate()
    }

    /// The category an account falls in when something of `owner` lets it
    /// in; `None` for the owner itself and our own accounts.
    pub fn classify(&self, owner: &str, account: &str) -> Option<Category> {
        if account == owner || self.own_accounts.contains(account) {
            None
        } else if self.friendly_accounts.contains(account) {
            Some(Category::FriendlyCrossAccount)
        } else if self.third_party_accounts.contains_key(account) {
            Some(Category::ThirdPartyCrossAccount)
        } else {
            Some(Category::UnknownCrossAccount)
        }
    }

    /// The score `check` has in `account` after overrides, or `None` when
    /// the check is disabled there. Later overrides win.
    pub fn score(&self, account: &str, check: &Check) -> Option<u8> {
        let mut score = Some(check.score);
        for rule in &self.overrides {
            if matches(&rule.accounts, account, Case::Sensitive)
                && matches(&rule.check, check.name, Case::Sensitive)
            {
                // Validation guarantees a score when not disabled.
                score = if rule.disabled { None } else { rule.score };
            }
        }
        score
    }

    /// Whether a load balancer TLS policy name is on the weak list.
    pub fn is_weak_tls(&self, policy: &str) -> bool {
        self.weak_tls_policies
            .iter()
            .any(|pattern| matches(pattern, policy, Case::Sensitive))
    }
}

impl RawAudit {
    fn validate(self) -> Result<AuditSettings, SettingsError> {
        let own_accounts = accounts("audit.own_accounts", self.own_accounts)?;
        let friendly_accounts = accounts("audit.friendly_accounts", self.friendly_accounts)?;
        for id in self.third_party_accounts.keys() {
            check_account(&format!("audit.third_party_accounts.\"{id}\""), id)?;
        }
        let mut overrides = Vec::with_capacity(self.overrides.len());
        for (i, raw) in self.overrides.into_iter().enumerate() {
            overrides.push(raw.validate(&format!("audit.override[{i}]"))?);
        }
        let defaults = AuditSettings::default();
        Ok(AuditSettings {
            own_accounts,
            organization_id: self.organization_id.filter(|o| !o.is_empty()),
            friendly_accounts,
            third_party_accounts: self.third_party_accounts,
            certificate_expiry_days: self
                .certificate_expiry_days
                .unwrap_or(defaults.certificate_expiry_days),
            weak_tls_policies: self.weak_tls_policies.unwrap_or(defaults.weak_tls_policies),
            sensitive_ports: self
                .sensitive_ports
                .map_or(defaults.sensitive_ports, |p| p.into_iter().collect()),
            overrides,
        })
    }
}

impl RawOverride {
    fn validate(self, key: &str) -> Result<Override, SettingsError> {
        for (field, pattern) in [("accounts", &self.accounts), ("check", &self.check)] {
            if pattern.is_empty() {
                return Err(SettingsError::EmptyPattern {
                    key: format!("{key}.{field}"),
                });
            }
        }
        if !checks::ALL
            .iter()
            .any(|c| matches(&self.check, c.name, Case::Sensitive))
        {
            return Err(SettingsError::UnknownCheck {
                key: format!("{key}.check"),
                pattern: self.check,
            });
        }
        let score = match self.score {
            None => None,
            Some(value) => Some(u8::try_from(value).ok().filter(|s| *s <= 10).ok_or_else(
                || SettingsError::Score {
                    key: format!("{key}.score"),
                    value,
                },
            )?),
        };
        if score.is_none() && !self.disabled {
            return Err(SettingsError::NoEffect {
                key: key.to_owned(),
            });
        }
        Ok(Override {
            accounts: self.accounts,
            check: self.check,
            score,
            disabled: self.disabled,
        })
    }
}

fn accounts(key: &str, ids: Vec<String>) -> Result<BTreeSet<String>, SettingsError> {
    for (i, id) in ids.iter().enumerate() {
        check_account(&format!("{key}[{i}]"), id)?;
    }
    Ok(ids.into_iter().collect())
}

fn check_account(key: &str, id: &str) -> Result<(), SettingsError> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(SettingsError::AccountId {
            key: key.to_owned(),
            value: id.to_owned(),
        })
    }
}

/// A TOML error on one line (its message spans several, with a caret).
fn one_line(error: &toml::de::Error) -> String {
    let message = error.message().trim();
    match error.span() {
        Some(span) => format!("{message} (at byte {})", span.start),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
        [store]
        path = "ignored by the auditor"

        [audit]
        own_accounts = ["111122223333"]
        organization_id = "o-exampleorg1"
        friendly_accounts = ["444455556666"]
        certificate_expiry_days = 45
        sensitive_ports = [22, 5432]

        [audit.third_party_accounts]
        "999988887777" = "monitoring SaaS"

        [[audit.override]]
        accounts = "1111*"
        check = "s3.*"
        score = 3

        [[audit.override]]
        check = "s3.bucket.logging-off"
        disabled = true
    "#;

    #[test]
    fn reads_the_audit_table_and_applies_overrides_in_order() {
        let settings = AuditSettings::from_toml(EXAMPLE).unwrap();
        assert_eq!(settings.certificate_expiry_days, 45);
        assert_eq!(settings.organization_id.as_deref(), Some("o-exampleorg1"));
        assert_eq!(settings.sensitive_ports, [22, 5432].into_iter().collect());
        assert!(settings.is_weak_tls("ELBSecurityPolicy-2016-08"));
        assert!(settings.is_weak_tls("ELBSecurityPolicy-TLS-1-1-2017-01"));
        assert!(!settings.is_weak_tls("ELBSecurityPolicy-TLS13-1-2-2021-06"));
        assert_eq!(
            settings.score("111122223333", &checks::S3_PUBLIC_POLICY),
            Some(3)
        );
        assert_eq!(
            settings.score("222233334444", &checks::S3_PUBLIC_POLICY),
            Some(9)
        );
        assert_eq!(
            settings.score("111122223333", &checks::S3_LOGGING_OFF),
            None
        );
        assert_eq!(
            settings.score("111122223333", &checks::KMS_ROTATION_OFF),
            Some(4)
        );
        assert_eq!(settings.classify("111122223333", "111122223333"), None);
        assert_eq!(
            settings.classify("555566667777", "111122223333"),
            None,
            "our own accounts are not cross-account issues"
        );
        assert_eq!(
            settings.classify("111122223333", "444455556666"),
            Some(Category::FriendlyCrossAccount)
        );
        assert_eq!(
            settings.classify("111122223333", "999988887777"),
            Some(Category::ThirdPartyCrossAccount)
        );
        assert_eq!(
            settings.classify("111122223333", "123456789012"),
            Some(Category::UnknownCrossAccount)
        );
    }

    #[test]
    fn a_file_without_audit_gives_the_defaults() {
        let settings = AuditSettings::from_toml("[store]\npath = 'x'\n").unwrap();
        assert_eq!(settings, AuditSettings::default());
        assert_eq!(settings.certificate_expiry_days, 30);
    }

    fn error(text: &str) -> String {
        AuditSettings::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key() {
        assert!(
            error("[audit]\nfriendly_accounts = ['444455556666', '4444-5555']")
                .contains("`audit.friendly_accounts[1]` = `4444-5555`")
        );
        assert!(
            error("[audit.third_party_accounts]\nvendor = 'x'")
                .contains("`audit.third_party_accounts.\"vendor\"`")
        );
        assert!(
            error("[[audit.override]]\ncheck = 's3.*'\nscore = 11")
                .contains("`audit.override[0].score` = 11")
        );
        assert!(
            error("[[audit.override]]\ncheck = 's3.*'\nscore = 1\n[[audit.override]]\ncheck = 's4.*'\ndisabled = true")
                .contains("`audit.override[1].check` = `s4.*` matches no check")
        );
        assert!(
            error("[[audit.override]]\ncheck = 's3.*'")
                .contains("`audit.override[0]` does nothing")
        );
        assert!(
            error("[[audit.override]]\naccounts = ''\ndisabled = true")
                .contains("`audit.override[0].accounts` is empty")
        );
        let unknown = error("[audit]\nfriendly = ['444455556666']");
        assert!(unknown.contains("unknown field `friendly`"), "{unknown}");
        assert!(error("[audit]\ncertificate_expiry_days = 'soon'").contains("audit"));
    }
}
