//! LISTEN / NOTIFY and the housekeeping of connection pools through real drivers:
//! `tests/python/notify.py` against a real server, with psycopg 3 (`conn.notifies()`: delivery
//! at commit only, none after a rollback, duplicates folded, UNLISTEN; server-side cursors)
//! and asyncpg (`add_listener` while idle; `create_pool(min_size=5, max_size=50)` running 200
//! concurrent small transactions, some with SETs and advisory locks, none failing and no
//! setting leaking from one acquisition to the next through asyncpg's reset query).
//!
//! The packages are installed (pinned, the same set and place as `tests/python_clients.rs`)
//! into the test's target directory when the machine's Python does not have them.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn listen_notify_cursors_and_asyncpg_pool_work_through_drivers() {
    let pythonpath = common::python_packages();
    let port = common::start_server();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/notify.py");
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
