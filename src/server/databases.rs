//! [`Databases`]: the databases one server serves, each an [`Engine`] of its own.
//!
//! The default database is the data directory's root, as it always was (an existing data
//! directory opens unchanged); `pg_database` calls it `isola`. CREATE DATABASE makes another
//! one in `DIR/databases/<name>/`, with its own log, checkpoints and recovery; every such
//! directory is opened (and recovered) at startup. With `--memory` created databases live in
//! memory too. A connection's database name selects a created database; any other name
//! (`isola`, `postgres`, ...) reaches the default one, so clients that connect to whatever
//! name keep working.
//!
//! Invariants: a session is created, and a database dropped, under the one registry lock, so a
//! database is never dropped under a session that is starting; a database is dropped only with
//! no session in it (DROP DATABASE gives sessions up to 5 s to end, as PostgreSQL does); a created database's directory name is its name with every byte outside
//! `[A-Za-z0-9_-]` written `%XX` (so names never clash with each other or reach outside
//! `databases/`); a dropped database's directory is renamed to a dot-name first (atomic), then
//! removed, and startup removes dot-names left by a crash in between.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::durable::DurableOptions;
use crate::error::SqlState;
use crate::sql::databases::{DEFAULT_DATABASE, DatabaseRegistry, DropOutcome};
use crate::sql::{Engine, Session, SqlError};
use crate::txn::Database;

/// How often DROP DATABASE looks for the sessions of the database to have ended, and the
/// pause between looks (PostgreSQL's: 50 × 100 ms).
const DROP_WAIT_LOOKS: u32 = 50;
const DROP_WAIT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// Where created databases live.
enum Place {
    Memory,
    /// `root/databases/<name>/`, opened with these options.
    Directory {
        root: PathBuf,
        options: DurableOptions,
    },
    /// A durable default engine whose directory is not known here: no created databases.
    Nowhere,
}

/// The databases of one server.
pub struct Databases {
    default: Arc<Engine>,
    place: Place,
    created: Mutex<BTreeMap<String, Arc<Engine>>>,
    /// This registry, as the engines' hook holds it (weakly: the registry owns the engines).
    this: Weak<Databases>,
}

impl Databases {
    fn new(default: Arc<Engine>, place: Place) -> Arc<Databases> {
        let databases = Arc::new_cyclic(|this| Databases {
            default,
            place,
            created: Mutex::new(BTreeMap::new()),
            this: this.clone(),
        });
        databases.default.set_databases(databases.hook());
        databases
    }

    /// The registry of a server in memory: created databases live in memory too.
    pub fn in_memory(default: Arc<Engine>) -> Arc<Databases> {
        Databases::new(default, Place::Memory)
    }

    /// A server of just this engine: in memory, databases can be created (in memory); durable
    /// (its directory unknown here), CREATE DATABASE is refused.
    pub fn single(default: Arc<Engine>) -> Arc<Databases> {
        let place = if default.is_durable() { Place::Nowhere } else { Place::Memory };
        Databases::new(default, place)
    }

    /// The databases of the data directory `root`, whose default database `default` was opened
    /// from its root: every database created there before is opened and recovered. Returns
    /// the registry and the names it opened.
    pub fn open_dir(
        default: Arc<Engine>,
        root: &Path,
        options: DurableOptions,
    ) -> crate::Result<(Arc<Databases>, Vec<String>)> {
        let dir = root.join("databases");
        let mut found = Vec::new();
        if dir.is_dir() {
            let entries = std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_error(&dir, e))?;
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    // A drop cut short by a crash: finish it.
                    let path = entry.path();
                    std::fs::remove_dir_all(&path).map_err(|e| io_error(&path, e))?;
                    continue;
                }
                if let Some(name) = decode_name(&file_name) {
                    found.push(name);
                }
            }
        }
        let place = Place::Directory { root: root.to_path_buf(), options: options.clone() };
        let databases = Databases::new(default, place);
        for name in &found {
            let (engine, _) = Engine::open(&database_dir(root, name), options.clone())?;
            engine.set_databases(databases.hook());
            databases.created.lock().insert(name.clone(), engine);
        }
        Ok((databases, found))
    }

    fn hook(&self) -> Weak<dyn DatabaseRegistry> {
        self.this.clone()
    }

    /// The default database's engine.
    pub fn default_engine(&self) -> &Arc<Engine> {
        &self.default
    }

    /// Opens a session in the database a connection named: a created one by that name, else
    /// the default. Made under the registry lock, so no DROP DATABASE passes between the
    /// choice of the database and the session's registration in it.
    pub fn session(&self, user: &str, database: &str, application_name: &str) -> Session {
        let created = self.created.lock();
        let engine = created.get(database).unwrap_or(&self.default).clone();
        Session::new(engine, user, database, application_name)
    }

    /// Every engine: the default first.
    fn engines(&self) -> Vec<Arc<Engine>> {
        let created = self.created.lock();
        std::iter::once(self.default.clone()).chain(created.values().cloned()).collect()
    }

    /// Sessions open in all databases.
    pub fn session_count(&self) -> usize {
        self.engines().iter().map(|e| e.sessions.lock().len()).sum()
    }

    /// Cancels what session `id` waits for, in whichever database it is (ids are unique in
    /// the process).
    pub fn cancel_session(&self, id: u32) -> bool {
        self.engines().iter().any(|e| e.cancel_session(id))
    }
}

impl DatabaseRegistry for Databases {
    fn names(&self) -> Vec<String> {
        let created = self.created.lock();
        std::iter::once(DEFAULT_DATABASE.to_string()).chain(created.keys().cloned()).collect()
    }

    fn create(&self, name: &str) -> Result<(), SqlError> {
        if name.is_empty() {
            return Err(SqlError::syntax("zero-length delimited identifier"));
        }
        let mut created = self.created.lock();
        if name == DEFAULT_DATABASE || created.contains_key(name) {
            return Err(SqlError::new(
                SqlState::DuplicateDatabase,
                format!("database \"{name}\" already exists"),
            ));
        }
        let engine = match &self.place {
            Place::Memory => Engine::new(Database::new()),
            Place::Directory { root, options } => {
                let dir = database_dir(root, name);
                if dir.exists() {
                    // Left by a CREATE that failed part way in this process.
                    std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
                }
                let (engine, _) = Engine::open(&dir, options.clone())?;
                sync_dir(&root.join("databases"))?;
                engine
            }
            Place::Nowhere if self.default.replica().is_some() => {
                return Err(SqlError::unsupported(
                    "CREATE DATABASE in a replicated group: only the default database is replicated (its Raft log carries one database)",
                ));
            }
            Place::Nowhere => {
                return Err(SqlError::unsupported(
                    "CREATE DATABASE on a server started without its data directory",
                ));
            }
        };
        engine.set_databases(self.hook());
        created.insert(name.to_string(), engine);
        Ok(())
    }

    fn drop_database(
        &self,
        name: &str,
        if_exists: bool,
        asking: &Arc<Engine>,
    ) -> Result<DropOutcome, SqlError> {
        let in_use = |m: &str| SqlError::new(SqlState::ObjectInUse, m.to_string());
        // As PostgreSQL does, sessions still in the database get a moment to end (a client
        // that just closed its connection, as Django's test runner does before its DROP):
        // up to 50 looks, 100 ms apart, the lock released in between.
        let mut looks = 0;
        let mut created = loop {
            let created = self.created.lock();
            let Some(engine) = created.get(name) else {
                if name == DEFAULT_DATABASE {
                    return Err(match Arc::ptr_eq(asking, &self.default) {
                        true => in_use("cannot drop the currently open database"),
                        false => SqlError::unsupported(format!(
                            "dropping the default database \"{DEFAULT_DATABASE}\""
                        )),
                    });
                }
                if if_exists {
                    return Ok(DropOutcome::Skipped);
                }
                return Err(SqlError::new(
                    SqlState::InvalidCatalogName,
                    format!("database \"{name}\" does not exist"),
                ));
            };
            if Arc::ptr_eq(asking, engine) {
                return Err(in_use("cannot drop the currently open database"));
            }
            let others = engine.sessions.lock().len();
            if others == 0 {
                break created;
            }
            looks += 1;
            if looks >= DROP_WAIT_LOOKS {
                let detail = match others {
                    1 => "There is 1 other session using the database.".to_string(),
                    n => format!("There are {n} other sessions using the database."),
                };
                return Err(in_use(&format!(
                    "database \"{name}\" is being accessed by other users"
                ))
                .with_detail(detail));
            }
            drop(created);
            std::thread::sleep(DROP_WAIT_PAUSE);
        };
        created.remove(name);
        if let Place::Directory { root, .. } = &self.place {
            let dir = database_dir(root, name);
            let doomed = root.join("databases").join(format!(".dropped-{}", encode_name(name)));
            std::fs::rename(&dir, &doomed).map_err(|e| io_error(&dir, e))?;
            sync_dir(&root.join("databases"))?;
            std::fs::remove_dir_all(&doomed).map_err(|e| io_error(&doomed, e))?;
        }
        Ok(DropOutcome::Dropped)
    }
}

/// The directory of created database `name` in data directory `root`.
fn database_dir(root: &Path, name: &str) -> PathBuf {
    root.join("databases").join(encode_name(name))
}

/// A database name as a directory name: bytes outside `[A-Za-z0-9_-]` as `%XX`.
fn encode_name(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The name a directory holds, if it is one [`encode_name`] made.
fn decode_name(file_name: &str) -> Option<String> {
    let bytes = file_name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (encode_name(&name) == file_name).then_some(name)
}

fn sync_dir(dir: &Path) -> Result<(), SqlError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e).into())
}

fn io_error(path: &Path, e: std::io::Error) -> crate::Error {
    crate::Error::Io(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_directory_names() {
        for name in ["test_x", "Shop-1", "a b", "../etc", ".hidden", "é", "%41"] {
            let encoded = encode_name(name);
            assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-%".contains(&b)));
            assert_eq!(decode_name(&encoded).as_deref(), Some(name), "{encoded}");
        }
        assert_eq!(decode_name("a%2"), None);
        assert_eq!(decode_name("a b"), None, "not a name this module wrote");
    }
}
