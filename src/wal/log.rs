//! The write-ahead log: segment files of checksummed frames of records, group commit, and the
//! reading side of recovery.
//!
//! FORMAT. The log is a sequence of records numbered from 0 (a record's number is its LSN).
//! It lives in segment files `wal/<first LSN, 16 hex digits>.wal`, each opening with a header
//! (`ISOLAWAL`, format version, first LSN, CRC32 of those). After the header come frames:
//! `payload length u32 | CRC32 u32 | first LSN u64 | record count u32 | payload`, the CRC
//! covering LSN, count and payload. A frame is what one flush wrote: every record appended since
//! the previous flush. A record is never split across frames or segments.
//!
//! GROUP COMMIT. Committers append records to an in-memory buffer (under the caller's commit
//! order, so log order = commit order) and then wait until their LSN is durable. The first
//! waiter to find no flush running becomes the leader: it takes the whole buffer, writes it as
//! one frame, `fdatasync`s, marks everything in it durable and wakes the others. Records
//! appended while it flushed go out together in the next frame, so one fsync serves many
//! commits and throughput grows with the number of committers.
//!
//! ONE FRAME IN FLIGHT. A frame is written only after the previous one was synced, so a crash
//! can damage only the last frame of the last segment. Recovery therefore treats a bad frame
//! that ends the log (cut short, or complete with a bad checksum and nothing after it) as a
//! torn tail: it is cut off and the log continues from there. Any other bad frame, a gap in
//! the LSNs or a bad header in an older segment is corruption: recovery refuses, naming the
//! file and the offset.
//!
//! ASYNC WAITERS. A task on the server's runtime must not block on the disk: it waits with
//! [`Log::durable`], which asks the log's writer thread to lead a flush now and sleeps until
//! the durable LSN (published on a watch channel after every flush) reaches its record. The
//! writer joins the same group commit as the blocking waiters.
//!
//! REPLICATED. In a cluster the log has no segment files of its own: [`Log::replicated`]
//! hands each record, encoded, in LSN order, to a [`Shipper`] (the consensus layer), and a
//! record is durable once a majority of the replicas hold it and it was applied in order: the
//! consensus layer then calls [`Log::mark_durable`]. Waiting is the same as for a local log;
//! [`Log::fail`] (the leader lost leadership) ends every wait with 08007, outcome unknown.
//! Each shipped record carries the core's SAFE SNAPSHOT mark (the state after it is one a
//! read-only serializable transaction may read without taking part in an anomaly; see
//! `txn/mvcc.rs`), and [`Log::append_safe_marker`] ships an empty record that only carries
//! the mark. A local log has no use for it and ignores it.
//!
//! FAIL-STOP. If a write or sync fails, the log records the failure and every later append
//! and wait returns it: the database stops accepting writes instead of carrying on with an
//! unknown durable state.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::encoding::CommitBatch;
use super::encoding::{Decoder, Encoder, Record};
use super::storage::{Storage, StorageFile};
use crate::error::{Error, Result};

/// A record's number in the log.
pub type Lsn = u64;

const SEGMENT_MAGIC: &[u8; 8] = b"ISOLAWAL";
/// The on-disk format version; recovery refuses any other.
pub const FORMAT_VERSION: u32 = 1;
const SEGMENT_HEADER: usize = 24;
const FRAME_HEADER: usize = 20;

/// Settings of the log.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// A new segment starts once the current one is this large.
    pub segment_size: u64,
    /// How long records appended without a waiter (synchronous_commit = off) may stay unwritten.
    pub writer_delay: Duration,
    /// Fill new segments with zeros up front (see `Log::create_segment`).
    pub preallocate: bool,
    /// A pause before each frame is written and synced: a slow disk for tests and experiments
    /// (`isola serve --sync-delay-ms`), so that commits stay appended but not durable (not
    /// even written: a SIGKILL then loses them) long enough to be seen in that state. Zero
    /// in normal use.
    pub sync_delay: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_size: 16 << 20,
            writer_delay: Duration::from_millis(10),
            preallocate: true,
            sync_delay: Duration::ZERO,
        }
    }
}

/// Counters for benchmarks and introspection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    pub records: u64,
    pub frames: u64,
    pub syncs: u64,
    pub bytes: u64,
}

/// Where a replicated log's records go: the consensus layer, which calls [`Log::mark_durable`]
/// once a record is durable on a majority and applied.
pub trait Shipper: Send + Sync {
    /// Takes record `lsn`, encoded (empty: a safe-snapshot marker, no record). `safe_snapshot`:
    /// the state after this record is a safe snapshot (see `txn/mvcc.rs`, SAFE SNAPSHOTS).
    /// Called in LSN order under the log's lock: must not block.
    fn ship(&self, lsn: Lsn, record: Vec<u8>, safe_snapshot: bool);
}

/// The write-ahead log, open for appending.
pub struct Log {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    options: LogOptions,
    state: Mutex<AppendState>,
    flushed: Condvar,
    /// The durable LSN after each flush (or failed flush), for async waiters.
    durable_watch: tokio::sync::watch::Sender<Lsn>,
    /// Set (and signalled) to make the writer thread flush now instead of at its next tick.
    flush_request: Arc<(Mutex<bool>, Condvar)>,
    /// The segment appended to (`None` for a replicated log).
    writer: Mutex<Option<SegmentWriter>>,
    /// A replicated log's consensus layer.
    shipper: Option<Arc<dyn Shipper>>,
    syncs: AtomicU64,
    frames: AtomicU64,
    bytes: AtomicU64,
}

struct AppendState {
    /// Encoded records not yet written.
    buffer: Vec<u8>,
    /// The LSN of the first record in `buffer`.
    buffered_from: Lsn,
    /// The LSN the next appended record gets.
    next: Lsn,
    /// Every record below this LSN is durable.
    durable: Lsn,
    /// A leader is writing and syncing a frame.
    flushing: bool,
    /// The write or sync that failed: the log accepts nothing more.
    failed: Option<String>,
}

struct SegmentWriter {
    file: Box<dyn StorageFile>,
    path: PathBuf,
    /// Bytes in the current segment.
    size: u64,
}

/// A segment file: its first LSN and path.
#[derive(Clone, Debug)]
struct Segment {
    first: Lsn,
    path: PathBuf,
}

fn segment_name(first: Lsn) -> String {
    format!("{first:016x}.wal")
}

fn segments(storage: &dyn Storage, dir: &Path) -> Result<Vec<Segment>> {
    let mut out = Vec::new();
    for name in storage.list(dir).map_err(|e| io_error(dir, e))? {
        let Some(stem) = name.strip_suffix(".wal") else { continue };
        let Ok(first) = Lsn::from_str_radix(stem, 16) else { continue };
        out.push(Segment { first, path: dir.join(name) });
    }
    out.sort_by_key(|s| s.first);
    Ok(out)
}

/// An I/O failure on a file, naming it.
pub(super) fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

fn segment_header(first: Lsn) -> Vec<u8> {
    let mut h = Vec::with_capacity(SEGMENT_HEADER);
    h.extend_from_slice(SEGMENT_MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&first.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a segment header; `Err` says what is wrong with it.
fn check_segment_header(data: &[u8], first: Lsn) -> std::result::Result<(), String> {
    if data.len() < SEGMENT_HEADER {
        return Err(format!("header cut short ({} bytes)", data.len()));
    }
    let crc = u32::from_le_bytes(data[20..24].try_into().expect("4 bytes"));
    if crc32fast::hash(&data[..20]) != crc || &data[..8] != SEGMENT_MAGIC {
        return Err("bad header".into());
    }
    let version = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(format!("format version {version}, this isola reads {FORMAT_VERSION}"));
    }
    let named = u64::from_le_bytes(data[12..20].try_into().expect("8 bytes"));
    if named != first {
        return Err(format!("header says first LSN {named}, the name says {first}"));
    }
    Ok(())
}

fn frame(first: Lsn, count: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(FRAME_HEADER + payload.len());
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&first.to_le_bytes());
    f.extend_from_slice(&count.to_le_bytes());
    f.extend_from_slice(payload);
    let crc = crc32fast::hash(&f[8..]);
    f[4..8].copy_from_slice(&crc.to_le_bytes());
    f
}

/// What reading a log found, besides the records it handed over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// The LSN the next record gets.
    pub next: Lsn,
    /// Records handed to `apply`.
    pub applied: u64,
    /// A torn tail was cut off: `(file, offset, bytes dropped)`.
    pub torn_tail: Option<(PathBuf, u64, u64)>,
}

impl Log {
    /// Opens the log in `dir`, handing every record with LSN >= `from` to `apply` in order,
    /// cutting off a torn tail, then opens it for appending. A new log starts at `from`.
    pub fn open(
        storage: Arc<dyn Storage>,
        dir: &Path,
        from: Lsn,
        options: LogOptions,
        mut apply: impl FnMut(Lsn, Record) -> Result<()>,
    ) -> Result<(Arc<Log>, Replay)> {
        storage.create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let mut segs = segments(&*storage, dir)?;
        let mut replay = Replay { next: from, ..Replay::default() };
        // Skip segments that end before `from`; the one holding `from` must exist.
        let start = segs.iter().rposition(|s| s.first <= from);
        if let (None, Some(first)) = (start, segs.first()) {
            return Err(Error::Corrupt(format!(
                "the log must hold LSN {from} but starts at {} ({})",
                first.first,
                first.path.display()
            )));
        }
        let start = start.unwrap_or(0);
        let mut expected: Option<Lsn> = None;
        let mut end_of_last = 0;
        for i in start..segs.len() {
            let seg = segs[i].clone();
            let last = i + 1 == segs.len();
            let data = storage.read(&seg.path).map_err(|e| io_error(&seg.path, e))?;
            if let Some(exp) = expected
                && exp != seg.first
            {
                return Err(Error::Corrupt(format!(
                    "{}: the log jumps from LSN {exp} to {} (a segment is missing)",
                    seg.path.display(),
                    seg.first
                )));
            }
            if let Err(what) = check_segment_header(&data, seg.first) {
                let empty = data.iter().skip(SEGMENT_HEADER).all(|&b| b == 0);
                if last && empty && i > start {
                    // A segment being created when the machine stopped: nothing in it.
                    storage.remove(&seg.path).map_err(|e| io_error(&seg.path, e))?;
                    storage.sync_dir(dir).map_err(|e| io_error(dir, e))?;
                    segs.pop();
                    break;
                }
                return Err(Error::Corrupt(format!("{} at offset 0: {what}", seg.path.display())));
            }
            let mut offset = SEGMENT_HEADER;
            let mut lsn = seg.first;
            let all_zero = |from: usize| data.get(from..).is_none_or(|r| r.iter().all(|&b| b == 0));
            while offset < data.len() {
                let at = |why: &str| {
                    Error::Corrupt(format!("{} at offset {offset}: {why}", seg.path.display()))
                };
                let rest = &data[offset..];
                if all_zero(offset) {
                    break; // the end of the log: preallocated space (or nothing) follows
                }
                if rest.len() < FRAME_HEADER {
                    if last {
                        break;
                    }
                    return Err(at("a frame header cut short"));
                }
                let len = u32::from_le_bytes(rest[0..4].try_into().expect("4")) as usize;
                let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4"));
                if rest.len() - FRAME_HEADER < len {
                    if last {
                        break;
                    }
                    return Err(at("a frame cut short"));
                }
                let body = &rest[8..FRAME_HEADER + len];
                if crc32fast::hash(body) != crc {
                    if last && all_zero(offset + FRAME_HEADER + len) {
                        break; // the last frame was being written: torn
                    }
                    return Err(at("checksum mismatch in a frame followed by more log"));
                }
                let first = u64::from_le_bytes(rest[8..16].try_into().expect("8"));
                let count = u32::from_le_bytes(rest[16..20].try_into().expect("4"));
                if first != lsn {
                    return Err(at(&format!("frame starts at LSN {first}, expected {lsn}")));
                }
                let mut d = Decoder::new(&rest[FRAME_HEADER..FRAME_HEADER + len]);
                for _ in 0..count {
                    let record =
                        d.record().map_err(|e| at(&format!("undecodable record: {}", e.0)))?;
                    if lsn >= from {
                        apply(lsn, record)?;
                        replay.applied += 1;
                    }
                    lsn += 1;
                }
                if !d.is_empty() {
                    return Err(at("bytes after the frame's records"));
                }
                offset += FRAME_HEADER + len;
            }
            if !all_zero(offset) {
                // Zero the torn bytes, so later frames written here are followed by zeros.
                let garbage =
                    data.iter().rposition(|&b| b != 0).expect("not all zero") + 1 - offset;
                let mut file = storage.open_write(&seg.path).map_err(|e| io_error(&seg.path, e))?;
                file.write_at(offset as u64, &vec![0; garbage])
                    .and_then(|()| file.sync_data())
                    .map_err(|e| io_error(&seg.path, e))?;
                replay.torn_tail = Some((seg.path.clone(), offset as u64, garbage as u64));
            }
            end_of_last = offset as u64;
            expected = Some(lsn);
            replay.next = lsn.max(from);
        }
        if let Some(exp) = expected
            && exp < from
        {
            return Err(Error::Corrupt(format!(
                "the log ends at LSN {exp} but the checkpoint needs it up to {from}"
            )));
        }
        // Append to the last segment, or start the first one.
        let (file, path, size) = match segs.last() {
            Some(seg) if expected.is_some() => {
                let file = storage.open_write(&seg.path).map_err(|e| io_error(&seg.path, e))?;
                (file, seg.path.clone(), end_of_last)
            }
            _ => {
                let (file, path) = Self::create_segment(&*storage, dir, replay.next, &options)?;
                (file, path, SEGMENT_HEADER as u64)
            }
        };
        let log = Arc::new(Log {
            storage,
            dir: dir.to_path_buf(),
            options,
            state: Mutex::new(AppendState {
                buffer: Vec::new(),
                buffered_from: replay.next,
                next: replay.next,
                durable: replay.next,
                flushing: false,
                failed: None,
            }),
            flushed: Condvar::new(),
            durable_watch: tokio::sync::watch::Sender::new(replay.next),
            flush_request: Arc::new((Mutex::new(false), Condvar::new())),
            writer: Mutex::new(Some(SegmentWriter { file, path, size })),
            shipper: None,
            syncs: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&log);
        let delay = log.options.writer_delay;
        let request = log.flush_request.clone();
        std::thread::Builder::new()
            .name("isola-wal-writer".into())
            .spawn(move || {
                // Sleep first: a commit acknowledged with synchronous_commit = off is only
                // promised to reach the disk within one delay, not at the writer's start. An
                // async waiter (`Log::durable`) wakes it early.
                loop {
                    {
                        let (requested, wake) = &*request;
                        let mut requested = requested.lock();
                        if !*requested {
                            wake.wait_for(&mut requested, delay);
                        }
                        *requested = false;
                    }
                    let Some(log) = weak.upgrade() else { break };
                    let _ = log.flush();
                }
            })
            .map_err(|e| Error::Io(format!("spawning the log writer: {e}")))?;
        Ok((log, replay))
    }

    /// Creates a segment: header, then (if configured) zeros up to the segment size, all
    /// synced, then the directory entry synced. Writing over preallocated zeros lets each
    /// commit's `fdatasync` skip the file-size metadata update (about a third of its cost here).
    fn create_segment(
        storage: &dyn Storage,
        dir: &Path,
        first: Lsn,
        options: &LogOptions,
    ) -> Result<(Box<dyn StorageFile>, PathBuf)> {
        let path = dir.join(segment_name(first));
        let mut file = storage.create(&path).map_err(|e| io_error(&path, e))?;
        file.append(&segment_header(first)).map_err(|e| io_error(&path, e))?;
        if options.preallocate {
            let zeros = vec![0u8; 1 << 20];
            let mut left = options.segment_size.saturating_sub(SEGMENT_HEADER as u64) as usize;
            while left > 0 {
                let n = left.min(zeros.len());
                file.append(&zeros[..n]).map_err(|e| io_error(&path, e))?;
                left -= n;
            }
        }
        file.sync_data().map_err(|e| io_error(&path, e))?;
        storage.sync_dir(dir).map_err(|e| io_error(dir, e))?;
        Ok((file, path))
    }

    /// Appends a record; returns the LSN to wait for ([`Log::wait_durable`]) to know it is on disk.
    pub fn append(&self, record: &Record) -> Result<Lsn> {
        let mut st = self.state.lock();
        if let Some(e) = &st.failed {
            return Err(self.failed_error(e));
        }
        if let Some(shipper) = &self.shipper {
            let mut encoded = Vec::new();
            Encoder(&mut encoded).record(record);
            return Ok(self.ship(&mut st, shipper, encoded, false));
        }
        Encoder(&mut st.buffer).record(record);
        st.next += 1;
        Ok(st.next)
    }

    /// A replicated log: records go to `shipper`, numbered from `first`; nothing is written
    /// here. `dir` is only a name for messages.
    pub fn replicated(
        storage: Arc<dyn Storage>,
        dir: &Path,
        first: Lsn,
        shipper: Arc<dyn Shipper>,
    ) -> Arc<Log> {
        Arc::new(Log {
            storage,
            dir: dir.to_path_buf(),
            options: LogOptions::default(),
            state: Mutex::new(AppendState {
                buffer: Vec::new(),
                buffered_from: first,
                next: first,
                durable: first,
                flushing: false,
                failed: None,
            }),
            flushed: Condvar::new(),
            durable_watch: tokio::sync::watch::Sender::new(first),
            flush_request: Arc::new((Mutex::new(false), Condvar::new())),
            writer: Mutex::new(None),
            shipper: Some(shipper),
            syncs: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    fn ship(
        &self,
        st: &mut AppendState,
        shipper: &Arc<dyn Shipper>,
        encoded: Vec<u8>,
        safe_snapshot: bool,
    ) -> Lsn {
        st.next += 1;
        self.bytes.fetch_add(encoded.len() as u64, Ordering::Relaxed);
        shipper.ship(st.next, encoded, safe_snapshot);
        st.next
    }

    /// A replicated log: ships an empty record marked as a safe snapshot (the state has not
    /// changed since the last record, but no serializable writer runs any more); returns its
    /// LSN. A local log: nothing (`None`).
    pub fn append_safe_marker(&self) -> Result<Option<Lsn>> {
        let mut st = self.state.lock();
        if let Some(e) = &st.failed {
            return Err(self.failed_error(e));
        }
        Ok(self.shipper.as_ref().map(|shipper| self.ship(&mut st, shipper, Vec::new(), true)))
    }

    /// A replicated log: every record up to `lsn` is durable on a majority and applied.
    pub fn mark_durable(&self, lsn: Lsn) {
        let mut st = self.state.lock();
        if st.failed.is_some() || lsn <= st.durable {
            return;
        }
        st.durable = lsn.min(st.next);
        self.flushed.notify_all();
        self.durable_watch.send_replace(st.durable);
    }

    /// Stops the log: every wait and later append fails with `reason` (08007 for a replicated
    /// log, whose records' fate is then unknown).
    pub fn fail(&self, reason: &str) {
        let mut st = self.state.lock();
        if st.failed.is_none() {
            st.failed = Some(reason.to_string());
        }
        self.flushed.notify_all();
        self.durable_watch.send_replace(st.durable);
    }

    /// Whether records go to a consensus layer instead of files.
    pub fn is_replicated(&self) -> bool {
        self.shipper.is_some()
    }

    fn failed_error(&self, failure: &str) -> Error {
        if self.shipper.is_some() {
            Error::OutcomeUnknown(failure.to_string())
        } else {
            Error::Io(failure.to_string())
        }
    }

    /// Appends a commit record (see [`Log::append`]).
    pub fn append_commit(&self, batch: &CommitBatch) -> Result<Lsn> {
        let writes =
            batch.writes.iter().map(|(table, key, row)| (*table, key.as_slice(), row.as_deref()));
        self.append_commit_rows(batch.txn, batch.commit_ts, &batch.ddl, writes, false)
    }

    /// Appends a commit record from borrowed rows (see `encoding::encode_commit_rows`): no
    /// batch is built. `safe_snapshot`: see [`Shipper::ship`] (a local log ignores it).
    pub fn append_commit_rows<'a, R: crate::types::encoding::EncodeRow + ?Sized + 'a>(
        &self,
        txn: u64,
        commit_ts: u64,
        ddl: &[super::DdlRecord],
        writes: impl ExactSizeIterator<Item = (u32, &'a [crate::types::Value], Option<&'a R>)>,
        safe_snapshot: bool,
    ) -> Result<Lsn> {
        let mut st = self.state.lock();
        if let Some(e) = &st.failed {
            return Err(self.failed_error(e));
        }
        if let Some(shipper) = &self.shipper {
            let mut encoded = Vec::new();
            super::encoding::encode_commit_rows(&mut encoded, txn, commit_ts, ddl, writes);
            return Ok(self.ship(&mut st, shipper, encoded, safe_snapshot));
        }
        super::encoding::encode_commit_rows(&mut st.buffer, txn, commit_ts, ddl, writes);
        st.next += 1;
        Ok(st.next)
    }

    /// Whether every record before `lsn` is durable.
    pub fn is_durable(&self, lsn: Lsn) -> bool {
        self.state.lock().durable >= lsn
    }

    /// The LSN the next record will get.
    pub fn next_lsn(&self) -> Lsn {
        self.state.lock().next
    }

    /// Waits until every record before `lsn` is durable, leading a flush if none is running.
    pub fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            if let Some(e) = &st.failed {
                return Err(self.failed_error(e));
            }
            if st.durable >= lsn {
                return Ok(());
            }
            if st.flushing || self.shipper.is_some() {
                self.flushed.wait(&mut st);
                continue;
            }
            // Lead: take everything appended so far as one frame.
            st.flushing = true;
            let payload = std::mem::take(&mut st.buffer);
            let first = st.buffered_from;
            let end = st.next;
            st.buffered_from = end;
            drop(st);
            let result = self.write_frame(first, (end - first) as u32, &payload);
            st = self.state.lock();
            st.flushing = false;
            match result {
                Ok(()) => st.durable = end,
                Err(e) => st.failed = Some(e.to_string()),
            }
            self.flushed.notify_all();
            self.durable_watch.send_replace(st.durable);
        }
    }

    /// [`Log::wait_durable`] for async code: the writer thread does the write and sync (in
    /// the same group commit as blocking waiters); the task sleeps until `lsn` is durable.
    pub async fn durable(&self, lsn: Lsn) -> Result<()> {
        let mut changed = self.durable_watch.subscribe();
        loop {
            {
                let st = self.state.lock();
                if let Some(e) = &st.failed {
                    return Err(self.failed_error(e));
                }
                if st.durable >= lsn {
                    return Ok(());
                }
            }
            let (requested, wake) = &*self.flush_request;
            *requested.lock() = true;
            wake.notify_one();
            // The sender lives as long as the log, which `self` keeps alive.
            let _ = changed.changed().await;
        }
    }

    /// Writes and syncs everything appended so far.
    pub fn flush(&self) -> Result<()> {
        let next = self.next_lsn();
        self.wait_durable(next)
    }

    fn write_frame(&self, first: Lsn, count: u32, payload: &[u8]) -> Result<()> {
        let data = frame(first, count, payload);
        let mut guard = self.writer.lock();
        let Some(w) = guard.as_mut() else { return Ok(()) };
        if w.size + data.len() as u64 > self.options.segment_size && w.size > SEGMENT_HEADER as u64
        {
            let (file, path) =
                Self::create_segment(&*self.storage, &self.dir, first, &self.options)?;
            *w = SegmentWriter { file, path, size: SEGMENT_HEADER as u64 };
            self.syncs.fetch_add(2, Ordering::Relaxed);
        }
        if !self.options.sync_delay.is_zero() {
            std::thread::sleep(self.options.sync_delay);
        }
        w.file.write_at(w.size, &data).map_err(|e| io_error(&w.path, e))?;
        w.file.sync_data().map_err(|e| io_error(&w.path, e))?;
        w.size += data.len() as u64;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Removes segments that hold only records before `lsn` (a checkpoint covers them).
    pub fn remove_before(&self, lsn: Lsn) -> Result<usize> {
        let w = self.writer.lock(); // no segment switch meanwhile
        if w.is_none() {
            return Ok(0); // replicated: the consensus layer's log is purged by it
        }
        let segs = segments(&*self.storage, &self.dir)?;
        let mut removed = 0;
        for pair in segs.windows(2) {
            if pair[1].first <= lsn {
                self.storage.remove(&pair[0].path).map_err(|e| io_error(&pair[0].path, e))?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.storage.sync_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        }
        Ok(removed)
    }

    /// The failure that stopped the log, if any.
    pub fn failure(&self) -> Option<String> {
        self.state.lock().failed.clone()
    }

    pub fn stats(&self) -> LogStats {
        LogStats {
            records: self.state.lock().next,
            frames: self.frames.load(Ordering::Relaxed),
            syncs: self.syncs.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;
    use crate::wal::storage::{FaultyStorage, TornTail};

    fn batch(i: u64) -> CommitBatch {
        CommitBatch {
            txn: i,
            commit_ts: i + 1,
            writes: vec![
                (
                    1,
                    crate::key![Value::Int(i as i64)],
                    Some(vec![Value::Int(i as i64), Value::Text("x".repeat(i as usize % 7))]),
                ),
                (1, crate::key![Value::Int(-(i as i64))], None),
            ],
            ddl: vec![],
        }
    }

    fn open(storage: &FaultyStorage) -> Result<(Arc<Log>, Vec<CommitBatch>, Replay)> {
        open_with(storage, false)
    }

    fn open_with(
        storage: &FaultyStorage,
        preallocate: bool,
    ) -> Result<(Arc<Log>, Vec<CommitBatch>, Replay)> {
        let mut seen = Vec::new();
        let options = LogOptions {
            segment_size: 4096,
            writer_delay: Duration::from_secs(3600),
            preallocate,
            sync_delay: Duration::ZERO,
        };
        let (log, replay) =
            Log::open(Arc::new(storage.clone()), Path::new("/wal"), 0, options, |_, r| {
                match r {
                    Record::Commit(b) => seen.push(b),
                    Record::Ddl(_) => {}
                }
                Ok(())
            })?;
        Ok((log, seen, replay))
    }

    /// A log of `n` commits, each flushed on its own (one frame each).
    fn small_log(n: u64) -> (FaultyStorage, Vec<u8>) {
        small_log_with(n, false)
    }

    fn small_log_with(n: u64, preallocate: bool) -> (FaultyStorage, Vec<u8>) {
        let storage = FaultyStorage::new();
        let (log, _, _) = open_with(&storage, preallocate).unwrap();
        for i in 0..n {
            let lsn = log.append_commit(&batch(i)).unwrap();
            log.wait_durable(lsn).unwrap();
        }
        let bytes = storage.contents(Path::new("/wal/0000000000000000.wal")).unwrap();
        (storage, bytes)
    }

    #[test]
    fn every_truncation_recovers_a_prefix_of_whole_commits() {
        // Without preallocation a crash cuts the file; with it, the bytes after the cut are
        // the zeros written at segment creation.
        for preallocate in [false, true] {
            let (storage, file) = small_log_with(6, preallocate);
            let data_end = file.iter().rposition(|&b| b != 0).unwrap() + 1;
            let (_, all, _) = open_with(&storage, preallocate).unwrap();
            assert_eq!(all, (0..6).map(batch).collect::<Vec<_>>());
            let mut frame_ends = vec![SEGMENT_HEADER];
            let mut at = SEGMENT_HEADER;
            while at < data_end {
                let len = u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
                at += FRAME_HEADER + len;
                frame_ends.push(at);
            }
            let path = Path::new("/wal/0000000000000000.wal");
            for cut in SEGMENT_HEADER..=data_end {
                let s = FaultyStorage::new();
                drop(open_with(&s, preallocate).unwrap());
                let mut damaged = file[..cut].to_vec();
                if preallocate {
                    damaged.resize(file.len(), 0);
                }
                s.overwrite(path, damaged);
                let (log, seen, replay) =
                    open_with(&s, preallocate).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
                // A frame whose cut-off bytes were zeros anyway is intact.
                let intact = |end: usize| {
                    end <= cut || (preallocate && file[cut..end].iter().all(|&b| b == 0))
                };
                let whole = frame_ends.iter().filter(|&&end| intact(end)).count() - 1;
                assert_eq!(seen, (0..whole as u64).map(batch).collect::<Vec<_>>(), "cut {cut}");
                if !preallocate {
                    assert_eq!(replay.torn_tail.is_some(), !frame_ends.contains(&cut), "cut {cut}");
                }
                // The log goes on after the cut: a new commit lands right after the prefix.
                let lsn = log.append_commit(&batch(100)).unwrap();
                log.wait_durable(lsn).unwrap();
                drop(log);
                let (_, again, _) = open_with(&s, preallocate).unwrap();
                assert_eq!(again.len(), whole + 1, "cut {cut}");
                assert_eq!(again.last(), Some(&batch(100)));
            }
        }
    }

    #[test]
    fn a_corrupt_frame_in_the_middle_is_refused_with_file_and_offset() {
        let (storage, bytes) = small_log(4);
        let path = Path::new("/wal/0000000000000000.wal");
        // Flip one byte in each position of the first frame: always refused, never a panic.
        let first_len =
            u32::from_le_bytes(bytes[SEGMENT_HEADER..SEGMENT_HEADER + 4].try_into().unwrap())
                as usize;
        for pos in SEGMENT_HEADER + 4..SEGMENT_HEADER + FRAME_HEADER + first_len {
            let mut bad = bytes.clone();
            bad[pos] ^= 0x5a;
            storage.overwrite(path, bad);
            let err = open(&storage).err().unwrap_or_else(|| panic!("flip at {pos} accepted"));
            let text = err.to_string();
            assert_eq!(err.sqlstate(), "XX001", "{text}");
            assert!(text.contains("0000000000000000.wal at offset 24"), "{text}");
        }
        // A flipped byte in the last frame looks like a torn write: cut, earlier commits kept.
        let mut bad = bytes.clone();
        let last = bad.len() - 3;
        bad[last] ^= 0x5a;
        storage.overwrite(path, bad);
        let (_, seen, replay) = open(&storage).unwrap();
        assert_eq!(seen.len(), 3);
        assert!(replay.torn_tail.is_some());
        // A bad segment header is refused.
        let mut bad = bytes.clone();
        bad[9] ^= 1;
        storage.overwrite(path, bad);
        assert!(open(&storage).err().unwrap().to_string().contains("at offset 0"));
    }

    #[test]
    fn segments_roll_over_and_old_ones_are_removed() {
        let storage = FaultyStorage::new();
        let options = LogOptions {
            segment_size: 400,
            writer_delay: Duration::from_secs(3600),
            preallocate: true,
            sync_delay: Duration::ZERO,
        };
        let (log, _) =
            Log::open(Arc::new(storage.clone()), Path::new("/wal"), 0, options.clone(), |_, _| {
                Ok(())
            })
            .unwrap();
        for i in 0..20 {
            let lsn = log.append_commit(&batch(i)).unwrap();
            log.wait_durable(lsn).unwrap();
        }
        let names = storage.list(Path::new("/wal")).unwrap();
        assert!(names.len() > 3, "{names:?}");
        assert!(log.remove_before(15).unwrap() > 0);
        drop(log);
        let mut seen = Vec::new();
        Log::open(Arc::new(storage.clone()), Path::new("/wal"), 15, options.clone(), |lsn, r| {
            seen.push((lsn, r));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.iter().map(|(l, _)| *l).collect::<Vec<_>>(), (15..20).collect::<Vec<_>>());
        // Asking for a position the remaining log no longer holds is refused.
        let err = Log::open(Arc::new(storage), Path::new("/wal"), 0, options, |_, _| Ok(()))
            .err()
            .unwrap();
        assert_eq!(err.sqlstate(), "XX001");
    }

    #[test]
    fn a_failed_sync_stops_the_log() {
        let storage = FaultyStorage::new();
        let (log, _, _) = open(&storage).unwrap();
        let lsn = log.append_commit(&batch(0)).unwrap();
        log.wait_durable(lsn).unwrap();
        storage.fail_after(1); // the next write succeeds, its sync fails
        let lsn = log.append_commit(&batch(1)).unwrap();
        let err = log.wait_durable(lsn).unwrap_err();
        assert_eq!(err.sqlstate(), "58030");
        assert!(log.failure().is_some());
        assert_eq!(log.append_commit(&batch(2)).unwrap_err().sqlstate(), "58030");
        drop(log);
        let storage = storage.crash(TornTail::Drop);
        let (_, seen, _) = open(&storage).unwrap();
        assert_eq!(seen, vec![batch(0)]);
    }

    #[test]
    fn concurrent_committers_share_fsyncs() {
        let storage = FaultyStorage::new();
        storage.set_sync_delay(Duration::from_millis(3));
        let (log, _, _) = open(&storage).unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..20 {
                        let lsn = log.append_commit(&batch(t * 100 + i)).unwrap();
                        log.wait_durable(lsn).unwrap();
                    }
                });
            }
        });
        let stats = log.stats();
        assert_eq!(stats.records, 160);
        assert!(stats.frames < 160, "{stats:?}");
        drop(log);
        let (_, seen, _) = open(&storage).unwrap();
        assert_eq!(seen.len(), 160);
    }
}
