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
