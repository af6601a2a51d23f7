//! Events in words: one line per event, and subjects.

use std::fmt::Write as _;

use crate::model::{Event, Issue, Severity};

/// How many changed paths a line names before `(+N more)`.
const PATHS_NAMED: usize = 5;

/// The event as one line for a person.
pub fn line(event: &Event) -> String {
    match event {
        Event::NewIssue { issue } => issue_line("new", issue),
        Event::ChangedIssue { issue, .. } => issue_line("changed", issue),
        Event::NoLongerJustified { issue, reason } => {
            let mut line = issue_line("no longer justified", issue);
            let _ = write!(line, " (was justified: {reason})");
            line
        }
        Event::ResolvedIssue { issue } => issue_line("resolved", issue),
        Event::ResourceChanged {
            key,
            revision,
            changes,
        } => {
            if changes.is_empty() {
                return format!("resource {key} recorded (revision {revision})");
            }
            let paths: Vec<&str> = changes
                .iter()
                .take(PATHS_NAMED)
                .map(|change| change.path.as_str())
                .collect();
            let more = changes.len().saturating_sub(PATHS_NAMED);
            let more = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            format!(
                "resource {key} changed (revision {revision}): {}{more}",
                paths.join(", ")
            )
        }
        Event::ResourceDeleted { key } => format!("resource {key} deleted"),
    }
}

fn issue_line(what: &str, issue: &Issue) -> String {
    format!(
        "{what} {} issue {} on {}: {} [{}]",
        name(issue.severity()),
        issue.check,
        issue.resource,
        issue.message.replace(['\n', '\r'], " "),
        issue.id
    )
}

/// The lowercase name of a severity.
pub fn name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The event's kind as it is named in alerts (`new-issue`, ...).
pub fn kind(event: &Event) -> &'static str {
    match event {
        Event::NewIssue { .. } => "new-issue",
        Event::ChangedIssue { .. } => "changed-issue",
        Event::NoLongerJustified { .. } => "no-longer-justified",
        Event::ResolvedIssue { .. } => "resolved-issue",
        Event::ResourceChanged { .. } => "resource-changed",
        Event::ResourceDeleted { .. } => "resource-deleted",
    }
}

/// The issue an event is about, if any.
pub fn issue(event: &Event) -> Option<&Issue> {
    match event {
        Event::NewIssue { issue }
        | Event::ChangedIssue { issue, .. }
        | Event::NoLongerJustified { issue, .. }
        | Event::ResolvedIssue { issue } => Some(issue),
        Event::ResourceChanged { .. } | Event::ResourceDeleted { .. } => None,
    }
}

/// A subject fit for SNS: printable ASCII only (line breaks become spaces), at most `limit` characters,
/// cut with `...`.
pub fn clean_subject(text: &str, limit: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| match c {
            c if c.is_ascii_graphic() => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    let clean = clean.trim();
    if clean.len() <= limit {
        return clean.to_owned();
    }
    // Only ASCII is left, so byte offsets are character offsets.
    let cut = clean.get(..limit.saturating_sub(3)).unwrap_or_default();
    format!("{}...", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, PathChange};

    #[test]
    fn lines_name_what_happened() {
        let key: crate::model::ResourceKey = "111122223333/us-east-1/AWS::EC2::SecurityGroup/sg-1"
            .parse()
            .unwrap();
        let issue = Issue::new(
            key.clone(),
            "ec2.open-port",
            Category::InternetAccessible,
            8,
            "tcp/22".into(),
            "port 22 is open to\nthe internet".into(),
        );
        let line = line(&Event::NoLongerJustified {
            issue: issue.clone(),
            reason: "bastion".into(),
        });
        assert!(line.starts_with("no longer justified high issue ec2.open-port on 111122223333/us-east-1/AWS::EC2::SecurityGroup/sg-1: port 22 is open to the internet ["));
        assert!(line.ends_with("(was justified: bastion)"));
        let changes: Vec<PathChange> = (0..7)
            .map(|i| PathChange {
                path: format!("/configuration/a/{i}"),
                before: None,
                after: None,
            })
            .collect();
        let changed = super::line(&Event::ResourceChanged {
            key,
            revision: 3,
            changes,
        });
        assert!(changed.contains("revision 3): /configuration/a/0, "));
        assert!(changed.ends_with("/configuration/a/4 (+2 more)"));
    }

    #[test]
    fn subjects_are_short_printable_ascii() {
        assert_eq!(clean_subject("new é\nissue", 100), "new ? issue");
        let long = clean_subject(&"x".repeat(300), 100);
        assert_eq!(long.len(), 100);
        assert!(long.ends_with("..."));
    }
}
