//! One account's collection, the same for `monitor collect` and the
//! per-account Lambda worker: IAM directly (region `global`) or AWS Config in
//! one region, with the scope the items completely describe.

use aws_config::SdkConfig;
use time::OffsetDateTime;

use crate::config::SourceKind;
use crate::lifecycle::Scope;
use crate::model::ConfigItem;
use crate::source::SourceError;
use crate::source::config_api::ConfigSource;
use crate::source::iam;

/// The types direct IAM collection reads.
pub const IAM_TYPES: [&str; 4] = [
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::IAM::Policy",
];

/// Items that completely describe one scope: resources of the scope missing
/// from them are recorded as deleted.
#[derive(Debug, Clone)]
pub struct Collection {
    /// What they cover.
    pub scope: Scope,
    /// The items.
    pub items: Vec<ConfigItem>,
}

/// The scope of a direct IAM collection of `accounts`.
pub fn iam_scope(accounts: Vec<String>) -> Scope {
    Scope {
        accounts,
        regions: vec!["global".to_owned()],
        resource_types: IAM_TYPES.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// Collects `account` (whose credentials `sdk` holds): with
/// [`SourceKind::Iam`], its IAM through `GetAccountAuthorizationDetails`
/// (`region` is ignored); with [`SourceKind::Config`], the recorded
/// resources of `types` in `region`.
pub async fn collect(
    sdk: &SdkConfig,
    account: &str,
    region: &str,
    kind: SourceKind,
    types: &[String],
    now: OffsetDateTime,
) -> Result<Collection, SourceError> {
    if kind == SourceKind::Iam {
        return Ok(Collection {
            scope: iam_scope(vec![account.to_owned()]),
            items: iam::collect(sdk, now).await?,
        });
    }
    let regional = sdk
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    let refs: Vec<&str> = types.iter().map(String::as_str).collect();
    let items = ConfigSource::new(&regional).discovered(&refs).await?;
    Ok(Collection {
        scope: Scope {
            accounts: vec![account.to_owned()],
            regions: vec![region.to_owned()],
            resource_types: types.to_vec(),
        },
        items,
    })
}
