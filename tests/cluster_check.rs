//! `isola check` against a replicated group under faults: the built-in anomaly checker runs as a
//! subprocess (`isola check --urls` of all three members, clients spread over them) while a
//! nemesis deposes the leader three ways in turn: kill -9 then restart, cut off by nftables then
//! healed, SIGSTOPped beyond the election timeout then SIGCONTed. Each run must exit 0: nothing
//! the isolation level forbids, no acknowledged write lost (the checker's final read is
//! linearizable), commits answered with 08007 or never answered taken as may-or-may-not.
//!
//! The matrix: list-append, bank and register at serializable and repeatable-read (each judged
//! against its own level, `--model` matching), reads at `linearizable`; register at
//! linearizable again with `--realtime` (strict serializability / strong snapshot isolation);
//! one list-append run with `causal` reads; read committed (list-append linearizable, bank
//! eventual); `bounded_staleness` (register) and `eventual` reads, which may be stale (no
//! `--realtime`) but must each read one snapshot.
//!
//! A second nemesis cuts links while every member runs ([`partition_round`]): the leader's
//! packets to the followers dropped, then the followers' to the leader (one-way, nftables rules
//! by direction), one follower isolated (the leader keeps its majority), and with five members
//! the leader and one follower cut off from the other three (a minority that led).
//!
//! Read-your-writes and monotonic reads with tokens across members and reconnects are checked
//! directly, not by the checker:
//! [`causal_tokens_read_your_writes_and_monotonic_reads_across_members`]. Any other cell of
//! the matrix runs with `ISOLA_CHECK_RUN` ([`any_cell`], ignored by default).
//!
//! Three tests began as findings, each fixed since: the `--realtime` runs (a follower's
//! transaction block read stale data: a statement that takes a new snapshot now waits for the
//! read index there too), a commit on a deposed leader answered 58030 instead of 08007, and a
//! member that could not restart after two nemesis rounds (table ids differed between replicas:
//! a replayed CREATE TABLE now takes the id it was logged with).
//!
//! One run at a time (a lock), each about 20 s on two cores. `ISOLA_NEMESIS_ROUNDS=N` repeats
//! the three faults N times per run (default 1; the checker's time limit grows with it). The
//! randomness (the checker's seed, the pauses between faults) comes from one seed, random unless
//! `ISOLA_CLUSTER_SEED=N` gives it, printed at the start of each test and named in its failure.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;

use common::cluster::{
    Cluster, NodeId, PASSWORD, SeedOnFailure, connect, max_token, query_text, seed,
};

/// Transactions per nemesis round, started at `RATE` a second (so that they span the round's
/// faults), and the checker's time limit per round.
const TXNS: usize = 300;
const RATE: &str = "20";
const SECONDS_PER_ROUND: u64 = 20;
/// Longer than the members' election timeout (400-800 ms): a frozen leader is deposed.
const FROZEN_FOR: Duration = Duration::from_millis(2_500);
/// How long a leader stays cut off: deposed, and the majority elects and writes.
const CUT_FOR: Duration = Duration::from_millis(2_500);

/// One run at a time: three members and a checker each are what two cores hold.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What happens to the group while the checker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nemesis {
    /// The leader killed -9 and restarted, cut off and healed, frozen and thawed
    /// ([`nemesis_round`]).
    Deposals,
    /// One-way cuts, an isolated follower, with five members a minority that led
    /// ([`partition_round`]).
    Partitions,
}

/// What one run checks.
struct Run {
    workload: &'static str,
    isolation: &'static str,
    read_consistency: &'static str,
    realtime: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_serializable_linearizable() {
    check_under_faults(Run {
        workload: "list-append",
        isolation: "serializable",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_repeatable_read_linearizable() {
    check_under_faults(Run {
        workload: "list-append",
        isolation: "repeatable-read",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_serializable_causal() {
    check_under_faults(Run {
        workload: "list-append",
        isolation: "serializable",
        read_consistency: "causal",
        realtime: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_serializable_linearizable() {
    check_under_faults(Run {
        workload: "bank",
        isolation: "serializable",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_repeatable_read_linearizable() {
    check_under_faults(Run {
        workload: "bank",
        isolation: "repeatable-read",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_serializable_linearizable() {
    check_under_faults(Run {
        workload: "register",
        isolation: "serializable",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_repeatable_read_linearizable() {
    check_under_faults(Run {
        workload: "register",
        isolation: "repeatable-read",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

/// Linearizable reads promise real-time order: strict serializability. Found (about 1 run in
/// 8, e.g. `ISOLA_CLUSTER_SEED=10555864137281395675` at repeatable read): a read-only
/// transaction on a follower began after a commit was acknowledged and read an older value
/// (`T152 -rt-> T153 -rw-> T151 -ww-> T152`). `BEGIN` names no table, so the session asks it
/// only for the `causal` tokens (`Session::read_requirement`), and the statements inside the
/// block wait for nothing: an explicit transaction on a follower never waits for the read
/// index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_serializable_linearizable_realtime() {
    check_under_faults(Run {
        workload: "register",
        isolation: "serializable",
        read_consistency: "linearizable",
        realtime: true,
    })
    .await;
}

/// See [`register_serializable_linearizable_realtime`] (the same finding, at repeatable read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_repeatable_read_linearizable_realtime() {
    check_under_faults(Run {
        workload: "register",
        isolation: "repeatable-read",
        read_consistency: "linearizable",
        realtime: true,
    })
    .await;
}

/// What the checker's clients saw under the faults, reduced to its smallest form: a COMMIT sent
/// to a leader that is then cut off waits for a majority it no longer has; when the leader
/// steps down, docs/replication.md promises 08007 (outcome unknown) for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_waiting_on_a_deposed_leader_answers_08007() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start(3).await;
    if let Some(why) = cluster.partitions_unsupported() {
        eprintln!("skipped: {why}");
        return;
    }
    let leader = cluster.leader().await.expect("a leader within 20 s");
    let client = cluster.client(leader).await;
    client.batch_execute("CREATE TABLE kv (k int PRIMARY KEY)").await.unwrap();
    client.batch_execute("BEGIN; INSERT INTO kv VALUES (1)").await.unwrap();
    cluster.isolate(leader);
    let commit = tokio::time::timeout(Duration::from_secs(30), client.batch_execute("COMMIT"));
    let answer = commit.await.expect("an answer to COMMIT within 30 s");
    cluster.heal();
    let e = answer.expect_err("a cut-off leader acknowledged a commit");
    let code = e.code().map(|c| c.code().to_string());
    assert!(
        code.is_none() || code.as_deref() == Some("08007"),
        "the COMMIT got {e:?}, expected 08007 or a lost connection"
    );
    cluster.kill9(leader); // nothing else to see
}

/// A narrowing tried for `bank_serializable_linearizable_two_rounds`: a leader frozen past the
/// election timeout and thawed, then leading again (the others frozen in turn until it wins an
/// election), then killed -9, restarts from its data directory. This passes: a freeze alone is
/// not what breaks the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_leading_again_then_killed_restarts() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start(3).await;
    let old = cluster.leader().await.expect("a leader within 20 s");
    let client = cluster.client(old).await;
    client.batch_execute("CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL)").await.unwrap();
    client.batch_execute("INSERT INTO kv VALUES (0, 0)").await.unwrap();
    cluster.stop(old);
    tokio::time::sleep(FROZEN_FOR).await;
    cluster.cont(old);
    let mut row = 1;
    for _ in 0..20 {
        let leader = cluster.leader().await.expect("a leader");
        let on_leader = cluster.client(leader).await;
        on_leader.batch_execute(&format!("INSERT INTO kv VALUES ({row}, {row})")).await.unwrap();
        row += 1;
        if leader == old {
            break;
        }
        cluster.stop(leader);
        tokio::time::sleep(FROZEN_FOR).await;
        cluster.cont(leader);
    }
    let leader = cluster.leader().await.expect("a leader");
    assert_eq!(leader, old, "{old} did not lead again within 20 freezes");
    eprintln!("{old}, frozen and thawed, leads again after {row} rows; killing it");
    cluster.kill9(old);
    cluster.restart(old).await;
}

/// The finding of `ISOLA_NEMESIS_ROUNDS=2` (6 of the 7 runs of the matrix, and this test in
/// most runs; e.g. `ISOLA_CLUSTER_SEED=15417167042956913268`): the leader killed -9 in round 1
/// does not restart: replaying its Raft log it fails with "XX001: data corrupted: a replicated
/// commit writes to unknown table N" (`restart` panics). Likely cause: a leader logs its
/// process-local table ids, and `durable::apply_record` reads every record's ids through the
/// map built from the DDL records (`ApplyState::ids`, falling back to the id itself); a member
/// restarted in round 0 has fresh local ids, and once it leads, its records name tables the
/// others (and later replays) know under other ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_serializable_linearizable_two_rounds() {
    let run = Run {
        workload: "bank",
        isolation: "serializable",
        read_consistency: "linearizable",
        realtime: false,
    };
    check_under_faults_for(run, 2).await;
}

/// Read committed under the leader's deposals: each statement takes a snapshot of its own (on a
/// follower each waits for the read index), so reads may differ within a transaction, but
/// nothing read committed forbids (G0, G1a-c) and no acknowledged append lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_read_committed_linearizable() {
    check_under_faults(Run {
        workload: "list-append",
        isolation: "read-committed",
        read_consistency: "linearizable",
        realtime: false,
    })
    .await;
}

/// Read committed with `eventual` reads: a balance read (one statement) on a member that lags
/// is old, never inconsistent; the final total is the invariant's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_read_committed_eventual() {
    check_under_faults(Run {
        workload: "bank",
        isolation: "read-committed",
        read_consistency: "eventual",
        realtime: false,
    })
    .await;
}

/// `bounded_staleness` reads (the 2 s default): a transaction on a follower may miss recent
/// commits (so no `--realtime`), but reads one snapshot; a member whose data is too old
/// refuses with 57014 (an abort).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_repeatable_read_bounded_staleness() {
    check_under_faults(Run {
        workload: "register",
        isolation: "repeatable-read",
        read_consistency: "bounded_staleness",
        realtime: false,
    })
    .await;
}

/// `eventual` reads while links are cut one way and a follower is isolated
/// ([`partition_round`]): the isolated follower serves what it has, however old, but a
/// snapshot each; no acknowledged append lost (the final read is linearizable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_repeatable_read_eventual_partitions() {
    let run = Run {
        workload: "list-append",
        isolation: "repeatable-read",
        read_consistency: "eventual",
        realtime: false,
    };
    check_under(run, Nemesis::Partitions, 3, rounds()).await;
}

/// Linearizable reads under the cuts by direction, judged with real-time order: a leader that
/// no longer hears the followers (or is no longer heard) must not serve a read from its own
/// state once a new leader may have committed (the read index needs a majority's answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_repeatable_read_linearizable_realtime_partitions() {
    let run = Run {
        workload: "register",
        isolation: "repeatable-read",
        read_consistency: "linearizable",
        realtime: true,
    };
    check_under(run, Nemesis::Partitions, 3, rounds()).await;
}

/// Five members: the one-way cuts and an isolated follower, then the leader and one follower
/// cut off from the other three (a minority that led: its commits wait, then 08007; the three
/// elect and write). Repeatable read, so that followers serve transactions too (serializable
/// there is refused, 0A000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_repeatable_read_linearizable_partitions_of_five() {
    let run = Run {
        workload: "list-append",
        isolation: "repeatable-read",
        read_consistency: "linearizable",
        realtime: false,
    };
    check_under(run, Nemesis::Partitions, 5, rounds()).await;
}

/// Any cell of the matrix, for exploring and replaying (ignored by default): `ISOLA_CHECK_RUN=
/// "WORKLOAD ISOLATION READ_CONSISTENCY NEMESIS [realtime]"`, NEMESIS `deposals`,
/// `partitions` (three members) or `partitions5`; e.g. `ISOLA_CHECK_RUN="register
/// repeatable-read eventual partitions5" cargo test --test cluster_check any_cell -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "explores the cell ISOLA_CHECK_RUN names"]
async fn any_cell() {
    let cell = std::env::var("ISOLA_CHECK_RUN").expect("ISOLA_CHECK_RUN names the cell");
    let words: Vec<&'static str> =
        cell.split_whitespace().map(|w| &*String::leak(w.to_string())).collect();
    let [workload, isolation, read_consistency, nemesis, rest @ ..] = &words[..] else {
        panic!("ISOLA_CHECK_RUN={cell:?}: WORKLOAD ISOLATION READ_CONSISTENCY NEMESIS [realtime]");
    };
    let realtime = rest == ["realtime"];
    let run = Run { workload, isolation, read_consistency, realtime };
    match *nemesis {
        "deposals" => check_under(run, Nemesis::Deposals, 3, rounds()).await,
        "partitions" => check_under(run, Nemesis::Partitions, 3, rounds()).await,
        "partitions5" => check_under(run, Nemesis::Partitions, 5, rounds()).await,
        other => panic!("ISOLA_CHECK_RUN: unknown nemesis {other}"),
    }
}

/// Read-your-writes and monotonic reads with tokens, across members and reconnects, under the
/// leader's deposals. [`SESSIONS`] logical clients at `causal` each wander: every step on a
/// connection to a random member, dropped (a reconnect elsewhere) one step in three, its
/// token carried to the next connection with `SET isola.read_after`. A client inserts its own
/// rows (on whichever member it is on: a follower refuses, 25006) and reads all rows; a read
/// must hold every row the client had acknowledged (read your writes) and every row its
/// previous read held (monotonic reads), wherever it runs. At the end every acknowledged row
/// must be on every member (read at the latest token). Errors that end a step (57014, 25006,
/// 08007, a lost connection, a member frozen past the step's time limit) move the client on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn causal_tokens_read_your_writes_and_monotonic_reads_across_members() {
    let _one = ONE_AT_A_TIME.lock().await;
    let name = "causal tokens";
    let seed = seed(name);
    let _named = SeedOnFailure(seed);
    let mut rng = StdRng::seed_from_u64(seed);

    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await.expect("a leader within 20 s");
    let client = cluster.client(leader).await;
    client.batch_execute("CREATE TABLE seen (c int, seq int, PRIMARY KEY (c, seq))").await.unwrap();
    drop(client);
    let configs: Vec<tokio_postgres::Config> =
        cluster.nodes().iter().map(|&n| cluster.config(n)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let sessions: Vec<_> = (0..SESSIONS)
        .map(|c| {
            let session = CausalSession::new(c, configs.clone(), rng.r#gen());
            tokio::spawn(session.run(stop.clone()))
        })
        .collect();
    for round in 0..rounds() {
        nemesis_round(&mut cluster, &mut rng, name, round).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut finished = Vec::new();
    for session in sessions {
        finished.push(session.await.expect("a session task"));
    }
    for s in &finished {
        eprintln!(
            "{name}: client {}: {} rows acknowledged, {} reads checked, errors {:?}",
            s.id,
            s.acked.len(),
            s.reads,
            s.errors
        );
    }
    let violations: Vec<&String> = finished.iter().flat_map(|s| &s.violations).collect();
    assert!(violations.is_empty(), "{name} (seed {seed}): {violations:#?}");
    for s in &finished {
        assert!(!s.acked.is_empty() && s.reads > 0, "{name}: client {} did nothing", s.id);
    }

    let token = max_token(finished.iter().filter_map(|s| s.token.as_deref()))
        .expect("a token from some client");
    for node in cluster.nodes() {
        let on = cluster.client(node).await;
        let set =
            format!("SET isola.read_consistency = 'causal'; SET isola.read_after = '{token}'");
        query_text(&on, &set, STEP_TIMEOUT).await.unwrap();
        let rows = query_text(&on, "SELECT c, seq FROM seen", STEP_TIMEOUT).await.unwrap();
        let present = row_set(&rows);
        for s in &finished {
            let acked = s.acked.iter().chain(&s.acked_untracked);
            let missing: Vec<&(i32, i32)> = acked.filter(|r| !present.contains(r)).collect();
            assert!(
                missing.is_empty(),
                "{name} (seed {seed}): node {node} at token {token} lacks acknowledged rows {missing:?}"
            );
        }
    }
}

/// Logical clients in [`causal_tokens_read_your_writes_and_monotonic_reads_across_members`],
/// and the bounds of each: steps, and time (it also stops when the nemesis is done).
const SESSIONS: usize = 3;
const MAX_STEPS: usize = 2_000;
const SESSION_FOR: Duration = Duration::from_secs(120);
/// How long one statement (or connecting) may take: a frozen member never answers.
const STEP_TIMEOUT: Duration = Duration::from_secs(8);

/// One logical client at `causal` (see the test).
struct CausalSession {
    id: i32,
    configs: Vec<tokio_postgres::Config>,
    rng: StdRng,
    /// The latest token seen, carried across connections.
    token: Option<String>,
    next_seq: i32,
    /// Rows whose INSERT was acknowledged (and the token after it learnt).
    acked: BTreeSet<(i32, i32)>,
    /// Rows acknowledged, the token after them not learnt (the connection lost right after):
    /// checked only at the end, on every member.
    acked_untracked: BTreeSet<(i32, i32)>,
    /// What the last read held.
    last_read: BTreeSet<(i32, i32)>,
    reads: usize,
    /// The member a refused write named as the leader: the next connection goes there.
    leader_named: Option<usize>,
    errors: BTreeMap<String, usize>,
    violations: Vec<String>,
}

impl CausalSession {
    fn new(id: usize, configs: Vec<tokio_postgres::Config>, seed: u64) -> CausalSession {
        CausalSession {
            id: id as i32,
            configs,
            rng: StdRng::seed_from_u64(seed),
            token: None,
            next_seq: 0,
            acked: BTreeSet::new(),
            acked_untracked: BTreeSet::new(),
            last_read: BTreeSet::new(),
            reads: 0,
            leader_named: None,
            errors: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    async fn run(mut self, stop: Arc<AtomicBool>) -> CausalSession {
        let deadline = Instant::now() + SESSION_FOR;
        let mut conn: Option<(usize, tokio_postgres::Client)> = None;
        for _ in 0..MAX_STEPS {
            if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(self.rng.gen_range(10..60))).await;
            if conn.is_none() || self.rng.gen_range(0..3) == 0 {
                let member = match self.leader_named.take() {
                    Some(leader) => leader,
                    None => self.rng.gen_range(0..self.configs.len()),
                };
                conn = match self.open(member).await {
                    Ok(client) => Some((member, client)),
                    Err(e) => {
                        self.error(&e);
                        None
                    }
                };
            }
            let Some((member, client)) = &conn else { continue };
            let step = match self.rng.gen_bool(0.4) {
                true => self.write(client).await,
                false => self.read(client, *member).await,
            };
            if let Err(e) = step {
                self.error(&e);
                conn = None;
            }
        }
        self
    }

    /// Connects to `member` at `causal`, carrying the token.
    async fn open(&self, member: usize) -> Result<tokio_postgres::Client, String> {
        let client = connect(&self.configs[member], STEP_TIMEOUT).await?;
        query_text(&client, "SET isola.read_consistency = 'causal'", STEP_TIMEOUT).await?;
        self.carry(&client).await?;
        Ok(client)
    }

    async fn carry(&self, client: &tokio_postgres::Client) -> Result<(), String> {
        if let Some(token) = &self.token {
            let set = format!("SET isola.read_after = '{token}'");
            query_text(client, &set, STEP_TIMEOUT).await?;
        }
        Ok(())
    }

    /// Inserts the next row; acknowledged, it is the client's to read from then on.
    async fn write(&mut self, client: &tokio_postgres::Client) -> Result<(), String> {
        let row = (self.id, self.next_seq);
        self.next_seq += 1;
        let insert = format!("INSERT INTO seen VALUES ({}, {})", row.0, row.1);
        query_text(client, &insert, STEP_TIMEOUT).await?;
        // Acknowledged; the client reads it from now on only if it learns the token too.
        self.acked.insert(row);
        if let Err(e) = self.take_token(client).await {
            self.acked.remove(&row);
            self.acked_untracked.insert(row);
            return Err(e);
        }
        Ok(())
    }

    /// Reads every row (at least the token), and checks it against what came before.
    async fn read(&mut self, client: &tokio_postgres::Client, member: usize) -> Result<(), String> {
        self.carry(client).await?;
        let rows = query_text(client, "SELECT c, seq FROM seen", STEP_TIMEOUT).await?;
        let read = row_set(&rows);
        self.reads += 1;
        let node = member + 1;
        let unread: Vec<&(i32, i32)> = self.acked.iter().filter(|r| !read.contains(r)).collect();
        if !unread.is_empty() {
            self.violations.push(format!(
                "client {} on node {node} at token {:?}: its acknowledged rows {unread:?} unread",
                self.id, self.token
            ));
        }
        let gone: Vec<&(i32, i32)> = self.last_read.iter().filter(|r| !read.contains(r)).collect();
        if !gone.is_empty() {
            self.violations.push(format!(
                "client {} on node {node} at token {:?}: rows {gone:?} of its previous read gone",
                self.id, self.token
            ));
        }
        // The next read must hold it only if the client learns the token that covers it.
        self.take_token(client).await?;
        self.last_read = read;
        Ok(())
    }

    /// The session's token after a request (at or past what the request saw), if higher.
    async fn take_token(&mut self, client: &tokio_postgres::Client) -> Result<(), String> {
        let rows = query_text(client, "SHOW isola.session_token", STEP_TIMEOUT).await?;
        let token = rows.first().and_then(|r| r[0].clone()).ok_or("no session token")?;
        self.token = max_token(self.token.as_deref().into_iter().chain([token.as_str()]));
        Ok(())
    }

    /// Counts an error that ended a step, by its SQLSTATE or the start of its message
    /// (`query_text` puts the statement in front); a refused write's leader is remembered.
    fn error(&mut self, e: &str) {
        let message = e.split_once(": ").map_or(e, |(_, m)| m);
        if message.starts_with("25006") {
            let named = message
                .split(" node ")
                .nth(1)
                .and_then(|rest| rest.strip_suffix(" leads").and_then(|n| n.parse::<usize>().ok()));
            self.leader_named =
                named.filter(|&n| (1..=self.configs.len()).contains(&n)).map(|n| n - 1);
        }
        let kind: String = message.chars().take(40).collect();
        *self.errors.entry(kind).or_insert(0) += 1;
    }
}

/// `(c, seq)` rows as a set.
fn row_set(rows: &[Vec<Option<String>>]) -> BTreeSet<(i32, i32)> {
    let number = |v: &Option<String>| v.as_deref().expect("not null").parse::<i32>().unwrap();
    rows.iter().map(|r| (number(&r[0]), number(&r[1]))).collect()
}

/// Starts a group, runs the checker against all of it while the nemesis works, and asserts the
/// checker's exit status 0 (its report is printed either way).
async fn check_under_faults(run: Run) {
    check_under_faults_for(run, rounds()).await;
}

/// [`check_under_faults`] with `rounds` nemesis rounds.
async fn check_under_faults_for(run: Run, rounds: usize) {
    check_under(run, Nemesis::Deposals, 3, rounds).await;
}

/// Runs the checker against a group of `members` while `nemesis` works for `rounds` rounds
/// (skipped, saying so, when the nemesis cuts links and partitions are unsupported here).
async fn check_under(run: Run, nemesis: Nemesis, members: usize, rounds: usize) {
    let _one = ONE_AT_A_TIME.lock().await;
    let name = format!(
        "{} {} {}{}{}",
        run.workload,
        run.isolation,
        run.read_consistency,
        if run.realtime { " realtime" } else { "" },
        match nemesis {
            Nemesis::Deposals => String::new(),
            Nemesis::Partitions => format!(" partitions of {members}"),
        }
    );
    let seed = seed(&name);
    let _named = SeedOnFailure(seed);
    let mut rng = StdRng::seed_from_u64(seed);

    let mut cluster = Cluster::start(members).await;
    if nemesis == Nemesis::Partitions
        && let Some(why) = cluster.partitions_unsupported()
    {
        eprintln!("{name}: skipped: {why}");
        return;
    }
    cluster.leader().await.expect("a leader within 20 s");
    let urls: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|&n| format!("postgres://isola:{PASSWORD}@{}/isola", cluster.sql_addr(n)))
        .collect();
    let time_limit = (SECONDS_PER_ROUND * rounds as u64).to_string();
    let txns = (TXNS * rounds).to_string();
    let check_seed = rng.r#gen::<u32>().to_string();
    let mut args = vec![
        "check",
        "--urls",
        &urls.join(","),
        "--workload",
        run.workload,
        "--isolation",
        run.isolation,
        "--model",
        run.isolation,
        "--read-consistency",
        run.read_consistency,
        "--txns",
        &txns,
        "--time-limit",
        &time_limit,
        "--rate",
        RATE,
        "--clients",
        "6",
        "--seed",
        &check_seed,
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<String>>();
    if run.realtime {
        args.push("--realtime".into());
    }
    eprintln!("{name}: isola {}", args.join(" "));
    let checker = tokio::process::Command::new(env!("CARGO_BIN_EXE_isola"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting isola check");

    for round in 0..rounds {
        match nemesis {
            Nemesis::Deposals => nemesis_round(&mut cluster, &mut rng, &name, round).await,
            Nemesis::Partitions => partition_round(&cluster, &mut rng, &name, round).await,
        }
    }

    let waited = tokio::time::timeout(Duration::from_secs(180), checker.wait_with_output()).await;
    let output = waited.expect("isola check finished within 180 s").expect("isola check ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{name}: isola check said:\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{name}: isola check found what {} forbids, or could not decide (seed {seed}):\n{stdout}",
        run.isolation
    );
}

/// The three faults, each on whichever member leads then, with a seeded pause before each.
async fn nemesis_round(cluster: &mut Cluster, rng: &mut StdRng, name: &str, round: usize) {
    let pause = |rng: &mut StdRng| Duration::from_millis(rng.gen_range(500..2_000));

    tokio::time::sleep(pause(rng)).await;
    let leader = cluster.leader().await.expect("a leader before the kill");
    eprintln!("{name}: round {round}: kill -9 of leader {leader}");
    cluster.kill9(leader);
    tokio::time::sleep(pause(rng)).await;
    cluster.restart(leader).await;

    tokio::time::sleep(pause(rng)).await;
    let leader = cluster.leader().await.expect("a leader before the cut");
    match cluster.partitions_unsupported() {
        Some(why) => eprintln!("{name}: round {round}: no cut ({why})"),
        None => {
            eprintln!("{name}: round {round}: leader {leader} cut off");
            cluster.isolate(leader);
            tokio::time::sleep(CUT_FOR).await;
            cluster.heal();
        }
    }

    tokio::time::sleep(pause(rng)).await;
    let leader = cluster.leader().await.expect("a leader before the freeze");
    eprintln!("{name}: round {round}: leader {leader} frozen");
    cluster.stop(leader);
    tokio::time::sleep(FROZEN_FOR).await;
    cluster.cont(leader);
    eprintln!("{name}: round {round}: done");
}

/// The cuts, each while every member runs, each on whichever member leads then, with a seeded
/// pause before each: the leader's packets to the followers dropped (they elect; it hears them
/// on the connections they opened, it is never heard), then the followers' packets to the
/// leader dropped (it may still be heard, it never hears back), then one follower isolated (the
/// leader keeps its majority and writes go on); with five members, also the leader and one
/// follower cut off from the other three (a minority that led; the three elect and write).
/// Every cut is healed before the next ([`Cluster::heal`] flushes the rules; the namespaces,
/// and with them the rules, go when the cluster drops, on a panic too).
async fn partition_round(cluster: &Cluster, rng: &mut StdRng, name: &str, round: usize) {
    let pause = |rng: &mut StdRng| Duration::from_millis(rng.gen_range(500..2_000));

    tokio::time::sleep(pause(rng)).await;
    let leader = cluster.leader().await.expect("a leader before the outgoing cut");
    eprintln!("{name}: round {round}: leader {leader}'s packets to the followers dropped");
    for follower in cluster.others(leader) {
        cluster.one_way(leader, follower);
    }
    tokio::time::sleep(CUT_FOR).await;
    cluster.heal();

    tokio::time::sleep(pause(rng)).await;
    let leader = cluster.leader().await.expect("a leader before the incoming cut");
    eprintln!("{name}: round {round}: the followers' packets to leader {leader} dropped");
    for follower in cluster.others(leader) {
        cluster.one_way(follower, leader);
    }
    tokio::time::sleep(CUT_FOR).await;
    cluster.heal();

    tokio::time::sleep(pause(rng)).await;
    let leader = cluster.leader().await.expect("a leader before a follower's isolation");
    let followers = cluster.others(leader);
    let follower = followers[rng.gen_range(0..followers.len())];
    eprintln!(
        "{name}: round {round}: follower {follower} isolated (leader {leader} keeps a majority)"
    );
    cluster.isolate(follower);
    tokio::time::sleep(CUT_FOR).await;
    cluster.heal();

    if cluster.nodes().len() >= 5 {
        tokio::time::sleep(pause(rng)).await;
        let leader = cluster.leader().await.expect("a leader before the minority cut");
        let followers = cluster.others(leader);
        let with = followers[rng.gen_range(0..followers.len())];
        let majority: Vec<NodeId> = followers.into_iter().filter(|&n| n != with).collect();
        eprintln!("{name}: round {round}: leader {leader} and {with} cut off from {majority:?}");
        cluster.partition(&[&[leader, with], &majority]);
        tokio::time::sleep(CUT_FOR).await;
        cluster.heal();
    }
    eprintln!("{name}: round {round}: done");
}

/// Nemesis rounds per run: `ISOLA_NEMESIS_ROUNDS`, default 1.
fn rounds() -> usize {
    match std::env::var("ISOLA_NEMESIS_ROUNDS") {
        Ok(v) => {
            v.trim().parse::<usize>().unwrap_or_else(|_| panic!("ISOLA_NEMESIS_ROUNDS={v}")).max(1)
        }
        Err(_) => 1,
    }
}
