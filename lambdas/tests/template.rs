//! `template.yaml` and `member-roles.yaml`: every role policy passes our own
//! `policies` lint with no finding at or above medium severity (but the one
//! repokid exists for, listed with its reason), names its resources (a
//! wildcard only where the resource cannot be known in advance), every
//! bootstrap binary is deployed by exactly one function with a role of its
//! own, the member roles trust exactly the function roles the toolkit stack
//! names, and `cfn-lint` accepts both templates.
//!
//! The YAML is parsed with `serde_norway`, which keeps CloudFormation's short
//! intrinsic tags (`!Sub`, `!GetAtt`, `!Ref`, `!If`) as tagged values; the
//! long forms (`Fn::Sub: ..`) are mappings. Both are resolved here to example
//! ARNs in account 123456789012, us-east-1, stack `toolkit`, as
//! CloudFormation would resolve them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use policies::catalogue::Catalogue;
use policies::lint::{Code, PolicyKind, Severity, lint_text};
use serde_json::{Value as Json, json};
use serde_norway::{Mapping, Value};

const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "toolkit";

/// The templates: the toolkit stack and the roles of the accounts it works in.
const TEMPLATES: [&str; 2] = ["template.yaml", "member-roles.yaml"];

/// Values of the parameters that have no default.
const EXAMPLE_PARAMETERS: &[(&str, &str)] = &[("SecurityAccountId", ACCOUNT)];

/// Findings at or above medium that a role exists to have, with why.
const EXPECTED_FINDINGS: &[(&str, Code, &str)] = &[(
    "RepokidRole policy \"repokid\"",
    Code::PrivilegeEscalation,
    "rewriting role policies is repokid's job; only repokid's two function roles may \
     assume the role, and a Deny keeps it off its own policies",
)];

/// Wildcards allowed inside a resource ARN, each because the resource's name
/// is not known when deploying.
const ALLOWED_WILDCARDS: &[(&str, &str)] = &[
    (
        ":log-group:",
        "`:*` after a log group covers its log streams, which Lambda names at run time",
    ),
    (
        ":iam::123456789012:user/*",
        "ssh-ca's group rule looks up whichever engineer asks",
    ),
    (
        ":acm:us-east-1:123456789012:certificate/*",
        "certs reimports into whichever ACM ARN a certificate was deployed to",
    ),
    (
        ":iam::*:role/",
        "monitor's worker and repokid assume their role in whichever member account they work on",
    ),
    (
        ":iam::123456789012:role/*",
        "repokid right-sizes whichever role of the account its plans name",
    ),
    (
        ":s3:::",
        "CloudTrail names its log files under the trail's prefix as it writes them",
    ),
];

/// Actions AWS authorizes on no resource type at all, so their statements
/// can only say `Resource: "*"` (the Service Authorization Reference lists
/// no resource for them).
const UNSCOPED_ACTIONS: &[(&str, &str)] = &[
    (
        "config:ListDiscoveredResources",
        "monitor lists the recorded resources",
    ),
    (
        "config:BatchGetResourceConfig",
        "monitor reads their configuration",
    ),
    (
        "config:GetResourceConfigHistory",
        "the rule reads an oversized item",
    ),
    ("config:PutEvaluations", "the rule answers Config"),
    (
        "iam:GetAccountAuthorizationDetails",
        "monitor and repokid read an account's IAM",
    ),
    (
        "iam:GetServiceLastAccessedDetails",
        "repokid reads an Access Advisor job by its id",
    ),
];

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

struct Template {
    root: Value,
}

/// The intrinsic function a value is, if any: its name and argument.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let name = if name == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{name}")
            };
            Some((name, &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key.starts_with("Fn::")).then(|| (key.to_owned(), arg))
        }
        _ => None,
    }
}

fn is_no_value(value: &Value) -> bool {
    matches!(intrinsic(value), Some((name, arg)) if name == "Ref" && arg.as_str() == Some("AWS::NoValue"))
}

impl Template {
    fn load(file: &str) -> Self {
        let text = std::fs::read_to_string(manifest().join(file)).unwrap();
        Self {
            root: serde_norway::from_str(&text).unwrap(),
        }
    }

    fn resources(&self) -> &Mapping {
        self.root["Resources"].as_mapping().unwrap()
    }

    fn resource(&self, name: &str) -> Option<&Value> {
        self.resources().get(name)
    }

    fn kind(&self, name: &str) -> &str {
        self.resource(name)
            .unwrap_or_else(|| panic!("no resource `{name}`"))["Type"]
            .as_str()
            .unwrap()
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{resource}")
    }

    /// `!Ref name`.
    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => return PARTITION.into(),
            "AWS::Region" => return REGION.into(),
            "AWS::AccountId" => return ACCOUNT.into(),
            "AWS::StackName" => return STACK.into(),
            _ => {}
        }
        if let Some(parameter) = self.root["Parameters"].get(name) {
            return match &parameter["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Null => EXAMPLE_PARAMETERS
                    .iter()
                    .find(|(p, _)| *p == name)
                    .unwrap_or_else(|| panic!("parameter `{name}` has no default: add an example"))
                    .1
                    .to_owned(),
                other => panic!("parameter `{name}` default {other:?}"),
            };
        }
        match self.kind(name) {
            "AWS::SNS::Topic" => self.arn("sns", name),
            "AWS::SQS::Queue" => format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"),
            "AWS::Logs::LogGroup" => {
                self.string(&self.resource(name).unwrap()["Properties"]["LogGroupName"])
            }
            "AWS::KMS::Alias" => {
                self.string(&self.resource(name).unwrap()["Properties"]["AliasName"])
            }
            _ => name.to_owned(),
        }
    }

    /// `!GetAtt name.attribute`.
    fn attribute(&self, name: &str, attribute: &str) -> String {
        match (self.kind(name), attribute) {
            ("AWS::KMS::Key", "Arn") => self.arn("kms", &format!("key/{name}")),
            ("AWS::DynamoDB::Table", "Arn") => self.arn("dynamodb", &format!("table/{name}")),
            ("AWS::SQS::Queue", "Arn") => self.arn("sqs", name),
            ("AWS::SQS::Queue", "QueueName") => name.to_owned(),
            ("AWS::SNS::Topic", "TopicArn") => self.reference(name),
            ("AWS::Logs::LogGroup", "Arn") => {
                self.arn("logs", &format!("log-group:{}:*", self.reference(name)))
            }
            ("AWS::IAM::Role", "Arn") => format!("arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"),
            (kind, attribute) => panic!("no example for `!GetAtt {name}.{attribute}` of a {kind}"),
        }
    }

    fn substitute(&self, text: &str, variables: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').unwrap() + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = variables.get(name) {
                out.push_str(value);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute));
            } else {
                out.push_str(&self.reference(name));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn string(&self, value: &Value) -> String {
        match self.resolve(value) {
            Json::String(s) => s,
            other => panic!("expected a string, got {other}"),
        }
    }

    /// `value` with every intrinsic function resolved; `!If` takes the
    /// branch that grants more (the one that is not `AWS::NoValue`).
    fn resolve(&self, value: &Value) -> Json {
        if let Some((name, arg)) = intrinsic(value) {
            return match name.as_str() {
                "Ref" => json!(self.reference(arg.as_str().unwrap())),
                "Fn::GetAtt" => {
                    let (resource, attribute) = match arg {
                        Value::String(s) => s
                            .split_once('.')
                            .map(|(a, b)| (a.to_owned(), b.to_owned()))
                            .unwrap(),
                        Value::Sequence(items) => (
                            items[0].as_str().unwrap().to_owned(),
                            items[1].as_str().unwrap().to_owned(),
                        ),
                        other => panic!("GetAtt {other:?}"),
                    };
                    json!(self.attribute(&resource, &attribute))
                }
                "Fn::Sub" => match arg {
                    Value::String(text) => json!(self.substitute(text, &BTreeMap::new())),
                    Value::Sequence(items) => {
                        let variables = items[1]
                            .as_mapping()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.as_str().unwrap().to_owned(), self.string(v)))
                            .collect();
                        json!(self.substitute(items[0].as_str().unwrap(), &variables))
                    }
                    other => panic!("Sub {other:?}"),
                },
                "Fn::If" => {
                    let items = arg.as_sequence().unwrap();
                    let branch = if is_no_value(&items[1]) {
                        &items[2]
                    } else {
                        &items[1]
                    };
                    self.resolve(branch)
                }
                other => panic!("intrinsic `{other}` is not resolved by this test; add it"),
            };
        }
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Number(n) => serde_json::to_value(n).unwrap(),
            Value::String(s) => json!(s),
            Value::Sequence(items) => Json::Array(
                items
                    .iter()
                    .filter(|v| !is_no_value(v))
                    .map(|v| self.resolve(v))
                    .collect(),
            ),
            Value::Mapping(map) => Json::Object(
                map.iter()
                    .filter(|(_, v)| !is_no_value(v))
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), self.resolve(v)))
                    .collect(),
            ),
            Value::Tagged(_) => unreachable!("tags are intrinsics"),
        }
    }

    /// Every function: logical name, resolved properties.
    fn functions(&self) -> Vec<(String, Json)> {
        self.resources()
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|(name, r)| {
                (
                    name.as_str().unwrap().to_owned(),
                    self.resolve(&r["Properties"]),
                )
            })
            .collect()
    }

    /// Every role policy: where it is, its kind, the document.
    fn role_policies(&self) -> Vec<(String, PolicyKind, Json)> {
        let mut out = Vec::new();
        for (name, resource) in self.resources() {
            let name = name.as_str().unwrap();
            match resource["Type"].as_str().unwrap() {
                "AWS::IAM::Role" => {
                    let properties = self.resolve(&resource["Properties"]);
                    out.push((
                        format!("{name} trust policy"),
                        PolicyKind::Trust,
                        properties["AssumeRolePolicyDocument"].clone(),
                    ));
                    for policy in properties["Policies"].as_array().into_iter().flatten() {
                        out.push((
                            format!("{name} policy {}", policy["PolicyName"]),
                            PolicyKind::Identity,
                            policy["PolicyDocument"].clone(),
                        ));
                    }
                    assert!(
                        properties.get("ManagedPolicyArns").is_none(),
                        "{name}: managed policies grant more than the function calls; list the actions inline"
                    );
                }
                "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                    panic!("{name}: keep each function's permissions inline in its own role")
                }
                _ => {}
            }
        }
        out
    }
}

fn as_list(value: &Json) -> Vec<String> {
    match value {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("expected a string or a list, got {other}"),
    }
}

/// Checks an identity policy's statements: no wildcard or negated action, and
/// every resource named (see [`UNSCOPED_ACTIONS`] and [`ALLOWED_WILDCARDS`]).
fn assert_names_its_resources(place: &str, document: &Json) {
    for statement in document["Statement"].as_array().unwrap() {
        assert!(
            statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
            "{place}"
        );
        let actions = as_list(&statement["Action"]);
        for action in &actions {
            assert!(
                !action.contains('*'),
                "{place}: action `{action}` is a wildcard; list the calls"
            );
        }
        if statement["Effect"] == "Deny" {
            continue;
        }
        assert_eq!(statement["Effect"], "Allow", "{place}");
        for resource in as_list(&statement["Resource"]) {
            if resource == "*" {
                for action in &actions {
                    assert!(
                        UNSCOPED_ACTIONS.iter().any(|(a, _)| a == action),
                        "{place}: `{action}` on `*`: name the resource (only actions without resource-level permissions may use `*`)"
                    );
                }
                continue;
            }
            assert!(
                resource.starts_with("arn:aws:"),
                "{place}: resource `{resource}` is not an ARN"
            );
            if resource.contains('*') {
                assert!(
                    ALLOWED_WILDCARDS
                        .iter()
                        .any(|(part, _)| resource.contains(part)),
                    "{place}: `{resource}` has a wildcard where the resource can be named"
                );
            }
        }
    }
}

#[test]
fn role_policies_pass_our_lint_and_name_their_resources() {
    let catalogue = Catalogue::builtin();
    // The linter is live: a misspelt action and `Resource: "*"` are findings.
    let wrong = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Sgn", "Resource": "*"}]}"#;
    assert!(
        lint_text(wrong, PolicyKind::Identity, catalogue)
            .iter()
            .any(|f| f.severity >= Severity::Medium)
    );
    let mut failures = Vec::new();
    let mut expected_seen = BTreeSet::new();
    let mut count = 0;
    for file in TEMPLATES {
        for (place, kind, document) in Template::load(file).role_policies() {
            count += 1;
            let text = serde_json::to_string_pretty(&document).unwrap();
            for finding in lint_text(&text, kind, catalogue) {
                println!(
                    "{file} {place}: {:?} {:?}: {}",
                    finding.severity, finding.code, finding.message
                );
                let expected = EXPECTED_FINDINGS
                    .iter()
                    .position(|(p, code, _)| *p == place && *code == finding.code);
                match expected {
                    Some(i) => {
                        expected_seen.insert(i);
                    }
                    None if finding.severity >= Severity::Medium => {
                        failures.push(format!("{file} {place}: {}", finding.message));
                    }
                    None => {}
                }
            }
            if kind == PolicyKind::Identity {
                assert_names_its_resources(&format!("{file} {place}"), &document);
            }
        }
    }
    assert!(count >= 14, "{count} policies");
    assert!(
        failures.is_empty(),
        "lint findings:\n{}",
        failures.join("\n")
    );
    // Each expected finding is still found: the list does not outlive its reason.
    assert_eq!(expected_seen.len(), EXPECTED_FINDINGS.len());
}

#[test]
fn member_roles_trust_exactly_the_toolkit_function_roles() {
    let toolkit = Template::load("template.yaml");
    let named: BTreeSet<String> = toolkit
        .resources()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::IAM::Role"))
        .filter_map(|r| r["Properties"].get("RoleName"))
        .map(|name| format!("arn:aws:iam::{ACCOUNT}:role/{}", toolkit.string(name)))
        .collect();
    let members = Template::load("member-roles.yaml");
    let mut trusted = BTreeSet::new();
    for (place, kind, document) in members.role_policies() {
        if kind != PolicyKind::Trust {
            continue;
        }
        for statement in document["Statement"].as_array().unwrap() {
            let principals = as_list(&statement["Principal"]["AWS"]);
            assert!(!principals.is_empty(), "{place}: trusts no role");
            trusted.extend(principals);
        }
    }
    assert_eq!(trusted, named);
    // The role names the toolkit stack assumes are the ones the members create.
    for (parameter, role) in [
        ("MonitorAuditRoleName", "MonitorAuditRole"),
        ("RepokidRoleName", "RepokidRole"),
    ] {
        assert_eq!(
            toolkit.reference(parameter),
            members.reference(parameter),
            "{parameter}"
        );
        let created = &members.resource(role).unwrap()["Properties"]["RoleName"];
        assert_eq!(members.string(created), members.reference(parameter));
    }
}

#[test]
fn every_bootstrap_is_one_function_with_its_own_role() {
    let template = Template::load("template.yaml");
    let globals = &template.root["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));

    let bins: BTreeSet<String> = std::fs::read_dir(manifest().join("src/bin"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut deployed = BTreeSet::new();
    let mut roles = BTreeSet::new();
    for (name, properties) in template.functions() {
        let code = properties["CodeUri"].as_str().unwrap();
        let bin = code
            .strip_prefix("../target/lambda/")
            .and_then(|c| c.strip_suffix('/'))
            .unwrap_or_else(|| {
                panic!("{name}: CodeUri `{code}` is not ../target/lambda/<function>/")
            });
        assert!(deployed.insert(bin.to_owned()), "{bin} deployed twice");
        assert_eq!(
            properties["FunctionName"].as_str().unwrap(),
            format!("{STACK}-{bin}"),
            "{name}"
        );
        let role = properties["Role"].as_str().unwrap();
        assert!(
            role.starts_with("arn:aws:iam::123456789012:role/"),
            "{name}: role {role}"
        );
        assert!(
            roles.insert(role.to_owned()),
            "{name} shares the role {role}"
        );
        assert!(
            properties.get("Policies").is_none(),
            "{name}: SAM policy templates are broader than the calls"
        );
        // The function's logs go to its own group, the one its role may write.
        let group = properties["LoggingConfig"]["LogGroup"].as_str().unwrap();
        assert_eq!(group, format!("/aws/lambda/{STACK}-{bin}"), "{name}");
    }
    assert_eq!(
        deployed, bins,
        "functions in template.yaml and binaries in src/bin differ"
    );
}

#[test]
fn cfn_lint_accepts_the_templates() {
    let cfn_lint = std::env::var("CFN_LINT")
        .ok()
        .filter(|p| Path::new(p).exists());
    if !testkit::require(
        cfn_lint.is_some(),
        "cfn-lint (CFN_LINT, installed by scripts/test)",
    ) {
        return;
    }
    let output = std::process::Command::new(cfn_lint.unwrap())
        .args(TEMPLATES.map(|file| manifest().join(file)))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
