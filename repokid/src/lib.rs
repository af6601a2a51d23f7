//! Right-size IAM roles: take away the permissions a role has not used.
//!
//! # Overview
//! - [`model`]: the records: [`RoleRecord`] (from
//!   `GetAccountAuthorizationDetails`), [`AccessRecord`],
//!   [`PolicyVersionRecord`], [`RolePlan`], schedule entries and stats.
//! - [`access`]: access history behind [`AccessProvider`]: Aardvark export
//!   import, CloudTrail log files (a directory here, S3 in [`aws`]),
//!   Access Advisor responses; merged latest-use-wins in [`AccessHistory`].
//! - [`filter`]: the roles and permissions a plan leaves alone, each with
//!   its reason.
//! - [`plan`]: the pure core. [`Planner::plan_role`] rewrites a role's
//!   inline policies to what it used, with `now` as an argument.
//! - [`store`]: [`Store`] (async, object-safe), kept in SQLite by
//!   [`SqliteStore`] or in one DynamoDB table by [`DynamoStore`]: roles,
//!   every policy version, access data, plans, schedule, leases, stats
//!   series.
//! - [`apply`]: `repo` (apply a plan to IAM, saving the current inline
//!   policies first and restoring them if a call fails), `rollback` and
//!   `remove`, over the [`Iam`] trait, each holding the role's lease.
//! - [`schedule`]: repo after N days, notices before ([`schedule::Notifier`]).
//! - [`aws`]: the only AWS SDK caller: [`Iam`] for IAM, inventory over
//!   many accounts (STS), Access Advisor jobs, CloudTrail from S3, SNS.
//! - [`config`]: the TOML configuration with environment overrides.
//! - [`stats`]: per-account totals over time.
//! - [`lambda`]: the Lambda handlers, plain async functions over JSON.
#![forbid(unsafe_code)]

pub mod access;
pub mod apply;
pub mod aws;
pub mod config;
pub mod err;
pub mod filter;
pub mod lambda;
pub mod model;
pub mod plan;
pub mod schedule;
pub mod stats;
pub mod store;

pub use access::{AccessHistory, AccessProvider, RoleAccess};
pub use apply::{ApplyReport, Iam};
pub use err::{AccessError, ApplyError, AwsError, ConfigError, IamError, StoreError};
pub use model::{AccessRecord, InlineVersion, PolicyVersionRecord, RolePlan, RoleRecord};
pub use plan::{PlanConfig, Planner, RoleInput};
pub use store::{DynamoStore, SqliteStore, Store};
