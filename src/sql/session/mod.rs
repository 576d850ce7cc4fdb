//! [`Session`]: one client connection's SQL state: the transaction block, settings, and the
//! one entry point both protocols use ([`Session::begin`], then [`Session::run`] where it may
//! block): it decides where a request runs, runs it, and records a failure itself.
//!
//! Files: this one (requests, statement running, activity), `prepared.rs` (a statement parsed
//! and bound once, and what it says about where it may run), `shapes.rs` (the simple
//! protocol's plan cache), `block.rs` (the transaction block and the statements the session
//! runs itself, COMMIT among them), `copy.rs` (COPY FROM STDIN and TO STDOUT), `database.rs`
//! (CREATE and DROP DATABASE), `settings.rs` (settings and their defaults), `objects.rs`
//! (SQL-level prepared statements, cursors, LISTEN/NOTIFY, RESET ALL and DISCARD, and what a
//! transaction's end does to them).
//!
//! Transaction rules (PostgreSQL's): outside a block every statement runs in its own
//! transaction (autocommit). `BEGIN` opens a block; the core transaction starts at the block's
//! first statement that needs one, so `SET TRANSACTION` may follow `BEGIN`. After an error in a
//! block every statement fails with 25P02 until `ROLLBACK` or `ROLLBACK TO SAVEPOINT`; `COMMIT`
//! of a failed block rolls back and answers `ROLLBACK`. Invariant: a statement that fails never
//! leaves its partial writes visible: in autocommit its transaction rolls back; in a block the
//! block is failed and can only roll back (wholly or to a savepoint).

mod block;
mod copy;
mod database;
pub(crate) mod ddl;
mod objects;
mod prepared;
pub mod settings;
mod shapes;

pub use prepared::Prepared;
use prepared::{Kind, PlanEntry};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlparser::ast::{self, Statement};

use crate::error::SqlState;
use crate::sql::engine::Engine;
use crate::sql::error::SqlError;
use crate::sql::exec::copy::CopyIn;
use crate::sql::exec::{ExecCtx, ExecError, Interrupt};
use crate::sql::parse::split_statements;
use crate::sql::parse::utility::{TxnModes, Utility};
use crate::sql::plan::Bound;
use crate::sql::types::{SqlType, now_micros};
use crate::txn::{AnswerWait, IsolationLevel, TaskWaitPoll, Transaction};
use crate::types::{Row, Value};
use settings::{SETTINGS, parse_duration};

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
    /// COPY ... TO STDOUT: the lines to send (one CopyData each), then the tag.
    CopyOut {
        columns: usize,
        data: Vec<Vec<u8>>,
        tag: String,
    },
    Empty,
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
    /// Set while a statement runs on the connection's async task (see `ExecCtx::never_block`).
    never_block: bool,
    block_modes: TxnModes,
    defaults: TxnModes,
    settings: Vec<(String, String)>,
    /// In a transaction block: what its end does to the settings (`settings.rs`).
    settings_txn: Option<settings::SettingsTxn>,
    /// Set while a `SET LOCAL` runs: the change is the block's only.
    setting_locally: bool,
    copy: Option<CopyIn>,
    block_started: Option<Instant>,
    /// When the transaction block began (`now()` inside it), in microseconds since the epoch.
    transaction_time: Option<i64>,
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
    /// The SQL-level prepared statements and cursors.
    objects: objects::Objects,
    /// The running transaction's schema changes (see `ddl.rs`), and where its savepoints
    /// left them.
    ddl: Option<ddl::TxnDdl>,
    ddl_marks: Vec<ddl::DdlMark>,
    /// Checks of deferred constraints the transaction owes at COMMIT.
    deferred_fk: Vec<crate::sql::exec::fk::FkWork>,
    /// SET CONSTRAINTS: which deferrable constraints are deferred (for the transaction).
    constraint_modes: crate::sql::exec::fk::ConstraintModes,
}

fn tag_for(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::CreateTable(_) => "CREATE TABLE",
        Statement::CreateIndex(_) => "CREATE INDEX",
        Statement::Drop { object_type: ast::ObjectType::Index, .. } => "DROP INDEX",
        Statement::Drop { object_type: ast::ObjectType::Sequence, .. } => "DROP SEQUENCE",
        Statement::Drop { object_type: ast::ObjectType::View, .. } => "DROP VIEW",
        Statement::CreateView(_) => "CREATE VIEW",
        Statement::Drop { object_type: ast::ObjectType::Type, .. } => "DROP TYPE",
        Statement::CreateType { .. } => "CREATE TYPE",
        Statement::AlterType(_) => "ALTER TYPE",
        Statement::Drop { .. } => "DROP TABLE",
        Statement::AlterTable(_) => "ALTER TABLE",
        Statement::AlterIndex { .. } => "ALTER INDEX",
        Statement::CreateSequence { .. } => "CREATE SEQUENCE",
        Statement::Comment { .. } => "COMMENT",
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
    /// A statement that writes or locks one row in a block ran on the caller's task and is
    /// queued for its row's lock: await the wakeup, follow [`Session::poll_lock_wait`], then
    /// run it again with [`Session::try_execute_as_task`].
    LockWait(Arc<Prepared>, Vec<Value>),
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

/// What a replica waits for before a request reads (`Session::read_requirement`).
#[derive(Clone, Debug)]
pub struct ReadRequirement {
    /// `isola.read_consistency` (`causal` for a statement naming no table).
    pub level: String,
    /// The session's token and `isola.read_after`: the position to have applied.
    pub after: u64,
    pub max_staleness: Duration,
    pub staleness_wait: Duration,
    /// A linearizable read whose leadership check its transaction's commit makes: a
    /// statement at Read Committed in a block that has written already (see
    /// `Session::read_requirement`).
    pub confirmed_by_commit: bool,
}

/// Whether the request is one INSERT, UPDATE or DELETE (a simple query: one statement that
/// starts with one of those words).
fn modifies_rows(request: &Request) -> bool {
    match request {
        Request::Prepared(p, _) => p.modifies_rows(),
        Request::Simple(sql) => {
            let text = sql.trim().trim_end_matches(';');
            let first = text.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
            !text.contains(';')
                && ["insert", "update", "delete"].iter().any(|w| first.eq_ignore_ascii_case(w))
        }
    }
}

/// Whether `sql` names one of the schema's tables, as a whole word (case-insensitively): an
/// over-approximation of "reads a replicated table" (a column or string spelled like a table
/// counts too), never an under-approximation.
fn mentions_a_table(sql: &str, schema: &crate::sql::schema::Schema) -> bool {
    let lower = sql.to_lowercase();
    let words: std::collections::HashSet<&str> =
        lower.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
    schema.tables.keys().any(|name| words.contains(name.to_lowercase().as_str()))
}

impl Session {
    /// Starts a request: prepares it (a simple query of one statement through the plan cache of
    /// [`Session::prepare_single`]), decides where it runs, and runs it here when it cannot
    /// wait and its work is small, or when it writes or locks one row in a block (its wait
    /// for that row's lock, if any, is left to the caller's task, woken by `wakeup`).
    pub fn begin(&mut self, request: Request, wakeup: &Arc<tokio::sync::Notify>) -> Next {
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
        // Placement reads the plan: the one for this schema version (re-bound after DDL), or,
        // if it no longer binds, the blocking pool, where running it reports the error. What
        // runs here runs with this plan (no second look at the schema's version).
        let planned = match p.is_plannable().then(|| self.plan_of(&p)) {
            Some(Ok(bound)) => Some(bound),
            Some(Err(_)) => return Next::Blocking(Job::One(p, values)),
            None => None,
        };
        if self.in_block && !self.failed && p.writes_one_row() {
            return match self.execute_as_task(&p, &values, wakeup, false, planned) {
                Tried::Done(ran) => Next::Ran(ran),
                Tried::Waiting => Next::LockWait(p, values),
                Tried::NotTried => Next::Blocking(Job::One(p, values)),
            };
        }
        if p.runs_inline() {
            // On the connection's task: a table lock DDL holds sends it to the blocking pool.
            if p.param_types.len() == values.len() {
                self.never_block = true;
                let result = self.run_prepared(&p, &values, planned);
                self.never_block = false;
                if matches!(result, Err(ExecError::Interrupted(Interrupt::WouldWait))) {
                    return Next::Blocking(Job::One(p, values));
                }
                let result = result.map_err(ExecError::into_sql_error);
                if result.is_err() {
                    self.statement_failed();
                }
                return Next::Ran(self.ran(vec![result]));
            }
            let result = self.execute_values(&p, &values, planned);
            return Next::Ran(self.ran(vec![result]));
        }
        Next::Blocking(Job::One(p, values))
    }

    /// Runs work that may block the thread (a lock wait, a commit's fsync, a long scan).
    pub fn run(&mut self, job: Job) -> Ran {
        let results = match job {
            Job::Simple(sql) => self.execute_simple(&sql),
            Job::One(p, values) => vec![self.execute_values(&p, &values, None)],
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
        let mut settings: Vec<(String, String)> =
            SETTINGS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(slot) = settings.iter_mut().find(|(k, _)| k == "application_name") {
            slot.1 = application_name.to_string();
        }
        Session {
            engine,
            id,
            user: user.into(),
            database: database.into(),
            in_block: false,
            failed: false,
            txn: None,
            never_block: false,
            block_modes: TxnModes::default(),
            settings_txn: None,
            setting_locally: false,
            defaults: TxnModes::default(),
            settings,
            copy: None,
            statement_deadline: None,
            keep_statement_deadline: false,
            answer_wait: None,
            shape_plans: HashMap::new(),
            shape_plans_schema: 0,
            shape_text: None,
            ddl: None,
            ddl_marks: Vec::new(),
            deferred_fk: Vec::new(),
            constraint_modes: Default::default(),
            block_started: None,
            transaction_time: None,
            objects: Default::default(),
        }
    }

    /// Whether a statement may have to wait for a safe snapshot (SERIALIZABLE READ ONLY
    /// DEFERRABLE), so that even a plain SELECT can block.
    pub fn may_wait_for_snapshot(&self) -> bool {
        self.declared_deferrable()
    }

    /// DEFERRABLE as declared: BEGIN, SET TRANSACTION, the session's characteristics, or
    /// `default_transaction_deferrable`.
    pub(super) fn declared_deferrable(&self) -> bool {
        let default =
            self.setting("default_transaction_deferrable").is_some_and(settings::setting_is_on);
        self.block_modes.deferrable.or(self.defaults.deferrable).unwrap_or(default)
    }

    pub fn status(&self) -> TxStatus {
        match (self.in_block, self.failed) {
            (false, _) => TxStatus::Idle,
            (true, false) => TxStatus::InBlock,
            (true, true) => TxStatus::Failed,
        }
    }

    /// A replica: raises the session's token (`isola.session_token`) to `position`; returns
    /// the new token's text if it rose.
    pub fn raise_token(&mut self, position: u64) -> Option<String> {
        let old = self.setting("isola.session_token").and_then(crate::replication::parse_token);
        if old.is_some_and(|o| o >= position) {
            return None;
        }
        let token = crate::replication::format_token(position);
        self.set_setting("isola.session_token", token.clone());
        Some(token)
    }

    /// A replica: what a request must wait for before it reads (see
    /// `replication::ReplicaNode`), or `None` in a transaction block (its snapshot decided
    /// that already).
    pub fn read_requirement(&self, request: &Request) -> Option<ReadRequirement> {
        match self.status() {
            TxStatus::Idle => {}
            TxStatus::InBlock => {
                // In a block, a statement that takes a new snapshot must see what the level
                // promises too: every statement at Read Committed, the first to read at
                // Repeatable Read and Serializable (then the transaction's snapshot is fixed).
                if let Some(t) = &self.txn
                    && t.options().level >= IsolationLevel::RepeatableRead
                    && self.engine.db.snapshot_of(t.id()).is_some()
                {
                    return None;
                }
            }
            TxStatus::Failed => return None,
        }
        let sql = match request {
            Request::Simple(sql) => sql.as_str(),
            Request::Prepared(p, _) => p.sql.as_str(),
        };
        let token = |name| self.setting(name).and_then(crate::replication::parse_token);
        let duration = |name, default| {
            self.setting(name)
                .and_then(|v| parse_duration(v).ok().flatten())
                .unwrap_or(Duration::from_millis(default))
        };
        let mut level = self.setting("isola.read_consistency").unwrap_or("linearizable");
        // Runs on the connection's task: a schema a DDL commit holds counts as named.
        let names_a_table =
            || self.engine.try_shared_schema().is_none_or(|schema| mentions_a_table(sql, &schema));
        if level != "eventual" && !names_a_table() {
            // Names no table this member has (its own state: isola_cluster, the catalog,
            // settings; or a table it has not applied yet): no read index, only the tokens.
            level = "causal";
        }
        // At Read Committed, in a block that has written or whose statement writes: the
        // transaction commits through Raft on the condition that this node still leads in the
        // term it read in, which confirms the leadership after every read it made, as a read
        // index would have before each (a commit that cannot be made, it fails with 08007; the
        // commit of a block that wrote nothing in the end, its writes rolled back to a
        // savepoint or its UPDATE matching no row, confirms with a read index instead: see the
        // server's commit). On the leader only: a follower's transactions never write.
        // Measured: the read index before a TPC-B block's first UPDATE cost ~1 ms of its
        // ~5 ms on a 3-member group.
        let confirmed_by_commit = level == "linearizable"
            && self.status() == TxStatus::InBlock
            && (self.txn.as_ref().is_some_and(|t| t.has_writes()) || modifies_rows(request))
            && self.txn.as_ref().map_or_else(|| self.txn_options().level, |t| t.options().level)
                <= IsolationLevel::ReadCommitted;
        Some(ReadRequirement {
            level: level.to_string(),
            after: token("isola.session_token").max(token("isola.read_after")).unwrap_or(0),
            max_staleness: duration("isola.max_staleness", 2000),
            staleness_wait: duration("isola.staleness_wait", 1000),
            confirmed_by_commit,
        })
    }

    /// Shows the session as active and waiting for `what` (`isola_stat_activity.waiting_for`),
    /// or, with `None`, idle again.
    pub fn publish_waiting(&self, what: Option<String>) {
        match what {
            Some(what) => {
                if let Some(a) = self.engine.sessions.lock().get_mut(&self.id) {
                    a.state = "active";
                    a.answer_wait = Some(what);
                }
            }
            None => self.publish("idle", ""),
        }
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

    /// Runs a simple-protocol query string: each statement's outcome or error, stopping at the
    /// first error (as PostgreSQL does).
    pub fn execute_simple(&mut self, sql: &str) -> Vec<Result<Outcome, SqlError>> {
        let statements = split_statements(sql);
        if statements.is_empty() {
            return vec![Ok(Outcome::Empty)];
        }
        // PostgreSQL runs the statements of one query string outside a transaction block as
        // one implicit transaction block: committed at the end of the string, rolled back
        // whole at the first error. A BEGIN in it makes it a regular block (the statements
        // before are part of it); COMMIT or ROLLBACK closes it, and the statements after start
        // a new one; SAVEPOINT is refused in it (25P01). A string with COPY runs statement by
        // statement (COPY's data travels between its statements).
        if statements.len() < 2 || statements.iter().any(|s| first_words(s).0 == "copy") {
            return self.execute_each(statements);
        }
        let mut out = Vec::new();
        let mut implicit = false;
        for s in statements {
            let control = Control::of(&s);
            if !self.in_block && control != Control::Begin {
                if let Err(e) = self.run_hidden("BEGIN") {
                    out.push(Err(e));
                    return out;
                }
                implicit = true;
            }
            if implicit {
                match control {
                    // The block becomes the client's: its BEGIN opens it itself when nothing
                    // ran in it yet (so its modes apply), else it adds nothing more.
                    Control::Begin => {
                        implicit = false;
                        if self.txn.is_none() {
                            self.settings_txn = None;
                            self.end_block();
                        }
                    }
                    Control::End => implicit = false,
                    Control::Savepoint => {
                        let _ = self.run_hidden("ROLLBACK");
                        out.push(Err(SqlError::new(
                            SqlState::NoActiveSqlTransaction,
                            format!("{} can only be used in transaction blocks", control_name(&s)),
                        )));
                        return out;
                    }
                    Control::None => {}
                }
            }
            let result = self.execute_each(vec![s]).pop().expect("one statement, one result");
            let failed = result.is_err();
            out.push(result);
            if failed {
                if implicit && self.in_block {
                    let _ = self.run_hidden("ROLLBACK");
                }
                return out;
            }
        }
        if implicit && self.in_block {
            let end = if self.failed { "ROLLBACK" } else { "COMMIT" };
            if let Err(e) = self.run_hidden(end) {
                out.push(Err(e));
            }
        }
        out
    }

    /// Runs a transaction-control statement of the server's own (the implicit block of
    /// [`Session::execute_simple`]); its answer is not the client's.
    fn run_hidden(&mut self, sql: &str) -> Result<Outcome, SqlError> {
        let p = self.prepare_simple_waiting(sql)?;
        self.execute_values(&p, &[], None)
    }

    /// Runs statements one after the other until one fails.
    fn execute_each(&mut self, statements: Vec<String>) -> Vec<Result<Outcome, SqlError>> {
        let mut out = Vec::new();
        for s in statements {
            let r = match self.prepare_simple_waiting(&s) {
                Ok(p) => self.execute_values(&p, &[], None),
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
    /// recording a failure as [`Session::statement_failed`] does. `planned`: its plan, when
    /// the caller just looked it up.
    fn execute_values(
        &mut self,
        p: &Prepared,
        values: &[Value],
        planned: Option<PlanEntry>,
    ) -> Result<Outcome, SqlError> {
        if p.param_types.len() == values.len() {
            let result = self.run_prepared(p, values, planned).map_err(ExecError::into_sql_error);
            if result.is_err() {
                self.statement_failed();
            }
            result
        } else {
            self.statement_failed();
            Err(SqlError::new(SqlState::UndefinedParameter, "there is no parameter $1"))
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
        self.execute_as_task(p, params, wakeup, again, None)
    }

    /// [`Session::try_execute_as_task`] with the plan, when the caller just looked it up.
    fn execute_as_task(
        &mut self,
        p: &Prepared,
        params: &[Value],
        wakeup: &Arc<tokio::sync::Notify>,
        again: bool,
        planned: Option<PlanEntry>,
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
        let r = self.run_prepared(p, params, planned);
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
                self.rollback_txn(t);
                self.transaction_ended(false);
            }
        } else if let Some(t) = self.txn.take() {
            self.rollback_txn(t);
            self.transaction_ended(false);
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

    /// Executes a prepared statement with parameter values. A failure is recorded
    /// ([`Session::statement_failed`]): a block becomes failed, autocommit rolls back.
    pub fn execute(&mut self, p: &Prepared, params: &[Value]) -> Result<Outcome, SqlError> {
        let result = self.run_prepared(p, params, None).map_err(ExecError::into_sql_error);
        if result.is_err() {
            self.statement_failed();
        }
        result
    }

    /// Runs a prepared statement once (with `planned`, its plan for this schema version, when
    /// the caller has it); an interruption is left to the caller.
    fn run_prepared(
        &mut self,
        p: &Prepared,
        params: &[Value],
        planned: Option<PlanEntry>,
    ) -> Result<Outcome, ExecError> {
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
                if matches!(u, Utility::PrepareStatement { .. } | Utility::DeclareCursor { .. }) {
                    self.objects.statement_text.clone_from(&p.sql);
                }
                // A cursor's query takes the statement's parameters (psycopg binds them).
                let r = match u {
                    Utility::DeclareCursor { .. } => self.declare_cursor(u, &p.param_types, params),
                    _ => self.utility(u),
                };
                self.publish("idle", &p.sql);
                Ok(r?)
            }
            Kind::Sql(stmt, _) => {
                let mut planned = planned;
                loop {
                    let entry = match planned.take() {
                        Some(entry) => entry,
                        None => self.plan_of(p)?,
                    };
                    if let Bound::Explain(lines) = &*entry.bound {
                        return Ok(Outcome::Rows {
                            columns: p.columns.clone(),
                            tag: format!("EXPLAIN {}", lines.len()),
                            rows: lines.iter().map(|l| vec![Value::Text(l.clone())]).collect(),
                        });
                    }
                    if let Bound::Other = &*entry.bound {
                        self.ddl(stmt)?;
                        return Ok(Outcome::Command(tag_for(stmt).into()));
                    }
                    if matches!(&*entry.bound, Bound::Lock) && !self.in_block {
                        return Err(SqlError::new(
                            SqlState::NoActiveSqlTransaction,
                            "LOCK TABLE can only be used in transaction blocks",
                        )
                        .into());
                    }
                    // A shape shows the text it runs for, as PostgreSQL shows a simple query.
                    let text = match &self.shape_text {
                        Some((shape, text)) if std::ptr::eq(Arc::as_ptr(shape), p) => text.clone(),
                        _ => p.sql.clone(),
                    };
                    // Planned again after DDL, its rows may have other columns: a simple query
                    // describes them with its answer; a statement the client described before
                    // cannot change them (PostgreSQL's "cached plan must not change result
                    // type").
                    let columns = match entry.bound.result_columns() {
                        Some(columns) if columns != p.columns => {
                            if !p.simple_protocol {
                                return Err(SqlError::new(
                                    SqlState::FeatureNotSupported,
                                    "cached plan must not change result type",
                                )
                                .into());
                            }
                            columns
                        }
                        _ => p.columns.clone(),
                    };
                    match self.run_plan(&entry, &columns, params, &text) {
                        // DDL committed while it waited for its tables: plan again.
                        Err(ExecError::Interrupted(Interrupt::Replan)) => continue,
                        result => {
                            // (A shape sent on to run where it may block stays one.)
                            if !matches!(result, Err(ExecError::Interrupted(Interrupt::WouldWait)))
                            {
                                self.shape_text = None;
                            }
                            return result;
                        }
                    }
                }
            }
        }
    }

    fn run_plan(
        &mut self,
        plan: &PlanEntry,
        columns: &[(String, SqlType)],
        params: &[Value],
        sql: &str,
    ) -> Result<Outcome, ExecError> {
        // A statement restarted with a new snapshot (`Interrupt::Restart`) runs again at
        // once; the core bounds how often, and the statement keeps its first deadline.
        let keep_deadline = self.keep_statement_deadline;
        loop {
            let result = self.run_plan_once(plan, columns, params, sql);
            if !matches!(result, Err(ExecError::Interrupted(Interrupt::Restart))) {
                self.keep_statement_deadline = keep_deadline;
                return result;
            }
            self.keep_statement_deadline = true;
        }
    }

    /// Runs a plan once: first the table-level locks of every table it uses (shared: only
    /// DDL conflicts), then, if no DDL changed the schema while it waited, the plan.
    fn run_plan_once(
        &mut self,
        plan: &PlanEntry,
        columns: &[(String, SqlType)],
        params: &[Value],
        sql: &str,
    ) -> Result<Outcome, ExecError> {
        let bound = &*plan.bound;
        let count_only = matches!(bound, Bound::Modify(plan) if plan.answers_with_count_only());
        let own_version = self.own_schema_version();
        self.run_statement(params, sql, count_only, |ctx| {
            ctx.lock_tables(&plan.tables)?;
            if ctx.engine.schema_version().max(own_version) != plan.version {
                return Err(ExecError::Interrupted(Interrupt::Replan));
            }
            ctx.run_bound(bound, columns)
        })
    }
}

impl ExecCtx<'_> {
    /// Takes the shared table-level lock of each table (held to the transaction's end).
    fn lock_tables(&mut self, tables: &[crate::catalog::TableId]) -> Result<(), ExecError> {
        let never_block = self.never_block;
        let txn = self.txn.as_mut().expect("a transaction");
        for &t in tables {
            if never_block {
                if !txn.try_lock_relation_shared(t)? {
                    return Err(ExecError::Interrupted(Interrupt::WouldWait));
                }
            } else {
                txn.lock_relation(t, false)?;
            }
        }
        Ok(())
    }

    fn run_bound(
        &mut self,
        bound: &Bound,
        columns: &[(String, SqlType)],
    ) -> Result<Outcome, ExecError> {
        let ctx = self;
        match bound {
            Bound::Select(plan) => ctx.select(plan).map(|rows| Outcome::Rows {
                tag: format!("SELECT {}", rows.len()),
                rows,
                columns: columns.to_vec(),
            }),
            Bound::Insert(plan) => {
                let (n, rows) = ctx.insert(plan)?;
                ctx.settle_foreign_keys()?;
                Ok(match &plan.returning {
                    Some(_) => Outcome::Rows {
                        tag: format!("INSERT 0 {n}"),
                        rows,
                        columns: columns.to_vec(),
                    },
                    None => Outcome::Command(format!("INSERT 0 {n}")),
                })
            }
            Bound::Modify(plan) => {
                let verb = if plan.assignments.is_some() { "UPDATE" } else { "DELETE" };
                let done = ctx.modify(plan);
                if done.is_ok() {
                    ctx.settle_foreign_keys()?;
                }
                done.map(|(n, rows)| match &plan.returning {
                    Some(_) => Outcome::Rows {
                        tag: format!("{verb} {n}"),
                        rows,
                        columns: columns.to_vec(),
                    },
                    None => Outcome::Command(format!("{verb} {n}")),
                })
            }
            Bound::Lock => Ok(Outcome::Command("LOCK TABLE".into())),
            Bound::ExplainAnalyze(ea) => ctx.explain_analyze(ea),
            Bound::Explain(_) | Bound::Other => {
                Err(SqlError::new(SqlState::InternalError, "not a plan").into())
            }
        }
    }
}

impl ExecCtx<'_> {
    /// EXPLAIN ANALYZE: runs the statement with the transaction tracing it, then answers with
    /// the plan (its top line with the rows it produced) and the isolation report: rows read,
    /// versions skipped as invisible and whose, rows written, row locks taken and waited for
    /// (for whom), SIREAD locks and rw-dependencies at Serializable.
    fn explain_analyze(
        &mut self,
        ea: &crate::sql::plan::ExplainAnalyze,
    ) -> Result<Outcome, ExecError> {
        let started = Instant::now();
        self.txn()?.begin_trace();
        let outcome = self.run_bound(&ea.inner, &ea.inner_columns);
        let report = self.txn()?.finish_trace();
        let rows = match outcome? {
            Outcome::Rows { rows, .. } => rows.len(),
            Outcome::Command(tag) => {
                tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
            }
            _ => 0,
        };
        let elapsed = started.elapsed();
        let mut lines = ea.plan.clone();
        if let Some(top) = lines.first_mut() {
            match ea.timing {
                true => top.push_str(&format!(
                    "  (actual time={:.3} rows={rows} loops=1)",
                    elapsed.as_secs_f64() * 1000.0
                )),
                false => top.push_str(&format!("  (actual rows={rows} loops=1)")),
            }
        }
        lines.extend(report.lines(ea.timing));
        if ea.summary {
            lines.push(format!("Execution Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0));
        }
        Ok(Outcome::Rows {
            tag: "EXPLAIN".into(),
            columns: vec![("QUERY PLAN".into(), SqlType::Text)],
            rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
        })
    }
}

impl Session {
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
        let lock_timeout =
            self.setting("lock_timeout").and_then(|v| parse_duration(v).ok().flatten());
        let engine = self.engine.clone();
        let never_block = self.never_block;
        let txn = self.txn.as_mut().expect("ensured above");
        txn.start_statement();
        txn.set_statement_deadline(statement_deadline);
        let schema = if self.ddl.is_some() { self.schema() } else { engine.shared_schema() };
        let constraints = self.constraint_modes.clone();
        let txn = self.txn.as_mut().expect("ensured above");
        let statement_time = now_micros();
        let transaction_time = self.transaction_time.unwrap_or(statement_time);
        let (result, deferred, settings_changed) = {
            let mut ctx = ExecCtx::new(
                &engine,
                txn,
                params,
                (&identity.0, &identity.1, identity.2),
                statement_time,
            );
            ctx.transaction_time = transaction_time;
            ctx.deadline = statement_deadline;
            ctx.lock_timeout = lock_timeout;
            ctx.never_block = never_block;
            ctx.schema = Some(schema);
            ctx.constraints = constraints;
            ctx.settings = &self.settings;
            let result = work(&mut ctx);
            (
                result,
                std::mem::take(&mut ctx.deferred_fk),
                std::mem::take(&mut ctx.settings_changed),
            )
        };
        if result.is_ok() {
            self.deferred_fk.extend(deferred);
        }
        let txn = self.txn.as_mut().expect("ensured above");
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
                Err(_) => {
                    self.rollback_txn(txn);
                    self.transaction_ended(false);
                }
            }
        }
        if result.is_ok() {
            // set_config(name, value, is_local): as SET or SET LOCAL (which outside a block
            // ends with the statement's own transaction: nothing stays).
            for (name, value, local) in settings_changed {
                if local && !self.in_block {
                    continue;
                }
                self.setting_locally = local;
                self.set_setting(&name, value);
                self.setting_locally = false;
            }
        }
        self.publish("idle", "");
        result
    }

    /// Runs a DDL statement as a statement of the session's transaction (committed at once
    /// in autocommit, rolled back if it fails there).
    fn ddl(&mut self, stmt: &Statement) -> Result<(), ExecError> {
        self.ddl_statement(
            crate::sql::ddl::DdlStatement::Sql(stmt),
            crate::sql::ddl::log_text(stmt),
        )
    }

    /// Runs DDL (`text`: what the log keeps of it).
    fn ddl_statement(
        &mut self,
        stmt: crate::sql::ddl::DdlStatement<'_>,
        text: String,
    ) -> Result<(), ExecError> {
        self.publish("active", &text);
        let result = self.run_ddl(stmt, text);
        if matches!(result, Err(ExecError::Interrupted(_))) {
            return result;
        }
        if !self.in_block
            && let Some(txn) = self.txn.take()
        {
            match &result {
                Ok(()) => self.commit_txn(txn)?,
                Err(_) => self.rollback_txn(txn),
            }
        }
        self.publish("idle", "");
        result
    }
}

impl Session {
    /// The engine of the database this session is connected to.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(t) = self.txn.take() {
            self.rollback_txn(t);
        }
        self.engine.notifications.forget(self.id);
        self.engine.advisory.release_session(self.id);
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

    /// Runs each statement (with $1 = 1) in one transaction block as the server would on the
    /// connection's task, checking that it qualifies (`writes_one_row`) exactly when expected
    /// and then runs there without error.
    fn run_in_a_block_as_tasks(s: &mut Session, cases: &[(&str, bool)]) {
        let wakeup = Arc::new(tokio::sync::Notify::new());
        assert!(s.execute_simple("BEGIN").remove(0).is_ok());
        for &(sql, expected) in cases {
            let p = s.prepare(sql, &[Some(SqlType::Int4)]).expect("prepares");
            assert_eq!(p.writes_one_row(), expected, "{sql}");
            match s.try_execute_as_task(&p, &[Value::Int(1)], &wakeup, false) {
                Tried::Done(ran) if ran.results.iter().all(Result::is_ok) => {
                    assert!(expected, "{sql} ran as a task")
                }
                Tried::NotTried => assert!(!expected, "{sql} was not tried"),
                Tried::Done(ran) => panic!("{sql}: {:?}", ran.results),
                Tried::Waiting => panic!("{sql}: waits"),
            }
        }
        assert!(s.execute_simple("COMMIT").remove(0).is_ok());
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
        run_in_a_block_as_tasks(&mut s, &cases);
        let (_, rows) = answer(s.execute_simple("SELECT a, b FROM log").remove(0));
        assert_eq!(rows, vec![vec![Value::Int(1), Value::Text("x".into())]]);
    }

    /// Which UPDATEs and DELETEs may run on the connection's task: one row found by its whole
    /// primary key or by every column of a unique index, no key or unique column assigned.
    #[test]
    fn point_writes_by_key_or_unique_index_run_as_tasks() {
        let engine = Engine::new(crate::Database::new());
        let mut s = Session::new(engine, "t", "t", "t");
        for ddl in [
            "CREATE TABLE a (id int, code text, n int, k int, m int)",
            "ALTER TABLE a ADD PRIMARY KEY (id)",
            "CREATE UNIQUE INDEX a_code ON a (code, k)",
            "CREATE INDEX a_m ON a (m)",
            "INSERT INTO a VALUES (1, 'x', 0, 1, 1)",
        ] {
            assert!(s.execute_simple(ddl).remove(0).is_ok(), "{ddl}");
        }
        let cases = [
            ("UPDATE a SET n = n + $1 WHERE id = 1", true),
            ("UPDATE a SET n = n + $1 WHERE code = 'x' AND k = 1", true),
            ("DELETE FROM a WHERE id = $1 + 5", true),
            ("UPDATE a SET n = n + $1 WHERE code = 'x'", false),
            ("UPDATE a SET n = n + $1 WHERE m = 1", false),
            // Its uniqueness check would wait before the row is written: it qualifies.
            ("UPDATE a SET id = $1 WHERE id = 1", true),
            ("UPDATE a SET n = $1 WHERE id >= 1", false),
        ];
        run_in_a_block_as_tasks(&mut s, &cases);
        let (_, rows) = answer(s.execute_simple("SELECT id, n FROM a").remove(0));
        assert_eq!(rows, vec![vec![Value::Int(1), Value::Int(2)]]);
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
            let plan = p.plan.lock().as_ref().map(|e| e.bound.clone()).expect("planned");
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
        // An escape string's \' does not end it; a plain string's backslash is a character.
        let s = split_statements("select E'it\\'s; x'; select 'a\\'; select e'\\\\'; select 1");
        assert_eq!(s, vec!["select E'it\\'s; x'", "select 'a\\'", "select e'\\\\'", "select 1"]);
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

/// The first two words of a statement, lower case, after any leading comments.
fn first_words(statement: &str) -> (String, String) {
    let mut text = statement.trim_start();
    loop {
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let mut words = text
        .split(|c: char| c.is_whitespace() || c == ';' || c == '(')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase());
    (words.next().unwrap_or_default(), words.next().unwrap_or_default())
}

/// What a statement of a multi-statement string does to its implicit block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Control {
    /// BEGIN, START TRANSACTION: the block becomes a regular one.
    Begin,
    /// COMMIT, END, ROLLBACK, ABORT (not ROLLBACK TO, not the two-phase forms): closes it.
    End,
    /// SAVEPOINT, RELEASE, ROLLBACK TO: refused in an implicit block.
    Savepoint,
    None,
}

impl Control {
    fn of(statement: &str) -> Control {
        let (first, second) = first_words(statement);
        match (first.as_str(), second.as_str()) {
            ("begin", _) | ("start", "transaction") => Control::Begin,
            ("rollback", "to") | ("savepoint" | "release", _) => Control::Savepoint,
            ("rollback" | "abort", "" | "work" | "transaction" | "and")
            | ("commit" | "end", "" | "work" | "transaction" | "and") => Control::End,
            _ => Control::None,
        }
    }
}

/// The name an implicit block's refusal gives a savepoint statement.
fn control_name(statement: &str) -> &'static str {
    match first_words(statement).0.as_str() {
        "release" => "RELEASE SAVEPOINT",
        "rollback" => "ROLLBACK TO SAVEPOINT",
        _ => "SAVEPOINT",
    }
}
