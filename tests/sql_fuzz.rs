//! The fuzz target for the SQL front end (parser, binder, planner, executor, session state):
//! random token soup, valid statements cut and spliced at random points, and valid statements
//! with random literals, run on sessions of one engine. Whatever comes in, the answer is a
//! result or an error with a well-formed SQLSTATE, never a panic; afterwards the session is
//! usable (ROLLBACK, then a query works) and the committed data nobody's input touched is
//! unchanged.
//!
//! `ISOLA_FUZZ_CASES=200000 cargo test --release --test sql_fuzz` fuzzes longer than CI does.

use std::sync::Arc;

use isola::sql::{Engine, Outcome, Session, SqlError};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "SELECT",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "EXISTS",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "AS",
    "::",
    "int",
    "bigint",
    "text",
    "numeric(5,2)",
    "varchar(3)",
    "boolean",
    "date",
    "timestamp",
    "uuid",
    "bytea",
    "jsonb",
    "ORDER",
    "BY",
    "GROUP",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "DISTINCT",
    "JOIN",
    "LEFT",
    "ON",
    "UNION",
    "ALL",
    "EXCEPT",
    "count(*)",
    "sum(",
    "avg(",
    "min(",
    "max(",
    "coalesce(",
    "now()",
    "generate_series(1, 3)",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "s1",
    "RELEASE",
    "TO",
    "FOR",
    "SHARE",
    "NOWAIT",
    "SKIP",
    "LOCKED",
    "CREATE",
    "TABLE",
    "INDEX",
    "UNIQUE",
    "PRIMARY",
    "KEY",
    "DROP",
    "TRUNCATE",
    "ALTER",
    "ADD",
    "COLUMN",
    "RETURNING",
    "ON CONFLICT",
    "DO NOTHING",
    "DO",
    "EXPLAIN",
    "SHOW",
    "ISOLATION",
    "LEVEL",
    "SERIALIZABLE",
    "READ",
    "COMMITTED",
    "REPEATABLE",
    "COPY",
    "STDIN",
    "fz",
    "a",
    "b",
    "c",
    "fz.a",
    "x",
    "*",
    ",",
    "(",
    ")",
    ";",
    "=",
    "<>",
    "<",
    ">=",
    "+",
    "-",
    "/",
    "%",
    "||",
    "0",
    "1",
    "-1",
    "2147483648",
    "9223372036854775807",
    "1e308",
    "0.5",
    "'x'",
    "''",
    "'2024-02-30'",
    "'nan'",
    "$1",
    "true",
    "false",
    "E'\\x'",
    "'\\'",
    "\"q\"",
    "--",
    "/*",
    "*/",
    "\u{0}",
    "é",
    "pg_catalog.pg_class",
    "isola_stat_activity",
];

const VALID: &[&str] = &[
    "SELECT a, b FROM fz WHERE a = 1",
    "SELECT count(*), sum(b) FROM fz GROUP BY c HAVING count(*) > 0 ORDER BY 1",
    "INSERT INTO fz VALUES (10, 20, 'ten') ON CONFLICT (a) DO UPDATE SET b = fz.b + 1",
    "UPDATE fz SET b = b * 2 WHERE a IN (SELECT a FROM fz WHERE b > 1) RETURNING *",
    "DELETE FROM fz WHERE c LIKE 't%' RETURNING a",
    "SELECT CASE WHEN a > 1 THEN 'x' ELSE NULL END, coalesce(c, 'none') FROM fz LEFT JOIN fz f2 ON fz.a = f2.b",
    "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT * FROM fz FOR UPDATE NOWAIT; COMMIT",
    "SAVEPOINT s1; INSERT INTO fz VALUES (11, 1, 'x'); ROLLBACK TO SAVEPOINT s1",
    "SELECT CAST('12.5' AS numeric) / 0.0, 2147483647 + 1, '2024-01-01'::date + 1",
    "CREATE TABLE fz2 (id int PRIMARY KEY, v text NOT NULL CHECK (v <> ''))",
    "SELECT x FROM generate_series(1, 5) AS x WHERE x % 2 = 0 LIMIT 2 OFFSET 1",
    "EXPLAIN SELECT * FROM fz WHERE a >= 1 AND a < 3",
];

fn sqlstate_is_well_formed(e: &SqlError) -> bool {
    e.code.code().len() == 5
        && e.code.code().chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

fn input() -> impl Strategy<Value = String> {
    let soup = prop::collection::vec(prop::sample::select(TOKENS), 1..24).prop_map(|t| t.join(" "));
    let spliced = (
        prop::sample::select(VALID),
        prop::sample::select(VALID),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(a, b, i, j)| {
            let cut_a = a.char_indices().map(|(k, _)| k).nth(i.index(a.len())).unwrap_or(0);
            let cut_b = b.char_indices().map(|(k, _)| k).nth(j.index(b.len())).unwrap_or(0);
            format!("{}{}", &a[..cut_a], &b[cut_b..])
        });
    let literals = (
        prop::sample::select(VALID),
        prop::collection::vec(
            prop_oneof![
                any::<i64>().prop_map(|v| v.to_string()),
                any::<f64>().prop_map(|v| v.to_string()),
                "[ -~]{0,12}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
                "\\PC{0,8}",
            ],
            1..4,
        ),
    )
        .prop_map(|(stmt, lits)| {
            let mut out = stmt.to_string();
            for (n, lit) in lits.iter().enumerate() {
                let target = ["1", "'x'", "20"][n % 3];
                out = out.replacen(target, lit, 1);
            }
            out
        });
    let bytes = prop::collection::vec(any::<char>(), 0..40).prop_map(|c| c.into_iter().collect());
    prop_oneof![soup, spliced, literals, bytes]
}

fn fresh_engine() -> (Arc<Engine>, Session) {
    let engine = Engine::new(isola::Database::new());
    let mut setup = Session::new(engine.clone(), "isola", "isola", "fuzz");
    for r in setup.execute_simple(
        "CREATE TABLE fz (a int PRIMARY KEY, b int, c text); \
         INSERT INTO fz VALUES (1, 1, 'one'), (2, 4, 'two'), (3, 9, NULL); \
         CREATE TABLE keep (id int PRIMARY KEY, v text); INSERT INTO keep VALUES (1, 'kept')",
    ) {
        r.unwrap();
    }
    (engine, setup)
}

fn cases() -> u32 {
    std::env::var("ISOLA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)
}

#[test]
fn the_sql_front_end_answers_any_input_without_panicking() {
    let (engine, mut observer) = fresh_engine();
    let fuzzed = std::cell::RefCell::new(Session::new(engine.clone(), "isola", "isola", "fuzz"));
    let seen =
        std::cell::RefCell::new((0usize, std::collections::BTreeMap::<String, usize>::new()));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&input(), |sql| {
            let mut fuzzed = fuzzed.borrow_mut();
            for result in fuzzed.execute_simple(&sql) {
                let mut seen = seen.borrow_mut();
                match result {
                    Ok(_) => seen.0 += 1,
                    Err(e) => {
                        prop_assert!(sqlstate_is_well_formed(&e), "{sql:?} gave {e:?}");
                        *seen.1.entry(e.code.code().to_string()).or_default() += 1;
                    }
                }
            }
            // Whatever happened, the session recovers and answers.
            for r in fuzzed.execute_simple("ROLLBACK") {
                prop_assert!(r.is_ok(), "{sql:?}: ROLLBACK failed: {r:?}");
            }
            let answer = fuzzed.execute_simple("SELECT 1").pop().unwrap();
            prop_assert!(
                matches!(&answer, Ok(Outcome::Rows { rows, .. }) if rows.len() == 1),
                "{sql:?}: then SELECT 1 gave {answer:?}"
            );
            Ok(())
        })
        .unwrap();
    // The inputs reach past the parser: many statements run, and many kinds of error come back.
    let (succeeded, errors) = seen.into_inner();
    eprintln!("{succeeded} statements succeeded; errors by SQLSTATE: {errors:?}");
    assert!(succeeded > cases() as usize / 20, "only {succeeded} statements succeeded");
    assert!(errors.len() >= 8, "only these errors: {errors:?}");
    // Data the fuzz input never names is as it was.
    match observer.execute_simple("SELECT v FROM keep WHERE id = 1").pop().unwrap() {
        Ok(Outcome::Rows { rows, .. }) => {
            assert_eq!(rows, vec![vec![isola::Value::Text("kept".into())]])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_extended_protocol_front_end_answers_any_input_without_panicking() {
    let (engine, _observer) = fresh_engine();
    let fuzzed = std::cell::RefCell::new(Session::new(engine, "isola", "isola", "fuzz"));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases() / 3,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&input(), |sql| {
            let mut fuzzed = fuzzed.borrow_mut();
            // Parse with no declared types (the server infers them), then execute with NULLs.
            if let Ok(prepared) = fuzzed.prepare(&sql, &[]) {
                let params = vec![isola::Value::Null; prepared.param_types.len()];
                if let Err(e) = fuzzed.execute(&prepared, &params) {
                    prop_assert!(sqlstate_is_well_formed(&e), "{sql:?} gave {e:?}");
                }
            }
            for r in fuzzed.execute_simple("ROLLBACK") {
                prop_assert!(r.is_ok(), "{sql:?}: ROLLBACK failed: {r:?}");
            }
            Ok(())
        })
        .unwrap();
}
