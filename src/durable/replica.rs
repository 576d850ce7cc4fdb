//! A replica's data directory: what the durable layer does for a member of a Raft group.
//!
//! A replica has no `wal/`: its log is the Raft log (`raft/`, owned by `replication`), whose
//! entries carry the records a local log would hold. What stays here:
//!
//! - RECOVERY loads the newest checkpoint only; the consensus layer then re-applies the
//!   committed entries after it ([`apply_record`]). The checkpoint carries the consensus
//!   layer's state (the last applied Raft log id and membership) as opaque bytes.
//! - APPLYING an entry decodes its record and applies it: a commit's DDL, then its rows at
//!   this database's next commit timestamp (`Database::apply_replicated`); a sequence mark.
//! - CHECKPOINTS are the Raft snapshots: [`CheckpointCut::take`] under the consensus layer's
//!   apply lock (so the cut and the applied position agree), written by
//!   [`CheckpointCut::write`]; a snapshot received from the leader is installed by
//!   [`install_checkpoint`].
//!
//! Invariant: table ids are the leader's. A replica replays DDL in log order from the same
//! start, so its catalog numbers tables as the leader did; `ids` maps any id a checkpoint
//! renumbered.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{
    CheckpointState, DataFiles, DurableCatalog, RecoveryReport, load_checkpoint, restore_sequences,
};
use crate::catalog::TableId;
use crate::error::{Error, Result};
use crate::wal::{Record, Storage, read_latest_checkpoint};

/// What a replica's recovery found.
pub struct ReplicaRecovery {
    pub files: Arc<DataFiles>,
    pub report: RecoveryReport,
    /// The consensus layer's state saved with the checkpoint.
    pub consensus: Option<Vec<u8>>,
    /// Logged table ids to this process's ids.
    pub ids: HashMap<TableId, TableId>,
}

/// Recovers a replica's data directory `dir` into `catalog` (empty): the newest checkpoint;
/// the database is left in standby until the consensus layer makes it the leader.
pub fn recover_replica<C: DurableCatalog>(
    catalog: &Arc<C>,
    storage: Arc<dyn Storage>,
    dir: &Path,
    lock: Option<std::fs::File>,
) -> Result<ReplicaRecovery> {
    let started = std::time::Instant::now();
    let db = catalog.database();
    db.step_down("this replica is starting");
    let mut report = RecoveryReport::default();
    let mut ids = HashMap::new();
    let mut consensus = None;
    if let Some(c) = read_latest_checkpoint(&*storage, &dir.join("checkpoint"))? {
        let sequences = load_checkpoint(&**catalog, &c, &mut ids)?;
        restore_sequences(&**catalog, &sequences)?;
        report.checkpoint = Some((c.path.clone(), c.rows));
        consensus = c.consensus.clone();
    }
    let files = Arc::new(DataFiles {
        storage,
        dir: dir.to_path_buf(),
        checkpoint_lock: Mutex::new(CheckpointState::default()),
        base: None,
        _lock: lock,
    });
    report.elapsed = started.elapsed();
    Ok(ReplicaRecovery { files, report, consensus, ids })
}

/// Applies one replicated record (encoded by `wal::Log`) to a replica that is not leading.
pub fn apply_record(
    catalog: &dyn DurableCatalog,
    bytes: &[u8],
    ids: &mut HashMap<TableId, TableId>,
) -> Result<()> {
    let record = crate::wal::decode_record(bytes)
        .map_err(|e| Error::Corrupt(format!("an undecodable replicated record: {}", e.0)))?;
    match record {
        Record::Commit(mut batch) => {
            for ddl in &batch.ddl {
                catalog.replay_ddl(ddl, ids)?;
            }
            for w in &mut batch.writes {
                w.0 = ids.get(&w.0).copied().unwrap_or(w.0);
            }
            catalog.database().apply_replicated(&batch)?;
            Ok(())
        }
        Record::Ddl(ddl) => catalog.replay_ddl(&ddl, ids),
    }
}

/// Whether nothing was ever applied to this replica's database (a snapshot can be loaded
/// into it in place).
pub fn is_empty(catalog: &dyn DurableCatalog) -> bool {
    let mut empty = true;
    catalog.with_stable_catalog(&mut |cut| empty = cut.ddl_history.is_empty());
    empty && catalog.database().last_commit_ts() == 0
}

/// Installs a checkpoint received from the leader (a Raft snapshot): written into the
/// directory as its newest checkpoint, then, if the database is still empty, loaded into it.
/// Returns false if the database is not empty: the process must then restart to start from
/// it (a replica's in-memory state cannot be swapped under running sessions).
pub fn install_checkpoint(
    catalog: &dyn DurableCatalog,
    files: &DataFiles,
    data: &[u8],
    ids: &mut HashMap<TableId, TableId>,
) -> Result<bool> {
    let dir = files.dir.join("checkpoint");
    let parsed = crate::wal::parse_checkpoint(dir.join("received"), data.to_vec())?;
    let storage = &files.storage;
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", dir.display()));
    storage.create_dir_all(&dir).map_err(io)?;
    let name = format!("{:016x}.ckpt", parsed.meta.replay_from);
    let (tmp, path) = (dir.join(format!("{name}.tmp")), dir.join(&name));
    let mut file = storage.create(&tmp).map_err(io)?;
    file.append(data).map_err(io)?;
    file.sync_data().map_err(io)?;
    drop(file);
    storage.rename(&tmp, &path).map_err(io)?;
    for old in storage.list(&dir).map_err(io)? {
        if old != name && old.ends_with(".ckpt") {
            storage.remove(&dir.join(&old)).map_err(io)?;
        }
    }
    storage.sync_dir(&dir).map_err(io)?;
    if !is_empty(catalog) {
        return Ok(false);
    }
    let sequences = load_checkpoint(catalog, &parsed, ids)?;
    restore_sequences(catalog, &sequences)?;
    Ok(true)
}

/// The bytes of the newest checkpoint file (a snapshot to send).
pub fn read_checkpoint_file(files: &DataFiles, path: &Path) -> Result<Vec<u8>> {
    files.storage.read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}
