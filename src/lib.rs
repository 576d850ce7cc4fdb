//! isola: a transactional SQL database that makes isolation levels real, visible and fast.
//!
//! The layers, bottom up; a layer uses only those before it (`tests/layering.rs` checks it;
//! `docs/architecture.md` is the map):
//!
//! - [`error`]: the core's error type, and [`error::SqlState`]: every SQLSTATE, named once.
//! - [`types`]: values, rows and keys.
//! - `catalog`: tables and indexes, and how keys are derived from rows.
//! - `storage`: the `VersionStore` trait (ordered version chains and index entries) and its
//!   in-memory implementation.
//! - [`wal`]: the write-ahead log (group commit, fail-stop, torn-tail recovery), checkpoints,
//!   and the file layer under them (with a fault-injecting one for tests).
//! - [`txn`]: the transactional core: MVCC visibility, the four isolation levels, row locks with
//!   deadlock detection, Serializable Snapshot Isolation, savepoints and garbage collection.
//! - [`durable`]: a data directory: its lock, recovery, checkpoints and the checkpointer.
//! - [`replication`]: Raft on openraft: the durable Raft log store (not yet the server's log).
//! - [`sql`]: the SQL layer, along its pipeline: parse, plan, execute, in a session.
//! - [`server`]: the PostgreSQL wire protocol.
//! - [`check`]: the history checker and workload driver behind `isola check`.

#![forbid(unsafe_code)]

pub(crate) mod catalog;
pub mod check;
pub mod durable;
pub mod error;
pub mod replication;
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
