//! [`Engine`]: what all sessions share: the core database, the SQL schema, the registry of
//! sessions (for introspection and cancel), and DDL.
//!
//! Invariant: the shared schema changes only by a committing transaction's DDL
//! ([`Engine::install_ddl`], under the schema's write lock held across the commit) or by
//! recovery's replay; DDL itself is in `ddl.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::catalog::TableId;
use crate::durable::{
    CatalogCut, CheckpointReport, DataFiles, DurableCatalog, DurableOptions, RecoveryReport,
};
use crate::error::Error;
use crate::sql::databases::DatabaseRegistry;
use crate::sql::error::SqlError;
use crate::sql::schema::{Schema, SequenceSchema, TableSchema, ViewSchema, next_schema_version};
use crate::types::Row;

/// A committing transaction's schema changes, by name (`None`: dropped), for
/// [`Engine::install_ddl`].
pub(crate) struct DdlChanges<'a> {
    pub tables: &'a HashMap<String, Option<Arc<TableSchema>>>,
    pub sequences: &'a HashMap<String, Option<Arc<SequenceSchema>>>,
    pub views: &'a HashMap<String, Option<Arc<ViewSchema>>>,
    pub types: &'a HashMap<String, Option<&'static crate::sql::types::enums::EnumType>>,
}

/// How the text of a sequence's high-water mark in the log begins (see
/// `Engine::next_value`); an ALTER SEQUENCE ... RESTART WITH the mark follows.
pub(crate) const SEQUENCE_MARK: &str = "/* isola: sequence high-water mark */ ";

/// How the text of a `setval` in the log begins: the sequence restarts at the value that
/// follows (exactly, not only upwards).
pub(crate) const SEQUENCE_SET: &str = "/* isola: sequence set */ ";

/// How many values past the one handed out a sequence's logged high-water mark is set.
const SEQUENCE_LOG_AHEAD: i64 = 32;

/// The log record of a sequence's high-water mark (replayed by raising the sequence to it).
pub(crate) fn sequence_mark(name: &str, mark: i64) -> DdlRecord {
    DdlRecord {
        text: format!(
            "{}ALTER SEQUENCE \"{}\" RESTART WITH {mark}",
            SEQUENCE_MARK,
            name.replace('"', "\"\"")
        ),
        created_table: None,
    }
}
use crate::txn::{Database, IsolationLevel, TxnId};
use crate::wal::DdlRecord;
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
    /// Its rows of `pg_prepared_statements` and `pg_cursors` (each session sees its own).
    pub object_rows: Option<Arc<(Vec<Row>, Vec<Row>)>>,
}

/// Shared state of the SQL layer.
pub struct Engine {
    pub db: Database,
    /// The committed schema (see `Engine::install_ddl`).
    pub schema: RwLock<Arc<Schema>>,
    pub sessions: Mutex<HashMap<u32, Activity>>,
    /// LISTEN / NOTIFY: channels, queued notifications, mailboxes.
    pub notifications: crate::sql::notify::Notifications,
    /// Advisory locks (`pg_advisory_lock` and family).
    pub advisory: crate::sql::advisory::AdvisoryLocks,
    /// Every DDL statement that shaped the schema, in order, with the table ids they created
    /// in this process: what a checkpoint persists of the schema.
    pub(crate) ddl_history: Mutex<Vec<DdlRecord>>,
    /// Recovery: sequence high-water marks met before the CREATE they belong to.
    pub(crate) pending_marks: Mutex<HashMap<String, i64>>,
    /// One sequence high-water mark written at a time.
    sequence_marks: Mutex<()>,
    /// currval: the value each session's nextval last gave, per sequence.
    currvals: Mutex<HashMap<(u32, String), i64>>,
    /// The data directory's files, when the engine is durable (see `crate::durable`).
    files: Mutex<Option<Arc<DataFiles>>>,
    /// This engine's replica, when it is a member of a Raft group (`isola serve --node-id`).
    replica: std::sync::OnceLock<Arc<crate::replication::ReplicaNode>>,
    /// The server's databases, when a server runs this engine ([`Engine::set_databases`]).
    databases: std::sync::OnceLock<std::sync::Weak<dyn DatabaseRegistry>>,
}

/// Session ids ("backend pids") are unique in the process, across the engines of all
/// databases, so that a pid names one session for cancel requests and the activity views.
static NEXT_SESSION_ID: AtomicU32 = AtomicU32::new(1);

impl Engine {
    pub fn new(db: Database) -> Arc<Engine> {
        Arc::new(Engine {
            db,
            schema: RwLock::new(Arc::new(Schema::default())),
            sessions: Mutex::new(HashMap::new()),
            notifications: Default::default(),
            advisory: Default::default(),
            ddl_history: Mutex::new(Vec::new()),
            pending_marks: Mutex::new(HashMap::new()),
            sequence_marks: Mutex::new(()),
            currvals: Mutex::new(HashMap::new()),
            files: Mutex::new(None),
            replica: std::sync::OnceLock::new(),
            databases: std::sync::OnceLock::new(),
        })
    }

    /// Joins this engine to a server's databases (once; later calls change nothing).
    pub fn set_databases(&self, registry: std::sync::Weak<dyn DatabaseRegistry>) {
        let _ = self.databases.set(registry);
    }

    /// The server's databases, if a server runs this engine.
    pub fn databases(&self) -> Option<Arc<dyn DatabaseRegistry>> {
        self.databases.get().and_then(std::sync::Weak::upgrade)
    }

    /// The schema every transaction without DDL of its own plans against (a transaction
    /// that changed the schema sees it with its changes laid over: `Session::schema`).
    pub fn shared_schema(&self) -> Arc<Schema> {
        self.schema.read().clone()
    }

    /// The shared schema unless a DDL commit holds its lock (until its record is durable:
    /// on a replica, a majority round or more): for a connection's task, which must not
    /// block.
    pub fn try_shared_schema(&self) -> Option<Arc<Schema>> {
        self.schema.try_read().map(|s| s.clone())
    }

    /// Makes a committing transaction's schema changes everyone's: called with the schema's
    /// write lock held from before the commit was decided (so no statement plans against the
    /// old definitions of what it changed once its locks are gone) until now.
    pub(crate) fn install_ddl(
        &self,
        schema: &mut Arc<Schema>,
        changes: DdlChanges<'_>,
        records: &[DdlRecord],
    ) {
        let shared = Arc::make_mut(schema);
        for (name, view) in changes.views {
            match view {
                Some(v) => shared.views.insert(name.clone(), v.clone()),
                None => shared.views.remove(name),
            };
        }
        for (name, ty) in changes.types {
            match ty {
                Some(t) => shared.types.insert(name.clone(), t),
                None => shared.types.remove(name),
            };
        }
        let sequences = changes.sequences;
        for (name, table) in changes.tables {
            match table {
                Some(t) => shared.tables.insert(name.clone(), t.clone()),
                None => shared.tables.remove(name),
            };
        }
        for (name, seq) in sequences {
            match seq {
                Some(s) => shared.sequences.insert(name.clone(), s.clone()),
                None => shared.sequences.remove(name),
            };
        }
        shared.version = next_schema_version();
        self.ddl_history.lock().extend(records.iter().cloned());
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

    /// Opens the data directory `dir` of a Raft group member (see `replication`): its newest
    /// checkpoint, then Raft, which re-applies the committed entries after it and forms or
    /// rejoins the group. Runs on a tokio runtime. `restart` re-executes the process.
    pub async fn open_replica(
        dir: &std::path::Path,
        options: DurableOptions,
        cluster: crate::replication::ClusterOptions,
        restart: Box<dyn Fn() + Send + Sync>,
    ) -> crate::Result<Arc<Engine>> {
        let lock = crate::durable::lock_data_dir(dir)?;
        let engine = Engine::new(Database::with_options(options.database.clone()));
        let node = crate::replication::ReplicaNode::start(
            engine.clone(),
            Arc::new(OsStorage),
            dir,
            Some(lock),
            cluster,
            restart,
        )
        .await?;
        *engine.files.lock() = Some(node.files());
        let _ = engine.replica.set(node);
        Ok(engine)
    }

    /// This engine's replica, if it is a member of a Raft group.
    pub fn replica(&self) -> Option<&Arc<crate::replication::ReplicaNode>> {
        self.replica.get()
    }

    /// Writes a checkpoint now and removes the log it makes unnecessary.
    pub fn checkpoint(&self) -> crate::Result<CheckpointReport> {
        let files = self.files.lock().clone().ok_or_else(|| {
            Error::InvalidInput(
                "CHECKPOINT needs a durable database (this one is in memory)".into(),
            )
        })?;
        if let Some(replica) = self.replica() {
            // A replica's checkpoint is a Raft snapshot: it carries the consensus state.
            replica.trigger_snapshot();
            return Ok(CheckpointReport {
                path: files.dir().join("checkpoint"),
                rows: 0,
                evicted: 0,
                removed_segments: 0,
                elapsed: std::time::Duration::ZERO,
            });
        }
        crate::durable::checkpoint_now(self, &files)
    }

    /// Whether this engine writes a log (not `--memory`).
    pub fn is_durable(&self) -> bool {
        self.files.lock().is_some()
    }

    /// Registers a new session and returns its id (its "backend pid").
    /// The row- and table-lock waits between sessions: each waiting session with the sessions
    /// whose transactions it waits for (what advisory locks add to their deadlock search).
    pub fn session_lock_waits(&self) -> std::collections::HashMap<u32, Vec<u32>> {
        let edges = self.db.lock_wait_edges();
        if edges.is_empty() {
            return Default::default();
        }
        let session_of: std::collections::HashMap<TxnId, u32> =
            self.sessions.lock().iter().filter_map(|(&id, a)| a.txn.map(|t| (t, id))).collect();
        edges
            .into_iter()
            .filter_map(|(waiter, blockers)| {
                let waiter = *session_of.get(&waiter)?;
                let blockers = blockers.iter().filter_map(|b| session_of.get(b).copied());
                Some((waiter, blockers.collect()))
            })
            .collect()
    }

    pub fn register_session(&self, user: &str, database: &str, application_name: &str) -> u32 {
        let id = NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed);
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
        self.currvals.lock().retain(|(session, _), _| *session != id);
    }

    /// The next value of a sequence for a session. Before a value at or beyond the last
    /// high-water mark is handed out, a new mark some values ahead is set and written to the
    /// log (waited for when `durable`: an explicit nextval's value may reach the client
    /// without any commit; a serial column's value is covered by its row's commit record,
    /// which follows the mark in the log).
    pub(crate) fn next_value(
        &self,
        seq: &SequenceSchema,
        session: u32,
        durable: bool,
    ) -> Result<i64, SqlError> {
        if let Some(reason) = self.db.standby_reason()
            && self.replica().is_some()
        {
            return Err(SqlError::new(
                crate::error::SqlState::ReadOnlySqlTransaction,
                format!("cannot execute nextval() on a replica that is not the leader: {reason}"),
            ));
        }
        let value = seq.advance()?;
        if session != 0 {
            self.currvals.lock().insert((session, seq.name.clone()), value);
        }
        let Some(log) = self.db.log() else { return Ok(value) };
        let beyond = |logged: i64| if seq.increment > 0 { value >= logged } else { true };
        if !beyond(seq.logged.load(Ordering::SeqCst)) {
            return Ok(value);
        }
        let _one = self.sequence_marks.lock();
        if !beyond(seq.logged.load(Ordering::SeqCst)) {
            return Ok(value);
        }
        let mark = value.saturating_add(seq.increment.saturating_mul(SEQUENCE_LOG_AHEAD));
        // Set before it is written: a checkpoint that reads the mark after taking its log
        // position keeps it, and one that reads it before replays the record.
        seq.logged.store(mark, Ordering::SeqCst);
        let lsn = log.append(&crate::wal::Record::Ddl(sequence_mark(&seq.name, mark)))?;
        if durable {
            log.wait_durable(lsn)?;
        }
        Ok(value)
    }

    /// setval: the sequence's next value becomes `next`, durably (a restored dump's serial
    /// columns must not hand out a restored key again after a crash).
    pub(crate) fn set_next_value(&self, seq: &SequenceSchema, next: i64) -> Result<(), SqlError> {
        if let Some(reason) = self.db.standby_reason()
            && self.replica().is_some()
        {
            return Err(SqlError::new(
                crate::error::SqlState::ReadOnlySqlTransaction,
                format!("cannot execute setval() on a replica that is not the leader: {reason}"),
            ));
        }
        let _one = self.sequence_marks.lock();
        seq.restart(next);
        let Some(log) = self.db.log() else { return Ok(()) };
        let record = DdlRecord {
            text: format!(
                "{}ALTER SEQUENCE \"{}\" RESTART WITH {next}",
                SEQUENCE_SET,
                seq.name.replace('"', "\"\"")
            ),
            created_table: None,
        };
        let lsn = log.append(&crate::wal::Record::Ddl(record))?;
        log.wait_durable(lsn)?;
        Ok(())
    }

    /// currval: the value nextval last gave this session (55000 if none yet).
    pub(crate) fn current_value(&self, seq: &str, session: u32) -> Result<i64, SqlError> {
        self.currvals.lock().get(&(session, seq.to_string())).copied().ok_or_else(|| {
            SqlError::new(
                crate::error::SqlState::ObjectNotInPrerequisiteState,
                format!("currval of sequence \"{seq}\" is not yet defined in this session"),
            )
        })
    }

    /// lastval: the value nextval last gave this session, of any sequence.
    pub(crate) fn last_value(&self, session: u32) -> Option<i64> {
        // the most recent is not tracked apart: any of this session's is as PostgreSQL's
        // lastval only when one sequence was used; keep it simple and exact for that case
        let currvals = self.currvals.lock();
        let mine: Vec<i64> =
            currvals.iter().filter(|((s, _), _)| *s == session).map(|(_, v)| *v).collect();
        mine.last().copied()
    }

    /// Cancels what a session's transaction waits for, if anything.
    pub fn cancel_session(&self, id: u32) -> bool {
        let txn = self.sessions.lock().get(&id).and_then(|a| a.txn);
        self.advisory.cancel(id) | txn.is_some_and(|t| self.db.cancel(t))
    }

    pub fn schema_version(&self) -> u64 {
        self.schema.read().version
    }
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
        let marked: Vec<Arc<SequenceSchema>> = schema.sequences.values().cloned().collect();
        let cut = CatalogCut {
            ddl_history: self.ddl_history.lock().clone(),
            tables: schema.tables.values().map(|t| t.id).collect(),
            sequences,
            sequence_marks: Box::new(move || {
                marked
                    .iter()
                    .map(|s| {
                        let next = s.last.load(Ordering::SeqCst).saturating_add(s.increment);
                        let logged = s.logged.load(Ordering::SeqCst);
                        let mark = if s.increment > 0 { next.max(logged) } else { next };
                        sequence_mark(&s.name, mark)
                    })
                    .collect()
            }),
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
