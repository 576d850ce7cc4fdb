//! Concurrent stress: many threads doing random transfers among accounts at each isolation
//! level, asserting the invariants the level must keep; a job queue taken with SKIP LOCKED;
//! garbage collection keeping the version count bounded. Every loop is bounded in count.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use isola::{
    Change, Database, DatabaseOptions, Error, IsolationLevel, LockMode, LockOutcome, Modified,
    TxnOptions, Value, WaitPolicy,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

const ACCOUNTS: i64 = 10;
const INITIAL: i64 = 1_000;

/// Creates a two-column table keyed by its first column and fills it in one transaction.
fn table_with_rows(db: &Database, name: &str, columns: [&str; 2], rows: Vec<[Value; 2]>) -> u32 {
    db.create_table(name, &columns, &columns[..1]).unwrap();
    let table = db.table_id(name).unwrap();
    let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    for row in rows {
        txn.insert(table, row.to_vec()).unwrap();
    }
    txn.commit().unwrap();
    table
}

fn bank(options: DatabaseOptions) -> Database {
    let db = Database::with_options(options);
    let rows = (0..ACCOUNTS).map(|id| [id.into(), INITIAL.into()]).collect();
    table_with_rows(&db, "accounts", ["id", "balance"], rows);
    db
}

fn balance(row: &[Value]) -> i64 {
    row[1].as_int().unwrap()
}

/// Sums every balance in one transaction at `level`.
fn total(db: &Database, level: IsolationLevel) -> Result<i64, Error> {
    let table = db.table_id("accounts").unwrap();
    let mut txn = db.begin(TxnOptions::new(level).read_only());
    let rows = txn.scan(table, (Bound::Unbounded, Bound::Unbounded))?;
    txn.commit()?;
    Ok(rows.iter().map(|(_, r)| balance(r)).sum())
}

/// One transfer written as read-modify-write: read both balances, write computed values.
fn transfer_read_modify_write(
    db: &Database,
    level: IsolationLevel,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<(), Error> {
    let table = db.table_id("accounts").unwrap();
    let mut txn = db.begin(TxnOptions::new(level));
    let a = balance(&txn.get(table, &isola::key![from.into()])?.unwrap());
    let b = balance(&txn.get(table, &isola::key![to.into()])?.unwrap());
    txn.update(table, &isola::key![from.into()], |_| Some(vec![from.into(), (a - amount).into()]))?;
    txn.update(table, &isola::key![to.into()], |_| Some(vec![to.into(), (b + amount).into()]))?;
    txn.commit().map(|_| ())
}

/// One transfer with atomic updates (`SET balance = balance - x`).
fn transfer_atomic(
    db: &Database,
    level: IsolationLevel,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<(), Error> {
    let table = db.table_id("accounts").unwrap();
    let mut txn = db.begin(TxnOptions::new(level));
    for (id, delta) in [(from, -amount), (to, amount)] {
        txn.start_statement();
        let outcome = txn.update(table, &isola::key![id.into()], |row| {
            Some(vec![id.into(), (balance(row) + delta).into()])
        })?;
        assert!(matches!(outcome, Modified::Updated(_)), "{outcome:?}");
    }
    txn.commit().map(|_| ())
}

struct Outcome {
    committed: usize,
    retries: usize,
    inconsistent_reads: usize,
}

/// Runs `threads` x `per_thread` transfers, retrying on 40001/40P01, with a reader thread
/// summing balances; returns counts.
fn run_bank(
    db: &Database,
    level: IsolationLevel,
    atomic: bool,
    threads: usize,
    per_thread: usize,
) -> Outcome {
    let retries = Arc::new(Mutex::new(0usize));
    let inconsistent = Arc::new(Mutex::new(0usize));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (db, retries) = (db.clone(), retries.clone());
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(t as u64);
                for _ in 0..per_thread {
                    let from = rng.gen_range(0..ACCOUNTS);
                    let to = (from + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
                    let amount = rng.gen_range(1..50);
                    loop {
                        let result = if atomic {
                            transfer_atomic(&db, level, from, to, amount)
                        } else {
                            transfer_read_modify_write(&db, level, from, to, amount)
                        };
                        match result {
                            Ok(()) => break,
                            Err(e) if e.is_retryable() => *retries.lock().unwrap() += 1,
                            Err(e) => panic!("unexpected error at {level:?}: {e}"),
                        }
                    }
                }
            });
        }
        let (db, inconsistent) = (db.clone(), inconsistent.clone());
        s.spawn(move || {
            // Snapshot levels must always see the whole sum.
            if level.transaction_snapshot() {
                for _ in 0..200 {
                    match total(&db, level) {
                        Ok(sum) if sum != INITIAL * ACCOUNTS => *inconsistent.lock().unwrap() += 1,
                        _ => {}
                    }
                }
            }
        });
    });
    let retries = *retries.lock().unwrap();
    let inconsistent_reads = *inconsistent.lock().unwrap();
    Outcome { committed: threads * per_thread, retries, inconsistent_reads }
}

fn quiet() -> DatabaseOptions {
    DatabaseOptions { gc_interval: Some(std::time::Duration::from_millis(5)), ..Default::default() }
}

#[test]
fn snapshot_levels_keep_the_total_with_read_modify_write() {
    for level in [IsolationLevel::RepeatableRead, IsolationLevel::Serializable] {
        let db = bank(quiet());
        let outcome = run_bank(&db, level, false, 8, 150);
        assert_eq!(total(&db, level).unwrap(), INITIAL * ACCOUNTS, "{level:?}");
        assert_eq!(outcome.inconsistent_reads, 0, "{level:?}");
        assert!(outcome.committed == 1200);
        let stats = db.stats();
        assert_eq!(stats.active_transactions, 0);
        assert_eq!(stats.lock_entries, 0, "every row lock released");
        assert_eq!((stats.ssi_transactions, stats.siread_locks), (0, 0), "SSI state cleaned up");
        eprintln!("{level:?}: {} retries for {} transfers", outcome.retries, outcome.committed);
    }
}

#[test]
fn read_committed_loses_no_atomic_update() {
    for level in [IsolationLevel::ReadUncommitted, IsolationLevel::ReadCommitted] {
        let db = bank(quiet());
        let outcome = run_bank(&db, level, true, 8, 150);
        assert_eq!(total(&db, IsolationLevel::ReadCommitted).unwrap(), INITIAL * ACCOUNTS);
        assert_eq!(db.stats().lock_entries, 0);
        eprintln!("{level:?}: {} deadlock retries", outcome.retries);
    }
}

#[test]
fn read_committed_read_modify_write_loses_updates() {
    // The anomaly the level knowingly allows (P4 across statements): a counter incremented by
    // read-then-write from many threads ends below the number of increments, while the atomic
    // form never does. Asserting the loss would depend on timing, so the test asserts only that
    // the atomic form is exact and reports what the other lost.
    let db = Database::new();
    let rows = vec![[1.into(), 0.into()], [2.into(), 0.into()]];
    let table = table_with_rows(&db, "counter", ["id", "n"], rows);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let db = db.clone();
            s.spawn(move || {
                for _ in 0..250 {
                    let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
                    let n = txn.get(table, &isola::key![1.into()]).unwrap().unwrap()[1]
                        .as_int()
                        .unwrap();
                    txn.start_statement();
                    txn.update(table, &isola::key![1.into()], |_| {
                        Some(vec![1.into(), (n + 1).into()])
                    })
                    .unwrap();
                    txn.start_statement();
                    txn.update(table, &isola::key![2.into()], |r| {
                        Some(vec![2.into(), (r[1].as_int().unwrap() + 1).into()])
                    })
                    .unwrap();
                    txn.commit().unwrap();
                }
            });
        }
    });
    let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let lost = 1000 - txn.get(table, &isola::key![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    let atomic = txn.get(table, &isola::key![2.into()]).unwrap().unwrap()[1].as_int().unwrap();
    assert_eq!(atomic, 1000, "the atomic form loses nothing");
    eprintln!("read-modify-write at Read Committed lost {lost} of 1000 increments");
}

#[test]
fn skip_locked_job_queue_takes_each_job_once() {
    let db = Database::new();
    let rows = (0..200i64).map(|id| [id.into(), Value::Null]).collect();
    let table = table_with_rows(&db, "jobs", ["id", "owner"], rows);
    let claimed = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for worker in 0..4i64 {
            let (db, claimed) = (db.clone(), claimed.clone());
            s.spawn(move || {
                loop {
                    let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
                    let rows = txn.scan(table, (Bound::Unbounded, Bound::Unbounded)).unwrap();
                    let mut taken = None;
                    for (key, _) in rows.into_iter().filter(|(_, r)| r[1] == Value::Null) {
                        let outcome = txn
                            .lock(table, &key, LockMode::Update, WaitPolicy::SkipLocked)
                            .unwrap();
                        if let LockOutcome::Locked(newest) = outcome
                            && newest[1] == Value::Null
                        {
                            taken = Some(key);
                            break;
                        }
                    }
                    let Some(key) = taken else {
                        txn.commit().unwrap();
                        return;
                    };
                    txn.modify(table, &key, WaitPolicy::Wait, |r| {
                        Change::Update(vec![r[0].clone(), worker.into()])
                    })
                    .unwrap();
                    txn.commit().unwrap();
                    claimed.lock().unwrap().push(key[0].as_int().unwrap());
                }
            });
        }
    });
    let claimed = claimed.lock().unwrap();
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 200, "every job taken once");
    assert_eq!(unique.len(), 200, "no job taken twice");
}

#[test]
fn garbage_collection_bounds_versions_under_steady_updates() {
    let db = bank(DatabaseOptions { gc_interval: None, ..Default::default() });
    let table = db.table_id("accounts").unwrap();
    let mut max_versions = 0;
    for i in 0..30_000i64 {
        let mut txn = db.begin(TxnOptions::new(IsolationLevel::RepeatableRead));
        let id = i % ACCOUNTS;
        txn.update(table, &isola::key![id.into()], |r| {
            Some(vec![id.into(), (balance(r) + 1).into()])
        })
        .unwrap();
        txn.commit().unwrap();
        max_versions = max_versions.max(db.stats().versions);
    }
    // Inline collection runs when 8192 rows wait for it: the count never grows with the load.
    assert!(max_versions <= 8192 + 2 * ACCOUNTS as usize, "versions grew to {max_versions}");
    db.gc();
    assert_eq!(db.stats().versions, ACCOUNTS as usize);
}

#[test]
fn a_long_reader_keeps_its_versions_until_it_ends() {
    let db = bank(DatabaseOptions { gc_interval: None, ..Default::default() });
    let table = db.table_id("accounts").unwrap();
    let mut reader = db.begin(TxnOptions::new(IsolationLevel::RepeatableRead));
    assert_eq!(balance(&reader.get(table, &isola::key![0.into()]).unwrap().unwrap()), INITIAL);
    for _ in 0..100 {
        let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
        txn.update(table, &isola::key![0.into()], |r| {
            Some(vec![0.into(), (balance(r) + 1).into()])
        })
        .unwrap();
        txn.commit().unwrap();
        db.gc();
    }
    assert!(db.stats().versions >= ACCOUNTS as usize + 100, "the reader's version is kept");
    assert_eq!(balance(&reader.get(table, &isola::key![0.into()]).unwrap().unwrap()), INITIAL);
    reader.commit().unwrap();
    db.gc();
    assert_eq!(db.stats().versions, ACCOUNTS as usize);
}
