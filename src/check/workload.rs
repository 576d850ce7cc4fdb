//! The workload driver: concurrent clients running random transactions over the PostgreSQL
//! wire protocol against any server, recording what they observe as a [`History`].
//!
//! Workloads: list-append (rows hold comma-separated lists; appends are upserts that concatenate,
//! reads return whole lists, some reads are range reads), read-write registers (read, or read
//! then write a unique value), and a bank (transfers between accounts; readers check the total).
//! Keys rotate: once a key has taken `writes_per_key` writes a fresh key replaces it, so lists
//! stay short and contention stays where `keys` puts it.
//!
//! Invariants: at most `txns` transactions and about `time_limit` of work; 40001 / 40P01 and
//! every other error end the transaction as aborted (counted); a COMMIT without an answer (the
//! connection lost), or answered with 08007 (a replica lost leadership before a majority held
//! the commit) or with an I/O error (class 58), is recorded as outcome unknown; a dropped
//! connection is re-opened (bounded); appended and written values are unique across the run.
//! The tables are dropped and re-created at the start.
//!
//! Several servers (`urls`, the members of a replicated group): client `i` starts on member
//! `i mod n`, and a client whose member fails (connection lost, or no connection within
//! [`CONNECT_TIMEOUT`]) moves on to the next member. Writes refused by a follower (25006) and
//! reads that waited too long for a replica (57014) are plain aborts: the transaction did not
//! happen. With `read_consistency`, every session runs `SET isola.read_consistency = LEVEL`
//! first, except the final read, which is always `linearizable` (it is the judge of which
//! acknowledged writes survived).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, NoTls, Statement};

use super::history::{Elem, History, Key, Op, Outcome, Txn};
use crate::IsolationLevel;
use crate::error::SqlState;

/// Which workload to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    ListAppend,
    Register,
    Bank,
}

impl Workload {
    pub fn parse(name: &str) -> Option<Workload> {
        match name {
            "list-append" | "append" => Some(Workload::ListAppend),
            "register" | "rw-register" => Some(Workload::Register),
            "bank" => Some(Workload::Bank),
            _ => None,
        }
    }
}

/// Parses an isolation level as written on a command line (`repeatable-read`, `serializable`, ...).
pub fn parse_level(name: &str) -> Option<IsolationLevel> {
    match name.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
        "read-uncommitted" | "ru" => Some(IsolationLevel::ReadUncommitted),
        "read-committed" | "rc" => Some(IsolationLevel::ReadCommitted),
        "repeatable-read" | "rr" | "snapshot" | "si" => Some(IsolationLevel::RepeatableRead),
        "serializable" | "ser" => Some(IsolationLevel::Serializable),
        _ => None,
    }
}

/// How long one attempt to connect (and prepare the statements) may take: a frozen server
/// accepts TCP connections and never answers.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a client keeps trying to connect, going round the members, before it gives up.
const RECONNECT_FOR: Duration = Duration::from_secs(15);

/// How to run.
#[derive(Clone, Debug)]
pub struct WorkloadOptions {
    /// Libpq-style URLs or key=value strings (`postgres://isola@127.0.0.1:5433/isola`), one per
    /// server (the members of a replicated group); at least one.
    pub urls: Vec<String>,
    /// `SET isola.read_consistency` to this in every session (`linearizable`, `causal`, ...);
    /// `None`: leave the server's default.
    pub read_consistency: Option<String>,
    pub level: IsolationLevel,
    pub workload: Workload,
    pub clients: usize,
    /// Transactions to run in total (aborted ones included).
    pub txns: usize,
    /// Stop starting transactions after this long.
    pub time_limit: Duration,
    /// Transactions started per second over all clients (0: as fast as they go): spreads a
    /// bounded run over a stretch of time, as a run under faults needs.
    pub rate: f64,
    /// Keys in play at any moment (fewer keys, more contention); accounts for the bank.
    pub keys: usize,
    /// Operations per transaction: 1 to this many.
    pub max_ops: usize,
    /// Writes a key takes before a fresh key replaces it.
    pub writes_per_key: usize,
    /// Share of operations that read.
    pub read_fraction: f64,
    /// Share of list-append reads that are range reads.
    pub range_read_fraction: f64,
    /// Share of transactions whose client drops its connection mid-transaction (a fault).
    pub disconnect_fraction: f64,
    pub seed: u64,
    /// Table names start with this.
    pub table_prefix: String,
}

impl WorkloadOptions {
    pub fn new(url: &str, level: IsolationLevel) -> WorkloadOptions {
        WorkloadOptions {
            urls: vec![url.to_string()],
            read_consistency: None,
            level,
            workload: Workload::ListAppend,
            clients: 8,
            txns: 2_000,
            time_limit: Duration::from_secs(60),
            rate: 0.0,
            keys: 8,
            max_ops: 4,
            writes_per_key: 32,
            read_fraction: 0.5,
            range_read_fraction: 0.1,
            disconnect_fraction: 0.0,
            seed: 1,
            table_prefix: "isola_check".to_string(),
        }
    }
}

/// What the bank workload saw.
#[derive(Clone, Debug, Default)]
pub struct BankOutcome {
    pub expected_total: i64,
    pub final_total: Option<i64>,
    pub reads: usize,
    /// Reads whose total was wrong (described), and whether the level forbids that.
    pub wrong_totals: Vec<String>,
    pub negative_balances: Vec<String>,
}

impl BankOutcome {
    /// Problems the level forbids: a wrong total in a read that the level makes consistent,
    /// an overdrawn account where first-updater-wins forbids it, a wrong final total anywhere.
    pub fn violations(&self, level: IsolationLevel) -> Vec<String> {
        let mut out = Vec::new();
        if self.final_total != Some(self.expected_total) {
            out.push(format!(
                "final total {:?}, expected {}",
                self.final_total, self.expected_total
            ));
        }
        if level >= IsolationLevel::ReadCommitted {
            out.extend(self.wrong_totals.iter().cloned());
        }
        if level >= IsolationLevel::RepeatableRead {
            out.extend(self.negative_balances.iter().cloned());
        }
        out
    }
}

/// A finished run.
#[derive(Debug, Default)]
pub struct RunResult {
    pub history: History,
    /// Aborts by 40001 (serialization failure) and 40P01 (deadlock).
    pub serialization_failures: usize,
    pub deadlocks: usize,
    /// Other errors by SQLSTATE (or "connection" for lost connections).
    pub other_errors: BTreeMap<String, usize>,
    /// An example message per error class.
    pub error_examples: BTreeMap<String, String>,
    pub elapsed: Duration,
    pub bank: Option<BankOutcome>,
}

/// One planned operation.
#[derive(Clone, Debug)]
enum Planned {
    Append(Key, Elem),
    Read(Key),
    ReadRange(Key, Key),
    Write(Key, Elem),
    ReadRegister(Key),
    Transfer { from: Key, to: Key, amount: i64 },
    ReadAllBalances,
}

/// The shared random source of transactions.
struct Generator {
    rng: StdRng,
    active: Vec<Key>,
    writes: BTreeMap<Key, usize>,
    next_key: Key,
    next_value: Elem,
    started: usize,
}

impl Generator {
    fn key(&mut self) -> Key {
        self.active[self.rng.gen_range(0..self.active.len())]
    }

    fn wrote(&mut self, key: Key, writes_per_key: usize) {
        let n = self.writes.entry(key).or_insert(0);
        *n += 1;
        if *n >= writes_per_key
            && let Some(slot) = self.active.iter().position(|k| *k == key)
        {
            self.active[slot] = self.next_key;
            self.next_key += 1;
        }
    }

    fn value(&mut self) -> Elem {
        self.next_value += 1;
        self.next_value
    }

    fn plan(&mut self, o: &WorkloadOptions) -> (Vec<Planned>, bool) {
        let disconnect = self.rng.gen_bool(o.disconnect_fraction.clamp(0.0, 1.0));
        if o.workload == Workload::Bank {
            if self.rng.gen_bool(o.read_fraction.clamp(0.0, 1.0)) {
                return (vec![Planned::ReadAllBalances], disconnect);
            }
            let from = self.rng.gen_range(0..o.keys as Key);
            let mut to = self.rng.gen_range(0..o.keys as Key - 1);
            if to >= from {
                to += 1;
            }
            let amount = self.rng.gen_range(1..=5);
            return (vec![Planned::Transfer { from, to, amount }], disconnect);
        }
        let n = self.rng.gen_range(1..=o.max_ops.max(1));
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.key();
            let read = self.rng.gen_bool(o.read_fraction.clamp(0.0, 1.0));
            match (o.workload, read) {
                (Workload::ListAppend, true) => {
                    if self.rng.gen_bool(o.range_read_fraction.clamp(0.0, 1.0)) {
                        ops.push(Planned::ReadRange(key, key + 3));
                    } else {
                        ops.push(Planned::Read(key));
                    }
                }
                (Workload::ListAppend, false) => {
                    let v = self.value();
                    ops.push(Planned::Append(key, v));
                    self.wrote(key, o.writes_per_key);
                }
                (_, true) => ops.push(Planned::ReadRegister(key)),
                (_, false) => {
                    let v = self.value();
                    ops.push(Planned::ReadRegister(key));
                    ops.push(Planned::Write(key, v));
                    self.wrote(key, o.writes_per_key);
                }
            }
        }
        (ops, disconnect)
    }
}

struct Shared {
    options: WorkloadOptions,
    generator: Mutex<Generator>,
    txns: Mutex<Vec<Txn>>,
    result: Mutex<RunResult>,
    bank: Mutex<BankOutcome>,
    started: Instant,
    deadline: Instant,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// The next transaction to run (and whether to drop the connection midway), and when to
    /// start it (with a rate); `None` once the run is over.
    fn next(&self) -> Option<(Vec<Planned>, bool, Instant)> {
        if Instant::now() >= self.deadline {
            return None;
        }
        let mut g = self.generator.lock();
        if g.started >= self.options.txns {
            return None;
        }
        let at = start_at(self.started, g.started, self.options.rate);
        g.started += 1;
        let (plan, disconnect) = g.plan(&self.options);
        Some((plan, disconnect, at))
    }

    fn count_error(&self, e: &tokio_postgres::Error) {
        let mut r = self.result.lock();
        let class = match e.code() {
            Some(c) if c.code() == SqlState::SerializationFailure.code() => {
                r.serialization_failures += 1;
                SqlState::SerializationFailure.to_string()
            }
            Some(c) if c.code() == SqlState::DeadlockDetected.code() => {
                r.deadlocks += 1;
                SqlState::DeadlockDetected.to_string()
            }
            Some(c) => {
                *r.other_errors.entry(c.code().to_string()).or_insert(0) += 1;
                c.code().to_string()
            }
            None => {
                *r.other_errors.entry("connection".into()).or_insert(0) += 1;
                "connection".to_string()
            }
        };
        r.error_examples.entry(class).or_insert_with(|| describe(e));
    }
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// When the `n`th transaction (from 0) starts at `rate` per second after `started`.
fn start_at(started: Instant, n: usize, rate: f64) -> Instant {
    if rate > 0.0 { started + Duration::from_secs_f64(n as f64 / rate) } else { started }
}

/// The statements one connection uses, prepared once.
struct Prepared {
    append: Statement,
    read: Statement,
    read_range: Statement,
    write: Statement,
    read_register: Statement,
    read_balance: Statement,
    debit: Statement,
    credit: Statement,
    read_balances: Statement,
}

fn tables(prefix: &str) -> (String, String, String) {
    (format!("{prefix}_append"), format!("{prefix}_register"), format!("{prefix}_bank"))
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The statement that sets a session's read consistency.
fn set_read_consistency(level: &str) -> String {
    format!("SET isola.read_consistency = '{}'", level.replace('\'', "''"))
}

/// One attempt, bounded by [`CONNECT_TIMEOUT`]: connects to `url`, sets the read consistency
/// and prepares the statements.
async fn open(
    url: &str,
    read_consistency: Option<&str>,
    prefix: &str,
) -> Result<(Client, Prepared), String> {
    let attempt = async {
        let client = connect(url).await.map_err(|e| e.to_string())?;
        if let Some(level) = read_consistency {
            client.batch_execute(&set_read_consistency(level)).await.map_err(|e| describe(&e))?;
        }
        let prepared = prepare(&client, prefix).await.map_err(|e| describe(&e))?;
        Ok((client, prepared))
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

async fn prepare(client: &Client, prefix: &str) -> Result<Prepared, tokio_postgres::Error> {
    let (append, register, bank) = tables(prefix);
    Ok(Prepared {
        append: client
            .prepare(&format!(
                "INSERT INTO {append} AS t (k, v) VALUES ($1, $2) \
                 ON CONFLICT (k) DO UPDATE SET v = t.v || ',' || excluded.v"
            ))
            .await?,
        read: client.prepare(&format!("SELECT v FROM {append} WHERE k = $1")).await?,
        read_range: client
            .prepare(&format!("SELECT k, v FROM {append} WHERE k >= $1 AND k <= $2"))
            .await?,
        write: client
            .prepare(&format!(
                "INSERT INTO {register} AS t (k, v) VALUES ($1, $2) \
                 ON CONFLICT (k) DO UPDATE SET v = excluded.v"
            ))
            .await?,
        read_register: client.prepare(&format!("SELECT v FROM {register} WHERE k = $1")).await?,
        read_balance: client.prepare(&format!("SELECT balance FROM {bank} WHERE id = $1")).await?,
        debit: client
            .prepare(&format!("UPDATE {bank} SET balance = balance - $2 WHERE id = $1"))
            .await?,
        credit: client
            .prepare(&format!("UPDATE {bank} SET balance = balance + $2 WHERE id = $1"))
            .await?,
        read_balances: client
            .prepare(&format!("SELECT id, balance FROM {bank} ORDER BY id"))
            .await?,
    })
}

fn parse_list(text: &str) -> Vec<Elem> {
    text.split(',').filter(|s| !s.is_empty()).filter_map(|s| s.trim().parse().ok()).collect()
}

/// Creates the tables (dropping any left by an earlier run), on the first member that takes
/// the writes (a replicated group's leader), going round the members for up to 30 s.
///
/// One transaction: a member that lags (read at `eventual` or `bounded_staleness`) must never
/// show the bank's table without its opening balances, a state whose total is wrong (isola
/// commits each statement of a multi-statement string on its own, unlike PostgreSQL's implicit
/// transaction). Found by `isola check` on five members at read committed, `eventual`: balance
/// reads that saw total 0.
async fn setup(options: &WorkloadOptions) -> Result<(), String> {
    let (append, register, bank) = tables(&options.table_prefix);
    let mut sql = format!(
        "BEGIN;\
         DROP TABLE IF EXISTS {append}; DROP TABLE IF EXISTS {register}; DROP TABLE IF EXISTS {bank};\
         CREATE TABLE {append} (k bigint PRIMARY KEY, v text NOT NULL);\
         CREATE TABLE {register} (k bigint PRIMARY KEY, v bigint NOT NULL);\
         CREATE TABLE {bank} (id bigint PRIMARY KEY, balance bigint NOT NULL);"
    );
    if options.workload == Workload::Bank {
        let rows: Vec<String> = (0..options.keys).map(|i| format!("({i}, 100)")).collect();
        sql.push_str(&format!("INSERT INTO {bank} VALUES {};", rows.join(", ")));
    }
    sql.push_str("COMMIT;");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    for member in 0.. {
        let url = &options.urls[member % options.urls.len()];
        let attempt = async {
            let client = connect(url).await.map_err(|e| format!("connecting: {e}"))?;
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("creating the tables: {}", describe(&e)))
        };
        last = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => format!("connecting: no answer within {CONNECT_TIMEOUT:?}"),
        };
        if options.urls.len() == 1 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

/// Runs the workload and returns what the clients observed.
pub async fn run(options: WorkloadOptions) -> Result<RunResult, String> {
    if options.clients == 0 || options.keys < 2 {
        return Err("need at least one client and two keys".into());
    }
    if options.urls.is_empty() {
        return Err("need at least one server URL".into());
    }
    setup(&options).await?;
    let started = Instant::now();
    let generator = Generator {
        rng: StdRng::seed_from_u64(options.seed),
        active: (0..options.keys as Key).collect(),
        writes: BTreeMap::new(),
        next_key: options.keys as Key,
        next_value: 0,
        started: 0,
    };
    let shared = Arc::new(Shared {
        deadline: started + options.time_limit,
        generator: Mutex::new(generator),
        txns: Mutex::new(Vec::new()),
        result: Mutex::new(RunResult::default()),
        bank: Mutex::new(BankOutcome {
            expected_total: 100 * options.keys as i64,
            ..BankOutcome::default()
        }),
        options,
        started,
    });
    let mut tasks = Vec::new();
    for client in 0..shared.options.clients {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move { client_loop(shared, client).await }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("client task failed: {e}")),
        }
    }
    if failures.len() == shared.options.clients {
        return Err(format!("no client could run: {}", failures[0]));
    }
    final_read(&shared).await?;
    let mut txns = std::mem::take(&mut *shared.txns.lock());
    txns.sort_by_key(|t| (t.start_us, t.client));
    for (i, t) in txns.iter_mut().enumerate() {
        t.id = i;
    }
    let mut result = std::mem::take(&mut *shared.result.lock());
    result.history = History { txns };
    result.elapsed = started.elapsed();
    if shared.options.workload == Workload::Bank {
        result.bank = Some(shared.bank.lock().clone());
    }
    Ok(result)
}

/// Reads everything once the clients are done, as one more (committed) transaction, going round
/// the members for up to 30 s (a replicated group may still be electing).
async fn final_read(shared: &Shared) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut member = 0;
    loop {
        let last = match final_read_once(shared, &mut member).await {
            Ok(()) => return Ok(()),
            Err(e) => format!("final read: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        member += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn final_read_once(shared: &Shared, member: &mut usize) -> Result<(), String> {
    let o = &shared.options;
    let consistency = o.read_consistency.as_ref().map(|_| "linearizable");
    let (client, _) = reconnect(shared, member, consistency).await?;
    let (append, register, bank) = tables(&o.table_prefix);
    let start_us = shared.now_us();
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(|e| describe(&e))?;
    let mut ops = Vec::new();
    let mut total = None;
    match o.workload {
        Workload::ListAppend => {
            let rows = client
                .query(&format!("SELECT k, v FROM {append} ORDER BY k"), &[])
                .await
                .map_err(|e| describe(&e))?;
            let rows = rows.iter().map(|r| (r.get::<_, i64>(0), parse_list(r.get(1)))).collect();
            ops.push(Op::ReadRange { lo: Key::MIN, hi: Key::MAX, rows });
        }
        Workload::Register => {
            let rows = client
                .query(&format!("SELECT k, v FROM {register} ORDER BY k"), &[])
                .await
                .map_err(|e| describe(&e))?;
            for r in rows {
                ops.push(Op::ReadRegister { key: r.get(0), value: Some(r.get(1)) });
            }
        }
        Workload::Bank => {
            let rows = client
                .query(&format!("SELECT balance FROM {bank}"), &[])
                .await
                .map_err(|e| describe(&e))?;
            total = Some(rows.iter().map(|r| r.get::<_, i64>(0)).sum());
        }
    }
    client.batch_execute("COMMIT").await.map_err(|e| describe(&e))?;
    if o.workload == Workload::Bank {
        shared.bank.lock().final_total = total;
    } else {
        shared.txns.lock().push(Txn {
            id: 0,
            client: o.clients,
            ops,
            outcome: Outcome::Committed,
            start_us,
            end_us: shared.now_us(),
            error: None,
        });
    }
    Ok(())
}

/// Connects, starting at `member` and going round the members (each attempt bounded by
/// [`CONNECT_TIMEOUT`]) for up to [`RECONNECT_FOR`] (a server may be restarting after a crash,
/// or frozen); `member` is left at the one that answered.
async fn reconnect(
    shared: &Shared,
    member: &mut usize,
    read_consistency: Option<&str>,
) -> Result<(Client, Prepared), String> {
    let urls = &shared.options.urls;
    let deadline = Instant::now() + RECONNECT_FOR;
    loop {
        let url = &urls[*member % urls.len()];
        let last = match open(url, read_consistency, &shared.options.table_prefix).await {
            Ok(opened) => return Ok(opened),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(format!("could not connect: {last}"));
        }
        *member = next_member(*member, urls.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The member after `member`, round the `n` members.
fn next_member(member: usize, n: usize) -> usize {
    (member + 1) % n.max(1)
}

/// What a failed COMMIT says about its transaction, from the error's SQLSTATE (`None`: the
/// connection was lost, no answer came): unknown without an answer, with 08007 (a replica lost
/// leadership before a majority held the commit: it may survive) and with a system error of
/// class 58 (an I/O error while the commit was being made durable: PostgreSQL cannot say
/// either); any other error (40001, 40P01, 25006, 57014, ...) means it did not commit.
pub fn commit_outcome(code: Option<&str>) -> Outcome {
    match code {
        None => Outcome::Unknown,
        Some(c) if c == SqlState::TransactionResolutionUnknown.code() => Outcome::Unknown,
        Some(c) if c.starts_with("58") => Outcome::Unknown,
        Some(_) => Outcome::Aborted,
    }
}

enum Ended {
    /// A statement failed: the transaction is over (rolled back).
    Failed(tokio_postgres::Error),
    /// The client dropped its connection on purpose.
    Disconnected,
}

async fn client_loop(shared: Arc<Shared>, client_id: usize) -> Result<(), String> {
    let read_consistency = shared.options.read_consistency.clone();
    let read_consistency = read_consistency.as_deref();
    let mut member = client_id % shared.options.urls.len();
    let mut conn = Some(reconnect(&shared, &mut member, read_consistency).await?);
    let begin = format!("BEGIN ISOLATION LEVEL {}", shared.options.level.sql().to_uppercase());
    while let Some((plan, disconnect, at)) = shared.next() {
        tokio::time::sleep_until(at.into()).await;
        if conn.is_none() {
            conn = Some(reconnect(&shared, &mut member, read_consistency).await?);
        }
        let (client, prepared) = conn.as_ref().expect("connected");
        let start_us = shared.now_us();
        let mut ops = Vec::new();
        let cut = if disconnect { plan.len() / 2 } else { usize::MAX };
        let body = async {
            client.batch_execute(&begin).await.map_err(Ended::Failed)?;
            for (i, step) in plan.iter().enumerate() {
                if i == cut {
                    return Err(Ended::Disconnected);
                }
                execute(&shared, client, prepared, step, &mut ops).await.map_err(Ended::Failed)?;
            }
            if disconnect {
                return Err(Ended::Disconnected);
            }
            Ok(())
        };
        let (outcome, error) = match body.await {
            Ok(()) => match client.batch_execute("COMMIT").await {
                Ok(()) => (Outcome::Committed, None),
                Err(e) => {
                    shared.count_error(&e);
                    if e.code().is_none() {
                        conn = None; // the member failed: on to the next one
                        member = next_member(member, shared.options.urls.len());
                    }
                    (commit_outcome(e.code().map(|c| c.code())), Some(describe(&e)))
                }
            },
            Err(Ended::Failed(e)) => {
                shared.count_error(&e);
                if e.code().is_some() {
                    let _ = client.batch_execute("ROLLBACK").await;
                } else {
                    conn = None;
                    member = next_member(member, shared.options.urls.len());
                }
                (Outcome::Aborted, Some(describe(&e)))
            }
            Err(Ended::Disconnected) => {
                conn = None; // dropping the client closes the connection mid-transaction
                (Outcome::Aborted, Some("client disconnected mid-transaction (fault)".into()))
            }
        };
        shared.txns.lock().push(Txn {
            id: 0,
            client: client_id,
            ops,
            outcome,
            start_us,
            end_us: shared.now_us(),
            error,
        });
    }
    Ok(())
}

async fn execute(
    shared: &Shared,
    client: &Client,
    p: &Prepared,
    step: &Planned,
    ops: &mut Vec<Op>,
) -> Result<(), tokio_postgres::Error> {
    match *step {
        Planned::Append(key, value) => {
            client.execute(&p.append, &[&key, &value.to_string()]).await?;
            ops.push(Op::Append { key, value });
        }
        Planned::Read(key) => {
            let rows = client.query(&p.read, &[&key]).await?;
            let value = rows.first().map(|r| parse_list(r.get(0))).unwrap_or_default();
            ops.push(Op::Read { key, value });
        }
        Planned::ReadRange(lo, hi) => {
            let rows = client.query(&p.read_range, &[&lo, &hi]).await?;
            let rows = rows.iter().map(|r| (r.get::<_, i64>(0), parse_list(r.get(1)))).collect();
            ops.push(Op::ReadRange { lo, hi, rows });
        }
        Planned::Write(key, value) => {
            client.execute(&p.write, &[&key, &value]).await?;
            ops.push(Op::Write { key, value });
        }
        Planned::ReadRegister(key) => {
            let rows = client.query(&p.read_register, &[&key]).await?;
            ops.push(Op::ReadRegister { key, value: rows.first().map(|r| r.get(0)) });
        }
        Planned::Transfer { from, to, amount } => {
            let rows = client.query(&p.read_balance, &[&from]).await?;
            let balance: i64 = rows.first().map_or(0, |r| r.get(0));
            if balance >= amount {
                client.execute(&p.debit, &[&from, &amount]).await?;
                client.execute(&p.credit, &[&to, &amount]).await?;
            }
        }
        Planned::ReadAllBalances => {
            let level = shared.options.level;
            let balances: Vec<(i64, i64)> = if level >= IsolationLevel::RepeatableRead {
                // One statement per account: only a transaction snapshot makes them agree.
                let mut out = Vec::new();
                for id in 0..shared.options.keys as i64 {
                    let rows = client.query(&p.read_balance, &[&id]).await?;
                    out.push((id, rows.first().map_or(0, |r| r.get(0))));
                }
                out
            } else {
                let rows = client.query(&p.read_balances, &[]).await?;
                rows.iter().map(|r| (r.get(0), r.get(1))).collect()
            };
            let total: i64 = balances.iter().map(|b| b.1).sum();
            let mut bank = shared.bank.lock();
            bank.reads += 1;
            if total != bank.expected_total {
                let what = format!(
                    "a read saw total {total}, expected {}: {balances:?}",
                    bank.expected_total
                );
                bank.wrong_totals.push(what);
            }
            if let Some((id, b)) = balances.iter().find(|b| b.1 < 0) {
                let what = format!("account {id} has balance {b}");
                bank.negative_balances.push(what);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_without_an_answer_or_with_08007_is_unknown() {
        assert_eq!(commit_outcome(None), Outcome::Unknown);
        assert_eq!(commit_outcome(Some("08007")), Outcome::Unknown);
        assert_eq!(commit_outcome(Some("58030")), Outcome::Unknown);
        for certain in ["40001", "40P01", "25006", "57014", "23505"] {
            assert_eq!(commit_outcome(Some(certain)), Outcome::Aborted, "{certain}");
        }
    }

    #[test]
    fn clients_go_round_the_members() {
        assert_eq!(next_member(0, 3), 1);
        assert_eq!(next_member(2, 3), 0);
        assert_eq!(next_member(0, 1), 0);
        let o = WorkloadOptions::new("postgres://a", IsolationLevel::Serializable);
        assert_eq!(o.urls, vec!["postgres://a".to_string()]);
        assert_eq!(o.read_consistency, None);
    }

    #[test]
    fn a_rate_spreads_the_starts() {
        let t0 = Instant::now();
        assert_eq!(start_at(t0, 7, 0.0), t0);
        assert_eq!(start_at(t0, 0, 20.0), t0);
        assert_eq!(start_at(t0, 30, 20.0), t0 + Duration::from_millis(1_500));
    }

    #[test]
    fn the_read_consistency_is_quoted() {
        assert_eq!(set_read_consistency("causal"), "SET isola.read_consistency = 'causal'");
        assert_eq!(set_read_consistency("a'b"), "SET isola.read_consistency = 'a''b'");
    }
}
