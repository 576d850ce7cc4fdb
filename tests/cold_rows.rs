//! Rows colder than memory, end to end: `isola serve --memory-limit 8MB` on a real data
//! directory keeps recent changes in an in-memory delta over an on-disk base (`base.redb`,
//! written by checkpoints); committed, old rows that are in the base leave memory and are read
//! back on demand. Over the wire, with tables several times bigger than the limit, the server
//! must behave exactly as an in-memory database:
//!
//! - `randomized_rows_match_a_model_across_restarts_with_a_tiny_memory_limit`: random inserts
//!   (duplicate keys and values of a UNIQUE column refused with 23505 exactly when a model says
//!   they are taken, also by rows only on disk), updates and deletes by key and by range, point,
//!   range, index and unique-index reads, aggregates, rolled-back transactions and savepoints,
//!   all against a `BTreeMap` model; after each round, sometimes a SIGKILL and a restart, then
//!   the whole table and its aggregates compared with the model.
//! - `a_snapshot_taken_before_rows_go_cold_still_sees_them`: a REPEATABLE READ snapshot keeps
//!   seeing the old rows (by key, by range, through an index, by count) while another session
//!   rewrites, deletes and inserts thousands of rows and checkpoints evict them; then, on rows
//!   only on disk after a restart, concurrent writers wait for each other as they would in memory
//!   (Read Committed applies on top, Repeatable Read fails with 40001, a unique value freed by
//!   a concurrent transaction is taken or refused by how it ends).
//! - `sigkill_while_cold_rows_are_written_and_read_loses_nothing`: three clients update, insert
//!   and delete rows of a table bigger than the limit (checkpoints write the base, reads fault
//!   rows back), checking their own reads as they go; SIGKILLs at random moments; after each
//!   restart every acknowledged commit is present, the one commit in flight per client is
//!   wholly there or wholly absent, and the row count agrees.
//!
//! Randomness comes from one seed per test: `ISOLA_COLD_SEED=N` replays it (printed at the
//! start with `-- --nocapture`, and named in every failure; a seed fixes the choices, not the
//! machine's timing). Longer runs: `ISOLA_COLD_ROWS` (rows loaded, default 80,000 / 60,000),
//! `ISOLA_COLD_ROUNDS` (default 6), `ISOLA_COLD_STEPS` (steps per round, default 300),
//! `ISOLA_COLD_KILLS` (default 3); `ISOLA_COLD_MEMORY_LIMIT` (default 8MB) for another limit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::distributions::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

mod common;

/// The server's memory limit: a small fraction of every table here. `ISOLA_COLD_MEMORY_LIMIT`
/// sets another (then size the tables to match with `ISOLA_COLD_ROWS`).
fn memory_limit() -> String {
    std::env::var("ISOLA_COLD_MEMORY_LIMIT").unwrap_or_else(|_| "8MB".to_string())
}

/// How long a test waits for interval checkpoints (`--checkpoint-interval 1`) to write rows to
/// the base and evict them: a few intervals. Correctness does not depend on it, only coverage.
const CHECKPOINTS_RUN: Duration = Duration::from_millis(2500);

/// How long one statement may take before the test calls the server hung: a liveness bound,
/// not a speed one.
const HANG: Duration = Duration::from_secs(60);

/// Distinct values of `g` (the secondary index's column).
const G_VALUES: i32 = 500;

// ---------------------------------------------------------------------------------------------
// Servers, seeds, sizes

/// `isola serve --memory-limit 8MB --checkpoint-interval 1` on a data directory (see
/// [`memory_limit`]), killed when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    /// Starts it on a port the kernel picks; returns once it listens (recovery done).
    fn start(dir: &Path) -> Server {
        let (child, port) = common::spawn_server([
            "--data",
            dir.to_str().unwrap(),
            "--memory-limit",
            memory_limit().as_str(),
            "--checkpoint-interval",
            "1",
        ]);
        Server { child, port, dir: dir.to_path_buf() }
    }

    async fn connect(&mut self) -> Client {
        common::connect_when_up(self.port, &mut self.child).await
    }

    /// SIGKILL, no goodbye, then a new process on the same directory.
    fn kill_and_restart(&mut self) {
        self.kill();
        *self = Server::start(&self.dir.clone());
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping");
    }

    /// Prints (never asserts) the server's resident memory and the base's size.
    fn report(&self, when: &str) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()));
        let rss = status.ok().and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l[6..].trim().to_string())
        });
        eprintln!(
            "{when}: server resident memory {}, base.redb {} bytes",
            rss.as_deref().unwrap_or("unknown"),
            base_size(&self.dir)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The size of `DIR/base.redb`, 0 when it does not exist (yet).
fn base_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("base.redb")).map_or(0, |m| m.len())
}

/// Waits (bounded) until the base holds at least `bytes`: the rows loaded must reach it through
/// checkpoints, since they cannot all stay in memory.
async fn wait_for_base(dir: &Path, bytes: u64, ctx: &str) {
    for _ in 0..1200 {
        if base_size(dir) >= bytes {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{ctx}: {} holds {} bytes after 60 s, expected at least {bytes}: no checkpoint wrote \
         the loaded rows to the base",
        dir.join("base.redb").display(),
        base_size(dir)
    );
}

/// The seed of a test's randomness: `ISOLA_COLD_SEED` if set, else random; printed.
fn seed(test: &str) -> u64 {
    let seed = match std::env::var("ISOLA_COLD_SEED") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("ISOLA_COLD_SEED={v}: not a u64")),
        Err(_) => rand::random(),
    };
    eprintln!("{test}: ISOLA_COLD_SEED={seed}");
    seed
}

/// Names the seed on stderr when the test panics, wherever the panic came from.
struct SeedOnFailure(u64);

impl Drop for SeedOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("cold rows test failed with ISOLA_COLD_SEED={}", self.0);
        }
    }
}

/// A count from the environment, or `default`.
fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v}: not a count")),
        Err(_) => default,
    }
}

/// `fut`, or a panic naming `ctx` if it takes longer than [`HANG`].
async fn bounded<T>(ctx: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(HANG, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{ctx}: no answer within {HANG:?}"),
    }
}

/// An error with its SQLSTATE and detail, for failure messages.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let detail = db.detail().map(|d| format!(" (DETAIL: {d})")).unwrap_or_default();
            format!("{} {}{detail}", db.code().code(), db.message())
        }
        None => format!("{e} (no SQLSTATE)"),
    }
}

/// Runs statements that must succeed.
async fn batch(client: &Client, sql: &str, ctx: &str) {
    if let Err(e) = bounded(ctx, client.batch_execute(sql)).await {
        panic!("{ctx}: {sql}: {}", describe(&e));
    }
}

/// A random alphanumeric string of a length in `len` (safe inside a SQL literal).
fn text(rng: &mut StdRng, len: std::ops::Range<usize>) -> String {
    let n = rng.gen_range(len);
    rng.sample_iter(Alphanumeric).take(n).map(char::from).collect()
}

async fn backend_pid(client: &Client) -> i32 {
    bounded("pg_backend_pid", client.query_one("SELECT pg_backend_pid()", &[]))
        .await
        .unwrap()
        .get(0)
}

/// Waits (bounded) until session `pid` waits for a lock, as the server itself reports it.
async fn until_waiting(observer: &Client, pid: i32, ctx: &str) {
    let sql = "SELECT waiting FROM isola_stat_activity WHERE pid = $1";
    for _ in 0..2000 {
        let row = bounded(ctx, observer.query_one(sql, &[&pid])).await;
        if row.unwrap_or_else(|e| panic!("{ctx}: {}", describe(&e))).get::<_, bool>(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{ctx}: session {pid} never waited for the row");
}

// ---------------------------------------------------------------------------------------------
// The model of `kv (k int PRIMARY KEY, v text NOT NULL, g int NOT NULL, u int UNIQUE)`

#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    v: String,
    g: i32,
    u: Option<i32>,
}

/// What `kv` must hold: acknowledged commits, plus the open transaction's own writes (undone
/// by its rollback or a rollback to a savepoint).
#[derive(Clone, Default)]
struct Model {
    rows: BTreeMap<i32, Row>,
    /// The UNIQUE column: value → key.
    by_u: HashMap<i32, i32>,
    /// While a transaction is open: each write's key and what the key held before.
    undo: Option<Vec<(i32, Option<Row>)>>,
}

impl Model {
    /// Sets `k` to `row` (None: absent), keeping `by_u`; returns what it held.
    fn set(&mut self, k: i32, row: Option<Row>) -> Option<Row> {
        let old = self.rows.remove(&k);
        if let Some(u) = old.as_ref().and_then(|r| r.u) {
            self.by_u.remove(&u);
        }
        if let Some(row) = row {
            if let Some(u) = row.u {
                self.by_u.insert(u, k);
            }
            self.rows.insert(k, row);
        }
        old
    }

    /// A write of the current transaction (or an autocommit one).
    fn write(&mut self, k: i32, row: Option<Row>) {
        let old = self.set(k, row);
        if let Some(undo) = &mut self.undo {
            undo.push((k, old));
        }
    }

    fn begin(&mut self) {
        assert!(self.undo.is_none(), "the model's transaction is already open");
        self.undo = Some(Vec::new());
    }

    /// Where a savepoint stands in the open transaction.
    fn mark(&self) -> usize {
        self.undo.as_ref().map_or(0, Vec::len)
    }

    /// Undoes the open transaction's writes after `mark`.
    fn undo_to(&mut self, mark: usize) {
        let mut undo = self.undo.take().expect("an open transaction");
        while undo.len() > mark {
            let (k, old) = undo.pop().unwrap();
            self.set(k, old);
        }
        self.undo = Some(undo);
    }

    fn commit(&mut self) {
        self.undo = None;
    }

    fn rollback(&mut self) {
        self.undo_to(0);
        self.undo = None;
    }

    /// Whether `u` may be held by row `k` (NULLs never collide).
    fn u_free_for(&self, u: Option<i32>, k: i32) -> bool {
        u.is_none_or(|u| self.by_u.get(&u).is_none_or(|&holder| holder == k))
    }

    /// Whether one INSERT of `rows` succeeds: no key or unique value taken, none twice.
    fn insertable(&self, rows: &[(i32, Row)]) -> bool {
        let (mut keys, mut us) = (HashSet::new(), HashSet::new());
        rows.iter().all(|(k, r)| {
            !self.rows.contains_key(k)
                && keys.insert(*k)
                && r.u.is_none_or(|u| !self.by_u.contains_key(&u) && us.insert(u))
        })
    }

    fn range(&self, lo: i32, hi: i32) -> Vec<(i32, Row)> {
        if lo > hi {
            return Vec::new();
        }
        self.rows.range(lo..=hi).map(|(k, r)| (*k, r.clone())).collect()
    }

    fn all(&self) -> Vec<(i32, Row)> {
        self.rows.iter().map(|(k, r)| (*k, r.clone())).collect()
    }

    /// count(*), count(u), sum(g), min(k), max(k).
    fn aggregates(&self) -> (i64, i64, Option<i64>, Option<i32>, Option<i32>) {
        let n = self.rows.len() as i64;
        let sum = (n > 0).then(|| self.rows.values().map(|r| r.g as i64).sum());
        let min = self.rows.keys().next().copied();
        let max = self.rows.keys().next_back().copied();
        (n, self.by_u.len() as i64, sum, min, max)
    }
}

/// The key space and value ranges of one table.
#[derive(Clone, Copy)]
struct Shape {
    /// Rows loaded, keys `0..rows`.
    rows: i32,
    /// Keys drawn from `0..key_space`: some beyond the loaded ones, to insert.
    key_space: i32,
    /// Values of `u` drawn from `0..u_values`; half of them are taken after loading.
    u_values: i32,
}

impl Shape {
    fn new(rows: usize) -> Shape {
        let rows = i32::try_from(rows.max(100)).expect("ISOLA_COLD_ROWS fits an int");
        Shape { rows, key_space: rows + rows / 8, u_values: rows / 10 }
    }

    fn random_row(&self, rng: &mut StdRng) -> Row {
        let u = rng.gen_bool(0.6).then(|| rng.gen_range(0..self.u_values));
        Row { v: text(rng, 100..200), g: rng.gen_range(0..G_VALUES), u }
    }

    /// A key the model does not hold (or, rarely, a random one).
    fn free_key(&self, rng: &mut StdRng, model: &Model) -> i32 {
        let mut k = rng.gen_range(0..self.key_space);
        for _ in 0..20 {
            if !model.rows.contains_key(&k) {
                break;
            }
            k = rng.gen_range(0..self.key_space);
        }
        k
    }
}

/// `CREATE TABLE kv` with its indexes: the primary key, a UNIQUE column and an index on `g`.
async fn create_kv(client: &Client, ctx: &str) {
    batch(
        client,
        "CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL, g int NOT NULL, u int UNIQUE);
         CREATE INDEX kv_g ON kv (g);",
        ctx,
    )
    .await;
}

/// Loads keys `0..shape.rows` in multi-row INSERTs of 1,000: random 100-199-byte texts, random
/// `g`, and `u = k / 20` for every 20th key (half the values of `u`).
async fn load_kv(client: &Client, rng: &mut StdRng, shape: &Shape, ctx: &str) -> Model {
    let mut model = Model::default();
    let mut k = 0;
    while k < shape.rows {
        let batch_rows: Vec<(i32, Row)> = (k..(k + 1000).min(shape.rows))
            .map(|k| {
                let u = (k % 20 == 0).then_some(k / 20);
                (k, Row { v: text(rng, 100..200), g: rng.gen_range(0..G_VALUES), u })
            })
            .collect();
        k += batch_rows.len() as i32;
        let op = Op::Insert(batch_rows);
        assert!(apply(client, &op, &mut model, ctx).await, "{ctx}: loading was refused");
    }
    model
}

fn insert_sql(rows: &[(i32, Row)]) -> String {
    let values: Vec<String> = rows
        .iter()
        .map(|(k, r)| {
            let u = r.u.map_or("NULL".to_string(), |u| u.to_string());
            format!("({k}, '{}', {}, {u})", r.v, r.g)
        })
        .collect();
    format!("INSERT INTO kv (k, v, g, u) VALUES {}", values.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Operations, each checked against the model

#[derive(Clone, Debug)]
enum Op {
    Insert(Vec<(i32, Row)>),
    UpdateKey(i32, Row),
    /// `v = v || suffix, g = (g + dg) % G_VALUES` for `k BETWEEN lo AND hi`.
    UpdateRange {
        lo: i32,
        hi: i32,
        suffix: String,
        dg: i32,
    },
    ClearU {
        lo: i32,
        hi: i32,
    },
    DeleteKey(i32),
    DeleteRange {
        lo: i32,
        hi: i32,
    },
    GetKey(i32),
    GetRange {
        lo: i32,
        hi: i32,
    },
    /// `k <= from ORDER BY k DESC LIMIT limit`.
    GetDesc {
        from: i32,
        limit: usize,
    },
    GetG(i32),
    GetU(i32),
    Count,
    Checkpoint,
}

/// One step of random work: usually one operation; two for the pairs that free a value or a
/// key and take it again (delete a holder of `u`, insert a new row with it; delete a key,
/// insert it again).
fn random_ops(rng: &mut StdRng, model: &Model, shape: &Shape, in_transaction: bool) -> Vec<Op> {
    let key = rng.gen_range(0..shape.key_space);
    let width = |rng: &mut StdRng, max: i32| rng.gen_range(0..=max);
    match rng.gen_range(0..100) {
        0..=13 => {
            let n = if rng.gen_bool(0.6) { 1 } else { rng.gen_range(2..=3) };
            let rows = (0..n)
                .map(|_| {
                    let k = if rng.gen_bool(0.5) {
                        rng.gen_range(0..shape.key_space)
                    } else {
                        shape.free_key(rng, model)
                    };
                    (k, shape.random_row(rng))
                })
                .collect();
            vec![Op::Insert(rows)]
        }
        14..=27 => vec![Op::UpdateKey(key, shape.random_row(rng))],
        28..=35 => {
            let (suffix, dg) = (text(rng, 1..3), rng.gen_range(1..G_VALUES));
            vec![Op::UpdateRange { lo: key, hi: key + width(rng, 300), suffix, dg }]
        }
        36..=37 => vec![Op::ClearU { lo: key, hi: key + width(rng, 50) }],
        38..=43 => vec![Op::DeleteKey(key)],
        44..=46 => vec![Op::DeleteRange { lo: key, hi: key + width(rng, 100) }],
        47..=50 => {
            let u = rng.gen_range(0..shape.u_values);
            match model.by_u.get(&u) {
                Some(&holder) => {
                    let row = Row { u: Some(u), ..shape.random_row(rng) };
                    vec![Op::DeleteKey(holder), Op::Insert(vec![(shape.free_key(rng, model), row)])]
                }
                None => vec![Op::GetU(u)],
            }
        }
        51..=53 => match model.rows.range(key..).next() {
            Some((&k, old)) => {
                let mut row = shape.random_row(rng);
                if rng.gen_bool(0.5) {
                    row.u = old.u;
                }
                vec![Op::DeleteKey(k), Op::Insert(vec![(k, row)])]
            }
            None => vec![Op::GetKey(key)],
        },
        54..=68 => vec![Op::GetKey(key)],
        69..=76 => vec![Op::GetRange { lo: key, hi: key + width(rng, 200) }],
        77..=79 => vec![Op::GetDesc { from: key, limit: rng.gen_range(1..100) }],
        80..=87 => vec![Op::GetG(rng.gen_range(0..G_VALUES))],
        88..=93 => vec![Op::GetU(rng.gen_range(0..shape.u_values))],
        94..=98 => vec![Op::Count],
        _ if in_transaction => vec![Op::Count],
        _ => vec![Op::Checkpoint],
    }
}

/// A write's outcome against the model's: `Some(n)` rows affected, or `None` for a refusal
/// with 23505.
fn expect_write(got: Result<u64, tokio_postgres::Error>, expected: Option<u64>, ctx: &str) {
    match (&got, expected) {
        (Ok(n), Some(m)) if *n == m => {}
        (Err(e), None) if common::code(e) == "23505" => {}
        _ => {
            let got = got.map_err(|e| describe(&e));
            let expected = match expected {
                Some(n) => format!("{n} rows affected"),
                None => "23505 (a key or unique value the model says is taken)".to_string(),
            };
            panic!("{ctx}: expected {expected}, got {got:?}");
        }
    }
}

/// `(k, v, g, u)` rows of a query.
async fn select(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    ctx: &str,
) -> Vec<(i32, Row)> {
    let rows = bounded(ctx, client.query(sql, params)).await;
    let rows = rows.unwrap_or_else(|e| panic!("{ctx}: {sql}: {}", describe(&e)));
    rows.iter().map(|r| (r.get(0), Row { v: r.get(1), g: r.get(2), u: r.get(3) })).collect()
}

/// Fails, naming the first difference, unless the rows read are the model's.
fn assert_rows(actual: &[(i32, Row)], expected: &[(i32, Row)], ctx: &str) {
    if actual == expected {
        return;
    }
    let at = actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()));
    panic!(
        "{ctx}: {} rows read, the model has {}; first difference at position {at}: read {:?}, \
         the model has {:?}",
        actual.len(),
        expected.len(),
        actual.get(at),
        expected.get(at)
    );
}

const COLUMNS: &str = "SELECT k, v, g, u FROM kv";

/// Runs `op` on `client` and checks it against `model`, which it updates with the writes that
/// succeed. False when the server refused it (23505) as the model said it must: inside a
/// transaction block, the transaction is then aborted.
async fn apply(client: &Client, op: &Op, model: &mut Model, ctx: &str) -> bool {
    let ctx = &format!("{ctx}: {op:?}");
    match op {
        Op::Insert(rows) => {
            let ok = model.insertable(rows);
            let got = bounded(ctx, client.execute(insert_sql(rows).as_str(), &[])).await;
            expect_write(got, ok.then_some(rows.len() as u64), ctx);
            if ok {
                rows.iter().for_each(|(k, r)| model.write(*k, Some(r.clone())));
            }
            ok
        }
        Op::UpdateKey(k, row) => {
            let expected = match model.rows.get(k) {
                None => Some(0),
                Some(_) if !model.u_free_for(row.u, *k) => None,
                Some(_) => Some(1),
            };
            let sql = "UPDATE kv SET v = $1, g = $2, u = $3 WHERE k = $4";
            let got = bounded(ctx, client.execute(sql, &[&row.v, &row.g, &row.u, k])).await;
            expect_write(got, expected, ctx);
            if expected == Some(1) {
                model.write(*k, Some(row.clone()));
            }
            expected.is_some()
        }
        Op::UpdateRange { lo, hi, suffix, dg } => {
            let sql = format!(
                "UPDATE kv SET v = v || '{suffix}', g = (g + {dg}) % {G_VALUES} \
                 WHERE k BETWEEN {lo} AND {hi}"
            );
            let rows = model.range(*lo, *hi);
            let got = bounded(ctx, client.execute(sql.as_str(), &[])).await;
            expect_write(got, Some(rows.len() as u64), ctx);
            for (k, mut r) in rows {
                r.v.push_str(suffix);
                r.g = (r.g + dg) % G_VALUES;
                model.write(k, Some(r));
            }
            true
        }
        Op::ClearU { lo, hi } => {
            let sql = format!("UPDATE kv SET u = NULL WHERE k BETWEEN {lo} AND {hi}");
            let rows = model.range(*lo, *hi);
            let got = bounded(ctx, client.execute(sql.as_str(), &[])).await;
            expect_write(got, Some(rows.len() as u64), ctx);
            rows.into_iter().for_each(|(k, r)| model.write(k, Some(Row { u: None, ..r })));
            true
        }
        Op::DeleteKey(k) => {
            let present = model.rows.contains_key(k);
            let got = bounded(ctx, client.execute("DELETE FROM kv WHERE k = $1", &[k])).await;
            expect_write(got, Some(present as u64), ctx);
            if present {
                model.write(*k, None);
            }
            true
        }
        Op::DeleteRange { lo, hi } => {
            let sql = format!("DELETE FROM kv WHERE k BETWEEN {lo} AND {hi}");
            let rows = model.range(*lo, *hi);
            let got = bounded(ctx, client.execute(sql.as_str(), &[])).await;
            expect_write(got, Some(rows.len() as u64), ctx);
            rows.into_iter().for_each(|(k, _)| model.write(k, None));
            true
        }
        Op::Checkpoint => {
            batch(client, "CHECKPOINT", ctx).await;
            true
        }
        read => {
            check_read(client, read, model, ctx).await;
            true
        }
    }
}

/// A read operation, checked against the model.
async fn check_read(client: &Client, op: &Op, model: &Model, ctx: &str) {
    let (actual, expected) = match op {
        Op::GetKey(k) => {
            let sql = format!("{COLUMNS} WHERE k = $1");
            (select(client, &sql, &[k], ctx).await, model.range(*k, *k))
        }
        Op::GetRange { lo, hi } => {
            let sql = format!("{COLUMNS} WHERE k BETWEEN $1 AND $2 ORDER BY k");
            (select(client, &sql, &[lo, hi], ctx).await, model.range(*lo, *hi))
        }
        Op::GetDesc { from, limit } => {
            let sql = format!("{COLUMNS} WHERE k <= $1 ORDER BY k DESC LIMIT {limit}");
            let expected =
                model.rows.range(..=from).rev().take(*limit).map(|(k, r)| (*k, r.clone()));
            (select(client, &sql, &[from], ctx).await, expected.collect())
        }
        Op::GetG(g) => {
            let sql = format!("{COLUMNS} WHERE g = $1 ORDER BY k");
            let expected = model.rows.iter().filter(|(_, r)| r.g == *g);
            (
                select(client, &sql, &[g], ctx).await,
                expected.map(|(k, r)| (*k, r.clone())).collect(),
            )
        }
        Op::GetU(u) => {
            let sql = format!("{COLUMNS} WHERE u = $1");
            let expected = model.by_u.get(u).map(|&k| model.range(k, k)).unwrap_or_default();
            (select(client, &sql, &[u], ctx).await, expected)
        }
        Op::Count => {
            let sql = "SELECT count(*), count(u), sum(g)::bigint, min(k), max(k) FROM kv";
            let row = bounded(ctx, client.query_one(sql, &[])).await;
            let row = row.unwrap_or_else(|e| panic!("{ctx}: {}", describe(&e)));
            let actual = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            assert_eq!(
                actual,
                model.aggregates(),
                "{ctx}: count(*), count(u), sum(g), min(k), max(k)"
            );
            return;
        }
        write => panic!("{ctx}: {write:?} is not a read"),
    };
    assert_rows(&actual, &expected, ctx);
}

/// The whole table, its aggregates and a few index lookups, against the model.
async fn check_table(client: &Client, model: &Model, shape: &Shape, rng: &mut StdRng, ctx: &str) {
    let ctx = &format!("{ctx}, the whole table");
    let sql = format!("{COLUMNS} ORDER BY k");
    assert_rows(&select(client, &sql, &[], ctx).await, &model.all(), ctx);
    check_read(client, &Op::Count, model, ctx).await;
    for _ in 0..5 {
        check_read(client, &Op::GetG(rng.gen_range(0..G_VALUES)), model, ctx).await;
        let u = rng.gen_range(0..shape.u_values);
        check_read(client, &Op::GetU(u), model, ctx).await;
    }
}

/// What a round did, for the summary and for checking that both outcomes of a write happened.
#[derive(Default)]
struct Stats {
    applied: usize,
    refused: usize,
    rolled_back: usize,
    savepoints: usize,
}

/// Runs one step's operations in autocommit; the model follows each.
async fn autocommit_step(
    client: &Client,
    rng: &mut StdRng,
    model: &mut Model,
    shape: &Shape,
    stats: &mut Stats,
    ctx: &str,
) {
    for op in random_ops(rng, model, shape, false) {
        if apply(client, &op, model, ctx).await {
            stats.applied += 1;
        } else {
            stats.refused += 1;
        }
    }
}

/// Runs up to `steps` random steps in the open transaction; false as soon as one is refused
/// (the transaction is then aborted).
async fn transaction_steps(
    client: &Client,
    rng: &mut StdRng,
    model: &mut Model,
    shape: &Shape,
    steps: usize,
    ctx: &str,
) -> bool {
    for _ in 0..steps {
        for op in random_ops(rng, model, shape, true) {
            if !apply(client, &op, model, ctx).await {
                return false;
            }
        }
    }
    true
}

/// BEGIN, a few steps (reads see the transaction's own writes), ROLLBACK: nothing changes.
async fn rolled_back_transaction(
    client: &Client,
    rng: &mut StdRng,
    model: &mut Model,
    shape: &Shape,
    ctx: &str,
) {
    let ctx = &format!("{ctx} (a transaction rolled back)");
    let level = if rng.gen_bool(0.5) { "REPEATABLE READ" } else { "READ COMMITTED" };
    batch(client, &format!("BEGIN ISOLATION LEVEL {level}"), ctx).await;
    model.begin();
    let steps = rng.gen_range(2..=6);
    transaction_steps(client, rng, model, shape, steps, ctx).await;
    let touched: Vec<i32> = model.undo.as_ref().unwrap().iter().map(|(k, _)| *k).take(20).collect();
    batch(client, "ROLLBACK", ctx).await;
    model.rollback();
    for k in touched {
        check_read(client, &Op::GetKey(k), model, &format!("{ctx}, after ROLLBACK")).await;
    }
}

/// BEGIN, steps, SAVEPOINT, steps, ROLLBACK TO SAVEPOINT, steps, COMMIT: the middle steps are
/// undone, the others commit (unless a refusal aborts the transaction: then all are undone).
async fn savepoint_transaction(
    client: &Client,
    rng: &mut StdRng,
    model: &mut Model,
    shape: &Shape,
    ctx: &str,
) {
    let ctx = &format!("{ctx} (a transaction with a savepoint rolled back)");
    let [before, undone, after] =
        [rng.gen_range(1..=3), rng.gen_range(1..=4), rng.gen_range(1..=3)];
    batch(client, "BEGIN", ctx).await;
    model.begin();
    let commit = 'transaction: {
        if !transaction_steps(client, rng, model, shape, before, ctx).await {
            break 'transaction false;
        }
        batch(client, "SAVEPOINT s", ctx).await;
        let mark = model.mark();
        // A refusal here aborts only up to the savepoint.
        transaction_steps(client, rng, model, shape, undone, ctx).await;
        batch(client, "ROLLBACK TO SAVEPOINT s", ctx).await;
        model.undo_to(mark);
        transaction_steps(client, rng, model, shape, after, ctx).await
    };
    if commit {
        batch(client, "COMMIT", ctx).await;
        model.commit();
    } else {
        batch(client, "ROLLBACK", ctx).await;
        model.rollback();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomized_rows_match_a_model_across_restarts_with_a_tiny_memory_limit() {
    let seed = seed("randomized_rows_match_a_model_across_restarts_with_a_tiny_memory_limit");
    let _named = SeedOnFailure(seed);
    let shape = Shape::new(env_count("ISOLA_COLD_ROWS", 80_000));
    let rounds = env_count("ISOLA_COLD_ROUNDS", 6);
    let steps = env_count("ISOLA_COLD_STEPS", 300);
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let mut client = server.connect().await;
    let ctx = format!("ISOLA_COLD_SEED={seed}, loading");
    create_kv(&client, &ctx).await;
    let mut model = load_kv(&client, &mut rng, &shape, &ctx).await;
    eprintln!("loaded {} rows in {:?}", shape.rows, started.elapsed());
    // The texts alone are ~150 bytes a row: the base must come to hold most of them.
    wait_for_base(dir.path(), shape.rows as u64 * 64, &ctx).await;
    tokio::time::sleep(CHECKPOINTS_RUN).await;
    server.report("after loading and a few checkpoints");
    check_table(&client, &model, &shape, &mut rng, &ctx).await;

    let mut stats = Stats::default();
    let mut restarts = 0;
    for round in 0..rounds {
        for step in 0..steps {
            let ctx = format!("ISOLA_COLD_SEED={seed}, round {round}, step {step}");
            match rng.gen_range(0..100) {
                0..=3 => {
                    rolled_back_transaction(&client, &mut rng, &mut model, &shape, &ctx).await;
                    stats.rolled_back += 1;
                }
                4..=7 => {
                    savepoint_transaction(&client, &mut rng, &mut model, &shape, &ctx).await;
                    stats.savepoints += 1;
                }
                _ => {
                    let (rng, model, stats) = (&mut rng, &mut model, &mut stats);
                    autocommit_step(&client, rng, model, &shape, stats, &ctx).await;
                }
            }
        }
        let mut ctx = format!("ISOLA_COLD_SEED={seed}, after round {round}");
        if round == 1 {
            // Checkpoints and evictions certainly happen before this round's checks.
            tokio::time::sleep(CHECKPOINTS_RUN).await;
        }
        if round % 2 == 1 || rng.gen_bool(0.3) {
            drop(client);
            server.kill_and_restart();
            client = server.connect().await;
            restarts += 1;
            ctx.push_str(" and a SIGKILL and restart");
        }
        check_table(&client, &model, &shape, &mut rng, &ctx).await;
        server.report(&ctx);
    }
    eprintln!(
        "{rounds} rounds, {restarts} restarts: {} operations as the model said, {} refused \
         with 23505 as it said, {} transactions rolled back, {} with a savepoint; {} rows at \
         the end; {:?} (ISOLA_COLD_SEED={seed})",
        stats.applied,
        stats.refused,
        stats.rolled_back,
        stats.savepoints,
        model.rows.len(),
        started.elapsed()
    );
    if rounds * steps >= 300 {
        assert!(stats.refused > 0, "no write was refused: the uniqueness checks were not tried");
        assert!(stats.applied > 0, "no operation succeeded");
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots and row locks on cold rows

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_before_rows_go_cold_still_sees_them() {
    let seed = seed("a_snapshot_taken_before_rows_go_cold_still_sees_them");
    let _named = SeedOnFailure(seed);
    let shape = Shape::new(env_count("ISOLA_COLD_ROWS", 60_000));
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let b = server.connect().await;
    let ctx = &format!("ISOLA_COLD_SEED={seed}, loading");
    create_kv(&b, ctx).await;
    let mut before = load_kv(&b, &mut rng, &shape, ctx).await;
    batch(&b, "CHECKPOINT", ctx).await;
    wait_for_base(dir.path(), shape.rows as u64 * 64, ctx).await;
    tokio::time::sleep(CHECKPOINTS_RUN).await;
    server.report("loaded, before the snapshot");

    // A's snapshot, taken by its first reads, while the rows are cold.
    let a = server.connect().await;
    let ctx = &format!("ISOLA_COLD_SEED={seed}, A's snapshot");
    batch(&a, "BEGIN ISOLATION LEVEL REPEATABLE READ", ctx).await;
    for _ in 0..5 {
        apply(&a, &Op::GetKey(rng.gen_range(0..shape.rows)), &mut before, ctx).await;
    }

    // B rewrites, deletes and inserts thousands of rows; checkpoints evict what they can.
    let mut after = before.clone();
    let ctx = &format!("ISOLA_COLD_SEED={seed}, B's changes");
    rewrite_delete_insert(&b, &mut rng, &mut after, &shape, ctx).await;
    batch(&b, "CHECKPOINT", ctx).await;
    tokio::time::sleep(CHECKPOINTS_RUN).await;
    // Versions on versions: the first third again, then more checkpoints.
    let op = Op::UpdateRange { lo: 0, hi: shape.rows / 6, suffix: "c".into(), dg: 2 };
    apply(&b, &op, &mut after, ctx).await;
    batch(&b, "CHECKPOINT", ctx).await;
    tokio::time::sleep(CHECKPOINTS_RUN).await;
    server.report("after B's changes and checkpoints");

    // A still sees exactly the old rows: by key, by range, through both indexes, by count.
    let ctx = &format!("ISOLA_COLD_SEED={seed}, A's snapshot after B's changes went cold");
    let key_space = shape.rows + shape.rows / 12;
    for _ in 0..200 {
        apply(&a, &Op::GetKey(rng.gen_range(0..key_space)), &mut before, ctx).await;
    }
    for (lo, hi) in
        [(0, 50), (shape.rows / 3 - 20, shape.rows / 3 + 20), (shape.rows - 30, key_space)]
    {
        apply(&a, &Op::GetRange { lo, hi }, &mut before, ctx).await;
    }
    for _ in 0..10 {
        let lo = rng.gen_range(0..key_space);
        apply(&a, &Op::GetRange { lo, hi: lo + 300 }, &mut before, ctx).await;
        apply(&a, &Op::GetDesc { from: lo, limit: 50 }, &mut before, ctx).await;
    }
    // Through the unique index: values B freed or moved to another row, and random ones.
    let mut moved: Vec<i32> =
        before.by_u.iter().filter(|(u, k)| after.by_u.get(u) != Some(k)).map(|(u, _)| *u).collect();
    moved.sort_unstable();
    let every = moved.len() / 50 + 1;
    for u in
        moved.into_iter().step_by(every).chain((0..10).map(|_| rng.gen_range(0..shape.u_values)))
    {
        apply(&a, &Op::GetU(u), &mut before, ctx).await;
    }
    // Through the index on g, which B's changes moved a third of the rows across.
    for _ in 0..10 {
        apply(&a, &Op::GetG(rng.gen_range(0..G_VALUES)), &mut before, ctx).await;
    }
    check_table(&a, &before, &shape, &mut rng, ctx).await;
    batch(&a, "COMMIT", ctx).await;
    let ctx = &format!("ISOLA_COLD_SEED={seed}, a fresh read after A committed");
    check_table(&a, &after, &shape, &mut rng, ctx).await;
    drop((a, b));

    // Row locks on rows only on disk: checkpoint, SIGKILL, restart (recovery loads no rows).
    let c = server.connect().await;
    batch(&c, "CHECKPOINT", ctx).await;
    drop(c);
    server.kill_and_restart();
    let ctx = &format!("ISOLA_COLD_SEED={seed}, concurrent writers on cold rows");
    concurrent_writers_on_cold_rows(&mut server, &mut rng, &mut after, &shape, ctx).await;
    let c = server.connect().await;
    check_table(&c, &after, &shape, &mut rng, ctx).await;
}

/// B's changes for the snapshot test, in the model `after`: the first third of the keys
/// rewritten (`v` and `g`), single rows of the second third given new values, a tenth of the
/// keys deleted, new keys inserted, and a key deleted and inserted again in one transaction.
async fn rewrite_delete_insert(
    b: &Client,
    rng: &mut StdRng,
    after: &mut Model,
    shape: &Shape,
    ctx: &str,
) {
    let third = shape.rows / 3;
    apply(b, &Op::UpdateRange { lo: 0, hi: third, suffix: "b".into(), dg: 1 }, after, ctx).await;
    for _ in 0..300 {
        let op = Op::UpdateKey(rng.gen_range(third..2 * third), shape.random_row(rng));
        apply(b, &op, after, ctx).await;
    }
    let (lo, hi) = (2 * third, 2 * third + shape.rows / 10);
    apply(b, &Op::DeleteRange { lo, hi }, after, ctx).await;
    let mut k = shape.rows;
    while k < shape.rows + shape.rows / 12 {
        let rows: Vec<(i32, Row)> =
            (k..k + 500).map(|k| (k, Row { u: None, ..shape.random_row(rng) })).collect();
        k += 500;
        assert!(apply(b, &Op::Insert(rows), after, ctx).await, "{ctx}: new keys refused");
    }
    batch(b, "BEGIN", ctx).await;
    after.begin();
    let k = rng.gen_range(third..2 * third);
    apply(b, &Op::DeleteKey(k), after, ctx).await;
    let row = Row { u: None, ..shape.random_row(rng) };
    assert!(apply(b, &Op::Insert(vec![(k, row)]), after, ctx).await, "{ctx}: reinsert refused");
    batch(b, "COMMIT", ctx).await;
    after.commit();
}

/// Two transactions writing the same cold rows (keys in the last third, which B's changes did
/// not touch), each step as PostgreSQL does it; `model` follows.
async fn concurrent_writers_on_cold_rows(
    server: &mut Server,
    rng: &mut StdRng,
    model: &mut Model,
    shape: &Shape,
    ctx: &str,
) {
    let t1 = server.connect().await;
    let t2 = Arc::new(server.connect().await);
    let observer = server.connect().await;
    let t2_pid = backend_pid(&t2).await;
    let untouched: Vec<i32> =
        model.rows.range(shape.rows * 4 / 5..shape.rows).map(|(k, _)| *k).collect();
    let mut keys =
        rand::seq::index::sample(rng, untouched.len(), 4).into_iter().map(|i| untouched[i]);
    let mut holders = model
        .by_u
        .iter()
        .filter(|(_, k)| **k >= shape.rows * 4 / 5 && **k < shape.rows)
        .map(|(u, k)| (*u, *k))
        .collect::<Vec<_>>();
    holders.sort();
    assert!(holders.len() >= 2, "{ctx}: too few rows with a unique value to try");
    let append = "UPDATE kv SET v = v || 'x' WHERE k = $1";
    // t2 runs `sql` on a task of its own: it may wait for t1's lock.
    let on_t2 = |sql: &'static str, k: i32| {
        let t2 = t2.clone();
        tokio::spawn(async move { t2.execute(sql, &[&k]).await })
    };
    let v_of = |model: &Model, k: i32| model.rows[&k].v.clone();

    // Read Committed: the second update waits, then applies on top of the first.
    let ctx1 = &format!("{ctx}, two Read Committed updates");
    let k = keys.next().unwrap();
    batch(&t1, "BEGIN", ctx1).await;
    assert_eq!(bounded(ctx1, t1.execute(append, &[&k])).await.unwrap(), 1, "{ctx1}");
    batch(&t2, "BEGIN ISOLATION LEVEL READ COMMITTED", ctx1).await;
    let waiter = on_t2(append, k);
    until_waiting(&observer, t2_pid, ctx1).await;
    batch(&t1, "COMMIT", ctx1).await;
    let n =
        bounded(ctx1, waiter).await.unwrap().unwrap_or_else(|e| panic!("{ctx1}: {}", describe(&e)));
    assert_eq!(n, 1, "{ctx1}: the waiter updates the committed row");
    batch(&t2, "COMMIT", ctx1).await;
    let row = Row { v: v_of(model, k) + "xx", ..model.rows[&k].clone() };
    model.write(k, Some(row));
    check_read(&observer, &Op::GetKey(k), model, ctx1).await;

    // Repeatable Read: the second update waits, then fails with 40001; only the first stays.
    let ctx2 = &format!("{ctx}, a Repeatable Read update after a concurrent one");
    let k = keys.next().unwrap();
    batch(&t2, "BEGIN ISOLATION LEVEL REPEATABLE READ", ctx2).await;
    check_read(&t2, &Op::GetKey(k), model, ctx2).await;
    batch(&t1, "BEGIN", ctx2).await;
    assert_eq!(bounded(ctx2, t1.execute(append, &[&k])).await.unwrap(), 1, "{ctx2}");
    let waiter = on_t2(append, k);
    until_waiting(&observer, t2_pid, ctx2).await;
    batch(&t1, "COMMIT", ctx2).await;
    let got = bounded(ctx2, waiter).await.unwrap();
    assert_eq!(got.as_ref().map_err(common::code), Err("40001".to_string()), "{ctx2}");
    batch(&t2, "ROLLBACK", ctx2).await;
    let row = Row { v: v_of(model, k) + "x", ..model.rows[&k].clone() };
    model.write(k, Some(row));
    check_read(&observer, &Op::GetKey(k), model, ctx2).await;

    // Repeatable Read, the other update committed before: 40001 at once.
    let ctx3 = &format!("{ctx}, a Repeatable Read update of a row changed since its snapshot");
    let k = keys.next().unwrap();
    batch(&t2, "BEGIN ISOLATION LEVEL REPEATABLE READ", ctx3).await;
    check_read(&t2, &Op::Count, model, ctx3).await;
    assert_eq!(bounded(ctx3, t1.execute(append, &[&k])).await.unwrap(), 1, "{ctx3}");
    let got = bounded(ctx3, t2.execute(append, &[&k])).await;
    assert_eq!(got.as_ref().map_err(common::code), Err("40001".to_string()), "{ctx3}");
    batch(&t2, "ROLLBACK", ctx3).await;
    let row = Row { v: v_of(model, k) + "x", ..model.rows[&k].clone() };
    model.write(k, Some(row));

    // Read Committed: an update waiting for a delete matches nothing once it commits.
    let ctx4 = &format!("{ctx}, a Read Committed update of a row deleted meanwhile");
    let k = keys.next().unwrap();
    batch(&t1, "BEGIN", ctx4).await;
    assert_eq!(bounded(ctx4, t1.execute("DELETE FROM kv WHERE k = $1", &[&k])).await.unwrap(), 1);
    batch(&t2, "BEGIN ISOLATION LEVEL READ COMMITTED", ctx4).await;
    let waiter = on_t2(append, k);
    until_waiting(&observer, t2_pid, ctx4).await;
    batch(&t1, "COMMIT", ctx4).await;
    let n =
        bounded(ctx4, waiter).await.unwrap().unwrap_or_else(|e| panic!("{ctx4}: {}", describe(&e)));
    assert_eq!(n, 0, "{ctx4}: the row is gone");
    batch(&t2, "COMMIT", ctx4).await;
    model.write(k, None);

    // A unique value held by a cold row, freed by a transaction: an insert of it waits; the
    // freeing commits: the insert succeeds; it rolls back: 23505.
    for (i, commit) in [(0, true), (1, false)] {
        let ctx5 = &format!("{ctx}, an insert of a unique value being freed (commit: {commit})");
        let (u, holder) = holders[i];
        let new_key = shape.key_space + i as i32;
        batch(&t1, "BEGIN", ctx5).await;
        let free = if commit {
            "DELETE FROM kv WHERE k = $1"
        } else {
            "UPDATE kv SET u = NULL WHERE k = $1"
        };
        assert_eq!(bounded(ctx5, t1.execute(free, &[&holder])).await.unwrap(), 1, "{ctx5}");
        let t2c = t2.clone();
        let waiter = tokio::spawn(async move {
            let sql = format!("INSERT INTO kv (k, v, g, u) VALUES ({new_key}, 'new', 0, {u})");
            t2c.execute(sql.as_str(), &[]).await
        });
        until_waiting(&observer, t2_pid, ctx5).await;
        batch(&t1, if commit { "COMMIT" } else { "ROLLBACK" }, ctx5).await;
        let got = bounded(ctx5, waiter).await.unwrap();
        if commit {
            assert_eq!(got.as_ref().map_err(common::code), Ok(&1), "{ctx5}");
            model.write(holder, None);
            model.write(new_key, Some(Row { v: "new".into(), g: 0, u: Some(u) }));
        } else {
            assert_eq!(got.as_ref().map_err(common::code), Err("23505".to_string()), "{ctx5}");
        }
        check_read(&observer, &Op::GetU(u), model, ctx5).await;
    }
}

// ---------------------------------------------------------------------------------------------
// SIGKILL under load

/// Clients of the kill test; client `c` owns the keys `k % CLIENTS == c`.
const CLIENTS: i32 = 3;

/// The filler of row `k` in the kill test: the same for every version of the row.
fn pad_of(k: i32) -> String {
    let mut rng = StdRng::seed_from_u64(k as u64 ^ 0x9e37_79b9_7f4a_7c15);
    text(&mut rng, 200..300)
}

/// A transaction whose outcome the client did not learn: its writes (key, new value or None for
/// a delete), and whether its commit was asked for (if not, it must not be visible).
#[derive(Clone, Debug, Default)]
struct InFlight {
    writes: BTreeMap<i32, Option<String>>,
    commit_sent: bool,
}

/// One client's keys as its acknowledged commits left them (None: absent), and the transaction
/// it had in flight when the server died.
#[derive(Default)]
struct Owned {
    keys: BTreeMap<i32, Option<String>>,
    in_flight: Option<InFlight>,
    acked: usize,
    reads: usize,
}

/// Why a client stopped: the server went away (an error without SQLSTATE) — anything else is a
/// failure.
fn server_gone(e: &tokio_postgres::Error, ctx: &str) {
    if e.code().is_some() {
        panic!("{ctx}: {}", describe(e));
    }
}

/// Client `c`'s load until the server dies (bounded: 100,000 steps, 60 s): point updates, small
/// transactions over its own keys, inserts and deletes, and reads of its own keys checked
/// against what it knows.
async fn writer(port: u16, seed: u64, round: usize, c: i32, mut owned: Owned) -> Owned {
    let url = format!("host=127.0.0.1 port={port} user=isola dbname=isola");
    let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else {
        return owned;
    };
    tokio::spawn(conn);
    let mut rng = StdRng::seed_from_u64(seed ^ ((round as u64) << 8 | c as u64));
    let keys: Vec<i32> = owned.keys.keys().copied().collect();
    let started = Instant::now();
    for i in 0..100_000 {
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
        let ctx = format!("ISOLA_COLD_SEED={seed}, round {round}, client {c}, step {i}");
        let result = if rng.gen_range(0..100) < 75 {
            let writes = if rng.gen_bool(0.6) { 1 } else { rng.gen_range(2..=3) };
            let chosen: Vec<i32> =
                (0..writes).map(|_| keys[rng.gen_range(0..keys.len())]).collect();
            let token = format!("c{c}r{round}t{i}");
            write_transaction(&client, &mut rng, &mut owned, &chosen, &token, &ctx).await
        } else {
            owned.reads += 1;
            read_own(&client, &mut rng, &owned, &keys, &ctx).await
        };
        if let Err(e) = result {
            server_gone(&e, &ctx);
            return owned;
        }
    }
    owned
}

/// One transaction over `chosen` keys (one key: an autocommit statement; more: BEGIN ...
/// COMMIT): a present key gets a new value (one time in ten: is deleted), an absent one is
/// inserted. Each statement's row count is checked; the writes are in flight until the
/// acknowledgement, then `owned` has them.
async fn write_transaction(
    client: &Client,
    rng: &mut StdRng,
    owned: &mut Owned,
    chosen: &[i32],
    token: &str,
    ctx: &str,
) -> Result<(), tokio_postgres::Error> {
    let explicit = chosen.len() > 1;
    let mut flight = InFlight { writes: BTreeMap::new(), commit_sent: !explicit };
    owned.in_flight = Some(flight.clone());
    if explicit {
        bounded(ctx, client.batch_execute("BEGIN")).await?;
    }
    for (j, &k) in chosen.iter().enumerate() {
        let now = flight.writes.get(&k).cloned().unwrap_or_else(|| owned.keys[&k].clone());
        let new = match now {
            Some(_) if rng.gen_ratio(1, 10) => None,
            _ => Some(format!("{token}-{j}")),
        };
        flight.writes.insert(k, new.clone());
        owned.in_flight = Some(flight.clone());
        let (v, pad) = (new.clone().unwrap_or_default(), pad_of(k));
        let (sql, params): (&str, Vec<&(dyn ToSql + Sync)>) = match (&now, &new) {
            (Some(_), None) => ("DELETE FROM kv WHERE k = $1", vec![&k]),
            (Some(_), Some(_)) => ("UPDATE kv SET v = $2 WHERE k = $1", vec![&k, &v]),
            (None, _) => ("INSERT INTO kv (k, v, pad) VALUES ($1, $2, $3)", vec![&k, &v, &pad]),
        };
        let n = bounded(ctx, client.execute(sql, &params)).await?;
        assert_eq!(n, 1, "{ctx}: {sql} for key {k} (which holds {now:?}) affected {n} rows");
    }
    if explicit {
        flight.commit_sent = true;
        owned.in_flight = Some(flight.clone());
        bounded(ctx, client.batch_execute("COMMIT")).await?;
    }
    owned.keys.extend(flight.writes);
    owned.in_flight = None;
    owned.acked += 1;
    Ok(())
}

/// Reads some of the client's own keys (by key, through the index on `v`, or by a range) and
/// checks them against what its acknowledged commits left.
async fn read_own(
    client: &Client,
    rng: &mut StdRng,
    owned: &Owned,
    keys: &[i32],
    ctx: &str,
) -> Result<(), tokio_postgres::Error> {
    let k = keys[rng.gen_range(0..keys.len())];
    match (rng.gen_range(0..3), &owned.keys[&k]) {
        (0, expected) => {
            let sql = "SELECT v, pad FROM kv WHERE k = $1";
            let rows = bounded(ctx, client.query(sql, &[&k])).await?;
            let got: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let expected: Vec<_> = expected.iter().map(|v| (v.clone(), pad_of(k))).collect();
            assert_eq!(got, expected, "{ctx}: key {k} read back by key");
        }
        (1, Some(v)) => {
            let sql = "SELECT k FROM kv WHERE v = $1";
            let rows = bounded(ctx, client.query(sql, &[v])).await?;
            let got: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(got, vec![k], "{ctx}: key {k} read back through the index on v ({v})");
        }
        _ => {
            let hi = k + 60;
            let sql = "SELECT k, v FROM kv WHERE k BETWEEN $1 AND $2 ORDER BY k";
            let rows = bounded(ctx, client.query(sql, &[&k, &hi])).await?;
            let got: Vec<(i32, String)> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .filter(|(k, _)| owned.keys.contains_key(k))
                .collect();
            let expected: Vec<(i32, String)> =
                owned.keys.range(k..=hi).filter_map(|(k, v)| v.clone().map(|v| (*k, v))).collect();
            assert_eq!(got, expected, "{ctx}: own keys {k}..={hi} read back by range");
        }
    }
    Ok(())
}

/// After a restart: every client's in-flight transaction is wholly there (only if its commit
/// was asked for) or wholly absent, and then learned; every key holds what the acknowledged
/// commits left, with its filler; no other row exists; count(*) and the index on `v` agree.
async fn check_after_crash(client: &Client, owned: &mut [Owned], rng: &mut StdRng, ctx: &str) {
    let sql = "SELECT k, v, pad FROM kv ORDER BY k";
    let rows = bounded(ctx, client.query(sql, &[])).await;
    let rows = rows.unwrap_or_else(|e| panic!("{ctx}: {sql}: {}", describe(&e)));
    let mut actual = BTreeMap::new();
    for r in &rows {
        let (k, v, pad): (i32, String, String) = (r.get(0), r.get(1), r.get(2));
        assert_eq!(pad, pad_of(k), "{ctx}: key {k} holds another row's filler");
        let owner = owned.get(k.rem_euclid(CLIENTS) as usize);
        assert!(
            owner.is_some_and(|o| o.keys.contains_key(&k)),
            "{ctx}: key {k} ({v}) exists, but no client ever wrote it"
        );
        actual.insert(k, v);
    }
    for (c, o) in owned.iter_mut().enumerate() {
        if let Some(flight) = o.in_flight.take() {
            let absent = flight.writes.keys().all(|k| actual.get(k) == o.keys[k].as_ref());
            let applied = flight.writes.iter().all(|(k, v)| actual.get(k) == v.as_ref());
            match (absent, applied) {
                (true, _) => {}
                (false, true) if flight.commit_sent => o.keys.extend(flight.writes),
                (false, true) => panic!(
                    "{ctx}: client {c}'s transaction {flight:?} is visible, but its COMMIT \
                     was never sent"
                ),
                (false, false) => {
                    let seen: Vec<_> = flight.writes.keys().map(|k| (k, actual.get(k))).collect();
                    panic!(
                        "{ctx}: client {c}'s transaction in flight {flight:?} is partly \
                         visible: {seen:?}"
                    )
                }
            }
        }
        for (k, v) in &o.keys {
            assert_eq!(
                actual.get(k),
                v.as_ref(),
                "{ctx}: key {k} (client {c}) is not as its acknowledged commits left it"
            );
        }
    }
    let count: i64 = bounded(ctx, client.query_one("SELECT count(*) FROM kv", &[]))
        .await
        .unwrap_or_else(|e| panic!("{ctx}: count(*): {}", describe(&e)))
        .get(0);
    assert_eq!(count, actual.len() as i64, "{ctx}: count(*) disagrees with the rows read");
    let present: Vec<(&i32, &String)> = actual.iter().collect();
    for _ in 0..100.min(present.len()) {
        let (k, v) = present[rng.gen_range(0..present.len())];
        let rows = bounded(ctx, client.query("SELECT k FROM kv WHERE v = $1", &[v])).await;
        let got: Vec<i32> = rows.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(got, vec![*k], "{ctx}: the index on v finds {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_cold_rows_are_written_and_read_loses_nothing() {
    let seed = seed("sigkill_while_cold_rows_are_written_and_read_loses_nothing");
    let _named = SeedOnFailure(seed);
    let rows = Shape::new(env_count("ISOLA_COLD_ROWS", 60_000)).rows;
    let kills = env_count("ISOLA_COLD_KILLS", 3);
    let key_space = rows + rows / 10;
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let client = server.connect().await;
    let ctx = &format!("ISOLA_COLD_SEED={seed}, loading");
    batch(
        &client,
        "CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL, pad text NOT NULL);
         CREATE INDEX kv_v ON kv (v);",
        ctx,
    )
    .await;
    for lo in (0..rows).step_by(1000) {
        let values: Vec<String> = (lo..(lo + 1000).min(rows))
            .map(|k| format!("({k}, 'init-{k}', '{}')", pad_of(k)))
            .collect();
        batch(&client, &format!("INSERT INTO kv VALUES {}", values.join(", ")), ctx).await;
    }
    drop(client);
    let mut owned: Vec<Owned> = (0..CLIENTS).map(|_| Owned::default()).collect();
    for k in 0..key_space {
        let v = (k < rows).then(|| format!("init-{k}"));
        owned[k.rem_euclid(CLIENTS) as usize].keys.insert(k, v);
    }
    wait_for_base(dir.path(), rows as u64 * 64, ctx).await;
    tokio::time::sleep(CHECKPOINTS_RUN).await;
    server.report("loaded");

    for round in 0..kills {
        let tasks: Vec<_> = owned
            .drain(..)
            .zip(0..)
            .map(|(o, c)| tokio::spawn(writer(server.port, seed, round, c, o)))
            .collect();
        let delay = Duration::from_millis(rng.gen_range(300..2500));
        tokio::time::sleep(delay).await;
        server.report(&format!("round {round}, before the SIGKILL after {delay:?}"));
        server.kill();
        for t in tasks {
            owned.push(bounded("a client after the SIGKILL", t).await.unwrap());
        }
        server = Server::start(dir.path());
        let client = server.connect().await;
        let ctx = &format!("ISOLA_COLD_SEED={seed}, after SIGKILL {round} (after {delay:?})");
        let in_flight = owned.iter().filter(|o| o.in_flight.is_some()).count();
        check_after_crash(&client, &mut owned, &mut rng, ctx).await;
        eprintln!(
            "{ctx}: {} commits acknowledged so far, {in_flight} in flight resolved, all present",
            owned.iter().map(|o| o.acked).sum::<usize>()
        );
    }
    let (acked, reads): (usize, usize) =
        owned.iter().fold((0, 0), |(a, r), o| (a + o.acked, r + o.reads));
    eprintln!(
        "{kills} SIGKILLs, {acked} commits acknowledged, {reads} reads checked (ISOLA_COLD_SEED={seed})"
    );
    assert!(kills == 0 || acked > 0, "no commit was ever acknowledged");
}
