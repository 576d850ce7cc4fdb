//! [`MemoryStore`]: the in-memory [`VersionStore`], ordered maps per table and per index.

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
    indexes: Vec<BTreeMap<Key, BTreeSet<Key>>>,
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
        self.indexes[index as usize].entry(index_key).or_default().insert(primary_key);
    }

    fn index_remove(&mut self, index: IndexId, index_key: &Key, primary_key: &Key) {
        let entries = &mut self.indexes[index as usize];
        if let Some(keys) = entries.get_mut(index_key) {
            keys.remove(primary_key);
            if keys.is_empty() {
                entries.remove(index_key);
            }
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
}
