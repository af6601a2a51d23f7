//! Borrowed views of catalogue entries. Each is two or three pointers, so
//! they are `Copy` and cost nothing to hand around.

use super::{
    AccessLevel, ActionId, ActionRec, ActionResourceRec, Catalogue, ConditionKeyType, KeyRec,
    ResourceRec, ServiceRec, Span, cmp_ignore_case,
};
use std::fmt;
use std::ops::Range;

/// An AWS service: its prefix, actions, resource types and condition keys.
#[derive(Clone, Copy)]
pub struct Service<'c> {
    cat: &'c Catalogue,
    rec: &'c ServiceRec,
}

impl<'c> Service<'c> {
    pub(super) fn new(cat: &'c Catalogue, rec: &'c ServiceRec) -> Self {
        Service { cat, rec }
    }

    /// The prefix used in action names, e.g. `s3`.
    pub fn prefix(self) -> &'c str {
        self.cat.str(self.rec.prefix)
    }

    /// The service's full name, e.g. `Amazon S3`.
    pub fn name(self) -> &'c str {
        self.cat.str(self.rec.name)
    }

    /// The service's actions, sorted by lowercase name.
    pub fn actions(self) -> impl ExactSizeIterator<Item = Action<'c>> + 'c {
        let cat = self.cat;
        let range = self.action_range();
        let start = range.start;
        cat.actions
            .get(range)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(i, rec)| Action::new(cat, rec, start + i))
    }

    /// The service's `i`-th action in its sorted list (`actions().nth(i)`
    /// without walking there).
    pub fn action_at(self, i: usize) -> Option<Action<'c>> {
        let start = self.action_range().start;
        let recs = self.cat.actions.get(self.action_range())?;
        recs.get(i).map(|rec| Action::new(self.cat, rec, start + i))
    }

    /// The positions of the service's actions in the catalogue's action list
    /// (the [`ActionId`] indexes of its actions, which are contiguous).
    pub fn action_range(self) -> Range<usize> {
        self.rec.actions.range()
    }

    /// The action of this service named `name` (without the prefix; any case).
    pub fn action(self, name: &str) -> Option<Action<'c>> {
        let range = self.action_range();
        let start = range.start;
        let recs = self.cat.actions.get(range)?;
        let i = recs
            .binary_search_by(|rec| cmp_ignore_case(self.cat.str(rec.name), name))
            .ok()?;
        recs.get(i).map(|rec| Action::new(self.cat, rec, start + i))
    }

    /// The service's resource types.
    pub fn resource_types(self) -> impl ExactSizeIterator<Item = ResourceType<'c>> + 'c {
        let cat = self.cat;
        cat.resources
            .get(self.rec.resources.range())
            .unwrap_or_default()
            .iter()
            .map(move |rec| ResourceType { cat, rec })
    }

    /// The resource type named `name` (any case), e.g. `object`.
    pub fn resource_type(self, name: &str) -> Option<ResourceType<'c>> {
        self.resource_types()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// The condition keys the service defines, its own and the `aws:` keys
    /// it documents (such as `aws:ResourceTag/${TagKey}`).
    pub fn condition_keys(self) -> impl ExactSizeIterator<Item = ConditionKey<'c>> + 'c {
        let cat = self.cat;
        cat.keys
            .get(self.rec.keys.range())
            .unwrap_or_default()
            .iter()
            .map(move |rec| ConditionKey { cat, rec })
    }

    /// The service key `name` matches, templated keys included.
    pub fn condition_key(self, name: &str) -> Option<ConditionKey<'c>> {
        self.condition_keys().find(|k| k.matches(name))
    }
}

impl fmt::Debug for Service<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("prefix", &self.prefix())
            .field("name", &self.name())
            .finish()
    }
}

/// The service at `index`, for the records that refer to theirs by index.
fn service_at(cat: &Catalogue, index: u32) -> Service<'_> {
    let rec = cat.services.get(index as usize).unwrap_or(&NO_SERVICE);
    Service::new(cat, rec)
}

/// A service record for the impossible case of an action whose service index
/// is out of range (the parser never builds one).
static NO_SERVICE: ServiceRec = ServiceRec {
    prefix: Span { start: 0, end: 0 },
    name: Span { start: 0, end: 0 },
    actions: Span { start: 0, end: 0 },
    resources: Span { start: 0, end: 0 },
    keys: Span { start: 0, end: 0 },
};

/// One action, e.g. `s3:GetObject`. `Display` writes `prefix:Name` in
/// canonical case.
#[derive(Clone, Copy)]
pub struct Action<'c> {
    cat: &'c Catalogue,
    rec: &'c ActionRec,
    index: usize,
}

impl<'c> Action<'c> {
    pub(super) fn new(cat: &'c Catalogue, rec: &'c ActionRec, index: usize) -> Self {
        Action { cat, rec, index }
    }

    /// The action's compact id.
    pub fn id(self) -> ActionId {
        ActionId::new(u32::try_from(self.index).unwrap_or(u32::MAX))
    }

    /// The action name without the service prefix, e.g. `GetObject`.
    pub fn name(self) -> &'c str {
        self.cat.str(self.rec.name)
    }

    /// The service the action belongs to.
    pub fn service(self) -> Service<'c> {
        service_at(self.cat, self.rec.service)
    }

    /// How much the action can do.
    pub fn access_level(self) -> AccessLevel {
        self.rec.level
    }

    /// The resource types the action can be scoped to. An action with none
    /// only takes `"Resource": "*"`.
    pub fn resource_types(self) -> impl ExactSizeIterator<Item = ActionResource<'c>> + 'c {
        let cat = self.cat;
        cat.action_resources
            .get(self.rec.resources.range())
            .unwrap_or_default()
            .iter()
            .map(move |rec| ActionResource { cat, rec })
    }

    /// The condition keys the action supports in any request: those listed
    /// for the action itself (not tied to a resource type).
    pub fn own_condition_keys(self) -> impl Iterator<Item = ConditionKey<'c>> + 'c {
        self.cat.key_list(self.rec.keys)
    }

    /// Every service-defined condition key the action supports: its own, the
    /// ones listed with each of its resource types, and the resource types'
    /// own keys; without duplicates, in that order. Global keys are not
    /// listed (see [`Catalogue::global_condition_keys`]).
    pub fn condition_keys(self) -> Vec<ConditionKey<'c>> {
        let mut keys: Vec<ConditionKey<'c>> = Vec::new();
        let all = self.own_condition_keys().chain(
            self.resource_types()
                .flat_map(|r| r.condition_keys().chain(r.resource_type().condition_keys())),
        );
        for key in all {
            if !keys.iter().any(|k| std::ptr::eq(k.rec, key.rec)) {
                keys.push(key);
            }
        }
        keys
    }

    /// The definition of condition key `name` if the action supports it:
    /// one of [`condition_keys`](Self::condition_keys) or a global key,
    /// templated keys included (`s3:RequestObjectTag/team` finds
    /// `s3:RequestObjectTag/<key>`). `None` means the key never appears in
    /// this action's request context.
    pub fn condition_key(self, name: &str) -> Option<ConditionKey<'c>> {
        self.condition_keys()
            .into_iter()
            .find(|k| k.matches(name))
            .or_else(|| self.cat.global_condition_key(name))
    }
}

impl fmt::Display for Action<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service().prefix(), self.name())
    }
}

impl fmt::Debug for Action<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Action({self} #{})", self.index)
    }
}

/// One resource type as an action takes it: the type, whether the action
/// requires it, and condition keys that apply with it.
#[derive(Clone, Copy)]
pub struct ActionResource<'c> {
    cat: &'c Catalogue,
    rec: &'c ActionResourceRec,
}

impl<'c> ActionResource<'c> {
    /// The resource type.
    pub fn resource_type(self) -> ResourceType<'c> {
        let rec = self
            .cat
            .resources
            .get(self.rec.resource as usize)
            .unwrap_or(&NO_RESOURCE);
        ResourceType { cat: self.cat, rec }
    }

    /// Whether the action always acts on a resource of this type (marked
    /// `*` in the AWS reference).
    pub fn required(self) -> bool {
        self.rec.required
    }

    /// The condition keys listed for this action with this resource type.
    pub fn condition_keys(self) -> impl Iterator<Item = ConditionKey<'c>> + 'c {
        self.cat.key_list(self.rec.keys)
    }
}

impl fmt::Debug for ActionResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionResource")
            .field("resource_type", &self.resource_type().name())
            .field("required", &self.required())
            .finish()
    }
}

/// A resource record for the impossible case of an out-of-range index.
static NO_RESOURCE: ResourceRec = ResourceRec {
    service: 0,
    name: Span { start: 0, end: 0 },
    arn: Span { start: 0, end: 0 },
    keys: Span { start: 0, end: 0 },
};

/// A kind of resource a service's actions act on, e.g. S3's `object`.
#[derive(Clone, Copy)]
pub struct ResourceType<'c> {
    cat: &'c Catalogue,
    rec: &'c ResourceRec,
}

impl<'c> ResourceType<'c> {
    /// The type's name, e.g. `object`.
    pub fn name(self) -> &'c str {
        self.cat.str(self.rec.name)
    }

    /// The ARN format, e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}`.
    pub fn arn(self) -> &'c str {
        self.cat.str(self.rec.arn)
    }

    /// The service the type belongs to.
    pub fn service(self) -> Service<'c> {
        service_at(self.cat, self.rec.service)
    }

    /// The condition keys that apply to resources of this type.
    pub fn condition_keys(self) -> impl Iterator<Item = ConditionKey<'c>> + 'c {
        self.cat.key_list(self.rec.keys)
    }
}

impl fmt::Debug for ResourceType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceType")
            .field("name", &self.name())
            .field("arn", &self.arn())
            .finish()
    }
}

/// A condition key definition, e.g. `s3:x-amz-acl` (String) or the template
/// `aws:ResourceTag/${TagKey}`.
#[derive(Clone, Copy)]
pub struct ConditionKey<'c> {
    cat: &'c Catalogue,
    rec: &'c KeyRec,
}

impl<'c> ConditionKey<'c> {
    pub(super) fn new(cat: &'c Catalogue, rec: &'c KeyRec) -> Self {
        ConditionKey { cat, rec }
    }

    /// The key as the reference spells it, templates included.
    pub fn name(self) -> &'c str {
        self.cat.str(self.rec.name)
    }

    /// The type of the key's values.
    pub fn key_type(self) -> ConditionKeyType {
        self.rec.ty
    }

    /// Whether the name has a placeholder part (`${TagKey}`, `<key>`) that
    /// stands for any non-empty text.
    pub fn is_templated(self) -> bool {
        self.rec.templated
    }

    /// Whether the key `name` used in a policy is this key: equal ignoring
    /// ASCII case, or, for a template, equal with each placeholder replaced by
    /// one or more characters.
    pub fn matches(self, name: &str) -> bool {
        let own = self.name();
        if self.rec.templated {
            template_matches(own, name)
        } else {
            own.eq_ignore_ascii_case(name)
        }
    }
}

impl fmt::Debug for ConditionKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConditionKey({} {})", self.name(), self.key_type())
    }
}

/// Where the first placeholder of `template` starts and ends (`${...}` or `<...>`).
pub(super) fn placeholder(template: &str) -> Option<(usize, usize)> {
    let dollar = template
        .find("${")
        .and_then(|s| Some((s, s + template.get(s..)?.find('}')? + 1)));
    let angle = template
        .find('<')
        .and_then(|s| Some((s, s + template.get(s..)?.find('>')? + 1)));
    match (dollar, angle) {
        (Some(d), Some(a)) => Some(if d.0 < a.0 { d } else { a }),
        (d, a) => d.or(a),
    }
}

fn template_matches(template: &str, text: &str) -> bool {
    let Some((start, end)) = placeholder(template) else {
        return template.eq_ignore_ascii_case(text);
    };
    let (Some(literal), Some(rest)) = (template.get(..start), template.get(end..)) else {
        return false;
    };
    let Some(head) = text.get(..literal.len()) else {
        return false;
    };
    if !head.eq_ignore_ascii_case(literal) {
        return false;
    }
    let after = text.get(literal.len()..).unwrap_or_default();
    // The placeholder takes one or more characters, then the rest must match.
    after
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .chain(std::iter::once(after.len()))
        .filter(|&i| i > 0)
        .any(|i| template_matches(rest, after.get(i..).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert!(template_matches(
            "aws:ResourceTag/${TagKey}",
            "AWS:resourcetag/Team"
        ));
        assert!(!template_matches(
            "aws:ResourceTag/${TagKey}",
            "aws:ResourceTag/"
        ));
        assert!(!template_matches(
            "aws:ResourceTag/${TagKey}",
            "aws:ResourceTags"
        ));
        assert!(template_matches(
            "s3:RequestObjectTag/<key>",
            "s3:RequestObjectTag/a/b"
        ));
        assert!(template_matches(
            "codebuild:secondarySources/${sourceIdentifier}.location",
            "codebuild:secondarySources/src1.location"
        ));
        assert!(!template_matches(
            "codebuild:secondarySources/${sourceIdentifier}.location",
            "codebuild:secondarySources/.location"
        ));
        assert!(template_matches(
            "kms:EncryptionContext:${EncryptionContextKey}",
            "kms:EncryptionContext:dept"
        ));
        assert!(template_matches("plain:Key", "PLAIN:key"));
        assert!(!template_matches("plain:Key", "plain:Keys"));
        assert_eq!(placeholder("a<b>${c}"), Some((1, 4)));
        assert_eq!(placeholder("a${c}<b>"), Some((1, 5)));
        assert_eq!(placeholder("a<b"), None);
    }
}
