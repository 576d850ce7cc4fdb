//! [`Session`]: one client connection's SQL state: the transaction block, settings, and the
//! statement dispatcher.
//!
//! Transaction rules (PostgreSQL's): outside a block every statement runs in its own
//! transaction (autocommit). `BEGIN` opens a block; the core transaction starts at the block's
//! first statement that needs one, so `SET TRANSACTION` may follow `BEGIN`. After an error in a
//! block every statement fails with 25P02 until `ROLLBACK` or `ROLLBACK TO SAVEPOINT`; `COMMIT`
//! of a failed block rolls back and answers `ROLLBACK`. Invariant: a statement that fails never
//! leaves its partial writes visible: in autocommit its transaction rolls back; in a block the
//! block is failed and can only roll back (wholly or to a savepoint).

pub mod settings;

use crate::error::SqlState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlparser::ast::{self, Statement};

use crate::sql::parse::utility::{TxnModes, Utility};
use crate::sql::parse::{Parsed, parse_statement, split_statements};
use crate::sql::plan::{Bound, bind_statement};
use settings::{SETTINGS, level_from, parse_duration};

use crate::sql::engine::Engine;
use crate::sql::error::SqlError;
use crate::sql::exec::copy::{CopyIn, RowParser};
use crate::sql::exec::{ExecCtx, ExecError, Interrupt};
use crate::sql::parse::literals::{self, Literal};
use crate::sql::plan::{Binder, InsertPlan, LockOverride, number_literal};
use crate::sql::types::{SqlType, cast, now_micros};
use crate::txn::{
    AnswerWait, CommitProgress, CommitWait, IsolationLevel, TaskWaitPoll, Transaction, TxnOptions,
};
use crate::types::{Row, Value};

/// The transaction state a client sees in ReadyForQuery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    Idle,
    InBlock,
    Failed,
}

/// The result of one statement.
#[derive(Debug)]
pub enum Outcome {
    Rows {
        columns: Vec<(String, SqlType)>,
        rows: Vec<Row>,
        tag: String,
    },
    Command(String),
    /// COPY ... FROM STDIN: the client now sends data, then `Session::copy_in` gets it.
    CopyIn {
        columns: usize,
    },
    Empty,
}

/// A statement parsed (and, for plannable statements, bound) once and run many times.
#[derive(Debug)]
pub struct Prepared {
    pub sql: String,
    pub param_types: Vec<SqlType>,
    /// The result columns (empty for statements without rows).
    pub columns: Vec<(String, SqlType)>,
    kind: Kind,
    plan: parking_lot::Mutex<Option<(u64, Arc<Bound>)>>,
}

#[derive(Debug)]
enum Kind {
    Empty,
    Utility(Utility),
    Sql(Box<Statement>, Option<LockOverride>),
}

impl Prepared {
    /// Whether the server may run it on the connection's own task: it cannot wait, and its
    /// work is small and bounded (a SELECT qualifies once its plan is cached and
    /// [`SelectPlan::reads_few_rows`]; a long query on a runtime thread would stall other
    /// connections and cancel requests).
    pub fn runs_inline(&self) -> bool {
        if !self.never_waits() {
            return false;
        }
        match &self.kind {
            Kind::Sql(..) => self.plan.lock().as_ref().is_some_and(
                |(_, bound)| matches!(&**bound, Bound::Select(plan) if plan.reads_few_rows()),
            ),
            _ => true,
        }
    }

    /// Whether it writes or locks at most one row (a point UPDATE or DELETE by primary key, a
    /// one-row INSERT, a point SELECT ... FOR UPDATE), so that its only possible wait is for a
    /// row lock before it has written anything. Inside a transaction block the server runs
    /// such a statement on the connection's own task, awaiting a lock wait there
    /// ([`Session::try_execute_as_task`]) and running the statement again once granted.
    pub fn writes_one_row(&self) -> bool {
        if !matches!(self.kind, Kind::Sql(..)) {
            return false;
        }
        self.plan.lock().as_ref().is_some_and(|(_, bound)| match &**bound {
            Bound::Modify(plan) => plan.touches_one_row(),
            Bound::Insert(plan) => plan.inserts_one_row(),
            // A SELECT that cannot wait runs inline already (`runs_inline`).
            Bound::Select(plan) => !self.never_waits() && plan.reads_few_rows(),
            _ => false,
        })
    }

    /// Whether it is COMMIT (or END), which the server runs with
    /// [`Session::commit_without_waiting`] and an async wait for the disk.
    pub fn is_commit(&self) -> bool {
        matches!(self.kind, Kind::Utility(Utility::Commit))
    }

    /// Whether running it can never wait (for a row lock, a commit's fsync, a safe snapshot):
    /// a SELECT without a locking clause, an empty statement, BEGIN, SET, SHOW and the like.
    pub fn never_waits(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Sql(stmt, lock) => {
                lock.is_none() && matches!(stmt.as_ref(), Statement::Query(q) if q.locks.is_empty())
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
                    | Utility::Show(_)
                    | Utility::NoOp(_)
            ),
        }
    }
}

/// The outcome of [`Session::try_execute_as_task`].
pub enum Tried {
    /// Ran (successfully or not).
    Done(Ran),
    /// Queued for its row's lock: await the wakeup, follow [`Session::poll_lock_wait`], then
    /// run it again.
    Waiting,
    /// Not run (it does not qualify, or needs a wait a task cannot take): run it where it may
    /// block.
    NotTried,
}

/// The outcome of [`Session::poll_lock_wait`].
pub enum LockWaitPoll {
    /// Granted (or nothing queued): run the statement again.
    Over,
    /// Still queued; look again when woken or at this deadline.
    Pending(Option<Instant>),
    /// The wait ended in an error (cancel request, lock or statement timeout), recorded.
    Failed(Ran),
}

/// One client's SQL session.
pub struct Session {
    engine: Arc<Engine>,
    pub id: u32,
    user: String,
    database: String,
    in_block: bool,
    failed: bool,
    txn: Option<Transaction>,
    block_modes: TxnModes,
    defaults: TxnModes,
    settings: Vec<(String, String)>,
    copy: Option<CopyIn>,
    block_started: Option<Instant>,
    /// The running (or last) statement's statement_timeout deadline.
    statement_deadline: Option<Instant>,
    /// Set while a statement runs again after a lock wait left to the server's task: it keeps
    /// its first run's deadline.
    keep_statement_deadline: bool,
    /// What the answers given since it was last taken must wait for before they reach the
    /// client ([`Session::take_answer_wait`]).
    answer_wait: Option<AnswerWait>,
    /// The simple protocol's plans by statement shape ([`crate::sql::parse::literals`]): `None` for a
    /// shape found not to plan as its texts do.
    shape_plans: HashMap<String, Option<Arc<Prepared>>>,
    /// The schema version `shape_plans` were made under (after DDL they are all dropped: a
    /// string's parameter type was inferred from the schema of the time).
    shape_plans_schema: u64,
    /// The text a shape from `shape_plans` was just handed out for, to show as the query in
    /// the activity views while that shape runs (`None`, or another statement: its own text).
    shape_text: Option<(Arc<Prepared>, String)>,
}

/// How many statement shapes a session keeps plans for (all are dropped when it is full).
const SHAPE_PLANS: usize = 256;

/// The values of a text's literals as the parameters of its shape's plan, converted as the
/// literals themselves would be; `None` if one does not convert.
fn literal_values(found: Vec<Literal>, types: &[SqlType]) -> Option<Vec<Value>> {
    found
        .into_iter()
        .zip(types)
        .map(|(literal, &ty)| match literal {
            Literal::Integer(n) | Literal::Decimal(n) => {
                number_literal(&n).ok().filter(|(_, t)| *t == ty).map(|(v, _)| v)
            }
            Literal::Text(s) => cast(Value::Text(s), SqlType::Text, ty, false).ok(),
        })
        .collect()
}

fn tag_for(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::CreateTable(_) => "CREATE TABLE",
        Statement::CreateIndex(_) => "CREATE INDEX",
        Statement::Drop { object_type: ast::ObjectType::Index, .. } => "DROP INDEX",
        Statement::Drop { .. } => "DROP TABLE",
        Statement::AlterTable(_) => "ALTER TABLE",
        _ => "OK",
    }
}

/// What one protocol message asks to run.
pub enum Request {
    /// A simple-protocol query string (any number of statements).
    Simple(String),
    /// A prepared statement with its parameter values (extended protocol), or the error met
    /// decoding them.
    Prepared(Arc<Prepared>, Result<Vec<Value>, SqlError>),
}

/// Where the server runs a request, decided by [`Session::begin`] (the one place that
/// decides it, for both protocols).
pub enum Next {
    /// Already run, on the caller's task: it could not wait and its work was small.
    Ran(Ran),
    /// COMMIT: [`Session::commit`] on the caller's task, then await the disk.
    Commit,
    /// A statement that writes or locks one row in a block: [`Session::try_execute_as_task`]
    /// on the caller's task, awaiting its row-lock wait there.
    AsTask(Arc<Prepared>, Vec<Value>),
    /// Anything that may block a thread: [`Session::run`] on the blocking pool.
    Blocking(Job),
}

/// Work for a thread that may block.
pub enum Job {
    /// A query string of any number of statements.
    Simple(String),
    /// One statement with its values.
    One(Arc<Prepared>, Vec<Value>),
    /// The end of COPY FROM STDIN's data: the rows are parsed and inserted.
    CopyDone,
}

/// What a request ended in, and what the server needs next, taken in the same hold of the
/// session: the transaction status for ReadyForQuery, the idle-in-transaction limit, and what
/// the answers must wait for before they are sent ([`Session::take_answer_wait`]).
#[must_use]
pub struct Ran {
    pub results: Vec<Result<Outcome, SqlError>>,
    pub answer_wait: Option<AnswerWait>,
    pub status: TxStatus,
    pub idle_limit: Option<Duration>,
}

impl Session {
    /// Starts a request: prepares it (a simple query of one statement through the plan cache of
    /// [`Session::prepare_single`]), decides where it runs, and runs it here when it cannot
    /// wait and its work is small.
    pub fn begin(&mut self, request: Request) -> Next {
        let (p, values) = match request {
            Request::Simple(sql) => match self.prepare_single(&sql) {
                Some(one) => one,
                None => return Next::Blocking(Job::Simple(sql)),
            },
            Request::Prepared(p, Ok(values)) => (p, values),
            Request::Prepared(_, Err(e)) => {
                self.statement_failed();
                return Next::Ran(self.ran(vec![Err(e)]));
            }
        };
        if p.is_commit() {
            return Next::Commit;
        }
        if self.may_wait_for_snapshot() {
            return Next::Blocking(Job::One(p, values));
        }
        if self.in_block && !self.failed && p.writes_one_row() {
            return Next::AsTask(p, values);
        }
        if p.runs_inline() {
            let result = self.execute_values(&p, &values);
            return Next::Ran(self.ran(vec![result]));
        }
        Next::Blocking(Job::One(p, values))
    }

    /// Runs work that may block the thread (a lock wait, a commit's fsync, a long scan).
    pub fn run(&mut self, job: Job) -> Ran {
        let results = match job {
            Job::Simple(sql) => self.execute_simple(&sql),
            Job::One(p, values) => vec![self.execute_values(&p, &values)],
            Job::CopyDone => {
                let result = self.copy_done().map(Outcome::Command);
                if result.is_err() {
                    self.statement_failed();
                }
                vec![result]
            }
        };
        self.ran(results)
    }

    /// The results with what the server needs next.
    pub fn ran(&mut self, results: Vec<Result<Outcome, SqlError>>) -> Ran {
        Ran {
            results,
            answer_wait: self.take_answer_wait(),
            status: self.status(),
            idle_limit: self.idle_in_transaction_timeout(),
        }
    }

    pub fn new(engine: Arc<Engine>, user: &str, database: &str, application_name: &str) -> Session {
        let id = engine.register_session(user, database, application_name);
        Session {
            engine,
            id,
            user: user.into(),
            database: database.into(),
            in_block: false,
            failed: false,
            txn: None,
            block_modes: TxnModes::default(),
            defaults: TxnModes::default(),
            settings: SETTINGS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            copy: None,
            statement_deadline: None,
            keep_statement_deadline: false,
            answer_wait: None,
            shape_plans: HashMap::new(),
            shape_plans_schema: 0,
            shape_text: None,
            block_started: None,
        }
    }

    /// Whether a statement may have to wait for a safe snapshot (SERIALIZABLE READ ONLY
    /// DEFERRABLE), so that even a plain SELECT can block.
    pub fn may_wait_for_snapshot(&self) -> bool {
        self.block_modes.deferrable.or(self.defaults.deferrable).unwrap_or(false)
    }

    pub fn status(&self) -> TxStatus {
        match (self.in_block, self.failed) {
            (false, _) => TxStatus::Idle,
            (true, false) => TxStatus::InBlock,
            (true, true) => TxStatus::Failed,
        }
    }

    /// Commits with the session's synchronous_commit setting.
    fn commit_txn(&self, mut txn: Transaction) -> Result<(), SqlError> {
        txn.set_synchronous_commit(self.setting("synchronous_commit") != Some("off"));
        txn.commit().map(|_| ()).map_err(SqlError::from)
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// How long the session may sit idle inside a transaction block.
    pub fn idle_in_transaction_timeout(&self) -> Option<Duration> {
        if !self.in_block {
            return None;
        }
        self.setting("idle_in_transaction_session_timeout")
            .and_then(|v| parse_duration(v).ok().flatten())
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
        };
        let (bound, params) = self.bind(&prepared, param_types)?;
        prepared.param_types = params;
        prepared.columns = match &*bound {
            Bound::Select(p) => p.columns.clone(),
            Bound::Insert(p) => p.returning.as_ref().map(|r| r.1.clone()).unwrap_or_default(),
            Bound::Modify(p) => p.returning.as_ref().map(|r| r.1.clone()).unwrap_or_default(),
            Bound::Explain(_) => vec![("QUERY PLAN".into(), SqlType::Text)],
            Bound::Other => match &prepared.kind {
                Kind::Utility(Utility::Show(name)) => vec![(name.clone(), SqlType::Text)],
                _ => vec![],
            },
        };
        *prepared.plan.lock() = Some((self.engine.schema_version(), bound));
        Ok(Arc::new(prepared))
    }

    fn bind(
        &self,
        p: &Prepared,
        param_types: &[Option<SqlType>],
    ) -> Result<(Arc<Bound>, Vec<SqlType>), SqlError> {
        let schema = self.engine.schema.read();
        let mut binder = Binder::new(&schema, param_types.to_vec());
        let bound = match &p.kind {
            Kind::Sql(stmt, lock) => bind_statement(&mut binder, stmt, *lock)?,
            _ => Bound::Other,
        };
        Ok((Arc::new(bound), binder.param_types()))
    }

    /// The plan for this schema version (re-bound after DDL).
    fn plan_of(&self, p: &Prepared) -> Result<Arc<Bound>, SqlError> {
        let version = self.engine.schema_version();
        if let Some((v, b)) = &*p.plan.lock()
            && *v == version
        {
            return Ok(b.clone());
        }
        let declared: Vec<Option<SqlType>> = p.param_types.iter().map(|t| Some(*t)).collect();
        let (bound, _) = self.bind(p, &declared)?;
        *p.plan.lock() = Some((version, bound.clone()));
        Ok(bound)
    }

    /// Runs a simple-protocol query string: each statement's outcome or error, stopping at the
    /// first error (as PostgreSQL does).
    pub fn execute_simple(&mut self, sql: &str) -> Vec<Result<Outcome, SqlError>> {
        let statements = split_statements(sql);
        if statements.is_empty() {
            return vec![Ok(Outcome::Empty)];
        }
        let mut out = Vec::new();
        for s in statements {
            let r = match self.prepare(&s, &[]) {
                Ok(p) => self.execute_values(&p, &[]),
                Err(e) => {
                    self.statement_failed();
                    Err(e)
                }
            };
            let failed = r.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        out
    }

    /// Runs one prepared statement with its values: the parameters of the extended protocol,
    /// or those a simple statement's literals gave (none unless it is a statement shape),
    /// recording a failure as [`Session::statement_failed`] does.
    fn execute_values(&mut self, p: &Prepared, values: &[Value]) -> Result<Outcome, SqlError> {
        if p.param_types.len() == values.len() {
            self.execute(p, values)
        } else {
            self.statement_failed();
            Err(SqlError::new(SqlState::UndefinedParameter, "there is no parameter $1"))
        }
    }

    /// Prepares a simple-protocol query string holding exactly one statement, so the server can
    /// decide where to run it (see [`Prepared::runs_inline`]). `None` for several statements (a
    /// later one may need an earlier one's DDL) or one that does not prepare: then
    /// [`Session::execute_simple`] runs the string and reports the error.
    ///
    /// A statement whose literals may become parameters ([`crate::sql::parse::literals::normalize`]) is
    /// planned once per shape: the values come back as the statement's parameters. A shape is
    /// trusted only after it planned to the same result columns as a text of it did; a text
    /// whose values do not convert takes the ordinary path (which reports the error).
    pub fn prepare_single(&mut self, sql: &str) -> Option<(Arc<Prepared>, Vec<Value>)> {
        let mut statements = split_statements(sql);
        if statements.len() != 1 {
            return None;
        }
        let one = statements.pop().expect("one");
        let Some(normalized) = literals::normalize(one.trim()) else {
            return self.prepare(&one, &[]).ok().map(|p| (p, Vec::new()));
        };
        let schema = self.engine.schema_version();
        if self.shape_plans_schema != schema {
            self.shape_plans.clear();
            self.shape_plans_schema = schema;
        }
        let key = normalized.plan_key();
        match self.shape_plans.get(&key) {
            Some(Some(shape)) => {
                let shape = shape.clone();
                match literal_values(normalized.literals, &shape.param_types) {
                    Some(values) => {
                        self.shape_text = Some((shape.clone(), one));
                        Some((shape, values))
                    }
                    None => self.prepare(&one, &[]).ok().map(|p| (p, Vec::new())),
                }
            }
            Some(None) => self.prepare(&one, &[]).ok().map(|p| (p, Vec::new())),
            None => {
                let exact = self.prepare(&one, &[]).ok()?;
                let declared: Vec<Option<SqlType>> =
                    normalized.literals.iter().map(literals::declared_type).collect();
                let shape = self.prepare(&normalized.shape, &declared).ok().filter(|shape| {
                    shape.columns == exact.columns
                        && shape.param_types.len() == declared.len()
                        && literal_values(normalized.literals.clone(), &shape.param_types).is_some()
                });
                if self.shape_plans.len() >= SHAPE_PLANS {
                    self.shape_plans.clear();
                }
                self.shape_plans.insert(key, shape);
                Some((exact, Vec::new()))
            }
        }
    }

    /// Runs a statement that [`Prepared::writes_one_row`] inside a transaction block on the
    /// caller's async task, whose waits for its row's lock are left to `wakeup`
    /// ([`crate::Transaction::wait_as_task`]). `again`: this is the same statement run again
    /// after its wait ([`Session::poll_lock_wait`] said it is over): it keeps its first
    /// run's statement deadline. A failure is recorded as [`Session::statement_failed`] does.
    pub fn try_execute_as_task(
        &mut self,
        p: &Prepared,
        params: &[Value],
        wakeup: &Arc<tokio::sync::Notify>,
        again: bool,
    ) -> Tried {
        if !self.in_block || self.failed || self.may_wait_for_snapshot() || !p.writes_one_row() {
            return Tried::NotTried;
        }
        if p.param_types.len() != params.len() || self.ensure_txn().is_err() {
            return Tried::NotTried;
        }
        self.keep_statement_deadline = again;
        if let Some(t) = self.txn.as_mut() {
            t.wait_as_task(Some(wakeup.clone()));
        }
        let r = self.run_prepared(p, params);
        self.keep_statement_deadline = false;
        if let Some(t) = self.txn.as_mut() {
            t.wait_as_task(None);
        }
        match r {
            Err(ExecError::Interrupted(Interrupt::WouldWait)) => {
                let queued = self.txn.as_ref().is_some_and(|t| t.is_waiting_for_lock());
                if queued { Tried::Waiting } else { Tried::NotTried }
            }
            Err(e) => {
                self.statement_failed();
                Tried::Done(self.ran(vec![Err(e.into_sql_error())]))
            }
            Ok(outcome) => Tried::Done(self.ran(vec![Ok(outcome)])),
        }
    }

    /// Follows a row-lock wait left to the task by [`Session::try_execute_as_task`].
    pub fn poll_lock_wait(&mut self) -> LockWaitPoll {
        let Some(t) = self.txn.as_mut() else { return LockWaitPoll::Over };
        match t.poll_task_wait(Instant::now()) {
            TaskWaitPoll::Over => LockWaitPoll::Over,
            TaskWaitPoll::Pending(deadline) => LockWaitPoll::Pending(deadline),
            TaskWaitPoll::Failed(e) => {
                self.statement_failed();
                LockWaitPoll::Failed(self.ran(vec![Err(SqlError::from(e))]))
            }
        }
    }

    /// COMMIT (or END), the one implementation, never blocking the calling thread: ends the
    /// block and returns the command tag and, when the commit record must reach the disk before
    /// the commit may be acknowledged, the wait to await first ([`CommitWait::durable`], or
    /// [`CommitWait::wait_blocking`]; until then the commit is neither visible nor
    /// acknowledged). A failed block is rolled back (tag ROLLBACK). A failure is recorded.
    pub fn commit(&mut self) -> Result<(String, Option<CommitWait>), SqlError> {
        let tag = if self.failed { "ROLLBACK" } else { "COMMIT" };
        let txn = self.txn.take();
        let was_failed = self.failed;
        self.end_block();
        let wait = match txn {
            Some(t) if was_failed => {
                t.rollback();
                None
            }
            Some(mut t) => {
                t.set_synchronous_commit(self.setting("synchronous_commit") != Some("off"));
                match t.commit_start() {
                    Ok(CommitProgress::Done(_)) => None,
                    Ok(CommitProgress::Logged(wait)) => Some(wait),
                    Err(e) => {
                        self.statement_failed();
                        return Err(e.into());
                    }
                }
            }
            None => None,
        };
        self.publish("idle", "COMMIT");
        Ok((tag.to_string(), wait))
    }

    /// What the answers of the statements run since the last call must wait for before they
    /// are sent: a statement that met a commit decided but not yet durable (its row locks go
    /// when its record is appended: early lock release) may answer only once that commit is
    /// visible, unless its answer cannot show it (`Transaction::answer_wait`). The server
    /// awaits this between running statements and sending their answers.
    /// Until [`Session::answer_released`], the session shows as active, its answer waiting
    /// for the disk (`isola_stat_activity.waiting_for`).
    pub fn take_answer_wait(&mut self) -> Option<AnswerWait> {
        let wait = self.answer_wait.take()?;
        if let Some(a) = self.engine.sessions.lock().get_mut(&self.id) {
            a.state = "active";
            a.answer_wait = Some(wait.describe());
        }
        Some(wait)
    }

    /// The answer a [`Session::take_answer_wait`] held may go now: the session shows idle again.
    pub fn answer_released(&self) {
        self.publish("idle", "");
    }

    /// Records that a statement failed: a block becomes failed; in autocommit the transaction
    /// is already gone. As in PostgreSQL, an error aborts a block's transaction at once: with
    /// no savepoint to return to, it is rolled back now (its locks released, its writes
    /// undone) and the block waits, failed, for ROLLBACK. A waiter behind one of its locks
    /// (say, every other updater of a hot row at Repeatable Read) goes on at once instead of
    /// after this client's round trip. With savepoints it is kept for ROLLBACK TO.
    pub fn statement_failed(&mut self) {
        if self.in_block {
            self.failed = true;
            if self.txn.as_ref().is_some_and(|t| !t.has_savepoints())
                && let Some(t) = self.txn.take()
            {
                t.rollback();
            }
        } else if let Some(t) = self.txn.take() {
            t.rollback();
        }
        self.publish("idle", "");
    }

    fn publish(&self, state: &'static str, query: &str) {
        let mut sessions = self.engine.sessions.lock();
        if let Some(a) = sessions.get_mut(&self.id) {
            a.answer_wait = None;
            a.state = if state == "idle" && self.in_block {
                if self.failed { "idle in transaction (aborted)" } else { "idle in transaction" }
            } else {
                state
            };
            a.txn = self.txn.as_ref().map(|t| t.id());
            a.level = self.txn.as_ref().map(|t| t.options().level);
            a.read_only = self.txn.as_ref().is_some_and(|t| t.options().read_only);
            // The first 1,024 characters, copied only when they changed (a prepared statement
            // runs the same text again and again).
            let shown = if query.len() <= 1024 {
                query
            } else {
                query.char_indices().nth(1024).map_or(query, |(end, _)| &query[..end])
            };
            if !shown.is_empty() && a.query != shown {
                a.query.clear();
                a.query.push_str(shown);
            }
        }
    }

    fn txn_options(&self) -> TxnOptions {
        let level = self.block_modes.level.or(self.defaults.level).unwrap_or_else(|| {
            self.setting("default_transaction_isolation")
                .and_then(level_from)
                .unwrap_or(IsolationLevel::ReadCommitted)
        });
        // Statements run through `run_plan`, which runs one again when the core restarts it.
        let mut o = TxnOptions::new(level).restartable_statements();
        if self
            .block_modes
            .read_only
            .or(self.defaults.read_only)
            .unwrap_or(self.setting("default_transaction_read_only") == Some("on"))
        {
            o = o.read_only();
        }
        if self.block_modes.deferrable.or(self.defaults.deferrable).unwrap_or(false) {
            o = o.deferrable();
        }
        o
    }

    /// Starts the core transaction if the statement needs one and none runs.
    fn ensure_txn(&mut self) -> Result<(), SqlError> {
        if self.txn.is_none() {
            let mut t = self.engine.db.begin(self.txn_options());
            t.set_lock_timeout(
                self.setting("lock_timeout").and_then(|v| parse_duration(v).ok().flatten()),
            );
            self.txn = Some(t);
        }
        Ok(())
    }

    /// Executes a prepared statement with parameter values. A failure is recorded
    /// ([`Session::statement_failed`]): a block becomes failed, autocommit rolls back.
    pub fn execute(&mut self, p: &Prepared, params: &[Value]) -> Result<Outcome, SqlError> {
        let result = self.run_prepared(p, params).map_err(ExecError::into_sql_error);
        if result.is_err() {
            self.statement_failed();
        }
        result
    }

    /// Runs a prepared statement once; an interruption is left to the caller.
    fn run_prepared(&mut self, p: &Prepared, params: &[Value]) -> Result<Outcome, ExecError> {
        if self.failed
            && !matches!(
                p.kind,
                Kind::Utility(Utility::Commit | Utility::Rollback | Utility::RollbackTo(_))
                    | Kind::Empty
            )
        {
            return Err(SqlError::in_failed_transaction().into());
        }
        match &p.kind {
            Kind::Empty => Ok(Outcome::Empty),
            Kind::Utility(u) => {
                let u = u.clone();
                let r = self.utility(u);
                self.publish("idle", &p.sql);
                Ok(r?)
            }
            Kind::Sql(stmt, _) => {
                let bound = self.plan_of(p)?;
                if let Bound::Explain(lines) = &*bound {
                    return Ok(Outcome::Rows {
                        columns: p.columns.clone(),
                        tag: format!("EXPLAIN {}", lines.len()),
                        rows: lines.iter().map(|l| vec![Value::Text(l.clone())]).collect(),
                    });
                }
                if let Bound::Other = &*bound {
                    // DDL applies at once, outside any transaction (the core refuses to drop a
                    // table with uncommitted writes, this block's included)
                    self.ddl(stmt)?;
                    return Ok(Outcome::Command(tag_for(stmt).into()));
                }
                // A shape shows the text it runs for, as PostgreSQL shows a simple query.
                let text = match self.shape_text.take() {
                    Some((shape, text)) if std::ptr::eq(Arc::as_ptr(&shape), p) => text,
                    _ => p.sql.clone(),
                };
                self.run_plan(&bound, &p.columns, params, &text)
            }
        }
    }

    fn run_plan(
        &mut self,
        bound: &Bound,
        columns: &[(String, SqlType)],
        params: &[Value],
        sql: &str,
    ) -> Result<Outcome, ExecError> {
        // A statement restarted with a new snapshot (`Interrupt::Restart`) runs again at
        // once; the core bounds how often, and the statement keeps its first deadline.
        let keep_deadline = self.keep_statement_deadline;
        loop {
            let result = self.run_plan_once(bound, columns, params, sql);
            if !matches!(result, Err(ExecError::Interrupted(Interrupt::Restart))) {
                self.keep_statement_deadline = keep_deadline;
                return result;
            }
            self.keep_statement_deadline = true;
        }
    }

    fn run_plan_once(
        &mut self,
        bound: &Bound,
        columns: &[(String, SqlType)],
        params: &[Value],
        sql: &str,
    ) -> Result<Outcome, ExecError> {
        let count_only = matches!(bound, Bound::Modify(plan) if plan.answers_with_count_only());
        self.run_statement(params, sql, count_only, |ctx| match bound {
            Bound::Select(plan) => ctx.select(plan).map(|rows| Outcome::Rows {
                tag: format!("SELECT {}", rows.len()),
                rows,
                columns: columns.to_vec(),
            }),
            Bound::Insert(plan) => ctx.insert(plan).map(|(n, rows)| match &plan.returning {
                Some(_) => {
                    Outcome::Rows { tag: format!("INSERT 0 {n}"), rows, columns: columns.to_vec() }
                }
                None => Outcome::Command(format!("INSERT 0 {n}")),
            }),
            Bound::Modify(plan) => {
                let verb = if plan.assignments.is_some() { "UPDATE" } else { "DELETE" };
                ctx.modify(plan).map(|(n, rows)| match &plan.returning {
                    Some(_) => Outcome::Rows {
                        tag: format!("{verb} {n}"),
                        rows,
                        columns: columns.to_vec(),
                    },
                    None => Outcome::Command(format!("{verb} {n}")),
                })
            }
            Bound::Explain(_) | Bound::Other => {
                Err(SqlError::new(SqlState::InternalError, "not a plan").into())
            }
        })
    }

    /// Runs one statement's work in the session's transaction (begun if needed; committed or
    /// rolled back after it in autocommit), with the statement's snapshot, deadline and
    /// activity entry.
    fn run_statement(
        &mut self,
        params: &[Value],
        sql: &str,
        count_only: bool,
        work: impl FnOnce(&mut ExecCtx<'_>) -> Result<Outcome, ExecError>,
    ) -> Result<Outcome, ExecError> {
        self.ensure_txn()?;
        self.publish("active", sql);
        let statement_deadline = if self.keep_statement_deadline {
            self.statement_deadline
        } else {
            self.setting("statement_timeout")
                .and_then(|v| parse_duration(v).ok().flatten())
                .map(|d| Instant::now() + d)
        };
        self.statement_deadline = statement_deadline;
        let identity = (self.user.clone(), self.database.clone(), self.id);
        let engine = self.engine.clone();
        let txn = self.txn.as_mut().expect("ensured above");
        txn.start_statement();
        txn.set_statement_deadline(statement_deadline);
        let result = {
            let mut ctx = ExecCtx::new(
                &engine,
                txn,
                params,
                (&identity.0, &identity.1, identity.2),
                now_micros(),
            );
            ctx.deadline = statement_deadline;
            work(&mut ctx)
        };
        match &result {
            // Nothing of this run reached the client: it runs again (after a wait, or at once
            // with a new snapshot), the transaction left as it is.
            Err(ExecError::Interrupted(_)) => return result,
            _ => txn.finish_statement(),
        }
        // What the answer must wait for (pending commits it met, see `Session::answer_wait`).
        if let Some(wait) = txn.answer_wait(count_only && result.is_ok()) {
            self.answer_wait = Some(match self.answer_wait.take() {
                Some(earlier) => earlier.max(wait),
                None => wait,
            });
        }
        if !self.in_block {
            let txn = self.txn.take().expect("ensured above");
            match &result {
                Ok(_) => self.commit_txn(txn)?,
                Err(_) => txn.rollback(),
            }
        }
        self.publish("idle", "");
        result
    }

    fn ddl(&mut self, stmt: &Statement) -> Result<(), SqlError> {
        self.engine.execute_ddl(stmt)
    }

    fn utility(&mut self, u: Utility) -> Result<Outcome, SqlError> {
        let no_block = |what: &str| {
            SqlError::new(
                SqlState::NoActiveSqlTransaction,
                format!("{what} can only be used in transaction blocks"),
            )
        };
        match u {
            Utility::Begin(modes) => {
                if !self.in_block {
                    self.in_block = true;
                    self.failed = false;
                    self.block_modes = modes;
                    self.block_started = Some(Instant::now());
                }
                Ok(Outcome::Command("BEGIN".into()))
            }
            Utility::SetTransaction(modes) => {
                if !self.in_block {
                    return Err(no_block("SET TRANSACTION"));
                }
                if self.txn.is_some() {
                    return Err(SqlError::new(
                        SqlState::ActiveSqlTransaction,
                        "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                    ));
                }
                if modes.level.is_some() {
                    self.block_modes.level = modes.level;
                }
                if modes.read_only.is_some() {
                    self.block_modes.read_only = modes.read_only;
                }
                if modes.deferrable.is_some() {
                    self.block_modes.deferrable = modes.deferrable;
                }
                Ok(Outcome::Command("SET".into()))
            }
            Utility::SetSessionCharacteristics(modes) => {
                if let Some(l) = modes.level {
                    self.set_setting("default_transaction_isolation", l.sql().to_lowercase());
                }
                if let Some(r) = modes.read_only {
                    self.set_setting(
                        "default_transaction_read_only",
                        if r { "on" } else { "off" }.into(),
                    );
                }
                if modes.deferrable.is_some() {
                    self.defaults.deferrable = modes.deferrable;
                }
                Ok(Outcome::Command("SET".into()))
            }
            Utility::Commit => {
                let (tag, wait) = self.commit()?;
                if let Some(wait) = wait {
                    wait.wait_blocking()?;
                }
                Ok(Outcome::Command(tag))
            }
            Utility::Rollback => {
                if let Some(t) = self.txn.take() {
                    t.rollback();
                }
                self.end_block();
                Ok(Outcome::Command("ROLLBACK".into()))
            }
            Utility::Savepoint(name) => {
                if !self.in_block {
                    return Err(no_block("SAVEPOINT"));
                }
                self.ensure_txn()?;
                self.txn.as_mut().expect("ensured").savepoint(&name)?;
                Ok(Outcome::Command("SAVEPOINT".into()))
            }
            Utility::Release(name) => {
                if !self.in_block {
                    return Err(no_block("RELEASE SAVEPOINT"));
                }
                match self.txn.as_mut() {
                    Some(t) => t.release_savepoint(&name)?,
                    None => {
                        return Err(SqlError::new(
                            SqlState::InvalidSavepointSpecification,
                            format!("savepoint \"{name}\" does not exist"),
                        ));
                    }
                }
                Ok(Outcome::Command("RELEASE".into()))
            }
            Utility::RollbackTo(name) => {
                if !self.in_block {
                    return Err(no_block("ROLLBACK TO SAVEPOINT"));
                }
                match self.txn.as_mut() {
                    Some(t) => t.rollback_to_savepoint(&name)?,
                    None => {
                        return Err(SqlError::new(
                            SqlState::InvalidSavepointSpecification,
                            format!("savepoint \"{name}\" does not exist"),
                        ));
                    }
                }
                self.failed = false;
                Ok(Outcome::Command("ROLLBACK".into()))
            }
            Utility::Set(name, value) => {
                let name = match name.as_str() {
                    "transaction_isolation" => "default_transaction_isolation".to_string(),
                    n => n.to_string(),
                };
                let default = SETTINGS.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
                if default.is_none() && !name.contains('.') {
                    return Err(SqlError::new(
                        SqlState::UndefinedObject,
                        format!("unrecognized configuration parameter \"{name}\""),
                    ));
                }
                let value = value.or(default).unwrap_or_default();
                match name.as_str() {
                    "default_transaction_isolation" => {
                        let l = level_from(&value).ok_or_else(|| {
                            SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!("invalid value for parameter \"{name}\": \"{value}\""),
                            )
                        })?;
                        self.set_setting(&name, l.sql().to_lowercase());
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "synchronous_commit" => {
                        let v = value.to_lowercase();
                        let on =
                            ["on", "true", "yes", "1", "local", "remote_write", "remote_apply"];
                        let off = ["off", "false", "no", "0"];
                        if !on.contains(&v.as_str()) && !off.contains(&v.as_str()) {
                            return Err(SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!("invalid value for parameter \"{name}\": \"{value}\""),
                            ));
                        }
                        let canonical = if off.contains(&v.as_str()) { "off" } else { "on" };
                        self.set_setting(&name, canonical.into());
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "lock_timeout"
                    | "statement_timeout"
                    | "idle_in_transaction_session_timeout" => {
                        let d = parse_duration(&value)?;
                        if name == "lock_timeout"
                            && let Some(t) = self.txn.as_mut()
                        {
                            t.set_lock_timeout(d);
                        }
                    }
                    "server_version"
                    | "server_encoding"
                    | "integer_datetimes"
                    | "max_identifier_length"
                    | "server_version_num" => {
                        return Err(SqlError::new(
                            SqlState::CantChangeRuntimeParam,
                            format!("parameter \"{name}\" cannot be changed"),
                        ));
                    }
                    _ => {}
                }
                self.set_setting(&name, value);
                Ok(Outcome::Command("SET".into()))
            }
            Utility::Show(name) => {
                let value = match name.as_str() {
                    "transaction_isolation" => self
                        .txn
                        .as_ref()
                        .map(|t| t.options().level)
                        .or(self.block_modes.level)
                        .unwrap_or_else(|| self.txn_options().level)
                        .sql()
                        .to_lowercase(),
                    "transaction_read_only" => {
                        if self.txn_options().read_only { "on" } else { "off" }.to_string()
                    }
                    "all" => return Err(SqlError::unsupported("SHOW ALL")),
                    n => self.setting(n).map(str::to_string).ok_or_else(|| {
                        SqlError::new(
                            SqlState::UndefinedObject,
                            format!("unrecognized configuration parameter \"{n}\""),
                        )
                    })?,
                };
                Ok(Outcome::Rows {
                    columns: vec![(name, SqlType::Text)],
                    rows: vec![vec![Value::Text(value)]],
                    tag: "SHOW".into(),
                })
            }
            Utility::NoOp(tag) => Ok(Outcome::Command(tag.into())),
            Utility::Checkpoint => {
                self.engine.checkpoint()?;
                Ok(Outcome::Command("CHECKPOINT".into()))
            }
            Utility::Truncate(tables) => {
                for t in tables {
                    let p = self.prepare(&format!("DELETE FROM \"{t}\""), &[])?;
                    let bound = self.plan_of(&p)?;
                    self.run_plan(&bound, &[], &[], &p.sql).map_err(ExecError::into_sql_error)?;
                }
                Ok(Outcome::Command("TRUNCATE TABLE".into()))
            }
            Utility::Copy { table, columns, csv, header, delimiter } => {
                let schema = self.engine.schema.read();
                let t = schema.table(&table).ok_or_else(|| SqlError::undefined_table(&table))?;
                let n = if columns.is_empty() { t.visible().count() } else { columns.len() };
                for c in &columns {
                    if t.column_index(c).is_none() {
                        return Err(SqlError::undefined_column(c));
                    }
                }
                drop(schema);
                let delimiter = delimiter.unwrap_or(if csv { ',' } else { '\t' });
                self.copy = Some(CopyIn::new(table, columns, csv, header, delimiter));
                Ok(Outcome::CopyIn { columns: n })
            }
        }
    }

    fn set_setting(&mut self, name: &str, value: String) {
        match self.settings.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.settings.push((name.to_string(), value)),
        }
    }

    fn end_block(&mut self) {
        self.in_block = false;
        self.failed = false;
        self.block_modes = TxnModes::default();
        self.block_started = None;
    }

    /// Receives COPY data.
    pub fn copy_data(&mut self, data: &[u8]) {
        if let Some(c) = self.copy.as_mut() {
            c.push(data);
        }
    }

    /// Abandons a COPY (CopyFail or an error).
    pub fn copy_fail(&mut self) {
        self.copy = None;
    }

    /// Finishes COPY FROM STDIN: inserts every row in one statement; returns the tag. A big
    /// COPY is parsed on a second thread while this one inserts ([`RowParser::parse_alongside`]).
    pub fn copy_done(&mut self) -> Result<String, SqlError> {
        let Some(c) = self.copy.take() else {
            return Err(SqlError::new(SqlState::ProtocolViolation, "no COPY in progress"));
        };
        let schema = self.engine.schema.read();
        let table =
            schema.table(&c.table).cloned().ok_or_else(|| SqlError::undefined_table(&c.table))?;
        drop(schema);
        let targets: Vec<usize> = if c.columns.is_empty() {
            table.visible().map(|(i, _)| i).collect()
        } else {
            c.columns
                .iter()
                .map(|n| table.column_index(n).ok_or_else(|| SqlError::undefined_column(n)))
                .collect::<Result<_, _>>()?
        };
        let plan = InsertPlan {
            table: table.clone(),
            targets: targets.clone(),
            source: crate::sql::plan::InsertSource::Values(Vec::new()),
            on_conflict: None,
            rules: {
                let schema = self.engine.schema.read();
                Binder::new(&schema, vec![]).row_rules(&table)?
            },
            returning: None,
        };
        let mut given = vec![false; table.columns.len()];
        for &col in &targets {
            given[col] = true;
        }
        let parser =
            RowParser { table, targets, csv: c.csv, header: c.header, delimiter: c.delimiter };
        let alongside = c.is_big();
        let text = c.into_text()?;
        // COPY only inserts, and an insert never restarts its statement (only a row lock
        // taken for a change can), so it needs no loop as `run_plan`'s.
        let outcome = self
            .run_statement(&[], "COPY", false, |ctx| {
                let mut insert = |rows: &mut dyn Iterator<Item = Result<Row, SqlError>>| {
                    ctx.insert_rows(&plan, &given, rows)
                        .map(|n| Outcome::Command(format!("COPY {n}")))
                };
                if alongside {
                    parser.parse_alongside(&text, insert)
                } else {
                    insert(&mut parser.rows(&text))
                }
            })
            .map_err(ExecError::into_sql_error)?;
        match outcome {
            Outcome::Command(tag) => Ok(tag),
            _ => Ok("COPY".into()),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(t) = self.txn.take() {
            t.rollback();
        }
        self.engine.unregister_session(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Result columns (names and types) and rows of a one-statement text.
    fn answer(out: Result<Outcome, SqlError>) -> (Vec<(String, SqlType)>, Vec<Vec<Value>>) {
        match out {
            Ok(Outcome::Rows { columns, rows, .. }) => (columns, rows),
            other => panic!("not rows: {other:?}"),
        }
    }

    /// Column defaults fill what an INSERT does not give: columns left out, and per row the
    /// ones it says DEFAULT for (the other rows of the statement keep their values).
    #[test]
    fn insert_fills_defaults_per_row() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        s.execute_simple(
            "CREATE TABLE d (id int PRIMARY KEY, n int DEFAULT 7, s text DEFAULT 'x')",
        );
        for sql in [
            "INSERT INTO d VALUES (1, DEFAULT, 'a'), (2, 5, DEFAULT), (3, 6, 'c')",
            "INSERT INTO d (id) VALUES (4)",
            "INSERT INTO d (id, s) SELECT 5, 'e'",
        ] {
            assert!(s.execute_simple(sql).remove(0).is_ok(), "{sql}");
        }
        let (_, rows) = answer(s.execute_simple("SELECT id, n, s FROM d ORDER BY id").remove(0));
        let row =
            |id: i64, n: i64, t: &str| vec![Value::Int(id), Value::Int(n), Value::Text(t.into())];
        assert_eq!(
            rows,
            vec![row(1, 7, "a"), row(2, 5, "x"), row(3, 6, "c"), row(4, 7, "x"), row(5, 7, "e")]
        );
    }

    /// Plain INSERTs and COPY hand rows to the transaction in batches; the error a statement
    /// reports is still the first failing row's (a batch is written before a later row's own
    /// error is raised), and a failed statement leaves none of its rows.
    #[test]
    fn batched_inserts_report_the_first_failing_row() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        s.execute_simple("CREATE TABLE b (id int PRIMARY KEY, n int NOT NULL)");
        let code = |r: Result<Outcome, SqlError>| r.err().map(|e| e.code.to_string());
        // 600 rows (three batches): row `dup` repeats id 10, row `null` has no n.
        let insert = |dup: usize, null: usize| {
            let rows: Vec<String> = (1..=600)
                .map(|i| match i {
                    _ if i == dup => "(10, 1)".to_string(),
                    _ if i == null => format!("({i}, NULL)"),
                    _ => format!("({i}, 1)"),
                })
                .collect();
            format!("INSERT INTO b VALUES {}", rows.join(", "))
        };
        assert_eq!(code(s.execute_simple(&insert(300, 500)).remove(0)), Some("23505".into()));
        assert_eq!(code(s.execute_simple(&insert(400, 100)).remove(0)), Some("23502".into()));
        // COPY: a duplicate in the second batch before a bad number in the third, and back.
        let copy = |s: &mut Session, dup: usize, bad: usize| {
            assert!(s.execute_simple("COPY b FROM STDIN").remove(0).is_ok());
            let lines: String = (1..=600)
                .map(|i| match i {
                    _ if i == dup => "10\t1\n".to_string(),
                    _ if i == bad => format!("{i}\tx\n"),
                    _ => format!("{i}\t1\n"),
                })
                .collect();
            s.copy_data(lines.as_bytes());
            s.copy_done().err().map(|e| e.code.to_string())
        };
        assert_eq!(copy(&mut s, 300, 500), Some("23505".into()));
        assert_eq!(copy(&mut s, 500, 300), Some("22P02".into()));
        let count =
            |s: &mut Session| answer(s.execute_simple("SELECT count(*) FROM b").remove(0)).1;
        assert_eq!(count(&mut s), vec![vec![Value::Int(0)]]);
        assert!(s.execute_simple(&insert(0, 0)).remove(0).is_ok());
        assert_eq!(count(&mut s), vec![vec![Value::Int(600)]]);
    }

    /// A COPY of several chunks is parsed on a second thread: its rows arrive in order (pieces
    /// cut mid-line and mid-character), line numbers count over the whole input, and the error
    /// reported is the first failing row's, whichever thread found it.
    #[test]
    fn big_copy_parsed_alongside_keeps_order_and_first_error() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        s.execute_simple("CREATE TABLE c (id int PRIMARY KEY, n int NOT NULL, note text)");
        let lines = 3 * crate::sql::exec::copy::CHUNK_BYTES / 40;
        let copy = |s: &mut Session, dup: usize, bad: usize| {
            assert!(s.execute_simple("COPY c FROM STDIN").remove(0).is_ok());
            let data: String = (1..=lines)
                .map(|i| match i {
                    _ if i == dup => "7\t1\tdup\n".to_string(),
                    _ if i == bad => format!("{i}\tx\tbad\n"),
                    _ => format!("{i}\t{}\tcafé {i:>20}\n", i % 7),
                })
                .collect();
            for piece in data.as_bytes().chunks(4093) {
                s.copy_data(piece);
            }
            s.copy_done()
        };
        let late = lines - 10;
        let err = copy(&mut s, 5, late).expect_err("duplicate");
        assert_eq!(err.code.to_string(), "23505", "{err:?}");
        let err = copy(&mut s, late, 5).expect_err("bad number");
        assert_eq!((err.code.to_string(), err.message.contains("line 5:")), ("22P02".into(), true));
        let err = copy(&mut s, 0, late).expect_err("bad number");
        assert!(err.message.contains(&format!("line {late}:")), "{err:?}");
        let count =
            |s: &mut Session| answer(s.execute_simple("SELECT count(*) FROM c").remove(0)).1;
        assert_eq!(count(&mut s), vec![vec![Value::Int(0)]]);
        assert_eq!(copy(&mut s, 0, 0).expect("copies"), format!("COPY {lines}"));
        assert_eq!(count(&mut s), vec![vec![Value::Int(lines as i64)]]);
        let (_, rows) =
            answer(s.execute_simple(&format!("SELECT n, note FROM c WHERE id = {late}")).remove(0));
        let note = format!("café {late:>20}");
        assert_eq!(rows, vec![vec![Value::Int((late % 7) as i64), Value::Text(note)]]);
    }

    /// Which writes may run on the connection's task (their only wait a row lock taken before
    /// anything is written or drawn): a one-row INSERT into a table keyed by its hidden row id
    /// qualifies unless a unique index could make it wait (a retry would draw a second id).
    #[test]
    fn one_row_inserts_drawing_only_a_fresh_row_id_run_as_tasks() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        for ddl in [
            "CREATE TABLE log (a int, b text)",
            "CREATE TABLE ulog (a int UNIQUE, b text)",
            "CREATE TABLE ser (id serial PRIMARY KEY, b text)",
            "CREATE TABLE keyed (id int PRIMARY KEY, b text)",
        ] {
            assert!(s.execute_simple(ddl).remove(0).is_ok(), "{ddl}");
        }
        let cases = [
            ("INSERT INTO log (a, b) VALUES ($1, 'x')", true),
            ("INSERT INTO log VALUES ($1, 'x'), (2, 'y')", false),
            ("INSERT INTO log SELECT $1, 'x'", false),
            ("INSERT INTO ulog VALUES ($1, 'x')", false),
            ("INSERT INTO ser (b) VALUES ('x' || $1)", false),
            ("INSERT INTO ser (id, b) VALUES ($1, 'x')", true),
            ("INSERT INTO keyed VALUES ($1, 'x')", true),
        ];
        let wakeup = Arc::new(tokio::sync::Notify::new());
        assert!(s.execute_simple("BEGIN").remove(0).is_ok());
        for (sql, expected) in cases {
            let p = s.prepare(sql, &[Some(SqlType::Int4)]).expect("prepares");
            assert_eq!(p.writes_one_row(), expected, "{sql}");
            let tried = s.try_execute_as_task(&p, &[Value::Int(1)], &wakeup, false);
            match tried {
                Tried::Done(ran) if ran.results.iter().all(Result::is_ok) => {
                    assert!(expected, "{sql} ran as a task")
                }
                Tried::NotTried => assert!(!expected, "{sql} was not tried"),
                Tried::Done(ran) => panic!("{sql}: {:?}", ran.results),
                Tried::Waiting => panic!("{sql}: waits"),
            }
        }
        assert!(s.execute_simple("COMMIT").remove(0).is_ok());
        let (_, rows) = answer(s.execute_simple("SELECT a, b FROM log").remove(0));
        assert_eq!(rows, vec![vec![Value::Int(1), Value::Text("x".into())]]);
    }

    /// Which writes answer with a count that cannot show a pending commit's row (early lock
    /// release lets them answer before it is durable): one row by primary key, nothing else
    /// tested, nothing returned.
    #[test]
    fn count_only_answers_are_point_writes_testing_only_the_key() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        s.execute_simple("CREATE TABLE t (id int PRIMARY KEY, n int, m int)");
        s.execute_simple("INSERT INTO t VALUES (1, 0, 0)");
        let cases = [
            ("UPDATE t SET n = n + 1 WHERE id = 1", true),
            ("UPDATE t SET n = n + 1, m = 2 WHERE 1 = id", true),
            ("DELETE FROM t WHERE id = 3", true),
            ("UPDATE t SET n = n + 1 WHERE id = 1 AND n >= 0", false),
            ("UPDATE t SET n = n + 1 WHERE id = 1 AND id = n", false),
            ("UPDATE t SET n = n + 1 WHERE id = 1 RETURNING n", false),
            ("UPDATE t SET n = n + 1 WHERE id >= 1", false),
            ("UPDATE t SET id = 2 WHERE id = 1", false),
            ("DELETE FROM t WHERE n = 0", false),
        ];
        for (sql, expected) in cases {
            let p = s.prepare(sql, &[]).expect("prepares");
            let out = s.execute(&p, &[]);
            assert!(out.is_ok(), "{sql}: {out:?}");
            let plan = p.plan.lock().as_ref().map(|(_, b)| b.clone()).expect("planned");
            let Bound::Modify(plan) = &*plan else { panic!("{sql}: not a write") };
            assert_eq!(plan.answers_with_count_only(), expected, "{sql}");
        }
    }

    /// A shape's plan answers with the text's own column types and values, whatever kind of
    /// literal came first in that place (`SELECT 1` is an int4, `SELECT '5'` a text).
    #[test]
    fn statement_shapes_keep_each_texts_types() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        s.execute_simple("CREATE TABLE t (id int PRIMARY KEY, name text)");
        s.execute_simple("INSERT INTO t VALUES (1, 'a'), (5, '5')");
        let texts = [
            "SELECT 1",
            "SELECT '5'",
            "SELECT 2",
            "SELECT '6'",
            "SELECT 3000000000",
            "SELECT 1.5",
            "SELECT 7",
            "SELECT id FROM t WHERE id = '5'",
            "SELECT id FROM t WHERE id = 5",
            "SELECT id, 1 FROM t WHERE name = '5'",
            "SELECT id, 'x' FROM t WHERE name = '5'",
            "SELECT 1 + 1",
            "SELECT '1' || 1",
        ];
        for _ in 0..2 {
            for sql in texts {
                let (p, values) = s.prepare_single(sql).expect("prepares");
                let cached = answer(s.run(Job::One(p, values)).results.remove(0));
                let text = answer(s.execute_simple(&format!("{sql} -- never a shape")).remove(0));
                assert_eq!(cached, text, "{sql}");
            }
        }
        // Shapes were planned and reused: a string whose type its place decides, a number.
        let (p, values) = s.prepare_single("SELECT id FROM t WHERE id = '9'").unwrap();
        assert_eq!((values, p.param_types.clone()), (vec![Value::Int(9)], vec![SqlType::Int4]));
        let (p, values) = s.prepare_single("SELECT 9").unwrap();
        assert_eq!(
            (values, p.columns.clone()),
            (vec![Value::Int(9)], vec![("?column?".into(), SqlType::Int4)])
        );
    }

    #[test]
    fn splits_outside_quotes_and_comments() {
        let s = split_statements("select ';'; -- c;\nselect 2; /* ; */ select $$;$$;");
        assert_eq!(s, vec!["select ';'", "-- c;\nselect 2", "/* ; */ select $$;$$"]);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("'1s'").unwrap(), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("250").unwrap(), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0").unwrap(), None);
        assert!(parse_duration("abc").is_err());
    }

    /// `isola_stat_activity.query` shows the running (or last) statement's first 1,024
    /// characters, counted as characters (not bytes), and follows each new text.
    #[test]
    fn activity_shows_the_first_1024_characters_of_each_new_statement() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine.clone(), "t", "t", "t");
        let mut watcher = Session::new(engine, "t", "t", "t");
        let shown = |watcher: &mut Session| {
            let sql = "SELECT query FROM isola_stat_activity WHERE pid <> pg_backend_pid()";
            match answer(watcher.execute_simple(sql).remove(0)).1.remove(0).remove(0) {
                Value::Text(t) => t,
                other => panic!("{other:?}"),
            }
        };
        let long = format!("SELECT '{}'", "é".repeat(1_100));
        let p = s.prepare(&long, &[]).expect("prepares");
        assert!(s.execute(&p, &[]).is_ok());
        let expected: String = long.chars().take(1024).collect();
        assert_eq!(shown(&mut watcher), expected);
        assert!(s.execute_simple("SELECT 2").remove(0).is_ok());
        assert_eq!(shown(&mut watcher), "SELECT 2");
        assert!(s.execute(&p, &[]).is_ok());
        assert_eq!(shown(&mut watcher), expected);
    }
}
