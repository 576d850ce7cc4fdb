//! [`DatabaseRegistry`]: the narrow hook through which the SQL layer reaches the databases of
//! a server (CREATE DATABASE, DROP DATABASE, the rows of `pg_database`). The server owns the
//! registry (`crate::server::databases`) and hands it to each [`Engine`] it opens
//! ([`Engine::set_databases`]); an engine without one (the library, unit tests) serves a
//! single database and refuses CREATE and DROP DATABASE.
//!
//! Each database is an [`Engine`] of its own: its schema, its data, its log. A session belongs
//! to the engine of the database it connected to for its whole life.

use std::sync::Arc;

use crate::sql::engine::Engine;
use crate::sql::error::SqlError;

/// The name `pg_database` and `\l` show for the default database (the data directory's
/// root), which every database name that is not a created database reaches.
pub const DEFAULT_DATABASE: &str = "isola";

/// The databases of one server.
pub trait DatabaseRegistry: Send + Sync {
    /// Every database's name: the default's ([`DEFAULT_DATABASE`]) first, then the created
    /// ones in name order.
    fn names(&self) -> Vec<String>;

    /// CREATE DATABASE: 42P04 when it exists; durable (when the server is) once it returns.
    fn create(&self, name: &str) -> Result<(), SqlError>;

    /// DROP DATABASE: 3D000 when missing (unless `if_exists`), 55006 while sessions use it
    /// (`asking`, the engine of the session asking, being one of them: "the currently open
    /// database"). The default database cannot be dropped.
    fn drop_database(
        &self,
        name: &str,
        if_exists: bool,
        asking: &Arc<Engine>,
    ) -> Result<DropOutcome, SqlError>;
}

/// What a DROP DATABASE did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropOutcome {
    Dropped,
    /// IF EXISTS, and there was none: PostgreSQL's NOTICE, skipping.
    Skipped,
}
