//! Arrays and regular expressions from the Python drivers: `tests/python/arrays.py` against a
//! real server. psycopg 3 (text and binary formats), psycopg2 and asyncpg pass lists as
//! parameters and read array columns back as lists (NULL elements, empty arrays, `integer[]`,
//! `bigint[]`, `numeric[]`, `boolean[]`, `varchar(n)[]`, `float8[]`); `x = ANY(list)`,
//! `x <> ALL(list)`, subscripts, `array_length`, `cardinality` and `unnest` of parameters;
//! Django's bulk insert (`INSERT ... SELECT * FROM UNNEST((%s)::varchar[], (%s)::integer[])
//! RETURNING id`) and its `__regex` / `__iregex` lookups; an invalid pattern is 2201B. The same
//! script passes against PostgreSQL 15 (2026-12-06), which accepts the multidimensional array
//! isola refuses with 0A000.
//!
//! The packages are installed (pinned, the same set and directory as `tests/python_clients.rs`)
//! into the test's target directory when the machine's Python does not have them.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn python_drivers_pass_and_read_arrays() {
    let pythonpath = common::python_packages();
    let port = common::start_server();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/arrays.py");
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
