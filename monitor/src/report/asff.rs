//! AWS Security Finding Format (ASFF) for Security Hub's `BatchImportFindings`.
//!
//! One finding per issue, in the product `default` of the account that imports
//! them (`arn:aws:securityhub:{region}:{account}:product/{account}/default`).
//! The finding id is built from the issue id, so importing the same issue again
//! updates its finding instead of adding one.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::{Category, Issue, Severity};

/// Security Hub takes at most this many findings per `BatchImportFindings` call.
pub const BATCH_SIZE: usize = 100;

/// ASFF limits `Title` to 256 characters.
const TITLE_LIMIT: usize = 256;
/// ASFF limits `Description` to 1024 characters.
const DESCRIPTION_LIMIT: usize = 1024;

/// Where the findings are imported, and when.
#[derive(Debug, Clone)]
pub struct Target {
    /// The region of the Security Hub that imports them.
    pub region: String,
    /// The account that imports them (owner of the `default` product).
    pub account: String,
    /// The time written as `CreatedAt` and `UpdatedAt`.
    pub now: OffsetDateTime,
}

/// Whether a finding is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The issue is found: `RecordState` `ACTIVE`, `Workflow.Status` `NEW`.
    Active,
    /// The issue is no longer found: `RecordState` `ARCHIVED`,
    /// `Workflow.Status` `RESOLVED`.
    Resolved,
}

/// The product ARN of `target`'s account's `default` product.
pub fn product_arn(target: &Target) -> String {
    format!(
        "arn:aws:securityhub:{region}:{account}:product/{account}/default",
        region = target.region,
        account = target.account
    )
}

/// The issues as ASFF findings (a JSON array's elements), in `state`; see
/// [`batches`] for the arrays `BatchImportFindings` takes.
pub fn findings(issues: &[Issue], target: &Target, state: State) -> Vec<Value> {
    let product = product_arn(target);
    // RFC 3339 formatting of a valid date only fails for years past 9999.
    let now = target.now.format(&Rfc3339).unwrap_or_default();
    let (record_state, workflow) = match state {
        State::Active => ("ACTIVE", "NEW"),
        State::Resolved => ("ARCHIVED", "RESOLVED"),
    };
    issues
        .iter()
        .map(|issue| {
            let key = &issue.resource;
            let region = if key.region == "global" {
                target.region.as_str()
            } else {
                key.region.as_str()
            };
            let title = format!("{}: {}", issue.check, key.resource_id);
            json!({
                "SchemaVersion": "2018-10-08",
                "Id": format!("monitor/{}/{}/{}", key.account, key.region, issue.id),
                "ProductArn": product,
                "GeneratorId": format!("monitor/{}", issue.check),
                "AwsAccountId": key.account,
                "Types": types(issue.category),
                "CreatedAt": now,
                "UpdatedAt": now,
                "Severity": {
                    "Label": label(issue.severity()),
                    "Normalized": u32::from(issue.score.min(10)) * 10,
                },
                "Title": truncate(&title, TITLE_LIMIT),
                "Description": truncate(&issue.message, DESCRIPTION_LIMIT),
                "Resources": [{
                    "Type": resource_type(&key.resource_type),
                    "Id": issue.arn.clone().unwrap_or_else(|| key.to_string()),
                    "Region": region,
                    "Details": { "Other": {
                        "monitor/ConfigType": key.resource_type,
                        "monitor/ResourceId": truncate(&key.resource_id, DESCRIPTION_LIMIT),
                    } },
                }],
                "ProductFields": {
                    "monitor/IssueId": issue.id.0,
                    "monitor/Check": issue.check,
                    "monitor/Category": issue.category.as_str(),
                    "monitor/Detail": truncate(&issue.detail, DESCRIPTION_LIMIT),
                },
                "RecordState": record_state,
                "Workflow": { "Status": workflow },
            })
        })
        .collect()
}

/// The findings as JSON arrays of at most [`BATCH_SIZE`] findings, each the
/// `Findings` of one `BatchImportFindings` call (or one `--findings` file of
/// `aws securityhub batch-import-findings`).
pub fn batches(findings: &[Value]) -> Vec<Value> {
    findings
        .chunks(BATCH_SIZE)
        .map(|chunk| Value::Array(chunk.to_vec()))
        .collect()
}

/// The ASFF severity label of a severity.
fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// ASFF finding types (`namespace/category/classifier`) of a category.
fn types(category: Category) -> Vec<String> {
    let mut types = vec![format!(
        "Software and Configuration Checks/AWS Security Best Practices/{}",
        category.as_str()
    )];
    match category {
        Category::InternetAccessible
        | Category::UnknownCrossAccount
        | Category::FriendlyCrossAccount
        | Category::ThirdPartyCrossAccount => types.push("Effects/Data Exposure".into()),
        Category::PrivilegeEscalation | Category::AdminWildcard => {
            types.push("TTPs/Privilege Escalation".into());
        }
        Category::WeakTls
        | Category::Unencrypted
        | Category::LoggingOff
        | Category::KeyRotationOff
        | Category::ExpiringCertificate => {}
    }
    types
}

/// The ASFF resource type of an AWS Config resource type; `Other` for the
/// types ASFF has no name for.
pub fn resource_type(config_type: &str) -> &'static str {
    match config_type {
        "AWS::IAM::Role" => "AwsIamRole",
        "AWS::IAM::User" => "AwsIamUser",
        "AWS::IAM::Group" => "AwsIamGroup",
        "AWS::IAM::Policy" => "AwsIamPolicy",
        "AWS::S3::Bucket" => "AwsS3Bucket",
        "AWS::EC2::SecurityGroup" => "AwsEc2SecurityGroup",
        "AWS::EC2::Instance" => "AwsEc2Instance",
        "AWS::EC2::Volume" => "AwsEc2Volume",
        "AWS::KMS::Key" => "AwsKmsKey",
        "AWS::SNS::Topic" => "AwsSnsTopic",
        "AWS::SQS::Queue" => "AwsSqsQueue",
        "AWS::Lambda::Function" => "AwsLambdaFunction",
        "AWS::CloudTrail::Trail" => "AwsCloudTrailTrail",
        "AWS::RDS::DBInstance" => "AwsRdsDbInstance",
        "AWS::RDS::DBSnapshot" => "AwsRdsDbSnapshot",
        "AWS::RDS::DBClusterSnapshot" => "AwsRdsDbClusterSnapshot",
        "AWS::ElasticLoadBalancing::LoadBalancer" => "AwsElbLoadBalancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => "AwsElbv2LoadBalancer",
        "AWS::ACM::Certificate" => "AwsCertificateManagerCertificate",
        "AWS::DynamoDB::Table" => "AwsDynamoDbTable",
        _ => "Other",
    }
}

/// `text` cut to at most `limit` characters, ending in `...` when cut.
fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::report::fixtures;

    fn target() -> Target {
        Target {
            region: "us-east-1".into(),
            account: "999988887777".into(),
            now: datetime!(2026-11-22 10:00 UTC),
        }
    }

    /// The fields `BatchImportFindings` requires of every finding.
    const REQUIRED: [&str; 12] = [
        "SchemaVersion",
        "Id",
        "ProductArn",
        "GeneratorId",
        "AwsAccountId",
        "Types",
        "CreatedAt",
        "UpdatedAt",
        "Severity",
        "Title",
        "Description",
        "Resources",
    ];

    #[test]
    fn writes_required_fields_for_security_hub() {
        let issues = fixtures::issues();
        let findings = findings(&issues, &target(), State::Active);
        assert_eq!(findings.len(), 3);
        for finding in &findings {
            for field in REQUIRED {
                assert!(!finding[field].is_null(), "missing {field} in {finding}");
            }
            assert_eq!(
                finding["ProductArn"],
                "arn:aws:securityhub:us-east-1:999988887777:product/999988887777/default"
            );
        }
        let public = &findings[0];
        assert_eq!(public["SchemaVersion"], "2018-10-08");
        assert_eq!(public["AwsAccountId"], "111122223333");
        assert_eq!(public["GeneratorId"], "monitor/s3.public-policy");
        assert_eq!(public["CreatedAt"], "2026-11-22T10:00:00Z");
        assert_eq!(public["Severity"]["Label"], "CRITICAL");
        assert_eq!(public["Severity"]["Normalized"], 90);
        assert_eq!(public["Resources"][0]["Type"], "AwsS3Bucket");
        assert_eq!(public["Resources"][0]["Id"], "arn:aws:s3:::logs");
        assert_eq!(public["Resources"][0]["Region"], "eu-west-1");
        assert_eq!(public["RecordState"], "ACTIVE");
        assert_eq!(public["Workflow"]["Status"], "NEW");
        assert_eq!(public["Types"][1], "Effects/Data Exposure");
        assert!(public["Id"].as_str().unwrap().ends_with(&issues[0].id.0));
        // Every type is namespace/category[/classifier].
        for finding in &findings {
            for kind in finding["Types"].as_array().unwrap() {
                let parts = kind.as_str().unwrap().split('/').count();
                assert!((2..=3).contains(&parts), "{kind}");
            }
        }
        // A global (IAM) resource is placed in the importing region.
        let role = &findings[2];
        assert_eq!(role["Resources"][0]["Type"], "AwsIamRole");
        assert_eq!(role["Resources"][0]["Region"], "us-east-1");
        assert_eq!(role["Severity"]["Label"], "HIGH");
        // Without an ARN the resource key is the id.
        assert_eq!(
            findings[1]["Resources"][0]["Id"],
            "111122223333/eu-west-1/AWS::S3::Bucket/logs"
        );
    }

    #[test]
    fn resolved_issues_are_archived() {
        let findings = findings(&fixtures::issues(), &target(), State::Resolved);
        assert_eq!(findings[0]["RecordState"], "ARCHIVED");
        assert_eq!(findings[0]["Workflow"]["Status"], "RESOLVED");
    }

    #[test]
    fn long_texts_are_cut_to_the_limits_and_batches_hold_100() {
        let mut issue = fixtures::issues().remove(0);
        issue.message = "é".repeat(5000);
        let many = vec![issue; 250];
        let findings = findings(&many, &target(), State::Active);
        let description = findings[0]["Description"].as_str().unwrap();
        assert_eq!(description.chars().count(), DESCRIPTION_LIMIT);
        assert!(description.ends_with("..."));
        let sizes: Vec<usize> = batches(&findings)
            .iter()
            .map(|batch| batch.as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[test]
    fn unknown_types_are_other() {
        assert_eq!(resource_type("AWS::Foo::Bar"), "Other");
        assert_eq!(resource_type("AWS::RDS::DBSnapshot"), "AwsRdsDbSnapshot");
    }
}
