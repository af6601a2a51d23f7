//! Access history: which services and actions each role used, and when.
//!
//! Every source implements [`AccessProvider`] and yields [`AccessRecord`]s;
//! [`AccessHistory`] merges them, the latest use winning.
//!
//! - [`AardvarkExport`]: Aardvark's JSON (per role ARN, a list of
//!   `{"serviceNamespace", "serviceName", "lastAuthenticated" (epoch ms, 0 =
//!   never), "lastAuthenticatedEntity", "totalAuthenticatedEntities"}`;
//!   other keys, such as the API's `count`/`page`/`total`, are ignored).
//!   Service level only.
//! - [`CloudTrailDir`]: CloudTrail log files under a local directory
//!   (`*.json.gz` or `*.json`, each `{"Records": [...]}`). Only events of
//!   `AssumedRole` sessions count, attributed to
//!   `userIdentity.sessionContext.sessionIssuer.arn`; events refused with an
//!   access-denied error code are not a use. Each event gives a service and
//!   an action record (see [`cloudtrail_action`] for the name mapping).
//! - [`access_advisor_records`]: the documented
//!   `GetServiceLastAccessedDetails` response (`ServicesLastAccessed`, with
//!   `TrackedActionsLastAccessed` for `ACTION_LEVEL` jobs), as a pure
//!   function; calling the API is not done here.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::err::AccessError;
use crate::model::{AccessRecord, AccessSource};

/// A source of access history.
pub trait AccessProvider {
    /// Every record the source holds.
    fn records(&self) -> Result<Vec<AccessRecord>, AccessError>;
}

/// An Aardvark JSON export, already read into memory.
#[derive(Debug, Clone)]
pub struct AardvarkExport {
    /// Where the text came from, for messages.
    pub name: String,
    /// The JSON text.
    pub text: String,
}

impl AccessProvider for AardvarkExport {
    fn records(&self) -> Result<Vec<AccessRecord>, AccessError> {
        aardvark_records(&self.name, &self.text)
    }
}

/// Parses an Aardvark export; `name` names the input in errors.
pub fn aardvark_records(name: &str, text: &str) -> Result<Vec<AccessRecord>, AccessError> {
    let bad = |detail: String| AccessError::Format {
        what: name.to_owned(),
        format: "Aardvark export",
        detail,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(bad(
            "the top level is not an object keyed by role ARN".into()
        ));
    };
    let mut out = Vec::new();
    for (arn, entries) in &map {
        // The API wraps the data with paging keys; only ARN keys hold lists.
        let Value::Array(entries) = entries else {
            continue;
        };
        if !arn.starts_with("arn:") {
            return Err(bad(format!("key `{arn}` is not a role ARN")));
        }
        for entry in entries {
            let service = entry
                .get("serviceNamespace")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("an entry of `{arn}` has no `serviceNamespace`")))?;
            let last_used = match entry.get("lastAuthenticated") {
                None | Some(Value::Null) => None,
                Some(v) => {
                    let ms = v.as_i64().ok_or_else(|| {
                        bad(format!(
                            "`lastAuthenticated` of `{arn}` `{service}` is not epoch milliseconds"
                        ))
                    })?;
                    from_epoch_ms(ms).ok_or_else(|| {
                        bad(format!(
                            "`lastAuthenticated` {ms} of `{arn}` is out of range"
                        ))
                    })?
                }
            };
            out.push(AccessRecord {
                role_arn: arn.clone(),
                service: service.to_ascii_lowercase(),
                action: None,
                last_used,
                source: AccessSource::Aardvark,
            });
        }
    }
    Ok(out)
}

/// Epoch milliseconds to a time; 0 (Aardvark's "never") is `Some(None)`.
fn from_epoch_ms(ms: i64) -> Option<Option<OffsetDateTime>> {
    if ms == 0 {
        return Some(None);
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(Some)
}

/// The records of a `GetServiceLastAccessedDetails` response for one role
/// (the JSON the API or `aws iam get-service-last-accessed-details` returns).
///
/// Each entry of `ServicesLastAccessed` gives a service record
/// (`LastAuthenticated` absent = never used); each entry of its
/// `TrackedActionsLastAccessed` an action record. A job that is not
/// `COMPLETED` is an error.
pub fn access_advisor_records(
    role_arn: &str,
    text: &str,
) -> Result<Vec<AccessRecord>, AccessError> {
    let bad = |detail: String| AccessError::Format {
        what: role_arn.to_owned(),
        format: "GetServiceLastAccessedDetails response",
        detail,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if let Some(status) = value.get("JobStatus").and_then(Value::as_str)
        && status != "COMPLETED"
    {
        return Err(bad(format!(
            "the job is `{status}`, not `COMPLETED`; poll until it completes"
        )));
    }
    let services = value
        .get("ServicesLastAccessed")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`ServicesLastAccessed` is missing".into()))?;
    let time_of = |v: Option<&Value>, what: &str| -> Result<Option<OffsetDateTime>, AccessError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339)
                .map(Some)
                .map_err(|e| bad(format!("{what} `{s}`: {e}"))),
            // The SDKs' JSON may carry epoch seconds.
            Some(Value::Number(n)) => n
                .as_f64()
                .and_then(|secs| {
                    #[expect(clippy::cast_possible_truncation, reason = "sub-nanosecond loss")]
                    let nanos = (secs * 1e9) as i128;
                    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
                })
                .map(Some)
                .ok_or_else(|| bad(format!("{what} {n} is out of range"))),
            Some(other) => Err(bad(format!("{what} `{other}` is not a time"))),
        }
    };
    let mut out = Vec::new();
    for entry in services {
        let service = entry
            .get("ServiceNamespace")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a service entry has no `ServiceNamespace`".into()))?
            .to_ascii_lowercase();
        out.push(AccessRecord {
            role_arn: role_arn.to_owned(),
            service: service.clone(),
            action: None,
            last_used: time_of(entry.get("LastAuthenticated"), "`LastAuthenticated`")?,
            source: AccessSource::AccessAdvisor,
        });
        for tracked in entry
            .get("TrackedActionsLastAccessed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(action) = tracked.get("ActionName").and_then(Value::as_str) else {
                return Err(bad(format!(
                    "a tracked action of `{service}` has no `ActionName`"
                )));
            };
            out.push(AccessRecord {
                role_arn: role_arn.to_owned(),
                service: service.clone(),
                action: Some(action.to_owned()),
                last_used: time_of(tracked.get("LastAccessedTime"), "`LastAccessedTime`")?,
                source: AccessSource::AccessAdvisor,
            });
        }
    }
    Ok(out)
}

/// CloudTrail log files under a directory (searched recursively).
#[derive(Debug, Clone)]
pub struct CloudTrailDir {
    /// The directory.
    pub dir: PathBuf,
}

impl AccessProvider for CloudTrailDir {
    fn records(&self) -> Result<Vec<AccessRecord>, AccessError> {
        let mut files = Vec::new();
        collect_files(&self.dir, &mut files)?;
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let io = |source| AccessError::Io {
                path: path.clone(),
                source,
            };
            let raw = std::fs::read(&path).map_err(io)?;
            out.extend(cloudtrail_file(&path.display().to_string(), &raw)?);
        }
        Ok(out)
    }
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) -> Result<(), AccessError> {
    let io = |source| AccessError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_files(&path, into)?;
        } else {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json.gz") || name.ends_with(".json") {
                into.push(path);
            }
        }
    }
    Ok(())
}

/// The records of one CloudTrail log file as stored: gzipped (recognised
/// by its magic bytes, as CloudTrail writes them) or plain JSON.
pub fn cloudtrail_file(name: &str, raw: &[u8]) -> Result<Vec<AccessRecord>, AccessError> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(raw)
            .read_to_end(&mut text)
            .map_err(|e| AccessError::Format {
                what: name.to_owned(),
                format: "gzip file",
                detail: e.to_string(),
            })?;
        return cloudtrail_records(name, &text);
    }
    cloudtrail_records(name, raw)
}

/// The records of one CloudTrail log file (`{"Records": [...]}`, already
/// decompressed); `name` names it in errors.
pub fn cloudtrail_records(name: &str, json: &[u8]) -> Result<Vec<AccessRecord>, AccessError> {
    let bad = |detail: String| AccessError::Format {
        what: name.to_owned(),
        format: "CloudTrail log file",
        detail,
    };
    let value: Value = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
    let records = value
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`Records` is missing".into()))?;
    let mut out = Vec::new();
    for record in records {
        let identity = record.get("userIdentity");
        if identity.and_then(|i| i.get("type")).and_then(Value::as_str) != Some("AssumedRole") {
            continue;
        }
        if record
            .get("errorCode")
            .and_then(Value::as_str)
            .is_some_and(is_denied)
        {
            continue;
        }
        let Some(role_arn) = identity
            .and_then(|i| i.pointer("/sessionContext/sessionIssuer/arn"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let (Some(source), Some(event), Some(when)) = (
            record.get("eventSource").and_then(Value::as_str),
            record.get("eventName").and_then(Value::as_str),
            record.get("eventTime").and_then(Value::as_str),
        ) else {
            return Err(bad(
                "a record lacks `eventSource`, `eventName` or `eventTime`".into(),
            ));
        };
        let when = OffsetDateTime::parse(when, &Rfc3339)
            .map_err(|e| bad(format!("`eventTime` `{when}`: {e}")))?;
        let service = cloudtrail_service(source);
        let action = cloudtrail_action(&service, event);
        for action in [None, Some(action)] {
            out.push(AccessRecord {
                role_arn: role_arn.to_owned(),
                service: service.clone(),
                action,
                last_used: Some(when),
                source: AccessSource::CloudTrail,
            });
        }
    }
    Ok(out)
}

/// Error codes meaning IAM refused the call (so the permission was not used).
fn is_denied(code: &str) -> bool {
    code.contains("AccessDenied")
        || code == "UnauthorizedOperation"
        || code == "Client.UnauthorizedOperation"
}

/// The IAM service prefix of a CloudTrail `eventSource`: the host's first
/// label (`s3.amazonaws.com` → `s3`), except where IAM names the service
/// differently (`monitoring` → `cloudwatch`).
pub fn cloudtrail_service(event_source: &str) -> String {
    let label = event_source
        .split('.')
        .next()
        .unwrap_or(event_source)
        .to_ascii_lowercase();
    match label.as_str() {
        "monitoring" => "cloudwatch".to_owned(),
        _ => label,
    }
}

/// The IAM action name (without prefix) for a CloudTrail `eventName` of
/// `service`. Most events are named after their action; the exceptions:
/// - `s3`: `ListBuckets` → `ListAllMyBuckets`, `ListObjects`/`ListObjectsV2`/
///   `HeadBucket` → `ListBucket`, `HeadObject` → `GetObject`,
///   `ListObjectVersions` → `ListBucketVersions`, `ListMultipartUploads` →
///   `ListBucketMultipartUploads`, `ListParts` → `ListMultipartUploadParts`,
///   the multipart upload calls (`CreateMultipartUpload`, `UploadPart`,
///   `CompleteMultipartUpload`, `UploadPartCopy`, `CopyObject`) → `PutObject`,
///   `DeleteObjects` → `DeleteObject`;
/// - `lambda`: API version suffixes are dropped (`GetFunction20150331v2` →
///   `GetFunction`), and `Invoke` → `InvokeFunction`;
/// - everywhere: a trailing API version such as `20150331` or `20150331v2` is
///   dropped.
pub fn cloudtrail_action(service: &str, event_name: &str) -> String {
    let name = strip_api_version(event_name);
    let mapped = match (service, name) {
        ("s3", "ListBuckets") => "ListAllMyBuckets",
        ("s3", "ListObjects" | "ListObjectsV2" | "HeadBucket") => "ListBucket",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "ListMultipartUploads") => "ListBucketMultipartUploads",
        ("s3", "ListParts") => "ListMultipartUploadParts",
        (
            "s3",
            "CreateMultipartUpload"
            | "UploadPart"
            | "UploadPartCopy"
            | "CompleteMultipartUpload"
            | "CopyObject",
        ) => "PutObject",
        ("s3", "DeleteObjects") => "DeleteObject",
        ("lambda", "Invoke") => "InvokeFunction",
        _ => name,
    };
    mapped.to_owned()
}

/// `GetFunction20150331v2` → `GetFunction`: drops a trailing 8-digit date
/// and an optional `vN`.
fn strip_api_version(name: &str) -> &str {
    let bytes = name.as_bytes();
    let mut end = bytes.len();
    // An optional `v<digits>` suffix.
    let digits = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > 0 && digits < end && bytes.get(end - digits - 1) == Some(&b'v') {
        let before = end - digits - 1;
        let date = bytes[..before]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if date == 8 {
            end = before;
        }
    }
    let date = bytes[..end]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if date == 8 && end > 8 {
        return name.get(..end - 8).unwrap_or(name);
    }
    name.get(..end).unwrap_or(name)
}

/// One role's merged access history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleAccess {
    /// Service prefix (lowercase) → last use (`None`: known, never used).
    pub services: HashMap<String, Option<OffsetDateTime>>,
    /// (service prefix lowercase, action name lowercase) → last use.
    pub actions: HashMap<(String, String), Option<OffsetDateTime>>,
    /// The latest time the role's access data was collected, if known.
    pub collected_at: Option<OffsetDateTime>,
}

impl RoleAccess {
    /// Adds a record, keeping the latest use.
    pub fn add(&mut self, record: &AccessRecord) {
        let slot = match &record.action {
            None => self
                .services
                .entry(record.service.to_ascii_lowercase())
                .or_default(),
            Some(action) => self
                .actions
                .entry((
                    record.service.to_ascii_lowercase(),
                    action.to_ascii_lowercase(),
                ))
                .or_default(),
        };
        *slot = latest(*slot, record.last_used);
    }

    /// Records that the data was collected at `at` (the latest wins).
    pub fn collected(&mut self, at: OffsetDateTime) {
        self.collected_at = latest(self.collected_at, Some(at));
    }
}

/// The later of two optional times (`None` is earliest).
pub fn latest(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The merged history of many roles, keyed by role ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessHistory {
    /// Role ARN → history.
    pub roles: HashMap<String, RoleAccess>,
}

impl AccessHistory {
    /// Merges records collected at `collected_at` (latest use wins).
    pub fn merge(&mut self, records: &[AccessRecord], collected_at: OffsetDateTime) {
        for record in records {
            let role = self.roles.entry(record.role_arn.clone()).or_default();
            role.add(record);
            role.collected(collected_at);
        }
    }

    /// The history of one role.
    pub fn role(&self, arn: &str) -> Option<&RoleAccess> {
        self.roles.get(arn)
    }
}

#[cfg(test)]
mod tests;
