//! The rows of the `pg_catalog` and `information_schema` views, from one schema.
//!
//! Each row is built by column name ([`RowOf`]) and laid out in the view's column order (from
//! `SystemView::spec`): a column not set reads as PostgreSQL's empty value for it (0, false,
//! `''` for a `"char"`, NULL for text, arrays and every `information_schema` column).

use crate::sql::pg_catalog::deparse::{self, quote_ident};
use crate::sql::pg_catalog::model::{
    self, BTREE_AM, ConstraintKind, DEFAULT_COLLATION, DEFAULT_TABLESPACE, HEAP_AM,
    INFORMATION_SCHEMA_NS, OWNER, PG_CATALOG_NS, PUBLIC_NS, TYPES,
};
use crate::sql::schema::{Identity, Schema, TableSchema};
use crate::sql::system::{SystemView, TABLEOID};
use crate::sql::types::SqlType;
use crate::types::{Row, Value};

/// Who is reading: the session (its own prepared statements and cursors), the role and
/// database the views show, and the session's settings.
pub struct Viewer<'a> {
    pub session: u32,
    pub user: &'a str,
    pub database: &'a str,
    pub settings: &'a [(String, String)],
    /// Every database of the server (`pg_database`).
    pub databases: Vec<String>,
    /// A replica that is not the leader (`pg_is_in_recovery()`).
    pub in_recovery: bool,
}

impl Viewer<'_> {
    /// The schemas of the session's search_path that exist, in its order (`"$user"` names
    /// none: there is no schema named after a role).
    pub fn search_path(&self) -> Vec<&'static str> {
        let path = self.settings.iter().find(|(n, _)| n == "search_path").map(|(_, v)| v.as_str());
        path.unwrap_or("public")
            .split(',')
            .filter_map(|s| {
                let s = s.trim();
                let s = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s);
                ["public", "pg_catalog", "information_schema"].into_iter().find(|k| *k == s)
            })
            .collect()
    }

    /// Whether names of `public` relations print qualified (`public` is not on the search
    /// path, as under pg_dump's empty one), as PostgreSQL's `regclass` output does.
    pub fn qualifies(&self) -> bool {
        !self.search_path().contains(&"public")
    }
}

/// One row being built, by column name.
struct RowOf {
    view: SystemView,
    values: Vec<(&'static str, Value)>,
}

impl RowOf {
    fn new(view: SystemView) -> RowOf {
        RowOf { view, values: Vec::new() }
    }

    fn set(mut self, name: &'static str, v: impl Into<Cell>) -> RowOf {
        self.values.push((name, v.into().0));
        self
    }

    fn build(self) -> Row {
        let info = self.view.is_information_schema();
        let tableoid = self.view.catalog_oid().map(|oid| format!("{TABLEOID}:oid={oid}"));
        self.view
            .spec()
            .split_whitespace()
            .chain(tableoid.as_deref())
            .map(|word| {
                let (name, ty) = word.split_once(':').unwrap_or((word, "text"));
                if let Some(oid) = ty.strip_prefix("oid=") {
                    return Value::Int(oid.parse().unwrap_or(0));
                }
                match self.values.iter().rev().find(|(n, _)| *n == name) {
                    Some((_, v)) => v.clone(),
                    None if info => Value::Null,
                    None => match ty {
                        "oid" | "int2" | "int4" | "int8" => Value::Int(0),
                        "float4" => Value::Float(0.0),
                        "bool" => Value::Bool(false),
                        "char" => Value::Text(String::new()),
                        _ => Value::Null,
                    },
                }
            })
            .collect()
    }
}

/// A value for a row.
struct Cell(Value);

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell(Value::Int(v))
    }
}
impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell(Value::Bool(v))
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell(Value::Text(v.to_string()))
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell(Value::Text(v))
    }
}
impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        Cell(v.map_or(Value::Null, Value::Text))
    }
}
impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Cell {
        Cell(v.map_or(Value::Null, Value::Int))
    }
}
impl From<Option<Value>> for Cell {
    fn from(v: Option<Value>) -> Cell {
        Cell(v.unwrap_or(Value::Null))
    }
}
impl From<Value> for Cell {
    fn from(v: Value) -> Cell {
        Cell(v)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "YES" } else { "NO" }
}

/// An int2 (or oid) array.
fn int_array(items: &[i64]) -> Value {
    Value::Array(items.iter().map(|&i| Value::Int(i)).collect())
}

/// An int2vector / oidvector (an array printed `1 2`).
fn int_vector(items: &[i64]) -> Value {
    int_array(items)
}

fn attnums(t: &TableSchema, positions: &[usize]) -> Vec<i64> {
    positions.iter().map(|&p| model::attnum(t, p).unwrap_or(0)).collect()
}

/// The largest value of a sequence over a column of type `ty`.
pub fn sequence_max(ty: SqlType) -> i64 {
    match ty {
        SqlType::Int2 => i16::MAX as i64,
        SqlType::Int4 => i32::MAX as i64,
        _ => i64::MAX,
    }
}

/// The rows of a catalog view (`None` for the views of the engine's live state).
pub fn rows(schema: &Schema, view: SystemView, who: &Viewer) -> Option<Vec<Row>> {
    use SystemView as V;
    let tables = model::tables(schema);
    let r = || RowOf::new(view);
    let rows: Vec<Row> = match view {
        V::PgNamespace => [
            (PG_CATALOG_NS, "pg_catalog"),
            (model::PG_TOAST_NS, "pg_toast"),
            (PUBLIC_NS, "public"),
            (INFORMATION_SCHEMA_NS, "information_schema"),
        ]
        .into_iter()
        .map(|(oid, name)| {
            // PostgreSQL 15: `public` belongs to the database's owner, by the role that stands
            // for it
            let owner = if oid == PUBLIC_NS { model::DATABASE_OWNER } else { OWNER };
            r().set("oid", oid).set("nspname", name).set("nspowner", owner).build()
        })
        .collect(),
        V::PgClass => {
            let mut rows = Vec::new();
            for t in &tables {
                let indexes = model::indexes(t);
                rows.push(
                    r().set("oid", t.oid as i64)
                        .set("relname", t.name.as_str())
                        .set("relnamespace", PUBLIC_NS)
                        .set("relowner", OWNER)
                        .set("relam", HEAP_AM)
                        .set("relfilenode", t.oid as i64)
                        .set("reltuples", Value::Float(-1.0))
                        .set("relhasindex", !indexes.is_empty())
                        .set("relpersistence", "p")
                        .set("relkind", "r")
                        .set("relnatts", t.columns.iter().filter(|c| !c.hidden).count() as i64)
                        .set("relchecks", t.checks.len() as i64)
                        .set(
                            "relhastriggers",
                            !t.foreign_keys.is_empty() || !schema.referencing(t.id).is_empty(),
                        )
                        .set("relispopulated", true)
                        .set("relreplident", "d")
                        .build(),
                );
                for i in indexes {
                    rows.push(
                        r().set("oid", i.oid)
                            .set("relname", i.name)
                            .set("relnamespace", PUBLIC_NS)
                            .set("relowner", OWNER)
                            .set("relam", BTREE_AM)
                            .set("relfilenode", i.oid)
                            .set("relpersistence", "p")
                            .set("relkind", "i")
                            .set("relnatts", i.columns.len() as i64)
                            .set("relispopulated", true)
                            .set("relreplident", "n")
                            .build(),
                    );
                }
            }
            for v in views_by_name(schema) {
                rows.push(
                    r().set("oid", v.oid as i64)
                        .set("relname", v.name.as_str())
                        .set("relnamespace", PUBLIC_NS)
                        .set("relowner", OWNER)
                        .set("reltuples", Value::Float(-1.0))
                        .set("relpersistence", "p")
                        .set("relkind", "v")
                        .set("relnatts", v.columns.len() as i64)
                        .set("relispopulated", true)
                        .set("relreplident", "n")
                        .build(),
                );
            }
            for seq in model::all_sequences(schema) {
                rows.push(
                    r().set("oid", seq.oid as i64)
                        .set("relname", seq.name.as_str())
                        .set("relnamespace", PUBLIC_NS)
                        .set("relowner", OWNER)
                        .set("relfilenode", seq.oid as i64)
                        .set("relpersistence", "p")
                        .set("relkind", "S")
                        .set("relnatts", 3)
                        .set("relispopulated", true)
                        .set("relreplident", "n")
                        .build(),
                );
            }
            rows
        }
        V::PgAttribute => {
            let mut rows = Vec::new();
            for t in &tables {
                for (p, c) in t.columns.iter().enumerate() {
                    let Some(attnum) = model::attnum(t, p) else { continue };
                    let (typid, typmod) = model::type_of(c.ty);
                    let row = attribute(r(), t.oid as i64, attnum, &c.name, c.ty)
                        .set("atttypmod", typmod)
                        .set("attnotnull", c.not_null)
                        .set("atthasdef", deparse::column_default(schema, t, p, false).is_some())
                        .set(
                            "attidentity",
                            match c.identity {
                                Some(Identity::Always) => "a",
                                Some(Identity::ByDefault) => "d",
                                None => "",
                            },
                        );
                    let row = if c.dropped {
                        row.set("attname", format!("........pg.dropped.{attnum}........"))
                            .set("atttypid", 0)
                            .set("attstattarget", 0)
                            .set("attisdropped", true)
                            .set("attnotnull", false)
                            .set("atthasdef", false)
                    } else {
                        row.set("atttypid", typid)
                    };
                    rows.push(row.build());
                }
                for i in model::indexes(t) {
                    for (n, &p) in i.columns.iter().enumerate() {
                        let c = &t.columns[p];
                        let (typid, typmod) = model::type_of(c.ty);
                        rows.push(
                            attribute(r(), i.oid, n as i64 + 1, &c.name, c.ty)
                                .set("atttypid", typid)
                                .set("atttypmod", typmod)
                                .build(),
                        );
                    }
                }
            }
            for v in views_by_name(schema) {
                for (n, (name, ty)) in v.columns.iter().enumerate() {
                    let (typid, typmod) = model::type_of(*ty);
                    rows.push(
                        attribute(r(), v.oid as i64, n as i64 + 1, name, *ty)
                            .set("atttypid", typid)
                            .set("atttypmod", typmod)
                            .build(),
                    );
                }
            }
            rows
        }
        V::PgAttrdef => {
            let mut rows = Vec::new();
            for t in &tables {
                for p in 0..t.columns.len() {
                    let (Some(attnum), Some(text)) = (
                        model::attnum(t, p),
                        deparse::column_default(schema, t, p, who.qualifies()),
                    ) else {
                        continue;
                    };
                    if t.columns[p].dropped {
                        continue;
                    }
                    rows.push(
                        r().set("oid", model::attrdef_oid(t, attnum))
                            .set("adrelid", t.oid as i64)
                            .set("adnum", attnum)
                            .set("adbin", text)
                            .build(),
                    );
                }
            }
            rows
        }
        V::PgConstraint => {
            let mut rows = Vec::new();
            for t in &tables {
                for c in model::constraints(t) {
                    let mut row = r()
                        .set("oid", c.oid)
                        .set("conname", c.name.as_str())
                        .set("connamespace", PUBLIC_NS)
                        .set("contype", c.contype())
                        .set("convalidated", true)
                        .set("conrelid", t.oid as i64)
                        .set("conislocal", true)
                        .set("confupdtype", " ")
                        .set("confdeltype", " ")
                        .set("confmatchtype", " ");
                    match &c.kind {
                        ConstraintKind::Key(index) => {
                            row = row
                                .set("connoinherit", true)
                                .set("conindid", index.oid)
                                .set("conkey", int_array(&attnums(t, &index.columns)));
                        }
                        ConstraintKind::Check(e) => {
                            let d = deparse::Deparser {
                                table: t,
                                pretty: false,
                                qualify: who.qualifies(),
                            };
                            row = row
                                .set("conbin", d.expr(e, Some(SqlType::Bool)))
                                .set("conkey", check_columns(t, e));
                        }
                        ConstraintKind::Foreign(fk) => {
                            let parent = schema.table_by_id(fk.parent);
                            let index = parent.and_then(|p| {
                                model::indexes(p).into_iter().find(|i| {
                                    i.unique && {
                                        let mut a = i.columns.clone();
                                        let mut b = fk.parent_columns.clone();
                                        a.sort();
                                        b.sort();
                                        a == b
                                    }
                                })
                            });
                            row = row
                                .set("connoinherit", true)
                                .set("condeferrable", fk.deferrable)
                                .set("condeferred", fk.initially_deferred)
                                .set("confrelid", parent.map_or(0, |p| p.oid as i64))
                                .set("conindid", index.map_or(0, |i| i.oid))
                                .set("confupdtype", fk.on_update.code().to_string())
                                .set("confdeltype", fk.on_delete.code().to_string())
                                .set("confmatchtype", "s")
                                .set("conkey", int_array(&attnums(t, &fk.columns)))
                                .set(
                                    "confkey",
                                    parent.map_or(Value::Null, |p| {
                                        int_array(&attnums(p, &fk.parent_columns))
                                    }),
                                );
                        }
                    }
                    rows.push(row.build());
                }
            }
            rows
        }
        V::PgIndex => {
            let mut rows = Vec::new();
            for t in &tables {
                for i in model::indexes(t) {
                    let n = i.columns.len() as i64;
                    let collations: Vec<i64> =
                        i.columns.iter().map(|&p| collation_of(t.columns[p].ty)).collect();
                    let classes: Vec<i64> =
                        i.columns.iter().map(|&p| model::opclass_of(t.columns[p].ty)).collect();
                    let options: Vec<i64> =
                        (0..i.columns.len()).map(|k| i64::from(i.option(k))).collect();
                    rows.push(
                        r().set("indexrelid", i.oid)
                            .set("indrelid", t.oid as i64)
                            .set("indnatts", n)
                            .set("indnkeyatts", n)
                            .set("indisunique", i.unique)
                            .set("indisprimary", i.primary)
                            .set("indimmediate", true)
                            .set("indisvalid", true)
                            .set("indisready", true)
                            .set("indislive", true)
                            .set("indkey", int_vector(&attnums(t, &i.columns)))
                            .set("indcollation", int_vector(&collations))
                            .set("indclass", int_vector(&classes))
                            .set("indoption", int_vector(&options))
                            .build(),
                    );
                }
            }
            rows
        }
        V::PgAm => {
            [(HEAP_AM, "heap", "heap_tableam_handler", "t"), (BTREE_AM, "btree", "bthandler", "i")]
                .into_iter()
                .map(|(oid, name, handler, kind)| {
                    r().set("oid", oid)
                        .set("amname", name)
                        .set("amhandler", handler)
                        .set("amtype", kind)
                        .build()
                })
                .collect()
        }
        V::PgOpclass => model::OPCLASSES
            .iter()
            .map(|(oid, name, ty, family)| {
                r().set("oid", *oid)
                    .set("opcmethod", BTREE_AM)
                    .set("opcname", *name)
                    .set("opcnamespace", PG_CATALOG_NS)
                    .set("opcowner", OWNER)
                    .set("opcfamily", *family)
                    .set("opcintype", *ty)
                    .set("opcdefault", true)
                    .build()
            })
            .collect(),
        V::PgType => {
            let mut rows = Vec::new();
            for t in TYPES {
                let coll = if t.name == "name" {
                    950
                } else if t.collatable {
                    DEFAULT_COLLATION
                } else {
                    0
                };
                let base = r()
                    .set("typnamespace", PG_CATALOG_NS)
                    .set("typowner", OWNER)
                    .set("typisdefined", true)
                    .set("typdelim", ",")
                    .set("typcollation", coll)
                    .set("typbasetype", 0)
                    .set("typtypmod", -1);
                rows.push(
                    base.set("oid", t.oid)
                        .set("typname", t.name)
                        .set("typlen", t.len)
                        .set("typbyval", matches!(t.len, 1 | 2 | 4 | 8))
                        .set("typtype", "b")
                        .set("typcategory", t.category)
                        .set("typarray", t.array)
                        .set("typinput", format!("{}in", t.name))
                        .set("typoutput", format!("{}out", t.name))
                        .set("typalign", type_align(t.name, t.len))
                        .set("typstorage", type_storage(t.name, t.len))
                        // the types with elements of their own (asyncpg decodes the
                        // vectors as arrays of them)
                        .set(
                            "typelem",
                            match t.name {
                                "name" => 18,
                                "int2vector" => 21,
                                "oidvector" => 26,
                                _ => 0,
                            },
                        )
                        .build(),
                );
                rows.push(
                    r().set("typnamespace", PG_CATALOG_NS)
                        .set("typowner", OWNER)
                        .set("typisdefined", true)
                        .set("typdelim", ",")
                        .set("typcollation", coll)
                        .set("typtypmod", -1)
                        .set("oid", t.array)
                        .set("typname", format!("_{}", t.name))
                        .set("typlen", -1)
                        .set("typtype", "b")
                        .set("typcategory", "A")
                        .set("typelem", t.oid)
                        .set("typsubscript", "array_subscript_handler")
                        .set("typinput", "array_in")
                        .set("typoutput", "array_out")
                        .set("typalign", if t.len == 8 { "d" } else { "i" })
                        .set("typstorage", "x")
                        .build(),
                );
            }
            for e in enum_types(schema) {
                let base = || {
                    r().set("typnamespace", model::PUBLIC_NS)
                        .set("typowner", OWNER)
                        .set("typisdefined", true)
                        .set("typdelim", ",")
                        .set("typcollation", 0)
                        .set("typbasetype", 0)
                        .set("typtypmod", -1)
                };
                rows.push(
                    base()
                        .set("oid", e.oid as i64)
                        .set("typname", e.name.as_str())
                        .set("typlen", 4)
                        .set("typbyval", true)
                        .set("typtype", "e")
                        .set("typcategory", "E")
                        .set("typarray", e.array_oid as i64)
                        .set("typelem", 0)
                        .set("typinput", "enum_in")
                        .set("typoutput", "enum_out")
                        .set("typreceive", "enum_recv")
                        .set("typsend", "enum_send")
                        .set("typalign", "i")
                        .set("typstorage", "p")
                        .build(),
                );
                rows.push(
                    base()
                        .set("oid", e.array_oid as i64)
                        .set("typname", format!("_{}", e.name))
                        .set("typlen", -1)
                        .set("typbyval", false)
                        .set("typtype", "b")
                        .set("typcategory", "A")
                        .set("typarray", 0)
                        .set("typelem", e.oid as i64)
                        .set("typsubscript", "array_subscript_handler")
                        .set("typinput", "array_in")
                        .set("typoutput", "array_out")
                        .set("typreceive", "array_recv")
                        .set("typsend", "array_send")
                        .set("typalign", "i")
                        .set("typstorage", "x")
                        .build(),
                );
            }
            rows
        }
        V::PgEnum => enum_types(schema)
            .into_iter()
            .flat_map(|e| {
                e.labels.iter().map(|l| {
                    r().set("oid", l.oid as i64)
                        .set("enumtypid", e.oid as i64)
                        .set("enumsortorder", Value::Float(l.sort as f32 as f64))
                        .set("enumlabel", l.label.as_str())
                        .build()
                })
            })
            .collect(),
        V::PgDepend => {
            let mut rows = Vec::new();
            for t in &tables {
                for (p, attnum, _, oid) in model::sequences(schema, t) {
                    let deptype = if t.columns[p].identity.is_some() { "i" } else { "a" };
                    rows.push(
                        r().set("classid", 1259)
                            .set("objid", oid)
                            .set("refclassid", 1259)
                            .set("refobjid", t.oid as i64)
                            .set("refobjsubid", attnum)
                            .set("deptype", deptype)
                            .build(),
                    );
                }
                // a serial column's default reads its sequence (so pg_dump sets it apart
                // from the CREATE TABLE, after the sequence's OWNED BY)
                for (p, attnum, _, oid) in model::sequences(schema, t) {
                    if t.columns[p].identity.is_some() {
                        continue;
                    }
                    let def = model::attrdef_oid(t, attnum);
                    for (refobjid, refobjsubid, deptype) in
                        [(t.oid as i64, attnum, "a"), (oid, 0, "n")]
                    {
                        rows.push(
                            r().set("classid", 2604)
                                .set("objid", def)
                                .set("refclassid", 1259)
                                .set("refobjid", refobjid)
                                .set("refobjsubid", refobjsubid)
                                .set("deptype", deptype)
                                .build(),
                        );
                    }
                }
                for i in model::indexes(t) {
                    let (classid, deptype) = match i.constraint {
                        Some(_) => (2606, "i"),
                        None => (1259, "a"),
                    };
                    let _ = classid;
                    if i.constraint.is_none() {
                        for &p in &i.columns {
                            rows.push(
                                r().set("classid", 1259)
                                    .set("objid", i.oid)
                                    .set("refclassid", 1259)
                                    .set("refobjid", t.oid as i64)
                                    .set("refobjsubid", model::attnum(t, p).unwrap_or(0))
                                    .set("deptype", deptype)
                                    .build(),
                            );
                        }
                    }
                }
            }
            rows
        }
        V::PgRoles | V::PgAuthid => vec![
            r().set("oid", OWNER)
                .set("rolname", who.user)
                .set("rolsuper", true)
                .set("rolinherit", true)
                .set("rolcreaterole", true)
                .set("rolcreatedb", true)
                .set("rolcanlogin", true)
                .set("rolreplication", true)
                .set("rolbypassrls", true)
                .set("rolconnlimit", -1)
                .set(
                    "rolpassword",
                    if view == V::PgRoles { Some("********".to_string()) } else { None },
                )
                .set("rolvaliduntil", Value::Null)
                .build(),
            r().set("oid", model::DATABASE_OWNER)
                .set("rolname", "pg_database_owner")
                .set("rolinherit", true)
                .set("rolconnlimit", -1)
                .set("rolvaliduntil", Value::Null)
                .build(),
        ],
        V::PgUser => vec![
            r().set("usename", who.user)
                .set("usesysid", OWNER)
                .set("usecreatedb", true)
                .set("usesuper", true)
                .set("userepl", true)
                .set("usebypassrls", true)
                .set("passwd", "********")
                .set("valuntil", Value::Null)
                .build(),
        ],
        // the connected database, and those every PostgreSQL cluster has (a client may
        // connect to any name: isola serves one database under every name)
        V::PgDatabase => {
            let acl = Value::Array(vec![
                Value::Text(format!("=c/{}", who.user)),
                Value::Text(format!("{0}=CTc/{0}", who.user)),
            ]);
            // the server's databases (the default one first), and those every PostgreSQL
            // cluster has (a client may connect to any name: it reaches the default database)
            let default = who.databases.first().map(String::as_str).unwrap_or("isola");
            let mut databases = vec![(16_384i64, default, false, true, Value::Null)];
            for (oid, name) in (16_385i64..).zip(who.databases.iter().skip(1)) {
                databases.push((oid, name.as_str(), false, true, Value::Null));
            }
            for (oid, name, template, connect) in [
                (5, "postgres", false, true),
                (1, "template1", true, true),
                (4, "template0", true, false),
            ] {
                if !databases.iter().any(|d| d.1 == name) {
                    let acl = if template { acl.clone() } else { Value::Null };
                    databases.push((oid, name, template, connect, acl));
                }
            }
            databases
                .into_iter()
                .map(|(oid, name, template, connect, acl)| {
                    r().set("oid", oid)
                        .set("datname", name)
                        .set("datdba", OWNER)
                        .set("encoding", 6)
                        .set("datlocprovider", "c")
                        .set("datistemplate", template)
                        .set("datallowconn", connect)
                        .set("datconnlimit", -1)
                        .set("dattablespace", DEFAULT_TABLESPACE)
                        .set("datcollate", "C.UTF-8")
                        .set("datctype", "C.UTF-8")
                        .set("datacl", acl)
                        .build()
                })
                .collect()
        }
        V::PgSequence => model::all_sequences(schema)
            .into_iter()
            .map(|seq| {
                r().set("seqrelid", seq.oid as i64)
                    .set("seqtypid", model::type_of(seq.ty).0)
                    .set("seqstart", seq.start)
                    .set("seqincrement", seq.increment)
                    .set("seqmax", seq.max)
                    .set("seqmin", seq.min)
                    .set("seqcache", seq.cache)
                    .set("seqcycle", seq.cycle)
                    .build()
            })
            .collect(),
        V::PgSequences => model::all_sequences(schema)
            .into_iter()
            .map(|seq| {
                let called = seq.called.load(std::sync::atomic::Ordering::SeqCst);
                let last = seq.last.load(std::sync::atomic::Ordering::SeqCst);
                r().set("schemaname", "public")
                    .set("sequencename", seq.name.as_str())
                    .set("sequenceowner", who.user)
                    .set("data_type", seq.ty.name())
                    .set("start_value", seq.start)
                    .set("min_value", seq.min)
                    .set("max_value", seq.max)
                    .set("increment_by", seq.increment)
                    .set("cycle", seq.cycle)
                    .set("cache_size", seq.cache)
                    .set("last_value", if called { Value::Int(last) } else { Value::Null })
                    .build()
            })
            .collect(),
        V::PgSettings => {
            let mut settings: Vec<(String, String)> = who.settings.to_vec();
            for (name, value) in
                [("server_version", crate::sql::system::SERVER_VERSION), ("block_size", "8192")]
            {
                if !settings.iter().any(|(n, _)| n == name) {
                    settings.push((name.to_string(), value.to_string()));
                }
            }
            settings.sort();
            settings
                .into_iter()
                .map(|(name, setting)| {
                    r().set("name", name)
                        .set("setting", setting.clone())
                        .set("vartype", "string")
                        .set("context", "user")
                        .set("source", "session")
                        .set("boot_val", setting.clone())
                        .set("reset_val", setting)
                        .build()
                })
                .collect()
        }
        V::PgCollation => {
            [(DEFAULT_COLLATION, "default", "d"), (950, "C", "c"), (951, "POSIX", "c")]
                .into_iter()
                .map(|(oid, name, provider)| {
                    let locale = (provider == "c").then(|| name.to_string());
                    r().set("oid", oid)
                        .set("collname", name)
                        .set("collnamespace", PG_CATALOG_NS)
                        .set("collowner", OWNER)
                        .set("collprovider", provider)
                        .set("collisdeterministic", true)
                        .set("collencoding", -1)
                        .set("collcollate", locale.clone())
                        .set("collctype", locale)
                        .build()
                })
                .collect()
        }
        V::PgTablespace => [(DEFAULT_TABLESPACE, "pg_default"), (1664, "pg_global")]
            .into_iter()
            .map(|(oid, name)| {
                r().set("oid", oid).set("spcname", name).set("spcowner", OWNER).build()
            })
            .collect(),
        V::PgExtension => vec![
            r().set("oid", 13_500)
                .set("extname", "plpgsql")
                .set("extowner", OWNER)
                .set("extnamespace", PG_CATALOG_NS)
                .set("extversion", "1.0")
                .build(),
        ],
        V::PgProc => [(1574, "nextval", 20), (1299, "now", 1184), (1081, "format_type", 25)]
            .into_iter()
            .map(|(oid, name, ret)| {
                r().set("oid", oid)
                    .set("proname", name)
                    .set("pronamespace", PG_CATALOG_NS)
                    .set("proowner", OWNER)
                    .set("prolang", 12)
                    .set("prokind", "f")
                    .set("provolatile", "v")
                    .set("proparallel", "s")
                    .set("prorettype", ret)
                    .set("proargtypes", int_vector(&[]))
                    .set("prosrc", name)
                    .build()
            })
            .collect(),
        V::PgTables => tables
            .iter()
            .map(|t| {
                r().set("schemaname", "public")
                    .set("tablename", t.name.as_str())
                    .set("tableowner", who.user)
                    .set("tablespace", Value::Null)
                    .set("hasindexes", !model::indexes(t).is_empty())
                    .build()
            })
            .collect(),
        V::PgIndexes => {
            let mut rows = Vec::new();
            for t in &tables {
                for i in model::indexes(t) {
                    rows.push(
                        r().set("schemaname", "public")
                            .set("tablename", t.name.as_str())
                            .set("indexname", i.name.as_str())
                            .set("tablespace", Value::Null)
                            .set("indexdef", deparse::index_def(t, &i, 0, false))
                            .build(),
                    );
                }
            }
            rows
        }
        V::PgDescription => {
            // PostgreSQL's one comment of a new database (pg_dump leaves it out as the default)
            let mut rows = vec![
                r().set("objoid", PUBLIC_NS)
                    .set("classoid", 2615)
                    .set("objsubid", 0)
                    .set("description", "standard public schema")
                    .build(),
            ];
            for t in &tables {
                let described = std::iter::once((0, t.comment.as_ref())).chain(
                    (0..t.columns.len()).filter_map(|p| {
                        Some((model::attnum(t, p)?, t.columns[p].comment.as_ref()))
                    }),
                );
                for (objsubid, comment) in described {
                    let Some(comment) = comment else { continue };
                    rows.push(
                        r().set("objoid", t.oid as i64)
                            .set("classoid", model::PG_CLASS_OID)
                            .set("objsubid", objsubid)
                            .set("description", comment.as_str())
                            .build(),
                    );
                }
            }
            rows
        }
        v if v.always_empty() => vec![],
        V::InfoSchemata => ["information_schema", "pg_catalog", "pg_toast", "public"]
            .into_iter()
            .map(|name| {
                r().set("catalog_name", who.database)
                    .set("schema_name", name)
                    .set("schema_owner", who.user)
                    .build()
            })
            .collect(),
        V::InfoTables => tables
            .iter()
            .map(|t| {
                r().set("table_catalog", who.database)
                    .set("table_schema", "public")
                    .set("table_name", t.name.as_str())
                    .set("table_type", "BASE TABLE")
                    .set("is_insertable_into", "YES")
                    .set("is_typed", "NO")
                    .build()
            })
            .chain(views_by_name(schema).into_iter().map(|v| {
                r().set("table_catalog", who.database)
                    .set("table_schema", "public")
                    .set("table_name", v.name.as_str())
                    .set("table_type", "VIEW")
                    .set("is_insertable_into", "NO")
                    .set("is_typed", "NO")
                    .build()
            }))
            .collect(),
        V::InfoViews => views_by_name(schema)
            .into_iter()
            .map(|v| {
                r().set("table_catalog", who.database)
                    .set("table_schema", "public")
                    .set("table_name", v.name.as_str())
                    .set("view_definition", v.definition.as_str())
                    .set("check_option", "NONE")
                    .set("is_updatable", "NO")
                    .set("is_insertable_into", "NO")
                    .set("is_trigger_updatable", "NO")
                    .set("is_trigger_deletable", "NO")
                    .set("is_trigger_insertable_into", "NO")
                    .build()
            })
            .collect(),
        V::PgViews => views_by_name(schema)
            .into_iter()
            .map(|v| {
                r().set("schemaname", "public")
                    .set("viewname", v.name.as_str())
                    .set("viewowner", who.user)
                    .set("definition", format!(" {};", v.definition))
                    .build()
            })
            .collect(),
        V::InfoColumns => {
            let mut rows = Vec::new();
            for t in &tables {
                for (p, c) in t.columns.iter().enumerate() {
                    let Some(attnum) = model::attnum(t, p) else { continue };
                    if c.dropped {
                        continue;
                    }
                    rows.push(info_column(r(), schema, who, t, p, attnum).build());
                }
            }
            rows
        }
        V::InfoTableConstraints => {
            let mut rows = Vec::new();
            for t in &tables {
                let base = |name: String, kind: &str| {
                    r().set("constraint_catalog", who.database)
                        .set("constraint_schema", "public")
                        .set("constraint_name", name)
                        .set("table_catalog", who.database)
                        .set("table_schema", "public")
                        .set("table_name", t.name.as_str())
                        .set("constraint_type", kind)
                        .set("is_deferrable", "NO")
                        .set("initially_deferred", "NO")
                        .set("enforced", "YES")
                };
                for c in model::constraints(t) {
                    let (kind, deferrable, deferred) = match &c.kind {
                        ConstraintKind::Key(i) if i.primary => ("PRIMARY KEY", false, false),
                        ConstraintKind::Key(_) => ("UNIQUE", false, false),
                        ConstraintKind::Check(_) => ("CHECK", false, false),
                        ConstraintKind::Foreign(fk) => {
                            ("FOREIGN KEY", fk.deferrable, fk.initially_deferred)
                        }
                    };
                    let mut row = base(c.name.clone(), kind)
                        .set("is_deferrable", yes_no(deferrable))
                        .set("initially_deferred", yes_no(deferred));
                    if matches!(c.kind, ConstraintKind::Key(_)) {
                        row = row.set("nulls_distinct", if kind == "UNIQUE" { "YES" } else { "" });
                        if kind != "UNIQUE" {
                            row = row.set("nulls_distinct", Value::Null);
                        }
                    }
                    rows.push(row.build());
                }
                for (p, attnum) in not_null_columns(t) {
                    let _ = p;
                    rows.push(base(not_null_name(t, attnum), "CHECK").build());
                }
            }
            rows
        }
        V::InfoCheckConstraints => {
            let mut rows = Vec::new();
            for t in &tables {
                let base = |name: String, clause: String| {
                    r().set("constraint_catalog", who.database)
                        .set("constraint_schema", "public")
                        .set("constraint_name", name)
                        .set("check_clause", clause)
                        .build()
                };
                for c in model::constraints(t) {
                    if let ConstraintKind::Check(e) = &c.kind {
                        let d =
                            deparse::Deparser { table: t, pretty: false, qualify: who.qualifies() };
                        rows.push(base(
                            c.name.clone(),
                            format!("({})", d.expr(e, Some(SqlType::Bool))),
                        ));
                    }
                }
                for (p, attnum) in not_null_columns(t) {
                    let clause = format!("{} IS NOT NULL", quote_ident(&t.columns[p].name));
                    rows.push(base(not_null_name(t, attnum), clause));
                }
            }
            rows
        }
        V::InfoKeyColumnUsage => {
            let mut rows = Vec::new();
            for t in &tables {
                for c in model::constraints(t) {
                    let (columns, unique_positions): (Vec<usize>, Option<Vec<i64>>) = match &c.kind
                    {
                        ConstraintKind::Key(i) => (i.columns.clone(), None),
                        ConstraintKind::Foreign(fk) => {
                            // the referenced key's columns, in its own order
                            let parent_key = schema.table_by_id(fk.parent).and_then(|p| {
                                model::indexes(p)
                                    .into_iter()
                                    .filter(|i| i.constraint.is_some())
                                    .find(|i| {
                                        let mut a = i.columns.clone();
                                        let mut b = fk.parent_columns.clone();
                                        a.sort();
                                        b.sort();
                                        a == b
                                    })
                            });
                            let positions = fk
                                .parent_columns
                                .iter()
                                .map(|pc| {
                                    parent_key
                                        .as_ref()
                                        .and_then(|k| k.columns.iter().position(|x| x == pc))
                                        .map_or(0, |i| i as i64 + 1)
                                })
                                .collect();
                            (fk.columns.clone(), Some(positions))
                        }
                        ConstraintKind::Check(_) => continue,
                    };
                    for (n, &p) in columns.iter().enumerate() {
                        rows.push(
                            r().set("constraint_catalog", who.database)
                                .set("constraint_schema", "public")
                                .set("constraint_name", c.name.as_str())
                                .set("table_catalog", who.database)
                                .set("table_schema", "public")
                                .set("table_name", t.name.as_str())
                                .set("column_name", t.columns[p].name.as_str())
                                .set("ordinal_position", n as i64 + 1)
                                .set(
                                    "position_in_unique_constraint",
                                    unique_positions.as_ref().and_then(|u| u.get(n).copied()),
                                )
                                .build(),
                        );
                    }
                }
            }
            rows
        }
        V::InfoReferentialConstraints => {
            let mut rows = Vec::new();
            for t in &tables {
                for c in model::constraints(t) {
                    let ConstraintKind::Foreign(fk) = &c.kind else { continue };
                    let parent = schema.table_by_id(fk.parent);
                    let unique_name = parent.and_then(|p| {
                        model::indexes(p)
                            .into_iter()
                            .filter(|i| i.unique)
                            .find(|i| {
                                let mut a = i.columns.clone();
                                let mut b = fk.parent_columns.clone();
                                a.sort();
                                b.sort();
                                a == b
                            })
                            .map(|i| i.name)
                    });
                    rows.push(
                        r().set("constraint_catalog", who.database)
                            .set("constraint_schema", "public")
                            .set("constraint_name", c.name.as_str())
                            .set("unique_constraint_catalog", who.database)
                            .set("unique_constraint_schema", "public")
                            .set("unique_constraint_name", unique_name)
                            .set("match_option", "NONE")
                            .set("update_rule", fk.on_update.sql())
                            .set("delete_rule", fk.on_delete.sql())
                            .build(),
                    );
                }
            }
            rows
        }
        V::InfoConstraintColumnUsage => {
            let mut rows = Vec::new();
            for t in &tables {
                for c in model::constraints(t) {
                    let (table, columns): (&TableSchema, Vec<usize>) = match &c.kind {
                        ConstraintKind::Key(i) => (t, i.columns.clone()),
                        ConstraintKind::Check(e) => (t, check_positions(t, e)),
                        ConstraintKind::Foreign(fk) => match schema.table_by_id(fk.parent) {
                            Some(p) => (p, fk.parent_columns.clone()),
                            None => continue,
                        },
                    };
                    for p in columns {
                        rows.push(
                            r().set("table_catalog", who.database)
                                .set("table_schema", "public")
                                .set("table_name", table.name.as_str())
                                .set("column_name", table.columns[p].name.as_str())
                                .set("constraint_catalog", who.database)
                                .set("constraint_schema", "public")
                                .set("constraint_name", c.name.as_str())
                                .build(),
                        );
                    }
                }
            }
            rows
        }
        V::InfoSequences => model::all_sequences(schema)
            .into_iter()
            .map(|seq| {
                let (precision, _) = numeric_precision(seq.ty);
                r().set("sequence_catalog", who.database)
                    .set("sequence_schema", "public")
                    .set("sequence_name", seq.name.as_str())
                    .set("data_type", seq.ty.name())
                    .set("numeric_precision", precision)
                    .set("numeric_precision_radix", 2)
                    .set("numeric_scale", 0)
                    .set("start_value", seq.start.to_string())
                    .set("minimum_value", seq.min.to_string())
                    .set("maximum_value", seq.max.to_string())
                    .set("increment", seq.increment.to_string())
                    .set("cycle_option", yes_no(seq.cycle))
                    .build()
            })
            .collect(),
        // the live state's views (`pg_catalog::rows`)
        _ => return None,
    };
    Some(rows)
}

/// The schema's views, by name.
/// The schema's enum types, by oid (the order they were made in).
fn enum_types(schema: &Schema) -> Vec<&'static crate::sql::types::enums::EnumType> {
    let mut types: Vec<_> = schema.types.values().copied().collect();
    types.sort_by_key(|t| t.oid);
    types
}

fn views_by_name(schema: &Schema) -> Vec<&crate::sql::schema::ViewSchema> {
    let mut views: Vec<_> = schema.views.values().map(|v| v.as_ref()).collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    views
}

fn attribute(row: RowOf, relid: i64, attnum: i64, name: &str, ty: SqlType) -> RowOf {
    let (typid, _) = model::type_of(ty);
    // an array is variable-length whatever its element
    let len = match ty {
        SqlType::Enum(_) => 4,
        _ => model::type_by_oid(typid).map_or(-1, |(t, array)| if array { -1 } else { t.len }),
    };
    row.set("attrelid", relid)
        .set("attname", name.to_string())
        .set("attstattarget", -1)
        .set("attlen", len)
        .set("attnum", attnum)
        .set("attcacheoff", -1)
        .set("attbyval", matches!(len, 1 | 2 | 4 | 8))
        .set("attalign", align(len))
        .set(
            "attstorage",
            match ty {
                _ if len > 0 => "p",
                SqlType::Numeric(_) => "m",
                _ => "x",
            },
        )
        .set("attcompression", "")
        .set("attidentity", "")
        .set("attgenerated", "")
        .set("attislocal", true)
        .set("attcollation", collation_of(ty))
}

fn type_align(name: &str, len: i64) -> &'static str {
    match name {
        "name" | "uuid" => "c",
        _ => align(len),
    }
}

fn type_storage(name: &str, len: i64) -> &'static str {
    match name {
        "numeric" => "m",
        _ if len > 0 => "p",
        _ => "x",
    }
}

fn align(len: i64) -> &'static str {
    match len {
        1 => "c",
        2 => "s",
        8 => "d",
        _ => "i",
    }
}

/// A column type's collation (the default one for text types, none otherwise).
fn collation_of(ty: SqlType) -> i64 {
    match ty {
        SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) => DEFAULT_COLLATION,
        _ => 0,
    }
}

/// `information_schema`'s (precision, radix, scale) of a numeric type.
fn numeric_precision(ty: SqlType) -> (Option<i64>, Option<i64>) {
    match ty {
        SqlType::Int2 => (Some(16), Some(0)),
        SqlType::Int4 => (Some(32), Some(0)),
        SqlType::Int8 => (Some(64), Some(0)),
        SqlType::Float4 => (Some(24), None),
        SqlType::Float8 => (Some(53), None),
        SqlType::Numeric(Some((p, s))) => (Some(p as i64), Some(s as i64)),
        _ => (None, None),
    }
}

fn info_column(
    row: RowOf,
    schema: &Schema,
    who: &Viewer,
    t: &TableSchema,
    p: usize,
    attnum: i64,
) -> RowOf {
    let c = &t.columns[p];
    let (typid, _) = model::type_of(c.ty);
    let (udt, udt_schema) = match c.ty {
        SqlType::Enum(e) => (e.name.clone(), "public"),
        SqlType::Array(SqlType::Enum(e)) => (format!("_{}", e.name), "public"),
        _ => (
            model::type_by_oid(typid).map_or("text".to_string(), |(t, array)| {
                if array { format!("_{}", t.name) } else { t.name.to_string() }
            }),
            "pg_catalog",
        ),
    };
    let data_type = match c.ty {
        SqlType::Enum(_) => "USER-DEFINED".to_string(),
        SqlType::Time(_) => "time without time zone".to_string(),
        // PostgreSQL shows every array type as ARRAY here
        SqlType::Array(_) => "ARRAY".to_string(),
        SqlType::Varchar(_) => "character varying".to_string(),
        SqlType::Char(_) => "character".to_string(),
        SqlType::Numeric(_) => "numeric".to_string(),
        t => t.name(),
    };
    let max_len = match c.ty {
        SqlType::Varchar(Some(n)) | SqlType::Char(n) => Some(n as i64),
        _ => None,
    };
    let octets = match c.ty {
        SqlType::Varchar(Some(n)) | SqlType::Char(n) => Some(n as i64 * 4),
        SqlType::Varchar(None) | SqlType::Text => Some(1_073_741_824),
        _ => None,
    };
    let (precision, scale) = numeric_precision(c.ty);
    let radix = match c.ty {
        SqlType::Numeric(Some(_)) => Some(10),
        SqlType::Numeric(None) => Some(10),
        _ if precision.is_some() => Some(2),
        _ => None,
    };
    let datetime = match c.ty {
        SqlType::Date => Some(0),
        SqlType::Timestamp | SqlType::Timestamptz => Some(6),
        SqlType::Time(p) => Some(p.map_or(6, i64::from)),
        _ => None,
    };
    let identity = c.identity.map(|i| match i {
        Identity::Always => "ALWAYS",
        Identity::ByDefault => "BY DEFAULT",
    });
    let mut row = row
        .set("table_catalog", who.database)
        .set("table_schema", "public")
        .set("table_name", t.name.as_str())
        .set("column_name", c.name.as_str())
        .set("ordinal_position", attnum)
        .set("column_default", deparse::column_default(schema, t, p, who.qualifies()))
        .set("is_nullable", if c.not_null { "NO" } else { "YES" })
        .set("data_type", data_type)
        .set("character_maximum_length", max_len)
        .set("character_octet_length", octets)
        .set("numeric_precision", precision)
        .set("numeric_precision_radix", radix)
        .set("numeric_scale", scale)
        .set("datetime_precision", datetime)
        .set("udt_catalog", who.database)
        .set("udt_schema", udt_schema)
        .set("udt_name", udt)
        .set("dtd_identifier", attnum.to_string())
        .set("is_self_referencing", "NO")
        .set("is_identity", yes_no(identity.is_some()))
        .set("identity_generation", identity.map(str::to_string))
        .set("identity_cycle", "NO")
        .set("is_generated", "NEVER")
        .set("is_updatable", "YES");
    if identity.is_some() {
        row = row
            .set("identity_start", "1")
            .set("identity_increment", "1")
            .set("identity_maximum", sequence_max(c.ty).to_string())
            .set("identity_minimum", "1");
    }
    row
}

/// The columns with NOT NULL (position, attnum), as `information_schema` lists them.
fn not_null_columns(t: &TableSchema) -> Vec<(usize, i64)> {
    t.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.not_null && !c.dropped && !c.hidden)
        .filter_map(|(p, _)| model::attnum(t, p).map(|n| (p, n)))
        .collect()
}

/// The name `information_schema` gives a NOT NULL column's implied constraint.
fn not_null_name(t: &TableSchema, attnum: i64) -> String {
    format!("{PUBLIC_NS}_{}_{attnum}_not_null", t.oid)
}

/// Positions of the columns a CHECK expression names, in order of first mention.
fn check_positions(t: &TableSchema, e: &sqlparser::ast::Expr) -> Vec<usize> {
    let text = e.to_string().to_lowercase();
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (p, c) in t.columns.iter().enumerate() {
        if c.hidden || c.dropped {
            continue;
        }
        let words: Vec<&str> =
            text.split(|ch: char| !(ch.is_alphanumeric() || ch == '_')).collect();
        if let Some(i) = words.iter().position(|w| *w == c.name) {
            found.push((i, p));
        }
    }
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// `conkey` of a CHECK: the attnums of the columns it names (NULL when none).
fn check_columns(t: &TableSchema, e: &sqlparser::ast::Expr) -> Option<Value> {
    let mut nums = attnums(t, &check_positions(t, e));
    nums.sort();
    (!nums.is_empty()).then(|| int_array(&nums))
}
