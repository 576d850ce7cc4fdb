//! [`MemoryStore`]: the in-memory [`VersionStore`], ordered maps per table and per index.
//!
//! An index maps each index key to the primary keys that have it ([`Postings`]): one inline
//! (every key of a unique index, most of any other) or a set. Invariant: a `Postings` is never
//! empty, and holds a set only while it has two keys or more.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use super::engine::{Version, VersionChain, VersionStore};
use crate::catalog::{IndexId, TableId};
use crate::types::Key;

/// Version chains and index entries in `BTreeMap`s.
#[derive(Default)]
pub struct MemoryStore {
    tables: Vec<BTreeMap<Key, VersionChain>>,
    indexes: Vec<BTreeMap<Key, Postings>>,
}

/// The primary keys of one index key: one inline (no allocation of a set's node for the
/// common single-row case), or several in order.
#[derive(Debug)]
enum Postings {
    One(Key),
    Many(BTreeSet<Key>),
}

impl Postings {
    fn insert(&mut self, primary_key: Key) {
        match self {
            Postings::One(only) if *only == primary_key => {}
            Postings::One(only) => {
                let first = std::mem::take(only);
                *self = Postings::Many(BTreeSet::from([first, primary_key]));
            }
            Postings::Many(keys) => {
                keys.insert(primary_key);
            }
        }
    }

    /// Removes a primary key; whether none is left (the entry must then go).
    fn remove(&mut self, primary_key: &Key) -> bool {
        match self {
            Postings::One(only) => only == primary_key,
            Postings::Many(keys) => {
                keys.remove(primary_key);
                if keys.len() == 1 {
                    *self = Postings::One(keys.pop_first().expect("one key left"));
                }
                false
            }
        }
    }

    fn iter(&self) -> PostingsIter<'_> {
        match self {
            Postings::One(only) => PostingsIter::One(Some(only)),
            Postings::Many(keys) => PostingsIter::Many(keys.iter()),
        }
    }
}

/// The primary keys of a [`Postings`], in order, without allocating.
enum PostingsIter<'a> {
    One(Option<&'a Key>),
    Many(std::collections::btree_set::Iter<'a, Key>),
}

impl<'a> Iterator for PostingsIter<'a> {
    type Item = &'a Key;

    fn next(&mut self) -> Option<&'a Key> {
        match self {
            PostingsIter::One(only) => only.take(),
            PostingsIter::Many(keys) => keys.next(),
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl VersionStore for MemoryStore {
    fn create_table(&mut self, table: TableId) {
        assert_eq!(table as usize, self.tables.len(), "table ids are dense (faulty code)");
        self.tables.push(BTreeMap::new());
    }

    fn create_index(&mut self, index: IndexId) {
        assert_eq!(index as usize, self.indexes.len(), "index ids are dense (faulty code)");
        self.indexes.push(BTreeMap::new());
    }

    fn drop_table(&mut self, table: TableId) {
        self.tables[table as usize].clear();
    }

    fn drop_index(&mut self, index: IndexId) {
        self.indexes[index as usize].clear();
    }

    fn chain(&self, table: TableId, key: &Key) -> Option<&VersionChain> {
        self.tables[table as usize].get(key)
    }

    fn chain_mut(&mut self, table: TableId, key: &Key) -> &mut VersionChain {
        self.tables[table as usize].entry(key.clone()).or_default()
    }

    fn insert_new_chain(
        &mut self,
        table: TableId,
        key: &Key,
        version: Version,
    ) -> Result<(), Version> {
        match self.tables[table as usize].entry(key.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(VersionChain { versions: vec![version] });
                Ok(())
            }
            Entry::Occupied(_) => Err(version),
        }
    }

    fn visit_chains<'a>(
        &'a self,
        table: TableId,
        keys: &[&Key],
        visit: &mut dyn FnMut(usize, &'a VersionChain),
    ) {
        let map = &self.tables[table as usize];
        let walked = match (keys.first(), keys.last()) {
            (Some(&first), Some(&last)) => walk_in_order(
                map.range::<Key, _>((Bound::Included(first), Bound::Included(last))),
                keys,
                visit,
            ),
            _ => 0,
        };
        for (i, key) in keys.iter().enumerate().skip(walked) {
            if let Some(chain) = map.get(*key) {
                visit(i, chain);
            }
        }
    }

    fn visit_chains_mut(
        &mut self,
        table: TableId,
        keys: &[&Key],
        visit: &mut dyn FnMut(usize, &mut VersionChain),
    ) {
        let map = &mut self.tables[table as usize];
        let walked = match (keys.first(), keys.last()) {
            (Some(&first), Some(&last)) => walk_in_order(
                map.range_mut::<Key, _>((Bound::Included(first), Bound::Included(last))),
                keys,
                visit,
            ),
            _ => 0,
        };
        for (i, key) in keys.iter().enumerate().skip(walked) {
            if let Some(chain) = map.get_mut(*key) {
                visit(i, chain);
            }
        }
    }

    fn chain_get_mut(&mut self, table: TableId, key: &Key) -> Option<&mut VersionChain> {
        self.tables[table as usize].get_mut(key)
    }

    fn remove_chain(&mut self, table: TableId, key: &Key) {
        self.tables[table as usize].remove(key);
    }

    fn scan<'a>(
        &'a self,
        table: TableId,
        range: (Bound<&Key>, Bound<&Key>),
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a VersionChain)> + 'a> {
        if range_is_empty(&range) {
            return Box::new(std::iter::empty());
        }
        Box::new(self.tables[table as usize].range::<Key, _>(range))
    }

    fn index_insert(&mut self, index: IndexId, index_key: Key, primary_key: Key) {
        match self.indexes[index as usize].entry(index_key) {
            Entry::Vacant(slot) => {
                slot.insert(Postings::One(primary_key));
            }
            Entry::Occupied(mut slot) => slot.get_mut().insert(primary_key),
        }
    }

    fn index_build(&mut self, index: IndexId, entries: Vec<(Key, Key)>) {
        let map = &mut self.indexes[index as usize];
        if !map.is_empty() || !entries.is_sorted() {
            for (index_key, primary_key) in entries {
                self.index_insert(index, index_key, primary_key);
            }
            return;
        }
        // Sorted: group each index key's primary keys, then build the tree bottom up (a
        // `BTreeMap` collected from sorted, distinct keys fills its nodes in one pass).
        let mut grouped: Vec<(Key, Postings)> = Vec::with_capacity(entries.len());
        for (index_key, primary_key) in entries {
            match grouped.last_mut() {
                Some((last, postings)) if *last == index_key => postings.insert(primary_key),
                _ => grouped.push((index_key, Postings::One(primary_key))),
            }
        }
        *map = grouped.into_iter().collect();
    }

    fn load_chains(&mut self, table: TableId, chains: Vec<(Key, VersionChain)>) {
        let map = &mut self.tables[table as usize];
        if map.is_empty() && chains.is_sorted_by(|(a, _), (b, _)| a < b) {
            // Sorted and distinct: a `BTreeMap` collected from them fills its nodes in one pass.
            *map = chains.into_iter().collect();
            return;
        }
        for (key, chain) in chains {
            map.insert(key, chain);
        }
    }

    fn index_remove(&mut self, index: IndexId, index_key: &Key, primary_key: &Key) {
        let entries = &mut self.indexes[index as usize];
        if let Some(keys) = entries.get_mut(index_key)
            && keys.remove(primary_key)
        {
            entries.remove(index_key);
        }
    }

    fn index_scan<'a>(
        &'a self,
        index: IndexId,
        range: (Bound<&Key>, Bound<&Key>),
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Key)> + 'a> {
        if range_is_empty(&range) {
            return Box::new(std::iter::empty());
        }
        Box::new(
            self.indexes[index as usize]
                .range::<Key, _>(range)
                .flat_map(|(index_key, keys)| keys.iter().map(move |pk| (index_key, pk))),
        )
    }
}

/// `BTreeMap::range` panics on inverted or empty-exclusive ranges; they select nothing.
fn range_is_empty(range: &(Bound<&Key>, Bound<&Key>)) -> bool {
    match range {
        (Bound::Included(lo), Bound::Included(hi)) => lo > hi,
        (Bound::Included(lo), Bound::Excluded(hi))
        | (Bound::Excluded(lo), Bound::Included(hi))
        | (Bound::Excluded(lo), Bound::Excluded(hi)) => lo >= hi,
        _ => false,
    }
}

/// Matches ascending `keys` against the chains of their key range, in order: one comparison per
/// chain passed instead of a search per key. Gives up (returning how many keys it matched) when
/// a key has no chain or when the range holds many chains that are not asked for (a sparse
/// write set over a big table), leaving the rest to searches.
fn walk_in_order<'a, C: 'a>(
    chains: impl Iterator<Item = (&'a Key, C)>,
    keys: &[&Key],
    visit: &mut dyn FnMut(usize, C),
) -> usize {
    let mut matched = 0;
    let mut strays_left = 2 * keys.len() + 64;
    for (key, chain) in chains {
        let Some(&wanted) = keys.get(matched) else { break };
        match key.cmp(wanted) {
            std::cmp::Ordering::Equal => {
                visit(matched, chain);
                matched += 1;
            }
            std::cmp::Ordering::Less if strays_left > 0 => strays_left -= 1,
            _ => break,
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;

    fn key(n: i64) -> Key {
        crate::key![Value::Int(n)]
    }

    /// A store with one table holding rows 0, 2, 4, ... 1998, each tagged with its number.
    fn store() -> MemoryStore {
        let mut s = MemoryStore::new();
        s.create_table(0);
        for n in (0..2000).step_by(2) {
            let version = Version { creator: n as u64, subtxn: 0, commit_ts: None, row: None };
            s.insert_new_chain(0, &key(n), version).unwrap();
        }
        s
    }

    /// The ordered pass visits exactly what a search per key finds: dense runs, sparse runs
    /// (which give up and search), keys without a chain, and the mutable form alike.
    #[test]
    fn visiting_in_order_finds_what_searching_finds() {
        let mut s = store();
        let cases: Vec<Vec<i64>> = vec![
            (100..400).step_by(2).collect(),
            vec![0, 1998],
            vec![0, 2, 3, 4, 6],
            (0..2000).step_by(2).chain([2001]).collect(),
            (0..64).map(|n| n * 30).collect(),
            vec![],
        ];
        for numbers in cases {
            let keys: Vec<Key> = numbers.iter().map(|&n| key(n)).collect();
            let refs: Vec<&Key> = keys.iter().collect();
            let expected: Vec<(usize, u64)> = refs
                .iter()
                .enumerate()
                .filter_map(|(i, k)| s.chain(0, k).map(|c| (i, c.versions[0].creator)))
                .collect();
            let mut seen = Vec::new();
            s.visit_chains(0, &refs, &mut |i, c| seen.push((i, c.versions[0].creator)));
            assert_eq!(seen, expected, "visit_chains over {numbers:?}");
            let mut seen_mut = Vec::new();
            s.visit_chains_mut(0, &refs, &mut |i, c| seen_mut.push((i, c.versions[0].creator)));
            assert_eq!(seen_mut, expected, "visit_chains_mut over {numbers:?}");
        }
        let taken = Version { creator: 9, subtxn: 0, commit_ts: None, row: None };
        assert!(s.insert_new_chain(0, &key(4), taken).is_err(), "a row with a chain is refused");
    }

    fn chain_of(creator: u64) -> VersionChain {
        VersionChain {
            versions: vec![Version { creator, subtxn: 0, commit_ts: Some(1), row: None }],
        }
    }

    fn creators(s: &MemoryStore) -> Vec<(Key, u64)> {
        s.scan(0, (Bound::Unbounded, Bound::Unbounded))
            .map(|(k, c)| (k.clone(), c.versions[0].creator))
            .collect()
    }

    /// A table loaded from sorted chains holds what one filled chain by chain holds; chains out
    /// of order, or a table that has rows, take the one-by-one path with the same result.
    #[test]
    fn loading_chains_in_bulk_matches_inserting() {
        let sorted: Vec<(Key, VersionChain)> =
            (0..1000).map(|n| (key(n), chain_of(n as u64))).collect();
        let expected: Vec<(Key, u64)> = (0..1000).map(|n| (key(n), n as u64)).collect();
        let mut bulk = MemoryStore::new();
        bulk.create_table(0);
        bulk.load_chains(0, sorted.clone());
        assert_eq!(creators(&bulk), expected);
        bulk.remove_chain(0, &key(10));
        assert!(bulk.chain(0, &key(10)).is_none() && bulk.chain(0, &key(11)).is_some());

        let mut unsorted = MemoryStore::new();
        unsorted.create_table(0);
        unsorted.load_chains(0, sorted.iter().rev().cloned().collect());
        assert_eq!(creators(&unsorted), expected, "chains out of order are inserted one by one");

        let mut with_rows = store();
        with_rows.load_chains(0, vec![(key(1), chain_of(7)), (key(2), chain_of(8))]);
        assert_eq!(with_rows.chain(0, &key(1)).unwrap().versions[0].creator, 7);
        assert_eq!(with_rows.chain(0, &key(2)).unwrap().versions[0].creator, 8, "replaced");
        assert_eq!(with_rows.chain(0, &key(4)).unwrap().versions[0].creator, 4, "kept");
    }

    fn entries(s: &MemoryStore, index: IndexId) -> Vec<(Key, Key)> {
        s.index_scan(index, (Bound::Unbounded, Bound::Unbounded))
            .map(|(k, pk)| (k.clone(), pk.clone()))
            .collect()
    }

    /// An index built from a sorted run holds what one filled entry by entry holds (one and
    /// several primary keys per index key), and both change alike afterwards.
    #[test]
    fn building_from_a_sorted_run_matches_inserting() {
        let mut pairs: Vec<(Key, Key)> = (0..500).map(|n| (key(n % 7), key(n))).collect();
        pairs.extend((0..50).map(|n| (key(100 + n), key(1000 + n))));
        pairs.sort();
        let (mut built, mut inserted) = (MemoryStore::new(), MemoryStore::new());
        for s in [&mut built, &mut inserted] {
            s.create_index(0);
        }
        built.index_build(0, pairs.clone());
        for (k, pk) in pairs.clone() {
            inserted.index_insert(0, k, pk);
        }
        assert_eq!(entries(&built, 0), pairs);
        for s in [&mut built, &mut inserted] {
            s.index_remove(0, &key(3), &key(3));
            s.index_remove(0, &key(120), &key(1020));
            s.index_insert(0, key(120), key(7));
            s.index_insert(0, key(120), key(7));
            for n in (0..500).filter(|n| n % 7 == 5) {
                s.index_remove(0, &key(5), &key(n));
            }
        }
        assert_eq!(entries(&built, 0), entries(&inserted, 0));
        let fives = (Bound::Included(&key(5)), Bound::Included(&key(5)));
        assert_eq!(built.index_scan(0, fives).count(), 0, "a key whose rows all went is gone");
        let lone = (Bound::Included(&key(120)), Bound::Included(&key(120)));
        assert_eq!(
            built.index_scan(0, lone).map(|(_, pk)| pk.clone()).collect::<Vec<_>>(),
            [key(7)]
        );

        let mut unsorted = MemoryStore::new();
        unsorted.create_index(0);
        unsorted.index_build(0, pairs.iter().rev().cloned().collect());
        assert_eq!(entries(&unsorted, 0), pairs, "a run out of order is inserted one by one");
    }
}
