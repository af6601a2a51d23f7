//! A TOML configuration file whose every key can be overridden by an
//! environment variable, shared by the tools' configuration loaders.
//!
//! A variable `PREFIX__TABLE__KEY=value` sets `table.key`; path parts are
//! lowercased, and a numeric part indexes an array of tables
//! (`SSH_CA__CA__KEYS__0__FILE`). The value is read as a TOML value when it
//! parses as one (`300`, `true`, `["a", "b"]`) and as a string otherwise.
//! The caller hands in the file's text and the environment; nothing here
//! reads either.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Config { store: Store }
//! #[derive(serde::Deserialize)]
//! struct Store { table: String, retries: u32 }
//!
//! let text = "[store]\ntable = \"dev\"\nretries = 1\n";
//! let env = [("APP__STORE__RETRIES".to_owned(), "5".to_owned())];
//! let config: Config = tomlenv::load(text, "APP__", env).unwrap();
//! assert_eq!((config.store.table.as_str(), config.store.retries), ("dev", 5));
//! ```
#![forbid(unsafe_code)]

use serde::de::DeserializeOwned;

mod store;

pub use store::{StoreBackend, StoreTable};

/// Why a configuration did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An environment variable could not be applied.
    #[error("environment variable `{variable}`: {reason}")]
    Variable {
        /// The variable's name.
        variable: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The text (with overrides) does not parse or has the wrong shape; the
    /// message names the key.
    #[error("{0}")]
    Toml(String),
}

/// Parses `text`, applies every variable of `env` that starts with `prefix`,
/// and deserializes the result.
pub fn load<T: DeserializeOwned>(
    text: &str,
    prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, Error> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::Toml(e.to_string()))?;
    let mut root = toml::Value::Table(table);
    for (name, value) in env {
        let Some(path) = name.strip_prefix(prefix) else {
            continue;
        };
        let path: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        set(&mut root, &path, parse_value(&value)).map_err(|reason| Error::Variable {
            variable: name.clone(),
            reason,
        })?;
    }
    root.try_into()
        .map_err(|e: toml::de::Error| Error::Toml(e.to_string()))
}

/// A TOML value if `text` parses as one, else `text` as a string.
fn parse_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

fn set(node: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    if first.is_empty() {
        return Err("the name has an empty part (`____`); separate keys with `__`".into());
    }
    let child = match node {
        toml::Value::Table(table) => table
            .entry(first.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new())),
        toml::Value::Array(items) => {
            let i: usize = first
                .parse()
                .map_err(|_| format!("`{first}` is not an array index"))?;
            items
                .get_mut(i)
                .ok_or_else(|| format!("there is no entry at index {i}"))?
        }
        _ => return Err(format!("the key before `{first}` is not a table")),
    };
    set(child, rest, value)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    type Doc = BTreeMap<String, toml::Value>;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn variables_set_nested_keys_and_array_entries() {
        let text = "[a]\nb = 1\n[[list]]\nname = \"x\"\n";
        let doc: Doc = load(
            text,
            "T__",
            env(&[
                ("T__A__B", "2"),
                ("T__A__NEW", "text with spaces"),
                ("T__LIST__0__NAME", "y"),
                ("OTHER__A__B", "9"),
            ]),
        )
        .unwrap();
        let a = doc["a"].as_table().unwrap();
        assert_eq!(a["b"].as_integer(), Some(2));
        assert_eq!(a["new"].as_str(), Some("text with spaces"));
        assert_eq!(
            doc["list"].as_array().unwrap()[0]["name"].as_str(),
            Some("y")
        );
    }

    #[test]
    fn bad_variables_are_named() {
        let err = load::<Doc>(
            "[[list]]\nname = \"x\"\n",
            "T__",
            env(&[("T__LIST__3__NAME", "y")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("T__LIST__3__NAME"), "{err}");
        assert!(err.to_string().contains("index 3"), "{err}");
        let err = load::<Doc>("a = 1\n", "T__", env(&[("T__A__B", "y")])).unwrap_err();
        assert!(err.to_string().contains("not a table"), "{err}");
    }

    #[test]
    fn values_are_toml_when_they_parse() {
        let doc: Doc = load(
            "",
            "T__",
            env(&[("T__L", "[\"a\", \"b\"]"), ("T__F", "true")]),
        )
        .unwrap();
        assert_eq!(doc["l"].as_array().map(Vec::len), Some(2));
        assert_eq!(doc["f"].as_bool(), Some(true));
    }
}
