//! Lambda handlers as plain async functions over serde types; the `lambdas`
//! crate wraps them in the runtime. Clients and configuration are built once
//! by the caller and passed in as [`Deps`]; time comes in as `now`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::acm::Acm;
use crate::aws::sns::Notifier;
use crate::csr::parse_csr;
use crate::issue::{KeySource, Request, Urls};
use crate::model::KeyType;
use crate::ops::{self, Ca, Context, Error, ScheduleConfig, ScheduleReport};
use crate::profile::{Profiles, parse_duration};
use crate::store::Store;

/// What the handlers need, built once per Lambda instance.
pub struct Deps {
    /// The issuing CA.
    pub ca: Ca,
    /// The inventory: a [`crate::store::DynamoStore`] in Lambda (any
    /// [`Store`] works, such as SQLite in tests).
    pub store: Box<dyn Store>,
    /// Issuance profiles.
    pub profiles: Profiles,
    /// URLs written into certificates.
    pub urls: Urls,
    /// ACM, for reimport on rotation.
    pub acm: Option<Acm>,
    /// SNS, for notices.
    pub notifier: Option<Notifier>,
    /// Notice intervals.
    pub schedule: ScheduleConfig,
}

impl Deps {
    /// The operations' context at `now`.
    fn context(&self, now: OffsetDateTime) -> Context<'_> {
        Context {
            acm: self.acm.as_ref(),
            notifier: self.notifier.as_ref(),
            ..Context::new(self.store.as_ref(), &self.profiles, &self.urls, now)
        }
    }
}

/// An issuance request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueEvent {
    /// Profile name.
    pub profile: String,
    /// A PEM CSR; without it a key is generated and returned.
    #[serde(default)]
    pub csr: Option<String>,
    /// DNS names (override the CSR's).
    #[serde(default)]
    pub dns: Vec<String>,
    /// IP SANs (override the CSR's).
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    /// Key type to generate when there is no CSR.
    #[serde(default)]
    pub key_type: Option<KeyType>,
    /// Validity such as `90d` or `12h`.
    #[serde(default)]
    pub validity: Option<String>,
    /// Owner to record.
    #[serde(default)]
    pub owner: Option<String>,
}

/// The answer to an [`IssueEvent`].
#[derive(Clone, Debug, Serialize)]
pub struct IssueResponse {
    /// Serial, hex.
    pub serial: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// The chain (issuing CA, root), PEM.
    pub chain: String,
    /// The generated private key, PEM, when no CSR was given.
    pub private_key: Option<String>,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// A handler failure with a stable `error_type` for callers and retries.
#[derive(Debug, thiserror::Error, Serialize)]
#[error("{error_type}: {message}")]
pub struct HandlerError {
    /// `Refused` (a profile rule), `BadRequest` (malformed input),
    /// `Retryable` (AWS or storage trouble), or `Internal`.
    pub error_type: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        let error_type = match &e {
            Error::Issue(crate::issue::IssueError::Refused(_)) => "Refused",
            Error::Issue(_) | Error::Csr(_) | Error::Profile(_) => "BadRequest",
            Error::Aws(_) | Error::Store(_) => "Retryable",
            _ => "Internal",
        };
        Self {
            error_type,
            message: e.to_string(),
        }
    }
}

fn bad_request(message: String) -> HandlerError {
    HandlerError {
        error_type: "BadRequest",
        message,
    }
}

/// Issues a certificate on request.
pub async fn handle_issue(
    deps: &Deps,
    event: IssueEvent,
    now: OffsetDateTime,
) -> Result<IssueResponse, HandlerError> {
    let validity = match &event.validity {
        Some(v) => Some(parse_duration(v).ok_or_else(|| {
            bad_request(format!(
                "`validity` is `{v}`; write a duration such as `90d` or `12h`"
            ))
        })?),
        None => None,
    };
    let key = match &event.csr {
        Some(pem) => KeySource::Csr(Box::new(parse_csr(pem.as_bytes()).map_err(Error::from)?)),
        None => KeySource::Generate(event.key_type),
    };
    let request = Request {
        dns: event.dns,
        ips: event.ips,
        key,
        validity,
        owner: event.owner,
    };
    let issued = ops::issue(
        &deps.context(now),
        &deps.ca,
        &event.profile,
        request,
        &mut rand::rngs::OsRng,
    )
    .await?;
    Ok(IssueResponse {
        serial: issued.record.serial.clone(),
        certificate: issued.record.pem.clone(),
        chain: deps.ca.chain_pem().to_owned(),
        private_key: issued.key_pem.map(|k| k.expose().to_owned()),
        not_after: issued.record.not_after,
    })
}

/// The scheduled expiry and rotation job (EventBridge); the event's content is not used.
pub async fn handle_schedule(
    deps: &Deps,
    now: OffsetDateTime,
) -> Result<ScheduleReport, HandlerError> {
    Ok(ops::run_schedule(
        &deps.context(now),
        &deps.ca,
        &deps.schedule,
        &mut rand::rngs::OsRng,
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{Authority, CaOptions, init_ca, key_from_pem};
    use crate::store::SqliteStore;

    fn deps(now: OffsetDateTime) -> Deps {
        let files = init_ca(&CaOptions::new("Lambda"), None, now, &mut rand::rngs::OsRng).unwrap();
        let key = key_from_pem(files.intermediate_key_pem.unwrap().expose()).unwrap();
        let authority =
            Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap();
        Deps {
            ca: Ca::File(authority),
            store: Box::new(SqliteStore::in_memory().unwrap()),
            profiles: Profiles::from_toml(
                "[profiles.server]\nmax_validity = \"30d\"\ndomains = [\"*.example.com\"]\n",
            )
            .unwrap(),
            urls: Urls::default(),
            acm: None,
            notifier: None,
            schedule: ScheduleConfig::default(),
        }
    }

    #[tokio::test]
    async fn issue_event_round_trip_and_error_types() {
        // Whole seconds, as X.509 times are.
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let deps = deps(now);
        let event: IssueEvent = serde_json::from_str(
            r#"{"profile": "server", "dns": ["api.example.com"], "key_type": "p384", "validity": "7d"}"#,
        )
        .unwrap();
        let answer = handle_issue(&deps, event, now).await.unwrap();
        assert!(answer.private_key.is_some());
        assert_eq!(
            answer.not_after,
            now - crate::issue::BACKDATE + time::Duration::days(7)
        );
        let stored = deps.store.get(&answer.serial).await.unwrap().unwrap();
        assert_eq!(stored.key_type, KeyType::P384);
        let json = serde_json::to_value(&answer).unwrap();
        assert!(
            json["certificate"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );

        let refused: IssueEvent =
            serde_json::from_str(r#"{"profile": "server", "dns": ["api.evil.org"]}"#).unwrap();
        let err = handle_issue(&deps, refused, now).await.unwrap_err();
        assert_eq!(err.error_type, "Refused");
        let bad: IssueEvent =
            serde_json::from_str(r#"{"profile": "server", "csr": "not a csr"}"#).unwrap();
        assert_eq!(
            handle_issue(&deps, bad, now).await.unwrap_err().error_type,
            "BadRequest"
        );
        assert!(serde_json::from_str::<IssueEvent>(r#"{"profile": "x", "extra": 1}"#).is_err());

        // The schedule without SNS reports what it would send.
        let report = handle_schedule(&deps, now + time::Duration::days(6))
            .await
            .unwrap();
        assert_eq!(report.notices.len(), 1);
    }
}
