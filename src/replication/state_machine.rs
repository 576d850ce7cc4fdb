//! isola's Raft state machine: the MVCC database itself, through the durable layer.
//!
//! APPLY. A normal entry is one isola log record with a 24-byte header: the node that wrote
//! it, the leadership epoch it was written in, and its LSN in that epoch's replicated log
//! ([`frame_entry`]). On the node that is leading in that epoch the record's commit is
//! already in memory, decided and waiting: applying it marks it durable (`Log::mark_durable`)
//! and makes it visible. Anywhere else (followers, or this node after it stopped leading) the
//! record is applied to the database (`durable::apply_record`). An entry of another epoch
//! reaching a node that still leads means it no longer does: it steps down first.
//!
//! SAFE SNAPSHOTS. The header's first word keeps the node id in its low 56 bits and flags in
//! its top byte; the one flag today is [`SAFE_SNAPSHOT`]: the state after this entry is a safe
//! snapshot (no serializable read-write transaction was running on the leader when it wrote
//! the entry, besides the one the entry commits; see `txn/mvcc.rs`, SAFE SNAPSHOTS). Entries
//! written before the flag existed read as not safe (the conservative answer). An entry with
//! an empty record is a safe-snapshot marker, carrying only the flag: the leader writes one
//! when its last serializable writer ends without a commit record, so followers are not left
//! at an unsafe position while it is idle. A blank entry (a new leadership's barrier) is safe
//! too: every record of an earlier leadership precedes it or never commits. Applying a flagged
//! entry (or a blank) marks the database's current state safe (`Database::mark_safe_snapshot`);
//! a commit moves the state on, so unmarked it leaves the state unsafe; other entries leave the
//! mark as it is. Installing a snapshot forgets the mark.
//!
//! SNAPSHOTS are checkpoints: the cut is taken under the apply lock, so its rows are exactly
//! the entries applied up to its log id; the consensus state (log id and membership) is saved
//! in the checkpoint. Installing one loads it into an empty database; a replica with data must
//! restart to start from it (`on_restart`).
//!
//! Invariants: entries are applied in index order, each exactly once per process; the applied
//! log id reported is never ahead of what the database shows; `applied_index` is published
//! after the entry is visible.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{Applied, LogId, NodeId, TypeConfig};
use crate::catalog::TableId;
use crate::durable::{CheckpointCut, DataFiles, DurableCatalog};
use crate::wal::Log;

pub(super) type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub(super) type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
type Snapshot = openraft::alias::SnapshotOf<TypeConfig, Vec<u8>>;

const ENTRY_HEADER: usize = 24;

/// The flags in the header's first word (its top byte); the node id is the low 56 bits.
const FLAGS_MASK: u64 = 0xFF << 56;
/// Header flag: the state after this entry is a safe snapshot.
pub(super) const SAFE_SNAPSHOT: u64 = 1 << 63;

/// The largest node id an entry header holds (`--node-id` is checked against it).
pub(super) const MAX_NODE_ID: NodeId = !FLAGS_MASK;

/// An entry's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EntryHeader {
    pub origin: NodeId,
    pub epoch: u64,
    pub lsn: u64,
    /// The state after the entry is a safe snapshot ([`SAFE_SNAPSHOT`]).
    pub safe_snapshot: bool,
}

/// Frames a record for a Raft entry: writer and flags, epoch, LSN, record.
pub(super) fn frame_entry(header: EntryHeader, record: &[u8]) -> Vec<u8> {
    debug_assert!(header.origin <= MAX_NODE_ID, "a node id too large (faulty code)");
    let flags = if header.safe_snapshot { SAFE_SNAPSHOT } else { 0 };
    let mut out = Vec::with_capacity(ENTRY_HEADER + record.len());
    out.extend_from_slice(&(header.origin | flags).to_le_bytes());
    out.extend_from_slice(&header.epoch.to_le_bytes());
    out.extend_from_slice(&header.lsn.to_le_bytes());
    out.extend_from_slice(record);
    out
}

fn unframe(entry: &[u8]) -> io::Result<(EntryHeader, &[u8])> {
    if entry.len() < ENTRY_HEADER {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a Raft entry cut short"));
    }
    let word = |i: usize| u64::from_le_bytes(entry[i..i + 8].try_into().expect("8 bytes"));
    let header = EntryHeader {
        origin: word(0) & !FLAGS_MASK,
        epoch: word(8),
        lsn: word(16),
        safe_snapshot: word(0) & SAFE_SNAPSHOT != 0,
    };
    Ok((header, &entry[ENTRY_HEADER..]))
}

/// This node's current leadership: the epoch its commits are written in.
pub(super) struct Leadership {
    pub term: u64,
    pub epoch: u64,
    pub log: Arc<Log>,
}

/// What has been applied.
pub(super) struct ApplyState {
    pub applied: Option<LogId>,
    pub membership: StoredMembership,
    /// Logged table ids to this process's.
    pub ids: HashMap<TableId, TableId>,
}

/// The state shared by the state machine, its snapshot builder and the node.
pub(super) struct Applier {
    pub node_id: NodeId,
    pub catalog: Arc<dyn DurableCatalog>,
    pub files: Arc<DataFiles>,
    pub state: Mutex<ApplyState>,
    pub leading: Mutex<Option<Leadership>>,
    /// The index of the last entry applied (and visible).
    pub applied_index: tokio::sync::watch::Sender<u64>,
    /// When the last entry was applied, and the commit index the leader last reported.
    pub on_restart: Box<dyn Fn() + Send + Sync>,
}

impl Applier {
    /// Stops leading (if it was): see `Database::step_down`.
    pub fn step_down(&self, leading: &mut Option<Leadership>, reason: &str) {
        if leading.take().is_some() || self.catalog.database().standby_reason().is_none() {
            self.catalog.database().step_down(reason);
        }
    }

    /// Whether applying `entry` is quick and waits for nothing but the database's lock: this
    /// leadership's own commit (applying it only publishes it) or a small commit of row
    /// writes. Measured: handing every entry's apply to another thread (`block_in_place`)
    /// cost each member a thread hand-off per commit.
    fn applies_at_once(&self, entry: &[u8]) -> bool {
        if entry.len() >= super::HEAVY_BYTES {
            return false;
        }
        let Ok((header, record)) = unframe(entry) else { return true };
        let own = self
            .leading
            .lock()
            .as_ref()
            .is_some_and(|l| header.origin == self.node_id && header.epoch == l.epoch);
        own || record.is_empty() || crate::wal::is_plain_commit(record)
    }

    fn apply_normal(&self, st: &mut ApplyState, entry: &[u8], index: u64) -> io::Result<()> {
        let (header, record) = unframe(entry)?;
        let EntryHeader { origin, epoch, lsn, safe_snapshot } = header;
        let mut leading = self.leading.lock();
        if let Some(l) = leading.as_ref() {
            if origin == self.node_id && epoch == l.epoch {
                // The committer wakes with its commit visible and this index published.
                self.catalog.database().publish_replicated(&l.log, lsn, || {
                    self.applied_index.send_replace(index);
                });
                return Ok(());
            }
            let reason = format!("node {origin} leads now");
            self.step_down(&mut leading, &reason);
        }
        drop(leading);
        if !record.is_empty() {
            crate::durable::apply_record(&*self.catalog, record, &mut st.ids)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        if safe_snapshot {
            // Before the next entry is applied: the mark is of exactly this entry's state.
            self.catalog.database().mark_safe_snapshot();
        }
        Ok(())
    }

    fn consensus_state(meta: &SnapshotMeta) -> io::Result<Vec<u8>> {
        postcard::to_stdvec(&SavedState {
            last_log_id: meta.last_log_id,
            membership: meta.last_membership.clone(),
        })
        .map_err(io::Error::other)
    }
}

/// The consensus state a checkpoint carries.
#[derive(Serialize, Deserialize)]
pub(super) struct SavedState {
    pub last_log_id: Option<LogId>,
    pub membership: StoredMembership,
}

impl SavedState {
    pub fn decode(bytes: &[u8]) -> io::Result<SavedState> {
        postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// The state machine handed to openraft (and its snapshot builder).
#[derive(Clone)]
pub struct StateMachine {
    pub(super) applier: Arc<Applier>,
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let applier = self.applier.clone();
        tokio::task::spawn_blocking(move || {
            let (meta, cut) = {
                let st = applier.state.lock();
                let meta = SnapshotMeta {
                    last_log_id: st.applied,
                    last_membership: st.membership.clone(),
                };
                let position = st.applied.map(|l| l.index).unwrap_or(0);
                (meta, CheckpointCut::take(&*applier.catalog, None).at_position(position))
            };
            let state = Applier::consensus_state(&meta)?;
            let report = cut
                .write(&applier.files, Some(&state))
                .map_err(|e| io::Error::other(e.to_string()))?;
            let data = crate::durable::read_checkpoint_file(&applier.files, &report.path)
                .map_err(|e| io::Error::other(e.to_string()))?;
            Ok(Snapshot { meta, snapshot: data })
        })
        .await
        .map_err(io::Error::other)?
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let st = self.applier.state.lock();
        Ok((st.applied, st.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let log_id = entry.log_id();
            {
                let mut st = self.applier.state.lock();
                match &entry.payload {
                    // A new leadership's barrier: safe (see the module doc). A leader marks
                    // its own database too; it is not read as a standby's.
                    EntryPayload::Blank => self.applier.catalog.database().mark_safe_snapshot(),
                    EntryPayload::Normal(record) => {
                        let applier = &self.applier;
                        let index = log_id.index;
                        if applier.applies_at_once(&record.0) {
                            applier.apply_normal(&mut st, &record.0, index)?
                        } else {
                            // A big commit or DDL (which may wait for a table lock a reader
                            // holds) takes a while: off the runtime's worker, so heartbeats
                            // and sessions go on meanwhile.
                            tokio::task::block_in_place(|| {
                                applier.apply_normal(&mut st, &record.0, index)
                            })?
                        }
                    }
                    EntryPayload::Membership(m) => {
                        st.membership = StoredMembership::new(Some(log_id), m.clone());
                    }
                }
                st.applied = Some(log_id);
            }
            self.applier.applied_index.send_replace(log_id.index);
            if let Some(responder) = responder {
                responder.send(Applied { index: log_id.index });
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, data: Vec<u8>) -> io::Result<()> {
        let applier = self.applier.clone();
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || {
            let mut st = applier.state.lock();
            let mut leading = applier.leading.lock();
            applier.step_down(&mut leading, "installing a snapshot from the leader");
            drop(leading);
            applier.catalog.database().forget_safe_snapshot();
            let loaded = crate::durable::install_checkpoint(
                &*applier.catalog,
                &applier.files,
                &data,
                &mut st.ids,
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
            st.applied = meta.last_log_id;
            st.membership = meta.last_membership.clone();
            drop(st);
            if loaded {
                applier.applied_index.send_replace(meta.last_log_id.map(|l| l.index).unwrap_or(0));
            } else {
                (applier.on_restart)();
            }
            Ok(())
        })
        .await
        .map_err(io::Error::other)?
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        let applier = self.applier.clone();
        tokio::task::spawn_blocking(move || {
            let dir = applier.files.dir().join("checkpoint");
            let storage = applier.files.storage();
            let Some(c) = crate::wal::read_latest_checkpoint(&**storage, &dir)
                .map_err(|e| io::Error::other(e.to_string()))?
            else {
                return Ok(None);
            };
            let Some(state) = &c.consensus else { return Ok(None) };
            let saved = SavedState::decode(state)?;
            let data = crate::durable::read_checkpoint_file(&applier.files, &c.path)
                .map_err(|e| io::Error::other(e.to_string()))?;
            let meta =
                SnapshotMeta { last_log_id: saved.last_log_id, last_membership: saved.membership };
            Ok(Some(Snapshot { meta, snapshot: data }))
        })
        .await
        .map_err(io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_carries_the_safe_snapshot_flag_beside_the_node_id() {
        for safe_snapshot in [false, true] {
            let header = EntryHeader { origin: MAX_NODE_ID, epoch: 7, lsn: 9, safe_snapshot };
            let entry = frame_entry(header, b"record");
            assert_eq!(entry.len(), ENTRY_HEADER + 6);
            assert_eq!(unframe(&entry).unwrap(), (header, &b"record"[..]));
        }
    }

    #[test]
    fn an_entry_written_before_the_flag_reads_as_not_safe() {
        // The old framing: node id, epoch, LSN, record.
        let mut old = Vec::new();
        for word in [3u64, 11, 12] {
            old.extend_from_slice(&word.to_le_bytes());
        }
        old.extend_from_slice(b"r");
        let (header, record) = unframe(&old).unwrap();
        let expected = EntryHeader { origin: 3, epoch: 11, lsn: 12, safe_snapshot: false };
        assert_eq!((header, record), (expected, &b"r"[..]));
    }
}
