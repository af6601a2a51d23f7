//! IAM roles, users, groups and customer managed policies: trust exposure,
//! admin wildcards and privilege escalation over everything a principal holds
//! (inline policies, attached managed policies found by ARN in the index,
//! and for users their groups' policies).

use std::rc::Rc;

use policies::Effect;
use policies::catalogue::ActionSet;
use policies::expand::statement_actions;
use policies::lint::{Code, PolicyKind, escalation_finding, escalation_paths, lint};
use serde_json::{Value, json};

use super::checks::{self, Check, ExposureChecks};
use super::{Findings, Run, exposure, shape};
use crate::model::ConfigItem;

/// What one identity policy document grants, worked out once per run.
#[derive(Debug)]
pub(crate) struct Judged {
    /// Actions allowed (less the document's own unconditional denies).
    allowed: ActionSet,
    /// Actions denied everywhere without a condition: they cancel allows of
    /// the principal's other documents too.
    denied: ActionSet,
    /// Statements that allow everything on everything, as evidence.
    admin: Vec<Value>,
}

/// A policy a principal holds, and where it comes from.
struct Held {
    /// `inline:NAME`, `managed:ARN` or `group:NAME/...`.
    source: String,
    judged: Rc<Judged>,
}

/// AWS managed policies that AWS Config does not record, as facts: the
/// grants that matter to these checks.
const AWS_MANAGED: &[(&str, &str)] = &[
    (
        "arn:aws:iam::aws:policy/AdministratorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "arn:aws:iam::aws:policy/IAMFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    ),
];

const TRUST: ExposureChecks = ExposureChecks {
    internet: checks::ROLE_TRUST_INTERNET,
    unknown: checks::ROLE_TRUST_UNKNOWN,
    third_party: checks::ROLE_TRUST_THIRD_PARTY,
    friendly: checks::ROLE_TRUST_FRIENDLY,
};

/// Judges one document (cached by its text).
fn judge(run: &mut Run<'_>, value: &Value) -> Option<Rc<Judged>> {
    let key = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(found) = run.documents.get(&key) {
        return found.clone();
    }
    let judged = shape::policy(value).and_then(Result::ok).map(|policy| {
        let cat = run.catalogue;
        // The linter judges admin wildcards; it can only find one where an
        // Allow statement lists the action `*`, so other documents skip it.
        let may_be_admin = policy.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && !s.action.negated
                && s.action_patterns().iter().any(|a| a == "*")
        });
        let admin = if may_be_admin {
            lint(&policy, PolicyKind::Identity, cat)
                .into_iter()
                .filter(|f| f.code == Code::AdminWildcard)
                .map(|f| json!({"statement": f.statement, "sid": f.sid}))
                .collect()
        } else {
            Vec::new()
        };
        // As `policies::lint::allowed_actions` counts them, but with the
        // denies kept apart so that they also cancel the principal's other
        // documents: Allow conditions are ignored; a Deny counts when it has
        // no condition and covers every resource.
        let mut allowed = ActionSet::new();
        let mut denied = ActionSet::new();
        for statement in policy.statements.iter() {
            let everywhere = statement
                .resource
                .as_ref()
                .is_none_or(|r| !r.negated && r.value.iter().any(|p| p == "*"));
            match statement.effect {
                Effect::Allow => allowed.union_with(&statement_actions(cat, statement).actions),
                Effect::Deny if everywhere && statement.condition.is_none() => {
                    denied.union_with(&statement_actions(cat, statement).actions);
                }
                Effect::Deny => {}
            }
        }
        allowed.subtract(&denied);
        Rc::new(Judged {
            allowed,
            denied,
            admin,
        })
    });
    run.documents.insert(key, judged.clone());
    judged
}

/// The inline policies listed under `list_field` (each `{policyName, policyDocument}`).
fn inline(
    run: &mut Run<'_>,
    configuration: &Value,
    list_field: &str,
    prefix: &str,
    out: &mut Vec<Held>,
) {
    for entry in shape::items(shape::field(configuration, list_field)) {
        let name = shape::field(entry, "policyName")
            .and_then(shape::text)
            .unwrap_or("unnamed");
        let Some(document) = shape::field(entry, "policyDocument") else {
            continue;
        };
        if let Some(judged) = judge(run, document) {
            out.push(Held {
                source: format!("{prefix}inline:{name}"),
                judged,
            });
        }
    }
}

/// The default version's document of a managed policy item.
fn default_document(item: &ConfigItem) -> Option<&Value> {
    let configuration = &item.configuration;
    let default_id = shape::field(configuration, "defaultVersionId").and_then(shape::text);
    let versions = shape::items(shape::field(configuration, "policyVersionList"));
    versions
        .iter()
        .find(|v| shape::field(v, "isDefaultVersion").and_then(shape::boolean) == Some(true))
        .or_else(|| {
            versions.iter().find(|v| {
                default_id.is_some()
                    && shape::field(v, "versionId").and_then(shape::text) == default_id
            })
        })
        .and_then(|v| shape::field(v, "document"))
        .or_else(|| shape::any(configuration, &["policyDocument", "document"]))
}

/// The attached managed policies (each `{policyName, policyArn}`); ARNs not
/// found in the index nor known go to `unresolved`.
fn attached(
    run: &mut Run<'_>,
    configuration: &Value,
    prefix: &str,
    out: &mut Vec<Held>,
    unresolved: &mut Vec<String>,
) {
    let index = run.index;
    for entry in shape::items(shape::field(configuration, "attachedManagedPolicies")) {
        let Some(arn) = shape::field(entry, "policyArn").and_then(shape::text) else {
            continue;
        };
        let document = index
            .by_arn(arn)
            .and_then(default_document)
            .map(std::borrow::Cow::Borrowed)
            .or_else(|| {
                AWS_MANAGED
                    .iter()
                    .find(|(known, _)| *known == arn)
                    .map(|(_, text)| std::borrow::Cow::Owned(Value::String((*text).to_owned())))
            });
        match document.and_then(|d| judge(run, &d)) {
            Some(judged) => out.push(Held {
                source: format!("{prefix}managed:{arn}"),
                judged,
            }),
            None => unresolved.push(arn.to_owned()),
        }
    }
}

/// Reports admin wildcards of the principal's own documents, one issue per
/// document.
fn report_admin(found: &mut Findings<'_, '_>, check: &Check, kind: &str, held: &[Held]) {
    for doc in held.iter().filter(|h| !h.judged.admin.is_empty()) {
        found.report(
            check,
            doc.source.clone(),
            format!(
                "{kind} `{}` holds `{}`, which allows every action on every resource; grant only what it needs",
                found.name(),
                doc.source
            ),
            json!({"policy": doc.source, "statements": doc.judged.admin}),
        );
    }
}

/// Reports escalation paths open to everything the principal holds together.
fn report_escalation(
    run: &Run<'_>,
    found: &mut Findings<'_, '_>,
    check: &Check,
    kind: &str,
    held: &[Held],
    unresolved: &[String],
) {
    let mut allowed = ActionSet::new();
    let mut denied = ActionSet::new();
    for doc in held {
        allowed.union_with(&doc.judged.allowed);
        denied.union_with(&doc.judged.denied);
    }
    allowed.subtract(&denied);
    let paths = escalation_paths(run.catalogue, &allowed);
    let whose = format!("{kind} `{}`", found.name());
    let Some(finding) = escalation_finding(&paths, &whose) else {
        return;
    };
    let names: Vec<&str> = paths.iter().map(|p| p.name).collect();
    let sources: Vec<&str> = held.iter().map(|h| h.source.as_str()).collect();
    found.report(
        check,
        String::new(),
        finding.message,
        json!({"paths": names, "policies": sources, "unresolved_policies": unresolved}),
    );
}

/// `AWS::IAM::Role`.
pub(crate) fn role(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let configuration = &item.configuration;
    if let Some(trust) = shape::field(configuration, "assumeRolePolicyDocument")
        && let Some(policy) = exposure::parse(found, trust, "trust policy")
    {
        let analysis = exposure::exposure_of(run, found, &policy);
        exposure::report(run, found, &analysis, &TRUST, "the trust policy", None);
        external_ids(run, found, &analysis);
    }
    let mut held = Vec::new();
    let mut unresolved = Vec::new();
    inline(run, configuration, "rolePolicyList", "", &mut held);
    attached(run, configuration, "", &mut held, &mut unresolved);
    report_admin(found, &checks::ROLE_ADMIN, "role", &held);
    report_escalation(
        run,
        found,
        &checks::ROLE_ESCALATION,
        "role",
        &held,
        &unresolved,
    );
}

/// Third parties trusted without `sts:ExternalId`.
fn external_ids(
    run: &Run<'_>,
    found: &mut Findings<'_, '_>,
    analysis: &policies::exposure::Exposure,
) {
    let owner = found.item.key.account.clone();
    for (account, _) in exposure::accounts(analysis) {
        if run.settings.classify(&owner, account)
            != Some(crate::model::Category::ThirdPartyCrossAccount)
        {
            continue;
        }
        let unguarded: Vec<String> = analysis
            .statements
            .iter()
            .filter(|s| s.denied_by.is_none() && s.external_ids.is_empty())
            .filter(|s| {
                s.grantees
                    .iter()
                    .any(|g| g.account.as_deref() == Some(account))
            })
            .map(exposure::statement_label)
            .collect();
        if unguarded.is_empty() {
            continue;
        }
        let (_, whose) = exposure::account_check(
            run,
            &TRUST,
            crate::model::Category::ThirdPartyCrossAccount,
            account,
        );
        found.report(
            &checks::ROLE_TRUST_NO_EXTERNAL_ID,
            account.to_owned(),
            format!(
                "the trust policy of `{}` lets {whose} assume it without `sts:ExternalId`; require the external id the vendor gave you",
                found.name()
            ),
            json!({"account": account, "statements": unguarded}),
        );
    }
}

/// `AWS::IAM::User`: its own policies, and for escalation its groups' too.
pub(crate) fn user(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let configuration = &item.configuration;
    let mut held = Vec::new();
    let mut unresolved = Vec::new();
    inline(run, configuration, "userPolicyList", "", &mut held);
    attached(run, configuration, "", &mut held, &mut unresolved);
    report_admin(found, &checks::USER_ADMIN, "user", &held);
    let index = run.index;
    for group in shape::items(shape::field(configuration, "groupList")) {
        let Some(name) =
            shape::text(group).or_else(|| shape::field(group, "groupName").and_then(shape::text))
        else {
            continue;
        };
        match index.by_name(&item.key.account, "AWS::IAM::Group", name) {
            Some(group) => {
                let prefix = format!("group:{name}/");
                inline(
                    run,
                    &group.configuration,
                    "groupPolicyList",
                    &prefix,
                    &mut held,
                );
                attached(
                    run,
                    &group.configuration,
                    &prefix,
                    &mut held,
                    &mut unresolved,
                );
            }
            None => unresolved.push(format!("group:{name}")),
        }
    }
    report_escalation(
        run,
        found,
        &checks::USER_ESCALATION,
        "user",
        &held,
        &unresolved,
    );
}

/// `AWS::IAM::Group`.
pub(crate) fn group(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let configuration = &item.configuration;
    let mut held = Vec::new();
    let mut unresolved = Vec::new();
    inline(run, configuration, "groupPolicyList", "", &mut held);
    attached(run, configuration, "", &mut held, &mut unresolved);
    report_admin(found, &checks::GROUP_ADMIN, "group", &held);
    report_escalation(
        run,
        found,
        &checks::GROUP_ESCALATION,
        "group",
        &held,
        &unresolved,
    );
}

/// `AWS::IAM::Policy` (customer managed; AWS managed policies are AWS's).
pub(crate) fn managed_policy(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let arn = item
        .arn
        .as_deref()
        .or_else(|| shape::field(&item.configuration, "arn").and_then(shape::text))
        .unwrap_or_default();
    let count = |name: &str| shape::field(&item.configuration, name).and_then(shape::integer);
    let boundary_only = count("attachmentCount") == Some(0)
        && count("permissionsBoundaryUsageCount").is_some_and(|n| n > 0);
    // AWS managed policies are AWS's; a policy used only as a permissions
    // boundary caps others rather than granting anything.
    if arn.starts_with("arn:aws:iam::aws:") || boundary_only {
        return;
    }
    let Some(judged) = default_document(item).and_then(|d| judge(run, d)) else {
        return;
    };
    let held = [Held {
        source: "default-version".to_owned(),
        judged,
    }];
    report_admin(found, &checks::POLICY_ADMIN, "managed policy", &held);
    report_escalation(
        run,
        found,
        &checks::POLICY_ESCALATION,
        "managed policy",
        &held,
        &[],
    );
}
