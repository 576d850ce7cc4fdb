//! isola: a transactional SQL database that makes isolation levels real, visible and fast.
//!
//! The layers, bottom up (see `docs/architecture.md`):
//!
//! - [`types`]: values, rows and keys.
//! - `catalog`: tables and indexes, and how keys are derived from rows.
//! - `storage`: the `storage::VersionStore` trait (ordered version chains and index entries)
//!   and its in-memory implementation.
//! - [`txn`]: the transactional core: MVCC visibility, the four isolation levels, row locks with
//!   deadlock detection, Serializable Snapshot Isolation, savepoints and garbage collection.
//! - [`wal`]: durability: the write-ahead log (group commit, fail-stop, torn-tail recovery),
//!   checkpoints, and the file layer under them (with a fault-injecting one for tests).
//! - [`sql`]: the SQL layer (sessions, planner, executor, system views, and `sql::durable`:
//!   opening a data directory, recovery, checkpoints); [`server`]: the PostgreSQL wire protocol.
//! - [`check`]: the history checker and workload driver behind `isola check`.
//! - [`error`]: the one error type, with SQLSTATE codes and readable explanations.

#![forbid(unsafe_code)]

pub(crate) mod catalog;
pub mod check;
pub mod durable;
pub mod error;
pub mod server;
pub mod sql;
pub(crate) mod storage;
pub mod txn;
pub mod types;
pub mod wal;

pub use error::{Error, Result};
pub use txn::{
    Change, CommitBatch, CommitInfo, Database, DatabaseOptions, IsolationLevel, LockMode,
    LockOutcome, Modified, Transaction, TxnOptions, WaitPolicy,
};
pub use types::{Key, KeyRange, Row, Value};
