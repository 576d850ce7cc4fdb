//! What a client observed: transactions, their operations and outcomes.
//!
//! A history is built by the workload driver (or by hand in tests) and read by the analysis. It
//! records only what clients saw, never what the server says about itself. Invariants:
//! - appended and written values are unique per key across the whole history (the analysis
//!   relies on a value naming the one operation that wrote it);
//! - an operation is recorded only once it returned, so every read holds the value it returned;
//! - [`Outcome::Aborted`] means the transaction certainly did not commit (it was rolled back, or
//!   its COMMIT failed with an error); a transaction whose COMMIT got no answer is
//!   [`Outcome::Unknown`].

use std::fmt;

/// A key of the workload's table.
pub type Key = i64;
/// An element appended to a list, or a value written to a register.
pub type Elem = i64;

/// One operation inside a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// List-append: append `value` to the list at `key`.
    Append { key: Key, value: Elem },
    /// List-append: the whole list at `key` as read (an absent row is the empty list).
    Read { key: Key, value: Vec<Elem> },
    /// Register: set `key` to `value`.
    Write { key: Key, value: Elem },
    /// Register: the value read at `key` (`None`: never written).
    ReadRegister { key: Key, value: Option<Elem> },
    /// List-append: a predicate read of every row with `lo <= key <= hi`, as (key, list) pairs.
    /// A key of the history in the range but absent from `rows` was read as the empty list by
    /// the predicate (its rw edges are predicate anti-dependencies: G2 rather than G2-item).
    ReadRange { lo: Key, hi: Key, rows: Vec<(Key, Vec<Elem>)> },
}

fn list(value: &[Elem]) -> String {
    let items: Vec<String> = value.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(" "))
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Append { key, value } => write!(f, "append({key}, {value})"),
            Op::Read { key, value } => write!(f, "read({key}) = {}", list(value)),
            Op::Write { key, value } => write!(f, "write({key}, {value})"),
            Op::ReadRegister { key, value: Some(v) } => write!(f, "read({key}) = {v}"),
            Op::ReadRegister { key, value: None } => write!(f, "read({key}) = nil"),
            Op::ReadRange { lo, hi, rows } => {
                let rows: Vec<String> =
                    rows.iter().map(|(k, v)| format!("{k}: {}", list(v))).collect();
                write!(f, "read({lo}..={hi}) = {{{}}}", rows.join(", "))
            }
        }
    }
}

/// How a transaction ended, as far as its client knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// COMMIT succeeded.
    Committed,
    /// Certainly not committed.
    Aborted,
    /// COMMIT was sent and no answer came (connection lost, server killed).
    Unknown,
}

/// One transaction as its client saw it.
#[derive(Clone, Debug)]
pub struct Txn {
    /// Position in [`History::txns`]; names the transaction in reports (`T<id>`).
    pub id: usize,
    /// The client (connection slot) that ran it.
    pub client: usize,
    /// The operations that returned, in order.
    pub ops: Vec<Op>,
    pub outcome: Outcome,
    /// Microseconds since the start of the run, when BEGIN was sent and when the outcome came.
    pub start_us: u64,
    pub end_us: u64,
    /// The error that ended it, if any (`SQLSTATE: message`).
    pub error: Option<String>,
}

/// A whole run's transactions.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub txns: Vec<Txn>,
}

impl History {
    /// Adds a transaction and returns its id.
    pub fn push(&mut self, client: usize, ops: Vec<Op>, outcome: Outcome) -> usize {
        let id = self.txns.len();
        let at = self.txns.last().map_or(0, |t| t.end_us + 1);
        self.txns.push(Txn { id, client, ops, outcome, start_us: at, end_us: at, error: None });
        id
    }

    /// Counts of committed, aborted and unknown transactions.
    pub fn outcome_counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for t in &self.txns {
            match t.outcome {
                Outcome::Committed => counts.0 += 1,
                Outcome::Aborted => counts.1 += 1,
                Outcome::Unknown => counts.2 += 1,
            }
        }
        counts
    }
}

impl fmt::Display for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops: Vec<String> = self.ops.iter().map(|o| o.to_string()).collect();
        let outcome = match self.outcome {
            Outcome::Committed => "committed",
            Outcome::Aborted => "aborted",
            Outcome::Unknown => "outcome unknown",
        };
        write!(f, "T{} (client {}, {outcome}): {}", self.id, self.client, ops.join(", "))
    }
}
