//! Planner goldens over the wire: for each query in a file of `tests/planner/`, the plan the
//! server chose (`EXPLAIN`) and the rows it returned, so a planner change shows as a diff of
//! plans next to the rows they produce (which must not change when only the plan does).
//!
//! File format: `query: SQL` runs `EXPLAIN SQL`, printed as `> plan: LINE` lines, then runs
//! SQL, its answer printed as in `tests/sql/` (`(v, ...)` rows, `no rows`, `ok [N]`, or
//! `error SQLSTATE message`); any other line of SQL (setup: CREATE TABLE, CREATE INDEX,
//! INSERT; BEGIN and ROLLBACK around writes) runs as it is, its answer printed the same way.
//! `#` comments and blank lines are kept; lines starting with `> ` are the expected output.
//! `UPDATE_GOLDENFILES=1` rewrites them (then read the diff).
//!
//! Each file is its own `#[test]` on its own in-process server (one connection), named after
//! it; `every_file_is_listed` fails when a file in `tests/planner/` is missing from the list at
//! the end of this file, or the reverse.

mod common;

use std::path::Path;

use tokio_postgres::SimpleQueryMessage;

/// Runs one file on its own in-process server; returns the file as it should be.
fn run_file(path: &Path) -> String {
    common::run_on_own_runtime(run_file_async(path))
}

async fn run_file_async(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let port = common::start_server();
    let client = common::connect(port).await;
    let mut actual = String::new();
    for (line, command) in common::script_lines(&text) {
        actual.push_str(line);
        actual.push('\n');
        let Some(trimmed) = command else { continue };
        let mut out = Vec::new();
        let sql = match trimmed.strip_prefix("query: ") {
            Some(query) => {
                out.extend(plan(client.simple_query(&format!("EXPLAIN {query}")).await));
                query
            }
            None => trimmed,
        };
        out.extend(common::render(client.simple_query(sql).await));
        for o in out {
            actual.push_str("> ");
            actual.push_str(&o);
            actual.push('\n');
        }
    }
    actual
}

/// An EXPLAIN answer as `plan: LINE` lines (its one text column, indentation kept), or its
/// error as the goldens show errors.
fn plan(result: Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>) -> Vec<String> {
    match result {
        Ok(messages) => messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => {
                    Some(format!("plan: {}", row.get(0).unwrap_or("null")))
                }
                _ => None,
            })
            .collect(),
        Err(e) => common::render(Err(e)),
    }
}

common::golden_tests!(
    "planner",
    "sql",
    run_file,
    [access_paths, joins_and_subqueries, ordering_and_aggregates, writes_and_locks]
);
