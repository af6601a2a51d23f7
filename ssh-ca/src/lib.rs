//! Sign short-lived SSH certificates for engineers and hosts, and revoke them
//! with an OpenSSH key revocation list (KRL).
//!
//! # Overview
//!
//! A request ([`model::Request`], JSON, the same for the Lambda payload and
//! the CLI) goes through these steps, each in its own module:
//!
//! 1. [`validate`]: the pure first check; every field parsed (addresses,
//!    networks, the public key) and every failure naming its field.
//! 2. [`policy`]: lifetimes, which principals a requester may have (its own
//!    name, an allow-list, or IAM group membership), extensions.
//! 3. [`kmsauth`]: the requester's KMS-encrypted token, bound to it and to
//!    this service, checked for its validity window.
//! 4. [`sign`]: a [`sign::CertPlan`] with every certificate field, signed in
//!    one step by a local key or in two around KMS ([`ca::CaKey`]).
//! 5. [`store`]: one issuance record per certificate (SQLite, or
//!    [`dynamo`] in Lambda); revocations there become a [`krl::Krl`].
//!
//! [`handler::Service::handle`] runs them all: a payload in, a
//! [`model::Response`] out, never a panic. Time comes in as an argument;
//! [`aws`] is the only module calling AWS besides the DynamoDB store.
//!
//! ```
//! use ssh_ca::policy::UserPolicy;
//! use ssh_ca::sign::{Issue, plan_user};
//! use ssh_ca::validate::{ValidationConfig, Validator};
//! use ssh_ca::model::UserRequest;
//! use ssh_key::{Algorithm, PrivateKey, rand_core::OsRng};
//!
//! let ca = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)?;
//! let request = UserRequest {
//!     bastion_user: "alice".into(),
//!     bastion_user_ip: "10.0.0.1".into(),
//!     remote_usernames: vec!["alice".into()],
//!     public_key_to_sign: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMSp/4KZBly9yuy0Gjd5yar7YqFIpHgMue3yK2I+9cQ1".into(),
//!     bastion_ips: None,
//!     command: None,
//!     kmsauth_token: None,
//!     validity_seconds: None,
//! };
//! let valid = Validator::new(ValidationConfig::default())?.user(&request)?;
//! let issue = Issue { request_id: "doc", now: 1_700_000_000, serial: 1, nonce: [0; 16] };
//! let cert = plan_user(&valid, &UserPolicy::default(), ca.public_key().key_data(), &issue)?
//!     .sign(&ca)?;
//! assert_eq!(cert.valid_before(), 1_700_000_120);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod aws;
pub mod ca;
pub mod config;
pub mod dynamo;
pub mod err;
pub mod handler;
pub mod kmsauth;
pub mod krl;
pub mod model;
pub mod policy;
pub mod sign;
pub mod store;
pub mod validate;

/// Entry points for `cargo fuzz` (see `fuzz/`); not a stable API.
#[doc(hidden)]
pub mod fuzz {
    use crate::model::Request;
    use crate::validate::{ValidationConfig, Validator, parse_public_key};

    /// Parses `data` as a request and validates it; any outcome but a panic
    /// is fine. A public key that parses must survive a round trip.
    pub fn request(data: &[u8]) {
        if let Ok(text) = std::str::from_utf8(data) {
            public_key(text);
        }
        let Ok(request) = Request::from_json(data) else {
            return;
        };
        let Ok(validator) = Validator::new(ValidationConfig::default()) else {
            return;
        };
        match &request {
            Request::User(user) => drop(validator.user(user)),
            Request::Host(host) => drop(validator.host(host)),
        }
    }

    /// Parses one public key line; an accepted key re-encodes to itself.
    pub fn public_key(line: &str) {
        if let Ok(key) = parse_public_key(line) {
            let again = ssh_key::PublicKey::from(key.clone())
                .to_openssh()
                .ok()
                .and_then(|l| parse_public_key(&l).ok());
            assert_eq!(again.as_ref(), Some(&key), "round trip of {line:?}");
        }
    }
}
