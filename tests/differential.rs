//! Differential tests: hand-written SQL run on isola and on PostgreSQL 15 side by side, every
//! answer compared. PostgreSQL is the oracle: a statement isola answers differently is a bug
//! (or a refusal that must become a feature).
//!
//! Corpus: `tests/differential/*.sql`. A file is a sequence of statements, each ending with `;`
//! at the end of a line (a statement may span lines; a `;` elsewhere, inside a string literal
//! say, does not end it). Lines starting with `--` are comments. Every statement must agree:
//! there is no way to mark one as allowed to differ. Keep statements deterministic (compare
//! `now() = now()`, not `now()`).
//!
//! For each file the test creates a fresh database named after it on both servers (a throwaway
//! PostgreSQL 15 cluster from `common::Postgres::start()`, an in-process isola server), sets
//! `TimeZone = 'UTC'` and `DateStyle = 'ISO, MDY'` on both connections, and runs every
//! statement on both with the simple query protocol. Compared:
//! - rows, as text (NULL apart from the string `NULL`), and the columns' names (so their
//!   count): in order when the statement is a query with a top-level ORDER BY (as sqlparser's
//!   PostgreSQL dialect parses it), otherwise as sorted multisets;
//! - errors by SQLSTATE only (both must fail, with the same code); after an error the file goes
//!   on (inside a transaction block both sides are then in a failed block alike);
//! - statements without rows (DDL, INSERT, ...) by success and by the affected-row count.
//!
//! Every difference in every file is collected, then the test fails listing each as
//! `file:line: statement`, isola's answer and PostgreSQL's. A statement that takes longer than
//! [`harness::HANG_GUARD`] on either side fails the test naming it (a hang, not a slow answer).
//!
//! Run: `cargo test --test differential`; one file: `DIFFERENTIAL_FILE=intervals cargo test
//! --test differential` (the stem, or the file name).

mod common;
#[path = "differential/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use harness::{answer, ordered, session};

/// One statement of a corpus file, with the line it starts on.
struct CorpusStatement {
    line: usize,
    sql: String,
}

/// Splits a corpus file into statements: lines up to one ending with `;`, `--` comment lines
/// and blank lines between statements left out.
fn statements(text: &str) -> Vec<CorpusStatement> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        if current.is_empty() {
            start = i + 1;
        } else {
            current.push('\n');
        }
        current.push_str(line.trim_end());
        if trimmed.ends_with(';') {
            out.push(CorpusStatement { line: start, sql: std::mem::take(&mut current) });
        }
    }
    if !current.trim().is_empty() {
        out.push(CorpusStatement { line: start, sql: current });
    }
    out
}

/// The corpus files to run: all of them, or the one `DIFFERENTIAL_FILE` names.
fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    if let Ok(only) = std::env::var("DIFFERENTIAL_FILE") {
        let stem = only.trim_end_matches(".sql").to_string();
        files.retain(|p| p.file_stem().is_some_and(|s| s.to_string_lossy() == stem));
        assert!(!files.is_empty(), "no corpus file {only} in {}", dir.display());
    }
    files
}

/// Runs one corpus file on both servers; the differences, one entry each.
async fn run_file(path: &Path, isola_port: u16, pg_port: u16) -> Vec<String> {
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        !text.lines().any(|l| l.trim() == "-- skip-on-difference"),
        "{name}: `-- skip-on-difference` is not allowed: every statement must agree"
    );
    for port in [isola_port, pg_port] {
        let admin = session(port, "isola").await;
        admin
            .simple_query(&format!("DROP DATABASE IF EXISTS \"{stem}\""))
            .await
            .unwrap_or_else(|e| panic!("{name}: DROP DATABASE on port {port}: {e}"));
        admin
            .simple_query(&format!("CREATE DATABASE \"{stem}\""))
            .await
            .unwrap_or_else(|e| panic!("{name}: CREATE DATABASE on port {port}: {e}"));
    }
    let isola = session(isola_port, &stem).await;
    let pg = session(pg_port, &stem).await;
    let mut differences = Vec::new();
    for statement in statements(&text) {
        let sorted = !ordered(&statement.sql);
        let place = format!("{name}:{}: {}", statement.line, statement.sql);
        let ours = answer(&isola, &statement.sql, sorted).await;
        let theirs = answer(&pg, &statement.sql, sorted).await;
        let (ours, theirs) = match (ours, theirs) {
            (Ok(o), Ok(t)) => (o, t),
            (o, t) => panic!(
                "{place}\n  hung: isola {:?}, PostgreSQL {:?}",
                o.err().unwrap_or_default(),
                t.err().unwrap_or_default()
            ),
        };
        if ours != theirs {
            differences.push(format!(
                "{place}\n  isola:      {}\n  PostgreSQL: {}",
                ours.show(),
                theirs.show()
            ));
        }
    }
    differences
}

#[test]
fn corpus_agrees_with_postgres() {
    let pg = common::Postgres::start();
    let isola_port = common::start_server();
    let files = corpus();
    let differences = common::run_on_own_runtime(async {
        let mut all = Vec::new();
        for file in &files {
            all.extend(run_file(file, isola_port, pg.port).await);
        }
        all
    });
    assert!(
        differences.is_empty(),
        "{} statements differ from PostgreSQL 15:\n\n{}",
        differences.len(),
        differences.join("\n\n")
    );
}

#[test]
fn statements_split_at_line_ends() {
    let text = "-- a comment\nSELECT 1;\n\nSELECT 'a;b',\n  2;\nINSERT INTO t VALUES (';');\n";
    let got: Vec<(usize, String)> = statements(text).into_iter().map(|s| (s.line, s.sql)).collect();
    assert_eq!(
        got,
        [
            (2, "SELECT 1;".to_string()),
            (4, "SELECT 'a;b',\n  2;".to_string()),
            (6, "INSERT INTO t VALUES (';');".to_string())
        ]
    );
    assert!(ordered("SELECT 1 ORDER BY 1"));
    assert!(!ordered("SELECT * FROM (SELECT 1 ORDER BY 1) s"));
}
