//! The files under the log and checkpoints, behind a trait so tests can inject faults.
//!
//! [`OsStorage`] is the real file system (`fdatasync` for file data, `fsync` of the directory
//! after creating, renaming or removing files). [`FaultyStorage`] keeps files in memory and
//! models a crash: a file comes back as of its last completed `sync_data`, plus optionally part
//! of what was written since (none, all, a prefix, or a prefix ending in junk); directory
//! changes survive only once the directory was synced. It can also fail the N-th write or sync,
//! after which every operation fails (the process is "dead") until [`FaultyStorage::crash`].

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

/// A file open for writing.
pub trait StorageFile: Send {
    /// Writes at the end of what this handle wrote (or of the file when opened).
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Writes at an offset (over preallocated space, or extending the file).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every appended byte durable.
    fn sync_data(&mut self) -> io::Result<()>;
}

/// A directory tree of files.
pub trait Storage: Send + Sync {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the files in a directory (empty if it does not exist).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates (or empties) a file and opens it for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file for writing (appends go at its end).
    fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Cuts a file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, renamed, removed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The real file system.
pub struct OsStorage;

struct OsFile {
    file: std::fs::File,
    end: u64,
}

impl StorageFile for OsFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, self.end)?;
        self.end += data.len() as u64;
        Ok(())
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)?;
        self.end = self.end.max(offset + data.len() as u64);
        Ok(())
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Storage for OsStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                let mut names = Vec::new();
                for e in entries {
                    names.push(e?.file_name().to_string_lossy().into_owned());
                }
                names.sort();
                Ok(names)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(OsFile { file: std::fs::File::create(path)?, end: 0 }))
    }
    fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        let end = file.metadata()?.len();
        Ok(Box::new(OsFile { file, end }))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }
}

/// In-memory files with crash and fault injection, for tests.
#[derive(Clone, Default)]
pub struct FaultyStorage {
    state: Arc<Mutex<FaultyState>>,
}

#[derive(Default)]
struct FaultyState {
    /// File contents by inode (a removed file's inode stays until a crash forgets it).
    inodes: BTreeMap<u64, FaultyFile>,
    /// Directory entries a running process sees.
    names: BTreeMap<PathBuf, u64>,
    /// Directory entries as of the last sync of their directory: what a crash keeps.
    durable_names: BTreeMap<PathBuf, u64>,
    next_inode: u64,
    /// Operations (writes and syncs) left before the injected failure; `None`: no failure.
    ops_before_failure: Option<u64>,
    /// The failure happened: everything fails until the crash.
    dead: bool,
    writes: u64,
    syncs: u64,
    /// How long each sync takes (to make concurrent committers overlap in tests).
    sync_delay: std::time::Duration,
}

#[derive(Clone, Default)]
struct FaultyFile {
    data: Vec<u8>,
    /// The contents as of the last sync: what a crash keeps.
    durable: Vec<u8>,
}

/// What [`FaultyStorage::crash`] does with bytes written but not synced.
#[derive(Clone, Copy, Debug)]
pub enum TornTail {
    /// Dropped.
    Drop,
    /// None, all, a random prefix, or a random prefix ending in junk survive (seeded).
    Keep { seed: u64 },
}

impl FaultyStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the operation after `ops` more writes or syncs (0: the next one fails).
    pub fn fail_after(&self, ops: u64) {
        self.state.lock().ops_before_failure = Some(ops);
    }

    /// Makes every sync take this long.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.state.lock().sync_delay = delay;
    }

    /// How many writes and syncs have completed.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.state.lock();
        (s.writes, s.syncs)
    }

    /// The machine crashed: returns the storage as a restarted machine finds it (what a real
    /// disk keeps); this handle stays dead, so threads of the "old process" can change nothing.
    pub fn crash(&self, torn: TornTail) -> FaultyStorage {
        let mut s = self.state.lock();
        s.dead = true;
        let mut rng = match torn {
            TornTail::Keep { seed } => seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            TornTail::Drop => 1,
        };
        let mut next = move || {
            // xorshift64: deterministic junk without a dependency.
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut inodes = BTreeMap::new();
        for &inode in s.durable_names.values() {
            let Some(f) = s.inodes.get(&inode) else { continue };
            let mut data = f.durable.clone();
            // The span written since the last sync.
            let first = (0..f.data.len()).find(|&i| f.durable.get(i) != Some(&f.data[i]));
            if let (TornTail::Keep { .. }, Some(first)) = (torn, first) {
                let last = (first..f.data.len())
                    .rev()
                    .find(|&i| f.durable.get(i) != Some(&f.data[i]))
                    .expect("first differs");
                let written = &f.data[first..=last];
                // Nothing, all of it, a prefix, or a prefix ending in junk: each as likely.
                let (keep, garble) = match next() % 4 {
                    0 => (0, 0),
                    1 => (written.len(), 0),
                    2 => ((next() as usize) % (written.len() + 1), 0),
                    _ => ((next() as usize) % (written.len() + 1), 1 + (next() as usize) % 8),
                };
                if data.len() < first + keep {
                    data.resize(first + keep, 0);
                }
                data[first..first + keep].copy_from_slice(&written[..keep]);
                for b in data[first + keep.saturating_sub(garble)..first + keep].iter_mut() {
                    *b = next() as u8;
                }
            }
            inodes.insert(inode, FaultyFile { durable: data.clone(), data });
        }
        let state = FaultyState {
            inodes,
            names: s.durable_names.clone(),
            durable_names: s.durable_names.clone(),
            next_inode: s.next_inode,
            ..FaultyState::default()
        };
        FaultyStorage { state: Arc::new(Mutex::new(state)) }
    }

    /// Replaces a file's bytes (to corrupt it on purpose); durable at once.
    pub fn overwrite(&self, path: &Path, data: Vec<u8>) {
        let mut s = self.state.lock();
        let inode = s.names[path];
        let f = s.inodes.get_mut(&inode).expect("a live file");
        f.durable = data.clone();
        f.data = data;
    }

    /// A file's current bytes.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        s.names.get(path).map(|i| s.inodes[i].data.clone())
    }

    fn check(s: &FaultyState) -> io::Result<()> {
        if s.dead {
            return Err(io::Error::other("injected fault: storage is dead"));
        }
        Ok(())
    }

    fn tick(s: &mut FaultyState) -> io::Result<()> {
        Self::check(s)?;
        if let Some(n) = s.ops_before_failure.as_mut() {
            if *n == 0 {
                s.dead = true;
                return Err(io::Error::other("injected fault: write or sync failed"));
            }
            *n -= 1;
        }
        Ok(())
    }

    fn file(s: &mut FaultyState, inode: u64) -> io::Result<&mut FaultyFile> {
        s.inodes.get_mut(&inode).ok_or_else(|| io::Error::other("file is gone"))
    }
}

struct FaultyHandle {
    storage: FaultyStorage,
    inode: u64,
    end: u64,
}

impl StorageFile for FaultyHandle {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let end = self.end;
        self.write_at(end, data)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut s = self.storage.state.lock();
        FaultyStorage::tick(&mut s)?;
        s.writes += 1;
        let f = FaultyStorage::file(&mut s, self.inode)?;
        let (start, end) = (offset as usize, offset as usize + data.len());
        if f.data.len() < end {
            f.data.resize(end, 0);
        }
        f.data[start..end].copy_from_slice(data);
        self.end = self.end.max(end as u64);
        Ok(())
    }
    fn sync_data(&mut self) -> io::Result<()> {
        let delay = self.storage.state.lock().sync_delay;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut s = self.storage.state.lock();
        FaultyStorage::tick(&mut s)?;
        s.syncs += 1;
        let f = FaultyStorage::file(&mut s, self.inode)?;
        f.durable = f.data.clone();
        Ok(())
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{}: no such file", path.display()))
}

impl Storage for FaultyStorage {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        Self::check(&self.state.lock())
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let s = self.state.lock();
        Self::check(&s)?;
        Ok(s.names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = self.state.lock();
        Self::check(&s)?;
        let inode = s.names.get(path).ok_or_else(|| not_found(path))?;
        Ok(s.inodes[inode].data.clone())
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let mut s = self.state.lock();
        Self::check(&s)?;
        s.next_inode += 1;
        let inode = s.next_inode;
        s.inodes.insert(inode, FaultyFile::default());
        s.names.insert(path.to_path_buf(), inode);
        Ok(Box::new(FaultyHandle { storage: self.clone(), inode, end: 0 }))
    }
    fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let s = self.state.lock();
        Self::check(&s)?;
        let inode = *s.names.get(path).ok_or_else(|| not_found(path))?;
        let end = s.inodes[&inode].data.len() as u64;
        Ok(Box::new(FaultyHandle { storage: self.clone(), inode, end }))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut s = self.state.lock();
        Self::tick(&mut s)?;
        let inode = *s.names.get(path).ok_or_else(|| not_found(path))?;
        let f = Self::file(&mut s, inode)?;
        f.data.truncate(len as usize);
        f.durable = f.data.clone();
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        Self::check(&s)?;
        let inode = s.names.remove(from).ok_or_else(|| not_found(from))?;
        s.names.insert(to.to_path_buf(), inode);
        Ok(())
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        Self::check(&s)?;
        s.names.remove(path).map(|_| ()).ok_or_else(|| not_found(path))
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        Self::tick(&mut s)?;
        s.syncs += 1;
        let s = &mut *s;
        s.durable_names.retain(|name, _| name.parent() != Some(dir));
        for (name, inode) in s.names.iter().filter(|(p, _)| p.parent() == Some(dir)) {
            s.durable_names.insert(name.clone(), *inode);
        }
        Ok(())
    }
}
