//! An asyncpg pool of 50 connections running SERIALIZABLE transfers against isola, with
//! PostgreSQL 15 side by side as the reference: `tests/python/asyncpg_pool.py` (a few accounts,
//! up to 2,000 transfers by 50 workers, each transfer two balance updates and a ledger row in
//! one transaction, retried on 40001 and 40P01 at most 1,000 times; the whole run bounded to
//! [`SECONDS`]). At the end the sum of the balances is unchanged, each balance is its initial
//! one plus its ledger entries, and the ledger holds one row per committed transfer. Every
//! acquisition ends in asyncpg's release (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
//! *; RESET ALL;`), and a pool of one connection shows the reset at work.
//!
//! How many transfers commit within the bound is printed, not asserted: the machine's speed
//! decides it, not correctness.

mod common;

use std::path::Path;
use std::process::Command;

/// Transfers to run, and how long the run may take at most (then the workers stop claiming
/// new ones, and a transfer still retrying is abandoned).
const TRANSFERS: u32 = 2_000;
const SECONDS: u32 = 240;

/// Runs the script against the server at `port`; its JSON summary.
fn run(pythonpath: &Path, name: &str, port: u16) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/asyncpg_pool.py");
    let out = Command::new("python3")
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(&script)
        .arg(format!("postgresql://isola@127.0.0.1:{port}/isola"))
        .arg(TRANSFERS.to_string())
        .arg(SECONDS.to_string())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{name}: {stdout}");
    assert!(out.status.success(), "{name}:\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn serializable_transfers_through_an_asyncpg_pool_keep_the_books_balanced() {
    let pythonpath = common::python_packages();
    let pg = common::Postgres::start();
    run(&pythonpath, "PostgreSQL 15", pg.port);
    drop(pg);
    run(&pythonpath, "isola", common::start_server());
}
