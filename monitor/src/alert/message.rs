//! The alert record: what SNS receives as JSON (schema in `monitor/ALERTS.md`)
//! and what the webhook and writer sinks render.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::err::AlertError;
use super::text;
use crate::model::{Category, Event, Severity};

/// The value of every alert's `schema` field.
pub const SCHEMA: &str = "monitor-alert";
/// The version of the alert schema this crate writes; bumped on any change
/// that is not a new optional field.
pub const VERSION: u32 = 1;

/// One alert: one event, or a digest of every event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`VERSION`] when written by this crate.
    pub version: u32,
    /// One event or a digest.
    pub kind: Kind,
    /// The id of the run that found the events (chosen by the caller).
    pub run: String,
    /// When the alert was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// One line, at most 100 printable ASCII characters (SNS's subject rules).
    pub subject: String,
    /// Counts over all the events of the alert, all parts included.
    pub summary: Summary,
    /// Which part this is, when the alert had to be split to fit a size limit.
    pub part: Part,
    /// The events (of this part).
    pub events: Vec<AlertEvent>,
}

/// Whether an alert tells of one event or digests a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// One event.
    Event,
    /// Every event of a run.
    Digest,
}

/// Part `index` (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// This part's number, from 1.
    pub index: u32,
    /// How many parts the alert was split into.
    pub count: u32,
}

/// Counts of the events of an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// How many events.
    pub events: usize,
    /// Events per kind (`new-issue`, `resource-changed`, ...).
    pub by_event: BTreeMap<String, usize>,
    /// Issue events per severity.
    pub by_severity: BTreeMap<Severity, usize>,
    /// Issue events per category.
    pub by_category: BTreeMap<Category, usize>,
    /// The worst severity among the issue events.
    pub worst: Option<Severity>,
}

impl Summary {
    /// The counts over `events`.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Summary {
        let mut summary = Summary::default();
        for event in events {
            summary.events += 1;
            *summary
                .by_event
                .entry(text::kind(event).to_owned())
                .or_default() += 1;
            if let Some(issue) = text::issue(event) {
                let severity = issue.severity();
                *summary.by_severity.entry(severity).or_default() += 1;
                *summary.by_category.entry(issue.category).or_default() += 1;
                summary.worst = summary.worst.max(Some(severity));
            }
        }
        summary
    }
}

/// One event in an alert, with its line of text and severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The event in one line.
    pub text: String,
    /// The issue's severity, for issue events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Whether the issue's `evidence` or the resource's `changes` were left
    /// out to fit the size limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The event itself; its `event` field names its kind.
    #[serde(flatten)]
    pub event: Event,
}

impl AlertEvent {
    /// The event with its text and severity.
    pub fn new(event: Event) -> AlertEvent {
        AlertEvent {
            text: text::line(&event),
            severity: text::issue(&event).map(crate::model::Issue::severity),
            truncated: false,
            event,
        }
    }

    /// The event without its bulky parts (evidence, changed paths).
    fn without_details(&self) -> AlertEvent {
        let mut event = self.event.clone();
        match &mut event {
            Event::NewIssue { issue }
            | Event::ChangedIssue { issue, .. }
            | Event::NoLongerJustified { issue, .. }
            | Event::ResolvedIssue { issue } => issue.evidence = Value::Null,
            Event::ResourceChanged { changes, .. } => changes.clear(),
            Event::ResourceDeleted { .. } => {}
        }
        AlertEvent {
            text: self.text.clone(),
            severity: self.severity,
            truncated: true,
            event,
        }
    }
}

impl Alert {
    /// The alert as JSON documents of at most `limit` bytes each.
    ///
    /// When the whole alert does not fit, its events are spread over parts
    /// (each a complete alert with the same subject and summary and its own
    /// `part`); an event that does not fit alone loses its evidence or
    /// changed paths and is marked `truncated`.
    ///
    /// # Errors
    ///
    /// [`AlertError::TooLarge`] when an event does not fit even without its
    /// details.
    pub fn to_json_parts(&self, limit: usize) -> Result<Vec<String>, AlertError> {
        let whole = serde_json::to_string(self)?;
        if whole.len() <= limit {
            return Ok(vec![whole]);
        }
        // The frame of a part with the widest part numbers any split can have.
        let frame = Alert {
            events: Vec::new(),
            part: Part {
                index: u32::MAX,
                count: u32::MAX,
            },
            ..self.clone()
        };
        let frame_len = serde_json::to_string(&frame)?.len();
        let mut chunks: Vec<Vec<AlertEvent>> = Vec::new();
        let mut chunk: Vec<AlertEvent> = Vec::new();
        let mut chunk_len = frame_len;
        for event in &self.events {
            let mut event = event.clone();
            let mut len = serde_json::to_string(&event)?.len();
            if frame_len + len > limit {
                event = event.without_details();
                len = serde_json::to_string(&event)?.len();
                if frame_len + len > limit {
                    return Err(AlertError::TooLarge {
                        event: event.text.chars().take(120).collect(),
                        size: frame_len + len,
                        limit,
                    });
                }
            }
            // A comma separates events after the first.
            let added = len + usize::from(!chunk.is_empty());
            if !chunk.is_empty() && chunk_len + added > limit {
                chunks.push(std::mem::take(&mut chunk));
                chunk_len = frame_len;
                chunk.push(event);
                chunk_len += len;
            } else {
                chunk.push(event);
                chunk_len += added;
            }
        }
        chunks.push(chunk);
        let count = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        chunks
            .into_iter()
            .zip(1..)
            .map(|(events, index)| {
                let part = Alert {
                    part: Part { index, count },
                    events,
                    ..frame.clone()
                };
                serde_json::to_string(&part).map_err(AlertError::from)
            })
            .collect()
    }
}
