//! [`Engine`]: what all sessions share: the core database, the SQL schema, the registry of
//! sessions (for introspection and cancel), and DDL.
//!
//! Invariant: DDL updates the core catalog and the SQL schema under the schema's write lock,
//! core first, so a failed core step leaves the schema untouched.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use crate::error::SqlState;
use crate::sql::parse::dialect::IsolaDialect;
use parking_lot::{Mutex, RwLock};
use sqlparser::ast::{self, ColumnOption, Statement, TableConstraint};
use sqlparser::parser::Parser;

use crate::catalog::TableId;
use crate::durable::{
    CatalogCut, CheckpointReport, DataFiles, DurableCatalog, DurableOptions, RecoveryReport,
};
use crate::error::Error;
use crate::sql::error::SqlError;
use crate::sql::plan::object_name;
use crate::sql::schema::{ColumnSchema, IndexConstraint, IndexSchema, ROW_ID, Schema, TableSchema};
use crate::sql::types::SqlType;
use crate::txn::{Database, IsolationLevel, TxnId};
use crate::types::Value;
use crate::wal::{DdlRecord, Record};
use crate::wal::{OsStorage, Storage};

/// What introspection shows of a session.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    pub user: String,
    pub database: String,
    pub application_name: String,
    pub state: &'static str,
    pub txn: Option<TxnId>,
    pub level: Option<IsolationLevel>,
    pub read_only: bool,
    pub query: String,
    /// While the last statement's answer waits for a commit it met to become durable (early
    /// lock release): what it waits for.
    pub answer_wait: Option<String>,
}

/// Shared state of the SQL layer.
pub struct Engine {
    pub db: Database,
    pub schema: RwLock<Schema>,
    pub sessions: Mutex<HashMap<u32, Activity>>,
    next_session: AtomicU32,
    /// Every DDL statement that shaped the schema, in order, with the table ids they created
    /// in this process: what a checkpoint persists of the schema.
    ddl_history: Mutex<Vec<DdlRecord>>,
    /// The data directory's files, when the engine is durable (see `crate::durable`).
    files: Mutex<Option<Arc<DataFiles>>>,
}

impl Engine {
    pub fn new(db: Database) -> Arc<Engine> {
        Arc::new(Engine {
            db,
            schema: RwLock::new(Schema::default()),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU32::new(1),
            ddl_history: Mutex::new(Vec::new()),
            files: Mutex::new(None),
        })
    }

    /// Runs a DDL statement: applies it under the schema's write lock and, when durable,
    /// appends it to the log (before any commit can touch what it created) and waits until it
    /// is durable.
    pub fn execute_ddl(&self, stmt: &Statement) -> Result<(), SqlError> {
        let mut schema = self.schema.write();
        self.apply_ddl(&mut schema, stmt)?;
        let created_table = match stmt {
            Statement::CreateTable(ct) => schema.table(&object_name(&ct.name)).map(|t| t.id),
            _ => None,
        };
        let record = DdlRecord { text: stmt.to_string(), created_table };
        self.ddl_history.lock().push(record.clone());
        let Some(log) = self.db.log() else { return Ok(()) };
        let lsn = log.append(&Record::Ddl(record))?;
        drop(schema);
        log.wait_durable(lsn)?;
        Ok(())
    }

    /// Recovery: re-runs a logged DDL statement. A table it creates may get another id than
    /// it had when logged; `ids` maps logged ids to current ones.
    fn replay_ddl(
        &self,
        record: &DdlRecord,
        ids: &mut HashMap<TableId, TableId>,
    ) -> crate::Result<()> {
        let corrupt = |why: String| {
            crate::Error::Corrupt(format!("replaying DDL \"{}\": {why}", record.text))
        };
        let stmts = Parser::parse_sql(&IsolaDialect::default(), &record.text)
            .map_err(|e| corrupt(e.to_string()))?;
        let [stmt] = stmts.as_slice() else { return Err(corrupt("not one statement".into())) };
        let mut schema = self.schema.write();
        self.apply_ddl(&mut schema, stmt).map_err(|e| corrupt(e.message))?;
        let mut live = record.clone();
        if let (Some(logged), Statement::CreateTable(ct)) = (record.created_table, stmt) {
            let now = schema.table(&object_name(&ct.name)).map(|t| t.id);
            let now = now.ok_or_else(|| corrupt("the table was not created".into()))?;
            ids.insert(logged, now);
            live.created_table = Some(now);
        }
        self.ddl_history.lock().push(live);
        Ok(())
    }

    fn apply_ddl(&self, schema: &mut Schema, stmt: &Statement) -> Result<(), SqlError> {
        match stmt {
            Statement::CreateTable(ct) => self.create_table(schema, ct),
            Statement::CreateIndex(ci) => self.create_index(schema, ci),
            Statement::Drop { object_type, if_exists, names, .. } => {
                self.drop_objects(schema, object_type, names, *if_exists)
            }
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                for op in &at.operations {
                    match op {
                        ast::AlterTableOperation::AddColumn {
                            if_not_exists, column_def, ..
                        } => self.add_column(schema, &table, column_def, *if_not_exists)?,
                        ast::AlterTableOperation::AddConstraint {
                            constraint: TableConstraint::PrimaryKey(pk),
                            ..
                        } => {
                            let cols = index_columns(&pk.columns)?;
                            self.add_primary_key(schema, &table, &cols)?
                        }
                        other => return Err(SqlError::unsupported(format!("ALTER TABLE {other}"))),
                    }
                }
                Ok(())
            }
            other => Err(SqlError::unsupported(format!(
                "statement {}",
                other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            ))),
        }
    }

    /// Opens (creating if needed) the data directory `dir` on the real file system, holding its
    /// lock, and recovers it (see `durable`).
    pub fn open(
        dir: &std::path::Path,
        options: DurableOptions,
    ) -> crate::Result<(Arc<Engine>, RecoveryReport)> {
        let lock = crate::durable::lock_data_dir(dir)?;
        Engine::open_with(Arc::new(OsStorage), dir, options, Some(lock))
    }

    /// Opens and recovers a data directory on any storage (tests use a fault-injecting one).
    pub fn open_with(
        storage: Arc<dyn Storage>,
        dir: &std::path::Path,
        options: DurableOptions,
        lock: Option<std::fs::File>,
    ) -> crate::Result<(Arc<Engine>, RecoveryReport)> {
        let engine = Engine::new(Database::with_options(options.database.clone()));
        let (files, report) = crate::durable::recover(&engine, storage, dir, &options, lock)?;
        *engine.files.lock() = Some(files);
        crate::durable::spawn_checkpointer(Arc::downgrade(&engine), options);
        Ok((engine, report))
    }

    /// Writes a checkpoint now and removes the log it makes unnecessary.
    pub fn checkpoint(&self) -> crate::Result<CheckpointReport> {
        let files = self.files.lock().clone().ok_or_else(|| {
            Error::InvalidInput(
                "CHECKPOINT needs a durable database (this one is in memory)".into(),
            )
        })?;
        crate::durable::checkpoint_now(self, &files)
    }

    /// Whether this engine writes a log (not `--memory`).
    pub fn is_durable(&self) -> bool {
        self.files.lock().is_some()
    }

    /// Registers a new session and returns its id (its "backend pid").
    pub fn register_session(&self, user: &str, database: &str, application_name: &str) -> u32 {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        self.sessions.lock().insert(
            id,
            Activity {
                user: user.into(),
                database: database.into(),
                application_name: application_name.into(),
                state: "idle",
                ..Default::default()
            },
        );
        id
    }

    pub fn unregister_session(&self, id: u32) {
        self.sessions.lock().remove(&id);
    }

    /// Cancels what a session's transaction waits for, if anything.
    pub fn cancel_session(&self, id: u32) -> bool {
        let txn = self.sessions.lock().get(&id).and_then(|a| a.txn);
        txn.is_some_and(|t| self.db.cancel(t))
    }

    pub fn schema_version(&self) -> u64 {
        self.schema.read().version
    }

    /// CREATE TABLE.
    fn create_table(&self, schema: &mut Schema, ct: &ast::CreateTable) -> Result<(), SqlError> {
        let name = object_name(&ct.name);
        if schema.tables.contains_key(&name) {
            if ct.if_not_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::DuplicateTable,
                format!("relation \"{name}\" already exists"),
            ));
        }
        if ct.query.is_some() || ct.like.is_some() {
            return Err(SqlError::unsupported("CREATE TABLE AS / LIKE"));
        }
        let mut columns = Vec::new();
        let mut primary_key: Vec<String> = Vec::new();
        let mut uniques: Vec<(Option<String>, Vec<String>)> = Vec::new();
        let mut checks = Vec::new();
        for c in &ct.columns {
            let col_name = ident(&c.name);
            if columns.iter().any(|x: &ColumnSchema| x.name == col_name) {
                return Err(SqlError::new(
                    SqlState::DuplicateColumn,
                    format!("column \"{col_name}\" specified more than once"),
                ));
            }
            let (ty, serial) = SqlType::parse(&c.data_type.to_string())?;
            let mut col = ColumnSchema {
                name: col_name.clone(),
                ty,
                not_null: serial,
                default: None,
                sequence: serial.then(|| Arc::new(AtomicI64::new(0))),
                hidden: false,
                pad: Value::Null,
                dropped: false,
                identity: None,
            };
            for opt in &c.options {
                match &opt.option {
                    ColumnOption::NotNull => col.not_null = true,
                    ColumnOption::Null => {}
                    ColumnOption::Default(e) => col.default = Some(e.clone()),
                    ColumnOption::PrimaryKey(_) => {
                        if !primary_key.is_empty() {
                            return Err(SqlError::new(
                                SqlState::InvalidTableDefinition,
                                format!(
                                    "multiple primary keys for table \"{name}\" are not allowed"
                                ),
                            ));
                        }
                        primary_key.push(col_name.clone());
                        col.not_null = true;
                    }
                    ColumnOption::Unique(_) => {
                        uniques.push((opt.name.as_ref().map(ident), vec![col_name.clone()]))
                    }
                    ColumnOption::Check(chk) => {
                        let cname = opt
                            .name
                            .as_ref()
                            .map(ident)
                            .unwrap_or_else(|| format!("{name}_{col_name}_check"));
                        checks.push((cname, (*chk.expr).clone()));
                    }
                    ColumnOption::Generated { .. } | ColumnOption::Identity(_) => {
                        col.sequence = Some(Arc::new(AtomicI64::new(0)));
                        col.not_null = true;
                    }
                    ColumnOption::ForeignKey(_) => {} // accepted, not enforced (see docs)
                    other => return Err(SqlError::unsupported(format!("column option {other}"))),
                }
            }
            columns.push(col);
        }
        for tc in &ct.constraints {
            match tc {
                TableConstraint::PrimaryKey(pk) => {
                    if !primary_key.is_empty() {
                        return Err(SqlError::new(
                            SqlState::InvalidTableDefinition,
                            format!("multiple primary keys for table \"{name}\" are not allowed"),
                        ));
                    }
                    primary_key = pk
                        .columns
                        .iter()
                        .map(|c| {
                            c.column.expr.to_string().to_lowercase().trim_matches('"').to_string()
                        })
                        .collect();
                }
                TableConstraint::Unique(u) => {
                    let cols = u
                        .columns
                        .iter()
                        .map(|c| {
                            c.column.expr.to_string().to_lowercase().trim_matches('"').to_string()
                        })
                        .collect();
                    uniques.push((u.name.as_ref().map(ident), cols));
                }
                TableConstraint::Check(chk) => {
                    let cname = chk
                        .name
                        .as_ref()
                        .map(ident)
                        .unwrap_or_else(|| format!("{name}_check{}", checks.len() + 1));
                    checks.push((cname, (*chk.expr).clone()));
                }
                TableConstraint::ForeignKey(_) => {}
                other => return Err(SqlError::unsupported(format!("constraint {other}"))),
            }
        }
        let hidden_key = primary_key.is_empty();
        if hidden_key {
            columns.push(ColumnSchema {
                name: ROW_ID.into(),
                ty: SqlType::Int8,
                not_null: true,
                default: None,
                sequence: Some(Arc::new(AtomicI64::new(0))),
                hidden: true,
                pad: Value::Null,
                dropped: false,
                identity: None,
            });
            primary_key.push(ROW_ID.into());
        }
        let mut pk_positions = Vec::new();
        for k in &primary_key {
            let i = columns.iter().position(|c| &c.name == k).ok_or_else(|| {
                SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{k}\" named in key does not exist"),
                )
            })?;
            columns[i].not_null = true;
            pk_positions.push(i);
        }
        let col_names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let pk_names: Vec<&str> = primary_key.iter().map(String::as_str).collect();
        let id = self.db.create_table(&name, &col_names, &pk_names)?;
        let mut indexes = Vec::new();
        for (i, (uname, cols)) in uniques.into_iter().enumerate() {
            let iname = uname.unwrap_or_else(|| {
                if i == 0 {
                    format!("{name}_{}_key", cols.join("_"))
                } else {
                    format!("{name}_{}_key{i}", cols.join("_"))
                }
            });
            let col_refs: Vec<&str> = cols.iter().map(String::as_str).collect();
            let positions = cols
                .iter()
                .map(|c| {
                    columns
                        .iter()
                        .position(|x| &x.name == c)
                        .ok_or_else(|| SqlError::undefined_column(c))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let iid = self.db.create_index(&iname, &name, &col_refs, true)?;
            indexes.push(IndexSchema {
                name: iname,
                id: iid,
                columns: positions,
                unique: true,
                constraint: Some(IndexConstraint::Unique),
            });
        }
        let oid = schema.allocate_oid();
        let primary_key_name = if hidden_key { String::new() } else { format!("{name}_pkey") };
        schema.tables.insert(
            name.clone(),
            Arc::new(TableSchema {
                name,
                id,
                columns,
                primary_key: pk_positions,
                hidden_key,
                indexes,
                primary_key_name,
                checks,
                foreign_keys: Vec::new(),
                oid,
            }),
        );
        schema.version += 1;
        Ok(())
    }

    /// DROP TABLE / DROP INDEX.
    fn drop_objects(
        &self,
        schema: &mut Schema,
        object_type: &ast::ObjectType,
        names: &[ast::ObjectName],
        if_exists: bool,
    ) -> Result<(), SqlError> {
        for n in names {
            let name = object_name(n);
            match object_type {
                ast::ObjectType::Table => {
                    if !schema.tables.contains_key(&name) {
                        if if_exists {
                            continue;
                        }
                        return Err(SqlError::undefined_table(&name));
                    }
                    self.db.drop_table(&name)?;
                    schema.tables.remove(&name);
                }
                ast::ObjectType::Index => {
                    let Some(owner) = schema.index_owner(&name).cloned() else {
                        if if_exists {
                            continue;
                        }
                        return Err(SqlError::new(
                            SqlState::UndefinedObject,
                            format!("index \"{name}\" does not exist"),
                        ));
                    };
                    self.db.drop_index(&name)?;
                    let mut t = clone_table(&owner);
                    t.indexes.retain(|i| i.name != name);
                    schema.tables.insert(t.name.clone(), Arc::new(t));
                }
                other => return Err(SqlError::unsupported(format!("DROP {other}"))),
            }
        }
        schema.version += 1;
        Ok(())
    }

    /// CREATE [UNIQUE] INDEX.
    fn create_index(&self, schema: &mut Schema, ci: &ast::CreateIndex) -> Result<(), SqlError> {
        let table_name = object_name(&ci.table_name);
        let table = schema
            .table(&table_name)
            .cloned()
            .ok_or_else(|| SqlError::undefined_table(&table_name))?;
        let cols = index_columns(&ci.columns)?;
        let name = ci
            .name
            .as_ref()
            .map(object_name)
            .unwrap_or_else(|| format!("{table_name}_{}_idx", cols.join("_")));
        if schema.tables.contains_key(&name) || schema.index_owner(&name).is_some() {
            if ci.if_not_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::DuplicateTable,
                format!("relation \"{name}\" already exists"),
            ));
        }
        if ci.predicate.is_some() {
            return Err(SqlError::unsupported("partial indexes"));
        }
        let positions = cols
            .iter()
            .map(|c| table.column_index(c).ok_or_else(|| SqlError::undefined_column(c)))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let id = self.db.create_index(&name, &table_name, &refs, ci.unique)?;
        let mut t = clone_table(&table);
        t.indexes.push(IndexSchema {
            name,
            id,
            columns: positions,
            unique: ci.unique,
            constraint: None,
        });
        schema.tables.insert(table_name, Arc::new(t));
        schema.version += 1;
        Ok(())
    }

    /// ALTER TABLE ... ADD PRIMARY KEY (pgbench -i adds its keys this way, after loading).
    /// A table created without a primary key keeps its hidden row id as the storage key; the
    /// primary key becomes a unique index named `<table>_pkey` over columns made NOT NULL, which
    /// the planner uses for point and range lookups. Refused (23502) if a committed row has a
    /// NULL there, (23505) if two share a key, (42P16) if the table has a primary key already.
    fn add_primary_key(
        &self,
        schema: &mut Schema,
        table_name: &str,
        cols: &[String],
    ) -> Result<(), SqlError> {
        let table = schema
            .table(table_name)
            .cloned()
            .ok_or_else(|| SqlError::undefined_table(table_name))?;
        let name = table.pkey_name();
        if !table.hidden_key || table.indexes.iter().any(|i| i.name == name) {
            return Err(SqlError::new(
                SqlState::InvalidTableDefinition,
                format!("multiple primary keys for table \"{table_name}\" are not allowed"),
            ));
        }
        let positions = cols
            .iter()
            .map(|c| table.column_index(c).ok_or_else(|| SqlError::undefined_column(c)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut txn = self.db.begin(crate::TxnOptions::new(IsolationLevel::ReadCommitted));
        let rows = txn.scan(table.id, (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded));
        txn.rollback();
        for (_, row) in rows? {
            if let Some(&p) =
                positions.iter().find(|&&p| row.get(p).is_none_or(|v| *v == Value::Null))
            {
                return Err(SqlError::new(
                    SqlState::NotNullViolation,
                    format!(
                        "column \"{}\" of relation \"{table_name}\" contains null values",
                        table.columns[p].name
                    ),
                ));
            }
        }
        let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let id = self.db.create_index(&name, table_name, &refs, true)?;
        let mut t = clone_table(&table);
        for &p in &positions {
            t.columns[p].not_null = true;
        }
        t.indexes.push(IndexSchema {
            name,
            id,
            columns: positions,
            unique: true,
            constraint: Some(IndexConstraint::PrimaryKey),
        });
        schema.tables.insert(table_name.to_string(), Arc::new(t));
        schema.version += 1;
        Ok(())
    }

    /// ALTER TABLE ... ADD COLUMN.
    fn add_column(
        &self,
        schema: &mut Schema,
        table_name: &str,
        c: &ast::ColumnDef,
        if_not_exists: bool,
    ) -> Result<(), SqlError> {
        let table = schema
            .table(table_name)
            .cloned()
            .ok_or_else(|| SqlError::undefined_table(table_name))?;
        let name = ident(&c.name);
        if table.column_index(&name).is_some() {
            if if_not_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::DuplicateColumn,
                format!("column \"{name}\" of relation \"{table_name}\" already exists"),
            ));
        }
        let (ty, serial) = SqlType::parse(&c.data_type.to_string())?;
        let mut col = ColumnSchema {
            name: name.clone(),
            ty,
            not_null: false,
            default: None,
            sequence: None,
            hidden: false,
            pad: Value::Null,
            dropped: false,
            identity: None,
        };
        for opt in &c.options {
            match &opt.option {
                ColumnOption::Null => {}
                ColumnOption::NotNull => col.not_null = true,
                ColumnOption::Default(e) => col.default = Some(e.clone()),
                other => return Err(SqlError::unsupported(format!("ADD COLUMN with {other}"))),
            }
        }
        if serial {
            return Err(SqlError::unsupported("ADD COLUMN of a serial column"));
        }
        if let Some(d) = &col.default {
            // rows already stored read the default's value now (PostgreSQL's fast default)
            let mut binder = crate::sql::plan::Binder::new(schema, vec![]);
            let b = binder.expr(d, &Default::default(), Some(ty))?;
            let b = binder.coerce(b, ty)?;
            match b {
                crate::sql::plan::BExpr::Const(v, _) => col.pad = v,
                _ => return Err(SqlError::unsupported("ADD COLUMN with a non-constant default")),
            }
        }
        if col.not_null && col.pad == Value::Null {
            return Err(SqlError::unsupported("ADD COLUMN NOT NULL without a default"));
        }
        self.db.add_column(table_name, &name)?;
        let mut t = clone_table(&table);
        t.columns.push(col);
        schema.tables.insert(table_name.into(), Arc::new(t));
        schema.version += 1;
        Ok(())
    }
}

fn ident(id: &ast::Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

/// A copy of a table's schema for a DDL change (columns share their sequences).
fn clone_table(t: &TableSchema) -> TableSchema {
    t.clone()
}

/// The column names of an index or key definition (expressions are not supported).
fn index_columns(columns: &[ast::IndexColumn]) -> Result<Vec<String>, SqlError> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(id) => Ok(ident(id)),
            other => Err(SqlError::unsupported(format!("index on expression {other}"))),
        })
        .collect()
}

impl DurableCatalog for Engine {
    fn database(&self) -> &Database {
        &self.db
    }

    fn replay_ddl(
        &self,
        record: &DdlRecord,
        ids: &mut HashMap<TableId, TableId>,
    ) -> crate::Result<()> {
        Engine::replay_ddl(self, record, ids)
    }

    fn with_stable_catalog(&self, f: &mut dyn FnMut(&CatalogCut)) {
        let schema = self.schema.read();
        let mut sequences = Vec::new();
        for t in schema.tables.values() {
            for (i, c) in t.columns.iter().enumerate() {
                if let Some(seq) = &c.sequence {
                    sequences.push((t.id, i as u32, seq.load(Ordering::SeqCst)));
                }
            }
        }
        let cut = CatalogCut {
            ddl_history: self.ddl_history.lock().clone(),
            tables: schema.tables.values().map(|t| t.id).collect(),
            sequences,
        };
        f(&cut);
        drop(schema);
    }

    fn serial_columns(&self) -> Vec<(TableId, usize, Arc<AtomicI64>)> {
        let schema = self.schema.read();
        let mut out = Vec::new();
        for t in schema.tables.values() {
            for (i, c) in t.columns.iter().enumerate() {
                if let Some(seq) = &c.sequence {
                    out.push((t.id, i, seq.clone()));
                }
            }
        }
        out
    }

    fn data_files(&self) -> Option<Arc<DataFiles>> {
        self.files.lock().clone()
    }
}
