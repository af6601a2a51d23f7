//! CloudTrail log files from S3: every object under a prefix whose key ends
//! in `.json.gz` (as CloudTrail writes them) or `.json`, digest files
//! (`CloudTrail-Digest/`) left out, listed page by
//! page, read and parsed like the local directory source
//! ([`crate::access::cloudtrail_file`]).

use crate::access::cloudtrail_file;
use crate::err::AwsError;
use crate::model::AccessRecord;

/// Where the log files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (may be empty), e.g. `AWSLogs/111122223333/CloudTrail/`.
    pub prefix: String,
}

impl S3Location {
    /// Reads `s3://bucket/prefix`; `None` if `url` is not of that form.
    pub fn parse(url: &str) -> Option<S3Location> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The access records of every log file under `at`; `page_size` sets
/// `MaxKeys` of the listing (S3's default, 1,000, when `None`).
pub async fn records(
    client: &aws_sdk_s3::Client,
    at: &S3Location,
    page_size: Option<i32>,
) -> Result<Vec<AccessRecord>, AwsError> {
    let place = at.to_string();
    let mut pages = client
        .list_objects_v2()
        .bucket(&at.bucket)
        .prefix(&at.prefix)
        .set_max_keys(page_size)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("ListObjectsV2", &place, &e))?;
        keys.extend(
            page.contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| o.key)
                .filter(|k| k.ends_with(".json.gz") || k.ends_with(".json"))
                // Digest files sit beside the logs and hold no records.
                .filter(|k| !k.contains("/CloudTrail-Digest/")),
        );
    }
    let mut out = Vec::new();
    for key in keys {
        let name = format!("s3://{}/{key}", at.bucket);
        let object = client
            .get_object()
            .bucket(&at.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| AwsError::call("GetObject", &name, &e))?;
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| AwsError::call("GetObject", &name, &e))?
            .into_bytes();
        out.extend(cloudtrail_file(&name, &body).map_err(|e| AwsError::Answer {
            operation: "GetObject",
            target: name.clone(),
            detail: e.to_string(),
            fix: "point `--cloudtrail` at CloudTrail's log prefix",
        })?);
    }
    Ok(out)
}
