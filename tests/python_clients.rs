//! The Python drivers application developers use — psycopg 3, psycopg2, asyncpg and
//! SQLAlchemy 2 (on both psycopg drivers) — run `tests/python/clients.py` against a real
//! server: parameters, typed results, SQLSTATE-carrying exceptions, isolation levels (a lost
//! update refused with 40001 at Repeatable Read), prepared statements, `create_all` /
//! `drop_all` and the inspector's table listing; and, per driver, a transfer workload (4
//! concurrent clients x 25 transfers at Serializable, lock order varied so deadlocks happen,
//! retried on 40001 / 40P01) whose balances must equal its ledger afterwards. The same script
//! passes against PostgreSQL 15 (2026-11-21: 121-143 retries per driver there, 135-177 here).
//!
//! The packages are installed (pinned) into the test's target directory when the machine's
//! Python does not have them, so `cargo test` needs nothing more than python3 with pip.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn psycopg_psycopg2_asyncpg_and_sqlalchemy_work_unchanged() {
    let pythonpath = common::python_packages();
    let port = common::start_server();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/clients.py");
    let out = Command::new("python3")
        .env("PYTHONPATH", &pythonpath)
        .arg(&script)
        .arg(format!("postgresql://isola@127.0.0.1:{port}/isola"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("ALL OK"), "{stdout}\n{stderr}");
}
