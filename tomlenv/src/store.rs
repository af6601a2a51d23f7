//! The `[store]` table every tool's configuration has: a SQLite file or a
//! DynamoDB table.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[store]`: at most one of `sqlite` or `dynamodb_table`; neither means
/// the tool's default SQLite file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreTable {
    /// A SQLite database file.
    pub sqlite: Option<PathBuf>,
    /// A DynamoDB table, reached with the caller's AWS configuration.
    pub dynamodb_table: Option<String>,
}

/// Where state is kept, as `[store]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A DynamoDB table.
    DynamoDb(String),
}

impl StoreTable {
    /// Why the table is unusable, if it is: it names both stores, or an
    /// empty table name. The key to name in the error is `store`.
    pub fn problem(&self) -> Option<&'static str> {
        if self.sqlite.is_some() && self.dynamodb_table.is_some() {
            return Some("give one of `sqlite` or `dynamodb_table`, not both");
        }
        if self.dynamodb_table.as_deref() == Some("") {
            return Some("`dynamodb_table` is empty; name the table or remove the key");
        }
        None
    }

    /// The store selected: the DynamoDB table if one is named, else the
    /// SQLite file, `default_sqlite` when none is named.
    pub fn backend(&self, default_sqlite: &str) -> StoreBackend {
        match (&self.dynamodb_table, &self.sqlite) {
            (Some(table), _) => StoreBackend::DynamoDb(table.clone()),
            (None, Some(path)) => StoreBackend::Sqlite(path.clone()),
            (None, None) => StoreBackend::Sqlite(PathBuf::from(default_sqlite)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Config {
        #[serde(default)]
        store: StoreTable,
    }

    fn store(text: &str, env: &[(&str, &str)]) -> StoreTable {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        crate::load::<Config>(text, "T__", env).unwrap().store
    }

    #[test]
    fn one_key_selects_its_store_and_none_the_default_file() {
        assert_eq!(
            store("", &[]).backend("t.db"),
            StoreBackend::Sqlite("t.db".into())
        );
        assert_eq!(
            store("[store]\n", &[]).backend("t.db"),
            StoreBackend::Sqlite("t.db".into())
        );
        let table = store("[store]\ndynamodb_table = \"t\"\n", &[]);
        assert_eq!(table.problem(), None);
        assert_eq!(table.backend("t.db"), StoreBackend::DynamoDb("t".into()));
        // A variable alone selects DynamoDB too.
        let table = store("", &[("T__STORE__DYNAMODB_TABLE", "t")]);
        assert_eq!(table.backend("t.db"), StoreBackend::DynamoDb("t".into()));
        assert_eq!(
            store("[store]\nsqlite = \"a.db\"\n", &[]).backend("t.db"),
            StoreBackend::Sqlite("a.db".into())
        );
    }

    #[test]
    fn both_stores_or_an_empty_table_are_a_problem() {
        let both = store("[store]\nsqlite = \"a.db\"\ndynamodb_table = \"t\"\n", &[]);
        assert!(both.problem().unwrap().contains("not both"));
        let empty = store("[store]\ndynamodb_table = \"\"\n", &[]);
        assert!(empty.problem().unwrap().contains("empty"));
    }
}
