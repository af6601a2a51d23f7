//! Issues written for people and for other tools: a terminal [`table`],
//! [`json`], [`sarif`] 2.1.0 and AWS Security Finding Format ([`asff`]) for
//! Security Hub; plus [`fails`], the rule behind the exit code.
//!
//! Everything here is pure: the caller prints or uploads what it returns.

pub mod asff;
mod json;
mod sarif;
mod table;

pub use json::json;
pub use sarif::sarif;
pub use table::table;

use crate::model::{Issue, Severity};

/// Whether `issues` hold one at or above `min_severity`: the run then exits 1.
pub fn fails(issues: &[Issue], min_severity: Severity) -> bool {
    issues.iter().any(|issue| issue.severity() >= min_severity)
}

#[cfg(test)]
pub(crate) mod fixtures {
    use serde_json::json;

    use crate::model::{Category, Issue, ResourceKey};

    /// Three issues on two resources, one of them global (IAM).
    pub fn issues() -> Vec<Issue> {
        let bucket: ResourceKey = "111122223333/eu-west-1/AWS::S3::Bucket/logs"
            .parse()
            .unwrap();
        let role: ResourceKey = "111122223333/global/AWS::IAM::Role/AROAEXAMPLE"
            .parse()
            .unwrap();
        let mut public = Issue::new(
            bucket.clone(),
            "s3.public-policy",
            Category::InternetAccessible,
            9,
            "*".into(),
            "bucket `logs` lets anyone read its objects".into(),
        );
        public.arn = Some("arn:aws:s3:::logs".into());
        public.evidence = json!({"Sid": "Public", "Principal": "*"});
        let unencrypted = Issue::new(
            bucket,
            "s3.unencrypted",
            Category::Unencrypted,
            4,
            String::new(),
            "bucket `logs` has no default encryption".into(),
        );
        let mut escalation = Issue::new(
            role,
            "iam.privilege-escalation",
            Category::PrivilegeEscalation,
            7,
            "iam:PassRole+lambda:CreateFunction".into(),
            "role `deploy` can grant itself more permissions".into(),
        );
        escalation.arn = Some("arn:aws:iam::111122223333:role/deploy".into());
        vec![public, unencrypted, escalation]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_at_or_above_the_chosen_severity() {
        let issues = fixtures::issues();
        assert!(fails(&issues, Severity::Critical));
        assert!(fails(&issues, Severity::Medium));
        let low_only: Vec<Issue> = issues.into_iter().filter(|i| i.score < 7).collect();
        assert!(!fails(&low_only, Severity::High));
        assert!(fails(&low_only, Severity::Medium));
        assert!(!fails(&[], Severity::Info));
    }
}
