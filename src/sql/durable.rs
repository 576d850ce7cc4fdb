//! A durable engine: opening a data directory (lock, recovery), checkpoints, and the
//! background checkpointer.
//!
//! DATA DIRECTORY. `LOCK` (held with an exclusive file lock while a process uses the
//! directory), `wal/` (log segments, see `wal/log.rs`) and `checkpoint/` (the newest
//! checkpoint, see `wal/checkpoint.rs`).
//!
//! RECOVERY. Newest checkpoint, then the log after it: (1) re-run the checkpoint's DDL history
//! on an empty engine, (2) load its rows as one commit at its snapshot timestamp, (3) replay the
//! log from the checkpoint's `replay_from`: commits above the snapshot timestamp, DDL from its
//! `ddl_from`, in log order, cutting a torn tail; (4) restore serial sequences (the
//! checkpoint's position, raised to the largest value in the column); (5) attach the log and,
//! if anything was replayed, write a checkpoint at once so the next recovery starts there.
//! Table ids are mapped from the ids a record was written with to the ids the replay gives.
//!
//! CHECKPOINTS run while transactions go on: the rows are read through a Repeatable Read
//! snapshot in pieces; the DDL history and the log positions are taken under the schema's read
//! lock (no DDL in between). A DDL that drops a table being read makes the checkpoint fail; the
//! next one starts over. After a checkpoint, log segments before its `replay_from` go.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::engine::Engine;
use crate::catalog::TableId;
use crate::error::{Error, Result};
use crate::txn::{CommitBatch, Database, DatabaseOptions};
use crate::types::Value;
use crate::wal::{
    CheckpointMeta, CheckpointReader, CheckpointWriter, Log, LogOptions, OsStorage, Record,
    Storage, read_latest_checkpoint,
};

/// Settings of a durable engine.
#[derive(Clone, Debug)]
pub struct DurableOptions {
    pub log: LogOptions,
    /// A checkpoint is taken this often if anything was logged since the last one.
    pub checkpoint_interval: Duration,
    /// ... or as soon as this many bytes were logged since the last one.
    pub checkpoint_log_bytes: u64,
    pub database: DatabaseOptions,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            log: LogOptions::default(),
            checkpoint_interval: Duration::from_secs(300),
            checkpoint_log_bytes: 256 << 20,
            database: DatabaseOptions::default(),
        }
    }
}

/// The files of a data directory in use.
pub struct DataFiles {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    /// One checkpoint at a time.
    checkpoint_lock: Mutex<CheckpointState>,
    /// Held for the life of the process (the lock is released when the file closes).
    _lock: Option<std::fs::File>,
}

#[derive(Default)]
struct CheckpointState {
    /// Log bytes written when the last checkpoint started.
    log_bytes_at_last: u64,
    records_at_last: u64,
}

/// What recovery found and did.
#[derive(Clone, Debug, Default)]
pub struct RecoveryReport {
    /// The checkpoint started from and its rows.
    pub checkpoint: Option<(PathBuf, u64)>,
    /// Log records replayed after it.
    pub replayed: u64,
    /// A torn tail cut off the log: file, offset, bytes dropped.
    pub torn_tail: Option<(PathBuf, u64, u64)>,
    pub elapsed: Duration,
}

/// What a checkpoint wrote.
#[derive(Clone, Debug)]
pub struct CheckpointReport {
    pub path: PathBuf,
    pub rows: u64,
    pub removed_segments: usize,
    pub elapsed: Duration,
}

/// Opens (creating if needed) the data directory `dir` on the real file system, holding its
/// lock, and recovers it.
pub fn open(dir: &Path, options: DurableOptions) -> Result<(Arc<Engine>, RecoveryReport)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let lock_path = dir.join("LOCK");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::Io(format!("{}: {e}", lock_path.display())))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::ObjectInUse(format!(
                "data directory \"{}\" is in use by another isola process (it holds {})",
                dir.display(),
                lock_path.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::Io(format!("locking {}: {e}", lock_path.display())));
        }
    }
    let _ = lock.set_len(0);
    let _ = std::io::Write::write_all(&mut &lock, format!("{}\n", std::process::id()).as_bytes());
    open_with(Arc::new(OsStorage), dir, options, Some(lock))
}

/// Opens and recovers a data directory on any storage (tests use a fault-injecting one).
pub fn open_with(
    storage: Arc<dyn Storage>,
    dir: &Path,
    options: DurableOptions,
    lock: Option<std::fs::File>,
) -> Result<(Arc<Engine>, RecoveryReport)> {
    let started = Instant::now();
    let engine = Engine::new(Database::with_options(options.database.clone()));
    let mut report = RecoveryReport::default();
    let mut ids: HashMap<TableId, TableId> = HashMap::new();
    let map = |ids: &HashMap<TableId, TableId>, t: TableId| {
        ids.get(&t).copied().ok_or_else(|| {
            Error::Corrupt(format!("a record names table {t}, which no DDL record created"))
        })
    };
    let ckpt_dir = dir.join("checkpoint");
    let checkpoint = read_latest_checkpoint(&*storage, &ckpt_dir)?;
    let meta = checkpoint.as_ref().map(|c| c.meta).unwrap_or(CheckpointMeta {
        snapshot_ts: 0,
        replay_from: 0,
        ddl_from: 0,
    });
    let mut sequences = Vec::new();
    if let Some(c) = &checkpoint {
        for ddl in &c.ddl {
            engine.replay_ddl(ddl, &mut ids)?;
        }
        c.for_each_rows(&mut |table, rows| {
            let table = map(&ids, table)?;
            let writes = rows.into_iter().map(|(k, r)| (table, k, Some(r))).collect();
            engine.db.replay_commit(&CommitBatch { txn: 0, commit_ts: meta.snapshot_ts, writes })
        })?;
        for &(table, column, value) in &c.sequences {
            sequences.push((map(&ids, table)?, column, value));
        }
        report.checkpoint = Some((c.path.clone(), c.rows));
    }
    engine.db.advance_commit_ts(meta.snapshot_ts);
    let (log, replay) = Log::open(
        storage.clone(),
        &dir.join("wal"),
        meta.replay_from,
        options.log.clone(),
        |lsn, record| match record {
            Record::Commit(batch) if batch.commit_ts <= meta.snapshot_ts => Ok(()),
            Record::Commit(mut batch) => {
                for w in &mut batch.writes {
                    w.0 = map(&ids, w.0)?;
                }
                engine.db.replay_commit(&batch)
            }
            Record::Ddl(_) if lsn < meta.ddl_from => Ok(()),
            Record::Ddl(ddl) => engine.replay_ddl(&ddl, &mut ids),
        },
    )?;
    report.replayed = replay.applied;
    report.torn_tail = replay.torn_tail.clone();
    restore_sequences(&engine, &sequences)?;
    engine.db.attach_log(log.clone());
    let files = Arc::new(DataFiles {
        storage,
        dir: dir.to_path_buf(),
        checkpoint_lock: Mutex::new(CheckpointState::default()),
        _lock: lock,
    });
    *engine.files.lock() = Some(files);
    let renumbered = ids.iter().any(|(a, b)| a != b);
    if report.replayed > 0 || renumbered || checkpoint.is_none() {
        engine.checkpoint()?;
    }
    report.elapsed = started.elapsed();
    spawn_checkpointer(Arc::downgrade(&engine), options);
    Ok((engine, report))
}

/// Sets each serial column's sequence to at least its checkpointed position and the largest
/// value in the column, so no value of a committed row is handed out again.
fn restore_sequences(engine: &Engine, saved: &[(TableId, u32, i64)]) -> Result<()> {
    let schema = engine.schema.read();
    for table in schema.tables.values() {
        let serial: Vec<usize> =
            (0..table.columns.len()).filter(|&c| table.columns[c].sequence.is_some()).collect();
        if serial.is_empty() {
            continue;
        }
        let mut txn = engine
            .db
            .begin(crate::txn::TxnOptions::new(crate::txn::IsolationLevel::RepeatableRead));
        let rows = txn.scan(table.id, (Bound::Unbounded, Bound::Unbounded))?;
        txn.rollback();
        for &c in &serial {
            let mut top = saved
                .iter()
                .filter(|(t, col, _)| *t == table.id && *col as usize == c)
                .map(|(_, _, v)| *v)
                .max()
                .unwrap_or(0);
            for (_, row) in &rows {
                if let Some(Value::Int(v)) = row.get(c) {
                    top = top.max(*v);
                }
            }
            let seq = table.columns[c].sequence.as_ref().expect("serial");
            seq.fetch_max(top, Ordering::SeqCst);
        }
    }
    Ok(())
}

fn spawn_checkpointer(engine: Weak<Engine>, options: DurableOptions) {
    let tick = Duration::from_millis(200).min(options.checkpoint_interval);
    let _ = std::thread::Builder::new().name("isola-checkpointer".into()).spawn(move || {
        let mut last = Instant::now();
        loop {
            std::thread::sleep(tick);
            let Some(engine) = engine.upgrade() else { return };
            let Some(files) = engine.files.lock().clone() else { return };
            let Some(log) = engine.db.log() else { return };
            let stats = log.stats();
            let (bytes_at_last, records_at_last) = {
                let s = files.checkpoint_lock.lock();
                (s.log_bytes_at_last, s.records_at_last)
            };
            let grown = stats.bytes.saturating_sub(bytes_at_last);
            let due = grown >= options.checkpoint_log_bytes
                || (last.elapsed() >= options.checkpoint_interval
                    && stats.records > records_at_last);
            if due && log.failure().is_none() {
                match engine.checkpoint() {
                    Ok(_) => last = Instant::now(),
                    Err(e) => eprintln!("isola: checkpoint failed (will retry): {e}"),
                }
            }
        }
    });
}

impl Engine {
    /// Writes a checkpoint now and removes the log it makes unnecessary.
    pub fn checkpoint(&self) -> Result<CheckpointReport> {
        let started = Instant::now();
        let files = self.files.lock().clone().ok_or_else(|| {
            Error::InvalidInput(
                "CHECKPOINT needs a durable database (this one is in memory)".into(),
            )
        })?;
        let log = self.db.log().ok_or_else(|| Error::Io("no log attached".into()))?;
        let mut state = files.checkpoint_lock.lock();
        let stats = log.stats();
        let schema = self.schema.read();
        let (mut txn, snapshot_ts, replay_from) = self.db.begin_checkpoint();
        let ddl_from = log.next_lsn();
        let history = self.ddl_history.lock().clone();
        let mut tables: Vec<TableId> = schema.tables.values().map(|t| t.id).collect();
        tables.sort();
        let mut sequences = Vec::new();
        for t in schema.tables.values() {
            for (i, c) in t.columns.iter().enumerate() {
                if let Some(seq) = &c.sequence {
                    sequences.push((t.id, i as u32, seq.load(Ordering::SeqCst)));
                }
            }
        }
        drop(schema);
        let meta = CheckpointMeta { snapshot_ts, replay_from, ddl_from };
        let mut writer =
            CheckpointWriter::begin(files.storage.clone(), &files.dir.join("checkpoint"), meta)?;
        for ddl in &history {
            writer.ddl(ddl)?;
        }
        for (table, column, value) in sequences {
            writer.sequence(table, column, value)?;
        }
        for table in tables {
            let mut from = Bound::Unbounded;
            loop {
                let rows = txn.scan_limited(table, (from, Bound::Unbounded), 4096)?;
                let Some((last, _)) = rows.last() else { break };
                from = Bound::Excluded(last.clone());
                writer.rows(table, &rows)?;
            }
        }
        txn.rollback();
        let (path, rows) = writer.finish()?;
        let removed_segments = log.remove_before(replay_from)?;
        state.log_bytes_at_last = stats.bytes;
        state.records_at_last = stats.records;
        Ok(CheckpointReport { path, rows, removed_segments, elapsed: started.elapsed() })
    }

    /// Whether this engine writes a log (not `--memory`).
    pub fn is_durable(&self) -> bool {
        self.files.lock().is_some()
    }
}
