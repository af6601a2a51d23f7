//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, any
//! context key, the escapes `${*}` `${?}` `${$}`, and defaults such as
//! `${aws:username, 'anonymous'}`.
//!
//! IAM substitutes them in `Resource`/`NotResource` and in the values of the
//! `String*` and `Arn*` condition operators, and only in policies whose
//! `Version` is `2012-10-17`; under `2008-10-17` or without a version the text
//! is taken literally ([`Template::new`] decides from the version).
//!
//! A variable whose key is absent from the request (or has several values) and
//! that has no default makes the whole value unresolved: [`Template::resolve`]
//! answers `None`, and the value matches nothing (so a negated operator such as
//! `StringNotEquals` counts it as "not equal", as AWS documents). Key names
//! are case-insensitive; defaults and values are used as written.
//!
//! Text inserted from the request, defaults and the `${*}`/`${?}` escapes are
//! literal characters, never wildcards: [`Pattern`] keeps them apart from the
//! `*` and `?` written in the policy.

use std::borrow::Cow;

use crate::arn;
use crate::glob::{self, Case};
use crate::model::Version;

/// Where a template finds the values of its variables.
pub trait Lookup {
    /// The value of the context key `key` (given in lowercase) as text, or
    /// `None` when the request has no single value for it.
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>>;
}

/// A policy string split into literal text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text as written; in a pattern its `*` and `?` are wildcards.
    Text(String),
    /// `${*}`, `${?}` or `${$}`: the character itself, never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`; the key in lowercase.
    Variable {
        key: String,
        default: Option<String>,
    },
}

impl Template {
    /// Reads `text` with the rules of the policy language `version`: variables
    /// under `2012-10-17`, literal text otherwise.
    pub fn new(text: &str, version: Option<Version>) -> Template {
        match version {
            Some(Version::V2012_10_17) => Template::parse(text),
            Some(Version::V2008_10_17) | None => Template::literal(text),
        }
    }

    /// Text without variables.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Text(text.to_owned())],
        }
    }

    /// Reads the variables in `text`. A `${` that does not start a well-formed
    /// variable (no closing `}`, an empty key, a default without quotes) is
    /// kept as literal text.
    ///
    /// ```
    /// use policies::variables::Template;
    /// let t = Template::parse("home/${aws:username, 'guest'}/${*}");
    /// assert!(t.has_variables());
    /// assert_eq!(t.keys().collect::<Vec<_>>(), ["aws:username"]);
    /// ```
    pub fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut pending = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            pending.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match parse_variable(after) {
                Some((part, used)) => {
                    if !pending.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut pending)));
                    }
                    parts.push(part);
                    rest = &after[used..];
                }
                None => {
                    pending.push_str("${");
                    rest = after;
                }
            }
        }
        pending.push_str(rest);
        if !pending.is_empty() || parts.is_empty() {
            parts.push(Part::Text(pending));
        }
        Template { parts }
    }

    /// True when the text has a variable or an escape, i.e. it is not used
    /// exactly as written.
    pub fn has_variables(&self) -> bool {
        !matches!(self.parts.as_slice(), [Part::Text(_)])
    }

    /// The (lowercase) context keys the template refers to.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable { key, .. } => Some(key.as_str()),
            Part::Text(_) | Part::Escaped(_) => None,
        })
    }

    /// The text with every variable replaced, for exact comparisons; `None`
    /// when a variable has neither a value nor a default.
    ///
    /// ```
    /// use std::{borrow::Cow, collections::HashMap};
    /// use policies::variables::{Lookup, Template};
    /// struct Ctx(HashMap<&'static str, &'static str>);
    /// impl Lookup for Ctx {
    ///     fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
    ///         self.0.get(key).map(|v| Cow::Borrowed(*v))
    ///     }
    /// }
    /// let ctx = Ctx(HashMap::from([("aws:username", "bob")]));
    /// let t = Template::parse("home/${AWS:UserName}/${aws:PrincipalTag/team, 'none'}${?}");
    /// assert_eq!(t.resolve(&ctx).as_deref(), Some("home/bob/none?"));
    /// assert_eq!(Template::parse("${aws:userid}").resolve(&ctx), None);
    /// ```
    pub fn resolve(&self, lookup: &impl Lookup) -> Option<String> {
        self.render(lookup, |out, text| out.push_str(text), |out, c| out.push(c))
    }

    /// The template as a wildcard pattern: `*` and `?` written in the policy
    /// are wildcards, everything inserted is literal. `None` when a variable
    /// has neither a value nor a default.
    pub fn resolve_pattern(&self, lookup: &impl Lookup) -> Option<Pattern> {
        let text = self.render(lookup, push_literal, |out, c| {
            push_literal(out, c.encode_utf8(&mut [0; 4]))
        })?;
        Some(Pattern { text })
    }

    /// Writes the parts: `text` for text written in the policy, `inserted`
    /// for everything that came from a value, a default or an escape.
    fn render(
        &self,
        lookup: &impl Lookup,
        inserted: impl Fn(&mut String, &str),
        escaped: impl Fn(&mut String, char),
    ) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Escaped(c) => escaped(&mut out, *c),
                Part::Variable { key, default } => match lookup.lookup(key) {
                    Some(value) => inserted(&mut out, &value),
                    None => inserted(&mut out, default.as_deref()?),
                },
            }
        }
        Some(out)
    }
}

/// Reads what follows a `${`: the part and how many bytes it used (through
/// the closing `}`), or `None` when it is not a well-formed variable.
fn parse_variable(after: &str) -> Option<(Part, usize)> {
    let mut quoted = false;
    let end = after.char_indices().find_map(|(i, c)| match c {
        '\'' => {
            quoted = !quoted;
            None
        }
        '}' if !quoted => Some(i),
        _ => None,
    })?;
    let inner = &after[..end];
    let part = match inner.trim() {
        "*" => Part::Escaped('*'),
        "?" => Part::Escaped('?'),
        "$" => Part::Escaped('$'),
        _ => {
            let (key, default) = match inner.split_once(',') {
                Some((key, default)) => (key.trim(), Some(parse_default(default.trim())?)),
                None => (inner.trim(), None),
            };
            if key.is_empty() || key.contains(['$', '{', '}', '\'']) {
                return None;
            }
            Part::Variable {
                key: key.to_lowercase(),
                default,
            }
        }
    };
    Some((part, end + 1))
}

/// `'text'` with `''` standing for one quote.
fn parse_default(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some(inner.replace("''", "'"))
}

/// Stands for a literal `*` inside a [`Pattern`] (a Unicode noncharacter,
/// which never appears in real text).
const LITERAL_STAR: char = '\u{FDD0}';
/// Stands for a literal `?` inside a [`Pattern`].
const LITERAL_QUESTION: char = '\u{FDD1}';

fn push_literal(out: &mut String, text: &str) {
    for c in text.chars() {
        out.push(match c {
            '*' => LITERAL_STAR,
            '?' => LITERAL_QUESTION,
            c => c,
        });
    }
}

/// A wildcard pattern (`*`, `?`) that may also hold literal `*` and `?`
/// characters, as produced by [`Template::resolve_pattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    /// A pattern whose every `*` and `?` is a wildcard.
    pub fn new(text: &str) -> Pattern {
        Pattern {
            text: text.to_owned(),
        }
    }

    /// Whether `text` matches, with [`glob::matches`] rules.
    pub fn matches(&self, text: &str, case: Case) -> bool {
        glob::matches(&self.text, &self.subject(text), case)
    }

    /// Whether the ARN `text` matches, with [`arn::matches`] rules.
    pub fn matches_arn(&self, text: &str) -> bool {
        arn::matches(&self.text, &self.subject(text))
    }

    /// The text to match: where the pattern has literal wildcard characters,
    /// the text's `*` and `?` are renamed the same way so only they match.
    fn subject<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.text.contains([LITERAL_STAR, LITERAL_QUESTION]) && text.contains(['*', '?']) {
            let mut out = String::with_capacity(text.len() + 4);
            push_literal(&mut out, text);
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Ctx(HashMap<String, String>);

    impl Lookup for Ctx {
        fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
            self.0.get(key).map(|v| Cow::Borrowed(v.as_str()))
        }
    }

    fn ctx(pairs: &[(&str, &str)]) -> Ctx {
        Ctx(pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect())
    }

    #[test]
    fn substitutes_keys_case_insensitively() {
        let c = ctx(&[("aws:username", "Bob"), ("aws:principaltag/team", "red")]);
        let t = Template::parse("arn:aws:s3:::b/${aws:UserName}/${AWS:PrincipalTag/Team}/*");
        assert_eq!(t.resolve(&c).unwrap(), "arn:aws:s3:::b/Bob/red/*");
        assert_eq!(
            t.keys().collect::<Vec<_>>(),
            ["aws:username", "aws:principaltag/team"]
        );
    }

    #[test]
    fn missing_key_without_default_is_unresolved() {
        let c = ctx(&[]);
        assert_eq!(Template::parse("a/${aws:username}").resolve(&c), None);
        assert!(
            Template::parse("a/${aws:username}")
                .resolve_pattern(&c)
                .is_none()
        );
        assert_eq!(
            Template::parse("a/${aws:username, 'anonymous'}")
                .resolve(&c)
                .unwrap(),
            "a/anonymous"
        );
        assert_eq!(
            Template::parse("${ aws:username ,'it''s' }")
                .resolve(&c)
                .unwrap(),
            "it's"
        );
        // A default is not used when the key has a value.
        let c = ctx(&[("aws:username", "bob")]);
        assert_eq!(
            Template::parse("${aws:username, 'x'}").resolve(&c).unwrap(),
            "bob"
        );
    }

    #[test]
    fn escapes() {
        let t = Template::parse("${*}${?}${$}x");
        assert!(t.has_variables());
        assert_eq!(t.resolve(&ctx(&[])).unwrap(), "*?$x");
        let p = t.resolve_pattern(&ctx(&[])).unwrap();
        assert!(p.matches("*?$x", Case::Sensitive));
        assert!(!p.matches("ab$x", Case::Sensitive));
    }

    #[test]
    fn malformed_variables_stay_literal() {
        for text in [
            "${", "a${b", "${}", "${ }", "${a, b}", "${a, 'b}", "$ {a}", "${a{b}",
        ] {
            let t = Template::parse(text);
            assert_eq!(
                t.resolve(&ctx(&[("a", "X"), ("b", "Y")])).unwrap(),
                text,
                "{text}"
            );
        }
        assert!(!Template::parse("plain * text").has_variables());
        assert!(!Template::parse("").has_variables());
    }

    #[test]
    fn literal_under_old_versions() {
        let c = ctx(&[("aws:username", "bob")]);
        for version in [None, Some(Version::V2008_10_17)] {
            let t = Template::new("home/${aws:username}", version);
            assert!(!t.has_variables());
            assert_eq!(t.resolve(&c).unwrap(), "home/${aws:username}");
        }
        let t = Template::new("home/${aws:username}", Some(Version::V2012_10_17));
        assert_eq!(t.resolve(&c).unwrap(), "home/bob");
    }

    #[test]
    fn inserted_text_is_never_a_wildcard() {
        let c = ctx(&[("aws:username", "*")]);
        let p = Template::parse("home/${aws:username}/*")
            .resolve_pattern(&c)
            .unwrap();
        assert!(p.matches("home/*/file", Case::Sensitive));
        assert!(!p.matches("home/bob/file", Case::Sensitive));
        let p = Template::parse("arn:aws:s3:::b/${aws:username}/?")
            .resolve_pattern(&c)
            .unwrap();
        assert!(p.matches_arn("arn:aws:s3:::b/*/x"));
        assert!(!p.matches_arn("arn:aws:s3:::b/bob/x"));
    }

    #[test]
    fn plain_patterns() {
        let p = Pattern::new("s3:Get*");
        assert!(p.matches("S3:getobject", Case::Insensitive));
        assert!(!p.matches("S3:getobject", Case::Sensitive));
        assert!(Pattern::new("arn:aws:s3:::b/*").matches_arn("arn:aws:s3:::b/k"));
    }
}
