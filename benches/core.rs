//! Criterion benchmarks of the transactional core (no SQL, no network, no WAL):
//! - `short_read_write/<level>/<threads>`: short read-write transactions (read two random
//!   accounts among 10,000, update both, commit) at 1, 2 and 8 threads; throughput in
//!   transactions per second, retries included in the time.
//! - `contended/<level>`: the same transaction on 10 accounts with 8 threads; prints the
//!   abort (retry) rate, the figure SSI is judged by.
//!
//! Run: `cargo bench --bench core` (add `-- --quick` for a fast pass).

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use isola::{Database, DatabaseOptions, IsolationLevel, TxnOptions, Value};
use rand::{Rng, SeedableRng, rngs::StdRng};

const LEVELS: [IsolationLevel; 4] = [
    IsolationLevel::ReadUncommitted,
    IsolationLevel::ReadCommitted,
    IsolationLevel::RepeatableRead,
    IsolationLevel::Serializable,
];

fn bank(accounts: i64) -> Database {
    let db = Database::with_options(DatabaseOptions::default());
    db.create_table("accounts", &["id", "balance"], &["id"]).unwrap();
    let table = db.table_id("accounts").unwrap();
    let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    for id in 0..accounts {
        txn.insert(table, vec![id.into(), 1000.into()]).unwrap();
    }
    txn.commit().unwrap();
    db
}

/// One transfer: read both rows, update both, commit. Returns false on a retryable error.
fn transfer(db: &Database, level: IsolationLevel, a: i64, b: i64) -> bool {
    let table = 0;
    let mut txn = db.begin(TxnOptions::new(level));
    let run = |txn: &mut isola::Transaction| -> isola::Result<()> {
        let x = txn.get(table, &isola::key![a.into()])?.unwrap()[1].as_int().unwrap();
        let y = txn.get(table, &isola::key![b.into()])?.unwrap()[1].as_int().unwrap();
        let _ = (x, y);
        for (id, delta) in [(a, -1i64), (b, 1)] {
            txn.start_statement();
            txn.update(table, &isola::key![id.into()], |r| {
                Some(vec![Value::Int(id), Value::Int(r[1].as_int().unwrap() + delta)])
            })?;
        }
        Ok(())
    };
    match run(&mut txn) {
        Ok(()) => match txn.commit() {
            Ok(_) => true,
            Err(e) if e.is_retryable() => false,
            Err(e) => panic!("{e}"),
        },
        Err(e) if e.is_retryable() => false,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `total` committed transfers over `threads` threads; returns (elapsed, retries).
fn run(
    db: &Database,
    level: IsolationLevel,
    accounts: i64,
    threads: usize,
    total: u64,
) -> (Duration, u64) {
    let retries = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (db, retries) = (db.clone(), retries.clone());
            let share = total / threads as u64 + u64::from((t as u64) < total % threads as u64);
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(t as u64 + 7);
                for _ in 0..share {
                    let a = rng.gen_range(0..accounts);
                    let mut b = rng.gen_range(0..accounts - 1);
                    if b >= a {
                        b += 1;
                    }
                    // Lock in id order: contention, no deadlocks.
                    let (a, b) = (a.min(b), a.max(b));
                    while !transfer(&db, level, a, b) {
                        retries.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (start.elapsed(), retries.load(Ordering::Relaxed))
}

fn short_read_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("short_read_write");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    group.sample_size(10);
    const PER_ITER: u64 = 2_000;
    group.throughput(Throughput::Elements(PER_ITER));
    for level in LEVELS {
        for threads in [1, 2, 8] {
            let db = bank(10_000);
            let name = format!("{}/{threads}", level.sql().replace(' ', "_"));
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    (0..iters).map(|_| run(&db, level, 10_000, threads, PER_ITER).0).sum()
                })
            });
        }
    }
    group.finish();
}

fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("contended");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    group.sample_size(10);
    const PER_ITER: u64 = 2_000;
    group.throughput(Throughput::Elements(PER_ITER));
    for level in LEVELS {
        let db = bank(10);
        let mut committed = 0u64;
        let mut retries = 0u64;
        group.bench_function(level.sql().replace(' ', "_"), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let (time, r) = run(&db, level, 10, 8, PER_ITER);
                    elapsed += time;
                    committed += PER_ITER;
                    retries += r;
                }
                elapsed
            })
        });
        let table = 0;
        let mut check = db.begin(TxnOptions::new(IsolationLevel::RepeatableRead));
        let sum: i64 = check
            .scan(table, (Bound::Unbounded, Bound::Unbounded))
            .unwrap()
            .iter()
            .map(|(_, r)| r[1].as_int().unwrap())
            .sum();
        assert_eq!(sum, 10 * 1000, "transfers keep the total");
        eprintln!(
            "contended/{}: {committed} commits, {retries} retries, abort rate {:.1}%",
            level.sql(),
            100.0 * retries as f64 / (committed + retries) as f64
        );
    }
    group.finish();
}

criterion_group!(benches, short_read_write, contended);
criterion_main!(benches);
