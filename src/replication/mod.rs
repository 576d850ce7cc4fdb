//! Replication: the Raft layer, built on openraft. This module is the only place that names an
//! openraft type; the rest of isola sees isola types. A single node (`isola serve` without
//! `--node-id`) still logs through `wal/`; a member of a Raft group logs only here.
//!
//! WHAT IT OWNS. The openraft type configuration for isola ([`TypeConfig`]) and the storage
//! Raft needs under it:
//!
//! - `log_store.rs`: [`LogStore`], the durable Raft log: entries in segment files of
//!   checksummed frames, group commit by a flusher thread, the vote, the committed log id and the
//!   last purged log id in small files replaced atomically; recovery that cuts a torn tail and
//!   refuses corruption, naming the file and offset.
//! - `network.rs`: the TCP transport: [`NetworkFactory`] (openraft's client side), [`serve`]
//!   (the server side) and [`call_app`] (application calls on the same port), length-prefixed
//!   postcard frames, bounded by openraft's RPC timeouts.
//! - `state_machine.rs`: the state machine, which is the database (apply = commit or
//!   replay of a logged record; snapshots = checkpoints).
//! - `node.rs`: a running member: Raft, the proposer, the leadership watcher (primary or
//!   standby), tokens and read consistency, `isola_cluster`'s rows.
//! - `network.rs`: the TCP transport (Raft RPCs and application calls).
//! - `testing.rs` (tests only): a minimal in-memory state machine for openraft's storage suite.
//!
//! The plan (`shared/design/distribution.md`, step 1): this log replaces `wal/`; a Raft entry
//! is today's WAL record plus its (term, index), or a membership change; the in-memory MVCC is the
//! state machine (apply = `Database::replay_commit`); a checkpoint is the snapshot.
//!
//! INVARIANTS.
//!
//! - An entry's payload is an opaque, already-encoded isola log record ([`LogRecord`]): this
//!   layer never decodes it, so it does not depend on the SQL layer or on the record format.
//! - The log has no holes: entries are consecutive by index from the first one not purged to
//!   the last one, in memory and on disk, across truncation, purge and recovery.
//! - Every write (append, truncate, purge, vote, committed) is carried out by one thread in the
//!   order it was asked for, as openraft requires; `append` returns once the entries are readable
//!   and reports them flushed only after `fdatasync`.
//! - Log ids are standard Raft's (term, index): one leader per term (`leader_id_std`).

mod log_store;
mod network;
mod node;
mod state_machine;
#[cfg(test)]
mod testing;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use log_store::{LogReader, LogStore, LogStoreOptions, Recovery};
pub use network::{
    AppHandler, LeaderContact, Network, NetworkFactory, call_app, serve, serve_with,
};
pub use node::{
    ClusterOptions, MemberStatus, MembershipChange, ReplicaNode, format_token, parse_token,
    request_membership_change,
};
pub use state_machine::StateMachine;

/// A member's id in the Raft group (`isola serve --node-id`).
pub type NodeId = u64;

/// A Raft term.
pub type Term = u64;

/// A position in the Raft log.
pub type LogIndex = u64;

/// A member of the Raft group, as stored in membership entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Where the member listens for Raft messages (`host:port`, `--raft-listen`).
    pub raft_addr: String,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.raft_addr)
    }
}

/// The payload of a normal Raft entry: one isola log record, already encoded by the layer that
/// wrote it. Replication stores and ships the bytes and never looks inside.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord(pub Vec<u8>);

impl fmt::Debug for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogRecord({} bytes)", self.0.len())
    }
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record of {} bytes", self.0.len())
    }
}

impl LogRecord {
    /// The bytes of `entries`' records (what encoding or copying them costs).
    pub fn bytes_of(entries: &[Entry]) -> usize {
        entries
            .iter()
            .map(|e| match &e.payload {
                openraft::EntryPayload::Normal(record) => record.0.len(),
                _ => 0,
            })
            .sum()
    }
}

/// Records at least this large are encoded and decoded off the runtime's workers.
const HEAVY_BYTES: usize = 1 << 20;

/// Runs work proportional to `bytes` (encoding, decoding or copying entries) so that a large
/// commit (a 140 MB COPY) does not hold one of the runtime's worker threads: on a multi-thread
/// runtime, large work moves the worker's other tasks elsewhere first (`block_in_place`).
/// Found: with two workers, the core's and the replication tasks' encoding of one such entry
/// starved the heartbeats long enough for the followers to elect another leader mid-commit.
pub(crate) fn off_the_workers<T>(bytes: usize, work: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if bytes >= HEAVY_BYTES && multi_thread { tokio::task::block_in_place(work) } else { work() }
}

/// What applying an entry answers to the client that proposed it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The index the entry was applied at.
    pub index: LogIndex,
}

openraft::declare_raft_types!(
    /// isola's openraft type configuration: u64 node ids and terms, standard Raft leader ids
    /// (one leader per term, log id = (term, index)), opaque records as entries, tokio.
    pub TypeConfig:
        D = LogRecord,
        R = Applied,
        NodeId = NodeId,
        Node = Member,
        Term = Term,
        LeaderId = openraft::impls::leader_id_std::LeaderId<Term, NodeId>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft log entry of isola's configuration.
pub type Entry = openraft::alias::EntryOf<TypeConfig>;
/// A log id: (term, index).
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
/// A vote: the term, the candidate voted for, and whether a quorum granted it.
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
