//! `ssh-ca-sign` and `ssh-ca-sign-host`: the ssh-ca signer, one function for
//! engineers' user certificates and one for hosts' certificates, so each can
//! be invoked by its own principals.
//!
//! Environment:
//! - `SSH_CA_CONFIG`: the ssh-ca configuration as TOML text (see
//!   `ssh-ca/ca.example.toml`); every key can also be set or overridden by
//!   `SSH_CA__<TABLE>__<KEY>` variables, as for the `ssh-ca` command.
//!
//! The answer is ssh-ca's own response (`{"certificate": ..}` or
//! `{"error_type": .., "message": ..}`, what `ssh-ca request` reads); an
//! event that is not a request object of the function's kind is a Lambda
//! error (`InvalidEvent`).

use ssh_ca::config::{Config, ENV_PREFIX};
use ssh_ca::handler::{Service, needs_aws};
use ssh_ca::model::Response;
use ssh_ca::store::AnyStore;

use crate::boot::{Handler, Invocation};
use crate::env::Env;
use crate::err::{HandlerError, InitError};

/// The variable holding the configuration's TOML text.
pub const CONFIG_VAR: &str = "SSH_CA_CONFIG";

/// Which certificates a function signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// User certificates (requests without `hostnames`).
    User,
    /// Host certificates (requests with `hostnames`).
    Host,
}

/// The signer, built once per instance.
#[derive(Debug)]
pub struct Signer {
    service: Service<AnyStore>,
    kind: Kind,
}

/// The ssh-ca configuration from `SSH_CA_CONFIG` and `SSH_CA__` overrides.
pub fn config(env: &Env) -> Result<Config, InitError> {
    let text = env.optional(CONFIG_VAR).unwrap_or_default();
    Config::load(text, env.with_prefix(ENV_PREFIX)).map_err(|e| InitError::Invalid {
        name: format!("{CONFIG_VAR} (or an {ENV_PREFIX}* override)"),
        reason: crate::err::chain(&e),
    })
}

impl Signer {
    /// Builds the signer: the configuration, the CA key files it names (in
    /// the deployment package), AWS when the configuration needs it, the store.
    pub async fn init(env: Env, kind: Kind) -> Result<Self, InitError> {
        let config = config(&env)?;
        let mut texts = Vec::with_capacity(config.ca.keys.len());
        for (i, key) in config.ca.keys.iter().enumerate() {
            texts.push(match &key.file {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| InitError::Invalid {
                    name: format!("{CONFIG_VAR} (ca.keys[{i}].file)"),
                    reason: format!(
                        "cannot read `{}`: {e}; ship the key in the deployment package or use `kms_key_id`",
                        path.display()
                    ),
                })?),
                None => None,
            });
        }
        let aws = if needs_aws(&config) || config.store.dynamodb_table.is_some() {
            Some(crate::aws::sdk_config().await)
        } else {
            None
        };
        let store = AnyStore::open(&config.store, aws.as_ref())
            .map_err(|e| InitError::setup("the ssh-ca store", &e))?;
        let service = Service::from_config(&config, &texts, aws.as_ref(), store)
            .await
            .map_err(|e| InitError::setup("the ssh-ca signer", &e))?;
        Ok(Self { service, kind })
    }
}

impl Handler for Signer {
    type Event = serde_json::Value;
    type Response = Response;

    async fn handle(
        &self,
        event: serde_json::Value,
        invocation: &Invocation,
    ) -> Result<Response, HandlerError> {
        let Some(object) = event.as_object() else {
            return Err(HandlerError::invalid_event(
                "the event is not a JSON object; send a signing request object",
            ));
        };
        match (self.kind, object.contains_key("hostnames")) {
            (Kind::User, true) => {
                return Err(HandlerError::invalid_event(
                    "this function signs user certificates and the request has `hostnames`; send host requests to the host signer",
                ));
            }
            (Kind::Host, false) => {
                return Err(HandlerError::invalid_event(
                    "this function signs host certificates and the request has no `hostnames`; send user requests to the user signer",
                ));
            }
            _ => {}
        }
        let now = u64::try_from(invocation.now.unix_timestamp()).unwrap_or_default();
        Ok(self
            .service
            .handle(event, &invocation.request_id, now)
            .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn configuration_errors_name_the_variable() {
        let err = config(&env(&[])).unwrap_err().to_string();
        assert!(err.contains("SSH_CA_CONFIG"), "{err}");
        let err = config(&env(&[
            (
                CONFIG_VAR,
                "[[ca.keys]]\nkms_key_id = \"k\"\n[store]\nsqlite = \"/tmp/x.db\"\n",
            ),
            ("SSH_CA__POLICY__USER__VALIDITY_AFTER_SECONDS", "99999"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("validity_after_seconds"), "{err}");
    }

    #[test]
    fn overrides_apply_to_the_text() {
        let config = config(&env(&[
            (CONFIG_VAR, "[[ca.keys]]\nkms_key_id = \"k\"\n"),
            ("SSH_CA__STORE__SQLITE", "/tmp/ssh-ca.db"),
        ]))
        .unwrap();
        assert_eq!(config.ca.keys[0].kms_key_id.as_deref(), Some("k"));
    }
}
