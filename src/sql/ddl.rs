//! DDL: CREATE / DROP / ALTER of tables and indexes, applied to a working copy of the schema
//! inside a transaction (see `session::ddl` for how a transaction keeps, commits and rolls
//! back its schema changes) or replayed from the log at recovery.
//!
//! Invariants:
//! - a statement changes only the [`Schema`] it is given and the core catalog; every core
//!   change made while a transaction runs ([`DdlMode::Live`]) is recorded in
//!   [`DdlEffects::undo`] so a rollback can take it back, and nothing is destroyed before the
//!   commit: a dropped table or index is renamed out of the way and dropped by
//!   [`DdlEffects::after_commit`];
//! - the caller holds the locks [`ddl_locks`] names (exclusive on every table the statement
//!   changes, and on every relation name it creates), so no other transaction reads or writes
//!   what changes until the transaction ends;
//! - existing rows are checked (and rewritten, for ALTER COLUMN TYPE) only live, through the
//!   transaction, as it stands now ([`Transaction::scan_current`]); a failing row names itself
//!   and the statement changes nothing that outlives its transaction. Replay trusts the log.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use sqlparser::ast::{
    self, AlterColumnOperation, AlterTableOperation, ColumnOption, Statement, TableConstraint,
};

use crate::catalog::TableId;
use crate::error::SqlState;
use crate::sql::engine::{Engine, SEQUENCE_MARK, SEQUENCE_SET};
use crate::sql::error::SqlError;
use crate::sql::exec::fk::{column_list, fk_violation, value_list, visible_values};
use crate::sql::parse::dialect::IsolaDialect;
use crate::sql::parse::sequence::{AlterSequence, parse_alter_sequence};
use crate::sql::plan::object_name;
use crate::sql::schema::{
    ColumnSchema, FkAction, ForeignKey, Identity, IndexConstraint, IndexSchema, ROW_ID, Schema,
    SequenceSchema, TableSchema, next_schema_version,
};
use crate::sql::types::SqlType;
use crate::txn::Transaction;
use crate::types::{Row, Value};
use crate::wal::DdlRecord;

mod comment;
mod enum_type;
mod view;
pub(crate) use comment::log_text;

/// A DDL statement: one sqlparser parsed, or an ALTER SEQUENCE isola read itself.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DdlStatement<'s> {
    Sql(&'s Statement),
    AlterSequence(&'s AlterSequence),
}

/// Whether a statement runs in a live transaction (checking and rewriting rows through it,
/// keeping what it destroys until the commit) or is replayed at recovery.
pub(crate) enum DdlMode<'t> {
    Live(&'t mut Transaction),
    Replay,
}

/// A core catalog change, to take back on rollback or to make after the commit.
#[derive(Clone, Debug)]
pub(crate) enum CoreChange {
    DropTable(String),
    DropIndex(String),
    Rename { from: String, to: String },
    RenameColumn { table: String, from: String, to: String },
    RemoveLastColumn(String),
}

/// What applying DDL did beyond the schema it changed.
#[derive(Default, Debug)]
pub(crate) struct DdlEffects {
    /// Relation names whose definition changed (created, altered, dropped, renamed).
    pub touched: Vec<String>,
    /// Core changes made, to take back (last first) if the transaction rolls back.
    pub undo: Vec<CoreChange>,
    /// Core changes to make once the transaction has committed.
    pub after_commit: Vec<CoreChange>,
    /// The id of the table a CREATE TABLE made.
    pub created_table: Option<TableId>,
    /// Replaying a logged CREATE TABLE: the id it had where it was logged.
    pub logged_table_id: Option<TableId>,
    /// Sequence names created, changed or dropped.
    pub touched_sequences: Vec<String>,
    /// View names created, replaced or dropped.
    pub touched_views: Vec<String>,
    /// Enum type names created, changed or dropped.
    pub touched_types: Vec<String>,
}

impl DdlEffects {
    fn touch(&mut self, name: &str) {
        if !self.touched.iter().any(|n| n == name) {
            self.touched.push(name.to_string());
        }
    }

    fn touch_sequence(&mut self, name: &str) {
        if !self.touched_sequences.iter().any(|n| n == name) {
            self.touched_sequences.push(name.to_string());
        }
    }
}

/// The locks a DDL statement needs before it runs: exclusive on these tables, and on these
/// relation names (which it creates).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct DdlLocks {
    pub tables: Vec<TableId>,
    pub names: Vec<String>,
}

/// What `stmt` must lock, read off `schema` (names that do not exist are left for the
/// statement itself to report).
pub(crate) fn ddl_locks(schema: &Schema, stmt: DdlStatement<'_>) -> DdlLocks {
    let mut locks = DdlLocks::default();
    let stmt = match stmt {
        DdlStatement::Sql(stmt) => stmt,
        DdlStatement::AlterSequence(alter) => {
            locks.names.push(alter.name.clone());
            return locks;
        }
    };
    let table = |locks: &mut DdlLocks, name: &str| {
        if let Some(t) = schema.table(name) {
            if !locks.tables.contains(&t.id) {
                locks.tables.push(t.id);
            }
            // Whatever references it may change with it (CASCADE, constraint checks).
            for (child, _) in schema.referencing(t.id) {
                if !locks.tables.contains(&child.id) {
                    locks.tables.push(child.id);
                }
            }
        }
    };
    match stmt {
        Statement::CreateTable(ct) => {
            locks.names.push(object_name(&ct.name));
            for fk in create_table_foreign_keys(ct) {
                table(&mut locks, &object_name(&fk.foreign_table));
            }
        }
        Statement::CreateSequence { name, .. } => locks.names.push(object_name(name)),
        Statement::CreateView(cv) => locks.names.push(object_name(&cv.name)),
        Statement::CreateType { name, .. } => locks.names.push(object_name(name)),
        Statement::AlterType(at) => {
            let name = object_name(&at.name);
            for t in enum_type::tables_using(schema, &name) {
                table(&mut locks, &t);
            }
            if let ast::AlterTypeOperation::Rename(r) = &at.operation {
                locks.names.push(ident(&r.new_name));
            }
            locks.names.push(name);
        }
        Statement::Drop { object_type: ast::ObjectType::Type, names, .. } => {
            for n in names {
                let n = object_name(n);
                for t in enum_type::tables_using(schema, &n) {
                    table(&mut locks, &t);
                }
                locks.names.push(n);
            }
        }
        Statement::CreateIndex(ci) => {
            table(&mut locks, &object_name(&ci.table_name));
            if let Some(n) = &ci.name {
                locks.names.push(object_name(n));
            }
        }
        Statement::Drop { object_type, names, .. } => {
            for n in names {
                let n = object_name(n);
                match object_type {
                    ast::ObjectType::Index => {
                        if let Some(owner) = schema.index_owner(&n) {
                            let owner = owner.name.clone();
                            table(&mut locks, &owner);
                        }
                    }
                    _ => table(&mut locks, &n),
                }
            }
        }
        Statement::AlterTable(at) => {
            table(&mut locks, &object_name(&at.name));
            for op in &at.operations {
                match op {
                    AlterTableOperation::AddConstraint {
                        constraint: TableConstraint::ForeignKey(fk),
                        ..
                    } => table(&mut locks, &object_name(&fk.foreign_table)),
                    AlterTableOperation::RenameTable { table_name } => {
                        locks.names.push(object_name(rename_target(table_name)))
                    }
                    _ => {}
                }
            }
        }
        Statement::Comment { object_name, object_type, .. } => {
            if let Some(name) = comment::table_of(*object_type, object_name)
                && let Some(t) = schema.table(&name)
            {
                locks.tables.push(t.id);
            }
        }
        Statement::AlterIndex { name, operation } => {
            if let Some(owner) = schema.index_owner(&object_name(name)) {
                let owner = owner.name.clone();
                table(&mut locks, &owner);
            }
            let ast::AlterIndexOperation::RenameIndex { index_name } = operation;
            locks.names.push(object_name(index_name));
        }
        _ => {}
    }
    locks
}

fn rename_target(kind: &ast::RenameTableNameKind) -> &ast::ObjectName {
    match kind {
        ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => n,
    }
}

/// The FOREIGN KEY clauses of a CREATE TABLE (column and table constraints).
fn create_table_foreign_keys(ct: &ast::CreateTable) -> Vec<&ast::ForeignKeyConstraint> {
    let mut out = Vec::new();
    for c in &ct.columns {
        for opt in &c.options {
            if let ColumnOption::ForeignKey(fk) = &opt.option {
                out.push(fk);
            }
        }
    }
    for tc in &ct.constraints {
        if let TableConstraint::ForeignKey(fk) = tc {
            out.push(fk);
        }
    }
    out
}

/// A name no user object has, for what a transaction dropped until it commits.
fn tombstone(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{name}........dropped.{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn ident(id: &ast::Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

/// The column names of an index or key definition (expressions are not supported).
pub(crate) fn index_columns(columns: &[ast::IndexColumn]) -> Result<Vec<String>, SqlError> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(id) => Ok(ident(id)),
            other => Err(SqlError::unsupported(format!("index on expression {other}"))),
        })
        .collect()
}

/// The sort order declared per index column, as PostgreSQL's `indoption` bits (1: DESC, 2:
/// NULLS FIRST, which DESC implies unless NULLS LAST); `USING op` is refused (0A000).
fn index_options(columns: &[ast::IndexColumn]) -> Result<Vec<i16>, SqlError> {
    columns
        .iter()
        .map(|c| {
            let desc = match &c.column.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(ast::OrderBySort::Using(_)) => {
                    return Err(SqlError::unsupported("an index column ordered USING an operator"));
                }
            };
            let nulls_first = c.column.options.nulls_first.unwrap_or(desc);
            Ok(i16::from(desc) | (i16::from(nulls_first) << 1))
        })
        .collect()
}

fn duplicate_relation(name: &str) -> SqlError {
    SqlError::new(SqlState::DuplicateTable, format!("relation \"{name}\" already exists"))
}

fn fk_action(a: Option<ast::ReferentialAction>) -> FkAction {
    match a {
        None | Some(ast::ReferentialAction::NoAction) => FkAction::NoAction,
        Some(ast::ReferentialAction::Restrict) => FkAction::Restrict,
        Some(ast::ReferentialAction::Cascade) => FkAction::Cascade,
        Some(ast::ReferentialAction::SetNull) => FkAction::SetNull,
        Some(ast::ReferentialAction::SetDefault) => FkAction::SetDefault,
    }
}

fn deferral(c: &Option<ast::ConstraintCharacteristics>) -> (bool, bool) {
    let Some(c) = c else { return (false, false) };
    let deferred = c.initially == Some(ast::DeferrableInitial::Deferred);
    (c.deferrable.unwrap_or(false) || deferred, deferred)
}

impl Engine {
    /// Makes a core change now.
    pub(crate) fn apply_core(&self, change: &CoreChange) -> crate::Result<()> {
        match change {
            CoreChange::DropTable(name) => self.db.drop_table(name),
            CoreChange::DropIndex(name) => self.db.drop_index(name),
            CoreChange::Rename { from, to } => self.db.rename_table(from, to),
            CoreChange::RenameColumn { table, from, to } => self.db.rename_column(table, from, to),
            CoreChange::RemoveLastColumn(table) => self.db.remove_last_column(table),
        }
    }

    /// Takes back core changes, last first (a rolled-back transaction's). A failure here
    /// would leave the core catalog ahead of the schema; it is reported, not hidden.
    pub(crate) fn undo_core(&self, changes: &[CoreChange]) {
        for change in changes.iter().rev() {
            if let Err(e) = self.apply_core(change) {
                eprintln!("isola: taking back {change:?} after a rollback failed: {e}");
            }
        }
    }

    /// Recovery: re-runs a logged DDL statement. A table it creates may get another id than
    /// it had when logged; `ids` maps logged ids to current ones.
    pub(crate) fn replay_ddl(
        &self,
        record: &DdlRecord,
        ids: &mut HashMap<TableId, TableId>,
    ) -> crate::Result<()> {
        let corrupt = |why: String| {
            crate::Error::Corrupt(format!("replaying DDL \"{}\": {why}", record.text))
        };
        let mut guard = self.schema.write();
        let schema = Arc::make_mut(&mut guard);
        let mut fx = DdlEffects { logged_table_id: record.created_table, ..Default::default() };
        if let Some(alter) = parse_alter_sequence(&record.text) {
            let alter = alter.map_err(|e| corrupt(e.message))?;
            if record.text.starts_with(SEQUENCE_SET) {
                let next = alter.restart.flatten().unwrap_or(1);
                match schema.sequence(&alter.name) {
                    Some(seq) => seq.restart(next),
                    None => {
                        self.pending_marks.lock().insert(alter.name.clone(), next);
                    }
                }
                return Ok(());
            }
            if record.text.starts_with(SEQUENCE_MARK) {
                // A high-water mark: raise (never lower) the sequence, or keep it for the
                // CREATE still to be replayed (a sequence used in its creating transaction).
                let mark = alter.restart.flatten().unwrap_or(i64::MIN);
                match schema.sequence(&alter.name) {
                    Some(seq) => seq.raise_to(mark),
                    None => {
                        self.pending_marks.lock().insert(alter.name.clone(), mark);
                    }
                }
                return Ok(());
            }
            self.apply_ddl(schema, DdlStatement::AlterSequence(&alter), DdlMode::Replay, &mut fx)
                .map_err(|e| corrupt(e.message))?;
        } else {
            let stmts =
                sqlparser::parser::Parser::parse_sql(&IsolaDialect::default(), &record.text)
                    .map_err(|e| corrupt(e.to_string()))?;
            let [stmt] = stmts.as_slice() else { return Err(corrupt("not one statement".into())) };
            self.apply_ddl(schema, DdlStatement::Sql(stmt), DdlMode::Replay, &mut fx)
                .map_err(|e| corrupt(e.message))?;
        }
        for name in &fx.touched_sequences {
            if let (Some(mark), Some(seq)) =
                (self.pending_marks.lock().remove(name), schema.sequence(name))
            {
                seq.raise_to(mark);
            }
        }
        let mut live = record.clone();
        if let Some(logged) = record.created_table {
            let now =
                fx.created_table.ok_or_else(|| corrupt("the table was not created".into()))?;
            ids.insert(logged, now);
            live.created_table = Some(now);
        }
        self.ddl_history.lock().push(live);
        Ok(())
    }

    /// Applies one DDL statement to `schema`.
    pub(crate) fn apply_ddl(
        &self,
        schema: &mut Schema,
        stmt: DdlStatement<'_>,
        mode: DdlMode<'_>,
        fx: &mut DdlEffects,
    ) -> Result<(), SqlError> {
        let mut ddl = Ddl { engine: self, schema, mode, fx };
        match stmt {
            DdlStatement::Sql(stmt) => ddl.statement(stmt)?,
            DdlStatement::AlterSequence(alter) => ddl.alter_sequence(alter)?,
        }
        ddl.schema.version = next_schema_version();
        Ok(())
    }
}

/// 23505 if two of `keys` (a unique index's keys, one per row) are equal and without NULLs,
/// naming the smallest such key: the keys are sorted once, as PostgreSQL's index build sorts.
fn refuse_shared_key(
    table: &TableSchema,
    positions: &[usize],
    name: &str,
    mut keys: Vec<crate::types::Key>,
) -> Result<(), SqlError> {
    keys.retain(|k| !k.contains(&Value::Null));
    keys.sort_unstable();
    let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) else { return Ok(()) };
    Err(SqlError::new(
        SqlState::UniqueViolation,
        format!("could not create unique index \"{name}\""),
    )
    .with_detail(format!(
        "Key ({})=({}) is duplicated.",
        column_list(table, positions),
        value_list(&pair[0])
    ))
    .on_table(&table.name, None, Some(name)))
}

struct Ddl<'a, 't> {
    engine: &'a Engine,
    schema: &'a mut Schema,
    mode: DdlMode<'t>,
    fx: &'a mut DdlEffects,
}

impl Ddl<'_, '_> {
    fn live(&self) -> bool {
        matches!(self.mode, DdlMode::Live(_))
    }

    fn statement(&mut self, stmt: &Statement) -> Result<(), SqlError> {
        match stmt {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateView(cv) => self.create_view(cv),
            Statement::CreateType { name, representation } => {
                self.create_type(name, representation.as_ref())
            }
            Statement::AlterType(at) => self.alter_type(at),
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::CreateSequence {
                if_not_exists,
                name,
                data_type,
                sequence_options,
                owned_by,
                ..
            } => self.create_sequence(
                &object_name(name),
                *if_not_exists,
                data_type.as_ref(),
                sequence_options,
                owned_by.as_ref(),
            ),
            Statement::Drop { object_type, if_exists, names, cascade, .. } => {
                for n in names {
                    let name = object_name(n);
                    match object_type {
                        ast::ObjectType::Table => {
                            self.not_a_view(&name)?;
                            self.drop_table(&name, *if_exists, *cascade)?
                        }
                        ast::ObjectType::View => self.drop_view(&name, *if_exists, *cascade)?,
                        ast::ObjectType::Type => self.drop_type(&name, *if_exists, *cascade)?,
                        ast::ObjectType::Index => self.drop_index(&name, *if_exists)?,
                        ast::ObjectType::Sequence => {
                            self.drop_sequence(&name, *if_exists, *cascade)?
                        }
                        other => return Err(SqlError::unsupported(format!("DROP {other}"))),
                    }
                }
                Ok(())
            }
            Statement::AlterTable(at) => {
                let mut table = object_name(&at.name);
                if self.schema.table(&table).is_none() && self.schema.sequence(&table).is_some() {
                    // ALTER TABLE reaches a sequence too: pg_dump sets a sequence's owner so
                    // (isola has one owner: accepted); nothing else applies to a sequence
                    return match at.operations.as_slice() {
                        [AlterTableOperation::OwnerTo { .. }] => Ok(()),
                        _ => Err(SqlError::new(
                            SqlState::WrongObjectType,
                            format!("\"{table}\" is not a table"),
                        )),
                    };
                }
                if self.schema.table(&table).is_none() {
                    if at.if_exists {
                        return Ok(());
                    }
                    return Err(SqlError::undefined_table(&table));
                }
                for op in &at.operations {
                    self.alter_table(&mut table, op)?;
                }
                Ok(())
            }
            Statement::AlterIndex { name, operation } => {
                let ast::AlterIndexOperation::RenameIndex { index_name } = operation;
                self.rename_index(&object_name(name), &object_name(index_name))
            }
            Statement::Comment { object_type, object_name, comment, if_exists } => {
                self.comment(*object_type, object_name, comment.as_deref(), *if_exists)
            }
            other => Err(SqlError::unsupported(format!(
                "statement {}",
                other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            ))),
        }
    }

    fn table(&self, name: &str) -> Result<Arc<TableSchema>, SqlError> {
        self.schema.table(name).cloned().ok_or_else(|| SqlError::undefined_table(name))
    }

    fn put(&mut self, t: TableSchema) {
        self.fx.touch(&t.name);
        self.schema.tables.insert(t.name.clone(), Arc::new(t));
    }

    fn relation_exists(&self, name: &str) -> bool {
        self.schema.tables.contains_key(name)
            || self.schema.views.contains_key(name)
            || self.schema.sequences.contains_key(name)
            || self.schema.index_owner(name).is_some()
    }

    fn put_sequence(&mut self, seq: SequenceSchema) {
        self.fx.touch_sequence(&seq.name);
        self.schema.sequences.insert(seq.name.clone(), Arc::new(seq));
    }

    /// A name for a new relation: `base`, or `base1`, `base2`... if taken.
    fn free_name(&self, base: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 1;
        while self.relation_exists(&candidate) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        candidate
    }

    /// The sequence a serial or identity column draws from: `<table>_<column>_seq`, owned
    /// by the column, sharing its counter.
    fn column_sequence(&mut self, table: &TableSchema, position: usize) -> Result<(), SqlError> {
        let col = &table.columns[position];
        let Some(last) = col.sequence.clone() else { return Ok(()) };
        let name = self.free_name(&format!("{}_{}_seq", table.name, col.name));
        let mut seq = SequenceSchema::new(&name, col.ty);
        seq.owned_by = Some((table.id, position));
        seq.last = last;
        seq.last.store(seq.start - seq.increment, Ordering::SeqCst);
        self.put_sequence(seq);
        Ok(())
    }

    /// Drops the sequences owned by a table's columns (`column`: only that one's).
    fn drop_owned_sequences(&mut self, table: TableId, column: Option<usize>) {
        let owned: Vec<String> = self
            .schema
            .sequences
            .values()
            .filter(|s| {
                s.owned_by.is_some_and(|(t, c)| t == table && column.is_none_or(|x| x == c))
            })
            .map(|s| s.name.clone())
            .collect();
        for name in owned {
            self.schema.sequences.remove(&name);
            self.fx.touch_sequence(&name);
        }
    }

    fn create_sequence(
        &mut self,
        name: &str,
        if_not_exists: bool,
        data_type: Option<&ast::DataType>,
        options: &[ast::SequenceOptions],
        owned_by: Option<&ast::ObjectName>,
    ) -> Result<(), SqlError> {
        if self.relation_exists(name) {
            if if_not_exists {
                return Ok(());
            }
            return Err(duplicate_relation(name));
        }
        let ty = match data_type {
            Some(t) => match SqlType::parse(&t.to_string())? {
                (ty @ (SqlType::Int2 | SqlType::Int4 | SqlType::Int8), false) => ty,
                _ => {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        "sequence type must be smallint, integer, or bigint",
                    ));
                }
            },
            None => SqlType::Int8,
        };
        let mut seq = SequenceSchema::new(name, ty);
        apply_sequence_options(&mut seq, options, true)?;
        seq.last.store(seq.start - seq.increment, Ordering::SeqCst);
        if let Some(owner) = owned_by {
            seq.owned_by = self.sequence_owner(owner)?;
        }
        self.put_sequence(seq);
        Ok(())
    }

    /// `OWNED BY table.column` (or NONE).
    fn sequence_owner(
        &self,
        owner: &ast::ObjectName,
    ) -> Result<Option<(TableId, usize)>, SqlError> {
        let parts: Vec<String> = owner.0.iter().filter_map(|p| p.as_ident()).map(ident).collect();
        match parts.as_slice() {
            [none] if none == "none" => Ok(None),
            [.., table, column] => {
                let t = self.table(table)?;
                let c = t.column_index(column).ok_or_else(|| SqlError::undefined_column(column))?;
                Ok(Some((t.id, c)))
            }
            _ => Err(SqlError::new(SqlState::InvalidParameterValue, "invalid OWNED BY option")),
        }
    }

    fn drop_sequence(
        &mut self,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), SqlError> {
        let Some(seq) = self.schema.sequence(name).cloned() else {
            if if_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("sequence \"{name}\" does not exist"),
            ));
        };
        if let Some((t, c)) = seq.owned_by
            && let Some(table) = self.schema.table_by_id(t).cloned()
            && table.columns[c].sequence.as_ref().is_some_and(|s| Arc::ptr_eq(s, &seq.last))
        {
            if !cascade {
                return Err(SqlError::new(
                    SqlState::DependentObjectsStillExist,
                    format!("cannot drop sequence {name} because other objects depend on it"),
                )
                .with_detail(format!(
                    "default value for column {} of table {} depends on sequence {name}",
                    table.columns[c].name, table.name
                )));
            }
            let mut t = (*table).clone();
            t.columns[c].sequence = None;
            t.columns[c].identity = None;
            self.put(t);
        }
        self.schema.sequences.remove(name);
        self.fx.touch_sequence(name);
        Ok(())
    }

    /// ALTER SEQUENCE (parsed by isola: sqlparser does not).
    fn alter_sequence(&mut self, alter: &AlterSequence) -> Result<(), SqlError> {
        if alter.create {
            let data_type = match &alter.data_type {
                Some(t) => Some(
                    sqlparser::parser::Parser::new(&IsolaDialect::default())
                        .try_with_sql(t)
                        .and_then(|mut p| p.parse_data_type())
                        .map_err(|e| SqlError::syntax(e.to_string()))?,
                ),
                None => None,
            };
            self.create_sequence(
                &alter.name,
                alter.if_exists,
                data_type.as_ref(),
                &alter.options,
                alter.owned_by.as_ref(),
            )?;
            if let Some(Some(restart)) = alter.restart
                && let Some(seq) = self.schema.sequence(&alter.name)
            {
                seq.restart(restart);
            }
            return Ok(());
        }
        let Some(seq) = self.schema.sequence(&alter.name).cloned() else {
            if alter.if_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("relation \"{}\" does not exist", alter.name),
            ));
        };
        let mut s = (*seq).clone();
        apply_sequence_options(&mut s, &alter.options, false)?;
        if let Some(owner) = &alter.owned_by {
            s.owned_by = self.sequence_owner(owner)?;
        }
        if let Some(restart) = alter.restart {
            s.restart(restart.unwrap_or(s.start));
        }
        if let Some(to) = &alter.rename_to {
            if self.relation_exists(to) {
                return Err(duplicate_relation(to));
            }
            self.schema.sequences.remove(&s.name);
            self.fx.touch_sequence(&s.name);
            s.name = to.to_string();
        }
        self.put_sequence(s);
        Ok(())
    }

    /// The rows of a table as they stand now (live only; none at replay).
    fn current_rows(
        &mut self,
        table: &TableSchema,
    ) -> Result<Vec<(crate::types::Key, Row)>, SqlError> {
        match &mut self.mode {
            DdlMode::Live(txn) => Ok(txn
                .scan_current(table.id)?
                .into_iter()
                .map(|(k, r)| (k, table.pad_row(r)))
                .collect()),
            DdlMode::Replay => Ok(Vec::new()),
        }
    }

    /// The values of some columns of each row of a table as it stands now, padded as
    /// [`TableSchema::pad_row`] pads (live only; none at replay).
    fn current_columns(
        &mut self,
        table: &TableSchema,
        positions: &[usize],
    ) -> Result<Vec<crate::types::Key>, SqlError> {
        let DdlMode::Live(txn) = &mut self.mode else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        txn.visit_current(table.id, &mut |_, row| {
            // Only the wanted columns are decoded (a column added later is padded).
            let stored = row.len();
            let value =
                |p: usize| if p < stored { row.column(p) } else { table.columns[p].pad.clone() };
            out.push(positions.iter().map(|&p| value(p)).collect());
        })?;
        Ok(out)
    }

    fn create_table(&mut self, ct: &ast::CreateTable) -> Result<(), SqlError> {
        let name = object_name(&ct.name);
        if self.relation_exists(&name) {
            if ct.if_not_exists {
                return Ok(());
            }
            return Err(duplicate_relation(&name));
        }
        if self.schema.types.contains_key(&name) {
            // a table has a row type of its name in PostgreSQL
            return Err(enum_type::duplicate_type(&name));
        }
        if ct.query.is_some() || ct.like.is_some() {
            return Err(SqlError::unsupported("CREATE TABLE AS / LIKE"));
        }
        let mut columns = Vec::new();
        let mut primary_key: Vec<String> = Vec::new();
        let mut pk_name: Option<String> = None;
        let mut uniques: Vec<(Option<String>, Vec<String>)> = Vec::new();
        let mut checks = Vec::new();
        let mut fks: Vec<(Vec<String>, ast::ForeignKeyConstraint)> = Vec::new();
        let multiple_keys = || {
            SqlError::new(
                SqlState::InvalidTableDefinition,
                format!("multiple primary keys for table \"{name}\" are not allowed"),
            )
        };
        for c in &ct.columns {
            let col_name = ident(&c.name);
            if columns.iter().any(|x: &ColumnSchema| x.name == col_name) {
                return Err(SqlError::new(
                    SqlState::DuplicateColumn,
                    format!("column \"{col_name}\" specified more than once"),
                ));
            }
            let (ty, serial) = self.schema.parse_type(&c.data_type.to_string())?;
            let mut col = new_column(&col_name, ty);
            if serial {
                col.not_null = true;
                col.sequence = Some(Arc::new(AtomicI64::new(0)));
            }
            for opt in &c.options {
                match &opt.option {
                    ColumnOption::NotNull => col.not_null = true,
                    ColumnOption::Null => {}
                    ColumnOption::Default(e) => col.default = Some(e.clone()),
                    ColumnOption::PrimaryKey(_) => {
                        if !primary_key.is_empty() {
                            return Err(multiple_keys());
                        }
                        primary_key.push(col_name.clone());
                        pk_name = opt.name.as_ref().map(ident);
                        col.not_null = true;
                    }
                    ColumnOption::Unique(_) => {
                        uniques.push((opt.name.as_ref().map(ident), vec![col_name.clone()]))
                    }
                    ColumnOption::Check(chk) => {
                        let cname = opt.name.as_ref().map(ident).unwrap_or_else(|| {
                            // a column's CHECK may read the table's other columns too
                            let names: Vec<String> =
                                ct.columns.iter().map(|c| ident(&c.name)).collect();
                            let names: Vec<&str> = names.iter().map(String::as_str).collect();
                            check_name(&name, &names, &chk.expr, &|n| {
                                checks.iter().any(|(c, _)| c == n)
                            })
                        });
                        checks.push((cname, (*chk.expr).clone()));
                    }
                    ColumnOption::Generated { generated_as, generation_expr: None, .. } => {
                        col.sequence = Some(Arc::new(AtomicI64::new(0)));
                        col.not_null = true;
                        col.identity = Some(match generated_as {
                            ast::GeneratedAs::ByDefault => Identity::ByDefault,
                            _ => Identity::Always,
                        });
                    }
                    ColumnOption::Identity(_) => {
                        col.sequence = Some(Arc::new(AtomicI64::new(0)));
                        col.not_null = true;
                        col.identity = Some(Identity::ByDefault);
                    }
                    ColumnOption::ForeignKey(fk) => {
                        let mut fk = fk.clone();
                        if fk.name.is_none() {
                            fk.name = opt.name.clone();
                        }
                        fks.push((vec![col_name.clone()], fk));
                    }
                    other => return Err(SqlError::unsupported(format!("column option {other}"))),
                }
            }
            columns.push(col);
        }
        for tc in &ct.constraints {
            match tc {
                TableConstraint::PrimaryKey(pk) => {
                    if !primary_key.is_empty() {
                        return Err(multiple_keys());
                    }
                    primary_key = index_columns(&pk.columns)?;
                    pk_name = pk.name.as_ref().map(ident);
                }
                TableConstraint::Unique(u) => {
                    uniques.push((u.name.as_ref().map(ident), index_columns(&u.columns)?));
                }
                TableConstraint::Check(chk) => {
                    let cname = chk.name.as_ref().map(ident).unwrap_or_else(|| {
                        let names: Vec<&str> =
                            columns.iter().map(|c: &ColumnSchema| c.name.as_str()).collect();
                        check_name(&name, &names, &chk.expr, &|n| {
                            checks.iter().any(|(c, _)| c == n)
                        })
                    });
                    checks.push((cname, (*chk.expr).clone()));
                }
                TableConstraint::ForeignKey(fk) => {
                    fks.push((fk.columns.iter().map(ident).collect(), fk.clone()));
                }
                other => return Err(SqlError::unsupported(format!("constraint {other}"))),
            }
        }
        let hidden_key = primary_key.is_empty();
        if hidden_key {
            let mut row_id = new_column(ROW_ID, SqlType::Int8);
            row_id.not_null = true;
            row_id.sequence = Some(Arc::new(AtomicI64::new(0)));
            row_id.hidden = true;
            columns.push(row_id);
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
        let id = match self.fx.logged_table_id {
            Some(want) => self.engine.db.create_table_at(want, &name, &col_names, &pk_names)?,
            None => self.engine.db.create_table(&name, &col_names, &pk_names)?,
        };
        self.fx.created_table = Some(id);
        self.fx.undo.push(CoreChange::DropTable(name.clone()));
        let mut table = TableSchema {
            name: name.clone(),
            id,
            columns,
            primary_key: pk_positions,
            hidden_key,
            indexes: Vec::new(),
            primary_key_name: match (hidden_key, pk_name) {
                (true, _) => String::new(),
                (false, Some(n)) => n,
                (false, None) => format!("{name}_pkey"),
            },
            checks,
            foreign_keys: Vec::new(),
            oid: crate::sql::schema::allocate_oid(),
            comment: None,
        };
        let mut used_names: HashSet<String> = HashSet::new();
        for (uname, cols) in uniques {
            let iname = uname.unwrap_or_else(|| {
                let base = format!("{name}_{}_key", cols.join("_"));
                let mut candidate = base.clone();
                let mut n = 1;
                while used_names.contains(&candidate) || self.relation_exists(&candidate) {
                    candidate = format!("{base}{n}");
                    n += 1;
                }
                candidate
            });
            if self.relation_exists(&iname) || !used_names.insert(iname.clone()) {
                return Err(duplicate_relation(&iname));
            }
            let positions = positions_of(&table, &cols)?;
            let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
            let iid = self.engine.db.create_index(&iname, &name, &refs, true)?;
            table.indexes.push(IndexSchema {
                name: iname,
                id: iid,
                columns: positions,
                unique: true,
                options: Vec::new(),
                constraint: Some(IndexConstraint::Unique),
            });
        }
        // Put the table in place first: a foreign key may reference the table itself.
        let serials: Vec<usize> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.sequence.is_some() && !c.hidden)
            .map(|(i, _)| i)
            .collect();
        for position in serials {
            self.column_sequence(&table, position)?;
        }
        self.put(table);
        for (cols, fk) in fks {
            self.add_foreign_key(&name, &cols, &fk)?;
        }
        Ok(())
    }

    /// Resolves and adds a FOREIGN KEY (checking existing rows when live).
    fn add_foreign_key(
        &mut self,
        table_name: &str,
        cols: &[String],
        fk: &ast::ForeignKeyConstraint,
    ) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
        let parent_name = object_name(&fk.foreign_table);
        let parent = self.table(&parent_name)?;
        let columns = positions_of(&table, cols)?;
        let parent_columns = if fk.referred_columns.is_empty() {
            if parent.hidden_key {
                match parent
                    .indexes
                    .iter()
                    .find(|i| i.constraint == Some(IndexConstraint::PrimaryKey))
                {
                    Some(pk) => pk.columns.clone(),
                    None => {
                        return Err(SqlError::new(
                            SqlState::UndefinedObject,
                            format!(
                                "there is no primary key for referenced table \"{parent_name}\""
                            ),
                        ));
                    }
                }
            } else {
                parent.primary_key.clone()
            }
        } else {
            let names: Vec<String> = fk.referred_columns.iter().map(ident).collect();
            positions_of(&parent, &names)?
        };
        if columns.len() != parent_columns.len() {
            return Err(SqlError::new(
                SqlState::InvalidForeignKey,
                "number of referencing and referenced columns for foreign key disagree",
            ));
        }
        let unique_target = (!parent.hidden_key && same_set(&parent.primary_key, &parent_columns))
            || parent.indexes.iter().any(|i| i.unique && same_set(&i.columns, &parent_columns));
        if !unique_target {
            return Err(SqlError::new(
                SqlState::InvalidForeignKey,
                format!(
                    "there is no unique constraint matching given keys for referenced table \"{parent_name}\""
                ),
            ));
        }
        for (&c, &p) in columns.iter().zip(&parent_columns) {
            let (a, b) = (table.columns[c].ty, parent.columns[p].ty);
            if a.is_numeric() != b.is_numeric()
                || (!a.is_numeric() && a != b && !(a.is_textual() && b.is_textual()))
            {
                return Err(SqlError::new(
                    SqlState::DatatypeMismatch,
                    format!(
                        "foreign key constraint cannot be implemented: key columns \"{}\" and \"{}\" are of incompatible types: {} and {}",
                        table.columns[c].name,
                        parent.columns[p].name,
                        a.name(),
                        b.name()
                    ),
                ));
            }
        }
        let name = fk
            .name
            .as_ref()
            .map(ident)
            .unwrap_or_else(|| format!("{table_name}_{}_fkey", cols.join("_")));
        if table.foreign_keys.iter().any(|f| f.name == name)
            || table.checks.iter().any(|(n, _)| *n == name)
        {
            return Err(SqlError::new(
                SqlState::DuplicateObject,
                format!("constraint \"{name}\" for relation \"{table_name}\" already exists"),
            ));
        }
        let (deferrable, initially_deferred) = deferral(&fk.characteristics);
        let foreign_key = ForeignKey {
            name,
            columns,
            parent: parent.id,
            parent_columns,
            on_delete: fk_action(fk.on_delete),
            on_update: fk_action(fk.on_update),
            deferrable,
            initially_deferred,
        };
        if self.live() {
            self.check_existing_references(&table, &parent, &foreign_key)?;
        }
        let mut t = (*table).clone();
        t.foreign_keys.push(foreign_key);
        self.put(t);
        Ok(())
    }

    /// Every row's reference (with no NULL in it) must name a parent row.
    fn check_existing_references(
        &mut self,
        table: &TableSchema,
        parent: &TableSchema,
        fk: &ForeignKey,
    ) -> Result<(), SqlError> {
        let rows = self.current_rows(table)?;
        if rows.is_empty() {
            return Ok(());
        }
        let parent_rows =
            if parent.id == table.id { rows.clone() } else { self.current_rows(parent)? };
        let keys: HashSet<Vec<Value>> = parent_rows
            .iter()
            .map(|(_, r)| fk.parent_columns.iter().map(|&c| r[c].clone()).collect())
            .collect();
        for (_, row) in &rows {
            let key: Vec<Value> = fk.columns.iter().map(|&c| row[c].clone()).collect();
            if key.contains(&Value::Null) || keys.contains(&key) {
                continue;
            }
            return Err(fk_violation(table, parent, fk, &key));
        }
        Ok(())
    }

    fn create_index(&mut self, ci: &ast::CreateIndex) -> Result<(), SqlError> {
        let table_name = object_name(&ci.table_name);
        let table = self.table(&table_name)?;
        let cols = index_columns(&ci.columns)?;
        let name = match &ci.name {
            Some(n) => object_name(n),
            None => {
                let base = format!("{table_name}_{}_idx", cols.join("_"));
                let mut candidate = base.clone();
                let mut n = 1;
                while self.relation_exists(&candidate) {
                    candidate = format!("{base}{n}");
                    n += 1;
                }
                candidate
            }
        };
        if self.relation_exists(&name) {
            if ci.if_not_exists {
                return Ok(());
            }
            return Err(duplicate_relation(&name));
        }
        if ci.predicate.is_some() {
            return Err(SqlError::unsupported("partial indexes"));
        }
        let positions = positions_of(&table, &cols)?;
        if ci.unique {
            self.check_unique(&table, &positions, &name)?;
        }
        let options = index_options(&ci.columns)?;
        self.add_index(&table, name, positions, ci.unique, None)?;
        if options.iter().any(|&o| o != 0) {
            let mut t = (*self.table(&table_name)?).clone();
            if let Some(index) = t.indexes.last_mut() {
                index.options = options;
            }
            self.put(t);
        }
        Ok(())
    }

    /// Creates a core index and adds it to the table.
    fn add_index(
        &mut self,
        table: &TableSchema,
        name: String,
        positions: Vec<usize>,
        unique: bool,
        constraint: Option<IndexConstraint>,
    ) -> Result<(), SqlError> {
        let cols: Vec<&str> = positions.iter().map(|&p| table.columns[p].name.as_str()).collect();
        let id = self.engine.db.create_index(&name, &table.name, &cols, unique)?;
        self.fx.undo.push(CoreChange::DropIndex(name.clone()));
        let mut t = table.clone();
        let options = Vec::new();
        t.indexes.push(IndexSchema { name, id, columns: positions, unique, options, constraint });
        self.put(t);
        Ok(())
    }

    /// No two rows as they stand now share a key without NULLs (live only).
    fn check_unique(
        &mut self,
        table: &TableSchema,
        positions: &[usize],
        name: &str,
    ) -> Result<(), SqlError> {
        let keys = self.current_columns(table, positions)?;
        refuse_shared_key(table, positions, name, keys)
    }

    fn drop_table(&mut self, name: &str, if_exists: bool, cascade: bool) -> Result<(), SqlError> {
        let Some(table) = self.schema.table(name).cloned() else {
            if if_exists {
                return Ok(());
            }
            return Err(SqlError::undefined_table(name));
        };
        self.drop_views_reading(Some(table.id), name, "table", cascade)?;
        for (child, fk) in self.schema.referencing(table.id) {
            if child.id == table.id {
                continue;
            }
            if !cascade {
                return Err(SqlError::new(
                    SqlState::DependentObjectsStillExist,
                    format!("cannot drop table {name} because other objects depend on it"),
                )
                .with_detail(format!(
                    "constraint {} on table {} depends on table {name}",
                    fk.name, child.name
                )));
            }
            let mut c = (*self.table(&child.name)?).clone();
            c.foreign_keys.retain(|f| f.name != fk.name);
            self.put(c);
        }
        if self.live() {
            let gone = tombstone(name);
            for index in &table.indexes {
                let index_gone = tombstone(&index.name);
                self.engine.db.rename_table(&index.name, &index_gone)?;
                self.fx.undo.push(CoreChange::Rename { from: index_gone, to: index.name.clone() });
            }
            self.engine.db.rename_table(name, &gone)?;
            self.fx.undo.push(CoreChange::Rename { from: gone.clone(), to: name.to_string() });
            self.fx.after_commit.push(CoreChange::DropTable(gone));
        } else {
            self.engine.db.drop_table(name)?;
        }
        self.schema.tables.remove(name);
        self.fx.touch(name);
        self.drop_owned_sequences(table.id, None);
        Ok(())
    }

    /// Drops an index's core storage (at the commit, when live).
    fn drop_core_index(&mut self, name: &str) -> Result<(), SqlError> {
        if self.live() {
            let gone = tombstone(name);
            self.engine.db.rename_table(name, &gone)?;
            self.fx.undo.push(CoreChange::Rename { from: gone.clone(), to: name.to_string() });
            self.fx.after_commit.push(CoreChange::DropIndex(gone));
        } else {
            self.engine.db.drop_index(name)?;
        }
        Ok(())
    }

    fn drop_index(&mut self, name: &str, if_exists: bool) -> Result<(), SqlError> {
        let Some(owner) = self.schema.index_owner(name).cloned() else {
            if if_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::UndefinedObject,
                format!("index \"{name}\" does not exist"),
            ));
        };
        let index = owner.indexes.iter().find(|i| i.name == name).expect("its owner").clone();
        if index.constraint.is_some() {
            return Err(SqlError::new(
                SqlState::DependentObjectsStillExist,
                format!(
                    "cannot drop index {name} because constraint {name} on table {} requires it",
                    owner.name
                ),
            ));
        }
        self.drop_core_index(name)?;
        let mut t = (*owner).clone();
        t.indexes.retain(|i| i.name != name);
        self.put(t);
        Ok(())
    }

    fn rename_index(&mut self, from: &str, to: &str) -> Result<(), SqlError> {
        let Some(owner) = self.schema.index_owner(from).cloned() else {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("relation \"{from}\" does not exist"),
            ));
        };
        if self.relation_exists(to) {
            return Err(duplicate_relation(to));
        }
        self.engine.db.rename_table(from, to)?;
        self.fx.undo.push(CoreChange::Rename { from: to.to_string(), to: from.to_string() });
        let mut t = (*owner).clone();
        for i in &mut t.indexes {
            if i.name == from {
                i.name = to.to_string();
            }
        }
        self.put(t);
        Ok(())
    }

    fn alter_table(
        &mut self,
        table_name: &mut String,
        op: &AlterTableOperation,
    ) -> Result<(), SqlError> {
        let name = table_name.clone();
        match op {
            AlterTableOperation::AddColumn { if_not_exists, column_def, .. } => {
                self.add_column(&name, column_def, *if_not_exists)
            }
            AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
                TableConstraint::PrimaryKey(pk) => {
                    let cols = index_columns(&pk.columns)?;
                    self.add_primary_key(&name, &cols, pk.name.as_ref().map(ident))
                }
                TableConstraint::Unique(u) => {
                    let cols = index_columns(&u.columns)?;
                    let table = self.table(&name)?;
                    let positions = positions_of(&table, &cols)?;
                    let iname = u
                        .name
                        .as_ref()
                        .map(ident)
                        .unwrap_or_else(|| format!("{name}_{}_key", cols.join("_")));
                    if self.relation_exists(&iname) {
                        return Err(duplicate_relation(&iname));
                    }
                    self.check_unique(&table, &positions, &iname)?;
                    self.add_index(&table, iname, positions, true, Some(IndexConstraint::Unique))
                }
                TableConstraint::ForeignKey(fk) => {
                    let cols: Vec<String> = fk.columns.iter().map(ident).collect();
                    self.add_foreign_key(&name, &cols, fk)
                }
                TableConstraint::Check(chk) => {
                    let table = self.table(&name)?;
                    let cname = chk.name.as_ref().map(ident).unwrap_or_else(|| {
                        let names: Vec<&str> = table
                            .columns
                            .iter()
                            .filter(|c| !c.hidden && !c.dropped)
                            .map(|c| c.name.as_str())
                            .collect();
                        check_name(&name, &names, &chk.expr, &|n| {
                            table.checks.iter().any(|(c, _)| c == n)
                                || table.foreign_keys.iter().any(|f| f.name == n)
                        })
                    });
                    if table.checks.iter().any(|(n, _)| *n == cname)
                        || table.foreign_keys.iter().any(|f| f.name == cname)
                    {
                        return Err(SqlError::new(
                            SqlState::DuplicateObject,
                            format!(
                                "constraint \"{cname}\" for relation \"{name}\" already exists"
                            ),
                        ));
                    }
                    let mut t = (*table).clone();
                    t.checks.push((cname.clone(), (*chk.expr).clone()));
                    if self.live() {
                        self.check_existing_rows(&t, Some(&cname))?;
                    }
                    self.put(t);
                    Ok(())
                }
                other => Err(SqlError::unsupported(format!("ALTER TABLE ADD {other}"))),
            },
            AlterTableOperation::DropConstraint { if_exists, name: cname, drop_behavior } => {
                let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                self.drop_constraint(&name, &ident(cname), *if_exists, cascade)
            }
            AlterTableOperation::DropColumn { column_names, if_exists, drop_behavior, .. } => {
                let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                for c in column_names {
                    self.drop_column(&name, &ident(c), *if_exists, cascade)?;
                }
                Ok(())
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                self.rename_column(&name, &ident(old_column_name), &ident(new_column_name))
            }
            AlterTableOperation::RenameTable { table_name: to } => {
                let to = object_name(rename_target(to));
                self.rename_table(&name, &to)?;
                *table_name = to;
                Ok(())
            }
            AlterTableOperation::RenameConstraint { old_name, new_name } => {
                self.rename_constraint(&name, &ident(old_name), &ident(new_name))
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                self.alter_column(&name, &ident(column_name), op)
            }
            AlterTableOperation::OwnerTo { .. } => Ok(()),
            other => Err(SqlError::unsupported(format!("ALTER TABLE {other}"))),
        }
    }

    /// Checks every row as it stands now against the table's NOT NULL and CHECK constraints
    /// (only the named CHECK when given).
    fn check_existing_rows(
        &mut self,
        table: &TableSchema,
        only: Option<&str>,
    ) -> Result<(), SqlError> {
        let rows = self.current_rows(table)?;
        if rows.is_empty() {
            return Ok(());
        }
        let schema = self.schema.clone();
        let mut binder = crate::sql::plan::Binder::new(&schema, vec![]);
        let scope = crate::sql::plan::bind::Scope::of_table(table, &table.name);
        let mut checks = Vec::new();
        for (name, e) in &table.checks {
            if only.is_none_or(|o| o == name) {
                checks.push((name.clone(), binder.expr(e, &scope, Some(SqlType::Bool))?));
            }
        }
        let DdlMode::Live(txn) = &mut self.mode else { return Ok(()) };
        let mut ctx = crate::sql::exec::ExecCtx::new(self.engine, txn, &[], ("", "", 0), 0);
        for (_, row) in &rows {
            for (name, check) in &checks {
                let v = check.eval(row, &mut ctx)?;
                if crate::sql::exec::eval::truth(&v) == Some(false) {
                    return Err(SqlError::new(
                        SqlState::CheckViolation,
                        format!("check constraint \"{name}\" of relation \"{}\" is violated by some row", table.name),
                    ).with_detail(format!("Failing row contains ({}).", value_list(&visible_values(table, row))))
                    .on_table(&table.name, None, Some(name)));
                }
            }
        }
        Ok(())
    }

    fn add_column(
        &mut self,
        table_name: &str,
        c: &ast::ColumnDef,
        if_not_exists: bool,
    ) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
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
        let (ty, serial) = self.schema.parse_type(&c.data_type.to_string())?;
        let mut col = new_column(&name, ty);
        let mut unique: Option<Option<String>> = None;
        let mut fk: Option<ast::ForeignKeyConstraint> = None;
        let mut check: Option<(String, ast::Expr)> = None;
        for opt in &c.options {
            match &opt.option {
                ColumnOption::Null => {}
                ColumnOption::NotNull => col.not_null = true,
                ColumnOption::Default(e) => col.default = Some(e.clone()),
                ColumnOption::Unique(_) => unique = Some(opt.name.as_ref().map(ident)),
                ColumnOption::ForeignKey(f) => {
                    let mut f = f.clone();
                    if f.name.is_none() {
                        f.name = opt.name.clone();
                    }
                    fk = Some(f);
                }
                ColumnOption::Check(chk) => {
                    let cname = opt
                        .name
                        .as_ref()
                        .map(ident)
                        .unwrap_or_else(|| format!("{table_name}_{name}_check"));
                    check = Some((cname, (*chk.expr).clone()));
                }
                other => return Err(SqlError::unsupported(format!("ADD COLUMN with {other}"))),
            }
        }
        if serial {
            return Err(SqlError::unsupported("ADD COLUMN of a serial column"));
        }
        if let Some(d) = &col.default {
            // rows already stored read the default's value now (PostgreSQL's fast default)
            let schema = self.schema.clone();
            let mut binder = crate::sql::plan::Binder::new(&schema, vec![]);
            let b = binder.expr(d, &Default::default(), Some(ty))?;
            let b = binder.coerce(b, ty)?;
            match b {
                crate::sql::plan::BExpr::Const(v, _) => col.pad = v,
                _ => return Err(SqlError::unsupported("ADD COLUMN with a non-constant default")),
            }
        }
        if col.not_null && col.pad == Value::Null && !self.current_rows(&table)?.is_empty() {
            return Err(SqlError::new(
                SqlState::NotNullViolation,
                format!("column \"{name}\" of relation \"{table_name}\" contains null values"),
            )
            .on_table(table_name, Some(&name), None));
        }
        self.engine.db.add_column(table_name, &name)?;
        self.fx.undo.push(CoreChange::RemoveLastColumn(table_name.to_string()));
        let mut t = (*table).clone();
        t.columns.push(col);
        if let Some(check) = check {
            t.checks.push(check.clone());
            if self.live() {
                self.check_existing_rows(&t, Some(&check.0))?;
            }
        }
        self.put(t);
        if let Some(uname) = unique {
            let t = self.table(table_name)?;
            let position = t.columns.len() - 1;
            let iname = uname.unwrap_or_else(|| format!("{table_name}_{name}_key"));
            self.check_unique(&t, &[position], &iname)?;
            self.add_index(&t, iname, vec![position], true, Some(IndexConstraint::Unique))?;
        }
        if let Some(fk) = fk {
            self.add_foreign_key(table_name, &[name], &fk)?;
        }
        Ok(())
    }

    /// ALTER TABLE ... ADD PRIMARY KEY (pgbench -i adds its keys this way, after loading).
    /// A table created without a primary key keeps its hidden row id as the storage key; the
    /// primary key becomes a unique index named `<table>_pkey` over columns made NOT NULL, which
    /// the planner uses for point and range lookups. Refused (23502) if a row has a NULL
    /// there, (23505) if two share a key, (42P16) if the table has a primary key already.
    fn add_primary_key(
        &mut self,
        table_name: &str,
        cols: &[String],
        name: Option<String>,
    ) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
        let name = name.unwrap_or_else(|| format!("{table_name}_pkey"));
        if !table.hidden_key
            || table.indexes.iter().any(|i| i.constraint == Some(IndexConstraint::PrimaryKey))
        {
            return Err(SqlError::new(
                SqlState::InvalidTableDefinition,
                format!("multiple primary keys for table \"{table_name}\" are not allowed"),
            ));
        }
        if self.relation_exists(&name) {
            return Err(duplicate_relation(&name));
        }
        let positions = positions_of(&table, cols)?;
        let keys = self.current_columns(&table, &positions)?;
        for key in &keys {
            if let Some(n) = key.iter().position(|v| *v == Value::Null) {
                let column = &table.columns[positions[n]].name;
                return Err(SqlError::new(
                    SqlState::NotNullViolation,
                    format!(
                        "column \"{column}\" of relation \"{table_name}\" contains null values"
                    ),
                )
                .on_table(table_name, Some(column), None));
            }
        }
        refuse_shared_key(&table, &positions, &name, keys)?;
        let mut t = (*table).clone();
        for &p in &positions {
            t.columns[p].not_null = true;
        }
        self.add_index(&t, name, positions, true, Some(IndexConstraint::PrimaryKey))
    }

    fn drop_constraint(
        &mut self,
        table_name: &str,
        cname: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
        let mut t = (*table).clone();
        if t.checks.iter().any(|(n, _)| n == cname) {
            t.checks.retain(|(n, _)| n != cname);
            self.put(t);
            return Ok(());
        }
        if t.foreign_keys.iter().any(|f| f.name == cname) {
            t.foreign_keys.retain(|f| f.name != cname);
            self.put(t);
            return Ok(());
        }
        if let Some(index) =
            t.indexes.iter().find(|i| i.name == cname && i.constraint.is_some()).cloned()
        {
            self.drop_dependent_keys(&table, &index.columns, cname, cascade)?;
            let mut t = (*self.table(table_name)?).clone();
            self.drop_core_index(cname)?;
            t.indexes.retain(|i| i.name != cname);
            self.put(t);
            return Ok(());
        }
        if !t.hidden_key && t.pkey_name() == cname {
            return Err(SqlError::unsupported(format!(
                "dropping the primary key \"{cname}\" of a table created with it"
            )));
        }
        if if_exists {
            return Ok(());
        }
        Err(SqlError::new(
            SqlState::UndefinedObject,
            format!("constraint \"{cname}\" of relation \"{table_name}\" does not exist"),
        ))
    }

    /// Foreign keys of other tables that reference `columns` of `table` (a key being dropped):
    /// dropped with CASCADE, else 2BP01.
    fn drop_dependent_keys(
        &mut self,
        table: &TableSchema,
        columns: &[usize],
        what: &str,
        cascade: bool,
    ) -> Result<(), SqlError> {
        for (child, fk) in self.schema.referencing(table.id) {
            if !same_set(&fk.parent_columns, columns)
                && !fk.parent_columns.iter().any(|c| columns.contains(c))
            {
                continue;
            }
            if !cascade {
                return Err(SqlError::new(
                    SqlState::DependentObjectsStillExist,
                    format!("cannot drop {what} because other objects depend on it"),
                )
                .with_detail(format!(
                    "constraint {} on table {} depends on {what}",
                    fk.name, child.name
                )));
            }
            let mut c = (*self.table(&child.name)?).clone();
            c.foreign_keys.retain(|f| f.name != fk.name);
            self.put(c);
        }
        Ok(())
    }

    fn rename_constraint(
        &mut self,
        table_name: &str,
        from: &str,
        to: &str,
    ) -> Result<(), SqlError> {
        let mut t = (*self.table(table_name)?).clone();
        if let Some(c) = t.checks.iter_mut().find(|(n, _)| n == from) {
            c.0 = to.to_string();
        } else if let Some(f) = t.foreign_keys.iter_mut().find(|f| f.name == from) {
            f.name = to.to_string();
        } else if t.indexes.iter().any(|i| i.name == from && i.constraint.is_some()) {
            return self.rename_index(from, to);
        } else {
            return Err(SqlError::new(
                SqlState::UndefinedObject,
                format!("constraint \"{from}\" for table \"{table_name}\" does not exist"),
            ));
        }
        self.put(t);
        Ok(())
    }

    fn drop_column(
        &mut self,
        table_name: &str,
        column: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
        let Some(position) = table.column_index(column).filter(|&p| !table.columns[p].hidden)
        else {
            if if_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::UndefinedColumn,
                format!("column \"{column}\" of relation \"{table_name}\" does not exist"),
            ));
        };
        if !table.hidden_key && table.primary_key.contains(&position) {
            return Err(SqlError::unsupported(format!(
                "dropping column \"{column}\", part of the primary key of \"{table_name}\""
            )));
        }
        self.drop_dependent_keys(
            &table,
            &[position],
            &format!("column {column} of table {table_name}"),
            cascade,
        )?;
        let table = self.table(table_name)?;
        let mut t = (*table).clone();
        // Indexes and constraints over the column go with it, as in PostgreSQL.
        for index in table.indexes.iter().filter(|i| i.columns.contains(&position)) {
            self.drop_core_index(&index.name)?;
        }
        t.indexes.retain(|i| !i.columns.contains(&position));
        if t.indexes.iter().all(|i| i.constraint != Some(IndexConstraint::PrimaryKey))
            && t.hidden_key
        {
            // (a primary key added over this column went with its index)
        }
        t.foreign_keys.retain(|f| !f.columns.contains(&position));
        t.checks.retain(|(_, e)| !mentions(e, column));
        let gone = format!("........pg.dropped.{}........", position + 1);
        self.engine.db.rename_column(table_name, column, &gone)?;
        self.fx.undo.push(CoreChange::RenameColumn {
            table: table_name.to_string(),
            from: gone.clone(),
            to: column.to_string(),
        });
        let col = &mut t.columns[position];
        col.name = gone;
        col.dropped = true;
        col.not_null = false;
        col.default = None;
        col.sequence = None;
        col.identity = None;
        col.pad = Value::Null;
        col.comment = None;
        self.put(t);
        self.drop_owned_sequences(table.id, Some(position));
        Ok(())
    }

    fn rename_column(&mut self, table_name: &str, from: &str, to: &str) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
        let Some(position) = table.column_index(from).filter(|&p| !table.columns[p].hidden) else {
            return Err(SqlError::new(
                SqlState::UndefinedColumn,
                format!("column \"{from}\" does not exist"),
            ));
        };
        if table.column_index(to).is_some() {
            return Err(SqlError::new(
                SqlState::DuplicateColumn,
                format!("column \"{to}\" of relation \"{table_name}\" already exists"),
            ));
        }
        self.engine.db.rename_column(table_name, from, to)?;
        self.fx.undo.push(CoreChange::RenameColumn {
            table: table_name.to_string(),
            from: to.to_string(),
            to: from.to_string(),
        });
        let mut t = (*table).clone();
        t.columns[position].name = to.to_string();
        for (_, e) in &mut t.checks {
            *e = rename_in_expr(e, from, to)?;
        }
        self.put(t);
        Ok(())
    }

    fn rename_table(&mut self, from: &str, to: &str) -> Result<(), SqlError> {
        let table = self.table(from)?;
        if self.relation_exists(to) {
            return Err(duplicate_relation(to));
        }
        self.engine.db.rename_table(from, to)?;
        self.fx.undo.push(CoreChange::Rename { from: to.to_string(), to: from.to_string() });
        let mut t = (*table).clone();
        t.name = to.to_string();
        self.schema.tables.remove(from);
        self.fx.touch(from);
        self.put(t);
        Ok(())
    }

    fn alter_column(
        &mut self,
        table_name: &str,
        column: &str,
        op: &AlterColumnOperation,
    ) -> Result<(), SqlError> {
        let table = self.table(table_name)?;
        let Some(position) = table.column_index(column).filter(|&p| !table.columns[p].hidden)
        else {
            return Err(SqlError::new(
                SqlState::UndefinedColumn,
                format!("column \"{column}\" of relation \"{table_name}\" does not exist"),
            ));
        };
        let mut t = (*table).clone();
        match op {
            AlterColumnOperation::SetNotNull => {
                t.columns[position].not_null = true;
                for (_, row) in self.current_rows(&t)? {
                    if row[position] == Value::Null {
                        return Err(SqlError::new(
                            SqlState::NotNullViolation,
                            format!(
                                "column \"{column}\" of relation \"{table_name}\" contains null values"
                            ),
                        )
                        .on_table(table_name, Some(column), None));
                    }
                }
            }
            AlterColumnOperation::DropNotNull => {
                let in_key = (!t.hidden_key && t.primary_key.contains(&position))
                    || t.indexes.iter().any(|i| {
                        i.constraint == Some(IndexConstraint::PrimaryKey)
                            && i.columns.contains(&position)
                    });
                if in_key {
                    return Err(SqlError::new(
                        SqlState::InvalidTableDefinition,
                        format!("column \"{column}\" is in a primary key"),
                    ));
                }
                if t.columns[position].identity.is_some() {
                    return Err(SqlError::new(
                        SqlState::SyntaxError,
                        format!(
                            "column \"{column}\" of relation \"{table_name}\" is an identity column"
                        ),
                    ));
                }
                t.columns[position].not_null = false;
            }
            AlterColumnOperation::SetDefault { value } => {
                t.columns[position].default = Some(value.clone());
            }
            AlterColumnOperation::DropDefault => {
                let col = &mut t.columns[position];
                col.default = None;
                if col.identity.is_none() {
                    col.sequence = None;
                }
            }
            AlterColumnOperation::SetDataType { data_type, using, .. } => {
                let (ty, serial) = self.schema.parse_type(&data_type.to_string())?;
                if serial {
                    return Err(SqlError::new(
                        SqlState::UndefinedObject,
                        format!("type \"{data_type}\" does not exist"),
                    ));
                }
                let old = t.columns[position].ty;
                t.columns[position].ty = ty;
                if self.live() {
                    self.rewrite_column(&table, &t, position, old, using.as_ref())?;
                }
            }
            AlterColumnOperation::AddGenerated { generated_as, .. } => {
                let col = &mut t.columns[position];
                if col.identity.is_some() {
                    return Err(SqlError::new(
                        SqlState::ObjectNotInPrerequisiteState,
                        format!(
                            "column \"{column}\" of relation \"{table_name}\" is already an identity column"
                        ),
                    ));
                }
                if !col.not_null {
                    return Err(SqlError::new(
                        SqlState::ObjectNotInPrerequisiteState,
                        format!(
                            "column \"{column}\" of relation \"{table_name}\" must be declared NOT NULL before identity can be added"
                        ),
                    ));
                }
                col.identity = Some(match generated_as {
                    Some(ast::GeneratedAs::ByDefault) => Identity::ByDefault,
                    _ => Identity::Always,
                });
                col.default = None;
                // A new identity starts at 1 (or START WITH), as in PostgreSQL.
                col.sequence = Some(Arc::new(AtomicI64::new(0)));
                self.column_sequence(&t, position)?;
                let name = format!("{table_name}_{column}_seq");
                if let (
                    Some(ast::AlterColumnOperation::AddGenerated {
                        sequence_options: Some(opts),
                        ..
                    }),
                    Some(seq),
                ) = (Some(op), self.schema.sequence(&name).cloned())
                {
                    let mut s = (*seq).clone();
                    apply_sequence_options(&mut s, opts, true)?;
                    s.last.store(s.start - s.increment, Ordering::SeqCst);
                    self.put_sequence(s);
                }
            }
        }
        self.put(t);
        Ok(())
    }

    /// ALTER COLUMN TYPE: converts every row's value (with USING's expression, or a cast),
    /// writing the rows whose value changes through the transaction.
    fn rewrite_column(
        &mut self,
        before: &TableSchema,
        after: &TableSchema,
        position: usize,
        from: SqlType,
        using: Option<&ast::Expr>,
    ) -> Result<(), SqlError> {
        let rows = self.current_rows(before)?;
        if rows.is_empty() {
            return Ok(());
        }
        let to = after.columns[position].ty;
        let schema = self.schema.clone();
        let mut binder = crate::sql::plan::Binder::new(&schema, vec![]);
        let scope = crate::sql::plan::bind::Scope::of_table(before, &before.name);
        let using = match using {
            Some(e) => {
                let b = binder.expr(e, &scope, Some(to))?;
                Some(binder.coerce(b, to).map_err(|_| {
                    SqlError::new(
                        SqlState::DatatypeMismatch,
                        format!("result of USING clause for column \"{}\" cannot be cast automatically to type {}", after.columns[position].name, to.name()),
                    )
                })?)
            }
            None => None,
        };
        let in_key = !before.hidden_key && before.primary_key.contains(&position);
        let DdlMode::Live(txn) = &mut self.mode else { return Ok(()) };
        let mut converted = Vec::new();
        {
            let mut ctx = crate::sql::exec::ExecCtx::new(self.engine, txn, &[], ("", "", 0), 0);
            for (key, row) in rows {
                let value = match &using {
                    Some(e) => e.eval(&row, &mut ctx)?,
                    None => crate::sql::types::cast(row[position].clone(), from, to, false)
                        .map_err(|e| {
                            if e.code == SqlState::FeatureNotSupported
                                || e.code == SqlState::CannotCoerce
                            {
                                SqlError::new(
                                    SqlState::DatatypeMismatch,
                                    format!(
                                        "column \"{}\" cannot be cast automatically to type {}",
                                        after.columns[position].name,
                                        to.name()
                                    ),
                                )
                            } else {
                                e
                            }
                        })?,
                };
                if value != row[position] {
                    if in_key {
                        return Err(SqlError::unsupported(format!(
                            "changing the values of primary key column \"{}\"",
                            after.columns[position].name
                        )));
                    }
                    let mut new_row = row.clone();
                    new_row[position] = value;
                    converted.push((key, new_row));
                }
            }
        }
        for (key, new_row) in converted {
            txn.update(before.id, &key, |_| Some(new_row))?;
        }
        Ok(())
    }
}

/// Applies CREATE / ALTER SEQUENCE options (`creating`: START also sets where it stands).
fn apply_sequence_options(
    seq: &mut SequenceSchema,
    options: &[ast::SequenceOptions],
    creating: bool,
) -> Result<(), SqlError> {
    let number = |e: &ast::Expr| -> Result<i64, SqlError> {
        let text = e.to_string();
        text.trim().parse::<i64>().map_err(|_| {
            SqlError::new(SqlState::InvalidParameterValue, format!("invalid sequence value {text}"))
        })
    };
    let (type_min, type_max) = match seq.ty {
        SqlType::Int2 => (i16::MIN as i64, i16::MAX as i64),
        SqlType::Int4 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let mut min = None;
    let mut max = None;
    let mut start = None;
    for o in options {
        match o {
            ast::SequenceOptions::IncrementBy(e, _) => {
                seq.increment = number(e)?;
                if seq.increment == 0 {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        "INCREMENT must not be zero",
                    ));
                }
            }
            ast::SequenceOptions::MinValue(e) => min = Some(e.as_ref().map(number).transpose()?),
            ast::SequenceOptions::MaxValue(e) => max = Some(e.as_ref().map(number).transpose()?),
            ast::SequenceOptions::StartWith(e, _) => start = Some(number(e)?),
            ast::SequenceOptions::Cache(e) => seq.cache = number(e)?.max(1),
            // sqlparser's flag is "NO": `Cycle(true)` is NO CYCLE
            ast::SequenceOptions::Cycle(no) => seq.cycle = !no,
        }
    }
    let ascending = seq.increment > 0;
    if let Some(m) = min {
        seq.min = m.unwrap_or(if ascending { 1 } else { type_min });
    } else if creating {
        seq.min = if ascending { 1 } else { type_min };
    }
    if let Some(m) = max {
        seq.max = m.unwrap_or(if ascending { type_max } else { -1 });
    } else if creating {
        seq.max = if ascending { type_max } else { -1 };
    }
    match start {
        Some(s) => seq.start = s,
        None if creating => seq.start = if ascending { seq.min } else { seq.max },
        None => {}
    }
    if seq.min >= seq.max {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!("MINVALUE ({}) must be less than MAXVALUE ({})", seq.min, seq.max),
        ));
    }
    if seq.start < seq.min || seq.start > seq.max {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!(
                "START value ({}) cannot be {} than {} ({})",
                seq.start,
                if seq.start < seq.min { "less" } else { "greater" },
                if seq.start < seq.min { "MINVALUE" } else { "MAXVALUE" },
                if seq.start < seq.min { seq.min } else { seq.max }
            ),
        ));
    }
    Ok(())
}

fn new_column(name: &str, ty: SqlType) -> ColumnSchema {
    ColumnSchema {
        name: name.to_string(),
        ty,
        not_null: false,
        default: None,
        sequence: None,
        hidden: false,
        pad: Value::Null,
        dropped: false,
        identity: None,
        comment: None,
    }
}

fn positions_of(table: &TableSchema, cols: &[String]) -> Result<Vec<usize>, SqlError> {
    cols.iter()
        .map(|c| {
            table.column_index(c).filter(|&p| !table.columns[p].dropped).ok_or_else(|| {
                SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{c}\" named in key does not exist"),
                )
            })
        })
        .collect()
}

fn same_set(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// The name PostgreSQL gives a CHECK constraint written without one: `<table>_<column>_check`
/// when the expression reads exactly one of `columns`, else `<table>_check`; while that is
/// `taken`, with 1, 2, ... appended.
fn check_name(
    table: &str,
    columns: &[&str],
    e: &ast::Expr,
    taken: &dyn Fn(&str) -> bool,
) -> String {
    let read: Vec<&&str> = columns.iter().filter(|c| mentions(e, c)).collect();
    let base = match read.as_slice() {
        [column] => format!("{table}_{column}_check"),
        _ => format!("{table}_check"),
    };
    if !taken(&base) {
        return base;
    }
    // at most as many names are taken as there are constraints; 10,000 is far beyond
    (1..10_000).map(|n| format!("{base}{n}")).find(|n| !taken(n)).unwrap_or(base)
}

/// Whether an expression names a column (by its unqualified or qualified name).
fn mentions(e: &ast::Expr, column: &str) -> bool {
    words_of(&e.to_string()).iter().any(|w| w == column)
}

fn words_of(sql: &str) -> Vec<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = crate::sql::parse::dialect::IsolaDialect::default();
    Tokenizer::new(&dialect, sql)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) if w.quote_style.is_some() => Some(w.value),
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// An expression with a column renamed (a CHECK constraint's, after RENAME COLUMN).
fn rename_in_expr(e: &ast::Expr, from: &str, to: &str) -> Result<ast::Expr, SqlError> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = crate::sql::parse::dialect::IsolaDialect::default();
    let tokens = Tokenizer::new(&dialect, &e.to_string())
        .tokenize()
        .map_err(|err| SqlError::new(SqlState::InternalError, err.to_string()))?;
    let mut text = String::new();
    for t in tokens {
        match &t {
            Token::Word(w)
                if (w.quote_style.is_some() && w.value == from)
                    || (w.quote_style.is_none() && w.value.to_lowercase() == from) =>
            {
                text.push_str(&format!("\"{}\"", to.replace('"', "\"\"")));
            }
            other => text.push_str(&other.to_string()),
        }
    }
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|err| SqlError::new(SqlState::InternalError, err.to_string()))
}
