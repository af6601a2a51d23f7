//! Right-size IAM roles: take away the permissions a role has not used.
//!
//! # Overview
//! - [`model`]: the records: [`RoleRecord`] (from a
//!   `GetAccountAuthorizationDetails` export), [`AccessRecord`],
//!   [`PolicyVersionRecord`], [`RolePlan`].
//! - [`access`]: access history behind [`AccessProvider`]: Aardvark export
//!   import, CloudTrail log files from a directory, Access Advisor responses
//!   (parsed; the API call is not made here); merged latest-use-wins in
//!   [`AccessHistory`].
//! - [`filter`]: the roles and permissions a plan leaves alone, each with
//!   its reason.
//! - [`plan`]: the pure core. [`Planner::plan_role`] rewrites a role's
//!   inline policies to what it used, with `now` as an argument.
//! - [`store`]: [`Store`], kept in SQLite by [`SqliteStore`]: roles, every
//!   policy version, access data, plans.
//! - [`apply`]: `repo` (apply a plan to IAM, saving the current inline
//!   policies first and restoring them if a call fails) and `rollback`, over
//!   the [`Iam`] trait; [`aws`] implements it with the AWS SDK.
//!
//! Not built yet: `remove`, scheduling,
//! notifications, DynamoDB, the Access Advisor API calls and CloudTrail
//! from S3 (see the crate README).
#![forbid(unsafe_code)]

pub mod access;
pub mod apply;
pub mod aws;
pub mod err;
pub mod filter;
pub mod model;
pub mod plan;
pub mod store;

pub use access::{AccessHistory, AccessProvider, RoleAccess};
pub use apply::{ApplyReport, Iam};
pub use err::{AccessError, ApplyError, IamError, StoreError};
pub use model::{AccessRecord, InlineVersion, PolicyVersionRecord, RolePlan, RoleRecord};
pub use plan::{PlanConfig, Planner, RoleInput};
pub use store::{SqliteStore, Store};
