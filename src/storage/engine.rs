//! The storage contract: version chains per primary key, index entries per index key.
//!
//! A row is a [`VersionChain`]: its versions ordered oldest first, newest last (newest-to-oldest
//! reading walks it backwards). A version carries its `creator`; its end is the creator of the
//! version above it; a deletion is a version whose row is `None` (a tombstone). Invariants kept by the transactional core, not by the store:
//! - at most the newest versions of a chain are uncommitted, and all of those belong to one
//!   transaction (the one holding the row's write lock);
//! - an index entry `(index key, primary key)` exists while some version in the row's chain has
//!   that index key; readers confirm an entry against the version they can see.

use std::borrow::Cow;
use std::ops::Bound;
use std::sync::Arc;

use super::base::{Base, BaseName};
use crate::catalog::{IndexId, TableId};
use crate::types::{Key, PackedRow};

/// A transaction's id, assigned at begin, never reused (64 bits: no wraparound).
pub type TxnId = u64;
/// A commit timestamp: the position of a commit in the total commit order.
pub type CommitTs = u64;
/// A subtransaction (savepoint level) id within one transaction; 0 is the top level.
pub type SubTxnId = u32;

/// The creator of a version read from the on-disk base: no transaction (ids start at 1). Such
/// a version is committed at timestamp 0, before every snapshot: a row goes to the base only
/// once no snapshot older than its commit runs (see [`VersionStore::evict_clean`]).
pub const BASE_CREATOR: TxnId = 0;

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

    /// The chain of a row read from the base (or, with `None`, of a row deleted since the
    /// base was written and whose deletion no snapshot needs to see happen).
    pub fn from_base(row: Option<PackedRow>) -> VersionChain {
        let version = Version { creator: BASE_CREATOR, subtxn: 0, commit_ts: Some(0), row };
        VersionChain { versions: vec![version] }
    }
}

/// What one checkpoint writes into the base (taken at its cut, see
/// [`VersionStore::begin_base_checkpoint`]).
pub struct BasePlan {
    pub base: Arc<Base>,
    pub tables: Vec<TablePlan>,
    /// Indexes to write whole (new since the base), as `(index, its table, base name)`.
    pub build_indexes: Vec<(IndexId, TableId, BaseName)>,
    /// Indexes kept up to date row by row, as `(index, its table, base name)`.
    pub kept_indexes: Vec<(IndexId, TableId, BaseName)>,
    /// Names of dropped tables (`false`) and indexes (`true`) to remove from the base.
    pub dropped: Vec<(BaseName, bool)>,
    /// The base names of tables and indexes after this checkpoint, for the meta blob.
    pub table_names: Vec<(TableId, BaseName)>,
    pub index_names: Vec<(IndexId, BaseName)>,
}

/// One table's part of a [`BasePlan`].
pub struct TablePlan {
    pub table: TableId,
    pub name: BaseName,
    /// `None`: the table has no rows in the base yet; write every row. Else the rows written
    /// since the last checkpoint's cut, ascending.
    pub keys: Option<Vec<Key>>,
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
    /// The chain of a row, if any version of it exists (borrowed from memory, or read from the
    /// base).
    fn chain(&self, table: TableId, key: &Key) -> Option<Cow<'_, VersionChain>>;
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
    /// The chain of a row if it is in memory: every row a running or deciding transaction
    /// wrote is (a chain with an uncommitted version never leaves memory).
    fn resident_chain(&self, table: TableId, key: &Key) -> Option<&VersionChain>;
    /// The chains of a table in memory (all of them without a base), in no set order.
    fn resident_chains<'a>(
        &'a self,
        table: TableId,
    ) -> Box<dyn Iterator<Item = &'a VersionChain> + 'a>;
    /// Calls `visit(i, chain)` for the chain in memory ([`VersionStore::resident_chain`]) of
    /// each `keys[i]` that has one. `keys` are of one table, ascending and distinct (a big
    /// transaction's writes usually are): a store may then walk them in one ordered pass
    /// instead of searching for each.
    fn visit_chains<'a>(
        &'a self,
        table: TableId,
        keys: &[&Key],
        visit: &mut dyn FnMut(usize, &'a VersionChain),
    ) {
        for (i, key) in keys.iter().enumerate() {
            if let Some(chain) = self.resident_chain(table, key) {
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
    ) -> Box<dyn Iterator<Item = (Cow<'a, Key>, Cow<'a, VersionChain>)> + 'a>;
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
    ) -> Box<dyn Iterator<Item = (Cow<'a, Key>, Cow<'a, Key>)> + 'a>;

    /// Puts the on-disk base under this store: rows of `tables` (`(table, base name)`) and
    /// entries of `indexes` (`(index, base name, index key length)`) missing from memory are
    /// read from it. A store without a base keeps everything in memory.
    fn attach_base(
        &mut self,
        _base: Arc<Base>,
        _tables: &[(TableId, BaseName)],
        _indexes: &[(IndexId, BaseName, usize)],
    ) -> bool {
        false
    }
    /// A checkpoint's cut: what to write into the base (`None` without a base). `indexes` are
    /// the catalog's `(index, its table, index key length)`. Writes from now on are the next
    /// checkpoint's.
    fn begin_base_checkpoint(
        &mut self,
        _tables: &[TableId],
        _indexes: &[(IndexId, TableId, usize)],
    ) -> Option<BasePlan> {
        None
    }
    /// The checkpoint of `plan` is in the base (`written`), or failed: then its rows are the
    /// next checkpoint's to write again.
    fn end_base_checkpoint(&mut self, _plan: BasePlan, _written: bool) {}
    /// Marks a row as written since the last cut (a commit the cut did not see yet).
    fn mark_written(&mut self, _table: TableId, _key: &Key) {}
    /// Drops from memory up to `max` chains of `table` from `from` on that the base holds as
    /// they are: one committed version at or below `horizon` (a timestamp no running snapshot
    /// is older than, and at or below the last checkpoint's), not written since the last cut.
    /// Returns the rows dropped (their index entries in memory must go) and where to go on.
    fn evict_clean(
        &mut self,
        _table: TableId,
        _horizon: CommitTs,
        _from: Option<&Key>,
        _max: usize,
    ) -> (Vec<(Key, Option<PackedRow>)>, Option<Key>) {
        (Vec::new(), None)
    }
    /// Drops an index's entries in memory whose rows are not in memory (the base holds them).
    fn drop_entries_of_rows_on_disk(&mut self, _index: IndexId, _table: TableId) {}
    /// How many chains are in memory (all of them without a base).
    fn chains_in_memory(&self) -> usize;
}
