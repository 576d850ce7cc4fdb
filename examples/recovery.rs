//! Recovery time: (1) a checkpointed database of N rows (default 1,000,000), (2) a log of
//! M megabytes written after a checkpoint (default 1024), each recovered by opening the data
//! directory again. Real files, real fsync.
//!
//!   cargo run --release --example recovery [ROWS] [LOG_MEGABYTES]

use std::path::Path;
use std::time::{Duration, Instant};

use isola::durable::DurableOptions;
use isola::sql::Engine;
use isola::sql::session::Session;

fn run(s: &mut Session, sql: &str) {
    for r in s.execute_simple(sql) {
        if let Err(e) = r {
            panic!("{sql}: {} {}", e.code, e.message);
        }
    }
}

fn options() -> DurableOptions {
    DurableOptions {
        checkpoint_interval: Duration::from_secs(86_400),
        checkpoint_log_bytes: u64::MAX,
        ..DurableOptions::default()
    }
}

/// Opens a data directory, waiting (bounded) for the previous engine's background threads to
/// let go of it: whichever holds the last reference frees the tables, which takes a moment.
fn reopen(dir: &Path) -> (std::sync::Arc<isola::sql::Engine>, isola::durable::RecoveryReport) {
    for _ in 0..200 {
        match Engine::open(dir, options()) {
            Err(e) if e.sqlstate() == "55006" => std::thread::sleep(Duration::from_millis(50)),
            other => return other.unwrap(),
        }
    }
    panic!("{} stayed locked", dir.display());
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() { dir_size(&e.path()) } else { m.len() }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let rows = args.first().copied().unwrap_or(1_000_000);
    let log_mb = args.get(1).copied().unwrap_or(1024);
    let base = std::env::temp_dir().join(format!("isola-recovery-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);

    // 1. A checkpointed database of `rows` rows.
    let dir = base.join("checkpointed");
    let (engine, _) = Engine::open(&dir, options()).unwrap();
    let mut s = Session::new(engine.clone(), "bench", "isola", "recovery");
    run(
        &mut s,
        "CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))",
    );
    let started = Instant::now();
    let chunk = 100_000;
    let mut from = 1;
    while from <= rows {
        let to = (from + chunk - 1).min(rows);
        run(
            &mut s,
            &format!(
                "INSERT INTO accounts SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series({from}, {to}) g"
            ),
        );
        from = to + 1;
    }
    let loaded = started.elapsed();
    let report = engine.checkpoint().unwrap();
    drop(s);
    drop(engine);
    std::thread::sleep(Duration::from_millis(300)); // background threads let go
    let started = Instant::now();
    let (engine, recovery) = reopen(&dir);
    let elapsed = started.elapsed();
    println!(
        "checkpointed database: {rows} rows (loaded in {:.1}s, checkpoint {:.1}s, {} MB on disk): recovered in {:.2}s ({} log records replayed)",
        loaded.as_secs_f64(),
        report.elapsed.as_secs_f64(),
        dir_size(&dir) >> 20,
        elapsed.as_secs_f64(),
        recovery.replayed
    );
    drop(engine);
    std::thread::sleep(Duration::from_millis(300));

    // 2. A log of `log_mb` megabytes after the last checkpoint: 1,000-row updates.
    let dir = base.join("long-log");
    let (engine, _) = Engine::open(&dir, options()).unwrap();
    let mut s = Session::new(engine.clone(), "bench", "isola", "recovery");
    run(&mut s, "CREATE TABLE t (k int PRIMARY KEY, v int NOT NULL, pad text)");
    run(
        &mut s,
        "INSERT INTO t SELECT g, 0, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' FROM generate_series(1, 100000) g",
    );
    run(&mut s, "SET synchronous_commit = off");
    let log = engine.db.log().unwrap();
    let started = Instant::now();
    let mut i = 0u64;
    while log.stats().bytes < log_mb << 20 {
        let lo = (i * 1000) % 100_000 + 1;
        run(&mut s, &format!("UPDATE t SET v = v + 1 WHERE k BETWEEN {lo} AND {}", lo + 999));
        i += 1;
    }
    log.flush().unwrap();
    let written = started.elapsed();
    let bytes = log.stats().bytes;
    drop(log);
    drop(s);
    drop(engine);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (engine, recovery) = reopen(&dir);
    let elapsed = started.elapsed();
    println!(
        "log of {} MB ({} commits of 1,000 rows, written in {:.1}s): recovered in {:.2}s ({} records replayed, then an end-of-recovery checkpoint)",
        bytes >> 20,
        recovery.replayed,
        written.as_secs_f64(),
        elapsed.as_secs_f64(),
        recovery.replayed
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&base);
}
