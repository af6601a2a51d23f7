//! A fixed-width table for a terminal.

use crate::model::Issue;

/// The column headings, in order.
const HEADINGS: [&str; 5] = ["SEVERITY", "SCORE", "CHECK", "RESOURCE", "MESSAGE"];

/// The issues as an aligned table, worst first (then by resource and check),
/// one line per issue under a heading line; a single line saying so when
/// there are none. Every line ends with a newline.
pub fn table(issues: &[Issue]) -> String {
    if issues.is_empty() {
        return "no issues\n".to_owned();
    }
    let mut sorted: Vec<&Issue> = issues.iter().collect();
    sorted.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.detail.cmp(&b.detail))
    });
    let rows: Vec<[String; 5]> = sorted
        .iter()
        .map(|issue| {
            [
                format!("{:?}", issue.severity()).to_lowercase(),
                issue.score.to_string(),
                issue.check.clone(),
                issue.resource.to_string(),
                // A message is one sentence; keep the table one line per issue.
                issue.message.replace(['\n', '\r'], " "),
            ]
        })
        .collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headings = HEADINGS.map(str::to_owned);
    for row in std::iter::once(&headings).chain(&rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn aligns_columns_and_puts_the_worst_first() {
        let out = table(&fixtures::issues());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("SEVERITY  SCORE  CHECK"));
        assert!(lines[1].starts_with("critical  9      s3.public-policy"));
        assert!(lines[2].starts_with("high      7      iam.privilege-escalation"));
        assert!(lines[3].starts_with("medium    4      s3.unencrypted"));
        // The RESOURCE column starts at the same offset on every line.
        let column = lines[0].find("RESOURCE").unwrap();
        assert_eq!(lines[1].find("111122223333/eu-west-1").unwrap(), column);
        assert_eq!(lines[2].find("111122223333/global").unwrap(), column);
    }

    #[test]
    fn says_so_when_empty() {
        assert_eq!(table(&[]), "no issues\n");
    }
}
