//! Golden scripts: step-by-step interleavings of real transactions, one file per scenario in
//! `tests/scripts/`, each asserting what every step returns, blocks on, or fails with.
//!
//! Each transaction `tN` runs on its own thread. After every command the runner waits until
//! every transaction with a command in flight has either answered or is blocked in the database
//! (waiting for a row lock or a safe snapshot, as `Database::is_waiting` says), so the output is
//! deterministic: no sleeps decide anything. A blocked command's answer is printed when it comes,
//! as `> tN resumed: ...`.
//!
//! File format: commands, `#` comments and blank lines are input; lines starting with `> ` are
//! the expected output of the command above; an error shows as `error SQLSTATE message`, then
//! `DETAIL: ...` when it has one (the format the SQL goldens share). Run with
//! `UPDATE_GOLDENFILES=1` to rewrite them (then read the diff: a golden file is only as good as
//! its review).
//!
//! Each file is its own `#[test]`, named after it (`cargo test --test scripts g0_dirty_write`
//! runs one); `every_file_is_listed` fails when a file in `tests/scripts/` is missing from the
//! list at the end of this file, or the list names a file that is not there.
//!
//! Commands (values: integers, 'text', null, true, false; keys and ranges are one column):
//! - `reset`: a new empty database.
//! - `await tN`: wait for tN's blocked command to answer (a wait that ends by itself).
//! - `create table T (c1, c2, ...) key (c1, ...)`, `create [unique] index I on T (c, ...)`.
//! - `insert T (v, ...)` without a `tN:` prefix: inserted and committed by a setup transaction.
//! - `tN: begin LEVEL [read only] [deferrable]`, `commit`, `rollback`, `savepoint S`,
//!   `release S`, `rollback to S`, `lock_timeout MS`.
//! - `tN: get T K`, `select T [where C]`, `count T [where C]`, `sum T COL`, `range T LO..HI`,
//!   `lookup I V`, `index_range I LO..HI`.
//! - `tN: insert T (v, ...)`, `update T K set COL=E [if C]`, `delete T K [if C]`,
//!   `update_where T C set COL=E`, `delete_where T C`.
//! - `tN: lock T K update|no key update|share|key share [nowait|skip locked]`,
//!   `lock_where T C MODE [nowait|skip locked] [limit N]`.
//!   Conditions C: `COL OP V` with OP one of `= != < <= > >=`, or `true`. Expressions E: `V`,
//!   `COL`, `COL + V`, `COL - V`.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod common;

use isola::{
    Change, Database, DatabaseOptions, IsolationLevel, Key, KeyRange, LockMode, LockOutcome,
    Modified, Row, Transaction, TxnOptions, Value, WaitPolicy,
};

/// The longest the runner waits for a step to answer or block before declaring the test hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

struct Session {
    commands: Sender<String>,
    results: Receiver<String>,
    txn_id: Arc<AtomicU64>,
    pending: bool,
    thread: Option<JoinHandle<()>>,
}

struct Runner {
    db: Database,
    sessions: BTreeMap<String, Session>,
    setup_id: u64,
}

fn new_db() -> Database {
    // No background GC: the scripts call no sleeps, and GC is tested elsewhere.
    Database::with_options(DatabaseOptions { gc_interval: None, ..DatabaseOptions::default() })
}

impl Runner {
    fn new() -> Self {
        Runner { db: new_db(), sessions: BTreeMap::new(), setup_id: 0 }
    }

    fn reset(&mut self) {
        self.close_sessions();
        self.db = new_db();
    }

    fn close_sessions(&mut self) {
        for (name, mut session) in std::mem::take(&mut self.sessions) {
            assert!(!session.pending, "{name} still has a command in flight at the end");
            drop(session.commands);
            if let Some(thread) = session.thread.take() {
                thread.join().expect("session thread");
            }
        }
    }

    /// Runs one input line; returns its output lines.
    fn run(&mut self, line: &str) -> Vec<String> {
        if let Some(who) = line.strip_prefix("await ") {
            return self.await_result(who);
        }
        let Some((who, command)) = line.split_once(": ") else {
            return vec![self.setup(line)];
        };
        let who = who.to_string();
        if !self.sessions.contains_key(&who) {
            let session = spawn_session(self.db.clone());
            self.sessions.insert(who.clone(), session);
        }
        let session = self.sessions.get_mut(&who).expect("just made");
        assert!(!session.pending, "{who} is blocked; it cannot take `{command}`");
        session.commands.send(command.to_string()).expect("session alive");
        session.pending = true;
        self.settle(&who)
    }

    /// Waits for a blocked session's answer (for waits that end by themselves: lock timeouts).
    fn await_result(&mut self, who: &str) -> Vec<String> {
        let session = self.sessions.get_mut(who).expect("a known session");
        assert!(session.pending, "{who} has nothing in flight");
        let result = session.results.recv_timeout(HANG_GUARD).expect("an answer");
        session.pending = false;
        vec![format!("{who} resumed: {result}")]
    }

    /// Waits until every session with a command in flight answered or is blocked.
    fn settle(&mut self, current: &str) -> Vec<String> {
        let started = Instant::now();
        let mut output = Vec::new();
        let mut current_answered = false;
        loop {
            let mut unsettled = false;
            for (name, session) in self.sessions.iter_mut().filter(|(_, s)| s.pending) {
                match session.results.try_recv() {
                    Ok(result) => {
                        session.pending = false;
                        if name == current {
                            current_answered = true;
                            output.insert(0, result);
                        } else {
                            output.push(format!("{name} resumed: {result}"));
                        }
                    }
                    Err(_) => {
                        let id = session.txn_id.load(Ordering::SeqCst);
                        if id == 0 || !self.db.is_waiting(id) {
                            unsettled = true;
                        }
                    }
                }
            }
            if !unsettled {
                break;
            }
            assert!(started.elapsed() < HANG_GUARD, "a step neither answered nor blocked");
            std::thread::sleep(Duration::from_micros(200));
        }
        if !current_answered {
            output.insert(0, "blocked".into());
        }
        output
    }

    fn setup(&mut self, line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        let result = match words.as_slice() {
            ["reset"] => {
                self.reset();
                return "ok".into();
            }
            ["create", "table", ..] => create_table(&self.db, line),
            ["create", "index", ..] | ["create", "unique", "index", ..] => {
                create_index(&self.db, line)
            }
            ["insert", ..] => {
                let mut txn = self.db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
                self.setup_id = txn.id();
                let output = execute(&self.db, &mut txn, line);
                txn.commit().map(|_| output).map_err(SetupError::Database)
            }
            _ => Err(format!("unknown setup command: {line}").into()),
        };
        result.unwrap_or_else(|e| match e {
            SetupError::Database(e) => format_error(e),
            SetupError::Script(e) => format!("error {e}"),
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.close_sessions();
        }
    }
}

fn spawn_session(db: Database) -> Session {
    let (command_tx, command_rx) = channel::<String>();
    let (result_tx, result_rx) = channel::<String>();
    let txn_id = Arc::new(AtomicU64::new(0));
    let id = txn_id.clone();
    let thread = std::thread::spawn(move || {
        let mut txn: Option<Transaction> = None;
        for command in command_rx {
            let result = session_step(&db, &mut txn, &id, &command);
            if result_tx.send(result).is_err() {
                return;
            }
        }
    });
    Session {
        commands: command_tx,
        results: result_rx,
        txn_id,
        pending: false,
        thread: Some(thread),
    }
}

fn session_step(
    db: &Database,
    txn: &mut Option<Transaction>,
    id: &AtomicU64,
    command: &str,
) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["begin", rest @ ..] => {
            let rest = rest.join(" ");
            let level = if rest.starts_with("read uncommitted") {
                IsolationLevel::ReadUncommitted
            } else if rest.starts_with("read committed") {
                IsolationLevel::ReadCommitted
            } else if rest.starts_with("repeatable read") {
                IsolationLevel::RepeatableRead
            } else if rest.starts_with("serializable") {
                IsolationLevel::Serializable
            } else {
                return format!("unknown level in: {command}");
            };
            let mut options = TxnOptions::new(level);
            options.read_only = rest.contains("read only");
            options.deferrable = rest.contains("deferrable");
            let new = db.begin(options);
            id.store(new.id(), Ordering::SeqCst);
            *txn = Some(new);
            "ok".into()
        }
        ["commit"] => match txn.take() {
            Some(t) => t.commit().map(|_| "ok".to_string()).unwrap_or_else(format_error),
            None => "no transaction".into(),
        },
        ["rollback"] => match txn.take() {
            Some(t) => {
                t.rollback();
                "ok".into()
            }
            None => "no transaction".into(),
        },
        _ => match txn.as_mut() {
            Some(t) => {
                t.start_statement();
                execute(db, t, command)
            }
            None => "no transaction".into(),
        },
    }
}

/// An error as every golden file shows it ([`common::error_lines`]), its lines joined by `\n`.
fn format_error(e: isola::Error) -> String {
    common::error_lines(e.sqlstate().code(), &e.message(), e.detail()).join("\n")
}

/// Why a setup command failed: the database refused it, or the script line is malformed.
enum SetupError {
    Database(isola::Error),
    Script(String),
}

impl From<String> for SetupError {
    fn from(e: String) -> Self {
        SetupError::Script(e)
    }
}

impl From<&str> for SetupError {
    fn from(e: &str) -> Self {
        SetupError::Script(e.into())
    }
}

fn create_table(db: &Database, line: &str) -> Result<String, SetupError> {
    // create table NAME (c1, c2) key (c1)
    let rest = line.strip_prefix("create table ").ok_or("syntax")?;
    let (name, rest) = rest.split_once(' ').ok_or("syntax")?;
    let (columns, rest) = parenthesised(rest)?;
    let rest = rest.trim().strip_prefix("key").ok_or("missing key")?;
    let (key, _) = parenthesised(rest)?;
    let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
    let key: Vec<&str> = key.split(',').map(str::trim).collect();
    db.create_table(name, &columns, &key).map(|_| "ok".into()).map_err(SetupError::Database)
}

fn create_index(db: &Database, line: &str) -> Result<String, SetupError> {
    // create [unique] index NAME on TABLE (c1, ...)
    let unique = line.starts_with("create unique");
    let rest = line.split_once("index ").ok_or("syntax")?.1;
    let (name, rest) = rest.split_once(" on ").ok_or("syntax")?;
    let (table, rest) = rest.trim().split_once(' ').ok_or("syntax")?;
    let (columns, _) = parenthesised(rest)?;
    let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
    db.create_index(name.trim(), table, &columns, unique)
        .map(|_| "ok".into())
        .map_err(SetupError::Database)
}

fn parenthesised(s: &str) -> Result<(&str, &str), String> {
    let s = s.trim();
    let s = s.strip_prefix('(').ok_or_else(|| format!("expected ( in {s}"))?;
    let end = s.find(')').ok_or("expected )")?;
    Ok((&s[..end], &s[end + 1..]))
}

fn parse_value(s: &str) -> Value {
    let s = s.trim();
    if let Some(text) = s.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Value::Text(text.to_string());
    }
    match s {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::Int(s.parse().unwrap_or_else(|_| panic!("bad value {s}"))),
    }
}

fn parse_row(s: &str) -> Row {
    let (inner, _) = parenthesised(s).expect("a row in parentheses");
    inner.split(',').map(parse_value).collect()
}

fn parse_range(s: &str) -> KeyRange {
    let (lo, hi) = s.split_once("..").expect("a range LO..HI");
    let bound = |v: &str| {
        if v.is_empty() { Bound::Unbounded } else { Bound::Included(isola::key![parse_value(v)]) }
    };
    (bound(lo), bound(hi))
}

fn show_row(row: &Row) -> String {
    format!("({})", row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
}

fn show_rows(rows: &[(Key, Row)]) -> String {
    if rows.is_empty() {
        return "no rows".into();
    }
    rows.iter().map(|(_, r)| show_row(r)).collect::<Vec<_>>().join(" ")
}

/// A parsed condition `COL OP V`.
struct Condition {
    column: Option<usize>,
    op: String,
    value: Value,
}

impl Condition {
    fn parse(db: &Database, table: &str, text: &str) -> Condition {
        let text = text.trim();
        if text == "true" {
            return Condition { column: None, op: String::new(), value: Value::Null };
        }
        for op in ["!=", "<=", ">=", "=", "<", ">"] {
            if let Some((col, value)) = text.split_once(op) {
                let column = column_index(db, table, col.trim());
                return Condition {
                    column: Some(column),
                    op: op.into(),
                    value: parse_value(value),
                };
            }
        }
        panic!("bad condition {text}")
    }

    fn holds(&self, row: &Row) -> bool {
        let Some(column) = self.column else { return true };
        let v = &row[column];
        match self.op.as_str() {
            "=" => *v == self.value,
            "!=" => *v != self.value,
            "<" => *v < self.value,
            "<=" => *v <= self.value,
            ">" => *v > self.value,
            ">=" => *v >= self.value,
            _ => unreachable!(),
        }
    }
}

fn column_index(db: &Database, table: &str, column: &str) -> usize {
    let def = db.table(table).unwrap_or_else(|e| panic!("{e}"));
    def.column(column).unwrap_or_else(|e| panic!("{e}"))
}

/// An assignment `COL=E`.
fn apply_assignment(db: &Database, table: &str, assignment: &str, row: &Row) -> Row {
    let (col, expr) = assignment.split_once('=').expect("COL=E");
    let target = column_index(db, table, col.trim());
    let expr = expr.trim();
    let operand = |s: &str| -> Value {
        let s = s.trim();
        if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && !["null", "true", "false"].contains(&s)
        {
            row[column_index(db, table, s)].clone()
        } else {
            parse_value(s)
        }
    };
    let value = if let Some((a, b)) = expr.split_once(" + ") {
        Value::Int(operand(a).as_int().unwrap() + operand(b).as_int().unwrap())
    } else if let Some((a, b)) = expr.split_once(" - ") {
        Value::Int(operand(a).as_int().unwrap() - operand(b).as_int().unwrap())
    } else {
        operand(expr)
    };
    let mut new = row.clone();
    new[target] = value;
    new
}

fn lock_mode(words: &str) -> (LockMode, WaitPolicy, Option<usize>) {
    let mode = if words.starts_with("no key update") {
        LockMode::NoKeyUpdate
    } else if words.starts_with("update") {
        LockMode::Update
    } else if words.starts_with("key share") {
        LockMode::KeyShare
    } else if words.starts_with("share") {
        LockMode::Share
    } else {
        panic!("bad lock mode {words}")
    };
    let policy = if words.contains("nowait") {
        WaitPolicy::NoWait
    } else if words.contains("skip locked") {
        WaitPolicy::SkipLocked
    } else {
        WaitPolicy::Wait
    };
    let limit = words.split_once("limit ").map(|(_, n)| n.trim().parse().expect("a limit"));
    (mode, policy, limit)
}

/// Runs a data command in a transaction; returns its output.
fn execute(db: &Database, txn: &mut Transaction, command: &str) -> String {
    execute_inner(db, txn, command).unwrap_or_else(format_error)
}

fn execute_inner(db: &Database, txn: &mut Transaction, command: &str) -> isola::Result<String> {
    let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
    let (table_name, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let rest = rest.trim();
    let table = || db.table_id(table_name);
    let key = |s: &str| -> Key { isola::key![parse_value(s.split_whitespace().next().unwrap())] };
    let after = |s: &str, word: &str| -> Option<String> {
        s.split_once(word).map(|(_, r)| r.trim().to_string())
    };
    let where_clause = |s: &str| after(s, "where ").unwrap_or_else(|| "true".into());
    let scan_all = |txn: &mut Transaction| -> isola::Result<Vec<(Key, Row)>> {
        txn.scan(db.table_id(table_name)?, (Bound::Unbounded, Bound::Unbounded))
    };
    match verb {
        "savepoint" => txn.savepoint(table_name).map(|_| "ok".into()),
        "release" => txn.release_savepoint(table_name).map(|_| "ok".into()),
        "rollback" => txn.rollback_to_savepoint(rest).map(|_| "ok".into()),
        "lock_timeout" => {
            let ms: u64 = table_name.parse().expect("milliseconds");
            txn.set_lock_timeout(Some(Duration::from_millis(ms)));
            Ok("ok".into())
        }
        "get" => Ok(txn.get(table()?, &key(rest))?.map(|r| show_row(&r)).unwrap_or("none".into())),
        "select" => {
            let condition = Condition::parse(db, table_name, &where_clause(rest));
            let rows: Vec<(Key, Row)> =
                scan_all(txn)?.into_iter().filter(|(_, r)| condition.holds(r)).collect();
            Ok(show_rows(&rows))
        }
        "count" => {
            let condition = Condition::parse(db, table_name, &where_clause(rest));
            Ok(scan_all(txn)?.iter().filter(|(_, r)| condition.holds(r)).count().to_string())
        }
        "sum" => {
            let column = column_index(db, table_name, rest);
            let rows = scan_all(txn)?;
            Ok(rows.iter().map(|(_, r)| r[column].as_int().unwrap_or(0)).sum::<i64>().to_string())
        }
        "range" => Ok(show_rows(&txn.scan(table()?, parse_range(rest))?)),
        "lookup" => {
            let v = parse_value(rest);
            let range = (Bound::Included(isola::key![v.clone()]), Bound::Included(isola::key![v]));
            Ok(show_rows(&txn.scan_index(db.index_id(table_name)?, range)?))
        }
        "index_range" => {
            Ok(show_rows(&txn.scan_index(db.index_id(table_name)?, parse_range(rest))?))
        }
        "insert" => txn.insert(table()?, parse_row(rest)).map(|_| "ok".into()),
        "update" | "delete" => {
            let condition = after(rest, " if ").map(|c| Condition::parse(db, table_name, &c));
            let assignment =
                after(rest, "set ").map(|a| a.split(" if ").next().unwrap().to_string());
            let outcome = txn.modify(table()?, &key(rest), WaitPolicy::Wait, |row| {
                if condition.as_ref().is_some_and(|c| !c.holds(row)) {
                    return Change::Keep;
                }
                match &assignment {
                    Some(a) => Change::Update(apply_assignment(db, table_name, a, row)),
                    None => Change::Delete,
                }
            })?;
            Ok(show_modified(&outcome))
        }
        "update_where" | "delete_where" => {
            let (condition, assignment) = match rest.split_once(" set ") {
                Some((c, a)) => (c.to_string(), Some(a.to_string())),
                None => (rest.to_string(), None),
            };
            let condition = Condition::parse(db, table_name, &condition);
            let candidates = scan_all(txn)?;
            let mut changed = Vec::new();
            for (key, row) in candidates {
                if !condition.holds(&row) {
                    continue;
                }
                let outcome = txn.modify(table()?, &key, WaitPolicy::Wait, |newest| {
                    if !condition.holds(newest) {
                        return Change::Keep;
                    }
                    match &assignment {
                        Some(a) => Change::Update(apply_assignment(db, table_name, a, newest)),
                        None => Change::Delete,
                    }
                })?;
                match outcome {
                    Modified::Updated(new) => changed.push(show_row(&new)),
                    Modified::Deleted => changed.push(show_row(&row)),
                    _ => {}
                }
            }
            let verb = if verb == "update_where" { "updated" } else { "deleted" };
            Ok(format!("{verb} {}: {}", changed.len(), changed.join(" ")))
        }
        "lock" => {
            let (k, mode_words) = rest.split_once(' ').expect("lock T K MODE");
            let (mode, policy, _) = lock_mode(mode_words);
            Ok(show_lock(&txn.lock(table()?, &key(k), mode, policy)?))
        }
        "lock_where" => {
            // lock_where T C MODE...: the condition is the first word.
            let (condition, mode_words) = rest.split_once(' ').expect("lock_where T C MODE");
            let condition = Condition::parse(db, table_name, condition);
            let (mode, policy, limit) = lock_mode(mode_words);
            let mut locked = Vec::new();
            for (key, row) in scan_all(txn)? {
                if limit.is_some_and(|l| locked.len() >= l) {
                    break;
                }
                if !condition.holds(&row) {
                    continue;
                }
                if let LockOutcome::Locked(row) = txn.lock(table()?, &key, mode, policy)?
                    && condition.holds(&row)
                {
                    locked.push(show_row(&row));
                }
            }
            Ok(format!("locked {}: {}", locked.len(), locked.join(" ")))
        }
        _ => Ok(format!("unknown command: {command}")),
    }
}

fn show_modified(outcome: &Modified) -> String {
    match outcome {
        Modified::Updated(row) => format!("updated {}", show_row(row)),
        Modified::Deleted => "deleted".into(),
        Modified::Unchanged => "unchanged".into(),
        Modified::NotFound => "not found".into(),
        Modified::Skipped => "skipped".into(),
    }
}

fn show_lock(outcome: &LockOutcome) -> String {
    match outcome {
        LockOutcome::Locked(row) => format!("locked {}", show_row(row)),
        LockOutcome::NotFound => "not found".into(),
        LockOutcome::Skipped => "skipped".into(),
    }
}

/// Runs one golden file; returns the regenerated text.
fn run_script(path: &Path) -> String {
    let input = std::fs::read_to_string(path).expect("script readable");
    let mut runner = Runner::new();
    let mut output = String::new();
    for (line, command) in common::script_lines(&input) {
        output.push_str(line);
        output.push('\n');
        let Some(trimmed) = command else { continue };
        for result in runner.run(trimmed) {
            for part in result.split('\n') {
                output.push_str("> ");
                output.push_str(part);
                output.push('\n');
            }
        }
    }
    drop(runner);
    output
}

common::golden_tests!(
    "scripts",
    "txt",
    run_script,
    [
        deadlocks,
        fekete_read_only_anomaly,
        g0_dirty_write,
        g1a_aborted_read,
        g1b_intermediate_read,
        g1c_circular_information_flow,
        g2_empty_range_inserts,
        g2_item_doctors_on_call,
        g2_item_write_skew,
        g2_predicate_write_skew,
        g_single_read_skew,
        implicit_insert_locks,
        insert_over_concurrent_delete,
        lock_conflict_matrix,
        lock_wait_policies,
        otv_observed_transaction_vanishes,
        p4_atomic_update,
        p4_lost_update,
        pmp_phantom,
        pmp_write_predicate,
        read_committed_recheck,
        savepoints,
        ssi_cleaned_up_tout,
        ssi_update_conflict_out,
        unique_keys,
    ]
);
