//! The catalog: tables, their columns and primary key, and secondary indexes.
//!
//! A table's rows are stored under their primary key; each secondary index maps an index key
//! (the values of its columns) to the primary keys of the rows that have it. Invariants: a
//! primary key has at least one column; ids are dense and never reused; an index belongs to one
//! table. DDL is not transactional in this first version: it applies at once and is visible to
//! every transaction.

use std::collections::HashMap;
use std::ops::Bound;

use crate::error::{Error, Result};
use crate::types::{Key, KeyRange, PackedRow, Row, Value, format_key};

/// A table's id.
pub type TableId = u32;
/// A secondary index's id.
pub type IndexId = u32;

/// A table definition.
#[derive(Clone, Debug)]
pub struct TableDef {
    pub id: TableId,
    pub name: String,
    pub columns: Vec<String>,
    /// Positions of the primary key columns in `columns`.
    pub primary_key: Vec<usize>,
    /// The table's secondary indexes.
    pub indexes: Vec<IndexId>,
}

/// A secondary index definition.
#[derive(Clone, Debug)]
pub struct IndexDef {
    pub id: IndexId,
    pub name: String,
    pub table: TableId,
    /// Positions of the indexed columns in the table's columns.
    pub columns: Vec<usize>,
    pub unique: bool,
}

/// Where an ordered key lives: a table's primary key space or a secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySpace {
    Table(TableId),
    Index(IndexId),
}

impl TableDef {
    /// The primary key of a row of this table.
    pub fn key_of(&self, row: &[Value]) -> Key {
        self.primary_key.iter().map(|&c| row[c].clone()).collect()
    }

    /// Shows a primary key as `name(col=value, ...)`.
    pub fn describe_key(&self, key: &[Value]) -> String {
        let parts: Vec<String> = self
            .primary_key
            .iter()
            .zip(key)
            .map(|(&c, v)| format!("{}={}", self.columns[c], v))
            .collect();
        format!("{}({})", self.name, parts.join(", "))
    }

    /// Checks a row's shape and its primary key's NOT NULL constraint.
    pub fn validate(&self, row: &Row) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(Error::InvalidInput(format!(
                "table {} has {} columns, the row has {}",
                self.name,
                self.columns.len(),
                row.len()
            )));
        }
        for &c in &self.primary_key {
            if row[c] == Value::Null {
                return Err(Error::NotNullViolation { column: self.columns[c].clone() });
            }
        }
        Ok(())
    }

    /// The position of a column by name.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            Error::InvalidInput(format!("column \"{name}\" of table {} does not exist", self.name))
        })
    }
}

impl IndexDef {
    /// The index key of a row.
    pub fn key_of(&self, row: &[Value]) -> Key {
        self.columns.iter().map(|&c| row[c].clone()).collect()
    }

    /// The index key of a stored row, decoding only its columns.
    pub fn key_of_packed(&self, row: &PackedRow) -> Key {
        row.project(&self.columns)
    }
}

/// All tables and indexes.
#[derive(Default, Debug)]
pub struct Catalog {
    /// Shared, so a statement can hold a table's definition without copying it (copy on
    /// write when DDL changes it).
    tables: Vec<std::sync::Arc<TableDef>>,
    indexes: Vec<IndexDef>,
    names: HashMap<String, KeySpace>,
}

impl Catalog {
    /// Adds a table; the primary key names columns of it.
    pub fn create_table(
        &mut self,
        name: &str,
        columns: &[&str],
        primary_key: &[&str],
    ) -> Result<TableId> {
        if self.names.contains_key(name) {
            return Err(Error::DuplicateObject(name.into()));
        }
        if primary_key.is_empty() {
            return Err(Error::InvalidInput(format!("table {name} needs a primary key")));
        }
        let id = self.tables.len() as TableId;
        let mut table = TableDef {
            id,
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            primary_key: vec![],
            indexes: vec![],
        };
        table.primary_key = primary_key.iter().map(|c| table.column(c)).collect::<Result<_>>()?;
        self.names.insert(name.into(), KeySpace::Table(id));
        self.tables.push(std::sync::Arc::new(table));
        Ok(id)
    }

    /// Adds a table with the id `want` it had where its DDL was logged (a replica replaying the
    /// leader's DDL, recovery replaying its own), so every replica numbers tables alike: ids
    /// below `want` that were never used here (a CREATE rolled back on the writer) become
    /// dropped placeholders; a dropped slot at `want` (a CREATE rolled back here) is reused.
    /// `None` if `want` names a live table here: the caller takes a fresh id instead. Returns
    /// the new id and the placeholder ids added (the store must make room for each).
    pub fn create_table_at(
        &mut self,
        want: TableId,
        name: &str,
        columns: &[&str],
        primary_key: &[&str],
    ) -> Result<Option<(TableId, Vec<TableId>)>> {
        let live = |c: &Catalog, id: TableId| {
            c.names.values().any(|s| matches!(s, KeySpace::Table(t) if *t == id))
        };
        if (want as usize) < self.tables.len() && live(self, want) {
            return Ok(None);
        }
        let mut padded = Vec::new();
        while self.tables.len() < want as usize {
            let id = self.tables.len() as TableId;
            self.tables.push(std::sync::Arc::new(TableDef {
                id,
                name: String::new(),
                columns: vec![],
                primary_key: vec![],
                indexes: vec![],
            }));
            padded.push(id);
        }
        if (want as usize) == self.tables.len() {
            return self.create_table(name, columns, primary_key).map(|id| Some((id, padded)));
        }
        // A dropped slot: take it over.
        if self.names.contains_key(name) {
            return Err(Error::DuplicateObject(name.into()));
        }
        let mut table = TableDef {
            id: want,
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            primary_key: vec![],
            indexes: vec![],
        };
        table.primary_key = primary_key.iter().map(|c| table.column(c)).collect::<Result<_>>()?;
        self.names.insert(name.into(), KeySpace::Table(want));
        self.tables[want as usize] = std::sync::Arc::new(table);
        Ok(Some((want, padded)))
    }

    /// Adds a secondary index on columns of a table.
    pub fn create_index(
        &mut self,
        name: &str,
        table: TableId,
        columns: &[&str],
        unique: bool,
    ) -> Result<IndexId> {
        if self.names.contains_key(name) {
            return Err(Error::DuplicateObject(name.into()));
        }
        let id = self.indexes.len() as IndexId;
        let def = self.table(table)?;
        let columns = columns.iter().map(|c| def.column(c)).collect::<Result<_>>()?;
        self.indexes.push(IndexDef { id, name: name.into(), table, columns, unique });
        std::sync::Arc::make_mut(&mut self.tables[table as usize]).indexes.push(id);
        self.names.insert(name.into(), KeySpace::Index(id));
        Ok(id)
    }

    /// Forgets a table and its indexes (their ids stay taken).
    pub fn drop_table(&mut self, id: TableId) -> Result<()> {
        let def = self.table(id)?.clone();
        for index in &def.indexes {
            let name = self.indexes[*index as usize].name.clone();
            self.names.remove(&name);
        }
        self.names.remove(&def.name);
        std::sync::Arc::make_mut(&mut self.tables[id as usize]).indexes.clear();
        Ok(())
    }

    /// Forgets an index (its id stays taken).
    pub fn drop_index(&mut self, id: IndexId) -> Result<()> {
        let def = self.index(id)?.clone();
        self.names.remove(&def.name);
        std::sync::Arc::make_mut(&mut self.tables[def.table as usize]).indexes.retain(|i| *i != id);
        Ok(())
    }

    /// Adds a column at the end of a table (rows stored before lack it: readers pad them).
    pub fn add_column(&mut self, id: TableId, name: &str) -> Result<()> {
        let table = self
            .tables
            .get_mut(id as usize)
            .map(std::sync::Arc::make_mut)
            .ok_or_else(|| Error::UndefinedObject(format!("table {id}")))?;
        if table.columns.iter().any(|c| c == name) {
            return Err(Error::DuplicateObject(name.into()));
        }
        table.columns.push(name.into());
        Ok(())
    }

    /// Renames a table or an index.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        if self.names.contains_key(to) {
            return Err(Error::DuplicateObject(to.into()));
        }
        let space = self.lookup(from)?;
        self.names.remove(from);
        self.names.insert(to.into(), space);
        match space {
            KeySpace::Table(t) => {
                std::sync::Arc::make_mut(&mut self.tables[t as usize]).name = to.into()
            }
            KeySpace::Index(i) => self.indexes[i as usize].name = to.into(),
        }
        Ok(())
    }

    /// Renames a column of a table.
    pub fn rename_column(&mut self, id: TableId, from: &str, to: &str) -> Result<()> {
        let table = self
            .tables
            .get_mut(id as usize)
            .map(std::sync::Arc::make_mut)
            .ok_or_else(|| Error::UndefinedObject(format!("table {id}")))?;
        let position = table.column(from)?;
        table.columns[position] = to.into();
        Ok(())
    }

    /// Removes a table's last column (the undo of [`Catalog::add_column`]).
    pub fn remove_last_column(&mut self, id: TableId) -> Result<()> {
        let table = self
            .tables
            .get_mut(id as usize)
            .map(std::sync::Arc::make_mut)
            .ok_or_else(|| Error::UndefinedObject(format!("table {id}")))?;
        if table.columns.len() <= 1 || table.primary_key.contains(&(table.columns.len() - 1)) {
            return Err(Error::InvalidInput(format!(
                "cannot remove the last column of {}",
                table.name
            )));
        }
        table.columns.pop();
        Ok(())
    }

    /// The ids of the tables that exist (not dropped).
    pub fn table_ids(&self) -> Vec<TableId> {
        (0..self.tables.len() as TableId).filter(|&id| self.table(id).is_ok()).collect()
    }

    pub fn table(&self, id: TableId) -> Result<&std::sync::Arc<TableDef>> {
        self.tables.get(id as usize).ok_or_else(|| Error::UndefinedObject(format!("table {id}")))
    }

    pub fn index(&self, id: IndexId) -> Result<&IndexDef> {
        self.indexes.get(id as usize).ok_or_else(|| Error::UndefinedObject(format!("index {id}")))
    }

    /// Looks up a table or index by name.
    pub fn lookup(&self, name: &str) -> Result<KeySpace> {
        self.names.get(name).copied().ok_or_else(|| Error::UndefinedObject(name.into()))
    }

    /// The table a key space belongs to.
    pub fn table_of(&self, space: KeySpace) -> TableId {
        match space {
            KeySpace::Table(t) => t,
            KeySpace::Index(i) => self.indexes[i as usize].table,
        }
    }

    /// Shows a key of a key space for a person: `accounts(id=7)` or `accounts_owner(owner='x')`.
    pub fn describe(&self, space: KeySpace, key: &[Value]) -> String {
        match space {
            KeySpace::Table(t) => match self.table(t) {
                Ok(table) => table.describe_key(key),
                Err(_) => format!("table{t}({})", format_key(key)),
            },
            KeySpace::Index(i) => match self.index(i) {
                Ok(index) => {
                    let table = &self.tables[index.table as usize];
                    let parts: Vec<String> = index
                        .columns
                        .iter()
                        .zip(key)
                        .map(|(&c, v)| format!("{}={}", table.columns[c], v))
                        .collect();
                    format!("{}({})", table.name, parts.join(", "))
                }
                Err(_) => format!("index{i}({})", format_key(key)),
            },
        }
    }

    /// Shows a key range of a key space: `accounts(id in [1, 5])`, `accounts(balance in (0, +inf))`.
    pub fn describe_range(&self, space: KeySpace, range: &KeyRange) -> String {
        if let (Bound::Included(lo), Bound::Included(hi)) = range
            && lo == hi
        {
            return self.describe(space, lo);
        }
        let table = &self.tables[self.table_of(space) as usize];
        let columns: &[usize] = match space {
            KeySpace::Table(_) => &table.primary_key,
            KeySpace::Index(i) => &self.indexes[i as usize].columns,
        };
        let names: Vec<&str> = columns.iter().map(|&c| table.columns[c].as_str()).collect();
        let lo = match &range.0 {
            Bound::Included(k) => format!("[{}", format_key(k)),
            Bound::Excluded(k) => format!("({}", format_key(k)),
            Bound::Unbounded => "(-inf".into(),
        };
        let hi = match &range.1 {
            Bound::Included(k) => format!("{}]", format_key(k)),
            Bound::Excluded(k) => format!("{})", format_key(k)),
            Bound::Unbounded => "+inf)".into(),
        };
        format!("{}({} in {lo}, {hi})", table.name, names.join(", "))
    }

    /// The name of a table or index.
    pub fn name(&self, space: KeySpace) -> &str {
        match space {
            KeySpace::Table(t) => &self.tables[t as usize].name,
            KeySpace::Index(i) => &self.indexes[i as usize].name,
        }
    }
}
