use serde_json::{Value as Json, json};

use super::*;
use crate::Policy;

fn policy(value: Json) -> Policy {
    Policy::from_value(&value).unwrap()
}

/// `Allow *` on `*` under `condition`, evaluated with `context`: Ok(allowed)
/// or the statement's error.
fn holds(condition: Json, context: Context) -> Result<bool, EvalError> {
    let set = PolicySet {
        identity: vec![policy(json!({
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
        }))],
        ..PolicySet::default()
    };
    let evaluator = Evaluator::new(&set);
    let response = evaluator.evaluate(&Request::new("s3:GetObject").with_context(context));
    if let Some(e) = response.errors.first() {
        return Err(e.error.clone());
    }
    Ok(response.decision == Decision::Allow)
}

fn ctx(entries: &[&str]) -> Context {
    Context::from_entries(entries.iter().copied()).unwrap()
}

fn check(condition: Json, entries: &[&str]) -> bool {
    holds(condition, ctx(entries)).unwrap()
}

#[test]
fn string_equals_is_case_sensitive_and_ors_values() {
    let c = json!({"StringEquals": {"aws:PrincipalTag/team": ["red", "blue"]}});
    assert!(check(c.clone(), &["aws:PrincipalTag/team=red"]));
    assert!(check(c.clone(), &["aws:PrincipalTag/team=blue"]));
    assert!(!check(c.clone(), &["aws:PrincipalTag/team=Red"]));
    assert!(!check(c.clone(), &["aws:PrincipalTag/team=green"]));
    assert!(!check(c, &[]), "absent key: a plain operator is false");
}

#[test]
fn key_names_are_case_insensitive() {
    let c = json!({"StringEquals": {"AWS:PrincipalTag/Team": "red"}});
    assert!(check(c.clone(), &["aws:principaltag/team=red"]));
    assert!(check(c, &["AWS:PRINCIPALTAG/TEAM=red"]));
}

#[test]
fn string_not_equals() {
    let c = json!({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}});
    assert!(!check(c.clone(), &["aws:RequestedRegion=eu-west-1"]));
    assert!(!check(c.clone(), &["aws:RequestedRegion=eu-central-1"]));
    assert!(check(c.clone(), &["aws:RequestedRegion=us-east-1"]));
    assert!(
        check(c, &[]),
        "absent key: a negated operator is true, as AWS documents"
    );
}

#[test]
fn ignore_case_operators() {
    let c = json!({"StringEqualsIgnoreCase": {"aws:username": "ALICE"}});
    assert!(check(c.clone(), &["aws:username=alice"]));
    assert!(!check(c, &["aws:username=alicia"]));
    let c = json!({"StringEqualsIgnoreCase": {"aws:username": "ÉLODIE"}});
    assert!(check(c, &["aws:username=élodie"]));
    let c = json!({"StringNotEqualsIgnoreCase": {"aws:username": "ALICE"}});
    assert!(!check(c.clone(), &["aws:username=Alice"]));
    assert!(check(c, &["aws:username=bob"]));
}

#[test]
fn string_like_wildcards() {
    let c = json!({"StringLike": {"s3:prefix": ["home/*", "shared/?"]}});
    assert!(check(c.clone(), &["s3:prefix=home/alice/x"]));
    assert!(check(c.clone(), &["s3:prefix=shared/a"]));
    assert!(!check(c.clone(), &["s3:prefix=shared/ab"]));
    assert!(!check(c.clone(), &["s3:prefix=Home/alice"]));
    assert!(!check(c, &[]));
    let c = json!({"StringNotLike": {"s3:prefix": "home/*"}});
    assert!(!check(c.clone(), &["s3:prefix=home/x"]));
    assert!(check(c.clone(), &["s3:prefix=tmp/x"]));
    assert!(check(c, &[]));
}

#[test]
fn if_exists() {
    let c = json!({"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro"]}});
    assert!(check(c.clone(), &[]), "absent: IfExists is true");
    assert!(check(c.clone(), &["ec2:InstanceType=t3.micro"]));
    assert!(!check(c, &["ec2:InstanceType=p4d.24xlarge"]));
    let c = json!({"StringNotEqualsIfExists": {"ec2:InstanceType": ["t3.micro"]}});
    assert!(check(c.clone(), &[]));
    assert!(!check(c, &["ec2:InstanceType=t3.micro"]));
    let c = json!({"NumericLessThanIfExists": {"s3:max-keys": "10"}});
    assert!(check(c.clone(), &[]));
    assert!(!check(c, &["s3:max-keys=20"]));
}

#[test]
fn numeric() {
    let at = |op: &str, v: &str| {
        check(
            json!({op: {"s3:max-keys": "10"}}),
            &[&format!("s3:max-keys={v}")],
        )
    };
    assert!(at("NumericEquals", "10"));
    assert!(at("NumericEquals", "10.0"));
    assert!(!at("NumericEquals", "11"));
    assert!(at("NumericNotEquals", "11"));
    assert!(!at("NumericNotEquals", "10"));
    assert!(at("NumericLessThan", "9"));
    assert!(!at("NumericLessThan", "10"));
    assert!(at("NumericLessThanEquals", "10"));
    assert!(at("NumericGreaterThan", "10.5"));
    assert!(!at("NumericGreaterThan", "10"));
    assert!(at("NumericGreaterThanEquals", "10"));
    assert!(!at("NumericGreaterThanEquals", "-3"));
    // JSON numbers in the policy and typed numbers in the request.
    let c = json!({"NumericLessThanEquals": {"s3:max-keys": 10}});
    assert!(holds(c, Context::new().with("s3:max-keys", 7.0)).unwrap());
}

#[test]
fn numeric_errors_name_the_value() {
    let err = holds(
        json!({"NumericLessThan": {"s3:max-keys": "ten"}}),
        ctx(&["s3:max-keys=3"]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("policy value `ten` is not a number"),
        "{text}"
    );
    let err = holds(
        json!({"NumericLessThan": {"s3:max-keys": "10"}}),
        ctx(&["s3:max-keys=lots"]),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("request value `lots` is not a number"),
        "{err}"
    );
}

#[test]
fn dates_iso_and_epoch() {
    let before = json!({"DateLessThan": {"aws:CurrentTime": "2024-06-30T00:00:00Z"}});
    assert!(check(
        before.clone(),
        &["aws:CurrentTime=2024-06-29T23:59:59Z"]
    ));
    assert!(!check(
        before.clone(),
        &["aws:CurrentTime=2024-06-30T00:00:00Z"]
    ));
    assert!(check(
        before.clone(),
        &["aws:CurrentTime=2024-06-30T01:00:00+02:00"]
    ));
    assert!(check(before.clone(), &["aws:CurrentTime=1719705599"]));
    assert!(!check(before.clone(), &[]));
    let at = time::OffsetDateTime::from_unix_timestamp(1_719_000_000).unwrap();
    assert!(holds(before, Context::new().with("aws:CurrentTime", at)).unwrap());
    let epoch = json!({"DateGreaterThanEquals": {"aws:EpochTime": "1719705600"}});
    assert!(check(epoch.clone(), &["aws:EpochTime=1719705600"]));
    assert!(check(epoch.clone(), &["aws:EpochTime=2024-07-01"]));
    assert!(!check(epoch, &["aws:EpochTime=1719705599"]));
    let equals = json!({"DateEquals": {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}});
    assert!(check(
        equals.clone(),
        &["aws:TokenIssueTime=2024-01-01T01:00:00+01:00"]
    ));
    let not_equals = json!({"DateNotEquals": {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}});
    assert!(!check(
        not_equals.clone(),
        &["aws:TokenIssueTime=2024-01-01T00:00:00Z"]
    ));
    assert!(check(not_equals, &[]));
    let c = json!({"DateGreaterThan": {"aws:CurrentTime": "2024-01-01"}});
    assert!(check(c.clone(), &["aws:CurrentTime=2024-01-01T00:00:01Z"]));
    assert!(!check(c.clone(), &["aws:CurrentTime=2023-12-31T23:59:59Z"]));
    assert!(check(
        json!({"DateLessThanEquals": {"aws:CurrentTime": "2024-01-01"}}),
        &["aws:CurrentTime=2024-01-01T00:00:00Z"]
    ));
    let err = holds(c, ctx(&["aws:CurrentTime=yesterday"])).unwrap_err();
    assert!(err.to_string().contains("is not a date"), "{err}");
    let err = holds(
        json!({"DateLessThan": {"aws:CurrentTime": "2024-02-30"}}),
        ctx(&[]),
    )
    .unwrap_err();
    assert!(matches!(err, EvalError::PolicyValue { .. }), "{err}");
}

#[test]
fn bool_operator() {
    let c = json!({"Bool": {"aws:SecureTransport": "false"}});
    assert!(check(c.clone(), &["aws:SecureTransport=false"]));
    assert!(check(c.clone(), &["aws:SecureTransport=FALSE"]));
    assert!(!check(c.clone(), &["aws:SecureTransport=true"]));
    assert!(!check(c.clone(), &[]));
    assert!(holds(c.clone(), Context::new().with("aws:SecureTransport", false)).unwrap());
    let c = json!({"Bool": {"aws:MultiFactorAuthPresent": true}});
    assert!(check(c.clone(), &["aws:MultiFactorAuthPresent=true"]));
    assert!(holds(c, ctx(&["aws:MultiFactorAuthPresent=maybe"])).is_err());
    assert!(holds(json!({"Bool": {"k": "yes"}}), ctx(&[])).is_err());
}

#[test]
fn binary_equals() {
    let c = json!({"BinaryEquals": {"key": "QmluYXJ5VmFsdWU="}});
    assert!(check(c.clone(), &["key=QmluYXJ5VmFsdWU="]));
    assert!(
        holds(
            c.clone(),
            Context::new().with("key", Value::Binary(b"BinaryValue".to_vec()))
        )
        .unwrap()
    );
    assert!(!check(c.clone(), &["key=QmluYXJ5"]));
    assert!(holds(c, ctx(&["key=not base64!"])).is_err());
}

#[test]
fn ip_addresses_v4_and_v6() {
    let c =
        json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"]}});
    assert!(check(c.clone(), &["aws:SourceIp=203.0.113.200"]));
    assert!(check(c.clone(), &["aws:SourceIp=198.51.100.7"]));
    assert!(!check(c.clone(), &["aws:SourceIp=198.51.100.8"]));
    assert!(check(c.clone(), &["aws:SourceIp=2001:db8:1234::1"]));
    assert!(check(c.clone(), &["aws:SourceIp=2001:DB8::"]));
    assert!(!check(c.clone(), &["aws:SourceIp=2001:db9::1"]));
    assert!(!check(c.clone(), &["aws:SourceIp=10.0.0.1"]));
    assert!(!check(c.clone(), &[]));
    let ip: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    assert!(holds(c.clone(), Context::new().with("aws:SourceIp", ip)).unwrap());
    let err = holds(c, ctx(&["aws:SourceIp=intranet"])).unwrap_err();
    assert!(err.to_string().contains("not an IP address"), "{err}");
    let not = json!({"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}});
    assert!(check(not.clone(), &["aws:SourceIp=10.0.0.1"]));
    assert!(!check(not.clone(), &["aws:SourceIp=192.0.2.1"]));
    assert!(!check(not.clone(), &["aws:SourceIp=2001:db8::5"]));
    assert!(check(not, &[]));
    assert!(
        holds(
            json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/40"}}),
            ctx(&[])
        )
        .is_err()
    );
}

#[test]
fn arn_operators_with_wildcards_per_part() {
    let c = json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:111122223333:topic-?"}});
    assert!(check(
        c.clone(),
        &["aws:SourceArn=arn:aws:sns:us-east-1:111122223333:topic-a"]
    ));
    assert!(!check(
        c.clone(),
        &["aws:SourceArn=arn:aws:sns:us-east-1:444455556666:topic-a"]
    ));
    assert!(!check(
        c.clone(),
        &["aws:SourceArn=arn:aws:sns:us-east-1:111122223333:Topic-a"]
    ));
    assert!(!check(c.clone(), &[]));
    let c = json!({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}});
    assert!(check(
        c.clone(),
        &["aws:PrincipalArn=arn:aws:iam::111122223333:role/admin"]
    ));
    assert!(!check(
        c,
        &["aws:PrincipalArn=arn:aws:iam::111122223333:role/Admin"]
    ));
    let c = json!({"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/ops-*"]}});
    assert!(check(
        c.clone(),
        &["aws:PrincipalArn=arn:aws:iam::111122223333:role/dev"]
    ));
    assert!(!check(
        c.clone(),
        &["aws:PrincipalArn=arn:aws:iam::111122223333:role/ops-1"]
    ));
    assert!(check(c, &[]));
    let c = json!({"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::bucket"}});
    assert!(!check(c.clone(), &["aws:SourceArn=arn:aws:s3:::bucket"]));
    assert!(check(c, &["aws:SourceArn=arn:aws:s3:::other"]));
}

#[test]
fn null_check() {
    let absent = json!({"Null": {"aws:TokenIssueTime": "true"}});
    assert!(check(absent.clone(), &[]));
    assert!(
        check(absent.clone(), &["aws:TokenIssueTime=[]"]),
        "an empty set counts as absent"
    );
    assert!(!check(absent, &["aws:TokenIssueTime=2024-01-01T00:00:00Z"]));
    let present = json!({"Null": {"aws:TokenIssueTime": false}});
    assert!(!check(present.clone(), &[]));
    assert!(check(present, &["aws:TokenIssueTime=x"]));
}

#[test]
fn for_all_values() {
    let c = json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}});
    assert!(check(c.clone(), &[]), "absent key: ForAllValues is true");
    assert!(
        check(c.clone(), &["aws:TagKeys=[]"]),
        "empty set: ForAllValues is true"
    );
    assert!(check(c.clone(), &["aws:TagKeys=[team]"]));
    assert!(check(c.clone(), &["aws:TagKeys=[env,team]"]));
    assert!(!check(c.clone(), &["aws:TagKeys=[env,team,owner]"]));
    assert!(!check(c, &["aws:TagKeys=Team"]));
    let c = json!({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["owner"]}});
    assert!(check(c.clone(), &["aws:TagKeys=[team,env]"]));
    assert!(!check(c.clone(), &["aws:TagKeys=[team,owner]"]));
    assert!(check(c, &[]));
    let c = json!({"ForAllValues:StringLike": {"aws:TagKeys": ["app-*"]}});
    assert!(check(c.clone(), &["aws:TagKeys=[app-a,app-b]"]));
    assert!(!check(c, &["aws:TagKeys=[app-a,b]"]));
}

#[test]
fn for_any_value() {
    let c = json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}});
    assert!(!check(c.clone(), &[]), "absent key: ForAnyValue is false");
    assert!(
        !check(c.clone(), &["aws:TagKeys=[]"]),
        "empty set: ForAnyValue is false"
    );
    assert!(check(c.clone(), &["aws:TagKeys=[owner,env]"]));
    assert!(!check(c, &["aws:TagKeys=[owner,cost]"]));
    let c = json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team"]}});
    assert!(check(c.clone(), &["aws:TagKeys=[team,env]"]));
    assert!(!check(c.clone(), &["aws:TagKeys=[team]"]));
    assert!(!check(c, &[]));
    let c = json!({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["team"]}});
    assert!(check(c.clone(), &[]), "IfExists makes an absent key true");
    assert!(!check(c, &["aws:TagKeys=[env]"]));
    let c = json!({"ForAnyValue:IpAddress": {"k": "10.0.0.0/8"}});
    assert!(check(c, &["k=[192.0.2.1,10.1.1.1]"]));
}

#[test]
fn multi_valued_key_without_qualifier() {
    let c = json!({"StringEquals": {"aws:TagKeys": "team"}});
    assert!(check(c.clone(), &["aws:TagKeys=[env,team]"]));
    assert!(!check(c, &["aws:TagKeys=[env,owner]"]));
    let c = json!({"StringNotEquals": {"aws:TagKeys": "team"}});
    assert!(!check(c.clone(), &["aws:TagKeys=[env,team]"]));
    assert!(check(c, &["aws:TagKeys=[env,owner]"]));
}

#[test]
fn several_keys_and_operators_must_all_hold() {
    let c = json!({
        "StringEquals": {"aws:PrincipalTag/department": ["finance", "hr", "legal"], "aws:PrincipalTag/role": ["audit", "security"]},
        "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:user/Ana", "arn:aws:iam::222222222222:user/Mary"]}
    });
    let mary = "aws:PrincipalArn=arn:aws:iam::222222222222:user/Mary";
    let nikki = "aws:PrincipalArn=arn:aws:iam::222222222222:user/Nikki";
    assert!(check(
        c.clone(),
        &[
            "aws:PrincipalTag/department=legal",
            "aws:PrincipalTag/role=audit",
            mary
        ]
    ));
    assert!(!check(
        c.clone(),
        &[
            "aws:PrincipalTag/department=hr",
            "aws:PrincipalTag/role=audit",
            nikki
        ]
    ));
    assert!(!check(
        c.clone(),
        &[
            "aws:PrincipalTag/department=hr",
            "aws:PrincipalTag/role=payroll",
            mary
        ]
    ));
    assert!(!check(c, &["aws:PrincipalTag/department=hr", mary]));
}

#[test]
fn variables_in_condition_values() {
    let c = json!({"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}});
    assert!(check(
        c.clone(),
        &["s3:ExistingObjectTag/team=red", "aws:PrincipalTag/team=red"]
    ));
    assert!(!check(
        c.clone(),
        &[
            "s3:ExistingObjectTag/team=red",
            "aws:PrincipalTag/team=blue"
        ]
    ));
    assert!(
        !check(c, &["s3:ExistingObjectTag/team=red"]),
        "no value: StringEquals does not match"
    );
    // AWS: inverted operators do match against a variable with no value.
    let c = json!({"StringNotEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}});
    assert!(check(c.clone(), &["s3:ExistingObjectTag/team=red"]));
    assert!(!check(
        c,
        &["s3:ExistingObjectTag/team=red", "aws:PrincipalTag/team=red"]
    ));
    let c = json!({"StringLike": {"s3:prefix": ["home/${aws:username}/*", "${*}"]}});
    assert!(check(
        c.clone(),
        &["s3:prefix=home/bob/a", "aws:username=bob"]
    ));
    assert!(!check(
        c.clone(),
        &["s3:prefix=home/eve/a", "aws:username=bob"]
    ));
    assert!(
        check(c.clone(), &["s3:prefix=*", "aws:username=bob"]),
        "${{*}} is a literal star"
    );
    assert!(!check(c, &["s3:prefix=x", "aws:username=bob"]));
    let c = json!({"ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:${aws:PrincipalAccount}:*"}});
    assert!(check(
        c.clone(),
        &[
            "aws:SourceArn=arn:aws:sqs:us-east-1:111122223333:q",
            "aws:PrincipalAccount=111122223333"
        ]
    ));
    assert!(!check(
        c,
        &[
            "aws:SourceArn=arn:aws:sqs:us-east-1:444455556666:q",
            "aws:PrincipalAccount=111122223333"
        ]
    ));
    // No substitution in numeric values.
    assert!(
        holds(
            json!({"NumericEquals": {"k": "${n}"}}),
            ctx(&["k=1", "n=1"])
        )
        .is_err()
    );
}

#[test]
fn variables_only_in_version_2012() {
    let evaluate = |version: Option<&str>, username: &str| {
        let mut doc = json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}});
        if let Some(v) = version {
            doc["Version"] = json!(v);
        }
        let evaluator = Evaluator::new(&PolicySet {
            identity: vec![policy(doc)],
            ..PolicySet::default()
        });
        let request = Request::new("s3:GetObject")
            .with_resource(&format!("arn:aws:s3:::b/{username}/k"))
            .with_context(ctx(&["aws:username=bob"]));
        evaluator.evaluate(&request).decision
    };
    assert_eq!(evaluate(Some("2012-10-17"), "bob"), Decision::Allow);
    assert_eq!(evaluate(Some("2012-10-17"), "eve"), Decision::ImplicitDeny);
    assert_eq!(evaluate(Some("2008-10-17"), "bob"), Decision::ImplicitDeny);
    assert_eq!(evaluate(None, "bob"), Decision::ImplicitDeny);
    assert_eq!(evaluate(None, "${aws:username}"), Decision::Allow);
}

fn identity(statements: Json) -> Evaluator {
    Evaluator::new(&PolicySet {
        identity: vec![policy(
            json!({"Version": "2012-10-17", "Statement": statements}),
        )],
        ..PolicySet::default()
    })
}

#[test]
fn actions_case_insensitive_resources_case_sensitive() {
    let e = identity(
        json!([{"Sid": "A", "Effect": "Allow", "Action": ["S3:get*", "ec2:DescribeInstances"], "Resource": "arn:aws:s3:::Bucket/*"}]),
    );
    let allowed = |action: &str, resource: &str| {
        e.evaluate(&Request::new(action).with_resource(resource))
            .decision
            == Decision::Allow
    };
    assert!(allowed("s3:GetObject", "arn:aws:s3:::Bucket/k"));
    assert!(allowed("S3:GETOBJECT", "arn:aws:s3:::Bucket/k"));
    assert!(!allowed("s3:PutObject", "arn:aws:s3:::Bucket/k"));
    assert!(!allowed("s3:GetObject", "arn:aws:s3:::bucket/k"));
    assert!(!allowed(
        "ec2:DescribeInstances",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-1"
    ));
    // A request without a resource is `*`, matched only by `"Resource": "*"`.
    assert!(!allowed("s3:GetObject", "*"));
    let e = identity(json!({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}));
    assert_eq!(
        e.evaluate(&Request::new("ec2:DescribeRegions")).decision,
        Decision::Allow
    );
}

#[test]
fn not_action_and_not_resource() {
    let e = identity(json!([
        {"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Sid": "NotLogs", "Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"]}
    ]));
    let decide =
        |action: &str, resource: &str| e.evaluate(&Request::new(action).with_resource(resource));
    assert_eq!(
        decide("iam:CreateUser", "arn:aws:iam::1:user/x").decision,
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide("s3:GetObject", "arn:aws:s3:::data/k").decision,
        Decision::Allow
    );
    let denied = decide("s3:GetObject", "arn:aws:s3:::logs/k");
    assert_eq!(denied.decision, Decision::ExplicitDeny);
    assert_eq!(denied.determining[0].sid, Some("NotLogs"));
    assert_eq!(
        decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q").decision,
        Decision::Allow
    );
}

#[test]
fn erroring_statement_is_skipped_and_reported() {
    let e = identity(json!([
        {"Sid": "Broken", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "someday"}}},
        {"Sid": "Fine", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    ]));
    let response = e.evaluate(&Request::new("s3:ListBucket"));
    assert_eq!(response.decision, Decision::Allow);
    assert_eq!(response.errors.len(), 1);
    assert_eq!(response.errors[0].statement.sid, Some("Broken"));
    assert_eq!(response.errors[0].statement.statement, 0);
    // Not reported when the statement does not apply to the action anyway.
    let e = identity(
        json!({"Effect": "Deny", "Action": "ec2:*", "Resource": "*", "Condition": {"Bool": {"k": "perhaps"}}}),
    );
    assert!(e.evaluate(&Request::new("s3:ListBucket")).errors.is_empty());
}

#[test]
fn response_reports_what_decided() {
    let set = PolicySet {
        identity: vec![
            policy(json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
            policy(
                json!({"Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}),
            ),
        ],
        permissions_boundary: Some(policy(
            json!({"Statement": {"Sid": "B", "Effect": "Allow", "Action": "s3:List*", "Resource": "*"}}),
        )),
        scps: vec![
            vec![policy(
                json!({"Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}}),
            )],
            vec![policy(
                json!({"Statement": {"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}),
            )],
        ],
        ..PolicySet::default()
    };
    let e = Evaluator::new(&set);
    let response = e.evaluate(&Request::new("s3:GetObject"));
    assert_eq!(response.decision, Decision::ImplicitDeny);
    assert_eq!(
        response.missing,
        [PolicyRef {
            layer: Layer::PermissionsBoundary,
            level: None
        }]
    );
    let response = e.evaluate(&Request::new("s3:ListBucket"));
    assert_eq!(response.decision, Decision::Allow);
    let refs: Vec<String> = response
        .determining
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        refs,
        [
            "identity policy 0, statement 0",
            "permissions boundary policy, statement 0 (`B`)",
            "SCP policy 0, statement 0 (`All`)",
            "SCP policy 1, statement 0 (`S3`)"
        ]
    );
    let response = e.evaluate(&Request::new("ec2:RunInstances"));
    assert_eq!(
        response.missing,
        [
            PolicyRef {
                layer: Layer::Identity,
                level: None
            },
            PolicyRef {
                layer: Layer::PermissionsBoundary,
                level: None
            },
            PolicyRef {
                layer: Layer::Scp,
                level: Some(1)
            }
        ]
    );
}

fn resource_set(
    resource: Json,
    identity_statements: Option<Json>,
    boundary: Option<Json>,
) -> Evaluator {
    Evaluator::new(&PolicySet {
        identity: identity_statements
            .map(|s| policy(json!({"Version": "2012-10-17", "Statement": s})))
            .into_iter()
            .collect(),
        resource: Some(policy(
            json!({"Version": "2012-10-17", "Statement": resource}),
        )),
        permissions_boundary: boundary
            .map(|s| policy(json!({"Version": "2012-10-17", "Statement": s}))),
        ..PolicySet::default()
    })
}

fn read(caller: &str) -> Request {
    Request::new("s3:GetObject")
        .with_caller(Caller::parse(caller).unwrap())
        .with_resource("arn:aws:s3:::bucket/k")
        .with_resource_account("111122223333")
}

const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/i-1";
const ROLE: &str = "arn:aws:iam::111122223333:role/app";

#[test]
fn resource_policy_principals_same_account() {
    let allow = |principal: Json| json!({"Sid": "R", "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"});
    let boundary = Some(json!({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}));
    // The session named directly: allowed despite the boundary and no identity policy.
    let e = resource_set(allow(json!({"AWS": SESSION})), None, boundary.clone());
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::Allow);
    // The role named: the boundary must allow.
    let e = resource_set(allow(json!({"AWS": ROLE})), None, boundary.clone());
    let response = e.evaluate(&read(SESSION));
    assert_eq!(response.decision, Decision::ImplicitDeny);
    assert!(response.missing.contains(&PolicyRef {
        layer: Layer::PermissionsBoundary,
        level: None
    }));
    let e = resource_set(allow(json!({"AWS": ROLE})), None, None);
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::Allow);
    // The account named: the identity policies must allow.
    let e = resource_set(allow(json!({"AWS": "111122223333"})), None, None);
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::ImplicitDeny);
    let e = resource_set(
        allow(json!({"AWS": "arn:aws:iam::111122223333:root"})),
        Some(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})),
        None,
    );
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::Allow);
    // Another principal named: no effect.
    let e = resource_set(
        allow(json!({"AWS": "arn:aws:iam::111122223333:user/bob"})),
        None,
        None,
    );
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::ImplicitDeny);
    assert_eq!(
        e.evaluate(&read("arn:aws:iam::111122223333:user/bob"))
            .decision,
        Decision::Allow
    );
    // Everyone, including anonymous callers.
    let e = resource_set(allow(json!("*")), None, None);
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::Allow);
    let anonymous = Request::new("s3:GetObject").with_resource("arn:aws:s3:::bucket/k");
    assert_eq!(e.evaluate(&anonymous).decision, Decision::Allow);
    // Services.
    let e = resource_set(
        allow(json!({"Service": "cloudtrail.amazonaws.com"})),
        None,
        None,
    );
    let service = Request::new("s3:GetObject")
        .with_caller(Caller::service("cloudtrail.amazonaws.com"))
        .with_resource("arn:aws:s3:::bucket/k");
    assert_eq!(e.evaluate(&service).decision, Decision::Allow);
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::ImplicitDeny);
    // A statement without Principal names nobody.
    let e = resource_set(
        json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        None,
        None,
    );
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::ImplicitDeny);
}

#[test]
fn not_principal_deny_with_boundary() {
    let deny = json!([
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "OnlyApp", "Effect": "Deny", "NotPrincipal": {"AWS": [SESSION, ROLE, "111122223333"]}, "Action": "s3:*", "Resource": "*"}
    ]);
    let e = resource_set(deny.clone(), None, None);
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::Allow);
    assert_eq!(
        e.evaluate(&read("arn:aws:iam::444455556666:user/x"))
            .decision,
        Decision::ExplicitDeny
    );
    // AWS documents that with a boundary the NotPrincipal deny always applies.
    let e = resource_set(
        deny,
        None,
        Some(json!({"Effect": "Allow", "Action": "*", "Resource": "*"})),
    );
    assert_eq!(e.evaluate(&read(SESSION)).decision, Decision::ExplicitDeny);
}

#[test]
fn root_user_needs_no_identity_policy() {
    let e = identity(
        json!({"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}),
    );
    let root = |action: &str| {
        e.evaluate(&Request::new(action).with_caller(Caller::parse("111122223333").unwrap()))
    };
    assert_eq!(root("s3:GetObject").decision, Decision::Allow);
    assert_eq!(root("s3:DeleteBucket").decision, Decision::ExplicitDeny);
}

#[test]
fn key_policy_must_allow_in_same_account() {
    let key = json!({"Sid": "Key", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:Encrypt", "Resource": "*"});
    let id = json!({"Sid": "Id", "Effect": "Allow", "Action": "kms:*", "Resource": "*"});
    let e = resource_set(key, Some(id.clone()), None);
    let call = |action: &str| {
        e.evaluate(
            &Request::new(action)
                .with_caller(Caller::parse("arn:aws:iam::111122223333:user/alice").unwrap())
                .with_resource("arn:aws:kms:us-east-1:111122223333:key/k"),
        )
    };
    assert_eq!(call("kms:Encrypt").decision, Decision::Allow);
    let decrypt = call("kms:Decrypt");
    assert_eq!(decrypt.decision, Decision::ImplicitDeny);
    assert_eq!(
        decrypt.missing,
        [PolicyRef {
            layer: Layer::Resource,
            level: None
        }]
    );
    // Without a key policy given, the identity policies decide alone.
    let e = identity(id);
    assert_eq!(
        e.evaluate(&Request::new("kms:Decrypt")).decision,
        Decision::Allow
    );
}

#[test]
fn scps_of_one_level_combine() {
    let full = policy(
        json!({"Statement": {"Sid": "Full", "Effect": "Allow", "Action": "*", "Resource": "*"}}),
    );
    let deny = policy(
        json!({"Statement": {"Sid": "NoLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}}),
    );
    let admin = policy(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}));
    let e = Evaluator::new(&PolicySet {
        identity: vec![admin.clone()],
        scps: vec![vec![full.clone()], vec![full, deny.clone()]],
        ..PolicySet::default()
    });
    let response = e.evaluate(&Request::new("ec2:RunInstances"));
    assert_eq!(response.decision, Decision::Allow);
    let sids: Vec<_> = response
        .determining
        .iter()
        .map(|s| (s.policy, s.sid))
        .collect();
    assert_eq!(sids, [(0, None), (0, Some("Full")), (1, Some("Full"))]);
    assert_eq!(
        e.evaluate(&Request::new("organizations:LeaveOrganization"))
            .decision,
        Decision::ExplicitDeny
    );
    // A level holding only a deny-only SCP allows nothing.
    let e = Evaluator::new(&PolicySet {
        identity: vec![admin],
        scps: vec![vec![deny]],
        ..PolicySet::default()
    });
    let response = e.evaluate(&Request::new("ec2:RunInstances"));
    assert_eq!(response.decision, Decision::ImplicitDeny);
    assert_eq!(response.missing[0].to_string(), "SCP level 0");
}

#[test]
fn scps_do_not_apply_to_service_principals() {
    let set = PolicySet {
        resource: Some(policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*"}}),
        )),
        scps: vec![vec![policy(
            json!({"Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}}),
        )]],
        ..PolicySet::default()
    };
    let e = Evaluator::new(&set);
    let request = Request::new("sqs:SendMessage").with_caller(Caller::service("sns.amazonaws.com"));
    assert_eq!(e.evaluate(&request).decision, Decision::Allow);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn action() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "s3:GetObject",
            "s3:PutObject",
            "ec2:RunInstances",
            "iam:PassRole",
            "kms:Decrypt",
        ])
        .prop_map(str::to_owned)
    }

    fn statement() -> impl Strategy<Value = Json> {
        (
            prop::bool::ANY,
            prop::sample::select(vec!["*", "s3:*", "s3:Get*", "ec2:*", "iam:PassRole", "kms:*"]),
            prop::sample::select(vec!["*", "arn:aws:s3:::b/*", "arn:aws:ec2:*:*:instance/*"]),
            prop::option::of(prop::sample::select(vec![
                json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
                json!({"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}),
                json!({"ForAnyValue:StringLike": {"aws:TagKeys": "t*"}}),
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
            ])),
        )
            .prop_map(|(allow, action, resource, condition)| {
                let mut s = json!({"Effect": if allow { "Allow" } else { "Deny" }, "Action": action, "Resource": resource});
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            })
    }

    fn policy_of(statements: Vec<Json>) -> Policy {
        policy(json!({"Version": "2012-10-17", "Statement": statements}))
    }

    fn context() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::sample::select(vec![
                "aws:MultiFactorAuthPresent=true",
                "aws:MultiFactorAuthPresent=false",
                "aws:RequestedRegion=us-east-1",
                "aws:RequestedRegion=eu-west-1",
                "aws:TagKeys=[team,env]",
                "aws:SourceIp=10.1.2.3",
                "aws:SourceIp=192.0.2.1",
                "aws:CurrentTime=2024-01-01T00:00:00Z",
            ])
            .prop_map(str::to_owned),
            0..5,
        )
    }

    proptest! {
        #[test]
        fn an_added_deny_for_the_action_always_wins(
            identity in prop::collection::vec(statement(), 0..6),
            boundary in prop::option::of(prop::collection::vec(statement(), 1..4)),
            scp in prop::option::of(prop::collection::vec(statement(), 1..4)),
            layer in 0..3usize,
            action in action(),
            entries in context(),
        ) {
            let mut set = PolicySet {
                identity: vec![policy_of(identity)],
                permissions_boundary: boundary.map(policy_of),
                scps: scp.map(|s| vec![policy_of(s)]).into_iter().collect(),
                ..PolicySet::default()
            };
            let request = Request::new(&action)
                .with_resource("arn:aws:s3:::b/k")
                .with_context(Context::from_entries(entries.iter().map(String::as_str)).unwrap());
            let before = Evaluator::new(&set).evaluate(&request).decision;
            let deny = json!({"Sid": "Added", "Effect": "Deny", "Action": action, "Resource": "*"});
            let target = match layer {
                1 => set.permissions_boundary.as_mut(),
                2 => set.scps.first_mut().and_then(|level| level.first_mut()),
                _ => set.identity.first_mut(),
            };
            match target {
                Some(p) => {
                    let mut statements = p.statements.as_slice().to_vec();
                    statements.push(policy_of(vec![deny]).statements.as_slice()[0].clone());
                    p.statements = crate::OneOrMany::Many(statements);
                }
                None => set.identity.push(policy_of(vec![deny])),
            }
            let evaluator = Evaluator::new(&set);
            let after = evaluator.evaluate(&request);
            prop_assert_eq!(after.decision, Decision::ExplicitDeny, "before: {}", before);
            prop_assert!(after.determining.iter().any(|s| s.sid == Some("Added")));
        }

        #[test]
        fn never_panics_on_arbitrary_context(
            keys in prop::collection::vec("[a-zA-Z:/]{1,12}", 0..4),
            values in prop::collection::vec(".{0,24}", 0..4),
            raw in prop::collection::vec(".{0,30}", 0..4),
        ) {
            let mut condition = serde_json::Map::new();
            for kind in crate::model::OperatorKind::ALL {
                for prefix in ["", "ForAllValues:", "ForAnyValue:"] {
                    if *kind == crate::model::OperatorKind::Null && !prefix.is_empty() {
                        continue;
                    }
                    let values: Vec<Json> = values.iter().map(|v| json!(v)).chain([json!("${k}")]).collect();
                    let mut entry = serde_json::Map::new();
                    for key in keys.iter().chain([&"k".to_owned()]) {
                        entry.insert(key.clone(), json!(values));
                    }
                    condition.insert(format!("{prefix}{}", kind.as_str()), Json::Object(entry));
                }
            }
            let e = identity(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}));
            let mut context = Context::new();
            for (key, value) in keys.iter().zip(values.iter()) {
                context.add_entry(&format!("{key}={value}")).unwrap();
            }
            for entry in &raw {
                let _ = context.add_entry(entry);
            }
            let response = e.evaluate(&Request::new("s3:GetObject").with_context(context));
            prop_assert!(response.decision != Decision::ExplicitDeny);
        }
    }
}
