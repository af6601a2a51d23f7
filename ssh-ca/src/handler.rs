//! The request handler: a payload in, a [`Response`] out, never a panic. The
//! Lambda function and `ssh-ca sign` both go through [`Service::handle`].

use ssh_key::Certificate;
use ssh_key::certificate::CertType;
use ssh_key::rand_core::{OsRng, RngCore};

use aws_config::SdkConfig;

use crate::aws::{Iam, Kms};
use crate::ca::{CaKey, CaSet};
use crate::config::Config;
use crate::err::{ConfigError, Error, SignError};
use crate::kmsauth::Verifier;
use crate::model::{Request, Response};
use crate::policy::{Authorization, Policy, PrincipalRule, check_groups};
use crate::sign::{CertPlan, Issue, fingerprint, plan_host, plan_user};
use crate::store::{Issuance, Store};
use crate::validate::Validator;

/// Everything a signing request needs, built once (at Lambda start).
#[derive(Debug)]
pub struct Service<S> {
    /// Request validation.
    pub validator: Validator,
    /// The signing policy.
    pub policy: Policy,
    /// The CA keys.
    pub cas: CaSet,
    /// Where issuances are recorded.
    pub store: S,
    /// KMS, for a KMS CA key and kmsauth.
    pub kms: Option<Kms>,
    /// IAM, for the group-membership principal rule.
    pub iam: Option<Iam>,
    /// kmsauth verification; `None` means tokens are not required.
    pub kmsauth: Option<Verifier>,
}

/// Whether `config` needs an AWS configuration: a KMS CA key or passphrase,
/// kmsauth, or the IAM group rule.
pub fn needs_aws(config: &Config) -> bool {
    config
        .ca
        .keys
        .iter()
        .any(|k| k.kms_key_id.is_some() || !k.passphrase_ciphertext.is_empty())
        || config.kmsauth.is_some()
        || matches!(
            config.policy.user.principals,
            PrincipalRule::IamGroup { .. }
        )
}

impl<S: Store> Service<S> {
    /// Builds the service from a checked configuration. `key_texts[i]` is the
    /// content of `ca.keys[i].file` (the caller reads the files); `aws` is
    /// needed when [`needs_aws`] says so.
    pub async fn from_config(
        config: &Config,
        key_texts: &[Option<String>],
        aws: Option<&SdkConfig>,
        store: S,
    ) -> Result<Self, Error> {
        let kms = aws.map(Kms::new);
        let region = aws
            .and_then(|a| a.region())
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let mut keys = Vec::with_capacity(config.ca.keys.len());
        for (i, key) in config.ca.keys.iter().enumerate() {
            let text = key_texts.get(i).and_then(Option::as_deref);
            keys.push(CaKey::load(key, text, kms.as_ref(), &region).await?);
        }
        let kmsauth = match (&config.kmsauth, &kms) {
            (Some(auth), Some(kms)) => {
                let arn = kms.key_arn(&auth.key_id).await?;
                Some(Verifier::new(auth.clone(), arn))
            }
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    key: "kmsauth".into(),
                    reason: "kmsauth needs AWS and no AWS configuration was loaded".into(),
                }
                .into());
            }
            (None, _) => None,
        };
        Ok(Self {
            validator: Validator::new(config.validation.clone())?,
            policy: config.policy.clone(),
            cas: CaSet::new(keys)?,
            store,
            iam: aws.map(Iam::new),
            kms,
            kmsauth,
        })
    }

    /// Handles one payload at `now` (Unix seconds); `request_id` is recorded
    /// in the key id. Never fails: errors become [`Response::Failed`].
    pub async fn handle(&self, payload: serde_json::Value, request_id: &str, now: u64) -> Response {
        let result = match Request::from_value(payload) {
            Ok(request) => self.issue(&request, request_id, now).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(cert) => match cert.to_openssh() {
                Ok(certificate) => Response::Issued { certificate },
                Err(e) => failed(request_id, &Error::Sign(SignError::Certificate(e))),
            },
            Err(e) => failed(request_id, &e),
        }
    }

    /// Validates, authorizes, signs and records one request.
    pub async fn issue(
        &self,
        request: &Request,
        request_id: &str,
        now: u64,
    ) -> Result<Certificate, Error> {
        let ca = self.cas.signing().ok_or(SignError::NoSigningKey)?;
        let issue = Issue {
            request_id,
            now,
            serial: random_serial(),
            nonce: random_nonce(),
        };
        let (plan, requester) = match request {
            Request::User(user) => {
                let valid = self.validator.user(user)?;
                let authorization = self
                    .policy
                    .user
                    .authorize(&valid.requester, &valid.principals)?;
                if let Authorization::NeedsGroups(needed) = authorization {
                    let iam = self.iam.as_ref().ok_or_else(|| SignError::CaKey {
                        fingerprint: fingerprint(ca.public_key()),
                        reason: "the IAM group rule is configured but no IAM client was given"
                            .into(),
                    })?;
                    let groups = iam.groups_for_user(&valid.requester).await?;
                    check_groups(&valid.requester, &needed, &groups)?;
                }
                if let Some(verifier) = &self.kmsauth {
                    let kms = self.kms.as_ref().ok_or_else(|| SignError::CaKey {
                        fingerprint: fingerprint(ca.public_key()),
                        reason: "kmsauth is configured but no KMS client was given".into(),
                    })?;
                    let now = i64::try_from(now).unwrap_or(i64::MAX);
                    verifier
                        .verify(kms, user.kmsauth_token.as_ref(), &valid.requester, now)
                        .await?;
                }
                let plan = plan_user(&valid, &self.policy.user, ca.public_key(), &issue)?;
                (plan, valid.requester)
            }
            Request::Host(host) => {
                let valid = self.validator.host(host)?;
                self.policy.host.authorize(&valid.hostnames)?;
                let plan = plan_host(&valid, &self.policy.host, ca.public_key(), &issue);
                (plan, String::new())
            }
        };
        let cert = ca.sign(&plan, self.kms.as_ref()).await?;
        let record = issuance(&plan, &cert, requester, now)?;
        self.store.record(&record).await?;
        tracing::info!(
            serial = record.serial,
            key_id = %record.key_id,
            cert_type = %record.cert_type,
            principals = ?record.principals,
            valid_after = record.valid_after,
            valid_before = record.valid_before,
            requester = %record.requester,
            fingerprint = %record.fingerprint,
            "issued certificate"
        );
        Ok(cert)
    }
}

fn failed(request_id: &str, e: &Error) -> Response {
    let error_type = e.error_type();
    let message = e.to_string();
    tracing::warn!(request_id, ?error_type, %message, "refused request");
    Response::Failed {
        error_type,
        message,
    }
}

fn issuance(
    plan: &CertPlan,
    cert: &Certificate,
    requester: String,
    now: u64,
) -> Result<Issuance, Error> {
    let line = |key: &ssh_key::public::KeyData| {
        ssh_key::PublicKey::new(key.clone(), "")
            .to_openssh()
            .map_err(|e| Error::Sign(SignError::Certificate(e)))
    };
    Ok(Issuance {
        serial: plan.serial,
        key_id: plan.key_id.clone(),
        cert_type: match plan.cert_type {
            CertType::User => "user".into(),
            CertType::Host => "host".into(),
        },
        principals: plan.principals.clone(),
        valid_after: plan.valid_after,
        valid_before: plan.valid_before,
        requester,
        fingerprint: fingerprint(&plan.public_key),
        public_key: line(&plan.public_key)?,
        ca_key: line(cert.signature_key())?,
        issued_at: now,
    })
}

/// A random non-zero serial (a KRL cannot revoke serial 0).
pub fn random_serial() -> u64 {
    loop {
        let serial = OsRng.next_u64();
        if serial != 0 {
            return serial;
        }
    }
}

fn random_nonce() -> [u8; 16] {
    let mut nonce = [0; 16];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::CaKey;
    use crate::model::ErrorType;
    use crate::store::SqliteStore;
    use crate::validate::ValidationConfig;
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use ssh_key::{Algorithm, PrivateKey};

    const KEY: &str = include_str!("../testdata/user-ed25519.pub");

    fn service() -> Service<SqliteStore> {
        let ca = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        Service {
            validator: Validator::new(ValidationConfig::default()).unwrap(),
            policy: Policy::default(),
            cas: CaSet::new(vec![CaKey::Local(Box::new(ca))]).unwrap(),
            store: SqliteStore::in_memory().unwrap(),
            kms: None,
            iam: None,
            kmsauth: None,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn valid() -> Value {
        json!({
            "bastion_user": "alice",
            "bastion_user_ip": "10.0.0.1",
            "remote_usernames": ["alice"],
            "public_key_to_sign": KEY,
        })
    }

    #[test]
    fn issues_and_records_once() {
        let s = service();
        let rt = runtime();
        let Response::Issued { certificate } = rt.block_on(s.handle(valid(), "r", 1_700_000_000))
        else {
            panic!("expected a certificate")
        };
        let cert = Certificate::from_openssh(&certificate).unwrap();
        assert_ne!(cert.serial(), 0);
        let record = rt
            .block_on(s.store.by_serial(cert.serial()))
            .unwrap()
            .unwrap();
        assert_eq!(record.key_id, cert.key_id());
        assert_eq!(record.requester, "alice");
        assert_eq!(record.valid_before, 1_700_000_120);
        assert!(record.ca_key.starts_with("ssh-ed25519 "));
    }

    #[test]
    fn errors_carry_stable_types() {
        let s = service();
        let rt = runtime();
        let cases = [
            (json!([]), ErrorType::InputValidationError),
            (json!({"bastion_user": 1}), ErrorType::InputValidationError),
            (
                json!({"bastion_user": "alice", "bastion_user_ip": "10.0.0.1", "remote_usernames": ["root"], "public_key_to_sign": KEY}),
                ErrorType::AuthorizationError,
            ),
        ];
        for (payload, expected) in cases {
            let Response::Failed { error_type, .. } = rt.block_on(s.handle(payload, "r", 0)) else {
                panic!("expected a refusal")
            };
            assert_eq!(error_type, expected);
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
            Just(Value::String(KEY.to_owned())),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("bastion_user".to_owned()),
                        Just("bastion_user_ip".to_owned()),
                        Just("remote_usernames".to_owned()),
                        Just("public_key_to_sign".to_owned()),
                        Just("hostnames".to_owned()),
                        Just("bastion_ips".to_owned()),
                        Just("command".to_owned()),
                        Just("validity_seconds".to_owned()),
                        "[a-z_]{1,8}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_payload_gets_an_answer(payload in json_value(), now in any::<u64>()) {
            let s = service();
            let response = runtime().block_on(s.handle(payload, "r", now));
            let is_answer = matches!(response, Response::Issued { .. } | Response::Failed { .. });
            prop_assert!(is_answer);
        }

        #[test]
        fn any_field_value_gets_an_answer(field in prop_oneof![
            Just("bastion_user"), Just("bastion_user_ip"), Just("remote_usernames"),
            Just("public_key_to_sign"), Just("bastion_ips"), Just("command"), Just("validity_seconds")
        ], value in json_value(), now in any::<u64>()) {
            let s = service();
            let mut payload = valid();
            payload[field] = value;
            let _ = runtime().block_on(s.handle(payload, "r", now));
        }
    }
}
