//! The `isola` command.
//!
//! - `isola demo`: runs the classic concurrency anomalies (lost update, write skew, the
//!   read-only anomaly) at each isolation level against the transactional core, and prints
//!   what each level let through and how it explained each abort.
//!
//! - `isola serve [--listen ADDR:PORT] [--data DIR] [--memory] [--max-connections N]
//!   [--checkpoint-interval SECONDS] [--memory-limit SIZE] [--password-file FILE]
//!   [--tls-cert PEM --tls-key PEM] [--sync-delay-ms MS]`:
//!   the PostgreSQL wire-protocol server (default 127.0.0.1:5433, data directory
//!   `./isola-data`, recovered at start; `--memory`: no files; `--memory-limit`: rows on disk
//!   in `base.redb`, memory kept near SIZE). Without a password file it
//!   trusts every client and refuses to listen beyond loopback; with one, every client
//!   authenticates with SCRAM-SHA-256.
//!
//! - `isola check --isolation LEVEL [--url URL] [--clients N] [--txns N] [--workload W] ...`:
//!   runs a randomized transactional workload against any PostgreSQL-wire server and reports
//!   the anomalies it observed; exit 0 valid for the level, 1 anomalies, 2 undecided.

#![forbid(unsafe_code)]

use std::ops::Bound;
use std::process::ExitCode;

use isola::{Database, Error, IsolationLevel, Transaction, TxnOptions};

/// jemalloc instead of glibc's malloc: the server allocates rows on many threads (runtime
/// workers, the blocking pool) and frees them on others (GC, DROP); glibc spreads threads over
/// many arenas, and bulk loads after other work landed in fragmented memory (COPY of 1M rows
/// after a TPC-B run 1.8-3.5 s against 1.4-1.6 s with jemalloc; docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const LEVELS: [IsolationLevel; 4] = [
    IsolationLevel::ReadUncommitted,
    IsolationLevel::ReadCommitted,
    IsolationLevel::RepeatableRead,
    IsolationLevel::Serializable,
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => {
            demo();
            ExitCode::SUCCESS
        }
        Some("serve") => serve(&args[1..]),
        Some("check") => check(&args[1..]),
        Some("cluster") => cluster(&args[1..]),
        _ => {
            eprintln!(
                "usage: isola serve [--listen ADDR:PORT] [--data DIR] [--memory] [--max-connections N] [--checkpoint-interval SECONDS] [--memory-limit SIZE]\n                   [--password-file FILE] [--tls-cert PEM --tls-key PEM] [--sync-delay-ms MS]\n                   [--node-id N --raft-listen ADDR:PORT --peers 1=ADDR,2=ADDR,... [--join] [--election-timeout-ms MIN-MAX]]\n       isola cluster add-learner ID RAFT_ADDR | promote ID | remove ID | transfer-leader ID (--url URL | --raft MEMBER_RAFT_ADDR)\n       isola check --isolation LEVEL [--url URL] [--clients N] [--txns N] ... (isola check --help)\n       isola demo"
            );
            ExitCode::from(2)
        }
    }
}

/// A follower that hears nothing from the leader for a time drawn from this range (ms)
/// starts an election; the leader sends heartbeats every quarter of the minimum. A member
/// keeps honouring a leader for the maximum after its last heartbeat (openraft's leader
/// lease), so a failover takes about MIN + MAX: the first candidate asks while the others
/// still honour the dead leader, and asks again one timeout later (docs/replication.md).
const DEFAULT_ELECTION_TIMEOUT_MS: (u64, u64) = (200, 400);

/// `--election-timeout-ms MIN-MAX`.
fn parse_election_timeout(text: &str) -> Option<(u64, u64)> {
    let (min, max) = text.split_once('-')?;
    let (min, max) = (min.trim().parse().ok()?, max.trim().parse().ok()?);
    (50 <= min && min < max).then_some((min, max))
}

/// The cluster flags: all three or none.
fn cluster_options(
    node_id: Option<u64>,
    raft_listen: Option<String>,
    peers: Option<String>,
    durable: bool,
    join: bool,
) -> Result<Option<isola::replication::ClusterOptions>, String> {
    let (node_id, raft_listen, peers) = match (node_id, raft_listen, peers) {
        (None, None, None) => return Ok(None),
        (Some(n), Some(r), Some(p)) => (n, r, p),
        _ => return Err("a cluster member needs --node-id N, --raft-listen ADDR:PORT and --peers 1=ADDR,2=ADDR,...".into()),
    };
    if !durable {
        return Err("a cluster member needs a data directory (not --memory)".into());
    }
    let raft_listen =
        raft_listen.parse().map_err(|e| format!("bad --raft-listen address {raft_listen}: {e}"))?;
    let peers = isola::replication::ClusterOptions::parse_peers(&peers)?;
    if !peers.contains_key(&node_id) {
        return Err(format!("--peers does not name this node ({node_id})"));
    }
    Ok(Some(isola::replication::ClusterOptions {
        node_id,
        raft_listen,
        peers,
        heartbeat_ms: DEFAULT_ELECTION_TIMEOUT_MS.0 / 4,
        election_timeout_ms: DEFAULT_ELECTION_TIMEOUT_MS,
        snapshot_every: 20_000,
        join,
    }))
}

/// The server's runtime (multi-threaded, with the server's thread stack size).
fn server_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(isola::server::THREAD_STACK_BYTES)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("isola serve: cannot start the runtime: {e}");
            ExitCode::from(1)
        })
}

/// `isola serve` as a member of a Raft group.
fn serve_replica(
    addr: std::net::SocketAddr,
    config: isola::server::ServerConfig,
    dir: &str,
    durable: isola::durable::DurableOptions,
    cluster: isola::replication::ClusterOptions,
) -> ExitCode {
    let runtime = match server_runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Raft (its core, the transport, heartbeats, applying entries) runs on a runtime of its
    // own: a statement that blocks a server worker (one waiting for the schema lock a DDL
    // commit holds until the majority has it) must never hold up the very replication it
    // waits for, and heartbeats are not delayed behind client work.
    let raft_runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("isola-raft")
        .thread_stack_size(isola::server::THREAD_STACK_BYTES)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("isola serve: cannot start the Raft runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let node_id = cluster.node_id;
    let raft_listen = cluster.raft_listen;
    let restart: Box<dyn Fn() + Send + Sync> = Box::new(restart_process);
    let dir_path = std::path::PathBuf::from(dir);
    let opening = raft_runtime.spawn(async move {
        isola::sql::Engine::open_replica(&dir_path, durable, cluster, restart).await
    });
    let code = runtime.block_on(async move {
        let engine = match opening.await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                eprintln!("isola serve: cannot open data directory {dir} as a replica: {e}");
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("isola serve: opening data directory {dir} as a replica failed: {e}");
                return ExitCode::from(1);
            }
        };
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("isola serve: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        let local = listener.local_addr().unwrap_or(addr);
        println!(
            "isola listening on {local}, data directory {dir} (node {node_id} of a Raft group, raft {raft_listen})"
        );
        match isola::server::serve(engine, listener, config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("isola serve: {e}");
                ExitCode::from(1)
            }
        }
    });
    raft_runtime.shutdown_background();
    code
}

/// Re-executes this process with the same arguments (a replica whose database must be
/// replaced by a snapshot starts again from it). The process keeps its pid.
fn restart_process() {
    use std::os::unix::process::CommandExt;
    eprintln!("isola: restarting to start from the snapshot the leader sent");
    let exe = std::env::current_exe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(exe) = exe {
        let error = std::process::Command::new(exe).args(args).exec();
        eprintln!("isola: cannot restart: {error}");
    }
    std::process::exit(1);
}

/// `isola cluster add-learner ID HOST:PORT | promote ID | remove ID | transfer-leader ID`
/// with `--url postgresql://ANY_MEMBER/...` (runs the SQL function, `isola_cluster_promote(ID)`
/// and the like, on that member) or `--raft HOST:PORT` (sends the change to the member whose
/// Raft address it is). Either way the member passes it on to the leader.
fn cluster(args: &[String]) -> ExitCode {
    use isola::replication::MembershipChange;
    let usage = "usage: isola cluster add-learner ID RAFT_ADDR | promote ID | remove ID | transfer-leader ID (--url postgresql://MEMBER/ | --raft MEMBER_RAFT_ADDR)";
    let mut rest: Vec<&str> = Vec::new();
    let mut raft: Option<&str> = None;
    let mut url: Option<&str> = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--raft" {
            raft = args.get(i + 1).map(String::as_str);
            i += 2;
        } else if args[i] == "--url" {
            url = args.get(i + 1).map(String::as_str);
            i += 2;
        } else {
            rest.push(&args[i]);
            i += 1;
        }
    }
    let id = |s: Option<&&str>| s.and_then(|s| s.parse::<u64>().ok());
    let change = match (rest.first().copied(), id(rest.get(1))) {
        (Some("add-learner"), Some(id)) if rest.len() == 3 => {
            MembershipChange::AddLearner { id, raft_addr: rest[2].to_string() }
        }
        (Some("promote"), Some(id)) if rest.len() == 2 => MembershipChange::Promote { id },
        (Some("remove"), Some(id)) if rest.len() == 2 => MembershipChange::Remove { id },
        (Some("transfer-leader"), Some(to)) if rest.len() == 2 => {
            MembershipChange::TransferLeader { to }
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("isola cluster: {e}");
            return ExitCode::from(1);
        }
    };
    let timeout = std::time::Duration::from_secs(60);
    let done = match (url, raft) {
        (Some(url), None) => runtime.block_on(membership_by_sql(url, &change)),
        (None, Some(raft)) => {
            runtime.block_on(isola::replication::request_membership_change(raft, &change, timeout))
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match done {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("isola cluster: {e}");
            ExitCode::from(1)
        }
    }
}

/// A membership change through a member's SQL: `SELECT isola_cluster_...($1, ...)`.
async fn membership_by_sql(
    url: &str,
    change: &isola::replication::MembershipChange,
) -> Result<String, String> {
    use isola::replication::MembershipChange as M;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(connection);
    let row = match change {
        M::AddLearner { id, raft_addr } => {
            let id = *id as i64;
            client
                .query_one(
                    "SELECT isola_cluster_add_learner($1::int8, $2::text)",
                    &[&id, raft_addr],
                )
                .await
        }
        M::Promote { id } => {
            client.query_one("SELECT isola_cluster_promote($1::int8)", &[&(*id as i64)]).await
        }
        M::Remove { id } => {
            client.query_one("SELECT isola_cluster_remove($1::int8)", &[&(*id as i64)]).await
        }
        M::TransferLeader { to } => {
            client
                .query_one("SELECT isola_cluster_transfer_leader($1::int8)", &[&(*to as i64)])
                .await
        }
    };
    let row = row.map_err(|e| match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    })?;
    row.try_get::<_, String>(0).map_err(|e| e.to_string())
}

/// A size like `512MB`, `1GB`, `64MiB`, `2g` or a number of bytes.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some((number * scale as f64) as u64)
}

fn serve(args: &[String]) -> ExitCode {
    let mut listen = "127.0.0.1:5433".to_string();
    let mut data = Some("./isola-data".to_string());
    let mut config = isola::server::ServerConfig::default();
    // Rows on disk with `--memory-limit` (or in a directory that has them there already);
    // without, every row in memory as before (measured: the first checkpoint after a bulk
    // load writes the whole table into the base, slower than a checkpoint file; see
    // docs/storage.md).
    let mut durable = isola::durable::DurableOptions::default();
    let mut tls_cert: Option<String> = None;
    let mut tls_key: Option<String> = None;
    let mut node_id: Option<u64> = None;
    let mut raft_listen: Option<String> = None;
    let mut peers: Option<String> = None;
    let mut join = false;
    let mut election_timeout: Option<(u64, u64)> = None;
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned();
        match (args[i].as_str(), value) {
            ("--listen", Some(v)) => listen = v,
            ("--data", Some(v)) => data = Some(v),
            ("--max-connections", Some(v)) => match v.parse() {
                Ok(n) => config.max_connections = n,
                Err(_) => {
                    eprintln!("isola serve: --max-connections needs a number, got {v}");
                    return ExitCode::from(2);
                }
            },
            ("--checkpoint-interval", Some(v)) => match v.parse::<f64>() {
                Ok(secs) if secs > 0.0 => {
                    durable.checkpoint_interval = std::time::Duration::from_secs_f64(secs)
                }
                _ => {
                    eprintln!(
                        "isola serve: --checkpoint-interval needs a positive number of seconds, got {v}"
                    );
                    return ExitCode::from(2);
                }
            },
            ("--memory-limit", Some(v)) => match parse_size(&v) {
                Some(bytes) if bytes >= 1 << 20 => {
                    durable.base = Some(isola::durable::BaseOptions { memory_limit: bytes })
                }
                _ => {
                    eprintln!(
                        "isola serve: --memory-limit needs a size of at least 1MB (like 512MB, 1GB, 2GiB), got {v}"
                    );
                    return ExitCode::from(2);
                }
            },
            ("--password-file", Some(v)) => {
                match isola::server::security::Credentials::load(std::path::Path::new(&v)) {
                    Ok(c) => config.credentials = Some(std::sync::Arc::new(c)),
                    Err(e) => {
                        eprintln!("isola serve: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            ("--sync-delay-ms", Some(v)) => match v.parse::<u64>() {
                Ok(ms) => durable.log.sync_delay = std::time::Duration::from_millis(ms),
                Err(_) => {
                    eprintln!("isola serve: --sync-delay-ms needs a number, got {v}");
                    return ExitCode::from(2);
                }
            },
            ("--node-id", Some(v)) => match v.parse() {
                Ok(n) => node_id = Some(n),
                Err(_) => {
                    eprintln!("isola serve: --node-id needs a number, got {v}");
                    return ExitCode::from(2);
                }
            },
            ("--raft-listen", Some(v)) => raft_listen = Some(v),
            ("--election-timeout-ms", Some(v)) => match parse_election_timeout(&v) {
                Some(range) => election_timeout = Some(range),
                None => {
                    eprintln!(
                        "isola serve: --election-timeout-ms needs MIN-MAX milliseconds (50 <= MIN < MAX), got {v}"
                    );
                    return ExitCode::from(2);
                }
            },
            ("--peers", Some(v)) => peers = Some(v),
            ("--tls-cert", Some(v)) => tls_cert = Some(v),
            ("--tls-key", Some(v)) => tls_key = Some(v),
            ("--memory", _) => {
                data = None;
                i += 1;
                continue;
            }
            ("--join", _) => {
                join = true;
                i += 1;
                continue;
            }
            (flag, _) => {
                eprintln!("isola serve: unknown or incomplete option {flag}");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let addr: std::net::SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("isola serve: bad --listen address {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    match (&tls_cert, &tls_key) {
        (Some(cert), Some(key)) => {
            match isola::server::security::load_tls(cert.as_ref(), key.as_ref()) {
                Ok(acceptor) => config.tls = Some(acceptor),
                Err(e) => {
                    eprintln!("isola serve: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        (None, None) => {}
        _ => {
            eprintln!("isola serve: TLS needs both --tls-cert FILE and --tls-key FILE");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = isola::server::check_listen_address(&addr, &config) {
        eprintln!("isola serve: {e}");
        return ExitCode::from(2);
    }
    let cluster = match cluster_options(node_id, raft_listen, peers, data.is_some(), join) {
        Ok(Some(mut c)) => {
            if let Some(range) = election_timeout {
                c.heartbeat_ms = (range.0 / 4).max(10);
                c.election_timeout_ms = range;
            }
            Some(c)
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!("isola serve: {e}");
            return ExitCode::from(2);
        }
    };
    if let (Some(cluster), Some(dir)) = (cluster, &data) {
        return serve_replica(addr, config, dir, durable, cluster);
    }
    let databases = match &data {
        Some(dir) => match isola::sql::Engine::open(std::path::Path::new(dir), durable.clone()) {
            Ok((engine, report)) => {
                let from = match &report.checkpoint {
                    Some((path, rows)) => format!("checkpoint {} ({rows} rows)", path.display()),
                    None => "an empty directory".into(),
                };
                println!(
                    "isola recovered {dir} from {from} and {} log records in {:.3}s ({})",
                    report.replayed,
                    report.elapsed.as_secs_f64(),
                    report.phases_text()
                );
                if let Some((file, offset, bytes)) = &report.torn_tail {
                    println!(
                        "isola: cut a torn log tail of {bytes} bytes at {} offset {offset} (a write cut by a crash, never acknowledged)",
                        file.display()
                    );
                }
                let root = std::path::Path::new(dir);
                match isola::server::Databases::open_dir(engine, root, durable) {
                    Ok((databases, created)) => {
                        if !created.is_empty() {
                            println!("isola opened the created databases {}", created.join(", "));
                        }
                        databases
                    }
                    Err(e) => {
                        eprintln!("isola serve: cannot open the databases of {dir}: {e}");
                        return ExitCode::from(1);
                    }
                }
            }
            Err(e) => {
                eprintln!("isola serve: cannot open data directory {dir}: {e}");
                return ExitCode::from(1);
            }
        },
        None => isola::server::Databases::in_memory(isola::sql::Engine::new(Database::new())),
    };
    let runtime = match server_runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("isola serve: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
        let access = match (&config.credentials, &config.tls) {
            (None, None) => "every client trusted (loopback only), no TLS",
            (None, Some(_)) => "every client trusted (loopback only), TLS offered",
            (Some(_), None) => "SCRAM-SHA-256 passwords required, no TLS",
            (Some(_), Some(_)) => "SCRAM-SHA-256 passwords required, TLS offered",
        };
        println!("isola access: {access}");
        match &data {
            Some(dir) => println!("isola listening on {local}, data directory {dir}"),
            None => println!(
                "isola listening on {local}, in memory only (--memory: nothing is written to disk)"
            ),
        }
        match isola::server::serve_databases(databases, listener, config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("isola serve: {e}");
                ExitCode::from(1)
            }
        }
    })
}

fn outcome(result: Result<(), Error>) -> String {
    match result {
        Ok(()) => "committed".into(),
        Err(e) => match e.detail() {
            Some(detail) => format!("{} {}\n      {}", e.sqlstate(), e.message(), detail),
            None => format!("{} {}", e.sqlstate(), e.message()),
        },
    }
}

fn doctors(level: IsolationLevel) -> Database {
    let db = Database::new();
    db.create_table("doctors", &["id", "on_call"], &["id"]).unwrap();
    let mut setup = db.begin(TxnOptions::new(level));
    setup.insert(0, vec![1.into(), true.into()]).unwrap();
    setup.insert(0, vec![2.into(), true.into()]).unwrap();
    setup.commit().unwrap();
    db
}

fn on_call(txn: &mut Transaction) -> Result<usize, Error> {
    let rows = txn.scan(0, (Bound::Unbounded, Bound::Unbounded))?;
    Ok(rows.iter().filter(|(_, r)| r[1] == true.into()).count())
}

/// Write skew: two doctors each check that someone else is on call, then go off call.
fn write_skew(level: IsolationLevel) {
    let db = doctors(level);
    let mut t1 = db.begin(TxnOptions::new(level));
    let mut t2 = db.begin(TxnOptions::new(level));
    let step = |t: &mut Transaction, id: i64| -> Result<(), Error> {
        if on_call(t)? >= 2 {
            t.update(0, &isola::key![id.into()], |_| Some(vec![id.into(), false.into()]))?;
        }
        Ok(())
    };
    let r1 = step(&mut t1, 1);
    let r2 = step(&mut t2, 2);
    let c1 = r1.and_then(|()| t1.commit().map(|_| ()));
    let c2 = r2.and_then(|()| t2.commit().map(|_| ()));
    let mut check = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let left = on_call(&mut check).unwrap();
    println!("  doctor 1: {}", outcome(c1));
    println!("  doctor 2: {}", outcome(c2));
    println!("  doctors left on call: {left}{}", if left == 0 { "   <- write skew" } else { "" });
}

/// Lost update: two transactions read a counter, then write the value plus one.
fn lost_update(level: IsolationLevel) {
    let db = Database::new();
    db.create_table("counter", &["id", "n"], &["id"]).unwrap();
    let mut setup = db.begin(TxnOptions::new(level));
    setup.insert(0, vec![1.into(), 0.into()]).unwrap();
    setup.commit().unwrap();
    let mut t1 = db.begin(TxnOptions::new(level));
    let mut t2 = db.begin(TxnOptions::new(level));
    let n1 = t1.get(0, &isola::key![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    let n2 = t2.get(0, &isola::key![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    t1.start_statement();
    t1.update(0, &isola::key![1.into()], |_| Some(vec![1.into(), (n1 + 1).into()])).unwrap();
    let c1 = t1.commit().map(|_| ());
    t2.start_statement();
    let c2 = t2
        .update(0, &isola::key![1.into()], |_| Some(vec![1.into(), (n2 + 1).into()]))
        .map(|_| ())
        .and_then(|()| t2.commit().map(|_| ()));
    let mut check = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let n = check.get(0, &isola::key![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    let committed = usize::from(c1.is_ok()) + usize::from(c2.is_ok());
    println!("  first:  {}", outcome(c1));
    println!("  second: {}", outcome(c2));
    let lost = if (n as usize) < committed { "   <- lost update" } else { "" };
    println!("  counter = {n} after {committed} committed increments{lost}");
}

fn demo() {
    println!("isola demo: anomalies at each isolation level, run against the transactional core\n");
    for level in LEVELS {
        println!("== {} ==", level.sql());
        println!(" lost update (read, then write the value + 1, in two transactions):");
        lost_update(level);
        println!(" write skew (two doctors on call, each goes off call if the other is on):");
        write_skew(level);
        println!();
    }
}

const CHECK_USAGE: &str = "usage: isola check --isolation LEVEL [options]

Runs random transactions from concurrent clients against a PostgreSQL-wire server (isola,
PostgreSQL, ...), records what they observed, and checks the history for the anomalies LEVEL
forbids. Exit status: 0 valid for the level, 1 anomalies found, 2 could not decide.
A COMMIT that gets no answer, 08007 (a replica lost leadership before a majority held it) or an
I/O error (58xxx) is an unknown outcome (it may or may not have happened); 25006 (a follower
refused a write) and 57014 (a replica read waited too long) abort the transaction, as 40001 and
40P01 do.

  --isolation LEVEL        read-uncommitted | read-committed | repeatable-read | serializable
  --model LEVEL            judge the history against this level instead (e.g. run at
                           repeatable-read, check as serializable)
  --url URL                default postgres://isola@127.0.0.1:5433/isola
  --urls URL1,URL2,...     several servers (the members of a replicated group): client i starts
                           on URL i mod n and moves to the next URL when its server fails; the
                           tables are created on the first that takes writes (the leader);
                           split at commas, so no URL here may name several hosts
  --read-consistency L     each session first runs SET isola.read_consistency = L
                           (linearizable | causal | bounded_staleness | eventual; default: not
                           set); the final read is linearizable
  --workload W             list-append (default) | register | bank
  --clients N              concurrent clients (default 8)
  --txns N                 transactions in total (default 2000)
  --time-limit SECONDS     stop starting transactions after this long (default 60)
  --rate N                 start at most N transactions per second over all clients
                           (default 0: as fast as they go)
  --keys N                 keys in play at once: fewer keys, more contention (default 8)
  --max-ops N              operations per transaction, 1..N (default 4)
  --writes-per-key N       writes before a key is replaced by a fresh one (default 32)
  --read-fraction F        share of operations that read (default 0.5)
  --disconnect-fraction F  share of transactions whose client drops the connection midway (default 0)
  --seed N                 random seed (default 1)
  --table-prefix NAME      tables NAME_append, NAME_register, NAME_bank (default isola_check; dropped and re-created)
  --realtime               also order transactions by real time (one acknowledged before
                           another began precedes it): strict serializability
  --report FILE.html       write an HTML report with a drawing of each cycle found";

fn check(args: &[String]) -> ExitCode {
    use isola::check::workload::{Workload, WorkloadOptions, parse_level};
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{CHECK_USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut urls = vec!["postgres://isola@127.0.0.1:5433/isola".to_string()];
    let mut level = None;
    let mut model = None;
    let mut report = None;
    let mut analysis_options = isola::check::AnalysisOptions::default();
    let mut options = WorkloadOptions::new(&urls[0], isola::IsolationLevel::Serializable);
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--realtime" {
            analysis_options.realtime = true;
            i += 1;
            continue;
        }
        let Some(value) = args.get(i + 1).cloned() else {
            eprintln!("isola check: {flag} needs a value\n{CHECK_USAGE}");
            return ExitCode::from(2);
        };
        fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("isola check: {flag} needs a number, got {v}"))
        }
        let parsed: Result<(), String> = (|| {
            match flag {
                "--url" => urls = vec![value.clone()],
                "--urls" => {
                    urls = value
                        .split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(String::from)
                        .collect();
                    if urls.is_empty() {
                        return Err("isola check: --urls needs at least one URL".into());
                    }
                }
                "--read-consistency" => options.read_consistency = Some(value.clone()),
                "--isolation" => {
                    level =
                        Some(parse_level(&value).ok_or_else(|| {
                            format!("isola check: unknown isolation level {value}")
                        })?)
                }
                "--model" => {
                    model =
                        Some(parse_level(&value).ok_or_else(|| {
                            format!("isola check: unknown isolation level {value}")
                        })?)
                }
                "--workload" => {
                    options.workload = Workload::parse(&value)
                        .ok_or_else(|| format!("isola check: unknown workload {value}"))?
                }
                "--clients" => options.clients = number(flag, &value)?,
                "--txns" => options.txns = number(flag, &value)?,
                "--time-limit" => {
                    options.time_limit =
                        std::time::Duration::from_secs_f64(number::<f64>(flag, &value)?.max(0.0))
                }
                "--rate" => options.rate = number(flag, &value)?,
                "--keys" => options.keys = number(flag, &value)?,
                "--max-ops" => options.max_ops = number(flag, &value)?,
                "--writes-per-key" => options.writes_per_key = number(flag, &value)?,
                "--read-fraction" => options.read_fraction = number(flag, &value)?,
                "--disconnect-fraction" => options.disconnect_fraction = number(flag, &value)?,
                "--seed" => options.seed = number(flag, &value)?,
                "--table-prefix" => options.table_prefix = value.clone(),
                "--report" => report = Some(value.clone()),
                _ => return Err(format!("isola check: unknown option {flag}\n{CHECK_USAGE}")),
            }
            Ok(())
        })();
        if let Err(e) = parsed {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        i += 2;
    }
    let Some(level) = level else {
        eprintln!("isola check: --isolation is required\n{CHECK_USAGE}");
        return ExitCode::from(2);
    };
    options.urls = urls;
    options.level = level;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("isola check: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(isola::check::command::check(options, model, analysis_options));
    print!("{}", outcome.text);
    if let (Some(path), Some(html)) = (report, &outcome.html) {
        match std::fs::write(&path, html) {
            Ok(()) => println!("report written to {path}"),
            Err(e) => eprintln!("isola check: cannot write {path}: {e}"),
        }
    }
    ExitCode::from(outcome.status)
}
