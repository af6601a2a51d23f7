use std::fmt;
use std::ops::Range;

/// A compact name for one catalogue action: its position in the catalogue's
/// list of all actions, which is sorted by lowercase service prefix, then by
/// lowercase action name.
///
/// An id is only meaningful with the [`Catalogue`](super::Catalogue) it came
/// from; ids of [`Catalogue::builtin`](super::Catalogue::builtin) are stable
/// for one build of the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionId(u32);

impl ActionId {
    /// The id of the action at `index` in the catalogue's sorted list.
    pub fn new(index: u32) -> Self {
        ActionId(index)
    }

    /// The position in the catalogue's sorted action list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

const BITS: usize = u64::BITS as usize;

/// A set of [`ActionId`]s as a bit set: 20,000 actions take 2.5 KiB, and
/// union, intersection and difference work a machine word at a time.
///
/// Iteration yields ids in ascending order, which is catalogue order.
#[derive(Clone, Default)]
pub struct ActionSet {
    words: Vec<u64>,
}

impl ActionSet {
    /// An empty set.
    pub fn new() -> Self {
        ActionSet::default()
    }

    /// Every id below `count` (use [`Catalogue::action_count`](super::Catalogue::action_count)).
    pub fn all(count: usize) -> Self {
        let mut set = ActionSet::new();
        set.insert_range(0..count);
        set
    }

    /// Adds `id`; true if it was not there.
    pub fn insert(&mut self, id: ActionId) -> bool {
        let (word, bit) = split(id.index());
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        match self.words.get_mut(word) {
            Some(w) => {
                let was = *w & bit != 0;
                *w |= bit;
                !was
            }
            None => false,
        }
    }

    /// Adds every id in `range` (positions in the catalogue's action list).
    pub fn insert_range(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let last_word = (range.end - 1) / BITS;
        if self.words.len() <= last_word {
            self.words.resize(last_word + 1, 0);
        }
        let mut i = range.start;
        while i < range.end {
            let (word, _) = split(i);
            let lo = i % BITS;
            let hi = (range.end - word * BITS).min(BITS);
            let mask = if hi - lo == BITS {
                u64::MAX
            } else {
                ((1u64 << (hi - lo)) - 1) << lo
            };
            if let Some(w) = self.words.get_mut(word) {
                *w |= mask;
            }
            i = word * BITS + hi;
        }
    }

    /// Removes `id`; true if it was there.
    pub fn remove(&mut self, id: ActionId) -> bool {
        let (word, bit) = split(id.index());
        match self.words.get_mut(word) {
            Some(w) if *w & bit != 0 => {
                *w &= !bit;
                true
            }
            _ => false,
        }
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: ActionId) -> bool {
        let (word, bit) = split(id.index());
        self.words.get(word).is_some_and(|w| w & bit != 0)
    }

    /// How many ids the set holds.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set holds no id.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Removes every id.
    pub fn clear(&mut self) {
        self.words.clear();
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            words: &self.words,
            base: 0,
            current: self.words.first().copied().unwrap_or(0),
        }
    }

    /// Adds every id of `other`.
    pub fn union_with(&mut self, other: &ActionSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
    }

    /// Keeps only the ids also in `other`.
    pub fn intersect_with(&mut self, other: &ActionSet) {
        self.words.truncate(other.words.len());
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= o;
        }
    }

    /// Removes every id of `other`.
    pub fn subtract(&mut self, other: &ActionSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= !o;
        }
    }

    /// Whether every id of `self` is also in `other`.
    pub fn is_subset(&self, other: &ActionSet) -> bool {
        self.words.iter().enumerate().all(|(i, w)| {
            let o = other.words.get(i).copied().unwrap_or(0);
            w & !o == 0
        })
    }

    /// How many ids of `self` lie in `range` (positions in the catalogue's
    /// action list).
    pub fn count_in(&self, range: Range<usize>) -> usize {
        let mut n = 0;
        let mut i = range.start;
        while i < range.end {
            let (word, _) = split(i);
            let lo = i % BITS;
            let hi = (range.end - word * BITS).min(BITS);
            let w = self.words.get(word).copied().unwrap_or(0) >> lo;
            let width = hi - lo;
            let masked = if width == BITS {
                w
            } else {
                w & ((1u64 << width) - 1)
            };
            n += masked.count_ones() as usize;
            i = word * BITS + hi;
        }
        n
    }
}

fn split(index: usize) -> (usize, u64) {
    (index / BITS, 1u64 << (index % BITS))
}

impl PartialEq for ActionSet {
    fn eq(&self, other: &Self) -> bool {
        let n = self.words.len().max(other.words.len());
        (0..n).all(|i| {
            self.words.get(i).copied().unwrap_or(0) == other.words.get(i).copied().unwrap_or(0)
        })
    }
}

impl Eq for ActionSet {}

impl fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(ActionId::index))
            .finish()
    }
}

impl FromIterator<ActionId> for ActionSet {
    fn from_iter<I: IntoIterator<Item = ActionId>>(iter: I) -> Self {
        let mut set = ActionSet::new();
        set.extend(iter);
        set
    }
}

impl Extend<ActionId> for ActionSet {
    fn extend<I: IntoIterator<Item = ActionId>>(&mut self, iter: I) {
        for id in iter {
            self.insert(id);
        }
    }
}

impl<'a> IntoIterator for &'a ActionSet {
    type Item = ActionId;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over an [`ActionSet`] in ascending id order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    words: &'a [u64],
    base: usize,
    current: u64,
}

impl Iterator for Iter<'_> {
    type Item = ActionId;

    fn next(&mut self) -> Option<ActionId> {
        loop {
            if self.current != 0 {
                let bit = self.current.trailing_zeros() as usize;
                self.current &= self.current - 1;
                let index = self.base * BITS + bit;
                return u32::try_from(index).ok().map(ActionId);
            }
            self.base += 1;
            self.current = *self.words.get(self.base)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ids(v: &[u32]) -> ActionSet {
        v.iter().map(|&i| ActionId::new(i)).collect()
    }

    #[test]
    fn basics() {
        let mut s = ActionSet::new();
        assert!(s.is_empty());
        assert!(s.insert(ActionId::new(70)));
        assert!(!s.insert(ActionId::new(70)));
        assert!(s.contains(ActionId::new(70)));
        assert!(!s.contains(ActionId::new(7000)));
        assert_eq!(s.len(), 1);
        assert!(s.remove(ActionId::new(70)));
        assert!(!s.remove(ActionId::new(70)));
        assert!(s.is_empty());
        // Equality ignores trailing empty words.
        assert_eq!(s, ActionSet::new());
        assert_eq!(ActionSet::all(130).len(), 130);
        assert_eq!(ActionSet::all(128).iter().last(), Some(ActionId::new(127)));
    }

    proptest! {
        #[test]
        fn behaves_like_btreeset(
            a in proptest::collection::vec(0u32..300, 0..60),
            b in proptest::collection::vec(0u32..300, 0..60),
            lo in 0usize..300,
            width in 0usize..200,
        ) {
            let (sa, sb) = (ids(&a), ids(&b));
            let (ba, bb): (BTreeSet<u32>, BTreeSet<u32>) =
                (a.iter().copied().collect(), b.iter().copied().collect());
            let as_vec = |s: &ActionSet| s.iter().map(|i| i.index() as u32).collect::<Vec<_>>();
            prop_assert_eq!(as_vec(&sa), ba.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(sa.len(), ba.len());

            let mut u = sa.clone();
            u.union_with(&sb);
            prop_assert_eq!(as_vec(&u), ba.union(&bb).copied().collect::<Vec<_>>());
            let mut i = sa.clone();
            i.intersect_with(&sb);
            prop_assert_eq!(as_vec(&i), ba.intersection(&bb).copied().collect::<Vec<_>>());
            let mut d = sa.clone();
            d.subtract(&sb);
            prop_assert_eq!(as_vec(&d), ba.difference(&bb).copied().collect::<Vec<_>>());
            prop_assert_eq!(sa.is_subset(&sb), ba.is_subset(&bb));

            let range = lo..lo + width;
            let mut r = sa.clone();
            r.insert_range(range.clone());
            let mut br = ba.clone();
            br.extend(range.clone().map(|x| x as u32));
            prop_assert_eq!(as_vec(&r), br.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(
                sa.count_in(range.clone()),
                ba.iter().filter(|&&x| range.contains(&(x as usize))).count()
            );
        }
    }
}
