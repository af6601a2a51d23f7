//! Where a run's configuration comes from: files (`--from`, `--iam-export`)
//! or AWS (Config, an aggregator, or IAM directly), one collection per
//! account and region so each is recorded as complete for its own scope.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use aws_config::SdkConfig;
use clap::ValueEnum;
use monitor::collect::{Collection, collect, iam_scope};
use monitor::config::SourceKind;
use monitor::source::accounts::{AssumeRole, for_each_account};
use monitor::source::config_api::{ConfigSource, select_expression};
use monitor::source::{SourceError, iam};
use time::OffsetDateTime;

use super::{Context, read_files, scope_of};

/// Where to read configuration from.
#[derive(clap::Args, Default)]
pub struct Sources {
    /// Read AWS Config snapshot or history files (a file, or a directory
    /// searched for `*.json` and `*.json.gz`) instead of AWS.
    #[arg(long, conflicts_with = "aggregator")]
    pub from: Option<PathBuf>,
    /// Read IAM from a `GetAccountAuthorizationDetails` export file.
    #[arg(long)]
    pub iam_export: Option<PathBuf>,
    /// Accounts to read from AWS (default: `[collect] accounts`, else the
    /// credentials' own account); comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Regions to read (default: `[collect] regions`, else the SDK's region); comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Read every account and region through this AWS Config aggregator.
    #[arg(long)]
    pub aggregator: Option<String>,
    /// What to read from AWS: `config` (AWS Config) or `iam` (IAM only).
    #[arg(long, value_enum)]
    pub source: Option<Source>,
}

/// `--source`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// AWS Config's recorded resources.
    Config,
    /// IAM through GetAccountAuthorizationDetails.
    Iam,
}

/// One account whose collection failed.
pub struct Failed {
    /// The account.
    pub account: String,
    /// Why.
    pub error: SourceError,
}

impl Sources {
    /// Whether any source is given (files or an AWS option).
    pub fn given(&self) -> bool {
        self.from.is_some()
            || self.iam_export.is_some()
            || !self.accounts.is_empty()
            || self.aggregator.is_some()
            || self.source.is_some()
    }

    /// Reads the files given, or AWS otherwise.
    pub async fn gather(&self, context: &Context) -> Result<(Vec<Collection>, Vec<Failed>)> {
        if self.from.is_some() || self.iam_export.is_some() {
            return Ok((self.files(context.now)?, Vec::new()));
        }
        self.aws(context).await
    }

    fn files(&self, now: OffsetDateTime) -> Result<Vec<Collection>> {
        let mut out = Vec::new();
        if let Some(path) = &self.from {
            let items = read_files(path)?;
            out.push(Collection {
                scope: scope_of(&items),
                items,
            });
        }
        if let Some(path) = &self.iam_export {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            let items =
                iam::from_export(&text, now).with_context(|| format!("`{}`", path.display()))?;
            out.push(Collection {
                scope: iam_scope(scope_of(&items).accounts),
                items,
            });
        }
        Ok(out)
    }

    async fn aws(&self, context: &Context) -> Result<(Vec<Collection>, Vec<Failed>)> {
        let settings = &context.config.collect;
        let sdk = context.sdk().await.clone();
        let types = settings.resource_types.clone();
        let kind = match self.source {
            Some(Source::Iam) => SourceKind::Iam,
            Some(Source::Config) => SourceKind::Config,
            None => settings.source,
        };
        if let Some(aggregator) = self.aggregator.as_ref().or(settings.aggregator.as_ref()) {
            let refs: Vec<&str> = types.iter().map(String::as_str).collect();
            let items = ConfigSource::new(&sdk)
                .select_aggregate(aggregator, &select_expression(&refs))
                .await?;
            let scope = scope_of(&items);
            return Ok((vec![Collection { scope, items }], Vec::new()));
        }
        let regions = pick(&self.regions, &settings.regions)
            .or_else(|| sdk.region().map(|r| vec![r.to_string()]))
            .context("no region: pass `--regions`, set `[collect] regions` or AWS_REGION")?;
        let now = context.now;
        let work = move |account: String, sdk: SdkConfig| {
            let (types, regions) = (types.clone(), regions.clone());
            async move { collect_account(&sdk, &account, kind, &types, &regions, now).await }
        };
        let Some(accounts) = pick(&self.accounts, &settings.accounts) else {
            let account = own_account(&sdk).await?;
            let collections = work(account, sdk).await?;
            return Ok((collections, Vec::new()));
        };
        let role = settings.assume_role.as_deref().context(
            "collecting other accounts needs a role to assume in each: set `[collect] assume_role`",
        )?;
        let role = AssumeRole::new(role, "monitor-collect");
        let mut collections = Vec::new();
        let mut failed = Vec::new();
        for done in for_each_account(&sdk, &accounts, &role, settings.concurrency, work).await {
            match done.result {
                Ok(found) => collections.extend(found),
                Err(error) => failed.push(Failed {
                    account: done.account,
                    error,
                }),
            }
        }
        Ok((collections, failed))
    }
}

/// The first non-empty list of the two.
fn pick(flag: &[String], setting: &[String]) -> Option<Vec<String>> {
    [flag, setting]
        .into_iter()
        .find(|list| !list.is_empty())
        .map(<[String]>::to_vec)
}

/// The account the credentials of `sdk` belong to.
async fn own_account(sdk: &SdkConfig) -> Result<String> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .context("sts:GetCallerIdentity failed; check the AWS credentials")?;
    identity
        .account
        .context("sts:GetCallerIdentity answered no account")
}

/// One account: IAM once, or Config in each region.
async fn collect_account(
    sdk: &SdkConfig,
    account: &str,
    kind: SourceKind,
    types: &[String],
    regions: &[String],
    now: OffsetDateTime,
) -> Result<Vec<Collection>, SourceError> {
    if kind == SourceKind::Iam {
        return Ok(vec![
            collect(sdk, account, "global", kind, types, now).await?,
        ]);
    }
    let mut out = Vec::new();
    for region in regions {
        out.push(collect(sdk, account, region, kind, types, now).await?);
    }
    Ok(out)
}
