//! The four engines behind one small trait. Logical tables: `accounts` (aid -> row) and
//! `accounts_bid` ((bid, aid) -> empty), the latter standing for a secondary index.

use crate::{CACHE_BYTES, acc_key, add_abalance, idx_key};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub trait Engine {
    /// Insert one batch of (aid, encoded row) in ascending aid order, plus the index entries,
    /// as one non-durable write transaction / batch.
    fn put_batch(&mut self, rows: &[(u64, Vec<u8>)]);
    /// Make everything loaded durable (once, at the end of the load).
    fn finish_load(&mut self);
    /// Point read by aid; the row is copied into `out`.
    fn get(&mut self, aid: u64, out: &mut Vec<u8>) -> bool;
    /// Full scan of `accounts` in key order.
    fn scan(&mut self, f: &mut dyn FnMut(&[u8]));
    /// Read-modify-write of one row's abalance, as its own non-durable transaction.
    fn update(&mut self, aid: u64, delta: i32);
    /// One durable commit.
    fn checkpoint(&mut self);
    /// Free-form facts for the log.
    fn describe(&self) -> String {
        String::new()
    }
    /// One durable write transaction that overwrites these rows (blind writes, in the given
    /// order; the index is untouched since bid does not change). Returns (seconds from begin to
    /// commit returned, seconds of the commit call alone). Only redb implements it.
    fn checkpoint_rows(&mut self, _rows: &[(u64, Vec<u8>)]) -> (f64, f64) {
        unimplemented!("checkpoint_rows: redb only")
    }
    /// How many times the engine's repair callback ran at open (redb only).
    fn repair_calls(&self) -> Option<u64> {
        None
    }
}

pub fn create_engine(name: &str, dir: &Path) -> Box<dyn Engine> {
    match name {
        "redb" => Box::new(RedbEngine::open(dir, false)),
        "redb-quick" => Box::new(RedbEngine::open(dir, true)),
        "fjall" => Box::new(FjallEngine::open(dir, false)),
        "fjall-flush" => Box::new(FjallEngine::open(dir, true)),
        "pages" => Box::new(PagesEngine::create(dir)),
        "memory" => Box::new(MemoryEngine::create(dir)),
        _ => panic!("unknown engine {name}"),
    }
}

pub fn open_engine(name: &str, dir: &Path) -> Box<dyn Engine> {
    match name {
        "redb" => Box::new(RedbEngine::open(dir, false)),
        "redb-quick" => Box::new(RedbEngine::open(dir, true)),
        "fjall" => Box::new(FjallEngine::open(dir, false)),
        "fjall-flush" => Box::new(FjallEngine::open(dir, true)),
        "pages" => Box::new(PagesEngine::open(dir)),
        "memory" => Box::new(MemoryEngine::open(dir)),
        _ => panic!("unknown engine {name}"),
    }
}

fn fsync_dir(dir: &Path) {
    File::open(dir).unwrap().sync_all().unwrap();
}

// ---------------------------------------------------------------- redb

const R_ACC: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("accounts");
const R_IDX: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("accounts_bid");

/// `redb-quick` is `redb` with `WriteTransaction::set_quick_repair(true)` on every write
/// transaction (load batches, updates, checkpoints).
pub struct RedbEngine {
    db: redb::Database,
    quick: bool,
    /// calls of the repair callback during open (0: no repair ran)
    repairs: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// one long-lived read snapshot for point reads (dropped before any write)
    reader: Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

impl RedbEngine {
    fn open(dir: &Path, quick: bool) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        let repairs = std::sync::Arc::new(AtomicU64::new(0));
        let r2 = repairs.clone();
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .set_repair_callback(move |_s| {
                r2.fetch_add(1, Ordering::Relaxed);
            })
            .create(dir.join("spike.redb"))
            .unwrap();
        RedbEngine { db, quick, repairs, reader: None }
    }
    fn write_txn(&mut self, durable: bool) -> redb::WriteTransaction {
        self.reader = None;
        let mut w = self.db.begin_write().unwrap();
        w.set_durability(if durable { redb::Durability::Immediate } else { redb::Durability::None }).unwrap();
        if self.quick {
            w.set_quick_repair(true);
        }
        w
    }
}

impl Engine for RedbEngine {
    fn put_batch(&mut self, rows: &[(u64, Vec<u8>)]) {
        let w = self.write_txn(false);
        {
            let mut t = w.open_table(R_ACC).unwrap();
            for (aid, v) in rows {
                t.insert(&acc_key(*aid)[..], &v[..]).unwrap();
            }
            let mut i = w.open_table(R_IDX).unwrap();
            for (aid, _) in rows {
                i.insert(&idx_key(*aid)[..], &[][..]).unwrap();
            }
        }
        w.commit().unwrap();
    }
    fn finish_load(&mut self) {
        self.checkpoint();
    }
    fn get(&mut self, aid: u64, out: &mut Vec<u8>) -> bool {
        use redb::{ReadableDatabase, ReadableTable};
        if self.reader.is_none() {
            let r = self.db.begin_read().unwrap();
            self.reader = Some(r.open_table(R_ACC).unwrap());
        }
        match self.reader.as_ref().unwrap().get(&acc_key(aid)[..]).unwrap() {
            Some(g) => {
                out.clear();
                out.extend_from_slice(g.value());
                true
            }
            None => false,
        }
    }
    fn scan(&mut self, f: &mut dyn FnMut(&[u8])) {
        use redb::{ReadableDatabase, ReadableTable};
        let r = self.db.begin_read().unwrap();
        let t = r.open_table(R_ACC).unwrap();
        for item in t.iter().unwrap() {
            let (_k, v) = item.unwrap();
            f(v.value());
        }
    }
    fn update(&mut self, aid: u64, delta: i32) {
        use redb::ReadableTable;
        let w = self.write_txn(false);
        {
            let mut t = w.open_table(R_ACC).unwrap();
            let k = acc_key(aid);
            let mut row = t.get(&k[..]).unwrap().unwrap().value().to_vec();
            add_abalance(&mut row, delta);
            t.insert(&k[..], &row[..]).unwrap();
        }
        w.commit().unwrap();
    }
    fn checkpoint(&mut self) {
        let w = self.write_txn(true);
        w.commit().unwrap();
    }
    fn checkpoint_rows(&mut self, rows: &[(u64, Vec<u8>)]) -> (f64, f64) {
        let t = std::time::Instant::now();
        let w = self.write_txn(true);
        {
            let mut a = w.open_table(R_ACC).unwrap();
            for (aid, v) in rows {
                a.insert(&acc_key(*aid)[..], &v[..]).unwrap();
            }
        }
        let tc = std::time::Instant::now();
        w.commit().unwrap();
        (t.elapsed().as_secs_f64(), tc.elapsed().as_secs_f64())
    }
    fn repair_calls(&self) -> Option<u64> {
        Some(self.repairs.load(std::sync::atomic::Ordering::Relaxed))
    }
}

// ---------------------------------------------------------------- fjall

/// `fjall`: a checkpoint is `persist(SyncAll)` of the journal only (public API); restart replays
/// the journal into memtables. `fjall-flush`: a checkpoint also flushes the memtables to
/// tables (`rotate_memtable_and_wait`, a `#[doc(hidden)]` method "used in tests"), so the
/// journal is not needed at restart.
pub struct FjallEngine {
    flush: bool,
    db: fjall::Database,
    acc: fjall::Keyspace,
    idx: fjall::Keyspace,
}

impl FjallEngine {
    fn open(dir: &Path, flush: bool) -> Self {
        let db = fjall::Database::builder(dir.join("fjall"))
            .cache_size(CACHE_BYTES as u64)
            .manual_journal_persist(true)
            .open()
            .unwrap();
        let opts = || fjall::KeyspaceCreateOptions::default().manual_journal_persist(true);
        let acc = db.keyspace("accounts", opts).unwrap();
        let idx = db.keyspace("accounts_bid", opts).unwrap();
        FjallEngine { flush, db, acc, idx }
    }
}

impl Engine for FjallEngine {
    fn put_batch(&mut self, rows: &[(u64, Vec<u8>)]) {
        let mut b = self.db.batch().durability(None);
        for (aid, v) in rows {
            b.insert(&self.acc, acc_key(*aid), v.as_slice());
        }
        for (aid, _) in rows {
            b.insert(&self.idx, idx_key(*aid), &[][..]);
        }
        b.commit().unwrap();
    }
    fn finish_load(&mut self) {
        self.checkpoint();
    }
    fn get(&mut self, aid: u64, out: &mut Vec<u8>) -> bool {
        match self.acc.get(acc_key(aid)).unwrap() {
            Some(v) => {
                out.clear();
                out.extend_from_slice(&v);
                true
            }
            None => false,
        }
    }
    fn scan(&mut self, f: &mut dyn FnMut(&[u8])) {
        for g in self.acc.iter() {
            let (_k, v) = g.into_inner().unwrap();
            f(&v);
        }
    }
    fn update(&mut self, aid: u64, delta: i32) {
        let k = acc_key(aid);
        let mut row = self.acc.get(k).unwrap().unwrap().to_vec();
        add_abalance(&mut row, delta);
        self.acc.insert(k, row).unwrap();
    }
    fn checkpoint(&mut self) {
        self.db.persist(fjall::PersistMode::SyncAll).unwrap();
        if self.flush {
            self.acc.rotate_memtable_and_wait().unwrap();
            self.idx.rotate_memtable_and_wait().unwrap();
        }
    }
    fn describe(&self) -> String {
        format!(
            "journals={} journal_bytes={} tables_acc={} tables_idx={} l0_acc={} outstanding_flushes={}",
            self.db.journal_count(),
            self.db.journal_disk_space().unwrap_or(0),
            self.acc.table_count(),
            self.idx.table_count(),
            self.acc.l0_table_count(),
            self.db.outstanding_flushes()
        )
    }
}

// ---------------------------------------------------------------- pages (our own)

const PAGE: usize = 8192;

/// One table as a file of 8 KiB pages. Page: u16 entry count, then entries
/// (u16 key len, key, u16 value len, value), sorted. Side file: the first key of each page.
struct PageFile {
    file: File,
    firsts: Vec<Vec<u8>>,
}

/// Clock (second chance) cache of pages, bounded to CACHE_BYTES.
struct PageCache {
    cap: usize,
    frames: Vec<Box<[u8]>>,
    tags: Vec<(u8, u32)>,
    refbit: Vec<bool>,
    map: HashMap<(u8, u32), usize>,
    hand: usize,
}

impl PageCache {
    fn new() -> Self {
        PageCache { cap: CACHE_BYTES / PAGE, frames: Vec::new(), tags: Vec::new(), refbit: Vec::new(), map: HashMap::new(), hand: 0 }
    }
    fn slot(&mut self, files: &[PageFile], fid: u8, page: u32) -> usize {
        if let Some(&i) = self.map.get(&(fid, page)) {
            self.refbit[i] = true;
            return i;
        }
        let i = if self.frames.len() < self.cap {
            self.frames.push(vec![0u8; PAGE].into_boxed_slice());
            self.tags.push((fid, page));
            self.refbit.push(true);
            self.frames.len() - 1
        } else {
            loop {
                let h = self.hand;
                self.hand = (self.hand + 1) % self.frames.len();
                if self.refbit[h] {
                    self.refbit[h] = false;
                } else {
                    self.map.remove(&self.tags[h]);
                    self.tags[h] = (fid, page);
                    self.refbit[h] = true;
                    break h;
                }
            }
        };
        files[fid as usize].file.read_exact_at(&mut self.frames[i], page as u64 * PAGE as u64).unwrap();
        self.map.insert((fid, page), i);
        i
    }
}

/// Iterate the entries of one page: (key, value offset, value len).
fn page_entries(p: &[u8], mut f: impl FnMut(&[u8], usize, usize) -> bool) {
    let n = u16::from_le_bytes([p[0], p[1]]) as usize;
    let mut off = 2;
    for _ in 0..n {
        let kl = u16::from_le_bytes([p[off], p[off + 1]]) as usize;
        let k = &p[off + 2..off + 2 + kl];
        off += 2 + kl;
        let vl = u16::from_le_bytes([p[off], p[off + 1]]) as usize;
        if !f(k, off + 2, vl) {
            return;
        }
        off += 2 + vl;
    }
}

struct PageWriter {
    out: BufWriter<File>,
    page: Vec<u8>,
    count: u16,
    firsts: Vec<Vec<u8>>,
}

impl PageWriter {
    fn new(path: &Path) -> Self {
        let f = File::create(path).unwrap();
        PageWriter { out: BufWriter::with_capacity(1 << 20, f), page: vec![0, 0], count: 0, firsts: Vec::new() }
    }
    fn add(&mut self, k: &[u8], v: &[u8]) {
        if self.page.len() + 4 + k.len() + v.len() > PAGE {
            self.flush_page();
        }
        if self.count == 0 {
            self.firsts.push(k.to_vec());
        }
        self.page.extend_from_slice(&(k.len() as u16).to_le_bytes());
        self.page.extend_from_slice(k);
        self.page.extend_from_slice(&(v.len() as u16).to_le_bytes());
        self.page.extend_from_slice(v);
        self.count += 1;
    }
    fn flush_page(&mut self) {
        if self.count == 0 {
            return;
        }
        self.page[0..2].copy_from_slice(&self.count.to_le_bytes());
        self.page.resize(PAGE, 0);
        self.out.write_all(&self.page).unwrap();
        self.page.clear();
        self.page.extend_from_slice(&[0, 0]);
        self.count = 0;
    }
    fn finish(mut self, side: &Path) {
        self.flush_page();
        let f = self.out.into_inner().unwrap();
        f.sync_all().unwrap();
        let mut s = BufWriter::new(File::create(side).unwrap());
        s.write_all(&(self.firsts.len() as u64).to_le_bytes()).unwrap();
        for k in &self.firsts {
            s.write_all(&(k.len() as u16).to_le_bytes()).unwrap();
            s.write_all(k).unwrap();
        }
        s.into_inner().unwrap().sync_all().unwrap();
    }
}

pub struct PagesEngine {
    dir: PathBuf,
    writers: Option<(PageWriter, PageWriter)>,
    files: Vec<PageFile>,
    cache: PageCache,
}

const TABLES: [&str; 2] = ["accounts", "accounts_bid"];

impl PagesEngine {
    fn create(dir: &Path) -> Self {
        let w = (PageWriter::new(&dir.join("accounts.pages")), PageWriter::new(&dir.join("accounts_bid.pages")));
        PagesEngine { dir: dir.to_path_buf(), writers: Some(w), files: Vec::new(), cache: PageCache::new() }
    }
    fn open(dir: &Path) -> Self {
        let mut files = Vec::new();
        for t in TABLES {
            let file = std::fs::OpenOptions::new().read(true).write(true).open(dir.join(format!("{t}.pages"))).unwrap();
            let mut r = BufReader::new(File::open(dir.join(format!("{t}.firstkeys"))).unwrap());
            let mut b8 = [0u8; 8];
            r.read_exact(&mut b8).unwrap();
            let n = u64::from_le_bytes(b8) as usize;
            let mut firsts = Vec::with_capacity(n);
            for _ in 0..n {
                let mut b2 = [0u8; 2];
                r.read_exact(&mut b2).unwrap();
                let mut k = vec![0u8; u16::from_le_bytes(b2) as usize];
                r.read_exact(&mut k).unwrap();
                firsts.push(k);
            }
            files.push(PageFile { file, firsts });
        }
        PagesEngine { dir: dir.to_path_buf(), writers: None, files, cache: PageCache::new() }
    }
    /// (frame, value offset, value len) of a key in table 0
    fn find(&mut self, key: &[u8]) -> Option<(usize, usize, usize)> {
        let firsts = &self.files[0].firsts;
        let pp = firsts.partition_point(|k| k.as_slice() <= key);
        if pp == 0 {
            return None;
        }
        let slot = self.cache.slot(&self.files, 0, (pp - 1) as u32);
        let mut found = None;
        page_entries(&self.cache.frames[slot], |k, off, len| {
            if k == key {
                found = Some((slot, off, len));
                false
            } else {
                k < key
            }
        });
        found
    }
}

impl Engine for PagesEngine {
    fn put_batch(&mut self, rows: &[(u64, Vec<u8>)]) {
        let (a, i) = self.writers.as_mut().unwrap();
        for (aid, v) in rows {
            a.add(&acc_key(*aid), v);
            i.add(&idx_key(*aid), &[]);
        }
    }
    fn finish_load(&mut self) {
        let (a, i) = self.writers.take().unwrap();
        a.finish(&self.dir.join("accounts.firstkeys"));
        i.finish(&self.dir.join("accounts_bid.firstkeys"));
        fsync_dir(&self.dir);
    }
    fn get(&mut self, aid: u64, out: &mut Vec<u8>) -> bool {
        match self.find(&acc_key(aid)) {
            Some((slot, off, len)) => {
                out.clear();
                out.extend_from_slice(&self.cache.frames[slot][off..off + len]);
                true
            }
            None => false,
        }
    }
    fn scan(&mut self, f: &mut dyn FnMut(&[u8])) {
        for p in 0..self.files[0].firsts.len() {
            let slot = self.cache.slot(&self.files, 0, p as u32);
            let frame = &self.cache.frames[slot];
            page_entries(frame, |_k, off, len| {
                f(&frame[off..off + len]);
                true
            });
        }
    }
    /// Lower bound: the page is modified in the cache and written back in place with pwrite,
    /// no fsync, no log, no free-space management (the row never changes size here).
    fn update(&mut self, aid: u64, delta: i32) {
        let (slot, off, len) = self.find(&acc_key(aid)).unwrap();
        let page = self.cache.tags[slot].1 as u64;
        let frame = &mut self.cache.frames[slot];
        add_abalance(&mut frame[off..off + len], delta);
        self.files[0].file.write_all_at(frame, page * PAGE as u64).unwrap();
    }
    fn checkpoint(&mut self) {
        for f in &self.files {
            f.file.sync_data().unwrap();
        }
    }
}

// ---------------------------------------------------------------- memory (reference)

pub struct MemoryEngine {
    dir: PathBuf,
    acc: BTreeMap<u64, Box<[u8]>>,
    idx: BTreeSet<(u32, u64)>,
}

impl MemoryEngine {
    fn create(dir: &Path) -> Self {
        MemoryEngine { dir: dir.to_path_buf(), acc: BTreeMap::new(), idx: BTreeSet::new() }
    }
    /// Restart as isola does today, roughly: read a flat dump of all rows back into the maps
    /// (streamed through a 1 MiB buffer, in key order).
    fn open(dir: &Path) -> Self {
        let mut e = Self::create(dir);
        let mut r = BufReader::with_capacity(1 << 20, File::open(dir.join("dump.bin")).unwrap());
        let mut b8 = [0u8; 8];
        let mut b2 = [0u8; 2];
        r.read_exact(&mut b8).unwrap();
        let n = u64::from_le_bytes(b8);
        for _ in 0..n {
            r.read_exact(&mut b8).unwrap();
            r.read_exact(&mut b2).unwrap();
            let mut v = vec![0u8; u16::from_le_bytes(b2) as usize].into_boxed_slice();
            r.read_exact(&mut v).unwrap();
            e.acc.insert(u64::from_le_bytes(b8), v);
        }
        r.read_exact(&mut b8).unwrap();
        let n = u64::from_le_bytes(b8);
        let mut b4 = [0u8; 4];
        for _ in 0..n {
            r.read_exact(&mut b4).unwrap();
            r.read_exact(&mut b8).unwrap();
            e.idx.insert((u32::from_le_bytes(b4), u64::from_le_bytes(b8)));
        }
        e
    }
}

impl Engine for MemoryEngine {
    fn put_batch(&mut self, rows: &[(u64, Vec<u8>)]) {
        for (aid, v) in rows {
            self.acc.insert(*aid, v.clone().into_boxed_slice());
            self.idx.insert((crate::bid_of(*aid), *aid));
        }
    }
    /// "Durable" for the reference = the flat dump written and fsynced.
    fn finish_load(&mut self) {
        let f = File::create(self.dir.join("dump.bin")).unwrap();
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(&(self.acc.len() as u64).to_le_bytes()).unwrap();
        for (k, v) in &self.acc {
            w.write_all(&k.to_le_bytes()).unwrap();
            w.write_all(&(v.len() as u16).to_le_bytes()).unwrap();
            w.write_all(v).unwrap();
        }
        w.write_all(&(self.idx.len() as u64).to_le_bytes()).unwrap();
        for (b, a) in &self.idx {
            w.write_all(&b.to_le_bytes()).unwrap();
            w.write_all(&a.to_le_bytes()).unwrap();
        }
        w.into_inner().unwrap().sync_all().unwrap();
        fsync_dir(&self.dir);
    }
    fn get(&mut self, aid: u64, out: &mut Vec<u8>) -> bool {
        match self.acc.get(&aid) {
            Some(v) => {
                out.clear();
                out.extend_from_slice(v);
                true
            }
            None => false,
        }
    }
    fn scan(&mut self, f: &mut dyn FnMut(&[u8])) {
        for v in self.acc.values() {
            f(v);
        }
    }
    fn update(&mut self, aid: u64, delta: i32) {
        add_abalance(self.acc.get_mut(&aid).unwrap(), delta);
    }
    /// No disk for the reference: isola's WAL is the durable record; its checkpoint (a new dump
    /// of everything) is not measured here.
    fn checkpoint(&mut self) {}
}
