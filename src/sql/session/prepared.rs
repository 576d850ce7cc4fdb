//! [`Prepared`]: a statement parsed and bound once and run many times, and what it says about
//! where it may run (the predicates [`crate::sql::Session::begin`] decides with).

use std::sync::Arc;

use sqlparser::ast::Statement;

use crate::catalog::TableId;
use crate::sql::error::SqlError;
use crate::sql::parse::utility::Utility;
use crate::sql::parse::{Parsed, parse_statement};
use crate::sql::plan::{Binder, Bound, Unparsed, bind_statement};
use crate::sql::session::Session;
use crate::sql::types::SqlType;

/// A statement parsed (and, for plannable statements, bound) once and run many times.
#[derive(Debug)]
pub struct Prepared {
    pub sql: String,
    pub param_types: Vec<SqlType>,
    /// The result columns (empty for statements without rows).
    pub columns: Vec<(String, SqlType)>,
    pub(super) kind: Kind,
    pub(super) plan: parking_lot::Mutex<Option<PlanEntry>>,
    /// It names a function that can block its thread: an advisory lock's wait, a membership
    /// change ([`may_block_in_function`]).
    may_block_in_function: bool,
    /// A simple-protocol query: its answer describes its own columns (with no Describe
    /// before, it may answer with other columns than it was prepared with).
    pub(super) simple_protocol: bool,
}

/// A statement's plan for one schema version, with the tables it reads or writes (each
/// statement takes their table-level locks before it runs: see `Session::run_plan`).
#[derive(Clone, Debug)]
pub(crate) struct PlanEntry {
    pub version: u64,
    pub bound: Arc<Bound>,
    pub tables: Arc<[TableId]>,
}

#[derive(Debug)]
pub(super) enum Kind {
    Empty,
    Utility(Utility),
    Sql(Box<Statement>, Option<Unparsed>),
}

impl Prepared {
    /// Whether the server may run it on the connection's own task: it cannot wait, and its
    /// work is small and bounded (a SELECT qualifies once its plan is cached and
    /// `SelectPlan::reads_few_rows`; a long query on a runtime thread would stall other
    /// connections and cancel requests). Both predicates read the cached plan, which
    /// [`Session::begin`] refreshes first.
    pub fn runs_inline(&self) -> bool {
        if !self.never_waits() {
            return false;
        }
        match &self.kind {
            Kind::Sql(..) => {
                self.plan.lock().as_ref().is_some_and(
                    |e| matches!(&*e.bound, Bound::Select(plan) if plan.reads_few_rows()),
                )
            }
            _ => true,
        }
    }

    /// Whether it writes or locks at most one row (a point UPDATE or DELETE by primary key, a
    /// one-row INSERT, a point SELECT ... FOR UPDATE), so that its only possible wait is for a
    /// row lock before it has written anything. Inside a transaction block the server runs
    /// such a statement on the connection's own task, awaiting a lock wait there
    /// ([`Session::try_execute_as_task`]) and running the statement again once granted.
    pub fn writes_one_row(&self) -> bool {
        // An advisory lock's wait blocks its thread: never on the connection's task.
        if !matches!(self.kind, Kind::Sql(..)) || self.may_block_in_function {
            return false;
        }
        self.plan.lock().as_ref().is_some_and(|e| match &*e.bound {
            Bound::Modify(plan) => plan.touches_one_row(),
            Bound::Insert(plan) => plan.inserts_one_row(),
            // A SELECT that cannot wait runs inline already (`runs_inline`).
            Bound::Select(plan) => !self.never_waits() && plan.reads_few_rows(),
            _ => false,
        })
    }

    /// Whether it is a statement the binder plans (not a utility statement, not empty).
    pub fn is_plannable(&self) -> bool {
        matches!(self.kind, Kind::Sql(..))
    }

    /// Whether it is an INSERT, UPDATE or DELETE: a statement that writes whatever rows it
    /// finds (perhaps none).
    pub fn modifies_rows(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Sql(stmt, _)
                if matches!(stmt.as_ref(), Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_))
        )
    }

    /// Whether it is COMMIT (or END), which the server runs with
    /// [`Session::commit`] and an async wait for the disk.
    pub fn is_commit(&self) -> bool {
        matches!(self.kind, Kind::Utility(Utility::Commit))
    }

    /// Whether running it can never wait (for a row lock, a commit's fsync, a safe snapshot):
    /// a SELECT without a locking clause, an empty statement, BEGIN, SET, SHOW and the like.
    pub fn never_waits(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Sql(stmt, lock) => {
                lock.is_none()
                    && matches!(stmt.as_ref(), Statement::Query(q) if q.locks.is_empty())
                    && !self.may_block_in_function
            }
            Kind::Utility(u) => matches!(
                u,
                Utility::Begin(_)
                    | Utility::SetTransaction(_)
                    | Utility::SetSessionCharacteristics(_)
                    | Utility::Savepoint(_)
                    | Utility::Release(_)
                    | Utility::RollbackTo(_)
                    | Utility::Rollback
                    | Utility::Set(..)
                    | Utility::SetLocal(..)
                    | Utility::Show(_)
                    | Utility::NoOp(_)
                    | Utility::AlterTypeOwner(_)
                    | Utility::ResetAll
                    | Utility::Discard(_)
                    | Utility::Listen(_)
                    | Utility::Unlisten(_)
                    | Utility::Notify(..)
                    | Utility::PrepareStatement { .. }
                    | Utility::Deallocate(_)
                    | Utility::CloseCursor(_)
            ),
        }
    }
}

/// Whether a statement's text names a function that can block its thread: one that can wait
/// for an advisory lock (`pg_advisory_lock`, `pg_advisory_xact_lock` and their shared forms;
/// the `try` forms never wait) or a replicated group's membership change
/// (`isola_cluster_add_learner` and the like, a round trip to the leader and a Raft commit).
/// Read off the text, erring on the safe side (a mention in a string literal also sends the
/// statement to a blocking thread).
fn may_block_in_function(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    lower.contains("pg_advisory_lock")
        || lower.contains("pg_advisory_xact_lock")
        || crate::sql::plan::ClusterFunc::NAMES.iter().any(|(name, _)| lower.contains(name))
}

impl Session {
    /// The extended protocol's Parse: [`Session::prepare`], and a statement that does not
    /// prepare fails the block, as in PostgreSQL (recorded as [`Session::statement_failed`]).
    pub fn parse(
        &mut self,
        sql: &str,
        param_types: &[Option<SqlType>],
    ) -> Result<Arc<Prepared>, SqlError> {
        let prepared = self.prepare(sql, param_types);
        if prepared.is_err() {
            self.statement_failed();
        }
        prepared
    }

    /// Parses and binds a statement. `param_types` are what the client declared.
    pub fn prepare(
        &self,
        sql: &str,
        param_types: &[Option<SqlType>],
    ) -> Result<Arc<Prepared>, SqlError> {
        let kind = match parse_statement(sql)? {
            Parsed::Empty => Kind::Empty,
            Parsed::Utility(u) => Kind::Utility(u),
            Parsed::Sql(stmt, lock) => Kind::Sql(stmt, lock),
        };
        let mut prepared = Prepared {
            sql: sql.to_string(),
            param_types: vec![],
            columns: vec![],
            kind,
            plan: parking_lot::Mutex::new(None),
            may_block_in_function: may_block_in_function(sql),
            simple_protocol: false,
        };
        let (bound, params, tables, version) = self.bind(&prepared, param_types)?;
        prepared.param_types = params;
        // DECLARE's parameters are its query's.
        if let Kind::Utility(Utility::DeclareCursor { query, .. }) = &prepared.kind {
            prepared.param_types = self.prepare(query, param_types)?.param_types.clone();
        }
        prepared.columns = match bound.result_columns() {
            Some(columns) => columns,
            None => match &*bound {
                Bound::Explain(_) | Bound::ExplainAnalyze(_) => {
                    vec![("QUERY PLAN".into(), SqlType::Text)]
                }
                _ => match &prepared.kind {
                    Kind::Utility(u) => self.command_columns(u),
                    _ => vec![],
                },
            },
        };
        *prepared.plan.lock() = Some(PlanEntry { version, bound, tables });
        Ok(Arc::new(prepared))
    }

    /// [`Session::prepare`] for a statement of a simple-protocol query.
    pub(super) fn prepare_simple(
        &self,
        sql: &str,
        param_types: &[Option<SqlType>],
    ) -> Result<Arc<Prepared>, SqlError> {
        let mut prepared = self.prepare(sql, param_types)?;
        if let Some(p) = Arc::get_mut(&mut prepared) {
            p.simple_protocol = true;
        }
        Ok(prepared)
    }

    /// [`Session::prepare_simple`] where the statement may block (the blocking pool): when it
    /// names a column that does not exist and a table it reads is held by another
    /// transaction's DDL, it waits for that DDL to end and prepares again, as PostgreSQL's
    /// parse analysis waits for the table's lock before it looks up the column (which an
    /// uncommitted ALTER TABLE ... ADD COLUMN may be adding).
    pub(super) fn prepare_simple_waiting(&mut self, sql: &str) -> Result<Arc<Prepared>, SqlError> {
        let first = self.prepare_simple(sql, &[]);
        match &first {
            Err(e) if e.code == crate::error::SqlState::UndefinedColumn => {}
            _ => return first,
        }
        let tables = self.tables_named(sql);
        if tables.is_empty() {
            return first;
        }
        self.ensure_txn()?;
        let mut waited = false;
        for t in tables {
            let txn = self.txn.as_mut().expect("ensured");
            if !txn.try_lock_relation_shared(t).map_err(SqlError::from)? {
                self.publish("active", sql);
                let txn = self.txn.as_mut().expect("ensured");
                txn.lock_relation(t, false).map_err(SqlError::from)?;
                waited = true;
            }
        }
        if waited { self.prepare_simple(sql, &[]) } else { first }
    }

    /// The tables a statement names that exist (bound as far as binding goes).
    fn tables_named(&self, sql: &str) -> Vec<TableId> {
        let Ok(Parsed::Sql(stmt, lock)) = parse_statement(sql) else { return Vec::new() };
        let schema = self.schema();
        let mut binder = Binder::new(&schema, vec![]);
        let _ = bind_statement(&mut binder, &stmt, lock);
        binder.tables_used()
    }

    /// Binds against the schema this session sees now: the plan, the parameter types, the
    /// tables it uses and the schema version it was bound at.
    #[allow(clippy::type_complexity)]
    pub(super) fn bind(
        &self,
        p: &Prepared,
        param_types: &[Option<SqlType>],
    ) -> Result<(Arc<Bound>, Vec<SqlType>, Arc<[TableId]>, u64), SqlError> {
        let schema = self.schema();
        let mut binder = Binder::new(&schema, param_types.to_vec());
        let bound = match &p.kind {
            Kind::Sql(stmt, lock) => bind_statement(&mut binder, stmt, *lock)?,
            _ => Bound::Other,
        };
        let tables: Arc<[TableId]> = binder.tables_used().into();
        Ok((Arc::new(bound), binder.param_types(), tables, schema.version))
    }

    /// The plan for the schema version this session sees (re-bound after DDL).
    pub(crate) fn plan_of(&self, p: &Prepared) -> Result<PlanEntry, SqlError> {
        let version = self.schema_version();
        if let Some(entry) = &*p.plan.lock()
            && entry.version == version
        {
            return Ok(entry.clone());
        }
        let declared: Vec<Option<SqlType>> = p.param_types.iter().map(|t| Some(*t)).collect();
        let (bound, _, tables, version) = self.bind(p, &declared)?;
        let entry = PlanEntry { version, bound, tables };
        *p.plan.lock() = Some(entry.clone());
        Ok(entry)
    }
}
