//! All configuration items of one run, by key, by ARN and by name, so that
//! an auditor can follow references (a role's managed policies, a user's
//! groups, a bucket's account-level public access block).

use std::collections::{BTreeMap, HashMap};

use crate::model::{ConfigItem, ResourceKey};

/// The items of one run. When two items share a key, the one captured last
/// is kept (ties go to the larger configuration text, so the result does not
/// depend on the order items were added).
#[derive(Debug, Clone, Default)]
pub struct Index {
    items: HashMap<ResourceKey, ConfigItem>,
    by_arn: HashMap<String, ResourceKey>,
    by_name: HashMap<(String, String, String), ResourceKey>,
    singletons: HashMap<(String, String), ResourceKey>,
}

/// Account-wide resource types, one item per account (and region).
const SINGLETON_TYPES: &[&str] = &["AWS::S3::AccountPublicAccessBlock"];

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// Adds an item (see the type's documentation for duplicates).
    pub fn insert(&mut self, item: ConfigItem) {
        if let Some(old) = self.items.get(&item.key)
            && !supersedes(&item, old)
        {
            return;
        }
        if let Some(arn) = &item.arn {
            self.by_arn.insert(arn.clone(), item.key.clone());
        }
        if let Some(name) = &item.name {
            self.by_name.insert(
                (
                    item.key.account.clone(),
                    item.key.resource_type.clone(),
                    name.clone(),
                ),
                item.key.clone(),
            );
        }
        if SINGLETON_TYPES.contains(&item.key.resource_type.as_str()) {
            let slot = (item.key.account.clone(), item.key.resource_type.clone());
            match self.singletons.get(&slot) {
                Some(first) if *first <= item.key => {}
                _ => {
                    self.singletons.insert(slot, item.key.clone());
                }
            }
        }
        self.items.insert(item.key.clone(), item);
    }

    /// The item with this key.
    pub fn get(&self, key: &ResourceKey) -> Option<&ConfigItem> {
        self.items.get(key)
    }

    /// The item with this ARN, unless it is deleted.
    pub fn by_arn(&self, arn: &str) -> Option<&ConfigItem> {
        self.by_arn
            .get(arn)
            .and_then(|key| self.items.get(key))
            .filter(|item| !item.status.is_deleted())
    }

    /// The item of this account and type with this name, unless it is deleted.
    pub fn by_name(&self, account: &str, resource_type: &str, name: &str) -> Option<&ConfigItem> {
        self.by_name
            .get(&(
                account.to_owned(),
                resource_type.to_owned(),
                name.to_owned(),
            ))
            .and_then(|key| self.items.get(key))
            .filter(|item| !item.status.is_deleted())
    }

    /// The account-wide item of a type (`AWS::S3::AccountPublicAccessBlock`),
    /// unless it is deleted; the first by key when there are several.
    pub fn singleton(&self, account: &str, resource_type: &str) -> Option<&ConfigItem> {
        self.singletons
            .get(&(account.to_owned(), resource_type.to_owned()))
            .and_then(|key| self.items.get(key))
            .filter(|item| !item.status.is_deleted())
    }

    /// The tags of the item with this key.
    pub fn tags(&self, key: &ResourceKey) -> Option<&BTreeMap<String, String>> {
        self.items.get(key).map(|item| &item.tags)
    }

    /// Every item, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &ConfigItem> + '_ {
        self.items.values()
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl FromIterator<ConfigItem> for Index {
    fn from_iter<I: IntoIterator<Item = ConfigItem>>(iter: I) -> Self {
        let mut index = Index::new();
        index.extend(iter);
        index
    }
}

impl Extend<ConfigItem> for Index {
    fn extend<I: IntoIterator<Item = ConfigItem>>(&mut self, iter: I) {
        for item in iter {
            self.insert(item);
        }
    }
}

/// Whether `new` replaces `old` of the same key.
fn supersedes(new: &ConfigItem, old: &ConfigItem) -> bool {
    match new.capture_time.cmp(&old.capture_time) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            let (new, old) = (new.configuration.to_string(), old.configuration.to_string());
            new > old
        }
    }
}
