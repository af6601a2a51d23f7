//! The configuration file (`repokid.toml`, see `repokid.example.toml`),
//! every key overridable by an environment variable
//! `REPOKID__<TABLE>__<KEY>` (for example `REPOKID__FILTER__MIN_AGE_DAYS=30`
//! or `REPOKID__ACCOUNTS__IDS='["111122223333"]'`). The caller hands the
//! file's text and the environment in; this module reads neither.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
pub use tomlenv::{StoreBackend, StoreTable};

use std::time::Duration;

use crate::aws::accounts::Accounts;
use crate::aws::advisor::AdvisorOptions;
use crate::aws::cloudtrail::S3Location;
use crate::aws::collect::CollectOptions;
use crate::err::ConfigError;
use crate::filter::FilterConfig;
use crate::plan::PlanConfig;

/// The prefix of overriding environment variables.
pub const ENV_PREFIX: &str = "REPOKID__";

/// The whole configuration; every table and key may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which roles and permissions plans leave alone.
    pub filter: FilterTable,
    /// The accounts to inventory.
    pub accounts: AccountsTable,
    /// Where access data comes from.
    pub access: AccessTable,
    /// Notifications.
    pub notify: NotifyTable,
    /// Scheduling.
    pub schedule: ScheduleTable,
    /// What plans and `repo` may change.
    pub repo: RepoTable,
    /// Where state is kept.
    pub store: StoreTable,
}

/// `[filter]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterTable {
    /// A permission unused for this many days is removed.
    pub unused_days: i64,
    /// Roles younger than this many days are skipped.
    pub min_age_days: i64,
    /// Access data older than this many days is refused.
    pub max_data_age_days: i64,
    /// Permissions added within this many days are kept.
    pub recent_days: i64,
    /// Role names or ARNs never touched, in any account.
    pub blocklist: Vec<String>,
    /// Per account ID, role names or ARNs never touched there.
    pub account_blocklist: BTreeMap<String, Vec<String>>,
    /// When set, only roles whose name or ARN matches one of these globs.
    pub allowlist: Vec<String>,
    /// The opt-out tag key.
    pub opt_out_tag: String,
}

impl Default for FilterTable {
    fn default() -> Self {
        let f = FilterConfig::default();
        let p = PlanConfig::default();
        FilterTable {
            unused_days: p.unused_after_days,
            min_age_days: f.min_age_days,
            max_data_age_days: f.max_data_age_days,
            recent_days: f.recent_days,
            blocklist: f.blocklist,
            account_blocklist: f.account_blocklist,
            allowlist: f.allowlist,
            opt_out_tag: f.opt_out_tag,
        }
    }
}

/// `[accounts]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsTable {
    /// Account IDs (12 digits); empty: the caller's own account.
    pub ids: Vec<String>,
    /// The role assumed in each account.
    pub assume_role: String,
    /// At most this many accounts at once.
    pub concurrency: usize,
}

impl Default for AccountsTable {
    fn default() -> Self {
        AccountsTable {
            ids: Vec::new(),
            assume_role: "RepokidRole".to_owned(),
            concurrency: 4,
        }
    }
}

/// `[access]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessTable {
    /// Run Access Advisor jobs.
    pub access_advisor: bool,
    /// Action-level jobs (else service level).
    pub action_level: bool,
    /// Seconds a job may take.
    pub advisor_timeout_seconds: u64,
    /// At most this many roles' jobs at once, per account.
    pub advisor_concurrency: usize,
    /// CloudTrail log files, `s3://bucket/prefix`.
    pub cloudtrail: Option<String>,
}

impl Default for AccessTable {
    fn default() -> Self {
        AccessTable {
            access_advisor: true,
            action_level: true,
            advisor_timeout_seconds: 120,
            advisor_concurrency: AdvisorOptions::default().concurrency,
            cloudtrail: None,
        }
    }
}

/// `[notify]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyTable {
    /// The SNS topic ARN notices go to; none: no notices.
    pub sns_topic: Option<String>,
}

/// `[schedule]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleTable {
    /// Days between scheduling a role and repoing it.
    pub days: i64,
}

impl Default for ScheduleTable {
    fn default() -> Self {
        ScheduleTable {
            days: crate::schedule::DEFAULT_DAYS,
        }
    }
}

/// `[repo]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepoTable {
    /// Replace each attached customer-managed policy granting unused
    /// permissions by a right-sized inline copy and detach it (default
    /// false: only report them); see [`PlanConfig::managed`].
    pub managed: bool,
}

/// The SQLite file used when `[store]` names none.
pub const DEFAULT_SQLITE: &str = "repokid.db";

impl Config {
    /// Parses `text`, applies `REPOKID__...` overrides from `env`, and
    /// checks the result. Errors name the key.
    pub fn load(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let config: Config = tomlenv::load(text, ENV_PREFIX, env).map_err(|e| match e {
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
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_owned(),
            reason,
        };
        let f = &self.filter;
        for (key, value) in [
            ("filter.unused_days", f.unused_days),
            ("filter.min_age_days", f.min_age_days),
            ("filter.max_data_age_days", f.max_data_age_days),
            ("filter.recent_days", f.recent_days),
            ("schedule.days", self.schedule.days),
        ] {
            if !(0..=3650).contains(&value) {
                return Err(invalid(
                    key,
                    format!("{value} is not a number of days between 0 and 3650"),
                ));
            }
        }
        let is_account = |id: &str| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit());
        for (i, id) in self.accounts.ids.iter().enumerate() {
            if !is_account(id) {
                return Err(invalid(
                    &format!("accounts.ids[{i}]"),
                    format!("`{id}` is not a 12-digit account ID"),
                ));
            }
        }
        if let Some(id) = f.account_blocklist.keys().find(|id| !is_account(id)) {
            return Err(invalid(
                &format!("filter.account_blocklist.{id}"),
                format!("`{id}` is not a 12-digit account ID"),
            ));
        }
        if self.accounts.assume_role.is_empty() {
            return Err(invalid(
                "accounts.assume_role",
                "is empty; name the role repokid assumes in each account".to_owned(),
            ));
        }
        if self.accounts.concurrency == 0 {
            return Err(invalid(
                "accounts.concurrency",
                "must be at least 1".to_owned(),
            ));
        }
        if self.access.advisor_timeout_seconds == 0 {
            return Err(invalid(
                "access.advisor_timeout_seconds",
                "must be at least 1".to_owned(),
            ));
        }
        if let Some(url) = &self.access.cloudtrail
            && S3Location::parse(url).is_none()
        {
            return Err(invalid(
                "access.cloudtrail",
                format!("`{url}` is not of the form s3://bucket/prefix"),
            ));
        }
        if let Some(topic) = &self.notify.sns_topic
            && !topic.starts_with("arn:")
        {
            return Err(invalid(
                "notify.sns_topic",
                format!("`{topic}` is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
            ));
        }
        if let Some(problem) = self.store.problem() {
            return Err(invalid("store", problem.to_owned()));
        }
        if self.access.advisor_concurrency == 0 {
            return Err(invalid(
                "access.advisor_concurrency",
                "must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }

    /// What `update` collects from AWS: `[accounts]` and `[access]`.
    pub fn collect_options(&self) -> CollectOptions {
        CollectOptions {
            accounts: Accounts {
                ids: self.accounts.ids.clone(),
                role_name: self.accounts.assume_role.clone(),
                limit: self.accounts.concurrency,
            },
            advisor: self.access.access_advisor.then(|| AdvisorOptions {
                action_level: self.access.action_level,
                timeout: Duration::from_secs(self.access.advisor_timeout_seconds),
                concurrency: self.access.advisor_concurrency,
                ..AdvisorOptions::default()
            }),
            cloudtrail: self
                .access
                .cloudtrail
                .as_deref()
                .and_then(S3Location::parse),
        }
    }

    /// The planner settings of `[filter]` and `[repo]`.
    pub fn plan_config(&self) -> PlanConfig {
        let f = &self.filter;
        PlanConfig {
            filter: FilterConfig {
                min_age_days: f.min_age_days,
                blocklist: f.blocklist.clone(),
                account_blocklist: f.account_blocklist.clone(),
                allowlist: f.allowlist.clone(),
                opt_out_tag: f.opt_out_tag.clone(),
                max_data_age_days: f.max_data_age_days,
                recent_days: f.recent_days,
            },
            unused_after_days: f.unused_days,
            managed: self.repo.managed,
            ..PlanConfig::default()
        }
    }
}

#[cfg(test)]
mod tests;
