//! A transaction's schema changes: DDL is transactional. A statement takes its exclusive
//! table locks (and name locks), then applies to a copy of the schema; the changed tables
//! stay private to the transaction (laid over the shared schema when it plans) until its
//! commit installs them for everyone, or its rollback takes back the core catalog changes.
//!
//! Invariants:
//! - `TxnDdl::overlay` holds exactly the relation names this transaction created, changed or
//!   dropped, and the transaction holds an exclusive lock on each of them (or on its name), so
//!   no other transaction changes them before it ends;
//! - the commit record carries `records` (the core logs them with the rows, in one record);
//!   the schema's write lock is held from before the commit is decided until its changes are
//!   installed, so no statement plans against the old definitions once the locks are gone;
//! - every core change is undone (last first) when the transaction or the savepoint it
//!   followed rolls back; destructive core changes run only after the commit.

use std::collections::HashMap;
use std::sync::Arc;

use crate::sql::ddl::{CoreChange, DdlEffects, DdlMode, DdlStatement, ddl_locks};
use crate::sql::error::SqlError;
use crate::sql::exec::ExecError;
use crate::sql::schema::{Schema, SequenceSchema, TableSchema, ViewSchema};
use crate::sql::session::Session;
use crate::sql::types::enums::EnumType;
use crate::txn::Transaction;
use crate::wal::DdlRecord;

/// What a transaction has changed of the schema so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct TxnDdl {
    /// The tables it created, changed (`Some`) or dropped (`None`), by name.
    pub overlay: HashMap<String, Option<Arc<TableSchema>>>,
    /// The same for sequences.
    pub sequences: HashMap<String, Option<Arc<SequenceSchema>>>,
    /// The same for views.
    pub views: HashMap<String, Option<Arc<ViewSchema>>>,
    /// The same for enum types (their versions).
    pub types: HashMap<String, Option<&'static EnumType>>,
    /// The version of its view of the schema (see `Session::schema_version`).
    pub version: u64,
    /// Its DDL statements, logged with its commit.
    pub records: Vec<DdlRecord>,
    /// Core changes to take back if it rolls back.
    pub undo: Vec<CoreChange>,
    /// Core changes to make once it has committed.
    pub after_commit: Vec<CoreChange>,
}

/// Where a savepoint left a transaction's schema changes (and its deferred checks).
#[derive(Debug)]
pub(crate) struct DdlMark {
    name: String,
    state: Option<TxnDdl>,
    deferred_checks: usize,
}

impl Session {
    /// The schema this session plans against: the shared one, with this transaction's own
    /// changes laid over it.
    pub(crate) fn schema(&self) -> Arc<Schema> {
        let shared = self.engine.shared_schema();
        let Some(ddl) = &self.ddl else { return shared };
        let mut view = (*shared).clone();
        for (name, table) in &ddl.overlay {
            match table {
                Some(t) => view.tables.insert(name.clone(), t.clone()),
                None => view.tables.remove(name),
            };
        }
        for (name, seq) in &ddl.sequences {
            match seq {
                Some(s) => view.sequences.insert(name.clone(), s.clone()),
                None => view.sequences.remove(name),
            };
        }
        for (name, v) in &ddl.views {
            match v {
                Some(v) => view.views.insert(name.clone(), v.clone()),
                None => view.views.remove(name),
            };
        }
        for (name, t) in &ddl.types {
            match t {
                Some(t) => view.types.insert(name.clone(), t),
                None => view.types.remove(name),
            };
        }
        view.version = shared.version.max(ddl.version);
        Arc::new(view)
    }

    /// The version of [`Session::schema`] (versions only grow, and are never reused, so the
    /// larger of the shared and the private one changes whenever either does).
    pub(crate) fn schema_version(&self) -> u64 {
        let shared = self.engine.schema_version();
        self.ddl.as_ref().map_or(shared, |d| shared.max(d.version))
    }

    /// The version of this transaction's own changes (0: none).
    pub(crate) fn own_schema_version(&self) -> u64 {
        self.ddl.as_ref().map_or(0, |d| d.version)
    }

    /// Runs a DDL statement in the session's transaction (begun if needed).
    pub(super) fn run_ddl(
        &mut self,
        stmt: DdlStatement<'_>,
        text: String,
    ) -> Result<(), ExecError> {
        self.ensure_txn()?;
        if self.txn.as_ref().is_some_and(|t| t.options().read_only) {
            // As PostgreSQL: no schema change in a read-only transaction (nor on a replica
            // that is not the leader: its schema changes only by the leader's log).
            let command: Vec<String> =
                text.split_whitespace().take(2).map(|w| w.to_uppercase()).collect();
            let message = match self.engine.db.standby_reason() {
                Some(reason) => format!(
                    "cannot execute {} on a replica that is not the leader: {reason}",
                    command.join(" ")
                ),
                None => format!("cannot execute {} in a read-only transaction", command.join(" ")),
            };
            return Err(
                SqlError::new(crate::error::SqlState::ReadOnlySqlTransaction, message).into()
            );
        }
        // Shown with its transaction (which may have just begun), so a wait for its locks
        // shows in isola_stat_activity.
        self.publish("active", &text);
        let txn = self.txn.as_mut().expect("ensured");
        txn.start_statement();
        // Lock what the statement changes, then look again: a table dropped and made again
        // while we waited has a new id to lock.
        let mut locked = Vec::new();
        let mut locked_names: Vec<String> = Vec::new();
        let view = loop {
            let view = self.schema();
            let locks = ddl_locks(&view, stmt);
            let txn = self.txn.as_mut().expect("ensured");
            let mut all_held = true;
            for t in &locks.tables {
                if !locked.contains(t) {
                    all_held = false;
                    txn.lock_relation(*t, true)?;
                    locked.push(*t);
                }
            }
            for n in &locks.names {
                if !locked_names.contains(n) {
                    // a wait for the name: what holds it may have made (or dropped) an
                    // object of that name, so look at the schema again once it is ours
                    all_held = false;
                    txn.lock_relation_name(n)?;
                    locked_names.push(n.clone());
                }
            }
            if all_held {
                break view;
            }
        };
        let mut working = (*view).clone();
        let mut fx = DdlEffects::default();
        let txn = self.txn.as_mut().expect("ensured");
        let result = self.engine.apply_ddl(&mut working, stmt, DdlMode::Live(txn), &mut fx);
        let ddl = self.ddl.get_or_insert_with(TxnDdl::default);
        // Core changes made by a statement that then failed are taken back with the
        // transaction (or the savepoint before it), as its rows are.
        ddl.undo.append(&mut fx.undo);
        result?;
        for name in &fx.touched {
            ddl.overlay.insert(name.clone(), working.tables.get(name).cloned());
        }
        for name in &fx.touched_sequences {
            ddl.sequences.insert(name.clone(), working.sequences.get(name).cloned());
        }
        for name in &fx.touched_views {
            ddl.views.insert(name.clone(), working.views.get(name).cloned());
        }
        for name in &fx.touched_types {
            ddl.types.insert(name.clone(), working.types.get(name).copied());
        }
        ddl.version = working.version;
        ddl.after_commit.append(&mut fx.after_commit);
        ddl.records.push(DdlRecord { text, created_table: fx.created_table });
        let records = ddl.records.clone();
        let txn = self.txn.as_mut().expect("ensured");
        txn.set_ddl(records);
        txn.finish_statement();
        Ok(())
    }

    /// Commits a transaction, installing its schema changes when it has some (then the
    /// commit waits for the disk here, holding the schema's write lock: DDL is rare, and no
    /// statement may plan against the old schema once the commit is decided).
    pub(super) fn commit_with_ddl(&mut self, mut txn: Transaction) -> Result<(), SqlError> {
        txn.set_synchronous_commit(self.setting("synchronous_commit") != Some("off"));
        if let Err(e) = self.settle_deferred_constraints(&mut txn) {
            self.rollback_txn(txn);
            return Err(e);
        }
        let Some(ddl) = self.ddl.take() else {
            self.ddl_marks.clear();
            self.constraint_modes = Default::default();
            return txn.commit().map(|_| ()).map_err(SqlError::from);
        };
        self.ddl_marks.clear();
        self.constraint_modes = Default::default();
        let mut schema = self.engine.schema.write();
        match txn.commit() {
            Ok(_) => {
                let changes = crate::sql::engine::DdlChanges {
                    tables: &ddl.overlay,
                    sequences: &ddl.sequences,
                    views: &ddl.views,
                    types: &ddl.types,
                };
                self.engine.install_ddl(&mut schema, changes, &ddl.records);
                drop(schema);
                for change in &ddl.after_commit {
                    if let Err(e) = self.engine.apply_core(change) {
                        eprintln!("isola: after a commit, {change:?} failed: {e}");
                    }
                }
                Ok(())
            }
            Err(e) => {
                drop(schema);
                self.engine.undo_core(&ddl.undo);
                Err(e.into())
            }
        }
    }

    /// Runs the checks of deferred constraints the transaction owes (at COMMIT, or when SET
    /// CONSTRAINTS makes them immediate).
    pub(super) fn settle_deferred_constraints(
        &mut self,
        txn: &mut Transaction,
    ) -> Result<(), SqlError> {
        let work = std::mem::take(&mut self.deferred_fk);
        if work.is_empty() {
            return Ok(());
        }
        let schema = self.schema();
        let engine = self.engine.clone();
        let mut ctx = crate::sql::exec::ExecCtx::new(&engine, txn, &[], ("", "", self.id), 0);
        ctx.schema = Some(schema);
        ctx.constraints = self.constraint_modes.clone();
        ctx.settle_deferred(work).map_err(ExecError::into_sql_error)
    }

    /// Rolls a transaction back, with its schema changes.
    pub(super) fn rollback_txn(&mut self, mut txn: Transaction) {
        self.deferred_fk.clear();
        self.constraint_modes = Default::default();
        self.ddl_marks.clear();
        // The catalog's changes go back before the locks go: a session waiting to create the
        // same name must find it free when it wakes.
        if let Some(ddl) = self.ddl.take() {
            txn.discard_writes();
            self.engine.undo_core(&ddl.undo);
        }
        txn.rollback();
    }

    /// SAVEPOINT: remembers where the schema changes stand.
    pub(super) fn ddl_savepoint(&mut self, name: &str) {
        self.ddl_marks.push(DdlMark {
            name: name.to_string(),
            state: self.ddl.clone(),
            deferred_checks: self.deferred_fk.len(),
        });
    }

    /// RELEASE SAVEPOINT: forgets the savepoint and those after it.
    pub(super) fn ddl_release(&mut self, name: &str) {
        if let Some(i) = self.ddl_marks.iter().rposition(|m| m.name == name) {
            self.ddl_marks.truncate(i);
        }
    }

    /// ROLLBACK TO SAVEPOINT: takes back the schema changes made since (the savepoint stays).
    pub(super) fn ddl_rollback_to(&mut self, name: &str) {
        let Some(i) = self.ddl_marks.iter().rposition(|m| m.name == name) else { return };
        self.ddl_marks.truncate(i + 1);
        let before = self.ddl_marks[i].state.clone();
        let checks = self.ddl_marks[i].deferred_checks;
        self.deferred_fk.truncate(checks);
        let undo_from = before.as_ref().map_or(0, |d| d.undo.len());
        if let Some(now) = &self.ddl {
            self.engine.undo_core(&now.undo[undo_from.min(now.undo.len())..]);
        }
        self.ddl = before;
        let records = self.ddl.as_ref().map(|d| d.records.clone()).unwrap_or_default();
        if let Some(t) = self.txn.as_mut() {
            t.set_ddl(records);
        }
    }
}
