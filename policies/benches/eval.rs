//! One request against a 20-statement identity policy with a mix of
//! conditions (StringEquals, StringLike, IpAddress, Bool, DateLessThan,
//! ForAnyValue, policy variables), as `policies eval` and bulk audits run it.
#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "benches; criterion_group! makes an undocumented fn"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use policies::Policy;
use policies::eval::{Caller, Context, Decision, Evaluator, PolicySet, Request};

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "S01", "Effect": "Allow", "Action": ["ec2:Describe*", "ec2:Get*"], "Resource": "*"},
    {"Sid": "S02", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:111122223333:instance/*",
     "Condition": {"StringLike": {"ec2:InstanceType": ["t3.*", "m5.*"]}}},
    {"Sid": "S03", "Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
    {"Sid": "S04", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
     "Condition": {"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["id", "status"]}}},
    {"Sid": "S05", "Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:us-east-1:111122223333:jobs-*"},
    {"Sid": "S06", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]}, "Bool": {"aws:ViaAWSService": "false"}}},
    {"Sid": "S07", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    {"Sid": "S08", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:*:111122223333:log-group:/app/*"},
    {"Sid": "S09", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data",
     "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}},
    {"Sid": "S10", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
    {"Sid": "S11", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": "arn:aws:sns:us-east-1:111122223333:alerts",
     "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}},
    {"Sid": "S12", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
     "Condition": {"StringEquals": {"cloudwatch:namespace": ["App", "Batch"]}}},
    {"Sid": "S13", "Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "arn:aws:ssm:us-east-1:111122223333:parameter/app/*"},
    {"Sid": "S14", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}},
    {"Sid": "S15", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
     "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
    {"Sid": "S16", "Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/app"},
    {"Sid": "S17", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::uploads/*",
     "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}, "Bool": {"aws:SecureTransport": "true"}}},
    {"Sid": "S18", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:111122223333:function:app-*"},
    {"Sid": "S19", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::data/home/${aws:username}/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"},
                   "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                   "ForAnyValue:StringLike": {"aws:PrincipalTag/groups": ["eng-*", "ops"]}}},
    {"Sid": "S20", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::data/restricted/*"}
  ]
}"#;

fn bench(c: &mut Criterion) {
    let set = PolicySet {
        identity: vec![Policy::parse(POLICY).unwrap()],
        ..PolicySet::default()
    };
    let evaluator = Evaluator::new(&set);
    let context = Context::from_entries([
        "aws:SourceIp=10.20.30.40",
        "aws:SecureTransport=true",
        "aws:ViaAWSService=false",
        "aws:CurrentTime=2025-06-01T12:00:00Z",
        "aws:PrincipalTag/team=data",
        "aws:PrincipalTag/groups=[staff,eng-storage]",
    ])
    .unwrap();
    let request = Request::new("s3:GetObject")
        .with_caller(Caller::parse("arn:aws:iam::111122223333:user/alice").unwrap())
        .with_resource("arn:aws:s3:::data/home/alice/report.csv")
        .with_context(context);
    let response = evaluator.evaluate(&request);
    assert_eq!(response.decision, Decision::Allow);
    assert_eq!(response.determining[0].sid, Some("S19"));
    assert!(response.errors.is_empty());

    c.bench_function("eval/request_20_statements", |b| {
        b.iter(|| evaluator.evaluate(black_box(&request)).decision)
    });
    c.bench_function("eval/compile_20_statements", |b| {
        b.iter(|| Evaluator::new(black_box(&set)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
