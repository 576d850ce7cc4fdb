//! [`Transaction`]: the API a caller (the SQL executor, a test) drives, and the write rules of
//! each isolation level.
//!
//! Every call is one step under the database mutex (waits release it). A call first refuses to
//! run if an earlier one failed (25P02) or if SSI doomed the transaction (40001), then takes the
//! snapshot if there is none yet, and marks the transaction failed if it errs.
//!
//! WRITES (`modify`, `lock`) follow PostgreSQL:
//! 1. find the version visible to the snapshot (Read Uncommitted: the newest); none → not found;
//! 2. take the row lock (NO KEY UPDATE for updates, the requested mode for locking reads),
//!    waiting for the current holder, failing with NOWAIT, or skipping with SKIP LOCKED;
//! 3. with the lock held the newest version is committed (or ours). Repeatable Read and
//!    Serializable fail with 40001 if it was committed after their snapshot (first updater
//!    wins). Read Committed and Read Uncommitted continue from that newest version: the caller's
//!    function re-checks its condition and computes the new row from it (EvalPlanQual), so
//!    `balance = balance - 100` never loses an update; a row deleted meanwhile is skipped;
//! 4. deletes and key-changing updates upgrade to FOR UPDATE; unique keys are checked (waiting
//!    for an uncommitted conflicting writer to finish); SSI checks the readers of the row and of
//!    every range covering its keys; the version is installed.
//!
//! The caller's function runs outside the mutex while the row lock keeps the row stable.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;

use super::locks::{LockMode, LockTarget, WaitPolicy};
use super::mvcc::{
    CommitStep, Database, Inner, IsolationLevel, TxnOptions, View, acquire_lock, log_failed,
    pending_meeting, try_lock_now, visible_version,
};
use super::ssi::{ReadTarget, WriteTarget};
use super::trace::{IsolationReport, StatementTrace, TraceStart};
use crate::catalog::{Catalog, IndexDef, IndexId, KeySpace, TableDef, TableId};
use crate::error::{Error, Result};
use crate::storage::{CommitTs, TxnId, Version};
use crate::types::{Key, KeyRange, PackedRow, Row, Value};

/// What a modification does with the newest version of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Leave it (the re-checked condition no longer holds); the row stays locked.
    Keep,
    /// Replace it.
    Update(Row),
    /// Delete it.
    Delete,
}

/// The outcome of [`Transaction::modify`].
#[derive(Clone, Debug, PartialEq)]
pub enum Modified {
    Updated(Row),
    Deleted,
    /// The function returned [`Change::Keep`].
    Unchanged,
    /// No visible row (or, at Read Committed, it was deleted concurrently).
    NotFound,
    /// SKIP LOCKED skipped it.
    Skipped,
}

/// The outcome of [`Transaction::lock`].
#[derive(Clone, Debug, PartialEq)]
pub enum LockOutcome {
    /// Locked; the newest version (at Read Committed possibly newer than the snapshot's).
    Locked(Row),
    NotFound,
    Skipped,
}

/// What a successful commit reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit timestamp, if the transaction wrote or was tracked by SSI.
    pub commit_ts: Option<CommitTs>,
}

/// A running transaction. Dropping it without commit rolls it back.
pub struct Transaction {
    db: Database,
    id: TxnId,
    options: TxnOptions,
    done: bool,
    synchronous_commit: bool,
    /// The core's `snapshot_observed` is known to be set (it never clears): no more need to
    /// take the mutex at the end of each statement.
    snapshot_observed: bool,
    /// The core's `met_pending`: whether [`Transaction::answer_wait`] needs to look at all.
    met_pending: Arc<AtomicBool>,
}

impl Transaction {
    pub(super) fn new(
        db: Database,
        id: TxnId,
        options: TxnOptions,
        met_pending: Arc<AtomicBool>,
    ) -> Self {
        Transaction {
            db,
            id,
            options,
            done: false,
            synchronous_commit: true,
            snapshot_observed: false,
            met_pending,
        }
    }

    /// The transaction's id (shown as `T<id>` in explanations).
    pub fn id(&self) -> TxnId {
        self.id
    }

    pub fn options(&self) -> TxnOptions {
        self.options
    }

    /// The longest a single row-lock wait may last before 55P03; `None`: no limit.
    pub fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.db.shared.inner.lock().txn_mut(self.id).lock_timeout = timeout;
    }

    /// On a standby: the longest a serializable transaction waits for a safe snapshot before
    /// its first statement fails (57014); `None`: one second (`DEFAULT_SAFE_SNAPSHOT_WAIT`).
    pub fn set_safe_snapshot_wait(&mut self, wait: Option<Duration>) {
        self.db.shared.inner.lock().txn_mut(self.id).safe_snapshot_wait = wait;
    }

    /// Marks the start of a statement: Read Committed and Read Uncommitted take a new snapshot.
    pub fn start_statement(&mut self) {
        if !self.options.level.transaction_snapshot() {
            self.db.shared.inner.lock().txn_mut(self.id).snapshot = None;
        }
    }

    /// Starts tracing the statement about to run, for EXPLAIN ANALYZE (see `trace.rs`).
    pub fn begin_trace(&mut self) {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        if !guard.active.contains_key(&id) {
            return;
        }
        let start = TraceStart {
            row_locks: row_locks_of(&guard, id),
            sireads: guard
                .ssi
                .reads_of(id)
                .iter()
                .map(|t| describe_read(&guard.catalog, t))
                .collect(),
            edges: guard.ssi.edges_of(id),
            writes: guard.txn(id).writes.len(),
        };
        guard.txn_mut(id).trace = Some(Box::new(StatementTrace { start, ..Default::default() }));
    }

    /// Ends the trace [`Transaction::begin_trace`] started: what the statement did.
    pub fn finish_trace(&mut self) -> IsolationReport {
        let id = self.id;
        let level = self.options.level;
        let mut guard = self.db.shared.inner.lock();
        let mut report = IsolationReport { txn: id, level: level.sql(), ..Default::default() };
        let Some(trace) = guard.active.get_mut(&id).and_then(|t| t.trace.take()) else {
            return report;
        };
        let StatementTrace { rows_read, skipped, waits, start } = *trace;
        report.snapshot = guard.txn(id).snapshot;
        report.rows_read = rows_read.into_iter().collect();
        report.rows_written = guard.txn(id).writes.len().saturating_sub(start.writes);
        let mut by_writer: BTreeMap<(TxnId, bool), Vec<String>> = BTreeMap::new();
        for ((writer, verb, committed), rows) in skipped {
            let n = rows.len();
            let rows = if n == 1 { "row" } else { "rows" };
            by_writer.entry((writer, committed)).or_default().push(format!("{verb} {n} {rows}"));
        }
        report.skipped = by_writer
            .into_iter()
            .map(|((writer, committed), did)| {
                let when = match committed {
                    true => "committed after the snapshot",
                    false => "not committed",
                };
                format!("T{writer} {} ({when})", did.join(", "))
            })
            .collect();
        report.row_locks_taken =
            row_locks_of(&guard, id).into_iter().filter(|l| !start.row_locks.contains(l)).collect();
        report.waits = waits
            .into_iter()
            .map(|w| {
                let whom: Vec<String> = w.blockers.iter().map(|b| format!("T{b}")).collect();
                (format!("{} held by {}: {}", w.what, whom.join(", "), w.outcome), w.waited)
            })
            .collect();
        if level == IsolationLevel::Serializable {
            let sireads: Vec<String> = guard
                .ssi
                .reads_of(id)
                .iter()
                .map(|t| describe_read(&guard.catalog, t))
                .filter(|d| !start.sireads.contains(d))
                .collect();
            report.sireads_added = Some(sireads);
            let mut edges: Vec<(TxnId, TxnId, String)> =
                guard.ssi.edges_of(id).into_iter().filter(|e| !start.edges.contains(e)).collect();
            edges.sort();
            report.rw_dependencies =
                edges.into_iter().map(|(r, w, why)| format!("T{r} -rw-> T{w} ({why})")).collect();
        }
        report
    }

    /// Marks the end of a statement that ran to an answer (rows, a count or an error): what it
    /// read with the transaction snapshot may now have reached the client, so from here on a
    /// row committed after that snapshot fails the transaction (40001) instead of restarting
    /// the statement with a newer snapshot ([`Error::RestartStatement`]).
    pub fn finish_statement(&mut self) {
        // Only a snapshot level with restarts has a snapshot to mark, and only once.
        if self.snapshot_observed
            || !self.options.restartable_statements
            || !self.options.level.transaction_snapshot()
        {
            return;
        }
        let mut guard = self.db.shared.inner.lock();
        let t = guard.txn_mut(self.id);
        if t.snapshot.is_some() {
            t.snapshot_observed = true;
            self.snapshot_observed = true;
        }
    }

    /// What the answer to the statement that just ran must wait for before it may reach the
    /// client: the visibility of the pending commits it met, decided but not yet durable (see
    /// mvcc.rs, EARLY LOCK RELEASE); `None` when nothing. `count_only`: the answer is a row
    /// count of a point UPDATE or DELETE by primary key (no rows, no RETURNING, no error),
    /// which shows nothing of an updated row it met. Call it once per statement (successful
    /// or not), before the transaction commits or rolls back.
    pub fn answer_wait(&mut self, count_only: bool) -> Option<AnswerWait> {
        if !self.met_pending.load(Ordering::Relaxed) {
            return None;
        }
        let mut guard = self.db.shared.inner.lock();
        let t = guard.txn_mut(self.id);
        let until = if count_only { t.met_revealing } else { t.observed.max(t.met_revealing) };
        t.met_revealing = 0;
        if until <= guard.last_commit {
            return None;
        }
        // The newest record at or below `until` that must be durable (records are durable
        // in order, and commits become visible in timestamp order).
        let (lsn, commit) = guard
            .pending
            .iter()
            .take_while(|p| p.ts <= until)
            .filter_map(|p| p.durable_at.map(|lsn| (lsn, p.txn)))
            .max()?;
        let log = guard.log.clone()?;
        Some(AnswerWait { db: self.db.clone(), lsn, log, commit })
    }

    /// Whether it has written anything (rows or DDL) that its commit would log.
    pub fn has_writes(&self) -> bool {
        let inner = self.db.shared.inner.lock();
        let t = inner.txn(self.id);
        !t.writes.is_empty() || !t.ddl.is_empty()
    }

    /// Whether an earlier step failed, so that only rollback (to a savepoint) is possible.
    pub fn is_failed(&self) -> bool {
        self.db.shared.inner.lock().txn(self.id).failed
    }

    /// Runs one step: refuses if failed or doomed, takes the snapshot, marks failure.
    fn run<T>(
        &mut self,
        step: impl FnOnce(&mut MutexGuard<'_, Inner>, TxnId, CommitTs) -> Result<T>,
    ) -> Result<T> {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        let result = check_usable(&guard, id)
            .and_then(|()| ensure_snapshot(&mut guard, id))
            .and_then(|snapshot| step(&mut guard, id, snapshot));
        if result.as_ref().is_err_and(|e| !matches!(e, Error::WouldWait | Error::RestartStatement))
        {
            guard.txn_mut(id).failed = true;
        }
        result
    }

    /// Waits as an async task. While `Some`, a step that must wait for its row's lock (an
    /// update's, delete's, lock's or insert's own row, before it has written anything) queues
    /// the wait with this wakeup and fails at once with [`Error::WouldWait`], the transaction
    /// left usable and waiting; the task awaits the wakeup, follows the wait with
    /// [`Transaction::poll_task_wait`] and, once it is granted, runs the statement again (the
    /// lock is then held). Any other wait fails with [`Error::WouldWait`] without queueing:
    /// the statement must then run again where it may block. The server uses this for
    /// statements that write at most one row and write nothing before their waits.
    pub fn wait_as_task(&mut self, wakeup: Option<Arc<tokio::sync::Notify>>) {
        self.db.shared.inner.lock().txn_mut(self.id).task_wakeup = wakeup;
    }

    /// Whether the transaction is queued for a row lock.
    pub fn is_waiting_for_lock(&self) -> bool {
        self.db.shared.inner.lock().locks.is_waiting(self.id)
    }

    /// Where a row-lock wait left to the task stands (see [`Transaction::wait_as_task`]): over
    /// (granted, or nothing queued), failed (a cancel request or a lock or statement timeout:
    /// the wait is withdrawn and the transaction failed), or pending until a deadline.
    pub fn poll_task_wait(&mut self, now: Instant) -> TaskWaitPoll {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        if !guard.locks.is_waiting(id) {
            guard.txn_mut(id).task_wait = None;
            return TaskWaitPoll::Over;
        }
        let wait = guard.txn(id).task_wait.clone();
        let (lock_deadline, statement_deadline, detail) = match wait {
            Some(w) => (w.lock_deadline, w.statement_deadline, w.detail),
            None => (None, None, String::new()),
        };
        let deadline = match (lock_deadline, statement_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // As a blocking wait decides (`mvcc::acquire_lock`): the earlier deadline names it.
        let error = if std::mem::take(&mut guard.txn_mut(id).cancel_requested) {
            Some(Error::QueryCanceled("canceling statement due to user request".into()))
        } else if deadline.is_some_and(|d| d <= now) {
            Some(if lock_deadline == deadline {
                Error::LockNotAvailable {
                    message: "canceling statement due to lock timeout".into(),
                    detail,
                }
            } else {
                Error::QueryCanceled("canceling statement due to statement timeout".into())
            })
        } else {
            None
        };
        match error {
            Some(e) => {
                guard.locks.cancel_wait(id);
                let t = guard.txn_mut(id);
                t.task_wait = None;
                t.failed = true;
                TaskWaitPoll::Failed(e)
            }
            None => TaskWaitPoll::Pending(deadline),
        }
    }

    /// Sets when the current statement must stop waiting for locks (statement_timeout), and
    /// clears a cancel request left over from an earlier statement.
    pub fn set_statement_deadline(&mut self, deadline: Option<std::time::Instant>) {
        let mut guard = self.db.shared.inner.lock();
        let t = guard.txn_mut(self.id);
        t.statement_deadline = deadline;
        t.cancel_requested = false;
    }

    /// Takes a cancel request that arrived while the statement was running (not waiting): the
    /// executor polls this between rows.
    pub fn take_cancel_request(&mut self) -> bool {
        let mut guard = self.db.shared.inner.lock();
        std::mem::take(&mut guard.txn_mut(self.id).cancel_requested)
    }

    /// Inserts a row unless its primary key or a unique key is taken (`INSERT ... ON CONFLICT`):
    /// returns false, with nothing written and the transaction still usable, on such a conflict.
    /// A conflicting row whose writer is still running is waited for first.
    pub fn insert_unless_conflict(&mut self, table: TableId, row: Row) -> Result<bool> {
        self.run(|g, id, snapshot| match checked_insert(g, id, snapshot, table, row) {
            Ok(()) => Ok(true),
            Err(Error::UniqueViolation { .. }) => Ok(false),
            Err(e) => Err(e),
        })
    }

    /// Reads a row by primary key.
    pub fn get(&mut self, table: TableId, key: &Key) -> Result<Option<Row>> {
        self.run(|g, id, snapshot| read_row(g, id, snapshot, table, key))
    }

    /// Reads the rows whose primary keys fall in a range, in key order.
    pub fn scan(&mut self, table: TableId, range: KeyRange) -> Result<Vec<(Key, Row)>> {
        self.run(|g, id, snapshot| {
            scan_table(g, id, snapshot, table, &range, usize::MAX, PackedRow::unpack)
        })
    }

    /// [`Transaction::scan`] of at most `limit` visible rows: the first part of a scan done
    /// in parts. The caller continues after the last key returned when it got `limit` rows;
    /// the parts together read (and, at Serializable, SIREAD-lock) exactly the whole range,
    /// all at the statement's one snapshot. Between parts the database mutex is free, and
    /// the caller checks for a cancel or a statement timeout.
    pub fn scan_part(
        &mut self,
        table: TableId,
        range: KeyRange,
        limit: usize,
    ) -> Result<Vec<(Key, Row)>> {
        self.run(|g, id, snapshot| {
            scan_table(g, id, snapshot, table, &range, limit, PackedRow::unpack)
        })
    }

    /// How many rows of `range` this transaction sees, counting at most `limit`: a
    /// [`Transaction::scan_part`] that copies no row out (`SELECT count(*)`). Returns the
    /// count and, when it reached `limit`, the last row's key (the next part starts after it).
    pub fn count_part(
        &mut self,
        table: TableId,
        range: KeyRange,
        limit: usize,
    ) -> Result<(usize, Option<Key>)> {
        self.run(|g, id, snapshot| visit_table(g, id, snapshot, table, &range, limit, |_, _| {}))
    }

    /// Every row of a table as it stands now, whatever the snapshot: this transaction's own
    /// version of a row, else its newest committed one (decided commits included). What DDL
    /// checks and rewrites existing rows against, holding the table's exclusive lock, so no
    /// other transaction's change is in flight. Not an SSI read (DDL is not part of the
    /// dependency graph; its lock orders it against every user of the table).
    pub fn scan_current(&mut self, table: TableId) -> Result<Vec<(Key, Row)>> {
        let id = self.id;
        let guard = self.db.shared.inner.lock();
        check_usable(&guard, id)?;
        guard.catalog.table(table)?;
        let view = View::Snapshot(CommitTs::MAX);
        let mut rows = Vec::new();
        for (key, chain) in guard.store.scan(table, (Bound::Unbounded, Bound::Unbounded)) {
            if let Some(row) = visible_version(&chain, id, view).0.and_then(|v| v.row.as_ref()) {
                rows.push((key.into_owned(), row.unpack()));
            }
        }
        Ok(rows)
    }

    /// Calls `visit` for each row of a table as it stands now (as [`Transaction::scan_current`]
    /// reads them), in key order, under the database mutex: DDL that needs a few columns of a
    /// big table takes them without copying every row.
    pub fn visit_current(
        &mut self,
        table: TableId,
        visit: &mut dyn FnMut(&Key, &PackedRow),
    ) -> Result<()> {
        let id = self.id;
        let guard = self.db.shared.inner.lock();
        check_usable(&guard, id)?;
        guard.catalog.table(table)?;
        let view = View::Snapshot(CommitTs::MAX);
        for (key, chain) in guard.store.scan(table, (Bound::Unbounded, Bound::Unbounded)) {
            if let Some(row) = visible_version(&chain, id, view).0.and_then(|v| v.row.as_ref()) {
                visit(&key, row);
            }
        }
        Ok(())
    }

    /// [`Transaction::scan_current`] with, per row, whether the transaction's snapshot sees
    /// that same version (a referential check at Repeatable Read must not act on a row its
    /// snapshot cannot see: that is a serialization failure). Holds SIREAD-free, as DDL's.
    pub fn scan_current_marked(&mut self, table: TableId) -> Result<Vec<(Key, Row, bool)>> {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        check_usable(&guard, id)?;
        let snapshot = ensure_snapshot(&mut guard, id)?;
        guard.catalog.table(table)?;
        let mut rows = Vec::new();
        for (key, chain) in guard.store.scan(table, (Bound::Unbounded, Bound::Unbounded)) {
            let (current, _) = visible_version(&chain, id, View::Snapshot(CommitTs::MAX));
            if let Some(v) = current
                && let Some(row) = &v.row
            {
                let seen = visible_version(&chain, id, View::Snapshot(snapshot)).0;
                let same = seen.is_some_and(|s| std::ptr::eq(s, v));
                rows.push((key.clone().into_owned(), row.unpack(), same));
            }
        }
        Ok(rows)
    }

    /// The database this transaction runs in.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// [`Transaction::scan_part`] with the rows as the store keeps them (a checkpoint writes
    /// them so, without building their values).
    pub fn scan_limited_packed(
        &mut self,
        table: TableId,
        range: KeyRange,
        limit: usize,
    ) -> Result<Vec<(Key, PackedRow)>> {
        self.run(|g, id, snapshot| {
            scan_table(g, id, snapshot, table, &range, limit, PackedRow::clone)
        })
    }

    /// The rows of `keys` (of one table) this transaction sees, as the store keeps them, under
    /// one hold of the mutex (a checkpoint writing the rows changed since the last one).
    pub fn read_packed(&mut self, table: TableId, keys: &[Key]) -> Result<Vec<Option<PackedRow>>> {
        self.run(|g, id, snapshot| {
            g.catalog.table(table)?;
            let view = view_of(g, id, snapshot);
            Ok(keys
                .iter()
                .map(|key| {
                    let chain = g.store.chain(table, key)?;
                    visible_version(&chain, id, view).0.and_then(|v| v.row.clone())
                })
                .collect())
        })
    }

    /// Reads the rows whose index keys fall in a range, in index order, as `(primary key, row)`.
    pub fn scan_index(&mut self, index: IndexId, range: KeyRange) -> Result<Vec<(Key, Row)>> {
        self.run(|g, id, snapshot| {
            scan_index(g, id, snapshot, index, &range, false, IndexPart::Whole)
                .map(|(rows, _)| rows)
        })
    }

    /// One part of an index range scan: at most `limit` index entries from the range (those
    /// after `after`, an entry a previous part ended on), read as [`Transaction::scan_index`]
    /// reads them, and the entry to go on after (`None`: the range is done). The parts of a
    /// range together read it exactly as one call would (their SSI read ranges cover it);
    /// between them the database mutex is free and the caller may check for cancellation.
    pub fn scan_index_part(
        &mut self,
        index: IndexId,
        range: KeyRange,
        after: Option<(Key, Key)>,
        limit: usize,
    ) -> Result<IndexScanPart> {
        self.run(|g, id, snapshot| {
            scan_index(
                g,
                id,
                snapshot,
                index,
                &range,
                false,
                IndexPart::After(after.as_ref(), limit),
            )
        })
    }

    /// [`Transaction::scan_index`] that never reads uncommitted data, even at Read
    /// Uncommitted (where a foreign key check must lock the committed parent row and wait for
    /// its deleter, as at Read Committed).
    pub fn scan_index_committed(
        &mut self,
        index: IndexId,
        range: KeyRange,
    ) -> Result<Vec<(Key, Row)>> {
        self.run(|g, id, snapshot| {
            scan_index(g, id, snapshot, index, &range, true, IndexPart::Whole).map(|(rows, _)| rows)
        })
    }

    /// Inserts a row; its primary key and unique keys must be new.
    pub fn insert(&mut self, table: TableId, row: Row) -> Result<()> {
        self.run(|g, id, snapshot| checked_insert(g, id, snapshot, table, row))
    }

    /// Inserts rows in order as [`Transaction::insert`] does one by one, under one hold of the
    /// database mutex (a bulk load's batch: COPY, a many-row INSERT); stops at the first error,
    /// the rows before it inserted as they would have been one by one. Empties `rows`.
    pub fn insert_all(&mut self, table: TableId, rows: &mut Vec<Row>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.run(|g, id, snapshot| {
            rows.drain(..).try_for_each(|row| checked_insert(g, id, snapshot, table, row))
        })
    }

    /// Updates or deletes a row following the level's write rules (module doc). `change` sees
    /// the newest version after the row lock is taken and decides what to do with it.
    pub fn modify(
        &mut self,
        table: TableId,
        key: &Key,
        policy: WaitPolicy,
        change: impl FnOnce(&Row) -> Change,
    ) -> Result<Modified> {
        let locked = self.run(|g, id, snapshot| {
            if g.txn(id).read_only {
                return Err(read_only_error(g));
            }
            lock_row(g, id, snapshot, table, key, LockMode::NoKeyUpdate, policy, "change")
        })?;
        let row = match locked {
            LockOutcome::Locked(row) => row,
            LockOutcome::NotFound => return Ok(Modified::NotFound),
            LockOutcome::Skipped => return Ok(Modified::Skipped),
        };
        let change = change(&row);
        self.run(|g, id, snapshot| apply_change(g, id, snapshot, table, key, row, change, policy))
    }

    /// Updates a row: `f` gets the newest version and returns the new row, or `None` to leave
    /// it (its condition no longer holds).
    pub fn update(
        &mut self,
        table: TableId,
        key: &Key,
        f: impl FnOnce(&Row) -> Option<Row>,
    ) -> Result<Modified> {
        self.modify(table, key, WaitPolicy::Wait, |row| f(row).map_or(Change::Keep, Change::Update))
    }

    /// Deletes a row; returns whether one was deleted.
    pub fn delete(&mut self, table: TableId, key: &Key) -> Result<bool> {
        let outcome = self.modify(table, key, WaitPolicy::Wait, |_| Change::Delete)?;
        Ok(outcome == Modified::Deleted)
    }

    /// Locks a referenced row FOR KEY SHARE for a foreign key check, as [`Transaction::lock`]
    /// does but never reading uncommitted data: at Read Uncommitted too, the check waits for
    /// an uncommitted delete of the parent (as at Read Committed) instead of trusting it.
    pub fn lock_referenced(&mut self, table: TableId, key: &Key) -> Result<LockOutcome> {
        self.run(|g, id, snapshot| {
            lock_row(g, id, snapshot, table, key, LockMode::KeyShare, WaitPolicy::Wait, KEY_CHECK)
        })
    }

    /// Locks a row (`SELECT ... FOR <mode>`), following the level's write rules.
    pub fn lock(
        &mut self,
        table: TableId,
        key: &Key,
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<LockOutcome> {
        self.run(|g, id, snapshot| {
            if g.txn(id).read_only {
                return Err(read_only_error(g));
            }
            lock_row(g, id, snapshot, table, key, mode, policy, "lock")
        })
    }

    /// Takes a table-level lock, held to the end of the transaction (or a rollback to a
    /// savepoint set before it): shared (`exclusive` false) by every statement that reads or
    /// writes the table, exclusive by DDL, so DDL waits for every transaction that used the
    /// table and they wait for it (PostgreSQL's ACCESS SHARE / ROW EXCLUSIVE against ACCESS
    /// EXCLUSIVE). Waits like a row lock: deadlock detection, lock_timeout, cancel, and on an
    /// async task [`Error::WouldWait`] (run the statement again once granted). Taken before
    /// the statement's snapshot, so a statement that waited reads what the DDL left.
    pub fn lock_relation(&mut self, table: TableId, exclusive: bool) -> Result<()> {
        let mode = if exclusive { LockMode::Update } else { LockMode::KeyShare };
        self.lock_target(&LockTarget::relation(table), mode)
    }

    /// Takes a relation's shared table-level lock only if it can be had at once: `false`, and
    /// nothing queued, when DDL holds or waits for it (the caller then runs the statement where
    /// it may block). For statements run on an async task, which must never block its thread.
    pub fn try_lock_relation_shared(&mut self, table: TableId) -> Result<bool> {
        let id = self.id;
        let target = LockTarget::relation(table);
        let mut guard = self.db.shared.inner.lock();
        check_usable(&guard, id)?;
        if guard.locks.held_mode(id, &target).is_some() {
            return Ok(true);
        }
        acquire_lock(&mut guard, id, &target, LockMode::KeyShare, WaitPolicy::SkipLocked, true)
    }

    /// Takes the exclusive lock on a relation name this transaction creates, so a second
    /// transaction creating the same name waits for the first to end.
    pub fn lock_relation_name(&mut self, name: &str) -> Result<()> {
        self.lock_target(&LockTarget::relation_name(name), LockMode::Update)
    }

    fn lock_target(&mut self, target: &LockTarget, mode: LockMode) -> Result<()> {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        check_usable(&guard, id)?;
        if guard.locks.held_mode(id, target).is_some_and(|held| held >= mode) {
            return Ok(());
        }
        let result = acquire_lock(&mut guard, id, target, mode, WaitPolicy::Wait, true).map(|_| ());
        if result.as_ref().is_err_and(|e| !matches!(e, Error::WouldWait | Error::RestartStatement))
        {
            guard.txn_mut(id).failed = true;
        }
        result
    }

    /// Sets the schema changes this transaction made, to be logged with its commit (replaces
    /// what was set before: the caller keeps the list, rolled back with savepoints).
    pub fn set_ddl(&mut self, ddl: Vec<crate::wal::DdlRecord>) {
        self.db.shared.inner.lock().txn_mut(self.id).ddl = ddl;
    }

    /// `SAVEPOINT name`.
    /// Whether a savepoint is set (ROLLBACK TO could go back to it).
    pub fn has_savepoints(&self) -> bool {
        !self.db.shared.inner.lock().txn(self.id).savepoints.is_empty()
    }

    pub fn savepoint(&mut self, name: &str) -> Result<()> {
        let mut guard = self.db.shared.inner.lock();
        check_usable(&guard, self.id)?;
        let t = guard.txn_mut(self.id);
        t.subtxn = t.next_subtxn;
        t.next_subtxn += 1;
        let subtxn = t.subtxn;
        t.savepoints.push((name.to_string(), subtxn));
        Ok(())
    }

    /// `RELEASE SAVEPOINT name`: forgets it and every later one, keeping their work.
    pub fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        let result = check_usable(&guard, id).and_then(|()| {
            let t = guard.txn_mut(id);
            let pos = find_savepoint(&t.savepoints, name)?;
            t.savepoints.truncate(pos);
            Ok(())
        });
        if result.is_err() {
            guard.txn_mut(id).failed = true;
        }
        result
    }

    /// `ROLLBACK TO SAVEPOINT name`: undoes the writes and releases the locks taken since, and
    /// clears a statement-level failure. A transaction doomed by SSI stays doomed.
    pub fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let since = self.undo_to_savepoint(name)?;
        self.release_locks_since(since);
        Ok(())
    }

    /// The first half of [`Transaction::rollback_to_savepoint`]: the writes go, the locks
    /// taken since stay until [`Transaction::release_locks_since`] with what this returns (so
    /// a caller can undo more, its catalog changes, before waiters go on).
    pub fn undo_to_savepoint(&mut self, name: &str) -> Result<SavepointMark> {
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        let t = guard.txn_mut(id);
        let pos = match find_savepoint(&t.savepoints, name) {
            Ok(pos) => pos,
            Err(e) => {
                t.failed = true;
                return Err(e);
            }
        };
        let subtxn = t.savepoints[pos].1;
        t.savepoints.truncate(pos + 1);
        t.subtxn = subtxn;
        t.failed = false;
        guard.undo_writes_since(id, subtxn);
        Ok(SavepointMark(subtxn))
    }

    /// Releases the locks taken since a savepoint [`Transaction::undo_to_savepoint`] went back
    /// to.
    pub fn release_locks_since(&mut self, since: SavepointMark) {
        self.db.shared.inner.lock().locks.release_since(self.id, since.0);
    }

    /// Commits. A failed transaction is rolled back instead and 25P02 returned; a
    /// serialization failure at commit rolls back too.
    pub fn commit(self) -> Result<CommitInfo> {
        match self.commit_start()? {
            CommitProgress::Done(info) => Ok(info),
            CommitProgress::Logged(wait) => wait.wait_blocking(),
        }
    }

    /// The first half of [`Transaction::commit`]: checks, logs the commit record and returns
    /// without waiting for the disk. With [`CommitProgress::Logged`] the commit is decided (its
    /// row locks already released: early lock release) but neither visible nor acknowledged
    /// until [`CommitWait::durable`] has seen the record reach the disk.
    pub fn commit_start(mut self) -> Result<CommitProgress> {
        self.done = true;
        let id = self.id;
        let mut guard = self.db.shared.inner.lock();
        if let Err(e) = check_usable(&guard, id) {
            guard.rollback(id);
            return Err(e);
        }
        let step = match guard.commit(id, self.synchronous_commit) {
            Ok(step) => step,
            Err(e) => {
                guard.rollback(id);
                return Err(e);
            }
        };
        match step {
            CommitStep::Done(commit_ts) => Ok(CommitProgress::Done(CommitInfo { commit_ts })),
            CommitStep::WaitDurable { ts, lsn, log } => {
                let wait = CommitWait { db: self.db.clone(), id, ts, lsn, log, finished: false };
                Ok(CommitProgress::Logged(wait))
            }
        }
    }

    /// Whether COMMIT waits until the commit record is durable (`on`, the default) or
    /// returns before that (`off`: a crash may lose the last moments' commits, never
    /// corrupt anything). Decided at commit time, like PostgreSQL's `synchronous_commit`.
    pub fn set_synchronous_commit(&mut self, on: bool) {
        self.synchronous_commit = on;
    }

    /// Rolls back.
    /// Takes back every write of the transaction now, keeping it open with its locks: a
    /// rollback that must undo more (catalog changes of its DDL) before anyone waiting for its
    /// locks goes on calls this, undoes the rest, then [`Transaction::rollback`].
    pub fn discard_writes(&mut self) {
        self.db.shared.inner.lock().undo_writes_since(self.id, 0);
    }

    pub fn rollback(mut self) {
        self.done = true;
        self.db.shared.inner.lock().rollback(self.id);
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.done {
            self.db.shared.inner.lock().rollback(self.id);
        }
    }
}

/// Where [`Transaction::undo_to_savepoint`] went back to.
#[derive(Clone, Copy, Debug)]
pub struct SavepointMark(crate::storage::SubTxnId);

/// See [`Transaction::poll_task_wait`].
#[derive(Debug)]
pub enum TaskWaitPoll {
    /// Not waiting: granted (run the statement again) or never queued.
    Over,
    /// Still queued; look again when woken or at this deadline.
    Pending(Option<Instant>),
    /// The wait ended in this error (withdrawn; the transaction is failed).
    Failed(Error),
}

/// Where a commit stands after [`Transaction::commit_start`].
pub enum CommitProgress {
    /// Committed and visible (nothing to log, or synchronous_commit off).
    Done(CommitInfo),
    /// The commit record is in the log; wait for it with [`CommitWait::durable`].
    Logged(CommitWait),
}

/// A commit whose record waits to be durable. Dropped without waiting (its task ended), a
/// thread finishes the wait: the commit still becomes visible once durable; only its
/// acknowledgement is lost, as when a client disconnects. (Its row locks went when the commit
/// was decided.)
pub struct CommitWait {
    db: Database,
    id: TxnId,
    ts: CommitTs,
    lsn: crate::wal::Lsn,
    log: std::sync::Arc<crate::wal::Log>,
    finished: bool,
}

impl Drop for CommitWait {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (db, id, ts, lsn, log) =
            (self.db.clone(), self.id, self.ts, self.lsn, self.log.clone());
        let wait_and_publish = move || {
            let durable = log.wait_durable(lsn);
            let _ = finish_commit(&db, id, ts, durable);
        };
        // Off the dropping (async) thread; inline only if no thread can be had.
        let work = std::sync::Arc::new(parking_lot::Mutex::new(Some(wait_and_publish)));
        let for_thread = work.clone();
        let spawned = std::thread::Builder::new()
            .name("isola-commit-wait".into())
            .spawn(move || for_thread.lock().take().map(|f| f()));
        if spawned.is_err()
            && let Some(f) = work.lock().take()
        {
            f();
        }
    }
}

impl CommitWait {
    /// Waits, blocking the thread, then makes the commit visible.
    pub fn wait_blocking(mut self) -> Result<CommitInfo> {
        let durable = self.log.wait_durable(self.lsn);
        self.finished = true;
        finish_commit(&self.db, self.id, self.ts, durable)
    }

    /// Waits without blocking a thread (the log's writer does the write and sync), then makes
    /// the commit visible.
    pub async fn durable(mut self) -> Result<CommitInfo> {
        let durable = self.log.durable(self.lsn).await;
        self.finished = true;
        finish_commit(&self.db, self.id, self.ts, durable)
    }
}

/// An answer's wait for pending commits to become visible ([`Transaction::answer_wait`]).
#[must_use]
pub struct AnswerWait {
    db: Database,
    lsn: crate::wal::Lsn,
    log: std::sync::Arc<crate::wal::Log>,
    /// The newest of the pending commits waited for (the earlier ones reach the disk first).
    commit: crate::storage::TxnId,
}

impl AnswerWait {
    /// What the answer waits for, as `isola_stat_activity.waiting_for` shows it.
    pub fn describe(&self) -> String {
        format!(
            "the disk: T{}'s commit, whose rows this statement met, is decided but not yet \
             durable; the answer is sent once it is",
            self.commit
        )
    }

    /// Waits without blocking a thread, then makes what is durable visible.
    pub async fn visible(self) -> Result<()> {
        let durable = self.log.durable(self.lsn).await;
        settle_pending(&self.db, durable)
    }

    /// Waits, blocking the thread, then makes what is durable visible.
    pub fn visible_blocking(self) -> Result<()> {
        let durable = self.log.wait_durable(self.lsn);
        settle_pending(&self.db, durable)
    }

    /// The later of two waits (each is for a prefix of the log).
    pub fn max(self, other: AnswerWait) -> AnswerWait {
        if other.lsn > self.lsn { other } else { self }
    }
}

/// After a wait for the log: publishes what is durable, or after a log failure abandons what
/// is not (the waiter gets the error).
fn settle_pending(db: &Database, durable: Result<()>) -> Result<()> {
    let mut guard = db.shared.inner.lock();
    match durable {
        Ok(()) => {
            guard.publish_ready();
            Ok(())
        }
        Err(e) => {
            guard.abandon_pending();
            Err(match e {
                Error::OutcomeUnknown(_) => e,
                e => log_failed(&e.to_string()),
            })
        }
    }
}

/// After a logged commit's wait: publishes it (and every earlier durable commit), or on a log
/// failure abandons what did not reach the disk.
fn finish_commit(
    db: &Database,
    id: TxnId,
    ts: CommitTs,
    durable: Result<()>,
) -> Result<CommitInfo> {
    let mut guard = db.shared.inner.lock();
    match durable {
        Ok(()) => {
            guard.publish_ready();
            debug_assert!(!guard.active.contains_key(&id), "published");
            Ok(CommitInfo { commit_ts: Some(ts) })
        }
        Err(e) => {
            guard.abandon_pending();
            if guard.active.contains_key(&id) {
                guard.rollback(id);
            }
            Err(match e {
                // A replicated log's leader stepped down: the outcome is unknown (08007).
                Error::OutcomeUnknown(_) => e,
                e => log_failed(&e.to_string()),
            })
        }
    }
}

fn find_savepoint(savepoints: &[(String, u32)], name: &str) -> Result<usize> {
    savepoints
        .iter()
        .rposition(|(n, _)| n == name)
        .ok_or_else(|| Error::UndefinedSavepoint(name.to_string()))
}

fn check_usable(inner: &Inner, txn: TxnId) -> Result<()> {
    let t = inner.txn(txn);
    if t.failed
        && t.cancel_requested
        && let Some(reason) = &inner.standby
    {
        return Err(Error::StandbyRefusesWrite(format!(
            "the transaction was rolled back: this node stopped leading ({reason})"
        )));
    }
    if inner.txn(txn).failed {
        return Err(Error::TransactionAborted);
    }
    if let Some(detail) = inner.ssi.doomed(txn) {
        return Err(Error::serialization(
            "could not serialize access due to read/write dependencies among transactions",
            detail.to_string(),
        ));
    }
    Ok(())
}

/// The snapshot of the current statement (Read Committed) or transaction, taken now if needed.
/// A serializable transaction registers with SSI at its first snapshot; READ ONLY DEFERRABLE
/// waits here until its snapshot is safe, taking a new one each time one proves unsafe. On a
/// standby, a serializable transaction first waits for a state the leader marked a safe
/// snapshot (see mvcc.rs, SAFE SNAPSHOTS) and takes exactly that one.
fn ensure_snapshot(guard: &mut MutexGuard<'_, Inner>, txn: TxnId) -> Result<CommitTs> {
    loop {
        let t = guard.txn(txn);
        if let Some(snapshot) = t.snapshot {
            return Ok(snapshot);
        }
        // On a standby: the snapshot below is then that state (a standby's commits are
        // visible as they are applied: `next_commit` is above `last_commit` only by commits it
        // took back when it stepped down, whose versions are gone). Safe, it needs no SSI: the
        // standby's own SSI knows only transactions of an ended leadership, which never commit.
        let at_safe_state = t.level == IsolationLevel::Serializable
            && guard.standby.is_some()
            && wait_for_safe_snapshot(guard, txn)?;
        let t = guard.txn(txn);
        let (level, read_only, deferrable, registered) =
            (t.level, t.read_only, t.deferrable, t.ssi_registered);
        // A transaction snapshot includes every decided commit, pending ones too: one taken
        // below a decided commit is doomed to fail (40001) if it writes what that commit
        // wrote, and reading a pending version only holds the answer until it is durable. A
        // statement snapshot (Read Committed) is the visible state, never before a pending
        // commit the transaction met (see mvcc.rs, EARLY LOCK RELEASE).
        let snapshot = if level.transaction_snapshot() {
            guard.next_commit
        } else {
            guard.last_commit.max(t.observed)
        };
        guard.txn_mut(txn).snapshot = Some(snapshot);
        if level != IsolationLevel::Serializable || registered || at_safe_state {
            return Ok(snapshot);
        }
        guard.txn_mut(txn).ssi_registered = true;
        let tracked = guard.ssi.register(txn, snapshot, read_only);
        if !(tracked && read_only && deferrable) {
            return Ok(snapshot);
        }
        let signal = guard.txn(txn).signal.clone();
        guard.txn_mut(txn).deferring = true;
        while guard.ssi.is_tracked(txn) && !guard.ssi.is_ro_unsafe(txn) {
            signal.wait(guard);
        }
        guard.txn_mut(txn).deferring = false;
        if !guard.ssi.is_ro_unsafe(txn) {
            return Ok(snapshot); // safe: no longer tracked, can never fail
        }
        guard.ssi.on_abort(txn);
        let t = guard.txn_mut(txn);
        t.snapshot = None;
        t.ssi_registered = false;
    }
}

/// A standby: waits until its current state is one the leader marked a safe snapshot (at
/// once if it is), bounded by the transaction's safe-snapshot wait and the statement's
/// deadline; a cancel request ends it too. Returns with the mutex held: true at a state marked
/// safe, false if the standby became the primary meanwhile (its own SSI then covers the
/// transaction).
fn wait_for_safe_snapshot(guard: &mut MutexGuard<'_, Inner>, txn: TxnId) -> Result<bool> {
    let t = guard.txn(txn);
    let wait = t.safe_snapshot_wait.unwrap_or(super::mvcc::DEFAULT_SAFE_SNAPSHOT_WAIT);
    let bound = Instant::now() + wait;
    let statement = t.statement_deadline.filter(|d| *d < bound);
    let deadline = statement.unwrap_or(bound);
    let signal = t.signal.clone();
    guard.txn_mut(txn).deferring = true;
    let outcome = loop {
        if guard.standby.is_none() {
            break Ok(false);
        }
        if guard.safe_snapshot_at == Some(guard.last_commit) {
            break Ok(true);
        }
        if std::mem::take(&mut guard.txn_mut(txn).cancel_requested) {
            break Err(Error::QueryCanceled("canceling statement due to user request".into()));
        }
        if signal.wait_until(guard, deadline).timed_out()
            && guard.standby.is_some()
            && guard.safe_snapshot_at != Some(guard.last_commit)
        {
            break Err(Error::QueryCanceled(match statement {
                Some(_) => "canceling statement due to statement timeout".into(),
                None => format!(
                    "canceling statement: no safe snapshot for a serializable transaction on \
                     this replica within {} ms (isola.staleness_wait): a serializable \
                     read-write transaction was running on the leader at every position \
                     applied meanwhile; retry, use REPEATABLE READ here, or run it on the leader",
                    wait.as_millis()
                ),
            }));
        }
    };
    guard.txn_mut(txn).deferring = false;
    outcome
}

/// How many times one transaction's snapshot may be dropped unobserved before a conflict
/// fails it as PostgreSQL would (40001): a bound on restarts under heavy contention.
const MAX_SNAPSHOT_REFRESHES: u32 = 16;

/// Repeatable Read and Serializable fail a transaction that must change a row committed after
/// its snapshot (first updater wins). When the conflict comes in the statement that took the
/// snapshot, before the transaction wrote anything, showed anything read with the snapshot or
/// made a savepoint, nothing depends on that snapshot yet: the transaction is then
/// indistinguishable from one that started after the conflicting commit. So the snapshot (and
/// the SSI record of what it read) is dropped, keeping the row locks already granted, and the
/// statement runs again with a new one. True when it was dropped.
fn refresh_unobserved_snapshot(guard: &mut MutexGuard<'_, Inner>, txn: TxnId) -> bool {
    let t = guard.txn(txn);
    let refreshable = t.restartable_statements
        && t.level.transaction_snapshot()
        && !t.snapshot_observed
        && t.writes.is_empty()
        && t.savepoints.is_empty()
        && t.snapshot_refreshes < MAX_SNAPSHOT_REFRESHES
        && guard.ssi.doomed(txn).is_none();
    if !refreshable {
        return false;
    }
    let registered = t.ssi_registered;
    if registered {
        guard.ssi.on_abort(txn);
    }
    let t = guard.txn_mut(txn);
    t.snapshot = None;
    t.ssi_registered = false;
    t.snapshot_refreshes += 1;
    true
}

fn view_of(inner: &Inner, txn: TxnId, snapshot: CommitTs) -> View {
    match inner.txn(txn).level {
        IsolationLevel::ReadUncommitted => View::Dirty,
        _ => View::Snapshot(snapshot),
    }
}

/// The row a transaction sees, the skipped writers, and whether the version is its own; a
/// version of a commit not yet visible is noted ([`Inner::note_met`]).
fn see(
    inner: &mut Inner,
    txn: TxnId,
    view: View,
    table: TableId,
    key: &Key,
) -> (Option<Row>, Vec<(TxnId, &'static str)>, bool) {
    let tracing = is_tracing(inner, txn);
    let mut traced = Vec::new();
    let (row, skipped, own, met) = match inner.store.chain(table, key) {
        Some(chain) => {
            let (version, skipped) = visible_version(&chain, txn, view);
            let own = version.is_some_and(|v| v.creator == txn);
            let met = version.and_then(|v| pending_meeting(&chain, v, txn, inner.last_commit));
            if tracing {
                traced = with_commit_state(&chain, &skipped, key);
            }
            (version.and_then(|v| v.row.as_ref()).map(PackedRow::unpack), skipped, own, met)
        }
        None => (None, Vec::new(), false, None),
    };
    if let Some((ts, reveals)) = met {
        inner.note_met(txn, ts, reveals);
    }
    if tracing {
        inner.trace_read(txn, table, u64::from(row.is_some()), &traced);
    }
    (row, skipped, own)
}

/// The row locks `txn` holds, described (for a trace).
fn row_locks_of(inner: &Inner, txn: TxnId) -> Vec<String> {
    let mut held: Vec<String> = inner
        .locks
        .snapshot()
        .into_iter()
        .filter(|(target, holder, _, granted)| {
            *holder == txn && *granted && !target.is_relation_level()
        })
        .map(|(target, _, mode, _)| {
            format!("{} on {}", target.mode_name(mode), inner.describe_target(&target))
        })
        .collect();
    held.sort();
    held
}

/// Whether `txn` traces its statement (EXPLAIN ANALYZE).
fn is_tracing(inner: &Inner, txn: TxnId) -> bool {
    inner.active.get(&txn).is_some_and(|t| t.trace.is_some())
}

/// Skipped versions' writers with whether each had committed (for a trace).
fn with_commit_state(
    chain: &crate::storage::VersionChain,
    skipped: &[(TxnId, &'static str)],
    key: &Key,
) -> Vec<(TxnId, &'static str, bool, Key)> {
    skipped
        .iter()
        .map(|&(writer, verb)| {
            let committed =
                chain.versions.iter().any(|v| v.creator == writer && v.commit_ts.is_some());
            (writer, verb, committed, key.clone())
        })
        .collect()
}

/// SSI bookkeeping for reading one row: conflict-out edges to the writers of versions too new
/// to see, and a SIREAD lock on the row unless the version read is our own.
fn track_row_read(
    inner: &mut Inner,
    txn: TxnId,
    table: TableId,
    key: &Key,
    skipped: Vec<(TxnId, &'static str)>,
    own: bool,
) -> Result<()> {
    if !inner.ssi.is_tracked(txn) {
        return Ok(());
    }
    track_conflicts_out(inner, txn, table, key, skipped)?;
    if !own {
        inner.ssi.add_read(txn, ReadTarget::Row { table, key: key.clone() });
    }
    Ok(())
}

fn read_row(
    inner: &mut Inner,
    txn: TxnId,
    snapshot: CommitTs,
    table: TableId,
    key: &Key,
) -> Result<Option<Row>> {
    inner.catalog.table(table)?;
    let view = view_of(inner, txn, snapshot);
    let (row, skipped, own) = see(inner, txn, view, table, key);
    track_row_read(inner, txn, table, key, skipped, own)?;
    Ok(row)
}

fn range_read_target(table: TableId, space: KeySpace, range: &KeyRange) -> ReadTarget {
    match range {
        (Bound::Unbounded, Bound::Unbounded) => ReadTarget::Relation { table },
        _ => ReadTarget::Range { table, space, range: range.clone() },
    }
}

/// The visible rows of a key range, up to `limit`, each taken out by `take` (unpacked, or
/// copied as stored).
#[allow(clippy::too_many_arguments)]
fn scan_table<T>(
    inner: &mut Inner,
    txn: TxnId,
    snapshot: CommitTs,
    table: TableId,
    range: &KeyRange,
    limit: usize,
    take: impl Fn(&PackedRow) -> T,
) -> Result<Vec<(Key, T)>> {
    let mut rows = Vec::new();
    visit_table(inner, txn, snapshot, table, range, limit, |key, row| {
        rows.push((key.clone(), take(row)))
    })?;
    Ok(rows)
}

/// [`scan_table`] that hands each visible row to `visit` instead of copying it out: up to
/// `limit` rows, the read recorded (trace, SSI) exactly as a scan's. Returns how many rows it
/// visited and, when it stopped at `limit`, the last one's key (where the next part starts).
fn visit_table(
    inner: &mut Inner,
    txn: TxnId,
    snapshot: CommitTs,
    table: TableId,
    range: &KeyRange,
    limit: usize,
    mut visit: impl FnMut(&Key, &PackedRow),
) -> Result<(usize, Option<Key>)> {
    inner.catalog.table(table)?;
    let view = view_of(inner, txn, snapshot);
    let (mut count, mut cut_at) = (0, None);
    let mut skipped_rows = Vec::new();
    let (visible, mut met) = (inner.last_commit, 0);
    let tracing = is_tracing(inner, txn);
    let mut traced = Vec::new();
    for (stored_key, stored_chain) in inner.store.scan(table, (range.0.as_ref(), range.1.as_ref()))
    {
        let (key, chain) = (&*stored_key, &*stored_chain);
        let (version, skipped) = visible_version(chain, txn, view);
        if !skipped.is_empty() {
            if tracing {
                traced.extend(with_commit_state(chain, &skipped, key));
            }
            skipped_rows.push((key.clone(), skipped));
        }
        met = met.max(pending_ts(version, txn, visible));
        if let Some(row) = version.and_then(|v| v.row.as_ref()) {
            visit(key, row);
            count += 1;
            if count >= limit {
                cut_at = Some(key.clone());
                break;
            }
        }
    }
    inner.note_met(txn, met, true);
    if tracing {
        inner.trace_read(txn, table, count as u64, &traced);
    }
    if inner.ssi.is_tracked(txn) {
        // A scan cut short by its limit read only up to its last key.
        let read = match &cut_at {
            Some(last) => (range.0.clone(), Bound::Included(last.clone())),
            None => range.clone(),
        };
        inner.ssi.add_read(txn, range_read_target(table, KeySpace::Table(table), &read));
        for (key, skipped) in skipped_rows {
            track_conflicts_out(inner, txn, table, &key, skipped)?;
        }
    }
    Ok((count, cut_at))
}

/// The commit timestamp of a version met in a scan when that commit is not yet visible; 0
/// otherwise. (A scan's answer always shows what it met.)
fn pending_ts(version: Option<&Version>, txn: TxnId, visible: CommitTs) -> CommitTs {
    version
        .filter(|v| v.creator != txn)
        .and_then(|v| v.commit_ts)
        .filter(|&c| c > visible)
        .unwrap_or(0)
}

fn track_conflicts_out(
    inner: &mut Inner,
    txn: TxnId,
    table: TableId,
    key: &Key,
    skipped: Vec<(TxnId, &'static str)>,
) -> Result<()> {
    for (writer, verb) in skipped {
        let what = inner.catalog.describe(KeySpace::Table(table), key);
        let reason = format!("T{txn} read {what}, which T{writer} {verb}");
        inner.ssi.on_conflict_out(txn, writer, reason)?;
    }
    Ok(())
}

/// Rows an index scan read (primary key, row), and the index entry (index key, primary key)
/// to go on after when it stopped at its limit.
pub type IndexScanPart = (Vec<(Key, Row)>, Option<(Key, Key)>);

/// How much of an index range one [`scan_index`] call reads.
enum IndexPart<'a> {
    /// All of it.
    Whole,
    /// At most this many entries, after this one (an entry: index key, primary key).
    After(Option<&'a (Key, Key)>, usize),
}

fn scan_index(
    inner: &mut Inner,
    txn: TxnId,
    snapshot: CommitTs,
    index: IndexId,
    range: &KeyRange,
    committed_only: bool,
    part: IndexPart<'_>,
) -> Result<IndexScanPart> {
    let def = inner.catalog.index(index)?.clone();
    let view =
        if committed_only { View::Snapshot(snapshot) } else { view_of(inner, txn, snapshot) };
    let (after, limit) = match part {
        IndexPart::Whole => (None, usize::MAX),
        IndexPart::After(after, limit) => (after, limit.max(1)),
    };
    // a part goes on from the index key it ended on (its entries after the primary key it
    // ended on): that key's SSI read is taken by both parts, which only covers more
    let resumed: KeyRange;
    let range: &KeyRange = match after {
        Some((ik, _)) => {
            resumed = (Bound::Included(ik.clone()), range.1.clone());
            &resumed
        }
        None => range,
    };
    let entries: Vec<(Key, Key)> = inner
        .store
        .index_scan(index, (range.0.as_ref(), range.1.as_ref()))
        .skip_while(|(ik, pk)| after.is_some_and(|(aik, apk)| **ik == *aik && **pk <= *apk))
        .take(limit)
        .map(|(ik, pk)| (ik.into_owned(), pk.into_owned()))
        .collect();
    let resume = match entries.last() {
        Some(last) if entries.len() >= limit => Some(last.clone()),
        _ => None,
    };
    let mut rows = Vec::new();
    let mut skipped_rows = Vec::new();
    let (visible, mut met) = (inner.last_commit, 0);
    let tracing = is_tracing(inner, txn);
    let mut traced = Vec::new();
    for (index_key, pk) in entries {
        let Some(stored) = inner.store.chain(def.table, &pk) else { continue };
        let chain = &*stored;
        let (version, skipped) = visible_version(chain, txn, view);
        if !skipped.is_empty() {
            if tracing {
                traced.extend(with_commit_state(chain, &skipped, &pk));
            }
            skipped_rows.push((pk.clone(), skipped));
        }
        met = met.max(pending_ts(version, txn, visible));
        if let Some(row) = version.and_then(|v| v.row.as_ref())
            && def.key_of_packed(row) == index_key
        {
            rows.push((pk, row.unpack()));
        }
    }
    inner.note_met(txn, met, true);
    if tracing {
        inner.trace_read(txn, def.table, rows.len() as u64, &traced);
    }
    if inner.ssi.is_tracked(txn) {
        // a part cut short by its limit read only up to its last index key
        let cut: KeyRange;
        let read = match &resume {
            Some((ik, _)) => {
                cut = (range.0.clone(), Bound::Included(ik.clone()));
                &cut
            }
            None => range,
        };
        inner.ssi.add_read(txn, range_read_target(def.table, KeySpace::Index(index), read));
        for (key, skipped) in skipped_rows {
            track_conflicts_out(inner, txn, def.table, &key, skipped)?;
        }
    }
    Ok((rows, resume))
}

/// The action of [`Transaction::lock_referenced`] (as the errors name it).
const KEY_CHECK: &str = "check a key of";

/// Steps 1 to 3 of the write rules: find, lock, and return the newest version.
#[allow(clippy::too_many_arguments)]
fn lock_row(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    snapshot: CommitTs,
    table: TableId,
    key: &Key,
    mode: LockMode,
    policy: WaitPolicy,
    action: &str,
) -> Result<LockOutcome> {
    guard.catalog.table(table)?;
    // A referenced row's key check locks the committed row (and waits for an uncommitted
    // delete), even at Read Uncommitted.
    let view =
        if action == KEY_CHECK { View::Snapshot(snapshot) } else { view_of(guard, txn, snapshot) };
    let (row, skipped, own) = see(guard, txn, view, table, key);
    track_row_read(guard, txn, table, key, skipped, own)?;
    if row.is_none() {
        return Ok(LockOutcome::NotFound);
    }
    let target = LockTarget { table, key: key.clone() };
    if !acquire_lock(guard, txn, &target, mode, policy, true)? {
        return Ok(LockOutcome::Skipped);
    }
    let Some(chain) = guard.store.chain(table, key) else {
        return Ok(LockOutcome::NotFound);
    };
    let Some(head) = chain.head() else {
        return Ok(LockOutcome::NotFound);
    };
    let level = guard.txn(txn).level;
    if level.transaction_snapshot()
        && head.creator != txn
        && head.commit_ts.is_some_and(|c| c > snapshot)
    {
        let (creator, deleted) = (head.creator, head.row.is_none());
        if refresh_unobserved_snapshot(guard, txn) {
            return Err(Error::RestartStatement);
        }
        let (what, did) = if deleted { ("delete", "deleted") } else { ("update", "updated") };
        let detail = format!(
            "T{txn} tried to {action} {}, which T{creator} {did} and committed after T{txn}'s snapshot was taken; under {} the first updater wins.",
            guard.catalog.describe(KeySpace::Table(table), key),
            level.sql()
        );
        return Err(Error::serialization(
            &format!("could not serialize access due to concurrent {what}"),
            detail,
        ));
    }
    // The newest version may be a decided commit not yet durable (its locks go at once): the
    // transaction builds on it. (The failure above is answered at once: a 40001 shows nothing
    // of the row, and the retry's snapshot includes the commit that caused it.)
    let met = pending_meeting(&chain, head, txn, guard.last_commit);
    drop(chain);
    if let Some((ts, reveals)) = met {
        guard.note_met(txn, ts, reveals);
    }
    let chain = guard.store.chain(table, key).expect("seen above");
    let head = chain.head().expect("seen above");
    Ok(match &head.row {
        Some(row) => LockOutcome::Locked(row.unpack()),
        None => LockOutcome::NotFound,
    })
}

/// Step 4 of the write rules: apply the change to the locked row.
#[allow(clippy::too_many_arguments)]
fn apply_change(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    snapshot: CommitTs,
    table: TableId,
    key: &Key,
    old: Row,
    change: Change,
    policy: WaitPolicy,
) -> Result<Modified> {
    let def = guard.catalog.table(table)?.clone();
    let target = LockTarget { table, key: key.clone() };
    let new = match change {
        Change::Keep => return Ok(Modified::Unchanged),
        Change::Delete => {
            if !acquire_lock(guard, txn, &target, LockMode::Update, policy, false)? {
                return Ok(Modified::Skipped);
            }
            track_write(guard, txn, table, key, Some(&old), None, "deleted")?;
            guard.install_version(txn, table, key, None);
            return Ok(Modified::Deleted);
        }
        Change::Update(new) => new,
    };
    def.validate(&new)?;
    let new_key = def.key_of(&new);
    if new_key != *key {
        // A primary key change is a delete of the old key and an insert of the new one.
        if !acquire_lock(guard, txn, &target, LockMode::Update, policy, false)? {
            return Ok(Modified::Skipped);
        }
        track_write(guard, txn, table, key, Some(&old), None, "deleted")?;
        guard.install_version(txn, table, key, None);
        insert_row(guard, txn, snapshot, &def, new_key, new.clone(), false)?;
        return Ok(Modified::Updated(new));
    }
    let unique_change = unique_indexes(&guard.catalog, &def)
        .iter()
        .any(|index| index.key_of(&old) != index.key_of(&new));
    if unique_change && !acquire_lock(guard, txn, &target, LockMode::Update, policy, false)? {
        return Ok(Modified::Skipped);
    }
    check_unique_indexes(guard, txn, snapshot, &def, key, &new, Some(&old))?;
    track_write(guard, txn, table, key, Some(&old), Some(&new), "updated")?;
    guard.install_version(txn, table, key, Some(new.clone()));
    Ok(Modified::Updated(new))
}

fn unique_indexes(catalog: &Catalog, def: &TableDef) -> Vec<IndexDef> {
    def.indexes
        .iter()
        .filter_map(|&i| catalog.index(i).ok())
        .filter(|i| i.unique)
        .cloned()
        .collect()
}

/// SSI conflict-in for a write of a row with its old and new versions.
fn track_write(
    inner: &mut Inner,
    txn: TxnId,
    table: TableId,
    key: &Key,
    old: Option<&Row>,
    new: Option<&Row>,
    verb: &str,
) -> Result<()> {
    if !inner.ssi.is_tracked(txn) {
        return Ok(());
    }
    let mut index_keys: Vec<(KeySpace, Key)> = Vec::new();
    for row in [old, new].into_iter().flatten() {
        for (index, index_key) in inner.index_keys(table, row) {
            let entry = (KeySpace::Index(index), index_key);
            if !index_keys.contains(&entry) {
                index_keys.push(entry);
            }
        }
    }
    let written = inner.catalog.describe(KeySpace::Table(table), key);
    let Inner { ssi, catalog, .. } = inner;
    let describe = |target: &ReadTarget| describe_read(catalog, target);
    let write = WriteTarget { table, key, index_keys: &index_keys };
    ssi.on_write(txn, &write, verb, &written, &describe)
}

fn describe_read(catalog: &Catalog, target: &ReadTarget) -> String {
    match target {
        ReadTarget::Row { table, key } => catalog.describe(KeySpace::Table(*table), key),
        ReadTarget::Range { space, range, .. } => catalog.describe_range(*space, range),
        ReadTarget::Relation { table } => {
            format!("all of {}", catalog.name(KeySpace::Table(*table)))
        }
    }
}

/// The error for a key that exists already: 23505, or 40001 at Serializable when the row was
/// committed by a transaction our snapshot does not see (a race, not a real duplicate).
fn duplicate(
    inner: &Inner,
    txn: TxnId,
    snapshot: CommitTs,
    constraint: String,
    described: String,
    existing: &Version,
) -> Error {
    let concurrent = existing.creator != txn && existing.commit_ts.is_some_and(|c| c > snapshot);
    if concurrent && inner.txn(txn).level == IsolationLevel::Serializable {
        return Error::serialization(
            "could not serialize access due to concurrent insert",
            format!(
                "T{txn} tried to insert {described}, which T{} wrote and committed after T{txn}'s snapshot was taken; run again, the transaction will see it.",
                existing.creator
            ),
        );
    }
    Error::UniqueViolation { constraint, detail: format!("Key {described} already exists.") }
}

/// The refusal of a write in a read-only transaction: on a replica that is not the leader,
/// the reason (who leads) instead of the plain 25006.
fn read_only_error(inner: &Inner) -> Error {
    match &inner.standby {
        Some(reason) => Error::StandbyRefusesWrite(format!(
            "cannot execute a write on a replica that is not the leader: {reason}"
        )),
        None => Error::ReadOnlyTransaction,
    }
}

/// An insert after the read-only and row-shape checks.
fn checked_insert(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    snapshot: CommitTs,
    table: TableId,
    row: Row,
) -> Result<()> {
    if guard.txn(txn).read_only {
        return Err(read_only_error(guard));
    }
    let def = guard.catalog.table(table)?.clone();
    def.validate(&row)?;
    let key = def.key_of(&row);
    insert_row(guard, txn, snapshot, &def, key, row, true)
}

fn insert_row(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    snapshot: CommitTs,
    def: &TableDef,
    key: Key,
    mut row: Row,
    resumable: bool,
) -> Result<()> {
    let target = LockTarget { table: def.id, key };
    let key = &target.key;
    // The head version (creator, commit) once we hold the key's lock. Taking the lock without
    // waiting keeps the mutex throughout, so the head seen before it is still the head; after a
    // wait the loop looks again. A key nobody has written or locked is locked implicitly by
    // the version we install (`locks.rs`): no lock-table entry for a fresh insert. Not when a
    // unique index check may wait below (the mutex is let go then, and the key must stay ours).
    let implicit_allowed =
        !def.indexes.iter().any(|&i| guard.catalog.index(i).is_ok_and(|index| index.unique));
    // The commonest case in one search: a key with no chain and no lock, outside SSI (whose
    // conflict-in check wants the row before it is stored). Nothing below applies to it: no
    // head to conflict with, no unique index to check.
    if implicit_allowed && !guard.ssi.is_tracked(txn) && guard.locks.is_free(&target) {
        match guard.install_first_version(txn, def.id, key, row) {
            Ok(()) => return Ok(()),
            Err(given_back) => row = given_back,
        }
    }
    let head = loop {
        let head = guard
            .store
            .chain(def.id, key)
            .and_then(|c| c.head().map(|v| (v.creator, v.commit_ts, v.row.is_some())));
        // A decided commit not yet visible decides this insert (a duplicate, or a deletion).
        if let Some((creator, Some(ts), _)) = head
            && creator != txn
        {
            guard.note_met(txn, ts, true);
        }
        if let Some((creator, commit_ts, true)) = head
            && (creator == txn || commit_ts.is_some())
        {
            let described = guard.catalog.describe(KeySpace::Table(def.id), key);
            let constraint = format!("{}_pkey", def.name);
            let chain = guard.store.chain(def.id, key).expect("seen");
            let head = chain.head().expect("seen").clone();
            drop(chain);
            return Err(duplicate(guard, txn, snapshot, constraint, described, &head));
        }
        if implicit_allowed && head.is_none() && guard.locks.is_free(&target) {
            break None;
        }
        if try_lock_now(guard, txn, &target, LockMode::Update) {
            break head;
        }
        // Waits for an uncommitted writer of the key, then looks again.
        acquire_lock(guard, txn, &target, LockMode::Update, WaitPolicy::Wait, resumable)?;
    };
    // The key's row was deleted by a transaction our snapshot does not see: inserting over that
    // deletion is a write-write conflict on the row (else Adya's G-single: we would follow the
    // deletion in the version order while reading from before it). PostgreSQL, whose insert
    // makes a new tuple, lets this through; the snapshot levels refuse it.
    let level = guard.txn(txn).level;
    if let Some((creator, Some(committed), _)) = head
        && level.transaction_snapshot()
        && creator != txn
        && committed > snapshot
    {
        let detail = format!(
            "T{txn} tried to insert {}, whose row T{creator} deleted and committed after T{txn}'s snapshot was taken; under {} the first writer of a row wins.",
            guard.catalog.describe(KeySpace::Table(def.id), key),
            level.sql()
        );
        return Err(Error::serialization(
            "could not serialize access due to concurrent delete",
            detail,
        ));
    }
    check_unique_indexes(guard, txn, snapshot, def, key, &row, None)?;
    track_write(guard, txn, def.id, key, None, Some(&row), "inserted")?;
    guard.install_version(txn, def.id, key, Some(row));
    Ok(())
}

/// Checks the unique indexes whose key the new row sets (or changes from `old`). A conflicting
/// row whose fate depends on a running transaction is waited for, then the check is redone.
fn check_unique_indexes(
    guard: &mut MutexGuard<'_, Inner>,
    txn: TxnId,
    snapshot: CommitTs,
    def: &TableDef,
    key: &Key,
    row: &Row,
    old: Option<&Row>,
) -> Result<()> {
    for index in unique_indexes(&guard.catalog, def) {
        let index_key = index.key_of(row);
        if index_key.contains(&Value::Null) || old.is_some_and(|o| index.key_of(o) == index_key) {
            continue;
        }
        loop {
            let has =
                |v: &Version| v.row.as_ref().is_some_and(|r| index.key_of_packed(r) == index_key);
            let range = (Bound::Included(&index_key), Bound::Included(&index_key));
            let others: Vec<Key> = guard
                .store
                .index_scan(index.id, range)
                .map(|(_, pk)| pk.into_owned())
                .filter(|pk| pk != key)
                .collect();
            let mut wait_for = None;
            let (visible, mut met) = (guard.last_commit, 0);
            for pk in others {
                let Some(chain) = guard.store.chain(def.id, &pk) else { continue };
                let Some(head) = chain.head() else { continue };
                met = met.max(pending_ts(Some(head), txn, visible));
                let settled = head.creator == txn || head.commit_ts.is_some();
                let committed = chain.versions.iter().rev().find(|v| v.commit_ts.is_some());
                let conflict = if settled { Some(head) } else { committed.filter(|v| has(v)) };
                let live_if_commit = has(head);
                match conflict {
                    Some(existing) if has(existing) && (settled || live_if_commit) => {
                        let existing = existing.clone();
                        guard.note_met(txn, met, true);
                        let described =
                            guard.catalog.describe(KeySpace::Index(index.id), &index_key);
                        return Err(duplicate(
                            guard,
                            txn,
                            snapshot,
                            index.name.clone(),
                            described,
                            &existing,
                        ));
                    }
                    _ if !settled && (live_if_commit || committed.is_some_and(has)) => {
                        wait_for = Some(pk);
                        break;
                    }
                    _ => {}
                }
            }
            guard.note_met(txn, met, true);
            let Some(pk) = wait_for else { break };
            let other = LockTarget { table: def.id, key: pk };
            let held_before = guard.locks.held_mode(txn, &other).is_some();
            acquire_lock(guard, txn, &other, LockMode::KeyShare, WaitPolicy::Wait, false)?;
            if !held_before {
                guard.locks.release(txn, &other);
            }
        }
    }
    Ok(())
}
