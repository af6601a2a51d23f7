//! Everything that turns AWS data into [`ConfigItem`](crate::model::ConfigItem)s.
//!
//! - [`item`]: one configuration item from any shape AWS writes it in (Config
//!   API, snapshot file, notification, `SelectResourceConfig` row);
//!   `configuration` as a JSON string or an object.
//! - [`snapshot`]: Config snapshot and history files (plain or gzipped),
//!   streamed item by item in bounded memory; [`read_dir`] for a directory of
//!   them (`monitor collect --from DIR`).
//! - [`notification`]: Config change notifications (normal, oversized,
//!   scheduled, deliveries) and the Config rule Lambda event; oversized items
//!   are fetched through [`notification::FetchItem`].
//! - [`s3`]: snapshot files streamed from S3 and oversized items fetched from
//!   S3.
//! - [`config_api`]: the AWS Config API (discovered resources, advanced
//!   queries, aggregators, history).
//! - [`iam`]: direct IAM collection (`GetAccountAuthorizationDetails`) for
//!   accounts without Config, shaped like Config's IAM items.
//! - [`accounts`]: many accounts through an assumed role each, concurrently
//!   with a bound.
//!
//! Readers take the caller's item handler as a callback and stop at the
//! first error it returns (wrap it with [`SourceError::handler`]):
//!
//! ```
//! use monitor::source;
//!
//! let file = br#"{"fileVersion": "1.0", "configurationItems": [{
//!     "awsAccountId": "111122223333", "awsRegion": "us-east-1",
//!     "resourceType": "AWS::S3::Bucket", "resourceId": "logs",
//!     "configuration": "{\"name\": \"logs\"}"}]}"#;
//! let mut keys = Vec::new();
//! let summary = source::snapshot::read(&file[..], |item| {
//!     keys.push(item.key.to_string());
//!     Ok(())
//! })?;
//! assert_eq!(summary.items, Some(1));
//! assert_eq!(keys, ["111122223333/us-east-1/AWS::S3::Bucket/logs"]);
//! # Ok::<(), source::SourceError>(())
//! ```

pub mod accounts;
pub mod config_api;
mod err;
pub mod iam;
pub mod item;
pub mod notification;
pub mod s3;
pub mod snapshot;

pub use err::SourceError;
pub use snapshot::read_dir;
