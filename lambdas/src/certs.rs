//! `certs-issue` (a certificate on request) and `certs-expiry` (the
//! scheduled expiry notices and rotation): the certs CA with its issuing key
//! in KMS and its inventory in DynamoDB.
//!
//! Environment (both functions):
//! - `CERTS_TABLE`: the DynamoDB inventory table.
//! - `CERTS_KMS_KEY_ID`: the issuing CA's KMS key (ECC_NIST_P256/P384, SIGN_VERIFY).
//! - `CERTS_ISSUING_CERT`, `CERTS_ROOT_CERT`: the issuing and root CA
//!   certificates, PEM (from `certs ca init --kms-key-id`).
//! - `CERTS_PROFILES`: the profiles, TOML text (see `certs/profiles.example.toml`).
//! - `CERTS_CRL_URLS` (comma-separated), `CERTS_CA_ISSUERS_URL`,
//!   `CERTS_OCSP_URL`: URLs written into certificates (optional).
//!
//! `certs-expiry` also reads `CERTS_SNS_TOPIC_ARN` (notices; without it the
//! run only reports them) and `CERTS_NOTIFY_DAYS` (e.g. `30,15,2`).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use certs::aws::acm::Acm;
use certs::aws::kms::KmsSigner;
use certs::aws::sns::Notifier;
use certs::issue::Urls;
use certs::lambda::{Deps, IssueEvent, IssueResponse, handle_issue, handle_schedule};
use certs::ops::{Ca, ScheduleConfig, ScheduleReport};
use certs::profile::Profiles;
use certs::store::DynamoStore;

use crate::boot::{Handler, Invocation};
use crate::env::Env;
use crate::err::{HandlerError, InitError};

/// Which certs function this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `certs-issue`.
    Issue,
    /// `certs-expiry`.
    Expiry,
}

/// Builds the handlers' dependencies from the environment.
pub async fn deps(env: &Env, job: Job) -> Result<Deps, InitError> {
    let table = env.required("CERTS_TABLE", "the DynamoDB inventory table name")?;
    let key_id = env.required(
        "CERTS_KMS_KEY_ID",
        "the issuing CA's KMS key id, ARN or alias",
    )?;
    let issuing = env.required(
        "CERTS_ISSUING_CERT",
        "the issuing CA certificate, PEM (`pki/issuing.pem` of `certs ca init --kms-key-id`)",
    )?;
    let root = env.required(
        "CERTS_ROOT_CERT",
        "the root CA certificate, PEM (`pki/root.pem`)",
    )?;
    let profiles_text = env.required(
        "CERTS_PROFILES",
        "the issuance profiles as TOML text (see certs/profiles.example.toml)",
    )?;
    let profiles = Profiles::from_toml(profiles_text).map_err(|e| InitError::Invalid {
        name: "CERTS_PROFILES".into(),
        reason: crate::err::chain(&e),
    })?;
    let urls = Urls {
        crl: env.list("CERTS_CRL_URLS"),
        ca_issuers: env.optional("CERTS_CA_ISSUERS_URL").map(str::to_owned),
        ocsp: env.optional("CERTS_OCSP_URL").map(str::to_owned),
    };
    let schedule = match env.numbers("CERTS_NOTIFY_DAYS", "days")? {
        Some(intervals) => ScheduleConfig { intervals },
        None => ScheduleConfig::default(),
    };
    let aws = crate::aws::sdk_config().await;
    let kms = KmsSigner::new(aws_sdk_kms::Client::new(&aws), key_id.to_owned());
    let ca = Ca::kms(issuing, root, kms).await.map_err(|e| {
        InitError::setup(
            "the certs CA (CERTS_KMS_KEY_ID, CERTS_ISSUING_CERT, CERTS_ROOT_CERT)",
            &e,
        )
    })?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table.to_owned());
    let (acm, notifier) = match job {
        Job::Issue => (None, None),
        Job::Expiry => (
            Some(Acm::new(aws_sdk_acm::Client::new(&aws))),
            env.optional("CERTS_SNS_TOPIC_ARN")
                .map(|arn| Notifier::new(aws_sdk_sns::Client::new(&aws), arn.to_owned())),
        ),
    };
    Ok(Deps {
        ca,
        store: Box::new(store),
        profiles,
        urls,
        acm,
        notifier,
        schedule,
    })
}

fn handler_error(e: certs::lambda::HandlerError) -> HandlerError {
    HandlerError {
        error_type: e.error_type.to_owned(),
        message: e.message,
    }
}

/// `certs-issue`: an [`IssueEvent`] in, an [`IssueResponse`] out.
pub struct IssueFunction(pub Deps);

impl Handler for IssueFunction {
    type Event = IssueEvent;
    type Response = IssueResponse;

    async fn handle(
        &self,
        event: IssueEvent,
        invocation: &Invocation,
    ) -> Result<IssueResponse, HandlerError> {
        handle_issue(&self.0, event, invocation.now)
            .await
            .map_err(handler_error)
    }
}

/// `certs-expiry`: an EventBridge (scheduled) event in, the run's report out.
pub struct ExpiryFunction(pub Deps);

impl Handler for ExpiryFunction {
    type Event = EventBridgeEvent<serde_json::Value>;
    type Response = ScheduleReport;

    async fn handle(
        &self,
        event: EventBridgeEvent<serde_json::Value>,
        invocation: &Invocation,
    ) -> Result<ScheduleReport, HandlerError> {
        tracing::info!(source = %event.source, detail_type = %event.detail_type, "expiry run");
        let report = handle_schedule(&self.0, invocation.now)
            .await
            .map_err(handler_error)?;
        for error in &report.errors {
            tracing::warn!(%error, "expiry run: one certificate failed");
        }
        Ok(report)
    }
}
