//! Golden SQL scripts over the wire: step-by-step interleavings of real sessions, one file per
//! scenario in `tests/sql/`, each asserting what every statement returns, blocks on, or fails
//! with, at every isolation level. They replay the core's anomaly matrix (`tests/scripts/`)
//! through SQL, the PostgreSQL protocol and real connections. Where the SQL layer differs from
//! the core on purpose, as PostgreSQL does: an error in a block without a savepoint rolls the
//! transaction back at once (a waiter behind its locks resumes at the error, not at ROLLBACK).
//!
//! Each session `tN` is its own tokio-postgres connection (simple query protocol). After every
//! step the runner waits until every session with a statement in flight has either answered or
//! is blocked in the server, as the server itself says (`isola_stat_activity.waiting`, which
//! turns false the moment a lock is handed over), so the output is deterministic: no sleep
//! decides anything. A blocked statement's answer is printed when it comes, as
//! `> tN resumed: ...`.
//!
//! File format: `NAME: SQL` runs SQL on session NAME (`t1`, `foo`; lower case); a line of SQL without a prefix runs on a
//! setup connection (autocommit); `await tN` waits for tN's blocked statement to end by itself
//! (a lock_timeout, say); `reset` rolls every session back, closes them and drops every table.
//! `#` comments and blank lines are kept; lines starting with `> ` are the expected output of
//! the step above: rows as `(v, ...)`, `no rows`, `ok` (or `ok N` rows affected; a COMMIT of
//! a failed block, which the server answers with ROLLBACK, shows as such),
//! `ERROR <SQLSTATE>: <message>` (transaction numbers written `T#`), `blocked`.
//! `UPDATE_GOLDENFILES=1` rewrites the expected lines (then read the diff).

mod common;

use common::connect;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The longest a step may take to answer or block before the test is declared hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

type Pending = JoinHandle<Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>>;

struct Session {
    client: Arc<Client>,
    pid: i32,
    pending: Option<Pending>,
}

struct Runner {
    port: u16,
    setup: Client,
    sessions: BTreeMap<String, Session>,
}

/// Rows as `(v, ...)` lines, or `no rows`; a command as `ok [N]`; an error as its SQLSTATE and
/// message.
fn render(result: Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>) -> Vec<String> {
    let messages = match result {
        Ok(m) => m,
        Err(e) => {
            let line = match e.as_db_error() {
                Some(db) => {
                    format!("ERROR {}: {}", db.code().code(), normalize_ids(db.message()))
                }
                None => format!("ERROR (no SQLSTATE): {e}"),
            };
            return vec![line];
        }
    };
    let mut lines = Vec::new();
    let mut described = false;
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(_) => described = true,
            SimpleQueryMessage::Row(row) => {
                let values: Vec<String> = (0..row.len())
                    .map(|i| match row.get(i) {
                        Some(v) => v.to_string(),
                        None => "null".into(),
                    })
                    .collect();
                lines.push(format!("({})", values.join(", ")));
            }
            SimpleQueryMessage::CommandComplete(n) => {
                if described {
                    if lines.is_empty() {
                        lines.push("no rows".into());
                    }
                } else if n == 0 {
                    lines.push("ok".into());
                } else {
                    lines.push(format!("ok {n}"));
                }
                described = false;
            }
            _ => {}
        }
    }
    lines
}

/// `T123` → `T#`: transaction numbers depend on how many transactions ran before.
fn normalize_ids(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    let mut prev_alnum = false;
    while let Some(c) = chars.next() {
        if c == 'T' && !prev_alnum && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
            out.push_str("T#");
            prev_alnum = true;
            continue;
        }
        prev_alnum = c.is_alphanumeric();
        out.push(c);
    }
    out
}

impl Runner {
    async fn session(&mut self, name: &str) -> &mut Session {
        if !self.sessions.contains_key(name) {
            let client = connect(self.port).await;
            let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
            self.sessions
                .insert(name.to_string(), Session { client: Arc::new(client), pid, pending: None });
        }
        self.sessions.get_mut(name).unwrap()
    }

    async fn is_waiting(&self, pid: i32) -> bool {
        self.setup
            .query_one("SELECT waiting FROM isola_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0)
    }

    /// Waits until every session with a statement in flight has answered or is blocked;
    /// returns the answers, by session name.
    async fn settle(&mut self) -> BTreeMap<String, Vec<String>> {
        let started = Instant::now();
        let mut answers = BTreeMap::new();
        loop {
            let mut unsettled = false;
            let names: Vec<String> = self.sessions.keys().cloned().collect();
            for name in names {
                let (finished, pid) = {
                    let s = &self.sessions[&name];
                    match &s.pending {
                        None => continue,
                        Some(h) => (h.is_finished(), s.pid),
                    }
                };
                if finished {
                    let handle = self.sessions.get_mut(&name).unwrap().pending.take().unwrap();
                    answers.insert(name, render(handle.await.unwrap()));
                    // Its end may have released locks a session looked at earlier in this
                    // pass waits for: look at every session again.
                    unsettled = true;
                } else if !self.is_waiting(pid).await {
                    // In flight and not (yet) blocked: look again. A statement woken by a lock
                    // hand-over is not waiting any more, so it is looked at until it answers
                    // or blocks again.
                    unsettled = true;
                }
            }
            if !unsettled {
                return answers;
            }
            assert!(started.elapsed() < HANG_GUARD, "a step neither answered nor blocked");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Runs one step; returns its output lines.
    async fn step(&mut self, line: &str) -> Vec<String> {
        if line == "reset" {
            for (name, s) in std::mem::take(&mut self.sessions) {
                assert!(s.pending.is_none(), "reset with {name} still blocked");
                s.client.batch_execute("ROLLBACK").await.unwrap();
            }
            let tables = self
                .setup
                .query(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
                    &[],
                )
                .await
                .unwrap();
            for t in tables {
                let name: String = t.get(0);
                self.setup.batch_execute(&format!("DROP TABLE {name}")).await.unwrap();
            }
            return vec!["ok".into()];
        }
        if let Some(name) = line.strip_prefix("await ") {
            let handle = self
                .sessions
                .get_mut(name)
                .and_then(|s| s.pending.take())
                .unwrap_or_else(|| panic!("await {name}: nothing in flight"));
            let answer = tokio::time::timeout(HANG_GUARD, handle)
                .await
                .expect("the awaited statement never ended")
                .unwrap();
            let mut out = render(answer);
            for (other, lines) in self.settle().await {
                out.extend(resumed(&other, lines));
            }
            return out;
        }
        let (name, sql) = match line.split_once(": ") {
            Some((n, sql))
                if n.starts_with(|c: char| c.is_ascii_lowercase())
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                (Some(n.to_string()), sql.to_string())
            }
            _ => (None, line.to_string()),
        };
        let Some(name) = name else {
            let mut out = render(self.setup.simple_query(&sql).await);
            for (other, lines) in self.settle().await {
                out.extend(resumed(&other, lines));
            }
            return out;
        };
        // The simple-query client does not show command tags: a COMMIT of a failed block is
        // told apart by the session's state just before it (the server answers ROLLBACK).
        let pid = self.session(&name).await.pid;
        let commits_failed_block = matches!(sql.to_ascii_uppercase().as_str(), "COMMIT" | "END")
            && self
                .setup
                .query_one("SELECT state FROM isola_stat_activity WHERE pid = $1", &[&pid])
                .await
                .unwrap()
                .get::<_, String>(0)
                == "idle in transaction (aborted)";
        let session = self.session(&name).await;
        assert!(session.pending.is_none(), "{name} is blocked; it cannot run {sql}");
        let client = session.client.clone();
        session.pending = Some(tokio::spawn(async move { client.simple_query(&sql).await }));
        let mut answers = self.settle().await;
        let mut out = match answers.remove(&name) {
            Some(lines) if commits_failed_block && lines == ["ok"] => {
                vec!["ok (ROLLBACK: the block had failed)".into()]
            }
            Some(lines) => lines,
            None => vec!["blocked".into()],
        };
        for (other, lines) in answers {
            out.extend(resumed(&other, lines));
        }
        out
    }
}

fn resumed(name: &str, lines: Vec<String>) -> Vec<String> {
    let mut lines = lines.into_iter();
    let first = lines.next().unwrap_or_default();
    std::iter::once(format!("{name} resumed: {first}")).chain(lines).collect()
}

async fn run_file(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let port = common::start_server();
    let mut runner = Runner { port, setup: connect(port).await, sessions: BTreeMap::new() };
    let mut actual = String::new();
    for line in text.lines() {
        if line.starts_with("> ") || *line == *">" {
            continue;
        }
        actual.push_str(line);
        actual.push('\n');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        for out in runner.step(trimmed).await {
            actual.push_str("> ");
            actual.push_str(&out);
            actual.push('\n');
        }
    }
    for (name, s) in &runner.sessions {
        assert!(s.pending.is_none(), "{}: {name} still blocked at the end", path.display());
    }
    (text, actual)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_sql_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let update = std::env::var_os("UPDATE_GOLDENFILES").is_some();
    let mut failures = Vec::new();
    for file in &files {
        let (expected, actual) = run_file(file).await;
        if expected == actual {
            continue;
        }
        if update {
            std::fs::write(file, &actual).unwrap();
            continue;
        }
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| {
                format!("  line {}: expected {e:?}\n           got      {a:?}", i + 1)
            })
            .collect();
        let diff = if diff.is_empty() {
            format!(
                "  {} lines expected, {} produced",
                expected.lines().count(),
                actual.lines().count()
            )
        } else {
            diff.join("\n")
        };
        failures.push(format!("{}:\n{diff}", file.display()));
    }
    assert!(failures.is_empty(), "golden SQL scripts differ:\n{}", failures.join("\n"));
}
