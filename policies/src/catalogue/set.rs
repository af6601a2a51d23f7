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
/// Only the words from the lowest to the highest id held are stored, so the
/// actions of one service (a run of ids) take a few words wherever the
/// service lies in the catalogue.
///
/// Iteration yields ids in ascending order, which is catalogue order.
#[derive(Clone, Default)]
pub struct ActionSet {
    /// The word index of `words[0]`: every word below it is zero.
    base: usize,
    /// Words `base..base + words.len()`; every word past them is zero.
    words: Vec<u64>,
}

impl ActionSet {
    /// An empty set.
    pub fn new() -> Self {
        ActionSet::default()
    }

    /// An empty set with room for every id below `count` (use
    /// [`Catalogue::action_count`](super::Catalogue::action_count)): adding
    /// to it never reallocates, where a set grown id by id or service by
    /// service would.
    pub fn with_capacity(count: usize) -> Self {
        ActionSet {
            base: 0,
            words: vec![0; count.div_ceil(BITS)],
        }
    }

    /// Every id below `count` (use [`Catalogue::action_count`](super::Catalogue::action_count)).
    pub fn all(count: usize) -> Self {
        let mut set = ActionSet::new();
        set.insert_range(0..count);
        set
    }

    /// One past the last word index stored.
    fn end(&self) -> usize {
        self.base + self.words.len()
    }

    /// The word at absolute index `word` (zero outside the stored span).
    fn word(&self, word: usize) -> u64 {
        word.checked_sub(self.base)
            .and_then(|i| self.words.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Stores (as zeros if new) every word of `lo..hi` (absolute indexes, `lo < hi`).
    fn cover(&mut self, lo: usize, hi: usize) {
        if self.words.is_empty() {
            self.base = lo;
            self.words.resize(hi - lo, 0);
            return;
        }
        if lo < self.base {
            let grow = self.base - lo;
            self.words.splice(0..0, std::iter::repeat_n(0, grow));
            self.base = lo;
        }
        if hi > self.end() {
            self.words.resize(hi - self.base, 0);
        }
    }

    /// Adds `id`; true if it was not there.
    pub fn insert(&mut self, id: ActionId) -> bool {
        let (word, bit) = split(id.index());
        self.cover(word, word + 1);
        match self.words.get_mut(word - self.base) {
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
        self.cover(range.start / BITS, (range.end - 1) / BITS + 1);
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
            if let Some(w) = self.words.get_mut(word - self.base) {
                *w |= mask;
            }
            i = word * BITS + hi;
        }
    }

    /// Removes `id`; true if it was there.
    pub fn remove(&mut self, id: ActionId) -> bool {
        let (word, bit) = split(id.index());
        let slot = word
            .checked_sub(self.base)
            .and_then(|i| self.words.get_mut(i));
        match slot {
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
        self.word(word) & bit != 0
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
        self.base = 0;
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            words: &self.words,
            base: self.base,
            pos: 0,
            current: self.words.first().copied().unwrap_or(0),
        }
    }

    /// The stored words of `other` that overlap `self`'s, as pairs of
    /// (`self`'s word, `other`'s word).
    fn overlap<'a>(&'a mut self, other: &'a ActionSet) -> impl Iterator<Item = (&'a mut u64, u64)> {
        let lo = self.base.max(other.base);
        let mine = self.words.iter_mut().skip(lo - self.base);
        let theirs = other.words.iter().skip(lo - other.base).copied();
        mine.zip(theirs)
    }

    /// The lowest id at or above position `index`, if any: with
    /// [`Service::action_range`](super::Service::action_range), a walk
    /// over the services a set touches that skips the rest of each.
    pub fn next_from(&self, index: usize) -> Option<ActionId> {
        let (word, _) = split(index);
        let (start, mask) = if word < self.base {
            (0, u64::MAX)
        } else {
            (word - self.base, u64::MAX << (index % BITS))
        };
        let mut words = self.words.iter().enumerate().skip(start);
        let (first_at, first) = words.next()?;
        std::iter::once((first_at, first & mask))
            .chain(words.map(|(i, &w)| (i, w)))
            .find(|&(_, w)| w != 0)
            .and_then(|(i, w)| {
                let index = (self.base + i) * BITS + w.trailing_zeros() as usize;
                u32::try_from(index).ok().map(ActionId)
            })
    }

    /// The ids in `range` as bit words: bit `b` of word `w` stands for
    /// position `range.start + 64 * w + b`. Trailing zero words are left
    /// out, so equal subsets of one range give equal vectors.
    pub fn words_in(&self, range: Range<usize>) -> Vec<u64> {
        let mut out = Vec::with_capacity(range.len().div_ceil(BITS));
        let mut at = range.start;
        while at < range.end {
            let (word, _) = split(at);
            let shift = at % BITS;
            let mut bits = self.word(word) >> shift;
            if shift != 0 {
                bits |= self.word(word + 1) << (BITS - shift);
            }
            let width = range.end - at;
            if width < BITS {
                bits &= (1u64 << width) - 1;
            }
            out.push(bits);
            at += BITS;
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        out
    }

    /// Adds every id of `other`.
    pub fn union_with(&mut self, other: &ActionSet) {
        // Leading and trailing zero words of `other` need no room here.
        let Some(first) = other.words.iter().position(|&w| w != 0) else {
            return;
        };
        let last = other.words.iter().rposition(|&w| w != 0).unwrap_or(first);
        self.cover(other.base + first, other.base + last + 1);
        for (w, o) in self.overlap(other) {
            *w |= o;
        }
    }

    /// Keeps only the ids also in `other`.
    pub fn intersect_with(&mut self, other: &ActionSet) {
        let lo = self.base.max(other.base);
        let hi = self.end().min(other.end());
        if lo >= hi {
            self.clear();
            return;
        }
        self.words.truncate(hi - self.base);
        self.words.drain(..lo - self.base);
        self.base = lo;
        for (w, o) in self.overlap(other) {
            *w &= o;
        }
    }

    /// Removes every id of `other`.
    pub fn subtract(&mut self, other: &ActionSet) {
        for (w, o) in self.overlap(other) {
            *w &= !o;
        }
    }

    /// Whether every id of `self` is also in `other`.
    pub fn is_subset(&self, other: &ActionSet) -> bool {
        self.words
            .iter()
            .enumerate()
            .all(|(i, w)| w & !other.word(self.base + i) == 0)
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
            let w = self.word(word) >> lo;
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
        let lo = self.base.min(other.base);
        let hi = self.end().max(other.end());
        (lo..hi).all(|i| self.word(i) == other.word(i))
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
    /// The word index of `words[0]`.
    base: usize,
    /// The position in `words` of `current`.
    pos: usize,
    current: u64,
}

impl Iterator for Iter<'_> {
    type Item = ActionId;

    fn next(&mut self) -> Option<ActionId> {
        loop {
            if self.current != 0 {
                let bit = self.current.trailing_zeros() as usize;
                self.current &= self.current - 1;
                let index = (self.base + self.pos) * BITS + bit;
                return u32::try_from(index).ok().map(ActionId);
            }
            self.pos += 1;
            self.current = *self.words.get(self.pos)?;
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

    #[test]
    fn a_set_with_capacity_is_empty_and_does_not_grow() {
        let mut s = ActionSet::with_capacity(200);
        assert!(s.is_empty());
        assert_eq!(s, ActionSet::new());
        s.union_with(&ids(&[3, 199]));
        s.insert_range(64..130);
        assert_eq!((s.base, s.words.len()), (0, 4));
        assert_eq!(s.len(), 68);
    }

    #[test]
    fn sets_far_from_zero_store_their_span_only() {
        let mut s = ids(&[20_000, 20_050]);
        assert_eq!(s.words.len(), 2);
        s.insert(ActionId::new(64));
        assert_eq!((s.base, s.words.len()), (1, 313));
        assert_eq!(
            s.iter().map(ActionId::index).collect::<Vec<_>>(),
            [64, 20_000, 20_050]
        );
        let mut far = ids(&[20_050]);
        far.union_with(&ActionSet::new());
        assert_eq!(far.words.len(), 1);
        let mut t = s.clone();
        t.intersect_with(&far);
        assert_eq!(t, far);
        assert_eq!(t.words.len(), 1);
        t.intersect_with(&ids(&[5]));
        assert!(t.is_empty());
        assert_eq!(t, ActionSet::new());
    }

    /// Ids clustered around `base`, so sets stored from different words meet.
    fn cluster() -> impl Strategy<Value = Vec<u32>> {
        (0u32..600).prop_flat_map(|base| proptest::collection::vec(base..base + 300, 0..60))
    }

    proptest! {
        #[test]
        fn behaves_like_btreeset(
            a in cluster(),
            b in cluster(),
            lo in 0usize..900,
            width in 0usize..200,
            probe in 0u32..1000,
        ) {
            let (sa, sb) = (ids(&a), ids(&b));
            let (ba, bb): (BTreeSet<u32>, BTreeSet<u32>) =
                (a.iter().copied().collect(), b.iter().copied().collect());
            let as_vec = |s: &ActionSet| s.iter().map(|i| i.index() as u32).collect::<Vec<_>>();
            let of = |s: &BTreeSet<u32>| s.iter().copied().collect::<Vec<_>>();
            let from = |s: BTreeSet<u32>| s.into_iter().map(ActionId::new).collect::<ActionSet>();
            prop_assert_eq!(as_vec(&sa), of(&ba));
            prop_assert_eq!(sa.len(), ba.len());
            prop_assert_eq!(sa.is_empty(), ba.is_empty());
            prop_assert_eq!(sa.contains(ActionId::new(probe)), ba.contains(&probe));
            // Inserted in reverse order (stored from another word first): equal.
            let reversed: ActionSet = a.iter().rev().map(|&i| ActionId::new(i)).collect();
            prop_assert_eq!(&reversed, &sa);

            let mut u = sa.clone();
            u.union_with(&sb);
            let bu: BTreeSet<u32> = ba.union(&bb).copied().collect();
            prop_assert_eq!(as_vec(&u), of(&bu));
            prop_assert_eq!(&u, &from(bu));
            let mut i = sa.clone();
            i.intersect_with(&sb);
            let bi: BTreeSet<u32> = ba.intersection(&bb).copied().collect();
            prop_assert_eq!(as_vec(&i), of(&bi));
            prop_assert_eq!(&i, &from(bi.clone()));
            let mut d = sa.clone();
            d.subtract(&sb);
            let bd: BTreeSet<u32> = ba.difference(&bb).copied().collect();
            prop_assert_eq!(as_vec(&d), of(&bd));
            prop_assert_eq!(&d, &from(bd.clone()));
            prop_assert_eq!(sa.is_subset(&sb), ba.is_subset(&bb));
            prop_assert!(i.is_subset(&sa) && i.is_subset(&sb) && d.is_subset(&sa));
            // Set algebra on the results: (a - b) ∪ (a ∩ b) = a.
            let mut back = d.clone();
            back.union_with(&i);
            prop_assert_eq!(&back, &sa);

            let mut removed = sa.clone();
            prop_assert_eq!(removed.remove(ActionId::new(probe)), ba.contains(&probe));
            prop_assert!(!removed.contains(ActionId::new(probe)));
            prop_assert_eq!(removed.len(), ba.len() - usize::from(ba.contains(&probe)));

            let after = ba.range(probe..).next().map(|&x| ActionId::new(x));
            prop_assert_eq!(sa.next_from(probe as usize), after);
            let range = lo..lo + width;
            let words = sa.words_in(range.clone());
            let from_words: Vec<u32> = words
                .iter()
                .enumerate()
                .flat_map(|(w, &bits)| {
                    (0..64).filter(move |b| bits & (1 << b) != 0).map(move |b| (lo + 64 * w + b) as u32)
                })
                .collect();
            let in_range: Vec<u32> =
                ba.iter().copied().filter(|&x| range.contains(&(x as usize))).collect();
            prop_assert_eq!(from_words, in_range);
            prop_assert!(words.last() != Some(&0));
            let mut r = sa.clone();
            r.insert_range(range.clone());
            let mut br = ba.clone();
            br.extend(range.clone().map(|x| x as u32));
            prop_assert_eq!(as_vec(&r), of(&br));
            prop_assert_eq!(
                sa.count_in(range.clone()),
                ba.iter().filter(|&&x| range.contains(&(x as usize))).count()
            );
        }
    }
}
