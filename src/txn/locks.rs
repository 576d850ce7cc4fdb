//! Row locks: the four PostgreSQL modes, FIFO wait queues, and deadlock detection at enqueue.
//!
//! A lock target is a row of a table, named by its primary key (the row need not exist: an
//! insert locks the key it creates). A transaction holds at most one entry per target, listing
//! each mode it took with the subtransaction that took it, so ROLLBACK TO SAVEPOINT can release
//! or downgrade exactly what was taken after the savepoint. The effective mode is the strongest.
//!
//! Invariants:
//! - two different transactions never hold conflicting modes on one target;
//! - a request is granted at once only if it conflicts with no other holder and with no earlier
//!   waiter (FIFO, so a stream of share lockers cannot starve an exclusive waiter); a holder
//!   upgrading its lock waits ahead of the queue, as in PostgreSQL;
//! - a waiting transaction waits for exactly one target, so the wait-for graph has one out-set
//!   per waiter: the conflicting holders (hard edges) and the conflicting earlier waiters (soft
//!   edges). Each new wait runs a depth-first search from the new waiter; a cycle can only be
//!   closed by the newest edge, so every deadlock is found the moment it forms, and the waiter
//!   that closed it is the victim.
//!
//! A fresh insert (a key with no version and no lock entry) takes no entry here: its
//! uncommitted version is the lock, as in InnoDB. The first request by another transaction for
//! that key turns it into an ordinary hold (`hold_implicit`, called from `mvcc::acquire_lock`),
//! so waits, deadlock detection and release work as for any lock.
//!
//! This module is pure bookkeeping under the database mutex; the waiting itself (condition
//! variables, timeouts) is in `mvcc.rs`.

use std::collections::{HashSet, VecDeque};

// Fx hashing: the lock table is hashed on every write (one entry per written key), and
// SipHash's DoS resistance buys nothing for keys the database itself chose to lock.
use rustc_hash::FxHashMap as HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::Condvar;

use crate::catalog::TableId;
use crate::storage::{SubTxnId, TxnId};
use crate::types::Key;

/// Row-lock strength, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// FOR KEY SHARE: blocks only deletes and key changes.
    KeyShare,
    /// FOR SHARE: blocks every change.
    Share,
    /// FOR NO KEY UPDATE: taken by updates that change no key column.
    NoKeyUpdate,
    /// FOR UPDATE: taken by deletes and key-changing updates.
    Update,
}

impl LockMode {
    /// The PostgreSQL conflict matrix (`README.tuplock`); symmetric.
    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        matches!(
            (self, other),
            (Update, _)
                | (_, Update)
                | (NoKeyUpdate, NoKeyUpdate)
                | (NoKeyUpdate, Share)
                | (Share, NoKeyUpdate)
        )
    }

    /// The SQL clause that takes this mode.
    pub fn sql(self) -> &'static str {
        match self {
            LockMode::KeyShare => "FOR KEY SHARE",
            LockMode::Share => "FOR SHARE",
            LockMode::NoKeyUpdate => "FOR NO KEY UPDATE",
            LockMode::Update => "FOR UPDATE",
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql())
    }
}

/// What to do when a lock cannot be granted at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitPolicy {
    /// Wait (subject to deadlock detection and the lock timeout).
    Wait,
    /// Fail at once with 55P03.
    NoWait,
    /// Leave the row out.
    SkipLocked,
}

/// A lockable row: a table and a primary key. Two pseudo-rows share the machinery (waits,
/// deadlock detection, lock_timeout, release at the end): the whole table (an empty key,
/// which no row has: a primary key has at least one column), locked by every statement that
/// touches the table (shared) and by DDL (exclusive), as PostgreSQL's ACCESS SHARE / ROW
/// EXCLUSIVE against ACCESS EXCLUSIVE; and a relation name being created (the table
/// [`RELATION_NAMES`]), so two transactions creating one name queue as in PostgreSQL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockTarget {
    pub table: TableId,
    pub key: Key,
}

/// The pseudo-table whose keys are relation names (see [`LockTarget`]).
pub const RELATION_NAMES: TableId = TableId::MAX;

impl LockTarget {
    /// The lock on a whole table.
    pub fn relation(table: TableId) -> LockTarget {
        LockTarget { table, key: Key::new() }
    }

    /// The lock on a relation name being created.
    pub fn relation_name(name: &str) -> LockTarget {
        LockTarget {
            table: RELATION_NAMES,
            key: crate::key![crate::types::Value::Text(name.into())],
        }
    }

    /// Whether this is a table-level or name lock rather than a row's.
    pub fn is_relation_level(&self) -> bool {
        self.key.is_empty() || self.table == RELATION_NAMES
    }

    /// The PostgreSQL name of `mode` taken on this target (`ACCESS EXCLUSIVE` for a table
    /// locked by DDL, `FOR UPDATE` for a row).
    pub fn mode_name(&self, mode: LockMode) -> &'static str {
        match (self.is_relation_level(), mode) {
            (false, mode) => mode.sql(),
            (true, LockMode::Update) => "ACCESS EXCLUSIVE",
            (true, _) => "ACCESS SHARE",
        }
    }
}

#[derive(Debug)]
struct Hold {
    txn: TxnId,
    /// Every mode taken, with the subtransaction that took it.
    grants: Vec<(LockMode, SubTxnId)>,
}

impl Hold {
    fn mode(&self) -> LockMode {
        self.grants.iter().map(|&(mode, _)| mode).max().expect("a hold has a grant")
    }
}

/// How a waiting transaction is told that its wait is over: a thread blocked on a condition
/// variable, or an async task (the server's) awaiting a notification.
#[derive(Clone, Debug)]
pub enum Wakeup {
    Thread(Arc<Condvar>),
    Task(Arc<tokio::sync::Notify>),
}

impl Wakeup {
    pub fn wake(&self) {
        match self {
            Wakeup::Thread(c) => {
                c.notify_all();
            }
            // Stores a permit when the task is not yet awaiting: no wakeup is lost.
            Wakeup::Task(n) => n.notify_one(),
        }
    }
}

#[derive(Debug)]
struct Waiter {
    txn: TxnId,
    mode: LockMode,
    subtxn: SubTxnId,
    signal: Wakeup,
}

#[derive(Debug, Default)]
struct LockEntry {
    holders: Vec<Hold>,
    queue: VecDeque<Waiter>,
}

impl LockEntry {
    fn held_mode(&self, txn: TxnId) -> Option<LockMode> {
        self.holders.iter().find(|h| h.txn == txn).map(Hold::mode)
    }

    fn conflicting_holders(&self, txn: TxnId, mode: LockMode) -> Vec<TxnId> {
        self.holders
            .iter()
            .filter(|h| h.txn != txn && h.mode().conflicts_with(mode))
            .map(|h| h.txn)
            .collect()
    }

    /// The waiters ahead of position `pos` whose requests conflict with `mode`.
    fn conflicting_waiters_ahead(&self, txn: TxnId, mode: LockMode, pos: usize) -> Vec<TxnId> {
        self.queue
            .iter()
            .take(pos)
            .filter(|w| w.txn != txn && w.mode.conflicts_with(mode))
            .map(|w| w.txn)
            .collect()
    }

    fn grant(&mut self, txn: TxnId, mode: LockMode, subtxn: SubTxnId) {
        match self.holders.iter_mut().find(|h| h.txn == txn) {
            Some(hold) => hold.grants.push((mode, subtxn)),
            None => self.holders.push(Hold { txn, grants: vec![(mode, subtxn)] }),
        }
    }
}

/// The outcome of a lock request.
#[derive(Debug)]
pub enum Request {
    /// Granted now.
    Granted,
    /// Conflicts with these holders or earlier waiters.
    Conflict { blockers: Vec<TxnId> },
}

/// One edge of a deadlock cycle, for the explanation.
#[derive(Clone, Debug)]
pub struct WaitEdge {
    pub waiter: TxnId,
    pub mode: LockMode,
    pub target: LockTarget,
    pub blocker: TxnId,
    /// The mode the blocker holds, or (for a soft edge) waits for.
    pub blocker_mode: LockMode,
    /// True when the blocker only waits ahead in the queue (a soft edge).
    pub soft: bool,
}

/// All row locks and waits.
#[derive(Default, Debug)]
pub struct LockTable {
    entries: HashMap<LockTarget, LockEntry>,
    /// Targets each transaction took, for release at its end: appended when it becomes a
    /// holder of a target, never removed before then (a target released early may be listed
    /// again; releasing what is no longer held is a no-op). A list, not a set: a bulk insert
    /// takes a million locks, and hashing each target twice cost more than the list.
    held: HashMap<TxnId, Vec<LockTarget>>,
    /// What each waiting transaction waits for.
    waiting: HashMap<TxnId, (LockTarget, LockMode)>,
}

impl LockTable {
    /// The mode a transaction holds on a target.
    pub fn held_mode(&self, txn: TxnId, target: &LockTarget) -> Option<LockMode> {
        self.entries.get(target).and_then(|e| e.held_mode(txn))
    }

    /// How a waiting transaction is woken (for a cancel request).
    pub fn wakeup_of(&self, txn: TxnId) -> Option<Wakeup> {
        let (target, _) = self.waiting.get(&txn)?;
        let entry = self.entries.get(target)?;
        entry.queue.iter().find(|w| w.txn == txn).map(|w| w.signal.clone())
    }

    /// Whether nobody holds or waits for `target`.
    pub fn is_free(&self, target: &LockTarget) -> bool {
        !self.entries.contains_key(target)
    }

    /// Whether `txn` holds any mode on `target`.
    pub fn holds(&self, txn: TxnId, target: &LockTarget) -> bool {
        self.entries.get(target).is_some_and(|e| e.held_mode(txn).is_some())
    }

    /// Records a lock `holder` has held implicitly (a fresh insert: its uncommitted version is
    /// the lock) now that another transaction asks for the target; from here on it is an
    /// ordinary hold, released with the holder's other locks.
    pub fn hold_implicit(
        &mut self,
        holder: TxnId,
        target: &LockTarget,
        mode: LockMode,
        subtxn: SubTxnId,
    ) {
        let entry = self.entries.entry(target.clone()).or_default();
        if entry.held_mode(holder).is_some() {
            return;
        }
        debug_assert!(
            entry.conflicting_holders(holder, mode).is_empty(),
            "implicit lock taken twice"
        );
        entry.grant(holder, mode, subtxn);
        self.held.entry(holder).or_default().push(target.clone());
    }

    /// Whether a transaction is waiting for a lock.
    pub fn is_waiting(&self, txn: TxnId) -> bool {
        self.waiting.contains_key(&txn)
    }

    /// Tries to take `mode` on `target` without waiting.
    pub fn try_acquire(
        &mut self,
        txn: TxnId,
        target: &LockTarget,
        mode: LockMode,
        subtxn: SubTxnId,
    ) -> Request {
        let entry = self.entries.entry(target.clone()).or_default();
        let held = entry.held_mode(txn);
        if held.is_some_and(|h| h >= mode) {
            return Request::Granted;
        }
        let mut blockers = entry.conflicting_holders(txn, mode);
        if held.is_none() {
            blockers.extend(entry.conflicting_waiters_ahead(txn, mode, entry.queue.len()));
        }
        if blockers.is_empty() {
            entry.grant(txn, mode, subtxn);
            if held.is_none() {
                self.held.entry(txn).or_default().push(target.clone());
            }
            Request::Granted
        } else {
            if entry.holders.is_empty() && entry.queue.is_empty() {
                self.entries.remove(target);
            }
            Request::Conflict { blockers }
        }
    }

    /// Queues a waiter after `try_acquire` failed, then looks for a deadlock the new wait would
    /// close. On a deadlock the waiter is taken out again and the cycle is returned.
    pub fn enqueue(
        &mut self,
        txn: TxnId,
        target: &LockTarget,
        mode: LockMode,
        subtxn: SubTxnId,
        signal: Wakeup,
    ) -> Result<(), Vec<WaitEdge>> {
        let entry = self.entries.entry(target.clone()).or_default();
        let waiter = Waiter { txn, mode, subtxn, signal };
        if entry.held_mode(txn).is_some() {
            // An upgrade waits ahead of plain waiters, behind earlier upgraders.
            let pos = entry
                .queue
                .iter()
                .position(|w| entry.holders.iter().all(|h| h.txn != w.txn))
                .unwrap_or(entry.queue.len());
            entry.queue.insert(pos, waiter);
        } else {
            entry.queue.push_back(waiter);
        }
        self.waiting.insert(txn, (target.clone(), mode));
        if let Some(cycle) = self.find_cycle(txn) {
            self.cancel_wait(txn);
            return Err(cycle);
        }
        Ok(())
    }

    /// Removes a waiter (timeout, deadlock victim) and grants what its leaving allows.
    pub fn cancel_wait(&mut self, txn: TxnId) {
        if let Some((target, _)) = self.waiting.remove(&txn) {
            if let Some(entry) = self.entries.get_mut(&target) {
                entry.queue.retain(|w| w.txn != txn);
            }
            self.wake(&target);
        }
    }

    /// Who a waiting transaction waits for, with the modes involved.
    fn blockers_of(&self, txn: TxnId) -> Vec<WaitEdge> {
        let Some((target, mode)) = self.waiting.get(&txn) else { return vec![] };
        let Some(entry) = self.entries.get(target) else { return vec![] };
        let pos = entry.queue.iter().position(|w| w.txn == txn).unwrap_or(entry.queue.len());
        let edge = |blocker: TxnId, blocker_mode: LockMode, soft: bool| WaitEdge {
            waiter: txn,
            mode: *mode,
            target: target.clone(),
            blocker,
            blocker_mode,
            soft,
        };
        let mut edges: Vec<WaitEdge> = entry
            .holders
            .iter()
            .filter(|h| h.txn != txn && h.mode().conflicts_with(*mode))
            .map(|h| edge(h.txn, h.mode(), false))
            .collect();
        edges.extend(
            entry
                .queue
                .iter()
                .take(pos)
                .filter(|w| w.txn != txn && w.mode.conflicts_with(*mode))
                .map(|w| edge(w.txn, w.mode, true)),
        );
        edges
    }

    /// Depth-first search of the wait-for graph from `start`; returns the cycle through it.
    fn find_cycle(&self, start: TxnId) -> Option<Vec<WaitEdge>> {
        let mut path: Vec<WaitEdge> = Vec::new();
        let mut visited: HashSet<TxnId> = HashSet::new();
        self.dfs(start, start, &mut path, &mut visited).then_some(path)
    }

    fn dfs(
        &self,
        node: TxnId,
        start: TxnId,
        path: &mut Vec<WaitEdge>,
        visited: &mut HashSet<TxnId>,
    ) -> bool {
        for edge in self.blockers_of(node) {
            let next = edge.blocker;
            path.push(edge);
            if next == start {
                return true;
            }
            if visited.insert(next) && self.dfs(next, start, path, visited) {
                return true;
            }
            path.pop();
        }
        false
    }

    /// Grants queued requests that no longer conflict, in FIFO order, and signals them.
    fn wake(&mut self, target: &LockTarget) {
        let Some(entry) = self.entries.get_mut(target) else { return };
        let mut pos = 0;
        while pos < entry.queue.len() {
            let w = &entry.queue[pos];
            let (txn, mode, subtxn) = (w.txn, w.mode, w.subtxn);
            let grantable = entry.conflicting_holders(txn, mode).is_empty()
                && entry.conflicting_waiters_ahead(txn, mode, pos).is_empty();
            if grantable {
                let waiter = entry.queue.remove(pos).expect("position in queue");
                if entry.held_mode(txn).is_none() {
                    self.held.entry(txn).or_default().push(target.clone());
                }
                entry.grant(txn, mode, subtxn);
                self.waiting.remove(&txn);
                waiter.signal.wake();
            } else {
                pos += 1;
            }
        }
        if entry.holders.is_empty() && entry.queue.is_empty() {
            self.entries.remove(target);
        }
    }

    /// Releases one target entirely (a transient lock taken only to wait for its holder).
    pub fn release(&mut self, txn: TxnId, target: &LockTarget) {
        if let Some(entry) = self.entries.get_mut(target) {
            entry.holders.retain(|h| h.txn != txn);
        }
        self.wake(target);
    }

    /// Releases every lock of a transaction (commit or rollback).
    pub fn release_all(&mut self, txn: TxnId) {
        self.cancel_wait(txn);
        for target in self.held.remove(&txn).unwrap_or_default() {
            if let Some(entry) = self.entries.get_mut(&target) {
                entry.holders.retain(|h| h.txn != txn);
            }
            self.wake(&target);
        }
    }

    /// Releases or downgrades what a transaction took in subtransactions `>= subtxn`.
    pub fn release_since(&mut self, txn: TxnId, subtxn: SubTxnId) {
        let targets: Vec<LockTarget> = self.held.get(&txn).map(|h| h.to_vec()).unwrap_or_default();
        for target in targets {
            let Some(entry) = self.entries.get_mut(&target) else { continue };
            let mut emptied = false;
            if let Some(hold) = entry.holders.iter_mut().find(|h| h.txn == txn) {
                hold.grants.retain(|&(_, s)| s < subtxn);
                emptied = hold.grants.is_empty();
            }
            if emptied {
                entry.holders.retain(|h| h.txn != txn);
            }
            self.wake(&target);
        }
    }

    /// Every hold and every wait, for introspection (`isola_locks`): (target, transaction,
    /// mode, granted), holders before waiters, waiters in queue order.
    pub fn snapshot(&self) -> Vec<(LockTarget, TxnId, LockMode, bool)> {
        let mut out = Vec::new();
        for (target, entry) in &self.entries {
            for h in &entry.holders {
                out.push((target.clone(), h.txn, h.mode(), true));
            }
            for w in &entry.queue {
                out.push((target.clone(), w.txn, w.mode, false));
            }
        }
        out
    }

    /// What `txn` waits for, if it waits.
    pub fn waiting_for(&self, txn: TxnId) -> Option<(LockTarget, LockMode)> {
        self.waiting.get(&txn).cloned()
    }

    /// The transactions holding `target` in a mode that conflicts with `mode`.
    pub fn blockers(&self, txn: TxnId, target: &LockTarget, mode: LockMode) -> Vec<TxnId> {
        self.entries.get(target).map_or_else(Vec::new, |e| e.conflicting_holders(txn, mode))
    }

    /// Every wait: the waiting transaction and those it waits for (conflicting holders and
    /// conflicting waiters ahead of it), for a deadlock search that spans other kinds of wait
    /// too (advisory locks).
    pub fn wait_edges(&self) -> Vec<(TxnId, Vec<TxnId>)> {
        self.waiting
            .iter()
            .filter_map(|(&txn, (target, mode))| {
                let entry = self.entries.get(target)?;
                let pos = entry.queue.iter().position(|w| w.txn == txn)?;
                let mut blockers = entry.conflicting_holders(txn, *mode);
                blockers.extend(entry.conflicting_waiters_ahead(txn, *mode, pos));
                Some((txn, blockers))
            })
            .collect()
    }

    /// Number of targets with holders or waiters (for tests and stats).
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LockMode::*;

    #[test]
    fn conflict_matrix_matches_postgres() {
        let modes = [KeyShare, Share, NoKeyUpdate, Update];
        // Rows: held; columns: requested. true = conflict (README.tuplock).
        let expected = [
            [false, false, false, true],
            [false, false, true, true],
            [false, true, true, true],
            [true, true, true, true],
        ];
        for (i, held) in modes.iter().enumerate() {
            for (j, requested) in modes.iter().enumerate() {
                assert_eq!(
                    held.conflicts_with(*requested),
                    expected[i][j],
                    "{held} vs {requested}"
                );
            }
        }
    }

    fn target(k: i64) -> LockTarget {
        LockTarget { table: 0, key: crate::key![k.into()] }
    }

    #[test]
    fn fifo_queue_blocks_later_compatible_requests() {
        let mut locks = LockTable::default();
        let signal = Arc::new(Condvar::new());
        assert!(matches!(locks.try_acquire(1, &target(1), Share, 0), Request::Granted));
        assert!(matches!(locks.try_acquire(2, &target(1), Update, 0), Request::Conflict { .. }));
        locks.enqueue(2, &target(1), Update, 0, Wakeup::Thread(signal.clone())).unwrap();
        // A share request is compatible with the holder but must queue behind the writer.
        assert!(matches!(locks.try_acquire(3, &target(1), Share, 0), Request::Conflict { .. }));
        locks.release_all(1);
        assert!(!locks.is_waiting(2));
        assert_eq!(locks.held_mode(2, &target(1)), Some(Update));
    }

    #[test]
    fn two_way_deadlock_is_found_at_enqueue() {
        let mut locks = LockTable::default();
        let signal = Arc::new(Condvar::new());
        locks.try_acquire(1, &target(1), Update, 0);
        locks.try_acquire(2, &target(2), Update, 0);
        locks.try_acquire(1, &target(2), Update, 0);
        locks.enqueue(1, &target(2), Update, 0, Wakeup::Thread(signal.clone())).unwrap();
        locks.try_acquire(2, &target(1), Update, 0);
        let cycle = locks.enqueue(2, &target(1), Update, 0, Wakeup::Thread(signal)).unwrap_err();
        let path: Vec<(TxnId, TxnId)> = cycle.iter().map(|e| (e.waiter, e.blocker)).collect();
        assert_eq!(path, [(2, 1), (1, 2)]);
        assert!(!locks.is_waiting(2), "the victim leaves the queue");
        assert!(locks.is_waiting(1));
    }

    #[test]
    fn savepoint_release_downgrades_an_upgrade() {
        let mut locks = LockTable::default();
        locks.try_acquire(1, &target(1), KeyShare, 0);
        locks.try_acquire(1, &target(1), Update, 1);
        assert_eq!(locks.held_mode(1, &target(1)), Some(Update));
        locks.release_since(1, 1);
        assert_eq!(locks.held_mode(1, &target(1)), Some(KeyShare));
    }
}
