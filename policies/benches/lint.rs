//! Linting a 100-statement policy with a mix of exact actions, wildcards,
//! scoped resources and conditions.
#![allow(missing_docs, reason = "criterion generates the bench entry points")]

use criterion::{Criterion, criterion_group, criterion_main};
use policies::Policy;
use policies::catalogue::Catalogue;
use policies::lint::{PolicyKind, lint};

fn policy() -> Policy {
    let shapes = [
        r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-N/*"}"#,
        r#"{"Effect":"Allow","Action":"dynamodb:Get*","Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/t-N","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
        r#"{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}"#,
        r#"{"Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}"#,
        r#"{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
    ];
    let statements: Vec<String> = (0..100)
        .map(|i| shapes[i % shapes.len()].replace("-N", &format!("-{i}")))
        .collect();
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    Policy::parse(&text).unwrap_or_else(|e| unreachable!("bench policy parses: {e}"))
}

fn bench(c: &mut Criterion) {
    let cat = Catalogue::builtin();
    let policy = policy();
    c.bench_function("lint_100_statements", |b| {
        b.iter(|| lint(&policy, PolicyKind::Identity, cat))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
