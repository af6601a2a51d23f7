//! Issues from who a resource policy or trust policy lets in, as judged by
//! [`policies::exposure::analyze`].

use std::collections::BTreeMap;

use policies::Policy;
use policies::exposure::{Actions, Exposure, StatementExposure, analyze};
use serde_json::{Value, json};

use super::checks::{Check, ExposureChecks};
use super::{Findings, Run, shape};
use crate::model::Category;

/// Parses a policy value; a document that does not parse is logged and
/// skipped (it cannot be judged, and AWS would not have stored it).
pub fn parse(found: &Findings<'_, '_>, value: &Value, what: &str) -> Option<Policy> {
    match shape::policy(value)? {
        Ok(policy) => Some(policy),
        Err(error) => {
            tracing::debug!(resource = %found.item.key, what, %error, "policy does not parse; skipped");
            None
        }
    }
}

/// Analyzes `policy` for the item's account.
pub fn exposure_of(run: &mut Run<'_>, found: &Findings<'_, '_>, policy: &Policy) -> Exposure {
    let context = run.context(&found.item.key.account);
    analyze(policy, &context)
}

/// A statement's label for details and messages: its `Sid`, else its index.
pub fn statement_label(statement: &StatementExposure) -> String {
    match &statement.sid {
        Some(sid) if !sid.is_empty() => format!("statement:{sid}"),
        _ => format!("statement:{}", statement.index),
    }
}

fn actions_text(actions: &Actions) -> String {
    match actions {
        Actions::Listed(list) => list.join(", "),
        Actions::AllBut(list) => format!("every action but {}", list.join(", ")),
    }
}

/// Reports internet exposure (one issue per statement) and cross-account
/// exposure (one issue per account), with `what` naming the policy in
/// messages ("the bucket policy"). `public_blocked` gives the reason when
/// internet access is blocked by something else (S3 Block Public Access):
/// internet issues are then not reported.
pub fn report(
    run: &Run<'_>,
    found: &mut Findings<'_, '_>,
    exposure: &Exposure,
    checks: &ExposureChecks,
    what: &str,
    public_blocked: Option<&str>,
) {
    if exposure.internet_accessible && public_blocked.is_none() {
        for statement in exposure
            .statements
            .iter()
            .filter(|s| s.internet_accessible && s.denied_by.is_none())
        {
            let label = statement_label(statement);
            found.report(
                &checks.internet,
                label.clone(),
                format!(
                    "{what} of `{}` lets anyone on the internet use {} ({label})",
                    found.name(),
                    actions_text(&statement.actions)
                ),
                json!({"statement": statement}),
            );
        }
    }
    for (account, statements) in accounts(exposure) {
        let Some(category) = run.settings.classify(&found.item.key.account, account) else {
            continue;
        };
        let (check, whose) = account_check(run, checks, category, account);
        found.report(
            check,
            account.to_owned(),
            format!("{what} of `{}` lets {whose} in", found.name()),
            json!({"account": account, "statements": statements}),
        );
    }
}

/// The check for a cross-account grant of `category`, and how to name the account.
pub fn account_check<'c>(
    run: &Run<'_>,
    checks: &'c ExposureChecks,
    category: Category,
    account: &str,
) -> (&'c Check, String) {
    match category {
        Category::FriendlyCrossAccount => (&checks.friendly, format!("friendly account {account}")),
        Category::ThirdPartyCrossAccount => {
            let name = run
                .settings
                .third_party_accounts
                .get(account)
                .map_or(String::new(), |n| format!(" ({n})"));
            (
                &checks.third_party,
                format!("third-party account {account}{name}"),
            )
        }
        _ => (&checks.unknown, format!("unknown account {account}")),
    }
}

/// Each account named by a statement that is not denied, with those
/// statements' labels.
pub fn accounts(exposure: &Exposure) -> BTreeMap<&str, Vec<String>> {
    let mut named: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for statement in exposure.statements.iter().filter(|s| s.denied_by.is_none()) {
        let from_principals = statement
            .grantees
            .iter()
            .filter_map(|g| g.account.as_deref());
        let from_conditions = statement.narrowing.accounts.iter().map(String::as_str);
        for account in from_principals.chain(from_conditions) {
            let labels = named.entry(account).or_default();
            let label = statement_label(statement);
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
    }
    named
}
