//! A replica: one member of isola's Raft group, wired to its database.
//!
//! WHAT IT OWNS. The openraft instance over the durable log store (`raft/`) and the state
//! machine (the database), the TCP transport's server, and three tasks:
//!
//! - the PROPOSER takes the records the leader's replicated log hands over (in LSN order,
//!   under the database's commit order) and writes them to Raft in that order, each on the
//!   condition that this node still leads in the term the record was written in
//!   (`with_leader`): a record of an abandoned leadership is never appended later;
//! - the LEADERSHIP WATCHER turns Raft's view into the database's: a node that leads, has a
//!   quorum and has applied a blank entry of its own term (so every earlier entry is applied)
//!   becomes the primary (`Database::become_primary` with a fresh replicated log and epoch);
//!   one that stops leading or loses its quorum (neither Raft's acknowledgements nor pings
//!   from a majority, [`ping_members`]) for longer than [`quorum_loss_limit`] steps down (`Database::step_down`: waiting commits fail with 08007, writers end). It may lead
//!   again in the same term, but only in a new epoch, after a new barrier: the proposal gate
//!   keeps every record of the ended epoch before that barrier or out of the log;
//! - formation: fresh members started with the same `--peers` initialize the group with that
//!   membership (openraft allows identical initialization on every member).
//!
//! TOKENS. A position is a Raft log index: the token of a session is the applied index after
//! its last commit or read. Any member serves a read at a token once it has applied that far.
//!
//! Invariants: only the watcher makes the database primary, and only with a new epoch after a
//! barrier that every earlier record precedes; every
//! entry is applied by the state machine, including this node's own (which only publishes
//! them); a read at a level waits (bounded) or fails, never serves older data than promised.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::{Config, Raft, ReadPolicy, ServerState, SnapshotPolicy};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::state_machine::{
    Applier, ApplyState, EntryHeader, Leadership, MAX_NODE_ID, SavedState, StateMachine,
    StoredMembership, frame_entry,
};
use super::{LogRecord, LogStore, LogStoreOptions, Member, NodeId, TypeConfig, network};
use crate::durable::DurableCatalog;
use crate::error::{Error, Result};
use crate::wal::{Log, Lsn, Shipper, Storage};

/// How a replica is started (`isola serve --node-id --raft-listen --peers`).
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub node_id: NodeId,
    pub raft_listen: SocketAddr,
    /// Every member of the initial group: id and Raft address.
    pub peers: BTreeMap<NodeId, String>,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: (u64, u64),
    /// A snapshot (checkpoint) every this many entries.
    pub snapshot_every: u64,
    /// A member joining a running group (`--join`): it does not form a group of its own; it
    /// waits until the leader adds it (`isola cluster add-learner`).
    pub join: bool,
}

impl ClusterOptions {
    /// Parses `--peers 1=host:port,2=host:port`.
    pub fn parse_peers(text: &str) -> std::result::Result<BTreeMap<NodeId, String>, String> {
        let mut peers = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, addr) = part
                .split_once('=')
                .ok_or_else(|| format!("--peers: \"{part}\" is not ID=HOST:PORT"))?;
            let id: NodeId =
                id.trim().parse().map_err(|_| format!("--peers: \"{id}\" is not a node id"))?;
            if id > MAX_NODE_ID {
                return Err(format!("--peers: node id {id} is above {MAX_NODE_ID}"));
            }
            if peers.insert(id, addr.trim().to_string()).is_some() {
                return Err(format!("--peers names node {id} twice"));
            }
        }
        if peers.is_empty() {
            return Err("--peers names no member".into());
        }
        Ok(peers)
    }
}

/// One member's state as this node sees it (a row of `isola_cluster`).
#[derive(Clone, Debug)]
pub struct MemberStatus {
    pub node_id: NodeId,
    pub raft_addr: String,
    pub role: &'static str,
    pub term: u64,
    pub leader_id: Option<NodeId>,
    /// The last index applied (this node) or known replicated (others, on the leader).
    pub applied: Option<u64>,
    pub durable: Option<u64>,
    pub lag_entries: Option<u64>,
    pub is_self: bool,
}

/// A record on its way to Raft.
struct Proposal {
    epoch: u64,
    term: u64,
    entry: Vec<u8>,
}

/// The replicated log's consensus end: frames each record and queues it for the proposer.
struct RaftShipper {
    node_id: NodeId,
    epoch: u64,
    term: u64,
    tx: mpsc::UnboundedSender<Proposal>,
}

impl Shipper for RaftShipper {
    fn ship(&self, lsn: Lsn, record: Vec<u8>, safe_snapshot: bool) {
        let header = EntryHeader { origin: self.node_id, epoch: self.epoch, lsn, safe_snapshot };
        let entry = frame_entry(header, &record);
        // A closed channel means the node is shutting down: the commit then never becomes
        // durable and its waiter ends with the log's failure.
        let _ = self.tx.send(Proposal { epoch: self.epoch, term: self.term, entry });
    }
}

/// A running replica.
pub struct ReplicaNode {
    applier: Arc<Applier>,
    /// Held by the proposer from its epoch check to the hand-over to Raft, and by the watcher
    /// for its barrier: a record of an ended epoch is either in the log before the barrier or
    /// never.
    proposal_gate: Arc<tokio::sync::Mutex<()>>,
    /// Recent AppendEntries accepted from the leader: when, and its commit index then.
    contacts: Arc<Mutex<std::collections::VecDeque<(std::time::Instant, u64)>>>,
    raft: Raft<TypeConfig, StateMachine>,
    proposals: mpsc::UnboundedSender<Proposal>,
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    options: ClusterOptions,
    /// The runtime Raft runs on: a blocking thread (a statement calling a membership
    /// function) hands async work to it.
    runtime: tokio::runtime::Handle,
    /// On the leader: when each member last answered a ping in this node's term or an older
    /// one (see [`ping_members`]).
    pinged: Arc<Mutex<HashMap<NodeId, std::time::Instant>>>,
}

/// Application RPC: "what is your read index" (answered by the leader).
const APP_READ_INDEX: u8 = 1;
/// Application RPC: "are you there, and in which term": answered by the transport at once,
/// whatever the member's Raft is busy with (see [`ping_members`]).
const APP_PING: u8 = 3;
/// Application RPC: a membership change (`isola cluster ...`), run by the leader (a member
/// that does not lead passes it on to the leader once).
const APP_MEMBERSHIP: u8 = 2;

/// A change of the group's members (`isola cluster add-learner | promote | remove |
/// transfer-leader`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum MembershipChange {
    /// A new member that receives the log but does not vote (started with `--join`).
    AddLearner { id: NodeId, raft_addr: String },
    /// A learner becomes a voter.
    Promote { id: NodeId },
    /// A member leaves the group.
    Remove { id: NodeId },
    /// Leadership moves to this voter.
    TransferLeader { to: NodeId },
}

/// Asks the member whose Raft address is `raft_addr` to make `change` (it passes it on to the
/// leader). Returns the leader's description of what it did.
pub async fn request_membership_change(
    raft_addr: &str,
    change: &MembershipChange,
    timeout: Duration,
) -> std::result::Result<String, String> {
    let mut body = vec![APP_MEMBERSHIP];
    body.extend(postcard::to_stdvec(change).map_err(|e| e.to_string())?);
    let answer = network::call_app(raft_addr, body, timeout)
        .await
        .map_err(|e| format!("{raft_addr}: {e}"))?;
    match answer.split_first() {
        Some((1, text)) => Ok(String::from_utf8_lossy(text).into_owned()),
        Some((_, text)) => Err(String::from_utf8_lossy(text).into_owned()),
        None => Err(format!("{raft_addr}: an empty answer")),
    }
}

impl ReplicaNode {
    /// Recovers the replica's directory into `catalog` (empty), starts Raft and its tasks,
    /// and forms the group if this member is new. `restart` re-executes the process (used
    /// when a snapshot must replace a database that has data).
    pub async fn start<C: DurableCatalog>(
        catalog: Arc<C>,
        storage: Arc<dyn Storage>,
        dir: &Path,
        lock: Option<std::fs::File>,
        options: ClusterOptions,
        restart: Box<dyn Fn() + Send + Sync>,
    ) -> Result<Arc<ReplicaNode>> {
        let recovered = crate::durable::recover_replica(&catalog, storage.clone(), dir, lock)?;
        let (applied, membership) = match &recovered.consensus {
            Some(bytes) => {
                let saved = SavedState::decode(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
                (saved.last_log_id, saved.membership)
            }
            None => (None, StoredMembership::default()),
        };
        let catalog_dyn: Arc<dyn DurableCatalog> = catalog;
        let applier = Arc::new(Applier {
            node_id: options.node_id,
            catalog: catalog_dyn,
            files: recovered.files.clone(),
            state: Mutex::new(ApplyState { applied, membership, ids: recovered.ids }),
            leading: Mutex::new(None),
            applied_index: tokio::sync::watch::Sender::new(applied.map(|l| l.index).unwrap_or(0)),
            on_restart: restart,
        });
        let log_store = LogStore::open(&dir.join("raft"), LogStoreOptions::default())?;
        let config = Config {
            cluster_name: "isola".into(),
            heartbeat_interval: options.heartbeat_ms,
            election_timeout_min: options.election_timeout_ms.0,
            election_timeout_max: options.election_timeout_ms.1,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(options.snapshot_every),
            max_in_snapshot_log_to_keep: 1000,
            // Per step of a snapshot transfer (connect, each chunk, the install): a
            // checkpoint must load within it.
            install_snapshot_timeout: 30_000,
            // A member whose data directory was wiped comes back with an empty log: the leader
            // starts it again from a snapshot instead of refusing it.
            allow_log_reversion: Some(true),
            ..Default::default()
        };
        let config = Arc::new(
            config.validate().map_err(|e| Error::InvalidInput(format!("raft config: {e}")))?,
        );
        let sm = StateMachine { applier: applier.clone() };
        let raft = Raft::new(
            options.node_id,
            config,
            network::NetworkFactory::new(options.node_id),
            log_store,
            sm,
        )
        .await
        .map_err(|e| Error::Io(format!("starting raft: {e}")))?;
        let listener = tokio::net::TcpListener::bind(options.raft_listen)
            .await
            .map_err(|e| Error::Io(format!("--raft-listen {}: {e}", options.raft_listen)))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let contacts: Arc<Mutex<std::collections::VecDeque<(std::time::Instant, u64)>>> =
            Arc::default();
        let proposal_gate = Arc::new(tokio::sync::Mutex::new(()));
        let node = Arc::new(ReplicaNode {
            applier,
            proposal_gate: proposal_gate.clone(),
            contacts: contacts.clone(),
            raft: raft.clone(),
            proposals: tx,
            storage,
            dir: dir.to_path_buf(),
            options: options.clone(),
            runtime: tokio::runtime::Handle::current(),
            pinged: Arc::default(),
        });
        let weak = Arc::downgrade(&node);
        let app: network::AppHandler = Arc::new(move |body: Vec<u8>| {
            let node = weak.upgrade();
            Box::pin(async move {
                match node {
                    Some(node) => node.answer_app(body).await,
                    None => vec![0],
                }
            })
        });
        let on_contact: network::LeaderContact = Arc::new(move |leader_commit| {
            let mut c = contacts.lock();
            c.push_back((std::time::Instant::now(), leader_commit));
            while c.len() > 256 {
                c.pop_front();
            }
        });
        tokio::spawn(network::serve_with(listener, raft.clone(), Some(app), Some(on_contact)));
        tokio::spawn(propose(raft.clone(), node.applier.clone(), rx, proposal_gate));
        tokio::spawn(watch_leadership(Arc::downgrade(&node)));
        tokio::spawn(ping_members(Arc::downgrade(&node)));
        if !raft.is_initialized().await.map_err(|e| Error::Io(e.to_string()))? {
            let members: BTreeMap<NodeId, Member> = options
                .peers
                .iter()
                .map(|(id, addr)| (*id, Member { raft_addr: addr.clone() }))
                .collect();
            if members.contains_key(&options.node_id) && !options.join {
                // Identical on every fresh member; "already initialized" is fine.
                let _ = raft.initialize(members).await;
            }
        }
        Ok(node)
    }

    /// This member's id.
    pub fn node_id(&self) -> NodeId {
        self.options.node_id
    }

    /// The index applied (and visible) here.
    pub fn applied_index(&self) -> u64 {
        *self.applier.applied_index.borrow()
    }

    /// Whether this node is the primary (leading, writes accepted).
    pub fn is_primary(&self) -> bool {
        self.applier.leading.lock().is_some()
    }

    /// The leader as Raft sees it: id and Raft address.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft.metrics().borrow_watched().clone();
        let id = m.current_leader?;
        let addr = m.membership_config.membership().get_node(&id).map(|n| n.raft_addr.clone());
        Some((id, addr.unwrap_or_default()))
    }

    /// Waits until this node has applied `index`, at most `timeout`.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<()> {
        let mut rx = self.applier.applied_index.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|&a| a >= index)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Error::QueryCanceled(format!(
                "canceling statement: this replica (node {}) had not applied position {} within \
                 {} ms (it has applied {}); the leader is {}",
                self.node_id(),
                format_token(index),
                timeout.as_millis(),
                format_token(self.applied_index()),
                self.describe_leader()
            ))),
        }
    }

    /// How old this member's data may be: zero for the primary; for a follower, the time
    /// since the last AppendEntries from the leader whose commit index it has applied (it had
    /// everything committed then). `None`: it has not heard from a leader it caught up with.
    pub fn staleness(&self) -> Option<Duration> {
        if self.is_primary() {
            return Some(Duration::ZERO);
        }
        let applied = self.applied_index();
        let contacts = self.contacts.lock();
        let (at, _) = contacts.iter().rev().find(|(_, commit)| *commit <= applied)?;
        Some(at.elapsed())
    }

    /// Waits (at most `wait`) until this member's data is at most `max` old
    /// (`bounded_staleness`); else an error naming how old it is and the leader.
    pub async fn wait_fresh(&self, max: Duration, wait: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let age = self.staleness();
            if age.is_some_and(|a| a <= max) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let age = age.map_or("of unknown age (no leader heard)".into(), |a| {
                    format!("{} ms old", a.as_millis())
                });
                return Err(Error::QueryCanceled(format!(
                    "this replica's (node {}) data is {age}, beyond isola.max_staleness ({} ms), \
                     and did not catch up within isola.staleness_wait ({} ms); read from the \
                     leader, {}",
                    self.node_id(),
                    max.as_millis(),
                    wait.as_millis(),
                    self.describe_leader()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn describe_leader(&self) -> String {
        match self.leader() {
            Some((id, addr)) => format!("node {id} (raft {addr})"),
            None => "unknown (an election is under way)".into(),
        }
    }

    /// The index a linearizable read must see: confirmed by the leader (ReadIndex: a round of
    /// heartbeats to a quorum), asked over the network when this node does not lead.
    pub async fn read_index(&self, timeout: Duration) -> Result<u64> {
        let unavailable = |why: String| {
            Error::QueryCanceled(format!(
                "a linearizable read needs the leader's read index: {why}; the leader is {}",
                self.describe_leader()
            ))
        };
        if self.raft.metrics().borrow_watched().state == ServerState::Leader {
            let read =
                tokio::time::timeout(timeout, self.raft.ensure_linearizable(ReadPolicy::ReadIndex))
                    .await
                    .map_err(|_| unavailable("no quorum answered in time".into()))?
                    .map_err(|e| unavailable(e.to_string()))?;
            return Ok(read.index());
        }
        let Some((_, addr)) = self.leader() else {
            return Err(unavailable("no leader is known".into()));
        };
        let answer = network::call_app(&addr, vec![APP_READ_INDEX], timeout)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        match answer.as_slice() {
            [1, rest @ ..] if rest.len() == 8 => {
                Ok(u64::from_le_bytes(rest.try_into().expect("8 bytes")))
            }
            [0, why @ ..] => Err(unavailable(String::from_utf8_lossy(why).into_owned())),
            _ => Err(unavailable("a malformed answer".into())),
        }
    }

    async fn answer_app(&self, body: Vec<u8>) -> Vec<u8> {
        match body.first() {
            Some(&APP_READ_INDEX) => match self.read_index(Duration::from_secs(2)).await {
                Ok(index) if self.raft.metrics().borrow_watched().state == ServerState::Leader => {
                    let mut out = vec![1];
                    out.extend_from_slice(&index.to_le_bytes());
                    out
                }
                Ok(_) => b"\0this node stopped leading".to_vec(),
                Err(e) => {
                    let mut out = vec![0];
                    out.extend_from_slice(e.message().as_bytes());
                    out
                }
            },
            Some(&APP_PING) => {
                let mut out = vec![1];
                out.extend_from_slice(
                    &self.raft.metrics().borrow_watched().current_term.to_le_bytes(),
                );
                out
            }
            Some(&APP_MEMBERSHIP) => {
                let outcome = match postcard::from_bytes::<MembershipChange>(&body[1..]) {
                    Ok(change) => self.change_membership(change, body.clone()).await,
                    Err(e) => Err(format!("a malformed membership change: {e}")),
                };
                let (tag, text) = match outcome {
                    Ok(text) => (1, text),
                    Err(text) => (0, text),
                };
                let mut out = vec![tag];
                out.extend_from_slice(text.as_bytes());
                out
            }
            _ => b"\0unknown request".to_vec(),
        }
    }

    /// A membership change from a thread that may block (a statement calling
    /// `isola_cluster_add_learner()` and the like): runs it on the Raft runtime, here if this
    /// member leads, else on the leader; waits at most `timeout`. Never call it from an async
    /// task (it blocks the thread).
    pub fn change_membership_blocking(
        self: &Arc<Self>,
        change: MembershipChange,
        timeout: Duration,
    ) -> std::result::Result<String, String> {
        let mut request = vec![APP_MEMBERSHIP];
        request.extend(postcard::to_stdvec(&change).map_err(|e| e.to_string())?);
        let (tx, rx) = std::sync::mpsc::channel();
        let node = self.clone();
        self.runtime.spawn(async move {
            let _ = tx.send(node.change_membership(change, request).await);
        });
        rx.recv_timeout(timeout).unwrap_or_else(|_| {
            Err(format!(
                "the membership change did not finish within {} s; its outcome is unknown (see isola_cluster)",
                timeout.as_secs()
            ))
        })
    }

    /// Runs a membership change here if this member leads, else passes it to the leader.
    async fn change_membership(
        &self,
        change: MembershipChange,
        request: Vec<u8>,
    ) -> std::result::Result<String, String> {
        use openraft::ChangeMembers;
        let leads = self.raft.metrics().borrow_watched().state == ServerState::Leader;
        if !leads {
            let Some((id, addr)) = self.leader() else {
                return Err("no leader is known (an election is under way); try again".into());
            };
            if id == self.node_id() {
                return Err("this member is not leading yet; try again".into());
            }
            let answer = network::call_app(&addr, request, Duration::from_secs(30))
                .await
                .map_err(|e| format!("passing the change to the leader, node {id}: {e}"))?;
            return match answer.split_first() {
                Some((1, text)) => Ok(String::from_utf8_lossy(text).into_owned()),
                Some((_, text)) => Err(String::from_utf8_lossy(text).into_owned()),
                None => Err("an empty answer from the leader".into()),
            };
        }
        let fail = |e: String| format!("node {} (leader): {e}", self.node_id());
        match change {
            MembershipChange::AddLearner { id, .. } if id > MAX_NODE_ID => {
                Err(format!("node id {id} is above {MAX_NODE_ID} (an entry header's limit)"))
            }
            MembershipChange::AddLearner { id, raft_addr } => {
                let nodes = BTreeMap::from([(id, Member { raft_addr: raft_addr.clone() })]);
                self.raft
                    .change_membership(ChangeMembers::AddNodes(nodes), true)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                Ok(format!("node {id} ({raft_addr}) added as a learner"))
            }
            MembershipChange::Promote { id } => {
                let ids = std::collections::BTreeSet::from([id]);
                self.raft
                    .change_membership(ChangeMembers::AddVoterIds(ids), true)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                Ok(format!("node {id} is a voter"))
            }
            MembershipChange::Remove { id } => {
                let ids = std::collections::BTreeSet::from([id]);
                self.raft
                    .change_membership(ChangeMembers::RemoveVoters(ids.clone()), true)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                self.raft
                    .change_membership(ChangeMembers::RemoveNodes(ids), false)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                Ok(format!("node {id} removed from the group"))
            }
            MembershipChange::TransferLeader { to } => {
                self.raft.trigger().transfer_leader(to).await.map_err(|e| fail(e.to_string()))?;
                Ok(format!("leadership is moving to node {to}"))
            }
        }
    }

    /// The members as this node sees them.
    pub fn status(&self) -> Vec<MemberStatus> {
        let m = self.raft.metrics().borrow_watched().clone();
        let me = self.node_id();
        let applied = self.applied_index();
        let leader_last = m.last_log_index;
        let replication: HashMap<NodeId, Option<u64>> = m
            .replication
            .as_ref()
            .map(|r| r.iter().map(|(id, l)| (*id, l.as_ref().map(|l| l.index))).collect())
            .unwrap_or_default();
        let membership = m.membership_config.membership();
        let voters: std::collections::BTreeSet<NodeId> = membership.voter_ids().collect();
        let mut out = Vec::new();
        for (id, node) in membership.nodes() {
            let is_self = *id == me;
            let role = if is_self {
                match m.state {
                    // Elected, but not yet taking writes (applying what came before).
                    ServerState::Leader if !self.is_primary() => "promoting",
                    ServerState::Leader => "leader",
                    ServerState::Candidate => "candidate",
                    ServerState::Learner => "learner",
                    ServerState::Follower => "follower",
                    ServerState::Shutdown => "shutdown",
                }
            } else if m.current_leader == Some(*id) {
                "leader"
            } else if voters.contains(id) {
                "follower"
            } else {
                "learner"
            };
            let known =
                if is_self { Some(applied) } else { replication.get(id).copied().flatten() };
            out.push(MemberStatus {
                node_id: *id,
                raft_addr: node.raft_addr.clone(),
                role,
                term: m.current_term,
                leader_id: m.current_leader,
                applied: known,
                durable: if is_self { m.last_log_index } else { known },
                lag_entries: match (leader_last, known) {
                    (Some(last), Some(k)) if m.state == ServerState::Leader || is_self => {
                        Some(last.saturating_sub(k))
                    }
                    _ => None,
                },
                is_self,
            });
        }
        out
    }

    /// Stops Raft (the database steps down first).
    pub async fn shutdown(&self) {
        {
            let mut leading = self.applier.leading.lock();
            self.applier.step_down(&mut leading, "this node is shutting down");
        }
        let _ = self.raft.shutdown().await;
    }

    /// Asks Raft to take a snapshot (a checkpoint) soon.
    pub fn trigger_snapshot(&self) {
        let raft = self.raft.clone();
        tokio::spawn(async move {
            let _ = raft.trigger().snapshot().await;
        });
    }

    /// The data directory's files.
    pub fn files(&self) -> Arc<crate::durable::DataFiles> {
        self.applier.files.clone()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Opens a replicated log for a new leadership epoch.
    fn new_leadership(&self, term: u64) -> Leadership {
        let epoch = rand::random::<u64>();
        let shipper = Arc::new(RaftShipper {
            node_id: self.node_id(),
            epoch,
            term,
            tx: self.proposals.clone(),
        });
        let log = Log::replicated(self.storage.clone(), &self.dir.join("raft"), 0, shipper);
        Leadership { term, epoch, log }
    }
}

/// Writes proposals to Raft in order, dropping those of an epoch that is over.
async fn propose(
    raft: Raft<TypeConfig, StateMachine>,
    applier: Arc<Applier>,
    mut rx: mpsc::UnboundedReceiver<Proposal>,
    gate: Arc<tokio::sync::Mutex<()>>,
) {
    while let Some(p) = rx.recv().await {
        let _gate = gate.lock().await;
        let current = applier.leading.lock().as_ref().map(|l| l.epoch);
        if current != Some(p.epoch) {
            continue; // its leadership ended: its log failed and its commits were taken back
        }
        let leader = openraft::alias::CommittedLeaderIdOf::<TypeConfig>::new(p.term);
        if raft.write(LogRecord(p.entry)).with_leader(leader).await.is_err() {
            let mut leading = applier.leading.lock();
            applier.step_down(&mut leading, "Raft stopped");
            return;
        }
    }
}

/// How long a leader may go without a majority's acknowledgement before it steps down. A
/// follower acknowledges only what it holds durably, heartbeats included (openraft answers
/// once the follower's log is flushed), so one large commit (a `pgbench -i -s 10` COPY, 140 MB)
/// delays every acknowledgement by its fsync: an election timeout (400 ms) made such a leader
/// step down mid-commit. Five election timeouts, at least 2 s: a cut-off leader still stops
/// taking writes soon (its waiting commits fail with 08007), and it never acknowledges a
/// commit without a majority in any case.
fn quorum_loss_limit(options: &ClusterOptions) -> Duration {
    Duration::from_millis((options.election_timeout_ms.1 * 5).max(2_000))
}

/// On the leader, every few heartbeats: pings each other voter over the transport
/// ([`APP_PING`]), and notes when it answered in this node's term or an older one. A follower
/// acknowledges Raft's heartbeats only once its log is flushed, so a large commit's fsync
/// stalls every acknowledgement while the follower is plainly there; the leader counts a
/// majority that answers pings as contact (see [`ReplicaNode::majority_pinged`]) and does not
/// step down. A member that moved to a newer term is not counted: the leader then learns of
/// that term from Raft and steps down. One ping per member in flight at a time.
async fn ping_members(node: std::sync::Weak<ReplicaNode>) {
    let in_flight: Arc<Mutex<std::collections::HashSet<NodeId>>> = Arc::default();
    loop {
        let Some(me) = node.upgrade() else { return };
        let interval = Duration::from_millis(me.options.heartbeat_ms.max(10) * 2);
        let limit = quorum_loss_limit(&me.options);
        let m = me.raft.metrics().borrow_watched().clone();
        if m.state == ServerState::Leader {
            let membership = m.membership_config.membership();
            for id in membership.voter_ids() {
                if id == me.node_id() || !in_flight.lock().insert(id) {
                    continue;
                }
                let Some(addr) = membership.get_node(&id).map(|n| n.raft_addr.clone()) else {
                    in_flight.lock().remove(&id);
                    continue;
                };
                let (pinged, in_flight, term) =
                    (me.pinged.clone(), in_flight.clone(), m.current_term);
                tokio::spawn(async move {
                    let sent = std::time::Instant::now();
                    let answer = network::call_app(&addr, vec![APP_PING], limit).await;
                    if let Ok(answer) = answer
                        && let Some((1, rest)) = answer.split_first()
                        && let Ok(bytes) = <[u8; 8]>::try_from(rest)
                        && u64::from_le_bytes(bytes) <= term
                    {
                        pinged.lock().insert(id, sent);
                    }
                    in_flight.lock().remove(&id);
                });
            }
        }
        drop(me);
        tokio::time::sleep(interval).await;
    }
}

impl ReplicaNode {
    /// Whether a majority of the voters (this node among them) answered a ping sent within
    /// `limit`, in this node's term or an older one.
    fn majority_pinged(&self, m: &openraft::RaftMetrics<TypeConfig>, limit: Duration) -> bool {
        let membership = m.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let pinged = self.pinged.lock();
        let answered = voters
            .iter()
            .filter(|id| {
                **id == self.node_id() || pinged.get(id).is_some_and(|at| at.elapsed() < limit)
            })
            .count();
        answered * 2 > voters.len()
    }
}

/// See the module doc: makes the database primary or standby as Raft's view changes.
async fn watch_leadership(node: std::sync::Weak<ReplicaNode>) {
    let Some(first) = node.upgrade() else { return };
    let mut metrics = first.raft.metrics();
    let quorum_lost_after = quorum_loss_limit(&first.options);
    drop(first);
    loop {
        let Some(node) = node.upgrade() else { return };
        let m = metrics.borrow_watched().clone();
        let leads = m.state == ServerState::Leader && m.current_leader == Some(node.node_id());
        let quorum = m
            .last_quorum_acked
            .as_ref()
            .is_some_and(|at| openraft::Instant::elapsed(&**at) < quorum_lost_after)
            || node.majority_pinged(&m, quorum_lost_after);
        let current = node.applier.leading.lock().as_ref().map(|l| l.term);
        match current {
            Some(term) if !leads || term != m.current_term || !quorum => {
                let reason = match m.current_leader {
                    _ if leads && !quorum => format!(
                        "node {} lost contact with a majority of the replicas",
                        node.node_id()
                    ),
                    Some(id) if id != node.node_id() => format!("node {id} leads now"),
                    _ => "no leader is elected yet".to_string(),
                };
                let mut leading = node.applier.leading.lock();
                node.applier.step_down(&mut leading, &reason);
            }
            None if leads && quorum => {
                // Every entry before a blank of this term applied: the database is current,
                // including records of an earlier epoch of this node (replayed, as anyone's).
                // Under the gate: no record of an ended epoch can follow the blank.
                let term = m.current_term;
                let gate = node.proposal_gate.clone();
                let _gate = gate.lock().await;
                let barrier =
                    tokio::time::timeout(Duration::from_secs(5), node.raft.write_blank()).await;
                let ok = matches!(barrier, Ok(Ok(_)));
                let still = {
                    let m = metrics.borrow_watched();
                    m.state == ServerState::Leader && m.current_term == term
                };
                if ok && still {
                    let leadership = node.new_leadership(term);
                    let mut leading = node.applier.leading.lock();
                    node.applier.catalog.database().become_primary(leadership.log.clone());
                    *leading = Some(leadership);
                }
                continue;
            }
            None if !leads => {
                let reason = match m.current_leader {
                    Some(id) => format!("node {id} leads"),
                    None => "no leader is elected yet".to_string(),
                };
                node.applier.catalog.database().set_standby_reason(&reason);
            }
            _ => {}
        }
        drop(node);
        let _ = tokio::time::timeout(Duration::from_millis(100), metrics.changed()).await;
    }
}

/// A position as PostgreSQL prints an LSN: `XXXXXXXX/XXXXXXXX`.
pub fn format_token(index: u64) -> String {
    format!("{:X}/{:X}", index >> 32, index & 0xFFFF_FFFF)
}

/// Parses a token printed by [`format_token`] (or a plain number).
pub fn parse_token(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.split_once('/') {
        Some((hi, lo)) => {
            let hi = u64::from_str_radix(hi, 16).ok()?;
            let lo = u64::from_str_radix(lo, 16).ok()?;
            (hi <= u32::MAX as u64 && lo <= u32::MAX as u64).then_some((hi << 32) | lo)
        }
        None => text.parse().ok(),
    }
}
