//! The function's environment variables, taken once at start by the binary
//! and read through [`Env`] so every error names its variable.

use std::collections::BTreeMap;

use crate::err::InitError;

/// A snapshot of the environment variables.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The variables from `vars` (the binary passes `std::env::vars()`).
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            vars: vars.into_iter().collect(),
        }
    }

    /// A variable that must be set and not blank; `what` says what it holds.
    pub fn required(&self, name: &str, what: &'static str) -> Result<&str, InitError> {
        self.optional(name).ok_or_else(|| InitError::Missing {
            name: name.to_owned(),
            what,
        })
    }

    /// A variable that may be unset; blank counts as unset.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A comma-separated list (empty when unset).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A comma-separated list of numbers; `what` says what they count.
    pub fn numbers(&self, name: &str, what: &str) -> Result<Option<Vec<u32>>, InitError> {
        if self.optional(name).is_none() {
            return Ok(None);
        }
        self.list(name)
            .iter()
            .map(|item| {
                item.parse().map_err(|_| InitError::Invalid {
                    name: name.to_owned(),
                    reason: format!(
                        "`{item}` is not a whole number of {what}; write e.g. `30,15,2`"
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Every variable whose name starts with `prefix`, for tools that read
    /// their own overrides (`SSH_CA__...`).
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (String, String)> + 'a {
        self.vars
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn required_names_the_variable_and_blank_is_unset() {
        let env = env(&[("A", "x"), ("BLANK", "  ")]);
        assert_eq!(env.required("A", "a value").unwrap(), "x");
        let err = env
            .required("BLANK", "the table name")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "environment variable `BLANK` is not set; set it to the table name"
        );
        assert!(env.optional("MISSING").is_none());
    }

    #[test]
    fn lists_and_numbers() {
        let env = env(&[("L", "a, b,,c"), ("N", "30,15, 2"), ("BAD", "30,x")]);
        assert_eq!(env.list("L"), ["a", "b", "c"]);
        assert!(env.list("NONE").is_empty());
        assert_eq!(env.numbers("N", "days").unwrap(), Some(vec![30, 15, 2]));
        assert_eq!(env.numbers("NONE", "days").unwrap(), None);
        let err = env.numbers("BAD", "days").unwrap_err().to_string();
        assert!(err.contains("`BAD`") && err.contains("`x`"), "{err}");
    }

    #[test]
    fn prefix_selects_overrides() {
        let env = env(&[("SSH_CA__X", "1"), ("SSH_CA_CONFIG", "t"), ("HOME", "/")]);
        let found: Vec<_> = env.with_prefix("SSH_CA__").collect();
        assert_eq!(found, [("SSH_CA__X".to_owned(), "1".to_owned())]);
    }
}
