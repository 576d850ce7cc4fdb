//! [`MemoryStore`]: the [`VersionStore`] of ordered maps per table and per index in memory,
//! optionally over an on-disk base ([`super::base`]) that holds the rest.
//!
//! An index maps each index key to the primary keys that have it ([`Postings`]): one inline
//! (every key of a unique index, most of any other) or a set. Invariant: a `Postings` is never
//! empty, and holds a set only while it has two keys or more.
//!
//! WITH A BASE. A table the base holds (it has a base name) keeps in memory only the chains
//! written since they were last read from the base, and those not yet written to it: a row
//! missing from memory is the base's row, committed before every running snapshot
//! ([`VersionChain::from_base`]). Invariants:
//! - a chain in memory overrides the base's row of its key; a row deleted in memory whose
//!   base row still exists keeps a chain (at least the committed deletion) until a checkpoint
//!   has removed the base's row;
//! - every key whose chain changed since the last checkpoint's cut is in `written`, so the
//!   next checkpoint writes it; a chain leaves memory only when it is not there, has one
//!   committed version older than every snapshot, and a checkpoint has written it;
//! - index entries in memory are those of the chains in memory (or more: readers confirm an
//!   entry against the row); the base holds the entries of its rows.
//!
//! A base that cannot be read is a failing disk: the server stops at once (the log is intact
//! and recovery starts from it) rather than answer without rows it cannot read.

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::Arc;

use super::base::{Base, BaseName};
use super::engine::{BasePlan, CommitTs, TablePlan, Version, VersionChain, VersionStore};
use crate::catalog::{IndexId, TableId};
use crate::error::Error;
use crate::types::{Key, PackedRow};

/// Version chains and index entries in `BTreeMap`s, over an optional base.
#[derive(Default)]
pub struct MemoryStore {
    tables: Vec<BTreeMap<Key, VersionChain>>,
    indexes: Vec<BTreeMap<Key, Postings>>,
    base: Option<BaseLink>,
}

/// The base under a store, and what memory holds that the base does not.
struct BaseLink {
    base: Arc<Base>,
    /// Tables whose rows the base may hold, by base name.
    tables: HashMap<TableId, BaseName>,
    /// Indexes whose entries the base may hold: base name and index key length.
    indexes: HashMap<IndexId, (BaseName, usize)>,
    /// Per table the base holds: the keys written since the last checkpoint's cut.
    written: HashMap<TableId, BTreeSet<Key>>,
    /// Base names of tables (`false`) and indexes (`true`) dropped since the last cut.
    dropped: Vec<(BaseName, bool)>,
    /// Per table the base holds: its largest key there (`None`: no row), so that a key above
    /// it (an insert at the end of a table: a serial or hidden row id) needs no read.
    last_keys: HashMap<TableId, Option<Key>>,
    next_name: BaseName,
}

/// Stops the server on a base that cannot be read (see the module's doc).
fn base_failed(e: Error) -> ! {
    eprintln!(
        "isola: FATAL: the on-disk base cannot be read: {e}; stopping (restart recovers from the log)"
    );
    std::process::abort()
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

    /// The base name of `table` when the base may hold rows of it.
    fn base_table(&self, table: TableId) -> Option<(&Base, BaseName)> {
        let link = self.base.as_ref()?;
        link.tables.get(&table).map(|&name| (&*link.base, name))
    }

    /// The base's row of `key`, if the base holds `table`.
    fn base_row(&self, table: TableId, key: &Key) -> Option<PackedRow> {
        let (base, name) = self.base_table(table)?;
        let link = self.base.as_ref().expect("a base");
        if let Some(last) = link.last_keys.get(&table)
            && last.as_ref().is_none_or(|last| key > last)
        {
            return None;
        }
        base.row(name, key).unwrap_or_else(|e| base_failed(e))
    }

    fn note_written(&mut self, table: TableId, key: &Key) {
        if let Some(link) = &mut self.base
            && let Some(written) = link.written.get_mut(&table)
            && !written.contains(key)
        {
            written.insert(key.clone());
        }
    }

    /// The chain of a row in memory, read from the base into memory if it is only there.
    fn chain_in_memory(&mut self, table: TableId, key: &Key) -> Option<&mut VersionChain> {
        if !self.tables[table as usize].contains_key(key) {
            let row = self.base_row(table, key)?;
            self.tables[table as usize].insert(key.clone(), VersionChain::from_base(Some(row)));
        }
        self.tables[table as usize].get_mut(key)
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
        if let Some(link) = &mut self.base
            && let Some(name) = link.tables.remove(&table)
        {
            link.written.remove(&table);
            link.last_keys.remove(&table);
            link.dropped.push((name, false));
        }
    }

    fn drop_index(&mut self, index: IndexId) {
        self.indexes[index as usize].clear();
        if let Some(link) = &mut self.base
            && let Some((name, _)) = link.indexes.remove(&index)
        {
            link.dropped.push((name, true));
        }
    }

    fn chain(&self, table: TableId, key: &Key) -> Option<Cow<'_, VersionChain>> {
        match self.tables[table as usize].get(key) {
            Some(chain) => Some(Cow::Borrowed(chain)),
            None => {
                let row = self.base_row(table, key)?;
                Some(Cow::Owned(VersionChain::from_base(Some(row))))
            }
        }
    }

    fn chain_mut(&mut self, table: TableId, key: &Key) -> &mut VersionChain {
        self.note_written(table, key);
        if self.chain_in_memory(table, key).is_none() {
            self.tables[table as usize].insert(key.clone(), VersionChain::default());
        }
        self.tables[table as usize].get_mut(key).expect("just made")
    }

    fn insert_new_chain(
        &mut self,
        table: TableId,
        key: &Key,
        version: Version,
    ) -> Result<(), Version> {
        if self.base_table(table).is_none() {
            return match self.tables[table as usize].entry(key.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert(VersionChain { versions: vec![version] });
                    Ok(())
                }
                Entry::Occupied(_) => Err(version),
            };
        }
        if self.tables[table as usize].contains_key(key) || self.base_row(table, key).is_some() {
            return Err(version);
        }
        self.tables[table as usize].insert(key.clone(), VersionChain { versions: vec![version] });
        self.note_written(table, key);
        Ok(())
    }

    fn resident_chain(&self, table: TableId, key: &Key) -> Option<&VersionChain> {
        self.tables[table as usize].get(key)
    }

    fn resident_chains<'a>(
        &'a self,
        table: TableId,
    ) -> Box<dyn Iterator<Item = &'a VersionChain> + 'a> {
        Box::new(self.tables[table as usize].values())
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
        if self.base_table(table).is_some() {
            for (i, key) in keys.iter().enumerate() {
                if let Some(chain) = self.chain_get_mut(table, key) {
                    visit(i, chain);
                }
            }
            return;
        }
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
        if self.base.is_some() {
            let found = self.tables[table as usize].contains_key(key)
                || self.base_row(table, key).is_some();
            if found {
                self.note_written(table, key);
            }
            return self.chain_in_memory(table, key);
        }
        self.tables[table as usize].get_mut(key)
    }

    fn remove_chain(&mut self, table: TableId, key: &Key) {
        if self.base_table(table).is_some() {
            // The base has the row, or a checkpoint under way may write it there: the
            // deletion stays in memory until a checkpoint has removed it from the base.
            self.tables[table as usize].insert(key.clone(), VersionChain::from_base(None));
            self.note_written(table, key);
            return;
        }
        self.tables[table as usize].remove(key);
    }

    fn scan<'a>(
        &'a self,
        table: TableId,
        range: (Bound<&Key>, Bound<&Key>),
    ) -> Box<dyn Iterator<Item = (Cow<'a, Key>, Cow<'a, VersionChain>)> + 'a> {
        if range_is_empty(&range) {
            return Box::new(std::iter::empty());
        }
        let memory = self.tables[table as usize].range::<Key, _>(range);
        match self.base_table(table) {
            None => Box::new(memory.map(|(k, c)| (Cow::Borrowed(k), Cow::Borrowed(c)))),
            Some((base, name)) => {
                let disk = base.rows(name, range).unwrap_or_else(|e| base_failed(e));
                let merged = MergedWithBase {
                    memory: memory.peekable(),
                    disk: disk.peekable(),
                    order: |m: &(&Key, &VersionChain), d: &(Key, PackedRow)| m.0.cmp(&d.0),
                };
                Box::new(merged.map(|side| match side {
                    Side::Memory((k, c)) => (Cow::Borrowed(k), Cow::Borrowed(c)),
                    Side::Disk((k, row)) => {
                        (Cow::Owned(k), Cow::Owned(VersionChain::from_base(Some(row))))
                    }
                }))
            }
        }
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
    ) -> Box<dyn Iterator<Item = (Cow<'a, Key>, Cow<'a, Key>)> + 'a> {
        if range_is_empty(&range) {
            return Box::new(std::iter::empty());
        }
        let memory = self.indexes[index as usize]
            .range::<Key, _>(range)
            .flat_map(|(index_key, keys)| keys.iter().map(move |pk| (index_key, pk)));
        let on_disk = self.base.as_ref().and_then(|l| Some((&l.base, *l.indexes.get(&index)?)));
        match on_disk {
            None => Box::new(memory.map(|(k, pk)| (Cow::Borrowed(k), Cow::Borrowed(pk)))),
            Some((base, (name, key_len))) => {
                let disk = base.entries(name, key_len, range).unwrap_or_else(|e| base_failed(e));
                let merged = MergedWithBase {
                    memory: memory.peekable(),
                    disk: disk.peekable(),
                    order: |&(mk, mpk): &(&Key, &Key), (dk, dpk): &(Key, Key)| {
                        (mk, mpk).cmp(&(dk, dpk))
                    },
                };
                Box::new(merged.map(|side| match side {
                    Side::Memory((k, pk)) => (Cow::Borrowed(k), Cow::Borrowed(pk)),
                    Side::Disk((k, pk)) => (Cow::Owned(k), Cow::Owned(pk)),
                }))
            }
        }
    }

    fn attach_base(
        &mut self,
        base: Arc<Base>,
        tables: &[(TableId, BaseName)],
        indexes: &[(IndexId, BaseName, usize)],
    ) -> bool {
        let names = tables.iter().map(|t| t.1).chain(indexes.iter().map(|i| i.1));
        let last_keys = tables
            .iter()
            .map(|&(t, n)| (t, base.last_key(n).unwrap_or_else(|e| base_failed(e))))
            .collect();
        self.base = Some(BaseLink {
            last_keys,
            next_name: names.max().map_or(1, |n| n + 1),
            base,
            tables: tables.iter().copied().collect(),
            indexes: indexes.iter().map(|&(i, n, len)| (i, (n, len))).collect(),
            written: tables.iter().map(|&(t, _)| (t, BTreeSet::new())).collect(),
            dropped: Vec::new(),
        });
        true
    }

    fn begin_base_checkpoint(
        &mut self,
        tables: &[TableId],
        indexes: &[(IndexId, TableId, usize)],
    ) -> Option<BasePlan> {
        let link = self.base.as_mut()?;
        let mut plan_tables = Vec::new();
        for &table in tables {
            match link.tables.get(&table) {
                Some(&name) => {
                    let written = link.written.entry(table).or_default();
                    if !written.is_empty() {
                        let keys = std::mem::take(written).into_iter().collect();
                        plan_tables.push(TablePlan { table, name, keys: Some(keys) });
                    }
                }
                None => {
                    let name = link.next_name;
                    link.next_name += 1;
                    link.tables.insert(table, name);
                    link.written.insert(table, BTreeSet::new());
                    link.last_keys.insert(table, None); // nothing there until it commits
                    plan_tables.push(TablePlan { table, name, keys: None });
                }
            }
        }
        let (mut build_indexes, mut kept_indexes) = (Vec::new(), Vec::new());
        for &(index, table, key_len) in indexes {
            match link.indexes.get(&index) {
                Some(&(name, _)) => kept_indexes.push((index, table, name)),
                None => {
                    let name = link.next_name;
                    link.next_name += 1;
                    link.indexes.insert(index, (name, key_len));
                    build_indexes.push((index, table, name));
                }
            }
        }
        let mut table_names: Vec<_> = link.tables.iter().map(|(&t, &n)| (t, n)).collect();
        let mut index_names: Vec<_> = link.indexes.iter().map(|(&i, &(n, _))| (i, n)).collect();
        table_names.sort_unstable();
        index_names.sort_unstable();
        Some(BasePlan {
            base: link.base.clone(),
            tables: plan_tables,
            build_indexes,
            kept_indexes,
            dropped: std::mem::take(&mut link.dropped),
            table_names,
            index_names,
        })
    }

    fn end_base_checkpoint(&mut self, plan: BasePlan, written: bool) {
        let Some(link) = self.base.as_mut() else { return };
        if written {
            for part in &plan.tables {
                if link.tables.get(&part.table) == Some(&part.name) {
                    let last = link.base.last_key(part.name).unwrap_or_else(|e| base_failed(e));
                    link.last_keys.insert(part.table, last);
                }
            }
            return;
        }
        // Failed: the next checkpoint writes all of it again.
        for part in plan.tables {
            if link.tables.get(&part.table) != Some(&part.name) {
                continue; // dropped since
            }
            match part.keys {
                None => {
                    link.tables.remove(&part.table);
                    link.written.remove(&part.table);
                    link.last_keys.remove(&part.table);
                }
                Some(keys) => link.written.entry(part.table).or_default().extend(keys),
            }
        }
        for (index, _, name) in plan.build_indexes {
            if link.indexes.get(&index).is_some_and(|&(n, _)| n == name) {
                link.indexes.remove(&index);
            }
        }
        link.dropped.extend(plan.dropped);
    }

    fn mark_written(&mut self, table: TableId, key: &Key) {
        self.note_written(table, key);
    }

    fn evict_clean(
        &mut self,
        table: TableId,
        horizon: CommitTs,
        from: Option<&Key>,
        max: usize,
    ) -> (Vec<(Key, Option<PackedRow>)>, Option<Key>) {
        let Some(link) = &self.base else { return (Vec::new(), None) };
        let Some(written) = link.written.get(&table) else { return (Vec::new(), None) };
        let map = &mut self.tables[table as usize];
        let start = from.map_or(Bound::Unbounded, Bound::Included);
        let mut clean = Vec::new();
        let mut next = None;
        for (seen, (key, chain)) in map.range::<Key, _>((start, Bound::Unbounded)).enumerate() {
            if seen >= max {
                next = Some(key.clone());
                break;
            }
            let [only] = chain.versions.as_slice() else { continue };
            if only.commit_ts.is_some_and(|c| c <= horizon) && !written.contains(key) {
                clean.push(key.clone());
            }
        }
        let evicted = clean
            .into_iter()
            .map(|key| {
                let chain = map.remove(&key).expect("just seen");
                let row = chain.versions.into_iter().next().and_then(|v| v.row);
                (key, row)
            })
            .collect();
        (evicted, next)
    }

    fn drop_entries_of_rows_on_disk(&mut self, index: IndexId, table: TableId) {
        let rows = &self.tables[table as usize];
        let entries = &mut self.indexes[index as usize];
        entries.retain(|_, postings| {
            let kept: Vec<Key> =
                postings.iter().filter(|pk| rows.contains_key(*pk)).cloned().collect();
            let mut kept = kept.into_iter();
            match (kept.next(), kept.len()) {
                (None, _) => false,
                (Some(one), 0) => {
                    *postings = Postings::One(one);
                    true
                }
                (Some(first), _) => {
                    *postings = Postings::Many(std::iter::once(first).chain(kept).collect());
                    true
                }
            }
        });
    }

    fn chains_in_memory(&self) -> usize {
        self.tables.iter().map(BTreeMap::len).sum()
    }
}

/// One item of a [`MergedWithBase`]: from memory, or read from the base.
enum Side<A, B> {
    Memory(A),
    Disk(B),
}

/// Items in memory merged with items read from the base, both ascending by `order`; where both
/// have an item of the same place, memory's is given and the base's skipped (a chain in memory
/// overrides the base's row; an index entry in both is given once).
struct MergedWithBase<M: Iterator, D: Iterator, F> {
    memory: Peekable<M>,
    disk: Peekable<D>,
    order: F,
}

impl<M, D, T, F> Iterator for MergedWithBase<M, D, F>
where
    M: Iterator,
    D: Iterator<Item = crate::error::Result<T>>,
    F: Fn(&M::Item, &T) -> std::cmp::Ordering,
{
    type Item = Side<M::Item, T>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(Err(_)) = self.disk.peek()
            && let Some(Err(e)) = self.disk.next()
        {
            base_failed(e);
        }
        let order = match (self.memory.peek(), self.disk.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(m), Some(Ok(d))) => (self.order)(m, d),
            (Some(_), Some(Err(_))) => unreachable!("taken above"),
        };
        if order.is_eq() {
            self.disk.next();
        }
        if order.is_le() {
            self.memory.next().map(Side::Memory)
        } else {
            match self.disk.next() {
                Some(Ok(item)) => Some(Side::Disk(item)),
                _ => unreachable!("peeked an item"),
            }
        }
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
            .map(|(k, c)| (k.into_owned(), c.versions[0].creator))
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
            .map(|(k, pk)| (k.into_owned(), pk.into_owned()))
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
            built.index_scan(0, lone).map(|(_, pk)| pk.into_owned()).collect::<Vec<_>>(),
            [key(7)]
        );

        let mut unsorted = MemoryStore::new();
        unsorted.create_index(0);
        unsorted.index_build(0, pairs.iter().rev().cloned().collect());
        assert_eq!(entries(&unsorted, 0), pairs, "a run out of order is inserted one by one");
    }
    /// The row a chain shows once every version is committed: its head's.
    fn head_row(chain: &VersionChain) -> Option<i64> {
        let row = chain.head()?.row.as_ref()?;
        match row.column(0) {
            Value::Int(v) => Some(v),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Writes what a checkpoint writes: the rows of the plan's tables as the store shows them
    /// now (every version here is committed) and the index entries `(value, key)` of index 0.
    fn write_plan(s: &MemoryStore, plan: &BasePlan) {
        let write = plan.base.write().unwrap();
        for part in &plan.tables {
            let keys: Vec<Key> = match &part.keys {
                Some(keys) => keys.clone(),
                None => s
                    .scan(part.table, (Bound::Unbounded, Bound::Unbounded))
                    .map(|(k, _)| k.into_owned())
                    .collect(),
            };
            let rows: Vec<Option<PackedRow>> = keys
                .iter()
                .map(|k| s.chain(part.table, k).and_then(|c| c.head()?.row.clone()))
                .collect();
            let puts: Vec<(Key, Option<&[u8]>)> = keys
                .iter()
                .zip(&rows)
                .map(|(k, r)| (k.clone(), r.as_ref().map(PackedRow::as_bytes)))
                .collect();
            let old = write.put_rows(part.name, &puts).unwrap();
            let index_name = plan.index_names.iter().find(|(i, _)| *i == 0).unwrap().1;
            let mut changes = Vec::new();
            for ((k, new), old) in keys.iter().zip(&rows).zip(&old) {
                if let Some(old) = old {
                    changes.push((old.project(&[0]), k.clone(), false));
                }
                if let Some(new) = new {
                    changes.push((new.project(&[0]), k.clone(), true));
                }
            }
            write.change_entries(index_name, &changes).unwrap();
        }
        write.commit().unwrap();
    }

    /// The store over a base against a `BTreeMap` model: random writes and deletions (each
    /// committed at once and the older versions collected, as GC would), checkpoints that
    /// write the plan into the base (and some that fail and are taken back), eviction of
    /// what the base holds, all with a tiny memory: full scans, range scans, point reads and
    /// index lookups (confirmed against the row, as readers do) show the model's rows.
    #[test]
    fn a_store_over_a_base_shows_what_a_model_holds() {
        use rand::{Rng, SeedableRng};
        let seed: u64 = std::env::var("ISOLA_STORE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let base = Arc::new(Base::open(&dir.path().join("base.redb"), 1 << 20).unwrap());
        let mut s = MemoryStore::new();
        s.create_table(0);
        s.create_index(0);
        assert!(s.attach_base(base, &[], &[]));
        let mut model: BTreeMap<i64, i64> = BTreeMap::new();
        let mut ts = 0;
        for round in 0..60 {
            for _ in 0..rng.gen_range(1..200) {
                ts += 1;
                let k = rng.gen_range(0..400i64);
                let row = if rng.gen_bool(0.25) { None } else { Some(rng.gen_range(0..20i64)) };
                let packed = row.map(|v| PackedRow::pack(&[Value::Int(v)]));
                let chain = s.chain_mut(0, &key(k));
                chain.versions.push(Version {
                    creator: ts,
                    subtxn: 0,
                    commit_ts: Some(ts),
                    row: packed,
                });
                let len = chain.versions.len();
                chain.versions.drain(..len - 1);
                if let Some(v) = row {
                    s.index_insert(0, key(v), key(k));
                    model.insert(k, v);
                } else {
                    model.remove(&k);
                }
                if s.chain(0, &key(k)).unwrap().head().unwrap().row.is_none() {
                    s.remove_chain(0, &key(k));
                }
            }
            if rng.gen_bool(0.7) {
                let plan = s.begin_base_checkpoint(&[0], &[(0, 0, 1)]).unwrap();
                if rng.gen_bool(0.2) {
                    s.end_base_checkpoint(plan, false);
                } else {
                    write_plan(&s, &plan);
                    s.end_base_checkpoint(plan, true);
                    let (evicted, _) = s.evict_clean(0, ts, None, usize::MAX);
                    for (k, row) in evicted {
                        if let Some(row) = row {
                            s.index_remove(0, &row.project(&[0]), &k);
                        }
                    }
                }
            }
            let everything = (Bound::Unbounded, Bound::Unbounded);
            let seen: BTreeMap<i64, i64> = s
                .scan(0, everything)
                .filter_map(|(k, c)| Some((k[0].clone(), head_row(&c)?)))
                .map(|(k, v)| (if let Value::Int(k) = k { k } else { unreachable!() }, v))
                .collect();
            assert_eq!(seen, model, "seed {seed}, round {round}: a full scan");
            let (lo, hi) = (rng.gen_range(0..400i64), rng.gen_range(0..400i64));
            let (lo_key, hi_key) = (key(lo.min(hi)), key(lo.max(hi)));
            let ranged: Vec<i64> = s
                .scan(0, (Bound::Excluded(&lo_key), Bound::Included(&hi_key)))
                .filter_map(|(_, c)| head_row(&c))
                .collect();
            let expected: Vec<i64> = model
                .range((Bound::Excluded(lo.min(hi)), Bound::Included(lo.max(hi))))
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(ranged, expected, "seed {seed}, round {round}: a range scan");
            for k in (0..400).step_by(7) {
                let got = s.chain(0, &key(k)).and_then(|c| head_row(&c));
                assert_eq!(got, model.get(&k).copied(), "seed {seed}, round {round}: key {k}");
            }
            let v = rng.gen_range(0..20i64);
            let (v_key, next_key) = (key(v), key(v + 1));
            let mut found: Vec<i64> = s
                .index_scan(0, (Bound::Included(&v_key), Bound::Excluded(&next_key)))
                .filter(|(_, pk)| s.chain(0, pk).and_then(|c| head_row(&c)) == Some(v))
                .map(|(_, pk)| if let Value::Int(k) = pk[0] { k } else { unreachable!() })
                .collect();
            found.dedup();
            let expected: Vec<i64> =
                model.iter().filter(|(_, x)| **x == v).map(|(k, _)| *k).collect();
            assert_eq!(found, expected, "seed {seed}, round {round}: index lookup of {v}");
        }
        assert!(s.chains_in_memory() < 400, "seed {seed}: something was evicted");
    }
}
