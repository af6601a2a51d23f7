//! Amazon Resource Names: `arn:partition:service:region:account:resource`,
//! and IAM's matching of ARN patterns (`Resource`, `ArnLike`, `ArnEquals`).

use std::fmt;

use thiserror::Error;

use crate::glob::{self, Case};

/// A parsed ARN. The resource part keeps any `:` or `/` it contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// The service prefix, e.g. `s3` or `iam`.
    pub service: String,
    /// The region; empty for global services such as IAM and S3.
    pub region: String,
    /// The 12-digit account id; empty for S3 buckets and AWS-managed resources.
    pub account: String,
    /// Everything after the fifth colon, e.g. `role/path/name` or `bucket/key`.
    pub resource: String,
}

/// Why a string is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{text}` is not an ARN: {reason}; expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE")]
pub struct ArnError {
    text: String,
    reason: &'static str,
}

impl Arn {
    /// Parses an ARN. Wildcards are allowed in every part, as in policies.
    ///
    /// ```
    /// let arn = policies::arn::Arn::parse("arn:aws:iam::123456789012:role/web").unwrap();
    /// assert_eq!(arn.account, "123456789012");
    /// assert_eq!(arn.resource, "role/web");
    /// ```
    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let fail = |reason| ArnError {
            text: text.to_owned(),
            reason,
        };
        let mut parts = text.splitn(6, ':');
        if parts.next() != Some("arn") {
            return Err(fail("it does not start with `arn:`"));
        }
        let mut next = |what| parts.next().ok_or_else(|| fail(what));
        let partition = next("the partition is missing")?;
        let service = next("the service is missing")?;
        let region = next("the region is missing")?;
        let account = next("the account is missing")?;
        let resource = next("the resource is missing")?;
        if partition.is_empty() {
            return Err(fail("the partition is empty"));
        }
        if service.is_empty() {
            return Err(fail("the service is empty"));
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl std::str::FromStr for Arn {
    type Err = ArnError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Arn::parse(text)
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// Whether `arn` matches the policy pattern `pattern`, as IAM matches a
/// `Resource` element and the `ArnLike`/`ArnEquals` condition operators.
///
/// `"*"` matches everything. Otherwise both are split into their six
/// colon-separated parts (the resource part keeps any further `:`) and each
/// part is matched on its own with `*`/`?` wildcards, case-sensitively, so a
/// wildcard never reaches across a colon of the first five parts. An ARN
/// pattern with fewer than six parts matches no ARN. When neither side is
/// shaped like an ARN (e.g. the `*` resource of an action without
/// resource-level permissions) the whole strings are matched as one wildcard
/// pattern; an ARN never matches a non-ARN pattern and the other way round.
///
/// ```
/// use policies::arn::matches;
/// assert!(matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
/// assert!(matches("arn:aws:iam::*:role/web-?", "arn:aws:iam::123456789012:role/web-1"));
/// assert!(!matches("arn:aws:iam::*:role/web", "arn:aws:iam::123456789012:role/Web"));
/// assert!(!matches("arn:aws:ec2:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1"));
/// ```
pub fn matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (split(pattern), split(arn)) {
        (Some(pattern), Some(arn)) => pattern
            .iter()
            .zip(arn.iter())
            .all(|(p, a)| glob::matches(p, a, Case::Sensitive)),
        (None, None) => glob::matches(pattern, arn, Case::Sensitive),
        _ => false,
    }
}

/// The six parts of an ARN-shaped string, without allocating; `None` when it
/// has fewer than five colons or does not start with `arn`.
fn split(text: &str) -> Option<[&str; 6]> {
    let mut parts = text.splitn(6, ':');
    let mut next = || parts.next();
    let arn = [next()?, next()?, next()?, next()?, next()?, next()?];
    (arn[0] == "arn").then_some(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_formats() {
        for text in [
            "arn:aws:s3:::bucket/key:with:colons",
            "arn:aws:iam::123456789012:role/path/web",
            "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-1",
            "arn:aws:sns:*:*:*",
        ] {
            assert_eq!(Arn::parse(text).unwrap().to_string(), text);
        }
        let arn = Arn::parse("arn:aws:s3:::bucket/key:with:colons").unwrap();
        assert_eq!(arn.resource, "bucket/key:with:colons");
    }

    #[test]
    fn refuses_what_is_not_an_arn() {
        for text in [
            "",
            "arn",
            "arn:aws:s3",
            "aws:s3:::b",
            "arn::s3:::b",
            "arn:aws::::b",
        ] {
            let err = Arn::parse(text).unwrap_err();
            assert!(err.to_string().contains("is not an ARN"), "{err}");
        }
    }

    #[test]
    fn star_matches_everything() {
        for arn in ["arn:aws:s3:::b", "*", "", "not an arn"] {
            assert!(matches("*", arn), "{arn}");
        }
    }

    #[test]
    fn parts_match_separately() {
        let role = "arn:aws:iam::123456789012:role/path/web";
        assert!(matches("arn:aws:iam::123456789012:role/*", role));
        assert!(matches("arn:aws:iam::*:role/path/web", role));
        assert!(matches("arn:*:iam::1234567890??:role/*/web", role));
        assert!(matches("arn:aws:*:*:*:*", role));
        // A wildcard does not reach across the colon between two parts.
        assert!(!matches("arn:aws:iam:*:role/path/web", role));
        assert!(!matches("arn:aws:iam::*", role));
        // The resource part is one piece, colons and slashes included.
        assert!(matches(
            "arn:aws:logs:us-east-1:123456789012:log-group:app*",
            "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:x"
        ));
        assert!(!matches("arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key"));
        assert!(matches("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket/key"));
    }

    #[test]
    fn case_sensitive() {
        assert!(!matches("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/key"));
        assert!(!matches("arn:AWS:s3:::bucket/*", "arn:aws:s3:::bucket/key"));
        assert!(matches(
            "arn:aws:s3:::bucket/Key",
            "arn:aws:s3:::bucket/Key"
        ));
    }

    #[test]
    fn non_arn_text_is_matched_whole() {
        assert!(!matches("arn:aws:s3:::*", "*"));
        assert!(!matches("arn:aws:s3:*", "arn:aws:s3:::bucket"));
        assert!(!matches("arn:*", "arn:aws:s3:::bucket"));
        assert!(!matches("some*", "arn:aws:s3:::bucket"));
        assert!(matches("some*", "something"));
        assert!(!matches("arn:aws:s3:::b", "arn:aws:s3"));
    }

    fn part() -> impl Strategy<Value = String> {
        "[a-z0-9-]{0,12}"
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(
            partition in "[a-z][a-z-]{0,10}",
            service in "[a-z][a-z0-9-]{0,10}",
            region in part(),
            account in "[0-9]{0,12}",
            resource in "[ -~]{0,40}",
        ) {
            let arn = Arn { partition, service, region, account, resource };
            let text = arn.to_string();
            let back = Arn::parse(&text).unwrap();
            prop_assert_eq!(&back, &arn);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn an_arn_without_wildcards_matches_itself(
            region in part(),
            account in "[0-9]{12}",
            resource in "[a-zA-Z0-9/:._-]{1,30}",
        ) {
            let text = format!("arn:aws:svc:{region}:{account}:{resource}");
            prop_assert!(matches(&text, &text));
            prop_assert!(matches("*", &text));
            let other = format!("arn:aws:svc:{region}:{account}:{resource}x");
            prop_assert!(!matches(&text, &other));
        }
    }
}
