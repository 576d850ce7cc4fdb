//! What the differential tests share (`tests/differential.rs`, `tests/differential_random.rs`):
//! connections set up alike on both servers, and answers in a form two servers can be
//! compared in.

use std::time::Duration;

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The longest one statement may take on one side before the run is declared hung.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// What one server answered to one statement, in a form two servers can be compared in.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Rows (each value as text, `None` for NULL) and the columns' names.
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    /// No rows: the affected-row count of the last command.
    Done(u64),
    Error(String),
}

impl Answer {
    pub fn show(&self) -> String {
        match self {
            Answer::Rows { columns, rows } => {
                let shown: Vec<String> = rows
                    .iter()
                    .take(20)
                    .map(|r| {
                        let vals: Vec<String> = r
                            .iter()
                            .map(|v| v.as_deref().map_or("NULL".to_string(), |s| format!("{s:?}")))
                            .collect();
                        format!("({})", vals.join(", "))
                    })
                    .collect();
                let more =
                    if rows.len() > 20 { format!(" ... {} rows", rows.len()) } else { "".into() };
                format!("columns ({}): {}{more}", columns.join(", "), shown.join(" "))
            }
            Answer::Done(n) => format!("ok {n}"),
            Answer::Error(e) => format!("error {e}"),
        }
    }
}

/// Whether the statement is a query whose rows come in a defined order (a top-level ORDER BY).
pub fn ordered(sql: &str) -> bool {
    match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(stmts) => stmts.iter().any(|s| matches!(s, Statement::Query(q) if q.order_by.is_some())),
        Err(_) => false,
    }
}

/// Runs `sql` on `client`; `Err` names a hang.
pub async fn answer(client: &Client, sql: &str, sorted: bool) -> Result<Answer, String> {
    let result = tokio::time::timeout(HANG_GUARD, client.simple_query(sql))
        .await
        .map_err(|_| format!("no answer within {HANG_GUARD:?}"))?;
    Ok(match result {
        Err(e) => Answer::Error(code(&e)),
        Ok(messages) => {
            let mut rows = Vec::new();
            let mut columns = None;
            let mut done = 0;
            for m in messages {
                match m {
                    SimpleQueryMessage::RowDescription(cols) => {
                        columns = Some(cols.iter().map(|c| c.name().to_string()).collect());
                        rows.clear();
                    }
                    SimpleQueryMessage::Row(row) => {
                        if columns.is_none() {
                            let names = row.columns().iter().map(|c| c.name().to_string());
                            columns = Some(names.collect());
                        }
                        rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
                    }
                    SimpleQueryMessage::CommandComplete(n) => done = n,
                    _ => {}
                }
            }
            match columns {
                Some(columns) => {
                    if sorted {
                        rows.sort();
                    }
                    Answer::Rows { columns, rows }
                }
                None => Answer::Done(done),
            }
        }
    })
}

/// A connection to `db` on the server at `port`, in UTC with ISO dates.
pub async fn session(port: u16, db: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=isola dbname={db}"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {db} on port {port}: {e}"));
    tokio::spawn(conn);
    client
        .batch_execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'")
        .await
        .unwrap_or_else(|e| panic!("session settings on port {port}: {e}"));
    client
}

/// An error's SQLSTATE, or a description when it has none (a closed connection, say).
fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no code: {e}"))
}
