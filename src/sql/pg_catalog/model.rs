//! The catalog's objects as PostgreSQL numbers and names them, derived from the schema: the
//! object ids of each table's indexes, constraints, column defaults and sequences, attribute
//! numbers, and the lookups from an object id or a relation name back to the object.
//!
//! Object ids: a table has its schema's `oid` (16385 and up); the objects that belong to it
//! take `oid * 1000 + slot`, with slots 1..299 for its indexes (its primary key's first, then
//! `TableSchema::indexes` in order), 300..599 for its constraints (CHECKs, primary key, unique
//! constraints, foreign keys) and 600..999 for column defaults (by attnum); sequences have
//! their own oids (`SequenceSchema::oid`). Invariant: the ids are a function of the schema alone, so every
//! view and function computed from one schema agrees on them (they move when an object before
//! them in its list is dropped).

use std::sync::Arc;

use sqlparser::ast::Expr;

use crate::sql::schema::{ForeignKey, IndexConstraint, Schema, SequenceSchema, TableSchema};
use crate::sql::system::CATALOG_OIDS;
use crate::sql::types::{SqlType, enums};

/// `pg_catalog`'s namespace oid.
pub const PG_CATALOG_NS: i64 = 11;
/// `pg_toast`'s namespace oid.
pub const PG_TOAST_NS: i64 = 99;
/// `public`'s namespace oid.
pub const PUBLIC_NS: i64 = 2200;
/// `information_schema`'s namespace oid.
pub const INFORMATION_SCHEMA_NS: i64 = 13_000;
/// The one role (the bootstrap superuser's oid).
pub const OWNER: i64 = 10;
/// `pg_database_owner`, the role standing for the database's owner (owns `public`).
pub const DATABASE_OWNER: i64 = 6171;
/// `pg_class`'s own oid (`pg_description.classoid` of a table or column comment).
pub const PG_CLASS_OID: i64 = 1259;
/// Access methods.
pub const HEAP_AM: i64 = 2;
pub const BTREE_AM: i64 = 403;
/// The default collation's oid.
pub const DEFAULT_COLLATION: i64 = 100;
/// `pg_default` tablespace.
pub const DEFAULT_TABLESPACE: i64 = 1663;

const INDEX_SLOTS: i64 = 1;
const CONSTRAINT_SLOTS: i64 = 300;
const DEFAULT_SLOTS: i64 = 600;
const SLOTS: i64 = 1000;

/// An index as `pg_class` / `pg_index` show it.
#[derive(Clone, Debug)]
pub struct IndexEntry {
    pub oid: i64,
    pub name: String,
    /// Positions of its columns in the table.
    pub columns: Vec<usize>,
    pub unique: bool,
    pub primary: bool,
    /// Per column, the declared sort order as `indoption` bits (empty: all ascending).
    pub options: Vec<i16>,
    /// The constraint it backs (and is named after).
    pub constraint: Option<IndexConstraint>,
}

impl IndexEntry {
    /// Column `k`'s `indoption` bits (1: DESC, 2: NULLS FIRST).
    pub fn option(&self, k: usize) -> i16 {
        self.options.get(k).copied().unwrap_or(0)
    }
}

/// What a constraint is.
#[derive(Clone, Debug)]
pub enum ConstraintKind {
    /// A primary key or unique constraint, backed by the index.
    Key(IndexEntry),
    Check(Box<Expr>),
    Foreign(ForeignKey),
}

/// A constraint as `pg_constraint` shows it.
#[derive(Clone, Debug)]
pub struct ConstraintEntry {
    pub oid: i64,
    pub name: String,
    pub kind: ConstraintKind,
}

impl ConstraintEntry {
    /// `contype`.
    pub fn contype(&self) -> &'static str {
        match &self.kind {
            ConstraintKind::Key(i) if i.primary => "p",
            ConstraintKind::Key(_) => "u",
            ConstraintKind::Check(_) => "c",
            ConstraintKind::Foreign(_) => "f",
        }
    }
}

/// A table's indexes, its primary key's first (when it has a declared one).
pub fn indexes(t: &TableSchema) -> Vec<IndexEntry> {
    let base = t.oid as i64 * SLOTS + INDEX_SLOTS;
    let mut out = Vec::new();
    let pk_index = t.indexes.iter().any(|i| i.constraint == Some(IndexConstraint::PrimaryKey));
    if !t.hidden_key && !pk_index {
        out.push(IndexEntry {
            oid: base,
            name: t.pkey_name(),
            columns: t.primary_key.clone(),
            unique: true,
            primary: true,
            options: Vec::new(),
            constraint: Some(IndexConstraint::PrimaryKey),
        });
    }
    for (i, index) in t.indexes.iter().enumerate() {
        let primary = index.constraint == Some(IndexConstraint::PrimaryKey);
        let entry = IndexEntry {
            oid: base + 1 + i as i64,
            name: index.name.clone(),
            columns: index.columns.clone(),
            unique: index.unique,
            primary,
            options: index.options.clone(),
            constraint: index.constraint,
        };
        if primary {
            out.insert(0, entry);
        } else {
            out.push(entry);
        }
    }
    out
}

/// A table's constraints in the order PostgreSQL's CREATE TABLE makes them: CHECKs, primary
/// key and unique constraints, foreign keys.
pub fn constraints(t: &TableSchema) -> Vec<ConstraintEntry> {
    let mut kinds: Vec<(String, ConstraintKind)> = Vec::new();
    for (name, e) in &t.checks {
        kinds.push((name.clone(), ConstraintKind::Check(Box::new(e.clone()))));
    }
    for index in indexes(t) {
        if index.constraint.is_some() {
            kinds.push((index.name.clone(), ConstraintKind::Key(index)));
        }
    }
    for fk in &t.foreign_keys {
        kinds.push((fk.name.clone(), ConstraintKind::Foreign(fk.clone())));
    }
    let base = t.oid as i64 * SLOTS + CONSTRAINT_SLOTS;
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (name, kind))| ConstraintEntry { oid: base + i as i64, name, kind })
        .collect()
}

/// A column's attribute number (1-based, the hidden row id skipped), `None` for the hidden
/// row id itself.
pub fn attnum(t: &TableSchema, position: usize) -> Option<i64> {
    if t.columns.get(position)?.hidden {
        return None;
    }
    Some(t.columns[..position].iter().filter(|c| !c.hidden).count() as i64 + 1)
}

/// The column at an attribute number.
pub fn column_at(t: &TableSchema, attnum: i64) -> Option<usize> {
    (0..t.columns.len()).find(|&p| self::attnum(t, p) == Some(attnum))
}

/// The oid of a column default (`pg_attrdef`).
pub fn attrdef_oid(t: &TableSchema, attnum: i64) -> i64 {
    t.oid as i64 * SLOTS + DEFAULT_SLOTS + attnum
}

/// The sequences a table's columns own (serial and identity columns, OWNED BY): position,
/// attnum, the sequence's name and oid.
pub fn sequences(schema: &Schema, t: &TableSchema) -> Vec<(usize, i64, String, i64)> {
    let mut out: Vec<(usize, i64, String, i64)> = schema
        .sequences
        .values()
        .filter_map(|s| {
            let (table, position) = s.owned_by?;
            if table != t.id || t.columns.get(position).is_none_or(|c| c.dropped) {
                return None;
            }
            Some((position, attnum(t, position)?, s.name.clone(), s.oid as i64))
        })
        .collect();
    out.sort();
    out
}

/// Every sequence, by name.
pub fn all_sequences(schema: &Schema) -> Vec<&Arc<SequenceSchema>> {
    let mut all: Vec<&Arc<SequenceSchema>> = schema.sequences.values().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// The tables, by name.
pub fn tables(schema: &Schema) -> Vec<&Arc<TableSchema>> {
    let mut tables: Vec<&Arc<TableSchema>> = schema.tables.values().collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    tables
}

/// An object found by oid.
pub enum Object<'a> {
    Table(&'a TableSchema),
    Index(&'a TableSchema, IndexEntry),
    Constraint(&'a TableSchema, ConstraintEntry),
    Sequence(String),
    /// A column default (`pg_attrdef`).
    Attrdef,
    Catalog(&'static str),
}

/// The object with this oid.
pub fn object(schema: &Schema, oid: i64) -> Option<Object<'_>> {
    if let Some((name, _)) = CATALOG_OIDS.iter().find(|(_, o)| *o == oid) {
        return Some(Object::Catalog(name));
    }
    if let Some(t) = schema.tables.values().find(|t| t.oid as i64 == oid) {
        return Some(Object::Table(t));
    }
    if let Some(s) = schema.sequences.values().find(|s| s.oid as i64 == oid) {
        return Some(Object::Sequence(s.name.clone()));
    }
    let t = schema.tables.values().find(|t| t.oid as i64 == oid / SLOTS)?;
    let slot = oid % SLOTS;
    match slot {
        s if s < CONSTRAINT_SLOTS => {
            indexes(t).into_iter().find(|i| i.oid == oid).map(|i| Object::Index(t, i))
        }
        s if s < DEFAULT_SLOTS => {
            constraints(t).into_iter().find(|c| c.oid == oid).map(|c| Object::Constraint(t, c))
        }
        s => column_at(t, s - DEFAULT_SLOTS).map(|_| Object::Attrdef),
    }
}

/// The name of a relation (table, index, sequence, catalog) by oid.
pub fn relation_name(schema: &Schema, oid: i64) -> Option<String> {
    if let Some(v) = schema.views.values().find(|v| v.oid as i64 == oid) {
        return Some(v.name.clone());
    }
    match object(schema, oid)? {
        Object::Table(t) => Some(t.name.clone()),
        Object::Index(_, i) => Some(i.name.clone()),
        Object::Sequence(name) => Some(name),
        Object::Catalog(name) => Some(name.to_string()),
        Object::Constraint(..) | Object::Attrdef => None,
    }
}

/// The oid of a relation by its (possibly schema-qualified, possibly quoted) name.
pub fn relation_oid(schema: &Schema, name: &str) -> Option<i64> {
    let (namespace, name) = split_qualified(name)?;
    if namespace.as_deref().is_none_or(|n| n == "pg_catalog")
        && let Some((_, oid)) = CATALOG_OIDS.iter().find(|(n, _)| *n == name)
    {
        return Some(*oid);
    }
    if namespace.as_deref().is_some_and(|n| n != "public") {
        return None;
    }
    for t in schema.tables.values() {
        if t.name == name {
            return Some(t.oid as i64);
        }
        if let Some(i) = indexes(t).into_iter().find(|i| i.name == name) {
            return Some(i.oid);
        }
    }
    if let Some(v) = schema.views.get(&name) {
        return Some(v.oid as i64);
    }
    schema.sequences.get(&name).map(|s| s.oid as i64)
}

/// Splits `[schema.]name` (see `schema::split_qualified_name`); `None` for
/// what is not such a name.
fn split_qualified(text: &str) -> Option<(Option<String>, String)> {
    let mut parts = crate::sql::schema::split_qualified_name(text)?;
    let name = parts.pop()?;
    match parts.len() {
        0 | 1 => Some((parts.pop(), name)),
        _ => None,
    }
}

/// One type as `pg_type` shows it.
pub struct TypeInfo {
    pub oid: i64,
    pub name: &'static str,
    pub len: i64,
    pub category: &'static str,
    pub array: i64,
    pub collatable: bool,
}

const fn ty(
    oid: i64,
    name: &'static str,
    len: i64,
    category: &'static str,
    array: i64,
    collatable: bool,
) -> TypeInfo {
    TypeInfo { oid, name, len, category, array, collatable }
}

/// The base types (PostgreSQL's oids, lengths, categories and array types).
pub const TYPES: &[TypeInfo] = &[
    ty(16, "bool", 1, "B", 1000, false),
    ty(17, "bytea", -1, "U", 1001, false),
    ty(18, "char", 1, "Z", 1002, false),
    ty(19, "name", 64, "S", 1003, true),
    ty(20, "int8", 8, "N", 1016, false),
    ty(21, "int2", 2, "N", 1005, false),
    ty(22, "int2vector", -1, "A", 1006, false),
    ty(23, "int4", 4, "N", 1007, false),
    ty(24, "regproc", 4, "N", 1008, false),
    ty(25, "text", -1, "S", 1009, true),
    ty(26, "oid", 4, "N", 1028, false),
    ty(30, "oidvector", -1, "A", 1013, false),
    ty(114, "json", -1, "U", 199, false),
    ty(700, "float4", 4, "N", 1021, false),
    ty(701, "float8", 8, "N", 1022, false),
    ty(1042, "bpchar", -1, "S", 1014, true),
    ty(1043, "varchar", -1, "S", 1015, true),
    ty(1082, "date", 4, "D", 1182, false),
    ty(1083, "time", 8, "D", 1183, false),
    ty(1114, "timestamp", 8, "D", 1115, false),
    ty(1184, "timestamptz", 8, "D", 1185, false),
    ty(1186, "interval", 16, "T", 1187, false),
    ty(1700, "numeric", -1, "N", 1231, false),
    ty(2205, "regclass", 4, "N", 2210, false),
    ty(2206, "regtype", 4, "N", 2211, false),
    ty(2950, "uuid", 16, "U", 2951, false),
    ty(3802, "jsonb", -1, "U", 3807, false),
];

/// The default btree operator classes: (oid, name, input type oid, family oid).
pub const OPCLASSES: &[(i64, &str, i64, i64)] = &[
    (10003, "bool_ops", 16, 424),
    (10006, "bytea_ops", 17, 428),
    (1979, "int2_ops", 21, 1976),
    (1978, "int4_ops", 23, 1976),
    (3124, "int8_ops", 20, 1976),
    (10012, "float4_ops", 700, 1970),
    (3123, "float8_ops", 701, 1970),
    (3126, "text_ops", 25, 1994),
    (10004, "bpchar_ops", 1042, 426),
    (3122, "date_ops", 1082, 434),
    (10038, "time_ops", 1083, 1996),
    (3128, "timestamp_ops", 1114, 434),
    (3127, "timestamptz_ops", 1184, 434),
    (1982, "interval_ops", 1186, 1982),
    (3125, "numeric_ops", 1700, 1988),
    (10065, "uuid_ops", 2950, 2968),
    (10088, "jsonb_ops", 3802, 4033),
];

/// The default btree operator class of a column type (`varchar` uses `text_ops`).
pub fn opclass_of(t: SqlType) -> i64 {
    let (oid, _) = type_of(t);
    let oid = if oid == 1043 { 25 } else { oid };
    OPCLASSES.iter().find(|(_, _, ty, _)| *ty == oid).map_or(0, |(o, ..)| *o)
}

/// A type by oid: a base type, or an array of one (`None` for an unknown oid).
pub fn type_by_oid(oid: i64) -> Option<(&'static TypeInfo, bool)> {
    TYPES
        .iter()
        .find(|t| t.oid == oid)
        .map(|t| (t, false))
        .or_else(|| TYPES.iter().find(|t| t.array == oid).map(|t| (t, true)))
}

/// A column type's `atttypid` and `atttypmod`.
pub fn type_of(t: SqlType) -> (i64, i64) {
    match t {
        SqlType::Bool => (16, -1),
        SqlType::Int2 => (21, -1),
        SqlType::Int4 => (23, -1),
        SqlType::Int8 => (20, -1),
        SqlType::Float4 => (700, -1),
        SqlType::Float8 => (701, -1),
        SqlType::Numeric(None) => (1700, -1),
        SqlType::Numeric(Some((p, s))) => (1700, (((p as i64) << 16) | s as i64) + 4),
        SqlType::Text | SqlType::Unknown => (25, -1),
        SqlType::Varchar(None) => (1043, -1),
        SqlType::Varchar(Some(n)) => (1043, n as i64 + 4),
        SqlType::Char(n) => (1042, n as i64 + 4),
        SqlType::Bytea => (17, -1),
        SqlType::Date => (1082, -1),
        SqlType::Timestamp => (1114, -1),
        SqlType::Timestamptz => (1184, -1),
        SqlType::Interval => (1186, -1),
        SqlType::Time(p) => (1083, p.map_or(-1, i64::from)),
        SqlType::Uuid => (2950, -1),
        SqlType::Json => (114, -1),
        SqlType::Jsonb => (3802, -1),
        SqlType::Oid => (26, -1),
        SqlType::Enum(e) => (e.oid as i64, -1),
        SqlType::Array(SqlType::Enum(e)) => (e.array_oid as i64, -1),
        SqlType::Array(elem) => {
            let (oid, typmod) = type_of(*elem);
            (TYPES.iter().find(|t| t.oid == oid).map_or(0, |t| t.array), typmod)
        }
    }
}

/// `format_type(oid, typmod)`, as PostgreSQL spells it.
pub fn format_type(oid: i64, typmod: Option<i64>) -> Option<String> {
    if let Some((e, array)) = u32::try_from(oid).ok().and_then(enums::by_oid) {
        let name = enums::quoted_name(&e.name);
        return Some(if array { format!("{name}[]") } else { name });
    }
    let Some((t, array)) = type_by_oid(oid) else { return Some("???".into()) };
    let m = typmod.filter(|m| *m >= 0);
    let base = match t.oid {
        16 => "boolean".to_string(),
        18 => "\"char\"".to_string(),
        20 => "bigint".to_string(),
        21 => "smallint".to_string(),
        23 => "integer".to_string(),
        700 => "real".to_string(),
        701 => "double precision".to_string(),
        1042 => match m {
            Some(m) => format!("character({})", m - 4),
            None if typmod.is_some() && !array => "bpchar".to_string(),
            None => "character".to_string(),
        },
        1043 => match m {
            Some(m) => format!("character varying({})", m - 4),
            None => "character varying".to_string(),
        },
        1083 => match m {
            Some(p) => format!("time({p}) without time zone"),
            None => "time without time zone".to_string(),
        },
        1114 => "timestamp without time zone".to_string(),
        1184 => "timestamp with time zone".to_string(),
        1700 => match m {
            Some(m) => format!("numeric({},{})", (m - 4) >> 16, (m - 4) & 0xffff),
            None => "numeric".to_string(),
        },
        _ => t.name.to_string(),
    };
    Some(if array { format!("{base}[]") } else { base })
}
