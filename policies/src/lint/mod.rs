//! Lint: find mistakes and risks in a policy, with stable finding codes.
//!
//! [`lint`] checks a parsed policy; [`lint_text`] also reports a document
//! that does not parse as a [`Code::Malformed`] finding. Every finding names
//! its [`Code`] (stable across releases: scripts and suppressions key on it),
//! a [`Severity`], the statement it is about, and a message that says how to
//! fix it. The caller knows where the policy came from (a file, a role's
//! inline policy) and labels the findings.

mod actions;
mod checks;
mod code;
mod conditions;
mod escalation;
mod redundant;

pub use code::{Code, Severity};
pub use escalation::{
    EscalationPath, PATHS, allowed_actions, escalation_finding, escalation_paths,
};

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::model::Policy;

/// What a policy is attached to, which decides the checks that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed), an SCP or a session policy.
    Identity,
    /// A resource-based policy (bucket, key, queue, topic, function...).
    Resource,
    /// A role's trust policy.
    Trust,
    /// A permissions boundary: it caps what identity policies grant, so a
    /// broad grant there is its purpose; escalation and `Resource: "*"`
    /// checks do not apply.
    Boundary,
}

/// One finding of the linter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The stable finding code.
    pub code: Code,
    /// How bad it is.
    pub severity: Severity,
    /// What was found and how to fix it.
    pub message: String,
    /// The statement's index, when the finding is about one statement.
    pub statement: Option<usize>,
    /// The statement's `Sid`, if it has one.
    pub sid: Option<String>,
}

/// Lints a parsed policy against the action catalogue.
pub fn lint(policy: &Policy, kind: PolicyKind, catalogue: &Catalogue) -> Vec<Finding> {
    let mut findings = Vec::new();
    checks::run(policy, kind, catalogue, &mut findings);
    findings
        .sort_by(|a, b| (a.statement, b.severity, a.code).cmp(&(b.statement, a.severity, b.code)));
    findings
}

/// Parses and lints a policy document; a document that does not parse gives
/// one [`Code::Malformed`] finding with the parser's message.
pub fn lint_text(text: &str, kind: PolicyKind, catalogue: &Catalogue) -> Vec<Finding> {
    match Policy::parse(text) {
        Ok(policy) => lint(&policy, kind, catalogue),
        Err(error) => vec![Finding {
            code: Code::Malformed,
            severity: Code::Malformed.severity(),
            message: error.to_string(),
            statement: None,
            sid: None,
        }],
    }
}

#[cfg(test)]
mod tests;
