//! The TCP transport of the Raft group: the client side openraft sends its RPCs through
//! ([`NetworkFactory`], one [`Network`] per target and purpose), the server side that hands
//! what arrives to the local `Raft` ([`serve`]), and application-level calls riding on the same
//! port ([`AppHandler`], [`call_app`]).
//!
//! WIRE FORMAT. A connection opens with a preface from the client, `ISOLANET | version u32`,
//! then carries frames `body length u32 | postcard body`, big-endian lengths. The client sends a
//! [`Request`] frame and reads one [`Response`] frame back: one request in flight per
//! connection, answered in order. A `FullSnapshot` request frame is followed by `size` raw bytes,
//! the snapshot's data (a checkpoint file), sent in chunks straight from the caller's buffer, so
//! the snapshot is never copied into a frame.
//!
//! ```text
//! client                                   server
//!   ISOLANET | 1                     ─────►  checks the preface, else closes
//!   len | Request::AppendEntries(..) ─────►  raft.append_entries(..)
//!                                    ◄─────  len | Response::AppendEntries(..)
//!   len | Request::FullSnapshot{..}  ─────►
//!   size raw bytes                   ─────►  raft.install_full_snapshot(..)
//!                                    ◄─────  len | Response::FullSnapshot(..)
//! ```
//!
//! BAD INPUT. The server never trusts a peer: a wrong preface, a frame longer than
//! [`MAX_FRAME`], a body that does not decode, snapshot data longer than [`MAX_SNAPSHOT`] or a
//! connection silent for [`IDLE_TIMEOUT`] closes that connection and nothing else. Memory grows
//! only with the bytes that actually arrive, never with a length a peer announces. (openraft
//! itself panics in `install_full_snapshot` on a snapshot no correct leader could send; the
//! transport does not authenticate peers, so the Raft port must be reachable only by members.)
//!
//! TIMEOUTS AND ERRORS. Every client call runs under openraft's `RPCOption::soft_ttl()`
//! (AppendEntries under at least [`APPEND_TTL_FLOOR`] plus time for its bytes, see
//! [`append_ttl`]): connecting, sending and awaiting the answer together, so a dead or partitioned peer yields a
//! `Timeout` before openraft's hard limit, and openraft never waits on the network. A failure
//! on a connection made for the call (refused, or closed at once, as a server of another
//! protocol version does) is `Unreachable`: openraft backs off. A failure on a kept connection
//! is a `NetworkError` (the peer may have restarted): openraft retries at once, on a new
//! connection. A `Refused` answer (the peer's Raft stopped) is `Unreachable`. A snapshot is the
//! exception in size: its `soft_ttl` (from `Config::install_snapshot_timeout`) bounds each step
//! (connecting, each 1 MiB chunk, the receiver's install) rather than the whole transfer, so
//! that setting must cover installing a checkpoint.
//!
//! CONNECTIONS. A [`Network`] connects lazily and keeps its connection between calls. The
//! connection is taken out of the `Network` for the length of a call and put back only after a
//! whole answer was read: a call that fails, times out or is dropped midway (openraft drops
//! RPCs at the hard limit) drops the connection with it, and the next call reconnects. So an
//! answer is never read by the wrong request.
//!
//! SERVING ENDS when the Raft shuts down (its metrics channel closes) or when the task running
//! [`serve`] is aborted; connections are tasks of a `JoinSet` owned by `serve`, so they end with
//! it.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use openraft::async_runtime::WatchReceiver;
use openraft::error::{
    NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::storage::RaftStateMachine;
use openraft::{OptionalSend, Raft};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::{LogRecord, Member, NodeId, TypeConfig, Vote};

/// What a connection opens with: the magic, then [`PROTOCOL_VERSION`] (u32, big-endian).
const PREFACE: &[u8; 8] = b"ISOLANET";
/// The version of the wire format; the server closes a connection that speaks another.
pub const PROTOCOL_VERSION: u32 = 1;
/// The longest frame body accepted, either way (a larger message fails to send: log records
/// must stay well under it; snapshot data does not count, it travels outside frames).
pub const MAX_FRAME: usize = 1 << 30;
/// The largest snapshot data accepted (read as it arrives, never allocated ahead).
pub const MAX_SNAPSHOT: u64 = 1 << 36;
/// The server closes a connection that sends nothing for this long (between requests, or in
/// the middle of one).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Snapshot data is written and read in pieces of this size, each under its own timeout.
const CHUNK: usize = 1 << 20;
/// The pause after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

type Snapshot = openraft::alias::SnapshotOf<TypeConfig, Vec<u8>>;
type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
type RpcError = RPCError<TypeConfig>;

/// Serves application-level calls ([`call_app`]) that arrive on the Raft port: request bytes
/// in, answer bytes out. What the bytes mean is the application's business.
pub type AppHandler = Arc<dyn Fn(Vec<u8>) -> BoxFuture<'static, Vec<u8>> + Send + Sync>;

/// A request frame.
#[derive(Serialize, Deserialize)]
enum Request {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<TypeConfig>),
    PreVote(VoteRequest<TypeConfig>),
    /// Followed on the stream by `size` bytes of snapshot data.
    FullSnapshot {
        vote: Vote,
        meta: SnapshotMeta,
        size: u64,
    },
    TransferLeader(TransferLeaderRequest<TypeConfig>),
    App(Vec<u8>),
}

/// A response frame, answering the request of the same name.
#[derive(Serialize, Deserialize)]
enum Response {
    AppendEntries(AppendEntriesResponse<TypeConfig>),
    Vote(VoteResponse<TypeConfig>),
    FullSnapshot(SnapshotResponse<TypeConfig>),
    TransferLeader(TransferLeaderResponse<TypeConfig>),
    App(Vec<u8>),
    /// The request could not be served: the local Raft stopped, or no application handler.
    Refused(String),
}

// ---------------------------------------------------------------------------------------------
// Frames.

fn invalid_data(e: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Writes one frame: length, then the postcard body. `weight`: about how many bytes it
/// carries (encoded off the runtime's workers when large).
async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    message: &T,
    weight: usize,
) -> io::Result<()> {
    let mut buf = super::off_the_workers(weight, || postcard::to_extend(message, vec![0; 4]))
        .map_err(invalid_data)?;
    let len = buf.len() - 4;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame too long"));
    }
    buf[..4].copy_from_slice(&(len as u32).to_be_bytes());
    w.write_all(&buf).await?;
    w.flush().await
}

/// Reads one frame and decodes it. The body is read as it arrives, never allocated ahead.
async fn read_frame<R: AsyncRead + Unpin, T: DeserializeOwned>(r: &mut R) -> io::Result<T> {
    let len = r.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(invalid_data(format!("frame of {len} bytes")));
    }
    let mut body = Vec::with_capacity(len.min(CHUNK));
    (&mut *r).take(len as u64).read_to_end(&mut body).await?;
    if body.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    super::off_the_workers(len, || postcard::from_bytes(&body)).map_err(invalid_data)
}

/// Reads `size` raw bytes, each piece within `idle`.
async fn read_blob<R: AsyncRead + Unpin>(
    r: &mut R,
    size: u64,
    idle: Duration,
) -> io::Result<Vec<u8>> {
    if size > MAX_SNAPSHOT {
        return Err(invalid_data(format!("snapshot of {size} bytes")));
    }
    let mut data = Vec::with_capacity((size as usize).min(CHUNK));
    while (data.len() as u64) < size {
        let piece = (size - data.len() as u64).min(CHUNK as u64);
        if within(idle, (&mut *r).take(piece).read_to_end(&mut data)).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(data)
}

/// The least time an AppendEntries call gets: openraft offers three quarters of the heartbeat
/// interval (37 ms at the default 50), which a follower's fsync under load, or a large commit,
/// can exceed; a call cut short is sent again whole on a new connection, so a commit larger
/// than the limit could never reach the followers (found: `pgbench -i` on a group, a 14 MB
/// COPY, waited forever for its majority). Heartbeats are separate calls, with openraft's
/// limit: a slow append delays no election and no failure detection.
const APPEND_TTL_FLOOR: Duration = Duration::from_secs(2);
/// The throughput an AppendEntries call is granted beyond [`APPEND_TTL_FLOOR`], per byte of
/// its entries (8 MiB/s: slower than any disk or network a member runs on).
const APPEND_BYTES_PER_SEC: u64 = 8 << 20;

/// The time limit of an AppendEntries call carrying `bytes` of entries.
fn append_ttl(offered: Duration, bytes: usize) -> Duration {
    offered.max(APPEND_TTL_FLOOR)
        + Duration::from_millis(bytes as u64 * 1000 / APPEND_BYTES_PER_SEC)
}

/// Runs one step of I/O within `limit`; running out of time is a `TimedOut` error.
async fn within<T>(limit: Duration, step: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(limit, step).await.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

// ---------------------------------------------------------------------------------------------
// Client side.

/// A client connection: reads are buffered, writes go out whole.
type Conn = BufReader<TcpStream>;

async fn connect(addr: &str) -> io::Result<Conn> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut preface = PREFACE.to_vec();
    preface.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    stream.write_all(&preface).await?;
    Ok(BufReader::new(stream))
}

/// Builds openraft's clients: one [`Network`] per target (and per purpose: replication,
/// heartbeats and snapshots each get their own, so each has its own connection).
#[derive(Clone, Debug)]
pub struct NetworkFactory {
    id: NodeId,
}

impl NetworkFactory {
    /// The factory of node `id` (named in the timeout errors it reports).
    pub fn new(id: NodeId) -> NetworkFactory {
        NetworkFactory { id }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Network;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> Network {
        Network { id: self.id, target, addr: node.raft_addr.clone(), conn: None }
    }
}

/// openraft's client to one peer: connects on first use, keeps the connection, reconnects
/// after an error.
pub struct Network {
    id: NodeId,
    target: NodeId,
    addr: String,
    /// Present between calls once connected; taken out during a call.
    conn: Option<Conn>,
}

impl Network {
    /// Sends a request and reads its answer, all within `ttl`.
    async fn call(
        &mut self,
        request: Request,
        action: RPCTypes,
        ttl: Duration,
    ) -> Result<Response, RpcError> {
        let fresh = self.conn.is_none();
        within(ttl, self.exchange(&request)).await.map_err(|e| self.failed(e, fresh, action, ttl))
    }

    async fn exchange(&mut self, request: &Request) -> io::Result<Response> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => connect(&self.addr).await?,
        };
        let weight = match request {
            Request::AppendEntries(rpc) => LogRecord::bytes_of(&rpc.entries),
            Request::App(body) => body.len(),
            _ => 0,
        };
        write_frame(conn.get_mut(), request, weight).await?;
        let response = read_frame(&mut conn).await?;
        self.conn = Some(conn);
        Ok(response)
    }

    /// Sends a snapshot: the request frame, then its data in chunks, then awaits the answer;
    /// each step within `ttl`.
    async fn send_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        ttl: Duration,
    ) -> io::Result<Response> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => within(ttl, connect(&self.addr)).await?,
        };
        let Snapshot { meta, snapshot: data } = snapshot;
        let request = Request::FullSnapshot { vote, meta, size: data.len() as u64 };
        within(ttl, write_frame(conn.get_mut(), &request, 0)).await?;
        for chunk in data.chunks(CHUNK) {
            within(ttl, conn.get_mut().write_all(chunk)).await?;
        }
        let response = within(ttl, read_frame(&mut conn)).await?;
        self.conn = Some(conn);
        Ok(response)
    }

    /// The error openraft gets for a failed call. Out of time is a `Timeout`. A failure on a
    /// connection made for this call is `Unreachable` (openraft backs off: the peer is down,
    /// or accepts and then hangs up, as it does on another protocol version); on a kept
    /// connection it is a `NetworkError` (the peer may have restarted since: openraft retries at
    /// once, and the retry connects anew).
    fn failed(&self, e: io::Error, fresh: bool, action: RPCTypes, ttl: Duration) -> RpcError {
        if e.kind() == io::ErrorKind::TimedOut {
            return RPCError::Timeout(Timeout {
                action,
                id: self.id,
                target: self.target,
                timeout: ttl,
            });
        }
        let why = format!("{}: {e}", self.addr);
        match fresh {
            true => RPCError::Unreachable(Unreachable::from_string(why)),
            false => RPCError::Network(NetworkError::from_string(why)),
        }
    }

    /// The error for an answer that is not the one asked for.
    fn unexpected(&mut self, response: Response) -> RpcError {
        self.conn = None;
        let why = match response {
            Response::Refused(why) => format!("{} refused: {why}", self.addr),
            _ => format!("{}: mismatched answer", self.addr),
        };
        RPCError::Unreachable(Unreachable::from_string(why))
    }
}

impl RaftNetworkV2<TypeConfig> for Network {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RpcError> {
        let carries_entries = !rpc.entries.is_empty();
        let bytes = LogRecord::bytes_of(&rpc.entries);
        // A heartbeat (no entries) keeps openraft's limit: it detects a dead peer.
        let ttl = match carries_entries {
            true => append_ttl(option.soft_ttl(), bytes),
            false => option.soft_ttl(),
        };
        match self.call(Request::AppendEntries(rpc), RPCTypes::AppendEntries, ttl).await? {
            Response::AppendEntries(answer) => Ok(answer),
            other => Err(self.unexpected(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        match self.call(Request::Vote(rpc), RPCTypes::Vote, option.soft_ttl()).await? {
            Response::Vote(answer) => Ok(answer),
            other => Err(self.unexpected(other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        match self.call(Request::PreVote(rpc), RPCTypes::Vote, option.soft_ttl()).await? {
            Response::Vote(answer) => Ok(answer),
            other => Err(self.unexpected(other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let ttl = option.soft_ttl();
        let fresh = self.conn.is_none();
        let response = tokio::select! {
            response = self.send_snapshot(vote, snapshot, ttl) => response,
            closed = cancel => return Err(StreamingError::Closed(closed)),
        };
        let response =
            response.map_err(|e| self.failed(e, fresh, RPCTypes::InstallSnapshot, ttl))?;
        match response {
            Response::FullSnapshot(answer) => Ok(answer),
            other => Err(self.unexpected(other).into()),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RpcError> {
        match self
            .call(Request::TransferLeader(req), RPCTypes::TransferLeader, option.soft_ttl())
            .await?
        {
            Response::TransferLeader(answer) => Ok(answer),
            other => Err(self.unexpected(other)),
        }
    }
}

/// Calls the [`AppHandler`] of the node listening for Raft at `addr`, on a connection of its
/// own, and returns its answer; fails with `TimedOut` if that takes longer than `timeout`, and
/// with `Other` if the node has no handler or its Raft stopped.
pub async fn call_app(addr: &str, body: Vec<u8>, timeout: Duration) -> io::Result<Vec<u8>> {
    let call = async {
        let mut conn = connect(addr).await?;
        let weight = body.len();
        write_frame(conn.get_mut(), &Request::App(body), weight).await?;
        match read_frame(&mut conn).await? {
            Response::App(answer) => Ok(answer),
            Response::Refused(why) => Err(io::Error::other(format!("{addr} refused: {why}"))),
            _ => Err(invalid_data(format!("{addr}: mismatched answer"))),
        }
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(answer) => answer,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{addr}: no answer in {timeout:?}"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Server side.

/// Accepts Raft connections on `listener` and hands each request to `raft` (application calls
/// to `app`), until the Raft shuts down. Cancel-safe: dropping or aborting the future (the task
/// it was spawned as) closes every connection it accepted.
pub async fn serve<SM>(listener: TcpListener, raft: Raft<TypeConfig, SM>, app: Option<AppHandler>)
where
    SM: RaftStateMachine<TypeConfig, SnapshotData = Vec<u8>>,
{
    serve_with(listener, raft, app, None).await
}

/// Told of every AppendEntries (heartbeats included) this member accepted from its leader,
/// with the leader's commit index then: a follower's measure of how fresh its data is.
pub type LeaderContact = Arc<dyn Fn(u64) + Send + Sync>;

/// [`serve`], telling `on_contact` of each accepted AppendEntries.
pub async fn serve_with<SM>(
    listener: TcpListener,
    raft: Raft<TypeConfig, SM>,
    app: Option<AppHandler>,
    on_contact: Option<LeaderContact>,
) where
    SM: RaftStateMachine<TypeConfig, SnapshotData = Vec<u8>>,
{
    let mut metrics = raft.metrics();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let hooks = (app.clone(), on_contact.clone());
                    connections.spawn(serve_connection(stream, raft.clone(), hooks));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            changed = metrics.changed() => {
                if changed.is_err() {
                    return; // The Raft stopped: its metrics sender is gone.
                }
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Serves one connection until the peer closes it or misbehaves.
async fn serve_connection<SM>(
    stream: TcpStream,
    raft: Raft<TypeConfig, SM>,
    (app, on_contact): (Option<AppHandler>, Option<LeaderContact>),
) where
    SM: RaftStateMachine<TypeConfig, SnapshotData = Vec<u8>>,
{
    // Best effort: without it answers are only slower.
    let _ = stream.set_nodelay(true);
    let mut conn = BufReader::new(stream);
    if within(IDLE_TIMEOUT, read_preface(&mut conn)).await.is_err() {
        return;
    }
    loop {
        let Ok(request) = within(IDLE_TIMEOUT, read_frame(&mut conn)).await else {
            return;
        };
        let Ok(response) =
            handle(request, &mut conn, &raft, app.as_ref(), on_contact.as_ref()).await
        else {
            return;
        };
        if within(IDLE_TIMEOUT, write_frame(conn.get_mut(), &response, 0)).await.is_err() {
            return;
        }
    }
}

async fn read_preface(conn: &mut Conn) -> io::Result<()> {
    let mut preface = [0; 12];
    conn.read_exact(&mut preface).await?;
    if &preface[..8] != PREFACE || preface[8..] != PROTOCOL_VERSION.to_be_bytes() {
        return Err(invalid_data("bad preface"));
    }
    Ok(())
}

/// Serves one request. An error means the connection must close (bad snapshot data).
async fn handle<SM>(
    request: Request,
    conn: &mut Conn,
    raft: &Raft<TypeConfig, SM>,
    app: Option<&AppHandler>,
    on_contact: Option<&LeaderContact>,
) -> io::Result<Response>
where
    SM: RaftStateMachine<TypeConfig, SnapshotData = Vec<u8>>,
{
    let refused = |e: &dyn std::fmt::Display| Response::Refused(e.to_string());
    Ok(match request {
        Request::AppendEntries(rpc) => {
            let leader_commit = rpc.leader_commit.map(|c| c.index).unwrap_or(0);
            let answer = raft.append_entries(rpc).await;
            if let (Some(tell), Ok(a)) = (on_contact, &answer)
                && a.is_success()
            {
                tell(leader_commit);
            }
            answer.map_or_else(|e| refused(&e), Response::AppendEntries)
        }
        Request::Vote(rpc) => raft.vote(rpc).await.map_or_else(|e| refused(&e), Response::Vote),
        Request::PreVote(rpc) => {
            raft.pre_vote(rpc).await.map_or_else(|e| refused(&e), Response::Vote)
        }
        Request::FullSnapshot { vote, meta, size } => {
            let data = read_blob(conn, size, IDLE_TIMEOUT).await?;
            let snapshot = Snapshot { meta, snapshot: data };
            raft.install_full_snapshot(vote, snapshot)
                .await
                .map_or_else(|e| refused(&e), Response::FullSnapshot)
        }
        Request::TransferLeader(req) => raft
            .handle_transfer_leader(req)
            .await
            .map_or_else(|e| refused(&e), Response::TransferLeader),
        Request::App(body) => match app {
            Some(app) => Response::App(app(body).await),
            None => Response::Refused("no application handler".into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Instant;

    use openraft::{Config, RaftMetrics};
    use tempfile::TempDir;
    use tokio::task::JoinHandle;

    use super::super::testing::MemStateMachine;
    use super::super::{LogStore, LogStoreOptions};
    use super::*;

    /// Every wait in these tests gives up after this long: generous, for a loaded machine.
    const PATIENCE: Duration = Duration::from_secs(20);

    type TestRaft = Raft<TypeConfig, MemStateMachine>;

    /// One member: its Raft, state machine, server task and log directory.
    struct Node {
        id: NodeId,
        addr: String,
        raft: TestRaft,
        sm: MemStateMachine,
        server: JoinHandle<()>,
        _dir: TempDir,
    }

    fn config() -> Arc<Config> {
        let config = Config {
            heartbeat_interval: 100,
            election_timeout_min: 300,
            election_timeout_max: 600,
            install_snapshot_timeout: 2000,
            max_in_snapshot_log_to_keep: 0,
            ..Default::default()
        };
        Arc::new(config.validate().expect("a valid config"))
    }

    async fn bind() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("an address").to_string();
        (listener, addr)
    }

    async fn start(
        id: NodeId,
        listener: TcpListener,
        addr: String,
        app: Option<AppHandler>,
    ) -> Node {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = LogStore::open(dir.path(), LogStoreOptions::default()).expect("open the log");
        let sm = MemStateMachine::default();
        let raft = Raft::new(id, config(), NetworkFactory::new(id), store, sm.clone())
            .await
            .expect("a raft");
        let server = tokio::spawn(serve(listener, raft.clone(), app));
        Node { id, addr, raft, sm, server, _dir: dir }
    }

    /// Starts `n` members, initializes each with all of them, and waits for a leader.
    async fn cluster(n: u64) -> Vec<Node> {
        let mut bound = Vec::new();
        for id in 1..=n {
            bound.push((id, bind().await));
        }
        let members: BTreeMap<NodeId, Member> =
            bound.iter().map(|(id, (_, addr))| (*id, Member { raft_addr: addr.clone() })).collect();
        let mut nodes = Vec::new();
        for (id, (listener, addr)) in bound {
            nodes.push(start(id, listener, addr, None).await);
        }
        for node in &nodes {
            // A member that already heard from an elected leader refuses; that is fine too.
            let _ = node.raft.initialize(members.clone()).await;
        }
        leader(&nodes).await;
        nodes
    }

    fn metrics(node: &Node) -> RaftMetrics<TypeConfig> {
        node.raft.metrics().borrow_watched().clone()
    }

    /// The member that leads, waiting for one.
    async fn leader(nodes: &[Node]) -> &Node {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(node) = nodes.iter().find(|n| n.raft.is_leader()) {
                return node;
            }
            assert!(Instant::now() < deadline, "no leader within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Writes a record through whichever member leads, retrying across leader changes.
    async fn write(nodes: &[Node], record: &[u8]) -> u64 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let node = leader(nodes).await;
            match node.raft.client_write(LogRecord(record.to_vec())).await {
                Ok(response) => return response.log_id.index,
                Err(e) => {
                    assert!(Instant::now() < deadline, "write failed until the deadline: {e}")
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_applied(node: &Node, index: u64) {
        let wait = node.raft.wait(Some(PATIENCE));
        wait.applied_index_at_least(Some(index), format!("node {} applies {index}", node.id))
            .await
            .expect("applied");
    }

    /// Writes `count` records tagged `tag`, then checks every member applied them all and
    /// holds the same records.
    async fn write_and_check(nodes: &[Node], tag: &str, count: usize) {
        let mut last = 0;
        for i in 0..count {
            last = write(nodes, format!("{tag}{i}").as_bytes()).await;
        }
        for node in nodes {
            wait_applied(node, last).await;
        }
        let records = nodes[0].sm.records();
        let values: BTreeSet<Vec<u8>> = records.values().cloned().collect();
        for i in 0..count {
            assert!(values.contains(format!("{tag}{i}").as_bytes()), "record {tag}{i} applied");
        }
        for node in &nodes[1..] {
            let theirs = node.sm.records();
            let common = records.len().min(theirs.len());
            assert!(common > 0);
            assert_eq!(
                records.range(..=last).collect::<Vec<_>>(),
                theirs.range(..=last).collect::<Vec<_>>(),
                "node {} holds what node {} holds",
                node.id,
                nodes[0].id
            );
        }
    }

    async fn stop(nodes: Vec<Node>) {
        for node in nodes {
            node.raft.shutdown().await.expect("shut down");
            node.server.abort();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_members_replicate_200_writes() {
        let nodes = cluster(3).await;
        write_and_check(&nodes, "a", 200).await;
        stop(nodes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_leader_takes_over_when_the_leader_stops() {
        let mut nodes = cluster(3).await;
        write_and_check(&nodes, "before", 10).await;
        let old = leader(&nodes).await.id;
        let gone = nodes.remove(nodes.iter().position(|n| n.id == old).expect("the leader"));
        gone.raft.shutdown().await.expect("shut down");
        gone.server.abort();
        let new = leader(&nodes).await.id;
        assert_ne!(new, old);
        write_and_check(&nodes, "after", 20).await;
        stop(nodes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_learner_catches_up_from_a_snapshot() {
        let mut nodes = cluster(3).await;
        write_and_check(&nodes, "s", 50).await;
        let leading = leader(&nodes).await;
        let applied = metrics(leading).last_applied.expect("applied").index;
        leading.raft.trigger().snapshot().await.expect("snapshot");
        let wait = leading.raft.wait(Some(PATIENCE));
        let has_snapshot =
            move |m: &RaftMetrics<TypeConfig>| m.snapshot.is_some_and(|s| s.index >= applied);
        wait.metrics(has_snapshot, "a snapshot").await.expect("a snapshot");
        leading.raft.trigger().purge_log(applied).await.expect("purge");
        let purged =
            move |m: &RaftMetrics<TypeConfig>| m.purged.is_some_and(|p| p.index >= applied);
        wait.metrics(purged, "the log purged").await.expect("purged");

        let (listener, addr) = bind().await;
        let learner = start(4, listener, addr.clone(), None).await;
        let add = leading.raft.add_learner(4, Member { raft_addr: addr }, true);
        tokio::time::timeout(PATIENCE, add).await.expect("in time").expect("a learner");
        wait_applied(&learner, applied).await;
        let installed = metrics(&learner).snapshot.expect("the learner installed a snapshot");
        assert!(installed.index >= applied);
        let theirs = learner.sm.records();
        let ours = leading.sm.records();
        assert_eq!(
            theirs.range(..=applied).collect::<Vec<_>>(),
            ours.range(..=applied).collect::<Vec<_>>()
        );
        nodes.push(learner);
        stop(nodes).await;
    }

    /// Sends `bytes` on a fresh connection to `addr` and expects the server to close it.
    async fn expect_closed(addr: &str, bytes: &[u8]) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(bytes).await.expect("send");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        // End of stream or a reset: closed either way; only a wait without end is wrong.
        assert!(read.is_ok(), "the server closes the connection");
        assert!(rest.is_empty(), "no answer to garbage");
    }

    fn preface() -> Vec<u8> {
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        bytes
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn garbage_closes_the_connection_and_the_member_keeps_serving() {
        let nodes = cluster(3).await;
        write_and_check(&nodes, "g", 10).await;
        let victim = &nodes.iter().find(|n| !n.raft.is_leader()).expect("a follower").addr;
        expect_closed(victim, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut wrong_version = PREFACE.to_vec();
        wrong_version.extend_from_slice(&99u32.to_be_bytes());
        expect_closed(victim, &[wrong_version, vec![0, 0, 0, 1, 0]].concat()).await;
        expect_closed(victim, &[preface(), vec![0xff; 4]].concat()).await;
        expect_closed(victim, &[preface(), vec![0, 0, 0, 5], vec![0xff; 5]].concat()).await;
        expect_closed(victim, &[preface(), vec![0, 0, 0, 1, 1]].concat()).await;
        write_and_check(&nodes, "h", 20).await;
        stop(nodes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn application_calls_reach_the_handler() {
        let reverse: AppHandler = Arc::new(|mut body: Vec<u8>| {
            Box::pin(async move {
                body.reverse();
                body
            })
        });
        let (listener, addr) = bind().await;
        let with = start(1, listener, addr.clone(), Some(reverse)).await;
        let answer = call_app(&addr, b"abc".to_vec(), PATIENCE).await.expect("an answer");
        assert_eq!(answer, b"cba");
        let (listener, addr) = bind().await;
        let without = start(2, listener, addr.clone(), None).await;
        let refused = call_app(&addr, b"abc".to_vec(), PATIENCE).await.expect_err("no handler");
        assert_eq!(refused.kind(), io::ErrorKind::Other);
        stop(vec![with, without]).await;
    }

    #[tokio::test]
    async fn a_silent_peer_times_out_and_a_closed_port_is_unreachable() {
        // Bound but never accepting: the kernel completes connections, nobody answers.
        let (_silent, addr) = bind().await;
        let mut network =
            NetworkFactory::new(1).new_client(2, &Member { raft_addr: addr.clone() }).await;
        let vote = VoteRequest::new(Vote::new(1, 1), None);
        let started = Instant::now();
        let err = network
            .vote(vote.clone(), RPCOption::new(Duration::from_millis(400)))
            .await
            .expect_err("silence");
        assert!(matches!(err, RPCError::Timeout(_)), "{err}");
        assert!(started.elapsed() < PATIENCE);
        let answer =
            call_app(&addr, vec![], Duration::from_millis(300)).await.expect_err("silence");
        assert_eq!(answer.kind(), io::ErrorKind::TimedOut);

        let (closed, addr) = bind().await;
        drop(closed);
        let mut network = NetworkFactory::new(1).new_client(2, &Member { raft_addr: addr }).await;
        let err = network
            .vote(vote, RPCOption::new(Duration::from_secs(5)))
            .await
            .expect_err("nobody listens");
        assert!(matches!(err, RPCError::Unreachable(_)), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_broken_kept_connection_fails_once_then_reconnects() {
        let (listener, addr) = bind().await;
        let node = start(1, listener, addr.clone(), None).await;
        let mut network =
            NetworkFactory::new(2).new_client(1, &Member { raft_addr: addr.clone() }).await;
        let vote = VoteRequest::new(Vote::new(1, 2), None);
        let option = RPCOption::new(Duration::from_secs(5));
        network.vote(vote.clone(), option.clone()).await.expect("an answer");
        assert!(network.conn.is_some(), "the connection is kept");

        // The server goes away with its connections; another takes its port.
        node.server.abort();
        assert!(node.server.await.expect_err("aborted").is_cancelled());
        let listener = TcpListener::bind(&addr).await.expect("bind the port again");
        let server = tokio::spawn(serve(listener, node.raft.clone(), None));
        let err = network.vote(vote.clone(), option.clone()).await.expect_err("the old connection");
        assert!(matches!(err, RPCError::Network(_)), "{err}");
        assert!(network.conn.is_none(), "a failed connection is dropped");
        network.vote(vote, option).await.expect("an answer on a new connection");
        node.raft.shutdown().await.expect("shut down");
        tokio::time::timeout(PATIENCE, server).await.expect("serve returns").expect("no panic");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serving_ends_when_the_raft_shuts_down() {
        let (listener, addr) = bind().await;
        let node = start(1, listener, addr, None).await;
        node.raft.shutdown().await.expect("shut down");
        tokio::time::timeout(PATIENCE, node.server)
            .await
            .expect("serve returns")
            .expect("no panic");
    }
}
