//! What `monitor` remembers between runs, behind the [`Store`] trait: every
//! revision of every resource (a new one only when its durable hash
//! changes, see [`crate::durable`]), the state of every issue, and the
//! justifications people gave. [`SqliteStore`] (one file) is the default;
//! [`DynamoStore`] (one table) serves Lambda.
//!
//! Both stores share the decisions: [`plan_record`] (which revisions and
//! events a collection makes) and [`crate::lifecycle::reconcile`] (which
//! issue events an audit makes); a store only reads and writes.

mod dynamo;
mod err;
mod sqlite;

pub use crate::lifecycle::{IssueState, IssueStatus, Justification, Scope};
pub use dynamo::DynamoStore;
pub use err::StoreError;
pub use sqlite::SqliteStore;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::drift::diff;
use crate::durable::{Ephemeral, hash_document};
use crate::model::{ConfigItem, Event, Issue, IssueId, ItemStatus, PathChange, ResourceKey};

/// One recorded state of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Which resource.
    pub key: ResourceKey,
    /// 1 for the first state recorded, then 2, 3...
    pub number: u32,
    /// Its durable hash.
    pub hash: String,
    /// The item as collected (ephemeral fields included).
    pub item: ConfigItem,
    /// When this state was first recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    /// When this state was last seen (the latest collection, for the newest
    /// revision; the last collection before the next revision, otherwise).
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// What changed since the previous revision (empty for the first).
    pub changes: Vec<PathChange>,
}

impl Revision {
    /// Whether this revision records the resource's deletion.
    pub fn is_deletion(&self) -> bool {
        self.item.status.is_deleted()
    }
}

/// Which resources [`Store::latest`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Accounts, regions and types.
    pub scope: Scope,
    /// Whether resources whose newest revision is a deletion are included.
    pub include_deleted: bool,
}

/// Persistence of revisions, issue states and justifications.
///
/// Object-safe: callers hold a `Box<dyn Store>`. Time always comes in as an
/// argument.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Records a collection seen at `seen_at`: a new revision for each item
    /// whose durable hash differs from its resource's newest revision
    /// (deleted items become a deletion revision), and `last_seen = seen_at`
    /// for the others. Items of one resource are taken in the order given;
    /// an item captured before the resource's newest revision was captured
    /// is stale and ignored. Answers [`Event::ResourceChanged`] (with the
    /// path diff) and [`Event::ResourceDeleted`].
    async fn record(
        &self,
        items: &[ConfigItem],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError>;

    /// Records a complete collection of `scope`: as [`Store::record`], and
    /// every resource in scope that is not among `items` (and not already
    /// deleted) gets a deletion revision. For a snapshot or a full listing,
    /// not for change notifications.
    async fn record_complete(
        &self,
        scope: &Scope,
        items: &[ConfigItem],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError> {
        let live = self
            .latest(&Filter {
                scope: scope.clone(),
                include_deleted: false,
            })
            .await?;
        let mut all = items.to_vec();
        all.extend(vanished(live, items));
        self.record(&all, seen_at).await
    }

    /// The newest state of each resource the filter selects, by key.
    async fn latest(&self, filter: &Filter) -> Result<Vec<ConfigItem>, StoreError>;

    /// Every revision of a resource, oldest first (empty when unknown).
    async fn history(&self, key: &ResourceKey) -> Result<Vec<Revision>, StoreError>;

    /// Every revision first recorded at or after `since`, by time then key.
    async fn revisions_since(&self, since: OffsetDateTime) -> Result<Vec<Revision>, StoreError>;

    /// Compares what an audit of `scope` found at `now` with the issue
    /// states on record, stores the new states and answers the events (see
    /// [`crate::lifecycle`]): an unchanged issue never yields an event twice.
    async fn reconcile(
        &self,
        scope: &Scope,
        issues: &[Issue],
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError>;

    /// The issue states on record in `scope`, open and resolved, by id.
    async fn issues(&self, scope: &Scope) -> Result<Vec<IssueState>, StoreError>;

    /// Justifies a known issue as it is now (its current fingerprint), until
    /// `expires` if given; replaces an earlier justification of it. Refuses
    /// an id no audit has reported and an expiry not after `now`.
    async fn justify(
        &self,
        id: &IssueId,
        reason: &str,
        by: &str,
        expires: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Justification, StoreError>;

    /// Every justification on record (lapsed ones too), by issue id.
    async fn justifications(&self) -> Result<Vec<Justification>, StoreError>;
}

/// Deletion items for the resources in `live` that `items` no longer hold.
fn vanished(live: Vec<ConfigItem>, items: &[ConfigItem]) -> Vec<ConfigItem> {
    let present: HashSet<&ResourceKey> = items.iter().map(|i| &i.key).collect();
    live.into_iter()
        .filter(|item| !present.contains(&item.key))
        .map(|item| ConfigItem {
            status: ItemStatus::Deleted,
            capture_time: None,
            configuration: serde_json::Value::Null,
            supplementary: Default::default(),
            tags: Default::default(),
            ..item
        })
        .collect()
}

/// The newest revision of a resource as a store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// Its revision number.
    pub number: u32,
    /// Its durable hash.
    pub hash: String,
    /// Its item.
    pub item: ConfigItem,
    /// When this revision was first recorded.
    pub first_seen: OffsetDateTime,
    /// When it was last seen.
    pub last_seen: OffsetDateTime,
}

/// What recording a collection does to one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPlan {
    /// Which resource.
    pub key: ResourceKey,
    /// Its head before (`None` for a new resource); a store writes only if
    /// the head is still that revision.
    pub expected: Option<u32>,
    /// When the previous head is superseded: its number and final `last_seen`.
    pub superseded: Option<(u32, OffsetDateTime)>,
    /// New revisions, oldest first, with their final `last_seen`.
    pub revisions: Vec<Revision>,
    /// The head after.
    pub head: Head,
}

impl KeyPlan {
    /// Whether only `last_seen` changes.
    pub fn is_touch(&self) -> bool {
        self.revisions.is_empty()
    }
}

/// Decides what recording `items` seen at `seen_at` does, given the current
/// heads of their resources: one [`KeyPlan`] per resource (in the order of
/// first appearance) and the events, in item order.
pub fn plan_record(
    ephemeral: &Ephemeral,
    heads: &HashMap<ResourceKey, Head>,
    items: &[ConfigItem],
    seen_at: OffsetDateTime,
) -> (Vec<KeyPlan>, Vec<Event>) {
    let mut plans: Vec<KeyPlan> = Vec::new();
    let mut index: HashMap<ResourceKey, usize> = HashMap::new();
    let mut events = Vec::new();
    for item in items {
        let slot = match index.get(&item.key) {
            Some(&slot) => slot,
            None => {
                let head = heads.get(&item.key);
                index.insert(item.key.clone(), plans.len());
                plans.push(KeyPlan {
                    key: item.key.clone(),
                    expected: head.map(|h| h.number),
                    superseded: None,
                    revisions: Vec::new(),
                    head: match head {
                        Some(h) => h.clone(),
                        None => Head {
                            number: 0,
                            hash: String::new(),
                            item: item.clone(),
                            first_seen: seen_at,
                            last_seen: seen_at,
                        },
                    },
                });
                plans.len() - 1
            }
        };
        let Some(plan) = plans.get_mut(slot) else {
            continue;
        };
        let head = &plan.head;
        let stale = matches!(
            (item.capture_time, head.item.capture_time),
            (Some(new), Some(old)) if new < old
        );
        if head.number > 0 && stale {
            continue;
        }
        let document = ephemeral.durable_document(item);
        let hash = hash_document(&document);
        // The stored hash was taken with the ephemeral paths of its day; when
        // it differs, judge again with today's, so that a change of
        // configuration alone makes no revision.
        let previous =
            (head.number > 0 && head.hash != hash).then(|| ephemeral.durable_document(&head.item));
        let unchanged = head.number > 0
            && previous
                .as_ref()
                .is_none_or(|before| hash_document(before) == hash);
        if unchanged {
            plan.head.last_seen = seen_at;
            continue;
        }
        let changes = previous
            .map(|before| diff(&before, &document))
            .unwrap_or_default();
        let number = head.number + 1;
        let was_live = head.number > 0 && !head.item.status.is_deleted();
        if head.number > 0 {
            let previous_last_seen = head.last_seen;
            match plan.revisions.last_mut() {
                Some(previous) => previous.last_seen = previous_last_seen,
                None => plan.superseded = Some((head.number, previous_last_seen)),
            }
        }
        // A deletion of a resource never seen alive is recorded, but is no news.
        if item.status.is_deleted() {
            if was_live {
                events.push(Event::ResourceDeleted {
                    key: item.key.clone(),
                });
            }
        } else {
            events.push(Event::ResourceChanged {
                key: item.key.clone(),
                revision: number,
                changes: changes.clone(),
            });
        }
        plan.revisions.push(Revision {
            key: item.key.clone(),
            number,
            hash: hash.clone(),
            item: item.clone(),
            first_seen: seen_at,
            last_seen: seen_at,
            changes,
        });
        plan.head = Head {
            number,
            hash,
            item: item.clone(),
            first_seen: seen_at,
            last_seen: seen_at,
        };
    }
    (plans, events)
}

/// The justification `justify` writes, or why it refuses.
fn new_justification(
    state: Option<IssueState>,
    id: &IssueId,
    reason: &str,
    by: &str,
    expires: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<Justification, StoreError> {
    let state = state.ok_or_else(|| StoreError::UnknownIssue(id.clone()))?;
    if let Some(expires) = expires.filter(|e| *e <= now) {
        return Err(StoreError::ExpiryInPast {
            id: id.clone(),
            expires,
        });
    }
    Ok(Justification {
        id: id.clone(),
        reason: reason.to_owned(),
        by: by.to_owned(),
        at: now,
        expires,
        fingerprint: state.fingerprint,
        lapsed: None,
    })
}

/// Whether a stored issue state belongs to what `reconcile` must see: in
/// scope, or one of the ids found now.
fn relevant(scope: &Scope, found: &HashSet<&IssueId>, state: &IssueState) -> bool {
    scope.covers(&state.issue.resource) || found.contains(&state.issue.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn bucket(configuration: serde_json::Value) -> ConfigItem {
        ConfigItem {
            key: "111111111111/us-east-1/AWS::S3::Bucket/logs"
                .parse()
                .unwrap(),
            arn: None,
            name: None,
            status: ItemStatus::Ok,
            capture_time: None,
            configuration,
            supplementary: Default::default(),
            tags: Default::default(),
        }
    }

    /// Plans and folds the result into `heads`, as a store would.
    fn step(
        e: &Ephemeral,
        heads: &mut HashMap<ResourceKey, Head>,
        items: &[ConfigItem],
        at: OffsetDateTime,
    ) -> (Vec<KeyPlan>, Vec<Event>) {
        let (plans, events) = plan_record(e, heads, items, at);
        for plan in &plans {
            heads.insert(plan.key.clone(), plan.head.clone());
        }
        (plans, events)
    }

    #[test]
    fn several_states_of_one_resource_in_one_batch_chain_up() {
        let e = Ephemeral::defaults();
        let mut heads = HashMap::new();
        step(&e, &mut heads, &[bucket(json!({"v": 1}))], T0);
        let t1 = T0 + Duration::hours(1);
        let mut gone = bucket(json!(null));
        gone.status = ItemStatus::Deleted;
        let (plans, events) = step(
            &e,
            &mut heads,
            &[bucket(json!({"v": 2})), bucket(json!({"v": 2})), gone],
            t1,
        );
        assert_eq!(plans.len(), 1);
        let plan = &plans[0];
        assert_eq!(plan.expected, Some(1));
        assert_eq!(plan.superseded, Some((1, T0)));
        assert_eq!(
            plan.revisions.iter().map(|r| r.number).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(plan.head.number, 3);
        assert!(matches!(
            &events[..],
            [
                Event::ResourceChanged { revision: 2, .. },
                Event::ResourceDeleted { .. }
            ]
        ));
        // Deleted again: nothing new. Back again: a revision with changes.
        let mut gone = bucket(json!(null));
        gone.status = ItemStatus::Deleted;
        let (plans, events) = step(&e, &mut heads, &[gone], t1 + Duration::hours(1));
        assert!(plans[0].is_touch() && events.is_empty());
        let (_, events) = step(
            &e,
            &mut heads,
            &[bucket(json!({"v": 2}))],
            t1 + Duration::hours(2),
        );
        assert!(matches!(
            &events[..],
            [Event::ResourceChanged { revision: 4, changes, .. }] if !changes.is_empty()
        ));
    }

    #[test]
    fn a_deletion_of_an_unknown_resource_is_recorded_quietly() {
        let mut gone = bucket(json!(null));
        gone.status = ItemStatus::DeletedNotRecorded;
        let (plans, events) = plan_record(&Ephemeral::defaults(), &HashMap::new(), &[gone], T0);
        assert!(events.is_empty());
        assert_eq!(plans[0].revisions.len(), 1);
        assert_eq!(plans[0].expected, None);
    }

    #[test]
    fn a_new_ephemeral_path_makes_no_revision_on_its_own() {
        let mut heads = HashMap::new();
        let first = bucket(json!({"v": 1, "scannedAt": "monday"}));
        step(&Ephemeral::none(), &mut heads, &[first], T0);
        let mut e = Ephemeral::none();
        e.add("AWS::S3::Bucket", "/configuration/scannedAt")
            .unwrap();
        let later = bucket(json!({"v": 1, "scannedAt": "tuesday"}));
        let (plans, events) = step(&e, &mut heads, &[later], T0 + Duration::hours(1));
        assert!(plans[0].is_touch());
        assert!(events.is_empty());
    }

    #[test]
    fn vanished_resources_become_deletions() {
        let a = bucket(json!({}));
        let mut b = bucket(json!({"x": 1}));
        b.key.resource_id = "other".into();
        b.tags.insert("k".into(), "v".into());
        let out = vanished(vec![a.clone(), b.clone()], &[a]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key, b.key);
        assert!(out[0].status.is_deleted());
        assert!(out[0].tags.is_empty());
    }
}
