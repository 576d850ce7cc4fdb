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
//! `error SQLSTATE message` (transaction numbers written `T#`; the format the core goldens
//! share, without the DETAIL line they add), `blocked`.
//! `UPDATE_GOLDENFILES=1` rewrites the expected lines (then read the diff).
//!
//! Each file is its own `#[test]` with its own in-process server, named after it
//! (`cargo test --test sql_scripts deadlocks` runs one); `every_file_is_listed` fails when a
//! file in `tests/sql/` is missing from the list at the end of this file, or the reverse.

mod common;

use common::{connect, render};

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

/// Runs one file on its own in-process server (scripts run in parallel and each starts from an
/// empty database); returns the file as it should be.
fn run_file(path: &Path) -> String {
    common::run_on_own_runtime(run_file_async(path))
}

async fn run_file_async(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let port = common::start_server();
    let mut runner = Runner { port, setup: connect(port).await, sessions: BTreeMap::new() };
    let mut actual = String::new();
    for (line, command) in common::script_lines(&text) {
        actual.push_str(line);
        actual.push('\n');
        let Some(trimmed) = command else { continue };
        for out in runner.step(trimmed).await {
            actual.push_str("> ");
            actual.push_str(&out);
            actual.push('\n');
        }
    }
    for (name, s) in &runner.sessions {
        assert!(s.pending.is_none(), "{}: {name} still blocked at the end", path.display());
    }
    actual
}

common::golden_tests!(
    "sql",
    "sql",
    run_file,
    [
        aggregate_filter,
        ddl_transactional,
        ddl_locks,
        catalog_functions,
        cursors,
        datetime,
        insert_forms,
        json,
        advisory_locks,
        arrays,
        bitwise,
        bulk_index_build,
        count_star,
        deadlocks,
        enum_types,
        explain_analyze,
        fekete_read_only_anomaly,
        fk_actions,
        fk_concurrency,
        for_update_join,
        for_update_join_levels,
        identity_columns,
        lock_table,
        pg_dump_catalog,
        g0_dirty_write,
        g1a_aborted_read,
        g1b_intermediate_read,
        g1c_circular_information_flow,
        g2_empty_range_inserts,
        g2_item_doctors_on_call,
        g2_item_write_skew,
        g2_predicate_write_skew,
        g_single_read_skew,
        insert_over_concurrent_delete,
        lock_conflict_matrix,
        lock_wait_policies,
        otv_observed_transaction_vanishes,
        p4_atomic_update,
        p4_lost_update,
        pmp_phantom,
        pmp_write_predicate,
        prepare_execute,
        read_committed_recheck,
        regex,
        reset_discard,
        savepoints,
        snapshot_restart,
        ssi_cleaned_up_tout,
        ssi_update_conflict_out,
        unique_keys,
        update_from_isolation,
    ]
);
