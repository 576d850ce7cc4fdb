//! Durability: the write-ahead log, checkpoints, and the files under them.
//!
//! - `encoding.rs`: the byte format of values, rows and log records.
//! - `storage.rs`: the file layer ([`OsStorage`]) and a fault-injecting one for tests
//!   ([`FaultyStorage`]).
//! - `log.rs`: [`Log`]: segments of checksummed frames, group commit, fail-stop, and reading
//!   the log back at recovery (torn tail cut, corruption refused).
//! - `checkpoint.rs`: consistent snapshots of every table, written while transactions run.
//!
//! How they fit with the core and the SQL layer (recovery order, what is logged when) is in
//! `docs/durability.md`.

mod checkpoint;
mod encoding;
mod log;
mod storage;

pub use checkpoint::{
    BaseNames, Checkpoint, CheckpointMeta, CheckpointReader, CheckpointWriter,
    base_checkpoint_blob, parse as parse_checkpoint, read_latest_checkpoint,
};
pub use encoding::{CommitBatch, DdlRecord, DecodeError, Record, is_plain_commit};
pub use log::{FORMAT_VERSION, Log, LogOptions, LogStats, Lsn, Replay, Shipper};
pub use storage::{FaultyStorage, OsStorage, Storage, StorageFile, TornTail};

/// Decodes one record encoded by [`Log`] (a replicated log's entry payload).
pub fn decode_record(bytes: &[u8]) -> std::result::Result<Record, DecodeError> {
    let mut d = encoding::Decoder::new(bytes);
    let record = d.record()?;
    if !d.is_empty() {
        return Err(DecodeError("bytes after the record".into()));
    }
    Ok(record)
}
