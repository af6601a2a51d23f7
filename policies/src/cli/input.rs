//! Reading the files commands are given: a policy, or an account export.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use policies::Policy;
use policies::account::AccountDetails;
use serde_json::Value;

/// What a file holds.
pub enum Document {
    /// One policy document.
    Policy(Policy),
    /// A `GetAccountAuthorizationDetails` export.
    Account(Box<AccountDetails>),
}

/// The file's text; `-` reads standard input.
pub fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// A policy file, with an error naming the file.
pub fn policy(path: &Path) -> anyhow::Result<Policy> {
    let text = read(path)?;
    Policy::parse(&text).with_context(|| format!("`{}`", path.display()))
}

/// Whether a JSON object is an authorization-details export.
fn is_export(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        [
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    })
}

/// Reads a policy or an export from already loaded text.
pub fn document(path: &Path, text: &str) -> anyhow::Result<Document> {
    let name = path.display();
    if let Ok(value) = serde_json::from_str::<Value>(text)
        && is_export(&value)
    {
        let details = AccountDetails::from_value(&value).with_context(|| format!("`{name}`"))?;
        return Ok(Document::Account(Box::new(details)));
    }
    let policy = Policy::parse(text).with_context(|| format!("`{name}`"))?;
    Ok(Document::Policy(policy))
}
