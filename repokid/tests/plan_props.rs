//! Properties of plans over generated roles and access data: a plan never
//! grants more than before (statement by statement, resources and
//! conditions untouched; and over the role's whole identity policies, the
//! inline ones and the attached customer-managed ones, which a plan may
//! replace by inline copies), planning the planned policies again removes
//! nothing more, and `repo` then `rollback` restores the policies exactly.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::cell::RefCell;
use std::collections::BTreeMap;

use policies::Policy;
use policies::catalogue::Catalogue;
use policies::eval::{Context, Decision, Evaluator, PolicySet, Request};
use policies::expand::statement_actions;
use policies::model::Effect;
use proptest::prelude::*;
use repokid::apply::{self, Iam, planned_policies};
use repokid::model::{
    AccessRecord, AccessSource, AttachedRecord, ManagedDecision, NamedPolicy, Outcome,
};
use repokid::plan::{INLINE_LIMIT, json_size};
use repokid::{IamError, PlanConfig, Planner, RoleAccess, RoleInput, RoleRecord, SqliteStore};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2024-05-01 0:00 UTC);
const ARN: &str = "arn:aws:iam::111122223333:role/shape";

/// Action patterns over a few services, wildcards included.
const PATTERNS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:List*",
    "s3:*",
    "ec2:Describe*",
    "ec2:StartInstances",
    "ec2:*",
    "sqs:SendMessage",
    "sqs:Receive*",
    "dynamodb:GetItem",
    "dynamodb:*Item",
    "iam:PassRole",
    "kms:Decrypt",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
];
const SERVICES: &[&str] = &["s3", "ec2", "sqs", "dynamodb", "iam", "kms", "logs"];

#[derive(Debug, Clone)]
struct GenStatement {
    deny: bool,
    not_action: bool,
    patterns: Vec<usize>,
    condition: bool,
    norepo: bool,
    /// 0: a resource of its own; 1: a bucket other statements may name
    /// too (so Deny statements meet Allow ones); 2: `*`.
    resource: u8,
}

fn statement() -> impl Strategy<Value = GenStatement> {
    (
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::collection::vec(0..PATTERNS.len(), 1..4),
        any::<bool>(),
        prop::bool::weighted(0.1),
        0u8..3,
    )
        .prop_map(
            |(deny, not_action, patterns, condition, norepo, resource)| GenStatement {
                deny,
                not_action,
                patterns,
                condition,
                norepo,
                resource,
            },
        )
}

/// Per service: none (no data), used 3 days ago, or 400 days ago; plus a
/// few action-level records.
fn access() -> impl Strategy<Value = (Vec<u8>, Vec<(usize, bool)>)> {
    (
        prop::collection::vec(0u8..3, SERVICES.len()),
        prop::collection::vec((0..4usize, any::<bool>()), 0..4),
    )
}

/// One document per shape; statement `i` of document `p` has `Sid`
/// `{tag}{p}s{i}` (after `NOREPO` if so) and resource
/// `arn:aws:s3:::{tag}bucket-{p}-{i}/*`, `arn:aws:s3:::shared/*` or `*`.
fn documents(tag: &str, shape: &[Vec<GenStatement>]) -> Vec<Policy> {
    shape
        .iter()
        .enumerate()
        .map(|(p, statements)| {
            let statements: Vec<serde_json::Value> = statements
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let patterns: Vec<&str> = s.patterns.iter().map(|&i| PATTERNS[i]).collect();
                    let key = if s.not_action { "NotAction" } else { "Action" };
                    let norepo = if s.norepo { "NOREPO" } else { "" };
                    let mut st = serde_json::json!({
                        "Sid": format!("{norepo}{tag}{p}s{i}"),
                        "Effect": if s.deny { "Deny" } else { "Allow" },
                        key: patterns,
                        "Resource": match s.resource {
                            0 => format!("arn:aws:s3:::{tag}bucket-{p}-{i}/*"),
                            1 => "arn:aws:s3:::shared/*".to_owned(),
                            _ => "*".to_owned(),
                        },
                    });
                    if s.condition {
                        st["Condition"] =
                            serde_json::json!({"StringEquals": {"aws:RequestedRegion": "us-east-1"}});
                    }
                    st
                })
                .collect();
            Policy::from_value(&serde_json::json!({"Version": "2012-10-17", "Statement": statements}))
                .unwrap()
        })
        .collect()
}

fn policies_of(shape: &[Vec<GenStatement>]) -> Vec<NamedPolicy> {
    documents("p", shape)
        .into_iter()
        .enumerate()
        .map(|(p, document)| NamedPolicy {
            name: format!("policy-{p}"),
            document,
        })
        .collect()
}

/// Customer-managed policies `app-0`, `app-1`...
fn managed_of(shape: &[Vec<GenStatement>]) -> Vec<AttachedRecord> {
    documents("m", shape)
        .into_iter()
        .enumerate()
        .map(|(k, document)| AttachedRecord {
            name: format!("app-{k}"),
            arn: format!("arn:aws:iam::111122223333:policy/app-{k}"),
            aws_managed: false,
            document: Some(document),
        })
        .collect()
}

fn role(inline: Vec<NamedPolicy>) -> RoleRecord {
    role_with(inline, Vec::new())
}

fn role_with(inline: Vec<NamedPolicy>, attached: Vec<AttachedRecord>) -> RoleRecord {
    RoleRecord {
        arn: ARN.into(),
        name: "shape".into(),
        id: "AROAGEN".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline,
        attached,
    }
}

fn records(services: &[u8], actions: &[(usize, bool)]) -> Vec<AccessRecord> {
    let at = |used: bool| {
        Some(if used {
            NOW - Duration::days(3)
        } else {
            NOW - Duration::days(400)
        })
    };
    let mut out = Vec::new();
    for (svc, state) in SERVICES.iter().zip(services) {
        if *state == 0 {
            continue;
        }
        out.push(AccessRecord {
            role_arn: ARN.into(),
            service: (*svc).into(),
            action: None,
            last_used: at(*state == 1),
            source: AccessSource::AccessAdvisor,
        });
    }
    let tracked = [
        ("s3", "GetObject"),
        ("s3", "PutObject"),
        ("ec2", "StartInstances"),
        ("dynamodb", "GetItem"),
    ];
    for (i, used) in actions {
        let (svc, action) = tracked[*i];
        out.push(AccessRecord {
            role_arn: ARN.into(),
            service: svc.into(),
            action: Some(action.into()),
            last_used: at(*used),
            source: AccessSource::CloudTrail,
        });
    }
    out
}

fn role_access(records: &[AccessRecord]) -> RoleAccess {
    let mut a = RoleAccess::default();
    for r in records {
        a.add(r);
    }
    a.collected(NOW - Duration::days(1));
    a
}

fn by_sid(doc: &Policy) -> BTreeMap<String, &policies::model::Statement> {
    doc.statements
        .iter()
        .map(|s| (s.sid.clone().unwrap_or_default(), s))
        .collect()
}

fn as_map(policies: &[NamedPolicy]) -> BTreeMap<String, Policy> {
    policies
        .iter()
        .map(|p| (p.name.clone(), p.document.clone()))
        .collect()
}

/// IAM as a map of one role's inline policies (no managed policy attached).
#[derive(Default)]
struct MapIam(RefCell<BTreeMap<String, Policy>>);

impl Iam for MapIam {
    async fn inline_policies(&self, _role: &str) -> Result<Vec<NamedPolicy>, IamError> {
        Ok(self
            .0
            .borrow()
            .iter()
            .map(|(name, document)| NamedPolicy {
                name: name.clone(),
                document: document.clone(),
            })
            .collect())
    }
    async fn put_policy(&self, _role: &str, name: &str, document: &Policy) -> Result<(), IamError> {
        self.0.borrow_mut().insert(name.into(), document.clone());
        Ok(())
    }
    async fn delete_policy(&self, _role: &str, name: &str) -> Result<(), IamError> {
        self.0.borrow_mut().remove(name);
        Ok(())
    }
    async fn attached_policies(&self, _role: &str) -> Result<Vec<String>, IamError> {
        Ok(Vec::new())
    }
    async fn attach_policy(&self, _role: &str, _policy: &str) -> Result<(), IamError> {
        Ok(())
    }
    async fn detach_policy(&self, _role: &str, _policy: &str) -> Result<(), IamError> {
        Ok(())
    }
}

/// Every request (a sample of the services' actions, on each statement's
/// resource and one other, with and without the condition's region) that
/// the role's identity policies after a plan allow was allowed before.
fn never_grants_more(
    cat: &Catalogue,
    before: &RoleRecord,
    after_inline: &[NamedPolicy],
    after_attached: &[AttachedRecord],
) -> Result<(), TestCaseError> {
    let identity = |inline: &[NamedPolicy], attached: &[AttachedRecord]| PolicySet {
        identity: inline
            .iter()
            .map(|p| p.document.clone())
            .chain(attached.iter().filter_map(|a| a.document.clone()))
            .collect(),
        ..PolicySet::default()
    };
    let was = Evaluator::new(&identity(&before.inline, &before.attached));
    let now = Evaluator::new(&identity(after_inline, after_attached));
    let mut actions: Vec<String> = SERVICES
        .iter()
        .flat_map(|s| {
            cat.service(s)
                .unwrap()
                .actions()
                .step_by(11)
                .map(|a| a.to_string())
        })
        .chain(
            PATTERNS
                .iter()
                .filter(|p| !p.contains('*'))
                .map(|p| (*p).to_owned()),
        )
        .chain([
            "lambda:InvokeFunction".to_owned(),
            "sts:GetCallerIdentity".to_owned(),
        ])
        .collect();
    actions.sort();
    actions.dedup();
    let mut resources: Vec<String> = before
        .inline
        .iter()
        .map(|p| &p.document)
        .chain(before.attached.iter().filter_map(|a| a.document.as_ref()))
        .flat_map(|d| {
            d.statements
                .iter()
                .flat_map(|s| s.resource_patterns().to_vec())
        })
        .filter(|r| r != "*")
        .map(|r| r.replace('*', "object"))
        .collect();
    resources.sort();
    resources.dedup();
    resources.push("arn:aws:s3:::elsewhere/object".into());
    for action in &actions {
        for resource in &resources {
            for region in [None, Some("us-east-1")] {
                let context = match region {
                    Some(r) => Context::new().with("aws:RequestedRegion", r),
                    None => Context::new(),
                };
                let request = Request::new(action)
                    .with_resource(resource)
                    .with_context(context);
                if now.evaluate(&request).decision == Decision::Allow {
                    prop_assert_eq!(
                        was.evaluate(&request).decision,
                        Decision::Allow,
                        "{} on {} ({:?}) allowed only after the plan",
                        action,
                        resource,
                        region
                    );
                }
            }
        }
    }
    Ok(())
}

fn config() -> PlanConfig {
    PlanConfig {
        diffs: false,
        ..PlanConfig::default()
    }
}

proptest! {
    // Cheap cases, and a lifted Deny that matters needs many to turn up.
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_plan_never_grants_more_and_is_idempotent(
        shape in prop::collection::vec(prop::collection::vec(statement(), 1..5), 1..4),
        managed_shape in prop::collection::vec(prop::collection::vec(statement(), 1..4), 0..3),
        (services, actions) in access(),
        managed in prop::bool::weighted(0.75),
        inline_limit in prop_oneof![3 => Just(INLINE_LIMIT), 1 => 300usize..3000],
    ) {
        let cat = Catalogue::builtin();
        let before = policies_of(&shape);
        let attached = managed_of(&managed_shape);
        let r = role_with(before.clone(), attached.clone());
        let access = role_access(&records(&services, &actions));
        let config = PlanConfig { managed, inline_limit, ..config() };
        let mut planner = Planner::new(cat, config);
        let plan = planner.plan_role(
            RoleInput { role: &r, access: Some(&access), history: &[] },
            NOW,
        );
        let after = plan.inline_after(&before);
        let detached = plan.detached();
        let kept_attached: Vec<AttachedRecord> = attached
            .iter()
            .filter(|a| !detached.contains(&a.arn.as_str()))
            .cloned()
            .collect();
        if !managed {
            prop_assert!(detached.is_empty());
            prop_assert!(plan.managed_unused.iter().all(|m| m.decision == ManagedDecision::Reported));
        }
        if plan.outcome == Outcome::Repo {
            let size: usize = after.iter().map(|p| json_size(&p.document)).sum();
            prop_assert!(size <= inline_limit, "{} > {}", size, inline_limit);
        }

        // Statement by statement, against the inline policy rewritten or the
        // managed policy copied.
        let mut sources = as_map(&before);
        for m in &plan.managed_unused {
            if let ManagedDecision::Replaced { copy, .. } = &m.decision {
                let source = attached.iter().find(|a| a.arn == m.arn).unwrap();
                sources.insert(copy.name.clone(), source.document.clone().unwrap());
            }
        }
        for policy in &after {
            let was = &sources[&policy.name];
            let old_statements = by_sid(was);
            for st in policy.document.statements.iter() {
                let sid = st.sid.clone().unwrap_or_default();
                let prev = old_statements[&sid];
                prop_assert_eq!(st.effect, prev.effect);
                prop_assert_eq!(&st.resource, &prev.resource);
                prop_assert_eq!(&st.condition, &prev.condition);
                let now_grants = statement_actions(cat, st).actions;
                let before_grants = statement_actions(cat, prev).actions;
                if st.effect == Effect::Deny || sid.starts_with("NOREPO") {
                    prop_assert_eq!(st, prev, "left as written");
                } else {
                    prop_assert!(now_grants.is_subset(&before_grants), "statement {} grows", sid);
                }
            }
        }
        // A detached policy's Deny and NOREPO statements all live on in its copy.
        for m in plan.managed_unused.iter().filter(|m| m.decision.detaches()) {
            let doc = attached.iter().find(|a| a.arn == m.arn).unwrap().document.clone().unwrap();
            let copy = match &m.decision {
                ManagedDecision::Replaced { copy, .. } => after.iter().find(|p| p.name == copy.name),
                _ => None,
            };
            for st in doc.statements.iter() {
                if st.effect == Effect::Deny || st.sid.as_deref().unwrap_or("").starts_with("NOREPO") {
                    let kept = copy.is_some_and(|c| c.document.statements.iter().any(|s| s == st));
                    prop_assert!(kept, "{:?} dropped with {}", st.sid, m.arn);
                }
            }
        }
        // Over the role's whole identity policies: whatever is allowed after
        // was allowed before.
        never_grants_more(cat, &r, &after, &kept_attached)?;

        // Planning the planned policies with the same data removes nothing more.
        if plan.outcome == Outcome::Repo {
            let again = planner.plan_role(
                RoleInput {
                    role: &role_with(after.clone(), kept_attached),
                    access: Some(&access),
                    history: &[],
                },
                NOW,
            );
            prop_assert_eq!(again.removed_count, 0, "{:?}", again.removed);
            prop_assert!(again.detached().is_empty());
            prop_assert_eq!(again.outcome, Outcome::Unchanged);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn repo_then_rollback_restores_exactly(
        shape in prop::collection::vec(prop::collection::vec(statement(), 1..4), 1..4),
        (services, actions) in access(),
    ) {
        let cat = Catalogue::builtin();
        let before = policies_of(&shape);
        let iam = MapIam(RefCell::new(as_map(&before)));
        let store = SqliteStore::in_memory().unwrap();
        store.put_roles(&[role(before.clone())], NOW - Duration::days(200)).unwrap();
        store.put_access(&records(&services, &actions), NOW - Duration::days(1)).unwrap();
        let mut planner = Planner::new(cat, config());
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let report = rt
            .block_on(apply::repo(&iam, &store, &mut planner, "shape", true, NOW))
            .unwrap();
        if report.committed {
            prop_assert_eq!(
                &*iam.0.borrow(),
                &as_map(&planned_policies(&before, report.plan.as_ref().unwrap()))
            );
            rt.block_on(apply::rollback(&iam, &store, "shape", None, true, NOW)).unwrap();
        }
        prop_assert_eq!(&*iam.0.borrow(), &as_map(&before));
    }
}
