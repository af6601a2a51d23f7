//! The IAM policy language engine shared by every tool of the toolkit.
//!
//! # Overview
//! - [`Policy`] (module [`model`]): the whole JSON grammar, parsed with errors
//!   that name the JSON path, and written back in the shape it was read.
//! - [`arn`]: ARNs, parsed and formatted, and IAM's matching of ARN patterns.
//! - [`glob`]: IAM's `*`/`?` wildcard matching.
//! - [`variables`]: policy variables (`${aws:username}`) and their substitution.
//! - [`eval`]: evaluation of a request against identity, resource, boundary,
//!   SCP and session policies, answering Allow / ExplicitDeny / ImplicitDeny.
//! - [`account`]: an account's users, groups, roles and managed policies, read
//!   from a `GetAccountAuthorizationDetails` export.
//! - [`exposure`]: who a resource or trust policy lets in (internet, same
//!   account, friendly, third party, services), and what narrows it.
//! - [`catalogue`]: every AWS service, action, resource type and condition key.
//! - [`expand`]: action patterns (`s3:Get*`, `NotAction`) to exact sets of actions.
//! - [`minimize`]: sets of actions to the fewest wildcard patterns.
//! - [`diff`]: what two versions of a policy grant differently.
//! - [`lint`]: mistakes and risks in a policy, with stable finding codes.
//! - [`sarif`]: SARIF 2.1.0 output for findings.
#![forbid(unsafe_code)]

pub mod account;
pub mod arn;
pub mod catalogue;
pub mod diff;
pub mod eval;
pub mod expand;
pub mod exposure;
pub mod glob;
pub mod lint;
pub mod minimize;
pub mod model;
pub mod sarif;
pub mod variables;

pub use model::{Effect, OneOrMany, ParseError, Policy, Statement};
