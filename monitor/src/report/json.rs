//! Issues as JSON.

use serde_json::{Value, json};

use crate::model::Issue;

/// The issues as a JSON document `{"issues": [...], "count": N}`; each issue
/// is the [`Issue`] record with its `severity` added.
pub fn json(issues: &[Issue]) -> Value {
    let rows: Vec<Value> = issues
        .iter()
        .map(|issue| {
            let mut row = serde_json::to_value(issue).unwrap_or(Value::Null);
            if let Some(object) = row.as_object_mut() {
                object.insert("severity".into(), json!(issue.severity()));
            }
            row
        })
        .collect();
    json!({ "count": rows.len(), "issues": rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn adds_severity_and_keeps_the_record() {
        let value = json(&fixtures::issues());
        assert_eq!(value["count"], 3);
        let first = &value["issues"][0];
        assert_eq!(first["severity"], "critical");
        assert_eq!(first["check"], "s3.public-policy");
        assert_eq!(first["resource"]["resource_type"], "AWS::S3::Bucket");
        let back: Issue = serde_json::from_value(first.clone()).unwrap();
        assert_eq!(back, fixtures::issues()[0]);
    }
}
