//! Every check the auditor runs: its stable name, category, default score and
//! what it finds. Names never change meaning; overrides, suppressions and
//! justifications key on them.

use crate::model::Category;

/// One check: a stable name, the category of what it finds, and the score
/// its issues get unless an override says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable name, `service.resource.what`, e.g. `s3.bucket.public-policy`.
    pub name: &'static str,
    /// The category of its issues.
    pub category: Category,
    /// Default score, 0 to 10.
    pub score: u8,
    /// One sentence on what it finds.
    pub summary: &'static str,
}

macro_rules! checks {
    ($($id:ident = $name:literal, $category:ident, $score:literal, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $id: Check = Check {
                name: $name,
                category: Category::$category,
                score: $score,
                summary: $summary,
            };
        )*

        /// Every check, in documentation order.
        pub const ALL: &[Check] = &[$($id),*];
    };
}

checks! {
    ROLE_TRUST_INTERNET = "iam.role.trust-internet", InternetAccessible, 10,
        "The role's trust policy lets any AWS principal anywhere assume it.";
    ROLE_TRUST_UNKNOWN = "iam.role.trust-unknown-account", UnknownCrossAccount, 8,
        "The role trusts an account that is neither ours, friendly nor a known third party.";
    ROLE_TRUST_THIRD_PARTY = "iam.role.trust-third-party-account", ThirdPartyCrossAccount, 4,
        "The role trusts a configured third-party account.";
    ROLE_TRUST_FRIENDLY = "iam.role.trust-friendly-account", FriendlyCrossAccount, 0,
        "The role trusts a configured friendly account.";
    ROLE_TRUST_NO_EXTERNAL_ID = "iam.role.trust-no-external-id", ThirdPartyCrossAccount, 6,
        "The role trusts a third-party account without requiring `sts:ExternalId` (confused deputy).";
    ROLE_ADMIN = "iam.role.admin-wildcard", AdminWildcard, 9,
        "A policy of the role allows every action on every resource.";
    ROLE_ESCALATION = "iam.role.privilege-escalation", PrivilegeEscalation, 8,
        "The role's policies together let it raise its own privileges.";
    USER_ADMIN = "iam.user.admin-wildcard", AdminWildcard, 9,
        "A policy attached to the user allows every action on every resource.";
    USER_ESCALATION = "iam.user.privilege-escalation", PrivilegeEscalation, 8,
        "The user's policies (with its groups') together let it raise its own privileges.";
    GROUP_ADMIN = "iam.group.admin-wildcard", AdminWildcard, 9,
        "A policy of the group allows every action on every resource.";
    GROUP_ESCALATION = "iam.group.privilege-escalation", PrivilegeEscalation, 8,
        "The group's policies together let its members raise their own privileges.";
    POLICY_ADMIN = "iam.policy.admin-wildcard", AdminWildcard, 7,
        "The customer managed policy allows every action on every resource.";
    POLICY_ESCALATION = "iam.policy.privilege-escalation", PrivilegeEscalation, 6,
        "The customer managed policy alone lets its holder raise its own privileges.";

    S3_PUBLIC_POLICY = "s3.bucket.public-policy", InternetAccessible, 9,
        "The bucket policy lets anyone on the internet in.";
    S3_PUBLIC_ACL = "s3.bucket.public-acl", InternetAccessible, 9,
        "The bucket ACL grants `AllUsers` or `AuthenticatedUsers`.";
    S3_UNKNOWN = "s3.bucket.unknown-account", UnknownCrossAccount, 7,
        "The bucket policy lets in an account that is neither ours, friendly nor a known third party.";
    S3_THIRD_PARTY = "s3.bucket.third-party-account", ThirdPartyCrossAccount, 3,
        "The bucket policy lets in a configured third-party account.";
    S3_FRIENDLY = "s3.bucket.friendly-account", FriendlyCrossAccount, 0,
        "The bucket policy lets in a configured friendly account.";
    S3_NO_PUBLIC_ACCESS_BLOCK = "s3.bucket.public-access-block-off", InternetAccessible, 2,
        "Neither the bucket nor its account turns on all four S3 Block Public Access settings.";
    S3_UNENCRYPTED = "s3.bucket.unencrypted", Unencrypted, 4,
        "The bucket has no default server-side encryption.";
    S3_LOGGING_OFF = "s3.bucket.logging-off", LoggingOff, 2,
        "Server access logging is off for the bucket.";

    SG_OPEN = "ec2.security-group.open-ingress", InternetAccessible, 5,
        "The security group accepts traffic from anywhere (`0.0.0.0/0` or `::/0`).";
    SG_OPEN_SENSITIVE = "ec2.security-group.open-sensitive-port", InternetAccessible, 8,
        "The security group accepts traffic from anywhere on a sensitive port (SSH, RDP, databases...).";

    EBS_PUBLIC = "ec2.snapshot.public", InternetAccessible, 9,
        "The EBS snapshot may be copied by any AWS account (`createVolumePermission` group `all`).";
    EBS_UNKNOWN = "ec2.snapshot.unknown-account", UnknownCrossAccount, 7,
        "The EBS snapshot is shared with an account that is neither ours, friendly nor a known third party.";
    EBS_THIRD_PARTY = "ec2.snapshot.third-party-account", ThirdPartyCrossAccount, 3,
        "The EBS snapshot is shared with a configured third-party account.";
    EBS_FRIENDLY = "ec2.snapshot.friendly-account", FriendlyCrossAccount, 0,
        "The EBS snapshot is shared with a configured friendly account.";
    EBS_UNENCRYPTED = "ec2.snapshot.unencrypted", Unencrypted, 3,
        "The EBS snapshot is not encrypted.";

    KMS_PUBLIC_POLICY = "kms.key.public-policy", InternetAccessible, 10,
        "The key policy lets anyone on the internet use the key.";
    KMS_UNKNOWN = "kms.key.unknown-account", UnknownCrossAccount, 7,
        "The key policy lets in an account that is neither ours, friendly nor a known third party.";
    KMS_THIRD_PARTY = "kms.key.third-party-account", ThirdPartyCrossAccount, 3,
        "The key policy lets in a configured third-party account.";
    KMS_FRIENDLY = "kms.key.friendly-account", FriendlyCrossAccount, 0,
        "The key policy lets in a configured friendly account.";
    KMS_ROTATION_OFF = "kms.key.rotation-off", KeyRotationOff, 4,
        "Automatic rotation is off for a symmetric customer managed key.";

    SNS_PUBLIC_POLICY = "sns.topic.public-policy", InternetAccessible, 8,
        "The topic policy lets anyone on the internet in.";
    SNS_UNKNOWN = "sns.topic.unknown-account", UnknownCrossAccount, 6,
        "The topic policy lets in an account that is neither ours, friendly nor a known third party.";
    SNS_THIRD_PARTY = "sns.topic.third-party-account", ThirdPartyCrossAccount, 3,
        "The topic policy lets in a configured third-party account.";
    SNS_FRIENDLY = "sns.topic.friendly-account", FriendlyCrossAccount, 0,
        "The topic policy lets in a configured friendly account.";

    SQS_PUBLIC_POLICY = "sqs.queue.public-policy", InternetAccessible, 8,
        "The queue policy lets anyone on the internet in.";
    SQS_UNKNOWN = "sqs.queue.unknown-account", UnknownCrossAccount, 6,
        "The queue policy lets in an account that is neither ours, friendly nor a known third party.";
    SQS_THIRD_PARTY = "sqs.queue.third-party-account", ThirdPartyCrossAccount, 3,
        "The queue policy lets in a configured third-party account.";
    SQS_FRIENDLY = "sqs.queue.friendly-account", FriendlyCrossAccount, 0,
        "The queue policy lets in a configured friendly account.";
    SQS_UNENCRYPTED = "sqs.queue.unencrypted", Unencrypted, 3,
        "The queue has neither SSE-SQS nor a KMS key.";

    LAMBDA_PUBLIC_POLICY = "lambda.function.public-policy", InternetAccessible, 9,
        "The function's resource policy lets anyone on the internet invoke or change it.";
    LAMBDA_PUBLIC_URL = "lambda.function.public-url", InternetAccessible, 8,
        "The function has a function URL with `AuthType` `NONE`.";
    LAMBDA_UNKNOWN = "lambda.function.unknown-account", UnknownCrossAccount, 6,
        "The function's resource policy lets in an account that is neither ours, friendly nor a known third party.";
    LAMBDA_THIRD_PARTY = "lambda.function.third-party-account", ThirdPartyCrossAccount, 3,
        "The function's resource policy lets in a configured third-party account.";
    LAMBDA_FRIENDLY = "lambda.function.friendly-account", FriendlyCrossAccount, 0,
        "The function's resource policy lets in a configured friendly account.";

    TRAIL_NOT_LOGGING = "cloudtrail.trail.logging-off", LoggingOff, 8,
        "The trail exists but is not logging.";
    TRAIL_SINGLE_REGION = "cloudtrail.trail.single-region", LoggingOff, 4,
        "The trail records one region only.";
    TRAIL_NO_VALIDATION = "cloudtrail.trail.no-log-validation", LoggingOff, 3,
        "Log file integrity validation is off for the trail.";

    RDS_PUBLIC = "rds.instance.public", InternetAccessible, 7,
        "The database instance is publicly accessible.";
    RDS_UNENCRYPTED = "rds.instance.unencrypted", Unencrypted, 5,
        "The database instance's storage is not encrypted.";
    RDS_SNAPSHOT_PUBLIC = "rds.snapshot.public", InternetAccessible, 9,
        "The database snapshot may be restored by any AWS account (`restore` attribute `all`).";
    RDS_SNAPSHOT_UNKNOWN = "rds.snapshot.unknown-account", UnknownCrossAccount, 7,
        "The database snapshot is shared with an account that is neither ours, friendly nor a known third party.";
    RDS_SNAPSHOT_THIRD_PARTY = "rds.snapshot.third-party-account", ThirdPartyCrossAccount, 3,
        "The database snapshot is shared with a configured third-party account.";
    RDS_SNAPSHOT_FRIENDLY = "rds.snapshot.friendly-account", FriendlyCrossAccount, 0,
        "The database snapshot is shared with a configured friendly account.";
    RDS_SNAPSHOT_UNENCRYPTED = "rds.snapshot.unencrypted", Unencrypted, 4,
        "The database snapshot is not encrypted.";

    ELB_WEAK_TLS = "elb.listener.weak-tls", WeakTls, 5,
        "A load balancer listener uses a TLS policy that accepts TLS 1.0/1.1 or weak ciphers.";

    ACM_EXPIRING = "acm.certificate.expiring", ExpiringCertificate, 5,
        "The certificate expires within the configured window.";
    ACM_EXPIRED = "acm.certificate.expired", ExpiringCertificate, 8,
        "The certificate has expired.";
}

/// The check of this name, if there is one.
pub fn find(name: &str) -> Option<&'static Check> {
    ALL.iter().find(|check| check.name == name)
}

/// The checks that report who a resource policy lets in, for one resource type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExposureChecks {
    /// Anyone on the internet.
    pub internet: Check,
    /// An account neither ours, friendly nor a known third party.
    pub unknown: Check,
    /// A configured third party.
    pub third_party: Check,
    /// A configured friendly account.
    pub friendly: Check,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_well_formed_and_scores_in_range() {
        let mut names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for check in ALL {
            assert!(check.score <= 10, "{}", check.name);
            assert_eq!(check.name.split('.').count(), 3, "{}", check.name);
            assert!(
                check
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '-' || c.is_ascii_digit()),
                "{}",
                check.name
            );
        }
        assert_eq!(find("s3.bucket.public-policy"), Some(&S3_PUBLIC_POLICY));
        assert!(find("s3.bucket.nothing").is_none());
    }
}
