//! What one statement did in the transactional core, for `EXPLAIN ANALYZE`'s isolation report.
//!
//! A transaction traces a statement between [`Transaction::begin_trace`] and
//! [`Transaction::finish_trace`] (`transaction.rs`). While a trace is on, the reads record
//! what they met ([`StatementTrace`], kept in the transaction's state under the database
//! mutex): rows read, versions skipped as invisible and whose they were, row-lock waits and
//! whom they waited for. What the statement left behind is read off the state itself at the
//! end, as the difference from its start: row locks held, SIREAD locks, rw-antidependencies.
//!
//! Invariant: tracing changes no decision; with no trace on, the hooks cost one branch.
//!
//! [`Transaction::begin_trace`]: super::Transaction::begin_trace
//! [`Transaction::finish_trace`]: super::Transaction::finish_trace

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::TxnId;
use crate::catalog::TableId;
use crate::types::Key;

/// Recorded while a statement runs.
#[derive(Debug, Default)]
pub(super) struct StatementTrace {
    /// Row versions the statement's reads returned (visible rows), per table name.
    pub rows_read: BTreeMap<String, u64>,
    /// Newer versions skipped as invisible: (writer, what it did, whether it had committed) to
    /// the rows (table and key) they were versions of.
    pub skipped: BTreeMap<SkippedBy, BTreeSet<(TableId, Key)>>,
    /// Row-lock waits, in order.
    pub waits: Vec<LockWaitTrace>,
    /// What the transaction held when the statement began.
    pub start: TraceStart,
}

/// Whose newer version a read skipped: the writer, what it did ("updated"), and whether it
/// had committed.
pub(super) type SkippedBy = (TxnId, &'static str, bool);

/// One wait for a lock.
#[derive(Debug)]
pub(super) struct LockWaitTrace {
    pub what: String,
    pub blockers: Vec<TxnId>,
    pub waited: Duration,
    /// How it ended: "granted", or the error.
    pub outcome: String,
}

/// The state a trace is measured against: what the transaction held when it began.
#[derive(Debug, Default)]
pub(super) struct TraceStart {
    pub row_locks: Vec<String>,
    pub sireads: Vec<String>,
    pub edges: Vec<(TxnId, TxnId, String)>,
    pub writes: usize,
}

/// The isolation report of one statement.
#[derive(Debug, Default)]
pub struct IsolationReport {
    pub txn: TxnId,
    /// The isolation level's SQL name.
    pub level: &'static str,
    /// The snapshot the statement read at (a commit timestamp), if it took one.
    pub snapshot: Option<u64>,
    pub rows_read: Vec<(String, u64)>,
    /// Rows the statement wrote (each holds its row's lock to the transaction's end).
    pub rows_written: usize,
    /// Lines naming the skipped versions' writers.
    pub skipped: Vec<String>,
    /// Row locks the statement took (held now, not held before).
    pub row_locks_taken: Vec<String>,
    /// Each lock wait: what, for whom, and how long.
    pub waits: Vec<(String, Duration)>,
    /// SIREAD locks it added (Serializable only), `None` below Serializable.
    pub sireads_added: Option<Vec<String>>,
    /// rw-antidependencies it recorded, as sentences.
    pub rw_dependencies: Vec<String>,
}

/// At most this many items of one kind are listed; the rest are counted.
const LISTED: usize = 10;

fn listed(items: &[String]) -> String {
    let mut shown: Vec<&str> = items.iter().take(LISTED).map(String::as_str).collect();
    let more = items.len().saturating_sub(LISTED);
    let tail = format!("and {more} more");
    if more > 0 {
        shown.push(&tail);
    }
    shown.join(", ")
}

impl IsolationReport {
    /// The report as EXPLAIN lines; `timing`: with how long each lock wait took.
    pub fn lines(&self, timing: bool) -> Vec<String> {
        let mut out = Vec::new();
        let snapshot = match self.snapshot {
            Some(s) => format!(", snapshot at commit {s}"),
            None => String::new(),
        };
        let level = self.level.to_uppercase();
        out.push(format!("Isolation: T{} at {level}{snapshot}", self.txn));
        let read: Vec<String> = self.rows_read.iter().map(|(t, n)| format!("{t} {n}")).collect();
        out.push(match read.is_empty() {
            true => "  Rows read: none".into(),
            false => format!("  Rows read: {}", read.join(", ")),
        });
        out.push(format!("  Rows written: {}", self.rows_written));
        out.push(match self.skipped.is_empty() {
            true => "  Versions skipped as invisible: none".into(),
            false => format!("  Versions skipped as invisible: {}", listed(&self.skipped)),
        });
        out.push(match self.row_locks_taken.is_empty() {
            true => "  Row locks taken: none".into(),
            false => format!(
                "  Row locks taken: {}: {}",
                self.row_locks_taken.len(),
                listed(&self.row_locks_taken)
            ),
        });
        let waits: Vec<String> = self
            .waits
            .iter()
            .map(|(what, took)| match timing {
                true => format!("{what} ({:.3} ms)", took.as_secs_f64() * 1000.0),
                false => what.clone(),
            })
            .collect();
        out.push(match waits.is_empty() {
            true => "  Lock waits: none".into(),
            false => format!("  Lock waits: {}", listed(&waits)),
        });
        if let Some(sireads) = &self.sireads_added {
            out.push(match sireads.is_empty() {
                true => "  SIREAD locks added: none".into(),
                false => format!("  SIREAD locks added: {}: {}", sireads.len(), listed(sireads)),
            });
            out.push(match self.rw_dependencies.is_empty() {
                true => "  rw-dependencies recorded: none".into(),
                false => format!("  rw-dependencies recorded: {}", listed(&self.rw_dependencies)),
            });
        }
        out
    }
}
