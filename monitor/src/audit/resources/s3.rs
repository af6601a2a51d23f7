//! `AWS::S3::Bucket`: bucket policy, ACL, Block Public Access, default
//! encryption and server access logging, from the item's supplementary
//! configuration (`BucketPolicy.policyText`, `AccessControlList`,
//! `PublicAccessBlockConfiguration`, `ServerSideEncryptionConfiguration`,
//! `BucketLoggingConfiguration`) and the account's
//! `AWS::S3::AccountPublicAccessBlock` item when the run has one.

use serde_json::{Value, json};

use crate::audit::checks::{self, ExposureChecks};
use crate::audit::{Findings, Run, exposure, shape};

const S3: ExposureChecks = ExposureChecks {
    internet: checks::S3_PUBLIC_POLICY,
    unknown: checks::S3_UNKNOWN,
    third_party: checks::S3_THIRD_PARTY,
    friendly: checks::S3_FRIENDLY,
};

const BLOCK_SETTINGS: [&str; 4] = [
    "blockPublicAcls",
    "ignorePublicAcls",
    "blockPublicPolicy",
    "restrictPublicBuckets",
];

pub(super) fn bucket(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let bucket_block = shape::supplementary(item, "PublicAccessBlockConfiguration");
    let account_block = run
        .index
        .singleton(&item.key.account, "AWS::S3::AccountPublicAccessBlock")
        .map(|a| &a.configuration);
    let on = |setting: &str| {
        let set_in = |v: Option<&Value>| {
            v.and_then(|v| shape::field(v, setting))
                .and_then(shape::boolean)
                == Some(true)
        };
        set_in(bucket_block.as_deref()) || set_in(account_block)
    };

    if let Some(value) = shape::supplementary(item, "BucketPolicy") {
        let text = shape::field(&value, "policyText").unwrap_or(&value);
        if let Some(policy) = exposure::parse(found, text, "bucket policy") {
            let analysis = exposure::exposure_of(run, found, &policy);
            let blocked = on("restrictPublicBuckets")
                .then_some("Block Public Access `RestrictPublicBuckets` is on");
            exposure::report(run, found, &analysis, &S3, "the bucket policy", blocked);
        }
    }

    if !on("ignorePublicAcls")
        && let Some(acl) = shape::supplementary(item, "AccessControlList")
    {
        public_grants(found, &acl);
    }

    if !BLOCK_SETTINGS.iter().all(|s| on(s)) {
        let off: Vec<&str> = BLOCK_SETTINGS.iter().copied().filter(|s| !on(s)).collect();
        found.report(
            &checks::S3_NO_PUBLIC_ACCESS_BLOCK,
            String::new(),
            format!(
                "bucket `{}` is not covered by all four Block Public Access settings ({} off in the bucket and its account); turn them on unless the bucket must be public",
                found.name(),
                off.join(", ")
            ),
            json!({"off": off}),
        );
    }

    match shape::supplementary(item, "ServerSideEncryptionConfiguration") {
        Some(encryption) if shape::items(shape::field(&encryption, "rules")).is_empty() => {
            report_unencrypted(found);
        }
        Some(_) => {}
        // Config leaves the entry out when there is no default encryption;
        // a source that gives no supplementary configuration at all says nothing.
        None if !item.supplementary.is_empty() => report_unencrypted(found),
        None => {}
    }

    if let Some(logging) = shape::supplementary(item, "BucketLoggingConfiguration")
        && shape::field(&logging, "destinationBucketName")
            .and_then(shape::text)
            .is_none()
    {
        found.report(
            &checks::S3_LOGGING_OFF,
            String::new(),
            format!(
                "server access logging is off for bucket `{}`; send its logs to a log bucket",
                found.name()
            ),
            Value::Null,
        );
    }
}

fn report_unencrypted(found: &mut Findings<'_, '_>) {
    found.report(
        &checks::S3_UNENCRYPTED,
        String::new(),
        format!(
            "bucket `{}` has no default encryption; set SSE-S3 or SSE-KMS as its default",
            found.name()
        ),
        Value::Null,
    );
}

/// Grants of the ACL to `AllUsers` or `AuthenticatedUsers`, whether the
/// grantee is written as Config does (`"AllUsers"`) or as S3 does (a group
/// URI ending in `/AllUsers`).
fn public_grants(found: &mut Findings<'_, '_>, acl: &Value) {
    let grants = shape::field(acl, "grantList").or_else(|| shape::field(acl, "grants"));
    for grant in shape::items(grants) {
        let Some(grantee) = shape::field(grant, "grantee") else {
            continue;
        };
        let name = shape::text(grantee)
            .or_else(|| {
                shape::any(grantee, &["uri", "URI", "identifier", "id"]).and_then(shape::text)
            })
            .unwrap_or_default();
        let group = ["AllUsers", "AuthenticatedUsers"]
            .into_iter()
            .find(|g| name == *g || name.ends_with(&format!("/{g}")));
        let Some(group) = group else {
            continue;
        };
        let permission = shape::field(grant, "permission")
            .and_then(shape::text)
            .unwrap_or("unknown");
        let who = if group == "AllUsers" {
            "anyone on the internet"
        } else {
            "any AWS account"
        };
        found.report(
            &checks::S3_PUBLIC_ACL,
            format!("{group}:{permission}"),
            format!(
                "the ACL of bucket `{}` grants {permission} to {who} ({group}); remove the grant or turn on `IgnorePublicAcls`",
                found.name()
            ),
            json!({"grant": grant}),
        );
    }
}
