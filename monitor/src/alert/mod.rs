//! Alerts: tell people once about what is new.
//!
//! [`alerts`] turns the [`Event`]s of a run into [`Alert`]s (one per event, or
//! one digest of the run), keeping issue events at or above a minimum
//! severity; [`deliver`] hands them to every [`Sink`]: [`SnsSink`] (JSON, the
//! schema is `monitor/ALERTS.md`), [`WebhookSink`] (Slack-compatible) and
//! [`WriterSink`] (human lines, e.g. on stdout). A failing sink is reported
//! and the others still get the alert.

mod err;
mod message;
mod sns;
mod text;
mod webhook;
mod writer;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use err::AlertError;
pub use message::{Alert, AlertEvent, Kind, Part, SCHEMA, Summary, VERSION};
pub use sns::{MESSAGE_LIMIT, SnsSink};
pub use text::line;
pub(crate) use text::name as severity_name;
pub use webhook::{WebhookOptions, WebhookSink};
pub use writer::WriterSink;

use crate::model::{Event, Severity};

/// SNS takes subjects of at most this many characters.
pub const SUBJECT_LIMIT: usize = 100;

/// Which events become alerts, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Issue events below this severity make no alert.
    pub min_severity: Severity,
    /// One digest per run instead of one alert per event.
    pub digest: bool,
    /// Whether resolved issues (at or above `min_severity`) alert.
    pub resolved: bool,
    /// Whether changed and deleted resources alert.
    pub resources: bool,
}

impl Default for Options {
    /// Medium and worse, one alert per event, no resolved issues, changed
    /// resources included.
    fn default() -> Self {
        Options {
            min_severity: Severity::Medium,
            digest: false,
            resolved: false,
            resources: true,
        }
    }
}

impl Options {
    /// Whether `event` makes an alert.
    pub fn wants(&self, event: &Event) -> bool {
        match event {
            Event::NewIssue { issue }
            | Event::ChangedIssue { issue, .. }
            | Event::NoLongerJustified { issue, .. } => issue.severity() >= self.min_severity,
            Event::ResolvedIssue { issue } => {
                self.resolved && issue.severity() >= self.min_severity
            }
            Event::ResourceChanged { .. } | Event::ResourceDeleted { .. } => self.resources,
        }
    }
}

/// The alerts for the events of run `run`, made at `now`: none when no event
/// is wanted; else one per wanted event, or a single digest.
pub fn alerts(events: &[Event], options: &Options, run: &str, now: OffsetDateTime) -> Vec<Alert> {
    let wanted: Vec<&Event> = events.iter().filter(|event| options.wants(event)).collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let make = |kind: Kind, events: Vec<&Event>, subject: String| Alert {
        schema: SCHEMA.to_owned(),
        version: VERSION,
        kind,
        run: run.to_owned(),
        generated_at: now,
        subject: text::clean_subject(&subject, SUBJECT_LIMIT),
        summary: Summary::of(events.iter().copied()),
        part: Part { index: 1, count: 1 },
        events: events.into_iter().cloned().map(AlertEvent::new).collect(),
    };
    if options.digest {
        let summary = Summary::of(wanted.iter().copied());
        let subject = digest_subject(&summary);
        vec![make(Kind::Digest, wanted, subject)]
    } else {
        wanted
            .into_iter()
            .map(|event| {
                make(
                    Kind::Event,
                    vec![event],
                    format!("monitor: {}", line(event)),
                )
            })
            .collect()
    }
}

/// `monitor: 5 events (2 new-issue, 3 resource-changed), worst critical`.
fn digest_subject(summary: &Summary) -> String {
    let counts: Vec<String> = summary
        .by_event
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    let mut subject = format!(
        "monitor: {} event{} ({})",
        summary.events,
        if summary.events == 1 { "" } else { "s" },
        counts.join(", ")
    );
    if let Some(worst) = summary.worst {
        subject.push_str(", worst ");
        subject.push_str(text::name(worst));
    }
    subject
}

/// Somewhere alerts go.
#[async_trait]
pub trait Sink: Send + Sync {
    /// A name for reports (`sns`, `webhook`, `stdout`), without secrets.
    fn name(&self) -> String;

    /// Delivers one alert.
    ///
    /// # Errors
    ///
    /// Whatever stopped the delivery, naming the destination.
    async fn send(&self, alert: &Alert) -> Result<(), AlertError>;
}

/// One alert a sink did not take.
#[derive(Debug)]
pub struct Failure {
    /// The sink's name.
    pub sink: String,
    /// The alert's subject.
    pub subject: String,
    /// Why.
    pub error: AlertError,
}

/// What [`deliver`] did.
#[derive(Debug, Default)]
pub struct Delivery {
    /// How many (alert, sink) deliveries succeeded.
    pub sent: usize,
    /// The ones that failed.
    pub failures: Vec<Failure>,
}

/// Sends every alert to every sink, in order; a failure is recorded and the
/// rest still go out.
pub async fn deliver(alerts: &[Alert], sinks: &[Box<dyn Sink>]) -> Delivery {
    let mut delivery = Delivery::default();
    for alert in alerts {
        for sink in sinks {
            match sink.send(alert).await {
                Ok(()) => delivery.sent += 1,
                Err(error) => {
                    tracing::warn!(sink = %sink.name(), subject = %alert.subject, error = %error, "alert not delivered");
                    delivery.failures.push(Failure {
                        sink: sink.name(),
                        subject: alert.subject.clone(),
                        error,
                    });
                }
            }
        }
    }
    delivery
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::model::{Category, Issue, PathChange, ResourceKey};

    pub fn issue(score: u8, detail: &str) -> Issue {
        let key: ResourceKey = "111122223333/eu-west-1/AWS::S3::Bucket/logs"
            .parse()
            .unwrap();
        let mut issue = Issue::new(
            key,
            "s3.public-policy",
            Category::InternetAccessible,
            score,
            detail.into(),
            format!("bucket `logs` is readable by {detail}"),
        );
        issue.evidence = json!({"Principal": detail});
        issue
    }

    pub fn events() -> Vec<Event> {
        let key: ResourceKey = "111122223333/eu-west-1/AWS::S3::Bucket/logs"
            .parse()
            .unwrap();
        vec![
            Event::NewIssue {
                issue: issue(9, "*"),
            },
            Event::ChangedIssue {
                issue: issue(5, "444455556666"),
                previous_fingerprint: "00".into(),
            },
            Event::NewIssue {
                issue: issue(2, "low"),
            },
            Event::ResolvedIssue {
                issue: issue(8, "old"),
            },
            Event::ResourceChanged {
                key: key.clone(),
                revision: 2,
                changes: vec![PathChange {
                    path: "/configuration/policy".into(),
                    before: Some(json!("a")),
                    after: Some(json!("b")),
                }],
            },
            Event::ResourceDeleted { key },
        ]
    }

    #[test]
    fn keeps_issue_events_at_or_above_the_minimum() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let alerts = alerts(&events(), &Options::default(), "run-1", now);
        let kinds: Vec<&str> = alerts
            .iter()
            .map(|a| text::kind(&a.events[0].event))
            .collect();
        assert_eq!(
            kinds,
            [
                "new-issue",
                "changed-issue",
                "resource-changed",
                "resource-deleted"
            ]
        );
        assert!(
            alerts
                .iter()
                .all(|a| a.kind == Kind::Event && a.events.len() == 1)
        );
        assert!(
            alerts[0]
                .subject
                .starts_with("monitor: new critical issue s3.public-policy on ")
        );
        assert!(alerts.iter().all(|a| a.subject.len() <= SUBJECT_LIMIT));
        let options = Options {
            min_severity: Severity::Info,
            resolved: true,
            resources: false,
            digest: false,
        };
        assert_eq!(super::alerts(&events(), &options, "run-1", now).len(), 4);
        let none = Options {
            min_severity: Severity::Critical,
            resources: false,
            ..Options::default()
        };
        assert_eq!(super::alerts(&events(), &none, "run-1", now).len(), 1);
        assert!(super::alerts(&[], &Options::default(), "run-1", now).is_empty());
    }

    #[test]
    fn a_digest_counts_every_event_of_the_run() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let options = Options {
            digest: true,
            ..Options::default()
        };
        let alerts = alerts(&events(), &options, "run-1", now);
        assert_eq!(alerts.len(), 1);
        let digest = &alerts[0];
        assert_eq!(digest.kind, Kind::Digest);
        assert_eq!(digest.events.len(), 4);
        assert_eq!(digest.summary.events, 4);
        assert_eq!(digest.summary.by_event["new-issue"], 1);
        assert_eq!(digest.summary.by_event["resource-changed"], 1);
        assert_eq!(digest.summary.by_severity[&Severity::Critical], 1);
        assert_eq!(digest.summary.by_severity[&Severity::Medium], 1);
        assert_eq!(digest.summary.by_category[&Category::InternetAccessible], 2);
        assert_eq!(digest.summary.worst, Some(Severity::Critical));
        assert_eq!(
            digest.subject,
            "monitor: 4 events (1 changed-issue, 1 new-issue, 1 resource-changed, 1 resource-deleted), worst critical"
                .chars()
                .take(97)
                .collect::<String>()
                + "..."
        );
    }

    #[test]
    fn the_json_is_the_documented_schema_and_round_trips() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let options = Options {
            digest: true,
            ..Options::default()
        };
        let alert = alerts(&events(), &options, "run-1", now).remove(0);
        let parts = alert.to_json_parts(MESSAGE_LIMIT).unwrap();
        assert_eq!(parts.len(), 1);
        let value: serde_json::Value = serde_json::from_str(&parts[0]).unwrap();
        assert_eq!(value["schema"], "monitor-alert");
        assert_eq!(value["version"], 1);
        assert_eq!(value["kind"], "digest");
        assert_eq!(value["generated_at"], "2026-11-22T10:00:00Z");
        assert_eq!(value["part"], json!({"index": 1, "count": 1}));
        assert_eq!(value["summary"]["by_severity"]["critical"], 1);
        assert_eq!(value["summary"]["by_category"]["internet-accessible"], 2);
        let first = &value["events"][0];
        assert_eq!(first["event"], "new-issue");
        assert_eq!(first["severity"], "critical");
        assert_eq!(first["issue"]["check"], "s3.public-policy");
        assert!(first.get("truncated").is_none());
        let back: Alert = serde_json::from_str(&parts[0]).unwrap();
        assert_eq!(back, alert);
    }

    #[test]
    fn large_alerts_are_split_into_parts_that_fit() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let many: Vec<Event> = (0..200)
            .map(|i| Event::NewIssue {
                issue: issue(9, &format!("principal-{i:03}")),
            })
            .collect();
        let options = Options {
            digest: true,
            ..Options::default()
        };
        let alert = alerts(&many, &options, "run-1", now).remove(0);
        let limit = 8 * 1024;
        let parts = alert.to_json_parts(limit).unwrap();
        assert!(parts.len() > 1);
        let mut seen = Vec::new();
        for (n, part) in parts.iter().enumerate() {
            assert!(part.len() <= limit, "part {n} has {} bytes", part.len());
            let part: Alert = serde_json::from_str(part).unwrap();
            assert_eq!(part.part.index as usize, n + 1);
            assert_eq!(part.part.count as usize, parts.len());
            assert_eq!(part.summary.events, 200);
            seen.extend(part.events.into_iter().map(|e| e.text));
        }
        let all: Vec<String> = alert.events.iter().map(|e| e.text.clone()).collect();
        assert_eq!(seen, all);
    }

    proptest::proptest! {
        #[test]
        fn every_part_fits_and_no_event_is_lost(
            sizes in proptest::collection::vec(0usize..3000, 1..60),
            limit in 4096usize..20_000,
        ) {
            let now = datetime!(2026-11-22 10:00 UTC);
            let events: Vec<Event> = sizes
                .iter()
                .enumerate()
                .map(|(n, size)| {
                    let mut issue = issue(9, &format!("p{n}"));
                    issue.evidence = json!("e".repeat(*size));
                    Event::NewIssue { issue }
                })
                .collect();
            let options = Options { digest: true, ..Options::default() };
            let alert = alerts(&events, &options, "r", now).remove(0);
            let parts = alert.to_json_parts(limit).unwrap();
            let mut texts = Vec::new();
            for (n, json) in parts.iter().enumerate() {
                proptest::prop_assert!(json.len() <= limit);
                let part: Alert = serde_json::from_str(json).unwrap();
                proptest::prop_assert_eq!(part.part.index as usize, n + 1);
                proptest::prop_assert_eq!(part.part.count as usize, parts.len());
                proptest::prop_assert!(!part.events.is_empty());
                texts.extend(part.events.into_iter().map(|e| e.text));
            }
            let all: Vec<String> = alert.events.into_iter().map(|e| e.text).collect();
            proptest::prop_assert_eq!(texts, all);
        }
    }

    #[test]
    fn an_oversized_event_loses_its_details_and_says_so() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let mut big = issue(9, "*");
        big.evidence = json!("x".repeat(20_000));
        let alert = alerts(
            &[Event::NewIssue { issue: big }],
            &Options::default(),
            "r",
            now,
        )
        .remove(0);
        let parts = alert.to_json_parts(4096).unwrap();
        assert_eq!(parts.len(), 1);
        let part: Alert = serde_json::from_str(&parts[0]).unwrap();
        assert!(part.events[0].truncated);
        assert_eq!(
            text::issue(&part.events[0].event).unwrap().evidence,
            serde_json::Value::Null
        );
        assert!(matches!(
            alert.to_json_parts(200),
            Err(AlertError::TooLarge { limit: 200, .. })
        ));
    }
}
