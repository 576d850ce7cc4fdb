//! A cluster of `isola serve` processes on one machine, for the replication tests
//! (`tests/cluster.rs`): each member in a network namespace of its own, so that the links
//! between members can be cut with nftables while the test's clients still reach every member.
//!
//! ```text
//!   root namespace (the test)         isola-sS-PID-br             isola-sS-PID-nK
//!   isolaSh 10.231.S.254/24 <-veth-> h0 ── br0 ── mK <-veth-> eth0 10.231.S.K/24: isola serve
//! ```
//!
//! Member K (node id K, from 1) listens for SQL on 10.231.S.K:5433 and for Raft on
//! 10.231.S.K:7433. Its namespace has an nftables table `inet isola` with an input and an output
//! chain; a partition is `drop` rules there on the other members' addresses, never on the test's
//! (10.231.S.254), so a test goes on talking to an isolated member: that is how it sees that
//! member's writes fail. [`Cluster::heal`] flushes the chains. Dropped, not rejected: a cut
//! link looks like a dead network (connects and messages time out), not like a closed port.
//!
//! S, the subnet, is a slot taken under an exclusive lock on `/tmp/isola-cluster/slot-S`, held
//! for the cluster's life and released by the kernel if the test process dies, so tests running
//! in parallel, in one process or in many, never share a subnet or a name. A slot's leftovers
//! from a test process that was killed (namespaces, processes in them, the host's veth) are
//! removed when the slot is next taken; a slot whose subnet the machine already routes is passed
//! over.
//!
//! Without namespaces (not root, no `ip`, or `ip netns add` refused) the members listen on
//! 127.0.0.1, each on ports of its own, and cannot be partitioned:
//! [`Cluster::partitions_unsupported`] says why, and tests that need partitions skip, saying
//! so. `ISOLA_CLUSTER_NETNS=require` (CI sets it) turns that fallback into a failure. Without
//! `nft` the namespaces are used, and partitions are unsupported.
//!
//! Beyond loopback `isola serve` requires passwords, so members in namespaces get a password file
//! (user `isola`, password [`PASSWORD`]) and clients authenticate with SCRAM-SHA-256.
//!
//! Everything is removed on drop, when a test panics too: processes SIGKILLed, namespaces
//! deleted (and with them the bridge and the veths). The data directories are kept when the
//! test panics (their path is printed).
//!
//! Members are started with `--node-id N --raft-listen IP:RPORT --peers 1=IP:RPORT,...` unless
//! [`Options::unreplicated`] (plain single-node servers, for testing the harness itself).

#![allow(dead_code)] // each test file uses a part

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A member's node id: 1, 2, 3, ...
pub type NodeId = u64;

/// The password of user `isola` on members in namespaces.
pub const PASSWORD: &str = "isola-cluster";

/// How long [`Cluster::leader`] waits for a leader a majority follows.
pub const LEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a member may take to listen (recovery, catching up) before the harness gives up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one status query (or its connection) may take: a stopped or cut-off member must not
/// hold up [`Cluster::leader`].
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

const SQL_PORT: u16 = 5433;
const RAFT_PORT: u16 = 7433;
/// Subnets 10.231.S.0/24 for S in 0..SLOTS.
const SLOTS: u16 = 250;
const SUBNET: [u8; 2] = [10, 231];
const LOCK_DIR: &str = "/tmp/isola-cluster";

/// How members are started.
#[derive(Clone, Debug)]
pub struct Options {
    /// With the cluster flags (`--node-id`, `--raft-listen`, `--peers`); without, each member is
    /// a database of its own.
    pub replicated: bool,
    /// Appended to every member's `isola serve` arguments.
    pub extra_args: Vec<String>,
    /// Members on 127.0.0.1 even where namespaces work (to test that fallback).
    pub loopback: bool,
}

impl Options {
    pub fn replicated() -> Options {
        Options { replicated: true, extra_args: Vec::new(), loopback: false }
    }

    pub fn unreplicated() -> Options {
        Options { replicated: false, ..Options::replicated() }
    }
}

/// One row of `isola_cluster`: a member as the queried node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub node_id: NodeId,
    pub raft_addr: String,
    pub role: String,
    pub term: u64,
    pub leader_id: Option<NodeId>,
    pub applied_token: String,
    pub is_self: bool,
}

/// What a TCP connect attempt from inside a member's namespace came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Connected,
    /// No answer within the time given: what a dropped link looks like.
    TimedOut,
    /// Refused or failed otherwise, with the shell's words.
    Failed(String),
}

/// `'XXXXXXXX/XXXXXXXX'` (a token, written like a PostgreSQL LSN) as a number, for comparing.
pub fn parse_token(token: &str) -> Option<u64> {
    let (high, low) = token.trim().split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

/// The latest of some tokens.
pub fn max_token<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Option<String> {
    tokens.into_iter().max_by_key(|t| parse_token(t).unwrap_or(0)).map(str::to_string)
}

/// Connects with `config`, giving up after `timeout` (a stopped server accepts the TCP
/// connection, then never answers the startup); the connection's task runs on the caller's
/// runtime.
pub async fn connect(
    config: &tokio_postgres::Config,
    timeout: Duration,
) -> Result<tokio_postgres::Client, String> {
    match tokio::time::timeout(timeout, config.connect(tokio_postgres::NoTls)).await {
        Ok(Ok((client, conn))) => {
            tokio::spawn(conn);
            Ok(client)
        }
        Ok(Err(e)) => Err(format!("connecting: {e}")),
        Err(_) => Err(format!("connecting: no answer within {timeout:?}")),
    }
}

/// `simple_query` as plain rows of optional text, bounded by `timeout`.
pub async fn query_text(
    client: &tokio_postgres::Client,
    sql: &str,
    timeout: Duration,
) -> Result<Vec<Vec<Option<String>>>, String> {
    use tokio_postgres::SimpleQueryMessage;
    let messages = match tokio::time::timeout(timeout, client.simple_query(sql)).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return Err(format!("{sql}: {}", describe_error(&e))),
        Err(_) => return Err(format!("{sql}: no answer within {timeout:?}")),
    };
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

/// A server's error as its SQLSTATE and message (`tokio_postgres` alone says only "db error");
/// other errors (a lost connection) as they are.
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// The network the members live in: namespaces on a bridge of their own.
struct Namespaces {
    slot: u16,
    /// Held for the cluster's life: the slot (its subnet and names) is ours.
    _lock: File,
    bridge: String,
    host_if: String,
    members: Vec<String>,
    /// Why partitions cannot be made, if they cannot (no `nft`, or it failed).
    nft_unusable: Option<String>,
}

struct Member {
    netns: Option<String>,
    sql: SocketAddrV4,
    raft: SocketAddrV4,
    data: PathBuf,
    child: Option<Child>,
    stopped: bool,
    /// Told once the running process prints its listening line.
    listening: Option<mpsc::Receiver<()>>,
    /// The last lines of the running process's stderr, for failure messages.
    stderr_tail: Arc<Mutex<Vec<String>>>,
}

/// A cluster of `isola serve` processes (module doc). Member ids are 1..=n.
pub struct Cluster {
    members: BTreeMap<NodeId, Member>,
    options: Options,
    dir: PathBuf,
    password_file: Option<PathBuf>,
    fallback_reason: Option<String>,
    /// A client per member for status queries, dropped when it fails.
    probes: Mutex<BTreeMap<NodeId, Arc<tokio_postgres::Client>>>,
    /// Dropped after the processes are killed (fields drop after `Drop::drop`).
    net: Option<Namespaces>,
}

impl Cluster {
    /// `n` members with the cluster flags, all started (each listening) before this returns.
    pub async fn start(n: usize) -> Cluster {
        Cluster::start_with(n, Options::replicated()).await
    }

    /// `n` members started with `options`. Panics if a member does not listen within 60 s.
    pub async fn start_with(n: usize, options: Options) -> Cluster {
        assert!((1..=200).contains(&n), "a cluster of {n} members");
        static CLUSTERS: AtomicUsize = AtomicUsize::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "cluster-{}-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let network = match options.loopback {
            true => Err("Options::loopback".to_string()),
            false => Namespaces::create(n),
        };
        let (net, fallback_reason) = match network {
            Ok(net) => (Some(net), None),
            Err(reason) => {
                let required = std::env::var("ISOLA_CLUSTER_NETNS").is_ok_and(|v| v == "require");
                if required && !options.loopback {
                    panic!("ISOLA_CLUSTER_NETNS=require, and network namespaces fail: {reason}");
                }
                eprintln!("cluster: no network namespaces ({reason}): members on 127.0.0.1");
                (None, Some(reason))
            }
        };
        let addresses = match &net {
            Some(net) => (1..=n as u8)
                .map(|k| {
                    let ip = net.member_ip(k);
                    (SocketAddrV4::new(ip, SQL_PORT), SocketAddrV4::new(ip, RAFT_PORT))
                })
                .collect(),
            None => loopback_addresses(n),
        };
        let password_file = net.as_ref().map(|_| {
            let file = dir.join("passwords");
            std::fs::write(&file, format!("isola:{PASSWORD}\n")).unwrap();
            file
        });
        let members = addresses
            .into_iter()
            .enumerate()
            .map(|(i, (sql, raft))| {
                let id = i as NodeId + 1;
                let member = Member {
                    netns: net.as_ref().map(|net| net.members[i].clone()),
                    sql,
                    raft,
                    data: dir.join(format!("n{id}")),
                    child: None,
                    stopped: false,
                    listening: None,
                    stderr_tail: Arc::default(),
                };
                (id, member)
            })
            .collect();
        let mut cluster = Cluster {
            members,
            options,
            dir,
            password_file,
            fallback_reason,
            probes: Mutex::default(),
            net,
        };
        // All launched before any is waited for: a member may listen only once it has peers.
        for id in cluster.nodes() {
            cluster.launch(id);
        }
        for id in cluster.nodes() {
            cluster.wait_listening(id).await;
        }
        cluster
    }

    /// The members' ids, 1..=n.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.members.keys().copied().collect()
    }

    /// The other members' ids.
    pub fn others(&self, node: NodeId) -> Vec<NodeId> {
        self.nodes().into_iter().filter(|&n| n != node).collect()
    }

    /// Whether the members are in network namespaces (otherwise on 127.0.0.1).
    pub fn uses_namespaces(&self) -> bool {
        self.net.is_some()
    }

    /// Why partitions cannot be made here, or `None` when they can.
    pub fn partitions_unsupported(&self) -> Option<String> {
        match &self.net {
            None => self.fallback_reason.clone().map(|r| format!("no network namespaces: {r}")),
            Some(net) => net.nft_unusable.clone(),
        }
    }

    /// Where `node` listens for SQL.
    pub fn sql_addr(&self, node: NodeId) -> SocketAddrV4 {
        self.member(node).sql
    }

    /// Where `node` listens for Raft.
    pub fn raft_addr(&self, node: NodeId) -> SocketAddrV4 {
        self.member(node).raft
    }

    /// `node`'s network namespace, if the members have them.
    pub fn netns(&self, node: NodeId) -> Option<&str> {
        self.member(node).netns.as_deref()
    }

    /// `node`'s data directory.
    pub fn data_dir(&self, node: NodeId) -> PathBuf {
        self.member(node).data.clone()
    }

    /// The process id of `node`'s `isola serve`, while it runs.
    pub fn pid(&self, node: NodeId) -> Option<u32> {
        self.member(node).child.as_ref().map(Child::id)
    }

    /// Whether `node`'s process runs (stopped with SIGSTOP counts as running).
    pub fn is_running(&self, node: NodeId) -> bool {
        self.member(node).child.is_some()
    }

    /// How to connect to `node` (user `isola`, database `isola`; connect timeout 5 s), for
    /// tasks that connect on their own.
    pub fn config(&self, node: NodeId) -> tokio_postgres::Config {
        let sql = self.member(node).sql;
        let mut config = tokio_postgres::Config::new();
        config
            .host(sql.ip().to_string())
            .port(sql.port())
            .user("isola")
            .dbname("isola")
            .password(PASSWORD)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// One attempt to connect to `node`, bounded (5 s).
    pub async fn try_client(&self, node: NodeId) -> Result<tokio_postgres::Client, String> {
        connect(&self.config(node), Duration::from_secs(5)).await
    }

    /// A client on `node`, retrying for up to 30 s; panics then.
    pub async fn client(&self, node: NodeId) -> tokio_postgres::Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.try_client(node).await {
                Ok(client) => return client,
                Err(e) if Instant::now() > deadline => panic!("no client on node {node}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// SIGKILL `node` and reap it (no-op if it is not running).
    pub fn kill9(&mut self, node: NodeId) {
        self.forget_probe(node);
        let member = self.member_mut(node);
        if let Some(mut child) = member.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        member.stopped = false;
        member.listening = None;
    }

    /// Starts `node` again on its data directory (SIGKILLing it first if it runs); returns once
    /// it listens.
    pub async fn restart(&mut self, node: NodeId) {
        self.kill9(node);
        self.launch(node);
        self.wait_listening(node).await;
    }

    /// SIGSTOP `node`: its process freezes, its sockets stay open.
    pub fn stop(&mut self, node: NodeId) {
        self.signal(node, "-STOP");
        self.member_mut(node).stopped = true;
    }

    /// SIGCONT `node`.
    pub fn cont(&mut self, node: NodeId) {
        self.signal(node, "-CONT");
        self.member_mut(node).stopped = false;
    }

    /// Deletes `node`'s data directory (SIGKILLing it first if it runs); [`Cluster::restart`]
    /// starts it empty.
    pub fn wipe(&mut self, node: NodeId) {
        self.kill9(node);
        let data = self.member(node).data.clone();
        match std::fs::remove_dir_all(&data) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("wiping {}: {e}", data.display()),
        }
    }

    /// Cuts `node` off from every other member (both directions); the test still reaches it.
    pub fn isolate(&self, node: NodeId) {
        let others = self.others(node);
        self.partition(&[&[node], &others]);
    }

    /// Heals, then cuts every link between members of different `groups` (both directions).
    /// The groups name every member exactly once.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let mut named: Vec<NodeId> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        named.sort_unstable();
        assert_eq!(named, self.nodes(), "partition {groups:?}: name every member exactly once");
        self.heal();
        for (i, group) in groups.iter().enumerate() {
            for other in &groups[i + 1..] {
                for &a in group.iter() {
                    for &b in other.iter() {
                        self.drop_packets(a, b);
                        self.drop_packets(b, a);
                    }
                }
            }
        }
    }

    /// Drops the packets `from` sends to `to` (added to the cuts already made; a TCP
    /// connection either way then cannot be made, as its replies are lost).
    pub fn one_way(&self, from: NodeId, to: NodeId) {
        self.drop_packets(from, to);
    }

    /// Removes every cut.
    pub fn heal(&self) {
        let net = self.partitionable();
        for ns in &net.members {
            nft(ns, "flush chain inet isola input\nflush chain inet isola output\n")
                .unwrap_or_else(|e| panic!("healing {ns}: {e}"));
        }
    }

    /// The leader a majority of the members follows, waiting up to [`LEADER_TIMEOUT`].
    pub async fn leader(&self) -> Option<NodeId> {
        self.leader_within(LEADER_TIMEOUT).await
    }

    /// The leader a majority follows, polling `isola_cluster` on every running member (each
    /// query bounded) until `timeout`: a member that says it is the leader, and enough others
    /// that name it as leader in its term to make a majority with it. An isolated old leader
    /// that still thinks it leads is not one.
    pub async fn leader_within(&self, timeout: Duration) -> Option<NodeId> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(leader) = self.agreed_leader().await {
                return Some(leader);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What `node` says of itself in `isola_cluster` (bounded).
    pub async fn self_row(&self, node: NodeId) -> Result<MemberRow, String> {
        let rows = self.status(node).await?;
        rows.into_iter().find(|r| r.is_self).ok_or_else(|| format!("node {node}: no is_self row"))
    }

    /// `isola_cluster` on `node` (bounded: a stopped or gone member is an error, not a wait).
    pub async fn status(&self, node: NodeId) -> Result<Vec<MemberRow>, String> {
        let cached = self.probes.lock().unwrap().get(&node).cloned();
        let client = match cached {
            Some(client) => client,
            None => {
                let client = Arc::new(connect(&self.config(node), STATUS_TIMEOUT).await?);
                self.probes.lock().unwrap().insert(node, client.clone());
                client
            }
        };
        let sql = "SELECT node_id, raft_addr, role, term, leader_id, applied_token, is_self \
                   FROM isola_cluster";
        let rows = match query_text(&client, sql, STATUS_TIMEOUT).await {
            Ok(rows) => rows,
            Err(e) => {
                self.forget_probe(node);
                return Err(format!("node {node}: {e}"));
            }
        };
        rows.into_iter().map(|r| member_row(&r).map_err(|e| format!("node {node}: {e}"))).collect()
    }

    /// Waits (up to `timeout`) until every member reports the same applied token of its own,
    /// at least `at_least` if given; returns that token.
    pub async fn wait_converged(
        &self,
        at_least: Option<&str>,
        timeout: Duration,
    ) -> Result<String, String> {
        let floor = at_least.map(|t| parse_token(t).expect("a token"));
        let deadline = Instant::now() + timeout;
        loop {
            let mut seen = Vec::new();
            for node in self.nodes() {
                seen.push(self.self_row(node).await.map(|r| r.applied_token));
            }
            let tokens: Result<Vec<String>, String> = seen.into_iter().collect();
            let last = match tokens {
                Ok(tokens) => {
                    let first = parse_token(&tokens[0]);
                    let equal = tokens.iter().all(|t| parse_token(t) == first);
                    if equal && first.is_some() && first >= floor {
                        return Ok(tokens[0].clone());
                    }
                    format!("applied tokens {tokens:?}")
                }
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(format!("not converged within {timeout:?}: {last}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A TCP connect from inside `from`'s namespace to `to` (bounded by `timeout`): how a test
    /// sees whether a link is cut.
    pub async fn probe_tcp(&self, from: NodeId, to: SocketAddrV4, timeout: Duration) -> Probe {
        let script = format!("exec 3<>/dev/tcp/{}/{}", to.ip(), to.port());
        let seconds = format!("{:.2}", timeout.as_secs_f64());
        let mut command = self.command_in(from, "timeout");
        command.args([seconds.as_str(), "bash", "-c", &script]);
        let out = tokio::process::Command::from(command)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("running timeout + bash");
        match out.status.code() {
            Some(0) => Probe::Connected,
            Some(124) => Probe::TimedOut,
            _ => Probe::Failed(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        }
    }

    /// Runs `program args` inside `node`'s namespace (or here, without namespaces) and returns
    /// its output.
    pub fn exec_in(&self, node: NodeId, program: &str, args: &[&str]) -> Output {
        let mut command = self.command_in(node, program);
        command.args(args).stdin(Stdio::null());
        command.output().unwrap_or_else(|e| panic!("running {program} {args:?}: {e}"))
    }

    fn command_in(&self, node: NodeId, program: &str) -> Command {
        match self.netns(node) {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns, program]);
                command
            }
            None => Command::new(program),
        }
    }

    fn member(&self, node: NodeId) -> &Member {
        self.members.get(&node).unwrap_or_else(|| panic!("no member {node}"))
    }

    fn member_mut(&mut self, node: NodeId) -> &mut Member {
        self.members.get_mut(&node).unwrap_or_else(|| panic!("no member {node}"))
    }

    fn forget_probe(&self, node: NodeId) {
        self.probes.lock().unwrap().remove(&node);
    }

    fn signal(&self, node: NodeId, signal: &str) {
        let pid = self.pid(node).unwrap_or_else(|| panic!("node {node} is not running"));
        let out = Command::new("kill").args([signal, &pid.to_string()]).output().unwrap();
        assert!(out.status.success(), "kill {signal} {pid}: {}", stderr(&out));
    }

    fn partitionable(&self) -> &Namespaces {
        if let Some(reason) = self.partitions_unsupported() {
            panic!("partitions are unsupported here: {reason}");
        }
        self.net.as_ref().unwrap()
    }

    fn drop_packets(&self, from: NodeId, to: NodeId) {
        let net = self.partitionable();
        let (from_ip, to_ip) =
            (self.sql_addr(from).ip().to_string(), self.sql_addr(to).ip().to_string());
        let from_ns = &net.members[from as usize - 1];
        let to_ns = &net.members[to as usize - 1];
        // Both ends: the sender never sends, the receiver never takes.
        nft(from_ns, &format!("add rule inet isola output ip daddr {to_ip} drop\n"))
            .unwrap_or_else(|e| panic!("cutting {from} -> {to}: {e}"));
        nft(to_ns, &format!("add rule inet isola input ip saddr {from_ip} drop\n"))
            .unwrap_or_else(|e| panic!("cutting {from} -> {to}: {e}"));
    }

    fn serve_args(&self, node: NodeId) -> Vec<String> {
        let member = self.member(node);
        let mut args: Vec<String> = vec!["serve".into(), "--data".into()];
        args.push(member.data.display().to_string());
        args.extend(["--listen".into(), member.sql.to_string()]);
        if let Some(file) = &self.password_file {
            args.extend(["--password-file".into(), file.display().to_string()]);
        }
        if self.options.replicated {
            let peers: Vec<String> =
                self.members.iter().map(|(id, m)| format!("{id}={}", m.raft)).collect();
            args.extend(["--node-id".into(), node.to_string()]);
            args.extend(["--raft-listen".into(), member.raft.to_string()]);
            args.extend(["--peers".into(), peers.join(",")]);
        }
        args.extend(self.options.extra_args.iter().cloned());
        args
    }

    /// Starts `node`'s process (in its namespace), its output passed on to the test's stderr
    /// with `[nK]` in front; does not wait.
    fn launch(&mut self, node: NodeId) {
        assert!(!self.is_running(node), "node {node} already runs");
        let args = self.serve_args(node);
        let mut command = self.command_in(node, env!("CARGO_BIN_EXE_isola"));
        command.args(&args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            command.spawn().unwrap_or_else(|e| panic!("starting node {node}: isola {args:?}: {e}"));
        let tail: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = tail.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[n{node}] {line}");
                let mut kept = kept.lock().unwrap();
                if kept.len() == 40 {
                    kept.remove(0);
                }
                kept.push(line);
            }
        });
        let (listening_tx, listening_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[n{node}] {line}");
                if line.starts_with("isola listening on ") {
                    let _ = listening_tx.send(());
                }
            }
        });
        let member = self.member_mut(node);
        member.child = Some(child);
        member.stopped = false;
        member.listening = Some(listening_rx);
        member.stderr_tail = tail;
    }

    /// Waits for `node`'s "isola listening on" line; panics, with its last stderr lines, if it
    /// exits first or takes longer than [`STARTUP_TIMEOUT`].
    async fn wait_listening(&mut self, node: NodeId) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let args = self.serve_args(node);
        let member = self.member_mut(node);
        let listening = member.listening.take().expect("launched");
        loop {
            if listening.try_recv().is_ok() {
                return;
            }
            let child = member.child.as_mut().unwrap();
            let exited = child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                if exited.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                member.child = None;
                // Let the stderr thread catch up with the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let what = match exited {
                    Some(status) => format!("exited before listening ({status})"),
                    None => format!("did not listen within {STARTUP_TIMEOUT:?}"),
                };
                panic!(
                    "node {node}: isola {args:?} {what}; its last stderr lines:\n{}",
                    member.stderr_tail.lock().unwrap().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every member's view (`node: role term leader`), for failure messages.
    pub async fn describe(&self) -> String {
        let mut lines = Vec::new();
        for node in self.nodes() {
            let line = match self.self_row(node).await {
                Ok(r) => format!(
                    "node {node}: {} term {} leader {:?} applied {}",
                    r.role, r.term, r.leader_id, r.applied_token
                ),
                Err(e) => e,
            };
            lines.push(line);
        }
        lines.join("; ")
    }

    async fn agreed_leader(&self) -> Option<NodeId> {
        let running: Vec<NodeId> = self
            .nodes()
            .into_iter()
            .filter(|&n| self.is_running(n) && !self.member(n).stopped)
            .collect();
        let views = futures::future::join_all(running.iter().map(|&n| self.self_row(n))).await;
        let views: Vec<MemberRow> = views.into_iter().filter_map(Result::ok).collect();
        let majority = self.members.len() / 2 + 1;
        let mut leaders: Vec<&MemberRow> = views.iter().filter(|r| r.role == "leader").collect();
        leaders.sort_by_key(|r| std::cmp::Reverse(r.term));
        leaders.into_iter().map(|l| l.node_id).find(|&leader| {
            let term = views.iter().find(|r| r.node_id == leader).unwrap().term;
            let followers = views
                .iter()
                .filter(|r| r.node_id != leader && r.leader_id == Some(leader) && r.term == term)
                .count();
            1 + followers >= majority
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.probes.lock().unwrap_or_else(|e| e.into_inner()).clear();
        for member in self.members.values_mut() {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill(); // SIGKILL ends a stopped process too
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!("cluster: the members' data directories are kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        // `net` drops next: the namespaces go.
    }
}

fn member_row(row: &[Option<String>]) -> Result<MemberRow, String> {
    let text = |i: usize| -> Result<String, String> {
        row.get(i).cloned().flatten().ok_or_else(|| format!("isola_cluster column {i} is null"))
    };
    let number = |i: usize| -> Result<u64, String> {
        text(i)?.parse().map_err(|e| format!("isola_cluster column {i}: {e}"))
    };
    Ok(MemberRow {
        node_id: number(0)?,
        raft_addr: text(1)?,
        role: text(2)?,
        term: number(3)?,
        leader_id: match row.get(4).cloned().flatten() {
            None => None,
            Some(l) => Some(l.parse().map_err(|e| format!("isola_cluster leader_id: {e}"))?),
        },
        // Another member's position is known only to the leader (NULL elsewhere).
        applied_token: row.get(5).cloned().flatten().unwrap_or_default(),
        is_self: matches!(text(6)?.as_str(), "t" | "true"),
    })
}

/// SQL and Raft addresses on 127.0.0.1 for `n` members, ports the kernel picks (held until all
/// are picked, so they differ; another process could take one before the member binds it).
fn loopback_addresses(n: usize) -> Vec<(SocketAddrV4, SocketAddrV4)> {
    let listeners: Vec<std::net::TcpListener> =
        (0..2 * n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let port = |i: usize| {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, listeners[i].local_addr().unwrap().port())
    };
    (0..n).map(|k| (port(2 * k), port(2 * k + 1))).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// `ip ARGS`, its stdout; an error with its stderr when it fails.
fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if !out.status.success() {
        return Err(format!("ip {}: {}", args.join(" "), stderr(&out)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs an nft script inside namespace `ns`.
fn nft(ns: &str, script: &str) -> Result<(), String> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip netns exec {ns} nft: {e}"))?;
    child.stdin.take().unwrap().write_all(script.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("nft in {ns}: {script:?}: {}", stderr(&out)));
    }
    Ok(())
}

impl Namespaces {
    /// Takes a free slot and builds the network for `n` members in it.
    fn create(n: usize) -> Result<Namespaces, String> {
        let uid = Command::new("id").arg("-u").output().map_err(|e| format!("id -u: {e}"))?;
        if uid.stdout != b"0\n" {
            return Err("not root".into());
        }
        ip(&["-V"]).map_err(|e| format!("no ip command (iproute2): {e}"))?;
        std::fs::create_dir_all(LOCK_DIR).map_err(|e| format!("{LOCK_DIR}: {e}"))?;
        sweep_dead();
        let first = rand::random::<u16>() % SLOTS;
        for i in 0..SLOTS {
            let slot = (first + i) % SLOTS;
            let Some(lock) = lock_slot(slot)? else { continue };
            if subnet_in_use(slot)? {
                continue;
            }
            sweep(slot);
            let prefix = format!("isola-s{slot}-{}", std::process::id());
            let mut net = Namespaces {
                slot,
                _lock: lock,
                bridge: format!("{prefix}-br"),
                host_if: format!("isola{slot}h"),
                members: (1..=n).map(|k| format!("{prefix}-n{k}")).collect(),
                nft_unusable: None,
            };
            net.build()?; // on failure `net` drops and removes what was made
            return Ok(net);
        }
        Err(format!("all {SLOTS} slots (subnets {}.{}.S.0/24) are taken", SUBNET[0], SUBNET[1]))
    }

    fn subnet(&self) -> String {
        format!("{}.{}.{}", SUBNET[0], SUBNET[1], self.slot)
    }

    fn member_ip(&self, k: u8) -> Ipv4Addr {
        Ipv4Addr::new(SUBNET[0], SUBNET[1], self.slot as u8, k)
    }

    fn build(&mut self) -> Result<(), String> {
        let (br, host) = (self.bridge.as_str(), self.host_if.as_str());
        ip(&["netns", "add", br])?;
        ip(&["-n", br, "link", "set", "lo", "up"])?;
        ip(&["-n", br, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", br, "link", "set", "br0", "up"])?;
        ip(&["link", "add", host, "type", "veth", "peer", "name", "h0", "netns", br])?;
        ip(&["-n", br, "link", "set", "h0", "master", "br0", "up"])?;
        ip(&["addr", "add", &format!("{}.254/24", self.subnet()), "dev", host])?;
        ip(&["link", "set", host, "up"])?;
        for (i, ns) in self.members.iter().enumerate() {
            let k = i + 1;
            let port = format!("m{k}");
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n", br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ])?;
            ip(&["-n", br, "link", "set", &port, "master", "br0", "up"])?;
            ip(&["-n", ns, "addr", "add", &format!("{}.{k}/24", self.subnet()), "dev", "eth0"])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        }
        let nft_present =
            Command::new("nft").arg("--version").output().is_ok_and(|o| o.status.success());
        if !nft_present {
            self.nft_unusable = Some("nft is not installed (apt-get install nftables)".into());
            return Ok(());
        }
        let table = "add table inet isola\n\
                     add chain inet isola input { type filter hook input priority 0; policy accept; }\n\
                     add chain inet isola output { type filter hook output priority 0; policy accept; }\n";
        for ns in &self.members {
            if let Err(e) = nft(ns, table) {
                self.nft_unusable = Some(e);
                break;
            }
        }
        Ok(())
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.members.iter().chain([&self.bridge]) {
            kill_processes_in(ns);
            let _ = ip(&["netns", "del", ns]);
        }
        // Goes with its peer in the bridge's namespace; in case the kernel is slow to.
        let _ = ip(&["link", "del", &self.host_if]);
    }
}

/// Whether the root namespace has a route into 10.231.S.0/24 other than the default one.
fn subnet_in_use(slot: u16) -> Result<bool, String> {
    let prefix = format!("{}.{}.{slot}.0/24", SUBNET[0], SUBNET[1]);
    let ours = format!("isola{slot}h");
    for selector in ["match", "root"] {
        let routes = ip(&["-4", "route", "show", selector, &prefix])?;
        if routes.lines().any(|r| !r.starts_with("default") && !r.contains(&ours)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The lock on `slot`, if no one else holds it.
fn lock_slot(slot: u16) -> Result<Option<File>, String> {
    let path = format!("{LOCK_DIR}/slot-{slot}");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(lock.try_lock().is_ok().then_some(lock))
}

/// Sweeps the slots whose namespaces name a test process that is gone (killed: its drop never
/// ran), unless someone holds the slot now; its isola processes would otherwise run on.
fn sweep_dead() {
    let listed = ip(&["netns", "list"]).unwrap_or_default();
    let mut dead_slots: Vec<u16> = listed
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace().next()?.strip_prefix("isola-s")?.split('-');
            let slot: u16 = parts.next()?.parse().ok()?;
            let pid: u32 = parts.next()?.parse().ok()?;
            (!alive(pid)).then_some(slot)
        })
        .collect();
    dead_slots.dedup();
    for slot in dead_slots {
        if let Ok(Some(_lock)) = lock_slot(slot) {
            sweep(slot);
        }
    }
}

/// Removes what a killed test process left in `slot` (we hold its lock, so nothing there is
/// anyone's): namespaces, the processes in them, the host's veth.
fn sweep(slot: u16) {
    let prefix = format!("isola-s{slot}-");
    let listed = ip(&["netns", "list"]).unwrap_or_default();
    for ns in listed.lines().filter_map(|l| l.split_whitespace().next()) {
        if ns.starts_with(&prefix) {
            eprintln!("cluster: removing {ns}, left by a test process that was killed");
            kill_processes_in(ns);
            let _ = ip(&["netns", "del", ns]);
        }
    }
    let _ = ip(&["link", "del", &format!("isola{slot}h")]);
}

/// Whether process `pid` runs (a zombie does not: it is dead, only not yet reaped).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        }
        Err(_) => false,
    }
}

fn kill_processes_in(ns: &str) {
    let pids = ip(&["netns", "pids", ns]).unwrap_or_default();
    for pid in pids.split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).output();
    }
}

/// The seed of a test's randomness: `ISOLA_CLUSTER_SEED` if set, else random; printed.
#[allow(dead_code)]
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("ISOLA_CLUSTER_SEED") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("ISOLA_CLUSTER_SEED={v}: not a u64")),
        Err(_) => rand::random(),
    };
    eprintln!("{test}: ISOLA_CLUSTER_SEED={seed}");
    seed
}

/// Names the seed when the test panics, wherever the panic came from.
#[allow(dead_code)]
pub struct SeedOnFailure(pub u64);

impl Drop for SeedOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("cluster test failed with ISOLA_CLUSTER_SEED={}", self.0);
        }
    }
}
