//! The durable layer: a data directory under the core database. It owns the directory's lock,
//! recovery (checkpoint, then the log), checkpoints and the background checkpointer, below the
//! SQL layer: the catalog above it (the SQL schema, which is re-made from logged DDL text) is
//! reached through the [`DurableCatalog`] trait, so this layer imports nothing of `sql`.
//!
//! DATA DIRECTORY. `LOCK` (held with an exclusive file lock while a process uses the
//! directory), `wal/` (log segments, see `wal/log.rs`) and `checkpoint/` (the newest
//! checkpoint, see `wal/checkpoint.rs`).
//!
//! RECOVERY. Newest checkpoint, then the log after it: (1) re-run the checkpoint's DDL history
//! on an empty engine, (2) load its rows as one commit at its snapshot timestamp, (3) replay the
//! log from the checkpoint's `replay_from`: commits above the snapshot timestamp, DDL from its
//! `ddl_from`, in log order, cutting a torn tail; (4) restore serial sequences (the
//! checkpoint's position, raised to the largest value in the column); (5) attach the log. If
//! anything was replayed, the background checkpointer writes a checkpoint on its first round,
//! so the next recovery starts there, while the server already answers (at once, before
//! answering, only for an empty directory or when table ids were renumbered). Recovery loads
//! a checkpoint's rows in bulk, a table at a time (`Database::load_committed_rows`).
//! Table ids are mapped from the ids a record was written with to the ids the replay gives.
//!
//! CHECKPOINTS run while transactions go on: the rows are read through a Repeatable Read
//! snapshot in pieces; the DDL history and the log positions are taken under the schema's read
//! lock (no DDL in between). A DDL that drops a table being read makes the checkpoint fail; the
//! next one starts over. After a checkpoint, log segments before its `replay_from` go.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

mod base;
mod replica;

pub use replica::{
    ReplicaRecovery, apply_record, install_checkpoint, is_empty, read_checkpoint_file,
    recover_replica,
};

use crate::catalog::{IndexId, TableId};
use crate::error::{Error, Result};
use crate::storage::Base;
use crate::txn::{BaseCut, Database, DatabaseOptions};
use crate::wal::DdlRecord;
use crate::wal::{
    CheckpointMeta, CheckpointReader, CheckpointWriter, Log, LogOptions, Record, Storage,
    read_latest_checkpoint,
};

/// Settings of a durable engine.
#[derive(Clone, Debug)]
pub struct DurableOptions {
    pub log: LogOptions,
    /// A checkpoint is taken this often if anything was logged since the last one.
    pub checkpoint_interval: Duration,
    /// ... or as soon as this many bytes were logged since the last one.
    pub checkpoint_log_bytes: u64,
    /// ... or as soon as schema changes built this many index entries since the last one
    /// (replaying CREATE INDEX or ADD PRIMARY KEY builds the index again: ~0.4 s per
    /// 1,000,000 entries, measured at scale 20, while its log record is a few bytes).
    pub checkpoint_index_entries: u64,
    /// Rows on disk: the data directory keeps a base of the rows (`base.redb`, written by
    /// checkpoints) and memory only what changed since or was read back. `None`: every row
    /// in memory, the checkpoint a file of all of them (replicas, simulated storage).
    pub base: Option<BaseOptions>,
    pub database: DatabaseOptions,
}

impl Default for BaseOptions {
    /// Half of the machine's memory.
    fn default() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let total_kb: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(2 << 20);
        BaseOptions { memory_limit: (total_kb << 10) / 2 }
    }
}

/// Settings of the on-disk base (see [`DurableOptions::base`]).
#[derive(Clone, Copy, Debug)]
pub struct BaseOptions {
    /// The server's resident memory the store aims to stay within: past 60% of it a
    /// checkpoint comes early, and after a checkpoint past 50% the rows the base holds leave
    /// memory. A quarter of it is the base's page cache.
    pub memory_limit: u64,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            log: LogOptions::default(),
            checkpoint_interval: Duration::from_secs(300),
            checkpoint_log_bytes: 256 << 20,
            checkpoint_index_entries: 500_000,
            base: None,
            database: DatabaseOptions::default(),
        }
    }
}

/// What the durable layer needs of the catalog above it (the SQL engine implements it).
pub trait DurableCatalog: Send + Sync + 'static {
    /// The core database the catalog's tables live in.
    fn database(&self) -> &Database;
    /// Recovery: re-runs a logged DDL record. A table it creates may get another id than it had
    /// when logged; `ids` maps logged ids to current ones.
    fn replay_ddl(&self, record: &DdlRecord, ids: &mut HashMap<TableId, TableId>) -> Result<()>;
    /// Calls `f` with the catalog as a checkpoint persists it, under the catalog's read lock
    /// (no DDL runs until `f` returns).
    fn with_stable_catalog(&self, f: &mut dyn FnMut(&CatalogCut));
    /// The serial columns: (table, column, the column's sequence).
    fn serial_columns(&self) -> Vec<(TableId, usize, Arc<AtomicI64>)>;
    /// The data directory's files, once recovery attached them.
    fn data_files(&self) -> Option<Arc<DataFiles>>;
}

/// The catalog at one moment, as a checkpoint writes it.
pub struct CatalogCut {
    /// Every DDL record that shaped the catalog, in order, with the table ids of this process.
    pub ddl_history: Vec<DdlRecord>,
    pub tables: Vec<TableId>,
    /// (table, column, the sequence's position)
    pub sequences: Vec<(TableId, u32, i64)>,
    /// The sequences' positions as DDL records that raise them on replay; called after the
    /// checkpoint's log position is taken, so a position moved since is either read here or
    /// in a record the replay reads.
    pub sequence_marks: Box<dyn Fn() -> Vec<DdlRecord>>,
}

/// The files of a data directory in use.
pub struct DataFiles {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    /// One checkpoint at a time.
    checkpoint_lock: Mutex<CheckpointState>,
    /// The on-disk base of the rows, and its settings.
    base: Option<(Arc<Base>, BaseOptions)>,
    /// Held for the life of the process (the lock is released when the file closes).
    _lock: Option<std::fs::File>,
}

#[derive(Default)]
struct CheckpointState {
    /// Log bytes written when the last checkpoint started.
    log_bytes_at_last: u64,
    records_at_last: u64,
    /// `Database::index_entries_built` when the last checkpoint started.
    index_entries_at_last: u64,
    /// Recovery replayed log records no checkpoint holds yet: the checkpointer's next round
    /// writes one.
    replayed_since: bool,
}

impl DataFiles {
    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The storage its files are on.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }
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
    /// Where the time went, phase by phase (reading the checkpoint, loading its rows, the log,
    /// the checkpoint taken after replay), for the log line and benchmarks.
    pub phases: Vec<(&'static str, Duration)>,
}

impl RecoveryReport {
    /// `read checkpoint 0.412s, load rows 3.100s, ...`
    pub fn phases_text(&self) -> String {
        let parts: Vec<String> = self
            .phases
            .iter()
            .map(|(name, took)| format!("{name} {:.3}s", took.as_secs_f64()))
            .collect();
        parts.join(", ")
    }
}

/// What a checkpoint wrote.
#[derive(Clone, Debug)]
pub struct CheckpointReport {
    pub path: PathBuf,
    pub rows: u64,
    /// Rows that left memory after it (the base holds them).
    pub evicted: usize,
    pub removed_segments: usize,
    pub elapsed: Duration,
}

/// Creates (if needed) and locks the data directory `dir` on the real file system; the lock
/// is held while the returned file is open.
pub fn lock_data_dir(dir: &Path) -> Result<std::fs::File> {
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
    Ok(lock)
}

/// Recovers the data directory `dir` on `storage` into `catalog` (whose database and schema are
/// empty): the newest checkpoint, then the log after it; attaches the log, and takes a
/// checkpoint if anything was replayed. The caller attaches the files it returns to the
/// catalog, then starts [`spawn_checkpointer`].
pub fn recover<C: DurableCatalog>(
    catalog: &Arc<C>,
    storage: Arc<dyn Storage>,
    dir: &Path,
    options: &DurableOptions,
    lock: Option<std::fs::File>,
) -> Result<(Arc<DataFiles>, RecoveryReport)> {
    let started = Instant::now();
    let db = catalog.database();
    let mut report = RecoveryReport::default();
    let mut ids: HashMap<TableId, TableId> = HashMap::new();
    let map = |ids: &HashMap<TableId, TableId>, t: TableId| {
        ids.get(&t).copied().ok_or_else(|| {
            Error::Corrupt(format!("a record names table {t}, which no DDL record created"))
        })
    };
    let ckpt_dir = dir.join("checkpoint");
    let mut phase = Instant::now();
    let mut lap = |report: &mut RecoveryReport, name: &'static str| {
        report.phases.push((name, phase.elapsed()));
        phase = Instant::now();
    };
    // A directory whose rows are in a base keeps them there, flag or not.
    let settings = options.base.or_else(|| {
        storage.list(dir).ok()?.iter().any(|n| n == "base.redb").then(BaseOptions::default)
    });
    let base = match (settings, &lock) {
        (Some(settings), Some(_)) => {
            let cache = (settings.memory_limit / 4).max(16 << 20) as usize;
            Some((Arc::new(Base::open(&dir.join("base.redb"), cache)?), settings))
        }
        _ => None,
    };
    let in_base = match &base {
        Some((b, _)) => b.checkpoint()?,
        None => None,
    };
    let checkpoint = match in_base {
        Some(blob) => Some(crate::wal::parse_checkpoint(dir.join("base.redb"), blob)?),
        None => read_latest_checkpoint(&*storage, &ckpt_dir)?,
    };
    lap(&mut report, "read checkpoint");
    let meta = checkpoint.as_ref().map(|c| c.meta).unwrap_or(CheckpointMeta {
        snapshot_ts: 0,
        replay_from: 0,
        ddl_from: 0,
    });
    let mut sequences = Vec::new();
    if let Some(c) = &checkpoint {
        sequences = load_checkpoint(&**catalog, c, &mut ids)?;
        report.checkpoint = Some((c.path.clone(), c.rows));
        lap(&mut report, "load checkpoint");
    }
    if let Some((base, _)) = &base {
        let names = checkpoint.as_ref().and_then(|c| c.base_names.clone()).unwrap_or_default();
        let tables: Vec<(TableId, u64)> = names
            .tables
            .iter()
            .map(|&(t, n)| Ok((map_table(&ids, t)?, n)))
            .collect::<Result<_>>()?;
        db.attach_base(base.clone(), &tables, &names.indexes, meta.snapshot_ts)?;
    }
    db.advance_commit_ts(meta.snapshot_ts);
    let (log, replay) = Log::open(
        storage.clone(),
        &dir.join("wal"),
        meta.replay_from,
        options.log.clone(),
        |lsn, record| match record {
            Record::Commit(batch) if batch.commit_ts <= meta.snapshot_ts => Ok(()),
            Record::Commit(mut batch) => {
                // The transaction's schema changes first: its rows may be in a table it made.
                for ddl in &batch.ddl {
                    catalog.replay_ddl(ddl, &mut ids)?;
                }
                for w in &mut batch.writes {
                    w.0 = map(&ids, w.0)?;
                }
                db.replay_commit(batch)
            }
            Record::Ddl(_) if lsn < meta.ddl_from => Ok(()),
            Record::Ddl(ddl) => catalog.replay_ddl(&ddl, &mut ids),
        },
    )?;
    report.replayed = replay.applied;
    report.torn_tail = replay.torn_tail.clone();
    restore_sequences(&**catalog, &sequences)?;
    lap(&mut report, "replay log");
    db.attach_log(log.clone());
    let files = Arc::new(DataFiles {
        storage,
        dir: dir.to_path_buf(),
        checkpoint_lock: Mutex::new(CheckpointState {
            replayed_since: report.replayed > 0,
            ..CheckpointState::default()
        }),
        base,
        _lock: lock,
    });
    let renumbered = ids.iter().any(|(a, b)| a != b);
    if renumbered || checkpoint.is_none() {
        checkpoint_now(&**catalog, &files)?;
        lap(&mut report, "checkpoint");
    }
    report.elapsed = started.elapsed();
    Ok((files, report))
}

/// Loads a checkpoint into an empty catalog and database: its DDL history, then its rows as
/// one commit at its snapshot timestamp. Returns its sequence positions (table ids mapped).
fn load_checkpoint(
    catalog: &dyn DurableCatalog,
    c: &crate::wal::Checkpoint,
    ids: &mut HashMap<TableId, TableId>,
) -> Result<Vec<(TableId, u32, i64)>> {
    let db = catalog.database();
    for ddl in &c.ddl {
        catalog.replay_ddl(ddl, ids)?;
    }
    // A table's rows, decoded on every core, load in bulk.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    c.for_each_table(threads, &mut |table, rows| {
        db.load_committed_rows(map_table(ids, table)?, rows, c.meta.snapshot_ts)
    })?;
    let mut sequences = Vec::new();
    for &(table, column, value) in &c.sequences {
        sequences.push((map_table(ids, table)?, column, value));
    }
    db.advance_commit_ts(c.meta.snapshot_ts);
    Ok(sequences)
}

/// A logged table id as this process numbers it.
fn map_table(ids: &HashMap<TableId, TableId>, t: TableId) -> Result<TableId> {
    ids.get(&t).copied().ok_or_else(|| {
        Error::Corrupt(format!("a record names table {t}, which no DDL record created"))
    })
}

/// Sets each serial column's sequence to at least its checkpointed position and the largest
/// value in the column, so no value of a committed row is handed out again.
pub(crate) fn restore_sequences(
    catalog: &dyn DurableCatalog,
    saved: &[(TableId, u32, i64)],
) -> Result<()> {
    let mut by_table: HashMap<TableId, Vec<(usize, Arc<AtomicI64>)>> = HashMap::new();
    for (table, column, seq) in catalog.serial_columns() {
        by_table.entry(table).or_default().push((column, seq));
    }
    for (table, serial) in by_table {
        let columns: Vec<usize> = serial.iter().map(|(c, _)| *c).collect();
        let maxima = catalog.database().column_maxima(table, &columns);
        for ((c, seq), in_rows) in serial.iter().zip(maxima) {
            let saved = saved
                .iter()
                .filter(|(t, col, _)| *t == table && *col as usize == *c)
                .map(|(_, _, v)| *v)
                .max();
            let top = saved.into_iter().chain(in_rows).max().unwrap_or(0);
            seq.fetch_max(top, Ordering::SeqCst);
        }
    }
    Ok(())
}

/// Starts the background checkpointer: it runs while `catalog` lives and has data files.
pub fn spawn_checkpointer<C: DurableCatalog>(catalog: Weak<C>, options: DurableOptions) {
    let tick = Duration::from_millis(200).min(options.checkpoint_interval);
    let _ = std::thread::Builder::new().name("isola-checkpointer".into()).spawn(move || {
        let mut last = Instant::now();
        loop {
            std::thread::sleep(tick);
            let Some(catalog) = catalog.upgrade() else { return };
            let Some(files) = catalog.data_files() else { return };
            let Some(log) = catalog.database().log() else { return };
            let stats = log.stats();
            let (bytes_at_last, records_at_last, replayed_since, built_at_last) = {
                let s = files.checkpoint_lock.lock();
                (s.log_bytes_at_last, s.records_at_last, s.replayed_since, s.index_entries_at_last)
            };
            let grown = stats.bytes.saturating_sub(bytes_at_last);
            let built = catalog.database().index_entries_built().saturating_sub(built_at_last);
            // Rows on disk: memory past 60% of the limit brings the checkpoint that lets the
            // rows it writes leave memory (at most one a second).
            let memory_full = files.base.as_ref().is_some_and(|(_, settings)| {
                stats.records > records_at_last
                    && last.elapsed() >= Duration::from_secs(1)
                    && resident_bytes() > settings.memory_limit / 10 * 6
            });
            let due = replayed_since
                || memory_full
                || grown >= options.checkpoint_log_bytes
                || built >= options.checkpoint_index_entries
                || (last.elapsed() >= options.checkpoint_interval
                    && stats.records > records_at_last);
            if due && log.failure().is_none() {
                match checkpoint_now(&*catalog, &files) {
                    Ok(_) => last = Instant::now(),
                    Err(e) => eprintln!("isola: checkpoint failed (will retry): {e}"),
                }
            }
        }
    });
}

/// The process's resident memory in bytes (0 where `/proc` cannot tell).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Writes a checkpoint now and removes the log it makes unnecessary.
pub fn checkpoint_now(catalog: &dyn DurableCatalog, files: &DataFiles) -> Result<CheckpointReport> {
    let db = catalog.database();
    let log = db.log().ok_or_else(|| Error::Io("no log attached".into()))?;
    let mut state = files.checkpoint_lock.lock();
    let stats = log.stats();
    let built = db.index_entries_built();
    let cut = CheckpointCut::take_for(catalog, Some(&log), files.base.is_some());
    let replay_from = cut.meta.replay_from;
    let mut report = cut.write(files, None)?;
    report.removed_segments = log.remove_before(replay_from)?;
    state.log_bytes_at_last = stats.bytes;
    state.records_at_last = stats.records;
    state.replayed_since = false;
    state.index_entries_at_last = built;
    Ok(report)
}

/// The moment a checkpoint copies: a Repeatable Read snapshot and the catalog as of then.
pub struct CheckpointCut {
    started: Instant,
    txn: crate::txn::Transaction,
    meta: CheckpointMeta,
    history: Vec<DdlRecord>,
    tables: Vec<TableId>,
    sequences: Vec<(TableId, u32, i64)>,
    /// What goes into the on-disk base, when the rows are kept there.
    base: Option<BaseCut>,
}

impl CheckpointCut {
    /// Takes the cut now (quickly: the rows are read by [`CheckpointCut::write`]). With a
    /// local log, its positions go into the checkpoint; a replica's are the caller's.
    pub fn take(catalog: &dyn DurableCatalog, log: Option<&Arc<Log>>) -> CheckpointCut {
        Self::take_for(catalog, log, false)
    }

    /// [`CheckpointCut::take`]; with `into_base`, of a store over an on-disk base (the
    /// checkpoint writes what changed into the base rather than every row into a file).
    pub fn take_for(
        catalog: &dyn DurableCatalog,
        log: Option<&Arc<Log>>,
        into_base: bool,
    ) -> CheckpointCut {
        let started = Instant::now();
        let db = catalog.database();
        let mut taken = None;
        catalog.with_stable_catalog(&mut |cut| {
            let mut tables = cut.tables.clone();
            tables.sort();
            let (txn, snapshot_ts, replay_from, base) = if into_base {
                db.begin_base_checkpoint(&tables)
            } else {
                let (txn, snapshot_ts, replay_from) = db.begin_checkpoint();
                (txn, snapshot_ts, replay_from, None)
            };
            let ddl_from = log.map(|l| l.next_lsn()).unwrap_or(0);
            let mut history = cut.ddl_history.clone();
            history.extend((cut.sequence_marks)());
            taken = Some(CheckpointCut {
                started,
                txn,
                meta: CheckpointMeta { snapshot_ts, replay_from, ddl_from },
                history,
                tables,
                sequences: cut.sequences.clone(),
                base,
            });
        });
        taken.expect("the catalog called back")
    }

    /// A replica's cut: named by `position` (its last applied Raft index).
    pub fn at_position(mut self, position: u64) -> CheckpointCut {
        self.meta.replay_from = position;
        self.meta.ddl_from = 0;
        self
    }

    /// Writes the checkpoint (with the consensus layer's `consensus` state, for a replica).
    pub fn write(self, files: &DataFiles, consensus: Option<&[u8]>) -> Result<CheckpointReport> {
        let CheckpointCut { started, mut txn, meta, history, tables, sequences, base } = self;
        if let Some(cut) = base {
            let db = txn.database().clone();
            let written = base::write_into_base(&mut txn, &cut, meta, &history, &sequences);
            txn.rollback();
            let indexes: Vec<(IndexId, TableId)> = cut
                .indexes
                .iter()
                .flat_map(|(&t, defs)| defs.iter().map(move |d| (d.id, t)))
                .collect();
            db.end_base_checkpoint(cut, written.is_ok(), meta.snapshot_ts);
            let (path, rows) = written?;
            // Past half of the limit, what the base now holds leaves memory.
            let mut evicted = 0;
            if let Some((_, settings)) = &files.base
                && resident_bytes() > settings.memory_limit / 2
            {
                evicted = db.evict_clean();
                // Entries of rows never read back (an index built over rows on disk).
                for (index, table) in indexes {
                    db.drop_entries_of_rows_on_disk(index, table);
                }
            }
            // The base supersedes any checkpoint file (a directory from before the base).
            let dir = files.dir.join("checkpoint");
            for name in files.storage.list(&dir).map_err(|e| Error::Io(e.to_string()))? {
                if name.ends_with(".ckpt") {
                    let old = dir.join(&name);
                    files.storage.remove(&old).map_err(|e| Error::Io(e.to_string()))?;
                }
            }
            return Ok(CheckpointReport {
                path,
                rows,
                evicted,
                removed_segments: 0,
                elapsed: started.elapsed(),
            });
        }
        let mut writer =
            CheckpointWriter::begin(files.storage.clone(), &files.dir.join("checkpoint"), meta)?;
        if let Some(state) = consensus {
            writer.consensus(state)?;
        }
        for ddl in &history {
            writer.ddl(ddl)?;
        }
        for (table, column, value) in sequences {
            writer.sequence(table, column, value)?;
        }
        for table in tables {
            let mut from = Bound::Unbounded;
            loop {
                let rows = txn.scan_limited_packed(table, (from, Bound::Unbounded), 4096)?;
                let Some((last, _)) = rows.last() else { break };
                from = Bound::Excluded(last.clone());
                writer.rows(table, &rows)?;
            }
        }
        txn.rollback();
        let (path, rows) = writer.finish()?;
        Ok(CheckpointReport {
            path,
            rows,
            evicted: 0,
            removed_segments: 0,
            elapsed: started.elapsed(),
        })
    }
}
