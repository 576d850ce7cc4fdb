//! Storage: where row versions and index entries live.
//!
//! The transactional core ([`crate::txn`]) decides visibility, locking and conflicts; it reaches
//! data only through the [`VersionStore`] trait. [`MemoryStore`] keeps chains in memory, over
//! an optional on-disk [`Base`] (a redb file written only by checkpoints) that holds the rows
//! memory does not.

mod base;
mod engine;
mod memory;

pub use base::{Base, BaseName, BaseWrite};
pub use engine::{
    BASE_CREATOR, BasePlan, CommitTs, SubTxnId, TxnId, Version, VersionChain, VersionStore,
};
pub use memory::MemoryStore;
