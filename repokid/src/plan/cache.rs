//! What a planner remembers across statements and roles: the actions each
//! pattern grants, and the fewest patterns for each subset of a service's
//! actions. Both recur constantly (the same patterns and the same unused
//! services in role after role), so each is computed once.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::FixedState;
use policies::catalogue::{ActionSet, Catalogue};
use policies::expand::expand_pattern;
use policies::minimize::{Options, minimize_set};

/// Past this many cached minimizations the cache starts afresh (bounds memory).
const MINIMIZED_CACHE: usize = 200_000;

/// Pattern expansions and minimizations of one catalogue.
pub(super) struct Cache<'c> {
    cat: &'c Catalogue,
    /// Pattern as written → its slot in `sets`.
    patterns: HashMap<String, usize, FixedState>,
    /// Each pattern's actions, or `None` if it matches none; shared with
    /// the statements that hold the pattern alone.
    sets: Vec<Option<Arc<ActionSet>>>,
    /// (a service's first id, a subset of its actions as a bit mask from
    /// there) → their fewest patterns.
    minimized: HashMap<(usize, Vec<u64>), Vec<String>, FixedState>,
}

impl<'c> Cache<'c> {
    pub(super) fn new(cat: &'c Catalogue) -> Self {
        Cache {
            cat,
            patterns: HashMap::default(),
            sets: Vec::new(),
            minimized: HashMap::default(),
        }
    }

    /// The actions one pattern grants, `None` if none.
    pub(super) fn pattern(&mut self, pattern: &str) -> Option<&Arc<ActionSet>> {
        // Keyed as written: a pattern spelt in another case is one more
        // entry with the same expansion.
        let slot = match self.patterns.get(pattern) {
            Some(&slot) => slot,
            None => {
                let mut set = ActionSet::new();
                let found = expand_pattern(self.cat, pattern, &mut set)
                    .ok()
                    .map(|()| Arc::new(set));
                self.sets.push(found);
                let slot = self.sets.len() - 1;
                self.patterns.insert(pattern.to_owned(), slot);
                slot
            }
        };
        self.sets.get(slot).and_then(Option::as_ref)
    }

    /// [`minimize_set`], one service at a time: the fewest patterns that
    /// grant exactly `set`, sorted as `minimize_set` sorts them.
    pub(super) fn minimize(&mut self, set: &ActionSet) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = 0;
        while let Some(id) = set.next_from(next) {
            let Some(action) = self.cat.get(id) else {
                break;
            };
            let range = action.service().action_range();
            next = range.end;
            let key = (range.start, set.words_in(range.clone()));
            if let Some(found) = self.minimized.get(&key) {
                out.extend(found.iter().cloned());
                continue;
            }
            let mut subset = ActionSet::new();
            subset.insert_range(range);
            subset.intersect_with(set);
            let patterns = minimize_set(self.cat, &subset, &Options::default());
            out.extend(patterns.iter().cloned());
            if self.minimized.len() >= MINIMIZED_CACHE {
                self.minimized.clear();
            }
            self.minimized.insert(key, patterns);
        }
        out.sort_by(|a, b| {
            a.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
                .then_with(|| a.cmp(b))
        });
        out
    }
}
