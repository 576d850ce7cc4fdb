//! The SQL-level description of tables, kept beside the core catalog: column types, NOT NULL,
//! defaults, serial sequences, CHECK constraints, unique constraints and the hidden row id of
//! tables without a primary key.
//!
//! Invariants: a `TableSchema`'s columns are the core table's columns in the same order
//! (hidden and dropped ones included: a dropped column keeps its slot, as in PostgreSQL, and
//! reads as NULL); `version` is new on every DDL so prepared plans can tell they are stale.
//! A foreign key names its referenced table by id, so a rename leaves it valid; the referenced
//! columns are the primary key or the columns of a unique index of that table.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use sqlparser::ast::Expr;

use crate::catalog::{IndexId, TableId};
use crate::sql::error::SqlError;
use crate::sql::types::enums::EnumType;
use crate::sql::types::{SqlType, array_of};
use crate::types::Value;

/// The name of the hidden primary key column of tables declared without one.
pub const ROW_ID: &str = "ctid";

/// An identity column's kind (`GENERATED ALWAYS` or `BY DEFAULT AS IDENTITY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    Always,
    ByDefault,
}

/// One column.
#[derive(Clone, Debug)]
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
    /// Dropped (ALTER TABLE ... DROP COLUMN): the slot stays, nothing shows it.
    pub dropped: bool,
    /// An identity column (its values come from `sequence`).
    pub identity: Option<Identity>,
    /// COMMENT ON COLUMN (`col_description`, `pg_description`).
    pub comment: Option<String>,
}

/// What a foreign key does to referencing rows when the referenced row goes or its key changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FkAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl FkAction {
    /// The SQL words (`ON DELETE <words>`).
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }

    /// `pg_constraint.confdeltype` / `confupdtype`.
    pub fn code(self) -> char {
        match self {
            FkAction::NoAction => 'a',
            FkAction::Restrict => 'r',
            FkAction::Cascade => 'c',
            FkAction::SetNull => 'n',
            FkAction::SetDefault => 'd',
        }
    }
}

/// A FOREIGN KEY constraint of the table that holds it (the referencing table).
#[derive(Clone, Debug)]
pub struct ForeignKey {
    pub name: String,
    /// Positions of the referencing columns in this table.
    pub columns: Vec<usize>,
    /// The referenced table.
    pub parent: TableId,
    /// Positions of the referenced columns in the referenced table.
    pub parent_columns: Vec<usize>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    pub deferrable: bool,
    pub initially_deferred: bool,
}

/// The constraint a unique index implements, if any (pg_constraint shows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexConstraint {
    PrimaryKey,
    Unique,
}

/// A secondary index as the SQL layer sees it.
#[derive(Clone, Debug)]
pub struct IndexSchema {
    pub name: String,
    pub id: IndexId,
    pub columns: Vec<usize>,
    pub unique: bool,
    /// Per column, the sort order declared for it as PostgreSQL's `indoption` bits (1: DESC,
    /// 2: NULLS FIRST); empty when every column is ascending. Catalog metadata only (what
    /// `pg_index.indoption` and `pg_get_indexdef` show, so a dump keeps it): the index is
    /// stored ascending whatever it says, and the planner reads it so.
    pub options: Vec<i16>,
    /// Set when the index backs a PRIMARY KEY or UNIQUE constraint of the same name (and not
    /// when it was made by CREATE UNIQUE INDEX).
    pub constraint: Option<IndexConstraint>,
}

/// A table.
#[derive(Clone, Debug)]
pub struct TableSchema {
    pub name: String,
    pub id: TableId,
    pub columns: Vec<ColumnSchema>,
    /// Positions of the primary key columns.
    pub primary_key: Vec<usize>,
    /// Whether the primary key is the hidden row id.
    pub hidden_key: bool,
    pub indexes: Vec<IndexSchema>,
    /// The name of the primary key constraint (when the key is not the hidden row id).
    pub primary_key_name: String,
    /// CHECK constraints: name and expression.
    pub checks: Vec<(String, Expr)>,
    /// FOREIGN KEY constraints this table's rows must satisfy.
    pub foreign_keys: Vec<ForeignKey>,
    /// A synthetic object id for pg_class.
    pub oid: u32,
    /// COMMENT ON TABLE (`obj_description`, `pg_description`).
    pub comment: Option<String>,
}

impl TableSchema {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The visible columns, in order (neither hidden nor dropped).
    pub fn visible(&self) -> impl Iterator<Item = (usize, &ColumnSchema)> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.hidden && !c.dropped)
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

    /// The name of the primary key constraint.
    pub fn pkey_name(&self) -> String {
        match self.indexes.iter().find(|i| i.constraint == Some(IndexConstraint::PrimaryKey)) {
            Some(index) => index.name.clone(),
            None if self.primary_key_name.is_empty() => format!("{}_pkey", self.name),
            None => self.primary_key_name.clone(),
        }
    }
}

/// A schema version no schema had before (versions are process-wide, so a transaction's
/// working copy and the shared schema never share one by accident).
pub fn next_schema_version() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A new object id for pg_class (process-wide).
pub fn allocate_oid() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(16_385);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Every table and sequence, by name (one namespace, as pg_class is).
#[derive(Clone, Default)]
pub struct Schema {
    pub tables: HashMap<String, Arc<TableSchema>>,
    pub sequences: HashMap<String, Arc<SequenceSchema>>,
    /// Views, by name (`ddl/view.rs`).
    pub views: HashMap<String, Arc<ViewSchema>>,
    /// Enum types, by name (`ddl/enum_type.rs`): the version now in force of each.
    pub types: HashMap<String, &'static EnumType>,
    pub version: u64,
}

/// A view: its query's text (bound again wherever the view is read) and what it answers.
#[derive(Clone, Debug)]
pub struct ViewSchema {
    pub name: String,
    pub oid: u32,
    /// The SELECT, as sqlparser prints it (parsed again when read).
    pub definition: String,
    /// Output columns, renamed by the view's column list.
    pub columns: Vec<(String, crate::sql::types::SqlType)>,
    /// The tables and views it reads (DROP of one of them needs CASCADE).
    pub tables: Vec<TableId>,
    pub views: Vec<String>,
}

impl Schema {
    /// Parses a type name as written in DDL or a cast: a built-in type (`SqlType::parse`;
    /// first, as `pg_catalog` comes first in PostgreSQL's search path) or one of the schema's
    /// enum types (`mood`, `public.mood`, `"Mood"`, `mood[]`, `_mood`). Returns the type and
    /// whether it is a serial.
    pub fn parse_type(&self, name: &str) -> Result<(SqlType, bool), SqlError> {
        let builtin = SqlType::parse(name);
        if builtin.is_err()
            && let Some(ty) = self.enum_type(name)
        {
            return Ok((ty, false));
        }
        builtin
    }

    /// An enum type (or an array of one) by a type name as written.
    fn enum_type(&self, written: &str) -> Option<SqlType> {
        let trimmed = written.trim();
        if let Some(elem) = trimmed.strip_suffix("[]").or_else(|| {
            let i = trimmed.len().checked_sub(6)?;
            (trimmed.is_char_boundary(i) && trimmed[i..].eq_ignore_ascii_case(" array"))
                .then(|| &trimmed[..i])
        }) {
            let elem = elem.trim_end();
            let elem = elem.find('[').map_or(elem, |i| &elem[..i]);
            return self.enum_type(elem).map(array_of);
        }
        let name = type_identifier(trimmed)?;
        if let Some(t) = self.types.get(&name) {
            return Some(SqlType::Enum(t));
        }
        let elem = name.strip_prefix('_')?;
        self.types.get(elem).map(|t| array_of(SqlType::Enum(t)))
    }

    pub fn table(&self, name: &str) -> Option<&Arc<TableSchema>> {
        self.tables.get(name)
    }

    /// A sequence by name.
    pub fn sequence(&self, name: &str) -> Option<&Arc<SequenceSchema>> {
        self.sequences.get(name)
    }

    /// The sequence a table's column draws from (serial, identity, OWNED BY).
    pub fn owned_sequence(&self, table: TableId, column: usize) -> Option<&Arc<SequenceSchema>> {
        self.sequences.values().find(|s| s.owned_by == Some((table, column)))
    }

    /// A table by its id.
    pub fn table_by_id(&self, id: TableId) -> Option<&Arc<TableSchema>> {
        self.tables.values().find(|t| t.id == id)
    }

    /// The foreign keys that reference table `parent`, with the tables that hold them.
    pub fn referencing(&self, parent: TableId) -> Vec<(Arc<TableSchema>, ForeignKey)> {
        let mut out = Vec::new();
        for t in self.tables.values() {
            for fk in t.foreign_keys.iter().filter(|fk| fk.parent == parent) {
                out.push((t.clone(), fk.clone()));
            }
        }
        out.sort_by(|a, b| (&a.0.name, &a.1.name).cmp(&(&b.0.name, &b.1.name)));
        out
    }

    /// The table an index belongs to, by index name.
    pub fn index_owner(&self, index: &str) -> Option<&Arc<TableSchema>> {
        self.tables.values().find(|t| t.indexes.iter().any(|i| i.name == index))
    }
}

/// A type name as the catalog keeps it: unquoted parts lower-cased, quoted ones as written,
/// the schema (`public.`, `pg_catalog.`) dropped. `None` for what cannot be a plain name.
pub fn type_identifier(written: &str) -> Option<String> {
    let mut parts = split_qualified_name(written)?;
    let name = parts.pop()?;
    match parts.as_slice() {
        [] => Some(name),
        [schema] if schema == "public" || schema == "pg_catalog" => Some(name),
        _ => None,
    }
}

/// A possibly qualified name split as PostgreSQL reads one (`schema.name`, `'t'::regclass`):
/// each part quoted (kept as written, `""` standing for a quote) or folded to ASCII lower
/// case. `None` for an empty part, an unclosed quote, or a space, `(` or `[` outside quotes.
pub fn split_qualified_name(written: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = written.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if !quoted && (c.is_whitespace() || c == '(' || c == '[') => return None,
            c if quoted => current.push(c),
            c => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    match quoted || parts.iter().any(|p| p.is_empty()) {
        true => None,
        false => Some(parts),
    }
}

/// A sequence (CREATE SEQUENCE, or the one a serial or identity column draws from).
///
/// Invariants: `last` is the value handed out last (`start - increment` before the first);
/// values are never handed out twice, across rollbacks (not transactional, as in PostgreSQL)
/// and crashes: before a value beyond `logged` is handed out, a high-water mark some values
/// ahead is set in `logged` and then written to the log (see `Engine::next_value`).
#[derive(Clone, Debug)]
pub struct SequenceSchema {
    pub name: String,
    pub oid: u32,
    /// `smallint`, `integer` or `bigint` (AS type; bounds the default MAXVALUE).
    pub ty: SqlType,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// OWNED BY: the table (by id) and column (by position) it goes with.
    pub owned_by: Option<(TableId, usize)>,
    /// The value handed out last (shared with the owning serial column's `sequence`).
    pub last: Arc<AtomicI64>,
    /// Whether `last` was handed out (false after creation and `setval(.., false)`).
    pub called: Arc<std::sync::atomic::AtomicBool>,
    /// The high-water mark written to the log: values below it may have been handed out.
    pub logged: Arc<AtomicI64>,
}

impl SequenceSchema {
    /// A sequence with PostgreSQL's defaults for its type.
    pub fn new(name: &str, ty: SqlType) -> SequenceSchema {
        let max = match ty {
            SqlType::Int2 => i16::MAX as i64,
            SqlType::Int4 => i32::MAX as i64,
            _ => i64::MAX,
        };
        SequenceSchema {
            name: name.to_string(),
            oid: allocate_oid(),
            ty,
            start: 1,
            increment: 1,
            min: 1,
            max,
            cache: 1,
            cycle: false,
            owned_by: None,
            last: Arc::new(AtomicI64::new(0)),
            called: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            logged: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// Sets where the sequence stands: the next value handed out is `next`.
    pub fn restart(&self, next: i64) {
        self.last.store(next - self.increment, Ordering::SeqCst);
        self.called.store(false, Ordering::SeqCst);
        // The logged mark may be above the new position: the next value writes a new one
        // (replay applies marks and restarts in log order).
        self.logged.store(i64::MIN, Ordering::SeqCst);
    }

    /// The next value, or 2200H at a bound without CYCLE.
    pub fn advance(&self) -> Result<i64, crate::sql::error::SqlError> {
        let mut out = 0;
        let step = |last: i64| -> Option<i64> {
            let next = last.checked_add(self.increment).unwrap_or(i64::MAX);
            if next > self.max || next < self.min {
                if !self.cycle {
                    return None;
                }
                return Some(if self.increment > 0 { self.min } else { self.max });
            }
            Some(next)
        };
        let result = self.last.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            let next = step(last)?;
            out = next;
            Some(next)
        });
        self.called.store(true, Ordering::SeqCst);
        match result {
            Ok(_) => Ok(out),
            Err(_) => Err(crate::sql::error::SqlError::new(
                crate::error::SqlState::SequenceGeneratorLimitExceeded,
                format!(
                    "nextval: reached {} value of sequence \"{}\" ({})",
                    if self.increment > 0 { "maximum" } else { "minimum" },
                    self.name,
                    if self.increment > 0 { self.max } else { self.min }
                ),
            )),
        }
    }

    /// The value `last` would be if the next value were `next`: what a log mark restores.
    pub fn raise_to(&self, next: i64) {
        let floor = next - self.increment;
        if self.increment > 0 {
            self.last.fetch_max(floor, Ordering::SeqCst);
        } else {
            self.last.fetch_min(floor, Ordering::SeqCst);
        }
        self.called.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::{split_qualified_name, type_identifier};

    /// Names split and fold as PostgreSQL reads them: unquoted parts to ASCII lower case,
    /// quoted parts as written (`""` a quote); what is not a name is refused.
    #[test]
    fn qualified_names_split_as_postgresql_reads_them() {
        let parts = |s: &str| split_qualified_name(s).map(|p| p.join("|"));
        assert_eq!(parts(" Public.T "), Some("public|t".into()));
        assert_eq!(parts(r#""My T""#), Some("My T".into()));
        assert_eq!(parts(r#"a."b""c""#), Some(r#"a|b"c"#.into()));
        assert_eq!(parts(r#""a.b".c"#), Some("a.b|c".into()));
        assert_eq!(parts("Äb"), Some("Äb".into()), "only ASCII folds");
        assert_eq!(parts("x.y.z"), Some("x|y|z".into()));
        for bad in ["a..b", ".a", "a.", r#""a"#, "a b", "int[]", "numeric(5)", "", r#""""#] {
            assert_eq!(parts(bad), None, "{bad:?}");
        }
        assert_eq!(type_identifier("pg_catalog.INT4").as_deref(), Some("int4"));
        assert_eq!(type_identifier(r#"public."Mood""#).as_deref(), Some("Mood"));
        assert_eq!(type_identifier("other.mood"), None);
    }
}
