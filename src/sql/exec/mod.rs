//! The executor: runs plans inside a core [`Transaction`].
//!
//! SELECT reads through the chosen access path, joins by nested loops, filters, groups, sorts,
//! projects and limits, materialising rows (results are sent after the statement completes).
//! Locking reads lock each qualifying row in order and, at Read Committed, re-check the WHERE
//! clause on the newest version (PostgreSQL's EvalPlanQual); LIMIT counts locked rows, so
//! `... LIMIT 1 FOR UPDATE SKIP LOCKED` takes the first unlocked row. UPDATE and DELETE find
//! candidate rows in the snapshot, then let the core lock each one and hand back its newest
//! version, on which the WHERE clause is re-checked and the new row computed.
//! Invariants: every written row has been coerced to the column types and passed NOT NULL and
//! CHECK; a statement's error leaves its partial writes to the session, which rolls the
//! transaction (or the block) back.

pub mod arrays;
pub mod copy;
mod cte;
pub mod datetime;
pub mod datetime_format;
pub mod eval;
pub(crate) mod fk;
mod grouping_sets;
pub mod json;
mod math;
mod modify_from;
pub mod pattern;
pub mod scalar;
mod sequence;
mod window;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::SqlState;
use crate::sql::advisory::{AdvisoryKey, Scope, Wait};
use crate::sql::engine::Engine;
use crate::sql::error::SqlError;
use crate::sql::exec::eval::{AggState, EvalContext, compare};
use crate::sql::pg_catalog::Viewer;
use crate::sql::plan::{
    Access, InsertPlan, InsertSource, Locking, ModifyPlan, RowRules, SelectPlan, SetOp, SortKey,
    Source,
};
use crate::sql::plan::{AggFunc, BExpr, CatalogFn, ClusterFunc, SessionFunc};
use crate::sql::schema::{Schema, TableSchema};
use crate::sql::types::{SqlType, cast};
use crate::txn::{Change, LockOutcome, Modified, Transaction, WaitPolicy};
use crate::types::{Key, KeyRange, Row, Value};

/// How running a statement can end without its answer.
#[derive(Debug)]
pub enum ExecError {
    /// It failed: the client gets this error.
    Failed(SqlError),
    /// It stopped before it wrote or showed anything, to run again (see [`Interrupt`]).
    Interrupted(Interrupt),
}

/// Why a statement stopped to run again: control flow between the core and the session, never
/// an error a client sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// It must wait for a row lock and runs on an async task: the wait is queued for the task
    /// (or, for a wait only a thread can take, not queued); it runs again once the wait is over.
    WouldWait,
    /// It met a version committed after its transaction's snapshot before anything was shown
    /// or written: it runs again from the start with a new snapshot.
    Restart,
    /// DDL changed the schema while it waited for its tables' locks: it is planned again.
    Replan,
}

/// A unique violation met writing `table` names the table when the constraint is one of its
/// own (the core's error knows only the index).
fn unique_on(e: ExecError, table: &TableSchema) -> ExecError {
    match e {
        ExecError::Failed(e)
            if e.code == SqlState::UniqueViolation
                && e.object.as_ref().is_some_and(|o| {
                    o.table.is_none()
                        && o.constraint.as_ref().is_some_and(|c| {
                            *c == table.pkey_name() || table.indexes.iter().any(|i| i.name == *c)
                        })
                }) =>
        {
            ExecError::Failed(e.on_table(&table.name, None, None))
        }
        other => other,
    }
}

impl ExecError {
    /// The error a client would see if this reached it: an interruption that escapes the
    /// session is an internal error (WouldWait) or the serialization failure it stood for.
    pub fn into_sql_error(self) -> SqlError {
        match self {
            ExecError::Failed(e) => e,
            ExecError::Interrupted(Interrupt::WouldWait) => crate::Error::WouldWait.into(),
            ExecError::Interrupted(Interrupt::Restart) => crate::Error::RestartStatement.into(),
            ExecError::Interrupted(Interrupt::Replan) => SqlError::new(
                crate::error::SqlState::InternalError,
                "the schema changed while the statement waited for its tables",
            ),
        }
    }
}

impl From<SqlError> for ExecError {
    fn from(e: SqlError) -> Self {
        ExecError::Failed(e)
    }
}

impl From<crate::Error> for ExecError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::WouldWait => ExecError::Interrupted(Interrupt::WouldWait),
            crate::Error::RestartStatement => ExecError::Interrupted(Interrupt::Restart),
            other => ExecError::Failed(other.into()),
        }
    }
}

/// What an expression evaluation may need beyond its row.
pub struct ExecCtx<'a> {
    pub engine: &'a Engine,
    /// Taken out while the core runs a row-change callback (see `modify_rows`).
    pub txn: Option<&'a mut Transaction>,
    pub params: &'a [Value],
    /// Rows of the enclosing queries (innermost last), for correlated subqueries.
    pub outer: Vec<Row>,
    pub statement_time: i64,
    /// When the transaction began (`now()`): the statement's time outside a block.
    pub transaction_time: i64,
    pub user: String,
    pub database: String,
    pub session_id: u32,
    rng: u64,
    subquery_cache: HashMap<usize, Arc<Vec<Row>>>,
    /// Recursive CTEs' working tables, by id, while their steps run (`cte.rs`).
    work_tables: HashMap<usize, Arc<Vec<Row>>>,
    /// When the statement must stop (statement_timeout), checked every `TICKS_PER_CHECK` rows.
    pub deadline: Option<std::time::Instant>,
    /// The statement runs on an async task that must not block: a table lock it cannot have
    /// at once fails with [`Interrupt::WouldWait`] (run it again where it may block).
    pub never_block: bool,
    /// The session's lock_timeout, for the waits the executor takes itself (advisory locks).
    pub lock_timeout: Option<std::time::Duration>,
    ticks: u32,
    /// The session's settings (`pg_settings`, `set_config`); empty when not given.
    pub settings: &'a [(String, String)],
    /// Settings `set_config` changed, for the session to keep after the statement.
    /// (name, value, whether for the transaction only: `is_local`).
    pub settings_changed: Vec<(String, String, bool)>,
    /// The schema the statement was planned against (foreign keys find their tables here).
    pub schema: Option<Arc<Schema>>,
    /// Referential work the statement queued (`fk.rs`), settled when it ends.
    pub(crate) fk_work: Vec<fk::FkWork>,
    /// Checks of deferred constraints, for the session to run at COMMIT.
    pub(crate) deferred_fk: Vec<fk::FkWork>,
    /// Which deferrable constraints are deferred now (SET CONSTRAINTS).
    pub constraints: fk::ConstraintModes,
}

impl EvalContext for ExecCtx<'_> {
    fn param(&self, index: usize) -> Value {
        self.params.get(index).cloned().unwrap_or(Value::Null)
    }

    fn outer_column(&self, level: usize, index: usize) -> Value {
        self.outer
            .get(self.outer.len().wrapping_sub(level))
            .and_then(|r| r.get(index))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn run_subquery(
        &mut self,
        plan: &Arc<SelectPlan>,
        row: &[Value],
    ) -> Result<Arc<Vec<Row>>, SqlError> {
        // A subquery only reads: it takes no row lock, so it is never interrupted.
        self.subquery_rows(plan, row).map_err(ExecError::into_sql_error)
    }

    fn statement_time(&self) -> i64 {
        self.statement_time
    }

    fn transaction_time(&self) -> i64 {
        self.transaction_time
    }

    fn random_u64(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn database(&self) -> &str {
        &self.database
    }

    fn user(&self) -> &str {
        &self.user
    }

    fn session_id(&self) -> u32 {
        self.session_id
    }

    fn txn_id(&self) -> u64 {
        self.txn.as_ref().map_or(0, |t| t.id())
    }

    fn catalog_call(&mut self, func: CatalogFn, args: &[Value]) -> Result<Value, SqlError> {
        if func == CatalogFn::SetConfig {
            let (name, value, local) =
                crate::sql::pg_catalog::functions::set_config(args, self.settings)?;
            self.settings_changed.push((name, value.clone(), local));
            return Ok(Value::Text(value));
        }
        let schema = self.catalog_schema();
        crate::sql::pg_catalog::functions::call(&schema, func, args, &self.viewer())
    }

    fn session_function(&mut self, func: SessionFunc, args: &[Value]) -> Result<Value, SqlError> {
        let void = Value::Text(String::new());
        let session = self.session_id;
        let key = || match args {
            [Value::Int(k)] => Ok(AdvisoryKey::Big(*k)),
            [Value::Int(a), Value::Int(b)] => match (i32::try_from(*a), i32::try_from(*b)) {
                (Ok(a), Ok(b)) => Ok(AdvisoryKey::Pair(a, b)),
                _ => Err(SqlError::new(SqlState::NumericValueOutOfRange, "integer out of range")),
            },
            _ => Err(SqlError::new(
                SqlState::UndefinedFunction,
                "an advisory lock takes one bigint key or two integer keys",
            )),
        };
        match func {
            SessionFunc::Notify => {
                let text = |v: &Value| match v {
                    Value::Null => String::new(),
                    Value::Text(s) => s.clone(),
                    other => {
                        crate::sql::types::format_text(other, SqlType::Text).unwrap_or_default()
                    }
                };
                let channel = args.first().map(text).unwrap_or_default();
                let payload = args.get(1).map(text).unwrap_or_default();
                self.engine.notifications.queue(session, &channel, &payload)?;
                Ok(void)
            }
            SessionFunc::AdvisoryLock { exclusive, xact, try_only } => {
                let scope = if xact { Scope::Transaction } else { Scope::Session };
                let wait = if try_only {
                    Wait::Try
                } else {
                    let now = std::time::Instant::now();
                    Wait::Block {
                        lock_deadline: self.lock_timeout.map(|d| now + d),
                        statement_deadline: self.deadline,
                    }
                };
                let engine = self.engine;
                let lock_waits = || engine.session_lock_waits();
                let got =
                    engine.advisory.lock(session, key()?, exclusive, scope, wait, &lock_waits)?;
                Ok(if try_only { Value::Bool(got) } else { void })
            }
            SessionFunc::AdvisoryUnlock { exclusive } => {
                Ok(Value::Bool(self.engine.advisory.unlock(session, key()?, exclusive)))
            }
            SessionFunc::AdvisoryUnlockAll => {
                self.engine.advisory.unlock_all(session);
                Ok(void)
            }
            SessionFunc::Cluster(func) => self.membership_change(func, args),
        }
    }

    fn sequence_function(
        &mut self,
        func: crate::sql::plan::SequenceFn,
        args: &[Value],
    ) -> Result<Value, SqlError> {
        sequence::call(self, func, args)
    }
}

/// Rows processed between two checks for a cancel request or an expired statement_timeout.
const TICKS_PER_CHECK: u32 = 4096;
/// How many rows a table scan reads per part (see [`ExecCtx::scan_in_parts`]).
const SCAN_PART: usize = 4096;
/// Rows a plain INSERT or COPY hands to the transaction at once (one hold of the database
/// mutex; other transactions wait at most that long for it).
const INSERT_BATCH_ROWS: usize = 256;

fn no_txn() -> SqlError {
    SqlError::unsupported("a subquery that reads the row being updated")
}

impl<'a> ExecCtx<'a> {
    /// `isola_cluster_add_learner(id, raft_addr)` and the other membership functions: the
    /// change, run by the group's leader (passed on to it from a follower); the leader's
    /// description of what it did. Runs on a blocking thread (the statement's text names the
    /// function, see `Prepared::may_block_in_function`).
    fn membership_change(&mut self, func: ClusterFunc, args: &[Value]) -> Result<Value, SqlError> {
        use crate::replication::MembershipChange;
        let Some(replica) = self.engine.replica() else {
            return Err(SqlError::new(
                SqlState::ObjectNotInPrerequisiteState,
                format!(
                    "{}: this server is not a member of a replicated group (start it with --node-id, --raft-listen and --peers)",
                    func.name()
                ),
            ));
        };
        if self.never_block {
            return Err(SqlError::new(
                SqlState::InternalError,
                format!("{} reached a statement that may not block", func.name()),
            ));
        }
        let id = |i: usize| match args.get(i) {
            Some(Value::Int(n)) if *n > 0 => Ok(*n as u64),
            _ => Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("{}: a node id is a positive integer", func.name()),
            )),
        };
        let expected = if func == ClusterFunc::AddLearner { 2 } else { 1 };
        if args.len() != expected {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                match func {
                    ClusterFunc::AddLearner => {
                        "isola_cluster_add_learner(node_id bigint, raft_address text)".to_string()
                    }
                    other => format!("{}(node_id bigint)", other.name()),
                } + " is the signature",
            ));
        }
        let change = match func {
            ClusterFunc::AddLearner => {
                let raft_addr = match args.get(1) {
                    Some(Value::Text(a)) if a.parse::<std::net::SocketAddr>().is_ok() => a.clone(),
                    _ => {
                        return Err(SqlError::new(
                            SqlState::InvalidParameterValue,
                            "isola_cluster_add_learner: the Raft address is HOST:PORT, an IP address and a port",
                        ));
                    }
                };
                MembershipChange::AddLearner { id: id(0)?, raft_addr }
            }
            ClusterFunc::Promote => MembershipChange::Promote { id: id(0)? },
            ClusterFunc::Remove => MembershipChange::Remove { id: id(0)? },
            ClusterFunc::TransferLeader => MembershipChange::TransferLeader { to: id(0)? },
        };
        let timeout = std::time::Duration::from_secs(60);
        replica.change_membership_blocking(change, timeout).map(Value::Text).map_err(|e| {
            SqlError::new(SqlState::ObjectNotInPrerequisiteState, format!("{}: {e}", func.name()))
        })
    }

    pub fn new(
        engine: &'a Engine,
        txn: &'a mut Transaction,
        params: &'a [Value],
        identity: (&str, &str, u32),
        statement_time: i64,
    ) -> Self {
        ExecCtx {
            engine,
            txn: Some(txn),
            params,
            outer: Vec::new(),
            statement_time,
            transaction_time: statement_time,
            user: identity.0.to_string(),
            database: identity.1.to_string(),
            session_id: identity.2,
            rng: (statement_time as u64) ^ 0x9E37_79B9_7F4A_7C15 ^ (identity.2 as u64) << 32,
            subquery_cache: HashMap::new(),
            work_tables: HashMap::new(),
            deadline: None,
            lock_timeout: None,
            never_block: false,
            ticks: 0,
            settings: &[],
            settings_changed: Vec::new(),
            schema: None,
            fk_work: Vec::new(),
            deferred_fk: Vec::new(),
            constraints: fk::ConstraintModes::default(),
        }
    }

    /// The schema the catalog shows: the statement's (a transaction's own DDL included).
    fn catalog_schema(&self) -> Arc<Schema> {
        self.schema.clone().unwrap_or_else(|| self.engine.shared_schema())
    }

    /// Who reads the catalog: the session's role, database and settings.
    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            session: self.session_id,
            user: &self.user,
            database: &self.database,
            settings: self.settings,
            databases: match self.engine.databases() {
                Some(registry) => registry.names(),
                None => vec![crate::sql::databases::DEFAULT_DATABASE.to_string()],
            },
            in_recovery: self.engine.db.standby_reason().is_some(),
        }
    }

    /// Counts one row of work; every `TICKS_PER_CHECK` rows, ends the statement with 57014 if
    /// its statement_timeout passed or a cancel request came.
    pub fn tick(&mut self) -> Result<(), ExecError> {
        self.ticks = self.ticks.wrapping_add(1);
        if !self.ticks.is_multiple_of(TICKS_PER_CHECK) {
            return Ok(());
        }
        self.check_interrupts()
    }

    /// Ends the statement with 57014 if its statement_timeout passed or a cancel came.
    fn check_interrupts(&mut self) -> Result<(), ExecError> {
        if self.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(SqlError::new(
                SqlState::QueryCanceled,
                "canceling statement due to statement timeout",
            )
            .into());
        }
        if let Some(txn) = self.txn.as_deref_mut()
            && txn.take_cancel_request()
        {
            return Err(SqlError::new(
                SqlState::QueryCanceled,
                "canceling statement due to user request",
            )
            .into());
        }
        Ok(())
    }

    pub(crate) fn txn(&mut self) -> Result<&mut Transaction, ExecError> {
        self.txn.as_deref_mut().ok_or_else(|| no_txn().into())
    }

    /// Runs a subquery for the current row (cached when it does not depend on it).
    fn subquery_rows(
        &mut self,
        plan: &Arc<SelectPlan>,
        row: &[Value],
    ) -> Result<Arc<Vec<Row>>, ExecError> {
        let id = Arc::as_ptr(plan) as usize;
        if !plan.correlated
            && let Some(rows) = self.subquery_cache.get(&id)
        {
            return Ok(rows.clone());
        }
        self.outer.push(row.to_vec());
        let result = self.select(plan);
        self.outer.pop();
        let rows = Arc::new(result?);
        if !plan.correlated {
            self.subquery_cache.insert(id, rows.clone());
        }
        Ok(rows)
    }

    /// Runs a SELECT and returns its output rows.
    pub fn select(&mut self, plan: &SelectPlan) -> Result<Vec<Row>, ExecError> {
        // `LIMIT 0` reads nothing: no row is evaluated (so none can fail), as in PostgreSQL
        if plan.limit.is_some() && self.offset_limit(plan)?.1 == Some(0) {
            return Ok(Vec::new());
        }
        let mut counted = self.count_star_only(plan)?;
        let grouped_already = counted.is_some();
        let mut rows = match (&plan.locking, &plan.source) {
            _ if grouped_already => counted.take().unwrap_or_default(),
            (Some(locking), Source::Table { table, access, alias }) => {
                if !locking.of.is_empty()
                    && !locking.of.contains(alias)
                    && !locking.of.contains(&table.name)
                {
                    return Err(SqlError::new(
                        SqlState::UndefinedTable,
                        format!(
                            "relation \"{}\" in FOR UPDATE clause not found in FROM clause",
                            locking.of[0]
                        ),
                    )
                    .into());
                }
                return self.locking_select(plan, table, access, locking);
            }
            (Some(locking), Source::Join { .. }) => return self.locking_join(plan, locking),
            (Some(_), _) => {
                return Err(SqlError::unsupported(
                    "FOR UPDATE/SHARE on subqueries, functions or system views",
                )
                .into());
            }
            _ => self.source_rows(&plan.source)?,
        };
        if let Some(f) = &plan.filter {
            let mut kept = Vec::with_capacity(rows.len());
            for r in rows {
                self.tick()?;
                if f.holds(&r, self)? {
                    kept.push(r);
                }
            }
            rows = kept;
        }
        if let Some(g) = &plan.grouping {
            if !grouped_already {
                rows = self.group(rows, g)?;
            }
            if let Some(h) = &plan.having {
                let mut kept = Vec::new();
                for r in rows {
                    if h.holds(&r, self)? {
                        kept.push(r);
                    }
                }
                rows = kept;
            }
        }
        if !plan.windows.is_empty() {
            rows = self.window_stage(rows, &plan.windows)?;
        }
        let mut out = self.project_sort_limit(plan, rows, None)?;
        for (op, all, other) in &plan.set_ops {
            let right = self.select(other)?;
            out = set_operation(out, right, *op, *all);
        }
        Ok(out)
    }

    /// Sorts, projects, de-duplicates and limits.
    fn project_sort_limit(
        &mut self,
        plan: &SelectPlan,
        rows: Vec<Row>,
        pre_limited: Option<()>,
    ) -> Result<Vec<Row>, ExecError> {
        let mut keyed: Vec<(Vec<Value>, Row)> = Vec::with_capacity(rows.len());
        for r in rows {
            self.tick()?;
            let mut keys = Vec::with_capacity(plan.order_by.len() + plan.distinct_on.len());
            for k in &plan.order_by {
                keys.push(k.expr.eval(&r, self)?);
            }
            for e in &plan.distinct_on {
                keys.push(e.eval(&r, self)?);
            }
            let mut projected = Vec::with_capacity(plan.projection.len());
            for (e, (_, ty)) in plan.projection.iter().zip(&plan.columns) {
                let v = e.eval(&r, self)?;
                projected.push(if e.ty() == *ty || e.ty() == SqlType::Unknown {
                    v
                } else {
                    cast(v, e.ty(), *ty, false)?
                });
            }
            keyed.push((keys, projected));
        }
        if !plan.order_by.is_empty() {
            sort_rows(&mut keyed, &plan.order_by);
        }
        if !plan.distinct_on.is_empty() {
            // the first row of each DISTINCT ON value, in ORDER BY order
            let from = plan.order_by.len();
            let mut seen = std::collections::HashSet::new();
            keyed.retain(|(keys, _)| seen.insert(keys[from..].to_vec()));
        }
        let mut out: Vec<Row> = keyed.into_iter().map(|(_, r)| r).collect();
        if plan.distinct {
            let mut seen = std::collections::HashSet::new();
            out.retain(|r| seen.insert(r.clone()));
        }
        if pre_limited.is_none() {
            let (offset, limit) = self.offset_limit(plan)?;
            if offset > 0 || limit.is_some() {
                out = out.into_iter().skip(offset).take(limit.unwrap_or(usize::MAX)).collect();
            }
        }
        Ok(out)
    }

    /// `generate_series(start, stop, step)` over timestamps: `start`, then each adding `step`
    /// to the one before (so month steps clamp as they go, as PostgreSQL's do), up to `stop`.
    fn timestamp_series(&mut self, args: &[BExpr]) -> Result<Vec<Row>, ExecError> {
        let mut vals = Vec::new();
        for a in args {
            vals.push(a.eval(&[], self)?);
        }
        let (Value::Int(start), Value::Int(stop), Value::Interval(step)) =
            (&vals[0], &vals[1], &vals[2])
        else {
            return Ok(vec![]);
        };
        let zero = step.span() == 0;
        if zero {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "step size cannot equal zero",
            )
            .into());
        }
        let forward = step.span() > 0;
        let mut out = Vec::new();
        let mut at = *start;
        while (forward && at <= *stop) || (!forward && at >= *stop) {
            self.tick()?;
            if out.len() >= 50_000_000 {
                return Err(SqlError::new(
                    SqlState::ProgramLimitExceeded,
                    "generate_series would produce too many rows",
                )
                .into());
            }
            out.push(vec![Value::Int(at)]);
            match crate::sql::types::datetime::add_interval(at, step) {
                Ok(next) => at = next,
                Err(_) => break,
            }
        }
        Ok(out)
    }

    fn offset_limit(&mut self, plan: &SelectPlan) -> Result<(usize, Option<usize>), ExecError> {
        let mut get = |e: &Option<BExpr>, what: &str| -> Result<Option<usize>, ExecError> {
            match e {
                None => Ok(None),
                Some(e) => match cast(e.eval(&[], self)?, e.ty(), SqlType::Int8, false)? {
                    Value::Null => Ok(None),
                    Value::Int(i) if i >= 0 => Ok(Some(i as usize)),
                    _ => Err(SqlError::new(
                        SqlState::InvalidRowCountInLimitClause,
                        format!("{what} must not be negative"),
                    )
                    .into()),
                },
            }
        };
        let offset = get(&plan.offset, "OFFSET")?.unwrap_or(0);
        let limit = get(&plan.limit, "LIMIT")?;
        Ok((offset, limit))
    }

    fn locking_select(
        &mut self,
        plan: &SelectPlan,
        table: &Arc<TableSchema>,
        access: &Access,
        locking: &Locking,
    ) -> Result<Vec<Row>, ExecError> {
        let mut candidates = self.table_rows(table, access)?;
        if let Some(f) = &plan.filter {
            let mut kept = Vec::new();
            for (k, r) in candidates {
                if f.holds(&r, self)? {
                    kept.push((k, r));
                }
            }
            candidates = kept;
        }
        if !plan.order_by.is_empty() {
            let mut keyed = Vec::new();
            for (k, r) in candidates {
                let mut keys = Vec::new();
                for sk in &plan.order_by {
                    keys.push(sk.expr.eval(&r, self)?);
                }
                keyed.push((keys, (k, r)));
            }
            sort_rows(&mut keyed, &plan.order_by);
            candidates = keyed.into_iter().map(|(_, kr)| kr).collect();
        }
        let (offset, limit) = self.offset_limit(plan)?;
        let wanted = limit.map(|l| l.saturating_add(offset));
        let level = self.txn()?.options().level;
        let mut locked = Vec::new();
        for (key, row) in candidates {
            self.tick()?;
            if wanted.is_some_and(|w| locked.len() >= w) {
                break;
            }
            match self.txn()?.lock(table.id, &key, locking.mode, locking.policy)? {
                LockOutcome::Locked(newest) => {
                    let newest = table.pad_row(newest);
                    let row = if newest != row && !level.transaction_snapshot() {
                        // Read Committed: the row changed since our snapshot; re-check it
                        match &plan.filter {
                            Some(f) if !f.holds(&newest, self)? => continue,
                            _ => newest,
                        }
                    } else {
                        row
                    };
                    locked.push(row);
                }
                LockOutcome::NotFound | LockOutcome::Skipped => {}
            }
        }
        let mut out = self.project_sort_limit(plan, locked, Some(()))?;
        if offset > 0 {
            out = out.into_iter().skip(offset).collect();
        }
        Ok(out)
    }

    /// A locking read over a join of tables (`FROM a JOIN b ON ... [JOIN c ...] FOR UPDATE [OF
    /// a]`): the joined rows that pass WHERE, in ORDER BY order, lock the row of each table
    /// named (every table without OF) as they are reached; a row gone or skipped drops the
    /// joined row. At Read Committed a row changed since the snapshot takes its newest
    /// version into the joined row, which must still pass the join conditions and WHERE (as
    /// PostgreSQL re-checks). Joins whose right side is not a table, and the nullable side of
    /// an outer join, are refused (0A000).
    fn locking_join(
        &mut self,
        plan: &SelectPlan,
        locking: &Locking,
    ) -> Result<Vec<Row>, ExecError> {
        let mut tables = Vec::new();
        let mut conditions = Vec::new();
        if join_tables(&plan.source, &mut tables, &mut conditions).is_none() {
            return Err(
                SqlError::unsupported("FOR UPDATE/SHARE on a join of anything but tables").into()
            );
        }
        let named = |t: &JoinTable| {
            locking.of.is_empty()
                || locking.of.contains(&t.alias)
                || locking.of.contains(&t.table.name)
        };
        if let Some(missing) = locking
            .of
            .iter()
            .find(|n| !tables.iter().any(|t| t.alias == **n || t.table.name == **n))
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("relation \"{missing}\" in FOR UPDATE clause not found in FROM clause"),
            )
            .into());
        }
        let locked_tables: Vec<&JoinTable> = tables.iter().filter(|t| named(t)).collect();
        if locked_tables.iter().any(|t| t.nullable) {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("{} cannot be applied to the nullable side of an outer join", locking.mode),
            )
            .into());
        }
        let mut candidates = Vec::new();
        for r in self.source_rows(&plan.source)? {
            self.tick()?;
            if plan.filter.as_ref().map_or(Ok(true), |f| f.holds(&r, self))? {
                candidates.push(r);
            }
        }
        if !plan.order_by.is_empty() {
            let mut keyed = Vec::with_capacity(candidates.len());
            for r in candidates {
                let mut keys = Vec::with_capacity(plan.order_by.len());
                for sk in &plan.order_by {
                    keys.push(sk.expr.eval(&r, self)?);
                }
                keyed.push((keys, r));
            }
            sort_rows(&mut keyed, &plan.order_by);
            candidates = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let (offset, limit) = self.offset_limit(plan)?;
        let wanted = limit.map(|l| l.saturating_add(offset));
        let level = self.txn()?.options().level;
        let mut locked = Vec::new();
        'rows: for mut row in candidates {
            self.tick()?;
            if wanted.is_some_and(|w| locked.len() >= w) {
                break;
            }
            let mut changed = false;
            for t in &locked_tables {
                let width = t.table.columns.len();
                let key: Key =
                    t.table.primary_key.iter().map(|&c| row[t.offset + c].clone()).collect();
                match self.txn()?.lock(t.table.id, &key, locking.mode, locking.policy)? {
                    LockOutcome::Locked(newest) => {
                        let newest = t.table.pad_row(newest);
                        if newest[..] != row[t.offset..t.offset + width]
                            && !level.transaction_snapshot()
                        {
                            row.splice(t.offset..t.offset + width, newest);
                            changed = true;
                        }
                    }
                    LockOutcome::NotFound | LockOutcome::Skipped => continue 'rows,
                }
            }
            if changed {
                for (prefix, on) in &conditions {
                    if !on.holds(&row[..*prefix], self)? {
                        continue 'rows;
                    }
                }
                if let Some(f) = &plan.filter
                    && !f.holds(&row, self)?
                {
                    continue;
                }
            }
            locked.push(row);
        }
        let mut out = self.project_sort_limit(plan, locked, Some(()))?;
        if offset > 0 {
            out = out.into_iter().skip(offset).collect();
        }
        Ok(out)
    }

    fn group(
        &mut self,
        rows: Vec<Row>,
        g: &crate::sql::plan::Grouping,
    ) -> Result<Vec<Row>, ExecError> {
        if !g.sets.is_empty() {
            return self.group_sets(rows, g);
        }
        let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
        let mut groups: Vec<(Vec<Value>, Vec<AggState>)> = Vec::new();
        for r in rows {
            self.tick()?;
            let mut key = Vec::with_capacity(g.keys.len());
            for k in &g.keys {
                key.push(k.eval(&r, self)?);
            }
            let slot = match index.get(&key) {
                Some(&i) => i,
                None => {
                    groups.push((key.clone(), g.aggs.iter().map(AggState::new).collect()));
                    index.insert(key, groups.len() - 1);
                    groups.len() - 1
                }
            };
            for (call, state) in g.aggs.iter().zip(groups[slot].1.iter_mut()) {
                if let Some(filter) = &call.filter
                    && eval::truth(&filter.eval(&r, self)?) != Some(true)
                {
                    continue;
                }
                let mut args = Vec::with_capacity(call.args.len());
                for a in &call.args {
                    args.push(a.eval(&r, self)?);
                }
                state.add(call, &args)?;
            }
        }
        if groups.is_empty() && g.keys.is_empty() {
            groups.push((vec![], g.aggs.iter().map(AggState::new).collect()));
        }
        let mut out = Vec::with_capacity(groups.len());
        for (mut key, states) in groups {
            for (call, state) in g.aggs.iter().zip(states) {
                key.push(state.finish(call)?);
            }
            out.push(key);
        }
        Ok(out)
    }

    fn source_rows(&mut self, source: &Source) -> Result<Vec<Row>, ExecError> {
        Ok(match source {
            Source::Single => vec![vec![]],
            Source::Table { table, access, .. } => {
                self.table_rows(table, access)?.into_iter().map(|(_, r)| r).collect()
            }
            Source::System(view) => {
                let schema = self.catalog_schema();
                crate::sql::pg_catalog::rows(self.engine, &schema, *view, &self.viewer())
            }
            Source::Sequence(seq) => {
                use std::sync::atomic::Ordering;
                let called = seq.called.load(Ordering::SeqCst);
                let last = seq.last.load(Ordering::SeqCst);
                // before its first value (or after setval(.., false)) `last` is one step
                // behind what PostgreSQL shows
                let last_value = if called { last } else { last + seq.increment };
                vec![vec![Value::Int(last_value), Value::Int(0), Value::Bool(called)]]
            }
            Source::Derived(plan) | Source::Lateral(plan) => self.select(plan)?,
            Source::Cte(plan) => self.cte_rows(plan)?,
            Source::Recursive { id, anchor, step, union_all } => {
                self.recursive_rows(*id, anchor, step, *union_all)?
            }
            Source::WorkTable(id) => {
                self.work_tables.get(id).map(|rows| rows.as_ref().clone()).unwrap_or_default()
            }
            Source::Unnest(args) => {
                let mut arrays = Vec::with_capacity(args.len());
                for a in args {
                    arrays.push(a.eval(&[], self)?);
                }
                arrays::unnest_rows(&arrays)?
            }
            Source::Series(args) if args.get(2).is_some_and(|a| a.ty() == SqlType::Interval) => {
                self.timestamp_series(args)?
            }
            Source::Series(args) => {
                let mut vals = Vec::new();
                for a in args {
                    vals.push(cast(a.eval(&[], self)?, a.ty(), SqlType::Int8, false)?);
                }
                let (Some(start), Some(stop)) = (vals[0].as_int(), vals[1].as_int()) else {
                    return Ok(vec![]);
                };
                let step = vals.get(2).map_or(Some(1), Value::as_int).unwrap_or(1);
                if step == 0 {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        "step size cannot equal zero",
                    )
                    .into());
                }
                let count =
                    if step > 0 { (stop - start) / step + 1 } else { (start - stop) / (-step) + 1 };
                if count > 50_000_000 {
                    return Err(SqlError::new(
                        SqlState::ProgramLimitExceeded,
                        "generate_series would produce too many rows",
                    )
                    .into());
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i <= stop) || (step < 0 && i >= stop) {
                    self.tick()?;
                    out.push(vec![Value::Int(i)]);
                    i += step;
                }
                out
            }
            Source::Join { left, right, left_outer, right_outer, on, right_width } => {
                let lrows = self.source_rows(left)?;
                // `FROM t, unnest(t.a)`: the right side is unnested once per left row
                let lateral = match right.as_ref() {
                    Source::Unnest(args) if args.iter().any(BExpr::uses_current_row) => Some(args),
                    _ => None,
                };
                let lateral_plan = match right.as_ref() {
                    Source::Lateral(plan) => Some(plan),
                    _ => None,
                };
                let shared_rrows = if lateral.is_some() || lateral_plan.is_some() {
                    Vec::new()
                } else {
                    self.source_rows(right)?
                };
                let mut out = Vec::new();
                // RIGHT / FULL: which right rows some left row matched
                let mut right_matched = vec![false; shared_rrows.len()];
                for l in &lrows {
                    let mut matched = false;
                    let lateral_rrows = match lateral {
                        Some(args) => {
                            let mut arrays = Vec::with_capacity(args.len());
                            for a in args {
                                arrays.push(a.eval(l, self)?);
                            }
                            arrays::unnest_rows(&arrays)?
                        }
                        None => match lateral_plan {
                            Some(plan) => {
                                self.outer.push(l.clone());
                                let rows = self.select(plan);
                                self.outer.pop();
                                rows?
                            }
                            None => Vec::new(),
                        },
                    };
                    let rrows = if lateral.is_some() || lateral_plan.is_some() {
                        &lateral_rrows
                    } else {
                        &shared_rrows
                    };
                    for (i, r) in rrows.iter().enumerate() {
                        self.tick()?;
                        let mut combined = Vec::with_capacity(l.len() + r.len());
                        combined.extend_from_slice(l);
                        combined.extend_from_slice(r);
                        if match on {
                            Some(cond) => cond.holds(&combined, self)?,
                            None => true,
                        } {
                            matched = true;
                            if let Some(m) = right_matched.get_mut(i) {
                                *m = true;
                            }
                            out.push(combined);
                        }
                    }
                    if *left_outer && !matched {
                        let mut combined = l.clone();
                        combined.extend(std::iter::repeat_n(Value::Null, *right_width));
                        out.push(combined);
                    }
                }
                if let Some(left_width) = right_outer {
                    for (r, matched) in shared_rrows.iter().zip(&right_matched) {
                        if !matched {
                            let mut combined = vec![Value::Null; *left_width];
                            combined.extend_from_slice(r);
                            out.push(combined);
                        }
                    }
                }
                out
            }
        })
    }

    /// Evaluates a key expression and brings it to the column's type; `None` when no row can
    /// match (NULL, or a value the column cannot hold).
    fn key_value(&mut self, e: &BExpr, ty: SqlType) -> Result<Option<Value>, ExecError> {
        let v = e.eval(&[], self)?;
        if v == Value::Null {
            return Ok(None);
        }
        let from = if e.ty() == SqlType::Unknown { SqlType::Text } else { e.ty() };
        Ok(cast(v, from, ty, false).ok())
    }

    /// Reads a table's rows through an access path, as (primary key, padded row).
    fn table_rows(
        &mut self,
        table: &Arc<TableSchema>,
        access: &Access,
    ) -> Result<Vec<(Key, Row)>, ExecError> {
        let pad =
            |rows: Vec<(Key, Row)>| rows.into_iter().map(|(k, r)| (k, table.pad_row(r))).collect();
        match access {
            Access::Scan => {
                let rows = self.scan_in_parts(table.id, (Bound::Unbounded, Bound::Unbounded))?;
                Ok(pad(rows))
            }
            Access::PkPoint(exprs) => {
                let mut key = Key::with_capacity(exprs.len());
                for (e, &c) in exprs.iter().zip(&table.primary_key) {
                    match self.key_value(e, table.columns[c].ty)? {
                        Some(v) => key.push(v),
                        None => return Ok(vec![]),
                    }
                }
                let row = self.txn()?.get(table.id, &key)?;
                Ok(row.map(|r| vec![(key, table.pad_row(r))]).unwrap_or_default())
            }
            Access::PkRange { eq, lower, upper } => {
                let cols: Vec<SqlType> =
                    table.primary_key.iter().map(|&c| table.columns[c].ty).collect();
                let Some(range) = self.key_range(&cols, eq, lower, upper)? else {
                    return Ok(vec![]);
                };
                let rows = self.scan_in_parts(table.id, range)?;
                Ok(pad(rows))
            }
            Access::Index { index, eq, lower, upper, .. } => {
                let def = table.indexes.iter().find(|i| i.id == *index).cloned();
                let Some(def) = def else {
                    return Err(SqlError::new(SqlState::InternalError, "index vanished").into());
                };
                let cols: Vec<SqlType> = def.columns.iter().map(|&c| table.columns[c].ty).collect();
                let Some(range) = self.key_range(&cols, eq, lower, upper)? else {
                    return Ok(vec![]);
                };
                let rows = self.index_scan_in_parts(*index, range)?;
                Ok(pad(rows))
            }
        }
    }

    /// A table's rows in a key range, read [`SCAN_PART`] rows at a time
    /// (`Transaction::scan_part`), checking for a cancel or a statement timeout between parts:
    /// a scan of a large table neither holds the database mutex throughout nor outlives its
    /// statement_timeout by more than one part.
    fn scan_in_parts(
        &mut self,
        table: crate::catalog::TableId,
        mut range: KeyRange,
    ) -> Result<Vec<(Key, Row)>, ExecError> {
        let mut rows = Vec::new();
        loop {
            let part = self.txn()?.scan_part(table, range.clone(), SCAN_PART)?;
            let last = match part.len() >= SCAN_PART {
                true => part.last().map(|(k, _)| k.clone()),
                false => None,
            };
            rows.extend(part);
            let Some(last) = last else { return Ok(rows) };
            range.0 = Bound::Excluded(last);
            self.check_interrupts()?;
        }
    }

    /// How many rows of the table this statement sees, counted [`SCAN_PART`] rows per call
    /// into the core (as [`ExecCtx::scan_in_parts`], copying no row).
    fn count_in_parts(&mut self, table: crate::catalog::TableId) -> Result<i64, ExecError> {
        let (mut total, mut range): (i64, KeyRange) = (0, (Bound::Unbounded, Bound::Unbounded));
        loop {
            let (count, cut_at) = self.txn()?.count_part(table, range.clone(), SCAN_PART)?;
            total += count as i64;
            let Some(last) = cut_at else { return Ok(total) };
            range.0 = Bound::Excluded(last);
            self.check_interrupts()?;
        }
    }

    /// `SELECT count(*) FROM t` (no WHERE, no GROUP BY, no other aggregate, no locking): its
    /// one grouped row, counted without copying the table's rows out of the core. `None` for
    /// any other query.
    fn count_star_only(&mut self, plan: &SelectPlan) -> Result<Option<Vec<Row>>, ExecError> {
        let (Source::Table { table, access: Access::Scan, .. }, Some(g)) =
            (&plan.source, &plan.grouping)
        else {
            return Ok(None);
        };
        let counts_only = g.aggs.iter().all(|a| {
            a.func == AggFunc::CountStar && a.args.is_empty() && !a.distinct && a.filter.is_none()
        });
        if plan.locking.is_some()
            || plan.filter.is_some()
            || !g.keys.is_empty()
            || !g.sets.is_empty()
            || g.aggs.is_empty()
            || !counts_only
        {
            return Ok(None);
        }
        let n = self.count_in_parts(table.id)?;
        Ok(Some(vec![vec![Value::Int(n); g.aggs.len()]]))
    }

    /// An index range scan read [`SCAN_PART`] entries per call into the core, checking
    /// statement_timeout and cancel between calls (as [`ExecCtx::scan_in_parts`]). A row is
    /// answered once: at Read Uncommitted a row updated between two parts (its index key
    /// moved past the part read) could otherwise come back a second time.
    fn index_scan_in_parts(
        &mut self,
        index: crate::catalog::IndexId,
        range: KeyRange,
    ) -> Result<Vec<(Key, Row)>, ExecError> {
        let mut rows: Vec<(Key, Row)> = Vec::new();
        let mut after = None;
        let mut parts = 0;
        loop {
            let (part, resume) =
                self.txn()?.scan_index_part(index, range.clone(), after, SCAN_PART)?;
            rows.extend(part);
            parts += 1;
            let Some(resume) = resume else { break };
            after = Some(resume);
            self.check_interrupts()?;
        }
        if parts > 1 {
            let mut seen = std::collections::HashSet::with_capacity(rows.len());
            rows.retain(|(pk, _)| seen.insert(pk.clone()));
        }
        Ok(rows)
    }

    /// The key range for an equality prefix and optional bounds on the next column.
    fn key_range(
        &mut self,
        cols: &[SqlType],
        eq: &[BExpr],
        lower: &Option<(BExpr, bool)>,
        upper: &Option<(BExpr, bool)>,
    ) -> Result<Option<KeyRange>, ExecError> {
        let mut prefix = Key::new();
        for (e, ty) in eq.iter().zip(cols) {
            match self.key_value(e, *ty)? {
                Some(v) => prefix.push(v),
                None => return Ok(None),
            }
        }
        let next_ty = cols.get(eq.len()).copied();
        // a value above every value of a non-bytea column (types sort by storage rank)
        let above_all = |ty: SqlType| (ty != SqlType::Bytea).then(|| Value::Bytes(vec![]));
        let more_after = eq.len() + 1 < cols.len();
        let lo = match (lower, next_ty) {
            (Some((e, inclusive)), Some(ty)) => match self.key_value(e, ty)? {
                Some(v) => {
                    let mut k = prefix.clone();
                    k.push(v);
                    if *inclusive || more_after { Bound::Included(k) } else { Bound::Excluded(k) }
                }
                None => return Ok(None),
            },
            _ if prefix.is_empty() => Bound::Unbounded,
            _ => Bound::Included(prefix.clone()),
        };
        let hi = match (upper, next_ty) {
            (Some((e, inclusive)), Some(ty)) => match self.key_value(e, ty)? {
                Some(v) => {
                    let mut k = prefix.clone();
                    k.push(v);
                    if !*inclusive {
                        Bound::Excluded(k)
                    } else if more_after {
                        match above_all(cols[eq.len() + 1]) {
                            Some(s) => {
                                k.push(s);
                                Bound::Excluded(k)
                            }
                            None => Bound::Unbounded,
                        }
                    } else {
                        Bound::Included(k)
                    }
                }
                None => return Ok(None),
            },
            _ if prefix.is_empty() => Bound::Unbounded,
            _ => match next_ty.and_then(above_all) {
                Some(s) => {
                    let mut k = prefix.clone();
                    k.push(s);
                    Bound::Excluded(k)
                }
                None if next_ty.is_none() => Bound::Included(prefix.clone()),
                None => Bound::Unbounded,
            },
        };
        Ok(Some((lo, hi)))
    }

    /// Fills, coerces and checks a row about to be written.
    fn finish_row(
        &mut self,
        table: &Arc<TableSchema>,
        rules: &RowRules,
        mut row: Row,
        given: &[bool],
    ) -> Result<Row, ExecError> {
        for (i, col) in table.columns.iter().enumerate() {
            if given[i] {
                continue;
            }
            row[i] = if let Some(d) = &rules.defaults[i] {
                d.eval(&[], self)?
            } else if let Some(n) = self.draw_serial(table, i)? {
                Value::Int(n)
            } else {
                Value::Null
            };
            if let Some(d) = &rules.defaults[i] {
                row[i] = cast(row[i].clone(), d.ty(), col.ty, false)?;
            }
        }
        self.check_row(table, rules, &row)?;
        Ok(row)
    }

    fn check_row(
        &mut self,
        table: &Arc<TableSchema>,
        rules: &RowRules,
        row: &Row,
    ) -> Result<(), ExecError> {
        for (i, col) in table.columns.iter().enumerate() {
            if row[i] == Value::Null && (col.not_null || table.primary_key.contains(&i)) {
                return Err(SqlError::new(
                    SqlState::NotNullViolation,
                    format!(
                        "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                        col.name, table.name
                    ),
                )
                .on_table(&table.name, Some(&col.name), None)
                .into());
            }
        }
        for (name, check) in &rules.checks {
            if crate::sql::exec::eval::truth(&check.eval(row, self)?) == Some(false) {
                return Err(SqlError::new(
                    SqlState::CheckViolation,
                    format!(
                        "new row for relation \"{}\" violates check constraint \"{name}\"",
                        table.name
                    ),
                )
                .on_table(&table.name, None, Some(name))
                .into());
            }
        }
        if !table.foreign_keys.is_empty() {
            self.note_references(table, row);
        }
        Ok(())
    }

    /// Runs an INSERT; returns the number of rows and the RETURNING rows.
    pub fn insert(&mut self, plan: &InsertPlan) -> Result<(usize, Vec<Row>), ExecError> {
        let table = &plan.table;
        let width = table.columns.len();
        // The columns a row gives: the targets, unless the row says DEFAULT for some (then a
        // mask of its own).
        let mut targets_given = vec![false; width];
        for &col in &plan.targets {
            targets_given[col] = true;
        }
        let mut inputs: Vec<(Row, Option<Vec<bool>>)> = Vec::new();
        match &plan.source {
            InsertSource::Values(rows) => {
                for r in rows {
                    let mut row = vec![Value::Null; width];
                    let mut given: Option<Vec<bool>> = None;
                    for (e, &col) in r.iter().zip(&plan.targets) {
                        match e {
                            Some(e) => {
                                row[col] =
                                    cast(e.eval(&[], self)?, e.ty(), table.columns[col].ty, false)?
                            }
                            None => given.get_or_insert_with(|| targets_given.clone())[col] = false,
                        }
                    }
                    inputs.push((row, given));
                }
            }
            InsertSource::Query(q) => {
                for r in self.select(q)? {
                    let mut row = vec![Value::Null; width];
                    for ((v, &col), (_, ty)) in r.into_iter().zip(&plan.targets).zip(&q.columns) {
                        row[col] = cast(v, *ty, table.columns[col].ty, false)?;
                    }
                    inputs.push((row, None));
                }
            }
        }
        let given =
            |own: Option<Vec<bool>>| own.map_or(Cow::Borrowed(&targets_given[..]), Cow::Owned);
        self.write_rows(plan, inputs.into_iter().map(|(row, own)| Ok((row, given(own)))))
    }

    /// COPY FROM: inserts rows already parsed to the table's column types, as the INSERT
    /// `plan` (whose source is ignored) would; `given` marks the columns the rows carry (the
    /// others get their defaults). Rows are taken one at a time from `rows`, which may fail
    /// (a malformed line): nothing is materialised beyond the row at hand.
    pub fn insert_rows(
        &mut self,
        plan: &InsertPlan,
        given: &[bool],
        rows: impl Iterator<Item = Result<Row, SqlError>>,
    ) -> Result<usize, ExecError> {
        let inputs =
            rows.map(|r| r.map(|row| (row, Cow::Borrowed(given))).map_err(ExecError::from));
        self.write_rows(plan, inputs).map(|(count, _)| count)
    }

    /// Completes each row (defaults, checks) and writes it, honouring ON CONFLICT and
    /// RETURNING; returns the number of rows written and the RETURNING rows.
    /// `inputs`: each row with the columns it carries (the others get their defaults).
    fn write_rows<'g>(
        &mut self,
        plan: &InsertPlan,
        inputs: impl Iterator<Item = Result<(Row, Cow<'g, [bool]>), ExecError>>,
    ) -> Result<(usize, Vec<Row>), ExecError> {
        self.write_rows_unnamed(plan, inputs).map_err(|e| unique_on(e, &plan.table))
    }

    fn write_rows_unnamed<'g>(
        &mut self,
        plan: &InsertPlan,
        inputs: impl Iterator<Item = Result<(Row, Cow<'g, [bool]>), ExecError>>,
    ) -> Result<(usize, Vec<Row>), ExecError> {
        let table = &plan.table;
        let mut count = 0;
        let mut returned = Vec::new();
        // Plain inserts go to the transaction in batches (one hold of the database mutex
        // each). A batch is written before any later row's error is returned, so errors come
        // in row order as if every row had been written on its own.
        let mut batch: Vec<Row> = Vec::new();
        for input in inputs {
            let finished = input.and_then(|(row, given)| {
                self.tick()?;
                self.finish_row(table, &plan.rules, row, &given)
            });
            let row = match finished {
                Ok(row) => row,
                Err(e) => {
                    self.txn()?.insert_all(table.id, &mut batch)?;
                    return Err(e);
                }
            };
            let written = match &plan.on_conflict {
                None if plan.returning.is_none() => {
                    batch.push(row);
                    count += 1;
                    if batch.len() == INSERT_BATCH_ROWS {
                        self.txn()?.insert_all(table.id, &mut batch)?;
                    }
                    continue;
                }
                None => {
                    self.txn()?.insert(table.id, row.clone())?;
                    Some(row)
                }
                Some(oc) => self.insert_or_update(table, &plan.rules, row, oc)?,
            };
            if let Some(row) = written {
                count += 1;
                self.collect_returning(&plan.returning, &row, &mut returned)?;
            }
        }
        self.txn()?.insert_all(table.id, &mut batch)?;
        Ok((count, returned))
    }

    /// Evaluates RETURNING over a written row, if the statement has it.
    fn collect_returning(
        &mut self,
        returning: &Option<crate::sql::plan::Returning>,
        row: &Row,
        out: &mut Vec<Row>,
    ) -> Result<(), ExecError> {
        if let Some((exprs, _)) = returning {
            let mut values = Vec::with_capacity(exprs.len());
            for e in exprs {
                values.push(e.eval(row, self)?);
            }
            out.push(values);
        }
        Ok(())
    }

    /// INSERT ... ON CONFLICT: insert, or on a conflict do nothing / update the conflicting row.
    /// When the conflicting row is gone by the time it is locked (its inserter aborted, or at
    /// Read Committed it committed after the statement's snapshot), Read Committed and Read
    /// Uncommitted try again with a fresh snapshot, as PostgreSQL does; Repeatable Read and
    /// Serializable fail with 40001 (the row changed under their snapshot).
    fn insert_or_update(
        &mut self,
        table: &Arc<TableSchema>,
        rules: &RowRules,
        row: Row,
        oc: &crate::sql::plan::OnConflict,
    ) -> Result<Option<Row>, ExecError> {
        const ATTEMPTS: usize = 1_000;
        for _ in 0..ATTEMPTS {
            if self.txn()?.insert_unless_conflict(table.id, row.clone())? {
                return Ok(Some(row));
            }
            let Some((sets, cond)) = &oc.update else {
                return Ok(None);
            };
            match self.upsert(table, rules, row.clone(), sets, cond.as_ref())? {
                Upserted::Written(row) => return Ok(Some(row)),
                Upserted::Unchanged => return Ok(None),
                Upserted::Vanished => {
                    let txn = self.txn()?;
                    if txn.options().level.transaction_snapshot() {
                        break;
                    }
                    txn.start_statement();
                }
            }
        }
        Err(SqlError::serialization_conflict().into())
    }

    /// ON CONFLICT DO UPDATE: updates the conflicting row (found by primary key, then by each
    /// unique index) with `existing ++ excluded` in scope.
    fn upsert(
        &mut self,
        table: &Arc<TableSchema>,
        rules: &RowRules,
        proposed: Row,
        sets: &[(usize, BExpr)],
        cond: Option<&BExpr>,
    ) -> Result<Upserted, ExecError> {
        let mut keys =
            vec![table.primary_key.iter().map(|&c| proposed[c].clone()).collect::<Key>()];
        for idx in table.indexes.iter().filter(|i| i.unique) {
            let ikey: Key = idx.columns.iter().map(|&c| proposed[c].clone()).collect();
            if ikey.contains(&Value::Null) {
                continue;
            }
            for (pk, _) in self
                .txn()?
                .scan_index(idx.id, (Bound::Included(ikey.clone()), Bound::Included(ikey)))?
            {
                keys.push(pk);
            }
        }
        for key in keys {
            let outcome =
                self.change_row(table, rules, &key, WaitPolicy::Wait, |ctx, existing| {
                    let mut scope_row = existing.clone();
                    scope_row.extend(proposed.iter().cloned());
                    if let Some(c) = cond
                        && !c.holds(&scope_row, ctx)?
                    {
                        return Ok(None);
                    }
                    let mut new = existing.clone();
                    for (col, e) in sets {
                        new[*col] =
                            cast(e.eval(&scope_row, ctx)?, e.ty(), table.columns[*col].ty, false)?;
                    }
                    Ok(Some(Some(new)))
                })?;
            match outcome {
                Modified::Updated(row) => return Ok(Upserted::Written(table.pad_row(row))),
                Modified::Unchanged => return Ok(Upserted::Unchanged),
                _ => continue,
            }
        }
        Ok(Upserted::Vanished)
    }

    /// Locks a row and lets `decide` compute its fate from the newest version:
    /// `Ok(None)` keep, `Ok(Some(Some(row)))` update, `Ok(Some(None))` delete.
    fn change_row(
        &mut self,
        table: &Arc<TableSchema>,
        rules: &RowRules,
        key: &Key,
        policy: WaitPolicy,
        decide: impl FnOnce(&mut ExecCtx, &Row) -> Result<Option<Option<Row>>, ExecError>,
    ) -> Result<Modified, ExecError> {
        let txn = self.txn.take().ok_or_else(no_txn)?;
        let mut failure: Option<ExecError> = None;
        let result = txn.modify(table.id, key, policy, |newest| {
            let newest = table.pad_row(newest.clone());
            match decide(self, &newest).and_then(|d| match d {
                Some(Some(row)) => self.check_row(table, rules, &row).map(|()| Some(Some(row))),
                other => Ok(other),
            }) {
                Ok(None) => Change::Keep,
                Ok(Some(Some(row))) => Change::Update(row),
                Ok(Some(None)) => Change::Delete,
                Err(e) => {
                    failure = Some(e);
                    Change::Keep
                }
            }
        });
        self.txn = Some(txn);
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(result?)
    }

    /// Runs an UPDATE or DELETE; returns the number of rows and the RETURNING rows.
    pub fn modify(&mut self, plan: &ModifyPlan) -> Result<(usize, Vec<Row>), ExecError> {
        self.modify_unnamed(plan).map_err(|e| unique_on(e, &plan.table))
    }

    fn modify_unnamed(&mut self, plan: &ModifyPlan) -> Result<(usize, Vec<Row>), ExecError> {
        if let Some(from) = &plan.from {
            return self.modify_from(plan, from);
        }
        let table = &plan.table;
        let candidates = self.table_rows(table, &plan.access)?;
        let mut count = 0;
        let mut returned = Vec::new();
        let referenced = self.referenced(table);
        for (key, row) in candidates {
            self.tick()?;
            if let Some(f) = &plan.filter
                && !f.holds(&row, self)?
            {
                continue;
            }
            let level_rc = !self.txn()?.options().level.transaction_snapshot();
            let filter = plan.filter.as_ref();
            let outcome =
                self.change_row(table, &plan.rules, &key, WaitPolicy::Wait, |ctx, newest| {
                    if level_rc
                        && *newest != row
                        && let Some(f) = filter
                        && !f.holds(newest, ctx)?
                    {
                        return Ok(None);
                    }
                    match &plan.assignments {
                        None => Ok(Some(None)),
                        Some(sets) => {
                            let mut new = newest.clone();
                            for (col, e) in sets {
                                new[*col] = cast(
                                    e.eval(newest, ctx)?,
                                    e.ty(),
                                    table.columns[*col].ty,
                                    false,
                                )?;
                            }
                            Ok(Some(Some(new)))
                        }
                    }
                })?;
            let written = match outcome {
                Modified::Updated(new) => {
                    let new = table.pad_row(new);
                    if referenced {
                        self.note_referenced(table, row, Some(new.clone()));
                    }
                    Some(new)
                }
                Modified::Deleted => {
                    if referenced {
                        self.note_referenced(table, row.clone(), None);
                    }
                    Some(row)
                }
                _ => None,
            };
            if let Some(row) = written {
                count += 1;
                self.collect_returning(&plan.returning, &row, &mut returned)?;
            }
        }
        Ok((count, returned))
    }
}

pub(super) fn sort_rows<T>(rows: &mut [(Vec<Value>, T)], keys: &[SortKey]) {
    rows.sort_by(|(a, _), (b, _)| {
        for (i, k) in keys.iter().enumerate() {
            let (x, y) = (&a[i], &b[i]);
            let ord = match (x == &Value::Null, y == &Value::Null) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if k.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if k.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                _ => {
                    let o = compare(x, y, k.expr.ty()).ok().flatten().unwrap_or(Ordering::Equal);
                    if k.desc { o.reverse() } else { o }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
}

fn set_operation(left: Vec<Row>, right: Vec<Row>, op: SetOp, all: bool) -> Vec<Row> {
    use std::collections::HashSet;
    match (op, all) {
        (SetOp::Union, true) => left.into_iter().chain(right).collect(),
        (SetOp::Union, false) => {
            let mut seen = HashSet::new();
            left.into_iter().chain(right).filter(|r| seen.insert(r.clone())).collect()
        }
        (SetOp::Except, _) => {
            let r: HashSet<Row> = right.into_iter().collect();
            let mut seen = HashSet::new();
            left.into_iter().filter(|x| !r.contains(x) && (all || seen.insert(x.clone()))).collect()
        }
        (SetOp::Intersect, _) => {
            let r: HashSet<Row> = right.into_iter().collect();
            let mut seen = HashSet::new();
            left.into_iter().filter(|x| r.contains(x) && (all || seen.insert(x.clone()))).collect()
        }
    }
}

/// What ON CONFLICT DO UPDATE did with the conflicting row.
enum Upserted {
    Written(Row),
    /// The WHERE condition of DO UPDATE did not hold.
    Unchanged,
    /// No conflicting row could be locked any more.
    Vanished,
}

/// A table of a join a locking read may lock: where its columns start in the joined row,
/// and whether it is the nullable side of an outer join.
struct JoinTable {
    table: Arc<TableSchema>,
    alias: String,
    offset: usize,
    nullable: bool,
}

/// The tables of a left-deep join of tables, left to right, and its join conditions, each
/// with the width of the joined row prefix it reads; the width of the whole, or `None` when
/// a side is not a table (a subquery, a function, a nested join on the right).
fn join_tables(
    source: &Source,
    tables: &mut Vec<JoinTable>,
    conditions: &mut Vec<(usize, BExpr)>,
) -> Option<usize> {
    match source {
        Source::Table { table, alias, .. } => {
            let offset = tables.last().map_or(0, |t| t.offset + t.table.columns.len());
            tables.push(JoinTable {
                table: table.clone(),
                alias: alias.clone(),
                offset,
                nullable: false,
            });
            Some(offset + table.columns.len())
        }
        Source::Join { right_outer: Some(_), .. } => None,
        Source::Join { left, right, left_outer, on, right_width, .. } => {
            let width = join_tables(left, tables, conditions)?;
            let Source::Table { table, alias, .. } = right.as_ref() else { return None };
            if table.columns.len() != *right_width {
                return None;
            }
            tables.push(JoinTable {
                table: table.clone(),
                alias: alias.clone(),
                offset: width,
                nullable: *left_outer,
            });
            if let Some(on) = on {
                conditions.push((width + right_width, on.clone()));
            }
            Some(width + right_width)
        }
        _ => None,
    }
}
