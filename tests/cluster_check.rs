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
//! one list-append run with `causal` reads.
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

use std::process::Stdio;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;

use common::cluster::{Cluster, PASSWORD, SeedOnFailure, seed};

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

/// Starts a group, runs the checker against all of it while the nemesis works, and asserts the
/// checker's exit status 0 (its report is printed either way).
async fn check_under_faults(run: Run) {
    check_under_faults_for(run, rounds()).await;
}

/// [`check_under_faults`] with `rounds` nemesis rounds.
async fn check_under_faults_for(run: Run, rounds: usize) {
    let _one = ONE_AT_A_TIME.lock().await;
    let name = format!(
        "{} {} {}{}",
        run.workload,
        run.isolation,
        run.read_consistency,
        if run.realtime { " realtime" } else { "" }
    );
    let seed = seed(&name);
    let _named = SeedOnFailure(seed);
    let mut rng = StdRng::seed_from_u64(seed);

    let mut cluster = Cluster::start(3).await;
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
        nemesis_round(&mut cluster, &mut rng, &name, round).await;
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

/// Nemesis rounds per run: `ISOLA_NEMESIS_ROUNDS`, default 1.
fn rounds() -> usize {
    match std::env::var("ISOLA_NEMESIS_ROUNDS") {
        Ok(v) => {
            v.trim().parse::<usize>().unwrap_or_else(|_| panic!("ISOLA_NEMESIS_ROUNDS={v}")).max(1)
        }
        Err(_) => 1,
    }
}
