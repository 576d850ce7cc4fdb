//! System views: the parts of `pg_catalog` and `information_schema` that drivers and ORMs read
//! (psql, psycopg, SQLAlchemy's `create_all` / `has_table` / inspector table listing), filled
//! from isola's own schema, and isola's introspection views:
//!
//! - `isola_stat_activity`: every session with its state, transaction, isolation level,
//!   snapshot and what it waits for (in the spirit of `pg_stat_activity` + `pg_locks`);
//! - `isola_serialization_failures`: the most recent serialization failures, explained;
//! - `isola_stat_wal`: the write-ahead log's counters (records, frames, fsyncs, bytes), one row
//!   (none in memory mode).
//!
//! Invariant: the views are computed when read; they are not transactional.

use crate::sql::types::SqlType;

/// A system view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemView {
    PgClass,
    PgNamespace,
    PgType,
    PgDatabase,
    PgSettings,
    PgStatActivity,
    InfoTables,
    InfoColumns,
    IsolaStatActivity,
    IsolaSerializationFailures,
    IsolaStatWal,
    IsolaLocks,
    /// The running session's SQL prepared statements.
    PgPreparedStatements,
    /// The running session's open cursors.
    PgCursors,
}

/// Object ids of the types isola has (PostgreSQL's own).
pub const TYPE_OIDS: &[(&str, i64)] = &[
    ("bool", 16),
    ("bytea", 17),
    ("name", 19),
    ("int8", 20),
    ("int2", 21),
    ("int4", 23),
    ("text", 25),
    ("oid", 26),
    ("json", 114),
    ("float4", 700),
    ("float8", 701),
    ("bpchar", 1042),
    ("varchar", 1043),
    ("date", 1082),
    ("timestamp", 1114),
    ("timestamptz", 1184),
    ("numeric", 1700),
    ("uuid", 2950),
    ("jsonb", 3802),
];

/// The array types isola has: name, object id, element type's object id (PostgreSQL's own).
pub const ARRAY_TYPE_OIDS: &[(&str, i64, i64)] = &[
    ("_bool", 1000, 16),
    ("_bytea", 1001, 17),
    ("_name", 1003, 19),
    ("_int2", 1005, 21),
    ("_int4", 1007, 23),
    ("_text", 1009, 25),
    ("_bpchar", 1014, 1042),
    ("_varchar", 1015, 1043),
    ("_int8", 1016, 20),
    ("_float4", 1021, 700),
    ("_float8", 1022, 701),
    ("_oid", 1028, 26),
    ("_timestamp", 1115, 1114),
    ("_date", 1182, 1082),
    ("_timestamptz", 1185, 1184),
    ("_numeric", 1231, 1700),
    ("_json", 199, 114),
    ("_uuid", 2951, 2950),
    ("_jsonb", 3807, 3802),
];

/// The array type over the type with object id `elem` (0 if none).
pub fn array_type_oid(elem: i64) -> i64 {
    ARRAY_TYPE_OIDS.iter().find(|(_, _, e)| *e == elem).map_or(0, |(_, oid, _)| *oid)
}

/// `format_type`'s answer for an oid.
pub fn type_name_of_oid(oid: i64) -> String {
    TYPE_OIDS
        .iter()
        .find(|(_, o)| *o == oid)
        .map(|(n, _)| n.to_string())
        .or_else(|| {
            let (_, _, elem) = ARRAY_TYPE_OIDS.iter().find(|(_, o, _)| *o == oid)?;
            Some(format!("{}[]", type_name_of_oid(*elem)))
        })
        .unwrap_or_else(|| "???".into())
}

impl SystemView {
    /// The view for a (schema, name), if it is one.
    pub fn lookup(schema: Option<&str>, name: &str) -> Option<SystemView> {
        let view = match (schema, name) {
            (None | Some("pg_catalog"), "pg_class") => SystemView::PgClass,
            (None | Some("pg_catalog"), "pg_namespace") => SystemView::PgNamespace,
            (None | Some("pg_catalog"), "pg_type") => SystemView::PgType,
            (None | Some("pg_catalog"), "pg_database") => SystemView::PgDatabase,
            (None | Some("pg_catalog"), "pg_settings") => SystemView::PgSettings,
            (None | Some("pg_catalog"), "pg_stat_activity") => SystemView::PgStatActivity,
            (None | Some("pg_catalog"), "pg_prepared_statements") => {
                SystemView::PgPreparedStatements
            }
            (None | Some("pg_catalog"), "pg_cursors") => SystemView::PgCursors,
            (Some("information_schema"), "tables") => SystemView::InfoTables,
            (Some("information_schema"), "columns") => SystemView::InfoColumns,
            (None | Some("public") | Some("isola"), "isola_stat_activity") => {
                SystemView::IsolaStatActivity
            }
            (None | Some("public") | Some("isola"), "isola_serialization_failures") => {
                SystemView::IsolaSerializationFailures
            }
            (None | Some("public") | Some("isola"), "isola_stat_wal") => SystemView::IsolaStatWal,
            (None | Some("public") | Some("isola"), "isola_locks") => SystemView::IsolaLocks,
            _ => return None,
        };
        Some(view)
    }

    /// Column names and types.
    pub fn columns(self) -> Vec<(&'static str, SqlType)> {
        use SqlType::*;
        match self {
            SystemView::PgClass => vec![
                ("oid", Int4),
                ("relname", Text),
                ("relnamespace", Int4),
                ("relkind", Text),
                ("relowner", Int4),
                ("reltuples", Float4),
                ("relpersistence", Text),
                ("relispartition", Bool),
            ],
            SystemView::PgNamespace => vec![("oid", Int4), ("nspname", Text), ("nspowner", Int4)],
            SystemView::PgType => vec![
                ("oid", Int4),
                ("typname", Text),
                ("typnamespace", Int4),
                ("typtype", Text),
                ("typarray", Int4),
                ("typdelim", Text),
                ("typelem", Int4),
                ("typbasetype", Int4),
            ],
            SystemView::PgDatabase => vec![
                ("oid", Int4),
                ("datname", Text),
                ("encoding", Int4),
                ("datdba", Int4),
                ("datcollate", Text),
                ("datctype", Text),
                ("daticulocale", Text),
                ("datlocprovider", Text),
                ("datacl", SqlType::Array(&SqlType::Text)),
            ],
            SystemView::PgSettings => vec![("name", Text), ("setting", Text)],
            SystemView::PgStatActivity => vec![
                ("pid", Int4),
                ("usename", Text),
                ("datname", Text),
                ("application_name", Text),
                ("state", Text),
                ("query", Text),
                ("backend_xid", Int8),
            ],
            SystemView::InfoTables => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("table_type", Text),
            ],
            SystemView::InfoColumns => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("column_name", Text),
                ("ordinal_position", Int4),
                ("column_default", Text),
                ("is_nullable", Text),
                ("data_type", Text),
            ],
            SystemView::IsolaStatActivity => vec![
                ("pid", Int4),
                ("usename", Text),
                ("state", Text),
                ("txn_id", Int8),
                ("isolation_level", Text),
                ("read_only", Bool),
                ("waiting", Bool),
                ("query", Text),
                ("snapshot", Int8),
                ("waiting_for", Text),
            ],
            SystemView::IsolaLocks => vec![
                ("pid", Int4),
                ("txn_id", Int8),
                ("row", Text),
                ("mode", Text),
                ("granted", Bool),
            ],
            SystemView::PgPreparedStatements => vec![
                ("name", Text),
                ("statement", Text),
                ("prepare_time", Timestamptz),
                ("parameter_types", Text),
                ("from_sql", Bool),
                ("generic_plans", Int8),
                ("custom_plans", Int8),
            ],
            SystemView::PgCursors => vec![
                ("name", Text),
                ("statement", Text),
                ("is_holdable", Bool),
                ("is_binary", Bool),
                ("is_scrollable", Bool),
                ("creation_time", Timestamptz),
            ],
            SystemView::IsolaSerializationFailures => vec![("seq", Int4), ("explanation", Text)],
            SystemView::IsolaStatWal => {
                vec![("records", Int8), ("frames", Int8), ("syncs", Int8), ("bytes", Int8)]
            }
        }
    }
}

/// The version isola reports as `server_version` (PostgreSQL-shaped, so drivers parse it).
pub const SERVER_VERSION: &str = "15.0";

/// What `SELECT version()` answers.
pub fn server_version_string() -> String {
    format!(
        "PostgreSQL 15.0 (isola {}) on {}-linux, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}
