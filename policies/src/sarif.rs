//! SARIF 2.1.0 output for findings, shared by every tool that reports them.
//!
//! A [`SarifLog`] holds one run of one tool: the rules it knows and the
//! results it found. Locations are logical (a role, a policy, a statement)
//! and, when the finding came from a file, that file's URI.

use serde_json::{Value, json};

/// A SARIF result level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `note`.
    Note,
    /// `warning`.
    Warning,
    /// `error`.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One rule the tool checks, described once in the log.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id, e.g. `unknown-action`.
    pub id: String,
    /// One sentence on what the rule finds.
    pub description: String,
    /// The default level of its results.
    pub level: Level,
}

/// One result of a run.
#[derive(Debug, Clone)]
pub struct SarifResult {
    /// The rule's id; must be one of the log's rules.
    pub rule_id: String,
    /// The result's level.
    pub level: Level,
    /// What was found, with the fix.
    pub message: String,
    /// The file the finding is in, if it came from one.
    pub file: Option<String>,
    /// Where in the account or document, e.g. `role/web: inline s3: Statement[1]`.
    pub logical_location: String,
    /// A stable id of the finding, so that viewers can follow it across runs.
    pub fingerprint: String,
}

/// A SARIF log of one run.
#[derive(Debug, Clone)]
pub struct SarifLog {
    tool: String,
    version: String,
    rules: Vec<Rule>,
    results: Vec<SarifResult>,
}

impl SarifLog {
    /// A log for the named tool and version, with the rules it knows.
    pub fn new(tool: &str, version: &str, rules: Vec<Rule>) -> Self {
        SarifLog {
            tool: tool.to_owned(),
            version: version.to_owned(),
            rules,
            results: Vec::new(),
        }
    }

    /// Adds a result.
    pub fn push(&mut self, result: SarifResult) {
        self.results.push(result);
    }

    /// The log as SARIF 2.1.0 JSON.
    pub fn to_value(&self) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "shortDescription": { "text": r.description },
                    "defaultConfiguration": { "level": r.level.as_str() },
                })
            })
            .collect();
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                let mut location = json!({
                    "logicalLocations": [{ "fullyQualifiedName": r.logical_location }],
                });
                if let (Some(file), Some(obj)) = (&r.file, location.as_object_mut()) {
                    obj.insert(
                        "physicalLocation".into(),
                        json!({ "artifactLocation": { "uri": file } }),
                    );
                }
                let mut result = json!({
                    "ruleId": r.rule_id,
                    "level": r.level.as_str(),
                    "message": { "text": r.message },
                    "locations": [location],
                    "partialFingerprints": { "findingId/v1": r.fingerprint },
                });
                if let (Some(index), Some(obj)) = (
                    self.rules.iter().position(|rule| rule.id == r.rule_id),
                    result.as_object_mut(),
                ) {
                    obj.insert("ruleIndex".into(), index.into());
                }
                result
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": self.tool,
                    "version": self.version,
                    "rules": rules,
                } },
                "results": results,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_rules_results_and_locations() {
        let mut log = SarifLog::new(
            "policies",
            "0.1.0",
            vec![Rule {
                id: "missing-version".into(),
                description: "policy has no Version".into(),
                level: Level::Note,
            }],
        );
        log.push(SarifResult {
            rule_id: "missing-version".into(),
            level: Level::Note,
            message: "add \"Version\": \"2012-10-17\"".into(),
            file: Some("p.json".into()),
            logical_location: "p.json".into(),
            fingerprint: "abc".into(),
        });
        let v = log.to_value();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "missing-version");
        let result = &run["results"][0];
        assert_eq!(result["ruleIndex"], 0);
        assert_eq!(result["level"], "note");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "p.json"
        );
    }
}
