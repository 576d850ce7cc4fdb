//! [`Connection`]: the pgwire handlers of one client connection (startup, simple and extended
//! query, COPY, cancel), translating between protocol messages and the SQL [`Session`].
//!
//! Both protocols run a statement through one path, [`Connection::run`]: the session decides
//! where it runs ([`Session::begin`]: already run on the connection's task when it cannot block
//! the thread, its lock wait awaited here, COMMIT's disk wait awaited here, or the blocking
//! pool), then [`Connection::finish`] arms the idle timer and holds the answers until the
//! pending commits they met are durable.
//!
//! Invariants: the session is created at startup and dropped with the connection; every
//! statement runs with the session locked; no answer is sent before the pending commits it met
//! are durable; the transaction status sent in ReadyForQuery is the session's, also after
//! errors.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use futures::{Sink, SinkExt, stream};
use parking_lot::Mutex;
use pgwire::api::DEFAULT_NAME;
use pgwire::api::auth::sasl::scram::{ScramServerAuth, ScramServerAuthWaitingForClientFinal};
use pgwire::api::auth::{
    DefaultServerParameterProvider, ServerParameterProvider, StartupHandler, finish_authentication,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{CopyResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::Entry;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, PgWireConnectionState, PgWireServerHandlers, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{DataRow, FieldDescription, NoData, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    EmptyQueryResponse, NotificationResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::{Authentication, PasswordMessageFamily, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use super::Shared;
use super::batch::Deferred;
use super::security::Credentials;
use crate::error::SqlState;
use crate::sql::session::{Job, Next, Ran, Request};
use crate::sql::types::{decode_binary, encode_binary, format_text, parse_text};
use crate::sql::{LockWaitPoll, Outcome, Prepared, Session, SqlError, SqlType, Tried, TxStatus};
use crate::types::{Row, Value};

/// One client connection.
pub struct Connection {
    shared: Arc<Shared>,
    session: Arc<Mutex<Option<Session>>>,
    pid: Arc<Mutex<Option<i32>>>,
    auth: Arc<Mutex<AuthStage>>,
    /// Requests started on this connection, for the idle-in-transaction timer.
    activity: Arc<AtomicU64>,
    /// Wakes this connection's task when a row-lock wait it left queued ends (granted,
    /// canceled); see [`Connection::await_lock_then_run`].
    lock_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes this connection's message loop when a notification arrives for its session.
    notification_wakeup: Arc<tokio::sync::Notify>,
    /// A replica: the parameter statuses last reported to the client (`in_hot_standby`,
    /// `default_transaction_read_only`, `isola.session_token`), to report changes.
    reported: Arc<Mutex<HashMap<String, String>>>,
    /// A replica: the open transaction block read at `linearizable` without a read index,
    /// its commit to confirm the leadership (`ReadRequirement::confirmed_by_commit`).
    reads_await_commit: Arc<std::sync::atomic::AtomicBool>,
}

/// The session is gone: ended by idle_in_transaction_session_timeout (or the connection is
/// closing). Fatal, so pgwire closes the connection after sending it.
fn session_gone() -> PgWireError {
    fatal(
        SqlState::IdleInTransactionSessionTimeout,
        "terminating connection due to idle-in-transaction timeout".into(),
    )
}

/// Where a password exchange stands.
enum AuthStage {
    /// Nothing sent yet (or no password needed).
    Start,
    /// AuthenticationSASL sent; the client's first message comes next.
    MechanismsSent,
    /// server-first sent; the client's proof comes next.
    ServerFirstSent(Box<ScramServerAuthWaitingForClientFinal>),
}

fn fatal(code: SqlState, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), code.code().into(), message)))
}

fn user_error(e: SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

fn wire_status(s: TxStatus) -> TransactionStatus {
    match s {
        TxStatus::Idle => TransactionStatus::Idle,
        TxStatus::InBlock => TransactionStatus::Transaction,
        TxStatus::Failed => TransactionStatus::Error,
    }
}

fn field_infos(columns: &[(String, SqlType)], format: &Format) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            // the column's typmod, as PostgreSQL sends it: drivers read a varchar's length and
            // a numeric's precision and scale from it (Django's inspectdb does)
            let (_, typmod) = crate::sql::pg_catalog::model::type_of(*ty);
            FieldInfo::new(name.clone(), None, None, ty.pg_type(), format.format_for(i))
                .with_type_modifier(typmod as i32)
        })
        .collect()
}

/// Encodes rows as DataRow messages in each column's format.
fn encode_rows(
    columns: &[(String, SqlType)],
    rows: Vec<Row>,
    format: &Format,
) -> Vec<PgWireResult<DataRow>> {
    let binary: Vec<bool> =
        (0..columns.len()).map(|i| format.format_for(i) == FieldFormat::Binary).collect();
    rows.into_iter()
        .map(|row| {
            let mut buf = BytesMut::with_capacity(16 * row.len());
            let mut scratch = Vec::new();
            for (i, v) in row.iter().enumerate() {
                let ty = columns.get(i).map_or(SqlType::Text, |c| c.1);
                if *v == Value::Null {
                    buf.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                scratch.clear();
                if binary.get(i).copied().unwrap_or(false) {
                    encode_binary(v, ty, &mut scratch);
                } else {
                    scratch.extend_from_slice(format_text(v, ty).unwrap_or_default().as_bytes());
                }
                buf.extend_from_slice(&(scratch.len() as i32).to_be_bytes());
                buf.extend_from_slice(&scratch);
            }
            Ok(DataRow::new(buf, row.len() as i16))
        })
        .collect()
}

/// A query response for a portal; pgwire appends the row count to the tag, so the count is
/// taken off ours ("SELECT 3" → "SELECT", "INSERT 0 2" → "INSERT 0").
fn query_response(
    columns: &[(String, SqlType)],
    rows: Vec<Row>,
    tag: &str,
    format: &Format,
) -> QueryResponse {
    let fields = Arc::new(field_infos(columns, format));
    let data = encode_rows(columns, rows, format);
    let mut resp = QueryResponse::new(fields, stream::iter(data));
    let verb = match tag.rsplit_once(' ') {
        Some((verb, count)) if count.chars().all(|c| c.is_ascii_digit()) => verb,
        _ => tag,
    };
    resp.set_command_tag(verb);
    resp
}

/// "SELECT 3" → ("SELECT", Some(3)); "INSERT 0 5" passes as a whole.
fn tag_of(s: &str) -> Tag {
    Tag::new(s)
}

/// The parameter statuses sent at startup; a replica adds whether it takes writes, as
/// PostgreSQL 14+ reports it (libpq's and asyncpg's `target_session_attrs` read these).
struct Parameters {
    standby: Option<bool>,
}

impl ServerParameterProvider for Parameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut defaults = DefaultServerParameterProvider::default();
        defaults.server_version = crate::sql::SERVER_VERSION.to_string();
        defaults.time_zone = "UTC".into();
        defaults.date_style = "ISO, MDY".into();
        let mut p = defaults.server_parameters(client)?;
        p.remove("scram_iterations");
        if let Some(standby) = self.standby {
            let on_off = if standby { "on" } else { "off" };
            p.insert("in_hot_standby".into(), on_off.into());
            p.insert("default_transaction_read_only".into(), on_off.into());
            p.insert("isola.session_token".into(), "0/0".into());
        }
        p.insert(
            "application_name".into(),
            client.metadata().get("application_name").cloned().unwrap_or_default(),
        );
        Some(p)
    }
}

impl Connection {
    pub fn new(shared: Arc<Shared>) -> Self {
        Connection {
            shared,
            session: Arc::new(Mutex::new(None)),
            pid: Arc::new(Mutex::new(None)),
            auth: Arc::new(Mutex::new(AuthStage::Start)),
            activity: Arc::new(AtomicU64::new(0)),
            lock_wakeup: Arc::new(tokio::sync::Notify::new()),
            notification_wakeup: Arc::new(tokio::sync::Notify::new()),
            reported: Arc::new(Mutex::new(HashMap::new())),
            reads_await_commit: Arc::default(),
        }
    }

    /// What wakes the message loop when a notification arrives for this session.
    pub fn notification_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.notification_wakeup.clone()
    }

    /// The notifications to send now: the session's mailbox, if it is idle outside a block
    /// (inside one they wait for its end, as in PostgreSQL).
    pub fn pending_notifications(&self) -> Vec<crate::sql::notify::Notification> {
        match self.session.lock().as_ref() {
            Some(s) if s.status() == TxStatus::Idle => s.engine().notifications.take(s.id),
            _ => Vec::new(),
        }
    }

    /// A replica: the parameter statuses whose values changed since they were last reported
    /// (a failover turns `in_hot_standby` on or off; the session's token rises); sent when
    /// the connection is at rest, as PostgreSQL sends ParameterStatus asynchronously.
    pub fn changed_parameters(&self) -> Vec<(String, String)> {
        let current = {
            let guard = self.session.lock();
            let Some(s) = guard.as_ref() else { return Vec::new() };
            if s.engine().replica().is_none() {
                return Vec::new();
            }
            let standby = if s.engine().db.standby_reason().is_some() { "on" } else { "off" };
            let token = s.setting("isola.session_token").unwrap_or("0/0").to_string();
            [
                ("in_hot_standby", standby.to_string()),
                ("default_transaction_read_only", standby.to_string()),
                ("isola.session_token", token),
            ]
        };
        let mut reported = self.reported.lock();
        let mut changed = Vec::new();
        for (name, value) in current {
            if reported.get(name) != Some(&value) {
                reported.insert(name.to_string(), value.clone());
                changed.push((name.to_string(), value));
            }
        }
        changed
    }

    /// Ends the session (rolls back what it had open).
    pub fn close(&self) {
        if let Some(pid) = self.pid.lock().take() {
            self.shared.cancel_keys.lock().remove(&pid);
        }
        self.session.lock().take();
    }

    /// Runs `f` on the session on the blocking pool.
    async fn with_session<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> T + Send + 'static,
    ) -> PgWireResult<T> {
        let session = self.session.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = session.lock();
            Ok(f(guard.as_mut().ok_or_else(session_gone)?))
        })
        .await
        .map_err(|e| {
            user_error(SqlError::new(
                SqlState::InternalError,
                format!("statement task failed: {e}"),
            ))
        })?
    }

    /// The one path of a request, for both protocols: the session decides where it runs
    /// ([`Session::begin`]; a short one has run by then), it runs there, then the idle timer is
    /// armed and the answers wait until what they met is durable.
    async fn run(&self, request: Request) -> PgWireResult<Ran> {
        let generation = self.activity.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(e) = self.replica_read_wait(&request).await {
            let status = self.session.lock().as_ref().map_or(TxStatus::Idle, |s| s.status());
            return Ok(Ran { results: vec![Err(e)], answer_wait: None, status, idle_limit: None });
        }
        let next = self
            .session
            .lock()
            .as_mut()
            .ok_or_else(session_gone)?
            .begin(request, &self.lock_wakeup);
        let ran = match next {
            Next::Ran(ran) => ran,
            Next::Commit => self.commit().await?,
            Next::LockWait(p, values) => match self.await_lock_then_run(&p, &values).await? {
                Some(ran) => ran,
                None => self.with_session(move |s| s.run(Job::One(p, values))).await?,
            },
            Next::Blocking(job) => self.with_session(move |s| s.run(job)).await?,
        };
        if ran.status == TxStatus::Idle {
            // The block ended (or there was none): nothing waits for a commit's confirmation.
            self.reads_await_commit.store(false, Ordering::SeqCst);
        }
        Ok(self.finish(generation, ran).await)
    }

    /// After a request ran: arms the idle-in-transaction timer, and waits until the answers may
    /// be sent: a statement that met a commit decided but not yet durable answers once it is
    /// visible ([`Session::take_answer_wait`]). An error (the log failed meanwhile) replaces
    /// the answers.
    async fn finish(&self, generation: u64, mut ran: Ran) -> Ran {
        self.arm_idle_timer(generation, ran.idle_limit);
        self.raise_token();
        if let Some(wait) = ran.answer_wait.take() {
            let settled = wait.visible().await.map_err(SqlError::from);
            if let Some(s) = self.session.lock().as_ref() {
                s.answer_released();
            }
            if let Err(e) = settled {
                ran.results = vec![Err(e)];
            }
        }
        ran
    }

    /// On a replica, before a request outside a transaction block: waits until this member
    /// serves the session's read consistency (`isola.read_consistency`): `eventual` at once,
    /// `causal` once it applied the session's token (and `isola.read_after`), `linearizable`
    /// once it applied the leader's read index too. `bounded_staleness` is served as
    /// `causal` (see docs/replication.md). The error, if it cannot within the wait limit.
    async fn replica_read_wait(&self, request: &Request) -> Option<SqlError> {
        let (replica, need) = {
            let guard = self.session.lock();
            let session = guard.as_ref()?;
            (session.engine().replica()?.clone(), session.read_requirement(request)?)
        };
        let limit = std::time::Duration::from_secs(5);
        let by_commit =
            need.level == "linearizable" && need.confirmed_by_commit && replica.is_primary();
        if by_commit {
            self.reads_await_commit.store(true, Ordering::SeqCst);
        }
        let target = match need.level.as_str() {
            "eventual" => return None,
            "linearizable" if by_commit => need.after,
            "linearizable" => match replica.read_index(limit).await {
                Ok(index) => index.max(need.after),
                Err(e) => return Some(e.into()),
            },
            "bounded_staleness" => {
                if let Err(e) = replica.wait_fresh(need.max_staleness, need.staleness_wait).await {
                    return Some(e.into());
                }
                need.after
            }
            _ => need.after,
        };
        if replica.applied_index() >= target {
            return None;
        }
        let waiting = format!(
            "this replica to apply position {} (read consistency {}); it has applied {}",
            crate::replication::format_token(target),
            need.level,
            crate::replication::format_token(replica.applied_index())
        );
        self.publish_waiting(Some(waiting));
        let waited = replica.wait_applied(target, limit).await;
        self.publish_waiting(None);
        waited.err().map(SqlError::from)
    }

    fn publish_waiting(&self, what: Option<String>) {
        if let Some(s) = self.session.lock().as_ref() {
            s.publish_waiting(what);
        }
    }

    /// On a replica, after a request: the session's token rises to what this member has
    /// applied (its commit, or what it read, is at or below it).
    fn raise_token(&self) {
        let mut guard = self.session.lock();
        let Some(session) = guard.as_mut() else { return };
        let Some(applied) = session.engine().replica().map(|r| r.applied_index()) else { return };
        session.raise_token(applied);
    }

    /// A statement that writes at most one row ran here, on the connection's task
    /// ([`Session::try_execute_as_task`]: no hop to the blocking pool, a thread switch each way,
    /// five times in a TPC-B transaction), and is queued for its row's lock like any other wait
    /// (FIFO, deadlock detection): the wait is awaited here, then the statement runs again,
    /// holding the lock. `None`: it now needs a wait only a blocking thread can take; run it on
    /// the blocking pool.
    async fn await_lock_then_run(
        &self,
        prepared: &Prepared,
        params: &[Value],
    ) -> PgWireResult<Option<Ran>> {
        loop {
            loop {
                let poll = self.session.lock().as_mut().ok_or_else(session_gone)?.poll_lock_wait();
                match poll {
                    LockWaitPoll::Over => break,
                    LockWaitPoll::Failed(ran) => return Ok(Some(ran)),
                    LockWaitPoll::Pending(deadline) => {
                        let woken = self.lock_wakeup.notified();
                        match deadline {
                            Some(d) => {
                                let _ = tokio::time::timeout_at(d.into(), woken).await;
                            }
                            None => woken.await,
                        }
                    }
                }
            }
            let tried = self.session.lock().as_mut().ok_or_else(session_gone)?.try_execute_as_task(
                prepared,
                params,
                &self.lock_wakeup,
                true,
            );
            match tried {
                Tried::Done(ran) => return Ok(Some(ran)),
                Tried::NotTried => return Ok(None),
                Tried::Waiting => {}
            }
        }
    }

    /// COMMIT without a blocking thread: the commit is decided and logged here
    /// ([`Session::commit`]), and the wait for the disk is a future (the log's writer thread
    /// leads the group's write and sync).
    async fn commit(&self) -> PgWireResult<Ran> {
        let (started, status, idle_limit) = {
            let mut guard = self.session.lock();
            let s = guard.as_mut().ok_or_else(session_gone)?;
            (s.commit(), s.status(), s.idle_in_transaction_timeout())
        };
        let unconfirmed = self.reads_await_commit.swap(false, Ordering::SeqCst);
        let result = match started {
            Ok((tag, None)) if unconfirmed => {
                // Read without a read index, and committed without Raft (its writes rolled
                // back to a savepoint): confirm the leadership now, before the answer.
                let replica =
                    self.session.lock().as_ref().and_then(|s| s.engine().replica().cloned());
                match replica {
                    Some(r) => match r.read_index(std::time::Duration::from_secs(5)).await {
                        Ok(_) => Ok(Outcome::Command(tag)),
                        Err(e) => Err(e.into()),
                    },
                    None => Ok(Outcome::Command(tag)),
                }
            }
            Ok((tag, None)) => Ok(Outcome::Command(tag)),
            Ok((tag, Some(wait))) => {
                let replicated =
                    self.session.lock().as_ref().is_some_and(|s| s.engine().replica().is_some());
                if replicated {
                    self.publish_waiting(Some(
                        "a majority of the replicas: the commit record is in the Raft log; the \
                         commit is acknowledged once a majority holds it durably"
                            .into(),
                    ));
                }
                let done =
                    wait.durable().await.map(|_| Outcome::Command(tag)).map_err(SqlError::from);
                if replicated {
                    self.publish_waiting(None);
                }
                done
            }
            Err(e) => Err(e),
        };
        Ok(Ran { results: vec![result], answer_wait: None, status, idle_limit })
    }

    /// idle_in_transaction_session_timeout: if nothing else arrives on this connection within
    /// `limit` after request `generation`, the session is ended (its transaction rolled back,
    /// its locks released) and the client's next message is answered with FATAL 25P03.
    fn arm_idle_timer(&self, generation: u64, limit: Option<Duration>) {
        let Some(limit) = limit else { return };
        let activity = self.activity.clone();
        let session = self.session.clone();
        let pid = self.pid.clone();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            if activity.load(Ordering::SeqCst) != generation {
                return;
            }
            let ended = session.lock().take();
            if let Some(pid) = pid.lock().take() {
                shared.cancel_keys.lock().remove(&pid);
            }
            // Dropping a session rolls its transaction back: done off the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || drop(ended)).await;
        });
    }

    fn status(&self) -> TransactionStatus {
        wire_status(self.session.lock().as_ref().map_or(TxStatus::Idle, |s| s.status()))
    }
}

/// Hands the connection to pgwire as every kind of handler.
impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(self.clone_handle())
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(self.clone_handle())
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::new(self.clone_handle())
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        Arc::new(self.clone_handle())
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::new(self.clone_handle())
    }
}

impl Connection {
    fn clone_handle(&self) -> Connection {
        Connection {
            shared: self.shared.clone(),
            session: self.session.clone(),
            pid: self.pid.clone(),
            auth: self.auth.clone(),
            activity: self.activity.clone(),
            lock_wakeup: self.lock_wakeup.clone(),
            notification_wakeup: self.notification_wakeup.clone(),
            reported: self.reported.clone(),
            reads_await_commit: self.reads_await_commit.clone(),
        }
    }

    /// Opens the session of an authenticated client and sends AuthenticationOk, the parameter
    /// statuses, BackendKeyData and ReadyForQuery.
    async fn start_session<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let meta = client.metadata();
        let user = meta.get("user").cloned().unwrap_or_else(|| "isola".into());
        let database = meta.get("database").cloned().unwrap_or_else(|| user.clone());
        let app = meta.get("application_name").cloned().unwrap_or_default();
        let session = self.shared.databases.session(&user, &database, &app);
        let pid = session.id as i32;
        let standby =
            session.engine().replica().map(|_| session.engine().db.standby_reason().is_some());
        session.engine().notifications.set_wakeup(session.id, self.notification_wakeup.clone());
        let secret: i32 = (rand_secret() & 0x7fff_ffff) as i32;
        self.shared.cancel_keys.lock().insert(pid, (secret, session.id));
        *self.session.lock() = Some(session);
        *self.pid.lock() = Some(pid);
        client.set_pid_and_secret_key(pid, SecretKey::I32(secret));
        if let Some(standby) = standby {
            let on_off = if standby { "on" } else { "off" }.to_string();
            let mut reported = self.reported.lock();
            reported.insert("in_hot_standby".into(), on_off.clone());
            reported.insert("default_transaction_read_only".into(), on_off);
            reported.insert("isola.session_token".into(), "0/0".into());
        }
        finish_authentication(client, &Parameters { standby }).await
    }

    /// One step of the SCRAM-SHA-256 exchange (RFC 5802, as PostgreSQL runs it).
    async fn scram_step<C>(
        &self,
        client: &mut C,
        credentials: &Credentials,
        message: PasswordMessageFamily,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let user = client.metadata().get("user").cloned().unwrap_or_default();
        let failed = || {
            fatal(
                SqlState::InvalidPassword,
                format!("password authentication failed for user \"{user}\""),
            )
        };
        let stage = std::mem::replace(&mut *self.auth.lock(), AuthStage::Start);
        match stage {
            AuthStage::MechanismsSent => {
                let first = message.into_sasl_initial_response().map_err(|_| {
                    fatal(
                        SqlState::ProtocolViolation,
                        "expected a SASLInitialResponse message".into(),
                    )
                })?;
                if first.auth_method != SCRAM_SHA_256 {
                    return Err(fatal(
                        SqlState::InvalidAuthorizationSpecification,
                        format!(
                            "SASL mechanism {} is not offered; use {SCRAM_SHA_256}",
                            first.auth_method
                        ),
                    ));
                }
                let data = first.data.unwrap_or_default();
                let verifier = credentials.verifier_for(&user);
                let (server_first, waiting) = ScramServerAuth::new()
                    .on_client_first_message_with_secret(&data, verifier.secret())
                    .map_err(|e| {
                        fatal(SqlState::ProtocolViolation, format!("malformed SCRAM message: {e}"))
                    })?;
                *self.auth.lock() = AuthStage::ServerFirstSent(Box::new(waiting));
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASLContinue(
                        server_first.into(),
                    )))
                    .await?;
                Ok(())
            }
            AuthStage::ServerFirstSent(waiting) => {
                let last = message.into_sasl_response().map_err(|_| {
                    fatal(SqlState::ProtocolViolation, "expected a SASLResponse message".into())
                })?;
                let server_final =
                    waiting.on_client_final_message(&last.data).map_err(|_| failed())?;
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASLFinal(
                        server_final.into(),
                    )))
                    .await?;
                self.start_session(client).await
            }
            AuthStage::Start => {
                Err(fatal(SqlState::ProtocolViolation, "unexpected password message".into()))
            }
        }
    }
}

const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let startup = match message {
            PgWireFrontendMessage::Startup(startup) => startup,
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let Some(credentials) = self.shared.config.credentials.clone() else {
                    return Err(fatal(
                        SqlState::ProtocolViolation,
                        "no password was asked for".into(),
                    ));
                };
                return self.scram_step(client, &credentials, password).await;
            }
            _ => return Ok(()),
        };
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);
        let active = self.shared.databases.session_count();
        if active >= self.shared.config.max_connections {
            return Err(fatal(
                SqlState::TooManyConnections,
                "sorry, too many clients already".into(),
            ));
        }
        if self.shared.config.credentials.is_none() {
            return self.start_session(client).await;
        }
        *self.auth.lock() = AuthStage::MechanismsSent;
        client.set_state(PgWireConnectionState::AuthenticationInProgress);
        client
            .send(PgWireBackendMessage::Authentication(Authentication::SASL(vec![
                SCRAM_SHA_256.to_string(),
            ])))
            .await?;
        Ok(())
    }
}

fn rand_secret() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[async_trait]
impl CancelHandler for Connection {
    async fn on_cancel_request(&self, cancel: CancelRequest) {
        let target = self.shared.cancel_keys.lock().get(&cancel.pid).copied();
        // pgwire decodes the key as bytes (protocol 3.2 keys are variable length).
        let matches = |secret: i32| match &cancel.secret_key {
            SecretKey::I32(k) => *k == secret,
            SecretKey::Bytes(k) => k[..] == secret.to_be_bytes(),
        };
        if let Some((secret, session_id)) = target
            && matches(secret)
        {
            self.shared.databases.cancel_session(session_id);
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.set_state(PgWireConnectionState::QueryInProgress);
        let ran = self.run(Request::Simple(query.query)).await?;
        let results = ran.results;
        for r in results {
            match r {
                Ok(Outcome::Rows { columns, rows, tag }) => {
                    let fields = field_infos(&columns, &Format::UnifiedText);
                    let description =
                        RowDescription::new(fields.iter().map(FieldDescription::from).collect());
                    client.feed(PgWireBackendMessage::RowDescription(description)).await?;
                    for row in encode_rows(&columns, rows, &Format::UnifiedText) {
                        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                    }
                    client.feed(PgWireBackendMessage::CommandComplete(tag_of(&tag).into())).await?;
                }
                Ok(Outcome::Command(tag)) => {
                    client.feed(PgWireBackendMessage::CommandComplete(tag_of(&tag).into())).await?;
                }
                Ok(Outcome::Empty) => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()))
                        .await?;
                }
                Ok(Outcome::CopyOut { columns, data, tag }) => {
                    feed_copy_out(client, columns, data).await?;
                    client.feed(PgWireBackendMessage::CommandComplete(tag_of(&tag).into())).await?;
                }
                Ok(Outcome::CopyIn { columns }) => {
                    client
                        .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                            0,
                            columns as i16,
                            vec![0; columns],
                        )))
                        .await?;
                    client.set_state(PgWireConnectionState::CopyInProgress(false));
                    return Ok(());
                }
                Err(e) => {
                    client.feed(PgWireBackendMessage::ErrorResponse(error_info(e).into())).await?;
                }
            }
        }
        // Notifications a commit of this query delivered (to this session too) go before
        // ReadyForQuery, as PostgreSQL sends them.
        for n in self.pending_notifications() {
            let message = NotificationResponse::new(n.pid as i32, n.channel, n.payload);
            client.feed(PgWireBackendMessage::NotificationResponse(message)).await?;
        }
        let status = wire_status(ran.status);
        client.set_transaction_status(status);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status))).await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(user_error(SqlError::new(
            SqlState::InternalError,
            "simple queries go through on_query",
        )))
    }
}

/// COPY TO STDOUT's messages before its CommandComplete: CopyOutResponse (text format), one
/// CopyData per line (as PostgreSQL sends them), CopyDone.
async fn feed_copy_out<C>(client: &mut C, columns: usize, data: Vec<Vec<u8>>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let response = CopyOutResponse::new(0, columns as i16, vec![0; columns]);
    client.feed(PgWireBackendMessage::CopyOutResponse(response)).await?;
    for line in data {
        client.feed(PgWireBackendMessage::CopyData(CopyData::new(line.into()))).await?;
    }
    client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
    Ok(())
}

fn error_info(e: SqlError) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".into(), e.code.code().into(), e.message);
    info.detail = e.detail;
    if let Some(object) = e.object {
        info.schema = object.schema;
        info.table = object.table;
        info.column = object.column;
        info.constraint = object.constraint;
    }
    info
}

/// Parses statements for the extended protocol: binds them in the session so Describe knows
/// parameter and result types.
pub struct Parser {
    session: Arc<Mutex<Option<Session>>>,
    activity: Arc<AtomicU64>,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let declared: Vec<Option<SqlType>> =
            types.iter().map(|t| t.as_ref().and_then(SqlType::from_pg_type)).collect();
        self.activity.fetch_add(1, Ordering::SeqCst);
        let session = self.session.clone();
        let sql = sql.to_string();
        // Parsing and planning never wait: done here, without a thread hop.
        let mut guard = session.lock();
        let s = guard.as_mut().ok_or_else(session_gone)?;
        s.parse(&sql, &declared).map(Some).map_err(user_error)
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.iter().map(|t| t.pg_type()).collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(field_infos(&stmt.columns, format.unwrap_or(&Format::UnifiedText)))
    }
}

fn decode_params(portal: &Portal<Arc<Prepared>>) -> Result<Vec<Value>, SqlError> {
    let stmt = &portal.statement.statement;
    let mut out = Vec::with_capacity(portal.parameters.len());
    if portal.parameters.len() != stmt.param_types.len() {
        return Err(SqlError::new(
            SqlState::ProtocolViolation,
            format!(
                "bind message supplies {} parameters, but prepared statement requires {}",
                portal.parameters.len(),
                stmt.param_types.len()
            ),
        ));
    }
    for (i, p) in portal.parameters.iter().enumerate() {
        let ty = stmt.param_types[i];
        out.push(match p {
            None => Value::Null,
            Some(bytes) if portal.parameter_format.is_binary(i) => decode_binary(bytes, ty)?,
            Some(bytes) => {
                let s = std::str::from_utf8(bytes).map_err(|_| {
                    SqlError::new(
                        SqlState::CharacterNotInRepertoire,
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })?;
                parse_text(s, ty)?
            }
        });
    }
    Ok(out)
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Arc<Prepared>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(Parser { session: self.session.clone(), activity: self.activity.clone() })
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let r = self._on_execute(&mut Deferred(client), message).await;
        client.set_transaction_status(self.status());
        // COPY FROM STDIN began: the client sends its data only once it has CopyInResponse,
        // and the Sync it sent ahead is ignored during the copy, so flush now.
        if matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.flush().await?;
        }
        r
    }

    /// pgwire's Sync, with the parameter statuses that changed (a replica's session token,
    /// after nearly every request) fed before ReadyForQuery, as PostgreSQL orders them, so they
    /// share its write. Measured: sent on their own after it, they cost a replica's leader one
    /// more `write` per request (~2% of its CPU under pgbench's TPC-B).
    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(DEFAULT_NAME);
        for (name, value) in self.changed_parameters() {
            let status = pgwire::messages::startup::ParameterStatus::new(name, value);
            client.feed(PgWireBackendMessage::ParameterStatus(status)).await?;
        }
        let ready = ReadyForQuery::new(client.transaction_status());
        client.send(PgWireBackendMessage::ReadyForQuery(ready)).await?;
        Ok(())
    }

    // Parse, Bind, Describe and Close replies are buffered until Sync (see `batch`); these
    // are pgwire's default handlers with `feed` where they `send`.

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_owned());
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(stmt) => client.portal_store().put_statement(Arc::new(stmt)),
            None => client.portal_store().put_empty_statement(&name),
        }
        client.feed(PgWireBackendMessage::ParseComplete(ParseComplete::new())).await?;
        Ok(())
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let portal = Portal::try_new(&message, statement)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) => {
                if !message.parameters.is_empty() {
                    return Err(user_error(SqlError::new(
                        SqlState::ProtocolViolation,
                        format!(
                            "bind message supplies {} parameters, but prepared statement \"{statement_name}\" requires 0",
                            message.parameters.len()
                        ),
                    )));
                }
                client.portal_store().put_empty_portal(portal_name);
            }
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        }
        client.feed(PgWireBackendMessage::BindComplete(BindComplete::new())).await?;
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A SQL cursor (DECLARE) is a portal too, as in PostgreSQL: psycopg describes its
        // server-side cursors by name.
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(name).is_none()
        {
            let columns = self.session.lock().as_ref().and_then(|s| s.cursor_columns(name));
            if let Some(columns) = columns {
                let fields = field_infos(&columns, &Format::UnifiedText);
                let message = match fields.is_empty() {
                    true => PgWireBackendMessage::NoData(NoData::new()),
                    false => PgWireBackendMessage::RowDescription(RowDescription::new(
                        fields.iter().map(FieldDescription::from).collect(),
                    )),
                };
                Deferred(client).feed(message).await?;
                return Ok(());
            }
        }
        self._on_describe(&mut Deferred(client), message).await
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => client.portal_store().rm_statement(name),
            TARGET_TYPE_BYTE_PORTAL => client.portal_store().rm_portal(name),
            _ => {}
        }
        client.feed(PgWireBackendMessage::CloseComplete(CloseComplete::new())).await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = portal.statement.statement.clone();
        let params = decode_params(portal);
        let mut ran = self.run(Request::Prepared(prepared, params)).await?;
        let result = ran.results.pop().unwrap_or(Ok(Outcome::Empty));
        let format = portal.result_column_format.clone();
        match result {
            Ok(Outcome::Rows { columns, rows, tag }) => {
                Ok(Response::Query(query_response(&columns, rows, &tag, &format)))
            }
            Ok(Outcome::Command(tag)) => Ok(Response::Execution(tag_of(&tag))),
            Ok(Outcome::Empty) => Ok(Response::EmptyQuery),
            Ok(Outcome::CopyOut { columns, data, tag }) => {
                // CopyOutResponse, the data and CopyDone go out here; pgwire then sends the
                // tag's CommandComplete (its own CopyOut response would count a header line
                // as a row).
                feed_copy_out(client, columns, data).await?;
                Ok(Response::Execution(tag_of(&tag)))
            }
            // pgwire sends CopyInResponse and takes the data as in the simple protocol; after
            // CopyDone it waits for the client's Sync.
            Ok(Outcome::CopyIn { columns }) => {
                Ok(Response::CopyIn(CopyResponse::new(0, columns, stream::empty())))
            }
            Err(e) => {
                client.set_transaction_status(wire_status(ran.status));
                Err(user_error(e))
            }
        }
    }
}

#[async_trait]
impl CopyHandler for Connection {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.activity.fetch_add(1, Ordering::SeqCst);
        self.session.lock().as_mut().ok_or_else(session_gone)?.copy_data(&data.data);
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let generation = self.activity.fetch_add(1, Ordering::SeqCst) + 1;
        let ran = self.with_session(|s| s.run(Job::CopyDone)).await?;
        let mut ran = self.finish(generation, ran).await;
        client.set_transaction_status(wire_status(ran.status));
        let result = ran.results.pop().unwrap_or(Ok(Outcome::Empty));
        match result {
            Ok(Outcome::Command(tag)) => {
                client.feed(PgWireBackendMessage::CommandComplete(tag_of(&tag).into())).await?;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(user_error(e)),
        }
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(s) = self.session.lock().as_mut() {
            s.copy_fail();
        }
        client.set_transaction_status(self.status());
        user_error(SqlError::new(
            SqlState::QueryCanceled,
            format!("COPY from stdin failed: {}", fail.message),
        ))
    }
}
