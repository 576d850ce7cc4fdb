//! Advisory locks (`pg_advisory_lock` and family): locks on application-chosen numbers, held
//! by a session either until it unlocks them (session level) or until its transaction ends
//! (transaction level), in shared or exclusive mode.
//!
//! Invariants (PostgreSQL's): a session's own locks never conflict with each other; shared
//! holds conflict only with exclusive ones; each lock is counted (locked twice, it needs two
//! unlocks), session and transaction holds separately; `pg_advisory_unlock_all` releases the
//! session-level holds only. A session that must wait sleeps until a release, a cancel request,
//! its lock_timeout (55P03) or statement_timeout (57014); a wait that would close a cycle of
//! advisory waits fails at once with 40P01. A cycle through row or table locks too (a session
//! waits here for one whose transaction waits for a row this session's transaction holds) is
//! found by the advisory waiter in it, which looks for one every [`MIXED_DEADLOCK_CHECK`]
//! while it waits (the core's own search sees lock waits only) and fails with 40P01: every
//! such cycle has an advisory waiter.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::SqlState;
use crate::sql::error::SqlError;

/// How often a waiting session looks for a deadlock through row and table locks as well
/// (PostgreSQL's deadlock_timeout is 1 s; the search is cheap).
pub const MIXED_DEADLOCK_CHECK: Duration = Duration::from_millis(100);

/// The row- and table-lock waits between sessions (waiter, the sessions it waits for), read
/// when a waiter looks for a deadlock spanning both kinds of lock.
pub type LockWaits<'a> = &'a dyn Fn() -> HashMap<u32, Vec<u32>>;

/// One wait of a deadlock cycle: (waiter, blocker, whether it is an advisory wait).
type WaitStep = (u32, u32, bool);

/// An advisory lock's name: one bigint, or two integers (PostgreSQL keeps them apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdvisoryKey {
    Big(i64),
    Pair(i32, i32),
}

impl fmt::Display for AdvisoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvisoryKey::Big(k) => write!(f, "advisory({k})"),
            AdvisoryKey::Pair(a, b) => write!(f, "advisory({a}, {b})"),
        }
    }
}

/// How long a hold lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Session,
    Transaction,
}

/// What a lock request does when the lock is taken.
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    /// Answer false at once (`pg_try_advisory_lock`).
    Try,
    /// Sleep until granted, or until a deadline: lock_timeout's, then statement_timeout's.
    Block { lock_deadline: Option<Instant>, statement_deadline: Option<Instant> },
}

/// One session's holds of one lock in one mode.
#[derive(Clone, Debug)]
struct Hold {
    session: u32,
    exclusive: bool,
    session_count: u32,
    xact_count: u32,
}

#[derive(Default)]
struct State {
    held: HashMap<AdvisoryKey, Vec<Hold>>,
    /// Session id → the lock and mode it waits for.
    waiting: HashMap<u32, (AdvisoryKey, bool)>,
    /// Waiting sessions whose statement was canceled.
    canceled: HashSet<u32>,
}

impl State {
    /// The sessions whose holds keep `session` from taking `key` in this mode.
    fn blockers(&self, session: u32, key: AdvisoryKey, exclusive: bool) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .held
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|h| h.session != session && (exclusive || h.exclusive))
            .map(|h| h.session)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// A cycle of advisory waits through `session`, as the chain of sessions after it.
    fn cycle_through(&self, session: u32, key: AdvisoryKey, exclusive: bool) -> Option<Vec<u32>> {
        let mut stack: Vec<(u32, Vec<u32>)> =
            self.blockers(session, key, exclusive).into_iter().map(|b| (b, vec![b])).collect();
        let mut seen = HashSet::new();
        while let Some((s, path)) = stack.pop() {
            if s == session {
                return Some(path);
            }
            if !seen.insert(s) {
                continue;
            }
            if let Some(&(k, x)) = self.waiting.get(&s) {
                for b in self.blockers(s, k, x) {
                    let mut p = path.clone();
                    p.push(b);
                    stack.push((b, p));
                }
            }
        }
        None
    }

    /// A cycle through `session` of advisory waits and the `lock_waits` edges, as the chain
    /// of (waiter, blocker, whether the edge is an advisory one) from `session` back to it.
    fn mixed_cycle_through(
        &self,
        session: u32,
        lock_waits: &HashMap<u32, Vec<u32>>,
    ) -> Option<Vec<WaitStep>> {
        let edges = |s: u32| -> Vec<(u32, bool)> {
            let mut out: Vec<(u32, bool)> = match self.waiting.get(&s) {
                Some(&(k, x)) => self.blockers(s, k, x).into_iter().map(|b| (b, true)).collect(),
                None => Vec::new(),
            };
            out.extend(lock_waits.get(&s).into_iter().flatten().map(|&b| (b, false)));
            out
        };
        let mut stack: Vec<(u32, Vec<WaitStep>)> =
            edges(session).into_iter().map(|(b, a)| (b, vec![(session, b, a)])).collect();
        let mut seen = HashSet::new();
        while let Some((s, path)) = stack.pop() {
            if s == session {
                return Some(path);
            }
            if !seen.insert(s) {
                continue;
            }
            for (b, a) in edges(s) {
                let mut p = path.clone();
                p.push((s, b, a));
                stack.push((b, p));
            }
        }
        None
    }

    fn grant(&mut self, session: u32, key: AdvisoryKey, exclusive: bool, scope: Scope) {
        let holds = self.held.entry(key).or_default();
        let hold = match holds.iter().position(|h| h.session == session && h.exclusive == exclusive)
        {
            Some(i) => &mut holds[i],
            None => {
                holds.push(Hold { session, exclusive, session_count: 0, xact_count: 0 });
                holds.last_mut().expect("just pushed")
            }
        };
        match scope {
            Scope::Session => hold.session_count += 1,
            Scope::Transaction => hold.xact_count += 1,
        }
    }

    /// Drops holds whose counts reached zero.
    fn tidy(&mut self) {
        self.held.retain(|_, holds| {
            holds.retain(|h| h.session_count + h.xact_count > 0);
            !holds.is_empty()
        });
    }

    fn hold_count(&self) -> usize {
        self.held.values().map(Vec::len).sum()
    }
}

/// Every session's advisory locks and waits.
#[derive(Default)]
pub struct AdvisoryLocks {
    state: Mutex<State>,
    changed: Condvar,
    /// Holds of any session, kept under the mutex and read without it: the end of a
    /// transaction in a database without advisory locks costs one atomic load.
    holds: AtomicUsize,
}

/// One row of `isola_locks` for an advisory lock.
pub struct AdvisoryLockRow {
    pub session: u32,
    pub key: AdvisoryKey,
    pub exclusive: bool,
    pub granted: bool,
}

fn mode_name(exclusive: bool) -> &'static str {
    if exclusive { "ExclusiveLock" } else { "ShareLock" }
}

impl AdvisoryLocks {
    /// Takes `key` for `session`: true once held, false if `Wait::Try` found it taken.
    /// `lock_waits` gives the row- and table-lock waits for the deadlock search.
    pub fn lock(
        &self,
        session: u32,
        key: AdvisoryKey,
        exclusive: bool,
        scope: Scope,
        wait: Wait,
        lock_waits: LockWaits<'_>,
    ) -> Result<bool, SqlError> {
        let mut state = self.state.lock();
        if state.blockers(session, key, exclusive).is_empty() {
            state.grant(session, key, exclusive, scope);
            self.holds.store(state.hold_count(), Ordering::SeqCst);
            return Ok(true);
        }
        let Wait::Block { lock_deadline, statement_deadline } = wait else { return Ok(false) };
        if let Some(cycle) = state.cycle_through(session, key, exclusive) {
            let mut detail = Vec::new();
            let mut waiter = session;
            for blocker in cycle {
                let (k, x) = if waiter == session {
                    (key, exclusive)
                } else {
                    state.waiting.get(&waiter).copied().unwrap_or((key, exclusive))
                };
                detail.push(format!(
                    "Process {waiter} waits for {} on {k}; blocked by process {blocker}.",
                    mode_name(x)
                ));
                waiter = blocker;
            }
            return Err(SqlError::new(SqlState::DeadlockDetected, "deadlock detected")
                .with_detail(detail.join("\n")));
        }
        state.waiting.insert(session, (key, exclusive));
        state.canceled.remove(&session);
        let mut next_mixed_check = Instant::now() + MIXED_DEADLOCK_CHECK;
        let result = loop {
            if state.blockers(session, key, exclusive).is_empty() {
                state.grant(session, key, exclusive, scope);
                self.holds.store(state.hold_count(), Ordering::SeqCst);
                break Ok(true);
            }
            if state.canceled.remove(&session) {
                break Err(SqlError::new(
                    SqlState::QueryCanceled,
                    "canceling statement due to user request",
                ));
            }
            let now = Instant::now();
            if lock_deadline.is_some_and(|d| d <= now) {
                break Err(SqlError::new(
                    SqlState::LockNotAvailable,
                    "canceling statement due to lock timeout",
                ));
            }
            if statement_deadline.is_some_and(|d| d <= now) {
                break Err(SqlError::new(
                    SqlState::QueryCanceled,
                    "canceling statement due to statement timeout",
                ));
            }
            if now >= next_mixed_check {
                next_mixed_check = now + MIXED_DEADLOCK_CHECK;
                // Read without this mutex held: the core's lock comes first elsewhere.
                let waits = parking_lot::MutexGuard::unlocked(&mut state, lock_waits);
                if let Some(cycle) = state.mixed_cycle_through(session, &waits) {
                    let detail: Vec<String> = cycle
                        .iter()
                        .map(|&(waiter, blocker, advisory)| match state.waiting.get(&waiter) {
                            Some(&(k, x)) if advisory => format!(
                                "Process {waiter} waits for {} on {k}; blocked by process {blocker}.",
                                mode_name(x)
                            ),
                            _ => format!(
                                "Process {waiter} waits for a row or table lock; blocked by process {blocker}."
                            ),
                        })
                        .collect();
                    break Err(SqlError::new(SqlState::DeadlockDetected, "deadlock detected")
                        .with_detail(detail.join("\n")));
                }
                continue;
            }
            // Woken by every release and cancel; the bound rechecks the deadlines and looks
            // for a deadlock through row locks.
            let mut until = next_mixed_check;
            for d in [lock_deadline, statement_deadline].into_iter().flatten() {
                until = until.min(d);
            }
            self.changed.wait_until(&mut state, until);
        };
        state.waiting.remove(&session);
        result
    }

    /// Releases one session-level hold of `key` in this mode; false if the session had none.
    pub fn unlock(&self, session: u32, key: AdvisoryKey, exclusive: bool) -> bool {
        let mut state = self.state.lock();
        let hold = state.held.get_mut(&key).and_then(|holds| {
            holds.iter_mut().find(|h| h.session == session && h.exclusive == exclusive)
        });
        let released = match hold {
            Some(h) if h.session_count > 0 => {
                h.session_count -= 1;
                true
            }
            _ => false,
        };
        if released {
            state.tidy();
            self.holds.store(state.hold_count(), Ordering::SeqCst);
            self.changed.notify_all();
        }
        released
    }

    fn release_where(&self, session: u32, f: impl Fn(&mut Hold)) {
        if self.holds.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut state = self.state.lock();
        let mut any = false;
        for holds in state.held.values_mut() {
            for h in holds.iter_mut().filter(|h| h.session == session) {
                f(h);
                any = true;
            }
        }
        if any {
            state.tidy();
            self.holds.store(state.hold_count(), Ordering::SeqCst);
            self.changed.notify_all();
        }
    }

    /// `pg_advisory_unlock_all`: every session-level hold of `session`.
    pub fn unlock_all(&self, session: u32) {
        self.release_where(session, |h| h.session_count = 0);
    }

    /// `session`'s transaction ended: its transaction-level holds go.
    pub fn release_transaction(&self, session: u32) {
        self.release_where(session, |h| h.xact_count = 0);
    }

    /// `session` ended: everything it held goes.
    pub fn release_session(&self, session: u32) {
        self.release_where(session, |h| {
            h.session_count = 0;
            h.xact_count = 0;
        });
    }

    /// A cancel request for `session`: its wait, if any, ends with 57014. False if it was not
    /// waiting.
    pub fn cancel(&self, session: u32) -> bool {
        let mut state = self.state.lock();
        if !state.waiting.contains_key(&session) {
            return false;
        }
        state.canceled.insert(session);
        self.changed.notify_all();
        true
    }

    /// What `session` waits for, if it waits for an advisory lock.
    pub fn waiting_for(&self, session: u32) -> Option<String> {
        let state = self.state.lock();
        let (key, exclusive) = *state.waiting.get(&session)?;
        let holders = state.blockers(session, key, exclusive);
        let holders: Vec<String> = holders.iter().map(|h| h.to_string()).collect();
        Some(format!("{} on {key} held by pid {}", mode_name(exclusive), holders.join(", ")))
    }

    /// Every hold and wait, for `isola_locks`.
    pub fn rows(&self) -> Vec<AdvisoryLockRow> {
        let state = self.state.lock();
        let mut rows: Vec<AdvisoryLockRow> = state
            .held
            .iter()
            .flat_map(|(key, holds)| {
                holds.iter().map(|h| AdvisoryLockRow {
                    session: h.session,
                    key: *key,
                    exclusive: h.exclusive,
                    granted: true,
                })
            })
            .chain(state.waiting.iter().map(|(s, (key, exclusive))| AdvisoryLockRow {
                session: *s,
                key: *key,
                exclusive: *exclusive,
                granted: false,
            }))
            .collect();
        rows.sort_by_key(|r| (r.key, !r.granted, r.session));
        rows
    }

    /// The mode's name as `isola_locks` shows it.
    pub fn mode_name(exclusive: bool) -> &'static str {
        mode_name(exclusive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRY: Wait = Wait::Try;

    fn no_lock_waits() -> HashMap<u32, Vec<u32>> {
        HashMap::new()
    }
    const NO_WAITS: fn() -> HashMap<u32, Vec<u32>> = no_lock_waits;

    #[test]
    fn a_cycle_through_a_row_lock_is_a_deadlock() {
        let l = std::sync::Arc::new(AdvisoryLocks::default());
        let k = AdvisoryKey::Big(9);
        assert!(l.lock(2, k, true, Scope::Session, TRY, &NO_WAITS).unwrap());
        // Session 2 waits for a row lock session 1's transaction holds; 1 waits here for 2.
        let row_waits = || HashMap::from([(2u32, vec![1u32])]);
        let wait = Wait::Block { lock_deadline: None, statement_deadline: None };
        let err = l.lock(1, k, true, Scope::Session, wait, &row_waits).unwrap_err();
        assert_eq!(err.code, SqlState::DeadlockDetected);
        let detail = err.detail.unwrap();
        assert!(detail.contains("Process 1 waits for ExclusiveLock on"), "{detail}");
        assert!(detail.contains("Process 2 waits for a row or table lock; blocked by process 1."));
        assert!(l.waiting_for(1).is_none());
    }

    #[test]
    fn holds_count_and_conflict_across_sessions_only() {
        let l = AdvisoryLocks::default();
        let k = AdvisoryKey::Big(1);
        assert!(l.lock(1, k, true, Scope::Session, TRY, &NO_WAITS).unwrap());
        assert!(l.lock(1, k, true, Scope::Session, TRY, &NO_WAITS).unwrap());
        assert!(l.lock(1, k, false, Scope::Transaction, TRY, &NO_WAITS).unwrap());
        assert!(!l.lock(2, k, false, Scope::Session, TRY, &NO_WAITS).unwrap());
        l.release_transaction(1);
        assert!(l.unlock(1, k, true));
        assert!(!l.lock(2, k, false, Scope::Session, TRY, &NO_WAITS).unwrap());
        assert!(l.unlock(1, k, true));
        assert!(!l.unlock(1, k, true));
        assert!(l.lock(2, k, false, Scope::Session, TRY, &NO_WAITS).unwrap());
        assert!(l.lock(3, k, false, Scope::Session, TRY, &NO_WAITS).unwrap());
        assert!(!l.lock(1, AdvisoryKey::Big(1), true, Scope::Session, TRY, &NO_WAITS).unwrap());
        assert!(l.lock(1, AdvisoryKey::Pair(0, 1), true, Scope::Session, TRY, &NO_WAITS).unwrap());
    }

    #[test]
    fn a_timed_out_wait_fails_with_55p03() {
        let l = AdvisoryLocks::default();
        let k = AdvisoryKey::Big(7);
        assert!(l.lock(1, k, true, Scope::Session, TRY, &NO_WAITS).unwrap());
        let wait = Wait::Block { lock_deadline: Some(Instant::now()), statement_deadline: None };
        let err = l.lock(2, k, true, Scope::Session, wait, &NO_WAITS).unwrap_err();
        assert_eq!(err.code, SqlState::LockNotAvailable);
        assert!(l.waiting_for(2).is_none());
    }
}
