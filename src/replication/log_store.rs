//! The durable Raft log: openraft's `RaftLogStorage` and `RaftLogReader` over segment files of
//! checksummed frames, written by one flusher thread with group commit.
//!
//! FILES. A directory holds:
//!
//! ```text
//! 0000000000000001.rlog   segments, named by the index of their first entry (16 hex digits)
//! vote                    the last saved vote
//! committed               the last saved committed log id
//! purged                  the last purged log id
//! ```
//!
//! A segment opens with a 24-byte header (`ISOLARFT`, format version, first index, CRC32 of
//! those), then frames `body length u32 | CRC32 of body u32 | body`, as `wal/log.rs` frames
//! them. A body is either ENTRIES (`1 | first index u64 | count u32 | entries`, each entry
//! postcard-encoded with its log id and payload) or TRUNCATE (`2 | last kept index u64`: the
//! entries after that index, written earlier in this segment, are gone). The small files are
//! `ISOLAMET | version u32 | length u32 | CRC32 | postcard value`, replaced by writing
//! `name.tmp`, `fsync`, rename, `fsync` of the directory: a reader sees the old or the new value.
//!
//! GROUP COMMIT, ONE FRAME IN FLIGHT. `append` puts the entries in memory (readable at once)
//! and queues them to the flusher thread. The flusher takes every append queued, writes them
//! as ONE frame, `fdatasync`s, and only then reports each append flushed. A frame is written only
//! after the previous one was synced, so a crash can damage only the last frame of the last
//! segment. Truncation, purge and the small files go through the same queue, so all writes
//! reach the disk in the order openraft issued them.
//!
//! TRUNCATE deletes the segments that begin after the kept index (newest first, syncing the
//! directory after each, so a crash never leaves a hole) and, if the segment now last still
//! holds entries past it, appends a TRUNCATE frame to it. No byte already synced is rewritten.
//! PURGE first saves the purged log id, then deletes the oldest segments whose entries are all
//! purged; recovery finishes a purge a crash interrupted.
//!
//! RECOVERY (`LogStore::open`). In the last segment, a frame cut short, a bad checksum in a
//! frame followed only by zeros (or nothing), or zeros to the end is a torn tail: the file is
//! cut there. Anything else wrong (a bad frame followed by more log, a gap in the indexes, a bad
//! header, an undecodable entry, a bad small file) is corruption: `open` fails naming the file
//! and offset.
//!
//! MEMORY. Every entry not purged is kept in memory (the reader serves from it): the log is
//! expected to be purged at each checkpoint (the snapshot).
//!
//! COST. Measured here (debug build, 100-byte records): an append waited for alone takes one
//! `fdatasync` (~110 µs); appends queued together share it (~7.5 µs each for 300 queued). A
//! `save_committed` is a hint, not a promise: openraft awaits it before every apply, so it is
//! queued for the flusher and not waited for (waiting held Raft's core behind the fsync in
//! flight at every commit), then written in place without a sync, after the appends queued
//! with it (a durable replacement cost three syncs, ~11 ms of a 20 ms commit on this
//! machine's disk). After a crash it may be older than it was, or torn (then it
//! reads as unknown): recovery then re-applies less at startup and the leader's commit index
//! brings the rest; it is never newer than the entries, which are synced before it moves.
//!
//! FAIL-STOP. After a failed write or sync, every later write fails: the store accepts nothing
//! until it is reopened, as `wal/` does.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::{Bound, RangeBounds};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Entry, LogId, LogIndex, LogRecord, TypeConfig, Vote};
use crate::error::{Error, Result};

const SEGMENT_MAGIC: &[u8; 8] = b"ISOLARFT";
const META_MAGIC: &[u8; 8] = b"ISOLAMET";
/// The on-disk format version of segments and small files; recovery refuses any other.
pub const FORMAT_VERSION: u32 = 1;
const SEGMENT_HEADER: usize = 24;
const FRAME_HEADER: usize = 8;
const META_HEADER: usize = 20;
const KIND_ENTRIES: u8 = 1;
const KIND_TRUNCATE: u8 = 2;

/// Settings of the log store.
#[derive(Clone, Debug)]
pub struct LogStoreOptions {
    /// A new segment starts once the current one is this large.
    pub segment_size: u64,
}

impl Default for LogStoreOptions {
    fn default() -> Self {
        LogStoreOptions { segment_size: 16 << 20 }
    }
}

/// What opening the store found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// A torn tail was cut off: `(file, offset, bytes dropped)`.
    pub torn_tail: Option<(PathBuf, u64, u64)>,
    /// Entries read back (not counting purged ones).
    pub entries: u64,
}

/// The state readers see: entries not purged, and the saved vote and log ids.
#[derive(Default)]
struct Memory {
    entries: BTreeMap<LogIndex, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    purged: Option<LogId>,
}

/// The durable Raft log, open for writing (openraft's `RaftLogStorage`).
pub struct LogStore {
    memory: Arc<RwLock<Memory>>,
    /// The write or sync that failed, shared with the flusher: the store accepts nothing more.
    failed: Arc<Mutex<Option<String>>>,
    commands: Option<mpsc::Sender<Command>>,
    flusher: Option<JoinHandle<()>>,
    recovery: Recovery,
    committed_hint: CommittedHint,
}

/// How often at most the committed log id's hint is queued on its own: openraft saves the
/// committed id at every advance of the commit index, once per commit on every member, and
/// each hint woke the flusher thread and cost a write. Measured (3-member group, pgbench
/// TPC-B-like, 8 clients): a thread wake-up and four system calls per commit on every member.
const COMMITTED_HINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// The committed id's hint not yet queued: it rides with the next append, or goes on its own
/// once [`COMMITTED_HINT_INTERVAL`] has passed since the last one was queued, or when the store
/// is dropped. Held back, the hint on disk is older than it could be, which a hint may be.
#[derive(Default)]
struct CommittedHint {
    queued_at: Option<std::time::Instant>,
    held: Option<Vec<u8>>,
}

/// A reader of the log (openraft's `RaftLogReader`), cheap to clone.
#[derive(Clone)]
pub struct LogReader {
    memory: Arc<RwLock<Memory>>,
}

type Done = tokio::sync::oneshot::Sender<io::Result<()>>;

/// A write for the flusher thread, carried out in queue order.
enum Command {
    Append {
        first: LogIndex,
        last: LogIndex,
        encoded: Vec<u8>,
        flushed: IOFlushed<TypeConfig>,
        /// The committed log id's hint held back since the last one written (see
        /// [`CommittedHint`]), written after these entries are synced.
        committed: Option<Vec<u8>>,
    },
    /// Reports `flushed` once every earlier command is done (an append of no entries).
    Barrier {
        flushed: IOFlushed<TypeConfig>,
    },
    Truncate {
        keep: Option<LogIndex>,
        done: Done,
    },
    Purge {
        upto: LogId,
        done: Done,
    },
    Save {
        name: &'static str,
        value: Vec<u8>,
        done: Done,
    },
    /// The committed log id, encoded: a hint written in place, unsynced, and waited for by
    /// no one. openraft saves it at every advance of the commit index; waiting for it held
    /// Raft's core behind the fsync in flight, once per commit (with 8 clients, a commit
    /// round cost ~8 ms instead of ~1.5 ms). Several queued together: the last is written.
    Committed {
        value: Vec<u8>,
    },
}

fn corrupt(path: &Path, offset: u64, what: &str) -> Error {
    Error::Corrupt(format!("{} at offset {offset}: {what}", path.display()))
}

fn io_error(path: &Path, e: io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

fn to_io(e: Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn segment_path(dir: &Path, first: LogIndex) -> PathBuf {
    dir.join(format!("{first:016x}.rlog"))
}

/// The first indexes of the segments in `dir`, in order.
fn list_segments(dir: &Path) -> Result<Vec<LogIndex>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let name = e.map_err(|e| io_error(dir, e))?.file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name.strip_suffix(".rlog") else { continue };
        if let Ok(first) = LogIndex::from_str_radix(stem, 16) {
            out.push(first);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"))
}

fn segment_header(first: LogIndex) -> Vec<u8> {
    let mut h = Vec::with_capacity(SEGMENT_HEADER);
    h.extend_from_slice(SEGMENT_MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&first.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a segment header; `Err` says what is wrong with it.
fn check_segment_header(data: &[u8], first: LogIndex) -> std::result::Result<(), String> {
    if data.len() < SEGMENT_HEADER {
        return Err(format!("header cut short ({} bytes)", data.len()));
    }
    if &data[..8] != SEGMENT_MAGIC || crc32fast::hash(&data[..20]) != u32_at(data, 20) {
        return Err("bad segment header".into());
    }
    let version = u32_at(data, 8);
    if version != FORMAT_VERSION {
        return Err(format!("format version {version}, this isola reads {FORMAT_VERSION}"));
    }
    let named = u64_at(data, 12);
    if named != first {
        return Err(format!("header says first index {named}, the name says {first}"));
    }
    Ok(())
}

/// A frame around `body`: length, CRC32, body.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(FRAME_HEADER + body.len());
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    f.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    f.extend_from_slice(body);
    f
}

fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A small file's bytes: magic, format version, length, CRC, then `value`.
fn meta_file(value: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(META_HEADER + value.len());
    data.extend_from_slice(META_MAGIC);
    data.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    data.extend_from_slice(&(value.len() as u32).to_le_bytes());
    data.extend_from_slice(&crc32fast::hash(value).to_le_bytes());
    data.extend_from_slice(value);
    data
}

/// Writes a small file atomically and durably: `name.tmp`, fsync, rename, fsync of the dir.
fn write_meta(dir: &Path, name: &str, value: &[u8]) -> Result<()> {
    let data = meta_file(value);
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let write = || -> io::Result<()> {
        let file = File::create(&tmp)?;
        file.write_all_at(&data, 0)?;
        file.sync_all()
    };
    write().map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
    sync_dir(dir)
}

/// Writes the committed log id in place, unsynced (see the module doc: a hint).
fn write_hint(dir: &Path, name: &str, value: &[u8]) -> Result<()> {
    let data = meta_file(value);
    let path = dir.join(name);
    let write = || -> io::Result<()> {
        let file =
            std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(&path)?;
        file.write_all_at(&data, 0)?;
        file.set_len(data.len() as u64)
    };
    write().map_err(|e| io_error(&path, e))
}

/// Reads a small file written by [`write_meta`]; `None` if it was never written.
fn read_meta<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>> {
    let path = dir.join(name);
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path, e)),
    };
    if data.len() < META_HEADER || &data[..8] != META_MAGIC {
        return Err(corrupt(&path, 0, "bad header"));
    }
    let version = u32_at(&data, 8);
    if version != FORMAT_VERSION {
        let what = format!("format version {version}, this isola reads {FORMAT_VERSION}");
        return Err(corrupt(&path, 8, &what));
    }
    let value = &data[META_HEADER..];
    if u32_at(&data, 12) as usize != value.len() || crc32fast::hash(value) != u32_at(&data, 16) {
        return Err(corrupt(&path, META_HEADER as u64, "checksum mismatch"));
    }
    let value = postcard::from_bytes(value)
        .map_err(|e| corrupt(&path, META_HEADER as u64, &format!("undecodable: {e}")))?;
    Ok(Some(value))
}

/// The log as recovery reads it from the segments.
#[derive(Default)]
struct Scan {
    entries: BTreeMap<LogIndex, Entry>,
    /// The last index of the log on disk (after truncations), if any entry was read.
    last: Option<LogIndex>,
    /// The first index of the segment being read.
    segment_first: LogIndex,
    torn_tail: Option<(PathBuf, u64, u64)>,
}

impl Scan {
    /// Reads one segment's frames into the scan; in the last segment a torn tail is cut off.
    fn segment(&mut self, path: &Path, first: LogIndex, last_segment: bool) -> Result<()> {
        let data = std::fs::read(path).map_err(|e| io_error(path, e))?;
        if let Err(what) = check_segment_header(&data, first) {
            return Err(corrupt(path, 0, &what));
        }
        if let Some(last) = self.last
            && last + 1 != first
        {
            let what = format!("the log jumps from index {last} to {first} (a segment is missing)");
            return Err(corrupt(path, 0, &what));
        }
        self.segment_first = first;
        let mut offset = SEGMENT_HEADER;
        while offset < data.len() {
            let rest = &data[offset..];
            let torn = match Self::frame_body(rest) {
                Ok(body) => {
                    self.body(body).map_err(|what| corrupt(path, offset as u64, &what))?;
                    offset += FRAME_HEADER + body.len();
                    continue;
                }
                Err(torn) => torn,
            };
            if !last_segment || !(torn || rest.iter().all(|&b| b == 0)) {
                return Err(corrupt(path, offset as u64, "a bad frame followed by more log"));
            }
            let cut = || -> io::Result<()> {
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(offset as u64)?;
                file.sync_all()
            };
            cut().map_err(|e| io_error(path, e))?;
            self.torn_tail = Some((path.to_path_buf(), offset as u64, rest.len() as u64));
            break;
        }
        Ok(())
    }

    /// The body of the frame `rest` starts with, or `Err(torn)`: `torn` when the frame could be
    /// the unfinished last write (cut short, or a bad checksum and nothing but zeros after it).
    fn frame_body(rest: &[u8]) -> std::result::Result<&[u8], bool> {
        if rest.len() < FRAME_HEADER {
            return Err(true);
        }
        let len = u32_at(rest, 0) as usize;
        if rest.len() - FRAME_HEADER < len {
            return Err(true);
        }
        let body = &rest[FRAME_HEADER..FRAME_HEADER + len];
        if crc32fast::hash(body) != u32_at(rest, 4) || body.is_empty() {
            return Err(rest[FRAME_HEADER + len..].iter().all(|&b| b == 0));
        }
        Ok(body)
    }

    /// Applies one checked frame body; `Err` says what is wrong with it.
    fn body(&mut self, body: &[u8]) -> std::result::Result<(), String> {
        match body[0] {
            KIND_ENTRIES if body.len() >= 13 => {
                let first = u64_at(body, 1);
                let count = u32_at(body, 9);
                let expected = self.last.map_or(self.segment_first, |l| l + 1);
                if first != expected {
                    return Err(format!("entries start at index {first}, expected {expected}"));
                }
                let mut rest = &body[13..];
                for i in 0..count as u64 {
                    let (entry, more): (Entry, _) = postcard::take_from_bytes(rest)
                        .map_err(|e| format!("undecodable entry: {e}"))?;
                    if entry.index() != first + i {
                        return Err(format!("entry {} where {} belongs", entry.index(), first + i));
                    }
                    self.entries.insert(first + i, entry);
                    rest = more;
                }
                if !rest.is_empty() {
                    return Err("bytes after the frame's entries".into());
                }
                if count > 0 {
                    self.last = Some(first + count as u64 - 1);
                }
                Ok(())
            }
            KIND_TRUNCATE if body.len() == 9 => {
                let keep = u64_at(body, 1);
                self.entries.split_off(&(keep + 1));
                self.last = self.last.map(|last| last.min(keep));
                Ok(())
            }
            kind => Err(format!("unknown frame kind {kind} ({} bytes)", body.len())),
        }
    }
}

/// The segment being appended to.
struct SegmentWriter {
    file: File,
    path: PathBuf,
    size: u64,
}

impl SegmentWriter {
    fn open(path: PathBuf) -> Result<SegmentWriter> {
        let file = OpenOptions::new().write(true).open(&path).map_err(|e| io_error(&path, e))?;
        let size = file.metadata().map_err(|e| io_error(&path, e))?.len();
        Ok(SegmentWriter { file, path, size })
    }

    /// Appends a frame and `fdatasync`s it.
    fn write_synced(&mut self, frame: &[u8]) -> Result<()> {
        self.file
            .write_all_at(frame, self.size)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error(&self.path, e))?;
        self.size += frame.len() as u64;
        Ok(())
    }
}

/// The flusher thread's view of the files: it alone writes them.
struct Flusher {
    dir: PathBuf,
    options: LogStoreOptions,
    /// First indexes of the segments on disk, in order.
    segments: Vec<LogIndex>,
    /// The last segment, open for appending (`None` when there is no segment).
    current: Option<SegmentWriter>,
    /// The last index on disk (after truncations).
    last: Option<LogIndex>,
    failed: Arc<Mutex<Option<String>>>,
}

/// An append with its committed hint taken out into `committed` (queue order: the last one
/// taken is the newest).
fn take_hint(mut command: Command, committed: &mut Option<Vec<u8>>) -> Command {
    if let Command::Append { committed: hint @ Some(_), .. } = &mut command {
        *committed = hint.take();
    }
    command
}

impl Flusher {
    /// Runs commands until the store is dropped; appends queued together share a frame.
    fn run(mut self, commands: mpsc::Receiver<Command>) {
        let mut next = commands.recv().ok();
        while let Some(command) = next.take() {
            let Command::Append { .. } = command else {
                self.run_one(command);
                next = commands.recv().ok();
                continue;
            };
            let mut committed = None;
            let mut batch = vec![take_hint(command, &mut committed)];
            loop {
                match commands.try_recv() {
                    Ok(command @ Command::Append { .. }) => {
                        batch.push(take_hint(command, &mut committed))
                    }
                    Ok(Command::Committed { value }) => committed = Some(value),
                    Ok(other) => {
                        next = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.append(batch);
            if let Some(value) = committed {
                self.write_committed(&value);
            }
            if next.is_none() {
                next = commands.recv().ok();
            }
        }
    }

    /// The error every write gets once one failed.
    fn check(&self) -> io::Result<()> {
        match &*self.failed.lock() {
            Some(e) => Err(io::Error::other(format!("the Raft log failed earlier: {e}"))),
            None => Ok(()),
        }
    }

    /// Runs `write` unless the store failed; a failure stops the store.
    fn guarded(&mut self, write: impl FnOnce(&mut Self) -> Result<()>) -> io::Result<()> {
        self.check()?;
        write(self).map_err(|e| {
            *self.failed.lock() = Some(e.to_string());
            to_io(e)
        })
    }

    /// The committed id's hint; a failure to write it fails the store like any write.
    fn write_committed(&mut self, value: &[u8]) {
        let _ = self.guarded(|f| write_hint(&f.dir, "committed", value));
    }

    fn run_one(&mut self, command: Command) {
        let (result, done) = match command {
            Command::Append { .. } => unreachable!("appends are batched"),
            Command::Committed { value } => return self.write_committed(&value),
            Command::Barrier { flushed } => return flushed.io_completed(self.check()),
            Command::Truncate { keep, done } => (self.guarded(|f| f.truncate(keep)), done),
            Command::Purge { upto, done } => (self.guarded(|f| f.purge(&upto)), done),
            Command::Save { name, value, done } => {
                (self.guarded(|f| write_meta(&f.dir, name, &value)), done)
            }
        };
        let _ = done.send(result);
    }

    /// Writes a batch of appends as one frame, syncs, and reports each append flushed.
    fn append(&mut self, batch: Vec<Command>) {
        let mut callbacks = Vec::with_capacity(batch.len());
        let mut body = vec![KIND_ENTRIES];
        body.extend_from_slice(&[0; 12]); // first index and count, filled in below
        let (mut first, mut last) = (None, 0);
        for command in batch {
            let Command::Append { first: f, last: l, encoded, flushed, .. } = command else {
                unreachable!("a batch holds appends only")
            };
            first.get_or_insert(f);
            last = l;
            body.extend_from_slice(&encoded);
            callbacks.push(flushed);
        }
        let first = first.expect("a batch is not empty");
        body[1..9].copy_from_slice(&first.to_le_bytes());
        body[9..13].copy_from_slice(&((last + 1 - first) as u32).to_le_bytes());
        let result = self.guarded(|f| f.write_entries(first, last, &frame(&body)));
        for flushed in callbacks {
            let result =
                result.as_ref().map(|_| ()).map_err(|e| io::Error::new(e.kind(), e.to_string()));
            flushed.io_completed(result);
        }
    }

    fn write_entries(&mut self, first: LogIndex, last: LogIndex, frame: &[u8]) -> Result<()> {
        let full = self.current.as_ref().is_some_and(|c| c.size >= self.options.segment_size);
        if self.current.is_none() || full {
            self.current = Some(self.create_segment(first)?);
            self.segments.push(first);
        }
        self.current.as_mut().expect("a segment").write_synced(frame)?;
        self.last = Some(last);
        Ok(())
    }

    /// Creates a segment: header, synced, then the directory entry synced.
    fn create_segment(&self, first: LogIndex) -> Result<SegmentWriter> {
        let path = segment_path(&self.dir, first);
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut writer = SegmentWriter { file, path, size: 0 };
        writer.write_synced(&segment_header(first))?;
        sync_dir(&self.dir)?;
        Ok(writer)
    }

    /// Removes the entries after `keep` (all of them for `None`).
    fn truncate(&mut self, keep: Option<LogIndex>) -> Result<()> {
        if self.last.is_none() || keep.is_some_and(|k| self.last.is_some_and(|l| l <= k)) {
            return Ok(());
        }
        // Whole segments past the cut go first, newest first.
        while let Some(&first) = self.segments.last() {
            if keep.is_some_and(|k| first <= k) {
                break;
            }
            self.current = None;
            self.segments.pop();
            self.last = first.checked_sub(1);
            remove_segment(&self.dir, first)?;
        }
        let Some(&first) = self.segments.last() else {
            self.last = None;
            return Ok(());
        };
        if self.current.is_none() {
            self.current = Some(SegmentWriter::open(segment_path(&self.dir, first))?);
        }
        let keep = keep.expect("a segment remains only below a kept index");
        if self.last.is_some_and(|l| l <= keep) {
            return Ok(()); // the cut fell between segments
        }
        let mut body = vec![KIND_TRUNCATE];
        body.extend_from_slice(&keep.to_le_bytes());
        self.current.as_mut().expect("a segment").write_synced(&frame(&body))?;
        self.last = Some(keep);
        Ok(())
    }

    /// Saves the purged log id, then removes the segments holding only purged entries.
    fn purge(&mut self, upto: &LogId) -> Result<()> {
        write_meta(&self.dir, "purged", &encode(upto).map_err(|e| Error::Io(e.to_string()))?)?;
        let mut removed = false;
        while let Some(&first) = self.segments.first() {
            let last = match self.segments.get(1) {
                Some(next) => Some(next - 1),
                None => self.last,
            };
            if last.is_some_and(|l| l > upto.index) {
                break;
            }
            if self.segments.len() == 1 {
                self.current = None;
                self.last = None;
            }
            self.segments.remove(0);
            let path = segment_path(&self.dir, first);
            std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
            removed = true;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Removes a segment file and syncs the directory.
fn remove_segment(dir: &Path, first: LogIndex) -> Result<()> {
    let path = segment_path(dir, first);
    std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
    sync_dir(dir)
}

/// Reads the segments back (see RECOVERY), after tidying up what a crash can leave: a segment
/// whose creation was cut short, a purge not finished. Returns the segments kept and the scan.
fn read_segments(dir: &Path, purged: Option<LogIndex>) -> Result<(Vec<LogIndex>, Scan)> {
    let mut segments = list_segments(dir)?;
    if let Some(&first) = segments.last() {
        let path = segment_path(dir, first);
        let len = std::fs::metadata(&path).map_err(|e| io_error(&path, e))?.len();
        if len < SEGMENT_HEADER as u64 {
            remove_segment(dir, first)?; // its header is synced before any frame is written
            segments.pop();
        }
    }
    // A segment whose successor starts at or below purged + 1 holds only purged entries.
    while segments.len() > 1 && purged.is_some_and(|p| segments[1] <= p + 1) {
        remove_segment(dir, segments.remove(0))?;
    }
    if let (Some(&first), Some(p)) = (segments.first(), purged)
        && first > p + 1
    {
        let what = format!("the log starts at index {first}, but only {p} was purged");
        return Err(corrupt(&segment_path(dir, first), 0, &what));
    }
    let mut scan = Scan::default();
    for (i, &first) in segments.iter().enumerate() {
        scan.segment(&segment_path(dir, first), first, i + 1 == segments.len())?;
    }
    if let Some(&first) = segments.last()
        && scan.last.is_none_or(|l| l < first)
    {
        remove_segment(dir, first)?; // created, then the machine stopped: holds no entry
        segments.pop();
    }
    if let (Some(p), Some(l)) = (purged, scan.last)
        && l <= p
    {
        // Everything on disk is purged: a purge past the end of the log was cut short.
        for first in segments.drain(..).rev() {
            remove_segment(dir, first)?;
        }
        scan.last = None;
    }
    Ok((segments, scan))
}

impl LogStore {
    /// Opens (or creates) the log in `dir`: reads the small files, reads the segments back
    /// (cutting a torn tail, refusing corruption), finishes an interrupted purge, and starts the
    /// flusher thread.
    pub fn open(dir: &Path, options: LogStoreOptions) -> Result<LogStore> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let vote: Option<Vote> = read_meta(dir, "vote")?;
        // A hint (see the module doc): unreadable after a crash means unknown.
        let committed: Option<Option<LogId>> = read_meta(dir, "committed").unwrap_or(None);
        let purged: Option<LogId> = read_meta(dir, "purged")?;
        let purged_index = purged.as_ref().map(|p| p.index);
        let (segments, mut scan) = read_segments(dir, purged_index)?;
        let current = match segments.last() {
            Some(&first) => Some(SegmentWriter::open(segment_path(dir, first))?),
            None => None,
        };
        let entries = match purged_index {
            Some(p) => scan.entries.split_off(&(p + 1)),
            None => scan.entries,
        };
        let recovery = Recovery { torn_tail: scan.torn_tail, entries: entries.len() as u64 };
        let memory = Memory { entries, vote, committed: committed.flatten(), purged };
        let failed = Arc::new(Mutex::new(None));
        let flusher = Flusher {
            dir: dir.to_path_buf(),
            options,
            segments,
            current,
            last: scan.last,
            failed: failed.clone(),
        };
        let (commands, receiver) = mpsc::channel();
        let flusher = std::thread::Builder::new()
            .name("isola-raft-log".into())
            .spawn(move || flusher.run(receiver))
            .map_err(|e| Error::Io(format!("spawning the Raft log flusher: {e}")))?;
        Ok(LogStore {
            memory: Arc::new(RwLock::new(memory)),
            failed,
            commands: Some(commands),
            flusher: Some(flusher),
            recovery,
            committed_hint: CommittedHint::default(),
        })
    }

    /// What opening the store found.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// A reader over this store's log.
    pub fn reader(&self) -> LogReader {
        LogReader { memory: self.memory.clone() }
    }

    fn send(&self, command: Command) -> io::Result<()> {
        let sender = self.commands.as_ref().expect("open until dropped");
        sender.send(command).map_err(|_| io::Error::other("the Raft log flusher stopped"))
    }

    /// Queues a command and waits until the flusher carried it out.
    async fn run(&self, command: impl FnOnce(Done) -> Command) -> io::Result<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.send(command(done))?;
        wait.await.map_err(|_| io::Error::other("the Raft log flusher stopped"))?
    }

    fn check(&self) -> io::Result<()> {
        match &*self.failed.lock() {
            Some(e) => Err(io::Error::other(format!("the Raft log failed earlier: {e}"))),
            None => Ok(()),
        }
    }
}

impl Drop for LogStore {
    /// Lets the flusher finish what is queued, then waits for it.
    fn drop(&mut self) {
        if let (Some(value), Some(commands)) = (self.committed_hint.held.take(), &self.commands) {
            let _ = commands.send(Command::Committed { value });
        }
        self.commands.take();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

/// The entries of `range`, from memory.
fn entries_in(memory: &Memory, range: impl RangeBounds<LogIndex>) -> Vec<Entry> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => LogIndex::MAX,
    };
    if start >= end {
        return Vec::new();
    }
    memory.entries.range(start..end).map(|(_, e)| e.clone()).collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        Ok(entries_in(&self.memory.read(), range))
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        Ok(self.memory.read().vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> io::Result<LogState<TypeConfig>> {
        let memory = self.memory.read();
        let last = memory.entries.last_key_value().map(|(_, e)| e.log_id());
        let last_log_id = last.or_else(|| memory.purged);
        Ok(LogState { last_purged_log_id: memory.purged, last_log_id })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        self.reader()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        let value = encode(vote)?;
        self.run(|done| Command::Save { name: "vote", value, done }).await?;
        self.memory.write().vote = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        self.check()?;
        let value = encode(&committed)?;
        self.memory.write().committed = committed;
        let hint = &mut self.committed_hint;
        let now = std::time::Instant::now();
        if hint.queued_at.is_some_and(|at| now.duration_since(at) < COMMITTED_HINT_INTERVAL) {
            hint.held = Some(value);
            return Ok(());
        }
        hint.queued_at = Some(now);
        hint.held = None;
        self.send(Command::Committed { value })
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        Ok(self.memory.read().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.check()?;
        let entries: Vec<Entry> = entries.into_iter().collect();
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            // Flushed once everything queued before it is: the callback carries a watermark.
            return self.send(Command::Barrier { flushed: callback });
        };
        let (first, last) = (first.index(), last.index());
        let encoded = super::off_the_workers(LogRecord::bytes_of(&entries), || {
            let mut encoded = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                if entry.index() != first + i as u64 {
                    return Err(io::Error::other("appended entries are not consecutive"));
                }
                encoded.extend_from_slice(&encode(entry)?);
            }
            Ok(encoded)
        })?;
        {
            let mut memory = self.memory.write();
            let expected = match memory.entries.last_key_value() {
                Some((&l, _)) => Some(l + 1),
                None => memory.purged.as_ref().map(|p| p.index + 1),
            };
            if expected.is_some_and(|e| e != first) {
                let what = format!("appending index {first} where {expected:?} comes next");
                return Err(io::Error::other(what));
            }
            memory.entries.extend(entries.into_iter().map(|e| (e.index(), e)));
        }
        let committed = self.committed_hint.held.take();
        if committed.is_some() {
            self.committed_hint.queued_at = Some(std::time::Instant::now());
        }
        self.send(Command::Append { first, last, encoded, flushed: callback, committed })
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> io::Result<()> {
        let keep = last_log_id.map(|l| l.index);
        {
            let mut memory = self.memory.write();
            let from = keep.map_or(0, |k| k + 1);
            memory.entries.split_off(&from);
        }
        self.run(|done| Command::Truncate { keep, done }).await
    }

    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        {
            let mut memory = self.memory.write();
            memory.entries = memory.entries.split_off(&(log_id.index + 1));
            memory.purged = Some(log_id);
        }
        self.run(|done| Command::Purge { upto: log_id, done }).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use openraft::EntryPayload;
    use openraft::testing::log::{StoreBuilder, Suite};
    use openraft::testing::{blank_ent, log_id, membership_ent};
    use openraft::type_config::TypeConfigExt;

    use super::super::testing::MemStateMachine;
    use super::*;

    struct Builder;

    impl StoreBuilder<TypeConfig, LogStore, MemStateMachine, tempfile::TempDir> for Builder {
        async fn build(
            &self,
        ) -> std::result::Result<
            (tempfile::TempDir, LogStore, MemStateMachine),
            openraft::StorageError<TypeConfig>,
        > {
            let dir = tempfile::tempdir().expect("a temp dir");
            let store = LogStore::open(dir.path(), LogStoreOptions::default()).expect("open");
            Ok((dir, store, MemStateMachine::default()))
        }
    }

    #[tokio::test]
    async fn openraft_storage_suite() {
        Suite::test_all(Builder).await.expect("the suite passes");
    }

    fn record(term: u64, index: u64) -> Entry {
        let payload = EntryPayload::Normal(LogRecord(format!("r{term}.{index}").into_bytes()));
        Entry { log_id: log_id::<TypeConfig>(term, 1, index), payload }
    }

    /// Appends and waits until the entries are flushed.
    async fn append(store: &mut LogStore, entries: Vec<Entry>) -> io::Result<()> {
        let (tx, rx) = TypeConfig::oneshot();
        store.append(entries, IOFlushed::signal(tx)).await?;
        rx.await.expect("the callback is called")
    }

    async fn all(store: &mut LogStore) -> Vec<Entry> {
        store.reader().try_get_log_entries(..).await.expect("read")
    }

    fn open(dir: &Path) -> LogStore {
        LogStore::open(dir, LogStoreOptions::default()).expect("open")
    }

    fn small_segments(dir: &Path) -> LogStore {
        LogStore::open(dir, LogStoreOptions { segment_size: 200 }).expect("open")
    }

    #[tokio::test]
    async fn reopen_gives_back_entries_vote_and_committed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let members = vec![BTreeSet::from([1, 2, 3])];
        append(&mut store, vec![blank_ent::<TypeConfig>(1, 1, 1)]).await.unwrap();
        append(&mut store, vec![membership_ent::<TypeConfig>(1, 1, 2, members)]).await.unwrap();
        append(&mut store, (3..=10).map(|i| record(1, i)).collect()).await.unwrap();
        let vote = Vote::new_committed(1, 1);
        store.save_vote(&vote).await.unwrap();
        store.save_committed(Some(log_id::<TypeConfig>(1, 1, 7))).await.unwrap();
        let before = all(&mut store).await;
        assert_eq!(before.len(), 10);
        drop(store);

        let mut store = open(dir.path());
        assert_eq!(all(&mut store).await, before);
        assert_eq!(store.reader().read_vote().await.unwrap(), Some(vote));
        assert_eq!(store.read_committed().await.unwrap(), Some(log_id::<TypeConfig>(1, 1, 7)));
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id::<TypeConfig>(1, 1, 10)));
        assert_eq!(state.last_purged_log_id, None);
        assert_eq!(store.recovery().torn_tail, None);
        // The log goes on where it stopped.
        append(&mut store, vec![record(2, 11)]).await.unwrap();
        drop(store);
        assert_eq!(all(&mut open(dir.path())).await.len(), 11);
    }

    /// Many appends queued before any flush completes: all durable, in order, after reopen.
    #[tokio::test]
    async fn appends_queued_together_are_flushed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let mut waits = Vec::new();
        for i in 1..=200 {
            let (tx, rx) = TypeConfig::oneshot();
            store.append(vec![record(1, i)], IOFlushed::signal(tx)).await.unwrap();
            waits.push(rx);
        }
        for rx in waits {
            rx.await.unwrap().unwrap();
        }
        drop(store);
        let entries = all(&mut open(dir.path())).await;
        assert_eq!(entries, (1..=200).map(|i| record(1, i)).collect::<Vec<_>>());
        let (_, _, frames) = frames(dir.path());
        assert!(frames.len() < 200, "appends queued during a sync share the next frame");
    }

    /// The last segment's file, its bytes, and the offsets where its frames start.
    fn frames(dir: &Path) -> (PathBuf, Vec<u8>, Vec<usize>) {
        let segments = list_segments(dir).unwrap();
        let path = segment_path(dir, *segments.last().unwrap());
        let data = std::fs::read(&path).unwrap();
        let mut offsets = Vec::new();
        let mut at = SEGMENT_HEADER;
        while at < data.len() {
            offsets.push(at);
            at += FRAME_HEADER + u32_at(&data, at) as usize;
        }
        (path, data, offsets)
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_at_every_offset_of_the_last_frame() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, (1..=3).map(|i| record(1, i)).collect()).await.unwrap();
        append(&mut store, (4..=6).map(|i| record(1, i)).collect()).await.unwrap();
        drop(store);
        let (path, data, offsets) = frames(dir.path());
        assert_eq!(offsets.len(), 2);
        let last = offsets[1];
        for cut in last..data.len() {
            std::fs::write(&path, &data[..cut]).unwrap();
            let mut store = open(dir.path());
            let torn = (cut > last).then(|| (path.clone(), last as u64, (cut - last) as u64));
            assert_eq!(store.recovery().torn_tail, torn, "cut at {cut}");
            assert_eq!(all(&mut store).await, (1..=3).map(|i| record(1, i)).collect::<Vec<_>>());
            // The log goes on after the cut, and that survives too.
            append(&mut store, vec![record(2, 4)]).await.unwrap();
            drop(store);
            assert_eq!(all(&mut open(dir.path())).await.last(), Some(&record(2, 4)));
        }
        // A last frame with a flipped byte (and zeros past the end) is torn too.
        for garbage in [&data[..data.len() - 1], &[&data[..], &[0u8; 64][..]].concat()[..]] {
            let mut bad = garbage.to_vec();
            bad[last + FRAME_HEADER + 3] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            let mut store = open(dir.path());
            assert_eq!(store.recovery().torn_tail.as_ref().map(|t| t.1), Some(last as u64));
            assert_eq!(all(&mut store).await.len(), 3);
        }
    }

    #[tokio::test]
    async fn a_corrupt_frame_in_the_middle_is_refused_with_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, (1..=3).map(|i| record(1, i)).collect()).await.unwrap();
        append(&mut store, (4..=6).map(|i| record(1, i)).collect()).await.unwrap();
        drop(store);
        let (path, mut data, offsets) = frames(dir.path());
        data[offsets[0] + FRAME_HEADER + 5] ^= 1;
        std::fs::write(&path, &data).unwrap();
        let Err(Error::Corrupt(what)) = LogStore::open(dir.path(), LogStoreOptions::default())
        else {
            panic!("corruption must be refused")
        };
        let expected = format!("{} at offset {}", path.display(), offsets[0]);
        assert!(what.contains(&expected), "{what}");
    }

    #[tokio::test]
    async fn truncation_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_segments(dir.path());
        for i in (1..=30).step_by(3) {
            append(&mut store, (i..i + 3).map(|i| record(1, i)).collect()).await.unwrap();
        }
        // Inside a frame (a TRUNCATE frame), at a frame's start, then across segments.
        for keep in [29, 27, 13, 2] {
            store.truncate_after(Some(log_id::<TypeConfig>(1, 1, keep))).await.unwrap();
            drop(store);
            store = small_segments(dir.path());
            let expected: Vec<Entry> = (1..=keep).map(|i| record(1, i)).collect();
            assert_eq!(all(&mut store).await, expected, "kept through {keep}");
        }
        // New entries replace the truncated ones, and survive.
        append(&mut store, (3..=5).map(|i| record(2, i)).collect()).await.unwrap();
        drop(store);
        store = small_segments(dir.path());
        let expected: Vec<Entry> =
            (1..=2).map(|i| record(1, i)).chain((3..=5).map(|i| record(2, i))).collect();
        assert_eq!(all(&mut store).await, expected);
        store.truncate_after(None).await.unwrap();
        drop(store);
        store = small_segments(dir.path());
        assert!(all(&mut store).await.is_empty());
        assert!(list_segments(dir.path()).unwrap().is_empty());
        append(&mut store, vec![record(3, 1)]).await.unwrap();
        drop(store);
        assert_eq!(all(&mut small_segments(dir.path())).await, vec![record(3, 1)]);
    }

    #[tokio::test]
    async fn purge_survives_reopen_and_removes_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_segments(dir.path());
        for i in (1..=30).step_by(3) {
            append(&mut store, (i..i + 3).map(|i| record(1, i)).collect()).await.unwrap();
        }
        let segments_before = list_segments(dir.path()).unwrap();
        store.purge(log_id::<TypeConfig>(1, 1, 20)).await.unwrap();
        let segments_after = list_segments(dir.path()).unwrap();
        assert!(segments_after.len() < segments_before.len());
        assert!(segments_after[0] <= 21, "{segments_after:?}");
        drop(store);
        store = small_segments(dir.path());
        assert_eq!(all(&mut store).await, (21..=30).map(|i| record(1, i)).collect::<Vec<_>>());
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id::<TypeConfig>(1, 1, 20)));
        // A purge past the end (a snapshot installed beyond the log): the log restarts after it.
        store.purge(log_id::<TypeConfig>(2, 1, 40)).await.unwrap();
        assert!(list_segments(dir.path()).unwrap().is_empty());
        drop(store);
        store = small_segments(dir.path());
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id::<TypeConfig>(2, 1, 40)));
        append(&mut store, vec![record(2, 41)]).await.unwrap();
        drop(store);
        assert_eq!(all(&mut small_segments(dir.path())).await, vec![record(2, 41)]);
    }

    /// Ten frames of three entries each, in segments of about two frames.
    async fn thirty_entries(dir: &Path) -> LogStore {
        let mut store = small_segments(dir);
        for i in (1..=30).step_by(3) {
            append(&mut store, (i..i + 3).map(|i| record(1, i)).collect()).await.unwrap();
        }
        store
    }

    fn refused(dir: &Path) -> String {
        match LogStore::open(dir, LogStoreOptions { segment_size: 200 }) {
            Err(Error::Corrupt(what)) => what,
            Err(e) => panic!("not reported as corruption: {e:?}"),
            Ok(_) => panic!("opened a damaged log"),
        }
    }

    #[tokio::test]
    async fn a_missing_segment_or_a_bad_small_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(thirty_entries(dir.path()).await);
        let segments = list_segments(dir.path()).unwrap();
        assert!(segments.len() >= 3, "{segments:?}");
        std::fs::remove_file(segment_path(dir.path(), segments[1])).unwrap();
        let what = refused(dir.path());
        assert!(what.contains("a segment is missing"), "{what}");

        let dir = tempfile::tempdir().unwrap();
        let mut store = small_segments(dir.path());
        store.save_vote(&Vote::new(3, 2)).await.unwrap();
        drop(store);
        let path = dir.path().join("vote");
        let mut data = std::fs::read(&path).unwrap();
        *data.last_mut().unwrap() ^= 1;
        std::fs::write(&path, data).unwrap();
        let what = refused(dir.path());
        assert!(what.contains(&format!("{} at offset", path.display())), "{what}");
    }

    /// A crash after a purge saved its log id but before it removed the segments.
    #[tokio::test]
    async fn an_interrupted_purge_is_finished_on_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(thirty_entries(dir.path()).await);
        let before = list_segments(dir.path()).unwrap();
        let purged = log_id::<TypeConfig>(1, 1, 20);
        write_meta(dir.path(), "purged", &encode(&purged).unwrap()).unwrap();
        let mut store = small_segments(dir.path());
        assert_eq!(all(&mut store).await, (21..=30).map(|i| record(1, i)).collect::<Vec<_>>());
        let after = list_segments(dir.path()).unwrap();
        assert!(after.len() < before.len() && after[0] <= 21, "{before:?} {after:?}");
        drop(store);
        // Past the end of the log: every segment goes.
        let purged = log_id::<TypeConfig>(1, 1, 40);
        write_meta(dir.path(), "purged", &encode(&purged).unwrap()).unwrap();
        let mut store = small_segments(dir.path());
        assert!(list_segments(dir.path()).unwrap().is_empty());
        assert_eq!(store.get_log_state().await.unwrap().last_log_id, Some(purged));
        append(&mut store, vec![record(1, 41)]).await.unwrap();
    }

    /// A crash right after a new segment's header was written: the empty segment is dropped.
    #[tokio::test]
    async fn an_empty_last_segment_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        drop(thirty_entries(dir.path()).await);
        let empty = segment_path(dir.path(), 31);
        std::fs::write(&empty, segment_header(31)).unwrap();
        let mut store = small_segments(dir.path());
        assert!(!empty.exists());
        assert_eq!(all(&mut store).await.len(), 30);
        append(&mut store, vec![record(2, 31)]).await.unwrap();
        drop(store);
        assert_eq!(all(&mut small_segments(dir.path())).await.len(), 31);
    }

    /// Fail-stop: once a write fails (here: a new segment in a directory that is gone), the
    /// append waiting on it and every later write fail.
    #[tokio::test]
    async fn a_failed_write_stops_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut store = thirty_entries(&log).await;
        std::fs::remove_dir_all(&log).unwrap();
        // The open segment was unlinked but still takes writes; once full, the next one
        // cannot be created.
        let first = append(&mut store, (31..=40).map(|i| record(1, i)).collect()).await;
        let second = append(&mut store, (41..=50).map(|i| record(1, i)).collect()).await;
        assert!(first.is_err() || second.is_err(), "a new segment cannot be created");
        let (tx, _rx) = TypeConfig::oneshot();
        let later = store.append(vec![record(1, 51)], IOFlushed::signal(tx)).await;
        assert!(later.unwrap_err().to_string().contains("failed earlier"));
        let vote = store.save_vote(&Vote::new(2, 1)).await;
        assert!(vote.unwrap_err().to_string().contains("failed earlier"));
    }

    /// Random appends, truncations, purges (some past the end) and reopens, in small segments,
    /// against a model: after every step the store reads back exactly the model.
    #[tokio::test]
    async fn random_operations_match_a_model_across_reopens() {
        use rand::{Rng, SeedableRng};
        for seed in 0..4 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let dir = tempfile::tempdir().unwrap();
            let mut store = small_segments(dir.path());
            let mut model: BTreeMap<LogIndex, Entry> = BTreeMap::new();
            let mut purged: Option<LogId> = None;
            let mut term = 1;
            for step in 0..120 {
                let last = model.keys().next_back().copied().or(purged.map(|p| p.index));
                match rng.gen_range(0..10) {
                    0..=4 => {
                        let first = last.map_or(1, |l| l + 1);
                        let entries: Vec<Entry> =
                            (first..first + rng.gen_range(1..5)).map(|i| record(term, i)).collect();
                        model.extend(entries.iter().map(|e| (e.index(), e.clone())));
                        append(&mut store, entries).await.unwrap();
                    }
                    5 | 6 if !model.is_empty() => {
                        let low = purged.map_or(0, |p| p.index);
                        let keep = rng.gen_range(low..=last.unwrap());
                        let keep = model.get(&keep).map(|e| e.log_id).or(purged);
                        model.split_off(&keep.map_or(0, |k| k.index + 1));
                        store.truncate_after(keep).await.unwrap();
                        term += 1; // a new leader's entries follow a truncation
                    }
                    7 => {
                        let low = purged.map_or(1, |p| p.index + 1);
                        let upto = rng.gen_range(low..=last.unwrap_or(1) + 3);
                        let log_id = model
                            .get(&upto)
                            .map(|e| e.log_id)
                            .unwrap_or_else(|| log_id::<TypeConfig>(term, 1, upto));
                        model = model.split_off(&(upto + 1));
                        purged = Some(log_id);
                        store.purge(log_id).await.unwrap();
                    }
                    _ => {
                        drop(store);
                        store = small_segments(dir.path());
                    }
                }
                let expected: Vec<Entry> = model.values().cloned().collect();
                assert_eq!(all(&mut store).await, expected, "seed {seed}, step {step}");
                let state = store.get_log_state().await.unwrap();
                assert_eq!(state.last_purged_log_id, purged, "seed {seed}, step {step}");
            }
        }
    }
}
