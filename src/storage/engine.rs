//! The storage contract: version chains per primary key, index entries per index key.
//!
//! A row is a [`VersionChain`]: its versions ordered oldest first, newest last (newest-to-oldest
//! reading walks it backwards). A version carries its `creator`; its end is the creator of the
//! version above it; a deletion is a version whose row is `None` (a tombstone). Invariants kept by the transactional core, not by the store:
//! - at most the newest versions of a chain are uncommitted, and all of those belong to one
//!   transaction (the one holding the row's write lock);
//! - an index entry `(index key, primary key)` exists while some version in the row's chain has
//!   that index key; readers confirm an entry against the version they can see.

use std::ops::Bound;

use crate::catalog::{IndexId, TableId};
use crate::types::{Key, PackedRow};

/// A transaction's id, assigned at begin, never reused (64 bits: no wraparound).
pub type TxnId = u64;
/// A commit timestamp: the position of a commit in the total commit order.
pub type CommitTs = u64;
/// A subtransaction (savepoint level) id within one transaction; 0 is the top level.
pub type SubTxnId = u32;

/// One version of a row.
#[derive(Clone, Debug)]
pub struct Version {
    /// The transaction that wrote this version.
    pub creator: TxnId,
    /// The creator's subtransaction, for ROLLBACK TO SAVEPOINT.
    pub subtxn: SubTxnId,
    /// When the creator committed; `None` while it runs.
    pub commit_ts: Option<CommitTs>,
    /// The row, packed (one allocation), or `None` for a deletion.
    pub row: Option<PackedRow>,
}

/// All versions of one row, oldest first.
#[derive(Clone, Debug, Default)]
pub struct VersionChain {
    pub versions: Vec<Version>,
}

impl VersionChain {
    /// The newest version.
    pub fn head(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// Ordered storage of version chains and index entries.
pub trait VersionStore: Send {
    /// Makes room for a new table.
    fn create_table(&mut self, table: TableId);
    /// Makes room for a new index.
    fn create_index(&mut self, index: IndexId);
    /// Removes every chain of a dropped table.
    fn drop_table(&mut self, table: TableId);
    /// Removes every entry of a dropped index.
    fn drop_index(&mut self, index: IndexId);
    /// The chain of a row, if any version of it exists.
    fn chain(&self, table: TableId, key: &Key) -> Option<&VersionChain>;
    /// The chain of a row for writing, created empty if missing.
    fn chain_mut(&mut self, table: TableId, key: &Key) -> &mut VersionChain;
    /// Stores `version` as the only version of a row that has no chain; gives it back if the
    /// row has one (even an empty one). One search where `chain` then `chain_mut` take two.
    fn insert_new_chain(
        &mut self,
        table: TableId,
        key: &Key,
        version: Version,
    ) -> Result<(), Version>;
    /// Calls `visit(i, chain)` for the chain of each `keys[i]` that has one. `keys` are of one
    /// table, ascending and distinct (a big transaction's writes usually are): a store may then
    /// walk them in one ordered pass instead of searching for each.
    fn visit_chains<'a>(
        &'a self,
        table: TableId,
        keys: &[&Key],
        visit: &mut dyn FnMut(usize, &'a VersionChain),
    ) {
        for (i, key) in keys.iter().enumerate() {
            if let Some(chain) = self.chain(table, key) {
                visit(i, chain);
            }
        }
    }
    /// [`VersionStore::visit_chains`] for writing.
    fn visit_chains_mut(
        &mut self,
        table: TableId,
        keys: &[&Key],
        visit: &mut dyn FnMut(usize, &mut VersionChain),
    ) {
        for (i, key) in keys.iter().enumerate() {
            if let Some(chain) = self.chain_get_mut(table, key) {
                visit(i, chain);
            }
        }
    }
    /// The chain of a row for writing, if any version of it exists.
    fn chain_get_mut(&mut self, table: TableId, key: &Key) -> Option<&mut VersionChain>;
    /// Removes a row's chain entirely.
    fn remove_chain(&mut self, table: TableId, key: &Key);
    /// The chains whose keys fall in a range, in key order.
    fn scan<'a>(
        &'a self,
        table: TableId,
        range: (Bound<&Key>, Bound<&Key>),
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a VersionChain)> + 'a>;
    /// Adds an index entry.
    fn index_insert(&mut self, index: IndexId, index_key: Key, primary_key: Key);
    /// Fills an index from `entries`, `(index key, primary key)` pairs sorted and distinct: a
    /// store may build it bottom up in one pass instead of searching for each (CREATE INDEX,
    /// ADD PRIMARY KEY). Entries out of order, or an index not empty, are inserted one by one.
    fn index_build(&mut self, index: IndexId, entries: Vec<(Key, Key)>) {
        for (index_key, primary_key) in entries {
            self.index_insert(index, index_key, primary_key);
        }
    }
    /// Fills a table from `chains`, keys ascending and distinct (recovery loading a
    /// checkpoint): a store may build it bottom up in one pass. Chains out of order, or a
    /// table not empty, are stored one by one (a chain whose row exists replaces it).
    fn load_chains(&mut self, table: TableId, chains: Vec<(Key, VersionChain)>) {
        for (key, chain) in chains {
            *self.chain_mut(table, &key) = chain;
        }
    }
    /// Removes an index entry.
    fn index_remove(&mut self, index: IndexId, index_key: &Key, primary_key: &Key);
    /// The entries whose index keys fall in a range, as `(index key, primary key)`, ordered.
    fn index_scan<'a>(
        &'a self,
        index: IndexId,
        range: (Bound<&Key>, Bound<&Key>),
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Key)> + 'a>;
}
