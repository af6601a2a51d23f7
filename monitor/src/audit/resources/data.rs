//! Where data and logs live: EBS and RDS snapshots (sharing, encryption),
//! RDS instances (public, encryption) and CloudTrail trails (logging).

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::audit::checks::{self, ExposureChecks};
use crate::audit::{Findings, Run, exposure, shape};

/// Reports a snapshot's sharing: `all` as public, account ids by class.
fn shared_with<'v>(
    run: &Run<'_>,
    found: &mut Findings<'_, '_>,
    with: impl Iterator<Item = &'v str>,
    checks: &ExposureChecks,
    what: &str,
) {
    for target in with {
        if target.eq_ignore_ascii_case("all") {
            found.report(
                &checks.internet,
                "all".to_owned(),
                format!(
                    "{what} `{}` is public: any AWS account can copy it; stop sharing it with `all`",
                    found.name()
                ),
                json!({"sharedWith": "all"}),
            );
            continue;
        }
        let Some(category) = run.settings.classify(&found.item.key.account, target) else {
            continue;
        };
        let (check, whose) = exposure::account_check(run, checks, category, target);
        found.report(
            check,
            target.to_owned(),
            format!("{what} `{}` is shared with {whose}", found.name()),
            json!({"sharedWith": target}),
        );
    }
}

fn report_unencrypted(found: &mut Findings<'_, '_>, check: &checks::Check, what: &str) {
    found.report(
        check,
        String::new(),
        format!(
            "{what} `{}` is not encrypted; copy it with encryption and delete the plain one",
            found.name()
        ),
        json!({"encrypted": false}),
    );
}

/// `AWS::EC2::Snapshot`: `createVolumePermissions` (group `all` or user
/// ids) and `encrypted`.
pub(super) fn ebs_snapshot(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    const EBS: ExposureChecks = ExposureChecks {
        internet: checks::EBS_PUBLIC,
        unknown: checks::EBS_UNKNOWN,
        third_party: checks::EBS_THIRD_PARTY,
        friendly: checks::EBS_FRIENDLY,
    };
    let item = found.item;
    let permissions: Cow<'_, Value> = shape::field(&item.configuration, "createVolumePermissions")
        .map(Cow::Borrowed)
        .or_else(|| shape::supplementary(item, "CreateVolumePermissions"))
        .unwrap_or(Cow::Owned(Value::Null));
    let targets = shape::items(Some(&permissions)).iter().filter_map(|p| {
        shape::field(p, "group")
            .and_then(shape::text)
            .or_else(|| shape::field(p, "userId").and_then(shape::text))
    });
    shared_with(run, found, targets, &EBS, "EBS snapshot");
    if shape::field(&item.configuration, "encrypted").and_then(shape::boolean) == Some(false) {
        report_unencrypted(found, &checks::EBS_UNENCRYPTED, "EBS snapshot");
    }
}

/// `AWS::RDS::DBSnapshot` and `AWS::RDS::DBClusterSnapshot`: the `restore`
/// attribute (`all` or account ids) and encryption.
pub(super) fn rds_snapshot(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    const RDS: ExposureChecks = ExposureChecks {
        internet: checks::RDS_SNAPSHOT_PUBLIC,
        unknown: checks::RDS_SNAPSHOT_UNKNOWN,
        third_party: checks::RDS_SNAPSHOT_THIRD_PARTY,
        friendly: checks::RDS_SNAPSHOT_FRIENDLY,
    };
    let item = found.item;
    let names = [
        "DBSnapshotAttributes",
        "DBClusterSnapshotAttributes",
        "dBSnapshotAttributes",
        "dBClusterSnapshotAttributes",
    ];
    let attributes: Cow<'_, Value> = names
        .iter()
        .find_map(|n| shape::field(&item.configuration, n).filter(|v| !v.is_null()))
        .map(Cow::Borrowed)
        .or_else(|| names.iter().find_map(|n| shape::supplementary(item, n)))
        .unwrap_or(Cow::Owned(Value::Null));
    // Either a list of attributes, or an object holding one under the same name.
    let list = match attributes.as_ref() {
        Value::Array(_) => Some(attributes.as_ref()),
        other => shape::any(other, &names),
    };
    let targets = shape::items(list)
        .iter()
        .filter(|a| shape::field(a, "attributeName").and_then(shape::text) == Some("restore"))
        .flat_map(|a| shape::items(shape::field(a, "attributeValues")))
        .filter_map(shape::text);
    shared_with(run, found, targets, &RDS, "database snapshot");
    let encrypted = shape::any(&item.configuration, &["encrypted", "storageEncrypted"])
        .and_then(shape::boolean);
    if encrypted == Some(false) {
        report_unencrypted(
            found,
            &checks::RDS_SNAPSHOT_UNENCRYPTED,
            "database snapshot",
        );
    }
}

/// `AWS::RDS::DBInstance`: `publiclyAccessible` and `storageEncrypted`.
pub(super) fn rds_instance(found: &mut Findings<'_, '_>) {
    let configuration = &found.item.configuration;
    let public = shape::field(configuration, "publiclyAccessible").and_then(shape::boolean);
    let encrypted = shape::field(configuration, "storageEncrypted").and_then(shape::boolean);
    if public == Some(true) {
        found.report(
            &checks::RDS_PUBLIC,
            String::new(),
            format!(
                "database instance `{}` is publicly accessible: it has a public address; turn `PubliclyAccessible` off",
                found.name()
            ),
            json!({"publiclyAccessible": true}),
        );
    }
    if encrypted == Some(false) {
        report_unencrypted(found, &checks::RDS_UNENCRYPTED, "database instance");
    }
}

/// `AWS::CloudTrail::Trail`: logging status (supplementary `IsLogging`, or
/// `isLogging` / `status.isLogging` in the configuration), multi-region and
/// log file validation.
pub(super) fn trail(found: &mut Findings<'_, '_>) {
    let item = found.item;
    let configuration = &item.configuration;
    let logging = shape::supplementary(item, "IsLogging")
        .and_then(|v| shape::boolean(&v))
        .or_else(|| shape::field(configuration, "isLogging").and_then(shape::boolean))
        .or_else(|| shape::path(configuration, &["status", "isLogging"]).and_then(shape::boolean))
        .or_else(|| {
            shape::supplementary(item, "TrailStatus")
                .and_then(|v| shape::field(&v, "isLogging").and_then(shape::boolean))
        });
    if logging == Some(false) {
        found.report(
            &checks::TRAIL_NOT_LOGGING,
            String::new(),
            format!(
                "trail `{}` is not logging; start it (`aws cloudtrail start-logging`)",
                found.name()
            ),
            json!({"isLogging": false}),
        );
    }
    if shape::field(configuration, "isMultiRegionTrail").and_then(shape::boolean) == Some(false) {
        found.report(
            &checks::TRAIL_SINGLE_REGION,
            String::new(),
            format!(
                "trail `{}` records only its own region; make it multi-region",
                found.name()
            ),
            json!({"isMultiRegionTrail": false}),
        );
    }
    if shape::field(configuration, "logFileValidationEnabled").and_then(shape::boolean)
        == Some(false)
    {
        found.report(
            &checks::TRAIL_NO_VALIDATION,
            String::new(),
            format!(
                "log file validation is off for trail `{}`; turn it on so tampering shows",
                found.name()
            ),
            json!({"logFileValidationEnabled": false}),
        );
    }
}
