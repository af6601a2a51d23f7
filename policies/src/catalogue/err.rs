use thiserror::Error;

/// Why catalogue text could not be loaded.
///
/// The embedded catalogue is checked by this crate's tests, so for
/// [`Catalogue::builtin`](super::Catalogue::builtin) this is a bug in the
/// data files, never something a user causes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "catalogue line {line} (`{text}`): {problem}; fix `policies/data/global-condition-keys.tsv` \
     or rerun `python3 policies/data/regenerate.py`"
)]
pub struct CatalogueError {
    /// 1-based line number in the text given to the parser.
    pub line: usize,
    /// The start of the offending line.
    pub text: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with one catalogue line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Problem {
    /// The first field is not one of `S`, `K`, `R`, `A`, `G`.
    #[error("unknown record kind `{0}`")]
    UnknownRecord(String),
    /// A record has too few or too many tab-separated fields.
    #[error("expected {expected} tab-separated fields, found {found}")]
    FieldCount {
        /// How many the record kind has.
        expected: usize,
        /// How many the line has.
        found: usize,
    },
    /// A `K`, `R` or `A` line before any `S` line.
    #[error("record outside a service")]
    OutsideService,
    /// An access level letter other than `L`, `R`, `W`, `T`, `P`.
    #[error("unknown access level `{0}`")]
    UnknownAccessLevel(String),
    /// A condition key type the loader does not know.
    #[error("unknown condition key type `{0}`")]
    UnknownKeyType(String),
    /// A number in an index list does not parse or points past the
    /// condition keys or resource types listed so far for the service.
    #[error("bad index `{0}`")]
    BadIndex(String),
    /// Services or actions are not in strictly ascending lowercase order.
    #[error("`{0}` is out of order or repeated")]
    Order(String),
    /// An empty name, a non-ASCII action name or a `:` in a prefix.
    #[error("invalid name `{0}`")]
    Name(String),
    /// More entries than the 32-bit indexes can hold.
    #[error("too many entries")]
    TooLarge,
}
