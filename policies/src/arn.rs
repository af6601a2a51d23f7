//! Amazon Resource Names: `arn:partition:service:region:account:resource`.

use std::fmt;

use thiserror::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
