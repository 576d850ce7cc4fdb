//! The transactional core: MVCC storage with all four isolation levels, row locks, deadlock
//! detection, Serializable Snapshot Isolation and savepoints.
//!
//! - `mvcc.rs`: [`Database`], the shared state under one mutex: snapshots, visibility, version
//!   installation and undo, commit and rollback, garbage collection.
//! - `transaction.rs`: [`Transaction`], the per-transaction API (get, scan, insert, modify,
//!   lock, savepoints, commit, rollback) and the per-level write rules.
//! - `locks.rs`: row-lock modes, FIFO queues and deadlock detection.
//! - `ssi.rs`: read tracking, rw-antidependencies and the dangerous-structure checks.
//! - `trace.rs`: what one statement did in the core, for EXPLAIN ANALYZE's isolation report.
//!
//! `docs/isolation.md` states what each level allows and forbids; the scripts in
//! `tests/scripts/` show it step by step.

mod locks;
mod mvcc;
mod ssi;
mod trace;
mod transaction;

pub use crate::storage::TxnId;
pub use locks::{LockMode, WaitPolicy};
pub use mvcc::{
    BaseCut, CommitBatch, Database, DatabaseOptions, IsolationLevel, LockRow, Stats, TxnOptions,
};
pub use trace::IsolationReport;
pub use transaction::{
    AnswerWait, Change, CommitInfo, CommitProgress, CommitWait, LockOutcome, Modified,
    TaskWaitPoll, Transaction,
};
