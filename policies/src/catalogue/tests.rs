//! Tests of the embedded catalogue data.

use super::*;

fn cat() -> &'static Catalogue {
    Catalogue::try_builtin().unwrap()
}

#[test]
fn builtin_parses_and_counts_are_sane() {
    let fresh = Catalogue::parse_builtin().unwrap();
    assert!(fresh.services().len() > 350, "{}", fresh.services().len());
    assert!(fresh.action_count() > 15_000, "{}", fresh.action_count());
    assert!(fresh.global_condition_keys().len() > 50);
    assert_eq!(fresh.action_count(), cat().action_count());
    assert!(std::ptr::eq(Catalogue::builtin(), cat()));
}

#[test]
fn s3_get_object() {
    let get = cat().action("s3:getobject").unwrap();
    assert_eq!(get.name(), "GetObject");
    assert_eq!(get.to_string(), "s3:GetObject");
    assert_eq!(get.service().name(), "Amazon S3");
    assert_eq!(get.access_level(), AccessLevel::Read);
    let object = get
        .resource_types()
        .find(|r| r.resource_type().name() == "object")
        .unwrap();
    // The source lists `object` and `accesspointobject` as alternatives, so
    // neither is marked required.
    assert!(!object.required());
    assert_eq!(
        object.resource_type().arn(),
        "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    );
    assert_eq!(cat().get(get.id()).unwrap().name(), "GetObject");
    assert_eq!(cat().action_id("S3:GETOBJECT"), Some(get.id()));
    // Templated service keys and global keys.
    let tag = get.condition_key("s3:ExistingObjectTag/team").unwrap();
    assert_eq!(tag.name(), "s3:ExistingObjectTag/<key>");
    assert!(tag.is_templated());
    assert_eq!(
        get.condition_key("aws:PrincipalTag/team").unwrap().name(),
        "aws:PrincipalTag/${TagKey}"
    );
    assert_eq!(
        get.condition_key("aws:SourceIp").unwrap().key_type(),
        ConditionKeyType::IpAddress
    );
    assert!(get.condition_key("s3:NotAKey").is_none());
    // A key of another S3 action is not one of GetObject's.
    assert!(get.condition_key("s3:x-amz-acl").is_none());
    assert!(
        cat()
            .action("s3:PutObject")
            .unwrap()
            .condition_key("s3:RequestObjectTag/team")
            .is_some()
    );
}

#[test]
fn iam_pass_role() {
    let pass = cat().action("iam:PassRole").unwrap();
    assert_eq!(pass.access_level(), AccessLevel::PermissionsManagement);
    let key = pass.condition_key("iam:PassedToService").unwrap();
    assert_eq!(key.name(), "iam:PassedToService");
    assert_eq!(key.key_type(), ConditionKeyType::String);
    assert!(
        pass.own_condition_keys()
            .any(|k| k.name() == "iam:PassedToService")
    );
    let role = pass.resource_types().next().unwrap();
    assert!(role.required());
    assert_eq!(role.resource_type().name(), "role");
    assert!(role.resource_type().arn().contains(":role/"));
}

#[test]
fn services_and_lookups() {
    let s3 = cat().service("S3").unwrap();
    assert_eq!(s3.prefix(), "s3");
    assert!(s3.actions().len() > 100);
    assert!(s3.resource_type("BUCKET").is_some());
    assert_eq!(
        s3.condition_key("s3:x-amz-acl").unwrap().key_type(),
        ConditionKeyType::String
    );
    let ids: Vec<_> = s3.actions().map(|a| a.id().index()).collect();
    assert_eq!(ids.first().copied(), Some(s3.action_range().start));
    assert!(cat().service("nosuchservice").is_none());
    assert!(cat().action("s3").is_none());
    assert!(cat().action("s3:NoSuchAction").is_none());

    // Ids follow the lowercase order of `prefix:name`, service by service.
    let names: Vec<(String, String)> = cat()
        .actions()
        .map(|a| {
            (
                a.service().prefix().to_ascii_lowercase(),
                a.name().to_ascii_lowercase(),
            )
        })
        .collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    for (i, a) in cat().actions().enumerate().step_by(97) {
        assert_eq!(a.id().index(), i);
        assert_eq!(cat().action(&a.to_string()).unwrap().id(), a.id());
    }
}

#[test]
fn global_keys() {
    let c = cat();
    for (name, ty) in [
        ("aws:SourceIp", ConditionKeyType::IpAddress),
        ("aws:PrincipalOrgID", ConditionKeyType::String),
        ("aws:SourceVpce", ConditionKeyType::String),
        ("aws:username", ConditionKeyType::String),
        ("aws:TagKeys", ConditionKeyType::ArrayOfString),
        ("aws:MultiFactorAuthPresent", ConditionKeyType::Bool),
        ("aws:SecureTransport", ConditionKeyType::Bool),
        ("aws:CurrentTime", ConditionKeyType::Date),
        ("aws:EpochTime", ConditionKeyType::Date),
        ("aws:PrincipalArn", ConditionKeyType::Arn),
        ("aws:MultiFactorAuthAge", ConditionKeyType::Numeric),
    ] {
        let key = c.global_condition_key(name).unwrap();
        assert_eq!(key.name(), name);
        assert_eq!(key.key_type(), ty, "{name}");
    }
    for (used, defined) in [
        ("aws:PrincipalTag/team", "aws:PrincipalTag/${TagKey}"),
        ("AWS:requesttag/Env", "aws:RequestTag/${TagKey}"),
        ("aws:ResourceTag/a:b", "aws:ResourceTag/${TagKey}"),
    ] {
        assert_eq!(c.global_condition_key(used).unwrap().name(), defined);
    }
    assert!(c.global_condition_key("aws:PrincipalTag/").is_none());
    assert!(c.global_condition_key("aws:NoSuchKey").is_none());
    // Catalogue-wide lookup falls back to the key's service.
    assert_eq!(
        c.condition_key("iam:PassedToService").unwrap().name(),
        "iam:PassedToService"
    );
    assert!(c.condition_key("iam:NoSuchKey").is_none());
}
