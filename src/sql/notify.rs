//! LISTEN / NOTIFY: which session listens on which channel, the notifications a transaction
//! has queued, and each listener's mailbox until its connection sends them.
//!
//! Invariants (PostgreSQL's): a notification is delivered only when the transaction that sent
//! it commits (a rollback drops it), to every session listening on its channel at that moment
//! (the sender included); within one transaction a notification with the same channel and
//! payload as an earlier one is sent once, and the order of the rest is kept. A listener's
//! connection is woken ([`Notifications::set_wakeup`]) and sends what its mailbox holds when
//! it is idle outside a transaction block, or at the end of a command.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::error::SqlState;
use crate::sql::error::SqlError;

/// PostgreSQL's limit on a payload (bytes).
const MAX_PAYLOAD_BYTES: usize = 8000;

/// A notification as its listener receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The sending session's process id (its session id).
    pub pid: u32,
    pub channel: String,
    pub payload: String,
}

/// The channels, the queued notifications and the mailboxes of every session.
///
/// Sessions that use none of this pay two atomic loads per transaction and per answer: the
/// counters below are kept under the mutex and read without it (a session's own queueing
/// happened before its own look).
#[derive(Default)]
pub struct Notifications {
    state: Mutex<State>,
    /// Sessions with notifications queued in their running transaction.
    queuing: AtomicUsize,
    /// Notifications in mailboxes, not yet sent.
    undelivered: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// Session id → the channels it listens on.
    channels: HashMap<u32, BTreeSet<String>>,
    /// Session id → what its running transaction has sent (channel, payload), in order.
    pending: HashMap<u32, Vec<(String, String)>>,
    /// Session id → notifications delivered to it and not yet sent to its client.
    mailboxes: HashMap<u32, VecDeque<Notification>>,
    /// Session id → what wakes its connection when its mailbox gets something.
    wakeups: HashMap<u32, Arc<tokio::sync::Notify>>,
}

impl Notifications {
    /// The connection of `session` is woken by `wakeup` when a notification arrives for it.
    pub fn set_wakeup(&self, session: u32, wakeup: Arc<tokio::sync::Notify>) {
        self.state.lock().wakeups.insert(session, wakeup);
    }

    pub fn listen(&self, session: u32, channel: &str) {
        self.state.lock().channels.entry(session).or_default().insert(channel.to_string());
    }

    /// Stops listening on `channel`, or on every channel (`None`).
    pub fn unlisten(&self, session: u32, channel: Option<&str>) {
        let mut state = self.state.lock();
        match channel {
            Some(c) => {
                if let Some(set) = state.channels.get_mut(&session) {
                    set.remove(c);
                }
            }
            None => {
                state.channels.remove(&session);
            }
        }
    }

    /// The channels `session` listens on, in order.
    pub fn channels_of(&self, session: u32) -> Vec<String> {
        self.state
            .lock()
            .channels
            .get(&session)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Queues a notification in `session`'s running transaction (sent if it commits).
    pub fn queue(&self, session: u32, channel: &str, payload: &str) -> Result<(), SqlError> {
        if channel.is_empty() {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "channel name cannot be empty",
            ));
        }
        if payload.len() >= MAX_PAYLOAD_BYTES {
            return Err(SqlError::new(SqlState::InvalidParameterValue, "payload string too long"));
        }
        let mut state = self.state.lock();
        let pending = state.pending.entry(session).or_default();
        if pending.is_empty() {
            self.queuing.fetch_add(1, Ordering::SeqCst);
        }
        if !pending.iter().any(|(c, p)| c == channel && p == payload) {
            pending.push((channel.to_string(), payload.to_string()));
        }
        Ok(())
    }

    /// `session`'s transaction committed: what it queued goes to every listener.
    pub fn commit(&self, session: u32) {
        if self.queuing.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut state = self.state.lock();
        let Some(pending) = self.remove_pending(&mut state, session) else { return };
        let mut woken = Vec::new();
        for (channel, payload) in pending {
            let listeners: Vec<u32> = state
                .channels
                .iter()
                .filter(|(_, set)| set.contains(&channel))
                .map(|(s, _)| *s)
                .collect();
            for listener in listeners {
                state.mailboxes.entry(listener).or_default().push_back(Notification {
                    pid: session,
                    channel: channel.clone(),
                    payload: payload.clone(),
                });
                self.undelivered.fetch_add(1, Ordering::SeqCst);
                if !woken.contains(&listener) {
                    woken.push(listener);
                }
            }
        }
        for listener in woken {
            if let Some(w) = state.wakeups.get(&listener) {
                w.notify_one();
            }
        }
    }

    /// How many notifications `session`'s transaction has queued (a savepoint's mark).
    pub fn pending_len(&self, session: u32) -> usize {
        self.state.lock().pending.get(&session).map_or(0, Vec::len)
    }

    /// ROLLBACK TO SAVEPOINT: what was queued after the mark `len` is dropped.
    pub fn truncate_pending(&self, session: u32, len: usize) {
        let mut state = self.state.lock();
        if let Some(p) = state.pending.get_mut(&session)
            && len < p.len()
        {
            p.truncate(len);
            if len == 0 {
                state.pending.remove(&session);
                self.queuing.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// `session`'s transaction rolled back: what it queued is dropped.
    pub fn discard(&self, session: u32) {
        if self.queuing.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut state = self.state.lock();
        self.remove_pending(&mut state, session);
    }

    fn remove_pending(&self, state: &mut State, session: u32) -> Option<Vec<(String, String)>> {
        let pending = state.pending.remove(&session)?;
        if !pending.is_empty() {
            self.queuing.fetch_sub(1, Ordering::SeqCst);
        }
        Some(pending)
    }

    /// Takes the notifications waiting to be sent to `session`'s client.
    pub fn take(&self, session: u32) -> Vec<Notification> {
        if self.undelivered.load(Ordering::SeqCst) == 0 {
            return Vec::new();
        }
        let mut state = self.state.lock();
        let taken = self.remove_mailbox(&mut state, session);
        taken.map(Vec::from).unwrap_or_default()
    }

    fn remove_mailbox(&self, state: &mut State, session: u32) -> Option<VecDeque<Notification>> {
        let taken = state.mailboxes.remove(&session)?;
        self.undelivered.fetch_sub(taken.len(), Ordering::SeqCst);
        Some(taken)
    }

    /// The session ended: it listens no more, and what it had is dropped.
    pub fn forget(&self, session: u32) {
        let mut state = self.state.lock();
        state.channels.remove(&session);
        self.remove_pending(&mut state, session);
        self.remove_mailbox(&mut state, session);
        state.wakeups.remove(&session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_at_commit_deduplicated_dropped_on_rollback() {
        let n = Notifications::default();
        n.listen(1, "c");
        n.listen(2, "c");
        n.queue(3, "c", "a").unwrap();
        n.queue(3, "c", "a").unwrap();
        n.queue(3, "c", "b").unwrap();
        n.queue(3, "other", "x").unwrap();
        assert!(n.take(1).is_empty(), "nothing before commit");
        n.commit(3);
        let got: Vec<String> = n.take(1).into_iter().map(|m| m.payload).collect();
        assert_eq!(got, vec!["a", "b"]);
        assert_eq!(n.take(2).len(), 2);
        n.queue(3, "c", "lost").unwrap();
        n.discard(3);
        n.commit(3);
        assert!(n.take(1).is_empty());
        n.unlisten(1, None);
        n.queue(2, "c", "self").unwrap();
        n.commit(2);
        assert!(n.take(1).is_empty());
        assert_eq!(n.take(2)[0].pid, 2);
        n.queue(2, "c", "x").unwrap();
        n.truncate_pending(2, 0);
        n.forget(1);
        assert_eq!(n.queuing.load(Ordering::SeqCst), 0);
        assert_eq!(n.undelivered.load(Ordering::SeqCst), 0);
    }
}
