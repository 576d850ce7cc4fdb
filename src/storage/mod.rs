//! Storage: where row versions and index entries live.
//!
//! The transactional core ([`crate::txn`]) decides visibility, locking and conflicts; it reaches
//! data only through the [`VersionStore`] trait, so a disk-resident engine can replace
//! [`MemoryStore`] without touching the transaction logic.

mod engine;
mod memory;

pub use engine::{CommitTs, SubTxnId, TxnId, Version, VersionChain, VersionStore};
pub use memory::MemoryStore;
