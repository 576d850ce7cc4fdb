//! [`Base`]: the on-disk base of the rows, a redb file written only by checkpoints.
//!
//! FORMAT (`base.redb` in the data directory, see docs/storage.md). One redb database:
//! - `meta`: `format` (this file's format version, u32 little endian) and `checkpoint` (the
//!   checkpoint the rows belong to: the bytes of a checkpoint file without row blocks, plus the
//!   names below; written by `durable`, opaque here);
//! - per table, `t<n>`: primary key -> packed row (the newest version committed at or before
//!   the checkpoint's snapshot; a row deleted by then is absent);
//! - per index, `i<n>`: index key followed by primary key -> nothing.
//!
//! Keys are value lists in the log's value encoding (`types::encoding`), ordered by decoding
//! them and comparing values as isola does ([`ValueList`]), so a range of keys on disk is the
//! same range as in memory. `n` is a name handed out by the checkpoint writer, independent of
//! the catalog's ids (the meta blob maps them).
//!
//! INVARIANTS. Only a checkpoint writes, in one redb transaction with quick repair on: the rows,
//! the index entries and the meta are of the same snapshot, or (after a crash during the
//! transaction) all of the previous one. Index entries are exactly those of the stored rows.
//! Reads may run concurrently with the writer and see the last committed base.

use std::cmp::Ordering;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use crate::error::{Error, Result};
use crate::types::encoding::{Decoder, Encoder};
use crate::types::{Key, PackedRow, Value};

/// The version of the base's format; a file of another version is refused.
pub const BASE_FORMAT_VERSION: u32 = 1;

/// The name of a table or an index's redb table in the base.
pub type BaseName = u64;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// A redb key: a list of values, ordered as isola orders them.
#[derive(Debug)]
pub struct ValueList;

impl redb::Value for ValueList {
    type SelfType<'a> = &'a [u8];
    type AsBytes<'a> = &'a [u8];

    fn fixed_width() -> Option<usize> {
        None
    }

    fn from_bytes<'a>(data: &'a [u8]) -> &'a [u8]
    where
        Self: 'a,
    {
        data
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a &'b [u8]) -> &'a [u8]
    where
        Self: 'b,
    {
        value
    }

    fn type_name() -> redb::TypeName {
        redb::TypeName::new("isola::ValueList")
    }
}

impl redb::Key for ValueList {
    fn compare(a: &[u8], b: &[u8]) -> Ordering {
        compare_value_lists(a, b).unwrap_or_else(|| a.cmp(b))
    }
}

/// Compares two encoded value lists value by value (a list that is a prefix of the other
/// sorts first); `None` if either does not decode (then the caller falls back to bytes: redb
/// needs a total order even over garbage).
fn compare_value_lists(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let (mut da, mut db) = (Decoder::new(a), Decoder::new(b));
    let (na, nb) = (da.u32().ok()?, db.u32().ok()?);
    for _ in 0..na.min(nb) {
        let (va, vb): (Value, Value) = (da.value().ok()?, db.value().ok()?);
        match va.cmp(&vb) {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    Some(na.cmp(&nb))
}

/// Encodes values as a [`ValueList`].
pub fn encode_list<'a>(parts: impl IntoIterator<Item = &'a [Value]>) -> Vec<u8> {
    let parts: Vec<&[Value]> = parts.into_iter().collect();
    let count: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(8 + 9 * count);
    let mut e = Encoder(&mut out);
    e.u32(count as u32);
    for part in parts {
        for v in part {
            e.value(v);
        }
    }
    out
}

fn decode_list(bytes: &[u8]) -> Result<Key> {
    Decoder::new(bytes)
        .values()
        .map_err(|e| Error::Corrupt(format!("a key in the base does not decode: {}", e.0)))
}

fn table_def(name: BaseName) -> (String, String) {
    (format!("t{name}"), format!("i{name}"))
}

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("{} ({what}): {e}", path.display()))
}

/// The base: one redb database.
pub struct Base {
    db: redb::Database,
    path: PathBuf,
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base({})", self.path.display())
    }
}

impl Base {
    /// Opens the base at `path`, creating an empty one if there is none; `cache_bytes` is
    /// redb's page cache. Refuses a file of another format version.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Base> {
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| io(path, "opening the base", e))?;
        let base = Base { db, path: path.to_path_buf() };
        let read = base.db.begin_read().map_err(|e| io(path, "reading the base", e))?;
        let version = match read.open_table(META) {
            Ok(meta) => meta
                .get("format")
                .map_err(|e| io(path, "reading the base", e))?
                .map(|v| v.value().to_vec()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(io(path, "reading the base", e)),
        };
        if let Some(version) = version {
            let found = u32::from_le_bytes(version.as_slice().try_into().map_err(|_| {
                Error::Corrupt(format!("{}: a malformed format version", path.display()))
            })?);
            if found != BASE_FORMAT_VERSION {
                return Err(Error::Corrupt(format!(
                    "{} is of base format version {found}; this isola reads version {BASE_FORMAT_VERSION}",
                    path.display()
                )));
            }
        }
        Ok(base)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checkpoint blob of the last checkpoint written into the base, if any.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>> {
        let read = self.db.begin_read().map_err(|e| self.io("reading", e))?;
        match read.open_table(META) {
            Ok(meta) => Ok(meta
                .get("checkpoint")
                .map_err(|e| self.io("reading", e))?
                .map(|v| v.value().to_vec())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.io("reading", e)),
        }
    }

    fn io(&self, what: &str, e: impl std::fmt::Display) -> Error {
        io(&self.path, what, e)
    }

    fn read_table(
        &self,
        name: &str,
    ) -> Result<Option<redb::ReadOnlyTable<ValueList, &'static [u8]>>> {
        let read = self.db.begin_read().map_err(|e| self.io("reading", e))?;
        let def: TableDefinition<ValueList, &[u8]> = TableDefinition::new(name);
        match read.open_table(def) {
            Ok(t) => Ok(Some(t)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.io("reading", e)),
        }
    }

    /// The stored row of `key` in table `name`.
    pub fn row(&self, name: BaseName, key: &Key) -> Result<Option<PackedRow>> {
        let Some(table) = self.read_table(&table_def(name).0)? else { return Ok(None) };
        let encoded = encode_list([key.as_slice()]);
        let got = table.get(encoded.as_slice()).map_err(|e| self.io("reading a row", e))?;
        got.map(|v| packed(v.value())).transpose()
    }

    /// The largest primary key stored in table `name`.
    pub fn last_key(&self, name: BaseName) -> Result<Option<Key>> {
        let Some(table) = self.read_table(&table_def(name).0)? else { return Ok(None) };
        match table.last().map_err(|e| self.io("reading a row", e))? {
            Some((k, _)) => decode_list(k.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The stored rows of table `name` whose keys fall in `range`, in key order.
    pub fn rows(&self, name: BaseName, range: (Bound<&Key>, Bound<&Key>)) -> Result<BaseRows> {
        let Some(table) = self.read_table(&table_def(name).0)? else {
            return Ok(BaseRows { inner: None, path: self.path.clone() });
        };
        let bound = |b: Bound<&Key>| match b {
            Bound::Included(k) => Bound::Included(encode_list([k.as_slice()])),
            Bound::Excluded(k) => Bound::Excluded(encode_list([k.as_slice()])),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (lo, hi) = (bound(range.0), bound(range.1));
        let lo_ref = lo.as_ref().map(|v| v.as_slice());
        let hi_ref = hi.as_ref().map(|v| v.as_slice());
        let iter = table.range_owned((lo_ref, hi_ref)).map_err(|e| self.io("reading rows", e))?;
        Ok(BaseRows { inner: Some(iter), path: self.path.clone() })
    }

    /// The stored entries `(index key, primary key)` of index `name` whose index keys fall in
    /// `range`, in order; `key_len` is the index's column count.
    pub fn entries(
        &self,
        name: BaseName,
        key_len: usize,
        range: (Bound<&Key>, Bound<&Key>),
    ) -> Result<BaseEntries> {
        let Some(table) = self.read_table(&table_def(name).1)? else {
            return Ok(BaseEntries::empty(self.path.clone(), key_len));
        };
        // An index key is a prefix of its entries' keys: start at the prefix and filter the
        // ends by comparing index keys.
        let lo = match range.0 {
            Bound::Included(k) | Bound::Excluded(k) => Bound::Included(encode_list([k.as_slice()])),
            Bound::Unbounded => Bound::Unbounded,
        };
        let lo_ref = lo.as_ref().map(|v| v.as_slice());
        let iter = table
            .range_owned((lo_ref, Bound::<&[u8]>::Unbounded))
            .map_err(|e| self.io("reading index entries", e))?;
        Ok(BaseEntries {
            inner: Some(iter),
            path: self.path.clone(),
            key_len,
            skip_equal: match range.0 {
                Bound::Excluded(k) => Some(k.clone()),
                _ => None,
            },
            upper: match range.1 {
                Bound::Included(k) => Bound::Included(k.clone()),
                Bound::Excluded(k) => Bound::Excluded(k.clone()),
                Bound::Unbounded => Bound::Unbounded,
            },
        })
    }

    /// Starts the one write transaction of a checkpoint: durable when committed, quick repair
    /// on (an unclean exit costs no repair at the next open).
    pub fn write(&self) -> Result<BaseWrite<'_>> {
        let mut txn = self.db.begin_write().map_err(|e| self.io("writing", e))?;
        txn.set_quick_repair(true);
        txn.set_durability(redb::Durability::Immediate).map_err(|e| self.io("writing", e))?;
        Ok(BaseWrite { base: self, txn })
    }
}

fn packed(bytes: &[u8]) -> Result<PackedRow> {
    Decoder::new(bytes)
        .packed_row()
        .map_err(|e| Error::Corrupt(format!("a row in the base does not decode: {}", e.0)))
}

/// Rows read from the base, in key order (a consistent view: the base as it was when the read
/// started).
pub struct BaseRows {
    inner: Option<redb::OwnedRange<ValueList, &'static [u8]>>,
    path: PathBuf,
}

impl Iterator for BaseRows {
    type Item = Result<(Key, PackedRow)>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.inner.as_mut()?.next()?;
        Some(match next {
            Ok((k, v)) => decode_list(k.value()).and_then(|k| Ok((k, packed(v.value())?))),
            Err(e) => Err(io(&self.path, "reading rows", e)),
        })
    }
}

/// Index entries read from the base, in order.
pub struct BaseEntries {
    inner: Option<redb::OwnedRange<ValueList, &'static [u8]>>,
    path: PathBuf,
    key_len: usize,
    skip_equal: Option<Key>,
    upper: Bound<Key>,
}

impl BaseEntries {
    fn empty(path: PathBuf, key_len: usize) -> BaseEntries {
        BaseEntries { inner: None, path, key_len, skip_equal: None, upper: Bound::Unbounded }
    }
}

impl Iterator for BaseEntries {
    type Item = Result<(Key, Key)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let next = self.inner.as_mut()?.next()?;
            let (k, _) = match next {
                Ok(kv) => kv,
                Err(e) => return Some(Err(io(&self.path, "reading index entries", e))),
            };
            let mut all = match decode_list(k.value()) {
                Ok(all) => all,
                Err(e) => return Some(Err(e)),
            };
            if all.len() < self.key_len {
                return Some(Err(Error::Corrupt("a short index entry in the base".into())));
            }
            let pk: Key = all.drain(self.key_len..).collect();
            let ik = all;
            if self.skip_equal.as_ref().is_some_and(|s| *s == ik) {
                continue;
            }
            let within = match &self.upper {
                Bound::Included(u) => ik <= *u,
                Bound::Excluded(u) => ik < *u,
                Bound::Unbounded => true,
            };
            if !within {
                self.inner = None;
                return None;
            }
            self.skip_equal = None;
            return Some(Ok((ik, pk)));
        }
    }
}

/// A checkpoint's write into the base: nothing is visible to readers before
/// [`BaseWrite::commit`], and a crash before it leaves the previous base whole.
pub struct BaseWrite<'a> {
    base: &'a Base,
    txn: redb::WriteTransaction,
}

impl BaseWrite<'_> {
    fn table(&self, name: &str) -> Result<redb::Table<'_, ValueList, &'static [u8]>> {
        let def: TableDefinition<ValueList, &[u8]> = TableDefinition::new(name);
        self.txn.open_table(def).map_err(|e| self.base.io("writing", e))
    }

    /// Stores rows (`key`, encoded packed row) into table `name`, replacing any there;
    /// returns the rows replaced, in the order given (their index entries must go).
    pub fn put_rows(
        &self,
        name: BaseName,
        rows: &[(Key, Option<&[u8]>)],
    ) -> Result<Vec<Option<PackedRow>>> {
        let mut table = self.table(&table_def(name).0)?;
        let mut old = Vec::with_capacity(rows.len());
        for (key, row) in rows {
            let encoded = encode_list([key.as_slice()]);
            let replaced = match row {
                Some(bytes) => table.insert(encoded.as_slice(), *bytes),
                None => table.remove(encoded.as_slice()),
            }
            .map_err(|e| self.base.io("writing a row", e))?;
            old.push(replaced.map(|v| packed(v.value())).transpose()?);
        }
        Ok(old)
    }

    /// Adds (`true`) or removes (`false`) index entries of index `name`.
    pub fn change_entries(&self, name: BaseName, entries: &[(Key, Key, bool)]) -> Result<()> {
        let mut table = self.table(&table_def(name).1)?;
        for (ik, pk, add) in entries {
            let encoded = encode_list([ik.as_slice(), pk.as_slice()]);
            if *add {
                table.insert(encoded.as_slice(), [].as_slice())
            } else {
                table.remove(encoded.as_slice())
            }
            .map_err(|e| self.base.io("writing an index entry", e))?;
        }
        Ok(())
    }

    /// Removes a table's rows (`index == false`) or an index's entries, table and all.
    pub fn drop_name(&self, name: BaseName, index: bool) -> Result<()> {
        let (t, i) = table_def(name);
        let def: TableDefinition<ValueList, &[u8]> =
            TableDefinition::new(if index { &i } else { &t });
        self.txn.delete_table(def).map_err(|e| self.base.io("dropping", e))?;
        Ok(())
    }

    /// The names of every table (`false`) and index (`true`) stored.
    pub fn stored_names(&self) -> Result<Vec<(BaseName, bool)>> {
        let mut names = Vec::new();
        for handle in self.txn.list_tables().map_err(|e| self.base.io("listing", e))? {
            let name = handle.name();
            let (kind, rest) = name.split_at(1);
            if let (Ok(n), "t" | "i") = (rest.parse::<BaseName>(), kind) {
                names.push((n, kind == "i"));
            }
        }
        Ok(names)
    }

    /// Records the checkpoint these rows belong to, and the format version.
    pub fn set_checkpoint(&self, blob: &[u8]) -> Result<()> {
        let mut meta = self.txn.open_table(META).map_err(|e| self.base.io("writing", e))?;
        let version = BASE_FORMAT_VERSION.to_le_bytes();
        meta.insert("format", version.as_slice()).map_err(|e| self.base.io("writing", e))?;
        meta.insert("checkpoint", blob).map_err(|e| self.base.io("writing", e))?;
        Ok(())
    }

    /// Makes the write durable and visible.
    pub fn commit(self) -> Result<()> {
        self.txn.commit().map_err(|e| self.base.io("committing", e))
    }
}
