//! Expiry notices and rotation decisions. Pure: `now` is an argument.
//!
//! A certificate is noticed once per interval (default 30, 15 and 2 days
//! before expiry): at each run the tightest interval it has entered is due
//! unless already sent. A certificate first seen 10 days before expiry gets
//! the 15-day notice only, then the 2-day one.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::model::{CertRecord, Source, Status};

/// The default notice intervals, in days before expiry.
pub const DEFAULT_INTERVALS: [u32; 3] = [30, 15, 2];

/// The interval whose notice is due, if any.
pub fn due_interval(
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    intervals: &[u32],
    already_sent: &[u32],
) -> Option<u32> {
    let left = not_after - now;
    if !left.is_positive() {
        return None;
    }
    let tightest = intervals
        .iter()
        .copied()
        .filter(|d| left <= Duration::days(i64::from(*d)))
        .min()?;
    // A tighter notice already sent (intervals changed since) also covers this one.
    if already_sent.iter().any(|s| *s <= tightest) {
        return None;
    }
    Some(tightest)
}

/// Whether a certificate should be rotated now, given its profile's
/// `rotate_before_days`: only internal, active, not yet replaced certificates.
pub fn rotation_due(
    record: &CertRecord,
    rotate_before_days: Option<u32>,
    now: OffsetDateTime,
) -> bool {
    let Some(days) = rotate_before_days else {
        return false;
    };
    record.source == Source::Internal
        && record.status == Status::Active
        && record.replaced_by.is_none()
        && record.not_after > now
        && record.not_after - now <= Duration::days(i64::from(days))
}

/// The SNS message (JSON) sent for each event; `type` tells them apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Notice {
    /// A certificate enters a notice interval.
    CertificateExpiring {
        /// Serial, hex.
        serial: String,
        /// Subject DN.
        subject: String,
        /// SANs.
        sans: Vec<String>,
        /// Issuer DN.
        issuer: String,
        /// Expiry, RFC 3339.
        #[serde(with = "time::serde::rfc3339")]
        not_after: OffsetDateTime,
        /// Whole days left.
        days_left: i64,
        /// The interval this notice is for.
        interval_days: u32,
        /// Owner, if recorded.
        owner: Option<String>,
        /// Profile, if issued here.
        profile: Option<String>,
        /// ACM ARNs it is deployed to.
        acm_arns: Vec<String>,
    },
    /// A certificate was replaced by a new one (new key, same names).
    CertificateRotated {
        /// The old serial.
        old_serial: String,
        /// The new serial.
        new_serial: String,
        /// SANs (the same on both).
        sans: Vec<String>,
        /// The new certificate's expiry.
        #[serde(with = "time::serde::rfc3339")]
        not_after: OffsetDateTime,
        /// ACM ARNs the new certificate was reimported into.
        acm_arns: Vec<String>,
        /// Owner, if recorded.
        owner: Option<String>,
    },
}

impl Notice {
    /// The expiry notice for a record.
    pub fn expiring(record: &CertRecord, interval_days: u32, now: OffsetDateTime) -> Self {
        Self::CertificateExpiring {
            serial: record.serial.clone(),
            subject: record.subject.clone(),
            sans: record.sans.clone(),
            issuer: record.issuer.clone(),
            not_after: record.not_after,
            days_left: record.days_left(now),
            interval_days,
            owner: record.owner.clone(),
            profile: record.profile.clone(),
            acm_arns: record.acm_arns().map(str::to_owned).collect(),
        }
    }

    /// A one-line subject for the SNS message.
    pub fn subject(&self) -> String {
        match self {
            Self::CertificateExpiring {
                sans, days_left, ..
            } => format!(
                "certificate for {} expires in {days_left} days",
                sans.first().map_or("(no name)", String::as_str)
            ),
            Self::CertificateRotated { sans, .. } => format!(
                "certificate for {} rotated",
                sans.first().map_or("(no name)", String::as_str)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::synthetic_record;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

    #[test]
    fn once_per_interval_tightest_first() {
        let i = DEFAULT_INTERVALS;
        let at = |d: i64| NOW + Duration::days(d);
        assert_eq!(due_interval(at(45), NOW, &i, &[]), None);
        assert_eq!(due_interval(at(30), NOW, &i, &[]), Some(30));
        assert_eq!(due_interval(at(29), NOW, &i, &[30]), None);
        assert_eq!(due_interval(at(10), NOW, &i, &[]), Some(15));
        assert_eq!(due_interval(at(10), NOW, &i, &[30]), Some(15));
        assert_eq!(due_interval(at(10), NOW, &i, &[30, 15]), None);
        assert_eq!(due_interval(at(1), NOW, &i, &[30, 15]), Some(2));
        assert_eq!(due_interval(at(1), NOW, &i, &[2]), None);
        assert_eq!(due_interval(at(-1), NOW, &i, &[]), None);
    }

    #[test]
    fn rotation_rules() {
        let r = synthetic_record(1, NOW + Duration::days(20));
        assert!(rotation_due(&r, Some(30), NOW));
        assert!(!rotation_due(&r, Some(10), NOW));
        assert!(!rotation_due(&r, None, NOW));
        let mut replaced = r.clone();
        replaced.replaced_by = Some("ab".into());
        assert!(!rotation_due(&replaced, Some(30), NOW));
        let mut foreign = r;
        foreign.source = Source::Acm;
        assert!(!rotation_due(&foreign, Some(30), NOW));
    }

    #[test]
    fn notice_json_shape() {
        let r = synthetic_record(2, NOW + Duration::days(14));
        let json = serde_json::to_value(Notice::expiring(&r, 15, NOW)).unwrap();
        assert_eq!(json["type"], "certificate-expiring");
        assert_eq!(json["days_left"], 14);
        assert_eq!(json["interval_days"], 15);
        assert_eq!(json["not_after"], "2030-01-15T00:00:00Z");
    }
}
