//! Checkpoints: a consistent copy of every table, from which recovery starts instead of the
//! beginning of the log.
//!
//! FORMAT. `checkpoint/<replay-from LSN, 16 hex digits>.ckpt`: the magic `ISOLACKP` and the
//! format version, then blocks `length u32 | CRC32 u32 | kind u8 | body`: one Meta block
//! (the snapshot's commit timestamp, the LSN replay starts from, the LSN from which DDL records
//! are not yet in the checkpoint), the DDL history, sequence positions, row blocks (a table id
//! and rows), and an End block with the counts. A checkpoint is written under a `.tmp` name,
//! synced, renamed and the directory synced; only then are older checkpoints and the log
//! before `replay_from` removed. So the newest `.ckpt` is always complete: if it does not read
//! back, that is corruption and recovery refuses, naming the file and offset.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::encoding::{DdlRecord, Decoder, Encoder};
use super::log::{FORMAT_VERSION, Lsn, io_error};
use super::storage::{Storage, StorageFile};
use crate::catalog::TableId;
use crate::error::{Error, Result};
use crate::storage::CommitTs;
use crate::types::encoding::EncodeRow;
use crate::types::{Key, PackedRow};

const MAGIC: &[u8; 8] = b"ISOLACKP";
const HEADER: usize = 12;
const BLOCK_META: u8 = 1;
const BLOCK_DDL: u8 = 2;
const BLOCK_SEQUENCE: u8 = 3;
const BLOCK_ROWS: u8 = 4;
const BLOCK_END: u8 = 5;
/// The names of the tables and indexes in the on-disk base (`storage::Base`) whose rows and
/// entries belong to this checkpoint (a checkpoint kept in the base, without row blocks).
const BLOCK_BASE_NAMES: u8 = 7;
/// Opaque bytes of the consensus layer (a replica's last applied Raft log id and membership):
/// a checkpoint is also a Raft snapshot.
const BLOCK_CONSENSUS: u8 = 6;

/// Where a checkpoint sits in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointMeta {
    /// Every commit with a timestamp at or below this is in the checkpoint; none above.
    pub snapshot_ts: CommitTs,
    /// Replay starts at this LSN (commits at or below `snapshot_ts` found after it are skipped).
    pub replay_from: Lsn,
    /// DDL records from this LSN on are not in the checkpoint's DDL history.
    pub ddl_from: Lsn,
}

/// Writes one checkpoint.
pub struct CheckpointWriter {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    file: Box<dyn StorageFile>,
    buf: Vec<u8>,
    blocks: u64,
    rows: u64,
}

impl CheckpointWriter {
    pub fn begin(storage: Arc<dyn Storage>, dir: &Path, meta: CheckpointMeta) -> Result<Self> {
        storage.create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let name = format!("{:016x}.ckpt", meta.replay_from);
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}.tmp"));
        let mut file = storage.create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        file.append(&header).map_err(|e| io_error(&tmp, e))?;
        let mut w = CheckpointWriter {
            storage,
            dir: dir.to_path_buf(),
            tmp,
            path,
            file,
            buf: Vec::new(),
            blocks: 0,
            rows: 0,
        };
        w.block(BLOCK_META, |e| {
            e.u64(meta.snapshot_ts);
            e.u64(meta.replay_from);
            e.u64(meta.ddl_from);
        })?;
        Ok(w)
    }

    fn block(&mut self, kind: u8, body: impl FnOnce(&mut Encoder)) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(&[0; 8]);
        self.buf.push(kind);
        body(&mut Encoder(&mut self.buf));
        let len = (self.buf.len() - 8) as u32;
        let crc = crc32fast::hash(&self.buf[8..]);
        self.buf[0..4].copy_from_slice(&len.to_le_bytes());
        self.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        self.file.append(&self.buf).map_err(|e| io_error(&self.tmp, e))?;
        self.blocks += 1;
        Ok(())
    }

    pub fn ddl(&mut self, ddl: &DdlRecord) -> Result<()> {
        self.block(BLOCK_DDL, |e| e.ddl(ddl))
    }

    /// The consensus layer's state at the checkpoint (opaque here).
    pub fn consensus(&mut self, state: &[u8]) -> Result<()> {
        self.block(BLOCK_CONSENSUS, |e| e.bytes(state))
    }

    /// A serial column's sequence: the last value handed out.
    pub fn sequence(&mut self, table: TableId, column: u32, value: i64) -> Result<()> {
        self.block(BLOCK_SEQUENCE, |e| {
            e.u32(table);
            e.u32(column);
            e.u64(value as u64);
        })
    }

    pub fn rows<R: EncodeRow>(&mut self, table: TableId, rows: &[(Key, R)]) -> Result<()> {
        self.rows += rows.len() as u64;
        self.block(BLOCK_ROWS, |e| {
            e.u32(table);
            e.u32(rows.len() as u32);
            for (key, row) in rows {
                e.values(key);
                row.encode_row(e);
            }
        })
    }

    /// Seals the checkpoint: End block, sync, rename, directory sync; then removes older ones.
    /// Returns the path and the number of rows.
    pub fn finish(mut self) -> Result<(PathBuf, u64)> {
        let (blocks, rows) = (self.blocks, self.rows);
        self.block(BLOCK_END, |e| {
            e.u64(blocks);
            e.u64(rows);
        })?;
        self.file.sync_data().map_err(|e| io_error(&self.tmp, e))?;
        self.storage.rename(&self.tmp, &self.path).map_err(|e| io_error(&self.path, e))?;
        self.storage.sync_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        let keep = self.path.file_name().map(|n| n.to_string_lossy().into_owned());
        for name in self.storage.list(&self.dir).map_err(|e| io_error(&self.dir, e))? {
            if Some(&name) != keep.as_ref() && name.ends_with(".ckpt") {
                let old = self.dir.join(&name);
                self.storage.remove(&old).map_err(|e| io_error(&old, e))?;
            }
        }
        self.storage.sync_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        Ok((self.path, rows))
    }
}

/// A checkpoint whose rows are in the on-disk base: its Meta, DDL history, sequences and the
/// base's names, in the checkpoint format (no row blocks), for the base's meta table.
pub fn base_checkpoint_blob(
    meta: CheckpointMeta,
    ddl: &[DdlRecord],
    sequences: &[(TableId, u32, i64)],
    names: &BaseNames,
) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let mut blocks = 0u64;
    let mut block = |out: &mut Vec<u8>, kind: u8, body: &dyn Fn(&mut Encoder)| {
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        out.push(kind);
        body(&mut Encoder(out));
        let len = (out.len() - start - 8) as u32;
        let crc = crc32fast::hash(&out[start + 8..]);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        blocks += 1;
    };
    block(&mut out, BLOCK_META, &|e| {
        e.u64(meta.snapshot_ts);
        e.u64(meta.replay_from);
        e.u64(meta.ddl_from);
    });
    for record in ddl {
        block(&mut out, BLOCK_DDL, &|e| e.ddl(record));
    }
    for &(table, column, value) in sequences {
        block(&mut out, BLOCK_SEQUENCE, &|e| {
            e.u32(table);
            e.u32(column);
            e.u64(value as u64);
        });
    }
    block(&mut out, BLOCK_BASE_NAMES, &|e| {
        e.u32(names.tables.len() as u32);
        for &(table, name) in &names.tables {
            e.u32(table);
            e.u64(name);
        }
        e.u32(names.indexes.len() as u32);
        for &(index, name) in &names.indexes {
            e.u32(index);
            e.u64(name);
        }
    });
    // The End block counts the blocks before it.
    let before_end = 3 + ddl.len() as u64 + sequences.len() as u64 - 1;
    block(&mut out, BLOCK_END, &|e| {
        e.u64(before_end);
        e.u64(0);
    });
    debug_assert_eq!(blocks, before_end + 1);
    out
}

/// Which table and index of the base holds each table's rows and each index's entries (ids
/// as the checkpoint's DDL history numbers them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseNames {
    pub tables: Vec<(TableId, u64)>,
    pub indexes: Vec<(crate::catalog::IndexId, u64)>,
}

/// A checkpoint read back and verified (every checksum, and the End block's counts).
pub struct Checkpoint {
    pub path: PathBuf,
    pub meta: CheckpointMeta,
    pub ddl: Vec<DdlRecord>,
    /// `(table, column, last value)`.
    pub sequences: Vec<(TableId, u32, i64)>,
    pub rows: u64,
    /// The consensus layer's state, in a replica's checkpoint.
    pub consensus: Option<Vec<u8>>,
    /// A checkpoint kept in the on-disk base: where its rows are.
    pub base_names: Option<BaseNames>,
    data: Vec<u8>,
    /// Offsets and lengths of the row blocks' bodies.
    row_blocks: Vec<(usize, usize)>,
}

/// Streams a checkpoint's rows.
pub trait CheckpointReader {
    /// Calls `f` once per table with all of its rows, in the order written (a table's rows are
    /// written in consecutive blocks, in key order). The blocks of a table are decoded on up to
    /// `threads` threads at once.
    fn for_each_table(
        &self,
        threads: usize,
        f: &mut dyn FnMut(TableId, Vec<(Key, PackedRow)>) -> Result<()>,
    ) -> Result<()>;
}

impl Checkpoint {
    /// Decodes one row block: its table and rows.
    fn decode_block(
        &self,
        (start, len): (usize, usize),
    ) -> Result<(TableId, Vec<(Key, PackedRow)>)> {
        let mut d = Decoder::new(&self.data[start..start + len]);
        let decoded = (|| {
            let table = d.u32()?;
            let n = d.u32()? as usize;
            let mut rows = Vec::with_capacity(n.min(len));
            for _ in 0..n {
                rows.push((d.values()?, d.packed_row()?));
            }
            Ok::<_, super::DecodeError>((table, rows))
        })();
        decoded.map_err(|e| {
            Error::Corrupt(format!("{} at offset {start}: {}", self.path.display(), e.0))
        })
    }

    /// The table a row block holds (its first four bytes; `parse` checked they are there).
    fn block_table(&self, (start, _): (usize, usize)) -> TableId {
        u32::from_le_bytes(self.data[start..start + 4].try_into().expect("4"))
    }

    /// Decodes consecutive row blocks of one table, split in runs over `threads` threads, and
    /// joins their rows in order.
    fn decode_run(
        &self,
        blocks: &[(usize, usize)],
        threads: usize,
    ) -> Result<Vec<(Key, PackedRow)>> {
        let decode = |run: &[(usize, usize)]| -> Result<Vec<(Key, PackedRow)>> {
            let mut rows = Vec::new();
            for &block in run {
                rows.append(&mut self.decode_block(block)?.1);
            }
            Ok(rows)
        };
        if threads <= 1 || blocks.len() < 2 {
            return decode(blocks);
        }
        let per_thread = blocks.len().div_ceil(threads);
        let parts: Vec<Result<Vec<(Key, PackedRow)>>> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                blocks.chunks(per_thread).map(|run| scope.spawn(move || decode(run))).collect();
            handles.into_iter().map(|h| h.join().expect("a decoding thread panicked")).collect()
        });
        let mut parts = parts.into_iter();
        let mut rows = parts.next().expect("at least one run")?;
        for part in parts {
            rows.append(&mut part?);
        }
        Ok(rows)
    }
}

impl CheckpointReader for Checkpoint {
    fn for_each_table(
        &self,
        threads: usize,
        f: &mut dyn FnMut(TableId, Vec<(Key, PackedRow)>) -> Result<()>,
    ) -> Result<()> {
        let mut blocks = &self.row_blocks[..];
        while let Some(&first) = blocks.first() {
            let table = self.block_table(first);
            let run = blocks.iter().take_while(|&&b| self.block_table(b) == table).count();
            f(table, self.decode_run(&blocks[..run], threads)?)?;
            blocks = &blocks[run..];
        }
        Ok(())
    }
}

/// Removes unfinished checkpoints and reads the newest finished one, if any.
pub fn read_latest_checkpoint(storage: &dyn Storage, dir: &Path) -> Result<Option<Checkpoint>> {
    let names = storage.list(dir).map_err(|e| io_error(dir, e))?;
    for tmp in names.iter().filter(|n| n.ends_with(".ckpt.tmp")) {
        let path = dir.join(tmp);
        storage.remove(&path).map_err(|e| io_error(&path, e))?;
    }
    let Some(name) = names.iter().filter(|n| n.ends_with(".ckpt")).max() else {
        return Ok(None);
    };
    let path = dir.join(name);
    let data = storage.read(&path).map_err(|e| io_error(&path, e))?;
    parse(path, data).map(Some)
}

/// Reads a checkpoint from bytes (a Raft snapshot received from another replica); `path`
/// names it in messages.
pub fn parse(path: PathBuf, data: Vec<u8>) -> Result<Checkpoint> {
    let corrupt = |offset: usize, why: &str| {
        Error::Corrupt(format!("{} at offset {offset}: {why}", path.display()))
    };
    if data.len() < HEADER || &data[..8] != MAGIC {
        return Err(corrupt(0, "not a checkpoint file"));
    }
    let version = u32::from_le_bytes(data[8..12].try_into().expect("4"));
    if version != FORMAT_VERSION {
        return Err(corrupt(
            8,
            &format!("format version {version}, this isola reads {FORMAT_VERSION}"),
        ));
    }
    let mut meta = None;
    let mut ddl = Vec::new();
    let mut sequences = Vec::new();
    let mut row_blocks = Vec::new();
    let mut consensus = None;
    let mut base_names = None;
    let mut rows = 0u64;
    let mut blocks = 0u64;
    let mut ended = false;
    let mut offset = HEADER;
    while offset < data.len() {
        if ended {
            return Err(corrupt(offset, "bytes after the End block"));
        }
        if data.len() - offset < 9 {
            return Err(corrupt(offset, "a block header cut short"));
        }
        let len = u32::from_le_bytes(data[offset..offset + 4].try_into().expect("4")) as usize;
        let crc = u32::from_le_bytes(data[offset + 4..offset + 8].try_into().expect("4"));
        if data.len() - offset - 8 < len || len == 0 {
            return Err(corrupt(offset, "a block cut short"));
        }
        let body = &data[offset + 8..offset + 8 + len];
        if crc32fast::hash(body) != crc {
            return Err(corrupt(offset, "checksum mismatch"));
        }
        let mut d = Decoder::new(&body[1..]);
        let bad = |e: super::DecodeError| corrupt(offset, &e.0);
        match body[0] {
            BLOCK_META => {
                meta = Some(CheckpointMeta {
                    snapshot_ts: d.u64().map_err(bad)?,
                    replay_from: d.u64().map_err(bad)?,
                    ddl_from: d.u64().map_err(bad)?,
                })
            }
            BLOCK_DDL => ddl.push(d.ddl().map_err(bad)?),
            BLOCK_CONSENSUS => consensus = Some(d.bytes().map_err(bad)?.to_vec()),
            BLOCK_BASE_NAMES => {
                let mut names = BaseNames::default();
                for _ in 0..d.u32().map_err(bad)? {
                    names.tables.push((d.u32().map_err(bad)?, d.u64().map_err(bad)?));
                }
                for _ in 0..d.u32().map_err(bad)? {
                    names.indexes.push((d.u32().map_err(bad)?, d.u64().map_err(bad)?));
                }
                base_names = Some(names);
            }
            BLOCK_SEQUENCE => sequences.push((
                d.u32().map_err(bad)?,
                d.u32().map_err(bad)?,
                d.u64().map_err(bad)? as i64,
            )),
            BLOCK_ROWS => {
                let mut peek = Decoder::new(&body[1..]);
                peek.u32().map_err(bad)?;
                rows += peek.u32().map_err(bad)? as u64;
                row_blocks.push((offset + 9, len - 1));
            }
            BLOCK_END => {
                let (b, r) = (d.u64().map_err(bad)?, d.u64().map_err(bad)?);
                if b != blocks || r != rows {
                    return Err(corrupt(offset, "the End block's counts do not match"));
                }
                ended = true;
            }
            k => return Err(corrupt(offset, &format!("unknown block kind {k}"))),
        }
        blocks += 1;
        offset += 8 + len;
    }
    if !ended {
        return Err(corrupt(offset, "no End block"));
    }
    let meta = meta.ok_or_else(|| corrupt(HEADER, "no Meta block"))?;
    Ok(Checkpoint { path, meta, ddl, sequences, rows, consensus, base_names, data, row_blocks })
}
