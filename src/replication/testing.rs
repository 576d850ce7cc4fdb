//! A minimal in-memory state machine, for openraft's storage suite (which builds a log store
//! and a state machine together). It keeps the applied records in order; a snapshot is all of
//! them, postcard-encoded. Not isola's state machine: that will be the MVCC database.
//!
//! Invariant: `applied` is the log id of the last entry applied or installed, and `membership`
//! the last membership among them.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use parking_lot::Mutex;

use super::{Applied, LogId, LogIndex, TypeConfig};

type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
type Snapshot = openraft::alias::SnapshotOf<TypeConfig, Vec<u8>>;

#[derive(Default)]
struct State {
    applied: Option<LogId>,
    membership: StoredMembership,
    /// The records applied, by index.
    records: BTreeMap<LogIndex, Vec<u8>>,
    snapshot: Option<(SnapshotMeta, Vec<u8>)>,
}

/// The state machine (and its own snapshot builder: they share the state).
#[derive(Clone, Default)]
pub struct MemStateMachine {
    state: Arc<Mutex<State>>,
}

impl MemStateMachine {
    /// The records applied (or installed from a snapshot), by index.
    pub fn records(&self) -> BTreeMap<LogIndex, Vec<u8>> {
        self.state.lock().records.clone()
    }
}

fn undecodable(e: postcard::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl RaftSnapshotBuilder<TypeConfig> for MemStateMachine {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let mut state = self.state.lock();
        let data = postcard::to_stdvec(&state.records).map_err(undecodable)?;
        let meta =
            SnapshotMeta { last_log_id: state.applied, last_membership: state.membership.clone() };
        state.snapshot = Some((meta.clone(), data.clone()));
        Ok(Snapshot { meta, snapshot: data })
    }
}

impl RaftStateMachine<TypeConfig> for MemStateMachine {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = MemStateMachine;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let state = self.state.lock();
        Ok((state.applied, state.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let log_id = entry.log_id();
            {
                let mut state = self.state.lock();
                match &entry.payload {
                    EntryPayload::Blank => {}
                    EntryPayload::Normal(record) => {
                        state.records.insert(log_id.index, record.0.clone());
                    }
                    EntryPayload::Membership(m) => {
                        state.membership = StoredMembership::new(Some(log_id), m.clone());
                    }
                }
                state.applied = Some(log_id);
            }
            if let Some(responder) = responder {
                responder.send(Applied { index: log_id.index });
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> MemStateMachine {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, data: Vec<u8>) -> io::Result<()> {
        let records = postcard::from_bytes(&data).map_err(undecodable)?;
        let mut state = self.state.lock();
        state.records = records;
        state.applied = meta.last_log_id;
        state.membership = meta.last_membership.clone();
        state.snapshot = Some((meta.clone(), data));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        let state = self.state.lock();
        Ok(state.snapshot.clone().map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}
