//! The SQL-level description of tables, kept beside the core catalog: column types, NOT NULL,
//! defaults, serial sequences, CHECK constraints, unique constraints and the hidden row id of
//! tables without a primary key.
//!
//! Invariants: a `TableSchema`'s columns are the core table's columns in the same order
//! (hidden ones included); `version` grows on every DDL so prepared plans can tell they are stale.
//! DDL is not transactional (as in the core): it applies at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlparser::ast::Expr;

use crate::catalog::{IndexId, TableId};
use crate::sql::types::SqlType;
use crate::types::Value;

/// The name of the hidden primary key column of tables declared without one.
pub const ROW_ID: &str = "ctid";

/// One column.
#[derive(Debug)]
pub struct ColumnSchema {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    /// The DEFAULT expression, evaluated at each insert.
    pub default: Option<Expr>,
    /// A serial or identity column's sequence.
    pub sequence: Option<Arc<AtomicI64>>,
    /// Not shown by `*` (the hidden row id).
    pub hidden: bool,
    /// The value rows stored before this column was added read as.
    pub pad: Value,
}

/// A secondary index as the SQL layer sees it.
#[derive(Clone, Debug)]
pub struct IndexSchema {
    pub name: String,
    pub id: IndexId,
    pub columns: Vec<usize>,
    pub unique: bool,
}

/// A table.
#[derive(Debug)]
pub struct TableSchema {
    pub name: String,
    pub id: TableId,
    pub columns: Vec<ColumnSchema>,
    /// Positions of the primary key columns.
    pub primary_key: Vec<usize>,
    /// Whether the primary key is the hidden row id.
    pub hidden_key: bool,
    pub indexes: Vec<IndexSchema>,
    /// CHECK constraints: name and expression.
    pub checks: Vec<(String, Expr)>,
    /// A synthetic object id for pg_class.
    pub oid: u32,
}

impl TableSchema {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The visible columns, in order.
    pub fn visible(&self) -> impl Iterator<Item = (usize, &ColumnSchema)> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.hidden)
    }

    /// Pads a row stored before columns were added.
    pub fn pad_row(&self, mut row: Vec<Value>) -> Vec<Value> {
        while row.len() < self.columns.len() {
            row.push(self.columns[row.len()].pad.clone());
        }
        row
    }

    /// The next value of a column's sequence.
    pub fn next_serial(&self, column: usize) -> Option<i64> {
        self.columns[column].sequence.as_ref().map(|s| s.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// The constraint name PostgreSQL gives the primary key.
    pub fn pkey_name(&self) -> String {
        format!("{}_pkey", self.name)
    }
}

/// Every table, by name.
#[derive(Default)]
pub struct Schema {
    pub tables: HashMap<String, Arc<TableSchema>>,
    pub version: u64,
    pub next_oid: u32,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Arc<TableSchema>> {
        self.tables.get(name)
    }

    /// The table an index belongs to, by index name.
    pub fn index_owner(&self, index: &str) -> Option<&Arc<TableSchema>> {
        self.tables.values().find(|t| t.indexes.iter().any(|i| i.name == index))
    }

    pub fn allocate_oid(&mut self) -> u32 {
        self.next_oid += 1;
        16_384 + self.next_oid
    }
}
