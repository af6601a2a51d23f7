//! Plans 10,000 synthetic roles of 5 inline policies with 20 statements
//! each, with service- and action-level access data (the target:
//! under 2 s on one core).
#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "benches; criterion_group! makes an undocumented fn"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use policies::Policy;
use policies::catalogue::Catalogue;
use repokid::model::{NamedPolicy, Outcome};
use repokid::{PlanConfig, Planner, RoleAccess, RoleInput, RoleRecord};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const ROLES: usize = 10_000;
const NOW: OffsetDateTime = datetime!(2024-05-01 0:00 UTC);
const SERVICES: &[&str] = &[
    "s3",
    "ec2",
    "dynamodb",
    "sqs",
    "sns",
    "lambda",
    "logs",
    "kms",
    "cloudwatch",
    "ssm",
    "secretsmanager",
    "kinesis",
    "glue",
    "athena",
    "ecr",
    "ecs",
    "rds",
    "route53",
    "states",
    "events",
];

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn patterns_of(cat: &Catalogue, service: &str, rng: &mut Rng) -> Vec<String> {
    let svc = cat.service(service).unwrap();
    let actions: Vec<String> = svc.actions().map(|a| a.to_string()).collect();
    match rng.below(6) {
        0 => vec![format!("{service}:Get*"), format!("{service}:List*")],
        1 => vec![format!("{service}:*")],
        2 => vec![format!("{service}:Describe*")],
        _ => (0..1 + rng.below(4))
            .map(|_| actions[rng.below(actions.len())].clone())
            .collect(),
    }
}

fn roles(cat: &Catalogue) -> (Vec<RoleRecord>, Vec<RoleAccess>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut roles = Vec::with_capacity(ROLES);
    let mut access = Vec::with_capacity(ROLES);
    for i in 0..ROLES {
        let inline = (0..5)
            .map(|p| {
                let statements: Vec<serde_json::Value> = (0..20)
                    .map(|s| {
                        let service = SERVICES[rng.below(SERVICES.len())];
                        let mut st = serde_json::json!({
                            "Sid": format!("S{s}"),
                            "Effect": if rng.below(20) == 0 { "Deny" } else { "Allow" },
                            "Action": patterns_of(cat, service, &mut rng),
                            "Resource": format!("arn:aws:{service}:us-east-1:111122223333:thing/r{i}-{s}"),
                        });
                        if rng.below(5) == 0 {
                            st["Condition"] = serde_json::json!({"StringEquals": {"aws:RequestedRegion": "us-east-1"}});
                        }
                        st
                    })
                    .collect();
                let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
                NamedPolicy {
                    name: format!("policy-{p}"),
                    document: Policy::from_value(&doc).unwrap(),
                }
            })
            .collect();
        roles.push(RoleRecord {
            arn: format!("arn:aws:iam::111122223333:role/role-{i}"),
            name: format!("role-{i}"),
            id: format!("AROA{i}"),
            path: "/".into(),
            create_date: Some(datetime!(2021-01-01 0:00 UTC)),
            tags: Vec::new(),
            inline,
            attached: Vec::new(),
        });
        let mut a = RoleAccess::default();
        for service in SERVICES {
            let last = match rng.below(3) {
                0 => None,
                1 => Some(NOW - Duration::days(400)),
                _ => Some(NOW - Duration::days(3)),
            };
            a.services.insert((*service).to_owned(), last);
        }
        for _ in 0..10 {
            let service = SERVICES[rng.below(SERVICES.len())];
            let svc = cat.service(service).unwrap();
            let action = svc.actions().nth(rng.below(svc.actions().len())).unwrap();
            let last = (rng.below(2) == 0).then_some(NOW - Duration::days(200));
            a.actions.insert(
                (service.to_owned(), action.name().to_ascii_lowercase()),
                last,
            );
        }
        a.collected(NOW - Duration::days(1));
        access.push(a);
    }
    (roles, access)
}

fn bench(c: &mut Criterion) {
    let cat = Catalogue::builtin();
    let (roles, access) = roles(cat);
    // What the synthetic roles come to, once, for the README.
    let mut planner = Planner::new(cat, PlanConfig::default());
    let mut outcomes = std::collections::BTreeMap::new();
    for (role, access) in roles.iter().zip(&access).take(1000) {
        let input = RoleInput {
            role,
            access: Some(access),
            history: &[],
        };
        *outcomes
            .entry(planner.plan_role(input, NOW).outcome.label())
            .or_insert(0) += 1;
    }
    eprintln!("outcomes of the first 1,000 roles (with diffs): {outcomes:?}");
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.bench_function("plan_10000_roles", |b| {
        b.iter(|| {
            let config = PlanConfig {
                diffs: false,
                ..PlanConfig::default()
            };
            let mut planner = Planner::new(cat, config);
            let mut repo = 0;
            for (role, access) in roles.iter().zip(&access) {
                let plan = planner.plan_role(
                    RoleInput {
                        role,
                        access: Some(access),
                        history: &[],
                    },
                    NOW,
                );
                repo += usize::from(matches!(
                    plan.outcome,
                    Outcome::Repo | Outcome::Refused { .. }
                ));
                black_box(plan);
            }
            assert!(repo > ROLES / 2, "only {repo} roles with a plan");
            repo
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
