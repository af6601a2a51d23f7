//! Resources judged mainly by their resource policy: KMS keys, SNS topics,
//! SQS queues and Lambda functions.

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::audit::checks::{self, ExposureChecks};
use crate::audit::{Findings, Run, exposure, shape};

/// The first policy found under `configuration` fields or `supplementary`
/// entries of these names (also nested in `Attributes`).
fn find_policy<'a>(found: &Findings<'a, '_>, names: &[&str]) -> Option<Cow<'a, Value>> {
    let item = found.item;
    let configuration = &item.configuration;
    names
        .iter()
        .find_map(|name| {
            shape::field(configuration, name)
                .or_else(|| shape::path(configuration, &["Attributes", name]))
                .filter(|v| !v.is_null())
                .map(Cow::Borrowed)
        })
        .or_else(|| {
            names
                .iter()
                .find_map(|name| shape::supplementary(item, name))
        })
}

/// Reports who the resource policy lets in.
fn judge_policy(
    run: &mut Run<'_>,
    found: &mut Findings<'_, '_>,
    names: &[&str],
    checks: &ExposureChecks,
    what: &str,
) {
    let Some(value) = find_policy(found, names) else {
        return;
    };
    let Some(policy) = exposure::parse(found, &value, what) else {
        return;
    };
    let analysis = exposure::exposure_of(run, found, &policy);
    exposure::report(run, found, &analysis, checks, what, None);
}

const KMS: ExposureChecks = ExposureChecks {
    internet: checks::KMS_PUBLIC_POLICY,
    unknown: checks::KMS_UNKNOWN,
    third_party: checks::KMS_THIRD_PARTY,
    friendly: checks::KMS_FRIENDLY,
};

/// `AWS::KMS::Key`: key policy, and rotation of symmetric customer managed keys.
pub(super) fn kms_key(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    judge_policy(run, found, &["Policy", "KeyPolicy"], &KMS, "the key policy");
    let item = found.item;
    let configuration = &item.configuration;
    let says = |name: &str, expected: &str| {
        shape::field(configuration, name)
            .and_then(shape::text)
            .is_none_or(|v| v == expected)
    };
    let symmetric = shape::any(configuration, &["keySpec", "customerMasterKeySpec"])
        .and_then(shape::text)
        .is_none_or(|v| v == "SYMMETRIC_DEFAULT");
    if !(says("keyManager", "CUSTOMER")
        && says("origin", "AWS_KMS")
        && says("keyState", "Enabled")
        && symmetric)
    {
        return;
    }
    let rotation = shape::field(configuration, "keyRotationEnabled")
        .and_then(shape::boolean)
        .or_else(|| {
            ["KeyRotationStatus", "keyRotationEnabled"]
                .iter()
                .find_map(|name| shape::supplementary(item, name))
                .and_then(|v| {
                    shape::boolean(&v)
                        .or_else(|| shape::field(&v, "keyRotationEnabled").and_then(shape::boolean))
                })
        });
    if rotation == Some(false) {
        found.report(
            &checks::KMS_ROTATION_OFF,
            String::new(),
            format!(
                "automatic rotation is off for key `{}`; turn it on (`aws kms enable-key-rotation`)",
                found.name()
            ),
            json!({"keyRotationEnabled": false}),
        );
    }
}

/// `AWS::SNS::Topic`: topic policy.
pub(super) fn sns_topic(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    const SNS: ExposureChecks = ExposureChecks {
        internet: checks::SNS_PUBLIC_POLICY,
        unknown: checks::SNS_UNKNOWN,
        third_party: checks::SNS_THIRD_PARTY,
        friendly: checks::SNS_FRIENDLY,
    };
    judge_policy(run, found, &["Policy"], &SNS, "the topic policy");
}

/// `AWS::SQS::Queue`: queue policy and encryption at rest.
pub(super) fn sqs_queue(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    const SQS: ExposureChecks = ExposureChecks {
        internet: checks::SQS_PUBLIC_POLICY,
        unknown: checks::SQS_UNKNOWN,
        third_party: checks::SQS_THIRD_PARTY,
        friendly: checks::SQS_FRIENDLY,
    };
    judge_policy(run, found, &["Policy"], &SQS, "the queue policy");
    let configuration = &found.item.configuration;
    let attribute = |name: &str| {
        shape::field(configuration, name)
            .or_else(|| shape::path(configuration, &["Attributes", name]))
    };
    let Some(object) = configuration.as_object() else {
        return;
    };
    if object.is_empty() {
        return;
    }
    let kms = attribute("KmsMasterKeyId").and_then(shape::text).is_some();
    let sse = attribute("SqsManagedSseEnabled").and_then(shape::boolean) == Some(true);
    if !kms && !sse {
        found.report(
            &checks::SQS_UNENCRYPTED,
            String::new(),
            format!(
                "queue `{}` has neither SSE-SQS nor a KMS key; set `SqsManagedSseEnabled` or `KmsMasterKeyId`",
                found.name()
            ),
            json!({"SqsManagedSseEnabled": attribute("SqsManagedSseEnabled"), "KmsMasterKeyId": attribute("KmsMasterKeyId")}),
        );
    }
}

/// `AWS::Lambda::Function`: resource policy and function URLs without auth.
pub(super) fn lambda_function(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    const LAMBDA: ExposureChecks = ExposureChecks {
        internet: checks::LAMBDA_PUBLIC_POLICY,
        unknown: checks::LAMBDA_UNKNOWN,
        third_party: checks::LAMBDA_THIRD_PARTY,
        friendly: checks::LAMBDA_FRIENDLY,
    };
    judge_policy(
        run,
        found,
        &["Policy", "ResourcePolicy"],
        &LAMBDA,
        "the function policy",
    );
    let item = found.item;
    let mut urls: Vec<Cow<'_, Value>> = Vec::new();
    for name in ["FunctionUrlConfig", "FunctionUrlConfigs", "UrlConfig"] {
        if let Some(value) = shape::field(&item.configuration, name) {
            urls.push(Cow::Borrowed(value));
        }
        urls.extend(shape::supplementary(item, name));
    }
    for value in urls {
        let configs: Vec<&Value> = match value.as_ref() {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for config in configs {
            if shape::field(config, "AuthType").and_then(shape::text) != Some("NONE") {
                continue;
            }
            let url = shape::field(config, "FunctionUrl")
                .and_then(shape::text)
                .unwrap_or("its URL");
            found.report(
                &checks::LAMBDA_PUBLIC_URL,
                shape::field(config, "Qualifier")
                    .and_then(shape::text)
                    .map_or_else(|| "url".to_owned(), |q| format!("url:{q}")),
                format!(
                    "function `{}` answers anyone at {url} (`AuthType` `NONE`); use `AWS_IAM` or check callers in the code",
                    found.name()
                ),
                json!({"functionUrlConfig": config}),
            );
        }
    }
}
