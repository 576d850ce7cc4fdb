//! Multi-statement query strings and transactional settings, against PostgreSQL 15 side by
//! side: each case runs on a fresh table in isola and in a throwaway PostgreSQL, and every
//! answer (rows, `ok`, error SQLSTATE) and the table's rows afterwards must be the same.
//!
//! What the cases pin down (PostgreSQL's rules, which isola now follows):
//! - the statements of one simple-query string outside a block are one implicit transaction:
//!   all commit at the end, or an error rolls back the ones before it;
//! - a BEGIN in the string makes that block a regular one (the statements before it are part
//!   of it); COMMIT or ROLLBACK closes it and the statements after start a new one;
//!   SAVEPOINT in an implicit block is refused (25P01);
//! - SET is transactional: undone by ROLLBACK and by ROLLBACK TO a savepoint set before it;
//!   SET LOCAL lasts to the block's end; outside a block SET LOCAL does nothing.

mod common;

use common::{Postgres, connect, render};

/// Each case: the strings sent one after the other (each one simple Query message).
const CASES: &[&[&str]] = &[
    // Atomic: the duplicate rolls back the first two inserts.
    &["INSERT INTO k VALUES (1); INSERT INTO k VALUES (2); INSERT INTO k VALUES (1)"],
    // All commit.
    &["INSERT INTO k VALUES (1); INSERT INTO k VALUES (2)", "SELECT count(*) FROM k"],
    // A division by zero after a write.
    &["INSERT INTO k VALUES (5); SELECT 1 / 0", "SELECT count(*) FROM k"],
    // A BEGIN takes in what came before; its ROLLBACK undoes both.
    &[
        "INSERT INTO k VALUES (5); BEGIN; INSERT INTO k VALUES (6); ROLLBACK",
        "SELECT count(*) FROM k",
    ],
    // A BEGIN left open stays open after the string.
    &[
        "INSERT INTO k VALUES (7); BEGIN; INSERT INTO k VALUES (8)",
        "ROLLBACK",
        "SELECT count(*) FROM k",
    ],
    // COMMIT closes the implicit block; what follows is a block of its own.
    &["INSERT INTO k VALUES (1); COMMIT; INSERT INTO k VALUES (2); INSERT INTO k VALUES (2)"],
    // An explicit block in one string, then an error after it.
    &["BEGIN; INSERT INTO k VALUES (3); COMMIT; INSERT INTO k VALUES (3)"],
    // Savepoints are refused in an implicit block, and the block is rolled back.
    &["INSERT INTO k VALUES (4); SAVEPOINT s; INSERT INTO k VALUES (5)", "SELECT count(*) FROM k"],
    // ... but work in an explicit block within the string.
    &[
        "BEGIN; INSERT INTO k VALUES (4); SAVEPOINT s; INSERT INTO k VALUES (4); ROLLBACK TO s; INSERT INTO k VALUES (5); COMMIT",
    ],
    // SET in a string that fails is undone with it.
    &["SET statement_timeout = '9s'; SELECT 1 / 0", "SHOW statement_timeout"],
    &["SET statement_timeout = '9s'; SELECT 1", "SHOW statement_timeout"],
    // SET undone by ROLLBACK, kept by COMMIT.
    &["BEGIN", "SET application_name = 'inside'", "ROLLBACK", "SHOW application_name"],
    &["BEGIN", "SET application_name = 'kept'", "COMMIT", "SHOW application_name"],
    // SET LOCAL lasts to the end of the block, either way.
    &["BEGIN", "SET LOCAL lock_timeout = '2s'", "SHOW lock_timeout", "COMMIT", "SHOW lock_timeout"],
    &["SET LOCAL lock_timeout = '2s'", "SHOW lock_timeout"],
    // ROLLBACK TO a savepoint undoes the SETs after it.
    &[
        "BEGIN",
        "SET statement_timeout = '7s'",
        "SAVEPOINT a",
        "SET statement_timeout = '9s'",
        "ROLLBACK TO a",
        "SHOW statement_timeout",
        "COMMIT",
        "SHOW statement_timeout",
    ],
    // set_config(name, value, is_local) as SET / SET LOCAL.
    &[
        "BEGIN",
        "SELECT set_config('statement_timeout', '3s', true)",
        "SHOW statement_timeout",
        "COMMIT",
        "SHOW statement_timeout",
    ],
    &["SELECT set_config('statement_timeout', '3s', true)", "SHOW statement_timeout"],
    &[
        "BEGIN",
        "SELECT set_config('statement_timeout', '4s', false)",
        "ROLLBACK",
        "SHOW statement_timeout",
    ],
    &["SELECT set_config('statement_timeout', '4s', false)", "SHOW statement_timeout"],
    // RESET ALL in a string that commits.
    &["SET lock_timeout = '5s'", "SELECT 1; RESET ALL", "SHOW lock_timeout"],
    // A failed block's SETs go with it.
    &[
        "BEGIN",
        "SET statement_timeout = '7s'",
        "SELECT 1 / 0",
        "ROLLBACK",
        "SHOW statement_timeout",
    ],
];

async fn run_case(port: u16, case: &[&str]) -> Vec<String> {
    let client = connect(port).await;
    client
        .batch_execute("DROP TABLE IF EXISTS k; CREATE TABLE k (a int PRIMARY KEY)")
        .await
        .unwrap();
    let mut out = Vec::new();
    for sql in case {
        out.push(format!("{sql}:"));
        out.extend(render(client.simple_query(sql).await).into_iter().map(|l| format!("  {l}")));
    }
    out.push("rows after:".into());
    let rows = client.simple_query("SELECT a FROM k ORDER BY a").await;
    out.extend(render(rows).into_iter().map(|l| format!("  {l}")));
    out
}

#[test]
fn multi_statement_strings_and_settings_behave_as_in_postgresql() {
    let pg = Postgres::start();
    let isola = common::start_server();
    common::run_on_own_runtime(async move {
        let mut differences = Vec::new();
        for case in CASES {
            let theirs = run_case(pg.port, case).await;
            let ours = run_case(isola, case).await;
            if ours != theirs {
                differences.push(format!(
                    "isola:\n{}\nPostgreSQL:\n{}",
                    ours.join("\n"),
                    theirs.join("\n")
                ));
            }
        }
        assert!(differences.is_empty(), "{}", differences.join("\n\n"));
    });
}
