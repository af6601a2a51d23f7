//! SARIF 2.1.0 through `policies::sarif`: one rule per check, one result per
//! issue, the resource as logical location, the issue id as fingerprint.

use std::collections::BTreeMap;

use policies::sarif::{Level, Rule, SarifLog, SarifResult};
use serde_json::Value;

use crate::model::{Issue, Severity};

/// The issues as a SARIF 2.1.0 log of the tool `monitor` at `version`.
///
/// Rules are the checks that found something, described by `describe(check)`
/// when it knows the check and by the issue's category otherwise. A result's
/// logical location is the resource's ARN when known, else its key
/// (`ACCOUNT/REGION/TYPE/ID`); its `partialFingerprints` hold the issue id,
/// so viewers follow an issue across runs.
pub fn sarif(issues: &[Issue], version: &str, describe: impl Fn(&str) -> Option<String>) -> Value {
    let mut rules: BTreeMap<&str, Rule> = BTreeMap::new();
    for issue in issues {
        let rule = rules.entry(issue.check.as_str()).or_insert_with(|| Rule {
            id: issue.check.clone(),
            description: describe(&issue.check).unwrap_or_else(|| {
                format!("finds {} issues", issue.category.as_str().replace('-', " "))
            }),
            level: Level::Note,
        });
        // The default level of a rule is the worst level it produced.
        if rank(level(issue.severity())) > rank(rule.level) {
            rule.level = level(issue.severity());
        }
    }
    let mut log = SarifLog::new("monitor", version, rules.into_values().collect());
    for issue in issues {
        log.push(SarifResult {
            rule_id: issue.check.clone(),
            level: level(issue.severity()),
            message: issue.message.clone(),
            file: None,
            logical_location: issue
                .arn
                .clone()
                .unwrap_or_else(|| issue.resource.to_string()),
            fingerprint: issue.id.to_string(),
        });
    }
    log.to_value()
}

/// SARIF levels by severity: high and critical are errors, medium warnings.
fn level(severity: Severity) -> Level {
    match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info => Level::Note,
    }
}

fn rank(level: Level) -> u8 {
    match level {
        Level::Note => 0,
        Level::Warning => 1,
        Level::Error => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    /// Checks the properties SARIF 2.1.0 requires of a log, a run, a tool,
    /// a rule and a result, and the links between them.
    fn assert_valid_sarif(log: &Value) {
        assert_eq!(log["version"], "2.1.0");
        let runs = log["runs"].as_array().expect("runs is required");
        for run in runs {
            let driver = &run["tool"]["driver"];
            assert!(driver["name"].is_string(), "tool.driver.name is required");
            let rules = driver["rules"].as_array().unwrap();
            for rule in rules {
                assert!(rule["id"].is_string(), "reportingDescriptor.id is required");
            }
            for result in run["results"].as_array().unwrap() {
                assert!(
                    result["message"]["text"].is_string(),
                    "result.message is required"
                );
                let level = result["level"].as_str().unwrap();
                assert!(["none", "note", "warning", "error"].contains(&level));
                let index = result["ruleIndex"].as_u64().unwrap() as usize;
                assert_eq!(rules[index]["id"], result["ruleId"]);
                for location in result["locations"].as_array().unwrap() {
                    assert!(location["logicalLocations"][0]["fullyQualifiedName"].is_string());
                }
            }
        }
    }

    #[test]
    fn rules_are_checks_and_results_are_issues() {
        let issues = fixtures::issues();
        let log = sarif(&issues, "0.1.0", |check| {
            (check == "s3.public-policy").then(|| "finds public bucket policies".to_owned())
        });
        assert_valid_sarif(&log);
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
        let public = rules
            .iter()
            .find(|r| r["id"] == "s3.public-policy")
            .unwrap();
        assert_eq!(
            public["shortDescription"]["text"],
            "finds public bucket policies"
        );
        assert_eq!(public["defaultConfiguration"]["level"], "error");
        let unencrypted = rules.iter().find(|r| r["id"] == "s3.unencrypted").unwrap();
        assert_eq!(
            unencrypted["shortDescription"]["text"],
            "finds unencrypted issues"
        );
        assert_eq!(unencrypted["defaultConfiguration"]["level"], "warning");

        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[0]["partialFingerprints"]["findingId/v1"],
            issues[0].id.0.as_str()
        );
        assert_eq!(
            results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "arn:aws:s3:::logs"
        );
        // Without an ARN the resource key is the location.
        assert_eq!(
            results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "111122223333/eu-west-1/AWS::S3::Bucket/logs"
        );
        assert_eq!(results[1]["level"], "warning");
    }

    #[test]
    fn an_empty_run_is_still_valid() {
        let log = sarif(&[], "0.1.0", |_| None);
        assert_valid_sarif(&log);
        assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
    }
}
