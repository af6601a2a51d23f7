//! `policies lint`: findings in policy files and account exports.

use std::collections::HashSet;
use std::path::Path;

use policies::account::{AccountDetails, Identity};
use policies::catalogue::{ActionSet, Catalogue};
use policies::lint::{
    Code, Finding, PolicyKind, Severity, allowed_actions, escalation_finding, escalation_paths,
    lint,
};
use policies::sarif::{Level, Rule, SarifLog, SarifResult};
use serde::Serialize;

use super::input::{self, Document};
use super::{FileArg, Outcome, print_json};

/// Find mistakes and risks in policies, with stable finding codes.
///
/// Each FILE is a policy document or a whole account export (`aws iam
/// get-account-authorization-details`); for an export every trust, inline and
/// customer-managed policy is linted, and each user, group and role is
/// checked for privilege escalation through the combination of its policies
/// (within its permissions boundary). Exits 1 when a finding is at or above
/// `--fail-on`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or account exports, or `-`.
    #[arg(required = true)]
    files: Vec<FileArg>,
    /// What the policy files (not exports) are attached to.
    #[arg(long, value_enum, default_value_t = Kind::Identity)]
    kind: Kind,
    /// Exit 1 when a finding is at least this severe: low, medium, high, critical.
    #[arg(long, default_value = "low", value_name = "SEVERITY")]
    fail_on: Severity,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Table)]
    format: LintFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// A user, group or role policy, a boundary or an SCP.
    Identity,
    /// A resource-based policy.
    Resource,
    /// A role's trust policy.
    Trust,
    /// A permissions boundary.
    Boundary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LintFormat {
    /// Aligned text for people.
    Table,
    /// JSON for scripts.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// A finding with where it was found.
#[derive(Debug, Serialize)]
struct Located {
    file: String,
    /// The policy within the file: `role/web inline s3`, or the file name.
    policy: String,
    #[serde(flatten)]
    finding: Finding,
}

impl Located {
    fn location(&self) -> String {
        let mut at = self.policy.clone();
        if let Some(index) = self.finding.statement {
            at.push_str(&format!(", Statement[{index}]"));
            if let Some(sid) = &self.finding.sid {
                at.push_str(&format!(" `{sid}`"));
            }
        }
        at
    }
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let cat = Catalogue::builtin();
    let kind = match args.kind {
        Kind::Identity => PolicyKind::Identity,
        Kind::Resource => PolicyKind::Resource,
        Kind::Trust => PolicyKind::Trust,
        Kind::Boundary => PolicyKind::Boundary,
    };
    let mut found = Vec::new();
    let mut checked = 0;
    for path in &args.files {
        let text = input::read(path)?;
        let file = path.display().to_string();
        let mut report = |policy: String, findings: Vec<Finding>| {
            checked += 1;
            found.extend(findings.into_iter().map(|finding| Located {
                file: file.clone(),
                policy: policy.clone(),
                finding,
            }));
        };
        match input::document(path, &text) {
            Ok(Document::Policy(policy)) => report(file.clone(), lint(&policy, kind, cat)),
            Ok(Document::Account(details)) => lint_account(cat, &details, &mut report),
            Err(error) => report(file.clone(), vec![malformed(&error)]),
        }
    }
    let failing = found.iter().any(|l| l.finding.severity >= args.fail_on);
    match args.format {
        LintFormat::Json => print_json(&found)?,
        LintFormat::Sarif => print_json(&sarif(&found).to_value())?,
        LintFormat::Table => print_table(&found, checked),
    }
    Ok(Outcome::found_if(failing))
}

fn malformed(error: &anyhow::Error) -> Finding {
    Finding {
        code: Code::Malformed,
        severity: Code::Malformed.severity(),
        message: format!("{error:#}"),
        statement: None,
        sid: None,
    }
}

/// Lints every policy of an export, then each identity's combination.
fn lint_account(
    cat: &Catalogue,
    details: &AccountDetails,
    report: &mut impl FnMut(String, Vec<Finding>),
) {
    for role in &details.roles {
        report(
            format!("role/{} trust policy", role.name),
            lint(&role.trust_policy, PolicyKind::Trust, cat),
        );
    }
    let identities = details
        .roles
        .iter()
        .map(Identity::Role)
        .chain(details.users.iter().map(Identity::User))
        .chain(details.groups.iter().map(Identity::Group));
    for identity in identities.clone() {
        let inline = match identity {
            Identity::Role(r) => &r.inline,
            Identity::User(u) => &u.inline,
            Identity::Group(g) => &g.inline,
        };
        for policy in inline {
            report(
                format!("{} inline {}", identity.label(), policy.name),
                lint(&policy.document, PolicyKind::Identity, cat),
            );
        }
    }
    for managed in details.policies.iter().filter(|p| !p.is_aws_managed()) {
        // A policy used only as a permissions boundary is linted as one.
        let kind = if managed.attachment_count == Some(0) && managed.boundary_usage_count > Some(0)
        {
            PolicyKind::Boundary
        } else {
            PolicyKind::Identity
        };
        if let Some(version) = managed.default_version() {
            report(
                format!("{} {}", managed.arn, version.id),
                lint(&version.document, kind, cat),
            );
        }
    }
    for identity in identities {
        let label = identity.label();
        let findings = combined_escalation(cat, details, identity)
            .into_iter()
            .collect();
        report(label, findings);
    }
}

/// Escalation paths an identity has only through the combination of its
/// policies (each policy alone is linted already), within its boundary.
fn combined_escalation(
    cat: &Catalogue,
    details: &AccountDetails,
    identity: Identity<'_>,
) -> Option<Finding> {
    let found = details.identity_policies(identity);
    let mut alone: HashSet<&str> = HashSet::new();
    let mut union = ActionSet::new();
    for policy in &found.policies {
        let allowed = allowed_actions(cat, policy.document);
        alone.extend(escalation_paths(cat, &allowed).iter().map(|p| p.name));
        union.union_with(&allowed);
    }
    if let Some(boundary) = &found.boundary {
        union.intersect_with(&allowed_actions(cat, boundary.document));
    }
    let combined: Vec<_> = escalation_paths(cat, &union)
        .into_iter()
        .filter(|p| !alone.contains(p.name))
        .collect();
    escalation_finding(
        &combined,
        &format!(
            "`{}` through the combination of its policies",
            identity.label()
        ),
    )
}

fn print_table(found: &[Located], checked: usize) {
    for located in found {
        let f = &located.finding;
        println!(
            "{:<8} {:<23} {}: {}",
            f.severity.as_str(),
            f.code.as_str(),
            located.location(),
            f.message
        );
    }
    let mut counts = Vec::new();
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = found
            .iter()
            .filter(|l| l.finding.severity == severity)
            .count();
        if n > 0 {
            counts.push(format!("{n} {}", severity.as_str()));
        }
    }
    let summary = if counts.is_empty() {
        String::new()
    } else {
        format!(" ({})", counts.join(", "))
    };
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    println!(
        "{} {}{summary} in {checked} {}",
        found.len(),
        plural(found.len(), "finding", "findings"),
        plural(checked, "policy", "policies")
    );
}

fn sarif(found: &[Located]) -> SarifLog {
    let level = |severity: Severity| match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low => Level::Note,
    };
    let rules = Code::ALL
        .iter()
        .map(|code| Rule {
            id: code.as_str().to_owned(),
            description: code.description().to_owned(),
            level: level(code.severity()),
        })
        .collect();
    let mut log = SarifLog::new("policies", env!("CARGO_PKG_VERSION"), rules);
    for located in found {
        let f = &located.finding;
        let location = located.location();
        log.push(SarifResult {
            rule_id: f.code.as_str().to_owned(),
            level: level(f.severity),
            message: f.message.clone(),
            file: (Path::new(&located.file) != Path::new("-")).then(|| located.file.clone()),
            fingerprint: fingerprint(&[f.code.as_str(), &location]),
            logical_location: location,
        });
    }
    log
}

/// A stable 64-bit FNV-1a hash of the parts, in hex.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}
