//! Alerts as human lines on a terminal or into any writer.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Alert, AlertError, Kind, Sink};

/// Writes each alert as lines of text: a digest's subject and then one
/// indented line per event; an event alert as its one line.
#[derive(Debug)]
pub struct WriterSink<W> {
    name: String,
    out: Mutex<W>,
}

impl WriterSink<std::io::Stdout> {
    /// A sink writing to standard output.
    pub fn stdout() -> Self {
        WriterSink::new("stdout", std::io::stdout())
    }
}

impl<W: Write + Send> WriterSink<W> {
    /// A sink named `name` writing to `out`.
    pub fn new(name: &str, out: W) -> Self {
        WriterSink {
            name: name.to_owned(),
            out: Mutex::new(out),
        }
    }

    /// The writer back (e.g. a buffer a test wrote to).
    pub fn into_inner(self) -> W {
        match self.out.into_inner() {
            Ok(out) => out,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The alert's lines, each ending in a newline.
    pub fn render(alert: &Alert) -> String {
        let mut text = String::new();
        match alert.kind {
            Kind::Event => {
                for event in &alert.events {
                    text.push_str(&event.text);
                    text.push('\n');
                }
            }
            Kind::Digest => {
                text.push_str(&alert.subject);
                text.push('\n');
                for event in &alert.events {
                    text.push_str("  ");
                    text.push_str(&event.text);
                    text.push('\n');
                }
            }
        }
        text
    }
}

#[async_trait]
impl<W: Write + Send> Sink for WriterSink<W> {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let text = Self::render(alert);
        let mut out = match self.out.lock() {
            Ok(out) => out,
            Err(poisoned) => poisoned.into_inner(),
        };
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::alert::{Options, alerts, deliver, tests::events};

    #[tokio::test]
    async fn writes_one_line_per_event_and_a_digest_heading() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let sink = WriterSink::new("buffer", Vec::new());
        let sinks: Vec<Box<dyn Sink>> = vec![Box::new(sink)];
        let options = Options {
            digest: true,
            ..Options::default()
        };
        let delivery = deliver(&alerts(&events(), &options, "r", now), &sinks).await;
        assert_eq!(delivery.sent, 1);
        assert!(delivery.failures.is_empty());
        let digest = WriterSink::<Vec<u8>>::render(&alerts(&events(), &options, "r", now)[0]);
        let lines: Vec<&str> = digest.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("monitor: 4 events"));
        assert!(lines[1].starts_with("  new critical issue s3.public-policy"));
        assert_eq!(
            lines[4],
            "  resource 111122223333/eu-west-1/AWS::S3::Bucket/logs deleted"
        );
    }

    #[tokio::test]
    async fn one_alert_per_event_gives_one_line_each() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let sink = WriterSink::new("buffer", Vec::new());
        for alert in alerts(&events(), &Options::default(), "r", now) {
            sink.send(&alert).await.unwrap();
        }
        let text = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.lines().nth(2).unwrap().starts_with("resource 111122223333/eu-west-1/AWS::S3::Bucket/logs changed (revision 2): /configuration/policy"));
    }
}
