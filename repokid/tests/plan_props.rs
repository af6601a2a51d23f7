//! Properties of plans over generated roles and access data: a plan never
//! grants more than before (statement by statement, resources and
//! conditions untouched), planning the planned policies again removes
//! nothing more, and `repo` then `rollback` restores the policies exactly.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::cell::RefCell;
use std::collections::BTreeMap;

use policies::Policy;
use policies::catalogue::Catalogue;
use policies::expand::statement_actions;
use policies::model::Effect;
use proptest::prelude::*;
use repokid::apply::{self, Iam, planned_policies};
use repokid::model::{AccessRecord, AccessSource, NamedPolicy, Outcome};
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
}

fn statement() -> impl Strategy<Value = GenStatement> {
    (
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::collection::vec(0..PATTERNS.len(), 1..4),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(deny, not_action, patterns, condition, norepo)| GenStatement {
                deny,
                not_action,
                patterns,
                condition,
                norepo,
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

fn policies_of(shape: &[Vec<GenStatement>]) -> Vec<NamedPolicy> {
    shape.iter()
        .enumerate()
        .map(|(p, statements)| {
            let statements: Vec<serde_json::Value> = statements
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let patterns: Vec<&str> = s.patterns.iter().map(|&i| PATTERNS[i]).collect();
                    let key = if s.not_action { "NotAction" } else { "Action" };
                    let sid = if s.norepo {
                        format!("NOREPOp{p}s{i}")
                    } else {
                        format!("p{p}s{i}")
                    };
                    let mut st = serde_json::json!({
                        "Sid": sid,
                        "Effect": if s.deny { "Deny" } else { "Allow" },
                        key: patterns,
                        "Resource": format!("arn:aws:s3:::bucket-{p}-{i}/*"),
                    });
                    if s.condition {
                        st["Condition"] =
                            serde_json::json!({"StringEquals": {"aws:RequestedRegion": "us-east-1"}});
                    }
                    st
                })
                .collect();
            NamedPolicy {
                name: format!("policy-{p}"),
                document: Policy::from_value(
                    &serde_json::json!({"Version": "2012-10-17", "Statement": statements}),
                )
                .unwrap(),
            }
        })
        .collect()
}

fn role(inline: Vec<NamedPolicy>) -> RoleRecord {
    RoleRecord {
        arn: ARN.into(),
        name: "shape".into(),
        id: "AROAGEN".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline,
        attached: Vec::new(),
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

/// IAM as a map of one role's inline policies.
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
}

fn config() -> PlanConfig {
    PlanConfig {
        diffs: false,
        ..PlanConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_plan_never_grants_more_and_is_idempotent(
        shape in prop::collection::vec(prop::collection::vec(statement(), 1..5), 1..4),
        (services, actions) in access(),
    ) {
        let cat = Catalogue::builtin();
        let before = policies_of(&shape);
        let r = role(before.clone());
        let access = role_access(&records(&services, &actions));
        let mut planner = Planner::new(cat, config());
        let plan = planner.plan_role(
            RoleInput { role: &r, access: Some(&access), history: &[] },
            NOW,
        );
        let after = planned_policies(&before, &plan);
        let old = as_map(&before);
        for policy in &after {
            let was = &old[&policy.name];
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

        // Planning the planned policies with the same data removes nothing more.
        if plan.outcome == Outcome::Repo {
            let again = planner.plan_role(
                RoleInput { role: &role(after.clone()), access: Some(&access), history: &[] },
                NOW,
            );
            prop_assert_eq!(again.removed_count, 0, "{:?}", again.removed);
            prop_assert_eq!(again.outcome, Outcome::Unchanged);
        }
    }

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
