//! A certificate authority and inventory for TLS certificates, with AWS ACM as
//! destination and source.
//!
//! # Overview
//!
//! - [`ca`]: `certs ca init` makes a root and an intermediate (optionally name
//!   constrained); [`ca::Authority`] is the issuing CA with a file key or a
//!   remote key ([`ca::RemoteKey`], used with KMS).
//! - [`profile`]: TOML profiles decide key types, validity, names, usages.
//! - [`csr`]: signing requests, PEM or DER, signature verified.
//! - [`issue`]: a [`issue::Request`] checked against a profile becomes a signed
//!   certificate and an inventory record; nothing but the key and the names is
//!   taken from a CSR.
//! - [`crl`]: signed CRLs with increasing numbers.
//! - [`store`]: the inventory ([`store::Store`], an async trait): SQLite
//!   ([`store::SqliteStore`]) by default, DynamoDB ([`store::DynamoStore`],
//!   table layout in [`store::dynamo`]) in Lambda.
//! - [`expiry`]: which certificates to notify about or rotate, when.
//! - [`aws`]: the AWS services the CA works with (ACM, ACM Private CA, KMS,
//!   SNS); the only other SDK caller is the DynamoDB inventory.
//! - [`ops`]: the operations the CLI and the Lambda handlers share, over an
//!   [`ops::Context`] (inventory, profiles, URLs, time, optional ACM and SNS).
//! - [`lambda`]: Lambda handlers as plain async functions over serde types.
//!
//! The pure parts (`profile`, `csr`, `issue`, `crl`, `expiry`) take time and
//! randomness as arguments and do no I/O.
#![forbid(unsafe_code)]

pub mod aws;
pub mod ca;
pub mod crl;
pub mod csr;
pub mod expiry;
pub mod issue;
pub mod lambda;
pub mod model;
pub mod ops;
pub mod profile;
pub mod store;
