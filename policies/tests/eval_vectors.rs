//! Runs every evaluation vector in `tests/vectors/`.
//!
//! A vector is a JSON file:
//! ```json
//! {
//!   "source": "where in the AWS documentation the example comes from",
//!   "policies": {"identity": [..], "resource": {..}, "permissions_boundary": {..},
//!                "scps": [[..root level..], [..OU level..]], "session": {..}},
//!   "cases": [{
//!     "description": "...",
//!     "request": {"principal": "arn:..." , "role_arn": "arn:...", "action": "s3:GetObject",
//!                 "resource": "arn:...", "resource_account": "111122223333",
//!                 "context": {"aws:SourceIp": "10.0.0.1", "aws:TagKeys": ["a", "b"],
//!                             "aws:MultiFactorAuthPresent": true, "s3:max-keys": 10}},
//!     "expect": {"decision": "Allow", "sids": ["Sid", ...],
//!                "missing": ["identity policies", ...], "errors": 0}
//!   }]
//! }
//! ```
//! `sids` lists the `Sid`s of the deciding statements in order (statements
//! without a `Sid` are left out); `missing` and `errors` are checked when given.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;

use policies::Policy;
use policies::eval::{Caller, Context, Evaluator, PolicySet, Request, Value};
use serde_json::Value as Json;

fn policy(value: &Json) -> Result<Policy, String> {
    Policy::from_value(value).map_err(|e| e.to_string())
}

fn policy_set(value: &Json) -> Result<PolicySet, String> {
    let list = |key: &str| -> Result<Vec<Policy>, String> {
        value.get(key).map_or(Ok(Vec::new()), |v| {
            v.as_array()
                .ok_or(format!("`{key}` must be a list"))?
                .iter()
                .map(policy)
                .collect()
        })
    };
    let one = |key: &str| value.get(key).map(policy).transpose();
    if let Some(object) = value.as_object() {
        for key in object.keys() {
            if ![
                "identity",
                "resource",
                "permissions_boundary",
                "scps",
                "session",
            ]
            .contains(&key.as_str())
            {
                return Err(format!("unknown layer `{key}`"));
            }
        }
    }
    let scps = match value.get("scps") {
        None => Vec::new(),
        Some(levels) => levels
            .as_array()
            .ok_or("`scps` must be a list of levels")?
            .iter()
            .map(|level| {
                level
                    .as_array()
                    .ok_or("each level of `scps` must be a list of policies")?
                    .iter()
                    .map(policy)
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(PolicySet {
        identity: list("identity")?,
        resource: one("resource")?,
        permissions_boundary: one("permissions_boundary")?,
        scps,
        session: one("session")?,
    })
}

fn value(json: &Json) -> Result<Value, String> {
    match json {
        Json::String(s) => Ok(Value::String(s.clone())),
        Json::Bool(b) => Ok(Value::Bool(*b)),
        Json::Number(n) => n
            .as_f64()
            .map(Value::Number)
            .ok_or(format!("bad number {n}")),
        other => Err(format!("unsupported context value {other}")),
    }
}

fn request(json: &Json) -> Result<Request, String> {
    let text = |key: &str| json.get(key).and_then(Json::as_str);
    let mut request = Request::new(text("action").ok_or("request without `action`")?);
    if let Some(principal) = text("principal") {
        let mut caller = Caller::parse(principal).map_err(|e| e.to_string())?;
        if let Some(role) = text("role_arn") {
            caller = caller.with_role_arn(role);
        }
        request = request.with_caller(caller);
    }
    if let Some(resource) = text("resource") {
        request = request.with_resource(resource);
    }
    if let Some(account) = text("resource_account") {
        request = request.with_resource_account(account);
    }
    let mut context = Context::new();
    if let Some(entries) = json.get("context").and_then(Json::as_object) {
        for (key, v) in entries {
            match v {
                Json::Array(values) => {
                    context.insert_all(key, values.iter().map(value).collect::<Result<_, _>>()?);
                }
                v => {
                    context.insert(key, value(v)?);
                }
            }
        }
    }
    Ok(request.with_context(context))
}

/// Runs one case; the description of what differs, if anything.
fn run_case(evaluator: &Evaluator, case: &Json) -> Result<(), String> {
    let request = request(case.get("request").ok_or("case without `request`")?)?;
    let expect = case.get("expect").ok_or("case without `expect`")?;
    let response = evaluator.evaluate(&request);
    let mut problems = Vec::new();
    let decision = response.decision.to_string();
    if Some(decision.as_str()) != expect.get("decision").and_then(Json::as_str) {
        problems.push(format!(
            "decision {decision}, expected {}",
            expect["decision"]
        ));
    }
    if let Some(sids) = expect.get("sids") {
        let got: Vec<&str> = response.determining.iter().filter_map(|s| s.sid).collect();
        let want: Vec<&str> = sids
            .as_array()
            .ok_or("`sids` must be a list")?
            .iter()
            .filter_map(Json::as_str)
            .collect();
        if got != want {
            problems.push(format!("deciding sids {got:?}, expected {want:?}"));
        }
    }
    if let Some(missing) = expect.get("missing") {
        let got: Vec<String> = response.missing.iter().map(ToString::to_string).collect();
        let want: Vec<&str> = missing
            .as_array()
            .ok_or("`missing` must be a list")?
            .iter()
            .filter_map(Json::as_str)
            .collect();
        if got != want {
            problems.push(format!("missing {got:?}, expected {want:?}"));
        }
    }
    let errors = expect.get("errors").and_then(Json::as_u64).unwrap_or(0);
    if response.errors.len() as u64 != errors {
        let got: Vec<String> = response
            .errors
            .iter()
            .map(|e| e.error.to_string())
            .collect();
        problems.push(format!("errors {got:?}, expected {errors}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn run_file(path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let vector: Json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    for key in ["source", "policies", "cases"] {
        if vector.get(key).is_none() {
            return Err(format!("no `{key}`"));
        }
    }
    let evaluator = Evaluator::new(&policy_set(&vector["policies"])?);
    let cases = vector["cases"].as_array().ok_or("`cases` must be a list")?;
    if cases.is_empty() {
        return Err("no cases".to_owned());
    }
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(problem) = run_case(&evaluator, case) {
            let description = case.get("description").and_then(Json::as_str).unwrap_or("");
            failures.push(format!("case {i} ({description}): {problem}"));
        }
    }
    if failures.is_empty() {
        Ok(cases.len())
    } else {
        Err(failures.join("\n    "))
    }
}

#[test]
fn every_vector_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "only {} vectors in {}",
        files.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    let mut cases = 0;
    for file in &files {
        match run_file(file) {
            Ok(n) => cases += n,
            Err(problem) => failures.push(format!(
                "{}:\n    {problem}",
                file.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    println!("{} vectors, {cases} cases passed", files.len());
}
