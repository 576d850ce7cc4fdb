//! [`Database`]: the shared state of the transactional core and the mechanisms under every
//! level: snapshots, visibility, installing and undoing versions, commit, rollback, lock waits
//! and garbage collection.
//!
//! VERSIONS. A row is a chain of versions, oldest first (see `storage/engine.rs`). A write adds
//! a version at the head tagged with the writer's id and subtransaction; commit stamps the
//! writer's versions with its commit timestamp; rollback pops them. Only the holder of a row's
//! write lock (NO KEY UPDATE or UPDATE, kept to the end of the transaction) adds versions to it,
//! so a chain has at most one uncommitted writer, at its head: dirty writes are impossible.
//!
//! SNAPSHOTS. Commits are serialised under the database mutex and numbered; a snapshot is the
//! number of the last commit. A version is visible to snapshot `s` of transaction `t` when `t`
//! wrote it, or when it committed at or before `s`. The newest visible version is the one read.
//! Read Uncommitted reads the head whatever its state. Read Committed takes a snapshot per
//! statement, the others one per transaction, at its first statement.
//!
//! EARLY LOCK RELEASE. A commit is decided when its record is appended to the log: its
//! versions are stamped with its timestamp and its locks released then, before the record is
//! durable, so the next writer of a hot row need not wait for this commit's fsync. It becomes
//! *visible* (`last_commit` reaches it) only once durable, in timestamp order: a Read
//! Committed statement's snapshot never includes a commit a crash could still undo. A
//! transaction snapshot (Repeatable Read, Serializable) includes every decided commit
//! (`next_commit`), pending ones too: one taken below a decided commit could only fail on the
//! rows that commit wrote, so it would be doomed where it now waits. A transaction that meets
//! a pending commit's version through a lock (the newest version of a row it locked), a key
//! check, or a snapshot that includes it notes the commit ([`Inner::note_met`]) and from then
//! on (a) its snapshots include that commit, so it never reads from before something it built
//! on, and (b) each answer the SQL layer gives waits until what it met is visible
//! (`Transaction::answer_wait`). A first-updater-wins failure (40001) does not meet the
//! version it lost to: it shows nothing of it, so it answers at once. A statement whose answer
//! cannot show what it met - a point UPDATE or DELETE by primary key without RETURNING that
//! met an updated row, the row existing before and after - answers at once: that is what lets
//! a hot row change hands at memory speed. Writers need nothing more: the log is durable in
//! order, so a commit built on a pending one is never acknowledged before it.
//!
//! CONCURRENCY. All state is under one mutex (`Inner`); critical sections are short and in
//! memory. A transaction that must wait (row lock, DEFERRABLE) sleeps on its own condition
//! variable, releasing the mutex; whoever changes what it waits for signals it.
//!
//! SAFE SNAPSHOTS (replication). A commit position is a *safe snapshot* when no serializable
//! read-write transaction was running on the leader there: one registered with SSI (it took
//! its snapshot), not declared READ ONLY, not doomed, and neither committed nor aborted, the
//! committing one itself aside. A read-only transaction whose snapshot is exactly such a
//! state cannot take part in a serialization anomaly (Ports & Grittner 2012, safe snapshots;
//! PostgreSQL's SERIALIZABLE READ ONLY DEFERRABLE): every transaction it could be concurrent
//! with started after that state. The leader decides it for each commit record under this
//! mutex and hands it to the log with the record ([`Log::append_commit_rows`]); when its last
//! serializable writer ends without a record (a rollback, a commit that wrote nothing) after
//! an unsafe record, it ships a marker ([`Log::append_safe_marker`]), so an idle leader does
//! not leave its followers at an unsafe position. A standby learns it as it applies the
//! entries ([`Database::mark_safe_snapshot`]: the state now is safe; a replicated commit moves
//! the state on, unmarked). There a SERIALIZABLE READ ONLY DEFERRABLE transaction takes its
//! snapshot only when the current state is marked safe, waiting (bounded) for one.
//!
//! GARBAGE COLLECTION. Each commit records the rows it wrote with its commit timestamp. When
//! the oldest active snapshot (the watermark) reaches that timestamp, versions older than the
//! newest one visible at the watermark can be seen by no one and are dropped, with the index
//! entries only they had; a row whose only remaining version is a deletion goes entirely. A
//! background thread does this periodically, and commits do it inline when much is pending.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::locks::{LockMode, LockTable, LockTarget, Request, WaitEdge, WaitPolicy, Wakeup};
use super::ssi::Ssi;
use super::trace::LockWaitTrace;
use super::transaction::Transaction;
use crate::catalog::{Catalog, IndexId, KeySpace, TableId};
use crate::error::{Error, Result};
use crate::storage::{CommitTs, MemoryStore, SubTxnId, TxnId, Version, VersionChain, VersionStore};
use crate::types::{Key, PackedRow, Row};
use crate::wal::{Log, Lsn};

/// A standby: how long a serializable transaction waits for a safe snapshot unless told.
pub const DEFAULT_SAFE_SNAPSHOT_WAIT: Duration = Duration::from_secs(1);

/// Pending garbage entries above which a commit collects inline.
const INLINE_GC_THRESHOLD: usize = 8192;

/// The four standard isolation levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IsolationLevel {
    /// Reads see uncommitted writes (a real dirty read); dirty writes are still prevented.
    ReadUncommitted,
    /// PostgreSQL's Read Committed: a snapshot per statement; writes re-check the newest version.
    ReadCommitted,
    /// Snapshot isolation with first-updater-wins.
    RepeatableRead,
    /// Serializable Snapshot Isolation.
    Serializable,
}

impl IsolationLevel {
    /// The SQL name.
    pub fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read uncommitted",
            IsolationLevel::ReadCommitted => "read committed",
            IsolationLevel::RepeatableRead => "repeatable read",
            IsolationLevel::Serializable => "serializable",
        }
    }

    /// Whether the level keeps one snapshot for the whole transaction.
    pub fn transaction_snapshot(self) -> bool {
        self >= IsolationLevel::RepeatableRead
    }
}

/// How a transaction begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnOptions {
    pub level: IsolationLevel,
    pub read_only: bool,
    /// With SERIALIZABLE READ ONLY: wait for a snapshot that can never fail with 40001.
    pub deferrable: bool,
    /// The caller runs a statement again from the start when a step fails with
    /// [`crate::Error::RestartStatement`]: at Repeatable Read and Serializable, a conflict in
    /// the statement that took the snapshot, before anything was written or shown, then
    /// replaces the snapshot instead of failing with 40001 (see `Transaction::finish_statement`).
    pub restartable_statements: bool,
}

impl TxnOptions {
    pub fn new(level: IsolationLevel) -> Self {
        TxnOptions { level, read_only: false, deferrable: false, restartable_statements: false }
    }

    pub fn restartable_statements(mut self) -> Self {
        self.restartable_statements = true;
        self
    }

    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    pub fn deferrable(mut self) -> Self {
        self.deferrable = true;
        self
    }
}

/// Settings of a database.
#[derive(Clone, Debug)]
pub struct DatabaseOptions {
    /// How often the background garbage collector runs; `None`: only inline and on demand.
    pub gc_interval: Option<Duration>,
    /// Fine SIREAD locks one transaction may hold in one table before they are promoted to a
    /// relation lock.
    pub max_siread_locks_per_relation: usize,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            gc_interval: Some(Duration::from_millis(100)),
            max_siread_locks_per_relation: 64,
        }
    }
}

pub use crate::wal::CommitBatch;

/// A hook called under the commit order with each batch before it becomes visible.
pub type CommitHook = Box<dyn FnMut(&CommitBatch) -> Result<()> + Send>;

/// One row lock held or waited for (see [`Database::lock_rows`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRow {
    pub txn: TxnId,
    /// What is locked: a row (`accounts(id=7)`), a table (`table accounts`) or a relation
    /// name being created (`relation name "t"`).
    pub row: String,
    pub mode: LockMode,
    /// The mode as PostgreSQL names it for this kind of target (`FOR UPDATE`,
    /// `ACCESS EXCLUSIVE`).
    pub mode_name: &'static str,
    pub granted: bool,
}

/// Counters of the core's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub versions: usize,
    pub active_transactions: usize,
    pub lock_entries: usize,
    pub ssi_transactions: usize,
    pub siread_locks: usize,
    pub garbage_pending: usize,
}

/// A handle to a database; cheap to clone and share between threads.
#[derive(Clone)]
pub struct Database {
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
}

/// One write a transaction made: a version it pushed onto a chain.
#[derive(Debug)]
pub(super) struct WriteRecord {
    pub table: TableId,
    pub key: Key,
    pub subtxn: SubTxnId,
}

/// A row-lock wait left to an async task (see `ActiveTxn::task_wakeup`).
#[derive(Clone, Debug)]
pub(super) struct TaskWait {
    pub lock_deadline: Option<Instant>,
    pub statement_deadline: Option<Instant>,
    /// For the lock-timeout error: who waited how long for what.
    pub detail: String,
}

/// A running transaction's state.
pub(super) struct ActiveTxn {
    pub level: IsolationLevel,
    pub read_only: bool,
    pub deferrable: bool,
    pub restartable_statements: bool,
    pub snapshot: Option<CommitTs>,
    /// Registered with SSI (again only after its snapshot was dropped unobserved).
    pub ssi_registered: bool,
    /// A statement that ran with the transaction snapshot has finished, so what it read may
    /// have reached the client: the snapshot can no longer be replaced by a newer one.
    pub snapshot_observed: bool,
    /// How many times the snapshot was dropped unobserved for a restart of the statement.
    pub snapshot_refreshes: u32,
    /// The newest commit not yet durable whose versions this transaction met (read, locked,
    /// built on, or was refused by): its later snapshots include it, and its answers wait for
    /// it to be visible (see "EARLY LOCK RELEASE" above). 0: none.
    pub observed: CommitTs,
    /// The same for the running statement, counting only meetings whose outcome an answer
    /// without rows could show: see [`Inner::note_met`]. Cleared when its answer is settled.
    pub met_revealing: CommitTs,
    /// Set with `observed` and never cleared: the [`Transaction`] looks here without the
    /// mutex to learn whether its answers may need to wait at all.
    pub met_pending: Arc<std::sync::atomic::AtomicBool>,
    pub subtxn: SubTxnId,
    pub next_subtxn: SubTxnId,
    pub savepoints: Vec<(String, SubTxnId)>,
    pub writes: Vec<WriteRecord>,
    /// A statement failed: everything fails until rollback (or rollback to a savepoint).
    pub failed: bool,
    pub lock_timeout: Option<Duration>,
    /// When the running statement must give up waiting (statement_timeout).
    pub statement_deadline: Option<Instant>,
    /// A cancel request arrived: the current (or next) wait ends with 57014.
    pub cancel_requested: bool,
    /// Set while the server runs a statement on an async task: a row-lock wait is queued with
    /// this task's wakeup and the step fails at once with [`Error::WouldWait`]; the task then
    /// awaits the wait's end and runs the statement again (see `Transaction::wait_as_task`).
    pub task_wakeup: Option<Arc<tokio::sync::Notify>>,
    /// The row-lock wait queued for the task: its deadlines and what it waits for.
    pub task_wait: Option<TaskWait>,
    pub signal: Arc<Condvar>,
    /// Waiting for a safe snapshot (DEFERRABLE).
    pub deferring: bool,
    /// A standby: how long a serializable transaction may wait for a safe snapshot (see SAFE
    /// SNAPSHOTS); `None`: [`DEFAULT_SAFE_SNAPSHOT_WAIT`].
    pub safe_snapshot_wait: Option<Duration>,
    /// The schema changes it made, logged with its commit (see [`CommitBatch`]).
    pub ddl: Vec<crate::wal::DdlRecord>,
    /// The running statement's trace, while EXPLAIN ANALYZE runs it (see `trace.rs`).
    pub trace: Option<Box<super::trace::StatementTrace>>,
}

/// The state under the database mutex.
pub(super) struct Inner {
    pub store: Box<dyn VersionStore>,
    pub catalog: Catalog,
    pub next_txn: TxnId,
    pub last_commit: CommitTs,
    pub active: HashMap<TxnId, ActiveTxn>,
    pub locks: LockTable,
    pub ssi: Ssi,
    pub garbage: VecDeque<(CommitTs, TableId, Key)>,
    pub versions: usize,
    /// The snapshot of the last checkpoint written into the on-disk base (0: none).
    pub base_ts: CommitTs,
    /// Index entries built by CREATE INDEX / ADD PRIMARY KEY / ADD UNIQUE so far (a rolled
    /// back build counts too): what replaying those statements from the log would build again.
    pub index_entries_built: u64,
    pub commit_hook: Option<CommitHook>,
    /// The write-ahead log commits are appended to; `None`: in memory only.
    pub log: Option<Arc<Log>>,
    /// The last commit timestamp handed out (`>= last_commit`: the ones in between are
    /// waiting for their log record to be durable).
    pub next_commit: CommitTs,
    /// Commits whose record is in the log but not yet visible, in commit order.
    pub pending: VecDeque<PendingCommit>,
    /// A replica that is not the leader: why it takes no writes (every transaction is read
    /// only; the database changes only through [`Database::apply_replicated`]).
    pub standby: Option<String>,
    /// A standby: the commit timestamp of the newest state the leader marked a safe snapshot
    /// (see SAFE SNAPSHOTS); the current state is safe when it is `last_commit`.
    pub safe_snapshot_at: Option<CommitTs>,
    /// A leader: the last record it shipped was not marked safe (a marker is owed once no
    /// serializable writer runs).
    pub unsafe_tail: bool,
}

/// Below this many written rows a commit searches for each row's chain.
const ORDERED_PASS_MIN_ROWS: usize = 32;

/// A commit's written keys as runs of one table's ascending keys, in order, when they are
/// many and the runs long (a bulk load, pgbench -i's COPY after its small inserts, a big
/// update in key order): the store then walks each run in one ordered pass
/// ([`VersionStore::visit_chains`]) instead of searching for each key.
fn ascending_runs(keys: &[(TableId, Key)]) -> Option<Vec<(TableId, Vec<&Key>)>> {
    if keys.len() < ORDERED_PASS_MIN_ROWS {
        return None;
    }
    let mut runs: Vec<(TableId, Vec<&Key>)> = Vec::new();
    for (table, key) in keys {
        match runs.last_mut() {
            Some((t, run)) if t == table && run.last().is_some_and(|last| *last < key) => {
                run.push(key)
            }
            _ => runs.push((*table, vec![key])),
        }
        if runs.len() > keys.len() / MIN_AVERAGE_RUN + 1 {
            return None; // keys in no useful order: a search each
        }
    }
    Some(runs)
}

/// [`ascending_runs`] gives up when its runs would average fewer keys than this.
const MIN_AVERAGE_RUN: usize = 64;

/// A commit that has its timestamp and log record, waiting to become visible. Commits become
/// visible strictly in timestamp order, so a snapshot never misses an older commit that shows
/// up later.
pub(super) struct PendingCommit {
    pub txn: TxnId,
    pub ts: CommitTs,
    /// The log position that must be durable first; `None`: none (synchronous_commit = off).
    pub durable_at: Option<Lsn>,
    pub keys: Vec<(TableId, Key)>,
}

/// What a commit needs after the database mutex is released.
pub(super) enum CommitStep {
    /// Visible already (or nothing to make visible).
    Done(Option<CommitTs>),
    /// Wait for the log to be durable up to `lsn`, then publish.
    WaitDurable { ts: CommitTs, lsn: Lsn, log: Arc<Log> },
}

impl Default for Database {
    fn default() -> Self {
        Self::new()
    }
}

impl Database {
    /// An empty in-memory database with default options.
    pub fn new() -> Self {
        Self::with_options(DatabaseOptions::default())
    }

    /// An empty in-memory database.
    pub fn with_options(options: DatabaseOptions) -> Self {
        Self::with_store(Box::new(MemoryStore::new()), options)
    }

    /// A database over a given store (which must be empty).
    pub fn with_store(store: Box<dyn VersionStore>, options: DatabaseOptions) -> Self {
        let inner = Inner {
            store,
            catalog: Catalog::default(),
            base_ts: 0,
            next_txn: 1,
            last_commit: 0,
            active: HashMap::new(),
            locks: LockTable::default(),
            ssi: Ssi::new(options.max_siread_locks_per_relation),
            garbage: VecDeque::new(),
            versions: 0,
            index_entries_built: 0,
            commit_hook: None,
            log: None,
            next_commit: 0,
            pending: VecDeque::new(),
            standby: None,
            safe_snapshot_at: None,
            unsafe_tail: false,
        };
        let db = Database { shared: Arc::new(Shared { inner: Mutex::new(inner) }) };
        if let Some(interval) = options.gc_interval {
            let weak = Arc::downgrade(&db.shared);
            std::thread::Builder::new()
                .name("isola-gc".into())
                .spawn(move || background_gc(weak, interval))
                .expect("spawning the garbage collector");
        }
        db
    }

    /// Creates a table; `primary_key` names some of `columns`.
    pub fn create_table(
        &self,
        name: &str,
        columns: &[&str],
        primary_key: &[&str],
    ) -> Result<TableId> {
        let mut inner = self.shared.inner.lock();
        let id = inner.catalog.create_table(name, columns, primary_key)?;
        inner.store.create_table(id);
        Ok(id)
    }

    /// Creates a table at the id it had where its DDL was logged, if that id is free here (see
    /// `Catalog::create_table_at`), else at a fresh id.
    pub fn create_table_at(
        &self,
        want: TableId,
        name: &str,
        columns: &[&str],
        primary_key: &[&str],
    ) -> Result<TableId> {
        let mut inner = self.shared.inner.lock();
        let known = inner.catalog.table(want).is_ok();
        match inner.catalog.create_table_at(want, name, columns, primary_key)? {
            Some((id, padded)) => {
                for pad in padded {
                    inner.store.create_table(pad);
                }
                if known {
                    inner.store.drop_table(id); // a dropped slot reused: nothing of it stays
                } else {
                    inner.store.create_table(id);
                }
                Ok(id)
            }
            None => {
                drop(inner);
                self.create_table(name, columns, primary_key)
            }
        }
    }

    /// Creates a secondary index and fills it from every existing version. A unique index is
    /// refused (23505) if two live committed rows share a key.
    pub fn create_index(
        &self,
        name: &str,
        table: &str,
        columns: &[&str],
        unique: bool,
    ) -> Result<IndexId> {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        let KeySpace::Table(table) = inner.catalog.lookup(table)? else {
            return Err(Error::InvalidInput(format!("{table} is not a table")));
        };
        let id = inner.catalog.create_index(name, table, columns, unique)?;
        inner.store.create_index(id);
        if let Err(e) = fill_index(inner, table, id, name, unique) {
            inner.catalog.drop_index(id)?;
            inner.store.drop_index(id);
            return Err(e);
        }
        Ok(id)
    }

    /// Drops a table with its indexes and rows. Refused (55006) while a transaction has
    /// uncommitted writes on it.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        let KeySpace::Table(table) = inner.catalog.lookup(name)? else {
            return Err(Error::InvalidInput(format!("{name} is not a table")));
        };
        refuse_if_in_use(inner, table, name)?;
        let indexes = inner.catalog.table(table)?.indexes.clone();
        inner.catalog.drop_table(table)?;
        inner.store.drop_table(table);
        for index in indexes {
            inner.store.drop_index(index);
        }
        Ok(())
    }

    /// Drops a secondary index.
    pub fn drop_index(&self, name: &str) -> Result<()> {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        let KeySpace::Index(index) = inner.catalog.lookup(name)? else {
            return Err(Error::InvalidInput(format!("\"{name}\" is not an index")));
        };
        inner.catalog.drop_index(index)?;
        inner.store.drop_index(index);
        Ok(())
    }

    /// Adds a column at the end of a table. Rows written before have one value fewer; readers
    /// pad them with the column's default.
    pub fn add_column(&self, table: &str, column: &str) -> Result<()> {
        let mut inner = self.shared.inner.lock();
        let KeySpace::Table(id) = inner.catalog.lookup(table)? else {
            return Err(Error::InvalidInput(format!("{table} is not a table")));
        };
        inner.catalog.add_column(id, column)
    }
}

impl Database {
    /// Renames a table (DDL runs under the table's exclusive lock, so no statement is using
    /// the old name).
    pub fn rename_table(&self, from: &str, to: &str) -> Result<()> {
        self.shared.inner.lock().catalog.rename(from, to)
    }

    /// Renames a column (names in messages only: rows are positional).
    pub fn rename_column(&self, table: &str, from: &str, to: &str) -> Result<()> {
        let mut inner = self.shared.inner.lock();
        let KeySpace::Table(id) = inner.catalog.lookup(table)? else {
            return Err(Error::InvalidInput(format!("{table} is not a table")));
        };
        inner.catalog.rename_column(id, from, to)
    }

    /// Takes back the last [`Database::add_column`] of a table (a rolled-back ADD COLUMN:
    /// no committed row has the column).
    pub fn remove_last_column(&self, table: &str) -> Result<()> {
        let mut inner = self.shared.inner.lock();
        let KeySpace::Table(id) = inner.catalog.lookup(table)? else {
            return Err(Error::InvalidInput(format!("{table} is not a table")));
        };
        inner.catalog.remove_last_column(id)
    }
}

fn refuse_if_in_use(inner: &Inner, table: TableId, name: &str) -> Result<()> {
    if inner.active.values().any(|t| t.writes.iter().any(|w| w.table == table)) {
        return Err(Error::ObjectInUse(format!(
            "cannot drop table \"{name}\" because it has uncommitted changes"
        )));
    }
    Ok(())
}

/// Fills a new index from every existing version of its table: gathers the entries, sorts
/// them once and has the store build the index from the sorted run (as PostgreSQL builds a
/// B-tree bottom up) rather than inserting entry by entry. A unique index is refused (23505)
/// if two live committed rows share a key (the smallest such key is named).
fn fill_index(
    inner: &mut Inner,
    table: TableId,
    id: IndexId,
    name: &str,
    unique: bool,
) -> Result<()> {
    let index = inner.catalog.index(id)?.clone();
    // (index key, primary key, whether the row's newest committed version has that key)
    let mut entries: Vec<(Key, Key, bool)> = Vec::new();
    for (pk, chain) in
        inner.store.scan(table, (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded))
    {
        let newest_committed = chain.versions.iter().rposition(|v| v.commit_ts.is_some());
        for (n, version) in chain.versions.iter().enumerate() {
            if let Some(row) = &version.row {
                entries.push((
                    index.key_of_packed(row),
                    pk.clone().into_owned(),
                    Some(n) == newest_committed,
                ));
            }
        }
    }
    entries.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    entries.dedup_by(|later, kept| {
        let same = later.0 == kept.0 && later.1 == kept.1;
        if same {
            kept.2 |= later.2;
        }
        same
    });
    if unique && let Some(key) = first_shared_key(&entries) {
        return Err(Error::UniqueViolation {
            constraint: name.into(),
            detail: format!(
                "Key {} is duplicated.",
                inner.catalog.describe(KeySpace::Index(id), key)
            ),
        });
    }
    let sorted: Vec<(Key, Key)> = entries.into_iter().map(|(key, pk, _)| (key, pk)).collect();
    inner.index_entries_built += sorted.len() as u64;
    inner.store.index_build(id, sorted);
    Ok(())
}

/// In entries sorted by index key: the first key without NULLs that two live rows share.
fn first_shared_key(entries: &[(Key, Key, bool)]) -> Option<&Key> {
    let mut live = entries.iter().filter(|e| e.2 && !e.0.contains(&crate::Value::Null));
    let mut previous = live.next()?;
    for entry in live {
        if entry.0 == previous.0 {
            return Some(&entry.0);
        }
        previous = entry;
    }
    None
}

impl Database {
    /// A table's id by name.
    pub fn table_id(&self, name: &str) -> Result<TableId> {
        match self.shared.inner.lock().catalog.lookup(name)? {
            KeySpace::Table(id) => Ok(id),
            KeySpace::Index(_) => Err(Error::InvalidInput(format!("{name} is an index"))),
        }
    }

    /// A table's definition by name.
    pub fn table(&self, name: &str) -> Result<crate::catalog::TableDef> {
        let inner = self.shared.inner.lock();
        match inner.catalog.lookup(name)? {
            KeySpace::Table(id) => inner.catalog.table(id).map(|t| (**t).clone()),
            KeySpace::Index(_) => Err(Error::InvalidInput(format!("{name} is an index"))),
        }
    }

    /// An index's id by name.
    pub fn index_id(&self, name: &str) -> Result<IndexId> {
        match self.shared.inner.lock().catalog.lookup(name)? {
            KeySpace::Index(id) => Ok(id),
            KeySpace::Table(_) => Err(Error::InvalidInput(format!("{name} is a table"))),
        }
    }

    /// Begins a transaction.
    pub fn begin(&self, options: TxnOptions) -> Transaction {
        let mut inner = self.shared.inner.lock();
        let id = inner.start(options);
        let met_pending = inner.txn(id).met_pending.clone();
        Transaction::new(self.clone(), id, options, met_pending)
    }

    /// Attaches the write-ahead log: from now on every commit with writes is appended to it,
    /// and (with synchronous commit) becomes visible and is acknowledged only once durable.
    /// Recovery replays into the database before attaching.
    pub fn attach_log(&self, log: Arc<Log>) {
        self.shared.inner.lock().log = Some(log);
    }

    /// The attached log, if any.
    pub fn log(&self) -> Option<Arc<Log>> {
        self.shared.inner.lock().log.clone()
    }

    /// Recovery: applies a committed batch read from the log, as a commit at
    /// `batch.commit_ts` (which must not be below the last one applied). No constraint is
    /// checked: the batch was valid when it committed. A table that has no rows and gets only
    /// inserts, keys ascending (a COPY or a bulk INSERT into a new table), is built in bulk as
    /// [`Database::load_committed_rows`] does; the rest goes row by row. Refused once a log is
    /// attached.
    pub fn replay_commit(&self, batch: crate::txn::CommitBatch) -> Result<()> {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        let ts = batch.commit_ts;
        if inner.log.is_some() || ts < inner.last_commit {
            return Err(Error::InvalidInput(format!(
                "cannot replay commit {ts} after {} with a log attached or out of order",
                inner.last_commit
            )));
        }
        for (table, _, _) in &batch.writes {
            inner.catalog.table(*table).map_err(|_| {
                Error::Corrupt(format!("commit {ts} writes to unknown table {table}"))
            })?;
        }
        let in_bulk = tables_to_build_in_bulk(inner, &batch.writes);
        let txn = inner.start(TxnOptions::new(IsolationLevel::ReadCommitted));
        let mut keys = Vec::with_capacity(batch.writes.len());
        let mut bulk: Vec<(TableId, Vec<(Key, PackedRow)>)> =
            in_bulk.iter().map(|&t| (t, Vec::new())).collect();
        for (table, key, row) in batch.writes {
            match (bulk.iter_mut().find(|(t, _)| *t == table), row) {
                (Some((_, rows)), Some(row)) => rows.push((key, PackedRow::pack(&row))),
                (_, row) => {
                    inner.install_version(txn, table, &key, row);
                    keys.push((table, key));
                }
            }
        }
        for (table, rows) in bulk {
            inner.load_rows(txn, table, rows, ts);
        }
        inner.next_commit = inner.next_commit.max(ts);
        inner.stamp(txn, ts, &keys);
        inner.finish(txn);
        inner.publish(PendingCommit { txn, ts, durable_at: None, keys });
        Ok(())
    }

    /// Recovery: loads one table's rows from a checkpoint as a commit at `commit_ts`, in bulk:
    /// into a table without rows, with keys ascending and distinct (a checkpoint writes a
    /// table in key order), the store builds the table's map and each index bottom up instead
    /// of searching for every row. Anything else goes row by row, as [`Database::replay_commit`]
    /// would. Refused once a log is attached.
    pub fn load_committed_rows(
        &self,
        table: TableId,
        rows: Vec<(Key, PackedRow)>,
        commit_ts: CommitTs,
    ) -> Result<()> {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        if inner.log.is_some() || commit_ts < inner.last_commit {
            return Err(Error::InvalidInput(format!(
                "cannot load rows committed at {commit_ts} after {} with a log attached or out of order",
                inner.last_commit
            )));
        }
        if inner.catalog.table(table).is_err() {
            return Err(Error::Corrupt(format!(
                "a checkpoint holds rows of unknown table {table}"
            )));
        }
        let txn = inner.start(TxnOptions::new(IsolationLevel::ReadCommitted));
        inner.load_rows(txn, table, rows, commit_ts);
        inner.next_commit = inner.next_commit.max(commit_ts);
        inner.finish(txn);
        inner.publish(PendingCommit { txn, ts: commit_ts, durable_at: None, keys: Vec::new() });
        Ok(())
    }

    /// Recovery: the largest integer in each of `columns` over every version of every row of
    /// `table` (`None` where a column holds no integer), read in place: no snapshot, no row
    /// copied. Every version counts, not only the visible ones: a sequence raised past them
    /// hands out no value any row ever had.
    pub fn column_maxima(&self, table: TableId, columns: &[usize]) -> Vec<Option<i64>> {
        let guard = self.shared.inner.lock();
        let mut top = vec![None; columns.len()];
        if guard.catalog.table(table).is_err() {
            return top;
        }
        // Rows in the on-disk base were committed before its checkpoint, whose sequence
        // positions cover their values: the rows in memory are the ones to look at.
        for chain in guard.store.resident_chains(table) {
            for row in chain.versions.iter().filter_map(|v| v.row.as_ref()) {
                for (top, &c) in top.iter_mut().zip(columns) {
                    if let crate::types::Value::Int(v) = row.column(c) {
                        *top = Some(top.map_or(v, |t: i64| t.max(v)));
                    }
                }
            }
        }
        top
    }

    /// Replication: applies a commit decided by another replica (or by this one under an
    /// earlier leadership), at this database's next commit timestamp (timestamps are per
    /// replica; the Raft index orders commits across them). Refused while a log is attached:
    /// a leader applies only its own commits, by marking them durable.
    pub fn apply_replicated(&self, batch: &crate::txn::CommitBatch) -> Result<CommitTs> {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        if inner.log.is_some() {
            return Err(Error::InvalidInput(
                "cannot apply a replicated commit while leading (a log is attached)".into(),
            ));
        }
        for (table, _, _) in &batch.writes {
            inner.catalog.table(*table).map_err(|_| {
                Error::Corrupt(format!("a replicated commit writes to unknown table {table}"))
            })?;
        }
        let ts = inner.next_commit + 1;
        let txn = inner.start(TxnOptions::new(IsolationLevel::ReadCommitted));
        let mut keys = Vec::with_capacity(batch.writes.len());
        for (table, key, row) in &batch.writes {
            inner.install_version(txn, *table, key, row.clone());
            keys.push((*table, key.clone()));
        }
        inner.next_commit = ts;
        inner.stamp(txn, ts, &keys);
        inner.finish(txn);
        inner.publish(PendingCommit { txn, ts, durable_at: None, keys });
        Ok(ts)
    }

    /// Replication: this replica starts leading: commits go to `log` (a replicated one) and
    /// transactions may write again. Everything decided before must have been applied.
    pub fn become_primary(&self, log: Arc<Log>) {
        let mut inner = self.shared.inner.lock();
        inner.standby = None;
        inner.log = Some(log);
        inner.unsafe_tail = false; // after a blank, which is safe
        // A transaction waiting for a safe snapshot as a standby's goes on under this SSI.
        inner.wake_deferring();
    }

    /// Replication, a standby: the leader marked the current state (everything applied so far)
    /// a safe snapshot (see SAFE SNAPSHOTS). Wakes the transactions waiting for one.
    pub fn mark_safe_snapshot(&self) {
        let mut inner = self.shared.inner.lock();
        inner.safe_snapshot_at = Some(inner.last_commit);
        inner.wake_deferring();
    }

    /// Replication, a standby: the current state's safety is unknown (a snapshot from the
    /// leader was installed): not safe until the next marked entry.
    pub fn forget_safe_snapshot(&self) {
        self.shared.inner.lock().safe_snapshot_at = None;
    }

    /// Replication, a standby: whether the current state is marked a safe snapshot.
    pub fn is_safe_snapshot(&self) -> bool {
        let inner = self.shared.inner.lock();
        inner.safe_snapshot_at == Some(inner.last_commit)
    }

    /// Replication: this replica stops leading (or never led): `reason` says why it takes no
    /// writes. The attached log fails (its waiting commits get 08007, outcome unknown), the
    /// commits not yet durable are taken back, and every transaction that wrote is ended: its
    /// writes undone and its locks released; its next step fails with 25006 (its session
    /// still rolls it back). Transactions begun from now on are read only.
    pub fn step_down(&self, reason: &str) {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        if let Some(log) = &inner.log {
            log.fail(&format!(
                "the commit's outcome is unknown: this node stopped leading before a majority of \
                 the replicas acknowledged it ({reason})"
            ));
        }
        inner.abandon_pending();
        inner.log = None;
        // Its own commits taken back or not, the state's safety is unknown until the next
        // leadership's blank.
        inner.safe_snapshot_at = None;
        let writers: Vec<TxnId> = inner
            .active
            .iter()
            .filter(|(_, t)| !t.writes.is_empty() || !t.ddl.is_empty() || !t.read_only)
            .map(|(id, _)| *id)
            .collect();
        for id in writers {
            inner.undo_writes_since(id, 0);
            inner.locks.release_all(id);
            let t = inner.txn_mut(id);
            t.ddl.clear();
            t.failed = true;
            t.read_only = true;
            t.cancel_requested = true;
            t.signal.notify_all();
            if let Some(wakeup) = &t.task_wakeup {
                wakeup.notify_one();
            }
        }
        inner.standby = Some(reason.to_string());
    }

    /// Replication: updates why this standby takes no writes (who leads now).
    pub fn set_standby_reason(&self, reason: &str) {
        let mut inner = self.shared.inner.lock();
        if inner.standby.as_deref().is_some_and(|r| r != reason) {
            inner.standby = Some(reason.to_string());
        }
    }

    /// Why this replica takes no writes (`None`: it does, or it is not replicated).
    pub fn standby_reason(&self) -> Option<String> {
        self.shared.inner.lock().standby.clone()
    }

    /// How many index entries schema changes have built since the database started (see
    /// `Inner::index_entries_built`): the checkpointer checkpoints soon after a big build, so
    /// that a restart need not build the index again from the log.
    pub fn index_entries_built(&self) -> u64 {
        self.shared.inner.lock().index_entries_built
    }

    /// The newest commit timestamp visible to a new snapshot.
    pub fn last_commit_ts(&self) -> CommitTs {
        self.shared.inner.lock().last_commit
    }

    /// A replicated log's leader: marks its records up to `lsn` durable and publishes the
    /// commits they hold, then calls `then`, all under the database mutex: a committer woken
    /// by the mark (or a reader) gets the mutex only after both.
    pub fn publish_replicated(&self, log: &Log, lsn: Lsn, then: impl FnOnce()) {
        let mut inner = self.shared.inner.lock();
        log.mark_durable(lsn);
        inner.publish_ready();
        then();
    }

    /// Recovery: commits from now on get timestamps above `ts` (a checkpoint's snapshot
    /// timestamp, which its rows may not reach when tables are empty).
    pub fn advance_commit_ts(&self, ts: CommitTs) {
        let mut inner = self.shared.inner.lock();
        if inner.pending.is_empty() {
            inner.last_commit = inner.last_commit.max(ts);
        }
        inner.next_commit = inner.next_commit.max(ts);
    }

    /// Starts the transaction a checkpoint reads through: Repeatable Read, read only, its
    /// snapshot taken now. Returns it with the snapshot's commit timestamp and the LSN from
    /// which the log holds every commit not in that snapshot.
    pub fn begin_checkpoint(&self) -> (Transaction, CommitTs, Lsn) {
        let mut inner = self.shared.inner.lock();
        self.start_checkpoint_txn(&mut inner)
    }

    /// [`Database::begin_checkpoint`] under a hold of the mutex the caller has.
    fn start_checkpoint_txn(&self, inner: &mut Inner) -> (Transaction, CommitTs, Lsn) {
        let options = TxnOptions::new(IsolationLevel::RepeatableRead).read_only();
        let id = inner.start(options);
        let snapshot = inner.last_commit;
        inner.txn_mut(id).snapshot = Some(snapshot);
        let next = inner.log.as_ref().map(|l| l.next_lsn()).unwrap_or(0);
        // A pending commit's record is before `next` but its writes are not in the snapshot.
        let replay_from = inner
            .pending
            .iter()
            .filter_map(|p| p.durable_at.map(|lsn| lsn - 1))
            .min()
            .unwrap_or(next)
            .min(next);
        let met_pending = inner.txn(id).met_pending.clone();
        (Transaction::new(self.clone(), id, options, met_pending), snapshot, replay_from)
    }

    /// Puts an on-disk base under the store (recovery, before the log is attached): see
    /// `VersionStore::attach_base`. Whether the store takes one.
    pub fn attach_base(
        &self,
        base: Arc<crate::storage::Base>,
        tables: &[(TableId, crate::storage::BaseName)],
        indexes: &[(IndexId, crate::storage::BaseName)],
        snapshot_ts: CommitTs,
    ) -> Result<bool> {
        let mut inner = self.shared.inner.lock();
        let mut with_lengths = Vec::with_capacity(indexes.len());
        for &(index, name) in indexes {
            let def = inner.catalog.index(index).map_err(|_| {
                Error::Corrupt(format!("the base holds entries of unknown index {index}"))
            })?;
            with_lengths.push((index, name, def.columns.len()));
        }
        for &(table, _) in tables {
            if inner.catalog.table(table).is_err() {
                return Err(Error::Corrupt(format!(
                    "the base holds rows of unknown table {table}"
                )));
            }
        }
        inner.base_ts = snapshot_ts;
        Ok(inner.store.attach_base(base, tables, &with_lengths))
    }

    /// [`Database::begin_checkpoint`] for a store over a base: the same cut, and at the same
    /// moment what to write into the base (`VersionStore::begin_base_checkpoint`) for the
    /// tables `tables` (`None`: the store has no base).
    pub fn begin_base_checkpoint(
        &self,
        tables: &[TableId],
    ) -> (Transaction, CommitTs, Lsn, Option<BaseCut>) {
        let mut guard = self.shared.inner.lock();
        let inner = &mut *guard;
        let (txn, snapshot, replay_from) = self.start_checkpoint_txn(inner);
        let mut indexes = Vec::new();
        let mut defs = HashMap::new();
        for &table in tables {
            let Ok(def) = inner.catalog.table(table) else { continue };
            let mut of_table = Vec::new();
            for &index in &def.indexes {
                let index = inner.catalog.index(index).expect("a known index").clone();
                indexes.push((index.id, table, index.columns.len()));
                of_table.push(index);
            }
            defs.insert(table, of_table);
        }
        let plan = inner.store.begin_base_checkpoint(tables, &indexes);
        // Commits decided but not yet visible are not in the snapshot, and their rows were
        // marked before the cut: mark them again for the next checkpoint.
        let pending: Vec<(TableId, Key)> =
            inner.pending.iter().flat_map(|p| p.keys.iter().cloned()).collect();
        for (table, key) in pending {
            inner.store.mark_written(table, &key);
        }
        drop(guard);
        (txn, snapshot, replay_from, plan.map(|plan| BaseCut { plan, indexes: defs }))
    }

    /// The checkpoint of `cut` is written into the base at `snapshot_ts` (`written`), or
    /// failed (its rows are the next one's to write).
    pub fn end_base_checkpoint(&self, cut: BaseCut, written: bool, snapshot_ts: CommitTs) {
        let mut inner = self.shared.inner.lock();
        inner.store.end_base_checkpoint(cut.plan, written);
        if written {
            inner.base_ts = inner.base_ts.max(snapshot_ts);
        }
    }

    /// Drops from memory the chains the base holds as they are (see
    /// `VersionStore::evict_clean`) and their index entries, a few thousand at a time with
    /// the mutex free in between. Returns how many rows left memory.
    pub fn evict_clean(&self) -> usize {
        const BATCH: usize = 20_000;
        let tables: Vec<TableId> = {
            let inner = self.shared.inner.lock();
            inner.catalog.table_ids()
        };
        let mut evicted = 0;
        for table in tables {
            let mut from: Option<Key> = None;
            loop {
                let mut guard = self.shared.inner.lock();
                let inner = &mut *guard;
                if inner.catalog.table(table).is_err() {
                    break;
                }
                let horizon = inner.gc_watermark().min(inner.base_ts);
                let (rows, next) = inner.store.evict_clean(table, horizon, from.as_ref(), BATCH);
                evicted += rows.len();
                inner.versions = inner.versions.saturating_sub(rows.len());
                for (key, row) in rows {
                    if let Some(row) = row {
                        for (index, index_key) in inner.index_keys_packed(table, &row) {
                            inner.store.index_remove(index, &index_key, &key);
                        }
                    }
                }
                drop(guard);
                match next {
                    Some(next) => from = Some(next),
                    None => break,
                }
            }
        }
        evicted
    }

    /// Drops an index's entries in memory whose rows are only in the base (after a
    /// checkpoint wrote the whole index there).
    pub fn drop_entries_of_rows_on_disk(&self, index: IndexId, table: TableId) {
        let mut inner = self.shared.inner.lock();
        if inner.catalog.index(index).is_ok() {
            inner.store.drop_entries_of_rows_on_disk(index, table);
        }
    }

    /// How many row chains are in memory.
    pub fn chains_in_memory(&self) -> usize {
        self.shared.inner.lock().store.chains_in_memory()
    }

    /// Cancels the lock wait `txn` is in (or its next one): the wait ends with 57014. Returns
    /// whether the transaction exists.
    pub fn cancel(&self, txn: TxnId) -> bool {
        let mut inner = self.shared.inner.lock();
        match inner.active.get_mut(&txn) {
            Some(t) => {
                t.cancel_requested = true;
                t.signal.notify_all();
                if let Some(wakeup) = inner.locks.wakeup_of(txn) {
                    wakeup.wake();
                }
                true
            }
            None => false,
        }
    }

    /// The row locks held and waited for: one [`LockRow`] per (row, transaction), granted
    /// ones first per row. The rows are described as in error messages (`accounts(id=1)`).
    pub fn lock_rows(&self) -> Vec<LockRow> {
        let inner = self.shared.inner.lock();
        let mut rows: Vec<LockRow> = inner
            .locks
            .snapshot()
            .into_iter()
            .map(|(target, txn, mode, granted)| LockRow {
                txn,
                row: inner.describe_target(&target),
                mode,
                mode_name: target.mode_name(mode),
                granted,
            })
            .collect();
        // Fresh inserts hold their keys implicitly (no lock-table entry until someone asks).
        for (&txn, active) in &inner.active {
            for record in &active.writes {
                let target = LockTarget { table: record.table, key: record.key.clone() };
                let chain = inner.store.chain(record.table, &record.key);
                let head = chain.as_ref().and_then(|c| c.head());
                if head.is_some_and(|h| h.creator == txn && h.commit_ts.is_none())
                    && !inner.locks.holds(txn, &target)
                {
                    let row = inner.describe_target(&target);
                    let mode_name = LockMode::Update.sql();
                    rows.push(LockRow {
                        txn,
                        row,
                        mode: LockMode::Update,
                        mode_name,
                        granted: true,
                    });
                }
            }
        }
        rows.sort_by(|a, b| (&a.row, !a.granted, a.txn).cmp(&(&b.row, !b.granted, b.txn)));
        rows
    }

    /// Every row- and table-lock wait: the waiting transaction and the transactions it
    /// waits for.
    pub fn lock_wait_edges(&self) -> Vec<(TxnId, Vec<TxnId>)> {
        self.shared.inner.lock().locks.wait_edges()
    }

    /// What a transaction waits for, in words: the row lock and who holds it, or a safe
    /// snapshot; `None` when it is not waiting.
    pub fn waiting_for(&self, txn: TxnId) -> Option<String> {
        let inner = self.shared.inner.lock();
        if let Some((target, mode)) = inner.locks.waiting_for(txn) {
            let holders: Vec<String> =
                inner.locks.blockers(txn, &target, mode).iter().map(|t| format!("T{t}")).collect();
            let held_by = if holders.is_empty() {
                "queued behind earlier waiters".to_string()
            } else {
                format!("held by {}", holders.join(", "))
            };
            return Some(format!(
                "{} on {}, {held_by}",
                target.mode_name(mode),
                inner.describe_target(&target)
            ));
        }
        inner.active.get(&txn).is_some_and(|t| t.deferring).then(|| match inner.standby {
            Some(_) => "a safe snapshot marked by the leader (SERIALIZABLE READ ONLY \
                            DEFERRABLE on a follower)"
                .to_string(),
            None => "a safe snapshot (SERIALIZABLE READ ONLY DEFERRABLE)".to_string(),
        })
    }

    /// The commit timestamp a transaction's snapshot was taken at, once it has one.
    pub fn snapshot_of(&self, txn: TxnId) -> Option<u64> {
        let inner = self.shared.inner.lock();
        inner.active.get(&txn).and_then(|t| t.snapshot)
    }

    /// Whether a transaction is blocked: waiting for a row lock or for a safe snapshot.
    pub fn is_waiting(&self, txn: TxnId) -> bool {
        let inner = self.shared.inner.lock();
        inner.locks.is_waiting(txn) || inner.active.get(&txn).is_some_and(|t| t.deferring)
    }

    /// Collects garbage now; returns the number of versions dropped.
    pub fn gc(&self) -> usize {
        self.shared.inner.lock().gc()
    }

    /// Counters of the core's state.
    pub fn stats(&self) -> Stats {
        let inner = self.shared.inner.lock();
        let (ssi_transactions, siread_locks) = inner.ssi.footprint();
        Stats {
            versions: inner.versions,
            active_transactions: inner.active.len(),
            lock_entries: inner.locks.entry_count(),
            ssi_transactions,
            siread_locks,
            garbage_pending: inner.garbage.len(),
        }
    }

    /// The explanations of recent serialization failures (SSI), oldest first.
    pub fn recent_serialization_failures(&self) -> Vec<String> {
        self.shared.inner.lock().ssi.recent_failures()
    }

    /// Installs the hook that receives each commit's batch, in commit order, before the commit
    /// becomes visible; an error from it aborts the commit.
    pub fn set_commit_hook(&self, hook: CommitHook) {
        self.shared.inner.lock().commit_hook = Some(hook);
    }
}

/// The error every write gets once the log has failed.
pub(super) fn log_failed(failure: &str) -> Error {
    Error::Io(format!(
        "the write-ahead log failed ({failure}); the database accepts no more writes until it is restarted"
    ))
}

fn background_gc(shared: Weak<Shared>, interval: Duration) {
    loop {
        std::thread::sleep(interval);
        match shared.upgrade() {
            Some(shared) => {
                shared.inner.lock().gc();
            }
            None => return,
        }
    }
}

/// How a transaction sees a chain.
#[derive(Clone, Copy, Debug)]
pub(super) enum View {
    /// Versions committed at or before the snapshot, and our own.
    Snapshot(CommitTs),
    /// The newest version, committed or not (Read Uncommitted).
    Dirty,
}

/// The version `txn` sees in a chain, and the creators of newer versions it skipped, with what
/// each did ("inserted", "updated", "deleted") for SSI's conflict-out edges.
pub(super) fn visible_version(
    chain: &VersionChain,
    txn: TxnId,
    view: View,
) -> (Option<&Version>, Vec<(TxnId, &'static str)>) {
    let mut skipped = Vec::new();
    for (i, version) in chain.versions.iter().enumerate().rev() {
        let visible = match view {
            View::Dirty => true,
            View::Snapshot(snapshot) => {
                version.creator == txn || version.commit_ts.is_some_and(|c| c <= snapshot)
            }
        };
        if visible {
            return (Some(version), skipped);
        }
        let verb = match (&version.row, i.checked_sub(1).map(|p| &chain.versions[p])) {
            (None, _) => "deleted",
            (Some(_), Some(prev)) if prev.row.is_some() => "updated",
            (Some(_), _) => "inserted",
        };
        if !skipped.iter().any(|&(c, _)| c == version.creator) {
            skipped.push((version.creator, verb));
        }
    }
    (None, skipped)
}

/// Whether `version` (in `chain`, met by `txn`) belongs to a commit that is decided but not yet
/// visible (above `visible`, the last visible commit): its timestamp, and whether an answer
/// without rows could show the meeting. It could not when the version updated a row that
/// exists in the visible state as well (a count is then the same either way); a deletion or
/// an insert changes whether the row exists.
pub(super) fn pending_meeting(
    chain: &VersionChain,
    version: &Version,
    txn: TxnId,
    visible: CommitTs,
) -> Option<(CommitTs, bool)> {
    let ts = version.commit_ts.filter(|&c| c > visible && version.creator != txn)?;
    let index = chain.versions.iter().position(|v| std::ptr::eq(v, version))?;
    let visible_row = chain.versions[..index]
        .iter()
        .rev()
        .find(|v| v.commit_ts.is_some_and(|c| c <= visible))
        .is_some_and(|v| v.row.is_some());
    Some((ts, version.row.is_none() || !visible_row))
}

impl Inner {
    pub(super) fn txn(&self, txn: TxnId) -> &ActiveTxn {
        self.active.get(&txn).expect("an active transaction (faulty code)")
    }

    /// The running statement's trace of `txn`, if one is on.
    pub(super) fn trace_of(&mut self, txn: TxnId) -> Option<&mut super::trace::StatementTrace> {
        self.active.get_mut(&txn).and_then(|t| t.trace.as_deref_mut())
    }

    /// Traces a read of `table` (when a trace is on): `visible` rows returned, and the newer
    /// versions skipped, each with whether its writer had committed.
    pub(super) fn trace_read(
        &mut self,
        txn: TxnId,
        table: TableId,
        visible: u64,
        skipped: &[(TxnId, &'static str, bool, Key)],
    ) {
        if self.active.get(&txn).is_none_or(|t| t.trace.is_none()) {
            return;
        }
        let name = self.catalog.name(crate::catalog::KeySpace::Table(table)).to_string();
        let trace = self.trace_of(txn).expect("checked above");
        *trace.rows_read.entry(name).or_default() += visible;
        for (writer, verb, committed, key) in skipped {
            let rows = trace.skipped.entry((*writer, *verb, *committed)).or_default();
            rows.insert((table, key.clone()));
        }
    }

    pub(super) fn txn_mut(&mut self, txn: TxnId) -> &mut ActiveTxn {
        self.active.get_mut(&txn).expect("an active transaction (faulty code)")
    }

    /// Shows a row lock target.
    pub(super) fn describe_target(&self, target: &LockTarget) -> String {
        if target.table == crate::txn::locks::RELATION_NAMES {
            return format!("relation name {}", crate::types::format_key(&target.key));
        }
        if target.key.is_empty() {
            return match self.catalog.table(target.table) {
                Ok(t) => format!("table {}", t.name),
                Err(_) => format!("table {}", target.table),
            };
        }
        self.catalog.describe(KeySpace::Table(target.table), &target.key)
    }

    /// The index keys of a row for every index of its table.
    /// [`Inner::index_keys`] of a stored row, decoding only the indexed columns.
    pub(super) fn index_keys_packed(&self, table: TableId, row: &PackedRow) -> Vec<(IndexId, Key)> {
        let def = self.catalog.table(table).expect("a known table");
        def.indexes
            .iter()
            .map(|&i| (i, self.catalog.index(i).expect("a known index").key_of_packed(row)))
            .collect()
    }

    pub(super) fn index_keys(&self, table: TableId, row: &Row) -> Vec<(IndexId, Key)> {
        let def = self.catalog.table(table).expect("a known table");
        def.indexes
            .iter()
            .map(|&i| (i, self.catalog.index(i).expect("a known index").key_of(row)))
            .collect()
    }

    /// Stores committed rows of `table` as the only versions of their chains, written by `txn`
    /// at `commit_ts`, with their index entries: in one bottom-up build per map when the table
    /// has no rows and the keys ascend (the store checks), else entry by entry.
    fn load_rows(
        &mut self,
        txn: TxnId,
        table: TableId,
        rows: Vec<(Key, PackedRow)>,
        commit_ts: CommitTs,
    ) {
        let def = self.catalog.table(table).expect("a known table");
        let indexes: Vec<_> = def
            .indexes
            .iter()
            .map(|&i| (i, self.catalog.index(i).expect("a known index")))
            .collect();
        // One run per index, each sized once (`vec![v; n]` would clone away the capacity).
        let mut entries: Vec<Vec<(Key, Key)>> =
            indexes.iter().map(|_| Vec::with_capacity(rows.len())).collect();
        for (key, row) in &rows {
            for ((_, index), entries) in indexes.iter().zip(&mut entries) {
                entries.push((index.key_of_packed(row), key.clone()));
            }
        }
        self.versions += rows.len();
        let chains = rows.into_iter().map(|(key, row)| {
            let version =
                Version { creator: txn, subtxn: 0, commit_ts: Some(commit_ts), row: Some(row) };
            (key, VersionChain { versions: vec![version] })
        });
        self.store.load_chains(table, chains.collect());
        for ((index, _), mut entries) in indexes.into_iter().zip(entries) {
            if !entries.is_sorted() {
                entries.sort_unstable();
            }
            self.store.index_build(index, entries);
        }
    }

    /// Adds a version at the head of a row's chain (or replaces our own head version of the
    /// same subtransaction), and the index entries of its row.
    pub(super) fn install_version(
        &mut self,
        txn: TxnId,
        table: TableId,
        key: &Key,
        row: Option<Row>,
    ) {
        let subtxn = self.txn(txn).subtxn;
        let mut new_keys = row.as_ref().map(|r| self.index_keys(table, r)).unwrap_or_default();
        let chain = self.store.chain_mut(table, key);
        // A row read back from the on-disk base keeps its version in the chain while snapshots
        // may see it; its index entries must then be in memory too (the next checkpoint
        // removes them from the base). Inserting an entry that is there changes nothing.
        if let Some(from_base) = chain
            .versions
            .first()
            .filter(|v| v.creator == crate::storage::BASE_CREATOR)
            .and_then(|v| v.row.clone())
        {
            new_keys.extend(self.index_keys_packed(table, &from_base));
        }
        let chain = self.store.chain_mut(table, key);
        let mut stale = Vec::new();
        match chain.versions.last_mut() {
            Some(head) if head.creator == txn && head.subtxn == subtxn => {
                if let Some(old) =
                    std::mem::replace(&mut head.row, row.as_deref().map(PackedRow::pack))
                {
                    stale = self.index_keys_packed(table, &old);
                }
            }
            _ => {
                let row = row.as_deref().map(PackedRow::pack);
                chain.versions.push(Version { creator: txn, subtxn, commit_ts: None, row });
                self.versions += 1;
                let record = WriteRecord { table, key: key.clone(), subtxn };
                self.txn_mut(txn).writes.push(record);
            }
        }
        for (index, index_key) in new_keys {
            self.store.index_insert(index, index_key, key.clone());
        }
        self.drop_unreferenced_index_entries(table, key, stale);
    }

    /// Installs the first version of a row that has no chain at all (a fresh insert), in one
    /// search of the table; gives the row back if the row has a chain
    /// ([`Inner::install_version`] then does the general case).
    pub(super) fn install_first_version(
        &mut self,
        txn: TxnId,
        table: TableId,
        key: &Key,
        row: Row,
    ) -> std::result::Result<(), Row> {
        let subtxn = self.txn(txn).subtxn;
        let new_keys = self.index_keys(table, &row);
        let version =
            Version { creator: txn, subtxn, commit_ts: None, row: Some(PackedRow::pack(&row)) };
        if self.store.insert_new_chain(table, key, version).is_err() {
            return Err(row);
        }
        self.versions += 1;
        let record = WriteRecord { table, key: key.clone(), subtxn };
        self.txn_mut(txn).writes.push(record);
        for (index, index_key) in new_keys {
            self.store.index_insert(index, index_key, key.clone());
        }
        Ok(())
    }

    /// Removes index entries that no version of the row has any longer.
    pub(super) fn drop_unreferenced_index_entries(
        &mut self,
        table: TableId,
        key: &Key,
        candidates: Vec<(IndexId, Key)>,
    ) {
        if candidates.is_empty() {
            return;
        }
        let still: HashSet<(IndexId, Key)> = match self.store.chain(table, key) {
            Some(chain) => chain
                .versions
                .iter()
                .filter_map(|v| v.row.as_ref())
                .flat_map(|row| self.index_keys_packed(table, row))
                .collect(),
            None => HashSet::new(),
        };
        for (index, index_key) in candidates {
            if !still.contains(&(index, index_key.clone())) {
                self.store.index_remove(index, &index_key, key);
            }
        }
    }

    /// Pops the versions a transaction wrote in subtransactions `>= subtxn`, newest first.
    pub(super) fn undo_writes_since(&mut self, txn: TxnId, subtxn: SubTxnId) {
        loop {
            let active = self.txn_mut(txn);
            match active.writes.last() {
                Some(record) if record.subtxn >= subtxn => {}
                _ => return,
            }
            let record = active.writes.pop().expect("just seen");
            let chain = self.store.chain_mut(record.table, &record.key);
            let version = chain.versions.pop().expect("our version is at the head (faulty code)");
            debug_assert_eq!(version.creator, txn);
            let empty = chain.versions.is_empty();
            // A committed deletion uncovered again must still be collected some day.
            let uncovered = chain.head().filter(|h| h.row.is_none()).and_then(|h| h.commit_ts);
            self.versions = self.versions.saturating_sub(1);
            if empty {
                self.store.remove_chain(record.table, &record.key);
            }
            if let Some(ts) = uncovered {
                self.garbage.push_back((ts, record.table, record.key.clone()));
            }
            if let Some(row) = version.row {
                let stale = self.index_keys_packed(record.table, &row);
                self.drop_unreferenced_index_entries(record.table, &record.key, stale);
            }
        }
    }

    /// Registers a new transaction; returns its id.
    pub(super) fn start(&mut self, options: TxnOptions) -> TxnId {
        let id = self.next_txn;
        self.next_txn += 1;
        self.active.insert(
            id,
            ActiveTxn {
                level: options.level,
                read_only: options.read_only || self.standby.is_some(),
                deferrable: options.deferrable,
                restartable_statements: options.restartable_statements,
                snapshot: None,
                ssi_registered: false,
                snapshot_observed: false,
                snapshot_refreshes: 0,
                observed: 0,
                met_revealing: 0,
                met_pending: Arc::default(),
                subtxn: 0,
                next_subtxn: 1,
                savepoints: Vec::new(),
                writes: Vec::new(),
                failed: false,
                lock_timeout: None,
                statement_deadline: None,
                cancel_requested: false,
                task_wakeup: None,
                task_wait: None,
                signal: Arc::new(Condvar::new()),
                deferring: false,
                safe_snapshot_wait: None,
                ddl: Vec::new(),
                trace: None,
            },
        );
        id
    }

    /// Commits a transaction: SSI's commit-time check, a timestamp, the log record (and the
    /// hook), then visibility, at once or (synchronous commit with a log) once the record is
    /// durable: see [`CommitStep`]. Once the record is appended the commit is decided: its
    /// versions are stamped, its locks released and the transaction ended (early lock
    /// release), and SSI counts it as committed; snapshots see it once it is visible.
    pub(super) fn commit(&mut self, txn: TxnId, synchronous: bool) -> Result<CommitStep> {
        self.ssi.precommit(txn)?;
        let ddl = std::mem::take(&mut self.txn_mut(txn).ddl);
        let active = self.txn(txn);
        let has_writes = !active.writes.is_empty() || !ddl.is_empty();
        if has_writes && let Some(failure) = self.log.as_ref().and_then(|l| l.failure()) {
            return Err(log_failed(&failure));
        }
        let needs_ts = has_writes || self.ssi.is_tracked(txn);
        let commit_ts = needs_ts.then_some(self.next_commit + 1);
        // A row gets one write record per subtransaction that gave it a version, so without
        // savepoints the records name distinct rows and need no de-duplication.
        let mut keys: Vec<(TableId, Key)> = Vec::with_capacity(active.writes.len());
        if active.writes.iter().all(|r| r.subtxn == 0) {
            keys.extend(active.writes.iter().map(|r| (r.table, r.key.clone())));
        } else {
            let mut seen = rustc_hash::FxHashSet::default();
            for record in &active.writes {
                if seen.insert((record.table, &record.key)) {
                    keys.push((record.table, record.key.clone()));
                }
            }
        }
        let Some(ts) = commit_ts else {
            self.finish(txn);
            return Ok(CommitStep::Done(None));
        };
        let mut durable_at = None;
        let logged = !keys.is_empty() || !ddl.is_empty();
        if logged && let Some(hook) = self.commit_hook.as_mut() {
            // Only an observer (tests) gets a batch built; the log encodes from the chains.
            let writes = keys
                .iter()
                .map(|(table, key)| {
                    let chain = self.store.chain(*table, key).expect("a written row");
                    (
                        *table,
                        key.clone(),
                        chain.head().and_then(|v| v.row.as_ref()).map(PackedRow::unpack),
                    )
                })
                .collect();
            hook(&CommitBatch { txn, commit_ts: ts, writes, ddl: ddl.clone() })?;
        }
        if logged && let Some(log) = &self.log {
            // Decided here, under the mutex, with the record (see SAFE SNAPSHOTS); only a
            // replicated log has a use for it.
            let safe = log.is_replicated() && !self.ssi.writer_running(Some(txn));
            // The one log-append path: the final rows encoded straight from their chains.
            let store = &self.store;
            durable_at = Some(if let Some(runs) = ascending_runs(&keys) {
                let mut rows: Vec<Option<&PackedRow>> = vec![None; keys.len()];
                let mut offset = 0;
                for (table, run) in &runs {
                    let part = &mut rows[offset..offset + run.len()];
                    store.visit_chains(*table, run, &mut |i, chain| {
                        part[i] = chain.head().and_then(|v| v.row.as_ref());
                    });
                    offset += run.len();
                }
                let writes =
                    keys.iter().zip(rows).map(|((table, key), row)| (*table, key.as_slice(), row));
                log.append_commit_rows(txn, ts, &ddl, writes, safe)?
            } else {
                let writes = keys.iter().map(|(table, key)| {
                    let chain = store.resident_chain(*table, key).expect("a written row");
                    (*table, key.as_slice(), chain.head().and_then(|v| v.row.as_ref()))
                });
                log.append_commit_rows(txn, ts, &ddl, writes, safe)?
            });
            self.unsafe_tail = log.is_replicated() && !safe;
        }
        self.next_commit = ts;
        self.ssi.on_commit(txn, ts);
        if !logged {
            // Read only (a serializable transaction SSI still tracks): nothing to make visible.
            // Behind pending commits, `last_commit` moves on when they become visible.
            if self.pending.is_empty() {
                self.last_commit = ts;
            }
            self.wake_deferring();
            self.finish(txn);
            self.settle_unsafe_tail();
            return Ok(CommitStep::Done(Some(ts)));
        }
        // Decided: stamp the versions and let the locks go (early lock release); visible once
        // its record (and every earlier one) is durable.
        self.stamp(txn, ts, &keys);
        self.finish(txn);
        let wait = if synchronous { durable_at } else { None };
        self.pending.push_back(PendingCommit { txn, ts, durable_at: wait, keys });
        self.publish_ready();
        if self.last_commit >= ts {
            return Ok(CommitStep::Done(Some(ts)));
        }
        let log = self.log.clone().expect("only a log makes a commit wait");
        // Behind an earlier commit that waits for the log: wait for our own record too.
        let lsn = durable_at.expect("a logged commit");
        Ok(CommitStep::WaitDurable { ts, lsn, log })
    }

    /// Makes visible, in order, every pending commit whose log record is durable.
    pub(super) fn publish_ready(&mut self) {
        while let Some(front) = self.pending.front() {
            let ready = match (front.durable_at, &self.log) {
                (Some(lsn), Some(log)) => log.is_durable(lsn),
                _ => true,
            };
            if !ready {
                return;
            }
            let entry = self.pending.pop_front().expect("just seen");
            self.publish(entry);
        }
    }

    /// After a log failure: publishes what did reach the disk and takes back the rest: their
    /// versions leave their chains (their committers get the error; after a restart such a
    /// commit may or may not be there, as with any commit cut by a crash before its
    /// acknowledgement). A running transaction that built on one keeps its own version above
    /// the gap; it cannot commit any more (the log refuses) and rolls back.
    pub(super) fn abandon_pending(&mut self) {
        self.publish_ready();
        while let Some(entry) = self.pending.pop_back() {
            for (table, key) in &entry.keys {
                if self.catalog.table(*table).is_err() {
                    continue; // dropped since, chains and all
                }
                let Some(chain) = self.store.chain_get_mut(*table, key) else { continue };
                let mut removed = Vec::new();
                let mut i = 0;
                while i < chain.versions.len() {
                    if chain.versions[i].creator == entry.txn {
                        removed.push(chain.versions.remove(i));
                    } else {
                        i += 1;
                    }
                }
                let empty = chain.versions.is_empty();
                self.versions = self.versions.saturating_sub(removed.len());
                if empty {
                    self.store.remove_chain(*table, key);
                }
                let stale: Vec<(IndexId, Key)> = removed
                    .iter()
                    .filter_map(|v| v.row.as_ref())
                    .flat_map(|row| self.index_keys_packed(*table, row))
                    .collect();
                self.drop_unreferenced_index_entries(*table, key, stale);
            }
            self.ssi.on_abort(entry.txn);
        }
        self.wake_deferring();
    }

    /// Stamps the versions a deciding commit wrote with its timestamp, and queues the rows for
    /// the garbage collector (not a row's only version, live: a fresh insert; a later write
    /// queues the row again).
    fn stamp(&mut self, txn: TxnId, ts: CommitTs, keys: &[(TableId, Key)]) {
        let stamp = |chain: &mut VersionChain| {
            for version in chain.versions.iter_mut().rev() {
                if version.creator != txn {
                    break;
                }
                version.commit_ts = Some(ts);
            }
            !(chain.versions.len() == 1 && chain.versions[0].row.is_some())
        };
        if let Some(runs) = ascending_runs(keys) {
            for (table, run) in runs {
                let mut collect = Vec::new();
                self.store.visit_chains_mut(table, &run, &mut |i, chain| {
                    if stamp(chain) {
                        collect.push(i);
                    }
                });
                for i in collect {
                    self.garbage.push_back((ts, table, run[i].clone()));
                }
            }
        } else {
            for (table, key) in keys {
                let Some(chain) = self.store.chain_get_mut(*table, key) else {
                    debug_assert!(false, "a committed write has its chain");
                    continue;
                };
                if stamp(chain) {
                    self.garbage.push_back((ts, *table, key.clone()));
                }
            }
        }
    }

    /// Makes a decided commit visible: the last visible commit from now on.
    fn publish(&mut self, entry: PendingCommit) {
        self.last_commit = entry.ts;
        self.wake_deferring();
        self.ssi.cleanup(self.last_commit);
        if self.garbage.len() > INLINE_GC_THRESHOLD {
            self.gc();
        }
    }

    /// Notes that `txn` met a version committed at `ts` (when that commit is not yet visible):
    /// see "EARLY LOCK RELEASE". `reveals`: whether even an answer without rows (a count, an
    /// error) could show the meeting - always, except when the version updated a row that
    /// exists in the visible state too ([`pending_meeting`]).
    pub(super) fn note_met(&mut self, txn: TxnId, ts: CommitTs, reveals: bool) {
        if ts <= self.last_commit {
            return;
        }
        let t = self.txn_mut(txn);
        if t.observed == 0 {
            t.met_pending.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        t.observed = t.observed.max(ts);
        if reveals {
            t.met_revealing = t.met_revealing.max(ts);
        }
    }

    /// Undoes a transaction's writes and ends it.
    pub(super) fn rollback(&mut self, txn: TxnId) {
        self.undo_writes_since(txn, 0);
        self.ssi.on_abort(txn);
        self.wake_deferring();
        self.finish(txn);
        self.settle_unsafe_tail();
    }

    /// A leader whose last record was not a safe snapshot ships a marker once no serializable
    /// writer runs any more (see SAFE SNAPSHOTS). A failed log ships nothing: its leadership
    /// is over, and the next one starts with a blank, which is safe.
    fn settle_unsafe_tail(&mut self) {
        if !self.unsafe_tail || self.ssi.writer_running(None) {
            return;
        }
        if let Some(log) = &self.log
            && log.append_safe_marker().is_ok()
        {
            self.unsafe_tail = false;
        }
    }

    fn finish(&mut self, txn: TxnId) {
        self.locks.release_all(txn);
        self.active.remove(&txn);
        self.ssi.cleanup(self.last_commit);
    }

    /// A serializable transaction finished: DEFERRABLE waiters look again at their snapshot.
    fn wake_deferring(&self) {
        for t in self.active.values() {
            if t.deferring {
                t.signal.notify_one();
            }
        }
    }

    /// The oldest snapshot still in use (the visible state when none is): versions older
    /// than the newest one visible at it are seen by no one.
    fn gc_watermark(&self) -> CommitTs {
        // Never above the visible state: a snapshot that includes pending commits must not
        // let the versions ordinary snapshots still read go.
        self.active
            .values()
            .filter_map(|t| t.snapshot)
            .min()
            .unwrap_or(self.last_commit)
            .min(self.last_commit)
    }

    /// Drops versions no snapshot can see; returns how many.
    pub(super) fn gc(&mut self) -> usize {
        let watermark = self.gc_watermark();
        let mut dropped = 0;
        while self.garbage.front().is_some_and(|(ts, _, _)| *ts <= watermark) {
            let (_, table, key) = self.garbage.pop_front().expect("just seen");
            dropped += self.prune(table, &key, watermark);
        }
        dropped
    }

    /// Drops the versions of one row older than the newest one visible at the watermark; a row
    /// left with only a committed deletion goes entirely.
    fn prune(&mut self, table: TableId, key: &Key, watermark: CommitTs) -> usize {
        // A row only in the on-disk base has one version: nothing to collect.
        let Some(chain) = self.store.resident_chain(table, key) else { return 0 };
        let base = chain.versions.iter().rposition(|v| v.commit_ts.is_some_and(|c| c <= watermark));
        let Some(base) = base else { return 0 };
        let gone = base + 1 == chain.versions.len() && chain.versions[base].row.is_none();
        let chain = self.store.chain_mut(table, key);
        let removed: Vec<Version> = if gone {
            chain.versions.drain(..).collect()
        } else {
            chain.versions.drain(..base).collect()
        };
        if gone {
            self.store.remove_chain(table, key);
        }
        self.versions = self.versions.saturating_sub(removed.len());
        let stale: Vec<(IndexId, Key)> = removed
            .iter()
            .filter_map(|v| v.row.as_ref())
            .flat_map(|row| self.index_keys_packed(table, row))
            .collect();
        self.drop_unreferenced_index_entries(table, key, stale);
        removed.len()
    }
}

/// A checkpoint's part that goes into the on-disk base: the store's plan, and each planned
/// table's indexes as the catalog had them at the cut.
pub struct BaseCut {
    pub plan: crate::storage::BasePlan,
    pub indexes: HashMap<TableId, Vec<crate::catalog::IndexDef>>,
}

/// A row whose newest version another running transaction wrote is locked by that
/// transaction, in the lock table or implicitly (a fresh insert takes no entry): before anyone
/// else asks for the row, the implicit lock becomes an entry, so the request meets it.
fn make_implicit_lock_explicit(guard: &mut MutexGuard<'_, Inner>, txn: TxnId, target: &LockTarget) {
    if target.is_relation_level() {
        return; // no row version stands for a table or a name
    }
    let writer = guard
        .store
        .chain(target.table, &target.key)
        .and_then(|c| c.head().map(|head| (head.creator, head.subtxn, head.commit_ts)))
        .filter(|&(creator, _, commit_ts)| commit_ts.is_none() && creator != txn)
        .map(|(creator, subtxn, _)| (creator, subtxn));
    if let Some((writer, subtxn)) = writer {
        guard.locks.hold_implicit(writer, target, LockMode::Update, subtxn);
    }
}

/// Takes `mode` on `target` if it can be granted at once (or is held already); never waits.
pub(super) fn try_lock_now(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    target: &LockTarget,
    mode: LockMode,
) -> bool {
    make_implicit_lock_explicit(guard, txn, target);
    let subtxn = guard.txn(txn).subtxn;
    matches!(guard.locks.try_acquire(txn, target, mode, subtxn), Request::Granted)
}

/// Takes a row lock for `txn`, waiting if the policy says so. Returns false when skipped
/// (SKIP LOCKED). Waiting releases the mutex; deadlocks are detected before sleeping.
///
/// `resumable`: the caller is the statement's own row lock (`lock_row`, `insert_row`), taken
/// before it writes anything, so a task-mode wait may end the step and let the statement run
/// again once granted (module `transaction`); other waits fall back to a blocking thread.
pub(super) fn acquire_lock(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    target: &LockTarget,
    mode: LockMode,
    policy: WaitPolicy,
    resumable: bool,
) -> Result<bool> {
    make_implicit_lock_explicit(guard, txn, target);
    let subtxn = guard.txn(txn).subtxn;
    let blockers = match guard.locks.try_acquire(txn, target, mode, subtxn) {
        Request::Granted => return Ok(true),
        Request::Conflict { blockers } => blockers,
    };
    match policy {
        WaitPolicy::SkipLocked => return Ok(false),
        WaitPolicy::NoWait => {
            let what = if target.is_relation_level() {
                guard.describe_target(target)
            } else {
                let table = guard.catalog.name(KeySpace::Table(target.table));
                format!("row in relation \"{table}\"")
            };
            let blockers: Vec<String> = blockers.iter().map(|h| format!("T{h}")).collect();
            return Err(Error::LockNotAvailable {
                message: format!("could not obtain lock on {what}"),
                detail: format!(
                    "T{txn} wanted {} on {}, which {} holds or waits for.",
                    target.mode_name(mode),
                    guard.describe_target(target),
                    blockers.join(", ")
                ),
            });
        }
        WaitPolicy::Wait => {}
    }
    let signal = guard.txn(txn).signal.clone();
    let timeout = guard.txn(txn).lock_timeout;
    let task = guard.txn(txn).task_wakeup.clone();
    if task.is_some() && !resumable {
        // Only a wait the statement can resume by running again may be left to the task.
        return Err(Error::WouldWait);
    }
    let wakeup = match &task {
        Some(task) => Wakeup::Task(task.clone()),
        None => Wakeup::Thread(signal.clone()),
    };
    if let Err(cycle) = guard.locks.enqueue(txn, target, mode, subtxn, wakeup) {
        return Err(Error::Deadlock { detail: describe_deadlock(guard, txn, &cycle) });
    }
    let lock_deadline = timeout.map(|t| Instant::now() + t);
    let statement_deadline = guard.txn(txn).statement_deadline;
    if task.is_some() {
        let detail = format!(
            "T{txn} waited {:?} for {} on {}.",
            timeout.unwrap_or_default(),
            target.mode_name(mode),
            guard.describe_target(target)
        );
        guard.txn_mut(txn).task_wait = Some(TaskWait { lock_deadline, statement_deadline, detail });
        return Err(Error::WouldWait);
    }
    let deadline = match (lock_deadline, statement_deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let traced = guard.txn(txn).trace.is_some().then(|| {
        let what = format!("{} on {}", target.mode_name(mode), guard.describe_target(target));
        (what, blockers.clone(), Instant::now())
    });
    let result = wait_for_grant(guard, txn, target, mode, &signal, deadline, lock_deadline);
    if let Some((what, blockers, started)) = traced {
        let outcome = match &result {
            Ok(()) => "granted".to_string(),
            Err(e) => e.to_string(),
        };
        let wait = LockWaitTrace { what, blockers, waited: started.elapsed(), outcome };
        guard.trace_of(txn).expect("traced").waits.push(wait);
    }
    result.map(|()| true)
}

/// The wait of [`acquire_lock`] on this thread, until granted, cancelled or out of time.
fn wait_for_grant(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    target: &LockTarget,
    mode: LockMode,
    signal: &Condvar,
    deadline: Option<Instant>,
    lock_deadline: Option<Instant>,
) -> Result<()> {
    let timeout = guard.txn(txn).lock_timeout;
    while guard.locks.is_waiting(txn) {
        if std::mem::take(&mut guard.txn_mut(txn).cancel_requested) {
            guard.locks.cancel_wait(txn);
            return Err(Error::QueryCanceled("canceling statement due to user request".into()));
        }
        match deadline {
            Some(deadline) => {
                let timed_out = signal.wait_until(guard, deadline).timed_out();
                if timed_out && guard.locks.is_waiting(txn) {
                    guard.locks.cancel_wait(txn);
                    if lock_deadline != Some(deadline) {
                        return Err(Error::QueryCanceled(
                            "canceling statement due to statement timeout".into(),
                        ));
                    }
                    return Err(Error::LockNotAvailable {
                        message: "canceling statement due to lock timeout".into(),
                        detail: format!(
                            "T{txn} waited {:?} for {} on {}.",
                            timeout.unwrap_or_default(),
                            target.mode_name(mode),
                            guard.describe_target(target)
                        ),
                    });
                }
            }
            None => signal.wait(guard),
        }
    }
    Ok(())
}

fn describe_deadlock(inner: &Inner, victim: TxnId, cycle: &[WaitEdge]) -> String {
    let steps: Vec<String> = cycle
        .iter()
        .map(|e| {
            let how = if e.soft { "is queued ahead wanting" } else { "holds" };
            format!(
                "T{} waits for {} on {}, which T{} {} {}",
                e.waiter,
                e.target.mode_name(e.mode),
                inner.describe_target(&e.target),
                e.blocker,
                how,
                e.target.mode_name(e.blocker_mode)
            )
        })
        .collect();
    format!("{}. T{victim} was chosen as the victim: its wait closed the cycle.", steps.join("; "))
}

/// The tables of a replayed commit that can be built in bulk: each has no chain yet and gets
/// only inserts, keys strictly ascending.
fn tables_to_build_in_bulk(inner: &Inner, writes: &[(TableId, Key, Option<Row>)]) -> Vec<TableId> {
    let mut candidates: Vec<(TableId, Option<&Key>, bool)> = Vec::new();
    for (table, key, row) in writes {
        let at = match candidates.iter().position(|(t, _, _)| t == table) {
            Some(at) => at,
            None => {
                let empty =
                    inner.store.scan(*table, (Bound::Unbounded, Bound::Unbounded)).next().is_none();
                candidates.push((*table, None, empty));
                candidates.len() - 1
            }
        };
        let (_, last, ok) = &mut candidates[at];
        *ok = *ok && row.is_some() && last.is_none_or(|l| l < key);
        *last = Some(key);
    }
    candidates.into_iter().filter(|(_, _, ok)| *ok).map(|(t, _, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;

    fn keys(table: TableId, numbers: impl IntoIterator<Item = i64>) -> Vec<(TableId, Key)> {
        numbers.into_iter().map(|n| (table, crate::key![Value::Int(n)])).collect()
    }

    /// A commit's keys split into per-table ascending runs in order (pgbench -i's COPY after
    /// its small inserts); a small commit, or keys in no useful order, get a search each.
    #[test]
    fn ascending_runs_split_by_table_and_order() {
        let mut mixed = keys(1, 0..10);
        mixed.extend(keys(2, 0..100));
        mixed.extend(keys(3, 0..1000));
        let runs = ascending_runs(&mixed).expect("long runs");
        let shape: Vec<(TableId, usize)> = runs.iter().map(|(t, r)| (*t, r.len())).collect();
        assert_eq!(shape, [(1, 10), (2, 100), (3, 1000)]);
        let flat: Vec<&Key> = runs.iter().flat_map(|(_, r)| r.iter().copied()).collect();
        assert!(flat.iter().zip(&mixed).all(|(a, (_, b))| *a == b), "the keys' order is kept");

        assert!(ascending_runs(&keys(1, 0..10)).is_none(), "a small commit");
        let scattered = keys(1, (0..1000).map(|n| (n * 7919) % 1000));
        assert!(ascending_runs(&scattered).is_none(), "keys in no useful order");
    }
}
